//! Unit tests for the parser, one group per grammar construct. The
//! statement-level table of doc examples and the error table live in
//! `cql/tests/parser.rs`.

use super::*;

fn one(s: &str) -> Statement {
    match parse_statement(s) {
        Ok(st) => st,
        Err(e) => panic!("{s}: {e}"),
    }
}

fn err(s: &str) -> String {
    match parse_statement(s) {
        Ok(st) => panic!("{s} parsed: {st:?}"),
        Err(e) => e.to_string(),
    }
}

fn select(s: &str) -> SelectStatement {
    match one(s) {
        Statement::Select(x) => x,
        other => panic!("not a select: {other:?}"),
    }
}

fn c(kind: ConstantKind, text: &str) -> Term {
    Term::Constant(Constant {
        kind,
        text: text.to_string(),
    })
}

fn int(text: &str) -> Term {
    c(ConstantKind::Integer, text)
}

fn s(text: &str) -> Term {
    c(ConstantKind::String, text)
}

/// The term of `SELECT * FROM t WHERE a = <term>`.
fn term(t: &str) -> Term {
    let sel = select(&format!("SELECT * FROM t WHERE a = {t}"));
    match sel.where_clause.into_iter().next() {
        Some(Relation::Column { value, .. }) => value,
        other => panic!("{other:?}"),
    }
}

/// The type of `CREATE TABLE t (a <type> PRIMARY KEY)`.
fn ty(t: &str) -> CqlTypeExpr {
    match one(&format!("CREATE TABLE t (a {t} PRIMARY KEY)")) {
        Statement::CreateTable(ct) => ct.columns[0].ty.clone(),
        other => panic!("{other:?}"),
    }
}

// A minimal SELECT fills every clause with its default.
#[test]
fn select_minimal() {
    let sel = select("SELECT * FROM ks.t");
    assert_eq!(sel.selection, Selection::Star);
    assert_eq!(sel.table, QualifiedName::qualified("ks", "t"));
    assert!(sel.where_clause.is_empty() && sel.limit.is_none() && !sel.allow_filtering);
}

// Every optional SELECT clause is recognised, in Cassandra's order.
#[test]
fn select_all_clauses() {
    let sel = select(
        "SELECT JSON DISTINCT a FROM t WHERE a = 1 GROUP BY a, b ORDER BY b DESC, c ASC \
         PER PARTITION LIMIT 2 LIMIT ? ALLOW FILTERING",
    );
    assert!(sel.json && sel.distinct && sel.allow_filtering);
    assert_eq!(sel.group_by, vec!["a", "b"]);
    assert_eq!(
        sel.order_by,
        vec![("b".into(), Ordering::Desc), ("c".into(), Ordering::Asc)]
    );
    assert_eq!(sel.per_partition_limit, Some(int("2")));
    assert_eq!(
        sel.limit,
        Some(Term::Bind(BindMarker {
            index: 0,
            name: None
        }))
    );
}

// `json` and `distinct` are column names when they are the selected column.
#[test]
fn select_modifiers_as_columns() {
    let sel = select("SELECT json, distinct FROM t");
    assert!(!sel.json && !sel.distinct);
    let sel = select("SELECT json FROM t");
    assert_eq!(
        sel.selection,
        Selection::Selectors(vec![Selector {
            selectable: Selectable::Column("json".into()),
            alias: None
        }])
    );
}

