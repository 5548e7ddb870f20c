//! Values in statements: bound values and literals turned into typed [`CqlValue`]s.
//!
//! A statement's terms (`42`, `'x'`, `[1, 2]`, `?`, `:name`, `now()`) only get a type
//! from their *receiver*: the column, collection element, map key, UDT field or
//! pseudo-column (`[limit]`, `[ttl]`) they are assigned to or compared with. The same
//! walk therefore serves two purposes: at PREPARE it records each bind marker's
//! receiver as a [`ColumnSpec`] (what drivers serialize bound values with), at EXECUTE
//! it converts each term into a value ([`eval_term`]).
//!
//! Null and UNSET are not values: a term evaluates to [`Val`], which keeps them apart
//! (UNSET leaves a column untouched, null deletes it). Collection literals are checked
//! the way Cassandra checks them (`null is not supported inside collections`), sets and
//! maps are sorted and deduplicated in CQL order so they equal what a read returns.
//!
//! What not: user-defined functions; only the built-in value functions that take no
//! column (`now()`, `uuid()`, `currentTimestamp()`...) are evaluated here.

use std::cmp::Ordering;

use sibyl_cql::parser::{BindMarker, QualifiedName, Term};
use sibyl_cql::types::{compare, deserialize, parse_literal, CqlType, CqlValue, TypeError};

use crate::error::{CqlError, CqlResult};
use crate::query::functions::ArgKind;
use crate::query::result::ColumnSpec;

/// Deepest nesting of collection/tuple literals we evaluate; matches the types
/// module's own bound so recursion on client text stays well inside the stack.
pub const TERM_NESTING_MAX: usize = sibyl_cql::types::MAX_NESTING_DEPTH;

/// Offset between the UUID epoch (1582-10-15) and the Unix epoch, in 100 ns units.
pub const UUID_EPOCH_OFFSET_100NS: i64 = 0x01B2_1DD2_1381_4000;

/// A term's value: null, unset, or a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Unset,
    Value(CqlValue),
}

impl Val {
    /// The value, failing with `what` when it is null or unset.
    pub fn required(self, what: &str) -> CqlResult<CqlValue> {
        match self {
            Val::Value(v) => Ok(v),
            Val::Null => Err(CqlError::invalid(format!("Invalid null value for {what}"))),
            Val::Unset => Err(CqlError::invalid(format!("Invalid unset value for {what}"))),
        }
    }
}

/// The values bound to one execution, with the time functions see.
#[derive(Clone, Copy)]
pub struct Values<'a> {
    pub values: &'a [Option<Vec<u8>>],
    pub unset: &'a [bool],
    /// The coordinator's clock (µs) for `now()` and friends.
    pub now_micros: i64,
}

impl Values<'_> {
    /// The value bound to `marker`, decoded as `ty`.
    pub fn get(&self, marker: &BindMarker, ty: &CqlType, receiver: &str) -> CqlResult<Val> {
        if self.unset.get(marker.index).copied().unwrap_or(false) {
            return Ok(Val::Unset);
        }
        match self.values.get(marker.index) {
            None => Err(CqlError::invalid(format!(
                "No value bound for marker {} ({receiver})",
                marker.index
            ))),
            Some(None) => Ok(Val::Null),
            Some(Some(bytes)) => deserialize(bytes, ty).map(Val::Value).map_err(|e| {
                CqlError::invalid(format!("Exception while binding column {receiver}: {e}"))
            }),
        }
    }
}

/// A type error as the query layer reports it (all are Invalid requests).
pub fn type_err(e: TypeError) -> CqlError {
    CqlError::Invalid(e.to_string())
}

/// Evaluates `term` for a receiver of type `ty` named `receiver`.
pub fn eval_term(term: &Term, ty: &CqlType, receiver: &str, v: &Values<'_>) -> CqlResult<Val> {
    eval_at(term, ty, receiver, v, 0)
}

