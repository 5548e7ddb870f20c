//! The CQL syntax tree: every statement the parser accepts, as plain data.
//!
//! **What.** One [`Statement`] enum with a struct per statement kind, and the
//! shared pieces: [`QualifiedName`] (`ks.table`), [`Term`] (values in
//! queries), [`Selector`] (what a SELECT returns), [`Relation`] (WHERE),
//! [`Condition`] (IF), [`Assignment`] (SET), [`CqlTypeExpr`] (type syntax)
//! and [`Property`] (`WITH name = value`).
//!
//! **Why plain data.** The executor, the prepared-statement cache and the
//! schema code all consume this tree; keeping it free of behaviour (no
//! schema, no values) lets each of them evolve alone. Everything derives
//! `Debug, Clone, PartialEq` so tests compare whole trees.
//!
//! **Conventions.** Identifiers are already normalised: unquoted names are
//! lower-cased, quoted names keep their case (`"Foo"` → `Foo`). Constants
//! keep their literal kind and their text (strings unescaped, numbers as
//! written, sign included) so no precision is lost before the types layer
//! decodes them. Bind markers carry their 0-based index in statement order
//! (a batch counts across its children) and their name for `:name` markers.
//!
//! **What not.** Types here are syntax ([`CqlTypeExpr`]); the runtime type
//! system lives in `crate::types`. Function, aggregate and trigger DDL is
//! kept as raw text ([`Statement::Unsupported`]); roles and permissions are
//! parsed minimally for a later auth layer. Grammar reference: Cassandra's
//! `Parser.g` and `doc/modules/cassandra/pages/developing/cql/*.adoc`.

/// A possibly keyspace-qualified name: `ks.table`, `table`, `ks.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    /// The keyspace, when written.
    pub keyspace: Option<String>,
    /// The object name.
    pub name: String,
}

impl QualifiedName {
    /// An unqualified name.
    pub fn new(name: impl Into<String>) -> Self {
        QualifiedName {
            keyspace: None,
            name: name.into(),
        }
    }

    /// A keyspace-qualified name.
    pub fn qualified(keyspace: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            keyspace: Some(keyspace.into()),
            name: name.into(),
        }
    }
}

/// The lexical kind of a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstantKind {
    /// `'text'` or `$$text$$`.
    String,
    /// `42`, `-1`.
    Integer,
    /// `1.5`, `1e10`.
    Float,
    /// `true`, `false`.
    Boolean,
    /// Unquoted UUID.
    Uuid,
    /// `0xCAFE`.
    Hex,
    /// `1h30m`, `P1D`.
    Duration,
    /// `null`.
    Null,
    /// `NaN` (text may be `-NaN`).
    NaN,
    /// `Infinity` or `-Infinity`.
    Infinity,
}

impl ConstantKind {
    /// The kind Cassandra's type checks use (`Constants.Type`, our
    /// [`crate::types::LiteralKind`]); `None` for `null`. `NaN` and `Infinity` are floats.
    pub fn literal_kind(self) -> Option<crate::types::LiteralKind> {
        use crate::types::LiteralKind as L;
        Some(match self {
            ConstantKind::String => L::String,
            ConstantKind::Integer => L::Integer,
            ConstantKind::Float | ConstantKind::NaN | ConstantKind::Infinity => L::Float,
            ConstantKind::Boolean => L::Boolean,
            ConstantKind::Uuid => L::Uuid,
            ConstantKind::Hex => L::Hex,
            ConstantKind::Duration => L::Duration,
            ConstantKind::Null => return None,
        })
    }
}

/// A literal value with its kind and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constant {
    /// The literal kind.
    pub kind: ConstantKind,
    /// The literal as written (strings: unescaped content, no quotes).
    pub text: String,
}

/// A `?` or `:name` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMarker {
    /// 0-based position among the statement's markers.
    pub index: usize,
    /// The name of a `:name` marker (normalised like identifiers).
    pub name: Option<String>,
}

