//! The gossip service: the I/O-free [`Gossiper`] driven by a clock and a network, and
//! what the node does with what it learns.
//!
//! **What.** [`GossipService`] owns the node's `Gossiper` (from `sibyl-gossip`), a
//! seeded RNG and a monotonic clock origin. A tokio task ([`GossipService::run`])
//! ticks it every [`TICK_INTERVAL`]; inbound messages arrive through
//! [`GossipService::receive`]; outbound ones leave through a [`GossipTransport`] (the
//! internode messaging service in a node, an in-memory network in tests). After every
//! tick and message the gossiper's events are turned into what the rest of the node
//! needs — Cassandra's `StorageService` endpoint-state subscriber:
//!
//! * the **peers**: endpoints whose STATUS is NORMAL and that announced TOKENS and a
//!   HOST_ID. They fill `system.peers`/`peers_v2` and are written to
//!   `<data>/system/peers` (JSON, written durably), so a restarted node lists them at
//!   once and does not announce them again as new;
//! * **driver events**: TOPOLOGY_CHANGE NEW_NODE the first time a peer becomes
//!   NORMAL, REMOVED_NODE when it is removed, STATUS_CHANGE UP/DOWN when the failure
//!   detector changes its mind — each carrying the peer's native (CQL) address, as
//!   drivers expect;
//! * the [`ClusterView`] every reader uses (`nodetool`, the admin API).
//!
//! **What the node announces** (application states, Cassandra's names and value
//! forms where they are text): `STATUS_WITH_PORT`/`STATUS` = `NORMAL,<first token>`,
//! `TOKENS` = the tokens in decimal, comma-separated (Cassandra gossips them as
//! bytes; nothing outside Sibyl reads this value), `HOST_ID`, `DC`, `RACK`,
//! `RPC_ADDRESS`, `NATIVE_ADDRESS_AND_PORT` (`ip:port`), `RELEASE_VERSION`,
//! `SCHEMA` (re-announced as soon as the local schema version changes) and `LOAD`
//! (bytes on disk, every [`LOAD_BROADCAST_INTERVAL`] like Cassandra's
//! `LoadBroadcaster`).
//!
//! **Joining.** A node without an identity runs a shadow round
//! ([`GossipService::shadow_round`]) against its seeds first: it learns the ring
//! without announcing itself, refuses to start if a live member already uses its
//! address with another host id, and allocates balanced tokens against the ring it
//! learnt ([`crate::dht::allocate_tokens`]).
//!
//! **Locking.** One mutex guards the gossiper and the peer bookkeeping; it is never
//! held across an await, a send or a driver-event publication.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sibyl_cql::protocol::{Event, StatusChange, TopologyChange};
use sibyl_gossip::{
    ApplicationState, EndpointState, GossipConfig, GossipEvent, GossipMessage, Gossiper,
};
use tokio::sync::broadcast;

use super::view::{ClusterView, EndpointStateKind, EndpointView, Liveness};
use crate::clock::Clock;
use crate::dht::Token;
use crate::locator::TokenMetadata;
use crate::node::{format_uuid, NodeError, RELEASE_VERSION};

/// How often the gossiper is ticked. Rounds run every `gossip_interval` (1 s); a
/// finer tick keeps the failure detector's verdicts and shadow-round retries timely
/// without busy work (a tick with nothing due costs a lock and a comparison).
pub const TICK_INTERVAL: Duration = Duration::from_millis(100);

/// How often LOAD is re-announced (Cassandra's `LoadBroadcaster` interval).
pub const LOAD_BROADCAST_INTERVAL: Duration = Duration::from_secs(60);

/// How long a joining node waits for a seed to answer its shadow round before it
/// gives up (Cassandra's RING_DELAY).
pub const SHADOW_ROUND_WAIT: Duration = Duration::from_secs(30);

/// File (under the system directory) keeping the peers learnt through gossip.
const PEERS_FILE: &str = "peers";

/// Carries gossip messages to other nodes. Sending never blocks and may drop.
pub trait GossipTransport: Send + Sync {
    fn send(&self, to: SocketAddr, message: GossipMessage);
}

/// What this node announces about itself.
pub struct LocalAnnouncement {
    pub host_id: u128,
    pub tokens: Vec<i64>,
    pub datacenter: String,
    pub rack: String,
    pub native_address: SocketAddr,
}

