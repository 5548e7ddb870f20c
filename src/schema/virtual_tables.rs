//! The `system_schema` tables, generated from the in-memory schema.
//!
//! **What.** `keyspaces`, `tables`, `columns`, `dropped_columns` and `types` hold one
//! row per object of every keyspace, built-in ones included; `indexes`, `views`,
//! `triggers`, `functions` and `aggregates` exist with Cassandra 4's columns and are
//! empty because Sibyl has none of those objects. Columns and types are exactly
//! those of Cassandra 4.0's `SchemaKeyspace` (see [`crate::schema::builtin`]); values
//! are what Cassandra writes (`type` as CQL text such as `map<text, int>`,
//! `position` -1 for static and regular columns, `flags` `{'compound'}`).
//!
//! **Order.** Rows come as Cassandra returns a full scan: partitions by the
//! Murmur3 token of their key (`keyspace_name`), rows inside by clustering key.
//!
//! **Why virtual.** Cassandra stores its schema in these tables; Sibyl stores it
//! in one checksummed file ([`crate::schema::persist`]) and renders these rows on
//! demand, so they can never disagree with the schema actually in force.

use std::collections::BTreeMap;

use sibyl_cql::types::{serialize, CqlType, CqlValue};
use sibyl_storage::Token;

use crate::query::ColumnSpec;
use crate::schema::model::{KeyspaceMetadata, Schema, TableMetadata};

/// A virtual table's column metadata and rows (`None` = null).
pub type VirtualRows = (Vec<ColumnSpec>, Vec<Vec<Option<CqlValue>>>);

/// A row as column name → value (`None`: null / absent).
type NamedRow = BTreeMap<&'static str, CqlValue>;

fn text(s: &str) -> CqlValue {
    CqlValue::Text(s.to_string())
}

fn text_map(m: &BTreeMap<String, String>) -> CqlValue {
    CqlValue::Map(m.iter().map(|(k, v)| (text(k), text(v))).collect())
}

fn text_list<'a>(items: impl Iterator<Item = &'a str>) -> CqlValue {
    CqlValue::List(items.map(text).collect())
}

fn keyspace_row(k: &KeyspaceMetadata) -> NamedRow {
    let mut r = NamedRow::new();
    r.insert("keyspace_name", text(&k.name));
    r.insert("durable_writes", CqlValue::Boolean(k.durable_writes));
    r.insert("replication", text_map(&k.replication.options));
    r
}

fn table_row(t: &TableMetadata) -> NamedRow {
    let p = &t.params;
    let mut r = NamedRow::new();
    r.insert("keyspace_name", text(&t.keyspace));
    r.insert("table_name", text(&t.name));
    r.insert("additional_write_policy", text(&p.additional_write_policy));
    r.insert(
        "bloom_filter_fp_chance",
        CqlValue::Double(p.bloom_filter_fp_chance),
    );
    r.insert("caching", text_map(&p.caching));
    r.insert("cdc", CqlValue::Boolean(p.cdc));
    r.insert("comment", text(&p.comment));
    r.insert("compaction", text_map(&p.compaction));
    r.insert("compression", text_map(&p.compression));
    r.insert("crc_check_chance", CqlValue::Double(p.crc_check_chance));
    r.insert(
        "default_time_to_live",
        CqlValue::Int(p.default_time_to_live),
    );
    r.insert(
        "extensions",
        CqlValue::Map(
            p.extensions
                .iter()
                .map(|(k, v)| (text(k), CqlValue::Blob(v.clone())))
                .collect(),
        ),
    );
    let flags = if t.is_counter() {
        vec![text("compound"), text("counter")]
    } else {
        vec![text("compound")]
    };
    r.insert("flags", CqlValue::Set(flags));
    r.insert("gc_grace_seconds", CqlValue::Int(p.gc_grace_seconds));
    r.insert("id", CqlValue::Uuid(t.id));
    r.insert("max_index_interval", CqlValue::Int(p.max_index_interval));
    r.insert(
        "memtable_flush_period_in_ms",
        CqlValue::Int(p.memtable_flush_period_in_ms),
    );
    r.insert("min_index_interval", CqlValue::Int(p.min_index_interval));
    r.insert("read_repair", text(&p.read_repair));
    r.insert("speculative_retry", text(&p.speculative_retry));
    r
}

