//! The schema's data model: keyspaces, tables, columns, user types, and how a CQL
//! table maps onto the storage engine's partitions, rows and cells.
//!
//! ## How a table maps onto storage (the contract the query layer relies on)
//! - **Table**: one storage table whose [`sibyl_storage::TableId`] is the table's
//!   UUID (`TableMetadata::id`); its storage name is `keyspace.table`.
//! - **Partition key**: the native-protocol serialization of each partition key
//!   column's value ([`sibyl_cql::types::serialize`]); a single column is used as
//!   is, several are combined by [`sibyl_storage::token::composite_key`]
//!   (`[u16 len][bytes][0x00]` each). The token is Murmur3 of those bytes, as in
//!   Cassandra, so token-aware drivers route correctly.
//! - **Clustering**: the concatenation of each clustering column's byte-comparable
//!   encoding ([`sibyl_cql::types::to_comparable`]) with `desc = true` for DESC
//!   columns. Each component is self-delimiting, so a prefix of components is a
//!   prefix of bytes and a `ClusteringBound::Before/After(prefix)` selects exactly
//!   the rows that start with it. The static row has the empty clustering.
//! - **Row marker**: INSERT writes the row's liveness info (timestamp, TTL); UPDATE
//!   does not (as Cassandra: a row only updated disappears when its cells do).
//! - **Cells**: identified by the column's [`ColumnMetadata::id`] (stable, never
//!   reused; a dropped and re-added column gets a new id). Values:
//!   - simple and frozen columns: one cell, `path = None`, value = native serialization;
//!   - `list<T>`: one cell per element, `path` = 16-byte big-endian time-based id
//!     (timestamp µs in the high 64 bits, a per-node sequence in the low 64) so
//!     elements sort in insertion order; value = native serialization of the element;
//!   - `set<T>`: one cell per element, `path` = `to_comparable(element, asc)`, value empty;
//!   - `map<K,V>`: one cell per entry, `path` = `to_comparable(key, asc)`, value =
//!     native serialization of the value;
//!   - non-frozen UDT: one cell per field, `path` = field index as u16 BE, value = the
//!     field's native serialization;
//!   - overwriting a whole collection/UDT (`c = {...}`, INSERT) first writes a
//!     path-less tombstone at `timestamp - 1` (Cassandra's complex deletion), which
//!     shadows every older element.
//! - Deleting a row writes a row deletion; a clustering range a range tombstone; a
//!   partition a partition deletion; a column a cell tombstone (path-less for a
//!   collection: the whole collection).

use std::collections::BTreeMap;
use std::sync::Arc;

use sibyl_cql::types::CqlType;

/// A column's stable id within its table (the storage cell's `column`).
pub type ColumnId = u32;

/// The kind of a column (`system_schema.columns.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ColumnKind {
    PartitionKey,
    Clustering,
    Static,
    Regular,
}

impl ColumnKind {
    /// As written in `system_schema.columns.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnKind::PartitionKey => "partition_key",
            ColumnKind::Clustering => "clustering",
            ColumnKind::Static => "static",
            ColumnKind::Regular => "regular",
        }
    }
}

/// Clustering order (`system_schema.columns.clustering_order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClusteringOrder {
    Asc,
    Desc,
    /// For columns that are not clustering columns.
    None,
}

impl ClusteringOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusteringOrder::Asc => "asc",
            ClusteringOrder::Desc => "desc",
            ClusteringOrder::None => "none",
        }
    }
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnMetadata {
    pub name: String,
    pub id: ColumnId,
    pub kind: ColumnKind,
    /// Position within the partition key or clustering key; -1 for static and regular.
    pub position: i32,
    pub cql_type: CqlType,
    pub order: ClusteringOrder,
}

/// A column that was dropped (`system_schema.dropped_columns`): cells of the old id
/// written before `dropped_time` are ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedColumn {
    pub name: String,
    pub cql_type: CqlType,
    pub kind: ColumnKind,
    /// Microseconds since the epoch.
    pub dropped_time: i64,
}

