#!/usr/bin/env bash
# Apache Kafka for the tests and benchmarks: the broker's jars come from Maven Central
# (org.apache.kafka:kafka_2.13 and its runtime dependencies, resolved by Maven into a project-local
# repository under .cache/), and a single-node KRaft broker runs on Java 17 from them. No Kafka
# distribution tarball is downloaded: Maven Central is the one registry this machine can reach for it.
#
# Usage:
#   toolchain/kafka.sh classpath               fetch once (cached), print the broker's classpath
#   toolchain/kafka.sh run CONFIG [FORMAT_ARG…] format CONFIG's log.dirs when new (kafka-storage
#                                              format; extra args such as --add-scram go to it),
#                                              then exec the broker in the foreground
# The tests (test/helpers/kafka.ts) write CONFIG with free ports and stop the broker by its pid.
set -euo pipefail

KAFKA_VERSION=4.1.1
# The log4j2 version kafka_2.13 itself depends on (log4j-core), for its SLF4J binding.
LOG4J_VERSION=2.24.3
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$ROOT/.cache/kafka/$KAFKA_VERSION-log4j$LOG4J_VERSION"
REPO="$ROOT/.cache/maven"
CLASSPATH_FILE="$CACHE/classpath.txt"

need() {
  command -v "$1" >/dev/null || { echo "kafka.sh: $1 not found; run toolchain/bootstrap.sh (installs $2)" >&2; exit 1; }
}

# The cached classpath names jars by absolute path: it holds only while its first jar is there.
cached() {
  [ -s "$CLASSPATH_FILE" ] && [ -s "$CACHE/kafka.jar.ok" ] && [ -e "$(cut -d: -f1 "$CLASSPATH_FILE")" ]
}

classpath() {
  if cached; then cat "$CLASSPATH_FILE"; return; fi
  need mvn maven
  mkdir -p "$CACHE"
  # Two test files (or a test and a benchmark) may ask at once on a fresh machine: one resolves.
  exec 9>"$CACHE/.lock"
  flock 9
  if cached; then cat "$CLASSPATH_FILE"; return; fi
  # A throwaway pom whose only dependency is the broker: Maven resolves the runtime closure.
  cat >"$CACHE/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.logloom</groupId>
  <artifactId>kafka-test-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- The broker logs through SLF4J 1.x; without a binding it would log nothing at all. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -B -q -f "$CACHE/pom.xml" -Dmaven.repo.local="$REPO" \
    dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$CLASSPATH_FILE.tmp" >&2 \
    || { echo "kafka.sh: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central failed (see above)" >&2; exit 1; }
  mv "$CLASSPATH_FILE.tmp" "$CLASSPATH_FILE"
  tr ':' '\n' <"$CLASSPATH_FILE" | grep -q "kafka_2.13-$KAFKA_VERSION.jar" \
    || { echo "kafka.sh: the resolved classpath has no kafka_2.13 jar" >&2; exit 1; }
  echo "$KAFKA_VERSION" >"$CACHE/kafka.jar.ok"
  cat "$CLASSPATH_FILE"
}

run() {
  local config="${1:?usage: kafka.sh run CONFIG [FORMAT_ARG…]}"; shift
  # Java 17 from Debian (what bootstrap.sh installs), whatever `java` on PATH points at.
  local jvm
  jvm="/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture 2>/dev/null || echo amd64)/bin"
  [ -x "$jvm/java" ] && PATH="$jvm:$PATH"
  need java openjdk-17-jre-headless
  local cp; cp="$(classpath)"
  local dir; dir="$(sed -n 's/^log\.dirs=//p' "$config")"
  [ -n "$dir" ] || { echo "kafka.sh: $config has no log.dirs=" >&2; exit 1; }
  # The broker logs to stdout at KAFKA_LOG_LEVEL (default WARN; INFO shows every connection).
  local log4j="$CACHE/log4j2.properties"
  cat >"$log4j.tmp" <<L4J
status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = \${env:KAFKA_LOG_LEVEL:-WARN}
rootLogger.appenderRef.out.ref = OUT
# "Kafka Server started": the line the tests wait for.
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
L4J
  mv "$log4j.tmp" "$log4j"
  # A small heap and the serial collector: one test broker on a shared 2-core machine.
  local java_opts=(-Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$log4j")
  if [ ! -e "$dir/meta.properties" ]; then
    java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool format --standalone -t "kafka-test-$$" -c "$config" "$@" >&2
  fi
  exec java "${java_opts[@]}" -cp "$cp" kafka.Kafka "$config"
}

case "${1:-}" in
  classpath) classpath ;;
  run) shift; run "$@" ;;
  *) echo "usage: toolchain/kafka.sh classpath | run CONFIG [FORMAT_ARG…]" >&2; exit 2 ;;
esac
