//! Torn and corrupt files. A small store (three sstables, one of them several chunks
//! long, plus unflushed writes, overwrites and deletes in the commitlog) is built once;
//! each trial copies it, truncates, zeroes or flips bytes of one file, opens the copy
//! and reads every key. The store must open, serve everything the damage did not
//! touch exactly, report bad bytes as errors naming the file (never as data), leave
//! out sstables that fail verification at open (listed by `unreadable_sstables`) and
//! let them be quarantined. `catch_unwind` is used nowhere: a panic fails the test.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use common::{key, T};
use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::engine::OpenReport;
use sibyl_storage::{
    Cell, DeletionTime, Error, LivenessInfo, Mutation, ReadCommand, Row, Storage, StorageConfig,
    Table, TableOptions,
};

/// Small segments: the whole written prefix lives in one 64 KiB file.
const SEGMENT_SIZE: u64 = 64 * 1024;
/// Bytes of a commitlog segment header.
const SEGMENT_HEADER_LEN: u32 = 24;
/// Offset of the first chunk in `Data.db`: component header, compression byte, chunk size.
const DATA_CHUNKS_START: usize = 13;
/// Chunk length of the fixture's table: small, so one sstable has several chunks.
const CHUNK_LENGTH: usize = 4096;

/// Where a write ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// Flushed into the sstable of this generation.
    Sst(u64),
    /// Only in the commitlog; its record ends at this offset of the active segment.
    Log(u32),
}

#[derive(Clone, Debug)]
struct Event {
    key: String,
    /// `None` for a partition deletion.
    value: Option<Vec<u8>>,
    ts: i64,
    source: Source,
}

/// One chunk of a `Data.db`: offset of its 8-byte header, body length, stored CRC.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    offset: usize,
    len: usize,
    crc: u32,
}

/// The pristine store and what is where in it.
struct Fixture {
    _root: tempfile::TempDir,
    /// The pristine store (never opened again after it is built).
    store: PathBuf,
    /// Scratch space for trials.
    scratch: PathBuf,
    /// Table directory, relative to the store.
    table_rel: PathBuf,
    /// Generations of the three sstables, oldest first (A: many chunks; B; C).
    gens: [u64; 3],
    events: Vec<Event>,
    keys: Vec<String>,
    /// The active segment, relative to the store.
    segment_rel: PathBuf,
    /// (start, end) of each commitlog-only record, in append order.
    log_records: Vec<(u32, u32)>,
    /// Chunks of sstable A's `Data.db`.
    chunks_a: Vec<Chunk>,
}

fn cfg(dir: &Path) -> StorageConfig {
    let mut c = common::config(dir, SyncMode::periodic());
    c.commitlog_segment_size = SEGMENT_SIZE;
    c.background = false;
    c
}

/// tmpfs when there is one: trials open the store ~2000 times and fsync costs nothing there.
fn scratch_root() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("sibyl-corruption-")
            .tempdir_in(shm)
        {
            return d;
        }
    }
    tempfile::tempdir().expect("tmp")
}

