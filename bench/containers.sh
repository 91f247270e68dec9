#!/usr/bin/env bash
# Container figures, side by side in one run:
#  - `berth run --rm --network none busybox true` vs the bare runtime's
#    `run` of the same bundle (and docker / podman when installed);
#  - `create` alone; `ps -a` with 1,000 containers;
#  - starts per second with 8 parallel clients;
#  - the shim's PSS and berthd's RSS with 100 running containers.
source "$(dirname "$0")/lib.sh"
N=${N:-20}
cleanup() {
  stop_berthd
  rm -rf "${BUNDLE:-/nonexistent}"
  # runc removes each run's own cgroup; the parent is ours.
  rmdir /sys/fs/cgroup/*/berth-bench /sys/fs/cgroup/berth-bench 2>/dev/null || true
}
trap cleanup EXIT
start_berthd
"$ROOT_DIR/scripts/mkimage-busybox.sh" | berth import -c 'CMD ["sh"]' - busybox >/dev/null

time_ms() { local t0 t1; t0=$(now_ms); "$@" >/dev/null 2>&1; t1=$(now_ms); echo $((t1 - t0)); }

# Warm up.
for _ in 1 2 3; do berth run --rm --network none busybox true; done
berth_run=$(for _ in $(seq 1 $N); do time_ms berth run --rm --network none busybox true; done | median)

# The bare runtime: a minimal spec on the same rootfs (unpacked once), and
# the very bundle Berth generates (copied from a running container, with
# `true` as the process and a cgroup of its own per run).
BUNDLE=$(mktemp -d /tmp/berth-bench-bundle-XXXXXX)
mkdir -p "$BUNDLE/rootfs"
"$ROOT_DIR/scripts/mkimage-busybox.sh" | tar -C "$BUNDLE/rootfs" -x
RUNTIME=$(berth info --format '{{.DefaultRuntime}}')
RT_BIN=$(command -v "$RUNTIME")
(cd "$BUNDLE" && "$RT_BIN" spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)
bare=$(for i in $(seq 1 $N); do time_ms "$RT_BIN" --root "$BUNDLE/state" run --bundle "$BUNDLE" "bench-$$-$i"; done | median)
same=n/a
if command -v python3 >/dev/null 2>&1; then
  ref=$(berth run -d --network none busybox sleep 600)
  mkdir -p "$BUNDLE/same"
  for i in $(seq 1 $N); do
    python3 - "$WORK/run/c/${ref:0:24}/config.json" "$BUNDLE/same/config.json" "$i" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["true"]
c["linux"]["cgroupsPath"] = "/berth-bench/same-%s" % sys.argv[3]
json.dump(c, open(sys.argv[2], "w"))
PY
    time_ms "$RT_BIN" --root "$BUNDLE/state" run --bundle "$BUNDLE/same" "same-$$-$i"
  done | median > "$BUNDLE/same.ms"
  same=$(cat "$BUNDLE/same.ms")
  berth rm -f "$ref" >/dev/null
fi

create=$(for i in $(seq 1 $N); do time_ms berth create --network none busybox true; done | median)

echo "run --rm true:  berth ${berth_run} ms   bare $RUNTIME: minimal spec ${bare} ms, Berth's bundle ${same} ms (python3 needed)"
echo "create alone:   ${create} ms"
if command -v docker >/dev/null 2>&1 && [ -S /var/run/docker.sock ] && DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1; then
  d=$(for _ in $(seq 1 $N); do time_ms env DOCKER_HOST=unix:///var/run/docker.sock docker run --rm --network none busybox true; done | median)
  echo "docker run --rm true: ${d} ms"
fi
if command -v podman >/dev/null 2>&1; then
  p=$(for _ in $(seq 1 $N); do time_ms podman run --rm --network none busybox true; done | median)
  echo "podman run --rm true: ${p} ms"
fi

# ps -a with 1,000 containers.
have=$(berth ps -aq | wc -l)
for _ in $(seq $have 999); do berth create --network none busybox true >/dev/null; done
berth ps -a >/dev/null
ps_ms=$(for _ in $(seq 1 10); do time_ms berth ps -a; done | median)
echo "ps -a with $(berth ps -aq | wc -l) containers: ${ps_ms} ms"
berth container prune -f >/dev/null

# Starts per second with 8 parallel clients (run -d, then removal).
t0=$(now_ms)
seq 1 80 | xargs -P 8 -I{} berth run -d --network none busybox sleep 600 >/dev/null
t1=$(now_ms)
echo "starts/s with 8 clients: $(awk "BEGIN{printf \"%.1f\", 80000/($t1-$t0)}")"

# Memory with 100 running containers.
running=$(berth ps -q | wc -l)
for _ in $(seq $running 99); do berth run -d --network none busybox sleep 600 >/dev/null; done
sleep 2
pss=0; n=0
for pid in $(pgrep -f "berth-shim start --id"); do
  if grep -q "$WORK" "/proc/$pid/cmdline" 2>/dev/null; then
    v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup"); pss=$((pss + v)); n=$((n + 1))
  fi
done
rss=$(awk '/VmRSS/ {print $2}' "/proc/$(cat "$WORK/berthd.pid")/status")
echo "shims: $n, average PSS $((pss / (n > 0 ? n : 1))) KiB; berthd RSS with $(berth ps -q | wc -l) running: ${rss} kB"
berth ps -q | xargs -r berth rm -f >/dev/null
