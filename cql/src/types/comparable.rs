//! Byte-comparable encoding of clustering values.
//!
//! The storage engine keys rows by the concatenation of their clustering
//! components' encodings and sorts with plain `memcmp`. This module makes
//! that order equal to CQL's ([`super::compare::compare`]), component by
//! component, ascending or descending per column.
//!
//! # Requirements
//!
//! 1. **Order**: `memcmp(enc(a), enc(b)) == compare(a, b)` for one type.
//! 2. **Prefix-free**: no encoding is a proper prefix of another of the same
//!    type. Together with (1) this makes the concatenation of components
//!    compare like the tuple of values, and lets a decoder find where each
//!    component ends — so "all rows whose clustering starts with P" is the
//!    byte range starting with `enc(P)`.
//! 3. **Reversible** ([`from_comparable`]), except that numerically equal
//!    decimals (`1.0`, `1.00`) share one encoding, because they are the same
//!    clustering key in Cassandra too; they decode to the canonical form
//!    (fewest digits, integers with scale 0).
//!
//! # Layout
//!
//! Every value starts with a header byte:
//!
//! ```text
//! 0x00  end of a collection (only between elements, sorts before them all)
//! 0x01  null (tuple/UDT fields only)
//! 0x02  the empty value
//! 0x03  a value; payload follows
//! ```
//!
//! Payloads (all big-endian):
//!
//! ```text
//! tinyint/smallint/int/bigint/counter/timestamp/time   two's complement, sign bit flipped
//! date        the u32 day number as is (already unsigned-ordered)
//! boolean     00 / 01
//! float/double IEEE bits; NaN canonicalized to the quiet NaN; positive: flip
//!             the sign bit; negative: flip every bit (so -0.0 < 0.0 < … < NaN)
//! text/ascii/blob/custom/inet
//!             the bytes with 00 escaped as 00 FF, then the terminator 00 00;
//!             lexicographic with shorter-is-smaller, like Cassandra's unsigned
//!             byte order (inet is its 4 or 16 raw bytes)
//! uuid        [version nibble][8 bytes: v1 → reordered timestamp, else msb][8 bytes lsb]
//! timeuuid    [8 bytes reordered timestamp, sign flipped][8 bytes lsb, each byte's top bit flipped]
//!             (the second half makes unsigned memcmp equal Java's signed byte compare)
//! varint      negative: 00 [u32 !len] [two's complement bytes]   (len = minimal length)
//!             zero:     01
//!             positive: 02 [u32 len]  [magnitude bytes]          (len = minimal length)
//!             A longer minimal encoding is a larger magnitude; equal lengths compare
//!             by bytes. Inverting the length for negatives makes bigger magnitudes smaller.
//! decimal     value = sign × 0.d₁…dₙ × 10^e with d₁ ≠ 0 and dₙ ≠ 0 (trailing zeros stripped)
//!             negative: 00 [i64 e, sign-flipped, then all bits inverted] [digit pairs as 0xFF-(1+dd)] FF
//!             zero:     01
//!             positive: 02 [i64 e, sign-flipped] [digit pairs as 1+dd] 00
//!             Digits are packed two per byte (dd = 0..99; an odd final digit is padded
//!             with 0). For equal exponents, digit strings compare lexicographically
//!             with the shorter first; the terminator (00 below all pairs for
//!             positives, FF above all for negatives) provides that.
//! list/set    elements (each with its own header), then 00
//! map         key, value, key, value, …, then 00
//! vector      the n elements (fixed count, no terminator)
//! tuple/UDT   every field (header 01 for null), fixed count, no terminator
//! duration    refused: durations have no clustering order
//! ```
//!
//! # Descending order
//!
//! A `DESC` component is encoded ascending and then every byte is inverted.
//! Inversion reverses `memcmp` order between two different
//! encodings as long as neither is a prefix of the other — exactly what (2)
//! guarantees — and keeps the encoding self-delimiting: the decoder reads
//! through an XOR mask. Values nested in collections are always encoded
//! ascending inside their container; the container's inversion covers them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::compare::{reorder_timestamp, unreorder_timestamp};
use super::cql_type::CqlType;
use super::error::{TypeError, TypeResult};
use super::num::{CanonicalDecimal, Decimal, Varint};
use super::value::CqlValue;
use super::MAX_NESTING_DEPTH;

