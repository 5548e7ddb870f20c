//! SELECT: reading partitions page by page and shaping rows.
//!
//! A SELECT walks partitions in ring order (or the sorted key list of `k IN (...)`),
//! and inside each partition its clustering slices in clustering order (reversed for
//! `ORDER BY` against the table's order). Rows are read from storage in chunks of
//! [`READ_CHUNK_ROWS`], so a wide partition is never materialised; each row is
//! filtered (`ALLOW FILTERING`), counted against `LIMIT`/`PER PARTITION LIMIT`, and
//! either turned into a result row or folded into aggregates.
//!
//! Paging: a page ends after `page_size` rows, or once [`PAGE_WORK_CELLS_MAX`] cells
//! and tombstones were scanned (a deliberate departure from Cassandra, which fails the
//! query past its tombstone threshold: we return fewer rows and a paging state). The
//! paging state ([`crate::query::paging`]) is the last position *scanned*, so every
//! page makes progress even if it returns nothing. Aggregates without GROUP BY page
//! internally and return one row.
//!
//! Static columns: a partition with a live static row but no live rows yields one row
//! with null clustering and regular columns, as in Cassandra, when the query does not
//! restrict clustering columns.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use sibyl_cql::parser::{
    CqlTypeExpr, NativeType, Ordering as Order, SelectStatement, Selectable, Selection, Term,
};
use sibyl_cql::types::{compare, serialize, to_json, CqlType, CqlValue, Varint};
use sibyl_storage::{ClusteringBound, ClusteringSlice, DecoratedKey, ReadCommand, Table};

use crate::error::{CqlError, CqlResult};
use crate::query::functions::{self, ArgKind, NativeFunction};
use crate::query::mapping::{
    self, column, decode_clustering, decode_partition_key, CellInfo, ColumnIndex,
};
use crate::query::paging::PagingState;
use crate::query::restrictions::{analyze, row_matches, KeySel, Where};
use crate::query::result::{ColumnSpec, QueryOptions, ResultMessage, Rows};
use crate::query::values::{eval_term, type_err, SpecSink, Val, Values};
use crate::query::QueryProcessor;
use crate::schema::model::{ColumnKind, TableMetadata};

/// Rows asked of storage per read: bounds the memory one read of a wide partition
/// takes while keeping the number of reads per page small.
pub const READ_CHUNK_ROWS: usize = 512;

/// Cells and tombstones one page may scan before it ends early with a paging state
/// (Cassandra's tombstone_failure_threshold is 100 000 tombstones; we count live cells
/// too and return a short page instead of failing).
pub const PAGE_WORK_CELLS_MAX: usize = 100_000;

/// Partition keys fetched per step of a ring scan.
pub const SCAN_KEYS_BATCH: usize = 256;

/// Rows a SELECT without paging may return: the result is held in memory, so this
/// bounds it; clients with more data must page (drivers do by default).
pub const UNPAGED_ROWS_MAX: usize = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum AggKind {
    Count,
    Min,
    Max,
    Sum,
    Avg,
}

#[derive(Clone, Debug)]
enum Sel {
    Col(usize),
    WriteTime(usize),
    Ttl(usize),
    Token,
    CountAll,
    Agg(AggKind, Box<Sel>),
    Cast(Box<Sel>, CqlType),
    ToJson(Box<Sel>),
    Field(Box<Sel>, usize),
    /// A native scalar function over its arguments.
    Func(Box<NativeFunction>, Vec<Sel>),
    /// A value fixed for the statement (a literal argument, `now()`).
    Const(Option<CqlValue>, CqlType),
    /// `m[key]` / `s[elem]`: the key is known once values are bound (`None` at PREPARE).
    Element(Box<Sel>, Option<CqlValue>),
}

/// One output column.
#[derive(Clone, Debug)]
struct Out {
    sel: Sel,
    name: String,
    ty: CqlType,
}

fn native(t: &CqlTypeExpr) -> Option<CqlType> {
    let n = match t {
        CqlTypeExpr::Native(n) => *n,
        _ => return None,
    };
    Some(match n {
        NativeType::Ascii => CqlType::Ascii,
        NativeType::Bigint => CqlType::Bigint,
        NativeType::Blob => CqlType::Blob,
        NativeType::Boolean => CqlType::Boolean,
        NativeType::Counter => CqlType::Counter,
        NativeType::Date => CqlType::Date,
        NativeType::Decimal => CqlType::Decimal,
        NativeType::Double => CqlType::Double,
        NativeType::Duration => CqlType::Duration,
        NativeType::Float => CqlType::Float,
        NativeType::Inet => CqlType::Inet,
        NativeType::Int => CqlType::Int,
        NativeType::Smallint => CqlType::Smallint,
        NativeType::Text | NativeType::Varchar => CqlType::Text,
        NativeType::Time => CqlType::Time,
        NativeType::Timestamp => CqlType::Timestamp,
        NativeType::Timeuuid => CqlType::Timeuuid,
        NativeType::Tinyint => CqlType::Tinyint,
        NativeType::Uuid => CqlType::Uuid,
        NativeType::Varint => CqlType::Varint,
    })
}

