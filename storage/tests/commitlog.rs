//! CommitLog tests: round trips, torn and corrupt segments, group commit,
//! segment deletion, fsync poisoning. Each test says what it checks and how.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sibyl_storage::commitlog::{
    CommitLog, CommitLogConfig, CommitLogPosition, ReplayReport, SyncMode,
};
use sibyl_storage::model::TableId;
use sibyl_storage::Error;

/// Small segments so that tests cross many segment boundaries.
const TEST_SEGMENT_SIZE_BYTES: u64 = 64 * 1024;

fn config(dir: &Path, sync: SyncMode) -> CommitLogConfig {
    let mut c = CommitLogConfig::new(dir);
    c.segment_size = TEST_SEGMENT_SIZE_BYTES;
    c.sync = sync;
    c
}

/// A payload of `len` bytes, none of them zero (so that zeroing any tail of a
/// record always changes it), different for each `seed`.
fn payload(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((seed * 31 + i * 7) % 255 + 1) as u8)
        .collect()
}

fn table(i: usize) -> TableId {
    TableId(0x1111_2222_3333_4444_5555_6666_7777_0000 + i as u128)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Replayed {
    table: TableId,
    end: CommitLogPosition,
    payload: Vec<u8>,
}

fn replay_all(dir: &Path) -> (Vec<Replayed>, ReplayReport) {
    let mut out = Vec::new();
    let report = CommitLog::replay(dir, |table, end, payload| {
        out.push(Replayed {
            table,
            end,
            payload: payload.to_vec(),
        });
        Ok(())
    })
    .expect("replay");
    (out, report)
}

/// Segment files in `dir`, sorted by name length then name (= by id for equal widths).
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("CommitLog-") && name.ends_with(".log")
        })
        .collect();
    v.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    v
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("CommitLog-1-{id}.log"))
}

#[test]
fn round_trip_across_segment_switches() {
    // Appends 2,000 records of sizes 1..=1,500 bytes over 5 tables into 64 KiB
    // segments (dozens of switches), closes, replays, and checks every record
    // comes back in order with its table, payload and the position append returned.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let mut written = Vec::new();
    for i in 0..2000 {
        let t = table(i % 5);
        let p = payload(i, 1 + (i * 97) % 1500);
        let end = log.append(t, &p).expect("append");
        written.push(Replayed {
            table: t,
            end,
            payload: p,
        });
    }
    assert_eq!(log.current_position(), written.last().expect("some").end);
    log.close().expect("close");
    let (replayed, report) = replay_all(dir.path());
    assert!(report.segments_read > 10, "{report:?}");
    assert!(
        report.torn_segments.is_empty() && report.skipped_files.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.records_replayed, 2000);
    assert_eq!(replayed, written);
    assert!(replayed.windows(2).all(|w| w[0].end < w[1].end));
}

#[test]
fn concurrent_appends_with_segment_switches_replay_complete_and_ordered() {
    // 8 threads append 500 records each (100..=900 bytes) into 64 KiB segments
    // while a 9th thread keeps calling mark_clean for a table nobody writes and
    // sync(). Replay must return all 4,000 records, each thread's in the order
    // it wrote them, at exactly the positions append returned.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        CommitLog::open(config(
            dir.path(),
            SyncMode::Periodic {
                period: Duration::from_millis(5),
            },
        ))
        .expect("open"),
    );
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..500)
                    .map(|i| {
                        let p = payload(t * 10_000 + i, 100 + (i * 37) % 801);
                        let end = log.append(table(t), &p).expect("append");
                        Replayed {
                            table: table(t),
                            end,
                            payload: p,
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cleaner = {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                log.mark_clean(table(99), log.current_position());
                log.sync().expect("sync");
            }
        })
    };
    let mut written: Vec<Replayed> = writers
        .into_iter()
        .flat_map(|h| h.join().expect("writer"))
        .collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    cleaner.join().expect("cleaner");
    log.close().expect("close");
    written.sort_by_key(|r| r.end);
    let (got, report) = replay_all(dir.path());
    assert!(report.torn_segments.is_empty(), "{report:?}");
    assert_eq!(got.len(), 4000);
    assert_eq!(got, written);
}

