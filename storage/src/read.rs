//! Reads: merging what memtables and sstables hold of one partition.
//!
//! Every source (a memtable, an sstable) offers the partition's deletion, range
//! tombstones, static row and an iterator of rows in clustering order (or reverse)
//! within the requested slice. [`merge`] walks the row iterators in step (a k-way
//! merge; k is small), reconciles rows with the same clustering, removes what the
//! strongest covering deletion shadows, settles expired cells into tombstones, and
//! stops once `limit` live rows are produced. The result keeps tombstones (a replica
//! must return them so a coordinator can reconcile replicas); [`PartitionUpdate`]'s
//! `retain_live` view is what a query shows.
//!
//! Sources are consulted newest first; an sstable whose newest timestamp is not
//! newer than a partition deletion already seen cannot contribute anything and is
//! skipped without being read (the "min/max timestamp" early stop).

use std::cmp::Ordering;

use crate::error::Result;
use crate::model::{
    ClusteringSlice, DeletionTime, LocalTime, PartitionUpdate, RangeTombstone, Row, Timestamp,
};

/// What to read of one partition.
#[derive(Clone, Debug)]
pub struct ReadCommand {
    pub slice: ClusteringSlice,
    /// Rows in descending clustering order.
    pub reversed: bool,
    /// At most this many rows with live data (tombstone-only rows do not count).
    pub limit: Option<usize>,
    /// The local time (s) that decides expiry.
    pub now: LocalTime,
}

impl ReadCommand {
    /// The whole partition, forward, unlimited.
    pub fn all(now: LocalTime) -> ReadCommand {
        ReadCommand {
            slice: ClusteringSlice::ALL,
            reversed: false,
            limit: None,
            now,
        }
    }
}

/// One source's view of a partition.
pub struct Source<'a> {
    pub deletion: DeletionTime,
    pub range_tombstones: Vec<RangeTombstone>,
    pub static_row: Option<Row>,
    pub rows: Box<dyn Iterator<Item = Result<Row>> + 'a>,
}

/// Counters a read reports (for table statistics).
#[derive(Default, Debug, Clone, Copy)]
pub struct ReadTrace {
    pub tombstones_scanned: u64,
    pub live_rows: u64,
    pub sstables_read: u64,
}

/// Merges sources into one reconciled partition (see the module doc). Rows come out
/// in the order asked for (descending when `cmd.reversed`).
pub fn merge(
    sources: Vec<Source<'_>>,
    cmd: &ReadCommand,
    trace: &mut ReadTrace,
) -> Result<PartitionUpdate> {
    let mut out = PartitionUpdate::default();
    let mut iters = Vec::with_capacity(sources.len());
    for s in sources {
        out.deletion = out.deletion.max(s.deletion);
        for rt in s.range_tombstones {
            if !out.range_tombstones.contains(&rt) {
                out.range_tombstones.push(rt);
            }
        }
        if let Some(sr) = s.static_row {
            match &mut out.static_row {
                Some(cur) => cur.merge(sr),
                None => out.static_row = Some(sr),
            }
        }
        iters.push(s.rows.peekable());
    }
    // Range tombstones the partition deletion supersedes are redundant.
    let pd = out.deletion;
    out.range_tombstones
        .retain(|rt| rt.deletion.supersedes(&pd));
    if let Some(sr) = &mut out.static_row {
        sr.purge_shadowed(pd, cmd.now);
        trace.tombstones_scanned += sr.tombstone_count(cmd.now) as u64;
        if sr.is_empty() {
            out.static_row = None;
        }
    }
    let order = |a: &[u8], b: &[u8]| {
        if cmd.reversed {
            b.cmp(a)
        } else {
            a.cmp(b)
        }
    };
    let limit = cmd.limit.unwrap_or(usize::MAX);
    let mut live = 0usize;
    while live < limit {
        // Find the smallest next clustering among the sources.
        let mut best: Option<usize> = None;
        for i in 0..iters.len() {
            let c = match iters[i].peek() {
                None => continue,
                Some(Err(_)) => {
                    // Surface the error.
                    if let Some(Err(e)) = iters[i].next() {
                        return Err(e);
                    }
                    continue;
                }
                Some(Ok(r)) => r.clustering.clone(),
            };
            best = match best {
                None => Some(i),
                Some(b) => match iters[b].peek() {
                    Some(Ok(br)) if order(&c, &br.clustering) == Ordering::Less => Some(i),
                    _ => Some(b),
                },
            };
        }
        let Some(b) = best else { break };
        let mut row = match iters[b].next() {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(e),
            None => break,
        };
        for (i, it) in iters.iter_mut().enumerate() {
            if i == b {
                continue;
            }
            if matches!(it.peek(), Some(Ok(r)) if r.clustering == row.clustering) {
                if let Some(Ok(r)) = it.next() {
                    row.merge(r);
                }
            }
        }
        let del = out.deletion_for(&row.clustering);
        row.purge_shadowed(del, cmd.now);
        trace.tombstones_scanned += row.tombstone_count(cmd.now) as u64;
        if row.is_empty() {
            continue;
        }
        if row.has_live_data(cmd.now) {
            live += 1;
        }
        out.rows.push(row);
    }
    trace.live_rows += live as u64;
    Ok(out)
}

