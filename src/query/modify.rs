//! INSERT, UPDATE, DELETE and BATCH: statements to storage mutations.
//!
//! A modification statement becomes one [`Mutation`] per partition it touches,
//! built by the table mapping of [`crate::query::mapping`]: INSERT writes the row
//! marker (so the row exists with only its key), UPDATE does not; whole-collection
//! assignments shadow older elements with a tombstone at `ts - 1`; deletes become cell
//! tombstones, row deletions, range tombstones or partition deletions. Every cell of a
//! statement (and of a whole batch) carries the same timestamp. A batch merges the
//! mutations of one partition into one, so it is applied atomically.
//!
//! Conditional statements (`IF NOT EXISTS`, `IF EXISTS`, `IF c = v`) are serialized
//! per partition on this node through a striped mutex held across read, check and
//! write; the result is Cassandra's `[applied]` row. This is single-node
//! linearizability only: Paxos across replicas is the coordinator's job.
//!
//! Some operations read before writing (`l[i] = v`, `l = l - [..]`, `DELETE l[i]`),
//! as in Cassandra, and are not atomic with concurrent writers either.

use std::collections::BTreeMap;

use bytes::Bytes;
use std::sync::Arc;

use sibyl_cql::parser::{
    Assignment, BatchStatement, Condition, ConditionTarget, ConditionValue, DeleteStatement,
    DeleteTarget, IfClause, InsertStatement, InsertValues, Operator, Relation, Statement, Term,
    UpdateStatement, Using,
};
use sibyl_cql::types::{compare, CqlType, CqlValue};
use sibyl_storage::{
    Cell, ClusteringSlice, DecoratedKey, DeletionTime, LivenessInfo, Mutation, PartitionUpdate,
    RangeTombstone, ReadCommand, Row, TableId,
};

use crate::error::{CqlError, CqlResult};
use crate::query::mapping::{
    self, column, comparable_path, field_path, partition_key, write_value, CellInfo, ColumnIndex,
    WriteParams, TTL_SECONDS_MAX,
};
use crate::query::restrictions::{analyze, KeySel};
use crate::query::result::{ColumnSpec, ResultMessage, Rows};
use crate::query::values::{eval_term, SpecSink, Val, Values};
use crate::query::QueryProcessor;
use crate::schema::model::{ColumnKind, ColumnMetadata, TableMetadata};

/// The mutations of a statement or batch, one per (table, partition).
#[derive(Default)]
pub struct Muts {
    parts: BTreeMap<(TableId, DecoratedKey), PartitionUpdate>,
}

impl Muts {
    pub fn partition(&mut self, t: &TableMetadata, key: &DecoratedKey) -> &mut PartitionUpdate {
        self.parts.entry((t.storage_id(), key.clone())).or_default()
    }

    pub fn row(
        &mut self,
        t: &TableMetadata,
        key: &DecoratedKey,
        clustering: &[u8],
        is_static: bool,
    ) -> &mut Row {
        let p = self.partition(t, key);
        if is_static {
            return p.static_row.get_or_insert_with(|| Row::new(Bytes::new()));
        }
        let i = match p
            .rows
            .binary_search_by(|r| r.clustering[..].cmp(clustering))
        {
            Ok(i) => i,
            Err(i) => {
                p.rows
                    .insert(i, Row::new(Bytes::copy_from_slice(clustering)));
                i
            }
        };
        &mut p.rows[i]
    }

    pub fn partitions(&self) -> impl Iterator<Item = &(TableId, DecoratedKey)> {
        self.parts.keys()
    }

    pub fn into_mutations(self) -> Vec<Mutation> {
        self.parts
            .into_iter()
            .filter(|(_, u)| !u.is_empty())
            .map(|((table, key), update)| Mutation { table, key, update })
            .collect()
    }
}

/// A statement's LWT condition, evaluated against one row.
pub enum Cond {
    NotExists,
    Exists,
    Checks(Vec<Check>),
}

/// One `IF` condition.
pub struct Check {
    col: usize,
    target: CheckTarget,
    op: Operator,
    /// One value for a comparison (None = null), several for IN.
    values: Vec<Option<CqlValue>>,
    is_in: bool,
}

enum CheckTarget {
    Column,
    Element(CqlValue),
    Field(usize),
}

/// What a conditional statement must check, on which row.
pub struct Conditional {
    pub table: Arc<TableMetadata>,
    pub key: DecoratedKey,
    pub clustering: Option<Vec<u8>>,
    pub cond: Cond,
}

/// The timestamp and TTL a statement writes with.
pub fn write_params(
    qp: &QueryProcessor,
    t: &TableMetadata,
    using: &Using,
    v: &Values<'_>,
    default_ts: i64,
) -> CqlResult<WriteParams> {
    let timestamp = match &using.timestamp {
        None => default_ts,
        Some(term) => match eval_term(term, &CqlType::Bigint, "[timestamp]", v)? {
            Val::Value(CqlValue::Bigint(x)) => x,
            Val::Unset => default_ts,
            _ => return Err(CqlError::invalid("Invalid null value of timestamp")),
        },
    };
    let ttl = match &using.ttl {
        None => i64::from(t.params.default_time_to_live),
        Some(term) => match eval_term(term, &CqlType::Int, "[ttl]", v)? {
            Val::Value(CqlValue::Int(x)) => i64::from(x),
            Val::Unset => i64::from(t.params.default_time_to_live),
            Val::Null => 0,
            Val::Value(_) => return Err(CqlError::invalid("Invalid TTL value")),
        },
    };
    if ttl < 0 {
        return Err(CqlError::invalid(format!(
            "A TTL must be greater or equal to 0, but was {ttl}"
        )));
    }
    if ttl > TTL_SECONDS_MAX {
        return Err(CqlError::invalid(format!(
            "ttl is too large. requested ({ttl}) maximum ({TTL_SECONDS_MAX})"
        )));
    }
    Ok(WriteParams {
        timestamp,
        ttl: i32::try_from(ttl).unwrap_or(0),
        now: qp.clock.now_seconds(),
    })
}

fn reject_counters(t: &TableMetadata) -> CqlResult<()> {
    if t.columns.iter().any(|c| c.cql_type.is_counter()) {
        return Err(CqlError::invalid("Counter columns are not supported yet"));
    }
    Ok(())
}

