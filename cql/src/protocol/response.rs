//! Response messages (spec §4.2 and the error bodies of §9): plain structs,
//! an encoder for the server and a decoder for clients (tests, our cqlsh).
//!
//! Body layouts:
//!
//! ```text
//! ERROR          [int] code, [string] message, then per code (see ErrorKind):
//!   0x1000 Unavailable     [consistency] cl, [int] required, [int] alive
//!   0x1100 WriteTimeout    [consistency] cl, [int] received, [int] blockfor,
//!                          [string] writeType, v5 and writeType CAS: [short] contentions
//!   0x1200 ReadTimeout     [consistency] cl, [int] received, [int] blockfor,
//!                          [byte] data_present
//!   0x1300 ReadFailure     [consistency] cl, [int] received, [int] blockfor,
//!                          v5: reasonmap | v4: [int] numfailures, [byte] data_present
//!   0x1400 FunctionFailure [string] keyspace, [string] function, [string list] arg types
//!   0x1500 WriteFailure    [consistency] cl, [int] received, [int] blockfor,
//!                          v5: reasonmap | v4: [int] numfailures, [string] writeType
//!   0x1700 CASWriteUnknown [consistency] cl, [int] received, [int] blockfor  (v5)
//!   0x2400 AlreadyExists   [string] keyspace, [string] table ("" for a keyspace)
//!   0x2500 Unprepared      [short bytes] id
//!   reasonmap = [int] n, n × ([inetaddr] endpoint, [short] failure code)
//! READY          (empty)
//! AUTHENTICATE   [string] authenticator class
//! SUPPORTED      [string multimap]
//! RESULT         [int] kind, then:
//!   0x0001 Void
//!   0x0002 Rows          <metadata> [int] rows_count, rows_count × columns_count × [bytes]
//!   0x0003 Set_keyspace  [string]
//!   0x0004 Prepared      [short bytes] id, v5: [short bytes] result_metadata_id,
//!                        <prepared metadata>, <metadata>
//!   0x0005 Schema_change <schema change>
//! EVENT          [string] type, then TOPOLOGY_CHANGE / STATUS_CHANGE: [string] change,
//!                [inet] node; SCHEMA_CHANGE: <schema change>
//! AUTH_CHALLENGE [bytes] token
//! AUTH_SUCCESS   [bytes] token
//!
//! <metadata> = [int] flags, [int] columns_count,
//!   flags 0x0002 Has_more_pages   → [bytes] paging_state
//!   flags 0x0008 Metadata_changed → [short bytes] new_metadata_id (v5)
//!   unless flags 0x0004 No_metadata:
//!     flags 0x0001 Global_tables_spec → [string] keyspace, [string] table
//!     columns_count × ([string] ks, [string] table unless global; [string] name, [option] type)
//! <prepared metadata> = [int] flags, [int] columns_count,
//!   v4+: [int] pk_count, pk_count × [short] pk index,
//!   flags 0x0001 → [string] keyspace, [string] table; columns as above
//! <schema change> = [string] CREATED|UPDATED|DROPPED, [string] target, then
//!   KEYSPACE: [string] ks; TABLE/TYPE: [string] ks, [string] name;
//!   FUNCTION/AGGREGATE: [string] ks, [string] name, [string list] argument types
//! ```
//!
//! The encoder uses Global_tables_spec whenever all columns share one
//! keyspace and table, as Cassandra does. Decoded rows are bounded by the
//! body: a row count is only believed if the remaining bytes can hold that
//! many cells.

use std::net::{IpAddr, SocketAddr};

use super::error::{ProtocolError, ProtocolResult};
use super::frame::{Opcode, V4, V5};
use super::primitives::*;
use crate::types::CqlType;

/// RESULT kind: Void.
pub const RESULT_VOID: i32 = 0x0001;
/// RESULT kind: Rows.
pub const RESULT_ROWS: i32 = 0x0002;
/// RESULT kind: Set_keyspace.
pub const RESULT_SET_KEYSPACE: i32 = 0x0003;
/// RESULT kind: Prepared.
pub const RESULT_PREPARED: i32 = 0x0004;
/// RESULT kind: Schema_change.
pub const RESULT_SCHEMA_CHANGE: i32 = 0x0005;

/// Metadata flag: one keyspace/table for all columns.
pub const METADATA_GLOBAL_TABLES_SPEC: i32 = 0x0001;
/// Metadata flag: a paging state follows.
pub const METADATA_HAS_MORE_PAGES: i32 = 0x0002;
/// Metadata flag: no column specs.
pub const METADATA_NO_METADATA: i32 = 0x0004;
/// Metadata flag (v5): a new result metadata id follows.
pub const METADATA_CHANGED: i32 = 0x0008;

