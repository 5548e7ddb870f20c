//! Storage's vocabulary: cells, rows, partitions, mutations, and how two versions
//! of the same data are reconciled.
//!
//! Storage knows nothing of CQL types. A clustering is an opaque byte string that the
//! query layer has encoded **byte-comparably**: rows sort by plain `memcmp` of their
//! clustering, and each clustering component's encoding is self-delimiting, so "every
//! row whose clustering starts with these bytes" is a well-defined set. That contract
//! is what lets a [`ClusteringBound`] name a prefix (`c1 = 5` covers every row whose
//! first component is 5) without storage knowing how many components there are.
//!
//! Columns are identified by a `u32` [`ColumnId`] the schema assigns once and never
//! reuses; a dropped-then-re-added column gets a new id, so stale cells are simply
//! ignored. A cell of a collection column carries a `path` (the element's key); a
//! tombstone cell with no path on a collection column deletes the whole collection
//! (Cassandra's complex deletion), shadowing every element with a timestamp `<=` it.
//!
//! ## Reconciliation (Cassandra's rules, `Cells.reconcile`, `LivenessInfo.supersedes`)
//! For two cells at the same (column, path):
//! 1. the higher write timestamp wins;
//! 2. on a tie, a tombstone or expiring cell beats a live one;
//! 3. then a tombstone beats an expiring cell;
//! 4. then the larger local deletion (or expiration) time wins;
//! 5. then the larger value (unsigned bytes).
//!
//! Deletions (partition, range tombstone, row) shadow every cell and row marker with
//! `timestamp <= marked_for_delete_at`; between two deletions the larger
//! `marked_for_delete_at` wins, then the larger local deletion time.
//!
//! An expiring cell whose expiration time has passed reads as a tombstone whose local
//! deletion time is `expiration - ttl` (its write time), as Cassandra converts it, so
//! gc grace counts from when the data was written.

use std::cmp::Ordering;
use std::fmt;

use bytes::Bytes;

use crate::token::DecoratedKey;

/// A table's identity: the 128-bit UUID the schema gives it (`WITH ID`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct TableId(pub u128);

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.to_be_bytes();
        for (i, x) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

/// A column's stable identity within its table.
pub type ColumnId = u32;

/// Write timestamps are microseconds since the epoch (CQL `USING TIMESTAMP`).
pub type Timestamp = i64;

/// Local times (deletion, expiration) are seconds since the epoch.
pub type LocalTime = i64;

/// A timestamp lower than any real write: "no timestamp".
pub const NO_TIMESTAMP: Timestamp = i64::MIN;

/// The encoded clustering of a row: byte-comparable, opaque to storage.
pub type Clustering = Bytes;

/// A deletion: everything written at or before `marked_for_delete_at` is shadowed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct DeletionTime {
    /// Write timestamp of the deletion (µs); data with `timestamp <=` this is deleted.
    pub marked_for_delete_at: Timestamp,
    /// When the deletion happened on the node (s): gc grace counts from here.
    pub local_deletion_time: LocalTime,
}

impl DeletionTime {
    /// "Not deleted".
    pub const LIVE: DeletionTime = DeletionTime {
        marked_for_delete_at: NO_TIMESTAMP,
        local_deletion_time: i64::MAX,
    };

    /// A deletion at write timestamp `ts`, performed at local time `now` (seconds).
    pub fn new(ts: Timestamp, now: LocalTime) -> DeletionTime {
        DeletionTime {
            marked_for_delete_at: ts,
            local_deletion_time: now,
        }
    }

    /// True for [`DeletionTime::LIVE`].
    pub fn is_live(&self) -> bool {
        self.marked_for_delete_at == NO_TIMESTAMP
    }

    /// Cassandra's `DeletionTime.supersedes`.
    pub fn supersedes(&self, other: &DeletionTime) -> bool {
        self.marked_for_delete_at > other.marked_for_delete_at
            || (self.marked_for_delete_at == other.marked_for_delete_at
                && self.local_deletion_time > other.local_deletion_time)
    }

    /// The stronger of two deletions.
    pub fn max(self, other: DeletionTime) -> DeletionTime {
        if other.supersedes(&self) {
            other
        } else {
            self
        }
    }

