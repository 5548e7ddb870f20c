//! WHERE clauses: which partitions, which clustering ranges, and what is filtered.
//!
//! A WHERE clause is split the way Cassandra's `StatementRestrictions` splits it:
//! - **partition keys**: `=`/`IN` on every partition key column gives an explicit key
//!   list (the cartesian product of the IN lists); otherwise the query scans the ring,
//!   possibly bounded by `token(k) > x` relations;
//! - **clustering**: `=`/`IN` on a prefix of the clustering columns, optionally
//!   followed by one slice (`c > 1`, `(a, b) >= (1, 2)`), becomes clustering slices in
//!   the table's byte-comparable order (DESC columns swap the bounds' roles);
//! - **filters**: everything else (regular columns, `CONTAINS`, clustering relations
//!   after a gap, partial partition keys) is evaluated row by row, and only with
//!   `ALLOW FILTERING`, as in Cassandra, whose exact messages we return.
//!
//! What not: secondary indexes, `!=`, `LIKE`, `IS NOT NULL` (views).

use std::cmp::Ordering;
use std::ops::Bound;

use sibyl_cql::parser::{InValues, Operator, Relation, Term};
use sibyl_cql::types::{compare, CqlType, CqlValue};
use sibyl_storage::{ClusteringBound, ClusteringSlice, DecoratedKey, Token};

use crate::error::{CqlError, CqlResult};
use crate::query::mapping::{clustering_component, column, partition_key, CellInfo};
use crate::query::values::{eval_term, SpecSink, Val, Values};
use crate::schema::model::{ClusteringOrder, ColumnKind, ColumnMetadata, TableMetadata};

/// Most partition keys or clustering prefixes an IN product may expand to: bounds the
/// memory a single statement's IN lists can make us allocate.
pub const IN_PRODUCT_MAX: usize = 65_536;

/// Cassandra's message when a query needs `ALLOW FILTERING`.
pub const FILTERING_MESSAGE: &str = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

/// Which partitions a statement touches.
#[derive(Clone, Debug)]
pub enum KeySel {
    /// Explicit partition keys (values per key column), sorted by key bytes, distinct.
    Keys(Vec<Vec<CqlValue>>),
    /// A ring range (token bounds; unbounded = the whole ring).
    Range {
        start: Bound<DecoratedKey>,
        end: Bound<DecoratedKey>,
    },
}

/// Clustering prefixes (from `=`/`IN`) and an optional slice after them.
#[derive(Clone, Debug, Default)]
pub struct ClusteringSel {
    /// `(bytes, values)` of each selected prefix, sorted by bytes, distinct.
    pub prefixes: Vec<(Vec<u8>, Vec<CqlValue>)>,
    /// Clustering columns covered by the prefixes.
    pub prefix_len: usize,
    /// Start suffix (bytes appended to each prefix) and whether it is inclusive.
    pub start: Option<(Vec<u8>, bool)>,
    /// End suffix and whether it is inclusive.
    pub end: Option<(Vec<u8>, bool)>,
    /// Whether any clustering relation was given.
    pub restricted: bool,
}

impl ClusteringSel {
    /// The clustering slices in ascending byte order.
    pub fn slices(&self) -> Vec<ClusteringSlice> {
        let mut out = Vec::with_capacity(self.prefixes.len());
        for (p, _) in &self.prefixes {
            let join = |s: &[u8]| {
                let mut b = p.clone();
                b.extend_from_slice(s);
                bytes::Bytes::from(b)
            };
            let start = match &self.start {
                Some((s, true)) => ClusteringBound::Before(join(s)),
                Some((s, false)) => ClusteringBound::After(join(s)),
                None if p.is_empty() => ClusteringBound::Bottom,
                None => ClusteringBound::Before(join(&[])),
            };
            let end = match &self.end {
                Some((s, true)) => ClusteringBound::After(join(s)),
                Some((s, false)) => ClusteringBound::Before(join(s)),
                None if p.is_empty() => ClusteringBound::Top,
                None => ClusteringBound::After(join(&[])),
            };
            if start.cmp_bound(&end) == Ordering::Less {
                out.push(ClusteringSlice { start, end });
            }
        }
        out
    }

    /// Whether the selection is exactly one row per prefix (full clustering by `=`/`IN`).
    pub fn is_full(&self, t: &TableMetadata) -> bool {
        self.prefix_len == t.clustering().count() && self.start.is_none() && self.end.is_none()
    }
}

