//! The gossip membership state machine.
//!
//! What: [`Gossiper`] holds this node's view of the cluster (an
//! [`EndpointState`] per endpoint, including itself), decides whom to gossip
//! with each round, answers the Syn → Ack → Ack2 exchange, merges what it
//! hears, feeds heartbeats to the [`FailureDetector`] and records
//! [`GossipEvent`]s for the caller.
//!
//! Why I/O-free: the node crate owns sockets, timers and threads; this type
//! only maps `(time, message)` to `(new state, messages to send, events)`.
//! That makes every behaviour reproducible in a seeded simulation
//! ([`crate::sim`]) and keeps protocol logic out of the network code.
//!
//! ## Driving it
//!
//! * `tick(now, rng)` at least once per [`GOSSIP_INTERVAL_MS`] (calling it more
//!   often is fine: a round runs only when [`Gossiper::next_tick_at`] is
//!   reached). A round bumps the local heartbeat, sends a GossipDigestSyn to
//!   one random live peer, maybe to one unreachable peer (probability
//!   `unreachable / (live + 1)`), maybe to a seed (if the live peer was not a
//!   seed or fewer endpoints are live than there are seeds, with probability
//!   `seeds / (live + unreachable)`, always when nothing is live), then asks the
//!   failure detector about every endpoint and marks the convicted DOWN.
//! * `handle(from, message, now)` for every message received; send what it
//!   returns.
//! * `drain_events()` after either, to react to membership changes.
//!
//! ## Merge rules
//!
//! For each remote endpoint state: a **higher generation** replaces the whole
//! state (the node restarted: [`GossipEvent::Restarted`]); the **same
//! generation** merges field by field, each field taking the higher version;
//! a **lower generation** is ignored. Gossip about ourselves is ignored (we are
//! the only writer of our state), as is gossip about quarantined endpoints.
//! A heartbeat that moved forward — heard directly or relayed — is an arrival
//! for the failure detector, and marks a DOWN endpoint UP again.
//!
//! ## Shadow round
//!
//! Before joining, a node may call [`Gossiper::start_shadow_round`]: its
//! ticks then only send a Syn with no digests to every seed (re-sent every
//! [`SHADOW_ROUND_RETRY_MS`]), and an Ack carrying states ends the round; the
//! states are kept apart in [`Gossiper::shadow_states`] (they are for checks
//! such as host-id collisions, not yet part of our view). If every seed
//! answers that it is itself in a shadow round (an empty Ack), the round ends
//! with nothing learnt: the cluster is new. Without an answer within
//! [`SHADOW_ROUND_TIMEOUT_MS`] the round fails ([`Gossiper::check_shadow_round`]).
//!
//! What not (differences from Cassandra, all deliberate or left for later):
//! * marking an endpoint UP does not wait for an Echo round trip
//!   (Cassandra 4's `markAlive` sends an EchoMessage first); fresh heartbeat
//!   evidence is required instead, so stale relayed state cannot resurrect a
//!   dead endpoint;
//! * no dead states (`LEFT`, `removed`) are interpreted, no `GossipShutdown`
//!   message, no eviction of long-dead endpoints, no fat clients: STATUS is
//!   opaque here and the node crate decides what to do with it;
//! * the number of digests and states per message is bounded
//!   ([`MAX_DIGESTS_PER_MESSAGE`], [`MAX_STATES_PER_MESSAGE`]).
//!
//! References: `org.apache.cassandra.gms.Gossiper` (`GossipTask.run`,
//! `doGossipToLiveMember`, `maybeGossipToUnreachableMember`,
//! `maybeGossipToSeed`, `examineGossiper`, `applyStateLocally`,
//! `handleMajorStateChange`, `notifyFailureDetector`, `doShadowRound`,
//! `maybeFinishShadowRound`, `removeEndpoint`/`quarantineEndpoint`),
//! `GossipDigestSynVerbHandler`, `GossipDigestAckVerbHandler`,
//! `GossipDigestAck2VerbHandler`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use rand::seq::SliceRandom;
use rand::Rng;

use crate::constants::{
    GOSSIP_INTERVAL_MS, MAX_APPLICATION_VALUE_BYTES, MAX_DIGESTS_PER_MESSAGE,
    MAX_GENERATION_DIFFERENCE_S, MAX_STATES_PER_MESSAGE, QUARANTINE_DELAY_MS,
    SHADOW_ROUND_RETRY_MS, SHADOW_ROUND_TIMEOUT_MS,
};
use crate::error::GossipError;
use crate::failure_detector::{FailureDetector, FailureDetectorConfig};
use crate::messages::{
    GossipDigest, GossipDigestAck, GossipDigestAck2, GossipDigestSyn, GossipMessage, Outbound,
};
use crate::state::{ApplicationState, EndpointState, HeartBeatState, VersionedValue};

/// Tunables of the gossiper. `Default` gives Cassandra's values.
#[derive(Clone, Debug, PartialEq)]
pub struct GossipConfig {
    /// Syns from another cluster are rejected.
    pub cluster_name: String,
    /// Milliseconds between rounds.
    pub gossip_interval_ms: u64,
    /// Milliseconds gossip about a removed endpoint is ignored.
    pub quarantine_delay_ms: u64,
    /// Milliseconds before an unanswered shadow round fails.
    pub shadow_round_timeout_ms: u64,
    /// Milliseconds between shadow-round re-sends.
    pub shadow_round_retry_ms: u64,
    /// Most digests per Syn/Ack, sent and accepted.
    pub max_digests_per_message: usize,
    /// Most endpoint states per Ack/Ack2, sent and accepted.
    pub max_states_per_message: usize,
    pub failure_detector: FailureDetectorConfig,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            cluster_name: "Test Cluster".to_string(),
            gossip_interval_ms: GOSSIP_INTERVAL_MS,
            quarantine_delay_ms: QUARANTINE_DELAY_MS,
            shadow_round_timeout_ms: SHADOW_ROUND_TIMEOUT_MS,
            shadow_round_retry_ms: SHADOW_ROUND_RETRY_MS,
            max_digests_per_message: MAX_DIGESTS_PER_MESSAGE,
            max_states_per_message: MAX_STATES_PER_MESSAGE,
            failure_detector: FailureDetectorConfig::default(),
        }
    }
}

