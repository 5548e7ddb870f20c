//! DDL as pure schema transformations: a statement and the current [`Schema`] in,
//! the next schema, the result to return and the storage work to do out.
//!
//! **Why pure.** Like Cassandra 4's `AlterSchemaStatement.apply(Keyspaces)`, every
//! statement computes a whole new schema value without touching disk. The
//! [`crate::schema::SchemaManager`] then performs the storage operations, persists
//! the new schema and only then publishes it. Validation therefore sees one
//! consistent snapshot and a failed statement changes nothing.
//!
//! **Validation.** Messages follow Cassandra 4.x (`CreateTableStatement`,
//! `AlterTableStatement`, `CreateTypeStatement`, ...), e.g. `Keyspace 'ks' doesn't
//! exist`, `Cannot add already existing table "t" to keyspace "ks"` (AlreadyExists),
//! `Invalid non-frozen collection type list<int> for PRIMARY KEY column 'c'`.
//! `IF [NOT] EXISTS` on a statement that then changes nothing returns `Void`, as
//! Cassandra does when the schema diff is empty.
//!
//! **Not supported.** Secondary indexes, materialized views, functions, aggregates,
//! triggers and roles are refused with Invalid errors phrased like Cassandra's when
//! the feature is disabled; `COMPACT STORAGE` is refused as Cassandra 4 does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sibyl_cql::parser::{
    AlterTable, AlterTableAction, AlterType, AlterTypeAction, ConstantKind, CqlTypeExpr,
    CreateTable, CreateType, DropStatement, QualifiedName, Statement, Term,
};
use sibyl_cql::types::CqlType;

use crate::error::{CqlError, CqlResult};
use crate::query::{ResultMessage, SchemaChange, SchemaChangeTarget, SchemaChangeType};
use crate::schema::builtin;
use crate::schema::model::{
    ClusteringOrder, ColumnKind, ColumnMetadata, DroppedColumn, KeyspaceMetadata, Replication,
    Schema, TableMetadata, TableParams, UserType,
};
use crate::schema::options;

/// Longest keyspace, table or type name (Cassandra's `SchemaConstants.NAME_LENGTH`:
/// names become directory names, which file systems bound).
pub const NAME_LENGTH_MAX: usize = 48;

/// Storage work a DDL statement needs once validated.
#[derive(Debug, Clone)]
pub enum StorageOp {
    /// Create the table's storage table.
    Create(Arc<TableMetadata>),
    /// Drop the table's storage table and its files.
    Drop(Arc<TableMetadata>),
    /// Remove every row.
    Truncate(Arc<TableMetadata>),
    /// Apply changed options.
    SetOptions(Arc<TableMetadata>),
}

/// What a statement does.
#[derive(Debug)]
pub struct Outcome {
    /// The new schema, when it changed.
    pub schema: Option<Schema>,
    pub result: ResultMessage,
    pub ops: Vec<StorageOp>,
}

impl Outcome {
    fn unchanged() -> Outcome {
        Outcome {
            schema: None,
            result: ResultMessage::Void,
            ops: Vec::new(),
        }
    }
}

/// Where a statement runs.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub session_keyspace: Option<&'a str>,
    /// Wall clock, µs (dropped column times).
    pub now_micros: i64,
    /// A fresh random UUID for a new table (injected so tests are deterministic).
    pub new_table_id: u128,
}

fn invalid(msg: impl Into<String>) -> CqlError {
    CqlError::Invalid(msg.into())
}

fn change(
    change: SchemaChangeType,
    target: SchemaChangeTarget,
    keyspace: &str,
    name: &str,
) -> ResultMessage {
    ResultMessage::SchemaChange(SchemaChange {
        change,
        target,
        keyspace: keyspace.to_string(),
        name: name.to_string(),
        arguments: Vec::new(),
    })
}

