//! `sibyl nodetool`: Cassandra's nodetool over Sibyl's HTTP admin API
//! ([`crate::admin`]).
//!
//! The server answers JSON; this client prints it the way Cassandra 4/5's nodetool
//! prints the same command, so scripts that parse `nodetool status`, `ring`,
//! `info`, `describecluster` or `listsnapshots` keep working. The layouts are taken
//! from Cassandra's `tools/nodetool/*.java` and reproduced exactly where a script
//! could care (column order, widths, the two-space `TableBuilder` delimiter,
//! `FileUtils.stringifyFileSize`, `DecimalFormat("##0.0%")`); the differences are
//! listed in `docs/admin.md` (no heap figures, no caches, latencies are medians).
//!
//! The client is a few dozen lines of HTTP/1.1 over `std::net::TcpStream`, the
//! response parsed with `httparse`: one request, `Connection: close`, read to the
//! end within [`MAX_RESPONSE_BYTES`]. Formatting functions are pure (`format_*`)
//! and unit-tested without a node.
//!
//! Exit codes: 0 ok; 1 when the node cannot be reached (Cassandra's one line,
//! `nodetool: Failed to connect to 'HOST:PORT' - ConnectException: 'Connection
//! refused'.`) or refuses the request (`error: ...`); 2 for a bad command line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Args, Subcommand};
use serde::Deserialize;
use serde_json::Value;

use super::{EXIT_RUNTIME, EXIT_USAGE};
use crate::admin::http::percent_encode;

/// Default admin port (Cassandra's JMX port).
pub const DEFAULT_PORT: u16 = 7199;
/// Longest a connection attempt may take before the node counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest to wait for an answer: a major compaction or a drain of a large node
/// takes minutes; an hour bounds a hung node.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Largest response accepted: tablestats of thousands of tables is a few MiB.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Headers a response may have (the admin server sends 3).
const MAX_RESPONSE_HEADERS: usize = 32;

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct NodetoolArgs {
    /// Node hostname or IP address
    #[arg(short = 'h', long = "host", default_value = "127.0.0.1")]
    pub host: String,
    /// The admin API port
    #[arg(short = 'p', long = "port", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    #[command(subcommand)]
    pub command: NodetoolCommand,
}

#[derive(Subcommand, Debug)]
pub enum NodetoolCommand {
    /// Print cluster information (state, load, IDs, ...)
    Status { keyspace: Option<String> },
    /// Print information about the token ring
    Ring { keyspace: Option<String> },
    /// Print node information (uptime, load, ...)
    Info {
        /// Display all tokens
        #[arg(short = 'T', long)]
        tokens: bool,
    },
    /// Shows the token ranges info of a given keyspace
    Describering { keyspace: String },
    /// Print the end points that owns the key
    Getendpoints {
        keyspace: String,
        table: String,
        /// The partition key as text; parts of a composite key separated by ':'
        key: String,
    },
    /// Shows the gossip information for the cluster
    Gossipinfo,
    /// Print the name, snitch, partitioner and schema version of a cluster
    Describecluster,
    /// Flush one or more tables
    Flush {
        keyspace: Option<String>,
        tables: Vec<String>,
    },
    /// Force a (major) compaction on one or more tables
    Compact {
        keyspace: Option<String>,
        tables: Vec<String>,
    },
    /// Print statistics on tables
    #[command(alias = "cfstats")]
    Tablestats {
        /// KEYSPACE or KEYSPACE.TABLE, any number
        tables: Vec<String>,
    },
    /// Print statistics on compactions
    Compactionstats {
        /// Display bytes in human readable form, i.e. KiB, MiB, GiB, TiB
        #[arg(short = 'H', long = "human-readable")]
        human_readable: bool,
    },
    /// Take a snapshot of the specified keyspaces (all when none is given)
    Snapshot {
        /// The name of the snapshot
        #[arg(short = 't', long = "tag")]
        tag: Option<String>,
        keyspaces: Vec<String>,
    },
    /// Lists all the snapshots along with the size on disk and true size
    Listsnapshots,
    /// Remove the snapshot with the given name from the given keyspaces
    Clearsnapshot {
        /// The snapshot name to remove
        #[arg(short = 't', long = "tag")]
        tag: Option<String>,
        /// Removes all snapshots
        #[arg(long)]
        all: bool,
        keyspaces: Vec<String>,
    },
    /// Drain the node (flush memtables, stop accepting CQL connections)
    Drain,
    /// Print the release version
    Version,
}

/// Why a nodetool command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodetoolError {
    /// The node could not be reached: Cassandra's exception name and message.
    Connect {
        target: String,
        exception: &'static str,
        message: String,
    },
    /// The node answered with an error.
    Server(String),
    /// The command line is wrong.
    Usage(String),
}

impl std::fmt::Display for NodetoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodetoolError::Connect {
                target,
                exception,
                message,
            } => write!(
                f,
                "nodetool: Failed to connect to '{target}' - {exception}: '{message}'."
            ),
            NodetoolError::Server(m) => write!(f, "error: {m}"),
            NodetoolError::Usage(m) => write!(f, "nodetool: {m}"),
        }
    }
}

