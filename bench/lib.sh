# Shared helpers for the benchmarks: a private berthd on a temporary root.
# Source this file; it defines BIN, start_berthd, stop_berthd, median.
set -euo pipefail
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT_DIR/target/release}
if [ ! -x "$BIN/berthd" ]; then
  (cd "$ROOT_DIR" && cargo build --release --workspace --bins >&2)
fi
export PATH="$BIN:$PATH"

# The benchmarks' own default bridge and subnet (TEST-NET-2), so that they
# never share `berth0`, 172.17.0.0/16 or the `berth` firewall table with a
# Berth the user runs; stop_berthd deletes the bridge.
BENCH_BRIDGE=btbench
BENCH_BIP=198.51.100.1/24

start_berthd() {
  WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
  echo '{}' > "$WORK/daemon.json"
  "$BIN/berthd" --config-file "$WORK/daemon.json" --data-root "$WORK/root" --exec-root "$WORK/run" \
    --pidfile "$WORK/berthd.pid" -H "unix://$WORK/berth.sock" \
    --default-bridge-name "$BENCH_BRIDGE" --bip "$BENCH_BIP" "$@" >"$WORK/berthd.log" 2>&1 &
  export BERTH_HOST="unix://$WORK/berth.sock"
  for _ in $(seq 1 200); do berth version >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "berthd did not start:" >&2; cat "$WORK/berthd.log" >&2; return 1
}

stop_berthd() {
  if [ -n "${WORK:-}" ] && [ -f "$WORK/berthd.pid" ]; then
    kill "$(cat "$WORK/berthd.pid")" 2>/dev/null || true
    for _ in $(seq 1 200); do [ -f "$WORK/berthd.pid" ] || break; sleep 0.05; done
  fi
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  ip link del "$BENCH_BRIDGE" 2>/dev/null || true
}

# median of numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# milliseconds since the epoch
now_ms() { date +%s%3N; }
