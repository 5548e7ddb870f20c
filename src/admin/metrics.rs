//! `GET /metrics`: the node's numbers in the Prometheus text exposition format
//! (version 0.0.4), gathered from [`MetricsSource`]s at scrape time.
//!
//! Nothing is pre-aggregated or cached: each scrape asks every source, and each
//! source reads the counters its subsystem already keeps (the storage engine's
//! per-table statistics, the commitlog's, the cluster view's gossip counters and
//! phi values). A scrape therefore costs a walk over the tables, which is what
//! `nodetool tablestats` costs too.
//!
//! Sources are a seam: the node registers the storage and cluster sources at start;
//! a subsystem written later (the messaging layer's dropped-message counters,
//! hints) implements [`MetricsSource`] and is added with
//! [`crate::node::Node::register_metrics_source`], without this module knowing it.
//!
//! Names follow Prometheus conventions: a `sibyl_` prefix, the unit last
//! (`_bytes`, `_seconds`), `_total` on counters. Latencies are summaries in seconds
//! with the quantiles the storage histograms estimate (0.5, 0.99) and a `_count`;
//! no `_sum` is kept by the storage engine, so none is exported.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use sibyl_storage::Storage;

use crate::cluster::{ClusterView, Liveness};
use crate::schema::SchemaManager;

/// The kind of a metric family (`# TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Summary,
    /// Cumulative `_bucket{le=...}` samples with `_sum` and `_count`.
    Histogram,
    Untyped,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Summary => "summary",
            MetricKind::Histogram => "histogram",
            MetricKind::Untyped => "untyped",
        }
    }
}

/// Builds an exposition: `# HELP`/`# TYPE` once per family, then samples.
#[derive(Default)]
pub struct MetricsWriter {
    out: String,
    declared: HashSet<String>,
}

impl MetricsWriter {
    pub fn new() -> MetricsWriter {
        MetricsWriter::default()
    }

    /// Declares family `name` (once; later declarations are ignored) and writes one
    /// sample of it. `name` is sanitised to `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub fn sample(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricKind,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let name = sanitize_name(name);
        // A summary's `_count` belongs to the family declared without the suffix.
        let family = match kind {
            MetricKind::Summary => name.strip_suffix("_count").unwrap_or(&name).to_string(),
            MetricKind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name)
                .to_string(),
            _ => name.clone(),
        };
        if self.declared.insert(family.clone()) {
            let _ = writeln!(self.out, "# HELP {family} {}", escape_help(help));
            let _ = writeln!(self.out, "# TYPE {family} {}", kind.as_str());
        }
        self.out.push_str(&name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{}=\"{}\"", sanitize_name(k), escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_value(value));
    }

    /// The exposition text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A provider of metrics, asked on every scrape. Implementations must be cheap and
/// must not block on I/O: they run on the admin server's blocking pool thread while
/// a scraper waits.
pub trait MetricsSource: Send + Sync {
    fn collect(&self, out: &mut MetricsWriter);
}

fn sanitize_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Microseconds as seconds.
fn us_to_s(us: u64) -> f64 {
    us as f64 / 1_000_000.0
}

/// Per-table storage metrics, the commitlog's, and compactions in flight.
pub struct StorageMetrics {
    pub storage: Arc<Storage>,
    pub schema: Arc<SchemaManager>,
}

