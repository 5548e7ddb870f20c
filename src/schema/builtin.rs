//! The built-in keyspaces: `system`, `system_schema`, `system_auth`,
//! `system_distributed` and `system_traces`, with Cassandra 4's replication.
//!
//! **What.** Their metadata is rebuilt at every start from the CQL below (never
//! persisted), so `SELECT` on them plans like on any table and drivers find them
//! in `system_schema`. Table ids are Cassandra's name-based UUIDs
//! (`TableId.forSystemTable`: MD5 of keyspace and table names), so they are the same
//! on every node and every start.
//!
//! **What not.** They have no storage tables: `system_schema.*` rows are generated
//! from the in-memory schema ([`crate::schema::virtual_tables`]), `system.local`,
//! `system.peers` and `system.peers_v2` are filled by the node (the transport layer),
//! and `system_auth`, `system_distributed`, `system_traces` have no tables yet.
//! DDL on any of these keyspaces is refused (`System keyspace 'system' is not
//! user-modifiable`); Cassandra does allow `ALTER KEYSPACE` on the replicated ones,
//! which Sibyl, with one data centre and no repair, has no use for yet.

use std::collections::BTreeMap;
use std::sync::Arc;

use md5::{Digest, Md5};
use sibyl_cql::parser::{parse_statement, Statement};

use crate::error::{CqlError, CqlResult};
use crate::schema::ddl;
use crate::schema::model::KeyspaceMetadata;

/// `LocalStrategy`, the strategy of the node-local system keyspaces.
pub const LOCAL_STRATEGY: &str = "org.apache.cassandra.locator.LocalStrategy";
/// `SimpleStrategy`'s full class name.
pub const SIMPLE_STRATEGY: &str = "org.apache.cassandra.locator.SimpleStrategy";

/// The built-in keyspaces and their replication (Cassandra 4 defaults).
const KEYSPACES: &[(&str, &[(&str, &str)])] = &[
    ("system", &[("class", LOCAL_STRATEGY)]),
    (
        "system_auth",
        &[("class", SIMPLE_STRATEGY), ("replication_factor", "1")],
    ),
    (
        "system_distributed",
        &[("class", SIMPLE_STRATEGY), ("replication_factor", "3")],
    ),
    ("system_schema", &[("class", LOCAL_STRATEGY)]),
    (
        "system_traces",
        &[("class", SIMPLE_STRATEGY), ("replication_factor", "2")],
    ),
];

/// Tables of the built-in keyspaces, as Cassandra 4.0 defines them.
const TABLES: &[&str] = &[
    "CREATE TABLE system_schema.keyspaces (keyspace_name text PRIMARY KEY, durable_writes boolean, replication frozen<map<text, text>>)",
    "CREATE TABLE system_schema.tables (keyspace_name text, table_name text, additional_write_policy text, bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean, comment text, compaction frozen<map<text, text>>, compression frozen<map<text, text>>, crc_check_chance double, default_time_to_live int, extensions frozen<map<text, blob>>, flags frozen<set<text>>, gc_grace_seconds int, id uuid, max_index_interval int, memtable_flush_period_in_ms int, min_index_interval int, read_repair text, speculative_retry text, PRIMARY KEY ((keyspace_name), table_name))",
    "CREATE TABLE system_schema.columns (keyspace_name text, table_name text, column_name text, clustering_order text, column_name_bytes blob, kind text, position int, type text, PRIMARY KEY ((keyspace_name), table_name, column_name))",
    "CREATE TABLE system_schema.dropped_columns (keyspace_name text, table_name text, column_name text, dropped_time timestamp, kind text, type text, PRIMARY KEY ((keyspace_name), table_name, column_name))",
    "CREATE TABLE system_schema.triggers (keyspace_name text, table_name text, trigger_name text, options frozen<map<text, text>>, PRIMARY KEY ((keyspace_name), table_name, trigger_name))",
    "CREATE TABLE system_schema.views (keyspace_name text, view_name text, additional_write_policy text, base_table_id uuid, base_table_name text, bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean, comment text, compaction frozen<map<text, text>>, compression frozen<map<text, text>>, crc_check_chance double, default_time_to_live int, extensions frozen<map<text, blob>>, gc_grace_seconds int, id uuid, include_all_columns boolean, max_index_interval int, memtable_flush_period_in_ms int, min_index_interval int, read_repair text, speculative_retry text, where_clause text, PRIMARY KEY ((keyspace_name), view_name))",
    "CREATE TABLE system_schema.types (keyspace_name text, type_name text, field_names frozen<list<text>>, field_types frozen<list<text>>, PRIMARY KEY ((keyspace_name), type_name))",
    "CREATE TABLE system_schema.functions (keyspace_name text, function_name text, argument_types frozen<list<text>>, argument_names frozen<list<text>>, body text, called_on_null_input boolean, language text, return_type text, PRIMARY KEY ((keyspace_name), function_name, argument_types))",
    "CREATE TABLE system_schema.aggregates (keyspace_name text, aggregate_name text, argument_types frozen<list<text>>, final_func text, initcond text, return_type text, state_func text, state_type text, PRIMARY KEY ((keyspace_name), aggregate_name, argument_types))",
    "CREATE TABLE system_schema.indexes (keyspace_name text, table_name text, index_name text, kind text, options frozen<map<text, text>>, PRIMARY KEY ((keyspace_name), table_name, index_name))",
    "CREATE TABLE system.local (key text PRIMARY KEY, bootstrapped text, broadcast_address inet, broadcast_port int, cluster_name text, cql_version text, data_center text, gossip_generation int, host_id uuid, listen_address inet, listen_port int, native_protocol_version text, partitioner text, rack text, release_version text, rpc_address inet, rpc_port int, schema_version uuid, tokens set<text>, truncated_at map<uuid, blob>)",
    "CREATE TABLE system.peers (peer inet PRIMARY KEY, data_center text, host_id uuid, preferred_ip inet, rack text, release_version text, rpc_address inet, schema_version uuid, tokens set<text>)",
    "CREATE TABLE system.peers_v2 (peer inet, peer_port int, data_center text, host_id uuid, native_address inet, native_port int, preferred_ip inet, preferred_port int, rack text, release_version text, schema_version uuid, tokens set<text>, PRIMARY KEY ((peer), peer_port))",
];

