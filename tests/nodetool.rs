//! `sibyl nodetool` against real `sibyl server` processes: each test starts its own
//! node on its own loopback address (127.0.50.0/24 belongs to this file) with the
//! admin API on its default port 7199, drives it with nodetool and checks the
//! output against what the node reports over CQL (`system.local`) and against
//! Cassandra's layouts. Nodes are stopped by SIGTERM to their own pid.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest a node may take to start or stop.
const NODE_DEADLINE: Duration = Duration::from_secs(30);
/// Longest one nodetool or cqlsh run may take.
const TOOL_DEADLINE: Duration = Duration::from_secs(60);

/// A `sibyl server` child, stopped by SIGTERM to its own pid when dropped.
struct NodeProcess {
    child: Child,
    host: &'static str,
    native: SocketAddr,
}

impl NodeProcess {
    fn start(host: &'static str, data: &Path, extra: &[&str]) -> NodeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sibyl"))
            .args(["server", "--listen-address", host, "--native-port", "0"])
            .args(extra)
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sibyl server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                if line.contains("CQL native transport listening")
                    || line.contains("admin API listening")
                {
                    let _ = tx.send(line);
                }
                // Keep draining so the node never blocks on a full pipe.
            }
        });
        let mut native = None;
        let start = Instant::now();
        let mut admin_up = false;
        while !(admin_up && native.is_some()) {
            let left = NODE_DEADLINE.saturating_sub(start.elapsed());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the node did not start within {NODE_DEADLINE:?}: {e}");
                }
            };
            if line.contains("admin API listening") {
                admin_up = true;
            } else {
                native = line
                    .split("address=")
                    .nth(1)
                    .and_then(|a| a.split_whitespace().next())
                    .and_then(|a| a.parse().ok());
            }
        }
        NodeProcess {
            child,
            host,
            native: native.expect("native address"),
        }
    }

    fn nodetool(&self, args: &[&str]) -> Output {
        let mut all = vec!["nodetool", "-h", self.host];
        all.extend_from_slice(args);
        run(&all)
    }

    /// `nodetool ARGS`, which must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.nodetool(args);
        assert!(
            out.status.success(),
            "nodetool {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn cql(&self, statement: &str) -> String {
        let port = self.native.port().to_string();
        let out = run(&["cqlsh", self.host, &port, "-e", statement]);
        assert!(
            out.status.success(),
            "cqlsh {statement:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// The raw HTTP answer to `GET path` on the admin port: (status line, body).
    fn http_get(&self, path: &str) -> (String, String) {
        let mut s = TcpStream::connect((self.host, 7199)).expect("connect admin");
        s.set_read_timeout(Some(TOOL_DEADLINE)).expect("timeout");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        (
            head.lines().next().unwrap_or("").to_string(),
            body.to_string(),
        )
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of the child this test spawned.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let stop = Instant::now();
        while stop.elapsed() < NODE_DEADLINE {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `s` without terminal colour sequences (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (false, c) => out.push(c),
            (true, 'm') => in_escape = false,
            (true, _) => {}
        }
    }
    out
}

/// Runs `sibyl ARGS` to completion within [`TOOL_DEADLINE`].
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sibyl");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > TOOL_DEADLINE {
            let _ = child.kill();
            panic!("sibyl {args:?} ran past {TOOL_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Every UUID (8-4-4-4-12 hex) in `text`, in order.
fn uuids(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .filter(|w| {
            let parts: Vec<usize> = w.split('-').map(str::len).collect();
            parts == [8, 4, 4, 4, 12]
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn status_info_ring_and_describecluster_agree_with_system_local() {
    let dir = tempfile::tempdir().expect("tmp");
    let node = NodeProcess::start("127.0.50.1", dir.path(), &[]);
    let local = node.cql("SELECT host_id, schema_version FROM system.local");
    let ids = uuids(&local);
    assert_eq!(ids.len(), 2, "{local}");
    let (host_id, schema_version) = (&ids[0], &ids[1]);

    let status = node.ok(&["status"]);
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(lines[0], "Datacenter: datacenter1", "{status}");
    assert_eq!(lines[1], "=======================");
    assert_eq!(lines[2], "Status=Up/Down");
    assert_eq!(lines[3], "|/ State=Normal/Leaving/Joining/Moving");
    let header: Vec<&str> = lines[4]
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "--",
            "Address",
            "Load",
            "Tokens",
            "Owns (effective)",
            "Host ID",
            "Rack"
        ]
    );
    let un: Vec<&&str> = lines.iter().filter(|l| l.starts_with("UN")).collect();
    assert_eq!(un.len(), 1, "{status}");
    let fields: Vec<&str> = un[0].split_whitespace().collect();
    assert_eq!(fields[1], "127.0.50.1");
    assert!(
        fields[3] == "bytes" || fields[3].ends_with("iB"),
        "{fields:?}"
    );
    assert_eq!(fields[4], "16");
    assert_eq!(fields[5], "100.0%");
    assert_eq!(fields[6], host_id.as_str());
    assert_eq!(fields[7], "rack1");

    let info = node.ok(&["info"]);
    assert!(
        info.starts_with(&format!("ID                     : {host_id}\n")),
        "{info}"
    );
    assert!(info.contains("Native Transport active: true\n"));
    assert!(info.contains("Data Center            : datacenter1\n"));
    assert!(
        info.contains("Token                  : (invoke with -T/--tokens to see all 16 tokens)\n")
    );
    let all_tokens = node.ok(&["info", "-T"]);
    assert_eq!(
        all_tokens
            .lines()
            .filter(|l| l.starts_with("Token "))
            .count(),
        16
    );

    let ring = node.ok(&["ring"]);
    let token_lines = ring
        .lines()
        .filter(|l| l.starts_with("127.0.50.1 "))
        .count();
    assert_eq!(token_lines, 16, "{ring}");
    assert!(
        ring.contains(
            "Address     Rack        Status State   Load            Owns                Token"
        ),
        "{ring}"
    );

    let cluster = node.ok(&["describecluster"]);
    assert!(
        cluster.starts_with("Cluster Information:\n\tName: Test Cluster\n"),
        "{cluster}"
    );
    assert!(cluster.contains("\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner\n"));
    assert!(
        cluster.contains(&format!("\t\t{schema_version}: [127.0.50.1]\n")),
        "{cluster}"
    );
    assert!(cluster.contains("\tdatacenter1 #Nodes: 1 #Down: 0\n"));
    assert!(cluster
        .contains("\tsystem_auth -> Replication class: SimpleStrategy{replication_factor=1}\n"));

    let gossip = node.ok(&["gossipinfo"]);
    assert!(gossip.starts_with("/127.0.50.1\n  generation:"), "{gossip}");
    // `  HOST_ID:<version>:<uuid>`, the version being the gossiper's.
    assert!(
        gossip.lines().any(|l| l.starts_with("  HOST_ID:")
            && l.ends_with(&format!(":{host_id}"))
            && l.split(':')
                .nth(1)
                .is_some_and(|v| v.parse::<u32>().is_ok())),
        "{gossip}"
    );

    assert_eq!(node.ok(&["version"]), "ReleaseVersion: 5.0.0\n");

    // A keyspace of a different replication makes effective ownership meaningless.
    node.cql(
        "CREATE KEYSPACE a WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    node.cql(
        "CREATE KEYSPACE b WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
    );
    let status = node.ok(&["status"]);
    assert!(status.contains("  Owns  "), "{status}");
    assert!(status.ends_with("\nNote: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless\n"), "{status}");
    let status_a = node.ok(&["status", "a"]);
    assert!(status_a.contains("100.0%"), "{status_a}");
    let missing = node.nodetool(&["status", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn placement_flush_stats_compaction_and_snapshots() {
    let dir = tempfile::tempdir().expect("tmp");
    let node = NodeProcess::start("127.0.50.2", dir.path(), &[]);
    node.cql("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    node.cql("CREATE TABLE ks.t (k text PRIMARY KEY, v int)");
    node.cql("CREATE TABLE ks.n (k int, c int, v int, PRIMARY KEY ((k, c)))");
    node.cql("INSERT INTO ks.t (k, v) VALUES ('a', 1)");

    assert_eq!(
        node.ok(&["getendpoints", "ks", "t", "some key"]),
        "127.0.50.2\n"
    );
    assert_eq!(
        node.ok(&["getendpoints", "ks", "n", "42:7"]),
        "127.0.50.2\n"
    );
    let bad = node.nodetool(&["getendpoints", "ks", "n", "notanint:1"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("error: "));

    let ring = node.ok(&["describering", "ks"]);
    assert!(ring.starts_with("Schema Version:"), "{ring}");
    assert_eq!(
        ring.matches("\tTokenRange(start_token:").count(),
        16,
        "{ring}"
    );
    assert!(ring.contains("endpoints:[127.0.50.2], rpc_endpoints:[127.0.50.2], endpoint_details:[EndpointDetails(host:127.0.50.2, datacenter:datacenter1, rack:rack1)])"));

    assert_eq!(node.ok(&["flush", "ks", "t"]), "");
    let stats = node.ok(&["tablestats", "ks.t"]);
    assert!(stats.contains("Keyspace : ks\n"), "{stats}");
    assert!(
        stats.contains("\t\tTable: t\n\t\tSSTable count: 1\n"),
        "{stats}"
    );
    assert!(stats.contains("\t\tLocal write count: 1\n"), "{stats}");

    node.cql("INSERT INTO ks.t (k, v) VALUES ('b', 2)");
    node.ok(&["flush", "ks"]);
    assert!(node
        .ok(&["tablestats", "ks.t"])
        .contains("SSTable count: 2\n"));
    assert_eq!(node.ok(&["compact", "ks", "t"]), "");
    assert!(node
        .ok(&["tablestats", "ks.t"])
        .contains("SSTable count: 1\n"));
    assert!(node
        .ok(&["compactionstats"])
        .starts_with("pending tasks: 0\n"));

    let snap = node.ok(&["snapshot", "-t", "before", "ks"]);
    assert_eq!(
        snap,
        "Requested creating snapshot(s) for [ks] with snapshot name [before] and options {skipFlush=false}\nSnapshot directory: before\n"
    );
    let again = node.nodetool(&["snapshot", "-t", "before", "ks"]);
    assert_eq!(again.status.code(), Some(1), "a tag is taken once");
    let list = node.ok(&["listsnapshots"]);
    assert!(
        list.starts_with(
            "Snapshot Details: \nSnapshot name Keyspace name Column family name True size"
        ),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("before") && l.contains(" ks ") && l.contains(" t ")),
        "{list}"
    );
    assert!(list.contains("\nTotal TrueDiskSpaceUsed: "));
    let cleared = node.ok(&["clearsnapshot", "-t", "before"]);
    assert_eq!(
        cleared,
        "Requested clearing snapshot(s) for [all keyspaces] with snapshot name [before]\n"
    );
    assert_eq!(
        node.ok(&["listsnapshots"]),
        "Snapshot Details: \nThere are no snapshots\n"
    );
    let neither = node.nodetool(&["clearsnapshot"]);
    assert_eq!(neither.status.code(), Some(2));

    assert_eq!(node.ok(&["drain"]), "");
    assert!(node
        .ok(&["info"])
        .contains("Native Transport active: false\n"));
    let refused = TcpStream::connect(node.native);
    assert!(refused.is_err(), "the native transport stops on drain");
}

#[test]
fn metrics_parse_as_prometheus_text_and_debug_routes_are_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let node = NodeProcess::start("127.0.50.3", dir.path(), &[]);
    node.cql(
        "CREATE KEYSPACE m WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    node.cql("CREATE TABLE m.t (k int PRIMARY KEY)");
    node.cql("INSERT INTO m.t (k) VALUES (1)");
    let (status, body) = node.http_get("/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let mut samples = 0;
    for line in body.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').expect("name and value");
        assert!(
            value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value),
            "{line}"
        );
        let name = name_labels.split('{').next().unwrap_or("");
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        if let Some(labels) = name_labels.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        samples += 1;
    }
    assert!(samples > 10, "{body}");
    // cqlsh runs at ONE: one write (the INSERT) and two schema changes so far.
    assert!(
        body.contains(
            "sibyl_client_request_latency_seconds_count{kind=\"write\",consistency=\"ONE\"} 1\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("sibyl_client_request_latency_seconds_bucket{kind=\"schema\",consistency=\"ONE\",le=\"+Inf\"} 2\n"),
        "{body}"
    );
    assert!(
        body.contains("sibyl_table_writes_total{keyspace=\"m\",table=\"t\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("sibyl_endpoint_up{endpoint=\"127.0.50.3:7000\""),
        "{body}"
    );

    let (status, body) = node.http_get("/debug/filters");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.starts_with("{\"error\":"), "{body}");
    let (status, _) = node.http_get("/api/v1/nope");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, _) = node.http_get("/api/v1/endpoints/m/t/%zz");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let (status, _) = node.http_get("/api/v1/flush");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
}

#[test]
fn an_unreachable_node_and_a_bad_command_line() {
    // Nothing listens on 127.0.51.1.
    let out = run(&["nodetool", "-h", "127.0.51.1", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "nodetool: Failed to connect to '127.0.51.1:7199' - ConnectException: 'Connection refused'.\n"
    );
    let out = run(&["nodetool", "-h", "127.0.51.1", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["nodetool", "-h", "127.0.51.1", "getendpoints", "ks"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_node_refuses_to_start_when_its_admin_port_is_taken() {
    let _taken = std::net::TcpListener::bind("127.0.51.2:7199").expect("bind");
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_sibyl"))
        .args([
            "server",
            "--listen-address",
            "127.0.51.2",
            "--native-port",
            "0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sibyl: binding the admin API on 127.0.51.2:7199: "),
        "{stderr}"
    );
}
