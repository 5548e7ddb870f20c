//! Arbitrary-precision `varint` and `decimal` without a bignum crate.
//!
//! CQL's `varint` is Java's `BigInteger` and `decimal` is `BigDecimal`. On the
//! wire a varint is the *minimal* big-endian two's complement byte string
//! (`0` is `00`, `-1` is `ff`, `128` is `00 80`) and a decimal is
//! `[int scale][varint unscaled]` meaning `unscaled × 10^-scale`.
//!
//! [`Varint`] keeps exactly those minimal bytes, so serializing is a copy and
//! equality is byte equality. Everything else (decimal text in and out,
//! numeric order) goes through a sign + magnitude view where the magnitude is
//! a little-endian vector of base-2³² limbs:
//!
//! * text → limbs: multiply-accumulate nine decimal digits at a time;
//! * limbs → text: repeated division by 10⁹;
//!
//! both quadratic, which is why text input is bounded by
//! [`MAX_NUMERIC_TEXT_DIGITS`].
//!
//! [`Decimal`] is `(Varint unscaled, i32 scale)`. Its CQL order is numeric
//! (`1.0 == 1.00`, like `BigDecimal.compareTo`); [`Decimal::canonical`] gives
//! the `(sign, digits without trailing zeros, exponent)` normal form used by
//! both `compare` and the byte-comparable encoding. Text forms follow Java's
//! `BigDecimal.toString` (used by Cassandra for `toJson`) and Python's
//! `Decimal.__str__` (used by cqlsh).

use std::cmp::Ordering;
use std::fmt;

/// Longest decimal text accepted for a varint/decimal literal. Conversion is
/// quadratic in the digit count; 100 000 digits takes well under a second and
/// is far beyond any real key or value.
pub const MAX_NUMERIC_TEXT_DIGITS: usize = 100_000;

/// Arbitrary-precision integer as minimal big-endian two's complement bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Varint(Vec<u8>);

impl fmt::Debug for Varint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Varint({})", self)
    }
}

