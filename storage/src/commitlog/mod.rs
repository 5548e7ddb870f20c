//! The CommitLog: the write-ahead log that makes a write survive a crash before
//! its memtable is flushed to an sstable.
//!
//! Every mutation is appended here before it is applied to a memtable. On
//! restart, [`CommitLog::replay`] hands back every intact record so the engine
//! can rebuild the memtables it lost; once a memtable is flushed, the engine
//! calls [`CommitLog::mark_clean`] and segments no table needs any more are
//! deleted. The log is bytes-agnostic: the engine serializes each mutation and
//! the log stores an opaque payload tagged with the [`TableId`] it dirties.
//!
//! # Layout
//!
//! The log is a directory of fixed-size segment files (CommitLogSegment),
//! `CommitLog-<version>-<id>.log`, with ids increasing over time (they start
//! from the wall clock in milliseconds, like Cassandra's, so that ids keep
//! growing even if every file was deleted). Each file is preallocated at its
//! full size and memory-mapped; an append copies the record into the mapping
//! under a mutex, so records are contiguous and the append path makes no
//! syscall. A [`CommitLogPosition`] `(segment id, offset)` orders every record
//! ever written. The byte layout of headers and records is documented in
//! `segment.rs` (`encode_header`, `encode_record_prefix`).
//!
//! # Durability, per [`SyncMode`]
//!
//! A background sync thread msyncs (`MS_SYNC`, i.e. fsync of the dirty range)
//! whatever was appended since its last round.
//!
//! - `Periodic { period }` (Cassandra's default, 10 s): `append` returns once the
//!   bytes are in the mapped segment, before any fsync. The write survives a
//!   crash of the process (kill -9: the page cache keeps it) but **not** a power
//!   loss or kernel crash within `period` of it. Cheapest; use with replication.
//! - `Group { window }`: `append` returns after the first sync that covers it;
//!   syncs happen at most `window` after the first waiting append, so the
//!   writes of a window share one fsync. An acknowledged write survives power loss.
//! - `Batch`: `append` returns only after an fsync covering it. The sync thread
//!   starts a sync as soon as anyone waits and each sync covers everything
//!   written so far, so concurrent writers share fsyncs (group commit).
//!
//! A failed msync/fsync (or a failed fsync while creating a segment) poisons the
//! log: after a failed fsync the kernel may have dropped the dirty pages, so
//! retrying it could report success for data that is gone ("fsyncgate"). Every
//! later append, sync and waiter gets [`Error::Poisoned`]; only a restart (which
//! replays what really reached the disk) recovers.
//!
//! # What it does not do
//!
//! It does not interpret payloads, compress or encrypt them, or checksum them
//! beyond detecting torn and corrupt records. It does not archive segments
//! (Cassandra's commitlog archiving) nor recycle them: a clean segment is
//! deleted and a new one created. It does not create the next segment ahead of
//! time (Cassandra's segment manager does): the append that finds the active
//! segment full creates, preallocates and fsyncs the next one inline. Replay
//! cannot tell a record whose length word was zeroed (e.g. a torn first page)
//! from the end of the data; such a record and those after it in that segment
//! were never acknowledged as synced, since a sync covers everything before it.
//! Reference: Cassandra's `db/commitlog` (CommitLog, CommitLogSegment,
//! CommitLogReplayer).

mod replayer;
mod segment;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::model::TableId;

pub use replayer::{ReplayReport, SkippedFile, TornSegment};
use replayer::{SegmentFile, SegmentOutcome};
use segment::{CreateError, MappedSegment, RECORD_OVERHEAD, SEGMENT_HEADER_LEN};

/// Default segment size, in bytes (Cassandra's `commitlog_segment_size`: 32 MiB).
pub const DEFAULT_SEGMENT_SIZE_BYTES: u64 = 32 * 1024 * 1024;
/// Smallest segment size accepted, in bytes: one page, room for the header and
/// a few records. Only tests go this small.
pub const MIN_SEGMENT_SIZE_BYTES: u64 = 4096;
/// Largest segment size accepted, in bytes: offsets are `u32`, and a 1 GiB
/// mapping per segment is already more address space than any setup needs.
pub const MAX_SEGMENT_SIZE_BYTES: u64 = 1 << 30;
/// Default periodic sync period, in ms (Cassandra's `commitlog_sync_period`).
pub const DEFAULT_SYNC_PERIOD_MS: u64 = 10_000;
/// Default group-commit window, in ms (Cassandra's `commitlog_sync_group_window`
/// is of this order; 2 ms costs little latency and merges many writes per fsync).
pub const DEFAULT_GROUP_WINDOW_MS: u64 = 2;
/// Shortest periodic sync period accepted, in ms: a zero period would spin.
pub const MIN_SYNC_PERIOD_MS: u64 = 1;