/// Compiles one selector. `v` holds the bound values at execution and is `None` at
/// PREPARE, where only names and types are needed.
fn compile_one(
    t: &TableMetadata,
    s: &Selectable,
    v: Option<&Values<'_>>,
    depth: usize,
) -> CqlResult<Out> {
    if depth > crate::query::values::TERM_NESTING_MAX {
        return Err(CqlError::invalid("Selector nested too deeply"));
    }
    let d = depth + 1;
    Ok(match s {
        Selectable::Column(name) => {
            let (i, c) = column(t, name)?;
            Out {
                sel: Sel::Col(i),
                name: c.name.clone(),
                ty: c.cql_type.clone(),
            }
        }
        Selectable::CountStar => Out {
            sel: Sel::CountAll,
            name: "count".into(),
            ty: CqlType::Bigint,
        },
        Selectable::WriteTime(inner) | Selectable::Ttl(inner) => {
            let Selectable::Column(name) = inner.as_ref() else {
                return Err(CqlError::invalid("writetime() and ttl() take a column"));
            };
            let (i, c) = column(t, name)?;
            let is_wt = matches!(s, Selectable::WriteTime(_));
            let fname = if is_wt { "writetime" } else { "ttl" };
            if matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                // Cassandra 4 names the function `writeTime` in this message only.
                let shown = if is_wt { "writeTime" } else { "ttl" };
                return Err(CqlError::invalid(format!(
                    "Cannot use selection function {shown} on PRIMARY KEY part {}",
                    c.name
                )));
            }
            if c.cql_type.is_multi_cell() {
                return Err(CqlError::invalid(format!(
                    "Cannot use selection function {fname} on collections"
                )));
            }
            Out {
                sel: if is_wt {
                    Sel::WriteTime(i)
                } else {
                    Sel::Ttl(i)
                },
                name: format!("{fname}({})", c.name),
                ty: if is_wt { CqlType::Bigint } else { CqlType::Int },
            }
        }
        Selectable::MaxWriteTime(_) => {
            return Err(CqlError::invalid("maxwritetime() is not supported"))
        }
        Selectable::Cast { selectable, ty } => {
            let inner = compile_one(t, selectable, v, d)?;
            let target =
                native(ty).ok_or_else(|| CqlError::invalid("CAST only supports native types"))?;
            Out {
                name: format!("cast({} as {})", inner.name, target),
                sel: Sel::Cast(Box::new(inner.sel), target.clone()),
                ty: target,
            }
        }
        Selectable::Field { selectable, field } => {
            let inner = compile_one(t, selectable, v, d)?;
            let CqlType::Udt { fields, .. } = inner.ty.unfrozen() else {
                return Err(CqlError::invalid(format!(
                    "Invalid field selection: {} of type {} is not a user type",
                    inner.name, inner.ty
                )));
            };
            let Some(fi) = fields.iter().position(|(n, _)| n == field) else {
                return Err(CqlError::invalid(format!(
                    "{} of type {} has no field {field}",
                    inner.name, inner.ty
                )));
            };
            Out {
                name: format!("{}.{field}", inner.name),
                ty: fields[fi].1.clone(),
                sel: Sel::Field(Box::new(inner.sel), fi),
            }
        }
        Selectable::FunctionCall { name, args } => {
            let fname = name.name.to_ascii_lowercase();
            match (fname.as_str(), args.as_slice()) {
                ("token", _) => {
                    let pk: Vec<&str> = t.partition_key().map(|c| c.name.as_str()).collect();
                    let given: Vec<&str> = args
                        .iter()
                        .filter_map(|a| {
                            if let Selectable::Column(n) = a {
                                Some(n.as_str())
                            } else {
                                None
                            }
                        })
                        .collect();
                    if given != pk {
                        return Err(CqlError::invalid(format!(
                            "Invalid arguments for function token: expected the partition key columns ({})",
                            pk.join(", ")
                        )));
                    }
                    Out {
                        sel: Sel::Token,
                        name: format!("system.token({})", pk.join(", ")),
                        ty: CqlType::Bigint,
                    }
                }
                ("count", [Selectable::Term(_)]) => Out {
                    sel: Sel::CountAll,
                    name: "count".into(),
                    ty: CqlType::Bigint,
                },
                ("count" | "min" | "max" | "sum" | "avg", [arg]) => {
                    let inner = compile_one(t, arg, v, d)?;
                    let kind = match fname.as_str() {
                        "count" => AggKind::Count,
                        "min" => AggKind::Min,
                        "max" => AggKind::Max,
                        "sum" => AggKind::Sum,
                        _ => AggKind::Avg,
                    };
                    let ty = match kind {
                        AggKind::Count => CqlType::Bigint,
                        AggKind::Sum | AggKind::Avg => {
                            if !is_numeric(&inner.ty) {
                                return Err(CqlError::invalid(format!(
                                    "Invalid call to function {fname}, none of its type signatures match (type {})",
                                    inner.ty
                                )));
                            }
                            inner.ty.clone()
                        }
                        _ => inner.ty.clone(),
                    };
                    Out {
                        name: format!("system.{fname}({})", inner.name),
                        sel: Sel::Agg(kind, Box::new(inner.sel)),
                        ty,
                    }
                }
                ("tojson", [arg]) => {
                    let inner = compile_one(t, arg, v, d)?;
                    Out {
                        name: format!("system.tojson({})", inner.name),
                        sel: Sel::ToJson(Box::new(inner.sel)),
                        ty: CqlType::Text,
                    }
                }
                _ => native_call(t, &fname, args, v, d)?,
            }
        }
        Selectable::Element { selectable, key } => {
            let inner = compile_one(t, selectable, v, d)?;
            let (key_ty, ty) = match inner.ty.unfrozen() {
                CqlType::Map(k, vt) => ((**k).clone(), (**vt).clone()),
                CqlType::Set(k) => ((**k).clone(), (**k).clone()),
                CqlType::List(_) => {
                    return Err(CqlError::invalid(format!(
                        "Element selection is only allowed on sets and maps, but {} is a list",
                        inner.name
                    )))
                }
                _ => {
                    return Err(CqlError::invalid(format!(
                        "Invalid element selection: {} is of type {} is not a collection",
                        inner.name, inner.ty
                    )))
                }
            };
            let key_value = match v {
                Some(v) => match eval_term(key, &key_ty, &inner.name, v)? {
                    Val::Value(x) => Some(x),
                    Val::Null | Val::Unset => {
                        return Err(CqlError::invalid(format!(
                            "Invalid null value for element selection on {}",
                            inner.name
                        )))
                    }
                },
                None => None,
            };
            Out {
                name: format!("{}[{key}]", inner.name),
                sel: Sel::Element(Box::new(inner.sel), key_value),
                ty,
            }
        }
        Selectable::Term(term) => {
            // A bare literal has no receiver type; Cassandra infers one for constants.
            let ty = literal_type(term).ok_or_else(|| {
                CqlError::invalid(format!("Cannot infer type for term {term} in selection clause (try using a cast to force a type)"))
            })?;
            let value = match v {
                Some(v) => match eval_term(term, &ty, &term.to_string(), v)? {
                    Val::Value(x) => Some(x),
                    _ => None,
                },
                None => None,
            };
            Out {
                name: term.to_string(),
                sel: Sel::Const(value, ty.clone()),
                ty,
            }
        }
        Selectable::Slice { .. } => {
            return Err(CqlError::invalid(
                "Collection slice selection is not supported yet",
            ));
        }
    })
}

/// The type Cassandra infers for a literal selected on its own (`SELECT 1, 'a'`).
fn literal_type(term: &Term) -> Option<CqlType> {
    use sibyl_cql::parser::ConstantKind as K;
    match term {
        Term::Constant(c) => Some(match c.kind {
            K::String => CqlType::Text,
            K::Integer => CqlType::Int,
            K::Float | K::NaN | K::Infinity => CqlType::Double,
            K::Boolean => CqlType::Boolean,
            K::Uuid => CqlType::Uuid,
            K::Hex => CqlType::Blob,
            K::Duration => CqlType::Duration,
            K::Null => return None,
        }),
        Term::Cast { ty, .. } => native(ty),
        _ => None,
    }
}

/// A call of a native scalar function (`intAsBlob(v)`, `toDate(tu)`, `now()`).
fn native_call(
    t: &TableMetadata,
    fname: &str,
    args: &[Selectable],
    v: Option<&Values<'_>>,
    d: usize,
) -> CqlResult<Out> {
    // Arguments that are selectors have their type; literal and bind-marker
    // arguments take the parameter's type once the overload is chosen.
    let mut compiled: Vec<Option<Out>> = Vec::with_capacity(args.len());
    for a in args {
        compiled.push(match a {
            Selectable::Term(_) => None,
            other => Some(compile_one(t, other, v, d)?),
        });
    }
    let kinds: Vec<ArgKind> = compiled
        .iter()
        .zip(args)
        .map(|(o, a)| match (o, a) {
            (Some(o), _) => ArgKind::Typed(o.ty.clone()),
            (None, Selectable::Term(term)) => ArgKind::of_term(term),
            (None, _) => ArgKind::Any,
        })
        .collect();
    let f = functions::resolve(fname, &kinds)?;
    let mut sels = Vec::with_capacity(args.len());
    let mut names = Vec::with_capacity(args.len());
    for ((o, a), pty) in compiled.into_iter().zip(args).zip(&f.params) {
        match (o, a) {
            (Some(o), _) => {
                names.push(o.name);
                sels.push(o.sel);
            }
            // Only terms were left uncompiled above.
            (None, other) => {
                let Selectable::Term(term) = other else {
                    return Err(CqlError::invalid("Invalid function argument"));
                };
                names.push(term.to_string());
                let value = match v {
                    Some(v) => match eval_term(term, pty, &f.qualified(), v)? {
                        Val::Value(x) => Some(x),
                        _ => None,
                    },
                    None => None,
                };
                sels.push(Sel::Const(value, pty.clone()));
            }
        }
    }
    let name = format!("{}({})", f.qualified(), names.join(", "));
    let ty = f.ret.clone();
    // Argument-free functions are fixed for the statement (its time, one UUID).
    let sel = if f.params.is_empty() {
        let now = v.map_or(0, |v| v.now_micros);
        Sel::Const(f.apply(&[], now)?, ty.clone())
    } else {
        Sel::Func(Box::new(f), sels)
    };
    Ok(Out { sel, name, ty })
}

