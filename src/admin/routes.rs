//! The admin API's routes: a request in, a JSON (or Prometheus text) response out.
//! The table of paths is in the module essay of [`crate::admin`].
//!
//! Work that touches files (flush, compaction, snapshots, directory sizes) runs on
//! tokio's blocking pool so the runtime's workers keep serving CQL.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};
use sibyl_storage::token::Token;

use super::http::{Request, Response, PROMETHEUS_TEXT};
use super::metrics::{ClusterMetrics, MetricKind, MetricsSource, MetricsWriter, StorageMetrics};
use super::placement;
use super::{AdminContext, AdminError};
use crate::cluster::{EndpointStateKind, EndpointView, Liveness};
use crate::node::{format_uuid, load_bytes, PARTITIONER, RELEASE_VERSION};
use crate::schema::model::{Replication, TableMetadata};
use crate::schema::SchemaManager;

/// The directory under a table's directory that holds its snapshots.
const SNAPSHOTS_DIR: &str = "snapshots";

type Result<T> = std::result::Result<T, AdminError>;

/// Answers one request; never panics on client input.
pub async fn handle(ctx: &Arc<AdminContext>, req: Request) -> Response {
    match route(ctx, &req).await {
        Ok(r) => r,
        Err(e) => Response::error(&e),
    }
}

async fn route(ctx: &Arc<AdminContext>, req: &Request) -> Result<Response> {
    let segs = req.segments()?;
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    match (m, s.as_slice()) {
        ("GET", ["metrics"]) => Ok(metrics(ctx).await),
        (_, ["debug", "filters"]) => debug_filters(ctx, req),
        ("GET", ["api", "v1", "version"]) => Ok(Response::json(
            &json!({ "release_version": RELEASE_VERSION }),
        )),
        ("GET", ["api", "v1", "status" | "ring"]) => status(ctx, req.param("keyspace")),
        ("GET", ["api", "v1", "info"]) => info(ctx).await,
        ("GET", ["api", "v1", "describering", ks]) => describe_ring(ctx, ks),
        ("GET", ["api", "v1", "endpoints", ks, table, key]) => get_endpoints(ctx, ks, table, key),
        ("GET", ["api", "v1", "gossipinfo"]) => Ok(gossip_info(ctx)),
        ("GET", ["api", "v1", "describecluster"]) => Ok(describe_cluster(ctx)),
        ("POST", ["api", "v1", "flush"]) => table_op(ctx, req, TableOp::Flush).await,
        ("POST", ["api", "v1", "compact"]) => table_op(ctx, req, TableOp::Compact).await,
        ("GET", ["api", "v1", "tablestats"]) => table_stats(ctx, req).await,
        ("GET", ["api", "v1", "compactionstats"]) => Ok(compaction_stats(ctx)),
        ("POST", ["api", "v1", "snapshots"]) => take_snapshot(ctx, req).await,
        ("GET", ["api", "v1", "snapshots"]) => list_snapshots(ctx).await,
        ("DELETE", ["api", "v1", "snapshots"]) => clear_snapshots(ctx, req).await,
        ("POST", ["api", "v1", "drain"]) => drain(ctx).await,
        (
            _,
            ["metrics"]
            | ["api", "v1", "version" | "status" | "ring" | "info" | "gossipinfo"]
            | ["api", "v1", "describecluster" | "tablestats" | "compactionstats"]
            | ["api", "v1", "flush" | "compact" | "drain" | "snapshots"],
        ) => Err(AdminError::MethodNotAllowed(format!(
            "{m} is not allowed on {}",
            req.path
        ))),
        _ => Err(AdminError::NotFound(format!(
            "no such endpoint: {m} {}",
            req.path
        ))),
    }
}

/// Runs blocking work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AdminError::Internal(format!("admin task failed: {e}")))?
}

/// Table id → (keyspace, table) for every table in the schema.
pub fn table_names(schema: &SchemaManager) -> HashMap<u128, (String, String)> {
    let snapshot = schema.snapshot();
    let mut out = HashMap::new();
    for ks in snapshot.keyspaces.values() {
        for t in ks.tables.values() {
            out.insert(t.id, (t.keyspace.clone(), t.name.clone()));
        }
    }
    out
}

