//! Compaction: choosing which sstables to merge, and merging them.
//!
//! The split follows fjall's lsm-tree: a *strategy* is a pure function from the
//! table's sstables (sizes, timestamps, tombstone estimates) and the time to a
//! [`Choice`], unit-tested without a disk; the *executor* (in [`crate::table`])
//! carries a choice out on the storage engine's compaction thread, throughput-limited
//! by `compaction_throughput`.
//!
//! [`SizeTieredStrategy`] is Cassandra's SizeTieredCompactionStrategy with its
//! defaults: sstables of similar size (within `[bucket_low, bucket_high]` × the
//! bucket's average, or all below `min_sstable_size`) form a bucket; a bucket of at
//! least `min_threshold` sstables is compacted, at most `max_threshold` at a time,
//! the smallest first. With nothing to merge, a single sstable whose estimated
//! droppable tombstones exceed `tombstone_threshold` (20 %) and that is older than
//! `tombstone_compaction_interval` (1 day) is compacted alone to purge them.
//!
//! Not here yet: LeveledCompactionStrategy and TimeWindowCompactionStrategy
//! (the `Choice` type leaves room for them), read hotness (Cassandra prefers hot
//! buckets; we prefer the largest bucket, then the smallest sstables).

/// SizeTieredCompactionStrategy options (Cassandra's names and defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct CompactionOptions {
    /// Background compaction on/off (`enabled`).
    pub enabled: bool,
    pub min_threshold: usize,
    pub max_threshold: usize,
    pub bucket_low: f64,
    pub bucket_high: f64,
    /// Bytes below which sstables all share one bucket (50 MiB).
    pub min_sstable_size: u64,
    /// Droppable tombstone ratio that triggers a single-sstable compaction.
    pub tombstone_threshold: f64,
    /// Minimum age (s) of an sstable before a tombstone compaction of it.
    pub tombstone_compaction_interval: i64,
}

impl Default for CompactionOptions {
    fn default() -> Self {
        CompactionOptions {
            enabled: true,
            min_threshold: 4,
            max_threshold: 32,
            bucket_low: 0.5,
            bucket_high: 1.5,
            min_sstable_size: 50 * 1024 * 1024,
            tombstone_threshold: 0.2,
            tombstone_compaction_interval: 86_400,
        }
    }
}

/// What the strategy knows of one sstable.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub generation: u64,
    /// Data file bytes.
    pub size: u64,
    /// Estimated droppable tombstone ratio at the current gc_before.
    pub droppable_tombstone_ratio: f64,
    /// Unix seconds when written.
    pub created_at: i64,
}

/// Why a compaction was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A size tier reached min_threshold.
    SizeTier,
    /// A single sstable with too many droppable tombstones.
    Tombstones,
    /// Asked for (nodetool compact).
    Major,
    /// Asked for, naming the sstables (nodetool compact --user-defined).
    UserDefined,
}

/// A strategy's decision.
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    DoNothing,
    /// Merge these sstables (by generation) into one.
    Merge {
        inputs: Vec<u64>,
        reason: Reason,
    },
}

/// Cassandra's SizeTieredCompactionStrategy. Pure: no I/O, no clock.
#[derive(Clone, Debug, Default)]
pub struct SizeTieredStrategy {
    pub options: CompactionOptions,
}

impl SizeTieredStrategy {
    /// Groups candidates into size buckets (Cassandra's `getBuckets`).
    pub fn buckets<'a>(&self, cands: &'a [Candidate]) -> Vec<Vec<&'a Candidate>> {
        let o = &self.options;
        let mut sorted: Vec<&Candidate> = cands.iter().collect();
        sorted.sort_by_key(|c| (c.size, c.generation));
        let mut buckets: Vec<(f64, Vec<&Candidate>)> = Vec::new();
        for c in sorted {
            let size = c.size as f64;
            let fit = buckets.iter_mut().find(|(avg, _)| {
                (size > avg * o.bucket_low && size < avg * o.bucket_high)
                    || (c.size < o.min_sstable_size && *avg < o.min_sstable_size as f64)
            });
            match fit {
                Some((avg, members)) => {
                    let total = *avg * members.len() as f64 + size;
                    members.push(c);
                    *avg = total / members.len() as f64;
                }
                None => buckets.push((size, vec![c])),
            }
        }
        buckets.into_iter().map(|(_, m)| m).collect()
    }

    /// Chooses the next compaction among `cands` (sstables not already compacting).
    pub fn choose(&self, cands: &[Candidate], now: i64) -> Choice {
        let o = &self.options;
        if !o.enabled || o.min_threshold < 2 {
            return Choice::DoNothing;
        }
        let mut best: Option<Vec<&Candidate>> = None;
        for mut b in self.buckets(cands) {
            if b.len() < o.min_threshold {
                continue;
            }
            b.truncate(o.max_threshold.max(o.min_threshold));
            let better = match &best {
                None => true,
                Some(cur) => {
                    let size = |v: &Vec<&Candidate>| {
                        v.iter().map(|c| c.size).sum::<u64>() / v.len() as u64
                    };
                    b.len() > cur.len() || (b.len() == cur.len() && size(&b) < size(cur))
                }
            };
            if better {
                best = Some(b);
            }
        }
        if let Some(b) = best {
            return Choice::Merge {
                inputs: b.iter().map(|c| c.generation).collect(),
                reason: Reason::SizeTier,
            };
        }
        let tomb = cands
            .iter()
            .filter(|c| c.created_at.saturating_add(o.tombstone_compaction_interval) <= now)
            .filter(|c| c.droppable_tombstone_ratio > o.tombstone_threshold)
            .max_by(|a, b| {
                a.droppable_tombstone_ratio
                    .total_cmp(&b.droppable_tombstone_ratio)
            });
        match tomb {
            Some(c) => Choice::Merge {
                inputs: vec![c.generation],
                reason: Reason::Tombstones,
            },
            None => Choice::DoNothing,
        }
    }
}

