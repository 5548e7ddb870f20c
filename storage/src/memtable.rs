//! Memtable: the in-memory, sorted home of recent writes.
//!
//! A `crossbeam_skiplist::SkipMap` holds one entry per *row*, keyed by
//! (DecoratedKey, kind, clustering), so a partition's rows are contiguous and in
//! clustering order, and a point write touches one entry however wide the
//! partition is. An entry is two allocations: its key, and its encoded row body
//! ([`crate::codec`]) behind an epoch-managed atomic pointer ([`Body`]). A row
//! costs its bytes plus about 90 bytes of skiplist node, pointer and allocator
//! overhead, which keeps memtable memory within 2× the user bytes it holds for rows
//! of ~100 bytes (measured in `benches/storage.rs`).
//!
//! **Why the body is swapped, not the entry.** An overwrite of an existing row
//! reconciles the old and new cells and must publish the result without a moment
//! when the row is absent. `SkipMap::insert` of an existing key marks the old node
//! removed *before* linking the new one, so a concurrent reader could miss the row
//! altogether (found by `sibyl stress` YCSB-A: 2 misses in 140 000 reads). Instead
//! a row's skiplist entry, once inserted, stays for the memtable's life and an
//! overwrite swaps its body pointer atomically: a reader sees the old body or the
//! new one, never neither. Replaced bodies are freed by crossbeam-epoch once no
//! reader can hold them.
//!
//! Entry kinds within a partition, in order:
//! - `KIND_HEADER`: partition deletion and range tombstones (absent when none);
//! - `KIND_STATIC`: the static row;
//! - `KIND_ROW`: regular rows, by clustering.
//!
//! ## Entry layout
//! ```text
//! key:  [token: 8, big-endian, sign bit flipped][key_len: u16 BE][key][kind: u8]
//!       [clustering_len: u32 BE][clustering]
//! body: the encoded row body or partition header (codec), a separate allocation
//! ```
//! Entries order by token, key bytes, kind, then clustering bytes (memcmp).
//!
//! Writes to the same row from concurrent writers are serialized by a striped lock
//! (read, reconcile, swap); reads are lock-free. The memtable never shrinks:
//! when it is full the table switches to a fresh one and this one is flushed to an
//! sstable and dropped once the sstable is live.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering as AtOrd};
use std::sync::Mutex;

use std::mem::MaybeUninit;

use bytes::Bytes;
use crossbeam_epoch::{self as epoch, Atomic, Owned};
use crossbeam_skiplist::SkipMap;

use crate::codec::{self, Reader};
use crate::model::{
    ClusteringBound, ClusteringSlice, DeletionTime, PartitionUpdate, RangeTombstone, Row,
};
use crate::token::{DecoratedKey, Token};

const KIND_HEADER: u8 = 0;
const KIND_STATIC: u8 = 1;
const KIND_ROW: u8 = 2;
/// Sorts after every row of a partition (used only in probes).
const KIND_END: u8 = 3;

/// Skiplist node, body pointer and allocator overhead charged per entry in size
/// accounting (node ~48 bytes with an average tower and the body pointer, two
/// allocations at ~16 each, the body's 8-byte length header).
const ENTRY_OVERHEAD_BYTES: usize = 88;

/// Number of skiplists the memtable is split into by token range. A random insert
/// into one skiplist of n entries walks ~2·log2(n) nodes, each a likely cache miss;
/// 64 shards take six levels off that walk (measured in `benches/storage.rs`), and
/// since shards partition the ring in order, ordered iteration just chains them.
const SHARDS: usize = 64;
const SHARD_SHIFT: u32 = 64 - SHARDS.trailing_zeros();

/// Number of striped locks serializing read-modify-write of a row. Enough that
/// 64 concurrent writers rarely collide, small enough to be one cache-friendly array.
const WRITE_STRIPES: usize = 256;

