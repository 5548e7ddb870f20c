//! Parsing the commands cqlsh handles itself (everything else goes to the node):
//! a small tokenizer and the grammar of `CONSISTENCY`, `SERIAL CONSISTENCY`,
//! `EXPAND`, `PAGING`, `SOURCE`, `COPY`, `HELP` and `SHOW`, after
//! `cqlshhandling.py`'s `cqlsh_extra_syntax_rules`.
//!
//! A command that does not parse is reported as cqlsh does: `Improper <word>
//! command.`

use sibyl_cql::protocol::Consistency;

/// A command that does not parse (cqlsh prints `Improper <word> command.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Improper;

impl std::fmt::Display for Improper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("improper command")
    }
}

impl std::error::Error for Improper {}

/// One token of a cqlsh command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A bare word or number, as written.
    Word(String),
    /// A `'...'` string, unquoted (`''` → `'`).
    Str(String),
    /// A `"..."` identifier, unquoted (`""` → `"`).
    Ident(String),
    /// Any other character: `.`, `,`, `(`, `)`, `=`, `;` ...
    Punct(char),
}

impl Tok {
    /// The word upper-cased, for keyword comparisons (`None` for other tokens).
    pub fn keyword(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn is_punct(&self, c: char) -> bool {
        *self == Tok::Punct(c)
    }
}

/// Splits a command into tokens; comments are skipped. Errors on an unterminated
/// string.
pub fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if (c == '-' && next == Some('-')) || (c == '/' && next == Some('/')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string".into()),
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            toks.push(if c == '\'' {
                Tok::Str(s)
            } else {
                Tok::Ident(s)
            });
        } else if c.is_alphanumeric() || c == '_' || c == '-' || c == '+' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '+'))
            {
                i += 1;
            }
            toks.push(Tok::Word(chars[start..i].iter().collect()));
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    while toks.last().is_some_and(|t| t.is_punct(';')) {
        toks.pop();
    }
    Ok(toks)
}

/// `CONSISTENCY [level]` and `SERIAL CONSISTENCY [level]`: `Ok(None)` shows the
/// current level.
pub fn parse_consistency(toks: &[Tok], serial: bool) -> Result<Option<Consistency>, Improper> {
    let skip = if serial { 2 } else { 1 };
    if serial && toks.get(1).and_then(Tok::keyword).as_deref() != Some("CONSISTENCY") {
        return Err(Improper);
    }
    match toks.get(skip..).unwrap_or(&[]) {
        [] => Ok(None),
        [t] => {
            let name = t.keyword().ok_or(Improper)?;
            let level = Consistency::ALL_LEVELS
                .iter()
                .copied()
                .find(|c| c.name() == name)
                .ok_or(Improper)?;
            let serial_level = matches!(level, Consistency::Serial | Consistency::LocalSerial);
            if serial && !serial_level {
                return Err(Improper);
            }
            Ok(Some(level))
        }
        _ => Err(Improper),
    }
}

/// The argument of `EXPAND`, `PAGING`, `TRACING`: nothing, ON, OFF, or (PAGING
/// only) a page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// No argument: show the state.
    Show,
    /// `ON`.
    On,
    /// `OFF`.
    Off,
    /// A number (PAGING's page size; also switches paging on).
    Value(i32),
}

/// Parses `WORD [ON|OFF|n]`.
pub fn parse_switch(toks: &[Tok], with_value: bool) -> Result<Switch, Improper> {
    match toks.get(1..).unwrap_or(&[]) {
        [] => Ok(Switch::Show),
        [t] => match t.keyword().as_deref() {
            Some("ON") => Ok(Switch::On),
            Some("OFF") => Ok(Switch::Off),
            Some(w) if with_value => w
                .parse::<i32>()
                .ok()
                .filter(|n| *n > 0)
                .map(Switch::Value)
                .ok_or(Improper),
            _ => Err(Improper),
        },
        _ => Err(Improper),
    }
}

