//! The native transport under the unmodified `scylla` Rust driver, beyond what
//! `tests/transport.rs` covers: every CQL type through prepared statements, paging
//! 10 000 rows at many page sizes, `USE` through the session, 200 concurrent requests
//! on one session, re-preparation mid-paging and inside batches, and schema events
//! for ALTER/DROP/CREATE TYPE reaching the driver's metadata. (CREATE TABLE reaching
//! the metadata and plain Unprepared recovery are in `tests/transport.rs`.) Every
//! test starts its own node in-process on 127.0.0.1 port 0 with its own data
//! directory, and is bounded in time.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Statement;
use scylla::value::{
    CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlValue, CqlVarint, Row,
};
use sibyl::config::NodeConfig;
use sibyl::node::Node;

/// Longest a test waits for something the server should do promptly.
const WAIT: Duration = Duration::from_secs(10);

/// Longest any one test may run.
const TEST_LIMIT: Duration = Duration::from_secs(240);

async fn start_node(dir: &std::path::Path) -> Node {
    let mut c = NodeConfig::with_data_dir(dir);
    c.native_transport_port = 0;
    c.storage_port = 0;
    c.admin_port = 0;
    Node::start(c).await.expect("node starts")
}

async fn connect(addr: SocketAddr) -> Session {
    SessionBuilder::new()
        .known_node_addr(addr)
        .build()
        .await
        .expect("driver connects")
}

async fn ddl(s: &Session, q: &str) {
    s.query_unpaged(q, ())
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}

async fn prepare(s: &Session, q: &str) -> PreparedStatement {
    s.prepare(q).await.unwrap_or_else(|e| panic!("{q}: {e}"))
}

const KS: &str =
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

/// Runs a test body with a node and a connected session, failing past [`TEST_LIMIT`].
async fn with_node<F, Fut>(body: F)
where
    F: FnOnce(Session, SocketAddr) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let addr = node.native_addr();
    let s = connect(addr).await;
    tokio::time::timeout(TEST_LIMIT, body(s, addr))
        .await
        .expect("test finished in time");
    node.shutdown().await.expect("clean shutdown");
}

// ---------------------------------------------------------------------------
// 1. Every CQL type.
// ---------------------------------------------------------------------------

/// Column name and CQL type of every column of `ks.all` but the key.
const ALL_COLUMNS: &[(&str, &str)] = &[
    ("c_ascii", "ascii"),
    ("c_bigint", "bigint"),
    ("c_blob", "blob"),
    ("c_boolean", "boolean"),
    ("c_date", "date"),
    ("c_decimal", "decimal"),
    ("c_double", "double"),
    ("c_duration", "duration"),
    ("c_float", "float"),
    ("c_inet", "inet"),
    ("c_int", "int"),
    ("c_smallint", "smallint"),
    ("c_text", "text"),
    ("c_time", "time"),
    ("c_timestamp", "timestamp"),
    ("c_timeuuid", "timeuuid"),
    ("c_tinyint", "tinyint"),
    ("c_uuid", "uuid"),
    ("c_varint", "varint"),
    ("c_varchar", "varchar"),
    ("c_list", "list<int>"),
    ("c_set", "set<text>"),
    ("c_map", "map<text, bigint>"),
    ("c_flist", "frozen<list<text>>"),
    ("c_fset", "frozen<set<int>>"),
    ("c_fmap", "frozen<map<int, text>>"),
    ("c_tuple", "tuple<int, text, double>"),
    ("c_udt", "frozen<addr>"),
    ("c_nested", "list<frozen<map<text, frozen<list<int>>>>>"),
    ("c_udt_map", "map<text, frozen<addr>>"),
    ("c_set_ts", "set<timestamp>"),
];

fn uuid_value(b: [u8; 16]) -> CqlValue {
    // The driver's `Uuid` is `uuid::Uuid`, reachable from a timeuuid without naming it.
    CqlValue::Uuid(CqlTimeuuid::from_bytes(b).into())
}

fn text(s: &str) -> CqlValue {
    CqlValue::Text(s.to_string())
}

fn addr_udt(street: Option<&str>, num: Option<i32>, tags: Option<&[&str]>) -> CqlValue {
    CqlValue::UserDefinedType {
        keyspace: "ks".into(),
        name: "addr".into(),
        fields: vec![
            ("street".into(), street.map(text)),
            ("num".into(), num.map(CqlValue::Int)),
            (
                "tags".into(),
                tags.map(|t| CqlValue::Set(t.iter().map(|s| text(s)).collect())),
            ),
        ],
    }
}

const TIMEUUID: [u8; 16] = [
    0xe0, 0xd2, 0xc6, 0xb4, 0x5e, 0x3a, 0x11, 0xee, 0x8c, 0x99, 0x02, 0x42, 0xac, 0x12, 0x00, 0x02,
];
const UUID4: [u8; 16] = [
    0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44, 0x00, 0x00,
];
const EPOCH_DAY: u32 = 1 << 31;

