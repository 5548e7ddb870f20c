//! [`SchemaManager`]: the node's schema, its persistence and its version.
//!
//! **Concurrency.** The schema is an immutable [`Schema`] value behind an `Arc`;
//! readers clone the `Arc` under a short read lock and never wait for DDL. DDL is
//! serialized by a separate mutex held while the new schema is computed
//! ([`crate::schema::ddl`], pure), storage tables are created, truncated or
//! dropped, and the file is written; the new `Arc` is published last, so a reader
//! sees the old schema or the new one, never a half-applied statement. Neither
//! lock is ever held across an `.await` (there are none here).
//!
//! **Ordering with storage.** CREATE TABLE creates the storage table before the
//! schema that names it is written (a crash in between leaves an unused storage
//! table, harmless); DROP writes the schema first and then deletes the files (a
//! crash in between leaves orphan files, never a table without storage). At open,
//! every table of the schema gets its storage table if it has none.
//!
//! INTERFACE CONTRACT for the query layer: the executor calls the methods below;
//! their signatures are fixed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use sibyl_cql::parser::{DescribeTarget, Statement};
use sibyl_cql::types::CqlType;
use sibyl_storage::Storage;

use crate::clock::{Clock, SystemClock};
use crate::error::{CqlError, CqlResult};
use crate::query::ResultMessage;
use crate::schema::ddl::{self, Ctx, StorageOp};
use crate::schema::model::{KeyspaceMetadata, Schema, TableMetadata, UserType};
use crate::schema::virtual_tables::{self, VirtualRows};
use crate::schema::{builtin, describe, options, persist};

/// The published schema and its version.
struct State {
    schema: Arc<Schema>,
    version: u128,
}

/// The node's schema: keyspaces, tables and types, persisted and versioned.
pub struct SchemaManager {
    storage: Arc<Storage>,
    dir: PathBuf,
    state: RwLock<State>,
    /// Serializes DDL statements (held across their storage and file I/O).
    ddl: Mutex<()>,
    clock: Arc<dyn Clock>,
}

