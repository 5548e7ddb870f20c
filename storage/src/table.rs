//! Table: one table's memtables, sstables and their lifecycle (Cassandra's
//! ColumnFamilyStore).
//!
//! **Writes** serialize the mutation once, append it to the shared [`CommitLog`]
//! (which, per sync mode, returns before or after fsync) and then apply it to the
//! current memtable. Writers hold `switch_lock` for reading across both steps; a
//! memtable switch holds it for writing, so every write whose commitlog record lies
//! at or before the switch position is in the memtable being flushed and every later
//! one in the new memtable. That position is stored in the flushed sstable and is
//! where replay of this table starts after a restart.
//!
//! **Flush** writes the switched memtable to a new sstable on the engine's flush
//! thread (or the caller's, for `flush()`); reads see the flushing memtable until the
//! sstable is live; then the commitlog is told the table is clean up to the position.
//!
//! **Reads** merge the memtables and the sstables that may hold the key (bloom filter,
//! key bounds), newest first ([`crate::read`]).
//!
//! **Compaction** runs a [`SizeTieredStrategy`] choice: merge the inputs partition by
//! partition, purge what gc grace allows, write one sstable, swap it in, delete the
//! inputs. The output records its inputs as ancestors, so if the node dies between the
//! swap and the deletes, the next open deletes inputs that an output already contains.
//!
//! Corrupt sstables: one that fails verification at open is left out (the table is
//! served from its other sstables) and reported by [`Table::unreadable_sstables`];
//! [`Table::quarantine`] moves it aside into `quarantine/`. A chunk that fails its
//! checksum during a read fails that read with the file and offset; other reads go on.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::codec;
use crate::commitlog::{CommitLog, CommitLogPosition};
use crate::compaction::{
    Candidate, Choice, CompactionOptions, Reason, SizeTieredStrategy, Throttle,
};
use crate::error::{Error, Result};
use crate::memtable::Memtable;
use crate::metrics::LatencyHistogram;
use crate::model::{Mutation, PartitionUpdate, TableId};
use crate::read::{self, ReadCommand, ReadTrace, Source};
use crate::sstable::cache::ChunkCache;
use crate::sstable::reader::ReadMetrics;
use crate::sstable::writer::{write_file, WriterOptions};
use crate::sstable::{self, sync_dir, Compression, Descriptor, SSTableReader, SSTableWriter};
use crate::token::{murmur3_x64_128_cassandra, DecoratedKey};

thread_local! {
    /// Per-thread buffer a write's commitlog payload is encoded into.
    static ENCODE_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Largest encode buffer kept between writes (larger ones are freed after use).
const ENCODE_BUF_KEEP_BYTES: usize = 1024 * 1024;

/// Name of the table's options file in its directory.
const META_FILE: &str = "table.meta";
/// Largest `gc_grace_seconds` accepted (Cassandra's cap is i32::MAX seconds).
const MAX_GC_GRACE_SECONDS: i64 = i32::MAX as i64;

/// Per-table storage options (set by the schema's table options).
#[derive(Clone, Debug, PartialEq)]
pub struct TableOptions {
    pub compression: Compression,
    /// `chunk_length_in_kb` × 1024.
    pub chunk_length: usize,
    pub bloom_filter_fp_chance: f64,
    pub gc_grace_seconds: i64,
    pub compaction: CompactionOptions,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            compression: Compression::Zstd,
            chunk_length: sstable::DEFAULT_BLOCK_SIZE,
            bloom_filter_fp_chance: 0.01,
            gc_grace_seconds: 864_000,
            compaction: CompactionOptions::default(),
        }
    }
}

impl TableOptions {
    fn validate(&self) -> Result<()> {
        if !(self.chunk_length.is_power_of_two() && self.chunk_length <= sstable::MAX_BLOCK_SIZE) {
            return Err(Error::InvalidArgument(format!(
                "chunk_length_in_kb must be a power of 2 up to {} KiB",
                sstable::MAX_BLOCK_SIZE / 1024
            )));
        }
        if !(self.bloom_filter_fp_chance > 0.0 && self.bloom_filter_fp_chance <= 1.0) {
            return Err(Error::InvalidArgument(
                "bloom_filter_fp_chance must be in (0, 1]".into(),
            ));
        }
        if !(0..=MAX_GC_GRACE_SECONDS).contains(&self.gc_grace_seconds) {
            return Err(Error::InvalidArgument(
                "gc_grace_seconds must be between 0 and 2147483647".into(),
            ));
        }
        Ok(())
    }

    fn encode(&self, name: &str, truncated_at: CommitLogPosition) -> String {
        let c = &self.compaction;
        format!(
            "sibyl-table-meta 1\nname={name}\ncompression={}\nchunk_length={}\nbloom_filter_fp_chance={}\ngc_grace_seconds={}\n\
             compaction.enabled={}\ncompaction.min_threshold={}\ncompaction.max_threshold={}\ncompaction.bucket_low={}\n\
             compaction.bucket_high={}\ncompaction.min_sstable_size={}\ncompaction.tombstone_threshold={}\n\
             compaction.tombstone_compaction_interval={}\ntruncated_at={}:{}\n",
            match self.compression {
                Compression::None => "none",
                Compression::Lz4 => "lz4",
                Compression::Zstd => "zstd",
            },
            self.chunk_length,
            self.bloom_filter_fp_chance,
            self.gc_grace_seconds,
            c.enabled,
            c.min_threshold,
            c.max_threshold,
            c.bucket_low,
            c.bucket_high,
            c.min_sstable_size,
            c.tombstone_threshold,
            c.tombstone_compaction_interval,
            truncated_at.segment_id,
            truncated_at.offset
        )
    }

