//! [`Verb`]: what a message is, as Cassandra's `org.apache.cassandra.net.Verb`.
//!
//! A verb decides three things about a message: which handler receives it
//! ([`crate::net::MessagingService::register`]), how long its sender waits for
//! a response ([`Verb::timeout`], Cassandra's per-verb `expiresAfter`), and
//! whether the outbound queue may throw it away when the queue is full
//! ([`Verb::is_droppable`]).
//!
//! The `u8` discriminants are the wire ids (byte 6 of a frame, see
//! [`crate::net::frame`]): they are fixed forever; a new verb takes a new
//! number. Names are the upper snake case of the variant (`GOSSIP_DIGEST_SYN`,
//! `MUTATION_RSP`); [`Verb::from_name`] also accepts Cassandra 4's `_REQ`
//! spellings (`ECHO_REQ`, `MUTATION_REQ`, `READ_REQ`, `HINT_REQ`,
//! `TRUNCATE_REQ`) so filters written for Cassandra's tooling read naturally.
//!
//! Responses are not separate verbs here: a response is any message with the
//! response flag set, carrying the request's id ([`crate::net::Message`]).
//! `MUTATION_RSP` and friends exist for handlers that want to say so anyway.

use std::fmt;
use std::time::Duration;

/// Cassandra's `request_timeout` (10 s): verbs with no more specific timeout.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// Cassandra's `write_request_timeout` (2 s): mutations, hints, Paxos.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Cassandra's `read_request_timeout` (5 s).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Cassandra's `truncate_request_timeout` (60 s): truncation flushes and
/// snapshots on every replica before answering.
pub const TRUNCATE_TIMEOUT: Duration = Duration::from_secs(60);

/// The kind of an internode message. `#[repr(u8)]`: the discriminant is the wire id.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// Gossip round, first message (`GossipDigestSyn`).
    GossipDigestSyn = 1,
    /// Gossip round, second message.
    GossipDigestAck = 2,
    /// Gossip round, third message.
    GossipDigestAck2 = 3,
    /// "I am shutting down": the receiver marks the sender DOWN at once.
    GossipShutdown = 4,
    /// Liveness probe answered by an empty response (Cassandra's `ECHO_REQ`).
    Echo = 5,
    /// Reserved: write a mutation on a replica.
    Mutation = 10,
    /// Reserved: a replica's write acknowledgement.
    MutationRsp = 11,
    /// Reserved: a replica read.
    Read = 12,
    /// Reserved: a replica's read response.
    ReadRsp = 13,
    /// Reserved: hinted handoff delivery.
    Hint = 14,
    /// Reserved: hint acknowledgement.
    HintRsp = 15,
    /// Reserved: schema push and pull.
    Schema = 16,
    /// Reserved: anti-entropy repair coordination.
    Repair = 17,
    /// Reserved: streaming sessions.
    Stream = 18,
    /// Reserved: Paxos prepare/propose/commit for lightweight transactions.
    Paxos = 19,
    /// Reserved: TRUNCATE on every replica.
    Truncate = 20,
}

impl Verb {
    /// Every verb, in wire-id order. [`Verb::index`] is the position here.
    pub const ALL: [Verb; 16] = [
        Verb::GossipDigestSyn,
        Verb::GossipDigestAck,
        Verb::GossipDigestAck2,
        Verb::GossipShutdown,
        Verb::Echo,
        Verb::Mutation,
        Verb::MutationRsp,
        Verb::Read,
        Verb::ReadRsp,
        Verb::Hint,
        Verb::HintRsp,
        Verb::Schema,
        Verb::Repair,
        Verb::Stream,
        Verb::Paxos,
        Verb::Truncate,
    ];

    /// Number of verbs: the size of per-verb counter arrays.
    pub const COUNT: usize = Verb::ALL.len();

