//! The node's prepared statements, by id (MD5 of keyspace and text, so every node
//! derives the same id and a driver can re-prepare anywhere).
//!
//! Bounded at [`MAX_PREPARED_STATEMENTS`]: past it the least recently *prepared*
//! statement is evicted (an EXECUTE does not refresh it: cheap, and a driver that
//! gets Unprepared re-prepares transparently). A schema change empties the cache,
//! as Cassandra evicts statements of a changed table: a statement prepared against
//! an old table definition could otherwise bind values with stale types.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crossbeam_skiplist::SkipMap;

use sibyl_cql::parser::{QualifiedName, Statement};

use crate::query::{Prepared, SchemaChange, SchemaChangeTarget, SchemaChangeType};

/// Prepared statements kept. Cassandra sizes its cache at 1/256 of the heap (about
/// 10 000 typical statements); applications prepare a few hundred at most.
pub const MAX_PREPARED_STATEMENTS: usize = 10_000;

/// Statement id → prepared statement.
///
/// Lookups (every EXECUTE, from every connection) go to a lock-free skiplist, so no
/// lock shared by all connections sits on the request path. The eviction order is a
/// mutex-guarded queue touched only by PREPARE and by schema changes.
#[derive(Default)]
pub struct PreparedCache {
    by_id: SkipMap<[u8; 16], Arc<Prepared>>,
    // A std Mutex: held only for a queue operation, never across an `.await`.
    order: Mutex<VecDeque<[u8; 16]>>,
}

impl PreparedCache {
    /// Remembers `p` (replacing any statement with the same id).
    pub fn insert(&self, p: Arc<Prepared>) {
        let id = p.id;
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        if !self.by_id.contains_key(&id) {
            order.push_back(id);
        }
        self.by_id.insert(id, p);
        while self.by_id.len() > MAX_PREPARED_STATEMENTS {
            let Some(old) = order.pop_front() else {
                break;
            };
            self.by_id.remove(&old);
        }
    }

    /// The statement with this id, if still cached.
    pub fn get(&self, id: &[u8]) -> Option<Arc<Prepared>> {
        let key: [u8; 16] = id.try_into().ok()?;
        self.by_id.get(&key).map(|e| e.value().clone())
    }

    /// Forgets the statements a schema change may have made stale, as Cassandra's
    /// QueryProcessor does: those on an altered or dropped table, or in an altered or
    /// dropped keyspace (a changed type: every statement of its keyspace). Creating
    /// something cannot invalidate a statement that prepared without it.
    pub fn evict_for(&self, change: &SchemaChange) {
        if change.change == SchemaChangeType::Created {
            return;
        }
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        let stale: Vec<[u8; 16]> = self
            .by_id
            .iter()
            .filter(|e| references(e.value(), change))
            .map(|e| *e.key())
            .collect();
        for id in &stale {
            self.by_id.remove(id);
        }
        order.retain(|id| !stale.contains(id));
    }

    /// Forgets every statement.
    pub fn clear(&self) {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        order.clear();
        self.by_id.clear();
    }

