//! One configuration file applied over the layers below it: the YAML walked key by
//! key, each value checked for its type, unit and range, and every refusal worded as
//! `FILE:LINE: key: expected WHAT, got VALUE`.
//!
//! Keys are Cassandra's names (`KEYS`); the pre-4.1 names with the unit in the key
//! are converted (`LEGACY_KEYS`), and giving both spellings of one setting is
//! refused, as Cassandra does. A key the file does not mention keeps the value of
//! the layer below.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::units::{self, DURATION_EXPECTED, RATE_EXPECTED, SIZE_EXPECTED};
use super::{
    parse_ip, CommitlogSync, ConfigError, Layers, Place, Seed, Snitch,
    MAX_NATIVE_MAX_FRAME_SIZE_BYTES, MAX_NUM_TOKENS, MIN_MEMTABLE_SPACE_BYTES,
    MIN_NATIVE_MAX_FRAME_SIZE_BYTES, PHI_CONVICT_THRESHOLD_RANGE,
};

/// Every key a file may set, in the order of `conf/sibyl.yaml`.
pub const KEYS: &[&str] = &[
    "cluster_name",
    "num_tokens",
    "seed_provider",
    "listen_address",
    "rpc_address",
    "admin_address",
    "storage_port",
    "native_transport_port",
    "native_transport_max_connections",
    "native_transport_max_frame_size",
    "admin_port",
    "debug_endpoints",
    "endpoint_snitch",
    "dc",
    "rack",
    "phi_convict_threshold",
    "data_file_directories",
    "commitlog_directory",
    "commitlog_sync",
    "commitlog_sync_period",
    "commitlog_sync_group_window",
    "commitlog_segment_size",
    "memtable_heap_space",
    "compaction_throughput",
    "file_cache_size",
    "read_request_timeout",
    "write_request_timeout",
    "range_request_timeout",
    "hinted_handoff_enabled",
    "max_hint_window",
    "tombstone_warn_threshold",
    "tombstone_failure_threshold",
];

/// The unit a pre-4.1 key carried in its name.
#[derive(Clone, Copy)]
enum LegacyUnit {
    Millis,
    Mebibytes,
    MebibytesPerSec,
}

/// Cassandra's pre-4.1 names: (old name, new name, the unit the old number is in).
const LEGACY_KEYS: &[(&str, &str, LegacyUnit)] = &[
    (
        "commitlog_sync_period_in_ms",
        "commitlog_sync_period",
        LegacyUnit::Millis,
    ),
    (
        "commitlog_sync_group_window_in_ms",
        "commitlog_sync_group_window",
        LegacyUnit::Millis,
    ),
    (
        "commitlog_segment_size_in_mb",
        "commitlog_segment_size",
        LegacyUnit::Mebibytes,
    ),
    (
        "native_transport_max_frame_size_in_mb",
        "native_transport_max_frame_size",
        LegacyUnit::Mebibytes,
    ),
    (
        "memtable_heap_space_in_mb",
        "memtable_heap_space",
        LegacyUnit::Mebibytes,
    ),
    (
        "compaction_throughput_mb_per_sec",
        "compaction_throughput",
        LegacyUnit::MebibytesPerSec,
    ),
    (
        "file_cache_size_in_mb",
        "file_cache_size",
        LegacyUnit::Mebibytes,
    ),
    (
        "read_request_timeout_in_ms",
        "read_request_timeout",
        LegacyUnit::Millis,
    ),
    (
        "write_request_timeout_in_ms",
        "write_request_timeout",
        LegacyUnit::Millis,
    ),
    (
        "range_request_timeout_in_ms",
        "range_request_timeout",
        LegacyUnit::Millis,
    ),
    (
        "max_hint_window_in_ms",
        "max_hint_window",
        LegacyUnit::Millis,
    ),
];

/// The seed provider Cassandra ships and the only one Sibyl has.
const SIMPLE_SEED_PROVIDER: &str = "org.apache.cassandra.locator.SimpleSeedProvider";

/// The package Cassandra assumes for a snitch or seed provider named without one.
const LOCATOR_PACKAGE: &str = "org.apache.cassandra.locator.";

/// Edit distance under which an unknown key is offered a suggestion: catches a
/// dropped, doubled or swapped letter without suggesting unrelated keys.
const SUGGESTION_DISTANCE_MAX: usize = 2;

