//! A node: the storage engine, the schema, the query processor and the CQL native
//! transport, started and stopped together.
//!
//! [`Node::start`] opens storage (replaying the commitlog), the schema (under
//! `<data dir>/system`), loads or creates the node's identity (host id and tokens,
//! kept next to the schema), builds one [`QueryProcessor`] and binds the native
//! transport on `rpc_address:native_transport_port`, then the admin API
//! ([`crate::admin`]) on `admin_address:admin_port`. [`Node::shutdown`] stops the
//! admin API, stops accepting connections, lets requests in flight finish, then
//! flushes memtables and closes storage.
//!
//! **Node-local system tables.** `system.local`, `system.peers` and
//! `system.peers_v2` are not stored: [`NodeCatalog`] wraps the [`SchemaManager`]
//! and answers them from the node's identity, so drivers reading them at connect go
//! through the one execution path like every other SELECT. A one-node cluster has
//! no peers, so both peers tables are empty. The ring/membership issue replaces the
//! random tokens and the empty peers with real ones.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use sibyl_cql::parser::{DescribeTarget, Statement};
use sibyl_cql::types::CqlValue;
use sibyl_storage::Storage;

use crate::admin::{AdminContext, AdminServer, DebugFilters, MetricsSource};
use crate::clock::{Clock, SystemClock};
use crate::cluster::gossip_service::{GossipService, LocalAnnouncement, PeerInfo};
use crate::cluster::{Cluster, ClusterView, NetDebugFilters, NetMetrics};
use crate::config::NodeConfig;
use crate::error::CqlResult;
use crate::net::MessagingService;
use crate::query::{Catalog, ColumnSpec, QueryProcessor, ResultMessage, VirtualRows};
use crate::schema::model::TableMetadata;
use crate::schema::SchemaManager;
use crate::transport::{Server, TransportConfig};

/// `release_version` reported to clients. Drivers and cqlsh switch features on it
/// (cqlsh sends server-side DESCRIBE to 4.0 and later). 5.0.0 rather than 4.1: cqlsh
/// 6.2 prints "WARNING: cqlsh was built against 5.0.0, but this server is ..." on
/// every run otherwise, polluting `cqlsh -f` output; no driver behaves differently
/// between 4.1 and 5.0 for what Sibyl serves.
pub const RELEASE_VERSION: &str = "5.0.0";

/// `cql_version` reported in `system.local` and in SUPPORTED.
pub const CQL_VERSION: &str = "3.4.7";

/// The partitioner (the only one Sibyl has).
pub const PARTITIONER: &str = "org.apache.cassandra.dht.Murmur3Partitioner";

/// Name of the identity file in the system directory.
const IDENTITY_FILE: &str = "identity";

/// Why a node could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A bad configuration value.
    #[error("configuration: {0}")]
    Config(String),
    /// The storage engine failed to open or close.
    #[error("storage: {0}")]
    Storage(String),
    /// The schema could not be loaded.
    #[error("schema: {0}")]
    Schema(String),
    /// Files of the node (identity) or the listening socket.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
    let what = what.into();
    move |source| NodeError::Io { what, source }
}

/// Who this node is: kept across restarts so drivers see the same host.
///
/// File layout (`<data dir>/system/identity`, text):
///
/// ```text
/// host_id=<uuid>
/// tokens=<i64>,<i64>,...
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub host_id: u128,
    /// Murmur3 tokens owned by this node, sorted.
    pub tokens: Vec<i64>,
}

impl Identity {
    /// Reads the identity under `dir`, or creates one with `num_tokens` random tokens
    /// (written durably before it is used).
    pub fn load_or_create(dir: &Path, num_tokens: usize) -> Result<Identity, NodeError> {
        match Identity::load(dir)? {
            Some(id) => Ok(id),
            None => {
                let id = Identity::random(num_tokens);
                id.write(dir)?;
                Ok(id)
            }
        }
    }

