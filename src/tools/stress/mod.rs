//! `sibyl stress`: load a node (or any CQL server) and measure what it does under
//! that load, like cassandra-stress and YCSB.
//!
//! It creates its own schema (keyspace `sibyl_stress`, SimpleStrategy RF 1 unless
//! told otherwise; table `kv (key blob PRIMARY KEY, value blob)`), then runs a
//! [`Workload`] through the `scylla` driver with prepared statements: `--concurrency`
//! workers, each with one request in flight at a time, share `--connections`
//! connections (the driver's `PoolSize::PerHost`) on a tokio runtime of `--threads`
//! threads. The run stops after `--ops` operations or `--duration`, whichever comes
//! first (10 s if neither is given), or at Ctrl-C with a report of what ran.
//!
//! Two ways to load:
//! - *Closed loop* (default): each worker sends its next request as soon as the
//!   previous one is answered, so throughput is what the node sustains with that
//!   many requests in flight, and latency is the time each request took.
//! - *Fixed rate* (`--rate R`): operation *i* is scheduled at `start + i/R` and its
//!   latency is measured from then, not from when it was sent (see [`report`]): if
//!   the node stalls, the requests that would have been sent meanwhile are charged
//!   for the wait, as a real client's would be (coordinated omission, Gil Tene).
//!   Workers wake up to [`TIMER_SLACK`] early, because tokio's timer rounds up to the
//!   millisecond, and then measure from the earlier of schedule and send. The report
//!   counts the operations sent late and by how much (`schedule_lag`): when many
//!   are, the load generator (or the machine it shares) was short of time, and the
//!   latencies include that wait.
//!
//! Output: a progress line per second on stderr; the final report on stdout as a
//! table, or as JSON with `--json` (every interval included); `--plot` draws the
//! intervals (see [`plot`]). Reads of missing keys count as *misses*, not errors;
//! `read` and the YCSB workloads warn when the table is empty (run `write` first or
//! pass `--populate N`, which writes keys 0..N before the measured run).
//!
//! What this is not: a multi-node load balancer (one contact point; token-awareness
//! is the driver's), nor a schema generator (cassandra-stress's user profiles).

pub mod plot;
pub mod report;
pub mod workload;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::client::PoolSize;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use report::Report;
use report::{Collector, Recorder, RunSettings};
pub use workload::Workload;
use workload::{key_bytes, Op, Plan, KEY_COUNT_MAX};

/// The table every workload uses, in `--keyspace`.
pub const TABLE: &str = "kv";

/// How long a run lasts when neither `--ops` nor `--duration` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Keys when neither `--key-count` nor `--populate` is given (cassandra-stress's default).
const DEFAULT_KEY_COUNT: u64 = 1_000_000;

/// Largest `--value-size`: well under the native protocol's default frame limit
/// (256 MiB), and more than any benchmark of a key-value path needs.
const VALUE_SIZE_MAX_BYTES: usize = 8 << 20;

/// Largest `--concurrency`: each worker is a task with its own value buffer, and the
/// driver allows 32 768 streams per connection.
const CONCURRENCY_MAX: usize = 32_768;

/// Largest `--connections` (a node caps native connections; this caps the client).
const CONNECTIONS_MAX: usize = 1_024;

/// Driver timeout for one request: the node's own default write/read timeouts are
/// 2 s and 5 s, so this only catches a node that stopped answering.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How early a `--rate` worker wakes before an operation's scheduled time: tokio's
/// timer has millisecond resolution and rounds deadlines up, and the wake-up itself
/// takes a little; with 1 ms, 86 % of operations at 1000 ops/s were sent late (by
/// 0.5 ms at the median), with 2 ms under 2 %.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// An interval shorter than this at the end of a run is folded into the totals but
/// not shown as a point (its ops/s would be noise).
const TAIL_INTERVAL_MIN: Duration = Duration::from_millis(200);

