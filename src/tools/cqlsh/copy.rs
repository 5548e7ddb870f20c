//! `COPY table [(columns)] TO|FROM 'file.csv' [WITH option = value [AND ...]]`:
//! tables to CSV and back, after cqlsh's `copyutil.py`.
//!
//! **TO** pages through `SELECT columns FROM ks.table` ([`DEFAULT_PAGE_SIZE`]
//! rows a page, `PAGESIZE`) and writes one CSV record per row: values as cqlsh
//! prints them (`0x00ff`, `2024-01-02 03:04:05.000000+0000`, `['a', 'b']`,
//! `{f: 1}`), except that text is written as is (cqlsh escapes newlines and
//! backslashes in text, which then do not survive the trip back; RFC 4180
//! quoting carries them instead), booleans per `BOOLSTYLE`, floats and doubles
//! with `FLOATPRECISION`/`DOUBLEPRECISION` significant digits (5 and 12, as
//! cqlsh: a float with more digits does not survive the trip), nulls as the
//! `NULL` string (empty by default).
//!
//! **FROM** prepares `INSERT INTO ks.table (columns) VALUES (?, ...)` and runs it
//! for each record with up to [`IN_FLIGHT`] requests outstanding on the one
//! connection. Each field is parsed for its column's type: text as is, every other
//! type from the text COPY TO writes (collections, tuples and UDTs in cqlsh's
//! literal syntax, with `'...'` strings inside). A field equal to the `NULL`
//! string is null — so with the default `NULL=''` an empty text value comes
//! back as null, as in cqlsh; choose e.g. `NULL='NULL'` to keep them apart.
//! Failed inserts are retried (`MAXATTEMPTS`) unless the node rejected the
//! row as invalid; rows that cannot be parsed or inserted are reported and
//! skipped, up to `MAXPARSEERRORS` / `MAXINSERTERRORS`.
//!
//! CSV is RFC 4180 (the `csv` crate): fields holding the delimiter, the quote or
//! a line break are quoted, quotes doubled. `ESCAPE`, when given and different
//! from `QUOTE`, escapes quotes instead.
//!
//! A progress bar with rows/s goes to standard error when it is a terminal.
//!
//! **What not** (cqlsh options that are refused): `DATETIMEFORMAT`,
//! `DECIMALSEP`, `THOUSANDSSEP`, `BEGINTOKEN`/`ENDTOKEN`, `MAXOUTPUTSIZE`,
//! `ENCODING` other than utf8, `ERRFILE`, `SKIPCOLS`, `CONFIGFILE`, `RATEFILE`,
//! and `STDIN`. The tuning options of cqlsh's worker processes (`NUMPROCESSES`,
//! `CHUNKSIZE`, `INGESTRATE`, `MINBATCHSIZE`, `MAXBATCHSIZE`, `MAXREQUESTS`,
//! `PAGETIMEOUT`, `REPORTFREQUENCY`, `PREPAREDSTATEMENTS`) are accepted and
//! ignored: there is one process and one connection.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sibyl_cql::protocol::{ColumnSpec, Consistency, ErrorKind, QueryParameters, ResultBody};
use sibyl_cql::types::format::format_cqlsh_float;
use sibyl_cql::types::{
    deserialize, format_cqlsh, serialize, value_from_string, CqlType, CqlValue,
};
use tokio::task::JoinSet;

use super::commands::CopyCommand;
use super::shell::protect_name;
use crate::client::{Client, ClientError};

/// COPY TO's page size (cqlsh's `PAGESIZE` default).
pub const DEFAULT_PAGE_SIZE: i32 = 1000;

/// INSERTs outstanding at once during COPY FROM: enough to hide the round trip on
/// one connection, few enough not to flood a single node (cqlsh's default is
/// up to 16 processes each with a handful of batches in flight).
pub const IN_FLIGHT: usize = 32;

/// cqlsh's `MAXATTEMPTS` default: tries per row before it counts as failed.
const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// cqlsh's `MAXINSERTERRORS` default.
const DEFAULT_MAX_INSERT_ERRORS: i64 = 1000;

