//! `INSERT INTO t JSON '{...}'`: a JSON object into column values, following
//! Cassandra's `FromJsonFct`/`AbstractType.fromJSONObject` rules.
//!
//! Keys name columns (lower-cased unless written with double quotes inside the key,
//! as `"\"Mixed\""`); a key that is no column is refused (`JSON values map contains
//! unrecognized column: x`); columns absent from the object are written as null,
//! or left alone with `DEFAULT UNSET`. Values: numbers for the numeric types (or
//! strings holding them), strings for text, temporal, uuid, inet, duration and `0x`
//! blobs (timestamps also as integer milliseconds, dates and times as integers),
//! booleans (or `"true"`/`"false"`), arrays for lists, sets, tuples and vectors,
//! objects for maps (keys are strings read as the key type) and user types.
//!
//! The result is a column → serialized value map that the INSERT then writes like
//! bound values, so INSERT JSON shares every rule of INSERT.

use std::cmp::Ordering;

use serde_json::Value as Json;
use sibyl_cql::types::{compare, serialize, value_from_string, CqlType, CqlValue};

use crate::error::{CqlError, CqlResult};
use crate::schema::model::TableMetadata;

/// Deepest JSON nesting accepted: a bound on recursion for client-supplied text,
/// far above any CQL type's nesting.
const JSON_DEPTH_MAX: usize = 64;

/// One column's value from the document: `None` for JSON null.
pub type JsonColumn = (usize, Option<CqlValue>);

/// The columns a JSON document sets, as (column index, value or null).
pub fn columns_from_json(t: &TableMetadata, doc: &str) -> CqlResult<Vec<JsonColumn>> {
    let parsed: Json = serde_json::from_str(doc).map_err(|e| {
        CqlError::invalid(format!(
            "Could not decode JSON string as a map: {e}. (String was: {doc})"
        ))
    })?;
    let Json::Object(map) = parsed else {
        return Err(CqlError::invalid(format!(
            "Could not decode JSON string as a map: not a JSON object. (String was: {doc})"
        )));
    };
    let mut out: Vec<JsonColumn> = Vec::with_capacity(map.len());
    for (key, value) in &map {
        let name = match key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
            Some(quoted) => quoted.to_string(),
            None => key.to_lowercase(),
        };
        let Some(i) = t.columns.iter().position(|c| c.name == name) else {
            return Err(CqlError::invalid(format!(
                "JSON values map contains unrecognized column: {name}"
            )));
        };
        let c = &t.columns[i];
        let v = from_json(value, &c.cql_type, 0).map_err(|e| {
            CqlError::invalid(format!("Error decoding JSON value for {}: {e}", c.name))
        })?;
        if let Some(v) = &v {
            // The value must encode (e.g. a vector of the wrong length).
            serialize(v, &c.cql_type).map_err(|e| CqlError::invalid(e.to_string()))?;
        }
        out.push((i, v));
    }
    Ok(out)
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "Boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Json::Number(_) => "Double",
        Json::String(_) => "String",
        Json::Array(_) => "ArrayList",
        Json::Object(_) => "LinkedHashMap",
    }
}

