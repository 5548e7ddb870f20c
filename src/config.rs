//! Node configuration: the keys of `conf/sibyl.yaml` that exist so far, with
//! Cassandra's names and defaults, turned into the storage engine's config.
//!
//! The embedded `conf/sibyl.yaml` documents every key; parsing a user's file
//! (`--conf FILE`) and refusing unknown keys comes with the tools issue. Until then
//! the defaults below, equal to the embedded file's values, apply, and the common
//! keys are overridable by flags.

use std::path::PathBuf;
use std::time::Duration;

use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::StorageConfig;

/// The default configuration file, embedded in the binary.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../conf/sibyl.yaml");

/// Default data directory when none is given (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "data";

/// The storage-related settings of a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
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
            commitlog_dir: dir.join("commitlog"),
            data_dir: dir.join("data"),
            commitlog_sync: "periodic".into(),
            commitlog_sync_period_ms: 10_000,
            commitlog_sync_group_window_ms: 2,
        }
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