/// Pause before retrying a failed insert (cqlsh backs off exponentially from a
/// similar start).
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Rows between progress bar updates (the bar redraws at most 20 times a second
/// anyway; this bounds the bookkeeping).
const PROGRESS_EVERY_ROWS: u64 = 1000;

/// Errors shown individually before the rest are only counted.
const ERRORS_SHOWN: usize = 10;

/// What COPY needs from the shell.
pub struct CopyContext {
    /// The connection.
    pub client: Client,
    /// The session keyspace (for an unqualified table).
    pub keyspace: Option<String>,
    /// The shell's consistency level.
    pub consistency: Consistency,
}

/// Why COPY failed.
pub enum Failure {
    /// A request failed (printed the way cqlsh prints request errors).
    Client(ClientError),
    /// Anything else, printed as is.
    Other(String),
}

/// What COPY reports.
pub struct CopyOutcome {
    /// Lines for standard output (the summary).
    pub report: String,
    /// Errors for standard error; any makes the statement count as failed.
    pub errors: Vec<Failure>,
}

/// Parsed WITH options.
struct Options {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    header: bool,
    null: String,
    bool_true: String,
    bool_false: String,
    max_rows: i64,
    skip_rows: i64,
    max_parse_errors: i64,
    max_insert_errors: i64,
    max_attempts: u32,
    ttl: i64,
    page_size: i32,
    float_precision: usize,
    double_precision: usize,
}

/// Options cqlsh's worker processes use, meaningless with one connection.
const IGNORED: &[&str] = &[
    "numprocesses",
    "chunksize",
    "ingestrate",
    "minbatchsize",
    "maxbatchsize",
    "maxrequests",
    "pagetimeout",
    "reportfrequency",
    "preparedstatements",
];

/// cqlsh options this COPY does not implement.
const UNSUPPORTED: &[&str] = &[
    "datetimeformat",
    "decimalsep",
    "thousandssep",
    "begintoken",
    "endtoken",
    "maxoutputsize",
    "errfile",
    "skipcols",
    "configfile",
    "ratefile",
];

fn single_byte(name: &str, v: &str) -> Result<u8, String> {
    match v.as_bytes() {
        [b] => Ok(*b),
        _ => Err(format!(
            "{} must be a single ASCII character, got '{v}'",
            name.to_ascii_uppercase()
        )),
    }
}

fn int(name: &str, v: &str) -> Result<i64, String> {
    v.trim().parse().map_err(|_| {
        format!(
            "Invalid value for {}: '{v}' is not an integer",
            name.to_ascii_uppercase()
        )
    })
}

fn boolean(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on")
}

impl Options {
    fn parse(opts: &[(String, String)], from: bool) -> Result<Options, String> {
        let mut o = Options {
            delimiter: b',',
            quote: b'"',
            escape: None,
            header: false,
            null: String::new(),
            bool_true: "True".into(),
            bool_false: "False".into(),
            max_rows: -1,
            skip_rows: 0,
            max_parse_errors: -1,
            max_insert_errors: DEFAULT_MAX_INSERT_ERRORS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            ttl: -1,
            page_size: DEFAULT_PAGE_SIZE,
            float_precision: sibyl_cql::types::format::CQLSH_FLOAT_PRECISION,
            double_precision: sibyl_cql::types::format::CQLSH_DOUBLE_PRECISION,
        };
        let direction = if from { "FROM" } else { "TO" };
        let mut unknown = Vec::new();
        let mut escape = None;
        for (k, v) in opts {
            match (k.as_str(), from) {
                ("delimiter", _) => o.delimiter = single_byte(k, v)?,
                ("quote", _) => o.quote = single_byte(k, v)?,
                ("escape", _) => escape = Some(single_byte(k, v)?),
                ("header", _) => o.header = boolean(v),
                ("null", _) => o.null = v.clone(),
                ("boolstyle", _) => {
                    let (t, f) = v
                        .split_once(',')
                        .ok_or_else(|| format!("Invalid boolean styles {v}"))?;
                    o.bool_true = t.trim().to_string();
                    o.bool_false = f.trim().to_string();
                }
                ("maxrows", _) => o.max_rows = int(k, v)?,
                ("maxattempts", _) => o.max_attempts = int(k, v)?.clamp(1, 100) as u32,
                ("skiprows", true) => o.skip_rows = int(k, v)?,
                ("maxparseerrors", true) => o.max_parse_errors = int(k, v)?,
                ("maxinserterrors", true) => o.max_insert_errors = int(k, v)?,
                ("ttl", true) => o.ttl = int(k, v)?,
                ("pagesize", false) => {
                    o.page_size = i32::try_from(int(k, v)?)
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("Invalid PAGESIZE {v}"))?
                }
                ("floatprecision", false) => o.float_precision = int(k, v)?.clamp(1, 30) as usize,
                ("doubleprecision", false) => o.double_precision = int(k, v)?.clamp(1, 30) as usize,
                ("encoding", false)
                    if v.eq_ignore_ascii_case("utf8") || v.eq_ignore_ascii_case("utf-8") => {}
                (name, _) if IGNORED.contains(&name) => {}
                (name, _) if UNSUPPORTED.contains(&name) || name == "encoding" => {
                    return Err(format!(
                        "COPY option {} is not supported by this cqlsh",
                        name.to_ascii_uppercase()
                    ))
                }
                (name, _) => unknown.push(name.to_string()),
            }
        }
        if !unknown.is_empty() {
            return Err(format!(
                "Unrecognized COPY {direction} options: {}",
                unknown.join(", ")
            ));
        }
        // RFC 4180 (quotes doubled) unless a distinct escape character is asked for.
        o.escape = escape.filter(|e| *e != o.quote);
        Ok(o)
    }
}