/// A value expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A literal.
    Constant(Constant),
    /// A bind marker.
    Bind(BindMarker),
    /// `[a, b]`.
    List(Vec<Term>),
    /// `{a, b}`.
    Set(Vec<Term>),
    /// `{k: v, …}`.
    Map(Vec<(Term, Term)>),
    /// `{}`: an empty map or set, decided by the receiver's type.
    EmptyCollection,
    /// `(a, b)`.
    Tuple(Vec<Term>),
    /// `{field: value, …}` (user-defined type literal).
    Udt(Vec<(String, Term)>),
    /// `f(args)`, `ks.f(args)`, `token(…)`.
    FunctionCall {
        /// Function name.
        name: QualifiedName,
        /// Arguments.
        args: Vec<Term>,
    },
    /// `(type) term`: a type hint.
    Cast {
        /// The hinted type.
        ty: CqlTypeExpr,
        /// The value.
        term: Box<Term>,
    },
}

/// A native (built-in) CQL type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum NativeType {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varchar,
    Varint,
}

impl NativeType {
    /// Looks up a lower-case type name.
    pub fn from_name(name: &str) -> Option<NativeType> {
        use NativeType::*;
        Some(match name {
            "ascii" => Ascii,
            "bigint" => Bigint,
            "blob" => Blob,
            "boolean" => Boolean,
            "counter" => Counter,
            "date" => Date,
            "decimal" => Decimal,
            "double" => Double,
            "duration" => Duration,
            "float" => Float,
            "inet" => Inet,
            "int" => Int,
            "smallint" => Smallint,
            "text" => Text,
            "time" => Time,
            "timestamp" => Timestamp,
            "timeuuid" => Timeuuid,
            "tinyint" => Tinyint,
            "uuid" => Uuid,
            "varchar" => Varchar,
            "varint" => Varint,
            _ => return None,
        })
    }
}

