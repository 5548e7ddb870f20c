//! The node crate's one error type: what a CQL request can fail with, carrying the
//! native protocol error code and the fields the protocol's error body needs.
//! Messages follow Cassandra's wording so drivers, cqlsh and people see what they
//! expect (`unconfigured table t`, `Keyspace k does not exist`, ...).

use sibyl_cql::parser::ParseError;

/// Native protocol error codes (spec section 9).
pub mod code {
    pub const SERVER_ERROR: u32 = 0x0000;
    pub const PROTOCOL_ERROR: u32 = 0x000A;
    pub const BAD_CREDENTIALS: u32 = 0x0100;
    pub const UNAVAILABLE: u32 = 0x1000;
    pub const OVERLOADED: u32 = 0x1001;
    pub const IS_BOOTSTRAPPING: u32 = 0x1002;
    pub const TRUNCATE_ERROR: u32 = 0x1003;
    pub const WRITE_TIMEOUT: u32 = 0x1100;
    pub const READ_TIMEOUT: u32 = 0x1200;
    pub const READ_FAILURE: u32 = 0x1300;
    pub const FUNCTION_FAILURE: u32 = 0x1400;
    pub const WRITE_FAILURE: u32 = 0x1500;
    pub const SYNTAX_ERROR: u32 = 0x2000;
    pub const UNAUTHORIZED: u32 = 0x2100;
    pub const INVALID: u32 = 0x2200;
    pub const CONFIG_ERROR: u32 = 0x2300;
    pub const ALREADY_EXISTS: u32 = 0x2400;
    pub const UNPREPARED: u32 = 0x2500;
}

/// A failed CQL request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CqlError {
    /// Server error 0x0000: a bug or an unexpected failure (e.g. a storage I/O error).
    #[error("{0}")]
    Server(String),
    /// Protocol error 0x000A.
    #[error("{0}")]
    Protocol(String),
    /// Syntax error 0x2000.
    #[error("{0}")]
    Syntax(String),
    /// Invalid query 0x2200.
    #[error("{0}")]
    Invalid(String),
    /// Configuration error 0x2300.
    #[error("{0}")]
    Config(String),
    /// Already exists 0x2400: `table` is empty for a keyspace.
    #[error("{message}")]
    AlreadyExists {
        keyspace: String,
        table: String,
        message: String,
    },
    /// Unprepared 0x2500: the statement id is unknown.
    #[error("Prepared query with ID {} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)", hex(.id))]
    Unprepared { id: Vec<u8> },
    /// Write failure 0x1500 (a replica failed the write, e.g. the disk).
    #[error("{0}")]
    WriteFailure(String),
    /// Read failure 0x1300 (a replica failed the read, e.g. a corrupt sstable).
    #[error("{0}")]
    ReadFailure(String),
    /// Truncate error 0x1003.
    #[error("{0}")]
    Truncate(String),
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl CqlError {
    /// The native protocol error code.
    pub fn code(&self) -> u32 {
        match self {
            CqlError::Server(_) => code::SERVER_ERROR,
            CqlError::Protocol(_) => code::PROTOCOL_ERROR,
            CqlError::Syntax(_) => code::SYNTAX_ERROR,
            CqlError::Invalid(_) => code::INVALID,
            CqlError::Config(_) => code::CONFIG_ERROR,
            CqlError::AlreadyExists { .. } => code::ALREADY_EXISTS,
            CqlError::Unprepared { .. } => code::UNPREPARED,
            CqlError::WriteFailure(_) => code::WRITE_FAILURE,
            CqlError::ReadFailure(_) => code::READ_FAILURE,
            CqlError::Truncate(_) => code::TRUNCATE_ERROR,
        }
    }

    /// Shorthand for an Invalid (0x2200) error.
    pub fn invalid(msg: impl Into<String>) -> CqlError {
        CqlError::Invalid(msg.into())
    }

    /// The error a read fails with when storage fails.
    pub fn from_read(e: sibyl_storage::Error) -> CqlError {
        match e {
            e if e.is_corruption() => CqlError::ReadFailure(e.to_string()),
            sibyl_storage::Error::MutationTooLarge { .. } => CqlError::Invalid(e.to_string()),
            e => CqlError::Server(e.to_string()),
        }
    }

    /// The error a write fails with when storage fails.
    pub fn from_write(e: sibyl_storage::Error) -> CqlError {
        match e {
            sibyl_storage::Error::MutationTooLarge { .. } => CqlError::Invalid(e.to_string()),
            e => CqlError::WriteFailure(e.to_string()),
        }
    }
}

impl From<ParseError> for CqlError {
    fn from(e: ParseError) -> Self {
        CqlError::Syntax(e.to_string())
    }
}

/// The node crate's result type for CQL requests.
pub type CqlResult<T> = Result<T, CqlError>;
