//! `sibyl sstable dump FILE`: an sstable as JSON, like Cassandra's `sstabledump`.
//!
//! Storage has no schema, so keys, clusterings and values print as hex and columns
//! by id; the node's CLI may decorate them with names and types. Any component path
//! of an sstable (or its TOC) names it. The whole file is verified as it is read: a
//! checksum error stops the dump with the file and offset.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::{CellValue, ClusteringBound, DeletionTime, LivenessInfo, Row};
use crate::sstable::cache::ChunkCache;
use crate::sstable::{Descriptor, SSTableReader};

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn deletion(d: &DeletionTime) -> Value {
    json!({"marked_deleted": d.marked_for_delete_at, "local_delete_time": d.local_deletion_time})
}

fn liveness(l: &LivenessInfo) -> Value {
    if l.ttl > 0 {
        json!({"tstamp": l.timestamp, "ttl": l.ttl, "expires_at": l.expires_at})
    } else {
        json!({"tstamp": l.timestamp})
    }
}

fn bound(b: &ClusteringBound) -> Value {
    match b {
        ClusteringBound::Bottom => json!("bottom"),
        ClusteringBound::Top => json!("top"),
        ClusteringBound::Before(p) => json!({"before": hex(p)}),
        ClusteringBound::After(p) => json!({"after": hex(p)}),
    }
}

fn row(r: &Row, kind: &str) -> Value {
    let mut v = json!({"type": kind});
    if kind == "row" {
        v["clustering"] = json!(hex(&r.clustering));
    }
    if !r.liveness.is_empty() {
        v["liveness_info"] = liveness(&r.liveness);
    }
    if !r.deletion.is_live() {
        v["deletion_info"] = deletion(&r.deletion);
    }
    let cells: Vec<Value> = r
        .cells
        .iter()
        .map(|c| {
            let mut cv = json!({"column": c.column, "tstamp": c.timestamp});
            if let Some(p) = &c.path {
                cv["path"] = json!(hex(p));
            }
            match &c.value {
                CellValue::Live(v) => cv["value"] = json!(hex(v)),
                CellValue::Expiring {
                    value,
                    ttl,
                    expires_at,
                } => {
                    cv["value"] = json!(hex(value));
                    cv["ttl"] = json!(ttl);
                    cv["expires_at"] = json!(expires_at);
                }
                CellValue::Tombstone { deleted_at } => {
                    cv["deletion_info"] = json!({"local_delete_time": deleted_at})
                }
            }
            cv
        })
        .collect();
    v["cells"] = Value::Array(cells);
    v
}

/// Resolves any component path of an sstable to its descriptor.
pub fn descriptor_of(path: &Path) -> Result<Descriptor> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let gen = Descriptor::parse_generation(&name).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{} is not an sstable component (expected a name like sb-1-Data.db)",
            path.display()
        ))
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(Descriptor::new(dir, gen))
}

/// Writes the sstable at `path` as a JSON array of partitions to `out`.
pub fn dump(path: &Path, out: &mut dyn std::io::Write) -> Result<usize> {
    let desc = descriptor_of(path)?;
    let r = SSTableReader::open(desc, Arc::new(ChunkCache::new(0)), Default::default())?;
    let io = |e: std::io::Error| Error::io(path, e);
    writeln!(out, "[").map_err(io)?;
    let mut n = 0;
    for e in r.entries_from(None) {
        let e = e?;
        let p = r.read_partition(&e)?;
        let mut part =
            json!({"key": hex(&e.key.key), "token": e.key.token.0, "position": e.offset});
        if !p.deletion.is_live() {
            part["deletion_info"] = deletion(&p.deletion);
        }
        let mut rows = Vec::new();
        for rt in &p.range_tombstones {
            rows.push(json!({"type": "range_tombstone", "start": bound(&rt.slice.start), "end": bound(&rt.slice.end), "deletion_info": deletion(&rt.deletion)}));
        }
        if let Some(s) = &p.static_row {
            rows.push(row(s, "static_block"));
        }
        for r in &p.rows {
            rows.push(row(r, "row"));
        }
        let v = json!({"partition": part, "rows": rows});
        let sep = if n == 0 { "" } else { ",\n" };
        write!(out, "{sep}  {v}").map_err(io)?;
        n += 1;
    }
    writeln!(out, "\n]").map_err(io)?;
    Ok(n)
}
