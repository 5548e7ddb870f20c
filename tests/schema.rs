//! Schema layer tests: DDL over a real storage engine, Cassandra's error messages,
//! system_schema rows, persistence, versions and DESCRIBE round trips.

use std::path::Path;
use std::sync::Arc;

use sibyl::error::CqlError;
use sibyl::query::{ResultMessage, SchemaChangeTarget, SchemaChangeType};
use sibyl::schema::model::{ColumnKind, TableMetadata};
use sibyl::schema::SchemaManager;
use sibyl_cql::parser::{parse_statement, DescribeTarget, QualifiedName, Statement};
use sibyl_cql::types::{deserialize, CqlType, CqlValue};
use sibyl_storage::{Storage, StorageConfig};

struct Node {
    storage: Arc<Storage>,
    schema: SchemaManager,
}

fn open(dir: &Path) -> Node {
    let mut cfg = StorageConfig::new(dir.join("storage"));
    cfg.background = false;
    let (storage, _) = Storage::open(cfg).expect("storage");
    let storage = Arc::new(storage);
    let schema = SchemaManager::open(storage.clone(), &dir.join("schema")).expect("schema");
    Node { storage, schema }
}

impl Node {
    fn exec(&self, cql: &str) -> Result<ResultMessage, CqlError> {
        let stmt = parse_statement(cql).unwrap_or_else(|e| panic!("parse {cql}: {e}"));
        self.schema.execute_ddl(&stmt, Some("ks"))
    }

    fn ok(&self, cql: &str) -> ResultMessage {
        self.exec(cql).unwrap_or_else(|e| panic!("{cql}: {e}"))
    }

    fn err(&self, cql: &str) -> CqlError {
        match self.exec(cql) {
            Ok(r) => panic!("{cql} succeeded: {r:?}"),
            Err(e) => e,
        }
    }

    fn with_ks(dir: &Path) -> Node {
        let n = open(dir);
        n.ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        n
    }

    fn rows(&self, table: &str) -> Vec<Vec<Option<CqlValue>>> {
        self.schema
            .virtual_table("system_schema", table)
            .expect("virtual")
            .1
    }

    fn describe(&self, target: DescribeTarget) -> Vec<Vec<String>> {
        match self.schema.describe(&target, Some("ks")).expect("describe") {
            ResultMessage::Rows(r) => r
                .rows
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(
                            |v| match deserialize(&v.unwrap_or_default(), &CqlType::Text) {
                                Ok(CqlValue::Text(s)) => s,
                                other => panic!("{other:?}"),
                            },
                        )
                        .collect()
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }
}

fn text(v: &Option<CqlValue>) -> &str {
    match v {
        Some(CqlValue::Text(s)) => s,
        other => panic!("not text: {other:?}"),
    }
}

fn invalid(e: CqlError, msg: &str) {
    assert_eq!(e, CqlError::Invalid(msg.to_string()));
}

// Creating a keyspace and a table returns CREATED schema changes, creates the storage
// table under the table's id, and stores the replication class in full.
#[test]
fn create_keyspace_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let n = open(dir.path());
    let r = n.ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '3'}");
    let ResultMessage::SchemaChange(c) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (c.change, c.target, c.keyspace.as_str()),
        (
            SchemaChangeType::Created,
            SchemaChangeTarget::Keyspace,
            "ks"
        )
    );
    let ks = n.schema.keyspace("ks").unwrap();
    assert_eq!(
        ks.replication.options["class"],
        "org.apache.cassandra.locator.SimpleStrategy"
    );
    assert_eq!(ks.replication.options["replication_factor"], "3");
    let r = n.ok("CREATE TABLE t (k int, c text, v bigint, PRIMARY KEY (k, c))");
    let ResultMessage::SchemaChange(c) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (c.target, c.name.as_str()),
        (SchemaChangeTarget::Table, "t")
    );
    let t = n.schema.table("ks", "t").unwrap();
    assert_eq!((t.id >> 76) & 0xf, 4, "random v4 id");
    assert!(n.storage.table(t.storage_id()).is_ok());
    assert_eq!(t.storage_id().0, t.id);
    let kinds: Vec<(&str, ColumnKind, i32, u32)> = t
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind, c.position, c.id))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("k", ColumnKind::PartitionKey, 0, 0),
            ("c", ColumnKind::Clustering, 0, 1),
            ("v", ColumnKind::Regular, -1, 2)
        ]
    );
    n.ok("CREATE KEYSPACE nts WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} AND durable_writes = false");
    let nts = n.schema.keyspace("nts").unwrap();
    assert_eq!(
        nts.replication.options["class"],
        "org.apache.cassandra.locator.NetworkTopologyStrategy"
    );
    assert!(!nts.durable_writes);
}