fn required(val: Val, c: &ColumnMetadata) -> CqlResult<CqlValue> {
    match val {
        Val::Value(x) => Ok(x),
        Val::Null => Err(CqlError::invalid(format!(
            "Invalid null value in condition for column {}",
            c.name
        ))),
        Val::Unset => Err(CqlError::invalid(format!(
            "Invalid unset value for column {}",
            c.name
        ))),
    }
}

/// Plans an INSERT into `muts`; returns its condition, if any.
pub fn plan_insert(
    qp: &QueryProcessor,
    t: &Arc<TableMetadata>,
    s: &InsertStatement,
    v: &Values<'_>,
    p: &WriteParams,
    muts: &mut Muts,
) -> CqlResult<Option<Conditional>> {
    reject_counters(t)?;
    let mut given: Vec<Option<Val>> = vec![None; t.columns.len()];
    match &s.values {
        InsertValues::Values { columns, values } => {
            if columns.len() != values.len() {
                return Err(CqlError::invalid("Unmatched column names/values"));
            }
            for (name, term) in columns.iter().zip(values) {
                let (i, c) = column(t, name)?;
                if given[i].is_some() {
                    // Cassandra 4's message (checkContainsNoDuplicates in ParsedInsert).
                    return Err(CqlError::invalid("The column names contains duplicates"));
                }
                given[i] = Some(eval_term(term, &c.cql_type, &c.name, v)?);
            }
        }
        InsertValues::Json {
            json,
            default_unset,
        } => {
            let doc = match eval_term(json, &CqlType::Text, "[json]", v)? {
                Val::Value(CqlValue::Text(d)) => d,
                _ => return Err(CqlError::invalid("Got null for INSERT JSON values")),
            };
            // Absent columns are null (DEFAULT NULL) or untouched (DEFAULT UNSET);
            // key columns must be in the document.
            if !default_unset {
                for (i, c) in t.columns.iter().enumerate() {
                    if matches!(c.kind, ColumnKind::Regular | ColumnKind::Static) {
                        given[i] = Some(Val::Null);
                    }
                }
            }
            for (i, value) in crate::query::json::columns_from_json(t, &doc)? {
                given[i] = Some(value.map_or(Val::Null, Val::Value));
            }
        }
    }
    let mut pk = Vec::new();
    let mut missing = Vec::new();
    for (i, c) in t
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ColumnKind::PartitionKey)
    {
        match given[i].take() {
            Some(val) => pk.push(required(val, c)?),
            None => missing.push(c.name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(CqlError::invalid(format!(
            "Some partition key parts are missing: {}",
            missing.join(", ")
        )));
    }
    let mut ck = Vec::new();
    let mut missing_ck = Vec::new();
    for (i, c) in t
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ColumnKind::Clustering)
    {
        match given[i].take() {
            Some(val) => ck.push(required(val, c)?),
            None => missing_ck.push(c.name.clone()),
        }
    }
    let only_static = t
        .columns
        .iter()
        .zip(&given)
        .all(|(c, g)| g.is_none() || c.kind == ColumnKind::Static);
    let static_only_row = !missing_ck.is_empty() && only_static && ck.is_empty();
    if !missing_ck.is_empty() && !static_only_row {
        return Err(CqlError::invalid(format!(
            "Some clustering keys are missing: {}",
            missing_ck.join(", ")
        )));
    }
    let key = partition_key(t, &pk)?;
    let clustering = mapping::clustering(t, &ck)?;
    let now_micros = qp.clock.now_micros();
    // Only an INSERT that writes a regular row gets the primary key liveness info
    // (Cassandra's UpdateStatement.addUpdateForKey); the static row never does.
    if !static_only_row {
        let row = muts.row(t, &key, &clustering, false);
        let marker = LivenessInfo::new(p.timestamp, p.ttl, p.now);
        if marker.supersedes(&row.liveness) {
            row.liveness = marker;
        }
    }
    for (i, c) in t.columns.iter().enumerate() {
        let Some(val) = given[i].take() else { continue };
        let row = muts.row(t, &key, &clustering, c.kind == ColumnKind::Static);
        match val {
            Val::Unset => {}
            Val::Null => row.add_cell(null_write(p, c)),
            Val::Value(x) => write_value(row, c, &x, p, true, now_micros)?,
        }
    }
    Ok(s.if_not_exists.then(|| Conditional {
        table: t.clone(),
        key,
        clustering: (!static_only_row).then_some(clustering),
        cond: Cond::NotExists,
    }))
}

/// The partition keys and full clusterings (or `None` for static-only) a WHERE of an
/// UPDATE or DELETE selects.
struct Targets {
    keys: Vec<DecoratedKey>,
    /// Selected clustering prefixes (bytes) and whether they are full clusterings.
    rows: Vec<Vec<u8>>,
    full: bool,
    slices: Vec<ClusteringSlice>,
    restricted: bool,
}

fn targets(t: &TableMetadata, rels: &[Relation], v: &Values<'_>) -> CqlResult<Targets> {
    let non_pk: Vec<&str> = rels
        .iter()
        .filter_map(|r| match r {
            Relation::Column { column, .. }
            | Relation::In { column, .. }
            | Relation::Element { column, .. } => t
                .column(column)
                .filter(|c| matches!(c.kind, ColumnKind::Static | ColumnKind::Regular))
                .map(|c| c.name.as_str()),
            _ => None,
        })
        .collect();
    if !non_pk.is_empty() {
        return Err(CqlError::invalid(format!(
            "Non PRIMARY KEY columns found in where clause: {}",
            non_pk.join(", ")
        )));
    }
    let w = analyze(t, rels, v)?;
    if !w.missing_key_parts.is_empty() {
        return Err(CqlError::invalid(format!(
            "Some partition key parts are missing: {}",
            w.missing_key_parts.join(", ")
        )));
    }
    if !w.filters.is_empty() {
        // A clustering column restricted out of order gets Cassandra's clustering message;
        // otherwise the filter is on the partition key.
        let clustering_msg = w
            .needs_filtering
            .as_ref()
            .filter(|m| m.starts_with("PRIMARY KEY column") || m.starts_with("Clustering column"));
        return Err(CqlError::invalid(clustering_msg.cloned().unwrap_or_else(|| {
            "Only EQ and IN relation are supported on the partition key (unless you use the token() function)".to_string()
        })));
    }
    let KeySel::Keys(keys) = &w.keys else {
        return Err(CqlError::invalid("Some partition key parts are missing"));
    };
    let keys = keys
        .iter()
        .map(|k| partition_key(t, k))
        .collect::<CqlResult<Vec<_>>>()?;
    Ok(Targets {
        keys,
        rows: w
            .clustering
            .prefixes
            .iter()
            .map(|(b, _)| b.clone())
            .collect(),
        full: w.clustering.is_full(t),
        slices: w.clustering.slices(),
        restricted: w.clustering.restricted,
    })
}