/// A random (version 4) UUID.
pub fn random_uuid() -> u128 {
    let r: u128 = rand::random();
    (r & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
}

impl SchemaManager {
    /// Opens the schema stored under `dir` (creating the built-in keyspaces on first
    /// start) and makes sure every table has its storage table.
    pub fn open(storage: Arc<Storage>, dir: &std::path::Path) -> CqlResult<SchemaManager> {
        Self::open_with_clock(storage, dir, Arc::new(SystemClock))
    }

    /// [`SchemaManager::open`] with an injected clock (dropped-column times).
    pub fn open_with_clock(
        storage: Arc<Storage>,
        dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> CqlResult<SchemaManager> {
        let (mut schema, body) = match persist::read(dir)? {
            Some(body) => (persist::decode(&body, &persist::schema_path(dir))?, body),
            None => {
                let empty = Schema::default();
                let body = persist::encode(&empty);
                (empty, body)
            }
        };
        for (name, ks) in builtin::keyspaces()? {
            schema.keyspaces.insert(name, ks);
        }
        let manager = SchemaManager {
            storage,
            dir: dir.to_path_buf(),
            state: RwLock::new(State {
                schema: Arc::new(schema),
                version: persist::version_of(&body),
            }),
            ddl: Mutex::new(()),
            clock,
        };
        manager.ensure_storage_tables()?;
        Ok(manager)
    }

    fn ensure_storage_tables(&self) -> CqlResult<()> {
        let schema = self.snapshot();
        for t in schema
            .keyspaces
            .values()
            .filter(|k| !builtin::is_builtin(&k.name))
            .flat_map(|k| k.tables.values())
        {
            let wanted = options::storage_options(&t.params);
            match self.storage.table(t.storage_id()) {
                Ok(st) => {
                    if st.options() != wanted {
                        st.set_options(wanted)
                            .map_err(|e| CqlError::Server(e.to_string()))?;
                    }
                }
                Err(sibyl_storage::Error::UnknownTable(_)) => {
                    tracing::info!(table = %t.qualified_name(), "creating missing storage table");
                    self.storage
                        .create_table(t.storage_id(), &t.qualified_name(), wanted)
                        .map_err(|e| {
                            CqlError::Server(format!(
                                "Cannot create storage table {}: {e}",
                                t.qualified_name()
                            ))
                        })?;
                }
                Err(e) => return Err(CqlError::Server(e.to_string())),
            }
        }
        Ok(())
    }

    /// The current schema (a cheap snapshot: later DDL does not change it).
    pub fn snapshot(&self) -> Arc<Schema> {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .schema
            .clone()
    }

    /// The directory holding `schema.db`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A keyspace's metadata.
    pub fn keyspace(&self, name: &str) -> Option<Arc<KeyspaceMetadata>> {
        self.snapshot().keyspaces.get(name).cloned()
    }

    /// A table, or Cassandra's errors: `Keyspace k does not exist` /
    /// `unconfigured table t` (Invalid).
    pub fn table(&self, keyspace: &str, name: &str) -> CqlResult<Arc<TableMetadata>> {
        ddl::lookup_table(&self.snapshot(), keyspace, name)
    }

    /// A user type.
    pub fn user_type(&self, keyspace: &str, name: &str) -> Option<UserType> {
        self.keyspace(keyspace)?.types.get(name).cloned()
    }

    /// Resolves a CQL type expression in `keyspace` (UDT names resolved).
    pub fn resolve_type(&self, keyspace: &str, text: &str) -> CqlResult<CqlType> {
        let ks = self.keyspace(keyspace);
        let empty = std::collections::BTreeMap::new();
        let types = ks.as_ref().map_or(&empty, |k| &k.types);
        ddl::resolve_type_text(keyspace, types, text)
    }

    /// The schema version UUID (changes with every schema change).
    pub fn version(&self) -> u128 {
        self.state.read().unwrap_or_else(|e| e.into_inner()).version
    }

    /// Executes a DDL statement (CREATE/ALTER/DROP KEYSPACE|TABLE|TYPE|INDEX...,
    /// TRUNCATE); `session_keyspace` resolves unqualified names.
    pub fn execute_ddl(
        &self,
        stmt: &Statement,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage> {
        let _serial = self.ddl.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.snapshot();
        let ctx = Ctx {
            session_keyspace,
            now_micros: self.clock.now_micros(),
            new_table_id: random_uuid(),
        };
        let outcome = ddl::apply(&current, stmt, &ctx)?;
        let Some(next) = outcome.schema else {
            for op in &outcome.ops {
                if let StorageOp::Truncate(t) = op {
                    self.truncate(t)?;
                }
            }
            return Ok(outcome.result);
        };
        // Storage work that must precede the schema write (see the module doc).
        let mut created = Vec::new();
        let mut restore_options = Vec::new();
        let before = (|| -> CqlResult<()> {
            for op in &outcome.ops {
                match op {
                    StorageOp::Create(t) => {
                        self.storage
                            .create_table(
                                t.storage_id(),
                                &t.qualified_name(),
                                options::storage_options(&t.params),
                            )
                            .map_err(|e| {
                                CqlError::Server(format!(
                                    "Cannot create storage table {}: {e}",
                                    t.qualified_name()
                                ))
                            })?;
                        created.push(t.storage_id());
                    }
                    StorageOp::SetOptions(t) => {
                        let st = self
                            .storage
                            .table(t.storage_id())
                            .map_err(|e| CqlError::Server(e.to_string()))?;
                        restore_options.push((st.clone(), st.options()));
                        st.set_options(options::storage_options(&t.params))
                            .map_err(|e| CqlError::Config(e.to_string()))?;
                    }
                    StorageOp::Drop(_) | StorageOp::Truncate(_) => {}
                }
            }
            Ok(())
        })();
        let body = persist::encode(&next);
        let written = before.and_then(|()| persist::write(&self.dir, &body));
        if let Err(e) = written {
            for id in created {
                if let Err(undo) = self.storage.drop_table(id) {
                    tracing::warn!(error = %undo, "cannot undo storage table creation");
                }
            }
            for (st, old) in restore_options {
                if let Err(undo) = st.set_options(old) {
                    tracing::warn!(error = %undo, "cannot restore storage table options");
                }
            }
            return Err(e);
        }
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            state.schema = Arc::new(next);
            state.version = persist::version_of(&body);
        }
        for op in &outcome.ops {
            if let StorageOp::Drop(t) = op {
                if let Err(e) = self.storage.drop_table(t.storage_id()) {
                    // The schema no longer names the table: its files are orphans.
                    tracing::warn!(table = %t.qualified_name(), error = %e, "cannot drop storage table");
                }
            }
        }
        Ok(outcome.result)
    }

    fn truncate(&self, t: &TableMetadata) -> CqlResult<()> {
        let st = self
            .storage
            .table(t.storage_id())
            .map_err(|e| CqlError::Truncate(format!("Error during truncate: {e}")))?;
        st.truncate()
            .map_err(|e| CqlError::Truncate(format!("Error during truncate: {e}")))
    }

    /// Server-side DESCRIBE (Cassandra 4: rows `keyspace_name, type, name, create_statement`).
    pub fn describe(
        &self,
        target: &DescribeTarget,
        session_keyspace: Option<&str>,
    ) -> CqlResult<ResultMessage> {
        describe::describe(&self.snapshot(), target, session_keyspace)
    }

    /// Rows of a virtual system table (`system_schema.*`, later `system.local`, ...):
    /// its columns and every row (`None` = null), or `None` if it is not virtual.
    pub fn virtual_table(&self, keyspace: &str, table: &str) -> Option<VirtualRows> {
        if keyspace != "system_schema" {
            return None;
        }
        let schema = self.snapshot();
        let meta = schema.keyspaces.get(keyspace)?.tables.get(table)?.clone();
        virtual_tables::system_schema_table(&schema, &meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The executor shares one SchemaManager between connection tasks.
    #[test]
    fn manager_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SchemaManager>();
    }

    // Random table ids are version-4 UUIDs with the IETF variant.
    #[test]
    fn random_uuid_is_v4() {
        let u = random_uuid();
        assert_eq!((u >> 76) & 0xf, 4);
        assert_eq!((u >> 62) & 0x3, 2);
    }
}
