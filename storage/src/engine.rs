//! Storage: the engine a node opens once: its tables, the shared commitlog, the
//! chunk cache, and the background flush and compaction threads.
//!
//! Opening replays the commitlog into the tables' memtables (each table from the
//! position its sstables already cover), flushes what was replayed, and only then
//! deletes the replayed segments. Table directories live under `data_dir` as
//! `<name>-<32 hex digits of the table id>`; each carries its options, so the engine
//! can open every table before replay without knowing the schema.
//!
//! Flush and compaction run on two dedicated threads (never on an async runtime's
//! workers). A write that fills its memtable past `memtable_heap_space / 2`
//! (Cassandra's `memtable_cleanup_threshold` of 0.5 with one flush writer) queues a
//! flush; each flush queues a compaction check of its table.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::codec;
use crate::commitlog::{
    CommitLog, CommitLogConfig, CommitLogStats, SyncMode, DEFAULT_SEGMENT_SIZE_BYTES,
};
use crate::error::{Error, Result};
use crate::model::{Mutation, TableId};
use crate::sstable::cache::{ChunkCache, DEFAULT_CAPACITY_BYTES};
use crate::sstable::sync_dir;
use crate::table::{Shared, Table, TableOptions};

/// Cassandra's `memtable_heap_space` default cap.
pub const MAX_DEFAULT_MEMTABLE_SPACE_BYTES: usize = 2 * 1024 * 1024 * 1024;
/// `compaction_throughput` default: 64 MiB/s.
pub const DEFAULT_COMPACTION_THROUGHPUT_BYTES: u64 = 64 * 1024 * 1024;
/// How often the compaction thread re-checks every table even without a flush
/// (tombstone compactions become due with time alone).
const COMPACTION_RECHECK: Duration = Duration::from_secs(60);

/// Engine configuration (cassandra.yaml's storage keys).
#[derive(Clone, Debug)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub commitlog_dir: PathBuf,
    pub commitlog_sync: SyncMode,
    pub commitlog_segment_size: u64,
    /// Total memtable space; a table flushes at half of it.
    pub memtable_heap_space: usize,
    /// Largest mutation accepted; `None` = half the commitlog segment (Cassandra's default).
    pub max_mutation_size: Option<usize>,
    /// Bytes per second compaction may read; 0 = unlimited.
    pub compaction_throughput: u64,
    /// Decompressed chunk cache (`file_cache_size`).
    pub file_cache_size: usize,
    /// Run the flush and compaction threads (tests may drive both by hand).
    pub background: bool,
}

/// 1/4 of physical memory capped at 2 GiB (Cassandra's rule for `memtable_heap_space`).
pub fn default_memtable_space() -> usize {
    let total = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<usize>().ok())
                })
        })
        .map_or(4 * 1024 * 1024 * 1024, |kb| kb * 1024);
    (total / 4).min(MAX_DEFAULT_MEMTABLE_SPACE_BYTES)
}

impl StorageConfig {
    /// Defaults with everything under `dir` (`dir/data`, `dir/commitlog`).
    pub fn new(dir: impl Into<PathBuf>) -> StorageConfig {
        let dir = dir.into();
        StorageConfig {
            data_dir: dir.join("data"),
            commitlog_dir: dir.join("commitlog"),
            commitlog_sync: SyncMode::periodic(),
            commitlog_segment_size: DEFAULT_SEGMENT_SIZE_BYTES,
            memtable_heap_space: default_memtable_space(),
            max_mutation_size: None,
            compaction_throughput: DEFAULT_COMPACTION_THROUGHPUT_BYTES,
            file_cache_size: DEFAULT_CAPACITY_BYTES,
            background: true,
        }
    }
}

#[derive(Default)]
struct Queues {
    flush: VecDeque<TableId>,
    compact: VecDeque<TableId>,
}

struct Background {
    queues: Mutex<Queues>,
    wake: Condvar,
    stop: AtomicBool,
}

