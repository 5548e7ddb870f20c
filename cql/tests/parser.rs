//! Statement-level tests of the CQL parser: a table of statements taken from
//! (or modelled on) the Cassandra CQL documentation that must parse, a table
//! of bad inputs with the exact Cassandra-style messages they must produce,
//! and property tests that no input makes the parser panic.

use proptest::prelude::*;
use sibyl_cql::parser::{
    parse_script, parse_statement, parse_statement_with_markers, parse_statements, QualifiedName,
    Statement, MAX_NESTING_DEPTH,
};

/// Statements from the CQL docs (dml.adoc, ddl.adoc, types.adoc, security,
/// describe) plus case/quote/comment variants. Each must parse.
const VALID: &[&str] = &[
    // SELECT
    "SELECT name, occupation FROM users WHERE userid IN (199, 200, 207)",
    "SELECT JSON name, occupation FROM users WHERE userid = 199",
    "SELECT name AS user_name, occupation AS user_occupation FROM users",
    "SELECT time, value FROM events WHERE event_type = 'myEvent' AND time > '2011-02-03' AND time <= '2012-01-01'",
    "SELECT COUNT (*) AS user_count FROM users",
    "SELECT count(1) FROM users",
    "SELECT DISTINCT partition_key FROM t",
    "SELECT * FROM posts WHERE userid = 'john doe' AND (blog_title, posted_at) > ('John''s Blog', '2012-01-01')",
    "SELECT * FROM posts WHERE token(userid) > token('tom') AND token(userid) < token('bob')",
    "SELECT * FROM t WHERE token(a, b) > 123",
    "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
    "SELECT * FROM t WHERE (a, b) IN ?",
    "SELECT * FROM t WHERE a IN ?",
    "SELECT * FROM t WHERE a IN ()",
    "SELECT * FROM users WHERE birth_year = 1981 AND country = 'FR' ALLOW FILTERING",
    "SELECT * FROM t WHERE tags CONTAINS 'x' AND m CONTAINS KEY 'k' AND m['k'] = 'v'",
    "SELECT * FROM t WHERE name LIKE 'abc%'",
    "SELECT writetime(v), ttl(v), maxwritetime(v) FROM t",
    "SELECT toJson(v), now(), uuid(), toTimestamp(now()), max(c), min(c), avg(c), sum(c) FROM t",
    "SELECT CAST(a AS text), u.street, m['k'], m['a'..'b'], l[1..], s[..'z'] FROM t",
    "SELECT partition_key, clustering, count(*) FROM t GROUP BY partition_key, clustering",
    "SELECT * FROM t WHERE pk = 1 ORDER BY ck DESC PER PARTITION LIMIT 2 LIMIT 10",
    "SELECT * FROM t ORDER BY v ANN OF [1.0, 2.0, 3.0] LIMIT 5",
    "SELECT * FROM t WHERE a = ? AND b = :bee LIMIT :lim",
    "SELECT * FROM t WHERE a = (int) ? AND b = blobAsText(0xCAFE)",
    // case and quoting rules
    "select \"MyColumn\", myColumn, MYCOLUMN from \"MyKs\".\"MyTable\" where \"Quo\"\"te\" = 1",
    "SeLeCt * FrOm KS.Tbl",
    // comments
    "SELECT * -- a comment\nFROM t // another\n/* block\ncomment */ WHERE a = 1",
    // INSERT
    "INSERT INTO NerdMovies (movie, director, main_actor, year) VALUES ('Serenity', 'Joss Whedon', 'Nathan Fillion', 2005) USING TTL 86400",
    "INSERT INTO NerdMovies JSON '{\"movie\": \"Serenity\", \"director\": \"Joss Whedon\", \"year\": 2005}'",
    "INSERT INTO t JSON ? DEFAULT NULL",
    "INSERT INTO t JSON '{}' DEFAULT UNSET",
    "INSERT INTO t (a, b) VALUES (1, 2) IF NOT EXISTS USING TIMESTAMP 123 AND TTL 10",
    "INSERT INTO t (id, u) VALUES (123e4567-e89b-12d3-a456-426614174000, {street: '1 Main', zip: 12345})",
    "INSERT INTO t (a, b, c, d, e, f) VALUES (-1, 1.5e-3, NaN, -Infinity, 1h30m, P1DT2H)",
    "INSERT INTO t (l, s, m, tup, v) VALUES ([1, 2], {'a', 'b'}, {'k': 1}, (1, 'x'), [1.0, 2.0])",
    "INSERT INTO t (b, n, d) VALUES (true, null, $$dollar 'quoted' string$$)",
    // UPDATE
    "UPDATE NerdMovies USING TTL 400 SET director = 'Joss Whedon', main_actor = 'Nathan Fillion', year = 2005 WHERE movie = 'Serenity'",
    "UPDATE UserActions SET total = total + 2 WHERE user = B70DE1D0-9908-4AE3-BE34-5573E5B09F14 AND action = 'click'",
    "UPDATE t SET c = c - 1 WHERE k = 1",
    "UPDATE t SET c = c -1 WHERE k = 1",
    "UPDATE plays SET scores = scores + [ 14, 21 ] WHERE id = '123-afde'",
    "UPDATE plays SET scores = [ 3 ] + scores WHERE id = '123-afde'",
    "UPDATE plays SET scores[1] = 7 WHERE id = '123-afde'",
    "UPDATE users SET favs = favs - { 'movie' } WHERE id = 'jsmith'",
    "UPDATE users SET addr.street = 'x' WHERE id = 1",
    "UPDATE t SET s += {'x'}, m -= {'k'} WHERE id = 1",
    "UPDATE t SET v = 1 WHERE k = 1 IF EXISTS",
    "UPDATE t SET v = 1 WHERE k = 1 IF v = 0 AND m['k'] != 'x' AND u.f IN (1, 2)",
    // DELETE
    "DELETE FROM NerdMovies USING TIMESTAMP 1240003134 WHERE movie = 'Serenity'",
    "DELETE phone FROM Users WHERE userid IN (C73DE1D3-AF08-40F3-B124-3FF3E5109F22, B70DE1D0-9908-4AE3-BE34-5573E5B09F14)",
    "DELETE m['k'], u.f, l[0] FROM t WHERE k = 1 IF EXISTS",
    "DELETE FROM t WHERE k = 1 AND c > 5 IF v = 3",
    // BATCH
    "BEGIN BATCH INSERT INTO users (userid, password, name) VALUES ('user2', 'ch@ngem3b', 'second user'); UPDATE users SET password = 'ps22dhds' WHERE userid = 'user3'; INSERT INTO users (userid, password) VALUES ('user4', 'ch@ngem3c'); DELETE name FROM users WHERE userid = 'user1'; APPLY BATCH;",
    "BEGIN UNLOGGED BATCH USING TIMESTAMP 5 INSERT INTO t (a) VALUES (1) APPLY BATCH",
    "BEGIN COUNTER BATCH UPDATE c SET n = n + 1 WHERE k = 1; APPLY BATCH",
    "BEGIN BATCH APPLY BATCH",
    // keyspaces
    "CREATE KEYSPACE excelsior WITH replication = {'class': 'SimpleStrategy', 'replication_factor' : 3}",
    "CREATE KEYSPACE IF NOT EXISTS excalibur WITH replication = {'class': 'NetworkTopologyStrategy', 'DC1' : 1, 'DC2' : 3} AND durable_writes = false",
    "CREATE SCHEMA s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "ALTER KEYSPACE excelsior WITH replication = {'class': 'SimpleStrategy', 'replication_factor' : 4}",
    "DROP KEYSPACE excelsior",
    "DROP KEYSPACE IF EXISTS excelsior",
    "USE excelsior",
    "USE \"Excelsior\"",
    // tables
    "CREATE TABLE monkey_species (species text PRIMARY KEY, common_name text, population varint, average_size int) WITH comment='Important biological records'",
    "CREATE TABLE timeline (userid uuid, posted_month int, posted_time uuid, body text, posted_by text, PRIMARY KEY (userid, posted_month, posted_time)) WITH compaction = { 'class' : 'LeveledCompactionStrategy' }",
    "CREATE TABLE loads (machine inet, cpu int, mtime timeuuid, load float, PRIMARY KEY ((machine, cpu), mtime)) WITH CLUSTERING ORDER BY (mtime DESC)",
    "CREATE TABLE t (pk int, t int, v text, s text static, PRIMARY KEY (pk, t))",
    "CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY, l frozen<list<int>>, m map<text, frozen<set<int>>>, tu tuple<int, text, float>, v vector<float, 3>, u frozen<ks.address>, c 'org.apache.cassandra.db.marshal.UTF8Type')",
    "CREATE TABLE t (a ascii, b bigint, c blob, d boolean, e date, f decimal, g double, h duration, i float, j inet, k int PRIMARY KEY, l smallint, m text, n time, o timestamp, p timeuuid, q tinyint, r uuid, s varchar, t varint)",
    "CREATE TABLE counters (k int PRIMARY KEY, c counter)",
    "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c)) WITH COMPACT STORAGE AND CLUSTERING ORDER BY (c ASC) AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'} AND default_time_to_live = 0 AND bloom_filter_fp_chance = 0.01 AND ID = 5a1c395e-b41f-11e5-9f22-ba0be0483c18",
    "CREATE COLUMNFAMILY t (k int PRIMARY KEY)",
    "ALTER TABLE addamsFamily ADD gravesite varchar",
    "ALTER TABLE addamsFamily ADD IF NOT EXISTS (a int, b set<text>)",
    "ALTER TABLE addamsFamily DROP gravesite",
    "ALTER TABLE t DROP (a, b) USING TIMESTAMP 10",
    "ALTER TABLE t RENAME id TO key AND c TO d",
    "ALTER TABLE addamsFamily WITH comment = 'A most excellent and useful table' AND read_repair = 'NONE'",
    "ALTER TABLE IF EXISTS ks.t WITH gc_grace_seconds = 0",
    "DROP TABLE worldSeriesAttendees",
    "DROP TABLE IF EXISTS ks.t",
    "TRUNCATE superImportantData",
    "TRUNCATE TABLE ks.t",
    // types
    "CREATE TYPE udt_name (field1 int, field2 text)",
    "CREATE TYPE IF NOT EXISTS ks.address (street text, city text, zip text, phones map<text, frozen<phone>>)",
    "ALTER TYPE address ADD country text",
    "ALTER TYPE address RENAME zip TO zipcode",
    "DROP TYPE IF EXISTS ks.address",
    // indexes
    "CREATE INDEX userIndex ON NerdMovies (user)",
    "CREATE INDEX ON Mutants (abilityId)",
    "CREATE INDEX ON users (keys(favs))",
    "CREATE INDEX ON t (values(m))",
    "CREATE INDEX ON t (entries(m))",
    "CREATE INDEX ON t (full(fl))",
    "CREATE CUSTOM INDEX ON users (email) USING 'path.to.the.IndexClass'",
    "CREATE CUSTOM INDEX IF NOT EXISTS ann_idx ON t (v) USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function': 'cosine'}",
    "DROP INDEX userIndex",
    "DROP INDEX IF EXISTS ks.userIndex",
    // materialized views
    "CREATE MATERIALIZED VIEW monkeySpecies_by_population AS SELECT * FROM monkeySpecies WHERE population IS NOT NULL AND species IS NOT NULL PRIMARY KEY (population, species) WITH comment='Allow query by population instead of species'",
    "DROP MATERIALIZED VIEW IF EXISTS ks.mv",
    // roles / users / permissions
    "CREATE ROLE new_role",
    "CREATE ROLE alice WITH PASSWORD = 'password_a' AND LOGIN = true",
    "CREATE ROLE bob WITH PASSWORD = 'password_b' AND LOGIN = true AND SUPERUSER = true",
    "CREATE ROLE carlos WITH OPTIONS = { 'custom_option1' : 'option1_value', 'custom_option2' : 99 }",
    "CREATE ROLE IF NOT EXISTS dc_role WITH ACCESS TO DATACENTERS {'DC1', 'DC3'}",
    "CREATE ROLE all_dc WITH ACCESS TO ALL DATACENTERS",
    "ALTER ROLE bob WITH PASSWORD = 'PASSWORD_B' AND SUPERUSER = false",
    "DROP ROLE IF EXISTS bob",
    "CREATE USER alice WITH PASSWORD 'password_a' SUPERUSER",
    "CREATE USER IF NOT EXISTS bob WITH HASHED PASSWORD '$2a$10$x' NOSUPERUSER",
    "ALTER USER alice WITH PASSWORD 'PASSWORD_A'",
    "DROP USER IF EXISTS bob",
    "GRANT report_writer TO alice",
    "REVOKE report_writer FROM alice",
    "GRANT SELECT ON ALL KEYSPACES TO data_reader",
    "GRANT MODIFY ON KEYSPACE keyspace1 TO data_writer",
    "GRANT DROP ON keyspace1.table1 TO schema_owner",
    "GRANT EXECUTE ON FUNCTION keyspace1.user_function( int ) TO report_writer",
    "GRANT DESCRIBE ON ALL ROLES TO role_admin",
    "GRANT ALL PERMISSIONS ON ALL FUNCTIONS IN KEYSPACE ks TO admin",
    "REVOKE SELECT ON ALL KEYSPACES FROM data_reader",
    "LIST ROLES",
    "LIST ROLES OF alice NORECURSIVE",
    "LIST USERS",
    "LIST ALL PERMISSIONS OF alice",
    "LIST ALL PERMISSIONS ON keyspace1.table1 OF bob",
    "LIST SELECT PERMISSION ON ALL KEYSPACES",
    // functions / triggers (recognised only)
    "CREATE FUNCTION IF NOT EXISTS ks.f(input double) CALLED ON NULL INPUT RETURNS double LANGUAGE java AS 'return Double.valueOf(Math.log(input.doubleValue()));'",
    "DROP FUNCTION ks.f",
    "CREATE TRIGGER myTrigger ON myTable USING 'org.apache.cassandra.triggers.InvertedIndex'",
    // DESCRIBE
    "DESCRIBE FULL SCHEMA",
    "DESCRIBE SCHEMA WITH INTERNALS",
    "DESCRIBE KEYSPACES",
    "DESCRIBE KEYSPACE ks",
    "DESC ONLY KEYSPACE ks",
    "DESCRIBE TABLES",
    "DESCRIBE TABLE ks.t WITH INTERNALS",
    "DESCRIBE TYPES",
    "DESCRIBE TYPE ks.address",
    "DESCRIBE FUNCTIONS",
    "DESCRIBE AGGREGATES",
    "DESCRIBE CLUSTER",
    "DESCRIBE INDEX ks.idx",
    "DESCRIBE MATERIALIZED VIEW ks.mv",
    "DESCRIBE ks.t",
    "DESC t;",
    // trailing semicolons
    "SELECT * FROM t;",
    "SELECT * FROM t;;",
];

