//! Calendar arithmetic and the text forms of `timestamp`, `date`, `time`
//! and `duration`.
//!
//! Dates use the proleptic Gregorian calendar (like `java.time`), with the
//! day-number conversions of Howard Hinnant's `days_from_civil` /
//! `civil_from_days` algorithms, valid for any `i64` year range we need.
//!
//! Accepted input (after Cassandra's `TimestampSerializer`,
//! `SimpleDateSerializer`, `TimeSerializer` and `Duration.from`):
//!
//! * timestamp: an integer (milliseconds) or `yyyy-mm-dd` optionally followed
//!   by `' '` or `'T'` and `HH:MM[:SS[.fff…]]`, optionally followed by a zone
//!   `Z`, `UTC`, `GMT`, `±HH`, `±HHMM` or `±HH:MM`. Without a zone the time
//!   is taken as UTC (Cassandra uses the server's zone, which for servers is
//!   conventionally UTC). Fractions beyond milliseconds are truncated.
//! * date: `yyyy-mm-dd` or an integer: the raw unsigned day number with
//!   1970-01-01 = 2³¹.
//! * time: `HH:MM:SS[.fffffffff]` or an integer number of nanoseconds.
//! * duration: `[-](<n><unit>)+` with units `y mo w d h m s ms us µs ns`
//!   (case-insensitive, decreasing order), ISO 8601 `P[nY][nM][nD][T[nH][nM][nS]]`,
//!   `PnW`, and the alternative form `Pyyyy-mm-ddThh:mm:ss`.
//!
//! Output follows cqlsh (`2024-02-29 12:00:00.123000+0000`, `2024-02-29`,
//! `12:00:00.000000000`, `1h30m`) and, for JSON, Cassandra's `toJson`
//! (`2024-02-29 12:00:00.123Z`).

use super::error::{TypeError, TypeResult};
use super::value::{Duration, DATE_EPOCH, NANOS_PER_DAY};

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian `(year, month, day)` of a day number (0 = 1970-01-01).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

fn is_int(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// A tiny cursor over ASCII text.
struct Cur<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cur<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<(u64, usize)> {
        let start = self.pos;
        let mut v: u64 = 0;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() && self.pos - start < max
        {
            v = v * 10 + u64::from(self.s[self.pos] - b'0');
            self.pos += 1;
        }
        let n = self.pos - start;
        (n >= min).then_some((v, n))
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.pos == self.s.len()
    }
    fn skip_ws(&mut self) {
        while self
            .s
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }
}

