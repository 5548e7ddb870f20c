//! CommitLogReplayer: reads segment files back, record by record, trusting
//! nothing it reads.
//!
//! Every length is bounded by the file before anything is allocated, every
//! record's checksum is verified before its payload is handed out, and any
//! inconsistency ends the reading of that segment (never the process). The same
//! reader serves `CommitLog::replay` and `CommitLog::open`, which rescans the
//! existing segments to learn which tables each one dirties.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::segment::{
    self, decode_header, table_id_be, u32_le, FileKind, HeaderError, RECORD_PREFIX_LEN,
    SEGMENT_HEADER_LEN, TABLE_ID_LEN,
};
use crate::error::{Error, Result};
use crate::model::TableId;

/// Read buffer for replay, in bytes: large enough that a 32 MiB segment is read
/// in a few dozen syscalls, small enough not to matter for memory.
const REPLAY_READ_BUFFER_BYTES: usize = 1 << 20;

/// What `CommitLog::replay` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Segment files whose header was valid and whose records were read.
    pub segments_read: usize,
    /// Intact records handed to the callback.
    pub records_replayed: u64,
    /// Payload bytes handed to the callback.
    pub payload_bytes_replayed: u64,
    /// Segments whose reading stopped early at a torn or corrupt record.
    pub torn_segments: Vec<TornSegment>,
    /// Files named like segments but skipped because their header is unusable.
    pub skipped_files: Vec<SkippedFile>,
}

/// A segment whose replay stopped at a torn or corrupt record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornSegment {
    pub path: PathBuf,
    pub segment_id: u64,
    /// Byte offset of the first record that could not be read.
    pub offset: u32,
    pub reason: String,
}

/// A segment file skipped entirely (bad header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub path: PathBuf,
    pub reason: String,
}

/// A segment file found in the directory.
#[derive(Debug, Clone)]
pub(crate) struct SegmentFile {
    pub(crate) id: u64,
    pub(crate) path: PathBuf,
}

/// The commitlog files of a directory.
#[derive(Debug, Default)]
pub(crate) struct DirListing {
    /// Segment files, sorted by id.
    pub(crate) segments: Vec<SegmentFile>,
    /// Leftover `.log.tmp` files of interrupted segment creations.
    pub(crate) tmps: Vec<SegmentFile>,
}

/// The commitlog files in `dir`. Files that do not match the naming pattern are
/// ignored. A segment named with a format version this build does not read is
/// an error: skipping it would silently drop acknowledged writes.
pub(crate) fn list_dir(dir: &Path) -> Result<DirListing> {
    let mut segments = Vec::new();
    let mut tmps = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DirListing::default()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        match segment::parse_file_name(name) {
            Some(FileKind::Segment { version, id }) => {
                if version != segment::FORMAT_VERSION {
                    return Err(Error::UnsupportedVersion {
                        path: entry.path(),
                        version,
                    });
                }
                segments.push(SegmentFile {
                    id,
                    path: entry.path(),
                });
            }
            Some(FileKind::Tmp { id }) => tmps.push(SegmentFile {
                id,
                path: entry.path(),
            }),
            None => {}
        }
    }
    segments.sort_by_key(|s| s.id);
    Ok(DirListing { segments, tmps })
}

/// How reading one segment ended.
#[derive(Debug)]
pub(crate) enum SegmentOutcome {
    /// The header is unusable; nothing was read.
    BadHeader(String),
    /// Records were read up to `end` (the offset just after the last intact
    /// record). `torn` says why reading stopped early, if it did.
    Read {
        records: u64,
        end: u32,
        torn: Option<(u32, String)>,
    },
}

/// Reads segment `seg`, calling `f(table, end_offset, payload)` for each intact
/// record in order. Errors only for I/O failures other than a short file, for an
/// unsupported format version, or when `f` fails.
pub(crate) fn read_segment(
    seg: &SegmentFile,
    mut f: impl FnMut(TableId, u32, &[u8]) -> Result<()>,
) -> Result<SegmentOutcome> {
    let file = File::open(&seg.path).map_err(|e| Error::io(&seg.path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(&seg.path, e))?.len();
    let mut r = BufReader::with_capacity(REPLAY_READ_BUFFER_BYTES, file);

    let mut header = [0u8; SEGMENT_HEADER_LEN];
    let got = read_up_to(&mut r, &mut header).map_err(|e| Error::io(&seg.path, e))?;
    match decode_header(header.get(..got).unwrap_or(&[]), seg.id) {
        Ok(()) => {}
        Err(HeaderError::Bad(why)) => return Ok(SegmentOutcome::BadHeader(why)),
        Err(HeaderError::Version(version)) => {
            return Err(Error::UnsupportedVersion {
                path: seg.path.clone(),
                version,
            })
        }
    }

    // Offsets are u32 in positions; a longer file is read only as far as u32 reaches.
    let limit = file_len.min(u64::from(u32::MAX));
    let mut offset = SEGMENT_HEADER_LEN as u64;
    let mut records = 0u64;
    let mut body = Vec::new();
    let torn = |offset: u64, why: String| Some((u32::try_from(offset).unwrap_or(u32::MAX), why));
    let end_reason = loop {
        let remaining = limit.saturating_sub(offset);
        if remaining == 0 {
            break None;
        }
        let mut prefix = [0u8; RECORD_PREFIX_LEN];
        let got = read_up_to(&mut r, &mut prefix).map_err(|e| Error::io(&seg.path, e))?;
        let prefix = prefix.get(..got).unwrap_or(&[]);
        if prefix.iter().take(4).all(|&b| b == 0) {
            // A zero length word (or only zeros left): the end of the data.
            break None;
        }
        if got < RECORD_PREFIX_LEN {
            break torn(
                offset,
                format!("truncated record header: {got} of {RECORD_PREFIX_LEN} bytes"),
            );
        }
        let (len_bytes, crc_bytes) = prefix.split_at(4);
        let len = u32_le(len_bytes);
        let expected_crc = u32_le(crc_bytes);
        if (len as usize) < TABLE_ID_LEN {
            break torn(offset, format!("length {len} is shorter than a table id"));
        }
        let body_end = offset + RECORD_PREFIX_LEN as u64 + u64::from(len);
        if body_end > limit {
            break torn(
                offset,
                format!(
                    "record of {len} bytes runs past the end of the segment ({file_len} bytes)"
                ),
            );
        }
        body.resize(len as usize, 0);
        let got = read_up_to(&mut r, &mut body).map_err(|e| Error::io(&seg.path, e))?;
        if got < body.len() {
            break torn(offset, format!("truncated record: {got} of {len} bytes"));
        }
        let (table_bytes, payload) = body.split_at(TABLE_ID_LEN);
        let crc = segment::record_crc(len.to_le_bytes(), table_bytes, payload);
        if crc != expected_crc {
            break torn(
                offset,
                format!("checksum mismatch: expected {expected_crc:#010x}, got {crc:#010x}"),
            );
        }
        offset = body_end;
        records += 1;
        // `body_end <= limit <= u32::MAX`, so this conversion cannot saturate.
        f(
            table_id_be(table_bytes),
            u32::try_from(offset).unwrap_or(u32::MAX),
            payload,
        )?;
    };
    Ok(SegmentOutcome::Read {
        records,
        end: u32::try_from(offset).unwrap_or(u32::MAX),
        torn: end_reason,
    })
}

/// Reads until `buf` is full or the file ends; returns how many bytes were read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
