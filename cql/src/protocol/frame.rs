//! Frame headers ("envelopes" in v5 terms), whole frames, and protocol
//! version negotiation.
//!
//! # Layout (spec §2, identical for v3, v4 and v5)
//!
//! ```text
//!  0         8        16        24        32         40
//!  +---------+---------+---------+---------+---------+
//!  | version |  flags  |      stream       | opcode  |
//!  +---------+---------+---------+---------+---------+
//!  |                length                 |
//!  +---------+---------+---------+---------+
//!  |  body (length bytes)                  ...
//! ```
//!
//! * `version`: bit 0x80 is the direction (0 request, 1 response), the low
//!   seven bits the protocol version (3, 4 or 5).
//! * `flags`: [`FLAG_COMPRESSION`] 0x01, [`FLAG_TRACING`] 0x02,
//!   [`FLAG_CUSTOM_PAYLOAD`] 0x04, [`FLAG_WARNING`] 0x08, [`FLAG_BETA`] 0x10;
//!   other bits are ignored, as the spec says.
//! * `stream`: signed 16 bits; the server uses -1 for EVENTs.
//! * `opcode`: see [`Opcode`].
//! * `length`: u32 body length, bounded by the caller's maximum
//!   (Cassandra's `native_transport_max_frame_size`, 16 MiB by default,
//!   [`DEFAULT_MAX_BODY_LEN`]).
//!
//! Protocol v1 and v2 used an 8-byte header with a one-byte stream id. We do
//! not speak them, but read enough of their header to answer in kind.
//!
//! # Incremental decoding
//!
//! [`decode_header`] and [`decode_frame`] look at the bytes a connection has
//! received so far and return `Ok(None)` when they are not yet enough, an
//! error when what is there can never become a valid frame (unsupported
//! version, oversized body, unknown opcode), and the decoded item otherwise.
//! They never consume; [`decode_frame`] says how many bytes the frame used.
//!
//! # Version negotiation
//!
//! A client opens with the highest version it knows and steps down when the
//! server answers with a protocol ERROR whose message contains
//! "unsupported protocol version" (the Python driver's exact test).
//! [`decode_header`] reports such a frame as
//! [`ProtocolError::UnsupportedVersion`], whose text is Cassandra's
//! `Invalid or unsupported protocol version (N); supported versions are (3/v3, 4/v4, 5/v5)`,
//! and [`unsupported_version_response`] writes the ERROR frame. The answer's
//! version follows Cassandra's `ProtocolVersion.decode`:
//!
//! * a version *above* ours (6, or DSE's 0x41/0x42 that the Python driver
//!   tries first) is answered in v5, our highest — the highest version the
//!   client knows that is ≤ its request. Echoing the client's byte instead
//!   would be wrong: a server cannot promise the layout of a version it does
//!   not know, and v5 is a version every such client knows;
//! * a version *below* ours (1, 2) is answered in that same version, with the
//!   old 8-byte header, because such a client cannot read anything newer.
//!
//! The answer is a plain frame even for v5: segment framing only starts after
//! STARTUP/READY.

use super::error::{ProtocolError, ProtocolResult};
use super::primitives::{put_int, put_string};

/// Size of a v3+ frame header.
pub const HEADER_LEN: usize = 9;
/// Size of a v1/v2 frame header (one-byte stream id); read only to answer
/// such clients with an error they can parse.
pub const LEGACY_HEADER_LEN: usize = 8;

/// Lowest protocol version we speak (Cassandra 4/5 dropped v1 and v2).
pub const MIN_VERSION: u8 = 3;
/// Highest protocol version we speak.
pub const MAX_VERSION: u8 = 5;
/// First version with unset values (`[value]` length -2) and partition key
/// indices in Prepared metadata.
pub const V4: u8 = 4;
/// First version with segment framing, [vint]s, [int] query flags.
pub const V5: u8 = 5;

/// Direction bit of the version byte.
pub const RESPONSE_BIT: u8 = 0x80;
/// Mask of the version number in the version byte.
pub const VERSION_MASK: u8 = 0x7F;

/// Body is compressed (v3/v4; v5 compresses segments instead).
pub const FLAG_COMPRESSION: u8 = 0x01;
/// Request: trace this. Response: body starts with a tracing [uuid].
pub const FLAG_TRACING: u8 = 0x02;
/// A [bytes map] custom payload precedes the message.
pub const FLAG_CUSTOM_PAYLOAD: u8 = 0x04;
/// Response: a [string list] of warnings precedes the message.
pub const FLAG_WARNING: u8 = 0x08;
/// The client opts in to a beta protocol version (we have none; ignored).
pub const FLAG_BETA: u8 = 0x10;

/// Cassandra's default `native_transport_max_frame_size` (16 MiB); larger
/// bodies are refused before any of their bytes are buffered.
pub const DEFAULT_MAX_BODY_LEN: u32 = 16 * 1024 * 1024;

/// The stream id of server-pushed EVENT frames.
pub const EVENT_STREAM: i16 = -1;

