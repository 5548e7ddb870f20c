//! Time for the query layer, injectable so tests can expire TTLs without sleeping.
//!
//! Write timestamps default to the coordinator's clock in microseconds and are
//! strictly increasing on a node (Cassandra's `ClientState.getTimestamp`): two writes
//! in the same microsecond still get distinct, ordered timestamps.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of time.
pub trait Clock: Send + Sync {
    /// Wall-clock microseconds since the epoch.
    fn now_micros(&self) -> i64;

    /// Wall-clock seconds since the epoch (TTL expiry, local deletion times).
    fn now_seconds(&self) -> i64 {
        self.now_micros().div_euclid(1_000_000)
    }
}

/// The system clock.
#[derive(Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64)
    }
}

/// A monotonic clock counting microseconds from its creation: for timers and the
/// failure detector, which must not jump when the wall clock is set.
pub struct MonotonicClock {
    origin: std::time::Instant,
}

impl MonotonicClock {
    pub fn new() -> MonotonicClock {
        MonotonicClock {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now_micros(&self) -> i64 {
        self.origin.elapsed().as_micros() as i64
    }
}

/// A clock tests set and advance by hand.
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    pub fn new(micros: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            micros: AtomicI64::new(micros),
        })
    }

    pub fn set_micros(&self, micros: i64) {
        self.micros.store(micros, Ordering::SeqCst);
    }

    pub fn advance_seconds(&self, s: i64) {
        self.micros.fetch_add(s * 1_000_000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.micros.load(Ordering::SeqCst)
    }
}

/// Hands out strictly increasing write timestamps (µs) from a clock.
pub struct TimestampGenerator {
    clock: Arc<dyn Clock>,
    last: AtomicI64,
}

impl TimestampGenerator {
    pub fn new(clock: Arc<dyn Clock>) -> TimestampGenerator {
        TimestampGenerator {
            clock,
            last: AtomicI64::new(i64::MIN),
        }
    }

    /// The next write timestamp: the clock's microseconds, or one more than the
    /// previous timestamp if the clock has not moved on.
    pub fn next(&self) -> i64 {
        let now = self.clock.now_micros();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let ts = now.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, ts, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return ts,
                Err(l) => last = l,
            }
        }
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_strictly_increase_even_when_the_clock_stands_still() {
        // Checks a stopped clock still yields increasing timestamps, and a clock that
        // jumps ahead is followed.
        let c = ManualClock::new(1000);
        let g = TimestampGenerator::new(c.clone());
        assert_eq!(g.next(), 1000);
        assert_eq!(g.next(), 1001);
        c.set_micros(5000);
        assert_eq!(g.next(), 5000);
        c.set_micros(10);
        assert_eq!(g.next(), 5001, "never goes backwards");
    }
}
