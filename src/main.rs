//! `sibyl`: one binary for the node and its tools.
//!
//! Subcommands so far: `server` (opens the storage engine, replays the commitlog and
//! runs until interrupted) and `sstable dump` (an sstable as JSON). `cqlsh`,
//! `nodetool`, `stress` and `cluster` arrive with their issues. Exit codes: 0 ok,
//! 1 runtime error, 2 usage error (clap's).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use sibyl::config::{NodeConfig, DEFAULT_DATA_DIR};
use sibyl_storage::Storage;

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
    /// Today the node opens its storage (replaying the commitlog after a crash) and
    /// waits; the CQL native protocol on port 9042 comes with the next issues.
    Server {
        /// Directory for sstables and the commitlog.
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// commitlog_sync: periodic, group or batch.
        #[arg(long, default_value = "periodic")]
        commitlog_sync: String,
    },
    /// SSTable tools.
    Sstable {
        #[command(subcommand)]
        command: SstableCommand,
    },
}

#[derive(Subcommand)]
enum SstableCommand {
    /// Print an sstable's partitions as JSON (like sstabledump). FILE is any of its components.
    Dump { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server {
            data_dir,
            commitlog_sync,
        } => server(data_dir, commitlog_sync),
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

fn server(data_dir: PathBuf, commitlog_sync: String) -> Result<(), String> {
    // Installed first: a stop requested while storage opens is honoured once it is open.
    install_stop_handler();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut node = NodeConfig::with_data_dir(&data_dir);
    node.commitlog_sync = commitlog_sync;
    let config = node.storage_config()?;
    let (storage, report) = Storage::open(config)
        .map_err(|e| format!("cannot open storage in {}: {e}", data_dir.display()))?;
    tracing::info!(
        data_dir = %data_dir.display(),
        tables = report.tables,
        replayed = report.records_replayed,
        "storage open; the CQL native protocol is not served yet (see README)"
    );
    for t in &report.torn_segments {
        tracing::warn!("commitlog: {t}");
    }
    while !STOP_REQUESTED.load(Ordering::SeqCst) {
        std::thread::sleep(STOP_POLL);
    }
    tracing::info!("shutting down: flushing memtables");
    storage.flush_all().map_err(|e| e.to_string())?;
    storage.close().map_err(|e| e.to_string())
}

/// How often the main thread checks for a stop request.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Set by SIGINT/SIGTERM.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM request a clean shutdown (flush, then exit).
fn install_stop_handler() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, handler);
        }
    }
}