/// The keyspace a possibly unqualified name belongs to.
pub fn keyspace_of(name: &QualifiedName, session: Option<&str>) -> CqlResult<String> {
    name.keyspace
        .clone()
        .or_else(|| session.map(str::to_string))
        .ok_or_else(|| {
            invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_LENGTH_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_modifiable(keyspace: &str) -> CqlResult<()> {
    if builtin::is_builtin(keyspace) {
        return Err(invalid(format!(
            "System keyspace '{keyspace}' is not user-modifiable"
        )));
    }
    Ok(())
}

/// Applies a DDL statement to `schema`.
pub fn apply(schema: &Schema, stmt: &Statement, ctx: &Ctx<'_>) -> CqlResult<Outcome> {
    match stmt {
        Statement::CreateKeyspace(s) => {
            check_modifiable(&s.name)?;
            if !valid_name(&s.name) {
                return Err(invalid(format!(
                    "Keyspace name must not be empty, more than {NAME_LENGTH_MAX} characters long, or contain non-alphanumeric-underscore characters (got '{}')",
                    s.name
                )));
            }
            let opts = options::parse_keyspace_options(&s.name, &s.properties)?;
            if schema.keyspaces.contains_key(&s.name) {
                if s.if_not_exists {
                    return Ok(Outcome::unchanged());
                }
                return Err(CqlError::AlreadyExists {
                    keyspace: s.name.clone(),
                    table: String::new(),
                    message: format!("Cannot add existing keyspace \"{}\"", s.name),
                });
            }
            let replication = opts
                .replication
                .ok_or_else(|| CqlError::Config("Missing mandatory option 'replication'".into()))?;
            let ks = KeyspaceMetadata {
                name: s.name.clone(),
                replication,
                durable_writes: opts.durable_writes.unwrap_or(true),
                tables: BTreeMap::new(),
                types: BTreeMap::new(),
            };
            let mut next = schema.clone();
            next.keyspaces.insert(s.name.clone(), Arc::new(ks));
            Ok(Outcome {
                schema: Some(next),
                result: change(SchemaChangeType::Created, SchemaChangeTarget::Keyspace, &s.name, ""),
                ops: Vec::new(),
            })
        }
        Statement::AlterKeyspace(s) => {
            check_modifiable(&s.name)?;
            let opts = options::parse_keyspace_options(&s.name, &s.properties)?;
            let Some(old) = schema.keyspaces.get(&s.name) else {
                if s.if_exists {
                    return Ok(Outcome::unchanged());
                }
                return Err(invalid(format!("Keyspace '{}' doesn't exist", s.name)));
            };
            let mut ks = (**old).clone();
            if let Some(r) = opts.replication {
                ks.replication = r;
            }
            if let Some(d) = opts.durable_writes {
                ks.durable_writes = d;
            }
            let mut next = schema.clone();
            next.keyspaces.insert(s.name.clone(), Arc::new(ks));
            Ok(Outcome {
                schema: Some(next),
                result: change(SchemaChangeType::Updated, SchemaChangeTarget::Keyspace, &s.name, ""),
                ops: Vec::new(),
            })
        }
        Statement::DropKeyspace(s) => drop_keyspace(schema, s),
        Statement::CreateTable(s) => create_table(schema, s, ctx),
        Statement::AlterTable(s) => alter_table(schema, s, ctx),
        Statement::DropTable(s) => drop_table(schema, s, ctx),
        Statement::CreateType(s) => create_type(schema, s, ctx),
        Statement::AlterType(s) => alter_type(schema, s, ctx),
        Statement::DropType(s) => drop_type(schema, s, ctx),
        Statement::Truncate(name) => {
            let ks = keyspace_of(name, ctx.session_keyspace)?;
            let table = lookup_table(schema, &ks, &name.name)?;
            check_modifiable(&ks)?;
            Ok(Outcome { schema: None, result: ResultMessage::Void, ops: vec![StorageOp::Truncate(table)] })
        }
        Statement::CreateIndex(_) => Err(invalid(
            "Secondary indexes are not enabled: Sibyl does not build secondary indexes",
        )),
        Statement::DropIndex(s) => {
            if s.if_exists {
                return Ok(Outcome::unchanged());
            }
            let ks = keyspace_of(&s.name, ctx.session_keyspace)?;
            Err(invalid(format!("Index '{}.{}' doesn't exist", ks, s.name.name)))
        }
        Statement::CreateMaterializedView(_) | Statement::AlterMaterializedView { .. } => Err(invalid(
            "Materialized views are disabled. Enable in cassandra.yaml to use.",
        )),
        Statement::DropMaterializedView(s) => {
            if s.if_exists {
                return Ok(Outcome::unchanged());
            }
            let ks = keyspace_of(&s.name, ctx.session_keyspace)?;
            Err(invalid(format!("Materialized view '{}.{}' doesn't exist", ks, s.name.name)))
        }
        Statement::Unsupported { kind, .. } => {
            let upper = kind.to_ascii_uppercase();
            if upper.contains("FUNCTION") || upper.contains("AGGREGATE") {
                Err(invalid(
                    "User-defined functions are disabled in cassandra.yaml - set user_defined_functions_enabled=true to enable",
                ))
            } else if upper.contains("TRIGGER") {
                Err(invalid("Triggers are not supported by Sibyl"))
            } else {
                Err(invalid(format!("{kind} is not supported by Sibyl")))
            }
        }
        Statement::CreateRole(_)
        | Statement::AlterRole(_)
        | Statement::DropRole(_)
        | Statement::CreateUser(_)
        | Statement::AlterUser(_)
        | Statement::DropUser(_)
        | Statement::GrantRole { .. }
        | Statement::RevokeRole { .. }
        | Statement::GrantPermission(_)
        | Statement::RevokePermission(_)
        | Statement::ListRoles { .. }
        | Statement::ListUsers
        | Statement::ListPermissions { .. } => Err(invalid(
            "Roles and permissions are not supported: Sibyl runs with AllowAllAuthenticator and AllowAllAuthorizer",
        )),
        _ => Err(CqlError::Server("not a DDL statement".into())),
    }
}

/// The table `ks.name` or Cassandra's errors for a missing keyspace or table.
pub fn lookup_table(schema: &Schema, ks: &str, name: &str) -> CqlResult<Arc<TableMetadata>> {
    let keyspace = schema
        .keyspaces
        .get(ks)
        .ok_or_else(|| invalid(format!("Keyspace {ks} does not exist")))?;
    keyspace
        .tables
        .get(name)
        .cloned()
        .ok_or_else(|| invalid(format!("unconfigured table {name}")))
}

fn drop_keyspace(schema: &Schema, s: &DropStatement) -> CqlResult<Outcome> {
    let name = &s.name.name;
    check_modifiable(name)?;
    let Some(ks) = schema.keyspaces.get(name) else {
        if s.if_exists {
            return Ok(Outcome::unchanged());
        }
        return Err(invalid(format!("Keyspace '{name}' doesn't exist")));
    };
    let ops = ks
        .tables
        .values()
        .map(|t| StorageOp::Drop(t.clone()))
        .collect();
    let mut next = schema.clone();
    next.keyspaces.remove(name);
    Ok(Outcome {
        schema: Some(next),
        result: change(
            SchemaChangeType::Dropped,
            SchemaChangeTarget::Keyspace,
            name,
            "",
        ),
        ops,
    })
}

// ------------------------------------------------------------------- types

/// CQL text of a type expression (what [`CqlType::parse_with`] reads).
pub fn type_expr_text(t: &CqlTypeExpr) -> String {
    match t {
        CqlTypeExpr::Native(n) => format!("{n:?}").to_ascii_lowercase(),
        CqlTypeExpr::List(e) => format!("list<{}>", type_expr_text(e)),
        CqlTypeExpr::Set(e) => format!("set<{}>", type_expr_text(e)),
        CqlTypeExpr::Map(k, v) => format!("map<{}, {}>", type_expr_text(k), type_expr_text(v)),
        CqlTypeExpr::Frozen(e) => format!("frozen<{}>", type_expr_text(e)),
        CqlTypeExpr::Tuple(ts) => {
            let parts: Vec<String> = ts.iter().map(type_expr_text).collect();
            format!("tuple<{}>", parts.join(", "))
        }
        CqlTypeExpr::Vector(e, n) => format!("vector<{}, {n}>", type_expr_text(e)),
        CqlTypeExpr::UserDefined(q) => match &q.keyspace {
            Some(ks) => format!("{}.{}", quote_ident(ks), quote_ident(&q.name)),
            None => quote_ident(&q.name),
        },
        CqlTypeExpr::Custom(c) => format!("'{}'", c.replace('\'', "''")),
    }
}

/// Double-quotes an identifier unless it is a lower-case identifier that is not
/// a reserved keyword (Cassandra's `ColumnIdentifier.maybeQuote`).
pub fn quote_ident(name: &str) -> String {
    let plain = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !sibyl_cql::parser::is_reserved(name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Resolves type text in `keyspace` with its user types (`types`).
pub fn resolve_type_text(
    keyspace: &str,
    types: &BTreeMap<String, UserType>,
    text: &str,
) -> CqlResult<CqlType> {
    let lookup = |ks: Option<&str>, name: &str| -> Option<CqlType> {
        if ks.is_some_and(|k| k != keyspace) {
            return None;
        }
        types.get(name).map(UserType::cql_type)
    };
    CqlType::parse_with(text, &lookup).map_err(|e| match e {
        // Cassandra names the type qualified by the statement's keyspace (UTName).
        sibyl_cql::types::TypeError::UnknownType(name) if !name.contains('.') => {
            invalid(format!("Unknown type {keyspace}.{name}"))
        }
        e => invalid(e.to_string()),
    })
}

fn resolve_expr(
    keyspace: &str,
    types: &BTreeMap<String, UserType>,
    t: &CqlTypeExpr,
) -> CqlResult<CqlType> {
    if let Some(other) = udt_keyspaces(t).into_iter().find(|k| k != keyspace) {
        return Err(invalid(format!(
            "Statement on keyspace {keyspace} cannot refer to a user type in keyspace {other}; user types can only be used in the keyspace they are defined in"
        )));
    }
    resolve_type_text(keyspace, types, &type_expr_text(t))
}

fn udt_keyspaces(t: &CqlTypeExpr) -> Vec<String> {
    match t {
        CqlTypeExpr::UserDefined(q) => q.keyspace.iter().cloned().collect(),
        CqlTypeExpr::List(e)
        | CqlTypeExpr::Set(e)
        | CqlTypeExpr::Frozen(e)
        | CqlTypeExpr::Vector(e, _) => udt_keyspaces(e),
        CqlTypeExpr::Map(k, v) => {
            let mut out = udt_keyspaces(k);
            out.extend(udt_keyspaces(v));
            out
        }
        CqlTypeExpr::Tuple(ts) => ts.iter().flat_map(udt_keyspaces).collect(),
        CqlTypeExpr::Native(_) | CqlTypeExpr::Custom(_) => Vec::new(),
    }
}

/// True when `t` is or contains the user type `keyspace.name`.
pub fn uses_udt(t: &CqlType, keyspace: &str, name: &str) -> bool {
    match t {
        CqlType::Udt {
            keyspace: k,
            name: n,
            fields,
        } => {
            (k == keyspace && n == name) || fields.iter().any(|(_, f)| uses_udt(f, keyspace, name))
        }
        CqlType::List(e) | CqlType::Set(e) | CqlType::Frozen(e) | CqlType::Vector(e, _) => {
            uses_udt(e, keyspace, name)
        }
        CqlType::Map(k, v) => uses_udt(k, keyspace, name) || uses_udt(v, keyspace, name),
        CqlType::Tuple(ts) => ts.iter().any(|e| uses_udt(e, keyspace, name)),
        _ => false,
    }
}

fn contains(t: &CqlType, pred: &dyn Fn(&CqlType) -> bool) -> bool {
    if pred(t) {
        return true;
    }
    match t {
        CqlType::Udt { fields, .. } => fields.iter().any(|(_, f)| contains(f, pred)),
        CqlType::List(e) | CqlType::Set(e) | CqlType::Frozen(e) | CqlType::Vector(e, _) => {
            contains(e, pred)
        }
        CqlType::Map(k, v) => contains(k, pred) || contains(v, pred),
        CqlType::Tuple(ts) => ts.iter().any(|e| contains(e, pred)),
        _ => false,
    }
}

/// `t` with every occurrence of the user type `new` (by keyspace and name) replaced
/// by its new definition.
pub fn replace_udt(t: &CqlType, new: &UserType) -> CqlType {
    let b = |e: &CqlType| Box::new(replace_udt(e, new));
    match t {
        CqlType::Udt {
            keyspace,
            name,
            fields,
        } => {
            if *keyspace == new.keyspace && *name == new.name {
                new.cql_type()
            } else {
                CqlType::Udt {
                    keyspace: keyspace.clone(),
                    name: name.clone(),
                    fields: fields
                        .iter()
                        .map(|(n, f)| (n.clone(), replace_udt(f, new)))
                        .collect(),
                }
            }
        }
        CqlType::List(e) => CqlType::List(b(e)),
        CqlType::Set(e) => CqlType::Set(b(e)),
        CqlType::Frozen(e) => CqlType::Frozen(b(e)),
        CqlType::Vector(e, n) => CqlType::Vector(b(e), *n),
        CqlType::Map(k, v) => CqlType::Map(b(k), b(v)),
        CqlType::Tuple(ts) => CqlType::Tuple(ts.iter().map(|e| replace_udt(e, new)).collect()),
        other => other.clone(),
    }
}

/// `t` with user types replaced by tuples of their fields (how Cassandra records
/// the type of a dropped column, so it outlives the user type).
pub fn expand_udts(t: &CqlType) -> CqlType {
    let b = |e: &CqlType| Box::new(expand_udts(e));
    match t {
        CqlType::Udt { fields, .. } => {
            CqlType::Tuple(fields.iter().map(|(_, f)| expand_udts(f)).collect())
        }
        CqlType::List(e) => CqlType::List(b(e)),
        CqlType::Set(e) => CqlType::Set(b(e)),
        CqlType::Frozen(e) => match &**e {
            CqlType::Udt { .. } => expand_udts(e),
            _ => CqlType::Frozen(b(e)),
        },
        CqlType::Vector(e, n) => CqlType::Vector(b(e), *n),
        CqlType::Map(k, v) => CqlType::Map(b(k), b(v)),
        CqlType::Tuple(ts) => CqlType::Tuple(ts.iter().map(expand_udts).collect()),
        other => other.clone(),
    }
}

fn create_type(schema: &Schema, s: &CreateType, ctx: &Ctx<'_>) -> CqlResult<Outcome> {
    let ksn = keyspace_of(&s.name, ctx.session_keyspace)?;
    check_modifiable(&ksn)?;
    let ks = schema
        .keyspaces
        .get(&ksn)
        .ok_or_else(|| invalid(format!("Keyspace '{ksn}' doesn't exist")))?;
    let name = &s.name.name;
    if ks.types.contains_key(name) {
        if s.if_not_exists {
            return Ok(Outcome::unchanged());
        }
        return Err(invalid(format!(
            "A user type with name '{name}' already exists"
        )));
    }
    if !valid_name(name) {
        return Err(invalid(format!(
            "Type name must not be empty, more than {NAME_LENGTH_MAX} characters long, or contain non-alphanumeric-underscore characters (got '{name}')"
        )));
    }
    let mut seen = BTreeSet::new();
    let mut fields = Vec::with_capacity(s.fields.len());
    for (field, expr) in &s.fields {
        if !seen.insert(field.as_str()) {
            return Err(invalid(format!(
                "Duplicate field name '{field}' in type '{name}'"
            )));
        }
        fields.push((field.clone(), field_type(&ksn, &ks.types, expr)?));
    }
    let ut = UserType {
        keyspace: ksn.clone(),
        name: name.clone(),
        fields,
    };
    let mut k = (**ks).clone();
    k.types.insert(name.clone(), ut);
    let mut next = schema.clone();
    next.keyspaces.insert(ksn.clone(), Arc::new(k));
    Ok(Outcome {
        schema: Some(next),
        result: change(
            SchemaChangeType::Created,
            SchemaChangeTarget::Type,
            &ksn,
            name,
        ),
        ops: Vec::new(),
    })
}

fn field_type(
    ks: &str,
    types: &BTreeMap<String, UserType>,
    expr: &CqlTypeExpr,
) -> CqlResult<CqlType> {
    if matches!(
        expr,
        CqlTypeExpr::Native(sibyl_cql::parser::NativeType::Counter)
    ) {
        return Err(invalid("A user type cannot contain counters"));
    }
    if matches!(expr, CqlTypeExpr::UserDefined(_)) {
        return Err(invalid("A user type cannot contain non-frozen UDTs"));
    }
    let t = resolve_expr(ks, types, expr)?;
    if contains(&t, &|x| x.is_counter()) {
        return Err(invalid("A user type cannot contain counters"));
    }
    Ok(t)
}

fn alter_type(schema: &Schema, s: &AlterType, ctx: &Ctx<'_>) -> CqlResult<Outcome> {
    let ksn = keyspace_of(&s.name, ctx.session_keyspace)?;
    check_modifiable(&ksn)?;
    let name = &s.name.name;
    let Some(ks) = schema.keyspaces.get(&ksn) else {
        if s.if_exists {
            return Ok(Outcome::unchanged());
        }
        return Err(invalid(format!("Keyspace '{ksn}' doesn't exist")));
    };
    let Some(old) = ks.types.get(name) else {
        if s.if_exists {
            return Ok(Outcome::unchanged());
        }
        return Err(invalid(format!("Type {ksn}.{name} doesn't exist")));
    };
    let mut ut = old.clone();
    match &s.action {
        AlterTypeAction::Add {
            if_not_exists,
            field,
            ty,
        } => {
            if ut.fields.iter().any(|(f, _)| f == field) {
                if *if_not_exists {
                    return Ok(Outcome::unchanged());
                }
                return Err(invalid(format!(
                    "Cannot add field {field} to type {ksn}.{name}: a field with name {field} already exists"
                )));
            }
            let t = field_type(&ksn, &ks.types, ty)?;
            if uses_udt(&t, &ksn, name) {
                return Err(invalid(format!(
                    "Cannot add new field {field} of type {t} to user type {ksn}.{name} as this would create a circular reference"
                )));
            }
            ut.fields.push((field.clone(), t));
        }
        AlterTypeAction::Rename { if_exists, renames } => {
            let mut changed = false;
            for (from, to) in renames {
                let Some(pos) = ut.fields.iter().position(|(f, _)| f == from) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(invalid(format!(
                        "Unkown field {from} in user type {ksn}.{name}"
                    )));
                };
                if ut.fields.iter().any(|(f, _)| f == to) {
                    return Err(invalid(format!(
                        "Duplicate field name {to} in type {ksn}.{name}"
                    )));
                }
                if let Some(f) = ut.fields.get_mut(pos) {
                    f.0 = to.clone();
                    changed = true;
                }
            }
            if !changed {
                return Ok(Outcome::unchanged());
            }
        }
        AlterTypeAction::AlterFieldType { .. } => {
            return Err(invalid(
                "Alterations of user type field types are no longer supported",
            ))
        }
    }
    let mut k = (**ks).clone();
    for other in k.types.values_mut() {
        other.fields = other
            .fields
            .iter()
            .map(|(n, f)| (n.clone(), replace_udt(f, &ut)))
            .collect();
    }
    k.types.insert(name.clone(), ut.clone());
    for table in k.tables.values_mut() {
        if table
            .columns
            .iter()
            .any(|c| uses_udt(&c.cql_type, &ksn, name))
        {
            let mut t = (**table).clone();
            for c in &mut t.columns {
                c.cql_type = replace_udt(&c.cql_type, &ut);
            }
            *table = Arc::new(t);
        }
    }
    let mut next = schema.clone();
    next.keyspaces.insert(ksn.clone(), Arc::new(k));
    Ok(Outcome {
        schema: Some(next),
        result: change(
            SchemaChangeType::Updated,
            SchemaChangeTarget::Type,
            &ksn,
            name,
        ),
        ops: Vec::new(),
    })
}

fn drop_type(schema: &Schema, s: &DropStatement, ctx: &Ctx<'_>) -> CqlResult<Outcome> {
    let ksn = keyspace_of(&s.name, ctx.session_keyspace)?;
    check_modifiable(&ksn)?;
    let name = &s.name.name;
    let ks = schema.keyspaces.get(&ksn);
    let Some(ks) = ks.filter(|k| k.types.contains_key(name)) else {
        if s.if_exists {
            return Ok(Outcome::unchanged());
        }
        return Err(invalid(format!("Type '{ksn}.{name}' doesn't exist")));
    };
    let users: Vec<&str> = ks
        .types
        .values()
        .filter(|t| t.name != *name && t.fields.iter().any(|(_, f)| uses_udt(f, &ksn, name)))
        .map(|t| t.name.as_str())
        .collect();
    if !users.is_empty() {
        return Err(invalid(format!(
            "Cannot drop user type '{ksn}.{name}' as it is still used by user types {}",
            users.join(", ")
        )));
    }
    let tables: Vec<&str> = ks
        .tables
        .values()
        .filter(|t| t.columns.iter().any(|c| uses_udt(&c.cql_type, &ksn, name)))
        .map(|t| t.name.as_str())
        .collect();
    if !tables.is_empty() {
        return Err(invalid(format!(
            "Cannot drop user type '{ksn}.{name}' as it is still used by tables {}",
            tables.join(", ")
        )));
    }
    let mut k = (**ks).clone();
    k.types.remove(name);
    let mut next = schema.clone();
    next.keyspaces.insert(ksn.clone(), Arc::new(k));
    Ok(Outcome {
        schema: Some(next),
        result: change(
            SchemaChangeType::Dropped,
            SchemaChangeTarget::Type,
            &ksn,
            name,
        ),
        ops: Vec::new(),
    })
}

// ------------------------------------------------------------------ tables

fn create_table(schema: &Schema, s: &CreateTable, ctx: &Ctx<'_>) -> CqlResult<Outcome> {
    let ksn = keyspace_of(&s.name, ctx.session_keyspace)?;
    check_modifiable(&ksn)?;
    let ks = schema
        .keyspaces
        .get(&ksn)
        .ok_or_else(|| invalid(format!("Keyspace '{ksn}' doesn't exist")))?;
    if ks.tables.contains_key(&s.name.name) {
        if s.if_not_exists {
            return Ok(Outcome::unchanged());
        }
        return Err(CqlError::AlreadyExists {
            keyspace: ksn.clone(),
            table: s.name.name.clone(),
            message: format!(
                "Cannot add already existing table \"{}\" to keyspace \"{}\"",
                s.name.name, ksn
            ),
        });
    }
    let table = build_table(&ksn, &ks.types, s, ctx.new_table_id)?;
    if schema
        .keyspaces
        .values()
        .flat_map(|k| k.tables.values())
        .any(|t| t.id == table.id)
    {
        return Err(invalid(format!(
            "Table id {} is already used by another table",
            options::format_uuid(table.id)
        )));
    }
    let table = Arc::new(table);
    let mut k = (**ks).clone();
    k.tables.insert(table.name.clone(), table.clone());
    let mut next = schema.clone();
    next.keyspaces.insert(ksn.clone(), Arc::new(k));
    Ok(Outcome {
        schema: Some(next),
        result: change(
            SchemaChangeType::Created,
            SchemaChangeTarget::Table,
            &ksn,
            &table.name,
        ),
        ops: vec![StorageOp::Create(table)],
    })
}

/// Validates a CREATE TABLE and builds its metadata (ids 0.. in column order;
/// `default_id` unless `WITH ID`).
pub fn build_table(
    ksn: &str,
    types: &BTreeMap<String, UserType>,
    s: &CreateTable,
    default_id: u128,
) -> CqlResult<TableMetadata> {
    let tname = &s.name.name;
    if !valid_name(tname) {
        return Err(invalid(format!(
            "Table name must not be empty, more than {NAME_LENGTH_MAX} characters long, or contain non-alphanumeric-underscore characters (got \"{tname}\")"
        )));
    }
    if s.options.compact_storage {
        return Err(invalid(
            "Compact tables are not allowed in Cassandra starting with 4.0 version.",
        ));
    }
    // Columns and their types.
    let mut types_by_name: BTreeMap<&str, CqlType> = BTreeMap::new();
    let mut statics = BTreeSet::new();
    for c in &s.columns {
        let t = resolve_expr(ksn, types, &c.ty)?;
        if let CqlType::Udt { fields, .. } = &t {
            if fields.iter().any(|(_, f)| f.is_multi_cell()) {
                return Err(invalid(
                    "Non-frozen UDTs with nested non-frozen collections are not supported",
                ));
            }
        }
        if types_by_name.insert(c.name.as_str(), t).is_some() {
            return Err(invalid(format!(
                "Duplicate column '{}' declaration for table '{}'",
                c.name,
                display_name(&s.name)
            )));
        }
        if c.is_static {
            statics.insert(c.name.as_str());
        }
    }
    // The primary key: exactly one definition.
    let inline: Vec<&str> = s
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    let (partition, clustering): (Vec<&str>, Vec<&str>) = match (&s.primary_key, inline.as_slice())
    {
        (None, []) => {
            return Err(invalid(format!(
                "No PRIMARY KEY specifed for table '{}' (exactly one required)",
                display_name(&s.name)
            )))
        }
        (Some(pk), []) => (
            pk.partition.iter().map(String::as_str).collect(),
            pk.clustering.iter().map(String::as_str).collect(),
        ),
        (None, [one]) => (vec![*one], Vec::new()),
        _ => {
            return Err(invalid(
                "Multiple PRIMARY KEYs specifed (exactly one required)",
            ))
        }
    };
    let mut in_key = BTreeSet::new();
    for c in partition.iter().chain(clustering.iter()) {
        let Some(t) = types_by_name.get(c) else {
            return Err(invalid(format!(
                "Unknown column '{c}' referenced in PRIMARY KEY for table '{tname}'"
            )));
        };
        if !in_key.insert(*c) {
            return Err(invalid(format!(
                "Duplicate column '{c}' in PRIMARY KEY clause for table '{tname}'"
            )));
        }
        check_key_type(c, t)?;
        if statics.contains(c) {
            return Err(invalid(format!(
                "Static column {c} cannot be part of the PRIMARY KEY"
            )));
        }
    }
    // CLUSTERING ORDER BY must name clustering columns, in their order.
    let order = &s.options.clustering_order;
    if order.len() > clustering.len()
        || order.iter().any(|(c, _)| !clustering.contains(&c.as_str()))
    {
        return Err(invalid(
            "Only clustering key columns can be defined in CLUSTERING ORDER directive",
        ));
    }
    for (i, (c, _)) in order.iter().enumerate() {
        let expected = clustering.get(i).copied().unwrap_or_default();
        if c != expected {
            if order.iter().any(|(o, _)| o == expected) {
                return Err(invalid(format!(
                    "The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns ({expected} must appear before {c})"
                )));
            }
            return Err(invalid(format!(
                "Missing CLUSTERING ORDER for column {expected}"
            )));
        }
    }
    if clustering.is_empty() && !statics.is_empty() {
        return Err(invalid(
            "Static columns are only useful (and thus allowed) if the table has at least one clustering column",
        ));
    }
    let (params, id) = options::parse_table_params(&s.options.properties, &TableParams::default())?;
    let value_types: Vec<&CqlType> = types_by_name
        .iter()
        .filter(|(n, _)| !in_key.contains(*n))
        .map(|(_, t)| t)
        .collect();
    let counters = value_types.iter().filter(|t| t.is_counter()).count();
    if counters > 0 && counters < value_types.len() {
        return Err(invalid(
            "Cannot mix counter and non counter columns in the same table",
        ));
    }
    if counters > 0 && params.default_time_to_live > 0 {
        return Err(invalid(
            "Cannot set default_time_to_live on a table with counters",
        ));
    }
    // Build: key columns by position, then the others; ids in that order.
    let mut columns = Vec::with_capacity(types_by_name.len());
    let mut push = |name: &str, kind: ColumnKind, position: i32, order: ClusteringOrder| {
        if let Some(t) = types_by_name.get(name) {
            columns.push(ColumnMetadata {
                name: name.to_string(),
                id: 0,
                kind,
                position,
                cql_type: t.clone(),
                order,
            });
        }
    };
    for (i, c) in partition.iter().enumerate() {
        push(
            c,
            ColumnKind::PartitionKey,
            position(i)?,
            ClusteringOrder::None,
        );
    }
    for (i, c) in clustering.iter().enumerate() {
        let desc = order.get(i).is_some_and(|(_, d)| *d);
        let o = if desc {
            ClusteringOrder::Desc
        } else {
            ClusteringOrder::Asc
        };
        push(c, ColumnKind::Clustering, position(i)?, o);
    }
    for name in types_by_name.keys() {
        if in_key.contains(name) {
            continue;
        }
        let kind = if statics.contains(name) {
            ColumnKind::Static
        } else {
            ColumnKind::Regular
        };
        push(name, kind, -1, ClusteringOrder::None);
    }
    let mut table = TableMetadata {
        keyspace: ksn.to_string(),
        name: tname.clone(),
        id: id.unwrap_or(default_id),
        columns,
        params,
        dropped: BTreeMap::new(),
        next_column_id: 0,
    };
    table.sort_columns();
    for c in &mut table.columns {
        c.id = table.next_column_id;
        table.next_column_id += 1;
    }
    Ok(table)
}

fn position(i: usize) -> CqlResult<i32> {
    i32::try_from(i).map_err(|_| invalid("too many key columns"))
}

fn display_name(q: &QualifiedName) -> String {
    match &q.keyspace {
        Some(k) => format!("{k}.{}", q.name),
        None => q.name.clone(),
    }
}

fn check_key_type(c: &str, t: &CqlType) -> CqlResult<()> {
    if t.is_multi_cell() {
        if t.is_collection() {
            return Err(invalid(format!(
                "Invalid non-frozen collection type {t} for PRIMARY KEY column '{c}'"
            )));
        }
        return Err(invalid(format!(
            "Invalid non-frozen user-defined type {t} for PRIMARY KEY column '{c}'"
        )));
    }
    if t.is_counter() {
        return Err(invalid(format!(
            "counter type is not supported for PRIMARY KEY column '{c}'"
        )));
    }
    if contains(t, &|x| matches!(x, CqlType::Duration)) {
        return Err(invalid(format!(
            "duration type is not supported for PRIMARY KEY column '{c}'"
        )));
    }
    Ok(())
}

fn drop_table(schema: &Schema, s: &DropStatement, ctx: &Ctx<'_>) -> CqlResult<Outcome> {
    let ksn = keyspace_of(&s.name, ctx.session_keyspace)?;
    check_modifiable(&ksn)?;
    let name = &s.name.name;
    let ks = schema.keyspaces.get(&ksn);
    let Some((ks, table)) = ks.and_then(|k| k.tables.get(name).map(|t| (k, t.clone()))) else {
        if s.if_exists {
            return Ok(Outcome::unchanged());
        }
        return Err(invalid(format!("Table '{ksn}.{name}' doesn't exist")));
    };
    let mut k = (**ks).clone();
    k.tables.remove(name);
    let mut next = schema.clone();
    next.keyspaces.insert(ksn.clone(), Arc::new(k));
    Ok(Outcome {
        schema: Some(next),
        result: change(
            SchemaChangeType::Dropped,
            SchemaChangeTarget::Table,
            &ksn,
            name,
        ),
        ops: vec![StorageOp::Drop(table)],
    })
}

fn alter_table(schema: &Schema, s: &AlterTable, ctx: &Ctx<'_>) -> CqlResult<Outcome> {
    let ksn = keyspace_of(&s.name, ctx.session_keyspace)?;
    check_modifiable(&ksn)?;
    let name = &s.name.name;
    let ks = schema.keyspaces.get(&ksn);
    let Some((ks, old)) = ks.and_then(|k| k.tables.get(name).map(|t| (k, t.clone()))) else {
        if s.if_exists {
            return Ok(Outcome::unchanged());
        }
        if !schema.keyspaces.contains_key(&ksn) {
            return Err(invalid(format!("Keyspace '{ksn}' doesn't exist")));
        }
        return Err(invalid(format!("Table '{ksn}.{name}' doesn't exist")));
    };
    let mut t = (*old).clone();
    let mut ops = Vec::new();
    let changed = match &s.action {
        AlterTableAction::Add {
            if_not_exists,
            columns,
        } => {
            let mut changed = false;
            for c in columns {
                if t.column(&c.name).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(invalid(format!(
                        "Column with name '{}' already exists",
                        c.name
                    )));
                }
                let ty = resolve_expr(&ksn, &ks.types, &c.ty)?;
                add_column(&mut t, &c.name, ty, c.is_static)?;
                changed = true;
            }
            changed
        }
        AlterTableAction::Drop {
            if_exists,
            columns,
            timestamp,
        } => {
            let when = match timestamp {
                None => ctx.now_micros,
                Some(Term::Constant(c)) if c.kind == ConstantKind::Integer => c
                    .text
                    .parse::<i64>()
                    .map_err(|_| invalid(format!("Invalid timestamp {}", c.text)))?,
                Some(_) => {
                    return Err(invalid(
                        "USING TIMESTAMP of ALTER TABLE DROP must be an integer literal",
                    ))
                }
            };
            let mut changed = false;
            for c in columns {
                let Some(col) = t.column(c).cloned() else {
                    if *if_exists {
                        continue;
                    }
                    return Err(invalid(format!(
                        "Column {c} was not found in table '{name}'"
                    )));
                };
                if matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                    return Err(invalid(format!("Cannot drop PRIMARY KEY column {c}")));
                }
                t.columns.retain(|x| x.name != *c);
                t.dropped.insert(
                    c.clone(),
                    DroppedColumn {
                        name: c.clone(),
                        cql_type: expand_udts(&col.cql_type),
                        kind: col.kind,
                        dropped_time: when,
                    },
                );
                changed = true;
            }
            changed
        }
        AlterTableAction::Rename { if_exists, renames } => {
            let mut changed = false;
            for (from, to) in renames {
                let Some(col) = t.column(from).cloned() else {
                    if *if_exists {
                        continue;
                    }
                    return Err(invalid(format!(
                        "Column {from} was not found in table {name}"
                    )));
                };
                if !matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                    return Err(invalid(format!(
                        "Cannot rename non PRIMARY KEY column {from}"
                    )));
                }
                if t.column(to).is_some() {
                    return Err(invalid(format!(
                        "Cannot rename column {from} to {to} in table '{name}'; another column with that name already exists"
                    )));
                }
                for c in &mut t.columns {
                    if c.name == *from {
                        c.name = to.clone();
                    }
                }
                changed = true;
            }
            changed
        }
        AlterTableAction::AlterColumnType { .. } => {
            return Err(invalid("Altering column types is no longer supported"))
        }
        AlterTableAction::With(opts) => {
            if !opts.clustering_order.is_empty() || opts.compact_storage {
                return Err(invalid(
                    "Cannot change the clustering order or storage of an existing table",
                ));
            }
            let (params, id) = options::parse_table_params(&opts.properties, &t.params)?;
            if id.is_some() {
                return Err(CqlError::Config("Cannot alter table id.".into()));
            }
            if t.is_counter() && params.default_time_to_live > 0 {
                return Err(invalid(
                    "Cannot set default_time_to_live on a table with counters",
                ));
            }
            t.params = params;
            true
        }
    };
    if !changed {
        return Ok(Outcome::unchanged());
    }
    t.sort_columns();
    let t = Arc::new(t);
    if matches!(s.action, AlterTableAction::With(_)) {
        ops.push(StorageOp::SetOptions(t.clone()));
    }
    let mut k = (**ks).clone();
    k.tables.insert(name.clone(), t);
    let mut next = schema.clone();
    next.keyspaces.insert(ksn.clone(), Arc::new(k));
    Ok(Outcome {
        schema: Some(next),
        result: change(
            SchemaChangeType::Updated,
            SchemaChangeTarget::Table,
            &ksn,
            name,
        ),
        ops,
    })
}

fn add_column(t: &mut TableMetadata, name: &str, ty: CqlType, is_static: bool) -> CqlResult<()> {
    if is_static && t.clustering().next().is_none() {
        return Err(invalid(format!(
            "Static column {name} cannot be added to a table without clustering columns"
        )));
    }
    if let CqlType::Udt { fields, .. } = &ty {
        if fields.iter().any(|(_, f)| f.is_multi_cell()) {
            return Err(invalid(
                "Non-frozen UDTs with nested non-frozen collections are not supported",
            ));
        }
    }
    let has_values = t.value_columns().next().is_some();
    if ty.is_counter() && !t.is_counter() {
        return Err(invalid(format!(
            "Cannot add a counter column ({name}) in a non counter table"
        )));
    }
    if !ty.is_counter() && t.is_counter() && has_values {
        return Err(invalid(format!(
            "Cannot add a non counter column ({name}) in a counter table"
        )));
    }
    if let Some(d) = t.dropped.get(name) {
        let expanded = expand_udts(&ty);
        if d.cql_type != expanded {
            return Err(invalid(format!(
                "Cannot re-add previously dropped column '{name}' of type {ty}, incompatible with previous type {}",
                d.cql_type
            )));
        }
    }
    let id = t.next_column_id;
    t.next_column_id = t
        .next_column_id
        .checked_add(1)
        .ok_or_else(|| invalid("Too many columns added to this table over its lifetime"))?;
    t.columns.push(ColumnMetadata {
        name: name.to_string(),
        id,
        kind: if is_static {
            ColumnKind::Static
        } else {
            ColumnKind::Regular
        },
        position: -1,
        cql_type: ty,
        order: ClusteringOrder::None,
    });
    Ok(())
}

/// A keyspace with this replication and no tables (built-in keyspaces, tests).
pub fn empty_keyspace(name: &str, replication: &[(&str, &str)]) -> KeyspaceMetadata {
    KeyspaceMetadata {
        name: name.to_string(),
        replication: Replication {
            options: replication
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        durable_writes: true,
        tables: BTreeMap::new(),
        types: BTreeMap::new(),
    }
}
