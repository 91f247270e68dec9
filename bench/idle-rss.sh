#!/usr/bin/env bash
# berthd's resident memory when idle (after start-up and one request).
source "$(dirname "$0")/lib.sh"
trap stop_berthd EXIT
start_berthd
berth info >/dev/null
sleep 2
pid=$(cat "$WORK/berthd.pid")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "berthd idle RSS: ${rss} kB ($(awk "BEGIN{printf \"%.1f\", $rss/1024}") MiB)"
if command -v dockerd >/dev/null 2>&1 && pgrep -x dockerd >/dev/null; then
  d=$(awk '/VmRSS/ {print $2}' "/proc/$(pgrep -x dockerd)/status")
  c=$(pgrep -x containerd >/dev/null && awk '/VmRSS/ {print $2}' "/proc/$(pgrep -x containerd)/status" || echo 0)
  echo "dockerd + containerd RSS: $((d + c)) kB"
fi
