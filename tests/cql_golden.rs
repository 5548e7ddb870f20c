//! Golden CQL tests: every `tests/cql/<name>.cql` script runs against a fresh
//! in-process node and its transcript (each statement followed by what cqlsh would
//! print for it) must equal `tests/cql/<name>.result` byte for byte.
//!
//! The transcript format and the `-- @directive` comments are documented in
//! `tests/cql/README.md`. To (re)record: `UPDATE_GOLDENFILES=1 cargo test -p sibyl
//! --test cql_golden`, then READ every changed `.result` against Cassandra's
//! behaviour before committing it: the files are the specification, not a snapshot.
//!
//! One `#[test]` per script (listed in [`golden!`] below); `every_script_is_listed`
//! fails when a `.cql` file is added without its test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sibyl::clock::{Clock, ManualClock};
use sibyl::error::CqlError;
use sibyl::query::{QueryOptions, QueryProcessor, ResultMessage, Rows, Session};
use sibyl::schema::SchemaManager;
use sibyl::tools::cqlsh::table::{self, Cell};
use sibyl_cql::types::{deserialize, format_cqlsh};
use sibyl_storage::{Storage, StorageConfig};

/// 2026-01-01T00:00:00Z in microseconds: every script starts at this instant, so
/// write timestamps, `now()`-free TTLs and expiry are deterministic.
const START_MICROS: i64 = 1_767_225_600_000_000;

/// Most pages fetched for one statement before the harness gives up (a paging
/// state that never ends).
const MAX_PAGES: usize = 10_000;

fn cql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("cql")
}

// ---------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------

/// One in-process node on a directory: storage, schema and executor.
struct Node {
    storage: Arc<Storage>,
    processor: QueryProcessor,
}

impl Node {
    fn open(dir: &Path, clock: &Arc<ManualClock>) -> Node {
        let mut config = StorageConfig::new(dir.join("storage"));
        config.background = false;
        let (storage, _report) = Storage::open(config).expect("open storage");
        let storage = Arc::new(storage);
        let schema_dir = dir.join("schema");
        std::fs::create_dir_all(&schema_dir).expect("mkdir schema");
        let schema =
            Arc::new(SchemaManager::open(storage.clone(), &schema_dir).expect("open schema"));
        let clock: Arc<dyn Clock> = clock.clone();
        let processor = QueryProcessor::new(storage.clone(), schema, clock);
        Node { storage, processor }
    }

    fn execute(
        &self,
        text: &str,
        options: &QueryOptions,
        session: &mut Session,
    ) -> Result<ResultMessage, CqlError> {
        // Sent with its `;`, as cqlsh sends it.
        self.processor
            .execute_text(&format!("{text};"), options, session)
    }

    fn flush(&self) {
        self.storage.flush_all().expect("flush_all");
    }

    fn compact(&self) {
        for t in self.storage.tables() {
            t.compact_major().expect("compact_major");
        }
    }

    /// Stops the node: background work stops and the commitlog is synced. Memtables
    /// are NOT flushed, so a restart replays the commitlog like after a crash of a
    /// clean process.
    fn close(self) {
        let storage = self.storage.clone();
        drop(self.processor);
        storage.close().expect("close storage");
        drop(storage);
    }
}

// ---------------------------------------------------------------------------
// Script splitting
// ---------------------------------------------------------------------------

/// One item of a script, in order.
#[derive(Debug, PartialEq)]
enum Item {
    /// A comment line (or block) between statements, echoed as is.
    Comment(String),
    /// A `-- @name args` comment line between statements.
    Directive(String, String),
    /// A statement's original text, without its `;`.
    Statement(String),
}

