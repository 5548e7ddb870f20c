//! The CQL lexer: source text to a vector of positioned tokens, recognised
//! with nom.
//!
//! **What.** [`tokenize`] turns a query or script into [`Token`]s, each with
//! its kind, its source text, its normalised value and its position (1-based
//! line, 0-based column in characters, byte offsets). Whitespace and comments
//! (`-- …`, `// …` to end of line, `/* … */`) are dropped. The vector always
//! ends with one [`TokenKind::Eof`] token placed just after the last
//! character, so the parser never runs off the end.
//!
//! **Grammar reference.** Cassandra's `Lexer.g` (apache/cassandra
//! `src/antlr/`) and `definitions.adoc`:
//!
//! * words `[a-zA-Z][a-zA-Z0-9_]*` become [`TokenKind::Word`], value
//!   lower-cased: keywords are recognised by the parser, so non-reserved
//!   keywords (`key`, `ttl`, `type`, …) stay usable as identifiers; so are
//!   `NaN` and `Infinity` (the parser also takes `-NaN` / `-Infinity` as
//!   `-` then the word);
//! * `"Quoted"` names keep their case, `""` stands for one `"`;
//! * strings `'it''s'` and `$$ raw $$`;
//! * integers and floats (`-1`, `1.5`, `1e10`, `-2.5E-3`): a `-` directly
//!   followed by a digit belongs to the number, as in Cassandra (so `c -1`
//!   is an identifier then the integer `-1`);
//! * `true`/`false` (any case), hex blobs `0xCAFE`, unquoted UUIDs,
//!   durations (`1h30m`, `12mo3d`, `-5s`, `3µs`, ISO `P1DT2H`, `P2W`,
//!   `P0001-02-03T04:05:06`);
//! * punctuation and operators, `..` for collection slices; bind markers are
//!   `?` and `:` followed by a name, put together by the parser.
//!
//! **How.** Each token kind is a small nom parser over `&str` (`word`,
//! `uuid`, `unit_duration`, `iso_duration`, `string_literal`, …). `lexeme`
//! tries them with `alt` in a fixed priority order, which is where the
//! ambiguities are settled: comments before `-` and `/`; after a digit a UUID,
//! then a blob, then the longest run of `digits unit` pairs (`1d2` is the
//! duration `1d` then the integer `2`), then a number; after a letter a UUID,
//! then an ISO duration (a whole word only, so `price` and `p` stay words),
//! then a word. [`tokenize`] applies `lexeme` in a loop, moves a
//! line/column position over each consumed slice and derives each token's
//! value from its text (`normalised_value`). nom only recognises
//! tokens: the parser over them is hand-written, because Cassandra's syntax
//! errors come from a cursor over positioned tokens (see `parser/mod.rs`).
//!
//! **Errors.** Lexing stops at the first bad character. A token parser that
//! does not apply backtracks (`nom::Err::Error`); if none applies the error is
//! ANTLR's `no viable alternative at character 'X'`. A token that has started
//! but cannot finish (an unterminated string or comment, `!` without `=`,
//! one `$`) fails for good (`nom::Err::Failure`) with the spot and what was
//! expected there: `mismatched character 'X' expecting E`. Because ANTLR
//! lexes lazily, a parser error *before* that character wins in Cassandra;
//! so the lexer does not fail outright: it returns the tokens up to the bad
//! spot plus the error, and the parser reports the lexer error only if it
//! reaches that spot (see `LexOutput::error`).
//!
//! **What not.** No keyword table here and no interpretation of values
//! (`1h30m` stays text; the types engineer's codecs decode it).

use nom::{
    branch::alt,
    bytes::complete::{
        tag, take_till, take_till1, take_until, take_while, take_while1, take_while_m_n,
    },
    character::complete::{anychar, char, digit0, digit1, hex_digit0, one_of, satisfy},
    combinator::{map, map_opt, not, opt, peek, recognize, value, verify},
    multi::{many0_count, many1_count},
    sequence::preceded,
    IResult, Parser,
};

