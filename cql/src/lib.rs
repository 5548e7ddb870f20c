//! The CQL language for Sibyl, without I/O: text in, syntax trees and typed values out.
//!
//! - [`parser`]: a lexer and recursive-descent parser for CQL 3.4 as Cassandra 4/5
//!   accept it, producing an AST, with syntax errors worded like Cassandra's
//!   (`line 1:7 no viable alternative at input 'TABL'`) so clients and people see
//!   the messages they know.
//! - [`types`]: the CQL type system, the native protocol's value encodings, literal
//!   parsing and cqlsh-style formatting, each type's order, and the byte-comparable
//!   encoding of clustering values that the storage engine sorts with `memcmp`.
//!
//! Native protocol frames join this crate with the protocol issue; schema and query
//! execution live in the node crate (`src/`).
#![deny(clippy::unwrap_used)]

pub mod parser;
pub mod protocol;
pub mod types;
