//! Node configuration: the keys of `conf/sibyl.yaml` that exist so far, with
//! Cassandra's names and defaults, turned into the storage engine's config.
//!
//! The embedded `conf/sibyl.yaml` documents every key; parsing a user's file
//! (`--conf FILE`) and refusing unknown keys comes with the tools issue. Until then
//! the defaults below, equal to the embedded file's values, apply, and the common
//! keys are overridable by flags.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::StorageConfig;

/// The default configuration file, embedded in the binary.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../conf/sibyl.yaml");

/// Default data directory when none is given (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "data";

/// `native_transport_port`: Cassandra's CQL port.
pub const DEFAULT_NATIVE_PORT: u16 = 9042;

/// `rpc_address` and `listen_address` when none is given: loopback, like ccm's node 1.
pub const DEFAULT_RPC_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `native_transport_max_connections`: client connections served at once. Cassandra
/// has no limit by default; a bound keeps a connection storm from exhausting file
/// descriptors and memory (each connection buffers up to a frame). Further clients
/// wait in the listen backlog until a connection closes.
pub const DEFAULT_NATIVE_MAX_CONNECTIONS: usize = 1024;

/// `native_transport_max_frame_size` in bytes (Cassandra 4: 16 MiB).
pub const DEFAULT_NATIVE_MAX_FRAME_SIZE_BYTES: u32 = sibyl_cql::protocol::DEFAULT_MAX_BODY_LEN;

/// `num_tokens`: the tokens a node owns (Cassandra 4.0's default is 16).
pub const DEFAULT_NUM_TOKENS: usize = 16;

/// The settings of a node: storage, and the CQL native transport.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The node's root directory (`--data-dir`): holds `data/`, `commitlog/` and
    /// `system/` (the schema file and the node's identity).
    pub root_dir: PathBuf,
    /// `cluster_name`.
    pub cluster_name: String,
    /// `listen_address` (internode; reported in `system.local`).
    pub listen_address: IpAddr,
    /// `rpc_address`: where the CQL native transport listens.
    pub rpc_address: IpAddr,
    /// `native_transport_port`; 0 picks a free port (tests).
    pub native_transport_port: u16,
    /// `native_transport_max_connections`.
    pub native_transport_max_connections: usize,
    /// `native_transport_max_frame_size` (bytes of a frame body).
    pub native_transport_max_frame_size_bytes: u32,
    /// `num_tokens`.
    pub num_tokens: usize,
    /// `data_file_directories` (first entry).
    pub data_dir: PathBuf,
    /// `commitlog_directory`.
    pub commitlog_dir: PathBuf,
    /// `commitlog_sync`: periodic | group | batch.
    pub commitlog_sync: String,
    /// `commitlog_sync_period` in milliseconds (periodic).
    pub commitlog_sync_period_ms: u64,
    /// `commitlog_sync_group_window` in milliseconds (group).
    pub commitlog_sync_group_window_ms: u64,
}

impl NodeConfig {
    /// The defaults, with data under `dir`.
    pub fn with_data_dir(dir: impl Into<PathBuf>) -> NodeConfig {
        let dir = dir.into();
        NodeConfig {
            cluster_name: "Test Cluster".into(),
            listen_address: DEFAULT_RPC_ADDRESS,
            rpc_address: DEFAULT_RPC_ADDRESS,
            native_transport_port: DEFAULT_NATIVE_PORT,
            native_transport_max_connections: DEFAULT_NATIVE_MAX_CONNECTIONS,
            native_transport_max_frame_size_bytes: DEFAULT_NATIVE_MAX_FRAME_SIZE_BYTES,
            num_tokens: DEFAULT_NUM_TOKENS,
            root_dir: dir.clone(),
            commitlog_dir: dir.join("commitlog"),
            data_dir: dir.join("data"),
            commitlog_sync: "periodic".into(),
            commitlog_sync_period_ms: 10_000,
            commitlog_sync_group_window_ms: 2,
        }
    }

    /// Directory of the node's own files: `schema.db` and the identity (host id, tokens).
    pub fn system_dir(&self) -> PathBuf {
        self.root_dir.join("system")
    }

    /// The storage engine's configuration, or a message naming the bad key.
    pub fn storage_config(&self) -> Result<StorageConfig, String> {
        let mut c = StorageConfig::new(&self.data_dir);
        c.data_dir = self.data_dir.clone();
        c.commitlog_dir = self.commitlog_dir.clone();
        c.commitlog_sync = match self.commitlog_sync.as_str() {
            "periodic" => SyncMode::Periodic {
                period: Duration::from_millis(self.commitlog_sync_period_ms.max(1)),
            },
            "group" => SyncMode::Group {
                window: Duration::from_millis(self.commitlog_sync_group_window_ms.max(1)),
            },
            "batch" => SyncMode::Batch,
            other => {
                return Err(format!(
                    "commitlog_sync: expected periodic, group or batch, got {other:?}"
                ))
            }
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_embedded_yaml() {
        // Checks the values this build applies are the ones conf/sibyl.yaml documents.
        for line in [
            "commitlog_sync: periodic",
            "commitlog_sync_period: 10000ms",
            "commitlog_sync_group_window: 2ms",
            "commitlog_segment_size: 32MiB",
            "cluster_name: 'Test Cluster'",
        ] {
            assert!(DEFAULT_CONFIG_YAML.contains(line), "missing {line}");
        }
        let c = NodeConfig::with_data_dir("/tmp/x");
        assert!(c.storage_config().is_ok());
        let bad = NodeConfig {
            commitlog_sync: "sometimes".into(),
            ..c
        };
        assert!(bad.storage_config().unwrap_err().contains("commitlog_sync"));
    }
}
