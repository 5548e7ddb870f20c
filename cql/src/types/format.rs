//! Values to text: as cqlsh prints them ([`format_cqlsh`]) and as
//! Cassandra's `toJson()` / `SELECT JSON` writes them ([`to_json`]).
//!
//! cqlsh (`pylib/cqlshlib/formatting.py`, default settings):
//!
//! * text/ascii: as is, backslashes doubled and control characters shown as
//!   Python escapes (`\n`, `\x07`); inside collections, tuples and UDTs
//!   quoted with `'` and inner quotes doubled: `{'a', 'it''s'}`;
//! * inet and timestamp are also quoted inside collections; numbers, dates,
//!   times, uuids, booleans and durations never are;
//! * float: `%g` with precision 5, double: precision 12, both widened by the
//!   number of integer digits when the exponent is in `[-4, precision)`
//!   (`1.5`, `123456.0` → `1.2346e+05` for float), `NaN`, `Infinity`,
//!   `-Infinity`;
//! * boolean `True`/`False`; blob `0x00ff`; uuid lower-case hyphenated;
//!   decimal Python `str(Decimal)`; timestamp `2024-02-29 12:00:00.123000+0000`;
//!   date `2024-02-29`; time `12:00:00.000000000`; duration `1h30m`;
//! * list `[1, 2]`, set `{1, 2}`, map `{'x': 1, 'y': 2}`, tuple `(7, 'seven')`,
//!   UDT `{a: 1, b: 'x'}`, vector `[1.5, 2]`; null fields print `null`; the
//!   empty value prints as an empty string.
//!
//! JSON (Cassandra's `AbstractType.toJSONString`): numbers bare (float and
//! double via Java's `Double.toString`: `1.5`, `1.0E300`; NaN and infinities
//! as strings), decimals via `BigDecimal.toString`, everything else quoted:
//! text (JSON-escaped), `"0x00ff"`, `"2024-02-29 12:00:00.123Z"`,
//! `"2024-02-29"`, `"12:00:00.000000000"`, uuids, inets, durations.
//! Lists/sets/tuples/vectors are arrays, maps objects whose non-string keys
//! are turned into JSON strings, UDTs objects keyed by field name. Nulls and
//! empty values are `null`.

use std::fmt::Write as _;

use super::cql_type::CqlType;
use super::temporal;
use super::value::CqlValue;

/// cqlsh's default `float_precision`.
pub const CQLSH_FLOAT_PRECISION: usize = 5;
/// cqlsh's default `double_precision`.
pub const CQLSH_DOUBLE_PRECISION: usize = 12;

/// A value as cqlsh prints it in a result cell.
pub fn format_cqlsh(value: &CqlValue, ty: &CqlType) -> String {
    let mut out = String::new();
    cqlsh_into(value, ty, false, &mut out);
    out
}

/// Lower-case hyphenated UUID text.
pub fn format_uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("0x");
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn cqlsh_text(s: &str, quote: bool, out: &mut String) {
    if quote {
        out.push('\'');
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' if quote => out.push_str("''"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    if quote {
        out.push('\'');
    }
}

/// C's `%.*g` (no `#` flag): shortest of `%e`/`%f` at `precision`
/// significant digits, trailing zeros removed.
pub fn format_g(v: f64, precision: usize) -> String {
    let p = precision.max(1);
    let e_form = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = match e_form.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i64>().unwrap_or(0)),
        None => return e_form,
    };
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= p as i64 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(&mantissa), exp.abs())
    } else {
        let decimals = (p as i64 - 1 - exp).max(0) as usize;
        strip(&format!("{v:.decimals$}"))
    }
}

/// cqlsh's `format_floating_point_type`.
pub fn format_cqlsh_float(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let mut p = precision as i64;
    if v.abs() > f64::EPSILON {
        let exponent = v.abs().log10() as i64; // int() truncates toward zero
        if -4 <= exponent && exponent < p {
            p += exponent + 1;
        }
    }
    format_g(v, p.max(1) as usize)
}