fn missing_clustering(t: &TableMetadata) -> CqlError {
    let names: Vec<&str> = t.clustering().map(|c| c.name.as_str()).collect();
    CqlError::invalid(format!(
        "Some clustering keys are missing: {}",
        names.join(", ")
    ))
}

/// Plans an UPDATE into `muts`.
pub fn plan_update(
    qp: &QueryProcessor,
    t: &Arc<TableMetadata>,
    s: &UpdateStatement,
    v: &Values<'_>,
    p: &WriteParams,
    muts: &mut Muts,
) -> CqlResult<Option<Conditional>> {
    reject_counters(t)?;
    let tg = targets(t, &s.where_clause, v)?;
    let mut all_static = true;
    for (i, a) in s.assignments.iter().enumerate() {
        // Cassandra's grammar rejects a plain `c = v` combined with any other
        // assignment of the same column (a syntax error, raised while parsing).
        let name = assignment_column(a);
        let clash = s.assignments[..i].iter().any(|b| {
            assignment_column(b) == name
                && (matches!(a, Assignment::Set { .. }) || matches!(b, Assignment::Set { .. }))
        });
        if clash {
            return Err(CqlError::Syntax(format!(
                "Multiple incompatible setting of column {name}"
            )));
        }
        let (_, c) = column(t, name)?;
        if matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            return Err(CqlError::invalid(format!(
                "PRIMARY KEY part {} found in SET part",
                c.name
            )));
        }
        all_static &= c.kind == ColumnKind::Static;
    }
    let has_ck = t.clustering().next().is_some();
    let static_only = has_ck && all_static && !tg.restricted;
    if has_ck && !static_only && !tg.full {
        return Err(missing_clustering(t));
    }
    let rows: Vec<Vec<u8>> = if static_only {
        vec![Vec::new()]
    } else {
        tg.rows.clone()
    };
    for key in &tg.keys {
        for ck in &rows {
            for a in &s.assignments {
                apply_assignment(qp, t, key, ck, a, v, p, muts)?;
            }
        }
    }
    conditional(t, &s.if_clause, &tg, static_only, v)
}

fn conditional(
    t: &Arc<TableMetadata>,
    clause: &Option<IfClause>,
    tg: &Targets,
    static_only: bool,
    v: &Values<'_>,
) -> CqlResult<Option<Conditional>> {
    let Some(clause) = clause else {
        return Ok(None);
    };
    if tg.keys.len() != 1 || (!static_only && tg.rows.len() != 1) {
        return Err(CqlError::invalid(
            "IN on the partition key or clustering is not supported with conditional updates",
        ));
    }
    if !static_only && t.clustering().next().is_some() && !tg.full {
        return Err(CqlError::invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions"));
    }
    let cond = match clause {
        IfClause::Exists => Cond::Exists,
        IfClause::Conditions(cs) => Cond::Checks(
            cs.iter()
                .map(|c| check(t, c, v))
                .collect::<CqlResult<_>>()?,
        ),
    };
    Ok(Some(Conditional {
        table: t.clone(),
        key: tg
            .keys
            .first()
            .cloned()
            .ok_or_else(|| CqlError::invalid("no partition"))?,
        clustering: if static_only {
            None
        } else {
            tg.rows.first().cloned()
        },
        cond,
    }))
}

fn check(t: &TableMetadata, c: &Condition, v: &Values<'_>) -> CqlResult<Check> {
    let (i, col) = column(t, &c.column)?;
    if matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
        return Err(CqlError::invalid(format!(
            "PRIMARY KEY column '{}' cannot have IF conditions",
            col.name
        )));
    }
    let (target, ty) = match &c.target {
        ConditionTarget::Column => (CheckTarget::Column, col.cql_type.clone()),
        ConditionTarget::Element(k) => {
            let (kt, vt) = match col.cql_type.unfrozen() {
                CqlType::Map(k, v) => ((**k).clone(), (**v).clone()),
                CqlType::List(e) => (CqlType::Int, (**e).clone()),
                _ => {
                    return Err(CqlError::invalid(format!(
                        "Invalid element access syntax for column {}",
                        col.name
                    )))
                }
            };
            let key = match eval_term(k, &kt, &col.name, v)? {
                Val::Value(x) => x,
                _ => {
                    return Err(CqlError::invalid(format!(
                        "Invalid null value for {} element",
                        col.name
                    )))
                }
            };
            (CheckTarget::Element(key), vt)
        }
        ConditionTarget::Field(f) => {
            let CqlType::Udt { fields, .. } = col.cql_type.unfrozen() else {
                return Err(CqlError::invalid(format!(
                    "Invalid field selection: {} is not a user type",
                    col.name
                )));
            };
            let Some(fi) = fields.iter().position(|(n, _)| n == f) else {
                return Err(CqlError::invalid(format!(
                    "Unknown field {f} for column {}",
                    col.name
                )));
            };
            (CheckTarget::Field(fi), fields[fi].1.clone())
        }
    };
    let opt = |val: Val| match val {
        Val::Value(x) => Some(x),
        _ => None,
    };
    let (op, values, is_in) = match &c.value {
        ConditionValue::Compare(op, term) => {
            (*op, vec![opt(eval_term(term, &ty, &col.name, v)?)], false)
        }
        ConditionValue::In(sibyl_cql::parser::InValues::List(terms)) => (
            Operator::Eq,
            terms
                .iter()
                .map(|x| eval_term(x, &ty, &col.name, v).map(opt))
                .collect::<CqlResult<_>>()?,
            true,
        ),
        ConditionValue::In(sibyl_cql::parser::InValues::Marker(m)) => {
            let lt = CqlType::List(Box::new(ty.clone()));
            let vals = match v.get(m, &lt, &col.name)? {
                Val::Value(CqlValue::List(items)) => items.into_iter().map(Some).collect(),
                _ => Vec::new(),
            };
            (Operator::Eq, vals, true)
        }
    };
    Ok(Check {
        col: i,
        target,
        op,
        values,
        is_in,
    })
}