thread_local! {
    /// Per-thread buffer a write encodes its entry into before the one exact allocation.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// An entry's key (layout in the module doc), plus its token inline so that comparisons between partitions never leave the skiplist
/// node: random inserts into a large memtable would otherwise miss the cache on every
/// comparison (measured: 65 % of write time before this).
pub(crate) struct Entry {
    token: u64,
    bytes: Box<[u8]>,
}

impl Entry {
    fn new(bytes: Box<[u8]>) -> Entry {
        Entry {
            token: EntryRef::new(&bytes).token_u64(),
            bytes,
        }
    }

    /// An owned copy of `b`, used as a search bound.
    fn probe(b: &[u8]) -> Entry {
        Entry::new(Box::from(b))
    }

    fn r(&self) -> &EntryRef {
        EntryRef::new(&self.bytes)
    }
}

/// The borrowed, unsized form of an entry, used for ordering and probes.
#[repr(transparent)]
pub(crate) struct EntryRef([u8]);

impl EntryRef {
    fn new(b: &[u8]) -> &EntryRef {
        // SAFETY: EntryRef is repr(transparent) over [u8].
        unsafe { &*(b as *const [u8] as *const EntryRef) }
    }

    fn token_bytes(&self) -> &[u8] {
        self.0.get(..8).unwrap_or(&[])
    }

    fn key_len(&self) -> usize {
        match self.0.get(8..10) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            None => 0,
        }
    }

    fn key(&self) -> &[u8] {
        let n = self.key_len();
        self.0.get(10..10 + n).unwrap_or(&[])
    }

    fn kind(&self) -> u8 {
        let n = self.key_len();
        self.0.get(10 + n).copied().unwrap_or(0)
    }

    fn clustering_range(&self) -> (usize, usize) {
        let n = self.key_len();
        let at = 11 + n;
        let len = match self.0.get(at..at + 4) {
            Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
            None => 0,
        };
        (at + 4, (at + 4 + len).min(self.0.len()))
    }

    fn clustering(&self) -> &[u8] {
        let (s, e) = self.clustering_range();
        self.0.get(s..e).unwrap_or(&[])
    }

    pub(crate) fn token(&self) -> Token {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.token_bytes());
        Token::from_comparable_bytes(a)
    }
}

impl EntryRef {
    #[inline]
    fn token_u64(&self) -> u64 {
        match self.0.get(..8) {
            Some(b) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => 0,
        }
    }
}

impl Ord for EntryRef {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.token_u64()
            .cmp(&other.token_u64())
            .then_with(|| self.key().cmp(other.key()))
            .then_with(|| self.kind().cmp(&other.kind()))
            .then_with(|| self.clustering().cmp(other.clustering()))
    }
}
impl PartialOrd for EntryRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for EntryRef {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for EntryRef {}

impl Ord for Entry {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.token
            .cmp(&other.token)
            .then_with(|| self.r().cmp(other.r()))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}

fn entry_prefix(out: &mut Vec<u8>, key: &DecoratedKey, kind: u8, clustering: &[u8]) {
    out.extend_from_slice(&key.token.to_comparable_bytes());
    out.extend_from_slice(&(key.key.len() as u16).to_be_bytes());
    out.extend_from_slice(&key.key);
    out.push(kind);
    out.extend_from_slice(&(clustering.len() as u32).to_be_bytes());
    out.extend_from_slice(clustering);
}

/// A row's encoded body (or a partition header), replaceable atomically while
/// readers hold the entry. See the module documentation for why.
pub(crate) struct Body(Atomic<[MaybeUninit<u8>]>);

impl Body {
    fn owned(bytes: &[u8]) -> Owned<[MaybeUninit<u8>]> {
        let mut o = Owned::<[MaybeUninit<u8>]>::init(bytes.len());
        for (d, s) in o.iter_mut().zip(bytes) {
            d.write(*s);
        }
        o
    }

    fn new(bytes: &[u8]) -> Body {
        Body(Atomic::from(Body::owned(bytes)))
    }

    /// Calls `f` with the current bytes.
    fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let guard = epoch::pin();
        let shared = self.0.load(AtOrd::Acquire, &guard);
        // SAFETY: the pointer is never null (set at construction, only ever swapped
        // for another owned allocation), every byte was initialised in `owned`, and
        // the guard keeps a swapped-out body alive until `f` returns.
        let bytes: &[MaybeUninit<u8>] = unsafe { shared.deref() };
        let bytes = unsafe { &*(bytes as *const [MaybeUninit<u8>] as *const [u8]) };
        f(bytes)
    }

