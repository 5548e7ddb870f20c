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

STARTUP_TIMEOUT_S=30
STOP_TIMEOUT_S=30
SIBYL="${1:-target/debug/sibyl}"
DIR=scripts/node_compat
HOST=127.0.0.1

[ -x "$SIBYL" ] || { echo "node_compat: $SIBYL not built (cargo build -p sibyl)"; exit 1; }
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

# A port nobody listens on now (the kernel picks it; a race with another process
# binding it before the node does is possible but harmless: startup then fails).
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
DATA=$(mktemp -d)
LOG="$DATA/sibyl.log"
PID=""

stop_node() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    for _ in $(seq $((STOP_TIMEOUT_S * 10))); do
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$PID" 2>/dev/null; then
      echo "node_compat: node $PID did not stop within ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$PID"
    fi
    wait "$PID" 2>/dev/null
  fi
  rm -rf "$DATA"
}
trap stop_node EXIT

"$SIBYL" server --data-dir "$DATA/node" --listen-address "$HOST" --native-port "$PORT" >"$LOG" 2>&1 &
PID=$!

ready=0
for _ in $(seq $((STARTUP_TIMEOUT_S * 10))); do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "node_compat: the node exited during startup:"; cat "$LOG"; exit 1
  fi
  if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "node_compat: the node did not accept connections on $HOST:$PORT within ${STARTUP_TIMEOUT_S}s:"
  cat "$LOG"; exit 1
fi

echo "== node_compat: node pid $PID on $HOST:$PORT (data $DATA/node), cassandra-driver $want, node $(node --version)"
(cd "$DIR" && node smoke.js "$HOST" "$PORT")
rc=$?
if [ $rc != 0 ]; then
  echo "== node_compat: node log (warnings and errors)"
  grep -E 'WARN|ERROR' "$LOG" | tail -50
fi
exit $rc