async fn metrics(ctx: &Arc<AdminContext>) -> Response {
    let ctx = ctx.clone();
    let text = tokio::task::spawn_blocking(move || {
        let mut w = MetricsWriter::new();
        StorageMetrics {
            storage: ctx.storage.clone(),
            schema: ctx.schema.clone(),
        }
        .collect(&mut w);
        ClusterMetrics {
            cluster: ctx.cluster.clone(),
        }
        .collect(&mut w);
        w.sample(
            "sibyl_uptime_seconds",
            "Seconds since the node started.",
            MetricKind::Gauge,
            &[],
            ctx.started.elapsed().as_secs_f64(),
        );
        let active = ctx.native_transport_active.load(Ordering::Relaxed);
        w.sample(
            "sibyl_native_transport_active",
            "1 while the CQL native transport accepts connections.",
            MetricKind::Gauge,
            &[],
            if active { 1.0 } else { 0.0 },
        );
        let sources = ctx
            .metrics_sources
            .read()
            .map(|v| v.clone())
            .unwrap_or_default();
        for s in sources {
            s.collect(&mut w);
        }
        w.finish()
    })
    .await
    .unwrap_or_else(|e| format!("# metrics collection failed: {e}\n"));
    Response {
        status: 200,
        content_type: PROMETHEUS_TEXT,
        body: text.into_bytes(),
    }
}

fn debug_filters(ctx: &Arc<AdminContext>, req: &Request) -> Result<Response> {
    if !ctx.debug_endpoints {
        return Err(AdminError::NotFound(
            "no such endpoint (debug endpoints are off: set debug_endpoints: true)".into(),
        ));
    }
    let filters = ctx.debug_filters.read().ok().and_then(|f| f.clone());
    let Some(filters) = filters else {
        return Err(AdminError::Unavailable(
            "message filters are not available: the messaging layer has not installed them".into(),
        ));
    };
    match req.method.as_str() {
        "GET" => Ok(Response::json(&json!({ "filters": filters.list() }))),
        "POST" => {
            let rules: Value = serde_json::from_slice(&req.body)
                .map_err(|e| AdminError::BadRequest(format!("the body is not JSON: {e}")))?;
            filters.set(rules).map_err(AdminError::BadRequest)?;
            Ok(Response::json(&json!({ "filters": filters.list() })))
        }
        "DELETE" => {
            filters.clear();
            Ok(Response::json(&json!({ "filters": filters.list() })))
        }
        m => Err(AdminError::MethodNotAllowed(format!(
            "{m} is not allowed on /debug/filters"
        ))),
    }
}

fn liveness_str(l: Liveness) -> &'static str {
    match l {
        Liveness::Up => "Up",
        Liveness::Down => "Down",
    }
}

fn state_str(s: EndpointStateKind) -> &'static str {
    match s {
        EndpointStateKind::Normal => "Normal",
        EndpointStateKind::Joining => "Joining",
        EndpointStateKind::Leaving => "Leaving",
        EndpointStateKind::Moving => "Moving",
    }
}

fn endpoint_json(ep: &EndpointView, owns: Option<f64>) -> Value {
    json!({
        "address": ep.endpoint.ip().to_string(),
        "endpoint": ep.endpoint.to_string(),
        "native_address": ep.native_address.map(|a| a.to_string()),
        "host_id": ep.host_id.map(format_uuid),
        "datacenter": ep.datacenter,
        "rack": ep.rack,
        "status": liveness_str(ep.liveness),
        "state": state_str(ep.state),
        "load_bytes": ep.load_bytes,
        // Tokens as strings: JSON readers with 53-bit numbers would round them.
        "tokens": ep.tokens.iter().map(i64::to_string).collect::<Vec<_>>(),
        "owns": owns,
        "schema_version": ep.schema_version,
        "release_version": ep.release_version,
        "generation": ep.generation,
        "heartbeat": ep.heartbeat,
        "phi": ep.phi,
        "is_local": ep.is_local,
    })
}

