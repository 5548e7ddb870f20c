//! Query layer tests: CQL text through QueryProcessor over a real SchemaManager and
//! storage engine, checking results, paging, LWT, batches and Cassandra's errors.

use std::collections::BTreeSet;
use std::sync::Arc;

use sibyl::clock::ManualClock;
use sibyl::error::CqlError;
use sibyl::query::{QueryOptions, QueryProcessor, ResultMessage, Rows, Session};
use sibyl::schema::SchemaManager;
use sibyl_cql::types::{deserialize, format_cqlsh, serialize, CqlType, CqlValue};
use sibyl_storage::{Storage, StorageConfig};

const START_MICROS: i64 = 1_700_000_000_000_000;

struct Node {
    qp: QueryProcessor,
    clock: Arc<ManualClock>,
    session: Session,
    _dir: tempfile::TempDir,
}

fn node() -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = StorageConfig::new(dir.path().join("storage"));
    cfg.background = false;
    let (storage, _) = Storage::open(cfg).expect("storage");
    let storage = Arc::new(storage);
    let clock = ManualClock::new(START_MICROS);
    let schema = Arc::new(
        SchemaManager::open_with_clock(storage.clone(), &dir.path().join("schema"), clock.clone())
            .expect("schema"),
    );
    let qp = QueryProcessor::new(storage, schema, clock.clone());
    let mut n = Node {
        qp,
        clock,
        session: Session::default(),
        _dir: dir,
    };
    n.ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    n.ok("USE ks");
    n
}

impl Node {
    fn exec_opts(&mut self, cql: &str, o: &QueryOptions) -> Result<ResultMessage, CqlError> {
        self.qp.execute_text(cql, o, &mut self.session)
    }
    fn exec(&mut self, cql: &str) -> Result<ResultMessage, CqlError> {
        self.exec_opts(cql, &QueryOptions::default())
    }
    fn ok(&mut self, cql: &str) -> ResultMessage {
        self.exec(cql).unwrap_or_else(|e| panic!("{cql}: {e}"))
    }
    fn err(&mut self, cql: &str) -> CqlError {
        match self.exec(cql) {
            Ok(r) => panic!("{cql} succeeded: {r:?}"),
            Err(e) => e,
        }
    }
    fn rows_of(r: ResultMessage) -> Rows {
        match r {
            ResultMessage::Rows(r) => r,
            other => panic!("not rows: {other:?}"),
        }
    }
    /// Rows as cqlsh would print them.
    fn q(&mut self, cql: &str) -> Vec<Vec<String>> {
        let r = Self::rows_of(self.ok(cql));
        show(&r)
    }
}

fn show(r: &Rows) -> Vec<Vec<String>> {
    r.rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&r.columns)
                .map(|(v, c)| match v {
                    None => "null".to_string(),
                    Some(b) => {
                        format_cqlsh(&deserialize(b, &c.cql_type).expect("decode"), &c.cql_type)
                    }
                })
                .collect()
        })
        .collect()
}

fn s(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|x| x.to_string()).collect())
        .collect()
}

