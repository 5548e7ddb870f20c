//! Server-side `DESCRIBE` (Cassandra 4's `DescribeStatement`) and the CREATE
//! statements it prints.
//!
//! **What.** cqlsh 6 sends `DESCRIBE ...` to a 4.x node and prints the rows it gets:
//! `keyspace_name, type, name, create_statement` for schema elements, the first
//! three columns for listings (`DESCRIBE KEYSPACES|TABLES|TYPES`). CREATE
//! statements are formatted as Cassandra 4.0 formats them (`TableMetadata.toCqlString`):
//! four-space indents, columns in Cassandra's create order (partition key,
//! clustering, static then regular columns, each with simple columns before
//! non-frozen collections and UDTs, then by name), every table option, map
//! options with their full class names, doubles as Java prints them (`1.0`).
//!
//! **Round trip.** The printed statement parses and re-creates the same table
//! (columns, kinds, order, options; the id only with `WITH ID`), which the tests check.
//!
//! **What not.** `WITH INTERNALS` (ids and dropped columns) is not printed; Cassandra
//! 4.1's `memtable = 'default'` option is left out because Sibyl has one memtable
//! kind; `DESCRIBE CLUSTER` belongs to the node, not the schema, and is refused here.

use std::collections::BTreeMap;

use sibyl_cql::parser::{DescribeTarget, QualifiedName};
use sibyl_cql::types::{serialize, CqlType, CqlValue};

use crate::error::{CqlError, CqlResult};
use crate::query::{ColumnSpec, ResultMessage, Rows};
use crate::schema::builtin;
use crate::schema::ddl::quote_ident;
use crate::schema::model::{
    ColumnKind, ColumnMetadata, KeyspaceMetadata, Schema, TableMetadata, UserType,
};
use crate::schema::persist::types_in_dependency_order;

/// Indent of column definitions and options.
const INDENT: &str = "    ";

fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn string_map(m: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{}: {}", quote_string(k), quote_string(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// A double as Java's `Double.toString` prints it (`1.0`, `0.01`, `1.0E-4`).
pub fn java_double(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

/// `CREATE KEYSPACE ...;` as Cassandra 4 prints it (note the two spaces before AND).
pub fn keyspace_cql(k: &KeyspaceMetadata) -> String {
    let mut parts = Vec::new();
    if let Some(class) = k.replication.options.get("class") {
        parts.push(format!("'class': {}", quote_string(class)));
    }
    for (key, v) in k
        .replication
        .options
        .iter()
        .filter(|(key, _)| *key != "class")
    {
        parts.push(format!("{}: {}", quote_string(key), quote_string(v)));
    }
    format!(
        "CREATE KEYSPACE {} WITH replication = {{{}}}  AND durable_writes = {};",
        quote_ident(&k.name),
        parts.join(", "),
        k.durable_writes
    )
}

/// `CREATE TYPE ks.t (...);`
pub fn type_cql(t: &UserType) -> String {
    let fields: Vec<String> = t
        .fields
        .iter()
        .map(|(n, ty)| format!("{INDENT}{} {ty}", quote_ident(n)))
        .collect();
    format!(
        "CREATE TYPE {}.{} (\n{}\n);",
        quote_ident(&t.keyspace),
        quote_ident(&t.name),
        fields.join(",\n")
    )
}

/// Columns in Cassandra's create order (see the module doc).
fn create_order(t: &TableMetadata) -> Vec<&ColumnMetadata> {
    let mut cols: Vec<&ColumnMetadata> = t.columns.iter().collect();
    cols.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| a.position.cmp(&b.position))
            .then_with(|| a.cql_type.is_multi_cell().cmp(&b.cql_type.is_multi_cell()))
            .then_with(|| a.name.as_bytes().cmp(b.name.as_bytes()))
    });
    cols
}

