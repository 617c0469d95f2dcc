#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft) on loopback for tests and benchmarks.
#
#   scripts/kafka.sh start [DIR]   starts a broker whose data, log and pid live in
#                                  DIR (default ${TMPDIR:-/tmp}/goka-kafka), waits
#                                  until it answers requests and prints its
#                                  bootstrap address (also in DIR/address)
#   scripts/kafka.sh stop [DIR]    stops that broker and removes DIR
#   scripts/kafka.sh fetch         only brings the broker's jars into the cache
#   scripts/kafka.sh check         exits 0 when Java 17+ and Maven (or a filled
#                                  cache) are there, else prints why not and exits 1
#
# The broker (org.apache.kafka:kafka_2.13 and its dependencies) comes from Maven
# Central once per machine, through scripts/kafka/pom.xml, into
# ${GOKA_KAFKA_CACHE:-~/.cache/goka-kafka}/VERSION/libs. Nothing else is
# downloaded. Environment: GOKA_KAFKA_HEAP (default -Xmx512m),
# GOKA_KAFKA_START_TIMEOUT (seconds, default 120), GOKA_KAFKA_OWNER (a pid:
# the broker is stopped and its DIR removed once that process is gone, even
# when it was killed before it could run `stop`).
#
# The configuration suits tests, not production: replication factor 1,
# group.initial.rebalance.delay.ms=0 (a real cluster waits 3 s for a new group's
# members), small segments that roll every second and a log cleaner that compacts
# within seconds.
set -euo pipefail

# The newest Apache Kafka that passes every test with librdkafka 2.0.2
# (Debian 12's); 3.9.1 passes too. GOKA_KAFKA_VERSION picks another (a 3.x
# logs nothing: scripts/kafka/pom.xml brings Log4j 2's binding for 4.x).
KAFKA_VERSION=${GOKA_KAFKA_VERSION:-4.4.0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${GOKA_KAFKA_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/goka-kafka}/$KAFKA_VERSION
LIBS=$CACHE/libs
HEAP=${GOKA_KAFKA_HEAP:--Xmx512m -Xms128m}
START_TIMEOUT=${GOKA_KAFKA_START_TIMEOUT:-120}

die() { echo "kafka.sh: $*" >&2; exit 1; }

# Why this machine cannot run the broker, or nothing.
missing_tools() {
  if ! command -v java >/dev/null; then echo "no java (Java 17 or newer)"; return; fi
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || { echo "java is version ${v:-unknown}, not 17 or newer"; return; }
  [ -f "$LIBS/.complete" ] && return
  command -v mvn >/dev/null || echo "no mvn (Maven) to fetch Kafka $KAFKA_VERSION"
}

# Copies the broker's jars into the cache, once; concurrent callers wait for
# the first.
fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.lock"
  flock 8
  if [ ! -f "$LIBS/.complete" ]; then
    echo "kafka.sh: fetching Apache Kafka $KAFKA_VERSION through Maven into $LIBS" >&2
    rm -rf "$LIBS.tmp"
    mvn -q -B -Dstyle.color=never -f "$HERE/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" \
      >"$CACHE/mvn.log" 2>&1 ||
      die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION: $(tail -20 "$CACHE/mvn.log")"
    rm -rf "$LIBS"
    mv "$LIBS.tmp" "$LIBS"
    touch "$LIBS/.complete"
  fi
  exec 8>&-
}

# A loopback port nobody listens on now.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  die "found no free loopback port"
}

write_config() {
  local dir=$1 port=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.segment.bytes=1048576
log.roll.ms=1000
log.cleaner.min.cleanable.ratio=0.01
log.cleaner.backoff.ms=200
log.cleaner.dedupe.buffer.size=33554432
log.cleaner.min.compaction.lag.ms=0
log.segment.delete.delay.ms=1000
EOF
  cat >"$dir/log4j2.properties" <<EOF
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.cleaner.name = org.apache.kafka.storage.internals.log.LogCleaner
logger.cleaner.level = INFO
EOF
}