/// `yyyy-mm-dd` at the cursor → days since the epoch.
fn parse_ymd(c: &mut Cur<'_>) -> Option<i64> {
    let neg = c.eat(b'-');
    let (y, _) = c.digits(1, 9)?;
    let y = if neg { -(y as i64) } else { y as i64 };
    if !c.eat(b'-') {
        return None;
    }
    let (m, _) = c.digits(1, 2)?;
    if !c.eat(b'-') {
        return None;
    }
    let (d, _) = c.digits(1, 2)?;
    let (m, d) = (m as u32, d as u32);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parses a timestamp literal into milliseconds since the epoch.
pub fn parse_timestamp(text: &str) -> TypeResult<i64> {
    let src = text.trim();
    if is_int(src) {
        return src.parse::<i64>().map_err(|_| {
            TypeError::marshal(format!("Unable to make long (for date) from: '{text}'"))
        });
    }
    parse_timestamp_str(src)
        .ok_or_else(|| TypeError::marshal(format!("Unable to parse a date/time from '{text}'")))
}

fn parse_timestamp_str(src: &str) -> Option<i64> {
    let mut c = Cur {
        s: src.as_bytes(),
        pos: 0,
    };
    let days = parse_ymd(&mut c)?;
    let mut ms_of_day: i64 = 0;
    if c.eat(b' ') || c.eat(b'T') {
        c.skip_ws();
        let (h, _) = c.digits(1, 2)?;
        if !c.eat(b':') {
            return None;
        }
        let (mi, _) = c.digits(2, 2)?;
        let mut sec = 0;
        let mut ms = 0;
        if c.eat(b':') {
            sec = c.digits(2, 2)?.0;
            if c.eat(b'.') {
                let (f, n) = c.digits(1, 9)?;
                ms = match n {
                    1 => f * 100,
                    2 => f * 10,
                    3 => f,
                    _ => f / 10u64.pow((n - 3) as u32),
                };
            }
        }
        if h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        ms_of_day = ((h * 3600 + mi * 60 + sec) * 1000 + ms) as i64;
    }
    c.skip_ws();
    let offset_minutes: i64 = if c.done() {
        0
    } else {
        let rest = &src[c.pos..];
        if rest.eq_ignore_ascii_case("z")
            || rest.eq_ignore_ascii_case("utc")
            || rest.eq_ignore_ascii_case("gmt")
        {
            c.pos = c.s.len();
            0
        } else {
            let neg = if c.eat(b'+') {
                false
            } else if c.eat(b'-') {
                true
            } else {
                return None;
            };
            let (hh, _) = c.digits(2, 2)?;
            c.eat(b':');
            let mm = if c.done() { 0 } else { c.digits(2, 2)?.0 };
            if hh > 18 || mm > 59 {
                return None;
            }
            let m = (hh * 60 + mm) as i64;
            if neg {
                -m
            } else {
                m
            }
        }
    };
    if !c.done() {
        return None;
    }
    days.checked_mul(86_400_000)?
        .checked_add(ms_of_day)?
        .checked_sub(offset_minutes * 60_000)
}

/// Splits milliseconds since the epoch into (days, ms of day).
fn split_ms(ms: i64) -> (i64, i64) {
    (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000))
}

/// cqlsh's timestamp text: `2024-02-29 12:00:00.123000+0000`; outside years
/// 1..=9999 (Python's datetime range) the millisecond count.
pub fn format_timestamp_cqlsh(ms: i64) -> String {
    let (days, rem) = split_ms(ms);
    let (y, m, d) = civil_from_days(days);
    if !(1..=9999).contains(&y) {
        return ms.to_string();
    }
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!(
        "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{:06}+0000",
        milli * 1000
    )
}

/// Cassandra's JSON timestamp text (`yyyy-MM-dd HH:mm:ss.SSSXX` in UTC): `2024-02-29 12:00:00.123Z`.
pub fn format_timestamp_json(ms: i64) -> String {
    let (days, rem) = split_ms(ms);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!(
        "{}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{milli:03}Z",
        year_iso(y)
    )
}

fn year_iso(y: i64) -> String {
    if y > 9999 {
        format!("+{y}")
    } else if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    }
}

/// Parses a date literal into the raw `date` value (epoch at 2³¹).
pub fn parse_date(text: &str) -> TypeResult<u32> {
    let src = text.trim();
    if is_int(src) {
        return src.parse::<u32>().map_err(|_| {
            TypeError::marshal(format!(
                "Unable to make unsigned int (for date) from: '{text}'"
            ))
        });
    }
    let err = || {
        TypeError::marshal(format!(
            "Unable to coerce '{text}' to a formatted date (long)"
        ))
    };
    let mut c = Cur {
        s: src.as_bytes(),
        pos: 0,
    };
    let days = parse_ymd(&mut c).ok_or_else(err)?;
    if !c.done() {
        return Err(err());
    }
    u32::try_from(days + i64::from(DATE_EPOCH)).map_err(|_| {
        TypeError::marshal(format!(
            "Input date {text} is less than min supported date or greater than max"
        ))
    })
}

/// cqlsh's date text: `2024-02-29`, or the signed day count outside years 1..=9999.
pub fn format_date_cqlsh(raw: u32) -> String {
    let days = i64::from(raw) - i64::from(DATE_EPOCH);
    let (y, m, d) = civil_from_days(days);
    if (1..=9999).contains(&y) {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        days.to_string()
    }
}