fn column_rows(t: &TableMetadata) -> Vec<NamedRow> {
    t.columns
        .iter()
        .map(|c| {
            let mut r = NamedRow::new();
            r.insert("keyspace_name", text(&t.keyspace));
            r.insert("table_name", text(&t.name));
            r.insert("column_name", text(&c.name));
            r.insert("clustering_order", text(c.order.as_str()));
            r.insert(
                "column_name_bytes",
                CqlValue::Blob(c.name.as_bytes().to_vec()),
            );
            r.insert("kind", text(c.kind.as_str()));
            r.insert("position", CqlValue::Int(c.position));
            r.insert("type", text(&c.cql_type.to_string()));
            r
        })
        .collect()
}

fn dropped_rows(t: &TableMetadata) -> Vec<NamedRow> {
    t.dropped
        .values()
        .map(|d| {
            let mut r = NamedRow::new();
            r.insert("keyspace_name", text(&t.keyspace));
            r.insert("table_name", text(&t.name));
            r.insert("column_name", text(&d.name));
            r.insert(
                "dropped_time",
                CqlValue::Timestamp(d.dropped_time.div_euclid(1000)),
            );
            r.insert("kind", text(d.kind.as_str()));
            r.insert("type", text(&d.cql_type.to_string()));
            r
        })
        .collect()
}

fn type_rows(k: &KeyspaceMetadata) -> Vec<NamedRow> {
    k.types
        .values()
        .map(|t| {
            let mut r = NamedRow::new();
            r.insert("keyspace_name", text(&k.name));
            r.insert("type_name", text(&t.name));
            r.insert(
                "field_names",
                text_list(t.fields.iter().map(|(n, _)| n.as_str())),
            );
            let types: Vec<String> = t.fields.iter().map(|(_, ty)| ty.to_string()).collect();
            r.insert("field_types", text_list(types.iter().map(String::as_str)));
            r
        })
        .collect()
}

/// The rows of `system_schema.<table>`, or `None` for a table that is not one of them.
fn named_rows(schema: &Schema, table: &str) -> Option<Vec<NamedRow>> {
    let ks = schema.keyspaces.values();
    let tables = || schema.keyspaces.values().flat_map(|k| k.tables.values());
    Some(match table {
        "keyspaces" => ks.map(|k| keyspace_row(k)).collect(),
        "tables" => tables().map(|t| table_row(t)).collect(),
        "columns" => tables().flat_map(|t| column_rows(t)).collect(),
        "dropped_columns" => tables().flat_map(|t| dropped_rows(t)).collect(),
        "types" => ks.flat_map(|k| type_rows(k)).collect(),
        "indexes" | "views" | "triggers" | "functions" | "aggregates" => Vec::new(),
        _ => return None,
    })
}

/// Columns and rows of a `system_schema` table, in Cassandra's scan order.
pub fn system_schema_table(schema: &Schema, meta: &TableMetadata) -> Option<VirtualRows> {
    let named = named_rows(schema, &meta.name)?;
    let specs: Vec<ColumnSpec> = meta
        .columns
        .iter()
        .map(|c| ColumnSpec {
            keyspace: meta.keyspace.clone(),
            table: meta.name.clone(),
            name: c.name.clone(),
            cql_type: c.cql_type.clone(),
        })
        .collect();
    let mut rows: Vec<(Token, Vec<Option<CqlValue>>)> = named
        .into_iter()
        .map(|mut r| {
            let token = r
                .get("keyspace_name")
                .and_then(|k| serialize(k, &CqlType::Text).ok())
                .map_or(Token::MIN, |b| Token::of(&b));
            let row = meta
                .columns
                .iter()
                .map(|c| r.remove(c.name.as_str()))
                .collect();
            (token, row)
        })
        .collect();
    // Partitions by token; within one, the generators already emit clustering order
    // (tables, columns and types come from sorted maps) except `columns`, sorted here.
    rows.sort_by(|(ta, ra), (tb, rb)| ta.cmp(tb).then_with(|| clustering_cmp(ra, rb, meta)));
    Some((specs, rows.into_iter().map(|(_, r)| r).collect()))
}

fn clustering_cmp(
    a: &[Option<CqlValue>],
    b: &[Option<CqlValue>],
    meta: &TableMetadata,
) -> std::cmp::Ordering {
    for (i, c) in meta.columns.iter().enumerate() {
        if c.kind == crate::schema::model::ColumnKind::Clustering {
            let (x, y) = (
                a.get(i).and_then(Option::as_ref),
                b.get(i).and_then(Option::as_ref),
            );
            let ord = match (x, y) {
                (Some(CqlValue::Text(x)), Some(CqlValue::Text(y))) => {
                    x.as_bytes().cmp(y.as_bytes())
                }
                _ => std::cmp::Ordering::Equal,
            };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
    }
    std::cmp::Ordering::Equal
}
