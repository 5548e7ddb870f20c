//! Wire encoding of the gossip messages of [`sibyl_gossip`] (Cassandra's
//! `GossipDigestSynSerializer`, `GossipDigestAckSerializer`,
//! `GossipDigestAck2Serializer`, `EndpointStateSerializer`).
//!
//! The gossip crate is I/O-free and defines plain structs; this module turns
//! them into frame payloads. The frame's [`Verb`] says which message a payload
//! is, so payloads carry no type tag.
//!
//! Layouts (big-endian; `addr` is the layout in [`crate::net::codec`]:
//! family 4|6, IP octets, u16 port; `string` is a u32 byte length then UTF-8):
//!
//! ```text
//! GOSSIP_DIGEST_SYN   string cluster_name
//!                     u32 n (≤ GOSSIP_ENDPOINTS_MAX), n × digest
//! GOSSIP_DIGEST_ACK   u32 n (≤ GOSSIP_ENDPOINTS_MAX), n × digest
//!                     u32 m (≤ GOSSIP_ENDPOINTS_MAX), m × (addr endpoint, endpoint_state)
//! GOSSIP_DIGEST_ACK2  u32 m (≤ GOSSIP_ENDPOINTS_MAX), m × (addr endpoint, endpoint_state)
//!
//! digest              addr endpoint, i32 generation, i32 max_version
//! endpoint_state      i32 heartbeat generation, i32 heartbeat version
//!                     u16 k (≤ APPLICATION_STATES_MAX), k × application_state
//! application_state   u8 key (APPLICATION_STATE_IDS), i32 version, string value
//! ```
//!
//! Decoding never panics and never trusts a count for allocation: every count
//! and length is checked against its bound and against the bytes left.
//! Duplicate endpoints or keys, trailing bytes and invalid UTF-8 are refused
//! as [`NetError::Malformed`]. An **unknown application-state key** is skipped
//! (its value is length-prefixed), so a newer node can gossip a state this one
//! does not know without breaking gossip during a rolling upgrade.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use sibyl_gossip::{
    ApplicationState, EndpointState, GossipDigest, GossipDigestAck, GossipDigestAck2,
    GossipDigestSyn, GossipMessage, HeartBeatState, VersionedValue,
};

use super::codec::{put_addr, Reader, ADDR_MIN_BYTES};
use super::error::NetError;
use super::verb::Verb;

/// Most endpoints one message may describe: Cassandra clusters top out in the
/// low thousands of nodes; a count above this is corruption, not a cluster.
pub const GOSSIP_ENDPOINTS_MAX: usize = 16 * 1024;
/// Most application states per endpoint: the key is a u8, and a node knowing
/// every key gossips fewer than this.
pub const APPLICATION_STATES_MAX: usize = 256;
/// Longest cluster name: Cassandra's is a short human-chosen string.
pub const CLUSTER_NAME_MAX_BYTES: usize = 1024;
/// Longest application-state value: TOKENS of a node with 4096 vnodes as text
/// is ~80 KiB; 1 MiB leaves room and still bounds a corrupt length.
pub const VALUE_MAX_BYTES: usize = 1024 * 1024;

/// Smallest encoded digest: IPv4 address, generation, max version.
const DIGEST_MIN_BYTES: usize = ADDR_MIN_BYTES + 4 + 4;
/// Smallest encoded endpoint entry: IPv4 address, heartbeat, zero states.
const STATE_ENTRY_MIN_BYTES: usize = ADDR_MIN_BYTES + 4 + 4 + 2;
/// Smallest encoded application state: key, version, empty value.
const APPLICATION_STATE_MIN_BYTES: usize = 1 + 4 + 4;