/// Merges two versions of a partition (compaction): reconciles everything, keeps tombstones.
pub fn merge_updates(a: PartitionUpdate, b: PartitionUpdate) -> PartitionUpdate {
    let mut out = PartitionUpdate {
        deletion: a.deletion.max(b.deletion),
        range_tombstones: a.range_tombstones,
        static_row: a.static_row,
        rows: Vec::with_capacity(a.rows.len().max(b.rows.len())),
    };
    for rt in b.range_tombstones {
        if !out.range_tombstones.contains(&rt) {
            out.range_tombstones.push(rt);
        }
    }
    if let Some(sr) = b.static_row {
        match &mut out.static_row {
            Some(cur) => cur.merge(sr),
            None => out.static_row = Some(sr),
        }
    }
    let mut ia = a.rows.into_iter().peekable();
    let mut ib = b.rows.into_iter().peekable();
    loop {
        let next = match (ia.peek(), ib.peek()) {
            (Some(x), Some(y)) => match x.clustering.cmp(&y.clustering) {
                Ordering::Less => ia.next(),
                Ordering::Greater => ib.next(),
                Ordering::Equal => match (ia.next(), ib.next()) {
                    (Some(mut x), Some(y)) => {
                        x.merge(y);
                        Some(x)
                    }
                    (x, y) => x.or(y),
                },
            },
            (Some(_), None) => ia.next(),
            (None, Some(_)) => ib.next(),
            (None, None) => None,
        };
        match next {
            Some(r) => out.rows.push(r),
            None => break,
        }
    }
    out
}

/// Compaction's purge: removes shadowed data and, for tombstones older than
/// `gc_before` written before `max_purgeable`, the tombstones themselves. Returns
/// `None` when nothing remains of the partition.
pub fn purge_for_compaction(
    mut p: PartitionUpdate,
    now: LocalTime,
    gc_before: LocalTime,
    max_purgeable: Timestamp,
) -> Option<PartitionUpdate> {
    let pd = p.deletion;
    p.range_tombstones.retain(|rt| rt.deletion.supersedes(&pd));
    let rts = p.range_tombstones.clone();
    let deletion_for = |c: &[u8]| {
        let mut d = pd;
        for rt in &rts {
            if rt.slice.contains(c) {
                d = d.max(rt.deletion);
            }
        }
        d
    };
    for r in p.rows.iter_mut() {
        let d = deletion_for(&r.clustering);
        r.purge_shadowed(d, now);
        r.purge_tombstones(now, gc_before, max_purgeable);
    }
    p.rows.retain(|r| !r.is_empty());
    if let Some(sr) = &mut p.static_row {
        sr.purge_shadowed(pd, now);
        sr.purge_tombstones(now, gc_before, max_purgeable);
    }
    if p.static_row.as_ref().is_some_and(Row::is_empty) {
        p.static_row = None;
    }
    let gcable = |d: &DeletionTime| {
        d.local_deletion_time < gc_before && d.marked_for_delete_at < max_purgeable
    };
    p.range_tombstones.retain(|rt| !gcable(&rt.deletion));
    if !p.deletion.is_live() && gcable(&p.deletion) {
        p.deletion = DeletionTime::LIVE;
    }
    (!p.is_empty()).then_some(p)
}

impl PartitionUpdate {
    /// What a query sees: live rows and cells only, tombstones and expired data dropped.
    pub fn retain_live(&mut self, now: LocalTime) {
        self.deletion = DeletionTime::LIVE;
        self.range_tombstones.clear();
        if let Some(s) = &mut self.static_row {
            s.retain_live(now);
        }
        if self.static_row.as_ref().is_some_and(|s| s.cells.is_empty()) {
            self.static_row = None;
        }
        for r in self.rows.iter_mut() {
            r.retain_live(now);
        }
        self.rows.retain(|r| r.has_live_data(now));
    }
}
