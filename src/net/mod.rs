//! Internode messaging: Cassandra's `MessagingService`, the TCP layer every
//! cluster service (gossip, writes, reads, hints, schema, repair) talks over.
//!
//! **What.** A [`MessagingService`] listens on `listen_address:storage_port`
//! and sends [`Message`]s, each tagged with a [`Verb`], to other nodes' listen
//! addresses: one-way ([`MessagingService::send_one_way`]), or as a request
//! whose response is matched by id and awaited with the verb's timeout
//! ([`MessagingService::send_and_receive`], answered by
//! [`MessagingService::respond`]). Inbound requests are delivered to the
//! channel of their verb ([`MessagingService::register`]).
//!
//! **Connections.** One outbound TCP connection per peer, owned by a writer
//! task fed by a bounded per-peer queue; inbound connections are accepted,
//! capped by a semaphore, and only read. A response travels on the responder's
//! own outbound connection to the requester, as in Cassandra, so a pair of
//! nodes uses two connections, one per direction. Each frame names its sender's
//! listen address ([`frame`] documents the byte layout), because the TCP source
//! port of an outbound connection is ephemeral.
//!
//! **Never blocking the sender.** `send_one_way` and `respond` only push onto
//! the peer's queue. When the queue is full (the peer is down, slow or
//! unreachable) the **oldest droppable** message is dropped ([`Verb::is_droppable`]:
//! gossip and data-path verbs, which their protocols already retry or time
//! out); if none is droppable, the oldest message is, so the bound holds.
//! Messages older than their verb's timeout are dropped when they reach the
//! head of the queue: nobody waits for them any more (Cassandra's expired
//! messages). Drops are counted per peer and per verb ([`NetStats`]). The
//! writer reconnects with exponential backoff and jitter.
//!
//! **Receiving.** A connection's reader decodes frames, applies the receiving
//! side of the [`filters`], then completes the callback of a response or hands
//! a request to its verb's channel. Droppable verbs are dropped (and counted)
//! when that channel is full; other verbs wait for room, which stops the
//! reader and pushes back on the sender through TCP. A malformed frame closes
//! its connection only.
//!
//! **Filters.** [`MessageFilters`] drops or delays messages by verb, sender and
//! receiver, on both the sending and the receiving side: the seam for
//! partition and latency tests (Cassandra's in-JVM `IMessageFilters`).
//!
//! **What not (yet).** No TLS, no compression, no connection handshake or
//! version negotiation (each frame carries its version), no separate
//! small/large/urgent connections per peer (Cassandra 4 has three), no
//! local short-circuit for messages to self (they go through loopback TCP),
//! no byte-based queue limits (the bounds are message counts).
//!
//! References: `org.apache.cassandra.net.MessagingService`, `Verb`,
//! `OutboundConnection`, `InboundMessageHandler`, `RequestCallbacks`;
//! in-JVM dtest `IMessageFilters`.

pub mod codec;
pub mod error;
pub mod filters;
pub mod frame;
pub mod gossip_serializers;
mod service;
pub mod verb;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

pub use error::NetError;
pub use filters::{FilterAction, FilterCounts, FilterRule, MessageFilters};
pub use gossip_serializers::{decode_gossip, encode_gossip, gossip_verb};
pub use service::{MessagingService, NetStats, PeerStats};
pub use verb::Verb;

/// Default capacity of each peer's outbound queue, in messages: about ten
/// seconds of gossip and a burst of writes to a peer that is down, while
/// bounding memory at (capacity × message size) per dead peer.
pub const OUTBOUND_QUEUE_CAPACITY: usize = 8192;
/// Default capacity of each verb's inbound channel, in messages: room for a
/// burst while the handler catches up; beyond it droppable verbs are dropped
/// and others push back on the connection.
pub const INBOUND_VERB_QUEUE_CAPACITY: usize = 4096;
/// Default cap on accepted connections: a cluster of N nodes needs N - 1;
/// the cap stops a misbehaving client from exhausting file descriptors.
pub const MAX_INBOUND_CONNECTIONS: usize = 1024;
/// First reconnection delay after a failed connect or a broken connection.
pub const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest reconnection delay: a restarted peer is reached within this long.
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(4);
/// How long a connect may take before it counts as failed: a down host
/// often drops SYNs rather than refusing them.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// On shutdown, how long a connected writer may spend flushing its queue (so
/// a GOSSIP_SHUTDOWN sent just before `shutdown()` still goes out).
pub const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// How a [`MessagingService`] is set up. [`NetConfig::new`] gives the defaults
/// above; the fields are public for tests and the node's configuration.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// `listen_address:storage_port`. Port 0 binds an ephemeral port.
    pub listen: SocketAddr,
    /// Messages queued per peer before the oldest droppable is dropped.
    pub outbound_queue_capacity: usize,
    /// Messages buffered per registered verb.
    pub inbound_verb_queue_capacity: usize,
    /// Accepted connections at once.
    pub max_inbound_connections: usize,
    /// Largest frame length accepted (and sent).
    pub max_frame_bytes: usize,
    pub reconnect_backoff_min: Duration,
    pub reconnect_backoff_max: Duration,
    pub connect_timeout: Duration,
}

impl NetConfig {
    pub fn new(listen: SocketAddr) -> NetConfig {
        NetConfig {
            listen,
            outbound_queue_capacity: OUTBOUND_QUEUE_CAPACITY,
            inbound_verb_queue_capacity: INBOUND_VERB_QUEUE_CAPACITY,
            max_inbound_connections: MAX_INBOUND_CONNECTIONS,
            max_frame_bytes: frame::MAX_FRAME_BYTES,
            reconnect_backoff_min: RECONNECT_BACKOFF_MIN,
            reconnect_backoff_max: RECONNECT_BACKOFF_MAX,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }
}

/// A message received (or, for tests, about to be sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Request id: unique per sender; a response carries its request's.
    pub id: u64,
    pub verb: Verb,
    /// The sender's listen address (respond to it).
    pub from: SocketAddr,
    pub payload: bytes::Bytes,
    pub is_response: bool,
}
