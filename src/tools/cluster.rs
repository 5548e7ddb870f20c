//! `sibyl cluster`: a local cluster of `sibyl server` processes for development and
//! tests, in the manner of ccm (`ccm populate -n 3 && ccm start`).
//!
//! Layout of the cluster directory `D` (default `$SIBYL_CLUSTER_DIR`, else
//! `~/.sibyl/cluster`, as ccm keeps `~/.ccm`):
//!
//! ```text
//! D/sibyl-cluster     marker: `clear` removes only a directory that has it
//! D/nodeI/            node I's --data-dir: data/, commitlog/, system/
//! D/nodeI/node.info   address and ports, key=value lines (read by stop/status)
//! D/nodeI/pid         the running process's pid, removed once it has stopped
//! D/nodeI/node.log    the node's stdout and stderr, appended across starts
//! ```
//!
//! Node I listens on `PREFIX.I` (listen and rpc address; `--ip-prefix`, default
//! `127.0.0.`) with the same ports on every node, and names node 1 as its seed.
//! Linux routes all of 127.0.0.0/8 to loopback, so no setup is needed; tests use a
//! private range (`127.0.41.`) to stay clear of each other and of a developer's
//! node on 127.0.0.1.
//!
//! Each node is the running binary itself (`std::env::current_exe`, or `--binary`)
//! started as `sibyl server ...` in its own session (setsid), so a Ctrl-C or a
//! closed terminal reaches the tool and not the nodes. `stop` signals only the pids
//! it recorded, and only after `/proc/PID/cmdline` shows that pid is still a
//! `sibyl server` on that node's directory: a pid reused by an unrelated process is
//! never signalled. Node 1 is every node's seed; nodes start one at a time (each
//! waits for the previous to serve CQL), so each new node allocates its tokens
//! against the ring the earlier ones formed.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::ToolError;
use crate::config::{
    Flags, NodeConfig, DEFAULT_ADMIN_PORT, DEFAULT_NATIVE_PORT, DEFAULT_STORAGE_PORT,
};

/// How long `start` waits for every node's native port to accept connections:
/// a fresh node opens in well under a second; replaying a large commitlog takes longer.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `stop` waits after SIGTERM before SIGKILL: a node flushes its
/// memtables on the way out, which on a loaded node takes seconds.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `stop` waits after SIGKILL for the kernel to end the process.
pub const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one readiness probe (a TCP connect) may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Pause between readiness or exit checks.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Most nodes one cluster may have: node I takes address PREFIX.I, and each node
/// is a whole server process; more than this on one machine is a mistake.
pub const MAX_NODES: usize = 64;

/// The environment variable naming the default cluster directory.
pub const CLUSTER_DIR_ENV: &str = "SIBYL_CLUSTER_DIR";

/// The marker file that makes a directory a cluster directory.
const MARKER_FILE: &str = "sibyl-cluster";

/// `sibyl cluster` arguments.
#[derive(Args, Debug)]
#[command(after_help = "\
Node 1 is the seed; nodes start one at a time and join one ring through gossip \
(`sibyl nodetool status` shows them).

Examples:
  sibyl cluster start -n 3      # node1..node3 on 127.0.0.1..3, port 9042
  sibyl cluster status
  sibyl cluster stop
  sibyl cluster clear           # stop and delete the cluster directory")]
pub struct ClusterArgs {
    /// The cluster directory [default: $SIBYL_CLUSTER_DIR, else ~/.sibyl/cluster]
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Subcommand, Debug)]
enum ClusterCommand {
    /// Start node1..nodeN (creating them if needed) and wait until each serves CQL.
    Start(StartArgs),
    /// Stop the cluster's nodes: SIGTERM, then SIGKILL after 30 s.
    Stop,
    /// Each node's address, pid and UP/DOWN (UP: its process runs and its native port accepts).
    Status,
    /// Stop the nodes and delete the cluster directory.
    Clear,
}

