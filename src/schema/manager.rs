//! SchemaManager: the node's schema (signatures fixed; bodies being written).
//!
//! INTERFACE CONTRACT for the query layer (do not change signatures without telling
//! the lead): the executor calls only the methods below.

use std::sync::Arc;

use sibyl_cql::parser::{DescribeTarget, Statement};
use sibyl_cql::types::{CqlType, CqlValue};
use sibyl_storage::Storage;

use crate::error::CqlResult;
use crate::query::{ColumnSpec, ResultMessage};
use crate::schema::model::{KeyspaceMetadata, TableMetadata, UserType};

/// The node's schema: keyspaces, tables and types, persisted and versioned.
pub struct SchemaManager {
    _storage: Arc<Storage>,
}

impl SchemaManager {
    /// Opens the schema stored under `dir` (creating the built-in keyspaces on first
    /// start) and makes sure every table has its storage table.
    pub fn open(_storage: Arc<Storage>, _dir: &std::path::Path) -> CqlResult<SchemaManager> {
        unimplemented!("being written")
    }

    /// A keyspace's metadata.
    pub fn keyspace(&self, _name: &str) -> Option<Arc<KeyspaceMetadata>> {
        unimplemented!("being written")
    }

    /// A table, or Cassandra's errors: `Keyspace k does not exist` /
    /// `unconfigured table t` (Invalid).
    pub fn table(&self, _keyspace: &str, _name: &str) -> CqlResult<Arc<TableMetadata>> {
        unimplemented!("being written")
    }

    /// A user type.
    pub fn user_type(&self, _keyspace: &str, _name: &str) -> Option<UserType> {
        unimplemented!("being written")
    }

    /// Resolves a CQL type expression in `keyspace` (UDT names resolved).
    pub fn resolve_type(&self, _keyspace: &str, _text: &str) -> CqlResult<CqlType> {
        unimplemented!("being written")
    }

    /// The schema version UUID (changes with every schema change).
    pub fn version(&self) -> u128 {
        unimplemented!("being written")
    }

    /// Executes a DDL statement (CREATE/ALTER/DROP KEYSPACE|TABLE|TYPE|INDEX...,
    /// TRUNCATE); `session_keyspace` resolves unqualified names.
    pub fn execute_ddl(&self, _stmt: &Statement, _session_keyspace: Option<&str>) -> CqlResult<ResultMessage> {
        unimplemented!("being written")
    }

    /// Server-side DESCRIBE (Cassandra 4: rows `keyspace_name, type, name, create_statement`).
    pub fn describe(&self, _target: &DescribeTarget, _session_keyspace: Option<&str>) -> CqlResult<ResultMessage> {
        unimplemented!("being written")
    }

    /// Rows of a virtual system table (`system_schema.*`, later `system.local`, ...):
    /// its columns and every row (`None` = null), or `None` if it is not virtual.
    pub fn virtual_table(&self, _keyspace: &str, _table: &str) -> Option<(Vec<ColumnSpec>, Vec<Vec<Option<CqlValue>>>)> {
        unimplemented!("being written")
    }
}
