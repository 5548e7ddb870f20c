#!/usr/bin/env bash
# The whole test suite, from a fresh clone, installing what it needs.
#   usage: scripts/test.sh
# Runs every crate's tests with cargo-nextest (a hung test is killed after 3 min,
# see .config/nextest.toml), then the doc tests. The third-party client checks in
# ../shared/compat (Python driver, cqlsh) join once the node serves the CQL native
# protocol: until then there is nothing for them to connect to.
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

