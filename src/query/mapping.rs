//! The table mapping of [`crate::schema::model`], in code: CQL values to partition
//! keys, clusterings and cells, and storage rows back to CQL values.
//!
//! Everything here follows the contract in `schema/model.rs` to the byte, because
//! other nodes and the schema layer read what this module writes:
//! partition keys are native serializations (composite keys through
//! [`composite_key`]); clusterings concatenate byte-comparable components (inverted
//! for DESC columns); collection elements are cells with paths (list: 16-byte time
//! ids, set: the comparable element, map: the comparable key, UDT: the field index as
//! u16 BE); overwriting a whole collection writes a path-less tombstone at `ts - 1`.
//!
//! Decoding is the inverse and never trusts the bytes it reads: a cell that does not
//! decode is a read failure, not a panic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use sibyl_cql::types::{deserialize, from_comparable, serialize, to_comparable, CqlType, CqlValue};
use sibyl_storage::token::composite_key;
use sibyl_storage::{Cell, CellValue, ColumnId, DecoratedKey, LocalTime, Row, Timestamp};

use crate::error::{CqlError, CqlResult};
use crate::query::values::type_err;
use crate::schema::model::{ClusteringOrder, ColumnKind, ColumnMetadata, TableMetadata};

/// Largest serialized partition key component (Cassandra: keys are length-prefixed
/// with an unsigned short, so 65 535 bytes is the format's own limit).
pub const PARTITION_KEY_BYTES_MAX: usize = u16::MAX as usize;

/// Cassandra's maximum TTL: 20 years in seconds (`Attributes.MAX_TTL`).
pub const TTL_SECONDS_MAX: i64 = 630_720_000;

/// The reference time (µs, 2010-01-01) list prepends count down from, as Cassandra's
/// `Lists.PrecisionTime.REFERENCE_TIME`: prepended ids stay below every appended one.
const LIST_PREPEND_REFERENCE_MICROS: u64 = 1_262_304_000_000_000;

/// Per-node sequence in the low half of list element ids: keeps ids written in the
/// same microsecond distinct and ordered.
static LIST_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Column positions of a table, by storage column id.
pub struct ColumnIndex {
    by_id: HashMap<ColumnId, usize>,
}

impl ColumnIndex {
    pub fn new(t: &TableMetadata) -> ColumnIndex {
        ColumnIndex {
            by_id: t
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.id, i))
                .collect(),
        }
    }

    pub fn get(&self, id: ColumnId) -> Option<usize> {
        self.by_id.get(&id).copied()
    }
}

/// The column called `name`, or Cassandra's error.
pub fn column<'a>(t: &'a TableMetadata, name: &str) -> CqlResult<(usize, &'a ColumnMetadata)> {
    t.columns
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == name)
        .ok_or_else(|| {
            CqlError::invalid(format!(
                "Undefined column name {name} in table {}.{}",
                t.keyspace, t.name
            ))
        })
}