/// Typical values: (what is written, what must be read back). Sets and map keys
/// are written out of order and read back sorted.
fn typical_row() -> (Vec<Option<CqlValue>>, Vec<Option<CqlValue>>) {
    use CqlValue as V;
    let written = vec![
        V::Ascii("plain ascii".into()),
        V::BigInt(1_234_567_890_123),
        V::Blob(vec![0, 1, 2, 0xfe, 0xff]),
        V::Boolean(true),
        V::Date(CqlDate(EPOCH_DAY + 19_782)), // 2024-02-29
        V::Decimal(CqlDecimal::from_signed_be_bytes_and_exponent(
            vec![0x30, 0x39],
            2,
        )), // 123.45
        V::Double(std::f64::consts::PI),
        V::Duration(CqlDuration {
            months: 14,
            days: 3,
            nanoseconds: 3_600_000_000_123,
        }),
        V::Float(1.5),
        V::Inet(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))),
        V::Int(-42),
        V::SmallInt(-1234),
        text("héllo wörld ☃ 日本語 🦀"),
        V::Time(CqlTime(13 * 3_600_000_000_000 + 7)),
        V::Timestamp(CqlTimestamp(1_700_000_000_123)),
        V::Timeuuid(CqlTimeuuid::from_bytes(TIMEUUID)),
        V::TinyInt(-7),
        uuid_value(UUID4),
        V::Varint(CqlVarint::from_signed_bytes_be(vec![
            0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ])), // 2^100
        text("varchar is text"),
        V::List(vec![V::Int(3), V::Int(1), V::Int(3)]),
        V::Set(vec![text("c"), text("a"), text("b")]),
        V::Map(vec![
            (text("z"), V::BigInt(-1)),
            (text("a"), V::BigInt(i64::MAX)),
        ]),
        V::List(vec![text("x"), text("x"), text("")]),
        V::Set(vec![V::Int(3), V::Int(-1), V::Int(2)]),
        V::Map(vec![
            (V::Int(10), text("ten")),
            (V::Int(-5), text("minus five")),
        ]),
        V::Tuple(vec![Some(V::Int(1)), None, Some(V::Double(2.5))]),
        addr_udt(Some("Main St"), Some(12), Some(&["b", "a"])),
        V::List(vec![
            V::Map(vec![
                (text("k2"), V::List(vec![V::Int(2)])),
                (text("k1"), V::List(vec![V::Int(1), V::Int(0)])),
            ]),
            V::Map(vec![]),
        ]),
        V::Map(vec![
            (text("work"), addr_udt(Some("Elm"), None, None)),
            (text("home"), addr_udt(None, Some(-1), Some(&[]))),
        ]),
        V::Set(vec![
            V::Timestamp(CqlTimestamp(5)),
            V::Timestamp(CqlTimestamp(-5)),
        ]),
    ];
    let mut read: Vec<Option<CqlValue>> = written.iter().cloned().map(Some).collect();
    let col = |name: &str| ALL_COLUMNS.iter().position(|(n, _)| *n == name).unwrap();
    read[col("c_set")] = Some(V::Set(vec![text("a"), text("b"), text("c")]));
    read[col("c_map")] = Some(V::Map(vec![
        (text("a"), V::BigInt(i64::MAX)),
        (text("z"), V::BigInt(-1)),
    ]));
    read[col("c_fset")] = Some(V::Set(vec![V::Int(-1), V::Int(2), V::Int(3)]));
    read[col("c_fmap")] = Some(V::Map(vec![
        (V::Int(-5), text("minus five")),
        (V::Int(10), text("ten")),
    ]));
    read[col("c_udt")] = Some(addr_udt(Some("Main St"), Some(12), Some(&["a", "b"])));
    read[col("c_nested")] = Some(V::List(vec![
        V::Map(vec![
            (text("k1"), V::List(vec![V::Int(1), V::Int(0)])),
            (text("k2"), V::List(vec![V::Int(2)])),
        ]),
        V::Map(vec![]),
    ]));
    read[col("c_udt_map")] = Some(V::Map(vec![
        (text("home"), addr_udt(None, Some(-1), Some(&[]))),
        (text("work"), addr_udt(Some("Elm"), None, None)),
    ]));
    read[col("c_set_ts")] = Some(V::Set(vec![
        V::Timestamp(CqlTimestamp(-5)),
        V::Timestamp(CqlTimestamp(5)),
    ]));
    (written.into_iter().map(Some).collect(), read)
}

/// Extreme values: minimums, maximums, empty strings and blobs, IPv6, negative
/// varint/decimal, infinities, frozen empty collections, empty UDT.
fn extreme_row() -> Vec<Option<CqlValue>> {
    use CqlValue as V;
    vec![
        Some(V::Ascii(String::new())),
        Some(V::BigInt(i64::MIN)),
        Some(V::Blob(vec![])),
        Some(V::Boolean(false)),
        Some(V::Date(CqlDate(0))),
        Some(V::Decimal(CqlDecimal::from_signed_be_bytes_and_exponent(
            vec![
                0xfe, 0xfa, 0x91, 0xf0, 0xc9, 0x59, 0xbb, 0xc2, 0x1d, 0x20, 0x87,
            ],
            -7,
        ))), // -1234567890123456789012345e7
        Some(V::Double(f64::NEG_INFINITY)),
        Some(V::Duration(CqlDuration {
            months: -1,
            days: -2,
            nanoseconds: -3,
        })),
        Some(V::Float(f32::MIN_POSITIVE)),
        Some(V::Inet(IpAddr::V6(Ipv6Addr::new(
            0x2001, 0xdb8, 0, 0, 0, 0, 0, 1,
        )))),
        Some(V::Int(i32::MIN)),
        Some(V::SmallInt(i16::MAX)),
        Some(text("")),
        Some(V::Time(CqlTime(86_399_999_999_999))),
        Some(V::Timestamp(CqlTimestamp(-1))),
        Some(V::Timeuuid(CqlTimeuuid::from_bytes(TIMEUUID))),
        Some(V::TinyInt(i8::MIN)),
        Some(uuid_value([0; 16])),
        Some(V::Varint(CqlVarint::from_signed_bytes_be(vec![0xff, 0x7f]))), // -129
        Some(text("")),
        Some(V::List(vec![V::Int(i32::MAX)])),
        Some(V::Set(vec![text("")])),
        Some(V::Map(vec![(text(""), V::BigInt(0))])),
        Some(V::List(vec![])),
        Some(V::Set(vec![])),
        Some(V::Map(vec![])),
        Some(V::Tuple(vec![None, None, None])),
        Some(addr_udt(None, None, None)),
        Some(V::List(vec![V::Map(vec![(text(""), V::List(vec![]))])])),
        Some(V::Map(vec![(text(""), addr_udt(Some(""), Some(0), None))])),
        Some(V::Set(vec![V::Timestamp(CqlTimestamp(i64::MIN))])),
    ]
}

