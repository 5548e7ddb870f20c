//! [`CqlType`]: the CQL data types, their text form and their protocol form.
//!
//! # Representation
//!
//! One enum variant per CQL type. Frozenness is a wrapper,
//! [`CqlType::Frozen`], kept canonical by the parser:
//!
//! * `Frozen` only ever wraps a `List`, `Set`, `Map` or `Udt`;
//! * inside a frozen value everything is frozen, so types nested inside a
//!   `Frozen`, a `Tuple` or a `Vector` are stored *without* wrappers
//!   (`frozen<list<frozen<set<int>>>>` and `frozen<list<set<int>>>` parse to
//!   the same value);
//! * tuples and vectors are always frozen and carry no wrapper.
//!
//! `varchar` is parsed as [`CqlType::Text`] and prints as `text`.
//!
//! # Text form
//!
//! [`fmt::Display`] writes what Cassandra 5 stores in
//! `system_schema.columns.type` (`CQL3Type.toString()`): every frozen
//! collection, UDT and tuple prints its `frozen<>`, however deeply nested —
//! `frozen<map<text, list<int>>>` is stored as
//! `frozen<map<text, frozen<list<int>>>>` and `tuple<int, text>` as
//! `frozen<tuple<int, text>>`; vectors print bare (`vector<float, 3>`); UDTs
//! print by name (double-quoted when not a lower-case identifier), custom
//! types as a quoted class name. [`CqlType::parse`] accepts that and the usual CQL spellings,
//! case-insensitively and whitespace tolerant; UDT names resolve through a
//! caller-provided closure ([`CqlType::parse_with`]). The parser enforces
//! Cassandra's rules: non-frozen collections or UDTs are not allowed inside
//! collections, counters not inside collections, durations not in sets or map
//! keys.
//!
//! # Protocol form
//!
//! [`CqlType::encode_option`] / [`CqlType::decode_option`] implement the
//! `[option]` of native protocol v4/v5 §4.2.5.2 (result metadata):
//!
//! ```text
//! 0x0000 custom [string class]   0x000B timestamp   0x0014 tinyint
//! 0x0001 ascii                   0x000C uuid        0x0015 duration (v5; v4 sends
//! 0x0002 bigint                  0x000D varchar            it as a custom type)
//! 0x0003 blob                    0x000E varint      0x0020 list [option]
//! 0x0004 boolean                 0x000F timeuuid    0x0021 map [option][option]
//! 0x0005 counter                 0x0010 inet        0x0022 set [option]
//! 0x0006 decimal                 0x0011 date        0x0030 udt [string ks][string name]
//! 0x0007 double                  0x0012 time               [short n] n×([string][option])
//! 0x0008 float                   0x0013 smallint    0x0031 tuple [short n] n×[option]
//! 0x0009 int   (0x000A = text in protocol v1, accepted when decoding)
//! ```
//!
//! Vectors have no option id: they travel as custom types named by their
//! Cassandra marshal class, e.g.
//! `org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)`;
//! [`CqlType::marshal_class`] produces these names and decoding recognises
//! the common ones. Frozenness is not part of the option and decodes as
//! non-frozen.

use std::fmt;

use super::error::{TypeError, TypeResult};
use super::MAX_NESTING_DEPTH;

/// Largest vector dimension accepted when parsing a type. Cassandra has no
/// hard limit; this bounds allocations driven by a client-supplied type.
pub const MAX_VECTOR_DIMENSION: usize = 1 << 20;

/// Largest number of fields in a tuple/UDT option decoded from the wire (the
/// count is a [short], so this is the format's own limit).
pub const MAX_OPTION_FIELDS: usize = u16::MAX as usize;

const MARSHAL: &str = "org.apache.cassandra.db.marshal.";

/// A CQL data type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CqlType {
    /// `ascii`
    Ascii,
    /// `bigint`
    Bigint,
    /// `blob`
    Blob,
    /// `boolean`
    Boolean,
    /// `counter`
    Counter,
    /// `date`
    Date,
    /// `decimal`
    Decimal,
    /// `double`
    Double,
    /// `duration`
    Duration,
    /// `float`
    Float,
    /// `inet`
    Inet,
    /// `int`
    Int,
    /// `smallint`
    Smallint,
    /// `text` (also `varchar`)
    Text,
    /// `time`
    Time,
    /// `timestamp`
    Timestamp,
    /// `timeuuid`
    Timeuuid,
    /// `tinyint`
    Tinyint,
    /// `uuid`
    Uuid,
    /// `varint`
    Varint,
    /// `list<T>` (multi-cell unless wrapped in `Frozen` or nested in a frozen type)
    List(Box<CqlType>),
    /// `set<T>`
    Set(Box<CqlType>),
    /// `map<K, V>`
    Map(Box<CqlType>, Box<CqlType>),
    /// `tuple<...>` (always frozen)
    Tuple(Vec<CqlType>),
    /// A user-defined type.
    Udt {
        /// Keyspace the type belongs to.
        keyspace: String,
        /// Type name (case preserved, unquoted).
        name: String,
        /// Fields in declaration order.
        fields: Vec<(String, CqlType)>,
    },
    /// `vector<T, n>` (always frozen)
    Vector(Box<CqlType>, usize),
    /// A custom type by Java class name.
    Custom(String),
    /// `frozen<T>` around a list, set, map or UDT.
    Frozen(Box<CqlType>),
}

