//! `sibyl cqlsh` as people and scripts run it: the built binary against a node
//! started in-process on 127.0.0.1, port 0 (each test its own node and data
//! directory, and its own `$HOME` so the history file lands in a temporary
//! directory).
//!
//! - batch mode (`-f`, `-e`, a pipe): output compared byte for byte with what
//!   Python cqlsh prints (tables, nulls, collections, UDTs, tuples, blobs,
//!   timestamps, EXPAND, paging, DESCRIBE, error lines with `<file>:<line>:`
//!   prefixes) and cqlsh's exit codes (0, 2 after a failed statement, 1 without a
//!   node, 2 for usage errors);
//! - protocol negotiation (v5 by default, `--protocol-version 4` and 3);
//! - COPY TO / TRUNCATE / COPY FROM of 100 000 rows whose text holds commas,
//!   quotes, newlines and nulls, every row compared through the scylla driver;
//! - a real terminal: a pty (libc `openpty`) typing a multi-line statement,
//!   answering `---MORE---`, and the history file after EXIT.
//!
//! Every wait is bounded ([`DEADLINE`]); the only processes stopped are the
//! children these tests spawned.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use sibyl::config::NodeConfig;
use sibyl::node::Node;

/// Longest one cqlsh run (or one wait for terminal output) may take.
const DEADLINE: Duration = Duration::from_secs(120);

/// Rows in the COPY round trip.
const COPY_ROWS: i32 = 100_000;

struct TestNode {
    rt: tokio::runtime::Runtime,
    node: Option<Node>,
    addr: SocketAddr,
    _data: tempfile::TempDir,
    home: tempfile::TempDir,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl TestNode {
    fn start() -> TestNode {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let data = tempfile::tempdir().expect("tmp");
        let mut c = NodeConfig::with_data_dir(data.path());
        c.native_transport_port = 0;
        c.storage_port = 0;
        c.admin_port = 0;
        let node = rt.block_on(Node::start(c)).expect("node starts");
        let addr = node.native_addr();
        TestNode {
            rt,
            node: Some(node),
            addr,
            _data: data,
            home: tempfile::tempdir().expect("tmp"),
        }
    }

    fn base_command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sibyl"));
        cmd.arg("cqlsh")
            .arg(self.addr.ip().to_string())
            .arg(self.addr.port().to_string())
            .env("HOME", self.home.path())
            .env_remove("CQLSH_HOST")
            .env_remove("CQLSH_PORT");
        cmd
    }

    /// Runs `sibyl cqlsh HOST PORT args...` with `stdin` piped in.
    fn cqlsh(&self, args: &[&str], stdin: &str) -> Run {
        let mut cmd = self.base_command();
        cmd.args(args);
        run(cmd, stdin)
    }

    fn session(&self) -> Session {
        self.rt
            .block_on(SessionBuilder::new().known_node_addr(self.addr).build())
            .expect("driver connects")
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(n) = self.node.take() {
            let _ = self.rt.block_on(n.shutdown());
        }
    }
}

/// Runs a child to completion within [`DEADLINE`] (killed and failed otherwise).
fn run(mut cmd: Command, stdin: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sibyl cqlsh");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(data.as_bytes());
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cqlsh did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    Run {
        code: status.code(),
        stdout: out_t.join().expect("stdout thread"),
        stderr: err_t.join().expect("stderr thread"),
    }
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

const SETUP: &str =
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};\n";

