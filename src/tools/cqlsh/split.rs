//! Where statements end, as cqlsh decides it (`cqlhandling.cql_split_statements`
//! and `cqlshhandling.my_commands_ending_with_newline`).
//!
//! * `;` ends a statement unless it is inside a string (`'...'` with `''` for a
//!   quote, `"..."` identifiers, `$$...$$`), a comment (`-- ...`, `// ...` to the
//!   end of the line, `/* ... */`), or a `BEGIN ... BATCH` that has not reached
//!   `APPLY BATCH` yet.
//! * cqlsh's own commands that take no CQL (`HELP`, `CONSISTENCY`, `DESCRIBE`,
//!   `EXPAND`, `PAGING`, `EXIT`, ...; [`ENDS_WITH_NEWLINE`]) also end at a newline.
//! * Text made only of comments and whitespace is no statement.
//!
//! cqlsh runs nothing until the input so far ends complete: `SELECT 1; SELECT` waits
//! for the rest of the second statement and then runs both. [`split`] answers
//! either every statement of a complete input, or [`Split::Incomplete`].

/// The cqlsh commands a newline ends, `;` or not.
pub const ENDS_WITH_NEWLINE: &[&str] = &[
    "help",
    "?",
    "consistency",
    "serial",
    "describe",
    "desc",
    "show",
    "source",
    "capture",
    "login",
    "debug",
    "tracing",
    "expand",
    "paging",
    "exit",
    "quit",
    "clear",
    "cls",
    "history",
];

/// The outcome of [`split`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// Every statement of the input, in order, each with its `;` if it had one.
    Complete(Vec<String>),
    /// The input ends inside a statement, string or comment.
    Incomplete,
}

/// The first word of a statement, lower-cased, after leading whitespace and
/// comments (`?` counts as a word).
pub fn first_word(text: &str) -> String {
    let t = skip_comments(text);
    if t.starts_with('?') {
        return "?".into();
    }
    t.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_ascii_lowercase()
}

fn skip_comments(text: &str) -> &str {
    let mut t = text.trim_start();
    loop {
        if t.starts_with("--") || t.starts_with("//") {
            t = t.find('\n').map_or("", |p| &t[p + 1..]).trim_start();
        } else if t.starts_with("/*") {
            t = t.find("*/").map_or("", |p| &t[p + 2..]).trim_start();
        } else {
            return t;
        }
    }
}

/// Whether `text` holds nothing but whitespace and comments.
fn is_blank(text: &str) -> bool {
    skip_comments(text).is_empty()
}

/// True for a `BEGIN ... BATCH` text that has not reached `APPLY BATCH` yet.
fn is_open_batch(text: &str) -> bool {
    let t = skip_comments(text);
    let words: Vec<String> = t
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    if words.first().map(String::as_str) != Some("BEGIN") {
        return false;
    }
    let n = words.len();
    !(n >= 2 && words[n - 2] == "APPLY" && words[n - 1] == "BATCH")
}

/// Splits `input` (the lines typed so far, each ending in `\n`) into statements.
pub fn split(input: &str) -> Split {
    let chars: Vec<char> = input.chars().collect();
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if at(i, "--") || at(i, "//") {
            let end = (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len());
            cur.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if at(i, "/*") {
            match (i + 2..chars.len()).find(|&j| at(j, "*/")) {
                Some(j) => {
                    cur.extend(&chars[i..j + 2]);
                    i = j + 2;
                    continue;
                }
                None => return Split::Incomplete,
            }
        }
        if at(i, "$$") {
            match (i + 2..chars.len()).find(|&j| at(j, "$$")) {
                Some(j) => {
                    cur.extend(&chars[i..j + 2]);
                    i = j + 2;
                    continue;
                }
                None => return Split::Incomplete,
            }
        }
        if c == '\'' || c == '"' {
            // A doubled quote inside is an escaped quote.
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Split::Incomplete,
                    Some(&q) if q == c => {
                        if chars.get(j + 1) == Some(&c) {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    Some(_) => j += 1,
                }
            }
            cur.extend(&chars[i..=j]);
            i = j + 1;
            continue;
        }
        if c == ';' && !is_open_batch(&cur) {
            cur.push(';');
            if !is_blank(&cur[..cur.len() - 1]) {
                out.push(cur.trim().to_string());
            }
            cur.clear();
            i += 1;
            continue;
        }
        if c == '\n' && ENDS_WITH_NEWLINE.contains(&first_word(&cur).as_str()) {
            out.push(cur.trim().to_string());
            cur.clear();
            i += 1;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    if is_blank(&cur) {
        Split::Complete(out)
    } else {
        Split::Incomplete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(s: &str) -> Vec<String> {
        match split(s) {
            Split::Complete(v) => v,
            Split::Incomplete => panic!("incomplete: {s:?}"),
        }
    }

    #[test]
    fn semicolons_end_statements() {
        assert_eq!(complete("SELECT 1;\n"), vec!["SELECT 1;"]);
        assert_eq!(
            complete("SELECT *\nFROM t\n;\n"),
            vec!["SELECT *\nFROM t\n;"]
        );
        assert_eq!(complete("a; b;\n"), vec!["a;", "b;"]);
        assert_eq!(split("SELECT *\nFROM t\n"), Split::Incomplete);
        assert_eq!(split("a; b\n"), Split::Incomplete);
        assert_eq!(complete(";;\n"), Vec::<String>::new());
    }

    #[test]
    fn strings_and_comments_hide_semicolons() {
        assert_eq!(complete("INSERT 'a;''b';\n"), vec!["INSERT 'a;''b';"]);
        assert_eq!(split("INSERT 'a;\n"), Split::Incomplete);
        assert_eq!(complete("x $$;$$;\n"), vec!["x $$;$$;"]);
        assert_eq!(
            complete("-- a; b\nSELECT 1; -- c;\n"),
            vec!["-- a; b\nSELECT 1;"]
        );
        assert_eq!(split("/* ; \n"), Split::Incomplete);
        assert_eq!(complete("/* ; */\n"), Vec::<String>::new());
        assert_eq!(
            complete("SELECT \"a;b\" FROM t;\n"),
            vec!["SELECT \"a;b\" FROM t;"]
        );
    }

    #[test]
    fn batches_end_at_apply_batch() {
        let b = "BEGIN BATCH\nINSERT INTO t (k) VALUES (1);\nINSERT INTO t (k) VALUES (2);\n";
        assert_eq!(split(b), Split::Incomplete);
        let full = format!("{b}APPLY BATCH;\n");
        assert_eq!(complete(&full).len(), 1);
    }

    #[test]
    fn shell_commands_end_at_newline() {
        assert_eq!(complete("EXPAND ON\n"), vec!["EXPAND ON"]);
        assert_eq!(
            complete("describe tables\nSELECT 1;\n"),
            vec!["describe tables", "SELECT 1;"]
        );
        assert_eq!(complete("exit\n"), vec!["exit"]);
        assert_eq!(complete("HELP;\n"), vec!["HELP;"]);
        assert_eq!(first_word("  -- c\n  Select *"), "select");
        assert_eq!(first_word("?"), "?");
    }
}