/// A type as written in CQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CqlTypeExpr {
    /// `int`, `text`, …
    Native(NativeType),
    /// `list<T>`
    List(Box<CqlTypeExpr>),
    /// `set<T>`
    Set(Box<CqlTypeExpr>),
    /// `map<K, V>`
    Map(Box<CqlTypeExpr>, Box<CqlTypeExpr>),
    /// `frozen<T>`
    Frozen(Box<CqlTypeExpr>),
    /// `tuple<A, B, …>`
    Tuple(Vec<CqlTypeExpr>),
    /// `vector<T, n>`
    Vector(Box<CqlTypeExpr>, u32),
    /// A user-defined type, maybe `ks.type`.
    UserDefined(QualifiedName),
    /// `'org.apache.cassandra.db.marshal.SomeType'`
    Custom(String),
}

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT …`
    Select(SelectStatement),
    /// `INSERT …`
    Insert(InsertStatement),
    /// `UPDATE …`
    Update(UpdateStatement),
    /// `DELETE …`
    Delete(DeleteStatement),
    /// `BEGIN BATCH … APPLY BATCH`
    Batch(BatchStatement),
    /// `USE ks`
    Use(String),
    /// `TRUNCATE [TABLE] t`
    Truncate(QualifiedName),
    /// `CREATE KEYSPACE …`
    CreateKeyspace(CreateKeyspace),
    /// `ALTER KEYSPACE …`
    AlterKeyspace(AlterKeyspace),
    /// `DROP KEYSPACE …`
    DropKeyspace(DropStatement),
    /// `CREATE TABLE …`
    CreateTable(CreateTable),
    /// `ALTER TABLE …`
    AlterTable(AlterTable),
    /// `DROP TABLE …`
    DropTable(DropStatement),
    /// `CREATE TYPE …`
    CreateType(CreateType),
    /// `ALTER TYPE …`
    AlterType(AlterType),
    /// `DROP TYPE …`
    DropType(DropStatement),
    /// `CREATE [CUSTOM] INDEX …`
    CreateIndex(CreateIndex),
    /// `DROP INDEX …`
    DropIndex(DropStatement),
    /// `CREATE MATERIALIZED VIEW …`
    CreateMaterializedView(CreateMaterializedView),
    /// `ALTER MATERIALIZED VIEW v WITH …`
    AlterMaterializedView {
        /// The view.
        name: QualifiedName,
        /// New options.
        options: TableOptions,
    },
    /// `DROP MATERIALIZED VIEW …`
    DropMaterializedView(DropStatement),
    /// `CREATE ROLE …`
    CreateRole(CreateRole),
    /// `ALTER ROLE …`
    AlterRole(AlterRole),
    /// `DROP ROLE …`
    DropRole(DropStatement),
    /// `CREATE USER …`
    CreateUser(CreateUser),
    /// `ALTER USER …`
    AlterUser(AlterUser),
    /// `DROP USER …`
    DropUser(DropStatement),
    /// `GRANT role TO role`
    GrantRole {
        /// The role granted.
        role: String,
        /// The grantee.
        grantee: String,
    },
    /// `REVOKE role FROM role`
    RevokeRole {
        /// The role revoked.
        role: String,
        /// The role losing it.
        revokee: String,
    },
    /// `GRANT perm ON resource TO role`
    GrantPermission(PermissionChange),
    /// `REVOKE perm ON resource FROM role`
    RevokePermission(PermissionChange),
    /// `LIST ROLES [OF role] [NORECURSIVE]`
    ListRoles {
        /// `OF role`
        of: Option<String>,
        /// `NORECURSIVE`
        recursive: bool,
    },
    /// `LIST USERS`
    ListUsers,
    /// `LIST perm [ON resource] [OF role] [NORECURSIVE]`
    ListPermissions {
        /// Which permission (`None` = ALL).
        permission: Option<Permission>,
        /// `ON resource`
        resource: Option<Resource>,
        /// `OF role`
        of: Option<String>,
        /// `NORECURSIVE` absent.
        recursive: bool,
    },
    /// `DESCRIBE …` / `DESC …`
    Describe(DescribeStatement),
    /// Parsed only far enough to recognise it (functions, aggregates,
    /// triggers): the executor rejects it.
    Unsupported {
        /// What it is, e.g. `CREATE FUNCTION`.
        kind: String,
        /// The statement's source text.
        text: String,
    },
}

/// `DROP <thing> [IF EXISTS] name` for any droppable object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropStatement {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// The object (for keyspaces, roles and users, only `name` is set).
    pub name: QualifiedName,
}

/// What a SELECT returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// `*`
    Star,
    /// An explicit list.
    Selectors(Vec<Selector>),
}

/// One selector with its alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// What is selected.
    pub selectable: Selectable,
    /// `AS alias`
    pub alias: Option<String>,
}

/// A selector expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Selectable {
    /// A column.
    Column(String),
    /// A constant, bind marker or collection literal.
    Term(Term),
    /// `COUNT(*)`
    CountStar,
    /// `WRITETIME(c)`
    WriteTime(Box<Selectable>),
    /// `MAXWRITETIME(c)`
    MaxWriteTime(Box<Selectable>),
    /// `TTL(c)`
    Ttl(Box<Selectable>),
    /// `f(args)`, including `token(a, b)`, `count(1)`, `toJson(c)`.
    FunctionCall {
        /// Function name.
        name: QualifiedName,
        /// Arguments.
        args: Vec<Selectable>,
    },
    /// `CAST(s AS type)`
    Cast {
        /// What is cast.
        selectable: Box<Selectable>,
        /// The target type.
        ty: CqlTypeExpr,
    },
    /// `s.field`
    Field {
        /// The UDT value.
        selectable: Box<Selectable>,
        /// The field.
        field: String,
    },
    /// `s[key]`
    Element {
        /// The collection.
        selectable: Box<Selectable>,
        /// The key or index.
        key: Term,
    },
    /// `s[from..to]` (either bound optional).
    Slice {
        /// The collection.
        selectable: Box<Selectable>,
        /// Lower bound.
        from: Option<Term>,
        /// Upper bound.
        to: Option<Term>,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `CONTAINS`
    Contains,
    /// `CONTAINS KEY`
    ContainsKey,
    /// `LIKE`
    Like,
}

/// The right side of `IN`.
#[derive(Debug, Clone, PartialEq)]
pub enum InValues {
    /// `IN (a, b, …)` (maybe empty).
    List(Vec<Term>),
    /// `IN ?` / `IN :name`
    Marker(BindMarker),
}

/// One WHERE relation.
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// `c op term`
    Column {
        /// Column.
        column: String,
        /// Operator.
        op: Operator,
        /// Value.
        value: Term,
    },
    /// `c IN …`
    In {
        /// Column.
        column: String,
        /// Values.
        values: InValues,
    },
    /// `m[key] op term`
    Element {
        /// Collection column.
        column: String,
        /// Key or index.
        key: Term,
        /// Operator.
        op: Operator,
        /// Value.
        value: Term,
    },
    /// `token(a, b) op term`
    Token {
        /// Partition key columns.
        columns: Vec<String>,
        /// Operator.
        op: Operator,
        /// Value (often `token(?, ?)`).
        value: Term,
    },
    /// `(a, b) op (1, 2)` or `(a, b) op ?`
    MultiColumn {
        /// Columns.
        columns: Vec<String>,
        /// Operator.
        op: Operator,
        /// A tuple term or marker.
        value: Term,
    },
    /// `(a, b) IN ((1, 2), (3, 4))`
    MultiColumnIn {
        /// Columns.
        columns: Vec<String>,
        /// Values.
        values: InValues,
    },
    /// `c IS NOT NULL` (materialized views).
    IsNotNull {
        /// Column.
        column: String,
    },
}

/// Sort direction, or vector search.
#[derive(Debug, Clone, PartialEq)]
pub enum Ordering {
    /// `ASC` (the default).
    Asc,
    /// `DESC`
    Desc,
    /// `ANN OF vector` (Cassandra 5 vector search).
    Ann(Term),
}

/// `SELECT …`
#[derive(Debug, Clone, PartialEq)]
pub struct SelectStatement {
    /// `SELECT JSON`
    pub json: bool,
    /// `SELECT DISTINCT`
    pub distinct: bool,
    /// The selection.
    pub selection: Selection,
    /// `FROM`
    pub table: QualifiedName,
    /// `WHERE` relations, joined by AND.
    pub where_clause: Vec<Relation>,
    /// `GROUP BY` columns.
    pub group_by: Vec<String>,
    /// `ORDER BY`
    pub order_by: Vec<(String, Ordering)>,
    /// `PER PARTITION LIMIT` (integer or marker).
    pub per_partition_limit: Option<Term>,
    /// `LIMIT` (integer or marker).
    pub limit: Option<Term>,
    /// `ALLOW FILTERING`
    pub allow_filtering: bool,
}

/// `USING TTL … AND TIMESTAMP …`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Using {
    /// `TTL`
    pub ttl: Option<Term>,
    /// `TIMESTAMP`
    pub timestamp: Option<Term>,
}

/// What INSERT writes.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertValues {
    /// `(cols) VALUES (terms)`
    Values {
        /// Columns.
        columns: Vec<String>,
        /// Values, one per column.
        values: Vec<Term>,
    },
    /// `JSON 'doc' [DEFAULT NULL|UNSET]`
    Json {
        /// String constant or marker.
        json: Term,
        /// `DEFAULT UNSET` (`false` means the default, `DEFAULT NULL`).
        default_unset: bool,
    },
}

/// `INSERT …`
#[derive(Debug, Clone, PartialEq)]
pub struct InsertStatement {
    /// Target table.
    pub table: QualifiedName,
    /// Values.
    pub values: InsertValues,
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// `USING`
    pub using: Using,
}

/// One SET assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum Assignment {
    /// `c = v`
    Set {
        /// Column.
        column: String,
        /// Value.
        value: Term,
    },
    /// `c = c + v`, `c += v` (append, add to set/map, counter increment).
    Add {
        /// Column.
        column: String,
        /// Value.
        value: Term,
    },
    /// `c = v + c` (list prepend).
    Prepend {
        /// Column.
        column: String,
        /// Value.
        value: Term,
    },
    /// `c = c - v`, `c -= v`, `c = c -1` (remove, counter decrement). For
    /// the `c = c -1` spelling the value is the positive integer.
    Subtract {
        /// Column.
        column: String,
        /// Value.
        value: Term,
    },
    /// `c[k] = v`
    SetElement {
        /// Collection column.
        column: String,
        /// Key or index.
        key: Term,
        /// Value.
        value: Term,
    },
    /// `c.field = v`
    SetField {
        /// UDT column.
        column: String,
        /// Field.
        field: String,
        /// Value.
        value: Term,
    },
}

/// `IF …` on UPDATE and DELETE.
#[derive(Debug, Clone, PartialEq)]
pub enum IfClause {
    /// `IF EXISTS`
    Exists,
    /// `IF cond AND cond …`
    Conditions(Vec<Condition>),
}

/// The part of a column a condition looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionTarget {
    /// The whole column.
    Column,
    /// `c[key]`
    Element(Term),
    /// `c.field`
    Field(String),
}

/// The right side of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionValue {
    /// `op term`
    Compare(Operator, Term),
    /// `IN …`
    In(InValues),
}

/// One lightweight-transaction condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Column.
    pub column: String,
    /// Whole column, element or field.
    pub target: ConditionTarget,
    /// Comparison.
    pub value: ConditionValue,
}

/// `UPDATE …`
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStatement {
    /// Target table.
    pub table: QualifiedName,
    /// `USING`
    pub using: Using,
    /// `SET`
    pub assignments: Vec<Assignment>,
    /// `WHERE`
    pub where_clause: Vec<Relation>,
    /// `IF`
    pub if_clause: Option<IfClause>,
}

/// One thing DELETE removes.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteTarget {
    /// A whole column.
    Column(String),
    /// `m[key]`
    Element {
        /// Collection column.
        column: String,
        /// Key or index.
        key: Term,
    },
    /// `u.field`
    Field {
        /// UDT column.
        column: String,
        /// Field.
        field: String,
    },
}

/// `DELETE …`
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteStatement {
    /// What to delete (empty = whole rows).
    pub targets: Vec<DeleteTarget>,
    /// Target table.
    pub table: QualifiedName,
    /// `USING TIMESTAMP`
    pub timestamp: Option<Term>,
    /// `WHERE`
    pub where_clause: Vec<Relation>,
    /// `IF`
    pub if_clause: Option<IfClause>,
}

/// Batch flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    /// `BEGIN BATCH`
    Logged,
    /// `BEGIN UNLOGGED BATCH`
    Unlogged,
    /// `BEGIN COUNTER BATCH`
    Counter,
}

/// `BEGIN … BATCH … APPLY BATCH`
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStatement {
    /// Flavour.
    pub kind: BatchKind,
    /// `USING` (Cassandra only accepts TIMESTAMP here).
    pub using: Using,
    /// The INSERT/UPDATE/DELETE statements.
    pub statements: Vec<Statement>,
}

/// A property value in `WITH name = value`.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// A constant.
    Constant(Constant),
    /// An unquoted word (`WITH x = some_word`).
    Identifier(String),
    /// `{k: v, …}` (also `{}`).
    Map(Vec<(Term, Term)>),
}

/// `name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Lower-cased property name.
    pub name: String,
    /// Value.
    pub value: PropertyValue,
}