/// The message types of spec §2.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x00, response
    Error,
    /// 0x01, request
    Startup,
    /// 0x02, response
    Ready,
    /// 0x03, response
    Authenticate,
    /// 0x05, request
    Options,
    /// 0x06, response
    Supported,
    /// 0x07, request
    Query,
    /// 0x08, response
    Result,
    /// 0x09, request
    Prepare,
    /// 0x0A, request
    Execute,
    /// 0x0B, request
    Register,
    /// 0x0C, response
    Event,
    /// 0x0D, request
    Batch,
    /// 0x0E, response
    AuthChallenge,
    /// 0x0F, request
    AuthResponse,
    /// 0x10, response
    AuthSuccess,
}

impl Opcode {
    /// The opcode of a byte.
    pub fn from_byte(b: u8) -> ProtocolResult<Opcode> {
        Ok(match b {
            0x00 => Opcode::Error,
            0x01 => Opcode::Startup,
            0x02 => Opcode::Ready,
            0x03 => Opcode::Authenticate,
            0x05 => Opcode::Options,
            0x06 => Opcode::Supported,
            0x07 => Opcode::Query,
            0x08 => Opcode::Result,
            0x09 => Opcode::Prepare,
            0x0A => Opcode::Execute,
            0x0B => Opcode::Register,
            0x0C => Opcode::Event,
            0x0D => Opcode::Batch,
            0x0E => Opcode::AuthChallenge,
            0x0F => Opcode::AuthResponse,
            0x10 => Opcode::AuthSuccess,
            other => return Err(ProtocolError::UnknownOpcode(other)),
        })
    }

    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            Opcode::Error => 0x00,
            Opcode::Startup => 0x01,
            Opcode::Ready => 0x02,
            Opcode::Authenticate => 0x03,
            Opcode::Options => 0x05,
            Opcode::Supported => 0x06,
            Opcode::Query => 0x07,
            Opcode::Result => 0x08,
            Opcode::Prepare => 0x09,
            Opcode::Execute => 0x0A,
            Opcode::Register => 0x0B,
            Opcode::Event => 0x0C,
            Opcode::Batch => 0x0D,
            Opcode::AuthChallenge => 0x0E,
            Opcode::AuthResponse => 0x0F,
            Opcode::AuthSuccess => 0x10,
        }
    }

    /// Whether clients send this opcode.
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Opcode::Startup
                | Opcode::Options
                | Opcode::Query
                | Opcode::Prepare
                | Opcode::Execute
                | Opcode::Register
                | Opcode::Batch
                | Opcode::AuthResponse
        )
    }
}

/// Direction of a frame (the version byte's high bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Protocol version (3..=5).
    pub version: u8,
    /// Request or response.
    pub direction: Direction,
    /// The raw flags byte (`FLAG_*`).
    pub flags: u8,
    /// Stream id.
    pub stream: i16,
    /// Message type.
    pub opcode: Opcode,
    /// Body length in bytes.
    pub length: u32,
}

impl FrameHeader {
    /// Whether a flag bit is set.
    pub fn has_flag(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Total frame size: header plus body.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.length as usize)
    }

    /// Appends the 9 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let dir = match self.direction {
            Direction::Request => 0,
            Direction::Response => RESPONSE_BIT,
        };
        out.push((self.version & VERSION_MASK) | dir);
        out.push(self.flags);
        out.extend_from_slice(&self.stream.to_be_bytes());
        out.push(self.opcode.byte());
        out.extend_from_slice(&self.length.to_be_bytes());
    }
}

/// A frame: header plus its (possibly still compressed) body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header; `header.length == body.len()`.
    pub header: FrameHeader,
    /// The body bytes as on the wire.
    pub body: Vec<u8>,
}

impl Frame {
    /// Serialises the frame (header with the body's length, then the body).
    pub fn encode(&self, out: &mut Vec<u8>) -> ProtocolResult<()> {
        let mut h = self.header;
        h.length = u32::try_from(self.body.len())
            .map_err(|_| ProtocolError::malformed("frame body longer than 4 GiB"))?;
        h.encode(out);
        out.extend_from_slice(&self.body);
        Ok(())
    }

    /// The frame's bytes.
    pub fn to_bytes(&self) -> ProtocolResult<Vec<u8>> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.body.len());
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// Whether we speak this protocol version.
pub fn is_supported_version(version: u8) -> bool {
    (MIN_VERSION..=MAX_VERSION).contains(&version)
}

/// The version an "unsupported version" ERROR is written in (module docs):
/// the client's own for versions below ours, our highest for versions above.
pub fn negotiation_answer_version(requested: u8) -> u8 {
    if requested < MIN_VERSION {
        requested
    } else {
        requested.min(MAX_VERSION)
    }
}

