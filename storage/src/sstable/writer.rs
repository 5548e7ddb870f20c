//! SSTableWriter: streams partitions in key order into a new sstable.
//!
//! Partitions are serialized into the uncompressed data stream; every
//! `block_size` bytes of stream become one compressed chunk with its CRC32C. The
//! index entry of each partition is appended to `Index.db` as it is written, the
//! bloom filter and statistics are built alongside, and [`SSTableWriter::finish`]
//! writes the remaining components and commits the sstable by renaming its TOC
//! into place last. [`SSTableWriter::abort`] (or dropping an unfinished writer)
//! removes the temporary files.
//!
//! Stream layout of a partition:
//! ```text
//! [key_len: u16 BE][key][partition_hdr]        <- header_len bytes
//! ([0x01][clustering_len: varint][clustering][row_body])*
//! [0x00]
//! ```
//! Index entry:
//! ```text
//! [token: i64 LE][key_len: u16 BE][key][stream_offset: varint][partition_len: varint]
//! [header_len: varint][row_index_len: varint][row_index]
//! row_index := [count: u32 LE][entry_offset: u32 LE × count]
//!              ([first: bytes][last: bytes][offset_in_partition: varint][len: varint])*
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};

use bytes::Bytes;

use super::bloom::BloomFilter;
use super::{
    sync_dir, write_header, Component, Compression, Descriptor, Stats, COLUMN_INDEX_SIZE,
    SIZE_HISTOGRAM_BUCKETS, SUMMARY_INTERVAL, ZSTD_LEVEL,
};
use crate::codec::{self, put_bytes, put_varint};
use crate::commitlog::CommitLogPosition;
use crate::error::{Error, Result};
use crate::model::{CellValue, PartitionUpdate, Row, NO_TIMESTAMP};
use crate::token::{murmur3_x64_128_cassandra, DecoratedKey};

/// Buffer size of the component writers.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// How a table's sstables are written.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    pub compression: Compression,
    pub block_size: usize,
    pub bloom_filter_fp_chance: f64,
    /// Expected partition count (sizes the bloom filter).
    pub expected_partitions: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compression: Compression::Zstd,
            block_size: super::DEFAULT_BLOCK_SIZE,
            bloom_filter_fp_chance: 0.01,
            expected_partitions: 1024,
        }
    }
}

struct Component_ {
    out: BufWriter<File>,
    pos: u64,
    crc: u32,
}

impl Component_ {
    fn create(desc: &Descriptor, c: Component) -> Result<Component_> {
        let path = desc.tmp_path(c);
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut w = Component_ {
            out: BufWriter::with_capacity(WRITE_BUFFER_BYTES, f),
            pos: 0,
            crc: 0,
        };
        let mut h = Vec::with_capacity(super::HEADER_LEN);
        write_header(&mut h, c);
        w.write(&h, desc, c)?;
        Ok(w)
    }

    fn write(&mut self, b: &[u8], desc: &Descriptor, c: Component) -> Result<()> {
        self.out
            .write_all(b)
            .map_err(|e| Error::io(desc.tmp_path(c), e))?;
        self.crc = crc32c::crc32c_append(self.crc, b);
        self.pos += b.len() as u64;
        Ok(())
    }

    fn finish(self, desc: &Descriptor, c: Component) -> Result<()> {
        let path = desc.tmp_path(c);
        let f = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        // IMPORTANT: data reaches the disk before the rename makes it visible.
        f.sync_all().map_err(|e| Error::io(&path, e))
    }
}

/// Writes one sstable. See the module documentation.
pub struct SSTableWriter {
    desc: Descriptor,
    opts: WriterOptions,
    data: Option<Component_>,
    index: Option<Component_>,
    chunk: Vec<u8>,
    compressed: Vec<u8>,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    stream_pos: u64,
    chunk_offsets: Vec<u64>,
    summary: Vec<u8>,
    summary_count: u64,
    entry_count: u64,
    bloom: BloomFilter,
    stats: Stats,
    last_key: Option<DecoratedKey>,
    part: Vec<u8>,
    entry: Vec<u8>,
    finished: bool,
}