struct Inner {
    config: StorageConfig,
    commitlog: Arc<CommitLog>,
    shared: Arc<Shared>,
    tables: RwLock<HashMap<TableId, Arc<Table>>>,
    bg: Arc<Background>,
}

/// The storage engine. Dropping it stops the background threads and syncs the commitlog.
pub struct Storage {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// What opening found and did.
#[derive(Debug, Default, Clone)]
pub struct OpenReport {
    pub tables: usize,
    pub records_replayed: u64,
    pub torn_segments: Vec<String>,
    /// Commitlog files that were not replayed at all (bad header), with the reason.
    pub skipped_commitlog_files: Vec<String>,
}

fn table_dir_name(name: &str, id: TableId) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!("{clean}-{:032x}", id.0)
}

fn parse_table_dir(name: &str) -> Option<TableId> {
    let (_, hex) = name.rsplit_once('-')?;
    (hex.len() == 32).then(|| u128::from_str_radix(hex, 16).ok().map(TableId))?
}

impl Storage {
    /// Opens (or creates) the store, replaying the commitlog.
    pub fn open(config: StorageConfig) -> Result<(Storage, OpenReport)> {
        for d in [&config.data_dir, &config.commitlog_dir] {
            fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let bg = Arc::new(Background {
            queues: Mutex::new(Queues::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        // Replay reads the segment files directly, before the log is opened for writing.
        let mut cl_config = CommitLogConfig::new(&config.commitlog_dir);
        cl_config.segment_size = config.commitlog_segment_size;
        cl_config.sync = config.commitlog_sync;
        let mut found: Vec<(PathBuf, TableId)> = Vec::new();
        let rd = fs::read_dir(&config.data_dir).map_err(|e| Error::io(&config.data_dir, e))?;
        for e in rd {
            let e = e.map_err(|e| Error::io(&config.data_dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = parse_table_dir(&name) {
                if e.path().join("table.meta").exists() {
                    found.push((e.path(), id));
                }
            }
        }
        let mut replayed: HashMap<TableId, Vec<Mutation>> = HashMap::new();
        let mut skip_before: HashMap<TableId, crate::commitlog::CommitLogPosition> = HashMap::new();
        // Read each table's replay position before replay (from its sstables' statistics).
        let report_replay;
        let cl = {
            let positions = Self::replay_positions(&found)?;
            skip_before.extend(positions);
            report_replay = CommitLog::replay(&config.commitlog_dir, |table, end, payload| {
                let Some(from) = skip_before.get(&table) else {
                    return Ok(()); // a dropped table
                };
                if end <= *from {
                    return Ok(());
                }
                match codec::decode_mutation(table, payload) {
                    Ok(m) => replayed.entry(table).or_default().push(m),
                    Err(e) => {
                        tracing::warn!(%table, position = %end, reason = e.reason, "skipping an undecodable commitlog record")
                    }
                }
                Ok(())
            })?;
            Arc::new(CommitLog::open(cl_config)?)
        };
        let max_mutation_size = config
            .max_mutation_size
            .unwrap_or(usize::MAX)
            .min(cl.max_payload_size());
        let bg_f = bg.clone();
        let bg_c = bg.clone();
        let shared = Arc::new(Shared {
            commitlog: cl.clone(),
            cache: Arc::new(ChunkCache::new(config.file_cache_size)),
            max_mutation_size,
            compaction_throughput: config.compaction_throughput,
            request_flush: Box::new(move |t| {
                if let Ok(mut q) = bg_f.queues.lock() {
                    if !q.flush.contains(&t) {
                        q.flush.push_back(t);
                    }
                }
                bg_f.wake.notify_all();
            }),
            request_compaction: Box::new(move |t| {
                if let Ok(mut q) = bg_c.queues.lock() {
                    if !q.compact.contains(&t) {
                        q.compact.push_back(t);
                    }
                }
                bg_c.wake.notify_all();
            }),
            memtable_flush_threshold: (config.memtable_heap_space / 2).max(1),
        });
        let mut tables = HashMap::new();
        for (dir, id) in found {
            let t = Arc::new(Table::open(dir, id, shared.clone())?);
            tables.insert(id, t);
        }
        let mut records = 0u64;
        for (id, ms) in &replayed {
            if let Some(t) = tables.get(id) {
                for m in ms {
                    t.apply_replayed(m)?;
                    records += 1;
                }
            }
        }
        drop(replayed);
        // IMPORTANT: replayed data is flushed before the segments holding it are deleted.
        for t in tables.values() {
            t.flush()?;
        }
        cl.discard_replayed_segments()?;
        let report = OpenReport {
            tables: tables.len(),
            records_replayed: records,
            torn_segments: report_replay
                .torn_segments
                .iter()
                .map(|t| format!("{} at offset {}: {}", t.path.display(), t.offset, t.reason))
                .collect(),
            skipped_commitlog_files: report_replay
                .skipped_files
                .iter()
                .map(|f| format!("{}: {}", f.path.display(), f.reason))
                .collect(),
        };
        for f in &report.skipped_commitlog_files {
            tracing::warn!("commitlog file not replayed: {f}");
        }
        let inner = Arc::new(Inner {
            config,
            commitlog: cl,
            shared,
            tables: RwLock::new(tables),
            bg,
        });
        let storage = Storage {
            threads: Mutex::new(Vec::new()),
            inner,
        };
        if storage.inner.config.background {
            storage.start_background()?;
        }
        Ok((storage, report))
    }

    fn replay_positions(
        found: &[(PathBuf, TableId)],
    ) -> Result<HashMap<TableId, crate::commitlog::CommitLogPosition>> {
        // Open each table read-only to learn its position: the max commitlog_upper of its
        // sstables and its truncation point. Uses a throwaway cache.
        let mut out = HashMap::new();
        let cache = Arc::new(ChunkCache::new(0));
        for (dir, id) in found {
            let mut pos = crate::commitlog::CommitLogPosition::default();
            let meta = dir.join("table.meta");
            if let Ok(text) = fs::read_to_string(&meta) {
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("truncated_at=") {
                        if let Some((s, o)) = v.split_once(':') {
                            if let (Ok(s), Ok(o)) = (s.parse(), o.parse()) {
                                pos = pos.max(crate::commitlog::CommitLogPosition {
                                    segment_id: s,
                                    offset: o,
                                });
                            }
                        }
                    }
                }
            }
            for g in crate::sstable::list_generations(dir)? {
                let desc = crate::sstable::Descriptor::new(dir, g);
                if let Ok(r) =
                    crate::sstable::SSTableReader::open(desc, cache.clone(), Default::default())
                {
                    pos = pos.max(r.stats().commitlog_upper);
                }
            }
            out.insert(*id, pos);
        }
        Ok(out)
    }

    fn start_background(&self) -> Result<()> {
        let mut threads = self.threads.lock().map_err(|_| Error::Closed)?;
        let inner = self.inner.clone();
        threads.push(
            std::thread::Builder::new()
                .name("sibyl-flush".into())
                .spawn(move || flush_loop(&inner))
                .map_err(|e| Error::io("sibyl-flush thread", e))?,
        );
        let inner = self.inner.clone();
        threads.push(
            std::thread::Builder::new()
                .name("sibyl-compaction".into())
                .spawn(move || compaction_loop(&inner))
                .map_err(|e| Error::io("sibyl-compaction thread", e))?,
        );
        Ok(())
    }

    /// Creates a table. `name` only names its directory (e.g. `ks.table`).
    pub fn create_table(
        &self,
        id: TableId,
        name: &str,
        options: TableOptions,
    ) -> Result<Arc<Table>> {
        let mut tables = self.inner.tables.write().map_err(|_| Error::Closed)?;
        if tables.contains_key(&id) {
            return Err(Error::TableExists(id));
        }
        let dir = self.inner.config.data_dir.join(table_dir_name(name, id));
        let t = Arc::new(Table::create(
            dir,
            id,
            name,
            options,
            self.inner.shared.clone(),
        )?);
        tables.insert(id, t.clone());
        Ok(t)
    }

    /// The table with this id.
    pub fn table(&self, id: TableId) -> Result<Arc<Table>> {
        self.inner
            .tables
            .read()
            .map_err(|_| Error::Closed)?
            .get(&id)
            .cloned()
            .ok_or(Error::UnknownTable(id))
    }

    /// Every table.
    pub fn tables(&self) -> Vec<Arc<Table>> {
        self.inner
            .tables
            .read()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Drops a table and deletes its files.
    pub fn drop_table(&self, id: TableId) -> Result<()> {
        let t = self
            .inner
            .tables
            .write()
            .map_err(|_| Error::Closed)?
            .remove(&id)
            .ok_or(Error::UnknownTable(id))?;
        t.drop_files()?;
        sync_dir(&self.inner.config.data_dir)
    }

    /// Applies a mutation to its table (see [`Table::apply`]).
    pub fn apply(&self, m: &Mutation) -> Result<()> {
        self.table(m.table)?.apply(m)
    }

    /// Flushes every table (nodetool flush / drain).
    pub fn flush_all(&self) -> Result<()> {
        for t in self.tables() {
            t.flush()?;
        }
        Ok(())
    }

    /// Commitlog counters (writes per fsync and the like).
    pub fn commitlog_stats(&self) -> CommitLogStats {
        self.inner.commitlog.stats()
    }

    /// The engine's configuration.
    pub fn config(&self) -> &StorageConfig {
        &self.inner.config
    }

    /// Forces a commitlog sync.
    pub fn sync(&self) -> Result<()> {
        self.inner.commitlog.sync()
    }

    /// Stops background work and syncs the commitlog. Memtables are not flushed
    /// (their data is in the commitlog); call [`Storage::flush_all`] first to drain.
    pub fn close(&self) -> Result<()> {
        self.inner.bg.stop.store(true, Ordering::SeqCst);
        self.inner.bg.wake.notify_all();
        if let Ok(mut threads) = self.threads.lock() {
            for t in threads.drain(..) {
                let _ = t.join();
            }
        }
        self.inner.commitlog.close()
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn next_job(inner: &Inner, flush: bool, timeout: Duration) -> Option<Option<TableId>> {
    let mut q = inner.bg.queues.lock().ok()?;
    loop {
        if inner.bg.stop.load(Ordering::SeqCst) {
            return None;
        }
        let job = if flush {
            q.flush.pop_front()
        } else {
            q.compact.pop_front()
        };
        if job.is_some() {
            return Some(job);
        }
        let (g, t) = inner.bg.wake.wait_timeout(q, timeout).ok()?;
        q = g;
        if t.timed_out() {
            return Some(None);
        }
    }
}

fn flush_loop(inner: &Inner) {
    while let Some(job) = next_job(inner, true, Duration::from_secs(1)) {
        let Some(id) = job else { continue };
        let t = inner.tables.read().ok().and_then(|t| t.get(&id).cloned());
        if let Some(t) = t {
            if let Err(e) = t.flush() {
                tracing::error!(table = %t.name(), error = %e, "memtable flush failed");
            }
        }
    }
}

fn compaction_loop(inner: &Inner) {
    while let Some(job) = next_job(inner, false, COMPACTION_RECHECK) {
        let tables: Vec<Arc<Table>> = match job {
            Some(id) => inner
                .tables
                .read()
                .ok()
                .and_then(|t| t.get(&id).cloned())
                .into_iter()
                .collect(),
            None => inner
                .tables
                .read()
                .map(|t| t.values().cloned().collect())
                .unwrap_or_default(),
        };
        for t in tables {
            // Keep compacting while the strategy finds work (bounded: each round removes
            // at least one sstable from the table).
            for _ in 0..64 {
                if inner.bg.stop.load(Ordering::SeqCst) {
                    return;
                }
                match t.maybe_compact() {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::error!(table = %t.name(), error = %e, "compaction failed");
                        break;
                    }
                }
            }
        }
    }
}