/// Runs one command, printing its output; returns the exit code.
pub fn run(args: NodetoolArgs) -> ExitCode {
    match execute(&args) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(match e {
                NodetoolError::Usage(_) => EXIT_USAGE,
                _ => EXIT_RUNTIME,
            })
        }
    }
}

/// One admin API request.
struct Client<'a> {
    host: &'a str,
    port: u16,
}

/// `GET path` on a node's admin API, as JSON (for other tools: `sibyl cluster`).
pub fn get_json(host: &str, port: u16, path: &str) -> Result<Value, String> {
    Client { host, port }
        .request("GET", path)
        .map_err(|e| e.to_string())
}

impl Client<'_> {
    fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn connect_error(&self, e: &std::io::Error) -> NodetoolError {
        use std::io::ErrorKind;
        let (exception, message) = match e.kind() {
            ErrorKind::ConnectionRefused => ("ConnectException", "Connection refused".to_string()),
            ErrorKind::TimedOut | ErrorKind::WouldBlock => {
                ("SocketTimeoutException", "connect timed out".to_string())
            }
            _ => ("IOException", e.to_string()),
        };
        NodetoolError::Connect {
            target: self.target(),
            exception,
            message,
        }
    }

    fn request(&self, method: &str, path: &str) -> Result<Value, NodetoolError> {
        let addrs: Vec<_> = (self.host, self.port)
            .to_socket_addrs()
            .map_err(|e| NodetoolError::Connect {
                target: self.target(),
                exception: "UnknownHostException",
                message: e.to_string(),
            })?
            .collect();
        let mut last = None;
        let mut stream = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let mut stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(self.connect_error(&e)),
            (None, None) => {
                return Err(NodetoolError::Connect {
                    target: self.target(),
                    exception: "UnknownHostException",
                    message: format!("{}: no address", self.host),
                })
            }
        };
        let io =
            |e: std::io::Error| NodetoolError::Server(format!("talking to {}: {e}", self.target()));
        stream
            .set_read_timeout(Some(RESPONSE_TIMEOUT))
            .map_err(io)?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\nUser-Agent: sibyl-nodetool\r\n\r\n",
            self.target()
        );
        stream.write_all(head.as_bytes()).map_err(io)?;
        let mut raw = Vec::new();
        stream
            .take(MAX_RESPONSE_BYTES as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(io)?;
        if raw.len() > MAX_RESPONSE_BYTES {
            return Err(NodetoolError::Server(format!(
                "the response is larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        let (status, body) = parse_response(&raw)?;
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            NodetoolError::Server(format!(
                "the node answered {status} with a body that is not JSON: {e}"
            ))
        })?;
        if status != 200 {
            let msg = value
                .get("error")
                .and_then(Value::as_str)
                .map_or_else(|| format!("HTTP {status}"), str::to_string);
            return Err(NodetoolError::Server(msg));
        }
        Ok(value)
    }
}

/// The status and body of a complete HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> Result<(u16, &[u8]), NodetoolError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(NodetoolError::Server(
                "the node closed the connection mid-answer".into(),
            ))
        }
        Err(e) => {
            return Err(NodetoolError::Server(format!(
                "a malformed HTTP answer: {e}"
            )))
        }
    };
    let status = resp.code.unwrap_or(0);
    let body = raw.get(head_len..).unwrap_or_default();
    let len = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
    let body = match len {
        Some(n) => body.get(..n).ok_or_else(|| {
            NodetoolError::Server("the node closed the connection mid-answer".into())
        })?,
        None => body,
    };
    Ok((status, body))
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", percent_encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn list(v: &[String]) -> Option<String> {
    if v.is_empty() {
        None
    } else {
        Some(v.join(","))
    }
}

