//! A seeded, deterministic simulation of a gossiping cluster.
//!
//! What: [`Simulation`] runs N [`Gossiper`]s on a virtual clock and a
//! virtual network: each message is delivered after a random latency (plus
//! per-node jitter for "slow" nodes), or lost with a configurable
//! probability. Nodes can be stopped (they neither tick nor answer) and
//! restarted with a new generation. Everything random comes from one seed, so
//! a failing run is replayed exactly with `SIBYL_SEED=<seed>`.
//!
//! Why here and not under `tests/`: the integration tests, the unit tests and
//! later the node crate's own tests all need the same harness; it has no
//! dependencies beyond the crate's own and does no I/O, so it costs nothing
//! to ship.
//!
//! What not: not a network emulator. There is no bandwidth, no ordering
//! guarantee (messages on the same path may overtake each other, like over
//! separate connections), no partition primitive beyond loss and stopping.
//! Event order is fully determined by the seed: ties are broken by node index
//! and send order, and all maps are ordered.
//!
//! References: the approach follows deterministic-simulation testing as in
//! FoundationDB's simulator; Cassandra itself tests gossip with in-JVM dtests.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::gossiper::{GossipConfig, GossipEvent, Gossiper};
use crate::messages::GossipMessage;
use crate::state::ApplicationState;

/// Generation given to every node at its first start.
pub const SIM_FIRST_GENERATION: i32 = 1_700_000_000;

/// The seeds a test should run with: the one in the `SIBYL_SEED` environment
/// variable (decimal or `0x` hex) if set, else `defaults`.
pub fn seeds_from_env(defaults: &[u64]) -> Vec<u64> {
    match std::env::var("SIBYL_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            match parsed {
                Ok(seed) => vec![seed],
                Err(_) => defaults.to_vec(),
            }
        }
        Err(_) => defaults.to_vec(),
    }
}

/// The address of simulated node `index`.
pub fn sim_addr(index: usize) -> SocketAddr {
    let host = (index % 250 + 1) as u8;
    let subnet = (index / 250) as u8;
    SocketAddr::from(([127, 0, subnet, host], 7000))
}

/// Shape of a simulated cluster and network.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Number of nodes.
    pub nodes: usize,
    /// The first `seeds` nodes are the seeds.
    pub seeds: usize,
    /// Smallest one-way latency, ms.
    pub min_latency_ms: u64,
    /// Largest one-way latency, ms.
    pub max_latency_ms: u64,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Whether nodes start with a shadow round.
    pub shadow_round: bool,
    pub gossip: GossipConfig,
}

impl SimConfig {
    /// `nodes` nodes, `seeds` seeds, 1–20 ms latency, no loss, no shadow round.
    pub fn new(nodes: usize, seeds: usize) -> SimConfig {
        SimConfig {
            nodes,
            seeds,
            min_latency_ms: 1,
            max_latency_ms: 20,
            loss: 0.0,
            shadow_round: false,
            gossip: GossipConfig::default(),
        }
    }
}

/// Counters of what the network did.
#[derive(Clone, Debug, Default)]
pub struct SimStats {
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    /// Messages addressed to a stopped node.
    pub undeliverable: u64,
    /// Errors returned by `handle`, as text (a correct cluster has none).
    pub errors: Vec<String>,
}

/// One simulated node.
#[derive(Debug)]
pub struct SimNode {
    pub gossiper: Gossiper,
    rng: SmallRng,
    running: bool,
    /// Extra random delay (0..=this, ms) on every message to or from this node
    /// and on each of its ticks.
    slow_jitter_ms: u64,
    next_tick_ms: u64,
    events: Vec<GossipEvent>,
}

/// A message on the wire.
#[derive(Debug)]
struct InFlight {
    from: SocketAddr,
    to: SocketAddr,
    message: GossipMessage,
}

/// A simulated cluster. See the module documentation.
#[derive(Debug)]
pub struct Simulation {
    seed: u64,
    now_ms: u64,
    config: SimConfig,
    nodes: Vec<SimNode>,
    index: BTreeMap<SocketAddr, usize>,
    /// Keyed by (delivery time, send sequence number).
    in_flight: BTreeMap<(u64, u64), InFlight>,
    seq: u64,
    rng: SmallRng,
    pub stats: SimStats,
}

