//! Distributed hash table primitives: the pieces of Cassandra's `org.apache.cassandra.dht`
//! that the cluster layer needs, kept pure (no I/O, no clocks, no globals).
//!
//! The Murmur3 ring is the set of signed 64-bit [`Token`]s, ordered as integers, with
//! [`Token::MIN`] as the ring's origin: no partition ever hashes to it, so it serves as
//! the "start/end of the ring" marker exactly as in Cassandra.
//!
//! [`TokenRange`] is Cassandra's `Range<Token>`: `(left, right]`, left exclusive and
//! right inclusive. When `left >= right` the range wraps past the ring's end; `(t, t]`
//! is the whole ring (for `t == MIN` that is the canonical full ring). Range arithmetic
//! ([`TokenRange::size`]) is done in `u128` on offsets from `MIN`, so the ring holds
//! exactly 2^64 positions and no width computation can overflow.
//!
//! [`allocate_tokens`] is the token allocator used when a node joins: a greedy
//! splitter (in the spirit of Cassandra's `dht.tokenallocator`, far simpler) that
//! steals, for each new vnode, a slice of the most over-loaded endpoint's largest range,
//! sized so the newcomer converges on an even `1/N` share. [`ownership`] reports each
//! endpoint's fraction of the ring (as `nodetool status` "Owns" does with no keyspace).

mod range;
mod token_allocator;

pub use range::TokenRange;
pub use token_allocator::{allocate_tokens, ownership};

pub use sibyl_storage::token::Token;
