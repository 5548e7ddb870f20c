//! CQL text to syntax trees: lexer, parser and Cassandra-style errors.
//!
//! **What.** The front door is four functions:
//!
//! * [`parse_statement`]: exactly one statement (a trailing `;` is optional)
//!   to a [`Statement`];
//! * [`parse_statement_with_markers`]: the same, plus the bind-marker
//!   metadata drivers need when preparing (how many `?`/`:name` markers, in
//!   order, and their names): see [`ParsedStatement`];
//! * [`parse_statements`] / [`parse_script`]: a `;`-separated script (as
//!   cqlsh or a schema file would send it). Splitting happens on tokens, so
//!   `;` inside strings, `$$…$$` bodies, quoted names and comments never
//!   splits, and a `BEGIN BATCH … APPLY BATCH` stays one statement.
//!
//! **Why.** Everything the server executes starts here; Cassandra drivers
//! and tools also parse our error text, so errors follow Cassandra's
//! `SyntaxException` wording (`line 1:7 no viable alternative at input
//! 'TABL'`, see [`ParseError`]).
//!
//! **How.** [`lexer`] produces positioned tokens (identifiers normalised,
//! comments dropped), each token kind recognised by a small nom parser; a
//! hand-written recursive-descent parser over those tokens (`cursor`,
//! `expressions`, `statements`) follows Cassandra's `Parser.g` grammar
//! (apache/cassandra `src/antlr/`) and the CQL reference pages (`dml.adoc`,
//! `ddl.adoc`, `types.adoc`, `definitions.adoc`). The AST is in [`ast`].
//! Recursion is bounded by [`MAX_NESTING_DEPTH`]; no input panics.
//!
//! **Why nom for tokens only.** nom suits the lexer: token rules are small,
//! independent recognisers combined in priority order, and a lexical error is
//! just "this character, expecting that". But what users see of a parser is
//! its errors, and Cassandra's name the offending *token* and what was
//! expected at its line and column (`mismatched input 'x' expecting K_FROM`).
//! A cursor over positioned tokens gives exactly that; nom's errors over the
//! statement grammar would have to be translated back into it. So statements
//! are parsed by hand from the token cursor.
//!
//! **What not.** No I/O, no schema lookups, no type checking and no value
//! decoding: `'2024-01-01'` stays a string constant until the types layer
//! sees the column type. User-defined functions, aggregates and triggers are
//! recognised but not parsed ([`Statement::Unsupported`]).

pub mod ast;
mod cursor;
pub mod error;
mod expressions;
pub mod lexer;
mod statements;
#[cfg(test)]
mod tests;

pub use ast::*;
pub use cursor::{is_reserved, MAX_NESTING_DEPTH, RESERVED_KEYWORDS};
pub use error::ParseError;

use cursor::Parser;
use lexer::TokenKind;

/// A statement with the metadata a driver needs to prepare it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    /// The syntax tree.
    pub statement: Statement,
    /// One entry per bind marker, in order of appearance (across a whole
    /// batch): `None` for `?`, `Some(name)` for `:name`.
    pub bind_markers: Vec<Option<String>>,
    /// The statement's source text (without the trailing `;`).
    pub text: String,
}

impl ParsedStatement {
    /// How many values a client must bind.
    pub fn bind_count(&self) -> usize {
        self.bind_markers.len()
    }
}

impl Parser<'_> {
    /// One statement with its markers and text.
    fn parsed_statement(&mut self) -> Result<ParsedStatement, ParseError> {
        self.markers.clear();
        let start = self.pos;
        let statement = self.statement()?;
        Ok(ParsedStatement {
            statement,
            bind_markers: std::mem::take(&mut self.markers),
            text: self.text_between(start, self.pos),
        })
    }

    /// Fails with the lexer's error if lexing stopped early.
    fn check_lexed(&self) -> Result<(), ParseError> {
        match self.lex_error() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

/// Parses exactly one statement; a trailing `;` (or several) is allowed.
pub fn parse_statement(input: &str) -> Result<Statement, ParseError> {
    parse_statement_with_markers(input).map(|p| p.statement)
}

/// Parses exactly one statement and reports its bind markers.
pub fn parse_statement_with_markers(input: &str) -> Result<ParsedStatement, ParseError> {
    let lexed = lexer::tokenize(input);
    let mut p = Parser::new(input, &lexed.tokens, lexed.error.clone());
    let parsed = p.parsed_statement()?;
    while p.eat(TokenKind::Semicolon) {}
    if !p.at_eof() {
        return Err(p.mismatch("EOF"));
    }
    p.check_lexed()?;
    Ok(parsed)
}

/// Parses a `;`-separated script; empty statements are skipped.
pub fn parse_script(input: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    let lexed = lexer::tokenize(input);
    let mut p = Parser::new(input, &lexed.tokens, lexed.error.clone());
    let mut out = Vec::new();
    loop {
        while p.eat(TokenKind::Semicolon) {}
        if p.at_eof() {
            break;
        }
        out.push(p.parsed_statement()?);
        if !p.at_statement_end() {
            return Err(p.mismatch("';'"));
        }
    }
    p.check_lexed()?;
    Ok(out)
}

/// Parses a `;`-separated script into statements.
pub fn parse_statements(input: &str) -> Result<Vec<Statement>, ParseError> {
    Ok(parse_script(input)?
        .into_iter()
        .map(|p| p.statement)
        .collect())
}
