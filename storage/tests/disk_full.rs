//! Disk full: writes and flushes fail with a clear error, no file is left half-renamed,
//! and the store recovers once space returns.
//!
//! "Full" is simulated with `RLIMIT_FSIZE` (with SIGXFSZ ignored), which makes any file
//! growth past the limit fail with EFBIG exactly as a full disk fails with ENOSPC,
//! without privileges or a special filesystem. This file holds a single test, so the
//! limit (a per-process setting) touches nothing else.

mod common;

use common::*;
use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::{Error, ReadCommand, Storage, TableOptions};

/// Small commitlog segments so that a new one is needed soon after the limit is set.
const SEGMENT: u64 = 256 * 1024;

fn set_file_size_limit(bytes: u64) {
    let lim = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain syscalls on this process's own limits and signal disposition.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0, "setrlimit");
    }
}

fn no_half_written_sstables(dir: &std::path::Path) {
    for e in std::fs::read_dir(dir).expect("ls table dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "temporary file left behind: {name}"
        );
        if let Some(rest) = name.strip_prefix("sb-") {
            let gen = rest.split('-').next().expect("generation");
            assert!(
                dir.join(format!("sb-{gen}-TOC.txt")).exists(),
                "component {name} without its TOC"
            );
        }
    }
}

#[test]
fn full_disk_fails_writes_clearly_and_recovers() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), SyncMode::Batch);
    c.commitlog_segment_size = SEGMENT;
    // Incompressible values, so the flushed data file really outgrows the limit.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let mut value = move || -> Vec<u8> {
        (0..1000)
            .map(|_| rand::Rng::random::<u8>(&mut rng))
            .collect()
    };
    let mut acked = Vec::new();
    {
        let (s, _) = Storage::open(c.clone()).expect("open");
        let t = s
            .create_table(T, "ks.full", TableOptions::default())
            .expect("create");
        // Room for the current segment, not for a new segment nor a large sstable.
        set_file_size_limit(SEGMENT / 2);
        let mut failure = None;
        for i in 0..2000 {
            let k = format!("k{i}");
            match s.apply(&insert(&k, &[1], &value(), 1)) {
                Ok(()) => acked.push(k),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let e = failure.expect("writes must fail once no new segment fits");
        assert!(
            matches!(e, Error::Io { .. }),
            "a plain I/O error, not poison: {e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("CommitLog") || msg.contains("commitlog"),
            "names the file: {msg}"
        );
        assert!(!acked.is_empty());
        // Flushing needs a data file larger than the limit: it fails and leaves nothing half-done.
        let err = t.flush().expect_err("flush cannot fit");
        assert!(
            err.to_string().contains("sb-"),
            "names the sstable file: {err}"
        );
        no_half_written_sstables(t.dir());
        // Reads still see every acknowledged write (from the memtable being flushed).
        for k in acked.iter().step_by(97) {
            assert!(
                t.read(&key(k), &ReadCommand::all(now()))
                    .expect("read")
                    .is_some(),
                "{k}"
            );
        }
        // Space returns: writes and the failed flush both go through.
        set_file_size_limit(u64::MAX);
        s.apply(&insert("after", &[1], &value(), 2))
            .expect("write after space returns");
        acked.push("after".into());
        t.flush().expect("flush after space returns");
        assert_eq!(
            t.stats().pending_flushes,
            0,
            "the memtable whose flush failed was retried"
        );
        no_half_written_sstables(t.dir());
    }
    let (s, _) = Storage::open(c).expect("reopen");
    let t = s.table(T).expect("table");
    for k in &acked {
        let p = t.read(&key(k), &ReadCommand::all(now())).expect("read");
        assert!(p.is_some(), "acknowledged {k} lost");
    }
}