/// Decodes a frame header from the start of `buf`.
///
/// `Ok(None)`: fewer bytes than a header. Errors: a version we do not speak
/// ([`ProtocolError::UnsupportedVersion`], reported once the whole header of
/// that version is there so its stream id is known), a body longer than
/// `max_body_len` ([`ProtocolError::FrameTooLarge`]), an unknown opcode.
pub fn decode_header(buf: &[u8], max_body_len: u32) -> ProtocolResult<Option<FrameHeader>> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let version = first & VERSION_MASK;
    if !is_supported_version(version) {
        let answer_version = negotiation_answer_version(version);
        let stream = if version < MIN_VERSION {
            match buf.get(..LEGACY_HEADER_LEN) {
                Some(h) => i16::from(h[2] as i8),
                None => return Ok(None),
            }
        } else {
            match buf.get(..HEADER_LEN) {
                Some(h) => i16::from_be_bytes([h[2], h[3]]),
                None => return Ok(None),
            }
        };
        return Err(ProtocolError::UnsupportedVersion {
            version,
            answer_version,
            stream,
        });
    }
    let Some(h) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let length = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
    if length > max_body_len {
        return Err(ProtocolError::FrameTooLarge {
            length: u64::from(length),
            max: u64::from(max_body_len),
        });
    }
    Ok(Some(FrameHeader {
        version,
        direction: if first & RESPONSE_BIT != 0 {
            Direction::Response
        } else {
            Direction::Request
        },
        flags: h[1],
        stream: i16::from_be_bytes([h[2], h[3]]),
        opcode: Opcode::from_byte(h[4])?,
        length,
    }))
}

/// Decodes one whole frame from the start of `buf`; returns it with the
/// number of bytes it occupied, or `Ok(None)` while incomplete.
pub fn decode_frame(buf: &[u8], max_body_len: u32) -> ProtocolResult<Option<(Frame, usize)>> {
    let Some(header) = decode_header(buf, max_body_len)? else {
        return Ok(None);
    };
    let total = header.frame_len();
    let Some(body) = buf.get(HEADER_LEN..total) else {
        return Ok(None);
    };
    Ok(Some((
        Frame {
            header,
            body: body.to_vec(),
        },
        total,
    )))
}

/// The complete ERROR frame answering a request in an unsupported
/// `version` on `stream` (module docs explain the answer's version), with
/// Cassandra's message. v1/v2 answers use their 8-byte header.
pub fn unsupported_version_response(version: u8, stream: i16) -> Vec<u8> {
    let err = ProtocolError::UnsupportedVersion {
        version,
        answer_version: negotiation_answer_version(version),
        stream,
    };
    error_frame_for(&err, stream)
}

/// A complete ERROR frame (code 0x000A) reporting `err` on `stream`.
///
/// The frame's version is the `answer_version` of an
/// [`ProtocolError::UnsupportedVersion`], [`MAX_VERSION`] otherwise; callers
/// that know the connection's version should encode a
/// [`super::response::Response::Error`] themselves instead.
pub fn error_frame_for(err: &ProtocolError, stream: i16) -> Vec<u8> {
    let version = match err {
        ProtocolError::UnsupportedVersion { answer_version, .. } => *answer_version,
        _ => MAX_VERSION,
    };
    let mut body = Vec::new();
    put_int(&mut body, err.error_code());
    // Our messages are far below 64 KiB; fall back to a fixed text if not.
    if put_string(&mut body, &err.to_string()).is_err() {
        body.truncate(4);
        let _ = put_string(&mut body, "Protocol error");
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push((version & VERSION_MASK) | RESPONSE_BIT);
    out.push(0);
    if version < MIN_VERSION {
        // v1/v2: one-byte stream id; their stream ids fit a byte.
        out.push(stream as u8);
    } else {
        out.extend_from_slice(&stream.to_be_bytes());
    }
    out.push(Opcode::Error.byte());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_header_golden() {
        // Checks decoding of a hand-written v4 OPTIONS request header (stream 1, empty body).
        let bytes = [0x04, 0x00, 0x00, 0x01, 0x05, 0, 0, 0, 0];
        let h = decode_header(&bytes, DEFAULT_MAX_BODY_LEN)
            .expect("valid")
            .expect("complete");
        assert_eq!(h.version, 4);
        assert_eq!(h.direction, Direction::Request);
        assert_eq!(h.stream, 1);
        assert_eq!(h.opcode, Opcode::Options);
        assert_eq!(h.length, 0);
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn short_header_is_none() {
        // Checks that every prefix of a header is reported as incomplete (Ok(None)).
        let bytes = [0x04, 0x00, 0x00, 0x01, 0x05, 0, 0, 0, 0];
        for n in 0..HEADER_LEN {
            assert_eq!(decode_header(&bytes[..n], DEFAULT_MAX_BODY_LEN), Ok(None));
        }
    }

    #[test]
    fn answer_versions() {
        // Checks the negotiation answer version: own version below 3, v5 above 5.
        assert_eq!(negotiation_answer_version(1), 1);
        assert_eq!(negotiation_answer_version(2), 2);
        assert_eq!(negotiation_answer_version(4), 4);
        assert_eq!(negotiation_answer_version(6), 5);
        assert_eq!(negotiation_answer_version(0x41), 5);
        assert_eq!(negotiation_answer_version(0x42), 5);
    }
}