    fn decode(text: &str, path: &Path) -> Result<(TableOptions, String, CommitLogPosition)> {
        let mut o = TableOptions::default();
        let mut name = String::new();
        let mut truncated = CommitLogPosition::default();
        let bad = |k: &str| Error::corrupt(path, 0, format!("bad value for {k}"));
        let mut lines = text.lines();
        if lines.next() != Some("sibyl-table-meta 1") {
            return Err(Error::corrupt(
                path,
                0,
                "not a table metadata file (version 1)",
            ));
        }
        for line in lines {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let c = &mut o.compaction;
            match k {
                "name" => name = v.to_string(),
                "compression" => o.compression = Compression::parse(v).ok_or_else(|| bad(k))?,
                "chunk_length" => o.chunk_length = v.parse().map_err(|_| bad(k))?,
                "bloom_filter_fp_chance" => {
                    o.bloom_filter_fp_chance = v.parse().map_err(|_| bad(k))?
                }
                "gc_grace_seconds" => o.gc_grace_seconds = v.parse().map_err(|_| bad(k))?,
                "compaction.enabled" => c.enabled = v.parse().map_err(|_| bad(k))?,
                "compaction.min_threshold" => c.min_threshold = v.parse().map_err(|_| bad(k))?,
                "compaction.max_threshold" => c.max_threshold = v.parse().map_err(|_| bad(k))?,
                "compaction.bucket_low" => c.bucket_low = v.parse().map_err(|_| bad(k))?,
                "compaction.bucket_high" => c.bucket_high = v.parse().map_err(|_| bad(k))?,
                "compaction.min_sstable_size" => {
                    c.min_sstable_size = v.parse().map_err(|_| bad(k))?
                }
                "compaction.tombstone_threshold" => {
                    c.tombstone_threshold = v.parse().map_err(|_| bad(k))?
                }
                "compaction.tombstone_compaction_interval" => {
                    c.tombstone_compaction_interval = v.parse().map_err(|_| bad(k))?
                }
                "truncated_at" => {
                    let (s, off) = v.split_once(':').ok_or_else(|| bad(k))?;
                    truncated = CommitLogPosition {
                        segment_id: s.parse().map_err(|_| bad(k))?,
                        offset: off.parse().map_err(|_| bad(k))?,
                    };
                }
                _ => {}
            }
        }
        Ok((o, name, truncated))
    }
}

/// Statistics of one table (nodetool tablestats).
#[derive(Clone, Debug, Default)]
pub struct TableStats {
    pub sstable_count: usize,
    pub space_used_live: u64,
    pub space_used_total: u64,
    pub partitions_estimate: u64,
    pub memtable_bytes: usize,
    pub memtable_data_bytes: usize,
    pub pending_flushes: usize,
    pub read_count: u64,
    pub read_latency_p50_us: u64,
    pub read_latency_p99_us: u64,
    pub write_count: u64,
    pub write_latency_p50_us: u64,
    pub write_latency_p99_us: u64,
    pub bloom_false_positives: u64,
    pub bloom_true_positives: u64,
    pub tombstones_scanned: u64,
    pub blocks_read: u64,
    pub blocks_decompressed: u64,
    pub compactions_completed: u64,
    pub unreadable_sstables: usize,
}

/// Memtables (newest first) and sstables (newest data first) a read consults.
type Sources = (Vec<Arc<Memtable>>, Vec<Arc<SSTableReader>>);

struct State {
    memtable: Arc<Memtable>,
    /// Switched memtables not yet in an sstable, oldest first, with the commitlog
    /// position each covers.
    flushing: Vec<(Arc<Memtable>, CommitLogPosition)>,
    sstables: Vec<Arc<SSTableReader>>,
    compacting: HashSet<u64>,
}

/// Hooks a table uses to reach the engine (flush requests, global memory).
pub(crate) struct Shared {
    pub commitlog: Arc<CommitLog>,
    pub cache: Arc<ChunkCache>,
    pub max_mutation_size: usize,
    pub compaction_throughput: u64,
    pub request_flush: Box<dyn Fn(TableId) + Send + Sync>,
    pub request_compaction: Box<dyn Fn(TableId) + Send + Sync>,
    pub memtable_flush_threshold: usize,
}

/// One table's storage. See the module documentation.
pub struct Table {
    pub id: TableId,
    name: String,
    dir: PathBuf,
    options: RwLock<TableOptions>,
    state: RwLock<State>,
    switch_lock: RwLock<()>,
    flush_lock: Mutex<()>,
    compaction_lock: Mutex<()>,
    next_generation: AtomicU64,
    replay_from: Mutex<CommitLogPosition>,
    truncated_at: Mutex<CommitLogPosition>,
    unreadable: Mutex<Vec<(u64, String)>>,
    shared: Arc<Shared>,
    metrics: Arc<ReadMetrics>,
    read_latency: LatencyHistogram,
    write_latency: LatencyHistogram,
    tombstones_scanned: AtomicU64,
    compactions_completed: AtomicU64,
    flush_requested: AtomicBool,
    dropped: AtomicBool,
}

