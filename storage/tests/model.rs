//! Model test: the storage engine against a plain `BTreeMap` under random operations.
//!
//! Each seed runs random cell writes (some with TTLs, some already expired), cell
//! deletes, row deletes, clustering-range deletes and partition deletes with random
//! (unique) timestamps, interleaved with flushes, major and size-tiered compactions
//! and close/reopen (commitlog replay). After every batch of operations every
//! partition is read and compared with the model. Half the seeds use
//! `gc_grace_seconds = 0`, so compaction really purges tombstones and must not
//! resurrect shadowed data. The seed is printed in every failure message; set
//! `SIBYL_SEED` to replay one seed.

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use common::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::compaction::CompactionOptions;
use sibyl_storage::{
    Cell, ClusteringBound, ClusteringSlice, DeletionTime, Mutation, RangeTombstone, ReadCommand,
    Row, Storage, TableOptions,
};

const KEYS: usize = 6;
const CLUSTERINGS: u8 = 12;
const COLUMNS: u32 = 3;
const OPS_PER_SEED: usize = 400;
const SEEDS: u64 = 24;

/// A cell's winning version: its timestamp and value (None for a tombstone or expired cell).
type Version = (i64, Option<Vec<u8>>);

#[derive(Default)]
struct Model {
    /// (key, clustering, column) -> (timestamp, value or None for tombstone/expired)
    cells: BTreeMap<(usize, u8, u32), Version>,
    row_del: BTreeMap<(usize, u8), i64>,
    range_del: Vec<(usize, u8, u8, i64)>,
    part_del: BTreeMap<usize, i64>,
}

impl Model {
    fn write(&mut self, k: usize, c: u8, col: u32, ts: i64, v: Option<Vec<u8>>) {
        let e = self.cells.entry((k, c, col)).or_insert((i64::MIN, None));
        if ts > e.0 {
            *e = (ts, v);
        }
    }

    fn deleted_at(&self, k: usize, c: u8) -> i64 {
        let mut d = self.part_del.get(&k).copied().unwrap_or(i64::MIN);
        d = d.max(self.row_del.get(&(k, c)).copied().unwrap_or(i64::MIN));
        for &(rk, a, b, ts) in &self.range_del {
            if rk == k && a <= c && c <= b {
                d = d.max(ts);
            }
        }
        d
    }

    /// Visible (clustering, column, value) of partition k.
    fn visible(&self, k: usize) -> Vec<(u8, u32, Vec<u8>)> {
        let mut out = Vec::new();
        for (&(ck, c, col), (ts, v)) in self.cells.range((k, 0, 0)..(k + 1, 0, 0)) {
            debug_assert_eq!(ck, k);
            if let Some(v) = v {
                if *ts > self.deleted_at(k, c) {
                    out.push((c, col, v.clone()));
                }
            }
        }
        out
    }
}

fn pkey(k: usize) -> String {
    format!("key-{k}")
}

fn engine_visible(s: &Storage, k: usize, now: i64) -> Vec<(u8, u32, Vec<u8>)> {
    let t = s.table(T).expect("table");
    let cmd = ReadCommand::all(now);
    let Some(mut p) = t.read(&key(&pkey(k)), &cmd).expect("read") else {
        return Vec::new();
    };
    p.retain_live(now);
    let mut out = Vec::new();
    for r in &p.rows {
        for c in &r.cells {
            out.push((
                r.clustering[0],
                c.column,
                c.value_bytes().map(|b| b.to_vec()).unwrap_or_default(),
            ));
        }
    }
    out
}

