//! Fast paths for the two prepared statements that dominate key-value traffic:
//! `INSERT INTO t (k, .., v, ..) VALUES (?, .., ?, ..)` and
//! `SELECT cols FROM t WHERE k = ? [AND c = ? ...]` reading one whole primary key.
//!
//! **Why.** The general executor evaluates every bound value into a [`CqlValue`],
//! re-serializes it for storage, and on reads decodes every cell into a value and
//! encodes it again for the result. For these two shapes all of that is copying: the
//! bound bytes *are* the cell bytes and the key bytes, and the stored cell bytes *are*
//! the result bytes. Measured with `cargo bench -p sibyl --bench query`, that work
//! cost as much as the storage operation itself (docs/performance.md).
//!
//! **How.** At PREPARE, [`plan`] recognises the shape and records, per bind marker,
//! which column it feeds (a [`FastPlan`] held by the prepared statement, next to the
//! table metadata it was planned against). At EXECUTE, [`FastPlan::execute`] validates
//! each bound value for its type without building a value (blobs need nothing, text
//! is a UTF-8 check, fixed-size types a length check through the decoder), builds the
//! key and the row directly from the bytes, and calls storage.
//!
//! **Same answers.** Anything the fast path does not handle identically returns
//! `None` and the statement runs through the general executor, which produces the
//! result or Cassandra's error: null or unset key parts, empty keys, oversized keys,
//! invalid bytes for a type, a paging state, named values, a table whose metadata
//! changed since PREPARE, static columns, collections, counters, TTL/TIMESTAMP
//! clauses, `IF NOT EXISTS`. Equivalence is checked by
//! `tests/query.rs::fast_paths_answer_like_the_general_executor`.

use std::sync::Arc;

use bytes::Bytes;
use sibyl_cql::parser::{
    InsertStatement, InsertValues, Operator, Relation, SelectStatement, Selectable, Selection,
    Statement, Term,
};
use sibyl_cql::types::{deserialize, CqlType};
use sibyl_storage::{
    token::composite_key, ClusteringSlice, DecoratedKey, LivenessInfo, Mutation, ReadCommand, Row,
};

use crate::error::{CqlError, CqlResult};
use crate::query::mapping::{self, WriteParams, PARTITION_KEY_BYTES_MAX};
use crate::query::result::{QueryOptions, ResultMessage, Rows};
use crate::query::QueryProcessor;
use crate::schema::model::{ColumnKind, TableMetadata};

/// A statement the fast path runs, planned at PREPARE.
#[derive(Clone, Debug)]
pub struct FastPlan {
    /// The table as it was at PREPARE; a different `Arc` at EXECUTE (ALTER, DROP and
    /// re-CREATE) sends the statement to the general executor.
    table: Arc<TableMetadata>,
    /// Bind marker of each partition key column, in key order.
    pk: Vec<usize>,
    /// Bind marker of each clustering column, in clustering order (all of them).
    ck: Vec<usize>,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// Regular columns written: (bind marker, column index).
    Insert { cells: Vec<(usize, usize)> },
    /// Result columns, in order.
    Select { outputs: Vec<Output> },
}

#[derive(Debug, Clone, Copy)]
enum Output {
    /// A key column: the bound bytes of this marker.
    Bound(usize),
    /// A regular column (index into the table's columns).
    Cell(usize),
}

/// The bind marker a term is, if it is one.
fn marker(t: &Term) -> Option<usize> {
    match t {
        Term::Bind(m) => Some(m.index),
        _ => None,
    }
}

/// Whether the fast path can hold this table's rows: no static columns (their row
/// semantics differ), no counters, and every column single-cell.
/// Key columns must be [`verbatim`]: their bytes become the key.
fn plain_table(t: &TableMetadata) -> bool {
    t.columns.iter().all(|c| {
        c.kind != ColumnKind::Static
            && !c.cql_type.is_counter()
            && !c.cql_type.is_multi_cell()
            && (c.kind == ColumnKind::Regular || verbatim(&c.cql_type))
    })
}

/// Types whose valid encodings are all canonical: the general executor's decode and
/// re-encode gives back the same bytes, so bound bytes may be stored and keyed as they
/// are. (`boolean`, `varint`, `decimal`, `duration` and the frozen complex types have
/// several encodings of one value and go through the general executor.)
fn verbatim(ty: &CqlType) -> bool {
    use CqlType as T;
    matches!(
        ty,
        T::Blob
            | T::Text
            | T::Ascii
            | T::Int
            | T::Bigint
            | T::Smallint
            | T::Tinyint
            | T::Float
            | T::Double
            | T::Timestamp
            | T::Date
            | T::Time
            | T::Uuid
            | T::Timeuuid
            | T::Inet
    )
}