use super::error::{char_display, ParseError};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Unquoted identifier or keyword; `value` is lower-cased.
    Word,
    /// `"Quoted"` identifier; `value` is unescaped, case kept.
    QuotedName,
    /// `'string'` or `$$string$$`; `value` is the unescaped content.
    Str,
    /// Integer literal, maybe negative.
    Integer,
    /// Floating-point literal (with `.` or an exponent).
    Float,
    /// `true` / `false`.
    Boolean,
    /// Unquoted UUID.
    Uuid,
    /// `0x…` blob.
    Hex,
    /// Duration literal.
    Duration,
    /// `?`
    QMark,
    /// `:`
    Colon,
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// `.`
    Dot,
    /// `..`
    Range,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `+=`
    PlusEq,
    /// `-=`
    MinusEq,
    /// End of input.
    Eof,
}

impl TokenKind {
    /// The name ANTLR uses for this token kind in "expecting …" messages.
    pub fn antlr_name(self) -> &'static str {
        match self {
            TokenKind::Word => "IDENT",
            TokenKind::QuotedName => "QUOTED_NAME",
            TokenKind::Str => "STRING_LITERAL",
            TokenKind::Integer => "INTEGER",
            TokenKind::Float => "FLOAT",
            TokenKind::Boolean => "BOOLEAN",
            TokenKind::Uuid => "UUID",
            TokenKind::Hex => "HEXNUMBER",
            TokenKind::Duration => "DURATION",
            TokenKind::QMark => "QMARK",
            TokenKind::Colon => "':'",
            TokenKind::Comma => "','",
            TokenKind::Semicolon => "';'",
            TokenKind::Dot => "'.'",
            TokenKind::Range => "RANGE",
            TokenKind::LParen => "'('",
            TokenKind::RParen => "')'",
            TokenKind::LBracket => "'['",
            TokenKind::RBracket => "']'",
            TokenKind::LBrace => "'{'",
            TokenKind::RBrace => "'}'",
            TokenKind::Eq => "'='",
            TokenKind::Neq => "'!='",
            TokenKind::Lt => "'<'",
            TokenKind::Lte => "'<='",
            TokenKind::Gt => "'>'",
            TokenKind::Gte => "'>='",
            TokenKind::Plus => "'+'",
            TokenKind::Minus => "'-'",
            TokenKind::Star => "'*'",
            TokenKind::Slash => "'/'",
            TokenKind::Percent => "'%'",
            TokenKind::PlusEq => "'+='",
            TokenKind::MinusEq => "'-='",
            TokenKind::Eof => "EOF",
        }
    }
}

/// One token with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// The exact source text (for `Eof`, empty).
    pub text: String,
    /// Normalised value: lower-cased word, unescaped string or quoted name,
    /// otherwise the source text.
    pub value: String,
    /// 1-based line.
    pub line: usize,
    /// 0-based column, in characters.
    pub column: usize,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
}

impl Token {
    /// How ANTLR shows this token in a message, quotes included: the text as
    /// the lexer produced it (unescaped for strings and quoted names, which
    /// Cassandra's lexer rewrites), `'<EOF>'` at the end.
    pub fn display(&self) -> String {
        match self.kind {
            TokenKind::Eof => "'<EOF>'".to_string(),
            TokenKind::Str | TokenKind::QuotedName => format!("'{}'", self.value),
            _ => format!("'{}'", self.text),
        }
    }
}

/// Tokens plus the lexer error that stopped lexing, if any.
#[derive(Debug, Clone)]
pub struct LexOutput {
    /// Tokens up to the error (or the whole input), always ending with `Eof`.
    pub tokens: Vec<Token>,
    /// The first lexical error. When set, the final `Eof` token stands at the
    /// error position and the parser must report this error if it gets there.
    pub error: Option<ParseError>,
}

