//! The CQL lexer: source text to a vector of positioned tokens.
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
//!   keywords (`key`, `ttl`, `type`, …) stay usable as identifiers;
//! * `"Quoted"` names keep their case, `""` stands for one `"`;
//! * strings `'it''s'` and `$$ raw $$`;
//! * integers and floats (`-1`, `1.5`, `1e10`, `-2.5E-3`): a `-` directly
//!   followed by a digit belongs to the number, as in Cassandra (so `c -1`
//!   is an identifier then the integer `-1`);
//! * `true`/`false` (any case), hex blobs `0xCAFE`, unquoted UUIDs,
//!   durations (`1h30m`, `12mo3d`, `-5s`, `3µs`, ISO `P1DT2H`, `P2W`);
//! * punctuation and operators, `..` for collection slices.
//!
//! **Errors.** Lexing stops at the first bad character. Because ANTLR lexes
//! lazily, a parser error *before* that character wins in Cassandra; so the
//! lexer does not fail outright: it returns the tokens up to the bad spot
//! plus the error, and the parser reports the lexer error only if it reaches
//! that spot (see `LexOutput::error`).
//!
//! **What not.** No keyword table here and no interpretation of values
//! (`1h30m` stays text; the types engineer's codecs decode it).

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

/// Duration units, longest first so `ms` wins over `m` and `mo` over `m`.
const DURATION_UNITS: &[&str] = &["mo", "ms", "us", "µs", "ns", "y", "w", "d", "h", "m", "s"];