#[derive(Args, Debug)]
struct StartArgs {
    /// Number of nodes [default: the nodes already in the cluster directory]
    #[arg(short = 'n', long = "nodes", value_name = "N")]
    nodes: Option<usize>,
    /// The sibyl binary to run [default: this one]
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
    /// First three octets of the nodes' addresses: node I listens on PREFIX.I
    #[arg(long, value_name = "PREFIX", default_value = "127.0.0.")]
    ip_prefix: String,
    /// native_transport_port of every node
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_NATIVE_PORT)]
    native_port: u16,
    /// storage_port of every node
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_STORAGE_PORT)]
    storage_port: u16,
    /// admin_port of every node
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_ADMIN_PORT)]
    admin_port: u16,
    /// A configuration file every node starts with (flags above override it)
    #[arg(long, value_name = "FILE")]
    conf: Option<PathBuf>,
}

/// Runs `sibyl cluster ...`, printing one line per node.
pub fn run(args: ClusterArgs) -> Result<(), ToolError> {
    let dir = cluster_dir(args.dir)?;
    let mut out = std::io::stdout().lock();
    match args.command {
        ClusterCommand::Start(start_args) => start(&dir, &start_args, &mut out),
        ClusterCommand::Stop => stop(&dir, &mut out),
        ClusterCommand::Status => status(&dir, &mut out),
        ClusterCommand::Clear => clear(&dir, &mut out),
    }
}

/// `--dir`, else `$SIBYL_CLUSTER_DIR`, else `~/.sibyl/cluster`.
fn cluster_dir(given: Option<PathBuf>) -> Result<PathBuf, ToolError> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os(CLUSTER_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".sibyl").join("cluster")),
        None => Err(ToolError::Usage(format!(
            "no cluster directory: HOME is not set; give --dir or set {CLUSTER_DIR_ENV}"
        ))),
    }
}

/// One node as recorded in its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeInfo {
    /// 1-based node number.
    index: usize,
    /// `D/nodeI`, absolute.
    dir: PathBuf,
    address: IpAddr,
    native_port: u16,
    storage_port: u16,
    admin_port: u16,
}

impl NodeInfo {
    fn name(&self) -> String {
        format!("node{}", self.index)
    }

    fn native_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.native_port)
    }

    fn log(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }

    fn info_text(&self) -> String {
        format!(
            "address={}\nnative_port={}\nstorage_port={}\nadmin_port={}\n",
            self.address, self.native_port, self.storage_port, self.admin_port
        )
    }

    /// Reads `dir/node.info`.
    fn load(index: usize, dir: PathBuf) -> Result<NodeInfo, ToolError> {
        let path = dir.join("node.info");
        let text = fs::read_to_string(&path)
            .map_err(|e| ToolError::Runtime(format!("cannot read {}: {e}", path.display())))?;
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::trim)
                .ok_or_else(|| ToolError::Runtime(format!("{} has no {key}", path.display())))
        };
        let bad = |key: &str| ToolError::Runtime(format!("{}: bad {key}", path.display()));
        Ok(NodeInfo {
            index,
            address: field("address")?.parse().map_err(|_| bad("address"))?,
            native_port: field("native_port")?
                .parse()
                .map_err(|_| bad("native_port"))?,
            storage_port: field("storage_port")?
                .parse()
                .map_err(|_| bad("storage_port"))?,
            admin_port: field("admin_port")?
                .parse()
                .map_err(|_| bad("admin_port"))?,
            dir,
        })
    }

    /// The recorded pid, if the file exists and holds one.
    fn recorded_pid(&self) -> Option<i32> {
        fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The recorded pid if that process is still this node's `sibyl server`.
    fn running_pid(&self) -> Option<i32> {
        let pid = self.recorded_pid()?;
        is_our_server(pid, &self.dir).then_some(pid)
    }
}

/// Whether `pid` is alive and is a `sibyl server` whose `--data-dir` is `node_dir`.
/// A zombie has an empty cmdline and so is not running.
fn is_our_server(pid: i32, node_dir: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let dir = node_dir.as_os_str().as_encoded_bytes();
    args.contains(&b"server".as_slice())
        && args
            .windows(2)
            .any(|w| w[0] == b"--data-dir" && w[1] == dir)
}

/// The nodes in `dir` (`node1`, `node2`, ...), in order, stopping at the first gap.
fn existing_nodes(dir: &Path) -> Result<Vec<NodeInfo>, ToolError> {
    let mut nodes = Vec::new();
    for index in 1..=MAX_NODES {
        let node_dir = dir.join(format!("node{index}"));
        if !node_dir.join("node.info").is_file() {
            break;
        }
        nodes.push(NodeInfo::load(index, node_dir)?);
    }
    Ok(nodes)
}

