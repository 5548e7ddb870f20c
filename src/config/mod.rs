//! Node configuration: `conf/sibyl.yaml` with Cassandra's key names, units and
//! checks, a user's `--conf FILE` over it, and command-line flags over both.
//!
//! Precedence, lowest first:
//! 1. the built-in constants below, for keys the embedded file leaves commented out;
//! 2. the embedded `conf/sibyl.yaml` ([`DEFAULT_CONFIG_YAML`]): the defaults an
//!    operator reads, so a file that omits a key gets the value the shipped file shows
//!    (a unit test holds the constants and the file to the same values);
//! 3. the file given with `sibyl server --conf FILE`;
//! 4. flags ([`Flags`]).
//!
//! Like Cassandra, a node refuses to start on a configuration it does not understand:
//! an unknown key (a typo would otherwise silently leave a default in place), a value
//! of the wrong type, a unit Cassandra 4.1 would not accept (`16MB` for `16MiB`), an
//! out-of-range number. Each error names where (`conf/x.yaml:12`), the key, what was
//! expected and what was found, in one line ([`ConfigError`]). Cassandra's pre-4.1
//! names with the unit in the key (`commitlog_sync_period_in_ms: 10000`) are accepted
//! and converted, as Cassandra 4.1 does.
//!
//! Directories: `--data-dir D` (default `./data`) is the node's home for data, as
//! Cassandra's `cassandra.storagedir`: `data_file_directories` and
//! `commitlog_directory` default to `D/data` and `D/commitlog`, and the node's own
//! files (schema, host id and tokens) live in `D/system`. A conf file that sets
//! either directory moves it; relative paths there are relative to the working
//! directory, as in Cassandra.
//!
//! Addresses: `listen_address` is where internode traffic will go; `rpc_address`
//! (CQL clients) and `admin_address` (the HTTP admin API) follow it unless a conf
//! file or flag sets them, so `--listen-address 127.0.0.2` moves a whole node as ccm
//! does. Addresses are IP literals (or `localhost`); Sibyl does not resolve names.
//!
//! Many keys are parsed, checked and kept here before the code that uses them
//! exists (seeds, the snitch, timeouts, hints, thresholds); `conf/sibyl.yaml` and
//! `docs/config.md` say which are in effect. The YAML parser is `saphyr` rather than
//! serde: `serde_yaml` is deprecated and its forks (`serde_norway`, `serde_yml`) run
//! libyaml translated to unsafe Rust, while saphyr (the maintained successor of
//! yaml-rust2) is pure safe Rust, YAML 1.2, with few dependencies and line numbers
//! on every node. Walking its tree by hand (`file.rs`) is what lets every message
//! name the key and the expected form, which serde's derive would word for us.

mod file;
pub mod units;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sibyl_storage::commitlog::SyncMode;
use sibyl_storage::StorageConfig;

use crate::locator::{DEFAULT_DATACENTER, DEFAULT_RACK};

/// The default configuration file, embedded in the binary.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../../conf/sibyl.yaml");

/// How the embedded file is named in messages.
const EMBEDDED_ORIGIN: &str = "conf/sibyl.yaml (embedded)";

/// Default data directory when none is given (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "data";

/// `cluster_name`: Cassandra's default.
pub const DEFAULT_CLUSTER_NAME: &str = "Test Cluster";

/// `native_transport_port`: Cassandra's CQL port.
pub const DEFAULT_NATIVE_PORT: u16 = 9042;

/// `storage_port`: Cassandra's internode port.
pub const DEFAULT_STORAGE_PORT: u16 = 7000;

/// `admin_port`: Sibyl's HTTP admin API, on the port Cassandra gives JMX (7199), so
/// firewall rules written for Cassandra's management port fit.
pub const DEFAULT_ADMIN_PORT: u16 = 7199;