impl GossipConfig {
    pub fn validate(&self) -> Result<(), GossipError> {
        if self.gossip_interval_ms == 0 {
            return Err(GossipError::InvalidConfig(
                "gossip_interval_ms must be > 0".to_string(),
            ));
        }
        if self.shadow_round_retry_ms == 0 {
            return Err(GossipError::InvalidConfig(
                "shadow_round_retry_ms must be > 0".to_string(),
            ));
        }
        if self.max_digests_per_message == 0 || self.max_states_per_message == 0 {
            return Err(GossipError::InvalidConfig(
                "message bounds must be > 0".to_string(),
            ));
        }
        self.failure_detector.validate()
    }
}

/// A membership change, recorded for the caller to drain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipEvent {
    /// First time we hear of the endpoint (followed by its StateChanged events and Alive).
    Joined(SocketAddr),
    /// The endpoint is UP (first seen, or fresh heartbeat after being DOWN).
    Alive(SocketAddr),
    /// The failure detector convicted the endpoint.
    Dead(SocketAddr),
    /// The endpoint came back with a higher generation; its old state was replaced.
    Restarted(SocketAddr),
    /// An application state of the endpoint (local ones included) took a new value.
    StateChanged(SocketAddr, ApplicationState, VersionedValue),
    /// The endpoint was removed with [`Gossiper::remove_endpoint`] and is quarantined.
    Removed(SocketAddr),
}

/// Where the shadow round stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShadowRoundStatus {
    /// [`Gossiper::start_shadow_round`] was never called.
    NotStarted,
    /// Waiting for a seed to answer; normal gossip is paused.
    InProgress {
        started_at_ms: u64,
        next_send_at_ms: u64,
        /// Seeds that answered that they are in a shadow round too.
        seeds_in_shadow_round: BTreeSet<SocketAddr>,
    },
    /// A seed answered (or all seeds are new too); normal gossip runs.
    Complete,
    /// No seed answered in time; the gossiper stays silent.
    TimedOut { waited_ms: u64 },
}

/// The gossip state machine of one node. See the module documentation.
#[derive(Clone, Debug)]
pub struct Gossiper {
    config: GossipConfig,
    local: SocketAddr,
    /// Seeds as configured, possibly including ourselves.
    seeds: BTreeSet<SocketAddr>,
    endpoint_states: BTreeMap<SocketAddr, EndpointState>,
    live: BTreeSet<SocketAddr>,
    /// Unreachable endpoints and since when (ms).
    unreachable: BTreeMap<SocketAddr, u64>,
    /// Removed endpoints and when they were removed (ms).
    quarantined: BTreeMap<SocketAddr, u64>,
    fd: FailureDetector,
    /// Last version handed out by the local version counter.
    version: i32,
    started_at_ms: u64,
    next_round_at_ms: u64,
    sent_regular_syn: bool,
    shadow: ShadowRoundStatus,
    shadow_states: BTreeMap<SocketAddr, EndpointState>,
    events: Vec<GossipEvent>,
}

impl Gossiper {
    /// A gossiper for the node at `local` in its life `generation` (its start
    /// time in seconds, larger than at any previous start), knowing `seeds`.
    /// The first round runs at the first `tick`.
    pub fn new(
        local: SocketAddr,
        seeds: Vec<SocketAddr>,
        generation: i32,
        config: GossipConfig,
        now_ms: u64,
    ) -> Result<Gossiper, GossipError> {
        config.validate()?;
        let fd = FailureDetector::new(config.failure_detector.clone())?;
        let mut endpoint_states = BTreeMap::new();
        endpoint_states.insert(
            local,
            EndpointState::new(HeartBeatState {
                generation,
                version: 0,
            }),
        );
        Ok(Gossiper {
            config,
            local,
            seeds: seeds.into_iter().collect(),
            endpoint_states,
            live: BTreeSet::new(),
            unreachable: BTreeMap::new(),
            quarantined: BTreeMap::new(),
            fd,
            version: 0,
            started_at_ms: now_ms,
            next_round_at_ms: now_ms,
            sent_regular_syn: false,
            shadow: ShadowRoundStatus::NotStarted,
            shadow_states: BTreeMap::new(),
            events: Vec::new(),
        })
    }

    // ----- accessors -------------------------------------------------------

    pub fn local_address(&self) -> SocketAddr {
        self.local
    }

    pub fn generation(&self) -> i32 {
        self.local_state().generation()
    }

    pub fn config(&self) -> &GossipConfig {
        &self.config
    }

    /// Seeds as configured.
    pub fn seeds(&self) -> &BTreeSet<SocketAddr> {
        &self.seeds
    }

    /// Our own state.
    pub fn local_state(&self) -> &EndpointState {
        // The local entry is inserted in `new` and never removed.
        &self.endpoint_states[&self.local]
    }

    /// Every known endpoint's state, ours included.
    pub fn endpoint_states(&self) -> &BTreeMap<SocketAddr, EndpointState> {
        &self.endpoint_states
    }

    pub fn endpoint_state(&self, endpoint: SocketAddr) -> Option<&EndpointState> {
        self.endpoint_states.get(&endpoint)
    }

    /// Whether `endpoint` is UP in our view (we always are).
    pub fn is_alive(&self, endpoint: SocketAddr) -> bool {
        endpoint == self.local || self.live.contains(&endpoint)
    }

    /// Endpoints UP in our view, ourselves included (Cassandra's `getLiveMembers`).
    pub fn live_members(&self) -> Vec<SocketAddr> {
        let mut members: Vec<SocketAddr> = self.live.iter().copied().collect();
        members.push(self.local);
        members.sort();
        members
    }

    /// Endpoints known but DOWN in our view.
    pub fn unreachable_members(&self) -> Vec<SocketAddr> {
        self.unreachable.keys().copied().collect()
    }

    /// Since when (ms) `endpoint` has been DOWN.
    pub fn unreachable_since(&self, endpoint: SocketAddr) -> Option<u64> {
        self.unreachable.get(&endpoint).copied()
    }

    /// Phi of `endpoint` at `now_ms`.
    pub fn phi(&self, endpoint: SocketAddr, now_ms: u64) -> Option<f64> {
        self.fd.phi(endpoint, now_ms)
    }