/// Cassandra's date text (`LocalDate.toString`), used for JSON.
pub fn format_date_iso(raw: u32) -> String {
    let days = i64::from(raw) - i64::from(DATE_EPOCH);
    let (y, m, d) = civil_from_days(days);
    format!("{}-{m:02}-{d:02}", year_iso(y))
}

/// Parses a time literal into nanoseconds since midnight.
pub fn parse_time(text: &str) -> TypeResult<i64> {
    let src = text.trim();
    if is_int(src) {
        let v = src.parse::<i64>().map_err(|_| {
            TypeError::marshal(format!("Unable to make long (for time) from: '{text}'"))
        })?;
        if !(0..NANOS_PER_DAY).contains(&v) {
            // Cassandra throws "Input long out of bounds" inside and reports the wrapper.
            return Err(TypeError::marshal(format!(
                "Unable to make long (for time) from: '{text}'"
            )));
        }
        return Ok(v);
    }
    // Cassandra's TimeSerializer wraps every failure of its strict parse (format,
    // hour/minute/second out of bounds) in one message naming the input.
    parse_time_strictly(src).ok_or_else(|| {
        TypeError::marshal(format!(
            "(TimeType) Unable to coerce '{text}' to a formatted time (long)"
        ))
    })
}

/// `hh:mm:ss[.fffffffff]` into nanoseconds since midnight; `None` when malformed or
/// out of bounds.
fn parse_time_strictly(src: &str) -> Option<i64> {
    let mut c = Cur {
        s: src.as_bytes(),
        pos: 0,
    };
    let (h, _) = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let (m, _) = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let (s, _) = c.digits(1, 2)?;
    let mut nanos = 0u64;
    if c.eat(b'.') {
        let (f, n) = c.digits(1, 9)?;
        nanos = f * 10u64.pow((9 - n) as u32);
    }
    if !c.done() || h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(((h * 3600 + m * 60 + s) * 1_000_000_000 + nanos) as i64)
}

/// `HH:MM:SS.nnnnnnnnn` (cqlsh and Cassandra alike). Out-of-range values
/// (only possible from bad input) wrap into the day.
pub fn format_time(nanos: i64) -> String {
    let n = nanos.rem_euclid(NANOS_PER_DAY);
    let secs = n / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        n % 1_000_000_000
    )
}

const NANOS_PER_HOUR: i128 = 3_600_000_000_000;
const NANOS_PER_MINUTE: i128 = 60_000_000_000;
const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_MILLI: i128 = 1_000_000;
const NANOS_PER_MICRO: i128 = 1_000;

/// Accumulates duration components with Cassandra's overflow checks.
#[derive(Default)]
struct DurationBuilder {
    months: i128,
    days: i128,
    nanos: i128,
}

impl DurationBuilder {
    fn add(&mut self, unit: &str, n: i128) -> Option<()> {
        match unit {
            "y" => self.months += n.checked_mul(12)?,
            "mo" => self.months += n,
            "w" => self.days += n.checked_mul(7)?,
            "d" => self.days += n,
            "h" => self.nanos += n.checked_mul(NANOS_PER_HOUR)?,
            "m" => self.nanos += n.checked_mul(NANOS_PER_MINUTE)?,
            "s" => self.nanos += n.checked_mul(NANOS_PER_SECOND)?,
            "ms" => self.nanos += n.checked_mul(NANOS_PER_MILLI)?,
            "us" => self.nanos += n.checked_mul(NANOS_PER_MICRO)?,
            "ns" => self.nanos += n,
            _ => return None,
        }
        Some(())
    }

