//! Native protocol value encoding (protocol v4/v5 §6, "Data Type
//! Serialization Formats"): [`serialize`] and [`deserialize`].
//!
//! ```text
//! ascii, text   the bytes (ascii: every byte < 0x80; text: valid UTF-8)
//! bigint, counter, timestamp, time   8 bytes big-endian two's complement
//! int 4 bytes, smallint 2, tinyint 1; date 4 bytes unsigned, 2^31 = 1970-01-01
//! boolean       1 byte, 0 = false (decoding: any non-zero = true)
//! float, double IEEE 754 binary32/binary64, big-endian
//! uuid, timeuuid 16 bytes (timeuuid must be version 1)
//! varint        minimal big-endian two's complement
//! decimal       [int scale][varint unscaled]
//! inet          4 (IPv4) or 16 (IPv6) bytes
//! duration      [vint months][vint days][vint nanos]; [vint] = zig-zag + Cassandra
//!               unsigned vint (leading 1-bits of the first byte count the extra bytes)
//! list, set     [int n] n × [bytes]            (protocol v3+ layout only)
//! map           [int n] n × ([bytes key][bytes value])
//! tuple, udt    one [bytes] per component, length -1 = null; a UDT value may
//!               stop early (missing trailing fields are null)
//! vector<T, n>  fixed-size T: n × size bytes; otherwise n × ([unsigned vint len][bytes])
//! ```
//!
//! The *empty value* (zero bytes) decodes to [`CqlValue::Empty`] for every
//! type whose regular encoding is non-empty, except `smallint`, `tinyint`,
//! `date` and `time`, which Cassandra rejects when empty. Elements of
//! collections may be empty values but never null.
//!
//! Decoding validates like Cassandra's `TypeSerializer.validate` and uses its
//! messages (`Expected 4 or 0 byte int (3)`), never panics, and never
//! allocates more than the input can justify: element counts are checked
//! against the remaining bytes before reserving, and results stay bounded by
//! [`MAX_DECODED_ELEMENTS`]. Sets and maps are returned sorted and
//! deduplicated by the CQL order of the element/key type (a later duplicate
//! map key wins), so decoded values are canonical.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::compare::compare;
use super::cql_type::CqlType;
use super::error::{TypeError, TypeResult};
use super::num::{Decimal, Varint};
use super::value::{CqlValue, Duration};

/// Most elements one collection/vector value may decode to. A v4 frame is
/// at most 256 MiB and every element costs at least 4 bytes, so this is
/// reachable only by pathological inputs; it caps work per value.
pub const MAX_DECODED_ELEMENTS: usize = 16 * 1024 * 1024;

/// Serializes `value` as the protocol encoding of `ty`.
pub fn serialize(value: &CqlValue, ty: &CqlType) -> TypeResult<Vec<u8>> {
    let mut out = Vec::new();
    serialize_into(value, ty, &mut out)?;
    Ok(out)
}

/// True if a zero-byte value is acceptable for `ty` (as the empty value or,
/// for text-like types, the empty string).
pub fn allows_empty(ty: &CqlType) -> bool {
    !matches!(
        ty.unfrozen(),
        CqlType::Smallint | CqlType::Tinyint | CqlType::Date | CqlType::Time
    )
}

fn mismatch(value: &CqlValue, ty: &CqlType) -> TypeError {
    TypeError::Mismatch {
        value: value.kind_name().to_string(),
        ty: ty.to_string(),
    }
}

fn write_len(len: usize, out: &mut Vec<u8>) -> TypeResult<()> {
    let n = i32::try_from(len)
        .map_err(|_| TypeError::invalid(format!("value too large: {len} bytes")))?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

/// Appends `value` as `[bytes]` (4-byte length + body).
fn write_bytes_of(value: &CqlValue, ty: &CqlType, out: &mut Vec<u8>) -> TypeResult<()> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    serialize_into(value, ty, out)?;
    let len = out.len() - at - 4;
    let n = i32::try_from(len)
        .map_err(|_| TypeError::invalid(format!("value too large: {len} bytes")))?;
    out[at..at + 4].copy_from_slice(&n.to_be_bytes());
    Ok(())
}