/// `rpc_address` and `listen_address` when none is given: loopback, like ccm's node 1.
pub const DEFAULT_RPC_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `native_transport_max_connections`: client connections served at once. Cassandra
/// has no limit by default; a bound keeps a connection storm from exhausting file
/// descriptors and memory (each connection buffers up to a frame). Further clients
/// wait in the listen backlog until a connection closes.
pub const DEFAULT_NATIVE_MAX_CONNECTIONS: usize = 1024;

/// `native_transport_max_frame_size` in bytes (Cassandra 4: 16 MiB).
pub const DEFAULT_NATIVE_MAX_FRAME_SIZE_BYTES: u32 = sibyl_cql::protocol::DEFAULT_MAX_BODY_LEN;

/// Largest `native_transport_max_frame_size`: Cassandra refuses 2048 MiB and more
/// (a frame's length is a signed 32-bit integer on the wire).
pub const MAX_NATIVE_MAX_FRAME_SIZE_BYTES: u64 = (2048 << 20) - 1;

/// Smallest `native_transport_max_frame_size`: a frame must at least carry a
/// STARTUP with its options and an error reply; below this drivers cannot connect.
pub const MIN_NATIVE_MAX_FRAME_SIZE_BYTES: u64 = 4 << 10;

/// `num_tokens`: the tokens a node owns (Cassandra 4.0's default is 16).
pub const DEFAULT_NUM_TOKENS: usize = 16;

/// Most tokens a node may own: Cassandra's limit (`StorageService` refuses more).
pub const MAX_NUM_TOKENS: usize = 1536;

/// `commitlog_sync_period` (periodic mode).
pub const DEFAULT_COMMITLOG_SYNC_PERIOD: Duration =
    Duration::from_millis(sibyl_storage::commitlog::DEFAULT_SYNC_PERIOD_MS);

/// `commitlog_sync_group_window` (group mode).
pub const DEFAULT_COMMITLOG_SYNC_GROUP_WINDOW: Duration =
    Duration::from_millis(sibyl_storage::commitlog::DEFAULT_GROUP_WINDOW_MS);

/// `read_request_timeout`: Cassandra's default.
pub const DEFAULT_READ_REQUEST_TIMEOUT: Duration = Duration::from_millis(5_000);
/// `write_request_timeout`: Cassandra's default.
pub const DEFAULT_WRITE_REQUEST_TIMEOUT: Duration = Duration::from_millis(2_000);
/// `range_request_timeout`: Cassandra's default.
pub const DEFAULT_RANGE_REQUEST_TIMEOUT: Duration = Duration::from_millis(10_000);

/// `max_hint_window`: Cassandra's default, 3 hours.
pub const DEFAULT_MAX_HINT_WINDOW: Duration = Duration::from_secs(3 * 3_600);

/// Smallest `memtable_heap_space`: below this a node writes an sstable every few
/// writes and compaction cannot keep up.
pub const MIN_MEMTABLE_SPACE_BYTES: u64 = 1 << 20;

/// `tombstone_warn_threshold`: Cassandra's default.
pub const DEFAULT_TOMBSTONE_WARN_THRESHOLD: u32 = 1_000;
/// `tombstone_failure_threshold`: Cassandra's default.
pub const DEFAULT_TOMBSTONE_FAILURE_THRESHOLD: u32 = 100_000;

/// `phi_convict_threshold`: Cassandra's default.
pub const DEFAULT_PHI_CONVICT_THRESHOLD: f64 = 8.0;
/// Cassandra's accepted range for `phi_convict_threshold`: below 5 a node is
/// convicted on ordinary jitter, above 16 a dead node is noticed very late.
pub const PHI_CONVICT_THRESHOLD_RANGE: std::ops::RangeInclusive<f64> = 5.0..=16.0;

/// The datacenter of a `GossipingPropertyFileSnitch` node that names none: the value
/// in the `cassandra-rackdc.properties` Cassandra ships.
pub const DEFAULT_GPFS_DATACENTER: &str = "dc1";
/// The rack of a `GossipingPropertyFileSnitch` node that names none (as shipped).
pub const DEFAULT_GPFS_RACK: &str = "rack1";