fn execute(args: &NodetoolArgs) -> Result<String, NodetoolError> {
    let c = Client {
        host: &args.host,
        port: args.port,
    };
    use NodetoolCommand as C;
    match &args.command {
        C::Status { keyspace } => {
            let v = c.request(
                "GET",
                &format!("/api/v1/status{}", query(&[("keyspace", keyspace.clone())])),
            )?;
            Ok(format_status(&parse_status(&v)?))
        }
        C::Ring { keyspace } => {
            let v = c.request(
                "GET",
                &format!("/api/v1/ring{}", query(&[("keyspace", keyspace.clone())])),
            )?;
            Ok(format_ring(&parse_status(&v)?))
        }
        C::Info { tokens } => Ok(format_info(&c.request("GET", "/api/v1/info")?, *tokens)),
        C::Describering { keyspace } => {
            let v = c.request(
                "GET",
                &format!("/api/v1/describering/{}", percent_encode(keyspace)),
            )?;
            Ok(format_describe_ring(&v))
        }
        C::Getendpoints {
            keyspace,
            table,
            key,
        } => {
            let v = c.request(
                "GET",
                &format!(
                    "/api/v1/endpoints/{}/{}/{}",
                    percent_encode(keyspace),
                    percent_encode(table),
                    percent_encode(key)
                ),
            )?;
            let mut out = String::new();
            for e in arr(&v, "endpoints") {
                let _ = writeln!(out, "{}", e.as_str().unwrap_or_default());
            }
            Ok(out)
        }
        C::Gossipinfo => Ok(format_gossip_info(&c.request("GET", "/api/v1/gossipinfo")?)),
        C::Describecluster => Ok(format_describe_cluster(
            &c.request("GET", "/api/v1/describecluster")?,
        )),
        C::Flush { keyspace, tables } | C::Compact { keyspace, tables } => {
            let op = if matches!(args.command, C::Flush { .. }) {
                "flush"
            } else {
                "compact"
            };
            c.request(
                "POST",
                &format!(
                    "/api/v1/{op}{}",
                    query(&[("keyspace", keyspace.clone()), ("tables", list(tables))])
                ),
            )?;
            Ok(String::new())
        }
        C::Tablestats { tables } => {
            let v = c.request("GET", "/api/v1/tablestats")?;
            format_table_stats(&v, tables)
        }
        C::Compactionstats { human_readable } => Ok(format_compaction_stats(
            &c.request("GET", "/api/v1/compactionstats")?,
            *human_readable,
        )),
        C::Snapshot { tag, keyspaces } => {
            let v = c.request(
                "POST",
                &format!(
                    "/api/v1/snapshots{}",
                    query(&[("tag", tag.clone()), ("keyspaces", list(keyspaces))])
                ),
            )?;
            let tag = v.get("tag").and_then(Value::as_str).unwrap_or_default();
            Ok(format!(
                "Requested creating snapshot(s) for {} with snapshot name [{tag}] and options {{skipFlush=false}}\nSnapshot directory: {tag}\n",
                keyspace_list(keyspaces)
            ))
        }
        C::Listsnapshots => Ok(format_list_snapshots(
            &c.request("GET", "/api/v1/snapshots")?,
        )),
        C::Clearsnapshot {
            tag,
            all,
            keyspaces,
        } => {
            if tag.is_none() && !all {
                return Err(NodetoolError::Usage(
                    "Specify snapshot name or --all".into(),
                ));
            }
            if tag.is_some() && *all {
                return Err(NodetoolError::Usage(
                    "Specify only one of snapshot name or --all".into(),
                ));
            }
            c.request(
                "DELETE",
                &format!(
                    "/api/v1/snapshots{}",
                    query(&[
                        ("tag", tag.clone()),
                        ("all", all.then(|| "true".to_string())),
                        ("keyspaces", list(keyspaces)),
                    ])
                ),
            )?;
            let what = match tag {
                Some(t) => format!("with snapshot name [{t}]"),
                None => "with [all snapshots]".into(),
            };
            Ok(format!(
                "Requested clearing snapshot(s) for {} {what}\n",
                keyspace_list(keyspaces)
            ))
        }
        C::Drain => {
            c.request("POST", "/api/v1/drain")?;
            Ok(String::new())
        }
        C::Version => {
            let v = c.request("GET", "/api/v1/version")?;
            Ok(format!(
                "ReleaseVersion: {}\n",
                v.get("release_version")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            ))
        }
    }
}

fn keyspace_list(keyspaces: &[String]) -> String {
    if keyspaces.is_empty() {
        "[all keyspaces]".into()
    } else {
        format!("[{}]", keyspaces.join(", "))
    }
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn n(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// Cassandra's `FileUtils.stringifyFileSize`: `DecimalFormat("#.##")` of the value
/// in TiB, GiB, MiB or KiB, or bytes below 1 KiB (`1.5 KiB`, `2 MiB`, `512 bytes`).
pub fn stringify_file_size(bytes: f64) -> String {
    const KIB: f64 = 1024.0;
    const UNITS: [(f64, &str); 4] = [
        (KIB * KIB * KIB * KIB, "TiB"),
        (KIB * KIB * KIB, "GiB"),
        (KIB * KIB, "MiB"),
        (KIB, "KiB"),
    ];
    for (size, unit) in UNITS {
        if bytes >= size {
            return format!("{} {unit}", decimal_hash_2(bytes / size));
        }
    }
    format!("{} bytes", decimal_hash_2(bytes))
}

/// Java's `DecimalFormat("#.##")`: at most two decimals, trailing zeros dropped.
fn decimal_hash_2(v: f64) -> String {
    let t = format!("{v:.2}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    if t.is_empty() || t == "-0" {
        "0".into()
    } else {
        t.to_string()
    }
}

/// One endpoint of a status/ring answer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EndpointRow {
    pub address: String,
    #[serde(default)]
    pub host_id: Option<String>,
    pub datacenter: String,
    pub rack: String,
    /// "Up" or "Down".
    pub status: String,
    /// "Normal", "Joining", "Leaving" or "Moving".
    pub state: String,
    #[serde(default)]
    pub load_bytes: Option<f64>,
    #[serde(default)]
    pub tokens: Vec<String>,
    #[serde(default)]
    pub owns: Option<f64>,
}

/// A status/ring answer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct StatusData {
    pub effective_ownership: bool,
    #[serde(default)]
    pub note: Option<String>,
    pub endpoints: Vec<EndpointRow>,
}

