//! The schema: keyspaces, tables and user types; how they are changed (DDL), kept
//! (a checksummed file), versioned, described and exposed in `system_schema`.
//!
//! **Shape.** [`SchemaManager`] owns an immutable [`model::Schema`] snapshot that
//! readers share through an `Arc`. A DDL statement is a pure function from one
//! snapshot to the next ([`ddl`]), validated with Cassandra 4's messages; the
//! manager then does the storage work (create, drop, truncate tables), writes the
//! new schema durably ([`persist`]) and publishes it. [`options`] parses `WITH`
//! options and maps them onto the storage engine; [`builtin`] defines the system
//! keyspaces; [`virtual_tables`] renders `system_schema`; [`describe`] prints
//! CREATE statements for server-side DESCRIBE.
//!
//! **Deliberate difference from Cassandra.** Cassandra stores its schema *in* the
//! `system_schema` tables and merges schema mutations between nodes. Sibyl keeps
//! the schema in one versioned, checksummed file (`schema.db`) and generates the
//! `system_schema` rows from memory, so they cannot disagree with the schema in
//! force. The schema version is an MD5-based UUID of the file's canonical body,
//! like Cassandra's schema digest. Schema agreement between nodes is not here yet.
//!
//! **What not.** Secondary indexes, materialized views, functions, aggregates,
//! triggers and roles are refused; `COMPACT STORAGE` too (as in Cassandra 4).
//! See `docs/cql.md`.

pub mod builtin;
pub mod ddl;
pub mod describe;
pub mod manager;
pub mod model;
pub mod options;
pub mod persist;
pub mod virtual_tables;

pub use manager::SchemaManager;
