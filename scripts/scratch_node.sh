# Sourced by the client-check scripts: starts one `sibyl server` on a scratch data
# directory and a free loopback port, and stops it (by its pid, and no other
# process) when the calling script exits.
#   usage (after setting SIBYL and TAG):  . scripts/scratch_node.sh; start_scratch_node
# Sets HOST, PORT, PID, DATA, LOG. Exits the caller with a message if the node does
# not accept connections within STARTUP_TIMEOUT_S.

STARTUP_TIMEOUT_S=30
STOP_TIMEOUT_S=30
HOST=127.0.0.1
PID=""
DATA=$(mktemp -d)
LOG="$DATA/sibyl.log"

stop_scratch_node() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    for _ in $(seq $((STOP_TIMEOUT_S * 10))); do
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$PID" 2>/dev/null; then
      echo "$TAG: node $PID did not stop within ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$PID"
    fi
    wait "$PID" 2>/dev/null
  fi
  rm -rf "$DATA"
}

start_scratch_node() {
  [ -x "$SIBYL" ] || { echo "$TAG: $SIBYL not built (cargo build -p sibyl)"; exit 1; }
  # A port nobody listens on now (the kernel picks it; a race with another process
  # binding it before the node does is possible but harmless: startup then fails).
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  trap stop_scratch_node EXIT
  "$SIBYL" server --data-dir "$DATA/node" --listen-address "$HOST" --native-port "$PORT" >"$LOG" 2>&1 &
  PID=$!
  local ready=0
  for _ in $(seq $((STARTUP_TIMEOUT_S * 10))); do
    if ! kill -0 "$PID" 2>/dev/null; then
      echo "$TAG: the node exited during startup:"; cat "$LOG"; exit 1
    fi
    if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then ready=1; break; fi
    sleep 0.1
  done
  if [ "$ready" != 1 ]; then
    echo "$TAG: the node did not accept connections on $HOST:$PORT within ${STARTUP_TIMEOUT_S}s:"
    cat "$LOG"; exit 1
  fi
}

# Prints the node's warnings and errors (after a failed check).
show_node_problems() {
  echo "== $TAG: node log (warnings and errors)"
  grep -E 'WARN|ERROR' "$LOG" | tail -50
}
