//! What each operation of a stress run does: which statement, on which key.
//!
//! A workload is a mix of operation kinds, each with a key distribution, like
//! cassandra-stress's `write`/`read`/`mixed` and YCSB's core workloads A–F
//! (`workloads/workload[a-f]` in YCSB):
//!
//! | workload | mix | keys |
//! |---|---|---|
//! | `write` | 100 % insert | sequential: op *i* writes key *i* mod key-count |
//! | `read` | 100 % read | uniform |
//! | `mixed` | `--read-ratio` read, the rest write | uniform |
//! | `ycsb-a` | 50 % read, 50 % update | zipfian |
//! | `ycsb-b` | 95 % read, 5 % update | zipfian |
//! | `ycsb-c` | 100 % read | zipfian |
//! | `ycsb-d` | 95 % read, 5 % insert | latest |
//! | `ycsb-e` | 95 % scan (1–100 rows), 5 % insert | zipfian start |
//! | `ycsb-f` | 50 % read, 50 % read-modify-write | zipfian |
//!
//! `write`'s keys are sequential so that a run of `--ops N --key-count N` writes
//! exactly N distinct partitions (checkable with `SELECT COUNT(*)`). YCSB's updates
//! and `write` are both [`OpKind::Write`] (an `INSERT` of a whole row, which is what
//! an update of the one value column is in CQL); YCSB's inserts are writes of keys
//! past `--key-count`, numbered from a counter shared by all workers.
//!
//! Zipfian is YCSB's scrambled zipfian (θ = 0.99, the rank hashed with FNV-1a so the
//! popular keys are spread over the key space and hence over the ring). *Latest*
//! (YCSB's default for D) reads the newest keys most: newest minus a zipfian rank,
//! where newest is the last of the inserts acknowledged without a gap (YCSB's
//! `AcknowledgedCounterGenerator`), so reads do not chase inserts still in flight.
//! What this does not do: YCSB's per-field columns (one `value` column stands for
//! them) and its recomputation of the zipfian constant as inserts grow the key space.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use clap::ValueEnum;
use rand::rngs::SmallRng;
use rand::Rng;

/// Decimal digits of a key: keys are 0..10^KEY_DIGITS.
pub const KEY_DIGITS: usize = 10;

/// The largest key count (every key must fit in [`KEY_DIGITS`] digits, with room
/// for YCSB's inserts past it).
pub const KEY_COUNT_MAX: u64 = 1_000_000_000;

/// YCSB's zipfian constant (`ZipfianGenerator.ZIPFIAN_CONSTANT`).
const ZIPFIAN_THETA: f64 = 0.99;

/// Terms of ζ(n, θ) summed one by one; past this the sum's tail is integrated
/// (error far below the sampling noise), so a billion keys cost 10 M `powf`s at start.
const ZETA_EXACT_TERMS: u64 = 10_000_000;

/// Longest YCSB E scan (`maxscanlength` in `workloads/workloade`), in rows.
pub const SCAN_LENGTH_MAX: u32 = 100;

/// A workload named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Insert keys 0, 1, 2, … (wrapping at --key-count).
    Write,
    /// Read uniformly random keys.
    Read,
    /// Reads (--read-ratio) and writes of uniformly random keys.
    Mixed,
    /// YCSB A, update heavy: 50 % read, 50 % update, zipfian.
    YcsbA,
    /// YCSB B, read mostly: 95 % read, 5 % update, zipfian.
    YcsbB,
    /// YCSB C, read only, zipfian.
    YcsbC,
    /// YCSB D, read latest: 95 % read of recent keys, 5 % insert.
    YcsbD,
    /// YCSB E, short ranges: 95 % scan of 1-100 rows from a zipfian key, 5 % insert.
    YcsbE,
    /// YCSB F, read-modify-write: 50 % read, 50 % read then write, zipfian.
    YcsbF,
}

