//! Shadow rounds in a simulated cluster.

use sibyl_gossip::sim::{seeds_from_env, SimConfig, Simulation, SIM_FIRST_GENERATION};
use sibyl_gossip::ShadowRoundStatus;

// Checks a brand-new cluster where every node (seeds included) starts with a
// shadow round gets out of it (seeds find each other in shadow round, others
// get a seed's answer) and then converges, by running 10 nodes / 2 seeds for
// 40 simulated seconds.
#[test]
fn new_cluster_all_in_shadow_round_starts() {
    for seed in seeds_from_env(&[1, 2, 3]) {
        let mut config = SimConfig::new(10, 2);
        config.shadow_round = true;
        let mut sim = Simulation::new(seed, config);
        let targets = sim.own_versions();
        sim.run_for(40_000);
        for i in 0..10 {
            assert_eq!(
                sim.gossiper(i).shadow_round_status(),
                &ShadowRoundStatus::Complete,
                "seed {seed}: node {i}"
            );
        }
        assert!(
            sim.all_views_at_least(&targets),
            "seed {seed}: not converged after 40 s"
        );
        assert!(
            sim.stats.errors.is_empty(),
            "seed {seed}: {:?}",
            sim.stats.errors
        );
    }
}

// Checks a node restarting into an established cluster learns every
// endpoint's state from its shadow round within one retry interval, before it
// gossips normally, by restarting node 9 of 10 after 30 s.
#[test]
fn joining_node_learns_cluster_in_shadow_round() {
    for seed in seeds_from_env(&[4, 5]) {
        let mut config = SimConfig::new(10, 2);
        config.shadow_round = true;
        let mut sim = Simulation::new(seed, config);
        sim.run_for(30_000);
        sim.restart(9, SIM_FIRST_GENERATION + 1);
        sim.run_for(500);
        let g = sim.gossiper(9);
        assert!(
            g.shadow_round_complete(),
            "seed {seed}: {:?}",
            g.shadow_round_status()
        );
        assert_eq!(
            g.shadow_states().len(),
            10,
            "seed {seed}: learnt {:?}",
            g.shadow_states().keys()
        );
        assert_eq!(
            g.shadow_states().get(&sim.addr(9)).map(|s| s.generation()),
            Some(SIM_FIRST_GENERATION),
            "seed {seed}: the cluster still has our previous life"
        );
        sim.run_for(20_000);
        for i in 0..10 {
            assert_eq!(
                sim.gossiper(i)
                    .endpoint_state(sim.addr(9))
                    .map(|s| s.generation()),
                Some(SIM_FIRST_GENERATION + 1),
                "seed {seed}: node {i}"
            );
        }
    }
}