fn is_numeric(t: &CqlType) -> bool {
    matches!(
        t,
        CqlType::Tinyint
            | CqlType::Smallint
            | CqlType::Int
            | CqlType::Bigint
            | CqlType::Varint
            | CqlType::Float
            | CqlType::Double
            | CqlType::Counter
    )
}

fn has_agg(s: &Sel) -> bool {
    match s {
        Sel::CountAll | Sel::Agg(..) => true,
        Sel::Cast(i, _) | Sel::ToJson(i) | Sel::Field(i, _) | Sel::Element(i, _) => has_agg(i),
        Sel::Func(_, args) => args.iter().any(has_agg),
        _ => false,
    }
}

/// The columns `SELECT *` returns: partition key, clustering, statics by name, then
/// regular columns by name (Cassandra's select order).
fn star_columns(t: &TableMetadata) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..t.columns.len()).collect();
    let rank = |k: ColumnKind| match k {
        ColumnKind::PartitionKey => 0,
        ColumnKind::Clustering => 1,
        ColumnKind::Static => 2,
        ColumnKind::Regular => 3,
    };
    idx.sort_by(|&a, &b| {
        let (ca, cb) = (&t.columns[a], &t.columns[b]);
        rank(ca.kind).cmp(&rank(cb.kind)).then_with(|| {
            if matches!(ca.kind, ColumnKind::Static | ColumnKind::Regular) {
                ca.name.cmp(&cb.name)
            } else {
                ca.position.cmp(&cb.position)
            }
        })
    });
    idx
}

fn compile(t: &TableMetadata, s: &SelectStatement, v: Option<&Values<'_>>) -> CqlResult<Vec<Out>> {
    let outs: Vec<Out> = match &s.selection {
        Selection::Star => star_columns(t)
            .into_iter()
            .map(|i| Out {
                sel: Sel::Col(i),
                name: t.columns[i].name.clone(),
                ty: t.columns[i].cql_type.clone(),
            })
            .collect(),
        Selection::Selectors(list) => {
            let mut outs = Vec::with_capacity(list.len());
            for sel in list {
                let mut o = compile_one(t, &sel.selectable, v, 0)?;
                if let Some(a) = &sel.alias {
                    o.name = a.clone();
                }
                outs.push(o);
            }
            outs
        }
    };
    if s.distinct {
        let missing: Vec<&str> = t
            .partition_key()
            .filter(|pk| {
                !outs
                    .iter()
                    .any(|o| matches!(&o.sel, Sel::Col(i) if t.columns[*i].name == pk.name))
            })
            .map(|pk| pk.name.as_str())
            .collect();
        let only_count = outs
            .iter()
            .all(|o| matches!(o.sel, Sel::CountAll | Sel::Token));
        if !missing.is_empty() && !only_count {
            return Err(CqlError::invalid(format!(
                "SELECT DISTINCT queries must request all the partition key columns (missing {})",
                missing.join(", ")
            )));
        }
        for o in &outs {
            let ok = match &o.sel {
                Sel::Col(i) => matches!(
                    t.columns[*i].kind,
                    ColumnKind::PartitionKey | ColumnKind::Static
                ),
                Sel::Token | Sel::CountAll => true,
                _ => true,
            };
            if !ok {
                return Err(CqlError::invalid(format!(
                    "SELECT DISTINCT queries must only request partition key columns and/or static columns (not {})",
                    o.name
                )));
            }
        }
    }
    Ok(outs)
}

/// The result columns of a SELECT (for PREPARE).
pub fn result_specs(t: &TableMetadata, s: &SelectStatement) -> CqlResult<Vec<ColumnSpec>> {
    let outs = compile(t, s, None)?;
    Ok(specs(t, &outs, s.json))
}

fn specs(t: &TableMetadata, outs: &[Out], json: bool) -> Vec<ColumnSpec> {
    let spec = |name: &str, ty: &CqlType| ColumnSpec {
        keyspace: t.keyspace.clone(),
        table: t.name.clone(),
        name: name.to_string(),
        cql_type: ty.clone(),
    };
    if json {
        return vec![spec("[json]", &CqlType::Text)];
    }
    outs.iter().map(|o| spec(&o.name, &o.ty)).collect()
}

/// Records the bind receivers of a SELECT.
pub fn bind_specs(t: &TableMetadata, s: &SelectStatement, sink: &mut SpecSink) {
    crate::query::restrictions::bind_specs(t, &s.where_clause, sink);
    if let Some(x) = &s.per_partition_limit {
        sink.term(x, &CqlType::Int, "[per_partition_limit]");
    }
    if let Some(x) = &s.limit {
        sink.term(x, &CqlType::Int, "[limit]");
    }
}

struct RowView<'a> {
    cells: &'a [CellInfo],
    token: i64,
}

fn eval(t: &TableMetadata, s: &Sel, r: &RowView<'_>) -> CqlResult<Option<CqlValue>> {
    Ok(match s {
        Sel::Col(i) => r.cells.get(*i).and_then(|c| c.value.clone()),
        Sel::WriteTime(i) => r
            .cells
            .get(*i)
            .and_then(|c| c.writetime)
            .map(CqlValue::Bigint),
        Sel::Ttl(i) => r.cells.get(*i).and_then(|c| c.ttl).map(CqlValue::Int),
        Sel::Token => Some(CqlValue::Bigint(r.token)),
        Sel::CountAll | Sel::Agg(..) => None,
        Sel::Cast(inner, ty) => {
            let Some(v) = eval(t, inner, r)? else {
                return Ok(None);
            };
            Some(cast(&v, ty)?)
        }
        Sel::ToJson(inner) => {
            let ty = sel_type(t, inner);
            Some(CqlValue::Text(match eval(t, inner, r)? {
                Some(v) => to_json(&v, &ty),
                None => "null".into(),
            }))
        }
        Sel::Field(inner, fi) => match eval(t, inner, r)? {
            Some(CqlValue::Udt(vals)) => vals.into_iter().nth(*fi).flatten(),
            _ => None,
        },
        Sel::Func(f, args) => {
            let vals = args
                .iter()
                .map(|a| eval(t, a, r))
                .collect::<CqlResult<Vec<_>>>()?;
            f.apply(&vals, 0)?
        }
        Sel::Const(x, _) => x.clone(),
        Sel::Element(inner, key) => {
            let ty = sel_type(t, inner);
            match (eval(t, inner, r)?, key, ty.unfrozen()) {
                (Some(CqlValue::Map(entries)), Some(k), CqlType::Map(kt, _)) => entries
                    .into_iter()
                    .find(|(ek, _)| compare(ek, k, kt) == Ordering::Equal)
                    .map(|(_, ev)| ev),
                (Some(CqlValue::Set(items)), Some(k), CqlType::Set(et)) => items
                    .into_iter()
                    .find(|e| compare(e, k, et) == Ordering::Equal),
                _ => None,
            }
        }
    })
}

