//! Storage benchmark: Sibyl's engine against fjall 3, same machine, same run, same data.
//!
//! Workload (the storage issue's): N = 1,000,000 partitions (override with
//! `SIBYL_BENCH_N`), random 16-byte keys (like UUID partition keys), one 100-byte
//! value each, one writer thread,
//! commitlog `periodic` for Sibyl and fjall's default journal (written to the OS, no
//! fsync per write); both engines are then flushed and compacted to one run, and N
//! random point reads follow. Both get a 512 MiB block/chunk cache. Then Sibyl alone
//! with `batch` sync and 64 concurrent writers, to count writes acknowledged per fsync.
//! Memtable memory is measured with a counting global allocator: heap growth during
//! Sibyl's write phase divided by the user bytes written (key + value).
//!
//! Why random keys: Sibyl orders partitions by Murmur3 token, as Cassandra does, so
//! every key pattern becomes random inserts into its memtable. fjall orders by key, so
//! increasing keys append at the end of its skiplist with hot caches. With random
//! keys both engines see the same access pattern; a last line still reports writes
//! with increasing keys, where fjall's ordering gives it that advantage.
//!
//! Prints absolute figures for both and ends with
//! `writes_vs_fjall=<ratio> reads_vs_fjall=<ratio> batch_group_commit_writes_per_fsync=<n>`
//! where a ratio above 1 means Sibyl was faster.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::{
    Cell, ClusteringSlice, DecoratedKey, Mutation, ReadCommand, Row, Storage, StorageConfig,
    TableId, TableOptions,
};

struct Counting;
static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCATED.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const T: TableId = TableId(0xbe0c);
const VALUE_LEN: usize = 100;
const CACHE_BYTES: usize = 512 * 1024 * 1024;
const BATCH_WRITERS: usize = 64;
const BATCH_WRITES_EACH: usize = 200;

/// Random 16-byte keys, like the UUID partition keys most Cassandra tables have.
fn keys(n: usize, seed: u64) -> Vec<[u8; 16]> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut k = [0u8; 16];
            rng.fill(&mut k[..]);
            k
        })
        .collect()
}

/// 16-byte keys in increasing order (a counter, then random bytes): an ordered store
/// like fjall inserts them at the end of its memtable, a hash-partitioned one cannot.
fn sequential_keys(n: usize, seed: u64) -> Vec<[u8; 16]> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&(i as u64).to_be_bytes());
            rng.fill(&mut k[8..]);
            k
        })
        .collect()
}

/// Time to write `ks` into a fresh Sibyl store (periodic sync) and a fresh fjall.
fn write_both(ks: &[[u8; 16]]) -> (Duration, Duration) {
    let sdir = tempfile::tempdir().expect("tmp");
    let (s, _) = Storage::open(StorageConfig::new(sdir.path())).expect("open sibyl");
    s.create_table(T, "bench.kv", TableOptions::default())
        .expect("table");
    let start = Instant::now();
    for (i, k) in ks.iter().enumerate() {
        s.apply(&mutation(k, &value(i))).expect("write");
    }
    let sibyl = start.elapsed();
    drop(s);
    let fdir = tempfile::tempdir().expect("tmp");
    let db = fjall::Database::builder(fdir.path())
        .open()
        .expect("open fjall");
    let ks_f = db
        .keyspace("bench", fjall::KeyspaceCreateOptions::default)
        .expect("keyspace");
    let start = Instant::now();
    for (i, k) in ks.iter().enumerate() {
        ks_f.insert(k.to_vec(), value(i)).expect("insert");
    }
    (sibyl, start.elapsed())
}

fn value(i: usize) -> Vec<u8> {
    let mut v = vec![0u8; VALUE_LEN];
    v[..8].copy_from_slice(&(i as u64).to_le_bytes());
    v
}