#[test]
fn batch_output_matches_cqlsh() {
    // Checks a -f script's whole stdout and stderr against what Python cqlsh prints:
    // tables of every kind of value, nulls, empty results, EXPAND ON, DESCRIBE,
    // CONSISTENCY/PAGING messages, per-page layout, and error lines prefixed with
    // file:line; exit code 2 because statements failed.
    let n = TestNode::start();
    let script = format!(
        "{SETUP}USE ks;
CREATE TYPE addr (street text, zip int);
CREATE TABLE t (k int, c int, name text, data blob, at timestamp, tags set<text>,
    scores map<text, int>, home frozen<addr>, pair tuple<int, text>, ok boolean, ratio double,
    PRIMARY KEY (k, c));
INSERT INTO t (k, c, name, data, at, tags, scores, home, pair, ok, ratio)
  VALUES (1, 1, 'it''s', 0xcafe, '2024-01-02 03:04:05.678+0000', {{'b', 'a'}}, {{'x': 1, 'y': 2}},
          {{street: 'Main St', zip: 12345}}, (7, 'seven'), true, 1.5);
INSERT INTO t (k, c, name) VALUES (1, 2, 'line1
line2');
INSERT INTO t (k, c) VALUES (2, 1);
SELECT * FROM t;
SELECT k, name FROM t WHERE k = 3;
SELECT count(*) FROM t;
EXPAND ON
SELECT k, c, name, home FROM t WHERE k = 1 AND c = 1;
EXPAND
EXPAND OFF
CONSISTENCY
CONSISTENCY local_quorum
CONSISTENCY NOPE
SERIAL CONSISTENCY LOCAL_SERIAL
PAGING 2
SELECT k, c FROM t;
PAGING OFF
SELEC * FROM t;
SELECT * FROM nope;
CREATE TABLE t (k int PRIMARY KEY);
CREATE KEYSPACE ks WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}};
INSERT INTO t (k, c) VALUES (3, 3) IF NOT EXISTS;
INSERT INTO t (k, c) VALUES (3, 3) IF NOT EXISTS;
DESCRIBE TYPE addr;
DESC TABLES
"
    );
    let file = write_file(n.home.path(), "script.cql", &script);
    let r = n.cqlsh(&["-f", &file], "");
    let expected_out = "
 k | c | at                              | data   | home                            | name         | ok   | pair         | ratio | scores           | tags
---+---+---------------------------------+--------+---------------------------------+--------------+------+--------------+-------+------------------+------------
 1 | 1 | 2024-01-02 03:04:05.678000+0000 | 0xcafe | {street: 'Main St', zip: 12345} |         it's | True | (7, 'seven') |   1.5 | {'x': 1, 'y': 2} | {'a', 'b'}
 1 | 2 |                            null |   null |                            null | line1\\nline2 | null |         null |  null |             null |       null
 2 | 1 |                            null |   null |                            null |         null | null |         null |  null |             null |       null

(3 rows)

 k | name
---+------


(0 rows)

 count
-------
     3

(1 rows)
Now Expanded output is enabled

@ Row 1
------+---------------------------------
 k    | 1
 c    | 1
 name | it's
 home | {street: 'Main St', zip: 12345}


(1 rows)
Expanded output is currently enabled. Use EXPAND OFF to disable
Disabled Expanded output.
Current consistency level is ONE.
Consistency level set to LOCAL_QUORUM.
Serial consistency level set to LOCAL_SERIAL.
Page size: 2

 k | c
---+---
 1 | 1
 1 | 2
 2 | 1

(3 rows)
Disabled Query paging.

 [applied]
-----------
      True

 [applied] | k | c | at   | data | home | name | ok   | pair | ratio | scores | tags
-----------+---+---+------+------+------+------+------+------+-------+--------+------
     False | 3 | 3 | null | null | null | null | null | null |  null |   null | null

CREATE TYPE ks.addr (
    street text,
    zip int
);

t

";
    assert_eq!(
        r.stdout, expected_out,
        "stdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    let expected_err = format!(
        "{file}:23:Improper consistency command.
{file}:28:SyntaxException: Error from server: code=2000 [Syntax error in CQL query] message=\"line 1:0 no viable alternative at input 'SELEC'\"
{file}:29:InvalidRequest: Error from server: code=2200 [Invalid query] message=\"unconfigured table nope\"
{file}:30:AlreadyExists: Table 'ks.t' already exists
{file}:31:AlreadyExists: Keyspace 'ks' already exists
"
    );
    assert_eq!(r.stderr, expected_err);
    assert_eq!(
        r.code,
        Some(2),
        "a failed statement in batch mode exits 2, as cqlsh"
    );
}