/// Bad inputs and the exact message Cassandra (ANTLR 3) reports for them.
const INVALID: &[(&str, &str)] = &[
    // unknown statement keyword
    (
        "SELEC * FROM t",
        "line 1:0 no viable alternative at input 'SELEC'",
    ),
    ("FOO", "line 1:0 no viable alternative at input 'FOO'"),
    // unknown object after CREATE / DROP / ALTER
    (
        "CREATE TABL t (a int PRIMARY KEY)",
        "line 1:7 no viable alternative at input 'TABL'",
    ),
    (
        "DROP TABL t",
        "line 1:5 no viable alternative at input 'TABL'",
    ),
    (
        "ALTER TABL t ADD c int",
        "line 1:6 no viable alternative at input 'TABL'",
    ),
    // missing / misspelled required keyword
    (
        "SELECT * FORM t",
        "line 1:9 mismatched input 'FORM' expecting K_FROM",
    ),
    (
        "SELECT a, b t",
        "line 1:12 mismatched input 't' expecting K_FROM",
    ),
    (
        "SELECT * FROM",
        "line 1:13 no viable alternative at input '<EOF>'",
    ),
    (
        "INSERT INTO t (a) VALUE (1)",
        "line 1:18 mismatched input 'VALUE' expecting K_VALUES",
    ),
    (
        "INSERT t (a) VALUES (1)",
        "line 1:7 mismatched input 't' expecting K_INTO",
    ),
    (
        "UPDATE t SET a = 1",
        "line 1:18 mismatched input '<EOF>' expecting K_WHERE",
    ),
    (
        "DELETE FROM t",
        "line 1:13 mismatched input '<EOF>' expecting K_WHERE",
    ),
    (
        "BEGIN BATCH SELECT * FROM t APPLY BATCH",
        "line 1:12 mismatched input 'SELECT' expecting K_APPLY",
    ),
    (
        "CREATE KEYSPACE ks",
        "line 1:18 mismatched input '<EOF>' expecting K_WITH",
    ),
    // missing punctuation
    (
        "INSERT INTO t (a) VALUES (1",
        "line 1:27 mismatched input '<EOF>' expecting ')'",
    ),
    (
        "CREATE TABLE t (a int PRIMARY KEY",
        "line 1:33 mismatched input '<EOF>' expecting ')'",
    ),
    (
        "SELECT * FROM t WHERE a = [1, 2",
        "line 1:31 mismatched input '<EOF>' expecting ']'",
    ),
    // trailing garbage
    (
        "SELECT * FROM t t2",
        "line 1:16 mismatched input 't2' expecting EOF",
    ),
    (
        "SELECT * FROM t WHERE a = 1 LIMT 5",
        "line 1:28 mismatched input 'LIMT' expecting EOF",
    ),
    // bad terms / operators
    (
        "SELECT * FROM t WHERE a = ",
        "line 1:26 no viable alternative at input '<EOF>'",
    ),
    (
        "SELECT * FROM t WHERE a",
        "line 1:23 no viable alternative at input '<EOF>'",
    ),
    (
        "SELECT * FROM t WHERE a = FROM",
        "line 1:26 no viable alternative at input 'FROM'",
    ),
    (
        "SELECT * FROM t LIMIT 'x'",
        "line 1:22 no viable alternative at input 'x'",
    ),
    // reserved keywords are not identifiers
    (
        "SELECT * FROM table",
        "line 1:14 no viable alternative at input 'table'",
    ),
    (
        "CREATE TABLE t (select int PRIMARY KEY)",
        "line 1:16 no viable alternative at input 'select'",
    ),
    // lexer errors
    (
        "SELECT * FROM t WHERE a = 'abc",
        "line 1:30 mismatched character '<EOF>' expecting '''",
    ),
    (
        "SELECT \"abc FROM t",
        "line 1:18 mismatched character '<EOF>' expecting '\"'",
    ),
    (
        "SELECT * FROM t WHERE a = $$abc",
        "line 1:31 mismatched character '<EOF>' expecting '$'",
    ),
    (
        "SELECT * FROM t WHERE a = @",
        "line 1:26 no viable alternative at character '@'",
    ),
    (
        "SELECT * FROM t WHERE a ! 1",
        "line 1:25 mismatched character ' ' expecting '='",
    ),
    (
        "SELECT * FROM t /* unterminated",
        "line 1:31 mismatched character '<EOF>' expecting '*'",
    ),
    // multi-line positions
    (
        "SELECT *\nFROM t\nWHER a = 1",
        "line 3:0 mismatched input 'WHER' expecting EOF",
    ),
    (
        "SELECT *\n  FORM t",
        "line 2:2 mismatched input 'FORM' expecting K_FROM",
    ),
];

