#!/usr/bin/env bash
# Installs the Debian packages that building and testing Logloom need, only when missing.
# Safe to run repeatedly; does nothing (and needs no network) when everything is present.
# Usage: toolchain/bootstrap.sh            (everything make test needs)
#        toolchain/bootstrap.sh armv7      (plus the armv7 cross compilers, for make package TARGET=armv7)
set -euo pipefail

# package -> a file that proves it is installed (cheap check, no dpkg query per package)
declare -A NEED=(
  [socat]=/usr/bin/socat
  [nats-server]=/usr/sbin/nats-server
  [qemu-user-static]=/usr/bin/qemu-aarch64-static
  [gcc-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-gcc
  [g++-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-g++
  [binutils-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-strip
  [libc6-arm64-cross]=/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1
  [libstdc++6-arm64-cross]=/usr/aarch64-linux-gnu/lib/libstdc++.so.6
  [python3]=/usr/bin/python3
  [gcc]=/usr/bin/gcc
  # The plugin sandbox launcher (native/launcher/) is written against the kernel UAPI headers.
  [linux-libc-dev]=/usr/include/linux/landlock.h
  [linux-libc-dev-arm64-cross]=/usr/aarch64-linux-gnu/include/linux/landlock.h
  [g++]=/usr/bin/g++
  [make]=/usr/bin/make
  [pkg-config]=/usr/bin/pkg-config
  [openssl]=/usr/bin/openssl
  [iproute2]=/usr/sbin/ip
  [util-linux]=/usr/bin/setpriv
  [procps]=/usr/bin/ps
  [busybox-static]=/bin/busybox
  [bsdutils]=/usr/bin/logger
  [file]=/usr/bin/file
  [systemd]=/usr/bin/systemd-analyze
  # The Kafka broker the log_exporter_kafka tests run (toolchain/kafka.sh): Java 17, and Maven to
  # fetch its jars from Maven Central.
  [openjdk-17-jre-headless]=/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)/bin/java
  [maven]=/usr/bin/mvn
  # The dashboard's browser test: Debian's chromium (driven by playwright-core), and a CJK font for 中文.
  [chromium]=/usr/bin/chromium
  [fonts-wqy-microhei]=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
  # journald input tests: journal files written by systemd-journal-remote.
  [systemd-journal-remote]=/lib/systemd/systemd-journal-remote
)

if [ "${1:-}" = armv7 ]; then
  NEED[gcc-arm-linux-gnueabihf]=/usr/bin/arm-linux-gnueabihf-gcc
  NEED[g++-arm-linux-gnueabihf]=/usr/bin/arm-linux-gnueabihf-g++
  NEED[binutils-arm-linux-gnueabihf]=/usr/bin/arm-linux-gnueabihf-strip
fi

missing=()
for pkg in "${!NEED[@]}"; do
  [ -e "${NEED[$pkg]}" ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
  echo "bootstrap: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