    /// Number of cached statements.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The tables a statement reads or writes (none for DDL and other statements).
fn tables_of(stmt: &Statement) -> Vec<&QualifiedName> {
    match stmt {
        Statement::Select(s) => vec![&s.table],
        Statement::Insert(s) => vec![&s.table],
        Statement::Update(s) => vec![&s.table],
        Statement::Delete(s) => vec![&s.table],
        Statement::Batch(b) => b.statements.iter().flat_map(tables_of).collect(),
        _ => Vec::new(),
    }
}

/// Whether `p` touches what `change` altered or dropped.
fn references(p: &Prepared, change: &SchemaChange) -> bool {
    tables_of(&p.statement).into_iter().any(|q| {
        let ks = q.keyspace.as_deref().or(p.keyspace.as_deref());
        if ks != Some(change.keyspace.as_str()) {
            return false;
        }
        match change.target {
            SchemaChangeTarget::Table => q.name == change.name,
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(n: u32) -> Arc<Prepared> {
        let text = format!("SELECT * FROM ks.t WHERE k = {n}");
        let statement = sibyl_cql::parser::parse_statement(&text).expect("parse");
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&n.to_be_bytes());
        Arc::new(Prepared {
            id,
            text,
            statement,
            keyspace: None,
            bind_markers: Vec::new(),
            bind_specs: Vec::new(),
            result_columns: Vec::new(),
            fast: None,
        })
    }

    fn stmt(text: &str, ks: Option<&str>, n: u8) -> Arc<Prepared> {
        let statement = sibyl_cql::parser::parse_statement(text).expect("parse");
        Arc::new(Prepared {
            id: [n; 16],
            text: text.into(),
            statement,
            keyspace: ks.map(String::from),
            bind_markers: Vec::new(),
            bind_specs: Vec::new(),
            result_columns: Vec::new(),
            fast: None,
        })
    }

    fn change(
        change: SchemaChangeType,
        target: SchemaChangeTarget,
        ks: &str,
        name: &str,
    ) -> SchemaChange {
        SchemaChange {
            change,
            target,
            keyspace: ks.into(),
            name: name.into(),
            arguments: Vec::new(),
        }
    }

    #[test]
    fn schema_changes_evict_only_statements_they_touch() {
        // Checks CREATE evicts nothing, ALTER/DROP TABLE evicts statements on that table
        // (qualified, or unqualified under a session keyspace, or inside a batch), and
        // DROP KEYSPACE every statement in it; others stay cached.
        let c = PreparedCache::default();
        c.insert(stmt("SELECT * FROM ks.t", None, 1));
        c.insert(stmt("INSERT INTO t (k) VALUES (1)", Some("ks"), 2));
        c.insert(stmt("SELECT * FROM ks.u", None, 3));
        c.insert(stmt("SELECT * FROM ks2.t", None, 4));
        c.insert(stmt(
            "BEGIN BATCH INSERT INTO ks.t (k) VALUES (1); APPLY BATCH",
            None,
            5,
        ));
        use SchemaChangeTarget as T;
        use SchemaChangeType as C;
        c.evict_for(&change(C::Created, T::Table, "ks", "t"));
        assert_eq!(c.len(), 5);
        c.evict_for(&change(C::Updated, T::Table, "ks", "t"));
        assert!(
            c.get(&[1; 16]).is_none() && c.get(&[2; 16]).is_none() && c.get(&[5; 16]).is_none()
        );
        assert!(c.get(&[3; 16]).is_some() && c.get(&[4; 16]).is_some());
        c.evict_for(&change(C::Dropped, T::Keyspace, "ks", ""));
        assert!(c.get(&[3; 16]).is_none());
        assert!(c.get(&[4; 16]).is_some(), "other keyspaces untouched");
    }

    #[test]
    fn bounded_oldest_prepared_evicted_and_cleared_on_schema_change() {
        // Checks the cache never holds more than MAX_PREPARED_STATEMENTS, evicts the
        // oldest-prepared first, re-preparing an id does not duplicate it, and clear()
        // forgets everything.
        let c = PreparedCache::default();
        let extra = 10u32;
        for n in 0..MAX_PREPARED_STATEMENTS as u32 + extra {
            c.insert(prepared(n));
        }
        c.insert(prepared(MAX_PREPARED_STATEMENTS as u32)); // re-prepare: no duplicate
        assert_eq!(c.len(), MAX_PREPARED_STATEMENTS);
        assert!(c.get(&prepared(0).id).is_none(), "oldest evicted");
        assert!(c.get(&prepared(extra).id).is_some());
        assert!(
            c.get(&[1, 2, 3]).is_none(),
            "a malformed id is simply unknown"
        );
        c.clear();
        assert!(c.is_empty());
    }
}