fn sel_type(t: &TableMetadata, s: &Sel) -> CqlType {
    match s {
        Sel::Col(i) => t
            .columns
            .get(*i)
            .map(|c| c.cql_type.clone())
            .unwrap_or(CqlType::Blob),
        Sel::WriteTime(_) | Sel::Token | Sel::CountAll => CqlType::Bigint,
        Sel::Ttl(_) => CqlType::Int,
        Sel::Cast(_, ty) => ty.clone(),
        Sel::ToJson(_) => CqlType::Text,
        Sel::Agg(AggKind::Count, _) => CqlType::Bigint,
        Sel::Agg(_, inner) => sel_type(t, inner),
        Sel::Func(f, _) => f.ret.clone(),
        Sel::Const(_, ty) => ty.clone(),
        Sel::Element(inner, _) => match sel_type(t, inner).unfrozen() {
            CqlType::Map(_, vt) => (**vt).clone(),
            CqlType::Set(e) => (**e).clone(),
            _ => CqlType::Blob,
        },
        Sel::Field(inner, fi) => match sel_type(t, inner).unfrozen() {
            CqlType::Udt { fields, .. } => fields
                .get(*fi)
                .map(|f| f.1.clone())
                .unwrap_or(CqlType::Blob),
            _ => CqlType::Blob,
        },
    }
}

fn as_f64(v: &CqlValue) -> Option<f64> {
    Some(match v {
        CqlValue::Tinyint(x) => f64::from(*x),
        CqlValue::Smallint(x) => f64::from(*x),
        CqlValue::Int(x) => f64::from(*x),
        CqlValue::Bigint(x) | CqlValue::Counter(x) => *x as f64,
        CqlValue::Float(x) => f64::from(*x),
        CqlValue::Double(x) => *x,
        CqlValue::Varint(x) => x.to_i128()? as f64,
        _ => return None,
    })
}

fn as_i128(v: &CqlValue) -> Option<i128> {
    Some(match v {
        CqlValue::Tinyint(x) => i128::from(*x),
        CqlValue::Smallint(x) => i128::from(*x),
        CqlValue::Int(x) => i128::from(*x),
        CqlValue::Bigint(x) | CqlValue::Counter(x) => i128::from(*x),
        CqlValue::Varint(x) => x.to_i128()?,
        _ => return None,
    })
}

fn from_i128(x: i128, ty: &CqlType) -> Option<CqlValue> {
    // Cassandra's integer sums wrap like Java arithmetic in the argument's type.
    Some(match ty {
        CqlType::Tinyint => CqlValue::Tinyint(x as i8),
        CqlType::Smallint => CqlValue::Smallint(x as i16),
        CqlType::Int => CqlValue::Int(x as i32),
        CqlType::Bigint => CqlValue::Bigint(x as i64),
        CqlType::Counter => CqlValue::Counter(x as i64),
        CqlType::Varint => CqlValue::Varint(Varint::from_i128(x)),
        _ => return None,
    })
}

fn cast(v: &CqlValue, ty: &CqlType) -> CqlResult<CqlValue> {
    if matches!(ty, CqlType::Text | CqlType::Ascii) {
        let s = match v {
            CqlValue::Text(s) | CqlValue::Ascii(s) => s.clone(),
            other => sibyl_cql::types::format_cqlsh(other, &value_type(other)),
        };
        return Ok(if *ty == CqlType::Text {
            CqlValue::Text(s)
        } else {
            CqlValue::Ascii(s)
        });
    }
    if let Some(i) = as_i128(v) {
        if let Some(out) = from_i128(i, ty) {
            return Ok(out);
        }
    }
    if let Some(f) = as_f64(v) {
        match ty {
            CqlType::Double => return Ok(CqlValue::Double(f)),
            CqlType::Float => return Ok(CqlValue::Float(f as f32)),
            CqlType::Int => return Ok(CqlValue::Int(f as i32)),
            CqlType::Bigint => return Ok(CqlValue::Bigint(f as i64)),
            _ => {}
        }
    }
    match (v, ty) {
        (CqlValue::Timestamp(ms), CqlType::Date) => {
            Ok(CqlValue::Date(functions::date_of_millis(*ms)))
        }
        (CqlValue::Timeuuid(u), CqlType::Timestamp) => {
            Ok(CqlValue::Timestamp(functions::timeuuid_millis(*u)))
        }
        (CqlValue::Timestamp(ms), CqlType::Bigint) => Ok(CqlValue::Bigint(*ms)),
        _ => Err(CqlError::invalid(format!(
            "{} cannot be cast to {ty}",
            v.kind_name()
        ))),
    }
}

fn value_type(v: &CqlValue) -> CqlType {
    match v {
        CqlValue::Bigint(_) => CqlType::Bigint,
        CqlValue::Int(_) => CqlType::Int,
        CqlValue::Smallint(_) => CqlType::Smallint,
        CqlValue::Tinyint(_) => CqlType::Tinyint,
        CqlValue::Double(_) => CqlType::Double,
        CqlValue::Float(_) => CqlType::Float,
        CqlValue::Boolean(_) => CqlType::Boolean,
        CqlValue::Uuid(_) => CqlType::Uuid,
        CqlValue::Timeuuid(_) => CqlType::Timeuuid,
        CqlValue::Timestamp(_) => CqlType::Timestamp,
        CqlValue::Date(_) => CqlType::Date,
        CqlValue::Time(_) => CqlType::Time,
        CqlValue::Varint(_) => CqlType::Varint,
        CqlValue::Decimal(_) => CqlType::Decimal,
        CqlValue::Inet(_) => CqlType::Inet,
        CqlValue::Duration(_) => CqlType::Duration,
        CqlValue::Counter(_) => CqlType::Counter,
        _ => CqlType::Blob,
    }
}

/// Running state of one output of an aggregate query.
#[derive(Clone, Debug, Default)]
struct AggState {
    count: i64,
    best: Option<CqlValue>,
    int_sum: i128,
    float_sum: f64,
    first: Option<Option<CqlValue>>,
    /// A GROUP BY group past PER PARTITION LIMIT: folded nothing, returns no row.
    skipped: bool,
}

fn fold(t: &TableMetadata, o: &Out, st: &mut AggState, r: &RowView<'_>) -> CqlResult<()> {
    match &o.sel {
        Sel::CountAll => st.count += 1,
        Sel::Agg(kind, inner) => {
            let Some(v) = eval(t, inner, r)? else {
                return Ok(());
            };
            st.count += 1;
            match kind {
                AggKind::Count => {}
                AggKind::Min | AggKind::Max => {
                    let better = match &st.best {
                        None => true,
                        Some(b) => {
                            let ord = compare(&v, b, &o.ty);
                            (*kind == AggKind::Min && ord == Ordering::Less)
                                || (*kind == AggKind::Max && ord == Ordering::Greater)
                        }
                    };
                    if better {
                        st.best = Some(v);
                    }
                }
                AggKind::Sum | AggKind::Avg => {
                    if let Some(i) = as_i128(&v) {
                        st.int_sum = st.int_sum.saturating_add(i);
                    } else if let Some(f) = as_f64(&v) {
                        st.float_sum += f;
                    }
                }
            }
        }
        other => {
            if st.first.is_none() {
                st.first = Some(eval(t, other, r)?);
            }
        }
    }
    Ok(())
}

