//! Phi-accrual failure detection with injected time.
//!
//! What: an [`ArrivalWindow`] per endpoint holding the last
//! [`ARRIVAL_WINDOW_SAMPLES`] inter-arrival times of its heartbeats, and the
//! [`FailureDetector`] that turns the silence since the last arrival into a
//! suspicion level phi:
//!
//! ```text
//! phi(now) = PHI_FACTOR * (now - last_arrival) / mean(inter-arrival times)
//! ```
//!
//! with `PHI_FACTOR = 1 / ln(10)`. This is `-log10` of the probability that a
//! heartbeat is still to come under an exponential model of inter-arrival
//! times (Hayashibara et al., "The φ Accrual Failure Detector", 2004, as
//! simplified by Cassandra, CASSANDRA-2597). An endpoint is convicted when phi
//! exceeds the threshold (8 by default, i.e. after ≈ 18.4 mean intervals of
//! silence).
//!
//! Why accrual: a fixed timeout must be tuned for the slowest network; phi
//! adapts to the observed rhythm of each endpoint, so a peer behind a slower
//! link is judged against its own mean.
//!
//! Details kept from Cassandra:
//! * the first arrival records an initial interval ([`FD_INITIAL_VALUE_MS`],
//!   2 × the gossip interval) because one arrival gives no interval yet, and
//!   erring high avoids flapping;
//! * gaps above [`FD_MAX_INTERVAL_MS`] are not samples (they are failures or
//!   partitions, not the rhythm), but they do move `last_arrival`;
//! * if the local node itself was paused (no `interpret` call for more than
//!   [`FD_MAX_LOCAL_PAUSE_MS`]), nobody is convicted until that much time has
//!   passed again: the silence was ours.
//!
//! What not: no clock, no threads, no listeners. Time is a caller-supplied
//! monotonic count of milliseconds; the caller (the [`crate::Gossiper`])
//! decides what a conviction means.
//!
//! References: `org.apache.cassandra.gms.FailureDetector`, `ArrivalWindow`,
//! `ArrayBackedBoundedStats`.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use crate::constants::{
    ARRIVAL_WINDOW_SAMPLES, FD_INITIAL_VALUE_MS, FD_MAX_INTERVAL_MS, FD_MAX_LOCAL_PAUSE_MS,
    FD_MIN_INTERVAL_MS, PHI_CONVICT_THRESHOLD, PHI_FACTOR,
};
use crate::error::GossipError;

/// Tunables of the failure detector. `Default` gives Cassandra's values.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureDetectorConfig {
    /// Phi above which an endpoint is convicted.
    pub phi_convict_threshold: f64,
    /// Samples kept per endpoint.
    pub window_samples: usize,
    /// Milliseconds recorded as the first sample.
    pub initial_value_ms: u64,
    /// Gaps above this many milliseconds are not samples.
    pub max_interval_ms: u64,
    /// Gaps below this many milliseconds refresh the last arrival but are not
    /// samples.
    pub min_interval_ms: u64,
    /// A local pause longer than this many milliseconds suspends convictions.
    pub max_local_pause_ms: u64,
}

impl Default for FailureDetectorConfig {
    fn default() -> Self {
        FailureDetectorConfig {
            phi_convict_threshold: PHI_CONVICT_THRESHOLD,
            window_samples: ARRIVAL_WINDOW_SAMPLES,
            initial_value_ms: FD_INITIAL_VALUE_MS,
            max_interval_ms: FD_MAX_INTERVAL_MS,
            min_interval_ms: FD_MIN_INTERVAL_MS,
            max_local_pause_ms: FD_MAX_LOCAL_PAUSE_MS,
        }
    }
}

impl FailureDetectorConfig {
    /// Rejects values that would make phi meaningless.
    pub fn validate(&self) -> Result<(), GossipError> {
        if !(self.phi_convict_threshold.is_finite() && self.phi_convict_threshold > 0.0) {
            return Err(GossipError::InvalidConfig(format!(
                "phi_convict_threshold must be finite and > 0, got {}",
                self.phi_convict_threshold
            )));
        }
        if self.window_samples == 0 {
            return Err(GossipError::InvalidConfig(
                "window_samples must be > 0".to_string(),
            ));
        }
        if self.initial_value_ms == 0 {
            return Err(GossipError::InvalidConfig(
                "initial_value_ms must be > 0".to_string(),
            ));
        }
        Ok(())
    }
}