/// True for the name of a built-in keyspace.
pub fn is_builtin(keyspace: &str) -> bool {
    KEYSPACES.iter().any(|(k, _)| *k == keyspace)
}

/// A version-3 (name-based, MD5) UUID of `bytes`, as Java's `UUID.nameUUIDFromBytes`.
pub fn name_uuid(bytes: &[u8]) -> u128 {
    let digest = Md5::digest(bytes);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest);
    b[6] = (b[6] & 0x0f) | 0x30;
    b[8] = (b[8] & 0x3f) | 0x80;
    u128::from_be_bytes(b)
}

/// The built-in keyspaces with their tables.
pub fn keyspaces() -> CqlResult<BTreeMap<String, Arc<KeyspaceMetadata>>> {
    let mut out: BTreeMap<String, KeyspaceMetadata> = KEYSPACES
        .iter()
        .map(|(name, repl)| (name.to_string(), ddl::empty_keyspace(name, repl)))
        .collect();
    for cql in TABLES {
        let Statement::CreateTable(ct) = parse_statement(cql)? else {
            return Err(CqlError::Server(format!(
                "built-in table is not a CREATE TABLE: {cql}"
            )));
        };
        let ks = ct.name.keyspace.clone().unwrap_or_default();
        let id = name_uuid(format!("{ks}{}", ct.name.name).as_bytes());
        let keyspace = out.get_mut(&ks).ok_or_else(|| {
            CqlError::Server(format!("built-in table in unknown keyspace: {cql}"))
        })?;
        let table = ddl::build_table(&ks, &BTreeMap::new(), &ct, id)?;
        keyspace.tables.insert(table.name.clone(), Arc::new(table));
    }
    Ok(out.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every built-in table definition parses and builds; ids are name-based v3 UUIDs.
    #[test]
    fn builtins_build() {
        let ks = keyspaces().unwrap();
        assert_eq!(ks.len(), 5);
        let tables = &ks["system_schema"].tables["tables"];
        assert_eq!(tables.partition_key().count(), 1);
        assert_eq!(tables.columns.len(), 20);
        assert_eq!((tables.id >> 76) & 0xf, 3);
        assert!(ks["system"].tables.contains_key("local"));
    }

    // Java's UUID.nameUUIDFromBytes("") is d41d8cd9-8f00-3204-a980-0998ecf8427e.
    #[test]
    fn name_uuid_matches_java() {
        assert_eq!(name_uuid(b""), 0xd41d8cd9_8f00_3204_a980_0998ecf8427e);
    }
}