/// Tokenizes `input`. Never fails: see [`LexOutput::error`].
pub fn tokenize(input: &str) -> LexOutput {
    let mut pos = Position {
        offset: 0,
        line: 1,
        column: 0,
    };
    // Not reserved from the input's length: reserving one token per 4 bytes
    // sped up a 2 MB script by about 10 % but slowed a 128-byte query by
    // about a third (the larger allocation), and short queries are the
    // common case.
    let mut tokens = Vec::new();
    let mut rest = input;
    let mut error = None;
    while !rest.is_empty() {
        match lexeme(rest) {
            Ok((after, lexeme)) => {
                // Every token parser consumes at least one character, so the
                // loop runs at most `input.chars().count()` times.
                debug_assert!(after.len() < rest.len(), "lexer made no progress");
                let text = consumed(rest, after);
                let start = pos;
                pos.advance(text);
                if let Lexeme::Token(kind) = lexeme {
                    tokens.push(Token {
                        kind,
                        text: text.to_string(),
                        value: normalised_value(kind, text),
                        line: start.line,
                        column: start.column,
                        start: start.offset,
                        end: pos.offset,
                    });
                }
                rest = after;
            }
            Err(e) => {
                let (at, message) = match e {
                    nom::Err::Failure(LexFail {
                        at,
                        stop: Stop::Mismatched(expected),
                    }) => (
                        at,
                        format!(
                            "mismatched character {} expecting {expected}",
                            char_display(at.chars().next())
                        ),
                    ),
                    _ => (
                        rest,
                        format!(
                            "no viable alternative at character {}",
                            char_display(rest.chars().next())
                        ),
                    ),
                };
                pos.advance(consumed(rest, at));
                error = Some(ParseError::new(pos.line, pos.column, message));
                break;
            }
        }
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        text: String::new(),
        value: String::new(),
        line: pos.line,
        column: pos.column,
        start: pos.offset,
        end: pos.offset,
    });
    LexOutput { tokens, error }
}

/// Where the lexer stands: byte offset, 1-based line, 0-based column in
/// characters. Only `\n` starts a line (`\r` is an ordinary character).
#[derive(Debug, Clone, Copy)]
struct Position {
    offset: usize,
    line: usize,
    column: usize,
}

impl Position {
    /// Moves past `text`, the slice of the input that starts here.
    fn advance(&mut self, text: &str) {
        self.offset += text.len();
        for b in text.bytes() {
            if b == b'\n' {
                self.line += 1;
                self.column = 0;
            } else if !is_utf8_continuation(b) {
                self.column += 1;
            }
        }
    }
}

/// Whether `b` continues a multi-byte UTF-8 character (so does not start
/// one, and takes no column of its own).
fn is_utf8_continuation(b: u8) -> bool {
    b & 0b1100_0000 == 0b1000_0000
}

/// The part of `before` that a parser consumed to leave `after`, which is a
/// suffix of `before`.
fn consumed<'a>(before: &'a str, after: &str) -> &'a str {
    debug_assert!(before.ends_with(after), "not a suffix of the input");
    before
        .get(..before.len().saturating_sub(after.len()))
        .unwrap_or("")
}

/// Why a token parser stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Ordinary nom backtracking: this kind of token does not start here.
    NoMatch,
    /// The token started but cannot go on: ANTLR's `mismatched character X
    /// expecting E`, with `E` as ANTLR quotes it.
    Mismatched(&'static str),
}

/// The nom error type of the lexer: where a parser stopped and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LexFail<'a> {
    /// The input left at the failing character (a suffix of the input).
    at: &'a str,
    stop: Stop,
}

impl<'a> nom::error::ParseError<&'a str> for LexFail<'a> {
    fn from_error_kind(at: &'a str, _kind: nom::error::ErrorKind) -> Self {
        LexFail {
            at,
            stop: Stop::NoMatch,
        }
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type LexResult<'a, O> = IResult<&'a str, O, LexFail<'a>>;

/// What one step of the lexer found. The parsers only recognise: values
/// are derived from the token's text afterwards ([`normalised_value`]), which
/// keeps what nom passes around small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexeme {
    /// Whitespace or a comment.
    Skip,
    /// A token.
    Token(TokenKind),
}

/// One token or one run of whitespace or comment, in the priority order of
/// Cassandra's lexer where two rules could start at the same character.
/// Rules sharing a first character are grouped behind a one-character
/// `peek`, so a common token fails fewer alternatives before its own: on a
/// short INSERT this cut the instructions per `tokenize` by a fifth (42 k
/// to 34 k; the hand-written lexer this replaced took 32 k).
fn lexeme(i: &str) -> LexResult<'_, Lexeme> {
    let token = |kind| move |_| Lexeme::Token(kind);
    let comment = preceded(
        peek(satisfy(|c| matches!(c, '-' | '/'))),
        alt((line_comment, block_comment)),
    );
    let quoted = preceded(
        peek(satisfy(|c| matches!(c, '\'' | '"' | '$'))),
        alt((
            map(string_literal, token(TokenKind::Str)),
            map(quoted_name, token(TokenKind::QuotedName)),
            map(dollar_string, token(TokenKind::Str)),
        )),
    );
    let minus_led = preceded(
        peek(char('-')),
        alt((negative_number, negative_iso_duration)),
    );
    alt((
        value(Lexeme::Skip, whitespace),
        value(Lexeme::Skip, comment),
        quoted,
        map(digit_led, Lexeme::Token),
        map(minus_led, Lexeme::Token),
        map(letter_led, Lexeme::Token),
        map(punctuation, Lexeme::Token),
    ))
    .parse(i)
}