fn status(ctx: &Arc<AdminContext>, keyspace: Option<&str>) -> Result<Response> {
    let endpoints = ctx.cluster.endpoints();
    let o = placement::ownership_for(&ctx.schema, &endpoints, keyspace)?;
    let list: Vec<Value> = endpoints
        .iter()
        .map(|ep| endpoint_json(ep, o.fractions.get(&ep.endpoint).copied()))
        .collect();
    Ok(Response::json(&json!({
        "keyspace": keyspace,
        "effective_ownership": o.effective,
        "note": o.note,
        "endpoints": list,
    })))
}

async fn info(ctx: &Arc<AdminContext>) -> Result<Response> {
    let storage = ctx.storage.clone();
    let load = blocking(move || Ok(load_bytes(&storage))).await?;
    let l = &ctx.local;
    Ok(Response::json(&json!({
        "host_id": format_uuid(l.identity.host_id),
        // Gossip runs when the view reports gossip counters; the local-only view has none.
        "gossip_active": !ctx.cluster.gossip_counters().is_empty(),
        "native_transport_active": ctx.native_transport_active.load(Ordering::Relaxed),
        "load_bytes": load,
        "generation": l.generation,
        "uptime_seconds": ctx.started.elapsed().as_secs(),
        "datacenter": l.datacenter,
        "rack": l.rack,
        "tokens": l.identity.tokens.iter().map(i64::to_string).collect::<Vec<_>>(),
        "exceptions": 0,
    })))
}

fn describe_ring(ctx: &Arc<AdminContext>, ks: &str) -> Result<Response> {
    let strategy = placement::keyspace_strategy(&ctx.schema, ks)?;
    let endpoints = ctx.cluster.endpoints();
    let by_addr: HashMap<_, _> = endpoints.iter().map(|e| (e.endpoint, e)).collect();
    let (tm, topology) = placement::ring_of(&endpoints);
    let ranges: Vec<Value> = placement::range_replicas(&strategy, &tm, &topology)
        .into_iter()
        .map(|(range, replicas)| {
            let details: Vec<Value> = replicas
                .iter()
                .map(|r| {
                    let ep = by_addr.get(r);
                    json!({
                        "host": r.ip().to_string(),
                        "datacenter": ep.map(|e| e.datacenter.clone()),
                        "rack": ep.map(|e| e.rack.clone()),
                    })
                })
                .collect();
            json!({
                "start_token": range.left.0.to_string(),
                "end_token": range.right.0.to_string(),
                "endpoints": replicas.iter().map(|r| r.ip().to_string()).collect::<Vec<_>>(),
                "rpc_endpoints": replicas.iter().map(|r| {
                    by_addr.get(r).and_then(|e| e.native_address).map_or_else(|| r.ip().to_string(), |a| a.ip().to_string())
                }).collect::<Vec<_>>(),
                "endpoint_details": details,
            })
        })
        .collect();
    Ok(Response::json(&json!({
        "keyspace": ks,
        "schema_version": format_uuid(ctx.schema.version()),
        "ranges": ranges,
    })))
}

fn table_meta(ctx: &AdminContext, ks: &str, table: &str) -> Result<Arc<TableMetadata>> {
    if ctx.schema.keyspace(ks).is_none() {
        return Err(AdminError::NotFound(format!(
            "Keyspace {ks} does not exist"
        )));
    }
    ctx.schema
        .table(ks, table)
        .map_err(|_| AdminError::NotFound(format!("Table {table} does not exist in keyspace {ks}")))
}

fn get_endpoints(ctx: &Arc<AdminContext>, ks: &str, table: &str, key: &str) -> Result<Response> {
    let meta = table_meta(ctx, ks, table)?;
    let bytes = placement::partition_key_bytes(&meta, key)?;
    let token = Token::of(&bytes);
    let endpoints = ctx.cluster.endpoints();
    let (tm, topology) = placement::ring_of(&endpoints);
    let keyspace = ctx
        .schema
        .keyspace(ks)
        .ok_or_else(|| AdminError::NotFound(format!("Keyspace {ks} does not exist")))?;
    // A LocalStrategy keyspace lives on every node, answered by this one: the local node.
    let replicas: Vec<String> = match placement::strategy_of(&keyspace.replication)? {
        Some(s) => s
            .calculate_natural_replicas(token, &tm, &topology)
            .iter()
            .map(|e| e.ip().to_string())
            .collect(),
        None => vec![ctx.cluster.local_endpoint().ip().to_string()],
    };
    Ok(Response::json(&json!({
        "keyspace": ks,
        "table": table,
        "key": key,
        "token": token.0.to_string(),
        "endpoints": replicas,
    })))
}