fn assignment_column(a: &Assignment) -> &str {
    match a {
        Assignment::Set { column, .. }
        | Assignment::Add { column, .. }
        | Assignment::Prepend { column, .. }
        | Assignment::Subtract { column, .. }
        | Assignment::SetElement { column, .. }
        | Assignment::SetField { column, .. } => column,
    }
}

/// The live cells of one column of one row (read before write).
fn current_cells(
    qp: &QueryProcessor,
    t: &TableMetadata,
    key: &DecoratedKey,
    clustering: &[u8],
    col: &ColumnMetadata,
    now: i64,
) -> CqlResult<Vec<Cell>> {
    let table = qp.storage_table(t)?;
    let is_static = col.kind == ColumnKind::Static;
    let cmd = ReadCommand {
        slice: if is_static {
            ClusteringSlice {
                start: sibyl_storage::ClusteringBound::Bottom,
                end: sibyl_storage::ClusteringBound::Bottom,
            }
        } else {
            ClusteringSlice::prefix(Bytes::copy_from_slice(clustering))
        },
        reversed: false,
        limit: None,
        now,
    };
    let Some(part) = table.read(key, &cmd).map_err(CqlError::from_read)? else {
        return Ok(Vec::new());
    };
    let row = if is_static {
        part.static_row
    } else {
        part.rows
            .into_iter()
            .find(|r| r.clustering[..] == *clustering)
    };
    Ok(row
        .map(|r| {
            r.cells
                .into_iter()
                .filter(|c| c.column == col.id && c.path.is_some() && c.is_live(now))
                .collect()
        })
        .unwrap_or_default())
}

fn list_index(term: &Term, col: &ColumnMetadata, v: &Values<'_>) -> CqlResult<i32> {
    match eval_term(term, &CqlType::Int, &format!("idx({})", col.name), v)? {
        Val::Value(CqlValue::Int(i)) => Ok(i),
        _ => Err(CqlError::invalid("Invalid null value for list index")),
    }
}

/// The cell a `c = null` write becomes. For a non-frozen collection or UDT it is the
/// collection-wide deletion, written at `timestamp - 1` exactly as an overwrite's
/// (Cassandra), so elements written at the same timestamp (e.g. in the same batch)
/// survive.
fn null_write(p: &WriteParams, c: &ColumnMetadata) -> Cell {
    let mut cell = p.tombstone(c.id, None);
    if c.cql_type.is_multi_cell() {
        cell.timestamp = cell.timestamp.saturating_sub(1);
    }
    cell
}

/// What a list-index operation does, for Cassandra's message on an empty list.
#[derive(Clone, Copy)]
enum ListOp {
    Set,
    Delete,
}

fn list_element_path(cells: &[Cell], idx: i32, op: ListOp) -> CqlResult<Bytes> {
    if cells.is_empty() {
        return Err(CqlError::invalid(match op {
            ListOp::Set => "Attempted to set an element on a list which is null",
            ListOp::Delete => "Attempted to delete an element from a list which is null",
        }));
    }
    usize::try_from(idx)
        .ok()
        .and_then(|i| cells.get(i))
        .and_then(|c| c.path.clone())
        .ok_or_else(|| {
            CqlError::invalid(format!(
                "List index {idx} out of bound, list has size {}",
                cells.len()
            ))
        })
}

