//! The one error type of the `types` module.
//!
//! Every failure of the type system and value codecs surfaces as a
//! [`TypeError`]. The variants follow the exception classes Cassandra uses for
//! the same situations so the protocol layer can map them onto error codes:
//!
//! * [`TypeError::Marshal`] — a serialized value is malformed (Cassandra's
//!   `MarshalException`); the text is Cassandra's message where we know it,
//!   e.g. `Expected 4 or 0 byte int (3)`.
//! * [`TypeError::InvalidRequest`] — a literal does not fit its receiver or a
//!   type definition is not allowed (`InvalidRequestException`), e.g.
//!   `Invalid INTEGER constant (abc) for "c" of type int`.
//! * [`TypeError::Syntax`] — CQL type text that does not parse.
//! * [`TypeError::UnknownType`] — a user-defined type name the lookup closure
//!   did not resolve.
//! * [`TypeError::Mismatch`] — a caller handed a value whose shape does not
//!   match the type it asked us to encode it as (a programming error upstream,
//!   never caused by client bytes).
//! * [`TypeError::NotComparable`] — the type has no clustering order
//!   (`duration`).
//! * [`TypeError::Comparable`] — byte-comparable bytes that do not decode.
//! * [`TypeError::TooDeep`] — nesting beyond the bounds in
//!   [`crate::types::MAX_NESTING_DEPTH`].

use thiserror::Error;

/// Errors of the CQL type system and value codecs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TypeError {
    /// Malformed serialized value (Cassandra `MarshalException`).
    #[error("{0}")]
    Marshal(String),
    /// Literal or type definition rejected (Cassandra `InvalidRequestException`).
    #[error("{0}")]
    InvalidRequest(String),
    /// CQL type text that does not parse.
    #[error("{0}")]
    Syntax(String),
    /// A user-defined type the lookup did not resolve.
    #[error("Unknown type {0}")]
    UnknownType(String),
    /// A value whose shape does not match the requested type.
    #[error("value {value} does not match type {ty}")]
    Mismatch {
        /// Short description of the value (its variant name).
        value: String,
        /// The type it was encoded as.
        ty: String,
    },
    /// The type has no order usable for clustering.
    #[error("{0} type is not comparable and cannot be used in a clustering key")]
    NotComparable(String),
    /// Byte-comparable encoding that does not decode.
    #[error("invalid byte-comparable encoding: {0}")]
    Comparable(String),
    /// Nesting deeper than the module's bound.
    #[error("type or value nested deeper than {0} levels")]
    TooDeep(usize),
}

impl TypeError {
    pub(crate) fn marshal(msg: impl Into<String>) -> Self {
        TypeError::Marshal(msg.into())
    }
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        TypeError::InvalidRequest(msg.into())
    }
}

/// Result alias for this module.
pub type TypeResult<T> = Result<T, TypeError>;
