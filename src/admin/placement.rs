//! Placement questions the admin API answers from a [`ClusterView`] snapshot and the
//! schema: effective ownership (`nodetool status`'s "Owns (effective)"), the replicas
//! of each range (`describering`) and of one partition key (`getendpoints`).
//!
//! The ring is rebuilt from the view on each request ([`ring_of`]): a few hundred
//! tokens, cheaper than keeping a copy in step with gossip. Endpoints that are
//! joining own no range yet (their tokens are pending, as in Cassandra's
//! `TokenMetadata`), so they are left out of the ring; leaving and moving endpoints
//! still own theirs.
//!
//! Effective ownership follows `StorageService.effectiveOwnership`: with a keyspace,
//! that keyspace's strategy (an error for `LocalStrategy`); without one, the user
//! keyspaces' common strategy, or `system_traces`' when there are no user keyspaces,
//! and no effective ownership at all (a note instead) when user keyspaces disagree.

use std::collections::BTreeMap;

use sibyl_cql::types::{serialize, value_from_string};
use sibyl_storage::token::{composite_key, Token};

use super::AdminError;
use crate::cluster::{EndpointStateKind, EndpointView};
use crate::dht::{ownership, TokenRange};
use crate::locator::{Endpoint, Location, ReplicationStrategy, TokenMetadata, Topology};
use crate::schema::model::{Replication, TableMetadata};
use crate::schema::{builtin, SchemaManager};

/// The keyspace Cassandra measures ownership with when there are no user keyspaces.
const FALLBACK_OWNERSHIP_KEYSPACE: &str = "system_traces";

/// Cassandra's note when user keyspaces replicate differently.
pub const NOTE_DIFFERENT_SETTINGS: &str = "Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless";

/// The ring and the topology as the view describes them.
pub fn ring_of(endpoints: &[EndpointView]) -> (TokenMetadata, Topology) {
    let mut tm = TokenMetadata::new();
    let mut topology = Topology::simple_snitch();
    for ep in endpoints {
        topology.set_location(ep.endpoint, Location::new(&ep.datacenter, &ep.rack));
        if ep.state != EndpointStateKind::Joining && !ep.tokens.is_empty() {
            tm.update_normal_tokens(ep.endpoint, ep.tokens.iter().map(|t| Token(*t)));
        }
    }
    (tm, topology)
}

/// A keyspace's replication as a strategy; `None` for `LocalStrategy`.
pub fn strategy_of(replication: &Replication) -> Result<Option<ReplicationStrategy>, AdminError> {
    let class = replication
        .options
        .get("class")
        .map(String::as_str)
        .unwrap_or_default();
    let short = class.rsplit('.').next().unwrap_or(class);
    // "3" or Cassandra's transient form "3/1": the leading number is the full count.
    let rf = |v: &str| -> Result<usize, AdminError> {
        v.split('/')
            .next()
            .unwrap_or(v)
            .trim()
            .parse()
            .map_err(|_| {
                AdminError::BadRequest(format!("replication factor {v:?} is not a number"))
            })
    };
    match short {
        "LocalStrategy" => Ok(None),
        "SimpleStrategy" => Ok(Some(ReplicationStrategy::SimpleStrategy {
            replication_factor: rf(replication
                .options
                .get("replication_factor")
                .map(String::as_str)
                .unwrap_or("1"))?,
        })),
        "NetworkTopologyStrategy" => {
            let mut datacenters = BTreeMap::new();
            for (k, v) in &replication.options {
                if k != "class" {
                    datacenters.insert(k.clone(), rf(v)?);
                }
            }
            Ok(Some(ReplicationStrategy::NetworkTopologyStrategy {
                datacenters,
            }))
        }
        other => Err(AdminError::BadRequest(format!(
            "replication class {other} is not supported"
        ))),
    }
}

/// The strategy of keyspace `name`: 404 if it does not exist, 400 for LocalStrategy.
pub fn keyspace_strategy(
    schema: &SchemaManager,
    name: &str,
) -> Result<ReplicationStrategy, AdminError> {
    let ks = schema
        .keyspace(name)
        .ok_or_else(|| AdminError::NotFound(format!("The keyspace {name}, does not exist")))?;
    strategy_of(&ks.replication)?.ok_or_else(|| {
        AdminError::BadRequest(
            "Ownership values for keyspaces with LocalStrategy are meaningless".into(),
        )
    })
}

/// Each endpoint's fraction of the data, counting every replica (sums to the
/// replication factor, capped by the node count).
pub fn effective_ownership(
    strategy: &ReplicationStrategy,
    tm: &TokenMetadata,
    topology: &Topology,
) -> BTreeMap<Endpoint, f64> {
    let mut owned: BTreeMap<Endpoint, f64> = BTreeMap::new();
    for token in tm.sorted_tokens() {
        let Some(range) = tm.primary_range_for(token) else {
            continue;
        };
        let size = range.size();
        for ep in strategy.calculate_natural_replicas(token, tm, topology) {
            *owned.entry(ep).or_default() += size;
        }
    }
    owned
}

/// Ownership for `status`/`ring`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ownership {
    /// Each endpoint's fraction (effective: counting every replica).
    pub fractions: BTreeMap<Endpoint, f64>,
    /// False when no keyspace gives a meaningful effective ownership.
    pub effective: bool,
    /// Cassandra's note explaining why ownership is not effective.
    pub note: Option<String>,
}

