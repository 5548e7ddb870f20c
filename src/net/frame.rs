//! The internode frame: one message on a TCP connection.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! offset  size  field
//! 0       4     length: u32, the bytes that follow this field
//!               (FRAME_BODY_MIN_BYTES ..= the configured maximum, MAX_FRAME_BYTES by default)
//! 4       1     protocol version: PROTOCOL_VERSION
//! 5       1     flags: bit 0 = response (FLAG_RESPONSE); other bits must be 0
//! 6       1     verb: Verb's wire id
//! 7       8     request id: u64; a response carries its request's id
//! 15      7|19  sender: its listen address (codec.rs layout: family 4|6,
//!               IP octets, port), not the TCP source, whose port is ephemeral
//! ..      n     payload: the verb's serialised body (n = length - header - 4)
//! end-4   4     CRC32C of every byte before it, the length field included
//! ```
//!
//! Why this shape: the length prefix lets a reader allocate once and refuse
//! a frame before reading it; the trailing checksum over the whole frame
//! (length included) catches corruption of any field, as Cassandra's v5
//! internode framing does per frame. There is no connection handshake: every
//! frame names its version and sender, which costs ~8 bytes and lets either
//! side reconnect at any time. Cassandra negotiates the version once per
//! connection instead (`HandshakeProtocol`); we can add that when there are two
//! versions to choose between.
//!
//! Decoding checks in this order: length bounds (before reading the body), the
//! CRC, the version, the flags, the verb. Every failure but an unknown verb
//! means the stream cannot be trusted and the connection is closed; after an
//! unknown verb the frame boundaries are still sound, so only that frame is
//! skipped.

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::{put_addr, Reader, ADDR_MIN_BYTES};
use super::error::NetError;
use super::verb::Verb;

/// The framing version this node writes and accepts.
pub const PROTOCOL_VERSION: u8 = 1;
/// Flags bit 0: the frame is a response to the request with the same id.
pub const FLAG_RESPONSE: u8 = 0b0000_0001;
/// Size of the length prefix.
pub const LENGTH_BYTES: usize = 4;
/// Size of the CRC32C trailer.
pub const CRC_BYTES: usize = 4;
/// The smallest body a frame can have: version, flags, verb, id, an IPv4
/// sender, no payload, the CRC.
pub const FRAME_BODY_MIN_BYTES: usize = 1 + 1 + 1 + 8 + ADDR_MIN_BYTES + CRC_BYTES;
/// The largest a frame is beyond its payload: length, version, flags, verb,
/// id, an IPv6 sender, the CRC. A payload above `max - this` is not sent.
pub const FRAME_OVERHEAD_MAX_BYTES: usize = LENGTH_BYTES + 1 + 1 + 1 + 8 + 19 + CRC_BYTES;
/// Default upper bound of a frame's length field: 16 MiB. Large enough for a
/// gossip Ack describing a thousand nodes with 256 tokens each (~6 MiB of
/// text), small enough that a corrupt or hostile length cannot make a reader
/// allocate gigabytes. Bigger payloads (streaming) must be chunked.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub verb: Verb,
    pub id: u64,
    pub from: SocketAddr,
    pub is_response: bool,
    pub payload: Bytes,
}

impl Frame {
    /// Appends the encoded frame, length prefix and CRC included, to `buf`.
    pub fn encode_into(&self, buf: &mut BytesMut) {
        let start = buf.len();
        buf.put_u32(0); // patched below once the body length is known
        buf.put_u8(PROTOCOL_VERSION);
        buf.put_u8(if self.is_response { FLAG_RESPONSE } else { 0 });
        buf.put_u8(self.verb.id());
        buf.put_u64(self.id);
        put_addr(buf, self.from);
        buf.put_slice(&self.payload);
        let body_len = buf.len() - start - LENGTH_BYTES + CRC_BYTES;
        let len = u32::try_from(body_len).unwrap_or(u32::MAX);
        if let Some(prefix) = buf.get_mut(start..start + LENGTH_BYTES) {
            prefix.copy_from_slice(&len.to_be_bytes());
        }
        let crc = crc32c::crc32c(buf.get(start..).unwrap_or_default());
        buf.put_u32(crc);
    }

    /// The encoded frame on its own.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(64 + self.payload.len());
        self.encode_into(&mut buf);
        buf.freeze()
    }
}

/// Checks a length prefix against the bounds before the body is read.
pub fn check_length(len: u32, max_frame_bytes: usize) -> Result<usize, NetError> {
    let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
    if len_usize < FRAME_BODY_MIN_BYTES || len_usize > max_frame_bytes {
        return Err(NetError::FrameTooLarge {
            len: u64::from(len),
            min: FRAME_BODY_MIN_BYTES as u64,
            max: max_frame_bytes as u64,
        });
    }
    Ok(len_usize)
}

/// Decodes a frame's body (everything after the length prefix `len`).
/// `body.len()` must equal `len`.
pub fn decode_body(len: u32, body: Bytes) -> Result<Frame, NetError> {
    let Some(crc_at) = body.len().checked_sub(CRC_BYTES) else {
        return Err(NetError::Malformed(
            "frame shorter than its checksum".into(),
        ));
    };
    let (covered, trailer) = body.split_at(crc_at);
    let mut expected_bytes = [0u8; CRC_BYTES];
    expected_bytes.copy_from_slice(trailer);
    let expected = u32::from_be_bytes(expected_bytes);
    let got = crc32c::crc32c_append(crc32c::crc32c(&len.to_be_bytes()), covered);
    if got != expected {
        return Err(NetError::ChecksumMismatch { expected, got });
    }
    let mut r = Reader::new(covered);
    let version = r.u8("version")?;
    if version != PROTOCOL_VERSION {
        return Err(NetError::UnsupportedVersion {
            got: version,
            supported: PROTOCOL_VERSION,
        });
    }
    let flags = r.u8("flags")?;
    if flags & !FLAG_RESPONSE != 0 {
        return Err(NetError::Malformed(format!(
            "unknown flag bits {flags:#04x}"
        )));
    }
    let verb_id = r.u8("verb")?;
    let id = r.u64("request id")?;
    let from = r.addr("sender address")?;
    let verb = Verb::from_id(verb_id).ok_or(NetError::UnknownVerb(verb_id))?;
    let payload = body.slice(r.position()..crc_at);
    Ok(Frame {
        verb,
        id,
        from,
        is_response: flags & FLAG_RESPONSE != 0,
        payload,
    })
}

/// Decodes one whole frame (length prefix included) from `buf`, for tests and
/// tools; the connection reader uses [`check_length`] and [`decode_body`].
pub fn decode(buf: &[u8], max_frame_bytes: usize) -> Result<Frame, NetError> {
    let mut r = Reader::new(buf);
    let len = r.u32("frame length")?;
    let body_len = check_length(len, max_frame_bytes)?;
    let body = r.take(body_len, "frame body")?;
    r.finish("frame")?;
    decode_body(len, Bytes::copy_from_slice(body))
}