/// `SOURCE 'file'`: the file name.
pub fn parse_source(toks: &[Tok]) -> Result<String, Improper> {
    match toks.get(1..).unwrap_or(&[]) {
        [Tok::Str(f)] => Ok(f.clone()),
        _ => Err(Improper),
    }
}

/// A COPY command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyCommand {
    /// Keyspace, if qualified.
    pub keyspace: Option<String>,
    /// Table.
    pub table: String,
    /// Columns, if listed.
    pub columns: Option<Vec<String>>,
    /// `FROM` (import) or `TO` (export).
    pub from: bool,
    /// File name, or `None` for STDIN/STDOUT.
    pub file: Option<String>,
    /// `WITH` options, names lower-cased, in order.
    pub options: Vec<(String, String)>,
}

/// A name: a bare word lower-cased (CQL folds unquoted names), a quoted one as is.
fn name(t: Option<&Tok>) -> Result<String, Improper> {
    match t {
        Some(Tok::Word(w)) => Ok(w.to_ascii_lowercase()),
        Some(Tok::Ident(s)) => Ok(s.clone()),
        _ => Err(Improper),
    }
}

/// `COPY [ks.]table [(c, ...)] FROM|TO 'file'|STDIN|STDOUT [WITH k = v [AND k = v]...]`.
pub fn parse_copy(toks: &[Tok]) -> Result<CopyCommand, Improper> {
    let mut i = 1;
    let first = name(toks.get(i))?;
    i += 1;
    let (keyspace, table) = if toks.get(i).is_some_and(|t| t.is_punct('.')) {
        let t = name(toks.get(i + 1))?;
        i += 2;
        (Some(first), t)
    } else {
        (None, first)
    };
    let mut columns = None;
    if toks.get(i).is_some_and(|t| t.is_punct('(')) {
        i += 1;
        let mut cols = Vec::new();
        loop {
            cols.push(name(toks.get(i))?);
            i += 1;
            match toks.get(i) {
                Some(t) if t.is_punct(',') => i += 1,
                Some(t) if t.is_punct(')') => {
                    i += 1;
                    break;
                }
                _ => return Err(Improper),
            }
        }
        columns = Some(cols);
    }
    let from = match toks.get(i).and_then(Tok::keyword).as_deref() {
        Some("FROM") => true,
        Some("TO") => false,
        _ => return Err(Improper),
    };
    i += 1;
    let file = match toks.get(i) {
        Some(Tok::Str(f)) => Some(f.clone()),
        Some(t) if matches!(t.keyword().as_deref(), Some("STDIN") | Some("STDOUT")) => None,
        _ => return Err(Improper),
    };
    i += 1;
    let mut options = Vec::new();
    if i < toks.len() {
        if toks.get(i).and_then(Tok::keyword).as_deref() != Some("WITH") {
            return Err(Improper);
        }
        i += 1;
        loop {
            let key = match toks.get(i) {
                Some(Tok::Word(w)) => w.to_ascii_lowercase(),
                _ => return Err(Improper),
            };
            if !toks.get(i + 1).is_some_and(|t| t.is_punct('=')) {
                return Err(Improper);
            }
            let value = match toks.get(i + 2) {
                Some(Tok::Word(w)) => w.clone(),
                Some(Tok::Str(s)) => s.clone(),
                _ => return Err(Improper),
            };
            options.push((key, value));
            i += 3;
            match toks.get(i) {
                None => break,
                Some(t) if t.keyword().as_deref() == Some("AND") => i += 1,
                _ => return Err(Improper),
            }
        }
    }
    Ok(CopyCommand {
        keyspace,
        table,
        columns,
        from,
        file,
        options,
    })
}

