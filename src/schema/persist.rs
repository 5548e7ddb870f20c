//! The schema on disk (`schema.db`) and the schema version.
//!
//! **Layout** (all integers big-endian):
//!
//! ```text
//! [8]  magic "SIBYLSCH"
//! [4]  format version (1)
//! [8]  body length in bytes
//! [4]  CRC32C of the body
//! [n]  body: UTF-8 JSON, {"keyspaces": [ {name, durable_writes, replication,
//!      types: [{name, fields: [[name, type text], ...]}],
//!      tables: [{name, id (hex), next_column_id, columns: [{name, id, kind,
//!      position, type, order}], dropped: [...], params: {...}}]} ]}
//! ```
//!
//! Only user keyspaces are stored; the built-in ones are rebuilt at start.
//! Types are stored as Cassandra's schema text and parsed back with the keyspace's
//! user types, which are written in dependency order.
//!
//! **Durability.** A new schema is written to `schema.db.tmp`, fsynced, renamed over
//! `schema.db`, and the directory is fsynced: a crash leaves the old or the new file,
//! never a mix. A file that fails its magic, version, length or checksum is an error
//! naming the file: starting with an empty schema would orphan every table.
//!
//! **Version.** The schema version is a version-3 UUID of the MD5 of the body (like
//! Cassandra's schema digest): it changes with every change and is the same after a
//! restart, since the body is a canonical encoding (sorted maps, fixed field order).
//!
//! **Deliberate difference.** Cassandra stores the schema in the `system_schema`
//! tables themselves; Sibyl stores this file and generates `system_schema` rows.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::error::{CqlError, CqlResult};
use crate::schema::builtin;
use crate::schema::ddl;
use crate::schema::model::{
    ClusteringOrder, ColumnKind, ColumnMetadata, DroppedColumn, KeyspaceMetadata, Replication,
    Schema, TableMetadata, TableParams, UserType,
};

/// The schema file's name under the schema directory.
pub const SCHEMA_FILE: &str = "schema.db";
/// Where a new schema file is written before being renamed.
const SCHEMA_TMP_FILE: &str = "schema.db.tmp";
/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"SIBYLSCH";
/// The format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Header: magic, version, length, checksum.
const HEADER_LEN: usize = 8 + 4 + 8 + 4;
/// Largest schema body accepted (bounds the allocation made from a corrupt length;
/// a schema of 10,000 tables of 100 columns is about 60 MiB).
pub const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

fn corrupt(path: &Path, what: impl std::fmt::Display) -> CqlError {
    CqlError::Server(format!("Corrupt schema file {}: {what}", path.display()))
}

/// CRC32C (Castagnoli), bitwise; the schema file is small and written rarely.
pub fn crc32c(data: &[u8]) -> u32 {
    const POLY: u32 = 0x82F6_3B78;
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (POLY & mask);
        }
    }
    !crc
}

// ----------------------------------------------------------------- encode

/// The canonical body of the user keyspaces of `schema`.
pub fn encode(schema: &Schema) -> Vec<u8> {
    let keyspaces: Vec<Value> = schema
        .keyspaces
        .values()
        .filter(|k| !builtin::is_builtin(&k.name))
        .map(|k| encode_keyspace(k))
        .collect();
    let v = json!({ "keyspaces": keyspaces });
    // Serializing a Value cannot fail (string keys only).
    serde_json::to_vec(&v).unwrap_or_default()
}

fn encode_keyspace(k: &KeyspaceMetadata) -> Value {
    let types: Vec<Value> = types_in_dependency_order(k)
        .into_iter()
        .map(|t| {
            let fields: Vec<Value> = t
                .fields
                .iter()
                .map(|(n, ty)| json!([n, ty.to_string()]))
                .collect();
            json!({ "name": t.name, "fields": fields })
        })
        .collect();
    let tables: Vec<Value> = k.tables.values().map(|t| encode_table(t)).collect();
    json!({
        "name": k.name,
        "durable_writes": k.durable_writes,
        "replication": k.replication.options,
        "types": types,
        "tables": tables,
    })
}