/// Writes a one-segment log of `n` records and returns (file bytes, record ends).
fn small_log(dir: &Path, n: usize) -> (Vec<u8>, Vec<Replayed>, String) {
    let mut c = config(dir, SyncMode::Batch);
    c.segment_size = 4096;
    let log = CommitLog::open(c).expect("open");
    let mut written = Vec::new();
    for i in 0..n {
        let t = table(i % 3);
        let p = payload(i, 1 + (i * 13) % 40);
        let end = log.append(t, &p).expect("append");
        written.push(Replayed {
            table: t,
            end,
            payload: p,
        });
    }
    log.close().expect("close");
    drop(log);
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    let name = files[0]
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_string();
    (fs::read(&files[0]).expect("read"), written, name)
}

#[test]
fn truncation_at_every_offset_returns_the_complete_prefix() {
    // Writes 25 records into one preallocated segment, then for every byte offset
    // from 0 (inside the header) to past the end of the data, replays (a) a copy
    // truncated there and (b) a copy with every byte from there zeroed (the shape
    // of a preallocated file whose tail never reached the disk). Checks that
    // replay never panics and returns exactly the records that end at or before
    // the cut, and reports a torn record exactly when the cut falls inside one.
    let src = tempfile::tempdir().expect("tempdir");
    let (bytes, written, name) = small_log(src.path(), 25);
    let data_end = written.last().expect("some").end.offset as usize;
    let starts: Vec<usize> = std::iter::once(24)
        .chain(written.iter().map(|r| r.end.offset as usize))
        .collect();
    for cut in 0..=data_end + 8 {
        let expected: Vec<Replayed> = written
            .iter()
            .filter(|r| r.end.offset as usize <= cut)
            .cloned()
            .collect();
        let inside_record = cut < data_end && !starts.contains(&cut);
        for zero_tail in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut copy = bytes.clone();
            if zero_tail {
                copy[cut..].iter_mut().for_each(|b| *b = 0);
            } else {
                copy.truncate(cut);
            }
            fs::write(dir.path().join(&name), &copy).expect("write copy");
            let (got, report) = replay_all(dir.path());
            let what = format!("cut at {cut}, zero_tail={zero_tail}: {report:?}");
            if cut < 24 && copy != bytes {
                assert!(got.is_empty(), "{what}");
                assert_eq!(report.skipped_files.len(), 1, "{what}");
                continue;
            }
            if cut < 24 {
                // Zeroing bytes that were already zero changed nothing.
                assert_eq!(got, written, "{what}");
                continue;
            }
            assert_eq!(got, expected, "{what}");
            assert_eq!(report.segments_read, 1, "{what}");
            if inside_record {
                assert_eq!(report.torn_segments.len(), 1, "{what}");
                let start = *starts.iter().filter(|&&s| s < cut).max().expect("a start");
                assert_eq!(report.torn_segments[0].offset as usize, start, "{what}");
            } else {
                assert!(report.torn_segments.is_empty(), "{what}");
            }
        }
    }
}

