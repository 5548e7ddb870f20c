//! Request messages (spec §4.1): plain structs, a decoder for the server
//! and an encoder for clients (tests, our cqlsh).
//!
//! Body layouts (`[x]` are the notations of [`super::primitives`]):
//!
//! ```text
//! STARTUP        [string map] options; CQL_VERSION required, COMPRESSION optional
//! AUTH_RESPONSE  [bytes] token
//! OPTIONS        (empty)
//! QUERY          [long string] query, <query_parameters>
//! PREPARE        [long string] query
//!                v5: then [int] flags; 0x01 → [string] keyspace
//! EXECUTE        [short bytes] id; v5: [short bytes] result_metadata_id;
//!                <query_parameters>
//! BATCH          [byte] type (0 logged, 1 unlogged, 2 counter), [short] n,
//!                n × ([byte] kind: 0 → [long string] query | 1 → [short bytes] id,
//!                     [short] count, count × ([string] name if 0x40,] [value]),
//!                [consistency], flags ([byte] ≤ v4, [int] v5),
//!                [0x10 → [consistency] serial], [0x20 → [long] timestamp],
//!                [0x80 → [string] keyspace], [0x100 → [int] now_in_seconds]
//! REGISTER       [string list] event types
//!
//! <query_parameters> =
//!   [consistency], flags ([byte] ≤ v4, [int] v5), then in order, if flagged:
//!   0x01 values: [short] n, n × ([string] name if 0x40, [value])
//!   0x02 skip_metadata (no data)
//!   0x04 [int] result page size
//!   0x08 [bytes] paging state
//!   0x10 [consistency] serial consistency
//!   0x20 [long] default timestamp (microseconds)
//!   0x40 names for values (no data; names precede values)
//!   0x80 [string] keyspace (v5)
//!   0x100 [int] now in seconds (v5)
//! ```
//!
//! Like Cassandra's `QueryOptions` codec, the 0x80 keyspace flag is read
//! whenever it is set, whatever the version (it fits v4's flag byte);
//! 0x100 cannot be expressed before v5 and encoding it there is refused.
//! Unknown flag bits are ignored, as the spec's "client libraries should
//! assume the body may contain more data" suggests for the other direction.
//! Trailing bytes after a request body are ignored for the same reason.

use super::error::{ProtocolError, ProtocolResult};
use super::frame::{Opcode, V5};
use super::primitives::*;

/// Query flag: values follow.
pub const QUERY_FLAG_VALUES: u32 = 0x01;
/// Query flag: do not send result metadata.
pub const QUERY_FLAG_SKIP_METADATA: u32 = 0x02;
/// Query flag: a result page size follows.
pub const QUERY_FLAG_PAGE_SIZE: u32 = 0x04;
/// Query flag: a paging state follows.
pub const QUERY_FLAG_PAGING_STATE: u32 = 0x08;
/// Query flag: a serial consistency follows.
pub const QUERY_FLAG_SERIAL_CONSISTENCY: u32 = 0x10;
/// Query flag: a default timestamp follows.
pub const QUERY_FLAG_DEFAULT_TIMESTAMP: u32 = 0x20;
/// Query flag: values are named.
pub const QUERY_FLAG_NAMES_FOR_VALUES: u32 = 0x40;
/// Query flag: a keyspace follows (v5).
pub const QUERY_FLAG_KEYSPACE: u32 = 0x80;
/// Query flag: a "now in seconds" follows (v5).
pub const QUERY_FLAG_NOW_IN_SECONDS: u32 = 0x100;
/// PREPARE flag (v5): a keyspace follows.
pub const PREPARE_FLAG_KEYSPACE: i32 = 0x01;

/// The STARTUP option naming the CQL version.
pub const STARTUP_CQL_VERSION: &str = "CQL_VERSION";
/// The STARTUP option naming the compression algorithm.
pub const STARTUP_COMPRESSION: &str = "COMPRESSION";