impl MetricsSource for StorageMetrics {
    fn collect(&self, out: &mut MetricsWriter) {
        let names = super::routes::table_names(&self.schema);
        let mut active = 0usize;
        let mut active_bytes = 0u64;
        for table in self.storage.tables() {
            let (ks, name) = names.get(&table.id.0).cloned().unwrap_or_else(|| {
                let n = table.name();
                let (k, t) = n.split_once('.').unwrap_or(("", n));
                (k.to_string(), t.to_string())
            });
            let l = [("keyspace", ks.as_str()), ("table", name.as_str())];
            let s = table.stats();
            use MetricKind::*;
            let gauges: [(&str, &str, f64); 6] = [
                (
                    "sibyl_table_memtable_bytes",
                    "Bytes held by the table's current memtable.",
                    s.memtable_bytes as f64,
                ),
                (
                    "sibyl_table_memtable_data_bytes",
                    "Bytes of cell data in the current memtable.",
                    s.memtable_data_bytes as f64,
                ),
                (
                    "sibyl_table_sstables",
                    "Live sstables of the table.",
                    s.sstable_count as f64,
                ),
                (
                    "sibyl_table_live_disk_bytes",
                    "Bytes on disk of the table's live sstables.",
                    s.space_used_live as f64,
                ),
                (
                    "sibyl_table_partitions_estimate",
                    "Estimated partitions (sstables plus memtable).",
                    s.partitions_estimate as f64,
                ),
                (
                    "sibyl_table_pending_flushes",
                    "Memtables switched out and not yet flushed.",
                    s.pending_flushes as f64,
                ),
            ];
            for (n, h, v) in gauges {
                out.sample(n, h, Gauge, &l, v);
            }
            let counters: [(&str, &str, f64); 6] = [
                (
                    "sibyl_table_reads_total",
                    "Local reads served by the table.",
                    s.read_count as f64,
                ),
                (
                    "sibyl_table_writes_total",
                    "Local writes applied to the table.",
                    s.write_count as f64,
                ),
                (
                    "sibyl_table_bloom_filter_false_positives_total",
                    "Bloom filter hits that found no partition.",
                    s.bloom_false_positives as f64,
                ),
                (
                    "sibyl_table_tombstones_scanned_total",
                    "Tombstones read while answering queries.",
                    s.tombstones_scanned as f64,
                ),
                (
                    "sibyl_table_compactions_total",
                    "Compactions completed on the table.",
                    s.compactions_completed as f64,
                ),
                (
                    "sibyl_table_blocks_read_total",
                    "Sstable blocks read.",
                    s.blocks_read as f64,
                ),
            ];
            for (n, h, v) in counters {
                out.sample(n, h, Counter, &l, v);
            }
            out.sample(
                "sibyl_table_unreadable_sstables",
                "Sstables that failed to open and were set aside.",
                Gauge,
                &l,
                s.unreadable_sstables as f64,
            );
            for (op, count, p50, p99) in [
                (
                    "read",
                    s.read_count,
                    s.read_latency_p50_us,
                    s.read_latency_p99_us,
                ),
                (
                    "write",
                    s.write_count,
                    s.write_latency_p50_us,
                    s.write_latency_p99_us,
                ),
            ] {
                let name = format!("sibyl_table_{op}_latency_seconds");
                let help = format!("Local {op} latency (bucket upper edges, within 25%).");
                for (q, v) in [("0.5", p50), ("0.99", p99)] {
                    let lq = [l[0], l[1], ("quantile", q)];
                    out.sample(&name, &help, Summary, &lq, us_to_s(v));
                }
                out.sample(&format!("{name}_count"), &help, Summary, &l, count as f64);
            }
            if let Some((_, bytes)) = table.compaction_in_progress() {
                active += 1;
                active_bytes += bytes;
            }
        }
        out.sample(
            "sibyl_compactions_active",
            "Compactions running now.",
            MetricKind::Gauge,
            &[],
            active as f64,
        );
        out.sample(
            "sibyl_compaction_input_bytes",
            "Bytes of the sstables being compacted now.",
            MetricKind::Gauge,
            &[],
            active_bytes as f64,
        );
        let c = self.storage.commitlog_stats();
        let cl: [(&str, &str, MetricKind, f64); 6] = [
            (
                "sibyl_commitlog_appends_total",
                "Records appended to the commitlog.",
                MetricKind::Counter,
                c.appends as f64,
            ),
            (
                "sibyl_commitlog_payload_bytes_total",
                "Payload bytes appended to the commitlog.",
                MetricKind::Counter,
                c.payload_bytes as f64,
            ),
            (
                "sibyl_commitlog_fsyncs_total",
                "Commitlog sync rounds that synced data.",
                MetricKind::Counter,
                c.fsyncs as f64,
            ),
            (
                "sibyl_commitlog_synced_appends_total",
                "Appends whose acknowledgement waited for a sync.",
                MetricKind::Counter,
                c.synced_appends as f64,
            ),
            (
                "sibyl_commitlog_segments",
                "Commitlog segment files kept.",
                MetricKind::Gauge,
                c.segments as f64,
            ),
            (
                "sibyl_commitlog_segment_bytes",
                "Bytes of the commitlog segment files.",
                MetricKind::Gauge,
                c.segment_bytes as f64,
            ),
        ];
        for (n, h, k, v) in cl {
            out.sample(n, h, k, &[], v);
        }
    }
}