/// Smallest encoded cell ([bytes] length prefix); bounds believable row counts.
const MIN_CELL_LEN: usize = 4;

/// One column of result or bind metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Keyspace.
    pub keyspace: String,
    /// Table.
    pub table: String,
    /// Column (or bind marker) name.
    pub name: String,
    /// Type.
    pub cql_type: CqlType,
}

/// Result metadata (`<metadata>`), of Rows and of Prepared.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ResultMetadata {
    /// Number of columns (always sent, also with No_metadata).
    pub column_count: usize,
    /// Column specs; `None` sends the No_metadata flag.
    pub columns: Option<Vec<ColumnSpec>>,
    /// Has_more_pages: the state to send back for the next page.
    pub paging_state: Option<Vec<u8>>,
    /// v5 Metadata_changed: the new result metadata id.
    pub new_metadata_id: Option<Vec<u8>>,
}

impl ResultMetadata {
    /// Metadata describing `columns`.
    pub fn with_columns(columns: Vec<ColumnSpec>) -> Self {
        ResultMetadata {
            column_count: columns.len(),
            columns: Some(columns),
            paging_state: None,
            new_metadata_id: None,
        }
    }

    /// No_metadata with a column count (the client skipped metadata).
    pub fn no_metadata(column_count: usize) -> Self {
        ResultMetadata {
            column_count,
            columns: None,
            paging_state: None,
            new_metadata_id: None,
        }
    }

    fn write(&self, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
        let mut flags = 0;
        let global = self.columns.as_deref().and_then(global_spec);
        if global.is_some() {
            flags |= METADATA_GLOBAL_TABLES_SPEC;
        }
        if self.paging_state.is_some() {
            flags |= METADATA_HAS_MORE_PAGES;
        }
        if self.columns.is_none() {
            flags |= METADATA_NO_METADATA;
        }
        if self.new_metadata_id.is_some() {
            if version < V5 {
                return Err(ProtocolError::malformed(
                    "Metadata_changed needs protocol v5",
                ));
            }
            flags |= METADATA_CHANGED;
        }
        if let Some(c) = &self.columns {
            if c.len() != self.column_count {
                return Err(ProtocolError::malformed(format!(
                    "metadata has {} columns but a column count of {}",
                    c.len(),
                    self.column_count
                )));
            }
        }
        put_int(out, flags);
        put_int(out, count_i32(self.column_count)?);
        if let Some(p) = &self.paging_state {
            put_bytes(out, Some(p))?;
        }
        if let Some(id) = &self.new_metadata_id {
            put_short_bytes(out, id)?;
        }
        if let Some(cols) = &self.columns {
            write_columns(out, cols, global, version)?;
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> ProtocolResult<ResultMetadata> {
        let flags = r.read_int()?;
        let count = read_count(r, "columns_count")?;
        let mut m = ResultMetadata::no_metadata(count);
        if flags & METADATA_HAS_MORE_PAGES != 0 {
            m.paging_state = r.read_bytes()?;
        }
        if flags & METADATA_CHANGED != 0 {
            m.new_metadata_id = Some(r.read_short_bytes()?);
        }
        if flags & METADATA_NO_METADATA == 0 {
            m.columns = Some(read_columns(
                r,
                count,
                flags & METADATA_GLOBAL_TABLES_SPEC != 0,
            )?);
        }
        Ok(m)
    }
}

fn count_i32(n: usize) -> ProtocolResult<i32> {
    i32::try_from(n).map_err(|_| ProtocolError::malformed(format!("count too large: {n}")))
}

fn read_count(r: &mut Reader<'_>, what: &str) -> ProtocolResult<usize> {
    let n = r.read_int()?;
    usize::try_from(n).map_err(|_| ProtocolError::malformed(format!("Negative {what}: {n}")))
}

/// The shared (keyspace, table) of all columns, if there is one.
fn global_spec(cols: &[ColumnSpec]) -> Option<(&str, &str)> {
    let first = cols.first()?;
    cols.iter()
        .all(|c| c.keyspace == first.keyspace && c.table == first.table)
        .then_some((first.keyspace.as_str(), first.table.as_str()))
}

fn write_columns(
    out: &mut Vec<u8>,
    cols: &[ColumnSpec],
    global: Option<(&str, &str)>,
    version: u8,
) -> ProtocolResult<()> {
    if let Some((ks, t)) = global {
        put_string(out, ks)?;
        put_string(out, t)?;
    }
    for c in cols {
        if global.is_none() {
            put_string(out, &c.keyspace)?;
            put_string(out, &c.table)?;
        }
        put_string(out, &c.name)?;
        put_option(out, &c.cql_type, version)?;
    }
    Ok(())
}

fn read_columns(r: &mut Reader<'_>, count: usize, global: bool) -> ProtocolResult<Vec<ColumnSpec>> {
    let g = if global {
        Some((r.read_string()?, r.read_string()?))
    } else {
        None
    };
    // No pre-allocation from the count: each column consumes input, so the
    // vector cannot outgrow the body.
    let mut cols = Vec::new();
    for _ in 0..count {
        let (keyspace, table) = match &g {
            Some((k, t)) => (k.clone(), t.clone()),
            None => (r.read_string()?, r.read_string()?),
        };
        let name = r.read_string()?;
        let cql_type = r.read_option()?;
        cols.push(ColumnSpec {
            keyspace,
            table,
            name,
            cql_type,
        });
    }
    Ok(cols)
}

/// Bind metadata of a Prepared result (`<prepared metadata>`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PreparedMetadata {
    /// The bind markers.
    pub columns: Vec<ColumnSpec>,
    /// Indices of bind markers that are partition key columns (v4+).
    pub pk_indices: Vec<u16>,
}

impl PreparedMetadata {
    fn write(&self, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
        let global = global_spec(&self.columns);
        put_int(
            out,
            if global.is_some() {
                METADATA_GLOBAL_TABLES_SPEC
            } else {
                0
            },
        );
        put_int(out, count_i32(self.columns.len())?);
        if version >= V4 {
            put_int(out, count_i32(self.pk_indices.len())?);
            for i in &self.pk_indices {
                put_short(out, *i);
            }
        }
        write_columns(out, &self.columns, global, version)
    }