#[test]
fn execute_pipes_and_exit_codes() {
    // Checks -e (with and without a trailing ';'), -k, a piped multi-line script with
    // no prompts, SOURCE with an error inside the sourced file (reported with that
    // file's name and line), an incomplete statement at end of input, and the exit
    // codes: 0 ok, 2 after a failed statement, 1 without a node, 2 for usage errors.
    let n = TestNode::start();
    let r = n.cqlsh(&["-e", SETUP.trim()], "");
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (Some(0), "", "")
    );
    let r = n.cqlsh(
        &[
            "-k",
            "ks",
            "-e",
            "CREATE TABLE t (k int PRIMARY KEY, v text)",
        ],
        "",
    );
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""));

    let r = n.cqlsh(&["-e", "SELEC 1"], "");
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "<stdin>:1:SyntaxException: Error from server: code=2000 [Syntax error in CQL query] message=\"line 1:0 no viable alternative at input 'SELEC'\"\n"
    );

    let sourced = write_file(
        n.home.path(),
        "inner.cql",
        "INSERT INTO t (k, v) VALUES (2, 'two');\nINSERT INTO t (k, nope) VALUES (3, 'x');\n",
    );
    let piped = format!(
        "USE ks;\nINSERT INTO t (k, v)\n  VALUES (1, 'one');\n-- a comment; not a statement\nSOURCE '{sourced}'\nSELECT v\nFROM t WHERE k = 2;\n"
    );
    let r = n.cqlsh(&[], &piped);
    assert_eq!(r.stdout, "\n v\n-----\n two\n\n(1 rows)\n", "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!("{sourced}:3:InvalidRequest: Error from server: code=2200 [Invalid query] message=\"Undefined column name nope in table ks.t\"\n")
    );
    assert_eq!(r.code, Some(2));
    assert!(!r.stdout.contains("cqlsh"), "no prompts on a pipe");

    let r = n.cqlsh(&["-k", "ks"], "SELECT * FROM t WHERE k = 1;\nSELECT *\n");
    assert!(
        r.stdout.contains(" k | v\n---+-----\n 1 | one\n"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, "<stdin>:3:Incomplete statement at end of file\n");
    assert_eq!(r.code, Some(2));

    let r = n.cqlsh(&["-k", "nope", "-e", "SELECT 1"], "");
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.starts_with("Connection error: "), "{}", r.stderr);

    // A port nobody listens on: bind one, note it, close it.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = free.local_addr().expect("addr").port().to_string();
    drop(free);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sibyl"));
    cmd.args(["cqlsh", "127.0.0.1", &port, "-e", "SELECT 1"]);
    let r = run(cmd, "");
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .starts_with("Connection error: ('Unable to connect to any servers'"),
        "{}",
        r.stderr
    );

    let r = n.cqlsh(&["--protocol-version", "9", "-e", "SELECT 1"], "");
    assert_eq!(r.code, Some(2), "usage errors exit 2: {}", r.stderr);
}

#[test]
fn protocol_versions() {
    // Checks that the shell negotiates v5 by default, honours --protocol-version 4 and
    // 3, and that results (paged, with collections) decode the same in each.
    let n = TestNode::start();
    let setup = format!("{SETUP}CREATE TABLE ks.t (k int PRIMARY KEY, l list<int>);\nINSERT INTO ks.t (k, l) VALUES (1, [1, 2]);\n");
    assert_eq!(n.cqlsh(&[], &setup).code, Some(0));
    for (args, v) in [
        (vec![], 5),
        (vec!["--protocol-version", "4"], 4),
        (vec!["--protocol-version", "3"], 3),
    ] {
        let mut a = args.clone();
        a.extend(["-e", "SHOW VERSION"]);
        let r = n.cqlsh(&a, "");
        assert!(
            r.stdout.contains(&format!("| Native protocol v{v}]")),
            "{args:?}: {}{}",
            r.stdout,
            r.stderr
        );
        let mut a = args.clone();
        a.extend(["-e", "SELECT * FROM ks.t"]);
        let r = n.cqlsh(&a, "");
        assert_eq!(
            r.stdout, "\n k | l\n---+--------\n 1 | [1, 2]\n\n(1 rows)\n",
            "{args:?}"
        );
    }
}

/// The text value of row `k` in the COPY test: commas, quotes, newlines (LF and
/// CRLF), backslashes, non-ASCII, and nulls.
fn copy_text(k: i32) -> Option<String> {
    match k % 8 {
        0 => None,
        1 => Some(format!("plain {k}")),
        2 => Some(format!("comma, separated, {k}")),
        3 => Some(format!("say \"hi\" and 'bye' {k}")),
        4 => Some(format!("line one\nline two {k}")),
        5 => Some(format!("crlf\r\n{k},\"")),
        6 => Some(format!("back\\slash é日本 {k}")),
        _ => Some(format!("{k}")),
    }
}

type CopyRow = (
    Option<String>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<String>>,
    Option<scylla::value::CqlTimestamp>,
);