#[test]
fn every_type_round_trips_through_insert_and_select() {
    // Checks a literal of every native type (and collections, tuples, UDTs) is stored
    // and read back as cqlsh would print it.
    let mut n = node();
    n.ok("CREATE TYPE addr (street text, num int)");
    n.ok("CREATE TABLE all_types (k int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date, de decimal, \
          do double, du duration, f float, i inet, sm smallint, t text, ti time, ts timestamp, tu timeuuid, \
          tn tinyint, u uuid, vi varint, l list<int>, st set<text>, m map<text, int>, tp tuple<int, text>, \
          ad addr, fl frozen<list<int>>)");
    n.ok("INSERT INTO all_types (k, a, b, bl, bo, d, de, do, du, f, i, sm, t, ti, ts, tu, tn, u, vi, l, st, m, tp, ad, fl) \
          VALUES (1, 'asc', 9000000000, 0xcafe, true, '2024-02-29', 1.50, 2.5, 1h30m, 1.25, '127.0.0.1', 7, 'txt', \
          '12:34:56', '2024-01-02 03:04:05+0000', 50554d6e-29bb-11e5-b345-feff819cdc9f, 3, \
          123e4567-e89b-12d3-a456-426614174000, 123456789012345678901234567890, [3, 1, 3], {'b', 'a', 'b'}, \
          {'x': 1, 'y': 2}, (1, 'one'), {street: 'Main', num: 5}, [9, 8])");
    let rows = n.q("SELECT a, b, bl, bo, d, de, do, f, i, sm, t, tn, u, vi, l, st, m, tp, ad, fl FROM all_types WHERE k = 1");
    assert_eq!(
        rows,
        s(&[&[
            "asc",
            "9000000000",
            "0xcafe",
            "True",
            "2024-02-29",
            "1.50",
            "2.5",
            "1.25",
            "127.0.0.1",
            "7",
            "txt",
            "3",
            "123e4567-e89b-12d3-a456-426614174000",
            "123456789012345678901234567890",
            "[3, 1, 3]",
            "{'a', 'b'}",
            "{'x': 1, 'y': 2}",
            "(1, 'one')",
            "{street: 'Main', num: 5}",
            "[9, 8]"
        ]])
    );
}

#[test]
fn collection_operations_append_prepend_remove_and_set_elements() {
    // Checks list append/prepend/index set/removal, set add/remove, map put/remove,
    // UDT field set and whole-collection overwrite.
    let mut n = node();
    n.ok("CREATE TYPE pt (x int, y int)");
    n.ok("CREATE TABLE c (k int PRIMARY KEY, l list<int>, s set<int>, m map<text, int>, p pt)");
    n.ok("INSERT INTO c (k, l, s, m, p) VALUES (1, [1, 2], {1}, {'a': 1}, {x: 1, y: 2})");
    n.ok("UPDATE c SET l = l + [3], s = s + {2, 3}, m['b'] = 2, p.y = 20 WHERE k = 1");
    n.ok("UPDATE c SET l = [0] + l WHERE k = 1");
    n.ok("UPDATE c SET l = [-2, -1] + l WHERE k = 1");
    assert_eq!(
        n.q("SELECT l FROM c WHERE k = 1"),
        s(&[&["[-2, -1, 0, 1, 2, 3]"]])
    );
    n.ok("UPDATE c SET l[1] = 100, s = s - {1}, m = m - {'a'} WHERE k = 1");
    n.ok("UPDATE c SET l = l - [0, 3] WHERE k = 1");
    assert_eq!(
        n.q("SELECT l, s, m, p FROM c WHERE k = 1"),
        s(&[&["[-2, 100, 1, 2]", "{2, 3}", "{'b': 2}", "{x: 1, y: 20}"]])
    );
    n.ok("DELETE l[0], m['b'] FROM c WHERE k = 1");
    n.ok("UPDATE c SET s = {7} WHERE k = 1");
    assert_eq!(
        n.q("SELECT l, s, m FROM c WHERE k = 1"),
        s(&[&["[100, 1, 2]", "{7}", "null"]])
    );
    let e = n.err("UPDATE c SET l[10] = 1 WHERE k = 1");
    assert_eq!(e.to_string(), "List index 10 out of bound, list has size 3");
}

#[test]
fn deletes_of_cells_rows_ranges_and_partitions() {
    // Checks DELETE of a column, a row, a clustering range (range tombstone) and a
    // whole partition.
    let mut n = node();
    n.ok("CREATE TABLE d (k int, c int, v int, PRIMARY KEY (k, c))");
    for c in 0..6 {
        n.ok(&format!("INSERT INTO d (k, c, v) VALUES (1, {c}, {c})"));
        n.ok(&format!("INSERT INTO d (k, c, v) VALUES (2, {c}, {c})"));
    }
    n.ok("DELETE v FROM d WHERE k = 1 AND c = 0");
    n.ok("DELETE FROM d WHERE k = 1 AND c = 1");
    n.ok("DELETE FROM d WHERE k = 1 AND c >= 3 AND c < 5");
    assert_eq!(
        n.q("SELECT c, v FROM d WHERE k = 1"),
        s(&[&["0", "null"], &["2", "2"], &["5", "5"]])
    );
    n.ok("DELETE FROM d WHERE k = 2");
    assert!(n.q("SELECT * FROM d WHERE k = 2").is_empty());
}

