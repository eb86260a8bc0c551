#!/usr/bin/env bash
# Builds the C parts of Logloom for one target into build/native/<target>/:
#   logloom_native.node     the N-API addon (native/binding.gyp, node-gyp)
#   logloom-plugin-host     the host process for .so plugins (native/plugin-host, native/common)
#   logloom-launcher        the plugin sandbox launcher (native/launcher)
#   plugins/<name>.so       the example C plugins (native/examples/*.c)
# For arm64/armv7 with Debian's cross compilers (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf);
# node-gyp gets --nodedir=<the target's unpacked runtime> so it never downloads headers.
# Parts whose sources are not in the checkout yet are skipped with a note.
# Usage: toolchain/cross-compile.sh x64|arm64|armv7
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=${1:?usage: cross-compile.sh x64|arm64|armv7}
case "$target" in
  x64)   prefix="";                    gyp_arch=x64;   runtime_arch=x64 ;;
  arm64) prefix=aarch64-linux-gnu-;    gyp_arch=arm64; runtime_arch=arm64 ;;
  armv7) prefix=arm-linux-gnueabihf-;  gyp_arch=arm;   runtime_arch=armv7l ;;
  *) echo "cross-compile: unknown target '$target' (x64, arm64, armv7)" >&2; exit 2 ;;
esac
CC=${prefix}gcc
CXX=${prefix}g++
# armv7 is best-effort and not needed by `make test`: its compilers are installed on first use.
[ "$target" = armv7 ] && ! command -v "$CC" >/dev/null && "$here/bootstrap.sh" armv7
command -v "$CC" >/dev/null || { echo "cross-compile: $CC not installed (toolchain/bootstrap.sh installs it)" >&2; exit 1; }
out="$root/build/native/$target"
mkdir -p "$out/plugins"
native="$root/native"
CFLAGS="-std=gnu11 -Os -fPIC -Wall -Wextra -I$native/include -I$native/common"

# The N-API addon, against the target runtime's own headers.
if [ -f "$native/binding.gyp" ]; then
  nodedir=$("$here/node-runtime.sh" "$runtime_arch")
  gyp_build="$root/build/gyp-$target"
  rm -rf "$gyp_build"
  cp -a "$native" "$gyp_build"
  (
    cd "$gyp_build"
    CC=$CC CXX=$CXX LINK=$CXX AR=${prefix}ar \
      "$root/node_modules/.bin/node-gyp" rebuild --arch="$gyp_arch" --nodedir="$nodedir" --loglevel=warn >&2
  )
  addon=$(find "$gyp_build/build/Release" -maxdepth 1 -name '*.node' | head -n1)
  [ -n "$addon" ] || { echo "cross-compile: node-gyp produced no .node in $gyp_build/build/Release" >&2; exit 1; }
  cp "$addon" "$out/logloom_native.node"
  "${prefix}strip" --strip-unneeded "$out/logloom_native.node"
  echo "cross-compile: $target addon -> build/native/$target/logloom_native.node" >&2
else
  echo "cross-compile: native/binding.gyp not in this checkout yet; no addon for $target" >&2
fi

# The plugin host program (a crash in a .so plugin kills it, not the agent).
if compgen -G "$native/plugin-host/*.c" >/dev/null; then
  # shellcheck disable=SC2086
  $CC $CFLAGS -s -o "$out/logloom-plugin-host" "$native"/plugin-host/*.c $(compgen -G "$native/common/*.c" || true) -ldl -lpthread
  echo "cross-compile: $target plugin host -> build/native/$target/logloom-plugin-host" >&2
else
  echo "cross-compile: native/plugin-host not in this checkout yet; no plugin host for $target" >&2
fi

# The plugin sandbox launcher (seccomp, Landlock, namespaces, user drop; then exec of the plugin).
if compgen -G "$native/launcher/*.c" >/dev/null; then
  # shellcheck disable=SC2086
  $CC $CFLAGS -s -o "$out/logloom-launcher" "$native"/launcher/*.c
  echo "cross-compile: $target launcher -> build/native/$target/logloom-launcher" >&2
fi

# Example C plugins, one .so each.
for src in "$native"/examples/*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  # shellcheck disable=SC2086
  $CC $CFLAGS -shared -o "$out/plugins/$name.so" "$src"
done
echo "cross-compile: $target done" >&2