/// A row-by-row check.
#[derive(Clone, Debug)]
pub enum Filter {
    Compare {
        col: usize,
        op: Operator,
        value: CqlValue,
    },
    In {
        col: usize,
        values: Vec<CqlValue>,
    },
    Element {
        col: usize,
        key: CqlValue,
        op: Operator,
        value: CqlValue,
    },
    Tuple {
        cols: Vec<usize>,
        op: Operator,
        values: Vec<CqlValue>,
    },
    TupleIn {
        cols: Vec<usize>,
        values: Vec<Vec<CqlValue>>,
    },
}

/// An analysed WHERE clause.
#[derive(Clone, Debug)]
pub struct Where {
    pub keys: KeySel,
    pub clustering: ClusteringSel,
    pub filters: Vec<Filter>,
    /// `Some(message)` when executing needs `ALLOW FILTERING`.
    pub needs_filtering: Option<String>,
    /// Partition key columns that no relation restricts (for write errors).
    pub missing_key_parts: Vec<String>,
}

#[derive(Default, Clone)]
struct Raw {
    eq: Option<Vec<CqlValue>>,
    lower: Option<(CqlValue, bool)>,
    upper: Option<(CqlValue, bool)>,
}

struct MultiSlice {
    first: usize,
    lower: Option<(Vec<CqlValue>, bool)>,
    upper: Option<(Vec<CqlValue>, bool)>,
}

