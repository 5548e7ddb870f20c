//! Protocol v5 segment framing ("frames" in the v5 spec §2, "segments" in
//! the driver docs; we say segment so "frame" keeps meaning a message).
//!
//! From v5 on, once STARTUP has been answered by READY or AUTHENTICATE
//! (those two frames and everything before them travel bare), every frame
//! in both directions is carried inside segments. A segment is either
//! *self-contained* — its payload holds one or more whole frames — or one
//! part of a single frame too large for one segment; the parts follow each
//! other in order and concatenate to exactly that frame.
//!
//! # Uncompressed layout (6-byte header)
//!
//! ```text
//! byte 0..3  little-endian 24 bits: payload length (bits 0..=16),
//!            self-contained flag (bit 17), 6 bits padding
//! byte 3..6  CRC24 of bytes 0..3, little-endian
//! payload    payload length bytes (at most 128 KiB - 1)
//! trailer    CRC32 of the payload, little-endian, 4 bytes
//! ```
//!
//! # LZ4 layout (8-byte header)
//!
//! ```text
//! byte 0..5  little-endian 40 bits: compressed length (bits 0..=16),
//!            uncompressed length (bits 17..=33), self-contained (bit 34),
//!            5 bits padding
//! byte 5..8  CRC24 of bytes 0..5, little-endian
//! payload    compressed length bytes: a raw LZ4 block, or the raw data
//!            when the uncompressed length is 0 (compression did not help)
//! trailer    CRC32 of the payload as sent (compressed), little-endian
//! ```
//!
//! # Checksums
//!
//! * CRC24: MSB-first, initial value 0x875060, polynomial 0x1974F0B, no
//!   reflection, no final xor; bytes fed in wire order (low byte first).
//! * CRC32: the standard IEEE CRC32 (zlib's), computed as if the four bytes
//!   `FA 2D 55 CA` preceded the payload.
//!
//! Both are table-driven here; the tests check them against straightforward
//! bitwise implementations.
//!
//! # API
//!
//! [`encode_segments`] packs encoded frames into segments (small frames
//! share self-contained segments; a frame longer than
//! [`MAX_SEGMENT_PAYLOAD`] is split). [`decode_segment`] reads one segment
//! incrementally; [`SegmentDecoder`] turns a byte stream into [`Frame`]s,
//! reassembling split frames, and rejects CRC mismatches.

use super::compression::{lz4_compress_block, lz4_decompress_block, Compression};
use super::error::{ProtocolError, ProtocolResult};
use super::frame::{decode_frame, decode_header, Frame, HEADER_LEN};

/// Largest segment payload: the length field has 17 bits (128 KiB - 1).
pub const MAX_SEGMENT_PAYLOAD: usize = (1 << 17) - 1;
/// Header size of an uncompressed segment (3 bytes + CRC24).
pub const HEADER_LEN_UNCOMPRESSED: usize = 6;
/// Header size of an LZ4 segment (5 bytes + CRC24).
pub const HEADER_LEN_LZ4: usize = 8;
/// Size of the CRC24 field.
const CRC24_LEN: usize = 3;
/// Size of the payload CRC32 trailer.
pub const TRAILER_LEN: usize = 4;
/// Mask of a 17-bit length field.
const LENGTH_MASK: u64 = (1 << 17) - 1;
/// Self-contained bit of an uncompressed header.
const SELF_CONTAINED_BIT_UNCOMPRESSED: u64 = 1 << 17;
/// Self-contained bit of an LZ4 header.
const SELF_CONTAINED_BIT_LZ4: u64 = 1 << 34;
/// Bit offset of the uncompressed length in an LZ4 header.
const LZ4_UNCOMPRESSED_SHIFT: u32 = 17;

/// CRC24 initial value (Cassandra `Crc.CRC24_INIT`).
pub const CRC24_INIT: u32 = 0x875060;
/// CRC24 polynomial including the x^24 term (Cassandra `Crc.CRC24_POLY`).
pub const CRC24_POLY: u32 = 0x1974F0B;
/// Bytes the payload CRC32 is seeded with (Cassandra `Crc.initialBytes`).
pub const CRC32_SEED_BYTES: [u8; 4] = [0xFA, 0x2D, 0x55, 0xCA];
/// Reflected IEEE CRC32 polynomial.
const CRC32_POLY_REFLECTED: u32 = 0xEDB8_8320;

