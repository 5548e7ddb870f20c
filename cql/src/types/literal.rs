//! CQL literals to values: what `INSERT ... VALUES (42, 'x', 0xff)` needs.
//!
//! The parser classifies each constant the way Cassandra's `Constants.Type`
//! does ([`LiteralKind`]: STRING, INTEGER, FLOAT, BOOLEAN, UUID, HEX,
//! DURATION — `NaN` and `Infinity` are FLOAT) and hands us the kind, the text
//! (strings without their quotes, with `''` already unescaped) and the
//! receiver. [`parse_literal`] then
//!
//! 1. checks that the kind is assignable to the receiver's type, with the
//!    table of `Constants.Literal.testAssignment` (e.g. STRING fits ascii,
//!    text, inet, date, time, timestamp; INTEGER fits every numeric type and
//!    date/time/timestamp), failing with Cassandra's
//!    `Invalid INTEGER constant (abc) for "c" of type int`;
//! 2. converts the text with the type's `fromString` ([`value_from_string`]),
//!    failing with the marshal message, e.g. `Unable to make int from '3000000000'`.
//!
//! Custom types take any literal: hex as raw bytes, anything else as the
//! text's bytes. Collections, tuples, UDTs and vectors have their own literal
//! syntax and are built by the parser from element literals.

use std::fmt;
use std::net::IpAddr;

use super::cql_type::CqlType;
use super::error::{TypeError, TypeResult};
use super::num::{Decimal, Varint};
use super::temporal;
use super::value::CqlValue;

/// The lexical kind of a CQL constant (Cassandra's `Constants.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LiteralKind {
    /// `'...'` or `$$...$$`
    String,
    /// `-?[0-9]+`
    Integer,
    /// decimal/exponent forms, `NaN`, `Infinity`
    Float,
    /// `true` / `false`
    Boolean,
    /// unquoted hyphenated UUID
    Uuid,
    /// `0x...`
    Hex,
    /// `1h30m`, `P1D`, ...
    Duration,
}

impl fmt::Display for LiteralKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LiteralKind::String => "STRING",
            LiteralKind::Integer => "INTEGER",
            LiteralKind::Float => "FLOAT",
            LiteralKind::Boolean => "BOOLEAN",
            LiteralKind::Uuid => "UUID",
            LiteralKind::Hex => "HEX",
            LiteralKind::Duration => "DURATION",
        })
    }
}

/// Whether a literal of `kind` may be assigned to `ty` (Cassandra's
/// `Constants.Literal.testAssignment`).
pub fn is_assignable(kind: LiteralKind, ty: &CqlType) -> bool {
    use CqlType as T;
    let t = ty.unfrozen();
    if matches!(t, T::Custom(_)) {
        return true;
    }
    match kind {
        LiteralKind::String => matches!(
            t,
            T::Ascii | T::Text | T::Inet | T::Date | T::Time | T::Timestamp
        ),
        LiteralKind::Integer => matches!(
            t,
            T::Bigint
                | T::Counter
                | T::Date
                | T::Decimal
                | T::Double
                | T::Float
                | T::Int
                | T::Smallint
                | T::Time
                | T::Timestamp
                | T::Tinyint
                | T::Varint
        ),
        LiteralKind::Uuid => matches!(t, T::Uuid | T::Timeuuid),
        LiteralKind::Float => matches!(t, T::Decimal | T::Double | T::Float),
        LiteralKind::Boolean => matches!(t, T::Boolean),
        LiteralKind::Hex => matches!(t, T::Blob),
        LiteralKind::Duration => matches!(t, T::Duration),
    }
}

/// Converts a literal of `kind` with `text` into a value for the column
/// `column` of type `ty`.
pub fn parse_literal(
    kind: LiteralKind,
    text: &str,
    ty: &CqlType,
    column: &str,
) -> TypeResult<CqlValue> {
    if !is_assignable(kind, ty) {
        return Err(TypeError::invalid(format!(
            "Invalid {kind} constant ({text}) for \"{column}\" of type {ty}"
        )));
    }
    let to_invalid = |e: TypeError| match e {
        TypeError::Marshal(m) => TypeError::InvalidRequest(m),
        other => other,
    };
    if kind == LiteralKind::Hex {
        let hex = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        let bytes = parse_hex(hex)?;
        return Ok(match ty.unfrozen() {
            CqlType::Custom(_) => CqlValue::Custom(bytes),
            _ => CqlValue::Blob(bytes),
        });
    }
    if let CqlType::Custom(_) = ty.unfrozen() {
        return Ok(CqlValue::Custom(text.as_bytes().to_vec()));
    }
    value_from_string(text, ty).map_err(to_invalid)
}

