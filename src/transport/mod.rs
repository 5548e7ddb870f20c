//! The CQL native protocol server (v3, v4, v5): sockets in, [`QueryProcessor`] calls,
//! frames out.
//!
//! **Shape** (after mini-redis's `server.rs`): one accept loop, one task per
//! connection, a [`Semaphore`] capping connections at
//! `native_transport_max_connections`, and shutdown by a `watch` broadcast after
//! which the server waits for every connection task to finish. The codec
//! ([`sibyl_cql::protocol`]) is pure; this module owns the I/O and the state a
//! connection carries: its protocol version, compression, v5 segment framing, the
//! session keyspace and the event types it registered for.
//!
//! **Per connection** ([`connection`]): a reader task decodes frames and answers
//! OPTIONS, STARTUP and REGISTER itself; QUERY, PREPARE, EXECUTE and BATCH run
//! concurrently, each in its own task on the blocking thread pool (storage is
//! synchronous), answered as soon as it finishes, matched by stream id; except
//! *quick* ones ([`handler::is_quick`]: a prepared single-partition read or non-LWT
//! write when the commitlog never makes a write wait), which the reader runs in
//! place: the task and the hand-off to another thread and back cost 3-4× the
//! request's own CPU (futex wake-ups and context switches; docs/performance.md,
//! "Against redis (stress)"). A writer task owns the socket's write half,
//! coalescing queued frames (into v5 segments after READY).
//!
//! **Limits** (each a named constant with its reason): connections
//! ([`crate::config::DEFAULT_NATIVE_MAX_CONNECTIONS`]), requests in flight per
//! connection ([`MAX_IN_FLIGHT_PER_CONNECTION`]: when full the reader stops reading,
//! which is TCP backpressure), requests executing at once node-wide
//! ([`MAX_CONCURRENT_REQUESTS`]), frame body size (`native_transport_max_frame_size`),
//! prepared statements ([`prepared::MAX_PREPARED_STATEMENTS`]) and queued outbound
//! frames ([`MAX_QUEUED_RESPONSES`]).
//!
//! **Events.** DDL that returns a schema change publishes a SCHEMA_CHANGE event on
//! the node's [`broadcast`] channel; connections that REGISTERed for SCHEMA_CHANGE
//! forward it (stream -1), others ignore it.
//!
//! **What not.** Authentication (the node behaves as `AllowAllAuthenticator`: no
//! AUTHENTICATE), tracing (the flag is ignored), TOPOLOGY_CHANGE and STATUS_CHANGE
//! events (accepted at REGISTER, never sent yet), snappy compression (v4 only; lz4
//! is offered). See `docs/protocol.md`.

pub mod connection;
pub mod handler;
pub mod metrics;
pub mod prepared;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sibyl_cql::protocol::Event;
use sibyl_storage::commitlog::SyncMode;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch, Semaphore};
use tokio::task::JoinSet;

use crate::query::QueryProcessor;
use prepared::PreparedCache;

/// Requests of one connection executing or queued at once. The Python driver keeps
/// up to 2048 in flight per connection; past this many the reader stops reading
/// that socket until one completes, so a client cannot queue unbounded work.
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 256;

/// Requests executing at once on the whole node (blocking threads busy with
/// storage). Cassandra's `native_transport_max_threads` is 128.
pub const MAX_CONCURRENT_REQUESTS: usize = 128;

/// Encoded frames waiting for a connection's writer. When the client does not read
/// its responses, request tasks wait here instead of buffering without bound.
pub const MAX_QUEUED_RESPONSES: usize = 256;

/// Buffered SCHEMA_CHANGE (and later topology) events per subscriber; a connection
/// that falls further behind misses the oldest ones (drivers refresh on the next).
pub const EVENT_QUEUE_LEN: usize = 1024;

/// Pause after a failed `accept` (e.g. out of file descriptors) before retrying.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How the transport listens.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// `rpc_address:native_transport_port` (port 0: any free port).
    pub addr: SocketAddr,
    /// `native_transport_max_connections`.
    pub max_connections: usize,
    /// `native_transport_max_frame_size`: the largest frame body accepted.
    pub max_frame_size_bytes: u32,
}

/// What every connection of a node shares.
pub struct Shared {
    pub processor: Arc<QueryProcessor>,
    pub prepared: PreparedCache,
    pub events: broadcast::Sender<Event>,
    /// Permits for requests executing at once ([`MAX_CONCURRENT_REQUESTS`]).
    pub executing: Semaphore,
    /// Writes never wait for the commitlog (`commitlog_sync: periodic`), so quick
    /// requests may run on the async workers ([`handler::is_quick`]).
    pub writes_never_wait: bool,
    pub max_frame_size_bytes: u32,
    /// Latencies and errors by request kind and consistency level (`/metrics`).
    pub request_metrics: Arc<metrics::ClientRequestMetrics>,
}

/// A running native transport.
pub struct Server {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds the listener and starts accepting connections on the current runtime.
    pub async fn bind(
        config: TransportConfig,
        processor: Arc<QueryProcessor>,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(config.addr).await?;
        let local_addr = listener.local_addr()?;
        let (events, _) = broadcast::channel(EVENT_QUEUE_LEN);
        let writes_never_wait = matches!(
            processor.storage.config().commitlog_sync,
            SyncMode::Periodic { .. }
        );
        let shared = Arc::new(Shared {
            processor,
            writes_never_wait,
            prepared: PreparedCache::default(),
            events,
            executing: Semaphore::new(MAX_CONCURRENT_REQUESTS),
            request_metrics: Arc::default(),
            max_frame_size_bytes: config.max_frame_size_bytes,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            Arc::new(Semaphore::new(config.max_connections)),
            shutdown_rx,
        ));
        Ok(Server {
            local_addr,
            shared,
            shutdown,
            accept_task,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The client request metrics, for the admin API.
    pub fn request_metrics(&self) -> Arc<metrics::ClientRequestMetrics> {
        self.shared.request_metrics.clone()
    }

    /// A handle to publish events from elsewhere (cluster membership).
    pub fn event_sender(&self) -> broadcast::Sender<Event> {
        self.shared.events.clone()
    }

    /// Publishes an event to every connection registered for its type.
    pub fn publish(&self, event: Event) {
        // No receiver is fine: nobody registered.
        let _ = self.shared.events.send(event);
    }

    /// Stops accepting, tells every connection to stop reading, and waits until every
    /// request already read has been answered and every connection closed.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.accept_task.await {
            tracing::error!("native transport accept task failed: {e}");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (socket, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("native transport accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let conn = connection::Connection::new(shared.clone(), peer, shutdown.clone());
        connections.spawn(async move {
            conn.run(socket).await;
            drop(permit);
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}
