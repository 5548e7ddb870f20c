//! The CQL native transport as clients see it: the unmodified `scylla` Rust driver
//! (protocol v4) for DDL, prepared statements, paging, batches, error types, schema
//! events and Unprepared recovery; and a raw TCP client built on the codec for what
//! drivers never send (garbage, unsupported versions, oversized frames), v5 segment
//! framing and event registration. Every test starts its own node in-process on
//! 127.0.0.1 port 0 with its own data directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, PrepareError, RequestAttemptError};
use scylla::statement::batch::Batch;
use scylla::statement::Statement;
use sibyl::config::NodeConfig;
use sibyl::node::Node;
use sibyl_cql::protocol::frame::EVENT_STREAM;
use sibyl_cql::protocol::{
    decode_frame, decode_response, Consistency, ErrorKind, EventType, Execute, QueryParameters,
    Request, Response, ResultBody, SegmentDecoder, Startup,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/raw.rs"]
mod raw;
use raw::Raw;
use tokio::net::TcpStream;

/// Longest a test waits for something the server should do promptly.
const WAIT: Duration = Duration::from_secs(10);

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

/// The server's error, whichever way the driver wrapped it.
fn db_error(e: &ExecutionError) -> Option<&DbError> {
    match e {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => Some(db),
        ExecutionError::PrepareError(PrepareError::AllAttemptsFailed {
            first_attempt: RequestAttemptError::DbError(db, _),
        }) => Some(db),
        _ => None,
    }
}

fn prepare_db_error(e: &PrepareError) -> Option<&DbError> {
    match e {
        PrepareError::AllAttemptsFailed {
            first_attempt: RequestAttemptError::DbError(db, _),
        } => Some(db),
        _ => None,
    }
}

async fn ddl(s: &Session, q: &str) {
    s.query_unpaged(q, ())
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_prepared_types_paging_and_batches() {
    // Checks DDL, prepared INSERT/SELECT of several types, paging over 600 rows with
    // query_iter and execute_iter, and a batch of prepared statements via the driver.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let s = connect(node.native_addr()).await;
    ddl(&s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ddl(&s, "CREATE TABLE ks.t (k int, c int, txt text, big bigint, b blob, flag boolean, d double, l list<int>, m map<text, int>, PRIMARY KEY (k, c))").await;

    let ins = s
        .prepare("INSERT INTO ks.t (k, c, txt, big, b, flag, d, l, m) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .await
        .expect("prepare insert");
    let m: BTreeMap<String, i32> = [("x".to_string(), 1), ("y".to_string(), 2)].into();
    s.execute_unpaged(
        &ins,
        (
            1,
            1,
            "héllo",
            i64::MIN,
            vec![0u8, 255],
            true,
            2.5f64,
            vec![3, 1, 2],
            m.clone(),
        ),
    )
    .await
    .expect("insert");
    let sel = s
        .prepare("SELECT txt, big, b, flag, d, l, m FROM ks.t WHERE k = ? AND c = ?")
        .await
        .expect("prepare select");
    type Row = (
        String,
        i64,
        Vec<u8>,
        bool,
        f64,
        Vec<i32>,
        BTreeMap<String, i32>,
    );
    let row: Row = s
        .execute_unpaged(&sel, (1, 1))
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("one row");
    assert_eq!(
        row,
        (
            "héllo".to_string(),
            i64::MIN,
            vec![0, 255],
            true,
            2.5,
            vec![3, 1, 2],
            m
        )
    );

    // 600 rows: 3 partitions of 200.
    let small = s
        .prepare("INSERT INTO ks.t (k, c) VALUES (?, ?)")
        .await
        .expect("prepare");
    for k in 10..13 {
        for c in 0..200 {
            s.execute_unpaged(&small, (k, c)).await.expect("insert");
        }
    }
    let mut st = Statement::new("SELECT k, c FROM ks.t WHERE k IN (10, 11, 12)");
    st.set_page_size(47);
    let mut rows = s
        .query_iter(st, ())
        .await
        .expect("query_iter")
        .rows_stream::<(i32, i32)>()
        .expect("typed");
    let mut n = 0;
    while let Some(r) = rows.next().await {
        r.expect("row");
        n += 1;
    }
    assert_eq!(n, 600, "query_iter pages through every row once");

    let mut by_k = s
        .prepare("SELECT c FROM ks.t WHERE k = ?")
        .await
        .expect("prepare");
    by_k.set_page_size(33);
    let mut rows = s
        .execute_iter(by_k, (11,))
        .await
        .expect("execute_iter")
        .rows_stream::<(i32,)>()
        .expect("typed");
    let mut cs = Vec::new();
    while let Some(r) = rows.next().await {
        cs.push(r.expect("row").0);
    }
    assert_eq!(cs, (0..200).collect::<Vec<_>>(), "in order, no duplicates");

    let mut batch = Batch::default();
    for _ in 0..5 {
        batch.append_statement(small.clone());
    }
    batch.append_statement("UPDATE ks.t SET txt = 'batched' WHERE k = 20 AND c = 0");
    s.batch(&batch, ((20, 0), (20, 1), (20, 2), (20, 3), (20, 4), ()))
        .await
        .expect("batch");
    let (count,): (i64,) = s
        .query_unpaged("SELECT count(*) FROM ks.t WHERE k = 20", ())
        .await
        .expect("count")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("row");
    assert_eq!(count, 5);
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_to_driver_error_types() {
    // Checks Invalid, SyntaxError and AlreadyExists (with keyspace and table) reach the
    // driver as its DbError variants, at QUERY and at PREPARE, and that tables a node
    // does not have (system_virtual_schema, system.size_estimates) are Invalid.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let s = connect(node.native_addr()).await;
    ddl(&s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ddl(&s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)").await;

    let e = s
        .query_unpaged("SELECT * FROM ks.nope", ())
        .await
        .expect_err("unknown table");
    assert!(matches!(db_error(&e), Some(DbError::Invalid)), "{e}");
    let e = s
        .query_unpaged("SELEC nothing", ())
        .await
        .expect_err("syntax");
    assert!(matches!(db_error(&e), Some(DbError::SyntaxError)), "{e}");
    let e = s
        .query_unpaged("CREATE TABLE ks.t (k int PRIMARY KEY)", ())
        .await
        .expect_err("exists");
    match db_error(&e) {
        Some(DbError::AlreadyExists { keyspace, table }) => {
            assert_eq!((keyspace.as_str(), table.as_str()), ("ks", "t"));
        }
        other => panic!("expected AlreadyExists, got {other:?}: {e}"),
    }
    for q in [
        "SELECT * FROM system_virtual_schema.keyspaces",
        "SELECT * FROM system.size_estimates",
        "SELECT * FROM system.scylla_local",
    ] {
        let e = s.query_unpaged(q, ()).await.expect_err(q);
        assert!(matches!(db_error(&e), Some(DbError::Invalid)), "{q}: {e}");
        let e = s.prepare(q).await.expect_err(q);
        assert!(
            matches!(prepare_db_error(&e), Some(DbError::Invalid)),
            "{q}: {e}"
        );
    }
    // The connection survives errors.
    s.query_unpaged("SELECT * FROM ks.t", ())
        .await
        .expect("still serving");
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_tables_describe_the_node() {
    // Checks system.local (one row: key, tokens, release_version, rpc_port = the bound
    // port, schema_version changing with DDL), and that the peers tables are empty.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let s = connect(node.native_addr()).await;
    let (key, boot, release, port, partitioner, tokens, cluster, dc, v1) = local(&s).await;
    assert_eq!((key.as_str(), boot.as_str()), ("local", "COMPLETED"));
    assert!(
        release.starts_with('4') || release.starts_with('5'),
        "{release}"
    );
    assert_eq!(port, i32::from(node.native_addr().port()));
    assert!(partitioner.ends_with("Murmur3Partitioner"));
    assert_eq!(tokens.len(), 16);
    assert_eq!(
        (cluster.as_str(), dc.as_str()),
        ("Test Cluster", "datacenter1")
    );
    for t in ["peers", "peers_v2"] {
        let r = s
            .query_unpaged(format!("SELECT * FROM system.{t}"), ())
            .await
            .expect("peers")
            .into_rows_result()
            .expect("rows");
        assert_eq!(r.rows_num(), 0, "system.{t} is empty on one node");
    }
    ddl(&s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    let (.., v2) = local(&s).await;
    assert_ne!(v1, v2, "schema_version changes with DDL");
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_change_reaches_driver_metadata() {
    // Checks that the driver's metadata learns of a new table without an explicit
    // refresh: its control connection gets the SCHEMA_CHANGE event.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let s = connect(node.native_addr()).await;
    ddl(&s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ddl(&s, "CREATE TABLE ks.fresh (k int PRIMARY KEY, v text)").await;
    let start = std::time::Instant::now();
    loop {
        let state = s.get_cluster_state();
        let seen = state
            .get_keyspace("ks")
            .is_some_and(|k| k.tables.contains_key("fresh"));
        if seen {
            break;
        }
        assert!(start.elapsed() < WAIT, "driver metadata never saw ks.fresh");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprepared_statement_is_reprepared_by_the_driver() {
    // Checks that after the node forgets prepared statements (a schema change empties
    // the cache) the driver gets Unprepared, re-prepares and succeeds; and that a raw
    // EXECUTE of an unknown id gets Unprepared 0x2500 carrying that id.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let s = connect(node.native_addr()).await;
    ddl(&s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ddl(&s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)").await;
    let ins = s
        .prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        .await
        .expect("prepare");
    s.execute_unpaged(&ins, (1, 1))
        .await
        .expect("first execute");
    ddl(&s, "CREATE TABLE ks.other (k int PRIMARY KEY)").await;
    s.execute_unpaged(&ins, (2, 2))
        .await
        .expect("execute after re-prepare");
    let r = s
        .query_unpaged("SELECT count(*) FROM ks.t", ())
        .await
        .expect("count")
        .into_rows_result()
        .expect("rows")
        .single_row::<(i64,)>()
        .expect("row");
    assert_eq!(r.0, 2);

    let mut raw = Raw::connect(node.native_addr()).await;
    raw.startup(4).await;
    let id = vec![7u8; 16];
    raw.send(
        4,
        3,
        Request::Execute(Execute {
            id: id.clone(),
            result_metadata_id: None,
            params: QueryParameters::new(Consistency::One),
        }),
    )
    .await;
    let r = raw.recv().await.expect("answer");
    assert_eq!(r.stream, 3);
    match r.response {
        Response::Error(e) => assert_eq!(e.kind, ErrorKind::Unprepared { id }),
        other => panic!("expected Unprepared, got {other:?}"),
    }
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_errors_and_the_node_keeps_serving() {
    // Checks garbage bytes, an unsupported version (0x07, and v1/v2's old header), an
    // oversized frame, invalid UTF-8 in a string, an unknown opcode, a wrong body
    // length and a truncated frame each get a protocol ERROR or a closed connection;
    // the oversized frame keeps its connection (its body is skipped); other
    // connections and drivers keep working.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let addr = node.native_addr();

    let mut garbage = TcpStream::connect(addr).await.expect("connect");
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_until_closed(&mut garbage).await;
    let (frame, _) = decode_frame(&answer, u32::MAX)
        .expect("a frame")
        .expect("complete");
    let env = decode_response(&frame, None, u32::MAX).expect("error response");
    assert_error_contains(&env.response, "unsupported protocol version");

    let mut v7 = TcpStream::connect(addr).await.expect("connect");
    v7.write_all(&[0x07, 0, 0, 5, 0x05, 0, 0, 0, 0])
        .await
        .expect("write");
    let answer = read_until_closed(&mut v7).await;
    let (frame, _) = decode_frame(&answer, u32::MAX)
        .expect("a frame")
        .expect("complete");
    assert_eq!(frame.header.version, 5, "answered in our highest version");
    assert_eq!(frame.header.stream, 5);
    let env = decode_response(&frame, None, u32::MAX).expect("error response");
    assert_error_contains(
        &env.response,
        "Invalid or unsupported protocol version (7); supported versions are (3/v3, 4/v4, 5/v5)",
    );

    let mut v2 = TcpStream::connect(addr).await.expect("connect");
    v2.write_all(&[0x02, 0, 1, 0x05, 0, 0, 0, 0])
        .await
        .expect("write");
    let answer = read_until_closed(&mut v2).await;
    assert_eq!(answer.first(), Some(&0x82), "a v2 client is answered in v2");

    let mut big = Raw::connect(addr).await;
    big.startup(4).await;
    // A QUERY header announcing 64 MiB, then 1 MiB of that body: refused, skipped.
    let mut header = vec![0x04, 0, 0, 9, 0x07];
    header.extend_from_slice(&(64u32 << 20).to_be_bytes());
    big.stream.write_all(&header).await.expect("write");
    let r = big.recv().await.expect("answer");
    assert_eq!(r.stream, 9);
    assert_error_contains(&r.response, "Request is too big");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        big.stream
            .write_all(&chunk)
            .await
            .expect("body is read and dropped");
    }
    big.send(4, 10, Request::Options).await;
    let r = big.recv().await.expect("the connection still serves");
    assert_eq!(r.stream, 10);
    assert!(
        matches!(r.response, Response::Supported { .. }),
        "{:?}",
        r.response
    );

    // A request before STARTUP is refused, not executed.
    let mut early = Raw::connect(addr).await;
    early.send(4, 1, query("SELECT * FROM system.local")).await;
    let r = early.recv().await.expect("answer");
    assert_error_contains(&r.response, "expecting STARTUP");

    // Invalid UTF-8 in a QUERY string: an error answer, never a panic or a query.
    let mut bad_utf8 = Raw::connect(addr).await;
    bad_utf8.startup(4).await;
    let mut body = Vec::new();
    body.extend_from_slice(&4u32.to_be_bytes());
    body.extend_from_slice(&[0xff, 0xfe, 0xfd, 0xfc]);
    body.extend_from_slice(&1u16.to_be_bytes()); // consistency ONE
    body.push(0); // no flags
    let mut frame = vec![0x04, 0, 0, 11, 0x07];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    bad_utf8.stream.write_all(&frame).await.expect("write");
    let r = bad_utf8.recv().await.expect("answer");
    assert_eq!(r.stream, 11);
    assert!(matches!(r.response, Response::Error(_)), "{:?}", r.response);

    // An unknown opcode: an error answer.
    let mut unknown = Raw::connect(addr).await;
    unknown.startup(4).await;
    unknown
        .stream
        .write_all(&[0x04, 0, 0, 12, 0x7f, 0, 0, 0, 0])
        .await
        .expect("write");
    let r = unknown.recv().await.expect("answer");
    assert!(matches!(r.response, Response::Error(_)), "{:?}", r.response);

    // A body length that disagrees with the body (QUERY announcing 3 bytes), then a
    // truncated frame and a closed socket: errors or a closed connection, no hang.
    let mut wrong_len = Raw::connect(addr).await;
    wrong_len.startup(4).await;
    wrong_len
        .stream
        .write_all(&[0x04, 0, 0, 13, 0x07, 0, 0, 0, 3, 0, 0, 0])
        .await
        .expect("write");
    let r = wrong_len.recv().await;
    assert!(
        r.as_ref()
            .is_none_or(|r| matches!(r.response, Response::Error(_))),
        "{r:?}"
    );
    let mut truncated = Raw::connect(addr).await;
    truncated.startup(4).await;
    truncated
        .stream
        .write_all(&[0x04, 0, 0, 14, 0x07, 0, 0, 0, 100, 1, 2, 3])
        .await
        .expect("write");
    drop(truncated);

    let s = connect(addr).await;
    s.query_unpaged("SELECT * FROM system.local", ())
        .await
        .expect("node still serves");
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_events_go_to_registered_connections_only() {
    // Checks a SCHEMA_CHANGE event (stream -1) reaches a connection that REGISTERed
    // for it and no other.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let addr = node.native_addr();
    let mut listener = Raw::connect(addr).await;
    listener.startup(4).await;
    listener
        .send(
            4,
            1,
            Request::Register {
                events: vec![EventType::SchemaChange],
            },
        )
        .await;
    let r = listener.recv().await.expect("ready");
    assert_eq!(r.response, Response::Ready);
    let mut other = Raw::connect(addr).await;
    other.startup(4).await;

    other
        .send(4, 2, query("CREATE KEYSPACE ev WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"))
        .await;
    let r = other.recv().await.expect("result");
    assert!(
        matches!(r.response, Response::Result(ResultBody::SchemaChange(_))),
        "{:?}",
        r.response
    );
    let ev = listener.recv().await.expect("event");
    assert_eq!(ev.stream, EVENT_STREAM);
    assert!(
        matches!(ev.response, Response::Event(_)),
        "{:?}",
        ev.response
    );
    let nothing = tokio::time::timeout(Duration::from_millis(300), other.recv()).await;
    assert!(nothing.is_err(), "unregistered connection got {nothing:?}");
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_segments_after_ready() {
    // Checks protocol v5: STARTUP/READY as plain frames, then requests and answers
    // inside CRC-checked segments, including a result larger than one segment.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let mut raw = Raw::connect(node.native_addr()).await;
    raw.startup(5).await;
    raw.segments = Some(SegmentDecoder::new(None, u32::MAX));
    raw.send(5, 1, query("CREATE KEYSPACE v5 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")).await;
    assert!(matches!(
        raw.recv().await.expect("answer").response,
        Response::Result(_)
    ));
    raw.send(5, 2, query("CREATE TABLE v5.t (k int PRIMARY KEY, v text)"))
        .await;
    assert!(matches!(
        raw.recv().await.expect("answer").response,
        Response::Result(_)
    ));
    let long = "x".repeat(200_000);
    raw.send(
        5,
        3,
        query(&format!("INSERT INTO v5.t (k, v) VALUES (1, '{long}')")),
    )
    .await;
    let r = raw.recv().await.expect("answer");
    assert_eq!(r.response, Response::Result(ResultBody::Void));
    raw.send(5, 4, query("SELECT v FROM v5.t WHERE k = 1"))
        .await;
    let r = raw.recv().await.expect("answer");
    assert_eq!(r.stream, 4);
    match r.response {
        Response::Result(ResultBody::Rows(rows)) => {
            assert_eq!(rows.rows.len(), 1);
            assert_eq!(rows.rows[0][0].as_deref(), Some(long.as_bytes()));
        }
        other => panic!("expected rows, got {other:?}"),
    }
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_identity_survive_a_restart() {
    // Checks a clean shutdown keeps written rows and the node's host id and tokens.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let host = node.host_id();
    let s = connect(node.native_addr()).await;
    ddl(&s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ddl(&s, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)").await;
    s.query_unpaged("INSERT INTO ks.t (k, v) VALUES (1, 'kept')", ())
        .await
        .expect("insert");
    let tokens_q = "SELECT tokens FROM system.local";
    let tokens = |r: scylla::response::query_result::QueryResult| {
        r.into_rows_result()
            .expect("rows")
            .single_row::<(Vec<String>,)>()
            .expect("row")
            .0
    };
    let before = tokens(s.query_unpaged(tokens_q, ()).await.expect("tokens"));
    drop(s);
    node.shutdown().await.expect("clean shutdown");

    let node = start_node(dir.path()).await;
    assert_eq!(node.host_id(), host);
    let s = connect(node.native_addr()).await;
    let (v,): (String,) = s
        .query_unpaged("SELECT v FROM ks.t WHERE k = 1", ())
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("row");
    assert_eq!(v, "kept");
    assert_eq!(
        tokens(s.query_unpaged(tokens_q, ()).await.expect("tokens")),
        before
    );
    node.shutdown().await.expect("clean shutdown");
}

type Local = (
    String,
    String,
    String,
    i32,
    String,
    Vec<String>,
    String,
    String,
    scylla::value::CqlValue,
);

async fn local(s: &Session) -> Local {
    let q = "SELECT key, bootstrapped, release_version, rpc_port, partitioner, tokens, cluster_name, data_center, schema_version FROM system.local";
    s.query_unpaged(q, ())
        .await
        .expect("system.local")
        .into_rows_result()
        .expect("rows")
        .single_row::<Local>()
        .expect("one row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_compression_v4_bodies_and_v5_segments() {
    // Checks lz4 as negotiated at STARTUP: the driver's v4 compressed bodies, and v5
    // compressed segments from a raw client.
    let dir = tempfile::tempdir().expect("tmp");
    let node = start_node(dir.path()).await;
    let s = SessionBuilder::new()
        .known_node_addr(node.native_addr())
        .compression(Some(scylla::client::Compression::Lz4))
        .build()
        .await
        .expect("driver connects with lz4");
    ddl(&s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ddl(&s, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)").await;
    let long = "abc".repeat(10_000);
    s.query_unpaged("INSERT INTO ks.t (k, v) VALUES (1, ?)", (long.clone(),))
        .await
        .expect("insert");
    let (v,): (String,) = s
        .query_unpaged("SELECT v FROM ks.t WHERE k = 1", ())
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("row");
    assert_eq!(v, long);

    let lz4 = Some(sibyl_cql::protocol::Compression::Lz4);
    let mut raw = Raw::connect(node.native_addr()).await;
    let mut options = BTreeMap::new();
    options.insert("CQL_VERSION".to_string(), "3.0.0".to_string());
    options.insert("COMPRESSION".to_string(), "lz4".to_string());
    raw.send(5, 0, Request::Startup(Startup { options })).await;
    assert_eq!(raw.recv().await.expect("ready").response, Response::Ready);
    raw.segments = Some(SegmentDecoder::new(lz4, u32::MAX));
    raw.compression = lz4;
    raw.send(5, 1, query("SELECT v FROM ks.t WHERE k = 1"))
        .await;
    match raw.recv().await.expect("answer").response {
        Response::Result(ResultBody::Rows(rows)) => {
            assert_eq!(rows.rows[0][0].as_deref(), Some(long.as_bytes()));
        }
        other => panic!("expected rows, got {other:?}"),
    }
    node.shutdown().await.expect("clean shutdown");
}

fn query(q: &str) -> Request {
    Request::Query {
        query: q.to_string(),
        params: QueryParameters::new(Consistency::One),
    }
}

fn assert_error_contains(r: &Response, text: &str) {
    match r {
        Response::Error(e) => assert!(e.message.contains(text), "{:?}", e.message),
        other => panic!("expected an error containing {text:?}, got {other:?}"),
    }
}

async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut out))
        .await
        .expect("server closes the connection")
        .expect("read");
    out
}