/// The wire id of each application-state key. Fixed forever, independent of
/// the order of [`ApplicationState`]'s variants.
pub const APPLICATION_STATE_IDS: [(ApplicationState, u8); 11] = [
    (ApplicationState::StatusWithPort, 0),
    (ApplicationState::Status, 1),
    (ApplicationState::Tokens, 2),
    (ApplicationState::Dc, 3),
    (ApplicationState::Rack, 4),
    (ApplicationState::HostId, 5),
    (ApplicationState::Schema, 6),
    (ApplicationState::RpcAddress, 7),
    (ApplicationState::NativeAddressAndPort, 8),
    (ApplicationState::ReleaseVersion, 9),
    (ApplicationState::Load, 10),
];

fn state_id(state: ApplicationState) -> u8 {
    APPLICATION_STATE_IDS
        .iter()
        .find(|(s, _)| *s == state)
        .map(|(_, id)| *id)
        .unwrap_or(u8::MAX)
}

fn state_from_id(id: u8) -> Option<ApplicationState> {
    APPLICATION_STATE_IDS
        .iter()
        .find(|(_, i)| *i == id)
        .map(|(s, _)| *s)
}

/// The verb a gossip message travels under.
pub fn gossip_verb(msg: &GossipMessage) -> Verb {
    match msg {
        GossipMessage::Syn(_) => Verb::GossipDigestSyn,
        GossipMessage::Ack(_) => Verb::GossipDigestAck,
        GossipMessage::Ack2(_) => Verb::GossipDigestAck2,
    }
}

/// Encodes `msg` as the payload of a frame of verb [`gossip_verb`]`(msg)`.
/// Counts and lengths above the bounds are encoded faithfully and refused by
/// the receiver; the gossiper never produces them.
pub fn encode_gossip(msg: &GossipMessage) -> Bytes {
    let mut buf = BytesMut::with_capacity(256);
    match msg {
        GossipMessage::Syn(syn) => {
            put_string(&mut buf, &syn.cluster_name);
            put_digests(&mut buf, &syn.digests);
        }
        GossipMessage::Ack(ack) => {
            put_digests(&mut buf, &ack.digests);
            put_states(&mut buf, &ack.states);
        }
        GossipMessage::Ack2(ack2) => put_states(&mut buf, &ack2.states),
    }
    buf.freeze()
}

/// Decodes the payload of a frame of gossip verb `verb`.
pub fn decode_gossip(verb: Verb, payload: &[u8]) -> Result<GossipMessage, NetError> {
    let mut r = Reader::new(payload);
    let msg = match verb {
        Verb::GossipDigestSyn => {
            let cluster_name = get_string(&mut r, "cluster name", CLUSTER_NAME_MAX_BYTES)?;
            let digests = get_digests(&mut r)?;
            GossipMessage::Syn(GossipDigestSyn {
                cluster_name,
                digests,
            })
        }
        Verb::GossipDigestAck => {
            let digests = get_digests(&mut r)?;
            let states = get_states(&mut r)?;
            GossipMessage::Ack(GossipDigestAck { digests, states })
        }
        Verb::GossipDigestAck2 => GossipMessage::Ack2(GossipDigestAck2 {
            states: get_states(&mut r)?,
        }),
        other => {
            return Err(NetError::Malformed(format!(
                "{other} does not carry a gossip digest message"
            )))
        }
    };
    r.finish(verb.name())?;
    Ok(msg)
}

fn put_len(buf: &mut BytesMut, n: usize) {
    buf.put_u32(u32::try_from(n).unwrap_or(u32::MAX));
}

fn put_string(buf: &mut BytesMut, s: &str) {
    put_len(buf, s.len());
    buf.put_slice(s.as_bytes());
}

fn put_digests(buf: &mut BytesMut, digests: &[GossipDigest]) {
    put_len(buf, digests.len());
    for d in digests {
        put_addr(buf, d.endpoint);
        buf.put_i32(d.generation);
        buf.put_i32(d.max_version);
    }
}