    pub fn failure_detector(&self) -> &FailureDetector {
        &self.fd
    }

    /// Whether gossip about `endpoint` is being ignored at `now_ms`.
    pub fn is_quarantined(&self, endpoint: SocketAddr, now_ms: u64) -> bool {
        self.quarantined
            .get(&endpoint)
            .is_some_and(|&at| now_ms.saturating_sub(at) < self.config.quarantine_delay_ms)
    }

    /// When the next round is due (ms); `tick` before that does nothing
    /// (except shadow-round re-sends).
    pub fn next_tick_at(&self) -> u64 {
        match &self.shadow {
            ShadowRoundStatus::InProgress {
                next_send_at_ms, ..
            } => *next_send_at_ms,
            _ => self.next_round_at_ms,
        }
    }

    /// Takes the events recorded since the last call, oldest first.
    pub fn drain_events(&mut self) -> Vec<GossipEvent> {
        std::mem::take(&mut self.events)
    }

    // ----- local state -----------------------------------------------------

    fn next_version(&mut self) -> i32 {
        // One bump per second plus state changes: i32 lasts for decades.
        self.version = self.version.saturating_add(1);
        self.version
    }

    /// Sets a local application state; it takes the next version.
    pub fn add_local_application_state(
        &mut self,
        state: ApplicationState,
        value: impl Into<String>,
    ) -> Result<(), GossipError> {
        let value = value.into();
        if value.len() > MAX_APPLICATION_VALUE_BYTES {
            return Err(GossipError::ValueTooLarge {
                state,
                len: value.len(),
                limit: MAX_APPLICATION_VALUE_BYTES,
            });
        }
        let versioned = VersionedValue::new(value, self.next_version());
        if let Some(local) = self.endpoint_states.get_mut(&self.local) {
            local.application_states.insert(state, versioned.clone());
        }
        self.events
            .push(GossipEvent::StateChanged(self.local, state, versioned));
        Ok(())
    }

    fn bump_heartbeat(&mut self) {
        let version = self.next_version();
        if let Some(local) = self.endpoint_states.get_mut(&self.local) {
            local.heartbeat.version = version;
        }
    }

    /// Our estimate of the wall clock in seconds: the generation is the start
    /// time, plus the monotonic time since.
    fn wall_clock_estimate_s(&self, now_ms: u64) -> i64 {
        i64::from(self.generation()) + (now_ms.saturating_sub(self.started_at_ms) / 1000) as i64
    }

    // ----- shadow round ----------------------------------------------------

    /// Starts the shadow round: until it completes, ticks only ask the seeds
    /// for their full state. Completes at once if we are the only seed.
    pub fn start_shadow_round(&mut self, now_ms: u64) {
        if self.seeds.iter().all(|s| *s == self.local) {
            self.shadow = ShadowRoundStatus::Complete;
            return;
        }
        self.shadow = ShadowRoundStatus::InProgress {
            started_at_ms: now_ms,
            next_send_at_ms: now_ms,
            seeds_in_shadow_round: BTreeSet::new(),
        };
    }

    pub fn shadow_round_status(&self) -> &ShadowRoundStatus {
        &self.shadow
    }

    /// True once a started shadow round has ended successfully.
    pub fn shadow_round_complete(&self) -> bool {
        self.shadow == ShadowRoundStatus::Complete
    }

    fn in_shadow_round(&self) -> bool {
        matches!(self.shadow, ShadowRoundStatus::InProgress { .. })
    }

    /// `Ok(true)` when complete (or never started), `Ok(false)` while in
    /// progress, the timeout error when no seed answered.
    pub fn check_shadow_round(&self) -> Result<bool, GossipError> {
        match self.shadow {
            ShadowRoundStatus::NotStarted | ShadowRoundStatus::Complete => Ok(true),
            ShadowRoundStatus::InProgress { .. } => Ok(false),
            ShadowRoundStatus::TimedOut { waited_ms } => {
                Err(GossipError::ShadowRoundTimedOut { waited_ms })
            }
        }
    }

    /// The states learnt in the shadow round.
    pub fn shadow_states(&self) -> &BTreeMap<SocketAddr, EndpointState> {
        &self.shadow_states
    }

    fn shadow_tick(&mut self, now_ms: u64) -> Vec<Outbound> {
        let retry = self.config.shadow_round_retry_ms;
        let timeout = self.config.shadow_round_timeout_ms;
        let ShadowRoundStatus::InProgress {
            started_at_ms,
            next_send_at_ms,
            ..
        } = &mut self.shadow
        else {
            return Vec::new();
        };
        let waited = now_ms.saturating_sub(*started_at_ms);
        if waited >= timeout {
            self.shadow = ShadowRoundStatus::TimedOut { waited_ms: waited };
            return Vec::new();
        }
        if now_ms < *next_send_at_ms {
            return Vec::new();
        }
        *next_send_at_ms = now_ms + retry;
        let syn = GossipDigestSyn {
            cluster_name: self.config.cluster_name.clone(),
            digests: Vec::new(),
        };
        self.seeds
            .iter()
            .filter(|s| **s != self.local)
            .map(|s| (*s, GossipMessage::Syn(syn.clone())))
            .collect()
    }

    fn maybe_finish_shadow_round(&mut self, from: SocketAddr, ack: GossipDigestAck) {
        let all_seeds: BTreeSet<SocketAddr> = self
            .seeds
            .iter()
            .copied()
            .filter(|s| *s != self.local)
            .collect();
        let ShadowRoundStatus::InProgress {
            seeds_in_shadow_round,
            ..
        } = &mut self.shadow
        else {
            return;
        };
        if ack.digests.is_empty() && ack.states.is_empty() {
            // The respondent is in its shadow round too.
            seeds_in_shadow_round.insert(from);
            if all_seeds.is_subset(seeds_in_shadow_round) {
                self.shadow = ShadowRoundStatus::Complete;
            }
        } else {
            self.shadow_states.extend(ack.states);
            self.shadow = ShadowRoundStatus::Complete;
        }
    }

    // ----- the round -------------------------------------------------------

