#!/usr/bin/env bash
# Sibyl's key-value path against redis on this machine (docs/performance.md,
# "Against redis (stress)").
#   usage: scripts/bench-vs-redis.sh [DURATION_S]     (default 30 s per run)
#   env:   SIBYL=path/to/release/sibyl  CONCURRENCY=N  KEYS=N  RESULTS=dir
#
# 1. redis (installed with apt-get if missing) on a free loopback port, no
#    persistence: redis-benchmark -t set / -t get, 50 connections, 100-byte values,
#    random keys out of KEYS, each sized to last about DURATION_S.
# 2. a release `sibyl server` on a scratch data directory and a free loopback port
#    (commitlog_sync periodic, Cassandra's default): `sibyl stress write` (prepared
#    INSERT of a 100-byte value, CL ONE, 50 connections, CONCURRENCY requests in
#    flight), then `read` of the written keys, each DURATION_S; then each again at a
#    fixed --rate of half its measured peak, for the p99 at half load.
# Also measures each server's CPU time per operation (from /proc/PID/stat), which
# a busy machine disturbs far less than throughput.
# Prints the ratios (sibyl/redis) and writes everything (redis CSV, the stress
# JSON reports and plots, results.txt) to RESULTS. Stops only the processes it
# started, by their pids.
#
# Both servers share the machine's cores with their load generators; compare ratios
# within a run, not absolute figures across machines.
set -uo pipefail
cd "$(dirname "$0")/.."

DURATION_S="${1:-30}"
CLIENTS=50                 # redis-benchmark -c, and sibyl's --connections
VALUE_BYTES=100
KEYS="${KEYS:-1000000}"
CONCURRENCY="${CONCURRENCY:-128}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
SIBYL="${SIBYL:-$TARGET_DIR/release/sibyl}"
RESULTS="${RESULTS:-$TARGET_DIR/bench-vs-redis}"
STARTUP_TIMEOUT_S=30
STOP_TIMEOUT_S=60
# redis-benchmark counts requests, not seconds: a short calibration run measures
# its rate so the real run can be sized to DURATION_S.
CALIBRATION_REQUESTS=200000
HOST=127.0.0.1

say() { echo "bench-vs-redis: $*"; }
die() { say "$*"; exit 1; }

[ -x "$SIBYL" ] || die "$SIBYL not built (CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -p sibyl)"
command -v python3 >/dev/null || die "python3 is needed (free ports, JSON)"

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  say "installing redis-server and redis-tools with apt-get"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools
  elif sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools
  else
    die "redis is not installed and there is neither root nor passwordless sudo to install it"
  fi
  command -v redis-benchmark >/dev/null || die "redis install failed"
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SCRATCH=$(mktemp -d)
REDIS_PID=""
SIBYL_PID=""