#[test]
fn ttl_expires_with_the_manual_clock_and_ttl_writetime_show() {
    // Checks USING TTL/TIMESTAMP, ttl() and writetime() selectors, and that data
    // disappears once the clock passes the TTL (the row marker too).
    let mut n = node();
    n.ok("CREATE TABLE t (k int PRIMARY KEY, v int, w int)");
    n.ok("INSERT INTO t (k, v) VALUES (1, 1) USING TTL 100 AND TIMESTAMP 42");
    n.ok("UPDATE t USING TTL 1000 SET w = 5 WHERE k = 1");
    assert_eq!(
        n.q("SELECT ttl(v), writetime(v), ttl(w) FROM t WHERE k = 1"),
        s(&[&["100", "42", "1000"]])
    );
    n.clock.advance_seconds(101);
    assert_eq!(n.q("SELECT k, v, w FROM t"), s(&[&["1", "null", "5"]]));
    n.clock.advance_seconds(1000);
    assert!(n.q("SELECT * FROM t").is_empty());
}

#[test]
fn static_columns_clustering_order_and_order_by() {
    // Checks static columns are shared by a partition (and shown for a partition with
    // no rows), DESC clustering order, ORDER BY reversal, slices and IN.
    let mut n = node();
    n.ok("CREATE TABLE ev (k int, c int, s text static, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)");
    for c in 1..=4 {
        n.ok(&format!("INSERT INTO ev (k, c, v) VALUES (1, {c}, {c})"));
    }
    n.ok("UPDATE ev SET s = 'st' WHERE k = 1");
    n.ok("INSERT INTO ev (k, s) VALUES (2, 'only')");
    assert_eq!(
        n.q("SELECT c, s FROM ev WHERE k = 1"),
        s(&[&["4", "st"], &["3", "st"], &["2", "st"], &["1", "st"]])
    );
    assert_eq!(
        n.q("SELECT c FROM ev WHERE k = 1 ORDER BY c ASC"),
        s(&[&["1"], &["2"], &["3"], &["4"]])
    );
    assert_eq!(
        n.q("SELECT c FROM ev WHERE k = 1 AND c > 1 AND c <= 3"),
        s(&[&["3"], &["2"]])
    );
    assert_eq!(
        n.q("SELECT c FROM ev WHERE k = 1 AND c IN (1, 4)"),
        s(&[&["4"], &["1"]])
    );
    assert_eq!(
        n.q("SELECT k, c, s, v FROM ev WHERE k = 2"),
        s(&[&["2", "null", "only", "null"]])
    );
}

#[test]
fn multi_column_relations_and_partition_in() {
    // Checks (a, b) > (x, y) slices on two clustering columns and IN on the key.
    let mut n = node();
    n.ok("CREATE TABLE mc (k int, a int, b int, PRIMARY KEY (k, a, b))");
    for k in 0..3 {
        for a in 0..3 {
            for b in 0..3 {
                n.ok(&format!("INSERT INTO mc (k, a, b) VALUES ({k}, {a}, {b})"));
            }
        }
    }
    let r = n.q("SELECT a, b FROM mc WHERE k = 0 AND (a, b) > (1, 1) AND (a, b) <= (2, 1)");
    assert_eq!(r, s(&[&["1", "2"], &["2", "0"], &["2", "1"]]));
    let r = n.q("SELECT k FROM mc WHERE k IN (2, 0) AND a = 1 AND b = 1");
    let keys: BTreeSet<String> = r.into_iter().map(|x| x[0].clone()).collect();
    assert_eq!(keys, ["0", "2"].iter().map(|x| x.to_string()).collect());
}

fn page_all(n: &mut Node, cql: &str, page: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut state = None;
    for _ in 0..10_000 {
        let o = QueryOptions {
            page_size: Some(page),
            paging_state: state.take(),
            ..QueryOptions::default()
        };
        let r = Node::rows_of(n.exec_opts(cql, &o).expect("page"));
        assert!(r.rows.len() <= page);
        out.extend(show(&r));
        match r.paging_state {
            Some(p) => state = Some(p),
            None => return out,
        }
    }
    panic!("paging did not finish");
}

