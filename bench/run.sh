#!/usr/bin/env bash
# Benchmarks of goka-cli against kcat on the same embedded broker, in the same
# run. Absolute numbers on a shared machine are noise; the ratios are not.
# Usage: bench/run.sh [goka-cli] [records]
set -euo pipefail
CLI=$(realpath "${1:-build/goka-cli}")
N=${2:-200000}
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap 'kill $broker 2>/dev/null || true; wait $broker 2>/dev/null || true; rm -rf "$work"' EXIT

topics=()
for i in $(seq 1 $((RUNS * 2))); do topics+=(-t "emit-$i:32"); done
"$CLI" broker "${topics[@]}" -t dump:32 --address-file "$work/address" >/dev/null 2>&1 &
broker=$!
for _ in $(seq 200); do [ -s "$work/address" ] && break; sleep 0.05; done
B=$(cat "$work/address")

# 200,000 click-like lines: ~40 bytes of JSON per value, 10,000 keys.
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "user-%d\t{\"n\":%d,\"page\":\"/p/%d\"}\n", i % 10000, i, i % 97 }' >"$work/input.kv"

now() { date +%s.%N; }
best() { sort -g | head -1; }  # the fastest of the runs
seconds() { local t0; t0=$(now); "$@"; awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }'; }
calc() { awk "BEGIN { print $1 }"; }

echo "records: $N, partitions: 32, runs: $RUNS (best of)"
i=0
for run in $(seq 1 "$RUNS"); do
  i=$((i + 1)); seconds kcat -b "$B" -q -P -t "emit-$i" -K $'\t' -X partitioner=fnv1a <"$work/input.kv" >>"$work/kcat-emit"
  i=$((i + 1)); seconds "$CLI" -q -b "$B" emit "emit-$i" --input kv <"$work/input.kv" >>"$work/goka-emit"
done
for t in "emit-1" "emit-2"; do
  got=$(kcat -b "$B" -q -C -t "$t" -e -f '.' | wc -c)
  [ "$got" -eq "$N" ] || { echo "topic $t has $got records, not $N" >&2; exit 1; }
done

"$CLI" -q -b "$B" emit dump --input kv <"$work/input.kv"
for run in $(seq 1 "$RUNS"); do
  seconds sh -c "kcat -b $B -q -C -t dump -e >/dev/null" >>"$work/kcat-dump"
  seconds sh -c "kcat -b $B -q -C -t dump -e -J >/dev/null" >>"$work/kcat-dump-json"
  seconds sh -c "'$CLI' -q -b $B dump dump >/dev/null" >>"$work/goka-dump"
done
lines=$("$CLI" -q -b "$B" dump dump | wc -l)
[ "$lines" -eq "$N" ] || { echo "dump printed $lines lines, not $N" >&2; exit 1; }

report() {  # name, ours, theirs
  local ours theirs
  ours=$(best <"$work/$2"); theirs=$(best <"$work/$3")
  printf '%-34s %8.3f s %9.0f msg/s   %-14s %8.3f s %9.0f msg/s   ratio %.2fx\n' \
    "$1" "$ours" "$(calc "$N / $ours")" "$4" "$theirs" "$(calc "$N / $theirs")" \
    "$(calc "$theirs / $ours")"
}
report "goka-cli emit --input kv" goka-emit kcat-emit "kcat -P"
report "goka-cli dump (JSON envelope)" goka-dump kcat-dump "kcat -C -e"
report "goka-cli dump (JSON envelope)" goka-dump kcat-dump-json "kcat -C -e -J"
bash "$(dirname "$0")/view.sh" "$CLI"
bash "$(dirname "$0")/processor.sh" "$CLI"
bash "$(dirname "$0")/vs_goka.sh" "$CLI"
bash "$(dirname "$0")/exactly_once.sh" "$CLI"
bash "$(dirname "$0")/proto.sh" "$CLI"
