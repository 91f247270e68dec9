#!/usr/bin/env bash
# `exec true` latency in a running container: the whole API exchange a
# client makes (create, start with the connection upgrade until the
# stream ends, inspect for the exit code), `berth exec` and `docker exec`
# (CLI start-up included), beside `runc exec` alone (the floor). Then the
# cost of stats: a one-shot sample's latency, and berthd's CPU time per
# streamed sample with 10 containers streamed at once.
source "$(dirname "$0")/lib.sh"
trap stop_berthd EXIT
RUNS=${RUNS:-50}
start_berthd
"$ROOT_DIR/scripts/mkimage-busybox.sh" | berth import -c 'CMD ["sh"]' - busybox:latest >/dev/null
SOCK="$WORK/berth.sock"
export DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$WORK/docker-config"
curl_json() { curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' "$@"; }
ID=$(curl_json -X POST -d '{"Image":"busybox","Cmd":["sleep","100000"]}' 'http://b/containers/create?name=web' | sed 's/.*"Id":"\([0-9a-f]*\)".*/\1/')
curl_json -X POST "http://b/containers/web/start" >/dev/null

python3 - "$SOCK" "$RUNS" <<'PY'
import json, socket, sys, time
sock_path, runs = sys.argv[1], int(sys.argv[2])

def request(method, path, body=b"", upgrade=False):
    s = socket.socket(socket.AF_UNIX); s.connect(sock_path)
    head = f"{method} {path} HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    head += "Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else "Connection: close\r\n"
    s.sendall(head.encode() + b"\r\n" + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest

def exec_true():
    _, body = request("POST", "/v1.47/containers/web/exec", json.dumps({"Cmd": ["true"], "AttachStdout": True, "AttachStderr": True}).encode())
    eid = json.loads(body)["Id"]
    head, _ = request("POST", f"/v1.47/exec/{eid}/start", b'{"Detach":false,"Tty":false}', upgrade=True)
    assert b" 101 " in head.split(b"\r\n")[0], head
    _, body = request("GET", f"/v1.47/exec/{eid}/json")
    assert json.loads(body)["ExitCode"] == 0, body

for _ in range(3): exec_true()
ts = []
for _ in range(runs):
    t = time.perf_counter(); exec_true(); ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print(f"exec true via the API   : median {ts[len(ts)//2]:.1f} ms  p10 {ts[len(ts)//10]:.1f}  p90 {ts[len(ts)*9//10]:.1f}  ({runs} runs)")
ts = []
for _ in range(50):
    t = time.perf_counter(); request("GET", "/v1.47/containers/web/stats?stream=false&one-shot=true"); ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print(f"stats one-shot          : median {ts[len(ts)//2]:.2f} ms (one sample read, encoded, sent)")
PY

time_cmd() { # label, command…
  local label=$1; shift
  local ts=()
  "$@" >/dev/null 2>&1 || { echo "$label: failed"; return; }
  for _ in $(seq 1 "$RUNS"); do
    t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    ts+=($(( (t1 - t0) / 1000 )))
  done
  printf '%-24s: median %s ms\n' "$label" "$(printf '%s\n' "${ts[@]}" | median | awk '{printf "%.1f", $1/1000}')"
}
RT=$(ls "$WORK/run/runtime" | head -1)
printf '{"terminal":false,"user":{"uid":0,"gid":0},"args":["true"],"env":["PATH=/bin"],"cwd":"/"}' > "$WORK/p.json"
time_cmd "$RT exec (floor)" "$RT" --root "$WORK/run/runtime/$RT" exec --process "$WORK/p.json" "$ID"
berth exec --help >/dev/null 2>&1 && time_cmd "berth exec web true" berth exec web true
command -v docker >/dev/null && time_cmd "docker exec web true" docker exec web true

# Stats: berthd's CPU per streamed sample.
for i in $(seq 1 9); do
  curl_json -X POST -d '{"Image":"busybox","Cmd":["sleep","100000"]}' "http://b/containers/create?name=s$i" >/dev/null
  curl_json -X POST "http://b/containers/s$i/start" >/dev/null
done
pid=$(cat "$WORK/berthd.pid")
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
pids=()
for n in web $(seq -f 's%g' 1 9); do
  curl -s -N --unix-socket "$SOCK" "http://b/containers/$n/stats" >/dev/null & pids+=($!)
done
sleep 2; c0=$(cpu); sleep 10; c1=$(cpu)
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true
ticks=$(getconf CLK_TCK)
awk -v d=$((c1 - c0)) -v t="$ticks" 'BEGIN { ms = d * 1000 / t; printf "stats streaming         : 10 containers for 10 s: berthd CPU %.0f ms = %.2f ms per sample (%.1f%% of one CPU)\n", ms, ms / 100, ms / 100 }'
