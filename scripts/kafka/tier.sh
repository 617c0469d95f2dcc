#!/usr/bin/env bash
# The real-Kafka test tier's broker, as a ctest fixture (tests/CMakeLists.txt).
#   tier.sh start DIR   starts scripts/kafka.sh's broker in DIR (its address in
#                       DIR/address); on a machine without Java 17 or Maven it
#                       writes the reason to DIR/skip and reports itself skipped,
#                       and so does every test of the tier
#   tier.sh stop DIR    stops it and removes DIR
set -euo pipefail
kafka="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/kafka.sh"
dir=${2:?usage: tier.sh start|stop DIR}
case "$1" in
  start)
    bash "$kafka" stop "$dir"  # what an interrupted run left behind
    if ! why=$(bash "$kafka" check); then
      mkdir -p "$dir"
      echo "the real-Kafka tier needs Java 17 and Maven: $why" >"$dir/skip"
      echo "goka-test: skipped: $(cat "$dir/skip")"
      exit 77
    fi
    # Owned by ctest: a run killed before its cleanup leaves no broker behind.
    echo "Apache Kafka at $(GOKA_KAFKA_OWNER=$PPID bash "$kafka" start "$dir")"
    ;;
  stop) bash "$kafka" stop "$dir" ;;
  *) echo "usage: tier.sh start|stop DIR" >&2; exit 2 ;;
esac