/// Plans `stmt` against `table` when it has one of the two shapes.
pub fn plan(stmt: &Statement, table: &Arc<TableMetadata>) -> Option<FastPlan> {
    if !plain_table(table) {
        return None;
    }
    match stmt {
        Statement::Insert(s) => plan_insert(s, table),
        Statement::Select(s) => plan_select(s, table),
        _ => None,
    }
}

/// The bind marker of every column of `kind`, in column order; `None` if one has none.
fn markers_of(t: &TableMetadata, by_col: &[Option<usize>], kind: ColumnKind) -> Option<Vec<usize>> {
    t.columns
        .iter()
        .zip(by_col)
        .filter(|(c, _)| c.kind == kind)
        .map(|(_, m)| *m)
        .collect()
}

fn plan_insert(s: &InsertStatement, t: &Arc<TableMetadata>) -> Option<FastPlan> {
    if s.if_not_exists || s.using.ttl.is_some() || s.using.timestamp.is_some() {
        return None;
    }
    let InsertValues::Values { columns, values } = &s.values else {
        return None;
    };
    if columns.len() != values.len() {
        return None;
    }
    let mut by_col: Vec<Option<usize>> = vec![None; t.columns.len()];
    for (name, term) in columns.iter().zip(values) {
        let i = t.columns.iter().position(|c| &c.name == name)?;
        if by_col[i].is_some() {
            return None;
        }
        by_col[i] = Some(marker(term)?);
    }
    let pk = markers_of(t, &by_col, ColumnKind::PartitionKey)?;
    let ck = markers_of(t, &by_col, ColumnKind::Clustering)?;
    let cells = t
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ColumnKind::Regular)
        .filter_map(|(i, _)| by_col[i].map(|m| (m, i)))
        .collect::<Vec<_>>();
    // Written bytes are stored as they are: only canonical types.
    if cells
        .iter()
        .any(|&(_, i)| !verbatim(&t.columns[i].cql_type))
    {
        return None;
    }
    Some(FastPlan {
        table: t.clone(),
        pk,
        ck,
        kind: Kind::Insert { cells },
    })
}

