#!/usr/bin/env bash
# The soak's check (bench/soak.sh): the group table soak-table against the
# truth of N messages where message i has key k(i % KEYS), so key kK's truth is
# N/KEYS, plus one when K < N % KEYS.
#
#   bash bench/soak_check.sh GOKA_CLI DIR N PARTITIONS KEYS
#
# Writes DIR/table.jsonl (the dumped table) and DIR/counts (key, partition,
# count, truth). Per key, a count below its truth is a loss of that many
# messages and a count above it that many duplicates; a loss and duplicates
# on one key cancel out, so "lost" is a lower bound. Prints the totals and
# every partition with a loss or duplicates; exit 1 on any loss.
set -euo pipefail
CLI=$1 W=$2 N=$3 P=$4 KEYS=$5

"$CLI" dump soak-table --table --codec int64 >"$W/table.jsonl"
keys=()
for ((k = 0; k < KEYS; k++)); do keys+=("k$k"); done
"$CLI" partition -n "$P" "${keys[@]}" >"$W/partitions"

# key partition count truth, for every key of the truth (count 0 when missing).
awk -v n="$N" -v nk="$KEYS" -v pfile="$W/partitions" '
  BEGIN { k = 0; while ((getline p < pfile) > 0) part["k" k++] = p }
  { split($0, f, "\""); key = f[4]; v = $0; sub(/.*"value":/, "", v); sub(/}.*/, "", v)
    if (key in part) count[key] = v + 0; else extra[key] = v }
  END {
    for (k = 0; k < nk; k++) {
      key = "k" k; truth = int(n / nk) + (k < n % nk ? 1 : 0)
      printf "%s %d %d %d\n", key, part[key], count[key] + 0, truth
    }
    for (key in extra) printf "%s - %d 0\n", key, extra[key]
  }' "$W/table.jsonl" >"$W/counts"

awk -v n="$N" '
  { d = $3 - $4; if (d < 0) { lost += -d; pl[$2] += -d; lk[$2]++ } else if (d > 0) { dup += d; pd[$2] += d }
    if ($3 > 0) keys++; sum += $3; parts[$2] = 1 }
  END {
    printf "table: %d keys, %d counted for %d messages: %d lost, %d duplicates (%.4f%%)\n",
      keys, sum, n, lost, dup, 100 * dup / n
    for (p in parts) if (pl[p] || pd[p])
      printf "  partition %s: %d lost (%d keys short), %d duplicates\n", p, pl[p], lk[p], pd[p] | "sort -n -k2"
    close("sort -n -k2")
    exit lost > 0
  }' "$W/counts"
