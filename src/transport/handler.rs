//! QUERY, PREPARE, EXECUTE and BATCH: protocol messages to [`QueryProcessor`] calls
//! and back. Synchronous (it runs on the blocking pool, or on the async worker for
//! [`is_quick`] requests); no I/O of its own.
//!
//! Errors become ERROR bodies with the fields the protocol defines for their code
//! (AlreadyExists carries keyspace and table, Unprepared the id). A DDL result also
//! publishes a SCHEMA_CHANGE event and empties the prepared statement cache.

use std::sync::Mutex;

use md5::{Digest, Md5};
use sibyl_cql::parser::BatchKind;
use sibyl_cql::parser::{Operator, Relation, Statement};
use sibyl_cql::protocol::{
    self as p, BatchQuery, BatchType, Consistency, ErrorBody, ErrorKind, Event, Failures,
    PreparedMetadata, QueryParameters, QueryValues, Request, Response, ResultBody, ResultMetadata,
    Value,
};

use crate::error::CqlError;
use crate::query::{
    BatchItem, ColumnSpec, Prepared, QueryOptions, ResultMessage, SchemaChange, SchemaChangeTarget,
    SchemaChangeType, Session,
};
use crate::schema::model::ColumnKind;
use crate::transport::metrics::RequestKind;
use crate::transport::Shared;

/// Protocol v5: the first version with result metadata ids and failure reason maps.
const V5: u8 = 5;

/// Rows a quick SELECT of a table with clustering columns may ask for per page:
/// a page this small is read in tens of microseconds, well under what would make
/// other tasks of the async worker wait noticeably.
pub const QUICK_PAGE_ROWS_MAX: i32 = 100;

/// Whether `request` is cheap and never waits, so it may run on the async worker
/// that read it instead of the blocking pool: an EXECUTE of a prepared INSERT,
/// UPDATE or DELETE without IF (no partition lock, and the commitlog does not make
/// writes wait: [`Shared::writes_never_wait`]), or of a SELECT restricting every
/// partition key column with `=` that reads at most one row per partition or a
/// page of at most [`QUICK_PAGE_ROWS_MAX`] rows. Anything else (text queries,
/// DDL, batches, LWT, scans, unprepared ids) keeps the blocking pool.
pub fn is_quick(shared: &Shared, request: &Request) -> bool {
    if !shared.writes_never_wait {
        return false;
    }
    let Request::Execute(ex) = request else {
        return false;
    };
    let Some(prepared) = shared.prepared.get(&ex.id) else {
        return false;
    };
    match &prepared.statement {
        Statement::Insert(i) => !i.if_not_exists,
        Statement::Update(u) => u.if_clause.is_none(),
        Statement::Delete(d) => d.if_clause.is_none(),
        Statement::Select(s) => {
            let Ok(table) = shared
                .processor
                .table(&s.table, prepared.keyspace.as_deref())
            else {
                return false;
            };
            let key_restricted = table.partition_key().all(|k| {
                s.where_clause.iter().any(|r| {
                    matches!(r, Relation::Column { column, op: Operator::Eq, .. } if *column == k.name)
                })
            });
            let one_row = !table
                .columns
                .iter()
                .any(|c| c.kind == ColumnKind::Clustering);
            let small_page = ex
                .params
                .page_size
                .is_some_and(|n| (1..=QUICK_PAGE_ROWS_MAX).contains(&n));
            key_restricted && !s.distinct && (one_row || small_page)
        }
        _ => false,
    }
}