/// The result row of one aggregation (a group, or the whole selection); `None` for a
/// group whose rows were all skipped by PER PARTITION LIMIT.
fn finish_row(outs: &[Out], aggs: &[AggState]) -> CqlResult<Option<Vec<Option<Vec<u8>>>>> {
    if aggs.first().is_some_and(|st| st.skipped) {
        return Ok(None);
    }
    outs.iter()
        .zip(aggs)
        .map(|(o, st)| {
            finish(o, st)
                .map(|x| serialize(&x, &o.ty).map_err(type_err))
                .transpose()
        })
        .collect::<CqlResult<Vec<_>>>()
        .map(Some)
}

/// The columns a GROUP BY groups on (partition key, then a clustering prefix), as
/// column indexes, validated like Cassandra's `SelectStatement`: only primary key
/// columns, in their declared order, skipping only columns restricted by `=`, and the
/// whole partition key.
fn group_columns(
    t: &TableMetadata,
    s: &SelectStatement,
    w: &Where,
) -> CqlResult<Option<Vec<usize>>> {
    if s.group_by.is_empty() {
        return Ok(None);
    }
    let order_msg = "Group by currently only support groups of columns following their declared order in the PRIMARY KEY";
    let pk: Vec<usize> = t
        .partition_key()
        .chain(t.clustering())
        .filter_map(|c| t.columns.iter().position(|x| x.name == c.name))
        .collect();
    let pk_len = t.partition_key().count();
    let single_key = matches!(&w.keys, KeySel::Keys(k) if k.len() == 1);
    let eq_clustering =
        |ci: usize| w.clustering.prefixes.len() == 1 && ci < w.clustering.prefix_len;
    let mut next = 0usize;
    for name in &s.group_by {
        let (i, c) = column(t, name)?;
        if !matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            return Err(CqlError::invalid(format!(
                "Group by is currently only supported on the columns of the PRIMARY KEY, got {}",
                c.name
            )));
        }
        loop {
            let Some(&p) = pk.get(next) else {
                return Err(CqlError::invalid(order_msg));
            };
            next += 1;
            if p == i {
                break;
            }
            let restricted = if next <= pk_len {
                single_key
            } else {
                eq_clustering(next - 1 - pk_len)
            };
            if !restricted {
                return Err(CqlError::invalid(order_msg));
            }
        }
    }
    if next < pk_len {
        return Err(CqlError::invalid(
            "Group by is not supported on only a part of the partition key",
        ));
    }
    Ok(Some(pk[..next].to_vec()))
}

/// A row's group: its partition key bytes and its clustering-prefix bytes.
fn group_key_of(
    t: &TableMetadata,
    cols: &[usize],
    r: &RowView<'_>,
) -> CqlResult<(Vec<u8>, Vec<u8>)> {
    let mut pk = Vec::new();
    let mut ck = Vec::new();
    for &i in cols {
        let out = if t.columns[i].kind == ColumnKind::PartitionKey {
            &mut pk
        } else {
            &mut ck
        };
        match r.cells.get(i).and_then(|c| c.value.as_ref()) {
            Some(v) => {
                let b = serialize(v, &t.columns[i].cql_type).map_err(type_err)?;
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
                out.extend_from_slice(&b);
            }
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        }
    }
    Ok((pk, ck))
}

fn finish(o: &Out, st: &AggState) -> Option<CqlValue> {
    match &o.sel {
        Sel::CountAll | Sel::Agg(AggKind::Count, _) => Some(CqlValue::Bigint(st.count)),
        Sel::Agg(AggKind::Min | AggKind::Max, _) => st.best.clone(),
        Sel::Agg(kind, _) => {
            let is_float = matches!(o.ty, CqlType::Float | CqlType::Double);
            let n = st.count.max(1);
            if is_float {
                let v = if *kind == AggKind::Sum || st.count == 0 {
                    st.float_sum
                } else {
                    st.float_sum / n as f64
                };
                let v = if *kind == AggKind::Avg && st.count == 0 {
                    0.0
                } else {
                    v
                };
                Some(if o.ty == CqlType::Float {
                    CqlValue::Float(v as f32)
                } else {
                    CqlValue::Double(v)
                })
            } else {
                let v = if *kind == AggKind::Sum {
                    st.int_sum
                } else {
                    st.int_sum / i128::from(n)
                };
                from_i128(v, &o.ty)
            }
        }
        _ => st.first.clone().flatten(),
    }
}

/// Where a partition's reading stopped.
enum Stop {
    /// The partition is finished.
    Done,
    /// Stopped after `clustering` (page full, work bound or limit).
    Paused(Vec<u8>),
}

struct Pager<'a> {
    t: &'a TableMetadata,
    idx: ColumnIndex,
    w: &'a Where,
    table: Arc<Table>,
    slices: Vec<ClusteringSlice>,
    reversed: bool,
    distinct: bool,
    now: i64,
    page_rows: usize,
    emitted: usize,
    rows_left: Option<u32>,
    ppl: Option<u32>,
    work: usize,
    work_max: usize,
    /// Tombstones (deleted or expired cells, row and range deletions) scanned, for
    /// the tombstone_warn_threshold warning.
    tombstones: usize,
    /// Token of the last partition read (named in the warning, as Cassandra does).
    last_token: i64,
}