const CRC24_TABLE: [u32; 256] = crc24_table();
const CRC32_TABLE: [u32; 256] = crc32_table();

const fn crc24_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 16;
        let mut k = 0;
        while k < 8 {
            c <<= 1;
            if c & 0x100_0000 != 0 {
                c ^= CRC24_POLY;
            }
            k += 1;
        }
        t[i] = c & 0xFF_FFFF;
        i += 1;
    }
    t
}

const fn crc32_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ CRC32_POLY_REFLECTED
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// CRC24 of a segment header's leading bytes (wire order).
pub fn crc24(bytes: &[u8]) -> u32 {
    let mut crc = CRC24_INIT;
    for &b in bytes {
        let idx = ((crc >> 16) ^ u32::from(b)) & 0xFF;
        crc = ((crc << 8) ^ CRC24_TABLE[idx as usize]) & 0xFF_FFFF;
    }
    crc
}

/// Standard IEEE CRC32 (zlib `crc32`) of `data`.
pub fn crc32_ieee(data: &[u8]) -> u32 {
    !crc32_update(!0, data)
}

fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = (crc >> 8) ^ CRC32_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize];
    }
    crc
}

/// The segment payload checksum: CRC32 over `FA 2D 55 CA` then `payload`.
pub fn segment_crc32(payload: &[u8]) -> u32 {
    !crc32_update(crc32_update(!0, &CRC32_SEED_BYTES), payload)
}

fn le_bytes(v: u64, n: usize) -> impl Iterator<Item = u8> {
    (0..n).map(move |i| (v >> (8 * i)) as u8)
}

fn from_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Appends one segment carrying `payload` (at most [`MAX_SEGMENT_PAYLOAD`]
/// bytes). With LZ4 the payload is compressed unless that does not shrink it.
pub fn encode_segment(
    payload: &[u8],
    self_contained: bool,
    compression: Option<Compression>,
    out: &mut Vec<u8>,
) -> ProtocolResult<()> {
    if payload.len() > MAX_SEGMENT_PAYLOAD {
        return Err(ProtocolError::malformed(format!(
            "Segment payload of {} bytes exceeds the maximum of {MAX_SEGMENT_PAYLOAD}",
            payload.len()
        )));
    }
    match compression {
        None => {
            let mut h = payload.len() as u64;
            if self_contained {
                h |= SELF_CONTAINED_BIT_UNCOMPRESSED;
            }
            let start = out.len();
            out.extend(le_bytes(h, HEADER_LEN_UNCOMPRESSED - CRC24_LEN));
            let crc = crc24(&out[start..]);
            out.extend(le_bytes(u64::from(crc), CRC24_LEN));
            out.extend_from_slice(payload);
        }
        Some(Compression::Lz4) => {
            let compressed = lz4_compress_block(payload);
            let (body, uncompressed_len): (&[u8], usize) = if compressed.len() < payload.len() {
                (&compressed, payload.len())
            } else {
                (payload, 0)
            };
            let mut h = body.len() as u64 | ((uncompressed_len as u64) << LZ4_UNCOMPRESSED_SHIFT);
            if self_contained {
                h |= SELF_CONTAINED_BIT_LZ4;
            }
            let start = out.len();
            out.extend(le_bytes(h, HEADER_LEN_LZ4 - CRC24_LEN));
            let crc = crc24(&out[start..]);
            out.extend(le_bytes(u64::from(crc), CRC24_LEN));
            out.extend_from_slice(body);
            let c = segment_crc32(body);
            out.extend_from_slice(&c.to_le_bytes());
            return Ok(());
        }
    }
    out.extend_from_slice(&segment_crc32(payload).to_le_bytes());
    Ok(())
}

/// Packs encoded frames (each a complete frame: header and body) into
/// segments appended to `out`, in order. Consecutive frames share a
/// self-contained segment while they fit; a frame longer than
/// [`MAX_SEGMENT_PAYLOAD`] is split over non-self-contained segments.
pub fn encode_segments<F: AsRef<[u8]>>(
    frames: &[F],
    compression: Option<Compression>,
    out: &mut Vec<u8>,
) -> ProtocolResult<()> {
    let mut pending: Vec<u8> = Vec::new();
    for f in frames {
        let f = f.as_ref();
        if f.len() > MAX_SEGMENT_PAYLOAD {
            if !pending.is_empty() {
                encode_segment(&pending, true, compression, out)?;
                pending.clear();
            }
            for part in f.chunks(MAX_SEGMENT_PAYLOAD) {
                encode_segment(part, false, compression, out)?;
            }
            continue;
        }
        if pending.len() + f.len() > MAX_SEGMENT_PAYLOAD {
            encode_segment(&pending, true, compression, out)?;
            pending.clear();
        }
        pending.extend_from_slice(f);
    }
    if !pending.is_empty() {
        encode_segment(&pending, true, compression, out)?;
    }
    Ok(())
}

/// One decoded segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Whether the payload holds whole frames only.
    pub self_contained: bool,
    /// The payload, decompressed.
    pub payload: Vec<u8>,
}

