//! Membership across real processes: `sibyl cluster start -n 3` on a private
//! loopback range (127.0.80.1-3, no other test uses it), then what operators and
//! drivers see.
//!
//! * `sibyl nodetool status` on every node shows three `UN` lines within 15 s;
//! * a driver-style connection to node 1 (REGISTERed for STATUS_CHANGE and
//!   TOPOLOGY_CHANGE) and `system.peers` list the other two nodes;
//! * `kill -9` of node 3: `DN` on nodes 1 and 2 within [`CONVICT_WITHIN`], a
//!   STATUS_CHANGE DOWN event; restarted (same data, so same identity): `UN` again
//!   and an UP event;
//! * SIGSTOP of node 3 for 30 s: the same DOWN, then UP after SIGCONT;
//! * the scylla driver sees three hosts.
//!
//! Every wait is bounded; the test signals only the pids the cluster tool recorded
//! for its own directory, and a guard stops the cluster if an assertion fails.
//!
//! A second test starts lone `sibyl server` processes on 127.0.81.x to check that a
//! fresh node refuses an address a member already has.

#[path = "support/raw.rs"]
mod raw;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use raw::Raw;
use sibyl_cql::protocol::{
    Consistency, Event, EventType, QueryParameters, Request, Response, ResultBody, StatusChange,
};

/// First three octets of this test's node addresses.
const IP_PREFIX: &str = "127.0.80.";

/// How long a fresh 3-node cluster may take to show three UN lines everywhere.
const CONVERGE_WITHIN: Duration = Duration::from_secs(15);

/// How long after a node dies (or freezes) its peers may take to say DN. The
/// failure detector convicts after phi 8, about 18.4 mean heartbeat intervals
/// (~1 s each) without news: docs/cluster.md.
const CONVICT_WITHIN: Duration = Duration::from_secs(20);

/// How long a restarted (or resumed) node may take to be UN again everywhere.
const RECOVER_WITHIN: Duration = Duration::from_secs(20);

/// How long the cluster runs before the first failure: a failure detector that has
/// known a peer for two seconds holds mostly its deliberately high initial sample
/// (2 s) and would take ~30 s to convict; a few dozen real arrivals bring the mean
/// to the peer's rhythm (docs/cluster.md).
const FD_WARM_UP: Duration = Duration::from_secs(15);

/// How long the frozen node stays stopped (the 30 s).
const FREEZE_FOR: Duration = Duration::from_secs(30);

fn sibyl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sibyl")
}

fn cluster(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .arg("cluster")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run sibyl cluster")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn addr(i: u8) -> IpAddr {
    format!("{IP_PREFIX}{i}").parse().expect("ip")
}

/// `nodetool status` on node `i`: address → two-letter state (`UN`, `DN`, ...).
fn status(i: u8) -> Option<Vec<(String, IpAddr)>> {
    let out = sibyl(&["nodetool", "-h", &addr(i).to_string(), "status"]);
    if !out.status.success() {
        return None;
    }
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(state), Some(ip)) = (words.next(), words.next()) else {
            continue;
        };
        if state.len() == 2 && "UD".contains(&state[..1]) {
            if let Ok(ip) = ip.parse() {
                rows.push((state.to_string(), ip));
            }
        }
    }
    Some(rows)
}