/// Generations of every sstable file under `dir` (recursively, one level of subdirectories).
fn generations_below(dir: &Path) -> Vec<u64> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Ok(sub) = fs::read_dir(&p) {
                for f in sub.flatten() {
                    out.extend(Descriptor::parse_generation(
                        &f.file_name().to_string_lossy(),
                    ));
                }
            }
        } else {
            out.extend(Descriptor::parse_generation(
                &e.file_name().to_string_lossy(),
            ));
        }
    }
    out
}

/// Seconds since the epoch.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Table {
    /// Creates the directory and options file of a new table.
    pub(crate) fn create(
        dir: PathBuf,
        id: TableId,
        name: &str,
        options: TableOptions,
        shared: Arc<Shared>,
    ) -> Result<Table> {
        options.validate()?;
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        let t = Table::new(
            dir,
            id,
            name.to_string(),
            options,
            shared,
            CommitLogPosition::default(),
        );
        t.persist_meta()?;
        Ok(t)
    }

    fn new(
        dir: PathBuf,
        id: TableId,
        name: String,
        options: TableOptions,
        shared: Arc<Shared>,
        truncated_at: CommitLogPosition,
    ) -> Table {
        Table {
            id,
            name,
            dir,
            options: RwLock::new(options),
            state: RwLock::new(State {
                memtable: Arc::new(Memtable::new()),
                flushing: Vec::new(),
                sstables: Vec::new(),
                compacting: HashSet::new(),
            }),
            switch_lock: RwLock::new(()),
            flush_lock: Mutex::new(()),
            compaction_lock: Mutex::new(()),
            next_generation: AtomicU64::new(1),
            replay_from: Mutex::new(truncated_at),
            truncated_at: Mutex::new(truncated_at),
            unreadable: Mutex::new(Vec::new()),
            shared,
            metrics: Arc::new(ReadMetrics::default()),
            read_latency: LatencyHistogram::default(),
            write_latency: LatencyHistogram::default(),
            tombstones_scanned: AtomicU64::new(0),
            compactions_completed: AtomicU64::new(0),
            flush_requested: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
        }
    }

    /// Opens an existing table directory: options, sstables (leftovers removed,
    /// compaction inputs already merged into an output deleted, corrupt ones left out).
    pub(crate) fn open(dir: PathBuf, id: TableId, shared: Arc<Shared>) -> Result<Table> {
        let meta = dir.join(META_FILE);
        let text = fs::read_to_string(&meta).map_err(|e| Error::io(&meta, e))?;
        let (options, name, truncated_at) = TableOptions::decode(&text, &meta)?;
        let t = Table::new(dir.clone(), id, name, options, shared.clone(), truncated_at);
        let gens = sstable::list_generations(&dir)?;
        let mut readers = Vec::new();
        for g in &gens {
            let desc = Descriptor::new(&dir, *g);
            match SSTableReader::open(desc, shared.cache.clone(), t.metrics.clone()) {
                Ok(r) => readers.push(Arc::new(r)),
                Err(e) => {
                    tracing::error!(table = %t.name, generation = g, error = %e, "sstable is unreadable; serving the table from its other sstables (quarantine it with nodetool)");
                    if let Ok(mut u) = t.unreadable.lock() {
                        u.push((*g, e.to_string()));
                    }
                }
            }
        }
        let ancestors: BTreeSet<u64> = readers
            .iter()
            .flat_map(|r| r.stats().ancestors.clone())
            .collect();
        let mut live = Vec::new();
        for r in readers {
            if ancestors.contains(&r.generation()) {
                tracing::info!(table = %t.name, generation = r.generation(), "deleting sstable already merged into a compaction output");
                r.desc.delete()?;
            } else {
                live.push(r);
            }
        }
        // Generations are never reused, not even those moved into quarantine/ or kept in
        // snapshots/, so a new sstable can never take (or overwrite) an old one's name.
        let max_gen = gens
            .iter()
            .copied()
            .chain(generations_below(&dir.join("quarantine")))
            .chain(generations_below(&dir.join("snapshots")))
            .max()
            .unwrap_or(0);
        t.next_generation.store(max_gen + 1, Ordering::Relaxed);
        let mut replay = truncated_at;
        for r in &live {
            replay = replay.max(r.stats().commitlog_upper);
        }
        *t.replay_from.lock().map_err(|_| Error::Closed)? = replay;
        t.state.write().map_err(|_| Error::Closed)?.sstables = live;
        Ok(t)
    }

    fn persist_meta(&self) -> Result<()> {
        let o = self.options();
        let truncated = *self.truncated_at.lock().map_err(|_| Error::Closed)?;
        let tmp = self.dir.join(format!("{META_FILE}.tmp"));
        write_file(&tmp, o.encode(&self.name, truncated).as_bytes())?;
        let dst = self.dir.join(META_FILE);
        fs::rename(&tmp, &dst).map_err(|e| Error::io(&dst, e))?;
        sync_dir(&self.dir)
    }

    /// The table's name as given at creation (for logs and directory names).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> TableOptions {
        self.options.read().map(|o| o.clone()).unwrap_or_default()
    }

    /// Changes options (ALTER TABLE); new sstables use them.
    pub fn set_options(&self, options: TableOptions) -> Result<()> {
        options.validate()?;
        *self.options.write().map_err(|_| Error::Closed)? = options;
        self.persist_meta()
    }

    /// Commitlog records of this table at or before this position are already in sstables.
    pub fn replay_position(&self) -> CommitLogPosition {
        self.replay_from.lock().map(|p| *p).unwrap_or_default()
    }

    fn current_memtable(&self) -> Result<Arc<Memtable>> {
        Ok(self
            .state
            .read()
            .map_err(|_| Error::Closed)?
            .memtable
            .clone())
    }

    /// Applies a replayed mutation (no commitlog append).
    pub(crate) fn apply_replayed(&self, m: &Mutation) -> Result<()> {
        self.current_memtable()?.apply(&m.key, &m.update);
        Ok(())
    }

    /// Applies a mutation: commitlog, then memtable. Returns once the write is
    /// acknowledged by the commitlog's sync mode.
    pub fn apply(&self, m: &Mutation) -> Result<()> {
        let start = Instant::now();
        if self.dropped.load(Ordering::Relaxed) {
            return Err(Error::UnknownTable(self.id));
        }
        let mem = ENCODE_BUF.with(|b| -> Result<Arc<Memtable>> {
            let mut buf = b.borrow_mut();
            buf.clear();
            codec::encode_mutation(&mut buf, m);
            if buf.len() > self.shared.max_mutation_size {
                return Err(Error::MutationTooLarge {
                    size: buf.len(),
                    max: self.shared.max_mutation_size,
                });
            }
            let _g = self.switch_lock.read().map_err(|_| Error::Closed)?;
            // IMPORTANT: the commitlog append precedes the memtable insert, both under the
            // switch lock, so a flush's commitlog position covers exactly its memtable.
            self.shared.commitlog.append(self.id, &buf)?;
            let mem = self.current_memtable()?;
            mem.apply(&m.key, &m.update);
            if buf.capacity() > ENCODE_BUF_KEEP_BYTES {
                // Do not keep a huge buffer alive after one large mutation.
                *buf = Vec::new();
            }
            Ok(mem)
        })?;
        if mem.size_bytes() >= self.shared.memtable_flush_threshold
            && !self.flush_requested.swap(true, Ordering::Relaxed)
        {
            (self.shared.request_flush)(self.id);
        }
        self.write_latency.record(start.elapsed());
        Ok(())
    }

    /// Current memtable's accounted size.
    pub fn memtable_size(&self) -> usize {
        self.state
            .read()
            .map(|s| s.memtable.size_bytes())
            .unwrap_or(0)
    }

    /// The live memtable (for memory measurements).
    pub fn memtable(&self) -> Arc<Memtable> {
        self.current_memtable()
            .unwrap_or_else(|_| Arc::new(Memtable::new()))
    }

    /// Switches the memtable and writes the old one to an sstable. Returns the new
    /// sstable's generation, or `None` when there was nothing to flush.
    pub fn flush(&self) -> Result<Option<u64>> {
        let _f = self.flush_lock.lock().map_err(|_| Error::Closed)?;
        self.flush_requested.store(false, Ordering::Relaxed);
        {
            let _w = self.switch_lock.write().map_err(|_| Error::Closed)?;
            let mut st = self.state.write().map_err(|_| Error::Closed)?;
            if !st.memtable.is_empty() {
                let upper = self.shared.commitlog.current_position();
                let old = std::mem::replace(&mut st.memtable, Arc::new(Memtable::new()));
                st.flushing.push((old, upper));
            }
        }
        // Flushes are serialized, so everything queued is ours to write, oldest first: a
        // memtable whose flush failed earlier (a full disk, say) is retried before newer
        // ones. IMPORTANT: the first failure stops the loop, so no newer sstable (whose
        // commitlog position would let replay skip the older memtable's records) is
        // written while an older memtable is unflushed.
        let pending = self
            .state
            .read()
            .map_err(|_| Error::Closed)?
            .flushing
            .clone();
        let mut last = None;
        for (mem, upper) in pending {
            let reader = self.write_memtable(&mem, upper)?;
            let mut st = self.state.write().map_err(|_| Error::Closed)?;
            st.flushing.retain(|(m, _)| !Arc::ptr_eq(m, &mem));
            if let Some(r) = reader {
                last = Some(r.generation());
                st.sstables.push(Arc::new(r));
            }
            drop(st);
            self.shared.commitlog.mark_clean(self.id, upper);
        }
        if last.is_some() {
            (self.shared.request_compaction)(self.id);
        }
        Ok(last)
    }

    fn write_memtable(
        &self,
        mem: &Memtable,
        upper: CommitLogPosition,
    ) -> Result<Option<SSTableReader>> {
        if self.dropped.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let o = self.options();
        let gen = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let desc = Descriptor::new(&self.dir, gen);
        let mut w = SSTableWriter::create(
            desc.clone(),
            WriterOptions {
                compression: o.compression,
                block_size: o.chunk_length,
                bloom_filter_fp_chance: o.bloom_filter_fp_chance,
                expected_partitions: mem.partition_estimate().max(1),
            },
        )?;
        for (k, p) in mem.partitions() {
            w.append(&k, &p)?;
        }
        let (desc, _) = w.finish(upper, Vec::new(), now_seconds())?;
        Ok(Some(SSTableReader::open(
            desc,
            self.shared.cache.clone(),
            self.metrics.clone(),
        )?))
    }

    fn snapshot_sources(&self) -> Result<Sources> {
        let st = self.state.read().map_err(|_| Error::Closed)?;
        let mut mems = vec![st.memtable.clone()];
        mems.extend(st.flushing.iter().rev().map(|(m, _)| m.clone()));
        let mut ssts = st.sstables.clone();
        ssts.sort_by_key(|s| std::cmp::Reverse(s.stats().max_timestamp));
        Ok((mems, ssts))
    }

    /// Reads one partition: reconciled, shadowed data removed, tombstones kept.
    /// `None` when no memtable or sstable holds the partition.
    pub fn read(&self, key: &DecoratedKey, cmd: &ReadCommand) -> Result<Option<PartitionUpdate>> {
        let start = Instant::now();
        let (mems, ssts) = self.snapshot_sources()?;
        let mut sources: Vec<Source<'_>> = Vec::new();
        let mut deletion = crate::model::DeletionTime::LIVE;
        for m in &mems {
            if let Some(p) = m.read_lazy(key, &cmd.slice, cmd.reversed) {
                deletion = deletion.max(p.deletion);
                sources.push(Source {
                    deletion: p.deletion,
                    range_tombstones: p.range_tombstones,
                    static_row: p.static_row,
                    rows: Box::new(p.rows.map(Ok)),
                });
            }
        }
        let hash = murmur3_x64_128_cassandra(&key.key);
        let mut trace = ReadTrace::default();
        let mut hbuf = Vec::new();
        for s in &ssts {
            if !deletion.is_live() && s.stats().max_timestamp <= deletion.marked_for_delete_at {
                // Everything in this sstable (and the older ones after it) is shadowed.
                break;
            }
            if !s.may_contain(key, hash) {
                continue;
            }
            let Some(e) = s.find(key)? else {
                self.metrics
                    .bloom_false_positives
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            };
            self.metrics
                .bloom_true_positives
                .fetch_add(1, Ordering::Relaxed);
            trace.sstables_read += 1;
            let h = s.read_header(&e, &mut hbuf)?;
            deletion = deletion.max(h.deletion);
            let rows = s.rows(e, cmd.slice.clone(), cmd.reversed)?;
            sources.push(Source {
                deletion: h.deletion,
                range_tombstones: h.range_tombstones,
                static_row: h.static_row,
                rows: Box::new(rows),
            });
        }
        if sources.is_empty() {
            self.read_latency.record(start.elapsed());
            return Ok(None);
        }
        let out = read::merge(sources, cmd, &mut trace)?;
        self.tombstones_scanned
            .fetch_add(trace.tombstones_scanned, Ordering::Relaxed);
        self.read_latency.record(start.elapsed());
        Ok(Some(out))
    }

    /// Partition keys in ring order within `(start, end)` bounds, at most `limit`,
    /// merged across memtables and sstables (for scans, paging, repair, streaming).
    pub fn scan_keys(
        &self,
        start: std::ops::Bound<&DecoratedKey>,
        end: std::ops::Bound<&DecoratedKey>,
        limit: usize,
    ) -> Result<Vec<DecoratedKey>> {
        use std::ops::Bound;
        let (mems, ssts) = self.snapshot_sources()?;
        let from = match start {
            Bound::Included(k) => Some((k, true)),
            Bound::Excluded(k) => Some((k, false)),
            Bound::Unbounded => None,
        };
        let past_end = |k: &DecoratedKey| match end {
            Bound::Included(e) => k > e,
            Bound::Excluded(e) => k >= e,
            Bound::Unbounded => false,
        };
        let mut all: BTreeSet<DecoratedKey> = BTreeSet::new();
        for m in &mems {
            for k in m.keys_between(from, None, limit.saturating_add(1)) {
                if past_end(&k) {
                    break;
                }
                all.insert(k);
            }
        }
        for s in &ssts {
            let mut n = 0;
            for e in s.entries_from(from.map(|(k, _)| k)) {
                let e = e?;
                if let Some((k, false)) = from {
                    if &e.key == k {
                        continue;
                    }
                }
                if past_end(&e.key) || n >= limit {
                    break;
                }
                all.insert(e.key);
                n += 1;
            }
        }
        Ok(all.into_iter().take(limit).collect())
    }

    /// Reads up to `limit` partitions with live data in ring order after `start`:
    /// each as [`Table::read`] gives it, with `cmd` applied to every partition.
    pub fn scan(
        &self,
        start: std::ops::Bound<&DecoratedKey>,
        end: std::ops::Bound<&DecoratedKey>,
        limit: usize,
        cmd: &ReadCommand,
    ) -> Result<Vec<(DecoratedKey, PartitionUpdate)>> {
        let mut out = Vec::new();
        let mut cursor: Option<DecoratedKey> = None;
        while out.len() < limit {
            let want = (limit - out.len()).max(16);
            let keys = match &cursor {
                None => self.scan_keys(start, end, want)?,
                Some(c) => self.scan_keys(std::ops::Bound::Excluded(c), end, want)?,
            };
            if keys.is_empty() {
                break;
            }
            for k in keys {
                cursor = Some(k.clone());
                if let Some(p) = self.read(&k, cmd)? {
                    out.push((k, p));
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Candidates for the compaction strategy (sstables not being compacted).
    fn candidates(&self, gc_before: i64) -> Result<Vec<Candidate>> {
        let st = self.state.read().map_err(|_| Error::Closed)?;
        Ok(st
            .sstables
            .iter()
            .filter(|s| !st.compacting.contains(&s.generation()))
            .map(|s| Candidate {
                generation: s.generation(),
                size: s.data_size(),
                droppable_tombstone_ratio: s.stats().droppable_tombstone_ratio(gc_before),
                created_at: s.stats().created_at,
            })
            .collect())
    }

    /// Asks the strategy for a compaction and runs it. Returns true if one ran.
    pub fn maybe_compact(&self) -> Result<bool> {
        let now = now_seconds();
        let o = self.options();
        let gc_before = now - o.gc_grace_seconds;
        let strategy = SizeTieredStrategy {
            options: o.compaction,
        };
        match strategy.choose(&self.candidates(gc_before)?, now) {
            Choice::DoNothing => Ok(false),
            Choice::Merge { inputs, reason } => {
                self.compact(&inputs, reason)?;
                Ok(true)
            }
        }
    }

    /// Major compaction: every sstable into one (nodetool compact).
    pub fn compact_major(&self) -> Result<()> {
        let gens: Vec<u64> = self.candidates(0)?.iter().map(|c| c.generation).collect();
        if gens.is_empty() {
            return Ok(());
        }
        self.compact(&gens, Reason::Major)
    }

    /// Compacts exactly these sstables together (nodetool compact --user-defined).
    pub fn compact_user_defined(&self, gens: &[u64]) -> Result<()> {
        let live = self.sstable_generations();
        if let Some(g) = gens.iter().find(|g| !live.contains(g)) {
            return Err(Error::InvalidArgument(format!(
                "no live sstable with generation {g}"
            )));
        }
        self.compact(gens, Reason::UserDefined)
    }

    fn compact(&self, gens: &[u64], reason: Reason) -> Result<()> {
        let _c = self.compaction_lock.lock().map_err(|_| Error::Closed)?;
        let inputs: Vec<Arc<SSTableReader>> = {
            let mut st = self.state.write().map_err(|_| Error::Closed)?;
            let v: Vec<_> = st
                .sstables
                .iter()
                .filter(|s| gens.contains(&s.generation()))
                .cloned()
                .collect();
            for s in &v {
                st.compacting.insert(s.generation());
            }
            v
        };
        let result = self.run_compaction(&inputs, reason);
        let mut st = self.state.write().map_err(|_| Error::Closed)?;
        for s in &inputs {
            st.compacting.remove(&s.generation());
        }
        match result {
            Ok(output) => {
                st.sstables.retain(|s| !gens.contains(&s.generation()));
                if let Some(o) = output {
                    st.sstables.push(Arc::new(o));
                }
                self.compactions_completed.fetch_add(1, Ordering::Relaxed);
                drop(st);
                // Readers still holding an input keep its mapping; the files can go now.
                for s in &inputs {
                    s.desc.delete()?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn run_compaction(
        &self,
        inputs: &[Arc<SSTableReader>],
        reason: Reason,
    ) -> Result<Option<SSTableReader>> {
        if inputs.is_empty() {
            return Ok(None);
        }
        let started = Instant::now();
        let now = now_seconds();
        let o = self.options();
        let gc_before = now - o.gc_grace_seconds;
        let input_gens: HashSet<u64> = inputs.iter().map(|s| s.generation()).collect();
        // Data outside the compaction that tombstones might still need to shadow.
        let (mems, others) = {
            let st = self.state.read().map_err(|_| Error::Closed)?;
            let mut mems = vec![st.memtable.clone()];
            mems.extend(st.flushing.iter().map(|(m, _)| m.clone()));
            let others: Vec<_> = st
                .sstables
                .iter()
                .filter(|s| !input_gens.contains(&s.generation()))
                .cloned()
                .collect();
            (mems, others)
        };
        let mem_min_ts = mems
            .iter()
            .map(|m| m.min_timestamp())
            .min()
            .unwrap_or(i64::MAX);
        let max_purgeable = |k: &DecoratedKey| {
            let h = murmur3_x64_128_cassandra(&k.key);
            others
                .iter()
                .filter(|s| s.may_contain(k, h))
                .map(|s| s.stats().min_timestamp)
                .min()
                .unwrap_or(i64::MAX)
                .min(mem_min_ts)
        };
        let expected: u64 = inputs.iter().map(|s| s.stats().partition_count).sum();
        let gen = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let mut w = SSTableWriter::create(
            Descriptor::new(&self.dir, gen),
            WriterOptions {
                compression: o.compression,
                block_size: o.chunk_length,
                bloom_filter_fp_chance: o.bloom_filter_fp_chance,
                expected_partitions: expected.max(1),
            },
        )?;
        let mut throttle = Throttle::new(self.shared.compaction_throughput);
        let mut iters: Vec<_> = inputs
            .iter()
            .map(|s| s.entries_from(None).peekable())
            .collect();
        let mut upper = CommitLogPosition::default();
        for s in inputs {
            upper = upper.max(s.stats().commitlog_upper);
        }
        loop {
            if self.dropped.load(Ordering::Relaxed) {
                w.abort();
                return Ok(None);
            }
            // Smallest next key among inputs.
            let mut min: Option<DecoratedKey> = None;
            for it in iters.iter_mut() {
                match it.peek() {
                    Some(Ok(e)) if min.as_ref().is_none_or(|m| e.key < *m) => {
                        min = Some(e.key.clone());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) => {
                        if let Some(Err(e)) = it.next() {
                            return Err(e);
                        }
                    }
                    None => {}
                }
            }
            let Some(key) = min else { break };
            let mut merged: Option<PartitionUpdate> = None;
            for (i, it) in iters.iter_mut().enumerate() {
                if matches!(it.peek(), Some(Ok(e)) if e.key == key) {
                    if let Some(Ok(e)) = it.next() {
                        throttle.account(e.len);
                        let p = inputs[i].read_partition(&e)?;
                        merged = Some(match merged {
                            None => p,
                            Some(m) => read::merge_updates(m, p),
                        });
                    }
                }
            }
            if let Some(p) = merged {
                if let Some(p) = read::purge_for_compaction(p, now, gc_before, max_purgeable(&key))
                {
                    w.append(&key, &p)?;
                }
            }
        }
        let ancestors: Vec<u64> = inputs.iter().map(|s| s.generation()).collect();
        if w.partition_count() == 0 {
            w.abort();
            tracing::info!(table = %self.name, ?reason, inputs = ?ancestors, "compaction purged everything");
            return Ok(None);
        }
        let (desc, stats) = w.finish(upper, ancestors.clone(), now)?;
        tracing::info!(
            table = %self.name, ?reason, inputs = ?ancestors, output = desc.generation,
            partitions = stats.partition_count, elapsed_ms = started.elapsed().as_millis() as u64,
            "compacted"
        );
        Ok(Some(SSTableReader::open(
            desc,
            self.shared.cache.clone(),
            self.metrics.clone(),
        )?))
    }

    /// Flushes, then hard-links every live sstable component into `snapshots/<name>/`.
    pub fn snapshot(&self, name: &str) -> Result<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(Error::InvalidArgument(format!(
                "invalid snapshot name {name:?}"
            )));
        }
        self.flush()?;
        let dir = self.dir.join("snapshots").join(name);
        if dir.exists() {
            return Err(Error::InvalidArgument(format!(
                "snapshot {name} already exists"
            )));
        }
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let ssts = self
            .state
            .read()
            .map_err(|_| Error::Closed)?
            .sstables
            .clone();
        for s in ssts {
            for p in s.desc.all_paths() {
                if let Some(f) = p.file_name() {
                    let to = dir.join(f);
                    fs::hard_link(&p, &to).map_err(|e| Error::io(&to, e))?;
                }
            }
        }
        fs::copy(self.dir.join(META_FILE), dir.join(META_FILE)).map_err(|e| Error::io(&dir, e))?;
        sync_dir(&dir)?;
        if let Some(p) = dir.parent() {
            sync_dir(p)?;
        }
        Ok(dir)
    }

    /// Removes every row: memtables are discarded, sstables deleted, and replay will
    /// skip commitlog records up to now.
    pub fn truncate(&self) -> Result<()> {
        let _c = self.compaction_lock.lock().map_err(|_| Error::Closed)?;
        let _f = self.flush_lock.lock().map_err(|_| Error::Closed)?;
        let (ssts, pos) = {
            let _w = self.switch_lock.write().map_err(|_| Error::Closed)?;
            let mut st = self.state.write().map_err(|_| Error::Closed)?;
            let pos = self.shared.commitlog.current_position();
            st.memtable = Arc::new(Memtable::new());
            st.flushing.clear();
            (std::mem::take(&mut st.sstables), pos)
        };
        // IMPORTANT: the truncation position is durable before any file goes, so a crash
        // in between cannot replay the truncated writes over the remaining sstables.
        *self.truncated_at.lock().map_err(|_| Error::Closed)? = pos;
        *self.replay_from.lock().map_err(|_| Error::Closed)? = pos;
        self.persist_meta()?;
        for s in ssts {
            s.desc.delete()?;
        }
        self.shared.commitlog.mark_clean(self.id, pos);
        Ok(())
    }

    /// Marks the table dropped and deletes its directory.
    pub(crate) fn drop_files(&self) -> Result<()> {
        self.dropped.store(true, Ordering::Relaxed);
        let _c = self.compaction_lock.lock().map_err(|_| Error::Closed)?;
        let _f = self.flush_lock.lock().map_err(|_| Error::Closed)?;
        {
            let mut st = self.state.write().map_err(|_| Error::Closed)?;
            st.sstables.clear();
            st.flushing.clear();
            st.memtable = Arc::new(Memtable::new());
        }
        self.shared.commitlog.forget_table(self.id);
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&self.dir, e)),
        }
        if let Some(p) = self.dir.parent() {
            sync_dir(p)?;
        }
        Ok(())
    }

    /// Sstables left out at open because they failed verification: (generation, error).
    pub fn unreadable_sstables(&self) -> Vec<(u64, String)> {
        self.unreadable
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default()
    }

    /// Moves an sstable's files into `quarantine/` and stops serving it.
    pub fn quarantine(&self, generation: u64) -> Result<PathBuf> {
        let _c = self.compaction_lock.lock().map_err(|_| Error::Closed)?;
        let desc = Descriptor::new(&self.dir, generation);
        let known_unreadable = self
            .unreadable
            .lock()
            .map(|u| u.iter().any(|(g, _)| *g == generation))
            .unwrap_or(false);
        if !known_unreadable && !self.sstable_generations().contains(&generation) {
            return Err(Error::InvalidArgument(format!(
                "table {} has no sstable with generation {generation}",
                self.name
            )));
        }
        {
            let mut st = self.state.write().map_err(|_| Error::Closed)?;
            st.sstables.retain(|s| s.generation() != generation);
        }
        let qdir = self.dir.join("quarantine");
        fs::create_dir_all(&qdir).map_err(|e| Error::io(&qdir, e))?;
        // Never overwrite evidence: a name already in quarantine/ gets a numeric suffix.
        let mut suffix = 0u32;
        let target = |f: &std::ffi::OsStr, n: u32| {
            if n == 0 {
                qdir.join(f)
            } else {
                qdir.join(format!("{}.{n}", f.to_string_lossy()))
            }
        };
        while desc
            .all_paths()
            .iter()
            .filter_map(|p| p.file_name())
            .any(|f| target(f, suffix).exists())
        {
            suffix += 1;
        }
        // The TOC moves first: from then on the sstable no longer exists in the table.
        let mut paths = vec![desc.toc_path()];
        paths.extend(
            desc.all_paths()
                .into_iter()
                .filter(|p| *p != desc.toc_path()),
        );
        for p in paths {
            if let Some(f) = p.file_name() {
                match fs::rename(&p, target(f, suffix)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
            }
        }
        sync_dir(&qdir)?;
        sync_dir(&self.dir)?;
        if let Ok(mut u) = self.unreadable.lock() {
            u.retain(|(g, _)| *g != generation);
        }
        tracing::warn!(table = %self.name, generation, dir = %qdir.display(), "sstable quarantined");
        Ok(qdir)
    }

    /// Generations of the live sstables.
    pub fn sstable_generations(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .state
            .read()
            .map(|s| s.sstables.iter().map(|r| r.generation()).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Paths of the live sstables' data files.
    pub fn sstable_paths(&self) -> Vec<PathBuf> {
        self.state
            .read()
            .map(|s| s.sstables.iter().map(|r| r.data_path().clone()).collect())
            .unwrap_or_default()
    }

    /// The compaction running on this table now, if any: how many sstables it reads
    /// and their bytes on disk (nodetool compactionstats; progress within a
    /// compaction is not tracked, so the admin API reports 0 of these bytes done).
    pub fn compaction_in_progress(&self) -> Option<(usize, u64)> {
        let st = self.state.read().ok()?;
        if st.compacting.is_empty() {
            return None;
        }
        let bytes = st
            .sstables
            .iter()
            .filter(|s| st.compacting.contains(&s.generation()))
            .map(|s| s.bytes_on_disk())
            .sum();
        Some((st.compacting.len(), bytes))
    }

    /// Per-table statistics.
    pub fn stats(&self) -> TableStats {
        let (mem, flushing, ssts) = match self.state.read() {
            Ok(s) => (s.memtable.clone(), s.flushing.len(), s.sstables.clone()),
            Err(_) => return TableStats::default(),
        };
        let live: u64 = ssts.iter().map(|s| s.bytes_on_disk()).sum();
        TableStats {
            sstable_count: ssts.len(),
            space_used_live: live,
            space_used_total: live,
            partitions_estimate: ssts.iter().map(|s| s.stats().partition_count).sum::<u64>()
                + mem.partition_estimate(),
            memtable_bytes: mem.size_bytes(),
            memtable_data_bytes: mem.data_bytes(),
            pending_flushes: flushing,
            read_count: self.read_latency.count(),
            read_latency_p50_us: self.read_latency.percentile_us(0.5),
            read_latency_p99_us: self.read_latency.percentile_us(0.99),
            write_count: self.write_latency.count(),
            write_latency_p50_us: self.write_latency.percentile_us(0.5),
            write_latency_p99_us: self.write_latency.percentile_us(0.99),
            bloom_false_positives: self.metrics.bloom_false_positives.load(Ordering::Relaxed),
            bloom_true_positives: self.metrics.bloom_true_positives.load(Ordering::Relaxed),
            tombstones_scanned: self.tombstones_scanned.load(Ordering::Relaxed),
            blocks_read: self.metrics.blocks_read.load(Ordering::Relaxed),
            blocks_decompressed: self.metrics.blocks_decompressed.load(Ordering::Relaxed),
            compactions_completed: self.compactions_completed.load(Ordering::Relaxed),
            unreadable_sstables: self.unreadable.lock().map(|u| u.len()).unwrap_or(0),
        }
    }
}