fn plan_select(s: &SelectStatement, t: &Arc<TableMetadata>) -> Option<FastPlan> {
    if s.json
        || s.distinct
        || !s.group_by.is_empty()
        || !s.order_by.is_empty()
        || s.limit.is_some()
        || s.per_partition_limit.is_some()
    {
        return None;
    }
    let mut by_col: Vec<Option<usize>> = vec![None; t.columns.len()];
    for r in &s.where_clause {
        let Relation::Column {
            column,
            op: Operator::Eq,
            value,
        } = r
        else {
            return None;
        };
        let i = t.columns.iter().position(|c| &c.name == column)?;
        if by_col[i].is_some() || t.columns[i].kind == ColumnKind::Regular {
            return None;
        }
        by_col[i] = Some(marker(value)?);
    }
    let pk = markers_of(t, &by_col, ColumnKind::PartitionKey)?;
    let ck = markers_of(t, &by_col, ColumnKind::Clustering)?;
    let output_of = |i: usize| match t.columns[i].kind {
        ColumnKind::PartitionKey | ColumnKind::Clustering => by_col[i].map(Output::Bound),
        _ => Some(Output::Cell(i)),
    };
    let outputs = match &s.selection {
        // `SELECT *`: key, clustering, then regular columns by name (the select order).
        Selection::Star => {
            let mut order: Vec<usize> = (0..t.columns.len()).collect();
            order.sort_by(|&a, &b| {
                let rank = |i: usize| match t.columns[i].kind {
                    ColumnKind::PartitionKey => 0,
                    ColumnKind::Clustering => 1,
                    ColumnKind::Static => 2,
                    ColumnKind::Regular => 3,
                };
                let key = |i: usize| match t.columns[i].kind {
                    ColumnKind::PartitionKey | ColumnKind::Clustering => (rank(i), i, ""),
                    _ => (rank(i), 0, t.columns[i].name.as_str()),
                };
                key(a).cmp(&key(b))
            });
            order
                .into_iter()
                .map(output_of)
                .collect::<Option<Vec<_>>>()?
        }
        Selection::Selectors(list) => list
            .iter()
            .map(|sel| match &sel.selectable {
                Selectable::Column(name) => {
                    let i = t.columns.iter().position(|c| &c.name == name)?;
                    output_of(i)
                }
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
    };
    Some(FastPlan {
        table: t.clone(),
        pk,
        ck,
        kind: Kind::Select { outputs },
    })
}

/// Checks `bytes` are a valid value of `ty` without building it where possible.
fn valid(bytes: &[u8], ty: &CqlType) -> bool {
    match ty {
        CqlType::Blob | CqlType::Custom(_) => true,
        CqlType::Text => std::str::from_utf8(bytes).is_ok(),
        CqlType::Ascii => bytes.is_ascii(),
        other => deserialize(bytes, other).is_ok(),
    }
}

impl FastPlan {
    /// Runs the statement, or `None` when the general executor must (see the module
    /// documentation for when).
    pub fn execute(
        &self,
        qp: &QueryProcessor,
        current: &Arc<TableMetadata>,
        options: &QueryOptions,
        default_ts: impl FnOnce() -> i64,
    ) -> Option<CqlResult<ResultMessage>> {
        if !Arc::ptr_eq(&self.table, current) || options.names.is_some() {
            return None;
        }
        let t = &*self.table;
        let bound = |m: usize| -> Option<&[u8]> {
            if options.unset.get(m).copied().unwrap_or(false) {
                return None;
            }
            options.values.get(m)?.as_deref()
        };
        // The partition key from the bound bytes.
        let mut parts: Vec<&[u8]> = Vec::with_capacity(self.pk.len());
        for (c, &m) in t.partition_key().zip(&self.pk) {
            let b = bound(m)?;
            if b.is_empty() || b.len() > PARTITION_KEY_BYTES_MAX || !valid(b, &c.cql_type) {
                return None;
            }
            parts.push(b);
        }
        let key = DecoratedKey::new(Bytes::from(composite_key(&parts)));
        let clustering = if self.ck.is_empty() {
            Bytes::new()
        } else {
            let mut vals = Vec::with_capacity(self.ck.len());
            for (c, &m) in t.clustering().zip(&self.ck) {
                vals.push(deserialize(bound(m)?, &c.cql_type).ok()?);
            }
            Bytes::from(mapping::clustering(t, &vals).ok()?)
        };
        let table = match qp.storage_table(t) {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        match &self.kind {
            Kind::Insert { cells } => {
                // Validate every value before writing anything.
                for &(m, i) in cells {
                    if options.unset.get(m).copied().unwrap_or(false) {
                        continue;
                    }
                    if let Some(Some(b)) = options.values.get(m) {
                        if !valid(b, &t.columns[i].cql_type) {
                            return None;
                        }
                    }
                }
                let p = WriteParams {
                    timestamp: options.timestamp.unwrap_or_else(default_ts),
                    ttl: t.params.default_time_to_live,
                    now: qp.clock.now_seconds(),
                };
                let mut row = Row::new(clustering);
                row.liveness = LivenessInfo::new(p.timestamp, p.ttl, p.now);
                for &(m, i) in cells {
                    if options.unset.get(m).copied().unwrap_or(false) {
                        continue;
                    }
                    let id = t.columns[i].id;
                    row.add_cell(match options.values.get(m) {
                        Some(Some(b)) => p.cell(id, None, b.clone()),
                        _ => p.tombstone(id, None),
                    });
                }
                let mut mutation = Mutation::new(t.storage_id(), key);
                mutation.update.add_row(row);
                Some(
                    table
                        .apply(&mutation)
                        .map(|_| ResultMessage::Void)
                        .map_err(CqlError::from_write),
                )
            }
            Kind::Select { outputs } => {
                if options.paging_state.is_some() {
                    return None;
                }
                let now = qp.clock.now_seconds();
                let cmd = ReadCommand {
                    slice: ClusteringSlice::prefix(clustering),
                    reversed: false,
                    limit: Some(1),
                    now,
                };
                let part = match table.read(&key, &cmd) {
                    Ok(p) => p,
                    Err(e) => return Some(Err(CqlError::from_read(e))),
                };
                let mut rows = Vec::new();
                if let Some(row) = part.and_then(|p| p.rows.into_iter().next()) {
                    if row.has_live_data(now) {
                        let mut out = Vec::with_capacity(outputs.len());
                        for o in outputs {
                            out.push(match *o {
                                Output::Bound(m) => bound(m).map(<[u8]>::to_vec),
                                Output::Cell(i) => {
                                    let id = t.columns[i].id;
                                    row.cells
                                        .iter()
                                        .find(|c| c.column == id && c.path.is_none())
                                        .filter(|c| c.is_live(now))
                                        .and_then(|c| c.value_bytes())
                                        .map(|b| b.to_vec())
                                }
                            });
                        }
                        rows.push(out);
                    }
                }
                Some(Ok(ResultMessage::Rows(Rows {
                    columns: Vec::new(),
                    rows,
                    paging_state: None,
                    warnings: Vec::new(),
                })))
            }
        }
    }
}
