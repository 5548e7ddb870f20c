//! What one node says about itself: its heartbeat and its versioned
//! application states.
//!
//! What: [`HeartBeatState`] (generation + version), [`VersionedValue`],
//! the [`ApplicationState`] keys, and [`EndpointState`], the unit of gossip.
//! Also the pure merge rule for two states of the same generation.
//!
//! Why: gossip is anti-entropy over these records. Every node owns exactly one
//! of them and is the only writer of it; everybody else holds copies that are
//! merged monotonically. Ordering is by `(generation, version)`:
//!
//! * the **generation** is the node's start time in seconds; the caller
//!   persists it and passes a larger one on every restart, so a restarted node
//!   supersedes everything it said in its previous life;
//! * the **version** comes from one counter per node, shared by the heartbeat
//!   and every application state (Cassandra's `VersionGenerator`): each local
//!   change takes the next version, so "everything newer than version v" is a
//!   well-defined delta and the maximum version summarises the whole state.
//!
//! What not: liveness (UP/DOWN) is not part of this record: it is a local
//! opinion kept by the [`crate::Gossiper`], never gossiped. Values are opaque
//! strings; parsing STATUS or TOKENS is the node crate's job.
//!
//! References: `org.apache.cassandra.gms.EndpointState`, `HeartBeatState`,
//! `VersionedValue`, `ApplicationState`, `VersionGenerator`.

use std::collections::BTreeMap;

/// The keys of application state a node gossips about itself. A subset of
/// Cassandra's `ApplicationState` enum, in the same relative order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApplicationState {
    /// Ring status with the storage port (`NORMAL,<token>` / `LEAVING` / ...), Cassandra 4 form.
    StatusWithPort,
    /// Legacy ring status without the port.
    Status,
    /// The node's tokens.
    Tokens,
    /// Data centre name.
    Dc,
    /// Rack name.
    Rack,
    /// The node's host id (a UUID).
    HostId,
    /// The node's schema version (a UUID).
    Schema,
    /// Legacy RPC address.
    RpcAddress,
    /// Address and port of the native (CQL) protocol.
    NativeAddressAndPort,
    /// Software release version.
    ReleaseVersion,
    /// Bytes of data the node holds.
    Load,
}

impl ApplicationState {
    /// Every variant, in order.
    pub const ALL: [ApplicationState; 11] = [
        ApplicationState::StatusWithPort,
        ApplicationState::Status,
        ApplicationState::Tokens,
        ApplicationState::Dc,
        ApplicationState::Rack,
        ApplicationState::HostId,
        ApplicationState::Schema,
        ApplicationState::RpcAddress,
        ApplicationState::NativeAddressAndPort,
        ApplicationState::ReleaseVersion,
        ApplicationState::Load,
    ];

    /// Cassandra's name for the key (`"STATUS_WITH_PORT"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ApplicationState::StatusWithPort => "STATUS_WITH_PORT",
            ApplicationState::Status => "STATUS",
            ApplicationState::Tokens => "TOKENS",
            ApplicationState::Dc => "DC",
            ApplicationState::Rack => "RACK",
            ApplicationState::HostId => "HOST_ID",
            ApplicationState::Schema => "SCHEMA",
            ApplicationState::RpcAddress => "RPC_ADDRESS",
            ApplicationState::NativeAddressAndPort => "NATIVE_ADDRESS_AND_PORT",
            ApplicationState::ReleaseVersion => "RELEASE_VERSION",
            ApplicationState::Load => "LOAD",
        }
    }

    /// The key with Cassandra's name `name`, if any.
    pub fn from_name(name: &str) -> Option<ApplicationState> {
        ApplicationState::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A node's heartbeat: which life it is in and how far it has counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeartBeatState {
    /// Start time of the node in seconds; larger on every restart.
    pub generation: i32,
    /// Version taken from the node's shared counter at its last heartbeat.
    pub version: i32,
}

/// One application-state value with the version it was written at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VersionedValue {
    pub value: String,
    pub version: i32,
}

impl VersionedValue {
    pub fn new(value: impl Into<String>, version: i32) -> VersionedValue {
        VersionedValue {
            value: value.into(),
            version,
        }
    }
}

/// Everything gossiped about one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointState {
    pub heartbeat: HeartBeatState,
    pub application_states: BTreeMap<ApplicationState, VersionedValue>,
}

/// What [`EndpointState::merge_same_generation`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// The heartbeat version moved forward.
    pub heartbeat_advanced: bool,
    /// The application states that were replaced by newer versions, in key order.
    pub changed: Vec<ApplicationState>,
}

impl EndpointState {
    /// A state with only a heartbeat.
    pub fn new(heartbeat: HeartBeatState) -> EndpointState {
        EndpointState {
            heartbeat,
            application_states: BTreeMap::new(),
        }
    }

    pub fn generation(&self) -> i32 {
        self.heartbeat.generation
    }