// Keyspace validation errors carry Cassandra's codes and messages; IF NOT EXISTS on an
// existing keyspace is Void.
#[test]
fn keyspace_errors() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    assert_eq!(
        n.err("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"),
        CqlError::AlreadyExists { keyspace: "ks".into(), table: String::new(), message: "Cannot add existing keyspace \"ks\"".into() }
    );
    assert_eq!(
        n.ok("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"),
        ResultMessage::Void
    );
    assert_eq!(
        n.err("CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy'}"),
        CqlError::Config("SimpleStrategy requires a replication_factor strategy option.".into())
    );
    assert_eq!(
        n.err("CREATE KEYSPACE k2 WITH replication = {'class': 'FooStrategy'}"),
        CqlError::Config(
            "Unable to find replication strategy class 'org.apache.cassandra.locator.FooStrategy'"
                .into()
        )
    );
    assert_eq!(
        n.err("CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND foo = 1"),
        CqlError::Syntax("Unknown property 'foo'".into())
    );
    invalid(n.err("DROP KEYSPACE nope"), "Keyspace 'nope' doesn't exist");
    assert_eq!(n.ok("DROP KEYSPACE IF EXISTS nope"), ResultMessage::Void);
    invalid(
        n.err("ALTER KEYSPACE nope WITH durable_writes = false"),
        "Keyspace 'nope' doesn't exist",
    );
    n.ok("ALTER KEYSPACE ks WITH durable_writes = false");
    assert!(!n.schema.keyspace("ks").unwrap().durable_writes);
    invalid(
        n.err("DROP KEYSPACE system"),
        "System keyspace 'system' is not user-modifiable",
    );
    invalid(
        n.err("CREATE TABLE system_schema.x (k int PRIMARY KEY)"),
        "System keyspace 'system_schema' is not user-modifiable",
    );
}