impl Simulation {
    /// Builds the cluster at time 0: every node gets generation
    /// [`SIM_FIRST_GENERATION`], a few application states (HOST_ID, DC, RACK,
    /// TOKENS, STATUS_WITH_PORT), and a first tick at a random offset within
    /// the first gossip interval, so rounds are not synchronised.
    pub fn new(seed: u64, config: SimConfig) -> Simulation {
        let mut rng = SmallRng::seed_from_u64(seed);
        let seeds: Vec<SocketAddr> = (0..config.seeds.min(config.nodes)).map(sim_addr).collect();
        let mut nodes = Vec::with_capacity(config.nodes);
        let mut index = BTreeMap::new();
        for i in 0..config.nodes {
            let addr = sim_addr(i);
            index.insert(addr, i);
            let offset = rng.random_range(0..config.gossip.gossip_interval_ms.max(1));
            let node_rng = SmallRng::seed_from_u64(rng.random());
            let gossiper = Self::make_gossiper(&config, i, seeds.clone(), SIM_FIRST_GENERATION, 0);
            nodes.push(SimNode {
                gossiper,
                rng: node_rng,
                running: true,
                slow_jitter_ms: 0,
                next_tick_ms: offset,
                events: Vec::new(),
            });
        }
        Simulation {
            seed,
            now_ms: 0,
            config,
            nodes,
            index,
            in_flight: BTreeMap::new(),
            seq: 0,
            rng,
            stats: SimStats::default(),
        }
    }

    fn make_gossiper(
        config: &SimConfig,
        i: usize,
        seeds: Vec<SocketAddr>,
        generation: i32,
        now_ms: u64,
    ) -> Gossiper {
        let mut g = match Gossiper::new(
            sim_addr(i),
            seeds,
            generation,
            config.gossip.clone(),
            now_ms,
        ) {
            Ok(g) => g,
            Err(e) => panic!("simulation config rejected: {e}"),
        };
        let states = [
            (ApplicationState::HostId, format!("host-{i}-{generation}")),
            (ApplicationState::Dc, "dc1".to_string()),
            (ApplicationState::Rack, format!("rack{}", i % 3)),
            (
                ApplicationState::Tokens,
                format!("{}", (i as i64) * 1_000_003),
            ),
            (ApplicationState::StatusWithPort, "NORMAL".to_string()),
        ];
        for (key, value) in states {
            if let Err(e) = g.add_local_application_state(key, value) {
                panic!("simulation state rejected: {e}");
            }
        }
        g.drain_events();
        if config.shadow_round {
            g.start_shadow_round(now_ms);
        }
        g
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn now(&self) -> u64 {
        self.now_ms
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        sim_addr(i)
    }

    pub fn gossiper(&self, i: usize) -> &Gossiper {
        &self.nodes[i].gossiper
    }

    pub fn gossiper_mut(&mut self, i: usize) -> &mut Gossiper {
        &mut self.nodes[i].gossiper
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].running
    }

    /// Events node `i` recorded since the last call.
    pub fn take_events(&mut self, i: usize) -> Vec<GossipEvent> {
        let node = &mut self.nodes[i];
        let mut events = std::mem::take(&mut node.events);
        events.extend(node.gossiper.drain_events());
        events
    }

    /// Node `i` stops: it neither ticks nor answers; messages to it are lost.
    pub fn stop(&mut self, i: usize) {
        self.nodes[i].running = false;
    }

    /// Node `i` starts again as a new process with `generation` (its states
    /// are rebuilt; HOST_ID carries the generation so the change is visible).
    pub fn restart(&mut self, i: usize, generation: i32) {
        let seeds: Vec<SocketAddr> = (0..self.config.seeds.min(self.config.nodes))
            .map(sim_addr)
            .collect();
        let gossiper = Self::make_gossiper(&self.config, i, seeds, generation, self.now_ms);
        let node_rng = SmallRng::seed_from_u64(self.rng.random());
        let node = &mut self.nodes[i];
        node.gossiper = gossiper;
        node.rng = node_rng;
        node.running = true;
        node.next_tick_ms = self.now_ms;
        node.events.clear();
    }

