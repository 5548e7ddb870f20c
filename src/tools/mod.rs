//! Operator tools built into the `sibyl` binary, each a subcommand with its own
//! module: `stress` (load generation and latency measurement, like cassandra-stress
//! and YCSB).

pub mod stress;
