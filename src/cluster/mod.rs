//! Cluster services: what a node knows about the ring and its members, and the
//! services that keep that knowledge current.
//!
//! [`view`] is the read side every consumer uses — the admin API and `nodetool`,
//! `system.peers`, driver events — as plain snapshots ([`ClusterView`]), so none of
//! them depends on how membership is driven. [`gossip_service`] drives the
//! I/O-free `Gossiper` (Cassandra's `GossipStage` and the endpoint-state subscribers
//! of `StorageService`). [`Cluster`] wires it to internode messaging
//! ([`crate::net`]) for a node: gossip verbs in and out, the tick task, joining
//! (shadow round, address-collision check, token allocation) and shutdown.

pub mod gossip_service;
pub mod view;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rand::SeedableRng;
use sibyl_gossip::{FailureDetectorConfig, GossipConfig, GossipMessage};
use sibyl_storage::Storage;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use gossip_service::GossipService;
pub use view::{ClusterView, EndpointStateKind, EndpointView, Liveness};

use crate::clock::MonotonicClock;
use crate::config::NodeConfig;
use crate::net::{decode_gossip, encode_gossip, gossip_verb};
use crate::net::{MessagingService, NetConfig, Verb};
use crate::node::{load_bytes, Identity, NodeError};
use crate::schema::SchemaManager;
use gossip_service::{host_id_in, GossipTransport, LocalSources, SHADOW_ROUND_WAIT};

/// The gossip verbs.
const GOSSIP_VERBS: [Verb; 3] = [
    Verb::GossipDigestSyn,
    Verb::GossipDigestAck,
    Verb::GossipDigestAck2,
];

/// Gossip over internode messaging.
struct NetGossipTransport {
    net: Arc<MessagingService>,
}

impl GossipTransport for NetGossipTransport {
    fn send(&self, to: SocketAddr, message: GossipMessage) {
        self.net
            .send_one_way(to, gossip_verb(&message), encode_gossip(&message));
    }
}

/// A node's membership services: messaging and gossip, and their tasks.
pub struct Cluster {
    pub net: Arc<MessagingService>,
    pub gossip: Arc<GossipService>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Cluster {
    /// Binds internode messaging on `listen_address:storage_port` and creates the
    /// gossip service (not yet ticking: see [`Cluster::run`]).
    pub async fn start(
        config: &NodeConfig,
        generation: i32,
        storage: &Arc<Storage>,
        schema: &Arc<SchemaManager>,
    ) -> Result<Cluster, NodeError> {
        let listen = SocketAddr::new(config.listen_address, config.storage_port);
        let net = MessagingService::bind(NetConfig::new(listen))
            .await
            .map_err(|e| {
                NodeError::Config(format!(
                    "cannot listen for internode messages on {listen} (storage_port): {e}; \
                     is another node using this address?"
                ))
            })?;
        let local = net.local_addr();
        // A seed naming this node's configured address is this node, also when the
        // port was 0 (tests) and the bound one differs.
        let seeds = config
            .seed_addresses()
            .into_iter()
            .map(|s| if s == listen { local } else { s })
            .collect();
        let gossip_config = GossipConfig {
            cluster_name: config.cluster_name.clone(),
            failure_detector: FailureDetectorConfig {
                phi_convict_threshold: config.phi_convict_threshold,
                ..FailureDetectorConfig::default()
            },
            ..GossipConfig::default()
        };
        let sources = LocalSources {
            load: Box::new({
                let storage = storage.clone();
                move || load_bytes(&storage)
            }),
            schema_version: Box::new({
                let schema = schema.clone();
                move || schema.version()
            }),
        };
        let gossip = GossipService::new(
            local,
            seeds,
            generation,
            gossip_config,
            Arc::new(NetGossipTransport { net: net.clone() }),
            sources,
            Some(config.system_dir()),
            Arc::new(MonotonicClock::new()),
            rand::random(),
        )?;
        let mut tasks = Vec::new();
        for verb in GOSSIP_VERBS {
            let mut inbound = net.register(verb);
            let gossip = gossip.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(message) = inbound.recv().await {
                    match decode_gossip(message.verb, &message.payload) {
                        Ok(m) => gossip.receive(message.from, m),
                        Err(e) => tracing::debug!(from = %message.from, "bad gossip message: {e}"),
                    }
                }
            }));
        }
        let (stop, _) = watch::channel(false);
        Ok(Cluster {
            net,
            gossip,
            stop,
            tasks: Mutex::new(tasks),
        })
    }

    /// A node's first start: learns the ring from the seeds (shadow round), refuses
    /// an address another node already has, allocates balanced tokens and writes
    /// the identity durably.
    pub async fn join(&self, num_tokens: usize, system_dir: &Path) -> Result<Identity, NodeError> {
        let local = self.gossip.local_endpoint();
        let states = self.gossip.shadow_round(SHADOW_ROUND_WAIT).await?;
        if host_id_in(&states, local).is_some() {
            // Cassandra's checkForEndpointCollision: a fresh node must not take over
            // the address of a member, or the ring would hold two identities for it.
            return Err(NodeError::Config(format!(
                "A node with address {local} already exists, cancelling join. Start this \
                 node on another address, or start the existing node with its own data \
                 directory"
            )));
        }
        let ring = GossipService::ring_of(&states);
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let tokens: Vec<i64> = crate::dht::allocate_tokens(num_tokens, &ring, &mut rng)
            .into_iter()
            .map(|t| t.0)
            .collect();
        tracing::info!(
            members = ring.endpoints().count(),
            tokens = tokens.len(),
            "joining: tokens allocated against the ring learnt from the seeds"
        );
        let identity = Identity::with_tokens(tokens);
        identity.write(system_dir)?;
        Ok(identity)
    }

    /// Starts ticking the gossiper.
    pub fn run(&self) {
        let task = tokio::spawn(self.gossip.clone().run(self.stop.subscribe()));
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }

    /// Stops gossip and messaging.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            t.abort();
        }
        self.net.shutdown().await;
    }
}

