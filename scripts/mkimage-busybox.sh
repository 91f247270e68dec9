#!/usr/bin/env bash
# Writes to stdout a root filesystem tarball of a busybox image built from
# Debian's busybox-static: /bin/busybox, a link per applet, minimal /etc.
set -euo pipefail

busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkimage-busybox: $busybox missing: apt-get install busybox-static" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,home,root,tmp,var/www}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  ln -sf /bin/busybox "$root/$applet"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
wheel:x:10:root
www-data:x:33:
nogroup:x:65534:
G
tar --numeric-owner --owner=0 --group=0 -C "$root" -c .
