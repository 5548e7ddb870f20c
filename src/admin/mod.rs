//! The admin API: an HTTP/1.1 server for operators, `sibyl nodetool` and metrics
//! scrapers, bound to `admin_address:admin_port` (7199, the port Cassandra gives JMX).
//!
//! **Why HTTP and JSON, not JMX.** Cassandra's `nodetool` talks JMX to MBeans; Sibyl
//! has no JVM, and HTTP with JSON is what every operator already has a client for
//! (`curl`). `sibyl nodetool` is a thin client that turns the JSON into Cassandra's
//! text layouts, so scripts written against Cassandra's nodetool keep parsing. The
//! formatting lives in the client and the data in the server: the API stays
//! machine-readable, the text stays compatible.
//!
//! **What it reads.** Membership only through [`ClusterView`] (snapshots, never the
//! gossiper's state), placement with [`crate::locator`] over a ring rebuilt from that
//! view ([`placement`]), tables through the schema (table id → keyspace and name) and
//! the storage engine; the view is the node's gossip service, so it answers for
//! every endpoint gossip knows.
//!
//! **Endpoints** (all JSON unless said; errors are `{"error": "..."}` with 400, 404,
//! 405 or 503; nothing a client sends can panic the server):
//!
//! | Method and path | Answer | nodetool |
//! |---|---|---|
//! | `GET /api/v1/version` | release version | `version` |
//! | `GET /api/v1/status[?keyspace=KS]` | every endpoint: address, state, load, tokens, host id, dc/rack, ownership (effective or not, with Cassandra's note) | `status`, `ring` |
//! | `GET /api/v1/ring[?keyspace=KS]` | same as status | `ring` |
//! | `GET /api/v1/info` | host id, gossip generation, uptime, load, dc/rack, tokens | `info` |
//! | `GET /api/v1/describering/{ks}` | each token range with its replicas | `describering` |
//! | `GET /api/v1/endpoints/{ks}/{table}/{key}` | the replicas of one partition key (text; composite parts joined by `:`) | `getendpoints` |
//! | `GET /api/v1/gossipinfo` | each endpoint's generation, heartbeat, application states | `gossipinfo` |
//! | `GET /api/v1/describecluster` | name, snitch, partitioner, schema versions → hosts, dcs, releases, keyspaces | `describecluster` |
//! | `POST /api/v1/flush[?keyspace=KS[&tables=A,B]]` | flushes memtables | `flush` |
//! | `POST /api/v1/compact[?keyspace=KS[&tables=A,B]]` | major compaction | `compact` |
//! | `GET /api/v1/tablestats[?keyspace=KS[&table=T]]` | per-table statistics | `tablestats` |
//! | `GET /api/v1/compactionstats` | compactions running | `compactionstats` |
//! | `POST /api/v1/snapshots[?tag=T][&keyspaces=A,B]` | takes a snapshot | `snapshot` |
//! | `GET /api/v1/snapshots` | every snapshot with sizes | `listsnapshots` |
//! | `DELETE /api/v1/snapshots?tag=T[&keyspaces=A,B]` or `?all=true` | removes snapshots | `clearsnapshot` |
//! | `POST /api/v1/drain` | flushes everything, stops the native transport | `drain` |
//! | `GET /metrics` | Prometheus text ([`metrics`]) | |
//! | `GET/POST/DELETE /debug/filters` | message filters, only with `debug_endpoints: true` (404 otherwise) | |
//!
//! **Bounds.** At most [`MAX_CONNECTIONS`] connections at once (more are answered 503
//! and closed); requests are bounded in size and time ([`http`]). One request per
//! connection (`Connection: close`).
//!
//! **Seams for others.** [`MetricsSource`] lets a subsystem add to `/metrics`;
//! [`DebugFilters`] is filled by the messaging layer when it exists (until then
//! `/debug/filters` answers 503 saying so). Both are set through [`AdminContext`].
//!
//! Not here: repair, decommission, move, cleanup, setting throughput at run time,
//! authentication (bind the API to a private address) and TLS.

pub mod http;
pub mod metrics;
pub mod placement;
pub(crate) mod routes;

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures::future::BoxFuture;
use sibyl_storage::Storage;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::cluster::ClusterView;
use crate::config::Snitch;
use crate::node::LocalInfo;
use crate::schema::SchemaManager;

