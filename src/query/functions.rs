//! Cassandra's native scalar functions: the ones a SELECT may call on columns and a
//! write may call on literals or bind markers.
//!
//! **What.** Each function has a name, typed parameters and a return type, as in
//! Cassandra's `system` keyspace: the blob conversions (`intAsBlob`, `blobAsText`,
//! ... one pair per native type, generated like `BytesConversionFcts`), the time
//! conversions (`toTimestamp`, `toDate`, `toUnixTimestamp`, `minTimeuuid`,
//! `maxTimeuuid` and the deprecated `dateOf`/`unixTimestampOf`) and the argument-free
//! ones (`now`, `uuid`, `currentTimestamp`, `currentDate`, `currentTime`,
//! `currentTimeUUID`).
//!
//! **Resolution** happens once per prepared statement: [`resolve`] picks the
//! overload from the argument types (a selector's type, or for a literal the first
//! overload it is assignable to) and returns a [`NativeFunction`] that execution only
//! applies. Errors use Cassandra's wording: `Unknown function 'x'`, `Invalid call to
//! function x, none of its type signatures match`, and for bytes that are not a value
//! of the target type `In call to function system.blobasint, value 0x6869 is not a
//! valid binary representation for type int`.
//!
//! **Nulls.** Like Cassandra's native functions, a null argument gives a null result.

use sibyl_cql::parser::Term;
use sibyl_cql::types::literal::is_assignable;
use sibyl_cql::types::{deserialize, serialize, CqlType, CqlValue, LiteralKind};

use crate::error::{CqlError, CqlResult};
use crate::query::values::{random_uuid, timeuuid, UUID_EPOCH_OFFSET_100NS};

/// Milliseconds per day (dates are days since the epoch, centred at 2^31).
const MILLIS_PER_DAY: i64 = 86_400_000;

/// The centre of the `date` encoding: day 0 (1970-01-01) is stored as 2^31.
const DATE_EPOCH: i64 = 1 << 31;

/// What a function computes.
#[derive(Clone, Debug, PartialEq)]
enum Body {
    /// `<type>AsBlob`: the argument's serialized bytes.
    ToBlob(CqlType),
    /// `blobAs<type>`: the bytes read as the type.
    FromBlob(CqlType),
    /// `toTimestamp`/`dateOf`.
    ToTimestamp,
    /// `toDate`.
    ToDate,
    /// `toUnixTimestamp`/`unixTimestampOf`.
    ToUnixTimestamp,
    /// `minTimeuuid` / `maxTimeuuid`.
    MinTimeuuid,
    MaxTimeuuid,
    /// Argument-free functions of the statement's time.
    Now,
    Uuid,
    CurrentTimestamp,
    CurrentDate,
    CurrentTime,
}

/// A resolved function call: its name as Cassandra prints it (`system.intasblob`),
/// the parameter types it takes and what it returns.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeFunction {
    /// Lower-case name without keyspace.
    pub name: String,
    /// Parameter types, in order.
    pub params: Vec<CqlType>,
    /// Result type.
    pub ret: CqlType,
    body: Body,
}

/// Native types that have `xAsBlob`/`blobAsX` conversions (every native type but
/// counter, duration and blob itself; Cassandra generates them for all native types).
fn convertible() -> [CqlType; 18] {
    use CqlType as T;
    [
        T::Ascii,
        T::Bigint,
        T::Boolean,
        T::Date,
        T::Decimal,
        T::Double,
        T::Float,
        T::Inet,
        T::Int,
        T::Smallint,
        T::Text,
        T::Time,
        T::Timestamp,
        T::Timeuuid,
        T::Tinyint,
        T::Uuid,
        T::Varint,
        T::Duration,
    ]
}

/// The conversion name of a type: Cassandra uses the CQL name, with `text` for varchar.
fn type_word(t: &CqlType) -> String {
    t.to_string()
}