const END: u8 = 0x00;
const NULL: u8 = 0x01;
const EMPTY: u8 = 0x02;
const VALUE: u8 = 0x03;

/// Largest element count decoded from one comparable collection; each
/// element takes at least one byte, so this only bounds pathological input.
pub const MAX_COMPARABLE_ELEMENTS: usize = 16 * 1024 * 1024;

/// Appends the byte-comparable encoding of `value` (type `ty`) to `out`,
/// inverted if `desc`.
pub fn to_comparable(
    value: &CqlValue,
    ty: &CqlType,
    desc: bool,
    out: &mut Vec<u8>,
) -> TypeResult<()> {
    let start = out.len();
    encode(Some(value), ty, out, 0)?;
    if desc {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
    Ok(())
}

/// Like [`to_comparable`] for a possibly-null component (null sorts first).
pub fn to_comparable_opt(
    value: Option<&CqlValue>,
    ty: &CqlType,
    desc: bool,
    out: &mut Vec<u8>,
) -> TypeResult<()> {
    let start = out.len();
    encode(value, ty, out, 0)?;
    if desc {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
    Ok(())
}

/// Decodes one component from the start of `bytes`; returns the value and
/// the number of bytes it occupied. A null component is an error here (use
/// [`from_comparable_opt`]).
pub fn from_comparable(bytes: &[u8], ty: &CqlType, desc: bool) -> TypeResult<(CqlValue, usize)> {
    match from_comparable_opt(bytes, ty, desc)? {
        (Some(v), n) => Ok((v, n)),
        (None, _) => Err(TypeError::Comparable("unexpected null component".into())),
    }
}

/// Decodes one possibly-null component.
pub fn from_comparable_opt(
    bytes: &[u8],
    ty: &CqlType,
    desc: bool,
) -> TypeResult<(Option<CqlValue>, usize)> {
    let mut r = Reader {
        b: bytes,
        pos: 0,
        mask: if desc { 0xff } else { 0 },
    };
    let v = decode(&mut r, ty, 0)?;
    Ok((v, r.pos))
}

fn not_comparable(ty: &CqlType) -> TypeError {
    TypeError::NotComparable(ty.to_string())
}

fn mismatch(v: &CqlValue, ty: &CqlType) -> TypeError {
    TypeError::Mismatch {
        value: v.kind_name().to_string(),
        ty: ty.to_string(),
    }
}

fn escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn float_bits32(f: f32) -> u32 {
    let bits = if f.is_nan() { 0x7fc0_0000 } else { f.to_bits() };
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits ^ 0x8000_0000
    }
}

fn float_bits64(f: f64) -> u64 {
    let bits = if f.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        f.to_bits()
    };
    if bits & (1 << 63) != 0 {
        !bits
    } else {
        bits ^ (1 << 63)
    }
}

fn encode_varint(v: &Varint, out: &mut Vec<u8>) -> TypeResult<()> {
    if v.is_zero() {
        out.push(0x01);
        return Ok(());
    }
    let too_big = || TypeError::invalid("varint too large for a clustering key");
    if v.is_negative() {
        let b = v.as_bytes();
        let len = u32::try_from(b.len()).map_err(|_| too_big())?;
        out.push(0x00);
        out.extend_from_slice(&(!len).to_be_bytes());
        out.extend_from_slice(b);
    } else {
        let (_, mag) = v.to_sign_magnitude();
        let len = u32::try_from(mag.len()).map_err(|_| too_big())?;
        out.push(0x02);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&mag);
    }
    Ok(())
}

