//! Internode messaging over real loopback TCP (`sibyl::net`): round trips and
//! ordering, timeouts, bounded queues to a dead peer, message filters, malformed
//! frames and shutdown. Each test binds its own addresses in 127.0.70.x–127.0.72.x
//! (other test files own other ranges) and is bounded by `TEST_TIMEOUT`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sibyl::net::frame::{Frame, MAX_FRAME_BYTES};
use sibyl::net::{
    decode_gossip, encode_gossip, FilterRule, Message, MessagingService, NetConfig, NetError, Verb,
};
use sibyl_gossip::{GossipDigestSyn, GossipMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

/// Whole-test bound: a hang fails the test instead of stalling the suite.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a message that should arrive may take.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test ip")
}

async fn node_with(addr: &str, tune: impl FnOnce(&mut NetConfig)) -> Arc<MessagingService> {
    let mut config = NetConfig::new(addr.parse().expect("test address"));
    // Peers come up late in some tests: retry quickly.
    config.reconnect_backoff_max = Duration::from_millis(200);
    tune(&mut config);
    MessagingService::bind(config).await.expect("bind")
}

async fn node(ip: &str) -> Arc<MessagingService> {
    node_with(&format!("{ip}:0"), |_| {}).await
}

async fn recv(rx: &mut Receiver<Message>) -> Message {
    timeout(ARRIVAL_TIMEOUT, rx.recv())
        .await
        .expect("message arrives in time")
        .expect("channel open")
}

/// Waits until `cond` holds: counters are updated just after the write that
/// delivered a message, so a test may see the message a moment before the count.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < ARRIVAL_TIMEOUT, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Answers every request of `verb` with its own payload.
fn echo_responder(service: &Arc<MessagingService>, verb: Verb) {
    let mut rx = service.register(verb);
    let service = service.clone();
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            service.respond(&request, verb, request.payload.clone());
        }
    });
}

fn syn(cluster: &str) -> Bytes {
    encode_gossip(&GossipMessage::Syn(GossipDigestSyn {
        cluster_name: cluster.into(),
        digests: vec![],
    }))
}

fn syn_cluster(msg: &Message) -> String {
    match decode_gossip(msg.verb, &msg.payload).expect("a valid SYN") {
        GossipMessage::Syn(s) => s.cluster_name,
        other => panic!("expected a SYN, got {other:?}"),
    }
}

// Checks one-way delivery keeps order per peer (1000 messages), and that
// requests get their own responses, one at a time and 50 concurrently.
#[tokio::test]
async fn round_trip_and_order() {
    timeout(TEST_TIMEOUT, async {
        let a = node("127.0.70.1").await;
        let b = node("127.0.70.2").await;
        let mut schema = b.register(Verb::Schema);
        for i in 0u32..1000 {
            a.send_one_way(
                b.local_addr(),
                Verb::Schema,
                Bytes::copy_from_slice(&i.to_be_bytes()),
            );
        }
        for i in 0u32..1000 {
            let m = recv(&mut schema).await;
            assert_eq!(
                m.payload.as_ref(),
                i.to_be_bytes(),
                "message {i} out of order"
            );
            assert_eq!(m.from, a.local_addr());
            assert!(!m.is_response);
        }

        echo_responder(&b, Verb::Echo);
        let r = a
            .send_and_receive(b.local_addr(), Verb::Echo, Bytes::from_static(b"ping"))
            .await
            .expect("response");
        assert_eq!(r.payload.as_ref(), b"ping");
        assert!(r.is_response);
        assert_eq!(r.from, b.local_addr());

        let requests = (0..50u32).map(|i| {
            let a = a.clone();
            let to = b.local_addr();
            async move {
                let r = a
                    .send_and_receive(to, Verb::Echo, Bytes::from(i.to_string()))
                    .await
                    .expect("response");
                assert_eq!(r.payload, Bytes::from(i.to_string()));
            }
        });
        futures::future::join_all(requests).await;

        let sent_to_b = || a.stats().peer(b.local_addr()).map(|p| p.sent);
        eventually("1051 sent to b", || sent_to_b() == Some(1051)).await;
        let sa = a.stats();
        let to_b = sa.peer(b.local_addr()).expect("b tracked");
        assert!(to_b.connected);
        assert_eq!(to_b.received, 51, "51 responses from b");
        assert_eq!(to_b.dropped, 0);
        assert_eq!(sa.pending_callbacks, 0);
        let sb = b.stats();
        assert_eq!(sb.peer(a.local_addr()).expect("a tracked").received, 1051);
        a.shutdown().await;
        b.shutdown().await;
    })
    .await
    .expect("test finishes in time");
}