/// `CREATE KEYSPACE …`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateKeyspace {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// Keyspace.
    pub name: String,
    /// `replication`, `durable_writes`, …
    pub properties: Vec<Property>,
}

/// `ALTER KEYSPACE …`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterKeyspace {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// Keyspace.
    pub name: String,
    /// New properties.
    pub properties: Vec<Property>,
}

/// One column in CREATE TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDefinition {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: CqlTypeExpr,
    /// `STATIC`
    pub is_static: bool,
    /// Inline `PRIMARY KEY`.
    pub primary_key: bool,
}

/// `PRIMARY KEY ((a, b), c, d)`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    /// Partition key columns.
    pub partition: Vec<String>,
    /// Clustering columns.
    pub clustering: Vec<String>,
}

/// The `WITH` part of CREATE/ALTER TABLE and views.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableOptions {
    /// `name = value` options.
    pub properties: Vec<Property>,
    /// `CLUSTERING ORDER BY (c DESC, …)`; `true` means descending.
    pub clustering_order: Vec<(String, bool)>,
    /// `COMPACT STORAGE`
    pub compact_storage: bool,
}

/// `CREATE TABLE …`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// Table.
    pub name: QualifiedName,
    /// Columns, in order.
    pub columns: Vec<ColumnDefinition>,
    /// A separate `PRIMARY KEY (…)` clause, when present. (An inline
    /// `PRIMARY KEY` is flagged on the column instead; the executor checks
    /// there is exactly one.)
    pub primary_key: Option<PrimaryKey>,
    /// `WITH …`
    pub options: TableOptions,
}