    /// Reads the identity under `dir`: `None` for a node that never started.
    pub fn load(dir: &Path) -> Result<Option<Identity>, NodeError> {
        let path = dir.join(IDENTITY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Identity::parse(&text).map(Some).ok_or_else(|| {
                NodeError::Config(format!("{} is not a valid identity file", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(format!("reading {}", path.display()))(e)),
        }
    }

    /// A new identity: a random host id and `tokens`.
    pub fn with_tokens(mut tokens: Vec<i64>) -> Identity {
        tokens.sort_unstable();
        tokens.dedup();
        Identity {
            host_id: crate::schema::manager::random_uuid(),
            tokens,
        }
    }

    fn random(num_tokens: usize) -> Identity {
        let mut tokens = Vec::with_capacity(num_tokens);
        while tokens.len() < num_tokens {
            let t: i64 = rand::random();
            // i64::MIN is the partitioner's minimum token, owned by no node.
            if t != i64::MIN && !tokens.contains(&t) {
                tokens.push(t);
            }
        }
        tokens.sort_unstable();
        Identity {
            host_id: crate::schema::manager::random_uuid(),
            tokens,
        }
    }

    fn parse(text: &str) -> Option<Identity> {
        let mut host_id = None;
        let mut tokens = None;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("host_id=") {
                host_id = parse_uuid(v);
            } else if let Some(v) = line.strip_prefix("tokens=") {
                let parsed: Result<Vec<i64>, _> = v.split(',').map(str::parse).collect();
                tokens = parsed.ok();
            }
        }
        Some(Identity {
            host_id: host_id?,
            tokens: tokens.filter(|t| !t.is_empty())?,
        })
    }

    /// Writes the identity durably under `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), NodeError> {
        let tokens: Vec<String> = self.tokens.iter().map(i64::to_string).collect();
        let body = format!(
            "host_id={}\ntokens={}\n",
            format_uuid(self.host_id),
            tokens.join(",")
        );
        write_durably(dir, IDENTITY_FILE, body.as_bytes())
    }
}

/// Name of the file keeping the last gossip generation.
const GENERATION_FILE: &str = "generation";

/// This life's gossip generation: the start time in seconds, but always larger than
/// the previous life's (a clock set back must not make peers ignore the restarted
/// node), written durably before it is announced.
pub fn next_generation(dir: &Path, now_seconds: i64) -> Result<i32, NodeError> {
    let previous = std::fs::read_to_string(dir.join(GENERATION_FILE))
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
        .unwrap_or(0);
    let generation = (now_seconds.clamp(1, i64::from(i32::MAX - 1)) as i32).max(previous + 1);
    write_durably(dir, GENERATION_FILE, format!("{generation}\n").as_bytes())?;
    Ok(generation)
}

/// Writes `dir/name` so that after a crash it holds either the old or the new bytes,
/// and the new ones are durable when this returns.
pub fn write_durably(dir: &Path, name: &str, body: &[u8]) -> Result<(), NodeError> {
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let what = format!("writing {}", path.display());
    let mut f = std::fs::File::create(&tmp).map_err(io_err(what.clone()))?;
    f.write_all(body).map_err(io_err(what.clone()))?;
    // IMPORTANT: the file's bytes are durable before the rename publishes them, and
    // the rename is durable (directory fsync) before the caller relies on it.
    f.sync_all().map_err(io_err(what.clone()))?;
    std::fs::rename(&tmp, &path).map_err(io_err(what.clone()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(what))?;
    Ok(())
}

/// Tokens as `system.local`/`peers` show them: a set of text, sorted as text sorts
/// (bytewise), as a set is by its element type's order.
fn token_set(tokens: &[i64]) -> CqlValue {
    let mut t: Vec<String> = tokens.iter().map(i64::to_string).collect();
    t.sort();
    CqlValue::Set(t.into_iter().map(CqlValue::Text).collect())
}

/// Bytes on disk of every table's sstables (Cassandra's LOAD).
pub fn load_bytes(storage: &Storage) -> f64 {
    storage
        .tables()
        .iter()
        .map(|t| t.stats().space_used_live as f64)
        .sum()
}

/// A UUID as its canonical 8-4-4-4-12 text.
pub fn format_uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_uuid(s: &str) -> Option<u128> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// What `system.local` reports besides the schema version.
#[derive(Debug)]
pub struct LocalInfo {
    pub identity: Identity,
    pub cluster_name: String,
    pub listen_address: IpAddr,
    pub rpc_address: IpAddr,
    /// The bound native port (known once the transport has bound).
    pub native_port: AtomicU16,
    /// Seconds since the epoch at start (`gossip_generation`).
    pub generation: i32,
    /// `storage_port` (reported in `system.local`; nothing listens there yet).
    pub storage_port: u16,
    /// The snitch's data center and rack for this node.
    pub datacenter: String,
    pub rack: String,
}

/// The executor's catalog on a node: the schema, plus the node-local system tables
/// (`system.local`, `system.peers`, `system.peers_v2`) answered from [`LocalInfo`].
pub struct NodeCatalog {
    schema: Arc<SchemaManager>,
    local: Arc<LocalInfo>,
    /// Where the peers come from (none: a node without gossip has no peers).
    gossip: Option<Arc<GossipService>>,
}

impl NodeCatalog {
    pub fn new(
        schema: Arc<SchemaManager>,
        local: Arc<LocalInfo>,
        gossip: Option<Arc<GossipService>>,
    ) -> NodeCatalog {
        NodeCatalog {
            schema,
            local,
            gossip,
        }
    }

    /// One peer's value for a `system.peers` / `system.peers_v2` column.
    fn peer_value(p: &PeerInfo, column: &str) -> Option<CqlValue> {
        let text = |s: &Option<String>| s.clone().map(CqlValue::Text);
        match column {
            "peer" => Some(CqlValue::Inet(p.endpoint.ip())),
            "peer_port" => Some(CqlValue::Int(i32::from(p.endpoint.port()))),
            "data_center" => text(&p.datacenter),
            "rack" => text(&p.rack),
            "host_id" => Some(CqlValue::Uuid(p.host_id)),
            "release_version" => text(&p.release_version),
            "schema_version" => p.schema_version.map(CqlValue::Uuid),
            "rpc_address" | "native_address" => p.native_address.map(|a| CqlValue::Inet(a.ip())),
            "native_port" => p.native_address.map(|a| CqlValue::Int(i32::from(a.port()))),
            "tokens" => Some(token_set(&p.tokens)),
            _ => None,
        }
    }

    fn specs(meta: &TableMetadata) -> Vec<ColumnSpec> {
        meta.columns
            .iter()
            .map(|c| ColumnSpec {
                keyspace: meta.keyspace.clone(),
                table: meta.name.clone(),
                name: c.name.clone(),
                cql_type: c.cql_type.clone(),
            })
            .collect()
    }

    fn local_value(&self, column: &str) -> Option<CqlValue> {
        let l = &self.local;
        let text = |s: &str| Some(CqlValue::Text(s.to_string()));
        match column {
            "key" => text("local"),
            "bootstrapped" => text("COMPLETED"),
            "broadcast_address" | "listen_address" => Some(CqlValue::Inet(l.listen_address)),
            "broadcast_port" | "listen_port" => Some(CqlValue::Int(i32::from(l.storage_port))),
            "cluster_name" => text(&l.cluster_name),
            "cql_version" => text(CQL_VERSION),
            "data_center" => text(&l.datacenter),
            "gossip_generation" => Some(CqlValue::Int(l.generation)),
            "host_id" => Some(CqlValue::Uuid(l.identity.host_id)),
            "native_protocol_version" => text("5"),
            "partitioner" => text(PARTITIONER),
            "rack" => text(&l.rack),
            "release_version" => text(RELEASE_VERSION),
            "rpc_address" => Some(CqlValue::Inet(l.rpc_address)),
            "rpc_port" => Some(CqlValue::Int(i32::from(
                l.native_port.load(Ordering::Relaxed),
            ))),
            "schema_version" => Some(CqlValue::Uuid(self.schema.version())),
            "tokens" => Some(token_set(&l.identity.tokens)),
            _ => None,
        }
    }
}

impl Catalog for NodeCatalog {
    fn table(&self, keyspace: &str, name: &str) -> CqlResult<Arc<TableMetadata>> {
        self.schema.table(keyspace, name)
    }
    fn keyspace_exists(&self, keyspace: &str) -> bool {
        self.schema.keyspace(keyspace).is_some()
    }
    fn virtual_table(&self, keyspace: &str, table: &str) -> Option<VirtualRows> {
        if keyspace != "system" {
            return self.schema.virtual_table(keyspace, table);
        }
        match table {
            "local" => {
                let meta = self.schema.table(keyspace, table).ok()?;
                let row = meta
                    .columns
                    .iter()
                    .map(|c| self.local_value(&c.name))
                    .collect();
                Some((Self::specs(&meta), vec![row]))
            }
            "peers" | "peers_v2" => {
                let meta = self.schema.table(keyspace, table).ok()?;
                let mut peers = self.gossip.as_ref().map(|g| g.peers()).unwrap_or_default();
                peers.sort_by_key(|p| p.endpoint);
                let rows = peers
                    .iter()
                    .map(|p| {
                        meta.columns
                            .iter()
                            .map(|c| Self::peer_value(p, &c.name))
                            .collect()
                    })
                    .collect();
                Some((Self::specs(&meta), rows))
            }
            _ => self.schema.virtual_table(keyspace, table),
        }
    }
    fn execute_ddl(
        &self,
        stmt: &Statement,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage> {
        self.schema.execute_ddl(stmt, session_keyspace)
    }
    fn describe(
        &self,
        target: &DescribeTarget,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage> {
        self.schema.describe(target, session_keyspace)
    }
}

/// A running node.
pub struct Node {
    storage: Arc<Storage>,
    schema: Arc<SchemaManager>,
    processor: Arc<QueryProcessor>,
    local: Arc<LocalInfo>,
    native_addr: SocketAddr,
    admin: AdminServer,
    admin_ctx: Arc<AdminContext>,
    data_dir: PathBuf,
    cluster: Cluster,
    cluster_view: Arc<dyn ClusterView>,
}

impl Node {
    /// Opens everything and starts serving CQL. Must run inside a multi-threaded
    /// tokio runtime (requests execute on its blocking pool).
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let storage_config = config.storage_config().map_err(NodeError::Config)?;
        let system_dir = config.system_dir();
        let num_tokens = config.num_tokens.max(1);
        let root = config.root_dir.clone();
        // Storage and schema open with blocking file I/O (commitlog replay can be long).
        let opened = tokio::task::spawn_blocking(move || {
            let (storage, report) = Storage::open(storage_config)
                .map_err(|e| NodeError::Storage(format!("cannot open {}: {e}", root.display())))?;
            for t in &report.torn_segments {
                tracing::warn!("commitlog: {t}");
            }
            tracing::info!(
                tables = report.tables,
                replayed = report.records_replayed,
                "storage open"
            );
            let storage = Arc::new(storage);
            std::fs::create_dir_all(&system_dir)
                .map_err(io_err(format!("creating {}", system_dir.display())))?;
            let schema = SchemaManager::open(storage.clone(), &system_dir)
                .map_err(|e| NodeError::Schema(e.to_string()))?;
            let identity = Identity::load(&system_dir)?;
            let generation = next_generation(&system_dir, SystemClock.now_seconds())?;
            Ok::<_, NodeError>((storage, Arc::new(schema), identity, generation))
        })
        .await
        .map_err(|e| NodeError::Storage(format!("startup task failed: {e}")))??;
        let (storage, schema, identity, generation) = opened;
        let system_dir = config.system_dir();
        let close_on_error = |storage: &Arc<Storage>| {
            // Storage is open: close it before reporting, so the commitlog is clean.
            let _ = storage.close();
        };
        // Internode messaging and gossip: the node learns the ring before it owns
        // tokens in it.
        let cluster = match Cluster::start(&config, generation, &storage, &schema).await {
            Ok(c) => c,
            Err(e) => {
                close_on_error(&storage);
                return Err(e);
            }
        };
        let identity = match identity {
            Some(identity) => identity,
            None => match cluster.join(num_tokens, &system_dir).await {
                Ok(identity) => identity,
                Err(e) => {
                    cluster.shutdown().await;
                    close_on_error(&storage);
                    return Err(e);
                }
            },
        };
        let local = Arc::new(LocalInfo {
            identity,
            cluster_name: config.cluster_name.clone(),
            listen_address: config.listen_address,
            rpc_address: config.rpc_address,
            native_port: AtomicU16::new(config.native_transport_port),
            generation,
            storage_port: config.storage_port,
            datacenter: config.datacenter.clone(),
            rack: config.rack.clone(),
        });
        let catalog = Arc::new(NodeCatalog::new(
            schema.clone(),
            local.clone(),
            Some(cluster.gossip.clone()),
        ));
        let mut processor =
            QueryProcessor::with_catalog(storage.clone(), catalog, Arc::new(SystemClock));
        processor.tombstone_warn_threshold = config.tombstone_warn_threshold as usize;
        let processor = Arc::new(processor);
        let transport_config = TransportConfig {
            addr: SocketAddr::new(config.rpc_address, config.native_transport_port),
            max_connections: config.native_transport_max_connections.max(1),
            max_frame_size_bytes: config.native_transport_max_frame_size_bytes,
        };
        let transport = match Server::bind(transport_config, processor.clone()).await {
            Ok(t) => t,
            Err(e) => {
                cluster.shutdown().await;
                close_on_error(&storage);
                return Err(io_err(format!(
                    "binding the native transport on {}:{}",
                    config.rpc_address, config.native_transport_port
                ))(e));
            }
        };
        local
            .native_port
            .store(transport.local_addr().port(), Ordering::Relaxed);
        tracing::info!(address = %transport.local_addr(), "CQL native transport listening");
        cluster.gossip.set_event_sender(transport.event_sender());
        if let Err(e) = cluster.gossip.announce(&LocalAnnouncement {
            host_id: local.identity.host_id,
            tokens: local.identity.tokens.clone(),
            datacenter: local.datacenter.clone(),
            rack: local.rack.clone(),
            native_address: SocketAddr::new(config.rpc_address, transport.local_addr().port()),
        }) {
            transport.shutdown().await;
            cluster.shutdown().await;
            close_on_error(&storage);
            return Err(e);
        }
        cluster.run();
        tracing::info!(
            endpoint = %cluster.gossip.local_endpoint(),
            generation,
            "gossip started"
        );
        let native_addr = transport.local_addr();
        let request_metrics = transport.request_metrics();
        // The native transport until `drain` or shutdown takes it.
        let transport = Arc::new(tokio::sync::Mutex::new(Some(transport)));
        let admin_ctx = Arc::new(AdminContext {
            storage: storage.clone(),
            schema: schema.clone(),
            cluster: cluster.gossip.clone(),
            local: local.clone(),
            snitch: config.endpoint_snitch,
            started: std::time::Instant::now(),
            debug_endpoints: config.debug_endpoints,
            native_transport_active: std::sync::atomic::AtomicBool::new(true),
            stop_transport: Box::new({
                let transport = transport.clone();
                move || {
                    let transport = transport.clone();
                    Box::pin(async move {
                        let server = transport.lock().await.take();
                        if let Some(server) = server {
                            server.shutdown().await;
                        }
                    })
                }
            }),
            metrics_sources: std::sync::RwLock::new(Vec::new()),
            debug_filters: std::sync::RwLock::new(None),
        });
        let admin_addr = SocketAddr::new(config.admin_address, config.admin_port);
        let admin = match AdminServer::bind(admin_addr, admin_ctx.clone()).await {
            Ok(a) => a,
            Err(e) => {
                // The transport and storage are open: close both before reporting.
                (admin_ctx.stop_transport)().await;
                cluster.shutdown().await;
                let _ = storage.close();
                return Err(io_err(format!("binding the admin API on {admin_addr}"))(e));
            }
        };
        tracing::info!(address = %admin.local_addr(), "admin API listening");
        admin_ctx.register_metrics_source(Arc::new(NetMetrics(cluster.net.clone())));
        admin_ctx.register_metrics_source(request_metrics);
        admin_ctx.set_debug_filters(Some(Arc::new(NetDebugFilters(cluster.net.clone()))));
        Ok(Node {
            cluster_view: cluster.gossip.clone(),
            cluster,
            storage,
            schema,
            processor,
            local,
            native_addr,
            admin,
            admin_ctx,
            data_dir: config.root_dir,
        })
    }

    /// The address the native transport is bound to (its port when started on 0).
    pub fn native_addr(&self) -> SocketAddr {
        self.native_addr
    }

    /// The address the admin API is bound to (its port when started on 0).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    /// Adds a source to the admin API's `/metrics` (e.g. the messaging layer's
    /// dropped-message counters).
    pub fn register_metrics_source(&self, source: Arc<dyn MetricsSource>) {
        self.admin_ctx.register_metrics_source(source);
    }

    /// Installs the message filters `/debug/filters` drives (served only with
    /// `debug_endpoints: true`).
    pub fn set_debug_filters(&self, filters: Option<Arc<dyn DebugFilters>>) {
        self.admin_ctx.set_debug_filters(filters);
    }

    /// The node's host id.
    pub fn host_id(&self) -> u128 {
        self.local.identity.host_id
    }

    /// The node's root data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The query processor (for in-process tools and tests).
    pub fn processor(&self) -> &Arc<QueryProcessor> {
        &self.processor
    }

    /// The schema.
    pub fn schema(&self) -> &Arc<SchemaManager> {
        &self.schema
    }

    /// The storage engine.
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// What this node knows about the cluster's members.
    pub fn cluster(&self) -> &Arc<dyn ClusterView> {
        &self.cluster_view
    }

    /// The node's gossip.
    pub fn gossip(&self) -> &Arc<GossipService> {
        &self.cluster.gossip
    }

    /// Internode messaging.
    pub fn messaging(&self) -> &Arc<MessagingService> {
        &self.cluster.net
    }

    /// What `system.local` reports: identity, addresses, dc/rack.
    pub fn local_info(&self) -> &Arc<LocalInfo> {
        &self.local
    }

    /// Stops the admin API and the transport (in-flight requests finish and are
    /// answered), then flushes memtables and closes storage.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        self.admin.shutdown().await;
        (self.admin_ctx.stop_transport)().await;
        drop(self.admin_ctx);
        self.cluster.shutdown().await;
        drop(self.processor);
        let storage = self.storage;
        tokio::task::spawn_blocking(move || {
            tracing::info!("shutting down: flushing memtables");
            storage
                .flush_all()
                .map_err(|e| NodeError::Storage(e.to_string()))?;
            storage
                .close()
                .map_err(|e| NodeError::Storage(e.to_string()))
        })
        .await
        .map_err(|e| NodeError::Storage(format!("shutdown task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_and_persists() {
        // Checks that an identity is created once, then read back unchanged.
        let dir = tempfile::tempdir().expect("tmp");
        let a = Identity::load_or_create(dir.path(), 16).expect("create");
        assert_eq!(a.tokens.len(), 16);
        let b = Identity::load_or_create(dir.path(), 16).expect("load");
        assert_eq!(a, b);
        assert_eq!(parse_uuid(&format_uuid(a.host_id)), Some(a.host_id));
    }

    #[test]
    fn corrupt_identity_is_refused() {
        // Checks that a damaged identity file stops the node instead of inventing a new one.
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join(IDENTITY_FILE), "host_id=zz\n").expect("write");
        assert!(Identity::load_or_create(dir.path(), 16).is_err());
    }
}