fn encode_decimal(d: &Decimal, out: &mut Vec<u8>) {
    let c = d.canonical();
    if c.sign == 0 {
        out.push(0x01);
        return;
    }
    let neg = c.sign < 0;
    let e = (c.exponent as u64) ^ (1 << 63);
    out.push(if neg { 0x00 } else { 0x02 });
    out.extend_from_slice(&(if neg { !e } else { e }).to_be_bytes());
    let digits = c.digits.as_bytes();
    for pair in digits.chunks(2) {
        let hi = pair[0] - b'0';
        let lo = pair.get(1).map_or(0, |d| d - b'0');
        let v = 1 + hi * 10 + lo;
        out.push(if neg { 0xff - v } else { v });
    }
    out.push(if neg { 0xff } else { 0x00 });
}

fn encode(
    value: Option<&CqlValue>,
    ty: &CqlType,
    out: &mut Vec<u8>,
    depth: usize,
) -> TypeResult<()> {
    use CqlValue as V;
    if depth > MAX_NESTING_DEPTH {
        return Err(TypeError::TooDeep(MAX_NESTING_DEPTH));
    }
    let t = ty.unfrozen();
    if matches!(t, CqlType::Duration) {
        return Err(not_comparable(t));
    }
    let value = match value {
        None => {
            out.push(NULL);
            return Ok(());
        }
        Some(V::Empty) => {
            out.push(EMPTY);
            return Ok(());
        }
        Some(v) => v,
    };
    out.push(VALUE);
    match (t, value) {
        (CqlType::Tinyint, V::Tinyint(x)) => out.push((*x as u8) ^ 0x80),
        (CqlType::Smallint, V::Smallint(x)) => {
            out.extend_from_slice(&((*x as u16) ^ 0x8000).to_be_bytes())
        }
        (CqlType::Int, V::Int(x)) => {
            out.extend_from_slice(&((*x as u32) ^ 0x8000_0000).to_be_bytes())
        }
        (CqlType::Bigint | CqlType::Counter, V::Bigint(x) | V::Counter(x))
        | (CqlType::Timestamp, V::Timestamp(x))
        | (CqlType::Time, V::Time(x)) => {
            out.extend_from_slice(&((*x as u64) ^ (1 << 63)).to_be_bytes())
        }
        (CqlType::Date, V::Date(x)) => out.extend_from_slice(&x.to_be_bytes()),
        (CqlType::Boolean, V::Boolean(b)) => out.push(u8::from(*b)),
        (CqlType::Float, V::Float(f)) => out.extend_from_slice(&float_bits32(*f).to_be_bytes()),
        (CqlType::Double, V::Double(f)) => out.extend_from_slice(&float_bits64(*f).to_be_bytes()),
        (CqlType::Text | CqlType::Ascii, V::Text(s) | V::Ascii(s)) => escaped(s.as_bytes(), out),
        (CqlType::Blob | CqlType::Custom(_), V::Blob(b) | V::Custom(b)) => escaped(b, out),
        (CqlType::Inet, V::Inet(ip)) => match ip {
            IpAddr::V4(a) => escaped(&a.octets(), out),
            IpAddr::V6(a) => escaped(&a.octets(), out),
        },
        (CqlType::Uuid, V::Uuid(u) | V::Timeuuid(u)) => {
            let msb = (*u >> 64) as u64;
            let version = ((msb >> 12) & 0xf) as u8;
            out.push(version);
            let hi = if version == 1 {
                reorder_timestamp(msb)
            } else {
                msb
            };
            out.extend_from_slice(&hi.to_be_bytes());
            out.extend_from_slice(&(*u as u64).to_be_bytes());
        }
        (CqlType::Timeuuid, V::Timeuuid(u) | V::Uuid(u)) => {
            let msb = (*u >> 64) as u64;
            out.extend_from_slice(&(reorder_timestamp(msb) ^ (1 << 63)).to_be_bytes());
            out.extend_from_slice(&((*u as u64) ^ 0x8080_8080_8080_8080).to_be_bytes());
        }
        (CqlType::Varint, V::Varint(v)) => encode_varint(v, out)?,
        (CqlType::Decimal, V::Decimal(d)) => encode_decimal(d, out),
        (CqlType::List(e) | CqlType::Set(e), V::List(items) | V::Set(items)) => {
            for item in items {
                encode(Some(item), e, out, depth + 1)?;
            }
            out.push(END);
        }
        (CqlType::Map(k, v), V::Map(entries)) => {
            for (key, val) in entries {
                encode(Some(key), k, out, depth + 1)?;
                encode(Some(val), v, out, depth + 1)?;
            }
            out.push(END);
        }
        (CqlType::Vector(e, n), V::Vector(items)) => {
            if items.len() != *n {
                return Err(mismatch(value, ty));
            }
            for item in items {
                encode(Some(item), e, out, depth + 1)?;
            }
        }
        (CqlType::Tuple(ts), V::Tuple(fields)) => {
            if fields.len() > ts.len() {
                return Err(mismatch(value, ty));
            }
            for (i, ft) in ts.iter().enumerate() {
                encode(fields.get(i).and_then(|f| f.as_ref()), ft, out, depth + 1)?;
            }
        }
        (CqlType::Udt { fields: fts, .. }, V::Udt(fields)) => {
            if fields.len() > fts.len() {
                return Err(mismatch(value, ty));
            }
            for (i, (_, ft)) in fts.iter().enumerate() {
                encode(fields.get(i).and_then(|f| f.as_ref()), ft, out, depth + 1)?;
            }
        }
        _ => return Err(mismatch(value, ty)),
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    mask: u8,
}

fn truncated() -> TypeError {
    TypeError::Comparable("truncated".into())
}

impl Reader<'_> {
    fn byte(&mut self) -> TypeResult<u8> {
        let b = *self.b.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(b ^ self.mask)
    }
    fn peek(&self) -> TypeResult<u8> {
        self.b
            .get(self.pos)
            .map(|b| b ^ self.mask)
            .ok_or_else(truncated)
    }
    fn array<const N: usize>(&mut self) -> TypeResult<[u8; N]> {
        let s = self.b.get(self.pos..self.pos + N).ok_or_else(truncated)?;
        self.pos += N;
        let mut a = [0u8; N];
        for (d, s) in a.iter_mut().zip(s) {
            *d = s ^ self.mask;
        }
        Ok(a)
    }
    fn take(&mut self, n: usize) -> TypeResult<Vec<u8>> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let s = self.b.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(s.iter().map(|b| b ^ self.mask).collect())
    }
    fn unescape(&mut self) -> TypeResult<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let b = self.byte()?;
            if b != 0 {
                out.push(b);
                continue;
            }
            match self.byte()? {
                0x00 => return Ok(out),
                0xff => out.push(0),
                other => {
                    return Err(TypeError::Comparable(format!(
                        "bad escape byte {other:#04x}"
                    )))
                }
            }
        }
    }
}