/// The partition key bytes for `values` (one per partition key column, in order).
pub fn partition_key(t: &TableMetadata, values: &[CqlValue]) -> CqlResult<DecoratedKey> {
    let mut parts = Vec::with_capacity(values.len());
    for (c, v) in t.partition_key().zip(values) {
        let b = serialize(v, &c.cql_type).map_err(type_err)?;
        if b.len() > PARTITION_KEY_BYTES_MAX {
            return Err(CqlError::invalid(format!(
                "Key length of {} is longer than maximum of {PARTITION_KEY_BYTES_MAX}",
                b.len()
            )));
        }
        parts.push(b);
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let key = composite_key(&refs);
    if key.is_empty() {
        return Err(CqlError::invalid("Key may not be empty"));
    }
    Ok(DecoratedKey::new(key))
}

/// The partition key column values of stored key bytes.
pub fn decode_partition_key(t: &TableMetadata, key: &[u8]) -> CqlResult<Vec<CqlValue>> {
    let cols: Vec<&ColumnMetadata> = t.partition_key().collect();
    let bad = || {
        CqlError::ReadFailure(format!(
            "undecodable partition key in {}.{}",
            t.keyspace, t.name
        ))
    };
    if let [only] = cols.as_slice() {
        return Ok(vec![deserialize(key, &only.cql_type).map_err(|_| bad())?]);
    }
    let mut out = Vec::with_capacity(cols.len());
    let mut rest = key;
    for c in cols {
        let (len, tail) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
        let len = usize::from(u16::from_be_bytes(*len));
        let part = tail.get(..len).ok_or_else(bad)?;
        out.push(deserialize(part, &c.cql_type).map_err(|_| bad())?);
        rest = tail.get(len + 1..).ok_or_else(bad)?;
    }
    Ok(out)
}

/// Appends the clustering encoding of `v` for clustering column `c`.
pub fn clustering_component(c: &ColumnMetadata, v: &CqlValue, out: &mut Vec<u8>) -> CqlResult<()> {
    to_comparable(v, &c.cql_type, c.order == ClusteringOrder::Desc, out).map_err(type_err)
}

/// The clustering bytes of a prefix of clustering values.
pub fn clustering(t: &TableMetadata, values: &[CqlValue]) -> CqlResult<Vec<u8>> {
    let mut out = Vec::new();
    for (c, v) in t.clustering().zip(values) {
        clustering_component(c, v, &mut out)?;
    }
    Ok(out)
}

/// The clustering column values of stored clustering bytes.
pub fn decode_clustering(t: &TableMetadata, bytes: &[u8]) -> CqlResult<Vec<CqlValue>> {
    let mut out = Vec::new();
    let mut pos = 0;
    for c in t.clustering() {
        if pos >= bytes.len() {
            break;
        }
        let rest = bytes.get(pos..).unwrap_or_default();
        let (v, n) =
            from_comparable(rest, &c.cql_type, c.order == ClusteringOrder::Desc).map_err(|e| {
                CqlError::ReadFailure(format!(
                    "undecodable clustering in {}.{}: {e}",
                    t.keyspace, t.name
                ))
            })?;
        out.push(v);
        pos += n;
    }
    Ok(out)
}

/// Write parameters shared by every cell of one statement.
#[derive(Clone, Copy, Debug)]
pub struct WriteParams {
    pub timestamp: Timestamp,
    /// Seconds; 0 for none.
    pub ttl: i32,
    /// Local time (s).
    pub now: LocalTime,
}

impl WriteParams {
    /// A cell of `column` (with `path` for collection elements) holding `value`.
    pub fn cell(&self, column: ColumnId, path: Option<Vec<u8>>, value: Vec<u8>) -> Cell {
        let c = if self.ttl > 0 {
            Cell::expiring(column, self.timestamp, value, self.ttl, self.now)
        } else {
            Cell::live(column, self.timestamp, value)
        };
        match path {
            Some(p) => c.with_path(p),
            None => c,
        }
    }

    /// A tombstone of `column` (path-less for a whole collection).
    pub fn tombstone(&self, column: ColumnId, path: Option<Vec<u8>>) -> Cell {
        let c = Cell::tombstone(column, self.timestamp, self.now);
        match path {
            Some(p) => c.with_path(p),
            None => c,
        }
    }
}

/// A new list element id: appends take increasing ids (current µs, sequence),
/// prepends decreasing ones counted down from the reference time.
pub fn list_path(now_micros: i64, prepend: bool) -> Vec<u8> {
    let seq = LIST_SEQUENCE.fetch_add(1, AtomicOrdering::Relaxed);
    let micros = u64::try_from(now_micros).unwrap_or(0);
    let (high, low) = if prepend {
        let elapsed = micros.saturating_sub(LIST_PREPEND_REFERENCE_MICROS);
        (
            LIST_PREPEND_REFERENCE_MICROS.saturating_sub(elapsed),
            u64::MAX - seq,
        )
    } else {
        (micros, seq)
    };
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&high.to_be_bytes());
    out.extend_from_slice(&low.to_be_bytes());
    out
}