/// How often the progress line is printed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// `sibyl stress` options.
#[derive(Debug, clap::Args)]
pub struct StressArgs {
    /// What to run: write, read, mixed, or a YCSB core workload (ycsb-a … ycsb-f).
    #[arg(value_enum)]
    pub workload: Workload,
    /// Node to connect to.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Its native_transport_port.
    #[arg(long, default_value_t = 9042)]
    pub port: u16,
    /// How long to run (e.g. 30s, 2m, 500ms; a bare number is seconds).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// How many operations to run (the run stops at whichever of --ops and --duration comes first).
    #[arg(long)]
    pub ops: Option<u64>,
    /// Client runtime threads (default: the number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Connections to the node.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Requests in flight at once (workers, each waiting for its answer before the next).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Fixed rate in operations per second, latency measured from each operation's scheduled time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Consistency level of every request (ONE, QUORUM, ALL, LOCAL_ONE, …).
    #[arg(long, default_value = "ONE", value_parser = parse_consistency)]
    pub consistency: Consistency,
    /// Keys the workload chooses from (default: --populate's count, else 1000000).
    #[arg(long)]
    pub key_count: Option<u64>,
    /// Bytes of each value written.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Write keys 0..N (unmeasured) before the run, so reads find data.
    #[arg(long, value_name = "N")]
    pub populate: Option<u64>,
    /// Share of reads in `mixed` (0 to 1).
    #[arg(long, default_value_t = 0.5)]
    pub read_ratio: f64,
    /// Keyspace to create and use.
    #[arg(long, default_value = "sibyl_stress")]
    pub keyspace: String,
    /// replication_factor of the keyspace if it is created.
    #[arg(long, default_value_t = 1)]
    pub replication_factor: u32,
    /// Print the final report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Draw throughput and latency percentiles over time into FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Seed of the key choices (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Why a stress run could not run or finish (failed operations are not this: they
/// are counted in the report).
#[derive(Debug, thiserror::Error)]
pub enum StressError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the client runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("{statement}: {reason}")]
    Statement { statement: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Output { path: PathBuf, reason: String },
}

/// Runs `sibyl stress`: prints progress on stderr and the report on stdout, draws
/// the plot if asked, and returns the report.
pub fn run(args: StressArgs) -> Result<Report, StressError> {
    let settings = Settings::from_args(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.threads)
        .enable_all()
        .thread_name("sibyl-stress")
        .build()
        .map_err(StressError::Runtime)?;
    let report = runtime.block_on(run_async(&args, &settings))?;
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| StressError::Output {
            path: "stdout".into(),
            reason: e.to_string(),
        })?;
        println!("{json}");
    } else {
        print!("{}", report::render_text(&report));
    }
    if let Some(path) = &args.plot {
        plot::draw(&report, path).map_err(|reason| StressError::Output {
            path: path.clone(),
            reason,
        })?;
        eprintln!("plot written to {}", path.display());
    }
    Ok(report)
}

/// The options after defaults and checks.
struct Settings {
    threads: usize,
    key_count: u64,
    ops: Option<u64>,
    duration: Option<Duration>,
    target: String,
    seed: u64,
}

impl Settings {
    fn from_args(a: &StressArgs) -> Result<Settings, StressError> {
        let usage = |m: String| Err(StressError::Usage(m));
        let threads = a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
        let key_count = a.key_count.or(a.populate).unwrap_or(DEFAULT_KEY_COUNT);
        if threads == 0 {
            return usage("--threads must be at least 1".into());
        }
        if !(1..=CONNECTIONS_MAX).contains(&a.connections) {
            return usage(format!("--connections must be 1 to {CONNECTIONS_MAX}"));
        }
        if !(1..=CONCURRENCY_MAX).contains(&a.concurrency) {
            return usage(format!("--concurrency must be 1 to {CONCURRENCY_MAX}"));
        }
        if !(1..=KEY_COUNT_MAX).contains(&key_count) {
            return usage(format!("--key-count must be 1 to {KEY_COUNT_MAX}"));
        }
        if a.populate.is_some_and(|n| n == 0 || n > KEY_COUNT_MAX) {
            return usage(format!("--populate must be 1 to {KEY_COUNT_MAX}"));
        }
        if a.value_size > VALUE_SIZE_MAX_BYTES {
            return usage(format!(
                "--value-size must be at most {VALUE_SIZE_MAX_BYTES}"
            ));
        }
        if !(0.0..=1.0).contains(&a.read_ratio) {
            return usage("--read-ratio must be between 0 and 1".into());
        }
        if a.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return usage("--rate must be a positive number of operations per second".into());
        }
        if a.ops == Some(0) {
            return usage("--ops must be at least 1".into());
        }
        if a.replication_factor == 0 {
            return usage("--replication-factor must be at least 1".into());
        }
        let ks = &a.keyspace;
        let identifier = !ks.is_empty()
            && ks.len() <= 48
            && ks.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && ks.starts_with(|c: char| c.is_ascii_alphabetic());
        if !identifier {
            return usage(format!("--keyspace {ks:?} is not a keyspace name"));
        }
        if let Some(p) = &a.plot {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !(ext.eq_ignore_ascii_case("svg") || ext.eq_ignore_ascii_case("png")) {
                return usage(format!("--plot {}: must end in .svg or .png", p.display()));
            }
        }
        let duration = match (a.ops, a.duration) {
            (None, None) => Some(DEFAULT_DURATION),
            (_, d) => d,
        };
        let seed = a.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        Ok(Settings {
            threads,
            key_count,
            ops: a.ops,
            duration,
            target: format!("{}:{}", a.host, a.port),
            seed,
        })
    }
}