fn decode_varint(r: &mut Reader<'_>) -> TypeResult<Varint> {
    match r.byte()? {
        0x01 => Ok(Varint::zero()),
        0x00 => {
            let len = !u32::from_be_bytes(r.array()?) as usize;
            let b = r.take(len)?;
            if b.first().is_none_or(|x| x & 0x80 == 0) {
                return Err(TypeError::Comparable("bad negative varint".into()));
            }
            Ok(Varint::from_be_bytes(&b))
        }
        0x02 => {
            let len = u32::from_be_bytes(r.array()?) as usize;
            let b = r.take(len)?;
            if b.first().is_none_or(|x| *x == 0) {
                return Err(TypeError::Comparable("bad positive varint".into()));
            }
            Ok(Varint::from_sign_magnitude(false, &b))
        }
        other => Err(TypeError::Comparable(format!(
            "bad varint sign byte {other:#04x}"
        ))),
    }
}

fn decode_decimal(r: &mut Reader<'_>) -> TypeResult<Decimal> {
    let sign = r.byte()?;
    if sign == 0x01 {
        return Ok(Decimal::new(Varint::zero(), 0));
    }
    let neg = match sign {
        0x00 => true,
        0x02 => false,
        other => {
            return Err(TypeError::Comparable(format!(
                "bad decimal sign byte {other:#04x}"
            )))
        }
    };
    let e = u64::from_be_bytes(r.array()?);
    let exponent = ((if neg { !e } else { e }) ^ (1 << 63)) as i64;
    let mut digits = String::new();
    loop {
        let b = r.byte()?;
        let b = if neg { 0xff - b } else { b };
        if b == 0 {
            break;
        }
        if b > 100 {
            return Err(TypeError::Comparable("bad decimal digit pair".into()));
        }
        let v = b - 1;
        digits.push(char::from(b'0' + v / 10));
        digits.push(char::from(b'0' + v % 10));
        if digits.len() > super::num::MAX_NUMERIC_TEXT_DIGITS {
            return Err(TypeError::Comparable("decimal too long".into()));
        }
    }
    let digits = digits.trim_end_matches('0').to_string();
    if digits.is_empty() || digits.starts_with('0') {
        return Err(TypeError::Comparable("bad decimal digits".into()));
    }
    let c = CanonicalDecimal {
        sign: if neg { -1 } else { 1 },
        digits,
        exponent,
    };
    Decimal::from_canonical(&c)
        .ok_or_else(|| TypeError::Comparable("decimal scale overflow".into()))
}

