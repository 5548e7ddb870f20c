//! Convergence of the gossip protocol in simulated clusters of 3, 10 and 100
//! nodes with one or two seeds.
//!
//! Three figures are measured per run, in whole gossip rounds (1 s each):
//! * cold start: all nodes start within the same second knowing only the
//!   seeds; rounds until every node holds every node's initial state;
//! * all update: once converged, every node changes LOAD at the same instant;
//!   rounds until every node holds every node's new version;
//! * one update: one node changes SCHEMA; rounds until everybody has it.
//!
//! Bounds, with L = ceil(log2 N). Measured over seeds 1..=40 (latency 1–20 ms,
//! no loss), the worst cases were:
//!
//! | N, seeds | cold | all update | one update |
//! |----------|------|------------|------------|
//! | 3, 1     | 4    | 2          | 2          |
//! | 10, 1    | 9    | 5          | 4          |
//! | 10, 2    | 8    | 4          | 4          |
//! | 100, 1   | 14   | 7          | 6          |
//! | 100, 2   | 16   | 8          | 6          |
//!
//! Updates to known endpoints spread push-pull (every Syn carries digests of
//! all endpoints, and either side sends what the other lacks), so they take
//! about log3 N + a couple of rounds: asserted as L + 3 (k = 1, c = 3).
//! Membership itself spreads push-only, as in Cassandra (`examineGossiper`
//! answers only about endpoints the Syn names, so a node learns a new
//! endpoint only from a Syn that lists it), and the cold start first funnels
//! everyone through the seeds: asserted as 2L + 4 (k = 2, c = 4), which leaves
//! one or two rounds of margin over the worst case measured.

use sibyl_gossip::sim::{seeds_from_env, SimConfig, Simulation};
use sibyl_gossip::ApplicationState;

const ROUND_MS: u64 = 1_000;
const MAX_ROUNDS: u64 = 300;

/// Runs whole rounds until every node's view of every node is at least
/// `targets`; returns the number of rounds, or None after MAX_ROUNDS.
fn rounds_until_converged(sim: &mut Simulation, targets: &[(i32, i32)]) -> Option<u64> {
    for round in 0..=MAX_ROUNDS {
        if sim.all_views_at_least(targets) {
            return Some(round);
        }
        sim.run_for(ROUND_MS);
    }
    None
}

/// Measures (cold start, all update, one update) rounds for one seed.
fn measure(seed: u64, nodes: usize, seeds: usize) -> (u64, u64, u64) {
    let mut sim = Simulation::new(seed, SimConfig::new(nodes, seeds));
    let targets = sim.own_versions();
    let cold = rounds_until_converged(&mut sim, &targets)
        .unwrap_or_else(|| panic!("seed {seed}: {nodes} nodes never converged from cold start"));
    sim.run_for(5 * ROUND_MS);
    let now = sim.now();
    for i in 0..nodes {
        sim.gossiper_mut(i)
            .add_local_application_state(ApplicationState::Load, format!("{now}-{i}"))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    let targets = sim.own_versions();
    let all = rounds_until_converged(&mut sim, &targets)
        .unwrap_or_else(|| panic!("seed {seed}: {nodes} nodes never converged after updates"));
    sim.run_for(5 * ROUND_MS);
    let changed = nodes - 1;
    sim.gossiper_mut(changed)
        .add_local_application_state(ApplicationState::Schema, "schema-2")
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let mut targets: Vec<(i32, i32)> = vec![(0, 0); nodes];
    targets[changed] = sim.own_versions()[changed];
    let one = rounds_until_converged(&mut sim, &targets)
        .unwrap_or_else(|| panic!("seed {seed}: {nodes} nodes never learnt one update"));
    assert!(
        sim.stats.errors.is_empty(),
        "seed {seed}: errors {:?}",
        sim.stats.errors
    );
    // Everybody is UP in everybody's view.
    for i in 0..nodes {
        assert_eq!(
            sim.gossiper(i).live_members().len(),
            nodes,
            "seed {seed}: node {i} sees {:?} unreachable",
            sim.gossiper(i).unreachable_members()
        );
    }
    (cold, all, one)
}

fn check(nodes: usize, seeds: usize, default_seeds: &[u64]) {
    let l = (nodes as f64).log2().ceil() as u64;
    let cold_bound = 2 * l + 4;
    let update_bound = l + 3;
    for seed in seeds_from_env(default_seeds) {
        let (cold, all, one) = measure(seed, nodes, seeds);
        eprintln!("seed {seed}: N={nodes} seeds={seeds}: cold {cold}, all update {all}, one update {one} rounds");
        assert!(
            cold <= cold_bound,
            "seed {seed}: N={nodes} cold start took {cold} rounds > {cold_bound}"
        );
        assert!(
            all <= update_bound,
            "seed {seed}: N={nodes} all-update took {all} rounds > {update_bound}"
        );
        assert!(
            one <= update_bound,
            "seed {seed}: N={nodes} one-update took {one} rounds > {update_bound}"
        );
    }
}

// Checks 3 nodes with one seed converge within 2L+4 rounds from a cold start
// and L+3 rounds after updates, by running the simulation over 8 seeds.
#[test]
fn three_nodes_converge() {
    check(3, 1, &[1, 2, 3, 4, 5, 6, 7, 8]);
}

// Checks 10 nodes with one seed converge within the bounds, over 5 seeds.
#[test]
fn ten_nodes_one_seed_converge() {
    check(10, 1, &[1, 2, 3, 4, 5]);
}

// Checks 10 nodes with two seeds converge within the bounds, over 5 seeds.
#[test]
fn ten_nodes_two_seeds_converge() {
    check(10, 2, &[11, 12, 13, 14, 15]);
}

// Checks 100 nodes with one seed converge within the bounds, over 2 seeds.
#[test]
fn hundred_nodes_one_seed_converge() {
    check(100, 1, &[21, 22]);
}

// Checks 100 nodes with two seeds converge within the bounds, over 2 seeds.
#[test]
fn hundred_nodes_two_seeds_converge() {
    check(100, 2, &[31, 32]);
}

// Checks convergence survives 10% message loss and 5–200 ms latency
// (10 nodes, 2 seeds): same update bound plus 3 rounds, cold start bound doubled.
#[test]
fn ten_nodes_converge_with_loss() {
    for seed in seeds_from_env(&[41, 42, 43]) {
        let mut config = SimConfig::new(10, 2);
        config.loss = 0.1;
        config.min_latency_ms = 5;
        config.max_latency_ms = 200;
        let mut sim = Simulation::new(seed, config);
        let targets = sim.own_versions();
        let cold = rounds_until_converged(&mut sim, &targets);
        assert!(
            cold.is_some_and(|r| r <= 24),
            "seed {seed}: cold start with loss took {cold:?} rounds"
        );
        for i in 0..10 {
            sim.gossiper_mut(i)
                .add_local_application_state(ApplicationState::Load, "x")
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        }
        let targets = sim.own_versions();
        let all = rounds_until_converged(&mut sim, &targets);
        assert!(
            all.is_some_and(|r| r <= 10),
            "seed {seed}: update with loss took {all:?} rounds"
        );
        eprintln!("seed {seed}: 10 nodes, 10% loss: cold {cold:?}, update {all:?}");
    }
}