/// Decodes one segment from the start of `buf`: `Ok(None)` until it is all
/// there, then the segment and the bytes it used. CRC mismatches are errors;
/// the header CRC is checked as soon as the header is complete.
pub fn decode_segment(
    buf: &[u8],
    compression: Option<Compression>,
) -> ProtocolResult<Option<(Segment, usize)>> {
    let header_len = match compression {
        None => HEADER_LEN_UNCOMPRESSED,
        Some(Compression::Lz4) => HEADER_LEN_LZ4,
    };
    let Some(header) = buf.get(..header_len) else {
        return Ok(None);
    };
    let (fields, crc_bytes) = header.split_at(header_len - CRC24_LEN);
    let computed = crc24(fields);
    let received = from_le(crc_bytes) as u32;
    if computed != received {
        return Err(ProtocolError::SegmentHeaderCrc { computed, received });
    }
    let h = from_le(fields);
    let payload_len = (h & LENGTH_MASK) as usize;
    let (uncompressed_len, self_contained) = match compression {
        None => (0, h & SELF_CONTAINED_BIT_UNCOMPRESSED != 0),
        Some(_) => (
            ((h >> LZ4_UNCOMPRESSED_SHIFT) & LENGTH_MASK) as usize,
            h & SELF_CONTAINED_BIT_LZ4 != 0,
        ),
    };
    let total = header_len + payload_len + TRAILER_LEN;
    let Some(seg) = buf.get(..total) else {
        return Ok(None);
    };
    let payload = &seg[header_len..header_len + payload_len];
    let received = from_le(&seg[header_len + payload_len..]) as u32;
    let computed = segment_crc32(payload);
    if computed != received {
        return Err(ProtocolError::SegmentPayloadCrc { computed, received });
    }
    let payload = if compression.is_some() && uncompressed_len != 0 {
        lz4_decompress_block(payload, uncompressed_len)?
    } else {
        payload.to_vec()
    };
    Ok(Some((
        Segment {
            self_contained,
            payload,
        },
        total,
    )))
}

/// Turns a v5 byte stream into frames: decodes segments, splits
/// self-contained payloads into frames, reassembles split frames.
///
/// Pure: the caller owns the receive buffer, passes it to
/// [`SegmentDecoder::decode`] and drops the bytes it reports consumed. Only
/// the part of a split frame received so far is kept here.
#[derive(Clone, Debug)]
pub struct SegmentDecoder {
    compression: Option<Compression>,
    max_body_len: u32,
    /// The prefix of a frame spread over non-self-contained segments.
    partial: Vec<u8>,
}

impl SegmentDecoder {
    /// A decoder for a connection with this compression and frame body bound.
    pub fn new(compression: Option<Compression>, max_body_len: u32) -> Self {
        SegmentDecoder {
            compression,
            max_body_len,
            partial: Vec::new(),
        }
    }

    /// Whether a split frame is partly received.
    pub fn has_partial_frame(&self) -> bool {
        !self.partial.is_empty()
    }

    /// Decodes every complete segment at the start of `input`; returns the
    /// frames they completed and the number of bytes consumed (whole
    /// segments only). After an error the connection should be closed: the
    /// stream position is lost.
    pub fn decode(&mut self, input: &[u8]) -> ProtocolResult<(Vec<Frame>, usize)> {
        let mut frames = Vec::new();
        let mut consumed = 0;
        while let Some((seg, used)) =
            decode_segment(input.get(consumed..).unwrap_or(&[]), self.compression)?
        {
            consumed += used;
            if seg.self_contained {
                self.self_contained(&seg.payload, &mut frames)?;
            } else {
                self.part(&seg.payload, &mut frames)?;
            }
        }
        Ok((frames, consumed))
    }

