//! [`ProtocolError`]: the one error type of the native protocol codec.
//!
//! Decoding untrusted bytes can fail in two very different ways, and callers
//! must tell them apart:
//!
//! * **Not enough bytes yet.** A connection handler feeding a socket buffer
//!   into [`super::frame::decode_header`] or the segment decoder simply waits
//!   for more input; those incremental entry points return `Ok(None)` rather
//!   than an error. Inside a message body whose length is already known, a
//!   short read is [`ProtocolError::Incomplete`]: the body is truncated, which
//!   the server reports to the client like any other malformed input, but a
//!   test (or a client reading a partially received body) can recognise it.
//! * **Malformed input** — everything else: bad UTF-8, an unknown opcode, a
//!   CRC mismatch, an oversized frame, an unsupported protocol version.
//!
//! Every variant's `Display` text is written to be sent back verbatim as the
//! message of a protocol ERROR (code [`PROTOCOL_ERROR_CODE`], 0x000A), in
//! Cassandra's wording where we know it — clients match on some of these
//! texts: the Python driver steps its protocol version down only when the
//! message contains `unsupported protocol version`, so
//! [`ProtocolError::UnsupportedVersion`] prints Cassandra's exact sentence.

use thiserror::Error;

/// The ERROR code of a protocol error (spec §9: "Protocol error. Some client
/// message triggered a protocol violation").
pub const PROTOCOL_ERROR_CODE: i32 = 0x000A;

/// Errors of the native protocol codec.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// The input ended before a complete item could be read.
    #[error("Not enough bytes to read {what}")]
    Incomplete {
        /// What was being read (`"an [int]"`, `"a [string]"`, ...).
        what: &'static str,
    },
    /// A request (or response) with a protocol version we do not speak.
    ///
    /// `answer_version` is the version the ERROR frame reporting this should
    /// be written in (see [`super::frame::negotiation_answer_version`]), and
    /// `stream` the stream id read from the offending header (0 when it could
    /// not be read).
    #[error("Invalid or unsupported protocol version ({version}); supported versions are (3/v3, 4/v4, 5/v5)")]
    UnsupportedVersion {
        /// The version number the peer sent (direction bit removed).
        version: u8,
        /// The version to answer in.
        answer_version: u8,
        /// The stream id of the offending frame, when readable.
        stream: i16,
    },
    /// A frame body longer than the configured maximum.
    #[error("Request is too big: length {length} exceeds maximum allowed length {max}.")]
    FrameTooLarge {
        /// The body length announced by the header.
        length: u64,
        /// The configured maximum.
        max: u64,
    },
    /// An opcode byte that is not in spec §2.4 (or not valid in this direction).
    #[error("Unknown opcode {0}")]
    UnknownOpcode(u8),
    /// A segment header whose CRC24 does not match its contents.
    #[error("Segment header CRC mismatch: computed {computed:#08x}, received {received:#08x}")]
    SegmentHeaderCrc {
        /// CRC24 computed over the received header bytes.
        computed: u32,
        /// CRC24 carried in the header.
        received: u32,
    },
    /// A segment payload whose CRC32 does not match its contents.
    #[error("Segment payload CRC mismatch: computed {computed:#010x}, received {received:#010x}")]
    SegmentPayloadCrc {
        /// CRC32 computed over the received payload.
        computed: u32,
        /// CRC32 carried after the payload.
        received: u32,
    },
    /// Compression or decompression failed, or a compressed body is invalid.
    #[error("{0}")]
    Compression(String),
    /// Any other malformed input; the text explains what.
    #[error("{0}")]
    Malformed(String),
}

impl ProtocolError {
    /// Builds a [`ProtocolError::Malformed`].
    pub fn malformed(msg: impl Into<String>) -> Self {
        ProtocolError::Malformed(msg.into())
    }

    /// Whether this error only means "the input was cut short".
    pub fn is_incomplete(&self) -> bool {
        matches!(self, ProtocolError::Incomplete { .. })
    }

    /// The ERROR code to report this error with (always 0x000A).
    pub fn error_code(&self) -> i32 {
        PROTOCOL_ERROR_CODE
    }
}

/// Result alias for the protocol module.
pub type ProtocolResult<T> = Result<T, ProtocolError>;