/// A ring member other than this node, as system.peers shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Internode address (`peer`, `peer_port`).
    pub endpoint: SocketAddr,
    pub host_id: u128,
    pub datacenter: Option<String>,
    pub rack: Option<String>,
    pub tokens: Vec<i64>,
    /// `rpc_address`/`native_address` and `native_port`.
    pub native_address: Option<SocketAddr>,
    pub release_version: Option<String>,
    pub schema_version: Option<u128>,
}

/// Counters for `/metrics`.
#[derive(Default)]
struct Counters {
    ticks_with_round: AtomicU64,
    messages_sent: AtomicU64,
    messages_received: AtomicU64,
    messages_rejected: AtomicU64,
}

struct Inner {
    gossiper: Gossiper,
    rng: StdRng,
    /// Peers that are (or were, before a restart) NORMAL members of the ring.
    peers: BTreeMap<SocketAddr, PeerInfo>,
    /// Peers whose last STATUS_CHANGE sent to drivers was UP (so UP is sent once
    /// per transition, whichever of NEW_NODE and the failure detector comes first).
    reported_up: BTreeSet<SocketAddr>,
    /// Schema version last announced.
    announced_schema: Option<u128>,
    /// Gossiper time (ms) when LOAD is next re-announced.
    next_load_at: u64,
}

/// Sources of the values the node re-announces.
pub struct LocalSources {
    /// Bytes on disk.
    pub load: Box<dyn Fn() -> f64 + Send + Sync>,
    /// The current schema version.
    pub schema_version: Box<dyn Fn() -> u128 + Send + Sync>,
}

/// The node's gossip. See the module documentation.
pub struct GossipService {
    inner: Mutex<Inner>,
    transport: Arc<dyn GossipTransport>,
    local: SocketAddr,
    /// Monotonic time for the gossiper (a [`crate::clock::MonotonicClock`] in a
    /// node, a manual clock in tests).
    clock: Arc<dyn Clock>,
    /// The clock's reading at creation: the gossiper's time zero.
    origin_micros: i64,
    system_dir: Option<PathBuf>,
    sources: LocalSources,
    events: OnceLock<broadcast::Sender<Event>>,
    counters: Counters,
}

