//! `WITH ...` options of keyspaces and tables: parsing, validation with Cassandra's
//! messages, and the mapping of table options onto the storage engine.
//!
//! **Keyspaces.** `replication` is stored as Cassandra stores it in
//! `system_schema.keyspaces.replication`: the *full* strategy class name under
//! `class` (`SimpleStrategy` is accepted and stored as
//! `org.apache.cassandra.locator.SimpleStrategy`) plus the other options as given.
//! Sibyl has one data centre and no token ring of its own yet, so replication is
//! recorded and validated but does not place data; `replication_factor` given to
//! `NetworkTopologyStrategy` is kept as is (Cassandra 4 would expand it to every
//! known data centre).
//!
//! **Tables.** Options become a [`TableParams`] (Cassandra 4's `TableParams`,
//! map-valued options kept as Cassandra's string maps with full class names and the
//! defaults Cassandra adds). Unknown options are a SyntaxError (`Unknown property
//! 'x'`), bad values a ConfigurationError, as in Cassandra. The storage engine only
//! implements size-tiered compaction and LZ4/Zstd/no compression: Leveled and
//! TimeWindow strategies are accepted and reported in the schema, but the engine
//! compacts size-tiered with their thresholds; Snappy and Deflate are refused.
//!
//! **What not.** `memtable` (Cassandra 4.1), `read_repair_chance` and
//! `dclocal_read_repair_chance` (removed in 4.0) are accepted and ignored so that
//! schemas exported from those versions load.

use std::collections::BTreeMap;

use sibyl_cql::parser::{ConstantKind, Property, PropertyValue, Term};
use sibyl_storage::sstable::Compression;
use sibyl_storage::TableOptions as StorageOptions;

use crate::error::{CqlError, CqlResult};
use crate::schema::model::{Replication, TableParams};

/// Package of Cassandra's replication strategies (stored class names are full).
pub const LOCATOR_PACKAGE: &str = "org.apache.cassandra.locator.";
/// Package of Cassandra's compaction strategies.
pub const COMPACTION_PACKAGE: &str = "org.apache.cassandra.db.compaction.";
/// Package of Cassandra's compressors.
pub const COMPRESSION_PACKAGE: &str = "org.apache.cassandra.io.compress.";

/// Largest `default_time_to_live` (Cassandra's `Attributes.MAX_TTL`: 20 years).
pub const MAX_TTL_SECONDS: i64 = 630_720_000;
/// Largest compression chunk the storage engine writes (its `MAX_BLOCK_SIZE`).
pub const MAX_CHUNK_LENGTH_KB: usize = sibyl_storage::sstable::MAX_BLOCK_SIZE / 1024;
/// Default compression chunk (Cassandra 4: 16 KiB).
pub const DEFAULT_CHUNK_LENGTH_KB: usize = 16;

/// A property's value as text (constants and bare words); maps are an error.
pub fn scalar(p: &Property) -> CqlResult<String> {
    match &p.value {
        PropertyValue::Constant(c) => Ok(c.text.clone()),
        PropertyValue::Identifier(w) => Ok(w.clone()),
        PropertyValue::Map(_) => Err(CqlError::Syntax(format!(
            "Invalid value for property '{}'. It should be a string",
            p.name
        ))),
    }
}

/// A property's value as a string map (`{'k': 'v', ...}`).
pub fn string_map(p: &Property) -> CqlResult<BTreeMap<String, String>> {
    let PropertyValue::Map(entries) = &p.value else {
        return Err(CqlError::Syntax(format!(
            "Invalid value for property '{}'. It should be a map.",
            p.name
        )));
    };
    let mut out = BTreeMap::new();
    for (k, v) in entries {
        out.insert(term_text(k, &p.name)?, term_text(v, &p.name)?);
    }
    Ok(out)
}

fn term_text(t: &Term, property: &str) -> CqlResult<String> {
    match t {
        Term::Constant(c) => Ok(c.text.clone()),
        _ => Err(CqlError::Syntax(format!(
            "Invalid value for property '{property}': constants expected in the map"
        ))),
    }
}

