//! Binary encoding of rows, partitions and mutations, shared by the commitlog
//! (mutation payloads), the memtable (one encoded row per skiplist entry) and
//! sstables (the data stream). One codec means one set of round-trip tests and one
//! place where bytes from disk are distrusted.
//!
//! Integers are LEB128 varints; signed values are zig-zag encoded first. Cell
//! timestamps are stored as a zig-zag delta from the row's base timestamp (the row
//! marker's, else the first cell's), so the common cell costs one byte of timestamp.
//!
//! ## Layouts
//! ```text
//! deletion      := mfda:zvarint ldt:zvarint
//! bound         := kind:u8 (0 bottom, 1 before, 2 after, 3 top) [len:varint bytes]  (kinds 1, 2)
//! range_tomb    := start:bound end:bound deletion
//! row_body      := flags:u8 base_ts:zvarint
//!                  [ttl:varint expires_at:zvarint]        if flags & EXPIRING_MARKER
//!                  [deletion]                             if flags & HAS_DELETION
//!                  [ncells:varint cell*]                  if flags & HAS_CELLS
//!                  (flags & HAS_MARKER: the row marker's timestamp is base_ts)
//! cell          := column:varint cflags:u8 ts_delta:zvarint [path_len:varint path]
//!                  live:     len:varint value
//!                  expiring: ttl:varint expires_at:zvarint len:varint value
//!                  tombstone: deleted_at:zvarint
//!                  (cflags: bit0 has path; bits 1-2 kind 0 live, 1 expiring, 2 tombstone)
//! partition_hdr := flags:u8 [deletion] [nrt:varint range_tomb*] [static row_body]
//!                  (flags: bit0 deletion, bit1 range tombstones, bit2 static row)
//! update        := partition_hdr nrows:varint (clen:varint clustering row_body)*
//! mutation      := key_len:varint key update
//! ```
//! Decoders never trust a length: every read is bounds-checked and a bad byte
//! yields a [`DecodeError`] with the offset, which callers turn into
//! [`crate::Error::Corrupt`] naming the file.

use bytes::Bytes;

use crate::model::{
    Cell, CellValue, ClusteringBound, ClusteringSlice, DeletionTime, LivenessInfo, PartitionUpdate,
    RangeTombstone, Row, TableId, NO_TIMESTAMP,
};
use crate::token::DecoratedKey;
use crate::Mutation;

/// A decoding failure: where in the input and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub reason: &'static str,
}

/// Result of decoding.
pub type DecodeResult<T> = std::result::Result<T, DecodeError>;

/// Largest element count a decoder accepts for any list (cells, rows, tombstones):
/// bounds allocation when a corrupt count is read. A row with more cells than this
/// cannot be written either (`max_mutation_size` caps it long before).
pub const MAX_DECODED_COUNT: u64 = 16 * 1024 * 1024;

const ROW_HAS_MARKER: u8 = 1;
const ROW_EXPIRING_MARKER: u8 = 2;
const ROW_HAS_DELETION: u8 = 4;
const ROW_HAS_CELLS: u8 = 8;

const CELL_HAS_PATH: u8 = 1;
const CELL_KIND_LIVE: u8 = 0;
const CELL_KIND_EXPIRING: u8 = 1 << 1;
const CELL_KIND_TOMBSTONE: u8 = 2 << 1;
const CELL_KIND_MASK: u8 = 3 << 1;

const PART_HAS_DELETION: u8 = 1;
const PART_HAS_RTS: u8 = 2;
const PART_HAS_STATIC: u8 = 4;