#[test]
fn byte_flip_inside_a_record_stops_replay_of_that_segment_there() {
    // Writes 25 records, then for every byte of record #10 (length, checksum,
    // table id, payload) flips it (XOR 0xFF) in a copy and replays: the first 10
    // records come back and the segment is reported torn at record #10's offset.
    // A second, intact segment after the damaged one is still replayed.
    let src = tempfile::tempdir().expect("tempdir");
    let (bytes, written, name) = small_log(src.path(), 25);
    let start = written[9].end.offset as usize;
    let end = written[10].end.offset as usize;
    let segment_id = written[0].end.segment_id;
    let next_name = format!("CommitLog-1-{}.log", segment_id + 1);
    let next_bytes: Vec<u8> = bytes.clone();
    for at in start..end {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut copy = bytes.clone();
        copy[at] ^= 0xFF;
        fs::write(dir.path().join(&name), &copy).expect("write");
        // The same intact segment again, under the next id: header id must match
        // the file name, so patch it (id at bytes 12..20, header crc at 20..24).
        let mut next = next_bytes.clone();
        next[12..20].copy_from_slice(&(segment_id + 1).to_le_bytes());
        let crc = crc32c::crc32c(&next[..20]);
        next[20..24].copy_from_slice(&crc.to_le_bytes());
        fs::write(dir.path().join(&next_name), &next).expect("write next");

        let (got, report) = replay_all(dir.path());
        let what = format!("flip at {at}: {report:?}");
        assert_eq!(got.len(), 10 + 25, "{what}");
        assert_eq!(&got[..10], &written[..10], "{what}");
        assert!(
            got[10..].iter().all(|r| r.end.segment_id == segment_id + 1),
            "{what}"
        );
        assert_eq!(report.segments_read, 2, "{what}");
        assert_eq!(report.torn_segments.len(), 1, "{what}");
        assert_eq!(report.torn_segments[0].offset as usize, start, "{what}");
        assert_eq!(report.torn_segments[0].segment_id, segment_id, "{what}");
    }
}

#[test]
fn replay_never_panics_on_random_bytes() {
    // Fills segment files with random bytes (with a valid header, and without)
    // and replays them: no panic, and whatever comes back has a valid checksum
    // by construction. 200 random files.
    use rand::{Rng, SeedableRng};
    let src = tempfile::tempdir().expect("tempdir");
    let (bytes, _, name) = small_log(src.path(), 5);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for round in 0..200 {
        let dir = tempfile::tempdir().expect("tempdir");
        let len = rng.random_range(0..6000);
        let mut junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if round % 2 == 0 && junk.len() >= 24 {
            junk[..24].copy_from_slice(&bytes[..24]);
            if round % 4 == 0 && junk.len() >= 28 {
                // A plausible small length word, to get past the length checks.
                junk[24..28].copy_from_slice(&(16u32 + (round as u32 % 64)).to_le_bytes());
            }
        }
        fs::write(dir.path().join(&name), &junk).expect("write");
        let _ = replay_all(dir.path());
    }
}

#[test]
fn batch_mode_group_commit_with_64_threads() {
    // 64 threads append 50 records each in Batch mode. Each append must return
    // only once the log's synced position covers it; the stats must show fewer
    // fsyncs than appends (writes shared an fsync). Prints the writes/fsync ratio.
    // Replay then returns all 3,200 records.
    const THREADS: usize = 64;
    const PER_THREAD: usize = 50;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(CommitLog::open(config(dir.path(), SyncMode::Batch)).expect("open"));
    let started = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let pos = log
                        .append(table(t), &payload(t * 1000 + i, 130))
                        .expect("append");
                    let synced = log.synced_position();
                    assert!(
                        synced >= pos,
                        "append returned at {pos} before sync reached it ({synced})"
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let elapsed = started.elapsed();
    let stats = log.stats();
    println!(
        "batch: {} appends, {} fsyncs, {:.1} writes/fsync, {:?} total",
        stats.appends,
        stats.fsyncs,
        stats.writes_per_fsync(),
        elapsed
    );
    assert_eq!(stats.appends, (THREADS * PER_THREAD) as u64);
    assert_eq!(stats.synced_appends, stats.appends);
    assert!(stats.fsyncs >= 1);
    assert!(stats.writes_per_fsync() > 1.0, "{stats:?}");
    log.close().expect("close");
    let (got, report) = replay_all(dir.path());
    assert_eq!(got.len(), THREADS * PER_THREAD, "{report:?}");
}

#[test]
fn group_mode_acks_after_a_sync_within_the_window() {
    // Group mode with a 20 ms window: 8 threads append 20 records each; every
    // append returns with the synced position covering it, and the writes of a
    // window share fsyncs (fewer fsyncs than appends).
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = SyncMode::Group {
        window: Duration::from_millis(20),
    };
    let log = Arc::new(CommitLog::open(config(dir.path(), sync)).expect("open"));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..20 {
                    let pos = log.append(table(t), &payload(i, 50)).expect("append");
                    assert!(log.synced_position() >= pos);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let stats = log.stats();
    println!(
        "group: {} appends, {} fsyncs, {:.1} writes/fsync",
        stats.appends,
        stats.fsyncs,
        stats.writes_per_fsync()
    );
    assert!(stats.fsyncs < stats.appends, "{stats:?}");
}

#[test]
fn periodic_mode_syncs_on_its_own_and_on_demand() {
    // Periodic with a 50 ms period: an append returns before any sync; within a
    // few periods the sync thread has synced past it without being asked. With a
    // 1 h period, sync() forces the sync at once.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(
        dir.path(),
        SyncMode::Periodic {
            period: Duration::from_millis(50),
        },
    ))
    .expect("open");
    let pos = log.append(table(1), b"periodic").expect("append");
    let deadline = Instant::now() + Duration::from_secs(5);
    while log.synced_position() < pos {
        assert!(Instant::now() < deadline, "periodic sync never happened");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(log);

    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(
        dir.path(),
        SyncMode::Periodic {
            period: Duration::from_secs(3600),
        },
    ))
    .expect("open");
    let pos = log.append(table(1), b"periodic").expect("append");
    assert!(log.synced_position() < pos);
    log.sync().expect("sync");
    assert!(log.synced_position() >= pos);
    assert_eq!(log.stats().fsyncs, 1);
}

