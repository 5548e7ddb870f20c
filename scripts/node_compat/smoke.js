'use strict';
// Smoke test of the DataStax Node.js driver (cassandra-driver) against a Sibyl node.
//   usage: node smoke.js HOST PORT
// Prints `PASS name` or `FAIL name: reason` per check, then `N passed, M failed`;
// exits 1 on any failure. Bounded by GLOBAL_TIMEOUT_MS (and per-request timeouts).
// Run by scripts/node_compat.sh, which starts a fresh node for it.

const assert = require('assert');
const cassandra = require('cassandra-driver');
const { types } = cassandra;

const GLOBAL_TIMEOUT_MS = 60000;
const ROWS = 2000;
const FETCH_SIZE = 137; // not a divisor of ROWS: the last page is partial

const host = process.argv[2] || '127.0.0.1';
const port = parseInt(process.argv[3] || '9042', 10);
const ks = `node_compat_${process.pid}_${Date.now()}`;

let passed = 0;
let failed = 0;

function report() {
  console.log(`${passed} passed, ${failed} failed`);
}

const globalTimer = setTimeout(() => {
  failed++;
  console.log(`FAIL global timeout: not done within ${GLOBAL_TIMEOUT_MS / 1000}s`);
  report();
  process.exit(1);
}, GLOBAL_TIMEOUT_MS);
globalTimer.unref();

function describe(err) {
  if (!err) return String(err);
  // One line per check: a NoHostAvailableError's message embeds multi-line inner errors.
  const msg = String(err.message !== undefined ? err.message : err).split('\n')[0];
  let s = err.name ? `${err.name}: ${msg}` : msg;
  if (err.code !== undefined) s += ` (code 0x${Number(err.code).toString(16)})`;
  if (err.innerErrors) {
    const inner = Object.entries(err.innerErrors).map(([h, e]) => `${h}: ${e && e.message}`);
    if (inner.length) s += ` [${inner.join('; ')}]`;
  }
  return s;
}