    /// Runs one gossip round if one is due at `now_ms` (or a shadow-round
    /// step); returns the messages to send.
    pub fn tick<R: Rng + ?Sized>(&mut self, now_ms: u64, rng: &mut R) -> Vec<Outbound> {
        match self.shadow {
            ShadowRoundStatus::InProgress { .. } => return self.shadow_tick(now_ms),
            ShadowRoundStatus::TimedOut { .. } => return Vec::new(),
            ShadowRoundStatus::NotStarted | ShadowRoundStatus::Complete => {}
        }
        if now_ms < self.next_round_at_ms {
            // Between rounds the failure detector still judges, so a conviction is
            // as prompt as the caller's ticks (Cassandra judges once per round).
            self.status_check(now_ms);
            return Vec::new();
        }
        self.next_round_at_ms = now_ms + self.config.gossip_interval_ms;
        self.bump_heartbeat();
        self.expire_quarantine(now_ms);

        let mut out: Vec<Outbound> = Vec::new();
        let digests = self.random_digests(rng);
        let syn = GossipMessage::Syn(GossipDigestSyn {
            cluster_name: self.config.cluster_name.clone(),
            digests,
        });
        let mut targets: BTreeSet<SocketAddr> = BTreeSet::new();

        // doGossipToLiveMember
        let live: Vec<SocketAddr> = self.live.iter().copied().collect();
        let mut gossiped_to_seed = false;
        if let Some(to) = pick(&live, rng) {
            targets.insert(to);
            gossiped_to_seed = self.seeds.contains(&to);
        }

        // maybeGossipToUnreachableMember
        let live_count = self.live.len() as f64;
        let unreachable_count = self.unreachable.len() as f64;
        if unreachable_count > 0.0 {
            let probability = unreachable_count / (live_count + 1.0);
            if rng.random::<f64>() < probability {
                let unreachable: Vec<SocketAddr> = self.unreachable.keys().copied().collect();
                if let Some(to) = pick(&unreachable, rng) {
                    targets.insert(to);
                }
            }
        }

        // maybeGossipToSeed: if we did not reach a seed above, or we see
        // fewer live endpoints than there are seeds (this prevents partitions
        // where each group only gossips to a subset of the seeds).
        if !gossiped_to_seed || self.live.len() < self.seeds.len() {
            let seeds: Vec<SocketAddr> = self
                .seeds
                .iter()
                .copied()
                .filter(|s| *s != self.local)
                .collect();
            if !seeds.is_empty() {
                let send = if self.live.is_empty() {
                    true
                } else {
                    let probability = self.seeds.len() as f64 / (live_count + unreachable_count);
                    rng.random::<f64>() <= probability
                };
                if send {
                    if let Some(to) = pick(&seeds, rng) {
                        targets.insert(to);
                    }
                }
            }
        }

        for to in targets {
            out.push((to, syn.clone()));
        }
        if !out.is_empty() {
            self.sent_regular_syn = true;
        }
        self.status_check(now_ms);
        out
    }

    /// Digests of everything we know, shuffled, at most the bound.
    fn random_digests<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<GossipDigest> {
        let mut digests: Vec<GossipDigest> = self
            .endpoint_states
            .iter()
            .map(|(ep, state)| GossipDigest {
                endpoint: *ep,
                generation: state.generation(),
                max_version: state.max_version(),
            })
            .collect();
        digests.shuffle(rng);
        digests.truncate(self.config.max_digests_per_message);
        digests
    }

    /// doStatusCheck: convict what the failure detector says is dead.
    fn status_check(&mut self, now_ms: u64) {
        let endpoints: Vec<SocketAddr> = self
            .endpoint_states
            .keys()
            .copied()
            .filter(|ep| *ep != self.local)
            .collect();
        for ep in endpoints {
            if self.fd.interpret(ep, now_ms) && self.live.contains(&ep) {
                self.mark_dead(ep, now_ms);
            }
        }
    }

    fn expire_quarantine(&mut self, now_ms: u64) {
        let delay = self.config.quarantine_delay_ms;
        self.quarantined
            .retain(|_, at| now_ms.saturating_sub(*at) < delay);
    }

    fn mark_dead(&mut self, ep: SocketAddr, now_ms: u64) {
        self.live.remove(&ep);
        self.unreachable.insert(ep, now_ms);
        self.events.push(GossipEvent::Dead(ep));
    }

    fn mark_alive(&mut self, ep: SocketAddr) {
        self.unreachable.remove(&ep);
        if self.live.insert(ep) {
            self.events.push(GossipEvent::Alive(ep));
        }
    }

    // ----- removal ---------------------------------------------------------

    /// Forgets `endpoint` (it was decommissioned or replaced) and ignores any
    /// gossip about it for the quarantine delay, so that stale copies still
    /// circulating cannot bring it back.
    pub fn remove_endpoint(
        &mut self,
        endpoint: SocketAddr,
        now_ms: u64,
    ) -> Result<(), GossipError> {
        if endpoint == self.local {
            return Err(GossipError::CannotRemoveLocal(endpoint));
        }
        self.endpoint_states.remove(&endpoint);
        self.live.remove(&endpoint);
        self.unreachable.remove(&endpoint);
        self.fd.remove(endpoint);
        self.quarantined.insert(endpoint, now_ms);
        self.events.push(GossipEvent::Removed(endpoint));
        Ok(())
    }

    // ----- inbound ---------------------------------------------------------

    /// Handles one message from `from` at `now_ms`; returns the replies.
    /// A rejected message changes nothing.
    pub fn handle(
        &mut self,
        from: SocketAddr,
        message: GossipMessage,
        now_ms: u64,
    ) -> Result<Vec<Outbound>, GossipError> {
        if from == self.local {
            return Ok(Vec::new());
        }
        let out = match message {
            GossipMessage::Syn(syn) => self.handle_syn(from, syn, now_ms),
            GossipMessage::Ack(ack) => self.handle_ack(from, ack, now_ms),
            GossipMessage::Ack2(ack2) => {
                self.check_states_bound(from, ack2.states.len())?;
                if !self.in_shadow_round() && !self.timed_out() {
                    self.apply_states(ack2.states, now_ms);
                }
                Ok(Vec::new())
            }
        }?;
        // A message straight from a member is evidence it is alive, as much as a
        // relayed heartbeat is (FD_MIN_INTERVAL_MS says why and how it is counted).
        // It only feeds the failure detector: UP still needs a heartbeat advance.
        if !self.in_shadow_round()
            && !self.timed_out()
            && self.endpoint_states.contains_key(&from)
            && !self.is_quarantined(from, now_ms)
        {
            self.fd.report(from, now_ms);
        }
        Ok(out)
    }