/// Appends `per_table` records of 1,000 bytes for each of `tables`, interleaved.
fn fill(log: &CommitLog, tables: &[TableId], per_table: usize) -> CommitLogPosition {
    let mut last = CommitLogPosition::default();
    for i in 0..per_table {
        for &t in tables {
            last = log.append(t, &payload(i, 1000)).expect("append");
        }
    }
    last
}

#[test]
fn mark_clean_deletes_segments_no_table_needs() {
    // Two tables write interleaved over several 64 KiB segments. Cleaning table A
    // alone deletes nothing (B is dirty everywhere); cleaning B up to the end of
    // the first segment deletes exactly that segment; cleaning B up to the
    // current position deletes every full segment; the active one always stays.
    // Then only A writes: its new segments go once A is clean past them.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let (a, b) = (table(1), table(2));
    let first = log.current_position().segment_id;
    let mut first_end = CommitLogPosition::default();
    for i in 0..200 {
        for &t in &[a, b] {
            let p = log.append(t, &payload(i, 1000)).expect("append");
            if t == b && p.segment_id == first {
                first_end = p;
            }
        }
    }
    let files = segment_files(dir.path());
    assert!(files.len() >= 4, "{files:?}");
    let now = log.current_position();

    log.mark_clean(a, now);
    assert_eq!(segment_files(dir.path()), files);

    log.mark_clean(
        b,
        CommitLogPosition {
            segment_id: first,
            offset: first_end.offset - 1,
        },
    );
    assert_eq!(
        segment_files(dir.path()),
        files,
        "B's last record in the first segment is not flushed yet"
    );
    log.mark_clean(b, first_end);
    assert!(!segment_path(dir.path(), first).exists());
    assert_eq!(segment_files(dir.path()).len(), files.len() - 1);

    log.mark_clean(b, now);
    assert_eq!(
        segment_files(dir.path()),
        vec![segment_path(dir.path(), now.segment_id)]
    );
    assert_eq!(log.stats().segments, 1);

    let before = log.current_position();
    let last = fill(&log, &[a], 150);
    assert!(last.segment_id > before.segment_id);
    log.mark_clean(a, last);
    assert_eq!(
        segment_files(dir.path()),
        vec![segment_path(dir.path(), last.segment_id)],
        "active segment stays"
    );
}