fn put_states(buf: &mut BytesMut, states: &BTreeMap<SocketAddr, EndpointState>) {
    put_len(buf, states.len());
    for (endpoint, state) in states {
        put_addr(buf, *endpoint);
        buf.put_i32(state.heartbeat.generation);
        buf.put_i32(state.heartbeat.version);
        let n = u16::try_from(state.application_states.len()).unwrap_or(u16::MAX);
        buf.put_u16(n);
        for (key, value) in state.application_states.iter().take(usize::from(n)) {
            buf.put_u8(state_id(*key));
            buf.put_i32(value.version);
            put_string(buf, &value.value);
        }
    }
}

/// Reads a count and checks it against `max` and against the bytes left,
/// each element taking at least `min_bytes`.
fn get_count(
    r: &mut Reader<'_>,
    what: &str,
    max: usize,
    min_bytes: usize,
) -> Result<usize, NetError> {
    let n = usize::try_from(r.u32(what)?).unwrap_or(usize::MAX);
    check_count(r, what, n, max, min_bytes)
}

fn check_count(
    r: &Reader<'_>,
    what: &str,
    n: usize,
    max: usize,
    min_bytes: usize,
) -> Result<usize, NetError> {
    if n > max {
        return Err(NetError::Malformed(format!("{what}: {n} is above {max}")));
    }
    if n.saturating_mul(min_bytes) > r.remaining() {
        return Err(NetError::Malformed(format!(
            "{what}: {n} entries cannot fit in the {} bytes left",
            r.remaining()
        )));
    }
    Ok(n)
}

fn get_string(r: &mut Reader<'_>, what: &str, max: usize) -> Result<String, NetError> {
    let n = usize::try_from(r.u32(what)?).unwrap_or(usize::MAX);
    if n > max {
        return Err(NetError::Malformed(format!(
            "{what}: {n} bytes is above {max}"
        )));
    }
    let bytes = r.take(n, what)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| NetError::Malformed(format!("{what}: invalid UTF-8: {e}")))
}

fn get_digests(r: &mut Reader<'_>) -> Result<Vec<GossipDigest>, NetError> {
    let n = get_count(r, "digest count", GOSSIP_ENDPOINTS_MAX, DIGEST_MIN_BYTES)?;
    let mut digests = Vec::with_capacity(n);
    for _ in 0..n {
        digests.push(GossipDigest {
            endpoint: r.addr("digest endpoint")?,
            generation: r.i32("digest generation")?,
            max_version: r.i32("digest max version")?,
        });
    }
    Ok(digests)
}

fn get_states(r: &mut Reader<'_>) -> Result<BTreeMap<SocketAddr, EndpointState>, NetError> {
    let n = get_count(
        r,
        "endpoint state count",
        GOSSIP_ENDPOINTS_MAX,
        STATE_ENTRY_MIN_BYTES,
    )?;
    let mut states = BTreeMap::new();
    for _ in 0..n {
        let endpoint = r.addr("endpoint")?;
        let state = get_endpoint_state(r)?;
        if states.insert(endpoint, state).is_some() {
            return Err(NetError::Malformed(format!(
                "endpoint {endpoint} appears twice"
            )));
        }
    }
    Ok(states)
}

fn get_endpoint_state(r: &mut Reader<'_>) -> Result<EndpointState, NetError> {
    let heartbeat = HeartBeatState {
        generation: r.i32("heartbeat generation")?,
        version: r.i32("heartbeat version")?,
    };
    let n = usize::from(r.u16("application state count")?);
    let n = check_count(
        r,
        "application state count",
        n,
        APPLICATION_STATES_MAX,
        APPLICATION_STATE_MIN_BYTES,
    )?;
    let mut state = EndpointState::new(heartbeat);
    for _ in 0..n {
        let id = r.u8("application state key")?;
        let version = r.i32("application state version")?;
        let value = get_string(r, "application state value", VALUE_MAX_BYTES)?;
        let Some(key) = state_from_id(id) else {
            continue; // a newer node's key: skipped, see the module doc
        };
        let previous = state
            .application_states
            .insert(key, VersionedValue::new(value, version));
        if previous.is_some() {
            return Err(NetError::Malformed(format!(
                "application state {} appears twice",
                key.name()
            )));
        }
    }
    Ok(state)
}