    fn read(r: &mut Reader<'_>, version: u8) -> ProtocolResult<PreparedMetadata> {
        let flags = r.read_int()?;
        let count = read_count(r, "columns_count")?;
        let mut pk_indices = Vec::new();
        if version >= V4 {
            let n = read_count(r, "pk_count")?;
            for _ in 0..n {
                pk_indices.push(r.read_short()?);
            }
        }
        let columns = read_columns(r, count, flags & METADATA_GLOBAL_TABLES_SPEC != 0)?;
        Ok(PreparedMetadata {
            columns,
            pk_indices,
        })
    }
}

/// A Rows result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows {
    /// Result metadata.
    pub metadata: ResultMetadata,
    /// Rows of `metadata.column_count` cells each; `None` is null.
    pub rows: Vec<Vec<Option<Vec<u8>>>>,
}

/// A Prepared result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// Statement id.
    pub id: Vec<u8>,
    /// v5: result metadata id.
    pub result_metadata_id: Option<Vec<u8>>,
    /// Bind markers.
    pub metadata: PreparedMetadata,
    /// Result columns (No_metadata for statements without rows).
    pub result_metadata: ResultMetadata,
}

/// Schema change kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaChangeType {
    /// `CREATED`
    Created,
    /// `UPDATED`
    Updated,
    /// `DROPPED`
    Dropped,
}

impl SchemaChangeType {
    fn name(self) -> &'static str {
        match self {
            SchemaChangeType::Created => "CREATED",
            SchemaChangeType::Updated => "UPDATED",
            SchemaChangeType::Dropped => "DROPPED",
        }
    }
}

/// What a schema change is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaChangeTarget {
    /// `KEYSPACE`
    Keyspace(String),
    /// `TABLE`
    Table {
        /// Keyspace.
        keyspace: String,
        /// Table.
        name: String,
    },
    /// `TYPE`
    Type {
        /// Keyspace.
        keyspace: String,
        /// Type name.
        name: String,
    },
    /// `FUNCTION`
    Function {
        /// Keyspace.
        keyspace: String,
        /// Function name.
        name: String,
        /// Argument types as CQL text.
        arg_types: Vec<String>,
    },
    /// `AGGREGATE`
    Aggregate {
        /// Keyspace.
        keyspace: String,
        /// Aggregate name.
        name: String,
        /// Argument types as CQL text.
        arg_types: Vec<String>,
    },
}

/// A schema change (RESULT Schema_change and SCHEMA_CHANGE events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    /// Created, updated or dropped.
    pub change: SchemaChangeType,
    /// The changed element.
    pub target: SchemaChangeTarget,
}