/// Application states the gossiper would publish, for an endpoint the view has
/// none for (a peer saved by an earlier life and not heard from yet): derived from
/// the snapshot, each at version 0.
fn derived_states(ep: &EndpointView) -> Vec<(String, i32, String)> {
    let mut s = Vec::new();
    let status = match ep.state {
        EndpointStateKind::Normal => "NORMAL",
        EndpointStateKind::Joining => "BOOT",
        EndpointStateKind::Leaving => "LEAVING",
        EndpointStateKind::Moving => "MOVING",
    };
    let first_token = ep.tokens.first().map(i64::to_string).unwrap_or_default();
    s.push((
        "STATUS_WITH_PORT".to_string(),
        0,
        format!("{status},{first_token}"),
    ));
    if let Some(l) = ep.load_bytes {
        // `+ 0.0` turns the -0.0 an empty f64 sum yields into 0.0.
        s.push(("LOAD".into(), 0, format!("{:.1}", l + 0.0)));
    }
    if let Some(v) = &ep.schema_version {
        s.push(("SCHEMA".into(), 0, v.clone()));
    }
    s.push(("DC".into(), 0, ep.datacenter.clone()));
    s.push(("RACK".into(), 0, ep.rack.clone()));
    if let Some(v) = &ep.release_version {
        s.push(("RELEASE_VERSION".into(), 0, v.clone()));
    }
    if let Some(a) = ep.native_address {
        s.push(("NATIVE_ADDRESS_AND_PORT".into(), 0, a.to_string()));
    }
    if let Some(h) = ep.host_id {
        s.push(("HOST_ID".into(), 0, format_uuid(h)));
    }
    s.push(("TOKENS".into(), 0, "<hidden>".into()));
    s
}