impl Workload {
    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Write => "write",
            Workload::Read => "read",
            Workload::Mixed => "mixed",
            Workload::YcsbA => "ycsb-a",
            Workload::YcsbB => "ycsb-b",
            Workload::YcsbC => "ycsb-c",
            Workload::YcsbD => "ycsb-d",
            Workload::YcsbE => "ycsb-e",
            Workload::YcsbF => "ycsb-f",
        }
    }

    /// Whether the workload reads rows that must have been written first.
    pub fn reads_existing_keys(self) -> bool {
        self != Workload::Write
    }
}

/// The kinds of operation, each with its own latency histogram in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// `SELECT value FROM kv WHERE key = ?`.
    Read,
    /// `INSERT INTO kv (key, value) VALUES (?, ?)`.
    Write,
    /// `SELECT key, value FROM kv WHERE token(key) >= token(?) LIMIT ?`.
    Scan,
    /// A read then a write of the same key, timed as one operation.
    ReadModifyWrite,
}

impl OpKind {
    /// Every kind, in report order; `kind as usize` indexes it.
    pub const ALL: [OpKind; 4] = [
        OpKind::Read,
        OpKind::Write,
        OpKind::Scan,
        OpKind::ReadModifyWrite,
    ];

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::Scan => "scan",
            OpKind::ReadModifyWrite => "read-modify-write",
        }
    }
}

/// One operation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read { key: u64 },
    Write { key: u64 },
    Scan { start: u64, rows: u32 },
    ReadModifyWrite { key: u64 },
}

impl Op {
    pub fn kind(self) -> OpKind {
        match self {
            Op::Read { .. } => OpKind::Read,
            Op::Write { .. } => OpKind::Write,
            Op::Scan { .. } => OpKind::Scan,
            Op::ReadModifyWrite { .. } => OpKind::ReadModifyWrite,
        }
    }
}

/// The bytes of key number `i`: its decimal digits, zero-padded (readable with
/// `blobAsText(key)` in cqlsh; 10 bytes like cassandra-stress's default keys).
pub fn key_bytes(i: u64) -> [u8; KEY_DIGITS] {
    let mut out = [b'0'; KEY_DIGITS];
    let mut rest = i;
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    debug_assert_eq!(rest, 0, "key {i} does not fit in {KEY_DIGITS} digits");
    out
}

/// The operations of one run, shared by its workers (each brings its own RNG).
pub struct Plan {
    workload: Workload,
    key_count: u64,
    read_ratio: f64,
    zipfian: Zipfian,
    /// YCSB inserts so far: the next insert writes key `key_count + inserted`.
    inserted: AtomicU64,
    /// YCSB inserts finished, by insert number.
    acknowledged: Mutex<Acknowledged>,
}

/// Inserts `0..contiguous` are finished; `ahead` holds finished ones past a gap.
#[derive(Default)]
struct Acknowledged {
    contiguous: u64,
    ahead: BTreeSet<u64>,
}

impl Plan {
    /// `read_ratio` is `mixed`'s share of reads, in [0, 1].
    pub fn new(workload: Workload, key_count: u64, read_ratio: f64) -> Plan {
        assert!(key_count > 0 && key_count <= KEY_COUNT_MAX);
        assert!((0.0..=1.0).contains(&read_ratio));
        Plan {
            workload,
            key_count,
            read_ratio,
            zipfian: Zipfian::new(key_count),
            inserted: AtomicU64::new(0),
            acknowledged: Mutex::new(Acknowledged::default()),
        }
    }

    /// Tells the plan that `op` finished (successfully or not: a failed insert must
    /// not hold back every later one).
    pub fn finished(&self, op: Op) {
        let Op::Write { key } = op else { return };
        if self.workload == Workload::Write || key < self.key_count {
            return;
        }
        let insert = key - self.key_count;
        let mut acks = self.acknowledged.lock().unwrap_or_else(|e| e.into_inner());
        if insert != acks.contiguous {
            acks.ahead.insert(insert);
            return;
        }
        acks.contiguous += 1;
        loop {
            let next = acks.contiguous;
            if !acks.ahead.remove(&next) {
                break;
            }
            acks.contiguous += 1;
        }
    }