/// `commitlog_sync`: when a write is acknowledged relative to the commitlog's fsync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitlogSync {
    /// Acknowledged once in the mapped segment; fsynced every `commitlog_sync_period`.
    Periodic,
    /// Acknowledged after the next fsync; fsyncs at most every `commitlog_sync_group_window`.
    Group,
    /// Acknowledged after its own (shared) fsync.
    Batch,
}

impl CommitlogSync {
    /// The yaml spelling.
    pub fn name(self) -> &'static str {
        match self {
            CommitlogSync::Periodic => "periodic",
            CommitlogSync::Group => "group",
            CommitlogSync::Batch => "batch",
        }
    }

    /// The mode named `name` (the yaml spelling).
    pub fn from_name(name: &str) -> Option<CommitlogSync> {
        match name {
            "periodic" => Some(CommitlogSync::Periodic),
            "group" => Some(CommitlogSync::Group),
            "batch" => Some(CommitlogSync::Batch),
            _ => None,
        }
    }
}

/// `endpoint_snitch`: how a node learns datacenters and racks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snitch {
    /// Every node in `datacenter1`/`rack1`.
    SimpleSnitch,
    /// Each node declares its own dc and rack (Cassandra reads them from
    /// `cassandra-rackdc.properties`; Sibyl from the `dc` and `rack` keys) and gossips them.
    GossipingPropertyFileSnitch,
}

impl Snitch {
    /// The class name's last part, as written in the yaml.
    pub fn name(self) -> &'static str {
        match self {
            Snitch::SimpleSnitch => "SimpleSnitch",
            Snitch::GossipingPropertyFileSnitch => "GossipingPropertyFileSnitch",
        }
    }
}

/// One seed: an address and, when given (`127.0.0.1:7000`), a port; without one
/// the seed is reached on this node's `storage_port`, as in Cassandra.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seed {
    /// The seed's address.
    pub address: IpAddr,
    /// The seed's storage port, if given.
    pub port: Option<u16>,
}

impl Seed {
    /// Parses `127.0.0.1`, `127.0.0.1:7000`, `[::1]:7000`, `::1` or `localhost`.
    pub fn parse(text: &str) -> Option<Seed> {
        let text = text.trim();
        if let Ok(sa) = text.parse::<SocketAddr>() {
            return Some(Seed {
                address: sa.ip(),
                port: Some(sa.port()),
            });
        }
        if let Some(address) = parse_ip(text) {
            return Some(Seed {
                address,
                port: None,
            });
        }
        let (host, port) = text.rsplit_once(':')?;
        Some(Seed {
            address: parse_ip(host)?,
            port: Some(port.parse().ok()?),
        })
    }

    /// Parses a comma-separated list (the `seeds` parameter, `--seeds A,B`); at
    /// least one seed. The error names the entry that is not an address.
    pub fn parse_list(text: &str) -> Result<Vec<Seed>, String> {
        let mut seeds = Vec::new();
        for entry in text.split(',') {
            if entry.trim().is_empty() {
                continue;
            }
            seeds.push(Seed::parse(entry).ok_or_else(|| {
                format!(
                    "expected addresses such as 127.0.0.1 or 127.0.0.1:7000, separated by commas, got {:?}",
                    entry.trim()
                )
            })?);
        }
        if seeds.is_empty() {
            return Err("expected at least one seed address, got none".into());
        }
        Ok(seeds)
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}", SocketAddr::new(self.address, port)),
            None => write!(f, "{}", self.address),
        }
    }
}

/// An IP literal, or `localhost` (127.0.0.1; Cassandra's yaml ships with it).
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    if text == "localhost" {
        return Some(DEFAULT_RPC_ADDRESS);
    }
    text.parse().ok()
}

