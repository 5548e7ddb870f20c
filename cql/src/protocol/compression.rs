//! Frame body compression for protocol v3/v4 (spec v4 §5).
//!
//! A client picks an algorithm in STARTUP's `COMPRESSION` option; every
//! later frame whose header has [`super::frame::FLAG_COMPRESSION`] set
//! carries a compressed body. STARTUP itself (and OPTIONS/SUPPORTED before
//! it) is never compressed.
//!
//! Only LZ4 is implemented. Its compressed body is
//!
//! ```text
//! +----------------------------+------------------------------+
//! | uncompressed length (u32   | LZ4 block (raw block format, |
//! | big-endian, 4 bytes)       | no frame header)             |
//! +----------------------------+------------------------------+
//! ```
//!
//! Snappy, the spec's other v4 algorithm, needs a crate the workspace does
//! not depend on; we do not advertise it in SUPPORTED, so drivers never
//! choose it, and STARTUP asking for it is refused like any unknown name.
//!
//! Protocol v5 compresses whole segments instead (see [`super::segment`]),
//! with the same LZ4 block format but the lengths in the segment header.
//!
//! Decompression is bounded: the announced uncompressed length must not
//! exceed the caller's maximum body length, so a 10-byte frame cannot make
//! us allocate gigabytes.

use super::error::{ProtocolError, ProtocolResult};

/// Size of the uncompressed-length prefix of a v4 LZ4 body.
const LZ4_LENGTH_PREFIX: usize = 4;

/// A negotiated compression algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// LZ4 block compression.
    Lz4,
}

impl Compression {
    /// The algorithm named in STARTUP's `COMPRESSION` option
    /// (case-insensitive, as Cassandra compares it).
    pub fn from_name(name: &str) -> ProtocolResult<Compression> {
        if name.eq_ignore_ascii_case("lz4") {
            Ok(Compression::Lz4)
        } else {
            Err(ProtocolError::malformed(format!(
                "Unknown compression algorithm: {name}"
            )))
        }
    }

    /// The name used in SUPPORTED and STARTUP.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Lz4 => "lz4",
        }
    }
}

/// Raw LZ4 block compression (no length prefix).
pub fn lz4_compress_block(data: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress(data)
}

/// Raw LZ4 block decompression to exactly `uncompressed_len` bytes.
pub fn lz4_decompress_block(data: &[u8], uncompressed_len: usize) -> ProtocolResult<Vec<u8>> {
    let out = lz4_flex::block::decompress(data, uncompressed_len)
        .map_err(|e| ProtocolError::Compression(format!("Invalid LZ4 data: {e}")))?;
    if out.len() != uncompressed_len {
        return Err(ProtocolError::Compression(format!(
            "LZ4 data decompressed to {} bytes, {} announced",
            out.len(),
            uncompressed_len
        )));
    }
    Ok(out)
}

/// Compresses a v3/v4 frame body.
pub fn compress_body(compression: Compression, body: &[u8]) -> ProtocolResult<Vec<u8>> {
    match compression {
        Compression::Lz4 => {
            let len = u32::try_from(body.len())
                .map_err(|_| ProtocolError::Compression("body too long to compress".into()))?;
            let block = lz4_compress_block(body);
            let mut out = Vec::with_capacity(LZ4_LENGTH_PREFIX + block.len());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&block);
            Ok(out)
        }
    }
}

/// Decompresses a v3/v4 frame body; the result may not exceed `max_len`.
pub fn decompress_body(
    compression: Compression,
    body: &[u8],
    max_len: u32,
) -> ProtocolResult<Vec<u8>> {
    match compression {
        Compression::Lz4 => {
            let (prefix, block) =
                body.split_at_checked(LZ4_LENGTH_PREFIX)
                    .ok_or(ProtocolError::Incomplete {
                        what: "the uncompressed length of an LZ4 body",
                    })?;
            let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
            if len > max_len {
                return Err(ProtocolError::FrameTooLarge {
                    length: u64::from(len),
                    max: u64::from(max_len),
                });
            }
            lz4_decompress_block(block, len as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_body_round_trip() {
        // Checks v4 LZ4 body compression round trips and carries a big-endian length prefix.
        let body: Vec<u8> = (0..5000u32).flat_map(|i| (i % 7).to_be_bytes()).collect();
        let c = compress_body(Compression::Lz4, &body).expect("compress");
        assert_eq!(&c[..4], &(body.len() as u32).to_be_bytes());
        assert!(c.len() < body.len());
        assert_eq!(decompress_body(Compression::Lz4, &c, 1 << 20), Ok(body));
    }

    #[test]
    fn lz4_bounds() {
        // Checks that an announced length above the maximum and garbage blocks are errors.
        let c = compress_body(Compression::Lz4, &[7u8; 1000]).expect("compress");
        assert!(matches!(
            decompress_body(Compression::Lz4, &c, 999),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
        assert!(decompress_body(Compression::Lz4, &[0, 0, 0, 10, 0xff, 0xff], 100).is_err());
        assert!(decompress_body(Compression::Lz4, &[0, 0], 100)
            .expect_err("short")
            .is_incomplete());
    }
}