// Runs one check; returns true if it passed. A check after a failed prerequisite
// is reported as failed without being run.
async function check(name, fn, { requires } = {}) {
  if (requires && !requires()) {
    failed++;
    console.log(`FAIL ${name}: skipped (a prerequisite failed)`);
    return false;
  }
  try {
    await fn();
    passed++;
    console.log(`PASS ${name}`);
    return true;
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${describe(err)}`);
    return false;
  }
}

async function main() {
  const client = new cassandra.Client({
    contactPoints: [host],
    protocolOptions: { port },
    localDataCenter: 'datacenter1',
    socketOptions: { connectTimeout: 10000, readTimeout: 15000 },
    queryOptions: { consistency: types.consistencies.localOne },
  });

  let connected = false;
  let haveKeyspace = false;
  let haveTable = false;
  let bulkLoaded = false;

  connected = await check('connect', async () => {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    assert.strictEqual(rs.rows.length, 1, 'system.local has one row');
  });
  const ifConnected = () => connected;

  haveKeyspace = await check('create keyspace', async () => {
    await client.execute(
      `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  }, { requires: ifConnected });

  haveTable = await check('create tables', async () => {
    await client.execute(
      `CREATE TABLE ${ks}.typed (k int PRIMARY KEY, t text, l list<text>, m map<text, int>, ` +
      'u uuid, ts timestamp, b boolean, bl blob)');
    await client.execute(`CREATE TABLE ${ks}.bulk (k int PRIMARY KEY, v text)`);
  }, { requires: () => haveKeyspace });

  const expected = [];
  for (let k = 1; k <= 3; k++) {
    expected.push({
      k,
      t: `text ${k} \u00e9\u4e2d`,
      l: [`a${k}`, `b${k}`, `c${k}`],
      m: { one: k, two: 2 * k },
      u: types.Uuid.random(),
      ts: new Date(Date.UTC(2024, 0, k, 12, 34, 56, 789)),
      b: k % 2 === 0,
      bl: Buffer.from([0, k, 0xff, 0x10 + k]),
    });
  }

  const inserted = await check('prepared insert (int, text, list, map, uuid, timestamp, boolean, blob)', async () => {
    const q = `INSERT INTO ${ks}.typed (k, t, l, m, u, ts, b, bl) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
    for (const r of expected) {
      await client.execute(q, [r.k, r.t, r.l, r.m, r.u, r.ts, r.b, r.bl], { prepare: true });
    }
  }, { requires: () => haveTable });

  await check('prepared select by key', async () => {
    const q = `SELECT k, t, l, m, u, ts, b, bl FROM ${ks}.typed WHERE k = ?`;
    for (const e of expected) {
      const rs = await client.execute(q, [e.k], { prepare: true });
      assert.strictEqual(rs.rows.length, 1, `one row for k=${e.k}`);
      const r = rs.first();
      assert.strictEqual(r.k, e.k, 'int');
      assert.strictEqual(r.t, e.t, 'text');
      assert.deepStrictEqual(r.l, e.l, 'list<text>');
      assert.deepStrictEqual({ ...r.m }, e.m, 'map<text, int>');
      assert.ok(r.u instanceof types.Uuid && r.u.equals(e.u), `uuid: got ${r.u}, want ${e.u}`);
      assert.ok(r.ts instanceof Date && r.ts.getTime() === e.ts.getTime(),
        `timestamp: got ${r.ts && r.ts.toISOString()}, want ${e.ts.toISOString()}`);
      assert.strictEqual(r.b, e.b, 'boolean');
      assert.ok(Buffer.isBuffer(r.bl) && r.bl.equals(e.bl), `blob: got ${r.bl && r.bl.toString('hex')}`);
    }
    const none = await client.execute(q, [999], { prepare: true });
    assert.strictEqual(none.rows.length, 0, 'no row for an absent key');
  }, { requires: () => inserted });

  await check('prepared select of null columns', async () => {
    await client.execute(`INSERT INTO ${ks}.typed (k) VALUES (?)`, [100], { prepare: true });
    const rs = await client.execute(`SELECT * FROM ${ks}.typed WHERE k = ?`, [100], { prepare: true });
    assert.strictEqual(rs.rows.length, 1, 'one row');
    const r = rs.first();
    for (const c of ['t', 'l', 'm', 'u', 'ts', 'b', 'bl']) {
      assert.strictEqual(r[c], null, `${c} is null (got ${r[c]})`);
    }
  }, { requires: () => haveTable });

  bulkLoaded = await check(`insert ${ROWS} rows (prepared, concurrent)`, async () => {
    const params = [];
    for (let k = 0; k < ROWS; k++) params.push([k, `v${k}`]);
    const result = await cassandra.concurrent.executeConcurrent(
      client, `INSERT INTO ${ks}.bulk (k, v) VALUES (?, ?)`, params,
      { concurrencyLevel: 32, raiseOnFirstError: true });
    assert.strictEqual(result.totalExecuted, ROWS, 'all inserts executed');
    assert.strictEqual(result.errors.length, 0, 'no insert errors');
  }, { requires: () => haveTable });

  function checkAllSeen(seen, where) {
    const missing = [];
    for (let k = 0; k < ROWS; k++) if (!seen.has(k)) missing.push(k);
    assert.strictEqual(missing.length, 0,
      `${where}: ${missing.length} rows missing (first: ${missing.slice(0, 5).join(', ')})`);
    assert.strictEqual(seen.size, ROWS, `${where}: ${seen.size} distinct rows`);
  }

  await check(`page with execute + pageState (fetchSize ${FETCH_SIZE})`, async () => {
    const seen = new Set();
    let pageState;
    let pages = 0;
    do {
      const rs = await client.execute(`SELECT k, v FROM ${ks}.bulk`, [],
        { prepare: true, fetchSize: FETCH_SIZE, pageState });
      pages++;
      assert.ok(rs.rows.length <= FETCH_SIZE, `page ${pages} has ${rs.rows.length} > ${FETCH_SIZE} rows`);
      for (const r of rs.rows) {
        assert.ok(!seen.has(r.k), `row k=${r.k} seen twice (page ${pages})`);
        assert.strictEqual(r.v, `v${r.k}`, `value of k=${r.k}`);
        seen.add(r.k);
      }
      pageState = rs.pageState;
      assert.ok(pages <= ROWS, 'too many pages');
    } while (pageState);
    checkAllSeen(seen, `${pages} pages`);
    assert.ok(pages >= Math.ceil(ROWS / FETCH_SIZE), `only ${pages} pages`);
  }, { requires: () => bulkLoaded });

  await check(`page with eachRow autoPage (fetchSize ${FETCH_SIZE}, unprepared)`, async () => {
    const seen = new Set();
    let dup = null;
    await new Promise((resolve, reject) => {
      client.eachRow(`SELECT k, v FROM ${ks}.bulk`, [], { fetchSize: FETCH_SIZE, autoPage: true },
        (n, r) => {
          if (seen.has(r.k) && dup === null) dup = r.k;
          seen.add(r.k);
        },
        (err) => (err ? reject(err) : resolve()));
    });
    assert.strictEqual(dup, null, `row k=${dup} seen twice`);
    checkAllSeen(seen, 'eachRow');
  }, { requires: () => bulkLoaded });

  await check('stream with for await (fetchSize 500)', async () => {
    const seen = new Set();
    const rs = await client.execute(`SELECT k FROM ${ks}.bulk`, [], { prepare: true, fetchSize: 500 });
    for await (const r of rs) {
      assert.ok(!seen.has(r.k), `row k=${r.k} seen twice`);
      seen.add(r.k);
    }
    checkAllSeen(seen, 'async iterator');
  }, { requires: () => bulkLoaded });

  // No keyspace in the session, then an unknown table of an existing keyspace:
  // both are Invalid (0x2200) in Cassandra.
  for (const [query, requires] of [['SELECT * FROM nope', ifConnected],
                                   [`SELECT * FROM ${ks}.nope`, () => haveKeyspace]]) {
    const shown = query.replace(ks, '<ks>');
    await check(`error: ${shown} -> ResponseError 0x2200`, async () => {
      let err = null;
      try {
        await client.execute(query);
      } catch (e) {
        err = e;
      }
      assert.ok(err, 'the query succeeded');
      assert.ok(err instanceof cassandra.errors.ResponseError, `not a ResponseError: ${describe(err)}`);
      assert.strictEqual(err.code, types.responseErrorCodes.invalid,
        `code 0x${Number(err.code).toString(16)} (${err.message}), want 0x2200`);
      // The connection is still usable after the error.
      const rs = await client.execute('SELECT release_version FROM system.local');
      assert.strictEqual(rs.rows.length, 1);
    }, { requires });
  }

  await check('drop keyspace', async () => {
    await client.execute(`DROP KEYSPACE ${ks}`);
    haveKeyspace = false;
  }, { requires: () => haveKeyspace });

  await check('shutdown', async () => {
    await client.shutdown();
  }, { requires: ifConnected });
  if (!connected) await client.shutdown().catch(() => {});
}

main()
  .catch((err) => {
    failed++;
    console.log(`FAIL unexpected: ${describe(err)}`);
  })
  .then(() => {
    report();
    process.exit(failed === 0 ? 0 : 1);
  });
