#!/usr/bin/env bash
# Sets everything up and runs Berth's main job: installs what is missing,
# builds Berth, starts berthd (unless one already answers), makes the
# busybox image from Debian's busybox-static and runs containers from it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --workspace --bins
bin=$PWD/target/release
export PATH="$bin:$PATH"
sock=${BERTH_SOCKET:-/run/berth.sock}
export BERTH_HOST="unix://$sock"

if ! berth version >/dev/null 2>&1; then
  log=${BERTH_LOG:-/var/log/berthd.log}
  echo "demo: starting berthd (log: $log)"
  nohup "$bin/berthd" -H "unix://$sock" >>"$log" 2>&1 &
  for _ in $(seq 1 100); do
    berth version >/dev/null 2>&1 && break
    sleep 0.1
  done
  berth version >/dev/null || { echo "demo: berthd did not start; see $log" >&2; exit 1; }
fi

echo "demo: making the busybox image"
scripts/mkimage-busybox.sh | berth import -c 'CMD ["sh"]' - busybox:latest
berth images
berth image inspect --format '{{.Id}} {{.Config.Cmd}} {{.Architecture}}' busybox
berth history busybox
echo "demo: running a container"
berth run --rm busybox echo "hello from a Berth container"
berth run -d --name berth-demo busybox sleep 1000 >/dev/null
berth ps
berth exec berth-demo uname -a || true
berth rm -f berth-demo >/dev/null
echo "demo: berthd keeps running; stop it with: kill \$(cat /run/berth.pid)"
