//! SSTableReader: an open, verified, memory-mapped sstable.
//!
//! Opening checks every component's header, the CRC of `Index.db` (whole file),
//! `Filter.db` and `Statistics.db`, and loads the summary and the bloom filter.
//! Data chunks are verified lazily: each chunk's CRC32C is checked every time it is
//! read from the file (then the decompressed chunk may be served from the
//! [`ChunkCache`]). A mismatch is an [`Error::ChecksumMismatch`] naming the file and
//! the chunk's offset; bad bytes are never returned as data.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering as AtOrd};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::Mmap;

use super::bloom::BloomFilter;
use super::cache::ChunkCache;
use super::{check_header, Component, Compression, Descriptor, Stats, HEADER_LEN, MAX_BLOCK_SIZE};
use crate::codec::{self, DecodeError, Reader};
use crate::error::{Error, Result};
use crate::model::{ClusteringSlice, PartitionUpdate, Row};
use crate::token::{DecoratedKey, Token};

/// Size of the `Index.db` footer: seven u64 and two u32.
pub const FOOTER_LEN: usize = 7 * 8 + 4 + 4;
/// Offset of the first chunk in `Data.db`: header, compression byte, block size.
const DATA_CHUNKS_START: u64 = HEADER_LEN as u64 + 1 + 4;

static NEXT_UID: AtomicU64 = AtomicU64::new(1);

/// Counters shared by a table's readers (for nodetool tablestats and tests).
#[derive(Default, Debug)]
pub struct ReadMetrics {
    /// Chunks accessed (cache hits and file reads).
    pub blocks_read: AtomicU64,
    /// Chunks read from the file and decompressed.
    pub blocks_decompressed: AtomicU64,
    /// Bloom filter said "maybe" but the key was absent.
    pub bloom_false_positives: AtomicU64,
    /// Bloom filter said "maybe" and the key was present.
    pub bloom_true_positives: AtomicU64,
}

/// One partition's index entry.
#[derive(Clone, Debug)]
pub struct IndexEntry<'a> {
    pub key: DecoratedKey,
    pub offset: u64,
    pub len: u64,
    pub header_len: u64,
    pub row_index: &'a [u8],
}

/// An open sstable.
pub struct SSTableReader {
    pub desc: Descriptor,
    uid: u64,
    data: Mmap,
    index: Mmap,
    data_path: PathBuf,
    index_path: PathBuf,
    entries: (usize, usize),
    chunks_at: usize,
    chunk_count: usize,
    stream_len: u64,
    summary: Vec<(DecoratedKey, u64)>,
    bloom: BloomFilter,
    stats: Stats,
    compression: Compression,
    block_size: usize,
    bytes_on_disk: u64,
    cache: Arc<ChunkCache>,
    metrics: Arc<ReadMetrics>,
}

fn map(path: &PathBuf) -> Result<(Mmap, u64)> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    // SAFETY: sstable files are immutable once their TOC exists; nothing writes them
    // while mapped. A file truncated underneath us by another process is outside our
    // model (as with any mmap-based store).
    let m = unsafe { Mmap::map(&f) }.map_err(|e| Error::io(path, e))?;
    Ok((m, len))
}

fn decode_err(path: &PathBuf, base: usize, e: DecodeError) -> Error {
    Error::corrupt(path, (base + e.offset) as u64, e.reason)
}

