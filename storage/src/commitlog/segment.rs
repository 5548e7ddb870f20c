//! CommitLogSegment: one preallocated, memory-mapped segment file, and the byte
//! layout of its header and records.
//!
//! A segment is born at its full size with its blocks reserved by
//! `posix_fallocate`, so that writing into the mapping later can never hit a full
//! disk (which, through a mapping, would be a SIGBUS rather than an error). It is
//! created under a temporary name, its header is written and fsynced, and only
//! then is it renamed to its final name and the directory fsynced: a crash during
//! creation leaves at most a `.log.tmp` file, which `CommitLog::open` removes and
//! replay ignores.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::{MmapOptions, MmapRaw};

use crate::error::Error;
use crate::model::TableId;

/// The on-disk format version, in the file name and in the segment header.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The first 8 bytes of every segment file.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"SIBYLCL\0";

/// Size of the segment header, in bytes: magic 8 + version 4 + id 8 + crc 4.
pub(crate) const SEGMENT_HEADER_LEN: usize = 24;

/// Size of a record's length word plus its checksum, in bytes.
pub(crate) const RECORD_PREFIX_LEN: usize = 8;

/// Size of a table id on disk, in bytes (a UUID).
pub(crate) const TABLE_ID_LEN: usize = 16;

/// Bytes a record occupies besides its payload: length, checksum and table id.
pub(crate) const RECORD_OVERHEAD: usize = RECORD_PREFIX_LEN + TABLE_ID_LEN;

/// File names are `CommitLog-<version>-<id>.log`, as Cassandra's.
const FILE_PREFIX: &str = "CommitLog-";
const FILE_SUFFIX: &str = ".log";
/// A segment being created carries this suffix until its header is durable.
const TMP_SUFFIX: &str = ".log.tmp";

/// The file name of segment `id` in the current format.
pub(crate) fn file_name(id: u64) -> String {
    format!("{FILE_PREFIX}{FORMAT_VERSION}-{id}{FILE_SUFFIX}")
}

fn tmp_file_name(id: u64) -> String {
    format!("{FILE_PREFIX}{FORMAT_VERSION}-{id}{TMP_SUFFIX}")
}

/// What a directory entry's name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `CommitLog-<version>-<id>.log`.
    Segment { version: u32, id: u64 },
    /// `CommitLog-<version>-<id>.log.tmp`: a segment whose creation did not finish.
    Tmp { id: u64 },
}

/// Parses a commitlog file name; `None` for anything that is not ours.
pub(crate) fn parse_file_name(name: &str) -> Option<FileKind> {
    let rest = name.strip_prefix(FILE_PREFIX)?;
    let (rest, tmp) = match rest.strip_suffix(TMP_SUFFIX) {
        Some(r) => (r, true),
        None => (rest.strip_suffix(FILE_SUFFIX)?, false),
    };
    let (version, id) = rest.split_once('-')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(version) || !all_digits(id) {
        return None;
    }
    let version: u32 = version.parse().ok()?;
    let id: u64 = id.parse().ok()?;
    if tmp {
        Some(FileKind::Tmp { id })
    } else {
        Some(FileKind::Segment { version, id })
    }
}