    /// Publishes `bytes` as the new body; the old one is freed once no reader can
    /// hold it.
    fn replace(&self, bytes: &[u8]) {
        let guard = epoch::pin();
        let old = self.0.swap(Body::owned(bytes), AtOrd::AcqRel, &guard);
        // SAFETY: `old` is no longer reachable from the entry; readers that loaded it
        // are pinned, so destruction waits for them.
        unsafe { guard.defer_destroy(old) };
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        // SAFETY: dropping the body means the skiplist node is being destroyed, after
        // every reader that could reach it has unpinned.
        unsafe {
            let p = self.0.load(AtOrd::Relaxed, epoch::unprotected());
            if !p.is_null() {
                drop(p.into_owned());
            }
        }
    }
}

fn probe(key: &DecoratedKey, kind: u8, clustering: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + 2 + key.key.len() + 5 + clustering.len());
    entry_prefix(&mut v, key, kind, clustering);
    v
}

/// The smallest byte string greater than every string starting with `p` (`None` if
/// there is none: `p` is all 0xFF).
fn prefix_successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut s = p.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// A memtable's partition for a read: header and static row, rows lazily.
pub struct MemPartitionView<'a> {
    pub deletion: DeletionTime,
    pub range_tombstones: Vec<RangeTombstone>,
    pub static_row: Option<Row>,
    pub rows: Box<dyn Iterator<Item = Row> + 'a>,
}

/// What one memtable holds of one partition, as a read sees it.
#[derive(Debug, Default)]
pub struct MemPartition {
    pub deletion: DeletionTime,
    pub range_tombstones: Vec<RangeTombstone>,
    pub static_row: Option<Row>,
    pub rows: Vec<Row>,
}

/// An in-memory sorted table of recent writes. See the module documentation.
pub struct Memtable {
    /// Skiplists by token range (see [`SHARDS`]); shard `i` holds the tokens whose top
    /// bits are `i`, so the shards in order are the whole memtable in order.
    maps: Box<[SkipMap<Entry, Body>]>,
    stripes: Vec<Mutex<()>>,
    /// Accounted bytes (entries + overhead).
    size: AtomicUsize,
    /// User bytes written (key, clustering and values), for the memory ratio.
    data_bytes: AtomicUsize,
    min_timestamp: AtomicI64,
    max_timestamp: AtomicI64,
}

impl Default for Memtable {
    fn default() -> Self {
        Memtable::new()
    }
}

impl Memtable {
    pub fn new() -> Memtable {
        Memtable {
            maps: (0..SHARDS).map(|_| SkipMap::new()).collect(),
            stripes: (0..WRITE_STRIPES).map(|_| Mutex::new(())).collect(),
            size: AtomicUsize::new(0),
            data_bytes: AtomicUsize::new(0),
            min_timestamp: AtomicI64::new(i64::MAX),
            max_timestamp: AtomicI64::new(i64::MIN),
        }
    }

    /// Bytes this memtable accounts for (what `memtable_heap_space` is compared with).
    pub fn size_bytes(&self) -> usize {
        self.size.load(AtOrd::Relaxed)
    }

    /// Bytes of user data written into it.
    pub fn data_bytes(&self) -> usize {
        self.data_bytes.load(AtOrd::Relaxed)
    }

    /// Number of entries (rows, static rows and partition headers).
    pub fn entry_count(&self) -> usize {
        self.maps.iter().map(SkipMap::len).sum()
    }

    /// An upper bound of the partitions held (one per entry; exact for one-row partitions).
    pub fn partition_estimate(&self) -> u64 {
        self.entry_count() as u64
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.maps.iter().all(SkipMap::is_empty)
    }

    /// Smallest write timestamp held (i64::MAX if empty).
    pub fn min_timestamp(&self) -> i64 {
        self.min_timestamp.load(AtOrd::Relaxed)
    }

