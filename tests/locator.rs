//! Replica placement and token allocation on hand-built and allocated rings.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::SeedableRng;
use sibyl::dht::{allocate_tokens, ownership, Token, TokenRange};
use sibyl::locator::{Endpoint, Location, ReplicationStrategy, TokenMetadata, Topology};

/// Vnodes per node in the balance test.
const VNODES: usize = 16;
/// Allowed relative deviation from an even share.
const BALANCE_TOLERANCE: f64 = 0.10;
/// Largest cluster in the balance test.
const MAX_NODES: u8 = 12;

fn ep(n: u8) -> Endpoint {
    Endpoint::from(([10, 0, 0, n], 7000))
}

fn simple(rf: usize) -> ReplicationStrategy {
    ReplicationStrategy::SimpleStrategy {
        replication_factor: rf,
    }
}

fn nts(dcs: &[(&str, usize)]) -> ReplicationStrategy {
    ReplicationStrategy::NetworkTopologyStrategy {
        datacenters: dcs.iter().map(|(dc, rf)| (dc.to_string(), *rf)).collect(),
    }
}

/// Ring 0 -> .1, 100 -> .2, 200 -> .3, 300 -> .4.
fn four_node_ring() -> TokenMetadata {
    let mut tm = TokenMetadata::new();
    for n in 1..=4u8 {
        tm.update_normal_tokens(ep(n), [Token((i64::from(n) - 1) * 100)]);
    }
    tm
}

#[test]
fn simple_strategy_walks_from_the_successor() {
    // SimpleStrategy RF 1/2/3 takes the token's successor and the next distinct endpoints.
    let tm = four_node_ring();
    let topo = Topology::simple_snitch();
    assert_eq!(
        simple(1).calculate_natural_replicas(Token(50), &tm, &topo),
        vec![ep(2)]
    );
    assert_eq!(
        simple(2).calculate_natural_replicas(Token(50), &tm, &topo),
        vec![ep(2), ep(3)]
    );
    assert_eq!(
        simple(3).calculate_natural_replicas(Token(50), &tm, &topo),
        vec![ep(2), ep(3), ep(4)]
    );
    // A ring token is its own range's right bound.
    assert_eq!(
        simple(1).calculate_natural_replicas(Token(100), &tm, &topo),
        vec![ep(2)]
    );
    assert_eq!(
        simple(1).calculate_natural_replicas(Token(101), &tm, &topo),
        vec![ep(3)]
    );
}

#[test]
fn simple_strategy_wraps_around_the_ring() {
    // Tokens past the last ring token, and MIN/MAX, wrap to the first token's owner.
    let tm = four_node_ring();
    let topo = Topology::simple_snitch();
    assert_eq!(
        simple(3).calculate_natural_replicas(Token(250), &tm, &topo),
        vec![ep(4), ep(1), ep(2)]
    );
    assert_eq!(
        simple(3).calculate_natural_replicas(Token(301), &tm, &topo),
        vec![ep(1), ep(2), ep(3)]
    );
    assert_eq!(
        simple(2).calculate_natural_replicas(Token::MAX, &tm, &topo),
        vec![ep(1), ep(2)]
    );
    assert_eq!(
        simple(2).calculate_natural_replicas(Token::MIN, &tm, &topo),
        vec![ep(1), ep(2)]
    );
    assert_eq!(
        simple(1).calculate_natural_replicas(Token(-5), &tm, &topo),
        vec![ep(1)]
    );
}

#[test]
fn simple_strategy_caps_at_node_count_and_skips_repeated_endpoints() {
    // RF above the node count yields every node once; a node's consecutive vnodes count once.
    let tm = four_node_ring();
    let topo = Topology::simple_snitch();
    assert_eq!(
        simple(5).calculate_natural_replicas(Token(50), &tm, &topo),
        vec![ep(2), ep(3), ep(4), ep(1)]
    );
    let mut vnodes = TokenMetadata::new();
    vnodes.update_normal_tokens(ep(1), [Token(0), Token(10)]);
    vnodes.update_normal_tokens(ep(2), [Token(20)]);
    vnodes.update_normal_tokens(ep(3), [Token(30)]);
    assert_eq!(
        simple(2).calculate_natural_replicas(Token(-1), &vnodes, &topo),
        vec![ep(1), ep(2)]
    );
}

