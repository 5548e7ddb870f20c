//! Cluster services: what a node knows about the ring and its members, and the
//! services that keep that knowledge current.
//!
//! [`view`] is the read side every consumer uses — the admin API and `nodetool`,
//! `system.peers`, driver events — as plain snapshots ([`ClusterView`]), so none of
//! them depends on how membership is driven. The gossip task that fills it (the
//! Gossiper over `net`, Cassandra's `GossipStage` and the endpoint-state
//! subscribers of `StorageService`) lives beside it.

pub mod gossip_service;
pub mod view;

pub use view::{ClusterView, EndpointStateKind, EndpointView, Liveness, LocalOnlyView};