// Selectors: aliases, COUNT(*), writetime/ttl, CAST, functions, fields, elements, slices.
#[test]
fn selectors() {
    let sel = select(
        "SELECT a AS x, COUNT(*), count(1), writetime(b), ttl(b), CAST(c AS text), \
         token(k1, k2), ks.f(a, 1), now(), u.f, m['k'], m['a'..'b'], \"Q\" FROM t",
    );
    let Selection::Selectors(v) = sel.selection else {
        panic!()
    };
    let col = |n: &str| Box::new(Selectable::Column(n.into()));
    let got: Vec<_> = v.iter().map(|s| s.selectable.clone()).collect();
    assert_eq!(v[0].alias.as_deref(), Some("x"));
    assert_eq!(
        got,
        vec![
            Selectable::Column("a".into()),
            Selectable::CountStar,
            Selectable::FunctionCall {
                name: QualifiedName::new("count"),
                args: vec![Selectable::Term(int("1"))]
            },
            Selectable::WriteTime(col("b")),
            Selectable::Ttl(col("b")),
            Selectable::Cast {
                selectable: col("c"),
                ty: CqlTypeExpr::Native(NativeType::Text)
            },
            Selectable::FunctionCall {
                name: QualifiedName::new("token"),
                args: vec![
                    Selectable::Column("k1".into()),
                    Selectable::Column("k2".into())
                ]
            },
            Selectable::FunctionCall {
                name: QualifiedName::qualified("ks", "f"),
                args: vec![Selectable::Column("a".into()), Selectable::Term(int("1"))]
            },
            Selectable::FunctionCall {
                name: QualifiedName::new("now"),
                args: vec![]
            },
            Selectable::Field {
                selectable: col("u"),
                field: "f".into()
            },
            Selectable::Element {
                selectable: col("m"),
                key: s("k")
            },
            Selectable::Slice {
                selectable: col("m"),
                from: Some(s("a")),
                to: Some(s("b"))
            },
            Selectable::Column("Q".into()),
        ]
    );
}

// Relations of every shape Cassandra accepts in WHERE.
#[test]
fn relations() {
    let sel = select(
        "SELECT * FROM t WHERE a = 1 AND b != 2 AND c < 3 AND d <= 4 AND e > 5 AND f >= 6 \
         AND g IN (1, 2) AND h IN ? AND i CONTAINS 1 AND j CONTAINS KEY 'k' AND l LIKE 'x%' \
         AND m['k'] = 'v' AND token(a, b) > token(?, ?) AND (c1, c2) > (1, 2) \
         AND (c1, c2) IN ((1, 2), (3, 4)) AND n IS NOT NULL AND (o = 1)",
    );
    let w = sel.where_clause;
    assert_eq!(w.len(), 17);
    assert_eq!(
        w[1],
        Relation::Column {
            column: "b".into(),
            op: Operator::Neq,
            value: int("2")
        }
    );
    assert_eq!(
        w[6],
        Relation::In {
            column: "g".into(),
            values: InValues::List(vec![int("1"), int("2")])
        }
    );
    assert!(matches!(&w[7], Relation::In { values: InValues::Marker(m), .. } if m.index == 0));
    assert!(matches!(
        &w[9],
        Relation::Column {
            op: Operator::ContainsKey,
            ..
        }
    ));
    assert!(matches!(
        &w[10],
        Relation::Column {
            op: Operator::Like,
            ..
        }
    ));
    assert!(matches!(
        &w[11],
        Relation::Element {
            op: Operator::Eq,
            ..
        }
    ));
    assert!(
        matches!(&w[12], Relation::Token { columns, op: Operator::Gt, value: Term::FunctionCall { .. } } if columns.len() == 2)
    );
    assert!(matches!(&w[13], Relation::MultiColumn { value: Term::Tuple(t), .. } if t.len() == 2));
    assert!(
        matches!(&w[14], Relation::MultiColumnIn { values: InValues::List(l), .. } if l.len() == 2)
    );
    assert_eq!(w[15], Relation::IsNotNull { column: "n".into() });
    assert!(matches!(&w[16], Relation::Column { column, .. } if column == "o"));
}

// Constants keep their kind and literal text.
#[test]
fn constants() {
    assert_eq!(term("'it''s'"), s("it's"));
    assert_eq!(term("$$raw ' text$$"), s("raw ' text"));
    assert_eq!(term("-12"), int("-12"));
    assert_eq!(term("1.5e3"), c(ConstantKind::Float, "1.5e3"));
    assert_eq!(term("TRUE"), c(ConstantKind::Boolean, "TRUE"));
    assert_eq!(term("null"), c(ConstantKind::Null, "null"));
    assert_eq!(term("NaN"), c(ConstantKind::NaN, "NaN"));
    assert_eq!(term("-Infinity"), c(ConstantKind::Infinity, "-Infinity"));
    assert_eq!(term("0xcafe"), c(ConstantKind::Hex, "0xcafe"));
    assert_eq!(
        term("123e4567-e89b-12d3-a456-426614174000"),
        c(ConstantKind::Uuid, "123e4567-e89b-12d3-a456-426614174000")
    );
    assert_eq!(term("1h30m"), c(ConstantKind::Duration, "1h30m"));
    assert_eq!(term("P1DT2H"), c(ConstantKind::Duration, "P1DT2H"));
}

