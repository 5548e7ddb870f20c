//! Every bound and timing of the gossip subsystem, named, with its unit and
//! the reason for its value.
//!
//! What: the defaults that [`crate::GossipConfig`] and
//! [`crate::FailureDetectorConfig`] start from, plus the hard limits the
//! state machines enforce on inbound messages.
//!
//! Why: gossip correctness depends on a handful of timings that relate to one
//! another (the failure detector's initial interval is derived from the gossip
//! interval, the quarantine from the ring delay, ...). Keeping them in one
//! place, with the Cassandra name they mirror, keeps those relations visible.
//!
//! What not: nothing here reads the environment or a configuration file; the
//! node crate maps `cassandra.yaml`-like settings onto the config structs.
//!
//! References: `org.apache.cassandra.gms.Gossiper` (`intervalInMillis`,
//! `QUARANTINE_DELAY`, `MAX_GENERATION_DIFFERENCE`),
//! `org.apache.cassandra.gms.FailureDetector` (`SAMPLE_SIZE`,
//! `INITIAL_VALUE_NANOS`, `MAX_INTERVAL_IN_NANO`, `MAX_LOCAL_PAUSE_IN_NANOS`,
//! `PHI_FACTOR`), `org.apache.cassandra.service.StorageService.RING_DELAY`.

/// Milliseconds between two gossip rounds. Cassandra's `Gossiper.intervalInMillis`
/// is 1000 ms; every other timing below is scaled from it.
pub const GOSSIP_INTERVAL_MS: u64 = 1_000;

/// Phi above which an endpoint is convicted (marked DOWN). Cassandra's
/// `phi_convict_threshold` default. Phi is `PHI_FACTOR * silence / mean`, so a
/// threshold of 8 convicts after `8 * ln(10) ≈ 18.4` mean inter-arrival times
/// of silence (≈ 18.4 s when heartbeats arrive once per second).
pub const PHI_CONVICT_THRESHOLD: f64 = 8.0;

/// `1 / ln(10)`: converts `silence / mean` into phi = `-log10(P(later))` under
/// the exponential inter-arrival model Cassandra uses (`FailureDetector.PHI_FACTOR`).
pub const PHI_FACTOR: f64 = std::f64::consts::LOG10_E;

/// Inter-arrival samples kept per endpoint (`FailureDetector.SAMPLE_SIZE`,
/// the `ArrivalWindow` size). 1000 samples at one per second is ~17 minutes of
/// history: long enough to smooth jitter, short enough to follow a change.
pub const ARRIVAL_WINDOW_SAMPLES: usize = 1_000;

/// Milliseconds used as the first sample of a new arrival window
/// (`FailureDetector.INITIAL_VALUE_NANOS` = gossip interval × 2). Erring high
/// gives false negatives (slower conviction) rather than flapping.
pub const FD_INITIAL_VALUE_MS: u64 = GOSSIP_INTERVAL_MS * 2;

/// Inter-arrival gaps longer than this many milliseconds are not recorded as
/// samples (`cassandra.fd_max_interval_ms`, default = the initial value,
/// 2000 ms): a long gap is a symptom of a failure or a partition, not of the
/// normal heartbeat rhythm, and must not inflate the mean.
pub const FD_MAX_INTERVAL_MS: u64 = FD_INITIAL_VALUE_MS;

/// Arrivals closer than this many milliseconds to the previous one are one burst:
/// ignored. Sibyl counts every message received directly from an endpoint as an
/// arrival, besides its relayed heartbeat advances (a deliberate difference from
/// Cassandra, which counts heartbeat advances only: docs/cluster.md). One exchange
/// brings a Syn and an Ack2 from the same peer a round trip apart; counting both
/// would drag the mean toward the round trip. 100 ms is far above a LAN round trip
/// and far below the gossip interval, so each exchange counts once and the
/// exchanges a peer starts and answers in a round count separately: the mean falls
/// from ~1 s (Cassandra) to ~0.5 s, and phi 8 convicts a dead node in about 10 s
/// instead of about 20 s.
pub const FD_MIN_INTERVAL_MS: u64 = 100;

/// If the local node itself did not run the failure detector for more than
/// this many milliseconds (GC pause, VM stall, laptop sleep), nobody is
/// convicted until this long has passed again (`cassandra.max_local_pause_in_ms`,
/// default 5000 ms): the silence was ours, not theirs.
pub const FD_MAX_LOCAL_PAUSE_MS: u64 = 5_000;

/// Milliseconds a node waits for the ring to settle (`StorageService.RING_DELAY`,
/// `cassandra.ring_delay_ms`, default 30 s). Used to derive the quarantine and
/// the shadow-round timeout.
pub const RING_DELAY_MS: u64 = 30_000;

/// Milliseconds during which gossip about a removed endpoint is ignored
/// (`Gossiper.QUARANTINE_DELAY` = 2 × ring delay): long enough for every node
/// to learn of the removal before stale gossip could re-add the endpoint.
pub const QUARANTINE_DELAY_MS: u64 = 2 * RING_DELAY_MS;

/// Milliseconds after which a shadow round that no seed answered fails
/// (Cassandra's `doShadowRound` gives up after `RING_DELAY` with
/// "Unable to gossip with any peers").
pub const SHADOW_ROUND_TIMEOUT_MS: u64 = RING_DELAY_MS;

/// Milliseconds between two re-sends of the shadow-round Syn to the seeds
/// (`doShadowRound` re-sends "at the beginning and every 5 seconds",
/// CASSANDRA-8072).
pub const SHADOW_ROUND_RETRY_MS: u64 = 5_000;

/// Seconds a remote generation may be ahead of our estimate of the wall clock
/// before it is rejected as corrupt (`Gossiper.MAX_GENERATION_DIFFERENCE`,
/// one year): generations are start times in seconds, so one far in the future
/// is a bug or memory corruption on some peer.
pub const MAX_GENERATION_DIFFERENCE_S: i64 = 86_400 * 365;

/// Most digests one GossipDigestSyn or GossipDigestAck may carry. Cassandra has
/// no explicit limit; we bound it so a message's size and the work to examine
/// it are bounded. A digest is ~30 bytes encoded, so 4096 digests is ~120 KiB,
/// and clusters of more than 4096 nodes are far beyond Cassandra's practice.
/// A Syn from a larger cluster carries a random subset (shuffled each round),
/// which still converges, only more slowly.
pub const MAX_DIGESTS_PER_MESSAGE: usize = 4_096;

/// Most endpoint states one GossipDigestAck or GossipDigestAck2 may carry. An
/// endpoint state with 256 vnode tokens is ~6 KiB, so 512 states is ~3 MiB:
/// the most we are willing to buffer for one message. States beyond the limit
/// are sent in later rounds.
pub const MAX_STATES_PER_MESSAGE: usize = 512;

/// Most bytes of one application-state value. TOKENS with 256 vnodes is
/// ~6 KiB; 64 KiB leaves room for any legitimate value while keeping a single
/// misbehaving state from bloating every gossip message.
pub const MAX_APPLICATION_VALUE_BYTES: usize = 64 * 1024;
