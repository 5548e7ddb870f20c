//! Cassandra's `Range<Token>`: a left-exclusive, right-inclusive arc of the token ring.

use std::fmt;

use sibyl_storage::token::Token;

/// The number of positions on the Murmur3 ring (every `i64`): 2^64.
pub(crate) const RING_SIZE: u128 = 1u128 << 64;

/// Offset of `token` from the ring's origin ([`Token::MIN`]), in `0..RING_SIZE`.
pub(crate) fn ring_offset(token: Token) -> u128 {
    (i128::from(token.0) - i128::from(i64::MIN)) as u128
}

/// The token `offset` positions past the ring's origin (`offset` taken modulo the ring).
pub(crate) fn token_at_offset(offset: u128) -> Token {
    let wrapped = offset % RING_SIZE;
    Token((wrapped as i128 + i128::from(i64::MIN)) as i64)
}

/// The number of ring positions in `(left, right]`; `(t, t]` is the whole ring.
pub(crate) fn width(left: Token, right: Token) -> u128 {
    let w = (right.0 as u64).wrapping_sub(left.0 as u64);
    if w == 0 {
        RING_SIZE
    } else {
        u128::from(w)
    }
}

/// `(left, right]` on the ring; wraps past the ring's end when `left >= right`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TokenRange {
    /// Exclusive start.
    pub left: Token,
    /// Inclusive end.
    pub right: Token,
}

impl TokenRange {
    /// The range `(left, right]`.
    pub fn new(left: Token, right: Token) -> TokenRange {
        TokenRange { left, right }
    }

    /// The canonical full ring, `(MIN, MIN]`.
    pub fn full_ring() -> TokenRange {
        TokenRange::new(Token::MIN, Token::MIN)
    }

    /// Cassandra's `isWrapAround`: `left >= right` (this includes the full ring `(t, t]`).
    pub fn is_wrap_around(&self) -> bool {
        self.left >= self.right
    }

    /// Whether the range is the whole ring (`left == right`).
    pub fn is_full_ring(&self) -> bool {
        self.left == self.right
    }

    /// Whether `token` lies in `(left, right]`.
    pub fn contains(&self, token: Token) -> bool {
        if self.is_wrap_around() {
            token > self.left || token <= self.right
        } else {
            token > self.left && token <= self.right
        }
    }

    /// Cassandra's `unwrap`: a wrapping range split at [`Token::MIN`] into
    /// `(left, MIN]` and `(MIN, right]`; a non-wrapping range (or one ending at `MIN`,
    /// including the full ring `(MIN, MIN]`) is returned as it is.
    pub fn unwrap(&self) -> Vec<TokenRange> {
        if !self.is_wrap_around() || self.right == Token::MIN {
            vec![*self]
        } else {
            vec![
                TokenRange::new(self.left, Token::MIN),
                TokenRange::new(Token::MIN, self.right),
            ]
        }
    }

    /// The half-open offset interval `(start, end]` this (non-wrapping or `MIN`-ended)
    /// piece covers, with `end` up to [`RING_SIZE`] when it runs to the ring's end.
    fn offsets(&self) -> (u128, u128) {
        let start = ring_offset(self.left);
        (start, start + width(self.left, self.right))
    }

    /// Whether the two ranges share at least one token.
    pub fn intersects(&self, other: &TokenRange) -> bool {
        self.unwrap().iter().any(|a| {
            let (a0, a1) = a.offsets();
            other.unwrap().iter().any(|b| {
                let (b0, b1) = b.offsets();
                a0.max(b0) < a1.min(b1)
            })
        })
    }

    /// The number of ring positions the range covers (2^64 for the full ring).
    pub fn width(&self) -> u128 {
        width(self.left, self.right)
    }

    /// The fraction of the ring the range covers, in `(0, 1]`.
    pub fn size(&self) -> f64 {
        self.width() as f64 / RING_SIZE as f64
    }
}