/// What ALTER TABLE does.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterTableAction {
    /// `ADD [IF NOT EXISTS] c t [, …]` or `ADD (c t, …)`
    Add {
        /// `IF NOT EXISTS`
        if_not_exists: bool,
        /// Columns added.
        columns: Vec<ColumnDefinition>,
    },
    /// `DROP [IF EXISTS] c` or `DROP (c, …)`
    Drop {
        /// `IF EXISTS`
        if_exists: bool,
        /// Columns dropped.
        columns: Vec<String>,
        /// `USING TIMESTAMP`
        timestamp: Option<Term>,
    },
    /// `RENAME [IF EXISTS] a TO b [AND c TO d]`
    Rename {
        /// `IF EXISTS`
        if_exists: bool,
        /// (old, new) pairs.
        renames: Vec<(String, String)>,
    },
    /// `ALTER c TYPE t` (rejected by modern Cassandra; kept for messages).
    AlterColumnType {
        /// Column.
        column: String,
        /// New type.
        ty: CqlTypeExpr,
    },
    /// `WITH …`
    With(TableOptions),
}

/// `ALTER TABLE …`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterTable {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// Table.
    pub name: QualifiedName,
    /// Action.
    pub action: AlterTableAction,
}

/// `CREATE TYPE …`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateType {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// Type.
    pub name: QualifiedName,
    /// Fields, in order.
    pub fields: Vec<(String, CqlTypeExpr)>,
}

