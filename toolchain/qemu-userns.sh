#!/usr/bin/env bash
# Runs a command in a private user + mount namespace in which the target's ELF binaries execute
# through qemu user emulation (a binfmt_misc entry of that namespace only: Linux >= 6.7 gives each
# user namespace its own binfmt_misc, so the build machine's own registrations are untouched).
# Children the command spawns (e.g. the C plugin host built for arm64) run emulated too, and
# QEMU_LD_PREFIX points qemu at the target's glibc (Debian's libc6-<arch>-cross).
# The command may chroot (it is root in the namespace) and bind-mount.
# Usage: toolchain/qemu-userns.sh <arm64|armv7> COMMAND [ARGS...]
set -euo pipefail
target=${1:?usage: qemu-userns.sh <arm64|armv7> COMMAND [ARGS...]}
shift
case "$target" in
  arm64)
    qemu=/usr/bin/qemu-aarch64-static; sysroot=/usr/aarch64-linux-gnu
    magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff' ;;
  armv7)
    qemu=/usr/bin/qemu-arm-static; sysroot=/usr/arm-linux-gnueabihf
    magic='\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff' ;;
  *) echo "qemu-userns: unknown target '$target' (arm64, armv7)" >&2; exit 2 ;;
esac
[ -x "$qemu" ] || { echo "qemu-userns: $qemu missing (Debian qemu-user-static; toolchain/bootstrap.sh)" >&2; exit 1; }
[ -d /proc/sys/fs/binfmt_misc ] || { echo "qemu-userns: kernel without binfmt_misc" >&2; exit 1; }
export QEMU_LD_PREFIX=${QEMU_LD_PREFIX:-$sysroot}
# No --fork: user and mount namespaces need none, so after the execs the command has this
# process's pid and receives its signals directly (SIGTERM to stop an emulated agent cleanly).
exec unshare --user --map-root-user --mount -- /bin/sh -c '
  set -e
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || {
    echo "qemu-userns: cannot mount a private binfmt_misc (needs Linux >= 6.7 and unprivileged user namespaces)" >&2; exit 1; }
  # F: qemu is opened now, so it also runs inside a chroot that does not contain it.
  printf ":qemu-%s:M::%s:%s:%s:F" "$1" "$2" "$3" "$4" >/proc/sys/fs/binfmt_misc/register
  shift 4
  exec "$@"' qemu-userns "$target" "$magic" "$mask" "$qemu" "$@"