impl SchemaChange {
    fn write(&self, out: &mut Vec<u8>) -> ProtocolResult<()> {
        put_string(out, self.change.name())?;
        match &self.target {
            SchemaChangeTarget::Keyspace(k) => {
                put_string(out, "KEYSPACE")?;
                put_string(out, k)
            }
            SchemaChangeTarget::Table { keyspace, name } => {
                put_string(out, "TABLE")?;
                put_string(out, keyspace)?;
                put_string(out, name)
            }
            SchemaChangeTarget::Type { keyspace, name } => {
                put_string(out, "TYPE")?;
                put_string(out, keyspace)?;
                put_string(out, name)
            }
            SchemaChangeTarget::Function {
                keyspace,
                name,
                arg_types,
            } => {
                put_string(out, "FUNCTION")?;
                put_string(out, keyspace)?;
                put_string(out, name)?;
                put_string_list(out, arg_types)
            }
            SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                arg_types,
            } => {
                put_string(out, "AGGREGATE")?;
                put_string(out, keyspace)?;
                put_string(out, name)?;
                put_string_list(out, arg_types)
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> ProtocolResult<SchemaChange> {
        let change = match r.read_string()?.as_str() {
            "CREATED" => SchemaChangeType::Created,
            "UPDATED" => SchemaChangeType::Updated,
            "DROPPED" => SchemaChangeType::Dropped,
            other => {
                return Err(ProtocolError::malformed(format!(
                    "Unknown schema change type {other}"
                )))
            }
        };
        let target = match r.read_string()?.as_str() {
            "KEYSPACE" => SchemaChangeTarget::Keyspace(r.read_string()?),
            "TABLE" => SchemaChangeTarget::Table {
                keyspace: r.read_string()?,
                name: r.read_string()?,
            },
            "TYPE" => SchemaChangeTarget::Type {
                keyspace: r.read_string()?,
                name: r.read_string()?,
            },
            "FUNCTION" => SchemaChangeTarget::Function {
                keyspace: r.read_string()?,
                name: r.read_string()?,
                arg_types: r.read_string_list()?,
            },
            "AGGREGATE" => SchemaChangeTarget::Aggregate {
                keyspace: r.read_string()?,
                name: r.read_string()?,
                arg_types: r.read_string_list()?,
            },
            other => {
                return Err(ProtocolError::malformed(format!(
                    "Unknown schema change target {other}"
                )))
            }
        };
        Ok(SchemaChange { change, target })
    }
}

/// The body of a RESULT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultBody {
    /// Void.
    Void,
    /// Rows.
    Rows(Rows),
    /// Set_keyspace.
    SetKeyspace(String),
    /// Prepared.
    Prepared(Prepared),
    /// Schema_change.
    SchemaChange(SchemaChange),
}

/// Node failures of Read/WriteFailure: v5 sends who failed and why, v4 only
/// how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failures {
    /// v5 reasonmap: endpoint and failure code (0x0000 unknown,
    /// 0x0001 too many tombstones read, 0x0002 index not available, ...).
    Reasons(Vec<(IpAddr, u16)>),
    /// v3/v4 numfailures (what a v4 body decodes to).
    Count(i32),
}