fn parse_hex(hex: &str) -> TypeResult<Vec<u8>> {
    let err = || TypeError::invalid(format!("cannot parse '{hex}' as hex bytes"));
    if hex.len() % 2 == 1 {
        return Err(TypeError::invalid(format!(
            "cannot parse '{hex}' as hex bytes: an hex string representing bytes must have an even length"
        )));
    }
    let b = hex.as_bytes();
    let val = |c: u8| -> Option<u8> { char::from(c).to_digit(16).map(|d| d as u8) };
    b.chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(err)
}

/// Parses a hyphenated UUID (`01234567-89ab-cdef-0123-456789abcdef`, any case).
pub fn parse_uuid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if [8, 13, 18, 23].contains(&i) {
            continue;
        }
        v = (v << 4) | u128::from(char::from(c).to_digit(16)?);
    }
    Some(v)
}

/// Java's float syntax as CQL needs it: decimal/exponent forms plus `NaN`
/// and `[+-]Infinity`.
fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let neg = t.starts_with('-');
    match unsigned {
        "NaN" => return Some(f64::NAN),
        "Infinity" => {
            return Some(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        _ => {}
    }
    let body = unsigned
        .strip_suffix(['d', 'D', 'f', 'F'])
        .unwrap_or(unsigned);
    if body.is_empty()
        || !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// A value of `ty` from its string form (Cassandra's `AbstractType.fromString`).
/// The empty string is the empty value for types that allow one.
pub fn value_from_string(text: &str, ty: &CqlType) -> TypeResult<CqlValue> {
    use CqlType as T;
    use CqlValue as V;
    let t = ty.unfrozen();
    let m = |msg: String| TypeError::Marshal(msg);
    if text.is_empty() {
        match t {
            T::Ascii => return Ok(V::Ascii(String::new())),
            T::Text => return Ok(V::Text(String::new())),
            T::Blob => return Ok(V::Blob(Vec::new())),
            T::Boolean => return Ok(V::Boolean(false)),
            T::Date | T::Time | T::Smallint | T::Tinyint | T::Duration => {}
            _ => return Ok(V::Empty),
        }
    }
    Ok(match t {
        T::Ascii => {
            if let Some(ch) = text.chars().find(|c| !c.is_ascii()) {
                // Cassandra appends the JDK encoder's exception, whose "Input length"
                // is the unmappable character's length in UTF-16 units.
                return Err(m(format!(
                    "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = {}",
                    ch.len_utf16()
                )));
            }
            V::Ascii(text.to_string())
        }
        T::Text => V::Text(text.to_string()),
        T::Blob => V::Blob(parse_hex(text).map_err(|e| m(e.to_string()))?),
        T::Custom(_) => V::Custom(text.as_bytes().to_vec()),
        T::Boolean => {
            if text.eq_ignore_ascii_case("true") {
                V::Boolean(true)
            } else if text.eq_ignore_ascii_case("false") {
                V::Boolean(false)
            } else {
                return Err(m(format!("Unable to make boolean from '{text}'")));
            }
        }
        T::Bigint => V::Bigint(
            text.parse()
                .map_err(|_| m(format!("Unable to make long from '{text}'")))?,
        ),
        T::Counter => V::Counter(
            text.parse()
                .map_err(|_| m(format!("Unable to make long from '{text}'")))?,
        ),
        T::Int => V::Int(
            text.parse()
                .map_err(|_| m(format!("Unable to make int from '{text}'")))?,
        ),
        T::Smallint => V::Smallint(
            text.parse()
                .map_err(|_| m(format!("Unable to make short from '{text}'")))?,
        ),
        T::Tinyint => V::Tinyint(
            text.parse()
                .map_err(|_| m(format!("Unable to make byte from '{text}'")))?,
        ),
        T::Varint => V::Varint(
            Varint::parse_decimal(text)
                .ok_or_else(|| m(format!("unable to make int from '{text}'")))?,
        ),
        T::Decimal => V::Decimal(
            Decimal::parse(text)
                .ok_or_else(|| m(format!("unable to make BigDecimal from '{text}'")))?,
        ),
        T::Float => {
            let v = parse_java_double(text)
                .ok_or_else(|| m(format!("Unable to make float from '{text}'")))?;
            V::Float(v as f32)
        }
        T::Double => V::Double(
            parse_java_double(text)
                .ok_or_else(|| m(format!("Unable to make double from '{text}'")))?,
        ),
        T::Uuid => V::Uuid(
            parse_uuid(text).ok_or_else(|| m(format!("Unable to make UUID from '{text}'")))?,
        ),
        T::Timeuuid => {
            let u =
                parse_uuid(text).ok_or_else(|| m(format!("Unable to make UUID from '{text}'")))?;
            if (u >> 76) & 0xf != 1 {
                return Err(m("TimeUUID supports only version 1 UUIDs".into()));
            }
            V::Timeuuid(u)
        }
        T::Inet => V::Inet(
            text.trim()
                .parse::<IpAddr>()
                .map_err(|_| m(format!("Unable to make inet address from '{text}'")))?,
        ),
        T::Timestamp => V::Timestamp(temporal::parse_timestamp(text)?),
        T::Date => V::Date(temporal::parse_date(text)?),
        T::Time => V::Time(temporal::parse_time(text)?),
        T::Duration => V::Duration(temporal::parse_duration(text)?),
        other => {
            return Err(TypeError::invalid(format!(
                "Cannot parse a single constant as a value of type {other}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::value::{Duration, DATE_EPOCH};

    fn ok(kind: LiteralKind, text: &str, ty: &str) -> CqlValue {
        let t = CqlType::parse(ty).expect(ty);
        parse_literal(kind, text, &t, "c").unwrap_or_else(|e| panic!("{text} as {ty}: {e}"))
    }

    fn err(kind: LiteralKind, text: &str, ty: &str) -> String {
        let t = CqlType::parse(ty).expect(ty);
        parse_literal(kind, text, &t, "c")
            .expect_err(text)
            .to_string()
    }

    use LiteralKind as K;

    // Checks numeric literals and their range errors.
    #[test]
    fn numbers() {
        assert_eq!(ok(K::Integer, "42", "int"), CqlValue::Int(42));
        assert_eq!(ok(K::Integer, "-42", "bigint"), CqlValue::Bigint(-42));
        assert_eq!(ok(K::Integer, "7", "counter"), CqlValue::Counter(7));
        assert_eq!(ok(K::Integer, "-128", "tinyint"), CqlValue::Tinyint(-128));
        assert_eq!(ok(K::Integer, "300", "smallint"), CqlValue::Smallint(300));
        assert_eq!(
            ok(K::Integer, "123456789012345678901234567890", "varint").to_string_for_test(),
            "123456789012345678901234567890"
        );
        assert_eq!(ok(K::Float, "1.5", "double"), CqlValue::Double(1.5));
        assert_eq!(ok(K::Integer, "2", "float"), CqlValue::Float(2.0));
        assert_eq!(ok(K::Float, "NaN", "double"), CqlValue::Double(f64::NAN));
        assert_eq!(
            ok(K::Float, "-Infinity", "float"),
            CqlValue::Float(f32::NEG_INFINITY)
        );
        assert_eq!(
            ok(K::Float, "1e-3", "decimal"),
            CqlValue::Decimal(Decimal::parse("0.001").expect("d"))
        );
        assert_eq!(
            err(K::Integer, "3000000000", "int"),
            "Unable to make int from '3000000000'"
        );
        assert_eq!(
            err(K::Integer, "200", "tinyint"),
            "Unable to make byte from '200'"
        );
        assert_eq!(
            err(K::Float, "NaN", "decimal"),
            "unable to make BigDecimal from 'NaN'"
        );
        assert_eq!(
            err(K::Float, "inf", "double"),
            "Unable to make double from 'inf'"
        );
    }

    // Checks Cassandra's wording for literal/receiver kind mismatches.
    #[test]
    fn mismatches() {
        assert_eq!(
            err(K::String, "abc", "int"),
            "Invalid STRING constant (abc) for \"c\" of type int"
        );
        assert_eq!(
            err(K::Integer, "1", "text"),
            "Invalid INTEGER constant (1) for \"c\" of type text"
        );
        assert_eq!(
            err(K::Float, "1.5", "int"),
            "Invalid FLOAT constant (1.5) for \"c\" of type int"
        );
        assert_eq!(
            err(K::String, "x", "uuid"),
            "Invalid STRING constant (x) for \"c\" of type uuid"
        );
        assert_eq!(
            err(K::Hex, "0x00", "int"),
            "Invalid HEX constant (0x00) for \"c\" of type int"
        );
        assert_eq!(
            err(K::Boolean, "true", "text"),
            "Invalid BOOLEAN constant (true) for \"c\" of type text"
        );
        assert_eq!(
            err(K::Integer, "1", "list<int>"),
            "Invalid INTEGER constant (1) for \"c\" of type list<int>"
        );
        let t = CqlType::Int;
        assert_eq!(
            parse_literal(K::String, "abc", &t, "my_col")
                .expect_err("mismatch")
                .to_string(),
            "Invalid STRING constant (abc) for \"my_col\" of type int"
        );
    }

    // Checks string-typed literals: text, ascii, inet, timestamps, dates, times.
    #[test]
    fn strings_and_temporal() {
        assert_eq!(
            ok(K::String, "héllo", "text"),
            CqlValue::Text("héllo".into())
        );
        assert_eq!(ok(K::String, "hi", "ascii"), CqlValue::Ascii("hi".into()));
        assert_eq!(
            err(K::String, "hé", "ascii"),
            "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = 1"
        );
        assert_eq!(
            ok(K::String, "10.0.0.1", "inet"),
            CqlValue::Inet("10.0.0.1".parse().expect("ip"))
        );
        assert_eq!(
            ok(K::String, "::1", "inet"),
            CqlValue::Inet("::1".parse().expect("ip"))
        );
        assert_eq!(
            err(K::String, "10.0.0", "inet"),
            "Unable to make inet address from '10.0.0'"
        );
        assert_eq!(
            ok(K::String, "2024-02-29 12:00:00+0000", "timestamp"),
            CqlValue::Timestamp(1_709_208_000_000)
        );
        assert_eq!(
            ok(K::String, "2024-02-29T12:00:00.000Z", "timestamp"),
            CqlValue::Timestamp(1_709_208_000_000)
        );
        assert_eq!(
            ok(K::String, "2024-02-29", "timestamp"),
            CqlValue::Timestamp(1_709_164_800_000)
        );
        assert_eq!(
            ok(K::Integer, "1709208000000", "timestamp"),
            CqlValue::Timestamp(1_709_208_000_000)
        );
        assert_eq!(
            ok(K::String, "2024-02-29", "date"),
            CqlValue::Date(DATE_EPOCH + 19_782)
        );
        assert_eq!(
            ok(K::Integer, "2147483648", "date"),
            CqlValue::Date(DATE_EPOCH)
        );
        assert_eq!(
            ok(K::String, "12:34:56.789", "time"),
            CqlValue::Time(45_296_789_000_000)
        );
        assert_eq!(
            err(K::String, "garbage", "timestamp"),
            "Unable to parse a date/time from 'garbage'"
        );
        assert_eq!(
            err(K::String, "2024-02-30", "date"),
            "Unable to coerce '2024-02-30' to a formatted date (long)"
        );
        assert_eq!(ok(K::String, "", "timestamp"), CqlValue::Empty);
    }

    // Checks uuid, blob, boolean and duration literals.
    #[test]
    fn others() {
        let u = "01234567-89ab-1def-8123-456789abcdef";
        assert_eq!(
            ok(K::Uuid, u, "uuid"),
            CqlValue::Uuid(0x0123_4567_89ab_1def_8123_4567_89ab_cdef)
        );
        assert_eq!(
            ok(K::Uuid, &u.to_uppercase(), "timeuuid"),
            CqlValue::Timeuuid(0x0123_4567_89ab_1def_8123_4567_89ab_cdef)
        );
        assert_eq!(
            err(K::Uuid, "01234567-89ab-4def-8123-456789abcdef", "timeuuid"),
            "TimeUUID supports only version 1 UUIDs"
        );
        assert_eq!(ok(K::Hex, "0x00ff", "blob"), CqlValue::Blob(vec![0, 0xff]));
        assert_eq!(ok(K::Hex, "0x", "blob"), CqlValue::Blob(vec![]));
        assert!(err(K::Hex, "0x0", "blob").contains("even length"));
        assert!(err(K::Hex, "0xzz", "blob").contains("cannot parse"));
        assert_eq!(ok(K::Boolean, "TRUE", "boolean"), CqlValue::Boolean(true));
        assert_eq!(
            ok(K::Duration, "1h30m", "duration"),
            CqlValue::Duration(Duration::new(0, 0, 5_400_000_000_000))
        );
        assert_eq!(
            ok(K::Duration, "P1W", "duration"),
            CqlValue::Duration(Duration::new(0, 7, 0))
        );
        assert_eq!(
            err(K::Duration, "1q", "duration"),
            "Unable to convert '1q' to a duration"
        );
        assert_eq!(
            ok(K::Hex, "0x01", "'com.example.T'"),
            CqlValue::Custom(vec![1])
        );
    }

    impl CqlValue {
        fn to_string_for_test(&self) -> String {
            match self {
                CqlValue::Varint(v) => v.to_string(),
                other => format!("{other:?}"),
            }
        }
    }
}