/// Waits until node `observer`'s `nodetool status` says `want` for every node in
/// `of`, returning how long it took.
fn wait_for_status(observer: u8, of: &[u8], want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < within {
        if let Some(rows) = status(observer) {
            let ok = of
                .iter()
                .all(|i| rows.iter().any(|(s, ip)| *ip == addr(*i) && s == want));
            if ok {
                return start.elapsed();
            }
            last = Some(rows);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "node {observer} did not show {want} for {of:?} within {within:?}; last status: {last:?}"
    );
}

fn pid_of(dir: &Path, i: u8) -> i32 {
    std::fs::read_to_string(dir.join(format!("node{i}")).join("pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid")
}

fn signal(pid: i32, sig: i32) {
    // Only pids the cluster tool recorded for this test's directory reach here.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// Stops the cluster (and resumes a frozen node first) if the test fails midway.
struct Guard(PathBuf);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.exists() {
            if let Ok(p) = std::fs::read_to_string(self.0.join("node3").join("pid")) {
                if let Ok(pid) = p.trim().parse::<i32>() {
                    unsafe { libc::kill(pid, libc::SIGCONT) };
                }
            }
            let _ = cluster(&self.0, &["stop"]);
        }
    }
}

/// Waits for a STATUS_CHANGE `change` about `node` on a REGISTERed connection.
async fn wait_for_event(conn: &mut Raw, change: StatusChange, node: IpAddr, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        // The outer timeout decides; the client's own read bound must not fire first.
        conn.wait = left + Duration::from_secs(5);
        let got = tokio::time::timeout(left, conn.recv()).await;
        match got {
            Ok(Some(env)) => {
                if let Response::Event(Event::StatusChange { change: c, node: n }) = &env.response {
                    if *c == change && n.ip() == node {
                        return;
                    }
                }
                seen.push(env.response);
            }
            Ok(None) => panic!("event connection closed; seen {seen:?}"),
            Err(_) => panic!("no {change:?} event for {node} within {within:?}; seen {seen:?}"),
        }
    }
}