stop_pid() {  # pid name: SIGTERM, wait, SIGKILL only that pid if it hangs
  local pid=$1 name=$2
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"
  for _ in $(seq $((STOP_TIMEOUT_S * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name ($pid) did not stop within ${STOP_TIMEOUT_S}s; killing it"
    kill -KILL "$pid"
  fi
  wait "$pid" 2>/dev/null
}
cleanup() {
  stop_pid "$REDIS_PID" redis-server
  stop_pid "$SIBYL_PID" "sibyl server"
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)

CLK_TCK=$(getconf CLK_TCK)
# cpu_s PID: user + system CPU seconds the process has used.
cpu_s() { awk -v hz="$CLK_TCK" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# us_per_op CPU0 CPU1 OPS
us_per_op() { python3 -c "print('%.1f' % (($2 - $1) * 1e6 / max(1, $3)))"; }

# json FILE EXPR: a field of a stress report (EXPR in Python, the report is `r`).
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- redis -------------------------------------------------------------------
RPORT=$(free_port)
redis-server --port "$RPORT" --bind "$HOST" --save '' --appendonly no \
  --protected-mode no --daemonize no >"$SCRATCH/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq $((STARTUP_TIMEOUT_S * 10))); do
  redis-cli -h "$HOST" -p "$RPORT" ping >/dev/null 2>&1 && break
  kill -0 "$REDIS_PID" 2>/dev/null || { cat "$SCRATCH/redis.log"; die "redis-server exited"; }
  sleep 0.1
done
say "redis-server $(redis-server --version | awk '{print $3}') pid $REDIS_PID on $HOST:$RPORT"

# redis_run TEST: prints "rps p50_ms p99_ms server_cpu_us_per_op" of redis-benchmark -t TEST for ~DURATION_S.
redis_run() {
  local t=$1 rps n
  rps=$(redis-benchmark -h "$HOST" -p "$RPORT" -t "$t" -c "$CLIENTS" -d "$VALUE_BYTES" \
        -r "$KEYS" -n "$CALIBRATION_REQUESTS" --csv | awk -F'"' 'NR==2 {print $4}')
  n=$(python3 -c "print(max($CALIBRATION_REQUESTS, int(float('$rps') * $DURATION_S)))")
  local c0 c1; c0=$(cpu_s "$REDIS_PID")
  redis-benchmark -h "$HOST" -p "$RPORT" -t "$t" -c "$CLIENTS" -d "$VALUE_BYTES" \
    -r "$KEYS" -n "$n" --csv >"$RESULTS/redis-$t.csv"
  c1=$(cpu_s "$REDIS_PID")
  echo "$(awk -F'"' 'NR==2 {print $4, $10, $14}' "$RESULTS/redis-$t.csv") $(us_per_op "$c0" "$c1" "$n")"
}
read -r REDIS_SET REDIS_SET_P50 REDIS_SET_P99 REDIS_SET_CPU < <(redis_run set)
say "redis SET: $REDIS_SET ops/s (p50 $REDIS_SET_P50 ms, p99 $REDIS_SET_P99 ms; server $REDIS_SET_CPU us CPU/op)"
read -r REDIS_GET REDIS_GET_P50 REDIS_GET_P99 REDIS_GET_CPU < <(redis_run get)
say "redis GET: $REDIS_GET ops/s (p50 $REDIS_GET_P50 ms, p99 $REDIS_GET_P99 ms; server $REDIS_GET_CPU us CPU/op)"
stop_pid "$REDIS_PID" redis-server
REDIS_PID=""

# ---- sibyl -------------------------------------------------------------------
SPORT=$(free_port)
"$SIBYL" server --data-dir "$SCRATCH/sibyl" --listen-address "$HOST" --native-port "$SPORT" \
  >"$SCRATCH/sibyl.log" 2>&1 &
SIBYL_PID=$!
ready=0
for _ in $(seq $((STARTUP_TIMEOUT_S * 10))); do
  kill -0 "$SIBYL_PID" 2>/dev/null || { cat "$SCRATCH/sibyl.log"; die "sibyl server exited"; }
  if (exec 3<>"/dev/tcp/$HOST/$SPORT") 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ "$ready" = 1 ] || die "sibyl server did not listen on $HOST:$SPORT within ${STARTUP_TIMEOUT_S}s"
say "sibyl server pid $SIBYL_PID on $HOST:$SPORT"

# stress NAME WORKLOAD ARGS...: one run, report in $RESULTS/NAME.json, plot NAME.svg.
stress() {
  local name=$1; shift
  local c0 c1; c0=$(cpu_s "$SIBYL_PID")
  "$SIBYL" stress "$@" --host "$HOST" --port "$SPORT" --connections "$CLIENTS" \
    --concurrency "$CONCURRENCY" --value-size "$VALUE_BYTES" --consistency ONE \
    --json --plot "$RESULTS/$name.svg" >"$RESULTS/$name.json" 2>"$RESULTS/$name.progress" \
    || { tail -5 "$RESULTS/$name.progress"; die "sibyl stress $name failed"; }
  c1=$(cpu_s "$SIBYL_PID")
  us_per_op "$c0" "$c1" "$(json "$RESULTS/$name.json" 'r["ops"]')" >"$RESULTS/$name.cpu"
  local errors; errors=$(json "$RESULTS/$name.json" 'r["errors"]')
  [ "$errors" = 0 ] || say "warning: $name had $errors errors: $(json "$RESULTS/$name.json" 'r["error_samples"]')"
}
summary() {  # NAME: "ops/s p50_ms p99_ms server_cpu_us_per_op"
  echo "$(json "$RESULTS/$1.json" '"%.0f %.3f %.3f" % (r["ops_per_s"], r["latency"]["p50_us"]/1e3, r["latency"]["p99_us"]/1e3)') $(cat "$RESULTS/$1.cpu")"
}

stress write write --duration "${DURATION_S}s" --key-count "$KEYS"
read -r SIBYL_INSERT SIBYL_INSERT_P50 SIBYL_INSERT_P99 SIBYL_INSERT_CPU < <(summary write)
say "sibyl INSERT: $SIBYL_INSERT ops/s (p50 $SIBYL_INSERT_P50 ms, p99 $SIBYL_INSERT_P99 ms; server $SIBYL_INSERT_CPU us CPU/op)"
# Read only keys that exist: write's keys are sequential from 0.
WRITTEN=$(json "$RESULTS/write.json" 'r["ops"]')
READ_KEYS=$(( WRITTEN < KEYS ? WRITTEN : KEYS ))
stress read read --duration "${DURATION_S}s" --key-count "$READ_KEYS"
read -r SIBYL_SELECT SIBYL_SELECT_P50 SIBYL_SELECT_P99 SIBYL_SELECT_CPU < <(summary read)
say "sibyl SELECT: $SIBYL_SELECT ops/s (p50 $SIBYL_SELECT_P50 ms, p99 $SIBYL_SELECT_P99 ms, misses $(json "$RESULTS/read.json" 'r["misses"]'); server $SIBYL_SELECT_CPU us CPU/op)"

HALF_INSERT=$(( SIBYL_INSERT / 2 ))
HALF_SELECT=$(( SIBYL_SELECT / 2 ))
stress write-half-rate write --duration "${DURATION_S}s" --key-count "$KEYS" --rate "$HALF_INSERT"
read -r HALF_INSERT_OPS _ HALF_INSERT_P99 _ < <(summary write-half-rate)
late() {  # NAME: how many operations the load generator sent behind schedule
  json "$RESULTS/$1.json" '"%d of %d ops sent late (p99 %.3f ms behind)" % (r["late_ops"], r["ops"], r["schedule_lag"]["p99_us"]/1e3)'
}
say "sibyl INSERT at --rate $HALF_INSERT: $HALF_INSERT_OPS ops/s, p99 $HALF_INSERT_P99 ms; $(late write-half-rate)"
stress read-half-rate read --duration "${DURATION_S}s" --key-count "$READ_KEYS" --rate "$HALF_SELECT"
read -r HALF_SELECT_OPS _ HALF_SELECT_P99 _ < <(summary read-half-rate)
say "sibyl SELECT at --rate $HALF_SELECT: $HALF_SELECT_OPS ops/s, p99 $HALF_SELECT_P99 ms; $(late read-half-rate)"

INSERT_RATIO=$(python3 -c "print('%.2f' % ($SIBYL_INSERT / float('$REDIS_SET')))")
SELECT_RATIO=$(python3 -c "print('%.2f' % ($SIBYL_SELECT / float('$REDIS_GET')))")
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) duration_s=$DURATION_S clients=$CLIENTS concurrency=$CONCURRENCY value_bytes=$VALUE_BYTES keys=$KEYS"
  echo "redis_set_ops_s=$REDIS_SET redis_set_p99_ms=$REDIS_SET_P99 redis_get_ops_s=$REDIS_GET redis_get_p99_ms=$REDIS_GET_P99"
  echo "sibyl_insert_ops_s=$SIBYL_INSERT sibyl_insert_p99_ms=$SIBYL_INSERT_P99 sibyl_select_ops_s=$SIBYL_SELECT sibyl_select_p99_ms=$SIBYL_SELECT_P99"
  echo "half_rate_insert_p99_ms=$HALF_INSERT_P99 half_rate_select_p99_ms=$HALF_SELECT_P99"
  echo "half_rate_insert_late: $(late write-half-rate)"
  echo "half_rate_select_late: $(late read-half-rate)"
  echo "server_cpu_us_per_op: redis_set=$REDIS_SET_CPU redis_get=$REDIS_GET_CPU sibyl_insert=$SIBYL_INSERT_CPU sibyl_select=$SIBYL_SELECT_CPU"
  echo "load_average_at_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "insert_vs_redis_set=$INSERT_RATIO select_vs_redis_get=$SELECT_RATIO"
} | tee "$RESULTS/results.txt"
say "targets: insert ≥ 1.0 (floor 0.5), select ≥ 0.8, p99 at half peak ≤ 2 ms; files in $RESULTS"