/// A token's value: the word lower-cased, the string or quoted name without
/// its delimiters and with doubled quotes undone, otherwise the text itself.
fn normalised_value(kind: TokenKind, text: &str) -> String {
    let inner = |delimiter: usize| {
        text.get(delimiter..text.len().saturating_sub(delimiter))
            .unwrap_or("")
    };
    match kind {
        TokenKind::Word => text.to_ascii_lowercase(),
        TokenKind::Str if text.starts_with('$') => inner(2).to_string(),
        TokenKind::Str => inner(1).replace("''", "'"),
        TokenKind::QuotedName => inner(1).replace("\"\"", "\""),
        _ => text.to_string(),
    }
}

/// Turns a backtracking error of `parser` into a failure at the spot where
/// `parser` started: the token cannot be anything else, so ANTLR would say
/// `mismatched character X expecting {expected}` there.
fn expecting<'a, O>(
    expected: &'static str,
    mut parser: impl Parser<&'a str, Output = O, Error = LexFail<'a>>,
) -> impl FnMut(&'a str) -> LexResult<'a, O> {
    move |i| {
        parser.parse(i).map_err(|e| match e {
            nom::Err::Error(_) => nom::Err::Failure(LexFail {
                at: i,
                stop: Stop::Mismatched(expected),
            }),
            other => other,
        })
    }
}

/// Like [`expecting`], for a closing delimiter that may come anywhere later:
/// when `parser` fails, the lexer has run to the end of the input looking for
/// it, so the failure is at the end (`mismatched character '<EOF>'`).
fn closed_before_eof<'a, O>(
    expected: &'static str,
    mut parser: impl Parser<&'a str, Output = O, Error = LexFail<'a>>,
) -> impl FnMut(&'a str) -> LexResult<'a, O> {
    move |i: &'a str| {
        parser.parse(i).map_err(|e| match e {
            nom::Err::Error(_) => nom::Err::Failure(LexFail {
                at: i.get(i.len()..).unwrap_or(""),
                stop: Stop::Mismatched(expected),
            }),
            other => other,
        })
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Succeeds, consuming nothing, unless an identifier character follows: a
/// UUID or ISO duration must not run on into a longer word.
fn end_of_word(i: &str) -> LexResult<'_, ()> {
    not(satisfy(is_ident_char)).parse(i)
}

/// `tag` ignoring ASCII case only (`tag_no_case` folds Unicode case, which
/// could match a non-ASCII character against an ASCII unit letter).
fn tag_ascii_no_case<'a>(t: &'static str) -> impl Fn(&'a str) -> LexResult<'a, &'a str> {
    move |i: &'a str| {
        let matches = i
            .as_bytes()
            .get(..t.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(t.as_bytes()));
        match i.split_at_checked(t.len()) {
            Some((head, rest)) if matches => Ok((rest, head)),
            _ => Err(nom::Err::Error(LexFail {
                at: i,
                stop: Stop::NoMatch,
            })),
        }
    }
}

/// Exactly `n` ASCII digits.
fn digits<'a>(n: usize) -> impl FnMut(&'a str) -> LexResult<'a, &'a str> {
    take_while_m_n(n, n, |c: char| c.is_ascii_digit())
}

/// Exactly `n` hexadecimal digits.
fn hex_digits<'a>(n: usize) -> impl FnMut(&'a str) -> LexResult<'a, &'a str> {
    take_while_m_n(n, n, |c: char| c.is_ascii_hexdigit())
}

fn whitespace(i: &str) -> LexResult<'_, &str> {
    take_while1(|c| matches!(c, ' ' | '\t' | '\n' | '\r')).parse(i)
}

/// `-- …` or `// …` up to (not including) the end of the line.
fn line_comment(i: &str) -> LexResult<'_, &str> {
    recognize((alt((tag("--"), tag("//"))), take_till(|c| c == '\n'))).parse(i)
}