// Collection, tuple, UDT, function-call and type-hint terms.
#[test]
fn composite_terms() {
    assert_eq!(term("[1, 2]"), Term::List(vec![int("1"), int("2")]));
    assert_eq!(term("[]"), Term::List(vec![]));
    assert_eq!(term("{1, 2}"), Term::Set(vec![int("1"), int("2")]));
    assert_eq!(term("{}"), Term::EmptyCollection);
    assert_eq!(term("{'a': 1}"), Term::Map(vec![(s("a"), int("1"))]));
    assert_eq!(term("(1, 'x')"), Term::Tuple(vec![int("1"), s("x")]));
    assert_eq!(
        term("{street: 'x', \"Zip\": 1}"),
        Term::Udt(vec![("street".into(), s("x")), ("Zip".into(), int("1"))])
    );
    assert_eq!(
        term("now()"),
        Term::FunctionCall {
            name: QualifiedName::new("now"),
            args: vec![]
        }
    );
    assert_eq!(
        term("(int) ?"),
        Term::Cast {
            ty: CqlTypeExpr::Native(NativeType::Int),
            term: Box::new(Term::Bind(BindMarker {
                index: 0,
                name: None
            }))
        }
    );
    assert_eq!(
        term("('org.Custom') 0x01"),
        Term::Cast {
            ty: CqlTypeExpr::Custom("org.Custom".into()),
            term: Box::new(c(ConstantKind::Hex, "0x01"))
        }
    );
    assert_eq!(term("('a')"), Term::Tuple(vec![s("a")]));
    assert_eq!(
        term("[{1: [2]}]"),
        Term::List(vec![Term::Map(vec![(
            int("1"),
            Term::List(vec![int("2")])
        )])])
    );
}

// Bind markers are numbered in order; named ones keep their (normalised) name.
#[test]
fn bind_markers() {
    let p = parse_statement_with_markers(
        "INSERT INTO t (a, b, c) VALUES (?, :Foo, :\"Bar\") USING TTL ?",
    )
    .expect("parses");
    assert_eq!(p.bind_count(), 4);
    assert_eq!(
        p.bind_markers,
        vec![None, Some("foo".into()), Some("Bar".into()), None]
    );
}

// Every type form, including nesting, vectors, user and custom types.
#[test]
fn types() {
    use CqlTypeExpr::*;
    assert_eq!(ty("int"), Native(NativeType::Int));
    assert_eq!(ty("VARCHAR"), Native(NativeType::Varchar));
    assert_eq!(
        ty("map<text, frozen<list<int>>>"),
        Map(
            Box::new(Native(NativeType::Text)),
            Box::new(Frozen(Box::new(List(Box::new(Native(NativeType::Int))))))
        )
    );
    assert_eq!(ty("set<uuid>"), Set(Box::new(Native(NativeType::Uuid))));
    assert_eq!(
        ty("tuple<int, text>"),
        Tuple(vec![Native(NativeType::Int), Native(NativeType::Text)])
    );
    assert_eq!(
        ty("vector<float, 3>"),
        Vector(Box::new(Native(NativeType::Float)), 3)
    );
    assert_eq!(
        ty("frozen<ks.addr>"),
        Frozen(Box::new(UserDefined(QualifiedName::qualified(
            "ks", "addr"
        ))))
    );
    assert_eq!(ty("'org.Custom'"), Custom("org.Custom".into()));
    for name in [
        "ascii",
        "bigint",
        "blob",
        "boolean",
        "counter",
        "date",
        "decimal",
        "double",
        "duration",
        "float",
        "inet",
        "int",
        "smallint",
        "text",
        "time",
        "timestamp",
        "timeuuid",
        "tinyint",
        "uuid",
        "varchar",
        "varint",
    ] {
        assert!(matches!(ty(name), Native(_)), "{name}");
    }
}