/// What the cluster view knows: gossip's own counters, and per endpoint its
/// liveness, phi and announced load.
pub struct ClusterMetrics {
    pub cluster: Arc<dyn ClusterView>,
}

impl MetricsSource for ClusterMetrics {
    fn collect(&self, out: &mut MetricsWriter) {
        let counters: BTreeMap<String, f64> = self.cluster.gossip_counters();
        for (name, value) in counters {
            let name = format!("sibyl_{name}");
            let kind = if name.ends_with("_total") {
                MetricKind::Counter
            } else {
                MetricKind::Untyped
            };
            out.sample(
                &name,
                "Gossip counter from the cluster view.",
                kind,
                &[],
                value,
            );
        }
        for ep in self.cluster.endpoints() {
            let addr = ep.endpoint.to_string();
            let l = [
                ("endpoint", addr.as_str()),
                ("datacenter", ep.datacenter.as_str()),
                ("rack", ep.rack.as_str()),
            ];
            let up = if ep.liveness == Liveness::Up {
                1.0
            } else {
                0.0
            };
            out.sample(
                "sibyl_endpoint_up",
                "1 if this node judges the endpoint up.",
                MetricKind::Gauge,
                &l,
                up,
            );
            if let Some(phi) = ep.phi {
                out.sample(
                    "sibyl_endpoint_phi",
                    "The failure detector's phi for the endpoint.",
                    MetricKind::Gauge,
                    &l,
                    phi,
                );
            }
            if let Some(load) = ep.load_bytes {
                out.sample(
                    "sibyl_endpoint_load_bytes",
                    "Bytes on disk the endpoint announced (LOAD).",
                    MetricKind::Gauge,
                    &l,
                    load,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_declared_once_and_labels_escaped() {
        // Checks HELP/TYPE appear once per family and label values are escaped.
        let mut w = MetricsWriter::new();
        w.sample(
            "a_total",
            "help",
            MetricKind::Counter,
            &[("k", "x\"y")],
            1.0,
        );
        w.sample("a_total", "help", MetricKind::Counter, &[("k", "z")], 2.5);
        w.sample(
            "lat",
            "h",
            MetricKind::Summary,
            &[("quantile", "0.5")],
            0.001,
        );
        w.sample("lat_count", "h", MetricKind::Summary, &[], 3.0);
        w.sample("9bad-name", "h", MetricKind::Gauge, &[], f64::NAN);
        let text = w.finish();
        assert_eq!(text.matches("# TYPE a_total counter").count(), 1);
        assert_eq!(text.matches("# TYPE lat summary").count(), 1);
        assert!(text.contains("a_total{k=\"x\\\"y\"} 1\n"), "{text}");
        assert!(text.contains("a_total{k=\"z\"} 2.5\n"));
        assert!(text.contains("lat_count 3\n"));
        assert!(text.contains("_9bad_name NaN\n"));
    }
}
