//! The Sibyl node crate: the binary's subcommands, the query layer, the CQL native
//! protocol transport ([`transport`]) and the node wiring ([`node`]); as the next
//! issues land, the coordinator (StorageProxy) and the cluster services. It wires the
//! storage engine ([`sibyl_storage`]) and the CQL language ([`sibyl_cql`]) together.

pub mod admin;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod dht;
pub mod error;
pub mod locator;
pub mod net;
pub mod node;
pub mod query;
pub mod schema;
pub mod tools;
pub mod transport;