/// Appends an unsigned LEB128 varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a zig-zag encoded signed varint.
#[inline]
pub fn put_zvarint(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
#[inline]
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A bounds-checked cursor over encoded bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            reason,
        }
    }

    #[inline]
    pub fn u8(&mut self) -> DecodeResult<u8> {
        let b = *self.buf.get(self.pos).ok_or(self.err("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    pub fn u16_be(&mut self) -> DecodeResult<u16> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    #[inline]
    pub fn u32_le(&mut self) -> DecodeResult<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    #[inline]
    pub fn u64_le(&mut self) -> DecodeResult<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    #[inline]
    pub fn varint(&mut self) -> DecodeResult<u64> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.err("varint too long"));
            }
        }
    }

    #[inline]
    pub fn zvarint(&mut self) -> DecodeResult<i64> {
        let u = self.varint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A varint that must fit `usize` and be at most `max`.
    pub fn count(&mut self, max: u64) -> DecodeResult<usize> {
        let v = self.varint()?;
        if v > max {
            return Err(self.err("count out of range"));
        }
        Ok(v as usize)
    }

    #[inline]
    pub fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(self.err("length runs past the end"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// A length-prefixed byte string.
    #[inline]
    pub fn bytes(&mut self) -> DecodeResult<&'a [u8]> {
        let n = self.count(u32::MAX as u64)?;
        self.take(n)
    }
}

// ---------------------------------------------------------------- encoding

pub fn encode_deletion(out: &mut Vec<u8>, d: &DeletionTime) {
    put_zvarint(out, d.marked_for_delete_at);
    put_zvarint(out, d.local_deletion_time);
}

pub fn encode_bound(out: &mut Vec<u8>, b: &ClusteringBound) {
    match b {
        ClusteringBound::Bottom => out.push(0),
        ClusteringBound::Before(p) => {
            out.push(1);
            put_bytes(out, p);
        }
        ClusteringBound::After(p) => {
            out.push(2);
            put_bytes(out, p);
        }
        ClusteringBound::Top => out.push(3),
    }
}

pub fn encode_range_tombstone(out: &mut Vec<u8>, rt: &RangeTombstone) {
    encode_bound(out, &rt.slice.start);
    encode_bound(out, &rt.slice.end);
    encode_deletion(out, &rt.deletion);
}

/// Encodes a row's body (everything but its clustering).
pub fn encode_row_body(out: &mut Vec<u8>, row: &Row) {
    let mut flags = 0u8;
    let base = if !row.liveness.is_empty() {
        flags |= ROW_HAS_MARKER;
        if row.liveness.ttl > 0 {
            flags |= ROW_EXPIRING_MARKER;
        }
        row.liveness.timestamp
    } else if let Some(c) = row.cells.first() {
        c.timestamp
    } else {
        0
    };
    if !row.deletion.is_live() {
        flags |= ROW_HAS_DELETION;
    }
    if !row.cells.is_empty() {
        flags |= ROW_HAS_CELLS;
    }
    out.push(flags);
    put_zvarint(out, base);
    if flags & ROW_EXPIRING_MARKER != 0 {
        put_varint(out, row.liveness.ttl as u32 as u64);
        put_zvarint(out, row.liveness.expires_at);
    }
    if flags & ROW_HAS_DELETION != 0 {
        encode_deletion(out, &row.deletion);
    }
    if flags & ROW_HAS_CELLS != 0 {
        put_varint(out, row.cells.len() as u64);
        for c in &row.cells {
            encode_cell(out, c, base);
        }
    }
}

fn encode_cell(out: &mut Vec<u8>, c: &Cell, base: i64) {
    put_varint(out, c.column as u64);
    let mut f = if c.path.is_some() { CELL_HAS_PATH } else { 0 };
    f |= match c.value {
        CellValue::Live(_) => CELL_KIND_LIVE,
        CellValue::Expiring { .. } => CELL_KIND_EXPIRING,
        CellValue::Tombstone { .. } => CELL_KIND_TOMBSTONE,
    };
    out.push(f);
    put_zvarint(out, c.timestamp.wrapping_sub(base));
    if let Some(p) = &c.path {
        put_bytes(out, p);
    }
    match &c.value {
        CellValue::Live(v) => put_bytes(out, v),
        CellValue::Expiring {
            value,
            ttl,
            expires_at,
        } => {
            put_varint(out, *ttl as u32 as u64);
            put_zvarint(out, *expires_at);
            put_bytes(out, value);
        }
        CellValue::Tombstone { deleted_at } => put_zvarint(out, *deleted_at),
    }
}

/// Encodes the partition-level part of an update (deletion, range tombstones, static row).
pub fn encode_partition_header(
    out: &mut Vec<u8>,
    deletion: &DeletionTime,
    rts: &[RangeTombstone],
    static_row: Option<&Row>,
) {
    let mut flags = 0;
    if !deletion.is_live() {
        flags |= PART_HAS_DELETION;
    }
    if !rts.is_empty() {
        flags |= PART_HAS_RTS;
    }
    if static_row.is_some() {
        flags |= PART_HAS_STATIC;
    }
    out.push(flags);
    if flags & PART_HAS_DELETION != 0 {
        encode_deletion(out, deletion);
    }
    if flags & PART_HAS_RTS != 0 {
        put_varint(out, rts.len() as u64);
        for rt in rts {
            encode_range_tombstone(out, rt);
        }
    }
    if let Some(s) = static_row {
        encode_row_body(out, s);
    }
}

/// Encodes a whole partition update.
pub fn encode_update(out: &mut Vec<u8>, u: &PartitionUpdate) {
    encode_partition_header(out, &u.deletion, &u.range_tombstones, u.static_row.as_ref());
    put_varint(out, u.rows.len() as u64);
    for r in &u.rows {
        put_bytes(out, &r.clustering);
        encode_row_body(out, r);
    }
}

/// Encodes a mutation's payload (the table id travels beside it).
pub fn encode_mutation(out: &mut Vec<u8>, m: &Mutation) {
    put_bytes(out, &m.key.key);
    encode_update(out, &m.update);
}

// ---------------------------------------------------------------- decoding

pub fn decode_deletion(r: &mut Reader<'_>) -> DecodeResult<DeletionTime> {
    Ok(DeletionTime {
        marked_for_delete_at: r.zvarint()?,
        local_deletion_time: r.zvarint()?,
    })
}

pub fn decode_bound(r: &mut Reader<'_>) -> DecodeResult<ClusteringBound> {
    Ok(match r.u8()? {
        0 => ClusteringBound::Bottom,
        1 => ClusteringBound::Before(Bytes::copy_from_slice(r.bytes()?)),
        2 => ClusteringBound::After(Bytes::copy_from_slice(r.bytes()?)),
        3 => ClusteringBound::Top,
        _ => {
            return Err(DecodeError {
                offset: r.position() - 1,
                reason: "bad clustering bound kind",
            })
        }
    })
}

pub fn decode_range_tombstone(r: &mut Reader<'_>) -> DecodeResult<RangeTombstone> {
    let start = decode_bound(r)?;
    let end = decode_bound(r)?;
    Ok(RangeTombstone {
        slice: ClusteringSlice { start, end },
        deletion: decode_deletion(r)?,
    })
}

/// Decodes a row body; `clustering` is attached as given.
pub fn decode_row_body(r: &mut Reader<'_>, clustering: Bytes) -> DecodeResult<Row> {
    let flags = r.u8()?;
    if flags & !(ROW_HAS_MARKER | ROW_EXPIRING_MARKER | ROW_HAS_DELETION | ROW_HAS_CELLS) != 0 {
        return Err(DecodeError {
            offset: r.position() - 1,
            reason: "bad row flags",
        });
    }
    let base = r.zvarint()?;
    let mut row = Row::new(clustering);
    if flags & ROW_HAS_MARKER != 0 {
        row.liveness = LivenessInfo {
            timestamp: base,
            ttl: 0,
            expires_at: i64::MAX,
        };
    }
    if flags & ROW_EXPIRING_MARKER != 0 {
        row.liveness.ttl = r.varint()? as u32 as i32;
        row.liveness.expires_at = r.zvarint()?;
    }
    if flags & ROW_HAS_DELETION != 0 {
        row.deletion = decode_deletion(r)?;
    }
    if flags & ROW_HAS_CELLS != 0 {
        let n = r.count(MAX_DECODED_COUNT)?;
        row.cells.reserve(n.min(r.remaining()));
        for _ in 0..n {
            row.cells.push(decode_cell(r, base)?);
        }
    }
    Ok(row)
}

fn decode_cell(r: &mut Reader<'_>, base: i64) -> DecodeResult<Cell> {
    let column = r.varint()?;
    if column > u32::MAX as u64 {
        return Err(r.err("column id out of range"));
    }
    let f = r.u8()?;
    let ts = base.wrapping_add(r.zvarint()?);
    let path = if f & CELL_HAS_PATH != 0 {
        Some(Bytes::copy_from_slice(r.bytes()?))
    } else {
        None
    };
    let value = match f & CELL_KIND_MASK {
        CELL_KIND_LIVE => CellValue::Live(Bytes::copy_from_slice(r.bytes()?)),
        CELL_KIND_EXPIRING => {
            let ttl = r.varint()? as u32 as i32;
            let expires_at = r.zvarint()?;
            CellValue::Expiring {
                value: Bytes::copy_from_slice(r.bytes()?),
                ttl,
                expires_at,
            }
        }
        CELL_KIND_TOMBSTONE => CellValue::Tombstone {
            deleted_at: r.zvarint()?,
        },
        _ => return Err(r.err("bad cell kind")),
    };
    if f & !(CELL_HAS_PATH | CELL_KIND_MASK) != 0 {
        return Err(r.err("bad cell flags"));
    }
    Ok(Cell {
        column: column as u32,
        path,
        timestamp: ts,
        value,
    })
}

/// The partition-level part of an update.
pub struct PartitionHeader {
    pub deletion: DeletionTime,
    pub range_tombstones: Vec<RangeTombstone>,
    pub static_row: Option<Row>,
}

pub fn decode_partition_header(r: &mut Reader<'_>) -> DecodeResult<PartitionHeader> {
    let flags = r.u8()?;
    if flags & !(PART_HAS_DELETION | PART_HAS_RTS | PART_HAS_STATIC) != 0 {
        return Err(DecodeError {
            offset: r.position() - 1,
            reason: "bad partition flags",
        });
    }
    let deletion = if flags & PART_HAS_DELETION != 0 {
        decode_deletion(r)?
    } else {
        DeletionTime::LIVE
    };
    let mut range_tombstones = Vec::new();
    if flags & PART_HAS_RTS != 0 {
        let n = r.count(MAX_DECODED_COUNT)?;
        for _ in 0..n {
            range_tombstones.push(decode_range_tombstone(r)?);
        }
    }
    let static_row = if flags & PART_HAS_STATIC != 0 {
        Some(decode_row_body(r, Bytes::new())?)
    } else {
        None
    };
    Ok(PartitionHeader {
        deletion,
        range_tombstones,
        static_row,
    })
}

pub fn decode_update(r: &mut Reader<'_>) -> DecodeResult<PartitionUpdate> {
    let h = decode_partition_header(r)?;
    let n = r.count(MAX_DECODED_COUNT)?;
    let mut rows = Vec::with_capacity(n.min(r.remaining()));
    for _ in 0..n {
        let c = Bytes::copy_from_slice(r.bytes()?);
        rows.push(decode_row_body(r, c)?);
    }
    Ok(PartitionUpdate {
        deletion: h.deletion,
        range_tombstones: h.range_tombstones,
        static_row: h.static_row,
        rows,
    })
}

/// Decodes a mutation payload of `table`.
pub fn decode_mutation(table: TableId, buf: &[u8]) -> DecodeResult<Mutation> {
    let mut r = Reader::new(buf);
    let key = Bytes::copy_from_slice(r.bytes()?);
    let update = decode_update(&mut r)?;
    if !r.is_empty() {
        return Err(r.err("trailing bytes after mutation"));
    }
    Ok(Mutation {
        table,
        key: DecoratedKey::new(key),
        update,
    })
}

/// True when `ts` is a real timestamp.
pub fn has_timestamp(ts: i64) -> bool {
    ts != NO_TIMESTAMP
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClusteringSlice;

    fn sample() -> Mutation {
        let mut m = Mutation::new(TableId(7), DecoratedKey::new(&b"pk"[..]));
        m.update.deletion = DeletionTime::new(5, 100);
        m.update.range_tombstones.push(RangeTombstone {
            slice: ClusteringSlice::prefix(Bytes::from_static(b"\x01a")),
            deletion: DeletionTime::new(6, 101),
        });
        let mut s = Row::new(Bytes::new());
        s.add_cell(Cell::live(9, 1_700_000_000_000_000, &b"static"[..]));
        m.update.static_row = Some(s);
        let mut r = Row::new(&b"\x01b"[..]);
        r.liveness = LivenessInfo::new(1_700_000_000_000_001, 60, 1000);
        r.deletion = DeletionTime::new(3, 99);
        r.add_cell(Cell::live(1, 1_700_000_000_000_001, &b"v"[..]));
        r.add_cell(Cell::expiring(
            2,
            1_700_000_000_000_005,
            &b"e"[..],
            10,
            1000,
        ));
        r.add_cell(Cell::tombstone(3, 1_600_000_000_000_000, 50));
        r.add_cell(Cell::live(4, 2, &b"x"[..]).with_path(&b"k"[..]));
        m.update.add_row(r);
        m.update.add_row(Row::new(&b"\x01c"[..]));
        m
    }

    #[test]
    fn mutation_round_trips() {
        // Checks every field of a mutation (deletions, range tombstones, static row, marker with
        // ttl, each cell kind, paths) survives encode/decode unchanged.
        let m = sample();
        let mut buf = Vec::new();
        encode_mutation(&mut buf, &m);
        let back = decode_mutation(TableId(7), &buf).expect("decode");
        assert_eq!(back, m);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        // Checks that cutting the encoding at any byte gives a DecodeError, never a panic or a
        // silently shorter mutation.
        let mut buf = Vec::new();
        encode_mutation(&mut buf, &sample());
        for cut in 0..buf.len() {
            assert!(
                decode_mutation(TableId(7), &buf[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn varints_round_trip_extremes() {
        // Checks zig-zag varints at the i64 extremes and the overflow guard.
        for v in [0i64, 1, -1, i64::MAX, i64::MIN, 300, -300] {
            let mut b = Vec::new();
            put_zvarint(&mut b, v);
            assert_eq!(Reader::new(&b).zvarint(), Ok(v));
        }
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
    }
}