/// The element path of a set element or map key.
pub fn comparable_path(ty: &CqlType, v: &CqlValue) -> CqlResult<Vec<u8>> {
    let mut out = Vec::new();
    to_comparable(v, ty, false, &mut out).map_err(type_err)?;
    Ok(out)
}

/// The path of UDT field `i`.
pub fn field_path(i: usize) -> CqlResult<Vec<u8>> {
    u16::try_from(i)
        .map(|i| i.to_be_bytes().to_vec())
        .map_err(|_| CqlError::invalid("too many fields in user type"))
}

/// Adds the cells that set `col` to `value` in `row`. Multi-cell columns first get a
/// complex deletion at `ts - 1` when `overwrite`, so older elements disappear.
pub fn write_value(
    row: &mut Row,
    col: &ColumnMetadata,
    value: &CqlValue,
    p: &WriteParams,
    overwrite: bool,
    now_micros: i64,
) -> CqlResult<()> {
    if !col.cql_type.is_multi_cell() {
        let b = serialize(value, &col.cql_type).map_err(type_err)?;
        row.add_cell(p.cell(col.id, None, b));
        return Ok(());
    }
    if overwrite {
        let del = WriteParams {
            timestamp: p.timestamp.saturating_sub(1),
            ..*p
        };
        row.add_cell(del.tombstone(col.id, None));
    }
    add_elements(row, col, value, p, now_micros, false)
}

/// Adds element cells of a multi-cell `value` (append for lists).
pub fn add_elements(
    row: &mut Row,
    col: &ColumnMetadata,
    value: &CqlValue,
    p: &WriteParams,
    now_micros: i64,
    prepend: bool,
) -> CqlResult<()> {
    match (col.cql_type.unfrozen(), value) {
        (CqlType::List(et), CqlValue::List(items)) => {
            // Prepends take decreasing ids, so the first element must take the last one.
            let mut paths: Vec<Vec<u8>> = items
                .iter()
                .map(|_| list_path(now_micros, prepend))
                .collect();
            if prepend {
                paths.sort();
            }
            for (item, path) in items.iter().zip(paths) {
                row.add_cell(p.cell(col.id, Some(path), serialize(item, et).map_err(type_err)?));
            }
        }
        (CqlType::Set(et), CqlValue::Set(items)) => {
            for item in items {
                row.add_cell(p.cell(col.id, Some(comparable_path(et, item)?), Vec::new()));
            }
        }
        (CqlType::Map(kt, vt), CqlValue::Map(entries)) => {
            for (k, v) in entries {
                row.add_cell(p.cell(
                    col.id,
                    Some(comparable_path(kt, k)?),
                    serialize(v, vt).map_err(type_err)?,
                ));
            }
        }
        (CqlType::Udt { fields, .. }, CqlValue::Udt(values)) => {
            for (i, (_, ft)) in fields.iter().enumerate() {
                match values.get(i).and_then(Option::as_ref) {
                    Some(v) => row.add_cell(p.cell(
                        col.id,
                        Some(field_path(i)?),
                        serialize(v, ft).map_err(type_err)?,
                    )),
                    None => row.add_cell(p.tombstone(col.id, Some(field_path(i)?))),
                }
            }
        }
        _ => {
            return Err(CqlError::invalid(format!(
                "Invalid value for column {} of type {}",
                col.name, col.cql_type
            )))
        }
    }
    Ok(())
}

/// One column's value in a row being decoded, with what `writetime()`/`ttl()` show.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CellInfo {
    pub value: Option<CqlValue>,
    pub writetime: Option<i64>,
    /// Remaining seconds of an expiring simple cell.
    pub ttl: Option<i32>,
}

