//! Model test of the CQL write/read path: random INSERT/UPDATE/DELETE statements
//! (TTLs, explicit and client timestamps, static columns, list and map operations,
//! row/range/partition deletions, unlogged batches) against an in-memory model of
//! what Cassandra would return, read back with random page sizes, with flushes,
//! major compactions and whole-node restarts in between.
//!
//! The node is driven only through the query layer, like a client: CQL text and
//! bound values in, native-protocol bytes out.
//!
//! The model keeps Cassandra's cells (timestamp, value or tombstone, expiry), row
//! markers, row/range/partition deletions and collection deletions, and computes
//! the result at read time by Cassandra's rules: last write wins by timestamp, a
//! tombstone (or expiring cell) wins a tie, deletions shadow everything at or below
//! their timestamp, a row exists while its marker or any cell is live, and a
//! partition with only static data shows one row with null clustering columns in
//! a full-partition query.
//!
//! Replay: `SIBYL_SEED=<n> cargo test -p sibyl --test cql_model -- --nocapture`;
//! `SIBYL_OPS=<n>` changes the number of operations per seed (default 400) and
//! `SIBYL_SEEDS=<n>` runs seeds 1..=n (default 16).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sibyl::clock::{Clock, ManualClock};
use sibyl::error::CqlError;
use sibyl::query::{QueryOptions, QueryProcessor, ResultMessage, Rows, Session};
use sibyl::schema::SchemaManager;
use sibyl_cql::types::{deserialize, serialize, CqlType, CqlValue};
use sibyl_storage::{Storage, StorageConfig, Token};

// ---------------------------------------------------------------------------
// Deterministic randomness.

/// SplitMix64: tiny, deterministic across platforms and crate versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// In `lo..hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize].clone()
    }
}

// ---------------------------------------------------------------------------
// Key and value spaces.

const PARTITIONS: i32 = 8;
const C1S: i32 = 6;
const C2S: &[&str] = &["", "a", "ab", "b", "z"];
const V2S: &[&str] = &["", "x", "y", "zz", "q"];
const MAP_KEYS: &[&str] = &["k1", "k2", "k3"];
/// `SELECT *` column order (Cassandra: partition key, clustering, statics, regulars,
/// each group alphabetical).
const COLS: &[&str] = &["p", "c1", "c2", "s", "l", "m", "v1", "v2"];

/// A value bound to a statement (or rendered as a literal for the replay log).
#[derive(Clone, Debug)]
enum V {
    Int(i32),
    Big(i64),
    Text(String),
    IntList(Vec<i32>),
    TextIntMap(Vec<(String, i32)>),
    TextSet(Vec<String>),
    Null,
}

impl V {
    fn text(s: &str) -> V {
        V::Text(s.to_string())
    }

    fn cql(&self) -> Option<(CqlValue, CqlType)> {
        Some(match self {
            V::Int(i) => (CqlValue::Int(*i), CqlType::Int),
            V::Big(i) => (CqlValue::Bigint(*i), CqlType::Bigint),
            V::Text(s) => (CqlValue::Text(s.clone()), CqlType::Text),
            V::IntList(l) => (
                CqlValue::List(l.iter().map(|x| CqlValue::Int(*x)).collect()),
                CqlType::List(Box::new(CqlType::Int)),
            ),
            V::TextIntMap(m) => {
                let sorted: BTreeMap<&String, i32> = m.iter().map(|(k, v)| (k, *v)).collect();
                (
                    CqlValue::Map(
                        sorted
                            .into_iter()
                            .map(|(k, v)| (CqlValue::Text(k.clone()), CqlValue::Int(v)))
                            .collect(),
                    ),
                    CqlType::Map(Box::new(CqlType::Text), Box::new(CqlType::Int)),
                )
            }
            V::TextSet(s) => {
                let mut s = s.clone();
                s.sort();
                s.dedup();
                (
                    CqlValue::Set(s.into_iter().map(CqlValue::Text).collect()),
                    CqlType::Set(Box::new(CqlType::Text)),
                )
            }
            V::Null => return None,
        })
    }

    fn bytes(&self) -> Option<Vec<u8>> {
        self.cql()
            .map(|(v, t)| serialize(&v, &t).expect("serialize bound value"))
    }

    fn literal(&self) -> String {
        match self.cql() {
            None => "null".into(),
            Some((v, _)) => fmt_val(&v),
        }
    }
}

