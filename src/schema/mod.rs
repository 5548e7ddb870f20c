//! Schema: keyspaces, tables, types and their persistence (being written).

pub mod model;