#[allow(clippy::too_many_arguments)]
fn apply_assignment(
    qp: &QueryProcessor,
    t: &TableMetadata,
    key: &DecoratedKey,
    ck: &[u8],
    a: &Assignment,
    v: &Values<'_>,
    p: &WriteParams,
    muts: &mut Muts,
) -> CqlResult<()> {
    let (_, c) = column(t, assignment_column(a))?;
    let is_static = c.kind == ColumnKind::Static;
    let now_micros = qp.clock.now_micros();
    let multi = c.cql_type.is_multi_cell();
    // Cassandra's Operation: a frozen collection is named as such, anything else
    // that is not a collection is a "non collection column".
    let not_collection = || {
        let what = if c.cql_type.is_collection() {
            "frozen collection"
        } else {
            "non collection"
        };
        CqlError::invalid(format!(
            "Invalid operation ({}) for {what} column {}",
            op_text(a),
            c.name
        ))
    };
    match a {
        Assignment::Set { value, .. } => {
            let val = eval_term(value, &c.cql_type, &c.name, v)?;
            let row = muts.row(t, key, ck, is_static);
            match val {
                Val::Unset => {}
                Val::Null => row.add_cell(null_write(p, c)),
                Val::Value(x) => write_value(row, c, &x, p, true, now_micros)?,
            }
        }
        Assignment::Add { value, .. } | Assignment::Prepend { value, .. } => {
            if !multi || matches!(c.cql_type, CqlType::Udt { .. }) {
                return Err(not_collection());
            }
            let prepend = matches!(a, Assignment::Prepend { .. });
            if prepend && !matches!(c.cql_type, CqlType::List(_)) {
                return Err(CqlError::invalid(format!(
                    "Invalid operation ({}) for non list column {}",
                    op_text(a),
                    c.name
                )));
            }
            if let Val::Value(x) = eval_term(value, &c.cql_type, &c.name, v)? {
                let row = muts.row(t, key, ck, is_static);
                mapping::add_elements(row, c, &x, p, now_micros, prepend)?;
            }
        }
        Assignment::Subtract { value, .. } => {
            if !multi {
                return Err(not_collection());
            }
            let remove_ty = match c.cql_type.unfrozen() {
                CqlType::Map(k, _) => CqlType::Set(k.clone()),
                other => other.clone(),
            };
            let Val::Value(x) = eval_term(value, &remove_ty, &c.name, v)? else {
                return Ok(());
            };
            match (c.cql_type.unfrozen(), x) {
                (CqlType::Set(et), CqlValue::Set(items))
                | (CqlType::Map(et, _), CqlValue::Set(items)) => {
                    let row = muts.row(t, key, ck, is_static);
                    for item in items {
                        row.add_cell(p.tombstone(c.id, Some(comparable_path(et, &item)?)));
                    }
                }
                (CqlType::List(et), CqlValue::List(items)) => {
                    let cells = current_cells(qp, t, key, ck, c, p.now)?;
                    let row = muts.row(t, key, ck, is_static);
                    for cell in cells {
                        let Some(bytes) = cell.value_bytes() else {
                            continue;
                        };
                        let Ok(cur) = sibyl_cql::types::deserialize(bytes, et) else {
                            continue;
                        };
                        if items
                            .iter()
                            .any(|i| compare(i, &cur, et) == std::cmp::Ordering::Equal)
                        {
                            if let Some(path) = cell.path {
                                row.add_cell(p.tombstone(c.id, Some(path.to_vec())));
                            }
                        }
                    }
                }
                _ => return Err(not_collection()),
            }
        }
        Assignment::SetElement { key: k, value, .. } => match c.cql_type.unfrozen() {
            CqlType::Map(kt, vt) if multi => {
                let kv = match eval_term(k, kt, &c.name, v)? {
                    Val::Value(x) => x,
                    _ => return Err(CqlError::invalid("Invalid null value for map key")),
                };
                let path = comparable_path(kt, &kv)?;
                let val = eval_term(value, vt, &c.name, v)?;
                let row = muts.row(t, key, ck, is_static);
                match val {
                    Val::Unset => {}
                    Val::Null => row.add_cell(p.tombstone(c.id, Some(path))),
                    Val::Value(x) => row.add_cell(
                        p.cell(
                            c.id,
                            Some(path),
                            sibyl_cql::types::serialize(&x, vt)
                                .map_err(crate::query::values::type_err)?,
                        ),
                    ),
                }
            }
            CqlType::List(et) if multi => {
                let idx = list_index(k, c, v)?;
                let val = eval_term(value, et, &c.name, v)?;
                let cells = current_cells(qp, t, key, ck, c, p.now)?;
                let path = list_element_path(&cells, idx, ListOp::Set)?;
                let row = muts.row(t, key, ck, is_static);
                match val {
                    Val::Unset => {}
                    Val::Null => row.add_cell(p.tombstone(c.id, Some(path.to_vec()))),
                    Val::Value(x) => row.add_cell(
                        p.cell(
                            c.id,
                            Some(path.to_vec()),
                            sibyl_cql::types::serialize(&x, et)
                                .map_err(crate::query::values::type_err)?,
                        ),
                    ),
                }
            }
            CqlType::Map(..) | CqlType::List(_) => return Err(not_collection()),
            _ => {
                return Err(CqlError::invalid(format!(
                    "Invalid operation ({}) for non-map/list column {}",
                    op_text(a),
                    c.name
                )))
            }
        },
        Assignment::SetField { field, value, .. } => {
            let CqlType::Udt { fields, .. } = &c.cql_type else {
                let what = if matches!(c.cql_type.unfrozen(), CqlType::Udt { .. }) {
                    "frozen UDT"
                } else {
                    "non-UDT"
                };
                return Err(CqlError::invalid(format!(
                    "Invalid operation ({}) for {what} column {}",
                    op_text(a),
                    c.name
                )));
            };
            let Some(fi) = fields.iter().position(|(n, _)| n == field) else {
                return Err(CqlError::invalid(format!(
                    "UDT column {} does not have a field named {field}",
                    c.name
                )));
            };
            let ft = &fields[fi].1;
            let val = eval_term(value, ft, &c.name, v)?;
            let row = muts.row(t, key, ck, is_static);
            match val {
                Val::Unset => {}
                Val::Null => row.add_cell(p.tombstone(c.id, Some(field_path(fi)?))),
                Val::Value(x) => row.add_cell(p.cell(
                    c.id,
                    Some(field_path(fi)?),
                    sibyl_cql::types::serialize(&x, ft).map_err(crate::query::values::type_err)?,
                )),
            }
        }
    }
    Ok(())
}

fn op_text(a: &Assignment) -> String {
    match a {
        Assignment::Set { column, value } => format!("{column} = {value}"),
        Assignment::Add { column, value } => format!("{column} = {column} + {value}"),
        Assignment::Prepend { column, value } => format!("{column} = {value} + {column}"),
        Assignment::Subtract { column, value } => format!("{column} = {column} - {value}"),
        Assignment::SetElement { column, key, value } => format!("{column}[{key}] = {value}"),
        Assignment::SetField {
            column,
            field,
            value,
        } => format!("{column}.{field} = {value}"),
    }
}

/// Plans a DELETE into `muts`.
pub fn plan_delete(
    qp: &QueryProcessor,
    t: &Arc<TableMetadata>,
    s: &DeleteStatement,
    v: &Values<'_>,
    p: &WriteParams,
    muts: &mut Muts,
) -> CqlResult<Option<Conditional>> {
    reject_counters(t)?;
    let tg = targets(t, &s.where_clause, v)?;
    let has_ck = t.clustering().next().is_some();
    if s.targets.is_empty() {
        let del = DeletionTime::new(p.timestamp, p.now);
        if s.if_clause.is_some() && has_ck && !tg.full {
            return Err(CqlError::invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions"));
        }
        for key in &tg.keys {
            if !tg.restricted {
                let part = muts.partition(t, key);
                part.deletion = part.deletion.max(del);
            } else if tg.full {
                for ck in &tg.rows {
                    let row = muts.row(t, key, ck, false);
                    row.deletion = row.deletion.max(del);
                }
            } else {
                for slice in &tg.slices {
                    muts.partition(t, key)
                        .range_tombstones
                        .push(RangeTombstone {
                            slice: slice.clone(),
                            deletion: del,
                        });
                }
            }
        }
        return conditional(t, &s.if_clause, &tg, false, v);
    }
    let mut all_static = true;
    for target in &s.targets {
        let name = match target {
            DeleteTarget::Column(n)
            | DeleteTarget::Element { column: n, .. }
            | DeleteTarget::Field { column: n, .. } => n,
        };
        let (_, c) = column(t, name)?;
        if matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            return Err(CqlError::invalid(format!(
                "Invalid identifier {} for deletion (should not be a PRIMARY KEY part)",
                c.name
            )));
        }
        all_static &= c.kind == ColumnKind::Static;
    }
    let static_only = has_ck && all_static && !tg.restricted;
    if has_ck && !static_only && !tg.full {
        return Err(CqlError::invalid(format!(
            "Range deletions are not supported for specific columns; {}",
            missing_clustering(t)
        )));
    }
    let rows: Vec<Vec<u8>> = if static_only {
        vec![Vec::new()]
    } else {
        tg.rows.clone()
    };
    for key in &tg.keys {
        for ck in &rows {
            for target in &s.targets {
                delete_target(qp, t, key, ck, target, v, p, muts)?;
            }
        }
    }
    conditional(t, &s.if_clause, &tg, static_only, v)
}

