//! The three messages of a gossip exchange.
//!
//! What: [`GossipDigest`] (endpoint, generation, max version), and the
//! three-way handshake [`GossipDigestSyn`] → [`GossipDigestAck`] →
//! [`GossipDigestAck2`], wrapped in [`GossipMessage`].
//!
//! Why: a digest summarises everything a node knows about an endpoint in
//! three numbers, so a Syn costs ~30 bytes per known endpoint whatever the
//! size of the states. The receiver answers with the deltas the sender lacks
//! and with digests of what it lacks itself (a request); the sender's Ack2
//! delivers those. One round trip and a half reconciles both views in both
//! directions (push-pull anti-entropy).
//!
//! A Syn with **no digests** is a shadow-round request: "send me everything
//! you know". An Ack with no digests and no states is the reply of a node that
//! is itself in its shadow round.
//!
//! What not: no encoding. These are plain values; the node crate serialises
//! them (Cassandra's `GossipDigestSynSerializer` etc. are the model). Maps are
//! `BTreeMap`s so that iteration, and therefore a simulation, is deterministic.
//!
//! References: `org.apache.cassandra.gms.GossipDigest`, `GossipDigestSyn`,
//! `GossipDigestAck`, `GossipDigestAck2`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::state::EndpointState;

/// What a node knows about one endpoint, in summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GossipDigest {
    pub endpoint: SocketAddr,
    pub generation: i32,
    pub max_version: i32,
}

/// First message of an exchange: the initiator's digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipDigestSyn {
    /// Gossip from another cluster is rejected.
    pub cluster_name: String,
    /// Empty for a shadow-round request.
    pub digests: Vec<GossipDigest>,
}

/// Second message: the states the initiator lacks, and requests (digests
/// whose `max_version` is what the receiver has) for the states it lacks.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GossipDigestAck {
    pub digests: Vec<GossipDigest>,
    pub states: BTreeMap<SocketAddr, EndpointState>,
}

/// Third message: the states the Ack requested.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GossipDigestAck2 {
    pub states: BTreeMap<SocketAddr, EndpointState>,
}

/// Any gossip message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipMessage {
    Syn(GossipDigestSyn),
    Ack(GossipDigestAck),
    Ack2(GossipDigestAck2),
}

impl GossipMessage {
    /// A short name for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            GossipMessage::Syn(_) => "GossipDigestSyn",
            GossipMessage::Ack(_) => "GossipDigestAck",
            GossipMessage::Ack2(_) => "GossipDigestAck2",
        }
    }
}

/// A message to send: destination and payload.
pub type Outbound = (SocketAddr, GossipMessage);
