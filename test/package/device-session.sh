#!/bin/sh
# Runs inside toolchain/qemu-userns.sh arm64 (root in a private user + mount namespace with arm64
# binfmt). Makes the device root read-only except /var/lib/logloom and /run/logloom (bound from
# host directories, so the test sees the agent's files and sockets), then runs init-script
# commands read from stdin inside the chroot, answering "DONE <command> <status>" for each.
# Usage: device-session.sh DEVICE_ROOT HOST_STATE_DIR HOST_RUN_DIR
set -eu
root=$1 state=$2 run=$3
# On a device /run is a tmpfs and the init script creates /run/logloom; here it is a bind mount.
mkdir -p "$root/run/logloom"
mount --bind "$root" "$root"
mount --rbind /dev "$root/dev"
mount --rbind /proc "$root/proc"
mount -o remount,bind,ro "$root"
mount --bind "$state" "$root/var/lib/logloom"
mount --bind "$run" "$root/run/logloom"
echo READY
while read -r cmd; do
  set +e
  case "$cmd" in
    # Proves the root is read-only for the device's own tools.
    probe) chroot "$root" /bin/touch /etc/logloom/written-by-test 2>/dev/null ;;
    # The environment init gives a script: nothing from the test's (NODE_EXTRA_CA_CERTS...).
    *) env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$root" /etc/init.d/S50logloom "$cmd" ;;
  esac
  echo "DONE $cmd $?"
  set -e
done
