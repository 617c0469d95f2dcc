#!/usr/bin/env bash
# The README's demo: an embedded broker, a few hundred click events emitted
# with Goka's partitioning, then read back. Usage: scripts/demo.sh [goka-cli]
set -euo pipefail
CLI=${1:-build/goka-cli}
work=$(mktemp -d)
trap 'kill $broker 2>/dev/null || true; wait $broker 2>/dev/null || true; rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*" >&2; }

step "goka-cli broker -t user-clicks:10   (an embedded Kafka-protocol broker)"
"$CLI" broker -t user-clicks:10 --address-file "$work/address" >/dev/null &
broker=$!
for _ in $(seq 200); do [ -s "$work/address" ] && break; sleep 0.05; done
export GOKA_BROKERS=$(cat "$work/address")
echo "GOKA_BROKERS=$GOKA_BROKERS" >&2

step "goka-cli emit user-clicks --input kv   (300 clicks of 20 users)"
for i in $(seq 0 299); do
  printf 'user-%d\t{"page":"/p/%d","at":%d}\n' $((i * 7 % 20)) $((i % 5)) "$i"
done | "$CLI" emit user-clicks --input kv

step "goka-cli dump user-clicks -c 3   (the records as JSON lines)"
"$CLI" dump user-clicks -c 3

step "goka-cli dump user-clicks --format '%k %p\\n' | sort | uniq -c   (clicks per user and partition)"
"$CLI" dump user-clicks --format '%k %p\n' | sort -V | uniq -c | head -5
echo "  ..." >&2

step "goka-cli partition user-3 -t user-clicks   (Goka's partition of a key)"
"$CLI" partition user-3 -t user-clicks

step "goka-cli dump user-clicks --table | head -3   (the latest click of each user)"
"$CLI" dump user-clicks --table | head -3

total=$("$CLI" dump user-clicks --format '.' | wc -c)
step "done: $total clicks in user-clicks"