/// Executes one request; never fails (errors are ERROR responses).
pub fn handle(
    shared: &Shared,
    request: Request,
    version: u8,
    session: &Mutex<Session>,
) -> (Response, Vec<String>) {
    let consistency = request_consistency(&request);
    let measured = matches!(
        request,
        Request::Query { .. } | Request::Execute(_) | Request::Batch(_)
    );
    let is_batch = matches!(request, Request::Batch(_));
    let started = std::time::Instant::now();
    let (response, warnings) = match run(shared, request, version, session) {
        Ok(r) => r,
        Err(e) => (
            Response::Error(error_body(&e, version, consistency)),
            Vec::new(),
        ),
    };
    if measured {
        let kind = match &response {
            _ if is_batch => RequestKind::Write,
            Response::Result(ResultBody::Rows(_)) => RequestKind::Read,
            Response::Result(ResultBody::Void) => RequestKind::Write,
            Response::Result(ResultBody::SchemaChange(_)) => RequestKind::Schema,
            _ => RequestKind::Other,
        };
        let failed = matches!(response, Response::Error(_));
        shared
            .request_metrics
            .record(kind, consistency, started.elapsed(), failed);
    }
    (response, warnings)
}

fn request_consistency(r: &Request) -> Consistency {
    match r {
        Request::Query { params, .. } => params.consistency,
        Request::Execute(e) => e.params.consistency,
        Request::Batch(b) => b.consistency,
        _ => Consistency::One,
    }
}

fn run(
    shared: &Shared,
    request: Request,
    version: u8,
    session: &Mutex<Session>,
) -> Result<(Response, Vec<String>), CqlError> {
    let qp = &shared.processor;
    match request {
        Request::Query { query, params } => {
            let opts = options(&params)?;
            let mut sess = current(session);
            let r = qp.execute_text(&query, &opts, &mut sess)?;
            Ok(result(shared, r, None, &params, version, session))
        }
        Request::Prepare(prep) => {
            let ks = prep.keyspace.or_else(|| current(session).keyspace);
            let prepared = qp.prepare(&prep.query, ks.as_deref())?;
            shared.prepared.insert(prepared.clone());
            Ok((
                Response::Result(ResultBody::Prepared(prepared_body(
                    shared, &prepared, version,
                ))),
                Vec::new(),
            ))
        }
        Request::Execute(ex) => {
            let prepared = shared
                .prepared
                .get(&ex.id)
                .ok_or_else(|| CqlError::Unprepared { id: ex.id.clone() })?;
            let opts = options(&ex.params)?;
            let mut sess = current(session);
            let r = qp.execute(&prepared, &opts, &mut sess)?;
            let client_meta = Some((prepared.as_ref(), ex.result_metadata_id.as_deref()));
            Ok(result(shared, r, client_meta, &ex.params, version, session))
        }
        Request::Batch(b) => {
            let sess = current(session);
            let ks = b.keyspace.clone().or_else(|| sess.keyspace.clone());
            let mut items = Vec::with_capacity(b.statements.len());
            for st in &b.statements {
                let prepared = match &st.query {
                    BatchQuery::Text(q) => qp.prepare(q, ks.as_deref())?,
                    BatchQuery::Prepared(id) => shared
                        .prepared
                        .get(id)
                        .ok_or_else(|| CqlError::Unprepared { id: id.clone() })?,
                };
                let (values, unset) = match &st.values {
                    QueryValues::None => (Vec::new(), Vec::new()),
                    QueryValues::Positional(v) => split_values(v.iter()),
                    QueryValues::Named(_) => {
                        return Err(CqlError::invalid(
                            "Named values are not supported in a BATCH",
                        ))
                    }
                };
                items.push(BatchItem {
                    prepared,
                    values,
                    unset,
                });
            }
            let kind = match b.batch_type {
                BatchType::Logged => BatchKind::Logged,
                BatchType::Unlogged => BatchKind::Unlogged,
                BatchType::Counter => BatchKind::Counter,
            };
            let opts = QueryOptions {
                timestamp: b.timestamp,
                keyspace: b.keyspace.clone(),
                ..QueryOptions::default()
            };
            let mut sess = sess;
            let r = qp.execute_batch(kind, &items, &opts, &mut sess)?;
            let params = QueryParameters::new(b.consistency);
            Ok(result(shared, r, None, &params, version, session))
        }
        other => Err(CqlError::Protocol(format!(
            "Unexpected message {:?} on the request path",
            other.opcode()
        ))),
    }
}

