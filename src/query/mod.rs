//! The query layer (Cassandra's QueryProcessor): CQL statements in, results out.
//!
//! Every CQL request, from the native protocol server, cqlsh or a test, goes through
//! [`QueryProcessor`]: there is no second execution path. Statements are parsed
//! once ([`QueryProcessor::prepare`]) and executed many times with bound values.
//! DDL and DESCRIBE go to the schema ([`crate::schema`]); DML and SELECT become
//! storage mutations and reads through the table mapping documented in
//! [`crate::schema::model`].

pub mod result;

pub use result::{ColumnSpec, QueryOptions, ResultMessage, Rows, SchemaChange, SchemaChangeTarget, SchemaChangeType};