/// A configuration the node refuses to start with: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (`conf/x.yaml`), or `None` for a conflict between settings.
    pub origin: Option<String>,
    /// The 1-based line in `origin`, when known.
    pub line: Option<usize>,
    /// `key: expected ..., got ...`, or another one-line explanation.
    pub message: String,
}

impl ConfigError {
    /// An error not tied to a place in a file.
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: None,
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.origin, self.line) {
            (Some(origin), Some(line)) => write!(f, "{origin}:{line}: {}", self.message),
            (Some(origin), None) => write!(f, "{origin}: {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

/// The settings `sibyl server` takes as flags; `None` leaves the file's value.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    /// `--data-dir`: the node's home for data (see the module doc).
    pub data_dir: Option<PathBuf>,
    /// `--listen-address`; `rpc_address` and `admin_address` follow unless set.
    pub listen_address: Option<IpAddr>,
    /// `--rpc-address`.
    pub rpc_address: Option<IpAddr>,
    /// `--seeds`.
    pub seeds: Option<Vec<Seed>>,
    /// `--native-port`.
    pub native_transport_port: Option<u16>,
    /// `--storage-port`.
    pub storage_port: Option<u16>,
    /// `--admin-port`.
    pub admin_port: Option<u16>,
    /// `--commitlog-sync`.
    pub commitlog_sync: Option<CommitlogSync>,
}

/// The settings of a node, every key resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// The node's root directory (`--data-dir`): holds `data/`, `commitlog/` and
    /// `system/` (the schema file and the node's identity) unless the directories
    /// are set in a conf file.
    pub root_dir: PathBuf,
    /// `cluster_name`.
    pub cluster_name: String,
    /// `num_tokens`.
    pub num_tokens: usize,
    /// `listen_address` (internode; reported in `system.local`).
    pub listen_address: IpAddr,
    /// `rpc_address`: where the CQL native transport listens.
    pub rpc_address: IpAddr,
    /// `native_transport_port`; 0 picks a free port (tests).
    pub native_transport_port: u16,
    /// `native_transport_max_connections`.
    pub native_transport_max_connections: usize,
    /// `native_transport_max_frame_size` (bytes of a frame body).
    pub native_transport_max_frame_size_bytes: u32,
    /// `storage_port`: internode messaging (not listened on yet).
    pub storage_port: u16,
    /// `admin_address`: Sibyl's HTTP admin API (`crate::admin`).
    pub admin_address: IpAddr,
    /// `admin_port`.
    pub admin_port: u16,
    /// `seed_provider`'s seeds (not contacted yet: membership is not wired).
    pub seeds: Vec<Seed>,
    /// `endpoint_snitch`.
    pub endpoint_snitch: Snitch,
    /// This node's datacenter: `dc` under GossipingPropertyFileSnitch, else `datacenter1`.
    pub datacenter: String,
    /// This node's rack: `rack` under GossipingPropertyFileSnitch, else `rack1`.
    pub rack: String,
    /// `data_file_directories` (Sibyl supports one).
    pub data_dir: PathBuf,
    /// `commitlog_directory`.
    pub commitlog_dir: PathBuf,
    /// `commitlog_sync`.
    pub commitlog_sync: CommitlogSync,
    /// `commitlog_sync_period` (periodic).
    pub commitlog_sync_period: Duration,
    /// `commitlog_sync_group_window` (group).
    pub commitlog_sync_group_window: Duration,
    /// `commitlog_segment_size` in bytes.
    pub commitlog_segment_size_bytes: u64,
    /// `read_request_timeout` (not enforced yet).
    pub read_request_timeout: Duration,
    /// `write_request_timeout` (not enforced yet).
    pub write_request_timeout: Duration,
    /// `range_request_timeout` (not enforced yet).
    pub range_request_timeout: Duration,
    /// `hinted_handoff_enabled` (no hints yet).
    pub hinted_handoff_enabled: bool,
    /// `max_hint_window` (no hints yet).
    pub max_hint_window: Duration,
    /// `memtable_heap_space` in bytes; `None`: 1/4 of physical memory, at most 2 GiB.
    pub memtable_heap_space_bytes: Option<u64>,
    /// `compaction_throughput` in bytes per second; 0 = unthrottled.
    pub compaction_throughput_bytes_per_sec: u64,
    /// `file_cache_size` in bytes.
    pub file_cache_size_bytes: u64,
    /// `tombstone_warn_threshold`: reads over it carry a client warning.
    pub tombstone_warn_threshold: u32,
    /// `tombstone_failure_threshold` (accepted; pages end early instead of failing).
    pub tombstone_failure_threshold: u32,
    /// `phi_convict_threshold` (the failure detector is not wired yet).
    pub phi_convict_threshold: f64,
    /// `debug_endpoints`: Sibyl's debugging routes on the admin API (`/debug/filters`).
    pub debug_endpoints: bool,
}

