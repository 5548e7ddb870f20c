//! The crate's one error type.
//!
//! What: every way a gossip call can refuse its input: a bad configuration, a
//! message from another cluster or over a size bound, an oversized local
//! application-state value, a shadow round that nobody answered.
//!
//! Why: the node crate drives the state machines over the network and must be
//! able to log and count rejected messages without the gossiper panicking or
//! silently half-applying them. A rejected message changes no state.
//!
//! What not: there are no I/O errors here: this crate does no I/O. Stale or
//! quarantined gossip is not an error either; it is ignored as Cassandra does
//! (it is the normal outcome of reordering and of removals).
//!
//! References: Cassandra logs and drops these cases in
//! `GossipDigestSynVerbHandler` (cluster name / partitioner mismatch) and
//! throws "Unable to gossip with any peers" from `Gossiper.doShadowRound`.

use std::net::SocketAddr;

use crate::state::ApplicationState;

/// Everything that can go wrong in `sibyl-gossip`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GossipError {
    /// A configuration value is out of its valid range.
    #[error("invalid gossip configuration: {0}")]
    InvalidConfig(String),

    /// A GossipDigestSyn from a node of another cluster.
    #[error("gossip from {from} belongs to cluster {theirs:?}, ours is {ours:?}")]
    ClusterNameMismatch {
        from: SocketAddr,
        ours: String,
        theirs: String,
    },

    /// A message carries more digests than [`crate::constants::MAX_DIGESTS_PER_MESSAGE`].
    #[error("gossip from {from} carries {count} digests, more than the limit {limit}")]
    TooManyDigests {
        from: SocketAddr,
        count: usize,
        limit: usize,
    },

    /// A message carries more endpoint states than [`crate::constants::MAX_STATES_PER_MESSAGE`].
    #[error("gossip from {from} carries {count} endpoint states, more than the limit {limit}")]
    TooManyStates {
        from: SocketAddr,
        count: usize,
        limit: usize,
    },

    /// A local application-state value longer than
    /// [`crate::constants::MAX_APPLICATION_VALUE_BYTES`].
    #[error("value of application state {state:?} is {len} bytes, more than the limit {limit}")]
    ValueTooLarge {
        state: ApplicationState,
        len: usize,
        limit: usize,
    },

    /// `remove_endpoint` was asked to remove the local node.
    #[error("cannot remove the local endpoint {0} from gossip")]
    CannotRemoveLocal(SocketAddr),

    /// No seed answered the shadow round in time ("Unable to gossip with any peers").
    #[error("shadow round timed out after {waited_ms} ms: no seed answered")]
    ShadowRoundTimedOut { waited_ms: u64 },
}