// CREATE TABLE validations report Cassandra's messages.
#[test]
fn create_table_errors() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    n.ok("CREATE TABLE t (k int PRIMARY KEY)");
    assert_eq!(
        n.err("CREATE TABLE t (k int PRIMARY KEY)"),
        CqlError::AlreadyExists {
            keyspace: "ks".into(),
            table: "t".into(),
            message: "Cannot add already existing table \"t\" to keyspace \"ks\"".into()
        }
    );
    assert_eq!(
        n.ok("CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)"),
        ResultMessage::Void
    );
    invalid(
        n.err("CREATE TABLE nope.t (k int PRIMARY KEY)"),
        "Keyspace 'nope' doesn't exist",
    );
    invalid(
        n.err("CREATE TABLE u (k int)"),
        "No PRIMARY KEY specifed for table 'u' (exactly one required)",
    );
    invalid(
        n.err("CREATE TABLE u (k int PRIMARY KEY, v int, PRIMARY KEY (v))"),
        "Multiple PRIMARY KEYs specifed (exactly one required)",
    );
    invalid(
        n.err("CREATE TABLE u (k int, PRIMARY KEY (k, x))"),
        "Unknown column 'x' referenced in PRIMARY KEY for table 'u'",
    );
    invalid(
        n.err("CREATE TABLE u (k int, c list<int>, PRIMARY KEY (k, c))"),
        "Invalid non-frozen collection type list<int> for PRIMARY KEY column 'c'",
    );
    invalid(
        n.err("CREATE TABLE u (k int PRIMARY KEY, s int static)"),
        "Static columns are only useful (and thus allowed) if the table has at least one clustering column",
    );
    invalid(
        n.err("CREATE TABLE u (k int, a int, b int, PRIMARY KEY (k, a, b)) WITH CLUSTERING ORDER BY (b DESC, a ASC)"),
        "The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns (a must appear before b)",
    );
    invalid(
        n.err("CREATE TABLE u (k int, a int, v int, PRIMARY KEY (k, a)) WITH CLUSTERING ORDER BY (v DESC)"),
        "Only clustering key columns can be defined in CLUSTERING ORDER directive",
    );
    invalid(
        n.err("CREATE TABLE u (k int PRIMARY KEY, c counter, v int)"),
        "Cannot mix counter and non counter columns in the same table",
    );
    assert_eq!(
        n.err("CREATE TABLE u (k int PRIMARY KEY) WITH foo = 1"),
        CqlError::Syntax("Unknown property 'foo'".into())
    );
    assert!(matches!(
        n.err("CREATE TABLE u (k int PRIMARY KEY) WITH compaction = {'class': 'NoSuchStrategy'}"),
        CqlError::Config(_)
    ));
    invalid(
        n.err("CREATE TABLE u (k int PRIMARY KEY) WITH COMPACT STORAGE"),
        "Compact tables are not allowed in Cassandra starting with 4.0 version.",
    );
    let e = n
        .schema
        .execute_ddl(
            &parse_statement("CREATE TABLE u (k int PRIMARY KEY)").unwrap(),
            None,
        )
        .unwrap_err();
    invalid(
        e,
        "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename",
    );
    invalid(
        n.schema.table("ks", "nope").unwrap_err(),
        "unconfigured table nope",
    );
    invalid(
        n.schema.table("nope", "t").unwrap_err(),
        "Keyspace nope does not exist",
    );
}

// Table options: short class names stored in full, WITH ID kept, the storage table
// gets the mapped options, ALTER ... WITH changes them.
#[test]
fn table_options_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    n.ok("CREATE TABLE t (k int PRIMARY KEY, v text) WITH ID = 5a1c395e-b41f-11e5-9f22-ba0be0483c18 \
          AND compaction = {'class': 'SizeTieredCompactionStrategy', 'min_threshold': 6} \
          AND compression = {'class': 'LZ4Compressor', 'chunk_length_in_kb': 64} \
          AND comment = 'hi' AND gc_grace_seconds = 10 AND default_time_to_live = 100");
    let t = n.schema.table("ks", "t").unwrap();
    assert_eq!(t.id, 0x5a1c395e_b41f_11e5_9f22_ba0be0483c18);
    assert_eq!(
        t.params.compaction["class"],
        "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"
    );
    assert_eq!(t.params.compaction["min_threshold"], "6");
    assert_eq!(t.params.compaction["max_threshold"], "32");
    assert_eq!(
        t.params.compression["class"],
        "org.apache.cassandra.io.compress.LZ4Compressor"
    );
    assert_eq!(
        (
            t.params.comment.as_str(),
            t.params.gc_grace_seconds,
            t.params.default_time_to_live
        ),
        ("hi", 10, 100)
    );
    let st = n.storage.table(t.storage_id()).unwrap().options();
    assert_eq!(st.compression, sibyl_storage::sstable::Compression::Lz4);
    assert_eq!(
        (
            st.chunk_length,
            st.gc_grace_seconds,
            st.compaction.min_threshold
        ),
        (64 * 1024, 10, 6)
    );
    n.ok("ALTER TABLE t WITH compression = {'enabled': 'false'} AND bloom_filter_fp_chance = 0.1");
    let st = n.storage.table(t.storage_id()).unwrap().options();
    assert_eq!(st.compression, sibyl_storage::sstable::Compression::None);
    assert_eq!(st.bloom_filter_fp_chance, 0.1);
    assert_eq!(
        n.schema.table("ks", "t").unwrap().params.comment,
        "hi",
        "ALTER keeps other options"
    );
    assert_eq!(
        n.err("ALTER TABLE t WITH ID = 5a1c395e-b41f-11e5-9f22-ba0be0483c18"),
        CqlError::Config("Cannot alter table id.".into())
    );
}