/// Bound values of a query, execute or batch statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum QueryValues {
    /// No values (flag 0x01 unset, or zero values).
    #[default]
    None,
    /// Values by position.
    Positional(Vec<Value>),
    /// Values by bind-marker name (flag 0x40).
    Named(Vec<(String, Value)>),
}

impl QueryValues {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            QueryValues::None => 0,
            QueryValues::Positional(v) => v.len(),
            QueryValues::Named(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(r: &mut Reader<'_>, named: bool, version: u8) -> ProtocolResult<QueryValues> {
        let n = r.read_short()?;
        if named {
            let mut v = Vec::new();
            for _ in 0..n {
                let name = r.read_string()?;
                v.push((name, r.read_value(version)?));
            }
            Ok(QueryValues::Named(v))
        } else {
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(r.read_value(version)?);
            }
            Ok(QueryValues::Positional(v))
        }
    }

    fn write(&self, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
        let n = u16::try_from(self.len())
            .map_err(|_| ProtocolError::malformed(format!("Too many values: {}", self.len())))?;
        put_short(out, n);
        match self {
            QueryValues::None => {}
            QueryValues::Positional(v) => {
                for x in v {
                    put_value(out, x, version)?;
                }
            }
            QueryValues::Named(v) => {
                for (name, x) in v {
                    put_string(out, name)?;
                    put_value(out, x, version)?;
                }
            }
        }
        Ok(())
    }
}

/// `<query_parameters>` of QUERY and EXECUTE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryParameters {
    /// Consistency level.
    pub consistency: Consistency,
    /// Bound values.
    pub values: QueryValues,
    /// Flag 0x02: the client already has the result metadata.
    pub skip_metadata: bool,
    /// Flag 0x04: page size.
    pub page_size: Option<i32>,
    /// Flag 0x08: paging state from a previous page.
    pub paging_state: Option<Vec<u8>>,
    /// Flag 0x10: serial consistency for conditional updates.
    pub serial_consistency: Option<Consistency>,
    /// Flag 0x20: default timestamp in microseconds.
    pub timestamp: Option<i64>,
    /// Flag 0x80 (v5): keyspace to use instead of the connection's.
    pub keyspace: Option<String>,
    /// Flag 0x100 (v5): "now" in seconds, for testing TTLs.
    pub now_in_seconds: Option<i32>,
}

impl QueryParameters {
    /// Parameters with only a consistency level.
    pub fn new(consistency: Consistency) -> Self {
        QueryParameters {
            consistency,
            values: QueryValues::None,
            skip_metadata: false,
            page_size: None,
            paging_state: None,
            serial_consistency: None,
            timestamp: None,
            keyspace: None,
            now_in_seconds: None,
        }
    }

    /// Decodes query parameters.
    pub fn read(r: &mut Reader<'_>, version: u8) -> ProtocolResult<QueryParameters> {
        let consistency = r.read_consistency()?;
        let flags = read_flags(r, version)?;
        let mut p = QueryParameters::new(consistency);
        if flags & QUERY_FLAG_VALUES != 0 {
            let v = QueryValues::read(r, flags & QUERY_FLAG_NAMES_FOR_VALUES != 0, version)?;
            if !v.is_empty() {
                p.values = v;
            }
        }
        p.skip_metadata = flags & QUERY_FLAG_SKIP_METADATA != 0;
        if flags & QUERY_FLAG_PAGE_SIZE != 0 {
            p.page_size = Some(r.read_int()?);
        }
        if flags & QUERY_FLAG_PAGING_STATE != 0 {
            p.paging_state = r.read_bytes()?;
        }
        if flags & QUERY_FLAG_SERIAL_CONSISTENCY != 0 {
            p.serial_consistency = Some(r.read_consistency()?);
        }
        if flags & QUERY_FLAG_DEFAULT_TIMESTAMP != 0 {
            p.timestamp = Some(r.read_long()?);
        }
        if flags & QUERY_FLAG_KEYSPACE != 0 {
            p.keyspace = Some(r.read_string()?);
        }
        if flags & QUERY_FLAG_NOW_IN_SECONDS != 0 {
            p.now_in_seconds = Some(r.read_int()?);
        }
        Ok(p)
    }

