//! Client request metrics: how many CQL requests ran, how they failed and how long
//! they took, by kind (read, write, schema, other) and consistency level — what
//! Cassandra's `ClientRequest` metrics report per scope and CL.
//!
//! Latencies go into fixed buckets ([`BUCKET_BOUNDS_US`]) of atomic counters, so
//! recording costs a few relaxed increments and never allocates or locks; `/metrics`
//! renders them as Prometheus histograms (`sibyl_client_request_latency_seconds`).
//! The latency is the server's: from the request's dispatch to its response being
//! ready, not including the network or the client's queueing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sibyl_cql::protocol::Consistency;

use crate::admin::{MetricKind, MetricsSource, MetricsWriter};

/// Upper bounds (µs) of the latency buckets: 100 µs to 10 s, roughly ×2.5 apart —
/// fine enough to tell a memtable hit from a disk read from a timeout, few enough
/// that every (kind, CL) pair costs ~150 bytes.
pub const BUCKET_BOUNDS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// What a request did, for the `kind` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    Read,
    Write,
    Schema,
    Other,
}

impl RequestKind {
    const ALL: [RequestKind; 4] = [
        RequestKind::Read,
        RequestKind::Write,
        RequestKind::Schema,
        RequestKind::Other,
    ];

    fn name(self) -> &'static str {
        match self {
            RequestKind::Read => "read",
            RequestKind::Write => "write",
            RequestKind::Schema => "schema",
            RequestKind::Other => "other",
        }
    }
}

const LEVELS: usize = Consistency::ALL_LEVELS.len();

#[derive(Default)]
struct Cell {
    count: AtomicU64,
    errors: AtomicU64,
    sum_us: AtomicU64,
    /// Counts per bucket (not cumulative); the last is above every bound.
    buckets: [AtomicU64; BUCKET_BOUNDS_US.len() + 1],
}

/// The counters, one cell per (kind, consistency).
#[derive(Default)]
pub struct ClientRequestMetrics {
    cells: [[Cell; LEVELS]; RequestKind::ALL.len()],
}

impl ClientRequestMetrics {
    /// Records one request.
    pub fn record(&self, kind: RequestKind, cl: Consistency, took: Duration, failed: bool) {
        let cell = &self.cells[kind as usize][usize::from(cl.code())];
        let us = took.as_micros().min(u128::from(u64::MAX)) as u64;
        cell.count.fetch_add(1, Ordering::Relaxed);
        cell.sum_us.fetch_add(us, Ordering::Relaxed);
        if failed {
            cell.errors.fetch_add(1, Ordering::Relaxed);
        }
        let b = BUCKET_BOUNDS_US.partition_point(|bound| *bound < us);
        cell.buckets[b].fetch_add(1, Ordering::Relaxed);
    }
}

impl MetricsSource for ClientRequestMetrics {
    fn collect(&self, out: &mut MetricsWriter) {
        const LATENCY: &str = "sibyl_client_request_latency_seconds";
        const HELP: &str = "CQL request latency at the server, by kind and consistency level";
        for kind in RequestKind::ALL {
            for cl in Consistency::ALL_LEVELS {
                let cell = &self.cells[kind as usize][usize::from(cl.code())];
                let count = cell.count.load(Ordering::Relaxed);
                if count == 0 {
                    continue;
                }
                let labels = [("kind", kind.name()), ("consistency", cl.name())];
                let mut cumulative = 0;
                for (i, bucket) in cell.buckets.iter().enumerate() {
                    cumulative += bucket.load(Ordering::Relaxed);
                    let le = BUCKET_BOUNDS_US
                        .get(i)
                        .map_or_else(|| "+Inf".to_string(), |us| format!("{}", *us as f64 / 1e6));
                    let l = [labels[0], labels[1], ("le", le.as_str())];
                    out.sample(
                        &format!("{LATENCY}_bucket"),
                        HELP,
                        MetricKind::Histogram,
                        &l,
                        cumulative as f64,
                    );
                }
                out.sample(
                    &format!("{LATENCY}_sum"),
                    HELP,
                    MetricKind::Histogram,
                    &labels,
                    cell.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
                );
                out.sample(
                    &format!("{LATENCY}_count"),
                    HELP,
                    MetricKind::Histogram,
                    &labels,
                    count as f64,
                );
                out.sample(
                    "sibyl_client_request_errors_total",
                    "CQL requests answered with an error, by kind and consistency level",
                    MetricKind::Counter,
                    &labels,
                    cell.errors.load(Ordering::Relaxed) as f64,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets_per_kind_and_level() {
        // Checks bucket placement (a bound is inclusive), cumulative counts, +Inf,
        // _sum/_count, errors, and that unused (kind, CL) pairs are not rendered.
        let m = ClientRequestMetrics::default();
        m.record(
            RequestKind::Read,
            Consistency::LocalQuorum,
            Duration::from_micros(100),
            false,
        );
        m.record(
            RequestKind::Read,
            Consistency::LocalQuorum,
            Duration::from_micros(300),
            true,
        );
        m.record(
            RequestKind::Read,
            Consistency::LocalQuorum,
            Duration::from_secs(20),
            false,
        );
        let mut w = MetricsWriter::new();
        m.collect(&mut w);
        let text = w.finish();
        let l = "kind=\"read\",consistency=\"LOCAL_QUORUM\"";
        assert!(
            text.contains("# TYPE sibyl_client_request_latency_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{l},le=\"0.0001\"}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{l},le=\"0.00025\"}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{l},le=\"0.0005\"}} 2\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{l},le=\"10\"}} 2\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{l},le=\"+Inf\"}} 3\n")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "sibyl_client_request_latency_seconds_count{{{l}}} 3\n"
        )));
        assert!(text.contains(&format!("sibyl_client_request_errors_total{{{l}}} 1\n")));
        assert!(!text.contains("kind=\"write\""));
    }
}