fn parse_bool(text: &str, property: &str) -> CqlResult<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(CqlError::Syntax(format!(
            "Invalid boolean value {text} for '{property}'"
        ))),
    }
}

fn parse_i64(text: &str, property: &str) -> CqlResult<i64> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| CqlError::Syntax(format!("Invalid integer value {text} for '{property}'")))
}

fn parse_f64(text: &str, property: &str) -> CqlResult<f64> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| CqlError::Syntax(format!("Invalid double value {text} for '{property}'")))
}

fn config(msg: impl Into<String>) -> CqlError {
    CqlError::Config(msg.into())
}

// ---------------------------------------------------------------- keyspaces

/// Keyspace options after parsing (`None`: not given).
#[derive(Debug, Default)]
pub struct KeyspaceOptions {
    pub replication: Option<Replication>,
    pub durable_writes: Option<bool>,
}

/// Parses `WITH replication = {...} AND durable_writes = ...`.
pub fn parse_keyspace_options(keyspace: &str, props: &[Property]) -> CqlResult<KeyspaceOptions> {
    let mut out = KeyspaceOptions::default();
    for p in props {
        match p.name.as_str() {
            "replication" => out.replication = Some(parse_replication(keyspace, string_map(p)?)?),
            "durable_writes" => out.durable_writes = Some(parse_bool(&scalar(p)?, &p.name)?),
            other => return Err(CqlError::Syntax(format!("Unknown property '{other}'"))),
        }
    }
    Ok(out)
}

fn full_class(class: &str, package: &str) -> String {
    if class.contains('.') {
        class.to_string()
    } else {
        format!("{package}{class}")
    }
}

/// Validates a replication map as Cassandra's strategies do and stores the full class name.
pub fn parse_replication(
    keyspace: &str,
    mut map: BTreeMap<String, String>,
) -> CqlResult<Replication> {
    let class = map
        .remove("class")
        .ok_or_else(|| config("Missing replication strategy class"))?;
    let full = full_class(&class, LOCATOR_PACKAGE);
    let short = full
        .strip_prefix(LOCATOR_PACKAGE)
        .unwrap_or(&full)
        .to_string();
    match short.as_str() {
        "SimpleStrategy" => {
            let rf = map.get("replication_factor").ok_or_else(|| {
                config("SimpleStrategy requires a replication_factor strategy option.")
            })?;
            validate_rf(rf)?;
            if let Some(other) = map.keys().find(|k| *k != "replication_factor") {
                return Err(config(format!(
                    "Unrecognized strategy option {{{other}}} passed to SimpleStrategy for keyspace {keyspace}"
                )));
            }
        }
        "NetworkTopologyStrategy" => {
            if map.is_empty() {
                return Err(config(
                    "Configuration for at least one datacenter must be present",
                ));
            }
            for rf in map.values() {
                validate_rf(rf)?;
            }
        }
        "LocalStrategy" => {
            return Err(config(
                "Unable to use given strategy class: LocalStrategy is reserved for internal use.",
            ))
        }
        _ => {
            return Err(config(format!(
                "Unable to find replication strategy class '{full}'"
            )))
        }
    }
    map.insert("class".into(), full);
    Ok(Replication { options: map })
}

fn validate_rf(rf: &str) -> CqlResult<()> {
    if rf.contains('/') {
        return Err(config(
            "Transient replication is disabled. Enable in cassandra.yaml to use.",
        ));
    }
    let n: i64 = rf
        .trim()
        .parse()
        .map_err(|_| config(format!("Replication factor must be numeric; found {rf}")))?;
    if n < 0 {
        return Err(config(format!(
            "Replication factor must be non-negative; found {rf}"
        )));
    }
    Ok(())
}

// ------------------------------------------------------------------ tables