fn eval_at(
    term: &Term,
    ty: &CqlType,
    receiver: &str,
    v: &Values<'_>,
    depth: usize,
) -> CqlResult<Val> {
    if depth > TERM_NESTING_MAX {
        return Err(CqlError::invalid("Literal nested too deeply"));
    }
    let d = depth + 1;
    let bad = |what: &str| {
        CqlError::invalid(format!(
            "Invalid {what} literal for {receiver} of type {ty}"
        ))
    };
    match term {
        Term::Constant(c) => match c.kind.literal_kind() {
            None => Ok(Val::Null),
            Some(kind) => parse_literal(kind, &c.text, ty, receiver)
                .map(Val::Value)
                .map_err(type_err),
        },
        Term::Bind(m) => v.get(m, ty, receiver),
        Term::Cast { term, .. } => eval_at(term, ty, receiver, v, d),
        Term::FunctionCall { name, args } => eval_function(name, args, ty, receiver, v),
        Term::EmptyCollection => match ty.unfrozen() {
            CqlType::List(_) => Ok(Val::Value(CqlValue::List(Vec::new()))),
            CqlType::Set(_) => Ok(Val::Value(CqlValue::Set(Vec::new()))),
            CqlType::Map(..) => Ok(Val::Value(CqlValue::Map(Vec::new()))),
            _ => Err(bad("set")),
        },
        Term::List(items) => match ty.unfrozen() {
            CqlType::List(e) => Ok(Val::Value(CqlValue::List(elements(
                Some("list"),
                items,
                e,
                receiver,
                v,
                d,
            )?))),
            CqlType::Vector(e, n) => {
                if items.len() != *n {
                    return Err(CqlError::invalid(format!(
                        "Invalid vector literal for {receiver} of type {ty}; expected {n} elements, but given {}",
                        items.len()
                    )));
                }
                Ok(Val::Value(CqlValue::Vector(elements(
                    None, items, e, receiver, v, d,
                )?)))
            }
            _ => Err(bad("list")),
        },
        Term::Set(items) => match ty.unfrozen() {
            CqlType::Set(e) => {
                let mut out = elements(Some("set"), items, e, receiver, v, d)?;
                out.sort_by(|a, b| compare(a, b, e));
                out.dedup_by(|a, b| compare(a, b, e) == Ordering::Equal);
                Ok(Val::Value(CqlValue::Set(out)))
            }
            _ => Err(bad("set")),
        },
        Term::Map(pairs) => match ty.unfrozen() {
            CqlType::Map(kt, vt) => {
                let mut out: Vec<(CqlValue, CqlValue)> = Vec::with_capacity(pairs.len());
                for (k, val) in pairs {
                    check_assignable("map", "key", k, kt, receiver)?;
                    check_assignable("map", "value", val, vt, receiver)?;
                    let k = element(k, kt, receiver, v, d)?;
                    let val = element(val, vt, receiver, v, d)?;
                    out.push((k, val));
                }
                // Later entries win, as in Cassandra's map literal.
                out.reverse();
                out.sort_by(|a, b| compare(&a.0, &b.0, kt));
                out.dedup_by(|a, b| compare(&a.0, &b.0, kt) == Ordering::Equal);
                Ok(Val::Value(CqlValue::Map(out)))
            }
            _ => Err(bad("map")),
        },
        Term::Tuple(items) => match ty.unfrozen() {
            CqlType::Tuple(types) => {
                if items.len() > types.len() {
                    return Err(CqlError::invalid(format!(
                        "Invalid tuple literal for {receiver}: too many elements. Type {ty} expects {} but got {}",
                        types.len(),
                        items.len()
                    )));
                }
                let mut out = Vec::with_capacity(types.len());
                for (i, t) in types.iter().enumerate() {
                    out.push(match items.get(i) {
                        None => None,
                        Some(item) => match eval_at(item, t, receiver, v, d)? {
                            Val::Value(x) => Some(x),
                            Val::Null | Val::Unset => None,
                        },
                    });
                }
                Ok(Val::Value(CqlValue::Tuple(out)))
            }
            _ => Err(bad("tuple")),
        },
        Term::Udt(fields) => match ty.unfrozen() {
            CqlType::Udt {
                name, fields: defs, ..
            } => {
                let mut out: Vec<Option<CqlValue>> = vec![None; defs.len()];
                for (fname, fterm) in fields {
                    let Some(i) = defs.iter().position(|(n, _)| n == fname) else {
                        return Err(CqlError::invalid(format!(
                            "Unknown field '{fname}' in value of user defined type {name}"
                        )));
                    };
                    let (_, ft) = &defs[i];
                    if let Val::Value(x) = eval_at(fterm, ft, receiver, v, d)? {
                        if let Some(slot) = out.get_mut(i) {
                            *slot = Some(x);
                        }
                    }
                }
                Ok(Val::Value(CqlValue::Udt(out)))
            }
            _ => Err(bad("user type")),
        },
    }
}