/// Splits a script into comments, directives and statements. `;` ends a statement
/// unless it is inside a string ('...', "...", $$...$$) or a comment, or inside a
/// `BEGIN ... APPLY BATCH`. Statements keep their original text (comments inside a
/// statement included), so statements with syntax errors are split too.
fn split_script(src: &str) -> Vec<Item> {
    let chars: Vec<char> = src.chars().collect();
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    let at = |i: usize, s: &str| -> bool {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        let top = cur.trim().is_empty();
        if at(i, "--") || at(i, "//") {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p);
            let line: String = chars[i..end].iter().collect();
            if top {
                cur.clear();
                let line = line.trim_end().to_string();
                if let Some(d) = line.strip_prefix("-- @") {
                    let (name, args) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
                    items.push(Item::Directive(name.to_string(), args.trim().to_string()));
                } else {
                    items.push(Item::Comment(line));
                }
            } else {
                cur.push_str(&line);
            }
            i = end;
            continue;
        }
        if at(i, "/*") {
            let end = (i + 2..chars.len())
                .find(|&j| at(j, "*/"))
                .map_or(chars.len(), |j| j + 2);
            let block: String = chars[i..end].iter().collect();
            if top {
                cur.clear();
                items.push(Item::Comment(block));
            } else {
                cur.push_str(&block);
            }
            i = end;
            continue;
        }
        if c == '\'' || c == '"' {
            // Quoted string or identifier; a doubled quote is an escaped quote.
            cur.push(c);
            i += 1;
            while i < chars.len() {
                cur.push(chars[i]);
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        cur.push(c);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            continue;
        }
        if at(i, "$$") {
            let end = (i + 2..chars.len())
                .find(|&j| at(j, "$$"))
                .map_or(chars.len(), |j| j + 2);
            cur.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == ';' {
            if is_open_batch(&cur) {
                cur.push(c);
                i += 1;
                continue;
            }
            let text = cur.trim().to_string();
            if !text.is_empty() {
                items.push(Item::Statement(text));
            }
            cur.clear();
            i += 1;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    let text = cur.trim().to_string();
    if !text.is_empty() {
        items.push(Item::Statement(text));
    }
    items
}

/// True for a `BEGIN ... BATCH` text that has not reached `APPLY BATCH` yet.
fn is_open_batch(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    if words.first().map(String::as_str) != Some("BEGIN") {
        return false;
    }
    let n = words.len();
    !(n >= 2 && words[n - 2] == "APPLY" && words[n - 1] == "BATCH")
}

// ---------------------------------------------------------------------------
// Output formatting (cqlsh's)
// ---------------------------------------------------------------------------

fn format_error(e: &CqlError) -> String {
    format!(
        "{}\n",
        table::format_server_error(e.code() as i32, &e.to_string())
    )
}

/// One cell as cqlsh prints it: `null` for null, the decode error if undecodable.
fn format_cell(value: &Option<Vec<u8>>, spec: &sibyl::query::ColumnSpec) -> String {
    match value {
        None => "null".to_string(),
        Some(bytes) => match deserialize(bytes, &spec.cql_type) {
            Ok(v) => format_cqlsh(&v, &spec.cql_type),
            Err(e) => format!(
                "<undecodable {} value 0x{}: {e}>",
                spec.cql_type,
                hex(bytes)
            ),
        },
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// cqlsh's `print_formatted_result` (`sibyl::tools::cqlsh::table`, which `sibyl
/// cqlsh` prints with): headers left-justified (the header line right-trimmed),
/// values right-justified, `-+-` separators. `pages` holds the rows of each page;
/// unlike cqlsh, which lays out each page on its own, one set of widths covers all
/// pages and a `--- page break ---` line separates them. Ends with the blank line
/// cqlsh prints after the rows.
fn format_table(
    columns: &[sibyl::query::ColumnSpec],
    pages: &[Vec<Vec<String>>],
    out: &mut String,
) {
    let header: Vec<Cell> = columns
        .iter()
        .map(|c| Cell::plain(c.name.clone()))
        .collect();
    let pages: Vec<Vec<Vec<Cell>>> = pages
        .iter()
        .map(|p| {
            p.iter()
                .map(|r| r.iter().map(|c| Cell::plain(c.clone())).collect())
                .collect()
        })
        .collect();
    let widths = table::column_widths(&header, pages.iter().flatten().map(Vec::as_slice));
    let _ = writeln!(out, "{}", table::header_line(&header, &widths, false));
    let _ = writeln!(out, "{}", table::rule_line(&widths));
    for (p, page) in pages.iter().enumerate() {
        if p > 0 {
            out.push_str("--- page break ---\n");
        }
        for row in page {
            let _ = writeln!(out, "{}", table::row_line(row, &widths, false));
        }
    }
    out.push('\n');
}

fn first_word(text: &str) -> String {
    // Skip leading comments inside the statement text.
    let mut t = text.trim_start();
    loop {
        if t.starts_with("--") || t.starts_with("//") {
            t = t.find('\n').map_or("", |p| &t[p + 1..]).trim_start();
        } else if t.starts_with("/*") {
            t = t.find("*/").map_or("", |p| &t[p + 2..]).trim_start();
        } else {
            break;
        }
    }
    t.split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

// ---------------------------------------------------------------------------
// Running a script
// ---------------------------------------------------------------------------

/// Runs one script on a fresh node and returns its transcript.
fn run_script(name: &str, src: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(START_MICROS);
    let mut node = Some(Node::open(dir.path(), &clock));
    let mut session = Session::default();
    let mut page_size: Option<usize> = None;
    let mut out = String::new();

    for item in split_script(src) {
        match item {
            Item::Comment(c) => {
                out.push_str(&c);
                out.push('\n');
            }
            Item::Directive(d, args) => {
                let _ = writeln!(
                    out,
                    "-- @{d}{}{args}",
                    if args.is_empty() { "" } else { " " }
                );
                let n = node.as_ref().expect("node");
                match d.as_str() {
                    "clock" => clock.advance_seconds(parse_clock_arg(name, &args)),
                    "flush" => n.flush(),
                    "compact" => n.compact(),
                    "restart" => {
                        node.take().expect("node").close();
                        node = Some(Node::open(dir.path(), &clock));
                    }
                    "page" => {
                        page_size = match args.as_str() {
                            "off" | "0" => None,
                            s => Some(s.parse().unwrap_or_else(|_| {
                                panic!("{name}: bad @page argument {s:?} (a number or off)")
                            })),
                        }
                    }
                    other => panic!("{name}: unknown directive @{other}"),
                }
            }
            Item::Statement(text) => {
                let _ = writeln!(out, "> {text};");
                let n = node.as_ref().expect("node");
                run_statement(n, &text, page_size, &mut session, &mut out);
            }
        }
    }
    if let Some(n) = node.take() {
        n.close();
    }
    out
}

/// `+3600s`, `+90m`, `+2h`, `+1d` or a bare number of seconds.
fn parse_clock_arg(name: &str, args: &str) -> i64 {
    let s = args.trim().trim_start_matches('+');
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86_400),
        _ => (s, 1),
    };
    num.parse::<i64>()
        .unwrap_or_else(|_| panic!("{name}: bad @clock argument {args:?} (e.g. +3600s)"))
        * mult
}

fn run_statement(
    node: &Node,
    text: &str,
    page_size: Option<usize>,
    session: &mut Session,
    out: &mut String,
) {
    let mut options = QueryOptions {
        page_size,
        ..QueryOptions::default()
    };
    let mut pages: Vec<Rows> = Vec::new();
    loop {
        match node.execute(text, &options, session) {
            Err(e) => {
                if !pages.is_empty() {
                    let _ = writeln!(out, "(error on page {})", pages.len() + 1);
                }
                out.push_str(&format_error(&e));
                return;
            }
            Ok(ResultMessage::Rows(rows)) => {
                let more = rows.paging_state.clone();
                pages.push(rows);
                match more {
                    Some(state) if page_size.is_some() && pages.len() < MAX_PAGES => {
                        options.paging_state = Some(state);
                    }
                    Some(_) if page_size.is_some() => {
                        out.push_str("(gave up after too many pages)\n");
                        break;
                    }
                    _ => break,
                }
            }
            Ok(ResultMessage::Void)
            | Ok(ResultMessage::SchemaChange(_))
            | Ok(ResultMessage::SetKeyspace(_)) => {
                if !pages.is_empty() {
                    out.push_str("(a later page returned no rows result)\n");
                }
                return;
            }
        }
    }
    print_rows(text, &pages, out);
}

/// Prints a rows result the way cqlsh does: a SELECT's table followed by `(N rows)`;
/// a DESCRIBE of one element as its CREATE statements; any other statement's rows
/// (LWT `[applied]`) as a table without the count.
fn print_rows(text: &str, pages: &[Rows], out: &mut String) {
    let columns = &pages[0].columns;
    let word = first_word(text);
    let create_col = columns.iter().position(|c| c.name == "create_statement");
    if let (true, Some(i)) = (word == "DESCRIBE" || word == "DESC", create_col) {
        for row in pages.iter().flat_map(|p| &p.rows) {
            out.push('\n');
            match row.get(i).cloned().flatten() {
                Some(bytes) => out.push_str(&String::from_utf8_lossy(&bytes)),
                None => out.push_str("null"),
            }
            out.push('\n');
        }
        out.push('\n');
        return;
    }
    let formatted: Vec<Vec<Vec<String>>> = pages
        .iter()
        .map(|p| {
            p.rows
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .enumerate()
                        .map(|(i, spec)| format_cell(r.get(i).unwrap_or(&None), spec))
                        .collect()
                })
                .collect()
        })
        .collect();
    out.push('\n');
    format_table(columns, &formatted, out);
    if word == "SELECT" || word == "DESCRIBE" || word == "DESC" {
        let n: usize = pages.iter().map(|p| p.rows.len()).sum();
        let _ = writeln!(out, "({n} rows)");
        out.push('\n');
    }
    // cqlsh prints server warnings after the result.
    for w in pages.iter().flat_map(|p| &p.warnings) {
        let _ = writeln!(out, "Warnings :\n{w}\n");
    }
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

fn updating() -> bool {
    std::env::var("UPDATE_GOLDENFILES").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A short diff: the first differing line with a few lines of context each side.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let first = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = first.saturating_sub(4);
    let mut s = String::new();
    let _ = writeln!(s, "first difference at line {}:", first + 1);
    let _ = writeln!(s, "--- expected (.result)");
    for (i, l) in e.iter().enumerate().skip(from).take(first - from + 8) {
        let _ = writeln!(s, "{}{:4} {l}", if i >= first { '-' } else { ' ' }, i + 1);
    }
    let _ = writeln!(s, "+++ actual");
    for (i, l) in a.iter().enumerate().skip(from).take(first - from + 8) {
        let _ = writeln!(s, "{}{:4} {l}", if i >= first { '+' } else { ' ' }, i + 1);
    }
    s
}

fn check(name: &str) {
    let dir = cql_dir();
    let script = dir.join(format!("{name}.cql"));
    let golden = dir.join(format!("{name}.result"));
    let src = std::fs::read_to_string(&script)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", script.display()));
    let actual = run_script(name, &src);
    if updating() {
        std::fs::write(&golden, &actual).expect("write .result");
        return;
    }
    let expected = match std::fs::read_to_string(&golden) {
        Ok(s) => s,
        Err(_) => panic!(
            "{name}: {} is missing; record it with UPDATE_GOLDENFILES=1 and review it.\n\
             actual transcript:\n{actual}",
            golden.display()
        ),
    };
    if expected != actual {
        panic!(
            "{name}: transcript differs from {}\n{}\n(run with UPDATE_GOLDENFILES=1 to re-record, then review the diff)",
            golden.display(),
            diff(&expected, &actual)
        );
    }
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
        const SCRIPTS: &[&str] = &[$(stringify!($name)),*];
    };
}

golden!(
    // Keep sorted; every tests/cql/*.cql must be listed.
    aggregates,
    allow_filtering,
    batch,
    blob_functions,
    clustering_desc,
    clustering_slices,
    collection_frozen,
    collection_list,
    collection_map,
    collection_set,
    collection_ttl,
    compact_deletes,
    create_keyspace,
    create_table_errors,
    ddl_alter_table,
    ddl_drop,
    delete_cells,
    delete_collection_elements,
    delete_partition,
    delete_range,
    delete_row,
    describe_keyspace,
    describe_table,
    describe_type,
    distinct,
    distinct_static_tombstone,
    err_already_exists,
    err_invalid_literal,
    err_missing_key,
    err_no_keyspace,
    err_syntax,
    err_undefined_column,
    err_wrong_values,
    flush_restart,
    group_by,
    in_relations,
    insert_json,
    insert_select,
    limits,
    lwt_insert,
    lwt_static,
    lwt_update_delete,
    multi_column_relations,
    null_and_unset,
    paging,
    paging_statics,
    select_json,
    slice_exclusive_start,
    static_columns,
    system_schema,
    timestamps,
    token_ranges,
    truncate,
    ttl_expiry,
    ttl_row_marker,
    tuples,
    type_blob_bool_inet,
    type_date_time,
    type_decimal_varint,
    type_duration,
    type_floats,
    type_integers,
    type_text_ascii,
    type_timestamp,
    type_uuid_timeuuid,
    udt,
    udt_frozen,
    update_upsert,
    use_keyspace,
    writetime_ttl,
);

/// Every `.cql` file has a test above (and every test a file).
#[test]
fn every_script_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(cql_dir())
        .expect("read tests/cql")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "cql" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SCRIPTS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/cql/*.cql and the golden!() list differ"
    );
}

/// The splitter keeps strings, comments and batches intact.
#[test]
fn splitter() {
    let items = split_script(
        "-- hello\n-- @flush\nSELECT 'a;b' FROM t; /* x; */\nBEGIN BATCH INSERT INTO t (k) VALUES (1); APPLY BATCH;\nSELEC \"q;\" -- c;\n;",
    );
    assert_eq!(
        items,
        vec![
            Item::Comment("-- hello".into()),
            Item::Directive("flush".into(), "".into()),
            Item::Statement("SELECT 'a;b' FROM t".into()),
            Item::Comment("/* x; */".into()),
            Item::Statement("BEGIN BATCH INSERT INTO t (k) VALUES (1); APPLY BATCH".into()),
            Item::Statement("SELEC \"q;\" -- c;".into()),
        ]
    );
}

/// Development aid, not part of the suite: runs every `tests/cql/pending/` script and
/// writes its transcript to `target/tmp/pending/<name>.actual` for diffing against the
/// recorded Cassandra output (`diff tests/cql/pending/x.result target/tmp/pending/x.actual`).
#[test]
#[ignore = "development aid: cargo test --test cql_golden pending -- --ignored"]
fn pending_transcripts() {
    let pending = cql_dir().join("pending");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pending");
    std::fs::create_dir_all(&out).expect("create output dir");
    for e in std::fs::read_dir(&pending).expect("read pending") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "cql") {
            continue;
        }
        let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&p).expect("read script");
        let actual = run_script(&name, &src);
        let expected = std::fs::read_to_string(p.with_extension("result")).unwrap_or_default();
        let verdict = if actual == expected {
            "same"
        } else {
            "differs"
        };
        println!("{name}: {verdict}");
        std::fs::write(out.join(format!("{name}.actual")), actual).expect("write");
    }
}