/// cqlsh's `describe_interval`: `1 minute and 2.345 seconds`.
pub fn describe_interval(seconds: f64) -> String {
    let mut rest = seconds;
    let mut parts = Vec::new();
    for (len, unit) in [(86_400.0, "day"), (3600.0, "hour"), (60.0, "minute")] {
        let n = (rest / len).floor();
        if n > 0.0 {
            parts.push(format!("{n} {unit}{}", if n > 1.0 { "s" } else { "" }));
        }
        rest -= n * len;
    }
    let words = format!("{rest:.3} seconds");
    match parts.len() {
        0 => words,
        1 => format!("{} and {words}", parts[0]),
        _ => format!("{}, and {words}", parts.join(", ")),
    }
}

fn progress_bar(len: Option<u64>) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if len.is_some() {
        "{bar:30} {percent:>3}% {msg}"
    } else {
        "{spinner} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// cqlsh's progress line.
fn rate_message(rows: u64, start: Instant, last: &mut (Instant, u64)) -> String {
    let now = Instant::now();
    let avg = rows as f64 / now.duration_since(start).as_secs_f64().max(1e-3);
    let dt = now.duration_since(last.0).as_secs_f64();
    let rate = if dt > 0.0 {
        (rows - last.1) as f64 / dt
    } else {
        avg
    };
    *last = (now, rows);
    format!("Processed: {rows} rows; Rate: {rate:7.0} rows/s; Avg. rate: {avg:7.0} rows/s")
}

/// Runs a COPY command.
pub async fn run_copy(ctx: CopyContext, cmd: CopyCommand) -> CopyOutcome {
    match run(&ctx, &cmd).await {
        Ok(o) => o,
        Err(e) => CopyOutcome {
            report: String::new(),
            errors: vec![e],
        },
    }
}

async fn run(ctx: &CopyContext, cmd: &CopyCommand) -> Result<CopyOutcome, Failure> {
    let opts = Options::parse(&cmd.options, cmd.from).map_err(Failure::Other)?;
    let ks = cmd
        .keyspace
        .clone()
        .or_else(|| ctx.keyspace.clone())
        .ok_or_else(|| Failure::Other("Not in any keyspace.".into()))?;
    let qualified = format!("{}.{}", protect_name(&ks), protect_name(&cmd.table));
    let columns: Vec<String> = match &cmd.columns {
        Some(c) => c.clone(),
        None => {
            let p = ctx
                .client
                .prepare(&format!("SELECT * FROM {qualified}"))
                .await
                .map_err(Failure::Client)?;
            p.prepared
                .result_metadata
                .columns
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.name)
                .collect()
        }
    };
    let column_list = columns
        .iter()
        .map(|c| protect_name(c))
        .collect::<Vec<_>>()
        .join(", ");
    let announce = cmd.from || cmd.file.is_some();
    if announce {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(
            o,
            "\nStarting copy of {ks}.{} with columns [{}].",
            cmd.table,
            columns.join(", ")
        );
        let _ = o.flush();
    }
    if cmd.from {
        copy_from(ctx, cmd, &opts, &qualified, &column_list).await
    } else {
        copy_to(ctx, cmd, &opts, &qualified, &column_list).await
    }
}

// ----------------------------------------------------------------------
// COPY TO
// ----------------------------------------------------------------------