    /// The newest key every read may expect to exist.
    fn newest_key(&self) -> u64 {
        let acks = self.acknowledged.lock().unwrap_or_else(|e| e.into_inner());
        self.key_count + acks.contiguous - 1
    }

    /// The operation with sequence number `seq` (0, 1, … across all workers).
    pub fn next(&self, seq: u64, rng: &mut SmallRng) -> Op {
        let n = self.key_count;
        let coin: f64 = rng.random();
        match self.workload {
            Workload::Write => Op::Write { key: seq % n },
            Workload::Read => Op::Read {
                key: rng.random_range(0..n),
            },
            Workload::Mixed => {
                let key = rng.random_range(0..n);
                if coin < self.read_ratio {
                    Op::Read { key }
                } else {
                    Op::Write { key }
                }
            }
            Workload::YcsbA => self.read_or_update(coin, 0.5, rng),
            Workload::YcsbB => self.read_or_update(coin, 0.95, rng),
            Workload::YcsbC => Op::Read {
                key: self.zipfian.scrambled(rng),
            },
            Workload::YcsbD => {
                if coin < 0.95 {
                    let newest = self.newest_key();
                    let back = self.zipfian.rank(rng);
                    Op::Read {
                        key: newest.saturating_sub(back),
                    }
                } else {
                    self.insert()
                }
            }
            Workload::YcsbE => {
                if coin < 0.95 {
                    Op::Scan {
                        start: self.zipfian.scrambled(rng),
                        rows: rng.random_range(1..=SCAN_LENGTH_MAX),
                    }
                } else {
                    self.insert()
                }
            }
            Workload::YcsbF => {
                let key = self.zipfian.scrambled(rng);
                if coin < 0.5 {
                    Op::Read { key }
                } else {
                    Op::ReadModifyWrite { key }
                }
            }
        }
    }

    fn read_or_update(&self, coin: f64, read_share: f64, rng: &mut SmallRng) -> Op {
        let key = self.zipfian.scrambled(rng);
        if coin < read_share {
            Op::Read { key }
        } else {
            Op::Write { key }
        }
    }

    fn insert(&self) -> Op {
        let k = self.inserted.fetch_add(1, Ordering::Relaxed);
        Op::Write {
            key: self.key_count + k,
        }
    }
}

/// YCSB's `ZipfianGenerator` (Gray et al., "Quickly generating billion-record
/// synthetic databases", SIGMOD 1994) over ranks 0..n, rank 0 the most popular.
struct Zipfian {
    n: u64,
    zeta_n: f64,
    alpha: f64,
    eta: f64,
    /// 1 + 0.5^θ: below this `u·ζ(n)` picks rank 1.
    rank1_bound: f64,
}

impl Zipfian {
    fn new(n: u64) -> Zipfian {
        let theta = ZIPFIAN_THETA;
        let zeta_n = zeta(n, theta);
        let zeta_2 = zeta(2, theta);
        Zipfian {
            n,
            zeta_n,
            alpha: 1.0 / (1.0 - theta),
            eta: (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta_2 / zeta_n),
            rank1_bound: 1.0 + 0.5f64.powf(theta),
        }
    }