fn cqlsh_into(value: &CqlValue, ty: &CqlType, quote: bool, out: &mut String) {
    use CqlValue as V;
    let t = ty.unfrozen();
    match value {
        V::Empty => {}
        V::Ascii(s) | V::Text(s) => cqlsh_text(s, quote, out),
        V::Bigint(x) | V::Counter(x) => {
            let _ = write!(out, "{x}");
        }
        V::Int(x) => {
            let _ = write!(out, "{x}");
        }
        V::Smallint(x) => {
            let _ = write!(out, "{x}");
        }
        V::Tinyint(x) => {
            let _ = write!(out, "{x}");
        }
        V::Varint(x) => {
            let _ = write!(out, "{x}");
        }
        V::Decimal(d) => out.push_str(&d.to_python_string()),
        V::Float(f) => out.push_str(&format_cqlsh_float(f64::from(*f), CQLSH_FLOAT_PRECISION)),
        V::Double(f) => out.push_str(&format_cqlsh_float(*f, CQLSH_DOUBLE_PRECISION)),
        V::Boolean(b) => out.push_str(if *b { "True" } else { "False" }),
        V::Blob(b) | V::Custom(b) => out.push_str(&hex(b)),
        V::Uuid(u) | V::Timeuuid(u) => out.push_str(&format_uuid(*u)),
        V::Inet(ip) => {
            if quote {
                let _ = write!(out, "'{ip}'");
            } else {
                let _ = write!(out, "{ip}");
            }
        }
        V::Timestamp(ms) => {
            let s = temporal::format_timestamp_cqlsh(*ms);
            if quote {
                let _ = write!(out, "'{s}'");
            } else {
                out.push_str(&s);
            }
        }
        V::Date(d) => out.push_str(&temporal::format_date_cqlsh(*d)),
        V::Time(n) => out.push_str(&temporal::format_time(*n)),
        V::Duration(d) => out.push_str(&temporal::format_duration(d)),
        V::List(items) | V::Set(items) | V::Vector(items) => {
            let elem = match t {
                CqlType::List(e) | CqlType::Set(e) | CqlType::Vector(e, _) => e.as_ref(),
                _ => t,
            };
            let (open, close) = if matches!(value, V::Set(_)) {
                ('{', '}')
            } else {
                ('[', ']')
            };
            out.push(open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                cqlsh_into(item, elem, true, out);
            }
            out.push(close);
        }
        V::Map(entries) => {
            let (kt, vt) = match t {
                CqlType::Map(k, v) => (k.as_ref(), v.as_ref()),
                _ => (t, t),
            };
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                cqlsh_into(k, kt, true, out);
                out.push_str(": ");
                cqlsh_into(v, vt, true, out);
            }
            out.push('}');
        }
        V::Tuple(fields) => {
            out.push('(');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let ft = match t {
                    CqlType::Tuple(ts) => ts.get(i).unwrap_or(t),
                    _ => t,
                };
                match f {
                    None => out.push_str("null"),
                    Some(v) => cqlsh_into(v, ft, true, out),
                }
            }
            out.push(')');
        }
        V::Udt(fields) => {
            out.push('{');
            let defs: &[(String, CqlType)] = match t {
                CqlType::Udt { fields, .. } => fields,
                _ => &[],
            };
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let (name, ft) = match defs.get(i) {
                    Some((n, ft)) => (n.as_str(), ft),
                    None => ("?", t),
                };
                cqlsh_text(name, false, out);
                out.push_str(": ");
                match f {
                    None => out.push_str("null"),
                    Some(v) => cqlsh_into(v, ft, true, out),
                }
            }
            out.push('}');
        }
    }
}

/// JSON string literal with the escapes Jackson's `quoteAsString` uses.
pub fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Java's `Double.toString` / `Float.toString` from the shortest
/// round-trip digits (`digits_e` is Rust's `{:e}` output of the value).
fn java_float_text(digits_e: &str, is_zero: bool, negative: bool) -> String {
    let sign = if negative { "-" } else { "" };
    if is_zero {
        return format!("{sign}0.0");
    }
    let body = digits_e.trim_start_matches('-');
    let (mant, exp) = match body.split_once('e') {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if (-3..7).contains(&exp) {
        // plain notation, at least one fractional digit
        let point = exp + 1;
        let (int_part, frac_part) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{}", "0".repeat((-point) as usize), digits),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let frac = if frac_part.is_empty() {
            "0".to_string()
        } else {
            frac_part
        };
        format!("{sign}{int_part}.{frac}")
    } else {
        let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{frac}E{exp}", &digits[..1])
    }
}