// INSERT with columns, IF NOT EXISTS and USING; INSERT JSON with DEFAULT.
#[test]
fn insert() {
    let Statement::Insert(i) =
        one("INSERT INTO t (a, b) VALUES (1, 'x') IF NOT EXISTS USING TTL 10 AND TIMESTAMP 5")
    else {
        panic!()
    };
    assert!(i.if_not_exists);
    assert_eq!(i.using.ttl, Some(int("10")));
    assert_eq!(i.using.timestamp, Some(int("5")));
    assert_eq!(
        i.values,
        InsertValues::Values {
            columns: vec!["a".into(), "b".into()],
            values: vec![int("1"), s("x")]
        }
    );
    let Statement::Insert(i) = one("INSERT INTO t JSON '{\"a\": 1}' DEFAULT UNSET") else {
        panic!()
    };
    assert_eq!(
        i.values,
        InsertValues::Json {
            json: s("{\"a\": 1}"),
            default_unset: true
        }
    );
}

// Every assignment form of UPDATE, plus USING and IF conditions.
#[test]
fn update_assignments() {
    let Statement::Update(u) = one(
        "UPDATE t USING TIMESTAMP 1 SET a = 1, b = b + [2], c = [0] + c, d = d - {3}, e[1] = 'x', \
         f.g = 2, cnt = cnt + 1, cnt2 = cnt2 -1, h += {4}, i -= {5} WHERE k = 0 IF a = 1 AND e[1] = 'y' AND f.g > 0",
    ) else {
        panic!()
    };
    use Assignment::*;
    assert_eq!(
        u.assignments,
        vec![
            Set {
                column: "a".into(),
                value: int("1")
            },
            Add {
                column: "b".into(),
                value: Term::List(vec![int("2")])
            },
            Prepend {
                column: "c".into(),
                value: Term::List(vec![int("0")])
            },
            Subtract {
                column: "d".into(),
                value: Term::Set(vec![int("3")])
            },
            SetElement {
                column: "e".into(),
                key: int("1"),
                value: s("x")
            },
            SetField {
                column: "f".into(),
                field: "g".into(),
                value: int("2")
            },
            Add {
                column: "cnt".into(),
                value: int("1")
            },
            Subtract {
                column: "cnt2".into(),
                value: int("1")
            },
            Add {
                column: "h".into(),
                value: Term::Set(vec![int("4")])
            },
            Subtract {
                column: "i".into(),
                value: Term::Set(vec![int("5")])
            },
        ]
    );
    let Some(IfClause::Conditions(conds)) = u.if_clause else {
        panic!()
    };
    assert_eq!(conds.len(), 3);
    assert_eq!(conds[1].target, ConditionTarget::Element(int("1")));
    assert_eq!(conds[2].target, ConditionTarget::Field("g".into()));
    assert_eq!(
        conds[2].value,
        ConditionValue::Compare(Operator::Gt, int("0"))
    );
}

// `c = d + 1` names another column: rejected like Cassandra does.
#[test]
fn update_wrong_column_in_operation() {
    assert!(err("UPDATE t SET a = b + 1 WHERE k = 0").starts_with("line 1:17 Only expressions"));
}

// DELETE of rows, columns, elements and fields, with IF EXISTS and IN conditions.
#[test]
fn delete() {
    let Statement::Delete(d) =
        one("DELETE a, m['k'], u.f FROM t USING TIMESTAMP 3 WHERE k = 1 IF EXISTS")
    else {
        panic!()
    };
    assert_eq!(
        d.targets,
        vec![
            DeleteTarget::Column("a".into()),
            DeleteTarget::Element {
                column: "m".into(),
                key: s("k")
            },
            DeleteTarget::Field {
                column: "u".into(),
                field: "f".into()
            },
        ]
    );
    assert_eq!(d.timestamp, Some(int("3")));
    assert_eq!(d.if_clause, Some(IfClause::Exists));
    let Statement::Delete(d) = one("DELETE FROM t WHERE k = 1 IF a IN (1, 2)") else {
        panic!()
    };
    assert!(d.targets.is_empty());
    assert!(matches!(
        d.if_clause,
        Some(IfClause::Conditions(ref c)) if matches!(c[0].value, ConditionValue::In(InValues::List(_)))
    ));
}