#[test]
fn paging_over_many_partitions_and_one_wide_partition() {
    // Checks paging with several page sizes returns every row exactly once, in the
    // same order as an unpaged query, across partitions and inside a wide partition.
    let mut n = node();
    n.ok("CREATE TABLE p (k int, c int, v int, PRIMARY KEY (k, c))");
    for k in 0..40 {
        for c in 0..3 {
            n.ok(&format!("INSERT INTO p (k, c, v) VALUES ({k}, {c}, 1)"));
        }
    }
    for c in 0..700 {
        n.ok(&format!("INSERT INTO p (k, c, v) VALUES (1000, {c}, 2)"));
    }
    let all = n.q("SELECT k, c FROM p");
    assert_eq!(all.len(), 120 + 700);
    for page in [1, 7, 100, 1000] {
        assert_eq!(
            page_all(&mut n, "SELECT k, c FROM p", page),
            all,
            "page size {page}"
        );
    }
    let wide = n.q("SELECT c FROM p WHERE k = 1000 ORDER BY c DESC");
    assert_eq!(wide.len(), 700);
    assert_eq!(
        page_all(&mut n, "SELECT c FROM p WHERE k = 1000 ORDER BY c DESC", 33),
        wide
    );
    assert_eq!(page_all(&mut n, "SELECT k, c FROM p LIMIT 50", 7).len(), 50);
    assert_eq!(n.q("SELECT k, c FROM p PER PARTITION LIMIT 1").len(), 41);
}

#[test]
fn lightweight_transactions_report_applied() {
    // Checks IF NOT EXISTS, IF EXISTS and IF v = x return [applied] and, when not
    // applied, the current values.
    let mut n = node();
    n.ok("CREATE TABLE l (k int PRIMARY KEY, v int)");
    assert_eq!(
        n.q("INSERT INTO l (k, v) VALUES (1, 1) IF NOT EXISTS"),
        s(&[&["True"]])
    );
    assert_eq!(
        n.q("INSERT INTO l (k, v) VALUES (1, 2) IF NOT EXISTS"),
        s(&[&["False", "1", "1"]])
    );
    assert_eq!(
        n.q("UPDATE l SET v = 3 WHERE k = 1 IF v = 2"),
        s(&[&["False", "1"]])
    );
    assert_eq!(
        n.q("UPDATE l SET v = 3 WHERE k = 1 IF v = 1"),
        s(&[&["True"]])
    );
    assert_eq!(
        n.q("UPDATE l SET v = 3 WHERE k = 2 IF EXISTS"),
        s(&[&["False"]])
    );
    assert_eq!(n.q("DELETE FROM l WHERE k = 1 IF EXISTS"), s(&[&["True"]]));
    assert!(n.q("SELECT * FROM l").is_empty());
}

#[test]
fn batches_apply_with_one_timestamp() {
    // Checks a logged batch writes every statement with the same timestamp, and an
    // empty batch is accepted.
    let mut n = node();
    n.ok("CREATE TABLE b (k int, c int, v int, PRIMARY KEY (k, c))");
    n.ok("BEGIN BATCH INSERT INTO b (k, c, v) VALUES (1, 1, 1); INSERT INTO b (k, c, v) VALUES (1, 2, 2); \
          UPDATE b SET v = 3 WHERE k = 2 AND c = 1; APPLY BATCH");
    let r = n.q("SELECT writetime(v) FROM b");
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|x| x == &r[0]));
    n.ok("BEGIN BATCH APPLY BATCH");
    assert_eq!(
        n.q("BEGIN BATCH INSERT INTO b (k, c, v) VALUES (3, 1, 1) IF NOT EXISTS; APPLY BATCH"),
        s(&[&["True"]])
    );
}