/// When an append is acknowledged relative to the fsync that makes it durable.
/// See the module documentation for the promise each mode makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Ack when in the mapping; fsync every `period`.
    Periodic { period: Duration },
    /// Ack after a sync started at most `window` after the first waiting append.
    Group { window: Duration },
    /// Ack after an fsync covering the record; concurrent appends share fsyncs.
    Batch,
}

impl SyncMode {
    /// `Periodic` with Cassandra's default 10 s period.
    pub fn periodic() -> SyncMode {
        SyncMode::Periodic {
            period: Duration::from_millis(DEFAULT_SYNC_PERIOD_MS),
        }
    }

    /// `Group` with the default 2 ms window.
    pub fn group() -> SyncMode {
        SyncMode::Group {
            window: Duration::from_millis(DEFAULT_GROUP_WINDOW_MS),
        }
    }

    /// True if `append` waits for a sync before returning.
    fn acks_after_sync(&self) -> bool {
        !matches!(self, SyncMode::Periodic { .. })
    }
}

impl Default for SyncMode {
    fn default() -> Self {
        SyncMode::periodic()
    }
}

/// How to open a [`CommitLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitLogConfig {
    /// The directory holding the segment files (created if missing).
    pub dir: PathBuf,
    /// Size of each segment file, in bytes.
    pub segment_size: u64,
    /// When appends are acknowledged.
    pub sync: SyncMode,
}

impl CommitLogConfig {
    /// Defaults: 32 MiB segments, periodic sync every 10 s.
    pub fn new(dir: impl Into<PathBuf>) -> CommitLogConfig {
        CommitLogConfig {
            dir: dir.into(),
            segment_size: DEFAULT_SEGMENT_SIZE_BYTES,
            sync: SyncMode::default(),
        }
    }

    /// The largest payload one record can carry with this segment size, in bytes:
    /// half a segment minus the record's own header, so that a record always fits
    /// in a fresh segment and a full segment wastes at most half its space. This
    /// is the engine's `max_mutation_size`.
    pub fn max_payload_size(&self) -> usize {
        let half = usize::try_from(self.segment_size / 2).unwrap_or(usize::MAX);
        half.saturating_sub(RECORD_OVERHEAD)
    }

    fn validate(&self) -> Result<()> {
        if !(MIN_SEGMENT_SIZE_BYTES..=MAX_SEGMENT_SIZE_BYTES).contains(&self.segment_size) {
            return Err(Error::InvalidArgument(format!(
                "commitlog segment_size {} bytes is outside {MIN_SEGMENT_SIZE_BYTES}..={MAX_SEGMENT_SIZE_BYTES}",
                self.segment_size
            )));
        }
        if let SyncMode::Periodic { period } = self.sync {
            if period < Duration::from_millis(MIN_SYNC_PERIOD_MS) {
                return Err(Error::InvalidArgument(format!(
                    "commitlog sync period {period:?} is shorter than {MIN_SYNC_PERIOD_MS} ms"
                )));
            }
        }
        Ok(())
    }
}

/// An ordered position in the log: (segment id, byte offset in that segment).
/// Positions returned by `append` are just after the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CommitLogPosition {
    pub segment_id: u64,
    pub offset: u32,
}

impl std::fmt::Display for CommitLogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.segment_id, self.offset)
    }
}

/// Counters for monitoring (`nodetool`-style) and for the `writes per fsync` figure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitLogStats {
    /// Records appended since open.
    pub appends: u64,
    /// Payload bytes appended since open.
    pub payload_bytes: u64,
    /// Sync rounds that msynced at least one range.
    pub fsyncs: u64,
    /// Appends whose acknowledgement waited for a sync (Group and Batch).
    pub synced_appends: u64,
    /// Segment files currently kept (active one included).
    pub segments: usize,
    /// Bytes those files occupy on disk.
    pub segment_bytes: u64,
    /// Position just after the last appended record.
    pub current_position: CommitLogPosition,
    /// Everything before this position is on disk.
    pub synced_position: CommitLogPosition,
}

