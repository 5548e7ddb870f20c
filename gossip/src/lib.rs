//! Gossip membership and phi-accrual failure detection for Sibyl, as I/O-free
//! state machines.
//!
//! What: the pieces of Cassandra's `org.apache.cassandra.gms` package a node
//! needs to know who is in the cluster, what each member says about itself
//! (tokens, DC, rack, host id, schema, status, ...) and who is UP:
//!
//! * [`state`]: [`EndpointState`], [`HeartBeatState`], [`VersionedValue`],
//!   [`ApplicationState`];
//! * [`messages`]: [`GossipDigest`] and the Syn → Ack → Ack2 exchange;
//! * [`failure_detector`]: [`FailureDetector`] and [`ArrivalWindow`] (phi accrual);
//! * [`gossiper`]: [`Gossiper`], the membership state machine, and its
//!   [`GossipEvent`]s;
//! * [`constants`]: every bound and timing, with its reason;
//! * [`sim`]: a seeded, deterministic network simulation used by the tests
//!   (and usable by the node crate's own tests).
//!
//! Why I/O-free: nothing here opens a socket, starts a thread, reads a clock
//! or touches a global RNG. The caller passes the time (monotonic
//! milliseconds) and a seeded RNG into every call and carries the returned
//! messages over the network itself. The protocol is therefore testable
//! deterministically — a failing simulation is replayed from its seed — and
//! the node crate is free to drive it from whatever runtime it uses.
//!
//! What not: no serialisation (the node crate encodes the message structs),
//! no persistence (the caller persists the generation and passes a larger one
//! on restart), no interpretation of STATUS values (joining, leaving, moving
//! are the ring's business, not gossip's).
//!
//! References: Apache Cassandra's `Gossiper`, `EndpointState`,
//! `HeartBeatState`, `ApplicationState`, `VersionedValue`, `GossipDigest`,
//! `GossipDigestSyn`, `GossipDigestAck`, `GossipDigestAck2`,
//! `FailureDetector`, `ArrivalWindow`; Hayashibara et al., "The φ Accrual
//! Failure Detector" (2004); van Renesse et al., "Efficient Reconciliation and
//! Flow Control for Anti-Entropy Protocols" (2008), the scuttlebutt scheme
//! Cassandra's digests follow.
#![deny(clippy::unwrap_used)]

pub mod constants;
pub mod error;
pub mod failure_detector;
pub mod gossiper;
pub mod messages;
pub mod sim;
pub mod state;

pub use error::GossipError;
pub use failure_detector::{ArrivalWindow, FailureDetector, FailureDetectorConfig};
pub use gossiper::{GossipConfig, GossipEvent, Gossiper, ShadowRoundStatus};
pub use messages::{
    GossipDigest, GossipDigestAck, GossipDigestAck2, GossipDigestSyn, GossipMessage, Outbound,
};
pub use state::{ApplicationState, EndpointState, HeartBeatState, MergeOutcome, VersionedValue};