    /// Whether this deletion shadows data written at `ts`.
    pub fn deletes(&self, ts: Timestamp) -> bool {
        !self.is_live() && ts <= self.marked_for_delete_at
    }
}

impl Default for DeletionTime {
    fn default() -> Self {
        DeletionTime::LIVE
    }
}

/// The INSERT row marker: a row exists (with no other column set) while it is live.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct LivenessInfo {
    /// Write timestamp (µs), or [`NO_TIMESTAMP`] for "no marker".
    pub timestamp: Timestamp,
    /// TTL in seconds, 0 for none.
    pub ttl: i32,
    /// Local expiration time (s) when `ttl > 0`.
    pub expires_at: LocalTime,
}

impl LivenessInfo {
    /// No marker.
    pub const EMPTY: LivenessInfo = LivenessInfo {
        timestamp: NO_TIMESTAMP,
        ttl: 0,
        expires_at: i64::MAX,
    };

    /// A marker written at `ts`, expiring after `ttl` seconds from `now` if `ttl > 0`.
    pub fn new(ts: Timestamp, ttl: i32, now: LocalTime) -> LivenessInfo {
        LivenessInfo {
            timestamp: ts,
            ttl,
            expires_at: if ttl > 0 {
                now.saturating_add(ttl as i64)
            } else {
                i64::MAX
            },
        }
    }

    /// True when there is no marker.
    pub fn is_empty(&self) -> bool {
        self.timestamp == NO_TIMESTAMP
    }

    /// True when the marker exists and has not expired at `now`.
    pub fn is_live(&self, now: LocalTime) -> bool {
        !self.is_empty() && (self.ttl == 0 || now < self.expires_at)
    }

    /// Cassandra's `LivenessInfo.supersedes`.
    pub fn supersedes(&self, other: &LivenessInfo) -> bool {
        if self.timestamp != other.timestamp {
            return self.timestamp > other.timestamp;
        }
        let (a, b) = (self.ttl > 0, other.ttl > 0);
        if a == b {
            return self.expires_at > other.expires_at;
        }
        a
    }
}

impl Default for LivenessInfo {
    fn default() -> Self {
        LivenessInfo::EMPTY
    }
}

/// What a cell holds.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub enum CellValue {
    /// A value that lives until overwritten or deleted.
    Live(Bytes),
    /// A value that expires at `expires_at` (local seconds), written with `ttl` seconds.
    Expiring {
        value: Bytes,
        ttl: i32,
        expires_at: LocalTime,
    },
    /// A deletion marker written at local time `deleted_at` (seconds).
    Tombstone { deleted_at: LocalTime },
}

/// One column value (or element of a collection) of a row.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct Cell {
    pub column: ColumnId,
    /// The element key of a collection cell; `None` for a simple column, or for a
    /// collection-wide deletion when the cell is a tombstone.
    pub path: Option<Bytes>,
    /// Write timestamp (µs).
    pub timestamp: Timestamp,
    pub value: CellValue,
}

impl Cell {
    /// A live cell.
    pub fn live(column: ColumnId, ts: Timestamp, value: impl Into<Bytes>) -> Cell {
        Cell {
            column,
            path: None,
            timestamp: ts,
            value: CellValue::Live(value.into()),
        }
    }

    /// An expiring cell written at local time `now` with `ttl` seconds to live.
    pub fn expiring(
        column: ColumnId,
        ts: Timestamp,
        value: impl Into<Bytes>,
        ttl: i32,
        now: LocalTime,
    ) -> Cell {
        Cell {
            column,
            path: None,
            timestamp: ts,
            value: CellValue::Expiring {
                value: value.into(),
                ttl,
                expires_at: now.saturating_add(ttl as i64),
            },
        }
    }

    /// A tombstone written at local time `now`.
    pub fn tombstone(column: ColumnId, ts: Timestamp, now: LocalTime) -> Cell {
        Cell {
            column,
            path: None,
            timestamp: ts,
            value: CellValue::Tombstone { deleted_at: now },
        }
    }

    /// The same cell for a collection element.
    pub fn with_path(mut self, path: impl Into<Bytes>) -> Cell {
        self.path = Some(path.into());
        self
    }

