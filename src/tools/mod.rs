//! The operator tools that ship in the `sibyl` binary next to the node: each is a
//! subcommand whose arguments and entry point live in its module.
//!
//! - [`cqlsh`]: the CQL shell, after Cassandra's Python `cqlsh` (`docs/cqlsh.md`).

pub mod cqlsh;