fn small_component(desc: &Descriptor, c: Component) -> Result<(Vec<u8>, PathBuf)> {
    let path = desc.path(c);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    check_header(&bytes, c, &path)?;
    if bytes.len() < HEADER_LEN + 4 {
        return Err(Error::corrupt(&path, 0, "file too short"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let got = crc32c::crc32c(body);
    if got != expected {
        return Err(Error::ChecksumMismatch {
            path,
            offset: 0,
            expected,
            got,
        });
    }
    Ok((body.to_vec(), path))
}

impl SSTableReader {
    /// Opens and verifies an sstable.
    pub fn open(
        desc: Descriptor,
        cache: Arc<ChunkCache>,
        metrics: Arc<ReadMetrics>,
    ) -> Result<SSTableReader> {
        let (sbytes, spath) = small_component(&desc, Component::Statistics)?;
        let stats = Stats::decode(&mut Reader::new(&sbytes[HEADER_LEN..]))
            .map_err(|e| decode_err(&spath, HEADER_LEN, e))?;
        let (fbytes, fpath) = small_component(&desc, Component::Filter)?;
        let bloom = BloomFilter::decode(&mut Reader::new(&fbytes[HEADER_LEN..]))
            .map_err(|e| decode_err(&fpath, HEADER_LEN, e))?;

        let index_path = desc.path(Component::Index);
        let (index, ilen) = map(&index_path)?;
        check_header(&index, Component::Index, &index_path)?;
        if (ilen as usize) < HEADER_LEN + FOOTER_LEN {
            return Err(Error::corrupt(
                &index_path,
                0,
                "index shorter than its footer",
            ));
        }
        let fstart = ilen as usize - FOOTER_LEN;
        let footer = &index[fstart..];
        let fcrc_expected = u32::from_le_bytes([footer[60], footer[61], footer[62], footer[63]]);
        let fcrc = crc32c::crc32c(&footer[..60]);
        if fcrc != fcrc_expected {
            return Err(Error::ChecksumMismatch {
                path: index_path,
                offset: fstart as u64,
                expected: fcrc_expected,
                got: fcrc,
            });
        }
        let mut fr = Reader::new(footer);
        let mut next = || fr.u64_le().unwrap_or(0);
        let (es, el, cs, cc, ss, sc, stream_len) =
            (next(), next(), next(), next(), next(), next(), next());
        let body_crc_expected =
            u32::from_le_bytes([footer[56], footer[57], footer[58], footer[59]]);
        let body_crc = crc32c::crc32c(&index[..fstart]);
        if body_crc != body_crc_expected {
            return Err(Error::ChecksumMismatch {
                path: index_path,
                offset: 0,
                expected: body_crc_expected,
                got: body_crc,
            });
        }
        let bad =
            |what: &str| Error::corrupt(&index_path, fstart as u64, format!("footer: {what}"));
        let entries_end = es.checked_add(el).ok_or_else(|| bad("entries overflow"))?;
        if es != HEADER_LEN as u64
            || entries_end != cs
            || cs.checked_add(cc.saturating_mul(8)) != Some(ss)
            || ss > fstart as u64
        {
            return Err(bad("section offsets inconsistent"));
        }
        let mut summary = Vec::with_capacity(sc.min(1 << 24) as usize);
        let mut r = Reader::new(&index[ss as usize..fstart]);
        for _ in 0..sc {
            let token =
                r.u64_le()
                    .map_err(|e| decode_err(&index_path, ss as usize, e))? as i64;
            let klen =
                r.u16_be()
                    .map_err(|e| decode_err(&index_path, ss as usize, e))? as usize;
            let key = r
                .take(klen)
                .map_err(|e| decode_err(&index_path, ss as usize, e))?;
            let off = r
                .u64_le()
                .map_err(|e| decode_err(&index_path, ss as usize, e))?;
            if off < es || off >= entries_end {
                return Err(bad("summary points outside the entries"));
            }
            summary.push((
                DecoratedKey {
                    token: Token(token),
                    key: Bytes::copy_from_slice(key),
                },
                off,
            ));
        }

        let data_path = desc.path(Component::Data);
        let (data, dlen) = map(&data_path)?;
        check_header(&data, Component::Data, &data_path)?;
        let mut dr = Reader::new(data.get(HEADER_LEN..).unwrap_or(&[]));
        let comp = dr.u8().map_err(|e| decode_err(&data_path, HEADER_LEN, e))?;
        let compression = Compression::from_byte(comp)
            .ok_or_else(|| Error::corrupt(&data_path, HEADER_LEN as u64, "unknown compression"))?;
        let block_size = dr
            .u32_le()
            .map_err(|e| decode_err(&data_path, HEADER_LEN, e))? as usize;
        if block_size == 0 || block_size > MAX_BLOCK_SIZE {
            return Err(Error::corrupt(
                &data_path,
                HEADER_LEN as u64 + 1,
                "chunk size out of range",
            ));
        }
        if (cc as u128) * (block_size as u128) < stream_len as u128 || cc > dlen {
            return Err(bad("chunk count does not cover the data stream"));
        }
        Ok(SSTableReader {
            uid: NEXT_UID.fetch_add(1, AtOrd::Relaxed),
            bytes_on_disk: dlen + ilen + fbytes.len() as u64 + sbytes.len() as u64,
            desc,
            data,
            index,
            data_path,
            index_path,
            entries: (es as usize, entries_end as usize),
            chunks_at: cs as usize,
            chunk_count: cc as usize,
            stream_len,
            summary,
            bloom,
            stats,
            compression,
            block_size,
            cache,
            metrics,
        })
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn generation(&self) -> u64 {
        self.desc.generation
    }

    /// Total bytes of the sstable's components.
    pub fn bytes_on_disk(&self) -> u64 {
        self.bytes_on_disk
    }

    /// Size of the data file (what compaction strategies bucket by).
    pub fn data_size(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn data_path(&self) -> &PathBuf {
        &self.data_path
    }

    /// Whether the bloom filter admits the key (hash from `murmur3_x64_128_cassandra`).
    pub fn may_contain(&self, key: &DecoratedKey, hash: (u64, u64)) -> bool {
        self.stats.may_cover(key) && self.bloom.may_contain(hash)
    }

    fn chunk_offset(&self, i: usize) -> Result<u64> {
        let at = self.chunks_at + i * 8;
        let b = self
            .index
            .get(at..at + 8)
            .ok_or_else(|| Error::corrupt(&self.index_path, at as u64, "chunk offset missing"))?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// The decompressed chunk `i`, verified.
    fn chunk(&self, i: usize, use_cache: bool) -> Result<Arc<[u8]>> {
        self.metrics.blocks_read.fetch_add(1, AtOrd::Relaxed);
        if use_cache {
            if let Some(c) = self.cache.get(self.uid, i as u32) {
                return Ok(c);
            }
        }
        if i >= self.chunk_count {
            return Err(Error::corrupt(
                &self.data_path,
                0,
                format!("chunk {i} past the end"),
            ));
        }
        let off = self.chunk_offset(i)?;
        if off < DATA_CHUNKS_START {
            return Err(Error::corrupt(
                &self.index_path,
                self.chunks_at as u64,
                "chunk offset inside the header",
            ));
        }
        let head = self
            .data
            .get(off as usize..off as usize + 8)
            .ok_or_else(|| Error::corrupt(&self.data_path, off, "chunk header past end of file"))?;
        let clen = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let expected = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let body = self
            .data
            .get(off as usize + 8..off as usize + 8 + clen)
            .ok_or_else(|| Error::corrupt(&self.data_path, off, "chunk runs past end of file"))?;
        let got = crc32c::crc32c(body);
        if got != expected {
            return Err(Error::ChecksumMismatch {
                path: self.data_path.clone(),
                offset: off,
                expected,
                got,
            });
        }
        let want = if i + 1 == self.chunk_count {
            (self.stream_len - (i as u64) * self.block_size as u64) as usize
        } else {
            self.block_size
        };
        let raw: Vec<u8> = match self.compression {
            Compression::None => body.to_vec(),
            Compression::Lz4 => lz4_flex::block::decompress(body, want)
                .map_err(|e| Error::corrupt(&self.data_path, off, format!("lz4: {e}")))?,
            Compression::Zstd => zstd::bulk::decompress(body, want)
                .map_err(|e| Error::corrupt(&self.data_path, off, format!("zstd: {e}")))?,
        };
        if raw.len() != want {
            return Err(Error::corrupt(
                &self.data_path,
                off,
                format!("chunk decompressed to {} bytes, expected {want}", raw.len()),
            ));
        }
        self.metrics
            .blocks_decompressed
            .fetch_add(1, AtOrd::Relaxed);
        let arc: Arc<[u8]> = Arc::from(raw);
        if use_cache {
            self.cache.insert(self.uid, i as u32, arc.clone());
        }
        Ok(arc)
    }

    /// Copies `len` bytes of the stream at `off` into `out`.
    fn read_stream(&self, off: u64, len: u64, out: &mut Vec<u8>, use_cache: bool) -> Result<()> {
        out.clear();
        let end = off
            .checked_add(len)
            .filter(|e| *e <= self.stream_len)
            .ok_or_else(|| Error::corrupt(&self.index_path, 0, "index points past the data"))?;
        let bs = self.block_size as u64;
        let mut pos = off;
        while pos < end {
            let ci = (pos / bs) as usize;
            let chunk = self.chunk(ci, use_cache)?;
            let within = (pos - ci as u64 * bs) as usize;
            let take = ((end - pos) as usize).min(chunk.len().saturating_sub(within));
            if take == 0 {
                return Err(Error::corrupt(&self.data_path, 0, "short chunk"));
            }
            out.extend_from_slice(&chunk[within..within + take]);
            pos += take as u64;
        }
        Ok(())
    }

    fn parse_entry<'a>(
        &'a self,
        r: &mut Reader<'a>,
    ) -> std::result::Result<IndexEntry<'a>, DecodeError> {
        let token = r.u64_le()? as i64;
        let klen = r.u16_be()? as usize;
        let key = r.take(klen)?;
        let offset = r.varint()?;
        let len = r.varint()?;
        let header_len = r.varint()?;
        let ri_len = r.count(u32::MAX as u64)?;
        let row_index = r.take(ri_len)?;
        Ok(IndexEntry {
            key: DecoratedKey {
                token: Token(token),
                key: Bytes::copy_from_slice(key),
            },
            offset,
            len,
            header_len,
            row_index,
        })
    }

    /// Index position to start scanning for `key`: the last summary entry <= key.
    fn summary_start(&self, key: &DecoratedKey) -> usize {
        let i = self.summary.partition_point(|(k, _)| k <= key);
        if i == 0 {
            self.entries.0
        } else {
            self.summary[i - 1].1 as usize
        }
    }

    /// The index entry of `key`, if present.
    pub fn find(&self, key: &DecoratedKey) -> Result<Option<IndexEntry<'_>>> {
        let start = self.summary_start(key);
        let region = self.index.get(start..self.entries.1).unwrap_or(&[]);
        let mut r = Reader::new(region);
        for _ in 0..=super::SUMMARY_INTERVAL {
            if r.is_empty() {
                break;
            }
            let e = self
                .parse_entry(&mut r)
                .map_err(|e| decode_err(&self.index_path, start, e))?;
            match e.key.cmp(key) {
                Ordering::Less => continue,
                Ordering::Equal => return Ok(Some(e)),
                Ordering::Greater => break,
            }
        }
        Ok(None)
    }

    /// Index entries in key order starting at the first key >= `from` (all when `None`).
    pub fn entries_from(&self, from: Option<&DecoratedKey>) -> EntryIter<'_> {
        let start = from.map_or(self.entries.0, |k| self.summary_start(k));
        EntryIter {
            reader: self,
            pos: start,
            from: from.cloned(),
        }
    }

    /// Reads a partition's header (deletion, range tombstones, static row).
    pub fn read_header(
        &self,
        e: &IndexEntry<'_>,
        buf: &mut Vec<u8>,
    ) -> Result<codec::PartitionHeader> {
        self.read_stream(e.offset, e.header_len, buf, true)?;
        let mut r = Reader::new(buf);
        let klen = r.u16_be().map_err(|x| self.stream_err(e, x))? as usize;
        let key = r.take(klen).map_err(|x| self.stream_err(e, x))?;
        if key != &e.key.key[..] {
            return Err(Error::corrupt(
                &self.data_path,
                e.offset,
                "partition key differs from its index entry",
            ));
        }
        codec::decode_partition_header(&mut r).map_err(|x| self.stream_err(e, x))
    }

    fn stream_err(&self, e: &IndexEntry<'_>, x: DecodeError) -> Error {
        Error::corrupt(
            &self.data_path,
            e.offset + x.offset as u64,
            format!("{} (stream offset, partition {:?})", x.reason, e.key),
        )
    }

    /// Rows of the partition within `slice`, lazily, one row-index block at a time.
    pub fn rows<'a>(
        &'a self,
        e: IndexEntry<'a>,
        slice: ClusteringSlice,
        reversed: bool,
    ) -> Result<RowIter<'a>> {
        let mut blocks: VecDeque<(u64, u64)> = VecDeque::new();
        if e.row_index.is_empty() {
            let rows_len = e.len.saturating_sub(e.header_len).saturating_sub(1);
            blocks.push_back((e.offset + e.header_len, rows_len));
        } else {
            let ri = RowIndex::new(e.row_index)
                .ok_or_else(|| Error::corrupt(&self.index_path, 0, "bad row index"))?;
            for i in 0..ri.len() {
                let (first, last, off, len) = ri
                    .get(i)
                    .ok_or_else(|| Error::corrupt(&self.index_path, 0, "bad row index entry"))?;
                if slice.intersects(first, last) {
                    blocks.push_back((e.offset + off, len));
                }
            }
        }
        if reversed {
            blocks = blocks.into_iter().rev().collect();
        }
        Ok(RowIter {
            reader: self,
            entry_key: e.key.clone(),
            entry_offset: e.offset,
            blocks,
            rows: VecDeque::new(),
            slice,
            reversed,
            buf: Vec::new(),
        })
    }

    /// The whole partition at `e` (compaction, scans, dump). Reads bypass the chunk cache.
    pub fn read_partition(&self, e: &IndexEntry<'_>) -> Result<PartitionUpdate> {
        let mut buf = Vec::new();
        self.read_stream(e.offset, e.len, &mut buf, false)?;
        let mut r = Reader::new(&buf);
        let mk = |x: DecodeError| self.stream_err(e, x);
        let klen = r.u16_be().map_err(mk)? as usize;
        let key = r.take(klen).map_err(mk)?;
        if key != &e.key.key[..] {
            return Err(Error::corrupt(
                &self.data_path,
                e.offset,
                "partition key differs from its index entry",
            ));
        }
        let h = codec::decode_partition_header(&mut r).map_err(mk)?;
        let mut rows = Vec::new();
        loop {
            match r.u8().map_err(mk)? {
                0 => break,
                1 => {
                    let c = Bytes::copy_from_slice(r.bytes().map_err(mk)?);
                    rows.push(codec::decode_row_body(&mut r, c).map_err(mk)?);
                }
                _ => {
                    return Err(self.stream_err(
                        e,
                        DecodeError {
                            offset: r.position(),
                            reason: "bad row marker",
                        },
                    ))
                }
            }
        }
        Ok(PartitionUpdate {
            deletion: h.deletion,
            range_tombstones: h.range_tombstones,
            static_row: h.static_row,
            rows,
        })
    }
}