fn parse_status(v: &Value) -> Result<StatusData, NodetoolError> {
    serde_json::from_value(v.clone())
        .map_err(|e| NodetoolError::Server(format!("an unexpected status answer: {e}")))
}

/// Cassandra's `TableBuilder.SharedTable("  ")`: every column padded to the widest
/// cell of any table, columns joined by two spaces (the last padded too).
fn shared_tables(tables: &[Vec<Vec<String>>], delimiter: &str) -> Vec<String> {
    let mut widths: Vec<usize> = Vec::new();
    for row in tables.iter().flatten() {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(x) => *x = (*x).max(w),
                None => widths.push(w),
            }
        }
    }
    tables
        .iter()
        .map(|rows| {
            let mut out = String::new();
            for row in rows {
                for (i, w) in widths.iter().enumerate() {
                    let cell = row.get(i).map_or("", String::as_str);
                    let _ = write!(out, "{cell:<w$}");
                    if i + 1 < widths.len() {
                        out.push_str(delimiter);
                    }
                }
                out.push('\n');
            }
            out
        })
        .collect()
}

fn by_datacenter(endpoints: &[EndpointRow]) -> BTreeMap<&str, Vec<&EndpointRow>> {
    let mut dcs: BTreeMap<&str, Vec<&EndpointRow>> = BTreeMap::new();
    for e in endpoints {
        dcs.entry(e.datacenter.as_str()).or_default().push(e);
    }
    dcs
}

fn status_letter(e: &EndpointRow) -> char {
    match e.status.as_str() {
        "Up" => 'U',
        "Down" => 'D',
        _ => '?',
    }
}

fn state_letter(e: &EndpointRow) -> char {
    match e.state.as_str() {
        "Joining" => 'J',
        "Leaving" => 'L',
        "Moving" => 'M',
        _ => 'N',
    }
}

/// Java's `DecimalFormat("##0.0%")` (or `"##0.00%"` with `decimals` 2).
fn percent(fraction: f64, decimals: usize) -> String {
    format!("{:.decimals$}%", fraction * 100.0)
}

/// `nodetool status`, as Cassandra 4/5 prints it.
pub fn format_status(data: &StatusData) -> String {
    let dcs = by_datacenter(&data.endpoints);
    let total_tokens: usize = data.endpoints.iter().map(|e| e.tokens.len()).sum();
    // Cassandra's test: fewer datacenters than tokens means vnodes.
    let token_per_node = dcs.len() >= total_tokens;
    let owns_header = if data.effective_ownership {
        "Owns (effective)"
    } else {
        "Owns"
    };
    let mut tables = Vec::new();
    for rows in dcs.values() {
        let mut t: Vec<Vec<String>> = Vec::new();
        let header: &[&str] = if token_per_node {
            &[
                "--",
                "Address",
                "Load",
                owns_header,
                "Host ID",
                "Token",
                "Rack",
            ]
        } else {
            &[
                "--",
                "Address",
                "Load",
                "Tokens",
                owns_header,
                "Host ID",
                "Rack",
            ]
        };
        t.push(header.iter().map(|h| h.to_string()).collect());
        for e in rows {
            let load = e
                .load_bytes
                .map_or_else(|| "?".to_string(), stringify_file_size);
            let owns = match e.owns {
                Some(o) if data.effective_ownership => percent(o, 1),
                _ => "?".into(),
            };
            let host = e.host_id.clone().unwrap_or_else(|| "null".into());
            let ss = format!("{}{}", status_letter(e), state_letter(e));
            if token_per_node {
                let token = e.tokens.first().cloned().unwrap_or_default();
                t.push(vec![
                    ss,
                    e.address.clone(),
                    load,
                    owns,
                    host,
                    token,
                    e.rack.clone(),
                ]);
            } else {
                t.push(vec![
                    ss,
                    e.address.clone(),
                    load,
                    e.tokens.len().to_string(),
                    owns,
                    host,
                    e.rack.clone(),
                ]);
            }
        }
        tables.push(t);
    }
    let printed = shared_tables(&tables, "  ");
    let mut out = String::new();
    for (i, (dc, table)) in dcs.keys().zip(printed).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let header = format!("Datacenter: {dc}");
        let _ = writeln!(out, "{header}\n{}", "=".repeat(header.chars().count()));
        out.push_str("Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n");
        out.push_str(&table);
    }
    out.push('\n');
    if let Some(note) = &data.note {
        let _ = writeln!(out, "Note: {note}");
    }
    out
}