    fn build(self, negative: bool) -> TypeResult<Duration> {
        if self.months > i128::from(i32::MAX) {
            return Err(TypeError::marshal(
                "Invalid duration. The total number of months must be less or equal to 2147483647",
            ));
        }
        if self.days > i128::from(i32::MAX) {
            return Err(TypeError::marshal(
                "Invalid duration. The total number of days must be less or equal to 2147483647",
            ));
        }
        if self.nanos > i128::from(i64::MAX) {
            return Err(TypeError::marshal(
                "Invalid duration. The total number of nanoseconds must be less or equal to 9223372036854775807",
            ));
        }
        let (m, d, n) = (self.months as i32, self.days as i32, self.nanos as i64);
        Ok(if negative {
            Duration::new(-m, -d, -n)
        } else {
            Duration::new(m, d, n)
        })
    }
}

const UNIT_ORDER: [&str; 10] = ["y", "mo", "w", "d", "h", "m", "s", "ms", "us", "ns"];

/// Parses a duration literal (`1h30m`, `-2d`, `P1DT2H`, `P1W`, `P0001-02-03T04:05:06`).
pub fn parse_duration(text: &str) -> TypeResult<Duration> {
    let err = || TypeError::marshal(format!("Unable to convert '{text}' to a duration"));
    let (negative, src) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut b = DurationBuilder::default();
    if let Some(iso) = src.strip_prefix('P') {
        if let Some(w) = iso.strip_suffix('W') {
            let n: i128 = parse_count(w).ok_or_else(err)?;
            b.add("w", n).ok_or_else(err)?;
        } else if iso.contains('-') {
            // Pyyyy-mm-ddThh:mm:ss
            let bytes = iso.as_bytes();
            let ok = bytes.len() == 19
                && [4, 7].iter().all(|&i| bytes[i] == b'-')
                && bytes[10] == b'T'
                && [13, 16].iter().all(|&i| bytes[i] == b':');
            if !ok {
                return Err(err());
            }
            let num = |r: std::ops::Range<usize>| parse_count(&iso[r]);
            b.add("y", num(0..4).ok_or_else(err)?).ok_or_else(err)?;
            b.add("mo", num(5..7).ok_or_else(err)?).ok_or_else(err)?;
            b.add("d", num(8..10).ok_or_else(err)?).ok_or_else(err)?;
            b.add("h", num(11..13).ok_or_else(err)?).ok_or_else(err)?;
            b.add("m", num(14..16).ok_or_else(err)?).ok_or_else(err)?;
            b.add("s", num(17..19).ok_or_else(err)?).ok_or_else(err)?;
        } else {
            let (date, time) = match iso.split_once('T') {
                Some((d, t)) => {
                    if t.is_empty() {
                        return Err(err());
                    }
                    (d, Some(t))
                }
                None => (iso, None),
            };
            if date.is_empty() && time.is_none() {
                return Err(err());
            }
            iso_fields(date, &[('Y', "y"), ('M', "mo"), ('D', "d")], &mut b).ok_or_else(err)?;
            if let Some(t) = time {
                iso_fields(t, &[('H', "h"), ('M', "m"), ('S', "s")], &mut b).ok_or_else(err)?;
            }
        }
        return b.build(negative);
    }
    let s = src.as_bytes();
    let mut pos = 0;
    let mut last_unit: Option<usize> = None;
    if s.is_empty() {
        return Err(err());
    }
    while pos < s.len() {
        let start = pos;
        while pos < s.len() && s[pos].is_ascii_digit() {
            pos += 1;
        }
        let n = parse_count(&src[start..pos]).ok_or_else(err)?;
        let ustart = pos;
        while pos < s.len() && !s[pos].is_ascii_digit() {
            pos += 1;
        }
        let unit = src[ustart..pos].to_lowercase().replace('µ', "u");
        let idx = UNIT_ORDER.iter().position(|u| *u == unit).ok_or_else(err)?;
        if let Some(prev) = last_unit {
            if idx == prev {
                return Err(TypeError::marshal(format!(
                    "Invalid duration. The {} are specified multiple times",
                    unit_plural(idx)
                )));
            }
            if idx < prev {
                return Err(TypeError::marshal(format!(
                    "Invalid duration. The {} should be after {}",
                    unit_plural(prev),
                    unit_plural(idx)
                )));
            }
        }
        last_unit = Some(idx);
        b.add(&unit, n).ok_or_else(err)?;
    }
    b.build(negative)
}