# The java command line for the broker in $1, in JAVA.
java_command() {
  # shellcheck disable=SC2206  # HEAP holds several options
  JAVA=(java $HEAP -XX:+UseSerialGC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$1/log4j2.properties" -cp "$LIBS/*")
}

# Whether process $1 is the broker of directory $2 (its command line names
# $2's log configuration). A pid is reused once its process is gone: a stale
# pid file or a watcher that looks late must not signal a stranger.
is_broker() {
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "-Dlog4j2.configurationFile=$2/log4j2.properties"
}

# How process status $1 reads: "status 1", or "signal TERM" past 128.
describe_status() {
  if [ "$1" -gt 128 ]; then echo "signal $(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"; else echo "status $1"; fi
}

# Whether the broker at $1 answers a metadata request.
answers() { kcat -L -b "$1" -m 2 >/dev/null 2>&1; }

# Starts one broker in $1 on fresh ports; returns 1 when it died while starting
# (a port taken meanwhile), dies on a timeout.
start_once() {
  local dir=$1 port cport pid cluster_id
  port=$(free_port)
  cport=$(free_port)
  [ "$port" != "$cport" ] || return 1
  rm -rf "$dir/data"
  write_config "$dir" "$port" "$cport"
  # A random UUID in URL-safe base64, as Kafka's own: never starting with
  # "-", which the format tool would take for an option (as Kafka avoids).
  cluster_id=-
  while [ "${cluster_id#-}" != "$cluster_id" ]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  java_command "$dir"
  "${JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    >"$dir/format.log" 2>&1 || die "formatting $dir/data failed: $(tail -5 "$dir/format.log")"
  # Every descriptor redirected: the broker outlives this script, and whoever
  # reads this script's output (ctest) does not wait for the broker.
  "${JAVA[@]}" kafka.Kafka "$dir/server.properties" >"$dir/broker.out" 2>&1 </dev/null 8>&- &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  local deadline=$((SECONDS + START_TIMEOUT))
  until answers "127.0.0.1:$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      local status=0
      wait "$pid" || status=$?
      echo "kafka.sh: the broker exited while starting ($(describe_status "$status");" \
        "$(df -h --output=avail "$dir" 2>/dev/null | tail -1 | tr -d ' ') free on its disk):" \
        "$(tail -q -n 3 "$dir/broker.out" "$dir/broker.log" 2>/dev/null)" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      kill -9 "$pid" 2>/dev/null || true
      die "the broker did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s (log: $dir/broker.log)"
    fi
    sleep 0.5
  done
  echo "127.0.0.1:$port" >"$dir/address"
  [ -z "${GOKA_KAFKA_OWNER:-}" ] || watch_owner "$GOKA_KAFKA_OWNER" "$pid" "$dir"
}

# Stops broker $1 of directory $2: TERM, then KILL after 10 s.
end_broker() {
  is_broker "$1" "$2" || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 100); do is_broker "$1" "$2" || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

# Stops the broker $2 and removes $3 once process $1 is gone (polling, in the
# background, detached from this script's output).
watch_owner() {
  local owner=$1 pid=$2 dir=$3
  (
    while kill -0 "$owner" 2>/dev/null && is_broker "$pid" "$dir"; do sleep 1; done
    if is_broker "$pid" "$dir"; then
      end_broker "$pid" "$dir"
      rm -rf "$dir"
    fi
  ) </dev/null >/dev/null 2>&1 8>&- &
}

start() {
  local dir=$1
  local why
  why=$(missing_tools)
  [ -z "$why" ] || die "cannot run Apache Kafka: $why"
  command -v kcat >/dev/null || die "kcat is missing (scripts/deps.sh installs it)"
  fetch
  [ ! -f "$dir/broker.pid" ] || ! is_broker "$(cat "$dir/broker.pid")" "$dir" ||
    die "a broker already runs for $dir (pid $(cat "$dir/broker.pid")); stop it first"
  mkdir -p "$dir"
  for attempt in 1 2 3 4 5; do
    if start_once "$dir"; then
      cat "$dir/address"
      return 0
    fi
    sleep "$attempt"
  done
  die "the broker would not start (see $dir/broker.out and $dir/broker.log)"
}

stop() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  if [ -f "$dir/broker.pid" ]; then
    pid=$(cat "$dir/broker.pid")
    end_broker "$pid" "$dir"
  fi
  rm -rf "$dir"
}

# Absolute, as the broker's command line names it (is_broker).
dir=$(realpath -m "${2:-${TMPDIR:-/tmp}/goka-kafka}")
case "${1:-}" in
  start) start "$dir" ;;
  stop) stop "$dir" ;;
  fetch) fetch ;;
  check)
    why=$(missing_tools)
    [ -z "$why" ] || { echo "$why"; exit 1; }
    ;;
  *) die "usage: scripts/kafka.sh start|stop [DIR] | fetch | check" ;;
esac
