//! End-to-end behaviour of the storage engine: writes, flush, reads across memtable
//! and sstables, restart with replay, deletions, slices, compaction, truncate,
//! snapshot, drop, limits, dump.

mod common;

use bytes::Bytes;
use common::*;
use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::{
    ClusteringBound, ClusteringSlice, DeletionTime, Error, Mutation, RangeTombstone, ReadCommand,
    Storage, TableOptions,
};

fn values(s: &Storage, k: &str, cmd: &ReadCommand) -> Vec<(Vec<u8>, Vec<u8>)> {
    let t = s.table(T).expect("table");
    let Some(mut p) = t.read(&key(k), cmd).expect("read") else {
        return Vec::new();
    };
    p.retain_live(cmd.now);
    p.rows
        .iter()
        .map(|r| {
            (
                r.clustering.to_vec(),
                r.cells
                    .first()
                    .and_then(|c| c.value_bytes())
                    .map(|b| b.to_vec())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn write_flush_restart_read() {
    // Checks data written before and after a flush reads back merged, and survives a
    // close/reopen through sstables plus commitlog replay (the unflushed half).
    let dir = tempfile::tempdir().expect("tmp");
    {
        let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
        s.create_table(T, "ks.t", TableOptions::default())
            .expect("create");
        for i in 0..100u8 {
            s.apply(&insert("p", &[i], &[i], 10)).expect("write");
        }
        s.table(T).expect("t").flush().expect("flush");
        for i in 100..200u8 {
            s.apply(&insert("p", &[i], &[i], 10)).expect("write");
        }
        s.apply(&insert("p", &[5], b"new", 11)).expect("overwrite");
        assert_eq!(values(&s, "p", &ReadCommand::all(now())).len(), 200);
    }
    let (s, report) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("reopen");
    assert_eq!(
        report.records_replayed, 101,
        "the unflushed writes were replayed"
    );
    let v = values(&s, "p", &ReadCommand::all(now()));
    assert_eq!(v.len(), 200);
    assert_eq!(v[5].1, b"new".to_vec());
    // Replayed data was flushed: a second reopen replays nothing.
    drop(s);
    let (_s, report) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("reopen 2");
    assert_eq!(report.records_replayed, 0);
}

#[test]
fn slices_reversed_and_limits() {
    // Checks clustering slices (inclusive/exclusive), reversed order and LIMIT over data
    // split between an sstable and the memtable.
    let dir = tempfile::tempdir().expect("tmp");
    let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
    s.create_table(T, "ks.t", TableOptions::default())
        .expect("create");
    for i in (0..20u8).step_by(2) {
        s.apply(&insert("p", &[i], &[i], 1)).expect("w");
    }
    s.table(T).expect("t").flush().expect("flush");
    for i in (1..20u8).step_by(2) {
        s.apply(&insert("p", &[i], &[i], 1)).expect("w");
    }
    let slice = ClusteringSlice {
        start: ClusteringBound::After(Bytes::from_static(&[3])),
        end: ClusteringBound::After(Bytes::from_static(&[9])),
    };
    let cs = |v: Vec<(Vec<u8>, Vec<u8>)>| v.into_iter().map(|(c, _)| c[0]).collect::<Vec<_>>();
    let mut cmd = ReadCommand {
        slice,
        reversed: false,
        limit: None,
        now: now(),
    };
    assert_eq!(cs(values(&s, "p", &cmd)), vec![4, 5, 6, 7, 8, 9]);
    cmd.reversed = true;
    assert_eq!(cs(values(&s, "p", &cmd)), vec![9, 8, 7, 6, 5, 4]);
    cmd.limit = Some(2);
    assert_eq!(cs(values(&s, "p", &cmd)), vec![9, 8]);
    cmd.reversed = false;
    assert_eq!(cs(values(&s, "p", &cmd)), vec![4, 5]);
}

#[test]
fn deletions_shadow_across_sources() {
    // Checks a range tombstone and a partition deletion in the memtable hide older rows in
    // sstables, while newer writes stay visible; the partition deletion lets reads skip
    // older sstables.
    let dir = tempfile::tempdir().expect("tmp");
    let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
    s.create_table(T, "ks.t", TableOptions::default())
        .expect("create");
    for i in 0..10u8 {
        s.apply(&insert("p", &[i], &[i], 10)).expect("w");
    }
    s.table(T).expect("t").flush().expect("flush");
    let mut m = Mutation::new(T, key("p"));
    m.update.range_tombstones.push(RangeTombstone {
        slice: ClusteringSlice {
            start: ClusteringBound::Before(Bytes::from_static(&[2])),
            end: ClusteringBound::After(Bytes::from_static(&[4])),
        },
        deletion: DeletionTime::new(20, now()),
    });
    s.apply(&m).expect("range delete");
    s.apply(&insert("p", &[3], b"back", 21))
        .expect("newer write");
    let cs: Vec<u8> = values(&s, "p", &ReadCommand::all(now()))
        .into_iter()
        .map(|(c, _)| c[0])
        .collect();
    assert_eq!(cs, vec![0, 1, 3, 5, 6, 7, 8, 9]);
    let mut m = Mutation::new(T, key("p"));
    m.update.deletion = DeletionTime::new(30, now());
    s.apply(&m).expect("partition delete");
    assert!(values(&s, "p", &ReadCommand::all(now())).is_empty());
    // Compaction keeps the tombstones (gc grace has not passed) and the result is the same.
    let t = s.table(T).expect("t");
    t.flush().expect("flush");
    t.compact_major().expect("compact");
    assert_eq!(t.sstable_generations().len(), 1);
    assert!(values(&s, "p", &ReadCommand::all(now())).is_empty());
    let raw = t
        .read(&key("p"), &ReadCommand::all(now()))
        .expect("read")
        .expect("tombstone kept");
    assert_eq!(raw.deletion.marked_for_delete_at, 30);
}

#[test]
fn ttl_expires_on_read_and_purges_after_gc_grace() {
    // Checks an expiring cell disappears from reads once expired and that compaction with
    // gc_grace_seconds = 0 drops the expired data entirely.
    let dir = tempfile::tempdir().expect("tmp");
    let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let opts = TableOptions {
        gc_grace_seconds: 0,
        ..TableOptions::default()
    };
    s.create_table(T, "ks.t", opts).expect("create");
    let n = now();
    let mut m = Mutation::new(T, key("p"));
    let mut r = sibyl_storage::Row::new(Bytes::from_static(&[1]));
    r.add_cell(sibyl_storage::Cell::expiring(1, 5, &b"v"[..], 1, n - 10));
    m.update.add_row(r);
    s.apply(&m).expect("w");
    s.apply(&insert("q", &[1], b"keep", 5)).expect("w");
    assert!(
        values(&s, "p", &ReadCommand::all(n)).is_empty(),
        "expired 9 s ago"
    );
    let t = s.table(T).expect("t");
    t.flush().expect("flush");
    t.compact_major().expect("compact");
    assert!(
        t.read(&key("p"), &ReadCommand::all(n))
            .expect("read")
            .is_none(),
        "purged"
    );
    assert_eq!(values(&s, "q", &ReadCommand::all(n)).len(), 1);
}

#[test]
fn background_compaction_merges_flushes() {
    // Checks the background threads: four flushes trigger a size-tiered compaction
    // into one sstable, and every key stays readable.
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), SyncMode::periodic());
    c.background = true;
    let (s, _) = Storage::open(c).expect("open");
    s.create_table(T, "ks.t", TableOptions::default())
        .expect("create");
    let t = s.table(T).expect("t");
    for round in 0..4 {
        for i in 0..50 {
            s.apply(&insert(&format!("k{round}-{i}"), &[1], b"v", 1))
                .expect("w");
        }
        t.flush().expect("flush");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while t.sstable_generations().len() > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(t.sstable_generations().len(), 1, "compacted to one sstable");
    for round in 0..4 {
        for i in 0..50 {
            assert_eq!(
                values(&s, &format!("k{round}-{i}"), &ReadCommand::all(now())).len(),
                1
            );
        }
    }
    assert_eq!(t.stats().compactions_completed, 1);
}

#[test]
fn scans_return_partitions_in_token_order_and_resume() {
    // Checks a full scan returns every partition once in ring order across memtable and
    // sstable, and that resuming after the last key of a page continues without gaps.
    let dir = tempfile::tempdir().expect("tmp");
    let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
    s.create_table(T, "ks.t", TableOptions::default())
        .expect("create");
    for i in 0..300 {
        s.apply(&insert(&format!("k{i}"), &[1], b"v", 1))
            .expect("w");
        if i == 150 {
            s.table(T).expect("t").flush().expect("flush");
        }
    }
    let t = s.table(T).expect("t");
    let cmd = ReadCommand::all(now());
    let mut all = Vec::new();
    let mut cursor: Option<sibyl_storage::DecoratedKey> = None;
    loop {
        let page = match &cursor {
            None => t.scan(
                std::ops::Bound::Unbounded,
                std::ops::Bound::Unbounded,
                7,
                &cmd,
            ),
            Some(k) => t.scan(
                std::ops::Bound::Excluded(k),
                std::ops::Bound::Unbounded,
                7,
                &cmd,
            ),
        }
        .expect("scan");
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|(k, _)| k.clone());
        all.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(all.len(), 300);
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing ring order"
    );
}

#[test]
fn truncate_snapshot_drop() {
    // Checks snapshot hard-links the sstables, truncate empties the table durably (no
    // replay after reopen), and drop removes the table's directory.
    let dir = tempfile::tempdir().expect("tmp");
    let tdir;
    {
        let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
        let t = s
            .create_table(T, "ks.t", TableOptions::default())
            .expect("create");
        tdir = t.dir().to_path_buf();
        for i in 0..10 {
            s.apply(&insert(&format!("k{i}"), &[1], b"v", 1))
                .expect("w");
        }
        let snap = t.snapshot("before").expect("snapshot");
        assert!(std::fs::read_dir(&snap).expect("snapshot dir").count() >= 5);
        s.apply(&insert("late", &[1], b"v", 1)).expect("w");
        t.truncate().expect("truncate");
        assert!(values(&s, "k1", &ReadCommand::all(now())).is_empty());
        assert!(values(&s, "late", &ReadCommand::all(now())).is_empty());
    }
    let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("reopen");
    assert!(
        values(&s, "late", &ReadCommand::all(now())).is_empty(),
        "truncated writes not replayed"
    );
    s.apply(&insert("after", &[1], b"v", 2)).expect("w");
    assert_eq!(values(&s, "after", &ReadCommand::all(now())).len(), 1);
    s.drop_table(T).expect("drop");
    assert!(!tdir.exists());
    assert!(matches!(
        s.apply(&insert("x", &[1], b"v", 1)),
        Err(Error::UnknownTable(_))
    ));
}

#[test]
fn oversized_mutation_is_refused() {
    // Checks a mutation over max_mutation_size (half a segment) gets MutationTooLarge and
    // the store keeps accepting normal writes.
    let dir = tempfile::tempdir().expect("tmp");
    let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
    s.create_table(T, "ks.t", TableOptions::default())
        .expect("create");
    let big = vec![7u8; 600 * 1024];
    match s.apply(&insert("p", &[1], &big, 1)) {
        Err(Error::MutationTooLarge { size, max }) => assert!(size > max),
        other => panic!("expected MutationTooLarge, got {other:?}"),
    }
    s.apply(&insert("p", &[1], b"small", 1))
        .expect("normal write");
}

#[test]
fn dump_prints_partitions_as_json() {
    // Checks `dump` emits valid JSON with one entry per partition and the row's values.
    let dir = tempfile::tempdir().expect("tmp");
    let (s, _) = Storage::open(config(dir.path(), SyncMode::periodic())).expect("open");
    let t = s
        .create_table(T, "ks.t", TableOptions::default())
        .expect("create");
    for i in 0..3 {
        s.apply(&insert(&format!("k{i}"), &[1], b"\xab\xcd", 1))
            .expect("w");
    }
    t.flush().expect("flush");
    let path = t.sstable_paths().pop().expect("sstable");
    let mut out = Vec::new();
    assert_eq!(sibyl_storage::dump::dump(&path, &mut out).expect("dump"), 3);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v.as_array().map(|a| a.len()), Some(3));
    assert!(String::from_utf8_lossy(&out).contains("abcd"));
}