fn query(q: &str) -> Request {
    Request::Query {
        query: q.to_string(),
        params: QueryParameters::new(Consistency::One),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_form_a_ring_and_see_failures() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("cluster");
    let _guard = Guard(dir.clone());
    let out = cluster(&dir, &["start", "-n", "3", "--ip-prefix", IP_PREFIX]);
    assert!(out.status.success(), "cluster start: {}", text(&out));

    // Convergence: three UN lines on every node.
    for i in 1..=3 {
        let took = wait_for_status(i, &[1, 2, 3], "UN", CONVERGE_WITHIN);
        eprintln!("node {i}: three UN after {took:?}");
    }

    // A driver-style connection to node 1, registered for events.
    let native1 = SocketAddr::new(addr(1), 9042);
    let mut events = Raw::connect(native1).await;
    events.startup(4).await;
    events
        .send(
            4,
            1,
            Request::Register {
                events: vec![EventType::StatusChange, EventType::TopologyChange],
            },
        )
        .await;
    assert_eq!(
        events.recv().await.expect("ready").response,
        Response::Ready
    );

    // system.peers on node 1 lists nodes 2 and 3 with their tokens.
    let mut q = Raw::connect(native1).await;
    q.startup(4).await;
    q.send(
        4,
        2,
        query("SELECT peer, rpc_address, host_id, tokens FROM system.peers"),
    )
    .await;
    match q.recv().await.expect("rows").response {
        Response::Result(ResultBody::Rows(rows)) => {
            assert_eq!(rows.rows.len(), 2, "{rows:?}");
        }
        other => panic!("peers: {other:?}"),
    }

    // The scylla driver sees three hosts.
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_node_addr(native1)
        .build()
        .await
        .expect("driver connects");
    let hosts: BTreeSet<IpAddr> = session
        .get_cluster_state()
        .get_nodes_info()
        .iter()
        .map(|n| n.address.ip())
        .collect();
    assert_eq!(hosts, [addr(1), addr(2), addr(3)].into_iter().collect());

    tokio::time::sleep(FD_WARM_UP).await;

    // kill -9 of node 3.
    let pid3 = pid_of(&dir, 3);
    signal(pid3, libc::SIGKILL);
    let killed_at = Instant::now();
    for i in [1, 2] {
        let left = CONVICT_WITHIN.saturating_sub(killed_at.elapsed());
        tokio::task::block_in_place(|| wait_for_status(i, &[3], "DN", left));
        eprintln!(
            "node {i}: node 3 DN {:?} after kill -9",
            killed_at.elapsed()
        );
    }
    wait_for_event(
        &mut events,
        StatusChange::Down,
        addr(3),
        Duration::from_secs(5),
    )
    .await;

    // Restart (same data directory: same host id and tokens).
    let out = cluster(&dir, &["start", "--ip-prefix", IP_PREFIX]);
    assert!(out.status.success(), "restart: {}", text(&out));
    for i in [1, 2, 3] {
        tokio::task::block_in_place(|| wait_for_status(i, &[1, 2, 3], "UN", RECOVER_WITHIN));
    }
    wait_for_event(
        &mut events,
        StatusChange::Up,
        addr(3),
        Duration::from_secs(5),
    )
    .await;

    // SIGSTOP for 30 s, then SIGCONT (after the detectors learnt the new life's rhythm).
    tokio::time::sleep(FD_WARM_UP).await;
    let pid3 = pid_of(&dir, 3);
    let frozen_at = Instant::now();
    signal(pid3, libc::SIGSTOP);
    for i in [1, 2] {
        let left = CONVICT_WITHIN.saturating_sub(frozen_at.elapsed());
        tokio::task::block_in_place(|| wait_for_status(i, &[3], "DN", left));
        eprintln!(
            "node {i}: node 3 DN {:?} after SIGSTOP",
            frozen_at.elapsed()
        );
    }
    wait_for_event(
        &mut events,
        StatusChange::Down,
        addr(3),
        Duration::from_secs(5),
    )
    .await;
    tokio::time::sleep(FREEZE_FOR.saturating_sub(frozen_at.elapsed())).await;
    signal(pid3, libc::SIGCONT);
    for i in [1, 2, 3] {
        tokio::task::block_in_place(|| wait_for_status(i, &[1, 2, 3], "UN", RECOVER_WITHIN));
    }
    wait_for_event(
        &mut events,
        StatusChange::Up,
        addr(3),
        Duration::from_secs(5),
    )
    .await;

    let out = cluster(&dir, &["stop"]);
    assert!(out.status.success(), "stop: {}", text(&out));
}

/// A `sibyl server` child on `ip` with its own data directory; killed on drop.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(ip: &str, data: &Path, seed: &str) -> std::process::Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sibyl"));
    cmd.args([
        "server",
        "--listen-address",
        ip,
        "--seeds",
        seed,
        "--data-dir",
    ])
    .arg(data)
    .stdin(Stdio::null());
    cmd
}

#[test]
fn a_fresh_node_refuses_an_address_the_ring_already_has() {
    // Checks Cassandra's endpoint-collision rule: node 2 joins and dies; a node with
    // a fresh data directory on node 2's address is refused (exit 1, a clear
    // message), and so is a second process on a live node's address.
    let tmp = tempfile::tempdir().expect("tmp");
    let seed = "127.0.81.1";
    let _n1 = Server(
        server(seed, &tmp.path().join("n1"), seed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn node 1"),
    );
    let mut n2 = Server(
        server("127.0.81.2", &tmp.path().join("n2"), seed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn node 2"),
    );
    let deadline = Instant::now() + CONVERGE_WITHIN;
    loop {
        let out = sibyl(&["nodetool", "-h", seed, "status"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.lines().any(|l| l.starts_with("UN  127.0.81.2")) {
            break;
        }
        assert!(Instant::now() < deadline, "node 2 never joined: {text}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = n2.0.kill();
    let _ = n2.0.wait();

    let out = server("127.0.81.2", &tmp.path().join("n2-fresh"), seed)
        .output()
        .expect("run fresh node");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("A node with address 127.0.81.2:7000 already exists"),
        "{}",
        text(&out)
    );

    let out = server(seed, &tmp.path().join("n1-again"), seed)
        .output()
        .expect("run second node 1");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("127.0.81.1"), "{}", text(&out));
}
