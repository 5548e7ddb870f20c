//! Sibyl's storage engine: CommitLog → Memtable → SSTables → Compaction.
//!
//! This crate stores partitions of cells for the node; it knows nothing of CQL
//! text, types or the network. Its vocabulary ([`model`], [`token`]) is bytes and
//! integers: tokens, decorated keys, byte-comparable clusterings, cells, rows,
//! partitions and mutations, reconciled by Cassandra's rules.
//!
//! A write ([`Table::apply`]) is encoded once ([`codec`]), appended to the
//! [`commitlog`] and inserted into the table's [`memtable`]. Full memtables are
//! flushed to immutable, checksummed, compressed [`sstable`]s on a background
//! thread; [`compaction`] merges sstables and purges tombstones after gc grace.
//! Reads ([`read`]) merge memtables and sstables newest first.
//!
//! ## Durability promise
//! A write is acknowledged when [`Table::apply`] returns `Ok`:
//! - `commitlog_sync: batch` — its commitlog record has been fsynced (msync of the
//!   mapped segment) before `apply` returns; concurrent writers share one fsync.
//!   An acknowledged write survives a process kill and a power loss.
//! - `group` — as batch, but syncs happen at most every `window` (2 ms), so a write
//!   waits up to the window for its fsync. Same survival as batch.
//! - `periodic` (default) — `apply` returns once the record is in the mapped segment
//!   (the kernel's page cache): it survives a process crash or `kill -9`, but a power
//!   loss or kernel crash can lose up to `commitlog_sync_period` (10 s) of writes.
//!
//! sstables are fsynced and renamed into place (TOC last, directory fsynced) before
//! the commitlog segments they cover may be deleted. Every chunk, index, filter and
//! statistics file carries a CRC32C verified on read; a mismatch is an error naming
//! the file and offset, never data. A failed fsync poisons the commitlog: the store
//! refuses further writes until restarted ("fsyncgate").
//!
//! Formats are documented in `docs/storage-format.md` and beside the code that
//! writes them.
#![deny(clippy::unwrap_used)]

pub mod codec;
pub mod commitlog;
pub mod compaction;
pub mod dump;
pub mod engine;
pub mod error;
pub mod memtable;
pub mod metrics;
pub mod model;
pub mod read;
pub mod sstable;
pub mod table;
pub mod token;

pub use engine::{Storage, StorageConfig};
pub use error::{Error, Result};
pub use model::*;
pub use read::ReadCommand;
pub use table::{Table, TableOptions, TableStats};
pub use token::{DecoratedKey, Token};
