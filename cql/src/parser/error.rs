//! Syntax errors, worded the way Cassandra words them.
//!
//! **What.** [`ParseError`] is the single error type of the CQL lexer and
//! parser: a 1-based line, a 0-based column and a message. Its `Display` is
//! `line L:C message`, which is exactly the text Cassandra puts in the
//! `SyntaxException` it sends to clients (minus the query snippet Cassandra
//! appends in parentheses, which drivers and tests never rely on).
//!
//! **Why this shape.** Drivers, cqlsh and application tests match on these
//! strings, so we reproduce ANTLR 3's vocabulary rather than inventing our
//! own:
//!
//! * `no viable alternative at input 'X'`: the parser stood at a choice
//!   (which statement, which term, which identifier) and no branch accepts
//!   token `X`;
//! * `mismatched input 'X' expecting K_FROM`: one precise token was required
//!   (keywords are named `K_<WORD>`, punctuation by its quoted text, the end
//!   of input by `EOF`);
//!   (Cassandra's `Parser.g` overrides ANTLR's single-token recovery, so
//!   `extraneous input …` and `missing … at …` never appear);
//! * lexer errors: `mismatched character '<EOF>' expecting '''` for an
//!   unterminated string, `no viable alternative at character '@'` for a
//!   character that starts no token.
//!
//! The end of input is displayed as `<EOF>` and sits at the position just
//! after the last character, as in ANTLR.
//!
//! **What not.** No error recovery and no list of errors: Cassandra only ever
//! reports the first one, so do we. Semantic errors (unknown table, wrong
//! type) are not syntax errors and belong to the executor. The lead will
//! later fold this type into a crate-wide error enum.

/// A CQL syntax error: where (1-based line, 0-based column, counted in
/// characters) and what, worded like Cassandra's `SyntaxException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}:{column} {message}")]
pub struct ParseError {
    /// 1-based line of the offending token or character.
    pub line: usize,
    /// 0-based column (in characters) of the offending token or character.
    pub column: usize,
    /// The message after the `line L:C ` header.
    pub message: String,
}

impl ParseError {
    /// Builds an error at a position.
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// How ANTLR displays one offending character inside quotes.
pub(crate) fn char_display(c: Option<char>) -> String {
    match c {
        None => "'<EOF>'".to_string(),
        Some('\n') => "'\\n'".to_string(),
        Some('\r') => "'\\r'".to_string(),
        Some('\t') => "'\\t'".to_string(),
        Some(c) => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Display is Cassandra's "line L:C message" header format.
    #[test]
    fn display_matches_cassandra_header() {
        let e = ParseError::new(1, 7, "no viable alternative at input 'TABL'");
        assert_eq!(
            e.to_string(),
            "line 1:7 no viable alternative at input 'TABL'"
        );
    }

    // Special characters are escaped the way ANTLR shows them.
    #[test]
    fn char_display_escapes() {
        assert_eq!(char_display(None), "'<EOF>'");
        assert_eq!(char_display(Some('\n')), "'\\n'");
        assert_eq!(char_display(Some('@')), "'@'");
    }
}
