#!/usr/bin/env bash
# Benchmarks of goka-cli run-group (a processor group) on one embedded broker:
#  1. the count processor over N records (20 partitions, 10,000 keys, ~40-byte
#     JSON values), LevelDB and in memory, against kcat moving the same records
#     (kcat -C -e | kcat -P -K) in the same run; best of RUNS, ratios printed;
#  2. the threads of run-group (default --threads) on 256 partitions;
#  3. the latency from emit to table update at ~RATE messages/s, against kcat
#     -C | kcat -P moving the same records at the same time.
# Absolute numbers on a shared machine are noise; the ratios are not.
# Usage: bench/processor.sh [goka-cli] [records]
#
# How processing time is measured: the embedded broker holds the first JoinGroup
# of a group for 3 s, and --until-idle adds its quiet time before the exit, so the
# wall time of run-group says little. The headline figure is the span from the
# first to the last record written, read back from the records' timestamps (%T):
# GROUP-table for run-group, the output topic for kcat -P: the same measure on
# both sides. The second figure is conservative: run-group from its "assigned
# partitions" line to its exit, minus the idle time (so recovery, the final
# commit and the shutdown count), against the wall time of the kcat pipeline.
set -euo pipefail
CLI=$(realpath "${1:-build/goka-cli}")
N=${2:-200000}
RUNS=${RUNS:-3}
PARTS=20
KEYS=10000
WIDE=256          # partitions of the thread count run
LAT_N=${LAT_N:-10000}
RATE=${RATE:-1000}
IDLE=1            # --until-idle of the throughput runs
LIMIT=120         # seconds before a run-group counts as hung
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

topics=(-t "in:$PARTS" -t "wide:$WIDE" -t "wide-table:$WIDE" -t "lat-in:$PARTS" -t "lat-table:$PARTS" -t "lat-out:$PARTS")
for run in $(seq 1 "$RUNS"); do
  topics+=(-t "out-$run:$PARTS" -t "count-leveldb-$run-table:$PARTS" -t "count-memory-$run-table:$PARTS")
done
"$CLI" broker "${topics[@]}" --address-file "$work/address" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/address" ] && break; sleep 0.05; done
[ -s "$work/address" ] || { echo "the embedded broker did not start" >&2; exit 1; }
B=$(cat "$work/address")

calc() { awk "BEGIN { print $1 }"; }
best() { sort -g | head -1; }  # the fastest of the runs
records_in() { kcat -b "$B" -q -C -t "$1" -e -f '.' | wc -c; }
span_ms() { kcat -b "$B" -q -C -t "$1" -e -f '%T\n' | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }'; }
stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

# N click-like lines, ~40 bytes of JSON per value, KEYS keys (N/KEYS per key).
awk -v n="$N" -v k="$KEYS" 'BEGIN { for (i = 0; i < n; i++)
  printf "user-%d\t{\"n\":%d,\"page\":\"/p/%d\"}\n", i % k, i, i % 97 }' >"$work/input.kv"
"$CLI" -q -b "$B" emit in --input kv <"$work/input.kv"
"$CLI" -q -b "$B" emit wide --input kv <"$work/input.kv"
for t in in wide; do
  got=$(records_in "$t")
  [ "$got" -eq "$N" ] || { echo "topic $t has $got records, not $N" >&2; exit 1; }
done

# A group reading $input, run to completion. Appends to $work/PREFIX one line:
# first->last table write, assigned->exit minus idle, and the phases (s):
# assigned->recovered, recovered->first write, last write->exit.
run_count() {  # group, input, storage, prefix
  local group=$1 input=$2 storage=$3 prefix=$4 log="$work/$1.log" t_end got
  { timeout "$LIMIT" "$CLI" -v -b "$B" run-group "$group" -i "$input" --op count \
      --storage "$storage" --until-idle "$IDLE" 2>&1 >/dev/null || echo "exit $?"; } | stamp >"$log"
  t_end=$EPOCHREALTIME
  if grep -q ' exit ' "$log"; then
    echo "run-group $group failed or hung (timeout $LIMIT s):" >&2; tail -5 "$log" >&2; exit 1
  fi
  got=$(records_in "$group-table")
  [ "$got" -eq "$N" ] || { echo "$group-table has $got records, not $N" >&2; exit 1; }
  kcat -b "$B" -q -C -t "$group-table" -e -f '%T\n' | sort -n | sed -n '1p;$p' |
    awk -v end="$t_end" -v idle="$IDLE" -v logf="$log" '
      BEGIN { while ((getline line < logf) > 0) {
                split(line, f, " ")
                if (line ~ /assigned partitions/ && a == "") a = f[1]
                if (line ~ / recovered$/ && r == "") r = f[1] } }
      NR == 1 { first = $1 / 1000 } { last = $1 / 1000 }
      END { if (a == "" || r == "") { print "no assigned/recovered line in " logf > "/dev/stderr"; exit 1 }
            printf "%.3f %.3f %.3f %.3f %.3f\n", last - first, end - a - idle, r - a, first - r, end - last }' \
    >>"$work/$prefix"
}