/// Applies the YAML `text` (named `origin` in messages) over `layers`.
pub(super) fn apply(layers: &mut Layers, text: &str, origin: &str) -> Result<(), ConfigError> {
    let at = |line: usize, message: String| ConfigError {
        origin: Some(origin.to_string()),
        line: Some(line),
        message,
    };
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        at(
            e.marker().line(),
            format!(
                "not valid YAML: {} (column {})",
                e.info(),
                e.marker().col() + 1
            ),
        )
    })?;
    let doc = match docs.as_slice() {
        [] => return Ok(()),
        [doc] => doc,
        [_, second, ..] => {
            return Err(at(
                second.span.start.line(),
                format!("holds {} YAML documents; expected one", docs.len()),
            ))
        }
    };
    let mapping = match &doc.data {
        YamlData::Mapping(m) => m,
        YamlData::Value(Scalar::Null) => return Ok(()),
        _ => {
            return Err(at(
                doc.span.start.line(),
                format!(
                    "expected keys with values at the top level, got {}",
                    describe(doc)
                ),
            ))
        }
    };
    // Which spelling set each setting, to refuse a file that gives both.
    let mut seen: HashMap<&str, String> = HashMap::new();
    for (k, v) in mapping {
        let line = k.span.start.line();
        let YamlData::Value(Scalar::String(key)) = &k.data else {
            return Err(at(
                line,
                format!("expected a key name, got {}", describe(k)),
            ));
        };
        let key: &str = key;
        let place = Place {
            origin: origin.to_string(),
            line,
        };
        let (name, value) = match LEGACY_KEYS.iter().find(|(old, _, _)| *old == key) {
            Some((_, new, unit)) => (
                *new,
                legacy_value(v, *unit).map_err(|e| at(line, format!("{key}: {e}")))?,
            ),
            None => (key, v.clone()),
        };
        let Some(canonical) = KEYS.iter().find(|k| **k == name) else {
            return Err(at(line, unknown_key(key)));
        };
        if let Some(other) = seen.insert(canonical, key.to_string()) {
            return Err(at(
                line,
                format!("{other} and {key} are the same setting; give one of them"),
            ));
        }
        set(layers, canonical, &value, &place).map_err(|e| at(line, format!("{key}: {e}")))?;
    }
    Ok(())
}

