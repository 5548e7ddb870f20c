//! The ring: which endpoint owns which tokens.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use sibyl_storage::token::Token;

use super::Endpoint;
use crate::dht::TokenRange;

/// A node's permanent identity (Cassandra's host id UUID, as its 128 bits).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct HostId(pub u128);

/// Cassandra's `TokenMetadata`: the sorted token -> endpoint map of the normal (joined)
/// nodes, each endpoint's tokens, and host ids.
#[derive(Clone, Default, Debug)]
pub struct TokenMetadata {
    token_to_endpoint: BTreeMap<Token, Endpoint>,
    endpoint_to_tokens: BTreeMap<Endpoint, BTreeSet<Token>>,
    host_ids: HashMap<Endpoint, HostId>,
}

impl TokenMetadata {
    /// An empty ring.
    pub fn new() -> TokenMetadata {
        TokenMetadata::default()
    }

    /// Makes `endpoint` a normal owner of exactly `tokens` (replacing its previous
    /// tokens). As in Cassandra, a token another endpoint held moves to `endpoint`.
    pub fn update_normal_tokens(
        &mut self,
        endpoint: Endpoint,
        tokens: impl IntoIterator<Item = Token>,
    ) {
        self.remove_endpoint(&endpoint);
        let mut owned = BTreeSet::new();
        for token in tokens {
            if let Some(previous) = self.token_to_endpoint.insert(token, endpoint) {
                if previous != endpoint {
                    if let Some(set) = self.endpoint_to_tokens.get_mut(&previous) {
                        set.remove(&token);
                        if set.is_empty() {
                            self.endpoint_to_tokens.remove(&previous);
                        }
                    }
                }
            }
            owned.insert(token);
        }
        if !owned.is_empty() {
            self.endpoint_to_tokens.insert(endpoint, owned);
        }
    }

    /// Removes `endpoint` and its tokens from the ring (its host id is kept).
    pub fn remove_endpoint(&mut self, endpoint: &Endpoint) {
        if let Some(tokens) = self.endpoint_to_tokens.remove(endpoint) {
            for token in tokens {
                self.token_to_endpoint.remove(&token);
            }
        }
    }

    /// Records `endpoint`'s host id.
    pub fn update_host_id(&mut self, endpoint: Endpoint, host_id: HostId) {
        self.host_ids.insert(endpoint, host_id);
    }

    /// `endpoint`'s host id, if known.
    pub fn host_id(&self, endpoint: &Endpoint) -> Option<HostId> {
        self.host_ids.get(endpoint).copied()
    }

    /// The endpoint with `host_id`, if known.
    pub fn endpoint_for_host_id(&self, host_id: HostId) -> Option<Endpoint> {
        self.host_ids
            .iter()
            .find(|(_, id)| **id == host_id)
            .map(|(ep, _)| *ep)
    }

    /// Whether `endpoint` owns tokens.
    pub fn is_member(&self, endpoint: &Endpoint) -> bool {
        self.endpoint_to_tokens.contains_key(endpoint)
    }

    /// The owner of ring token `token`.
    pub fn endpoint(&self, token: Token) -> Option<Endpoint> {
        self.token_to_endpoint.get(&token).copied()
    }

    /// `endpoint`'s tokens, ascending.
    pub fn tokens(&self, endpoint: &Endpoint) -> Vec<Token> {
        self.endpoint_to_tokens
            .get(endpoint)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The normal endpoints, ascending by address.
    pub fn endpoints(&self) -> impl Iterator<Item = Endpoint> + '_ {
        self.endpoint_to_tokens.keys().copied()
    }