/// `127.0.0.` + index, checked.
fn node_address(prefix: &str, index: usize) -> Result<IpAddr, ToolError> {
    let bad = || {
        ToolError::Usage(format!(
            "--ip-prefix: expected three octets and a dot, such as 127.0.0., got {prefix:?}"
        ))
    };
    if !prefix.ends_with('.') || prefix.matches('.').count() != 3 {
        return Err(bad());
    }
    format!("{prefix}{index}")
        .parse::<Ipv4Addr>()
        .map(IpAddr::V4)
        .map_err(|_| bad())
}

fn start(dir: &Path, args: &StartArgs, out: &mut impl Write) -> Result<(), ToolError> {
    let existing = if dir.join(MARKER_FILE).is_file() {
        existing_nodes(&absolute(dir)?)?.len()
    } else {
        0
    };
    let count = match args.nodes {
        Some(n) if (1..=MAX_NODES).contains(&n) => n,
        Some(n) => {
            return Err(ToolError::Usage(format!(
                "-n: expected 1 to {MAX_NODES} nodes, got {n}"
            )))
        }
        None if existing > 0 => existing,
        None => {
            return Err(ToolError::Usage(format!(
                "no cluster in {}; give -n N to create one",
                dir.display()
            )))
        }
    };
    // Check every address before creating anything.
    let seed = node_address(&args.ip_prefix, 1)?;
    let addresses = (1..=count)
        .map(|i| node_address(&args.ip_prefix, i))
        .collect::<Result<Vec<_>, _>>()?;
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .map_err(|e| ToolError::Runtime(format!("cannot find the sibyl binary: {e}")))?,
    };
    let conf = args.conf.as_deref().map(absolute).transpose()?;
    if let Some(conf) = &conf {
        // Refused here once, rather than by every node in its log.
        NodeConfig::load(Some(conf), &Flags::default())
            .map_err(|e| ToolError::Usage(e.to_string()))?;
    }
    fs::create_dir_all(dir)
        .map_err(|e| ToolError::Runtime(format!("cannot create {}: {e}", dir.display())))?;
    let dir = absolute(dir)?;
    write_file(
        &dir.join(MARKER_FILE),
        "a sibyl cluster directory (sibyl cluster)\n",
    )?;

    let mut to_start = Vec::new();
    for (i, address) in addresses.into_iter().enumerate() {
        let node = NodeInfo {
            index: i + 1,
            dir: dir.join(format!("node{}", i + 1)),
            address,
            native_port: args.native_port,
            storage_port: args.storage_port,
            admin_port: args.admin_port,
        };
        if let Some(pid) = node.running_pid() {
            line(
                out,
                format_args!(
                    "{} {} already running (pid {pid})",
                    node.name(),
                    node.native_addr()
                ),
            )?;
            continue;
        }
        // The readiness probe cannot tell our node from another process on the same
        // address, so a taken address is refused before any node starts.
        if TcpStream::connect_timeout(&node.native_addr(), PROBE_TIMEOUT).is_ok() {
            return Err(ToolError::Runtime(format!(
                "{} is already in use by another process (another node or cluster?); \
                 choose other addresses with --ip-prefix or --native-port",
                node.native_addr()
            )));
        }
        to_start.push(node);
    }
    // One node at a time, like ccm and like Cassandra's rule for joining nodes: a
    // new node allocates its tokens against the ring it learns from the seed, so
    // two nodes joining at once would choose against the same ring and overlap.
    let deadline = Instant::now() + START_TIMEOUT * to_start.len().max(1) as u32;
    for node in to_start {
        fs::create_dir_all(&node.dir).map_err(|e| {
            ToolError::Runtime(format!("cannot create {}: {e}", node.dir.display()))
        })?;
        write_file(&node.dir.join("node.info"), &node.info_text())?;
        let mut child = spawn(&binary, &node, seed, conf.as_deref())?;
        write_file(&node.pid_file(), &format!("{}\n", child.id()))?;
        wait_until_serving(&node, &mut child, deadline)?;
        wait_until_in_ring(&node, seed, deadline)?;
        line(
            out,
            format_args!(
                "{} {} UP (pid {}, log {})",
                node.name(),
                node.native_addr(),
                child.id(),
                node.log().display()
            ),
        )?;
    }
    Ok(())
}

