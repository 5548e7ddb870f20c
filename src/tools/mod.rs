//! The operator tools that `sibyl` runs as subcommands besides `server`: each
//! module holds one subcommand's clap arguments and its `run` function, so
//! `main.rs` only lists them. So far: [`cluster`] (a local test cluster, like ccm) , [`cqlsh`]
//! (the CQL shell, after Cassandra's Python `cqlsh`; `docs/cqlsh.md`), [`nodetool`]
//! (Cassandra's nodetool over the HTTP admin API; `docs/admin.md`) and [`stress`]
//! (load and measure a node, like cassandra-stress and YCSB).
//!
//! Tools report failure as a [`ToolError`], which decides the exit code the same
//! way for every subcommand: 2 for a usage error (the command line or a
//! configuration the tool cannot act on), 1 for a failure while running.

pub mod cluster;
pub mod cqlsh;
pub mod nodetool;
pub mod stress;

use std::fmt;

/// Exit code for a usage error: clap's, and a configuration refused at start.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a failure while running.
pub const EXIT_RUNTIME: u8 = 1;

/// Why a tool failed: one sentence for `sibyl: ...` on stderr, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// The command line or the configuration is wrong; nothing was done.
    Usage(String),
    /// Something failed while running.
    Runtime(String),
}

impl ToolError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ToolError::Usage(_) => EXIT_USAGE,
            ToolError::Runtime(_) => EXIT_RUNTIME,
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Usage(m) | ToolError::Runtime(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ToolError {}