    /// Largest write timestamp held (i64::MIN if empty).
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp.load(AtOrd::Relaxed)
    }

    fn shard(&self, comparable_token: u64) -> &SkipMap<Entry, Body> {
        &self.maps[(comparable_token >> SHARD_SHIFT) as usize % SHARDS]
    }

    fn shard_of(&self, key: &DecoratedKey) -> &SkipMap<Entry, Body> {
        self.shard(u64::from_be_bytes(key.token.to_comparable_bytes()))
    }

    fn stripe(&self, token: Token, clustering: &[u8]) -> &Mutex<()> {
        let mut h = token.0 as u64;
        for &b in clustering.iter().take(16) {
            h = h.rotate_left(5) ^ b as u64;
        }
        let i = (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % WRITE_STRIPES;
        &self.stripes[i]
    }

    /// Applies a partition update: each row is reconciled with what the memtable has.
    pub fn apply(&self, key: &DecoratedKey, update: &PartitionUpdate) {
        let (min_ts, max_ts) = (update.min_timestamp(), update.max_timestamp());
        self.min_timestamp.fetch_min(min_ts, AtOrd::Relaxed);
        self.max_timestamp.fetch_max(max_ts, AtOrd::Relaxed);
        if !update.deletion.is_live() || !update.range_tombstones.is_empty() {
            let _g = self.stripe(key.token, &[]).lock();
            let p = probe(key, KIND_HEADER, &[]);
            let (mut del, mut rts) = (update.deletion, update.range_tombstones.clone());
            let existing = self.shard_of(key).get(&Entry::probe(&p));
            if let Some(e) = &existing {
                e.value().with(|body| {
                    if let Ok(h) = codec::decode_partition_header(&mut Reader::new(body)) {
                        del = del.max(h.deletion);
                        for rt in h.range_tombstones {
                            if !rts.contains(&rt) {
                                rts.push(rt);
                            }
                        }
                    }
                });
            }
            let mut body = Vec::new();
            codec::encode_partition_header(&mut body, &del, &rts, None);
            match existing {
                Some(e) => self.replace(e.value(), &body),
                None => {
                    self.size
                        .fetch_add(p.len() + body.len() + ENTRY_OVERHEAD_BYTES, AtOrd::Relaxed);
                    self.shard_of(key)
                        .insert(Entry::new(p.into_boxed_slice()), Body::new(&body));
                }
            }
        }
        if let Some(s) = &update.static_row {
            self.apply_row(key, KIND_STATIC, s);
        }
        for row in &update.rows {
            self.apply_row(key, KIND_ROW, row);
        }
    }

    /// Writes one row: a fresh row costs one skiplist operation; an existing one is
    /// read, reconciled and replaced under its stripe lock.
    fn apply_row(&self, key: &DecoratedKey, kind: u8, row: &Row) {
        let clustering: &[u8] = if kind == KIND_STATIC {
            &[]
        } else {
            &row.clustering
        };
        let _g = self.stripe(key.token, clustering).lock();
        let fresh = SCRATCH.with(|scratch| {
            let mut buf = scratch.borrow_mut();
            buf.clear();
            entry_prefix(&mut buf, key, kind, clustering);
            let key_len = buf.len();
            codec::encode_row_body(&mut buf, row);
            let boxed: Box<[u8]> = Box::from(&buf[..key_len]);
            let ours = boxed.as_ptr();
            let e = self
                .shard_of(key)
                .get_or_insert(Entry::new(boxed), Body::new(&buf[key_len..]));
            if std::ptr::eq(e.key().bytes.as_ptr(), ours) {
                self.size
                    .fetch_add(buf.len() + ENTRY_OVERHEAD_BYTES, AtOrd::Relaxed);
                return true;
            }
            // The row exists: reconcile with it and swap in the merged body.
            let mut merged = e
                .value()
                .with(|body| codec::decode_row_body(&mut Reader::new(body), row.clustering.clone()))
                .unwrap_or_else(|_| Row::new(row.clustering.clone()));
            merged.merge(row.clone());
            buf.clear();
            codec::encode_row_body(&mut buf, &merged);
            self.replace(e.value(), &buf);
            false
        });
        self.data_bytes.fetch_add(
            key.key.len() * usize::from(fresh) + row.data_size(),
            AtOrd::Relaxed,
        );
    }

    /// Swaps an existing entry's body, keeping the size accounting.
    fn replace(&self, body: &Body, bytes: &[u8]) {
        let old_len = body.with(<[u8]>::len);
        let new_len = bytes.len();
        if new_len >= old_len {
            self.size.fetch_add(new_len - old_len, AtOrd::Relaxed);
        } else {
            self.size.fetch_sub(old_len - new_len, AtOrd::Relaxed);
        }
        body.replace(bytes);
    }

    /// Reads what this memtable holds of `key` within `slice` (rows in clustering order).
    /// Returns `None` when it holds nothing of the partition.
    pub fn read(&self, key: &DecoratedKey, slice: &ClusteringSlice) -> Option<MemPartition> {
        self.read_lazy(key, slice, false).map(|v| MemPartition {
            deletion: v.deletion,
            range_tombstones: v.range_tombstones,
            static_row: v.static_row,
            rows: v.rows.collect(),
        })
    }

    /// What this memtable holds of `key`: header and static row at once, rows within
    /// `slice` lazily (decoded only as the caller consumes them, so a read that stops
    /// after a page costs a page, however wide the partition). Rows come in clustering
    /// order, or reversed. `None` when the memtable holds nothing of the partition.
    pub fn read_lazy<'a>(
        &'a self,
        key: &DecoratedKey,
        slice: &ClusteringSlice,
        reversed: bool,
    ) -> Option<MemPartitionView<'a>> {
        let lo = probe(key, KIND_HEADER, &[]);
        let hi = probe(key, KIND_END, &[]);
        let map = self.shard_of(key);
        let mut view = MemPartitionView {
            deletion: DeletionTime::LIVE,
            range_tombstones: Vec::new(),
            static_row: None,
            rows: Box::new(std::iter::empty()),
        };
        let mut any = false;
        // Header and static row: the first two possible entries.
        for e in map
            .range::<Entry, _>((
                Bound::Included(Entry::probe(&lo)),
                Bound::Excluded(Entry::probe(&hi)),
            ))
            .take(2)
        {
            any = true;
            match e.key().r().kind() {
                KIND_HEADER => {
                    if let Ok(h) = e
                        .value()
                        .with(|b| codec::decode_partition_header(&mut Reader::new(b)))
                    {
                        view.deletion = h.deletion;
                        view.range_tombstones = h.range_tombstones;
                    }
                }
                KIND_STATIC => {
                    view.static_row = e
                        .value()
                        .with(|b| codec::decode_row_body(&mut Reader::new(b), Bytes::new()))
                        .ok();
                }
                _ => break,
            }
        }
        if !any {
            return None;
        }
        // Tight skiplist bounds for the slice, so neither direction walks rows outside it.
        let row_probe = |p: &[u8]| Entry::probe(&probe(key, KIND_ROW, p));
        let lower = match &slice.start {
            ClusteringBound::Bottom => Bound::Included(row_probe(&[])),
            ClusteringBound::Before(p) => Bound::Included(row_probe(p)),
            ClusteringBound::After(p) => match prefix_successor(p) {
                Some(s) => Bound::Included(row_probe(&s)),
                None => return Some(view),
            },
            ClusteringBound::Top => return Some(view),
        };
        let upper = match &slice.end {
            ClusteringBound::Top => Bound::Excluded(Entry::probe(&hi)),
            ClusteringBound::Before(p) => Bound::Excluded(row_probe(p)),
            ClusteringBound::After(p) => match prefix_successor(p) {
                Some(s) => Bound::Excluded(row_probe(&s)),
                None => Bound::Excluded(Entry::probe(&hi)),
            },
            ClusteringBound::Bottom => return Some(view),
        };
        let slice = slice.clone();
        let decode = move |e: crossbeam_skiplist::map::Entry<'a, Entry, Body>| {
            let er = e.key().r();
            let c = er.clustering();
            if !slice.contains(c) {
                return None;
            }
            e.value()
                .with(|b| codec::decode_row_body(&mut Reader::new(b), Bytes::copy_from_slice(c)))
                .ok()
        };
        let range = map.range::<Entry, _>((lower, upper));
        view.rows = if reversed {
            Box::new(range.rev().filter_map(decode))
        } else {
            Box::new(range.filter_map(decode))
        };
        Some(view)
    }

    /// Every partition in key order, as whole updates (used by flush).
    pub fn partitions(&self) -> MemtableIter<'_> {
        MemtableIter {
            shards: &self.maps,
            next_shard: 1,
            inner: self.maps.first().map(SkipMap::iter),
            pending: None,
        }
    }

    /// Partition keys in order, starting at the first key `>= from` (or after it when
    /// `inclusive` is false).
    pub fn keys_from(&self, from: Option<(&DecoratedKey, bool)>) -> Vec<DecoratedKey> {
        self.keys_between(from, None, usize::MAX)
    }

    /// Up to `limit` partition keys in order after `from`, before `to` (exclusive).
    pub fn keys_between(
        &self,
        from: Option<(&DecoratedKey, bool)>,
        to: Option<&DecoratedKey>,
        limit: usize,
    ) -> Vec<DecoratedKey> {
        let lo = match from {
            Some((k, true)) => probe(k, KIND_HEADER, &[]),
            Some((k, false)) => probe(k, KIND_END, &[]),
            None => Vec::new(),
        };
        let mut out: Vec<DecoratedKey> = Vec::new();
        let lo = Entry::probe(&lo);
        let first = (lo.token >> SHARD_SHIFT) as usize % SHARDS;
        for (i, map) in self.maps.iter().enumerate().skip(first) {
            let lower = if i == first {
                Bound::Included(Entry::probe(lo.r().0.as_ref()))
            } else {
                Bound::Unbounded
            };
            for e in map.range::<Entry, _>((lower, Bound::Unbounded)) {
                if out.len() >= limit {
                    return out;
                }
                let er = e.key().r();
                if out
                    .last()
                    .is_some_and(|k| k.key[..] == *er.key() && k.token == er.token())
                {
                    continue;
                }
                let k = DecoratedKey {
                    token: er.token(),
                    key: Bytes::copy_from_slice(er.key()),
                };
                if to.is_some_and(|t| &k >= t) {
                    return out;
                }
                out.push(k);
            }
        }
        out
    }
}

