//! SSTables: immutable sorted files of partitions, the LSM's on-disk levels.
//!
//! One sstable is a set of component files sharing a generation number
//! (`sb-<generation>-<Component>`), written once, never modified, deleted whole:
//!
//! - `Data.db`: the partitions in key order, as one logical byte stream cut into
//!   fixed-size chunks (`block_size`, default 16 KiB), each compressed on its own
//!   (zstd by default, lz4 or none per table) and stored with its length and a
//!   CRC32C that is checked on every read.
//! - `Index.db`: one entry per partition (its key, token, position and length in
//!   the stream, and for wide partitions a row index of ~16 KiB blocks with their
//!   first and last clustering, so one row of a huge partition reads one or two
//!   chunks); then the chunk offset table; then a sampled summary (every
//!   [`SUMMARY_INTERVAL`]th key) loaded in memory at open; a footer with section
//!   offsets and a CRC32C over the whole file, verified at open.
//! - `Filter.db`: the bloom filter over partition keys.
//! - `Statistics.db`: counts, timestamp/token/clustering bounds, tombstone drop
//!   times, the partition size histogram, and the commitlog position the sstable
//!   covers (replay starts after it).
//! - `TOC.txt`: the component list. It is written last; an sstable exists if and only
//!   if its TOC does. Components without a TOC are leftovers of an interrupted flush
//!   or compaction and are removed at open.
//!
//! Every binary component starts with the 8-byte header `b"SBYL"`, a component
//! byte, a format version byte and two reserved zero bytes. Files are written under
//! a `.tmp` name, fsynced, renamed, and the directory fsynced (the TOC last).
//! The full byte layout is in `docs/storage-format.md`.

pub mod bloom;
pub mod cache;
pub mod reader;
pub mod writer;

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::codec::{self, put_bytes, put_varint, put_zvarint, DecodeResult, Reader};
use crate::commitlog::CommitLogPosition;
use crate::error::{Error, Result};
use crate::token::{DecoratedKey, Token};

pub use reader::SSTableReader;
pub use writer::SSTableWriter;

/// Format version written by this build (in every component header).
pub const FORMAT_VERSION: u8 = 1;
/// Magic at the start of every binary component.
pub const MAGIC: &[u8; 4] = b"SBYL";
/// Length of the common component header.
pub const HEADER_LEN: usize = 8;
/// Default uncompressed chunk size: 16 KiB balances compression ratio against the
/// bytes a point read must decompress.
pub const DEFAULT_BLOCK_SIZE: usize = 16 * 1024;
/// Largest chunk size a table may choose (and a reader accepts).
pub const MAX_BLOCK_SIZE: usize = 1024 * 1024;
/// Partitions larger than this (serialized) get a row index, with one entry per
/// this many bytes of rows (Cassandra's `column_index_size`).
pub const COLUMN_INDEX_SIZE: usize = 16 * 1024;
/// One summary entry per this many index entries: the summary for 1 M partitions is
/// ~62 k keys in memory, and a lookup scans at most this many index entries.
pub const SUMMARY_INTERVAL: usize = 16;
/// zstd level: Cassandra's ZstdCompressor default.
pub const ZSTD_LEVEL: i32 = 3;
/// Buckets of the partition size histogram (log2 of bytes).
pub const SIZE_HISTOGRAM_BUCKETS: usize = 48;
/// Most tombstone drop-time bins kept in statistics (a streaming histogram: bins merge
/// beyond this), as Cassandra's `tombstone_histogram` max bin size of 100.
pub const MAX_DROP_TIME_BINS: usize = 100;

/// Component kinds; the byte is stored in each component's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Data = b'D' as isize,
    Index = b'I' as isize,
    Filter = b'F' as isize,
    Statistics = b'S' as isize,
}

impl Component {
    pub const ALL: [Component; 4] = [
        Component::Data,
        Component::Index,
        Component::Filter,
        Component::Statistics,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Data => "Data.db",
            Component::Index => "Index.db",
            Component::Filter => "Filter.db",
            Component::Statistics => "Statistics.db",
        }
    }
}

/// Chunk compression of a table's sstables (`compression = {'class': ...}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    None = 0,
    Lz4 = 1,
    #[default]
    Zstd = 2,
}