impl Failures {
    fn write(&self, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
        match (self, version >= V5) {
            (Failures::Reasons(r), true) => {
                put_int(out, count_i32(r.len())?);
                for (ip, code) in r {
                    put_inetaddr(out, ip);
                    put_short(out, *code);
                }
            }
            (Failures::Reasons(r), false) => put_int(out, count_i32(r.len())?),
            (Failures::Count(n), false) => put_int(out, *n),
            (Failures::Count(_), true) => {
                return Err(ProtocolError::malformed(
                    "protocol v5 failure errors need the failure reason map",
                ))
            }
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>, version: u8) -> ProtocolResult<Failures> {
        if version >= V5 {
            let n = read_count(r, "reasonmap size")?;
            let mut v = Vec::new();
            for _ in 0..n {
                let ip = r.read_inetaddr()?;
                v.push((ip, r.read_short()?));
            }
            Ok(Failures::Reasons(v))
        } else {
            Ok(Failures::Count(r.read_int()?))
        }
    }
}

/// An error's code and code-specific fields (spec §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 0x0000 Server error.
    Server,
    /// 0x000A Protocol error.
    Protocol,
    /// 0x0100 Bad credentials.
    AuthenticationError,
    /// 0x1000 Unavailable.
    Unavailable {
        /// Consistency of the query.
        consistency: Consistency,
        /// Replicas required.
        required: i32,
        /// Replicas alive.
        alive: i32,
    },
    /// 0x1001 Overloaded.
    Overloaded,
    /// 0x1002 Is bootstrapping.
    IsBootstrapping,
    /// 0x1003 Truncate error.
    TruncateError,
    /// 0x1100 Write timeout.
    WriteTimeout {
        /// Consistency of the query.
        consistency: Consistency,
        /// Acknowledgements received.
        received: i32,
        /// Acknowledgements required.
        block_for: i32,
        /// SIMPLE, BATCH, UNLOGGED_BATCH, COUNTER, BATCH_LOG, CAS, VIEW, CDC.
        write_type: String,
        /// v5, CAS only: contentions during the Paxos round (0 if `None`).
        contentions: Option<u16>,
    },
    /// 0x1200 Read timeout.
    ReadTimeout {
        /// Consistency of the query.
        consistency: Consistency,
        /// Responses received.
        received: i32,
        /// Responses required.
        block_for: i32,
        /// Whether the data replica answered.
        data_present: bool,
    },
    /// 0x1300 Read failure.
    ReadFailure {
        /// Consistency of the query.
        consistency: Consistency,
        /// Responses received.
        received: i32,
        /// Responses required.
        block_for: i32,
        /// Failed replicas.
        failures: Failures,
        /// Whether the data replica answered.
        data_present: bool,
    },
    /// 0x1400 Function failure.
    FunctionFailure {
        /// Keyspace of the function.
        keyspace: String,
        /// Function name.
        function: String,
        /// Argument types as CQL text.
        arg_types: Vec<String>,
    },
    /// 0x1500 Write failure.
    WriteFailure {
        /// Consistency of the query.
        consistency: Consistency,
        /// Acknowledgements received.
        received: i32,
        /// Acknowledgements required.
        block_for: i32,
        /// Failed replicas.
        failures: Failures,
        /// Write type, as for WriteTimeout.
        write_type: String,
    },
    /// 0x1600 CDC write failure (v5).
    CdcWriteFailure,
    /// 0x1700 CAS write unknown (v5).
    CasWriteUnknown {
        /// Consistency of the query.
        consistency: Consistency,
        /// Acknowledgements received.
        received: i32,
        /// Acknowledgements required.
        block_for: i32,
    },
    /// 0x2000 Syntax error.
    Syntax,
    /// 0x2100 Unauthorized.
    Unauthorized,
    /// 0x2200 Invalid.
    Invalid,
    /// 0x2300 Config error.
    Config,
    /// 0x2400 Already exists.
    AlreadyExists {
        /// Keyspace.
        keyspace: String,
        /// Table (empty when the keyspace itself exists).
        table: String,
    },
    /// 0x2500 Unprepared.
    Unprepared {
        /// The unknown statement id.
        id: Vec<u8>,
    },
    /// Any other code (decoding only; extra fields are not interpreted).
    Other(i32),
}

impl ErrorKind {
    /// The error code.
    pub fn code(&self) -> i32 {
        match self {
            ErrorKind::Server => 0x0000,
            ErrorKind::Protocol => 0x000A,
            ErrorKind::AuthenticationError => 0x0100,
            ErrorKind::Unavailable { .. } => 0x1000,
            ErrorKind::Overloaded => 0x1001,
            ErrorKind::IsBootstrapping => 0x1002,
            ErrorKind::TruncateError => 0x1003,
            ErrorKind::WriteTimeout { .. } => 0x1100,
            ErrorKind::ReadTimeout { .. } => 0x1200,
            ErrorKind::ReadFailure { .. } => 0x1300,
            ErrorKind::FunctionFailure { .. } => 0x1400,
            ErrorKind::WriteFailure { .. } => 0x1500,
            ErrorKind::CdcWriteFailure => 0x1600,
            ErrorKind::CasWriteUnknown { .. } => 0x1700,
            ErrorKind::Syntax => 0x2000,
            ErrorKind::Unauthorized => 0x2100,
            ErrorKind::Invalid => 0x2200,
            ErrorKind::Config => 0x2300,
            ErrorKind::AlreadyExists { .. } => 0x2400,
            ErrorKind::Unprepared { .. } => 0x2500,
            ErrorKind::Other(c) => *c,
        }
    }
}

/// An ERROR body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    /// Code and extra fields.
    pub kind: ErrorKind,
    /// Human-readable message.
    pub message: String,
}

