//! [`compare`]: the CQL order of each type (what clustering, `ORDER BY`,
//! `min`/`max` and set/map canonicalization use).
//!
//! Matches Cassandra's `AbstractType.compare` per type:
//!
//! * the empty value sorts before every other value of its type; inside
//!   tuples/UDTs a null field sorts before everything, including empty;
//! * integers, `timestamp`, `time`, `counter`: signed numeric; `date`:
//!   unsigned day number (= chronological);
//! * `float`/`double`: Java's `Float.compare`/`Double.compare`: `-0.0 < 0.0`,
//!   NaN above +∞, all NaNs equal;
//! * `varint`, `decimal`: numeric (`1.0 == 1.00`);
//! * `text`, `ascii`, `blob`, custom: unsigned bytes (UTF-8 byte order is
//!   code point order); `inet`: unsigned bytes, so every IPv4 address
//!   (4 bytes) is compared as a byte prefix against IPv6's 16;
//! * `boolean`: false < true;
//! * `timeuuid` (`TimeUUIDType`): by the 60-bit timestamp, then the low 8
//!   bytes compared as *signed* bytes;
//! * `uuid` (`UUIDType.compareCustom`): by version nibble; version 1 by
//!   timestamp then the low 8 bytes unsigned; other versions by the high then
//!   low 8 bytes unsigned;
//! * frozen list/set/vector: element-wise, then shorter first; map: entry by
//!   entry (key, then value), then shorter first; tuple/UDT: field by field;
//! * `duration`: Cassandra defines no order; we compare (months, days,
//!   nanos) so the function is total, but duration is refused as a
//!   clustering type by the byte-comparable encoder.
//!
//! Values of the wrong shape for the type are ordered by a fixed fallback
//! (their variant) so the function never panics.

use std::cmp::Ordering;

use super::cql_type::CqlType;
use super::value::CqlValue;

/// Java `Double.compare`.
pub fn java_double_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal).then_with(|| {
            // -0.0 < 0.0
            b.is_sign_negative().cmp(&a.is_sign_negative())
        }),
    }
}

/// Java `Float.compare`.
pub fn java_float_cmp(a: f32, b: f32) -> Ordering {
    java_double_cmp(f64::from(a), f64::from(b))
}

/// `TimeUUIDType.reorderTimestampBytes`: time_hi (with version) | time_mid | time_low.
pub fn reorder_timestamp(msb: u64) -> u64 {
    (msb << 48) | ((msb << 16) & 0xFFFF_0000_0000) | (msb >> 32)
}

/// Inverse of [`reorder_timestamp`].
pub fn unreorder_timestamp(r: u64) -> u64 {
    let time_hi = r >> 48;
    let time_mid = (r >> 32) & 0xFFFF;
    let time_low = r & 0xFFFF_FFFF;
    (time_low << 32) | (time_mid << 16) | time_hi
}

fn uuid_cmp(a: u128, b: u128) -> Ordering {
    let (am, bm) = ((a >> 64) as u64, (b >> 64) as u64);
    let (al, bl) = (a as u64, b as u64);
    let (av, bv) = ((am >> 12) & 0xf, (bm >> 12) & 0xf);
    av.cmp(&bv)
        .then_with(|| {
            if av == 1 {
                (reorder_timestamp(am) as i64).cmp(&(reorder_timestamp(bm) as i64))
            } else {
                am.cmp(&bm)
            }
        })
        .then_with(|| al.cmp(&bl))
}

fn timeuuid_cmp(a: u128, b: u128) -> Ordering {
    let (am, bm) = ((a >> 64) as u64, (b >> 64) as u64);
    let flip = 0x8080_8080_8080_8080u64;
    (reorder_timestamp(am) as i64)
        .cmp(&(reorder_timestamp(bm) as i64))
        .then_with(|| ((a as u64) ^ flip).cmp(&((b as u64) ^ flip)))
}

fn inet_bytes(ip: &std::net::IpAddr) -> Vec<u8> {
    match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn seq_cmp(a: &[CqlValue], b: &[CqlValue], t: &CqlType) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = compare(x, y, t);
        if c.is_ne() {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

fn fields_cmp<'t>(
    a: &[Option<CqlValue>],
    b: &[Option<CqlValue>],
    types: impl Iterator<Item = &'t CqlType>,
) -> Ordering {
    for (i, t) in types.enumerate() {
        let x = a.get(i).and_then(|v| v.as_ref());
        let y = b.get(i).and_then(|v| v.as_ref());
        let c = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => compare(x, y, t),
        };
        if c.is_ne() {
            return c;
        }
    }
    Ordering::Equal
}

fn variant_rank(v: &CqlValue) -> u8 {
    // Fallback order for ill-typed input: stable and total, otherwise meaningless.
    v.kind_name()
        .bytes()
        .fold(0u8, |acc, b| acc.wrapping_mul(31).wrapping_add(b))
}