/// What ALTER TYPE does.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterTypeAction {
    /// `ADD [IF NOT EXISTS] f t`
    Add {
        /// `IF NOT EXISTS`
        if_not_exists: bool,
        /// Field.
        field: String,
        /// Type.
        ty: CqlTypeExpr,
    },
    /// `RENAME [IF EXISTS] a TO b [AND …]`
    Rename {
        /// `IF EXISTS`
        if_exists: bool,
        /// (old, new) pairs.
        renames: Vec<(String, String)>,
    },
    /// `ALTER f TYPE t`
    AlterFieldType {
        /// Field.
        field: String,
        /// New type.
        ty: CqlTypeExpr,
    },
}

/// `ALTER TYPE …`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterType {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// Type.
    pub name: QualifiedName,
    /// Action.
    pub action: AlterTypeAction,
}

/// What an index covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexTarget {
    /// `c` (values of a collection, or the column).
    Column(String),
    /// `keys(c)`
    Keys(String),
    /// `values(c)`
    Values(String),
    /// `entries(c)`
    Entries(String),
    /// `full(c)`
    Full(String),
}

/// `CREATE [CUSTOM] INDEX …`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndex {
    /// `CUSTOM`
    pub custom: bool,
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// Index name, when given.
    pub name: Option<String>,
    /// Indexed table.
    pub table: QualifiedName,
    /// Targets.
    pub targets: Vec<IndexTarget>,
    /// `USING 'class'`
    pub using: Option<String>,
    /// `WITH OPTIONS = {…}` and other properties.
    pub properties: Vec<Property>,
}

/// `CREATE MATERIALIZED VIEW …`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateMaterializedView {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// View.
    pub name: QualifiedName,
    /// Selected columns.
    pub selection: Selection,
    /// Base table.
    pub base_table: QualifiedName,
    /// Filter.
    pub where_clause: Vec<Relation>,
    /// View key.
    pub primary_key: PrimaryKey,
    /// `WITH …`
    pub options: TableOptions,
}

/// A role option in `WITH … AND …`.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleOption {
    /// `PASSWORD = 'x'`
    Password(String),
    /// `HASHED PASSWORD = 'x'`
    HashedPassword(String),
    /// `LOGIN = bool`
    Login(bool),
    /// `SUPERUSER = bool`
    Superuser(bool),
    /// `OPTIONS = {…}`
    Options(Vec<(Term, Term)>),
    /// `ACCESS TO DATACENTERS {'dc1', …}`
    AccessToDatacenters(Vec<String>),
    /// `ACCESS TO ALL DATACENTERS`
    AccessToAllDatacenters,
}

/// `CREATE ROLE …`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRole {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// Role.
    pub name: String,
    /// Options.
    pub options: Vec<RoleOption>,
}

/// `ALTER ROLE …`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterRole {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// Role.
    pub name: String,
    /// Options.
    pub options: Vec<RoleOption>,
}

/// `CREATE USER …`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateUser {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// User.
    pub name: String,
    /// `WITH [HASHED] PASSWORD`
    pub password: Option<RoleOption>,
    /// `SUPERUSER` (true) / `NOSUPERUSER` (false).
    pub superuser: Option<bool>,
}

/// `ALTER USER …`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterUser {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// User.
    pub name: String,
    /// `WITH [HASHED] PASSWORD`
    pub password: Option<RoleOption>,
    /// `SUPERUSER` / `NOSUPERUSER`.
    pub superuser: Option<bool>,
}

/// A permission name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Permission {
    Create,
    Alter,
    Drop,
    Select,
    Modify,
    Authorize,
    Describe,
    Execute,
    Unmask,
    SelectMasked,
}