/// `CREATE TABLE ks.t (...) WITH ...;` as Cassandra 4.0 prints it.
pub fn table_cql(t: &TableMetadata) -> String {
    let pk: Vec<&ColumnMetadata> = t.partition_key().collect();
    let ck: Vec<&ColumnMetadata> = t.clustering().collect();
    let single_key = pk.len() == 1 && ck.is_empty();
    let mut lines = Vec::new();
    for c in create_order(t) {
        let mut line = format!("{INDENT}{} {}", quote_ident(&c.name), c.cql_type);
        if c.kind == ColumnKind::Static {
            line.push_str(" static");
        }
        if single_key && c.kind == ColumnKind::PartitionKey {
            line.push_str(" PRIMARY KEY");
        }
        lines.push(line);
    }
    if !single_key {
        let names = |cs: &[&ColumnMetadata]| {
            cs.iter()
                .map(|c| quote_ident(&c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let partition = if pk.len() == 1 {
            names(&pk)
        } else {
            format!("({})", names(&pk))
        };
        let key = if ck.is_empty() {
            partition
        } else {
            format!("{partition}, {}", names(&ck))
        };
        lines.push(format!("{INDENT}PRIMARY KEY ({key})"));
    }
    let mut out = format!(
        "CREATE TABLE {}.{} (\n{}\n) WITH ",
        quote_ident(&t.keyspace),
        quote_ident(&t.name),
        lines.join(",\n")
    );
    if !ck.is_empty() {
        let order: Vec<String> = ck
            .iter()
            .map(|c| {
                let dir = if c.order == crate::schema::model::ClusteringOrder::Desc {
                    "DESC"
                } else {
                    "ASC"
                };
                format!("{} {dir}", quote_ident(&c.name))
            })
            .collect();
        out.push_str(&format!(
            "CLUSTERING ORDER BY ({})\n{INDENT}AND ",
            order.join(", ")
        ));
    }
    let p = &t.params;
    let extensions: Vec<String> = p
        .extensions
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: 0x{}",
                quote_string(k),
                v.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
        })
        .collect();
    let options = [
        format!(
            "additional_write_policy = {}",
            quote_string(&p.additional_write_policy)
        ),
        format!(
            "bloom_filter_fp_chance = {}",
            java_double(p.bloom_filter_fp_chance)
        ),
        format!("caching = {}", string_map(&p.caching)),
        format!("cdc = {}", p.cdc),
        format!("comment = {}", quote_string(&p.comment)),
        format!("compaction = {}", string_map(&p.compaction)),
        format!("compression = {}", string_map(&p.compression)),
        format!("crc_check_chance = {}", java_double(p.crc_check_chance)),
        format!("default_time_to_live = {}", p.default_time_to_live),
        format!("extensions = {{{}}}", extensions.join(", ")),
        format!("gc_grace_seconds = {}", p.gc_grace_seconds),
        format!("max_index_interval = {}", p.max_index_interval),
        format!(
            "memtable_flush_period_in_ms = {}",
            p.memtable_flush_period_in_ms
        ),
        format!("min_index_interval = {}", p.min_index_interval),
        format!("read_repair = {}", quote_string(&p.read_repair)),
        format!("speculative_retry = {}", quote_string(&p.speculative_retry)),
    ];
    out.push_str(&options.join(&format!("\n{INDENT}AND ")));
    out.push(';');
    out
}

/// One output row: keyspace, element type, name and (for elements) the statement.
struct Element {
    keyspace: String,
    kind: &'static str,
    name: String,
    statement: Option<String>,
}

fn keyspace_elements(k: &KeyspaceMetadata, only: bool) -> Vec<Element> {
    let mut out = vec![Element {
        keyspace: k.name.clone(),
        kind: "keyspace",
        name: k.name.clone(),
        statement: Some(keyspace_cql(k)),
    }];
    if only {
        return out;
    }
    for t in types_in_dependency_order(k) {
        out.push(type_element(t));
    }
    for t in k.tables.values() {
        out.push(table_element(t));
    }
    out
}

fn type_element(t: &UserType) -> Element {
    Element {
        keyspace: t.keyspace.clone(),
        kind: "type",
        name: t.name.clone(),
        statement: Some(type_cql(t)),
    }
}

fn table_element(t: &TableMetadata) -> Element {
    Element {
        keyspace: t.keyspace.clone(),
        kind: "table",
        name: t.name.clone(),
        statement: Some(table_cql(t)),
    }
}

fn rows(elements: Vec<Element>, listing: bool) -> CqlResult<ResultMessage> {
    let mut names = vec!["keyspace_name", "type", "name"];
    if !listing {
        names.push("create_statement");
    }
    let columns = names
        .iter()
        .map(|n| ColumnSpec {
            keyspace: "system".into(),
            table: "describe".into(),
            name: n.to_string(),
            cql_type: CqlType::Text,
        })
        .collect();
    let text = |s: &str| -> CqlResult<Option<Vec<u8>>> {
        serialize(&CqlValue::Text(s.to_string()), &CqlType::Text)
            .map(Some)
            .map_err(|e| CqlError::Server(e.to_string()))
    };
    let mut out = Vec::with_capacity(elements.len());
    for e in elements {
        let mut row = vec![text(&e.keyspace)?, text(e.kind)?, text(&e.name)?];
        if !listing {
            row.push(text(e.statement.as_deref().unwrap_or_default())?);
        }
        out.push(row);
    }
    Ok(ResultMessage::Rows(Rows {
        columns,
        rows: out,
        paging_state: None,
        warnings: Vec::new(),
    }))
}

fn invalid(msg: impl Into<String>) -> CqlError {
    CqlError::Invalid(msg.into())
}

fn keyspace<'a>(schema: &'a Schema, name: &str) -> CqlResult<&'a KeyspaceMetadata> {
    schema
        .keyspaces
        .get(name)
        .map(|k| &**k)
        .ok_or_else(|| invalid(format!("'{name}' not found in keyspaces")))
}