impl CommitLogStats {
    /// Appends acknowledged per fsync: how well group commit is batching.
    pub fn writes_per_fsync(&self) -> f64 {
        if self.fsyncs == 0 {
            0.0
        } else {
            self.synced_appends as f64 / self.fsyncs as f64
        }
    }
}

/// The commit log. `Send + Sync`; the engine shares it through an `Arc`.
#[derive(Debug)]
pub struct CommitLog {
    shared: Arc<Shared>,
    sync_thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    segment_size: u64,
    max_payload: usize,
    mode: SyncMode,
    /// The append state. Lock order: `inner` may be held while taking `sync`,
    /// never the reverse.
    inner: Mutex<Inner>,
    sync: Mutex<SyncState>,
    /// The sync thread waits here for work.
    sync_wanted: Condvar,
    /// Appenders waiting for durability wait here.
    synced: Condvar,
    /// Mirrors `SyncState::poison.is_some()` so the append path checks it without a lock.
    poisoned: AtomicBool,
    /// Test hook: the next sync round fails as if msync had returned EIO.
    inject_sync_failure: AtomicBool,
}

/// One segment file the log keeps.
#[derive(Debug)]
struct Segment {
    id: u64,
    path: PathBuf,
    /// The writable mapping; `None` for replayed segments and for full segments
    /// once everything in them is synced.
    map: Option<Arc<MappedSegment>>,
    /// Offset just after the last record.
    written: u32,
    /// Offset up to which the bytes are known to be on disk.
    synced: u32,
    /// Table → highest record end offset written for it in this segment.
    dirty: DirtyTables,
    /// Existed before `open` (its records were replayed).
    replayed: bool,
    /// Replayed file whose header is unreadable: nobody knows which tables it
    /// holds, so only `discard_replayed_segments` deletes it.
    pinned: bool,
    /// Size on disk, in bytes.
    file_bytes: u64,
}

impl Segment {
    fn new_active(map: MappedSegment, file_bytes: u64) -> Segment {
        Segment {
            id: map.id,
            path: map.path.clone(),
            map: Some(Arc::new(map)),
            written: SEGMENT_HEADER_LEN as u32,
            synced: SEGMENT_HEADER_LEN as u32,
            dirty: DirtyTables::default(),
            replayed: false,
            pinned: false,
            file_bytes,
        }
    }

    fn end(&self) -> CommitLogPosition {
        CommitLogPosition {
            segment_id: self.id,
            offset: self.written,
        }
    }

    /// Applies `mark_clean(table, upto)` to this segment.
    fn clean(&mut self, table: TableId, upto: CommitLogPosition) {
        if self.id < upto.segment_id {
            self.dirty.remove(&table);
        } else if self.id == upto.segment_id {
            let flushed = self
                .dirty
                .get(&table)
                .is_some_and(|&end| end <= upto.offset);
            if flushed {
                self.dirty.remove(&table);
            }
        }
    }

    fn deletable(&self) -> bool {
        self.dirty.is_empty() && !self.pinned
    }
}

#[derive(Debug)]
struct Inner {
    /// The segment appends go to. Always mapped.
    active: Segment,
    /// Older segments (full, or replayed), by id.
    older: BTreeMap<u64, Segment>,
    /// Id for the next segment created.
    next_id: u64,
    closed: bool,
    appends: u64,
    payload_bytes: u64,
}

impl Inner {
    fn segment_mut(&mut self, id: u64) -> Option<&mut Segment> {
        if self.active.id == id {
            Some(&mut self.active)
        } else {
            self.older.get_mut(&id)
        }
    }

    /// Removes and returns the older segments nobody needs any more.
    fn take_deletable(&mut self) -> Vec<Segment> {
        let ids: Vec<u64> = self
            .older
            .values()
            .filter(|s| s.deletable())
            .map(|s| s.id)
            .collect();
        ids.iter().filter_map(|id| self.older.remove(id)).collect()
    }
}

#[derive(Debug)]
struct SyncState {
    /// An appender (Group/Batch) waits for a sync.
    requested: bool,
    /// When the oldest unanswered request was made (Group window).
    first_request_at: Option<Instant>,
    /// `sync()` wants a sync now, whatever the mode.
    force: bool,
    /// `close()` was called: do a final sync and exit.
    shutdown: bool,
    /// The sync thread has exited: nothing will advance `synced_position` again.
    stopped: bool,
    synced_position: CommitLogPosition,
    poison: Option<String>,
    last_sync: Instant,
    fsyncs: u64,
    synced_appends: u64,
}