fn mutation(k: &[u8; 16], v: &[u8]) -> Mutation {
    let mut m = Mutation::new(T, DecoratedKey::new(Bytes::copy_from_slice(k)));
    let mut r = Row::new(Bytes::new());
    r.add_cell(Cell::live(1, 1, Bytes::copy_from_slice(v)));
    m.update.rows.push(r);
    m
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn percentile(sorted: &[u32], q: f64) -> u32 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q) as usize)
        .copied()
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("SIBYL_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let ks = keys(n, 42);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(7));
    let user_bytes = n * (16 + VALUE_LEN);
    println!(
        "storage bench: {n} partitions, random 16-byte keys, {VALUE_LEN}-byte values, 1 writer"
    );

    // ---------------------------------------------------------------- Sibyl
    let sdir = tempfile::tempdir().expect("tmp");
    let mut cfg = StorageConfig::new(sdir.path());
    cfg.commitlog_sync = SyncMode::periodic();
    cfg.file_cache_size = CACHE_BYTES;
    if let Some(mb) = std::env::var("SIBYL_BENCH_MEMTABLE_MB")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        cfg.memtable_heap_space = mb << 20;
    }
    let (s, _) = Storage::open(cfg).expect("open sibyl");
    let t = s
        .create_table(T, "bench.kv", TableOptions::default())
        .expect("table");
    let heap0 = ALLOCATED.load(Ordering::Relaxed);
    let start = Instant::now();
    for (i, k) in ks.iter().enumerate() {
        s.apply(&mutation(k, &value(i))).expect("write");
    }
    let sibyl_write = start.elapsed();
    let heap = ALLOCATED.load(Ordering::Relaxed) - heap0;
    let mem = t.memtable();
    println!(
        "sibyl  write: {:>10.0} ops/s ({:.2} s); memtable heap {} MiB for {} MiB user data = {:.2}x (accounted {} MiB)",
        rate(n, sibyl_write),
        sibyl_write.as_secs_f64(),
        heap / (1 << 20),
        user_bytes / (1 << 20),
        heap as f64 / user_bytes as f64,
        mem.size_bytes() / (1 << 20)
    );
    drop(mem);
    if std::env::var("SIBYL_BENCH_PHASE").as_deref() == Ok("write") {
        // Profiling aid: stop after Sibyl's write phase.
        return;
    }
    let f0 = Instant::now();
    t.flush().expect("flush");
    println!(
        "sibyl  flush: {:.2} s, {} sstable(s), {} MiB on disk",
        f0.elapsed().as_secs_f64(),
        t.stats().sstable_count,
        t.stats().space_used_live / (1 << 20)
    );
    let now = sibyl_storage::table::now_seconds();
    let cmd = ReadCommand {
        slice: ClusteringSlice::ALL,
        reversed: false,
        limit: None,
        now,
    };
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for &i in &order {
        let t0 = Instant::now();
        let p = t
            .read(&DecoratedKey::new(Bytes::copy_from_slice(&ks[i])), &cmd)
            .expect("read")
            .expect("found");
        lat.push(t0.elapsed().as_nanos() as u32);
        assert_eq!(
            p.rows[0].cells[0].value_bytes().map(|v| v[..8].to_vec()),
            Some((i as u64).to_le_bytes().to_vec())
        );
    }
    let sibyl_read = start.elapsed();
    lat.sort_unstable();
    println!(
        "sibyl  read:  {:>10.0} ops/s ({:.2} s); p50 {:.1} µs p99 {:.1} µs",
        rate(n, sibyl_read),
        sibyl_read.as_secs_f64(),
        percentile(&lat, 0.5) as f64 / 1000.0,
        percentile(&lat, 0.99) as f64 / 1000.0
    );
    drop(t);
    drop(s);
    drop(sdir);

    // ---------------------------------------------------------------- fjall
    let fdir = tempfile::tempdir().expect("tmp");
    let db = fjall::Database::builder(fdir.path())
        .cache_size(CACHE_BYTES as u64)
        .open()
        .expect("open fjall");
    let ks_f = db
        .keyspace("bench", fjall::KeyspaceCreateOptions::default)
        .expect("keyspace");
    let start = Instant::now();
    for (i, k) in ks.iter().enumerate() {
        ks_f.insert(k.to_vec(), value(i)).expect("insert");
    }
    let fjall_write = start.elapsed();
    println!(
        "fjall  write: {:>10.0} ops/s ({:.2} s)",
        rate(n, fjall_write),
        fjall_write.as_secs_f64()
    );
    let f0 = Instant::now();
    ks_f.rotate_memtable_and_wait().expect("flush");
    ks_f.major_compact().expect("compact");
    println!(
        "fjall  flush+major compaction: {:.2} s",
        f0.elapsed().as_secs_f64()
    );
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for &i in &order {
        let t0 = Instant::now();
        let v = ks_f.get(ks[i]).expect("get").expect("found");
        lat.push(t0.elapsed().as_nanos() as u32);
        assert_eq!(&v[..8], &(i as u64).to_le_bytes());
    }
    let fjall_read = start.elapsed();
    lat.sort_unstable();
    println!(
        "fjall  read:  {:>10.0} ops/s ({:.2} s); p50 {:.1} µs p99 {:.1} µs",
        rate(n, fjall_read),
        fjall_read.as_secs_f64(),
        percentile(&lat, 0.5) as f64 / 1000.0,
        percentile(&lat, 0.99) as f64 / 1000.0
    );
    drop(ks_f);
    drop(db);
    drop(fdir);

    // ---------------------------------------------------------------- batch group commit
    let bdir = tempfile::tempdir().expect("tmp");
    let mut cfg = StorageConfig::new(bdir.path());
    cfg.commitlog_sync = SyncMode::Batch;
    let (s, _) = Storage::open(cfg).expect("open batch");
    s.create_table(T, "bench.kv", TableOptions::default())
        .expect("table");
    let s = Arc::new(s);
    let before = s.commitlog_stats();
    let start = Instant::now();
    let threads: Vec<_> = (0..BATCH_WRITERS)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..BATCH_WRITES_EACH {
                    let mut k = [0u8; 16];
                    k[..8].copy_from_slice(&((w * BATCH_WRITES_EACH + i) as u64).to_be_bytes());
                    s.apply(&mutation(&k, &value(i))).expect("batch write");
                }
            })
        })
        .collect();
    for th in threads {
        th.join().expect("writer");
    }
    let batch_elapsed = start.elapsed();
    let after = s.commitlog_stats();
    let writes = BATCH_WRITERS * BATCH_WRITES_EACH;
    let fsyncs = after.fsyncs - before.fsyncs;
    let per_fsync = (after.synced_appends - before.synced_appends) as f64 / fsyncs.max(1) as f64;
    println!(
        "sibyl  batch: {BATCH_WRITERS} writers, {writes} writes in {:.2} s ({:.0} ops/s), {fsyncs} fsyncs, {per_fsync:.1} writes/fsync",
        batch_elapsed.as_secs_f64(),
        rate(writes, batch_elapsed)
    );

    drop(s);
    let seq = sequential_keys(n, 43);
    let (ss, fs) = write_both(&seq);
    println!(
        "sequential keys (not in the ratios): sibyl write {:.0} ops/s, fjall write {:.0} ops/s, ratio {:.2}",
        rate(n, ss),
        rate(n, fs),
        fs.as_secs_f64() / ss.as_secs_f64()
    );

    let wr = sibyl_write.as_secs_f64().recip() / fjall_write.as_secs_f64().recip();
    let rr = sibyl_read.as_secs_f64().recip() / fjall_read.as_secs_f64().recip();
    println!("writes_vs_fjall={wr:.2} reads_vs_fjall={rr:.2} batch_group_commit_writes_per_fsync={per_fsync:.1}");
}
