//! The parser's token cursor: lookahead, keyword tests and error building.
//!
//! **What.** [`Parser`] walks the token vector produced by the lexer. It
//! offers the small vocabulary the grammar code is written in (`is_kw`,
//! `eat_kw`, `expect_kw`, `ident`, …), counts bind markers, bounds recursion
//! and builds errors worded like ANTLR's (see `error.rs`).
//!
//! **Keywords.** The lexer does not know keywords: every unquoted word is a
//! `Word`. A word is a keyword where the grammar asks for one, and an
//! identifier anywhere an identifier fits, unless it is one of Cassandra's
//! reserved keywords ([`RESERVED_KEYWORDS`], from Cassandra's
//! `reserved_keywords.txt`). That is exactly Cassandra's rule that
//! non-reserved keywords (`key`, `ttl`, `type`, `json`, `user`, …) are valid
//! column, table and keyspace names.
//!
//! **Errors.** Three shapes, matching what ANTLR 3 reports for the same
//! situations: a choice nobody takes gives `no viable alternative at input
//! 'X'`; a required token gives `mismatched input 'X' expecting K_FROM`
//! (Cassandra disables ANTLR's single-token recovery, so it never says
//! `extraneous input` or `missing … at`). When the parser reaches the spot where the lexer stopped, the
//! lexer's error is reported instead, as ANTLR's lazy lexing would.

use super::ast::BindMarker;
use super::error::ParseError;
use super::lexer::{Token, TokenKind};

/// Deepest nesting of terms, types, selectors and parenthesised relations.
/// Real schemas nest a handful of levels (`frozen<map<text, list<int>>>`);
/// 100 leaves wide headroom while keeping the recursive descent far from the
/// smallest thread stacks (each level costs a few stack frames).
pub const MAX_NESTING_DEPTH: usize = 100;

/// Words that can never be identifiers (Cassandra's `reserved_keywords.txt`;
/// `CONSTRAINT`, `LENGTH`, `CHECK` from 5.x trunk are left out as they would
/// break existing column names for no feature we support).
pub const RESERVED_KEYWORDS: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "is",
    "keyspace",
    "limit",
    "materialized",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "truncate",
    "unlogged",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

/// Is `word` (lower-case) a reserved keyword?
pub fn is_reserved(word: &str) -> bool {
    RESERVED_KEYWORDS.contains(&word)
}

pub(crate) type PResult<T> = Result<T, ParseError>;

/// Cursor over the tokens of one input.
pub(crate) struct Parser<'a> {
    pub(crate) src: &'a str,
    tokens: &'a [Token],
    pub(crate) pos: usize,
    depth: usize,
    lex_error: Option<ParseError>,
    /// Names of the bind markers met so far in the current statement.
    pub(crate) markers: Vec<Option<String>>,
}

impl<'a> Parser<'a> {
    /// `tokens` must end with an `Eof` token (the lexer guarantees it).
    pub(crate) fn new(src: &'a str, tokens: &'a [Token], lex_error: Option<ParseError>) -> Self {
        Parser {
            src,
            tokens,
            pos: 0,
            depth: 0,
            lex_error,
            markers: Vec::new(),
        }
    }

    /// The lexer error, if lexing stopped early.
    pub(crate) fn lex_error(&self) -> Option<&ParseError> {
        self.lex_error.as_ref()
    }

    fn eof_index(&self) -> usize {
        self.tokens.len().saturating_sub(1)
    }

