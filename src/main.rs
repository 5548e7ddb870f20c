//! `sibyl`: one binary for the node and its tools.
//!
//! Subcommands so far: `server` (a node serving the CQL native protocol until
//! interrupted) and `sstable dump` (an sstable as JSON). `cqlsh`,
//! `nodetool`, `stress` and `cluster` arrive with their issues. Exit codes: 0 ok,
//! 1 runtime error, 2 usage error (clap's).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sibyl::config::{NodeConfig, DEFAULT_DATA_DIR, DEFAULT_NATIVE_PORT, DEFAULT_RPC_ADDRESS};
use sibyl::node::Node;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser)]
#[command(
    name = "sibyl",
    version,
    about = "Sibyl: a Cassandra-compatible leaderless wide-column database"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node on the embedded default configuration.
    ///
    /// The node opens its storage (replaying the commitlog after a crash) and its
    /// schema, then serves the CQL native protocol (v3-v5) until SIGINT or SIGTERM,
    /// when it answers the requests in flight, flushes memtables and exits 0.
    Server(ServerArgs),
    /// Load a node and measure it (like cassandra-stress and YCSB).
    Stress(sibyl::tools::stress::StressArgs),
    /// SSTable tools.
    Sstable {
        #[command(subcommand)]
        command: SstableCommand,
    },
}

#[derive(Args)]
struct ServerArgs {
    /// Directory for sstables, the commitlog and the node's schema and identity.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// commitlog_sync: periodic, group or batch.
    #[arg(long, default_value = "periodic")]
    commitlog_sync: String,
    /// listen_address; also the rpc_address unless --rpc-address is given (like
    /// ccm, node N of a local cluster uses 127.0.0.N).
    #[arg(long, default_value_t = DEFAULT_RPC_ADDRESS)]
    listen_address: IpAddr,
    /// rpc_address: where clients connect (default: the listen address).
    #[arg(long)]
    rpc_address: Option<IpAddr>,
    /// native_transport_port (0: any free port, logged at start).
    #[arg(long, default_value_t = DEFAULT_NATIVE_PORT)]
    native_port: u16,
}

#[derive(Subcommand)]
enum SstableCommand {
    /// Print an sstable's partitions as JSON (like sstabledump). FILE is any of its components.
    Dump { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => server(args),
        Command::Stress(args) => sibyl::tools::stress::run(args)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Command::Sstable {
            command: SstableCommand::Dump { file },
        } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            sibyl_storage::dump::dump(&file, &mut out)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sibyl: {e}");
            ExitCode::from(1)
        }
    }
}

fn server(args: ServerArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut config = NodeConfig::with_data_dir(&args.data_dir);
    config.commitlog_sync = args.commitlog_sync;
    config.listen_address = args.listen_address;
    config.rpc_address = args.rpc_address.unwrap_or(args.listen_address);
    config.native_transport_port = args.native_port;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sibyl")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        // Installed first: a stop requested while storage opens is honoured once it is open.
        let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let node = Node::start(config).await.map_err(|e| e.to_string())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stop requested");
        node.shutdown().await.map_err(|e| e.to_string())
    })
}
