//! The notations of spec §3: the primitive encodings every message body is
//! built from, as a bounds-checked [`Reader`] and a set of `put_*` writers.
//!
//! All integers are big-endian (network order). Layouts:
//!
//! ```text
//! [byte]            u8
//! [short]           u16
//! [int]             i32
//! [long]            i64
//! [string]          [short] n, n bytes of UTF-8
//! [long string]     [int] n, n bytes of UTF-8
//! [uuid]            16 bytes
//! [string list]     [short] n, n × [string]
//! [bytes]           [int] n, n bytes if n >= 0; n < 0 means null
//! [value]           [int] n, n bytes if n >= 0; -1 null; -2 unset (v4+); < -2 invalid
//! [short bytes]     [short] n, n bytes
//! [unsigned vint]   first byte: k leading 1-bits = k extra bytes, remaining bits are
//!                   the value's most significant bits, then k bytes big-endian;
//!                   0xFF = 8 extra bytes holding the whole u64 (v5)
//! [vint]            zig-zag ((n >> 63) ^ (n << 1)) then [unsigned vint] (v5)
//! [option]          [short] id, then a value depending on the id (types: see
//!                   crate::types::cql_type)
//! [option list]     [short] n, n × [option]
//! [inet]            [byte] n (4 or 16), n address bytes, [int] port
//! [inetaddr]        [byte] n (4 or 16), n address bytes
//! [consistency]     [short], see [`Consistency`]
//! [string map]      [short] n, n × ([string] key, [string] value)
//! [string multimap] [short] n, n × ([string] key, [string list] value)
//! [bytes map]       [short] n, n × ([string] key, [bytes] value)
//! ```
//!
//! The [`Reader`] never panics and never allocates more than the input it
//! has actually seen: every length is checked against the bytes remaining
//! before anything is sliced or copied, and element counts are never used to
//! pre-size a collection. A short read is [`ProtocolError::Incomplete`];
//! anything else wrong (bad UTF-8, a negative length where none is allowed,
//! an unknown consistency) is [`ProtocolError::Malformed`].
//!
//! Writers return an error instead of silently truncating when a length does
//! not fit its prefix (a [string] longer than 65535 bytes, say).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::error::{ProtocolError, ProtocolResult};
use super::frame::V4;
use crate::types::{CqlType, TypeError};

/// Size of a [uuid].
pub const UUID_LEN: usize = 16;

/// Largest extra-byte count of an [unsigned vint]: a u64 needs at most 8
/// bytes after the 0xFF marker byte.
const VINT_MAX_EXTRA_BYTES: u32 = 8;

/// A [string map] (keys sorted; a repeated key keeps its last value).
pub type StringMap = BTreeMap<String, String>;
/// A [string multimap].
pub type StringMultimap = BTreeMap<String, Vec<String>>;
/// A [bytes map] (custom payloads); `None` is a null [bytes].
pub type BytesMap = BTreeMap<String, Option<Vec<u8>>>;

/// A bound [value]: bytes, null, or (protocol v4+) "not set".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A present value (possibly empty).
    Bytes(Vec<u8>),
    /// `null` (length -1).
    Null,
    /// Not set (length -2, v4+): leave the existing value untouched.
    Unset,
}

impl Value {
    /// The value as `Option<&[u8]>` (`None` for null); `None` too for Unset,
    /// check [`Value::is_unset`] first where that matters.
    pub fn as_option(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Null | Value::Unset => None,
        }
    }

    /// Whether this is the "not set" marker.
    pub fn is_unset(&self) -> bool {
        matches!(self, Value::Unset)
    }
}

impl From<Option<Vec<u8>>> for Value {
    fn from(v: Option<Vec<u8>>) -> Self {
        match v {
            Some(b) => Value::Bytes(b),
            None => Value::Null,
        }
    }
}

/// A [consistency] level (spec §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Consistency {
    /// 0x0000
    Any,
    /// 0x0001
    One,
    /// 0x0002
    Two,
    /// 0x0003
    Three,
    /// 0x0004
    Quorum,
    /// 0x0005
    All,
    /// 0x0006
    LocalQuorum,
    /// 0x0007
    EachQuorum,
    /// 0x0008
    Serial,
    /// 0x0009
    LocalSerial,
    /// 0x000A
    LocalOne,
}

