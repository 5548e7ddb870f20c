//! Tokens and decorated keys: where a partition sits on the ring.
//!
//! Sibyl places partitions exactly where Cassandra's `Murmur3Partitioner` does, so
//! token-aware drivers route requests to the right replicas and data moved between
//! the two systems lands on the same ranges. The token of a partition key is the
//! first 64-bit half (`h1`) of MurmurHash3 x64_128 with seed 0 over the serialized
//! key, with two Cassandra particularities:
//!
//! - **Sign extension in the tail.** Cassandra's `MurmurHash.hash3_x64_128` reads
//!   the trailing `len % 16` bytes with `(long) key.get(i)`, which sign-extends a
//!   byte ≥ 0x80 to 64 bits before shifting. The reference algorithm masks with
//!   `& 0xff`. For keys whose tail has a high byte the two disagree, and Cassandra's
//!   answer is the one that matters. (The 16-byte blocks are read masked, as in the
//!   reference.)
//! - **`i64::MIN` is reserved** as the ring's minimum token (the sentinel that
//!   starts a full-ring range); a hash equal to it is mapped to `i64::MAX`.
//!
//! A composite partition key (`PRIMARY KEY ((a, b), ...)`) is serialized as
//! `[u16 BE length][bytes][0x00]` per component before hashing; a single-column key
//! is its bytes as they are. [`composite_key`] builds the former.
//!
//! [`DecoratedKey`] pairs a key with its token; partitions sort by token, then by
//! key bytes (unsigned lexicographic), everywhere: memtables, sstables, scans.

use std::cmp::Ordering;
use std::fmt;

use bytes::Bytes;

/// A position on the Murmur3 ring.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Token(pub i64);

impl Token {
    /// The ring's minimum: no partition has it; ranges that start here cover the ring's start.
    pub const MIN: Token = Token(i64::MIN);
    /// The largest token a partition can have.
    pub const MAX: Token = Token(i64::MAX);

    /// The token Cassandra's Murmur3Partitioner gives `key` (serialized partition key).
    /// As in Cassandra, the empty key maps to the minimum token.
    pub fn of(key: &[u8]) -> Token {
        if key.is_empty() {
            return Token::MIN;
        }
        let h1 = murmur3_h1_cassandra(key);
        if h1 == i64::MIN {
            Token::MAX
        } else {
            Token(h1)
        }
    }

    /// 8 bytes that sort (memcmp) like the token: big-endian with the sign bit flipped.
    pub fn to_comparable_bytes(self) -> [u8; 8] {
        ((self.0 as u64) ^ (1 << 63)).to_be_bytes()
    }

    /// Inverse of [`Token::to_comparable_bytes`].
    pub fn from_comparable_bytes(b: [u8; 8]) -> Token {
        Token((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// `h1` of MurmurHash3 x64_128 (seed 0) as Cassandra computes it, sign-extension quirk included.
pub fn murmur3_h1_cassandra(key: &[u8]) -> i64 {
    murmur3_x64_128_cassandra(key).0 as i64
}

/// Both halves of MurmurHash3 x64_128 (seed 0) as Cassandra computes it (bloom filters
/// use both, tokens use `h1`).
pub fn murmur3_x64_128_cassandra(key: &[u8]) -> (u64, u64) {
    let mut h1: u64 = 0;
    let mut h2: u64 = 0;
    let mut blocks = key.chunks_exact(16);
    for block in &mut blocks {
        let (a, b) = block.split_at(8);
        let mut k1 = u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
        let mut k2 = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    // Cassandra: `k ^= ((long) key.get(i)) << shift` — the byte is sign-extended.
    let signed = |i: usize| tail.get(i).map_or(0u64, |&b| (b as i8) as i64 as u64);
    let mut k1: u64 = 0;
    let mut k2: u64 = 0;
    if tail.len() > 8 {
        for i in (8..tail.len()).rev() {
            k2 ^= signed(i) << ((i - 8) * 8);
        }
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
    }
    if !tail.is_empty() {
        for i in (0..tail.len().min(8)).rev() {
            k1 ^= signed(i) << (i * 8);
        }
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
    }
    let len = key.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

/// Serializes a composite partition key: `[u16 BE len][bytes][0x00]` per component.
/// A single component is returned as it is (Cassandra hashes a simple key's raw bytes).
pub fn composite_key(components: &[&[u8]]) -> Vec<u8> {
    if let [only] = components {
        return only.to_vec();
    }
    let mut out = Vec::with_capacity(components.iter().map(|c| c.len() + 3).sum());
    for c in components {
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
        out.push(0);
    }
    out
}

/// A partition key with its token. Orders by token, then by key bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DecoratedKey {
    pub token: Token,
    pub key: Bytes,
}

impl DecoratedKey {
    /// Decorates `key` with its Murmur3 token.
    pub fn new(key: impl Into<Bytes>) -> DecoratedKey {
        let key = key.into();
        DecoratedKey {
            token: Token::of(&key),
            key,
        }
    }
}

impl Ord for DecoratedKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.token
            .cmp(&other.token)
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl PartialOrd for DecoratedKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for DecoratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecoratedKey({}, 0x", self.token)?;
        for b in self.key.iter() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// Where a scan starts or ends on the ring: before/after a token, or at a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionPosition {
    /// Before every key of this token (inclusive of the token's keys when used as a start).
    TokenStart(Token),
    /// After every key of this token.
    TokenEnd(Token),
    /// Exactly this key.
    Key(DecoratedKey),
}

impl PartitionPosition {
    /// Compares a key with this position: `Less` if the key sorts before it.
    pub fn cmp_key(&self, key: &DecoratedKey) -> Ordering {
        match self {
            PartitionPosition::TokenStart(t) => {
                if key.token < *t {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            PartitionPosition::TokenEnd(t) => {
                if key.token <= *t {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            PartitionPosition::Key(k) => key.cmp(k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparable_bytes_sort_like_tokens() {
        // Checks the memcmp encoding of tokens preserves signed order, incl. the extremes.
        let ts = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for w in ts.windows(2) {
            let (a, b) = (Token(w[0]), Token(w[1]));
            assert!(a.to_comparable_bytes() < b.to_comparable_bytes());
            assert_eq!(Token::from_comparable_bytes(a.to_comparable_bytes()), a);
        }
    }

    #[test]
    fn composite_key_layout() {
        // Checks the composite serialization is [u16 len][bytes][0] per component and a
        // single component is left raw.
        assert_eq!(composite_key(&[b"ab"]), b"ab".to_vec());
        assert_eq!(
            composite_key(&[b"ab", b"c"]),
            vec![0, 2, b'a', b'b', 0, 0, 1, b'c', 0]
        );
    }
}