/// Iterates a memtable partition by partition.
pub struct MemtableIter<'a> {
    shards: &'a [SkipMap<Entry, Body>],
    next_shard: usize,
    inner: Option<crossbeam_skiplist::map::Iter<'a, Entry, Body>>,
    pending: Option<crossbeam_skiplist::map::Entry<'a, Entry, Body>>,
}

impl Iterator for MemtableIter<'_> {
    type Item = (DecoratedKey, PartitionUpdate);

    fn next(&mut self) -> Option<Self::Item> {
        let first = match self.pending.take() {
            Some(e) => e,
            None => loop {
                if let Some(e) = self.inner.as_mut().and_then(Iterator::next) {
                    break e;
                }
                // This shard is done; a partition never spans shards.
                let next = self.shards.get(self.next_shard)?;
                self.next_shard += 1;
                self.inner = Some(next.iter());
            },
        };
        let fr = first.key().r();
        let key = DecoratedKey {
            token: fr.token(),
            key: Bytes::copy_from_slice(fr.key()),
        };
        let mut upd = PartitionUpdate::default();
        let add = |e: &crossbeam_skiplist::map::Entry<'_, Entry, Body>,
                   upd: &mut PartitionUpdate| {
            let er = e.key().r();
            e.value().with(|body| match er.kind() {
                KIND_HEADER => {
                    if let Ok(h) = codec::decode_partition_header(&mut Reader::new(body)) {
                        upd.deletion = h.deletion;
                        upd.range_tombstones = h.range_tombstones;
                    }
                }
                KIND_STATIC => {
                    upd.static_row =
                        codec::decode_row_body(&mut Reader::new(body), Bytes::new()).ok();
                }
                _ => {
                    if let Ok(r) = codec::decode_row_body(
                        &mut Reader::new(body),
                        Bytes::copy_from_slice(er.clustering()),
                    ) {
                        upd.rows.push(r);
                    }
                }
            })
        };
        add(&first, &mut upd);
        for e in self.inner.iter_mut().flatten() {
            let er = e.key().r();
            if er.token_bytes() != fr.token_bytes() || er.key() != fr.key() {
                self.pending = Some(e);
                break;
            }
            add(&e, &mut upd);
        }
        Some((key, upd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cell;

    fn dk(s: &str) -> DecoratedKey {
        DecoratedKey::new(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn overwrites_never_hide_a_row_from_concurrent_readers() {
        // Checks the race found by YCSB-A: while writers keep overwriting existing rows
        // (and partition headers), a reader must always find every row, with one of the
        // values written, never none. Before bodies were swapped in place, SkipMap::insert
        // unlinked the old node before linking the new one and readers missed rows.
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        const KEYS: usize = 64;
        const ROUNDS_PER_WRITER: usize = 4_000;
        let m = Arc::new(Memtable::new());
        let keys: Vec<DecoratedKey> = (0..KEYS).map(|i| dk(&format!("k{i}"))).collect();
        let write = |m: &Memtable, k: &DecoratedKey, ts: i64, with_header: bool| {
            let mut u = PartitionUpdate::default();
            if with_header {
                u.deletion = DeletionTime::new(0, 1);
            }
            let mut r = Row::new(vec![1u8]);
            r.add_cell(Cell::live(1, ts, ts.to_be_bytes().to_vec()));
            u.add_row(r);
            let mut st = Row::new(Bytes::new());
            st.add_cell(Cell::live(9, ts, &b"s"[..]));
            u.static_row = Some(st);
            m.apply(k, &u);
        };
        for k in &keys {
            write(&m, k, 1, true);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (m, keys) = (m.clone(), keys.clone());
                std::thread::spawn(move || {
                    for round in 0..ROUNDS_PER_WRITER {
                        let k = &keys[(round * 7 + w) % KEYS];
                        write(&m, k, 2 + round as i64, round % 3 == 0);
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (m, keys, stop) = (m.clone(), keys.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !stop.load(AtOrd::Relaxed) {
                        for k in &keys {
                            let p = m.read(k, &ClusteringSlice::ALL).expect("partition present");
                            assert_eq!(p.rows.len(), 1, "row missing for {k:?}");
                            assert!(p.static_row.is_some(), "static row missing for {k:?}");
                            assert!(!p.deletion.is_live(), "header missing for {k:?}");
                            reads += 1;
                        }
                        let flushed = m.partitions().count();
                        assert_eq!(flushed, KEYS, "flush iteration lost a partition");
                    }
                    reads
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer");
        }
        stop.store(true, AtOrd::Relaxed);
        let reads: u64 = readers.into_iter().map(|r| r.join().expect("reader")).sum();
        assert!(reads > 0);
        assert_eq!(m.entry_count(), KEYS * 3);
    }

    #[test]
    fn rows_come_back_in_clustering_order_and_reconciled() {
        // Checks rows written out of order read back sorted, and a rewrite of a row merges
        // cells by reconciliation (newer timestamp wins, other cells kept).
        let m = Memtable::new();
        let k = dk("p");
        for c in [3u8, 1, 2] {
            let mut u = PartitionUpdate::default();
            let mut r = Row::new(vec![c]);
            r.add_cell(Cell::live(1, 10, vec![c]));
            r.add_cell(Cell::live(2, 10, &b"old"[..]));
            u.add_row(r);
            m.apply(&k, &u);
        }
        let mut u = PartitionUpdate::default();
        let mut r = Row::new(vec![2u8]);
        r.add_cell(Cell::live(2, 11, &b"new"[..]));
        u.add_row(r);
        m.apply(&k, &u);
        let p = m.read(&k, &ClusteringSlice::ALL).expect("partition");
        let cs: Vec<u8> = p.rows.iter().map(|r| r.clustering[0]).collect();
        assert_eq!(cs, vec![1, 2, 3]);
        assert_eq!(p.rows[1].cells.len(), 2);
        assert_eq!(
            p.rows[1].cells[1].value_bytes().map(|b| &b[..]),
            Some(&b"new"[..])
        );
        assert!(m.read(&dk("q"), &ClusteringSlice::ALL).is_none());
    }

    #[test]
    fn slices_and_partition_iteration() {
        // Checks a clustering slice returns only its rows, and the flush iterator yields each
        // partition once with header, static row and rows.
        let m = Memtable::new();
        for p in ["a", "b"] {
            let mut s = Row::new(Bytes::new());
            s.add_cell(Cell::live(9, 5, &b"s"[..]));
            let mut u = PartitionUpdate {
                deletion: DeletionTime::new(1, 1),
                static_row: Some(s),
                ..PartitionUpdate::default()
            };
            for c in 0u8..10 {
                u.add_row(Row {
                    liveness: crate::model::LivenessInfo::new(5, 0, 0),
                    ..Row::new(vec![c])
                });
            }
            m.apply(&dk(p), &u);
        }
        let s = ClusteringSlice {
            start: ClusteringBound::After(Bytes::from_static(&[3])),
            end: ClusteringBound::Before(Bytes::from_static(&[7])),
        };
        let p = m.read(&dk("a"), &s).expect("partition");
        let cs: Vec<u8> = p.rows.iter().map(|r| r.clustering[0]).collect();
        assert_eq!(cs, vec![4, 5, 6]);
        assert!(p.static_row.is_some());
        assert_eq!(p.deletion, DeletionTime::new(1, 1));
        let parts: Vec<_> = m.partitions().collect();
        assert_eq!(parts.len(), 2);
        for (_, u) in parts {
            assert_eq!(u.rows.len(), 10);
            assert!(u.static_row.is_some());
            assert!(!u.deletion.is_live());
        }
    }

    #[test]
    fn prefix_successor_bounds_every_extension() {
        // Checks the successor is greater than every string starting with p and is the
        // smallest such: trailing 0xFF bytes roll over; all-0xFF has none.
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
        assert_eq!(prefix_successor(&[]), None);
    }

    #[test]
    fn lazy_reads_match_a_brute_force_filter_in_both_directions() {
        // Checks read_lazy over every bound kind, forward and reversed, returns exactly
        // the rows a brute-force filter of all rows returns, in the right order.
        let m = Memtable::new();
        let k = dk("p");
        let all: Vec<Vec<u8>> = vec![
            vec![1],
            vec![1, 0xff],
            vec![1, 0xff, 3],
            vec![2],
            vec![2, 1],
            vec![3],
        ];
        let mut u = PartitionUpdate::default();
        for c in &all {
            let mut r = Row::new(c.clone());
            r.add_cell(Cell::live(1, 1, &b"v"[..]));
            u.add_row(r);
        }
        m.apply(&k, &u);
        let bounds = |p: &[u8]| {
            vec![
                ClusteringBound::Bottom,
                ClusteringBound::Top,
                ClusteringBound::Before(Bytes::copy_from_slice(p)),
                ClusteringBound::After(Bytes::copy_from_slice(p)),
            ]
        };
        for p in [&[1u8][..], &[1, 0xff], &[2], &[0xff]] {
            for start in bounds(p) {
                for end in bounds(&[2]) {
                    let slice = ClusteringSlice {
                        start: start.clone(),
                        end,
                    };
                    let want: Vec<Vec<u8>> =
                        all.iter().filter(|c| slice.contains(c)).cloned().collect();
                    let got: Vec<Vec<u8>> = m
                        .read_lazy(&k, &slice, false)
                        .map(|v| v.rows.map(|r| r.clustering.to_vec()).collect())
                        .unwrap_or_default();
                    assert_eq!(got, want, "{slice:?}");
                    let mut rev = want.clone();
                    rev.reverse();
                    let got: Vec<Vec<u8>> = m
                        .read_lazy(&k, &slice, true)
                        .map(|v| v.rows.map(|r| r.clustering.to_vec()).collect())
                        .unwrap_or_default();
                    assert_eq!(got, rev, "reversed {slice:?}");
                }
            }
        }
    }
}