/// User types ordered so that each comes after the types it uses.
pub fn types_in_dependency_order(k: &KeyspaceMetadata) -> Vec<&UserType> {
    let mut out: Vec<&UserType> = Vec::with_capacity(k.types.len());
    let mut pending: Vec<&UserType> = k.types.values().collect();
    // Each round places at least one type unless the rest form a cycle (which DDL
    // prevents); the bound keeps a corrupt schema from looping.
    for _ in 0..=k.types.len() {
        if pending.is_empty() {
            break;
        }
        let (ready, rest): (Vec<&UserType>, Vec<&UserType>) = pending.into_iter().partition(|t| {
            t.fields.iter().all(|(_, f)| {
                k.types
                    .keys()
                    .filter(|other| *other != &t.name)
                    .all(|other| {
                        !ddl::uses_udt(f, &k.name, other) || out.iter().any(|o| &o.name == other)
                    })
            })
        });
        if ready.is_empty() {
            out.extend(rest);
            return out;
        }
        out.extend(ready);
        pending = rest;
    }
    out
}

fn encode_table(t: &TableMetadata) -> Value {
    let columns: Vec<Value> = t
        .columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "id": c.id, "kind": c.kind.as_str(), "position": c.position,
                "type": c.cql_type.to_string(), "order": c.order.as_str(),
            })
        })
        .collect();
    let dropped: Vec<Value> = t
        .dropped
        .values()
        .map(|d| json!({ "name": d.name, "type": d.cql_type.to_string(), "kind": d.kind.as_str(), "time": d.dropped_time }))
        .collect();
    let p = &t.params;
    let extensions: BTreeMap<&String, String> =
        p.extensions.iter().map(|(k, v)| (k, hex(v))).collect();
    json!({
        "name": t.name,
        "id": format!("{:032x}", t.id),
        "next_column_id": t.next_column_id,
        "columns": columns,
        "dropped": dropped,
        "params": {
            "bloom_filter_fp_chance": p.bloom_filter_fp_chance,
            "caching": p.caching,
            "comment": p.comment,
            "compaction": p.compaction,
            "compression": p.compression,
            "crc_check_chance": p.crc_check_chance,
            "default_time_to_live": p.default_time_to_live,
            "gc_grace_seconds": p.gc_grace_seconds,
            "max_index_interval": p.max_index_interval,
            "memtable_flush_period_in_ms": p.memtable_flush_period_in_ms,
            "min_index_interval": p.min_index_interval,
            "read_repair": p.read_repair,
            "speculative_retry": p.speculative_retry,
            "additional_write_policy": p.additional_write_policy,
            "cdc": p.cdc,
            "extensions": extensions,
        },
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ----------------------------------------------------------------- decode

struct Decoder<'a> {
    path: &'a Path,
}

impl Decoder<'_> {
    fn err(&self, what: impl std::fmt::Display) -> CqlError {
        corrupt(self.path, what)
    }

    fn field<'v>(&self, v: &'v Value, name: &str) -> CqlResult<&'v Value> {
        v.get(name)
            .ok_or_else(|| self.err(format!("missing field '{name}'")))
    }

    fn str(&self, v: &Value, name: &str) -> CqlResult<String> {
        self.field(v, name)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.err(format!("field '{name}' is not a string")))
    }

    fn i64(&self, v: &Value, name: &str) -> CqlResult<i64> {
        self.field(v, name)?
            .as_i64()
            .ok_or_else(|| self.err(format!("field '{name}' is not an integer")))
    }

    fn i32(&self, v: &Value, name: &str) -> CqlResult<i32> {
        i32::try_from(self.i64(v, name)?)
            .map_err(|_| self.err(format!("field '{name}' out of range")))
    }

    fn f64(&self, v: &Value, name: &str) -> CqlResult<f64> {
        self.field(v, name)?
            .as_f64()
            .ok_or_else(|| self.err(format!("field '{name}' is not a number")))
    }

    fn bool(&self, v: &Value, name: &str) -> CqlResult<bool> {
        self.field(v, name)?
            .as_bool()
            .ok_or_else(|| self.err(format!("field '{name}' is not a boolean")))
    }

    fn array<'v>(&self, v: &'v Value, name: &str) -> CqlResult<&'v Vec<Value>> {
        self.field(v, name)?
            .as_array()
            .ok_or_else(|| self.err(format!("field '{name}' is not an array")))
    }

    fn string_map(&self, v: &Value, name: &str) -> CqlResult<BTreeMap<String, String>> {
        let m: &Map<String, Value> = self
            .field(v, name)?
            .as_object()
            .ok_or_else(|| self.err(format!("field '{name}' is not an object")))?;
        m.iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or_else(|| self.err(format!("field '{name}.{k}' is not a string")))
            })
            .collect()
    }

    fn keyspace(&self, v: &Value) -> CqlResult<KeyspaceMetadata> {
        let name = self.str(v, "name")?;
        let mut types = BTreeMap::new();
        for t in self.array(v, "types")? {
            let tname = self.str(t, "name")?;
            let mut fields = Vec::new();
            for f in self.array(t, "fields")? {
                let pair = f
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| self.err("bad type field"))?;
                let (fname, ftext) = match (
                    pair.first().and_then(Value::as_str),
                    pair.get(1).and_then(Value::as_str),
                ) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Err(self.err("bad type field")),
                };
                let ty = ddl::resolve_type_text(&name, &types, ftext).map_err(|e| self.err(e))?;
                fields.push((fname.to_string(), ty));
            }
            types.insert(
                tname.clone(),
                UserType {
                    keyspace: name.clone(),
                    name: tname,
                    fields,
                },
            );
        }
        let mut tables = BTreeMap::new();
        for t in self.array(v, "tables")? {
            let table = self.table(&name, &types, t)?;
            tables.insert(table.name.clone(), Arc::new(table));
        }
        Ok(KeyspaceMetadata {
            name,
            replication: Replication {
                options: self.string_map(v, "replication")?,
            },
            durable_writes: self.bool(v, "durable_writes")?,
            tables,
            types,
        })
    }

    fn kind(&self, text: &str) -> CqlResult<ColumnKind> {
        Ok(match text {
            "partition_key" => ColumnKind::PartitionKey,
            "clustering" => ColumnKind::Clustering,
            "static" => ColumnKind::Static,
            "regular" => ColumnKind::Regular,
            other => return Err(self.err(format!("unknown column kind '{other}'"))),
        })
    }

    fn table(
        &self,
        ks: &str,
        types: &BTreeMap<String, UserType>,
        v: &Value,
    ) -> CqlResult<TableMetadata> {
        let id_text = self.str(v, "id")?;
        let id = u128::from_str_radix(&id_text, 16)
            .map_err(|_| self.err(format!("bad table id '{id_text}'")))?;
        let mut columns = Vec::new();
        for c in self.array(v, "columns")? {
            let order = match self.str(c, "order")?.as_str() {
                "asc" => ClusteringOrder::Asc,
                "desc" => ClusteringOrder::Desc,
                _ => ClusteringOrder::None,
            };
            columns.push(ColumnMetadata {
                name: self.str(c, "name")?,
                id: u32::try_from(self.i64(c, "id")?).map_err(|_| self.err("bad column id"))?,
                kind: self.kind(&self.str(c, "kind")?)?,
                position: self.i32(c, "position")?,
                cql_type: ddl::resolve_type_text(ks, types, &self.str(c, "type")?)
                    .map_err(|e| self.err(e))?,
                order,
            });
        }
        let mut dropped = BTreeMap::new();
        for d in self.array(v, "dropped")? {
            let name = self.str(d, "name")?;
            dropped.insert(
                name.clone(),
                DroppedColumn {
                    name,
                    cql_type: ddl::resolve_type_text(ks, types, &self.str(d, "type")?)
                        .map_err(|e| self.err(e))?,
                    kind: self.kind(&self.str(d, "kind")?)?,
                    dropped_time: self.i64(d, "time")?,
                },
            );
        }
        let p = self.field(v, "params")?;
        let mut extensions = BTreeMap::new();
        for (k, hexv) in self.string_map(p, "extensions")? {
            let bytes = crate::schema::options::decode_hex(&hexv)
                .ok_or_else(|| self.err("bad extension value"))?;
            extensions.insert(k, bytes);
        }
        let params = TableParams {
            bloom_filter_fp_chance: self.f64(p, "bloom_filter_fp_chance")?,
            caching: self.string_map(p, "caching")?,
            comment: self.str(p, "comment")?,
            compaction: self.string_map(p, "compaction")?,
            compression: self.string_map(p, "compression")?,
            crc_check_chance: self.f64(p, "crc_check_chance")?,
            default_time_to_live: self.i32(p, "default_time_to_live")?,
            gc_grace_seconds: self.i32(p, "gc_grace_seconds")?,
            max_index_interval: self.i32(p, "max_index_interval")?,
            memtable_flush_period_in_ms: self.i32(p, "memtable_flush_period_in_ms")?,
            min_index_interval: self.i32(p, "min_index_interval")?,
            read_repair: self.str(p, "read_repair")?,
            speculative_retry: self.str(p, "speculative_retry")?,
            additional_write_policy: self.str(p, "additional_write_policy")?,
            cdc: self.bool(p, "cdc")?,
            extensions,
        };
        let mut t = TableMetadata {
            keyspace: ks.to_string(),
            name: self.str(v, "name")?,
            id,
            columns,
            params,
            dropped,
            next_column_id: u32::try_from(self.i64(v, "next_column_id")?)
                .map_err(|_| self.err("bad next_column_id"))?,
        };
        // Check right after reading: ids below next_column_id, names unique.
        if t.columns.iter().any(|c| c.id >= t.next_column_id) {
            return Err(self.err(format!(
                "table {}: column id not below next_column_id",
                t.name
            )));
        }
        t.sort_columns();
        Ok(t)
    }
}

