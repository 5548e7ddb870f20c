//! What executing a statement returns, shaped like the native protocol's RESULT
//! messages so the transport only encodes them: Void, Rows (with column metadata and
//! an opaque paging state), SetKeyspace, SchemaChange.

use sibyl_cql::types::CqlType;

/// Metadata of one result or bind column.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSpec {
    pub keyspace: String,
    pub table: String,
    pub name: String,
    pub cql_type: CqlType,
}

/// A page of rows. Values are in the native protocol's serialization (`None` = null),
/// one `Vec` per row in `columns` order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Rows {
    pub columns: Vec<ColumnSpec>,
    pub rows: Vec<Vec<Option<Vec<u8>>>>,
    /// Present when more rows may follow: hand it back unchanged to get them. It holds
    /// no pointers, so any node can resume from it.
    pub paging_state: Option<Vec<u8>>,
    /// Client warnings sent with the result (e.g. many tombstones scanned).
    pub warnings: Vec<String>,
}

/// What changed in a schema change (`SCHEMA_CHANGE` result and event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaChangeType {
    Created,
    Updated,
    Dropped,
}

/// The kind of schema object that changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaChangeTarget {
    Keyspace,
    Table,
    Type,
    Function,
    Aggregate,
}

/// A schema change, as the protocol reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    pub change: SchemaChangeType,
    pub target: SchemaChangeTarget,
    pub keyspace: String,
    /// Table or type name; empty for a keyspace.
    pub name: String,
    /// Argument types (functions and aggregates).
    pub arguments: Vec<String>,
}

/// The result of executing one statement.
#[derive(Clone, Debug, PartialEq)]
pub enum ResultMessage {
    Void,
    Rows(Rows),
    SetKeyspace(String),
    SchemaChange(SchemaChange),
}

/// Per-request options (the QUERY/EXECUTE flags of the protocol).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryOptions {
    /// Bound values, in bind-marker order, native serialization; `None` = null.
    /// (`unset` values are represented by `unset[i] == true`.)
    pub values: Vec<Option<Vec<u8>>>,
    /// Parallel to `values`: true where the client sent UNSET.
    pub unset: Vec<bool>,
    /// Names for named values (`:name` markers), parallel to `values` when given.
    pub names: Option<Vec<String>>,
    /// Rows per page; `None` = no paging (every row in one result).
    pub page_size: Option<usize>,
    /// A paging state from a previous page of the same statement.
    pub paging_state: Option<Vec<u8>>,
    /// Client-supplied write timestamp (µs), overriding the server clock.
    pub timestamp: Option<i64>,
    /// Keyspace override (protocol v5).
    pub keyspace: Option<String>,
    /// Skip result metadata (the transport honours it; execution ignores it).
    pub skip_metadata: bool,
}
