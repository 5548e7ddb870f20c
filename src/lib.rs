//! The Sibyl node crate: the binary's subcommands and, as the next issues land, the
//! coordinator (StorageProxy), the CQL native protocol transport and the cluster
//! services. Today it wires the storage engine ([`sibyl_storage`]) into a process
//! that opens, replays and serves nothing but its own lifecycle: the CQL front door
//! comes with the native protocol issue.

pub mod config;