/// The segment header.
///
/// ```text
/// offset  size  field
///      0     8  magic            b"SIBYLCL\0"
///      8     4  format version   u32 LE (= 1)
///     12     8  segment id       u64 LE (same as in the file name)
///     20     4  header crc32c    u32 LE, over bytes 0..20
///     24        first record (or a zero length word: no records)
/// ```
pub(crate) fn encode_header(id: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    let (magic, rest) = h.split_at_mut(8);
    magic.copy_from_slice(&SEGMENT_MAGIC);
    let (version, rest) = rest.split_at_mut(4);
    version.copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let (seg_id, _) = rest.split_at_mut(8);
    seg_id.copy_from_slice(&id.to_le_bytes());
    let crc = crc32c::crc32c(&h[..SEGMENT_HEADER_LEN - 4]);
    h[SEGMENT_HEADER_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Why a segment header cannot be used.
#[derive(Debug)]
pub(crate) enum HeaderError {
    /// Magic, checksum or id are wrong: the file is not a readable segment.
    Bad(String),
    /// An intact header of a format this build does not read.
    Version(u32),
}

/// Checks a header read from the file named with segment `id`.
pub(crate) fn decode_header(bytes: &[u8], id: u64) -> Result<(), HeaderError> {
    let Some(h) = bytes.get(..SEGMENT_HEADER_LEN) else {
        return Err(HeaderError::Bad(format!(
            "file is {} bytes, shorter than the {SEGMENT_HEADER_LEN}-byte header",
            bytes.len()
        )));
    };
    let (body, crc) = h.split_at(SEGMENT_HEADER_LEN - 4);
    let (magic, rest) = body.split_at(8);
    let (version, seg_id) = rest.split_at(4);
    if magic != SEGMENT_MAGIC {
        return Err(HeaderError::Bad(format!("bad magic {magic:02x?}")));
    }
    let expected = u32_le(crc);
    let got = crc32c::crc32c(body);
    if expected != got {
        return Err(HeaderError::Bad(format!(
            "header checksum mismatch: expected {expected:#010x}, got {got:#010x}"
        )));
    }
    let version = u32_le(version);
    if version != FORMAT_VERSION {
        return Err(HeaderError::Version(version));
    }
    let header_id = u64_le(seg_id);
    if header_id != id {
        return Err(HeaderError::Bad(format!(
            "header says segment {header_id} but the file name says {id}"
        )));
    }
    Ok(())
}

/// The fixed part of a record, written before its payload.
///
/// ```text
/// offset  size  field
///      0     4  len        u32 LE = 16 + payload length (0 = end of data)
///      4     4  crc32c     u32 LE, over the 4 len bytes, then table id, then payload
///      8    16  table id   u128 BE (UUID byte order)
///     24   len-16 payload  opaque bytes (the engine's serialized mutation)
/// ```
///
/// The checksum covers the length word so that a torn or flipped length is
/// caught rather than trusted. Records are packed back to back with no padding;
/// a record never spans two segments.
pub(crate) fn encode_record_prefix(table: TableId, payload: &[u8]) -> [u8; RECORD_OVERHEAD] {
    let len = record_len_word(payload.len());
    let len_bytes = len.to_le_bytes();
    let table_bytes = table.0.to_be_bytes();
    let crc = record_crc(len_bytes, &table_bytes, payload);
    let mut prefix = [0u8; RECORD_OVERHEAD];
    let (l, rest) = prefix.split_at_mut(4);
    l.copy_from_slice(&len_bytes);
    let (c, t) = rest.split_at_mut(4);
    c.copy_from_slice(&crc.to_le_bytes());
    t.copy_from_slice(&table_bytes);
    prefix
}

/// The length word for a payload of `payload_len` bytes. Callers have bounded the
/// payload by the maximum record size (at most half of a 1 GiB segment), so it
/// always fits; saturate rather than wrap should that ever not hold.
fn record_len_word(payload_len: usize) -> u32 {
    u32::try_from(payload_len.saturating_add(TABLE_ID_LEN)).unwrap_or(u32::MAX)
}

/// The record checksum: crc32c over the length bytes, table id bytes and payload.
pub(crate) fn record_crc(len_bytes: [u8; 4], table: &[u8], payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&len_bytes);
    let crc = crc32c::crc32c_append(crc, table);
    crc32c::crc32c_append(crc, payload)
}

pub(crate) fn u32_le(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    u32::from_le_bytes(a)
}

fn u64_le(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    u64::from_le_bytes(a)
}

pub(crate) fn table_id_be(b: &[u8]) -> TableId {
    let mut a = [0u8; TABLE_ID_LEN];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    TableId(u128::from_be_bytes(a))
}

/// Why creating a segment failed, and whether the log can go on.
#[derive(Debug)]
pub(crate) enum CreateError {
    /// Nothing was promised yet (open, preallocate, map, rename failed; e.g. ENOSPC):
    /// the append fails and a later one tries again.
    Retryable(Error),
    /// An fsync failed: after fsyncgate nothing can be trusted; poison the log.
    Fatal(Error),
}

/// A segment file mapped for writing.
///
/// Writes go through the raw pointer of an [`MmapRaw`], which never hands out
/// references into the mapping: the appender copies bytes into the unwritten
/// tail under the commitlog's append mutex while the sync thread msyncs the
/// written part, without the two ever aliasing a Rust reference.
#[derive(Debug)]
pub(crate) struct MappedSegment {
    pub(crate) id: u64,
    pub(crate) path: PathBuf,
    map: MmapRaw,
}

impl MappedSegment {
    /// Creates segment `id` of `size` bytes in `dir`: preallocate, map, write and
    /// fsync the header, rename into place, fsync the directory.
    pub(crate) fn create(dir: &Path, id: u64, size: u64) -> Result<MappedSegment, CreateError> {
        let tmp = dir.join(tmp_file_name(id));
        let path = dir.join(file_name(id));
        let retry = |p: &Path, e: io::Error| {
            let _ = fs::remove_file(&tmp);
            CreateError::Retryable(Error::io(p, e))
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| retry(&tmp, e))?;
        preallocate(&file, size).map_err(|e| retry(&tmp, e))?;
        let len = usize::try_from(size).map_err(|_| {
            retry(
                &tmp,
                io::Error::other("segment size does not fit in memory"),
            )
        })?;
        let map = MmapOptions::new()
            .len(len)
            .map_raw(&file)
            .map_err(|e| retry(&tmp, e))?;
        file.write_all_at(&encode_header(id), 0)
            .map_err(|e| retry(&tmp, e))?;
        // IMPORTANT: the header and the allocation (file size, extents) must be
        // durable before the file gets its real name, so that a named segment
        // always has a readable header.
        file.sync_all()
            .map_err(|e| CreateError::Fatal(Error::io(&tmp, e)))?;
        fs::rename(&tmp, &path).map_err(|e| retry(&tmp, e))?;
        // IMPORTANT: fsync the directory so the new name survives a power loss
        // before any record written into the segment is acknowledged as durable.
        fsync_dir(dir).map_err(|e| CreateError::Fatal(Error::io(dir, e)))?;
        Ok(MappedSegment { id, path, map })
    }

    /// Copies `bytes` into the mapping at `offset`. Out-of-range writes are refused.
    ///
    /// # Safety
    ///
    /// The caller must have the exclusive right to write `offset..offset+len`:
    /// the range lies in the unwritten tail reserved under the append mutex, and
    /// nothing else writes or reads it through a reference meanwhile.
    pub(crate) unsafe fn write_at(&self, offset: usize, bytes: &[u8]) -> Result<(), Error> {
        let in_bounds = offset
            .checked_add(bytes.len())
            .is_some_and(|end| end <= self.map.len());
        if !in_bounds {
            return Err(Error::InvalidArgument(format!(
                "commitlog write of {} bytes at offset {offset} past the end of {} ({} bytes)",
                bytes.len(),
                self.path.display(),
                self.map.len()
            )));
        }
        // SAFETY: in bounds (checked above); the mapping lives as long as `self`;
        // exclusivity of the range is the caller's contract.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(offset),
                bytes.len(),
            );
        }
        Ok(())
    }

    /// msyncs `from..to` (MS_SYNC): when it returns Ok, those bytes are on disk.
    pub(crate) fn sync_range(&self, from: usize, to: usize) -> io::Result<()> {
        if to <= from {
            return Ok(());
        }
        self.map.flush_range(from, to - from)
    }
}