/// A pre-4.1 value (a plain number of the key's unit) as the 4.1 spelling.
fn legacy_value(v: &MarkedYaml<'_>, unit: LegacyUnit) -> Result<MarkedYaml<'static>, String> {
    let (expected, suffix) = match unit {
        LegacyUnit::Millis => ("a number of milliseconds", "ms"),
        LegacyUnit::Mebibytes => ("a number of mebibytes", "MiB"),
        LegacyUnit::MebibytesPerSec => ("a number of mebibytes per second", "MiB/s"),
    };
    match &v.data {
        YamlData::Value(Scalar::Integer(n)) if *n >= 0 => {
            Ok(MarkedYaml::scalar_from_string(format!("{n}{suffix}")))
        }
        _ => Err(format!("expected {expected}, got {}", describe(v))),
    }
}

/// `unknown key 'x'`, with the nearest known key when one is close.
fn unknown_key(key: &str) -> String {
    let nearest = KEYS
        .iter()
        .chain(LEGACY_KEYS.iter().map(|(old, _, _)| old))
        .map(|k| (edit_distance(key, k), *k))
        .min();
    match nearest {
        Some((d, k)) if d <= SUGGESTION_DISTANCE_MAX => {
            format!("unknown key '{key}' (did you mean '{k}'?)")
        }
        _ => format!("unknown key '{key}'"),
    }
}

/// Levenshtein distance (keys are short ASCII; quadratic is fine).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Sets one key; the error is `expected ..., got ...` (the caller adds where and which key).
fn set(layers: &mut Layers, key: &str, v: &MarkedYaml<'_>, place: &Place) -> Result<(), String> {
    let c = &mut layers.config;
    match key {
        "cluster_name" => c.cluster_name = text(v, "a cluster name")?,
        "num_tokens" => c.num_tokens = integer_in(v, 1, MAX_NUM_TOKENS as i64)? as usize,
        "seed_provider" => {
            c.seeds = seed_provider(v)?;
            layers.seeds_set = place.origin != super::EMBEDDED_ORIGIN;
        }
        "listen_address" => c.listen_address = address(v)?,
        "rpc_address" => layers.rpc_address = Some(address(v)?),
        "admin_address" => layers.admin_address = Some(address(v)?),
        "storage_port" => c.storage_port = port(v)?,
        "native_transport_port" => c.native_transport_port = port(v)?,
        "native_transport_max_connections" => {
            c.native_transport_max_connections = integer_in(v, 1, i64::from(u32::MAX))? as usize
        }
        "native_transport_max_frame_size" => {
            let bytes = size_in(
                v,
                MIN_NATIVE_MAX_FRAME_SIZE_BYTES,
                MAX_NATIVE_MAX_FRAME_SIZE_BYTES,
            )?;
            c.native_transport_max_frame_size_bytes =
                u32::try_from(bytes).map_err(|_| "too large".to_string())?;
        }
        "admin_port" => c.admin_port = port(v)?,
        "debug_endpoints" => c.debug_endpoints = boolean(v)?,
        "endpoint_snitch" => c.endpoint_snitch = snitch(v)?,
        "dc" => layers.dc = Some((text(v, "a datacenter name")?, place.clone())),
        "rack" => layers.rack = Some((text(v, "a rack name")?, place.clone())),
        "phi_convict_threshold" => c.phi_convict_threshold = phi(v)?,
        "data_file_directories" => layers.data_dir = Some(data_file_directories(v)?),
        "commitlog_directory" => layers.commitlog_dir = Some(directory(v)?),
        "commitlog_sync" => c.commitlog_sync = commitlog_sync(v)?,
        "commitlog_sync_period" => {
            c.commitlog_sync_period = duration_at_least(v, Duration::from_millis(1))?
        }
        "commitlog_sync_group_window" => {
            c.commitlog_sync_group_window = duration_at_least(v, Duration::from_millis(1))?
        }
        "commitlog_segment_size" => {
            c.commitlog_segment_size_bytes = size_in(
                v,
                sibyl_storage::commitlog::MIN_SEGMENT_SIZE_BYTES,
                sibyl_storage::commitlog::MAX_SEGMENT_SIZE_BYTES,
            )?
        }
        "memtable_heap_space" => {
            c.memtable_heap_space_bytes = Some(size_in(v, MIN_MEMTABLE_SPACE_BYTES, u64::MAX)?)
        }
        "compaction_throughput" => c.compaction_throughput_bytes_per_sec = rate(v)?,
        "file_cache_size" => c.file_cache_size_bytes = size_in(v, 0, u64::MAX)?,
        "read_request_timeout" => {
            c.read_request_timeout = duration_at_least(v, Duration::from_millis(1))?
        }
        "write_request_timeout" => {
            c.write_request_timeout = duration_at_least(v, Duration::from_millis(1))?
        }
        "range_request_timeout" => {
            c.range_request_timeout = duration_at_least(v, Duration::from_millis(1))?
        }
        "hinted_handoff_enabled" => c.hinted_handoff_enabled = boolean(v)?,
        "max_hint_window" => c.max_hint_window = duration_at_least(v, Duration::ZERO)?,
        "tombstone_warn_threshold" => {
            c.tombstone_warn_threshold = integer_in(v, 0, i64::from(u32::MAX))? as u32
        }
        "tombstone_failure_threshold" => {
            c.tombstone_failure_threshold = integer_in(v, 0, i64::from(u32::MAX))? as u32
        }
        other => unreachable!("key {other} is in KEYS but has no setter"),
    }
    Ok(())
}

/// How a value reads in `got ...`.
fn describe(v: &MarkedYaml<'_>) -> String {
    match &v.data {
        YamlData::Value(Scalar::Null) => "nothing".into(),
        YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
        YamlData::Value(Scalar::Integer(i)) => i.to_string(),
        YamlData::Value(Scalar::FloatingPoint(f)) => f.to_string(),
        YamlData::Value(Scalar::String(s)) => format!("{:?}", s.as_ref()),
        YamlData::Sequence(_) => "a list".into(),
        YamlData::Mapping(_) => "a mapping".into(),
        YamlData::Tagged(tag, inner) => format!("{} tagged {tag}", describe(inner)),
        YamlData::Alias(_) => "an alias (not supported)".into(),
        YamlData::Representation(s, _, _) => format!("{:?}", s.as_ref()),
        YamlData::BadValue => "a value that does not match its tag".into(),
    }
}

fn expected(what: &str, v: &MarkedYaml<'_>) -> String {
    format!("expected {what}, got {}", describe(v))
}

/// A non-empty string.
fn text(v: &MarkedYaml<'_>, what: &str) -> Result<String, String> {
    match &v.data {
        YamlData::Value(Scalar::String(s)) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(expected(what, v)),
    }
}

fn integer_in(v: &MarkedYaml<'_>, min: i64, max: i64) -> Result<i64, String> {
    match &v.data {
        YamlData::Value(Scalar::Integer(n)) if (min..=max).contains(n) => Ok(*n),
        _ => Err(expected(&format!("an integer from {min} to {max}"), v)),
    }
}

fn port(v: &MarkedYaml<'_>) -> Result<u16, String> {
    match &v.data {
        YamlData::Value(Scalar::Integer(n)) => u16::try_from(*n).ok(),
        _ => None,
    }
    .ok_or_else(|| expected("a port number from 0 to 65535", v))
}

fn boolean(v: &MarkedYaml<'_>) -> Result<bool, String> {
    match &v.data {
        YamlData::Value(Scalar::Boolean(b)) => Ok(*b),
        _ => Err(expected("true or false", v)),
    }
}

/// The string of a unit-bearing value (`10s`); a bare number gets a hint about units.
fn unit_text<'a>(v: &'a MarkedYaml<'_>, what: &str) -> Result<&'a str, String> {
    match &v.data {
        YamlData::Value(Scalar::String(s)) => Ok(s.as_ref()),
        YamlData::Value(Scalar::Integer(_)) => Err(format!(
            "{} (Cassandra 4.1 values carry their unit)",
            expected(what, v)
        )),
        _ => Err(expected(what, v)),
    }
}

fn duration_at_least(v: &MarkedYaml<'_>, min: Duration) -> Result<Duration, String> {
    let d = units::parse_duration(unit_text(v, DURATION_EXPECTED)?)
        .ok_or_else(|| expected(DURATION_EXPECTED, v))?;
    if d < min {
        return Err(format!("expected at least {min:?}, got {}", describe(v)));
    }
    Ok(d)
}

fn size_in(v: &MarkedYaml<'_>, min: u64, max: u64) -> Result<u64, String> {
    let bytes = units::parse_size(unit_text(v, SIZE_EXPECTED)?)
        .ok_or_else(|| expected(SIZE_EXPECTED, v))?;
    if bytes < min || bytes > max {
        let range = if max == u64::MAX {
            format!("at least {}", units::format_size(min))
        } else {
            format!(
                "from {} to {}",
                units::format_size(min),
                units::format_size(max)
            )
        };
        return Err(format!("expected a size {range}, got {}", describe(v)));
    }
    Ok(bytes)
}

fn rate(v: &MarkedYaml<'_>) -> Result<u64, String> {
    units::parse_rate(unit_text(v, RATE_EXPECTED)?).ok_or_else(|| expected(RATE_EXPECTED, v))
}

/// An IP address other nodes and clients can reach: not the wildcard, which
/// Cassandra refuses for `listen_address` and which Sibyl would report to drivers.
fn address(v: &MarkedYaml<'_>) -> Result<std::net::IpAddr, String> {
    let what = "an IP address such as 127.0.0.1";
    let YamlData::Value(Scalar::String(s)) = &v.data else {
        return Err(expected(what, v));
    };
    let ip = parse_ip(s).ok_or_else(|| expected(what, v))?;
    if ip.is_unspecified() {
        return Err(format!(
            "expected the address this node is reached at, got the wildcard {}",
            describe(v)
        ));
    }
    Ok(ip)
}

fn commitlog_sync(v: &MarkedYaml<'_>) -> Result<CommitlogSync, String> {
    match &v.data {
        YamlData::Value(Scalar::String(s)) => CommitlogSync::from_name(s),
        _ => None,
    }
    .ok_or_else(|| expected("periodic, group or batch", v))
}

/// `SimpleSnitch` or `GossipingPropertyFileSnitch`, with or without Cassandra's package.
fn snitch(v: &MarkedYaml<'_>) -> Result<Snitch, String> {
    let name = match &v.data {
        YamlData::Value(Scalar::String(s)) => s.strip_prefix(LOCATOR_PACKAGE).unwrap_or(s),
        _ => "",
    };
    match name {
        "SimpleSnitch" => Ok(Snitch::SimpleSnitch),
        "GossipingPropertyFileSnitch" => Ok(Snitch::GossipingPropertyFileSnitch),
        _ => Err(expected("SimpleSnitch or GossipingPropertyFileSnitch", v)),
    }
}

fn phi(v: &MarkedYaml<'_>) -> Result<f64, String> {
    let value = match &v.data {
        YamlData::Value(Scalar::Integer(n)) => Some(*n as f64),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.into_inner()),
        _ => None,
    };
    let (lo, hi) = (
        PHI_CONVICT_THRESHOLD_RANGE.start(),
        PHI_CONVICT_THRESHOLD_RANGE.end(),
    );
    value
        .filter(|f| PHI_CONVICT_THRESHOLD_RANGE.contains(f))
        .ok_or_else(|| expected(&format!("a number from {lo} to {hi}"), v))
}