async fn copy_to(
    ctx: &CopyContext,
    cmd: &CopyCommand,
    opts: &Options,
    qualified: &str,
    column_list: &str,
) -> Result<CopyOutcome, Failure> {
    let start = Instant::now();
    let sink: Box<dyn Write> = match &cmd.file {
        Some(f) => {
            let path = super::shell::expand_user(f);
            Box::new(
                File::create(&path)
                    .map_err(|e| Failure::Other(format!("Can't open '{}': {e}", path.display())))?,
            )
        }
        None => Box::new(std::io::stdout()),
    };
    let mut w = csv::WriterBuilder::new()
        .delimiter(opts.delimiter)
        .quote(opts.quote)
        .double_quote(opts.escape.is_none())
        .escape(opts.escape.unwrap_or(b'\\'))
        .from_writer(std::io::BufWriter::new(sink));
    let query = format!("SELECT {column_list} FROM {qualified}");
    let mut params = QueryParameters::new(ctx.consistency);
    params.page_size = Some(opts.page_size);
    let bar = if cmd.file.is_some() {
        progress_bar(None)
    } else {
        ProgressBar::hidden()
    };
    let mut last = (start, 0u64);
    let mut rows_out: u64 = 0;
    let mut header_done = !opts.header;
    let io_err = |e: csv::Error| Failure::Other(format!("Error writing CSV: {e}"));
    'pages: loop {
        let reply = ctx
            .client
            .query(&query, params.clone())
            .await
            .map_err(Failure::Client)?;
        let ResultBody::Rows(mut page) = reply.result else {
            return Err(Failure::Other(
                "COPY TO: the SELECT returned no rows result".into(),
            ));
        };
        let specs: Vec<ColumnSpec> = page.metadata.columns.clone().unwrap_or_default();
        if !header_done {
            w.write_record(specs.iter().map(|c| c.name.as_str()))
                .map_err(io_err)?;
            header_done = true;
        }
        for row in &page.rows {
            if opts.max_rows >= 0 && rows_out >= opts.max_rows as u64 {
                break 'pages;
            }
            let fields: Vec<String> = specs
                .iter()
                .enumerate()
                .map(|(i, s)| opts.export(row.get(i).and_then(|v| v.as_deref()), &s.cql_type))
                .collect();
            w.write_record(&fields).map_err(io_err)?;
            rows_out += 1;
            if rows_out.is_multiple_of(PROGRESS_EVERY_ROWS) {
                bar.set_message(rate_message(rows_out, start, &mut last));
                bar.tick();
            }
        }
        match page.metadata.paging_state.take() {
            Some(s) => params.paging_state = Some(s),
            None => break,
        }
    }
    w.flush()
        .map_err(|e| Failure::Other(format!("Error writing CSV: {e}")))?;
    drop(w);
    bar.finish_and_clear();
    let report = if cmd.file.is_some() {
        format!(
            "{}\n{rows_out} rows exported to 1 files in {}.\n",
            rate_message(rows_out, start, &mut last),
            describe_interval(start.elapsed().as_secs_f64())
        )
    } else {
        String::new()
    };
    Ok(CopyOutcome {
        report,
        errors: Vec::new(),
    })
}

impl Options {
    /// One cell as COPY TO writes it.
    fn export(&self, cell: Option<&[u8]>, ty: &CqlType) -> String {
        let Some(bytes) = cell else {
            return self.null.clone();
        };
        let value = match deserialize(bytes, ty) {
            Ok(v) => v,
            Err(_) => return super::format::hex(bytes),
        };
        match value {
            CqlValue::Text(s) | CqlValue::Ascii(s) => s,
            CqlValue::Boolean(b) => {
                if b {
                    self.bool_true.clone()
                } else {
                    self.bool_false.clone()
                }
            }
            CqlValue::Float(f) => format_cqlsh_float(f64::from(f), self.float_precision),
            CqlValue::Double(f) => format_cqlsh_float(f, self.double_precision),
            v => format_cqlsh(&v, ty),
        }
    }
}

// ----------------------------------------------------------------------
// COPY FROM
// ----------------------------------------------------------------------

struct InsertResult {
    line: u64,
    outcome: Result<(), ClientError>,
}

async fn insert_with_retries(
    client: Client,
    stmt: std::sync::Arc<crate::client::PreparedStatement>,
    values: Vec<Option<Vec<u8>>>,
    consistency: Consistency,
    attempts: u32,
    line: u64,
) -> InsertResult {
    let mut tries = 0;
    loop {
        tries += 1;
        let r = client.execute(&stmt, values.clone(), consistency).await;
        match r {
            Ok(_) => {
                return InsertResult {
                    line,
                    outcome: Ok(()),
                }
            }
            Err(e) if tries < attempts && retryable(&e) => {
                tokio::time::sleep(RETRY_BACKOFF * tries).await;
            }
            Err(e) => {
                return InsertResult {
                    line,
                    outcome: Err(e),
                }
            }
        }
    }
}