/// Table → highest end offset, updated on every append. Table ids are UUIDs
/// chosen by the schema, not by clients, so a cheap multiplicative hash is
/// enough; SipHash showed up in append profiles.
type DirtyTables = HashMap<TableId, u32, BuildHasherDefault<TableIdHasher>>;

#[derive(Default)]
struct TableIdHasher(u64);

impl Hasher for TableIdHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (d, s) in word.iter_mut().zip(chunk) {
                *d = *s;
            }
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

/// Locks a mutex, ignoring std's poisoning: no code here panics while holding a
/// lock, and the commitlog's own poisoning (fsyncgate) is tracked explicitly.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CommitLog {
    /// Reads every segment in `dir` in id order and calls `f(table, end, payload)`
    /// for each intact record, `end` being the position just after the record.
    ///
    /// A torn or corrupt record (bad length, checksum mismatch, truncation) ends
    /// the replay of that segment with a warning naming file and offset; replay
    /// goes on with the next segment. A segment whose header is unusable is
    /// skipped with a warning. A segment of an unsupported format version is an
    /// error. Files not named like segments are ignored. A missing `dir` replays
    /// nothing. Errors from `f` stop the replay and are returned.
    pub fn replay(
        dir: &Path,
        mut f: impl FnMut(TableId, CommitLogPosition, &[u8]) -> Result<()>,
    ) -> Result<ReplayReport> {
        let listing = replayer::list_dir(dir)?;
        let mut report = ReplayReport::default();
        for seg in &listing.segments {
            let mut payload_bytes = 0u64;
            let outcome = replayer::read_segment(seg, |table, end, payload| {
                payload_bytes += payload.len() as u64;
                let pos = CommitLogPosition {
                    segment_id: seg.id,
                    offset: end,
                };
                f(table, pos, payload)
            })?;
            match outcome {
                SegmentOutcome::BadHeader(why) => {
                    tracing::warn!(
                        "commitlog {}: unusable segment header ({why}); skipping the file",
                        seg.path.display()
                    );
                    report.skipped_files.push(SkippedFile {
                        path: seg.path.clone(),
                        reason: why,
                    });
                }
                SegmentOutcome::Read { records, torn, .. } => {
                    report.segments_read += 1;
                    report.records_replayed += records;
                    report.payload_bytes_replayed += payload_bytes;
                    if let Some((offset, why)) = torn {
                        tracing::warn!(
                            "commitlog {}: torn or corrupt record at offset {offset} ({why}); replay of this segment stops here",
                            seg.path.display()
                        );
                        report.torn_segments.push(TornSegment {
                            path: seg.path.clone(),
                            segment_id: seg.id,
                            offset,
                            reason: why,
                        });
                    }
                }
            }
        }
        Ok(report)
    }

    /// Opens the log for writing. Existing segments are kept (and rescanned to
    /// learn which tables they dirty) until `mark_clean`, `forget_table` or
    /// `discard_replayed_segments` makes them deletable; new segments get ids
    /// greater than any existing file's. Leftover `.log.tmp` files from an
    /// interrupted segment creation are removed. A new active segment is created
    /// right away.
    pub fn open(config: CommitLogConfig) -> Result<CommitLog> {
        config.validate()?;
        let dir = config.dir.clone();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let listing = replayer::list_dir(&dir)?;

        let mut max_id = 0u64;
        for tmp in &listing.tmps {
            max_id = max_id.max(tmp.id);
            fs::remove_file(&tmp.path).map_err(|e| Error::io(&tmp.path, e))?;
        }
        if !listing.tmps.is_empty() {
            segment::fsync_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let mut older = BTreeMap::new();
        for file in &listing.segments {
            max_id = max_id.max(file.id);
            let seg = rescan(file)?;
            older.insert(seg.id, seg);
        }
        // Ids come from the wall clock (ms) so they keep increasing even if every
        // segment file was deleted: positions stored by the engine as "flushed up
        // to" must never compare above records written after a restart.
        let next_id = max_id.saturating_add(1).max(now_millis());

        let active = match MappedSegment::create(&dir, next_id, config.segment_size) {
            Ok(map) => Segment::new_active(map, config.segment_size),
            Err(CreateError::Retryable(e) | CreateError::Fatal(e)) => return Err(e),
        };
        let start = active.end();
        let shared = Arc::new(Shared {
            dir,
            segment_size: config.segment_size,
            max_payload: config.max_payload_size(),
            mode: config.sync,
            inner: Mutex::new(Inner {
                active,
                older,
                next_id: next_id.saturating_add(1),
                closed: false,
                appends: 0,
                payload_bytes: 0,
            }),
            sync: Mutex::new(SyncState {
                requested: false,
                first_request_at: None,
                force: false,
                shutdown: false,
                stopped: false,
                synced_position: start,
                poison: None,
                last_sync: Instant::now(),
                fsyncs: 0,
                synced_appends: 0,
            }),
            sync_wanted: Condvar::new(),
            synced: Condvar::new(),
            poisoned: AtomicBool::new(false),
            inject_sync_failure: AtomicBool::new(false),
        });
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("commitlog-sync".into())
            .spawn(move || thread_shared.run_sync_thread())
            .map_err(|e| Error::io(&config.dir, e))?;
        Ok(CommitLog {
            shared,
            sync_thread: Mutex::new(Some(handle)),
        })
    }

    /// Appends one record and returns the position just after it. When it
    /// returns depends on the [`SyncMode`] (see the module documentation).
    /// A payload over [`CommitLogConfig::max_payload_size`] is refused with
    /// [`Error::MutationTooLarge`].
    pub fn append(&self, table: TableId, payload: &[u8]) -> Result<CommitLogPosition> {
        let sh = &*self.shared;
        if payload.len() > sh.max_payload {
            return Err(Error::MutationTooLarge {
                size: payload.len(),
                max: sh.max_payload,
            });
        }
        sh.check_poison()?;
        let prefix = segment::encode_record_prefix(table, payload);
        let record_len = RECORD_OVERHEAD + payload.len();
        let pos = {
            let mut inner = lock(&sh.inner);
            if inner.closed {
                return Err(Error::Closed);
            }
            if inner.active.written as usize + record_len > inner.active.file_bytes as usize {
                sh.roll(&mut inner)?;
            }
            let seg = &mut inner.active;
            let map = seg.map.as_ref().ok_or_else(|| {
                Error::InvalidArgument(format!("active commitlog segment {} is not mapped", seg.id))
            })?;
            let offset = seg.written as usize;
            // SAFETY: `offset..offset + record_len` is past `written`, inside the
            // segment (checked above and again by write_at), and we hold the
            // append mutex, the only writer of the active segment's tail.
            unsafe {
                map.write_at(offset, &prefix)?;
                map.write_at(offset + RECORD_OVERHEAD, payload)?;
            }
            // The end fits in u32: segments are at most MAX_SEGMENT_SIZE_BYTES.
            let end = u32::try_from(offset + record_len).unwrap_or(u32::MAX);
            seg.written = end;
            seg.dirty.insert(table, end);
            let pos = seg.end();
            inner.appends += 1;
            inner.payload_bytes += payload.len() as u64;
            pos
        };
        if sh.mode.acks_after_sync() {
            sh.wait_synced(pos, false, true)?;
        }
        Ok(pos)
    }

    /// Position just after the last appended record (the start of the active
    /// segment if nothing was appended yet).
    pub fn current_position(&self) -> CommitLogPosition {
        lock(&self.shared.inner).active.end()
    }

    /// Everything before this position is known to be on disk.
    pub fn synced_position(&self) -> CommitLogPosition {
        lock(&self.shared.sync).synced_position
    }

    /// The largest payload `append` accepts, in bytes (the engine's `max_mutation_size`).
    pub fn max_payload_size(&self) -> usize {
        self.shared.max_payload
    }

    /// Table `table` has flushed everything up to and including `upto`. Segments
    /// in which no table remains dirty, other than the active one, are deleted
    /// and the directory fsynced. Deletion failures are logged: a leftover
    /// segment only costs a longer replay of records the engine will skip.
    pub fn mark_clean(&self, table: TableId, upto: CommitLogPosition) {
        let victims = {
            let mut inner = lock(&self.shared.inner);
            inner.active.clean(table, upto);
            for seg in inner.older.values_mut() {
                seg.clean(table, upto);
            }
            inner.take_deletable()
        };
        if let Err(e) = self.shared.delete_segments(victims) {
            tracing::warn!("commitlog: {e}");
        }
    }

    /// Forgets `table` entirely (dropped or truncated): clean in every segment.
    pub fn forget_table(&self, table: TableId) {
        let victims = {
            let mut inner = lock(&self.shared.inner);
            inner.active.dirty.remove(&table);
            for seg in inner.older.values_mut() {
                seg.dirty.remove(&table);
            }
            inner.take_deletable()
        };
        if let Err(e) = self.shared.delete_segments(victims) {
            tracing::warn!("commitlog: {e}");
        }
    }

    /// Marks every segment that existed before `open` clean for every table and
    /// deletes it. The engine calls this once it has flushed what it replayed.
    pub fn discard_replayed_segments(&self) -> Result<()> {
        let victims = {
            let mut inner = lock(&self.shared.inner);
            let ids: Vec<u64> = inner
                .older
                .values()
                .filter(|s| s.replayed)
                .map(|s| s.id)
                .collect();
            ids.iter()
                .filter_map(|id| inner.older.remove(id))
                .collect::<Vec<_>>()
        };
        self.shared.delete_segments(victims)
    }

    /// Makes everything appended so far durable before returning (drain, flush,
    /// shutdown). Works in every mode.
    pub fn sync(&self) -> Result<()> {
        let pos = self.current_position();
        self.shared.wait_synced(pos, true, false).map(|_| ())
    }

    /// Counters and positions.
    pub fn stats(&self) -> CommitLogStats {
        let (appends, payload_bytes, segments, segment_bytes, current_position) = {
            let inner = lock(&self.shared.inner);
            let segments = inner.older.len() + 1;
            let bytes =
                inner.active.file_bytes + inner.older.values().map(|s| s.file_bytes).sum::<u64>();
            (
                inner.appends,
                inner.payload_bytes,
                segments,
                bytes,
                inner.active.end(),
            )
        };
        let st = lock(&self.shared.sync);
        CommitLogStats {
            appends,
            payload_bytes,
            fsyncs: st.fsyncs,
            synced_appends: st.synced_appends,
            segments,
            segment_bytes,
            current_position,
            synced_position: st.synced_position,
        }
    }

    /// Final sync, then stops the sync thread. Appends after `close` return
    /// [`Error::Closed`]. Idempotent; `Drop` calls it too.
    pub fn close(&self) -> Result<()> {
        lock(&self.shared.inner).closed = true;
        {
            let mut st = lock(&self.shared.sync);
            st.shutdown = true;
            self.shared.sync_wanted.notify_all();
        }
        let handle = lock(&self.sync_thread).take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                return Err(Error::Poisoned("the commitlog sync thread panicked".into()));
            }
        }
        self.shared.check_poison()
    }

    /// Test hook (fault injection): the next sync round fails as if msync had
    /// returned EIO, which poisons the log.
    #[doc(hidden)]
    pub fn inject_sync_failure(&self) {
        self.shared
            .inject_sync_failure
            .store(true, Ordering::SeqCst);
        let _st = lock(&self.shared.sync);
        self.shared.sync_wanted.notify_all();
    }
}