    /// The cell's value bytes, if it has a value (live or expiring, expired or not).
    pub fn value_bytes(&self) -> Option<&Bytes> {
        match &self.value {
            CellValue::Live(v) | CellValue::Expiring { value: v, .. } => Some(v),
            CellValue::Tombstone { .. } => None,
        }
    }

    /// True when the cell holds a value at `now` (not a tombstone, not expired).
    pub fn is_live(&self, now: LocalTime) -> bool {
        match &self.value {
            CellValue::Live(_) => true,
            CellValue::Expiring { expires_at, .. } => now < *expires_at,
            CellValue::Tombstone { .. } => false,
        }
    }

    /// True for a tombstone, or an expiring cell that has expired at `now`.
    pub fn is_tombstone(&self, now: LocalTime) -> bool {
        !self.is_live(now)
    }

    /// Cassandra's "local deletion time": `None` for a plain live cell.
    fn local_deletion_time(&self) -> Option<LocalTime> {
        match &self.value {
            CellValue::Live(_) => None,
            CellValue::Expiring { expires_at, .. } => Some(*expires_at),
            CellValue::Tombstone { deleted_at } => Some(*deleted_at),
        }
    }

    /// Orders cells within a row: by column, then path (`None` first).
    pub fn key_cmp(&self, other: &Cell) -> Ordering {
        self.column
            .cmp(&other.column)
            .then_with(|| self.path.cmp(&other.path))
    }

    /// Converts an expired expiring cell into the tombstone it has become (deletion time =
    /// its write time, `expires_at - ttl`); other cells are returned unchanged.
    pub fn settle(self, now: LocalTime) -> Cell {
        match self.value {
            CellValue::Expiring {
                ttl, expires_at, ..
            } if now >= expires_at => Cell {
                value: CellValue::Tombstone {
                    deleted_at: expires_at.saturating_sub(ttl as i64),
                },
                ..self
            },
            _ => self,
        }
    }

    /// Approximate bytes of user data this cell carries (for size accounting).
    pub fn data_size(&self) -> usize {
        self.value_bytes().map_or(0, |v| v.len()) + self.path.as_ref().map_or(0, |p| p.len()) + 12
    }
}

/// The winner of two versions of the same cell (same column and path), by Cassandra's rules.
pub fn reconcile(a: Cell, b: Cell) -> Cell {
    if a.timestamp != b.timestamp {
        return if a.timestamp > b.timestamp { a } else { b };
    }
    let (la, lb) = (a.local_deletion_time(), b.local_deletion_time());
    if la.is_some() || lb.is_some() {
        // A tombstone or expiring cell beats a live one of the same timestamp.
        if la.is_some() != lb.is_some() {
            return if la.is_some() { a } else { b };
        }
        // Then a tombstone beats an expiring cell.
        let ta = matches!(a.value, CellValue::Tombstone { .. });
        let tb = matches!(b.value, CellValue::Tombstone { .. });
        if ta != tb {
            return if ta { a } else { b };
        }
        // Then the larger local deletion time.
        if la != lb {
            return if la > lb { a } else { b };
        }
    }
    // Then the larger value.
    let va = a.value_bytes().cloned().unwrap_or_default();
    let vb = b.value_bytes().cloned().unwrap_or_default();
    if va >= vb {
        a
    } else {
        b
    }
}

/// A bound on clusterings. `Before(p)` sorts just before every clustering that starts
/// with `p`, `After(p)` just after every one of them; `Bottom`/`Top` are the ends.
/// An inclusive start on `p` is `Before(p)`, an exclusive start `After(p)`; an
/// inclusive end `After(p)`, an exclusive end `Before(p)` (Cassandra's ClusteringBound).
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub enum ClusteringBound {
    Bottom,
    Before(Clustering),
    After(Clustering),
    Top,
}

