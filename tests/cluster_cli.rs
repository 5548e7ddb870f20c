//! `sibyl cluster` through the real binary, on a private loopback range
//! (127.0.41.1-3) and a temporary directory: `start -n 3` brings up three nodes whose
//! native ports accept TCP, `status` shows them UP, `stop` ends exactly the recorded
//! pids and never a pid that is not one of its nodes, and `clear` removes the
//! directory (but refuses one it did not create). Every wait is bounded by the
//! tool's own timeouts; a guard stops the nodes if an assertion fails midway.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// First three octets of this test's node addresses; no other test uses them.
const IP_PREFIX: &str = "127.0.41.";

/// How long a connect to a node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

fn cluster(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .arg("cluster")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run sibyl cluster")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `pid` is alive as a process (not a zombie).
fn alive(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

/// Stops the cluster if the test fails before it does.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = cluster(&self.0, &["stop"]);
        }
    }
}

#[test]
fn start_status_stop_clear_three_nodes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("cluster");
    let _guard = StopOnDrop(dir.clone());

    let out = cluster(&dir, &["start", "-n", "3", "--ip-prefix", IP_PREFIX]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "start: {}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3, "a line per node: {text}");
    let mut pids = Vec::new();
    for i in 1..=3 {
        let addr = format!("{IP_PREFIX}{i}:9042");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("node{i} {addr} UP"))),
            "{text}"
        );
        TcpStream::connect_timeout(&addr.parse().expect("addr"), CONNECT_TIMEOUT)
            .unwrap_or_else(|e| panic!("node{i} on {addr} accepts TCP: {e}"));
        let pid: i32 = std::fs::read_to_string(dir.join(format!("node{i}/pid")))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        assert!(alive(pid));
        pids.push(pid);
        // The node's data lives under its own directory.
        assert!(dir.join(format!("node{i}/commitlog")).is_dir());
    }

    let out = cluster(&dir, &["status"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.ends_with("UP")).count(),
        3,
        "{text}"
    );
    for pid in &pids {
        assert!(text.contains(&pid.to_string()), "{text}");
    }

    let out = cluster(&dir, &["stop"]);
    assert_eq!(out.status.code(), Some(0), "stop: {}", stdout(&out));
    let text = stdout(&out);
    for (i, pid) in pids.iter().enumerate() {
        assert!(
            text.contains(&format!("node{} stopped (pid {pid})", i + 1)),
            "{text}"
        );
        assert!(!alive(*pid), "pid {pid} still running after stop");
    }
    let out = cluster(&dir, &["status"]);
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.ends_with("DOWN")).count(),
        3,
        "{text}"
    );

    // A recorded pid that now belongs to an unrelated process is left alone.
    let mut stranger = Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    std::fs::write(dir.join("node1/pid"), format!("{}\n", stranger.id())).expect("write pid");
    let out = cluster(&dir, &["stop"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("node1 not running"),
        "{}",
        stdout(&out)
    );
    assert!(
        stranger.try_wait().expect("wait").is_none(),
        "stop signalled a process that is not its node"
    );
    let _ = stranger.kill();
    let _ = stranger.wait();

    let out = cluster(&dir, &["clear"]);
    assert_eq!(out.status.code(), Some(0), "clear: {}", stdout(&out));
    assert!(!dir.exists(), "clear removes the cluster directory");
}

#[test]
fn clear_refuses_a_directory_it_did_not_create() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("precious"), "x").expect("write");
    let out = cluster(tmp.path(), &["clear"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("sibyl: no cluster in "), "{stderr}");
    assert!(tmp.path().join("precious").exists());
    let out = cluster(tmp.path(), &["start", "--ip-prefix", IP_PREFIX]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "start without -n on an empty directory"
    );
    let out = cluster(tmp.path(), &["start", "-n", "2", "--ip-prefix", "127.0.41"]);
    assert_eq!(out.status.code(), Some(2), "a bad prefix is a usage error");
}