impl Consistency {
    /// Every level, in code order.
    pub const ALL_LEVELS: [Consistency; 11] = [
        Consistency::Any,
        Consistency::One,
        Consistency::Two,
        Consistency::Three,
        Consistency::Quorum,
        Consistency::All,
        Consistency::LocalQuorum,
        Consistency::EachQuorum,
        Consistency::Serial,
        Consistency::LocalSerial,
        Consistency::LocalOne,
    ];

    /// The wire code.
    pub fn code(self) -> u16 {
        match self {
            Consistency::Any => 0x0000,
            Consistency::One => 0x0001,
            Consistency::Two => 0x0002,
            Consistency::Three => 0x0003,
            Consistency::Quorum => 0x0004,
            Consistency::All => 0x0005,
            Consistency::LocalQuorum => 0x0006,
            Consistency::EachQuorum => 0x0007,
            Consistency::Serial => 0x0008,
            Consistency::LocalSerial => 0x0009,
            Consistency::LocalOne => 0x000A,
        }
    }

    /// The level of a wire code.
    pub fn from_code(code: u16) -> ProtocolResult<Consistency> {
        Consistency::ALL_LEVELS
            .get(usize::from(code))
            .copied()
            .ok_or_else(|| {
                ProtocolError::malformed(format!("Unknown code {code} for a consistency level"))
            })
    }

    /// The CQL name (`LOCAL_QUORUM`).
    pub fn name(self) -> &'static str {
        match self {
            Consistency::Any => "ANY",
            Consistency::One => "ONE",
            Consistency::Two => "TWO",
            Consistency::Three => "THREE",
            Consistency::Quorum => "QUORUM",
            Consistency::All => "ALL",
            Consistency::LocalQuorum => "LOCAL_QUORUM",
            Consistency::EachQuorum => "EACH_QUORUM",
            Consistency::Serial => "SERIAL",
            Consistency::LocalSerial => "LOCAL_SERIAL",
            Consistency::LocalOne => "LOCAL_ONE",
        }
    }
}