/// The recent inter-arrival times of one endpoint's heartbeats.
#[derive(Clone, Debug)]
pub struct ArrivalWindow {
    intervals: VecDeque<u64>,
    sum: u64,
    capacity: usize,
    last_arrival: Option<u64>,
}

impl ArrivalWindow {
    /// An empty window keeping at most `capacity` samples.
    pub fn new(capacity: usize) -> ArrivalWindow {
        ArrivalWindow {
            intervals: VecDeque::with_capacity(capacity.min(ARRIVAL_WINDOW_SAMPLES)),
            sum: 0,
            capacity: capacity.max(1),
            last_arrival: None,
        }
    }

    /// Records an arrival at `now_ms`. The first arrival records
    /// `initial_value_ms` as a sample; later ones record the gap since the
    /// previous arrival unless it exceeds `max_interval_ms`; an arrival less than
    /// `min_interval_ms` after the previous one is ignored.
    pub fn add(
        &mut self,
        now_ms: u64,
        initial_value_ms: u64,
        min_interval_ms: u64,
        max_interval_ms: u64,
    ) {
        match self.last_arrival {
            // Part of the same burst as the previous arrival: nothing new. (Not a
            // sample and not a new last arrival: dropping only the short gaps, or
            // moving the last arrival, would bias the mean upward.)
            Some(last) if now_ms.saturating_sub(last) < min_interval_ms => return,
            Some(last) => {
                let gap = now_ms.saturating_sub(last);
                if gap <= max_interval_ms {
                    self.push(gap);
                }
            }
            None => self.push(initial_value_ms),
        }
        self.last_arrival = Some(self.last_arrival.map_or(now_ms, |l| l.max(now_ms)));
    }

    fn push(&mut self, sample: u64) {
        if self.intervals.len() == self.capacity {
            if let Some(old) = self.intervals.pop_front() {
                self.sum -= old;
            }
        }
        self.intervals.push_back(sample);
        self.sum += sample;
    }

    /// Mean inter-arrival time in milliseconds (0 with no samples).
    pub fn mean(&self) -> f64 {
        if self.intervals.is_empty() {
            0.0
        } else {
            self.sum as f64 / self.intervals.len() as f64
        }
    }

    /// Number of samples held (never more than the capacity).
    pub fn len(&self) -> usize {
        self.intervals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// Time of the last arrival.
    pub fn last_arrival(&self) -> Option<u64> {
        self.last_arrival
    }

    /// Phi at `now_ms`: `PHI_FACTOR * silence / mean`, or `None` before any
    /// arrival.
    pub fn phi(&self, now_ms: u64) -> Option<f64> {
        let last = self.last_arrival?;
        let mean = self.mean();
        if mean <= 0.0 {
            // Only zero-length gaps were ever seen: any silence is infinitely
            // suspicious, none is not suspicious at all.
            let silence = now_ms.saturating_sub(last);
            return Some(if silence == 0 { 0.0 } else { f64::INFINITY });
        }
        Some(PHI_FACTOR * now_ms.saturating_sub(last) as f64 / mean)
    }
}

/// Phi-accrual failure detector over all endpoints.
#[derive(Clone, Debug)]
pub struct FailureDetector {
    config: FailureDetectorConfig,
    windows: BTreeMap<SocketAddr, ArrivalWindow>,
    last_interpret: Option<u64>,
    last_pause: Option<u64>,
}

impl FailureDetector {
    pub fn new(config: FailureDetectorConfig) -> Result<FailureDetector, GossipError> {
        config.validate()?;
        Ok(FailureDetector {
            config,
            windows: BTreeMap::new(),
            last_interpret: None,
            last_pause: None,
        })
    }

    pub fn config(&self) -> &FailureDetectorConfig {
        &self.config
    }

    /// A heartbeat of `endpoint` arrived at `now_ms`.
    pub fn report(&mut self, endpoint: SocketAddr, now_ms: u64) {
        let capacity = self.config.window_samples;
        self.windows
            .entry(endpoint)
            .or_insert_with(|| ArrivalWindow::new(capacity))
            .add(
                now_ms,
                self.config.initial_value_ms,
                self.config.min_interval_ms,
                self.config.max_interval_ms,
            );
    }

