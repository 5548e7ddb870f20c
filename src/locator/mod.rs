//! Replica placement: the pieces of Cassandra's `org.apache.cassandra.locator` that
//! decide which nodes hold a token, kept pure (no I/O, no gossip, no globals).
//!
//! An [`Endpoint`] is a node's `SocketAddr` (its storage/gossip address), as
//! `InetAddressAndPort` is in Cassandra. Where a node lives is not part of its identity:
//! the [`Topology`] maps each endpoint to its [`Location`] (datacenter and rack). It is
//! the snitch's answer kept as plain data: an empty topology is Cassandra's
//! `SimpleSnitch` (everyone in `datacenter1`/`rack1`); filling it from each node's
//! declared dc/rack is `GossipingPropertyFileSnitch` (the values arrive later through
//! gossip; this module only reads them).
//!
//! [`TokenMetadata`] is the ring: the sorted token -> endpoint map, its inverse, and the
//! host ids. A token `t` belongs to the range `(predecessor(t'), t']` of the first ring
//! token `t' >= t` (wrapping to the first token), so every replica walk starts at
//! [`TokenMetadata::first_token_index`] and proceeds with
//! [`TokenMetadata::ring_iterator`].
//!
//! [`ReplicationStrategy`] computes natural replicas:
//! * `SimpleStrategy` walks the ring from the token's successor and takes distinct
//!   endpoints until it has `replication_factor` of them (or runs out of nodes);
//! * `NetworkTopologyStrategy` walks the ring once; within each replicated datacenter
//!   it first accepts endpoints on racks not yet used in that DC, remembering the
//!   endpoints it skipped, and once every rack of the DC holds a replica it fills the
//!   remainder from the skipped endpoints in ring order (then takes endpoints as they
//!   come). It stops when every DC has `min(rf, nodes in DC)` replicas or the ring is
//!   exhausted. This is Cassandra 3.x's algorithm; 4.x's "acceptable rack repeats"
//!   bookkeeping picks the same set.

mod replication;
mod token_metadata;
mod topology;

pub use replication::ReplicationStrategy;
pub use token_metadata::{HostId, TokenMetadata};
pub use topology::{Location, Topology, DEFAULT_DATACENTER, DEFAULT_RACK};

/// A node, named by its address (Cassandra's `InetAddressAndPort`).
pub type Endpoint = std::net::SocketAddr;