    fn timed_out(&self) -> bool {
        matches!(self.shadow, ShadowRoundStatus::TimedOut { .. })
    }

    fn check_digests_bound(&self, from: SocketAddr, count: usize) -> Result<(), GossipError> {
        if count > self.config.max_digests_per_message {
            return Err(GossipError::TooManyDigests {
                from,
                count,
                limit: self.config.max_digests_per_message,
            });
        }
        Ok(())
    }

    fn check_states_bound(&self, from: SocketAddr, count: usize) -> Result<(), GossipError> {
        if count > self.config.max_states_per_message {
            return Err(GossipError::TooManyStates {
                from,
                count,
                limit: self.config.max_states_per_message,
            });
        }
        Ok(())
    }

    /// GossipDigestSynVerbHandler.
    fn handle_syn(
        &mut self,
        from: SocketAddr,
        syn: GossipDigestSyn,
        now_ms: u64,
    ) -> Result<Vec<Outbound>, GossipError> {
        if syn.cluster_name != self.config.cluster_name {
            return Err(GossipError::ClusterNameMismatch {
                from,
                ours: self.config.cluster_name.clone(),
                theirs: syn.cluster_name,
            });
        }
        self.check_digests_bound(from, syn.digests.len())?;
        if self.timed_out() {
            return Ok(Vec::new());
        }
        if self.in_shadow_round() {
            // A genuine Syn always has digests; only a peer in its own shadow
            // round sends none, and it gets the minimal (empty) Ack so it can
            // tell us apart from a seed it cannot reach.
            if syn.digests.is_empty() {
                return Ok(vec![(from, GossipMessage::Ack(GossipDigestAck::default()))]);
            }
            return Ok(Vec::new());
        }
        if syn.digests.is_empty() {
            // Shadow-round request: everything we know.
            let states = self
                .endpoint_states
                .iter()
                .filter(|(ep, _)| !self.is_quarantined(**ep, now_ms))
                .take(self.config.max_states_per_message)
                .map(|(ep, s)| (*ep, s.clone()))
                .collect();
            return Ok(vec![(
                from,
                GossipMessage::Ack(GossipDigestAck {
                    digests: Vec::new(),
                    states,
                }),
            )]);
        }
        let (requests, deltas) = self.examine(&syn.digests, now_ms);
        if requests.is_empty() && deltas.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![(
            from,
            GossipMessage::Ack(GossipDigestAck {
                digests: requests,
                states: deltas,
            }),
        )])
    }

    /// examineGossiper: for each remote digest, what to request and what to send.
    fn examine(
        &self,
        digests: &[GossipDigest],
        now_ms: u64,
    ) -> (Vec<GossipDigest>, BTreeMap<SocketAddr, EndpointState>) {
        let mut requests = Vec::new();
        let mut deltas = BTreeMap::new();
        // Cassandra sorts by how far apart the views are so the most out of
        // date endpoints go first; with bounded messages that matters.
        let mut sorted: Vec<(i64, GossipDigest)> = digests
            .iter()
            .map(|d| {
                let diff = match self.endpoint_states.get(&d.endpoint) {
                    Some(s) if s.generation() == d.generation => {
                        (i64::from(s.max_version()) - i64::from(d.max_version)).abs()
                    }
                    _ => i64::MAX,
                };
                (diff, *d)
            })
            .collect();
        sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, digest) in sorted {
            if self.is_quarantined(digest.endpoint, now_ms) {
                continue;
            }
            match self.endpoint_states.get(&digest.endpoint) {
                None => requests.push(GossipDigest {
                    max_version: -1,
                    ..digest
                }),
                Some(local) => {
                    let local_generation = local.generation();
                    let local_max = local.max_version();
                    if digest.generation > local_generation {
                        requests.push(GossipDigest {
                            max_version: -1,
                            ..digest
                        });
                    } else if digest.generation < local_generation {
                        if deltas.len() < self.config.max_states_per_message {
                            deltas.insert(digest.endpoint, local.clone());
                        }
                    } else if digest.max_version > local_max {
                        requests.push(GossipDigest {
                            max_version: local_max,
                            ..digest
                        });
                    } else if digest.max_version < local_max
                        && deltas.len() < self.config.max_states_per_message
                    {
                        if let Some(delta) = local.newer_than(digest.max_version) {
                            deltas.insert(digest.endpoint, delta);
                        }
                    }
                }
            }
        }
        (requests, deltas)
    }

    /// GossipDigestAckVerbHandler.
    fn handle_ack(
        &mut self,
        from: SocketAddr,
        ack: GossipDigestAck,
        now_ms: u64,
    ) -> Result<Vec<Outbound>, GossipError> {
        self.check_digests_bound(from, ack.digests.len())?;
        self.check_states_bound(from, ack.states.len())?;
        if self.in_shadow_round() {
            self.maybe_finish_shadow_round(from, ack);
            return Ok(Vec::new());
        }
        if self.timed_out() || !self.sent_regular_syn {
            // An Ack we did not ask for (e.g. a late shadow-round answer
            // before our first round): ignore, as Cassandra does.
            return Ok(Vec::new());
        }
        self.apply_states(ack.states, now_ms);
        let mut deltas = BTreeMap::new();
        for request in ack.digests {
            if deltas.len() >= self.config.max_states_per_message {
                break;
            }
            if self.is_quarantined(request.endpoint, now_ms) {
                continue;
            }
            let Some(local) = self.endpoint_states.get(&request.endpoint) else {
                continue;
            };
            // The requester asked relative to the generation it saw in our
            // Syn; if ours moved on since, it needs everything.
            let since = if local.generation() == request.generation {
                request.max_version
            } else if local.generation() > request.generation {
                -1
            } else {
                continue;
            };
            if let Some(delta) = local.newer_than(since) {
                deltas.insert(request.endpoint, delta);
            }
        }
        if deltas.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![(
            from,
            GossipMessage::Ack2(GossipDigestAck2 { states: deltas }),
        )])
    }

    /// applyStateLocally + notifyFailureDetector.
    fn apply_states(&mut self, states: BTreeMap<SocketAddr, EndpointState>, now_ms: u64) {
        for (ep, remote) in states {
            if ep == self.local || self.is_quarantined(ep, now_ms) {
                continue;
            }
            if i64::from(remote.generation())
                > self.wall_clock_estimate_s(now_ms) + MAX_GENERATION_DIFFERENCE_S
            {
                // An unbelievable generation: some peer is corrupt.
                continue;
            }
            let Some(local) = self.endpoint_states.get_mut(&ep) else {
                self.fd.report(ep, now_ms);
                self.major_state_change(ep, remote, false);
                continue;
            };
            if remote.generation() > local.generation() {
                if !self.live.contains(&ep) {
                    // It restarted while down: relearn its rhythm.
                    self.fd.remove(ep);
                }
                self.fd.report(ep, now_ms);
                self.major_state_change(ep, remote, true);
            } else if remote.generation() == local.generation() {
                let outcome = local.merge_same_generation(&remote);
                for key in &outcome.changed {
                    if let Some(value) = local.application_states.get(key) {
                        self.events
                            .push(GossipEvent::StateChanged(ep, *key, value.clone()));
                    }
                }
                if outcome.heartbeat_advanced {
                    self.fd.report(ep, now_ms);
                    self.mark_alive(ep);
                }
            }
        }
    }

    /// handleMajorStateChange: a new endpoint, or a new generation of one.
    fn major_state_change(&mut self, ep: SocketAddr, state: EndpointState, restarted: bool) {
        self.events.push(if restarted {
            GossipEvent::Restarted(ep)
        } else {
            GossipEvent::Joined(ep)
        });
        for (key, value) in &state.application_states {
            self.events
                .push(GossipEvent::StateChanged(ep, *key, value.clone()));
        }
        self.endpoint_states.insert(ep, state);
        self.mark_alive(ep);
    }
}

