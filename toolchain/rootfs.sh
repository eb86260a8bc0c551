#!/usr/bin/env bash
# Lays the rootfs/ overlay and the packaged executable into dist/rootfs-<target>.tar.gz, ready
# to untar over a device image (tar -xzf rootfs-arm64.tar.gz -C /mnt/image).
# Needs dist/bin/logloom-linux-<target>[-<profile>] (make package). Owner root:root, sorted,
# fixed mtime: the same inputs give the same tarball.
# Usage: toolchain/rootfs.sh <x64|arm64|armv7> [default|locked]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=${1:?usage: rootfs.sh <x64|arm64|armv7> [profile]}
profile=${2:-default}
suffix=""; [ "$profile" = default ] || suffix="-$profile"
exe="$root/dist/bin/logloom-linux-$target$suffix"
[ -x "$exe" ] || { echo "rootfs: $exe missing (make package TARGET=$target PROFILE=$profile)" >&2; exit 1; }
stage="$root/dist/rootfs-$target$suffix"
out="$root/dist/rootfs-$target$suffix.tar.gz"
rm -rf "$stage"
mkdir -p "$stage"
cp -a "$root/rootfs/." "$stage/"
find "$stage" -name .keep -delete
install -D -m 0755 "$exe" "$stage/usr/bin/logloom"
install -D -m 0644 "$root/docs/building.md" "$stage/usr/share/doc/logloom/building.md"
chmod 0755 "$stage/etc/init.d/S50logloom"
chmod 0750 "$stage/var/lib/logloom"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$stage" -cf - . | gzip -n -6 >"$out"
echo "rootfs: ${out#"$root"/} ($(du -h "$out" | cut -f1))" >&2