    fn self_contained(&mut self, payload: &[u8], frames: &mut Vec<Frame>) -> ProtocolResult<()> {
        if !self.partial.is_empty() {
            return Err(ProtocolError::malformed(
                "Self-contained segment received while a frame split over segments is incomplete",
            ));
        }
        let mut pos = 0;
        while pos < payload.len() {
            match decode_frame(payload.get(pos..).unwrap_or(&[]), self.max_body_len)? {
                Some((frame, used)) => {
                    frames.push(frame);
                    pos += used;
                }
                None => {
                    return Err(ProtocolError::malformed(
                        "Self-contained segment ends with a partial frame",
                    ))
                }
            }
        }
        Ok(())
    }

    fn part(&mut self, payload: &[u8], frames: &mut Vec<Frame>) -> ProtocolResult<()> {
        if payload.is_empty() {
            return Err(ProtocolError::malformed("Empty non-self-contained segment"));
        }
        self.partial.extend_from_slice(payload);
        let Some(header) = decode_header(&self.partial, self.max_body_len)? else {
            return Ok(());
        };
        let total = header.frame_len();
        if self.partial.len() < total {
            return Ok(());
        }
        if self.partial.len() > total {
            self.partial.clear();
            return Err(ProtocolError::malformed(
                "Non-self-contained segments carry more than one frame",
            ));
        }
        let whole = std::mem::take(&mut self.partial);
        let body = whole.get(HEADER_LEN..).unwrap_or(&[]).to_vec();
        frames.push(Frame { header, body });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cassandra's bitwise CRC24 (`Crc.crc24`), fed the header as a number.
    fn crc24_bitwise(mut bytes: u64, mut len: usize) -> u32 {
        let mut crc: u32 = 0x875060;
        while len > 0 {
            len -= 1;
            crc ^= ((bytes & 0xff) as u32) << 16;
            bytes >>= 8;
            for _ in 0..8 {
                crc <<= 1;
                if crc & 0x1000000 != 0 {
                    crc ^= 0x1974F0B;
                }
            }
        }
        crc
    }

    #[test]
    fn crc24_matches_bitwise() {
        // Checks the table-driven CRC24 against the bitwise reference on many header values.
        for v in [0u64, 1, 0x1FFFF, 0x3FFFF, 0x20005, 0x12_3456, 0xFF_FFFF] {
            let b: Vec<u8> = le_bytes(v, 3).collect();
            assert_eq!(crc24(&b), crc24_bitwise(v, 3), "v={v:#x}");
        }
        for v in [0u64, 0x1_2345_6789, 0xFF_FFFF_FFFF] {
            let b: Vec<u8> = le_bytes(v, 5).collect();
            assert_eq!(crc24(&b), crc24_bitwise(v, 5));
        }
        assert_eq!(crc24(&[]), 0x875060);
    }

    #[test]
    fn crc32_check_value() {
        // Checks the IEEE CRC32 against its standard check value for "123456789".
        assert_eq!(crc32_ieee(b"123456789"), 0xCBF4_3926);
        let mut seeded = CRC32_SEED_BYTES.to_vec();
        seeded.extend_from_slice(b"abc");
        assert_eq!(segment_crc32(b"abc"), crc32_ieee(&seeded));
    }

    #[test]
    fn corrupted_crc_rejected() {
        // Checks that flipping a header or payload bit yields the matching CRC error.
        let mut seg = Vec::new();
        encode_segment(b"hello", true, None, &mut seg).expect("encode");
        let mut bad = seg.clone();
        bad[0] ^= 1;
        assert!(matches!(
            decode_segment(&bad, None),
            Err(ProtocolError::SegmentHeaderCrc { .. })
        ));
        let mut bad = seg.clone();
        bad[7] ^= 1;
        assert!(matches!(
            decode_segment(&bad, None),
            Err(ProtocolError::SegmentPayloadCrc { .. })
        ));
        assert!(decode_segment(&seg, None).expect("ok").is_some());
    }
}
