//! [`CqlValue`]: runtime values of every CQL type.
//!
//! Null and unset are protocol-level notions (a `[bytes]` of length -1 / -2)
//! and are not values here; inside tuples and UDTs, where a field may be
//! null, fields are `Option<CqlValue>`. What *is* a value is the **empty
//! value**: a zero-length byte string stored for a type whose normal encoding
//! is not empty (`int`, `uuid`, `timestamp`, ...). Cassandra accepts and
//! stores it (it sorts before every other value) and cqlsh prints it as an
//! empty cell; it is [`CqlValue::Empty`]. For `text`, `ascii`, `blob` and
//! custom types zero bytes are simply the empty string/blob.
//!
//! Representations:
//!
//! | type | variant payload |
//! |------|-----------------|
//! | date | `u32` days, 1970-01-01 = 2³¹ (the wire value) |
//! | time | `i64` nanoseconds since midnight, 0..86 399 999 999 999 |
//! | timestamp | `i64` milliseconds since the Unix epoch |
//! | uuid, timeuuid | `u128`, the 16 bytes read big-endian |
//! | varint | [`Varint`], minimal two's complement bytes |
//! | decimal | [`Decimal`], unscaled varint + `i32` scale |
//! | duration | [`Duration`] months, days, nanoseconds |
//! | set, map | elements in CQL order of the element/key type (canonical) |
//! | udt | fields by position, matching the type's field list |
//!
//! Equality is structural except for floats, which compare like Java's
//! `Double.equals`: all NaNs are equal, `-0.0 != 0.0`.

use std::net::IpAddr;

use super::num::{Decimal, Varint};

/// A CQL duration: months, days and nanoseconds, all of the same sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    /// Months.
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Nanoseconds.
    pub nanos: i64,
}

impl Duration {
    /// Builds a duration (sign consistency is checked by the codecs).
    pub fn new(months: i32, days: i32, nanos: i64) -> Self {
        Duration {
            months,
            days,
            nanos,
        }
    }
}

/// Day number of 1970-01-01 in the `date` encoding.
pub const DATE_EPOCH: u32 = 1 << 31;

/// Nanoseconds in a day; `time` values are below this.
pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// A runtime CQL value.
#[derive(Clone, Debug)]
pub enum CqlValue {
    /// The empty (zero-byte) value of a type whose regular encoding is non-empty.
    Empty,
    /// `ascii`
    Ascii(String),
    /// `bigint`
    Bigint(i64),
    /// `blob`
    Blob(Vec<u8>),
    /// `boolean`
    Boolean(bool),
    /// `counter`
    Counter(i64),
    /// `date`: days with the epoch at 2³¹.
    Date(u32),
    /// `decimal`
    Decimal(Decimal),
    /// `double`
    Double(f64),
    /// `duration`
    Duration(Duration),
    /// `float`
    Float(f32),
    /// `inet`
    Inet(IpAddr),
    /// `int`
    Int(i32),
    /// `smallint`
    Smallint(i16),
    /// `text`/`varchar`
    Text(String),
    /// `time`: nanoseconds since midnight.
    Time(i64),
    /// `timestamp`: milliseconds since the epoch.
    Timestamp(i64),
    /// `timeuuid`
    Timeuuid(u128),
    /// `tinyint`
    Tinyint(i8),
    /// `uuid`
    Uuid(u128),
    /// `varint`
    Varint(Varint),
    /// `list`
    List(Vec<CqlValue>),
    /// `set` (sorted, no duplicates)
    Set(Vec<CqlValue>),
    /// `map` (sorted by key, no duplicate keys)
    Map(Vec<(CqlValue, CqlValue)>),
    /// `tuple`; `None` is a null component.
    Tuple(Vec<Option<CqlValue>>),
    /// UDT fields in declaration order; `None` is null.
    Udt(Vec<Option<CqlValue>>),
    /// `vector`
    Vector(Vec<CqlValue>),
    /// Value of a custom type: its raw bytes.
    Custom(Vec<u8>),
}

impl CqlValue {
    /// Short name of the variant (for error messages).
    pub fn kind_name(&self) -> &'static str {
        match self {
            CqlValue::Empty => "empty",
            CqlValue::Ascii(_) => "ascii",
            CqlValue::Bigint(_) => "bigint",
            CqlValue::Blob(_) => "blob",
            CqlValue::Boolean(_) => "boolean",
            CqlValue::Counter(_) => "counter",
            CqlValue::Date(_) => "date",
            CqlValue::Decimal(_) => "decimal",
            CqlValue::Double(_) => "double",
            CqlValue::Duration(_) => "duration",
            CqlValue::Float(_) => "float",
            CqlValue::Inet(_) => "inet",
            CqlValue::Int(_) => "int",
            CqlValue::Smallint(_) => "smallint",
            CqlValue::Text(_) => "text",
            CqlValue::Time(_) => "time",
            CqlValue::Timestamp(_) => "timestamp",
            CqlValue::Timeuuid(_) => "timeuuid",
            CqlValue::Tinyint(_) => "tinyint",
            CqlValue::Uuid(_) => "uuid",
            CqlValue::Varint(_) => "varint",
            CqlValue::List(_) => "list",
            CqlValue::Set(_) => "set",
            CqlValue::Map(_) => "map",
            CqlValue::Tuple(_) => "tuple",
            CqlValue::Udt(_) => "udt",
            CqlValue::Vector(_) => "vector",
            CqlValue::Custom(_) => "custom",
        }
    }

    /// Signed days since 1970-01-01 of a `date` value.
    pub fn date_days_since_epoch(raw: u32) -> i64 {
        i64::from(raw) - i64::from(DATE_EPOCH)
    }
}

fn f64_eq(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn f32_eq(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

impl PartialEq for CqlValue {
    fn eq(&self, other: &Self) -> bool {
        use CqlValue as V;
        match (self, other) {
            (V::Empty, V::Empty) => true,
            (V::Ascii(a), V::Ascii(b)) | (V::Text(a), V::Text(b)) => a == b,
            (V::Bigint(a), V::Bigint(b))
            | (V::Counter(a), V::Counter(b))
            | (V::Time(a), V::Time(b))
            | (V::Timestamp(a), V::Timestamp(b)) => a == b,
            (V::Blob(a), V::Blob(b)) | (V::Custom(a), V::Custom(b)) => a == b,
            (V::Boolean(a), V::Boolean(b)) => a == b,
            (V::Date(a), V::Date(b)) => a == b,
            (V::Decimal(a), V::Decimal(b)) => a == b,
            (V::Double(a), V::Double(b)) => f64_eq(*a, *b),
            (V::Float(a), V::Float(b)) => f32_eq(*a, *b),
            (V::Duration(a), V::Duration(b)) => a == b,
            (V::Inet(a), V::Inet(b)) => a == b,
            (V::Int(a), V::Int(b)) => a == b,
            (V::Smallint(a), V::Smallint(b)) => a == b,
            (V::Tinyint(a), V::Tinyint(b)) => a == b,
            (V::Uuid(a), V::Uuid(b)) | (V::Timeuuid(a), V::Timeuuid(b)) => a == b,
            (V::Varint(a), V::Varint(b)) => a == b,
            (V::List(a), V::List(b)) | (V::Set(a), V::Set(b)) | (V::Vector(a), V::Vector(b)) => {
                a == b
            }
            (V::Map(a), V::Map(b)) => a == b,
            (V::Tuple(a), V::Tuple(b)) | (V::Udt(a), V::Udt(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for CqlValue {}
