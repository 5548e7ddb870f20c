//! Helpers shared by the storage integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::{Cell, DecoratedKey, LivenessInfo, Mutation, Row, StorageConfig, TableId};

pub const T: TableId = TableId(0x5eed_0000_0000_0000_0000_0000_0000_0001);

/// A config for tests: background threads off, small segments.
pub fn config(dir: &std::path::Path, sync: SyncMode) -> StorageConfig {
    let mut c = StorageConfig::new(dir);
    c.commitlog_sync = sync;
    c.commitlog_segment_size = 1024 * 1024;
    c.background = false;
    c.file_cache_size = 4 * 1024 * 1024;
    c.compaction_throughput = 0;
    c
}

pub fn key(k: &str) -> DecoratedKey {
    DecoratedKey::new(Bytes::copy_from_slice(k.as_bytes()))
}

/// A mutation inserting one row `(k, c) -> v` at timestamp `ts` (with a row marker).
pub fn insert(k: &str, c: &[u8], v: &[u8], ts: i64) -> Mutation {
    let mut m = Mutation::new(T, key(k));
    let mut r = Row::new(Bytes::copy_from_slice(c));
    r.liveness = LivenessInfo::new(ts, 0, 0);
    r.add_cell(Cell::live(1, ts, Bytes::copy_from_slice(v)));
    m.update.add_row(r);
    m
}

/// Wall-clock seconds.
pub fn now() -> i64 {
    sibyl_storage::table::now_seconds()
}