/// A value as CQL literal text (also how results are shown in failure messages).
fn fmt_val(v: &CqlValue) -> String {
    match v {
        CqlValue::Int(i) => i.to_string(),
        CqlValue::Bigint(i) => i.to_string(),
        CqlValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
        CqlValue::List(l) => format!("[{}]", l.iter().map(fmt_val).collect::<Vec<_>>().join(", ")),
        CqlValue::Set(l) => format!(
            "{{{}}}",
            l.iter().map(fmt_val).collect::<Vec<_>>().join(", ")
        ),
        CqlValue::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", fmt_val(k), fmt_val(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// Replaces each `?` of `template` with the next value's literal.
fn render(template: &str, vals: &[V]) -> String {
    let mut out = String::new();
    let mut it = vals.iter();
    for ch in template.chars() {
        if ch == '?' {
            out.push_str(&it.next().expect("value for marker").literal());
        } else {
            out.push(ch);
        }
    }
    assert!(
        it.next().is_none(),
        "more values than markers in {template}"
    );
    out
}

fn int_bytes(i: i32) -> Vec<u8> {
    i.to_be_bytes().to_vec()
}

fn token_of(p: i32) -> Token {
    Token::of(&int_bytes(p))
}

// ---------------------------------------------------------------------------
// The model: Cassandra's cells and deletions, resolved at read time.

#[derive(Clone, Debug, PartialEq)]
enum CellVal {
    /// Value bytes and expiry (local expiration second) for TTL'd cells.
    Live(Vec<u8>, Option<i64>),
    /// A tombstone with its local deletion time.
    Tomb(i64),
}

#[derive(Clone, Debug, PartialEq)]
struct Cell {
    ts: i64,
    v: CellVal,
}

impl Cell {
    fn live(ts: i64, bytes: Vec<u8>, expiry: Option<i64>) -> Cell {
        Cell {
            ts,
            v: CellVal::Live(bytes, expiry),
        }
    }
    fn tomb(ts: i64, now: i64) -> Cell {
        Cell {
            ts,
            v: CellVal::Tomb(now),
        }
    }
    fn ldt(&self) -> Option<i64> {
        match &self.v {
            CellVal::Live(_, e) => *e,
            CellVal::Tomb(l) => Some(*l),
        }
    }
    fn value(&self) -> &[u8] {
        match &self.v {
            CellVal::Live(b, _) => b,
            CellVal::Tomb(_) => &[],
        }
    }
    /// The value if the cell is live at `now` and not shadowed by a deletion at `del`.
    fn live_at(&self, now: i64, del: i64) -> Option<&[u8]> {
        if self.ts <= del {
            return None;
        }
        match &self.v {
            CellVal::Live(b, None) => Some(b),
            CellVal::Live(b, Some(e)) if now < *e => Some(b),
            _ => None,
        }
    }
    fn ttl_left(&self, now: i64) -> Option<i64> {
        match &self.v {
            CellVal::Live(_, Some(e)) => Some(*e - now),
            _ => None,
        }
    }
}

/// Cassandra's `Cells.resolveRegular`.
fn reconcile(a: Cell, b: Cell) -> Cell {
    if a.ts != b.ts {
        return if a.ts > b.ts { a } else { b };
    }
    let (la, lb) = (a.ldt(), b.ldt());
    if la.is_some() || lb.is_some() {
        if la.is_some() != lb.is_some() {
            return if la.is_some() { a } else { b };
        }
        let (ta, tb) = (
            matches!(a.v, CellVal::Tomb(_)),
            matches!(b.v, CellVal::Tomb(_)),
        );
        if ta != tb {
            return if ta { a } else { b };
        }
        if la != lb {
            return if la > lb { a } else { b };
        }
    }
    if a.value() >= b.value() {
        a
    } else {
        b
    }
}

fn merge_cell(slot: &mut Option<Cell>, c: Cell) {
    *slot = Some(match slot.take() {
        None => c,
        Some(old) => reconcile(old, c),
    });
}

/// A row's primary key liveness (the INSERT row marker).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Liveness {
    ts: i64,
    expiry: Option<i64>,
}

/// Cassandra's `LivenessInfo.supersedes`.
fn supersedes(a: &Liveness, b: &Liveness) -> bool {
    if a.ts != b.ts {
        return a.ts > b.ts;
    }
    if a.expiry.is_some() == b.expiry.is_some() {
        return a.expiry > b.expiry;
    }
    a.expiry.is_some()
}

#[derive(Clone, Debug, Default)]
struct RowM {
    marker: Option<Liveness>,
    del: Option<i64>,
    v1: Option<Cell>,
    v2: Option<Cell>,
    l_del: Option<i64>,
    /// List elements by element id (execution order, like Cassandra's time UUIDs).
    l: BTreeMap<u64, Option<Cell>>,
    m_del: Option<i64>,
    m: BTreeMap<String, Option<Cell>>,
}

#[derive(Clone, Debug)]
struct RangeDel {
    c1: (Bound<i32>, Bound<i32>),
    c2: (Bound<String>, Bound<String>),
    ts: i64,
}

fn in_bounds<T: Ord>(x: &T, b: &(Bound<T>, Bound<T>)) -> bool {
    let lo = match &b.0 {
        Bound::Unbounded => true,
        Bound::Included(l) => x >= l,
        Bound::Excluded(l) => x > l,
    };
    let hi = match &b.1 {
        Bound::Unbounded => true,
        Bound::Included(h) => x <= h,
        Bound::Excluded(h) => x < h,
    };
    lo && hi
}

impl RangeDel {
    fn covers(&self, c1: i32, c2: &String) -> bool {
        in_bounds(&c1, &self.c1) && in_bounds(c2, &self.c2)
    }
}

#[derive(Clone, Debug, Default)]
struct Part {
    del: Option<i64>,
    ranges: Vec<RangeDel>,
    s: Option<Cell>,
    rows: BTreeMap<(i32, String), RowM>,
}

/// A result row in `COLS` order, values as literal text (`None` = null).
type Out = Vec<Option<String>>;

/// One live row of the model.
struct LiveRow {
    c1: i32,
    c2: String,
    v1: Option<Cell>,
    v2: Option<Cell>,
    l: Vec<i32>,
    m: Vec<(String, i32)>,
}

#[derive(Default)]
struct Model {
    parts: BTreeMap<i32, Part>,
    /// Next list element id (list appends take increasing ids in execution order).
    list_seq: u64,
}

fn max_del(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn dec_int(b: &[u8]) -> i32 {
    i32::from_be_bytes(b.try_into().expect("4-byte int"))
}

impl Model {
    fn part(&mut self, p: i32) -> &mut Part {
        self.parts.entry(p).or_default()
    }
    fn row(&mut self, p: i32, ck: &(i32, String)) -> &mut RowM {
        self.part(p).rows.entry(ck.clone()).or_default()
    }

    fn marker(&mut self, p: i32, ck: &(i32, String), l: Liveness) {
        let r = self.row(p, ck);
        match &r.marker {
            Some(old) if !supersedes(&l, old) => {}
            _ => r.marker = Some(l),
        }
    }

    fn set_regular(&mut self, p: i32, ck: &(i32, String), col: &str, c: Cell) {
        let r = self.row(p, ck);
        match col {
            "v1" => merge_cell(&mut r.v1, c),
            "v2" => merge_cell(&mut r.v2, c),
            other => panic!("not a simple regular column: {other}"),
        }
    }

    fn set_static(&mut self, p: i32, c: Cell) {
        merge_cell(&mut self.part(p).s, c);
    }

    fn del_list(&mut self, p: i32, ck: &(i32, String), ts: i64) {
        let r = self.row(p, ck);
        r.l_del = max_del(r.l_del, Some(ts));
    }

    fn del_map(&mut self, p: i32, ck: &(i32, String), ts: i64) {
        let r = self.row(p, ck);
        r.m_del = max_del(r.m_del, Some(ts));
    }

    fn append(&mut self, p: i32, ck: &(i32, String), items: &[i32], ts: i64, expiry: Option<i64>) {
        for x in items {
            let id = self.list_seq;
            self.list_seq += 1;
            let r = self.row(p, ck);
            merge_cell(
                r.l.entry(id).or_default(),
                Cell::live(ts, int_bytes(*x), expiry),
            );
        }
    }

    fn list_cell(&mut self, p: i32, ck: &(i32, String), id: u64, c: Cell) {
        let r = self.row(p, ck);
        merge_cell(r.l.entry(id).or_default(), c);
    }

    fn map_cell(&mut self, p: i32, ck: &(i32, String), k: &str, c: Cell) {
        let r = self.row(p, ck);
        merge_cell(r.m.entry(k.to_string()).or_default(), c);
    }

    fn del_row(&mut self, p: i32, ck: &(i32, String), ts: i64) {
        let r = self.row(p, ck);
        r.del = max_del(r.del, Some(ts));
    }

    fn del_range(&mut self, p: i32, rd: RangeDel) {
        self.part(p).ranges.push(rd);
    }

    fn del_partition(&mut self, p: i32, ts: i64) {
        let part = self.part(p);
        part.del = max_del(part.del, Some(ts));
    }

    /// The deletion time covering row `ck` (partition, range and row deletions).
    fn row_deletion(part: &Part, ck: &(i32, String), r: &RowM) -> i64 {
        let mut d = max_del(part.del, r.del);
        for rd in &part.ranges {
            if rd.covers(ck.0, &ck.1) {
                d = max_del(d, Some(rd.ts));
            }
        }
        d.unwrap_or(i64::MIN)
    }

    /// Live list elements (id, value) of a row, in list order.
    fn live_list(&self, p: i32, ck: &(i32, String), now: i64) -> Vec<(u64, i32)> {
        let Some(part) = self.parts.get(&p) else {
            return Vec::new();
        };
        let Some(r) = part.rows.get(ck) else {
            return Vec::new();
        };
        let d = Self::row_deletion(part, ck, r).max(r.l_del.unwrap_or(i64::MIN));
        r.l.iter()
            .filter_map(|(id, c)| {
                c.as_ref()
                    .and_then(|c| c.live_at(now, d))
                    .map(|b| (*id, dec_int(b)))
            })
            .collect()
    }

    /// Live rows of partition `p` in clustering order (c1 DESC, c2 ASC).
    fn live_rows(&self, p: i32, now: i64) -> Vec<LiveRow> {
        let Some(part) = self.parts.get(&p) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (ck, r) in &part.rows {
            let d = Self::row_deletion(part, ck, r);
            let marker = r
                .marker
                .is_some_and(|m| m.ts > d && m.expiry.is_none_or(|e| now < e));
            let live = |c: &Option<Cell>, d: i64| {
                c.as_ref().filter(|c| c.live_at(now, d).is_some()).cloned()
            };
            let v1 = live(&r.v1, d);
            let v2 = live(&r.v2, d);
            let ld = d.max(r.l_del.unwrap_or(i64::MIN));
            let l: Vec<i32> =
                r.l.values()
                    .filter_map(|c| c.as_ref().and_then(|c| c.live_at(now, ld)).map(dec_int))
                    .collect();
            let md = d.max(r.m_del.unwrap_or(i64::MIN));
            let m: Vec<(String, i32)> =
                r.m.iter()
                    .filter_map(|(k, c)| {
                        c.as_ref()
                            .and_then(|c| c.live_at(now, md))
                            .map(|b| (k.clone(), dec_int(b)))
                    })
                    .collect();
            if marker || v1.is_some() || v2.is_some() || !l.is_empty() || !m.is_empty() {
                out.push(LiveRow {
                    c1: ck.0,
                    c2: ck.1.clone(),
                    v1,
                    v2,
                    l,
                    m,
                });
            }
        }
        out.sort_by(|a, b| b.c1.cmp(&a.c1).then_with(|| a.c2.cmp(&b.c2)));
        out
    }

    fn live_static(&self, p: i32, now: i64) -> Option<Cell> {
        let part = self.parts.get(&p)?;
        part.s
            .as_ref()
            .filter(|c| c.live_at(now, part.del.unwrap_or(i64::MIN)).is_some())
            .cloned()
    }

    fn out_row(p: i32, r: Option<&LiveRow>, s: &Option<Cell>) -> Out {
        let int = |c: &Option<Cell>| c.as_ref().map(|c| dec_int(c.value()).to_string());
        let txt = |c: &Option<Cell>| {
            c.as_ref().map(|c| {
                fmt_val(&CqlValue::Text(
                    String::from_utf8(c.value().to_vec()).expect("utf8"),
                ))
            })
        };
        match r {
            None => vec![
                Some(p.to_string()),
                None,
                None,
                int(s),
                None,
                None,
                None,
                None,
            ],
            Some(r) => vec![
                Some(p.to_string()),
                Some(r.c1.to_string()),
                Some(fmt_val(&CqlValue::Text(r.c2.clone()))),
                int(s),
                (!r.l.is_empty()).then(|| V::IntList(r.l.clone()).literal()),
                (!r.m.is_empty()).then(|| V::TextIntMap(r.m.clone()).literal()),
                int(&r.v1),
                txt(&r.v2),
            ],
        }
    }

    /// `SELECT * FROM ks.t WHERE p = ?`: live rows, or the static-only row.
    fn select_partition(&self, p: i32, now: i64) -> Vec<Out> {
        let rows = self.live_rows(p, now);
        let s = self.live_static(p, now);
        if rows.is_empty() {
            return if s.is_some() {
                vec![Self::out_row(p, None, &s)]
            } else {
                Vec::new()
            };
        }
        rows.iter().map(|r| Self::out_row(p, Some(r), &s)).collect()
    }

    /// Partitions in token order.
    fn ring() -> Vec<i32> {
        let mut ps: Vec<i32> = (0..PARTITIONS).collect();
        ps.sort_by_key(|p| (token_of(*p), int_bytes(*p)));
        ps
    }

    fn select_all(&self, now: i64) -> Vec<Out> {
        Self::ring()
            .into_iter()
            .flat_map(|p| self.select_partition(p, now))
            .collect()
    }

    /// A clustering slice: only live rows (no static-only row), in `reversed` order
    /// if asked.
    fn select_slice(&self, p: i32, slice: &RangeDel, reversed: bool, now: i64) -> Vec<Out> {
        let s = self.live_static(p, now);
        let mut rows: Vec<Out> = self
            .live_rows(p, now)
            .iter()
            .filter(|r| slice.covers(r.c1, &r.c2))
            .map(|r| Self::out_row(p, Some(r), &s))
            .collect();
        if reversed {
            rows.reverse();
        }
        rows
    }

    /// `SELECT c1, c2, writetime(v1), ttl(v1), writetime(v2), writetime(s), ttl(s)`.
    fn select_times(&self, p: i32, now: i64) -> Vec<Out> {
        let rows = self.live_rows(p, now);
        let s = self.live_static(p, now);
        let wt = |c: &Option<Cell>| c.as_ref().map(|c| c.ts.to_string());
        let ttl = |c: &Option<Cell>| {
            c.as_ref()
                .and_then(|c| c.ttl_left(now))
                .map(|t| t.to_string())
        };
        if rows.is_empty() {
            return if s.is_some() {
                vec![vec![None, None, None, None, None, wt(&s), ttl(&s)]]
            } else {
                Vec::new()
            };
        }
        rows.iter()
            .map(|r| {
                vec![
                    Some(r.c1.to_string()),
                    Some(fmt_val(&CqlValue::Text(r.c2.clone()))),
                    wt(&r.v1),
                    ttl(&r.v1),
                    wt(&r.v2),
                    wt(&s),
                    ttl(&s),
                ]
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The node under test.

struct Node {
    storage: Arc<Storage>,
    schema: Arc<SchemaManager>,
    qp: QueryProcessor,
    session: Session,
}

fn open_node(dir: &Path, clock: &Arc<ManualClock>) -> Node {
    let mut cfg = StorageConfig::new(dir.join("storage"));
    cfg.background = false;
    let (storage, _) = Storage::open(cfg).expect("open storage");
    let storage = Arc::new(storage);
    let schema = Arc::new(
        SchemaManager::open_with_clock(storage.clone(), &dir.join("schema"), clock.clone())
            .expect("open schema"),
    );
    let qp = QueryProcessor::new(storage.clone(), schema.clone(), clock.clone());
    Node {
        storage,
        schema,
        qp,
        session: Session::default(),
    }
}

/// How a write gets its timestamp.
#[derive(Clone, Copy, Debug)]
enum TsMode {
    /// The node's timestamp generator.
    Server,
    /// `USING TIMESTAMP`.
    Using(i64),
    /// The protocol's client-supplied timestamp.
    Client(i64),
}

/// A model effect of one statement, given its timestamp and the clock second.
type Effect = Box<dyn Fn(&mut Model, i64, i64)>;

/// A generated modification statement.
struct Stmt {
    /// CQL with `?` markers.
    template: String,
    vals: Vec<V>,
    part: i32,
    effect: Effect,
}

struct Harness {
    seed: u64,
    rng: Rng,
    clock: Arc<ManualClock>,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
    node: Option<Node>,
    /// The node's timestamp generator, mirrored.
    gen_last: i64,
    model: Model,
    /// Replay log: (partition, line); `None` for node-wide events.
    log: Vec<(Vec<i32>, String)>,
    op: usize,
    recent_ts: Vec<i64>,
    /// Counters for the report.
    stats: BTreeMap<&'static str, usize>,
    /// The last partition and clustering generated, and whether to reuse them.
    hot: (i32, (i32, String)),
    reuse_key: bool,
}

fn rows_of(r: ResultMessage) -> Rows {
    match r {
        ResultMessage::Rows(r) => r,
        other => panic!("not rows: {other:?}"),
    }
}

fn fmt_rows(rows: &[Out]) -> String {
    if rows.is_empty() {
        return "    (no rows)\n".into();
    }
    rows.iter()
        .map(|r| {
            format!(
                "    ({})\n",
                r.iter()
                    .map(|v| v.clone().unwrap_or_else(|| "null".into()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}

impl Harness {
    fn new(seed: u64) -> Harness {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        // The storage engine's compaction uses the system clock (gc grace, expiry). Run
        // the manual clock a day ahead of it, so nothing the query layer still considers
        // live is ever expired or purged by a compaction.
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_secs() as i64;
        let clock = ManualClock::new((wall + 86_400) * 1_000_000);
        let node = open_node(&dir, &clock);
        let mut h = Harness {
            seed,
            rng: Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5eed),
            clock,
            dir,
            _tmp: tmp,
            node: Some(node),
            gen_last: i64::MIN,
            model: Model::default(),
            log: Vec::new(),
            op: 0,
            recent_ts: Vec::new(),
            stats: BTreeMap::new(),
            hot: (0, (0, String::new())),
            reuse_key: false,
        };
        h.ddl("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        h.ddl(
            "CREATE TABLE ks.t (p int, c1 int, c2 text, s int STATIC, v1 int, v2 text, \
               l list<int>, m map<text, int>, PRIMARY KEY (p, c1, c2)) \
               WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)",
        );
        h
    }

    fn node(&mut self) -> &mut Node {
        self.node.as_mut().expect("node is open")
    }

    fn now_s(&self) -> i64 {
        self.clock.now_seconds()
    }

    fn count(&mut self, what: &'static str) {
        *self.stats.entry(what).or_default() += 1;
    }

    /// Executes `text` with `values`, mirroring the node's timestamp generator.
    /// Returns the result and the server-side default timestamp it used.
    fn exec(
        &mut self,
        text: &str,
        values: Vec<Option<Vec<u8>>>,
        page_size: Option<usize>,
        paging_state: Option<Vec<u8>>,
        client_ts: Option<i64>,
    ) -> (Result<ResultMessage, CqlError>, i64) {
        let opts = QueryOptions {
            values,
            page_size,
            paging_state,
            timestamp: client_ts,
            ..QueryOptions::default()
        };
        let default_ts = match client_ts {
            Some(t) => t,
            None => {
                self.gen_last = self.clock.now_micros().max(self.gen_last.saturating_add(1));
                self.gen_last
            }
        };
        let node = self.node();
        let r = node.qp.execute_text(text, &opts, &mut node.session);
        (r, default_ts)
    }

    fn ddl(&mut self, cql: &str) {
        let (r, _) = self.exec(cql, Vec::new(), None, None, None);
        r.unwrap_or_else(|e| panic!("{cql}: {e}"));
    }

    fn fail(&self, parts: &[i32], what: &str) -> ! {
        let mut msg = format!(
            "\nMODEL MISMATCH seed={} (replay: SIBYL_SEED={} cargo test -p sibyl --test cql_model -- --nocapture)\n\
             after op #{}; clock now={}s\n{what}\n",
            self.seed, self.seed, self.op, self.now_s()
        );
        msg.push_str(&format!(
            "history of partition(s) {parts:?} (with flush/compact/restart/clock events):\n"
        ));
        let lines: Vec<&String> = self
            .log
            .iter()
            .filter(|(ps, _)| ps.is_empty() || ps.iter().any(|p| parts.contains(p)))
            .map(|(_, l)| l)
            .collect();
        let skip = lines.len().saturating_sub(400);
        if skip > 0 {
            msg.push_str(&format!("  ... {skip} earlier lines omitted\n"));
        }
        for l in &lines[skip..] {
            msg.push_str("  ");
            msg.push_str(l);
            msg.push('\n');
        }
        panic!("{msg}");
    }

    // -- timestamps and keys -------------------------------------------------

    fn ts_mode(&mut self) -> TsMode {
        let roll = self.rng.below(100);
        if roll >= 22 || self.recent_ts.is_empty() {
            return TsMode::Server;
        }
        let latest = self.gen_last.max(*self.recent_ts.last().expect("recent"));
        let ts = match self.rng.below(3) {
            // A tie with an earlier write.
            0 => {
                let n = self.recent_ts.len() as u64;
                let i = if self.rng.chance(50) {
                    n - 1
                } else {
                    self.rng.below(n)
                };
                self.recent_ts[i as usize]
            }
            // Older than recent data.
            1 => latest - self.rng.range(1, 20_000),
            // A little newer.
            _ => latest + self.rng.range(1, 300),
        };
        if roll < 17 {
            TsMode::Using(ts)
        } else {
            TsMode::Client(ts)
        }
    }

    /// A partition: often the previous statement's, so timestamp ties meet.
    fn p(&mut self) -> i32 {
        if self.reuse_key {
            return self.hot.0;
        }
        self.hot.0 = self.rng.range(0, PARTITIONS as i64) as i32;
        self.hot.0
    }
    /// A clustering: often the previous statement's.
    fn ck(&mut self) -> (i32, String) {
        if self.reuse_key {
            return self.hot.1.clone();
        }
        self.hot.1 = (
            self.rng.range(0, C1S as i64) as i32,
            self.rng.pick(C2S).to_string(),
        );
        self.hot.1.clone()
    }
    fn ttl(&mut self, pct: u64) -> Option<i64> {
        self.rng.chance(pct).then(|| self.rng.range(1, 16))
    }
    fn v1(&mut self) -> V {
        if self.rng.chance(8) {
            V::Null
        } else {
            V::Int(self.rng.range(-3, 40) as i32)
        }
    }
    fn v2(&mut self) -> V {
        if self.rng.chance(8) {
            V::Null
        } else {
            V::text(self.rng.pick(V2S))
        }
    }
    fn int_list(&mut self) -> Vec<i32> {
        let n = self.rng.below(4);
        (0..n).map(|_| self.rng.range(0, 10) as i32).collect()
    }
    fn text_map(&mut self) -> Vec<(String, i32)> {
        let n = self.rng.below(3) + 1;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let k = self.rng.pick(MAP_KEYS).to_string();
            m.insert(k, self.rng.range(0, 100) as i32);
        }
        m.into_iter().collect()
    }

    // -- statement generators -----------------------------------------------

    /// `USING TTL ? AND TIMESTAMP ?` clause (INSERT/UPDATE position), values appended.
    fn using(ttl: Option<i64>, ts: TsMode, vals: &mut Vec<V>) -> String {
        let mut parts = Vec::new();
        if let Some(t) = ttl {
            parts.push("TTL ?");
            vals.push(V::Int(t as i32));
        }
        if let TsMode::Using(t) = ts {
            parts.push("TIMESTAMP ?");
            vals.push(V::Big(t));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" USING {}", parts.join(" AND "))
        }
    }

    fn gen_insert(&mut self, ts: TsMode, in_batch: bool) -> Stmt {
        let p = self.p();
        let ttl = self.ttl(25);
        // Static-only insert: no clustering, no row marker.
        if self.rng.chance(10) {
            let s = self.v1();
            let mut vals = vec![V::Int(p), s.clone()];
            let u = Self::using(ttl, if in_batch { TsMode::Server } else { ts }, &mut vals);
            let template = format!("INSERT INTO ks.t (p, s) VALUES (?, ?){u}");
            return Stmt {
                template,
                vals,
                part: p,
                effect: Box::new(move |m, ts, now| {
                    m.set_static(p, value_cell(&s, ts, now, ttl));
                }),
            };
        }
        let ck = self.ck();
        let mut cols = vec!["p", "c1", "c2"];
        let mut vals = vec![V::Int(p), V::Int(ck.0), V::text(&ck.1)];
        let (s, v1, v2, l, mm) = (
            self.rng.chance(25).then(|| self.v1()),
            self.rng.chance(60).then(|| self.v1()),
            self.rng.chance(50).then(|| self.v2()),
            self.rng.chance(30).then(|| {
                if self.rng.chance(10) {
                    V::Null
                } else {
                    V::IntList(self.int_list())
                }
            }),
            self.rng.chance(30).then(|| {
                if self.rng.chance(10) {
                    V::Null
                } else {
                    V::TextIntMap(self.text_map())
                }
            }),
        );
        for (name, v) in [("s", &s), ("v1", &v1), ("v2", &v2), ("l", &l), ("m", &mm)] {
            if let Some(v) = v {
                cols.push(name);
                vals.push(v.clone());
            }
        }
        let marks = vec!["?"; cols.len()].join(", ");
        let u = Self::using(ttl, if in_batch { TsMode::Server } else { ts }, &mut vals);
        let template = format!("INSERT INTO ks.t ({}) VALUES ({marks}){u}", cols.join(", "));
        Stmt {
            template,
            vals,
            part: p,
            effect: Box::new(move |m, ts, now| {
                let expiry = ttl.map(|t| now + t);
                m.marker(p, &ck, Liveness { ts, expiry });
                if let Some(s) = &s {
                    m.set_static(p, value_cell(s, ts, now, ttl));
                }
                if let Some(v) = &v1 {
                    m.set_regular(p, &ck, "v1", value_cell(v, ts, now, ttl));
                }
                if let Some(v) = &v2 {
                    m.set_regular(p, &ck, "v2", value_cell(v, ts, now, ttl));
                }
                if let Some(v) = &l {
                    m.del_list(p, &ck, ts - 1);
                    if let V::IntList(items) = v {
                        m.append(p, &ck, items, ts, expiry);
                    }
                }
                if let Some(v) = &mm {
                    m.del_map(p, &ck, ts - 1);
                    if let V::TextIntMap(entries) = v {
                        for (k, x) in entries {
                            m.map_cell(p, &ck, k, Cell::live(ts, int_bytes(*x), expiry));
                        }
                    }
                }
            }),
        }
    }

    fn gen_update(&mut self, ts: TsMode, in_batch: bool) -> Stmt {
        let p = self.p();
        let ttl = self.ttl(20);
        // Static-only update.
        if self.rng.chance(15) {
            let s = self.v1();
            let mut vals = Vec::new();
            let u = Self::using(ttl, if in_batch { TsMode::Server } else { ts }, &mut vals);
            vals.push(s.clone());
            vals.push(V::Int(p));
            return Stmt {
                template: format!("UPDATE ks.t{u} SET s = ? WHERE p = ?"),
                vals,
                part: p,
                effect: Box::new(move |m, ts, now| m.set_static(p, value_cell(&s, ts, now, ttl))),
            };
        }
        let ck = self.ck();
        let mut vals = Vec::new();
        let u = Self::using(ttl, if in_batch { TsMode::Server } else { ts }, &mut vals);
        let mut sets: Vec<String> = Vec::new();
        let mut effects: Vec<Effect> = Vec::new();
        while sets.is_empty() {
            if self.rng.chance(40) {
                let v = self.v1();
                sets.push("v1 = ?".into());
                vals.push(v.clone());
                let ck = ck.clone();
                effects.push(Box::new(move |m, ts, now| {
                    m.set_regular(p, &ck, "v1", value_cell(&v, ts, now, ttl))
                }));
            }
            if self.rng.chance(30) {
                let v = self.v2();
                sets.push("v2 = ?".into());
                vals.push(v.clone());
                let ck = ck.clone();
                effects.push(Box::new(move |m, ts, now| {
                    m.set_regular(p, &ck, "v2", value_cell(&v, ts, now, ttl))
                }));
            }
            if self.rng.chance(12) {
                let v = self.v1();
                sets.push("s = ?".into());
                vals.push(v.clone());
                effects.push(Box::new(move |m, ts, now| {
                    m.set_static(p, value_cell(&v, ts, now, ttl))
                }));
            }
            if self.rng.chance(25) {
                let items = self.int_list();
                let ck = ck.clone();
                if self.rng.chance(25) {
                    sets.push("l = ?".into());
                    let null = self.rng.chance(15);
                    vals.push(if null {
                        V::Null
                    } else {
                        V::IntList(items.clone())
                    });
                    let items = if null { Vec::new() } else { items };
                    effects.push(Box::new(move |m, ts, now| {
                        m.del_list(p, &ck, ts - 1);
                        m.append(p, &ck, &items, ts, ttl.map(|t| now + t));
                    }));
                } else {
                    sets.push("l = l + ?".into());
                    vals.push(V::IntList(items.clone()));
                    effects.push(Box::new(move |m, ts, now| {
                        m.append(p, &ck, &items, ts, ttl.map(|t| now + t));
                    }));
                }
            }
            if self.rng.chance(25) {
                let ck = ck.clone();
                match self.rng.below(4) {
                    0 => {
                        let k = self.rng.pick(MAP_KEYS).to_string();
                        let x = self.rng.range(0, 100) as i32;
                        sets.push("m[?] = ?".into());
                        vals.push(V::Text(k.clone()));
                        vals.push(V::Int(x));
                        effects.push(Box::new(move |m, ts, now| {
                            m.map_cell(
                                p,
                                &ck,
                                &k,
                                Cell::live(ts, int_bytes(x), ttl.map(|t| now + t)),
                            )
                        }));
                    }
                    1 => {
                        let entries = self.text_map();
                        sets.push("m = m + ?".into());
                        vals.push(V::TextIntMap(entries.clone()));
                        effects.push(Box::new(move |m, ts, now| {
                            for (k, x) in &entries {
                                m.map_cell(
                                    p,
                                    &ck,
                                    k,
                                    Cell::live(ts, int_bytes(*x), ttl.map(|t| now + t)),
                                );
                            }
                        }));
                    }
                    2 => {
                        let keys: Vec<String> = (0..self.rng.below(2) + 1)
                            .map(|_| self.rng.pick(MAP_KEYS).to_string())
                            .collect();
                        sets.push("m = m - ?".into());
                        vals.push(V::TextSet(keys.clone()));
                        effects.push(Box::new(move |m, ts, now| {
                            for k in &keys {
                                m.map_cell(p, &ck, k, Cell::tomb(ts, now));
                            }
                        }));
                    }
                    _ => {
                        let null = self.rng.chance(15);
                        let entries = if null { Vec::new() } else { self.text_map() };
                        sets.push("m = ?".into());
                        vals.push(if null {
                            V::Null
                        } else {
                            V::TextIntMap(entries.clone())
                        });
                        effects.push(Box::new(move |m, ts, now| {
                            m.del_map(p, &ck, ts - 1);
                            for (k, x) in &entries {
                                m.map_cell(
                                    p,
                                    &ck,
                                    k,
                                    Cell::live(ts, int_bytes(*x), ttl.map(|t| now + t)),
                                );
                            }
                        }));
                    }
                }
            }
        }
        vals.extend([V::Int(p), V::Int(ck.0), V::text(&ck.1)]);
        Stmt {
            template: format!(
                "UPDATE ks.t{u} SET {} WHERE p = ? AND c1 = ? AND c2 = ?",
                sets.join(", ")
            ),
            vals,
            part: p,
            effect: Box::new(move |m, ts, now| {
                for e in &effects {
                    e(m, ts, now);
                }
            }),
        }
    }

    fn gen_delete(&mut self, ts: TsMode, in_batch: bool) -> Stmt {
        let p = self.p();
        let mut vals = Vec::new();
        let u = match ts {
            TsMode::Using(t) if !in_batch => {
                vals.push(V::Big(t));
                " USING TIMESTAMP ?".to_string()
            }
            _ => String::new(),
        };
        let kind = self.rng.below(100);
        if kind < 30 {
            // Columns of one row (or the static column).
            let ck = self.ck();
            let mut cols: Vec<String> = Vec::new();
            let mut effects: Vec<Effect> = Vec::new();
            let mut pre_vals = Vec::new();
            let static_only = self.rng.chance(10);
            while cols.is_empty() {
                if static_only || self.rng.chance(15) {
                    cols.push("s".into());
                    effects.push(Box::new(move |m, ts, now| {
                        m.set_static(p, Cell::tomb(ts, now))
                    }));
                }
                if static_only {
                    break;
                }
                for c in ["v1", "v2"] {
                    if self.rng.chance(35) {
                        cols.push(c.into());
                        let ck = ck.clone();
                        effects.push(Box::new(move |m, ts, now| {
                            m.set_regular(p, &ck, c, Cell::tomb(ts, now))
                        }));
                    }
                }
                if self.rng.chance(20) {
                    cols.push("l".into());
                    let ck = ck.clone();
                    effects.push(Box::new(move |m, ts, _| m.del_list(p, &ck, ts)));
                }
                if self.rng.chance(20) {
                    cols.push("m".into());
                    let ck = ck.clone();
                    effects.push(Box::new(move |m, ts, _| m.del_map(p, &ck, ts)));
                } else if self.rng.chance(20) {
                    let k = self.rng.pick(MAP_KEYS).to_string();
                    cols.push("m[?]".into());
                    pre_vals.push(V::Text(k.clone()));
                    let ck = ck.clone();
                    effects.push(Box::new(move |m, ts, now| {
                        m.map_cell(p, &ck, &k, Cell::tomb(ts, now))
                    }));
                }
            }
            let mut all = pre_vals;
            all.extend(vals);
            all.push(V::Int(p));
            let wher = if static_only {
                "p = ?".to_string()
            } else {
                all.extend([V::Int(ck.0), V::text(&ck.1)]);
                "p = ? AND c1 = ? AND c2 = ?".to_string()
            };
            return Stmt {
                template: format!("DELETE {} FROM ks.t{u} WHERE {wher}", cols.join(", ")),
                vals: all,
                part: p,
                effect: Box::new(move |m, ts, now| {
                    for e in &effects {
                        e(m, ts, now);
                    }
                }),
            };
        }
        vals.push(V::Int(p));
        if kind < 55 {
            let ck = self.ck();
            vals.extend([V::Int(ck.0), V::text(&ck.1)]);
            return Stmt {
                template: format!("DELETE FROM ks.t{u} WHERE p = ? AND c1 = ? AND c2 = ?"),
                vals,
                part: p,
                effect: Box::new(move |m, ts, _| m.del_row(p, &ck, ts)),
            };
        }
        if kind < 90 {
            let (wher, c1, c2) = self.gen_slice(&mut vals);
            return Stmt {
                template: format!("DELETE FROM ks.t{u} WHERE p = ?{wher}"),
                vals,
                part: p,
                effect: Box::new(move |m, ts, _| {
                    m.del_range(
                        p,
                        RangeDel {
                            c1,
                            c2: c2.clone(),
                            ts,
                        },
                    )
                }),
            };
        }
        Stmt {
            template: format!("DELETE FROM ks.t{u} WHERE p = ?"),
            vals,
            part: p,
            effect: Box::new(move |m, ts, _| m.del_partition(p, ts)),
        }
    }

    /// A random clustering slice: ` AND c1 ...` text (values appended) and its bounds.
    #[allow(clippy::type_complexity)]
    fn gen_slice(
        &mut self,
        vals: &mut Vec<V>,
    ) -> (
        String,
        (Bound<i32>, Bound<i32>),
        (Bound<String>, Bound<String>),
    ) {
        let mut text = String::new();
        let bound_i = |rng: &mut Rng, ops: &[&str], text: &mut String, vals: &mut Vec<V>| {
            let op = rng.pick(ops);
            let x = rng.range(-1, C1S as i64 + 1) as i32;
            text.push_str(&format!(" AND c1 {op} ?"));
            vals.push(V::Int(x));
            match op {
                ">" | "<" => Bound::Excluded(x),
                _ => Bound::Included(x),
            }
        };
        if self.rng.chance(35) {
            // c1 = x [AND c2 range]
            let x = self.rng.range(0, C1S as i64) as i32;
            text.push_str(" AND c1 = ?");
            vals.push(V::Int(x));
            let mut lo = Bound::Unbounded;
            let mut hi = Bound::Unbounded;
            let shape = self.rng.below(4);
            if shape == 0 || shape == 2 {
                let op = self.rng.pick(&[">", ">="]);
                let y = self.rng.pick(C2S).to_string();
                text.push_str(&format!(" AND c2 {op} ?"));
                vals.push(V::Text(y.clone()));
                lo = if op == ">" {
                    Bound::Excluded(y)
                } else {
                    Bound::Included(y)
                };
            }
            if shape == 1 || shape == 2 {
                let op = self.rng.pick(&["<", "<="]);
                let y = self.rng.pick(C2S).to_string();
                text.push_str(&format!(" AND c2 {op} ?"));
                vals.push(V::Text(y.clone()));
                hi = if op == "<" {
                    Bound::Excluded(y)
                } else {
                    Bound::Included(y)
                };
            }
            return (text, (Bound::Included(x), Bound::Included(x)), (lo, hi));
        }
        let shape = self.rng.below(3);
        let mut lo = Bound::Unbounded;
        let mut hi = Bound::Unbounded;
        if shape != 1 {
            lo = bound_i(&mut self.rng, &[">", ">="], &mut text, vals);
        }
        if shape != 0 {
            hi = bound_i(&mut self.rng, &["<", "<="], &mut text, vals);
        }
        (text, (lo, hi), (Bound::Unbounded, Bound::Unbounded))
    }

    /// List operations that read before writing (never in a batch).
    fn gen_list_rbw(&mut self, ts: TsMode) -> Option<Stmt> {
        let p = self.p();
        let ck = self.ck();
        let now = self.now_s();
        let list = self.model.live_list(p, &ck, now);
        let mut vals = Vec::new();
        let kind = self.rng.below(3);
        if kind == 2 {
            // l = l - [x, ...]: tombstones every element equal to one of them.
            let rm: Vec<i32> = (0..self.rng.below(2) + 1)
                .map(|_| self.rng.range(0, 10) as i32)
                .collect();
            let u = Self::using(None, ts, &mut vals);
            vals.extend([
                V::IntList(rm.clone()),
                V::Int(p),
                V::Int(ck.0),
                V::text(&ck.1),
            ]);
            return Some(Stmt {
                template: format!("UPDATE ks.t{u} SET l = l - ? WHERE p = ? AND c1 = ? AND c2 = ?"),
                vals,
                part: p,
                effect: Box::new(move |m, ts, now| {
                    for (id, x) in m.live_list(p, &ck, now) {
                        if rm.contains(&x) {
                            m.list_cell(p, &ck, id, Cell::tomb(ts, now));
                        }
                    }
                }),
            });
        }
        if list.is_empty() {
            return None;
        }
        let i = self.rng.below(list.len() as u64) as usize;
        if kind == 0 {
            let x = self.rng.range(0, 10) as i32;
            let ttl = self.ttl(15);
            let u = Self::using(ttl, ts, &mut vals);
            vals.extend([
                V::Int(i as i32),
                V::Int(x),
                V::Int(p),
                V::Int(ck.0),
                V::text(&ck.1),
            ]);
            Some(Stmt {
                template: format!("UPDATE ks.t{u} SET l[?] = ? WHERE p = ? AND c1 = ? AND c2 = ?"),
                vals,
                part: p,
                effect: Box::new(move |m, ts, now| {
                    let id = m.live_list(p, &ck, now)[i].0;
                    m.list_cell(
                        p,
                        &ck,
                        id,
                        Cell::live(ts, int_bytes(x), ttl.map(|t| now + t)),
                    );
                }),
            })
        } else {
            let mut vals = vec![V::Int(i as i32)];
            let u = match ts {
                TsMode::Using(t) => {
                    vals.push(V::Big(t));
                    " USING TIMESTAMP ?"
                }
                _ => "",
            };
            vals.extend([V::Int(p), V::Int(ck.0), V::text(&ck.1)]);
            Some(Stmt {
                template: format!("DELETE l[?] FROM ks.t{u} WHERE p = ? AND c1 = ? AND c2 = ?"),
                vals,
                part: p,
                effect: Box::new(move |m, ts, now| {
                    let id = m.live_list(p, &ck, now)[i].0;
                    m.list_cell(p, &ck, id, Cell::tomb(ts, now));
                }),
            })
        }
    }

    /// Runs statements (one, or several as an unlogged batch) and applies their effects.
    fn run_write(&mut self, stmts: Vec<Stmt>, ts: TsMode) {
        let batch = stmts.len() > 1;
        let (template, vals) = if batch {
            let mut vals = Vec::new();
            let mut text = "BEGIN UNLOGGED BATCH".to_string();
            if let TsMode::Using(t) = ts {
                text.push_str(" USING TIMESTAMP ?");
                vals.push(V::Big(t));
            }
            for s in &stmts {
                text.push(' ');
                text.push_str(&s.template);
                text.push(';');
                vals.extend(s.vals.iter().cloned());
            }
            text.push_str(" APPLY BATCH");
            (text, vals)
        } else {
            (stmts[0].template.clone(), stmts[0].vals.clone())
        };
        let literal = render(&template, &vals);
        let inline = self.rng.chance(30);
        let now = self.now_s();
        let client = match ts {
            TsMode::Client(t) => Some(t),
            _ => None,
        };
        let (r, default_ts) = if inline {
            self.exec(&literal, Vec::new(), None, None, client)
        } else {
            let bytes = vals.iter().map(V::bytes).collect();
            self.exec(&template, bytes, None, None, client)
        };
        let eff_ts = match ts {
            TsMode::Using(t) => t,
            _ => default_ts,
        };
        let mut parts: Vec<i32> = stmts.iter().map(|s| s.part).collect();
        parts.sort();
        parts.dedup();
        let how = match ts {
            TsMode::Server => format!("server ts={eff_ts}"),
            TsMode::Using(_) => "USING TIMESTAMP".to_string(),
            TsMode::Client(t) => format!("client ts={t}"),
        };
        let line = format!("#{} [now={now}s, {how}] {literal};", self.op);
        self.log.push((parts.clone(), line));
        if let Err(e) = r {
            self.fail(
                &parts,
                &format!("statement failed: {literal}\n  error: {e}"),
            );
        }
        for s in &stmts {
            (s.effect)(&mut self.model, eff_ts, now);
        }
        self.recent_ts.push(eff_ts);
        if self.recent_ts.len() > 16 {
            self.recent_ts.remove(0);
        }
    }

    // -- node events ----------------------------------------------------------

    fn table_id(&mut self) -> sibyl_storage::TableId {
        self.node()
            .schema
            .table("ks", "t")
            .expect("table ks.t")
            .storage_id()
    }

    fn flush(&mut self) {
        let id = self.table_id();
        let n = self.node();
        n.storage
            .table(id)
            .expect("storage table")
            .flush()
            .expect("flush");
        self.log
            .push((Vec::new(), format!("#{} -- flush", self.op)));
        self.count("flush");
    }

    fn compact(&mut self) {
        let id = self.table_id();
        let n = self.node();
        let t = n.storage.table(id).expect("storage table");
        t.flush().expect("flush");
        t.compact_major().expect("compact_major");
        self.log.push((
            Vec::new(),
            format!("#{} -- flush + major compaction", self.op),
        ));
        self.count("compact");
    }

    fn restart(&mut self) {
        self.node = None;
        self.node = Some(open_node(&self.dir, &self.clock));
        // A new processor starts a new timestamp generator.
        self.gen_last = i64::MIN;
        self.log
            .push((Vec::new(), format!("#{} -- restart node", self.op)));
        self.count("restart");
    }

    // -- reads ----------------------------------------------------------------

    fn page_size(&mut self) -> Option<usize> {
        if self.rng.chance(20) {
            None
        } else if self.rng.chance(50) {
            Some(self.rng.range(1, 6) as usize)
        } else {
            Some(self.rng.range(1, 51) as usize)
        }
    }

    /// Runs a SELECT to the end with a page size, returning rows as text in `cols` order.
    fn read(&mut self, template: &str, vals: &[V], cols: &[&str], parts: &[i32]) -> Vec<Out> {
        let page = self.page_size();
        let literal = render(template, vals);
        let inline = self.rng.chance(30);
        let mut state = None;
        let mut out = Vec::new();
        for _ in 0..100_000 {
            let bytes = if inline {
                Vec::new()
            } else {
                vals.iter().map(V::bytes).collect()
            };
            let text = if inline { &literal } else { template };
            let (r, _) = self.exec(text, bytes, page, state.take(), None);
            let rows = match r {
                Ok(ResultMessage::Rows(r)) => r,
                Ok(other) => self.fail(parts, &format!("{literal}: not rows: {other:?}")),
                Err(e) => self.fail(
                    parts,
                    &format!("query failed: {literal} (page size {page:?})\n  error: {e}"),
                ),
            };
            if let Some(ps) = page {
                if rows.rows.len() > ps {
                    self.fail(
                        parts,
                        &format!(
                            "{literal}: page of {} rows for page size {ps}",
                            rows.rows.len()
                        ),
                    );
                }
            }
            let idx: Vec<usize> = cols
                .iter()
                .map(|c| {
                    rows.columns
                        .iter()
                        .position(|x| x.name == *c)
                        .unwrap_or_else(|| panic!("{literal}: no column {c} in {:?}", rows.columns))
                })
                .collect();
            for row in &rows.rows {
                out.push(
                    idx.iter()
                        .map(|&i| {
                            row[i].as_ref().map(|b| {
                                fmt_val(&deserialize(b, &rows.columns[i].cql_type).expect("decode"))
                            })
                        })
                        .collect(),
                );
            }
            match rows.paging_state {
                Some(s) if page.is_some() => state = Some(s),
                Some(_) => self.fail(
                    parts,
                    &format!("{literal}: paging state without a page size"),
                ),
                None => return out,
            }
        }
        self.fail(parts, &format!("{literal}: paging did not finish"));
    }

    fn check(
        &mut self,
        query: &str,
        page_note: &str,
        parts: &[i32],
        want: Vec<Out>,
        got: Vec<Out>,
    ) {
        if want != got {
            // Narrow the history to the partitions whose rows differ (when rows name p).
            let mut parts = parts.to_vec();
            if parts.len() > 1 && query.contains(" p") && !query.contains("count(") {
                let diff: Vec<i32> = parts
                    .iter()
                    .copied()
                    .filter(|p| {
                        let ps = Some(p.to_string());
                        let w: Vec<&Out> = want.iter().filter(|r| r[0] == ps).collect();
                        let g: Vec<&Out> = got.iter().filter(|r| r[0] == ps).collect();
                        w != g
                    })
                    .collect();
                if !diff.is_empty() {
                    parts = diff;
                }
            }
            let parts = &parts[..];
            let shown = |rows: &[Out]| -> Vec<Out> {
                rows.iter()
                    .filter(|r| {
                        !query.contains(" p")
                            || query.contains("count(")
                            || r[0]
                                .as_ref()
                                .is_none_or(|x| parts.iter().any(|p| p.to_string() == *x))
                    })
                    .cloned()
                    .collect()
            };
            let (want_all, got_all) = (want.len(), got.len());
            let (want, got) = (shown(&want), shown(&got));
            self.fail(
                parts,
                &format!(
                    "query: {query}{page_note}\n  expected ({want_all} rows; shown: partition(s) {parts:?}):\n{}  got ({got_all} rows):\n{}",
                    fmt_rows(&want),
                    fmt_rows(&got)
                ),
            );
        }
    }

    /// Reads everything back several ways and compares with the model.
    fn verify(&mut self, full: bool) {
        self.count("verify");
        let now = self.now_s();
        // Every partition (or a few), one by one.
        let ps: Vec<i32> = if full {
            (0..PARTITIONS).collect()
        } else {
            (0..3).map(|_| self.p()).collect()
        };
        for p in ps {
            let q = "SELECT * FROM ks.t WHERE p = ?";
            let got = self.read(q, &[V::Int(p)], COLS, &[p]);
            let want = self.model.select_partition(p, now);
            self.check(&render(q, &[V::Int(p)]), "", &[p], want, got);
        }
        // The whole table, in token order.
        let q = "SELECT * FROM ks.t";
        let got = self.read(q, &[], COLS, &[]);
        let want = self.model.select_all(now);
        if want != got {
            // Name the partitions that differ.
            let diff: Vec<i32> = (0..PARTITIONS)
                .filter(|p| {
                    let ps = Some(p.to_string());
                    let w: Vec<&Out> = want.iter().filter(|r| r[0] == ps).collect();
                    let g: Vec<&Out> = got.iter().filter(|r| r[0] == ps).collect();
                    w != g
                })
                .collect();
            let note = format!(
                " (token order {:?}; partitions that differ: {diff:?})",
                Model::ring()
            );
            self.check(q, &note, &diff, want, got);
        }
        // A clustering slice, in clustering order or reversed.
        for _ in 0..2 {
            let p = self.p();
            let mut vals = vec![V::Int(p)];
            let (wher, c1, c2) = self.gen_slice(&mut vals);
            let reversed = self.rng.chance(30);
            let order = if reversed {
                " ORDER BY c1 ASC, c2 DESC"
            } else {
                ""
            };
            let q = format!("SELECT * FROM ks.t WHERE p = ?{wher}{order}");
            let got = self.read(&q, &vals, COLS, &[p]);
            let slice = RangeDel { c1, c2, ts: 0 };
            let want = self.model.select_slice(p, &slice, reversed, now);
            self.check(&render(&q, &vals), "", &[p], want, got);
        }
        // Counts.
        let q = "SELECT count(*) FROM ks.t";
        let got = self.read(q, &[], &["count"], &[]);
        let want = vec![vec![Some(self.model.select_all(now).len().to_string())]];
        let all: Vec<i32> = (0..PARTITIONS).collect();
        self.check(q, "", &all, want, got);
        let p = self.p();
        let q = "SELECT count(*) FROM ks.t WHERE p = ?";
        let got = self.read(q, &[V::Int(p)], &["count"], &[p]);
        let want = vec![vec![Some(
            self.model.select_partition(p, now).len().to_string(),
        )]];
        self.check(&render(q, &[V::Int(p)]), "", &[p], want, got);
        // DISTINCT partitions with their static value.
        let q = "SELECT DISTINCT p, s FROM ks.t";
        let got = self.read(q, &[], &["p", "s"], &[]);
        let want: Vec<Out> = Model::ring()
            .into_iter()
            .filter_map(|p| {
                let rows = self.model.select_partition(p, now);
                rows.first().map(|r| vec![r[0].clone(), r[3].clone()])
            })
            .collect();
        self.check(q, "", &all, want, got);
        // Write times and TTLs.
        let p = self.p();
        let q = "SELECT c1, c2, writetime(v1), ttl(v1), writetime(v2), writetime(s), ttl(s) \
                 FROM ks.t WHERE p = ?";
        let cols = [
            "c1",
            "c2",
            "writetime(v1)",
            "ttl(v1)",
            "writetime(v2)",
            "writetime(s)",
            "ttl(s)",
        ];
        let got = self.read(q, &[V::Int(p)], &cols, &[p]);
        let want = self.model.select_times(p, now);
        self.check(&render(q, &[V::Int(p)]), "", &[p], want, got);
    }

    // -- the driver -------------------------------------------------------------

    fn step(&mut self) {
        self.op += 1;
        // Time moves on: a little every op, sometimes whole seconds (TTLs expire).
        let us = self.rng.range(0, 3000);
        self.clock.set_micros(self.clock.now_micros() + us);
        if self.rng.chance(8) {
            let s = self.rng.range(1, 8);
            self.clock.advance_seconds(s);
            self.log.push((
                Vec::new(),
                format!("#{} -- clock +{s}s (now={}s)", self.op, self.now_s()),
            ));
        }
        self.reuse_key = self.rng.chance(35);
        let roll = self.rng.below(1000);
        match roll {
            0..=279 => {
                let ts = self.ts_mode();
                let s = self.gen_insert(ts, false);
                self.count("insert");
                self.run_write(vec![s], ts);
            }
            280..=539 => {
                let ts = self.ts_mode();
                let s = self.gen_update(ts, false);
                self.count("update");
                self.run_write(vec![s], ts);
            }
            540..=799 => {
                let ts = self.ts_mode();
                let s = self.gen_delete(ts, false);
                self.count("delete");
                self.run_write(vec![s], ts);
            }
            800..=869 => {
                let ts = self.ts_mode();
                if let Some(s) = self.gen_list_rbw(ts) {
                    self.count("list read-before-write");
                    self.run_write(vec![s], ts);
                }
            }
            870..=929 => {
                let ts = self.ts_mode();
                let n = self.rng.range(2, 5);
                let stmts: Vec<Stmt> = (0..n)
                    .map(|_| match self.rng.below(3) {
                        0 => self.gen_insert(ts, true),
                        1 => self.gen_update(ts, true),
                        _ => self.gen_delete(ts, true),
                    })
                    .collect();
                self.count("batch");
                self.run_write(stmts, ts);
            }
            930..=964 => self.flush(),
            965..=989 => self.compact(),
            _ => {
                if self.rng.chance(50) {
                    self.restart();
                } else {
                    self.flush();
                }
            }
        }
        if self.rng.chance(7) {
            self.verify(false);
        }
    }
}

/// A write's cell: the value (with its TTL) or, for null, a tombstone.
fn value_cell(v: &V, ts: i64, now: i64, ttl: Option<i64>) -> Cell {
    match v.bytes() {
        Some(b) => Cell::live(ts, b, ttl.map(|t| now + t)),
        None => Cell::tomb(ts, now),
    }
}

fn run_seed(seed: u64, ops: usize) -> BTreeMap<&'static str, usize> {
    let mut h = Harness::new(seed);
    for _ in 0..ops {
        h.step();
    }
    h.verify(true);
    // Everything again from sstables only, after a restart and a compaction.
    h.restart();
    h.verify(true);
    h.compact();
    h.verify(true);
    // And once every TTL has run out.
    h.clock.advance_seconds(20);
    h.log.push((Vec::new(), format!("#{} -- clock +20s", h.op)));
    h.verify(true);
    h.stats
}

fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn random_cql_writes_and_deletes_match_the_model() {
    // Checks random INSERT/UPDATE/DELETE/BATCH statements (TTLs, explicit and client
    // timestamps, statics, list/map operations, row/range/partition deletes), mixed
    // with flushes, major compactions and restarts, read back with random page sizes
    // (partition, full scan in token order, slices, count, DISTINCT, writetime/ttl),
    // return what Cassandra would.
    let ops = env_num("SIBYL_OPS").unwrap_or(400) as usize;
    let seeds: Vec<u64> = match env_num("SIBYL_SEED") {
        Some(s) => vec![s],
        None => (1..=env_num("SIBYL_SEEDS").unwrap_or(16)).collect(),
    };
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut totals: BTreeMap<&'static str, usize> = BTreeMap::new();
    for seed in &seeds {
        match catch_unwind(AssertUnwindSafe(|| run_seed(*seed, ops))) {
            Ok(stats) => {
                for (k, v) in stats {
                    *totals.entry(k).or_default() += v;
                }
            }
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                failures.push(format!("seed {seed}: {msg}"));
            }
        }
    }
    eprintln!(
        "cql_model: seeds {seeds:?} x {ops} ops in {:.1}s; {totals:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} seeds disagree with the model:\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
}

#[test]
fn select_star_lists_columns_in_cassandras_order() {
    // Checks `SELECT *` returns partition key, clustering columns, then static and
    // regular columns, each group in alphabetical order (what cqlsh shows).
    let h = Harness::new(0);
    let mut h = h;
    let (r, _) = h.exec("SELECT * FROM ks.t", Vec::new(), None, None, None);
    let names: Vec<String> = rows_of(r.expect("select"))
        .columns
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, COLS);
}