// Batches: kinds, USING, children with and without `;`, markers counted across children.
#[test]
fn batch() {
    let p = parse_statement_with_markers(
        "BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (a) VALUES (?); \
         UPDATE t SET a = ? WHERE k = ? DELETE FROM t WHERE k = :k; APPLY BATCH",
    )
    .expect("parses");
    let Statement::Batch(b) = &p.statement else {
        panic!()
    };
    assert_eq!(b.kind, BatchKind::Unlogged);
    assert_eq!(b.statements.len(), 3);
    assert_eq!(p.bind_markers, vec![None, None, None, Some("k".into())]);
    let Statement::Batch(b) = one("BEGIN COUNTER BATCH APPLY BATCH") else {
        panic!()
    };
    assert_eq!((b.kind, b.statements.len()), (BatchKind::Counter, 0));
}

// Keyspace DDL and USE.
#[test]
fn keyspaces() {
    let Statement::CreateKeyspace(k) = one(
        "CREATE KEYSPACE IF NOT EXISTS Ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3} AND durable_writes = false",
    ) else {
        panic!()
    };
    assert!(k.if_not_exists);
    assert_eq!(k.name, "ks");
    assert_eq!(k.properties[0].name, "replication");
    assert!(matches!(&k.properties[0].value, PropertyValue::Map(m) if m.len() == 2));
    assert_eq!(
        k.properties[1].value,
        PropertyValue::Constant(Constant {
            kind: ConstantKind::Boolean,
            text: "false".into()
        })
    );
    assert!(matches!(
        one("ALTER KEYSPACE ks WITH durable_writes = true"),
        Statement::AlterKeyspace(_)
    ));
    assert_eq!(
        one("DROP KEYSPACE IF EXISTS ks"),
        Statement::DropKeyspace(DropStatement {
            if_exists: true,
            name: QualifiedName::new("ks")
        })
    );
    assert_eq!(one("USE \"MyKs\""), Statement::Use("MyKs".into()));
}

// CREATE TABLE: static columns, composite keys, options, clustering order, compact storage.
#[test]
fn create_table() {
    let Statement::CreateTable(t) = one(
        "CREATE TABLE IF NOT EXISTS ks.t (a int, b text, c int STATIC, d map<text, int>, \
         PRIMARY KEY ((a, b), d)) WITH comment = 'x' AND CLUSTERING ORDER BY (d DESC) \
         AND compaction = {'class': 'LeveledCompactionStrategy'} AND COMPACT STORAGE AND ID = 123e4567-e89b-12d3-a456-426614174000",
    ) else {
        panic!()
    };
    assert!(t.if_not_exists);
    assert_eq!(t.columns.len(), 4);
    assert!(t.columns[2].is_static);
    assert_eq!(
        t.primary_key,
        Some(PrimaryKey {
            partition: vec!["a".into(), "b".into()],
            clustering: vec!["d".into()]
        })
    );
    assert_eq!(t.options.clustering_order, vec![("d".into(), true)]);
    assert!(t.options.compact_storage);
    assert_eq!(t.options.properties.len(), 3);
    assert_eq!(t.options.properties[2].name, "id");
    let Statement::CreateTable(t) = one("CREATE TABLE t (k int PRIMARY KEY, v text,)") else {
        panic!()
    };
    assert!(t.columns[0].primary_key && t.primary_key.is_none());
}