impl Compression {
    pub fn from_byte(b: u8) -> Option<Compression> {
        match b {
            0 => Some(Compression::None),
            1 => Some(Compression::Lz4),
            2 => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// Parses `none`, `lz4`, `zstd` (or Cassandra's class names).
    pub fn parse(s: &str) -> Option<Compression> {
        let s = s.to_ascii_lowercase();
        if s.is_empty() || s == "none" {
            Some(Compression::None)
        } else if s.contains("lz4") {
            Some(Compression::Lz4)
        } else if s.contains("zstd") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

/// Where an sstable lives and which generation it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub dir: PathBuf,
    pub generation: u64,
}

impl Descriptor {
    pub fn new(dir: impl Into<PathBuf>, generation: u64) -> Descriptor {
        Descriptor {
            dir: dir.into(),
            generation,
        }
    }

    /// Path of a component.
    pub fn path(&self, c: Component) -> PathBuf {
        self.dir
            .join(format!("sb-{}-{}", self.generation, c.name()))
    }

    /// Path of the TOC (the commit marker).
    pub fn toc_path(&self) -> PathBuf {
        self.dir.join(format!("sb-{}-TOC.txt", self.generation))
    }

    /// Temporary path a component is written under before its rename.
    pub fn tmp_path(&self, c: Component) -> PathBuf {
        self.dir
            .join(format!("sb-{}-{}.tmp", self.generation, c.name()))
    }

    /// All final paths (components and TOC).
    pub fn all_paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Component::ALL.iter().map(|c| self.path(*c)).collect();
        v.push(self.toc_path());
        v
    }

    /// Parses `sb-<gen>-...` file names.
    pub fn parse_generation(file_name: &str) -> Option<u64> {
        let rest = file_name.strip_prefix("sb-")?;
        let (gen, _) = rest.split_once('-')?;
        gen.parse().ok()
    }

    /// Deletes every component (missing ones are fine) and fsyncs the directory.
    pub fn delete(&self) -> Result<()> {
        // IMPORTANT: the TOC goes first, so a crash mid-delete leaves only orphans that
        // the next open removes, never a TOC pointing at missing components.
        let toc = self.toc_path();
        remove_if_exists(&toc)?;
        sync_dir(&self.dir)?;
        for c in Component::ALL {
            remove_if_exists(&self.path(c))?;
            remove_if_exists(&self.tmp_path(c))?;
        }
        sync_dir(&self.dir)
    }
}

fn remove_if_exists(p: &Path) -> Result<()> {
    match fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// fsyncs a directory so creates, renames and deletes in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    f.sync_all().map_err(|e| Error::io(dir, e))
}

/// Lists the complete sstables of a directory (those with a TOC), removing leftovers:
/// temporary files and components whose TOC is missing. Returns generations, sorted.
pub fn list_generations(dir: &Path) -> Result<Vec<u64>> {
    let mut with_toc = std::collections::BTreeSet::new();
    let mut files = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(g) = Descriptor::parse_generation(&name) {
            if name.ends_with("-TOC.txt") {
                with_toc.insert(g);
            }
            files.push((g, name));
        }
    }
    let mut removed = false;
    for (g, name) in files {
        if name.ends_with(".tmp") || !with_toc.contains(&g) {
            tracing::info!(file = %dir.join(&name).display(), "removing leftover of an unfinished sstable write");
            remove_if_exists(&dir.join(&name))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(with_toc.into_iter().collect())
}

/// Writes the common component header.
pub fn write_header(out: &mut Vec<u8>, c: Component) {
    out.extend_from_slice(MAGIC);
    out.push(c as u8);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&[0, 0]);
}

/// Checks the common component header.
pub fn check_header(bytes: &[u8], c: Component, path: &Path) -> Result<()> {
    let h = bytes
        .get(..HEADER_LEN)
        .ok_or_else(|| Error::corrupt(path, 0, "file shorter than its header"))?;
    if &h[..4] != MAGIC || h[4] != c as u8 {
        return Err(Error::corrupt(
            path,
            0,
            format!("not an sstable {} component", c.name()),
        ));
    }
    if h[5] != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            version: h[5] as u32,
        });
    }
    Ok(())
}

/// Statistics of one sstable (the `Statistics.db` component).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stats {
    pub partition_count: u64,
    pub row_count: u64,
    pub cell_count: u64,
    /// Tombstones of every kind (partition, range, row, cell) at write time.
    pub tombstone_count: u64,
    pub min_timestamp: i64,
    pub max_timestamp: i64,
    /// Largest local deletion/expiration time of any tombstone or expiring cell
    /// (i64::MAX if some data never expires): after it, everything is droppable.
    pub max_local_deletion_time: i64,
    pub first_key: Bytes,
    pub last_key: Bytes,
    pub min_token: i64,
    pub max_token: i64,
    pub min_clustering: Bytes,
    pub max_clustering: Bytes,
    /// (local deletion time, count): when tombstones become droppable.
    pub tombstone_drop_times: Vec<(i64, u64)>,
    /// Counts of partitions by `floor(log2(serialized bytes))`.
    pub partition_size_histogram: Vec<u64>,
    /// The commitlog position this sstable's data covers up to (memtable flushes).
    pub commitlog_upper: CommitLogPosition,
    /// Unix seconds at write.
    pub created_at: i64,
    /// Bytes of the uncompressed data stream.
    pub uncompressed_size: u64,
    /// Generations this sstable was compacted from (empty for a flush).
    pub ancestors: Vec<u64>,
}