/// Two DCs with three racks each; ring order (token: endpoint dc/rack):
/// 10: .1 dc1/r1, 20: .2 dc1/r1, 30: .11 dc2/r1, 40: .3 dc1/r2, 50: .12 dc2/r1,
/// 60: .4 dc1/r3, 70: .13 dc2/r2, 80: .14 dc2/r3, 90: .5 dc1/r2.
fn two_dc_ring() -> (TokenMetadata, Topology) {
    let layout: [(i64, u8, &str, &str); 9] = [
        (10, 1, "dc1", "r1"),
        (20, 2, "dc1", "r1"),
        (30, 11, "dc2", "r1"),
        (40, 3, "dc1", "r2"),
        (50, 12, "dc2", "r1"),
        (60, 4, "dc1", "r3"),
        (70, 13, "dc2", "r2"),
        (80, 14, "dc2", "r3"),
        (90, 5, "dc1", "r2"),
    ];
    let mut tm = TokenMetadata::new();
    let mut topo = Topology::default();
    for (token, n, dc, rack) in layout {
        tm.update_normal_tokens(ep(n), [Token(token)]);
        topo.set_location(ep(n), Location::new(dc, rack));
    }
    (tm, topo)
}

#[test]
fn nts_picks_distinct_racks_first() {
    // NTS dc1:3 dc2:3 skips .2 and .12 (racks already used) and takes one endpoint per rack.
    let (tm, topo) = two_dc_ring();
    let replicas = nts(&[("dc1", 3), ("dc2", 3)]).calculate_natural_replicas(Token(5), &tm, &topo);
    assert_eq!(replicas, vec![ep(1), ep(11), ep(3), ep(4), ep(13), ep(14)]);
    // SimpleStrategy on the same ring would have taken the same-rack neighbour.
    assert_eq!(
        simple(2).calculate_natural_replicas(Token(5), &tm, &topo),
        vec![ep(1), ep(2)]
    );
}

#[test]
fn nts_falls_back_to_used_racks_once_every_rack_is_used() {
    // dc1 RF 4 > 3 racks: after r1, r2, r3 it adds the skipped .2 (r1) before later endpoints.
    let (tm, topo) = two_dc_ring();
    let replicas = nts(&[("dc1", 4), ("dc2", 3)]).calculate_natural_replicas(Token(5), &tm, &topo);
    assert_eq!(
        replicas,
        vec![ep(1), ep(11), ep(3), ep(4), ep(2), ep(13), ep(14)]
    );
    // dc1 RF 5 = all its nodes: the last one (.5, r2) is taken as the walk reaches it.
    let all = nts(&[("dc1", 5)]).calculate_natural_replicas(Token(5), &tm, &topo);
    assert_eq!(all, vec![ep(1), ep(3), ep(4), ep(2), ep(5)]);
}

#[test]
fn nts_with_fewer_racks_than_rf_and_more_rf_than_nodes() {
    // A DC with two racks and RF 3 uses both racks, then the skipped same-rack node; RF above the
    // DC's node count yields every node in it, and the walk still ends.
    let mut tm = TokenMetadata::new();
    let mut topo = Topology::default();
    for (token, n, rack) in [(10, 1, "r1"), (20, 2, "r1"), (30, 3, "r2")] {
        tm.update_normal_tokens(ep(n), [Token(token)]);
        topo.set_location(ep(n), Location::new("small", rack));
    }
    let strategy = nts(&[("small", 3)]);
    assert_eq!(
        strategy.calculate_natural_replicas(Token(0), &tm, &topo),
        vec![ep(1), ep(3), ep(2)]
    );
    // Starting at .3 (wraps): r2, r1, then the skipped .2.
    assert_eq!(
        strategy.calculate_natural_replicas(Token(25), &tm, &topo),
        vec![ep(3), ep(1), ep(2)]
    );
    let too_many = nts(&[("small", 7)]);
    assert_eq!(
        too_many
            .calculate_natural_replicas(Token(0), &tm, &topo)
            .len(),
        3
    );
    // One rack only: the rack check is moot once it is used.
    let one_rack = Topology::simple_snitch();
    let replicas = nts(&[("datacenter1", 2)]).calculate_natural_replicas(Token(0), &tm, &one_rack);
    assert_eq!(replicas, vec![ep(1), ep(2)]);
}