// Checks a request nobody answers fails with Timeout after about its timeout,
// both to a live peer that ignores it and to an address nobody listens on,
// and leaves no callback behind.
#[tokio::test]
async fn request_times_out() {
    timeout(TEST_TIMEOUT, async {
        let a = node("127.0.70.3").await;
        let b = node("127.0.70.4").await;
        let _ignored = b.register(Verb::Echo);
        let wait = Duration::from_millis(300);
        for to in [b.local_addr(), "127.0.70.5:9".parse().expect("addr")] {
            let start = Instant::now();
            let err = a
                .send_and_receive_with_timeout(to, Verb::Echo, Bytes::new(), wait)
                .await
                .expect_err("nobody answers");
            assert!(
                matches!(err, NetError::Timeout { verb: Verb::Echo, peer, after } if peer == to && after == wait),
                "{err}"
            );
            assert!(start.elapsed() >= wait);
            assert!(start.elapsed() < Duration::from_secs(5));
        }
        assert_eq!(a.stats().pending_callbacks, 0);
        a.shutdown().await;
        b.shutdown().await;
    })
    .await
    .expect("test finishes in time");
}

// Checks the queue to a dead peer stays at its capacity, drops the oldest
// droppable messages (SYNs) before any non-droppable one (ECHO), counts the
// drops per peer and verb, and delivers what is left once the peer comes up.
#[tokio::test]
async fn dead_peer_queue_is_bounded_and_drops_oldest_droppable() {
    timeout(TEST_TIMEOUT, async {
        let a = node_with("127.0.70.6:0", |c| c.outbound_queue_capacity = 8).await;
        let dead: SocketAddr = {
            let l = std::net::TcpListener::bind("127.0.70.7:0").expect("reserve a port");
            l.local_addr().expect("addr")
        };
        a.send_one_way(dead, Verb::Echo, Bytes::from_static(b"e0"));
        for i in 0..20 {
            a.send_one_way(dead, Verb::GossipDigestSyn, syn(&format!("s{i}")));
        }
        a.send_one_way(dead, Verb::Echo, Bytes::from_static(b"e1"));
        // Let the writer fail to connect a few times: nothing is lost to that.
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Queue: e0, then SYNs pushed out oldest first (s0..s13 go), then e1.
        let stats = a.stats();
        let p = stats.peer(dead).expect("dead peer tracked");
        assert_eq!(p.queue_len, 8);
        assert_eq!(p.dropped, 14);
        assert_eq!(p.dropped_by_verb.get("GOSSIP_DIGEST_SYN"), Some(&14));
        assert_eq!(p.dropped_by_verb.len(), 1);
        assert!(!p.connected);
        assert_eq!(p.sent, 0);

        let b = node_with(&dead.to_string(), |_| {}).await;
        let mut echo = b.register(Verb::Echo);
        let mut syns = b.register(Verb::GossipDigestSyn);
        assert_eq!(recv(&mut echo).await.payload.as_ref(), b"e0");
        assert_eq!(recv(&mut echo).await.payload.as_ref(), b"e1");
        for i in 14..20 {
            assert_eq!(syn_cluster(&recv(&mut syns).await), format!("s{i}"));
        }
        let counts = || {
            a.stats()
                .peer(dead)
                .map(|p| (p.sent, p.queue_len, p.dropped))
        };
        eventually("8 sent, none queued, 14 dropped", || {
            counts() == Some((8, 0, 14))
        })
        .await;
        a.shutdown().await;
        b.shutdown().await;
    })
    .await
    .expect("test finishes in time");
}

/// Sends a SYN named `name` from `from` to `to`, then a SCHEMA marker; returns
/// once the marker arrived at `schema_rx`. Frames of one connection are
/// delivered in order, so a SYN that was not dropped is in `to`'s channel by then.
async fn syn_then_marker(
    from: &MessagingService,
    to: &MessagingService,
    schema_rx: &mut Receiver<Message>,
    name: &str,
) {
    from.send_one_way(to.local_addr(), Verb::GossipDigestSyn, syn(name));
    from.send_one_way(to.local_addr(), Verb::Schema, Bytes::from(name.to_string()));
    let marker = recv(schema_rx).await;
    assert_eq!(marker.payload, Bytes::from(name.to_string()));
    assert_eq!(marker.from, from.local_addr());
}