    /// Adds up to `jitter_ms` of random delay to everything node `i` sends
    /// or receives, and to each of its ticks.
    pub fn set_slow(&mut self, i: usize, jitter_ms: u64) {
        self.nodes[i].slow_jitter_ms = jitter_ms;
    }

    /// Node `i`'s view of node `j`: `(generation, max_version)`.
    pub fn view(&self, i: usize, j: usize) -> Option<(i32, i32)> {
        self.nodes[i]
            .gossiper
            .endpoint_state(sim_addr(j))
            .map(|s| s.generation_and_version())
    }

    /// Every node's own `(generation, max_version)`.
    pub fn own_versions(&self) -> Vec<(i32, i32)> {
        (0..self.nodes.len())
            .map(|i| self.view(i, i).unwrap_or((0, 0)))
            .collect()
    }

    /// Whether every running node's view of every other node `j` is at least
    /// `targets[j]`.
    pub fn all_views_at_least(&self, targets: &[(i32, i32)]) -> bool {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].running)
            .all(|i| {
                (0..self.nodes.len()).all(|j| match self.view(i, j) {
                    Some(v) => v >= targets[j],
                    None => false,
                })
            })
    }

    /// Runs `ms` of simulated time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now_ms + ms;
        self.run_until(until);
    }

    /// Processes every tick and delivery due up to and including `until_ms`.
    pub fn run_until(&mut self, until_ms: u64) {
        loop {
            let next_tick = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.running)
                .map(|(i, n)| (n.next_tick_ms, i))
                .min();
            let next_message = self.in_flight.keys().next().copied();
            let tick_first = match (next_tick, next_message) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((t, _)), Some((m, _))) => t < m,
            };
            if tick_first {
                let Some((t, i)) = next_tick else { break };
                if t > until_ms {
                    break;
                }
                self.now_ms = self.now_ms.max(t);
                self.tick_node(i);
            } else {
                let Some(key) = next_message else { break };
                if key.0 > until_ms {
                    break;
                }
                self.now_ms = self.now_ms.max(key.0);
                if let Some(msg) = self.in_flight.remove(&key) {
                    self.deliver(msg);
                }
            }
        }
        self.now_ms = self.now_ms.max(until_ms);
    }

    fn tick_node(&mut self, i: usize) {
        let now = self.now_ms;
        let node = &mut self.nodes[i];
        let out = node.gossiper.tick(now, &mut node.rng);
        node.events.extend(node.gossiper.drain_events());
        let interval = self.config.gossip.gossip_interval_ms;
        let mut next = node.gossiper.next_tick_at();
        if next <= now {
            next = now + interval;
        }
        if node.slow_jitter_ms > 0 {
            next += node.rng.random_range(0..=node.slow_jitter_ms);
        }
        node.next_tick_ms = next;
        let from = sim_addr(i);
        for (to, message) in out {
            self.send(from, to, message);
        }
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, message: GossipMessage) {
        self.stats.sent += 1;
        if self.config.loss > 0.0 && self.rng.random::<f64>() < self.config.loss {
            self.stats.lost += 1;
            return;
        }
        let mut latency = self.rng.random_range(
            self.config.min_latency_ms..=self.config.max_latency_ms.max(self.config.min_latency_ms),
        );
        for ep in [from, to] {
            if let Some(&k) = self.index.get(&ep) {
                let jitter = self.nodes[k].slow_jitter_ms;
                if jitter > 0 {
                    latency += self.rng.random_range(0..=jitter);
                }
            }
        }
        self.seq += 1;
        self.in_flight.insert(
            (self.now_ms + latency, self.seq),
            InFlight { from, to, message },
        );
    }

    fn deliver(&mut self, msg: InFlight) {
        let Some(&i) = self.index.get(&msg.to) else {
            self.stats.undeliverable += 1;
            return;
        };
        if !self.nodes[i].running {
            self.stats.undeliverable += 1;
            return;
        }
        self.stats.delivered += 1;
        let now = self.now_ms;
        let node = &mut self.nodes[i];
        let result = node.gossiper.handle(msg.from, msg.message, now);
        node.events.extend(node.gossiper.drain_events());
        match result {
            Ok(replies) => {
                for (to, message) in replies {
                    self.send(msg.to, to, message);
                }
            }
            Err(e) => self.stats.errors.push(format!("node {i} at {now} ms: {e}")),
        }
    }
}