// ALTER TABLE ADD/DROP/RENAME: ids never reused, dropped columns recorded with their
// time, Cassandra's messages for each refusal.
#[test]
fn alter_table() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    n.ok("CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))");
    let r = n.ok("ALTER TABLE t ADD w list<text>");
    let ResultMessage::SchemaChange(c) = r else {
        panic!()
    };
    assert_eq!(
        (c.change, c.target),
        (SchemaChangeType::Updated, SchemaChangeTarget::Table)
    );
    assert_eq!(
        n.schema.table("ks", "t").unwrap().column("w").unwrap().id,
        3
    );
    invalid(
        n.err("ALTER TABLE t ADD w int"),
        "Column with name 'w' already exists",
    );
    assert_eq!(
        n.ok("ALTER TABLE t ADD IF NOT EXISTS w int"),
        ResultMessage::Void
    );
    n.ok("ALTER TABLE t ADD s int static");
    n.ok("ALTER TABLE t DROP v USING TIMESTAMP 1234000");
    let t = n.schema.table("ks", "t").unwrap();
    assert!(t.column("v").is_none());
    assert_eq!(t.dropped["v"].dropped_time, 1_234_000);
    invalid(
        n.err("ALTER TABLE t DROP v"),
        "Column v was not found in table 't'",
    );
    assert_eq!(n.ok("ALTER TABLE t DROP IF EXISTS v"), ResultMessage::Void);
    invalid(
        n.err("ALTER TABLE t DROP k"),
        "Cannot drop PRIMARY KEY column k",
    );
    invalid(
        n.err("ALTER TABLE t ADD v text"),
        "Cannot re-add previously dropped column 'v' of type text, incompatible with previous type int",
    );
    n.ok("ALTER TABLE t ADD v int");
    assert_eq!(
        n.schema.table("ks", "t").unwrap().column("v").unwrap().id,
        5,
        "a re-added column gets a new id"
    );
    n.ok("ALTER TABLE t RENAME c TO cc");
    assert_eq!(
        n.schema
            .table("ks", "t")
            .unwrap()
            .column("cc")
            .unwrap()
            .kind,
        ColumnKind::Clustering
    );
    invalid(
        n.err("ALTER TABLE t RENAME w TO w2"),
        "Cannot rename non PRIMARY KEY column w",
    );
    invalid(
        n.err("ALTER TABLE t RENAME cc TO k"),
        "Cannot rename column cc to k in table 't'; another column with that name already exists",
    );
    invalid(
        n.err("ALTER TABLE t ALTER v TYPE bigint"),
        "Altering column types is no longer supported",
    );
    invalid(
        n.err("ALTER TABLE nope ADD x int"),
        "Table 'ks.nope' doesn't exist",
    );
    assert_eq!(
        n.ok("ALTER TABLE IF EXISTS nope ADD x int"),
        ResultMessage::Void
    );
    let dropped = n.rows("dropped_columns");
    let mine: Vec<_> = dropped.iter().filter(|r| text(&r[0]) == "ks").collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(text(&mine[0][2]), "v");
    assert_eq!(mine[0][3], Some(CqlValue::Timestamp(1234)));
    assert_eq!(text(&mine[0][4]), "regular");
    assert_eq!(text(&mine[0][5]), "int");
}