/// Appends the protocol encoding of `value` as `ty` to `out`.
pub fn serialize_into(value: &CqlValue, ty: &CqlType, out: &mut Vec<u8>) -> TypeResult<()> {
    use CqlValue as V;
    let t = ty.unfrozen();
    if let V::Empty = value {
        if allows_empty(t) {
            return Ok(());
        }
        return Err(validate_len_error(t, 0));
    }
    match (t, value) {
        (CqlType::Ascii, V::Ascii(s) | V::Text(s)) => {
            if let Some(b) = s.bytes().find(|b| *b >= 0x80) {
                return Err(TypeError::marshal(format!(
                    "Invalid byte for ascii: {}",
                    b as i8
                )));
            }
            out.extend_from_slice(s.as_bytes());
        }
        (CqlType::Text, V::Text(s) | V::Ascii(s)) => out.extend_from_slice(s.as_bytes()),
        (CqlType::Blob, V::Blob(b) | V::Custom(b))
        | (CqlType::Custom(_), V::Custom(b) | V::Blob(b)) => out.extend_from_slice(b),
        (CqlType::Bigint | CqlType::Counter, V::Bigint(v) | V::Counter(v)) => {
            out.extend_from_slice(&v.to_be_bytes())
        }
        (CqlType::Timestamp, V::Timestamp(v)) | (CqlType::Time, V::Time(v)) => {
            out.extend_from_slice(&v.to_be_bytes())
        }
        (CqlType::Boolean, V::Boolean(b)) => out.push(u8::from(*b)),
        (CqlType::Date, V::Date(d)) => out.extend_from_slice(&d.to_be_bytes()),
        (CqlType::Decimal, V::Decimal(d)) => {
            out.extend_from_slice(&d.scale.to_be_bytes());
            out.extend_from_slice(d.unscaled.as_bytes());
        }
        (CqlType::Double, V::Double(f)) => out.extend_from_slice(&f.to_be_bytes()),
        (CqlType::Float, V::Float(f)) => out.extend_from_slice(&f.to_be_bytes()),
        (CqlType::Duration, V::Duration(d)) => {
            check_duration_signs(d)?;
            write_vint(i64::from(d.months), out);
            write_vint(i64::from(d.days), out);
            write_vint(d.nanos, out);
        }
        (CqlType::Inet, V::Inet(ip)) => match ip {
            IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
        },
        (CqlType::Int, V::Int(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (CqlType::Smallint, V::Smallint(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (CqlType::Tinyint, V::Tinyint(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (CqlType::Uuid, V::Uuid(u) | V::Timeuuid(u)) => out.extend_from_slice(&u.to_be_bytes()),
        (CqlType::Timeuuid, V::Timeuuid(u) | V::Uuid(u)) => {
            if uuid_version(*u) != 1 {
                return Err(TypeError::marshal("Invalid version for TimeUUID type."));
            }
            out.extend_from_slice(&u.to_be_bytes())
        }
        (CqlType::Varint, V::Varint(v)) => out.extend_from_slice(v.as_bytes()),
        (CqlType::List(e), V::List(items)) | (CqlType::Set(e), V::Set(items) | V::List(items)) => {
            write_len(items.len(), out)?;
            for item in items {
                write_bytes_of(item, e, out)?;
            }
        }
        (CqlType::Map(k, v), V::Map(entries)) => {
            write_len(entries.len(), out)?;
            for (key, val) in entries {
                write_bytes_of(key, k, out)?;
                write_bytes_of(val, v, out)?;
            }
        }
        (CqlType::Tuple(ts), V::Tuple(fields)) => {
            if fields.len() > ts.len() {
                return Err(mismatch(value, ty));
            }
            for (f, ft) in fields.iter().zip(ts) {
                match f {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => write_bytes_of(v, ft, out)?,
                }
            }
        }
        (CqlType::Udt { fields: ftypes, .. }, V::Udt(fields)) => {
            if fields.len() > ftypes.len() {
                return Err(mismatch(value, ty));
            }
            for (f, (_, ft)) in fields.iter().zip(ftypes) {
                match f {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => write_bytes_of(v, ft, out)?,
                }
            }
        }
        (CqlType::Vector(e, n), V::Vector(items)) => {
            if items.len() != *n {
                return Err(TypeError::invalid(format!(
                    "Invalid number of elements in vector: expected {n}, got {}",
                    items.len()
                )));
            }
            let fixed = fixed_size(e);
            for item in items {
                if let V::Empty = item {
                    return Err(TypeError::invalid(
                        "Empty values are not allowed in vectors",
                    ));
                }
                if fixed.is_some() {
                    serialize_into(item, e, out)?;
                } else {
                    let mut body = Vec::new();
                    serialize_into(item, e, &mut body)?;
                    write_unsigned_vint(body.len() as u64, out);
                    out.extend_from_slice(&body);
                }
            }
        }
        _ => return Err(mismatch(value, ty)),
    }
    Ok(())
}

/// Serialized size of a fixed-length type, as used by the vector encoding.
pub fn fixed_size(ty: &CqlType) -> Option<usize> {
    Some(match ty.unfrozen() {
        CqlType::Boolean | CqlType::Tinyint => 1,
        CqlType::Smallint => 2,
        CqlType::Int | CqlType::Float | CqlType::Date => 4,
        CqlType::Bigint
        | CqlType::Counter
        | CqlType::Double
        | CqlType::Timestamp
        | CqlType::Time => 8,
        CqlType::Uuid | CqlType::Timeuuid => 16,
        _ => return None,
    })
}

fn uuid_version(u: u128) -> u8 {
    ((u >> 76) & 0xf) as u8
}

fn check_duration_signs(d: &Duration) -> TypeResult<()> {
    let pos = d.months > 0 || d.days > 0 || d.nanos > 0;
    let neg = d.months < 0 || d.days < 0 || d.nanos < 0;
    if pos && neg {
        return Err(TypeError::marshal(format!(
            "The duration months, days and nanoseconds must be all of the same sign ({}, {}, {})",
            d.months, d.days, d.nanos
        )));
    }
    Ok(())
}

/// Appends Cassandra's unsigned vint: the count of leading 1-bits in the
/// first byte is the number of extra bytes; value bits follow big-endian.
pub fn write_unsigned_vint(v: u64, out: &mut Vec<u8>) {
    let magnitude = (v | 1).leading_zeros() as i64;
    let size = ((639 - magnitude * 9) >> 6) as usize; // 1..=9
    if size == 1 {
        out.push(v as u8);
        return;
    }
    let extra = size - 1;
    let bytes = v.to_be_bytes();
    if size == 9 {
        out.push(0xff);
        out.extend_from_slice(&bytes);
        return;
    }
    let first_mask = !(0xffu8 >> extra);
    let first = first_mask | bytes[8 - size];
    out.push(first);
    out.extend_from_slice(&bytes[8 - extra..]);
}

/// Appends the zig-zag signed vint (`[vint]` of the protocol).
pub fn write_vint(v: i64, out: &mut Vec<u8>) {
    write_unsigned_vint(((v << 1) ^ (v >> 63)) as u64, out);
}

/// Reads an unsigned vint; returns (value, bytes consumed).
pub fn read_unsigned_vint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let extra = first.leading_ones() as usize;
    if extra == 0 {
        return Some((u64::from(first), 1));
    }
    let rest = buf.get(1..=extra)?;
    let mut v: u64 = if extra >= 8 {
        0
    } else {
        u64::from(first & (0xff >> extra))
    };
    for &b in rest {
        v = (v << 8) | u64::from(b);
    }
    Some((v, extra + 1))
}

/// Reads a zig-zag signed vint.
pub fn read_vint(buf: &[u8]) -> Option<(i64, usize)> {
    let (u, n) = read_unsigned_vint(buf)?;
    Some((((u >> 1) as i64) ^ -((u & 1) as i64), n))
}

fn validate_len_error(ty: &CqlType, n: usize) -> TypeError {
    TypeError::marshal(match ty {
        CqlType::Int => format!("Expected 4 or 0 byte int ({n})"),
        CqlType::Bigint | CqlType::Counter => format!("Expected 8 or 0 byte long ({n})"),
        CqlType::Timestamp => format!("Expected 8 or 0 byte long for date ({n})"),
        CqlType::Time => format!("Expected 8 byte long for time ({n})"),
        CqlType::Date => format!("Expected 4 byte long for date ({n})"),
        CqlType::Smallint => format!("Expected 2 bytes for a smallint ({n})"),
        CqlType::Tinyint => format!("Expected 1 byte for a tinyint ({n})"),
        CqlType::Float => format!("Expected 4 or 0 byte value for a float ({n})"),
        CqlType::Double => format!("Expected 8 or 0 byte value for a double ({n})"),
        CqlType::Boolean => format!("Expected 1 or 0 byte value ({n})"),
        CqlType::Uuid => format!("UUID should be 16 or 0 bytes ({n})"),
        CqlType::Timeuuid => format!("TimeUUID should be 16 or 0 bytes ({n})"),
        CqlType::Decimal => format!("Expected 0 or at least 4 bytes ({n})"),
        other => format!("Invalid {n}-byte value for {other}"),
    })
}

fn fixed<const N: usize>(b: &[u8], ty: &CqlType) -> TypeResult<[u8; N]> {
    b.try_into().map_err(|_| validate_len_error(ty, b.len()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decodes the protocol encoding of a value of type `ty`.
pub fn deserialize(bytes: &[u8], ty: &CqlType) -> TypeResult<CqlValue> {
    use CqlValue as V;
    let t = ty.unfrozen();
    if bytes.is_empty() {
        match t {
            CqlType::Ascii => return Ok(V::Ascii(String::new())),
            CqlType::Text => return Ok(V::Text(String::new())),
            CqlType::Blob => return Ok(V::Blob(Vec::new())),
            CqlType::Custom(_) => return Ok(V::Custom(Vec::new())),
            _ if allows_empty(t) => return Ok(V::Empty),
            _ => return Err(validate_len_error(t, 0)),
        }
    }
    Ok(match t {
        CqlType::Ascii => {
            if let Some(b) = bytes.iter().find(|b| **b >= 0x80) {
                return Err(TypeError::marshal(format!(
                    "Invalid byte for ascii: {}",
                    *b as i8
                )));
            }
            V::Ascii(String::from_utf8_lossy(bytes).into_owned())
        }
        CqlType::Text => V::Text(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| TypeError::marshal(format!("Invalid UTF-8 bytes {}", hex(bytes))))?,
        ),
        CqlType::Blob => V::Blob(bytes.to_vec()),
        CqlType::Custom(_) => V::Custom(bytes.to_vec()),
        CqlType::Bigint => V::Bigint(i64::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Counter => V::Counter(i64::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Timestamp => V::Timestamp(i64::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Time => {
            let v = i64::from_be_bytes(fixed(bytes, t)?);
            if !(0..super::value::NANOS_PER_DAY).contains(&v) {
                return Err(TypeError::marshal(format!("Time value out of range: {v}")));
            }
            V::Time(v)
        }
        CqlType::Date => V::Date(u32::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Int => V::Int(i32::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Smallint => V::Smallint(i16::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Tinyint => V::Tinyint(i8::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Float => V::Float(f32::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Double => V::Double(f64::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Boolean => V::Boolean(fixed::<1>(bytes, t)?[0] != 0),
        CqlType::Uuid => V::Uuid(u128::from_be_bytes(fixed(bytes, t)?)),
        CqlType::Timeuuid => {
            let u = u128::from_be_bytes(fixed(bytes, t)?);
            if uuid_version(u) != 1 {
                return Err(TypeError::marshal("Invalid version for TimeUUID type."));
            }
            V::Timeuuid(u)
        }
        CqlType::Varint => V::Varint(Varint::from_be_bytes(bytes)),
        CqlType::Decimal => {
            if bytes.len() < 5 {
                return Err(validate_len_error(t, bytes.len()));
            }
            let scale = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            V::Decimal(Decimal::new(Varint::from_be_bytes(&bytes[4..]), scale))
        }
        CqlType::Inet => match bytes.len() {
            4 => V::Inet(IpAddr::V4(Ipv4Addr::from(fixed::<4>(bytes, t)?))),
            16 => V::Inet(IpAddr::V6(Ipv6Addr::from(fixed::<16>(bytes, t)?))),
            _ => {
                return Err(TypeError::marshal(format!(
                    "Expected 4 or 16 byte inetaddress; got {}",
                    hex(bytes)
                )))
            }
        },
        CqlType::Duration => decode_duration(bytes)?,
        CqlType::List(e) => V::List(read_elements(bytes, e, "list")?),
        CqlType::Set(e) => {
            let mut items = read_elements(bytes, e, "set")?;
            items.sort_by(|a, b| compare(a, b, e));
            items.dedup_by(|a, b| compare(a, b, e).is_eq());
            V::Set(items)
        }
        CqlType::Map(k, v) => V::Map(read_map(bytes, k, v)?),
        CqlType::Tuple(ts) => {
            let types: Vec<&CqlType> = ts.iter().collect();
            V::Tuple(read_fields(bytes, &types, "tuple")?)
        }
        CqlType::Udt { fields, .. } => {
            let types: Vec<&CqlType> = fields.iter().map(|(_, t)| t).collect();
            V::Udt(read_fields(bytes, &types, "UDT")?)
        }
        CqlType::Vector(e, n) => V::Vector(read_vector(bytes, e, *n)?),
        CqlType::Frozen(_) => return Err(TypeError::marshal("nested frozen type")),
    })
}

fn decode_duration(bytes: &[u8]) -> TypeResult<CqlValue> {
    let bad = || TypeError::marshal(format!("Invalid duration bytes {}", hex(bytes)));
    let (months, a) = read_vint(bytes).ok_or_else(bad)?;
    let (days, b) = read_vint(&bytes[a..]).ok_or_else(bad)?;
    let (nanos, c) = read_vint(&bytes[a + b..]).ok_or_else(bad)?;
    if a + b + c != bytes.len() {
        return Err(bad());
    }
    let months = i32::try_from(months).map_err(|_| bad())?;
    let days = i32::try_from(days).map_err(|_| bad())?;
    let d = Duration::new(months, days, nanos);
    check_duration_signs(&d)?;
    Ok(CqlValue::Duration(d))
}

struct Bytes<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn int(&mut self) -> Option<i32> {
        let s = self.b.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }
    /// `[bytes]`: Some(None) for null.
    fn value(&mut self) -> Option<Option<&'a [u8]>> {
        let n = self.int()?;
        if n < 0 {
            return Some(None);
        }
        self.take(n as usize).map(Some)
    }
}

fn count(r: &mut Bytes<'_>, what: &str, min_per_element: usize) -> TypeResult<usize> {
    let n = r
        .int()
        .ok_or_else(|| TypeError::marshal(format!("Not enough bytes to read a {what}")))?;
    if n < 0 {
        return Err(TypeError::marshal(format!(
            "Invalid negative {what} size {n}"
        )));
    }
    let n = n as usize;
    if n > MAX_DECODED_ELEMENTS || n.saturating_mul(min_per_element) > r.remaining() {
        return Err(TypeError::marshal(format!(
            "Not enough bytes to read a {what}"
        )));
    }
    Ok(n)
}

fn element(r: &mut Bytes<'_>, ty: &CqlType, what: &str) -> TypeResult<CqlValue> {
    match r.value() {
        None => Err(TypeError::marshal(format!(
            "Not enough bytes to read a {what}"
        ))),
        Some(None) => Err(TypeError::marshal(
            "null is not supported inside collections",
        )),
        Some(Some(b)) => deserialize(b, ty),
    }
}

fn read_elements(bytes: &[u8], e: &CqlType, what: &str) -> TypeResult<Vec<CqlValue>> {
    let mut r = Bytes { b: bytes, pos: 0 };
    let n = count(&mut r, what, 4)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(element(&mut r, e, what)?);
    }
    if r.remaining() > 0 {
        return Err(TypeError::marshal(format!(
            "Unexpected extraneous bytes after {what} value"
        )));
    }
    Ok(out)
}

fn read_map(bytes: &[u8], k: &CqlType, v: &CqlType) -> TypeResult<Vec<(CqlValue, CqlValue)>> {
    let mut r = Bytes { b: bytes, pos: 0 };
    let n = count(&mut r, "map", 8)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let key = element(&mut r, k, "map")?;
        let val = element(&mut r, v, "map")?;
        out.push((key, val));
    }
    if r.remaining() > 0 {
        return Err(TypeError::marshal(
            "Unexpected extraneous bytes after map value",
        ));
    }
    // stable sort, then keep the last of equal keys
    out.sort_by(|a, b| compare(&a.0, &b.0, k));
    let mut dedup: Vec<(CqlValue, CqlValue)> = Vec::with_capacity(out.len());
    for entry in out {
        match dedup.last_mut() {
            Some(last) if compare(&last.0, &entry.0, k).is_eq() => *last = entry,
            _ => dedup.push(entry),
        }
    }
    Ok(dedup)
}

fn read_fields(bytes: &[u8], types: &[&CqlType], what: &str) -> TypeResult<Vec<Option<CqlValue>>> {
    let mut r = Bytes { b: bytes, pos: 0 };
    let mut out = Vec::with_capacity(types.len());
    for t in types {
        if r.remaining() == 0 {
            out.push(None);
            continue;
        }
        match r.value() {
            None => {
                return Err(TypeError::marshal(format!(
                    "Not enough bytes to read a {what} field"
                )))
            }
            Some(None) => out.push(None),
            Some(Some(b)) => out.push(Some(deserialize(b, t)?)),
        }
    }
    if r.remaining() > 0 {
        return Err(TypeError::marshal(format!(
            "Invalid remaining data after end of {what} value"
        )));
    }
    Ok(out)
}

fn read_vector(bytes: &[u8], e: &CqlType, n: usize) -> TypeResult<Vec<CqlValue>> {
    if n > MAX_DECODED_ELEMENTS {
        return Err(TypeError::marshal("vector dimension too large"));
    }
    if let Some(size) = fixed_size(e) {
        if bytes.len() != n * size {
            return Err(TypeError::marshal(format!(
                "Expected {} bytes for a vector of {n} {e} but got {}",
                n * size,
                bytes.len()
            )));
        }
        return bytes.chunks(size).map(|c| deserialize(c, e)).collect();
    }
    if n > bytes.len() {
        return Err(TypeError::marshal(format!(
            "Not enough bytes to read a vector of {n} elements"
        )));
    }
    let mut out = Vec::with_capacity(n);
    let mut pos = 0;
    for _ in 0..n {
        let (len, used) = read_unsigned_vint(&bytes[pos..])
            .ok_or_else(|| TypeError::marshal("Not enough bytes to read a vector element"))?;
        pos += used;
        let len =
            usize::try_from(len).map_err(|_| TypeError::marshal("vector element too large"))?;
        let body = bytes
            .get(pos..pos.saturating_add(len))
            .ok_or_else(|| TypeError::marshal("Not enough bytes to read a vector element"))?;
        pos += len;
        out.push(deserialize(body, e)?);
    }
    if pos != bytes.len() {
        return Err(TypeError::marshal(
            "Unexpected extraneous bytes after vector value",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(v: CqlValue, t: &str) -> Vec<u8> {
        let ty = CqlType::parse(t).expect(t);
        let b = serialize(&v, &ty).expect("serialize");
        assert_eq!(deserialize(&b, &ty).expect("deserialize"), v, "{t}");
        b
    }

    fn err(b: &[u8], t: &str) -> String {
        deserialize(b, &CqlType::parse(t).expect(t))
            .expect_err(t)
            .to_string()
    }

    // Checks exact byte layouts of the fixed-width and simple types.
    #[test]
    fn scalar_layouts() {
        assert_eq!(rt(CqlValue::Int(1), "int"), [0, 0, 0, 1]);
        assert_eq!(
            rt(CqlValue::Bigint(-2), "bigint"),
            [0xff; 8][..7]
                .iter()
                .copied()
                .chain([0xfe])
                .collect::<Vec<_>>()
        );
        assert_eq!(rt(CqlValue::Smallint(258), "smallint"), [1, 2]);
        assert_eq!(rt(CqlValue::Tinyint(-1), "tinyint"), [0xff]);
        assert_eq!(rt(CqlValue::Boolean(true), "boolean"), [1]);
        assert_eq!(rt(CqlValue::Float(1.5), "float"), 1.5f32.to_be_bytes());
        assert_eq!(rt(CqlValue::Double(f64::NAN), "double").len(), 8);
        assert_eq!(rt(CqlValue::Text("hé".into()), "text"), "hé".as_bytes());
        assert_eq!(rt(CqlValue::Ascii("hi".into()), "ascii"), b"hi");
        assert_eq!(rt(CqlValue::Blob(vec![0, 0xff]), "blob"), [0, 0xff]);
        assert_eq!(rt(CqlValue::Date(1 << 31), "date"), [0x80, 0, 0, 0]);
        assert_eq!(rt(CqlValue::Time(5), "time"), [0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(rt(CqlValue::Timestamp(-1), "timestamp"), [0xff; 8]);
        assert_eq!(
            rt(CqlValue::Inet("127.0.0.1".parse().expect("ip")), "inet"),
            [127, 0, 0, 1]
        );
        assert_eq!(
            rt(CqlValue::Inet("::1".parse().expect("ip")), "inet").len(),
            16
        );
        assert_eq!(
            rt(CqlValue::Varint(Varint::from_i64(128)), "varint"),
            [0, 0x80]
        );
        assert_eq!(rt(CqlValue::Varint(Varint::from_i64(-1)), "varint"), [0xff]);
        let d = Decimal::parse("-1.50").expect("decimal");
        assert_eq!(
            rt(CqlValue::Decimal(d), "decimal"),
            [0, 0, 0, 2, 0xff, 0x6a]
        );
        let u = 0x0011_2233_4455_1677_8899_aabb_ccdd_eeffu128;
        assert_eq!(rt(CqlValue::Timeuuid(u), "timeuuid"), u.to_be_bytes());
        assert_eq!(rt(CqlValue::Uuid(7), "uuid").len(), 16);
        assert_eq!(
            rt(CqlValue::Counter(3), "counter"),
            [0, 0, 0, 0, 0, 0, 0, 3]
        );
    }

    // Checks the empty value: allowed for int etc., rejected for smallint/date, plain for text.
    #[test]
    fn empty_values() {
        assert_eq!(rt(CqlValue::Empty, "int"), Vec::<u8>::new());
        assert_eq!(rt(CqlValue::Empty, "uuid"), Vec::<u8>::new());
        assert_eq!(rt(CqlValue::Empty, "frozen<list<int>>"), Vec::<u8>::new());
        assert_eq!(
            deserialize(&[], &CqlType::Text),
            Ok(CqlValue::Text(String::new()))
        );
        assert_eq!(err(&[], "smallint"), "Expected 2 bytes for a smallint (0)");
        assert_eq!(err(&[], "date"), "Expected 4 byte long for date (0)");
        assert!(serialize(&CqlValue::Empty, &CqlType::Time).is_err());
    }

    // Checks Cassandra's validation messages for malformed values.
    #[test]
    fn validation_messages() {
        assert_eq!(err(&[0, 0, 1], "int"), "Expected 4 or 0 byte int (3)");
        assert_eq!(err(&[0; 5], "bigint"), "Expected 8 or 0 byte long (5)");
        assert_eq!(
            err(&[0; 3], "float"),
            "Expected 4 or 0 byte value for a float (3)"
        );
        assert_eq!(err(&[0; 2], "boolean"), "Expected 1 or 0 byte value (2)");
        assert_eq!(err(&[0x68, 0xff], "text"), "Invalid UTF-8 bytes 68ff");
        assert_eq!(err(&[0x68, 0x80], "ascii"), "Invalid byte for ascii: -128");
        assert_eq!(
            err(&[1, 2, 3], "inet"),
            "Expected 4 or 16 byte inetaddress; got 010203"
        );
        assert_eq!(
            err(&[0; 16], "timeuuid"),
            "Invalid version for TimeUUID type."
        );
        assert_eq!(
            err(&[0; 3], "decimal"),
            "Expected 0 or at least 4 bytes (3)"
        );
        assert_eq!(
            err(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff], "list<int>"),
            "null is not supported inside collections"
        );
        assert_eq!(
            err(&[0, 0, 0, 0, 9], "list<int>"),
            "Unexpected extraneous bytes after list value"
        );
        assert_eq!(
            err(&[0x7f, 0xff, 0xff, 0xff], "set<int>"),
            "Not enough bytes to read a set"
        );
        assert_eq!(
            err(&[0, 0, 0, 0, 0, 0, 0, 0, 1], "tuple<int>"),
            "Invalid remaining data after end of tuple value"
        );
        assert!(err(&[2, 1, 0], "duration")
            .starts_with("The duration months, days and nanoseconds must be all of the same sign"));
    }

    // Checks collections, tuples, UDTs and vectors encode per the spec and normalize sets/maps.
    #[test]
    fn complex_layouts() {
        let b = rt(
            CqlValue::List(vec![CqlValue::Int(1), CqlValue::Empty]),
            "list<int>",
        );
        assert_eq!(b, [0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]);
        let m = CqlValue::Map(vec![(CqlValue::Text("a".into()), CqlValue::Int(1))]);
        assert_eq!(
            rt(m, "map<text, int>"),
            [0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 4, 0, 0, 0, 1]
        );
        let t = CqlValue::Tuple(vec![Some(CqlValue::Int(7)), None]);
        assert_eq!(
            rt(t, "tuple<int, text>"),
            [0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff]
        );
        let v = CqlValue::Vector(vec![CqlValue::Float(1.0), CqlValue::Float(2.0)]);
        assert_eq!(rt(v, "vector<float, 2>").len(), 8);
        let v = CqlValue::Vector(vec![
            CqlValue::Text("ab".into()),
            CqlValue::Text(String::new()),
        ]);
        assert_eq!(rt(v, "vector<text, 2>"), [2, b'a', b'b', 0]);
        // unsorted set with a duplicate decodes sorted and deduplicated
        let set = CqlType::parse("set<int>").expect("type");
        let raw = serialize(
            &CqlValue::List(vec![CqlValue::Int(3), CqlValue::Int(1), CqlValue::Int(3)]),
            &CqlType::parse("list<int>").expect("t"),
        )
        .expect("ser");
        assert_eq!(
            deserialize(&raw, &set),
            Ok(CqlValue::Set(vec![CqlValue::Int(1), CqlValue::Int(3)]))
        );
        // a UDT value may omit trailing fields
        let udt = CqlType::Udt {
            keyspace: "ks".into(),
            name: "u".into(),
            fields: vec![("a".into(), CqlType::Int), ("b".into(), CqlType::Text)],
        };
        assert_eq!(
            deserialize(&[0, 0, 0, 4, 0, 0, 0, 9], &udt),
            Ok(CqlValue::Udt(vec![Some(CqlValue::Int(9)), None]))
        );
    }

    // Checks the vint and zig-zag encodings at size boundaries.
    #[test]
    fn vints() {
        for v in [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            (1 << 56) - 1,
            1 << 56,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_unsigned_vint(v, &mut out);
            assert_eq!(read_unsigned_vint(&out), Some((v, out.len())), "{v}");
        }
        let mut out = Vec::new();
        write_unsigned_vint(128, &mut out);
        assert_eq!(out, [0x80, 0x80]);
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, -1000] {
            let mut out = Vec::new();
            write_vint(v, &mut out);
            assert_eq!(read_vint(&out), Some((v, out.len())));
        }
        let mut out = Vec::new();
        write_vint(-1, &mut out);
        assert_eq!(out, [1]);
        let d = CqlValue::Duration(Duration::new(1, 2, 3));
        assert_eq!(rt(d, "duration"), [2, 4, 6]);
    }
}
