//! `sibyl`: one binary for the node and its tools.
//!
//! Subcommands: `server` (a node serving the CQL native protocol until
//! interrupted), `sstable dump` (an sstable as JSON), `cluster` (a local test
//! cluster, like ccm), `cqlsh` (the CQL shell), `nodetool` (the admin API's client). Each tool is one
//! variant of [`Command`] whose arguments and `run` live in its own module under
//! `sibyl::tools`.
//!
//! Exit codes, for every subcommand: 0 ok, 1 runtime error, 2 usage error (a bad
//! command line, or a configuration the node refuses: the node never starts). Errors
//! are one line on stderr, prefixed `sibyl: `.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sibyl::config::{parse_ip, CommitlogSync, Flags, NodeConfig, Seed};
use sibyl::node::Node;
use sibyl::tools::{self, ToolError, EXIT_USAGE};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser)]
#[command(
    name = "sibyl",
    version,
    about = "Sibyl: a Cassandra-compatible leaderless wide-column database",
    after_help = "Exit codes: 0 ok, 1 runtime error, 2 usage error (bad arguments or configuration)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node.
    ///
    /// The node opens its storage (replaying the commitlog after a crash) and its
    /// schema, then serves the CQL native protocol (v3-v5) until SIGINT or SIGTERM,
    /// when it answers the requests in flight, flushes memtables and exits 0.
    Server(ServerArgs),
    /// The CQL shell (like Cassandra's cqlsh; see docs/cqlsh.md).
    Cqlsh(sibyl::tools::cqlsh::CqlshArgs),
    /// Manage a node through its admin API (like Cassandra's nodetool; see docs/admin.md).
    Nodetool(sibyl::tools::nodetool::NodetoolArgs),
    /// Load a node and measure it (like cassandra-stress and YCSB).
    Stress(sibyl::tools::stress::StressArgs),
    /// SSTable tools.
    Sstable {
        #[command(subcommand)]
        command: SstableCommand,
    },
    /// A local cluster of nodes on 127.0.0.x for development, like ccm.
    Cluster(tools::cluster::ClusterArgs),
}

/// Help printed after `sibyl server --help`'s options.
const SERVER_AFTER_HELP: &str = "\
Configuration, lowest precedence first: the defaults embedded in the binary (the
repository's conf/sibyl.yaml, with Cassandra's key names and units), then the
--conf file, then these flags. A node refuses to start on an unknown key or a bad
value, naming the file, line and key. Keys and what is in effect: docs/config.md.

Exit codes: 0 after a clean stop (SIGINT/SIGTERM), 1 if the node fails while
starting or running, 2 for bad arguments or a refused configuration.";

#[derive(Args)]
#[command(after_help = SERVER_AFTER_HELP)]
struct ServerArgs {
    /// A configuration file in conf/sibyl.yaml's format; keys it sets override the defaults
    #[arg(long, value_name = "FILE")]
    conf: Option<PathBuf>,
    /// The node's data home: data/, commitlog/ and system/ go under it unless the
    /// configuration moves them [default: ./data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// listen_address; also rpc_address and admin_address unless they are given, so
    /// node N of a local cluster runs on 127.0.0.N as with ccm [default: localhost]
    #[arg(long, value_name = "IP", value_parser = ip_arg)]
    listen_address: Option<IpAddr>,
    /// rpc_address: where CQL clients connect [default: the listen address]
    #[arg(long, value_name = "IP", value_parser = ip_arg)]
    rpc_address: Option<IpAddr>,
    /// The seed provider's seeds, comma-separated, each IP or IP:PORT [default: the
    /// configuration's, or this node alone when only --listen-address moved it]
    #[arg(long, value_name = "A,B", value_parser = seeds_arg)]
    seeds: Option<SeedList>,
    /// native_transport_port: the CQL port; 0 picks a free one, logged at start [default: 9042]
    #[arg(long, value_name = "PORT")]
    native_port: Option<u16>,
    /// storage_port: internode messaging (not listened on yet) [default: 7000]
    #[arg(long, value_name = "PORT")]
    storage_port: Option<u16>,
    /// admin_port: the HTTP admin API and nodetool's port; 0 picks a free one, logged at start [default: 7199]
    #[arg(long, value_name = "PORT")]
    admin_port: Option<u16>,
    /// commitlog_sync: when writes are acknowledged relative to fsync [default: periodic]
    #[arg(long, value_name = "MODE")]
    commitlog_sync: Option<SyncArg>,
    /// Log lines as human-readable text or as JSON objects, one per line
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    log_format: LogFormat,
}

