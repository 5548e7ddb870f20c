//! Measuring a stress run: latency histograms, the per-second progress line and
//! the final report (text or JSON).
//!
//! Workers record each operation's latency into one of [`RECORDER_SHARDS`]
//! HdrHistograms (Gil Tene's HdrHistogram, 3 significant digits, microseconds), one
//! per operation kind, behind a mutex that only workers of the same shard and the
//! once-a-second collector contend for. Each second the collector swaps the shards'
//! counts into an [`Interval`] (the progress line and a point of the plot) and adds
//! them to the run's totals, so the final percentiles are over every operation, not
//! an average of per-second percentiles.
//!
//! Latency under `--rate` is measured from when the operation was *scheduled*, not
//! from when it was sent (the coordinated-omission correction of wrk2 and
//! cassandra-stress): a stall delays every operation queued behind it, and each of
//! them is charged for its wait. The workers take that start time; this module only
//! counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::workload::OpKind;

/// Histogram shards: workers `i` and `i + RECORDER_SHARDS` share one. Enough that
/// two runtime threads rarely meet on a lock; each shard costs
/// `OpKind::ALL.len()` × ~140 KiB.
pub const RECORDER_SHARDS: usize = 16;

/// Highest latency recorded exactly (longer ones are recorded as this): a minute,
/// twice the driver's request timeout.
const LATENCY_MAX_US: u64 = 60_000_000;

/// HdrHistogram precision: 3 significant digits, 0.1 % error.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Distinct error messages kept for the report (the rest are only counted).
const ERROR_SAMPLES_MAX: usize = 5;

fn new_histogram() -> Histogram<u64> {
    // Bounds and precision are constants known to be valid.
    Histogram::new_with_bounds(1, LATENCY_MAX_US, SIGNIFICANT_DIGITS)
        .expect("valid histogram bounds")
}

type PerKind<T> = [T; OpKind::ALL.len()];

