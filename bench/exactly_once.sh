#!/usr/bin/env bash
# Exactly once against at least once on a real Kafka (scripts/kafka.sh): the
# count processor (run-group --op count, LevelDB) over N records (20
# partitions, 10,000 keys, ~40-byte JSON values), at commit intervals of 100 ms
# and 1 s; best of RUNS. Targets: exactly once at least 0.7x at least once's
# throughput at 100 ms, 0.9x at 1 s.
#
# Every new count is also emitted to an output topic (-o): the table topic is
# compacted on a real Kafka, the output is not. Throughput: N over the span
# from the first to the last output record written (their timestamps, read
# committed), as bench/processor.sh measures on the table; and, since that
# span ends at the last record's produce() (at least once's may still be on
# their way then), the time until everything is committed: from the last
# partition's "recovered, processing" to run-group's exit, minus the
# --until-idle second. CPU: user
# + sys seconds of run-group per million records (/usr/bin/time), the whole
# run (recovery and shutdown included). N is 1,000,000 by default: with fewer
# the whole run at 1 s fits in one or two transactions, and the 1 s ratio
# measures where the last commit happens to fall (0.56x to 1.54x at 200,000).
# Usage: bench/exactly_once.sh [goka-cli] [records]
set -euo pipefail
CLI=$(realpath "${1:-build/goka-cli}")
N=${2:-1000000}
RUNS=${RUNS:-2}
PARTS=20
KEYS=10000
SRC=$(cd "$(dirname "$0")/.." && pwd)
if ! why=$(bash "$SRC/scripts/kafka.sh" check); then
  echo "exactly once: skipped, the real Kafka needs Java 17 and Maven: $why"
  exit 0
fi
work=$(mktemp -d)
trap 'bash "$SRC/scripts/kafka.sh" stop "$work/kafka" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
B=$(bash "$SRC/scripts/kafka.sh" start "$work/kafka")
CREATE=$(dirname "$CLI")/tests/goka-test-create-topics

calc() { awk "BEGIN { print $1 }"; }
best() { sort -g | head -1; }
committed() {  # topic: its records and timestamps, read committed
  kcat -b "$B" -q -C -t "$1" -X isolation.level=read_committed -e -f '%T\n'
}

awk -v n="$N" -v k="$KEYS" 'BEGIN { for (i = 0; i < n; i++)
  printf "user-%d\t{\"n\":%d,\"page\":\"/p/%d\"}\n", i % k, i, i % 97 }' >"$work/input.kv"
"$CREATE" "$B" "in:$PARTS" >/dev/null
"$CLI" -q -b "$B" emit in --input kv <"$work/input.kv"

stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

# run MODE INTERVAL RUN: one count of `in`; appends "SPAN_S CPU_S DONE_S" to
# $work/MODE-INTERVAL.
run() {
  local mode=$1 interval=$2 group="$1-$2-$3" flags=() got
  [ "$mode" = eos ] && flags=(--exactly-once)
  "$CREATE" "$B" "$group-table:$PARTS" "$group-out:$PARTS" >/dev/null
  { /usr/bin/time -f '%U %S' -o "$work/time" timeout 300 "$CLI" -v -b "$B" run-group "$group" \
    -i in --op count -o "$group-out" --storage "$work/st-$group" --until-idle 1 \
    --commit-interval "$interval" "${flags[@]}" 2>&1 >/dev/null || echo "exit $?"; } |
    stamp >"$work/log"
  if grep -q ' exit ' "$work/log"; then echo "run-group $group failed" >&2; exit 1; fi
  committed "$group-out" | sort -n >"$work/stamps"
  got=$(wc -l <"$work/stamps")
  [ "$got" -eq "$N" ] || { echo "$group-out has $got committed records, not $N" >&2; exit 1; }
  printf '%s %s %s\n' "$(sed -n '1p;$p' "$work/stamps" | paste -sd' ' | awk '{ print ($2 - $1) / 1000 }')" \
    "$(awk '{ print $1 + $2 }' "$work/time")" \
    "$(awk '/recovered, processing/ { a = $1 } END { print $1 - a - 1 }' "$work/log")" >>"$work/$mode-$interval"
}

echo "exactly once vs at least once: $N records, $PARTS partitions, real Kafka, best of $RUNS"
for interval in 100 1000; do
  for r in $(seq 1 "$RUNS"); do
    run alo "$interval" "$r"
    run eos "$interval" "$r"
  done
  alo_span=$(cut -d' ' -f1 "$work/alo-$interval" | best)
  eos_span=$(cut -d' ' -f1 "$work/eos-$interval" | best)
  alo_cpu=$(cut -d' ' -f2 "$work/alo-$interval" | best)
  eos_cpu=$(cut -d' ' -f2 "$work/eos-$interval" | best)
  alo_done=$(cut -d' ' -f3 "$work/alo-$interval" | best)
  eos_done=$(cut -d' ' -f3 "$work/eos-$interval" | best)
  printf 'commit interval %4d ms: at least once %8.0f msg/s %5.2f CPU s/M   exactly once %8.0f msg/s %5.2f CPU s/M   throughput ratio %.2fx\n' \
    "$interval" "$(calc "$N / $alo_span")" "$(calc "$alo_cpu * 1000000 / $N")" \
    "$(calc "$N / $eos_span")" "$(calc "$eos_cpu * 1000000 / $N")" "$(calc "$alo_span / $eos_span")"
  printf '    until committed:       at least once %8.0f msg/s                  exactly once %8.0f msg/s                  ratio %.2fx\n' \
    "$(calc "$N / $alo_done")" "$(calc "$N / $eos_done")" "$(calc "$alo_done / $eos_done")"
done
