//! Schema: keyspaces, tables, types and their persistence (being written).

pub mod manager;
pub mod model;

pub use manager::SchemaManager;