impl Drop for CommitLog {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!("commitlog: closing on drop: {e}");
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Rebuilds the bookkeeping of a segment that existed before `open`.
fn rescan(file: &SegmentFile) -> Result<Segment> {
    let file_bytes = fs::metadata(&file.path)
        .map_err(|e| Error::io(&file.path, e))?
        .len();
    let mut dirty = DirtyTables::default();
    let outcome = replayer::read_segment(file, |table, end, _| {
        dirty.insert(table, end);
        Ok(())
    })?;
    let (written, pinned) = match outcome {
        SegmentOutcome::BadHeader(_) => (0, true),
        SegmentOutcome::Read { end, .. } => (end, false),
    };
    Ok(Segment {
        id: file.id,
        path: file.path.clone(),
        map: None,
        written,
        synced: written,
        dirty,
        replayed: true,
        pinned,
        file_bytes,
    })
}

/// What the sync thread was woken for.
enum SyncAction {
    Sync,
    FinalSync,
}

impl Shared {
    fn check_poison(&self) -> Result<()> {
        if !self.poisoned.load(Ordering::Acquire) {
            return Ok(());
        }
        let reason = lock(&self.sync).poison.clone().unwrap_or_default();
        Err(Error::Poisoned(reason))
    }

    /// Poisons the log and wakes every waiter with the news. Never retried.
    fn poison(&self, reason: String) {
        tracing::error!("commitlog poisoned, refusing further writes: {reason}");
        let mut st = lock(&self.sync);
        if st.poison.is_none() {
            st.poison = Some(reason);
        }
        self.poisoned.store(true, Ordering::Release);
        self.synced.notify_all();
        self.sync_wanted.notify_all();
    }