    fn rank(&self, rng: &mut SmallRng) -> u64 {
        let u: f64 = rng.random();
        let uz = u * self.zeta_n;
        let rank = if uz < 1.0 {
            0
        } else if uz < self.rank1_bound {
            1
        } else {
            (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64
        };
        rank.min(self.n - 1)
    }

    /// A rank hashed over 0..n (YCSB's `ScrambledZipfianGenerator`).
    fn scrambled(&self, rng: &mut SmallRng) -> u64 {
        fnv1a_64(self.rank(rng)) % self.n
    }
}

/// ζ(n, θ) = Σ_{i=1..n} 1/i^θ: exact up to [`ZETA_EXACT_TERMS`], then the integral of
/// the tail (midpoint rule, so the error is O(θ/m^{θ+1})).
fn zeta(n: u64, theta: f64) -> f64 {
    let exact = n.min(ZETA_EXACT_TERMS);
    let mut sum: f64 = (1..=exact).map(|i| 1.0 / (i as f64).powf(theta)).sum();
    if n > exact {
        let from = exact as f64 + 0.5;
        let to = n as f64 + 0.5;
        sum += (to.powf(1.0 - theta) - from.powf(1.0 - theta)) / (1.0 - theta);
    }
    sum
}

/// FNV-1a over the 8 little-endian bytes of `v` (YCSB's `Utils.fnvhash64`).
fn fnv1a_64(v: u64) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    v.to_le_bytes()
        .iter()
        .fold(OFFSET_BASIS, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn keys_are_zero_padded_decimal() {
        assert_eq!(&key_bytes(0), b"0000000000");
        assert_eq!(&key_bytes(42), b"0000000042");
        assert_eq!(&key_bytes(9_999_999_999), b"9999999999");
    }

    #[test]
    fn write_is_sequential_and_wraps() {
        let plan = Plan::new(Workload::Write, 3, 0.5);
        let mut rng = SmallRng::seed_from_u64(1);
        let keys: Vec<Op> = (0..4).map(|s| plan.next(s, &mut rng)).collect();
        assert_eq!(
            keys,
            [0, 1, 2, 0].map(|key| Op::Write { key }).to_vec(),
            "op i writes key i mod key-count"
        );
    }

    #[test]
    fn zipfian_favours_few_keys_and_stays_in_range() {
        let z = Zipfian::new(1000);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut hits = vec![0u32; 1000];
        for _ in 0..100_000 {
            let r = z.rank(&mut rng);
            hits[r as usize] += 1;
            assert!(z.scrambled(&mut rng) < 1000);
        }
        // θ = 0.99 over 1000 ranks: rank 0 takes ~13 %, the top 10 ~39 %.
        assert!(hits[0] > 10_000, "rank 0 drew {}", hits[0]);
        let top10: u32 = hits[..10].iter().sum();
        assert!(top10 > 33_000, "top 10 drew {top10}");
    }

    #[test]
    fn zeta_tail_integral_is_close_to_the_sum() {
        let exact: f64 = (1..=2_000_000u64)
            .map(|i| 1.0 / (i as f64).powf(ZIPFIAN_THETA))
            .sum();
        let approx = {
            let head: f64 = (1..=1_000u64)
                .map(|i| 1.0 / (i as f64).powf(ZIPFIAN_THETA))
                .sum();
            let (from, to) = (1_000.5f64, 2_000_000.5f64);
            head + (to.powf(1.0 - ZIPFIAN_THETA) - from.powf(1.0 - ZIPFIAN_THETA))
                / (1.0 - ZIPFIAN_THETA)
        };
        assert!((exact - approx).abs() / exact < 1e-6, "{exact} vs {approx}");
    }

    #[test]
    fn latest_follows_acknowledged_inserts_only() {
        let plan = Plan::new(Workload::YcsbD, 10, 0.5);
        let (first, second) = (plan.insert(), plan.insert());
        assert_eq!(
            (first, second),
            (Op::Write { key: 10 }, Op::Write { key: 11 })
        );
        assert_eq!(plan.newest_key(), 9);
        plan.finished(second);
        assert_eq!(plan.newest_key(), 9, "insert 10 is still in flight");
        plan.finished(first);
        assert_eq!(plan.newest_key(), 11);
    }

    #[test]
    fn ycsb_d_and_e_insert_past_the_loaded_keys() {
        let plan = Plan::new(Workload::YcsbE, 100, 0.5);
        let mut rng = SmallRng::seed_from_u64(3);
        let mut inserts = Vec::new();
        for seq in 0..2_000 {
            match plan.next(seq, &mut rng) {
                Op::Write { key } => inserts.push(key),
                Op::Scan { start, rows } => {
                    assert!(start < 100);
                    assert!((1..=SCAN_LENGTH_MAX).contains(&rows));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let expected: Vec<u64> = (100..100 + inserts.len() as u64).collect();
        assert_eq!(inserts, expected, "inserts take fresh keys in order");
        assert!(inserts.len() > 50 && inserts.len() < 200, "≈5 %");
    }
}
