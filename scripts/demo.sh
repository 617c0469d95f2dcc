#!/usr/bin/env bash
# The README's demo, Goka's click-count example end to end on an embedded
# broker: emit clicks, count them with a processor group, view the counts.
# Usage: scripts/demo.sh [goka-cli]
set -euo pipefail
CLI=${1:-build/goka-cli}
work=$(mktemp -d)
trap 'kill $broker 2>/dev/null || true; wait $broker 2>/dev/null || true; rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*" >&2; }

step "goka-cli broker -t user-clicks:10 -t clicks-count-table:10   (an embedded Kafka-protocol broker)"
"$CLI" broker -t user-clicks:10 -t clicks-count-table:10 --address-file "$work/address" >/dev/null &
broker=$!
for _ in $(seq 200); do [ -s "$work/address" ] && break; sleep 0.05; done
export GOKA_BROKERS=$(cat "$work/address")
echo "GOKA_BROKERS=$GOKA_BROKERS" >&2

step "goka-cli emit user-clicks --input kv   (300 clicks of 20 users)"
for i in $(seq 0 299); do
  printf 'user-%d\t{"page":"/p/%d"}\n' $((i * 7 % 20)) $((i % 5))
done | "$CLI" emit user-clicks --input kv

step "goka-cli dump user-clicks -c 2   (the records, as JSON lines)"
"$CLI" dump user-clicks -c 2

step "goka-cli run-group clicks-count -i user-clicks --op count --until-idle 1   (Goka's click count)"
"$CLI" -v run-group clicks-count -i user-clicks --op count --until-idle 1

step "goka-cli view clicks-count-table user-3 user-7   (the counts of two users)"
"$CLI" view clicks-count-table user-3 user-7

step "goka-cli view clicks-count-table --all | head -4   (every count, in key order)"
"$CLI" view clicks-count-table --all | head -4

step "15 more clicks of user-3, the group runs again and continues where it stopped"
for i in $(seq 1 15); do printf 'user-3\t{"page":"/p/%d"}\n' "$i"; done | "$CLI" -q emit user-clicks --input kv
"$CLI" -q run-group clicks-count -i user-clicks --op count --until-idle 1
"$CLI" view clicks-count-table user-3