// system_schema rows for a table with every column kind: types printed as Cassandra,
// positions, kinds, clustering orders; tables row has flags {'compound'}.
#[test]
fn system_schema_rows() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    n.ok("CREATE TYPE addr (street text, nums list<int>)");
    n.ok(
        "CREATE TABLE t (a int, b text, c timeuuid, d int, s set<int> static, m map<text, int>, \
          f frozen<list<int>>, u frozen<addr>, tu tuple<int, text>, PRIMARY KEY ((a, b), c, d)) \
          WITH CLUSTERING ORDER BY (c DESC, d ASC)",
    );
    let (specs, _) = n.schema.virtual_table("system_schema", "columns").unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "keyspace_name",
            "table_name",
            "column_name",
            "clustering_order",
            "column_name_bytes",
            "kind",
            "position",
            "type"
        ]
    );
    let rows: Vec<Vec<Option<CqlValue>>> = n
        .rows("columns")
        .into_iter()
        .filter(|r| text(&r[0]) == "ks")
        .collect();
    let got: Vec<(String, String, String, i32, String)> = rows
        .iter()
        .map(|r| {
            let Some(CqlValue::Int(p)) = r[6] else {
                panic!()
            };
            (
                text(&r[2]).into(),
                text(&r[3]).into(),
                text(&r[5]).into(),
                p,
                text(&r[7]).into(),
            )
        })
        .collect();
    let want = [
        ("a", "none", "partition_key", 0, "int"),
        ("b", "none", "partition_key", 1, "text"),
        ("c", "desc", "clustering", 0, "timeuuid"),
        ("d", "asc", "clustering", 1, "int"),
        ("f", "none", "regular", -1, "frozen<list<int>>"),
        ("m", "none", "regular", -1, "map<text, int>"),
        ("s", "none", "static", -1, "set<int>"),
        ("tu", "none", "regular", -1, "frozen<tuple<int, text>>"),
        ("u", "none", "regular", -1, "frozen<addr>"),
    ];
    let want: Vec<(String, String, String, i32, String)> = want
        .iter()
        .map(|(a, b, c, d, e)| {
            (
                a.to_string(),
                b.to_string(),
                c.to_string(),
                *d,
                e.to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(rows[0][4], Some(CqlValue::Blob(b"a".to_vec())));

    let tables: Vec<_> = n
        .rows("tables")
        .into_iter()
        .filter(|r| text(&r[0]) == "ks")
        .collect();
    assert_eq!(tables.len(), 1);
    let (specs, _) = n.schema.virtual_table("system_schema", "tables").unwrap();
    let col = |name: &str| specs.iter().position(|s| s.name == name).unwrap();
    assert_eq!(
        tables[0][col("flags")],
        Some(CqlValue::Set(vec![CqlValue::Text("compound".into())]))
    );
    assert_eq!(
        tables[0][col("id")],
        Some(CqlValue::Uuid(n.schema.table("ks", "t").unwrap().id))
    );
    assert_eq!(
        tables[0][col("gc_grace_seconds")],
        Some(CqlValue::Int(864000))
    );

    let types: Vec<_> = n
        .rows("types")
        .into_iter()
        .filter(|r| text(&r[0]) == "ks")
        .collect();
    assert_eq!(
        types[0][3],
        Some(CqlValue::List(vec![
            CqlValue::Text("text".into()),
            CqlValue::Text("list<int>".into())
        ]))
    );
    let keyspaces = n.rows("keyspaces");
    let names: Vec<&str> = keyspaces.iter().map(|r| text(&r[0])).collect();
    for k in [
        "ks",
        "system",
        "system_schema",
        "system_auth",
        "system_distributed",
        "system_traces",
    ] {
        assert!(names.contains(&k), "{k} in {names:?}");
    }
    let system = keyspaces.iter().find(|r| text(&r[0]) == "system").unwrap();
    assert_eq!(
        system[2],
        Some(CqlValue::Map(vec![(
            CqlValue::Text("class".into()),
            CqlValue::Text("org.apache.cassandra.locator.LocalStrategy".into())
        )]))
    );
    // The system keyspaces describe themselves; the empty tables exist.
    let cols = n.rows("columns");
    assert!(cols.iter().any(|r| text(&r[0]) == "system_schema"
        && text(&r[1]) == "columns"
        && text(&r[2]) == "type"));
    for empty in ["indexes", "views", "triggers", "functions", "aggregates"] {
        assert!(n.rows(empty).is_empty());
        assert!(n.schema.table("system_schema", empty).is_ok());
    }
    assert!(n.schema.virtual_table("ks", "t").is_none());
    assert!(n.schema.table("system", "local").is_ok());
}

// User types: ALTER TYPE ADD/RENAME updates tables using the type; DROP TYPE is refused
// while used; messages as Cassandra.
#[test]
fn user_types() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    let r = n.ok("CREATE TYPE addr (street text)");
    let ResultMessage::SchemaChange(c) = r else {
        panic!()
    };
    assert_eq!(
        (c.target, c.name.as_str()),
        (SchemaChangeTarget::Type, "addr")
    );
    invalid(
        n.err("CREATE TYPE addr (x int)"),
        "A user type with name 'addr' already exists",
    );
    assert_eq!(
        n.ok("CREATE TYPE IF NOT EXISTS addr (x int)"),
        ResultMessage::Void
    );
    n.ok("CREATE TABLE t (k int PRIMARY KEY, a frozen<addr>)");
    n.ok("ALTER TYPE addr ADD zip int");
    n.ok("ALTER TYPE addr RENAME street TO road");
    let t = n.schema.table("ks", "t").unwrap();
    let CqlType::Frozen(inner) = &t.column("a").unwrap().cql_type else {
        panic!()
    };
    let CqlType::Udt { fields, .. } = &**inner else {
        panic!()
    };
    let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, ["road", "zip"]);
    assert_eq!(n.schema.user_type("ks", "addr").unwrap().fields.len(), 2);
    assert_eq!(
        n.schema.resolve_type("ks", "frozen<addr>").unwrap(),
        t.column("a").unwrap().cql_type
    );
    invalid(
        n.err("DROP TYPE addr"),
        "Cannot drop user type 'ks.addr' as it is still used by tables t",
    );
    n.ok("DROP TABLE t");
    n.ok("DROP TYPE addr");
    invalid(n.err("DROP TYPE addr"), "Type 'ks.addr' doesn't exist");
    assert_eq!(n.ok("DROP TYPE IF EXISTS addr"), ResultMessage::Void);
}