// Every documented statement in VALID parses, both alone and as a script.
#[test]
fn documented_statements_parse() {
    let mut failures = Vec::new();
    for src in VALID {
        if let Err(e) = parse_statement(src) {
            failures.push(format!("{src}\n    -> {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "failed to parse:\n{}",
        failures.join("\n")
    );
    let script = VALID
        .iter()
        .map(|s| s.trim_end_matches(';'))
        .collect::<Vec<_>>()
        .join(";\n");
    assert_eq!(
        parse_statements(&script).expect("script parses").len(),
        VALID.len()
    );
}

// Every bad input yields exactly Cassandra's message.
#[test]
fn bad_inputs_have_cassandra_messages() {
    let mut failures = Vec::new();
    for (src, want) in INVALID {
        match parse_statement(src) {
            Ok(st) => failures.push(format!("{src:?} parsed as {st:?}")),
            Err(e) if e.to_string() != *want => {
                failures.push(format!("{src:?}\n    got  {e}\n    want {want}"))
            }
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "wrong errors:\n{}",
        failures.join("\n")
    );
}

// Unquoted names are lower-cased, quoted names keep case and unescape "".
#[test]
fn identifier_case_rules() {
    let Statement::Select(s) = parse_statement("SELECT * FROM \"MyKs\".MyTable").expect("parses")
    else {
        panic!("not a select")
    };
    assert_eq!(s.table, QualifiedName::qualified("MyKs", "mytable"));
}

// A script reports bind markers per statement, each numbered from zero.
#[test]
fn script_bind_markers_are_per_statement() {
    let p = parse_script("SELECT * FROM t WHERE a = ?; INSERT INTO t (a, b) VALUES (:x, ?)")
        .expect("parses");
    assert_eq!(p[0].bind_markers, vec![None]);
    assert_eq!(p[1].bind_markers, vec![Some("x".to_string()), None]);
    let one =
        parse_statement_with_markers("UPDATE t SET a = ? WHERE k IN ? IF b = ?").expect("parses");
    assert_eq!(one.bind_count(), 3);
}

// Deeply nested input is refused with an error instead of overflowing the stack.
#[test]
fn deep_nesting_is_an_error() {
    for (open, close) in [("[", "]"), ("(", ")"), ("{", "}")] {
        let n = 100_000;
        let src = format!(
            "SELECT * FROM t WHERE a = {}1{}",
            open.repeat(n),
            close.repeat(n)
        );
        let e = parse_statement(&src).expect_err("too deep");
        assert!(
            e.message
                .contains(&format!("maximum nesting depth of {MAX_NESTING_DEPTH}")),
            "{e}"
        );
    }
    let ty = format!(
        "CREATE TABLE t (a {}int{} PRIMARY KEY)",
        "frozen<".repeat(5000),
        ">".repeat(5000)
    );
    assert!(parse_statement(&ty).is_err());
    let rel = format!(
        "SELECT * FROM t WHERE {}a = 1{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert!(parse_statement(&rel).is_err());
    let sel = format!("SELECT {}a{} FROM t", "f(".repeat(5000), ")".repeat(5000));
    assert!(parse_statement(&sel).is_err());
}

/// Pieces that mutated statements are built from: tokens likely to stress
/// the grammar's choice points.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ".",
    "..",
    ":",
    "?",
    "'",
    "\"",
    "$$",
    "-",
    "--",
    "/*",
    "*/",
    "=",
    "!=",
    "<",
    ">=",
    "+",
    "+=",
    "*",
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "IN",
    "IF",
    "EXISTS",
    "NOT",
    "null",
    "NaN",
    "-Infinity",
    "token",
    "frozen<",
    ">",
    "1h",
    "P1D",
    "0x",
    "1.5e",
    "µs",
    "BEGIN BATCH",
    "APPLY BATCH",
    "PRIMARY KEY",
    "WITH",
    "CONTAINS KEY",
    "IS NOT NULL",
    "\n",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    // Arbitrary strings never make the parser panic (it only returns).
    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,200}") {
        let _ = parse_statement(&s);
        let _ = parse_statements(&s);
    }

    // Arbitrary CQL-ish character soup never makes the parser panic.
    #[test]
    fn cql_alphabet_never_panics(s in "[a-zA-Z0-9 _'\"$(){}\\[\\],;.:?=!<>+*/%\\-\n]{0,200}") {
        let _ = parse_script(&s);
    }

    // Valid statements mutated by deletion, insertion or truncation never panic.
    #[test]
    fn mutated_statements_never_panic(
        idx in 0..VALID.len(),
        cut in 0usize..400,
        len in 0usize..20,
        frag in 0..FRAGMENTS.len(),
        mode in 0u8..3,
    ) {
        let src = VALID[idx];
        let mut cut = cut.min(src.len());
        while !src.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut end = (cut + len).min(src.len());
        while !src.is_char_boundary(end) {
            end -= 1;
        }
        let mutated = match mode {
            0 => format!("{}{}", &src[..cut], &src[end..]),
            1 => format!("{}{}{}", &src[..cut], FRAGMENTS[frag], &src[cut..]),
            _ => src[..cut].to_string(),
        };
        let _ = parse_statement(&mutated);
        let _ = parse_statements(&mutated);
    }
}