fn current(session: &Mutex<Session>) -> Session {
    session.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn split_values<'a>(v: impl Iterator<Item = &'a Value>) -> (Vec<Option<Vec<u8>>>, Vec<bool>) {
    v.map(|x| match x {
        Value::Bytes(b) => (Some(b.clone()), false),
        Value::Null => (None, false),
        Value::Unset => (None, true),
    })
    .unzip()
}

/// The executor's options from QUERY/EXECUTE parameters.
fn options(params: &QueryParameters) -> Result<QueryOptions, CqlError> {
    let (values, unset, names) = match &params.values {
        QueryValues::None => (Vec::new(), Vec::new(), None),
        QueryValues::Positional(v) => {
            let (a, b) = split_values(v.iter());
            (a, b, None)
        }
        QueryValues::Named(v) => {
            let (a, b) = split_values(v.iter().map(|(_, x)| x));
            (a, b, Some(v.iter().map(|(n, _)| n.clone()).collect()))
        }
    };
    // A page size of zero or less means "no paging" (spec §4.1.4).
    let page_size = params.page_size.filter(|n| *n > 0).map(|n| n as usize);
    Ok(QueryOptions {
        values,
        unset,
        names,
        page_size,
        paging_state: params.paging_state.clone(),
        timestamp: params.timestamp,
        keyspace: params.keyspace.clone(),
        skip_metadata: params.skip_metadata,
    })
}

/// The protocol's column spec of an executor column.
pub fn column_spec(c: &ColumnSpec) -> p::ColumnSpec {
    p::ColumnSpec {
        keyspace: c.keyspace.clone(),
        table: c.table.clone(),
        name: c.name.clone(),
        cql_type: c.cql_type.clone(),
    }
}

/// Result metadata id (v5): a digest of the result columns, so a client holding
/// the id of other columns is told the metadata changed.
pub fn result_metadata_id(columns: &[ColumnSpec]) -> Vec<u8> {
    let mut h = Md5::new();
    for c in columns {
        h.update(c.keyspace.as_bytes());
        h.update([0]);
        h.update(c.table.as_bytes());
        h.update([0]);
        h.update(c.name.as_bytes());
        h.update([0]);
        h.update(format!("{:?}", c.cql_type).as_bytes());
        h.update([0xff]);
    }
    h.finalize().to_vec()
}

fn prepared_body(shared: &Shared, prep: &Prepared, version: u8) -> p::Prepared {
    p::Prepared {
        id: prep.id.to_vec(),
        result_metadata_id: (version >= V5).then(|| result_metadata_id(&prep.result_columns)),
        metadata: PreparedMetadata {
            columns: prep.bind_specs.iter().map(column_spec).collect(),
            pk_indices: pk_indices(shared, prep),
        },
        result_metadata: ResultMetadata::with_columns(
            prep.result_columns.iter().map(column_spec).collect(),
        ),
    }
}