fn pick<R: Rng + ?Sized>(candidates: &[SocketAddr], rng: &mut R) -> Option<SocketAddr> {
    match candidates.len() {
        0 => None,
        1 => Some(candidates[0]),
        n => Some(candidates[rng.random_range(0..n)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn addr(i: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, i], 7000))
    }

    fn gossiper(i: u8, seeds: &[u8]) -> Gossiper {
        Gossiper::new(
            addr(i),
            seeds.iter().map(|s| addr(*s)).collect(),
            100,
            GossipConfig::default(),
            0,
        )
        .expect("valid config")
    }

    fn state(generation: i32, hb: i32, apps: &[(ApplicationState, &str, i32)]) -> EndpointState {
        let mut s = EndpointState::new(HeartBeatState {
            generation,
            version: hb,
        });
        for (k, v, ver) in apps {
            s.application_states
                .insert(*k, VersionedValue::new(*v, *ver));
        }
        s
    }

    fn ack2(from_states: Vec<(SocketAddr, EndpointState)>) -> GossipMessage {
        GossipMessage::Ack2(GossipDigestAck2 {
            states: from_states.into_iter().collect(),
        })
    }

    fn deliver(g: &mut Gossiper, from: SocketAddr, ep: SocketAddr, s: EndpointState, now: u64) {
        let out = g.handle(from, ack2(vec![(ep, s)]), now).expect("accepted");
        assert!(out.is_empty());
    }

    // Checks a higher generation replaces the whole state (states absent from
    // the new generation disappear) and emits Restarted, by delivering two
    // Ack2s by hand.
    #[test]
    fn higher_generation_replaces_whole_state() {
        let mut g = gossiper(1, &[1]);
        let peer = addr(2);
        deliver(
            &mut g,
            peer,
            peer,
            state(
                5,
                10,
                &[
                    (ApplicationState::Dc, "dc1", 3),
                    (ApplicationState::Rack, "r1", 4),
                ],
            ),
            0,
        );
        let events = g.drain_events();
        assert_eq!(events[0], GossipEvent::Joined(peer));
        assert_eq!(events.last(), Some(&GossipEvent::Alive(peer)));
        let new = state(6, 1, &[(ApplicationState::HostId, "h2", 1)]);
        deliver(&mut g, peer, peer, new.clone(), 10);
        assert_eq!(
            g.endpoint_state(peer),
            Some(&new),
            "old states must be gone"
        );
        let events = g.drain_events();
        assert_eq!(events[0], GossipEvent::Restarted(peer));
        assert!(events.contains(&GossipEvent::StateChanged(
            peer,
            ApplicationState::HostId,
            VersionedValue::new("h2", 1)
        )));
        assert!(
            !events.contains(&GossipEvent::Alive(peer)),
            "it was already alive"
        );
    }

    // Checks that within a generation the higher version of each field wins,
    // with one StateChanged event per replaced field.
    #[test]
    fn same_generation_higher_version_wins() {
        let mut g = gossiper(1, &[1]);
        let peer = addr(2);
        deliver(
            &mut g,
            peer,
            peer,
            state(5, 2, &[(ApplicationState::Load, "a", 1)]),
            0,
        );
        g.drain_events();
        deliver(
            &mut g,
            peer,
            peer,
            state(5, 3, &[(ApplicationState::Load, "b", 4)]),
            1_000,
        );
        let s = g.endpoint_state(peer).expect("known");
        assert_eq!(s.heartbeat.version, 3);
        assert_eq!(
            s.get(ApplicationState::Load),
            Some(&VersionedValue::new("b", 4))
        );
        assert_eq!(
            g.drain_events(),
            vec![GossipEvent::StateChanged(
                peer,
                ApplicationState::Load,
                VersionedValue::new("b", 4)
            )]
        );
    }

    // Checks stale gossip is ignored: a lower generation, and same-generation
    // lower or equal versions, change nothing and emit nothing. Gossip about
    // ourselves is ignored too.
    #[test]
    fn stale_states_are_ignored() {
        let mut g = gossiper(1, &[1]);
        let peer = addr(2);
        let current = state(5, 7, &[(ApplicationState::Load, "new", 6)]);
        deliver(&mut g, peer, peer, current.clone(), 0);
        g.drain_events();
        deliver(
            &mut g,
            peer,
            peer,
            state(4, 100, &[(ApplicationState::Load, "old gen", 99)]),
            1,
        );
        deliver(
            &mut g,
            peer,
            peer,
            state(5, 3, &[(ApplicationState::Load, "old", 2)]),
            2,
        );
        deliver(&mut g, peer, peer, current.clone(), 3);
        assert_eq!(g.endpoint_state(peer), Some(&current));
        assert!(g.drain_events().is_empty());
        // About ourselves.
        let before = g.local_state().clone();
        deliver(&mut g, peer, addr(1), state(1_000, 1_000, &[]), 4);
        assert_eq!(g.local_state(), &before);
    }

    // Checks a removed endpoint is quarantined: gossip about it is ignored for
    // QUARANTINE_DELAY_MS and accepted afterwards.
    #[test]
    fn quarantine_ignores_removed_endpoint_for_the_delay() {
        let mut g = gossiper(1, &[1]);
        let peer = addr(2);
        deliver(&mut g, addr(3), peer, state(5, 7, &[]), 0);
        g.remove_endpoint(peer, 1_000).expect("removable");
        assert!(g.endpoint_state(peer).is_none());
        assert!(!g.is_alive(peer));
        assert!(g.drain_events().contains(&GossipEvent::Removed(peer)));
        let end = 1_000 + QUARANTINE_DELAY_MS;
        deliver(&mut g, addr(3), peer, state(5, 8, &[]), end - 1);
        assert!(
            g.endpoint_state(peer).is_none(),
            "accepted during quarantine"
        );
        assert!(g.is_quarantined(peer, end - 1));
        // A Syn naming it does not make us request it either.
        let syn = GossipMessage::Syn(GossipDigestSyn {
            cluster_name: g.config().cluster_name.clone(),
            digests: vec![GossipDigest {
                endpoint: peer,
                generation: 5,
                max_version: 8,
            }],
        });
        assert!(g.handle(addr(3), syn, end - 1).expect("ok").is_empty());
        deliver(&mut g, addr(3), peer, state(5, 9, &[]), end);
        assert!(!g.is_quarantined(peer, end));
        assert!(g.endpoint_state(peer).is_some(), "refused after quarantine");
        assert_eq!(g.drain_events()[0], GossipEvent::Joined(peer));
        assert_eq!(
            g.remove_endpoint(addr(1), end),
            Err(GossipError::CannotRemoveLocal(addr(1)))
        );
    }

    // Checks one full Syn → Ack → Ack2 exchange by hand: afterwards both
    // nodes hold identical copies of both states.
    #[test]
    fn syn_ack_ack2_reconciles_both_ways() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut a = gossiper(1, &[2]);
        let mut b = gossiper(2, &[2]);
        a.add_local_application_state(ApplicationState::Dc, "dc-a")
            .expect("ok");
        b.add_local_application_state(ApplicationState::Dc, "dc-b")
            .expect("ok");
        b.tick(0, &mut rng); // b has no peers: sends nothing, bumps its heartbeat
        let out = a.tick(0, &mut rng);
        assert_eq!(out.len(), 1, "a knows nobody live: gossips to the seed");
        let (to, syn) = out.into_iter().next().expect("one");
        assert_eq!(to, addr(2));
        let acks = b.handle(addr(1), syn, 5).expect("ok");
        assert_eq!(acks.len(), 1);
        let (to, ack) = acks.into_iter().next().expect("one");
        assert_eq!(to, addr(1));
        // b did not know a: it requests a, and a's Syn did not name b so b sends nothing.
        let GossipMessage::Ack(ref inner) = ack else {
            panic!("expected an Ack, got {ack:?}")
        };
        assert_eq!(inner.digests.len(), 1);
        assert!(inner.states.is_empty());
        let ack2s = a.handle(addr(2), ack, 10).expect("ok");
        let (_, ack2) = ack2s.into_iter().next().expect("an Ack2");
        b.handle(addr(1), ack2, 15).expect("ok");
        assert_eq!(b.endpoint_state(addr(1)), a.endpoint_state(addr(1)));
        assert!(b.is_alive(addr(1)));
        // Next round the other way: b's Syn names both, a learns b.
        let out = b.tick(1_000, &mut rng);
        let (_, syn) = out.into_iter().next().expect("b gossips to a");
        let acks = a.handle(addr(2), syn, 1_005).expect("ok");
        let (_, ack) = acks.into_iter().next().expect("ack");
        let ack2s = b.handle(addr(1), ack, 1_010).expect("ok");
        for (_, m) in ack2s {
            a.handle(addr(2), m, 1_015).expect("ok");
        }
        assert_eq!(a.endpoint_state(addr(2)), b.endpoint_state(addr(2)));
        assert_eq!(a.endpoint_state(addr(1)), b.endpoint_state(addr(1)));
    }

    // Checks inbound bounds: another cluster's Syn and oversized messages are
    // rejected with the matching error and change nothing.
    #[test]
    fn rejects_foreign_and_oversized_messages() {
        let mut g = gossiper(1, &[1]);
        let syn = GossipMessage::Syn(GossipDigestSyn {
            cluster_name: "other".to_string(),
            digests: vec![],
        });
        assert!(matches!(
            g.handle(addr(2), syn, 0),
            Err(GossipError::ClusterNameMismatch { .. })
        ));
        let digest = GossipDigest {
            endpoint: addr(9),
            generation: 1,
            max_version: 1,
        };
        let syn = GossipMessage::Syn(GossipDigestSyn {
            cluster_name: g.config().cluster_name.clone(),
            digests: vec![digest; MAX_DIGESTS_PER_MESSAGE + 1],
        });
        assert!(matches!(
            g.handle(addr(2), syn, 0),
            Err(GossipError::TooManyDigests { .. })
        ));
        let states = (0..=MAX_STATES_PER_MESSAGE)
            .map(|i| {
                (
                    SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8], 7000)),
                    state(1, 1, &[]),
                )
            })
            .collect();
        assert!(matches!(
            g.handle(addr(2), ack2(states), 0),
            Err(GossipError::TooManyStates { .. })
        ));
        assert_eq!(g.endpoint_states().len(), 1);
        let big = "x".repeat(MAX_APPLICATION_VALUE_BYTES + 1);
        assert!(matches!(
            g.add_local_application_state(ApplicationState::Tokens, big),
            Err(GossipError::ValueTooLarge { .. })
        ));
    }

    // Checks the version counter is shared: heartbeat and app states take
    // strictly increasing versions from one counter.
    #[test]
    fn one_version_counter_for_heartbeat_and_states() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut g = gossiper(1, &[1]);
        g.add_local_application_state(ApplicationState::Dc, "dc1")
            .expect("ok");
        g.tick(0, &mut rng);
        g.add_local_application_state(ApplicationState::Load, "1")
            .expect("ok");
        let s = g.local_state();
        assert_eq!(s.get(ApplicationState::Dc).map(|v| v.version), Some(1));
        assert_eq!(s.heartbeat.version, 2);
        assert_eq!(s.get(ApplicationState::Load).map(|v| v.version), Some(3));
        assert_eq!(s.max_version(), 3);
        // tick before the interval does nothing; at the interval it bumps.
        assert!(g.tick(500, &mut rng).is_empty());
        assert_eq!(g.local_state().heartbeat.version, 2);
        g.tick(1_000, &mut rng);
        assert_eq!(g.local_state().heartbeat.version, 4);
        assert_eq!(g.next_tick_at(), 2_000);
    }

    // Checks the shadow round end to end by hand: the joining node sends an
    // empty Syn to every seed, ignores normal Syns, completes on a seed's
    // full Ack and keeps those states apart from its view.
    #[test]
    fn shadow_round_learns_cluster_state() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut seed = gossiper(2, &[2]);
        seed.add_local_application_state(ApplicationState::HostId, "seed-host")
            .expect("ok");
        let mut joiner = gossiper(1, &[2, 3]);
        joiner.start_shadow_round(0);
        assert!(!joiner.shadow_round_complete());
        assert_eq!(joiner.check_shadow_round(), Ok(false));
        let out = joiner.tick(0, &mut rng);
        let targets: Vec<SocketAddr> = out.iter().map(|(to, _)| *to).collect();
        assert_eq!(targets, vec![addr(2), addr(3)]);
        for (_, m) in &out {
            assert!(matches!(m, GossipMessage::Syn(s) if s.digests.is_empty()));
        }
        // Nothing re-sent before the retry interval; the heartbeat is not bumped.
        assert!(joiner.tick(1_000, &mut rng).is_empty());
        assert_eq!(joiner.local_state().heartbeat.version, 0);
        let (_, syn) = out.into_iter().next().expect("syn");
        let reply = seed.handle(addr(1), syn, 10).expect("ok");
        let (_, ack) = reply.into_iter().next().expect("full ack");
        assert!(matches!(&ack, GossipMessage::Ack(a) if a.states.contains_key(&addr(2))));
        joiner.handle(addr(2), ack, 20).expect("ok");
        assert!(joiner.shadow_round_complete());
        assert_eq!(joiner.check_shadow_round(), Ok(true));
        assert_eq!(
            joiner
                .shadow_states()
                .get(&addr(2))
                .and_then(|s| s.get(ApplicationState::HostId))
                .map(|v| v.value.as_str()),
            Some("seed-host")
        );
        assert!(
            joiner.endpoint_state(addr(2)).is_none(),
            "shadow states stay apart"
        );
        // Normal gossip resumes.
        let out = joiner.tick(2_000, &mut rng);
        assert!(out
            .iter()
            .any(|(_, m)| matches!(m, GossipMessage::Syn(s) if !s.digests.is_empty())));
    }

    // Checks a shadow round where every seed is itself in a shadow round
    // completes with nothing learnt, and one nobody answers times out.
    #[test]
    fn shadow_round_all_seeds_new_or_silent() {
        let mut rng = SmallRng::seed_from_u64(4);
        let mut a = gossiper(1, &[2]);
        let mut b = gossiper(2, &[1]);
        a.start_shadow_round(0);
        b.start_shadow_round(0);
        let (_, syn) = a.tick(0, &mut rng).into_iter().next().expect("syn");
        let reply = b.handle(addr(1), syn, 1).expect("ok");
        assert_eq!(
            reply,
            vec![(addr(1), GossipMessage::Ack(GossipDigestAck::default()))]
        );
        for (_, m) in reply {
            a.handle(addr(2), m, 2).expect("ok");
        }
        assert!(a.shadow_round_complete());
        assert!(a.shadow_states().is_empty());

        let mut lonely = gossiper(3, &[4]);
        lonely.start_shadow_round(0);
        assert_eq!(lonely.tick(0, &mut rng).len(), 1);
        assert_eq!(
            lonely.tick(SHADOW_ROUND_RETRY_MS, &mut rng).len(),
            1,
            "re-sent"
        );
        assert!(lonely.tick(SHADOW_ROUND_TIMEOUT_MS, &mut rng).is_empty());
        assert_eq!(
            lonely.check_shadow_round(),
            Err(GossipError::ShadowRoundTimedOut {
                waited_ms: SHADOW_ROUND_TIMEOUT_MS
            })
        );
        // A lone seed has nobody to ask.
        let mut only_seed = gossiper(5, &[5]);
        only_seed.start_shadow_round(0);
        assert!(only_seed.shadow_round_complete());
    }

    // Checks the unreachable rule: with 1 live and 1 unreachable peer the
    // unreachable one is gossiped to about half of the rounds
    // (probability unreachable / (live + 1) = 1/2), over 400 rounds.
    #[test]
    fn gossips_to_unreachable_with_probability() {
        let mut rng = SmallRng::seed_from_u64(5);
        let mut g = gossiper(1, &[1]);
        deliver(&mut g, addr(2), addr(2), state(5, 1, &[]), 0);
        deliver(&mut g, addr(3), addr(3), state(5, 1, &[]), 0);
        g.mark_dead(addr(3), 0);
        let mut to_unreachable = 0;
        for round in 0..400u64 {
            let now = round * 1_000;
            // keep both known but only addr(2) heartbeating, and no conviction
            // of addr(3) changes the sets (it is already down).
            deliver(
                &mut g,
                addr(2),
                addr(2),
                state(5, 2 + round as i32, &[]),
                now,
            );
            let out = g.tick(now, &mut rng);
            if out.iter().any(|(to, _)| *to == addr(3)) {
                to_unreachable += 1;
            }
        }
        assert!(
            (150..=250).contains(&to_unreachable),
            "{to_unreachable} of 400"
        );
    }
}