/// Parses table options on top of `base` (Cassandra's defaults for CREATE, the
/// current options for ALTER). Returns the params and a `WITH ID` if given.
pub fn parse_table_params(
    props: &[Property],
    base: &TableParams,
) -> CqlResult<(TableParams, Option<u128>)> {
    let mut t = base.clone();
    let mut id = None;
    let mut seen = std::collections::BTreeSet::new();
    for p in props {
        if !seen.insert(p.name.as_str()) {
            return Err(CqlError::Syntax(format!(
                "Multiple definitions for property '{}'",
                p.name
            )));
        }
        let name = p.name.as_str();
        match name {
            "additional_write_policy" => {
                t.additional_write_policy = speculative(&scalar(p)?, name)?
            }
            "bloom_filter_fp_chance" => {
                let v = parse_f64(&scalar(p)?, name)?;
                if !(v > 0.0 && v <= 1.0) {
                    return Err(config(format!(
                        "bloom_filter_fp_chance must be larger than 0.0 and less than or equal to 1.0 (got {v})"
                    )));
                }
                t.bloom_filter_fp_chance = v;
            }
            "caching" => t.caching = caching(string_map(p)?)?,
            "cdc" => t.cdc = parse_bool(&scalar(p)?, name)?,
            "comment" => t.comment = scalar(p)?,
            "compaction" => t.compaction = compaction(string_map(p)?)?,
            "compression" => t.compression = compression(string_map(p)?)?,
            "crc_check_chance" => {
                let v = parse_f64(&scalar(p)?, name)?;
                if !(0.0..=1.0).contains(&v) {
                    return Err(config("crc_check_chance should be between 0.0 and 1.0"));
                }
                t.crc_check_chance = v;
            }
            "default_time_to_live" => {
                t.default_time_to_live = bounded_int(&scalar(p)?, name, MAX_TTL_SECONDS)?;
            }
            "gc_grace_seconds" => {
                t.gc_grace_seconds = bounded_int(&scalar(p)?, name, i64::from(i32::MAX))?;
            }
            "max_index_interval" => {
                t.max_index_interval = bounded_int(&scalar(p)?, name, i64::from(i32::MAX))?
            }
            "min_index_interval" => {
                let v = bounded_int(&scalar(p)?, name, i64::from(i32::MAX))?;
                if v < 1 {
                    return Err(config(format!(
                        "min_index_interval must be greater than or equal to 1 (got {v})"
                    )));
                }
                t.min_index_interval = v;
            }
            "memtable_flush_period_in_ms" => {
                t.memtable_flush_period_in_ms =
                    bounded_int(&scalar(p)?, name, i64::from(i32::MAX))?;
            }
            "read_repair" => {
                let v = scalar(p)?.to_ascii_uppercase();
                if v != "BLOCKING" && v != "NONE" {
                    return Err(config(format!(
                        "Invalid value {v} for option 'read_repair'"
                    )));
                }
                t.read_repair = v;
            }
            "speculative_retry" => t.speculative_retry = speculative(&scalar(p)?, name)?,
            "extensions" => t.extensions = extensions(p)?,
            "id" => {
                id = Some(parse_uuid(&scalar(p)?).ok_or_else(|| {
                    config(format!(
                        "Invalid table id {}",
                        scalar(p).unwrap_or_default()
                    ))
                })?)
            }
            "memtable" | "read_repair_chance" | "dclocal_read_repair_chance" => {}
            other => return Err(CqlError::Syntax(format!("Unknown property '{other}'"))),
        }
    }
    if t.min_index_interval > t.max_index_interval {
        return Err(config(
            "max_index_interval must be greater than min_index_interval",
        ));
    }
    Ok((t, id))
}

fn bounded_int(text: &str, name: &str, max: i64) -> CqlResult<i32> {
    let v = parse_i64(text, name)?;
    if v < 0 {
        return Err(config(format!(
            "{name} must be greater than or equal to 0 (got {v})"
        )));
    }
    if v > max {
        return Err(config(format!(
            "{name} must be less than or equal to {max} (got {v})"
        )));
    }
    i32::try_from(v).map_err(|_| {
        config(format!(
            "{name} must be less than or equal to {max} (got {v})"
        ))
    })
}

