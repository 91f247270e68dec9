#!/usr/bin/env bash
# I/O figures: `logs` of a container that printed 100,000 lines, `logs
# --tail 10` on a 1 GB log (must not read the whole file), and the
# throughput of 1 GiB through attach (container -> client).
source "$(dirname "$0")/lib.sh"
trap stop_berthd EXIT
start_berthd
"$ROOT_DIR/scripts/mkimage-busybox.sh" | berth import -c 'CMD ["sh"]' - busybox >/dev/null
time_ms() { local t0 t1; t0=$(now_ms); "$@" >/dev/null 2>&1; t1=$(now_ms); echo $((t1 - t0)); }

berth run --name lines --network none busybox seq 1 100000 >/dev/null
logs_ms=$(for _ in $(seq 1 7); do time_ms berth logs lines; done | median)
echo "logs of 100,000 lines: ${logs_ms} ms median"

# About 1 GB of log: 1,000,000 lines of 1,000 bytes.
berth run -d --name big --network none busybox sh -c 'yes "$(head -c 999 /dev/zero | tr "\0" a)" | head -n 1000000' >/dev/null
berth wait big >/dev/null
size=$(stat -c %s "$(berth inspect -f '{{.LogPath}}' big)")
tail_ms=$(for _ in $(seq 1 7); do time_ms berth logs --tail 10 big; done | median)
echo "logs --tail 10 on a $((size / 1000000)) MB log: ${tail_ms} ms median"
berth rm -f big lines >/dev/null

# 1 GiB through attach: zeros in 1 MiB writes with no log (the stream path
# alone), then 1000-byte text lines with the json-file log (what logging
# costs), beside how fast that producer runs with nobody reading.
t0=$(now_ms)
berth run --rm --network none --log-driver none busybox dd if=/dev/zero bs=1M count=1024 2>/dev/null | wc -c >/dev/null
t1=$(now_ms)
echo "1 GiB through attach (zeros, log driver none): $(awk "BEGIN{printf \"%.0f\", 1073.741824/(($t1-$t0)/1000)}") MB/s"
TEXT='yes "$(head -c 999 /dev/zero | tr "\0" a)" | head -c 1073741824'
t0=$(now_ms)
berth run --rm --network none busybox sh -c "$TEXT" | wc -c >/dev/null
t1=$(now_ms)
echo "1 GiB through attach (text lines, json-file log): $(awk "BEGIN{printf \"%.0f\", 1073.741824/(($t1-$t0)/1000)}") MB/s"
t0=$(now_ms)
berth wait "$(berth run -d --network none --log-driver none busybox sh -c "$TEXT")" >/dev/null
t1=$(now_ms)
echo "  (that producer alone, nobody reading: $(awk "BEGIN{printf \"%.0f\", 1073.741824/(($t1-$t0)/1000)}") MB/s)"
berth container prune -f >/dev/null