    /// Phi of `endpoint` at `now_ms`; `None` if it never reported.
    pub fn phi(&self, endpoint: SocketAddr, now_ms: u64) -> Option<f64> {
        self.windows.get(&endpoint)?.phi(now_ms)
    }

    /// Whether `endpoint` should be convicted at `now_ms`: phi above the
    /// threshold, and the local node not recently paused. An endpoint that
    /// never reported is not convicted.
    pub fn interpret(&mut self, endpoint: SocketAddr, now_ms: u64) -> bool {
        let Some(window) = self.windows.get(&endpoint) else {
            return false;
        };
        let phi = window.phi(now_ms);
        let since_last_interpret = self
            .last_interpret
            .map_or(0, |last| now_ms.saturating_sub(last));
        self.last_interpret = Some(self.last_interpret.map_or(now_ms, |l| l.max(now_ms)));
        if since_last_interpret > self.config.max_local_pause_ms {
            // We were not running: the silence we measure is our own.
            self.last_pause = Some(now_ms);
            return false;
        }
        if let Some(pause) = self.last_pause {
            if now_ms.saturating_sub(pause) < self.config.max_local_pause_ms {
                return false;
            }
        }
        phi.is_some_and(|p| p > self.config.phi_convict_threshold)
    }

    /// Forgets `endpoint` (it was removed, or restarted while down and its
    /// rhythm must be relearnt).
    pub fn remove(&mut self, endpoint: SocketAddr) {
        self.windows.remove(&endpoint);
    }

    /// The arrival window of `endpoint`, for inspection.
    pub fn window(&self, endpoint: SocketAddr) -> Option<&ArrivalWindow> {
        self.windows.get(&endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 7000))
    }

    fn fd() -> FailureDetector {
        FailureDetector::new(FailureDetectorConfig::default()).expect("default config is valid")
    }

    /// Feeds heartbeats every `every` ms from `start`, `count` times; returns the last time.
    fn feed(fd: &mut FailureDetector, start: u64, every: u64, count: u64) -> u64 {
        let mut t = start;
        for i in 0..count {
            t = start + i * every;
            fd.report(ep(), t);
        }
        t
    }

    // Checks phi grows linearly with silence: phi(t) / t is constant, and
    // phi = PHI_FACTOR * t / mean exactly, for a window fed at a steady 1 s.
    #[test]
    fn phi_grows_linearly_with_silence() {
        let mut fd = fd();
        let last = feed(&mut fd, 1_000, 1_000, 100);
        let mean = fd.window(ep()).map(ArrivalWindow::mean).expect("window");
        // 99 gaps of 1000 ms + the 2000 ms initial sample.
        assert!(
            (mean - (99.0 * 1000.0 + 2000.0) / 100.0).abs() < 1e-9,
            "mean {mean}"
        );
        let mut previous = 0.0;
        for silence in [0u64, 500, 1_000, 2_000, 4_000, 8_000] {
            let phi = fd.phi(ep(), last + silence).expect("phi");
            let expected = PHI_FACTOR * silence as f64 / mean;
            assert!(
                (phi - expected).abs() < 1e-9,
                "silence {silence}: {phi} vs {expected}"
            );
            assert!(phi >= previous);
            previous = phi;
        }
        let p1 = fd.phi(ep(), last + 1_000).expect("phi");
        let p3 = fd.phi(ep(), last + 3_000).expect("phi");
        assert!((p3 / p1 - 3.0).abs() < 1e-9, "linear: {p1} {p3}");
    }

    // Checks conviction happens exactly when phi crosses the threshold: just
    // below PHI_CONVICT_THRESHOLD * mean / PHI_FACTOR ms of silence no, just above yes.
    #[test]
    fn convicts_at_threshold() {
        let mut fd = fd();
        let last = feed(&mut fd, 1_000, 1_000, 1_001); // window now full of 1000 ms gaps
        let mean = fd.window(ep()).map(ArrivalWindow::mean).expect("window");
        assert!((mean - 1000.0).abs() < 1e-9, "mean {mean}");
        let boundary = PHI_CONVICT_THRESHOLD * mean / PHI_FACTOR; // ≈ 18 420.7 ms
        let below = last + boundary.floor() as u64;
        let above = last + boundary.ceil() as u64;
        // interpret every second up to the boundary, as the gossiper does, so
        // the local-pause guard does not trigger.
        let mut t = last;
        while t + 1_000 < below {
            t += 1_000;
            assert!(
                !fd.interpret(ep(), t),
                "convicted early at +{} ms",
                t - last
            );
        }
        assert!(!fd.interpret(ep(), below));
        assert!(fd.interpret(ep(), above));
        assert!(fd.phi(ep(), above).expect("phi") > PHI_CONVICT_THRESHOLD);
    }