// Statements Sibyl does not support are refused with Invalid, not silently accepted.
#[test]
fn unsupported_statements() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    n.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    assert!(matches!(
        n.err("CREATE INDEX ON t (v)"),
        CqlError::Invalid(_)
    ));
    assert!(matches!(
        n.err("CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k)"),
        CqlError::Invalid(_)
    ));
    assert_eq!(n.ok("DROP INDEX IF EXISTS i"), ResultMessage::Void);
}

// TRUNCATE empties the storage table (memtable and sstables); DROP TABLE and DROP
// KEYSPACE remove the storage tables.
#[test]
fn truncate_and_drop_reach_storage() {
    use sibyl_storage::{Cell, DecoratedKey, Mutation, Row};
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    n.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    let t = n.schema.table("ks", "t").unwrap();
    let st = n.storage.table(t.storage_id()).unwrap();
    let write = || {
        let mut m = Mutation::new(t.storage_id(), DecoratedKey::new(vec![0, 0, 0, 1]));
        let mut row = Row::new(bytes::Bytes::new());
        row.add_cell(Cell::live(1, 10, vec![0, 0, 0, 2]));
        m.update.add_row(row);
        n.storage.apply(&m).unwrap();
    };
    write();
    st.flush().unwrap();
    write();
    assert!(!st.sstable_generations().is_empty());
    assert_eq!(n.ok("TRUNCATE t"), ResultMessage::Void);
    assert!(st.sstable_generations().is_empty());
    assert_eq!(st.memtable_size(), 0);
    invalid(n.err("TRUNCATE nope"), "unconfigured table nope");
    let r = n.ok("DROP TABLE t");
    let ResultMessage::SchemaChange(c) = r else {
        panic!()
    };
    assert_eq!(
        (c.change, c.target),
        (SchemaChangeType::Dropped, SchemaChangeTarget::Table)
    );
    assert!(n.storage.table(t.storage_id()).is_err());
    invalid(n.err("DROP TABLE t"), "Table 'ks.t' doesn't exist");
    assert_eq!(n.ok("DROP TABLE IF EXISTS t"), ResultMessage::Void);
    n.ok("CREATE TABLE t2 (k int PRIMARY KEY)");
    let t2 = n.schema.table("ks", "t2").unwrap();
    n.ok("DROP KEYSPACE ks");
    assert!(n.storage.table(t2.storage_id()).is_err());
    assert!(n.schema.keyspace("ks").is_none());
}