impl Pager<'_> {
    fn page_full(&self) -> bool {
        self.emitted >= self.page_rows || self.rows_left == Some(0) || self.work >= self.work_max
    }

    fn base_cells(&self, dk: &DecoratedKey) -> CqlResult<Vec<CellInfo>> {
        let mut cells = vec![CellInfo::default(); self.t.columns.len()];
        let pk = decode_partition_key(self.t, &dk.key)?;
        let pk_idx = self
            .t
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ColumnKind::PartitionKey)
            .map(|(i, _)| i);
        for (i, v) in pk_idx.zip(pk) {
            if let Some(s) = cells.get_mut(i) {
                s.value = Some(v);
            }
        }
        Ok(cells)
    }

    fn emit(
        &mut self,
        cells: &[CellInfo],
        dk: &DecoratedKey,
        ppl_left: &mut Option<u32>,
        sink: &mut dyn FnMut(&RowView<'_>) -> CqlResult<()>,
    ) -> CqlResult<bool> {
        if !row_matches(self.t, &self.w.filters, cells) {
            return Ok(false);
        }
        sink(&RowView {
            cells,
            token: dk.token.0,
        })?;
        self.emitted += 1;
        if let Some(l) = self.rows_left.as_mut() {
            *l = l.saturating_sub(1);
        }
        if let Some(l) = ppl_left.as_mut() {
            *l = l.saturating_sub(1);
        }
        Ok(true)
    }

    /// Reads one partition from after `after` (a clustering) on.
    fn partition(
        &mut self,
        dk: &DecoratedKey,
        after: Option<&[u8]>,
        mut ppl_left: Option<u32>,
        sink: &mut dyn FnMut(&RowView<'_>) -> CqlResult<()>,
    ) -> CqlResult<(Stop, Option<u32>)> {
        let base = self.base_cells(dk)?;
        if self.distinct {
            if after.is_some() {
                return Ok((Stop::Done, ppl_left));
            }
            let cmd = ReadCommand {
                slice: ClusteringSlice::ALL,
                reversed: false,
                limit: Some(1),
                now: self.now,
            };
            let Some(part) = self.table.read(dk, &cmd).map_err(CqlError::from_read)? else {
                return Ok((Stop::Done, ppl_left));
            };
            let mut cells = base;
            let mut live = part.rows.iter().any(|r| r.has_live_data(self.now));
            self.work += part.rows.iter().map(|r| r.cells.len() + 1).sum::<usize>();
            if let Some(mut s) = part.static_row {
                s.retain_live(self.now);
                live |= s.has_live_data(self.now);
                mapping::decode_row(self.t, &self.idx, &s, self.now, &mut cells)?;
            }
            if live {
                self.emit(&cells, dk, &mut ppl_left, sink)?;
            }
            return Ok((Stop::Done, ppl_left));
        }
        let mut statics: Option<Vec<CellInfo>> = None;
        let mut emitted_here = false;
        let mut slices = self.slices.clone();
        if self.reversed {
            slices.reverse();
        }
        let mut last: Option<Vec<u8>> = None;
        for slice in slices {
            let mut slice = clamp(slice, after, self.reversed);
            loop {
                if slice.start.cmp_bound(&slice.end) != Ordering::Less {
                    break;
                }
                if self.page_full() || ppl_left == Some(0) {
                    return Ok((last.map_or(Stop::Done, Stop::Paused), ppl_left));
                }
                let want = READ_CHUNK_ROWS.min(
                    self.page_rows
                        .saturating_sub(self.emitted)
                        .saturating_add(1),
                );
                let cmd = ReadCommand {
                    slice: slice.clone(),
                    reversed: self.reversed,
                    limit: Some(want),
                    now: self.now,
                };
                let Some(part) = self.table.read(dk, &cmd).map_err(CqlError::from_read)? else {
                    return Ok((Stop::Done, ppl_left));
                };
                self.last_token = dk.token.0;
                self.tombstones +=
                    part.range_tombstones.len() + usize::from(!part.deletion.is_live());
                if statics.is_none() {
                    let mut cells = base.clone();
                    if let Some(mut s) = part.static_row.clone() {
                        self.work += s.cells.len();
                        self.tombstones += s.tombstone_count(self.now);
                        s.retain_live(self.now);
                        mapping::decode_row(self.t, &self.idx, &s, self.now, &mut cells)?;
                        if !s.has_live_data(self.now) {
                            cells = base.clone();
                        }
                    }
                    statics = Some(cells);
                }
                let live_rows = part
                    .rows
                    .iter()
                    .filter(|r| r.has_live_data(self.now))
                    .count();
                let n_rows = part.rows.len();
                for mut row in part.rows {
                    self.work += row.cells.len() + 1;
                    self.tombstones += row.tombstone_count(self.now);
                    last = Some(row.clustering.to_vec());
                    row.retain_live(self.now);
                    if !row.has_live_data(self.now) {
                        continue;
                    }
                    let mut cells = statics.clone().unwrap_or_default();
                    let ck = decode_clustering(self.t, &row.clustering)?;
                    let ck_idx = self
                        .t
                        .columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.kind == ColumnKind::Clustering)
                        .map(|(i, _)| i);
                    for (i, v) in ck_idx.zip(ck) {
                        if let Some(s) = cells.get_mut(i) {
                            s.value = Some(v);
                        }
                    }
                    mapping::decode_row(self.t, &self.idx, &row, self.now, &mut cells)?;
                    emitted_here |= self.emit(&cells, dk, &mut ppl_left, sink)?;
                    if self.page_full() || ppl_left == Some(0) {
                        let stop = if ppl_left == Some(0) {
                            Stop::Done
                        } else {
                            Stop::Paused(row.clustering.to_vec())
                        };
                        return Ok((stop, ppl_left));
                    }
                }
                if live_rows < want || n_rows == 0 {
                    break;
                }
                let Some(l) = &last else { break };
                let b = Bytes::copy_from_slice(l);
                if self.reversed {
                    slice.end = ClusteringBound::Before(b);
                } else {
                    slice.start = ClusteringBound::After(b);
                }
            }
        }
        // A partition with only static data shows one row of statics.
        if after.is_none() && !emitted_here && !self.w.clustering.restricted {
            if let Some(cells) = statics {
                let has_static = self
                    .t
                    .columns
                    .iter()
                    .zip(&cells)
                    .any(|(c, v)| c.kind == ColumnKind::Static && v.value.is_some());
                if has_static {
                    self.emit(&cells, dk, &mut ppl_left, sink)?;
                }
            }
        }
        Ok((Stop::Done, ppl_left))
    }
}

fn clamp(mut s: ClusteringSlice, after: Option<&[u8]>, reversed: bool) -> ClusteringSlice {
    let Some(a) = after else { return s };
    let b = Bytes::copy_from_slice(a);
    if reversed {
        let e = ClusteringBound::Before(b);
        if e.cmp_bound(&s.end) == Ordering::Less {
            s.end = e;
        }
    } else {
        let st = ClusteringBound::After(b);
        if st.cmp_bound(&s.start) == Ordering::Greater {
            s.start = st;
        }
    }
    s
}

fn limit_value(term: &Option<Term>, name: &str, v: &Values<'_>) -> CqlResult<Option<u32>> {
    let Some(term) = term else { return Ok(None) };
    match eval_term(term, &CqlType::Int, name, v)? {
        Val::Value(CqlValue::Int(x)) if x > 0 => Ok(Some(x.unsigned_abs())),
        Val::Value(_) => Err(CqlError::invalid(if name == "[limit]" {
            "LIMIT must be strictly positive".to_string()
        } else {
            "PER PARTITION LIMIT must be strictly positive".to_string()
        })),
        Val::Unset => Ok(None),
        Val::Null => Err(CqlError::invalid(format!("Invalid null value of {name}"))),
    }
}