fn unit_plural(idx: usize) -> &'static str {
    [
        "years",
        "months",
        "weeks",
        "days",
        "hours",
        "minutes",
        "seconds",
        "milliseconds",
        "microseconds",
        "nanoseconds",
    ][idx]
}

fn parse_count(s: &str) -> Option<i128> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `nYnMnD` style fields in the given order, each optional, at least one present.
fn iso_fields(s: &str, units: &[(char, &str)], b: &mut DurationBuilder) -> Option<()> {
    let mut rest = s;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit())?;
        let n = parse_count(&rest[..digits_end])?;
        let letter = rest[digits_end..].chars().next()?;
        let idx = units[next_unit..].iter().position(|(c, _)| *c == letter)? + next_unit;
        b.add(units[idx].1, n)?;
        next_unit = idx + 1;
        rest = &rest[digits_end + letter.len_utf8()..];
    }
    Some(())
}

/// Duration text as Cassandra and cqlsh print it (`1y2mo3d4h5m6s7ms8us9ns`,
/// `-1h30m`; the zero duration prints as an empty string, like cqlsh).
pub fn format_duration(d: &Duration) -> String {
    let mut out = String::new();
    if d.months < 0 || d.days < 0 || d.nanos < 0 {
        out.push('-');
    }
    fn append(out: &mut String, dividend: u128, divisor: u128, unit: &str) -> u128 {
        if dividend == 0 || dividend < divisor {
            return dividend;
        }
        out.push_str(&(dividend / divisor).to_string());
        out.push_str(unit);
        dividend % divisor
    }
    let months = u128::from(d.months.unsigned_abs());
    let rem = append(&mut out, months, 12, "y");
    append(&mut out, rem, 1, "mo");
    append(&mut out, u128::from(d.days.unsigned_abs()), 1, "d");
    if d.nanos != 0 {
        let mut rem = u128::from(d.nanos.unsigned_abs());
        rem = append(&mut out, rem, NANOS_PER_HOUR as u128, "h");
        rem = append(&mut out, rem, NANOS_PER_MINUTE as u128, "m");
        rem = append(&mut out, rem, NANOS_PER_SECOND as u128, "s");
        rem = append(&mut out, rem, NANOS_PER_MILLI as u128, "ms");
        rem = append(&mut out, rem, NANOS_PER_MICRO as u128, "us");
        append(&mut out, rem, 1, "ns");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Checks the calendar conversions on known dates and round trips.
    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for d in (-800_000..800_000).step_by(997) {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    // Checks timestamp literal forms and cqlsh/JSON output.
    #[test]
    fn timestamps() {
        let base = 19_782i64 * 86_400_000 + 12 * 3_600_000;
        assert_eq!(parse_timestamp("2024-02-29 12:00:00+0000"), Ok(base));
        assert_eq!(parse_timestamp("2024-02-29T12:00:00Z"), Ok(base));
        assert_eq!(parse_timestamp("2024-02-29T12:00:00.123Z"), Ok(base + 123));
        assert_eq!(parse_timestamp("2024-02-29 14:00:00+02:00"), Ok(base));
        assert_eq!(parse_timestamp("2024-02-29 07:00-0500"), Ok(base));
        assert_eq!(parse_timestamp("2024-02-29"), Ok(base - 12 * 3_600_000));
        assert_eq!(parse_timestamp("2024-02-29 12:00"), Ok(base));
        assert_eq!(parse_timestamp("1234"), Ok(1234));
        assert_eq!(parse_timestamp("-5"), Ok(-5));
        assert_eq!(
            parse_timestamp("2023-02-29").map_err(|e| e.to_string()),
            Err("Unable to parse a date/time from '2023-02-29'".to_string())
        );
        assert!(parse_timestamp("2024-02-29 25:00:00").is_err());
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("2024-02-29 12:00:00 +0000 x").is_err());
        assert_eq!(
            format_timestamp_cqlsh(base + 123),
            "2024-02-29 12:00:00.123000+0000"
        );
        assert_eq!(
            format_timestamp_cqlsh(-1),
            "1969-12-31 23:59:59.999000+0000"
        );
        assert_eq!(
            format_timestamp_json(base + 123),
            "2024-02-29 12:00:00.123Z"
        );
        assert_eq!(format_timestamp_cqlsh(i64::MAX), i64::MAX.to_string());
    }

    // Checks date and time literals and their text.
    #[test]
    fn dates_and_times() {
        let d = parse_date("2024-02-29").expect("date");
        assert_eq!(d, DATE_EPOCH + 19_782);
        assert_eq!(format_date_cqlsh(d), "2024-02-29");
        assert_eq!(parse_date("2147483648"), Ok(DATE_EPOCH));
        assert_eq!(format_date_cqlsh(0), (-(1i64 << 31)).to_string());
        assert_eq!(format_date_iso(DATE_EPOCH), "1970-01-01");
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("4294967296").is_err());
        assert_eq!(parse_time("12:34:56.789"), Ok(45_296_789_000_000));
        assert_eq!(parse_time("00:00:00"), Ok(0));
        assert_eq!(parse_time("23:59:59.999999999"), Ok(NANOS_PER_DAY - 1));
        assert_eq!(
            parse_time("24:00:00").map_err(|e| e.to_string()),
            Err("(TimeType) Unable to coerce '24:00:00' to a formatted time (long)".into())
        );
        assert!(parse_time("12:00").is_err());
        assert!(parse_time("86400000000000").is_err());
        assert_eq!(format_time(45_296_789_000_000), "12:34:56.789000000");
        assert_eq!(format_time(0), "00:00:00.000000000");
    }

    // Checks duration literal forms, errors and text.
    #[test]
    fn durations() {
        let h = 3_600_000_000_000i64;
        assert_eq!(parse_duration("1h30m"), Ok(Duration::new(0, 0, h + h / 2)));
        assert_eq!(parse_duration("P1DT2H"), Ok(Duration::new(0, 1, 2 * h)));
        assert_eq!(parse_duration("P1W"), Ok(Duration::new(0, 7, 0)));
        assert_eq!(parse_duration("-2d"), Ok(Duration::new(0, -2, 0)));
        assert_eq!(parse_duration("1y2mo"), Ok(Duration::new(14, 0, 0)));
        assert_eq!(parse_duration("1Y2MO3W4D"), Ok(Duration::new(14, 25, 0)));
        assert_eq!(parse_duration("5µs"), Ok(Duration::new(0, 0, 5_000)));
        assert_eq!(
            parse_duration("P0001-02-03T04:05:06"),
            Ok(Duration::new(
                14,
                3,
                4 * h + 5 * 60_000_000_000 + 6_000_000_000
            ))
        );
        assert_eq!(parse_duration("P2Y3M"), Ok(Duration::new(27, 0, 0)));
        assert_eq!(
            parse_duration("PT1M"),
            Ok(Duration::new(0, 0, 60_000_000_000))
        );
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("PT").is_err());
        assert_eq!(
            parse_duration("1m1h").map_err(|e| e.to_string()),
            Err("Invalid duration. The minutes should be after hours".into())
        );
        assert!(parse_duration("99999999999999999999y").is_err());
        assert_eq!(format_duration(&Duration::new(0, 0, h + h / 2)), "1h30m");
        assert_eq!(
            format_duration(&Duration::new(14, 3, 1_001_001)),
            "1y2mo3d1ms1us1ns"
        );
        assert_eq!(format_duration(&Duration::new(0, -2, 0)), "-2d");
        assert_eq!(
            format_duration(&Duration::new(i32::MIN, i32::MIN, i64::MIN))
                .chars()
                .next(),
            Some('-')
        );
    }
}
