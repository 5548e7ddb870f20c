//! How cqlsh lays out results and errors, shared by `sibyl cqlsh` and the golden
//! CQL transcripts (`tests/cql_golden.rs`), so both print exactly what Python cqlsh
//! prints.
//!
//! From cqlsh's `print_formatted_result` (`pylib/cqlshlib/cqlshmain.py`) and
//! `FormattedValue` (`displaying.py`):
//!
//! ```text
//!  k | name  | v            header: names left-justified, the line right-trimmed
//! ---+-------+-----         rule: dashes of each width joined by -+-
//!  1 | alice |  10          rows: every value right-justified, numbers and text alike
//!  2 |   bob | 200          each line starts with one space; columns joined by " | "
//! ```
//!
//! A column is as wide as its widest cell or name, measured in terminal columns
//! (cqlsh uses `wcwidth`: East Asian wide characters count 2, combining marks 0),
//! never counting colour escapes. Expanded output (`EXPAND ON`) prints each row
//! as `@ Row N`, a rule, then ` name | value` lines with names left-justified.
//!
//! Server errors print as the Python driver's exception class, a colon and the
//! driver's message: `InvalidRequest: Error from server: code=2200 [Invalid query]
//! message="..."` ([`error_class`], [`format_server_error`]).

use unicode_width::UnicodeWidthStr;

/// ANSI colours of cqlsh's `displaying.py`.
pub mod color {
    /// Partition key names, nulls, errors.
    pub const RED: &str = "\x1b[0;1;31m";
    /// Numbers, booleans, uuids, dates and times, inets, durations.
    pub const GREEN: &str = "\x1b[0;1;32m";
    /// Text (and cqlsh's default).
    pub const YELLOW: &str = "\x1b[0;1;33m";
    /// Collections, tuples, UDTs; the cluster name in the banner.
    pub const BLUE: &str = "\x1b[0;1;34m";
    /// Regular column names.
    pub const MAGENTA: &str = "\x1b[0;1;35m";
    /// Clustering column names.
    pub const CYAN: &str = "\x1b[0;1;36m";
    /// Static column names.
    pub const WHITE: &str = "\x1b[0;1;37m";
    /// Blobs.
    pub const DARK_MAGENTA: &str = "\x1b[0;35m";
    /// Back to the terminal's default.
    pub const RESET: &str = "\x1b[0m";
}

/// One formatted value or column name: its text and the colour cqlsh gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// What is printed (without escapes).
    pub text: String,
    /// The colour on a colour terminal.
    pub color: Option<&'static str>,
}

impl Cell {
    /// A cell without colour.
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            color: None,
        }
    }

    /// A cell with `color`.
    pub fn colored(text: impl Into<String>, color: &'static str) -> Cell {
        Cell {
            text: text.into(),
            color: Some(color),
        }
    }

    /// Terminal columns the text occupies.
    pub fn width(&self) -> usize {
        display_width(&self.text)
    }

    /// The text, wrapped in its colour when `use_color`.
    pub fn render(&self, use_color: bool) -> String {
        match (use_color, self.color) {
            (true, Some(c)) => format!("{c}{}{}", self.text, color::RESET),
            _ => self.text.clone(),
        }
    }

    fn ljust(&self, width: usize, use_color: bool) -> String {
        let pad = width.saturating_sub(self.width());
        format!("{}{}", self.render(use_color), " ".repeat(pad))
    }

    fn rjust(&self, width: usize, use_color: bool) -> String {
        let pad = width.saturating_sub(self.width());
        format!("{}{}", " ".repeat(pad), self.render(use_color))
    }
}

/// Terminal columns `s` occupies (cqlsh's `wcwidth.wcswidth`; control characters,
/// which cqlsh never prints raw, count as one).
pub fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Column widths: the widest of each column's name and cells.
pub fn column_widths<'a>(
    header: &[Cell],
    rows: impl IntoIterator<Item = &'a [Cell]>,
) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(Cell::width).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    widths
}

/// The header line: names left-justified, joined by ` | `, right-trimmed.
pub fn header_line(header: &[Cell], widths: &[usize], use_color: bool) -> String {
    let names: Vec<String> = header
        .iter()
        .zip(widths)
        .map(|(c, &w)| c.ljust(w, use_color))
        .collect();
    format!(" {}", names.join(" | ").trim_end())
}

/// The rule under the header: `-` + dashes joined by `-+-` + `-`.
pub fn rule_line(widths: &[usize]) -> String {
    let dashes: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    format!("-{}-", dashes.join("-+-"))
}