fn normalize_twos(mut b: Vec<u8>) -> Vec<u8> {
    if b.is_empty() {
        return vec![0];
    }
    let mut start = 0;
    while start + 1 < b.len() {
        let (cur, next) = (b[start], b[start + 1]);
        if (cur == 0x00 && next & 0x80 == 0) || (cur == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    if start > 0 {
        b.drain(..start);
    }
    b
}

/// Two's complement negation of a big-endian byte string, in place (no width change).
fn negate_in_place(b: &mut [u8]) {
    let mut carry = true;
    for byte in b.iter_mut().rev() {
        let inv = !*byte;
        let (v, c) = inv.overflowing_add(u8::from(carry));
        *byte = v;
        carry = c;
    }
}

fn limbs_from_be(bytes: &[u8]) -> Vec<u32> {
    let mut limbs = Vec::with_capacity(bytes.len() / 4 + 1);
    let mut i = bytes.len();
    while i > 0 {
        let lo = i.saturating_sub(4);
        let mut v = 0u32;
        for &b in &bytes[lo..i] {
            v = (v << 8) | u32::from(b);
        }
        limbs.push(v);
        i = lo;
    }
    trim_limbs(&mut limbs);
    limbs
}

fn trim_limbs(l: &mut Vec<u32>) {
    while l.last() == Some(&0) {
        l.pop();
    }
}

fn limbs_to_be(limbs: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(limbs.len() * 4);
    for l in limbs.iter().rev() {
        out.extend_from_slice(&l.to_be_bytes());
    }
    let first = out.iter().position(|&b| b != 0).unwrap_or(out.len());
    out.drain(..first);
    out
}

fn mul_add(limbs: &mut Vec<u32>, mul: u32, add: u32) {
    let mut carry = u64::from(add);
    for l in limbs.iter_mut() {
        let v = u64::from(*l) * u64::from(mul) + carry;
        *l = v as u32;
        carry = v >> 32;
    }
    if carry > 0 {
        limbs.push(carry as u32);
    }
}

/// Divides in place, returns the remainder.
fn div_rem_small(limbs: &mut Vec<u32>, div: u32) -> u32 {
    let mut rem = 0u64;
    for l in limbs.iter_mut().rev() {
        let cur = (rem << 32) | u64::from(*l);
        *l = (cur / u64::from(div)) as u32;
        rem = cur % u64::from(div);
    }
    trim_limbs(limbs);
    rem as u32
}

/// Decimal digits (no sign) of an unsigned big-endian magnitude.
fn magnitude_to_digits(mag: &[u8]) -> String {
    let mut limbs = limbs_from_be(mag);
    if limbs.is_empty() {
        return "0".to_string();
    }
    let mut chunks = Vec::new();
    while !limbs.is_empty() {
        chunks.push(div_rem_small(&mut limbs, 1_000_000_000));
    }
    let mut s = String::new();
    for (i, c) in chunks.iter().rev().enumerate() {
        if i == 0 {
            s.push_str(&c.to_string());
        } else {
            s.push_str(&format!("{c:09}"));
        }
    }
    s
}

/// Unsigned big-endian magnitude of an ASCII digit string (caller checked digits).
fn digits_to_magnitude(digits: &str) -> Vec<u8> {
    let mut limbs: Vec<u32> = Vec::new();
    let bytes = digits.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let end = (i + 9).min(bytes.len());
        let mut chunk = 0u32;
        let mut mul = 1u32;
        for &b in &bytes[i..end] {
            chunk = chunk * 10 + u32::from(b - b'0');
            mul *= 10;
        }
        mul_add(&mut limbs, mul, chunk);
        i = end;
    }
    limbs_to_be(&limbs)
}

impl Varint {
    /// Zero.
    pub fn zero() -> Self {
        Varint(vec![0])
    }

    /// From big-endian two's complement bytes (any length; normalized to
    /// minimal form; empty means zero).
    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        Varint(normalize_twos(bytes.to_vec()))
    }

    /// The minimal big-endian two's complement bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// From a machine integer.
    pub fn from_i128(v: i128) -> Self {
        Varint(normalize_twos(v.to_be_bytes().to_vec()))
    }

    /// From a machine integer.
    pub fn from_i64(v: i64) -> Self {
        Self::from_i128(i128::from(v))
    }

    /// As a machine integer if it fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.0.len() > 16 {
            return None;
        }
        let fill = if self.is_negative() { 0xff } else { 0 };
        let mut buf = [fill; 16];
        buf[16 - self.0.len()..].copy_from_slice(&self.0);
        Some(i128::from_be_bytes(buf))
    }

    /// True if < 0.
    pub fn is_negative(&self) -> bool {
        self.0.first().is_some_and(|b| b & 0x80 != 0)
    }

    /// True if == 0.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// Sign and unsigned big-endian magnitude without leading zero bytes
    /// (empty for zero).
    pub fn to_sign_magnitude(&self) -> (bool, Vec<u8>) {
        let neg = self.is_negative();
        let mut m = self.0.clone();
        if neg {
            negate_in_place(&mut m);
            // -2^(8n-1) negates to itself; its magnitude is the unsigned reading.
        }
        let first = m.iter().position(|&b| b != 0).unwrap_or(m.len());
        m.drain(..first);
        (neg, m)
    }

    /// From sign and unsigned big-endian magnitude.
    pub fn from_sign_magnitude(negative: bool, magnitude: &[u8]) -> Self {
        let mut b = Vec::with_capacity(magnitude.len() + 1);
        b.push(0);
        b.extend_from_slice(magnitude);
        if negative {
            negate_in_place(&mut b);
        }
        Varint(normalize_twos(b))
    }

    /// Parses an optionally signed decimal integer (`-123`, `+7`).
    pub fn parse_decimal(s: &str) -> Option<Self> {
        let (neg, digits) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if digits.is_empty()
            || digits.len() > MAX_NUMERIC_TEXT_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(Self::from_sign_magnitude(neg, &digits_to_magnitude(digits)))
    }

    /// Decimal digits of the absolute value.
    pub fn abs_digits(&self) -> String {
        magnitude_to_digits(&self.to_sign_magnitude().1)
    }

    /// Multiplies by 10^k (k small; used to canonicalize decimals).
    pub fn mul_pow10(&self, k: u32) -> Self {
        let (neg, mag) = self.to_sign_magnitude();
        let mut limbs = limbs_from_be(&mag);
        for _ in 0..k {
            mul_add(&mut limbs, 10, 0);
        }
        Self::from_sign_magnitude(neg, &limbs_to_be(&limbs))
    }
}

