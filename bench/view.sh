#!/usr/bin/env bash
# Benchmarks of goka-cli view (table recovery) against kcat reading the same
# topic on the same embedded broker, in the same run; and the peak memory of a
# view of 1,000,000 keys in LevelDB. Ratios matter, absolute numbers do not.
# Usage: bench/view.sh [goka-cli] [records]
set -euo pipefail
CLI=$(realpath "${1:-build/goka-cli}")
N=${2:-200000}
KEYS=$((N / 4))
BIG=${BIG:-1000000}
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap 'kill $broker 2>/dev/null || true; wait $broker 2>/dev/null || true; rm -rf "$work"' EXIT

"$CLI" broker -t table:20 -t big:32 --address-file "$work/address" >/dev/null 2>&1 &
broker=$!
for _ in $(seq 200); do [ -s "$work/address" ] && break; sleep 0.05; done
B=$(cat "$work/address")

now() { date +%s.%N; }
best() { sort -g | head -1; }  # the fastest of the runs
seconds() { local t0; t0=$(now); "$@"; awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }'; }
calc() { awk "BEGIN { print $1 }"; }
records_in() { kcat -b "$B" -q -C -t "$1" -e -f '.' | wc -c; }

# N updates of N/4 keys, ~40 bytes of JSON each, on Goka's partitions.
awk -v n="$N" -v k="$KEYS" 'BEGIN { for (i = 0; i < n; i++)
  printf "user-%d\t{\"n\":%d,\"page\":\"/p/%d\"}\n", i % k, i, i % 97 }' |
  kcat -b "$B" -q -P -t table -K $'\t' -X partitioner=fnv1a
got=$(records_in table)
[ "$got" -eq "$N" ] || { echo "table has $got records, not $N" >&2; exit 1; }

for run in $(seq 1 "$RUNS"); do
  seconds sh -c "kcat -b $B -q -C -t table -e >/dev/null" >>"$work/kcat"
  seconds sh -c "'$CLI' -q -b $B view table --all >/dev/null" >>"$work/memory"
  rm -rf "$work/db"
  seconds sh -c "'$CLI' -q -b $B view table --all --storage '$work/db' >/dev/null" >>"$work/leveldb"
  seconds sh -c "'$CLI' -q -b $B view table user-7 >/dev/null" >>"$work/key"
done
rows=$("$CLI" -q -b "$B" view table --all | wc -l)
[ "$rows" -eq "$KEYS" ] || { echo "view printed $rows rows, not $KEYS" >&2; exit 1; }

report() {  # name, ours
  local ours theirs
  ours=$(best <"$work/$2"); theirs=$(best <"$work/kcat")
  printf '%-40s %8.3f s %9.0f rec/s   kcat -C -e %8.3f s   ratio %.2fx\n' \
    "$1" "$ours" "$(calc "$N / $ours")" "$theirs" "$(calc "$theirs / $ours")"
}
echo "view: $N records of $KEYS keys, 20 partitions, runs: $RUNS (best of)"
report "goka-cli view --all (memory)" memory
report "goka-cli view --all --storage (LevelDB)" leveldb
report "goka-cli view KEY (1 of 20 partitions)" key

# Peak RSS of a LevelDB view of BIG keys in 32 partitions: tiny values, so
# that every partition stays far below the broker's ~5 MB.
awk -v n="$BIG" 'BEGIN { for (i = 0; i < n; i++) printf "k%07d\t%d\n", i, i % 1000 }' |
  kcat -b "$B" -q -P -t big -K $'\t' -X partitioner=fnv1a -X queue.buffering.max.messages=1000000
got=$(records_in big)
[ "$got" -eq "$BIG" ] || { echo "big has $got records, not $BIG (trimmed?)" >&2; exit 1; }
rm -rf "$work/db"
/usr/bin/time -f '%M %e' -o "$work/rss" "$CLI" -q -b "$B" view big --all --storage "$work/db" |
  wc -l >"$work/big-rows"
read -r kb secs <"$work/rss"
[ "$(cat "$work/big-rows")" -eq "$BIG" ] || { echo "view big printed $(cat "$work/big-rows") rows" >&2; exit 1; }
printf '%-40s %8.0f MB peak RSS (%s keys, 32 partitions, %.1f s)\n' \
  "goka-cli view --all --storage" "$(calc "$kb / 1024")" "$BIG" "$secs"
