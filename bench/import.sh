#!/usr/bin/env bash
# Import throughput: a ~100 MB single-layer tarball through `berth import`,
# beside plain `tar -x` of the same file (the floor), in MB/s.
source "$(dirname "$0")/lib.sh"
trap stop_berthd EXIT
SRC=$(mktemp -d /tmp/berth-bench-src-XXXXXX)
trap 'stop_berthd; rm -rf "$SRC"' EXIT
mkdir -p "$SRC/tree"
# 200 files of 256 KiB plus 4000 small files: about 100 MB.
for i in $(seq 1 200); do head -c 262144 /dev/urandom > "$SRC/tree/big$i"; done
mkdir -p "$SRC/tree/small"
for i in $(seq 1 4000); do head -c 12000 /dev/urandom > "$SRC/tree/small/f$i"; done
tar -C "$SRC/tree" -cf "$SRC/layer.tar" .
SIZE=$(stat -c %s "$SRC/layer.tar")
MB=$(awk "BEGIN{print $SIZE/1000000}")

runs=5
tar_times=(); for r in $(seq 1 $runs); do
  rm -rf "$SRC/x"; mkdir "$SRC/x"; sync
  t0=$(now_ms); tar -C "$SRC/x" -xf "$SRC/layer.tar"; sync; t1=$(now_ms)
  tar_times+=($((t1-t0)))
done
start_berthd
imp_times=(); for r in $(seq 1 $runs); do
  t0=$(now_ms); berth import "$SRC/layer.tar" "bench:$r" >/dev/null; t1=$(now_ms)
  imp_times+=($((t1-t0)))
  berth rmi "bench:$r" >/dev/null
done
tar_ms=$(printf '%s\n' "${tar_times[@]}" | median)
imp_ms=$(printf '%s\n' "${imp_times[@]}" | median)
echo "tarball: $MB MB"
echo "tar -x + sync : ${tar_ms} ms median  ($(awk "BEGIN{printf \"%.0f\", $MB/($tar_ms/1000)}") MB/s)"
echo "berth import  : ${imp_ms} ms median  ($(awk "BEGIN{printf \"%.0f\", $MB/($imp_ms/1000)}") MB/s)"