/// `--seeds`: clap takes a `Vec` as repeated values; this is one comma-separated value.
#[derive(Clone)]
struct SeedList(Vec<Seed>);

fn seeds_arg(text: &str) -> Result<SeedList, String> {
    Seed::parse_list(text).map(SeedList)
}

fn ip_arg(text: &str) -> Result<IpAddr, String> {
    match parse_ip(text) {
        Some(ip) if ip.is_unspecified() => Err(format!(
            "expected the address this node is reached at, got the wildcard {text:?}"
        )),
        Some(ip) => Ok(ip),
        None => Err(format!(
            "expected an IP address such as 127.0.0.1, got {text:?}"
        )),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SyncArg {
    /// Acknowledge once in the mapped segment; fsync every commitlog_sync_period
    Periodic,
    /// Acknowledge after the next shared fsync (at most every commitlog_sync_group_window)
    Group,
    /// Acknowledge after the write's own (shared) fsync
    Batch,
}

impl From<SyncArg> for CommitlogSync {
    fn from(s: SyncArg) -> CommitlogSync {
        match s {
            SyncArg::Periodic => CommitlogSync::Periodic,
            SyncArg::Group => CommitlogSync::Group,
            SyncArg::Batch => CommitlogSync::Batch,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum SstableCommand {
    /// Print an sstable's partitions as JSON (like sstabledump). FILE is any of its components.
    Dump { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    let result = match cli.command {
        Command::Server(args) => server(args),
        Command::Cqlsh(args) => return sibyl::tools::cqlsh::run(args),
        Command::Nodetool(args) => return sibyl::tools::nodetool::run(args),
        Command::Stress(args) => sibyl::tools::stress::run(args)
            .map(|_| ())
            .map_err(|e| match e {
                sibyl::tools::stress::StressError::Usage(m) => ToolError::Usage(m),
                other => ToolError::Runtime(other.to_string()),
            }),
        Command::Sstable {
            command: SstableCommand::Dump { file },
        } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            sibyl_storage::dump::dump(&file, &mut out)
                .map(|_| ())
                .map_err(|e| ToolError::Runtime(e.to_string()))
        }
        Command::Cluster(args) => tools::cluster::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sibyl: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Help and version go to stdout as clap prints them; a usage error becomes
/// `sibyl: <clap's sentence>` followed by clap's hints, exit 2.
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("bad arguments");
    eprintln!("sibyl: {}", first.strip_prefix("error: ").unwrap_or(first));
    for l in lines {
        eprintln!("{l}");
    }
    ExitCode::from(EXIT_USAGE)
}

fn server(args: ServerArgs) -> Result<(), ToolError> {
    let flags = Flags {
        data_dir: args.data_dir,
        listen_address: args.listen_address,
        rpc_address: args.rpc_address,
        seeds: args.seeds.map(|s| s.0),
        native_transport_port: args.native_port,
        storage_port: args.storage_port,
        admin_port: args.admin_port,
        commitlog_sync: args.commitlog_sync.map(CommitlogSync::from),
    };
    // Checked before anything is logged or opened: a refused configuration starts nothing.
    let config = NodeConfig::load(args.conf.as_deref(), &flags)
        .map_err(|e| ToolError::Usage(e.to_string()))?;
    init_logging(args.log_format);
    tracing::info!(
        conf = %args.conf.as_deref().map_or("(embedded defaults)".into(), |p| p.display().to_string()),
        cluster_name = %config.cluster_name,
        listen_address = %config.listen_address,
        seeds = %config.seeds.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        "configuration loaded"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sibyl")
        .build()
        .map_err(|e| ToolError::Runtime(format!("cannot start the runtime: {e}")))?;
    let runtime_err = |e: &dyn std::fmt::Display| ToolError::Runtime(e.to_string());
    runtime.block_on(async move {
        // Installed first: a stop requested while storage opens is honoured once it is open.
        let mut term = signal(SignalKind::terminate()).map_err(|e| runtime_err(&e))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| runtime_err(&e))?;
        let node = Node::start(config).await.map_err(|e| runtime_err(&e))?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stop requested");
        node.shutdown().await.map_err(|e| runtime_err(&e))
    })
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
