//! The read side of membership: snapshots of who is in the ring.
//!
//! [`ClusterView`] is the one question every consumer asks ("who is in the cluster,
//! where, owning which tokens, up or down?"). It answers with owned snapshots
//! ([`EndpointView`]) rather than references into the gossiper, so the admin API,
//! `nodetool`, `system.peers` and the driver-event publisher never hold the
//! membership lock while they format or send. A snapshot is consistent for one
//! endpoint, not across endpoints; that is all `nodetool status` ever promised.
//!
//! In a node the gossip service ([`super::GossipService`]) answers.

use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Up or down, as the failure detector on *this* node judges it (`nodetool
/// status`'s first letter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Up,
    Down,
}

/// The ring state an endpoint announces in STATUS (`nodetool status`'s second
/// letter): Normal, Joining, Leaving or Moving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointStateKind {
    Normal,
    Joining,
    Leaving,
    Moving,
}

impl EndpointStateKind {
    /// The letter `nodetool status` prints (`N`, `J`, `L`, `M`).
    pub fn letter(self) -> char {
        match self {
            EndpointStateKind::Normal => 'N',
            EndpointStateKind::Joining => 'J',
            EndpointStateKind::Leaving => 'L',
            EndpointStateKind::Moving => 'M',
        }
    }
}

/// One member of the cluster, as this node sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointView {
    /// The internode (gossip) address: `listen_address:storage_port`.
    pub endpoint: SocketAddr,
    /// The CQL address drivers connect to (`rpc_address:native_transport_port`).
    pub native_address: Option<SocketAddr>,
    pub host_id: Option<u128>,
    pub datacenter: String,
    pub rack: String,
    pub liveness: Liveness,
    pub state: EndpointStateKind,
    /// Bytes on disk the endpoint last announced (LOAD), if any.
    pub load_bytes: Option<f64>,
    /// Sorted tokens; empty while the endpoint has not announced any.
    pub tokens: Vec<i64>,
    /// The schema version the endpoint announced (SCHEMA), as a UUID string.
    pub schema_version: Option<String>,
    pub release_version: Option<String>,
    /// Gossip generation and the heartbeat version last seen.
    pub generation: i32,
    pub heartbeat: i32,
    /// The failure detector's phi for this endpoint now (None for the local node
    /// and for endpoints never heard from).
    pub phi: Option<f64>,
    /// Every application state as (name, version, value), for `nodetool
    /// gossipinfo`.
    pub application_states: Vec<(String, i32, String)>,
    /// True for the node answering.
    pub is_local: bool,
}

/// Membership as seen from this node.
pub trait ClusterView: Send + Sync {
    /// Every known endpoint (the local node included), ordered by address.
    fn endpoints(&self) -> Vec<EndpointView>;

    /// The local node's internode address.
    fn local_endpoint(&self) -> SocketAddr;

    /// Counters about gossip itself, for `/metrics`: name → value (e.g.
    /// `gossip_rounds_total`).
    fn gossip_counters(&self) -> BTreeMap<String, f64> {
        BTreeMap::new()
    }
}