#[test]
fn forget_table_cleans_it_everywhere() {
    // A single table fills several segments; forget_table deletes every one of
    // them but the active segment.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let last = fill(&log, &[table(9)], 300);
    assert!(segment_files(dir.path()).len() >= 4);
    log.forget_table(table(9));
    assert_eq!(
        segment_files(dir.path()),
        vec![segment_path(dir.path(), last.segment_id)]
    );
}

#[test]
fn replayed_segments_are_kept_until_discarded_or_clean() {
    // A log with two tables over several segments is closed and reopened: the old
    // files are kept. Cleaning one table deletes nothing; discard_replayed_segments
    // deletes all of them and keeps the new active segment. In a second round,
    // mark_clean alone deletes replayed segments once every table they hold is
    // clean (open rescans them to learn their tables).
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (table(1), table(2));
    {
        let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
        fill(&log, &[a, b], 100);
        log.close().expect("close");
    }
    let old_files = segment_files(dir.path());
    let (replayed, _) = replay_all(dir.path());
    assert_eq!(replayed.len(), 200);

    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let active = log.current_position().segment_id;
    assert_eq!(log.stats().segments, old_files.len() + 1);
    log.mark_clean(a, log.current_position());
    for f in &old_files {
        assert!(f.exists(), "{f:?} deleted while table B may still need it");
    }
    log.discard_replayed_segments().expect("discard");
    assert_eq!(
        segment_files(dir.path()),
        vec![segment_path(dir.path(), active)]
    );
    fill(&log, &[a, b], 10);
    log.close().expect("close");
    drop(log);

    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let active2 = log.current_position().segment_id;
    assert!(segment_path(dir.path(), active).exists());
    log.mark_clean(a, log.current_position());
    assert!(segment_path(dir.path(), active).exists());
    log.mark_clean(b, log.current_position());
    assert_eq!(
        segment_files(dir.path()),
        vec![segment_path(dir.path(), active2)]
    );
}

#[test]
fn failed_sync_poisons_the_log_for_good() {
    // Periodic: a sync failure is injected; sync() reports Poisoned, and every
    // later append keeps returning Poisoned (never retried). Group: an append
    // blocked waiting for its sync receives Poisoned when that sync fails.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(
        dir.path(),
        SyncMode::Periodic {
            period: Duration::from_secs(3600),
        },
    ))
    .expect("open");
    log.append(table(1), b"before").expect("append");
    log.inject_sync_failure();
    assert!(matches!(log.sync(), Err(Error::Poisoned(_))));
    for _ in 0..3 {
        assert!(matches!(
            log.append(table(1), b"after"),
            Err(Error::Poisoned(_))
        ));
    }
    assert!(matches!(log.sync(), Err(Error::Poisoned(_))));
    assert!(matches!(log.close(), Err(Error::Poisoned(_))));

    let dir = tempfile::tempdir().expect("tempdir");
    let sync = SyncMode::Group {
        window: Duration::from_secs(3600),
    };
    let log = Arc::new(CommitLog::open(config(dir.path(), sync)).expect("open"));
    let waiter = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || log.append(table(2), b"waits"))
    };
    std::thread::sleep(Duration::from_millis(100));
    log.inject_sync_failure();
    let res = waiter.join().expect("thread");
    assert!(matches!(res, Err(Error::Poisoned(_))), "{res:?}");
    assert!(matches!(
        log.append(table(2), b"later"),
        Err(Error::Poisoned(_))
    ));
}

#[test]
fn oversized_payload_is_refused() {
    // max_payload_size is half a segment minus the record overhead: one byte more
    // is MutationTooLarge with both sizes; exactly the max is accepted (and forces
    // a segment switch when the active segment is partly used).
    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let max = log.max_payload_size();
    assert_eq!(max, (TEST_SEGMENT_SIZE_BYTES / 2) as usize - 24);
    match log.append(table(1), &vec![1u8; max + 1]) {
        Err(Error::MutationTooLarge { size, max: m }) => assert_eq!((size, m), (max + 1, max)),
        other => panic!("expected MutationTooLarge, got {other:?}"),
    }
    let p1 = log.append(table(1), &vec![1u8; max]).expect("max fits");
    let p2 = log.append(table(1), &vec![2u8; max]).expect("max fits");
    assert!(p2.segment_id > p1.segment_id);
    log.close().expect("close");
    assert_eq!(replay_all(dir.path()).0.len(), 2);
}

