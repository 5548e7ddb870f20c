//! Decoder fuzzing (stable toolchain, proptest loops): arbitrary and mutated bytes fed
//! to every storage decoder must give an error or a value, never a panic, an abort
//! or an unbounded allocation. Covers the mutation/row codec (commitlog payloads,
//! memtable entries, the sstable stream), sstable statistics, bloom filters, and
//! whole sstable component files opened by the reader.

use bytes::Bytes;
use proptest::prelude::*;
use sibyl_storage::codec::{self, Reader};
use sibyl_storage::sstable::bloom::BloomFilter;
use sibyl_storage::sstable::cache::ChunkCache;
use sibyl_storage::sstable::writer::WriterOptions;
use sibyl_storage::sstable::{Component, Descriptor, SSTableReader, SSTableWriter, Stats};
use sibyl_storage::{Cell, DecoratedKey, Mutation, PartitionUpdate, Row, TableId};

fn sample_mutation() -> Vec<u8> {
    let mut m = Mutation::new(TableId(1), DecoratedKey::new(&b"key"[..]));
    let mut r = Row::new(&b"\x02c"[..]);
    r.add_cell(Cell::live(1, 10, &b"value"[..]));
    r.add_cell(Cell::expiring(2, 11, &b"ttl"[..], 5, 100).with_path(&b"p"[..]));
    r.add_cell(Cell::tombstone(3, 12, 99));
    m.update.add_row(r);
    let mut out = Vec::new();
    codec::encode_mutation(&mut out, &m);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn codec_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = codec::decode_mutation(TableId(1), &bytes);
        let _ = codec::decode_row_body(&mut Reader::new(&bytes), Bytes::new());
        let _ = codec::decode_partition_header(&mut Reader::new(&bytes));
        let _ = codec::decode_update(&mut Reader::new(&bytes));
        let _ = Stats::decode(&mut Reader::new(&bytes));
        let _ = BloomFilter::decode(&mut Reader::new(&bytes));
    }

    #[test]
    fn mutated_mutations_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = sample_mutation();
        for (i, v) in flips {
            let at = i.index(b.len());
            b[at] = v;
        }
        let end = cut.index(b.len() + 1);
        let _ = codec::decode_mutation(TableId(1), &b[..end]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn sstable_open_and_read_of_mutated_components_never_panics(
        component in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        // Writes a real sstable, overwrites random bytes of one component (CRCs are NOT
        // fixed up, and the mutated bytes include lengths and offsets), then opens and
        // reads every partition: errors are fine, panics are not.
        let dir = tempfile::tempdir().expect("tmp");
        let desc = Descriptor::new(dir.path(), 1);
        let mut w = SSTableWriter::create(desc.clone(), WriterOptions::default()).expect("writer");
        let mut keys: Vec<DecoratedKey> = (0..40u32).map(|i| DecoratedKey::new(Bytes::copy_from_slice(&i.to_be_bytes()))).collect();
        keys.sort();
        for k in &keys {
            let mut p = PartitionUpdate::default();
            for c in 0..20u8 {
                let mut r = Row::new(vec![c]);
                r.add_cell(Cell::live(1, 1, vec![c; 50]));
                p.rows.push(r);
            }
            w.append(k, &p).expect("append");
        }
        w.finish(Default::default(), Vec::new(), 0).expect("finish");
        let path = desc.path(Component::ALL[component]);
        let mut bytes = std::fs::read(&path).expect("read");
        for (i, v) in flips {
            let at = i.index(bytes.len());
            bytes[at] = v;
        }
        std::fs::write(&path, &bytes).expect("write");
        if let Ok(r) = SSTableReader::open(desc, std::sync::Arc::new(ChunkCache::new(1 << 20)), Default::default()) {
            for e in r.entries_from(None) {
                let Ok(e) = e else { break };
                let _ = r.read_partition(&e);
                let mut buf = Vec::new();
                let _ = r.read_header(&e, &mut buf);
                if let Ok(rows) = r.rows(e, sibyl_storage::ClusteringSlice::ALL, false) {
                    for row in rows {
                        if row.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    }
}