/// 64 incompressible bytes, distinct per (key, ts).
fn value_for(k: &str, ts: i64) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ (ts as u64);
    for b in k.bytes() {
        x = (x ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = Vec::with_capacity(64);
    while out.len() < 64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn write_mutation(k: &str, value: Option<&[u8]>, ts: i64) -> Mutation {
    let mut m = Mutation::new(T, key(k));
    match value {
        Some(v) => {
            let mut r = Row::new(Bytes::from_static(&[0]));
            r.liveness = LivenessInfo::new(ts, 0, 0);
            r.add_cell(Cell::live(1, ts, Bytes::copy_from_slice(v)));
            m.update.add_row(r);
        }
        None => m.update.deletion = DeletionTime::new(ts, common::now()),
    }
    m
}

/// Walks the chunks of a `Data.db` file.
fn chunks_of(data: &[u8]) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut off = DATA_CHUNKS_START;
    while off + 8 <= data.len() {
        let len = u32::from_le_bytes(data[off..off + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(data[off + 4..off + 8].try_into().expect("4 bytes"));
        out.push(Chunk {
            offset: off,
            len,
            crc,
        });
        off += 8 + len;
    }
    assert_eq!(off, data.len(), "chunks tile the data file");
    out
}

fn build() -> Fixture {
    let root = scratch_root();
    let store = root.path().join("store");
    let scratch = root.path().join("scratch");
    fs::create_dir_all(&scratch).expect("scratch");
    let mut events = Vec::new();
    let mut log_records = Vec::new();
    let (table_rel, gens) = {
        let (s, _) = Storage::open(cfg(&store)).expect("open");
        let opts = TableOptions {
            chunk_length: CHUNK_LENGTH,
            ..TableOptions::default()
        };
        let t = s.create_table(T, "ks.corrupt", opts).expect("create");
        let mut put = |k: String, value: Option<Vec<u8>>, ts: i64, source: Option<Source>| {
            let start = s.commitlog_stats().current_position.offset;
            s.apply(&write_mutation(&k, value.as_deref(), ts))
                .expect("write");
            let source = source.unwrap_or_else(|| {
                let end = s.commitlog_stats().current_position.offset;
                log_records.push((start, end));
                Source::Log(end)
            });
            events.push(Event {
                key: k,
                value,
                ts,
                source,
            });
        };
        // A: 150 partitions of 64 random bytes, ~4 chunks of 4 KiB.
        let ga = 1;
        for i in 0..150 {
            let k = format!("a{i:03}");
            put(
                k.clone(),
                Some(value_for(&k, 10)),
                10,
                Some(Source::Sst(ga)),
            );
        }
        assert_eq!(t.flush().expect("flush A"), Some(ga));
        let gb = 2;
        for i in 0..20 {
            let k = format!("b{i:02}");
            put(
                k.clone(),
                Some(value_for(&k, 10)),
                10,
                Some(Source::Sst(gb)),
            );
        }
        assert_eq!(t.flush().expect("flush B"), Some(gb));
        // C: new keys, and newer values of two of B's.
        let gc = 3;
        for i in 0..20 {
            let k = format!("c{i:02}");
            put(
                k.clone(),
                Some(value_for(&k, 10)),
                10,
                Some(Source::Sst(gc)),
            );
        }
        for k in ["b00", "b01"] {
            put(k.into(), Some(value_for(k, 15)), 15, Some(Source::Sst(gc)));
        }
        assert_eq!(t.flush().expect("flush C"), Some(gc));
        // The commitlog: new keys, overwrites and deletes of sstable data.
        for i in 0..30 {
            let k = format!("d{i:02}");
            put(k.clone(), Some(value_for(&k, 10)), 10, None);
            if i == 10 {
                put("a005".into(), Some(value_for("a005", 20)), 20, None);
                put("c03".into(), Some(value_for("c03", 20)), 20, None);
            }
            if i == 20 {
                put("b02".into(), None, 30, None);
                put("a010".into(), None, 30, None);
                put("d05".into(), None, 30, None);
            }
        }
        let table_rel = t
            .dir()
            .strip_prefix(&store)
            .expect("table under store")
            .to_path_buf();
        (table_rel, [ga, gb, gc])
    };
    let segs: Vec<PathBuf> = fs::read_dir(store.join("commitlog"))
        .expect("commitlog dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(segs.len(), 1, "the fixture fits in one segment: {segs:?}");
    let segment_rel = segs[0]
        .strip_prefix(&store)
        .expect("under store")
        .to_path_buf();
    let data_a = fs::read(
        store
            .join(&table_rel)
            .join(format!("sb-{}-Data.db", gens[0])),
    )
    .expect("data A");
    let chunks_a = chunks_of(&data_a);
    assert!(
        chunks_a.len() >= 3,
        "sstable A has several chunks: {chunks_a:?}"
    );
    let keys: BTreeSet<String> = events.iter().map(|e| e.key.clone()).collect();
    Fixture {
        _root: root,
        store,
        scratch,
        table_rel,
        gens,
        events,
        keys: keys.into_iter().collect(),
        segment_rel,
        log_records,
        chunks_a,
    }
}

impl Fixture {
    fn component_rel(&self, gen: u64, name: &str) -> PathBuf {
        self.table_rel.join(format!("sb-{gen}-{name}"))
    }

    /// Every key's live value given which sources exist.
    fn expected(&self, available: impl Fn(Source) -> bool) -> HashMap<String, Option<Vec<u8>>> {
        let mut best: HashMap<String, &Event> = HashMap::new();
        for e in self.events.iter().filter(|e| available(e.source)) {
            if best.get(&e.key).is_none_or(|b| e.ts > b.ts) {
                best.insert(e.key.clone(), e);
            }
        }
        self.keys
            .iter()
            .map(|k| (k.clone(), best.get(k).and_then(|e| e.value.clone())))
            .collect()
    }

    fn touches(&self, k: &str, gen: u64) -> bool {
        self.events
            .iter()
            .any(|e| e.key == k && e.source == Source::Sst(gen))
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            fs::copy(e.path(), &dst).expect("copy");
        }
    }
}

/// Copies the pristine store to a fresh directory, damages it, runs `check`, cleans up.
fn trial(fx: &Fixture, damage: impl FnOnce(&Path), check: impl FnOnce(&Path)) {
    let dir = fx.scratch.join("trial");
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("clean scratch");
    }
    copy_dir(&fx.store, &dir);
    damage(&dir);
    check(&dir);
    fs::remove_dir_all(&dir).expect("clean scratch");
}

fn truncate(path: &Path, len: u64) {
    let f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for truncate");
    f.set_len(len).expect("truncate");
}

fn zero_from(path: &Path, from: usize) {
    let mut b = fs::read(path).expect("read");
    for x in &mut b[from..] {
        *x = 0;
    }
    fs::write(path, b).expect("write");
}

fn flip(path: &Path, at: usize) {
    let mut b = fs::read(path).expect("read");
    b[at] ^= 0x5a;
    fs::write(path, b).expect("write");
}

fn open(dir: &Path, what: &str) -> (Storage, OpenReport, Arc<Table>) {
    let (s, report) =
        Storage::open(cfg(dir)).unwrap_or_else(|e| panic!("{what}: the store must open: {e}"));
    let t = s
        .table(T)
        .unwrap_or_else(|e| panic!("{what}: table missing: {e}"));
    (s, report, t)
}

fn live_value(p: Option<sibyl_storage::PartitionUpdate>, now: i64) -> Option<Vec<u8>> {
    let mut p = p?;
    p.retain_live(now);
    p.rows
        .iter()
        .find(|r| r.has_live_data(now))
        .and_then(|r| r.cells.first())
        .and_then(|c| c.value_bytes())
        .map(|b| b.to_vec())
}

type Reads = HashMap<String, Result<Option<Vec<u8>>, Error>>;

fn read_all(fx: &Fixture, t: &Table) -> Reads {
    let now = common::now();
    let cmd = ReadCommand::all(now);
    fx.keys
        .iter()
        .map(|k| (k.clone(), t.read(&key(k), &cmd).map(|p| live_value(p, now))))
        .collect()
}

/// Keys whose read differs from `expected` (errors count as differences).
fn mismatches(reads: &Reads, expected: &HashMap<String, Option<Vec<u8>>>) -> Vec<String> {
    let mut v: Vec<String> = reads
        .iter()
        .filter(|(k, r)| !matches!(r, Ok(got) if Some(got) == expected.get(*k)))
        .map(|(k, r)| format!("{k}: {:?}", r.as_ref().map(|o| o.as_ref().map(|v| v.len()))))
        .collect();
    v.sort();
    v
}

/// The path inside an error that names a file.
fn error_path(e: &Error) -> Option<&Path> {
    match e {
        Error::ChecksumMismatch { path, .. }
        | Error::Corrupt { path, .. }
        | Error::Io { path, .. } => Some(path),
        Error::UnsupportedVersion { path, .. } => Some(path),
        _ => None,
    }
}

/// Checks a store whose sstable `gen` had its file `damaged` (relative path) broken.
/// If the sstable was left out at open it must be listed as unreadable with a message
/// naming the damaged file, and every key reads as without it (or, for its own keys,
/// as with it: the commitlog may still hold its writes). If it is served, keys it does
/// not hold read exactly and its own keys read exactly or fail with an error naming the
/// damaged file. Never wrong data, never an error elsewhere. A full scan returns no
/// wrong data either. Returns (left out, number of keys that failed).
fn check_damaged_sstable(
    fx: &Fixture,
    dir: &Path,
    gen: u64,
    damaged: &Path,
    what: &str,
) -> (bool, usize) {
    let (s, _report, t) = open(dir, what);
    let unreadable = t.unreadable_sstables();
    let left_out = unreadable.iter().any(|(g, _)| *g == gen);
    let file_name = damaged
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name");
    if left_out {
        let msg = &unreadable
            .iter()
            .find(|(g, _)| *g == gen)
            .expect("listed")
            .1;
        assert!(
            msg.contains(file_name),
            "{what}: the unreadable sstable's error must name {file_name}: {msg}"
        );
        assert!(
            !t.sstable_generations().contains(&gen),
            "{what}: an unreadable sstable is not served"
        );
    } else {
        assert!(
            t.sstable_generations().contains(&gen),
            "{what}: sstable {gen} neither served nor listed unreadable"
        );
    }
    assert!(
        unreadable.iter().all(|(g, _)| *g == gen),
        "{what}: only the damaged sstable may be unreadable: {unreadable:?}"
    );
    let with = fx.expected(|_| true);
    let without = fx.expected(|src| src != Source::Sst(gen));
    let reads = read_all(fx, &t);
    let mut failed = 0;
    for k in &fx.keys {
        let touches = fx.touches(k, gen);
        match &reads[k] {
            Ok(v) if left_out => assert!(
                *v == without[k] || (touches && *v == with[k]),
                "{what}: {k} read {:?} with the damaged sstable left out",
                v.as_ref().map(|x| x.len())
            ),
            Ok(v) => assert!(
                *v == with[k],
                "{what}: {k} read wrong data {:?}",
                v.as_ref().map(|x| x.len())
            ),
            Err(e) => {
                assert!(
                    !left_out && touches,
                    "{what}: {k} failed but it does not depend on the damage: {e}"
                );
                assert!(
                    e.is_corruption(),
                    "{what}: {k}: expected a corruption error, got {e}"
                );
                let p = error_path(e).expect("error names a file");
                assert!(
                    p.ends_with(damaged),
                    "{what}: {k}: the error must name {}: {e}",
                    damaged.display()
                );
                failed += 1;
            }
        }
    }
    // Scans: an error, or partitions whose values are all right.
    let now = common::now();
    let cmd = ReadCommand::all(now);
    if let Ok(parts) = t.scan(
        std::ops::Bound::Unbounded,
        std::ops::Bound::Unbounded,
        10_000,
        &cmd,
    ) {
        for (dk, p) in parts {
            let k = String::from_utf8(dk.key.to_vec()).expect("utf8 key");
            let v = live_value(Some(p), now);
            let ok = if left_out {
                v == without[&k] || (fx.touches(&k, gen) && v == with[&k])
            } else {
                v == with[&k]
            };
            assert!(ok, "{what}: scan returned wrong data for {k}");
        }
    }
    drop(t);
    drop(s);
    (left_out, failed)
}

/// Offsets to cut a file of `len` bytes at: all of a small file, else ~200 evenly
/// spaced plus the first and last 64.
fn cut_offsets(len: usize) -> BTreeSet<usize> {
    if len < 4096 {
        return (0..len).collect();
    }
    let mut v: BTreeSet<usize> = (0..64).chain(len - 64..len).collect();
    v.extend((0..200).map(|i| i * len / 200));
    v
}

#[test]
fn commitlog_truncated_or_zeroed_at_any_offset_keeps_every_complete_record() {
    // Checks torn commitlog segments: the active segment (holding the flushed writes'
    // records, then 35 unflushed writes, overwrites and deletes) is cut at every offset
    // around each unflushed record boundary, every offset of three whole records, every
    // offset of the header, and ~150 evenly spaced offsets up to 16 bytes past the
    // written end, both by truncating the file and by zeroing from the offset on. The
    // store must open; sstable data reads exactly; every record that ends before the
    // cut is replayed. Truncation replays exactly the complete records; zeroing may
    // keep a record whose zeroed tail was already zero, but replay stays a prefix.
    // Then a byte flipped inside each unflushed record: replay stops there, and the open
    // report names the segment, the record's offset and the expected and actual CRC.
    let fx = build();
    let written_end = fx.log_records.last().expect("records").1 as usize;
    let mut cuts: BTreeSet<usize> = (0..=SEGMENT_HEADER_LEN as usize + 8).collect();
    for &(start, end) in &fx.log_records {
        for b in [start as usize, end as usize] {
            cuts.extend(b.saturating_sub(3)..=b + 3);
        }
    }
    for i in [0, fx.log_records.len() / 2, fx.log_records.len() - 1] {
        let (start, end) = fx.log_records[i];
        cuts.extend(start as usize..=end as usize);
    }
    cuts.extend((0..150).map(|i| i * (written_end + 16) / 150));
    cuts.extend(written_end..=written_end + 16);
    let seg_len = fs::metadata(fx.store.join(&fx.segment_rel))
        .expect("segment")
        .len() as usize;
    assert!(written_end + 16 < seg_len);
    let ends: Vec<u32> = fx.log_records.iter().map(|r| r.1).collect();
    let mut opens = 0;
    for &cut in &cuts {
        for zero in [false, true] {
            let what = format!(
                "segment {} at offset {cut}",
                if zero { "zeroed" } else { "truncated" }
            );
            trial(
                &fx,
                |dir| {
                    let p = dir.join(&fx.segment_rel);
                    if zero {
                        zero_from(&p, cut);
                    } else {
                        truncate(&p, cut as u64);
                    }
                },
                |dir| {
                    let (s, report, t) = open(dir, &what);
                    assert!(
                        t.unreadable_sstables().is_empty(),
                        "{what}: {:?}",
                        t.unreadable_sstables()
                    );
                    let reads = read_all(&fx, &t);
                    // Replay keeps the records before some point X >= cut (X = cut when
                    // the file is cut: nothing after it exists).
                    let mut candidates = vec![cut as u32];
                    if zero {
                        candidates.extend(ends.iter().copied().filter(|e| *e as usize > cut));
                    }
                    let fits = candidates.iter().any(|&x| {
                        let exp = fx.expected(|src| match src {
                            Source::Sst(_) => true,
                            Source::Log(end) => end <= x,
                        });
                        mismatches(&reads, &exp).is_empty()
                    });
                    if !fits {
                        let exp = fx.expected(|src| match src {
                            Source::Sst(_) => true,
                            Source::Log(end) => end as usize <= cut,
                        });
                        panic!(
                            "{what}: reads match no replayed prefix; against the records before the cut: {:?}; open report {report:?}",
                            mismatches(&reads, &exp)
                        );
                    }
                    let inside_record = fx
                        .log_records
                        .iter()
                        .any(|&(start, end)| (start as usize + 8..end as usize).contains(&cut));
                    if !zero && inside_record {
                        assert!(
                            report.torn_segments.iter().any(|m| m.contains(&format!(
                                "at offset {}:",
                                fx.log_records
                                    .iter()
                                    .find(|r| (r.0 as usize..r.1 as usize).contains(&cut))
                                    .expect("record")
                                    .0
                            ))),
                            "{what}: a cut record is reported torn at its start: {report:?}"
                        );
                    }
                    drop(t);
                    drop(s);
                },
            );
            opens += 1;
        }
    }
    // A flipped byte inside a record's payload: replay stops at that record, reported
    // torn at its start with the checksum evidence; everything before it survives.
    for &(start, end) in &fx.log_records {
        let at = (start as usize + end as usize) / 2;
        let what = format!("segment flipped at {at} (record at {start})");
        trial(
            &fx,
            |dir| flip(&dir.join(&fx.segment_rel), at),
            |dir| {
                let (s, report, t) = open(dir, &what);
                let exp = fx.expected(|src| match src {
                    Source::Sst(_) => true,
                    Source::Log(e) => e <= start,
                });
                let bad = mismatches(&read_all(&fx, &t), &exp);
                assert!(bad.is_empty(), "{what}: {bad:?}");
                let seg_name = fx
                    .segment_rel
                    .file_name()
                    .and_then(|n| n.to_str())
                    .expect("name");
                assert!(
                    report.torn_segments.iter().any(|m| m.contains(seg_name)
                        && m.contains(&format!("at offset {start}:"))
                        && m.contains("checksum mismatch: expected 0x")
                        && m.contains(", got 0x")),
                    "{what}: the torn record is reported with file, offset and checksums: {report:?}"
                );
                drop(t);
                drop(s);
            },
        );
        opens += 1;
    }
    println!("{opens} commitlog trials");
}

#[test]
fn sstable_components_truncated_anywhere_never_serve_wrong_data() {
    // Checks torn sstable components: each component of sstable A (several chunks) is
    // cut at every offset (files under 4 KiB) or ~200 evenly spaced offsets plus the
    // first and last 64. The store opens; B, C and the commitlog read exactly; the
    // index, filter and statistics are verified at open, so cutting them leaves A out
    // (listed unreadable, naming the file); a cut Data.db keeps its header-only check
    // at open and fails the reads of the lost chunks with errors naming it (and at least
    // one read fails); a cut TOC (never parsed) changes nothing.
    let fx = build();
    let gen = fx.gens[0];
    let mut opens = 0;
    for name in [
        "Data.db",
        "Index.db",
        "Filter.db",
        "Statistics.db",
        "TOC.txt",
    ] {
        let rel = fx.component_rel(gen, name);
        let len = fs::metadata(fx.store.join(&rel)).expect("component").len() as usize;
        for cut in cut_offsets(len) {
            let what = format!("{} cut at {cut} of {len}", rel.display());
            trial(
                &fx,
                |dir| truncate(&dir.join(&rel), cut as u64),
                |dir| {
                    let (left_out, failed) = check_damaged_sstable(&fx, dir, gen, &rel, &what);
                    match name {
                        "TOC.txt" => assert!(
                            !left_out && failed == 0,
                            "{what}: the TOC's content is not read"
                        ),
                        "Data.db" if cut >= DATA_CHUNKS_START => {
                            assert!(
                                !left_out,
                                "{what}: Data.db chunks are verified when read, not at open"
                            );
                            assert!(failed > 0, "{what}: no read noticed the missing chunk");
                        }
                        _ => assert!(left_out, "{what}: verified at open, so left out"),
                    }
                },
            );
            opens += 1;
        }
    }
    println!("{opens} sstable truncation trials");
}

#[test]
fn flipped_data_chunk_is_a_checksum_error_naming_the_file_then_quarantined() {
    // Checks byte flips in Data.db chunk bodies of sstable A (first, middle and last
    // body byte of every chunk): the store opens (chunks are verified lazily); reading
    // any key held in that chunk returns ChecksumMismatch naming A's Data.db at the
    // chunk's offset with the stored CRC as expected (twice: nothing bad is cached),
    // every other key reads exactly. Flips in a chunk's 8-byte header fail reads with
    // an error naming the file, never wrong data. Then `quarantine` moves A's five files
    // into `<table>/quarantine/`, the table serves the rest exactly, and a reopen no
    // longer sees A.
    let fx = build();
    let gen = fx.gens[0];
    let rel = fx.component_rel(gen, "Data.db");
    let with = fx.expected(|_| true);
    let without = fx.expected(|src| src != Source::Sst(gen));
    let mut trials = 0;
    for (ci, chunk) in fx.chunks_a.iter().enumerate() {
        let body = chunk.offset + 8;
        for at in [body, body + chunk.len / 2, body + chunk.len - 1] {
            let what = format!(
                "{} flipped at {at} (chunk {ci} at {})",
                rel.display(),
                chunk.offset
            );
            trial(
                &fx,
                |dir| flip(&dir.join(&rel), at),
                |dir| {
                    let (s, _, t) = open(dir, &what);
                    assert!(
                        t.unreadable_sstables().is_empty(),
                        "{what}: chunks are verified on read, not at open"
                    );
                    let now = common::now();
                    let cmd = ReadCommand::all(now);
                    let mut failed = 0;
                    for k in &fx.keys {
                        for attempt in 0..2 {
                            match t.read(&key(k), &cmd) {
                                Ok(p) => {
                                    assert_eq!(
                                        live_value(p, now),
                                        with[k],
                                        "{what}: {k} read wrong data"
                                    );
                                    assert_eq!(attempt, 0, "{what}: {k} failed, then read fine");
                                    break;
                                }
                                Err(Error::ChecksumMismatch {
                                    path,
                                    offset,
                                    expected,
                                    got,
                                }) => {
                                    assert!(fx.touches(k, gen), "{what}: {k} is not in sstable A");
                                    assert!(
                                        path.ends_with(&rel),
                                        "{what}: {k}: error names {}",
                                        path.display()
                                    );
                                    assert_eq!(
                                        offset, chunk.offset as u64,
                                        "{what}: {k}: offset of the chunk"
                                    );
                                    assert_eq!(
                                        expected, chunk.crc,
                                        "{what}: {k}: expected is the stored CRC"
                                    );
                                    assert_ne!(expected, got);
                                    if attempt == 0 {
                                        failed += 1;
                                    }
                                }
                                Err(e) => {
                                    panic!("{what}: {k}: expected a checksum mismatch, got {e}")
                                }
                            }
                        }
                    }
                    assert!(failed > 0, "{what}: no read touched the flipped chunk");
                    if ci == 0 && at == body + chunk.len / 2 {
                        quarantine_and_reopen(&fx, dir, s, t, gen, &without, &what);
                    }
                },
            );
            trials += 1;
        }
        // The chunk header: length and CRC fields.
        for at in chunk.offset..body {
            let what = format!("{} flipped at {at} (header of chunk {ci})", rel.display());
            trial(
                &fx,
                |dir| flip(&dir.join(&rel), at),
                |dir| {
                    let (left_out, failed) = check_damaged_sstable(&fx, dir, gen, &rel, &what);
                    assert!(!left_out && failed > 0, "{what}: the chunk's reads fail");
                },
            );
            trials += 1;
        }
    }
    // The data file's own header: magic, component, version, reserved, compression,
    // chunk size. Either A is left out at open, or reads fail / return the right data.
    for at in 0..DATA_CHUNKS_START {
        let what = format!("{} flipped at {at} (file header)", rel.display());
        trial(
            &fx,
            |dir| flip(&dir.join(&rel), at),
            |dir| {
                check_damaged_sstable(&fx, dir, gen, &rel, &what);
            },
        );
        trials += 1;
    }
    println!("{trials} data flip trials");
}

/// Quarantines `gen` in an open store, checks the table serves the rest, reopens and
/// checks the sstable is gone for good.
fn quarantine_and_reopen(
    fx: &Fixture,
    dir: &Path,
    s: Storage,
    t: Arc<Table>,
    gen: u64,
    without: &HashMap<String, Option<Vec<u8>>>,
    what: &str,
) {
    let qdir = t
        .quarantine(gen)
        .unwrap_or_else(|e| panic!("{what}: quarantine: {e}"));
    assert_eq!(qdir, t.dir().join("quarantine"));
    for name in [
        "Data.db",
        "Index.db",
        "Filter.db",
        "Statistics.db",
        "TOC.txt",
    ] {
        let f = format!("sb-{gen}-{name}");
        assert!(qdir.join(&f).exists(), "{what}: {f} moved into quarantine/");
        assert!(
            !t.dir().join(&f).exists(),
            "{what}: {f} left the table directory"
        );
    }
    assert!(!t.sstable_generations().contains(&gen));
    assert!(t.unreadable_sstables().iter().all(|(g, _)| *g != gen));
    let bad = mismatches(&read_all(fx, &t), without);
    assert!(bad.is_empty(), "{what}: after quarantine: {bad:?}");
    drop(t);
    drop(s);
    let (s, _, t) = open(dir, what);
    assert!(
        !t.sstable_generations().contains(&gen),
        "{what}: a quarantined sstable stays out"
    );
    assert!(
        t.unreadable_sstables().is_empty(),
        "{what}: {:?}",
        t.unreadable_sstables()
    );
    let bad = mismatches(&read_all(fx, &t), without);
    assert!(bad.is_empty(), "{what}: after reopen: {bad:?}");
    assert!(
        qdir.join(format!("sb-{gen}-Data.db")).exists(),
        "quarantined files are kept"
    );
    drop(t);
    drop(s);
}

#[test]
fn flipped_index_filter_or_statistics_leave_the_sstable_out_and_quarantinable() {
    // Checks byte flips in Index.db, Filter.db and Statistics.db (every header byte,
    // ~48 evenly spaced bytes, the last 16; of sstable A, and a few of C, the newest):
    // each is caught at open by the component's CRC, so the store opens with that
    // sstable left out and listed in `unreadable_sstables()` with a message naming the
    // file; the other sstables and the commitlog serve exactly (C's writes may come back
    // from the commitlog, which still holds them). For one flip per component the
    // sstable is then quarantined: it leaves the unreadable list, its files move to
    // `quarantine/`, and a reopen sees neither it nor an unreadable sstable.
    let fx = build();
    let mut trials = 0;
    for (gi, gen) in [fx.gens[0], fx.gens[2]].into_iter().enumerate() {
        for name in ["Index.db", "Filter.db", "Statistics.db"] {
            let rel = fx.component_rel(gen, name);
            let len = fs::metadata(fx.store.join(&rel)).expect("component").len() as usize;
            let mut at: BTreeSet<usize> = if gi == 0 {
                (0..8)
                    .chain(len - 16..len)
                    .chain((0..48).map(|i| i * len / 48))
                    .collect()
            } else {
                [0, 5, len / 2, len - 1].into_iter().collect()
            };
            at.retain(|a| *a < len);
            for (n, a) in at.into_iter().enumerate() {
                let what = format!("{} flipped at {a} of {len}", rel.display());
                trial(
                    &fx,
                    |dir| flip(&dir.join(&rel), a),
                    |dir| {
                        let (left_out, _) = check_damaged_sstable(&fx, dir, gen, &rel, &what);
                        assert!(left_out, "{what}: the flip is caught at open");
                        if n == 0 {
                            let (s, _, t) = open(dir, &what);
                            assert!(t.unreadable_sstables().iter().any(|(g, _)| *g == gen));
                            let without = fx.expected(|src| src != Source::Sst(gen));
                            let reads = read_all(&fx, &t);
                            let with = fx.expected(|_| true);
                            // What the table serves now is what it serves after quarantine.
                            let now_served: HashMap<String, Option<Vec<u8>>> = fx
                                .keys
                                .iter()
                                .map(|k| {
                                    let v = reads[k]
                                        .as_ref()
                                        .unwrap_or_else(|e| panic!("{what}: {k}: {e}"))
                                        .clone();
                                    assert!(v == without[k] || v == with[k]);
                                    (k.clone(), v)
                                })
                                .collect();
                            quarantine_and_reopen(&fx, dir, s, t, gen, &now_served, &what);
                        }
                    },
                );
                trials += 1;
            }
        }
    }
    println!("{trials} component flip trials");
}

#[test]
fn quarantine_keeps_every_quarantined_sstable() {
    // Checks quarantined files are evidence that is never overwritten: the newest
    // sstable (its commitlog already gone) gets a flipped Statistics.db byte, is left
    // out at open and quarantined; after a restart the table writes new sstables, one
    // of which is corrupted and quarantined in turn. The first quarantined Data.db (whose
    // rows are intact: only its statistics were hit) must still be in quarantine/ with
    // its original bytes, and the table keeps serving its healthy sstable.
    let root = scratch_root();
    let dir = root.path().join("store");
    let write = |s: &Storage, k: &str| {
        s.apply(&write_mutation(k, Some(&value_for(k, 1)), 1))
            .expect("write");
    };
    {
        let (s, _) = Storage::open(cfg(&dir)).expect("open");
        let t = s
            .create_table(T, "ks.q", TableOptions::default())
            .expect("create");
        write(&s, "k1");
        t.flush().expect("flush");
        write(&s, "k2");
        t.flush().expect("flush");
    }
    // A clean restart discards the (fully flushed) commitlog.
    drop(open(&dir, "restart"));
    let (newest, tdir) = {
        let (s, _, t) = open(&dir, "restart 2");
        let gens = t.sstable_generations();
        assert_eq!(gens.len(), 2);
        let tdir = t.dir().to_path_buf();
        drop(t);
        drop(s);
        (gens[1], tdir)
    };
    flip(&tdir.join(format!("sb-{newest}-Statistics.db")), 10);
    let first_data = fs::read(tdir.join(format!("sb-{newest}-Data.db"))).expect("data");
    {
        let (s, _, t) = open(&dir, "after the flip");
        assert!(
            t.unreadable_sstables().iter().any(|(g, _)| *g == newest),
            "{:?}",
            t.unreadable_sstables()
        );
        t.quarantine(newest).expect("quarantine");
        drop(t);
        drop(s);
    }
    let qdir = tdir.join("quarantine");
    let still_there = |when: &str| {
        let kept = fs::read_dir(&qdir)
            .expect("quarantine dir")
            .map(|e| e.expect("entry").path())
            .any(|p| fs::read(&p).is_ok_and(|b| b == first_data));
        assert!(
            kept,
            "{when}: the first quarantined Data.db was overwritten or lost"
        );
    };
    still_there("after the first quarantine");
    {
        let (s, _, t) = open(&dir, "after the quarantine");
        write(&s, "k3");
        let g = t.flush().expect("flush").expect("an sstable");
        println!(
            "quarantined generation {newest}; the next flush after a restart wrote generation {g}"
        );
        drop(t);
        drop(s);
        let data = tdir.join(format!("sb-{g}-Data.db"));
        let len = fs::metadata(&data).expect("data").len() as usize;
        flip(&data, len - 1);
        let (s, _, t) = open(&dir, "after the second flip");
        let cmd = ReadCommand::all(common::now());
        assert!(matches!(
            t.read(&key("k3"), &cmd),
            Err(Error::ChecksumMismatch { .. })
        ));
        t.quarantine(g).expect("quarantine");
        assert!(
            t.read(&key("k1"), &cmd).expect("k1").is_some(),
            "the healthy sstable still serves"
        );
        drop(t);
        drop(s);
    }
    still_there("after a second sstable was quarantined (generations printed above)");
}
