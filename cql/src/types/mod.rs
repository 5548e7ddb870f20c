//! The CQL type system and value codecs.
//!
//! This module knows what CQL types exist, how to read and write their
//! names, and how their values look in each of the representations Sibyl
//! needs. It does no I/O; the protocol, query and storage layers call it.
//!
//! | representation | module | used by |
//! |----------------|--------|---------|
//! | type text (`map<text, frozen<list<int>>>`) | [`cql_type`] | DDL, `system_schema` |
//! | protocol `[option]` (result metadata) | [`cql_type`] | native protocol |
//! | protocol value bytes (§6 of the v4/v5 spec) | [`codec`] | bound values, rows, storage cells |
//! | literals (`42`, `'2024-02-29'`, `0xff`) | [`literal`], [`temporal`] | statement preparation |
//! | cqlsh text and `toJson` | [`format`] | tooling, `SELECT JSON` |
//! | CQL order | [`compare`] | `ORDER BY`, `min`/`max`, sets/maps |
//! | byte-comparable clustering keys | [`comparable`] | storage engine sort order |
//!
//! Values are [`CqlValue`]s (see [`value`] for the representation of each
//! type); arbitrary-precision numbers live in [`num`]. All failures are
//! [`TypeError`]s. Nothing in this module panics on untrusted bytes or text:
//! decoders check lengths before slicing and before allocating, and
//! recursion over client-controlled structure is bounded by
//! [`MAX_NESTING_DEPTH`].
//!
//! References: Cassandra's `doc/modules/cassandra/pages/developing/cql/types.adoc`,
//! `doc/native_protocol_v4.spec` / `v5.spec` (§4.2.5.2 and §6),
//! `db/marshal/*Type.java`, `serializers/*Serializer.java`,
//! `cql3/Constants.java` and cqlsh's `formatting.py`.

pub mod codec;
pub mod comparable;
pub mod compare;
pub mod cql_type;
pub mod error;
pub mod format;
pub mod literal;
pub mod num;
pub mod temporal;
pub mod value;

/// Deepest nesting of types (and therefore values) we parse or decode.
/// Cassandra has no explicit bound; 32 levels is far beyond any real schema
/// (`frozen<list<frozen<map<...>>>>` rarely exceeds 4) and keeps recursion on
/// client-provided type text or `[option]` bytes well inside the stack.
pub const MAX_NESTING_DEPTH: usize = 32;

pub use codec::{deserialize, serialize, serialize_into};
pub use comparable::{from_comparable, from_comparable_opt, to_comparable, to_comparable_opt};
pub use compare::compare;
pub use cql_type::{CqlType, UdtLookup};
pub use error::{TypeError, TypeResult};
pub use format::{format_cqlsh, to_json};
pub use literal::{parse_literal, value_from_string, LiteralKind};
pub use num::{Decimal, Varint};
pub use value::{CqlValue, Duration};