#[allow(clippy::too_many_arguments)]
fn delete_target(
    qp: &QueryProcessor,
    t: &TableMetadata,
    key: &DecoratedKey,
    ck: &[u8],
    target: &DeleteTarget,
    v: &Values<'_>,
    p: &WriteParams,
    muts: &mut Muts,
) -> CqlResult<()> {
    match target {
        DeleteTarget::Column(name) => {
            let (_, c) = column(t, name)?;
            muts.row(t, key, ck, c.kind == ColumnKind::Static)
                .add_cell(p.tombstone(c.id, None));
        }
        DeleteTarget::Element {
            column: name,
            key: k,
        } => {
            let (_, c) = column(t, name)?;
            let is_static = c.kind == ColumnKind::Static;
            match c.cql_type.unfrozen() {
                CqlType::Map(kt, _) | CqlType::Set(kt) if c.cql_type.is_multi_cell() => {
                    let Val::Value(kv) = eval_term(k, kt, &c.name, v)? else {
                        return Err(CqlError::invalid("Invalid null value for map key"));
                    };
                    muts.row(t, key, ck, is_static)
                        .add_cell(p.tombstone(c.id, Some(comparable_path(kt, &kv)?)));
                }
                CqlType::List(_) if c.cql_type.is_multi_cell() => {
                    let idx = list_index(k, c, v)?;
                    let cells = current_cells(qp, t, key, ck, c, p.now)?;
                    let path = list_element_path(&cells, idx, ListOp::Delete)?;
                    muts.row(t, key, ck, is_static)
                        .add_cell(p.tombstone(c.id, Some(path.to_vec())));
                }
                _ => {
                    return Err(CqlError::invalid(format!(
                        "Invalid operation ({}[...]) for non-map/list column {}",
                        c.name, c.name
                    )))
                }
            }
        }
        DeleteTarget::Field {
            column: name,
            field,
        } => {
            let (_, c) = column(t, name)?;
            let CqlType::Udt { fields, .. } = &c.cql_type else {
                return Err(CqlError::invalid(format!(
                    "Invalid field deletion for non-UDT column {}",
                    c.name
                )));
            };
            let Some(fi) = fields.iter().position(|(n, _)| n == field) else {
                return Err(CqlError::invalid(format!(
                    "UDT column {} does not have a field named {field}",
                    c.name
                )));
            };
            muts.row(t, key, ck, c.kind == ColumnKind::Static)
                .add_cell(p.tombstone(c.id, Some(field_path(fi)?)));
        }
    }
    Ok(())
}

/// Records bind receivers of a modification statement.
pub fn bind_specs(t: &TableMetadata, stmt: &Statement, sink: &mut SpecSink) {
    let using = |u: &Using, sink: &mut SpecSink| {
        if let Some(x) = &u.ttl {
            sink.term(x, &CqlType::Int, "[ttl]");
        }
        if let Some(x) = &u.timestamp {
            sink.term(x, &CqlType::Bigint, "[timestamp]");
        }
    };
    match stmt {
        Statement::Insert(s) => {
            if let InsertValues::Values { columns, values } = &s.values {
                for (n, x) in columns.iter().zip(values) {
                    if let Some(c) = t.column(n) {
                        sink.term(x, &c.cql_type, &c.name);
                    }
                }
            } else if let InsertValues::Json { json, .. } = &s.values {
                sink.term(json, &CqlType::Text, "[json]");
            }
            using(&s.using, sink);
        }
        Statement::Update(s) => {
            using(&s.using, sink);
            for a in &s.assignments {
                let Some(c) = t.column(assignment_column(a)) else {
                    continue;
                };
                match a {
                    Assignment::Set { value, .. }
                    | Assignment::Add { value, .. }
                    | Assignment::Prepend { value, .. } => sink.term(value, &c.cql_type, &c.name),
                    Assignment::Subtract { value, .. } => {
                        let ty = match c.cql_type.unfrozen() {
                            CqlType::Map(k, _) => CqlType::Set(k.clone()),
                            other => other.clone(),
                        };
                        sink.term(value, &ty, &c.name)
                    }
                    Assignment::SetElement { key, value, .. } => match c.cql_type.unfrozen() {
                        CqlType::Map(k, vt) => {
                            sink.term(key, k, &format!("key({})", c.name));
                            sink.term(value, vt, &format!("value({})", c.name));
                        }
                        CqlType::List(e) => {
                            sink.term(key, &CqlType::Int, &format!("idx({})", c.name));
                            sink.term(value, e, &format!("value({})", c.name));
                        }
                        _ => {}
                    },
                    Assignment::SetField { field, value, .. } => {
                        if let CqlType::Udt { fields, .. } = c.cql_type.unfrozen() {
                            if let Some((_, ft)) = fields.iter().find(|(n, _)| n == field) {
                                sink.term(value, ft, field);
                            }
                        }
                    }
                }
            }
            crate::query::restrictions::bind_specs(t, &s.where_clause, sink);
            condition_specs(t, &s.if_clause, sink);
        }
        Statement::Delete(s) => {
            if let Some(x) = &s.timestamp {
                sink.term(x, &CqlType::Bigint, "[timestamp]");
            }
            for target in &s.targets {
                if let DeleteTarget::Element { column, key } = target {
                    if let Some(c) = t.column(column) {
                        match c.cql_type.unfrozen() {
                            CqlType::Map(k, _) | CqlType::Set(k) => {
                                sink.term(key, k, &format!("key({})", c.name))
                            }
                            CqlType::List(_) => {
                                sink.term(key, &CqlType::Int, &format!("idx({})", c.name))
                            }
                            _ => {}
                        }
                    }
                }
            }
            crate::query::restrictions::bind_specs(t, &s.where_clause, sink);
            condition_specs(t, &s.if_clause, sink);
        }
        _ => {}
    }
}