/// One row: every cell right-justified, joined by ` | `.
pub fn row_line(row: &[Cell], widths: &[usize], use_color: bool) -> String {
    let cells: Vec<String> = row
        .iter()
        .zip(widths)
        .map(|(c, &w)| c.rjust(w, use_color))
        .collect();
    format!(" {}", cells.join(" | "))
}

/// Header, rule and rows, each line ending in `\n`, widths from these rows only
/// (cqlsh lays out each page on its own).
pub fn format_table(header: &[Cell], rows: &[Vec<Cell>], use_color: bool) -> String {
    let widths = column_widths(header, rows.iter().map(Vec::as_slice));
    let mut out = String::new();
    out.push_str(&header_line(header, &widths, use_color));
    out.push('\n');
    out.push_str(&rule_line(&widths));
    out.push('\n');
    for row in rows {
        out.push_str(&row_line(row, &widths, use_color));
        out.push('\n');
    }
    out
}

/// cqlsh's `print_formatted_result_vertically` for one page: `@ Row N` (counting
/// from `first_row_number`), a rule as wide as the longest name and the longest
/// value, ` name | value` lines, and a blank line after each row.
pub fn format_expanded(
    header: &[Cell],
    rows: &[Vec<Cell>],
    first_row_number: usize,
    use_color: bool,
) -> String {
    let name_width = header.iter().map(Cell::width).max().unwrap_or(0);
    let value_width = rows.iter().flatten().map(Cell::width).max().unwrap_or(0);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!("@ Row {}\n", first_row_number + i));
        out.push_str(&rule_line(&[name_width, value_width]));
        out.push('\n');
        for (name, value) in header.iter().zip(row) {
            out.push_str(&format!(
                " {} | {}\n",
                name.ljust(name_width, use_color),
                value.render(use_color)
            ));
        }
        out.push('\n');
    }
    out
}

/// Python's `cmd.Cmd.columnize` (which cqlsh's DESCRIBE listings and HELP use):
/// the fewest rows whose columns, two spaces apart, fit in `display_width`; items
/// fill columns top to bottom. Each line ends in `\n`; an empty list is
/// `<empty>`.
pub fn columnize(items: &[String], display_width: usize) -> String {
    let size = items.len();
    match size {
        0 => return "<empty>\n".into(),
        1 => return format!("{}\n", items[0]),
        _ => {}
    }
    let width = |i: usize| items.get(i).map_or(0, |s| display_width_of(s));
    let mut layout = (size, 1, vec![0]);
    for nrows in 1..size {
        let ncols = size.div_ceil(nrows);
        let mut colwidths = Vec::new();
        let mut total: isize = -2;
        for col in 0..ncols {
            let w = (0..nrows)
                .map(|row| row + nrows * col)
                .take_while(|&i| i < size)
                .map(width)
                .max()
                .unwrap_or(0);
            colwidths.push(w);
            total += w as isize + 2;
            if total > display_width as isize {
                break;
            }
        }
        if total <= display_width as isize {
            layout = (nrows, ncols, colwidths);
            break;
        }
    }
    let (nrows, ncols, colwidths) = layout;
    let mut out = String::new();
    for row in 0..nrows {
        let mut texts: Vec<&str> = (0..ncols)
            .map(|col| items.get(row + nrows * col).map_or("", String::as_str))
            .collect();
        while texts.last().is_some_and(|t| t.is_empty()) {
            texts.pop();
        }
        let padded: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(c, t)| {
                let w = colwidths.get(c).copied().unwrap_or(0);
                format!("{t}{}", " ".repeat(w.saturating_sub(display_width_of(t))))
            })
            .collect();
        out.push_str(&padded.join("  "));
        out.push('\n');
    }
    out
}

fn display_width_of(s: &str) -> usize {
    display_width(s)
}