impl SSTableWriter {
    /// Starts writing sstable `desc` (its directory must exist).
    pub fn create(desc: Descriptor, opts: WriterOptions) -> Result<SSTableWriter> {
        if opts.block_size == 0 || opts.block_size > super::MAX_BLOCK_SIZE {
            return Err(Error::InvalidArgument(format!(
                "chunk size {} out of range 1..={}",
                opts.block_size,
                super::MAX_BLOCK_SIZE
            )));
        }
        let data = Component_::create(&desc, Component::Data)?;
        let index = Component_::create(&desc, Component::Index)?;
        let zstd = if opts.compression == Compression::Zstd {
            Some(
                zstd::bulk::Compressor::new(ZSTD_LEVEL)
                    .map_err(|e| Error::io(desc.tmp_path(Component::Data), e))?,
            )
        } else {
            None
        };
        let mut w = SSTableWriter {
            bloom: BloomFilter::new(opts.expected_partitions, opts.bloom_filter_fp_chance),
            chunk: Vec::with_capacity(opts.block_size),
            desc,
            data: Some(data),
            index: Some(index),
            compressed: Vec::new(),
            zstd,
            stream_pos: 0,
            chunk_offsets: Vec::new(),
            summary: Vec::new(),
            summary_count: 0,
            entry_count: 0,
            stats: Stats {
                min_timestamp: i64::MAX,
                max_timestamp: i64::MIN,
                max_local_deletion_time: i64::MIN,
                partition_size_histogram: vec![0; SIZE_HISTOGRAM_BUCKETS],
                ..Stats::default()
            },
            last_key: None,
            part: Vec::new(),
            entry: Vec::new(),
            finished: false,
            opts,
        };
        // The data header is part of the file, not of the stream.
        w.data_header()?;
        Ok(w)
    }

    fn data_header(&mut self) -> Result<()> {
        let mut h = vec![self.opts.compression as u8];
        h.extend_from_slice(&(self.opts.block_size as u32).to_le_bytes());
        let desc = self.desc.clone();
        if let Some(d) = self.data.as_mut() {
            d.write(&h, &desc, Component::Data)?;
        }
        Ok(())
    }

    /// The sstable being written.
    pub fn descriptor(&self) -> &Descriptor {
        &self.desc
    }

    /// Bytes of uncompressed stream written so far.
    pub fn stream_len(&self) -> u64 {
        self.stream_pos + self.chunk.len() as u64
    }

    /// Partitions appended so far.
    pub fn partition_count(&self) -> u64 {
        self.entry_count
    }