/// Starts `sibyl server` for `node`, detached, output appended to its log.
fn spawn(
    binary: &Path,
    node: &NodeInfo,
    seed: IpAddr,
    conf: Option<&Path>,
) -> Result<Child, ToolError> {
    let log_path = node.log();
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| ToolError::Runtime(format!("cannot open {}: {e}", log_path.display())))?;
    let _ = writeln!(log, "--- sibyl cluster: starting {} ---", node.name());
    let stderr = log
        .try_clone()
        .map_err(|e| ToolError::Runtime(format!("cannot open {}: {e}", log_path.display())))?;
    let mut cmd = Command::new(binary);
    cmd.arg("server");
    if let Some(conf) = conf {
        cmd.arg("--conf").arg(conf);
    }
    cmd.arg("--data-dir")
        .arg(&node.dir)
        .args(["--listen-address", &node.address.to_string()])
        .args(["--seeds", &seed.to_string()])
        .args(["--native-port", &node.native_port.to_string()])
        .args(["--storage-port", &node.storage_port.to_string()])
        .args(["--admin-port", &node.admin_port.to_string()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr);
    // SAFETY: setsid(2) is async-signal-safe and touches no memory of this process;
    // it is all the child runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| {
        ToolError::Runtime(format!(
            "cannot start {} ({}): {e}",
            node.name(),
            binary.display()
        ))
    })
}