    /// Encodes query parameters.
    pub fn write(&self, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
        put_consistency(out, self.consistency);
        let mut flags = 0u32;
        if !self.values.is_empty() {
            flags |= QUERY_FLAG_VALUES;
            if matches!(self.values, QueryValues::Named(_)) {
                flags |= QUERY_FLAG_NAMES_FOR_VALUES;
            }
        }
        if self.skip_metadata {
            flags |= QUERY_FLAG_SKIP_METADATA;
        }
        if self.page_size.is_some() {
            flags |= QUERY_FLAG_PAGE_SIZE;
        }
        if self.paging_state.is_some() {
            flags |= QUERY_FLAG_PAGING_STATE;
        }
        if self.serial_consistency.is_some() {
            flags |= QUERY_FLAG_SERIAL_CONSISTENCY;
        }
        if self.timestamp.is_some() {
            flags |= QUERY_FLAG_DEFAULT_TIMESTAMP;
        }
        if self.keyspace.is_some() {
            flags |= QUERY_FLAG_KEYSPACE;
        }
        if self.now_in_seconds.is_some() {
            flags |= QUERY_FLAG_NOW_IN_SECONDS;
        }
        write_flags(out, flags, version)?;
        if flags & QUERY_FLAG_VALUES != 0 {
            self.values.write(out, version)?;
        }
        if let Some(n) = self.page_size {
            put_int(out, n);
        }
        if let Some(s) = &self.paging_state {
            put_bytes(out, Some(s))?;
        }
        if let Some(c) = self.serial_consistency {
            put_consistency(out, c);
        }
        if let Some(t) = self.timestamp {
            put_long(out, t);
        }
        if let Some(k) = &self.keyspace {
            put_string(out, k)?;
        }
        if let Some(n) = self.now_in_seconds {
            put_int(out, n);
        }
        Ok(())
    }
}

/// Query/batch flags: a [byte] before v5, an [int] from v5.
fn read_flags(r: &mut Reader<'_>, version: u8) -> ProtocolResult<u32> {
    if version >= V5 {
        Ok(r.read_int()? as u32)
    } else {
        Ok(u32::from(r.read_byte()?))
    }
}

fn write_flags(out: &mut Vec<u8>, flags: u32, version: u8) -> ProtocolResult<()> {
    if version >= V5 {
        put_int(out, flags as i32);
        Ok(())
    } else {
        let b = u8::try_from(flags).map_err(|_| {
            ProtocolError::malformed(format!(
                "Query flags {flags:#x} need protocol v5 (v{version} flags are one byte)"
            ))
        })?;
        put_byte(out, b);
        Ok(())
    }
}

/// STARTUP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Startup {
    /// All options as sent (CQL_VERSION, COMPRESSION, DRIVER_NAME, ...).
    pub options: StringMap,
}

impl Startup {
    /// The CQL version requested (always present after decoding).
    pub fn cql_version(&self) -> Option<&str> {
        self.options.get(STARTUP_CQL_VERSION).map(String::as_str)
    }

    /// The compression requested, if any.
    pub fn compression(&self) -> ProtocolResult<Option<super::Compression>> {
        self.options
            .get(STARTUP_COMPRESSION)
            .map(|n| super::Compression::from_name(n))
            .transpose()
    }
}

/// PREPARE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepare {
    /// Query text.
    pub query: String,
    /// v5: keyspace to prepare in.
    pub keyspace: Option<String>,
}

/// EXECUTE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execute {
    /// Prepared statement id.
    pub id: Vec<u8>,
    /// v5: the result metadata id the client has (`None` is sent as an
    /// empty [short bytes] in v5 and omitted before).
    pub result_metadata_id: Option<Vec<u8>>,
    /// Parameters.
    pub params: QueryParameters,
}