impl ErrorBody {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorBody {
            kind,
            message: message.into(),
        }
    }

    /// The protocol error (0x000A) reporting a codec failure.
    pub fn from_protocol_error(e: &ProtocolError) -> Self {
        ErrorBody::new(ErrorKind::Protocol, e.to_string())
    }

    fn write(&self, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
        put_int(out, self.kind.code());
        put_string(out, &self.message)?;
        match &self.kind {
            ErrorKind::Unavailable {
                consistency,
                required,
                alive,
            } => {
                put_consistency(out, *consistency);
                put_int(out, *required);
                put_int(out, *alive);
            }
            ErrorKind::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            } => {
                put_consistency(out, *consistency);
                put_int(out, *received);
                put_int(out, *block_for);
                put_string(out, write_type)?;
                if version >= V5 && write_type == "CAS" {
                    put_short(out, contentions.unwrap_or(0));
                }
            }
            ErrorKind::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            } => {
                put_consistency(out, *consistency);
                put_int(out, *received);
                put_int(out, *block_for);
                put_byte(out, u8::from(*data_present));
            }
            ErrorKind::ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            } => {
                put_consistency(out, *consistency);
                put_int(out, *received);
                put_int(out, *block_for);
                failures.write(out, version)?;
                put_byte(out, u8::from(*data_present));
            }
            ErrorKind::FunctionFailure {
                keyspace,
                function,
                arg_types,
            } => {
                put_string(out, keyspace)?;
                put_string(out, function)?;
                put_string_list(out, arg_types)?;
            }
            ErrorKind::WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            } => {
                put_consistency(out, *consistency);
                put_int(out, *received);
                put_int(out, *block_for);
                failures.write(out, version)?;
                put_string(out, write_type)?;
            }
            ErrorKind::CasWriteUnknown {
                consistency,
                received,
                block_for,
            } => {
                put_consistency(out, *consistency);
                put_int(out, *received);
                put_int(out, *block_for);
            }
            ErrorKind::AlreadyExists { keyspace, table } => {
                put_string(out, keyspace)?;
                put_string(out, table)?;
            }
            ErrorKind::Unprepared { id } => put_short_bytes(out, id)?,
            _ => {}
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>, version: u8) -> ProtocolResult<ErrorBody> {
        let code = r.read_int()?;
        let message = r.read_string()?;
        let kind = match code {
            0x0000 => ErrorKind::Server,
            0x000A => ErrorKind::Protocol,
            0x0100 => ErrorKind::AuthenticationError,
            0x1000 => ErrorKind::Unavailable {
                consistency: r.read_consistency()?,
                required: r.read_int()?,
                alive: r.read_int()?,
            },
            0x1001 => ErrorKind::Overloaded,
            0x1002 => ErrorKind::IsBootstrapping,
            0x1003 => ErrorKind::TruncateError,
            0x1100 => {
                let consistency = r.read_consistency()?;
                let received = r.read_int()?;
                let block_for = r.read_int()?;
                let write_type = r.read_string()?;
                let contentions = if version >= V5 && write_type == "CAS" {
                    Some(r.read_short()?)
                } else {
                    None
                };
                ErrorKind::WriteTimeout {
                    consistency,
                    received,
                    block_for,
                    write_type,
                    contentions,
                }
            }
            0x1200 => ErrorKind::ReadTimeout {
                consistency: r.read_consistency()?,
                received: r.read_int()?,
                block_for: r.read_int()?,
                data_present: r.read_byte()? != 0,
            },
            0x1300 => ErrorKind::ReadFailure {
                consistency: r.read_consistency()?,
                received: r.read_int()?,
                block_for: r.read_int()?,
                failures: Failures::read(r, version)?,
                data_present: r.read_byte()? != 0,
            },
            0x1400 => ErrorKind::FunctionFailure {
                keyspace: r.read_string()?,
                function: r.read_string()?,
                arg_types: r.read_string_list()?,
            },
            0x1500 => ErrorKind::WriteFailure {
                consistency: r.read_consistency()?,
                received: r.read_int()?,
                block_for: r.read_int()?,
                failures: Failures::read(r, version)?,
                write_type: r.read_string()?,
            },
            0x1600 => ErrorKind::CdcWriteFailure,
            0x1700 => ErrorKind::CasWriteUnknown {
                consistency: r.read_consistency()?,
                received: r.read_int()?,
                block_for: r.read_int()?,
            },
            0x2000 => ErrorKind::Syntax,
            0x2100 => ErrorKind::Unauthorized,
            0x2200 => ErrorKind::Invalid,
            0x2300 => ErrorKind::Config,
            0x2400 => ErrorKind::AlreadyExists {
                keyspace: r.read_string()?,
                table: r.read_string()?,
            },
            0x2500 => ErrorKind::Unprepared {
                id: r.read_short_bytes()?,
            },
            other => ErrorKind::Other(other),
        };
        Ok(ErrorBody { kind, message })
    }
}

/// Topology change kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopologyChange {
    /// `NEW_NODE`
    NewNode,
    /// `REMOVED_NODE`
    RemovedNode,
    /// `MOVED_NODE` (older servers; still decoded)
    MovedNode,
}