/// A JSON value as a value of `ty` (`None` for null).
fn from_json(v: &Json, ty: &CqlType, depth: usize) -> Result<Option<CqlValue>, String> {
    use CqlType as T;
    if depth > JSON_DEPTH_MAX {
        return Err("JSON value nested too deeply".into());
    }
    if v.is_null() {
        return Ok(None);
    }
    let d = depth + 1;
    let scalar = |text: &str| value_from_string(text, ty).map_err(|e| e.to_string());
    let t = ty.unfrozen();
    // Java prints the decoded object: strings without their quotes.
    let shown = match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let expected = |what: &str| format!("Expected {what}, but got a {}: {shown}", kind(v));
    Ok(Some(match t {
        T::Ascii | T::Text => match v {
            Json::String(s) => scalar(s)?,
            _ => return Err(expected("a UTF-8 string")),
        },
        T::Boolean => match v {
            Json::Bool(b) => CqlValue::Boolean(*b),
            Json::String(s) if s.eq_ignore_ascii_case("true") => CqlValue::Boolean(true),
            Json::String(s) if s.eq_ignore_ascii_case("false") => CqlValue::Boolean(false),
            _ => return Err(expected("a boolean value")),
        },
        T::Tinyint
        | T::Smallint
        | T::Int
        | T::Bigint
        | T::Varint
        | T::Counter
        | T::Float
        | T::Double
        | T::Decimal => match v {
            Json::Number(n) => scalar(&n.to_string())?,
            Json::String(s) => scalar(s)?,
            _ => return Err(expected("a number")),
        },
        T::Timestamp | T::Date | T::Time => match v {
            Json::Number(n) if n.is_i64() || n.is_u64() => scalar(&n.to_string())?,
            Json::String(s) => scalar(s)?,
            _ => return Err(expected("a string or an integer")),
        },
        T::Blob => match v {
            Json::String(s) => {
                let Some(hex) = s.strip_prefix("0x") else {
                    return Err(format!(
                        "Value '{s}' is not a valid blob representation: String representation of blob is missing 0x prefix: {s}"
                    ));
                };
                value_from_string(hex, ty).map_err(|e| e.to_string())?
            }
            _ => return Err(expected("a string")),
        },
        T::Uuid | T::Timeuuid | T::Inet | T::Duration => match v {
            Json::String(s) => scalar(s)?,
            _ => return Err(expected("a string")),
        },
        T::List(e) | T::Set(e) | T::Vector(e, _) => {
            let Json::Array(items) = v else {
                return Err(expected("a list"));
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match from_json(item, e, d)? {
                    Some(x) => out.push(x),
                    None => return Err("Invalid null element in list".into()),
                }
            }
            match t {
                T::Set(_) => {
                    out.sort_by(|a, b| compare(a, b, e));
                    out.dedup_by(|a, b| compare(a, b, e) == Ordering::Equal);
                    CqlValue::Set(out)
                }
                T::Vector(_, n) if out.len() != *n => {
                    return Err(format!("Expected {n} elements, but got {}", out.len()))
                }
                T::Vector(..) => CqlValue::Vector(out),
                _ => CqlValue::List(out),
            }
        }
        T::Map(kt, vt) => {
            let Json::Object(entries) = v else {
                return Err(expected("a map"));
            };
            let mut out = Vec::with_capacity(entries.len());
            for (k, val) in entries {
                // Keys are JSON strings holding the key type's JSON (or string) form.
                let key = match serde_json::from_str::<Json>(k) {
                    Ok(j) if !matches!(j, Json::String(_)) && !kt.unfrozen().eq(&T::Text) => {
                        from_json(&j, kt, d)?
                    }
                    _ => from_json(&Json::String(k.clone()), kt, d)?,
                };
                let Some(key) = key else {
                    return Err("Invalid null key in map".into());
                };
                let Some(value) = from_json(val, vt, d)? else {
                    return Err("Invalid null value in map".into());
                };
                out.push((key, value));
            }
            out.sort_by(|a, b| compare(&a.0, &b.0, kt));
            out.dedup_by(|a, b| compare(&a.0, &b.0, kt) == Ordering::Equal);
            CqlValue::Map(out)
        }
        T::Tuple(types) => {
            let Json::Array(items) = v else {
                return Err(expected("a list representation of a tuple"));
            };
            if items.len() > types.len() {
                return Err(format!(
                    "Tuple contains extra items (expected {}): {v}",
                    types.len()
                ));
            }
            let mut out = Vec::with_capacity(types.len());
            for (i, et) in types.iter().enumerate() {
                out.push(match items.get(i) {
                    Some(item) => from_json(item, et, d)?,
                    None => None,
                });
            }
            CqlValue::Tuple(out)
        }
        T::Udt { fields, .. } => {
            let Json::Object(entries) = v else {
                return Err(expected("a map"));
            };
            let mut out: Vec<Option<CqlValue>> = vec![None; fields.len()];
            for (k, val) in entries {
                let name = match k.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                    Some(q) => q.to_string(),
                    None => k.to_lowercase(),
                };
                let Some(i) = fields.iter().position(|(n, _)| *n == name) else {
                    return Err(format!(
                        "Unknown field '{name}' in value of user defined type"
                    ));
                };
                out[i] = from_json(val, &fields[i].1, d)?;
            }
            CqlValue::Udt(out)
        }
        other => return Err(format!("JSON is not supported for type {other}")),
    }))
}