fn where_value(term: &Term, c: &ColumnMetadata, v: &Values<'_>) -> CqlResult<CqlValue> {
    match eval_term(term, &c.cql_type, &c.name, v)? {
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

fn in_values(values: &InValues, c: &ColumnMetadata, v: &Values<'_>) -> CqlResult<Vec<CqlValue>> {
    let mut out = match values {
        InValues::List(terms) => terms
            .iter()
            .map(|t| where_value(t, c, v))
            .collect::<CqlResult<Vec<_>>>()?,
        InValues::Marker(m) => {
            let lt = CqlType::List(Box::new(c.cql_type.clone()));
            match v.get(m, &lt, &format!("in({})", c.name))? {
                Val::Value(CqlValue::List(items)) => items,
                Val::Value(_) => {
                    return Err(CqlError::invalid(format!(
                        "Invalid IN value for {}",
                        c.name
                    )))
                }
                Val::Null => {
                    return Err(CqlError::invalid(format!(
                        "Invalid null value for IN restriction on {}",
                        c.name
                    )))
                }
                Val::Unset => {
                    return Err(CqlError::invalid(format!(
                        "Invalid unset value for column {}",
                        c.name
                    )))
                }
            }
        }
    };
    out.sort_by(|a, b| compare(a, b, &c.cql_type));
    out.dedup_by(|a, b| compare(a, b, &c.cql_type) == Ordering::Equal);
    Ok(out)
}

fn tuple_type(cols: &[&ColumnMetadata]) -> CqlType {
    CqlType::Tuple(cols.iter().map(|c| c.cql_type.clone()).collect())
}

fn tuple_name(cols: &[&ColumnMetadata]) -> String {
    format!(
        "({})",
        cols.iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    )
}

fn tuple_values(term: &Term, cols: &[&ColumnMetadata], v: &Values<'_>) -> CqlResult<Vec<CqlValue>> {
    match term {
        Term::Tuple(items) => {
            if items.len() != cols.len() {
                return Err(CqlError::invalid(format!(
                    "Expected {} elements in value tuple, but got {}: {}",
                    cols.len(),
                    items.len(),
                    tuple_name(cols)
                )));
            }
            items
                .iter()
                .zip(cols)
                .map(|(t, c)| where_value(t, c, v))
                .collect()
        }
        _ => match eval_term(term, &tuple_type(cols), &tuple_name(cols), v)? {
            Val::Value(CqlValue::Tuple(items)) => items
                .into_iter()
                .zip(cols)
                .map(|(x, c)| {
                    x.ok_or_else(|| {
                        CqlError::invalid(format!(
                            "Invalid null value in condition for column {}",
                            c.name
                        ))
                    })
                })
                .collect(),
            _ => Err(CqlError::invalid(format!(
                "Invalid null value for {}",
                tuple_name(cols)
            ))),
        },
    }
}

fn element_types(c: &ColumnMetadata) -> CqlResult<(CqlType, CqlType)> {
    match c.cql_type.unfrozen() {
        CqlType::Map(k, v) => Ok(((**k).clone(), (**v).clone())),
        CqlType::List(e) => Ok((CqlType::Int, (**e).clone())),
        _ => Err(CqlError::invalid(format!(
            "Column {} cannot be used as a map or list",
            c.name
        ))),
    }
}

fn contains_type(c: &ColumnMetadata, key: bool) -> CqlResult<CqlType> {
    match (c.cql_type.unfrozen(), key) {
        (CqlType::List(e) | CqlType::Set(e), false) => Ok((**e).clone()),
        (CqlType::Map(_, v), false) => Ok((**v).clone()),
        (CqlType::Map(k, _), true) => Ok((**k).clone()),
        (_, true) => Err(CqlError::invalid(format!(
            "Cannot use CONTAINS KEY on non-map column {}",
            c.name
        ))),
        (_, false) => Err(CqlError::invalid(format!(
            "Cannot use CONTAINS on non-collection column {}",
            c.name
        ))),
    }
}

fn token_of(term: &Term, t: &TableMetadata, v: &Values<'_>) -> CqlResult<i64> {
    if let Term::FunctionCall { name, args } = term {
        if name.name.eq_ignore_ascii_case("token") {
            let cols: Vec<&ColumnMetadata> = t.partition_key().collect();
            if args.len() != cols.len() {
                return Err(CqlError::invalid(
                    "Invalid number of arguments in call to function system.token",
                ));
            }
            let vals = args
                .iter()
                .zip(&cols)
                .map(|(a, c)| where_value(a, c, v))
                .collect::<CqlResult<Vec<_>>>()?;
            return Ok(partition_key(t, &vals)?.token.0);
        }
    }
    match eval_term(term, &CqlType::Bigint, "partition key token", v)? {
        Val::Value(CqlValue::Bigint(x)) => Ok(x),
        _ => Err(CqlError::invalid(
            "Invalid null value for partition key token",
        )),
    }
}

fn token_key(t: i64) -> DecoratedKey {
    DecoratedKey {
        token: Token(t),
        key: bytes::Bytes::new(),
    }
}

/// Records the receivers of the markers of a WHERE clause.
pub fn bind_specs(t: &TableMetadata, rels: &[Relation], sink: &mut SpecSink) {
    for r in rels {
        match r {
            Relation::Column {
                column: name,
                op,
                value,
            } => {
                let Some(c) = t.column(name) else { continue };
                match op {
                    Operator::Contains => {
                        if let Ok(ty) = contains_type(c, false) {
                            sink.term(value, &ty, &c.name);
                        }
                    }
                    Operator::ContainsKey => {
                        if let Ok(ty) = contains_type(c, true) {
                            sink.term(value, &ty, &c.name);
                        }
                    }
                    _ => sink.term(value, &c.cql_type, &c.name),
                }
            }
            Relation::In {
                column: name,
                values,
            } => {
                let Some(c) = t.column(name) else { continue };
                match values {
                    InValues::List(terms) => terms
                        .iter()
                        .for_each(|x| sink.term(x, &c.cql_type, &c.name)),
                    InValues::Marker(m) => sink.marker(
                        m,
                        &CqlType::List(Box::new(c.cql_type.clone())),
                        &format!("in({})", c.name),
                    ),
                }
            }
            Relation::Element {
                column: name,
                key,
                value,
                ..
            } => {
                let Some(c) = t.column(name) else { continue };
                if let Ok((kt, vt)) = element_types(c) {
                    sink.term(key, &kt, &c.name);
                    sink.term(value, &vt, &c.name);
                }
            }
            Relation::Token { value, .. } => match value {
                Term::FunctionCall { args, .. } => {
                    for (a, c) in args.iter().zip(t.partition_key()) {
                        sink.term(a, &c.cql_type, &c.name);
                    }
                }
                other => sink.term(other, &CqlType::Bigint, "partition key token"),
            },
            Relation::MultiColumn { columns, value, .. } => {
                let cols: Vec<&ColumnMetadata> =
                    columns.iter().filter_map(|n| t.column(n)).collect();
                match value {
                    Term::Tuple(items) => items
                        .iter()
                        .zip(&cols)
                        .for_each(|(x, c)| sink.term(x, &c.cql_type, &c.name)),
                    other => sink.term(other, &tuple_type(&cols), &tuple_name(&cols)),
                }
            }
            Relation::MultiColumnIn { columns, values } => {
                let cols: Vec<&ColumnMetadata> =
                    columns.iter().filter_map(|n| t.column(n)).collect();
                let tt = tuple_type(&cols);
                match values {
                    InValues::List(terms) => {
                        for term in terms {
                            match term {
                                Term::Tuple(items) => items
                                    .iter()
                                    .zip(&cols)
                                    .for_each(|(x, c)| sink.term(x, &c.cql_type, &c.name)),
                                other => sink.term(other, &tt, &tuple_name(&cols)),
                            }
                        }
                    }
                    InValues::Marker(m) => sink.marker(
                        m,
                        &CqlType::List(Box::new(tt)),
                        &format!("in({})", tuple_name(&cols)),
                    ),
                }
            }
            Relation::IsNotNull { .. } => {}
        }
    }
}

/// Analyses `rels` against `t` with bound values `v`.
pub fn analyze(t: &TableMetadata, rels: &[Relation], v: &Values<'_>) -> CqlResult<Where> {
    let n = t.columns.len();
    let mut raw: Vec<Raw> = vec![Raw::default(); n];
    let mut filters = Vec::new();
    let mut need_filter = false;
    let mut multi: Option<MultiSlice> = None;
    let mut multi_in: Option<(usize, Vec<Vec<CqlValue>>)> = None;
    let mut tok_lo: Option<(i64, bool)> = None;
    let mut tok_hi: Option<(i64, bool)> = None;
    let dup_eq = |c: &ColumnMetadata| {
        CqlError::invalid(format!(
            "{} cannot be restricted by more than one relation if it includes an Equal",
            c.name
        ))
    };
    for r in rels {
        match r {
            Relation::Column {
                column: name,
                op,
                value,
            } => {
                let (i, c) = column(t, name)?;
                match op {
                    Operator::Eq => {
                        let x = where_value(value, c, v)?;
                        if raw[i].eq.is_some() || raw[i].lower.is_some() || raw[i].upper.is_some() {
                            return Err(dup_eq(c));
                        }
                        raw[i].eq = Some(vec![x]);
                    }
                    Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => {
                        let x = where_value(value, c, v)?;
                        if raw[i].eq.is_some() {
                            return Err(dup_eq(c));
                        }
                        if c.kind == ColumnKind::PartitionKey {
                            need_filter = true;
                            filters.push(Filter::Compare {
                                col: i,
                                op: *op,
                                value: x,
                            });
                            continue;
                        }
                        let lower = matches!(op, Operator::Gt | Operator::Gte);
                        let incl = matches!(op, Operator::Gte | Operator::Lte);
                        let slot = if lower {
                            &mut raw[i].lower
                        } else {
                            &mut raw[i].upper
                        };
                        if slot.is_some() {
                            let which = if lower { "start" } else { "end" };
                            return Err(CqlError::invalid(format!(
                                "More than one restriction was found for the {which} bound on {}",
                                c.name
                            )));
                        }
                        *slot = Some((x, incl));
                    }
                    Operator::Contains | Operator::ContainsKey => {
                        let ty = contains_type(c, *op == Operator::ContainsKey)?;
                        let x = match eval_term(value, &ty, &c.name, v)? {
                            Val::Value(x) => x,
                            _ => {
                                return Err(CqlError::invalid(format!(
                                    "Invalid null value for {}",
                                    c.name
                                )))
                            }
                        };
                        need_filter = true;
                        filters.push(Filter::Compare {
                            col: i,
                            op: *op,
                            value: x,
                        });
                    }
                    Operator::Neq => {
                        return Err(CqlError::invalid(format!(
                            "Unsupported \"!=\" relation: {} != ...",
                            c.name
                        )));
                    }
                    Operator::Like => {
                        return Err(CqlError::invalid(format!(
                            "LIKE restriction is only supported on properly indexed columns. {} LIKE ... is not valid.",
                            c.name
                        )));
                    }
                }
            }
            Relation::In {
                column: name,
                values,
            } => {
                let (i, c) = column(t, name)?;
                let vals = in_values(values, c, v)?;
                if raw[i].eq.is_some() {
                    return Err(dup_eq(c));
                }
                raw[i].eq = Some(vals);
            }
            Relation::Element {
                column: name,
                key,
                op,
                value,
            } => {
                let (i, c) = column(t, name)?;
                let (kt, vt) = element_types(c)?;
                let key = match eval_term(key, &kt, &c.name, v)? {
                    Val::Value(x) => x,
                    _ => {
                        return Err(CqlError::invalid(format!(
                            "Invalid null value for {} element",
                            c.name
                        )))
                    }
                };
                let value = match eval_term(value, &vt, &c.name, v)? {
                    Val::Value(x) => x,
                    _ => {
                        return Err(CqlError::invalid(format!(
                            "Invalid null value for {} element",
                            c.name
                        )))
                    }
                };
                need_filter = true;
                filters.push(Filter::Element {
                    col: i,
                    key,
                    op: *op,
                    value,
                });
            }
            Relation::Token { columns, op, value } => {
                let pk: Vec<&str> = t.partition_key().map(|c| c.name.as_str()).collect();
                if columns.iter().map(String::as_str).ne(pk.iter().copied()) {
                    return Err(CqlError::invalid(format!(
                        "The token function arguments must be in the partition key order: {}",
                        pk.join(", ")
                    )));
                }
                let x = token_of(value, t, v)?;
                match op {
                    Operator::Gt => tok_lo = Some((x, false)),
                    Operator::Gte => tok_lo = Some((x, true)),
                    Operator::Lt => tok_hi = Some((x, false)),
                    Operator::Lte => tok_hi = Some((x, true)),
                    Operator::Eq => {
                        tok_lo = Some((x, true));
                        tok_hi = Some((x, true));
                    }
                    _ => return Err(CqlError::invalid("Unsupported operator on token()")),
                }
            }
            Relation::MultiColumn { columns, op, value } => {
                let (first, cols) = multi_columns(t, columns)?;
                let vals = tuple_values(value, &cols, v)?;
                match op {
                    Operator::Eq => {
                        // `first` is a clustering position; `raw` is indexed by column.
                        for (c, x) in cols.iter().zip(vals) {
                            let (i, _) = column(t, &c.name)?;
                            let slot = &mut raw[i];
                            if slot.eq.is_some() {
                                return Err(dup_eq(c));
                            }
                            slot.eq = Some(vec![x]);
                        }
                    }
                    Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => {
                        let incl = matches!(op, Operator::Gte | Operator::Lte);
                        let ms = multi.get_or_insert(MultiSlice {
                            first,
                            lower: None,
                            upper: None,
                        });
                        if ms.first != first {
                            return Err(CqlError::invalid(
                                "Multi-column slices must start at the same column",
                            ));
                        }
                        if matches!(op, Operator::Gt | Operator::Gte) {
                            ms.lower = Some((vals, incl));
                        } else {
                            ms.upper = Some((vals, incl));
                        }
                    }
                    _ => {
                        return Err(CqlError::invalid(
                            "Unsupported operator in multi-column relation",
                        ))
                    }
                }
            }
            Relation::MultiColumnIn { columns, values } => {
                let (first, cols) = multi_columns(t, columns)?;
                let tuples: Vec<Vec<CqlValue>> = match values {
                    InValues::List(terms) => terms
                        .iter()
                        .map(|x| tuple_values(x, &cols, v))
                        .collect::<CqlResult<_>>()?,
                    InValues::Marker(m) => {
                        let lt = CqlType::List(Box::new(tuple_type(&cols)));
                        match v.get(m, &lt, "in")? {
                            Val::Value(CqlValue::List(items)) => items
                                .into_iter()
                                .map(|x| match x {
                                    CqlValue::Tuple(parts) => parts
                                        .into_iter()
                                        .map(|p| {
                                            p.ok_or_else(|| {
                                                CqlError::invalid("Invalid null value in IN tuple")
                                            })
                                        })
                                        .collect::<CqlResult<Vec<_>>>(),
                                    _ => Err(CqlError::invalid("Invalid IN tuple")),
                                })
                                .collect::<CqlResult<_>>()?,
                            _ => {
                                return Err(CqlError::invalid(
                                    "Invalid null value for IN restriction",
                                ))
                            }
                        }
                    }
                };
                if first != 0 {
                    return Err(CqlError::invalid(
                        "Multi-column IN must start at the first clustering column",
                    ));
                }
                multi_in = Some((cols.len(), tuples));
            }
            Relation::IsNotNull { column } => {
                return Err(CqlError::invalid(format!(
                    "Unsupported restriction: {column} IS NOT NULL"
                )));
            }
        }
    }

    // Partition keys.
    let pk_idx: Vec<usize> = (0..n)
        .filter(|&i| t.columns[i].kind == ColumnKind::PartitionKey)
        .collect();
    let missing_key_parts: Vec<String> = pk_idx
        .iter()
        .filter(|&&i| raw[i].eq.is_none())
        .map(|&i| t.columns[i].name.clone())
        .collect();
    let keys = if missing_key_parts.is_empty() {
        let mut keys: Vec<Vec<CqlValue>> = vec![Vec::new()];
        for &i in &pk_idx {
            let vals = raw[i].eq.clone().unwrap_or_default();
            keys = product(keys, &vals)?;
        }
        let mut keyed = keys
            .into_iter()
            .map(|k| partition_key(t, &k).map(|dk| (dk.key, k)))
            .collect::<CqlResult<Vec<_>>>()?;
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        KeySel::Keys(keyed.into_iter().map(|(_, k)| k).collect())
    } else {
        for &i in &pk_idx {
            if let Some(vals) = raw[i].eq.take() {
                need_filter = true;
                filters.push(Filter::In {
                    col: i,
                    values: vals,
                });
            }
        }
        let start = match tok_lo {
            None => Bound::Unbounded,
            Some((x, true)) => Bound::Included(token_key(x)),
            Some((x, false)) => match x.checked_add(1) {
                Some(y) => Bound::Included(token_key(y)),
                None => Bound::Excluded(DecoratedKey {
                    token: Token(i64::MAX),
                    key: bytes::Bytes::from(vec![0xff; 1 << 16]),
                }),
            },
        };
        let end = match tok_hi {
            None => Bound::Unbounded,
            Some((x, false)) => Bound::Excluded(token_key(x)),
            Some((x, true)) => match x.checked_add(1) {
                Some(y) => Bound::Excluded(token_key(y)),
                None => Bound::Unbounded,
            },
        };
        KeySel::Range { start, end }
    };
    let scanning = matches!(keys, KeySel::Range { .. });

    // Clustering.
    let ck_idx: Vec<usize> = (0..n)
        .filter(|&i| t.columns[i].kind == ColumnKind::Clustering)
        .collect();
    let mut sel = ClusteringSel {
        prefixes: vec![(Vec::new(), Vec::new())],
        restricted: ck_idx
            .iter()
            .any(|&i| raw[i].eq.is_some() || raw[i].lower.is_some() || raw[i].upper.is_some())
            || multi.is_some()
            || multi_in.is_some(),
        ..ClusteringSel::default()
    };
    let mut pos = 0;
    if let Some((len, tuples)) = multi_in {
        let mut prefixes = Vec::with_capacity(tuples.len());
        for tuple in tuples {
            let mut b = Vec::new();
            for (k, x) in tuple.iter().enumerate() {
                if let Some(&ci) = ck_idx.get(k) {
                    clustering_component(&t.columns[ci], x, &mut b)?;
                }
            }
            prefixes.push((b, tuple));
        }
        prefixes.sort_by(|a, b| a.0.cmp(&b.0));
        prefixes.dedup_by(|a, b| a.0 == b.0);
        sel.prefixes = prefixes;
        pos = len;
    }
    let mut stop_reason: Option<(usize, bool)> = None; // (column position, stopped at a slice)
    while pos < ck_idx.len() {
        let ci = ck_idx[pos];
        let c = &t.columns[ci];
        if let Some(ms) = multi.as_ref().filter(|m| m.first == pos) {
            let cols: Vec<&ColumnMetadata> = ck_idx[pos..].iter().map(|&i| &t.columns[i]).collect();
            let desc = c.order == ClusteringOrder::Desc;
            let uniform = cols
                .iter()
                .all(|x| (x.order == ClusteringOrder::Desc) == desc);
            if uniform {
                let enc = |vals: &[CqlValue]| -> CqlResult<Vec<u8>> {
                    let mut b = Vec::new();
                    for (x, col) in vals.iter().zip(&cols) {
                        clustering_component(col, x, &mut b)?;
                    }
                    Ok(b)
                };
                let lower = ms
                    .lower
                    .as_ref()
                    .map(|(vals, incl)| enc(vals).map(|b| (b, *incl)))
                    .transpose()?;
                let upper = ms
                    .upper
                    .as_ref()
                    .map(|(vals, incl)| enc(vals).map(|b| (b, *incl)))
                    .transpose()?;
                (sel.start, sel.end) = if desc { (upper, lower) } else { (lower, upper) };
            } else {
                let idxs: Vec<usize> = ck_idx[pos..].to_vec();
                if let Some((vals, incl)) = &ms.lower {
                    let op = if *incl { Operator::Gte } else { Operator::Gt };
                    filters.push(Filter::Tuple {
                        cols: idxs[..vals.len().min(idxs.len())].to_vec(),
                        op,
                        values: vals.clone(),
                    });
                }
                if let Some((vals, incl)) = &ms.upper {
                    let op = if *incl { Operator::Lte } else { Operator::Lt };
                    filters.push(Filter::Tuple {
                        cols: idxs[..vals.len().min(idxs.len())].to_vec(),
                        op,
                        values: vals.clone(),
                    });
                }
            }
            stop_reason = Some((pos, true));
            pos = ck_idx.len();
            break;
        }
        let r = &raw[ci];
        if let Some(vals) = &r.eq {
            let mut next = Vec::with_capacity(sel.prefixes.len() * vals.len());
            for (b, pv) in &sel.prefixes {
                for x in vals {
                    let mut nb = b.clone();
                    clustering_component(c, x, &mut nb)?;
                    let mut nv = pv.clone();
                    nv.push(x.clone());
                    next.push((nb, nv));
                    if next.len() > IN_PRODUCT_MAX {
                        return Err(CqlError::invalid(format!(
                            "IN restrictions select more than {IN_PRODUCT_MAX} clustering prefixes"
                        )));
                    }
                }
            }
            next.sort_by(|a, b| a.0.cmp(&b.0));
            next.dedup_by(|a, b| a.0 == b.0);
            sel.prefixes = next;
            pos += 1;
            sel.prefix_len = pos;
            continue;
        }
        if r.lower.is_some() || r.upper.is_some() {
            let enc = |x: &(CqlValue, bool)| -> CqlResult<(Vec<u8>, bool)> {
                let mut b = Vec::new();
                clustering_component(c, &x.0, &mut b)?;
                Ok((b, x.1))
            };
            let lower = r.lower.as_ref().map(enc).transpose()?;
            let upper = r.upper.as_ref().map(enc).transpose()?;
            (sel.start, sel.end) = if c.order == ClusteringOrder::Desc {
                (upper, lower)
            } else {
                (lower, upper)
            };
            stop_reason = Some((pos, true));
            pos += 1;
            break;
        }
        stop_reason = Some((pos, false));
        break;
    }
    if let Some(m) = multi.as_ref().filter(|m| m.first > sel.prefix_len) {
        // Cassandra names the first clustering column left unrestricted before the slice.
        let name = |p: usize| {
            ck_idx
                .get(p)
                .map(|&i| t.columns[i].name.clone())
                .unwrap_or_default()
        };
        return Err(CqlError::invalid(format!(
            "PRIMARY KEY column \"{}\" cannot be restricted as preceding column \"{}\" is not restricted",
            name(m.first),
            name(sel.prefix_len)
        )));
    }
    // Clustering relations after the usable prefix become filters.
    let mut clustering_msg: Option<String> = None;
    for (k, &ci) in ck_idx.iter().enumerate().skip(pos) {
        let r = raw[ci].clone();
        if r.eq.is_none() && r.lower.is_none() && r.upper.is_none() {
            continue;
        }
        if clustering_msg.is_none() {
            let prev = k
                .checked_sub(1)
                .and_then(|p| ck_idx.get(p))
                .map(|&p| t.columns[p].name.clone())
                .unwrap_or_default();
            let this = &t.columns[ci].name;
            clustering_msg = Some(match stop_reason {
                Some((_, true)) => format!(
                    "Clustering column \"{this}\" cannot be restricted (preceding column \"{prev}\" is restricted by a non-EQ relation)"
                ),
                _ => format!("PRIMARY KEY column \"{this}\" cannot be restricted as preceding column \"{prev}\" is not restricted"),
            });
        }
        if let Some(vals) = r.eq {
            filters.push(Filter::In {
                col: ci,
                values: vals,
            });
        }
        if let Some((x, incl)) = r.lower {
            filters.push(Filter::Compare {
                col: ci,
                op: if incl { Operator::Gte } else { Operator::Gt },
                value: x,
            });
        }
        if let Some((x, incl)) = r.upper {
            filters.push(Filter::Compare {
                col: ci,
                op: if incl { Operator::Lte } else { Operator::Lt },
                value: x,
            });
        }
    }

    // Value columns always filter.
    for (i, c) in t.columns.iter().enumerate() {
        if !matches!(c.kind, ColumnKind::Static | ColumnKind::Regular) {
            continue;
        }
        let r = raw[i].clone();
        if let Some(vals) = r.eq {
            need_filter = true;
            if vals.len() == 1 {
                if let Some(x) = vals.into_iter().next() {
                    filters.push(Filter::Compare {
                        col: i,
                        op: Operator::Eq,
                        value: x,
                    });
                }
            } else {
                filters.push(Filter::In {
                    col: i,
                    values: vals,
                });
            }
        }
        if let Some((x, incl)) = r.lower {
            need_filter = true;
            filters.push(Filter::Compare {
                col: i,
                op: if incl { Operator::Gte } else { Operator::Gt },
                value: x,
            });
        }
        if let Some((x, incl)) = r.upper {
            need_filter = true;
            filters.push(Filter::Compare {
                col: i,
                op: if incl { Operator::Lte } else { Operator::Lt },
                value: x,
            });
        }
    }

    let needs_filtering = if let Some(m) = clustering_msg {
        Some(m)
    } else if need_filter || (scanning && sel.restricted) {
        Some(FILTERING_MESSAGE.to_string())
    } else {
        None
    };
    Ok(Where {
        keys,
        clustering: sel,
        filters,
        needs_filtering,
        missing_key_parts,
    })
}

fn multi_columns<'a>(
    t: &'a TableMetadata,
    names: &[String],
) -> CqlResult<(usize, Vec<&'a ColumnMetadata>)> {
    let ck: Vec<&ColumnMetadata> = t.clustering().collect();
    let mut first = None;
    let mut cols = Vec::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        let (_, c) = column(t, name)?;
        if c.kind != ColumnKind::Clustering {
            return Err(CqlError::invalid(format!(
                "Multi-column relations can only be applied to clustering columns but was applied to: {}",
                c.name
            )));
        }
        let p = usize::try_from(c.position).unwrap_or(0);
        let f = *first.get_or_insert(p);
        if p != f + k {
            return Err(CqlError::invalid(
                "Clustering columns must appear in the PRIMARY KEY order in multi-column relations",
            ));
        }
        cols.push(c);
    }
    let _ = ck;
    Ok((first.unwrap_or(0), cols))
}

