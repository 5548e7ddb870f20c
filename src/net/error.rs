//! [`NetError`], the one error type of internode messaging.
//!
//! Decoding errors (`Malformed`, `FrameTooLarge`, `ChecksumMismatch`,
//! `UnsupportedVersion`, `UnknownVerb`) carry the evidence: the sizes, the two
//! checksums, the byte that was not understood. A connection that yields one of
//! them (except `UnknownVerb`, after which the stream is still in sync) is
//! closed; the service keeps serving every other connection.

use std::net::SocketAddr;
use std::time::Duration;

use super::verb::Verb;

/// What messaging can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// No response to a request within the verb's timeout (Cassandra's
    /// `RequestTimeoutException` at this layer). The request may or may not
    /// have been delivered and applied.
    #[error("{verb} to {peer} timed out after {after:?}")]
    Timeout {
        verb: Verb,
        peer: SocketAddr,
        after: Duration,
    },
    /// A socket operation failed.
    #[error("internode I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The listen address could not be bound.
    #[error("cannot bind internode listen address {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// Bytes that do not decode: truncated, out of bounds, trailing data.
    #[error("malformed internode message: {0}")]
    Malformed(String),
    /// A frame's length prefix is above the maximum (or below the minimum).
    #[error("internode frame of {len} bytes refused: must be between {min} and {max} bytes")]
    FrameTooLarge { len: u64, min: u64, max: u64 },
    /// The frame's CRC32C does not match its bytes.
    #[error(
        "internode frame checksum mismatch: frame says {expected:#010x}, bytes give {got:#010x}"
    )]
    ChecksumMismatch { expected: u32, got: u32 },
    /// The peer speaks another version of the framing.
    #[error("unsupported internode protocol version {got} (this node speaks {supported})")]
    UnsupportedVersion { got: u8, supported: u8 },
    /// A well-formed frame with a verb this node does not know (a newer peer).
    #[error("unknown verb id {0}")]
    UnknownVerb(u8),
    /// A filter rule names a verb that does not exist, or is otherwise invalid.
    #[error("invalid message filter: {0}")]
    InvalidFilter(String),
    /// The service was shut down before the operation completed.
    #[error("messaging service is shut down")]
    Shutdown,
}
