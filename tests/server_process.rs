//! The `sibyl` binary as an operator runs it: `sibyl server` starts on a fresh data
//! directory with no configuration, creates its directories, stops cleanly on
//! SIGTERM (sent to the pid this test started, and no other), and `sibyl sstable
//! dump` fails with exit code 1 and one clear sentence on a path that is not an sstable.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest the server may take to start or stop before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

#[test]
fn server_starts_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("node1");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .args([
            "server",
            "--native-port",
            "0",
            "--storage-port",
            "0",
            "--admin-port",
            "0",
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sibyl server");
    let start = Instant::now();
    while !(data.join("commitlog").is_dir() && data.join("data").is_dir()) {
        assert!(
            start.elapsed() < DEADLINE,
            "server did not create its directories"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "server exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A segment file appears once the commitlog is open for writing.
    while std::fs::read_dir(data.join("commitlog"))
        .expect("ls")
        .count()
        == 0
    {
        assert!(start.elapsed() < DEADLINE, "no commitlog segment");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on the pid of the child this test spawned.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let stop = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "clean shutdown exits 0, got {status}");
            break;
        }
        if stop.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("server did not stop within {DEADLINE:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sstable_dump_of_a_non_sstable_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .args(["sstable", "dump", "/nonexistent/file.txt"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("sibyl: ") && err.contains("not an sstable component"),
        "{err}"
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .arg("frobnicate")
        .output()
        .expect("run");
    assert_eq!(usage.status.code(), Some(2), "usage errors exit 2");
}