    // Checks that gaps above FD_MAX_INTERVAL_MS are not samples but do move the
    // last arrival: the mean is unchanged and phi restarts from zero.
    #[test]
    fn samples_over_max_interval_are_ignored() {
        let mut fd = fd();
        let last = feed(&mut fd, 1_000, 1_000, 10);
        let before = fd
            .window(ep())
            .map(|w| (w.len(), w.mean()))
            .expect("window");
        let late = last + FD_MAX_INTERVAL_MS + 1;
        fd.report(ep(), late);
        let after = fd
            .window(ep())
            .map(|w| (w.len(), w.mean()))
            .expect("window");
        assert_eq!(
            before, after,
            "a gap over the max interval must not be a sample"
        );
        assert_eq!(fd.phi(ep(), late), Some(0.0));
        // A gap of exactly the max interval is a sample.
        fd.report(ep(), late + FD_MAX_INTERVAL_MS);
        assert_eq!(fd.window(ep()).map(ArrivalWindow::len), Some(before.0 + 1));
    }

    // Checks the window never holds more than ARRIVAL_WINDOW_SAMPLES samples
    // and forgets the oldest (the 2000 ms initial sample leaves the mean).
    #[test]
    fn window_is_bounded() {
        let mut fd = fd();
        feed(&mut fd, 0, 500, 5_000);
        let w = fd.window(ep()).expect("window");
        assert_eq!(w.len(), ARRIVAL_WINDOW_SAMPLES);
        assert!((w.mean() - 500.0).abs() < 1e-9, "mean {}", w.mean());
    }

    // Checks the first sample is the initial value (2 × gossip interval).
    #[test]
    fn first_arrival_uses_initial_value() {
        let mut fd = fd();
        fd.report(ep(), 0); // time zero is a valid arrival time
        let w = fd.window(ep()).expect("window");
        assert_eq!(w.len(), 1);
        assert_eq!(w.mean(), FD_INITIAL_VALUE_MS as f64);
        assert_eq!(w.last_arrival(), Some(0));
    }

    // Checks an unknown endpoint is never convicted and remove() forgets history.
    #[test]
    fn unknown_is_not_convicted_and_remove_forgets() {
        let mut fd = fd();
        assert!(!fd.interpret(ep(), 1_000_000));
        assert_eq!(fd.phi(ep(), 10), None);
        fd.report(ep(), 0);
        fd.remove(ep());
        assert!(fd.window(ep()).is_none());
    }

    // Checks the local-pause guard: after no interpret for > FD_MAX_LOCAL_PAUSE_MS,
    // nothing is convicted for that long, then conviction resumes.
    #[test]
    fn local_pause_suspends_convictions() {
        let mut fd = fd();
        let last = feed(&mut fd, 0, 1_000, 50);
        assert!(!fd.interpret(ep(), last));
        // We "sleep" 60 s: phi is huge but it is our pause.
        let woke = last + 60_000;
        assert!(fd.phi(ep(), woke).expect("phi") > PHI_CONVICT_THRESHOLD);
        assert!(!fd.interpret(ep(), woke));
        assert!(!fd.interpret(ep(), woke + 1_000));
        assert!(!fd.interpret(ep(), woke + FD_MAX_LOCAL_PAUSE_MS - 1_000));
        let mut t = woke + FD_MAX_LOCAL_PAUSE_MS - 1_000;
        t += 1_000;
        assert!(
            fd.interpret(ep(), t),
            "conviction resumes after the pause window"
        );
    }

    // Checks invalid configurations are rejected.
    #[test]
    fn invalid_config_rejected() {
        for cfg in [
            FailureDetectorConfig {
                phi_convict_threshold: 0.0,
                ..Default::default()
            },
            FailureDetectorConfig {
                phi_convict_threshold: f64::NAN,
                ..Default::default()
            },
            FailureDetectorConfig {
                window_samples: 0,
                ..Default::default()
            },
            FailureDetectorConfig {
                initial_value_ms: 0,
                ..Default::default()
            },
        ] {
            assert!(FailureDetector::new(cfg).is_err());
        }
    }
}