/// Probe tokens inside `range`: just past the left bound, the middle, the right bound,
/// and the ring's ends when it wraps.
fn probes(range: &TokenRange) -> Vec<Token> {
    let mut out = vec![range.right];
    for piece in range.unwrap() {
        let left = piece.left.0;
        let right = if piece.right == Token::MIN {
            i64::MAX
        } else {
            piece.right.0
        };
        out.push(Token(left.saturating_add(1)));
        out.push(Token(
            left + ((i128::from(right) - i128::from(left)) / 2) as i64,
        ));
        out.push(Token(right));
    }
    out.retain(|t| range.contains(*t));
    out
}

#[test]
fn every_token_in_a_range_has_the_same_replicas() {
    // Replicas are a function of the primary range: probes across each range (wrapping ones
    // included) agree with the range's right bound, for SimpleStrategy and NTS.
    let seed = 42;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tm = TokenMetadata::new();
    let mut topo = Topology::default();
    for n in 1..=6u8 {
        let tokens = allocate_tokens(4, &tm, &mut rng);
        tm.update_normal_tokens(ep(n), tokens);
        let dc = if n % 2 == 0 { "dc1" } else { "dc2" };
        topo.set_location(ep(n), Location::new(dc, format!("r{}", n % 3)));
    }
    let strategies = [simple(3), nts(&[("dc1", 2), ("dc2", 2)])];
    for endpoint in tm.endpoints().collect::<Vec<_>>() {
        for range in tm.owned_ranges(&endpoint) {
            for strategy in &strategies {
                let expected = strategy.calculate_natural_replicas(range.right, &tm, &topo);
                assert_eq!(expected[0], endpoint, "seed {seed}: primary of {range}");
                for probe in probes(&range) {
                    assert_eq!(
                        strategy.calculate_natural_replicas(probe, &tm, &topo),
                        expected,
                        "seed {seed}: {probe} in {range} under {strategy:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn allocator_balances_ownership_as_nodes_join() {
    // Adding nodes one by one with 16 vnodes, every node owns 1/N ± 10 % for N = 3..=12,
    // and ownership sums to 1.
    for seed in [1u64, 2, 3, 2024] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tm = TokenMetadata::new();
        for n in 1..=MAX_NODES {
            let tokens = allocate_tokens(VNODES, &tm, &mut rng);
            assert_eq!(
                tokens.len(),
                VNODES,
                "seed {seed}: node {n} got {} tokens",
                tokens.len()
            );
            tm.update_normal_tokens(ep(n), tokens);
            assert_eq!(
                tm.token_count(),
                VNODES * usize::from(n),
                "seed {seed}: token collision at node {n}"
            );
            let owns: BTreeMap<Endpoint, f64> = ownership(&tm);
            let total: f64 = owns.values().sum();
            assert!(
                (total - 1.0).abs() < 1e-9,
                "seed {seed}: {n} nodes own {total}"
            );
            if n < 3 {
                continue;
            }
            let even = 1.0 / f64::from(n);
            for (endpoint, share) in &owns {
                let deviation = (share - even).abs() / even;
                assert!(
                    deviation <= BALANCE_TOLERANCE,
                    "seed {seed}: {n} nodes, {endpoint} owns {share:.4} (even {even:.4}, off {:.1} %)",
                    deviation * 100.0
                );
            }
        }
    }
}

#[test]
fn ownership_sums_to_one_on_hand_built_rings() {
    // Ownership is the summed primary-range sizes; a lone node owns the whole ring.
    let tm = four_node_ring();
    let owns = ownership(&tm);
    assert!((owns.values().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((owns[&ep(2)] - 100.0 / 2f64.powi(64)).abs() < 1e-18);
    let mut single = TokenMetadata::new();
    single.update_normal_tokens(ep(9), [Token(123)]);
    assert_eq!(ownership(&single)[&ep(9)], 1.0);
}