fn copy_row(k: i32) -> CopyRow {
    (
        copy_text(k),
        (k % 5 != 0).then(|| i64::from(k) * 1_000_003 - 7),
        (k % 6 != 0).then(|| k.to_be_bytes().to_vec()),
        (k % 4 != 0).then(|| vec![format!("a,{k}"), "it's \"x\"".to_string(), String::new()]),
        (k % 11 != 0).then_some(scylla::value::CqlTimestamp(
            1_700_000_000_000 + i64::from(k) * 1001,
        )),
    )
}

fn read_all(n: &TestNode, s: &Session) -> BTreeMap<i32, CopyRow> {
    n.rt.block_on(async {
        let mut rows = s
            .query_iter("SELECT k, t, n, b, l, ts FROM ks.c", ())
            .await
            .expect("query_iter")
            .rows_stream::<(
                i32,
                Option<String>,
                Option<i64>,
                Option<Vec<u8>>,
                Option<Vec<String>>,
                Option<scylla::value::CqlTimestamp>,
            )>()
            .expect("typed");
        let mut all = BTreeMap::new();
        while let Some(r) = rows.next().await {
            let (k, t, nn, b, l, ts) = r.expect("row");
            all.insert(k, (t, nn, b, l, ts));
        }
        all
    })
}

#[test]
fn copy_round_trip_of_100k_rows() {
    // Checks COPY TO then TRUNCATE then COPY FROM of 100 000 rows whose values hold
    // commas, quotes, newlines, backslashes, non-ASCII text, lists of strings,
    // blobs, timestamps and nulls: every row read back through the scylla driver
    // equals what was written.
    let n = TestNode::start();
    let s = n.session();
    n.rt.block_on(async {
        s.query_unpaged(SETUP.trim(), ()).await.expect("ks");
        s.query_unpaged(
            "CREATE TABLE ks.c (k int PRIMARY KEY, t text, n bigint, b blob, l list<text>, ts timestamp)",
            (),
        )
        .await
        .expect("table");
        let ins = s
            .prepare("INSERT INTO ks.c (k, t, n, b, l, ts) VALUES (?, ?, ?, ?, ?, ?)")
            .await
            .expect("prepare");
        futures::stream::iter(0..COPY_ROWS)
            .map(|k| {
                let (ins, s) = (&ins, &s);
                async move {
                    let (t, nn, b, l, ts) = copy_row(k);
                    s.execute_unpaged(ins, (k, t, nn, b, l, ts)).await
                }
            })
            .buffer_unordered(64)
            .try_for_each(|_| async { Ok(()) })
            .await
            .expect("insert");
    });
    let expected: BTreeMap<i32, CopyRow> = (0..COPY_ROWS).map(|k| (k, copy_row(k))).collect();
    assert_eq!(
        read_all(&n, &s),
        expected,
        "the driver reads back what it wrote"
    );

    let csv = n.home.path().join("c.csv").display().to_string();
    let r = n.cqlsh(
        &["-e", &format!("COPY ks.c TO '{csv}' WITH HEADER = true")],
        "",
    );
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""), "{}", r.stdout);
    assert!(
        r.stdout
            .starts_with("\nStarting copy of ks.c with columns [k, b, l, n, t, ts].\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\n100000 rows exported to 1 files in "),
        "{}",
        r.stdout
    );
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(
        text.starts_with("k,b,l,n,t,ts\n"),
        "{}",
        &text[..200.min(text.len())]
    );

    n.rt.block_on(s.query_unpaged("TRUNCATE ks.c", ()))
        .expect("truncate");
    assert!(read_all(&n, &s).is_empty());

    let r = n.cqlsh(
        &["-e", &format!("COPY ks.c FROM '{csv}' WITH HEADER = true")],
        "",
    );
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""), "{}", r.stdout);
    assert!(
        r.stdout.contains("\n100000 rows imported from 1 files in "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with(" (0 skipped).\n"), "{}", r.stdout);
    let back = read_all(&n, &s);
    assert_eq!(back.len(), expected.len());
    for (k, row) in &expected {
        assert_eq!(back.get(k), Some(row), "row {k}");
    }
}