/// Tokenizes `input`. Never fails: see [`LexOutput::error`].
pub fn tokenize(input: &str) -> LexOutput {
    let mut lx = Lexer {
        src: input,
        chars: input.char_indices().collect(),
        i: 0,
        line: 1,
        col: 0,
        tokens: Vec::new(),
    };
    let error = lx.run().err();
    let (line, column, start) = (lx.line, lx.col, lx.byte_at(lx.i));
    let (line, column) = match &error {
        Some(e) => (e.line, e.column),
        None => (line, column),
    };
    lx.tokens.push(Token {
        kind: TokenKind::Eof,
        text: String::new(),
        value: String::new(),
        line,
        column,
        start,
        end: start,
    });
    LexOutput {
        tokens: lx.tokens,
        error,
    }
}

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    line: usize,
    col: usize,
    tokens: Vec<Token>,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer<'_> {
    fn peek(&self, n: usize) -> Option<char> {
        self.chars.get(self.i + n).map(|&(_, c)| c)
    }

    fn byte_at(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.src.len(), |&(b, _)| b)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek(0) {
            self.i += 1;
            if c == '\n' {
                self.line += 1;
                self.col = 0;
            } else {
                self.col += 1;
            }
        }
    }

    fn bump_n(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    fn err_here(&self, message: String) -> ParseError {
        ParseError::new(self.line, self.col, message)
    }

    fn mismatched_char(&self, expected: &str) -> ParseError {
        self.err_here(format!(
            "mismatched character {} expecting {}",
            char_display(self.peek(0)),
            expected
        ))
    }

    fn push(
        &mut self,
        kind: TokenKind,
        start_i: usize,
        line: usize,
        col: usize,
        value: Option<String>,
    ) {
        let (start, end) = (self.byte_at(start_i), self.byte_at(self.i));
        let text = self.src[start..end].to_string();
        let value = value.unwrap_or_else(|| text.clone());
        self.tokens.push(Token {
            kind,
            text,
            value,
            line,
            column: col,
            start,
            end,
        });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.peek(0) {
            let (start, line, col) = (self.i, self.line, self.col);
            match c {
                ' ' | '\t' | '\n' | '\r' => self.bump(),
                '-' if self.peek(1) == Some('-') => self.line_comment(),
                '/' if self.peek(1) == Some('/') => self.line_comment(),
                '/' if self.peek(1) == Some('*') => self.block_comment()?,
                '\'' => {
                    let v = self.quoted('\'', "'''")?;
                    self.push(TokenKind::Str, start, line, col, Some(v));
                }
                '"' => {
                    let v = self.quoted('"', "'\"'")?;
                    self.push(TokenKind::QuotedName, start, line, col, Some(v));
                }
                '$' => {
                    let v = self.dollar_string()?;
                    self.push(TokenKind::Str, start, line, col, Some(v));
                }
                '0'..='9' => {
                    let kind = self.number_like(0);
                    self.push(kind, start, line, col, None);
                }
                '-' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => {
                    let kind = self.number_like(1);
                    self.push(kind, start, line, col, None);
                }
                '-' if self.iso_duration_len(1).is_some() => {
                    let n = self.iso_duration_len(1).unwrap_or(0);
                    self.bump_n(1 + n);
                    self.push(TokenKind::Duration, start, line, col, None);
                }
                'a'..='z' | 'A'..='Z' => {
                    let kind = self.word();
                    let value = (kind == TokenKind::Word).then(|| {
                        self.src[self.byte_at(start)..self.byte_at(self.i)].to_ascii_lowercase()
                    });
                    self.push(kind, start, line, col, value);
                }
                _ => {
                    let kind = self.punct()?;
                    self.push(kind, start, line, col, None);
                }
            }
        }
        Ok(())
    }

    fn line_comment(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    fn block_comment(&mut self) -> Result<(), ParseError> {
        self.bump_n(2);
        loop {
            match self.peek(0) {
                None => return Err(self.mismatched_char("'*'")),
                Some('*') if self.peek(1) == Some('/') => {
                    self.bump_n(2);
                    return Ok(());
                }
                Some(_) => self.bump(),
            }
        }
    }

    /// `'…'` or `"…"` with the quote doubled as escape; returns the content.
    fn quoted(&mut self, q: char, expected: &str) -> Result<String, ParseError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.peek(0) {
                None => return Err(self.mismatched_char(expected)),
                Some(c) if c == q => {
                    if self.peek(1) == Some(q) {
                        out.push(q);
                        self.bump_n(2);
                    } else {
                        self.bump();
                        return Ok(out);
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// `$$ … $$`: no escapes, ends at the first `$$`.
    fn dollar_string(&mut self) -> Result<String, ParseError> {
        self.bump();
        if self.peek(0) != Some('$') {
            return Err(self.mismatched_char("'$'"));
        }
        self.bump();
        let mut out = String::new();
        loop {
            match self.peek(0) {
                None => return Err(self.mismatched_char("'$'")),
                Some('$') if self.peek(1) == Some('$') => {
                    self.bump_n(2);
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// Length of an unquoted UUID starting at offset `off`, if one is there.
    fn uuid_len(&self, off: usize) -> Option<usize> {
        let groups = [8, 4, 4, 4, 12];
        let mut n = off;
        for (gi, &g) in groups.iter().enumerate() {
            for _ in 0..g {
                if !self.peek(n)?.is_ascii_hexdigit() {
                    return None;
                }
                n += 1;
            }
            if gi < groups.len() - 1 {
                if self.peek(n)? != '-' {
                    return None;
                }
                n += 1;
            }
        }
        if self.peek(n).is_some_and(is_ident_char) {
            return None;
        }
        Some(n - off)
    }

    /// Length of a unit-style duration (`1h30m`, `3µs`) at offset `off`: the
    /// longest run of `digits unit` pairs, as ANTLR's longest match would take.
    fn unit_duration_len(&self, off: usize) -> Option<usize> {
        let mut n = off;
        let mut best = None;
        loop {
            let digits_start = n;
            while self.peek(n).is_some_and(|c| c.is_ascii_digit()) {
                n += 1;
            }
            if n == digits_start {
                return best;
            }
            let Some(unit) = DURATION_UNITS.iter().find(|u| {
                u.chars().enumerate().all(|(k, uc)| {
                    self.peek(n + k)
                        .is_some_and(|c| c.to_ascii_lowercase() == uc)
                })
            }) else {
                return best;
            };
            n += unit.chars().count();
            best = Some(n - off);
        }
    }

    /// Length of an ISO-8601 duration word (`P1Y2M3DT4H5M6S`, `P2W`) at
    /// offset `off`. The whole word must match and hold at least one number,
    /// otherwise it is an identifier (`p`, `pt`, `price`).
    fn iso_duration_len(&self, off: usize) -> Option<usize> {
        if !matches!(self.peek(off), Some('p' | 'P')) {
            return None;
        }
        // The alternative form `Pyyyy-mm-ddThh:mm:ss` (Cassandra's lexer rule).
        const ALT: &str = "dddd-dd-ddTdd:dd:dd";
        let alt = ALT.chars().enumerate().all(|(i, want)| {
            let got = self.peek(off + 1 + i);
            match want {
                'd' => got.is_some_and(|c| c.is_ascii_digit()),
                'T' => matches!(got, Some('T' | 't')),
                w => got == Some(w),
            }
        });
        if alt && !self.peek(off + 1 + ALT.len()).is_some_and(is_ident_char) {
            return Some(1 + ALT.len());
        }
        let mut end = off + 1;
        while self.peek(end).is_some_and(is_ident_char) {
            end += 1;
        }
        let word: String = (off + 1..end)
            .filter_map(|k| self.peek(k))
            .collect::<String>()
            .to_ascii_uppercase();
        let ok = iso_body_ok(&word);
        ok.then_some(end - off)
    }

    /// A token starting with a digit (or `-` then digit when `off == 1`).
    fn number_like(&mut self, off: usize) -> TokenKind {
        if off == 0 {
            if let Some(n) = self.uuid_len(0) {
                self.bump_n(n);
                return TokenKind::Uuid;
            }
            if self.peek(0) == Some('0') && matches!(self.peek(1), Some('x' | 'X')) {
                self.bump_n(2);
                while self.peek(0).is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.bump();
                }
                return TokenKind::Hex;
            }
        }
        if let Some(n) = self.unit_duration_len(off) {
            self.bump_n(off + n);
            return TokenKind::Duration;
        }
        self.bump_n(off);
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let mut float = false;
        if self.peek(0) == Some('.') && self.peek(1) != Some('.') {
            float = true;
            self.bump();
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                self.bump_n(1 + sign);
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
        }
        if float {
            TokenKind::Float
        } else {
            TokenKind::Integer
        }
    }

    /// A token starting with a letter: UUID, ISO duration, boolean or word.
    fn word(&mut self) -> TokenKind {
        if let Some(n) = self.uuid_len(0) {
            self.bump_n(n);
            return TokenKind::Uuid;
        }
        if let Some(n) = self.iso_duration_len(0) {
            self.bump_n(n);
            return TokenKind::Duration;
        }
        let start = self.i;
        while self.peek(0).is_some_and(is_ident_char) {
            self.bump();
        }
        let word: String = (start..self.i)
            .filter_map(|k| self.chars.get(k).map(|&(_, c)| c))
            .collect();
        if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
            TokenKind::Boolean
        } else {
            TokenKind::Word
        }
    }

    fn punct(&mut self) -> Result<TokenKind, ParseError> {
        let c = self.peek(0);
        let next = self.peek(1);
        let (kind, len) = match (c, next) {
            (Some('!'), Some('=')) => (TokenKind::Neq, 2),
            (Some('!'), _) => {
                self.bump();
                return Err(self.mismatched_char("'='"));
            }
            (Some('<'), Some('=')) => (TokenKind::Lte, 2),
            (Some('>'), Some('=')) => (TokenKind::Gte, 2),
            (Some('+'), Some('=')) => (TokenKind::PlusEq, 2),
            (Some('-'), Some('=')) => (TokenKind::MinusEq, 2),
            (Some('.'), Some('.')) => (TokenKind::Range, 2),
            (Some('<'), _) => (TokenKind::Lt, 1),
            (Some('>'), _) => (TokenKind::Gt, 1),
            (Some('+'), _) => (TokenKind::Plus, 1),
            (Some('-'), _) => (TokenKind::Minus, 1),
            (Some('='), _) => (TokenKind::Eq, 1),
            (Some('?'), _) => (TokenKind::QMark, 1),
            (Some(':'), _) => (TokenKind::Colon, 1),
            (Some(','), _) => (TokenKind::Comma, 1),
            (Some(';'), _) => (TokenKind::Semicolon, 1),
            (Some('.'), _) => (TokenKind::Dot, 1),
            (Some('('), _) => (TokenKind::LParen, 1),
            (Some(')'), _) => (TokenKind::RParen, 1),
            (Some('['), _) => (TokenKind::LBracket, 1),
            (Some(']'), _) => (TokenKind::RBracket, 1),
            (Some('{'), _) => (TokenKind::LBrace, 1),
            (Some('}'), _) => (TokenKind::RBrace, 1),
            (Some('*'), _) => (TokenKind::Star, 1),
            (Some('/'), _) => (TokenKind::Slash, 1),
            (Some('%'), _) => (TokenKind::Percent, 1),
            (other, _) => {
                return Err(self.err_here(format!(
                    "no viable alternative at character {}",
                    char_display(other)
                )))
            }
        };
        self.bump_n(len);
        Ok(kind)
    }
}

/// Checks the part of an ISO duration after `P` (upper-cased): either
/// `nW`, or `[nY][nM][nD][T[nH][nM][nS]]` with at least one number.
fn iso_body_ok(body: &str) -> bool {
    fn components(s: &str, units: &[char]) -> Option<usize> {
        // Returns how many components were found, in unit order.
        let mut rest = s;
        let mut found = 0;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            let unit = rest[digits..].chars().next()?;
            let pos = units[next_unit..].iter().position(|&u| u == unit)?;
            next_unit += pos + 1;
            found += 1;
            rest = &rest[digits + 1..];
        }
        Some(found)
    }
    if let Some(weeks) = body.strip_suffix('W') {
        return !weeks.is_empty() && weeks.chars().all(|c| c.is_ascii_digit());
    }
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let Some(d) = components(date, &['Y', 'M', 'D']) else {
        return false;
    };
    let t = match time {
        Some(t) => match components(t, &['H', 'M', 'S']) {
            Some(0) | None => return false,
            Some(n) => n,
        },
        None => 0,
    };
    d + t > 0
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