/// Kind of a BATCH.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BatchType {
    /// 0: logged.
    Logged,
    /// 1: unlogged.
    Unlogged,
    /// 2: counter.
    Counter,
}

/// What one batch statement runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchQuery {
    /// kind 0: query text.
    Text(String),
    /// kind 1: prepared statement id.
    Prepared(Vec<u8>),
}

/// One statement of a BATCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchStatement {
    /// The statement.
    pub query: BatchQuery,
    /// Its values.
    pub values: QueryValues,
}

/// BATCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Logged, unlogged or counter.
    pub batch_type: BatchType,
    /// The statements.
    pub statements: Vec<BatchStatement>,
    /// Consistency level.
    pub consistency: Consistency,
    /// Flag 0x10.
    pub serial_consistency: Option<Consistency>,
    /// Flag 0x20.
    pub timestamp: Option<i64>,
    /// Flag 0x80 (v5).
    pub keyspace: Option<String>,
    /// Flag 0x100 (v5).
    pub now_in_seconds: Option<i32>,
}

/// Event types a client can REGISTER for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// `TOPOLOGY_CHANGE`
    TopologyChange,
    /// `STATUS_CHANGE`
    StatusChange,
    /// `SCHEMA_CHANGE`
    SchemaChange,
}

impl EventType {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            EventType::TopologyChange => "TOPOLOGY_CHANGE",
            EventType::StatusChange => "STATUS_CHANGE",
            EventType::SchemaChange => "SCHEMA_CHANGE",
        }
    }

    /// The type of a wire name.
    pub fn from_name(s: &str) -> ProtocolResult<EventType> {
        match s {
            "TOPOLOGY_CHANGE" => Ok(EventType::TopologyChange),
            "STATUS_CHANGE" => Ok(EventType::StatusChange),
            "SCHEMA_CHANGE" => Ok(EventType::SchemaChange),
            other => Err(ProtocolError::malformed(format!(
                "Invalid value '{other}' for Event.Type"
            ))),
        }
    }
}

/// A request message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// STARTUP
    Startup(Startup),
    /// AUTH_RESPONSE
    AuthResponse {
        /// SASL token.
        token: Option<Vec<u8>>,
    },
    /// OPTIONS
    Options,
    /// QUERY
    Query {
        /// Query text.
        query: String,
        /// Parameters.
        params: QueryParameters,
    },
    /// PREPARE
    Prepare(Prepare),
    /// EXECUTE
    Execute(Execute),
    /// BATCH
    Batch(Batch),
    /// REGISTER
    Register {
        /// Event types.
        events: Vec<EventType>,
    },
}

impl Request {
    /// This message's opcode.
    pub fn opcode(&self) -> Opcode {
        match self {
            Request::Startup(_) => Opcode::Startup,
            Request::AuthResponse { .. } => Opcode::AuthResponse,
            Request::Options => Opcode::Options,
            Request::Query { .. } => Opcode::Query,
            Request::Prepare(_) => Opcode::Prepare,
            Request::Execute(_) => Opcode::Execute,
            Request::Batch(_) => Opcode::Batch,
            Request::Register { .. } => Opcode::Register,
        }
    }