fn gossip_info(ctx: &Arc<AdminContext>) -> Response {
    let list: Vec<Value> = ctx
        .cluster
        .endpoints()
        .iter()
        .map(|ep| {
            let states = if ep.application_states.is_empty() {
                derived_states(ep)
            } else {
                ep.application_states.clone()
            };
            json!({
                "address": ep.endpoint.ip().to_string(),
                "endpoint": ep.endpoint.to_string(),
                "generation": ep.generation,
                "heartbeat": ep.heartbeat,
                "application_states": states.iter().map(|(n, v, val)| json!({
                    "name": n, "version": v, "value": val,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Response::json(&json!({ "endpoints": list }))
}

/// `ReplicationParams.toString()`: `SimpleStrategy{replication_factor=1}`.
fn replication_string(r: &Replication) -> String {
    let class = r.options.get("class").map(String::as_str).unwrap_or("");
    let short = class.rsplit('.').next().unwrap_or(class);
    let opts: Vec<String> = r
        .options
        .iter()
        .filter(|(k, _)| *k != "class")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{short}{{{}}}", opts.join(", "))
}

fn describe_cluster(ctx: &Arc<AdminContext>) -> Response {
    let endpoints = ctx.cluster.endpoints();
    let mut schema_versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut releases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dcs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for ep in &endpoints {
        let addr = ep.endpoint.ip().to_string();
        let version = ep
            .schema_version
            .clone()
            .unwrap_or_else(|| "UNREACHABLE".into());
        let version = if ep.liveness == Liveness::Down {
            "UNREACHABLE".into()
        } else {
            version
        };
        schema_versions
            .entry(version)
            .or_default()
            .push(addr.clone());
        if let Some(r) = &ep.release_version {
            releases
                .entry(r.clone())
                .or_default()
                .push(ep.endpoint.to_string());
        }
        let dc = dcs.entry(ep.datacenter.clone()).or_default();
        dc.0 += 1;
        if ep.liveness == Liveness::Down {
            dc.1 += 1;
            *counts.entry("unreachable").or_default() += 1;
        } else {
            *counts.entry("live").or_default() += 1;
        }
        match ep.state {
            EndpointStateKind::Joining => *counts.entry("joining").or_default() += 1,
            EndpointStateKind::Leaving => *counts.entry("leaving").or_default() += 1,
            EndpointStateKind::Moving => *counts.entry("moving").or_default() += 1,
            EndpointStateKind::Normal => {}
        }
    }
    let snapshot = ctx.schema.snapshot();
    let keyspaces: BTreeMap<String, String> = snapshot
        .keyspaces
        .values()
        .map(|k| (k.name.clone(), replication_string(&k.replication)))
        .collect();
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    Response::json(&json!({
        "name": ctx.local.cluster_name,
        "snitch": format!("org.apache.cassandra.locator.{}", ctx.snitch.name()),
        "dynamic_snitch": false,
        "partitioner": PARTITIONER,
        "schema_versions": schema_versions,
        "live": count("live"),
        "joining": count("joining"),
        "moving": count("moving"),
        "leaving": count("leaving"),
        "unreachable": count("unreachable"),
        "datacenters": dcs.iter().map(|(dc, (n, d))| (dc.clone(), json!({"nodes": n, "down": d}))).collect::<BTreeMap<_, _>>(),
        "release_versions": releases,
        "keyspaces": keyspaces,
    }))
}

/// The tables a `flush`/`compact`/`tablestats` request names: every table, a
/// keyspace's, or some tables of a keyspace. Unknown names are 404s.
fn select_tables(
    ctx: &AdminContext,
    keyspace: Option<&str>,
    tables: &[String],
) -> Result<Vec<Arc<TableMetadata>>> {
    let snapshot = ctx.schema.snapshot();
    match keyspace {
        None => Ok(snapshot
            .keyspaces
            .values()
            .flat_map(|k| k.tables.values().cloned())
            .collect()),
        Some(ks) => {
            let meta = snapshot
                .keyspaces
                .get(ks)
                .ok_or_else(|| AdminError::NotFound(format!("Keyspace [{ks}] does not exist.")))?;
            if tables.is_empty() {
                return Ok(meta.tables.values().cloned().collect());
            }
            tables
                .iter()
                .map(|t| {
                    meta.tables.get(t).cloned().ok_or_else(|| {
                        AdminError::NotFound(format!("Unknown table/index {ks}.{t}"))
                    })
                })
                .collect()
        }
    }
}

#[derive(Clone, Copy)]
enum TableOp {
    Flush,
    Compact,
}

async fn table_op(ctx: &Arc<AdminContext>, req: &Request, op: TableOp) -> Result<Response> {
    let tables = select_tables(ctx, req.param("keyspace"), &req.list_param("tables"))?;
    let storage = ctx.storage.clone();
    let done = blocking(move || {
        let mut done = Vec::new();
        for t in tables {
            // Virtual tables have no storage table: nothing to flush or compact.
            let Ok(st) = storage.table(t.storage_id()) else {
                continue;
            };
            let r = match op {
                TableOp::Flush => st.flush().map(|_| ()),
                TableOp::Compact => st.flush().and_then(|_| st.compact_major()),
            };
            r.map_err(|e| AdminError::Internal(format!("{}: {e}", t.qualified_name())))?;
            done.push(t.qualified_name());
        }
        Ok(done)
    })
    .await?;
    Ok(Response::json(&json!({ "tables": done })))
}

/// Bytes of the regular files directly under `dir`, and of those not hard-linked
/// elsewhere (a snapshot's "true size": what deleting it frees).
fn dir_sizes(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut unique = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if let Ok(m) = e.metadata() {
                if m.is_file() {
                    total += m.len();
                    if m.nlink() <= 1 {
                        unique += m.len();
                    }
                }
            }
        }
    }
    (total, unique)
}

async fn table_stats(ctx: &Arc<AdminContext>, req: &Request) -> Result<Response> {
    let table = req.param("table").map(str::to_string);
    let mut tables = select_tables(
        ctx,
        req.param("keyspace"),
        &table.iter().cloned().collect::<Vec<_>>(),
    )?;
    tables.sort_by(|a, b| (&a.keyspace, &a.name).cmp(&(&b.keyspace, &b.name)));
    let storage = ctx.storage.clone();
    let list = blocking(move || {
        let mut out = Vec::new();
        for t in tables {
            let Ok(st) = storage.table(t.storage_id()) else {
                continue;
            };
            let s = st.stats();
            let snapshots = snapshot_dirs(st.dir())
                .iter()
                .map(|(_, d)| dir_sizes(d).1)
                .sum::<u64>();
            out.push(json!({
                "keyspace": t.keyspace,
                "table": t.name,
                "sstable_count": s.sstable_count,
                "space_used_live": s.space_used_live,
                "space_used_total": s.space_used_total,
                "space_used_by_snapshots": snapshots,
                "partitions_estimate": s.partitions_estimate,
                "memtable_bytes": s.memtable_bytes,
                "memtable_data_bytes": s.memtable_data_bytes,
                "pending_flushes": s.pending_flushes,
                "read_count": s.read_count,
                "read_latency_p50_us": s.read_latency_p50_us,
                "read_latency_p99_us": s.read_latency_p99_us,
                "write_count": s.write_count,
                "write_latency_p50_us": s.write_latency_p50_us,
                "write_latency_p99_us": s.write_latency_p99_us,
                "bloom_false_positives": s.bloom_false_positives,
                "bloom_true_positives": s.bloom_true_positives,
                "tombstones_scanned": s.tombstones_scanned,
                "compactions_completed": s.compactions_completed,
                "unreadable_sstables": s.unreadable_sstables,
            }));
        }
        Ok(out)
    })
    .await?;
    Ok(Response::json(&json!({ "tables": list })))
}

fn compaction_stats(ctx: &Arc<AdminContext>) -> Response {
    let names = table_names(&ctx.schema);
    let mut active = Vec::new();
    for t in ctx.storage.tables() {
        if let Some((sstables, bytes)) = t.compaction_in_progress() {
            let (ks, name) = names.get(&t.id.0).cloned().unwrap_or_default();
            active.push(json!({
                "id": format_uuid(t.id.0 ^ u128::from(bytes)),
                "type": "Compaction",
                "keyspace": ks,
                "table": name,
                // Progress within a compaction is not tracked: 0 of the input bytes.
                "completed": 0,
                "total": bytes,
                "unit": "bytes",
                "sstables": sstables,
            }));
        }
    }
    Response::json(&json!({
        "pending_tasks": 0,
        "pending_by_table": {},
        "compaction_throughput_mib_per_sec": ctx.storage.config().compaction_throughput / (1024 * 1024),
        "compactions": active,
    }))
}

/// `(name, path)` of each snapshot of the table stored in `table_dir`.
fn snapshot_dirs(table_dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(table_dir.join(SNAPSHOTS_DIR)) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.push((e.file_name().to_string_lossy().into_owned(), e.path()));
            }
        }
    }
    out.sort();
    out
}

fn snapshot_keyspaces(ctx: &AdminContext, names: &[String]) -> Result<Vec<Arc<TableMetadata>>> {
    if names.is_empty() {
        return select_tables(ctx, None, &[]);
    }
    let mut out = Vec::new();
    for ks in names {
        out.extend(select_tables(ctx, Some(ks), &[])?);
    }
    Ok(out)
}

async fn take_snapshot(ctx: &Arc<AdminContext>, req: &Request) -> Result<Response> {
    let keyspaces = req.list_param("keyspaces");
    let tables = snapshot_keyspaces(ctx, &keyspaces)?;
    let tag = match req.param("tag") {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
            .to_string(),
    };
    if tag.contains(['/', '\\']) || tag.starts_with('.') {
        return Err(AdminError::BadRequest(format!(
            "invalid snapshot name {tag:?}"
        )));
    }
    let storage = ctx.storage.clone();
    let tag2 = tag.clone();
    let taken = blocking(move || {
        let stores: Vec<_> = tables
            .iter()
            .filter_map(|t| storage.table(t.storage_id()).ok().map(|s| (t.clone(), s)))
            .collect();
        // Cassandra refuses a tag already used, before taking anything.
        if stores
            .iter()
            .any(|(_, s)| s.dir().join(SNAPSHOTS_DIR).join(&tag2).exists())
        {
            return Err(AdminError::BadRequest(format!(
                "Snapshot {tag2} already exists."
            )));
        }
        let mut taken = Vec::new();
        for (t, s) in stores {
            s.snapshot(&tag2)
                .map_err(|e| AdminError::Internal(format!("{}: {e}", t.qualified_name())))?;
            taken.push(t.qualified_name());
        }
        Ok(taken)
    })
    .await?;
    Ok(Response::json(&json!({
        "tag": tag,
        "keyspaces": keyspaces,
        "tables": taken,
    })))
}

/// `(tag, keyspace, table, path)` of every snapshot of the tables in the schema.
fn all_snapshots(ctx: &AdminContext) -> Vec<(String, String, String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for t in select_tables(ctx, None, &[]).unwrap_or_default() {
        if let Ok(st) = ctx.storage.table(t.storage_id()) {
            for (tag, dir) in snapshot_dirs(st.dir()) {
                out.push((tag, t.keyspace.clone(), t.name.clone(), dir));
            }
        }
    }
    out.sort();
    out
}

async fn list_snapshots(ctx: &Arc<AdminContext>) -> Result<Response> {
    let ctx = ctx.clone();
    let list = blocking(move || {
        Ok(all_snapshots(&ctx)
            .into_iter()
            .map(|(tag, ks, table, dir)| {
                let (size, true_size) = dir_sizes(&dir);
                let created = std::fs::metadata(&dir)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs());
                json!({
                    "tag": tag,
                    "keyspace": ks,
                    "table": table,
                    "true_size": true_size,
                    "size_on_disk": size,
                    "created_epoch_seconds": created,
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Response::json(&json!({ "snapshots": list })))
}

async fn clear_snapshots(ctx: &Arc<AdminContext>, req: &Request) -> Result<Response> {
    let all = req.param("all") == Some("true");
    let tag = req
        .param("tag")
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    if tag.is_none() && !all {
        return Err(AdminError::BadRequest(
            "Specify snapshot name or --all".into(),
        ));
    }
    if tag.is_some() && all {
        return Err(AdminError::BadRequest(
            "Specify only one of snapshot name or --all".into(),
        ));
    }
    let keyspaces = req.list_param("keyspaces");
    for ks in &keyspaces {
        if ctx.schema.keyspace(ks).is_none() {
            return Err(AdminError::NotFound(format!(
                "Keyspace [{ks}] does not exist."
            )));
        }
    }
    let ctx = ctx.clone();
    let removed = blocking(move || {
        let mut removed = Vec::new();
        for (t, ks, table, dir) in all_snapshots(&ctx) {
            let tag_ok = tag.as_ref().is_none_or(|want| *want == t);
            let ks_ok = keyspaces.is_empty() || keyspaces.contains(&ks);
            if tag_ok && ks_ok {
                std::fs::remove_dir_all(&dir).map_err(|e| {
                    AdminError::Internal(format!("removing {}: {e}", dir.display()))
                })?;
                removed.push(json!({"tag": t, "keyspace": ks, "table": table}));
            }
        }
        Ok(removed)
    })
    .await?;
    Ok(Response::json(&json!({ "removed": removed })))
}

async fn drain(ctx: &Arc<AdminContext>) -> Result<Response> {
    if ctx.native_transport_active.swap(false, Ordering::SeqCst) {
        tracing::info!("drain: stopping the native transport");
        (ctx.stop_transport)().await;
    }
    let storage = ctx.storage.clone();
    blocking(move || {
        storage
            .flush_all()
            .map_err(|e| AdminError::Internal(format!("flush: {e}")))
    })
    .await?;
    tracing::info!("drain: done (memtables flushed, native transport stopped)");
    Ok(Response::json(&json!({ "drained": true })))
}