/// Executes a SELECT against a stored table.
pub fn execute(
    qp: &QueryProcessor,
    t: &TableMetadata,
    s: &SelectStatement,
    v: &Values<'_>,
    options: &QueryOptions,
) -> CqlResult<ResultMessage> {
    let w = analyze(t, &s.where_clause, v)?;
    if let Some(msg) = &w.needs_filtering {
        if !s.allow_filtering {
            return Err(CqlError::invalid(msg.clone()));
        }
    }
    let outs = compile(t, s, Some(v))?;
    let group = group_columns(t, s, &w)?;
    // GROUP BY reads like an aggregate (one page, the limits count groups).
    let aggregate = group.is_some() || outs.iter().any(|o| has_agg(&o.sel));
    let mut limit = limit_value(&s.limit, "[limit]", v)?;
    let mut ppl = limit_value(&s.per_partition_limit, "[per_partition_limit]", v)?;
    let group_limit = limit.take_if(|_| group.is_some());
    let group_ppl = ppl.take_if(|_| group.is_some());
    let reversed = order(t, s, &w)?;
    let table = qp.storage_table(t)?;
    let state = options
        .paging_state
        .as_deref()
        .map(PagingState::decode)
        .transpose()?;
    let paged = options.page_size.filter(|&n| n > 0 && !aggregate);
    let mut pager = Pager {
        t,
        idx: ColumnIndex::new(t),
        w: &w,
        table,
        slices: w.clustering.slices(),
        reversed,
        distinct: s.distinct,
        now: qp.clock.now_seconds(),
        page_rows: paged.unwrap_or(if aggregate {
            usize::MAX
        } else {
            UNPAGED_ROWS_MAX
        }),
        emitted: 0,
        rows_left: state.as_ref().map_or(limit, |st| st.rows_left),
        ppl,
        work: 0,
        tombstones: 0,
        last_token: 0,
        work_max: if paged.is_some() {
            PAGE_WORK_CELLS_MAX
        } else {
            usize::MAX
        },
    };
    let mut rows: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
    let mut aggs: Vec<AggState> = vec![AggState::default(); outs.len()];
    let json = s.json;
    let specs_out = specs(t, &outs, json);
    let mut group_key: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut groups_in_partition = 0u32;
    let mut sink = |r: &RowView<'_>| -> CqlResult<()> {
        if let Some(cols) = &group {
            let (pk, key) = group_key_of(t, cols, r)?;
            let same_partition = group_key.as_ref().is_some_and(|(p, _)| *p == pk);
            if group_key
                .as_ref()
                .is_none_or(|(p, k)| *p != pk || *k != key)
            {
                if group_key.is_some() {
                    if let Some(row) = finish_row(&outs, &aggs)? {
                        rows.push(row);
                    }
                    aggs = vec![AggState::default(); outs.len()];
                }
                groups_in_partition = if same_partition {
                    groups_in_partition + 1
                } else {
                    1
                };
                group_key = Some((pk, key));
            }
            // PER PARTITION LIMIT counts groups: later groups of the partition are skipped.
            if group_ppl.is_some_and(|n| groups_in_partition > n) {
                aggs = vec![AggState::default(); outs.len()];
                aggs.iter_mut().for_each(|st| st.skipped = true);
                return Ok(());
            }
            for (o, st) in outs.iter().zip(aggs.iter_mut()) {
                fold(t, o, st, r)?;
            }
            return Ok(());
        }
        if aggregate {
            for (o, st) in outs.iter().zip(aggs.iter_mut()) {
                fold(t, o, st, r)?;
            }
            return Ok(());
        }
        rows.push(format_row(t, &outs, r, json)?);
        Ok(())
    };
    let resume = walk(&mut pager, &w, state.as_ref(), &mut sink)?;
    let unpaged_overflow =
        paged.is_none() && resume.is_some() && pager.rows_left != Some(0) && !aggregate;
    let more = resume.filter(|_| pager.rows_left != Some(0) && paged.is_some());
    if unpaged_overflow {
        return Err(CqlError::invalid(format!(
            "The query returns more than {UNPAGED_ROWS_MAX} rows without paging; use paging"
        )));
    }
    if group.is_some() {
        if group_key.is_some() {
            if let Some(row) = finish_row(&outs, &aggs)? {
                rows.push(row);
            }
        }
        if let Some(n) = group_limit {
            rows.truncate(n as usize);
        }
    } else if aggregate {
        rows = vec![finish_row(&outs, &aggs)?.unwrap_or_default()];
    }
    let mut warnings = Vec::new();
    if pager.tombstones > qp.tombstone_warn_threshold {
        warnings.push(tombstone_warning(t, &w, &pager, paged));
    }
    Ok(ResultMessage::Rows(Rows {
        columns: specs_out,
        rows,
        paging_state: more.map(|st| st.encode()),
        warnings,
    }))
}

/// Cassandra's client warning for a read past `tombstone_warn_threshold`:
/// `Read 10 live rows and 1990 tombstone cells for query SELECT * FROM ks.t WHERE k = 1
/// LIMIT 100; token 8413... (see tombstone_warn_threshold)`. The query is rendered from
/// the table and the partition restriction (Cassandra prints its internal read
/// command, which may word the rest of the WHERE clause differently).
fn tombstone_warning(
    t: &TableMetadata,
    w: &Where,
    pager: &Pager<'_>,
    page: Option<usize>,
) -> String {
    let mut q = format!("SELECT * FROM {}.{}", t.keyspace, t.name);
    if let KeySel::Keys(keys) = &w.keys {
        if let [key] = keys.as_slice() {
            let parts: Vec<String> = t
                .partition_key()
                .zip(key)
                .map(|(c, v)| {
                    format!(
                        "{} = {}",
                        c.name,
                        sibyl_cql::types::format_cqlsh(v, &c.cql_type)
                    )
                })
                .collect();
            q.push_str(" WHERE ");
            q.push_str(&parts.join(" AND "));
        }
    }
    if let Some(n) = page {
        q.push_str(&format!(" LIMIT {n}"));
    }
    format!(
        "Read {} live rows and {} tombstone cells for query {q}; token {} (see tombstone_warn_threshold)",
        pager.emitted, pager.tombstones, pager.last_token
    )
}

fn format_row(
    t: &TableMetadata,
    outs: &[Out],
    r: &RowView<'_>,
    json: bool,
) -> CqlResult<Vec<Option<Vec<u8>>>> {
    if json {
        let mut doc = String::from("{");
        for (k, o) in outs.iter().enumerate() {
            if k > 0 {
                doc.push_str(", ");
            }
            let v = eval(t, &o.sel, r)?;
            doc.push_str(&sibyl_cql::types::format::json_quote(&o.name));
            doc.push_str(": ");
            doc.push_str(&v.map_or_else(|| "null".to_string(), |x| to_json(&x, &o.ty)));
        }
        doc.push('}');
        return Ok(vec![Some(doc.into_bytes())]);
    }
    outs.iter()
        .map(|o| {
            eval(t, &o.sel, r)?
                .map(|x| serialize(&x, &o.ty).map_err(type_err))
                .transpose()
        })
        .collect()
}

/// Whether rows are read in reverse storage order, validating ORDER BY.
fn order(t: &TableMetadata, s: &SelectStatement, w: &Where) -> CqlResult<bool> {
    let Some((first, dir)) = s.order_by.first() else {
        return Ok(false);
    };
    if !matches!(w.keys, KeySel::Keys(_)) {
        return Err(CqlError::invalid(
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
        ));
    }
    let ck: Vec<_> = t.clustering().collect();
    let mut reversed = None;
    for (k, (name, d)) in s.order_by.iter().enumerate() {
        let (_, c) = column(t, name)?;
        if c.kind != ColumnKind::Clustering {
            return Err(CqlError::invalid(format!("Order by is currently only supported on the clustered columns of the PRIMARY KEY, got {}", c.name)));
        }
        if ck.get(k).map(|x| &x.name) != Some(&c.name) {
            return Err(CqlError::invalid("Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY"));
        }
        let want_desc = match d {
            Order::Asc => false,
            Order::Desc => true,
            Order::Ann(_) => return Err(CqlError::invalid("ANN ordering is not supported")),
        };
        let stored_desc = c.order == crate::schema::model::ClusteringOrder::Desc;
        let r = want_desc != stored_desc;
        if *reversed.get_or_insert(r) != r {
            return Err(CqlError::invalid("Unsupported order by relation"));
        }
    }
    let _ = (first, dir);
    Ok(reversed.unwrap_or(false))
}