#[test]
fn aggregates_token_and_cast() {
    // Checks count/min/max/sum/avg, token(), CAST and aliases.
    let mut n = node();
    n.ok("CREATE TABLE a (k int, c int, v int, d double, PRIMARY KEY (k, c))");
    for c in 1..=4 {
        n.ok(&format!(
            "INSERT INTO a (k, c, v, d) VALUES (1, {c}, {c}, {c}.5)"
        ));
    }
    assert_eq!(
        n.q("SELECT count(*), min(v), max(v), sum(v), avg(v), sum(d) FROM a WHERE k = 1"),
        s(&[&["4", "1", "4", "10", "2", "12"]])
    );
    assert_eq!(n.q("SELECT count(1) AS n FROM a"), s(&[&["4"]]));
    let r = Node::rows_of(n.ok("SELECT token(k), CAST(v AS text) FROM a WHERE k = 1 LIMIT 1"));
    assert_eq!(r.columns[0].name, "system.token(k)");
    assert_eq!(show(&r)[0][0], "-4069959284402364209");
    assert_eq!(show(&r)[0][1], "1");
    assert_eq!(
        n.q("SELECT k FROM a WHERE token(k) > -4069959284402364209"),
        Vec::<Vec<String>>::new()
    );
}

#[test]
fn errors_carry_cassandras_codes_and_messages() {
    // Checks the messages and codes drivers and people see for common mistakes.
    let mut n = node();
    n.ok("CREATE TABLE e (k int, c int, v text, PRIMARY KEY (k, c))");
    let e = n.err("SELECT * FROM e WHERE v = 'x'");
    assert_eq!(e.code(), 0x2200);
    assert!(e
        .to_string()
        .starts_with("Cannot execute this query as it might involve data filtering"));
    assert_eq!(
        n.err("INSERT INTO e (c, v) VALUES (1, 'x')").to_string(),
        "Some partition key parts are missing: k"
    );
    assert_eq!(
        n.err("INSERT INTO e (k, c, v) VALUES (1, 1, 5)")
            .to_string(),
        "Invalid INTEGER constant (5) for \"v\" of type text"
    );
    assert_eq!(
        n.err("SELECT nope FROM e").to_string(),
        "Undefined column name nope in table ks.e"
    );
    assert_eq!(n.err("SELECT * FROM nope").code(), 0x2200);
    assert_eq!(n.err("SELEC * FROM e").code(), 0x2000);
    let p =
        n.qp.prepare("SELECT * FROM e WHERE k = ? AND c = ?", Some("ks"))
            .expect("prepare");
    assert_eq!(p.bind_specs.len(), 2);
    assert_eq!(p.bind_specs[1].name, "c");
    let o = QueryOptions {
        values: vec![Some(
            serialize(&CqlValue::Int(1), &CqlType::Int).expect("int"),
        )],
        ..QueryOptions::default()
    };
    let e = n.qp.execute(&p, &o, &mut n.session).expect_err("count");
    assert_eq!(
        e.to_string(),
        "There were 2 markers(?) in CQL but 1 bound variables"
    );
    n.ok("INSERT INTO e (k, c, v) VALUES (1, 1, 'a')");
    assert_eq!(
        n.q("SELECT v FROM e WHERE v = 'a' ALLOW FILTERING"),
        s(&[&["a"]])
    );
}

#[test]
fn bound_values_null_and_unset() {
    // Checks prepared execution with bound values, a null deleting a column and an
    // UNSET leaving it untouched.
    let mut n = node();
    n.ok("CREATE TABLE bv (k int PRIMARY KEY, a int, b int)");
    let p =
        n.qp.prepare("INSERT INTO bv (k, a, b) VALUES (?, ?, ?)", Some("ks"))
            .expect("prepare");
    let int = |x: i32| Some(serialize(&CqlValue::Int(x), &CqlType::Int).expect("int"));
    let o = QueryOptions {
        values: vec![int(1), int(2), int(3)],
        ..QueryOptions::default()
    };
    n.qp.execute(&p, &o, &mut n.session).expect("insert");
    let o = QueryOptions {
        values: vec![int(1), None, None],
        unset: vec![false, false, true],
        ..QueryOptions::default()
    };
    n.qp.execute(&p, &o, &mut n.session).expect("insert");
    assert_eq!(n.q("SELECT a, b FROM bv WHERE k = 1"), s(&[&["null", "3"]]));
}