/// Whether trying the same insert again may succeed (timeouts and overload, not
/// an invalid row).
fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Server(b) => matches!(
            b.kind,
            ErrorKind::Unavailable { .. }
                | ErrorKind::Overloaded
                | ErrorKind::IsBootstrapping
                | ErrorKind::WriteTimeout { .. }
                | ErrorKind::WriteFailure { .. }
                | ErrorKind::Server
        ),
        ClientError::RequestTimeout(_) => true,
        _ => false,
    }
}

async fn copy_from(
    ctx: &CopyContext,
    cmd: &CopyCommand,
    opts: &Options,
    qualified: &str,
    column_list: &str,
) -> Result<CopyOutcome, Failure> {
    let start = Instant::now();
    let Some(file) = &cmd.file else {
        return Err(Failure::Other(
            "COPY FROM STDIN is not supported by this cqlsh; use a file".into(),
        ));
    };
    let path = super::shell::expand_user(file);
    let f = File::open(&path)
        .map_err(|e| Failure::Other(format!("Can't open '{}': {e}", path.display())))?;
    let file_len = f.metadata().map(|m| m.len()).ok();
    let marks = vec!["?"; column_list.split(", ").count()].join(", ");
    let mut insert = format!("INSERT INTO {qualified} ({column_list}) VALUES ({marks})");
    if opts.ttl >= 0 {
        insert.push_str(&format!(" USING TTL {}", opts.ttl));
    }
    let stmt = std::sync::Arc::new(ctx.client.prepare(&insert).await.map_err(Failure::Client)?);
    let specs: Vec<ColumnSpec> = stmt.bind_columns().to_vec();
    let pk: Vec<usize> = stmt
        .prepared
        .metadata
        .pk_indices
        .iter()
        .map(|&i| usize::from(i))
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(opts.delimiter)
        .quote(opts.quote)
        .double_quote(opts.escape.is_none())
        .escape(opts.escape)
        .from_reader(std::io::BufReader::new(f));
    let bar = progress_bar(file_len);
    let mut last = (start, 0u64);
    let mut in_flight: JoinSet<InsertResult> = JoinSet::new();
    let mut errors: Vec<String> = Vec::new();
    let (mut parse_errors, mut insert_errors) = (0i64, 0i64);
    let (mut imported, mut seen, mut skipped_rows) = (0u64, 0u64, 0i64);
    let mut record = csv::StringRecord::new();
    let mut first = true;
    let mut aborted: Option<String> = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(format!("Failed to read {}: {e}", path.display()));
                aborted = Some("the file could not be read to the end".into());
                break;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if std::mem::take(&mut first) && opts.header {
            continue;
        }
        if skipped_rows < opts.skip_rows {
            skipped_rows += 1;
            continue;
        }
        if opts.max_rows >= 0 && seen >= opts.max_rows as u64 {
            break;
        }
        seen += 1;
        match parse_record(&record, &specs, &pk, opts) {
            Ok(values) => {
                if in_flight.len() >= IN_FLIGHT {
                    if let Some(Ok(r)) = in_flight.join_next().await {
                        tally(r, &mut imported, &mut insert_errors, &mut errors);
                    }
                }
                in_flight.spawn(insert_with_retries(
                    ctx.client.clone(),
                    stmt.clone(),
                    values,
                    ctx.consistency,
                    opts.max_attempts,
                    line,
                ));
            }
            Err(e) => {
                parse_errors += 1;
                errors.push(format!("Failed to import 1 rows (line {line}): ParseError - {e},  given up without retries"));
            }
        }
        if opts.max_parse_errors >= 0 && parse_errors > opts.max_parse_errors {
            aborted = Some(format!(
                "Exceeded maximum number of parse errors {}",
                opts.max_parse_errors
            ));
            break;
        }
        if opts.max_insert_errors >= 0 && insert_errors > opts.max_insert_errors {
            aborted = Some(format!(
                "Exceeded maximum number of insert errors {}",
                opts.max_insert_errors
            ));
            break;
        }
        if seen.is_multiple_of(PROGRESS_EVERY_ROWS) {
            bar.set_position(record.position().map_or(0, |p| p.byte()));
            bar.set_message(rate_message(imported, start, &mut last));
        }
    }
    while let Some(r) = in_flight.join_next().await {
        if let Ok(r) = r {
            tally(r, &mut imported, &mut insert_errors, &mut errors);
        }
    }
    bar.finish_and_clear();
    let mut failures: Vec<Failure> = Vec::new();
    let shown = errors.len().min(ERRORS_SHOWN);
    failures.extend(errors.drain(..shown).map(Failure::Other));
    if !errors.is_empty() {
        failures.push(Failure::Other(format!(
            "{} more errors suppressed.",
            errors.len()
        )));
    }
    if let Some(why) = aborted {
        failures.push(Failure::Other(why));
    }
    let report = format!(
        "{}\n{imported} rows imported from 1 files in {} ({} skipped).\n",
        rate_message(imported, start, &mut last),
        describe_interval(start.elapsed().as_secs_f64()),
        parse_errors + insert_errors
    );
    Ok(CopyOutcome {
        report,
        errors: failures,
    })
}