fn run_seed(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tmp");
    let gc0 = seed.is_multiple_of(2);
    let opts = TableOptions {
        gc_grace_seconds: if gc0 { 0 } else { 864_000 },
        compaction: CompactionOptions {
            min_threshold: 2,
            ..CompactionOptions::default()
        },
        ..TableOptions::default()
    };
    let open = || {
        Storage::open(config(dir.path(), SyncMode::periodic()))
            .expect("open")
            .0
    };
    let mut s = open();
    s.create_table(T, "model.t", opts).expect("create");
    let mut model = Model::default();
    // Unique timestamps: reconciliation by timestamp, no ties. In random order when
    // tombstones are kept; increasing when gc grace is 0, because once a tombstone is
    // purged a later write with an older timestamp is rightly visible again (as in
    // Cassandra), which the model does not describe.
    let mut stamps: Vec<i64> = (1..=(OPS_PER_SEED as i64 * 4)).map(|t| t * 10).collect();
    if !gc0 {
        stamps.shuffle(&mut rng);
    }
    let mut stamps = stamps.into_iter();
    let now = now();
    // Deletions happened "1000 s ago", so with gc grace 0 compaction may purge them at once.
    let deleted_at = now - 1000;
    for op in 0..OPS_PER_SEED {
        let k = rng.random_range(0..KEYS);
        let c = rng.random_range(0..CLUSTERINGS);
        let col = rng.random_range(1..=COLUMNS);
        let ts = stamps.next().expect("stamp");
        let mut m = Mutation::new(T, key(&pkey(k)));
        let what = rng.random_range(0..100);
        let cl = Bytes::copy_from_slice(&[c]);
        match what {
            0..=54 => {
                let v = format!("v{op}").into_bytes();
                let mut r = Row::new(cl);
                r.add_cell(Cell::live(col, ts, v.clone()));
                m.update.add_row(r);
                model.write(k, c, col, ts, Some(v));
            }
            55..=64 => {
                // TTL: either long-lived or already expired (written 100 s ago with ttl 10).
                let v = format!("t{op}").into_bytes();
                let expired = rng.random_bool(0.5);
                let (ttl, written) = if expired {
                    (10, now - 100)
                } else {
                    (100_000, now)
                };
                let mut r = Row::new(cl);
                r.add_cell(Cell::expiring(col, ts, v.clone(), ttl, written));
                m.update.add_row(r);
                model.write(k, c, col, ts, if expired { None } else { Some(v) });
            }
            65..=74 => {
                let mut r = Row::new(cl);
                r.add_cell(Cell::tombstone(col, ts, deleted_at));
                m.update.add_row(r);
                model.write(k, c, col, ts, None);
            }
            75..=84 => {
                let mut r = Row::new(cl);
                r.deletion = DeletionTime::new(ts, deleted_at);
                m.update.add_row(r);
                let e = model.row_del.entry((k, c)).or_insert(i64::MIN);
                *e = (*e).max(ts);
            }
            85..=93 => {
                let b = rng.random_range(c..CLUSTERINGS);
                m.update.range_tombstones.push(RangeTombstone {
                    slice: ClusteringSlice {
                        start: ClusteringBound::Before(cl),
                        end: ClusteringBound::After(Bytes::copy_from_slice(&[b])),
                    },
                    deletion: DeletionTime::new(ts, deleted_at),
                });
                model.range_del.push((k, c, b, ts));
            }
            _ => {
                m.update.deletion = DeletionTime::new(ts, deleted_at);
                let e = model.part_del.entry(k).or_insert(i64::MIN);
                *e = (*e).max(ts);
            }
        }
        s.apply(&m)
            .unwrap_or_else(|e| panic!("seed {seed} op {op}: apply failed: {e}"));
        match rng.random_range(0..100) {
            0..=5 => {
                s.table(T)
                    .expect("t")
                    .flush()
                    .unwrap_or_else(|e| panic!("seed {seed}: flush: {e}"));
            }
            6 => {
                let t = s.table(T).expect("t");
                t.flush().expect("flush");
                t.compact_major()
                    .unwrap_or_else(|e| panic!("seed {seed}: major compaction: {e}"));
            }
            7..=8 => {
                let t = s.table(T).expect("t");
                while t
                    .maybe_compact()
                    .unwrap_or_else(|e| panic!("seed {seed}: compaction: {e}"))
                {}
            }
            9..=11 => {
                // A random subset: tombstones may only be purged if nothing outside it
                // (other sstables, memtable) holds data they shadow.
                let t = s.table(T).expect("t");
                let mut gens = t.sstable_generations();
                gens.shuffle(&mut rng);
                gens.truncate(rng.random_range(1..=gens.len().max(1)));
                if !gens.is_empty() {
                    t.compact_user_defined(&gens)
                        .unwrap_or_else(|e| panic!("seed {seed}: compaction of {gens:?}: {e}"));
                }
            }
            12 => {
                drop(s);
                s = open();
            }
            _ => {}
        }
        if op % 50 == 49 || op + 1 == OPS_PER_SEED {
            for k in 0..KEYS {
                assert_eq!(
                    engine_visible(&s, k, now),
                    model.visible(k),
                    "seed {seed} (gc_grace 0: {gc0}), after op {op}, partition {k}"
                );
            }
        }
    }
    // A final reopen and major compaction must not change anything.
    drop(s);
    let s = open();
    let t = s.table(T).expect("t");
    t.flush().expect("flush");
    t.compact_major().expect("compact");
    for k in 0..KEYS {
        assert_eq!(
            engine_visible(&s, k, now),
            model.visible(k),
            "seed {seed}: after reopen + major compaction, partition {k}"
        );
    }
}

#[test]
fn storage_matches_btreemap_model() {
    let seeds: Vec<u64> = match std::env::var("SIBYL_SEED") {
        Ok(s) => vec![s.parse().expect("SIBYL_SEED must be an integer")],
        Err(_) => (1..=SEEDS).collect(),
    };
    for seed in seeds {
        eprintln!("model seed {seed}");
        run_seed(seed);
    }
}