    /// The (token, owner) pairs in ring order.
    pub fn ring(&self) -> impl Iterator<Item = (Token, Endpoint)> + '_ {
        self.token_to_endpoint.iter().map(|(t, e)| (*t, *e))
    }

    /// All ring tokens, ascending.
    pub fn sorted_tokens(&self) -> Vec<Token> {
        self.token_to_endpoint.keys().copied().collect()
    }

    /// The number of ring tokens.
    pub fn token_count(&self) -> usize {
        self.token_to_endpoint.len()
    }

    /// Whether the ring has no tokens.
    pub fn is_empty(&self) -> bool {
        self.token_to_endpoint.is_empty()
    }

    /// Index in [`Self::sorted_tokens`] of the first token `>= token`, wrapping to 0
    /// past the last one; `None` for an empty ring.
    pub fn first_token_index(&self, token: Token) -> Option<usize> {
        if self.is_empty() {
            return None;
        }
        let below = self.token_to_endpoint.range(..token).count();
        Some(if below == self.token_count() {
            0
        } else {
            below
        })
    }

    /// The ring token whose range holds `token`: the first token `>= token`, wrapping.
    pub fn first_token(&self, token: Token) -> Option<Token> {
        self.ring_iterator(token).next()
    }

    /// Every ring token once, starting at [`Self::first_token`] of `start` and wrapping.
    pub fn ring_iterator(&self, start: Token) -> impl Iterator<Item = Token> + '_ {
        self.token_to_endpoint
            .range(start..)
            .chain(self.token_to_endpoint.range(..start))
            .map(|(t, _)| *t)
    }

    /// The ring token before `token` (wrapping); `token` itself for a one-token ring.
    pub fn predecessor(&self, token: Token) -> Option<Token> {
        self.token_to_endpoint
            .range((Bound::Unbounded, Bound::Excluded(token)))
            .next_back()
            .or_else(|| self.token_to_endpoint.iter().next_back())
            .map(|(t, _)| *t)
    }

    /// The range ring token `token` is primary for: `(predecessor, token]`; the full
    /// ring `(t, t]` on a one-token ring. `None` if `token` is not a ring token.
    pub fn primary_range_for(&self, token: Token) -> Option<TokenRange> {
        if !self.token_to_endpoint.contains_key(&token) {
            return None;
        }
        self.predecessor(token)
            .map(|left| TokenRange::new(left, token))
    }

    /// The primary ranges of `endpoint`'s tokens, in token order.
    pub fn owned_ranges(&self, endpoint: &Endpoint) -> Vec<TokenRange> {
        self.tokens(endpoint)
            .into_iter()
            .filter_map(|t| self.primary_range_for(t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(n: u8) -> Endpoint {
        Endpoint::from(([127, 0, 0, n], 7000))
    }

    fn ring() -> TokenMetadata {
        let mut tm = TokenMetadata::new();
        tm.update_normal_tokens(ep(1), [Token(-100), Token(100)]);
        tm.update_normal_tokens(ep(2), [Token(0)]);
        tm
    }

    #[test]
    fn successor_wraps_past_the_last_token() {
        // Tokens above the last ring token belong to the first one.
        let tm = ring();
        assert_eq!(tm.first_token_index(Token(-100)), Some(0));
        assert_eq!(tm.first_token_index(Token(-99)), Some(1));
        assert_eq!(tm.first_token_index(Token(101)), Some(0));
        assert_eq!(tm.first_token(Token::MAX), Some(Token(-100)));
        assert_eq!(tm.first_token(Token::MIN), Some(Token(-100)));
        let walk: Vec<Token> = tm.ring_iterator(Token(1)).collect();
        assert_eq!(walk, vec![Token(100), Token(-100), Token(0)]);
        assert_eq!(TokenMetadata::new().first_token_index(Token(0)), None);
    }

    #[test]
    fn primary_and_owned_ranges() {
        // Each token is primary for (predecessor, token]; the first token's range wraps.
        let tm = ring();
        assert_eq!(
            tm.primary_range_for(Token(-100)),
            Some(TokenRange::new(Token(100), Token(-100)))
        );
        assert_eq!(
            tm.primary_range_for(Token(0)),
            Some(TokenRange::new(Token(-100), Token(0)))
        );
        assert_eq!(tm.primary_range_for(Token(5)), None);
        assert_eq!(
            tm.owned_ranges(&ep(1)),
            vec![
                TokenRange::new(Token(100), Token(-100)),
                TokenRange::new(Token(0), Token(100))
            ]
        );
        let mut single = TokenMetadata::new();
        single.update_normal_tokens(ep(3), [Token(7)]);
        assert!(single.owned_ranges(&ep(3))[0].is_full_ring());
    }

    #[test]
    fn tokens_move_and_host_ids_resolve() {
        // A token claimed by another endpoint moves to it; removing an endpoint drops its tokens.
        let mut tm = ring();
        tm.update_normal_tokens(ep(3), [Token(0)]);
        assert_eq!(tm.endpoint(Token(0)), Some(ep(3)));
        assert!(!tm.is_member(&ep(2)));
        tm.update_host_id(ep(3), HostId(9));
        assert_eq!(tm.endpoint_for_host_id(HostId(9)), Some(ep(3)));
        tm.remove_endpoint(&ep(1));
        assert_eq!(tm.sorted_tokens(), vec![Token(0)]);
        assert_eq!(tm.host_id(&ep(3)), Some(HostId(9)));
    }
}