/// Decodes the live cells of `row` into `out` (indexed like `t.columns`). Cells of
/// unknown (dropped) columns are skipped.
pub fn decode_row(
    t: &TableMetadata,
    idx: &ColumnIndex,
    row: &Row,
    now: LocalTime,
    out: &mut [CellInfo],
) -> CqlResult<()> {
    let bad = |c: &ColumnMetadata, e: String| {
        CqlError::ReadFailure(format!(
            "undecodable cell of {}.{}.{}: {e}",
            t.keyspace, t.name, c.name
        ))
    };
    let mut i = 0;
    let cells = &row.cells;
    while i < cells.len() {
        let id = cells[i].column;
        let mut j = i;
        while j < cells.len() && cells[j].column == id {
            j += 1;
        }
        let group = &cells[i..j];
        i = j;
        let Some(ci) = idx.get(id) else { continue };
        let (Some(col), Some(slot)) = (t.columns.get(ci), out.get_mut(ci)) else {
            continue;
        };
        let live: Vec<&Cell> = group.iter().filter(|c| c.is_live(now)).collect();
        if live.is_empty() {
            continue;
        }
        if !col.cql_type.is_multi_cell() {
            let Some(cell) = live.iter().find(|c| c.path.is_none()) else {
                continue;
            };
            let Some(bytes) = cell.value_bytes() else {
                continue;
            };
            slot.value =
                Some(deserialize(bytes, &col.cql_type).map_err(|e| bad(col, e.to_string()))?);
            slot.writetime = Some(cell.timestamp);
            slot.ttl = match cell.value {
                CellValue::Expiring { expires_at, .. } => {
                    i32::try_from(expires_at.saturating_sub(now)).ok()
                }
                _ => None,
            };
            continue;
        }
        slot.value = Some(decode_complex(col, &live).map_err(|e| bad(col, e))?);
    }
    Ok(())
}

fn decode_complex(col: &ColumnMetadata, cells: &[&Cell]) -> Result<CqlValue, String> {
    let path = |c: &Cell| {
        c.path
            .clone()
            .ok_or_else(|| "element cell without path".to_string())
    };
    let value = |c: &Cell| c.value_bytes().cloned().unwrap_or_default();
    Ok(match col.cql_type.unfrozen() {
        CqlType::List(et) => CqlValue::List(
            cells
                .iter()
                .map(|c| deserialize(&value(c), et).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
        ),
        CqlType::Set(et) => CqlValue::Set(
            cells
                .iter()
                .map(|c| {
                    from_comparable(&path(c)?, et, false)
                        .map(|x| x.0)
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<_, _>>()?,
        ),
        CqlType::Map(kt, vt) => CqlValue::Map(
            cells
                .iter()
                .map(|c| {
                    let k = from_comparable(&path(c)?, kt, false)
                        .map_err(|e| e.to_string())?
                        .0;
                    let v = deserialize(&value(c), vt).map_err(|e| e.to_string())?;
                    Ok((k, v))
                })
                .collect::<Result<_, String>>()?,
        ),
        CqlType::Udt { fields, .. } => {
            let mut out: Vec<Option<CqlValue>> = vec![None; fields.len()];
            for c in cells {
                let p = path(c)?;
                let i = p
                    .first_chunk::<2>()
                    .map(|b| usize::from(u16::from_be_bytes(*b)))
                    .ok_or("bad field path")?;
                if let (Some(slot), Some((_, ft))) = (out.get_mut(i), fields.get(i)) {
                    *slot = Some(deserialize(&value(c), ft).map_err(|e| e.to_string())?);
                }
            }
            CqlValue::Udt(out)
        }
        other => return Err(format!("{other} is not a multi-cell type")),
    })
}

/// True for the columns a static row holds.
pub fn is_static(c: &ColumnMetadata) -> bool {
    c.kind == ColumnKind::Static
}
