//! `sibyl server`'s configuration as an operator meets it, through the real binary:
//! every kind of bad value in a `--conf` file or on the command line is refused
//! before anything starts, with exit code 2 and one line naming the file, line and
//! key; a failure while starting exits 1; a good file starts a node that serves on
//! the configured loopback address (checked over TCP), logs JSON lines with
//! `--log-format json`, and exits 0 on SIGTERM sent to its pid.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest the server may take to start or stop before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// A loopback address no other test uses, so the node's port is free to pick.
const NODE_ADDRESS: &str = "127.0.40.1";

fn sibyl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sibyl")
}

/// Runs `sibyl server --conf FILE` with `yaml` in FILE; it must be refused.
fn refused_conf(dir: &Path, yaml: &str) -> (Option<i32>, String) {
    let conf = dir.join("bad.yaml");
    std::fs::write(&conf, yaml).expect("write conf");
    let data = dir.join("data");
    let out = sibyl(&[
        "server",
        "--conf",
        conf.to_str().expect("utf-8 path"),
        "--data-dir",
        data.to_str().expect("utf-8 path"),
    ]);
    assert!(
        !data.exists(),
        "a refused configuration must create nothing"
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_bad_value_in_a_conf_file_is_refused_with_its_key_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.yaml").display().to_string();
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown key",
            "cluster_name: x\ncomitlog_sync: batch\n",
            ":2: unknown key 'comitlog_sync' (did you mean 'commitlog_sync'?)",
        ),
        (
            "bad duration",
            "commitlog_sync_period: 10 seconds\n",
            ":1: commitlog_sync_period: expected a duration such as 500ms, 10s or 2m (units: d, h, m, s, ms, us, ns), got \"10 seconds\"",
        ),
        (
            "bad size",
            "file_cache_size: 512MB\n",
            ":1: file_cache_size: expected a size such as 512KiB, 16MiB or 1GiB (units: B, KiB, MiB, GiB), got \"512MB\"",
        ),
        (
            "bad rate",
            "compaction_throughput: fast\n",
            ":1: compaction_throughput: expected a rate such as 64MiB/s (units: B/s, KiB/s, MiB/s), got \"fast\"",
        ),
        (
            "bad address",
            "listen_address: 127.0.0.256\n",
            ":1: listen_address: expected an IP address such as 127.0.0.1, got \"127.0.0.256\"",
        ),
        (
            "bad enum",
            "commitlog_sync: sometimes\n",
            ":1: commitlog_sync: expected periodic, group or batch, got \"sometimes\"",
        ),
        (
            "bad port",
            "native_transport_port: 70000\n",
            ":1: native_transport_port: expected a port number from 0 to 65535, got 70000",
        ),
        (
            "wrong type",
            "hinted_handoff_enabled: [true]\n",
            ":1: hinted_handoff_enabled: expected true or false, got a list",
        ),
        (
            "bad seed",
            "seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n      - seeds: \"127.0.0.1,node-b\"\n",
            ":1: seed_provider: seeds: expected addresses such as 127.0.0.1 or 127.0.0.1:7000, separated by commas, got \"node-b\"",
        ),
        (
            "not YAML",
            "cluster_name: 'unterminated\n",
            "not valid YAML",
        ),
    ];
    for (what, yaml, want) in cases {
        let (code, stderr) = refused_conf(dir.path(), yaml);
        assert_eq!(code, Some(2), "{what}: exit code; stderr: {stderr}");
        let expected = format!("sibyl: {file}{want}");
        assert!(
            stderr.starts_with(&expected) || (want.starts_with("not") && stderr.contains(want)),
            "{what}:\n got: {stderr}\nwant: {expected}"
        );
        assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr}");
    }
}

#[test]
fn a_missing_conf_file_and_bad_flags_are_usage_errors() {
    let out = sibyl(&["server", "--conf", "/nonexistent/sibyl.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("sibyl: /nonexistent/sibyl.yaml: cannot read the configuration file"),
        "{stderr}"
    );
    for args in [
        &["server", "--listen-address", "nope"][..],
        &["server", "--native-port", "70000"],
        &["server", "--commitlog-sync", "sometimes"],
        &["server", "--seeds", "127.0.0.1,,x"],
        &["server", "--log-format", "xml"],
    ] {
        let out = sibyl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("sibyl: "), "{args:?}: {stderr}");
    }
}

#[test]
fn a_failure_while_starting_exits_1() {
    // The data directory is a regular file: the configuration is fine, opening fails.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .args([
            "server",
            "--native-port",
            "0",
            "--admin-port",
            "0",
            "--listen-address",
            NODE_ADDRESS,
        ])
        .arg("--data-dir")
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("sibyl: "), "{stderr}");
}

/// Kills the child if the test fails before it stops.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_good_conf_file_starts_a_node_that_logs_json_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let conf = dir.path().join("node.yaml");
    // Port 0: the node picks a free port and logs it, so no port is guessed.
    std::fs::write(
        &conf,
        format!(
            "cluster_name: 'Config Test'\nlisten_address: {NODE_ADDRESS}\n\
             native_transport_port: 0\nadmin_port: 0\ncommitlog_sync: batch\ncommitlog_segment_size: 1MiB\n\
             memtable_heap_space: 16MiB\nfile_cache_size: 8MiB\n\
             commitlog_sync_period_in_ms: 5000\n"
        ),
    )
    .expect("write conf");
    let child = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .arg("server")
        .arg("--conf")
        .arg(&conf)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sibyl server");
    let mut child = Reaper(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut lines = Vec::new();
    let addr: SocketAddr = loop {
        let left = DEADLINE.saturating_sub(start.elapsed());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no listening line within {DEADLINE:?}: {lines:?}"));
        let json: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        lines.push(line);
        if json["fields"]["message"] == "CQL native transport listening" {
            let address = json["fields"]["address"].as_str().expect("address field");
            break address.parse().expect("socket address");
        }
    };
    assert_eq!(addr.ip().to_string(), NODE_ADDRESS);
    TcpStream::connect_timeout(&addr, DEADLINE).expect("the node accepts connections");

    // SAFETY: kill(2) on the pid of the child this test spawned.
    let rc = unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let stop = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            assert!(status.success(), "clean shutdown exits 0, got {status}");
            break;
        }
        assert!(
            stop.elapsed() < DEADLINE,
            "no stop within {DEADLINE:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Whatever else was logged on the way out is JSON too.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) {
        serde_json::from_str::<serde_json::Value>(&line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
    }
}
