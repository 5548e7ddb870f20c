#!/usr/bin/env bash
# Runs the third-party client checks (../shared/compat/run.sh: the DataStax Python
# driver with protocol v4 and v5, and cqlsh) against a fresh Sibyl node.
#   usage: scripts/compat.sh [path/to/sibyl]     (default target/debug/sibyl)
# Starts `sibyl server` on a scratch data directory and a free loopback port, waits
# (at most STARTUP_TIMEOUT_S) until it accepts connections, runs the checks, then
# stops that node by its pid (and no other process). Exits with run.sh's status.
set -uo pipefail
cd "$(dirname "$0")/.."

SIBYL="${1:-${CARGO_TARGET_DIR:-target}/debug/sibyl}"
RUN="../shared/compat/run.sh"
TAG=compat
[ -f "$RUN" ] || { echo "compat: $RUN not found"; exit 1; }
. scripts/scratch_node.sh
start_scratch_node

echo "== compat: node pid $PID on $HOST:$PORT (data $DATA/node)"
bash "$RUN" "$HOST" "$PORT"
rc=$?
[ $rc = 0 ] || show_node_problems
exit $rc