/// Walks partitions from the paging state; returns where the next page starts, if
/// the page ended before the data did.
fn walk(
    pager: &mut Pager<'_>,
    w: &Where,
    state: Option<&PagingState>,
    sink: &mut dyn FnMut(&RowView<'_>) -> CqlResult<()>,
) -> CqlResult<Option<PagingState>> {
    let mut ppl_state = state.and_then(|s| s.partition_rows_left);
    let mut resume_key = state.map(|s| (s.partition_key.clone(), s.clustering.clone()));
    let make_state =
        |pager: &Pager<'_>, key: &DecoratedKey, stop: &Stop, ppl_left: Option<u32>| PagingState {
            partition_key: key.key.to_vec(),
            clustering: match stop {
                Stop::Done => None,
                Stop::Paused(c) => Some(c.clone()),
            },
            rows_left: pager.rows_left,
            partition_rows_left: match stop {
                Stop::Done => None,
                Stop::Paused(_) => ppl_left,
            },
        };
    match &w.keys {
        KeySel::Keys(keys) => {
            let t = pager.t;
            let dks = keys
                .iter()
                .map(|k| mapping::partition_key(t, k))
                .collect::<CqlResult<Vec<_>>>()?;
            let mut start = 0;
            let mut after: Option<Vec<u8>> = None;
            if let Some((k, c)) = resume_key.take() {
                let pos = dks.iter().position(|d| d.key[..] == k[..]).ok_or_else(|| {
                    CqlError::Protocol("Invalid value for the paging state".into())
                })?;
                match c {
                    Some(c) => {
                        start = pos;
                        after = Some(c);
                    }
                    None => start = pos + 1,
                }
            }
            for (n, dk) in dks.iter().enumerate().skip(start) {
                if pager.page_full() {
                    return Ok(Some(make_state(
                        pager,
                        dks.get(n.saturating_sub(1)).unwrap_or(dk),
                        &Stop::Done,
                        None,
                    )));
                }
                let ppl_left = if after.is_some() {
                    ppl_state.take().or(pager.ppl)
                } else {
                    pager.ppl
                };
                let (stop, left) = pager.partition(dk, after.take().as_deref(), ppl_left, sink)?;
                let last = n + 1 == dks.len();
                match stop {
                    Stop::Paused(_) => return Ok(Some(make_state(pager, dk, &stop, left))),
                    Stop::Done if pager.page_full() && !last => {
                        return Ok(Some(make_state(pager, dk, &stop, left)))
                    }
                    Stop::Done => {}
                }
            }
            Ok(None)
        }
        KeySel::Range { start, end } => {
            let mut cursor: Bound<DecoratedKey> = start.clone();
            let mut after: Option<Vec<u8>> = None;
            if let Some((k, c)) = resume_key.take() {
                let dk = DecoratedKey::new(Bytes::from(k));
                match c {
                    Some(c) => {
                        // Finish the partition we stopped in first.
                        let ppl_left = ppl_state.take().or(pager.ppl);
                        let (stop, left) = pager.partition(&dk, Some(&c), ppl_left, sink)?;
                        if let Stop::Paused(_) = stop {
                            return Ok(Some(make_state(pager, &dk, &stop, left)));
                        }
                        after = None;
                    }
                    None => after = None,
                }
                cursor = Bound::Excluded(dk);
            }
            let _ = after;
            loop {
                if pager.page_full() {
                    return Ok(match &cursor {
                        Bound::Excluded(k) | Bound::Included(k) => {
                            Some(make_state(pager, k, &Stop::Done, None))
                        }
                        Bound::Unbounded => None,
                    });
                }
                let keys = pager
                    .table
                    .scan_keys(cursor.as_ref(), end.as_ref(), SCAN_KEYS_BATCH)
                    .map_err(CqlError::from_read)?;
                if keys.is_empty() {
                    return Ok(None);
                }
                let exhausted = keys.len() < SCAN_KEYS_BATCH;
                for (n, dk) in keys.iter().enumerate() {
                    if pager.page_full() {
                        return Ok(match &cursor {
                            Bound::Excluded(k) | Bound::Included(k) => {
                                Some(make_state(pager, k, &Stop::Done, None))
                            }
                            Bound::Unbounded => None,
                        });
                    }
                    let (stop, left) = pager.partition(dk, None, pager.ppl, sink)?;
                    cursor = Bound::Excluded(dk.clone());
                    if let Stop::Paused(_) = stop {
                        return Ok(Some(make_state(pager, dk, &stop, left)));
                    }
                    if pager.page_full() && !(exhausted && n + 1 == keys.len()) {
                        return Ok(Some(make_state(pager, dk, &Stop::Done, None)));
                    }
                }
                if exhausted {
                    return Ok(None);
                }
            }
        }
    }
}

/// Serves a SELECT on a virtual table from its rows.
pub fn execute_virtual(
    s: &SelectStatement,
    keyspace: &str,
    table: &str,
    specs: Vec<ColumnSpec>,
    rows: Vec<Vec<Option<CqlValue>>>,
    v: &Values<'_>,
) -> CqlResult<ResultMessage> {
    let col = |name: &str| {
        specs.iter().position(|c| c.name == name).ok_or_else(|| {
            CqlError::invalid(format!(
                "Undefined column name {name} in table {keyspace}.{table}"
            ))
        })
    };
    let mut checks: Vec<(usize, Vec<CqlValue>)> = Vec::new();
    for r in &s.where_clause {
        match r {
            sibyl_cql::parser::Relation::Column {
                column,
                op: sibyl_cql::parser::Operator::Eq,
                value,
            } => {
                let i = col(column)?;
                let ty = &specs[i].cql_type;
                if let Val::Value(x) = eval_term(value, ty, column, v)? {
                    checks.push((i, vec![x]));
                }
            }
            sibyl_cql::parser::Relation::In {
                column,
                values: sibyl_cql::parser::InValues::List(terms),
            } => {
                let i = col(column)?;
                let ty = specs[i].cql_type.clone();
                let mut vals = Vec::new();
                for term in terms {
                    if let Val::Value(x) = eval_term(term, &ty, column, v)? {
                        vals.push(x);
                    }
                }
                checks.push((i, vals));
            }
            _ => {
                return Err(CqlError::invalid(
                    "Only = and IN restrictions are supported on this virtual table",
                ))
            }
        }
    }
    let out_idx: Vec<(usize, String)> = match &s.selection {
        Selection::Star => specs
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.name.clone()))
            .collect(),
        Selection::Selectors(list) => {
            let mut out = Vec::new();
            for sel in list {
                let Selectable::Column(name) = &sel.selectable else {
                    return Err(CqlError::invalid(
                        "Only columns can be selected from this virtual table",
                    ));
                };
                out.push((
                    col(name)?,
                    sel.alias.clone().unwrap_or_else(|| name.clone()),
                ));
            }
            out
        }
    };
    let limit = limit_value(&s.limit, "[limit]", v)?.map_or(usize::MAX, |l| l as usize);
    let mut kept: Vec<Vec<Option<CqlValue>>> = rows
        .into_iter()
        .filter(|row| {
            checks.iter().all(|(i, vals)| {
                let ty = &specs[*i].cql_type;
                row.get(*i)
                    .and_then(Option::as_ref)
                    .is_some_and(|x| vals.iter().any(|y| compare(x, y, ty) == Ordering::Equal))
            })
        })
        .collect();
    // `IN` on the partition key (the first column): partitions in key-byte order, as
    // for ordinary tables; the sort is stable so clustering order is kept.
    if checks.iter().any(|(i, vals)| *i == 0 && vals.len() > 1) {
        if let Some(ty) = specs.first().map(|c| c.cql_type.clone()) {
            kept.sort_by_cached_key(|row| {
                row.first()
                    .and_then(Option::as_ref)
                    .and_then(|x| serialize(x, &ty).ok())
                    .unwrap_or_default()
            });
        }
    }
    let mut out_rows = Vec::new();
    for row in kept {
        if out_rows.len() >= limit {
            break;
        }
        let mut r = Vec::with_capacity(out_idx.len());
        for (i, _) in &out_idx {
            let ty = &specs[*i].cql_type;
            r.push(match row.get(*i).and_then(Option::as_ref) {
                Some(x) => Some(serialize(x, ty).map_err(type_err)?),
                None => None,
            });
        }
        out_rows.push(r);
    }
    let columns = out_idx
        .iter()
        .map(|(i, name)| ColumnSpec {
            name: name.clone(),
            ..specs[*i].clone()
        })
        .collect();
    Ok(ResultMessage::Rows(Rows {
        columns,
        rows: out_rows,
        paging_state: None,
        warnings: Vec::new(),
    }))
}