    /// The wire id.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The verb with wire id `id`, if this node knows it.
    pub fn from_id(id: u8) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.id() == id)
    }

    /// Position in [`Verb::ALL`], for per-verb counter arrays.
    pub fn index(self) -> usize {
        Verb::ALL
            .iter()
            .position(|v| *v == self)
            .unwrap_or_default()
    }

    /// Cassandra-style name: `GOSSIP_DIGEST_SYN`, `ECHO`, `MUTATION_RSP`, ...
    pub fn name(self) -> &'static str {
        match self {
            Verb::GossipDigestSyn => "GOSSIP_DIGEST_SYN",
            Verb::GossipDigestAck => "GOSSIP_DIGEST_ACK",
            Verb::GossipDigestAck2 => "GOSSIP_DIGEST_ACK2",
            Verb::GossipShutdown => "GOSSIP_SHUTDOWN",
            Verb::Echo => "ECHO",
            Verb::Mutation => "MUTATION",
            Verb::MutationRsp => "MUTATION_RSP",
            Verb::Read => "READ",
            Verb::ReadRsp => "READ_RSP",
            Verb::Hint => "HINT",
            Verb::HintRsp => "HINT_RSP",
            Verb::Schema => "SCHEMA",
            Verb::Repair => "REPAIR",
            Verb::Stream => "STREAM",
            Verb::Paxos => "PAXOS",
            Verb::Truncate => "TRUNCATE",
        }
    }

    /// The verb named `name` ([`Verb::name`], or Cassandra's `_REQ` alias).
    /// Exact, upper case.
    pub fn from_name(name: &str) -> Option<Verb> {
        let alias = match name {
            "ECHO_REQ" => Some(Verb::Echo),
            "MUTATION_REQ" => Some(Verb::Mutation),
            "READ_REQ" => Some(Verb::Read),
            "HINT_REQ" => Some(Verb::Hint),
            "TRUNCATE_REQ" => Some(Verb::Truncate),
            _ => None,
        };
        alias.or_else(|| Verb::ALL.into_iter().find(|v| v.name() == name))
    }

    /// How long [`crate::net::MessagingService::send_and_receive`] waits for
    /// the response, and how long a message may sit in an outbound queue
    /// before it is dropped as expired (nobody waits for it any more).
    pub fn timeout(self) -> Duration {
        match self {
            Verb::Mutation | Verb::MutationRsp | Verb::Hint | Verb::HintRsp | Verb::Paxos => {
                WRITE_TIMEOUT
            }
            Verb::Read | Verb::ReadRsp => READ_TIMEOUT,
            Verb::Truncate => TRUNCATE_TIMEOUT,
            Verb::GossipDigestSyn
            | Verb::GossipDigestAck
            | Verb::GossipDigestAck2
            | Verb::GossipShutdown
            | Verb::Echo
            | Verb::Schema
            | Verb::Repair
            | Verb::Stream => RPC_TIMEOUT,
        }
    }

    /// Whether a full outbound queue may drop this message. True where a
    /// protocol above already survives loss: gossip repeats every second and
    /// reconciles by digest; mutations, reads and hints have a coordinator
    /// timeout, hints on disk and repair behind them (Cassandra's droppable
    /// verbs, whose drops `nodetool tpstats` reports). False for the rare
    /// control messages that are not retried: shutdown notices, echo, schema,
    /// repair, streaming, Paxos and truncate.
    pub fn is_droppable(self) -> bool {
        match self {
            Verb::GossipDigestSyn
            | Verb::GossipDigestAck
            | Verb::GossipDigestAck2
            | Verb::Mutation
            | Verb::MutationRsp
            | Verb::Read
            | Verb::ReadRsp
            | Verb::Hint
            | Verb::HintRsp => true,
            Verb::GossipShutdown
            | Verb::Echo
            | Verb::Schema
            | Verb::Repair
            | Verb::Stream
            | Verb::Paxos
            | Verb::Truncate => false,
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