/// Parses a UUID in its textual form (`8-4-4-4-12` hex digits).
pub fn parse_uuid(text: &str) -> Option<u128> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || text.len() != 36 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// Formats a UUID as text.
pub fn format_uuid(id: u128) -> String {
    let h = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn speculative(text: &str, name: &str) -> CqlResult<String> {
    let upper = text.trim().to_ascii_uppercase();
    if upper == "ALWAYS" || upper == "NONE" {
        return Ok(upper);
    }
    let lower = text.trim().to_ascii_lowercase();
    let number = |s: &str| s.parse::<f64>().ok().filter(|v| *v >= 0.0);
    if let Some(p) = lower
        .strip_suffix("percentile")
        .or_else(|| lower.strip_suffix('p'))
    {
        if number(p).is_some_and(|v| v <= 100.0) {
            return Ok(format!("{p}p"));
        }
    }
    if let Some(ms) = lower.strip_suffix("ms") {
        if number(ms).is_some() {
            return Ok(format!("{ms}ms"));
        }
    }
    Err(config(format!("Invalid value {text} for option '{name}'")))
}

fn caching(mut map: BTreeMap<String, String>) -> CqlResult<BTreeMap<String, String>> {
    let keys = map
        .remove("keys")
        .unwrap_or_else(|| "ALL".into())
        .to_ascii_uppercase();
    let rows = map
        .remove("rows_per_partition")
        .unwrap_or_else(|| "NONE".into())
        .to_ascii_uppercase();
    if let Some(k) = map.keys().next() {
        return Err(config(format!(
            "Invalid caching sub-options [{k}]: only \"keys\" and \"rows_per_partition\" are allowed"
        )));
    }
    if keys != "ALL" && keys != "NONE" {
        return Err(config(format!(
            "Invalid value '{keys}' for caching sub-option 'keys': only 'ALL' and 'NONE' are allowed"
        )));
    }
    if rows != "ALL" && rows != "NONE" && rows.parse::<u32>().is_err() {
        return Err(config(format!(
            "Invalid value '{rows}' for caching sub-option 'rows_per_partition': only 'ALL', 'NONE' or a positive integer are allowed"
        )));
    }
    Ok([
        ("keys".to_string(), keys),
        ("rows_per_partition".to_string(), rows),
    ]
    .into())
}

/// Compaction sub-options every strategy understands.
const COMMON_COMPACTION_OPTIONS: &[&str] = &[
    "class",
    "enabled",
    "min_threshold",
    "max_threshold",
    "tombstone_threshold",
    "tombstone_compaction_interval",
    "unchecked_tombstone_compaction",
    "only_purge_repaired_tombstones",
    "log_all",
    "provide_overlapping_tombstones",
];

fn compaction(mut map: BTreeMap<String, String>) -> CqlResult<BTreeMap<String, String>> {
    let class = map
        .get("class")
        .cloned()
        .ok_or_else(|| config("Missing sub-option 'class' for the 'compaction' option."))?;
    let full = full_class(&class, COMPACTION_PACKAGE);
    let short = full
        .strip_prefix(COMPACTION_PACKAGE)
        .unwrap_or(&full)
        .to_string();
    let specific: &[&str] = match short.as_str() {
        "SizeTieredCompactionStrategy" => &["bucket_low", "bucket_high", "min_sstable_size"],
        "LeveledCompactionStrategy" => &[
            "sstable_size_in_mb",
            "fanout_size",
            "single_sstable_uplevel",
        ],
        "TimeWindowCompactionStrategy" => &[
            "compaction_window_unit",
            "compaction_window_size",
            "timestamp_resolution",
            "expired_sstable_check_frequency_seconds",
            "unsafe_aggressive_sstable_expiration",
        ],
        _ => {
            return Err(config(format!(
                "Unable to find compaction strategy class '{full}'"
            )))
        }
    };
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !COMMON_COMPACTION_OPTIONS.contains(k) && !specific.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(config(format!(
            "Properties specified [{}] are not understood by {short}",
            unknown.join(", ")
        )));
    }
    for key in ["min_threshold", "max_threshold"] {
        if let Some(v) = map.get(key) {
            let n = parse_i64(v, key)?;
            if n < 2 {
                return Err(config(format!(
                    "{key} must be greater than or equal to 2 (got {n})"
                )));
            }
        }
    }
    if let Some(v) = map.get("enabled") {
        parse_bool(v, "enabled")?;
    }
    map.insert("class".into(), full);
    map.entry("min_threshold".into())
        .or_insert_with(|| "4".into());
    map.entry("max_threshold".into())
        .or_insert_with(|| "32".into());
    Ok(map)
}