/// The commands HELP lists, with their help text (cqlsh's docstrings, shortened
/// to what Sibyl's cqlsh does).
pub const HELP_TOPICS: &[(&str, &str)] = &[
    ("CLEAR", "CLEAR/CLS [cqlsh only]\n\n  Clears the console.\n"),
    ("CLS", "CLEAR/CLS [cqlsh only]\n\n  Clears the console.\n"),
    (
        "CONSISTENCY",
        "CONSISTENCY [cqlsh only]\n\n   Overrides default consistency level (default level is ONE).\n\n\
CONSISTENCY <level>\n\n   Sets consistency level for future requests.\n\n   Valid consistency levels:\n\n   \
ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM, SERIAL and LOCAL_SERIAL.\n\n\
CONSISTENCY\n\n   CONSISTENCY with no arguments shows the current consistency level.\n",
    ),
    (
        "COPY",
        "COPY [cqlsh only]\n\n  COPY x FROM: Imports CSV data into a Cassandra table\n  COPY x TO: Exports data from a Cassandra table in CSV format.\n\n\
COPY <table_name> [ ( column [, ...] ) ]\n     FROM '<file_name>'\n     [ WITH <option>='value' [AND ...] ];\n\n\
COPY <table_name> [ ( column [, ...] ) ]\n     TO ( '<filename>' | STDOUT )\n     [ WITH <option>='value' [AND ...] ];\n\n\
Available COPY options and defaults:\n\n  DELIMITER=','           - character that appears between records\n  \
QUOTE='\"'               - quoting character to be used to quote fields\n  ESCAPE='\\'              - character to appear before the QUOTE char when quoted\n  \
HEADER=false            - whether to ignore the first line\n  NULL=''                 - string that represents a null value\n  \
BOOLSTYLE='True,False'  - the representation for booleans\n  MAXROWS=-1              - the maximum number of rows, -1 means no maximum\n\n\
COPY FROM only:\n\n  SKIPROWS=0              - the number of rows to skip\n  MAXPARSEERRORS=-1       - the maximum number of parsing errors, -1 means no maximum\n  \
MAXINSERTERRORS=1000    - the maximum number of insert errors, -1 means no maximum\n  TTL=-1                  - the time to live in seconds, -1 means no TTL\n\n\
COPY TO only:\n\n  PAGESIZE=1000           - the page size for fetching results\n",
    ),
    (
        "DESCRIBE",
        "DESCRIBE [cqlsh only]\n\n(DESC may be used as a shorthand.)\n\n  Outputs information about the connected cluster or its schema;\n  \
the node answers (server-side DESCRIBE, as Cassandra 4.0+):\n\n\
DESCRIBE KEYSPACES | KEYSPACE [<ks>] | TABLES | TABLE [<ks>.]<t> | TYPES | TYPE [<ks>.]<type>\n\
DESCRIBE [FULL] SCHEMA | <name>\n",
    ),
    ("EXIT", "EXIT/QUIT [cqlsh only]\n\nExits cqlsh.\n"),
    (
        "EXPAND",
        "EXPAND [cqlsh]\n\n  Enables or disables expanded (vertical) output.\n\nEXPAND ON\n\n  Enables expanded (vertical) output.\n\n\
EXPAND OFF\n\n  Disables expanded (vertical) output.\n\nEXPAND\n\n  EXPAND with no arguments shows the current value of expand setting.\n",
    ),
    (
        "HELP",
        "HELP [cqlsh only]\n\nGives information about cqlsh commands. To see available topics,\nenter \"HELP\" without any arguments. To see help on a topic,\nuse \"HELP <topic>\".\n",
    ),
    (
        "HISTORY",
        "HISTORY [cqlsh only]\n\n   Displays the most recent commands executed in cqlsh\n\nHISTORY (<n>)\n\n   If n is specified, the history display length is set to n for this session\n",
    ),
    (
        "PAGING",
        "PAGING [cqlsh]\n\n  Enables or disables query paging.\n\nPAGING ON\n\n  Enables query paging for all further queries.\n\n\
PAGING OFF\n\n  Disables paging.\n\nPAGING <n>\n\n  Enables paging with a page size of n rows.\n\n\
PAGING\n\n  PAGING with no arguments shows the current query paging status.\n",
    ),
    (
        "SERIAL",
        "SERIAL CONSISTENCY [cqlsh only]\n\n   Overrides serial consistency level (default level is SERIAL).\n\n\
SERIAL CONSISTENCY <level>\n\n   Sets consistency level for future conditional updates.\n\n   Valid consistency levels:\n\n   SERIAL, LOCAL_SERIAL.\n\n\
SERIAL CONSISTENCY\n\n   SERIAL CONSISTENCY with no arguments shows the current consistency level.\n",
    ),
    (
        "SHOW",
        "SHOW [cqlsh only]\n\n  Displays information about the current cqlsh session.\n\n\
SHOW VERSION\n\n  Shows the version of the connected node and of the protocol in use.\n\n\
SHOW HOST\n\n  Shows where cqlsh is currently connected.\n",
    ),
    (
        "SOURCE",
        "SOURCE [cqlsh only]\n\nExecutes a file containing CQL statements. Gives the output for each\nstatement in turn, if any, or any errors that occur along the way.\n\n\
Errors do NOT abort execution of the CQL source file.\n\nUsage:\n\n  SOURCE '<file>';\n\n\
The path is interpreted relative to the current working directory; '~/' is $HOME.\n\nSee also the --file option to cqlsh.\n",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).expect("tokenize")
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks("COPY ks.\"T\" (a) TO 'x.csv' WITH HEADER=true;"),
            vec![
                Tok::Word("COPY".into()),
                Tok::Word("ks".into()),
                Tok::Punct('.'),
                Tok::Ident("T".into()),
                Tok::Punct('('),
                Tok::Word("a".into()),
                Tok::Punct(')'),
                Tok::Word("TO".into()),
                Tok::Str("x.csv".into()),
                Tok::Word("WITH".into()),
                Tok::Word("HEADER".into()),
                Tok::Punct('='),
                Tok::Word("true".into()),
            ]
        );
        assert_eq!(
            toks("SOURCE 'it''s.cql'"),
            vec![Tok::Word("SOURCE".into()), Tok::Str("it's.cql".into())]
        );
        assert!(tokenize("SOURCE 'x").is_err());
    }

    #[test]
    fn consistency_and_switches() {
        assert_eq!(parse_consistency(&toks("CONSISTENCY"), false), Ok(None));
        assert_eq!(
            parse_consistency(&toks("consistency local_quorum"), false),
            Ok(Some(Consistency::LocalQuorum))
        );
        assert!(parse_consistency(&toks("CONSISTENCY FOO"), false).is_err());
        assert_eq!(
            parse_consistency(&toks("SERIAL CONSISTENCY LOCAL_SERIAL"), true),
            Ok(Some(Consistency::LocalSerial))
        );
        assert!(parse_consistency(&toks("SERIAL CONSISTENCY ONE"), true).is_err());
        assert_eq!(parse_switch(&toks("EXPAND on"), false), Ok(Switch::On));
        assert_eq!(
            parse_switch(&toks("PAGING 50"), true),
            Ok(Switch::Value(50))
        );
        assert!(parse_switch(&toks("EXPAND 50"), false).is_err());
        assert!(parse_switch(&toks("PAGING 0"), true).is_err());
    }

    #[test]
    fn copy_commands() {
        let c = parse_copy(&toks(
            "COPY ks.t (a, \"B\") FROM 'f.csv' WITH HEADER = true AND DELIMITER='|'",
        ))
        .expect("copy");
        assert_eq!(c.keyspace.as_deref(), Some("ks"));
        assert_eq!(c.table, "t");
        assert_eq!(c.columns, Some(vec!["a".to_string(), "B".to_string()]));
        assert!(c.from);
        assert_eq!(c.file.as_deref(), Some("f.csv"));
        assert_eq!(
            c.options,
            vec![
                ("header".to_string(), "true".to_string()),
                ("delimiter".to_string(), "|".to_string())
            ]
        );
        let c = parse_copy(&toks("copy T to STDOUT")).expect("copy");
        assert_eq!(
            (c.keyspace, c.table.as_str(), c.from, c.file),
            (None, "t", false, None)
        );
        assert!(parse_copy(&toks("COPY t INTO 'x'")).is_err());
        assert!(parse_copy(&toks("COPY t TO 'x' WITH HEADER")).is_err());
    }
}
