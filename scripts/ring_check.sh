#!/usr/bin/env bash
# Starts a 3-node cluster on 127.0.82.1-3 (a range no other test uses) in a scratch
# directory, runs scripts/ring_check.py with the compat venv's Python driver
# (../shared/compat/setup.sh), and stops exactly that cluster's nodes.
#   usage: scripts/ring_check.sh [path/to/sibyl]
set -uo pipefail
cd "$(dirname "$0")/.."
SIBYL="$(realpath "${1:-${CARGO_TARGET_DIR:-target}/debug/sibyl}")"
VENV="$(../shared/compat/setup.sh | tail -1)" || { echo "ring_check: venv setup failed"; exit 1; }
DIR="$(mktemp -d)/cluster"
trap '"$SIBYL" cluster stop --dir "$DIR" >/dev/null 2>&1; rm -rf "$(dirname "$DIR")"' EXIT
"$SIBYL" cluster start -n 3 --ip-prefix 127.0.82. --dir "$DIR" || { tail -20 "$DIR"/node*/node.log; exit 1; }
"$VENV/bin/python" scripts/ring_check.py "$SIBYL" 127.0.82.1