// Every ALTER TABLE action, plus DROP TABLE and TRUNCATE.
#[test]
fn alter_table() {
    let action = |s: &str| match one(s) {
        Statement::AlterTable(a) => a.action,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(action("ALTER TABLE t ADD IF NOT EXISTS c int"), AlterTableAction::Add { if_not_exists: true, ref columns } if columns.len() == 1)
    );
    assert!(
        matches!(action("ALTER TABLE t ADD (c int, d set<text> STATIC)"), AlterTableAction::Add { ref columns, .. } if columns.len() == 2 && columns[1].is_static)
    );
    assert!(
        matches!(action("ALTER TABLE t DROP c"), AlterTableAction::Drop { ref columns, .. } if columns == &["c"])
    );
    assert!(
        matches!(action("ALTER TABLE t DROP (c, d) USING TIMESTAMP 5"), AlterTableAction::Drop { ref columns, timestamp: Some(_), .. } if columns.len() == 2)
    );
    assert_eq!(
        action("ALTER TABLE t RENAME a TO b AND c TO d"),
        AlterTableAction::Rename {
            if_exists: false,
            renames: vec![("a".into(), "b".into()), ("c".into(), "d".into())]
        }
    );
    assert!(
        matches!(action("ALTER TABLE t WITH comment = 'x' AND gc_grace_seconds = 10"), AlterTableAction::With(ref o) if o.properties.len() == 2)
    );
    assert!(matches!(
        one("DROP TABLE IF EXISTS ks.t"),
        Statement::DropTable(DropStatement {
            if_exists: true,
            ..
        })
    ));
    assert_eq!(
        one("TRUNCATE TABLE ks.t"),
        Statement::Truncate(QualifiedName::qualified("ks", "t"))
    );
    assert_eq!(
        one("TRUNCATE t"),
        Statement::Truncate(QualifiedName::new("t"))
    );
}

// User-defined type DDL.
#[test]
fn user_types() {
    let Statement::CreateType(t) =
        one("CREATE TYPE IF NOT EXISTS ks.address (street text, zip int)")
    else {
        panic!()
    };
    assert_eq!(t.fields.len(), 2);
    assert!(matches!(
        one("ALTER TYPE address ADD country text"),
        Statement::AlterType(AlterType {
            action: AlterTypeAction::Add { .. },
            ..
        })
    ));
    assert!(
        matches!(one("ALTER TYPE address RENAME zip TO code AND street TO s"), Statement::AlterType(AlterType { action: AlterTypeAction::Rename { ref renames, .. }, .. }) if renames.len() == 2)
    );
    assert!(matches!(
        one("DROP TYPE IF EXISTS address"),
        Statement::DropType(_)
    ));
}

// Index DDL: names optional, collection targets, custom classes and options.
#[test]
fn indexes() {
    let Statement::CreateIndex(i) = one("CREATE INDEX IF NOT EXISTS idx ON ks.t (keys(m))") else {
        panic!()
    };
    assert_eq!(
        (i.name.as_deref(), i.targets.clone()),
        (Some("idx"), vec![IndexTarget::Keys("m".into())])
    );
    let Statement::CreateIndex(i) = one("CREATE INDEX ON t (v)") else {
        panic!()
    };
    assert_eq!(i.name, None);
    for (src, target) in [
        ("values(m)", IndexTarget::Values("m".into())),
        ("entries(m)", IndexTarget::Entries("m".into())),
        ("full(l)", IndexTarget::Full("l".into())),
    ] {
        let Statement::CreateIndex(i) = one(&format!("CREATE INDEX ON t ({src})")) else {
            panic!()
        };
        assert_eq!(i.targets, vec![target]);
    }
    let Statement::CreateIndex(i) = one(
        "CREATE CUSTOM INDEX ON t (v) USING 'StorageAttachedIndex' WITH OPTIONS = {'case_sensitive': 'false'}",
    ) else {
        panic!()
    };
    assert!(i.custom);
    assert_eq!(i.using.as_deref(), Some("StorageAttachedIndex"));
    assert_eq!(i.properties[0].name, "options");
    assert!(matches!(
        one("DROP INDEX IF EXISTS ks.idx"),
        Statement::DropIndex(_)
    ));
}

// Materialized views parse fully; the executor may still reject them.
#[test]
fn materialized_views() {
    let Statement::CreateMaterializedView(v) = one(
        "CREATE MATERIALIZED VIEW ks.v AS SELECT a, b FROM ks.t WHERE a IS NOT NULL AND b IS NOT NULL \
         PRIMARY KEY (b, a) WITH CLUSTERING ORDER BY (a ASC)",
    ) else {
        panic!()
    };
    assert_eq!(v.where_clause.len(), 2);
    assert_eq!(v.primary_key.partition, vec!["b"]);
    assert!(matches!(
        one("DROP MATERIALIZED VIEW IF EXISTS ks.v"),
        Statement::DropMaterializedView(_)
    ));
    assert!(matches!(
        one("ALTER MATERIALIZED VIEW v WITH comment = 'x'"),
        Statement::AlterMaterializedView { .. }
    ));
}

