#!/usr/bin/env bash
# Runs every test: unit tests and the integration tests that drive a real
# berthd (root needed; each test uses its own temporary root and socket).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  scripts/install-deps.sh
else
  echo "test.sh: not root: integration tests need root and will fail" >&2
fi
cargo build --workspace --bins
cargo test --workspace -- "$@"