/// `/metrics` for internode messaging: per-peer traffic, queues and drops.
pub struct NetMetrics(pub Arc<MessagingService>);

impl crate::admin::MetricsSource for NetMetrics {
    fn collect(&self, out: &mut crate::admin::MetricsWriter) {
        use crate::admin::MetricKind::{Counter, Gauge};
        let stats = self.0.stats();
        for p in &stats.peers {
            let peer = p.peer.to_string();
            let l = [("peer", peer.as_str())];
            out.sample(
                "sibyl_internode_sent_total",
                "Messages written to the peer's connection",
                Counter,
                &l,
                p.sent as f64,
            );
            out.sample(
                "sibyl_internode_received_total",
                "Frames received from the peer",
                Counter,
                &l,
                p.received as f64,
            );
            out.sample(
                "sibyl_internode_queue_length",
                "Messages waiting in the outbound queue to the peer",
                Gauge,
                &l,
                p.queue_len as f64,
            );
            out.sample(
                "sibyl_internode_connected",
                "1 when the outbound connection to the peer is established",
                Gauge,
                &l,
                f64::from(u8::from(p.connected)),
            );
            for (verb, n) in &p.dropped_by_verb {
                out.sample(
                    "sibyl_internode_dropped_total",
                    "Messages dropped (queue full, expired, connection lost), by verb",
                    Counter,
                    &[("peer", peer.as_str()), ("verb", verb.as_str())],
                    *n as f64,
                );
            }
        }
        out.sample(
            "sibyl_internode_inbound_connections",
            "Accepted internode connections open",
            Gauge,
            &[],
            stats.inbound_connections as f64,
        );
        out.sample(
            "sibyl_internode_filtered_total",
            "Messages dropped or delayed by debug message filters",
            Counter,
            &[("action", "drop")],
            stats.filters.dropped as f64,
        );
        out.sample(
            "sibyl_internode_filtered_total",
            "Messages dropped or delayed by debug message filters",
            Counter,
            &[("action", "delay")],
            stats.filters.delayed as f64,
        );
    }
}

/// `/debug/filters` on the messaging service's message filters.
pub struct NetDebugFilters(pub Arc<MessagingService>);

impl crate::admin::DebugFilters for NetDebugFilters {
    fn list(&self) -> serde_json::Value {
        serde_json::to_value(self.0.filters().list()).unwrap_or(serde_json::Value::Null)
    }

    fn set(&self, rules: serde_json::Value) -> Result<(), String> {
        // One rule or a list of rules.
        let rules = match rules {
            serde_json::Value::Array(_) => rules,
            one => serde_json::Value::Array(vec![one]),
        };
        let rules: Vec<crate::net::FilterRule> =
            serde_json::from_value(rules).map_err(|e| format!("bad filter rules: {e}"))?;
        self.0.filters().set(rules).map_err(|e| e.to_string())
    }

    fn clear(&self) {
        self.0.filters().clear();
    }
}