/// Status change kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusChange {
    /// `UP`
    Up,
    /// `DOWN`
    Down,
}

/// A server-pushed EVENT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// TOPOLOGY_CHANGE.
    TopologyChange {
        /// What happened.
        change: TopologyChange,
        /// The node's native transport address.
        node: SocketAddr,
    },
    /// STATUS_CHANGE.
    StatusChange {
        /// Up or down.
        change: StatusChange,
        /// The node's native transport address.
        node: SocketAddr,
    },
    /// SCHEMA_CHANGE.
    SchemaChange(SchemaChange),
}

impl Event {
    fn write(&self, out: &mut Vec<u8>) -> ProtocolResult<()> {
        match self {
            Event::TopologyChange { change, node } => {
                put_string(out, "TOPOLOGY_CHANGE")?;
                put_string(
                    out,
                    match change {
                        TopologyChange::NewNode => "NEW_NODE",
                        TopologyChange::RemovedNode => "REMOVED_NODE",
                        TopologyChange::MovedNode => "MOVED_NODE",
                    },
                )?;
                put_inet(out, node);
            }
            Event::StatusChange { change, node } => {
                put_string(out, "STATUS_CHANGE")?;
                put_string(
                    out,
                    match change {
                        StatusChange::Up => "UP",
                        StatusChange::Down => "DOWN",
                    },
                )?;
                put_inet(out, node);
            }
            Event::SchemaChange(sc) => {
                put_string(out, "SCHEMA_CHANGE")?;
                sc.write(out)?;
            }
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> ProtocolResult<Event> {
        let kind = r.read_string()?;
        match kind.as_str() {
            "TOPOLOGY_CHANGE" => {
                let change = match r.read_string()?.as_str() {
                    "NEW_NODE" => TopologyChange::NewNode,
                    "REMOVED_NODE" => TopologyChange::RemovedNode,
                    "MOVED_NODE" => TopologyChange::MovedNode,
                    other => {
                        return Err(ProtocolError::malformed(format!(
                            "Unknown topology change {other}"
                        )))
                    }
                };
                Ok(Event::TopologyChange {
                    change,
                    node: r.read_inet()?,
                })
            }
            "STATUS_CHANGE" => {
                let change = match r.read_string()?.as_str() {
                    "UP" => StatusChange::Up,
                    "DOWN" => StatusChange::Down,
                    other => {
                        return Err(ProtocolError::malformed(format!(
                            "Unknown status change {other}"
                        )))
                    }
                };
                Ok(Event::StatusChange {
                    change,
                    node: r.read_inet()?,
                })
            }
            "SCHEMA_CHANGE" => Ok(Event::SchemaChange(SchemaChange::read(r)?)),
            other => Err(ProtocolError::malformed(format!(
                "Unknown event type {other}"
            ))),
        }
    }
}

/// A response message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// ERROR
    Error(ErrorBody),
    /// READY
    Ready,
    /// AUTHENTICATE
    Authenticate {
        /// Authenticator class name.
        authenticator: String,
    },
    /// SUPPORTED
    Supported {
        /// Supported STARTUP options (CQL_VERSION, COMPRESSION, PROTOCOL_VERSIONS).
        options: StringMultimap,
    },
    /// RESULT
    Result(ResultBody),
    /// EVENT
    Event(Event),
    /// AUTH_CHALLENGE
    AuthChallenge {
        /// SASL token.
        token: Option<Vec<u8>>,
    },
    /// AUTH_SUCCESS
    AuthSuccess {
        /// Final SASL token.
        token: Option<Vec<u8>>,
    },
}

impl Response {
    /// This message's opcode.
    pub fn opcode(&self) -> Opcode {
        match self {
            Response::Error(_) => Opcode::Error,
            Response::Ready => Opcode::Ready,
            Response::Authenticate { .. } => Opcode::Authenticate,
            Response::Supported { .. } => Opcode::Supported,
            Response::Result(_) => Opcode::Result,
            Response::Event(_) => Opcode::Event,
            Response::AuthChallenge { .. } => Opcode::AuthChallenge,
            Response::AuthSuccess { .. } => Opcode::AuthSuccess,
        }
    }

    /// Encodes this response's message body.
    pub fn encode(&self, version: u8, out: &mut Vec<u8>) -> ProtocolResult<()> {
        match self {
            Response::Error(e) => e.write(out, version),
            Response::Ready => Ok(()),
            Response::Authenticate { authenticator } => put_string(out, authenticator),
            Response::Supported { options } => put_string_multimap(out, options),
            Response::Result(r) => write_result(r, out, version),
            Response::Event(e) => e.write(out),
            Response::AuthChallenge { token } | Response::AuthSuccess { token } => {
                put_bytes(out, token.as_deref())
            }
        }
    }