/// A bounds-checked cursor over a message body.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unread rest of the input (does not advance).
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Takes `n` raw bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> ProtocolResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(ProtocolError::Incomplete { what })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(ProtocolError::Incomplete { what })?;
        self.pos = end;
        Ok(s)
    }

    fn take_array<const N: usize>(&mut self, what: &'static str) -> ProtocolResult<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A [byte].
    pub fn read_byte(&mut self) -> ProtocolResult<u8> {
        Ok(self.take_array::<1>("a [byte]")?[0])
    }

    /// A [short].
    pub fn read_short(&mut self) -> ProtocolResult<u16> {
        Ok(u16::from_be_bytes(self.take_array("a [short]")?))
    }

    /// An [int].
    pub fn read_int(&mut self) -> ProtocolResult<i32> {
        Ok(i32::from_be_bytes(self.take_array("an [int]")?))
    }

    /// A [long].
    pub fn read_long(&mut self) -> ProtocolResult<i64> {
        Ok(i64::from_be_bytes(self.take_array("a [long]")?))
    }

    /// A [uuid].
    pub fn read_uuid(&mut self) -> ProtocolResult<[u8; UUID_LEN]> {
        self.take_array("a [uuid]")
    }

    fn utf8(bytes: &[u8], what: &'static str) -> ProtocolResult<String> {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ProtocolError::malformed(format!("Cannot decode {what}: invalid UTF-8")))
    }

    /// A [string].
    pub fn read_string(&mut self) -> ProtocolResult<String> {
        let n = usize::from(self.read_short()?);
        let b = self.take(n, "a [string]")?;
        Self::utf8(b, "a [string]")
    }

    /// A [long string].
    pub fn read_long_string(&mut self) -> ProtocolResult<String> {
        let n = self.read_int()?;
        let n = usize::try_from(n).map_err(|_| {
            ProtocolError::malformed(format!("Invalid negative length {n} for a [long string]"))
        })?;
        let b = self.take(n, "a [long string]")?;
        Self::utf8(b, "a [long string]")
    }

    /// A [string list].
    pub fn read_string_list(&mut self) -> ProtocolResult<Vec<String>> {
        let n = self.read_short()?;
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(self.read_string()?);
        }
        Ok(v)
    }

    /// A [bytes]; any negative length is null.
    pub fn read_bytes(&mut self) -> ProtocolResult<Option<Vec<u8>>> {
        let n = self.read_int()?;
        match usize::try_from(n) {
            Ok(n) => Ok(Some(self.take(n, "a [bytes]")?.to_vec())),
            Err(_) => Ok(None),
        }
    }

    /// A [value]; `-2` (unset) is only valid from protocol v4 on.
    pub fn read_value(&mut self, version: u8) -> ProtocolResult<Value> {
        let n = self.read_int()?;
        match n {
            -1 => Ok(Value::Null),
            -2 if version >= V4 => Ok(Value::Unset),
            n if n < 0 => Err(ProtocolError::malformed(format!(
                "Invalid length {n} for a [value]"
            ))),
            n => {
                let len = usize::try_from(n).unwrap_or(usize::MAX);
                Ok(Value::Bytes(self.take(len, "a [value]")?.to_vec()))
            }
        }
    }

    /// A [short bytes].
    pub fn read_short_bytes(&mut self) -> ProtocolResult<Vec<u8>> {
        let n = usize::from(self.read_short()?);
        Ok(self.take(n, "a [short bytes]")?.to_vec())
    }

    /// An [unsigned vint] (v5).
    pub fn read_unsigned_vint(&mut self) -> ProtocolResult<u64> {
        let first = self.read_byte()?;
        let extra = first.leading_ones();
        if extra >= VINT_MAX_EXTRA_BYTES {
            return Ok(u64::from_be_bytes(self.take_array("an [unsigned vint]")?));
        }
        let mut v = u64::from(first & (0xFFu8 >> extra));
        for b in self.take(extra as usize, "an [unsigned vint]")? {
            v = (v << 8) | u64::from(*b);
        }
        Ok(v)
    }

    /// A [vint] (v5).
    pub fn read_vint(&mut self) -> ProtocolResult<i64> {
        let u = self.read_unsigned_vint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// An [option] holding a CQL type (result metadata, §4.2.5.2).
    pub fn read_option(&mut self) -> ProtocolResult<CqlType> {
        let (t, used) = CqlType::decode_option(self.rest()).map_err(type_error)?;
        self.take(used, "an [option]")?;
        Ok(t)
    }

    /// An [option list] of CQL types.
    pub fn read_option_list(&mut self) -> ProtocolResult<Vec<CqlType>> {
        let n = self.read_short()?;
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(self.read_option()?);
        }
        Ok(v)
    }

    /// An [inetaddr].
    pub fn read_inetaddr(&mut self) -> ProtocolResult<IpAddr> {
        let n = self.read_byte()?;
        match n {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(
                self.take_array::<4>("an [inetaddr]")?,
            ))),
            16 => Ok(IpAddr::V6(Ipv6Addr::from(
                self.take_array::<16>("an [inetaddr]")?,
            ))),
            n => Err(ProtocolError::malformed(format!(
                "Invalid IP address length {n} (expected 4 or 16)"
            ))),
        }
    }

    /// An [inet] (address and port).
    pub fn read_inet(&mut self) -> ProtocolResult<SocketAddr> {
        let ip = self.read_inetaddr()?;
        let port = self.read_int()?;
        let port = u16::try_from(port)
            .map_err(|_| ProtocolError::malformed(format!("Invalid port {port} in an [inet]")))?;
        Ok(SocketAddr::new(ip, port))
    }

    /// A [consistency].
    pub fn read_consistency(&mut self) -> ProtocolResult<Consistency> {
        Consistency::from_code(self.read_short()?)
    }

    /// A [string map].
    pub fn read_string_map(&mut self) -> ProtocolResult<StringMap> {
        let n = self.read_short()?;
        let mut m = StringMap::new();
        for _ in 0..n {
            let k = self.read_string()?;
            let v = self.read_string()?;
            m.insert(k, v);
        }
        Ok(m)
    }

    /// A [string multimap].
    pub fn read_string_multimap(&mut self) -> ProtocolResult<StringMultimap> {
        let n = self.read_short()?;
        let mut m = StringMultimap::new();
        for _ in 0..n {
            let k = self.read_string()?;
            let v = self.read_string_list()?;
            m.insert(k, v);
        }
        Ok(m)
    }

    /// A [bytes map].
    pub fn read_bytes_map(&mut self) -> ProtocolResult<BytesMap> {
        let n = self.read_short()?;
        let mut m = BytesMap::new();
        for _ in 0..n {
            let k = self.read_string()?;
            let v = self.read_bytes()?;
            m.insert(k, v);
        }
        Ok(m)
    }
}