/// A configuration being assembled from layers: the settings whose default
/// derives from another one stay `None` until [`Layers::resolve`].
#[derive(Clone, Debug)]
struct Layers {
    config: NodeConfig,
    rpc_address: Option<IpAddr>,
    admin_address: Option<IpAddr>,
    data_dir: Option<PathBuf>,
    commitlog_dir: Option<PathBuf>,
    /// `dc` and `rack` with where they were set, for the snitch check.
    dc: Option<(String, Place)>,
    rack: Option<(String, Place)>,
    /// True once a `--conf` file or `--seeds` chose the seeds: until then a node
    /// listening elsewhere than the embedded seed's address is its own seed.
    seeds_set: bool,
}

/// Where in which file a key was set.
#[derive(Clone, Debug)]
struct Place {
    origin: String,
    line: usize,
}

impl Place {
    fn error(&self, message: String) -> ConfigError {
        ConfigError {
            origin: Some(self.origin.clone()),
            line: Some(self.line),
            message,
        }
    }
}

impl Layers {
    /// Layer 1: the built-in constants.
    fn builtin() -> Layers {
        let root = PathBuf::from(DEFAULT_DATA_DIR);
        Layers {
            config: NodeConfig {
                root_dir: root.clone(),
                cluster_name: DEFAULT_CLUSTER_NAME.into(),
                num_tokens: DEFAULT_NUM_TOKENS,
                listen_address: DEFAULT_RPC_ADDRESS,
                rpc_address: DEFAULT_RPC_ADDRESS,
                native_transport_port: DEFAULT_NATIVE_PORT,
                native_transport_max_connections: DEFAULT_NATIVE_MAX_CONNECTIONS,
                native_transport_max_frame_size_bytes: DEFAULT_NATIVE_MAX_FRAME_SIZE_BYTES,
                storage_port: DEFAULT_STORAGE_PORT,
                admin_address: DEFAULT_RPC_ADDRESS,
                admin_port: DEFAULT_ADMIN_PORT,
                seeds: vec![Seed {
                    address: DEFAULT_RPC_ADDRESS,
                    port: Some(DEFAULT_STORAGE_PORT),
                }],
                endpoint_snitch: Snitch::SimpleSnitch,
                datacenter: DEFAULT_DATACENTER.into(),
                rack: DEFAULT_RACK.into(),
                data_dir: root.join("data"),
                commitlog_dir: root.join("commitlog"),
                commitlog_sync: CommitlogSync::Periodic,
                commitlog_sync_period: DEFAULT_COMMITLOG_SYNC_PERIOD,
                commitlog_sync_group_window: DEFAULT_COMMITLOG_SYNC_GROUP_WINDOW,
                commitlog_segment_size_bytes: sibyl_storage::commitlog::DEFAULT_SEGMENT_SIZE_BYTES,
                read_request_timeout: DEFAULT_READ_REQUEST_TIMEOUT,
                write_request_timeout: DEFAULT_WRITE_REQUEST_TIMEOUT,
                range_request_timeout: DEFAULT_RANGE_REQUEST_TIMEOUT,
                hinted_handoff_enabled: true,
                max_hint_window: DEFAULT_MAX_HINT_WINDOW,
                memtable_heap_space_bytes: None,
                compaction_throughput_bytes_per_sec:
                    sibyl_storage::engine::DEFAULT_COMPACTION_THROUGHPUT_BYTES,
                file_cache_size_bytes: sibyl_storage::sstable::cache::DEFAULT_CAPACITY_BYTES as u64,
                tombstone_warn_threshold: DEFAULT_TOMBSTONE_WARN_THRESHOLD,
                tombstone_failure_threshold: DEFAULT_TOMBSTONE_FAILURE_THRESHOLD,
                phi_convict_threshold: DEFAULT_PHI_CONVICT_THRESHOLD,
                debug_endpoints: false,
            },
            rpc_address: None,
            admin_address: None,
            data_dir: None,
            commitlog_dir: None,
            dc: None,
            rack: None,
            seeds_set: false,
        }
    }