fn product(prefixes: Vec<Vec<CqlValue>>, vals: &[CqlValue]) -> CqlResult<Vec<Vec<CqlValue>>> {
    let mut out = Vec::with_capacity(prefixes.len() * vals.len());
    for p in &prefixes {
        for x in vals {
            let mut q = p.clone();
            q.push(x.clone());
            out.push(q);
            if out.len() > IN_PRODUCT_MAX {
                return Err(CqlError::invalid(format!(
                    "IN restrictions select more than {IN_PRODUCT_MAX} partitions"
                )));
            }
        }
    }
    Ok(out)
}

/// Whether a row (values indexed like `t.columns`) passes every filter.
pub fn row_matches(t: &TableMetadata, filters: &[Filter], row: &[CellInfo]) -> bool {
    filters.iter().all(|f| filter_matches(t, f, row))
}

fn value_of(row: &[CellInfo], i: usize) -> Option<&CqlValue> {
    row.get(i).and_then(|c| c.value.as_ref())
}

fn cmp_op(ord: Ordering, op: Operator) -> bool {
    match op {
        Operator::Eq => ord == Ordering::Equal,
        Operator::Neq => ord != Ordering::Equal,
        Operator::Lt => ord == Ordering::Less,
        Operator::Lte => ord != Ordering::Greater,
        Operator::Gt => ord == Ordering::Greater,
        Operator::Gte => ord != Ordering::Less,
        Operator::Contains | Operator::ContainsKey | Operator::Like => false,
    }
}