    /// Replaces the full active segment with a new one. Called with the append
    /// mutex held, so no record can land in between.
    fn roll(&self, inner: &mut Inner) -> Result<()> {
        let id = inner.next_id;
        let map = match MappedSegment::create(&self.dir, id, self.segment_size) {
            Ok(map) => map,
            Err(CreateError::Retryable(e)) => return Err(e),
            Err(CreateError::Fatal(e)) => {
                let reason = format!("creating commitlog segment {id}: {e}");
                self.poison(reason.clone());
                return Err(Error::Poisoned(reason));
            }
        };
        inner.next_id = id.saturating_add(1);
        let mut old = mem::replace(
            &mut inner.active,
            Segment::new_active(map, self.segment_size),
        );
        // The old segment's tail may still be unsynced: the sync thread finds it
        // in `older`, syncs it and then drops its mapping. If it is already fully
        // synced, nothing will write or sync it again: unmap it now.
        if old.synced >= old.written {
            old.map = None;
        }
        inner.older.insert(old.id, old);
        Ok(())
    }

    /// Waits until everything before `pos` is synced. `force` asks for a sync
    /// now (whatever the mode); `count` counts the wait as an append's ack.
    fn wait_synced(
        &self,
        pos: CommitLogPosition,
        force: bool,
        count: bool,
    ) -> Result<CommitLogPosition> {
        let mut st = lock(&self.sync);
        if st.synced_position < pos {
            // Wake the sync thread only when the request is news to it: once
            // `requested` is set, it is already counting down (or syncing).
            let mut wake = false;
            if force && !st.force {
                st.force = true;
                wake = true;
            }
            if !st.requested {
                st.requested = true;
                st.first_request_at = Some(Instant::now());
                wake = true;
            }
            if wake {
                self.sync_wanted.notify_one();
            }
        }
        loop {
            if let Some(reason) = &st.poison {
                return Err(Error::Poisoned(reason.clone()));
            }
            if st.synced_position >= pos {
                if count {
                    st.synced_appends += 1;
                }
                return Ok(pos);
            }
            if st.stopped {
                return Err(Error::Closed);
            }
            st = self.synced.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The sync thread: waits for a reason to sync (period elapsed, group window
    /// elapsed, batch waiter, forced sync, shutdown), syncs, repeats.
    fn run_sync_thread(&self) {
        loop {
            let action = self.wait_for_work();
            self.sync_round();
            if matches!(action, SyncAction::FinalSync) {
                break;
            }
        }
        let mut st = lock(&self.sync);
        st.stopped = true;
        self.synced.notify_all();
    }

    fn wait_for_work(&self) -> SyncAction {
        let mut st = lock(&self.sync);
        loop {
            if st.shutdown {
                return SyncAction::FinalSync;
            }
            let now = Instant::now();
            let injected = self.inject_sync_failure.load(Ordering::SeqCst);
            let due = if st.poison.is_some() {
                // Never sync again after a failure; just wait for shutdown.
                None
            } else if st.force || injected {
                Some(now)
            } else {
                match self.mode {
                    SyncMode::Periodic { period } => Some(st.last_sync + period),
                    SyncMode::Group { window } => st.first_request_at.map(|t| t + window),
                    SyncMode::Batch => st.requested.then_some(now),
                }
            };
            match due {
                Some(due) if due <= now => {
                    // Requests made from here on are answered by the next round.
                    st.requested = false;
                    st.first_request_at = None;
                    st.force = false;
                    return SyncAction::Sync;
                }
                Some(due) => {
                    st = self
                        .sync_wanted
                        .wait_timeout(st, due - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                None => {
                    st = self
                        .sync_wanted
                        .wait(st)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// Syncs everything appended so far and advances `synced_position`.
    fn sync_round(&self) {
        if self.poisoned.load(Ordering::Acquire) {
            return;
        }
        // Snapshot under the append mutex: the target position and every range
        // written but not yet synced, in any segment.
        let (target, work) = {
            let inner = lock(&self.inner);
            let target = inner.active.end();
            let work: Vec<(u64, Arc<MappedSegment>, u32, u32)> = std::iter::once(&inner.active)
                .chain(inner.older.values())
                .filter(|s| s.synced < s.written)
                .filter_map(|s| {
                    s.map
                        .as_ref()
                        .map(|m| (s.id, Arc::clone(m), s.synced, s.written))
                })
                .collect();
            (target, work)
        };
        if self.inject_sync_failure.swap(false, Ordering::SeqCst) {
            self.poison("injected sync failure (test hook)".into());
            return;
        }
        // IMPORTANT: the msyncs run without any lock, while appends continue;
        // `synced_position` moves to `target` only after every range written
        // before the snapshot is on disk, and a failure is never retried.
        for (_, map, from, to) in &work {
            if let Err(e) = map.sync_range(*from as usize, *to as usize) {
                self.poison(format!("msync of {} failed: {e}", map.path.display()));
                return;
            }
        }
        if !work.is_empty() {
            let mut inner = lock(&self.inner);
            for (id, _, _, to) in &work {
                let active_id = inner.active.id;
                if let Some(seg) = inner.segment_mut(*id) {
                    seg.synced = seg.synced.max(*to);
                    if seg.id != active_id && seg.synced >= seg.written {
                        // Full and synced: nothing will write or sync it again.
                        seg.map = None;
                    }
                }
            }
        }
        let mut st = lock(&self.sync);
        st.synced_position = st.synced_position.max(target);
        st.last_sync = Instant::now();
        if !work.is_empty() {
            st.fsyncs += 1;
        }
        self.synced.notify_all();
    }

    /// Unmaps and deletes `victims`, then fsyncs the directory.
    fn delete_segments(&self, victims: Vec<Segment>) -> Result<()> {
        if victims.is_empty() {
            return Ok(());
        }
        let mut first_err = None;
        for seg in victims {
            // Drop our mapping first; the sync thread may hold a clone for a
            // moment, and unlinking a mapped file is harmless on Unix.
            drop(seg.map);
            if let Err(e) = fs::remove_file(&seg.path) {
                if e.kind() != std::io::ErrorKind::NotFound && first_err.is_none() {
                    first_err = Some(Error::io(&seg.path, e));
                }
            }
        }
        // IMPORTANT: fsync the directory so the deletions are durable; otherwise a
        // power loss could resurrect segments (harmless, but replayed for nothing).
        if let Err(e) = segment::fsync_dir(&self.dir) {
            if first_err.is_none() {
                first_err = Some(Error::io(&self.dir, e));
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn positions_order_by_segment_then_offset() {
        let a = CommitLogPosition {
            segment_id: 1,
            offset: 900,
        };
        let b = CommitLogPosition {
            segment_id: 2,
            offset: 24,
        };
        assert!(a < b);
        assert!(CommitLogPosition::default() < a);
    }

    #[test]
    fn config_rejects_out_of_range_sizes() {
        let d = tmp();
        let mut c = CommitLogConfig::new(d.path());
        c.segment_size = 100;
        assert!(matches!(
            CommitLog::open(c.clone()),
            Err(Error::InvalidArgument(_))
        ));
        c.segment_size = MAX_SEGMENT_SIZE_BYTES + 1;
        assert!(matches!(
            CommitLog::open(c.clone()),
            Err(Error::InvalidArgument(_))
        ));
        c.segment_size = 64 * 1024;
        c.sync = SyncMode::Periodic {
            period: Duration::ZERO,
        };
        assert!(matches!(CommitLog::open(c), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn max_payload_is_half_a_segment_minus_record_overhead() {
        let mut c = CommitLogConfig::new("/nonexistent");
        c.segment_size = 64 * 1024;
        assert_eq!(c.max_payload_size(), 32 * 1024 - 24);
    }

    #[test]
    fn current_position_starts_after_the_header() {
        let d = tmp();
        let log = CommitLog::open(CommitLogConfig::new(d.path())).expect("open");
        let p = log.current_position();
        assert_eq!(p.offset as usize, SEGMENT_HEADER_LEN);
        let q = log.append(TableId(1), b"x").expect("append");
        assert_eq!(q.segment_id, p.segment_id);
        assert_eq!(q.offset as usize, SEGMENT_HEADER_LEN + RECORD_OVERHEAD + 1);
        assert_eq!(log.current_position(), q);
        log.close().expect("close");
        assert!(matches!(log.append(TableId(1), b"x"), Err(Error::Closed)));
        log.close().expect("close is idempotent");
    }

    #[test]
    fn fully_synced_older_segments_are_unmapped() {
        let d = tmp();
        let mut c = CommitLogConfig::new(d.path());
        c.segment_size = MIN_SEGMENT_SIZE_BYTES;
        c.sync = SyncMode::Batch;
        let log = CommitLog::open(c).expect("open");
        for _ in 0..100 {
            log.append(TableId(7), &[1u8; 100]).expect("append");
        }
        let inner = lock(&log.shared.inner);
        assert!(inner.older.len() >= 2);
        assert!(inner
            .older
            .values()
            .all(|s| s.map.is_none() && s.synced == s.written));
    }
}