/// Compares two values of type `ty` in the type's CQL order.
pub fn compare(a: &CqlValue, b: &CqlValue, ty: &CqlType) -> Ordering {
    use CqlValue as V;
    match (a, b) {
        (V::Empty, V::Empty) => return Ordering::Equal,
        (V::Empty, _) => return Ordering::Less,
        (_, V::Empty) => return Ordering::Greater,
        _ => {}
    }
    let t = ty.unfrozen();
    match (t, a, b) {
        (
            _,
            V::Bigint(x) | V::Counter(x) | V::Timestamp(x) | V::Time(x),
            V::Bigint(y) | V::Counter(y) | V::Timestamp(y) | V::Time(y),
        ) => x.cmp(y),
        (_, V::Int(x), V::Int(y)) => x.cmp(y),
        (_, V::Smallint(x), V::Smallint(y)) => x.cmp(y),
        (_, V::Tinyint(x), V::Tinyint(y)) => x.cmp(y),
        (_, V::Date(x), V::Date(y)) => x.cmp(y),
        (_, V::Boolean(x), V::Boolean(y)) => x.cmp(y),
        (_, V::Float(x), V::Float(y)) => java_float_cmp(*x, *y),
        (_, V::Double(x), V::Double(y)) => java_double_cmp(*x, *y),
        (_, V::Varint(x), V::Varint(y)) => x.cmp(y),
        (_, V::Decimal(x), V::Decimal(y)) => x.canonical().cmp(&y.canonical()),
        (_, V::Text(x) | V::Ascii(x), V::Text(y) | V::Ascii(y)) => x.as_bytes().cmp(y.as_bytes()),
        (_, V::Blob(x) | V::Custom(x), V::Blob(y) | V::Custom(y)) => x.cmp(y),
        (_, V::Inet(x), V::Inet(y)) => inet_bytes(x).cmp(&inet_bytes(y)),
        (CqlType::Timeuuid, V::Timeuuid(x) | V::Uuid(x), V::Timeuuid(y) | V::Uuid(y)) => {
            timeuuid_cmp(*x, *y)
        }
        (_, V::Timeuuid(x) | V::Uuid(x), V::Timeuuid(y) | V::Uuid(y)) => uuid_cmp(*x, *y),
        (_, V::Duration(x), V::Duration(y)) => {
            (x.months, x.days, x.nanos).cmp(&(y.months, y.days, y.nanos))
        }
        (
            CqlType::List(e) | CqlType::Set(e) | CqlType::Vector(e, _),
            V::List(x) | V::Set(x) | V::Vector(x),
            V::List(y) | V::Set(y) | V::Vector(y),
        ) => seq_cmp(x, y, e),
        (CqlType::Map(k, v), V::Map(x), V::Map(y)) => {
            for ((xk, xv), (yk, yv)) in x.iter().zip(y) {
                let c = compare(xk, yk, k).then_with(|| compare(xv, yv, v));
                if c.is_ne() {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (CqlType::Tuple(ts), V::Tuple(x), V::Tuple(y)) => fields_cmp(x, y, ts.iter()),
        (CqlType::Udt { fields, .. }, V::Udt(x), V::Udt(y)) => {
            fields_cmp(x, y, fields.iter().map(|(_, t)| t))
        }
        _ => variant_rank(a).cmp(&variant_rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::num::Decimal;

    // Checks Java float semantics: -0.0 < 0.0 and NaN greatest.
    #[test]
    fn floats() {
        assert_eq!(java_double_cmp(-0.0, 0.0), Ordering::Less);
        assert_eq!(java_double_cmp(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(java_double_cmp(f64::NAN, -f64::NAN), Ordering::Equal);
        assert_eq!(java_float_cmp(1.0, 2.0), Ordering::Less);
    }

    // Checks UUID orders: timeuuid by timestamp then signed bytes, uuid by version first.
    #[test]
    fn uuids() {
        // v1 with time_low larger but time_hi smaller sorts first
        let a = 0xffff_ffff_0000_1000_0000_0000_0000_0000u128;
        let b = 0x0000_0000_0000_1001_0000_0000_0000_0000u128;
        assert_eq!(
            compare(
                &CqlValue::Timeuuid(a),
                &CqlValue::Timeuuid(b),
                &CqlType::Timeuuid
            ),
            Ordering::Less
        );
        // low bytes compared signed for timeuuid, unsigned for uuid
        let c = 0x0000_0000_0000_1000_8000_0000_0000_0000u128;
        let d = 0x0000_0000_0000_1000_7f00_0000_0000_0000u128;
        assert_eq!(
            compare(
                &CqlValue::Timeuuid(c),
                &CqlValue::Timeuuid(d),
                &CqlType::Timeuuid
            ),
            Ordering::Less
        );
        assert_eq!(
            compare(&CqlValue::Uuid(c), &CqlValue::Uuid(d), &CqlType::Uuid),
            Ordering::Greater
        );
        // version 4 sorts after version 1
        let v4 = 0x0000_0000_0000_4000_0000_0000_0000_0000u128;
        assert_eq!(
            compare(&CqlValue::Uuid(a), &CqlValue::Uuid(v4), &CqlType::Uuid),
            Ordering::Less
        );
        for m in [0u64, 0x0123_4567_89ab_1cde, u64::MAX] {
            assert_eq!(unreorder_timestamp(reorder_timestamp(m)), m);
        }
    }

    // Checks empty-first, numeric decimal order and collection length tie-break.
    #[test]
    fn misc() {
        assert_eq!(
            compare(&CqlValue::Empty, &CqlValue::Int(i32::MIN), &CqlType::Int),
            Ordering::Less
        );
        let d = |s: &str| CqlValue::Decimal(Decimal::parse(s).expect(s));
        assert_eq!(
            compare(&d("1.0"), &d("1.00"), &CqlType::Decimal),
            Ordering::Equal
        );
        assert_eq!(
            compare(&d("-1"), &d("0.5"), &CqlType::Decimal),
            Ordering::Less
        );
        let l = CqlType::parse("frozen<list<int>>").expect("t");
        let short = CqlValue::List(vec![CqlValue::Int(1)]);
        let long = CqlValue::List(vec![CqlValue::Int(1), CqlValue::Int(0)]);
        assert_eq!(compare(&short, &long, &l), Ordering::Less);
        let t = CqlType::parse("tuple<int, int>").expect("t");
        let n = CqlValue::Tuple(vec![None, Some(CqlValue::Int(0))]);
        let e = CqlValue::Tuple(vec![Some(CqlValue::Empty), None]);
        assert_eq!(compare(&n, &e, &t), Ordering::Less);
    }
}