// A read scanning more than tombstone_warn_threshold tombstones carries Cassandra's
// client warning; one under the threshold carries none.
#[test]
fn reads_over_many_tombstones_warn_the_client() {
    let mut n = node();
    n.ok("CREATE TABLE tomb (k int, c int, v int, PRIMARY KEY (k, c))");
    for c in 0..1100 {
        n.ok(&format!("INSERT INTO tomb (k, c, v) VALUES (1, {c}, {c})"));
        if c >= 5 {
            n.ok(&format!("DELETE v FROM tomb WHERE k = 1 AND c = {c}"));
        }
    }
    n.ok("INSERT INTO tomb (k, c, v) VALUES (2, 0, 0)");
    let ResultMessage::Rows(r) = n.ok("SELECT v FROM tomb WHERE k = 1") else {
        panic!("not rows");
    };
    // Rows whose only regular cell is deleted stay live through their row marker.
    assert_eq!(r.rows.len(), 1100);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(
        w.starts_with("Read 1100 live rows and 1095 tombstone cells for query SELECT * FROM ks.tomb WHERE k = 1; token "),
        "{w}"
    );
    assert!(w.ends_with(" (see tombstone_warn_threshold)"), "{w}");
    let ResultMessage::Rows(r) = n.ok("SELECT v FROM tomb WHERE k = 2") else {
        panic!("not rows");
    };
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

// The fast paths for prepared key-value INSERT and SELECT (src/query/fast.rs) give the
// same stored data, rows and errors as the general executor: the same random writes
// (with nulls, unset values and clustering) go through each into twin tables and are
// read back through each; shapes the fast path does not cover are not planned.
#[test]
fn fast_paths_answer_like_the_general_executor() {
    use rand::{Rng, SeedableRng};
    let mut n = node();
    for t in ["ff", "gg"] {
        n.ok(&format!(
            "CREATE TABLE {t} (k text, c int, v blob, w bigint, u uuid, PRIMARY KEY (k, c)) WITH default_time_to_live = 1000"
        ));
    }
    let prep = |n: &Node, q: &str| n.qp.prepare(q, Some("ks")).expect("prepare");
    let slow = |p: &std::sync::Arc<sibyl::query::Prepared>| {
        let mut q = (**p).clone();
        q.fast = None;
        std::sync::Arc::new(q)
    };
    let ins_f = prep(&n, "INSERT INTO ff (k, c, v, w, u) VALUES (?, ?, ?, ?, ?)");
    let ins_g = slow(&prep(
        &n,
        "INSERT INTO gg (k, c, v, w, u) VALUES (?, ?, ?, ?, ?)",
    ));
    assert!(ins_f.fast.is_some(), "the INSERT shape is planned");
    let sel_f = prep(&n, "SELECT * FROM ff WHERE k = ? AND c = ?");
    let sel_g = prep(&n, "SELECT * FROM gg WHERE k = ? AND c = ?");
    let sel_g_slow = slow(&sel_g);
    assert!(sel_f.fast.is_some(), "the SELECT shape is planned");
    let cols_f = prep(&n, "SELECT w, k, v AS vee FROM ff WHERE c = ? AND k = ?");
    let cols_g = slow(&prep(
        &n,
        "SELECT w, k, v AS vee FROM gg WHERE c = ? AND k = ?",
    ));
    assert!(cols_f.fast.is_some());
    for q in [
        "SELECT * FROM ff WHERE k = ?",
        "SELECT * FROM ff WHERE k = ? AND c > ?",
        "SELECT count(*) FROM ff WHERE k = ? AND c = ?",
        "INSERT INTO ff (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS",
        "INSERT INTO ff (k, c, v) VALUES (?, ?, ?) USING TTL 5",
        "INSERT INTO ff (k, c, v) VALUES (?, 1, ?)",
    ] {
        assert!(
            prep(&n, q).fast.is_none(),
            "{q} must not take the fast path"
        );
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let exec = |n: &mut Node,
                p: &sibyl::query::Prepared,
                values: Vec<Option<Vec<u8>>>,
                unset: Vec<bool>| {
        let o = QueryOptions {
            values,
            unset,
            ..QueryOptions::default()
        };
        n.qp.execute(p, &o, &mut n.session)
    };
    let mut keys = Vec::new();
    for i in 0..400 {
        let k = format!("key{}", rng.random_range(0..60)).into_bytes();
        let c = rng.random_range(0..4i32).to_be_bytes().to_vec();
        let v = match rng.random_range(0..4) {
            0 => None,
            _ => Some(vec![rng.random::<u8>(); rng.random_range(0..20)]),
        };
        let w = Some(rng.random::<i64>().to_be_bytes().to_vec());
        let u = Some(rng.random::<u128>().to_be_bytes().to_vec());
        let unset = vec![false, false, i % 7 == 0, i % 5 == 0, false];
        let ts = 1_700_000_000_000_000 + i;
        for p in [&ins_f, &ins_g] {
            let o = QueryOptions {
                values: vec![
                    Some(k.clone()),
                    Some(c.clone()),
                    v.clone(),
                    w.clone(),
                    u.clone(),
                ],
                unset: unset.clone(),
                timestamp: Some(ts),
                ..QueryOptions::default()
            };
            n.qp.execute(p, &o, &mut n.session).expect("insert");
        }
        keys.push((k, c));
    }
    // Bad bytes and null keys: the same error either way.
    for bad in [
        vec![Some(b"k".to_vec()), Some(vec![1, 2, 3]), None, None, None],
        vec![None, Some(vec![0, 0, 0, 1]), None, None, None],
        vec![Some(Vec::new()), Some(vec![0, 0, 0, 1]), None, None, None],
        vec![
            Some(vec![0xff, 0xfe]),
            Some(vec![0, 0, 0, 1]),
            None,
            None,
            None,
        ],
    ] {
        let a = exec(&mut n, &ins_f, bad.clone(), vec![false; 5])
            .map(|_| ())
            .map_err(|e| e.to_string());
        let b = exec(&mut n, &ins_g, bad, vec![false; 5])
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(a.is_err(), "bad insert accepted");
        assert_eq!(a, b.map_err(|e| e.replace("gg", "ff")));
    }
    n.clock.advance_seconds(10);
    keys.push((b"absent".to_vec(), 9i32.to_be_bytes().to_vec()));
    for (k, c) in &keys {
        let vals = vec![Some(k.clone()), Some(c.clone())];
        let f = Node::rows_of(exec(&mut n, &sel_f, vals.clone(), vec![false; 2]).expect("select"));
        let g = Node::rows_of(exec(&mut n, &sel_g, vals.clone(), vec![false; 2]).expect("select"));
        let gs =
            Node::rows_of(exec(&mut n, &sel_g_slow, vals.clone(), vec![false; 2]).expect("select"));
        assert_eq!(
            show(&f),
            show(&gs),
            "fast read of fast writes vs slow read of slow writes"
        );
        assert_eq!(show(&g), show(&gs), "fast and slow reads of the same data");
        assert_eq!(f.columns.len(), gs.columns.len());
        let swapped = vec![Some(c.clone()), Some(k.clone())];
        let a =
            Node::rows_of(exec(&mut n, &cols_f, swapped.clone(), vec![false; 2]).expect("select"));
        let b = Node::rows_of(exec(&mut n, &cols_g, swapped, vec![false; 2]).expect("select"));
        assert_eq!(show(&a), show(&b));
        assert_eq!(
            a.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            vec!["w", "k", "vee"]
        );
    }
    // Past the table's default TTL every row is gone, through both paths.
    n.clock.advance_seconds(1000);
    for (k, c) in keys.iter().take(20) {
        let vals = vec![Some(k.clone()), Some(c.clone())];
        let f = Node::rows_of(exec(&mut n, &sel_f, vals.clone(), vec![false; 2]).expect("select"));
        let gs = Node::rows_of(exec(&mut n, &sel_g_slow, vals, vec![false; 2]).expect("select"));
        assert!(f.rows.is_empty() && gs.rows.is_empty());
    }
}