impl fmt::Display for Varint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_negative() {
            f.write_str("-")?;
        }
        f.write_str(&self.abs_digits())
    }
}

impl Ord for Varint {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_negative(), other.is_negative()) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self
                .0
                .len()
                .cmp(&other.0.len())
                .then_with(|| self.0.cmp(&other.0)),
            (true, true) => other
                .0
                .len()
                .cmp(&self.0.len())
                .then_with(|| self.0.cmp(&other.0)),
        }
    }
}

impl PartialOrd for Varint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Arbitrary-precision decimal: `unscaled × 10^-scale`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Decimal {
    /// The unscaled integer.
    pub unscaled: Varint,
    /// Power-of-ten scale (digits after the point; negative means trailing zeros).
    pub scale: i32,
}

/// Normal form of a decimal: `sign × 0.d₁d₂…dₙ × 10^exponent` with `d₁ ≠ 0`
/// and `dₙ ≠ 0` (zero has no digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalDecimal {
    /// -1, 0 or 1.
    pub sign: i8,
    /// ASCII digits without leading or trailing zeros.
    pub digits: String,
    /// Position of the decimal point relative to the first digit.
    pub exponent: i64,
}

impl Decimal {
    /// Builds a decimal.
    pub fn new(unscaled: Varint, scale: i32) -> Self {
        Decimal { unscaled, scale }
    }