impl GossipService {
    /// A service for the node at `local` in its life `generation`. Peers saved by a
    /// previous life are read from `system_dir` (when given) and kept there.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        local: SocketAddr,
        seeds: Vec<SocketAddr>,
        generation: i32,
        config: GossipConfig,
        transport: Arc<dyn GossipTransport>,
        sources: LocalSources,
        system_dir: Option<PathBuf>,
        clock: Arc<dyn Clock>,
        rng_seed: u64,
    ) -> Result<Arc<GossipService>, NodeError> {
        let origin_micros = clock.now_micros();
        let gossiper = Gossiper::new(local, seeds, generation, config, 0)
            .map_err(|e| NodeError::Config(format!("gossip: {e}")))?;
        let peers = match &system_dir {
            Some(dir) => load_peers(&dir.join(PEERS_FILE))?,
            None => BTreeMap::new(),
        };
        Ok(Arc::new(GossipService {
            inner: Mutex::new(Inner {
                gossiper,
                rng: StdRng::seed_from_u64(rng_seed),
                peers,
                reported_up: BTreeSet::new(),
                announced_schema: None,
                next_load_at: 0,
            }),
            transport,
            local,
            clock,
            origin_micros,
            system_dir,
            sources,
            events: OnceLock::new(),
            counters: Counters::default(),
        }))
    }

    /// Where driver events go (the native transport's broadcast), once it exists.
    pub fn set_event_sender(&self, sender: broadcast::Sender<Event>) {
        let _ = self.events.set(sender);
    }

    fn now_ms(&self) -> u64 {
        (self.clock.now_micros().saturating_sub(self.origin_micros) / 1000).max(0) as u64
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The node's internode address.
    pub fn local_endpoint(&self) -> SocketAddr {
        self.local
    }

    // ----- joining ----------------------------------------------------------

    /// Runs the shadow round: asks the seeds for the cluster's state without
    /// announcing this node. Returns the states learnt (empty when this node is the
    /// only seed). Fails when no seed answers within `wait`.
    pub async fn shadow_round(
        &self,
        wait: Duration,
    ) -> Result<BTreeMap<SocketAddr, EndpointState>, NodeError> {
        {
            let now = self.now_ms();
            self.lock().gossiper.start_shadow_round(now);
        }
        let deadline = Instant::now() + wait;
        loop {
            self.tick();
            {
                let g = self.lock();
                match g.gossiper.check_shadow_round() {
                    Ok(true) => return Ok(g.gossiper.shadow_states().clone()),
                    Ok(false) => {}
                    Err(e) => {
                        return Err(NodeError::Config(format!(
                            "Unable to gossip with any peers: {e}; seeds: {}",
                            seed_list(g.gossiper.seeds())
                        )))
                    }
                }
                if Instant::now() >= deadline {
                    return Err(NodeError::Config(format!(
                        "Unable to gossip with any peers within {} s; seeds: {}",
                        wait.as_secs(),
                        seed_list(g.gossiper.seeds())
                    )));
                }
            }
            tokio::time::sleep(TICK_INTERVAL).await;
        }
    }

    /// Announces this node: every application state, STATUS last so that peers see
    /// a NORMAL node with its tokens and addresses already known.
    pub fn announce(&self, me: &LocalAnnouncement) -> Result<(), NodeError> {
        let schema = (self.sources.schema_version)();
        let load = (self.sources.load)();
        let first = me.tokens.first().copied().unwrap_or_default();
        let tokens: Vec<String> = me.tokens.iter().map(i64::to_string).collect();
        let states = [
            (ApplicationState::HostId, format_uuid(me.host_id)),
            (ApplicationState::Tokens, tokens.join(",")),
            (ApplicationState::Dc, me.datacenter.clone()),
            (ApplicationState::Rack, me.rack.clone()),
            (
                ApplicationState::RpcAddress,
                me.native_address.ip().to_string(),
            ),
            (
                ApplicationState::NativeAddressAndPort,
                me.native_address.to_string(),
            ),
            (
                ApplicationState::ReleaseVersion,
                RELEASE_VERSION.to_string(),
            ),
            (ApplicationState::Schema, format_uuid(schema)),
            (ApplicationState::Load, format!("{load:.1}")),
            (ApplicationState::StatusWithPort, format!("NORMAL,{first}")),
            (ApplicationState::Status, format!("NORMAL,{first}")),
        ];
        let mut g = self.lock();
        for (state, value) in states {
            g.gossiper
                .add_local_application_state(state, value)
                .map_err(|e| NodeError::Config(format!("gossip: {e}")))?;
        }
        g.announced_schema = Some(schema);
        g.next_load_at = self.now_ms() + LOAD_BROADCAST_INTERVAL.as_millis() as u64;
        let _ = g.gossiper.drain_events();
        Ok(())
    }

    // ----- the loop ---------------------------------------------------------

    /// Ticks the gossiper every [`TICK_INTERVAL`] until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(TICK_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            self.refresh_local_states();
            self.tick();
        }
    }

    /// Re-announces SCHEMA when it changed and LOAD when due.
    fn refresh_local_states(&self) {
        let schema = (self.sources.schema_version)();
        let load_due = self.now_ms() >= self.lock().next_load_at;
        let load = load_due.then(|| (self.sources.load)());
        let mut g = self.lock();
        if g.announced_schema.is_some() && g.announced_schema != Some(schema) {
            g.announced_schema = Some(schema);
            let _ = g
                .gossiper
                .add_local_application_state(ApplicationState::Schema, format_uuid(schema));
        }
        if let Some(load) = load {
            g.next_load_at = self.now_ms() + LOAD_BROADCAST_INTERVAL.as_millis() as u64;
            if g.announced_schema.is_some() {
                let _ = g
                    .gossiper
                    .add_local_application_state(ApplicationState::Load, format!("{load:.1}"));
            }
        }
    }

    /// One step of the gossiper: a round when due, a shadow-round retry, the
    /// failure detector's verdicts.
    pub fn tick(&self) {
        let now = self.now_ms();
        let (out, publish, save) = {
            let mut guard = self.lock();
            let g = &mut *guard;
            let out = g.gossiper.tick(now, &mut g.rng);
            if !out.is_empty() {
                self.counters
                    .ticks_with_round
                    .fetch_add(1, Ordering::Relaxed);
            }
            let (publish, save) = self.process_events(g);
            (out, publish, save)
        };
        self.finish(out, publish, save);
    }

    /// Handles a gossip message from `from`.
    pub fn receive(&self, from: SocketAddr, message: GossipMessage) {
        self.counters
            .messages_received
            .fetch_add(1, Ordering::Relaxed);
        let now = self.now_ms();
        let (out, publish, save) = {
            let mut guard = self.lock();
            let g = &mut *guard;
            let out = match g.gossiper.handle(from, message, now) {
                Ok(out) => out,
                Err(e) => {
                    self.counters
                        .messages_rejected
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%from, "gossip message rejected: {e}");
                    Vec::new()
                }
            };
            let (publish, save) = self.process_events(g);
            (out, publish, save)
        };
        self.finish(out, publish, save);
    }

    fn finish(
        &self,
        out: Vec<(SocketAddr, GossipMessage)>,
        publish: Vec<Event>,
        save: Option<Vec<PeerInfo>>,
    ) {
        for (to, message) in out {
            self.counters.messages_sent.fetch_add(1, Ordering::Relaxed);
            self.transport.send(to, message);
        }
        if let Some(sender) = self.events.get() {
            for event in publish {
                tracing::info!(?event, "cluster event");
                let _ = sender.send(event);
            }
        }
        if let (Some(peers), Some(dir)) = (save, &self.system_dir) {
            if let Err(e) = save_peers(dir, &peers) {
                tracing::warn!("cannot save peers: {e}");
            }
        }
    }

    /// Turns the gossiper's events into peer bookkeeping, driver events and
    /// whether the saved peers must be rewritten.
    fn process_events(&self, g: &mut Inner) -> (Vec<Event>, Option<Vec<PeerInfo>>) {
        let mut publish = Vec::new();
        let mut dirty = false;
        for event in g.gossiper.drain_events() {
            match event {
                GossipEvent::StateChanged(ep, _, _) | GossipEvent::Joined(ep)
                    if ep != self.local =>
                {
                    let Some(info) = g.gossiper.endpoint_state(ep).and_then(|s| peer_info(ep, s))
                    else {
                        continue;
                    };
                    match g.peers.insert(ep, info.clone()) {
                        None => {
                            tracing::info!(endpoint = %ep, "node joined the ring");
                            if let Some(native) = info.native_address {
                                publish.push(Event::TopologyChange {
                                    change: TopologyChange::NewNode,
                                    node: native,
                                });
                                if g.gossiper.is_alive(ep) && g.reported_up.insert(ep) {
                                    publish.push(Event::StatusChange {
                                        change: StatusChange::Up,
                                        node: native,
                                    });
                                }
                            }
                            dirty = true;
                        }
                        Some(old) => dirty |= old != info,
                    }
                }
                GossipEvent::Alive(ep) | GossipEvent::Dead(ep) if ep != self.local => {
                    let up = matches!(event, GossipEvent::Alive(_));
                    tracing::info!(endpoint = %ep, "node is now {}", if up { "UP" } else { "DOWN" });
                    // Drivers hear only of peers they can reach (with a native
                    // address); one that is not a ring member yet gets its UP with
                    // NEW_NODE.
                    let native = g.peers.get(&ep).and_then(|p| p.native_address);
                    let changed = native.is_some()
                        && if up {
                            g.reported_up.insert(ep)
                        } else {
                            g.reported_up.remove(&ep)
                        };
                    if let (true, Some(native)) = (changed, native) {
                        publish.push(Event::StatusChange {
                            change: if up {
                                StatusChange::Up
                            } else {
                                StatusChange::Down
                            },
                            node: native,
                        });
                    }
                }
                GossipEvent::Removed(ep) => {
                    if let Some(old) = g.peers.remove(&ep) {
                        dirty = true;
                        if let Some(native) = old.native_address {
                            publish.push(Event::TopologyChange {
                                change: TopologyChange::RemovedNode,
                                node: native,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        let save = dirty.then(|| g.peers.values().cloned().collect());
        (publish, save)
    }

    // ----- reading ----------------------------------------------------------

    /// The ring members other than this node (what system.peers shows).
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.lock().peers.values().cloned().collect()
    }

    /// The ring as this node knows it: its peers' tokens and host ids (the local
    /// node is added by the caller, which knows its own tokens).
    pub fn ring_of(states: &BTreeMap<SocketAddr, EndpointState>) -> TokenMetadata {
        let mut tm = TokenMetadata::new();
        for (ep, state) in states {
            if let Some(info) = peer_info(*ep, state) {
                tm.update_normal_tokens(*ep, info.tokens.iter().map(|t| Token(*t)));
                tm.update_host_id(*ep, crate::locator::HostId(info.host_id));
            }
        }
        tm
    }

    /// Is `endpoint` UP in this node's judgement?
    pub fn is_alive(&self, endpoint: SocketAddr) -> bool {
        endpoint == self.local || self.lock().gossiper.is_alive(endpoint)
    }
}

impl ClusterView for GossipService {
    fn endpoints(&self) -> Vec<EndpointView> {
        let load = (self.sources.load)();
        let schema = (self.sources.schema_version)();
        let now = self.now_ms();
        let g = self.lock();
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for (ep, state) in g.gossiper.endpoint_states() {
            let is_local = *ep == self.local;
            if !is_local && !g.peers.contains_key(ep) && state_kind(state).is_none() {
                // Known to gossip but not (yet) a ring member with a status.
                continue;
            }
            seen.insert(*ep);
            let text = |s: ApplicationState| state.get(s).map(|v| v.value.clone());
            let info = peer_info(*ep, state);
            let mut view = EndpointView {
                endpoint: *ep,
                native_address: text(ApplicationState::NativeAddressAndPort)
                    .and_then(|v| v.parse().ok()),
                host_id: text(ApplicationState::HostId).and_then(|v| parse_uuid(&v)),
                datacenter: text(ApplicationState::Dc)
                    .unwrap_or_else(|| crate::locator::DEFAULT_DATACENTER.to_string()),
                rack: text(ApplicationState::Rack)
                    .unwrap_or_else(|| crate::locator::DEFAULT_RACK.to_string()),
                liveness: if is_local || g.gossiper.is_alive(*ep) {
                    Liveness::Up
                } else {
                    Liveness::Down
                },
                state: state_kind(state).unwrap_or(EndpointStateKind::Joining),
                load_bytes: text(ApplicationState::Load).and_then(|v| v.parse().ok()),
                tokens: info.map(|i| i.tokens).unwrap_or_default(),
                schema_version: text(ApplicationState::Schema),
                release_version: text(ApplicationState::ReleaseVersion),
                generation: state.heartbeat.generation,
                heartbeat: state.heartbeat.version,
                phi: if is_local {
                    None
                } else {
                    g.gossiper.phi(*ep, now)
                },
                application_states: state
                    .application_states
                    .iter()
                    .map(|(k, v)| (k.name().to_string(), v.version, v.value.clone()))
                    .collect(),
                is_local,
            };
            if is_local {
                view.load_bytes = Some(load);
                view.schema_version = Some(format_uuid(schema));
            }
            out.push(view);
        }
        // Peers saved by an earlier life and not heard from yet: down until they are.
        for (ep, p) in &g.peers {
            if seen.contains(ep) {
                continue;
            }
            out.push(EndpointView {
                endpoint: *ep,
                native_address: p.native_address,
                host_id: Some(p.host_id),
                datacenter: p
                    .datacenter
                    .clone()
                    .unwrap_or_else(|| crate::locator::DEFAULT_DATACENTER.to_string()),
                rack: p
                    .rack
                    .clone()
                    .unwrap_or_else(|| crate::locator::DEFAULT_RACK.to_string()),
                liveness: Liveness::Down,
                state: EndpointStateKind::Normal,
                load_bytes: None,
                tokens: p.tokens.clone(),
                schema_version: p.schema_version.map(format_uuid),
                release_version: p.release_version.clone(),
                generation: 0,
                heartbeat: 0,
                phi: None,
                application_states: Vec::new(),
                is_local: false,
            });
        }
        out.sort_by_key(|v| v.endpoint);
        out
    }

    fn local_endpoint(&self) -> SocketAddr {
        self.local
    }

    fn gossip_counters(&self) -> BTreeMap<String, f64> {
        let g = self.lock();
        let c = &self.counters;
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            m.insert(k.to_string(), v);
        };
        put(
            "gossip_rounds_total",
            c.ticks_with_round.load(Ordering::Relaxed) as f64,
        );
        put(
            "gossip_messages_sent_total",
            c.messages_sent.load(Ordering::Relaxed) as f64,
        );
        put(
            "gossip_messages_received_total",
            c.messages_received.load(Ordering::Relaxed) as f64,
        );
        put(
            "gossip_messages_rejected_total",
            c.messages_rejected.load(Ordering::Relaxed) as f64,
        );
        put(
            "gossip_live_endpoints",
            g.gossiper.live_members().len() as f64,
        );
        put(
            "gossip_unreachable_endpoints",
            g.gossiper.unreachable_members().len() as f64,
        );
        put("gossip_generation", g.gossiper.generation() as f64);
        m
    }
}

// ----- parsing what peers announce ------------------------------------------

/// The ring state a STATUS value announces (`NORMAL,<token>`, `BOOT,...`, ...).
fn state_kind(state: &EndpointState) -> Option<EndpointStateKind> {
    let status = state
        .get(ApplicationState::StatusWithPort)
        .or_else(|| state.get(ApplicationState::Status))?;
    let kind = status.value.split(',').next().unwrap_or("");
    Some(match kind {
        "NORMAL" | "shutdown" => EndpointStateKind::Normal,
        "BOOT" | "BOOT_REPLACE" => EndpointStateKind::Joining,
        "LEAVING" | "LEFT" | "removing" | "removed" => EndpointStateKind::Leaving,
        "MOVING" => EndpointStateKind::Moving,
        _ => return None,
    })
}

/// A NORMAL endpoint's peer row, or None while it has not announced one.
fn peer_info(endpoint: SocketAddr, state: &EndpointState) -> Option<PeerInfo> {
    if state_kind(state) != Some(EndpointStateKind::Normal) {
        return None;
    }
    let text = |s: ApplicationState| state.get(s).map(|v| v.value.as_str());
    let tokens: Vec<i64> = text(ApplicationState::Tokens)?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    if tokens.is_empty() {
        return None;
    }
    Some(PeerInfo {
        endpoint,
        host_id: parse_uuid(text(ApplicationState::HostId)?)?,
        datacenter: text(ApplicationState::Dc).map(str::to_string),
        rack: text(ApplicationState::Rack).map(str::to_string),
        tokens,
        native_address: text(ApplicationState::NativeAddressAndPort)
            .and_then(|v| v.parse().ok())
            .or_else(|| {
                text(ApplicationState::RpcAddress)
                    .and_then(|v| v.parse::<IpAddr>().ok())
                    .map(|ip| SocketAddr::new(ip, 9042))
            }),
        release_version: text(ApplicationState::ReleaseVersion).map(str::to_string),
        schema_version: text(ApplicationState::Schema).and_then(parse_uuid),
    })
}

/// The host id of the endpoint at `endpoint` in `states`, if it announced one.
pub fn host_id_in(
    states: &BTreeMap<SocketAddr, EndpointState>,
    endpoint: SocketAddr,
) -> Option<u128> {
    states
        .get(&endpoint)?
        .get(ApplicationState::HostId)
        .and_then(|v| parse_uuid(&v.value))
}

fn parse_uuid(s: &str) -> Option<u128> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

fn seed_list(seeds: &BTreeSet<SocketAddr>) -> String {
    seeds
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

// ----- saved peers ------------------------------------------------------------

fn load_peers(path: &std::path::Path) -> Result<BTreeMap<SocketAddr, PeerInfo>, NodeError> {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice::<Vec<PeerInfo>>(&bytes) {
            Ok(peers) => Ok(peers.into_iter().map(|p| (p.endpoint, p)).collect()),
            Err(e) => {
                // The file is a cache of what gossip re-learns: a damaged one is
                // reported and ignored, not a reason to refuse to start.
                tracing::warn!("ignoring unreadable {}: {e}", path.display());
                Ok(BTreeMap::new())
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(NodeError::Io {
            what: format!("reading {}", path.display()),
            source,
        }),
    }
}

fn save_peers(dir: &std::path::Path, peers: &[PeerInfo]) -> Result<(), NodeError> {
    let body = serde_json::to_vec_pretty(peers)
        .map_err(|e| NodeError::Config(format!("encoding peers: {e}")))?;
    crate::node::write_durably(dir, PEERS_FILE, &body)
}

#[cfg(test)]
mod tests;
