//! `sibyl cqlsh`: the CQL shell, after Cassandra's Python `cqlsh` (6.x), speaking
//! to one node through [`crate::client`].
//!
//! It behaves as cqlsh does where users and scripts can see it: the same prompts
//! (`cqlsh> `, `cqlsh:ks> `, `   ... `), statements ended by `;` (cqlsh's own
//! commands also by a newline), the same table layout, value formatting and
//! colours, the same error lines (`InvalidRequest: Error from server:
//! code=2200 [Invalid query] message="..."`), the same paging (`PAGING`, 100 rows,
//! `---MORE---` when interactive), `EXPAND`, `CONSISTENCY`, `SERIAL CONSISTENCY`,
//! server-side `DESCRIBE`, `SOURCE`, `COPY TO/FROM` (CSV), `HELP`, `EXIT`, and the
//! same exit codes: 0, or 2 when a statement failed in batch mode (`-e`, `-f`, a
//! pipe), 1 when the node cannot be reached, 2 for usage errors.
//! `docs/cqlsh.md` lists the commands and every difference from Python cqlsh.
//!
//! | module | what |
//! |---|---|
//! | [`shell`] | the loop, statements, results, DESCRIBE, the small commands |
//! | [`split`] | where statements end |
//! | [`commands`] | parsing cqlsh's own commands; HELP texts |
//! | [`table`] | the table layout and error lines (shared with the golden tests) |
//! | [`format`] | values to coloured cells |
//! | [`copy`] | COPY TO / COPY FROM |

pub mod commands;
pub mod copy;
pub mod format;
pub mod shell;
pub mod split;
pub mod table;

use std::io::{BufReader, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::client::{Client, ClientConfig};
use shell::{Input, Shell, ShellOptions, HISTORY_FILE_ENTRIES};

/// cqlsh's `DEFAULT_HOST`.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// cqlsh's `DEFAULT_PORT`.
pub const DEFAULT_PORT: u16 = 9042;

/// Exit code when the node cannot be reached or a file cannot be read (cqlsh's
/// `sys.exit(message)`).
const EXIT_CONNECTION: u8 = 1;
/// Exit code in batch mode when any statement failed (cqlsh's `sys.exit(2)`).
const EXIT_STATEMENT_ERROR: u8 = 2;

/// Tokio worker threads: the shell blocks one while it waits; the connection's
/// reader and writer tasks (and COPY's inserts) need another.
const RUNTIME_THREADS: usize = 2;

/// `sibyl cqlsh [host [port]] [options]`.
#[derive(clap::Args, Debug, Clone)]
pub struct CqlshArgs {
    /// Node to connect to [default: $CQLSH_HOST or 127.0.0.1].
    pub host: Option<String>,
    /// Native protocol port [default: $CQLSH_PORT or 9042].
    pub port: Option<u16>,
    /// Execute the statement and quit.
    #[arg(short = 'e', long = "execute", conflicts_with = "file")]
    pub execute: Option<String>,
    /// Execute commands from FILE, then exit.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Use the given keyspace (USE KEYSPACE at connect).
    #[arg(short = 'k', long = "keyspace")]
    pub keyspace: Option<String>,
    /// Speak this native protocol version (3-5) instead of negotiating down from 5.
    #[arg(long = "protocol-version", value_parser = clap::value_parser!(u8).range(3..=5))]
    pub protocol_version: Option<u8>,
    /// Always use colour output.
    #[arg(short = 'C', long = "color", conflicts_with = "no_color")]
    pub color: bool,
    /// Never use colour output.
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Force tty mode (prompts, per-page pauses) even when stdin is not a terminal.
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Connection timeout in seconds.
    #[arg(long = "connect-timeout", default_value_t = 5)]
    pub connect_timeout: u64,
    /// Request timeout in seconds.
    #[arg(long = "request-timeout", default_value_t = 10)]
    pub request_timeout: u64,
}

/// `$HOME/.sibyl/cqlsh_history`.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".sibyl").join("cqlsh_history"))
}

/// Colour unless told otherwise: stdout is a terminal with a real `$TERM`
/// (cqlsh's `should_use_color`), and never for `-f`.
fn use_color(args: &CqlshArgs) -> bool {
    if args.color {
        return true;
    }
    if args.no_color || args.file.is_some() {
        return false;
    }
    let term = std::env::var("TERM").unwrap_or_default();
    std::io::stdout().is_terminal() && !term.is_empty() && term != "dumb"
}

/// Runs the shell; the exit code follows cqlsh (module docs).
pub fn run(args: CqlshArgs) -> ExitCode {
    let host = args
        .host
        .clone()
        .or_else(|| std::env::var("CQLSH_HOST").ok())
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    let port = match args.port {
        Some(p) => p,
        None => match std::env::var("CQLSH_PORT") {
            Ok(p) => match p.parse() {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("'{p}' is not a valid port number.");
                    return ExitCode::from(2);
                }
            },
            Err(_) => DEFAULT_PORT,
        },
    };
    let input = match (&args.execute, &args.file) {
        (Some(stmt), _) => {
            let mut s = stmt.trim_end().to_string();
            if !s.ends_with(';') {
                s.push(';');
            }
            Input::Single(Some(s))
        }
        (None, Some(f)) => match std::fs::File::open(f) {
            Ok(file) => Input::Lines(Box::new(BufReader::new(file))),
            Err(e) => {
                eprintln!("Can't open '{}': {e}", f.display());
                return ExitCode::from(EXIT_CONNECTION);
            }
        },
        (None, None) if args.tty || std::io::stdin().is_terminal() => Input::Tty,
        (None, None) => Input::Lines(Box::new(BufReader::new(std::io::stdin()))),
    };
    let tty = matches!(input, Input::Tty);
    let input_name = match &args.file {
        Some(f) => f.display().to_string(),
        None => "<stdin>".to_string(),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(RUNTIME_THREADS)
        .thread_name("cqlsh")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(EXIT_CONNECTION);
        }
    };
    let client_config = ClientConfig {
        protocol_version: args.protocol_version,
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
    };
    let connected = rt.block_on(async {
        let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| e.to_string())?
            .next()
            .ok_or_else(|| "no address".to_string())?;
        let client = Client::connect(addr, &client_config)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((addr, client))
    });
    let (addr, client) = match connected {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Connection error: ('Unable to connect to any servers', {{'{host}:{port}': '{e}'}})");
            return ExitCode::from(EXIT_CONNECTION);
        }
    };
    let opts = ShellOptions {
        host,
        port,
        addr,
        client_config,
        tty,
        color: use_color(&args),
        input_name,
        history_path: if tty { history_path() } else { None },
    };
    let mut shell = Shell::new(rt, client, opts);
    if let Some(ks) = &args.keyspace {
        if let Err(e) = shell.use_keyspace(ks) {
            eprintln!("Connection error: {}", shell.client_error_text(&e));
            return ExitCode::from(EXIT_CONNECTION);
        }
    }
    let mut input = input;
    if tty {
        let config = rustyline::Config::builder()
            .max_history_size(HISTORY_FILE_ENTRIES)
            .map(|b| b.auto_add_history(false).build());
        match config.and_then(rustyline::DefaultEditor::with_config) {
            Ok(ed) => shell.set_editor(ed),
            Err(e) => {
                eprintln!("cannot set up line editing: {e}");
                return ExitCode::from(EXIT_CONNECTION);
            }
        }
        shell.print_banner();
    }
    shell.cmdloop(&mut input);
    if !tty && shell.statement_error() {
        return ExitCode::from(EXIT_STATEMENT_ERROR);
    }
    ExitCode::SUCCESS
}
