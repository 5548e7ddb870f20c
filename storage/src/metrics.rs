//! Latency histograms for table statistics (nodetool tablestats later).
//!
//! Fixed log-linear buckets over microseconds (four sub-buckets per power of two,
//! up to ~1 hour), lock-free counters: recording is one atomic add. Percentiles are
//! estimated as the upper edge of the bucket where they fall (≤ 19 % error).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two.
const SUB: usize = 4;
/// Powers of two covered: 2^32 µs ≈ 71 minutes.
const POWERS: usize = 32;
const BUCKETS: usize = SUB * POWERS;

/// A lock-free latency histogram.
pub struct LatencyHistogram {
    counts: Vec<AtomicU64>,
    total: AtomicU64,
    sum_us: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let p = 63 - us.leading_zeros() as usize;
    let frac = ((us >> (p.saturating_sub(2))) & 3) as usize;
    ((p - 1) * SUB + frac).min(BUCKETS - 1)
}

fn upper_edge(b: usize) -> u64 {
    if b < SUB {
        return b as u64 + 1;
    }
    let p = b / SUB + 1;
    let frac = (b % SUB) as u64;
    (1u64 << p) + (frac + 1) * (1u64 << (p - 2))
}

impl LatencyHistogram {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        if let Some(c) = self.counts.get(bucket_of(us)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub fn mean_us(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            0.0
        } else {
            self.sum_us.load(Ordering::Relaxed) as f64 / n as f64
        }
    }

    /// Estimated `q`-quantile (0..=1) in microseconds.
    pub fn percentile_us(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let target = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= target {
                return upper_edge(b);
            }
        }
        upper_edge(BUCKETS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_fall_in_the_right_bucket() {
        // Checks recorded latencies give percentiles within one bucket (<= 25 % above).
        let h = LatencyHistogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.percentile_us(0.5);
        assert!((500..=640).contains(&p50), "p50 {p50}");
        let p99 = h.percentile_us(0.99);
        assert!((990..=1280).contains(&p99), "p99 {p99}");
        assert_eq!(h.count(), 1000);
    }

    #[test]
    fn bucket_edges_are_monotonic() {
        // Checks each value lies below its bucket's upper edge and buckets increase with value.
        let mut last = 0;
        for us in [0u64, 1, 3, 4, 5, 7, 8, 100, 1 << 20, u64::MAX >> 1] {
            let b = bucket_of(us);
            assert!(b >= last);
            last = b;
            if b < BUCKETS - 1 {
                assert!(
                    us < upper_edge(b),
                    "{us} in bucket {b} edge {}",
                    upper_edge(b)
                );
            }
        }
    }
}