fn condition_specs(t: &TableMetadata, clause: &Option<IfClause>, sink: &mut SpecSink) {
    let Some(IfClause::Conditions(cs)) = clause else {
        return;
    };
    for c in cs {
        let Some(col) = t.column(&c.column) else {
            continue;
        };
        let ty = match (&c.target, col.cql_type.unfrozen()) {
            (ConditionTarget::Column, _) => col.cql_type.clone(),
            (ConditionTarget::Element(k), CqlType::Map(kt, vt)) => {
                sink.term(k, kt, &col.name);
                (**vt).clone()
            }
            (ConditionTarget::Element(k), CqlType::List(et)) => {
                sink.term(k, &CqlType::Int, &col.name);
                (**et).clone()
            }
            (ConditionTarget::Field(f), CqlType::Udt { fields, .. }) => {
                match fields.iter().find(|(n, _)| n == f) {
                    Some((_, ft)) => ft.clone(),
                    None => continue,
                }
            }
            _ => continue,
        };
        match &c.value {
            ConditionValue::Compare(_, term) => sink.term(term, &ty, &col.name),
            ConditionValue::In(sibyl_cql::parser::InValues::List(terms)) => {
                terms.iter().for_each(|x| sink.term(x, &ty, &col.name))
            }
            ConditionValue::In(sibyl_cql::parser::InValues::Marker(m)) => {
                sink.marker(m, &CqlType::List(Box::new(ty)), &col.name)
            }
        }
    }
}

/// Plans one INSERT/UPDATE/DELETE (or a batch child).
pub fn plan(
    qp: &QueryProcessor,
    stmt: &Statement,
    ks: Option<&str>,
    v: &Values<'_>,
    default_ts: i64,
    muts: &mut Muts,
) -> CqlResult<Option<Conditional>> {
    // Cassandra: a conditional statement takes its timestamp from Paxos, never the client.
    let no_custom_timestamp = |cond: Option<Conditional>, ts: &Option<Term>| match (cond, ts) {
        (Some(_), Some(_)) => Err(CqlError::invalid(
            "Cannot provide custom timestamp for conditional updates",
        )),
        (cond, _) => Ok(cond),
    };
    match stmt {
        Statement::Insert(s) => {
            let t = qp.table(&s.table, ks)?;
            let p = write_params(qp, &t, &s.using, v, default_ts)?;
            no_custom_timestamp(plan_insert(qp, &t, s, v, &p, muts)?, &s.using.timestamp)
        }
        Statement::Update(s) => {
            let t = qp.table(&s.table, ks)?;
            let p = write_params(qp, &t, &s.using, v, default_ts)?;
            no_custom_timestamp(plan_update(qp, &t, s, v, &p, muts)?, &s.using.timestamp)
        }
        Statement::Delete(s) => {
            let t = qp.table(&s.table, ks)?;
            let using = Using {
                ttl: None,
                timestamp: s.timestamp.clone(),
            };
            let mut p = write_params(qp, &t, &using, v, default_ts)?;
            p.ttl = 0;
            no_custom_timestamp(plan_delete(qp, &t, s, v, &p, muts)?, &s.timestamp)
        }
        _ => Err(CqlError::invalid(
            "Only INSERT, UPDATE and DELETE statements are allowed in a batch",
        )),
    }
}

/// Applies planned mutations.
pub fn apply(qp: &QueryProcessor, muts: Muts) -> CqlResult<()> {
    for m in muts.into_mutations() {
        let table = qp
            .storage
            .table(m.table)
            .map_err(|e| CqlError::invalid(format!("unconfigured table: {e}")))?;
        table.apply(&m).map_err(CqlError::from_write)?;
    }
    Ok(())
}

/// Runs conditional statements: under the partition's lock, checks every condition
/// against the current row and applies `muts` only if all hold.
pub fn apply_conditional(
    qp: &QueryProcessor,
    conds: Vec<Conditional>,
    muts: Muts,
) -> CqlResult<ResultMessage> {
    let Some(first) = conds.first() else {
        apply(qp, muts)?;
        return Ok(ResultMessage::Void);
    };
    let t = first.table.clone();
    let key = first.key.clone();
    // Cassandra checks tables first, then partitions, with a message for each.
    if conds.iter().any(|c| c.table.id != t.id)
        || muts.partitions().any(|(tid, _)| *tid != t.storage_id())
    {
        return Err(CqlError::invalid(
            "Batch with conditions cannot span multiple tables",
        ));
    }
    if conds.iter().any(|c| c.key != key) || muts.partitions().any(|(_, k)| *k != key) {
        return Err(CqlError::invalid(
            "Batch with conditions cannot span multiple partitions",
        ));
    }
    let _guard = qp.lock_partition(&key);
    let now = qp.clock.now_seconds();
    let mut applied = true;
    let mut shown: Vec<usize> = Vec::new();
    let mut current_row: Option<Vec<CellInfo>> = None;
    for c in &conds {
        let row = read_row(qp, &t, &key, c.clustering.as_deref(), now)?;
        let exists = row.as_ref().is_some_and(|r| r.1);
        let cells = row.map(|r| r.0);
        let ok = match &c.cond {
            Cond::NotExists => {
                if exists {
                    shown.extend(0..t.columns.len());
                }
                !exists
            }
            Cond::Exists => exists,
            Cond::Checks(checks) => {
                let mut all = true;
                for ch in checks {
                    if !shown.contains(&ch.col) {
                        shown.push(ch.col);
                    }
                    all &= check_holds(&t, ch, cells.as_deref());
                }
                all
            }
        };
        applied &= ok;
        if current_row.is_none() {
            current_row = cells;
        }
    }
    if applied {
        apply(qp, muts)?;
    }
    let mut columns = vec![ColumnSpec {
        keyspace: t.keyspace.clone(),
        table: t.name.clone(),
        name: "[applied]".into(),
        cql_type: CqlType::Boolean,
    }];
    let mut row = vec![Some(vec![u8::from(applied)])];
    if !applied {
        if let Some(cur) = &current_row {
            for &i in &shown {
                let Some(col) = t.columns.get(i) else {
                    continue;
                };
                columns.push(ColumnSpec {
                    keyspace: t.keyspace.clone(),
                    table: t.name.clone(),
                    name: col.name.clone(),
                    cql_type: col.cql_type.clone(),
                });
                let val = cur.get(i).and_then(|c| c.value.as_ref());
                row.push(match val {
                    Some(x) => Some(
                        sibyl_cql::types::serialize(x, &col.cql_type)
                            .map_err(crate::query::values::type_err)?,
                    ),
                    None => None,
                });
            }
        }
    }
    Ok(ResultMessage::Rows(Rows {
        columns,
        rows: vec![row],
        paging_state: None,
        warnings: Vec::new(),
    }))
}