check_table() {  # group: every key counted N/KEYS times
  "$CLI" -q -b "$B" view "$1-table" --all |
    awk -v keys="$KEYS" -v n="$N" -F'"value":' '{ rows++; sum += $2 + 0 }
      END { if (rows != keys || sum != n) { printf "%d rows, sum %d: expected %d rows, sum %d\n", rows, sum, keys, n; exit 1 } }' ||
    { echo "table $1-table is wrong" >&2; exit 1; }
}

for run in $(seq 1 "$RUNS"); do
  t0=$EPOCHREALTIME
  kcat -b "$B" -q -C -e -t in -f '%k\t%s\n' | kcat -b "$B" -q -P -t "out-$run" -K $'\t' -X partitioner=fnv1a
  t1=$EPOCHREALTIME
  got=$(records_in "out-$run")
  [ "$got" -eq "$N" ] || { echo "out-$run has $got records, not $N" >&2; exit 1; }
  echo "$(calc "$(span_ms "out-$run") / 1000") $(calc "$t1 - $t0")" >>"$work/kcat"

  rm -rf "$work/db-$run"
  run_count "count-leveldb-$run" in "$work/db-$run" leveldb
  [ "$(find "$work/db-$run" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq "$PARTS" ] ||
    { echo "no LevelDB per partition under $work/db-$run" >&2; exit 1; }
  run_count "count-memory-$run" in memory memory
done
check_table count-leveldb-1
check_table count-memory-1

col() { cut -d' ' -f"$1" "$work/$2" | best; }  # the best of column $1 of file $2
echo "run-group --op count: $N records of $KEYS keys, $PARTS partitions, runs: $RUNS (best of)"
echo "  first->last write: of GROUP-table for run-group, of the output topic for kcat (record %T)"
echo "  wall: run-group from 'assigned partitions' to its exit minus --until-idle $IDLE; kcat pipeline's wall time"
ks=$(col 1 kcat) kw=$(col 2 kcat)
printf '  %-36s first->last %6.3f s %7.0f msg/s   wall %6.3f s %7.0f msg/s\n' "kcat -C -e | kcat -P -K" \
  "$ks" "$(calc "$N / $ks")" "$kw" "$(calc "$N / $kw")"
report() {  # name, file, target
  local span wall
  span=$(col 1 "$2") wall=$(col 2 "$2")
  printf '  %-36s first->last %6.3f s %7.0f msg/s   wall %6.3f s %7.0f msg/s\n' "$1" \
    "$span" "$(calc "$N / $span")" "$wall" "$(calc "$N / $wall")"
  printf '  %-36s ratio %.2fx first->last (target >= %s), %.2fx wall\n' "" \
    "$(calc "$ks / $span")" "$3" "$(calc "$kw / $wall")"
  sort -g "$work/$2" | head -1 | awk '{ printf "  %-36s phases of the best run: assigned->recovered %.3f s, recovered->first write %.3f s, last write->exit %.3f s\n", "", $3, $4, $5 }'
}
report "run-group --storage DIR (LevelDB)" leveldb 0.5x
report "run-group --storage memory" memory 0.8x

# 2. Threads of run-group with the default --threads on WIDE partitions, sampled
# every 50 ms from its start to its exit; the names at the peak say whose they are.
"$CLI" -v -b "$B" run-group wide -i wide --op count --until-idle "$IDLE" >/dev/null 2>"$work/wide.log" &
wide=$!
pids+=("$wide")
max=0 samples=0 deadline=$((SECONDS + LIMIT))
while kill -0 "$wide" 2>/dev/null; do
  n=$(awk '/^Threads:/ { print $2 }' "/proc/$wide/status" 2>/dev/null || true)
  if [ -n "$n" ]; then
    samples=$((samples + 1))
    if [ "$n" -gt "$max" ]; then
      max=$n
      cat /proc/"$wide"/task/*/comm 2>/dev/null | sort | uniq -c | awk '{ printf "%s%s x%d", sep, $2, $1; sep = ", " }' >"$work/names" || true
    fi
  fi
  [ "$SECONDS" -lt "$deadline" ] || { echo "run-group wide still running after $LIMIT s (hung); threads max $max" >&2; exit 1; }
  sleep 0.05
done
wait "$wide" || { echo "run-group wide exited with $?:" >&2; tail -5 "$work/wide.log" >&2; exit 1; }
got=$(records_in wide-table)
[ "$got" -eq "$N" ] || { echo "wide-table has $got records, not $N" >&2; exit 1; }
hw=$(nproc)
echo "run-group threads: $WIDE partitions, --threads default, nproc $hw"
printf '  %-52s %4d threads (max of %d samples; target <= about 2 x %d + a few)\n' \
  "run-group process" "$max" "$samples" "$hw"
echo "  at the peak: $(cat "$work/names")"

# 3. Latency: a group in memory, recovered, then LAT_N messages of distinct keys
# emitted at ~RATE/s. Each table record (count 1) is one input record: per key,
# table %T (the processor producing the update) - input %T (emit producing it).
# In the same run, the same records go through kcat -C -u | kcat -P -K (started
# before, reading from the beginning of the then empty topic) as the baseline:
# per key, output %T - input %T. kcat's consumer gets fetch.wait.max.ms=100, what
# libgoka's group consumer uses (kcat's default, 500, would make it look slow).
mkfifo "$work/lat-pipe"
kcat -b "$B" -q -C -u -X fetch.wait.max.ms=100 -t lat-in -o beginning -c "$LAT_N" -f '%k\t%s\n' >"$work/lat-pipe" &
pids+=($!)
kcat -b "$B" -q -P -t lat-out -K $'\t' -X partitioner=fnv1a <"$work/lat-pipe" &
kcat_p=$!
pids+=("$kcat_p")
"$CLI" -v -b "$B" run-group lat -i lat-in --op count --until-idle 5 >/dev/null 2>"$work/lat.log" &
lat=$!
pids+=("$lat")
for _ in $(seq 600); do grep -q ': recovered$' "$work/lat.log" && break; sleep 0.05; done
grep -q ': recovered$' "$work/lat.log" || { echo "run-group lat not recovered after 30 s:" >&2; cat "$work/lat.log" >&2; exit 1; }
python3 -c '
import sys, time
n, rate = int(sys.argv[1]), float(sys.argv[2])
t0 = time.time()
for i in range(n):
    d = t0 + i / rate - time.time()
    if d > 0:
        time.sleep(d)
    sys.stdout.write("lat-%06d\t{\"sent\":%d,\"i\":%d}\n" % (i, int(time.time() * 1000), i))
    sys.stdout.flush()
' "$LAT_N" "$RATE" | "$CLI" -q -b "$B" emit lat-in --input kv
deadline=$((SECONDS + LIMIT))
while kill -0 "$lat" 2>/dev/null || kill -0 "$kcat_p" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { echo "run-group lat or kcat still running $LIMIT s after the emit (hung)" >&2; exit 1; }
  sleep 0.1
done
wait "$lat" || { echo "run-group lat exited with $?:" >&2; tail -5 "$work/lat.log" >&2; exit 1; }
for t in lat-in lat-table lat-out; do kcat -b "$B" -q -C -t "$t" -e -f '%k\t%T\t%s\n' >"$work/$t"; done
latencies() {  # output topic, expected value ("" any): per key, output %T - input %T
  awk -F'\t' -v n="$LAT_N" -v want="$2" '
    FNR == NR { t_in[$1] = $2; next }
    { if (!($1 in t_in) || (want != "" && $3 != want) || ($1 in seen)) bad++; seen[$1] = 1
      print $2 - t_in[$1]; m++ }
    END { if (m != n || bad) { printf "%d records (%d unexpected), want %d\n", m, bad, n > "/dev/stderr"; exit 1 } }' \
    "$work/lat-in" "$work/$1" >"$work/$1.ms" || { echo "topic $1 is wrong" >&2; exit 1; }
}
latencies lat-table 1
latencies lat-out ""
# emit's own share: the generator's send time (in the value) -> input %T
awk -F'\t' '{ split($3, a, /"sent":/); print $2 - a[2] }' "$work/lat-in" >"$work/emit.ms"
achieved=$(cut -f2 "$work/lat-in" | sort -n | sed -n '1p;$p' | paste -sd' ' | awk -v n="$LAT_N" '{ printf "%.0f", (n - 1) * 1000 / ($2 - $1) }')
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print v[i] }'; }
line() { printf '  %-52s p50 %4d ms   p99 %4d ms   max %4d ms\n' "$1" "$(pct "$2" 50)" "$(pct "$2" 99)" "$(pct "$2" 100)"; }
echo "latency, emit -> update: $LAT_N messages of distinct keys, $PARTS partitions, ~$RATE/s asked, $achieved/s emitted"
line "run-group --storage memory (table %T - input %T)" "$work/lat-table.ms"
line "kcat -C -u -X fetch.wait.max.ms=100 | kcat -P -K"  "$work/lat-out.ms"
line "emit itself (input %T - generator's send time)" "$work/emit.ms"
