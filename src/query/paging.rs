//! Paging states: where the next page of a SELECT starts, as opaque bytes.
//!
//! A paging state names a *position*, never a pointer: the last partition key the
//! previous page reached, the last clustering it returned in that partition (absent
//! when the partition is finished), and what is left of `LIMIT` and of
//! `PER PARTITION LIMIT` in that partition. Any node holding the same data can resume
//! from it, and a client may hold it as long as it likes.
//!
//! Layout (all integers big-endian), version 1:
//! ```text
//! [u8 version = 1]
//! [u32 key length][key bytes]                    last partition key
//! [u8 has_clustering][u32 length][bytes]          last clustering, if mid-partition
//! [u32 rows_left]                                 LIMIT left (u32::MAX = none)
//! [u32 partition_rows_left]                       PER PARTITION LIMIT left in it
//! ```
//! Decoding checks every length against the buffer; anything else is the protocol
//! error Cassandra sends for a bad paging state.

use crate::error::{CqlError, CqlResult};

/// The only layout this build writes and reads.
const PAGING_STATE_VERSION: u8 = 1;

/// Largest paging state we decode: a key (64 KiB max) plus a clustering bounded by the
/// same order of magnitude; anything larger is not one of ours.
const PAGING_STATE_BYTES_MAX: usize = 1 << 20;

/// A decoded paging state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingState {
    pub partition_key: Vec<u8>,
    /// The last clustering returned in `partition_key`; `None` = partition finished.
    pub clustering: Option<Vec<u8>>,
    pub rows_left: Option<u32>,
    pub partition_rows_left: Option<u32>,
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl PagingState {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.partition_key.len() + 32);
        out.push(PAGING_STATE_VERSION);
        put_u32(&mut out, len_u32(self.partition_key.len()));
        out.extend_from_slice(&self.partition_key);
        match &self.clustering {
            Some(c) => {
                out.push(1);
                put_u32(&mut out, len_u32(c.len()));
                out.extend_from_slice(c);
            }
            None => {
                out.push(0);
                put_u32(&mut out, 0);
            }
        }
        put_u32(&mut out, self.rows_left.unwrap_or(u32::MAX));
        put_u32(&mut out, self.partition_rows_left.unwrap_or(u32::MAX));
        out
    }

    pub fn decode(b: &[u8]) -> CqlResult<PagingState> {
        let bad = || CqlError::Protocol("Invalid value for the paging state".into());
        if b.len() > PAGING_STATE_BYTES_MAX {
            return Err(bad());
        }
        let mut r = Reader { b, pos: 0 };
        if r.u8().ok_or_else(bad)? != PAGING_STATE_VERSION {
            return Err(bad());
        }
        let n = r.u32().ok_or_else(bad)? as usize;
        let partition_key = r.bytes(n).ok_or_else(bad)?.to_vec();
        let has = r.u8().ok_or_else(bad)?;
        let n = r.u32().ok_or_else(bad)? as usize;
        let c = r.bytes(n).ok_or_else(bad)?.to_vec();
        let clustering = match has {
            0 => None,
            1 => Some(c),
            _ => return Err(bad()),
        };
        let opt = |v: u32| (v != u32::MAX).then_some(v);
        let rows_left = opt(r.u32().ok_or_else(bad)?);
        let partition_rows_left = opt(r.u32().ok_or_else(bad)?);
        if r.pos != b.len() {
            return Err(bad());
        }
        Ok(PagingState {
            partition_key,
            clustering,
            rows_left,
            partition_rows_left,
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).and_then(|s| s.first().copied())
    }
    fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_state_round_trips_and_rejects_garbage() {
        // Checks encode/decode are inverse and that truncated or foreign bytes give the
        // protocol error rather than a panic.
        let s = PagingState {
            partition_key: vec![1, 2, 3],
            clustering: Some(vec![9, 9]),
            rows_left: Some(7),
            partition_rows_left: None,
        };
        let b = s.encode();
        assert_eq!(PagingState::decode(&b).ok(), Some(s));
        for cut in 0..b.len() {
            assert!(PagingState::decode(&b[..cut]).is_err());
        }
        assert!(PagingState::decode(&[2, 0, 0]).is_err());
    }
}