fn element(
    term: &Term,
    ty: &CqlType,
    receiver: &str,
    v: &Values<'_>,
    depth: usize,
) -> CqlResult<CqlValue> {
    match eval_at(term, ty, receiver, v, depth)? {
        Val::Value(x) => Ok(x),
        Val::Null => Err(CqlError::invalid(
            "null is not supported inside collections",
        )),
        Val::Unset => Err(CqlError::invalid(
            "unset value is not supported inside collections",
        )),
    }
}

/// Cassandra's collection literal check (`Lists.Literal.validateAssignableTo` and
/// its set/map twins): a constant element of the wrong kind is reported against the
/// whole literal, e.g. `Invalid list literal for l: value 'a' is not of type int`.
fn check_assignable(
    literal: &str,
    role: &str,
    item: &Term,
    ty: &CqlType,
    receiver: &str,
) -> CqlResult<()> {
    if let Term::Constant(c) = item {
        if let Some(kind) = c.kind.literal_kind() {
            if !sibyl_cql::types::literal::is_assignable(kind, ty) {
                return Err(CqlError::invalid(format!(
                    "Invalid {literal} literal for {receiver}: {role} {item} is not of type {ty}"
                )));
            }
        }
    }
    Ok(())
}

/// The elements of a collection literal; `literal` names it ("list", "set") for
/// Cassandra's element check (vectors have none).
fn elements(
    literal: Option<&str>,
    items: &[Term],
    ty: &CqlType,
    receiver: &str,
    v: &Values<'_>,
    depth: usize,
) -> CqlResult<Vec<CqlValue>> {
    if let Some(literal) = literal {
        for item in items {
            check_assignable(literal, "value", item, ty, receiver)?;
        }
    }
    items
        .iter()
        .map(|t| element(t, ty, receiver, v, depth))
        .collect()
}

/// A native function call in a value position (`INSERT ... VALUES (now())`,
/// `textAsBlob('hi')`, `WHERE tu > maxTimeuuid('2024-01-01')`): resolved against its
/// literal/bind arguments, applied, and checked against the receiver's type.
fn eval_function(
    name: &QualifiedName,
    args: &[Term],
    ty: &CqlType,
    receiver: &str,
    v: &Values<'_>,
) -> CqlResult<Val> {
    let fname = name.name.to_ascii_lowercase();
    if !crate::query::functions::exists(&fname) {
        return Err(CqlError::invalid(format!(
            "Unknown function {fname} called in {receiver}"
        )));
    }
    let kinds: Vec<ArgKind> = args.iter().map(ArgKind::of_term).collect();
    let f = crate::query::functions::resolve(&fname, &kinds)?;
    let mut vals = Vec::with_capacity(args.len());
    for (a, pty) in args.iter().zip(&f.params) {
        vals.push(match eval_term(a, pty, &f.qualified(), v)? {
            Val::Value(x) => Some(x),
            Val::Null | Val::Unset => None,
        });
    }
    let Some(value) = f.apply(&vals, v.now_micros)? else {
        return Ok(Val::Null);
    };
    // A function's result must fit its receiver (e.g. `now()` into a timeuuid).
    let fits = f.ret == *ty.unfrozen()
        || matches!(
            (&f.ret, ty.unfrozen()),
            (CqlType::Timeuuid, CqlType::Uuid) | (CqlType::Ascii, CqlType::Text)
        );
    if !fits {
        return Err(CqlError::invalid(format!(
            "Type error: cannot assign result of function {} (type {}) to {receiver} (type {ty})",
            f.qualified(),
            f.ret
        )));
    }
    Ok(Val::Value(match (value, ty.unfrozen()) {
        (CqlValue::Timeuuid(u), CqlType::Uuid) => CqlValue::Uuid(u),
        (CqlValue::Ascii(a), CqlType::Text) => CqlValue::Text(a),
        (x, _) => x,
    }))
}