/// Compressors Cassandra knows, and whether the storage engine implements them.
fn compressor(short: &str) -> Option<Option<Compression>> {
    match short {
        "LZ4Compressor" => Some(Some(Compression::Lz4)),
        "ZstdCompressor" => Some(Some(Compression::Zstd)),
        "NoopCompressor" => Some(Some(Compression::None)),
        "SnappyCompressor" | "DeflateCompressor" => Some(None),
        _ => None,
    }
}

/// Compression sub-options.
const COMPRESSION_OPTIONS: &[&str] = &[
    "class",
    "sstable_compression",
    "chunk_length_in_kb",
    "chunk_length_kb",
    "enabled",
    "crc_check_chance",
    "compression_level",
    "min_compress_ratio",
];

fn compression(mut map: BTreeMap<String, String>) -> CqlResult<BTreeMap<String, String>> {
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !COMPRESSION_OPTIONS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(config(format!(
            "Unknown compression options ({})",
            unknown.join(", ")
        )));
    }
    if let Some(e) = map.get("enabled") {
        if !parse_bool(e, "enabled")? {
            return Ok([("enabled".to_string(), "false".to_string())].into());
        }
    }
    map.remove("enabled");
    map.remove("crc_check_chance");
    let class = map
        .remove("class")
        .or_else(|| map.remove("sstable_compression"))
        .ok_or_else(|| config("Missing sub-option 'class' for the 'compression' option."))?;
    if class.is_empty() {
        return Ok([("enabled".to_string(), "false".to_string())].into());
    }
    let full = full_class(&class, COMPRESSION_PACKAGE);
    let short = full.strip_prefix(COMPRESSION_PACKAGE).unwrap_or(&full);
    match compressor(short) {
        None => {
            return Err(config(format!(
                "Could not create Compression for type {full}"
            )))
        }
        Some(None) => {
            return Err(config(format!(
                "Compressor {short} is not supported by Sibyl (use LZ4Compressor, ZstdCompressor or NoopCompressor)"
            )))
        }
        Some(Some(_)) => {}
    }
    let chunk = map
        .remove("chunk_length_in_kb")
        .or_else(|| map.remove("chunk_length_kb"))
        .unwrap_or_else(|| DEFAULT_CHUNK_LENGTH_KB.to_string());
    let kb = parse_i64(&chunk, "chunk_length_in_kb")?;
    let kb_ok = usize::try_from(kb)
        .ok()
        .filter(|k| k.is_power_of_two() && *k <= MAX_CHUNK_LENGTH_KB);
    if kb_ok.is_none() {
        return Err(config(format!(
            "chunk_length_in_kb must be a power of 2 up to {MAX_CHUNK_LENGTH_KB} (got {kb})"
        )));
    }
    map.insert("chunk_length_in_kb".into(), kb.to_string());
    map.insert("class".into(), full);
    Ok(map)
}