/// `/* … */`, not nested.
fn block_comment(i: &str) -> LexResult<'_, &str> {
    recognize((
        tag("/*"),
        closed_before_eof("'*'", (take_until("*/"), tag("*/"))),
    ))
    .parse(i)
}

/// Text between quotes `q`, the quote doubled standing for one quote: an
/// opening quote, then pieces, then the closing quote, which an unterminated
/// literal lacks at the end of the input (ANTLR expects `expected` there).
fn quoted<'a>(q: char, expected: &'static str) -> impl FnMut(&'a str) -> LexResult<'a, &'a str> {
    move |i| {
        let doubled_quote = (char(q), char(q));
        let pieces = many0_count(alt((
            value((), take_till1(move |c| c == q)),
            value((), doubled_quote),
        )));
        recognize((char(q), closed_before_eof(expected, (pieces, char(q))))).parse(i)
    }
}

/// `'it''s'`.
fn string_literal(i: &str) -> LexResult<'_, &str> {
    quoted('\'', "'''")(i)
}

/// `"MyName"` with `""` for `"`.
fn quoted_name(i: &str) -> LexResult<'_, &str> {
    quoted('"', "'\"'")(i)
}

/// `$$ … $$`: no escapes, ends at the first `$$`.
fn dollar_string(i: &str) -> LexResult<'_, &str> {
    recognize((
        char('$'),
        expecting("'$'", char('$')),
        closed_before_eof("'$'", (take_until("$$"), tag("$$"))),
    ))
    .parse(i)
}

/// An unquoted UUID: `8-4-4-4-12` hexadecimal digits, not followed by a
/// word character.
fn uuid(i: &str) -> LexResult<'_, &str> {
    recognize((
        hex_digits(8),
        char('-'),
        hex_digits(4),
        char('-'),
        hex_digits(4),
        char('-'),
        hex_digits(4),
        char('-'),
        hex_digits(12),
        end_of_word,
    ))
    .parse(i)
}

/// `0x…` (hex digits may be absent: `0x` is an empty blob).
fn hex_blob(i: &str) -> LexResult<'_, &str> {
    recognize((char('0'), one_of("xX"), hex_digit0)).parse(i)
}

/// A duration unit, any ASCII case; longest first so `ms` wins over `m` and
/// `mo` over `m`.
fn duration_unit(i: &str) -> LexResult<'_, &str> {
    alt((
        tag_ascii_no_case("mo"),
        tag_ascii_no_case("ms"),
        tag_ascii_no_case("us"),
        tag_ascii_no_case("µs"),
        tag_ascii_no_case("ns"),
        tag_ascii_no_case("y"),
        tag_ascii_no_case("w"),
        tag_ascii_no_case("d"),
        tag_ascii_no_case("h"),
        tag_ascii_no_case("m"),
        tag_ascii_no_case("s"),
    ))
    .parse(i)
}

/// A unit-style duration (`1h30m`, `3µs`): the longest run of `digits unit`
/// pairs, as ANTLR's longest match would take. Nothing is required after it,
/// so `1d2` is `1d` then `2`.
fn unit_duration(i: &str) -> LexResult<'_, &str> {
    recognize(many1_count((digit1, duration_unit))).parse(i)
}

/// An integer or float without sign: digits, then maybe `.` and digits (but
/// not `..`, the range), then maybe an exponent.
fn number(i: &str) -> LexResult<'_, TokenKind> {
    let fraction = (char('.'), not(char('.')), digit0);
    let exponent = (one_of("eE"), opt(one_of("+-")), digit1);
    map(
        (digit1, opt(fraction), opt(exponent)),
        |(_, fraction, exponent)| {
            if fraction.is_some() || exponent.is_some() {
                TokenKind::Float
            } else {
                TokenKind::Integer
            }
        },
    )
    .parse(i)
}

/// A token starting with a digit: UUID, blob, unit duration or number.
fn digit_led(i: &str) -> LexResult<'_, TokenKind> {
    preceded(
        peek(satisfy(|c| c.is_ascii_digit())),
        alt((
            value(TokenKind::Uuid, uuid),
            value(TokenKind::Hex, hex_blob),
            value(TokenKind::Duration, unit_duration),
            number,
        )),
    )
    .parse(i)
}

/// `-` directly followed by a digit: a negative duration or number.
fn negative_number(i: &str) -> LexResult<'_, TokenKind> {
    preceded(
        char('-'),
        alt((value(TokenKind::Duration, unit_duration), number)),
    )
    .parse(i)
}

