#!/usr/bin/env bash
# Runs the DataStax Node.js driver check (scripts/node_compat/smoke.js, npm package
# cassandra-driver pinned in scripts/node_compat/package.json) against a fresh Sibyl node.
#   usage: scripts/node_compat.sh [path/to/sibyl]     (default target/debug/sibyl)
# Builds nothing. Installs the driver into scripts/node_compat/node_modules with npm
# when it is missing or at another version, starts `sibyl server` on a scratch data
# directory and a free loopback port, waits (at most STARTUP_TIMEOUT_S) until it
# accepts connections, runs the smoke test, then stops that node by its pid (and no
# other process). Exits with the smoke test's status.
set -uo pipefail
cd "$(dirname "$0")/.."

SIBYL="${1:-${CARGO_TARGET_DIR:-target}/debug/sibyl}"
DIR=scripts/node_compat
TAG=node_compat
command -v node >/dev/null 2>&1 || { echo "node_compat: node not found (install Node.js >= 18 with npm)"; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "node_compat: npm not found (install Node.js >= 18 with npm)"; exit 1; }

# The driver, at the version package.json pins, unless it is already installed.
want=$(node -p 'require("./'"$DIR"'/package.json").dependencies["cassandra-driver"]')
have=$(cd "$DIR" && node -p 'require("cassandra-driver/package.json").version' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  if [ -f "$DIR/package-lock.json" ]; then npm_cmd=ci; else npm_cmd=install; fi
  echo "== node_compat: npm $npm_cmd (cassandra-driver $want${have:+, found $have})"
  (cd "$DIR" && npm "$npm_cmd" --no-audit --no-fund) || { echo "node_compat: npm $npm_cmd failed"; exit 1; }
fi

. scripts/scratch_node.sh
start_scratch_node

echo "== node_compat: node pid $PID on $HOST:$PORT (data $DATA/node), cassandra-driver $want, node $(node --version)"
(cd "$DIR" && node smoke.js "$HOST" "$PORT")
rc=$?
[ $rc = 0 ] || show_node_problems
exit $rc