/// Table options (`WITH ...`), with Cassandra 4's defaults. Map-valued options
/// keep Cassandra's string maps (`compaction`, `compression`, `caching`).
#[derive(Clone, Debug, PartialEq)]
pub struct TableParams {
    pub bloom_filter_fp_chance: f64,
    pub caching: BTreeMap<String, String>,
    pub comment: String,
    pub compaction: BTreeMap<String, String>,
    pub compression: BTreeMap<String, String>,
    pub crc_check_chance: f64,
    pub default_time_to_live: i32,
    pub gc_grace_seconds: i32,
    pub max_index_interval: i32,
    pub memtable_flush_period_in_ms: i32,
    pub min_index_interval: i32,
    pub read_repair: String,
    pub speculative_retry: String,
    pub additional_write_policy: String,
    pub cdc: bool,
    pub extensions: BTreeMap<String, Vec<u8>>,
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Default for TableParams {
    fn default() -> Self {
        TableParams {
            bloom_filter_fp_chance: 0.01,
            caching: map(&[("keys", "ALL"), ("rows_per_partition", "NONE")]),
            comment: String::new(),
            compaction: map(&[
                (
                    "class",
                    "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                ),
                ("max_threshold", "32"),
                ("min_threshold", "4"),
            ]),
            compression: map(&[
                ("chunk_length_in_kb", "16"),
                ("class", "org.apache.cassandra.io.compress.ZstdCompressor"),
            ]),
            crc_check_chance: 1.0,
            default_time_to_live: 0,
            gc_grace_seconds: 864_000,
            max_index_interval: 2048,
            memtable_flush_period_in_ms: 0,
            min_index_interval: 128,
            read_repair: "BLOCKING".into(),
            speculative_retry: "99p".into(),
            additional_write_policy: "99p".into(),
            cdc: false,
            extensions: BTreeMap::new(),
        }
    }
}

/// A table.
#[derive(Clone, Debug, PartialEq)]
pub struct TableMetadata {
    pub keyspace: String,
    pub name: String,
    /// The table's UUID (`WITH ID`, or random at creation).
    pub id: u128,
    /// Every column: partition key columns by position, then clustering columns by
    /// position, then static columns by name, then regular columns by name
    /// (Cassandra's "select order", which `SELECT *` and DESCRIBE follow).
    pub columns: Vec<ColumnMetadata>,
    pub params: TableParams,
    pub dropped: BTreeMap<String, DroppedColumn>,
    /// The next column id to assign (ids are never reused).
    pub next_column_id: ColumnId,
}

impl TableMetadata {
    /// The column called `name` (already case-normalised by the parser).
    pub fn column(&self, name: &str) -> Option<&ColumnMetadata> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Partition key columns in key order.
    pub fn partition_key(&self) -> impl Iterator<Item = &ColumnMetadata> {
        self.columns
            .iter()
            .filter(|c| c.kind == ColumnKind::PartitionKey)
    }

    /// Clustering columns in key order.
    pub fn clustering(&self) -> impl Iterator<Item = &ColumnMetadata> {
        self.columns
            .iter()
            .filter(|c| c.kind == ColumnKind::Clustering)
    }

    /// Static and regular columns.
    pub fn value_columns(&self) -> impl Iterator<Item = &ColumnMetadata> {
        self.columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Static | ColumnKind::Regular))
    }

    /// True when the table has static columns.
    pub fn has_statics(&self) -> bool {
        self.columns.iter().any(|c| c.kind == ColumnKind::Static)
    }

    /// The storage engine's table id.
    pub fn storage_id(&self) -> sibyl_storage::TableId {
        sibyl_storage::TableId(self.id)
    }

    /// True for a counter table (its non-key columns are all counters).
    pub fn is_counter(&self) -> bool {
        self.value_columns().any(|c| c.cql_type.is_counter())
    }

    /// `keyspace.table`, the storage engine's name for the table.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.keyspace, self.name)
    }

    /// Puts `columns` in the documented order (partition key, clustering, static,
    /// regular; key columns by position, the others by name).
    pub fn sort_columns(&mut self) {
        self.columns.sort_by(|a, b| {
            a.kind
                .cmp(&b.kind)
                .then_with(|| a.position.cmp(&b.position))
                .then_with(|| a.name.cmp(&b.name))
        });
    }
}

/// A user-defined type.
#[derive(Clone, Debug, PartialEq)]
pub struct UserType {
    pub keyspace: String,
    pub name: String,
    pub fields: Vec<(String, CqlType)>,
}

/// Keyspace replication (`system_schema.keyspaces.replication`: the full class name
/// under `class`, the other options as given).
#[derive(Clone, Debug, PartialEq)]
pub struct Replication {
    pub options: BTreeMap<String, String>,
}

impl UserType {
    /// The type as a column type (a non-frozen UDT).
    pub fn cql_type(&self) -> CqlType {
        CqlType::Udt {
            keyspace: self.keyspace.clone(),
            name: self.name.clone(),
            fields: self.fields.clone(),
        }
    }
}

/// A keyspace.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyspaceMetadata {
    pub name: String,
    pub replication: Replication,
    pub durable_writes: bool,
    pub tables: BTreeMap<String, Arc<TableMetadata>>,
    pub types: BTreeMap<String, UserType>,
}

/// The whole schema at one point in time: what [`crate::schema::SchemaManager`]
/// hands out as a cheap `Arc` snapshot and replaces as a whole on every change.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Schema {
    pub keyspaces: BTreeMap<String, Arc<KeyspaceMetadata>>,
}