#[test]
fn copy_options_and_bad_rows() {
    // Checks COPY TO STDOUT with DELIMITER, NULL and a column list (no progress or
    // summary lines mixed into the CSV), empty strings kept apart from nulls with
    // NULL='NULL', and COPY FROM reporting a row it cannot parse and one with a null
    // key while importing the others (exit 2).
    let n = TestNode::start();
    let setup = format!("{SETUP}CREATE TABLE ks.o (k int PRIMARY KEY, t text, n int);\nINSERT INTO ks.o (k, t, n) VALUES (1, '', 10);\nINSERT INTO ks.o (k, t) VALUES (2, 'a|b');\n");
    assert_eq!(n.cqlsh(&[], &setup).code, Some(0));
    let r = n.cqlsh(
        &[
            "-e",
            "COPY ks.o (k, t, n) TO STDOUT WITH DELIMITER = '|' AND NULL = 'NULL'",
        ],
        "",
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines, vec!["1||10", "2|\"a|b\"|NULL"]);

    let csv = write_file(
        n.home.path(),
        "in.csv",
        "k,t,n\n3,,30\n4,NULL,NULL\nx,bad,1\nNULL,k,1\n5,\"multi\nline\",50\n",
    );
    let r = n.cqlsh(
        &[
            "-e",
            &format!("COPY ks.o (k, t, n) FROM '{csv}' WITH HEADER = true AND NULL = 'NULL'"),
        ],
        "",
    );
    assert_eq!(r.code, Some(2));
    assert!(
        r.stdout.contains("\n3 rows imported from 1 files in "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with(" (2 skipped).\n"), "{}", r.stdout);
    let errs: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errs.len(), 2, "{}", r.stderr);
    assert!(
        errs[0].starts_with(
            "<stdin>:1:Failed to import 1 rows (line 4): ParseError - Failed to parse x"
        ),
        "{}",
        errs[0]
    );
    assert!(
        errs[1].contains("Cannot insert null value for primary key column 'k'"),
        "{}",
        errs[1]
    );
    let r = n.cqlsh(&["-e", "SELECT k, t, n FROM ks.o WHERE k IN (3, 4, 5)"], "");
    assert_eq!(
        r.stdout,
        "\n k | t           | n\n---+-------------+------\n 3 |             |   30\n 4 |        null | null\n 5 | multi\\nline |   50\n\n(3 rows)\n"
    );
}

