//! Where each endpoint lives: the snitch's answer as a plain map.

use std::collections::HashMap;

use super::Endpoint;

/// The datacenter `SimpleSnitch` puts every node in (and the default for unknown nodes).
pub const DEFAULT_DATACENTER: &str = "datacenter1";
/// The rack `SimpleSnitch` puts every node in (and the default for unknown nodes).
pub const DEFAULT_RACK: &str = "rack1";

/// A node's datacenter and rack.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Location {
    /// The datacenter name.
    pub datacenter: String,
    /// The rack name, unique within its datacenter.
    pub rack: String,
}

impl Location {
    /// The location `datacenter`/`rack`.
    pub fn new(datacenter: impl Into<String>, rack: impl Into<String>) -> Location {
        Location {
            datacenter: datacenter.into(),
            rack: rack.into(),
        }
    }
}

impl Default for Location {
    fn default() -> Location {
        Location::new(DEFAULT_DATACENTER, DEFAULT_RACK)
    }
}

/// Each endpoint's [`Location`]; endpoints not in the map are in
/// [`DEFAULT_DATACENTER`]/[`DEFAULT_RACK`].
///
/// [`Topology::simple_snitch`] (empty) behaves as Cassandra's `SimpleSnitch`; a topology
/// filled with [`Topology::set_location`] from each node's declared dc/rack behaves as
/// `GossipingPropertyFileSnitch`.
#[derive(Clone, Default, Debug)]
pub struct Topology {
    locations: HashMap<Endpoint, Location>,
}

impl Topology {
    /// `SimpleSnitch`: every endpoint in `datacenter1`/`rack1`.
    pub fn simple_snitch() -> Topology {
        Topology::default()
    }

    /// Records `endpoint`'s datacenter and rack (as gossiped by the node).
    pub fn set_location(&mut self, endpoint: Endpoint, location: Location) {
        self.locations.insert(endpoint, location);
    }

    /// Forgets `endpoint` (it reverts to the default location).
    pub fn remove(&mut self, endpoint: &Endpoint) {
        self.locations.remove(endpoint);
    }

    /// `endpoint`'s location, the default one when unknown.
    pub fn location(&self, endpoint: &Endpoint) -> Location {
        self.locations.get(endpoint).cloned().unwrap_or_default()
    }

    /// `endpoint`'s datacenter.
    pub fn datacenter(&self, endpoint: &Endpoint) -> String {
        self.location(endpoint).datacenter
    }

    /// `endpoint`'s rack.
    pub fn rack(&self, endpoint: &Endpoint) -> String {
        self.location(endpoint).rack
    }
}
