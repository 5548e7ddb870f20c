#!/usr/bin/env bash
# The whole test suite, from a fresh clone, installing what it needs.
#   usage: scripts/test.sh
# Runs every crate's tests with cargo-nextest (a hung test is killed after 3 min,
# see .config/nextest.toml), then the doc tests, then the third-party client checks
# of ../shared/compat (the Python driver with protocol v4 and v5, and cqlsh) against
# a fresh node (scripts/compat.sh), when that directory exists, and the DataStax
# Node.js driver check (scripts/node_compat.sh; needs node and npm). With the compat
# venv it also runs scripts/ring_check.sh: a 3-node cluster whose token map, as the
# Python driver builds it from system.peers, must agree with nodetool getendpoints.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

echo "== cargo nextest (workspace)"
cargo nextest run --workspace --profile ci --no-fail-fast

echo "== doc tests"
cargo test --workspace --doc --quiet

if [ -f ../shared/compat/run.sh ]; then
  echo "== compat (Python driver, cqlsh)"
  cargo build -p sibyl --quiet
  bash scripts/compat.sh "${CARGO_TARGET_DIR:-target}/debug/sibyl"
  echo "== ring check (Python driver token map vs nodetool getendpoints, 3 nodes)"
  bash scripts/ring_check.sh "${CARGO_TARGET_DIR:-target}/debug/sibyl"
else
  echo "== compat: skipped (../shared/compat/run.sh not found)"
fi

echo "== node compat (Node.js driver)"
cargo build -p sibyl --quiet
bash scripts/node_compat.sh "${CARGO_TARGET_DIR:-target}/debug/sibyl"