/// `nodetool ring`, as Cassandra prints it: one line per token.
pub fn format_ring(data: &StatusData) -> String {
    let width = data
        .endpoints
        .iter()
        .map(|e| e.address.len())
        .max()
        .unwrap_or(0);
    let line = |out: &mut String, cells: [&str; 7]| {
        let [a, r, st, sa, l, o, t] = cells;
        let _ = writeln!(
            out,
            "{a:<width$}  {r:<12}{st:<7}{sa:<8}{l:<16}{o:<20}{t:<44}"
        );
    };
    let mut out = String::from("\n");
    let mut vnodes = false;
    for (dc, rows) in by_datacenter(&data.endpoints) {
        let _ = writeln!(out, "Datacenter: {dc}\n==========");
        let mut tokens: Vec<(i64, &EndpointRow)> = Vec::new();
        for e in &rows {
            vnodes |= e.tokens.len() > 1;
            tokens.extend(
                e.tokens
                    .iter()
                    .filter_map(|t| t.parse().ok())
                    .map(|t| (t, *e)),
            );
        }
        tokens.sort_by_key(|(t, _)| *t);
        line(
            &mut out,
            [
                "Address", "Rack", "Status", "State", "Load", "Owns", "Token",
            ],
        );
        match tokens.last() {
            Some((last, _)) if tokens.len() > 1 => {
                line(&mut out, ["", "", "", "", "", "", &last.to_string()]);
            }
            _ => out.push('\n'),
        }
        for (t, e) in &tokens {
            let load = e
                .load_bytes
                .map_or_else(|| "?".to_string(), stringify_file_size);
            let owns = match e.owns {
                Some(o) if data.effective_ownership => percent(o, 2),
                _ => "?".into(),
            };
            line(
                &mut out,
                [
                    &e.address,
                    &e.rack,
                    &e.status,
                    &e.state,
                    &load,
                    &owns,
                    &t.to_string(),
                ],
            );
        }
        out.push('\n');
    }
    if vnodes {
        out.push_str("  Warning: \"nodetool ring\" is used to output all the tokens of a node.\n");
        out.push_str(
            "  To view status related info of a node use \"nodetool status\" instead.\n\n",
        );
    }
    out.push_str("\n  ");
    if let Some(note) = &data.note {
        let _ = writeln!(out, "Note: {note}");
    }
    out
}

/// `nodetool info`, in Cassandra's `%-23s: %s` layout.
pub fn format_info(v: &Value, all_tokens: bool) -> String {
    let mut out = String::new();
    let mut line = |k: &str, val: String| {
        let _ = writeln!(out, "{k:<23}: {val}");
    };
    line("ID", s(v, "host_id").to_string());
    let b = |k: &str| {
        v.get(k)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string()
    };
    line("Gossip active", b("gossip_active"));
    line("Native Transport active", b("native_transport_active"));
    line("Load", stringify_file_size(n(v, "load_bytes")));
    line("Generation No", format!("{}", n(v, "generation") as i64));
    line(
        "Uptime (seconds)",
        format!("{}", n(v, "uptime_seconds") as u64),
    );
    // No JVM: there is no heap to report.
    line("Heap Memory (MB)", "N/A".into());
    line("Data Center", s(v, "datacenter").to_string());
    line("Rack", s(v, "rack").to_string());
    line("Exceptions", format!("{}", n(v, "exceptions") as u64));
    line("Percent Repaired", "0.0%".into());
    let tokens = arr(v, "tokens");
    if tokens.len() == 1 || all_tokens {
        for t in tokens {
            line("Token", t.as_str().unwrap_or_default().to_string());
        }
    } else {
        line(
            "Token",
            format!(
                "(invoke with -T/--tokens to see all {} tokens)",
                tokens.len()
            ),
        );
    }
    out
}