/// The Python driver's exception class and summary for an error code, as cqlsh
/// shows them (`cassandra/protocol.py`'s `ErrorMessageSub` classes).
pub fn error_class(code: i32) -> (&'static str, &'static str) {
    match code {
        0x0000 => ("ServerError", "Server error"),
        0x000A => ("ProtocolError", "Protocol error"),
        0x0100 => ("AuthenticationFailed", "Bad credentials"),
        0x1000 => ("Unavailable", "Unavailable exception"),
        0x1001 => ("OverloadedErrorMessage", "Coordinator node overloaded"),
        0x1002 => (
            "IsBootstrappingErrorMessage",
            "Coordinator node is bootstrapping",
        ),
        0x1003 => ("TruncateError", "Error during truncate"),
        0x1100 => (
            "WriteTimeout",
            "Coordinator node timed out waiting for replica nodes' responses",
        ),
        0x1200 => (
            "ReadTimeout",
            "Coordinator node timed out waiting for replica nodes' responses",
        ),
        0x1300 => ("ReadFailure", "Replica(s) failed to execute read"),
        0x1400 => ("FunctionFailure", "User Defined Function failure"),
        0x1500 => ("WriteFailure", "Replica(s) failed to execute write"),
        0x1600 => (
            "CDCWriteFailure",
            "Failed to execute write due to CDC space exhaustion.",
        ),
        0x1700 => ("CASWriteUnknown", "Unknown CAS result"),
        0x2000 => ("SyntaxException", "Syntax error in CQL query"),
        0x2100 => ("Unauthorized", "Unauthorized"),
        0x2200 => ("InvalidRequest", "Invalid query"),
        0x2300 => (
            "ConfigurationException",
            "Query invalid because of configuration issue",
        ),
        0x2400 => ("AlreadyExists", "Already exists"),
        0x2500 => (
            "PreparedQueryNotFound",
            "Matching prepared statement not found on this node",
        ),
        _ => ("ErrorMessage", "Unknown error"),
    }
}

/// A server error as cqlsh prints it (one line, no newline):
/// `<Class>: Error from server: code=<4 hex digits> [<summary>] message="<message>"`.
pub fn format_server_error(code: i32, message: &str) -> String {
    let (class, summary) = error_class(code);
    format!("{class}: Error from server: code={code:04x} [{summary}] message=\"{message}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_cqlsh() {
        let header = vec![Cell::plain("k"), Cell::plain("name"), Cell::plain("v")];
        let rows = vec![
            vec![Cell::plain("1"), Cell::plain("alice"), Cell::plain("10")],
            vec![Cell::plain("2"), Cell::plain("bob"), Cell::plain("null")],
        ];
        assert_eq!(
            format_table(&header, &rows, false),
            " k | name  | v\n---+-------+------\n 1 | alice |   10\n 2 |   bob | null\n"
        );
    }

    #[test]
    fn colours_do_not_count_in_widths() {
        let header = vec![
            Cell::colored("k", color::RED),
            Cell::colored("v", color::MAGENTA),
        ];
        let rows = vec![vec![
            Cell::colored("10", color::GREEN),
            Cell::colored("x", color::YELLOW),
        ]];
        let t = format_table(&header, &rows, true);
        assert!(
            t.starts_with(" \x1b[0;1;31mk\x1b[0m  | \x1b[0;1;35mv\x1b[0m\n----+---\n"),
            "{t:?}"
        );
        assert!(
            t.ends_with(" \x1b[0;1;32m10\x1b[0m | \x1b[0;1;33mx\x1b[0m\n"),
            "{t:?}"
        );
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(display_width("日本"), 4);
        let t = format_table(
            &[Cell::plain("v")],
            &[vec![Cell::plain("日本")], vec![Cell::plain("a")]],
            false,
        );
        assert_eq!(t, " v\n------\n 日本\n    a\n");
    }

    #[test]
    fn expanded_rows() {
        let header = vec![Cell::plain("k"), Cell::plain("value")];
        let rows = vec![vec![Cell::plain("1"), Cell::plain("x")]];
        assert_eq!(
            format_expanded(&header, &rows, 1, false),
            "@ Row 1\n-------+---\n k     | 1\n value | x\n\n"
        );
    }

    #[test]
    fn columnize_like_python_cmd() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(columnize(&names(&[]), 80), "<empty>\n");
        assert_eq!(columnize(&names(&["a"]), 80), "a\n");
        assert_eq!(
            columnize(&names(&["t1", "table_two", "x"]), 80),
            "t1  table_two  x\n"
        );
        // Too wide for one row: two rows, filled column by column.
        let long: Vec<String> = (0..6).map(|i| format!("{i}{}", "x".repeat(20))).collect();
        let out = columnize(&long, 80);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.starts_with(&format!("{}  {}  {}", long[0], long[2], long[4])),
            "{out}"
        );
    }

    #[test]
    fn server_errors() {
        assert_eq!(
            format_server_error(0x2200, "unconfigured table t"),
            "InvalidRequest: Error from server: code=2200 [Invalid query] message=\"unconfigured table t\""
        );
        assert_eq!(error_class(0x2000).0, "SyntaxException");
        assert_eq!(error_class(0x2400).1, "Already exists");
    }
}
