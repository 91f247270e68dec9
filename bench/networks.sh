#!/usr/bin/env bash
# Networking figures (issue 4), on a bridge of the benchmark's own
# (btbench, 198.51.100.0/24, deleted at the end):
#  - `berth run --rm busybox true` on the default bridge, and the cost of
#    bridge networking over `--network none`;
#  - starts per second with 8 parallel clients on the bridge;
#  - throughput and latency through a published port (host -> container
#    via 127.0.0.1, i.e. the userland proxy; via the host's own address,
#    i.e. DNAT) against a direct connection to the container's address.
source "$(dirname "$0")/lib.sh"
N=${N:-20}
cleanup() {
  berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
  stop_berthd
}
trap cleanup EXIT
start_berthd
"$ROOT_DIR/scripts/mkimage-busybox.sh" | berth import -c 'CMD ["sh"]' - busybox >/dev/null

time_ms() { local t0 t1; t0=$(now_ms); "$@" >/dev/null 2>&1; t1=$(now_ms); echo $((t1 - t0)); }

for _ in 1 2 3; do berth run --rm busybox true; berth run --rm --network none busybox true; done
bridge=$(for _ in $(seq 1 $N); do time_ms berth run --rm busybox true; done | median)
none=$(for _ in $(seq 1 $N); do time_ms berth run --rm --network none busybox true; done | median)
echo "run --rm true:  bridge ${bridge} ms   none ${none} ms   bridge costs $(awk "BEGIN{print $bridge - $none}") ms"

t0=$(now_ms)
seq 1 80 | xargs -P 8 -I{} berth run -d busybox sleep 600 >/dev/null
t1=$(now_ms)
echo "starts/s with 8 clients on the bridge: $(awk "BEGIN{printf \"%.1f\", 80000/($t1-$t0)}")"
berth rm -f $(berth ps -aq) >/dev/null

PORT=${PORT:-18089}
berth run -d --name web -p "$PORT:80" busybox sh -c \
  'dd if=/dev/zero of=/var/www/big bs=1M count=512 2>/dev/null; echo ok > /var/www/small; httpd -f -p 80 -h /var/www' >/dev/null
IP=$(berth inspect --format '{{.NetworkSettings.IPAddress}}' web)
HOST_IP=${BENCH_BIP%/*}
for _ in $(seq 1 100); do curl -sf "http://$IP/small" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://$IP/big" && break; sleep 0.2; done
speed() { curl -s -o /dev/null -w '%{speed_download}' "$1" | awk '{printf "%.0f", $1/1048576}'; }
latency() { for _ in $(seq 1 50); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done | median | awk '{printf "%.3f", $1*1000}'; }
echo "throughput (MiB/s, 512 MiB over HTTP):  direct $(speed "http://$IP/big")   proxy 127.0.0.1 $(speed "http://127.0.0.1:$PORT/big")   DNAT $HOST_IP $(speed "http://$HOST_IP:$PORT/big")"
echo "latency (ms, one small HTTP request):   direct $(latency "http://$IP/small")   proxy 127.0.0.1 $(latency "http://127.0.0.1:$PORT/small")   DNAT $HOST_IP $(latency "http://$HOST_IP:$PORT/small")"
