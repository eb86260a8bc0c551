#!/usr/bin/env bash
# Installs the Debian packages a purpose needs, only when missing. Safe to run repeatedly; does
# nothing (and needs no network) when everything is present.
# Usage: toolchain/bootstrap.sh [PURPOSE…]   (default: test)
#   demo     running the agent and the aggregator from the checkout (make demo): a C compiler for
#            the native addon, python3 for node-gyp
#   test     everything make test exercises (real serial ptys, nats-server, qemu, Kafka, chromium…)
#   package  single executables for x64 and arm64 (make package): cross compilers, qemu, busybox
#   armv7    plus the armv7 cross compilers (make package TARGET=armv7, best effort)
set -euo pipefail

declare -A NEED=()
# package -> a file that proves it is installed (a cheap check, no dpkg query per package)
need() { NEED[$1]=$2; }

base() {
  need gcc /usr/bin/gcc
  need g++ /usr/bin/g++
  need make /usr/bin/make
  need pkg-config /usr/bin/pkg-config
  need python3 /usr/bin/python3
  need openssl /usr/bin/openssl
  # The plugin sandbox launcher (native/launcher/) is written against the kernel UAPI headers.
  need linux-libc-dev /usr/include/linux/landlock.h
}

package() {
  base
  need qemu-user-static /usr/bin/qemu-aarch64-static
  need gcc-aarch64-linux-gnu /usr/bin/aarch64-linux-gnu-gcc
  need g++-aarch64-linux-gnu /usr/bin/aarch64-linux-gnu-g++
  need binutils-aarch64-linux-gnu /usr/bin/aarch64-linux-gnu-strip
  need libc6-arm64-cross /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1
  need libstdc++6-arm64-cross /usr/aarch64-linux-gnu/lib/libstdc++.so.6
  need linux-libc-dev-arm64-cross /usr/aarch64-linux-gnu/include/linux/landlock.h
  need busybox-static /bin/busybox
  need file /usr/bin/file
}

test_() {
  package
  need socat /usr/bin/socat
  need nats-server /usr/sbin/nats-server
  need iproute2 /usr/sbin/ip
  need util-linux /usr/bin/setpriv
  need procps /usr/bin/ps
  need bsdutils /usr/bin/logger
  need systemd /usr/bin/systemd-analyze
  # The Kafka broker the log_exporter_kafka tests run (toolchain/kafka.sh): Java 17, and Maven to
  # fetch its jars from Maven Central.
  need openjdk-17-jre-headless "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)/bin/java"
  need maven /usr/bin/mvn
  # The dashboard's browser test: Debian's chromium (driven by playwright-core), and a CJK font for 中文.
  need chromium /usr/bin/chromium
  need fonts-wqy-microhei /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
  # journald input tests: journal files written by systemd-journal-remote.
  need systemd-journal-remote /lib/systemd/systemd-journal-remote
}

armv7() {
  package
  need gcc-arm-linux-gnueabihf /usr/bin/arm-linux-gnueabihf-gcc
  need g++-arm-linux-gnueabihf /usr/bin/arm-linux-gnueabihf-g++
  need binutils-arm-linux-gnueabihf /usr/bin/arm-linux-gnueabihf-strip
}

[ "$#" -gt 0 ] || set -- test
for purpose in "$@"; do
  case "$purpose" in
    demo) base ;;
    test) test_ ;;
    package) package ;;
    armv7) armv7 ;;
    *) echo "bootstrap: unknown purpose '$purpose' (demo, test, package, armv7)" >&2; exit 2 ;;
  esac
done

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
