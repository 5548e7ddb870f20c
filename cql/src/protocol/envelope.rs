//! Whole messages: a [`Request`] or [`Response`] together with its header
//! fields and the optional prefixes the header flags announce, to and from
//! complete frames.
//!
//! # Body prefixes (spec §2.2 and v5 §4)
//!
//! ```text
//! response body = [tracing id: [uuid], if FLAG_TRACING]
//!                 [warnings: [string list], if FLAG_WARNING]
//!                 [custom payload: [bytes map], if FLAG_CUSTOM_PAYLOAD]
//!                 message
//! request body  = [custom payload: [bytes map], if FLAG_CUSTOM_PAYLOAD]
//!                 message
//! ```
//!
//! A request's tracing flag asks for tracing and adds no bytes.
//!
//! # Compression
//!
//! In v3/v4 the body — prefixes included — is compressed when the
//! connection negotiated compression and the frame is not STARTUP, OPTIONS
//! or their answers (SUPPORTED, READY, AUTHENTICATE), and the header then carries [`FLAG_COMPRESSION`]. In
//! v5 compression happens per segment ([`super::segment`]), the frame itself
//! is never compressed and its compression flag is ignored when decoding
//! (Cassandra does the same). The decoders decompress whenever the flag is
//! set in v3/v4 and refuse a compressed frame on a connection that did not
//! negotiate compression.

use super::compression::{compress_body, decompress_body, Compression};
use super::error::{ProtocolError, ProtocolResult};
use super::frame::{
    is_supported_version, Direction, Frame, FrameHeader, Opcode, FLAG_BETA, FLAG_COMPRESSION,
    FLAG_CUSTOM_PAYLOAD, FLAG_TRACING, FLAG_WARNING, V5,
};
use super::primitives::{put_bytes_map, put_string_list, put_uuid, BytesMap, Reader, UUID_LEN};
use super::request::Request;
use super::response::Response;

/// A request with its frame-level fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEnvelope {
    /// Protocol version.
    pub version: u8,
    /// Stream id (non-negative for client requests).
    pub stream: i16,
    /// The client asks for tracing.
    pub tracing: bool,
    /// The client set the beta flag.
    pub beta: bool,
    /// Custom payload (QUERY, PREPARE, EXECUTE, BATCH).
    pub custom_payload: Option<BytesMap>,
    /// The message.
    pub request: Request,
}

impl RequestEnvelope {
    /// A request without tracing or payload.
    pub fn new(version: u8, stream: i16, request: Request) -> Self {
        RequestEnvelope {
            version,
            stream,
            tracing: false,
            beta: false,
            custom_payload: None,
            request,
        }
    }
}

/// A response with its frame-level fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseEnvelope {
    /// Protocol version.
    pub version: u8,
    /// Stream id (the request's, or -1 for events).
    pub stream: i16,
    /// Tracing session id, when the request asked for tracing.
    pub tracing_id: Option<[u8; UUID_LEN]>,
    /// Warnings (empty: no warning flag).
    pub warnings: Vec<String>,
    /// Custom payload.
    pub custom_payload: Option<BytesMap>,
    /// The message.
    pub response: Response,
}

impl ResponseEnvelope {
    /// A response without tracing, warnings or payload.
    pub fn new(version: u8, stream: i16, response: Response) -> Self {
        ResponseEnvelope {
            version,
            stream,
            tracing_id: None,
            warnings: Vec::new(),
            custom_payload: None,
            response,
        }
    }
}

/// Whether a frame with this opcode may be compressed: everything but the
/// handshake, which happens before compression is in force (Cassandra also
/// sends READY/AUTHENTICATE, the answers to STARTUP, uncompressed).
fn compressible(opcode: Opcode) -> bool {
    !matches!(
        opcode,
        Opcode::Startup
            | Opcode::Options
            | Opcode::Supported
            | Opcode::Ready
            | Opcode::Authenticate
    )
}

fn check_version(version: u8) -> ProtocolResult<()> {
    if is_supported_version(version) {
        Ok(())
    } else {
        Err(ProtocolError::UnsupportedVersion {
            version,
            answer_version: super::frame::negotiation_answer_version(version),
            stream: 0,
        })
    }
}

fn finish(
    version: u8,
    direction: Direction,
    mut flags: u8,
    stream: i16,
    opcode: Opcode,
    body: Vec<u8>,
    compression: Option<Compression>,
) -> ProtocolResult<Frame> {
    let body = match compression {
        Some(c) if version < V5 && compressible(opcode) => {
            flags |= FLAG_COMPRESSION;
            compress_body(c, &body)?
        }
        _ => body,
    };
    let length = u32::try_from(body.len())
        .map_err(|_| ProtocolError::malformed("frame body longer than 4 GiB"))?;
    Ok(Frame {
        header: FrameHeader {
            version,
            direction,
            flags,
            stream,
            opcode,
            length,
        },
        body,
    })
}

