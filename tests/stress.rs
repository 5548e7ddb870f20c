//! `sibyl stress` against a real node, both run as processes the way an operator
//! runs them. Checks: a `read` of the empty table warns and counts every read as a
//! miss; `write --ops 5000 --key-count 5000` reports 5000 operations and no errors,
//! and `SELECT COUNT(*)` (through the scylla driver) then finds exactly 5000 rows,
//! because write's keys are sequential; a short fixed-rate `mixed` run keeps its rate
//! and draws a non-empty SVG, and a YCSB run prints its table and draws a PNG; a bad
//! `--plot` name is refused before any load is sent. The node listens on its own
//! loopback address and a port it picks (read from its log), and is stopped by the
//! pid this test started. Every step is bounded in time.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scylla::client::session_builder::SessionBuilder;

/// The loopback address of this file's node (127.0.60.0/24 belongs to these tests).
const HOST: &str = "127.0.60.1";

/// Longest the node may take to start or stop.
const NODE_DEADLINE: Duration = Duration::from_secs(30);

/// Longest one `sibyl stress` run may take (the runs below last about 2 s each).
const STRESS_DEADLINE: Duration = Duration::from_secs(120);

/// A `sibyl server` child, stopped by SIGTERM to its own pid when dropped.
struct NodeProcess {
    child: Child,
    addr: SocketAddr,
}

impl NodeProcess {
    fn start(data: &Path) -> NodeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sibyl"))
            .args([
                "server",
                "--listen-address",
                HOST,
                "--native-port",
                "0",
                "--admin-port",
                "0",
            ])
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sibyl server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("CQL native transport listening").nth(1) {
                    let _ = tx.send(rest.to_string());
                }
                // Keep draining so the node never blocks on a full pipe.
            }
        });
        let line = match rx.recv_timeout(NODE_DEADLINE) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                panic!("the node did not log its address within {NODE_DEADLINE:?}: {e}");
            }
        };
        let addr = strip_ansi(&line)
            .split("address=")
            .nth(1)
            .and_then(|a| a.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        NodeProcess { child, addr }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of the child this test spawned.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let stop = Instant::now();
        while stop.elapsed() < NODE_DEADLINE {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `s` without terminal colour sequences (`ESC [ … m`), which the log may carry.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (false, c) => out.push(c),
            (true, 'm') => in_escape = false,
            (true, _) => {}
        }
    }
    out
}

/// Runs `sibyl stress ARGS --host --port` to completion within [`STRESS_DEADLINE`].
fn stress(node: &NodeProcess, args: &[&str]) -> Output {
    let port = node.addr.port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .arg("stress")
        .args(args)
        .args(["--host", HOST, "--port", &port, "--threads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sibyl stress");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > STRESS_DEADLINE {
            let _ = child.kill();
            panic!("sibyl stress {args:?} ran past {STRESS_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// The JSON report of a successful run.
fn report(out: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stress failed: {stderr}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn count(v: &serde_json::Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
}

#[test]
fn stress_writes_what_it_reports_and_plots() {
    let dir = tempfile::tempdir().expect("tmp");
    let node = NodeProcess::start(&dir.path().join("node"));

    // Reads before any write: a warning, and every read is a miss, not an error.
    let out = stress(
        &node,
        &["read", "--ops", "200", "--key-count", "5000", "--json"],
    );
    let r = report(&out);
    assert_eq!((count(&r, "ops"), count(&r, "errors")), (200, 0));
    assert_eq!(count(&r, "misses"), 200);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is empty"),
        "read of an empty table warns"
    );

    let out = stress(
        &node,
        &[
            "write",
            "--ops",
            "5000",
            "--key-count",
            "5000",
            "--concurrency",
            "16",
            "--connections",
            "2",
            "--json",
        ],
    );
    let r = report(&out);
    assert_eq!((count(&r, "ops"), count(&r, "errors")), (5000, 0), "{r}");
    assert_eq!(r["by_op"][0]["op"], "write");
    assert_eq!(count(&r["by_op"][0], "ops"), 5000);
    assert!(r["latency"]["p99_us"].as_u64().unwrap_or(0) > 0);
    assert!(r["ops_per_s"].as_f64().unwrap_or(0.0) > 0.0);

    let rows = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let session = SessionBuilder::new()
                .known_node_addr(node.addr)
                .build()
                .await
                .expect("driver connects");
            let result = session
                .query_unpaged("SELECT COUNT(*) FROM sibyl_stress.kv", ())
                .await
                .expect("count");
            let (n,): (i64,) = result
                .into_rows_result()
                .expect("rows")
                .single_row()
                .expect("one row");
            n
        });
    assert_eq!(
        rows, 5000,
        "write --ops N --key-count N writes N distinct keys"
    );

    // A fixed-rate mixed run over the written keys.
    let svg = dir.path().join("mixed.svg");
    let out = stress(
        &node,
        &[
            "mixed",
            "--duration",
            "2s",
            "--rate",
            "500",
            "--key-count",
            "5000",
            "--json",
            "--plot",
            svg.to_str().expect("utf-8 path"),
        ],
    );
    let r = report(&out);
    assert_eq!(count(&r, "errors"), 0);
    let ops = count(&r, "ops");
    assert!((700..=1000).contains(&ops), "≈500 ops/s for 2 s, got {ops}");
    assert_eq!(r["settings"]["rate_ops_per_s"].as_f64(), Some(500.0));
    assert!(count(&r, "late_ops") <= ops, "late sends are counted");
    assert!(r["schedule_lag"]["p99_us"].is_u64(), "{r}");
    let svg_text = std::fs::read_to_string(&svg).expect("svg written");
    assert!(svg_text.contains("<svg") && svg_text.contains("ops/s"));

    let png = dir.path().join("ycsb.png");
    let out = stress(
        &node,
        &[
            "ycsb-b",
            "--duration",
            "2s",
            "--key-count",
            "5000",
            "--plot",
            png.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("total") && table.contains("p99.9 ms"),
        "{table}"
    );
    let bytes = std::fs::read(&png).expect("png written");
    assert!(bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"));

    // A bad option is a usage error: exit 2, like every sibyl subcommand.
    let out = stress(&node, &["write", "--ops", "10", "--plot", "x.gif"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".svg or .png"));
}
