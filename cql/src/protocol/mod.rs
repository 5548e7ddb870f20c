//! The CQL native protocol (v3, v4, v5) as pure functions: bytes in,
//! messages out, and back. No I/O, no connection state beyond what a caller
//! explicitly holds (the v5 [`SegmentDecoder`]'s partial frame).
//!
//! The layers, bottom up:
//!
//! | layer | module | spec |
//! |-------|--------|------|
//! | primitives (`[int]`, `[string]`, `[value]`, `[vint]`, ...) | [`primitives`] | §3 |
//! | frame header, whole frames, version negotiation | [`frame`] | §2 |
//! | v3/v4 body compression (LZ4) | [`compression`] | v4 §5 |
//! | v5 segments: CRC24/CRC32, LZ4, split frames | [`segment`] | v5 §2 |
//! | request messages | [`request`] | §4.1 |
//! | response messages, error bodies | [`response`] | §4.2, §9 |
//! | message ⇄ frame (tracing, warnings, custom payload, compression) | [`envelope`] | §2.2 |
//!
//! A server connection, then, does roughly:
//!
//! 1. until STARTUP is answered (and always for v3/v4): [`decode_frame`] on
//!    the receive buffer; on [`ProtocolError::UnsupportedVersion`] write
//!    [`unsupported_version_response`] and close;
//! 2. for v5 after READY/AUTHENTICATE: feed the buffer to a
//!    [`SegmentDecoder`] instead, and wrap outgoing frames with
//!    [`encode_segments`];
//! 3. [`decode_request`] each frame, execute, [`encode_response`] the answer.
//!
//! Any [`ProtocolError`] on a request body becomes an ERROR 0x000A with the
//! error's text ([`ErrorBody::from_protocol_error`]).
//!
//! # Why not the `cassandra-protocol` crate
//!
//! `cassandra-protocol` (the cdrs-tokio codec) covers the same ground, but it
//! is shaped for clients (envelope constructors such as `new_req_query`,
//! stateful frame encoders/decoders), brings its own value and type model
//! (`CBytes`, `CInt`, its own type decoders) that would duplicate
//! [`crate::types`], reads through `std::io::Cursor`, and pulls in some
//! fifteen crates (chrono, time, uuid, num-bigint, snap, derive_more,
//! derivative, itertools, arc-swap, bitflags, float_eq, integer-encoding,
//! crc32fast, ...) the workspace does not otherwise need. The protocol is
//! small and stable, so Sibyl owns this codec: one error type, server-first,
//! bounded on untrusted input, reusing the type system's `[option]` codec.
//!
//! # Robustness
//!
//! Nothing here panics on any input: every read is bounds-checked
//! ([`primitives::Reader`]), element counts never size an allocation before
//! the bytes backing them have been seen, body and decompressed sizes are
//! bounded by the caller's `max_body_len` (Cassandra's
//! `native_transport_max_frame_size`, [`DEFAULT_MAX_BODY_LEN`]), and
//! segment payloads by their 17-bit length field. Property tests feed
//! arbitrary bytes to every decoder.

pub mod compression;
pub mod envelope;
pub mod error;
pub mod frame;
pub mod primitives;
pub mod request;
pub mod response;
pub mod segment;

pub use compression::Compression;
pub use envelope::{
    decode_request, decode_response, encode_request, encode_response, RequestEnvelope,
    ResponseEnvelope,
};
pub use error::{ProtocolError, ProtocolResult, PROTOCOL_ERROR_CODE};
pub use frame::{
    decode_frame, decode_header, error_frame_for, is_supported_version, negotiation_answer_version,
    unsupported_version_response, Direction, Frame, FrameHeader, Opcode, DEFAULT_MAX_BODY_LEN,
    MAX_VERSION, MIN_VERSION,
};
pub use primitives::{Consistency, Reader, Value};
pub use request::{
    Batch, BatchQuery, BatchStatement, BatchType, EventType, Execute, Prepare, QueryParameters,
    QueryValues, Request, Startup,
};
pub use response::{
    ColumnSpec, ErrorBody, ErrorKind, Event, Failures, Prepared, PreparedMetadata, Response,
    ResultBody, ResultMetadata, Rows, SchemaChange, SchemaChangeTarget, SchemaChangeType,
    StatusChange, TopologyChange,
};
pub use segment::{decode_segment, encode_segment, encode_segments, Segment, SegmentDecoder};