/// `-P…`: a negative ISO duration.
fn negative_iso_duration(i: &str) -> LexResult<'_, TokenKind> {
    value(TokenKind::Duration, preceded(char('-'), iso_duration)).parse(i)
}

/// An ISO-8601 duration word (`P` and `T` and the designators in any case):
/// `PnW`, `P[nY][nM][nD][T[nH][nM][nS]]` with at least one number, or the
/// alternative form `Pyyyy-mm-ddThh:mm:ss` (Cassandra's lexer rule). The
/// whole word must match, otherwise it is an identifier (`p`, `pt`, `price`).
fn iso_duration(i: &str) -> LexResult<'_, &str> {
    let alternative = (
        digits(4),
        char('-'),
        digits(2),
        char('-'),
        digits(2),
        one_of("tT"),
        digits(2),
        char(':'),
        digits(2),
        char(':'),
        digits(2),
        end_of_word,
    );
    let weeks = (digit1, one_of("wW"), end_of_word);
    let component = |units: &'static str| opt((digit1, one_of(units)));
    let time = (
        one_of("tT"),
        verify(
            recognize((component("hH"), component("mM"), component("sS"))),
            |t: &str| !t.is_empty(),
        ),
    );
    let date_time = (
        verify(
            recognize((component("yY"), component("mM"), component("dD"), opt(time))),
            |d: &str| !d.is_empty(),
        ),
        end_of_word,
    );
    recognize((
        one_of("pP"),
        alt((
            recognize(alternative),
            recognize(weeks),
            recognize(date_time),
        )),
    ))
    .parse(i)
}

/// `true` / `false` in any case, otherwise an identifier or keyword, whose
/// value is lower-cased.
fn word(i: &str) -> LexResult<'_, TokenKind> {
    map(
        recognize((
            satisfy(|c| c.is_ascii_alphabetic()),
            take_while(is_ident_char),
        )),
        |w: &str| {
            if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") {
                TokenKind::Boolean
            } else {
                TokenKind::Word
            }
        },
    )
    .parse(i)
}

/// A token starting with a letter: UUID, ISO duration, boolean or word.
fn letter_led(i: &str) -> LexResult<'_, TokenKind> {
    preceded(
        peek(satisfy(|c| c.is_ascii_alphabetic())),
        alt((
            value(TokenKind::Uuid, uuid),
            value(TokenKind::Duration, iso_duration),
            word,
        )),
    )
    .parse(i)
}