    /// Token `n` places ahead (clamped to `Eof`).
    pub(crate) fn peek_at(&self, n: usize) -> &'a Token {
        let i = (self.pos + n).min(self.eof_index());
        &self.tokens[i]
    }

    pub(crate) fn peek(&self) -> &'a Token {
        self.peek_at(0)
    }

    pub(crate) fn kind(&self) -> TokenKind {
        self.peek().kind
    }

    pub(crate) fn kind_at(&self, n: usize) -> TokenKind {
        self.peek_at(n).kind
    }

    /// Moves one token on (never past `Eof`) and returns the token left.
    pub(crate) fn bump(&mut self) -> &'a Token {
        let t = self.peek();
        if self.pos < self.eof_index() {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn at_eof(&self) -> bool {
        self.kind() == TokenKind::Eof
    }

    /// At the end of a statement: `;` or end of input.
    pub(crate) fn at_statement_end(&self) -> bool {
        matches!(self.kind(), TokenKind::Eof | TokenKind::Semicolon)
    }

    pub(crate) fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        let t = self.peek_at(n);
        t.kind == TokenKind::Word && t.value == kw
    }

    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    pub(crate) fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    pub(crate) fn eat(&mut self, kind: TokenKind) -> bool {
        if self.kind() == kind {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Requires keyword `kw` (lower-case).
    pub(crate) fn expect_kw(&mut self, kw: &str) -> PResult<()> {
        if self.eat_kw(kw) {
            return Ok(());
        }
        Err(self.mismatch(&format!("K_{}", kw.to_ascii_uppercase())))
    }

    /// Requires a token of `kind`.
    pub(crate) fn expect(&mut self, kind: TokenKind) -> PResult<&'a Token> {
        if self.kind() == kind {
            return Ok(self.bump());
        }
        Err(self.mismatch(kind.antlr_name()))
    }

    /// `IF NOT EXISTS`, when present.
    pub(crate) fn if_not_exists(&mut self) -> PResult<bool> {
        if self.eat_kw("if") {
            self.expect_kw("not")?;
            self.expect_kw("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// `IF EXISTS`, when present.
    pub(crate) fn if_exists(&mut self) -> PResult<bool> {
        if self.is_kw("if") && self.is_kw_at(1, "exists") {
            self.pos += 2;
            Ok(true)
        } else if self.is_kw("if") {
            self.bump();
            self.expect_kw("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// An error at the current token.
    pub(crate) fn error_here(&self, message: String) -> ParseError {
        self.error_at(self.pos, message)
    }

    /// An error at token `index`, unless the lexer failed at or before it.
    pub(crate) fn error_at(&self, index: usize, message: String) -> ParseError {
        if let Some(e) = &self.lex_error {
            if index >= self.eof_index() {
                return e.clone();
            }
        }
        let t = &self.tokens[index.min(self.eof_index())];
        ParseError::new(t.line, t.column, message)
    }

    /// `no viable alternative at input 'X'` at the current token.
    pub(crate) fn no_viable(&self) -> ParseError {
        self.error_here(format!(
            "no viable alternative at input {}",
            self.peek().display()
        ))
    }

    /// `mismatched input 'X' expecting Y` at the current token. Cassandra's
    /// parser overrides ANTLR's single-token recovery (no `extraneous input`
    /// or `missing X at` messages), so this is the only shape it reports for
    /// a required token.
    pub(crate) fn mismatch(&self, expected: &str) -> ParseError {
        self.error_here(format!(
            "mismatched input {} expecting {expected}",
            self.peek().display()
        ))
    }

    /// Enters one nesting level; pair with [`Parser::leave`].
    pub(crate) fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_NESTING_DEPTH {
            return Err(self.error_here(format!(
                "maximum nesting depth of {MAX_NESTING_DEPTH} exceeded at input {}",
                self.peek().display()
            )));
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Runs `f` one nesting level deeper.
    pub(crate) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.enter()?;
        let r = f(self);
        self.leave();
        r
    }

    /// Is the current token usable as an identifier?
    pub(crate) fn at_ident(&self) -> bool {
        self.ident_at(0)
    }

    pub(crate) fn ident_at(&self, n: usize) -> bool {
        let t = self.peek_at(n);
        match t.kind {
            TokenKind::QuotedName => true,
            TokenKind::Word => !is_reserved(&t.value),
            _ => false,
        }
    }

    /// An identifier: a non-reserved word (lower-cased) or a quoted name.
    pub(crate) fn ident(&mut self) -> PResult<String> {
        if self.at_ident() {
            Ok(self.bump().value.clone())
        } else {
            Err(self.no_viable())
        }
    }

    /// A comma-separated identifier list (at least one).
    pub(crate) fn ident_list(&mut self) -> PResult<Vec<String>> {
        let mut out = vec![self.ident()?];
        while self.eat(TokenKind::Comma) {
            out.push(self.ident()?);
        }
        Ok(out)
    }

    /// Records a new bind marker and returns it.
    pub(crate) fn new_marker(&mut self, name: Option<String>) -> BindMarker {
        let index = self.markers.len();
        self.markers.push(name.clone());
        BindMarker { index, name }
    }

    /// Source text between two token indices (inclusive start, exclusive end).
    pub(crate) fn text_between(&self, from: usize, to: usize) -> String {
        let start = self.tokens[from.min(self.eof_index())].start;
        let end = if to == 0 {
            start
        } else {
            self.tokens[(to - 1).min(self.eof_index())].end
        };
        self.src
            .get(start..end.max(start))
            .unwrap_or("")
            .to_string()
    }
}