/// Ownership for `status`/`ring` (see the module essay for which strategy).
pub fn ownership_for(
    schema: &SchemaManager,
    endpoints: &[EndpointView],
    keyspace: Option<&str>,
) -> Result<Ownership, AdminError> {
    let (tm, topology) = ring_of(endpoints);
    let strategy = match keyspace {
        Some(ks) => keyspace_strategy(schema, ks)?,
        None => {
            let snapshot = schema.snapshot();
            let user: Vec<_> = snapshot
                .keyspaces
                .values()
                .filter(|k| !builtin::is_builtin(&k.name))
                .collect();
            match user.first() {
                None => match schema.keyspace(FALLBACK_OWNERSHIP_KEYSPACE) {
                    Some(k) => strategy_of(&k.replication)?.unwrap_or(
                        ReplicationStrategy::SimpleStrategy {
                            replication_factor: 1,
                        },
                    ),
                    None => ReplicationStrategy::SimpleStrategy {
                        replication_factor: 1,
                    },
                },
                Some(first) => {
                    let same = user.iter().all(|k| k.replication == first.replication);
                    match strategy_of(&first.replication)? {
                        Some(s) if same => s,
                        _ => {
                            return Ok(Ownership {
                                fractions: ownership(&tm),
                                effective: false,
                                note: Some(NOTE_DIFFERENT_SETTINGS.to_string()),
                            })
                        }
                    }
                }
            }
        }
    };
    Ok(Ownership {
        fractions: effective_ownership(&strategy, &tm, &topology),
        effective: true,
        note: None,
    })
}

/// Each range `(left, right]` of the ring with its replicas, in token order.
pub fn range_replicas(
    strategy: &ReplicationStrategy,
    tm: &TokenMetadata,
    topology: &Topology,
) -> Vec<(TokenRange, Vec<Endpoint>)> {
    tm.sorted_tokens()
        .into_iter()
        .filter_map(|t| {
            let range = tm.primary_range_for(t)?;
            Some((range, strategy.calculate_natural_replicas(t, tm, topology)))
        })
        .collect()
}

/// Splits `key` on ':' not preceded by '\' (Cassandra's `CompositeType.fromString`),
/// unescaping `\:`.
fn split_composite(key: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&':') => {
                if let (Some(p), Some(n)) = (parts.last_mut(), chars.next()) {
                    p.push(n);
                }
            }
            ':' => parts.push(String::new()),
            _ => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    parts
}

/// The serialized partition key of `table` for the text `key` (composite parts
/// separated by ':'), as the query layer stores it.
pub fn partition_key_bytes(table: &TableMetadata, key: &str) -> Result<Vec<u8>, AdminError> {
    let columns: Vec<_> = table.partition_key().collect();
    let parts = if columns.len() == 1 {
        vec![key.to_string()]
    } else {
        split_composite(key)
    };
    if parts.len() != columns.len() {
        return Err(AdminError::BadRequest(format!(
            "the partition key of {}.{} has {} components ({}), got {} in {key:?}",
            table.keyspace,
            table.name,
            columns.len(),
            columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(":"),
            parts.len()
        )));
    }
    let mut components = Vec::with_capacity(parts.len());
    for (col, part) in columns.iter().zip(&parts) {
        let value = value_from_string(part, &col.cql_type).map_err(|e| {
            AdminError::BadRequest(format!("{part:?} is not a valid {}: {e}", col.name))
        })?;
        let bytes = serialize(&value, &col.cql_type)
            .map_err(|e| AdminError::BadRequest(format!("{}: {e}", col.name)))?;
        components.push(bytes);
    }
    let refs: Vec<&[u8]> = components.iter().map(Vec::as_slice).collect();
    Ok(composite_key(&refs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Liveness;

    fn view(n: u8, dc: &str, tokens: &[i64], state: EndpointStateKind) -> EndpointView {
        EndpointView {
            endpoint: Endpoint::from(([10, 0, 0, n], 7000)),
            native_address: None,
            host_id: Some(u128::from(n)),
            datacenter: dc.into(),
            rack: "r1".into(),
            liveness: Liveness::Up,
            state,
            load_bytes: None,
            tokens: tokens.to_vec(),
            schema_version: None,
            release_version: None,
            generation: 1,
            heartbeat: 1,
            phi: None,
            application_states: Vec::new(),
            is_local: n == 1,
        }
    }

    #[test]
    fn effective_ownership_sums_to_replication_factor() {
        // Checks RF 2 on three nodes gives each a share and the shares sum to 2; a joining node owns nothing.
        let eps = vec![
            view(1, "dc1", &[-100, 5000], EndpointStateKind::Normal),
            view(2, "dc1", &[0, 7000], EndpointStateKind::Normal),
            view(3, "dc1", &[100], EndpointStateKind::Normal),
            view(4, "dc1", &[200], EndpointStateKind::Joining),
        ];
        let (tm, topo) = ring_of(&eps);
        let s = ReplicationStrategy::SimpleStrategy {
            replication_factor: 2,
        };
        let owned = effective_ownership(&s, &tm, &topo);
        let total: f64 = owned.values().sum();
        assert!((total - 2.0).abs() < 1e-9, "{owned:?}");
        assert!(!owned.contains_key(&eps[3].endpoint));
    }

    #[test]
    fn composite_keys_split_on_unescaped_colons() {
        // Checks `a\:b:c` is two parts, the first holding a colon.
        assert_eq!(split_composite("a\\:b:c"), vec!["a:b", "c"]);
        assert_eq!(split_composite("x"), vec!["x"]);
    }
}