    /// Decodes a request message body (after any tracing/payload prefix).
    pub fn decode(version: u8, opcode: Opcode, body: &[u8]) -> ProtocolResult<Request> {
        let mut r = Reader::new(body);
        Ok(match opcode {
            Opcode::Startup => {
                let options = r.read_string_map()?;
                let s = Startup { options };
                if s.cql_version().is_none() {
                    return Err(ProtocolError::malformed(
                        "Missing value CQL_VERSION in STARTUP message",
                    ));
                }
                s.compression()?;
                Request::Startup(s)
            }
            Opcode::AuthResponse => Request::AuthResponse {
                token: r.read_bytes()?,
            },
            Opcode::Options => Request::Options,
            Opcode::Query => {
                let query = r.read_long_string()?;
                let params = QueryParameters::read(&mut r, version)?;
                Request::Query { query, params }
            }
            Opcode::Prepare => {
                let query = r.read_long_string()?;
                let mut keyspace = None;
                if version >= V5 {
                    let flags = r.read_int()?;
                    if flags & PREPARE_FLAG_KEYSPACE != 0 {
                        keyspace = Some(r.read_string()?);
                    }
                }
                Request::Prepare(Prepare { query, keyspace })
            }
            Opcode::Execute => {
                let id = r.read_short_bytes()?;
                let result_metadata_id = if version >= V5 {
                    Some(r.read_short_bytes()?)
                } else {
                    None
                };
                let params = QueryParameters::read(&mut r, version)?;
                Request::Execute(Execute {
                    id,
                    result_metadata_id,
                    params,
                })
            }
            Opcode::Batch => Request::Batch(read_batch(&mut r, version)?),
            Opcode::Register => {
                let mut events = Vec::new();
                for name in r.read_string_list()? {
                    events.push(EventType::from_name(&name)?);
                }
                Request::Register { events }
            }
            other => {
                return Err(ProtocolError::malformed(format!(
                    "Wrong protocol direction (expected request, got response) for opcode {} ({other:?})",
                    other.byte()
                )))
            }
        })
    }

    /// Encodes this request's message body.
    pub fn encode(&self, version: u8, out: &mut Vec<u8>) -> ProtocolResult<()> {
        match self {
            Request::Startup(s) => put_string_map(out, &s.options),
            Request::AuthResponse { token } => put_bytes(out, token.as_deref()),
            Request::Options => Ok(()),
            Request::Query { query, params } => {
                put_long_string(out, query)?;
                params.write(out, version)
            }
            Request::Prepare(p) => {
                put_long_string(out, &p.query)?;
                if version >= V5 {
                    match &p.keyspace {
                        Some(k) => {
                            put_int(out, PREPARE_FLAG_KEYSPACE);
                            put_string(out, k)?;
                        }
                        None => put_int(out, 0),
                    }
                } else if p.keyspace.is_some() {
                    return Err(ProtocolError::malformed(
                        "PREPARE with a keyspace needs protocol v5",
                    ));
                }
                Ok(())
            }
            Request::Execute(e) => {
                put_short_bytes(out, &e.id)?;
                if version >= V5 {
                    put_short_bytes(out, e.result_metadata_id.as_deref().unwrap_or(&[]))?;
                }
                e.params.write(out, version)
            }
            Request::Batch(b) => write_batch(b, out, version),
            Request::Register { events } => {
                let names: Vec<String> = events.iter().map(|e| e.name().to_string()).collect();
                put_string_list(out, &names)
            }
        }
    }
}

/// Decodes a BATCH body.
///
/// The statements' values come before the flags that say whether they are
/// named (0x40), so the body is parsed assuming positional values first and
/// re-parsed assuming named values when the flags ask for it (or the
/// positional reading fails). A reading is accepted only when its layout
/// agrees with the flags it finds, so the two cannot be confused.
fn read_batch(r: &mut Reader<'_>, version: u8) -> ProtocolResult<Batch> {
    let start = r.clone();
    match read_batch_as(r, version, false) {
        Ok(b) => Ok(b),
        Err(first) => {
            let mut again = start;
            match read_batch_as(&mut again, version, true) {
                Ok(b) => {
                    *r = again;
                    Ok(b)
                }
                Err(_) => Err(first),
            }
        }
    }
}