    /// Appends a partition. Keys must be strictly increasing.
    pub fn append(&mut self, key: &DecoratedKey, p: &PartitionUpdate) -> Result<()> {
        if let Some(last) = &self.last_key {
            if key <= last {
                return Err(Error::InvalidArgument(format!(
                    "sstable {}: partition {key:?} appended after {last:?}",
                    self.desc.generation
                )));
            }
        }
        if key.key.len() > u16::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "partition key of {} bytes exceeds the 65535-byte limit",
                key.key.len()
            )));
        }
        self.collect_stats(key, p);
        let start = self.stream_len();
        // Serialize the partition, recording row-index blocks as we go.
        let mut part = std::mem::take(&mut self.part);
        part.clear();
        part.extend_from_slice(&(key.key.len() as u16).to_be_bytes());
        part.extend_from_slice(&key.key);
        codec::encode_partition_header(
            &mut part,
            &p.deletion,
            &p.range_tombstones,
            p.static_row.as_ref(),
        );
        let header_len = part.len();
        let mut blocks: Vec<(Bytes, Bytes, usize, usize)> = Vec::new();
        let mut block_start = part.len();
        let mut block_first: Option<&Bytes> = None;
        for (i, row) in p.rows.iter().enumerate() {
            if block_first.is_none() {
                block_first = Some(&row.clustering);
                block_start = part.len();
            }
            part.push(1);
            put_bytes(&mut part, &row.clustering);
            codec::encode_row_body(&mut part, row);
            let last_row = i + 1 == p.rows.len();
            if part.len() - block_start >= COLUMN_INDEX_SIZE || last_row {
                if let Some(first) = block_first.take() {
                    blocks.push((
                        first.clone(),
                        row.clustering.clone(),
                        block_start,
                        part.len() - block_start,
                    ));
                }
            }
        }
        part.push(0);
        let partition_len = part.len();
        self.write_stream(&part)?;
        self.part = part;

        // Index entry.
        let mut e = std::mem::take(&mut self.entry);
        e.clear();
        e.extend_from_slice(&key.token.0.to_le_bytes());
        e.extend_from_slice(&(key.key.len() as u16).to_be_bytes());
        e.extend_from_slice(&key.key);
        put_varint(&mut e, start);
        put_varint(&mut e, partition_len as u64);
        put_varint(&mut e, header_len as u64);
        if partition_len > COLUMN_INDEX_SIZE && blocks.len() > 1 {
            let mut ri = Vec::new();
            let mut offsets = Vec::with_capacity(blocks.len());
            for (first, last, off, len) in &blocks {
                offsets.push(ri.len() as u32);
                put_bytes(&mut ri, first);
                put_bytes(&mut ri, last);
                put_varint(&mut ri, *off as u64);
                put_varint(&mut ri, *len as u64);
            }
            let mut whole = Vec::with_capacity(4 + offsets.len() * 4 + ri.len());
            whole.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
            for o in offsets {
                whole.extend_from_slice(&o.to_le_bytes());
            }
            whole.extend_from_slice(&ri);
            put_bytes(&mut e, &whole);
        } else {
            put_varint(&mut e, 0);
        }
        let index_offset = self.index.as_ref().map_or(0, |i| i.pos);
        if self.entry_count.is_multiple_of(SUMMARY_INTERVAL as u64) {
            self.summary.extend_from_slice(&key.token.0.to_le_bytes());
            self.summary
                .extend_from_slice(&(key.key.len() as u16).to_be_bytes());
            self.summary.extend_from_slice(&key.key);
            self.summary.extend_from_slice(&index_offset.to_le_bytes());
            self.summary_count += 1;
        }
        let desc = self.desc.clone();
        if let Some(i) = self.index.as_mut() {
            i.write(&e, &desc, Component::Index)?;
        }
        self.entry = e;
        self.entry_count += 1;
        self.bloom.add(murmur3_x64_128_cassandra(&key.key));
        let bucket = (usize::BITS - partition_len.leading_zeros()) as usize;
        if let Some(b) = self
            .stats
            .partition_size_histogram
            .get_mut(bucket.min(SIZE_HISTOGRAM_BUCKETS - 1))
        {
            *b += 1;
        }
        self.last_key = Some(key.clone());
        Ok(())
    }

    fn collect_stats(&mut self, key: &DecoratedKey, p: &PartitionUpdate) {
        let s = &mut self.stats;
        if s.partition_count == 0 {
            s.first_key = key.key.clone();
            s.min_token = key.token.0;
        }
        s.last_key = key.key.clone();
        s.max_token = key.token.0;
        s.partition_count += 1;
        s.row_count += p.rows.len() as u64;
        let see_ts = |s: &mut Stats, t: i64| {
            if t != NO_TIMESTAMP {
                s.min_timestamp = s.min_timestamp.min(t);
                s.max_timestamp = s.max_timestamp.max(t);
            }
        };
        if !p.deletion.is_live() {
            see_ts(s, p.deletion.marked_for_delete_at);
            s.tombstone_count += 1;
            s.add_drop_time(p.deletion.local_deletion_time);
            s.max_local_deletion_time = s
                .max_local_deletion_time
                .max(p.deletion.local_deletion_time);
        }
        for rt in &p.range_tombstones {
            see_ts(s, rt.deletion.marked_for_delete_at);
            s.tombstone_count += 1;
            s.add_drop_time(rt.deletion.local_deletion_time);
            s.max_local_deletion_time = s
                .max_local_deletion_time
                .max(rt.deletion.local_deletion_time);
        }
        let rows: Vec<&Row> = p.static_row.iter().chain(p.rows.iter()).collect();
        for r in rows {
            if !r.clustering.is_empty() {
                if s.min_clustering.is_empty() || r.clustering < s.min_clustering {
                    s.min_clustering = r.clustering.clone();
                }
                if r.clustering > s.max_clustering {
                    s.max_clustering = r.clustering.clone();
                }
            }
            if !r.liveness.is_empty() {
                see_ts(s, r.liveness.timestamp);
                let ldt = if r.liveness.ttl > 0 {
                    r.liveness.expires_at
                } else {
                    i64::MAX
                };
                s.max_local_deletion_time = s.max_local_deletion_time.max(ldt);
            }
            if !r.deletion.is_live() {
                see_ts(s, r.deletion.marked_for_delete_at);
                s.tombstone_count += 1;
                s.add_drop_time(r.deletion.local_deletion_time);
                s.max_local_deletion_time = s
                    .max_local_deletion_time
                    .max(r.deletion.local_deletion_time);
            }
            for c in &r.cells {
                see_ts(s, c.timestamp);
                s.cell_count += 1;
                let ldt = match c.value {
                    CellValue::Live(_) => i64::MAX,
                    CellValue::Expiring { expires_at, .. } => {
                        s.add_drop_time(expires_at);
                        expires_at
                    }
                    CellValue::Tombstone { deleted_at } => {
                        s.tombstone_count += 1;
                        s.add_drop_time(deleted_at);
                        deleted_at
                    }
                };
                s.max_local_deletion_time = s.max_local_deletion_time.max(ldt);
            }
        }
    }

    fn write_stream(&mut self, mut b: &[u8]) -> Result<()> {
        while !b.is_empty() {
            let room = self.opts.block_size - self.chunk.len();
            let n = room.min(b.len());
            self.chunk.extend_from_slice(&b[..n]);
            b = &b[n..];
            if self.chunk.len() == self.opts.block_size {
                self.flush_chunk()?;
            }
        }
        Ok(())
    }

    fn flush_chunk(&mut self) -> Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let path = self.desc.tmp_path(Component::Data);
        let payload: &[u8] = match self.opts.compression {
            Compression::None => &self.chunk,
            Compression::Lz4 => {
                self.compressed = lz4_flex::block::compress(&self.chunk);
                &self.compressed
            }
            Compression::Zstd => {
                let z = self
                    .zstd
                    .as_mut()
                    .ok_or_else(|| Error::InvalidArgument("zstd compressor missing".into()))?;
                self.compressed = z.compress(&self.chunk).map_err(|e| Error::io(&path, e))?;
                &self.compressed
            }
        };
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        head[4..].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        let desc = self.desc.clone();
        let data = self
            .data
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("sstable writer already finished".into()))?;
        self.chunk_offsets.push(data.pos);
        data.write(&head, &desc, Component::Data)?;
        data.write(payload, &desc, Component::Data)?;
        self.stream_pos += self.chunk.len() as u64;
        self.chunk.clear();
        Ok(())
    }

    /// Writes the remaining components and commits the sstable (TOC last).
    /// `commitlog_upper` is the commitlog position the data covers (flushes).
    pub fn finish(
        mut self,
        commitlog_upper: CommitLogPosition,
        ancestors: Vec<u64>,
        now: i64,
    ) -> Result<(Descriptor, Stats)> {
        self.flush_chunk()?;
        let desc = self.desc.clone();
        let data = self
            .data
            .take()
            .ok_or_else(|| Error::InvalidArgument("sstable writer already finished".into()))?;
        data.finish(&desc, Component::Data)?;

        // Index: entries were streamed; now chunk offsets, summary and footer.
        let mut index = self
            .index
            .take()
            .ok_or_else(|| Error::InvalidArgument("sstable writer already finished".into()))?;
        let entries_start = super::HEADER_LEN as u64;
        let entries_len = index.pos - entries_start;
        let chunks_start = index.pos;
        let mut buf = Vec::with_capacity(self.chunk_offsets.len() * 8);
        for o in &self.chunk_offsets {
            buf.extend_from_slice(&o.to_le_bytes());
        }
        index.write(&buf, &desc, Component::Index)?;
        let summary_start = index.pos;
        let summary = std::mem::take(&mut self.summary);
        index.write(&summary, &desc, Component::Index)?;
        let mut footer = Vec::with_capacity(reader::FOOTER_LEN);
        for v in [
            entries_start,
            entries_len,
            chunks_start,
            self.chunk_offsets.len() as u64,
            summary_start,
            self.summary_count,
            self.stream_pos,
        ] {
            footer.extend_from_slice(&v.to_le_bytes());
        }
        footer.extend_from_slice(&index.crc.to_le_bytes());
        let fcrc = crc32c::crc32c(&footer);
        footer.extend_from_slice(&fcrc.to_le_bytes());
        index.write(&footer, &desc, Component::Index)?;
        index.finish(&desc, Component::Index)?;

        // Filter.
        let mut f = Vec::with_capacity(super::HEADER_LEN + self.bloom.encoded_len() + 4);
        write_header(&mut f, Component::Filter);
        self.bloom.encode(&mut f);
        let crc = crc32c::crc32c(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        write_file(&desc.tmp_path(Component::Filter), &f)?;

        // Statistics.
        let mut stats = std::mem::take(&mut self.stats);
        if stats.partition_count == 0 {
            stats.min_timestamp = 0;
            stats.max_timestamp = 0;
        }
        stats.commitlog_upper = commitlog_upper;
        stats.created_at = now;
        stats.uncompressed_size = self.stream_pos;
        stats.ancestors = ancestors;
        let mut s = Vec::new();
        write_header(&mut s, Component::Statistics);
        stats.encode(&mut s);
        let crc = crc32c::crc32c(&s);
        s.extend_from_slice(&crc.to_le_bytes());
        write_file(&desc.tmp_path(Component::Statistics), &s)?;

        for c in Component::ALL {
            let (from, to) = (desc.tmp_path(c), desc.path(c));
            fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
        }
        sync_dir(&desc.dir)?;
        // IMPORTANT: the TOC is the commit point; it is renamed into place only after every
        // component is durable under its final name.
        let toc_tmp = desc.dir.join(format!("sb-{}-TOC.txt.tmp", desc.generation));
        let mut toc = format!("sibyl-sstable-format {}\n", super::FORMAT_VERSION);
        for c in Component::ALL {
            toc.push_str(c.name());
            toc.push('\n');
        }
        write_file(&toc_tmp, toc.as_bytes())?;
        fs::rename(&toc_tmp, desc.toc_path()).map_err(|e| Error::io(desc.toc_path(), e))?;
        sync_dir(&desc.dir)?;
        self.finished = true;
        Ok((desc, stats))
    }

    /// Abandons the write and removes temporary files.
    pub fn abort(mut self) {
        self.cleanup();
    }

    fn cleanup(&mut self) {
        self.data = None;
        self.index = None;
        for c in Component::ALL {
            let _ = fs::remove_file(self.desc.tmp_path(c));
        }
    }
}

impl Drop for SSTableWriter {
    fn drop(&mut self) {
        if !self.finished {
            self.cleanup();
        }
    }
}

/// Writes a whole small file and fsyncs it.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

use super::reader;