/// A pseudo-terminal pair: (master, slave).
fn open_pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let ws = libc::winsize {
        ws_row: 40,
        ws_col: 200,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty stores two new descriptors in `master` and `slave`; a null name
    // and termios are allowed, and `ws` outlives the call.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// What the terminal showed so far, collected by a reader thread that also answers
/// rustyline's cursor-position queries (`ESC [ 6 n`) as a terminal would.
struct Screen {
    output: Arc<Mutex<Vec<u8>>>,
    master: std::fs::File,
}

impl Screen {
    fn new(master: OwnedFd) -> Screen {
        let master = std::fs::File::from(master);
        let mut reader = master.try_clone().expect("dup master");
        let mut answerer = master.try_clone().expect("dup master");
        let output = Arc::new(Mutex::new(Vec::new()));
        let out = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut queries_answered = 0;
            // Ends with EIO once the child has exited and the slave is closed.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut all = out.lock().expect("lock");
                all.extend_from_slice(&buf[..n]);
                let queries = all.windows(4).filter(|w| w == b"\x1b[6n").count();
                while queries_answered < queries {
                    let _ = answerer.write_all(b"\x1b[1;1R");
                    queries_answered += 1;
                }
            }
        });
        Screen { output, master }
    }

    fn len(&self) -> usize {
        self.output.lock().expect("lock").len()
    }

    /// Waits until `pattern` appears after byte `from`; returns the end of the match.
    fn expect(&self, from: usize, pattern: &str) -> usize {
        let start = Instant::now();
        loop {
            {
                let all = self.output.lock().expect("lock");
                let hay = &all[from.min(all.len())..];
                if let Some(p) = hay
                    .windows(pattern.len())
                    .position(|w| w == pattern.as_bytes())
                {
                    return from + p + pattern.len();
                }
                assert!(
                    start.elapsed() < DEADLINE,
                    "terminal never showed {pattern:?}; it shows:\n{}",
                    String::from_utf8_lossy(&all)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the first of `patterns` to appear after `from`; returns the end of
    /// the match and the pattern.
    fn expect_any<'p>(&self, from: usize, patterns: &[&'p str]) -> (usize, &'p str) {
        let start = Instant::now();
        loop {
            {
                let all = self.output.lock().expect("lock");
                let hay = &all[from.min(all.len())..];
                let found = patterns
                    .iter()
                    .filter_map(|p| {
                        hay.windows(p.len())
                            .position(|w| w == p.as_bytes())
                            .map(|i| (i, *p))
                    })
                    .min();
                if let Some((i, p)) = found {
                    return (from + i + p.len(), p);
                }
                assert!(
                    start.elapsed() < DEADLINE,
                    "terminal never showed any of {patterns:?}; it shows:\n{}",
                    String::from_utf8_lossy(&all)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        let all = self.output.lock().expect("lock");
        String::from_utf8_lossy(&all[from..to.min(all.len())]).into_owned()
    }

    fn typed(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("type");
    }
}

/// `text` without ANSI escape sequences and carriage returns.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

#[test]
fn interactive_terminal() {
    // Checks the shell on a real pseudo-terminal: the banner and prompts, a statement
    // typed over three lines with continuation prompts, a coloured table, USE changing
    // the prompt, PAGING 1 pausing at ---MORE--- until Enter, EXIT, and the statement
    // saved (as one line) in $HOME/.sibyl/cqlsh_history.
    let n = TestNode::start();
    let setup = format!("{SETUP}CREATE TABLE ks.t (k int PRIMARY KEY, v text);\nINSERT INTO ks.t (k, v) VALUES (1, 'one');\nINSERT INTO ks.t (k, v) VALUES (2, 'two');\n");
    assert_eq!(n.cqlsh(&[], &setup).code, Some(0));

    let (master, slave) = open_pty();
    let mut cmd = n.base_command();
    cmd.env("TERM", "xterm")
        .stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave));
    // SAFETY: between fork and exec the child only calls setsid and ioctl, both
    // async-signal-safe, to make the pty its controlling terminal.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn cqlsh on a pty");
    drop(cmd); // closes the parent's copies of the slave
    let mut screen = Screen::new(master);

    let mut at = screen.expect(0, "Use HELP for help.");
    at = screen.expect(at, "cqlsh> ");
    screen.typed("USE ks;\r");
    at = screen.expect(at, "cqlsh:ks> ");
    screen.typed("SELECT k,\r");
    at = screen.expect(at, "      ... ");
    screen.typed("v FROM t\r");
    at = screen.expect(at, "      ... ");
    let table_start = at;
    screen.typed(";\r");
    at = screen.expect(at, "(2 rows)");
    let raw = screen.text(table_start, at);
    at = screen.expect(at, "cqlsh:ks> ");
    let plain = strip_ansi(&raw);
    assert!(plain.contains(" k | v\n---+-----\n"), "{plain:?}");
    assert!(
        plain.contains(" 1 | one\n") && plain.contains(" 2 | two\n"),
        "{plain:?}"
    );
    assert!(
        raw.contains("\x1b[0;1;31mk\x1b[0m"),
        "partition key header in red: {raw:?}"
    );
    assert!(
        raw.contains("\x1b[0;1;33mone\x1b[0m"),
        "text in yellow: {raw:?}"
    );

    screen.typed("PAGING 1\r");
    at = screen.expect(at, "Page size: 1");
    screen.typed("SELECT k FROM t;\r");
    at = screen.expect(at, "---MORE---");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !screen.text(at, screen.len()).contains("(2 rows)"),
        "waits at ---MORE---"
    );
    // Each full page may be followed by another (the last one can be empty, as
    // with Cassandra); Enter at each ---MORE--- until the count appears.
    loop {
        screen.typed("\r");
        let more = screen.expect_any(at, &["---MORE---", "(2 rows)"]);
        at = more.0;
        if more.1 == "(2 rows)" {
            break;
        }
    }
    let paged = strip_ansi(&screen.text(0, at));
    assert!(
        paged.contains(" k\n---\n 1\n") && paged.contains(" k\n---\n 2\n"),
        "{paged}"
    );
    at = screen.expect(at, "cqlsh:ks> ");
    screen.typed("EXIT\r");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "cqlsh did not exit; screen:\n{}",
                screen.text(at, usize::MAX)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let history = std::fs::read_to_string(n.home.path().join(".sibyl").join("cqlsh_history"))
        .expect("history file");
    assert!(history.contains("SELECT k, v FROM t ;"), "{history}");
    assert!(history.contains("USE ks;"), "{history}");
}