// Checks a rule dropping GOSSIP_DIGEST_SYN from node 1 to node 2 is honoured
// when installed on node 1 (sending side) and on node 2 (receiving side): node 2
// gets no SYN from node 1 but still gets other verbs from node 1 and SYNs from
// node 3, node 1's SYNs to node 3 pass, and clearing restores delivery.
#[tokio::test]
async fn filter_drops_syn_from_node1_to_node2() {
    timeout(TEST_TIMEOUT, async {
        let n1 = node("127.0.71.1").await;
        let n2 = node("127.0.71.2").await;
        let n3 = node("127.0.71.3").await;
        let mut syn2 = n2.register(Verb::GossipDigestSyn);
        let mut schema2 = n2.register(Verb::Schema);
        let mut syn3 = n3.register(Verb::GossipDigestSyn);
        let rule: FilterRule = serde_json::from_str(
            r#"{"verb": "GOSSIP_DIGEST_SYN", "from": "127.0.71.1", "to": "127.0.71.2", "action": "drop"}"#,
        )
        .expect("rule JSON");
        assert_eq!(rule, FilterRule::drop(Some(Verb::GossipDigestSyn), Some(ip("127.0.71.1")), Some(ip("127.0.71.2"))));

        for (installed_on, name) in [(&n1, "sending"), (&n2, "receiving")] {
            installed_on.filters().set(vec![rule.clone()]).expect("valid rule");
            syn_then_marker(&n1, &n2, &mut schema2, &format!("{name}-dropped")).await;
            n3.send_one_way(n2.local_addr(), Verb::GossipDigestSyn, syn(&format!("{name}-from-n3")));
            let from3 = recv(&mut syn2).await;
            assert_eq!(from3.from, n3.local_addr(), "{name}: only node 3's SYN reaches node 2");
            assert_eq!(syn_cluster(&from3), format!("{name}-from-n3"));
            assert!(matches!(syn2.try_recv(), Err(TryRecvError::Empty)), "{name}: node 1's SYN was dropped");
            n1.send_one_way(n3.local_addr(), Verb::GossipDigestSyn, syn(&format!("{name}-to-n3")));
            assert_eq!(syn_cluster(&recv(&mut syn3).await), format!("{name}-to-n3"));

            let counts = installed_on.filters().counts();
            assert_eq!(counts.dropped, 1, "{name}: one message filtered");
            let peer = if name == "sending" { n2.local_addr() } else { n1.local_addr() };
            assert_eq!(installed_on.stats().peer(peer).expect("tracked").filtered, 1);

            installed_on.filters().clear();
            syn_then_marker(&n1, &n2, &mut schema2, &format!("{name}-cleared")).await;
            let m = recv(&mut syn2).await;
            assert_eq!((m.from, syn_cluster(&m)), (n1.local_addr(), format!("{name}-cleared")));
        }
        for n in [n1, n2, n3] {
            n.shutdown().await;
        }
    })
    .await
    .expect("test finishes in time");
}

// Checks a delay rule delays: a request/response round trip takes at least the
// delay with the rule on the requester (sending side) and on the responder
// (receiving side), and is quick again once cleared.
#[tokio::test]
async fn filter_delay_delays() {
    timeout(TEST_TIMEOUT, async {
        let n4 = node("127.0.71.4").await;
        let n5 = node("127.0.71.5").await;
        echo_responder(&n5, Verb::Echo);
        let delay = Duration::from_millis(400);
        let round_trip = || async {
            let start = Instant::now();
            n4.send_and_receive(n5.local_addr(), Verb::Echo, Bytes::from_static(b"x"))
                .await
                .expect("response");
            start.elapsed()
        };
        round_trip().await; // connections up
        n4.filters()
            .add(FilterRule::delay(
                Some(Verb::Echo),
                None,
                Some(ip("127.0.71.5")),
                delay,
            ))
            .expect("valid");
        assert!(round_trip().await >= delay);
        assert_eq!(n4.filters().counts().delayed, 1);
        n4.filters().clear();
        n5.filters()
            .add(FilterRule::delay(None, Some(ip("127.0.71.4")), None, delay))
            .expect("valid");
        assert!(round_trip().await >= delay);
        assert_eq!(n5.filters().counts().delayed, 1);
        n5.filters().clear();
        assert!(round_trip().await < delay);
        n4.shutdown().await;
        n5.shutdown().await;
    })
    .await
    .expect("test finishes in time");
}