/// A version-1 (time-based) UUID for `micros`, with a random clock sequence and node.
pub fn timeuuid(micros: i64) -> u128 {
    let t = micros
        .saturating_mul(10)
        .saturating_add(UUID_EPOCH_OFFSET_100NS) as u64;
    let time_low = t & 0xffff_ffff;
    let time_mid = (t >> 32) & 0xffff;
    let time_hi = ((t >> 48) & 0x0fff) | 0x1000;
    let rnd: u64 = rand::random();
    let clock_seq = 0x8000 | ((rnd >> 48) & 0x3fff);
    let node = rnd & 0xffff_ffff_ffff;
    (u128::from(time_low) << 96)
        | (u128::from(time_mid) << 80)
        | (u128::from(time_hi) << 64)
        | (u128::from(clock_seq) << 48)
        | u128::from(node)
}

/// A random (version 4) UUID.
pub fn random_uuid() -> u128 {
    let r: u128 = rand::random();
    (r & !(0xf000_u128 << 64) & !(0xc000_u128 << 48)) | (0x4000_u128 << 64) | (0x8000_u128 << 48)
}

/// Records bind-marker receivers while walking a statement at PREPARE.
pub struct SpecSink {
    pub keyspace: String,
    pub table: String,
    pub specs: Vec<Option<ColumnSpec>>,
}

impl SpecSink {
    pub fn new(keyspace: &str, table: &str, count: usize) -> SpecSink {
        SpecSink {
            keyspace: keyspace.to_string(),
            table: table.to_string(),
            specs: vec![None; count],
        }
    }

    /// Records the receivers of every marker inside `term` (receiver `name` of type `ty`).
    pub fn term(&mut self, term: &Term, ty: &CqlType, name: &str) {
        self.term_at(term, ty, name, 0);
    }

    fn term_at(&mut self, term: &Term, ty: &CqlType, name: &str, depth: usize) {
        if depth > TERM_NESTING_MAX {
            return;
        }
        let d = depth + 1;
        match term {
            Term::Bind(m) => self.marker(m, ty, name),
            Term::Cast { term, .. } => self.term_at(term, ty, name, d),
            Term::List(items) | Term::Set(items) => {
                let elem = match ty.unfrozen() {
                    CqlType::List(e) | CqlType::Set(e) | CqlType::Vector(e, _) => (**e).clone(),
                    _ => return,
                };
                for i in items {
                    self.term_at(i, &elem, name, d);
                }
            }
            Term::Map(pairs) => {
                if let CqlType::Map(k, v) = ty.unfrozen() {
                    for (a, b) in pairs {
                        self.term_at(a, k, name, d);
                        self.term_at(b, v, name, d);
                    }
                }
            }
            Term::Tuple(items) => {
                if let CqlType::Tuple(types) = ty.unfrozen() {
                    for (i, t) in items.iter().zip(types) {
                        self.term_at(i, t, name, d);
                    }
                }
            }
            Term::Udt(fields) => {
                if let CqlType::Udt { fields: defs, .. } = ty.unfrozen() {
                    for (f, t) in fields {
                        if let Some((_, ft)) = defs.iter().find(|(n, _)| n == f) {
                            self.term_at(t, ft, f, d);
                        }
                    }
                }
            }
            Term::Constant(_) | Term::EmptyCollection | Term::FunctionCall { .. } => {}
        }
    }

    /// Records one marker's receiver (a `:name` marker keeps its name).
    pub fn marker(&mut self, m: &BindMarker, ty: &CqlType, name: &str) {
        if let Some(slot) = self.specs.get_mut(m.index) {
            *slot = Some(ColumnSpec {
                keyspace: self.keyspace.clone(),
                table: self.table.clone(),
                name: m.name.clone().unwrap_or_else(|| name.to_string()),
                cql_type: ty.clone(),
            });
        }
    }
}