// Roles, users, grants and listings parse into their minimal nodes.
#[test]
fn roles_and_permissions() {
    let Statement::CreateRole(r) = one(
        "CREATE ROLE IF NOT EXISTS alice WITH PASSWORD = 'pw' AND LOGIN = true AND SUPERUSER = false \
         AND OPTIONS = {'a': 1} AND ACCESS TO DATACENTERS {'dc1'}",
    ) else {
        panic!()
    };
    assert_eq!(r.options.len(), 5);
    assert!(
        matches!(one("ALTER ROLE 'bob' WITH LOGIN = false"), Statement::AlterRole(AlterRole { ref name, .. }) if name == "bob")
    );
    assert!(matches!(
        one("DROP ROLE IF EXISTS bob"),
        Statement::DropRole(_)
    ));
    assert!(matches!(
        one("CREATE USER carol WITH PASSWORD 'x' SUPERUSER"),
        Statement::CreateUser(CreateUser {
            superuser: Some(true),
            ..
        })
    ));
    assert!(matches!(
        one("ALTER USER carol NOSUPERUSER"),
        Statement::AlterUser(AlterUser {
            superuser: Some(false),
            ..
        })
    ));
    assert!(matches!(
        one("DROP USER IF EXISTS carol"),
        Statement::DropUser(_)
    ));
    assert_eq!(
        one("GRANT reader TO alice"),
        Statement::GrantRole {
            role: "reader".into(),
            grantee: "alice".into()
        }
    );
    assert_eq!(
        one("REVOKE reader FROM alice"),
        Statement::RevokeRole {
            role: "reader".into(),
            revokee: "alice".into()
        }
    );
    assert_eq!(
        one("GRANT SELECT ON KEYSPACE ks TO alice"),
        Statement::GrantPermission(PermissionChange {
            permission: Some(Permission::Select),
            resource: Resource::Keyspace("ks".into()),
            role: "alice".into()
        })
    );
    assert!(matches!(
        one("GRANT ALL PERMISSIONS ON ALL KEYSPACES TO alice"),
        Statement::GrantPermission(PermissionChange {
            permission: None,
            resource: Resource::AllKeyspaces,
            ..
        })
    ));
    assert!(matches!(
        one("REVOKE MODIFY ON ks.t FROM alice"),
        Statement::RevokePermission(PermissionChange {
            resource: Resource::Table(_),
            ..
        })
    ));
    assert!(matches!(
        one("LIST ROLES OF alice NORECURSIVE"),
        Statement::ListRoles {
            of: Some(_),
            recursive: false
        }
    ));
    assert_eq!(one("LIST USERS"), Statement::ListUsers);
    assert!(matches!(
        one("LIST ALL PERMISSIONS ON ALL ROLES OF bob"),
        Statement::ListPermissions {
            permission: None,
            resource: Some(Resource::AllRoles),
            ..
        }
    ));
}

