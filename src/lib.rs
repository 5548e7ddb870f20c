//! The Sibyl node crate: the binary's subcommands, the query layer and, as the next
//! issues land, the coordinator (StorageProxy), the CQL native protocol transport and
//! the cluster services. It wires the storage engine ([`sibyl_storage`]) and the CQL
//! language ([`sibyl_cql`]) together.

pub mod clock;
pub mod config;
pub mod error;
pub mod query;
pub mod schema;