impl ClusteringBound {
    /// Where `clustering` sorts relative to this bound (never `Equal`).
    pub fn cmp_clustering(&self, clustering: &[u8]) -> Ordering {
        match self {
            ClusteringBound::Bottom => Ordering::Greater,
            ClusteringBound::Top => Ordering::Less,
            ClusteringBound::Before(p) => {
                if clustering >= &p[..] {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            ClusteringBound::After(p) => {
                if clustering.starts_with(p) || clustering < &p[..] {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
        }
    }

    /// Total order between bounds (used to sort range tombstones).
    pub fn cmp_bound(&self, other: &ClusteringBound) -> Ordering {
        use ClusteringBound::*;
        fn rank(b: &ClusteringBound) -> u8 {
            match b {
                Bottom => 0,
                Before(_) | After(_) => 1,
                Top => 2,
            }
        }
        match (self, other) {
            // Before(a) precedes everything starting with a: plain byte order is right,
            // a shorter prefix coming first.
            (Before(a), Before(b)) => a.cmp(b),
            // After(a) follows everything starting with a, so when one prefix extends the
            // other the longer one's After comes first.
            (After(a), After(b)) => {
                if a == b {
                    Ordering::Equal
                } else if a.starts_with(b) {
                    Ordering::Less
                } else if b.starts_with(a) {
                    Ordering::Greater
                } else {
                    a.cmp(b)
                }
            }
            // Before(a) is inside or before b's block when a extends b or sorts before b.
            (Before(a), After(b)) => {
                if a.starts_with(b) || a < b {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (After(_), Before(_)) => other.cmp_bound(self).reverse(),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// A contiguous range of clusterings.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct ClusteringSlice {
    pub start: ClusteringBound,
    pub end: ClusteringBound,
}

impl ClusteringSlice {
    /// Every clustering.
    pub const ALL: ClusteringSlice = ClusteringSlice {
        start: ClusteringBound::Bottom,
        end: ClusteringBound::Top,
    };

    /// Exactly the rows whose clustering starts with `prefix` (equal to it for a full clustering).
    pub fn prefix(prefix: impl Into<Clustering>) -> ClusteringSlice {
        let p = prefix.into();
        ClusteringSlice {
            start: ClusteringBound::Before(p.clone()),
            end: ClusteringBound::After(p),
        }
    }

    /// Whether `clustering` lies in the slice.
    pub fn contains(&self, clustering: &[u8]) -> bool {
        self.start.cmp_clustering(clustering) == Ordering::Greater
            && self.end.cmp_clustering(clustering) == Ordering::Less
    }

    /// Whether the slice may overlap the clustering range `[min, max]`.
    pub fn intersects(&self, min: &[u8], max: &[u8]) -> bool {
        self.start.cmp_clustering(max) == Ordering::Greater
            && self.end.cmp_clustering(min) == Ordering::Less
    }
}

/// A deletion of every row in a clustering range.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct RangeTombstone {
    pub slice: ClusteringSlice,
    pub deletion: DeletionTime,
}

/// A row: clustering, marker, deletion, and cells sorted by (column, path).
#[derive(Clone, PartialEq, Eq, Debug, Default, Hash)]
pub struct Row {
    pub clustering: Clustering,
    pub liveness: LivenessInfo,
    pub deletion: DeletionTime,
    pub cells: Vec<Cell>,
}

impl Row {
    /// An empty row at `clustering`.
    pub fn new(clustering: impl Into<Clustering>) -> Row {
        Row {
            clustering: clustering.into(),
            ..Row::default()
        }
    }

    /// Adds a cell, keeping cells sorted and reconciling a duplicate.
    pub fn add_cell(&mut self, cell: Cell) {
        match self.cells.binary_search_by(|c| c.key_cmp(&cell)) {
            Ok(i) => {
                let old = std::mem::replace(&mut self.cells[i], cell.clone());
                self.cells[i] = reconcile(old, cell);
            }
            Err(i) => self.cells.insert(i, cell),
        }
    }

    /// True when the row carries nothing (no marker, deletion or cell).
    pub fn is_empty(&self) -> bool {
        self.liveness.is_empty() && self.deletion.is_live() && self.cells.is_empty()
    }

    /// True when the row has a live marker or a live cell at `now`.
    pub fn has_live_data(&self, now: LocalTime) -> bool {
        self.liveness.is_live(now) || self.cells.iter().any(|c| c.is_live(now))
    }

    /// The largest timestamp in the row (marker, deletion, cells).
    pub fn max_timestamp(&self) -> Timestamp {
        let mut m = self
            .liveness
            .timestamp
            .max(self.deletion.marked_for_delete_at);
        for c in &self.cells {
            m = m.max(c.timestamp);
        }
        m
    }

    /// Merges `other` (same clustering) into `self` by reconciliation.
    pub fn merge(&mut self, other: Row) {
        if other.liveness.supersedes(&self.liveness) {
            self.liveness = other.liveness;
        }
        self.deletion = self.deletion.max(other.deletion);
        if self.cells.is_empty() {
            self.cells = other.cells;
            return;
        }
        let mine = std::mem::take(&mut self.cells);
        self.cells = merge_cells(mine, other.cells);
    }

    /// Removes what `deletion` (and the row's own deletion) shadow, settles expired cells
    /// into tombstones, and applies collection-wide deletions to their elements.
    pub fn purge_shadowed(&mut self, outer: DeletionTime, now: LocalTime) {
        let del = outer.max(self.deletion);
        if del.deletes(self.liveness.timestamp) {
            self.liveness = LivenessInfo::EMPTY;
        }
        if !self.deletion.supersedes(&outer) {
            // The row's own deletion is redundant under an outer one at least as strong.
            self.deletion = DeletionTime::LIVE;
        }
        let cells = std::mem::take(&mut self.cells);
        let mut complex: Option<(ColumnId, Timestamp)> = None;
        for cell in cells {
            if del.deletes(cell.timestamp) {
                continue;
            }
            if let Some((col, ts)) = complex {
                if col == cell.column && cell.path.is_some() && cell.timestamp <= ts {
                    continue;
                }
            }
            let cell = cell.settle(now);
            if cell.path.is_none() && matches!(cell.value, CellValue::Tombstone { .. }) {
                complex = Some((cell.column, cell.timestamp));
            } else if complex.is_some_and(|(c, _)| c != cell.column) {
                complex = None;
            }
            self.cells.push(cell);
        }
    }

    /// Drops tombstones (cells, row deletion, expired markers) that have outlived gc grace
    /// (local deletion time before `gc_before`) and were written before `max_purgeable`
    /// (no data outside the compaction is old enough for them to shadow).
    pub fn purge_tombstones(
        &mut self,
        now: LocalTime,
        gc_before: LocalTime,
        max_purgeable: Timestamp,
    ) {
        if !self.deletion.is_live()
            && self.deletion.local_deletion_time < gc_before
            && self.deletion.marked_for_delete_at < max_purgeable
        {
            self.deletion = DeletionTime::LIVE;
        }
        let l = self.liveness;
        // An expired marker acts as a tombstone from its write time until gc grace passes.
        if !l.is_empty()
            && l.ttl > 0
            && !l.is_live(now)
            && l.expires_at.saturating_sub(l.ttl as i64) < gc_before
            && l.timestamp < max_purgeable
        {
            self.liveness = LivenessInfo::EMPTY;
        }
        self.cells.retain(|c| match c.value {
            CellValue::Tombstone { deleted_at } => {
                !(deleted_at < gc_before && c.timestamp < max_purgeable)
            }
            _ => true,
        });
    }

    /// Keeps only what is live at `now` (what a query returns).
    pub fn retain_live(&mut self, now: LocalTime) {
        self.deletion = DeletionTime::LIVE;
        self.cells.retain(|c| c.is_live(now));
        if !self.liveness.is_live(now) {
            self.liveness = LivenessInfo::EMPTY;
        }
    }

    /// Number of tombstones carried (cells, row deletion).
    pub fn tombstone_count(&self, now: LocalTime) -> usize {
        self.cells.iter().filter(|c| c.is_tombstone(now)).count()
            + usize::from(!self.deletion.is_live())
    }

    /// Approximate bytes of user data (size accounting).
    pub fn data_size(&self) -> usize {
        self.clustering.len() + 16 + self.cells.iter().map(Cell::data_size).sum::<usize>()
    }
}

/// Merges two sorted cell lists, reconciling cells at the same (column, path).
pub fn merge_cells(a: Vec<Cell>, b: Vec<Cell>) -> Vec<Cell> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut ia = a.into_iter().peekable();
    let mut ib = b.into_iter().peekable();
    loop {
        match (ia.peek(), ib.peek()) {
            (Some(x), Some(y)) => match x.key_cmp(y) {
                Ordering::Less => out.extend(ia.next()),
                Ordering::Greater => out.extend(ib.next()),
                Ordering::Equal => {
                    if let (Some(x), Some(y)) = (ia.next(), ib.next()) {
                        out.push(reconcile(x, y));
                    }
                }
            },
            (Some(_), None) => out.extend(ia.next()),
            (None, Some(_)) => out.extend(ib.next()),
            (None, None) => break,
        }
    }
    out
}

/// A partition's content, or an update to it: the unit of writes and of read results.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PartitionUpdate {
    /// Deletion of the whole partition.
    pub deletion: DeletionTime,
    /// Deleted clustering ranges.
    pub range_tombstones: Vec<RangeTombstone>,
    /// The static row (its clustering is empty), if any.
    pub static_row: Option<Row>,
    /// Rows sorted by clustering, one per clustering.
    pub rows: Vec<Row>,
}

impl PartitionUpdate {
    /// True when the update carries nothing.
    pub fn is_empty(&self) -> bool {
        self.deletion.is_live()
            && self.range_tombstones.is_empty()
            && self.static_row.as_ref().is_none_or(Row::is_empty)
            && self.rows.is_empty()
    }

    /// Adds (or merges) a row, keeping rows sorted.
    pub fn add_row(&mut self, row: Row) {
        match self
            .rows
            .binary_search_by(|r| r.clustering.cmp(&row.clustering))
        {
            Ok(i) => self.rows[i].merge(row),
            Err(i) => self.rows.insert(i, row),
        }
    }

    /// The largest timestamp anywhere in the update.
    pub fn max_timestamp(&self) -> Timestamp {
        let mut m = self.deletion.marked_for_delete_at;
        for rt in &self.range_tombstones {
            m = m.max(rt.deletion.marked_for_delete_at);
        }
        if let Some(s) = &self.static_row {
            m = m.max(s.max_timestamp());
        }
        for r in &self.rows {
            m = m.max(r.max_timestamp());
        }
        m
    }

    /// The smallest timestamp anywhere in the update (for sstable statistics).
    pub fn min_timestamp(&self) -> Timestamp {
        let mut m = i64::MAX;
        let mut see = |t: Timestamp| {
            if t != NO_TIMESTAMP {
                m = m.min(t)
            }
        };
        see(self.deletion.marked_for_delete_at);
        for rt in &self.range_tombstones {
            see(rt.deletion.marked_for_delete_at);
        }
        for r in self.static_row.iter().chain(self.rows.iter()) {
            see(r.liveness.timestamp);
            see(r.deletion.marked_for_delete_at);
            for c in &r.cells {
                see(c.timestamp);
            }
        }
        m
    }

    /// The deletion that applies to a row at `clustering`: the partition's and every
    /// covering range tombstone's, whichever is strongest.
    pub fn deletion_for(&self, clustering: &[u8]) -> DeletionTime {
        let mut d = self.deletion;
        for rt in &self.range_tombstones {
            if rt.slice.contains(clustering) {
                d = d.max(rt.deletion);
            }
        }
        d
    }

    /// Approximate bytes of user data.
    pub fn data_size(&self) -> usize {
        self.static_row.as_ref().map_or(0, Row::data_size)
            + self.rows.iter().map(Row::data_size).sum::<usize>()
            + self.range_tombstones.len() * 32
    }

    /// Number of live rows (static row excluded) at `now`.
    pub fn live_row_count(&self, now: LocalTime) -> usize {
        self.rows.iter().filter(|r| r.has_live_data(now)).count()
    }
}

/// A write to one partition of one table: the unit of the commitlog, of internode
/// writes, of hints and of read repair.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Mutation {
    pub table: TableId,
    pub key: DecoratedKey,
    pub update: PartitionUpdate,
}

impl Mutation {
    /// An empty mutation of `key` in `table`.
    pub fn new(table: TableId, key: DecoratedKey) -> Mutation {
        Mutation {
            table,
            key,
            update: PartitionUpdate::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn higher_timestamp_wins() {
        // Rule 1: the later write wins whatever its kind.
        let old = Cell::live(1, 10, b(b"z"));
        let new = Cell::live(1, 11, b(b"a"));
        assert_eq!(reconcile(old.clone(), new.clone()), new);
        assert_eq!(reconcile(new.clone(), old), new);
        let t = Cell::tombstone(1, 9, 100);
        assert_eq!(reconcile(t, new.clone()), new);
    }

    #[test]
    fn tie_tombstone_beats_live() {
        // Rule 2: at the same timestamp a tombstone beats a live cell, in both argument orders.
        let live = Cell::live(1, 10, b(b"v"));
        let tomb = Cell::tombstone(1, 10, 5);
        assert_eq!(reconcile(live.clone(), tomb.clone()), tomb);
        assert_eq!(reconcile(tomb.clone(), live), tomb);
    }

    #[test]
    fn tie_expiring_beats_live() {
        // Rule 2: an expiring cell beats a live one of the same timestamp, even before it expires.
        let live = Cell::live(1, 10, b(b"zzz"));
        let exp = Cell::expiring(1, 10, b(b"a"), 100, 1000);
        assert_eq!(reconcile(live.clone(), exp.clone()), exp);
        assert_eq!(reconcile(exp.clone(), live), exp);
    }

    #[test]
    fn tie_tombstone_beats_expiring() {
        // Rule 3: a tombstone beats an expiring cell of the same timestamp, even with a smaller
        // local time.
        let exp = Cell::expiring(1, 10, b(b"a"), 100, 5000);
        let tomb = Cell::tombstone(1, 10, 1);
        assert_eq!(reconcile(exp.clone(), tomb.clone()), tomb);
        assert_eq!(reconcile(tomb.clone(), exp), tomb);
    }

    #[test]
    fn tie_larger_local_deletion_time_wins() {
        // Rule 4: two tombstones (or two expiring cells) at the same timestamp: larger local time.
        let t1 = Cell::tombstone(1, 10, 5);
        let t2 = Cell::tombstone(1, 10, 6);
        assert_eq!(reconcile(t1.clone(), t2.clone()), t2);
        assert_eq!(reconcile(t2.clone(), t1), t2);
        let e1 = Cell::expiring(1, 10, b(b"z"), 10, 100);
        let e2 = Cell::expiring(1, 10, b(b"a"), 10, 200);
        assert_eq!(reconcile(e1.clone(), e2.clone()), e2);
        assert_eq!(reconcile(e2.clone(), e1), e2);
    }

    #[test]
    fn tie_larger_value_wins() {
        // Rule 5: same timestamp, both live: the larger value by unsigned bytes.
        let a = Cell::live(1, 10, b(&[0x7f]));
        let z = Cell::live(1, 10, b(&[0x80]));
        assert_eq!(reconcile(a.clone(), z.clone()), z);
        assert_eq!(reconcile(z.clone(), a), z);
    }

    #[test]
    fn deletion_shadows_equal_timestamp() {
        // A deletion at ts shadows data written at ts (<=) but not at ts+1.
        let d = DeletionTime::new(10, 1);
        assert!(d.deletes(10));
        assert!(d.deletes(9));
        assert!(!d.deletes(11));
        assert!(!DeletionTime::LIVE.deletes(i64::MIN + 1));
    }

    #[test]
    fn deletion_supersedes_rules() {
        // Larger marked_for_delete_at wins; on a tie the larger local deletion time.
        let a = DeletionTime::new(10, 5);
        let b = DeletionTime::new(10, 6);
        let c = DeletionTime::new(11, 1);
        assert_eq!(a.max(b), b);
        assert_eq!(b.max(c), c);
        assert_eq!(DeletionTime::LIVE.max(a), a);
    }

    #[test]
    fn liveness_supersedes_rules() {
        // Higher timestamp; on a tie an expiring marker beats a plain one; two expiring: later expiry.
        let plain = LivenessInfo::new(10, 0, 0);
        let exp = LivenessInfo::new(10, 5, 100);
        let exp2 = LivenessInfo::new(10, 5, 200);
        assert!(LivenessInfo::new(11, 0, 0).supersedes(&exp));
        assert!(exp.supersedes(&plain));
        assert!(!plain.supersedes(&exp));
        assert!(exp2.supersedes(&exp));
    }

    #[test]
    fn expired_cell_settles_to_tombstone_at_write_time() {
        // An expired cell becomes a tombstone whose deletion time is expiration - ttl.
        let c = Cell::expiring(1, 10, b(b"v"), 100, 1000);
        assert!(c.is_live(1099));
        assert!(!c.is_live(1100));
        let s = c.settle(1100);
        assert_eq!(s.value, CellValue::Tombstone { deleted_at: 1000 });
    }

    #[test]
    fn collection_deletion_shadows_older_elements() {
        // A path-less tombstone on a collection column removes elements written at or before it.
        let mut r = Row::new(b(b"c"));
        r.add_cell(Cell::tombstone(3, 10, 1));
        r.add_cell(Cell::live(3, 9, b(b"old")).with_path(b(b"k1")));
        r.add_cell(Cell::live(3, 11, b(b"new")).with_path(b(b"k2")));
        r.add_cell(Cell::live(4, 5, b(b"other")));
        r.purge_shadowed(DeletionTime::LIVE, 100);
        let paths: Vec<_> = r.cells.iter().map(|c| (c.column, c.path.clone())).collect();
        assert_eq!(
            paths,
            vec![(3, None), (3, Some(b(b"k2"))), (4, None)],
            "k1 must be shadowed"
        );
    }

    #[test]
    fn clustering_bounds_cover_prefixes() {
        // Before(p)/After(p) bracket exactly the clusterings starting with p.
        let p = b(&[1, 2]);
        let s = ClusteringSlice::prefix(p.clone());
        assert!(s.contains(&[1, 2]));
        assert!(s.contains(&[1, 2, 0]));
        assert!(s.contains(&[1, 2, 255, 255]));
        assert!(!s.contains(&[1, 1, 255]));
        assert!(!s.contains(&[1, 3]));
        assert!(!s.contains(&[1]));
        assert!(ClusteringSlice::ALL.contains(&[]));
        let excl = ClusteringSlice {
            start: ClusteringBound::After(p.clone()),
            end: ClusteringBound::Top,
        };
        assert!(!excl.contains(&[1, 2, 9]));
        assert!(excl.contains(&[1, 3]));
    }

    #[test]
    fn bound_order_is_consistent_with_clusterings() {
        // cmp_bound agrees with cmp_clustering: Before(p) < every c with prefix p < After(p).
        let p = b(&[5]);
        let before = ClusteringBound::Before(p.clone());
        let after = ClusteringBound::After(p.clone());
        assert_eq!(before.cmp_bound(&after), Ordering::Less);
        assert_eq!(after.cmp_bound(&before), Ordering::Greater);
        let longer = ClusteringBound::Before(b(&[5, 1]));
        assert_eq!(before.cmp_bound(&longer), Ordering::Less);
        assert_eq!(longer.cmp_bound(&after), Ordering::Less);
        assert_eq!(ClusteringBound::Bottom.cmp_bound(&before), Ordering::Less);
        assert_eq!(ClusteringBound::Top.cmp_bound(&after), Ordering::Greater);
    }

    #[test]
    fn after_of_a_longer_prefix_sorts_before_after_of_its_prefix() {
        // Regression: `a = 2 AND b > 1` is the slice After([2,1])..After([2]); bytewise
        // comparison put After([2,1]) after After([2]) and the slice came out empty.
        let p = b(&[2]);
        let ps = b(&[2, 1]);
        let after_ps = ClusteringBound::After(ps.clone());
        let after_p = ClusteringBound::After(p.clone());
        assert_eq!(after_ps.cmp_bound(&after_p), Ordering::Less);
        assert_eq!(after_p.cmp_bound(&after_ps), Ordering::Greater);
        assert_eq!(after_p.cmp_bound(&after_p.clone()), Ordering::Equal);
        // Consistency with clusterings: [2,2] lies between the two bounds.
        assert_eq!(after_ps.cmp_clustering(&[2, 2]), Ordering::Greater);
        assert_eq!(after_p.cmp_clustering(&[2, 2]), Ordering::Less);
        // Unrelated prefixes keep byte order.
        assert_eq!(
            ClusteringBound::After(b(&[1, 9])).cmp_bound(&after_p),
            Ordering::Less
        );
    }
}