/// Resolves a user-defined type name: `(keyspace if qualified, name)` to the
/// `CqlType::Udt` it denotes.
pub type UdtLookup<'a> = &'a dyn Fn(Option<&str>, &str) -> Option<CqlType>;

impl CqlType {
    /// The type without a `Frozen` wrapper.
    pub fn unfrozen(&self) -> &CqlType {
        match self {
            CqlType::Frozen(inner) => inner,
            t => t,
        }
    }

    /// True for `Frozen(..)`, tuples and vectors (all single-cell complex types).
    pub fn is_frozen(&self) -> bool {
        matches!(
            self,
            CqlType::Frozen(_) | CqlType::Tuple(_) | CqlType::Vector(..)
        )
    }

    /// True for non-frozen collections and non-frozen UDTs (stored as one cell per element).
    pub fn is_multi_cell(&self) -> bool {
        matches!(
            self,
            CqlType::List(_) | CqlType::Set(_) | CqlType::Map(..) | CqlType::Udt { .. }
        )
    }

    /// True for list/set/map, frozen or not.
    pub fn is_collection(&self) -> bool {
        matches!(
            self.unfrozen(),
            CqlType::List(_) | CqlType::Set(_) | CqlType::Map(..)
        )
    }

    /// True for `counter`.
    pub fn is_counter(&self) -> bool {
        matches!(self, CqlType::Counter)
    }