/// Indices of the bind markers giving each partition key column, in key order, when
/// every one is bound by a marker (drivers route by them); empty otherwise.
fn pk_indices(shared: &Shared, prep: &Prepared) -> Vec<u16> {
    let table = match &prep.statement {
        Statement::Select(s) => &s.table,
        Statement::Insert(s) => &s.table,
        Statement::Update(s) => &s.table,
        Statement::Delete(s) => &s.table,
        _ => return Vec::new(),
    };
    let Some(ks) = table.keyspace.as_deref().or(prep.keyspace.as_deref()) else {
        return Vec::new();
    };
    let Ok(meta) = shared.processor.catalog.table(ks, &table.name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for pk in meta.partition_key() {
        let found = prep
            .bind_specs
            .iter()
            .position(|s| s.name == pk.name && s.table == meta.name && s.keyspace == meta.keyspace);
        match found.and_then(|i| u16::try_from(i).ok()) {
            Some(i) => out.push(i),
            None => return Vec::new(),
        }
    }
    out
}

/// Turns an execution result into a RESULT and its client warnings, applying USE to
/// the session and publishing schema changes.
fn result(
    shared: &Shared,
    r: ResultMessage,
    prepared: Option<(&Prepared, Option<&[u8]>)>,
    params: &QueryParameters,
    version: u8,
    session: &Mutex<Session>,
) -> (Response, Vec<String>) {
    let mut warnings = Vec::new();
    let body = match r {
        ResultMessage::Void => ResultBody::Void,
        ResultMessage::SetKeyspace(ks) => {
            session.lock().unwrap_or_else(|e| e.into_inner()).keyspace = Some(ks.clone());
            ResultBody::SetKeyspace(ks)
        }
        ResultMessage::SchemaChange(sc) => {
            shared.prepared.evict_for(&sc);
            let sc = schema_change(sc);
            let _ = shared.events.send(Event::SchemaChange(sc.clone()));
            ResultBody::SchemaChange(sc)
        }
        ResultMessage::Rows(rows) => {
            warnings = rows.warnings;
            let mut meta = rows_metadata(&rows.columns, prepared, params, version);
            meta.paging_state = rows.paging_state;
            ResultBody::Rows(p::Rows {
                metadata: meta,
                rows: rows.rows,
            })
        }
    };
    (Response::Result(body), warnings)
}

/// Full metadata, or No_metadata when the client asked to skip it and what it holds
/// (from PREPARE) still describes these columns; v5 clients holding another
/// metadata id are sent the new one (Metadata_changed).
fn rows_metadata(
    columns: &[ColumnSpec],
    prepared: Option<(&Prepared, Option<&[u8]>)>,
    params: &QueryParameters,
    version: u8,
) -> ResultMetadata {
    let full = || ResultMetadata::with_columns(columns.iter().map(column_spec).collect());
    let Some((prep, client_id)) = prepared else {
        return full();
    };
    let current_id = (version >= V5).then(|| result_metadata_id(columns));
    let client_is_current = match (&current_id, client_id) {
        (Some(cur), Some(theirs)) => cur.as_slice() == theirs,
        (Some(_), None) => false,
        (None, _) => prep.result_columns.as_slice() == columns,
    };
    if params.skip_metadata && client_is_current {
        return ResultMetadata::no_metadata(columns.len());
    }
    let mut meta = full();
    if let (Some(cur), Some(theirs)) = (current_id, client_id) {
        if cur.as_slice() != theirs {
            meta.new_metadata_id = Some(cur);
        }
    }
    meta
}

fn schema_change(sc: SchemaChange) -> p::SchemaChange {
    let change = match sc.change {
        SchemaChangeType::Created => p::SchemaChangeType::Created,
        SchemaChangeType::Updated => p::SchemaChangeType::Updated,
        SchemaChangeType::Dropped => p::SchemaChangeType::Dropped,
    };
    let target = match sc.target {
        SchemaChangeTarget::Keyspace => p::SchemaChangeTarget::Keyspace(sc.keyspace),
        SchemaChangeTarget::Table => p::SchemaChangeTarget::Table {
            keyspace: sc.keyspace,
            name: sc.name,
        },
        SchemaChangeTarget::Type => p::SchemaChangeTarget::Type {
            keyspace: sc.keyspace,
            name: sc.name,
        },
        SchemaChangeTarget::Function => p::SchemaChangeTarget::Function {
            keyspace: sc.keyspace,
            name: sc.name,
            arg_types: sc.arguments,
        },
        SchemaChangeTarget::Aggregate => p::SchemaChangeTarget::Aggregate {
            keyspace: sc.keyspace,
            name: sc.name,
            arg_types: sc.arguments,
        },
    };
    p::SchemaChange { change, target }
}

/// The ERROR body of an executor error, with the fields its code carries.
pub fn error_body(e: &CqlError, version: u8, consistency: Consistency) -> ErrorBody {
    // A single node: one replica was asked and it failed.
    let failures = || {
        if version >= V5 {
            Failures::Reasons(Vec::new())
        } else {
            Failures::Count(1)
        }
    };
    let kind = match e {
        CqlError::Server(_) => ErrorKind::Server,
        CqlError::Protocol(_) => ErrorKind::Protocol,
        CqlError::Syntax(_) => ErrorKind::Syntax,
        CqlError::Invalid(_) => ErrorKind::Invalid,
        CqlError::Config(_) => ErrorKind::Config,
        CqlError::AlreadyExists {
            keyspace, table, ..
        } => ErrorKind::AlreadyExists {
            keyspace: keyspace.clone(),
            table: table.clone(),
        },
        CqlError::Unprepared { id } => ErrorKind::Unprepared { id: id.clone() },
        CqlError::WriteFailure(_) => ErrorKind::WriteFailure {
            consistency,
            received: 0,
            block_for: 1,
            failures: failures(),
            write_type: "SIMPLE".into(),
        },
        CqlError::ReadFailure(_) => ErrorKind::ReadFailure {
            consistency,
            received: 0,
            block_for: 1,
            failures: failures(),
            data_present: false,
        },
        CqlError::Truncate(_) => ErrorKind::TruncateError,
    };
    ErrorBody::new(kind, e.to_string())
}

#[cfg(test)]
mod tests {
    //! Which requests take the quick path: a node's processor, a cache of prepared
    //! statements, and the classification of EXECUTEs of each kind.
    use super::*;
    use crate::config::NodeConfig;
    use crate::node::Node;
    use crate::transport::prepared::PreparedCache;
    use sibyl_cql::protocol::Execute;
    use tokio::sync::{broadcast, Semaphore};

    fn execute(id: [u8; 16], page_size: Option<i32>) -> Request {
        let mut params = QueryParameters::new(Consistency::One);
        params.page_size = page_size;
        Request::Execute(Execute {
            id: id.to_vec(),
            result_metadata_id: None,
            params,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_cheap_prepared_statements_are_quick() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = NodeConfig::with_data_dir(dir.path());
        config.native_transport_port = 0;
        config.storage_port = 0;
        config.admin_port = 0;
        let node = Node::start(config).await.expect("node");
        let qp = node.processor().clone();
        let mut session = Session::default();
        for ddl in [
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            "CREATE TABLE ks.kv (k blob PRIMARY KEY, v blob)",
            "CREATE TABLE ks.wide (k int, c int, v int, PRIMARY KEY (k, c))",
        ] {
            qp.execute_text(ddl, &QueryOptions::default(), &mut session)
                .expect("ddl");
        }
        let (events, _) = broadcast::channel(1);
        let mut shared = Shared {
            processor: qp.clone(),
            prepared: PreparedCache::default(),
            events,
            executing: Semaphore::new(1),
            writes_never_wait: true,
            max_frame_size_bytes: 1 << 20,
            request_metrics: Default::default(),
        };
        let id = |q: &str| {
            let p = qp.prepare(q, Some("ks")).expect(q);
            shared.prepared.insert(p.clone());
            p.id
        };
        let insert = id("INSERT INTO kv (k, v) VALUES (?, ?)");
        let lwt = id("INSERT INTO kv (k, v) VALUES (?, ?) IF NOT EXISTS");
        let update_if = id("UPDATE kv SET v = ? WHERE k = ? IF v = ?");
        let delete = id("DELETE FROM kv WHERE k = ?");
        let point = id("SELECT v FROM kv WHERE k = ?");
        let scan = id("SELECT v FROM kv");
        let partition = id("SELECT v FROM wide WHERE k = ?");
        let checks = [
            (insert, None, true),
            (lwt, None, false),
            (update_if, None, false),
            (delete, None, true),
            (point, None, true),
            (scan, Some(10), false),
            (partition, None, false),
            (partition, Some(5000), false),
            (partition, Some(QUICK_PAGE_ROWS_MAX), true),
        ];
        for (i, (stmt, page, quick)) in checks.into_iter().enumerate() {
            assert_eq!(is_quick(&shared, &execute(stmt, page)), quick, "case {i}");
        }
        assert!(!is_quick(&shared, &execute([0; 16], None)), "unknown id");
        shared.writes_never_wait = false;
        assert!(
            !is_quick(&shared, &execute(insert, None)),
            "group/batch commitlog: writes wait for a sync"
        );
        node.shutdown().await.expect("shutdown");
    }
}