fn keyspace_for(q: &QualifiedName, session: Option<&str>) -> CqlResult<String> {
    q.keyspace
        .clone()
        .or_else(|| session.map(str::to_string))
        .ok_or_else(|| invalid("No keyspace specified and no current keyspace"))
}

/// Keyspaces a listing covers: the session's, or every one.
fn listed<'a>(schema: &'a Schema, session: Option<&str>) -> CqlResult<Vec<&'a KeyspaceMetadata>> {
    match session {
        Some(k) => Ok(vec![keyspace(schema, k)?]),
        None => Ok(schema.keyspaces.values().map(|k| &**k).collect()),
    }
}

/// Executes a DESCRIBE against `schema`.
pub fn describe(
    schema: &Schema,
    target: &DescribeTarget,
    session: Option<&str>,
) -> CqlResult<ResultMessage> {
    match target {
        DescribeTarget::Schema { full } => {
            let elements = schema
                .keyspaces
                .values()
                .filter(|k| *full || !builtin::is_builtin(&k.name))
                .flat_map(|k| keyspace_elements(k, false))
                .collect();
            rows(elements, false)
        }
        DescribeTarget::Keyspaces => {
            let elements = schema
                .keyspaces
                .values()
                .map(|k| Element {
                    keyspace: k.name.clone(),
                    kind: "keyspace",
                    name: k.name.clone(),
                    statement: None,
                })
                .collect();
            rows(elements, true)
        }
        DescribeTarget::Keyspace { only, name } => {
            let name = name
                .clone()
                .or_else(|| session.map(str::to_string))
                .ok_or_else(|| invalid("No keyspace specified and no current keyspace"))?;
            rows(keyspace_elements(keyspace(schema, &name)?, *only), false)
        }
        DescribeTarget::Tables => {
            let elements = listed(schema, session)?
                .into_iter()
                .flat_map(|k| k.tables.values())
                .map(|t| Element {
                    keyspace: t.keyspace.clone(),
                    kind: "table",
                    name: t.name.clone(),
                    statement: None,
                })
                .collect();
            rows(elements, true)
        }
        DescribeTarget::Types => {
            let elements = listed(schema, session)?
                .into_iter()
                .flat_map(|k| k.types.values())
                .map(|t| Element {
                    keyspace: t.keyspace.clone(),
                    kind: "type",
                    name: t.name.clone(),
                    statement: None,
                })
                .collect();
            rows(elements, true)
        }
        DescribeTarget::Functions | DescribeTarget::Aggregates => rows(Vec::new(), true),
        DescribeTarget::Table(q) => {
            let ks = keyspace(schema, &keyspace_for(q, session)?)?;
            let t = ks.tables.get(&q.name).ok_or_else(|| {
                invalid(format!("'{}' not found in keyspace '{}'", q.name, ks.name))
            })?;
            rows(vec![table_element(t)], false)
        }
        DescribeTarget::Type(q) => {
            let ks = keyspace(schema, &keyspace_for(q, session)?)?;
            let t = ks.types.get(&q.name).ok_or_else(|| {
                invalid(format!(
                    "User defined type '{}' not found in '{}'",
                    q.name, ks.name
                ))
            })?;
            rows(vec![type_element(t)], false)
        }
        DescribeTarget::Function(q)
        | DescribeTarget::Aggregate(q)
        | DescribeTarget::Index(q)
        | DescribeTarget::MaterializedView(q) => {
            let ks = keyspace(schema, &keyspace_for(q, session)?)?;
            Err(invalid(format!(
                "'{}' not found in keyspace '{}'",
                q.name, ks.name
            )))
        }
        DescribeTarget::Generic(q) => {
            if let Some(ksn) = &q.keyspace {
                let ks = keyspace(schema, ksn)?;
                let t = ks.tables.get(&q.name).ok_or_else(|| {
                    invalid(format!("'{}' not found in keyspace '{}'", q.name, ks.name))
                })?;
                return rows(vec![table_element(t)], false);
            }
            if let Some(ks) = schema.keyspaces.get(&q.name) {
                return rows(keyspace_elements(ks, false), false);
            }
            if let Some(t) = session
                .and_then(|s| schema.keyspaces.get(s))
                .and_then(|k| k.tables.get(&q.name))
            {
                return rows(vec![table_element(t)], false);
            }
            Err(invalid(format!("'{}' not found in keyspaces", q.name)))
        }
        DescribeTarget::Cluster => Err(invalid(
            "DESCRIBE CLUSTER is answered by the node, not by the schema",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Doubles print as Java prints them, so DESCRIBE output matches Cassandra's.
    #[test]
    fn doubles_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(0.01), "0.01");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(0.1), "0.1");
    }
}
