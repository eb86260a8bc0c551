#!/usr/bin/env bash
# Makes a minimal arm64 device root filesystem to try the rootfs overlay on under qemu user
# emulation: Debian's busybox-static:arm64 (shell, init applets, coreutils) plus the arm64 glibc
# the executable needs (from Debian's libc6-arm64-cross / libstdc++6-arm64-cross in
# /usr/aarch64-linux-gnu). The .deb comes from the Debian mirror through apt with a private
# state directory under .cache/ (APT::Architecture=arm64): the machine's dpkg architectures and
# package lists are not touched.
# Usage: toolchain/device-root.sh DIR      (DIR must not exist or be empty)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dest=${1:?usage: device-root.sh DIR}
cache=${LOGLOOM_CACHE:-$root/.cache}/apt-arm64
sysroot=/usr/aarch64-linux-gnu

deb=$(ls "$cache"/busybox-static_*_arm64.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  mkdir -p "$cache/lists/partial" "$cache/archives/partial"
  : >"$cache/status"
  apt=(apt-get -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64
       -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "Dir::State::status=$cache/status"
       -o APT::Sandbox::User=root)
  "${apt[@]}" update >&2
  ( cd "$cache" && "${apt[@]}" download busybox-static:arm64 >&2 )
  deb=$(ls "$cache"/busybox-static_*_arm64.deb | head -n1)
fi

mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"
# BusyBox applets as symlinks (its --list-full, run under qemu, names where each belongs).
for applet in $(qemu-aarch64-static "$dest/bin/busybox" --list-full); do
  [ -e "$dest/$applet" ] && continue
  mkdir -p "$dest/$(dirname "$applet")"
  ln -s /bin/busybox "$dest/$applet"
done
# The glibc loader and the libraries the Node runtime links against.
mkdir -p "$dest/lib/aarch64-linux-gnu"
for lib in ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libstdc++.so.6 libgcc_s.so.1; do
  cp -L "$sysroot/lib/$lib" "$dest/lib/aarch64-linux-gnu/$lib"
done
ln -sf aarch64-linux-gnu/ld-linux-aarch64.so.1 "$dest/lib/ld-linux-aarch64.so.1"
mkdir -p "$dest/etc" "$dest/dev" "$dest/proc" "$dest/sys" "$dest/run" "$dest/tmp" "$dest/var/log" "$dest/root"
chmod 1777 "$dest/tmp"
printf '/lib/aarch64-linux-gnu\n' >"$dest/etc/ld.so.conf"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dest/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dest/etc/group"
echo "device-root: arm64 BusyBox root in $dest" >&2