/// A resource permissions apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `ALL KEYSPACES`
    AllKeyspaces,
    /// `KEYSPACE ks`
    Keyspace(String),
    /// `[TABLE] ks.t`
    Table(QualifiedName),
    /// `ALL ROLES`
    AllRoles,
    /// `ROLE r`
    Role(String),
    /// `ALL FUNCTIONS [IN KEYSPACE ks]`
    AllFunctions(Option<String>),
    /// `FUNCTION ks.f(types)`
    Function(QualifiedName, Vec<CqlTypeExpr>),
    /// `ALL MBEANS`
    AllMbeans,
    /// `MBEAN 'name'` / `MBEANS 'pattern'`
    Mbean(String),
}

/// `GRANT`/`REVOKE` of a permission.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionChange {
    /// The permission (`None` = ALL PERMISSIONS).
    pub permission: Option<Permission>,
    /// The resource.
    pub resource: Resource,
    /// The role receiving or losing it.
    pub role: String,
}

/// What DESCRIBE describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescribeTarget {
    /// `[FULL] SCHEMA`
    Schema {
        /// `FULL`
        full: bool,
    },
    /// `CLUSTER`
    Cluster,
    /// `KEYSPACES`
    Keyspaces,
    /// `[ONLY] KEYSPACE [ks]` (no name: the current keyspace).
    Keyspace {
        /// `ONLY`
        only: bool,
        /// Keyspace.
        name: Option<String>,
    },
    /// `TABLES`
    Tables,
    /// `TABLE t`
    Table(QualifiedName),
    /// `TYPES`
    Types,
    /// `TYPE t`
    Type(QualifiedName),
    /// `FUNCTIONS`
    Functions,
    /// `FUNCTION f`
    Function(QualifiedName),
    /// `AGGREGATES`
    Aggregates,
    /// `AGGREGATE a`
    Aggregate(QualifiedName),
    /// `INDEX i`
    Index(QualifiedName),
    /// `MATERIALIZED VIEW v`
    MaterializedView(QualifiedName),
    /// `DESCRIBE name`: a keyspace or a table, resolved by the executor.
    Generic(QualifiedName),
}

/// `DESCRIBE …`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeStatement {
    /// Target.
    pub target: DescribeTarget,
    /// `WITH INTERNALS`
    pub with_internals: bool,
}

/// The term as Cassandra's `Term.Raw.toString` prints it inside error messages
/// (`Invalid operation (fl = fl + [6]) ...`, `value 'a' is not of type int`):
/// strings single-quoted as written, collections with `, ` and `: ` separators.
impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn join<T>(
            f: &mut std::fmt::Formatter<'_>,
            items: &[T],
            each: impl Fn(&mut std::fmt::Formatter<'_>, &T) -> std::fmt::Result,
        ) -> std::fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                each(f, item)?;
            }
            Ok(())
        }
        match self {
            Term::Constant(c) => match c.kind {
                ConstantKind::String => write!(f, "'{}'", c.text),
                ConstantKind::Null => f.write_str("NULL"),
                _ => f.write_str(&c.text),
            },
            Term::Bind(m) => match &m.name {
                Some(n) => write!(f, ":{n}"),
                None => f.write_str("?"),
            },
            Term::List(items) => {
                f.write_str("[")?;
                join(f, items, |f, t| write!(f, "{t}"))?;
                f.write_str("]")
            }
            Term::Set(items) => {
                f.write_str("{")?;
                join(f, items, |f, t| write!(f, "{t}"))?;
                f.write_str("}")
            }
            Term::Map(pairs) => {
                f.write_str("{")?;
                join(f, pairs, |f, (k, v)| write!(f, "{k}: {v}"))?;
                f.write_str("}")
            }
            Term::EmptyCollection => f.write_str("{}"),
            Term::Tuple(items) => {
                f.write_str("(")?;
                join(f, items, |f, t| write!(f, "{t}"))?;
                f.write_str(")")
            }
            Term::Udt(fields) => {
                f.write_str("{")?;
                join(f, fields, |f, (n, v)| write!(f, "{n}: {v}"))?;
                f.write_str("}")
            }
            Term::FunctionCall { name, args } => {
                if let Some(ks) = &name.keyspace {
                    write!(f, "{ks}.")?;
                }
                write!(f, "{}(", name.name)?;
                join(f, args, |f, t| write!(f, "{t}"))?;
                f.write_str(")")
            }
            Term::Cast { term, .. } => write!(f, "{term}"),
        }
    }
}