/// Iterates index entries in order.
pub struct EntryIter<'a> {
    reader: &'a SSTableReader,
    pos: usize,
    from: Option<DecoratedKey>,
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = Result<IndexEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos >= self.reader.entries.1 {
                return None;
            }
            let region = self.reader.index.get(self.pos..self.reader.entries.1)?;
            let mut r = Reader::new(region);
            let e = match self.reader.parse_entry(&mut r) {
                Ok(e) => e,
                Err(x) => {
                    self.pos = self.reader.entries.1;
                    return Some(Err(decode_err(&self.reader.index_path, self.pos, x)));
                }
            };
            self.pos += r.position();
            if let Some(f) = &self.from {
                if &e.key < f {
                    continue;
                }
                self.from = None;
            }
            return Some(Ok(e));
        }
    }
}

/// A view of a partition's row index (layout in the writer's module doc).
struct RowIndex<'a> {
    count: usize,
    offsets: &'a [u8],
    entries: &'a [u8],
}

impl<'a> RowIndex<'a> {
    fn new(b: &'a [u8]) -> Option<RowIndex<'a>> {
        let count = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
        let offsets = b.get(4..4 + count.checked_mul(4)?)?;
        let entries = b.get(4 + count * 4..)?;
        Some(RowIndex {
            count,
            offsets,
            entries,
        })
    }

    fn len(&self) -> usize {
        self.count
    }

    fn get(&self, i: usize) -> Option<(&'a [u8], &'a [u8], u64, u64)> {
        let o = u32::from_le_bytes(self.offsets.get(i * 4..i * 4 + 4)?.try_into().ok()?) as usize;
        let mut r = Reader::new(self.entries.get(o..)?);
        let first = r.bytes().ok()?;
        let last = r.bytes().ok()?;
        let off = r.varint().ok()?;
        let len = r.varint().ok()?;
        Some((first, last, off, len))
    }
}

/// Rows of one partition from one sstable, in clustering order (or reversed).
pub struct RowIter<'a> {
    reader: &'a SSTableReader,
    entry_key: DecoratedKey,
    entry_offset: u64,
    blocks: VecDeque<(u64, u64)>,
    rows: VecDeque<Row>,
    slice: ClusteringSlice,
    reversed: bool,
    buf: Vec<u8>,
}