fn decode(r: &mut Reader<'_>, ty: &CqlType, depth: usize) -> TypeResult<Option<CqlValue>> {
    use CqlValue as V;
    if depth > MAX_NESTING_DEPTH {
        return Err(TypeError::TooDeep(MAX_NESTING_DEPTH));
    }
    let t = ty.unfrozen();
    if matches!(t, CqlType::Duration) {
        return Err(not_comparable(t));
    }
    match r.byte()? {
        NULL => return Ok(None),
        EMPTY => return Ok(Some(V::Empty)),
        VALUE => {}
        other => {
            return Err(TypeError::Comparable(format!(
                "bad header byte {other:#04x}"
            )))
        }
    }
    let v = match t {
        CqlType::Tinyint => V::Tinyint((r.byte()? ^ 0x80) as i8),
        CqlType::Smallint => V::Smallint((u16::from_be_bytes(r.array()?) ^ 0x8000) as i16),
        CqlType::Int => V::Int((u32::from_be_bytes(r.array()?) ^ 0x8000_0000) as i32),
        CqlType::Bigint | CqlType::Counter | CqlType::Timestamp | CqlType::Time => {
            let x = (u64::from_be_bytes(r.array()?) ^ (1 << 63)) as i64;
            match t {
                CqlType::Bigint => V::Bigint(x),
                CqlType::Counter => V::Counter(x),
                CqlType::Timestamp => V::Timestamp(x),
                _ => V::Time(x),
            }
        }
        CqlType::Date => V::Date(u32::from_be_bytes(r.array()?)),
        CqlType::Boolean => match r.byte()? {
            0 => V::Boolean(false),
            1 => V::Boolean(true),
            other => return Err(TypeError::Comparable(format!("bad boolean {other:#04x}"))),
        },
        CqlType::Float => {
            let b = u32::from_be_bytes(r.array()?);
            let bits = if b & 0x8000_0000 != 0 {
                b ^ 0x8000_0000
            } else {
                !b
            };
            V::Float(f32::from_bits(bits))
        }
        CqlType::Double => {
            let b = u64::from_be_bytes(r.array()?);
            let bits = if b & (1 << 63) != 0 {
                b ^ (1 << 63)
            } else {
                !b
            };
            V::Double(f64::from_bits(bits))
        }
        CqlType::Text => V::Text(
            String::from_utf8(r.unescape()?)
                .map_err(|_| TypeError::Comparable("invalid UTF-8".into()))?,
        ),
        CqlType::Ascii => {
            let b = r.unescape()?;
            if b.iter().any(|x| *x >= 0x80) {
                return Err(TypeError::Comparable("invalid ascii".into()));
            }
            V::Ascii(String::from_utf8_lossy(&b).into_owned())
        }
        CqlType::Blob => V::Blob(r.unescape()?),
        CqlType::Custom(_) => V::Custom(r.unescape()?),
        CqlType::Inet => {
            let b = r.unescape()?;
            match b.len() {
                4 => V::Inet(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(&b);
                    V::Inet(IpAddr::V6(Ipv6Addr::from(a)))
                }
                n => return Err(TypeError::Comparable(format!("bad inet length {n}"))),
            }
        }
        CqlType::Uuid => {
            let version = r.byte()?;
            let hi = u64::from_be_bytes(r.array()?);
            let lo = u64::from_be_bytes(r.array()?);
            let msb = if version == 1 {
                unreorder_timestamp(hi)
            } else {
                hi
            };
            if ((msb >> 12) & 0xf) as u8 != version {
                return Err(TypeError::Comparable("uuid version mismatch".into()));
            }
            V::Uuid((u128::from(msb) << 64) | u128::from(lo))
        }
        CqlType::Timeuuid => {
            let hi = u64::from_be_bytes(r.array()?) ^ (1 << 63);
            let lo = u64::from_be_bytes(r.array()?) ^ 0x8080_8080_8080_8080;
            V::Timeuuid((u128::from(unreorder_timestamp(hi)) << 64) | u128::from(lo))
        }
        CqlType::Varint => V::Varint(decode_varint(r)?),
        CqlType::Decimal => V::Decimal(decode_decimal(r)?),
        CqlType::List(e) | CqlType::Set(e) => {
            let mut items = Vec::new();
            while r.peek()? != END {
                if items.len() >= MAX_COMPARABLE_ELEMENTS {
                    return Err(TypeError::Comparable("too many elements".into()));
                }
                items.push(
                    decode(r, e, depth + 1)?
                        .ok_or_else(|| TypeError::Comparable("null element".into()))?,
                );
            }
            r.byte()?;
            if matches!(t, CqlType::Set(_)) {
                V::Set(items)
            } else {
                V::List(items)
            }
        }
        CqlType::Map(k, v) => {
            let mut entries = Vec::new();
            while r.peek()? != END {
                if entries.len() >= MAX_COMPARABLE_ELEMENTS {
                    return Err(TypeError::Comparable("too many elements".into()));
                }
                let key = decode(r, k, depth + 1)?
                    .ok_or_else(|| TypeError::Comparable("null key".into()))?;
                let val = decode(r, v, depth + 1)?
                    .ok_or_else(|| TypeError::Comparable("null value".into()))?;
                entries.push((key, val));
            }
            r.byte()?;
            V::Map(entries)
        }
        CqlType::Vector(e, n) => {
            let mut items = Vec::with_capacity((*n).min(r.b.len()));
            for _ in 0..*n {
                items.push(
                    decode(r, e, depth + 1)?
                        .ok_or_else(|| TypeError::Comparable("null element".into()))?,
                );
            }
            V::Vector(items)
        }
        CqlType::Tuple(ts) => {
            let mut fields = Vec::with_capacity(ts.len());
            for ft in ts {
                fields.push(decode(r, ft, depth + 1)?);
            }
            V::Tuple(fields)
        }
        CqlType::Udt { fields: fts, .. } => {
            let mut fields = Vec::with_capacity(fts.len());
            for (_, ft) in fts {
                fields.push(decode(r, ft, depth + 1)?);
            }
            V::Udt(fields)
        }
        CqlType::Duration | CqlType::Frozen(_) => return Err(not_comparable(t)),
    };
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::value::Duration;

    fn enc(v: &CqlValue, t: &CqlType, desc: bool) -> Vec<u8> {
        let mut out = Vec::new();
        to_comparable(v, t, desc, &mut out).expect("encode");
        out
    }

    // Checks concrete layouts: int sign flip, string escaping, empty/null headers.
    #[test]
    fn layouts() {
        assert_eq!(
            enc(&CqlValue::Int(0), &CqlType::Int, false),
            [3, 0x80, 0, 0, 0]
        );
        assert_eq!(
            enc(&CqlValue::Int(-1), &CqlType::Int, false),
            [3, 0x7f, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            enc(&CqlValue::Text("a\0".into()), &CqlType::Text, false),
            [3, b'a', 0, 0xff, 0, 0]
        );
        assert_eq!(enc(&CqlValue::Empty, &CqlType::Int, false), [2]);
        assert_eq!(
            enc(&CqlValue::Int(0), &CqlType::Int, true),
            [0xfc, 0x7f, 0xff, 0xff, 0xff]
        );
        let t = CqlType::parse("tuple<int, text>").expect("t");
        assert_eq!(
            enc(&CqlValue::Tuple(vec![None, None]), &t, false),
            [3, 1, 1]
        );
        let l = CqlType::parse("frozen<list<int>>").expect("t");
        assert_eq!(enc(&CqlValue::List(vec![]), &l, false), [3, 0]);
    }

    // Checks that durations are refused and that decoding reports consumed length.
    #[test]
    fn refusals_and_lengths() {
        let mut out = Vec::new();
        assert!(matches!(
            to_comparable(
                &CqlValue::Duration(Duration::new(1, 0, 0)),
                &CqlType::Duration,
                false,
                &mut out
            ),
            Err(TypeError::NotComparable(_))
        ));
        let mut out = enc(&CqlValue::Text("hello".into()), &CqlType::Text, true);
        let n = out.len();
        out.extend_from_slice(&[0xde, 0xad]);
        let (v, used) = from_comparable(&out, &CqlType::Text, true).expect("decode");
        assert_eq!((v, used), (CqlValue::Text("hello".into()), n));
        assert!(from_comparable(&[3, b'a', 0], &CqlType::Text, false).is_err());
        assert!(from_comparable(&[9], &CqlType::Int, false).is_err());
        assert!(from_comparable(&[], &CqlType::Int, false).is_err());
    }

    // Checks decimal canonicalization: equal numbers encode identically and decode canonically.
    #[test]
    fn decimals() {
        let d = |s: &str| CqlValue::Decimal(Decimal::parse(s).expect(s));
        assert_eq!(
            enc(&d("1.0"), &CqlType::Decimal, false),
            enc(&d("1.00"), &CqlType::Decimal, false)
        );
        let (v, _) = from_comparable(
            &enc(&d("12.500"), &CqlType::Decimal, false),
            &CqlType::Decimal,
            false,
        )
        .expect("dec");
        assert_eq!(v, d("12.5"));
        let (v, _) = from_comparable(
            &enc(&d("1E+3"), &CqlType::Decimal, false),
            &CqlType::Decimal,
            false,
        )
        .expect("dec");
        assert_eq!(v, d("1000"));
        assert!(
            enc(&d("-0.5"), &CqlType::Decimal, false) < enc(&d("-0.25"), &CqlType::Decimal, false)
        );
        assert!(
            enc(&d("0.25"), &CqlType::Decimal, false) < enc(&d("0.5"), &CqlType::Decimal, false)
        );
    }
}