/// `nodetool describering KS`.
pub fn format_describe_ring(v: &Value) -> String {
    let mut out = format!("Schema Version:{}\nTokenRange: \n", s(v, "schema_version"));
    let strings = |r: &Value, k: &str| -> String {
        arr(r, k)
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in arr(v, "ranges") {
        let details: Vec<String> = arr(r, "endpoint_details")
            .iter()
            .map(|d| {
                format!(
                    "EndpointDetails(host:{}, datacenter:{}, rack:{})",
                    s(d, "host"),
                    s(d, "datacenter"),
                    s(d, "rack")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "\tTokenRange(start_token:{}, end_token:{}, endpoints:[{}], rpc_endpoints:[{}], endpoint_details:[{}])",
            s(r, "start_token"),
            s(r, "end_token"),
            strings(r, "endpoints"),
            strings(r, "rpc_endpoints"),
            details.join(", ")
        );
    }
    out
}

/// `nodetool gossipinfo`.
pub fn format_gossip_info(v: &Value) -> String {
    let mut out = String::new();
    for e in arr(v, "endpoints") {
        let _ = writeln!(out, "/{}", s(e, "address"));
        let _ = writeln!(out, "  generation:{}", n(e, "generation") as i64);
        let _ = writeln!(out, "  heartbeat:{}", n(e, "heartbeat") as i64);
        for st in arr(e, "application_states") {
            let _ = writeln!(
                out,
                "  {}:{}:{}",
                s(st, "name"),
                n(st, "version") as i64,
                s(st, "value")
            );
        }
    }
    out
}

/// A JSON map of name → list of strings as Java prints a `List`: `[a, b]`.
fn java_list(v: &Value) -> String {
    let items: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!("[{}]", items.join(", "))
}

/// `nodetool describecluster`.
pub fn format_describe_cluster(v: &Value) -> String {
    let mut out = String::from("Cluster Information:\n");
    let _ = writeln!(out, "\tName: {}", s(v, "name"));
    let _ = writeln!(out, "\tSnitch: {}", s(v, "snitch"));
    let dynamic = v
        .get("dynamic_snitch")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let _ = writeln!(
        out,
        "\tDynamicEndPointSnitch: {}",
        if dynamic { "enabled" } else { "disabled" }
    );
    let _ = writeln!(out, "\tPartitioner: {}", s(v, "partitioner"));
    out.push_str("\tSchema versions:\n");
    if let Some(m) = v.get("schema_versions").and_then(Value::as_object) {
        for (version, hosts) in m {
            let _ = writeln!(out, "\t\t{version}: {}\n", java_list(hosts));
        }
    }
    out.push_str("Stats for all nodes:\n");
    for (label, key) in [
        ("Live", "live"),
        ("Joining", "joining"),
        ("Moving", "moving"),
        ("Leaving", "leaving"),
        ("Unreachable", "unreachable"),
    ] {
        let _ = writeln!(out, "\t{label}: {}", n(v, key) as u64);
    }
    out.push_str("\nData Centers: \n");
    if let Some(m) = v.get("datacenters").and_then(Value::as_object) {
        for (dc, d) in m {
            let _ = writeln!(
                out,
                "\t{dc} #Nodes: {} #Down: {}",
                n(d, "nodes") as u64,
                n(d, "down") as u64
            );
        }
    }
    out.push_str("\nDatabase versions:\n");
    if let Some(m) = v.get("release_versions").and_then(Value::as_object) {
        for (version, hosts) in m {
            let _ = writeln!(out, "\t{version}: {}\n", java_list(hosts));
        }
    }
    out.push_str("Keyspaces:\n");
    if let Some(m) = v.get("keyspaces").and_then(Value::as_object) {
        for (ks, r) in m {
            let _ = writeln!(
                out,
                "\t{ks} -> Replication class: {}",
                r.as_str().unwrap_or_default()
            );
        }
    }
    out
}

/// Microseconds as Cassandra's `%01.3f ms`, `NaN ms` when nothing was measured.
fn latency_ms(count: f64, us: f64) -> String {
    if count == 0.0 {
        "NaN ms".into()
    } else {
        format!("{:.3} ms", us / 1000.0)
    }
}

/// `nodetool tablestats [KS[.TABLE]...]`, in Cassandra's default layout with the
/// figures Sibyl keeps.
pub fn format_table_stats(v: &Value, filters: &[String]) -> Result<String, NodetoolError> {
    let all = arr(v, "tables");
    let wanted = |t: &Value| {
        filters.is_empty()
            || filters.iter().any(|f| match f.split_once('.') {
                Some((k, tb)) => s(t, "keyspace") == k && s(t, "table") == tb,
                None => s(t, "keyspace") == f,
            })
    };
    for f in filters {
        let found = all.iter().any(|t| match f.split_once('.') {
            Some((k, tb)) => s(t, "keyspace") == k && s(t, "table") == tb,
            None => s(t, "keyspace") == f,
        });
        if !found {
            return Err(NodetoolError::Server(format!("Unknown keyspace/table {f}")));
        }
    }
    let mut by_ks: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for t in all.iter().filter(|t| wanted(t)) {
        by_ks.entry(s(t, "keyspace")).or_default().push(t);
    }
    let mut out = format!("Total number of tables: {}\n----------------\n", all.len());
    for (ks, tables) in by_ks {
        let sum = |k: &str| tables.iter().map(|t| n(t, k)).sum::<f64>();
        // Per-keyspace latency: the tables' medians weighted by their operation counts.
        let weighted = |count: &str, lat: &str| {
            let c = sum(count);
            let total: f64 = tables.iter().map(|t| n(t, count) * n(t, lat)).sum();
            latency_ms(c, if c > 0.0 { total / c } else { 0.0 })
        };
        let _ = writeln!(out, "Keyspace : {ks}");
        let _ = writeln!(out, "\tRead Count: {}", sum("read_count") as u64);
        let _ = writeln!(
            out,
            "\tRead Latency: {}",
            weighted("read_count", "read_latency_p50_us")
        );
        let _ = writeln!(out, "\tWrite Count: {}", sum("write_count") as u64);
        let _ = writeln!(
            out,
            "\tWrite Latency: {}",
            weighted("write_count", "write_latency_p50_us")
        );
        let _ = writeln!(out, "\tPending Flushes: {}", sum("pending_flushes") as u64);
        for t in tables {
            let u = |k: &str| n(t, k) as u64;
            let fp = u("bloom_false_positives");
            let tp = u("bloom_true_positives");
            let ratio = if fp + tp == 0 {
                0.0
            } else {
                fp as f64 / (fp + tp) as f64
            };
            let lines: Vec<(&str, String)> = vec![
                ("Table", s(t, "table").to_string()),
                ("SSTable count", u("sstable_count").to_string()),
                ("Space used (live)", u("space_used_live").to_string()),
                ("Space used (total)", u("space_used_total").to_string()),
                (
                    "Space used by snapshots (total)",
                    u("space_used_by_snapshots").to_string(),
                ),
                (
                    "Number of partitions (estimate)",
                    u("partitions_estimate").to_string(),
                ),
                ("Memtable data size", u("memtable_data_bytes").to_string()),
                ("Local read count", u("read_count").to_string()),
                (
                    "Local read latency",
                    latency_ms(n(t, "read_count"), n(t, "read_latency_p50_us")),
                ),
                ("Local write count", u("write_count").to_string()),
                (
                    "Local write latency",
                    latency_ms(n(t, "write_count"), n(t, "write_latency_p50_us")),
                ),
                ("Pending flushes", u("pending_flushes").to_string()),
                ("Bloom filter false positives", fp.to_string()),
                ("Bloom filter false ratio", format!("{ratio:.5}")),
                ("Tombstones scanned", u("tombstones_scanned").to_string()),
            ];
            for (k, val) in lines {
                let _ = writeln!(out, "\t\t{k}: {val}");
            }
            out.push('\n');
        }
        out.push_str("----------------\n");
    }
    Ok(out)
}

/// `nodetool compactionstats`.
pub fn format_compaction_stats(v: &Value, human: bool) -> String {
    let mut out = format!("pending tasks: {}\n\n", n(v, "pending_tasks") as u64);
    let compactions = arr(v, "compactions");
    if compactions.is_empty() {
        return out;
    }
    let mut rows = vec![[
        "id",
        "compaction type",
        "keyspace",
        "table",
        "completed",
        "total",
        "unit",
        "progress",
    ]
    .map(str::to_string)
    .to_vec()];
    let mut remaining = 0.0;
    for c in compactions {
        let (done, total) = (n(c, "completed"), n(c, "total"));
        remaining += total - done;
        let size = |b: f64| {
            if human {
                stringify_file_size(b)
            } else {
                format!("{}", b as u64)
            }
        };
        let progress = if total == 0.0 {
            "n/a".into()
        } else {
            format!("{:.2}%", done / total * 100.0)
        };
        rows.push(vec![
            s(c, "id").into(),
            s(c, "type").into(),
            s(c, "keyspace").into(),
            s(c, "table").into(),
            size(done),
            size(total),
            s(c, "unit").into(),
            progress,
        ]);
    }
    out.push_str(&shared_tables(&[rows], " ").concat());
    let mib = n(v, "compaction_throughput_mib_per_sec");
    let time = if mib > 0.0 {
        let secs = (remaining / (1024.0 * 1024.0 * mib)) as u64;
        format!(
            "{}h{:02}m{:02}s",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        )
    } else {
        "n/a".into()
    };
    let _ = writeln!(
        out,
        "{:>25}{:>10}",
        "Active compaction remaining time : ", time
    );
    out
}

/// Seconds since the epoch as Java's `Instant.toString()` (`2024-05-01T10:00:00Z`).
pub fn iso_instant(epoch_seconds: u64) -> String {
    let days = (epoch_seconds / 86_400) as i64;
    let secs = epoch_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// `nodetool listsnapshots` (Cassandra 4.1/5.0 columns, without the ephemeral flag).
pub fn format_list_snapshots(v: &Value) -> String {
    let mut out = String::from("Snapshot Details: \n");
    let snaps = arr(v, "snapshots");
    if snaps.is_empty() {
        out.push_str("There are no snapshots\n");
        return out;
    }
    let mut rows = vec![[
        "Snapshot name",
        "Keyspace name",
        "Column family name",
        "True size",
        "Size on disk",
        "Creation time",
        "Expiration time",
    ]
    .map(str::to_string)
    .to_vec()];
    let mut true_total = 0.0;
    for sn in snaps {
        true_total += n(sn, "true_size");
        let created = sn
            .get("created_epoch_seconds")
            .and_then(Value::as_u64)
            .map(iso_instant)
            .unwrap_or_default();
        rows.push(vec![
            s(sn, "tag").into(),
            s(sn, "keyspace").into(),
            s(sn, "table").into(),
            stringify_file_size(n(sn, "true_size")),
            stringify_file_size(n(sn, "size_on_disk")),
            created,
            String::new(),
        ]);
    }
    out.push_str(&shared_tables(&[rows], " ").concat());
    let _ = writeln!(
        out,
        "\nTotal TrueDiskSpaceUsed: {}\n",
        stringify_file_size(true_total)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        addr: &str,
        dc: &str,
        status: &str,
        state: &str,
        tokens: usize,
        owns: f64,
    ) -> EndpointRow {
        EndpointRow {
            address: addr.into(),
            host_id: Some(format!("{:0>8}-0000-0000-0000-000000000000", addr.len())),
            datacenter: dc.into(),
            rack: "rack1".into(),
            status: status.into(),
            state: state.into(),
            load_bytes: Some(1_289_748.0),
            tokens: (0..tokens).map(|t| (t as i64 * 1000).to_string()).collect(),
            owns: Some(owns),
        }
    }

    #[test]
    fn file_sizes_like_cassandra() {
        // Checks FileUtils.stringifyFileSize's units and DecimalFormat("#.##").
        assert_eq!(stringify_file_size(0.0), "0 bytes");
        assert_eq!(stringify_file_size(1023.0), "1023 bytes");
        assert_eq!(stringify_file_size(1024.0), "1 KiB");
        assert_eq!(stringify_file_size(1536.0), "1.5 KiB");
        assert_eq!(stringify_file_size(1_289_748.0), "1.23 MiB");
        assert_eq!(stringify_file_size(5.0 * 1024.0 * 1024.0 * 1024.0), "5 GiB");
        assert_eq!(stringify_file_size(2.0f64.powi(41)), "2 TiB");
    }

    #[test]
    fn status_with_two_datacenters_down_and_joining() {
        // Checks the DC headers, the legend, shared column widths, UN/DN/UJ and the vnode layout.
        let data = StatusData {
            effective_ownership: true,
            note: None,
            endpoints: vec![
                row("127.0.0.1", "dc1", "Up", "Normal", 16, 0.5),
                row("127.0.0.2", "dc1", "Down", "Normal", 16, 0.5),
                row("127.0.0.10", "dc2", "Up", "Joining", 16, 1.0),
            ],
        };
        let text = format_status(&data);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Datacenter: dc1");
        assert_eq!(lines[1], "===============");
        assert_eq!(lines[2], "Status=Up/Down");
        assert_eq!(lines[3], "|/ State=Normal/Leaving/Joining/Moving");
        assert_eq!(
            lines[4].trim_end(),
            "--  Address     Load      Tokens  Owns (effective)  Host ID                               Rack"
        );
        assert!(
            lines[5].starts_with("UN  127.0.0.1   1.23 MiB  16      50.0%             "),
            "{}",
            lines[5]
        );
        assert!(lines[6].starts_with("DN  127.0.0.2 "), "{}", lines[6]);
        assert_eq!(lines[7], "");
        assert_eq!(lines[8], "Datacenter: dc2");
        assert!(
            lines[13].starts_with("UJ  127.0.0.10  1.23 MiB  16      100.0%"),
            "{}",
            lines[13]
        );
        assert!(text.ends_with("\n\n"));
    }

    #[test]
    fn status_without_effective_ownership_prints_note_and_question_marks() {
        // Checks "Owns", '?' and Cassandra's note when keyspaces disagree.
        let data = StatusData {
            effective_ownership: false,
            note: Some("Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless".into()),
            endpoints: vec![row("10.0.0.1", "datacenter1", "Up", "Leaving", 4, 1.0)],
        };
        let text = format_status(&data);
        assert!(
            text.contains("--  Address   Load      Tokens  Owns  Host ID"),
            "{text}"
        );
        assert!(
            text.contains("UL  10.0.0.1  1.23 MiB  4       ?     "),
            "{text}"
        );
        assert!(text.ends_with("\nNote: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless\n"));
    }

    #[test]
    fn single_token_nodes_use_the_token_column() {
        // Checks the token-per-node layout (one token each, as many DCs as tokens).
        let data = StatusData {
            effective_ownership: true,
            note: None,
            endpoints: vec![row("10.0.0.1", "dc1", "Up", "Moving", 1, 1.0)],
        };
        let text = format_status(&data);
        assert!(text.contains("--  Address   Load      Owns (effective)  Host ID                               Token  Rack"), "{text}");
        assert!(text.contains("UM  10.0.0.1"));
    }

    #[test]
    fn ring_lists_every_token_sorted() {
        // Checks one line per token, the last token line and the vnode warning.
        let data = StatusData {
            effective_ownership: true,
            note: None,
            endpoints: vec![row("127.0.0.1", "dc1", "Up", "Normal", 3, 1.0)],
        };
        let text = format_ring(&data);
        let token_lines = text.lines().filter(|l| l.starts_with("127.0.0.1")).count();
        assert_eq!(token_lines, 3);
        assert!(
            text.contains(
                "127.0.0.1  rack1       Up     Normal  1.23 MiB        100.00%             0"
            ),
            "{text}"
        );
        assert!(text.contains("Warning: \"nodetool ring\""));
    }

    #[test]
    fn instants_print_like_java() {
        // Checks civil date conversion at the epoch and a leap day.
        assert_eq!(iso_instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_instant(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn connect_errors_read_like_cassandra() {
        // Checks the one-line message scripts match on.
        let e = NodetoolError::Connect {
            target: "127.0.0.1:7199".into(),
            exception: "ConnectException",
            message: "Connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'."
        );
    }
}