/// The current values of a row (with its partition's static columns and key values)
/// and whether the row exists; `None` when the partition has nothing live.
fn read_row(
    qp: &QueryProcessor,
    t: &TableMetadata,
    key: &DecoratedKey,
    clustering: Option<&[u8]>,
    now: i64,
) -> CqlResult<Option<(Vec<CellInfo>, bool)>> {
    let table = qp.storage_table(t)?;
    let slice = match clustering {
        Some(c) => ClusteringSlice::prefix(Bytes::copy_from_slice(c)),
        None => ClusteringSlice {
            start: sibyl_storage::ClusteringBound::Bottom,
            end: sibyl_storage::ClusteringBound::Bottom,
        },
    };
    let cmd = ReadCommand {
        slice,
        reversed: false,
        limit: None,
        now,
    };
    let Some(part) = table.read(key, &cmd).map_err(CqlError::from_read)? else {
        return Ok(None);
    };
    let idx = ColumnIndex::new(t);
    let mut cells = vec![CellInfo::default(); t.columns.len()];
    let mut exists = false;
    if let Some(mut s) = part.static_row {
        s.retain_live(now);
        if clustering.is_none() {
            exists = s.has_live_data(now);
        }
        mapping::decode_row(t, &idx, &s, now, &mut cells)?;
    }
    if let Some(c) = clustering {
        if let Some(mut r) = part.rows.into_iter().find(|r| r.clustering[..] == *c) {
            r.retain_live(now);
            exists = r.has_live_data(now);
            if exists {
                mapping::decode_row(t, &idx, &r, now, &mut cells)?;
                let ck = mapping::decode_clustering(t, c)?;
                for (ci, v) in t
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.kind == ColumnKind::Clustering)
                    .map(|(i, _)| i)
                    .zip(ck)
                {
                    if let Some(slot) = cells.get_mut(ci) {
                        slot.value = Some(v);
                    }
                }
            }
        }
    }
    if exists {
        let pk = mapping::decode_partition_key(t, &key.key)?;
        for (ci, v) in t
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ColumnKind::PartitionKey)
            .map(|(i, _)| i)
            .zip(pk)
        {
            if let Some(slot) = cells.get_mut(ci) {
                slot.value = Some(v);
            }
        }
    }
    Ok(Some((cells, exists)))
}

fn check_holds(t: &TableMetadata, ch: &Check, row: Option<&[CellInfo]>) -> bool {
    let Some(col) = t.columns.get(ch.col) else {
        return false;
    };
    let whole = row
        .and_then(|r| r.get(ch.col))
        .and_then(|c| c.value.clone());
    let (current, ty): (Option<CqlValue>, CqlType) = match (&ch.target, col.cql_type.unfrozen()) {
        (CheckTarget::Column, _) => (whole, col.cql_type.clone()),
        (CheckTarget::Element(k), CqlType::Map(kt, vt)) => (
            match whole {
                Some(CqlValue::Map(entries)) => entries
                    .into_iter()
                    .find(|(ek, _)| compare(ek, k, kt) == std::cmp::Ordering::Equal)
                    .map(|(_, v)| v),
                _ => None,
            },
            (**vt).clone(),
        ),
        (CheckTarget::Element(CqlValue::Int(i)), CqlType::List(et)) => (
            match whole {
                Some(CqlValue::List(items)) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| items.into_iter().nth(i)),
                _ => None,
            },
            (**et).clone(),
        ),
        (CheckTarget::Field(fi), CqlType::Udt { fields, .. }) => (
            match whole {
                Some(CqlValue::Udt(vals)) => vals.into_iter().nth(*fi).flatten(),
                _ => None,
            },
            fields
                .get(*fi)
                .map(|f| f.1.clone())
                .unwrap_or(CqlType::Blob),
        ),
        _ => (None, col.cql_type.clone()),
    };
    let holds = |expected: &Option<CqlValue>, op: Operator| -> bool {
        match (current.as_ref(), expected.as_ref()) {
            (None, None) => matches!(op, Operator::Eq),
            (Some(_), None) => matches!(op, Operator::Neq),
            (None, Some(_)) => matches!(op, Operator::Neq),
            (Some(a), Some(b)) => {
                let o = compare(a, b, &ty);
                match op {
                    Operator::Eq => o.is_eq(),
                    Operator::Neq => o.is_ne(),
                    Operator::Lt => o.is_lt(),
                    Operator::Lte => o.is_le(),
                    Operator::Gt => o.is_gt(),
                    Operator::Gte => o.is_ge(),
                    _ => false,
                }
            }
        }
    };
    if ch.is_in {
        ch.values.iter().any(|e| holds(e, Operator::Eq))
    } else {
        ch.values.first().is_some_and(|e| holds(e, ch.op))
    }
}

/// Executes a batch of (statement, values) pairs with one timestamp.
pub fn execute_batch(
    qp: &QueryProcessor,
    batch_using: Option<&Using>,
    items: &[(&Statement, Option<&str>, Values<'_>)],
    default_ts: i64,
) -> CqlResult<ResultMessage> {
    let mut ts = default_ts;
    if let (Some(u), Some((_, _, v))) = (batch_using, items.first()) {
        if u.ttl.is_some() {
            return Err(CqlError::invalid(
                "Global TTL on the BATCH statement is not supported.",
            ));
        }
        if let Some(term) = &u.timestamp {
            if let Val::Value(CqlValue::Bigint(x)) =
                eval_term(term, &CqlType::Bigint, "[timestamp]", v)?
            {
                ts = x;
            }
        }
    }
    let mut muts = Muts::default();
    let mut conds = Vec::new();
    for (stmt, ks, v) in items {
        if let Some(c) = plan(qp, stmt, *ks, v, ts, &mut muts)? {
            conds.push(c);
        }
    }
    if conds.is_empty() {
        apply(qp, muts)?;
        return Ok(ResultMessage::Void);
    }
    apply_conditional(qp, conds, muts)
}

/// The statement list of a parsed batch.
pub fn batch_children(b: &BatchStatement) -> &[Statement] {
    &b.statements
}
