//! The query layer (Cassandra's QueryProcessor): CQL statements in, results out.
//!
//! Every CQL request, from the native protocol server, cqlsh or a test, goes through
//! [`QueryProcessor`]: there is no second execution path. Statements are parsed
//! once ([`QueryProcessor::prepare`]) and executed many times with bound values.
//! DDL and DESCRIBE go to the schema ([`crate::schema`]); DML and SELECT become
//! storage mutations and reads through the table mapping documented in
//! [`crate::schema::model`].
//!
//! The executor reaches the schema through the [`Catalog`] trait, implemented by
//! [`SchemaManager`]; tests (and later tools) can plug in a catalog of hand-built
//! tables. Modules: [`values`] (terms and bound values), [`mapping`] (CQL ↔ storage
//! layout), [`restrictions`] (WHERE), [`modify`] (INSERT/UPDATE/DELETE/BATCH and
//! LWT), [`select`] (reads, selectors, aggregates, paging), [`paging`] (the opaque
//! paging state).

pub mod fast;
pub mod functions;
pub mod json;
pub mod mapping;
pub mod modify;
pub mod paging;
pub mod restrictions;
pub mod result;
pub mod select;
pub mod values;

use std::sync::{Arc, Mutex, MutexGuard};

use md5::{Digest, Md5};
use sibyl_cql::parser::{
    parse_statement_with_markers, BatchKind, DescribeTarget, QualifiedName, Statement,
};
use sibyl_cql::types::{CqlType, CqlValue};
use sibyl_storage::{DecoratedKey, Storage, Table};

pub use result::{
    ColumnSpec, QueryOptions, ResultMessage, Rows, SchemaChange, SchemaChangeTarget,
    SchemaChangeType,
};

use crate::clock::{Clock, TimestampGenerator};
use crate::error::{CqlError, CqlResult};
use crate::schema::model::TableMetadata;
use crate::schema::SchemaManager;
use values::{SpecSink, Values};

/// Stripes of the per-partition lock that serializes conditional statements: enough
/// that unrelated partitions rarely share a stripe, few enough to allocate up front.
pub const LWT_LOCK_STRIPES: usize = 1024;

/// A virtual table's columns and rows (`None` = null).
pub type VirtualRows = (Vec<ColumnSpec>, Vec<Vec<Option<CqlValue>>>);