    /// Layers 1 and 2: the constants under the embedded file.
    fn embedded() -> Result<Layers, ConfigError> {
        let mut layers = Layers::builtin();
        file::apply(&mut layers, DEFAULT_CONFIG_YAML, EMBEDDED_ORIGIN)?;
        Ok(layers)
    }

    /// Layer 4: the flags.
    fn apply_flags(&mut self, flags: &Flags) {
        let c = &mut self.config;
        if let Some(dir) = &flags.data_dir {
            c.root_dir = dir.clone();
        }
        if let Some(a) = flags.listen_address {
            c.listen_address = a;
        }
        if let Some(a) = flags.rpc_address {
            self.rpc_address = Some(a);
        }
        if let Some(seeds) = &flags.seeds {
            c.seeds = seeds.clone();
            self.seeds_set = true;
        }
        if let Some(p) = flags.native_transport_port {
            c.native_transport_port = p;
        }
        if let Some(p) = flags.storage_port {
            c.storage_port = p;
        }
        if let Some(p) = flags.admin_port {
            c.admin_port = p;
        }
        if let Some(s) = flags.commitlog_sync {
            c.commitlog_sync = s;
        }
    }

    /// Fills the derived settings and checks the ones that depend on each other.
    fn resolve(self) -> Result<NodeConfig, ConfigError> {
        let mut c = self.config;
        c.rpc_address = self.rpc_address.unwrap_or(c.listen_address);
        c.admin_address = self.admin_address.unwrap_or(c.listen_address);
        if !self.seeds_set {
            // The embedded seed is 127.0.0.1; a node moved elsewhere with
            // `--listen-address` and no seeds of its own starts as its own seed (a
            // one-node cluster) rather than waiting for a node that is not there.
            // Deliberately not Cassandra's behaviour: docs/config.md.
            c.seeds = vec![Seed {
                address: c.listen_address,
                port: None,
            }];
        }
        c.data_dir = self.data_dir.unwrap_or_else(|| c.root_dir.join("data"));
        c.commitlog_dir = self
            .commitlog_dir
            .unwrap_or_else(|| c.root_dir.join("commitlog"));
        match c.endpoint_snitch {
            Snitch::SimpleSnitch => {
                // SimpleSnitch has no notion of a configured location: a dc set with it
                // is a mistake that would otherwise be silently ignored.
                let set = [("dc", &self.dc), ("rack", &self.rack)];
                if let Some((key, Some((_, place)))) = set.iter().find(|(_, v)| v.is_some()) {
                    return Err(place.error(format!(
                        "{key}: applies only with endpoint_snitch: GossipingPropertyFileSnitch \
                         (SimpleSnitch puts every node in {DEFAULT_DATACENTER}/{DEFAULT_RACK})"
                    )));
                }
                c.datacenter = DEFAULT_DATACENTER.into();
                c.rack = DEFAULT_RACK.into();
            }
            Snitch::GossipingPropertyFileSnitch => {
                c.datacenter = self
                    .dc
                    .map_or_else(|| DEFAULT_GPFS_DATACENTER.into(), |(v, _)| v);
                c.rack = self
                    .rack
                    .map_or_else(|| DEFAULT_GPFS_RACK.into(), |(v, _)| v);
            }
        }
        check_ports(&c)?;
        Ok(c)
    }
}