    /// Parses Java `BigDecimal` syntax: `[+-]digits[.digits][e[+-]digits]`
    /// (either digit run may be empty, not both).
    pub fn parse(s: &str) -> Option<Self> {
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || int_part.len() + frac_part.len() > MAX_NUMERIC_TEXT_DIGITS
        {
            return None;
        }
        let exp: i64 = match exp {
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty()
                    || digits.len() > 12
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                e.parse().ok()?
            }
            None => 0,
        };
        let scale = frac_part.len() as i64 - exp;
        let scale = i32::try_from(scale).ok()?;
        let mut all = String::with_capacity(int_part.len() + frac_part.len());
        all.push_str(int_part);
        all.push_str(frac_part);
        Some(Decimal {
            unscaled: Varint::from_sign_magnitude(neg, &digits_to_magnitude(&all)),
            scale,
        })
    }

    /// The normal form used for ordering and byte-comparable encoding.
    pub fn canonical(&self) -> CanonicalDecimal {
        if self.unscaled.is_zero() {
            return CanonicalDecimal {
                sign: 0,
                digits: String::new(),
                exponent: 0,
            };
        }
        let sign = if self.unscaled.is_negative() { -1 } else { 1 };
        let digits = self.unscaled.abs_digits();
        let exponent = digits.len() as i64 - i64::from(self.scale);
        let digits = digits.trim_end_matches('0').to_string();
        CanonicalDecimal {
            sign,
            digits,
            exponent,
        }
    }

    /// Rebuilds a decimal from its normal form. Integers come back with
    /// scale 0 when that needs at most [`MAX_CANONICAL_ZEROS`] appended zeros;
    /// otherwise the smallest scale is used. `None` if the scale overflows i32.
    pub fn from_canonical(c: &CanonicalDecimal) -> Option<Self> {
        if c.sign == 0 || c.digits.is_empty() {
            return Some(Decimal {
                unscaled: Varint::zero(),
                scale: 0,
            });
        }
        let mut scale = c.digits.len() as i64 - c.exponent;
        let mut unscaled = Varint::from_sign_magnitude(c.sign < 0, &digits_to_magnitude(&c.digits));
        if scale < 0 && -scale <= i64::from(MAX_CANONICAL_ZEROS) {
            unscaled = unscaled.mul_pow10((-scale) as u32);
            scale = 0;
        }
        Some(Decimal {
            unscaled,
            scale: i32::try_from(scale).ok()?,
        })
    }

    /// Java `BigDecimal.toString()` (what Cassandra prints, e.g. in `toJson`).
    pub fn to_java_string(&self) -> String {
        let digits = self.unscaled.abs_digits();
        let sign = if self.unscaled.is_negative() { "-" } else { "" };
        let scale = i64::from(self.scale);
        let adjusted = -scale + (digits.len() as i64 - 1);
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        if scale > 0 && adjusted >= -6 {
            let point = digits.len() as i64 - scale;
            if point > 0 {
                let p = point as usize;
                return format!("{sign}{}.{}", &digits[..p], &digits[p..]);
            }
            return format!("{sign}0.{}{}", "0".repeat((-point) as usize), digits);
        }
        let mut s = format!("{sign}{}", &digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('E');
        if adjusted >= 0 {
            s.push('+');
        }
        s.push_str(&adjusted.to_string());
        s
    }

    /// Python `str(decimal.Decimal)` (what cqlsh prints).
    pub fn to_python_string(&self) -> String {
        let digits = self.unscaled.abs_digits();
        let sign = if self.unscaled.is_negative() { "-" } else { "" };
        let exp = -i64::from(self.scale);
        let n = digits.len() as i64;
        let leftdigits = exp + n;
        let dotplace = if exp <= 0 && leftdigits > -6 {
            leftdigits
        } else {
            1
        };
        let (intpart, fracpart) = if dotplace <= 0 {
            (
                "0".to_string(),
                format!(".{}{}", "0".repeat((-dotplace) as usize), digits),
            )
        } else if dotplace >= n {
            (
                format!("{}{}", digits, "0".repeat((dotplace - n) as usize)),
                String::new(),
            )
        } else {
            let d = dotplace as usize;
            (digits[..d].to_string(), format!(".{}", &digits[d..]))
        };
        let e = if leftdigits == dotplace {
            String::new()
        } else {
            format!("E{:+}", leftdigits - dotplace)
        };
        format!("{sign}{intpart}{fracpart}{e}")
    }
}

/// Largest number of zeros [`Decimal::from_canonical`] appends to give an
/// integer scale 0 (beyond that a negative scale is kept, so `1E+1000000000`
/// does not become a billion-digit number).
pub const MAX_CANONICAL_ZEROS: u32 = 64;

impl Ord for CanonicalDecimal {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.sign != other.sign {
            return self.sign.cmp(&other.sign);
        }
        let mag = self
            .exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.as_bytes().cmp(other.digits.as_bytes()));
        match self.sign {
            0 => Ordering::Equal,
            s if s > 0 => mag,
            _ => mag.reverse(),
        }
    }
}