pub use metrics::{MetricKind, MetricsSource, MetricsWriter};

/// Most admin connections served at once: an operator, a scraper and a script or
/// two; a flood of connections must not take the node's file descriptors.
pub const MAX_CONNECTIONS: usize = 32;

/// Why an admin request failed; each maps to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// 400: the request names something wrongly or carries bad values.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such route, keyspace, table or snapshot.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists for other methods.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 503: the feature is not available on this node now.
    #[error("{0}")]
    Unavailable(String),
    /// 500: the node failed doing what was asked (a storage error).
    #[error("{0}")]
    Internal(String),
    /// A protocol-level failure with its own status (408, 411, 413, 431, 400).
    #[error("{1}")]
    Http(u16, String),
}

impl AdminError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AdminError::BadRequest(_) => 400,
            AdminError::NotFound(_) => 404,
            AdminError::MethodNotAllowed(_) => 405,
            AdminError::Unavailable(_) => 503,
            AdminError::Internal(_) => 500,
            AdminError::Http(s, _) => *s,
        }
    }
}

/// Message filters for tests and debugging (Cassandra's in-JVM `IMessageFilters`):
/// drop or delay messages by verb, from and to. Implemented by the messaging layer.
pub trait DebugFilters: Send + Sync {
    /// The filters in force, as JSON.
    fn list(&self) -> serde_json::Value;
    /// Replaces the filters with `rules`; an error explains what is wrong with them.
    fn set(&self, rules: serde_json::Value) -> Result<(), String>;
    /// Removes every filter.
    fn clear(&self);
}

/// Stops the native transport (for `drain`); the node supplies it.
pub type StopTransport = Box<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// Everything the admin routes read: shared with the node, never owned.
pub struct AdminContext {
    pub storage: Arc<Storage>,
    pub schema: Arc<SchemaManager>,
    pub cluster: Arc<dyn ClusterView>,
    pub local: Arc<LocalInfo>,
    pub snitch: Snitch,
    /// When the node started (uptime).
    pub started: Instant,
    /// Whether `/debug/*` routes exist (`debug_endpoints`).
    pub debug_endpoints: bool,
    /// True until `drain` stops the native transport.
    pub native_transport_active: AtomicBool,
    /// Stops the native transport; called once by `drain`.
    pub stop_transport: StopTransport,
    /// Sources asked on every `/metrics` scrape.
    pub metrics_sources: RwLock<Vec<Arc<dyn MetricsSource>>>,
    /// The messaging layer's filters, once it exists.
    pub debug_filters: RwLock<Option<Arc<dyn DebugFilters>>>,
}

impl AdminContext {
    /// Adds a `/metrics` source.
    pub fn register_metrics_source(&self, source: Arc<dyn MetricsSource>) {
        if let Ok(mut v) = self.metrics_sources.write() {
            v.push(source);
        }
    }

    /// Installs the message filters `/debug/filters` drives.
    pub fn set_debug_filters(&self, filters: Option<Arc<dyn DebugFilters>>) {
        if let Ok(mut f) = self.debug_filters.write() {
            *f = filters;
        }
    }
}

/// A running admin server.
pub struct AdminServer {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl AdminServer {
    /// Binds `addr` and serves `ctx` on the current runtime.
    pub async fn bind(addr: SocketAddr, ctx: Arc<AdminContext>) -> std::io::Result<AdminServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (shutdown, rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, ctx, rx));
        Ok(AdminServer {
            local_addr,
            shutdown,
            accept_task,
        })
    }

    /// The bound address (its port when bound on 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting. Requests being answered finish on their own tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.accept_task.await {
            tracing::error!("admin accept task failed: {e}");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<AdminContext>,
    mut stop: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            a = listener.accept() => a,
        };
        let (mut socket, _peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                tracing::warn!("admin accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = limit.clone().try_acquire_owned();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let response = match permit {
                Err(_) => http::Response::error(&AdminError::Unavailable(format!(
                    "the admin API serves at most {MAX_CONNECTIONS} connections at once"
                ))),
                Ok(_permit) => match http::read_request(&mut socket).await {
                    Ok(req) => routes::handle(&ctx, req).await,
                    Err(e) => http::Response::error(&e),
                },
            };
            if let Err(e) = http::write_response(&mut socket, &response).await {
                tracing::debug!("admin response not sent: {e}");
            }
        });
    }
}