/// Decodes a body written by [`encode`] (`path` names the file in errors).
pub fn decode(body: &[u8], path: &Path) -> CqlResult<Schema> {
    let d = Decoder { path };
    let v: Value = serde_json::from_slice(body).map_err(|e| d.err(e))?;
    let mut schema = Schema::default();
    for k in d.array(&v, "keyspaces")? {
        let ks = d.keyspace(k)?;
        schema.keyspaces.insert(ks.name.clone(), Arc::new(ks));
    }
    Ok(schema)
}

// ------------------------------------------------------------------- files

/// Path of the schema file under `dir`.
pub fn schema_path(dir: &Path) -> PathBuf {
    dir.join(SCHEMA_FILE)
}

/// Reads the schema file; `Ok(None)` when there is none (first start).
pub fn read(dir: &Path) -> CqlResult<Option<Vec<u8>>> {
    let path = schema_path(dir);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CqlError::Server(format!(
                "Cannot read schema file {}: {e}",
                path.display()
            )))
        }
    };
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or_else(|| corrupt(&path, "file shorter than its header"))?;
    if header.get(..8) != Some(&MAGIC[..]) {
        return Err(corrupt(&path, "bad magic"));
    }
    let be32 = |r: std::ops::Range<usize>| {
        header
            .get(r)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_be_bytes)
    };
    let version = be32(8..12).ok_or_else(|| corrupt(&path, "short header"))?;
    if version != FORMAT_VERSION {
        return Err(corrupt(
            &path,
            format!("unsupported format version {version}"),
        ));
    }
    let len = header
        .get(12..20)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt(&path, "short header"))?;
    let expected = be32(20..24).ok_or_else(|| corrupt(&path, "short header"))?;
    if len > MAX_BODY_BYTES || len != (bytes.len() - HEADER_LEN) as u64 {
        return Err(corrupt(
            &path,
            format!(
                "body length {len} does not match the file ({} bytes)",
                bytes.len()
            ),
        ));
    }
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    let got = crc32c(body);
    if got != expected {
        return Err(corrupt(
            &path,
            format!("checksum mismatch: got {got:08x}, expected {expected:08x}"),
        ));
    }
    Ok(Some(body.to_vec()))
}