async fn read_all_row(s: &Session, sel: &PreparedStatement, k: i32) -> Vec<Option<CqlValue>> {
    s.execute_unpaged(sel, (k,))
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows")
        .single_row::<Row>()
        .expect("one row")
        .columns
}

fn assert_columns(got: &[Option<CqlValue>], want: &[Option<CqlValue>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: column count");
    for (i, ((name, typ), (g, w))) in ALL_COLUMNS.iter().zip(got.iter().zip(want)).enumerate() {
        assert_eq!(g, w, "{what}: column {i} {name} {typ}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cql_type_round_trips_through_prepared_statements() {
    // Checks every CQL type (all natives, list/set/map frozen and not, tuple, UDT,
    // nested collections, UDT in a map) written by prepared INSERT and read back by
    // prepared SELECT as CqlValue, typical and extreme values, sets/map keys sorted by
    // the server, explicit null binds, omitted columns, and the same through the
    // driver's typed Rust values (CqlDate, CqlDecimal, CqlVarint, ... and std types).
    with_node(|s, _| async move {
        ddl(&s, KS).await;
        ddl(
            &s,
            "CREATE TYPE ks.addr (street text, num int, tags frozen<set<text>>)",
        )
        .await;
        let cols: Vec<String> = ALL_COLUMNS
            .iter()
            .map(|(n, t)| format!("{n} {t}"))
            .collect();
        ddl(
            &s,
            &format!(
                "CREATE TABLE ks.all (k int PRIMARY KEY, {})",
                cols.join(", ")
            ),
        )
        .await;
        let names: Vec<&str> = ALL_COLUMNS.iter().map(|(n, _)| *n).collect();
        let marks = vec!["?"; names.len()].join(", ");
        let ins = prepare(
            &s,
            &format!(
                "INSERT INTO ks.all (k, {}) VALUES (?, {marks})",
                names.join(", ")
            ),
        )
        .await;
        let sel = prepare(
            &s,
            &format!("SELECT {} FROM ks.all WHERE k = ?", names.join(", ")),
        )
        .await;

        let bind = |k: i32, vals: &[Option<CqlValue>]| {
            let mut v = vec![Some(CqlValue::Int(k))];
            v.extend(vals.iter().cloned());
            v
        };

        // Typical values.
        let (written, read) = typical_row();
        s.execute_unpaged(&ins, bind(1, &written))
            .await
            .expect("insert typical");
        assert_columns(&read_all_row(&s, &sel, 1).await, &read, "typical");

        // Extremes (written in order, read back unchanged).
        let ext = extreme_row();
        s.execute_unpaged(&ins, bind(2, &ext))
            .await
            .expect("insert extremes");
        let mut want = ext.clone();
        // A non-frozen collection written empty is no collection at all: null.
        for (i, (_, typ)) in ALL_COLUMNS.iter().enumerate() {
            let non_frozen_collection = ["list<", "set<", "map<"]
                .iter()
                .any(|p| typ.starts_with(p));
            let empty = matches!(
                &want[i],
                Some(CqlValue::List(v)) | Some(CqlValue::Set(v)) if v.is_empty()
            ) || matches!(&want[i], Some(CqlValue::Map(m)) if m.is_empty());
            if non_frozen_collection && empty {
                want[i] = None;
            }
        }
        assert_columns(&read_all_row(&s, &sel, 2).await, &want, "extremes");

        // Explicit null for every column.
        let nulls = vec![None; ALL_COLUMNS.len()];
        s.execute_unpaged(&ins, bind(3, &nulls))
            .await
            .expect("insert nulls");
        assert_columns(&read_all_row(&s, &sel, 3).await, &nulls, "explicit nulls");

        // Columns omitted altogether.
        let only_key = prepare(&s, "INSERT INTO ks.all (k) VALUES (?)").await;
        s.execute_unpaged(&only_key, (4,))
            .await
            .expect("insert key only");
        assert_columns(&read_all_row(&s, &sel, 4).await, &nulls, "omitted");

        // Overwriting values with null removes them.
        s.execute_unpaged(&ins, bind(1, &nulls))
            .await
            .expect("overwrite with nulls");
        assert_columns(&read_all_row(&s, &sel, 1).await, &nulls, "overwritten");

        // NaN survives (it cannot be compared with ==).
        let nan = prepare(&s, "INSERT INTO ks.all (k, c_double, c_float) VALUES (?, ?, ?)").await;
        s.execute_unpaged(&nan, (5, f64::NAN, f32::NAN))
            .await
            .expect("insert NaN");
        let (d, f): (f64, f32) = s
            .query_unpaged("SELECT c_double, c_float FROM ks.all WHERE k = 5", ())
            .await
            .expect("select NaN")
            .into_rows_result()
            .expect("rows")
            .single_row()
            .expect("row");
        assert!(d.is_nan() && f.is_nan(), "NaN read back as {d}, {f}");

        // The driver's typed values, natives first.
        type Natives = (
            String,
            i64,
            Vec<u8>,
            bool,
            CqlDate,
            CqlDecimal,
            f64,
            CqlDuration,
            f32,
            IpAddr,
            i32,
            i16,
            String,
            CqlTime,
            CqlTimestamp,
            CqlTimeuuid,
        );
        let natives: Natives = (
            "ascii".to_string(),
            -9,
            vec![9, 8, 7],
            true,
            CqlDate(EPOCH_DAY - 1),
            CqlDecimal::from_signed_be_bytes_and_exponent(vec![0x00, 0x80], 0),
            -0.25,
            CqlDuration {
                months: 0,
                days: 1,
                nanoseconds: 0,
            },
            -3.5,
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            7,
            -1,
            "typed ✓".to_string(),
            CqlTime(1),
            CqlTimestamp(0),
            CqlTimeuuid::from_bytes(TIMEUUID),
        );
        let ins_natives = prepare(
            &s,
            "INSERT INTO ks.all (k, c_ascii, c_bigint, c_blob, c_boolean, c_date, c_decimal, c_double, c_duration, c_float, c_inet, c_int, c_smallint, c_text, c_time, c_timestamp, c_timeuuid) VALUES (10, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .await;
        s.execute_unpaged(&ins_natives, natives.clone())
            .await
            .expect("insert typed natives");
        let got: Natives = s
            .query_unpaged(
                "SELECT c_ascii, c_bigint, c_blob, c_boolean, c_date, c_decimal, c_double, c_duration, c_float, c_inet, c_int, c_smallint, c_text, c_time, c_timestamp, c_timeuuid FROM ks.all WHERE k = 10",
                (),
            )
            .await
            .expect("select typed natives")
            .into_rows_result()
            .expect("rows")
            .single_row()
            .expect("row");
        // std's tuple PartialEq stops at 12 elements: compare in two halves.
        let halves = |n: Natives| {
            let (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p) = n;
            ((a, b, c, d, e, f, g, h), (i, j, k, l, m, n, o, p))
        };
        assert_eq!(halves(got), halves(natives));

        // ... then collections, tuple, the rest, and Option for null.
        type Rest = (
            i8,
            CqlVarint,
            Vec<i32>,
            BTreeSet<String>,
            BTreeMap<String, i64>,
            Vec<String>,
            BTreeSet<i32>,
            BTreeMap<i32, String>,
            (i32, Option<String>, f64),
            Option<String>,
            Vec<BTreeMap<String, Vec<i32>>>,
        );
        let rest: Rest = (
            i8::MAX,
            CqlVarint::from_signed_bytes_be(vec![0x00, 0x80]),
            vec![5, 4],
            ["q".to_string(), "p".to_string()].into(),
            [("m".to_string(), 3)].into(),
            vec!["f".to_string()],
            [i32::MIN, 0].into(),
            [(1, "one".to_string())].into(),
            (9, None, -1.0),
            None,
            vec![[("n".to_string(), vec![7, 7])].into()],
        );
        s.execute_unpaged(
            &prepare(
                &s,
                "UPDATE ks.all SET c_tinyint = ?, c_varint = ?, c_list = ?, c_set = ?, c_map = ?, c_flist = ?, c_fset = ?, c_fmap = ?, c_tuple = ?, c_varchar = ?, c_nested = ? WHERE k = 10",
            )
            .await,
            rest.clone(),
        )
        .await
        .expect("update typed rest");
        let got: Rest = s
            .execute_unpaged(
                &prepare(
                    &s,
                    "SELECT c_tinyint, c_varint, c_list, c_set, c_map, c_flist, c_fset, c_fmap, c_tuple, c_varchar, c_nested FROM ks.all WHERE k = ?",
                )
                .await,
                (10,),
            )
            .await
            .expect("select typed rest")
            .into_rows_result()
            .expect("rows")
            .single_row()
            .expect("row");
        assert_eq!(got, rest);

        // Unprepared queries with bound values take the same types.
        let (written, read) = typical_row();
        let unprepared = format!(
            "INSERT INTO ks.all (k, {}) VALUES (?, {marks})",
            names.join(", ")
        );
        s.query_unpaged(unprepared, bind(11, &written))
            .await
            .expect("unprepared insert with values");
        assert_columns(&read_all_row(&s, &sel, 11).await, &read, "unprepared");
    })
    .await;
}

// ---------------------------------------------------------------------------
// 2. Paging.
// ---------------------------------------------------------------------------

/// Rows a paged read returned, checked to be exactly `expected` keys once each.
async fn drain<T>(
    mut rows: impl futures::Stream<Item = Result<T, scylla::errors::NextRowError>> + Unpin,
) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(r) = rows.next().await {
        out.push(r.expect("row"));
    }
    out
}

/// Checks a full scan of `ks.many`: every (k, c) exactly once, partitions
/// contiguous and in token order, clustering in order within each.
fn check_scan(rows: &[(i64, i32, i32, String)], partitions: i32, per: i32, what: &str) {
    assert_eq!(rows.len(), (partitions * per) as usize, "{what}: row count");
    let mut seen_k = BTreeSet::new();
    let mut i = 0;
    let mut last_token = i64::MIN;
    while i < rows.len() {
        let (token, k, _, _) = rows[i].clone();
        assert!(token >= last_token, "{what}: partitions in token order");
        last_token = token;
        assert!(seen_k.insert(k), "{what}: partition {k} not contiguous");
        for c in 0..per {
            let (t, rk, rc, v) = &rows[i];
            assert_eq!(
                (*t, *rk, *rc),
                (token, k, c),
                "{what}: row {i} in partition {k}"
            );
            assert_eq!(v, &format!("{k}:{c}"), "{what}: value of row {i}");
            i += 1;
        }
    }
    assert_eq!(seen_k, (0..partitions).collect(), "{what}: partitions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_ten_thousand_rows_at_many_page_sizes() {
    // Checks that 10 000 rows come back exactly once and in order, through prepared
    // (execute_iter) and unprepared (query_iter) paging at page sizes 1, 7, 100, 5000,
    // 10 000, 20 000 and unpaged: spread over 100 partitions of 100 rows (full scan)
    // and in one partition of 10 000 rows (full scan and WHERE k = ?), plus paging
    // a clustering slice, and a LIMIT smaller and larger than the page.
    with_node(|s, _| async move {
        ddl(&s, KS).await;
        ddl(
            &s,
            "CREATE TABLE ks.many (k int, c int, v text, PRIMARY KEY (k, c))",
        )
        .await;
        ddl(&s, "CREATE TABLE ks.one (k int, c int, PRIMARY KEY (k, c))").await;
        let ins_many = prepare(&s, "INSERT INTO ks.many (k, c, v) VALUES (?, ?, ?)").await;
        let ins_one = prepare(&s, "INSERT INTO ks.one (k, c) VALUES (0, ?)").await;
        let (partitions, per) = (100, 100);
        futures::stream::iter((0..partitions).flat_map(|k| (0..per).map(move |c| (k, c))))
            .map(|(k, c)| {
                let ins = &ins_many;
                let s = &s;
                async move { s.execute_unpaged(ins, (k, c, format!("{k}:{c}"))).await }
            })
            .buffer_unordered(64)
            .try_for_each(|_| async { Ok(()) })
            .await
            .expect("insert many");
        futures::stream::iter(0..10_000)
            .map(|c| {
                let ins = &ins_one;
                let s = &s;
                async move { s.execute_unpaged(ins, (c,)).await }
            })
            .buffer_unordered(64)
            .try_for_each(|_| async { Ok(()) })
            .await
            .expect("insert one");

        let scan_q = "SELECT token(k), k, c, v FROM ks.many";
        let one_q = "SELECT c FROM ks.one";
        let one_k_q = "SELECT c FROM ks.one WHERE k = ?";
        let all_c: Vec<i32> = (0..10_000).collect();
        type ScanRow = (i64, i32, i32, String);

        for page in [1, 7, 100, 5000, 10_000, 20_000] {
            let t0 = std::time::Instant::now();
            let mut scan = prepare(&s, scan_q).await;
            scan.set_page_size(page);
            let rows = drain(
                s.execute_iter(scan, ())
                    .await
                    .expect("execute_iter")
                    .rows_stream::<ScanRow>()
                    .expect("typed"),
            )
            .await;
            check_scan(
                &rows,
                partitions,
                per,
                &format!("prepared scan, page {page}"),
            );

            if page != 1 {
                let mut one = prepare(&s, one_q).await;
                one.set_page_size(page);
                let got: Vec<i32> = drain(
                    s.execute_iter(one, ())
                        .await
                        .expect("execute_iter")
                        .rows_stream::<(i32,)>()
                        .expect("typed"),
                )
                .await
                .into_iter()
                .map(|r| r.0)
                .collect();
                assert!(
                    got == all_c,
                    "one partition scan, page {page}: {} rows",
                    got.len()
                );
            }

            let mut one_k = prepare(&s, one_k_q).await;
            one_k.set_page_size(page);
            let got: Vec<i32> = drain(
                s.execute_iter(one_k, (0,))
                    .await
                    .expect("execute_iter")
                    .rows_stream::<(i32,)>()
                    .expect("typed"),
            )
            .await
            .into_iter()
            .map(|r| r.0)
            .collect();
            assert!(got == all_c, "WHERE k = ?, page {page}: {} rows", got.len());

            if page != 1 {
                let mut st = Statement::new(scan_q);
                st.set_page_size(page);
                let rows = drain(
                    s.query_iter(st, ())
                        .await
                        .expect("query_iter")
                        .rows_stream::<ScanRow>()
                        .expect("typed"),
                )
                .await;
                check_scan(
                    &rows,
                    partitions,
                    per,
                    &format!("unprepared scan, page {page}"),
                );
                let mut st = Statement::new("SELECT c FROM ks.one WHERE k = 0");
                st.set_page_size(page);
                let got: Vec<i32> = drain(
                    s.query_iter(st, ())
                        .await
                        .expect("query_iter")
                        .rows_stream::<(i32,)>()
                        .expect("typed"),
                )
                .await
                .into_iter()
                .map(|r| r.0)
                .collect();
                assert!(got == all_c, "unprepared WHERE k = 0, page {page}");
            }
            eprintln!("page size {page}: {:?}", t0.elapsed());
        }

        // Unpaged: everything in one response.
        let rows: Vec<ScanRow> = s
            .query_unpaged(scan_q, ())
            .await
            .expect("unpaged scan")
            .into_rows_result()
            .expect("rows")
            .rows()
            .expect("typed")
            .collect::<Result<_, _>>()
            .expect("rows");
        check_scan(&rows, partitions, per, "unpaged scan");
        let got: Vec<i32> = s
            .execute_unpaged(&prepare(&s, one_k_q).await, (0,))
            .await
            .expect("unpaged one")
            .into_rows_result()
            .expect("rows")
            .rows::<(i32,)>()
            .expect("typed")
            .map(|r| r.expect("row").0)
            .collect();
        assert!(got == all_c, "unpaged one partition");

        // A clustering slice, paged.
        let mut slice = prepare(&s, "SELECT c FROM ks.one WHERE k = 0 AND c >= ? AND c < ?").await;
        slice.set_page_size(333);
        let got: Vec<i32> = drain(
            s.execute_iter(slice, (1234, 8765))
                .await
                .expect("slice")
                .rows_stream::<(i32,)>()
                .expect("typed"),
        )
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
        assert!(got == (1234..8765).collect::<Vec<_>>(), "paged slice");

        // LIMIT is a total across pages, not per page.
        for (limit, page) in [(2500, 1000), (10, 1000), (9_999, 4_000)] {
            let mut st = prepare(
                &s,
                &format!("SELECT c FROM ks.one WHERE k = 0 LIMIT {limit}"),
            )
            .await;
            st.set_page_size(page);
            let got: Vec<i32> = drain(
                s.execute_iter(st, ())
                    .await
                    .expect("limit")
                    .rows_stream::<(i32,)>()
                    .expect("typed"),
            )
            .await
            .into_iter()
            .map(|r| r.0)
            .collect();
            assert!(
                got == (0..limit).collect::<Vec<_>>(),
                "LIMIT {limit} page {page}: {} rows",
                got.len()
            );
            let mut st = prepare(&s, &format!("SELECT k, c FROM ks.many LIMIT {limit}")).await;
            st.set_page_size(page);
            let n = drain(
                s.execute_iter(st, ())
                    .await
                    .expect("limit scan")
                    .rows_stream::<(i32, i32)>()
                    .expect("typed"),
            )
            .await
            .len();
            assert_eq!(
                n,
                (limit as usize).min(10_000),
                "scan LIMIT {limit} page {page}"
            );
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// 3. USE through the session.
// ---------------------------------------------------------------------------

async fn count(s: &Session, q: &str) -> i64 {
    s.query_unpaged(q, ())
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .into_rows_result()
        .expect("rows")
        .single_row::<(i64,)>()
        .expect("row")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_keyspace_through_the_session() {
    // Checks session.use_keyspace then unqualified DDL, INSERT, SELECT, prepared
    // statements and batches; that switching keyspace retargets unqualified queries
    // while statements prepared earlier keep their keyspace; a case-sensitive
    // keyspace name; that an unknown keyspace is an error and leaves the session
    // usable; and that a second session opened with use_keyspace in its builder works.
    with_node(|s, addr| async move {
        ddl(&s, KS).await;
        ddl(&s, "CREATE KEYSPACE ks2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
        ddl(&s, "CREATE KEYSPACE \"MixedCase\" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;

        // Unqualified without a keyspace is an error.
        assert!(s.query_unpaged("SELECT * FROM t", ()).await.is_err());

        // ks2.t exists before anything is prepared: DDL would empty the node's
        // prepared cache (see `reprepare_after_use_switch_and_unrelated_ddl`).
        ddl(&s, "CREATE TABLE ks2.t (k int PRIMARY KEY, v text)").await;
        s.use_keyspace("ks", false).await.expect("USE ks");
        ddl(&s, "CREATE TABLE t (k int PRIMARY KEY, v text)").await;
        s.query_unpaged("INSERT INTO t (k, v) VALUES (1, 'in ks')", ())
            .await
            .expect("insert");
        let ins_ks = prepare(&s, "INSERT INTO t (k, v) VALUES (?, ?)").await;
        let sel_ks = prepare(&s, "SELECT v FROM t WHERE k = ?").await;
        s.execute_unpaged(&ins_ks, (2, "prepared in ks"))
            .await
            .expect("prepared insert");
        let mut batch = Batch::new(BatchType::Logged);
        batch.append_statement("INSERT INTO t (k, v) VALUES (3, 'batched')");
        batch.append_statement(ins_ks.clone());
        s.batch(&batch, ((), (4, "batched prepared")))
            .await
            .expect("batch");
        assert_eq!(count(&s, "SELECT count(*) FROM t").await, 4);
        assert_eq!(count(&s, "SELECT count(*) FROM ks.t").await, 4);

        // Switch: unqualified now means ks2; earlier prepared statements stay in ks.
        s.use_keyspace("ks2", false).await.expect("USE ks2");
        s.query_unpaged("INSERT INTO t (k, v) VALUES (1, 'in ks2')", ())
            .await
            .expect("insert ks2");
        s.execute_unpaged(&ins_ks, (5, "still ks"))
            .await
            .expect("old prepared insert");
        assert_eq!(count(&s, "SELECT count(*) FROM t").await, 1);
        assert_eq!(count(&s, "SELECT count(*) FROM ks.t").await, 5);
        let (v,): (String,) = s
            .execute_unpaged(&sel_ks, (1,))
            .await
            .expect("old prepared select")
            .into_rows_result()
            .expect("rows")
            .single_row()
            .expect("row");
        assert_eq!(v, "in ks");
        let sel_ks2 = prepare(&s, "SELECT v FROM t WHERE k = ?").await;
        let (v,): (String,) = s
            .execute_unpaged(&sel_ks2, (1,))
            .await
            .expect("new prepared select")
            .into_rows_result()
            .expect("rows")
            .single_row()
            .expect("row");
        assert_eq!(v, "in ks2");

        // A case-sensitive name.
        s.use_keyspace("MixedCase", true)
            .await
            .expect("USE \"MixedCase\"");
        ddl(&s, "CREATE TABLE t (k int PRIMARY KEY)").await;
        s.query_unpaged("INSERT INTO t (k) VALUES (9)", ())
            .await
            .expect("insert MixedCase");
        assert_eq!(count(&s, "SELECT count(*) FROM \"MixedCase\".t").await, 1);

        // An unknown keyspace fails and the session still works.
        assert!(s.use_keyspace("nope", false).await.is_err());
        assert_eq!(count(&s, "SELECT count(*) FROM ks.t").await, 5);

        // A second session that starts in ks.
        let s2 = SessionBuilder::new()
            .known_node_addr(addr)
            .use_keyspace("ks", false)
            .build()
            .await
            .expect("session with keyspace");
        assert_eq!(count(&s2, "SELECT count(*) FROM t").await, 5);
    })
    .await;
}

// ---------------------------------------------------------------------------
// 4. Concurrency on one session.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_on_one_session() {
    // Checks 200 concurrent prepared INSERTs on one session (values of varied size up
    // to 64 KiB, so frames interleave), then 200 concurrent prepared SELECTs, then 200
    // concurrent unprepared SELECTs mixed with 200 UPDATEs: all succeed and every
    // response matches its own request.
    with_node(|s, _| async move {
        ddl(&s, KS).await;
        ddl(
            &s,
            "CREATE TABLE ks.c (k int PRIMARY KEY, v text, n bigint)",
        )
        .await;
        let ins = prepare(&s, "INSERT INTO ks.c (k, v, n) VALUES (?, ?, ?)").await;
        let sel = prepare(&s, "SELECT k, v, n FROM ks.c WHERE k = ?").await;
        let value = |k: i32| {
            let len = (k as usize * 331) % 65_536;
            let ch = char::from(b'a' + (k % 26) as u8);
            std::iter::repeat_n(ch, len).collect::<String>()
        };

        let results = futures::future::join_all(
            (0..200).map(|k| s.execute_unpaged(&ins, (k, value(k), i64::from(k) * 1_000_000_007))),
        )
        .await;
        for (k, r) in results.into_iter().enumerate() {
            r.unwrap_or_else(|e| panic!("insert {k}: {e}"));
        }

        let results =
            futures::future::join_all((0..200).map(|k| s.execute_unpaged(&sel, (k,)))).await;
        for (k, r) in results.into_iter().enumerate() {
            let k = k as i32;
            let row: (i32, String, i64) = r
                .unwrap_or_else(|e| panic!("select {k}: {e}"))
                .into_rows_result()
                .expect("rows")
                .single_row()
                .expect("row");
            assert_eq!(row, (k, value(k), i64::from(k) * 1_000_000_007), "row {k}");
        }

        // Reads and writes mixed, unprepared reads.
        let upd = prepare(&s, "UPDATE ks.c SET n = ? WHERE k = ?").await;
        let reads = futures::future::join_all(
            (0..200).map(|k| s.query_unpaged(format!("SELECT k, v FROM ks.c WHERE k = {k}"), ())),
        );
        let writes = futures::future::join_all(
            (0..200).map(|k| s.execute_unpaged(&upd, (-i64::from(k), k))),
        );
        let (reads, writes) = futures::join!(reads, writes);
        for (k, r) in writes.into_iter().enumerate() {
            r.unwrap_or_else(|e| panic!("update {k}: {e}"));
        }
        for (k, r) in reads.into_iter().enumerate() {
            let k = k as i32;
            let row: (i32, String) = r
                .unwrap_or_else(|e| panic!("read {k}: {e}"))
                .into_rows_result()
                .expect("rows")
                .single_row()
                .expect("row");
            assert_eq!(row, (k, value(k)), "mixed read {k}");
        }
        let results =
            futures::future::join_all((0..200).map(|k| s.execute_unpaged(&sel, (k,)))).await;
        for (k, r) in results.into_iter().enumerate() {
            let (_, _, n): (i32, String, i64) = r
                .expect("select")
                .into_rows_result()
                .expect("rows")
                .single_row()
                .expect("row");
            assert_eq!(n, -(k as i64), "updated {k}");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// 5. Re-preparation where tests/transport.rs does not look.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_reprepares_mid_paging_in_batches_and_under_use() {
    // Checks that after the node forgets its prepared statements (an ALTER of the
    // statement's table, which Cassandra also evicts on; plain EXECUTE after a
    // CREATE TABLE is covered in tests/transport.rs) the driver
    // re-prepares transparently: between two pages of an execute_iter (the paging
    // state still resumes where it was), for a batch of prepared statements, for
    // concurrent executes of one statement, and for an unqualified statement
    // prepared under USE.
    with_node(|s, _| async move {
        ddl(&s, KS).await;
        ddl(&s, "CREATE TABLE ks.t (k int, c int, PRIMARY KEY (k, c))").await;
        let ins = prepare(&s, "INSERT INTO ks.t (k, c) VALUES (?, ?)").await;
        for c in 0..100 {
            s.execute_unpaged(&ins, (1, c)).await.expect("insert");
        }

        // Between pages.
        let mut sel = prepare(&s, "SELECT c FROM ks.t WHERE k = ?").await;
        sel.set_page_size(10);
        let mut rows = s
            .execute_iter(sel, (1,))
            .await
            .expect("execute_iter")
            .rows_stream::<(i32,)>()
            .expect("typed");
        let mut got = Vec::new();
        for _ in 0..15 {
            got.push(rows.next().await.expect("row").expect("row").0);
        }
        ddl(&s, "ALTER TABLE ks.t ADD x1 int").await;
        while let Some(r) = rows.next().await {
            got.push(r.expect("row after re-prepare").0);
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>(), "paging resumed in place");

        // A batch of prepared statements.
        let del = prepare(&s, "DELETE FROM ks.t WHERE k = ? AND c = ?").await;
        ddl(&s, "ALTER TABLE ks.t ADD x2 int").await;
        let mut batch = Batch::new(BatchType::Unlogged);
        batch.append_statement(ins.clone());
        batch.append_statement(del.clone());
        s.batch(&batch, ((2, 0), (1, 0)))
            .await
            .expect("batch after the cache was emptied");
        assert_eq!(count(&s, "SELECT count(*) FROM ks.t WHERE k = 1").await, 99);
        assert_eq!(count(&s, "SELECT count(*) FROM ks.t WHERE k = 2").await, 1);

        // Many executes of a forgotten statement at once.
        ddl(&s, "ALTER TABLE ks.t ADD x3 int").await;
        let results =
            futures::future::join_all((0..50).map(|c| s.execute_unpaged(&ins, (3, c)))).await;
        for r in results {
            r.expect("concurrent execute after the cache was emptied");
        }
        assert_eq!(count(&s, "SELECT count(*) FROM ks.t WHERE k = 3").await, 50);

        // Prepared under USE, re-prepared by the driver on a connection still in ks.
        s.use_keyspace("ks", false).await.expect("USE ks");
        let unq = prepare(&s, "INSERT INTO t (k, c) VALUES (?, ?)").await;
        s.execute_unpaged(&unq, (4, 0)).await.expect("unqualified");
        ddl(&s, "ALTER TABLE t ADD x4 int").await;
        s.execute_unpaged(&unq, (4, 1))
            .await
            .expect("unqualified after the cache was emptied");
        assert_eq!(count(&s, "SELECT count(*) FROM t WHERE k = 4").await, 2);
    })
    .await;
}

// ---------------------------------------------------------------------------
// 6. Schema events beyond CREATE TABLE.
// ---------------------------------------------------------------------------

/// Waits until the driver's metadata satisfies `ok`.
async fn until_metadata(
    s: &Session,
    what: &str,
    ok: impl Fn(&scylla::cluster::ClusterState) -> bool,
) {
    let start = std::time::Instant::now();
    loop {
        if ok(&s.get_cluster_state()) {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "driver metadata never showed: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_events_for_alter_drop_and_types_reach_the_driver() {
    // Checks that without an explicit refresh the driver's metadata follows CREATE
    // KEYSPACE, ALTER TABLE ADD/DROP column, CREATE TYPE, DROP TABLE and DROP
    // KEYSPACE (CREATE TABLE alone is covered in tests/transport.rs), and that a
    // prepared SELECT * sees an added column after the driver re-prepares.
    with_node(|s, _| async move {
        ddl(&s, KS).await;
        until_metadata(&s, "keyspace ks", |c| c.get_keyspace("ks").is_some()).await;
        ddl(&s, "CREATE TABLE ks.t (k int PRIMARY KEY, a int)").await;
        until_metadata(&s, "table ks.t", |c| {
            c.get_keyspace("ks")
                .is_some_and(|k| k.tables.contains_key("t"))
        })
        .await;
        s.query_unpaged("INSERT INTO ks.t (k, a) VALUES (1, 10)", ())
            .await
            .expect("insert");
        let star = prepare(&s, "SELECT * FROM ks.t WHERE k = 1").await;
        let before = s
            .execute_unpaged(&star, ())
            .await
            .expect("select *")
            .into_rows_result()
            .expect("rows")
            .single_row::<Row>()
            .expect("row");
        assert_eq!(before.columns.len(), 2);

        ddl(&s, "ALTER TABLE ks.t ADD b text").await;
        until_metadata(&s, "column ks.t.b", |c| {
            c.get_keyspace("ks")
                .and_then(|k| k.tables.get("t"))
                .is_some_and(|t| t.columns.contains_key("b"))
        })
        .await;
        s.query_unpaged("UPDATE ks.t SET b = 'new' WHERE k = 1", ())
            .await
            .expect("update b");
        let after = s
            .execute_unpaged(&star, ())
            .await
            .expect("select * after ALTER")
            .into_rows_result()
            .expect("rows");
        let names: Vec<&str> = after.column_specs().iter().map(|c| c.name()).collect();
        assert!(
            names.contains(&"b"),
            "prepared SELECT * sees the new column: {names:?}"
        );
        let row = after.single_row::<Row>().expect("row");
        assert!(row.columns.contains(&Some(CqlValue::Text("new".into()))));

        ddl(&s, "ALTER TABLE ks.t DROP a").await;
        until_metadata(&s, "column ks.t.a dropped", |c| {
            c.get_keyspace("ks")
                .and_then(|k| k.tables.get("t"))
                .is_some_and(|t| !t.columns.contains_key("a"))
        })
        .await;

        ddl(&s, "CREATE TYPE ks.pt (x int, y int)").await;
        until_metadata(&s, "type ks.pt", |c| {
            c.get_keyspace("ks")
                .is_some_and(|k| k.user_defined_types.contains_key("pt"))
        })
        .await;

        ddl(&s, "DROP TABLE ks.t").await;
        until_metadata(&s, "table ks.t dropped", |c| {
            c.get_keyspace("ks")
                .is_some_and(|k| !k.tables.contains_key("t"))
        })
        .await;

        ddl(&s, "DROP KEYSPACE ks").await;
        until_metadata(&s, "keyspace ks dropped", |c| {
            c.get_keyspace("ks").is_none()
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprepare_after_use_switch_and_unrelated_ddl() {
    // Checks that a statement prepared unqualified under USE ks still executes after
    // the session switched to ks2 and a table was created in ks2. Like Cassandra, the
    // node evicts prepared statements only for an altered or dropped table/keyspace;
    // a regression (evicting on any DDL) makes the driver re-PREPARE under ks2 and
    // fail with "unconfigured table t" (or RepreparedIdChanged).
    with_node(|s, _| async move {
        ddl(&s, KS).await;
        ddl(&s, "CREATE KEYSPACE ks2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
        ddl(&s, "CREATE TABLE ks.t (k int PRIMARY KEY)").await;
        s.use_keyspace("ks", false).await.expect("USE ks");
        let ins = prepare(&s, "INSERT INTO t (k) VALUES (?)").await;
        s.use_keyspace("ks2", false).await.expect("USE ks2");
        ddl(&s, "CREATE TABLE ks2.unrelated (k int PRIMARY KEY)").await;
        s.execute_unpaged(&ins, (1,))
            .await
            .expect("statement prepared under ks, executed after USE ks2 + DDL");
        assert_eq!(count(&s, "SELECT count(*) FROM ks.t").await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstone_warning_reaches_the_driver() {
    // Checks a read over more than tombstone_warn_threshold (1000) tombstones returns
    // its rows with the server warning in the response frame, as the driver reports it.
    with_node(|s, _| async move {
        ddl(&s, KS).await;
        ddl(&s, "CREATE TABLE ks.tw (k int, c int, v int, PRIMARY KEY (k, c))").await;
        let del = prepare(&s, "DELETE FROM ks.tw WHERE k = 1 AND c = ?").await;
        for c in 0..1200i32 {
            s.execute_unpaged(&del, (c,)).await.expect("delete");
        }
        s.query_unpaged("INSERT INTO ks.tw (k, c, v) VALUES (1, 5000, 1)", ())
            .await
            .expect("insert");
        let r = s
            .query_unpaged("SELECT * FROM ks.tw WHERE k = 1", ())
            .await
            .expect("select");
        let warnings: Vec<&str> = r.warnings().collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("Read 1 live rows and 1200 tombstone cells for query SELECT * FROM ks.tw WHERE k = 1"),
            "{}",
            warnings[0]
        );
        assert_eq!(r.into_rows_result().expect("rows").rows_num(), 1);
    })
    .await;
}