/// Where workers record; shared by all of them and the collector.
pub struct Recorder {
    shards: Vec<Mutex<PerKind<Histogram<u64>>>>,
    /// Under `--rate`: how late operations sent after their scheduled time were.
    lag_shards: Vec<Mutex<Histogram<u64>>>,
    errors: PerKind<AtomicU64>,
    misses: PerKind<AtomicU64>,
    error_samples: Mutex<Vec<String>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            shards: (0..RECORDER_SHARDS)
                .map(|_| Mutex::new(std::array::from_fn(|_| new_histogram())))
                .collect(),
            lag_shards: (0..RECORDER_SHARDS)
                .map(|_| Mutex::new(new_histogram()))
                .collect(),
            errors: Default::default(),
            misses: Default::default(),
            error_samples: Mutex::new(Vec::new()),
        }
    }

    /// A successful operation of worker `worker`; `found` is false for a read that
    /// found no row (counted as a miss, timed like any other read).
    pub fn record(&self, worker: usize, kind: OpKind, latency: Duration, found: bool) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        if !found {
            self.misses[kind as usize].fetch_add(1, Ordering::Relaxed);
        }
        let mut shard = lock(&self.shards[worker % RECORDER_SHARDS]);
        shard[kind as usize].saturating_record(us);
    }

    /// An operation of worker `worker` sent `lag` after its scheduled time.
    pub fn record_lag(&self, worker: usize, lag: Duration) {
        let us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX).max(1);
        lock(&self.lag_shards[worker % RECORDER_SHARDS]).saturating_record(us);
    }

    /// A failed operation: counted, not timed (a timeout would otherwise dominate).
    pub fn record_error(&self, kind: OpKind, message: String) {
        self.errors[kind as usize].fetch_add(1, Ordering::Relaxed);
        let mut samples = lock(&self.error_samples);
        if samples.len() < ERROR_SAMPLES_MAX && !samples.contains(&message) {
            samples.push(message);
        }
    }

    /// Moves the counts recorded since the last call into `into` (one per kind).
    fn drain(&self, into: &mut PerKind<Histogram<u64>>) {
        for shard in &self.shards {
            let mut shard = lock(shard);
            for (sum, h) in into.iter_mut().zip(shard.iter_mut()) {
                sum.add(&*h).expect("same bounds");
                h.reset();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked mid-record leaves a histogram that is still valid.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Latency percentiles in microseconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Latency {
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            mean_us: (h.mean() * 10.0).round() / 10.0,
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// One second (or the last, shorter stretch) of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Interval {
    /// Seconds from the start of the run to the end of this interval.
    pub end_s: f64,
    pub ops: u64,
    pub ops_per_s: f64,
    pub errors: u64,
    pub latency: Latency,
}

/// Totals for one kind of operation.
#[derive(Clone, Debug, Serialize)]
pub struct KindReport {
    /// The kind's name: read, write, scan or read-modify-write.
    pub op: String,
    pub ops: u64,
    pub errors: u64,
    /// Reads that found no row.
    pub misses: u64,
    pub ops_per_s: f64,
    pub latency: Latency,
}

/// What the run was asked to do (echoed in the report).
#[derive(Clone, Debug, Serialize)]
pub struct RunSettings {
    pub workload: String,
    pub target: String,
    pub consistency: String,
    pub threads: usize,
    pub connections: usize,
    pub concurrency: usize,
    pub rate_ops_per_s: Option<f64>,
    pub key_count: u64,
    pub value_size_bytes: usize,
}

/// The final report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub settings: RunSettings,
    pub duration_s: f64,
    /// Successful operations (errors are not counted here).
    pub ops: u64,
    pub errors: u64,
    pub misses: u64,
    pub ops_per_s: f64,
    pub latency: Latency,
    /// Per kind of operation, only the kinds the workload ran.
    pub by_op: Vec<KindReport>,
    pub error_samples: Vec<String>,
    /// Under `--rate`: operations sent after their scheduled time, and how late.
    pub late_ops: u64,
    pub schedule_lag: Option<Latency>,
    pub intervals: Vec<Interval>,
}

/// Folds the recorder's counts into intervals and totals; owned by the collector.
pub struct Collector {
    interval: PerKind<Histogram<u64>>,
    total: PerKind<Histogram<u64>>,
    errors_seen: PerKind<u64>,
    intervals: Vec<Interval>,
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

impl Collector {
    pub fn new() -> Collector {
        Collector {
            interval: std::array::from_fn(|_| new_histogram()),
            total: std::array::from_fn(|_| new_histogram()),
            errors_seen: [0; OpKind::ALL.len()],
            intervals: Vec::new(),
        }
    }

    /// Closes the interval ending `end` after the start, `length` long, and returns it.
    pub fn close_interval(
        &mut self,
        recorder: &Recorder,
        end: Duration,
        length: Duration,
    ) -> Interval {
        for h in &mut self.interval {
            h.reset();
        }
        recorder.drain(&mut self.interval);
        let mut all = new_histogram();
        for (h, total) in self.interval.iter().zip(self.total.iter_mut()) {
            all.add(h).expect("same bounds");
            total.add(h).expect("same bounds");
        }
        let mut errors = 0;
        for (seen, now) in self.errors_seen.iter_mut().zip(&recorder.errors) {
            let now = now.load(Ordering::Relaxed);
            errors += now - *seen;
            *seen = now;
        }
        let interval = Interval {
            end_s: round_ms(end),
            ops: all.len(),
            ops_per_s: rate(all.len(), length),
            errors,
            latency: Latency::of(&all),
        };
        self.intervals.push(interval.clone());
        interval
    }

    /// Drops the last interval from the list (its counts stay in the totals).
    pub fn forget_last_interval(&mut self) {
        self.intervals.pop();
    }

    /// The report of a run that lasted `duration`; call after the last interval.
    pub fn report(self, recorder: &Recorder, settings: RunSettings, duration: Duration) -> Report {
        let mut all = new_histogram();
        let mut by_op = Vec::new();
        let (mut errors, mut misses) = (0, 0);
        for kind in OpKind::ALL {
            let h = &self.total[kind as usize];
            let kind_errors = recorder.errors[kind as usize].load(Ordering::Relaxed);
            let kind_misses = recorder.misses[kind as usize].load(Ordering::Relaxed);
            all.add(h).expect("same bounds");
            errors += kind_errors;
            misses += kind_misses;
            if h.is_empty() && kind_errors == 0 {
                continue;
            }
            by_op.push(KindReport {
                op: kind.name().to_string(),
                ops: h.len(),
                errors: kind_errors,
                misses: kind_misses,
                ops_per_s: rate(h.len(), duration),
                latency: Latency::of(h),
            });
        }
        let mut lag = new_histogram();
        for shard in &recorder.lag_shards {
            lag.add(&*lock(shard)).expect("same bounds");
        }
        let schedule_lag = settings.rate_ops_per_s.map(|_| Latency::of(&lag));
        Report {
            settings,
            late_ops: lag.len(),
            schedule_lag,
            duration_s: round_ms(duration),
            ops: all.len(),
            errors,
            misses,
            ops_per_s: rate(all.len(), duration),
            latency: Latency::of(&all),
            by_op,
            error_samples: lock(&recorder.error_samples).clone(),
            intervals: self.intervals,
        }
    }
}

fn rate(ops: u64, over: Duration) -> f64 {
    let s = over.as_secs_f64();
    if s <= 0.0 {
        return 0.0;
    }
    (ops as f64 / s * 10.0).round() / 10.0
}

fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The live line printed on stderr each second.
pub fn progress_line(label: &str, i: &Interval) -> String {
    format!(
        "{label} {:>6.1}s {:>10.0} ops/s  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>8.3} ms  errors {}",
        i.end_s,
        i.ops_per_s,
        ms(i.latency.p50_us),
        ms(i.latency.p99_us),
        ms(i.latency.max_us),
        i.errors
    )
}

/// The final report as text (stdout without `--json`).
pub fn render_text(r: &Report) -> String {
    use std::fmt::Write;
    let s = &r.settings;
    let mut out = String::new();
    let rate = s
        .rate_ops_per_s
        .map_or("unlimited".to_string(), |x| format!("{x} ops/s"));
    let _ = writeln!(
        out,
        "workload {} on {} (CL {}): {} threads, {} connections, {} in flight, rate {rate}, {} keys, {}-byte values",
        s.workload, s.target, s.consistency, s.threads, s.connections, s.concurrency, s.key_count, s.value_size_bytes
    );
    let _ = writeln!(
        out,
        "{:<18} {:>10} {:>7} {:>7} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "op",
        "ops",
        "errors",
        "misses",
        "ops/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms"
    );
    let mut row = |name: &str, ops: u64, errors: u64, misses: u64, rate: f64, l: &Latency| {
        let _ = writeln!(
            out,
            "{name:<18} {ops:>10} {errors:>7} {misses:>7} {rate:>11.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            ms(l.p50_us),
            ms(l.p90_us),
            ms(l.p99_us),
            ms(l.p999_us),
            ms(l.max_us)
        );
    };
    for k in &r.by_op {
        row(&k.op, k.ops, k.errors, k.misses, k.ops_per_s, &k.latency);
    }
    row("total", r.ops, r.errors, r.misses, r.ops_per_s, &r.latency);
    let _ = writeln!(out, "duration {:.3} s", r.duration_s);
    if let Some(lag) = &r.schedule_lag {
        let _ = writeln!(
            out,
            "sent late: {} of {} ops (p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms behind schedule)",
            r.late_ops,
            r.ops + r.errors,
            ms(lag.p50_us),
            ms(lag.p99_us),
            ms(lag.max_us)
        );
    }
    for e in &r.error_samples {
        let _ = writeln!(out, "error: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_partition_the_totals() {
        let rec = Recorder::new();
        let mut col = Collector::new();
        for i in 0..1000u64 {
            rec.record(
                i as usize,
                OpKind::Write,
                Duration::from_micros(100 + i),
                true,
            );
        }
        rec.record(3, OpKind::Read, Duration::from_micros(5_000), false);
        rec.record_error(OpKind::Write, "timeout".into());
        rec.record_error(OpKind::Write, "timeout".into());
        let first = col.close_interval(&rec, Duration::from_secs(1), Duration::from_secs(1));
        assert_eq!((first.ops, first.errors), (1001, 2));
        assert_eq!(first.ops_per_s, 1001.0);
        rec.record(0, OpKind::Write, Duration::from_millis(70), true);
        let second = col.close_interval(
            &rec,
            Duration::from_millis(1500),
            Duration::from_millis(500),
        );
        assert_eq!((second.ops, second.errors, second.ops_per_s), (1, 0, 2.0));
        let settings = RunSettings {
            workload: "mixed".into(),
            target: "x".into(),
            consistency: "ONE".into(),
            threads: 1,
            connections: 1,
            concurrency: 1,
            rate_ops_per_s: None,
            key_count: 1,
            value_size_bytes: 1,
        };
        let r = col.report(&rec, settings, Duration::from_millis(1500));
        assert_eq!((r.ops, r.errors, r.misses), (1002, 2, 1));
        assert_eq!(r.error_samples, vec!["timeout".to_string()]);
        let names: Vec<&str> = r.by_op.iter().map(|k| k.op.as_str()).collect();
        assert_eq!(names, ["read", "write"]);
        assert_eq!(r.latency.max_us / 1000, 70, "max within 0.1 %");
        assert!(r.latency.p50_us >= 590 && r.latency.p50_us <= 610);
        assert!(render_text(&r).contains("total"));
    }
}