impl RowIter<'_> {
    fn load_block(&mut self, off: u64, len: u64) -> Result<()> {
        self.reader.read_stream(off, len, &mut self.buf, true)?;
        let mut r = Reader::new(&self.buf);
        let base = off;
        let path = &self.reader.data_path;
        let mk = |x: DecodeError| {
            Error::corrupt(
                path,
                base + x.offset as u64,
                format!(
                    "{} (stream offset, partition {:?} at {})",
                    x.reason, self.entry_key, self.entry_offset
                ),
            )
        };
        let mut block = Vec::new();
        while !r.is_empty() {
            match r.u8().map_err(mk)? {
                1 => {
                    let c = r.bytes().map_err(mk)?;
                    if self.slice.end.cmp_clustering(c) != Ordering::Less {
                        // Past the slice: the rest of the block cannot match.
                        break;
                    }
                    let row =
                        codec::decode_row_body(&mut r, Bytes::copy_from_slice(c)).map_err(mk)?;
                    if self.slice.contains(&row.clustering) {
                        block.push(row);
                    }
                }
                0 => break,
                _ => {
                    return Err(mk(DecodeError {
                        offset: r.position(),
                        reason: "bad row marker",
                    }))
                }
            }
        }
        if self.reversed {
            block.reverse();
        }
        self.rows.extend(block);
        Ok(())
    }
}

impl Iterator for RowIter<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.rows.pop_front() {
                return Some(Ok(r));
            }
            let (off, len) = self.blocks.pop_front()?;
            if let Err(e) = self.load_block(off, len) {
                self.blocks.clear();
                return Some(Err(e));
            }
        }
    }
}