/// The prepared statements of the run.
struct Statements {
    insert: PreparedStatement,
    select: PreparedStatement,
    /// Only YCSB E scans.
    scan: Option<PreparedStatement>,
}

async fn run_async(a: &StressArgs, s: &Settings) -> Result<Report, StressError> {
    let profile = ExecutionProfile::builder()
        .consistency(a.consistency)
        .request_timeout(Some(REQUEST_TIMEOUT))
        .build();
    let connections = NonZeroUsize::new(a.connections).expect("checked ≥ 1");
    let session = SessionBuilder::new()
        .known_node(&s.target)
        .pool_size(PoolSize::PerHost(connections))
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
        .map_err(|e| StressError::Connect {
            target: s.target.clone(),
            reason: e.to_string(),
        })?;
    let ks = &a.keyspace;
    ddl(
        &session,
        &format!(
            "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
             {{'class': 'SimpleStrategy', 'replication_factor': {}}}",
            a.replication_factor
        ),
    )
    .await?;
    ddl(
        &session,
        &format!("CREATE TABLE IF NOT EXISTS {ks}.{TABLE} (key blob PRIMARY KEY, value blob)"),
    )
    .await?;
    let statements = Statements {
        insert: prepare(
            &session,
            &format!("INSERT INTO {ks}.{TABLE} (key, value) VALUES (?, ?)"),
        )
        .await?,
        select: prepare(
            &session,
            &format!("SELECT value FROM {ks}.{TABLE} WHERE key = ?"),
        )
        .await?,
        scan: if a.workload == Workload::YcsbE {
            Some(
                prepare(
                    &session,
                    &format!(
                        "SELECT key, value FROM {ks}.{TABLE} WHERE token(key) >= token(?) LIMIT ?"
                    ),
                )
                .await?,
            )
        } else {
            None
        },
    };
    let phase = Phase {
        session: Arc::new(session),
        statements: Arc::new(statements),
        args: a,
        settings: s,
    };
    if let Some(n) = a.populate {
        let plan = Plan::new(Workload::Write, n, a.read_ratio);
        let r = phase.run("populate", plan, Some(n), None, None).await;
        eprintln!(
            "populated {} keys in {:.1} s ({:.0} ops/s, {} errors)",
            r.ops, r.duration_s, r.ops_per_s, r.errors
        );
    } else if a.workload.reads_existing_keys() && table_is_empty(&phase).await? {
        eprintln!(
            "sibyl stress: warning: {ks}.{TABLE} is empty, so reads will miss; \
             run `sibyl stress write` first or pass --populate N"
        );
    }
    let plan = Plan::new(a.workload, s.key_count, a.read_ratio);
    Ok(phase
        .run(a.workload.name(), plan, s.ops, s.duration, a.rate)
        .await)
}

async fn ddl(session: &Session, statement: &str) -> Result<(), StressError> {
    session
        .query_unpaged(statement, ())
        .await
        .map(|_| ())
        .map_err(|e| StressError::Statement {
            statement: statement.to_string(),
            reason: e.to_string(),
        })
}