/// Maps a type-decoding error onto a protocol error; a short `[option]` is
/// reported as [`ProtocolError::Incomplete`] (the types module words those
/// `Not enough bytes ...`), everything else as malformed.
fn type_error(e: TypeError) -> ProtocolError {
    let msg = e.to_string();
    if msg.starts_with("Not enough bytes") {
        ProtocolError::Incomplete {
            what: "an [option]",
        }
    } else {
        ProtocolError::Malformed(msg)
    }
}

fn len_u16(n: usize, what: &str) -> ProtocolResult<u16> {
    u16::try_from(n).map_err(|_| ProtocolError::malformed(format!("{what} too long: {n}")))
}

fn len_i32(n: usize, what: &str) -> ProtocolResult<i32> {
    i32::try_from(n).map_err(|_| ProtocolError::malformed(format!("{what} too long: {n}")))
}

/// Appends a [byte].
pub fn put_byte(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// Appends a [short].
pub fn put_short(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends an [int].
pub fn put_int(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a [long].
pub fn put_long(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a [uuid].
pub fn put_uuid(out: &mut Vec<u8>, v: &[u8; UUID_LEN]) {
    out.extend_from_slice(v);
}

/// Appends a [string].
pub fn put_string(out: &mut Vec<u8>, s: &str) -> ProtocolResult<()> {
    put_short(out, len_u16(s.len(), "[string]")?);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Appends a [long string].
pub fn put_long_string(out: &mut Vec<u8>, s: &str) -> ProtocolResult<()> {
    put_int(out, len_i32(s.len(), "[long string]")?);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Appends a [string list].
pub fn put_string_list(out: &mut Vec<u8>, l: &[String]) -> ProtocolResult<()> {
    put_short(out, len_u16(l.len(), "[string list]")?);
    for s in l {
        put_string(out, s)?;
    }
    Ok(())
}

/// Appends a [bytes] (`None` = null, length -1).
pub fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) -> ProtocolResult<()> {
    match b {
        Some(b) => {
            put_int(out, len_i32(b.len(), "[bytes]")?);
            out.extend_from_slice(b);
        }
        None => put_int(out, -1),
    }
    Ok(())
}

/// Appends a [value]; `Unset` is refused before protocol v4.
pub fn put_value(out: &mut Vec<u8>, v: &Value, version: u8) -> ProtocolResult<()> {
    match v {
        Value::Bytes(b) => put_bytes(out, Some(b)),
        Value::Null => put_bytes(out, None),
        Value::Unset if version >= V4 => {
            put_int(out, -2);
            Ok(())
        }
        Value::Unset => Err(ProtocolError::malformed(format!(
            "Unset values are not supported by protocol v{version}"
        ))),
    }
}

/// Appends a [short bytes].
pub fn put_short_bytes(out: &mut Vec<u8>, b: &[u8]) -> ProtocolResult<()> {
    put_short(out, len_u16(b.len(), "[short bytes]")?);
    out.extend_from_slice(b);
    Ok(())
}

/// Appends an [unsigned vint].
pub fn put_unsigned_vint(out: &mut Vec<u8>, v: u64) {
    let magnitude = 64 - (v | 1).leading_zeros();
    // 7 value bits per byte, up to 8 bytes (56 bits); beyond that, 9 bytes.
    let size = if magnitude > 56 {
        9
    } else {
        1 + (magnitude - 1) / 7
    };
    if size == 9 {
        out.push(0xFF);
        out.extend_from_slice(&v.to_be_bytes());
        return;
    }
    let extra = size - 1;
    let bytes = v.to_be_bytes();
    let start = bytes.len() - size as usize;
    let mut first = bytes[start];
    first |= !(0xFFu8 >> extra);
    out.push(first);
    out.extend_from_slice(&bytes[start + 1..]);
}

/// Appends a [vint].
pub fn put_vint(out: &mut Vec<u8>, v: i64) {
    put_unsigned_vint(out, ((v >> 63) ^ (v << 1)) as u64);
}

/// Appends an [option] for a CQL type.
pub fn put_option(out: &mut Vec<u8>, t: &CqlType, version: u8) -> ProtocolResult<()> {
    t.encode_option(version, out)
        .map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// Appends an [option list].
pub fn put_option_list(out: &mut Vec<u8>, ts: &[CqlType], version: u8) -> ProtocolResult<()> {
    put_short(out, len_u16(ts.len(), "[option list]")?);
    for t in ts {
        put_option(out, t, version)?;
    }
    Ok(())
}

/// Appends an [inetaddr].
pub fn put_inetaddr(out: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            out.push(16);
            out.extend_from_slice(&a.octets());
        }
    }
}

/// Appends an [inet].
pub fn put_inet(out: &mut Vec<u8>, addr: &SocketAddr) {
    put_inetaddr(out, &addr.ip());
    put_int(out, i32::from(addr.port()));
}

/// Appends a [consistency].
pub fn put_consistency(out: &mut Vec<u8>, c: Consistency) {
    put_short(out, c.code());
}

/// Appends a [string map].
pub fn put_string_map(out: &mut Vec<u8>, m: &StringMap) -> ProtocolResult<()> {
    put_short(out, len_u16(m.len(), "[string map]")?);
    for (k, v) in m {
        put_string(out, k)?;
        put_string(out, v)?;
    }
    Ok(())
}

/// Appends a [string multimap].
pub fn put_string_multimap(out: &mut Vec<u8>, m: &StringMultimap) -> ProtocolResult<()> {
    put_short(out, len_u16(m.len(), "[string multimap]")?);
    for (k, v) in m {
        put_string(out, k)?;
        put_string_list(out, v)?;
    }
    Ok(())
}

/// Appends a [bytes map].
pub fn put_bytes_map(out: &mut Vec<u8>, m: &BytesMap) -> ProtocolResult<()> {
    put_short(out, len_u16(m.len(), "[bytes map]")?);
    for (k, v) in m {
        put_string(out, k)?;
        put_bytes(out, v.as_deref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vint_spec_example() {
        // Checks the spec §3 example: 256000 encodes as [110]00011 11101000 00000000.
        let mut out = Vec::new();
        put_unsigned_vint(&mut out, 256_000);
        assert_eq!(out, vec![0b1100_0011, 0b1110_1000, 0]);
        assert_eq!(Reader::new(&out).read_unsigned_vint(), Ok(256_000));
    }

    #[test]
    fn vint_round_trips_edges() {
        // Checks [unsigned vint]/[vint] round trips at every size boundary, incl. 9-byte values.
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let mut out = Vec::new();
                put_unsigned_vint(&mut out, v);
                let mut r = Reader::new(&out);
                assert_eq!(r.read_unsigned_vint(), Ok(v));
                assert!(r.is_empty());
            }
        }
        for v in [0i64, -1, 1, -2, i64::MIN, i64::MAX, 63, -64, 64] {
            let mut out = Vec::new();
            put_vint(&mut out, v);
            assert_eq!(Reader::new(&out).read_vint(), Ok(v));
        }
        let mut out = Vec::new();
        put_vint(&mut out, -1);
        assert_eq!(out, vec![1], "zig-zag: -1 = 1");
    }

    #[test]
    fn value_lengths() {
        // Checks [value] -1/-2/<-2 handling and that unset is refused in v3.
        assert_eq!(Reader::new(&[0xff; 4]).read_value(4), Ok(Value::Null));
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xfe]).read_value(4),
            Ok(Value::Unset)
        );
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xfe])
            .read_value(3)
            .is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xfd])
            .read_value(4)
            .is_err());
        assert!(put_value(&mut Vec::new(), &Value::Unset, 3).is_err());
    }

    #[test]
    fn truncation_is_incomplete() {
        // Checks that short reads report Incomplete, not garbage or another error.
        assert!(Reader::new(&[0, 5, b'a'])
            .read_string()
            .expect_err("fails")
            .is_incomplete());
        assert!(Reader::new(&[0, 0, 0])
            .read_int()
            .expect_err("fails")
            .is_incomplete());
        assert!(Reader::new(&[0, 0, 0, 9, 1])
            .read_bytes()
            .expect_err("fails")
            .is_incomplete());
        assert!(Reader::new(&[0xC3, 1])
            .read_unsigned_vint()
            .expect_err("fails")
            .is_incomplete());
    }

    #[test]
    fn inet_round_trip() {
        // Checks [inet] for IPv4 and IPv6 and rejection of a bad address length.
        for a in ["127.0.0.1:9042", "[::1]:7000"] {
            let a: SocketAddr = a.parse().expect("addr");
            let mut out = Vec::new();
            put_inet(&mut out, &a);
            assert_eq!(Reader::new(&out).read_inet(), Ok(a));
        }
        assert!(!Reader::new(&[5, 1, 2, 3, 4, 5])
            .read_inetaddr()
            .expect_err("fails")
            .is_incomplete());
    }
}