fn tally(r: InsertResult, imported: &mut u64, insert_errors: &mut i64, errors: &mut Vec<String>) {
    match r.outcome {
        Ok(()) => *imported += 1,
        Err(e) => {
            *insert_errors += 1;
            let text = match &e {
                ClientError::Server(b) => super::shell::server_error_text(b),
                other => other.to_string(),
            };
            errors.push(format!("Failed to import 1 rows (line {}): {text}", r.line));
        }
    }
}

/// One CSV record to encoded bind values.
fn parse_record(
    record: &csv::StringRecord,
    specs: &[ColumnSpec],
    pk: &[usize],
    opts: &Options,
) -> Result<Vec<Option<Vec<u8>>>, String> {
    if record.len() != specs.len() {
        return Err(format!(
            "Invalid row length {} should be {}",
            record.len(),
            specs.len()
        ));
    }
    let mut values = Vec::with_capacity(specs.len());
    for (i, (field, spec)) in record.iter().zip(specs).enumerate() {
        if field == opts.null {
            if pk.contains(&i) {
                return Err(format!(
                    "Cannot insert null value for primary key column '{}'. If you want to insert empty strings, consider using the WITH NULL=<marker> option for COPY.",
                    spec.name
                ));
            }
            values.push(None);
            continue;
        }
        let v = import_field(field, &spec.cql_type, opts)
            .map_err(|e| format!("Failed to parse {field} : {e}"))?;
        let bytes = serialize(&v, &spec.cql_type).map_err(|e| e.to_string())?;
        values.push(Some(bytes));
    }
    Ok(values)
}

/// One CSV field to a value of `ty`.
fn import_field(text: &str, ty: &CqlType, opts: &Options) -> Result<CqlValue, String> {
    match ty.unfrozen() {
        CqlType::Text => Ok(CqlValue::Text(text.to_string())),
        CqlType::Ascii => value_from_string(text, ty).map_err(|e| e.to_string()),
        CqlType::Boolean => {
            if text.eq_ignore_ascii_case(&opts.bool_true) {
                Ok(CqlValue::Boolean(true))
            } else if text.eq_ignore_ascii_case(&opts.bool_false) {
                Ok(CqlValue::Boolean(false))
            } else {
                Err(format!("Invalid boolean value {text}"))
            }
        }
        _ => parse_cqlsh_value(text, ty),
    }
}

/// Parses a value in the text form cqlsh prints (see the module docs): what
/// COPY TO writes for every type but text and boolean.
pub fn parse_cqlsh_value(text: &str, ty: &CqlType) -> Result<CqlValue, String> {
    let mut p = LiteralParser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let v = match ty.unfrozen() {
        CqlType::List(_)
        | CqlType::Set(_)
        | CqlType::Map(_, _)
        | CqlType::Tuple(_)
        | CqlType::Udt { .. }
        | CqlType::Vector(_, _) => {
            let v = p.value(ty)?;
            p.skip_ws();
            if p.pos < p.chars.len() {
                return Err(format!("unexpected text after the value: '{}'", p.rest()));
            }
            v
        }
        _ => scalar(text, ty)?,
    };
    Ok(v)
}

/// Deepest collection nesting parsed (the type bounds it anyway; this guards
/// the recursion against a type we did not expect).
const MAX_LITERAL_DEPTH: usize = sibyl_cql::types::MAX_NESTING_DEPTH;