impl fmt::Display for TokenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}]", self.left, self.right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(l: i64, rt: i64) -> TokenRange {
        TokenRange::new(Token(l), Token(rt))
    }

    #[test]
    fn contains_is_left_exclusive_right_inclusive() {
        // A plain range holds its right bound but not its left.
        let range = r(10, 20);
        assert!(!range.contains(Token(10)));
        assert!(range.contains(Token(11)));
        assert!(range.contains(Token(20)));
        assert!(!range.contains(Token(21)));
        assert!(!range.is_wrap_around());
    }

    #[test]
    fn wrapping_range_contains_both_ends_of_the_ring() {
        // (20, 10] wraps: it holds MAX, MIN and everything up to 10, not 11..=20.
        let range = r(20, 10);
        assert!(range.is_wrap_around());
        assert!(range.contains(Token::MAX));
        assert!(range.contains(Token::MIN));
        assert!(range.contains(Token(10)));
        assert!(!range.contains(Token(15)));
        assert!(!range.contains(Token(20)));
        assert!(range.contains(Token(21)));
    }

    #[test]
    fn equal_bounds_are_the_full_ring() {
        // (t, t] covers every token, for t == MIN and any other t.
        for t in [Token::MIN, Token(0), Token::MAX] {
            let range = TokenRange::new(t, t);
            assert!(range.is_full_ring());
            for probe in [Token::MIN, Token(-1), Token(0), Token(1), Token::MAX] {
                assert!(range.contains(probe), "{range} should contain {probe}");
            }
            assert_eq!(range.width(), RING_SIZE);
            assert_eq!(range.size(), 1.0);
        }
    }

    #[test]
    fn unwrap_splits_at_min() {
        // Wrapping ranges split at MIN; plain ranges, MIN-ended ranges and the canonical full ring do not.
        assert_eq!(r(10, 20).unwrap(), vec![r(10, 20)]);
        assert_eq!(
            r(20, 10).unwrap(),
            vec![
                TokenRange::new(Token(20), Token::MIN),
                TokenRange::new(Token::MIN, Token(10))
            ]
        );
        assert_eq!(
            TokenRange::full_ring().unwrap(),
            vec![TokenRange::full_ring()]
        );
        let to_min = TokenRange::new(Token(5), Token::MIN);
        assert_eq!(to_min.unwrap(), vec![to_min]);
        let split = r(7, 7).unwrap();
        assert_eq!(split.len(), 2);
        assert_eq!(split.iter().map(TokenRange::width).sum::<u128>(), RING_SIZE);
    }

    #[test]
    fn intersects_handles_wrap_around() {
        // Overlap is tested on the unwrapped pieces; touching bounds do not intersect.
        assert!(r(0, 10).intersects(&r(5, 15)));
        assert!(!r(0, 10).intersects(&r(10, 20)));
        assert!(r(20, 10).intersects(&r(-5, 0)));
        assert!(r(20, 10).intersects(&TokenRange::new(Token(100), Token::MAX)));
        assert!(!r(20, 10).intersects(&r(10, 20)));
        assert!(r(20, 10).intersects(&r(30, 5)));
        assert!(TokenRange::full_ring().intersects(&r(1, 2)));
        assert!(r(3, 3).intersects(&r(1, 2)));
        assert!(TokenRange::new(Token(5), Token::MIN).intersects(&r(i64::MAX - 1, i64::MAX)));
    }

    #[test]
    fn size_uses_the_whole_i64_ring() {
        // Sizes are fractions of 2^64 positions, exact across the wrap point.
        assert_eq!(TokenRange::new(Token::MIN, Token(0)).size(), 0.5);
        assert_eq!(TokenRange::new(Token(0), Token::MIN).size(), 0.5);
        assert_eq!(r(i64::MAX, i64::MIN + 1).width(), 2);
        assert_eq!(r(10, 20).width(), 10);
        assert_eq!(r(20, 10).width(), RING_SIZE - 10);
        assert_eq!(token_at_offset(ring_offset(Token(42))), Token(42));
        assert_eq!(token_at_offset(RING_SIZE), Token::MIN);
    }
}
