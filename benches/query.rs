//! Query-layer overhead: a prepared INSERT and a prepared SELECT by key through the
//! QueryProcessor, against the raw storage operation each becomes, in one run.
//!
//! Two identical tables `bench.raw` and `bench.cql (k blob PRIMARY KEY, v blob)`;
//! N (default 200,000; `SIBYL_BENCH_N`) random 16-byte keys with 100-byte values.
//! Raw: the same Mutation the INSERT produces (row marker + one cell), applied with
//! `Table::apply`; reads with `Table::read` + `retain_live`. CQL: `execute` of the
//! prepared statement with bound values (parsing happens once, at PREPARE). Prints
//! ns/op for each and `insert_overhead=<x%> select_overhead=<y%>` (target ≤ 30 %).
//! Raw and CQL work alternate in [`ROUNDS`] chunks so load changes on a shared machine
//! hit both alike.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sibyl::clock::SystemClock;
use sibyl::query::{QueryOptions, QueryProcessor, ResultMessage, Session};
use sibyl::schema::SchemaManager;
use sibyl_storage::{
    Cell, DecoratedKey, LivenessInfo, Mutation, ReadCommand, Row, Storage, StorageConfig,
};

/// Alternations of raw and CQL work (see below).
const ROUNDS: usize = 10;

fn main() {
    let n: usize = std::env::var("SIBYL_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("tmp");
    let (storage, _) = Storage::open(StorageConfig::new(dir.path().join("node"))).expect("storage");
    let storage = Arc::new(storage);
    let schema =
        Arc::new(SchemaManager::open(storage.clone(), &dir.path().join("schema")).expect("schema"));
    let qp = QueryProcessor::new(storage.clone(), schema.clone(), Arc::new(SystemClock));
    let mut session = Session::default();
    let none = QueryOptions::default();
    for ddl in [
        "CREATE KEYSPACE bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE bench.raw (k blob PRIMARY KEY, v blob)",
        "CREATE TABLE bench.cql (k blob PRIMARY KEY, v blob)",
    ] {
        qp.execute_text(ddl, &none, &mut session).expect("ddl");
    }
    let raw_meta = schema.table("bench", "raw").expect("raw table");
    let v_id = raw_meta.column("v").expect("v").id;
    let raw = storage.table(raw_meta.storage_id()).expect("storage table");
    let mut rng = StdRng::seed_from_u64(1);
    let keys: Vec<[u8; 16]> = (0..n).map(|_| rng.random()).collect();
    let value = vec![7u8; 100];

    let insert = qp
        .prepare("INSERT INTO bench.cql (k, v) VALUES (?, ?)", None)
        .expect("prepare insert");
    let select = qp
        .prepare("SELECT v FROM bench.cql WHERE k = ?", None)
        .expect("prepare select");
    // The machine is shared and noisy: raw and CQL alternate in ROUNDS chunks so both
    // see the same conditions, and the totals are compared.
    let chunk = n.div_ceil(ROUNDS);
    let (mut raw_insert, mut cql_insert) = (Duration::ZERO, Duration::ZERO);
    for (round, ks) in keys.chunks(chunk).enumerate() {
        // Raw storage writes: what the INSERT turns into.
        let start = Instant::now();
        for (i, k) in ks.iter().enumerate() {
            let ts = 1_700_000_000_000_000 + (round * chunk + i) as i64;
            let mut m = Mutation::new(
                raw_meta.storage_id(),
                DecoratedKey::new(Bytes::copy_from_slice(k)),
            );
            let mut r = Row::new(Bytes::new());
            r.liveness = LivenessInfo::new(ts, 0, 0);
            r.add_cell(Cell::live(v_id, ts, Bytes::copy_from_slice(&value)));
            m.update.rows.push(r);
            raw.apply(&m).expect("raw write");
        }
        raw_insert += start.elapsed();
        let start = Instant::now();
        for k in ks {
            let opts = QueryOptions {
                values: vec![Some(k.to_vec()), Some(value.clone())],
                unset: vec![false, false],
                ..QueryOptions::default()
            };
            qp.execute(&insert, &opts, &mut session)
                .expect("cql insert");
        }
        cql_insert += start.elapsed();
    }

    let now = sibyl_storage::table::now_seconds();
    let (mut raw_select, mut cql_select) = (Duration::ZERO, Duration::ZERO);
    for ks in keys.chunks(chunk) {
        let start = Instant::now();
        for k in ks {
            let mut p = raw
                .read(
                    &DecoratedKey::new(Bytes::copy_from_slice(k)),
                    &ReadCommand::all(now),
                )
                .expect("raw read")
                .expect("found");
            p.retain_live(now);
            assert_eq!(p.rows.len(), 1);
        }
        raw_select += start.elapsed();
        let start = Instant::now();
        for k in ks {
            let opts = QueryOptions {
                values: vec![Some(k.to_vec())],
                unset: vec![false],
                ..QueryOptions::default()
            };
            match qp
                .execute(&select, &opts, &mut session)
                .expect("cql select")
            {
                ResultMessage::Rows(r) => assert_eq!(r.rows.len(), 1),
                other => panic!("unexpected {other:?}"),
            }
        }
        cql_select += start.elapsed();
    }

    let per = |d: std::time::Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "query bench: {n} ops each, random 16-byte blob keys, 100-byte values, memtable-resident"
    );
    println!(
        "insert: raw storage {:.0} ns/op, prepared CQL {:.0} ns/op",
        per(raw_insert),
        per(cql_insert)
    );
    println!(
        "select: raw storage {:.0} ns/op, prepared CQL {:.0} ns/op",
        per(raw_select),
        per(cql_select)
    );
    let io = (per(cql_insert) - per(raw_insert)) / per(raw_insert) * 100.0;
    let so = (per(cql_select) - per(raw_select)) / per(raw_select) * 100.0;
    println!("insert_overhead={io:.0}% select_overhead={so:.0}%");
}