/// Every overload named `name` (lower-case), in Cassandra's declaration order.
fn overloads(name: &str) -> Vec<NativeFunction> {
    use CqlType as T;
    let f = |params: Vec<CqlType>, ret: CqlType, body: Body| NativeFunction {
        name: name.to_string(),
        params,
        ret,
        body,
    };
    let mut out = Vec::new();
    match name {
        "totimestamp" => {
            out.push(f(vec![T::Timeuuid], T::Timestamp, Body::ToTimestamp));
            out.push(f(vec![T::Date], T::Timestamp, Body::ToTimestamp));
        }
        "dateof" => out.push(f(vec![T::Timeuuid], T::Timestamp, Body::ToTimestamp)),
        "todate" => {
            out.push(f(vec![T::Timeuuid], T::Date, Body::ToDate));
            out.push(f(vec![T::Timestamp], T::Date, Body::ToDate));
        }
        "tounixtimestamp" => {
            out.push(f(vec![T::Timeuuid], T::Bigint, Body::ToUnixTimestamp));
            out.push(f(vec![T::Timestamp], T::Bigint, Body::ToUnixTimestamp));
            out.push(f(vec![T::Date], T::Bigint, Body::ToUnixTimestamp));
        }
        "unixtimestampof" => out.push(f(vec![T::Timeuuid], T::Bigint, Body::ToUnixTimestamp)),
        "mintimeuuid" => out.push(f(vec![T::Timestamp], T::Timeuuid, Body::MinTimeuuid)),
        "maxtimeuuid" => out.push(f(vec![T::Timestamp], T::Timeuuid, Body::MaxTimeuuid)),
        "now" | "currenttimeuuid" => out.push(f(vec![], T::Timeuuid, Body::Now)),
        "uuid" => out.push(f(vec![], T::Uuid, Body::Uuid)),
        "currenttimestamp" => out.push(f(vec![], T::Timestamp, Body::CurrentTimestamp)),
        "currentdate" => out.push(f(vec![], T::Date, Body::CurrentDate)),
        "currenttime" => out.push(f(vec![], T::Time, Body::CurrentTime)),
        _ => {
            for t in convertible() {
                let w = type_word(&t);
                if name == format!("{w}asblob") {
                    out.push(f(vec![t.clone()], T::Blob, Body::ToBlob(t.clone())));
                } else if name == format!("blobas{w}") {
                    out.push(f(vec![T::Blob], t.clone(), Body::FromBlob(t.clone())));
                }
            }
            if name == "varcharasblob" {
                out.push(f(vec![T::Text], T::Blob, Body::ToBlob(T::Text)));
            } else if name == "blobasvarchar" {
                out.push(f(vec![T::Blob], T::Text, Body::FromBlob(T::Text)));
            }
        }
    }
    out
}

/// True when `name` (any case) is a native scalar function.
pub fn exists(name: &str) -> bool {
    !overloads(&name.to_ascii_lowercase()).is_empty()
}

/// What is known of an argument when resolving: a typed expression (a column, a
/// nested call), something that takes the parameter's type (a bind marker, null, a
/// nested call in a value), or a literal of some kind.
pub enum ArgKind {
    /// An expression of this type.
    Typed(CqlType),
    /// Takes the parameter's type.
    Any,
    /// A literal of this kind (Cassandra's assignment test decides the overload).
    Literal(LiteralKind),
}

impl ArgKind {
    /// The kind of a term written as an argument.
    pub fn of_term(term: &Term) -> ArgKind {
        match term {
            Term::Constant(c) => c.kind.literal_kind().map_or(ArgKind::Any, ArgKind::Literal),
            _ => ArgKind::Any,
        }
    }
}