fn filter_matches(t: &TableMetadata, f: &Filter, row: &[CellInfo]) -> bool {
    let ty = |i: usize| t.columns.get(i).map(|c| &c.cql_type);
    match f {
        Filter::Compare { col, op, value } => {
            let (Some(x), Some(ty)) = (value_of(row, *col), ty(*col)) else { return false };
            match (op, x) {
                (Operator::Contains, CqlValue::List(items) | CqlValue::Set(items)) => {
                    let et = match ty.unfrozen() {
                        CqlType::List(e) | CqlType::Set(e) => e,
                        _ => return false,
                    };
                    items.iter().any(|e| compare(e, value, et) == Ordering::Equal)
                }
                (Operator::Contains, CqlValue::Map(entries)) => {
                    let CqlType::Map(_, vt) = ty.unfrozen() else { return false };
                    entries.iter().any(|(_, e)| compare(e, value, vt) == Ordering::Equal)
                }
                (Operator::ContainsKey, CqlValue::Map(entries)) => {
                    let CqlType::Map(kt, _) = ty.unfrozen() else { return false };
                    entries.iter().any(|(k, _)| compare(k, value, kt) == Ordering::Equal)
                }
                (Operator::Contains | Operator::ContainsKey, _) => false,
                _ => cmp_op(compare(x, value, ty), *op),
            }
        }
        Filter::In { col, values } => {
            let (Some(x), Some(ty)) = (value_of(row, *col), ty(*col)) else { return false };
            values.iter().any(|v| compare(x, v, ty) == Ordering::Equal)
        }
        Filter::Element { col, key, op, value } => {
            let (Some(x), Some(ty)) = (value_of(row, *col), ty(*col)) else { return false };
            match (x, ty.unfrozen()) {
                (CqlValue::Map(entries), CqlType::Map(kt, vt)) => entries
                    .iter()
                    .find(|(k, _)| compare(k, key, kt) == Ordering::Equal)
                    .is_some_and(|(_, e)| cmp_op(compare(e, value, vt), *op)),
                (CqlValue::List(items), CqlType::List(et)) => {
                    let CqlValue::Int(i) = key else { return false };
                    usize::try_from(*i)
                        .ok()
                        .and_then(|i| items.get(i))
                        .is_some_and(|e| cmp_op(compare(e, value, et), *op))
                }
                _ => false,
            }
        }
        Filter::Tuple { cols, op, values } => {
            let mut ord = Ordering::Equal;
            for (i, v) in cols.iter().zip(values) {
                let (Some(x), Some(ty)) = (value_of(row, *i), ty(*i)) else { return false };
                ord = compare(x, v, ty);
                if ord != Ordering::Equal {
                    break;
                }
            }
            cmp_op(ord, *op)
        }
        Filter::TupleIn { cols, values } => values.iter().any(|tuple| {
            cols.iter().zip(tuple).all(|(i, v)| {
                matches!((value_of(row, *i), ty(*i)), (Some(x), Some(ty)) if compare(x, v, ty) == Ordering::Equal)
            })
        }),
    }
}