impl PartialOrd for CanonicalDecimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Checks varint text <-> minimal two's complement bytes on edge values.
    #[test]
    fn varint_text_bytes() {
        let cases: &[(&str, &[u8])] = &[
            ("0", &[0]),
            ("1", &[1]),
            ("-1", &[0xff]),
            ("127", &[0x7f]),
            ("128", &[0x00, 0x80]),
            ("-128", &[0x80]),
            ("-129", &[0xff, 0x7f]),
            ("255", &[0x00, 0xff]),
            ("256", &[0x01, 0x00]),
            ("-32768", &[0x80, 0x00]),
        ];
        for (text, bytes) in cases {
            let v = Varint::parse_decimal(text).expect("parses");
            assert_eq!(v.as_bytes(), *bytes, "{text}");
            assert_eq!(v.to_string(), *text);
            assert_eq!(Varint::from_be_bytes(bytes).to_string(), *text);
        }
        let big = "-123456789012345678901234567890123456789012345678901234567890";
        assert_eq!(
            Varint::parse_decimal(big).map(|v| v.to_string()).as_deref(),
            Some(big)
        );
        assert_eq!(
            Varint::parse_decimal("+5")
                .map(|v| v.to_string())
                .as_deref(),
            Some("5")
        );
        assert!(Varint::parse_decimal("").is_none());
        assert!(Varint::parse_decimal("-").is_none());
        assert!(Varint::parse_decimal("1a").is_none());
        // non-minimal input is normalized
        assert_eq!(Varint::from_be_bytes(&[0, 0, 1]).as_bytes(), &[1]);
        assert_eq!(
            Varint::from_be_bytes(&[0xff, 0xff, 0x80]).as_bytes(),
            &[0x80]
        );
    }

    // Checks varint i128 conversions and numeric order.
    #[test]
    fn varint_i128_and_order() {
        for v in [
            0i128,
            1,
            -1,
            i64::MAX as i128,
            i64::MIN as i128,
            i128::MAX,
            i128::MIN,
        ] {
            let x = Varint::from_i128(v);
            assert_eq!(x.to_i128(), Some(v));
            assert_eq!(x.to_string(), v.to_string());
        }
        let vals = [-70000i128, -129, -128, -1, 0, 1, 127, 128, 70000];
        for a in vals {
            for b in vals {
                assert_eq!(Varint::from_i128(a).cmp(&Varint::from_i128(b)), a.cmp(&b));
            }
        }
    }

    // Checks decimal parsing and Java/Python text forms.
    #[test]
    fn decimal_text() {
        let d = |s: &str| Decimal::parse(s).expect(s);
        assert_eq!(d("1.50").scale, 2);
        assert_eq!(d("1.50").to_java_string(), "1.50");
        assert_eq!(d("-0.001").to_java_string(), "-0.001");
        assert_eq!(d("1E+3").to_java_string(), "1E+3");
        assert_eq!(d("1e-7").to_java_string(), "1E-7");
        assert_eq!(d("123.456e2").to_java_string(), "12345.6");
        assert_eq!(d("0.0000001").to_java_string(), "1E-7");
        assert_eq!(d("1.50").to_python_string(), "1.50");
        assert_eq!(d("1E+3").to_python_string(), "1E+3");
        assert_eq!(d("0.0000001").to_python_string(), "1E-7");
        assert_eq!(d("0.000001").to_python_string(), "0.000001");
        assert_eq!(d("-12.5").to_python_string(), "-12.5");
        assert_eq!(d("100").to_python_string(), "100");
        assert!(Decimal::parse(".").is_none());
        assert!(Decimal::parse("1e").is_none());
        assert!(Decimal::parse("abc").is_none());
        assert_eq!(d(".5").to_java_string(), "0.5");
    }

    // Checks numeric decimal order through the canonical form.
    #[test]
    fn decimal_canonical_order() {
        let c = |s: &str| Decimal::parse(s).expect(s).canonical();
        assert_eq!(c("1.0"), c("1.00"));
        assert_eq!(c("100"), c("1E+2"));
        assert!(c("-2") < c("-1.5"));
        assert!(c("-0.001") < c("0"));
        assert!(c("0.123") < c("0.1234"));
        assert!(c("-0.123") > c("-0.1234"));
        assert!(c("99") < c("100"));
        let back = Decimal::from_canonical(&c("1.50")).expect("fits");
        assert_eq!(back.to_java_string(), "1.5");
        let back = Decimal::from_canonical(&c("1E+2")).expect("fits");
        assert_eq!(back.to_java_string(), "100");
    }
}
