//! Token allocation for a joining node, and per-endpoint ring ownership.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use sibyl_storage::token::Token;

use super::range::{ring_offset, token_at_offset, width, RING_SIZE};
use crate::locator::{Endpoint, TokenMetadata};

/// The fewest ring positions a stolen slice may cover (so a new token never lands on an
/// existing one).
const MIN_SLICE: u128 = 1;

/// How many random draws the fallback makes before giving up on finding a free token.
const MAX_RANDOM_ATTEMPTS: usize = 64;

/// Each endpoint's fraction of the ring: the summed sizes of its primary ranges.
/// Fractions sum to 1 on a non-empty ring.
pub fn ownership(metadata: &TokenMetadata) -> BTreeMap<Endpoint, f64> {
    let mut owned: BTreeMap<Endpoint, u128> = BTreeMap::new();
    let mut previous = metadata.ring().last().map(|(t, _)| t);
    for (token, endpoint) in metadata.ring() {
        if let Some(left) = previous {
            *owned.entry(endpoint).or_default() += width(left, token);
        }
        previous = Some(token);
    }
    owned
        .into_iter()
        .map(|(ep, w)| (ep, w as f64 / RING_SIZE as f64))
        .collect()
}

/// Who owns a token while allocating: an existing endpoint, or the joining node.
type Owner = Option<Endpoint>;

/// Per-owner totals and largest range `(left, width)` of the working ring.
struct Loads {
    owned: HashMap<Owner, u128>,
    largest: HashMap<Owner, (Token, u128)>,
}

fn loads(ring: &BTreeMap<Token, Owner>) -> Loads {
    let mut loads = Loads {
        owned: HashMap::new(),
        largest: HashMap::new(),
    };
    let mut previous = ring.keys().next_back().copied();
    for (token, owner) in ring {
        if let Some(left) = previous {
            let w = width(left, *token);
            *loads.owned.entry(*owner).or_default() += w;
            let largest = loads.largest.entry(*owner).or_insert((left, 0));
            if w > largest.1 {
                *largest = (left, w);
            }
        }
        previous = Some(*token);
    }
    loads
}

/// Chooses `num_tokens` tokens for a node joining the ring in `metadata`.
///
/// On an empty ring the tokens are evenly spaced from a random offset. Otherwise, for
/// each new token, the joining node steals the start of the most-loaded endpoint's
/// largest range: a slice sized to bring the newcomer toward `1/N` of the ring (its
/// remaining deficit spread over its remaining tokens) without pushing the donor below
/// `1/N` (once no more tokens remain than over-loaded endpoints, each token takes a
/// donor's whole excess). The result is balanced ownership; a random free token is the fallback when no
/// range can be split.
pub fn allocate_tokens<R: Rng + ?Sized>(
    num_tokens: usize,
    metadata: &TokenMetadata,
    rng: &mut R,
) -> Vec<Token> {
    if num_tokens == 0 {
        return Vec::new();
    }
    if metadata.is_empty() {
        return evenly_spaced(num_tokens, rng);
    }
    let node_count = metadata.endpoints().count() as u128 + 1;
    let target = RING_SIZE / node_count;
    let mut ring: BTreeMap<Token, Owner> = metadata.ring().map(|(t, ep)| (t, Some(ep))).collect();
    let mut allocated = Vec::with_capacity(num_tokens);
    for i in 0..num_tokens {
        let loads = loads(&ring);
        let mine = loads.owned.get(&None).copied().unwrap_or(0);
        let need = target.saturating_sub(mine);
        let tokens_left = (num_tokens - i) as u128;
        let quota = need.div_ceil(tokens_left);
        let donors_over_target = loads
            .owned
            .iter()
            .filter(|(owner, owned)| owner.is_some() && **owned > target)
            .count() as u128;
        let donor = loads
            .owned
            .iter()
            .filter(|(owner, _)| owner.is_some())
            .max_by_key(|(owner, owned)| (**owned, std::cmp::Reverse(**owner)))
            .map(|(owner, owned)| (*owner, *owned));
        let chosen = donor.and_then(|(owner, owned)| {
            let (left, size) = loads.largest.get(&owner).copied()?;
            if size <= MIN_SLICE {
                return None;
            }
            let excess = owned.saturating_sub(target);
            // With no more tokens left than over-loaded donors, each remaining token must
            // take a donor's whole excess or some excess would never be reclaimed.
            let slice = if donors_over_target >= tokens_left {
                excess.min(need)
            } else {
                quota.min(excess)
            };
            let take = slice.clamp(MIN_SLICE, size - MIN_SLICE);
            Some(token_at_offset(ring_offset(left) + take))
        });
        let token = match chosen {
            Some(t) if t != Token::MIN && !ring.contains_key(&t) => Some(t),
            _ => random_free_token(&ring, rng),
        };
        if let Some(token) = token {
            ring.insert(token, None);
            allocated.push(token);
        }
    }
    allocated.sort();
    allocated
}

fn evenly_spaced<R: Rng + ?Sized>(num_tokens: usize, rng: &mut R) -> Vec<Token> {
    let step = RING_SIZE / num_tokens as u128;
    let start = u128::from(rng.random::<u64>());
    let mut tokens: Vec<Token> = (0..num_tokens as u128)
        .map(|i| token_at_offset(start + i * step))
        .map(|t| {
            if t == Token::MIN {
                Token(i64::MIN + 1)
            } else {
                t
            }
        })
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

fn random_free_token<R: Rng + ?Sized>(ring: &BTreeMap<Token, Owner>, rng: &mut R) -> Option<Token> {
    (0..MAX_RANDOM_ATTEMPTS)
        .map(|_| Token(rng.random::<i64>()))
        .find(|t| *t != Token::MIN && !ring.contains_key(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn ep(n: u8) -> Endpoint {
        Endpoint::from(([127, 0, 0, n], 7000))
    }

    #[test]
    fn first_node_gets_evenly_spaced_tokens() {
        // An empty ring: distinct tokens, one node owning everything.
        let mut rng = StdRng::seed_from_u64(7);
        let tokens = allocate_tokens(16, &TokenMetadata::new(), &mut rng);
        assert_eq!(tokens.len(), 16);
        let mut tm = TokenMetadata::new();
        tm.update_normal_tokens(ep(1), tokens);
        assert_eq!(tm.token_count(), 16);
        assert_eq!(ownership(&tm).get(&ep(1)).copied(), Some(1.0));
    }

    #[test]
    fn second_node_takes_half() {
        // Two nodes at 8 vnodes end up near 50/50.
        let mut rng = StdRng::seed_from_u64(11);
        let mut tm = TokenMetadata::new();
        tm.update_normal_tokens(ep(1), allocate_tokens(8, &tm, &mut rng));
        let second = allocate_tokens(8, &tm, &mut rng);
        tm.update_normal_tokens(ep(2), second);
        assert_eq!(tm.token_count(), 16);
        let owns = ownership(&tm);
        for share in owns.values() {
            assert!((share - 0.5).abs() < 0.01, "{owns:?}");
        }
    }

    #[test]
    fn ownership_of_empty_ring_is_empty() {
        // Nothing owns anything on an empty ring.
        assert!(ownership(&TokenMetadata::new()).is_empty());
        assert!(
            allocate_tokens(0, &TokenMetadata::new(), &mut StdRng::seed_from_u64(1)).is_empty()
        );
    }
}