async fn prepare(session: &Session, statement: &str) -> Result<PreparedStatement, StressError> {
    let mut p = session
        .prepare(statement)
        .await
        .map_err(|e| StressError::Statement {
            statement: statement.to_string(),
            reason: e.to_string(),
        })?;
    // Every statement here can be retried safely: an INSERT of a whole row, or a read.
    p.set_is_idempotent(true);
    Ok(p)
}

async fn table_is_empty(p: &Phase<'_>) -> Result<bool, StressError> {
    let q = format!("SELECT key FROM {}.{TABLE} LIMIT 1", p.args.keyspace);
    let result =
        p.session
            .query_unpaged(q.as_str(), ())
            .await
            .map_err(|e| StressError::Statement {
                statement: q.clone(),
                reason: e.to_string(),
            })?;
    Ok(result
        .into_rows_result()
        .map_or(true, |r| r.rows_num() == 0))
}

/// One measured stretch of load (the populate step, then the run).
struct Phase<'a> {
    session: Arc<Session>,
    statements: Arc<Statements>,
    args: &'a StressArgs,
    settings: &'a Settings,
}

/// What the workers of one phase share.
struct Shared {
    session: Arc<Session>,
    statements: Arc<Statements>,
    plan: Plan,
    recorder: Recorder,
    /// Sequence number of the next operation.
    next_seq: AtomicU64,
    ops_limit: Option<u64>,
    start: Instant,
    deadline: Option<Instant>,
    /// Under `--rate`: time between scheduled operations.
    period: Option<Duration>,
    value_size: usize,
    seed: u64,
}