fn extensions(p: &Property) -> CqlResult<BTreeMap<String, Vec<u8>>> {
    let PropertyValue::Map(entries) = &p.value else {
        return Err(CqlError::Syntax(
            "Invalid value for property 'extensions'. It should be a map.".into(),
        ));
    };
    let mut out = BTreeMap::new();
    for (k, v) in entries {
        let key = term_text(k, &p.name)?;
        let value = match v {
            Term::Constant(c) if c.kind == ConstantKind::Hex => {
                decode_hex(&c.text).ok_or_else(|| {
                    CqlError::Syntax(format!("Invalid blob {} in 'extensions'", c.text))
                })?
            }
            Term::Constant(c) => c.text.clone().into_bytes(),
            _ => {
                return Err(CqlError::Syntax(
                    "Invalid value for property 'extensions'".into(),
                ))
            }
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// Decodes `0xabcd` (or `abcd`) hex text.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let h = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// Maps table params onto the storage engine's options.
pub fn storage_options(p: &TableParams) -> StorageOptions {
    let mut o = StorageOptions {
        bloom_filter_fp_chance: p.bloom_filter_fp_chance,
        gc_grace_seconds: i64::from(p.gc_grace_seconds),
        ..StorageOptions::default()
    };
    let enabled = p.compression.get("enabled").map(String::as_str) != Some("false");
    o.compression = match p.compression.get("class") {
        Some(class) if enabled => {
            let short = class.strip_prefix(COMPRESSION_PACKAGE).unwrap_or(class);
            compressor(short).flatten().unwrap_or(Compression::Zstd)
        }
        _ => Compression::None,
    };
    let kb = p
        .compression
        .get("chunk_length_in_kb")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(DEFAULT_CHUNK_LENGTH_KB);
    o.chunk_length = kb * 1024;
    let c = &p.compaction;
    let get = |k: &str| c.get(k).map(|v| v.trim().to_string());
    if let Some(v) = get("enabled") {
        o.compaction.enabled = v.eq_ignore_ascii_case("true");
    }
    if let Some(v) = get("min_threshold").and_then(|v| v.parse().ok()) {
        o.compaction.min_threshold = v;
    }
    if let Some(v) = get("max_threshold").and_then(|v| v.parse().ok()) {
        o.compaction.max_threshold = v;
    }
    if let Some(v) = get("bucket_low").and_then(|v| v.parse().ok()) {
        o.compaction.bucket_low = v;
    }
    if let Some(v) = get("bucket_high").and_then(|v| v.parse().ok()) {
        o.compaction.bucket_high = v;
    }
    if let Some(v) = get("min_sstable_size").and_then(|v| v.parse().ok()) {
        o.compaction.min_sstable_size = v;
    }
    if let Some(v) = get("tombstone_threshold").and_then(|v| v.parse().ok()) {
        o.compaction.tombstone_threshold = v;
    }
    if let Some(v) = get("tombstone_compaction_interval").and_then(|v| v.parse().ok()) {
        o.compaction.tombstone_compaction_interval = v;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    // Short class names are stored in full and defaults are added, as Cassandra does.
    #[test]
    fn compaction_and_compression_maps() {
        let c = compaction(
            [(
                "class".to_string(),
                "SizeTieredCompactionStrategy".to_string(),
            )]
            .into(),
        )
        .unwrap();
        assert_eq!(
            c["class"],
            "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"
        );
        assert_eq!(c["min_threshold"], "4");
        let z = compression([("class".to_string(), "LZ4Compressor".to_string())].into()).unwrap();
        assert_eq!(z["class"], "org.apache.cassandra.io.compress.LZ4Compressor");
        assert_eq!(z["chunk_length_in_kb"], "16");
        let off = compression([("enabled".to_string(), "false".to_string())].into()).unwrap();
        assert_eq!(off.len(), 1);
        let p = TableParams {
            compression: off,
            ..TableParams::default()
        };
        assert_eq!(storage_options(&p).compression, Compression::None);
    }

    // Speculative retry values are normalised like Cassandra prints them.
    #[test]
    fn speculative_retry_forms() {
        assert_eq!(speculative("99PERCENTILE", "x").unwrap(), "99p");
        assert_eq!(speculative("always", "x").unwrap(), "ALWAYS");
        assert_eq!(speculative("10ms", "x").unwrap(), "10ms");
        assert!(speculative("soon", "x").is_err());
    }

    // UUID text round trip.
    #[test]
    fn uuid_text() {
        let t = "5a1c395e-b41f-11e5-9f22-ba0be0483c18";
        assert_eq!(format_uuid(parse_uuid(t).unwrap()), t);
        assert!(parse_uuid("nope").is_none());
    }
}