/// Two services cannot share a port on one address; 0 (any free port) never clashes.
fn check_ports(c: &NodeConfig) -> Result<(), ConfigError> {
    let ports = [
        (
            "native_transport_port",
            c.rpc_address,
            c.native_transport_port,
        ),
        ("storage_port", c.listen_address, c.storage_port),
        ("admin_port", c.admin_address, c.admin_port),
    ];
    for (i, (a_key, a_addr, a_port)) in ports.iter().enumerate() {
        for (b_key, b_addr, b_port) in ports.iter().skip(i + 1) {
            let same_addr = a_addr == b_addr || a_addr.is_unspecified() || b_addr.is_unspecified();
            if *a_port != 0 && a_port == b_port && same_addr {
                return Err(ConfigError::new(format!(
                    "{a_key} and {b_key} are both {a_port} on {a_addr}; each needs its own port"
                )));
            }
        }
    }
    Ok(())
}

impl NodeConfig {
    /// The configuration `sibyl server` runs with: the embedded defaults, then the
    /// file `conf` if given, then `flags`.
    pub fn load(conf: Option<&Path>, flags: &Flags) -> Result<NodeConfig, ConfigError> {
        let mut layers = Layers::embedded()?;
        if let Some(path) = conf {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                origin: Some(origin.clone()),
                line: None,
                message: format!("cannot read the configuration file: {e}"),
            })?;
            file::apply(&mut layers, &text, &origin)?;
        }
        layers.apply_flags(flags);
        layers.resolve()
    }

    /// The defaults (the embedded `conf/sibyl.yaml`), with data under `dir`.
    pub fn with_data_dir(dir: impl Into<PathBuf>) -> NodeConfig {
        let flags = Flags {
            data_dir: Some(dir.into()),
            ..Flags::default()
        };
        // The embedded file is part of the binary; a unit test parses it.
        NodeConfig::load(None, &flags).expect("the embedded conf/sibyl.yaml is valid")
    }

    /// Directory of the node's own files: `schema.db` and the identity (host id, tokens).
    pub fn system_dir(&self) -> PathBuf {
        self.root_dir.join("system")
    }

    /// Where each seed is reached: its own port if given, else this node's `storage_port`.
    pub fn seed_addresses(&self) -> Vec<SocketAddr> {
        self.seeds
            .iter()
            .map(|s| SocketAddr::new(s.address, s.port.unwrap_or(self.storage_port)))
            .collect()
    }

    /// The storage engine's configuration, or a message naming the bad key.
    pub fn storage_config(&self) -> Result<StorageConfig, String> {
        let mut c = StorageConfig::new(&self.data_dir);
        c.data_dir = self.data_dir.clone();
        c.commitlog_dir = self.commitlog_dir.clone();
        c.commitlog_sync = match self.commitlog_sync {
            CommitlogSync::Periodic => SyncMode::Periodic {
                period: self.commitlog_sync_period,
            },
            CommitlogSync::Group => SyncMode::Group {
                window: self.commitlog_sync_group_window,
            },
            CommitlogSync::Batch => SyncMode::Batch,
        };
        c.commitlog_segment_size = self.commitlog_segment_size_bytes;
        if let Some(space) = self.memtable_heap_space_bytes {
            c.memtable_heap_space = usize::try_from(space)
                .map_err(|_| format!("memtable_heap_space: {space} bytes is too large"))?;
        }
        c.compaction_throughput = self.compaction_throughput_bytes_per_sec;
        c.file_cache_size = usize::try_from(self.file_cache_size_bytes).map_err(|_| {
            format!(
                "file_cache_size: {} bytes is too large",
                self.file_cache_size_bytes
            )
        })?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests;
