//! The storage crate's one error type.
//!
//! Errors carry evidence: the file, the offset, what was expected and what was
//! found. The node crate maps them to CQL error codes (a checksum mismatch is a
//! server error to the client, `MutationTooLarge` is an invalid request).

use std::io;
use std::path::PathBuf;

use crate::model::TableId;

/// Every error the storage engine returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error, with the file it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Bytes read back do not match the checksum written with them.
    #[error("checksum mismatch in {path} at offset {offset}: expected {expected:#010x}, got {got:#010x}")]
    ChecksumMismatch {
        path: PathBuf,
        offset: u64,
        expected: u32,
        got: u32,
    },
    /// A file's structure is not what its format says (bad magic, impossible length...).
    #[error("corrupt file {path} at offset {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A file written by a format version this build does not read.
    #[error("unsupported format version {version} in {path}")]
    UnsupportedVersion { path: PathBuf, version: u32 },
    /// An fsync (or a write to the commitlog) failed earlier. After a failed fsync the
    /// kernel may have dropped dirty pages, so nothing written since can be trusted to
    /// be durable ("fsyncgate"); the store refuses further writes until restarted.
    #[error("storage refuses writes because an earlier write or fsync failed ({0}); restart the node to recover from the commitlog and sstables")]
    Poisoned(String),
    /// A single mutation larger than `max_mutation_size`.
    #[error("mutation of {size} bytes is larger than max_mutation_size ({max} bytes)")]
    MutationTooLarge { size: usize, max: usize },
    /// A table id the store does not know.
    #[error("unknown table {0}")]
    UnknownTable(TableId),
    /// `create_table` for a table id that already exists.
    #[error("table {0} already exists")]
    TableExists(TableId),
    /// A caller passed an argument the engine cannot act on.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The store (or the commitlog) has been closed.
    #[error("storage is closed")]
    Closed,
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A corrupt-file error.
    pub fn corrupt(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for errors caused by bad bytes on disk (checksum, structure, version).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::ChecksumMismatch { .. }
                | Error::Corrupt { .. }
                | Error::UnsupportedVersion { .. }
        )
    }
}

/// The storage crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