/// What the executor needs of the schema.
pub trait Catalog: Send + Sync {
    /// A table, or Cassandra's errors (`unconfigured table t`...).
    fn table(&self, keyspace: &str, name: &str) -> CqlResult<Arc<TableMetadata>>;
    /// Whether a keyspace exists.
    fn keyspace_exists(&self, keyspace: &str) -> bool;
    /// Rows of a virtual table, or `None` if it is not one.
    fn virtual_table(&self, keyspace: &str, table: &str) -> Option<VirtualRows>;
    /// DDL and TRUNCATE.
    fn execute_ddl(
        &self,
        stmt: &Statement,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage>;
    /// DESCRIBE.
    fn describe(
        &self,
        target: &DescribeTarget,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage>;
}

impl Catalog for SchemaManager {
    fn table(&self, keyspace: &str, name: &str) -> CqlResult<Arc<TableMetadata>> {
        SchemaManager::table(self, keyspace, name)
    }
    fn keyspace_exists(&self, keyspace: &str) -> bool {
        self.keyspace(keyspace).is_some()
    }
    fn virtual_table(&self, keyspace: &str, table: &str) -> Option<VirtualRows> {
        SchemaManager::virtual_table(self, keyspace, table)
    }
    fn execute_ddl(
        &self,
        stmt: &Statement,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage> {
        SchemaManager::execute_ddl(self, stmt, session_keyspace)
    }
    fn describe(
        &self,
        target: &DescribeTarget,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage> {
        SchemaManager::describe(self, target, session_keyspace)
    }
}

/// A client connection's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Session {
    pub keyspace: Option<String>,
}

/// A parsed statement with what a driver needs to bind and read it.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// MD5 of the keyspace (when set) followed by the query text.
    pub id: [u8; 16],
    pub text: String,
    pub statement: Statement,
    /// The session keyspace at PREPARE (resolves unqualified names).
    pub keyspace: Option<String>,
    /// Marker names (`None` for `?`).
    pub bind_markers: Vec<Option<String>>,
    /// One spec per marker.
    pub bind_specs: Vec<ColumnSpec>,
    /// Result columns of a SELECT (empty otherwise).
    pub result_columns: Vec<ColumnSpec>,
    /// The fast path, for the prepared INSERT and SELECT shapes it covers.
    pub fast: Option<fast::FastPlan>,
}

/// One statement of a protocol BATCH.
#[derive(Clone, Debug)]
pub struct BatchItem {
    pub prepared: Arc<Prepared>,
    pub values: Vec<Option<Vec<u8>>>,
    pub unset: Vec<bool>,
}

/// Executes CQL.
pub struct QueryProcessor {
    pub(crate) storage: Arc<Storage>,
    pub(crate) catalog: Arc<dyn Catalog>,
    pub(crate) clock: Arc<dyn Clock>,
    timestamps: TimestampGenerator,
    locks: Vec<Mutex<()>>,
    /// `tombstone_warn_threshold`: a read scanning more tombstones than this gets a
    /// client warning.
    pub tombstone_warn_threshold: usize,
}

/// `tombstone_warn_threshold`'s default (Cassandra's).
pub const TOMBSTONE_WARN_THRESHOLD: usize = 1000;

impl QueryProcessor {
    pub fn new(
        storage: Arc<Storage>,
        schema: Arc<SchemaManager>,
        clock: Arc<dyn Clock>,
    ) -> QueryProcessor {
        QueryProcessor::with_catalog(storage, schema, clock)
    }

    /// A processor over any catalog (tests build tables by hand).
    pub fn with_catalog(
        storage: Arc<Storage>,
        catalog: Arc<dyn Catalog>,
        clock: Arc<dyn Clock>,
    ) -> QueryProcessor {
        QueryProcessor {
            storage,
            catalog,
            timestamps: TimestampGenerator::new(clock.clone()),
            clock,
            locks: (0..LWT_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            tombstone_warn_threshold: TOMBSTONE_WARN_THRESHOLD,
        }
    }

    pub(crate) fn lock_partition(&self, key: &DecoratedKey) -> Option<MutexGuard<'_, ()>> {
        let i = (key.token.0 as u64 % LWT_LOCK_STRIPES as u64) as usize;
        self.locks
            .get(i)
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn table(
        &self,
        name: &QualifiedName,
        ks: Option<&str>,
    ) -> CqlResult<Arc<TableMetadata>> {
        let ks = name.keyspace.as_deref().or(ks).ok_or_else(no_keyspace)?;
        self.catalog.table(ks, &name.name)
    }

    pub(crate) fn storage_table(&self, t: &TableMetadata) -> CqlResult<Arc<Table>> {
        self.storage
            .table(t.storage_id())
            .map_err(|_| CqlError::invalid(format!("unconfigured table {}", t.name)))
    }

    /// Parses `text` once and describes its bind markers and result columns.
    pub fn prepare(&self, text: &str, keyspace: Option<&str>) -> CqlResult<Arc<Prepared>> {
        let parsed = parse_statement_with_markers(text)?;
        let n = parsed.bind_count();
        let mut specs: Vec<Option<ColumnSpec>> = vec![None; n];
        let mut result_columns = Vec::new();
        let mut fill = |stmt: &Statement, specs: &mut Vec<Option<ColumnSpec>>| -> CqlResult<()> {
            let target = match stmt {
                Statement::Select(s) => &s.table,
                Statement::Insert(s) => &s.table,
                Statement::Update(s) => &s.table,
                Statement::Delete(s) => &s.table,
                _ => return Ok(()),
            };
            let ks = target
                .keyspace
                .as_deref()
                .or(keyspace)
                .ok_or_else(no_keyspace)?;
            if let (Statement::Select(_), Some((vspecs, _))) =
                (stmt, self.catalog.virtual_table(ks, &target.name))
            {
                if let Statement::Select(s) = stmt {
                    for r in &s.where_clause {
                        if let sibyl_cql::parser::Relation::Column { column, value, .. } = r {
                            if let Some(c) = vspecs.iter().find(|c| &c.name == column) {
                                let mut sink = SpecSink::new(ks, &target.name, n);
                                sink.specs = std::mem::take(specs);
                                sink.term(value, &c.cql_type, column);
                                *specs = sink.specs;
                            }
                        }
                    }
                    result_columns = vspecs;
                }
                return Ok(());
            }
            let t = self.catalog.table(ks, &target.name)?;
            let mut sink = SpecSink::new(&t.keyspace, &t.name, n);
            sink.specs = std::mem::take(specs);
            match stmt {
                Statement::Select(s) => {
                    select::bind_specs(&t, s, &mut sink);
                    result_columns = select::result_specs(&t, s)?;
                }
                other => modify::bind_specs(&t, other, &mut sink),
            }
            *specs = sink.specs;
            Ok(())
        };
        match &parsed.statement {
            Statement::Batch(b) => {
                for child in &b.statements {
                    fill(child, &mut specs)?;
                }
                if let Some(x) = &b.using.timestamp {
                    let mut sink = SpecSink::new(keyspace.unwrap_or_default(), "", n);
                    sink.specs = std::mem::take(&mut specs);
                    sink.term(x, &CqlType::Bigint, "[timestamp]");
                    specs = sink.specs;
                }
            }
            other => fill(other, &mut specs)?,
        }
        let bind_specs = specs
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.unwrap_or_else(|| ColumnSpec {
                    keyspace: keyspace.unwrap_or_default().to_string(),
                    table: String::new(),
                    name: parsed
                        .bind_markers
                        .get(i)
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| format!("[{i}]")),
                    cql_type: CqlType::Blob,
                })
            })
            .collect();
        let fast = self.plan_fast(&parsed.statement, keyspace);
        Ok(Arc::new(Prepared {
            id: statement_id(text, keyspace),
            text: text.to_string(),
            statement: parsed.statement,
            keyspace: keyspace.map(str::to_string),
            bind_markers: parsed.bind_markers,
            bind_specs,
            result_columns,
            fast,
        }))
    }