    /// Native (non-parameterized) type by CQL name, case-insensitive.
    pub fn native_from_name(name: &str) -> Option<CqlType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "ascii" => CqlType::Ascii,
            "bigint" => CqlType::Bigint,
            "blob" => CqlType::Blob,
            "boolean" => CqlType::Boolean,
            "counter" => CqlType::Counter,
            "date" => CqlType::Date,
            "decimal" => CqlType::Decimal,
            "double" => CqlType::Double,
            "duration" => CqlType::Duration,
            "float" => CqlType::Float,
            "inet" => CqlType::Inet,
            "int" => CqlType::Int,
            "smallint" => CqlType::Smallint,
            "text" | "varchar" => CqlType::Text,
            "time" => CqlType::Time,
            "timestamp" => CqlType::Timestamp,
            "timeuuid" => CqlType::Timeuuid,
            "tinyint" => CqlType::Tinyint,
            "uuid" => CqlType::Uuid,
            "varint" => CqlType::Varint,
            _ => return None,
        })
    }

    /// Parses CQL type text without user-defined types.
    pub fn parse(text: &str) -> TypeResult<CqlType> {
        Self::parse_with(text, &|_, _| None)
    }

    /// Parses CQL type text, resolving UDT names with `lookup`.
    pub fn parse_with(text: &str, lookup: UdtLookup<'_>) -> TypeResult<CqlType> {
        let mut p = TypeParser {
            s: text.as_bytes(),
            text,
            pos: 0,
        };
        let raw = p.parse_raw(0)?;
        p.skip_ws();
        if p.pos != p.s.len() {
            return Err(TypeError::Syntax(format!(
                "Unexpected '{}' at position {} in type '{}'",
                &text[p.pos..],
                p.pos,
                text
            )));
        }
        resolve(&raw, false, lookup, 0)
    }

    fn fmt_ctx(&self, f: &mut fmt::Formatter<'_>, in_frozen: bool) -> fmt::Result {
        match self {
            CqlType::Ascii => f.write_str("ascii"),
            CqlType::Bigint => f.write_str("bigint"),
            CqlType::Blob => f.write_str("blob"),
            CqlType::Boolean => f.write_str("boolean"),
            CqlType::Counter => f.write_str("counter"),
            CqlType::Date => f.write_str("date"),
            CqlType::Decimal => f.write_str("decimal"),
            CqlType::Double => f.write_str("double"),
            CqlType::Duration => f.write_str("duration"),
            CqlType::Float => f.write_str("float"),
            CqlType::Inet => f.write_str("inet"),
            CqlType::Int => f.write_str("int"),
            CqlType::Smallint => f.write_str("smallint"),
            CqlType::Text => f.write_str("text"),
            CqlType::Time => f.write_str("time"),
            CqlType::Timestamp => f.write_str("timestamp"),
            CqlType::Timeuuid => f.write_str("timeuuid"),
            CqlType::Tinyint => f.write_str("tinyint"),
            CqlType::Uuid => f.write_str("uuid"),
            CqlType::Varint => f.write_str("varint"),
            CqlType::List(_) | CqlType::Set(_) | CqlType::Map(..) | CqlType::Udt { .. } => {
                // Cassandra's CQL3Type.toString: every frozen collection/UDT says so,
                // however deeply nested.
                if in_frozen {
                    f.write_str("frozen<")?;
                }
                match self {
                    CqlType::List(e) => {
                        f.write_str("list<")?;
                        e.fmt_ctx(f, in_frozen)?;
                        f.write_str(">")?;
                    }
                    CqlType::Set(e) => {
                        f.write_str("set<")?;
                        e.fmt_ctx(f, in_frozen)?;
                        f.write_str(">")?;
                    }
                    CqlType::Map(k, v) => {
                        f.write_str("map<")?;
                        k.fmt_ctx(f, in_frozen)?;
                        f.write_str(", ")?;
                        v.fmt_ctx(f, in_frozen)?;
                        f.write_str(">")?;
                    }
                    CqlType::Udt { name, .. } => f.write_str(&maybe_quote(name))?,
                    _ => {}
                }
                if in_frozen {
                    f.write_str(">")?;
                }
                Ok(())
            }
            CqlType::Tuple(ts) => {
                // tuples are always frozen and always printed as such
                f.write_str("frozen<tuple<")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    t.fmt_ctx(f, true)?;
                }
                f.write_str(">>")
            }
            CqlType::Vector(e, n) => {
                f.write_str("vector<")?;
                e.fmt_ctx(f, true)?;
                write!(f, ", {n}>")
            }
            CqlType::Custom(class) => write!(f, "'{}'", class.replace('\'', "''")),
            CqlType::Frozen(inner) => inner.fmt_ctx(f, true),
        }
    }

    /// The native-protocol option id of this type (custom types, vectors and,
    /// for protocol < 5, durations are 0x0000).
    pub fn option_id(&self, protocol_version: u8) -> u16 {
        match self.unfrozen() {
            CqlType::Custom(_) | CqlType::Vector(..) => 0x0000,
            CqlType::Ascii => 0x0001,
            CqlType::Bigint => 0x0002,
            CqlType::Blob => 0x0003,
            CqlType::Boolean => 0x0004,
            CqlType::Counter => 0x0005,
            CqlType::Decimal => 0x0006,
            CqlType::Double => 0x0007,
            CqlType::Float => 0x0008,
            CqlType::Int => 0x0009,
            CqlType::Timestamp => 0x000B,
            CqlType::Uuid => 0x000C,
            CqlType::Text => 0x000D,
            CqlType::Varint => 0x000E,
            CqlType::Timeuuid => 0x000F,
            CqlType::Inet => 0x0010,
            CqlType::Date => 0x0011,
            CqlType::Time => 0x0012,
            CqlType::Smallint => 0x0013,
            CqlType::Tinyint => 0x0014,
            CqlType::Duration => {
                if protocol_version >= 5 {
                    0x0015
                } else {
                    0x0000
                }
            }
            CqlType::List(_) => 0x0020,
            CqlType::Map(..) => 0x0021,
            CqlType::Set(_) => 0x0022,
            CqlType::Udt { .. } => 0x0030,
            CqlType::Tuple(_) => 0x0031,
            CqlType::Frozen(_) => 0x0000, // unreachable after unfrozen()
        }
    }

    /// Appends the `[option]` encoding of this type (protocol v4/v5 §4.2.5.2).
    pub fn encode_option(&self, protocol_version: u8, out: &mut Vec<u8>) -> TypeResult<()> {
        let t = self.unfrozen();
        let id = t.option_id(protocol_version);
        out.extend_from_slice(&id.to_be_bytes());
        match t {
            CqlType::Custom(_) | CqlType::Vector(..) | CqlType::Duration if id == 0 => {
                write_string(&t.marshal_class(), out)?;
            }
            CqlType::List(e) | CqlType::Set(e) => e.encode_option(protocol_version, out)?,
            CqlType::Map(k, v) => {
                k.encode_option(protocol_version, out)?;
                v.encode_option(protocol_version, out)?;
            }
            CqlType::Udt {
                keyspace,
                name,
                fields,
            } => {
                write_string(keyspace, out)?;
                write_string(name, out)?;
                write_short_count(fields.len(), out)?;
                for (fname, ftype) in fields {
                    write_string(fname, out)?;
                    ftype.encode_option(protocol_version, out)?;
                }
            }
            CqlType::Tuple(ts) => {
                write_short_count(ts.len(), out)?;
                for t in ts {
                    t.encode_option(protocol_version, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Decodes one `[option]`; returns the type and the bytes consumed.
    pub fn decode_option(buf: &[u8]) -> TypeResult<(CqlType, usize)> {
        let mut pos = 0;
        let t = decode_option_at(buf, &mut pos, 0)?;
        Ok((t, pos))
    }

    /// Cassandra's marshal class name for this type (`org.apache.cassandra.db.marshal.Int32Type`,
    /// `...ListType(...)`, `...VectorType(...FloatType,3)`), as sent for custom options.
    pub fn marshal_class(&self) -> String {
        let simple = |n: &str| format!("{MARSHAL}{n}");
        match self {
            CqlType::Ascii => simple("AsciiType"),
            CqlType::Bigint => simple("LongType"),
            CqlType::Blob => simple("BytesType"),
            CqlType::Boolean => simple("BooleanType"),
            CqlType::Counter => simple("CounterColumnType"),
            CqlType::Date => simple("SimpleDateType"),
            CqlType::Decimal => simple("DecimalType"),
            CqlType::Double => simple("DoubleType"),
            CqlType::Duration => simple("DurationType"),
            CqlType::Float => simple("FloatType"),
            CqlType::Inet => simple("InetAddressType"),
            CqlType::Int => simple("Int32Type"),
            CqlType::Smallint => simple("ShortType"),
            CqlType::Text => simple("UTF8Type"),
            CqlType::Time => simple("TimeType"),
            CqlType::Timestamp => simple("TimestampType"),
            CqlType::Timeuuid => simple("TimeUUIDType"),
            CqlType::Tinyint => simple("ByteType"),
            CqlType::Uuid => simple("UUIDType"),
            CqlType::Varint => simple("IntegerType"),
            CqlType::List(e) => format!("{MARSHAL}ListType({})", e.marshal_class()),
            CqlType::Set(e) => format!("{MARSHAL}SetType({})", e.marshal_class()),
            CqlType::Map(k, v) => {
                format!(
                    "{MARSHAL}MapType({},{})",
                    k.marshal_class(),
                    v.marshal_class()
                )
            }
            CqlType::Tuple(ts) => {
                let inner: Vec<String> = ts.iter().map(|t| t.marshal_class()).collect();
                format!("{MARSHAL}TupleType({})", inner.join(","))
            }
            CqlType::Udt {
                keyspace,
                name,
                fields,
            } => {
                let mut s = format!("{MARSHAL}UserType({keyspace},{}", hex(name.as_bytes()));
                for (fname, ft) in fields {
                    s.push_str(&format!(
                        ",{}:{}",
                        hex(fname.as_bytes()),
                        ft.marshal_class()
                    ));
                }
                s.push(')');
                s
            }
            CqlType::Vector(e, n) => format!("{MARSHAL}VectorType({},{n})", e.marshal_class()),
            CqlType::Custom(c) => c.clone(),
            CqlType::Frozen(inner) => format!("{MARSHAL}FrozenType({})", inner.marshal_class()),
        }
    }

    /// Parses a marshal class name as produced by [`CqlType::marshal_class`]
    /// (natives, collections, tuples, vectors, `FrozenType`, `ReversedType`);
    /// anything else becomes `Custom(name)`.
    pub fn from_marshal_class(class: &str) -> CqlType {
        let mut pos = 0;
        match parse_marshal(class.as_bytes(), &mut pos, 0) {
            Some(t) if pos == class.len() => t,
            _ => CqlType::Custom(class.to_string()),
        }
    }
}

impl fmt::Display for CqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_ctx(f, false)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Double-quotes an identifier unless it is a plain lower-case identifier.
pub(crate) fn maybe_quote(name: &str) -> String {
    let plain = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) -> TypeResult<()> {
    let len = u16::try_from(s.len()).map_err(|_| {
        TypeError::invalid(format!("string too long for [string]: {} bytes", s.len()))
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_short_count(n: usize, out: &mut Vec<u8>) -> TypeResult<()> {
    let n = u16::try_from(n).map_err(|_| TypeError::invalid(format!("too many fields: {n}")))?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

fn read_u16(buf: &[u8], pos: &mut usize) -> TypeResult<u16> {
    let b = buf
        .get(*pos..*pos + 2)
        .ok_or_else(|| TypeError::marshal("Not enough bytes to read an [option]"))?;
    *pos += 2;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

fn read_string(buf: &[u8], pos: &mut usize) -> TypeResult<String> {
    let len = usize::from(read_u16(buf, pos)?);
    let b = buf
        .get(*pos..*pos + len)
        .ok_or_else(|| TypeError::marshal("Not enough bytes to read a [string]"))?;
    *pos += len;
    String::from_utf8(b.to_vec()).map_err(|_| TypeError::marshal("Invalid UTF-8 in [string]"))
}

fn decode_option_at(buf: &[u8], pos: &mut usize, depth: usize) -> TypeResult<CqlType> {
    if depth > MAX_NESTING_DEPTH {
        return Err(TypeError::TooDeep(MAX_NESTING_DEPTH));
    }
    let id = read_u16(buf, pos)?;
    Ok(match id {
        0x0000 => CqlType::from_marshal_class(&read_string(buf, pos)?),
        0x0001 => CqlType::Ascii,
        0x0002 => CqlType::Bigint,
        0x0003 => CqlType::Blob,
        0x0004 => CqlType::Boolean,
        0x0005 => CqlType::Counter,
        0x0006 => CqlType::Decimal,
        0x0007 => CqlType::Double,
        0x0008 => CqlType::Float,
        0x0009 => CqlType::Int,
        0x000A | 0x000D => CqlType::Text,
        0x000B => CqlType::Timestamp,
        0x000C => CqlType::Uuid,
        0x000E => CqlType::Varint,
        0x000F => CqlType::Timeuuid,
        0x0010 => CqlType::Inet,
        0x0011 => CqlType::Date,
        0x0012 => CqlType::Time,
        0x0013 => CqlType::Smallint,
        0x0014 => CqlType::Tinyint,
        0x0015 => CqlType::Duration,
        0x0020 => CqlType::List(Box::new(decode_option_at(buf, pos, depth + 1)?)),
        0x0021 => {
            let k = decode_option_at(buf, pos, depth + 1)?;
            let v = decode_option_at(buf, pos, depth + 1)?;
            CqlType::Map(Box::new(k), Box::new(v))
        }
        0x0022 => CqlType::Set(Box::new(decode_option_at(buf, pos, depth + 1)?)),
        0x0030 => {
            let keyspace = read_string(buf, pos)?;
            let name = read_string(buf, pos)?;
            let n = usize::from(read_u16(buf, pos)?);
            let mut fields = Vec::with_capacity(n.min(buf.len() / 4));
            for _ in 0..n {
                let fname = read_string(buf, pos)?;
                fields.push((fname, decode_option_at(buf, pos, depth + 1)?));
            }
            CqlType::Udt {
                keyspace,
                name,
                fields,
            }
        }
        0x0031 => {
            let n = usize::from(read_u16(buf, pos)?);
            let mut ts = Vec::with_capacity(n.min(buf.len() / 2));
            for _ in 0..n {
                ts.push(decode_option_at(buf, pos, depth + 1)?);
            }
            CqlType::Tuple(ts)
        }
        other => {
            return Err(TypeError::marshal(format!(
                "Unknown type option id 0x{other:04x}"
            )))
        }
    })
}

fn parse_marshal(s: &[u8], pos: &mut usize, depth: usize) -> Option<CqlType> {
    if depth > MAX_NESTING_DEPTH {
        return None;
    }
    let start = *pos;
    while *pos < s.len() && !matches!(s[*pos], b'(' | b')' | b',') {
        *pos += 1;
    }
    let full = std::str::from_utf8(&s[start..*pos]).ok()?.trim();
    let name = full.strip_prefix(MARSHAL).unwrap_or(full);
    if name == "UserType" && s.get(*pos) == Some(&b'(') {
        *pos += 1;
        return parse_marshal_udt(s, pos, depth);
    }
    let mut args = Vec::new();
    let mut int_arg = None;
    if s.get(*pos) == Some(&b'(') {
        *pos += 1;
        loop {
            // numeric argument (vector dimension)
            let save = *pos;
            while *pos < s.len() && s[*pos].is_ascii_digit() {
                *pos += 1;
            }
            if *pos > save && matches!(s.get(*pos), Some(b')') | Some(b',')) {
                int_arg = std::str::from_utf8(&s[save..*pos])
                    .ok()?
                    .parse::<usize>()
                    .ok();
            } else {
                *pos = save;
                args.push(parse_marshal(s, pos, depth + 1)?);
            }
            match s.get(*pos) {
                Some(b',') => *pos += 1,
                Some(b')') => {
                    *pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    let one = |args: &mut Vec<CqlType>| -> Option<Box<CqlType>> {
        if args.len() == 1 {
            args.pop().map(Box::new)
        } else {
            None
        }
    };
    Some(match name {
        "AsciiType" => CqlType::Ascii,
        "LongType" => CqlType::Bigint,
        "BytesType" => CqlType::Blob,
        "BooleanType" => CqlType::Boolean,
        "CounterColumnType" => CqlType::Counter,
        "SimpleDateType" => CqlType::Date,
        "DecimalType" => CqlType::Decimal,
        "DoubleType" => CqlType::Double,
        "DurationType" => CqlType::Duration,
        "FloatType" => CqlType::Float,
        "InetAddressType" => CqlType::Inet,
        "Int32Type" => CqlType::Int,
        "ShortType" => CqlType::Smallint,
        "UTF8Type" => CqlType::Text,
        "TimeType" => CqlType::Time,
        "TimestampType" | "DateType" => CqlType::Timestamp,
        "TimeUUIDType" => CqlType::Timeuuid,
        "ByteType" => CqlType::Tinyint,
        "UUIDType" => CqlType::Uuid,
        "IntegerType" => CqlType::Varint,
        "ListType" => CqlType::List(one(&mut args)?),
        "SetType" => CqlType::Set(one(&mut args)?),
        "MapType" if args.len() == 2 => {
            let v = args.pop()?;
            let k = args.pop()?;
            CqlType::Map(Box::new(k), Box::new(v))
        }
        "TupleType" => CqlType::Tuple(args),
        "FrozenType" => freeze(*one(&mut args)?),
        "ReversedType" => *one(&mut args)?,
        "VectorType" => {
            let n = int_arg?;
            if n == 0 || n > MAX_VECTOR_DIMENSION {
                return None;
            }
            CqlType::Vector(one(&mut args)?, n)
        }
        _ => return None,
    })
}

/// `UserType(ks,hexname,hexfield:Type,...)` after the opening parenthesis.
fn parse_marshal_udt(s: &[u8], pos: &mut usize, depth: usize) -> Option<CqlType> {
    fn token(s: &[u8], pos: &mut usize, stops: &[u8]) -> Option<String> {
        let start = *pos;
        while *pos < s.len() && !stops.contains(&s[*pos]) {
            *pos += 1;
        }
        Some(
            std::str::from_utf8(&s[start..*pos])
                .ok()?
                .trim()
                .to_string(),
        )
    }
    let keyspace = token(s, pos, b",)")?;
    if s.get(*pos) != Some(&b',') {
        return None;
    }
    *pos += 1;
    let name = unhex(&token(s, pos, b",)")?)?;
    let mut fields = Vec::new();
    loop {
        match s.get(*pos) {
            Some(b')') => {
                *pos += 1;
                break;
            }
            Some(b',') => *pos += 1,
            _ => return None,
        }
        let start = *pos;
        while *pos < s.len() && s[*pos] != b':' {
            *pos += 1;
        }
        let fname = unhex(std::str::from_utf8(&s[start..*pos]).ok()?.trim())?;
        *pos += 1;
        fields.push((fname, parse_marshal(s, pos, depth + 1)?));
    }
    Some(CqlType::Udt {
        keyspace,
        name,
        fields,
    })
}

fn unhex(h: &str) -> Option<String> {
    if h.len() % 2 == 1 {
        return None;
    }
    let bytes = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Puts `t` in canonical frozen form (wrapper only around list/set/map/udt,
/// nothing nested).
pub(crate) fn freeze(t: CqlType) -> CqlType {
    let t = strip_frozen(t);
    match t {
        CqlType::List(_) | CqlType::Set(_) | CqlType::Map(..) | CqlType::Udt { .. } => {
            CqlType::Frozen(Box::new(t))
        }
        other => other,
    }
}

/// Removes every `Frozen` wrapper (used for types inside a frozen context).
fn strip_frozen(t: CqlType) -> CqlType {
    match t {
        CqlType::Frozen(inner) => strip_frozen(*inner),
        CqlType::List(e) => CqlType::List(Box::new(strip_frozen(*e))),
        CqlType::Set(e) => CqlType::Set(Box::new(strip_frozen(*e))),
        CqlType::Map(k, v) => CqlType::Map(Box::new(strip_frozen(*k)), Box::new(strip_frozen(*v))),
        CqlType::Tuple(ts) => CqlType::Tuple(ts.into_iter().map(strip_frozen).collect()),
        CqlType::Vector(e, n) => CqlType::Vector(Box::new(strip_frozen(*e)), n),
        CqlType::Udt {
            keyspace,
            name,
            fields,
        } => CqlType::Udt {
            keyspace,
            name,
            fields: fields
                .into_iter()
                .map(|(n, t)| (n, strip_frozen(t)))
                .collect(),
        },
        other => other,
    }
}

/// Unresolved syntax tree of a type.
#[derive(Debug)]
enum RawType {
    Named {
        keyspace: Option<String>,
        name: String,
        quoted: bool,
        args: Vec<RawArg>,
    },
    Custom(String),
}

#[derive(Debug)]
enum RawArg {
    Type(RawType),
    Int(usize),
}

struct TypeParser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl TypeParser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn err(&self, what: &str) -> TypeError {
        TypeError::Syntax(format!(
            "{what} at position {} in type '{}'",
            self.pos, self.text
        ))
    }

    /// Identifier: unquoted `[A-Za-z0-9_]+` (lower-cased) or `"..."` with `""` escapes.
    fn ident(&mut self) -> TypeResult<(String, bool)> {
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'"') {
            self.pos += 1;
            let mut out = Vec::new();
            loop {
                match self.s.get(self.pos) {
                    None => return Err(self.err("Unterminated quoted identifier")),
                    Some(b'"') if self.s.get(self.pos + 1) == Some(&b'"') => {
                        out.push(b'"');
                        self.pos += 2;
                    }
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(&b) => {
                        out.push(b);
                        self.pos += 1;
                    }
                }
            }
            let s = String::from_utf8(out).map_err(|_| self.err("Invalid UTF-8"))?;
            if s.is_empty() {
                return Err(self.err("Empty quoted identifier"));
            }
            return Ok((s, true));
        }
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.err("Expected a type name"));
        }
        Ok((self.text[start..self.pos].to_ascii_lowercase(), false))
    }

    fn parse_raw(&mut self, depth: usize) -> TypeResult<RawType> {
        if depth > MAX_NESTING_DEPTH {
            return Err(TypeError::TooDeep(MAX_NESTING_DEPTH));
        }
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'\'') {
            self.pos += 1;
            let mut out = Vec::new();
            loop {
                match self.s.get(self.pos) {
                    None => return Err(self.err("Unterminated custom type name")),
                    Some(b'\'') if self.s.get(self.pos + 1) == Some(&b'\'') => {
                        out.push(b'\'');
                        self.pos += 2;
                    }
                    Some(b'\'') => {
                        self.pos += 1;
                        break;
                    }
                    Some(&b) => {
                        out.push(b);
                        self.pos += 1;
                    }
                }
            }
            let s = String::from_utf8(out).map_err(|_| self.err("Invalid UTF-8"))?;
            return Ok(RawType::Custom(s));
        }
        let (first, quoted1) = self.ident()?;
        self.skip_ws();
        let (keyspace, name, quoted) = if self.s.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let (n, q) = self.ident()?;
            (Some(first), n, q)
        } else {
            (None, first, quoted1)
        };
        self.skip_ws();
        let mut args = Vec::new();
        if self.s.get(self.pos) == Some(&b'<') {
            self.pos += 1;
            loop {
                self.skip_ws();
                let start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
                if self.pos > start {
                    let n = self.text[start..self.pos]
                        .parse::<usize>()
                        .map_err(|_| self.err("Invalid number"))?;
                    args.push(RawArg::Int(n));
                } else {
                    args.push(RawArg::Type(self.parse_raw(depth + 1)?));
                }
                self.skip_ws();
                match self.s.get(self.pos) {
                    Some(b',') => self.pos += 1,
                    Some(b'>') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("Expected ',' or '>'")),
                }
            }
        }
        Ok(RawType::Named {
            keyspace,
            name,
            quoted,
            args,
        })
    }
}

fn raw_to_string(raw: &RawType) -> String {
    match raw {
        RawType::Custom(c) => format!("'{c}'"),
        RawType::Named {
            keyspace,
            name,
            args,
            ..
        } => {
            let mut s = match keyspace {
                Some(k) => format!("{k}.{name}"),
                None => name.clone(),
            };
            if !args.is_empty() {
                let parts: Vec<String> = args
                    .iter()
                    .map(|a| match a {
                        RawArg::Type(t) => raw_to_string(t),
                        RawArg::Int(n) => n.to_string(),
                    })
                    .collect();
                s.push('<');
                s.push_str(&parts.join(", "));
                s.push('>');
            }
            s
        }
    }
}

fn type_args<'r>(
    raw: &'r RawType,
    args: &'r [RawArg],
    n: usize,
    what: &str,
) -> TypeResult<Vec<&'r RawType>> {
    let out: Vec<&RawType> = args
        .iter()
        .filter_map(|a| match a {
            RawArg::Type(t) => Some(t),
            RawArg::Int(_) => None,
        })
        .collect();
    if out.len() != args.len() || (n > 0 && out.len() != n) || out.is_empty() {
        return Err(TypeError::Syntax(format!(
            "Invalid {what} type: {}",
            raw_to_string(raw)
        )));
    }
    Ok(out)
}

/// Turns the syntax tree into a canonical `CqlType`.
/// `frozen_ctx` is true inside a frozen collection/tuple/vector/UDT.
fn resolve(
    raw: &RawType,
    frozen_ctx: bool,
    lookup: UdtLookup<'_>,
    depth: usize,
) -> TypeResult<CqlType> {
    if depth > MAX_NESTING_DEPTH {
        return Err(TypeError::TooDeep(MAX_NESTING_DEPTH));
    }
    let (keyspace, name, quoted, args) = match raw {
        RawType::Custom(c) => return Ok(CqlType::from_marshal_class(c)),
        RawType::Named {
            keyspace,
            name,
            quoted,
            args,
        } => (keyspace, name, *quoted, args),
    };
    let full = raw_to_string(raw);
    if keyspace.is_none() && !quoted {
        if let Some(t) = CqlType::native_from_name(name) {
            if !args.is_empty() {
                return Err(TypeError::Syntax(format!("Invalid type: {full}")));
            }
            return Ok(t);
        }
        // element of a non-frozen collection must itself be frozen
        let element = |t: &RawType, kind: &str| -> TypeResult<CqlType> {
            let r = resolve(t, frozen_ctx, lookup, depth + 1)?;
            if r.is_counter() {
                return Err(TypeError::invalid(format!(
                    "Counters are not allowed inside collections: {full}"
                )));
            }
            if !frozen_ctx {
                if r.is_collection() && !matches!(r, CqlType::Frozen(_)) {
                    return Err(TypeError::invalid(format!(
                        "Non-frozen collections are not allowed inside collections: {full}"
                    )));
                }
                if matches!(r, CqlType::Udt { .. }) {
                    return Err(TypeError::invalid(format!(
                        "Non-frozen UDTs are not allowed inside collections: {full}"
                    )));
                }
            }
            let _ = kind;
            Ok(r)
        };
        match name.as_str() {
            "frozen" => {
                let inner = type_args(raw, args, 1, "frozen")?;
                let t = resolve(inner[0], true, lookup, depth + 1)?;
                return match t {
                    CqlType::List(_) | CqlType::Set(_) | CqlType::Map(..) | CqlType::Udt { .. } => {
                        Ok(if frozen_ctx { t } else { CqlType::Frozen(Box::new(t)) })
                    }
                    CqlType::Tuple(_) | CqlType::Frozen(_) | CqlType::Vector(..) => Ok(t),
                    _ => Err(TypeError::invalid(format!(
                        "frozen<> is only allowed on collections, tuples, and user-defined types (got {full})"
                    ))),
                };
            }
            "list" => {
                let a = type_args(raw, args, 1, "list")?;
                return Ok(CqlType::List(Box::new(element(a[0], "list")?)));
            }
            "set" => {
                let a = type_args(raw, args, 1, "set")?;
                let e = element(a[0], "set")?;
                if matches!(e, CqlType::Duration) {
                    return Err(TypeError::invalid(format!(
                        "Durations are not allowed inside sets: {full}"
                    )));
                }
                return Ok(CqlType::Set(Box::new(e)));
            }
            "map" => {
                let a = type_args(raw, args, 2, "map")?;
                let k = element(a[0], "map")?;
                if matches!(k, CqlType::Duration) {
                    return Err(TypeError::invalid(format!(
                        "Durations are not allowed as map keys: {full}"
                    )));
                }
                let v = element(a[1], "map")?;
                return Ok(CqlType::Map(Box::new(k), Box::new(v)));
            }
            "tuple" => {
                let a = type_args(raw, args, 0, "tuple")?;
                let mut ts = Vec::with_capacity(a.len());
                for t in a {
                    let r = resolve(t, true, lookup, depth + 1)?;
                    if r.is_counter() {
                        return Err(TypeError::invalid("Counters are not allowed inside tuples"));
                    }
                    ts.push(r);
                }
                return Ok(CqlType::Tuple(ts));
            }
            "vector" => {
                let (elem, n) = match args.as_slice() {
                    [RawArg::Type(t), RawArg::Int(n)] => (t, *n),
                    _ => return Err(TypeError::Syntax(format!("Invalid vector type: {full}"))),
                };
                if n == 0 || n > MAX_VECTOR_DIMENSION {
                    return Err(TypeError::invalid(format!(
                        "vectors may only have positive dimensions up to {MAX_VECTOR_DIMENSION}; given {n}"
                    )));
                }
                let e = resolve(elem, true, lookup, depth + 1)?;
                if e.is_counter() {
                    return Err(TypeError::invalid("vectors may not contain counters"));
                }
                return Ok(CqlType::Vector(Box::new(e), n));
            }
            _ => {}
        }
    }
    if !args.is_empty() {
        return Err(TypeError::Syntax(format!("Invalid type: {full}")));
    }
    match lookup(keyspace.as_deref(), name) {
        Some(t @ CqlType::Udt { .. }) => Ok(if frozen_ctx { strip_frozen(t) } else { t }),
        Some(CqlType::Frozen(inner)) if matches!(*inner, CqlType::Udt { .. }) => {
            Ok(if frozen_ctx {
                strip_frozen(*inner)
            } else {
                *inner
            })
        }
        _ => Err(TypeError::UnknownType(full)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udt_lookup(ks: Option<&str>, name: &str) -> Option<CqlType> {
        (name == "addr" || name == "Addr").then(|| CqlType::Udt {
            keyspace: ks.unwrap_or("ks").to_string(),
            name: name.to_string(),
            fields: vec![
                ("street".into(), CqlType::Text),
                ("zip".into(), CqlType::Int),
            ],
        })
    }

    // Checks that type text round-trips through parse and Cassandra's schema spelling.
    #[test]
    fn parse_and_format() {
        let cases = [
            ("int", "int"),
            ("VARCHAR", "text"),
            ("map<text,int>", "map<text, int>"),
            (
                "  Map < TEXT , frozen < list < int > > >",
                "map<text, frozen<list<int>>>",
            ),
            ("frozen<list<int>>", "frozen<list<int>>"),
            (
                "frozen<list<frozen<set<int>>>>",
                "frozen<list<frozen<set<int>>>>",
            ),
            ("frozen<list<set<int>>>", "frozen<list<frozen<set<int>>>>"),
            ("tuple<int, text>", "frozen<tuple<int, text>>"),
            ("frozen<tuple<int,text>>", "frozen<tuple<int, text>>"),
            (
                "list<tuple<int, list<int>>>",
                "list<frozen<tuple<int, frozen<list<int>>>>>",
            ),
            ("vector<tuple<int>, 2>", "vector<frozen<tuple<int>>, 2>"),
            ("vector<float, 3>", "vector<float, 3>"),
            ("set<frozen<map<int, text>>>", "set<frozen<map<int, text>>>"),
            ("'org.example.MyType'", "'org.example.MyType'"),
            ("addr", "addr"),
            ("frozen<addr>", "frozen<addr>"),
            ("list<frozen<addr>>", "list<frozen<addr>>"),
            ("ks.addr", "addr"),
            ("\"Addr\"", "\"Addr\""),
            (
                "frozen<map<text, frozen<addr>>>",
                "frozen<map<text, frozen<addr>>>",
            ),
            ("frozen<map<text, addr>>", "frozen<map<text, frozen<addr>>>"),
        ];
        for (input, expected) in cases {
            let t =
                CqlType::parse_with(input, &udt_lookup).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(t.to_string(), expected, "{input}");
            let again = CqlType::parse_with(&t.to_string(), &udt_lookup).expect("reparse");
            assert_eq!(again, t, "{input}");
        }
    }

    // Checks Cassandra's rejections of invalid type definitions.
    #[test]
    fn parse_errors() {
        let err = |s: &str| {
            CqlType::parse_with(s, &udt_lookup)
                .expect_err(s)
                .to_string()
        };
        assert_eq!(
            err("list<list<int>>"),
            "Non-frozen collections are not allowed inside collections: list<list<int>>"
        );
        assert_eq!(
            err("list<addr>"),
            "Non-frozen UDTs are not allowed inside collections: list<addr>"
        );
        assert_eq!(
            err("set<counter>"),
            "Counters are not allowed inside collections: set<counter>"
        );
        assert_eq!(
            err("set<duration>"),
            "Durations are not allowed inside sets: set<duration>"
        );
        assert_eq!(
            err("map<duration, int>"),
            "Durations are not allowed as map keys: map<duration, int>"
        );
        assert_eq!(err("nosuch"), "Unknown type nosuch");
        assert!(err("map<int>").contains("Invalid map type"));
        assert!(err("list<int").contains("Expected"));
        assert!(err("int extra").contains("Unexpected"));
        assert!(err("vector<float, 0>").contains("positive"));
        assert!(err("frozen<int>").contains("frozen<>"));
        let deep = format!("{}int{}", "frozen<list<".repeat(100), ">>".repeat(100));
        assert!(matches!(CqlType::parse(&deep), Err(TypeError::TooDeep(_))));
    }

    // Checks [option] encoding/decoding including UDT, tuple, vector and duration.
    #[test]
    fn option_round_trip() {
        let types = [
            "int",
            "text",
            "ascii",
            "bigint",
            "blob",
            "boolean",
            "counter",
            "date",
            "decimal",
            "double",
            "float",
            "inet",
            "smallint",
            "time",
            "timestamp",
            "timeuuid",
            "tinyint",
            "uuid",
            "varint",
            "list<int>",
            "set<text>",
            "map<text, frozen<list<int>>>",
            "tuple<int, text>",
            "addr",
            "vector<float, 3>",
            "duration",
            "frozen<list<tuple<int, vector<double, 2>>>>",
        ];
        for s in types {
            let t = CqlType::parse_with(s, &udt_lookup).expect(s);
            let mut out = Vec::new();
            t.encode_option(5, &mut out).expect("encode");
            let (back, used) = CqlType::decode_option(&out).expect("decode");
            assert_eq!(used, out.len());
            assert_eq!(back, strip_frozen(t.clone()), "{s}");
        }
        let mut out = Vec::new();
        CqlType::Int.encode_option(4, &mut out).expect("encode");
        assert_eq!(out, [0, 9]);
        let mut out = Vec::new();
        CqlType::Duration
            .encode_option(4, &mut out)
            .expect("encode");
        assert_eq!(&out[..2], &[0, 0]);
        assert_eq!(
            CqlType::decode_option(&out).expect("decode").0,
            CqlType::Duration
        );
        let mut out = Vec::new();
        CqlType::Vector(Box::new(CqlType::Float), 3)
            .encode_option(5, &mut out)
            .expect("encode");
        let s = String::from_utf8_lossy(&out[4..]).to_string();
        assert_eq!(s, "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)");
        assert!(CqlType::decode_option(&[0x00]).is_err());
        assert!(CqlType::decode_option(&[0x00, 0x99]).is_err());
        assert!(CqlType::decode_option(&[0x00, 0x20]).is_err());
    }
}
