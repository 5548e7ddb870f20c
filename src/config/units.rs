//! Values with units, as Cassandra 4.1 writes them in `cassandra.yaml`: durations
//! (`10000ms`, `10s`, `2m`), data sizes (`16MiB`) and data rates (`64MiB/s`).
//!
//! Cassandra 4.1 replaced keys like `commitlog_sync_period_in_ms: 10000` by
//! `commitlog_sync_period: 10000ms` (its `DurationSpec`, `DataStorageSpec` and
//! `DataRateSpec`). The grammar here is the same: a non-negative integer immediately
//! followed by a unit, no space, no fraction, units case-sensitive. Sizes are binary
//! (`MiB` is 2^20 bytes); `MB` is refused rather than guessed, as Cassandra does.
//! Each parser returns `None` for anything else, and the caller names the key and
//! what was expected.

use std::time::Duration;

/// Duration units, longest suffix first so `ms` is not read as `m` + `s`.
const DURATION_UNITS: &[(&str, Duration)] = &[
    ("ms", Duration::from_millis(1)),
    ("us", Duration::from_micros(1)),
    ("µs", Duration::from_micros(1)),
    ("ns", Duration::from_nanos(1)),
    ("d", Duration::from_secs(86_400)),
    ("h", Duration::from_secs(3_600)),
    ("m", Duration::from_secs(60)),
    ("s", Duration::from_secs(1)),
];

/// Size units, longest suffix first.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

/// Rate units (bytes per second), longest suffix first. Cassandra's `DataRateSpec`
/// has these three.
const RATE_UNITS: &[(&str, u64)] = &[("MiB/s", 1 << 20), ("KiB/s", 1 << 10), ("B/s", 1)];

/// What a duration looks like, for error messages.
pub const DURATION_EXPECTED: &str =
    "a duration such as 500ms, 10s or 2m (units: d, h, m, s, ms, us, ns)";

/// What a size looks like, for error messages.
pub const SIZE_EXPECTED: &str = "a size such as 512KiB, 16MiB or 1GiB (units: B, KiB, MiB, GiB)";

/// What a rate looks like, for error messages.
pub const RATE_EXPECTED: &str = "a rate such as 64MiB/s (units: B/s, KiB/s, MiB/s)";

/// `text` as `<digits><unit>`, with the unit's multiplier from `units`.
fn split<T: Copy>(text: &str, units: &[(&str, T)]) -> Option<(u64, T)> {
    let (digits, unit) = units
        .iter()
        .find_map(|(suffix, m)| text.strip_suffix(suffix).map(|d| (d, *m)))?;
    // Digits only: no sign, no space, no fraction (u64::from_str would take a '+').
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, unit))
}

/// `10000ms`, `10s`, `2m`, `3h`, `1d`, `500us`, `100ns`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let (n, unit) = split(text, DURATION_UNITS)?;
    unit.checked_mul(u32::try_from(n).ok()?)
}

/// `16MiB`, `512KiB`, `1GiB`, `4096B`, in bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let (n, unit) = split(text, SIZE_UNITS)?;
    n.checked_mul(unit)
}

/// `64MiB/s`, `0MiB/s`, in bytes per second.
pub fn parse_rate(text: &str) -> Option<u64> {
    let (n, unit) = split(text, RATE_UNITS)?;
    n.checked_mul(unit)
}

/// `bytes` in the largest unit that divides it exactly (`32MiB`), for messages and docs.
pub fn format_size(bytes: u64) -> String {
    SIZE_UNITS
        .iter()
        .find(|(_, m)| bytes.is_multiple_of(*m) && bytes >= *m)
        .map_or_else(|| format!("{bytes}B"), |(u, m)| format!("{}{u}", bytes / m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cassandra_41_spellings_parse_and_others_do_not() {
        // Checks the accepted grammar against Cassandra 4.1's examples, and that the
        // near misses users type (spaces, decimal units, fractions, signs) are refused.
        assert_eq!(parse_duration("10000ms"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3h"), Some(Duration::from_secs(10_800)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("500us"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration("0ms"), Some(Duration::ZERO));
        for bad in [
            "", "ms", "10", "10 s", "1.5s", "-1s", "+1s", "10S", "10sec", "10mss",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(parse_size("16MiB"), Some(16 << 20));
        assert_eq!(parse_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("4096B"), Some(4096));
        for bad in ["16MB", "16mib", "16 MiB", "16", "MiB", "1.5GiB", "16MiB/s"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
        assert_eq!(parse_size("99999999999999GiB"), None, "overflow");
        assert_eq!(parse_rate("64MiB/s"), Some(64 << 20));
        assert_eq!(parse_rate("0MiB/s"), Some(0));
        assert_eq!(parse_rate("100KiB/s"), Some(100 << 10));
        for bad in ["64MiB", "64MB/s", "64 MiB/s", "64"] {
            assert_eq!(parse_rate(bad), None, "{bad:?}");
        }
        assert_eq!(format_size(32 << 20), "32MiB");
        assert_eq!(format_size(4096), "4KiB");
        assert_eq!(format_size(1000), "1000B");
        assert_eq!(format_size(0), "0B");
    }
}