/// Reserves `size` bytes of real blocks for `file`, so later writes through the
/// mapping cannot fail for lack of space.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn preallocate(file: &File, size: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(size)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "segment size too large"))?;
    // SAFETY: plain syscall on a file descriptor we own for the duration of the call.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    match rc {
        0 => Ok(()),
        libc::EOPNOTSUPP | libc::ENOSYS => {
            tracing::warn!(
                "commitlog: the filesystem cannot preallocate segments (posix_fallocate: {}); \
                 falling back to a sparse file, a full disk may crash the process",
                io::Error::from_raw_os_error(rc)
            );
            file.set_len(size)
        }
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn preallocate(file: &File, size: u64) -> io::Result<()> {
    file.set_len(size)
}

/// fsyncs a directory, making the creation, rename or removal of its entries durable.
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(
            parse_file_name(&file_name(42)),
            Some(FileKind::Segment { version: 1, id: 42 })
        );
        assert_eq!(
            parse_file_name(&tmp_file_name(7)),
            Some(FileKind::Tmp { id: 7 })
        );
        assert_eq!(
            parse_file_name("CommitLog-2-9.log"),
            Some(FileKind::Segment { version: 2, id: 9 })
        );
        for bad in [
            "CommitLog-1-.log",
            "CommitLog--3.log",
            "CommitLog-1-3.log.bak",
            "commitlog-1-3.log",
            "CommitLog-1-x3.log",
            "CommitLog-1-+3.log",
            "notes.txt",
            "CommitLog-1-3",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn header_round_trip_and_rejections() {
        let h = encode_header(99);
        assert!(decode_header(&h, 99).is_ok());
        assert!(matches!(decode_header(&h, 98), Err(HeaderError::Bad(_))));
        assert!(matches!(
            decode_header(&h[..10], 99),
            Err(HeaderError::Bad(_))
        ));
        for i in 0..SEGMENT_HEADER_LEN {
            let mut b = h;
            b[i] ^= 0x01;
            assert!(
                matches!(decode_header(&b, 99), Err(HeaderError::Bad(_))),
                "flip at {i}"
            );
        }
        // An intact header of another version is not "bad": it is unsupported.
        let mut v2 = h;
        v2[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32c::crc32c(&v2[..20]);
        v2[20..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            decode_header(&v2, 99),
            Err(HeaderError::Version(2))
        ));
    }

    #[test]
    fn record_prefix_layout() {
        let t = TableId(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        let p = encode_record_prefix(t, b"hello");
        assert_eq!(u32_le(&p[0..4]), 16 + 5);
        assert_eq!(table_id_be(&p[8..24]), t);
        let len_bytes = (16u32 + 5).to_le_bytes();
        assert_eq!(
            u32_le(&p[4..8]),
            record_crc(len_bytes, &t.0.to_be_bytes(), b"hello")
        );
    }
}