impl Phase<'_> {
    async fn run(
        &self,
        label: &str,
        plan: Plan,
        ops: Option<u64>,
        duration: Option<Duration>,
        rate: Option<f64>,
    ) -> Report {
        let a = self.args;
        let start = Instant::now();
        let shared = Arc::new(Shared {
            session: self.session.clone(),
            statements: self.statements.clone(),
            plan,
            recorder: Recorder::new(),
            next_seq: AtomicU64::new(0),
            ops_limit: ops,
            start,
            deadline: duration.map(|d| start + d),
            period: rate.map(|r| Duration::from_secs_f64(1.0 / r)),
            value_size: a.value_size,
            seed: self.settings.seed,
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers = JoinSet::new();
        for id in 0..a.concurrency {
            workers.spawn(worker(shared.clone(), id, stop_rx.clone()));
        }
        let mut collector = Collector::new();
        let mut ticker = tokio::time::interval_at(start + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut interrupted = false;
        let mut last = start;
        loop {
            tokio::select! {
                joined = workers.join_next() => {
                    match joined {
                        None => break,
                        Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Some(_) => {}
                    }
                }
                _ = ticker.tick() => {
                    let now = Instant::now();
                    let i = collector.close_interval(&shared.recorder, now - start, now - last);
                    last = now;
                    eprintln!("{}", report::progress_line(label, &i));
                }
                _ = &mut ctrl_c, if !interrupted => {
                    interrupted = true;
                    eprintln!("interrupted: stopping after the requests in flight");
                    let _ = stop_tx.send(true);
                }
            }
        }
        let end = Instant::now();
        let tail = collector.close_interval(&shared.recorder, end - start, end - last);
        if end - last < TAIL_INTERVAL_MIN {
            collector.forget_last_interval();
        } else {
            eprintln!("{}", report::progress_line(label, &tail));
        }
        let settings = RunSettings {
            workload: label.to_string(),
            target: self.settings.target.clone(),
            consistency: consistency_name(a.consistency),
            threads: self.settings.threads,
            connections: a.connections,
            concurrency: a.concurrency,
            rate_ops_per_s: rate,
            key_count: self.settings.key_count,
            value_size_bytes: a.value_size,
        };
        collector.report(&shared.recorder, settings, end - start)
    }
}

/// One closed-loop worker: claims sequence numbers until the run's limit.
async fn worker(sh: Arc<Shared>, id: usize, mut stop: watch::Receiver<bool>) {
    /// Spreads worker seeds apart (the 64-bit golden ratio).
    const SEED_STRIDE: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rng = SmallRng::seed_from_u64(sh.seed ^ (id as u64 + 1).wrapping_mul(SEED_STRIDE));
    let mut value = vec![0u8; sh.value_size];
    rng.fill(&mut value[..]);
    loop {
        if *stop.borrow() {
            break;
        }
        let seq = sh.next_seq.fetch_add(1, Ordering::Relaxed);
        if sh.ops_limit.is_some_and(|n| seq >= n) {
            break;
        }
        let began = match sh.period {
            Some(period) => {
                let scheduled = sh.start + period.mul_f64(seq as f64);
                if sh.deadline.is_some_and(|d| scheduled >= d) {
                    break;
                }
                if scheduled > Instant::now() + TIMER_SLACK {
                    tokio::select! {
                        _ = tokio::time::sleep_until(scheduled - TIMER_SLACK) => {}
                        _ = stop.wait_for(|s| *s) => break,
                    }
                }
                let now = Instant::now();
                if now > scheduled {
                    sh.recorder.record_lag(id, now - scheduled);
                }
                scheduled.min(now)
            }
            None => {
                let now = Instant::now();
                if sh.deadline.is_some_and(|d| now >= d) {
                    break;
                }
                now
            }
        };
        let op = sh.plan.next(seq, &mut rng);
        let outcome = execute(&sh, op, &value).await;
        let latency = began.elapsed();
        sh.plan.finished(op);
        match outcome {
            Ok(found) => sh.recorder.record(id, op.kind(), latency, found),
            Err(e) => sh.recorder.record_error(op.kind(), e),
        }
    }
}

/// Runs one operation; `Ok(false)` is a read that found no row.
async fn execute(sh: &Shared, op: Op, value: &[u8]) -> Result<bool, String> {
    match op {
        Op::Write { key } => write(sh, key, value).await.map(|_| true),
        Op::Read { key } => read(sh, key).await,
        Op::Scan { start, rows } => {
            let scan = sh
                .statements
                .scan
                .as_ref()
                .ok_or("scan not prepared for this workload")?;
            let limit = i32::try_from(rows).map_err(|e| e.to_string())?;
            let result = sh
                .session
                .execute_unpaged(scan, (&key_bytes(start)[..], limit))
                .await
                .map_err(|e| e.to_string())?;
            Ok(rows_found(result))
        }
        Op::ReadModifyWrite { key } => {
            let found = read(sh, key).await?;
            write(sh, key, value).await?;
            Ok(found)
        }
    }
}

async fn write(sh: &Shared, key: u64, value: &[u8]) -> Result<(), String> {
    sh.session
        .execute_unpaged(&sh.statements.insert, (&key_bytes(key)[..], value))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn read(sh: &Shared, key: u64) -> Result<bool, String> {
    let result = sh
        .session
        .execute_unpaged(&sh.statements.select, (&key_bytes(key)[..],))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows_found(result))
}

fn rows_found(result: scylla::response::query_result::QueryResult) -> bool {
    result.into_rows_result().is_ok_and(|r| r.rows_num() > 0)
}

/// `30s`, `2m`, `500ms`, `1h`, or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (like 30s, 2m, 500ms)"))?;
    let seconds = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("{s:?}: a duration must be positive"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_consistency(s: &str) -> Result<Consistency, String> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "ANY" => Consistency::Any,
        "ONE" => Consistency::One,
        "TWO" => Consistency::Two,
        "THREE" => Consistency::Three,
        "QUORUM" => Consistency::Quorum,
        "ALL" => Consistency::All,
        "LOCAL_QUORUM" => Consistency::LocalQuorum,
        "EACH_QUORUM" => Consistency::EachQuorum,
        "LOCAL_ONE" => Consistency::LocalOne,
        _ => return Err(format!("{s:?} is not a consistency level")),
    })
}

/// Cassandra's name of a level (`LocalQuorum` → `LOCAL_QUORUM`).
fn consistency_name(c: Consistency) -> String {
    let mut name = String::new();
    for (i, ch) in format!("{c:?}").chars().enumerate() {
        if i > 0 && ch.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(ch.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn consistency_names_are_cassandras() {
        assert_eq!(
            parse_consistency("local_quorum"),
            Ok(Consistency::LocalQuorum)
        );
        assert!(parse_consistency("SOME").is_err());
        assert_eq!(consistency_name(Consistency::LocalQuorum), "LOCAL_QUORUM");
    }
}