/// Writes the schema file atomically and durably (temp file, fsync, rename, fsync dir).
pub fn write(dir: &Path, body: &[u8]) -> CqlResult<()> {
    let io = |what: &str, e: std::io::Error| {
        CqlError::Server(format!(
            "Cannot write schema file in {}: {what}: {e}",
            dir.display()
        ))
    };
    fs::create_dir_all(dir).map_err(|e| io("create directory", e))?;
    let tmp = dir.join(SCHEMA_TMP_FILE);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    out.extend_from_slice(&crc32c(body).to_be_bytes());
    out.extend_from_slice(body);
    {
        let mut f = fs::File::create(&tmp).map_err(|e| io("create", e))?;
        f.write_all(&out).map_err(|e| io("write", e))?;
        // IMPORTANT: the data must be durable before the rename makes it current.
        f.sync_all().map_err(|e| io("fsync", e))?;
    }
    fs::rename(&tmp, schema_path(dir)).map_err(|e| io("rename", e))?;
    // IMPORTANT: the rename itself is durable only once the directory is synced.
    let d = fs::File::open(dir).map_err(|e| io("open directory", e))?;
    d.sync_all().map_err(|e| io("fsync directory", e))
}

/// The schema version of a canonical body.
pub fn version_of(body: &[u8]) -> u128 {
    builtin::name_uuid(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    // CRC32C check value from RFC 3720 ("123456789" → e3069283).
    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    // Every truncation of a valid file is rejected with an error naming the file.
    #[test]
    fn truncated_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), b"{\"keyspaces\":[]}").unwrap();
        let full = fs::read(schema_path(dir.path())).unwrap();
        for cut in 0..full.len() {
            fs::write(schema_path(dir.path()), &full[..cut]).unwrap();
            let e = read(dir.path()).unwrap_err();
            assert!(e.to_string().contains("schema.db"), "{e}");
        }
        fs::write(schema_path(dir.path()), &full).unwrap();
        assert!(read(dir.path()).unwrap().is_some());
    }
}