    /// The fast-path plan of a statement, when it has a covered shape on a stored table.
    fn plan_fast(&self, stmt: &Statement, keyspace: Option<&str>) -> Option<fast::FastPlan> {
        let name = fast_target(stmt)?;
        let ks = name.keyspace.as_deref().or(keyspace)?;
        if self.catalog.virtual_table(ks, &name.name).is_some() {
            return None;
        }
        let t = self.table(name, keyspace).ok()?;
        fast::plan(stmt, &t)
    }

    /// Prepares and executes (a protocol QUERY).
    pub fn execute_text(
        &self,
        text: &str,
        options: &QueryOptions,
        session: &mut Session,
    ) -> CqlResult<ResultMessage> {
        let ks = options
            .keyspace
            .clone()
            .or_else(|| session.keyspace.clone());
        let prepared = self.prepare(text, ks.as_deref())?;
        self.execute(&prepared, options, session)
    }

    /// Executes a prepared statement.
    pub fn execute(
        &self,
        prepared: &Prepared,
        options: &QueryOptions,
        session: &mut Session,
    ) -> CqlResult<ResultMessage> {
        if let (Some(f), Some(name)) = (&prepared.fast, fast_target(&prepared.statement)) {
            let ks = options
                .keyspace
                .as_deref()
                .or(prepared.keyspace.as_deref())
                .or(session.keyspace.as_deref());
            if let Ok(current) = self.table(name, ks) {
                if let Some(r) = f.execute(self, &current, options, || self.timestamps.next()) {
                    return r.map(|r| match r {
                        ResultMessage::Rows(mut rows) => {
                            rows.columns = prepared.result_columns.clone();
                            ResultMessage::Rows(rows)
                        }
                        other => other,
                    });
                }
            }
        }
        let (vals, unset) = ordered_values(
            prepared,
            &options.values,
            &options.unset,
            options.names.as_deref(),
        )?;
        let v = Values {
            values: &vals,
            unset: &unset,
            now_micros: self.clock.now_micros(),
        };
        let ks_owned = options
            .keyspace
            .clone()
            .or_else(|| prepared.keyspace.clone())
            .or_else(|| session.keyspace.clone());
        let ks = ks_owned.as_deref();
        let default_ts = options.timestamp.unwrap_or_else(|| self.timestamps.next());
        match &prepared.statement {
            Statement::Select(s) => {
                let tks = s.table.keyspace.as_deref().or(ks).ok_or_else(no_keyspace)?;
                if let Some((specs, rows)) = self.catalog.virtual_table(tks, &s.table.name) {
                    return select::execute_virtual(s, tks, &s.table.name, specs, rows, &v);
                }
                let t = self.table(&s.table, ks)?;
                select::execute(self, &t, s, &v, options)
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                let mut muts = modify::Muts::default();
                match modify::plan(self, &prepared.statement, ks, &v, default_ts, &mut muts)? {
                    None => {
                        modify::apply(self, muts)?;
                        Ok(ResultMessage::Void)
                    }
                    Some(c) => modify::apply_conditional(self, vec![c], muts),
                }
            }
            Statement::Batch(b) => {
                if b.kind == BatchKind::Counter {
                    return Err(CqlError::invalid("Counter batches are not supported yet"));
                }
                let items: Vec<(&Statement, Option<&str>, Values<'_>)> =
                    b.statements.iter().map(|s| (s, ks, v)).collect();
                modify::execute_batch(self, Some(&b.using), &items, default_ts)
            }
            Statement::Use(name) => {
                if !self.catalog.keyspace_exists(name) {
                    return Err(CqlError::invalid(format!(
                        "Keyspace '{name}' does not exist"
                    )));
                }
                session.keyspace = Some(name.clone());
                Ok(ResultMessage::SetKeyspace(name.clone()))
            }
            Statement::Describe(d) => self.catalog.describe(&d.target, ks),
            Statement::Truncate(_)
            | Statement::CreateKeyspace(_)
            | Statement::AlterKeyspace(_)
            | Statement::DropKeyspace(_)
            | Statement::CreateTable(_)
            | Statement::AlterTable(_)
            | Statement::DropTable(_)
            | Statement::CreateType(_)
            | Statement::AlterType(_)
            | Statement::DropType(_)
            | Statement::CreateIndex(_)
            | Statement::DropIndex(_)
            | Statement::CreateMaterializedView(_)
            | Statement::AlterMaterializedView { .. }
            | Statement::DropMaterializedView(_) => {
                self.catalog.execute_ddl(&prepared.statement, ks)
            }
            Statement::Unsupported { kind, .. } => {
                Err(CqlError::invalid(format!("{kind} is not supported")))
            }
            _ => Err(CqlError::invalid(
                "Roles and permissions are not supported yet",
            )),
        }
    }

    /// Executes a protocol BATCH: every statement with its values, one timestamp.
    pub fn execute_batch(
        &self,
        kind: BatchKind,
        items: &[BatchItem],
        options: &QueryOptions,
        session: &mut Session,
    ) -> CqlResult<ResultMessage> {
        if kind == BatchKind::Counter {
            return Err(CqlError::invalid("Counter batches are not supported yet"));
        }
        let now_micros = self.clock.now_micros();
        let mut ordered = Vec::with_capacity(items.len());
        for it in items {
            if !matches!(
                it.prepared.statement,
                Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)
            ) {
                return Err(CqlError::invalid("Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed."));
            }
            ordered.push(ordered_values(&it.prepared, &it.values, &it.unset, None)?);
        }
        let ks_default = options
            .keyspace
            .clone()
            .or_else(|| session.keyspace.clone());
        let list: Vec<(&Statement, Option<&str>, Values<'_>)> = items
            .iter()
            .zip(&ordered)
            .map(|(it, (vals, unset))| {
                let ks = it.prepared.keyspace.as_deref().or(ks_default.as_deref());
                (
                    &it.prepared.statement,
                    ks,
                    Values {
                        values: vals,
                        unset,
                        now_micros,
                    },
                )
            })
            .collect();
        let default_ts = options.timestamp.unwrap_or_else(|| self.timestamps.next());
        modify::execute_batch(self, None, &list, default_ts)
    }
}

fn no_keyspace() -> CqlError {
    CqlError::invalid(
        "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename",
    )
}

/// Prepared statement id: MD5 over the keyspace (when set) then the text.
pub fn statement_id(text: &str, keyspace: Option<&str>) -> [u8; 16] {
    let mut h = Md5::new();
    if let Some(ks) = keyspace {
        h.update(ks.as_bytes());
    }
    h.update(text.as_bytes());
    h.finalize().into()
}

type Ordered = (Vec<Option<Vec<u8>>>, Vec<bool>);

/// Values in marker order (named values matched by name), after checking the count.
/// The table of a statement the fast path may cover.
fn fast_target(stmt: &Statement) -> Option<&QualifiedName> {
    match stmt {
        Statement::Insert(s) => Some(&s.table),
        Statement::Select(s) => Some(&s.table),
        _ => None,
    }
}

fn ordered_values(
    p: &Prepared,
    values: &[Option<Vec<u8>>],
    unset: &[bool],
    names: Option<&[String]>,
) -> CqlResult<Ordered> {
    let n = p.bind_markers.len();
    if values.len() != n {
        return Err(CqlError::invalid(format!(
            "There were {n} markers(?) in CQL but {} bound variables",
            values.len()
        )));
    }
    let Some(names) = names else {
        let mut u = unset.to_vec();
        u.resize(n, false);
        return Ok((values.to_vec(), u));
    };
    let mut out_v = Vec::with_capacity(n);
    let mut out_u = Vec::with_capacity(n);
    for (i, m) in p.bind_markers.iter().enumerate() {
        let name = m.clone().unwrap_or_else(|| {
            p.bind_specs
                .get(i)
                .map(|s| s.name.clone())
                .unwrap_or_default()
        });
        let j = names
            .iter()
            .position(|x| *x == name)
            .ok_or_else(|| CqlError::invalid(format!("Invalid unknown bind name {name}")))?;
        out_v.push(values.get(j).cloned().flatten());
        out_u.push(unset.get(j).copied().unwrap_or(false));
    }
    Ok((out_v, out_u))
}
