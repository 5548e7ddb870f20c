//! The node's prepared statements, by id (MD5 of keyspace and text, so every node
//! derives the same id and a driver can re-prepare anywhere).
//!
//! Bounded at [`MAX_PREPARED_STATEMENTS`]: past it the least recently *prepared*
//! statement is evicted (an EXECUTE does not refresh it: cheap, and a driver that
//! gets Unprepared re-prepares transparently). A schema change empties the cache,
//! as Cassandra evicts statements of a changed table: a statement prepared against
//! an old table definition could otherwise bind values with stale types.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::query::Prepared;

/// Prepared statements kept. Cassandra sizes its cache at 1/256 of the heap (about
/// 10 000 typical statements); applications prepare a few hundred at most.
pub const MAX_PREPARED_STATEMENTS: usize = 10_000;

/// Statement id → prepared statement.
#[derive(Default)]
pub struct PreparedCache {
    // A std Mutex: held only for a map operation, never across an `.await`.
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<[u8; 16], Arc<Prepared>>,
    /// Ids in the order they were (re)inserted; may hold ids already evicted.
    order: VecDeque<[u8; 16]>,
}

impl PreparedCache {
    /// Remembers `p` (replacing any statement with the same id).
    pub fn insert(&self, p: Arc<Prepared>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let id = p.id;
        if g.by_id.insert(id, p).is_none() {
            g.order.push_back(id);
        }
        while g.by_id.len() > MAX_PREPARED_STATEMENTS {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            g.by_id.remove(&old);
        }
    }

    /// The statement with this id, if still cached.
    pub fn get(&self, id: &[u8]) -> Option<Arc<Prepared>> {
        let key: [u8; 16] = id.try_into().ok()?;
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.by_id.get(&key).cloned()
    }

    /// Forgets every statement (after a schema change).
    pub fn clear(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.by_id.clear();
        g.order.clear();
    }

    /// Number of cached statements.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