/// Limits compaction I/O to `bytes_per_sec` (0 = unlimited) by sleeping.
pub struct Throttle {
    bytes_per_sec: u64,
    start: std::time::Instant,
    bytes: u64,
}

impl Throttle {
    pub fn new(bytes_per_sec: u64) -> Throttle {
        Throttle {
            bytes_per_sec,
            start: std::time::Instant::now(),
            bytes: 0,
        }
    }

    /// Accounts `n` bytes, sleeping as long as the rate is exceeded.
    pub fn account(&mut self, n: u64) {
        self.bytes += n;
        if self.bytes_per_sec == 0 {
            return;
        }
        let due = std::time::Duration::from_secs_f64(self.bytes as f64 / self.bytes_per_sec as f64);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn c(generation: u64, size: u64) -> Candidate {
        Candidate {
            generation,
            size,
            droppable_tombstone_ratio: 0.0,
            created_at: 0,
        }
    }

    #[test]
    fn small_sstables_share_a_bucket_and_compact_at_min_threshold() {
        // Checks that sstables under min_sstable_size bucket together, that 3 do nothing and
        // the 4th triggers a size-tier compaction of all four.
        let s = SizeTieredStrategy::default();
        let mut v = vec![c(1, MIB), c(2, 3 * MIB), c(3, 10 * MIB)];
        assert_eq!(s.choose(&v, 0), Choice::DoNothing);
        v.push(c(4, 20 * MIB));
        assert_eq!(
            s.choose(&v, 0),
            Choice::Merge {
                inputs: vec![1, 2, 3, 4],
                reason: Reason::SizeTier
            }
        );
    }

    #[test]
    fn large_sstables_bucket_by_similar_size() {
        // Checks that 100 MiB-class and 1 GiB-class sstables land in separate buckets
        // (bucket_low 0.5, bucket_high 1.5) and only the full one is chosen.
        let s = SizeTieredStrategy::default();
        let v = vec![
            c(1, 100 * MIB),
            c(2, 110 * MIB),
            c(3, 120 * MIB),
            c(4, 1000 * MIB),
            c(5, 1100 * MIB),
            c(6, 1050 * MIB),
            c(7, 990 * MIB),
        ];
        let b = s.buckets(&v);
        assert_eq!(b.len(), 2);
        assert_eq!(
            s.choose(&v, 0),
            Choice::Merge {
                inputs: vec![7, 4, 6, 5],
                reason: Reason::SizeTier
            }
        );
    }

    #[test]
    fn max_threshold_caps_the_inputs() {
        // Checks a bucket of 40 small sstables compacts only max_threshold (32), smallest first.
        let s = SizeTieredStrategy::default();
        let v: Vec<_> = (1..=40).map(|g| c(g, g * 1024)).collect();
        match s.choose(&v, 0) {
            Choice::Merge { inputs, .. } => {
                assert_eq!(inputs.len(), 32);
                assert_eq!(inputs[0], 1);
            }
            other => panic!("expected a merge, got {other:?}"),
        }
    }

    #[test]
    fn tombstone_compaction_needs_ratio_and_age() {
        // Checks a single sstable is chosen for tombstone compaction only when its droppable
        // ratio exceeds 0.2 and it is older than tombstone_compaction_interval.
        let s = SizeTieredStrategy::default();
        let mut t = c(9, MIB);
        t.droppable_tombstone_ratio = 0.5;
        t.created_at = 1000;
        assert_eq!(s.choose(&[t.clone()], 1000 + 86_399), Choice::DoNothing);
        assert_eq!(
            s.choose(&[t.clone()], 1000 + 86_400),
            Choice::Merge {
                inputs: vec![9],
                reason: Reason::Tombstones
            }
        );
        t.droppable_tombstone_ratio = 0.1;
        assert_eq!(s.choose(&[t], 1_000_000), Choice::DoNothing);
    }

    #[test]
    fn disabled_does_nothing() {
        // Checks `enabled: false` stops background choices.
        let s = SizeTieredStrategy {
            options: CompactionOptions {
                enabled: false,
                ..CompactionOptions::default()
            },
        };
        let v: Vec<_> = (1..=8).map(|g| c(g, MIB)).collect();
        assert_eq!(s.choose(&v, 0), Choice::DoNothing);
    }
}
