#!/usr/bin/env bash
# The soak's check (bench/soak.sh): the group table soak-table against the
# truth of N messages. BLOCK 0: message i has key k(i % KEYS), so key kK's
# truth is N/KEYS, plus one when K < N % KEYS. BLOCK > 0: message i has key
# b(i / BLOCK), so key bJ's truth is BLOCK (less for the last) and stands for
# messages J*BLOCK up to (J+1)*BLOCK - 1, emitted one after another.
#
#   bash bench/soak_check.sh GOKA_CLI DIR N PARTITIONS KEYS BLOCK
#
# Writes DIR/table.jsonl (the dumped table) and DIR/counts (key, partition,
# count, truth). Per key, a count below its truth is a loss of that many
# messages and a count above it that many duplicates; a loss and duplicates
# on one key cancel out, so "lost" is a lower bound (blocks make that
# unlikely: a key's messages all go within BLOCK / rate seconds). Prints the
# totals, every partition with a loss or duplicates and the first keys short;
# exit 1 on any loss.
set -euo pipefail
CLI=$1 W=$2 N=$3 P=$4 KEYS=$5 BLOCK=${6:-0}

"$CLI" dump soak-table --table --codec int64 >"$W/table.jsonl"
# key truth, every key of the input
awk -v n="$N" -v nk="$KEYS" -v b="$BLOCK" 'BEGIN {
    if (b > 0) for (j = 0; j * b < n; j++) print "b" j, (n - j * b < b ? n - j * b : b)
    else for (k = 0; k < nk; k++) print "k" k, int(n / nk) + (k < n % nk ? 1 : 0) }' >"$W/truth"
# key partition, in chunks (the command line's length)
cut -d' ' -f1 "$W/truth" | xargs -n 5000 "$CLI" partition -n "$P" >"$W/partitions"

# key partition count truth, for every key of the truth (count 0 when missing),
# then keys the truth does not have.
awk -v pfile="$W/partitions" -v tfile="$W/truth" '
  BEGIN { while ((getline line < tfile) > 0) { split(line, f, " "); order[++nk] = f[1]; truth[f[1]] = f[2]
            getline part[f[1]] < pfile } }
  { split($0, f, "\""); key = f[4]; v = $0; sub(/.*"value":/, "", v); sub(/}.*/, "", v)
    if (key in truth) count[key] = v + 0; else extra[key] = v }
  END {
    for (i = 1; i <= nk; i++) { key = order[i]; printf "%s %d %d %d\n", key, part[key], count[key] + 0, truth[key] }
    for (key in extra) printf "%s - %d 0\n", key, extra[key]
  }' "$W/table.jsonl" >"$W/counts"

awk -v n="$N" -v b="$BLOCK" '
  { d = $3 - $4; if (d < 0) { lost += -d; pl[$2] += -d; lk[$2]++ } else if (d > 0) { dup += d; pd[$2] += d; dk++ }
    if (d < 0 && ++short <= 20) shorts[short] = $0
    if ($3 > 0) keys++; sum += $3; parts[$2] = 1 }
  END {
    printf "table: %d keys (%d in the truth), %d counted for %d messages: %d lost, %d duplicates (%.4f%%) on %d keys\n",
      keys, NR, sum, n, lost, dup, 100 * dup / n, dk
    for (p in parts) if (pl[p] || pd[p])
      printf "  partition %s: %d lost (%d keys short), %d duplicates\n", p, pl[p], lk[p], pd[p] | "sort -n -k2"
    close("sort -n -k2")
    for (i = 1; i <= short && i <= 20; i++) {
      split(shorts[i], f, " "); j = substr(f[1], 2) + 0
      printf "  short: key %s partition %s count %d of %d", f[1], f[2], f[3], f[4]
      if (b > 0) printf " (messages %d..%d)", j * b, j * b + f[4] - 1
      printf "\n"
    }
    exit lost > 0
  }' "$W/counts"