/// Picks the overload of `name` for `args`.
pub fn resolve(name: &str, args: &[ArgKind]) -> CqlResult<NativeFunction> {
    let lname = name.to_ascii_lowercase();
    let all = overloads(&lname);
    if all.is_empty() {
        return Err(CqlError::invalid(format!("Unknown function '{lname}'")));
    }
    let fits = |f: &NativeFunction| {
        f.params.len() == args.len()
            && f.params.iter().zip(args).all(|(p, a)| match a {
                ArgKind::Typed(t) => compatible(t, p),
                ArgKind::Any => true,
                ArgKind::Literal(kind) => is_assignable(*kind, p),
            })
    };
    if let Some(f) = all.iter().find(|f| fits(f)) {
        return Ok(f.clone());
    }
    if all.iter().all(|f| f.params.len() != args.len()) {
        return Err(CqlError::invalid(format!(
            "Invalid number of arguments in call to function system.{lname}: {} required but {} provided",
            all[0].params.len(),
            args.len()
        )));
    }
    let given: Vec<String> = args
        .iter()
        .map(|a| match a {
            ArgKind::Typed(t) => t.to_string(),
            _ => "?".into(),
        })
        .collect();
    Err(CqlError::invalid(format!(
        "Invalid call to function {lname}, none of its type signatures match (types {})",
        given.join(", ")
    )))
}

/// Whether a value of `actual` may be passed where `param` is expected.
fn compatible(actual: &CqlType, param: &CqlType) -> bool {
    let a = actual.unfrozen();
    a == param || matches!((a, param), (CqlType::Ascii, CqlType::Text))
}

impl NativeFunction {
    /// The name in result headers and messages: `system.intasblob`.
    pub fn qualified(&self) -> String {
        format!("system.{}", self.name)
    }

