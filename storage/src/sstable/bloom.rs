//! Bloom filter over partition keys: lets a read skip an sstable that cannot hold
//! the key. Bits are set by double hashing (Kirsch–Mitzenmacher) of the key's
//! Murmur3 x64_128 halves, the hash Cassandra's filters use. Sized from the
//! expected key count and `bloom_filter_fp_chance` (default 0.01: about 9.6 bits
//! and 7 probes per key).
//!
//! Layout (in `Filter.db`, after the common file header):
//! `[num_bits: u64 LE][num_hashes: u32 LE][bits: ceil(num_bits/64) × u64 LE]`.

use crate::codec::{DecodeError, DecodeResult, Reader};

/// Most probes per key: beyond 20 the false-positive gain is nil and reads slow down.
const MAX_HASHES: u32 = 20;
/// Largest filter accepted when decoding (2^36 bits = 8 GiB): a corrupt size must not
/// allocate unbounded memory.
const MAX_BITS: u64 = 1 << 36;

/// A fixed-size bloom filter.
#[derive(Clone, Debug)]
pub struct BloomFilter {
    bits: Vec<u64>,
    num_bits: u64,
    num_hashes: u32,
}

impl BloomFilter {
    /// A filter for `expected` keys at false-positive chance `fp`.
    pub fn new(expected: u64, fp: f64) -> BloomFilter {
        let n = expected.max(1) as f64;
        let fp = fp.clamp(1e-9, 0.999);
        let ln2 = std::f64::consts::LN_2;
        let num_bits = ((-n * fp.ln()) / (ln2 * ln2)).ceil().max(64.0) as u64;
        let num_hashes = ((num_bits as f64 / n) * ln2)
            .round()
            .clamp(1.0, MAX_HASHES as f64) as u32;
        BloomFilter {
            bits: vec![0; num_bits.div_ceil(64) as usize],
            num_bits,
            num_hashes,
        }
    }

    fn positions(&self, hash: (u64, u64)) -> impl Iterator<Item = u64> + '_ {
        let (h1, h2) = hash;
        (0..self.num_hashes as u64)
            .map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % self.num_bits)
    }

    /// Adds a key, given its Murmur3 x64_128 hash.
    pub fn add(&mut self, hash: (u64, u64)) {
        let ps: Vec<u64> = self.positions(hash).collect();
        for p in ps {
            if let Some(w) = self.bits.get_mut((p / 64) as usize) {
                *w |= 1 << (p % 64);
            }
        }
    }

    /// False when the key is certainly absent.
    pub fn may_contain(&self, hash: (u64, u64)) -> bool {
        self.positions(hash).all(|p| {
            self.bits
                .get((p / 64) as usize)
                .is_some_and(|w| w & (1 << (p % 64)) != 0)
        })
    }

    /// Serialized size in bytes.
    pub fn encoded_len(&self) -> usize {
        12 + self.bits.len() * 8
    }

    /// Appends the layout described in the module doc.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.num_bits.to_le_bytes());
        out.extend_from_slice(&self.num_hashes.to_le_bytes());
        for w in &self.bits {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    /// Decodes [`BloomFilter::encode`]'s output.
    pub fn decode(r: &mut Reader<'_>) -> DecodeResult<BloomFilter> {
        let num_bits = r.u64_le()?;
        let num_hashes = r.u32_le()?;
        if num_bits == 0 || num_bits > MAX_BITS || num_hashes == 0 || num_hashes > MAX_HASHES {
            return Err(DecodeError {
                offset: r.position(),
                reason: "bloom filter size out of range",
            });
        }
        let words = num_bits.div_ceil(64) as usize;
        let raw = r.take(words * 8)?;
        let bits = raw
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            })
            .collect();
        Ok(BloomFilter {
            bits,
            num_bits,
            num_hashes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::murmur3_x64_128_cassandra as h;

    #[test]
    fn no_false_negatives_and_fp_near_target() {
        // Checks every added key is found and the false-positive rate on 20k absent keys stays
        // near the 1% target (below 2%), and that encode/decode keeps answers.
        let mut f = BloomFilter::new(10_000, 0.01);
        for i in 0..10_000u32 {
            f.add(h(&i.to_be_bytes()));
        }
        let mut buf = Vec::new();
        f.encode(&mut buf);
        let g = BloomFilter::decode(&mut Reader::new(&buf)).expect("decode");
        for i in 0..10_000u32 {
            assert!(g.may_contain(h(&i.to_be_bytes())));
        }
        let fp = (10_000..30_000u32)
            .filter(|i| g.may_contain(h(&i.to_be_bytes())))
            .count();
        assert!(fp < 400, "false positives {fp} of 20000");
    }
}
