#!/usr/bin/env bash
# Runs the third-party client checks (../shared/compat/run.sh: the DataStax Python
# driver with protocol v4 and v5, and cqlsh) against a fresh Sibyl node.
#   usage: scripts/compat.sh [path/to/sibyl]     (default target/debug/sibyl)
# Starts `sibyl server` on a scratch data directory and a free loopback port, waits
# (at most STARTUP_TIMEOUT_S) until it accepts connections, runs the checks, then
# stops that node by its pid (and no other process). Exits with run.sh's status.
set -uo pipefail
cd "$(dirname "$0")/.."

STARTUP_TIMEOUT_S=30
STOP_TIMEOUT_S=30
SIBYL="${1:-target/debug/sibyl}"
RUN="../shared/compat/run.sh"
HOST=127.0.0.1

[ -x "$SIBYL" ] || { echo "compat: $SIBYL not built (cargo build -p sibyl)"; exit 1; }
[ -f "$RUN" ] || { echo "compat: $RUN not found"; exit 1; }

# A port nobody listens on now (the kernel picks it; a race with another process
# binding it before the node does is possible but harmless: startup then fails).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
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
      echo "compat: node $PID did not stop within ${STOP_TIMEOUT_S}s; killing it"
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
    echo "compat: the node exited during startup:"; cat "$LOG"; exit 1
  fi
  if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "compat: the node did not accept connections on $HOST:$PORT within ${STARTUP_TIMEOUT_S}s:"
  cat "$LOG"; exit 1
fi

echo "== compat: node pid $PID on $HOST:$PORT (data $DATA/node)"
bash "$RUN" "$HOST" "$PORT"
rc=$?
if [ $rc != 0 ]; then
  echo "== compat: node log (warnings and errors)"
  grep -E 'WARN|ERROR' "$LOG" | tail -50
fi
exit $rc