impl Stats {
    /// Tombstones droppable at `gc_before` (local deletion time earlier than it) as a
    /// fraction of all cells and rows, as Cassandra's `getEstimatedDroppableTombstoneRatio`.
    pub fn droppable_tombstone_ratio(&self, gc_before: i64) -> f64 {
        let droppable: u64 = self
            .tombstone_drop_times
            .iter()
            .filter(|(t, _)| *t < gc_before)
            .map(|(_, n)| n)
            .sum();
        let total = (self.cell_count + self.row_count).max(1);
        droppable as f64 / total as f64
    }

    /// Adds one tombstone's drop time to the streaming histogram.
    pub fn add_drop_time(&mut self, t: i64) {
        match self
            .tombstone_drop_times
            .binary_search_by_key(&t, |(k, _)| *k)
        {
            Ok(i) => self.tombstone_drop_times[i].1 += 1,
            Err(i) => self.tombstone_drop_times.insert(i, (t, 1)),
        }
        if self.tombstone_drop_times.len() > MAX_DROP_TIME_BINS {
            // Merge the two closest bins into one at their weighted mean (Ben-Haim & Tom-Tov).
            let mut best = 0;
            let mut gap = i64::MAX;
            for i in 0..self.tombstone_drop_times.len() - 1 {
                let g = self.tombstone_drop_times[i + 1].0 - self.tombstone_drop_times[i].0;
                if g < gap {
                    gap = g;
                    best = i;
                }
            }
            let (t1, n1) = self.tombstone_drop_times[best];
            let (t2, n2) = self.tombstone_drop_times.remove(best + 1);
            let n = n1 + n2;
            let mean = ((t1 as i128 * n1 as i128 + t2 as i128 * n2 as i128) / n as i128) as i64;
            self.tombstone_drop_times[best] = (mean, n);
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.partition_count);
        put_varint(out, self.row_count);
        put_varint(out, self.cell_count);
        put_varint(out, self.tombstone_count);
        put_zvarint(out, self.min_timestamp);
        put_zvarint(out, self.max_timestamp);
        put_zvarint(out, self.max_local_deletion_time);
        put_bytes(out, &self.first_key);
        put_bytes(out, &self.last_key);
        put_zvarint(out, self.min_token);
        put_zvarint(out, self.max_token);
        put_bytes(out, &self.min_clustering);
        put_bytes(out, &self.max_clustering);
        put_varint(out, self.tombstone_drop_times.len() as u64);
        for (t, n) in &self.tombstone_drop_times {
            put_zvarint(out, *t);
            put_varint(out, *n);
        }
        put_varint(out, self.partition_size_histogram.len() as u64);
        for n in &self.partition_size_histogram {
            put_varint(out, *n);
        }
        put_varint(out, self.commitlog_upper.segment_id);
        put_varint(out, self.commitlog_upper.offset as u64);
        put_zvarint(out, self.created_at);
        put_varint(out, self.uncompressed_size);
        put_varint(out, self.ancestors.len() as u64);
        for a in &self.ancestors {
            put_varint(out, *a);
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> DecodeResult<Stats> {
        let mut s = Stats {
            partition_count: r.varint()?,
            row_count: r.varint()?,
            cell_count: r.varint()?,
            tombstone_count: r.varint()?,
            min_timestamp: r.zvarint()?,
            max_timestamp: r.zvarint()?,
            max_local_deletion_time: r.zvarint()?,
            first_key: Bytes::copy_from_slice(r.bytes()?),
            last_key: Bytes::copy_from_slice(r.bytes()?),
            min_token: r.zvarint()?,
            max_token: r.zvarint()?,
            min_clustering: Bytes::copy_from_slice(r.bytes()?),
            max_clustering: Bytes::copy_from_slice(r.bytes()?),
            ..Stats::default()
        };
        let n = r.count(MAX_DROP_TIME_BINS as u64 + 1)?;
        for _ in 0..n {
            s.tombstone_drop_times.push((r.zvarint()?, r.varint()?));
        }
        let n = r.count(SIZE_HISTOGRAM_BUCKETS as u64)?;
        for _ in 0..n {
            s.partition_size_histogram.push(r.varint()?);
        }
        s.commitlog_upper = CommitLogPosition {
            segment_id: r.varint()?,
            offset: r.count(u32::MAX as u64)? as u32,
        };
        s.created_at = r.zvarint()?;
        s.uncompressed_size = r.varint()?;
        let n = r.count(codec::MAX_DECODED_COUNT)?;
        for _ in 0..n {
            s.ancestors.push(r.varint()?);
        }
        Ok(s)
    }

    /// The token range this sstable covers.
    pub fn token_bounds(&self) -> (Token, Token) {
        (Token(self.min_token), Token(self.max_token))
    }

    /// Whether `key` falls within the sstable's first..last keys.
    pub fn may_cover(&self, key: &DecoratedKey) -> bool {
        let first = DecoratedKey {
            token: Token(self.min_token),
            key: self.first_key.clone(),
        };
        let last = DecoratedKey {
            token: Token(self.max_token),
            key: self.last_key.clone(),
        };
        *key >= first && *key <= last
    }
}