/// True once the server closes `stream` (EOF or reset).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(
        timeout(ARRIVAL_TIMEOUT, stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// A frame's bytes with the CRC recomputed after an edit.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 4;
    let crc = crc32c_of(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32c_of(bytes: &[u8]) -> u32 {
    // CRC32C (Castagnoli), bitwise: the test does not depend on the crate's codec.
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// Checks garbage, an oversized length, a bad CRC and a half-sent frame on raw
// TCP connections neither panic nor disturb the service: the bad connections
// are closed, a frame with an unknown verb is skipped without closing its
// connection, and a real peer still gets answers.
#[tokio::test]
async fn malformed_frames_close_only_their_connection() {
    timeout(TEST_TIMEOUT, async {
        let server = node("127.0.72.1").await;
        let client = node("127.0.72.2").await;
        echo_responder(&server, Verb::Echo);
        let mut schema = server.register(Verb::Schema);
        let to = server.local_addr();

        // Half a frame, left open: must not hold up anyone else.
        let mut stalled = TcpStream::connect(to).await.expect("connect");
        stalled
            .write_all(&[0, 0, 0, 100, 1, 0, 5])
            .await
            .expect("write");

        let valid = Frame {
            verb: Verb::Schema,
            id: 7,
            from: "127.0.72.9:7000".parse().expect("addr"),
            is_response: false,
            payload: Bytes::from_static(b"raw"),
        }
        .encode()
        .to_vec();
        assert_eq!(
            reseal(valid.clone()),
            valid,
            "the test's CRC32C agrees with the codec"
        );
        let mut bad_crc = valid.clone();
        let last = bad_crc.len() - 5;
        bad_crc[last] ^= 0x01;
        let mut garbage_body = vec![0, 0, 0, 40];
        garbage_body.extend((0..40u8).map(|i| i.wrapping_mul(37)));
        let cases: [(&str, Vec<u8>); 4] = [
            (
                "http request",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            ),
            ("oversized length", vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
            ("bad crc", bad_crc),
            ("garbage body", garbage_body),
        ];
        for (name, bytes) in cases {
            let mut raw = TcpStream::connect(to).await.expect("connect");
            raw.write_all(&bytes).await.expect("write");
            assert!(
                closed_by_server(&mut raw).await,
                "{name}: connection closed"
            );
            let r = client
                .send_and_receive(to, Verb::Echo, Bytes::from(name))
                .await
                .unwrap_or_else(|e| panic!("{name}: service still answers: {e}"));
            assert_eq!(r.payload, Bytes::from(name));
        }
        const {
            assert!(
                MAX_FRAME_BYTES < 0xffff_ffff,
                "the oversized case is above the limit"
            )
        };

        // An unknown verb is skipped; the next frame on the connection arrives.
        let mut unknown = valid.clone();
        unknown[6] = 250;
        let mut raw = TcpStream::connect(to).await.expect("connect");
        raw.write_all(&reseal(unknown)).await.expect("write");
        raw.write_all(&valid).await.expect("write");
        let m = recv(&mut schema).await;
        assert_eq!((m.id, m.payload.as_ref()), (7, &b"raw"[..]));

        drop(stalled);
        client.shutdown().await;
        server.shutdown().await;
    })
    .await
    .expect("test finishes in time");
}

// Checks shutdown flushes a GOSSIP_SHUTDOWN sent just before it, finishes
// promptly, fails later requests with Shutdown and closes registered channels.
#[tokio::test]
async fn shutdown_flushes_then_stops() {
    timeout(TEST_TIMEOUT, async {
        let a = node("127.0.72.3").await;
        let b = node("127.0.72.4").await;
        let mut notices = b.register(Verb::GossipShutdown);
        let mut a_echo = a.register(Verb::Echo);
        a.send_one_way(b.local_addr(), Verb::GossipShutdown, Bytes::new());
        a.shutdown().await;
        let m = recv(&mut notices).await;
        assert_eq!(m.from, a.local_addr());
        assert!(matches!(
            a.send_and_receive(b.local_addr(), Verb::Echo, Bytes::new())
                .await,
            Err(NetError::Shutdown)
        ));
        assert!(a_echo.recv().await.is_none(), "channels close on shutdown");
        a.shutdown().await; // idempotent
        b.shutdown().await;
    })
    .await
    .expect("test finishes in time");
}