/// Java `Double.toString`.
pub fn java_double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    java_float_text(&format!("{v:e}"), v == 0.0, v.is_sign_negative())
}

/// Java `Float.toString`.
pub fn java_float_to_string(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    java_float_text(&format!("{v:e}"), v == 0.0, v.is_sign_negative())
}

/// A value as Cassandra's `toJson()` writes it.
pub fn to_json(value: &CqlValue, ty: &CqlType) -> String {
    let mut out = String::new();
    json_into(value, ty, &mut out);
    out
}

fn json_float(s: String, special: bool, out: &mut String) {
    if special {
        let _ = write!(out, "\"{s}\"");
    } else {
        out.push_str(&s);
    }
}

fn json_into(value: &CqlValue, ty: &CqlType, out: &mut String) {
    use CqlValue as V;
    let t = ty.unfrozen();
    match value {
        V::Empty => out.push_str("null"),
        V::Ascii(s) | V::Text(s) => out.push_str(&json_quote(s)),
        V::Bigint(x) | V::Counter(x) => {
            let _ = write!(out, "{x}");
        }
        V::Int(x) => {
            let _ = write!(out, "{x}");
        }
        V::Smallint(x) => {
            let _ = write!(out, "{x}");
        }
        V::Tinyint(x) => {
            let _ = write!(out, "{x}");
        }
        V::Varint(x) => {
            let _ = write!(out, "{x}");
        }
        V::Decimal(d) => out.push_str(&d.to_java_string()),
        V::Float(f) => json_float(java_float_to_string(*f), !f.is_finite(), out),
        V::Double(f) => json_float(java_double_to_string(*f), !f.is_finite(), out),
        V::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Blob(b) | V::Custom(b) => {
            let _ = write!(out, "\"{}\"", hex(b));
        }
        V::Uuid(u) | V::Timeuuid(u) => {
            let _ = write!(out, "\"{}\"", format_uuid(*u));
        }
        V::Inet(ip) => {
            let _ = write!(out, "\"{ip}\"");
        }
        V::Timestamp(ms) => {
            let _ = write!(out, "\"{}\"", temporal::format_timestamp_json(*ms));
        }
        V::Date(d) => {
            let _ = write!(out, "\"{}\"", temporal::format_date_iso(*d));
        }
        V::Time(n) => {
            let _ = write!(out, "\"{}\"", temporal::format_time(*n));
        }
        V::Duration(d) => out.push_str(&json_quote(&temporal::format_duration(d))),
        V::List(items) | V::Set(items) | V::Vector(items) => {
            let elem = match t {
                CqlType::List(e) | CqlType::Set(e) | CqlType::Vector(e, _) => e.as_ref(),
                _ => t,
            };
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_into(item, elem, out);
            }
            out.push(']');
        }
        V::Map(entries) => {
            let (kt, vt) = match t {
                CqlType::Map(k, v) => (k.as_ref(), v.as_ref()),
                _ => (t, t),
            };
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let key = to_json(k, kt);
                if key.starts_with('"') {
                    out.push_str(&key);
                } else {
                    out.push_str(&json_quote(&key));
                }
                out.push_str(": ");
                json_into(v, vt, out);
            }
            out.push('}');
        }
        V::Tuple(fields) => {
            out.push('[');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let ft = match t {
                    CqlType::Tuple(ts) => ts.get(i).unwrap_or(t),
                    _ => t,
                };
                match f {
                    None => out.push_str("null"),
                    Some(v) => json_into(v, ft, out),
                }
            }
            out.push(']');
        }
        V::Udt(fields) => {
            let defs: &[(String, CqlType)] = match t {
                CqlType::Udt { fields, .. } => fields,
                _ => &[],
            };
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let (name, ft) = match defs.get(i) {
                    Some((n, ft)) => (n.as_str(), ft),
                    None => ("?", t),
                };
                out.push_str(&json_quote(&super::cql_type::maybe_quote(name)));
                out.push_str(": ");
                match f {
                    None => out.push_str("null"),
                    Some(v) => json_into(v, ft, out),
                }
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::num::{Decimal, Varint};
    use crate::types::value::{Duration, DATE_EPOCH};

    fn t(s: &str) -> CqlType {
        CqlType::parse(s).expect(s)
    }

    // Checks cqlsh's float/double formatting rules.
    #[test]
    fn floats() {
        assert_eq!(format_cqlsh(&CqlValue::Float(1.5), &CqlType::Float), "1.5");
        assert_eq!(format_cqlsh(&CqlValue::Float(1.1), &CqlType::Float), "1.1");
        assert_eq!(
            format_cqlsh(&CqlValue::Float(123456.0), &CqlType::Float),
            "1.2346e+05"
        );
        assert_eq!(format_cqlsh(&CqlValue::Float(0.0), &CqlType::Float), "0");
        assert_eq!(
            format_cqlsh(&CqlValue::Double(1e300), &CqlType::Double),
            "1e+300"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Double(0.1), &CqlType::Double),
            "0.1"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Double(-2.5), &CqlType::Double),
            "-2.5"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Double(1.0 / 3.0), &CqlType::Double),
            "0.3333333333333"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Double(1e-7), &CqlType::Double),
            "1e-07"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Double(f64::NAN), &CqlType::Double),
            "NaN"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Float(f32::NEG_INFINITY), &CqlType::Float),
            "-Infinity"
        );
        assert_eq!(format_g(100000.0, 6), "100000");
        assert_eq!(format_g(1000000.0, 6), "1e+06");
        assert_eq!(format_g(0.0001, 6), "0.0001");
    }

    // Checks cqlsh formatting of scalars.
    #[test]
    fn scalars() {
        assert_eq!(
            format_cqlsh(&CqlValue::Text("it's".into()), &CqlType::Text),
            "it's"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Text("a\\b\n".into()), &CqlType::Text),
            "a\\\\b\\n"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Boolean(true), &CqlType::Boolean),
            "True"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Blob(vec![0, 0xff]), &CqlType::Blob),
            "0x00ff"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Timestamp(1_709_208_000_123), &CqlType::Timestamp),
            "2024-02-29 12:00:00.123000+0000"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Date(DATE_EPOCH + 19_782), &CqlType::Date),
            "2024-02-29"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Time(43_200_000_000_000), &CqlType::Time),
            "12:00:00.000000000"
        );
        assert_eq!(
            format_cqlsh(
                &CqlValue::Duration(Duration::new(0, 0, 5_400_000_000_000)),
                &CqlType::Duration
            ),
            "1h30m"
        );
        assert_eq!(
            format_cqlsh(
                &CqlValue::Uuid(0x0123_4567_89AB_4DEF_8123_4567_89AB_CDEF),
                &CqlType::Uuid
            ),
            "01234567-89ab-4def-8123-456789abcdef"
        );
        assert_eq!(
            format_cqlsh(
                &CqlValue::Decimal(Decimal::parse("1.50").expect("d")),
                &CqlType::Decimal
            ),
            "1.50"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Varint(Varint::from_i64(-42)), &CqlType::Varint),
            "-42"
        );
        assert_eq!(
            format_cqlsh(&CqlValue::Inet("::1".parse().expect("ip")), &CqlType::Inet),
            "::1"
        );
        assert_eq!(format_cqlsh(&CqlValue::Empty, &CqlType::Int), "");
    }

    // Checks cqlsh formatting of collections, tuples and UDTs (with quoting).
    #[test]
    fn collections() {
        let set = CqlValue::Set(vec![
            CqlValue::Text("a".into()),
            CqlValue::Text("it's".into()),
        ]);
        assert_eq!(format_cqlsh(&set, &t("set<text>")), "{'a', 'it''s'}");
        let map = CqlValue::Map(vec![
            (CqlValue::Text("x".into()), CqlValue::Int(1)),
            (CqlValue::Text("y".into()), CqlValue::Int(2)),
        ]);
        assert_eq!(format_cqlsh(&map, &t("map<text, int>")), "{'x': 1, 'y': 2}");
        let tup = CqlValue::Tuple(vec![
            Some(CqlValue::Int(7)),
            Some(CqlValue::Text("seven".into())),
            None,
        ]);
        assert_eq!(
            format_cqlsh(&tup, &t("tuple<int, text, int>")),
            "(7, 'seven', null)"
        );
        let udt = CqlType::Udt {
            keyspace: "ks".into(),
            name: "u".into(),
            fields: vec![("a".into(), CqlType::Int), ("b".into(), CqlType::Text)],
        };
        let v = CqlValue::Udt(vec![
            Some(CqlValue::Int(1)),
            Some(CqlValue::Text("x".into())),
        ]);
        assert_eq!(format_cqlsh(&v, &udt), "{a: 1, b: 'x'}");
        let l = CqlValue::List(vec![CqlValue::Timestamp(0), CqlValue::Timestamp(1000)]);
        assert_eq!(
            format_cqlsh(&l, &t("list<timestamp>")),
            "['1970-01-01 00:00:00.000000+0000', '1970-01-01 00:00:01.000000+0000']"
        );
        let vec = CqlValue::Vector(vec![CqlValue::Float(1.5), CqlValue::Float(2.0)]);
        assert_eq!(format_cqlsh(&vec, &t("vector<float, 2>")), "[1.5, 2]");
    }

    // Checks toJson output per type.
    #[test]
    fn json() {
        assert_eq!(
            to_json(&CqlValue::Text("a\"b".into()), &CqlType::Text),
            "\"a\\\"b\""
        );
        assert_eq!(to_json(&CqlValue::Int(5), &CqlType::Int), "5");
        assert_eq!(to_json(&CqlValue::Double(1.5), &CqlType::Double), "1.5");
        assert_eq!(
            to_json(&CqlValue::Double(1e300), &CqlType::Double),
            "1.0E300"
        );
        assert_eq!(to_json(&CqlValue::Double(100.0), &CqlType::Double), "100.0");
        assert_eq!(to_json(&CqlValue::Double(0.001), &CqlType::Double), "0.001");
        assert_eq!(
            to_json(&CqlValue::Double(0.0001), &CqlType::Double),
            "1.0E-4"
        );
        assert_eq!(to_json(&CqlValue::Float(1.1), &CqlType::Float), "1.1");
        assert_eq!(
            to_json(&CqlValue::Double(f64::NAN), &CqlType::Double),
            "\"NaN\""
        );
        assert_eq!(
            to_json(&CqlValue::Boolean(false), &CqlType::Boolean),
            "false"
        );
        assert_eq!(
            to_json(&CqlValue::Blob(vec![1]), &CqlType::Blob),
            "\"0x01\""
        );
        assert_eq!(
            to_json(&CqlValue::Timestamp(1_709_208_000_123), &CqlType::Timestamp),
            "\"2024-02-29 12:00:00.123Z\""
        );
        assert_eq!(
            to_json(&CqlValue::Date(DATE_EPOCH), &CqlType::Date),
            "\"1970-01-01\""
        );
        assert_eq!(
            to_json(
                &CqlValue::Decimal(Decimal::parse("1E+3").expect("d")),
                &CqlType::Decimal
            ),
            "1E+3"
        );
        let map = CqlValue::Map(vec![(CqlValue::Int(1), CqlValue::Text("a".into()))]);
        assert_eq!(to_json(&map, &t("map<int, text>")), "{\"1\": \"a\"}");
        let tup = CqlValue::Tuple(vec![Some(CqlValue::Int(1)), None]);
        assert_eq!(to_json(&tup, &t("tuple<int, int>")), "[1, null]");
        let udt = CqlType::Udt {
            keyspace: "ks".into(),
            name: "u".into(),
            fields: vec![("a".into(), CqlType::Int), ("B".into(), CqlType::Text)],
        };
        let v = CqlValue::Udt(vec![
            Some(CqlValue::Int(1)),
            Some(CqlValue::Text("x".into())),
        ]);
        assert_eq!(to_json(&v, &udt), "{\"a\": 1, \"\\\"B\\\"\": \"x\"}");
    }
}