fn without_storage(n: &Node) -> Vec<Arc<TableMetadata>> {
    n.schema
        .keyspace("ks")
        .unwrap()
        .tables
        .values()
        .cloned()
        .collect()
}

// The schema survives a restart: same keyspaces, tables, ids, column ids, dropped
// columns, types and version; the version changes with every DDL.
#[test]
fn persistence_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, types, version) = {
        let n = Node::with_ks(dir.path());
        let mut versions = vec![n.schema.version()];
        n.ok("CREATE TYPE addr (street text, zip int)");
        versions.push(n.schema.version());
        n.ok("CREATE TYPE wrap (a frozen<addr>)");
        n.ok("CREATE TABLE t (k int, c int, v frozen<wrap>, w map<text, int>, PRIMARY KEY (k, c)) WITH comment = 'x'");
        versions.push(n.schema.version());
        n.ok("ALTER TABLE t DROP w");
        versions.push(n.schema.version());
        let mut dedup = versions.clone();
        dedup.dedup();
        assert_eq!(
            dedup.len(),
            versions.len(),
            "every change changes the version"
        );
        let v = n.schema.version();
        assert_eq!((v >> 76) & 0xf, 3, "a name-based (MD5) UUID");
        (
            without_storage(&n),
            n.schema.keyspace("ks").unwrap().types.clone(),
            v,
        )
    };
    let n = open(dir.path());
    assert_eq!(without_storage(&n), tables);
    assert_eq!(n.schema.keyspace("ks").unwrap().types, types);
    assert_eq!(n.schema.version(), version);
    let t = n.schema.table("ks", "t").unwrap();
    assert!(n.storage.table(t.storage_id()).is_ok());
}

// A corrupt schema file is an error at open that names the file, never an empty schema.
#[test]
fn corrupt_schema_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let n = Node::with_ks(dir.path());
        n.ok("CREATE TABLE t (k int PRIMARY KEY)");
    }
    let path = dir.path().join("schema").join("schema.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    let mut cfg = StorageConfig::new(dir.path().join("storage"));
    cfg.background = false;
    let (storage, _) = Storage::open(cfg).unwrap();
    let e = SchemaManager::open(Arc::new(storage), &dir.path().join("schema"))
        .err()
        .expect("must fail");
    let msg = e.to_string();
    assert!(
        msg.contains("schema.db") && msg.contains("checksum"),
        "{msg}"
    );
}