/// Operators and punctuation. `!` must be followed by `=`.
fn punctuation(i: &str) -> LexResult<'_, TokenKind> {
    let two_chars = alt((
        value(TokenKind::Neq, (char('!'), expecting("'='", char('=')))),
        value(TokenKind::Lte, tag("<=")),
        value(TokenKind::Gte, tag(">=")),
        value(TokenKind::PlusEq, tag("+=")),
        value(TokenKind::MinusEq, tag("-=")),
        value(TokenKind::Range, tag("..")),
    ));
    let one_char = map_opt(anychar, |c| {
        Some(match c {
            '<' => TokenKind::Lt,
            '>' => TokenKind::Gt,
            '+' => TokenKind::Plus,
            '-' => TokenKind::Minus,
            '=' => TokenKind::Eq,
            '?' => TokenKind::QMark,
            ':' => TokenKind::Colon,
            ',' => TokenKind::Comma,
            ';' => TokenKind::Semicolon,
            '.' => TokenKind::Dot,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            '[' => TokenKind::LBracket,
            ']' => TokenKind::RBracket,
            '{' => TokenKind::LBrace,
            '}' => TokenKind::RBrace,
            '*' => TokenKind::Star,
            '/' => TokenKind::Slash,
            '%' => TokenKind::Percent,
            _ => return None,
        })
    });
    alt((two_chars, one_char)).parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kinds(s: &str) -> Vec<(TokenKind, String)> {
        let out = tokenize(s);
        assert!(out.error.is_none(), "{:?}", out.error);
        out.tokens
            .into_iter()
            .filter(|t| t.kind != TokenKind::Eof)
            .map(|t| (t.kind, t.value))
            .collect()
    }

    fn err(s: &str) -> String {
        tokenize(s).error.map(|e| e.to_string()).unwrap_or_default()
    }

    // Words are lower-cased in `value`, quoted names keep case and unescape "".
    #[test]
    fn identifiers_and_case() {
        assert_eq!(
            kinds(r#"SeLeCt "MyCol" "a""b""#),
            vec![
                (TokenKind::Word, "select".into()),
                (TokenKind::QuotedName, "MyCol".into()),
                (TokenKind::QuotedName, "a\"b".into()),
            ]
        );
    }

    // Both string syntaxes, with '' escape and $$ raw content.
    #[test]
    fn strings() {
        assert_eq!(
            kinds("'it''s' $$a'b$c$$"),
            vec![
                (TokenKind::Str, "it's".into()),
                (TokenKind::Str, "a'b$c".into())
            ]
        );
    }

    // Integers, floats, negative numbers, NaN/Infinity stay words.
    #[test]
    fn numbers() {
        assert_eq!(
            kinds("1 -42 1.5 1e10 -2.5E-3 NaN 3."),
            vec![
                (TokenKind::Integer, "1".into()),
                (TokenKind::Integer, "-42".into()),
                (TokenKind::Float, "1.5".into()),
                (TokenKind::Float, "1e10".into()),
                (TokenKind::Float, "-2.5E-3".into()),
                (TokenKind::Word, "nan".into()),
                (TokenKind::Float, "3.".into()),
            ]
        );
    }

    // Blobs, UUIDs (digit or letter first) and booleans.
    #[test]
    fn blobs_uuids_booleans() {
        assert_eq!(
            kinds("0xCAFE 0x 123e4567-e89b-12d3-a456-426614174000 deadbeef-0000-0000-0000-000000000000 TRUE false"),
            vec![
                (TokenKind::Hex, "0xCAFE".into()),
                (TokenKind::Hex, "0x".into()),
                (TokenKind::Uuid, "123e4567-e89b-12d3-a456-426614174000".into()),
                (TokenKind::Uuid, "deadbeef-0000-0000-0000-000000000000".into()),
                (TokenKind::Boolean, "TRUE".into()),
                (TokenKind::Boolean, "false".into()),
            ]
        );
    }

    // Unit and ISO durations; words that merely start with P stay words.
    #[test]
    fn durations() {
        let ks = kinds("1h30m 12mo3d -5s 3µs 7us 2ns 10ms P1DT2H P2W P0001-02-03T04:05:06 -P1D PT5M p price 1d2");
        let d: Vec<_> = ks.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            d,
            vec![
                (TokenKind::Duration, "1h30m"),
                (TokenKind::Duration, "12mo3d"),
                (TokenKind::Duration, "-5s"),
                (TokenKind::Duration, "3µs"),
                (TokenKind::Duration, "7us"),
                (TokenKind::Duration, "2ns"),
                (TokenKind::Duration, "10ms"),
                (TokenKind::Duration, "P1DT2H"),
                (TokenKind::Duration, "P2W"),
                (TokenKind::Duration, "P0001-02-03T04:05:06"),
                (TokenKind::Duration, "-P1D"),
                (TokenKind::Duration, "PT5M"),
                (TokenKind::Word, "p"),
                (TokenKind::Word, "price"),
                (TokenKind::Duration, "1d"),
                (TokenKind::Integer, "2"),
            ]
        );
    }

    // Operators, including two-character ones and the slice range.
    #[test]
    fn punctuation() {
        let ks: Vec<_> = kinds("= != < <= > >= + - += -= ( ) [ ] { } , ; . : * ? 1..2 / %")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        use TokenKind::*;
        assert_eq!(
            ks,
            vec![
                Eq, Neq, Lt, Lte, Gt, Gte, Plus, Minus, PlusEq, MinusEq, LParen, RParen, LBracket,
                RBracket, LBrace, RBrace, Comma, Semicolon, Dot, Colon, Star, QMark, Integer,
                Range, Integer, Slash, Percent
            ]
        );
    }

    // Comments of all three forms vanish; positions are line/column based.
    #[test]
    fn comments_and_positions() {
        let out = tokenize("-- c1\n// c2\n/* c3\n */ a\n  b");
        let t: Vec<_> = out
            .tokens
            .iter()
            .map(|t| (t.value.as_str(), t.line, t.column))
            .collect();
        assert_eq!(t, vec![("a", 4, 4), ("b", 5, 2), ("", 5, 3)]);
    }

    // Lexer errors use ANTLR's wording and point at the failing character.
    #[test]
    fn lexer_errors() {
        assert_eq!(
            err("'abc"),
            "line 1:4 mismatched character '<EOF>' expecting '''"
        );
        assert_eq!(
            err("\"abc"),
            "line 1:4 mismatched character '<EOF>' expecting '\"'"
        );
        assert_eq!(
            err("$$abc"),
            "line 1:5 mismatched character '<EOF>' expecting '$'"
        );
        assert_eq!(
            err("/* x"),
            "line 1:4 mismatched character '<EOF>' expecting '*'"
        );
        assert_eq!(
            err("a @"),
            "line 1:2 no viable alternative at character '@'"
        );
        assert_eq!(
            err("a ! b"),
            "line 1:3 mismatched character ' ' expecting '='"
        );
    }

    /// Pieces that meet at the lexer's ambiguities (units, `P`/`T`, `-`,
    /// `.`/`..`, quotes, comment openers, UUID-like runs), glued at random.
    #[rustfmt::skip]
    const FRAGMENTS: &[&str] = &[
        "1", "0", "42", "0x", "0X", "e", "E", "+", "-", "--", "/", "//", "/*", "*/", "*", "'",
        "''", "\"", "\"\"", "$", "$$", "µs", "µ", "s", "mo", "MS", "us", "ns", "y", "w", "d",
        "h", "m", "p", "P", "T", "t", "PT", "1D", "2W", ".", "..", "!", "=", "<", ">", "?",
        ":", ",", ";", "(", ")", "[", "]", "{", "}", "%", " ", "\n", "\r", "\t", "_", "a",
        "deadbeef-0000-0000-0000-000000000000", "0001-02-03T04:05:06", "true", "NaN", "é",
        "\u{212A}", "@", "\0", "1h30m", "P1Y2M3DT4H5M6S", "-1234",
    ];

    fn cql_fragments() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..30)
            .prop_map(|pieces| pieces.concat())
    }

    /// Line and column of byte `offset`, counted independently of the lexer.
    fn line_column(s: &str, offset: usize) -> Option<(usize, usize)> {
        let before = s.get(..offset)?;
        let line = 1 + before.matches('\n').count();
        let column = before.rsplit('\n').next()?.chars().count();
        Some((line, column))
    }

    /// `gap` lexes to nothing: it is whitespace and comments only.
    fn is_trivia(gap: &str) -> bool {
        let out = tokenize(gap);
        out.error.is_none() && out.tokens.len() == 1
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        // Checks, on arbitrary Unicode text and on glued CQL fragments, that
        // the lexer returns (never panics) and that its tokens tile the input:
        // in order, each token's text is the input between its offsets, its
        // line and column match a recount from the offset, what lies between
        // tokens lexes to nothing (whitespace and comments), and `Eof` sits at
        // the end of the input, or at the error's position when lexing stopped.
        #[test]
        fn tokens_cover_the_input(s in prop_oneof![any::<String>(), cql_fragments()]) {
            let out = tokenize(&s);
            let (eof, tokens) = out.tokens.split_last().ok_or_else(|| {
                TestCaseError::fail("no Eof token")
            })?;
            prop_assert_eq!(eof.kind, TokenKind::Eof);
            let mut covered = 0;
            for t in tokens {
                prop_assert!(t.kind != TokenKind::Eof);
                prop_assert!(t.start < t.end, "empty token {:?}", t);
                let gap = s.get(covered..t.start);
                prop_assert!(gap.is_some_and(is_trivia), "gap {:?} before {:?}", gap, t);
                prop_assert_eq!(s.get(t.start..t.end), Some(t.text.as_str()));
                prop_assert_eq!(line_column(&s, t.start), Some((t.line, t.column)));
                covered = t.end;
            }
            prop_assert_eq!(line_column(&s, eof.start), Some((eof.line, eof.column)));
            prop_assert_eq!(eof.start, eof.end);
            match &out.error {
                None => {
                    prop_assert_eq!(eof.start, s.len());
                    prop_assert!(s.get(covered..).is_some_and(is_trivia));
                }
                Some(e) => {
                    prop_assert!(covered <= eof.start && eof.start <= s.len());
                    prop_assert_eq!((e.line, e.column), (eof.line, eof.column));
                }
            }
        }
    }
}