fn read_batch_as(r: &mut Reader<'_>, version: u8, named: bool) -> ProtocolResult<Batch> {
    let batch_type = match r.read_byte()? {
        0 => BatchType::Logged,
        1 => BatchType::Unlogged,
        2 => BatchType::Counter,
        t => {
            return Err(ProtocolError::malformed(format!(
                "Invalid BATCH message type {t}"
            )))
        }
    };
    let n = r.read_short()?;
    let mut statements = Vec::new();
    for _ in 0..n {
        let query = match r.read_byte()? {
            0 => BatchQuery::Text(r.read_long_string()?),
            1 => BatchQuery::Prepared(r.read_short_bytes()?),
            k => {
                return Err(ProtocolError::malformed(format!(
                    "Invalid query kind in BATCH messages. Must be 0 or 1 but got {k}"
                )))
            }
        };
        let values = QueryValues::read(r, named, version)?;
        statements.push(BatchStatement {
            query,
            values: if values.is_empty() {
                QueryValues::None
            } else {
                values
            },
        });
    }
    let consistency = r.read_consistency()?;
    let flags = read_flags(r, version)?;
    if (flags & QUERY_FLAG_NAMES_FOR_VALUES != 0) != named {
        return Err(ProtocolError::malformed(
            "BATCH values do not match its names-for-values flag",
        ));
    }
    let mut b = Batch {
        batch_type,
        statements,
        consistency,
        serial_consistency: None,
        timestamp: None,
        keyspace: None,
        now_in_seconds: None,
    };
    if flags & QUERY_FLAG_SERIAL_CONSISTENCY != 0 {
        b.serial_consistency = Some(r.read_consistency()?);
    }
    if flags & QUERY_FLAG_DEFAULT_TIMESTAMP != 0 {
        b.timestamp = Some(r.read_long()?);
    }
    if flags & QUERY_FLAG_KEYSPACE != 0 {
        b.keyspace = Some(r.read_string()?);
    }
    if flags & QUERY_FLAG_NOW_IN_SECONDS != 0 {
        b.now_in_seconds = Some(r.read_int()?);
    }
    Ok(b)
}

fn write_batch(b: &Batch, out: &mut Vec<u8>, version: u8) -> ProtocolResult<()> {
    put_byte(
        out,
        match b.batch_type {
            BatchType::Logged => 0,
            BatchType::Unlogged => 1,
            BatchType::Counter => 2,
        },
    );
    let n = u16::try_from(b.statements.len())
        .map_err(|_| ProtocolError::malformed("Too many statements in a BATCH"))?;
    put_short(out, n);
    let named = b
        .statements
        .iter()
        .any(|s| matches!(s.values, QueryValues::Named(_)));
    let positional = b
        .statements
        .iter()
        .any(|s| matches!(s.values, QueryValues::Positional(_)));
    if named && positional {
        return Err(ProtocolError::malformed(
            "BATCH values must be all named or all positional",
        ));
    }
    for s in &b.statements {
        match &s.query {
            BatchQuery::Text(q) => {
                put_byte(out, 0);
                put_long_string(out, q)?;
            }
            BatchQuery::Prepared(id) => {
                put_byte(out, 1);
                put_short_bytes(out, id)?;
            }
        }
        s.values.write(out, version)?;
    }
    put_consistency(out, b.consistency);
    let mut flags = 0u32;
    if named {
        flags |= QUERY_FLAG_NAMES_FOR_VALUES;
    }
    if b.serial_consistency.is_some() {
        flags |= QUERY_FLAG_SERIAL_CONSISTENCY;
    }
    if b.timestamp.is_some() {
        flags |= QUERY_FLAG_DEFAULT_TIMESTAMP;
    }
    if b.keyspace.is_some() {
        flags |= QUERY_FLAG_KEYSPACE;
    }
    if b.now_in_seconds.is_some() {
        flags |= QUERY_FLAG_NOW_IN_SECONDS;
    }
    write_flags(out, flags, version)?;
    if let Some(c) = b.serial_consistency {
        put_consistency(out, c);
    }
    if let Some(t) = b.timestamp {
        put_long(out, t);
    }
    if let Some(k) = &b.keyspace {
        put_string(out, k)?;
    }
    if let Some(n) = b.now_in_seconds {
        put_int(out, n);
    }
    Ok(())
}