    /// Decodes a response message body (after any tracing/warning/payload prefix).
    pub fn decode(version: u8, opcode: Opcode, body: &[u8]) -> ProtocolResult<Response> {
        let mut r = Reader::new(body);
        Ok(match opcode {
            Opcode::Error => Response::Error(ErrorBody::read(&mut r, version)?),
            Opcode::Ready => Response::Ready,
            Opcode::Authenticate => Response::Authenticate {
                authenticator: r.read_string()?,
            },
            Opcode::Supported => Response::Supported {
                options: r.read_string_multimap()?,
            },
            Opcode::Result => Response::Result(read_result(&mut r, version)?),
            Opcode::Event => Response::Event(Event::read(&mut r)?),
            Opcode::AuthChallenge => Response::AuthChallenge {
                token: r.read_bytes()?,
            },
            Opcode::AuthSuccess => Response::AuthSuccess {
                token: r.read_bytes()?,
            },
            other => {
                return Err(ProtocolError::malformed(format!(
                    "Wrong protocol direction (expected response, got request) for opcode {} ({other:?})",
                    other.byte()
                )))
            }
        })
    }
}

fn write_result(res: &ResultBody, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
    match res {
        ResultBody::Void => put_int(out, RESULT_VOID),
        ResultBody::Rows(rows) => {
            put_int(out, RESULT_ROWS);
            rows.metadata.write(out, version)?;
            put_int(out, count_i32(rows.rows.len())?);
            for row in &rows.rows {
                if row.len() != rows.metadata.column_count {
                    return Err(ProtocolError::malformed(format!(
                        "row has {} cells, metadata {} columns",
                        row.len(),
                        rows.metadata.column_count
                    )));
                }
                for cell in row {
                    put_bytes(out, cell.as_deref())?;
                }
            }
        }
        ResultBody::SetKeyspace(k) => {
            put_int(out, RESULT_SET_KEYSPACE);
            put_string(out, k)?;
        }
        ResultBody::Prepared(p) => {
            put_int(out, RESULT_PREPARED);
            put_short_bytes(out, &p.id)?;
            if version >= V5 {
                put_short_bytes(out, p.result_metadata_id.as_deref().unwrap_or(&[]))?;
            }
            p.metadata.write(out, version)?;
            p.result_metadata.write(out, version)?;
        }
        ResultBody::SchemaChange(sc) => {
            put_int(out, RESULT_SCHEMA_CHANGE);
            sc.write(out)?;
        }
    }
    Ok(())
}

fn read_result(r: &mut Reader<'_>, version: u8) -> ProtocolResult<ResultBody> {
    let kind = r.read_int()?;
    Ok(match kind {
        RESULT_VOID => ResultBody::Void,
        RESULT_ROWS => {
            let metadata = ResultMetadata::read(r)?;
            let count = read_count(r, "rows_count")?;
            let cells = count.saturating_mul(metadata.column_count);
            if cells.saturating_mul(MIN_CELL_LEN) > r.remaining() {
                return Err(ProtocolError::Incomplete {
                    what: "the rows of a Rows result",
                });
            }
            if metadata.column_count == 0 && count > 0 {
                return Err(ProtocolError::malformed(
                    "Rows result with rows but no columns",
                ));
            }
            let mut rows = Vec::with_capacity(count);
            for _ in 0..count {
                let mut row = Vec::with_capacity(metadata.column_count);
                for _ in 0..metadata.column_count {
                    row.push(r.read_bytes()?);
                }
                rows.push(row);
            }
            ResultBody::Rows(Rows { metadata, rows })
        }
        RESULT_SET_KEYSPACE => ResultBody::SetKeyspace(r.read_string()?),
        RESULT_PREPARED => {
            let id = r.read_short_bytes()?;
            let result_metadata_id = if version >= V5 {
                Some(r.read_short_bytes()?)
            } else {
                None
            };
            let metadata = PreparedMetadata::read(r, version)?;
            let result_metadata = ResultMetadata::read(r)?;
            ResultBody::Prepared(Prepared {
                id,
                result_metadata_id,
                metadata,
                result_metadata,
            })
        }
        RESULT_SCHEMA_CHANGE => ResultBody::SchemaChange(SchemaChange::read(r)?),
        other => {
            return Err(ProtocolError::malformed(format!(
                "Unknown RESULT kind {other:#x}"
            )))
        }
    })
}
