//! ChunkCache: decompressed sstable chunks kept in memory (Cassandra's ChunkCache,
//! sized by `file_cache_size`). A point read of a hot block costs a hash lookup
//! instead of a zstd decompression of 16 KiB.
//!
//! Sharded by key hash; each shard is a `HashMap` plus a FIFO queue with a
//! second-chance bit (CLOCK), evicting until the shard is under its share of the
//! capacity. Chunks are `Arc<[u8]>`, so a reader keeps its chunk alive even if it
//! is evicted meanwhile. Entries are keyed by (sstable unique id, chunk index); an
//! sstable's entries simply age out after it is deleted.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Number of shards: enough to make lock contention negligible on a few cores.
const SHARDS: usize = 16;

/// Default capacity, as Cassandra's `file_cache_size` default of 512 MiB.
pub const DEFAULT_CAPACITY_BYTES: usize = 512 * 1024 * 1024;

type Key = (u64, u32);

struct Slot {
    chunk: Arc<[u8]>,
    referenced: AtomicBool,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Key, Slot>,
    fifo: VecDeque<Key>,
    bytes: usize,
}

/// A shared cache of decompressed chunks.
pub struct ChunkCache {
    shards: Vec<Mutex<Shard>>,
    capacity_per_shard: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ChunkCache {
    /// A cache holding up to `capacity` bytes of chunks (0 disables caching).
    pub fn new(capacity: usize) -> ChunkCache {
        ChunkCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            capacity_per_shard: capacity / SHARDS,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: Key) -> &Mutex<Shard> {
        let h = key.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (key.1 as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        &self.shards[(h >> 60) as usize % SHARDS]
    }

    /// The cached chunk, if present.
    pub fn get(&self, sstable: u64, chunk: u32) -> Option<Arc<[u8]>> {
        if self.capacity_per_shard == 0 {
            return None;
        }
        let key = (sstable, chunk);
        let shard = self.shard(key).lock().ok()?;
        match shard.map.get(&key) {
            Some(slot) => {
                slot.referenced.store(true, Ordering::Relaxed);
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(slot.chunk.clone())
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Inserts a chunk, evicting old ones to stay within capacity.
    pub fn insert(&self, sstable: u64, chunk: u32, data: Arc<[u8]>) {
        if self.capacity_per_shard == 0 || data.len() > self.capacity_per_shard {
            return;
        }
        let key = (sstable, chunk);
        let Ok(mut shard) = self.shard(key).lock() else {
            return;
        };
        let len = data.len();
        if shard.map.contains_key(&key) {
            return;
        }
        shard.map.insert(
            key,
            Slot {
                chunk: data,
                referenced: AtomicBool::new(false),
            },
        );
        shard.fifo.push_back(key);
        shard.bytes += len;
        // CLOCK: a referenced entry gets a second chance at the back of the queue. Each
        // entry is passed over at most once per eviction, so the loop is bounded.
        let mut budget = shard.fifo.len() * 2;
        while shard.bytes > self.capacity_per_shard && budget > 0 {
            budget -= 1;
            let Some(victim) = shard.fifo.pop_front() else {
                break;
            };
            let second_chance = shard
                .map
                .get(&victim)
                .is_some_and(|s| s.referenced.swap(false, Ordering::Relaxed));
            if second_chance {
                shard.fifo.push_back(victim);
            } else if let Some(s) = shard.map.remove(&victim) {
                shard.bytes -= s.chunk.len();
            }
        }
    }

    /// (hits, misses) since start.
    pub fn hit_stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Bytes currently cached.
    pub fn size_bytes(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| s.bytes))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_to_capacity_and_counts_hits() {
        // Checks the cache stays within capacity as chunks are inserted and that a get of a
        // present chunk is a hit, of an absent one a miss.
        let c = ChunkCache::new(SHARDS * 1024);
        for i in 0..1000u32 {
            c.insert(1, i, Arc::from(vec![0u8; 256]));
        }
        assert!(c.size_bytes() <= SHARDS * 1024);
        c.insert(2, 0, Arc::from(vec![1u8; 16]));
        assert!(c.get(2, 0).is_some());
        assert!(c.get(3, 0).is_none());
        assert_eq!(c.hit_stats(), (1, 1));
    }
}