fn scalar(text: &str, ty: &CqlType) -> Result<CqlValue, String> {
    let t = ty.unfrozen();
    let body = if matches!(t, CqlType::Blob) {
        text.strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text)
    } else {
        text
    };
    match t {
        CqlType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(CqlValue::Boolean(true)),
            "false" => Ok(CqlValue::Boolean(false)),
            _ => Err(format!("Invalid boolean value {text}")),
        },
        _ => value_from_string(body, ty).map_err(|e| e.to_string()),
    }
}

struct LiteralParser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl LiteralParser {
    fn rest(&self) -> String {
        self.chars[self.pos.min(self.chars.len())..]
            .iter()
            .collect()
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected '{c}' at '{}'", self.rest()))
        }
    }

    /// A `'...'` string (`''` is a quote).
    fn quoted(&mut self) -> Result<String, String> {
        self.expect('\'')?;
        let mut s = String::new();
        loop {
            match self.chars.get(self.pos) {
                None => return Err("unterminated string".into()),
                Some('\'') if self.chars.get(self.pos + 1) == Some(&'\'') => {
                    s.push('\'');
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(&c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A bare token: up to `,` `]` `}` `)` or `: ` at this level.
    fn bare(&mut self) -> String {
        self.skip_ws();
        let start = self.pos;
        while let Some(&c) = self.chars.get(self.pos) {
            let map_colon = c == ':'
                && self
                    .chars
                    .get(self.pos + 1)
                    .is_none_or(|n| n.is_whitespace());
            if matches!(c, ',' | ']' | '}' | ')') || map_colon {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string()
    }

    /// An element inside a collection, tuple or UDT; `None` for `null`.
    fn element(&mut self, ty: &CqlType) -> Result<Option<CqlValue>, String> {
        if self.peek() == Some('\'') {
            let s = self.quoted()?;
            return match ty.unfrozen() {
                CqlType::Text | CqlType::Ascii => value_from_string(&s, ty)
                    .map(Some)
                    .map_err(|e| e.to_string()),
                _ => scalar(&s, ty).map(Some),
            };
        }
        if matches!(self.peek(), Some('[' | '{' | '(')) {
            return self.value(ty).map(Some);
        }
        let tok = self.bare();
        if tok == "null" {
            return Ok(None);
        }
        match ty.unfrozen() {
            CqlType::Text | CqlType::Ascii => Err(format!("expected a quoted string at '{tok}'")),
            _ => scalar(&tok, ty).map(Some),
        }
    }

    fn non_null(&mut self, ty: &CqlType) -> Result<CqlValue, String> {
        self.element(ty)?
            .ok_or_else(|| "null is not allowed inside a collection".to_string())
    }

    /// A list of items between `open` and `close`.
    fn items<T>(
        &mut self,
        open: char,
        close: char,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.expect(open)?;
        let mut out = Vec::new();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(format!("expected ',' or '{close}' at '{}'", self.rest())),
            }
        }
    }

    fn value(&mut self, ty: &CqlType) -> Result<CqlValue, String> {
        if self.depth >= MAX_LITERAL_DEPTH {
            return Err("value nested too deeply".into());
        }
        self.depth += 1;
        let v = match ty.unfrozen() {
            CqlType::List(e) => CqlValue::List(self.items('[', ']', |p| p.non_null(e))?),
            CqlType::Vector(e, _) => CqlValue::Vector(self.items('[', ']', |p| p.non_null(e))?),
            CqlType::Set(e) => CqlValue::Set(self.items('{', '}', |p| p.non_null(e))?),
            CqlType::Map(k, v) => CqlValue::Map(self.items('{', '}', |p| {
                let key = p.non_null(k)?;
                p.expect(':')?;
                let val = p.non_null(v)?;
                Ok((key, val))
            })?),
            CqlType::Tuple(ts) => {
                let mut i = 0;
                let fields = self.items('(', ')', |p| {
                    let t = ts.get(i).ok_or("too many tuple fields")?;
                    i += 1;
                    p.element(t)
                })?;
                CqlValue::Tuple(fields)
            }
            CqlType::Udt { fields, .. } => {
                let pairs = self.items('{', '}', |p| {
                    let name = if p.peek() == Some('"') {
                        p.pos += 1;
                        let start = p.pos;
                        while p.chars.get(p.pos).is_some_and(|c| *c != '"') {
                            p.pos += 1;
                        }
                        let n: String = p.chars[start..p.pos.min(p.chars.len())].iter().collect();
                        p.pos += 1;
                        n
                    } else {
                        p.bare()
                    };
                    let (idx, (_, fty)) = fields
                        .iter()
                        .enumerate()
                        .find(|(_, (n, _))| *n == name)
                        .ok_or_else(|| format!("unknown field {name}"))?;
                    p.expect(':')?;
                    Ok((idx, p.element(fty)?))
                })?;
                let mut values = vec![None; fields.len()];
                for (i, v) in pairs {
                    values[i] = v;
                }
                CqlValue::Udt(values)
            }
            _ => {
                let v = self.non_null(ty)?;
                self.depth -= 1;
                return Ok(v);
            }
        };
        self.depth -= 1;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: CqlValue, ty: &CqlType) {
        let opts = Options::parse(&[], false).expect("opts");
        let bytes = serialize(&v, ty).expect("serialize");
        let text = opts.export(Some(&bytes), ty);
        let back = import_field(&text, ty, &opts).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(serialize(&back, ty).expect("serialize"), bytes, "{text}");
    }

    #[test]
    fn values_survive_export_and_import() {
        round_trip(CqlValue::Int(-7), &CqlType::Int);
        round_trip(CqlValue::Text("a, \"b\"\nc's \\ d".into()), &CqlType::Text);
        round_trip(CqlValue::Blob(vec![0, 1, 255]), &CqlType::Blob);
        round_trip(CqlValue::Boolean(true), &CqlType::Boolean);
        round_trip(CqlValue::Timestamp(1_704_164_645_123), &CqlType::Timestamp);
        round_trip(CqlValue::Double(1.5), &CqlType::Double);
        round_trip(
            CqlValue::Uuid(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            &CqlType::Uuid,
        );
        let list = CqlType::List(Box::new(CqlType::Text));
        round_trip(
            CqlValue::List(vec![
                CqlValue::Text("x, y".into()),
                CqlValue::Text("it's".into()),
            ]),
            &list,
        );
        let map = CqlType::Map(Box::new(CqlType::Text), Box::new(CqlType::Int));
        round_trip(
            CqlValue::Map(vec![
                (CqlValue::Text("a: b".into()), CqlValue::Int(1)),
                (CqlValue::Text("c".into()), CqlValue::Int(2)),
            ]),
            &map,
        );
        let set = CqlType::Set(Box::new(CqlType::Timestamp));
        round_trip(
            CqlValue::Set(vec![CqlValue::Timestamp(0), CqlValue::Timestamp(1000)]),
            &set,
        );
        let tuple = CqlType::Tuple(vec![CqlType::Int, CqlType::Text]);
        round_trip(CqlValue::Tuple(vec![Some(CqlValue::Int(1)), None]), &tuple);
        let udt = CqlType::Udt {
            keyspace: "ks".into(),
            name: "u".into(),
            fields: vec![("a".into(), CqlType::Int), ("b".into(), CqlType::Text)],
        };
        round_trip(
            CqlValue::Udt(vec![
                Some(CqlValue::Int(3)),
                Some(CqlValue::Text("}".into())),
            ]),
            &udt,
        );
        let nested = CqlType::Map(
            Box::new(CqlType::Int),
            Box::new(CqlType::Frozen(Box::new(CqlType::List(Box::new(
                CqlType::Time,
            ))))),
        );
        round_trip(
            CqlValue::Map(vec![(
                CqlValue::Int(1),
                CqlValue::List(vec![CqlValue::Time(3_600_000_000_000)]),
            )]),
            &nested,
        );
    }

    #[test]
    fn options() {
        let o = Options::parse(
            &[
                ("delimiter".into(), "|".into()),
                ("header".into(), "true".into()),
            ],
            true,
        )
        .expect("ok");
        assert_eq!((o.delimiter, o.header), (b'|', true));
        let e = Options::parse(&[("bogus".into(), "1".into())], true).err();
        assert_eq!(e.as_deref(), Some("Unrecognized COPY FROM options: bogus"));
        assert!(
            Options::parse(&[("ttl".into(), "5".into())], false).is_err(),
            "TTL is COPY FROM only"
        );
        assert!(Options::parse(&[("numprocesses".into(), "4".into())], false).is_ok());
    }

    #[test]
    fn intervals_like_cqlsh() {
        assert_eq!(describe_interval(2.5), "2.500 seconds");
        assert_eq!(describe_interval(62.25), "1 minute and 2.250 seconds");
        assert_eq!(
            describe_interval(7322.0),
            "2 hours, 2 minutes, and 2.000 seconds"
        );
    }
}