fn directory(v: &MarkedYaml<'_>) -> Result<PathBuf, String> {
    text(v, "a directory").map(PathBuf::from)
}

/// A list of exactly one directory: Sibyl keeps all sstables in one (Cassandra
/// spreads them over several; JBOD is not built).
fn data_file_directories(v: &MarkedYaml<'_>) -> Result<PathBuf, String> {
    match &v.data {
        YamlData::Sequence(dirs) if dirs.len() == 1 => directory(&dirs[0]),
        YamlData::Sequence(dirs) if dirs.len() > 1 => Err(format!(
            "Sibyl supports one data directory, got {}",
            dirs.len()
        )),
        _ => Err(expected("a list of one directory (- data/data)", v)),
    }
}

/// Cassandra's shape:
/// ```yaml
/// seed_provider:
///   - class_name: org.apache.cassandra.locator.SimpleSeedProvider
///     parameters:
///       - seeds: "127.0.0.1:7000"
/// ```
fn seed_provider(v: &MarkedYaml<'_>) -> Result<Vec<Seed>, String> {
    let shape = "a list of one class_name with its parameters (see conf/sibyl.yaml)";
    let provider = match &v.data {
        YamlData::Sequence(items) if items.len() == 1 => &items[0],
        _ => return Err(expected(shape, v)),
    };
    let class_name = entry(provider, "class_name", shape)?;
    let class = text(class_name, "a class name")?;
    if class != SIMPLE_SEED_PROVIDER && class != "SimpleSeedProvider" {
        return Err(format!(
            "class_name: expected {SIMPLE_SEED_PROVIDER}, got {}",
            describe(class_name)
        ));
    }
    let parameters = entry(provider, "parameters", shape)?;
    let YamlData::Sequence(params) = &parameters.data else {
        return Err(format!(
            "parameters: {}",
            expected("a list with one seeds entry", parameters)
        ));
    };
    let [params] = params.as_slice() else {
        return Err(format!(
            "parameters: {}",
            expected("a list with one seeds entry", parameters)
        ));
    };
    let seeds = entry(params, "seeds", "a seeds entry")?;
    let list = text(seeds, "a comma-separated list of seed addresses")
        .map_err(|e| format!("seeds: {e}"))?;
    Seed::parse_list(&list).map_err(|e| format!("seeds: {e}"))
}

/// The value of `key` in the mapping `m`, refusing keys other than `allowed`.
fn entry<'a, 'i>(
    m: &'a MarkedYaml<'i>,
    key: &str,
    shape: &str,
) -> Result<&'a MarkedYaml<'i>, String> {
    let YamlData::Mapping(map) = &m.data else {
        return Err(expected(shape, m));
    };
    for k in map.keys() {
        let name = match &k.data {
            YamlData::Value(Scalar::String(s)) => s.as_ref(),
            _ => "",
        };
        if !["class_name", "parameters", "seeds"].contains(&name) {
            return Err(format!("unknown key {}", describe(k)));
        }
    }
    map.iter()
        .find(|(k, _)| matches!(&k.data, YamlData::Value(Scalar::String(s)) if s == key))
        .map(|(_, v)| v)
        .ok_or_else(|| format!("missing {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("comitlog_sync", "commitlog_sync"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("ab", "ba"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
