//! Replication strategies: which endpoints are a token's natural replicas.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use sibyl_storage::token::Token;

use super::{Endpoint, TokenMetadata, Topology};

/// A keyspace's replication strategy (Cassandra's `AbstractReplicationStrategy` kinds).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ReplicationStrategy {
    /// `SimpleStrategy`: the first `replication_factor` distinct endpoints walking the
    /// ring from the token's successor, ignoring topology.
    SimpleStrategy {
        /// Copies of each partition.
        replication_factor: usize,
    },
    /// `NetworkTopologyStrategy`: per-datacenter replication factors, rack-aware.
    NetworkTopologyStrategy {
        /// Replication factor of each datacenter; datacenters not listed hold no replica.
        datacenters: BTreeMap<String, usize>,
    },
}

impl ReplicationStrategy {
    /// The natural replicas of `token`, primary first, in the order they were chosen.
    pub fn calculate_natural_replicas(
        &self,
        token: Token,
        metadata: &TokenMetadata,
        topology: &Topology,
    ) -> Vec<Endpoint> {
        match self {
            ReplicationStrategy::SimpleStrategy { replication_factor } => {
                simple_replicas(token, *replication_factor, metadata)
            }
            ReplicationStrategy::NetworkTopologyStrategy { datacenters } => {
                network_topology_replicas(token, datacenters, metadata, topology)
            }
        }
    }

    /// The total number of replicas the strategy asks for (before capping by nodes).
    pub fn replication_factor(&self) -> usize {
        match self {
            ReplicationStrategy::SimpleStrategy { replication_factor } => *replication_factor,
            ReplicationStrategy::NetworkTopologyStrategy { datacenters } => {
                datacenters.values().sum()
            }
        }
    }
}

fn simple_replicas(token: Token, rf: usize, metadata: &TokenMetadata) -> Vec<Endpoint> {
    let mut replicas: Vec<Endpoint> = Vec::with_capacity(rf);
    for ring_token in metadata.ring_iterator(token) {
        if replicas.len() >= rf {
            break;
        }
        if let Some(endpoint) = metadata.endpoint(ring_token) {
            if !replicas.contains(&endpoint) {
                replicas.push(endpoint);
            }
        }
    }
    replicas
}

/// Per-datacenter state of one NetworkTopologyStrategy walk.
struct DatacenterState {
    /// Replicas wanted here: `min(rf, endpoints in the DC)`.
    wanted: usize,
    /// Number of distinct racks among the DC's ring endpoints.
    rack_count: usize,
    replicas: Vec<Endpoint>,
    seen_racks: HashSet<String>,
    /// Endpoints passed over because their rack already held a replica, in ring order.
    skipped: Vec<Endpoint>,
}

impl DatacenterState {
    fn done(&self) -> bool {
        self.replicas.len() >= self.wanted
    }

    /// Offers `endpoint` (on `rack`) in ring order; returns endpoints accepted now.
    fn offer(&mut self, endpoint: Endpoint, rack: String) -> Vec<Endpoint> {
        if self.done() || self.replicas.contains(&endpoint) {
            return Vec::new();
        }
        if self.seen_racks.len() >= self.rack_count {
            // Every rack already holds a replica: take endpoints as they come.
            self.replicas.push(endpoint);
            return vec![endpoint];
        }
        if self.seen_racks.contains(&rack) {
            if !self.skipped.contains(&endpoint) {
                self.skipped.push(endpoint);
            }
            return Vec::new();
        }
        self.seen_racks.insert(rack);
        self.replicas.push(endpoint);
        let mut accepted = vec![endpoint];
        if self.seen_racks.len() >= self.rack_count {
            // Out of new racks: fill from the skipped endpoints, in ring order.
            for skipped in std::mem::take(&mut self.skipped) {
                if self.done() {
                    break;
                }
                self.replicas.push(skipped);
                accepted.push(skipped);
            }
        }
        accepted
    }
}

fn network_topology_replicas(
    token: Token,
    datacenters: &BTreeMap<String, usize>,
    metadata: &TokenMetadata,
    topology: &Topology,
) -> Vec<Endpoint> {
    // The DC membership and racks of the ring's endpoints.
    let mut dc_endpoints: HashMap<String, usize> = HashMap::new();
    let mut dc_racks: HashMap<String, BTreeSet<String>> = HashMap::new();
    for endpoint in metadata.endpoints() {
        let location = topology.location(&endpoint);
        *dc_endpoints.entry(location.datacenter.clone()).or_default() += 1;
        dc_racks
            .entry(location.datacenter)
            .or_default()
            .insert(location.rack);
    }

    let mut states: HashMap<&str, DatacenterState> = datacenters
        .iter()
        .filter(|(_, rf)| **rf > 0)
        .map(|(dc, rf)| {
            let state = DatacenterState {
                wanted: (*rf).min(dc_endpoints.get(dc).copied().unwrap_or(0)),
                rack_count: dc_racks.get(dc).map_or(0, BTreeSet::len),
                replicas: Vec::new(),
                seen_racks: HashSet::new(),
                skipped: Vec::new(),
            };
            (dc.as_str(), state)
        })
        .collect();

    let mut replicas = Vec::new();
    for ring_token in metadata.ring_iterator(token) {
        if states.values().all(DatacenterState::done) {
            break;
        }
        let Some(endpoint) = metadata.endpoint(ring_token) else {
            continue;
        };
        let location = topology.location(&endpoint);
        if let Some(state) = states.get_mut(location.datacenter.as_str()) {
            replicas.extend(state.offer(endpoint, location.rack));
        }
    }
    replicas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locator::Location;

    fn ep(n: u8) -> Endpoint {
        Endpoint::from(([10, 0, 0, n], 7000))
    }

    #[test]
    fn simple_strategy_on_empty_ring_is_empty() {
        // No ring, no replicas.
        let strategy = ReplicationStrategy::SimpleStrategy {
            replication_factor: 3,
        };
        assert!(strategy
            .calculate_natural_replicas(Token(0), &TokenMetadata::new(), &Topology::simple_snitch())
            .is_empty());
    }

    #[test]
    fn nts_ignores_unlisted_and_zero_rf_datacenters() {
        // Only DCs with a positive RF get replicas; a DC with RF but no nodes does not stall the walk.
        let mut tm = TokenMetadata::new();
        let mut topology = Topology::simple_snitch();
        for n in 1..=4u8 {
            tm.update_normal_tokens(ep(n), [Token(i64::from(n) * 10)]);
            let dc = if n % 2 == 0 { "east" } else { "west" };
            topology.set_location(ep(n), Location::new(dc, "r1"));
        }
        let strategy = ReplicationStrategy::NetworkTopologyStrategy {
            datacenters: [
                ("east".to_string(), 1),
                ("west".to_string(), 0),
                ("nowhere".to_string(), 2),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(
            strategy.calculate_natural_replicas(Token(5), &tm, &topology),
            vec![ep(2)]
        );
    }
}