    /// Applies the function; `now_micros` is the statement's time.
    pub fn apply(&self, args: &[Option<CqlValue>], now_micros: i64) -> CqlResult<Option<CqlValue>> {
        use CqlValue as V;
        let arg = args.first().cloned().flatten();
        if !self.params.is_empty() && arg.is_none() {
            return Ok(None);
        }
        Ok(Some(match (&self.body, arg) {
            (Body::ToBlob(t), Some(v)) => V::Blob(
                serialize(&v, t).map_err(|e| CqlError::invalid(e.to_string()))?,
            ),
            (Body::FromBlob(t), Some(V::Blob(b))) => deserialize(&b, t).map_err(|_| {
                CqlError::invalid(format!(
                    "In call to function {}, value 0x{} is not a valid binary representation for type {t}",
                    self.qualified(),
                    hex(&b)
                ))
            })?,
            (Body::ToTimestamp, Some(v)) => V::Timestamp(millis_of(&v)?),
            (Body::ToDate, Some(v)) => {
                V::Date(date_of_millis(millis_of(&v)?))
            }
            (Body::ToUnixTimestamp, Some(v)) => V::Bigint(millis_of(&v)?),
            (Body::MinTimeuuid, Some(V::Timestamp(ms))) => V::Timeuuid(bound_timeuuid(ms, false)),
            (Body::MaxTimeuuid, Some(V::Timestamp(ms))) => V::Timeuuid(bound_timeuuid(ms, true)),
            (Body::Now, _) => V::Timeuuid(timeuuid(now_micros)),
            (Body::Uuid, _) => V::Uuid(random_uuid()),
            (Body::CurrentTimestamp, _) => V::Timestamp(now_micros.div_euclid(1000)),
            (Body::CurrentDate, _) => {
                V::Date(date_of_millis(now_micros.div_euclid(1000)))
            }
            (Body::CurrentTime, _) => {
                V::Time(now_micros.rem_euclid(MILLIS_PER_DAY * 1000) * 1000)
            }
            (_, other) => {
                return Err(CqlError::invalid(format!(
                    "Invalid argument {other:?} in call to function {}",
                    self.qualified()
                )))
            }
        }))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The `date` (days centred at 2^31) holding Unix millisecond `ms`, clamped to the
/// type's range.
pub fn date_of_millis(ms: i64) -> u32 {
    (ms.div_euclid(MILLIS_PER_DAY) + DATE_EPOCH).clamp(0, i64::from(u32::MAX)) as u32
}

/// Milliseconds since the epoch of a timeuuid, timestamp or date.
fn millis_of(v: &CqlValue) -> CqlResult<i64> {
    Ok(match v {
        CqlValue::Timeuuid(u) | CqlValue::Uuid(u) => timeuuid_millis(*u),
        CqlValue::Timestamp(ms) => *ms,
        CqlValue::Date(d) => (i64::from(*d) - DATE_EPOCH) * MILLIS_PER_DAY,
        other => {
            return Err(CqlError::invalid(format!(
                "Cannot convert {} to a time",
                other.kind_name()
            )))
        }
    })
}

/// The Unix milliseconds of a version-1 UUID's timestamp.
pub fn timeuuid_millis(u: u128) -> i64 {
    let time_low = ((u >> 96) & 0xffff_ffff) as i64;
    let time_mid = ((u >> 80) & 0xffff) as i64;
    let time_hi = ((u >> 64) & 0x0fff) as i64;
    let t = (time_hi << 48) | (time_mid << 32) | time_low;
    (t - UUID_EPOCH_OFFSET_100NS).div_euclid(10_000)
}

/// The smallest (or largest) version-1 UUID of millisecond `ms`, as Cassandra's
/// `TimeUUID.minAtUnixMillis`/`maxAtUnixMillis`: the clock sequence and node bits
/// at their signed-byte minimum (`0x8080808080808080`) or maximum
/// (`0x7f7f7f7f7f7f7f7f`).
fn bound_timeuuid(ms: i64, max: bool) -> u128 {
    let ticks = ms
        .saturating_mul(10_000)
        .saturating_add(UUID_EPOCH_OFFSET_100NS)
        .saturating_add(if max { 9_999 } else { 0 }) as u64;
    let msb = ((ticks & 0xffff_ffff) << 32)
        | (((ticks >> 32) & 0xffff) << 16)
        | 0x1000
        | ((ticks >> 48) & 0x0fff);
    let lsb: u64 = if max {
        0x7f7f_7f7f_7f7f_7f7f
    } else {
        0x8080_8080_8080_8080
    };
    (u128::from(msb) << 64) | u128::from(lsb)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Checks blob conversions both ways and the invalid-bytes message.
    #[test]
    fn blob_conversions() {
        let f = resolve("intAsBlob", &[ArgKind::Typed(CqlType::Int)]).expect("resolve");
        assert_eq!(f.ret, CqlType::Blob);
        assert_eq!(
            f.apply(&[Some(CqlValue::Int(255))], 0).expect("apply"),
            Some(CqlValue::Blob(vec![0, 0, 0, 255]))
        );
        let g = resolve("blobasint", &[ArgKind::Typed(CqlType::Blob)]).expect("resolve");
        assert_eq!(
            g.apply(&[Some(CqlValue::Blob(b"hi".to_vec()))], 0)
                .unwrap_err()
                .to_string(),
            "In call to function system.blobasint, value 0x6869 is not a valid binary representation for type int"
        );
        assert_eq!(g.apply(&[None], 0).expect("null"), None);
        assert!(resolve("nosuch", &[]).is_err());
        assert!(resolve("intasblob", &[ArgKind::Typed(CqlType::Text)]).is_err());
    }

    // Checks the time conversions on a known timeuuid (Cassandra's docs example).
    #[test]
    fn time_conversions() {
        // 2014-10-17 21:27:39.541 UTC (the timeuuid in Cassandra's CQL docs).
        let u: u128 = 0x6bdd_c89a_5644_11e4_97fc_5684_7afe_9799;
        let ms = timeuuid_millis(u);
        assert_eq!(ms, 1_413_581_259_541);
        let f = resolve("toDate", &[ArgKind::Typed(CqlType::Timeuuid)]).expect("resolve");
        let Some(CqlValue::Date(d)) = f.apply(&[Some(CqlValue::Timeuuid(u))], 0).expect("apply")
        else {
            panic!("not a date");
        };
        assert_eq!(i64::from(d) - DATE_EPOCH, 16_360);
        let min = bound_timeuuid(ms, false);
        let max = bound_timeuuid(ms, true);
        assert_eq!(timeuuid_millis(min), ms);
        assert_eq!(timeuuid_millis(max), ms);
        assert!(min < max);
    }
}