// DESCRIBE prints CREATE statements exactly as Cassandra 4 does, and executing the
// printed statements on a fresh node recreates the same metadata.
#[test]
fn describe_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::with_ks(dir.path());
    n.ok("CREATE TABLE simple (k int PRIMARY KEY, v text)");
    let rows = n.describe(DescribeTarget::Table(QualifiedName::new("simple")));
    assert_eq!(
        rows[0][..3],
        ["ks".to_string(), "table".into(), "simple".into()]
    );
    assert_eq!(
        rows[0][3],
        "CREATE TABLE ks.simple (\n    k int PRIMARY KEY,\n    v text\n) WITH additional_write_policy = '99p'\n    \
         AND bloom_filter_fp_chance = 0.01\n    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}\n    \
         AND cdc = false\n    AND comment = ''\n    \
         AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}\n    \
         AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.ZstdCompressor'}\n    \
         AND crc_check_chance = 1.0\n    AND default_time_to_live = 0\n    AND extensions = {}\n    \
         AND gc_grace_seconds = 864000\n    AND max_index_interval = 2048\n    AND memtable_flush_period_in_ms = 0\n    \
         AND min_index_interval = 128\n    AND read_repair = 'BLOCKING'\n    AND speculative_retry = '99p';"
    );
    n.ok("CREATE TYPE \"Addr\" (street text, \"Zip\" int)");
    n.ok("CREATE TABLE \"Mixed\" (a int, b text, \"Cc\" int, s int static, l list<int>, st int, u frozen<\"Addr\">, \
          m map<text, frozen<list<int>>>, PRIMARY KEY ((a, b), \"Cc\")) WITH CLUSTERING ORDER BY (\"Cc\" DESC) \
          AND comment = 'it''s' AND compaction = {'class': 'LeveledCompactionStrategy'} AND default_time_to_live = 7 \
          AND speculative_retry = '95PERCENTILE' AND caching = {'keys': 'NONE'}");
    let schema = n.describe(DescribeTarget::Keyspace {
        only: false,
        name: None,
    });
    let kinds: Vec<&str> = schema.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(kinds, ["keyspace", "type", "table", "table"]);
    assert_eq!(
        schema[0][3],
        "CREATE KEYSPACE ks WITH replication = {'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '1'}  AND durable_writes = true;"
    );
    let mixed = &schema[2][3];
    assert!(mixed.starts_with("CREATE TABLE ks.\"Mixed\" (\n    a int,\n    b text,\n    \"Cc\" int,\n    s int static,\n    st int,\n    u frozen<\"Addr\">,\n    l list<int>,\n    m map<text, frozen<list<int>>>,\n    PRIMARY KEY ((a, b), \"Cc\")\n) WITH CLUSTERING ORDER BY (\"Cc\" DESC)\n    AND additional_write_policy"), "{mixed}");

    let dir2 = tempfile::tempdir().unwrap();
    let fresh = open(dir2.path());
    for row in &schema {
        fresh.ok(&row[3]);
    }
    for name in ["simple", "Mixed"] {
        let a = n.schema.table("ks", name).unwrap();
        let mut b = (*fresh.schema.table("ks", name).unwrap()).clone();
        b.id = a.id;
        let mut a = (*a).clone();
        // Column ids follow creation order, which DESCRIBE does not preserve.
        for c in a.columns.iter_mut().chain(b.columns.iter_mut()) {
            c.id = 0;
        }
        assert_eq!(a, b, "{name}");
    }
    assert_eq!(
        fresh.describe(DescribeTarget::Keyspace {
            only: false,
            name: None
        }),
        schema
    );

    let listing = n.describe(DescribeTarget::Tables);
    assert_eq!(
        listing,
        [
            vec!["ks".to_string(), "table".into(), "Mixed".into()],
            vec!["ks".into(), "table".into(), "simple".into()]
        ]
    );
    let e = n
        .schema
        .describe(
            &DescribeTarget::Table(QualifiedName::new("nope")),
            Some("ks"),
        )
        .unwrap_err();
    invalid(e, "'nope' not found in keyspace 'ks'");
    let e = n
        .schema
        .describe(
            &DescribeTarget::Keyspace {
                only: false,
                name: Some("nope".into()),
            },
            None,
        )
        .unwrap_err();
    invalid(e, "'nope' not found in keyspaces");
    let generic = n.describe(DescribeTarget::Generic(QualifiedName::new("simple")));
    assert_eq!(generic[0][2], "simple");
    let full = n.describe(DescribeTarget::Schema { full: true });
    assert!(full
        .iter()
        .any(|r| r[0] == "system_schema" && r[2] == "columns"));
    let user = n.describe(DescribeTarget::Schema { full: false });
    assert!(user.iter().all(|r| r[0] == "ks"));
    let Statement::CreateTable(_) =
        parse_statement(&full.iter().find(|r| r[2] == "local").unwrap()[3]).unwrap()
    else {
        panic!()
    };
}