    /// The highest version of the heartbeat and all application states
    /// (`Gossiper.getMaxEndpointStateVersion`): the digest's `max_version`.
    pub fn max_version(&self) -> i32 {
        self.application_states
            .values()
            .map(|v| v.version)
            .fold(self.heartbeat.version, i32::max)
    }

    /// `(generation, max_version)`: the total order gossip views move along.
    pub fn generation_and_version(&self) -> (i32, i32) {
        (self.generation(), self.max_version())
    }

    pub fn get(&self, state: ApplicationState) -> Option<&VersionedValue> {
        self.application_states.get(&state)
    }

    /// The part of this state with versions strictly above `version`, or
    /// `None` if nothing is newer (`Gossiper.getStateForVersionBiggerThan`).
    /// The heartbeat is always included when anything is returned, even if it
    /// is not itself newer: the receiver keeps whichever heartbeat is higher.
    pub fn newer_than(&self, version: i32) -> Option<EndpointState> {
        let states: BTreeMap<ApplicationState, VersionedValue> = self
            .application_states
            .iter()
            .filter(|(_, v)| v.version > version)
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        if self.heartbeat.version > version || !states.is_empty() {
            Some(EndpointState {
                heartbeat: self.heartbeat,
                application_states: states,
            })
        } else {
            None
        }
    }

    /// Merges `remote`, a state of the **same generation**, into `self`: the
    /// heartbeat and each application state are replaced only by a strictly
    /// higher version. Older or equal versions are ignored, so applying the
    /// same or a stale delta twice is harmless and the merge is commutative.
    ///
    /// Cassandra's `applyNewStates` replaces the heartbeat unconditionally when
    /// the remote max version is higher; we keep the higher heartbeat instead
    /// so a delta carrying an old heartbeat next to a new application state
    /// cannot move the heartbeat backwards.
    pub fn merge_same_generation(&mut self, remote: &EndpointState) -> MergeOutcome {
        debug_assert_eq!(self.generation(), remote.generation());
        let mut outcome = MergeOutcome::default();
        if remote.heartbeat.version > self.heartbeat.version {
            self.heartbeat.version = remote.heartbeat.version;
            outcome.heartbeat_advanced = true;
        }
        for (key, value) in &remote.application_states {
            let newer = match self.application_states.get(key) {
                Some(local) => value.version > local.version,
                None => true,
            };
            if newer {
                self.application_states.insert(*key, value.clone());
                outcome.changed.push(*key);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    // Checks max_version covers heartbeat and app states, by building states by hand.
    #[test]
    fn max_version_is_over_heartbeat_and_states() {
        assert_eq!(state(1, 3, &[]).max_version(), 3);
        let s = state(1, 3, &[(ApplicationState::Load, "1", 7)]);
        assert_eq!(s.max_version(), 7);
        assert_eq!(s.generation_and_version(), (1, 7));
    }

    // Checks the delta selection: only newer states, heartbeat always carried.
    #[test]
    fn newer_than_selects_delta() {
        let s = state(
            1,
            5,
            &[
                (ApplicationState::Dc, "dc1", 2),
                (ApplicationState::Load, "10", 6),
            ],
        );
        assert_eq!(s.newer_than(6), None);
        let d = s.newer_than(5).expect("load is newer than 5");
        assert_eq!(d.heartbeat.version, 5);
        assert_eq!(
            d.application_states.keys().copied().collect::<Vec<_>>(),
            vec![ApplicationState::Load]
        );
        let all = s.newer_than(-1).expect("everything is newer than -1");
        assert_eq!(all, s);
    }

    // Checks the same-generation merge: higher versions win, stale ones are ignored.
    #[test]
    fn merge_same_generation_keeps_higher_versions() {
        let mut local = state(
            1,
            5,
            &[
                (ApplicationState::Dc, "dc1", 2),
                (ApplicationState::Load, "10", 4),
            ],
        );
        let remote = state(
            1,
            3,
            &[
                (ApplicationState::Dc, "stale", 1),
                (ApplicationState::Load, "20", 6),
                (ApplicationState::Rack, "r1", 3),
            ],
        );
        let outcome = local.merge_same_generation(&remote);
        assert!(!outcome.heartbeat_advanced, "older heartbeat must not win");
        assert_eq!(local.heartbeat.version, 5);
        assert_eq!(
            outcome.changed,
            vec![ApplicationState::Rack, ApplicationState::Load]
        );
        assert_eq!(
            local.get(ApplicationState::Dc).map(|v| v.value.as_str()),
            Some("dc1")
        );
        assert_eq!(
            local.get(ApplicationState::Load).map(|v| v.value.as_str()),
            Some("20")
        );
        // Applying it again changes nothing.
        assert_eq!(
            local.merge_same_generation(&remote),
            MergeOutcome::default()
        );
    }

    // Checks names round-trip for every key.
    #[test]
    fn names_round_trip() {
        for s in ApplicationState::ALL {
            assert_eq!(ApplicationState::from_name(s.name()), Some(s));
        }
        assert_eq!(ApplicationState::from_name("NOPE"), None);
    }
}