#[test]
fn open_picks_a_higher_id_and_replay_ignores_foreign_files() {
    // Foreign files (wrong names) in the directory are ignored by replay and
    // open. A file named like a segment with a huge id but garbage content is
    // skipped by replay (reported), and open still picks an id above it.
    let dir = tempfile::tempdir().expect("tempdir");
    let first_id = {
        let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
        log.append(table(1), b"one").expect("append");
        log.current_position().segment_id
    };
    for name in [
        "notes.txt",
        "CommitLog-1-abc.log",
        "CommitLog-1-5.log.bak",
        "commitlog-1-5.log",
        "CommitLog-1-.log",
    ] {
        fs::write(dir.path().join(name), b"not a segment").expect("write");
    }
    let (got, report) = replay_all(dir.path());
    assert_eq!(got.len(), 1);
    assert!(
        report.skipped_files.is_empty() && report.torn_segments.is_empty(),
        "{report:?}"
    );

    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let second_id = log.current_position().segment_id;
    assert!(second_id > first_id);
    log.close().expect("close");
    drop(log);

    let huge = second_id + 1_000_000;
    fs::write(segment_path(dir.path(), huge), vec![7u8; 100]).expect("write");
    let (got, report) = replay_all(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(report.skipped_files.len(), 1, "{report:?}");
    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    assert!(log.current_position().segment_id > huge);
    // The unreadable file is kept until the engine discards replayed segments.
    log.mark_clean(table(1), log.current_position());
    assert!(segment_path(dir.path(), huge).exists());
    log.discard_replayed_segments().expect("discard");
    assert!(!segment_path(dir.path(), huge).exists());
}

#[test]
fn unsupported_version_is_an_error_not_a_skip() {
    // A segment named with format version 2 cannot be read by this build:
    // replay and open refuse it rather than silently dropping its writes.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("CommitLog-2-5.log"), b"future").expect("write");
    assert!(matches!(
        CommitLog::replay(dir.path(), |_, _, _| Ok(())),
        Err(Error::UnsupportedVersion { version: 2, .. })
    ));
    assert!(matches!(
        CommitLog::open(config(dir.path(), SyncMode::periodic())),
        Err(Error::UnsupportedVersion { .. })
    ));
}

#[test]
fn replay_callback_errors_stop_replay() {
    // An error returned by the callback is returned by replay, after the records
    // before it were delivered.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
        fill(&log, &[table(1)], 10);
    }
    let mut seen = 0;
    let res = CommitLog::replay(dir.path(), |_, _, _| {
        seen += 1;
        if seen == 3 {
            Err(Error::InvalidArgument("stop".into()))
        } else {
            Ok(())
        }
    });
    assert!(matches!(res, Err(Error::InvalidArgument(_))));
    assert_eq!(seen, 3);
    // A missing directory replays nothing.
    let (got, report) = replay_all(&dir.path().join("missing"));
    assert!(got.is_empty() && report == ReplayReport::default());
}

#[test]
fn close_stops_appends_and_positions_stay_monotonic_across_reopen() {
    // After close, append returns Closed. Positions after a reopen compare above
    // every position of the previous run.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let last = fill(&log, &[table(1)], 100);
    log.close().expect("close");
    assert!(matches!(log.append(table(1), b"x"), Err(Error::Closed)));
    drop(log);
    let log = CommitLog::open(config(dir.path(), SyncMode::periodic())).expect("open");
    assert!(log.current_position() > last);
    assert!(log.append(table(1), b"x").expect("append") > last);
}
