//! Wide partitions: one row of a partition with 1 M rows reads O(1) blocks.
//!
//! Writes 1,000,000 rows into a single partition (in batches), flushes it to one
//! sstable (~16 KiB row-index blocks), then reads single rows and short slices at the
//! start, middle and end, forward and reversed, and asserts through the table's
//! block-read counter that each read touched at most a few chunks.

mod common;

use bytes::Bytes;
use common::*;
use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::{
    Cell, ClusteringBound, ClusteringSlice, Mutation, ReadCommand, Row, Storage, TableOptions,
};

const ROWS: u32 = 1_000_000;
const BATCH: u32 = 2_000;
/// A single-row read may touch the chunk(s) of the partition header and of one row
/// block, each of which may straddle two chunks.
const MAX_BLOCKS_PER_POINT_READ: u64 = 4;

fn clustering(i: u32) -> Bytes {
    Bytes::copy_from_slice(&i.to_be_bytes())
}

#[test]
fn one_row_of_a_million_row_partition_reads_few_blocks() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), SyncMode::periodic());
    c.commitlog_segment_size = 32 * 1024 * 1024;
    let (s, _) = Storage::open(c).expect("open");
    let t = s
        .create_table(T, "ks.wide", TableOptions::default())
        .expect("create");
    for b in 0..ROWS / BATCH {
        let mut m = Mutation::new(T, key("wide"));
        for i in b * BATCH..(b + 1) * BATCH {
            let mut r = Row::new(clustering(i));
            r.add_cell(Cell::live(1, 1, Bytes::copy_from_slice(&i.to_le_bytes())));
            m.update.rows.push(r);
        }
        s.apply(&m).expect("write");
    }
    t.flush().expect("flush");
    assert_eq!(t.sstable_generations().len(), 1);
    let now = now();
    for target in [0u32, 1, 499_999, 777_777, ROWS - 1] {
        for reversed in [false, true] {
            let before = t.stats().blocks_read;
            let cmd = ReadCommand {
                slice: ClusteringSlice::prefix(clustering(target)),
                reversed,
                limit: None,
                now,
            };
            let p = t
                .read(&key("wide"), &cmd)
                .expect("read")
                .expect("partition");
            let touched = t.stats().blocks_read - before;
            assert_eq!(p.rows.len(), 1, "row {target}");
            assert_eq!(p.rows[0].clustering, clustering(target));
            assert_eq!(
                p.rows[0].cells[0].value_bytes().map(|v| v.to_vec()),
                Some(target.to_le_bytes().to_vec())
            );
            assert!(
                touched <= MAX_BLOCKS_PER_POINT_READ,
                "row {target} (reversed {reversed}) touched {touched} blocks"
            );
        }
    }
    // A 10-row slice in the middle, reversed, also stays local.
    let before = t.stats().blocks_read;
    let cmd = ReadCommand {
        slice: ClusteringSlice {
            start: ClusteringBound::Before(clustering(600_000)),
            end: ClusteringBound::Before(clustering(600_010)),
        },
        reversed: true,
        limit: None,
        now,
    };
    let p = t
        .read(&key("wide"), &cmd)
        .expect("read")
        .expect("partition");
    let got: Vec<Bytes> = p.rows.iter().map(|r| r.clustering.clone()).collect();
    let want: Vec<Bytes> = (600_000..600_010).rev().map(clustering).collect();
    assert_eq!(got, want);
    assert!(t.stats().blocks_read - before <= MAX_BLOCKS_PER_POINT_READ + 1);
    // And a LIMIT on the whole partition reads only its first blocks.
    let before = t.stats().blocks_read;
    let cmd = ReadCommand {
        slice: ClusteringSlice::ALL,
        reversed: false,
        limit: Some(3),
        now,
    };
    let p = t
        .read(&key("wide"), &cmd)
        .expect("read")
        .expect("partition");
    assert_eq!(p.rows.len(), 3);
    assert!(
        t.stats().blocks_read - before <= MAX_BLOCKS_PER_POINT_READ,
        "LIMIT 3 touched {} blocks",
        t.stats().blocks_read - before
    );
}