// Server-side DESCRIBE in all its forms.
#[test]
fn describe() {
    let d = |s: &str| match one(s) {
        Statement::Describe(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        d("DESCRIBE FULL SCHEMA").target,
        DescribeTarget::Schema { full: true }
    );
    assert_eq!(
        d("DESC SCHEMA").target,
        DescribeTarget::Schema { full: false }
    );
    assert_eq!(d("DESCRIBE KEYSPACES").target, DescribeTarget::Keyspaces);
    assert_eq!(
        d("DESCRIBE KEYSPACE").target,
        DescribeTarget::Keyspace {
            only: false,
            name: None
        }
    );
    assert_eq!(
        d("DESCRIBE ONLY KEYSPACE ks").target,
        DescribeTarget::Keyspace {
            only: true,
            name: Some("ks".into())
        }
    );
    assert_eq!(d("DESCRIBE TABLES").target, DescribeTarget::Tables);
    assert_eq!(
        d("DESCRIBE TABLE ks.t").target,
        DescribeTarget::Table(QualifiedName::qualified("ks", "t"))
    );
    assert_eq!(d("DESCRIBE TYPES").target, DescribeTarget::Types);
    assert_eq!(
        d("DESCRIBE TYPE addr").target,
        DescribeTarget::Type(QualifiedName::new("addr"))
    );
    assert_eq!(d("DESCRIBE FUNCTIONS").target, DescribeTarget::Functions);
    assert_eq!(d("DESCRIBE AGGREGATES").target, DescribeTarget::Aggregates);
    assert_eq!(d("DESCRIBE CLUSTER").target, DescribeTarget::Cluster);
    assert_eq!(
        d("DESCRIBE INDEX i").target,
        DescribeTarget::Index(QualifiedName::new("i"))
    );
    assert_eq!(
        d("DESCRIBE MATERIALIZED VIEW v").target,
        DescribeTarget::MaterializedView(QualifiedName::new("v"))
    );
    assert_eq!(
        d("DESCRIBE foo").target,
        DescribeTarget::Generic(QualifiedName::new("foo"))
    );
    assert!(d("DESCRIBE KEYSPACE ks WITH INTERNALS").with_internals);
}

// Functions, aggregates and triggers are recognised and kept as text.
#[test]
fn unsupported_statements() {
    let src = "CREATE OR REPLACE FUNCTION f(a int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS $$ return a; $$";
    assert_eq!(
        one(src),
        Statement::Unsupported {
            kind: "CREATE FUNCTION".into(),
            text: src.into()
        }
    );
    assert!(matches!(
        one("DROP AGGREGATE IF EXISTS ks.agg"),
        Statement::Unsupported { .. }
    ));
    assert!(matches!(
        one("CREATE TRIGGER trig ON t USING 'org.Trigger'"),
        Statement::Unsupported { .. }
    ));
}

// Non-reserved keywords are valid names; reserved ones are not.
#[test]
fn keyword_identifiers() {
    let sel = select("SELECT key, type, ttl, writetime, count, filtering, timestamp, values, json, user, role, keys, entries_x, list, map, frozen, static FROM keys");
    let Selection::Selectors(v) = sel.selection else {
        panic!()
    };
    assert_eq!(v.len(), 17);
    assert_eq!(sel.table.name, "keys");
    assert_eq!(
        err("SELECT * FROM select"),
        "line 1:14 no viable alternative at input 'select'"
    );
}

// Scripts split on `;` outside strings/comments and keep each statement's text.
#[test]
fn scripts() {
    let p = parse_script("USE ks; -- comment; still comment\nINSERT INTO t (a) VALUES ('a;b');;\n/* ; */ SELECT * FROM t")
        .expect("parses");
    assert_eq!(p.len(), 3);
    assert_eq!(p[1].text, "INSERT INTO t (a) VALUES ('a;b')");
    assert!(parse_statements("  ; ;").expect("parses").is_empty());
}

// Errors: first keyword, missing FROM, trailing garbage, lexer errors, nesting.
#[test]
fn errors() {
    assert_eq!(
        err("SELEC * FROM t"),
        "line 1:0 no viable alternative at input 'SELEC'"
    );
    assert_eq!(
        err("CREATE TABL t (a int PRIMARY KEY)"),
        "line 1:7 no viable alternative at input 'TABL'"
    );
    assert_eq!(
        err("SELECT * FORM t"),
        "line 1:9 mismatched input 'FORM' expecting K_FROM"
    );
    assert_eq!(
        err("SELECT * FROM t t2"),
        "line 1:16 mismatched input 't2' expecting EOF"
    );
    assert_eq!(
        err("SELECT * FROM t WHERE a = 'x"),
        "line 1:28 mismatched character '<EOF>' expecting '''"
    );
    // A parser error before the lexer's bad character wins, as in Cassandra.
    assert_eq!(
        err("SELEC * FROM t WHERE a = 'x"),
        "line 1:0 no viable alternative at input 'SELEC'"
    );
    assert_eq!(err(""), "line 1:0 no viable alternative at input '<EOF>'");
    let deep = format!(
        "SELECT * FROM t WHERE a = {}1{}",
        "[".repeat(500),
        "]".repeat(500)
    );
    assert!(err(&deep).contains("maximum nesting depth of 100 exceeded"));
}