/// The body of a frame, decompressed if its v3/v4 header says so.
fn plain_body(
    frame: &Frame,
    compression: Option<Compression>,
    max_body_len: u32,
) -> ProtocolResult<Vec<u8>> {
    let h = &frame.header;
    if h.version < V5 && h.has_flag(FLAG_COMPRESSION) {
        let c = compression.ok_or_else(|| {
            ProtocolError::malformed(
                "Received a compressed frame but no compression was negotiated",
            )
        })?;
        decompress_body(c, &frame.body, max_body_len)
    } else {
        Ok(frame.body.clone())
    }
}

/// Encodes a request into a frame (compressing in v3/v4 if `compression`).
pub fn encode_request(
    env: &RequestEnvelope,
    compression: Option<Compression>,
) -> ProtocolResult<Frame> {
    check_version(env.version)?;
    let mut flags = 0;
    let mut body = Vec::new();
    if env.tracing {
        flags |= FLAG_TRACING;
    }
    if env.beta {
        flags |= FLAG_BETA;
    }
    if let Some(p) = &env.custom_payload {
        flags |= FLAG_CUSTOM_PAYLOAD;
        put_bytes_map(&mut body, p)?;
    }
    env.request.encode(env.version, &mut body)?;
    finish(
        env.version,
        Direction::Request,
        flags,
        env.stream,
        env.request.opcode(),
        body,
        compression,
    )
}

/// Decodes a request frame. `max_body_len` bounds the decompressed body.
pub fn decode_request(
    frame: &Frame,
    compression: Option<Compression>,
    max_body_len: u32,
) -> ProtocolResult<RequestEnvelope> {
    let h = frame.header;
    check_version(h.version)?;
    if h.direction != Direction::Request {
        return Err(ProtocolError::malformed(
            "Received a response frame where a request was expected",
        ));
    }
    let body = plain_body(frame, compression, max_body_len)?;
    let mut r = Reader::new(&body);
    let custom_payload = if h.has_flag(FLAG_CUSTOM_PAYLOAD) {
        Some(r.read_bytes_map()?)
    } else {
        None
    };
    let request = Request::decode(h.version, h.opcode, r.rest())?;
    Ok(RequestEnvelope {
        version: h.version,
        stream: h.stream,
        tracing: h.has_flag(FLAG_TRACING),
        beta: h.has_flag(FLAG_BETA),
        custom_payload,
        request,
    })
}

/// Encodes a response into a frame (compressing in v3/v4 if `compression`).
pub fn encode_response(
    env: &ResponseEnvelope,
    compression: Option<Compression>,
) -> ProtocolResult<Frame> {
    check_version(env.version)?;
    let mut flags = 0;
    let mut body = Vec::new();
    if let Some(id) = &env.tracing_id {
        flags |= FLAG_TRACING;
        put_uuid(&mut body, id);
    }
    if !env.warnings.is_empty() {
        flags |= FLAG_WARNING;
        put_string_list(&mut body, &env.warnings)?;
    }
    if let Some(p) = &env.custom_payload {
        flags |= FLAG_CUSTOM_PAYLOAD;
        put_bytes_map(&mut body, p)?;
    }
    env.response.encode(env.version, &mut body)?;
    finish(
        env.version,
        Direction::Response,
        flags,
        env.stream,
        env.response.opcode(),
        body,
        compression,
    )
}

/// Decodes a response frame. `max_body_len` bounds the decompressed body.
pub fn decode_response(
    frame: &Frame,
    compression: Option<Compression>,
    max_body_len: u32,
) -> ProtocolResult<ResponseEnvelope> {
    let h = frame.header;
    check_version(h.version)?;
    if h.direction != Direction::Response {
        return Err(ProtocolError::malformed(
            "Received a request frame where a response was expected",
        ));
    }
    let body = plain_body(frame, compression, max_body_len)?;
    let mut r = Reader::new(&body);
    let tracing_id = if h.has_flag(FLAG_TRACING) {
        Some(r.read_uuid()?)
    } else {
        None
    };
    let warnings = if h.has_flag(FLAG_WARNING) {
        r.read_string_list()?
    } else {
        Vec::new()
    };
    let custom_payload = if h.has_flag(FLAG_CUSTOM_PAYLOAD) {
        Some(r.read_bytes_map()?)
    } else {
        None
    };
    let response = Response::decode(h.version, h.opcode, r.rest())?;
    Ok(ResponseEnvelope {
        version: h.version,
        stream: h.stream,
        tracing_id,
        warnings,
        custom_payload,
        response,
    })
}