/// Waits until the seed's ring shows `node` UP and NORMAL, so the next node to join
/// allocates its tokens against a ring that includes this one.
fn wait_until_in_ring(node: &NodeInfo, seed: IpAddr, deadline: Instant) -> Result<(), ToolError> {
    let want = node.address.to_string();
    loop {
        let seen =
            crate::tools::nodetool::get_json(&seed.to_string(), node.admin_port, "/api/v1/status")
                .ok()
                .and_then(|v| {
                    v.get("endpoints")?.as_array()?.iter().find_map(|e| {
                        (e.get("address")?.as_str()? == want).then(|| {
                            e.get("status").and_then(|s| s.as_str()) == Some("Up")
                                && e.get("state").and_then(|s| s.as_str()) == Some("Normal")
                        })
                    })
                })
                .unwrap_or(false);
        if seen {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ToolError::Runtime(format!(
                "{} serves CQL but the seed {seed} does not list it in the ring (see {})",
                node.name(),
                node.log().display()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until `node`'s native port accepts a connection, failing if the process
/// exits or `deadline` passes.
fn wait_until_serving(
    node: &NodeInfo,
    child: &mut Child,
    deadline: Instant,
) -> Result<(), ToolError> {
    loop {
        // Exit first: a node that failed to bind must not pass for one that serves.
        if let Ok(Some(status)) = child.try_wait() {
            let _ = fs::remove_file(node.pid_file());
            return Err(ToolError::Runtime(format!(
                "{} exited ({status}) while starting{}; see {}",
                node.name(),
                last_log_line(&node.log()).map_or(String::new(), |l| format!(": {l}")),
                node.log().display()
            )));
        }
        if TcpStream::connect_timeout(&node.native_addr(), PROBE_TIMEOUT).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ToolError::Runtime(format!(
                "{} did not accept connections on {} within {} s; see {} (stop the cluster with `sibyl cluster stop`)",
                node.name(),
                node.native_addr(),
                START_TIMEOUT.as_secs(),
                node.log().display()
            )));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// The last non-empty line of a log, for an error message.
fn last_log_line(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// The nodes of an existing cluster, or a usage error naming the directory.
fn cluster_nodes(dir: &Path) -> Result<Vec<NodeInfo>, ToolError> {
    if !dir.join(MARKER_FILE).is_file() {
        return Err(ToolError::Usage(format!(
            "no cluster in {} (start one with `sibyl cluster start -n N`)",
            dir.display()
        )));
    }
    existing_nodes(&absolute(dir)?)
}

fn stop(dir: &Path, out: &mut impl Write) -> Result<(), ToolError> {
    let nodes = cluster_nodes(dir)?;
    let mut signalled = Vec::new();
    for node in nodes {
        match node.running_pid() {
            Some(pid) => {
                // SAFETY: kill(2) on a pid just checked to be this node's server.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                signalled.push((node, pid));
            }
            None => {
                let _ = fs::remove_file(node.pid_file());
                line(out, format_args!("{} not running", node.name()))?;
            }
        }
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline && signalled.iter().any(|(n, p)| is_our_server(*p, &n.dir)) {
        std::thread::sleep(POLL_INTERVAL);
    }
    let mut failed = Vec::new();
    for (node, pid) in signalled {
        let how = if is_our_server(pid, &node.dir) {
            // SAFETY: as above; the process ignored SIGTERM for STOP_TIMEOUT.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let kill_deadline = Instant::now() + KILL_TIMEOUT;
            while Instant::now() < kill_deadline && is_our_server(pid, &node.dir) {
                std::thread::sleep(POLL_INTERVAL);
            }
            if is_our_server(pid, &node.dir) {
                failed.push(node.name());
                continue;
            }
            format!("killed after {} s", STOP_TIMEOUT.as_secs())
        } else {
            "stopped".to_string()
        };
        let _ = fs::remove_file(node.pid_file());
        line(out, format_args!("{} {how} (pid {pid})", node.name()))?;
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ToolError::Runtime(format!(
            "{} still running after SIGKILL",
            failed.join(", ")
        )))
    }
}

fn status(dir: &Path, out: &mut impl Write) -> Result<(), ToolError> {
    let nodes = cluster_nodes(dir)?;
    line(
        out,
        format_args!(
            "{:<8}{:<22}{:<10}{}",
            "node", "native address", "pid", "state"
        ),
    )?;
    for node in nodes {
        let pid = node.running_pid();
        let up =
            pid.is_some() && TcpStream::connect_timeout(&node.native_addr(), PROBE_TIMEOUT).is_ok();
        line(
            out,
            format_args!(
                "{:<8}{:<22}{:<10}{}",
                node.name(),
                node.native_addr().to_string(),
                pid.map_or("-".to_string(), |p| p.to_string()),
                if up { "UP" } else { "DOWN" }
            ),
        )?;
    }
    Ok(())
}

fn clear(dir: &Path, out: &mut impl Write) -> Result<(), ToolError> {
    // cluster_nodes refuses a directory without the marker: never delete a
    // directory this tool did not create, whatever --dir says.
    cluster_nodes(dir)?;
    stop(dir, out)?;
    fs::remove_dir_all(dir)
        .map_err(|e| ToolError::Runtime(format!("cannot remove {}: {e}", dir.display())))?;
    line(out, format_args!("removed {}", dir.display()))
}

fn absolute(path: &Path) -> Result<PathBuf, ToolError> {
    std::path::absolute(path)
        .map_err(|e| ToolError::Runtime(format!("cannot resolve {}: {e}", path.display())))
}

fn write_file(path: &Path, text: &str) -> Result<(), ToolError> {
    fs::write(path, text)
        .map_err(|e| ToolError::Runtime(format!("cannot write {}: {e}", path.display())))
}

fn line(out: &mut impl Write, args: std::fmt::Arguments<'_>) -> Result<(), ToolError> {
    writeln!(out, "{args}").map_err(|e| ToolError::Runtime(format!("cannot write output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_come_from_the_prefix() {
        assert_eq!(
            node_address("127.0.41.", 3).unwrap(),
            "127.0.41.3".parse::<IpAddr>().unwrap()
        );
        for bad in ["127.0.41", "127.0.", "127.0.0.1.", "a.b.c."] {
            assert!(
                matches!(node_address(bad, 1), Err(ToolError::Usage(_))),
                "{bad}"
            );
        }
        assert!(node_address("127.0.0.", 256).is_err());
    }

    #[test]
    fn node_info_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let node = NodeInfo {
            index: 2,
            dir: dir.path().to_path_buf(),
            address: "127.0.41.2".parse().unwrap(),
            native_port: 9042,
            storage_port: 7000,
            admin_port: 7199,
        };
        fs::write(dir.path().join("node.info"), node.info_text()).unwrap();
        assert_eq!(NodeInfo::load(2, dir.path().to_path_buf()).unwrap(), node);
    }

    #[test]
    fn a_pid_that_is_not_our_server_is_not_ours() {
        // Our own test process is alive but is no `sibyl server` on this directory.
        let me = std::process::id() as i32;
        assert!(!is_our_server(me, Path::new("/nonexistent/node1")));
        assert!(!is_our_server(i32::MAX, Path::new("/nonexistent/node1")));
    }
}
