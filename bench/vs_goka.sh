#!/usr/bin/env bash
# goka-cli against Go Goka (bench/gogoka, Go Goka's defaults) doing the same
# work on the same broker in the same run:
#   1. emit N messages (KEYS keys, one-byte values) into 10 partitions;
#   2. count them per key (a processor group with its table), in memory and
#      with LevelDB storage;
#   3. recover the resulting table (N records, KEYS rows) into a view, in
#      memory and in LevelDB.
# For each: wall time and throughput, CPU seconds (user + sys) and peak RSS of
# the client process (/usr/bin/time), and the ratios. For counting, also the
# processing span: first to last table write (record timestamps), which leaves
# out the consumer group's join (3 s on the embedded broker) and the exit.
# Runs on goka-cli's embedded broker, then on a real Kafka when one is at hand:
# GOKA_TEST_BROKERS, or scripts/kafka.sh when it exists and Java is installed.
# Absolute numbers on a shared machine are noise; the ratios are not.
# Usage: bench/vs_goka.sh [goka-cli] [messages]   (SKIP_EMBEDDED=1: the real Kafka only)
set -euo pipefail
CLI=$(realpath "${1:-build/goka-cli}")
N=${2:-1000000}
PARTS=10
KEYS=10000
IDLE=1      # run-group --until-idle: subtracted from its wall time
LIMIT=600   # seconds before a run counts as hung
SRC=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v go >/dev/null 2>&1; then
  echo "vs_goka: skipped: Go is not installed (Go Goka v1.1.17 needs Go 1.26.5 or newer)"
  exit 0
fi
work=$(mktemp -d)
broker=""
kafka_started=""
cleanup() {
  if [ -n "$broker" ]; then kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; fi
  if [ -n "$kafka_started" ]; then bash "$SRC/scripts/kafka.sh" stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$SRC/bench/gogoka" && GOFLAGS=-mod=readonly go build -o "$work/gogoka" .)
GO="$work/gogoka"
awk -v n="$N" -v k="$KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "u%d\t1\n", i % k }' >"$work/input.kv"

calc() { awk "BEGIN { print $1 }"; }
die() { echo "vs_goka: $*" >&2; exit 1; }

# measure NAME CMD...: runs CMD under /usr/bin/time; $work/NAME.time holds
# "wall user sys maxrss_kb", $work/NAME.err its stderr.
measure() {
  local name=$1
  shift
  if ! /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" timeout "$LIMIT" "$@" \
      >"$work/$name.out" 2>"$work/$name.err"; then
    echo "vs_goka: $name failed:" >&2
    tail -5 "$work/$name.err" >&2
    exit 1
  fi
  tail -1 "$work/$name.time" >"$work/$name.t"
}
field() { cut -d' ' -f"$2" "$work/$1.t"; }
cpu() { calc "$(field "$1" 2) + $(field "$1" 3)"; }

# check_topic TOPIC RECORDS: every record there, nothing trimmed.
check_topic() {
  local low high
  read -r low high < <("$GO" watermarks -b "$B" -topic "$1")
  [ "$low" -eq 0 ] || die "$1: low watermark $low: the broker trimmed records (use fewer or smaller messages)"
  [ "$high" -eq "$2" ] || die "$1 has $high records, not $2"
}

# check_table TABLE: KEYS rows whose counts add up to N.
check_table() {
  "$CLI" -q -b "$B" view "$1" --all |
    awk -v keys="$KEYS" -v n="$N" -F'"value":' '{ rows++; sum += $2 + 0 }
      END { if (rows != keys || sum != n) { printf "%d rows, sum %d: want %d rows, sum %d\n", rows, sum, keys, n; exit 1 } }' ||
    die "table $1 is wrong"
}

# span TABLE: seconds from the first to the last record written to TABLE.
span() {
  kcat -b "$B" -q -C -t "$1" -e -f '%T\n' | sort -n |
    awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.3f", (b - a) / 1000 }'
}

# row LABEL CLI_NAME GO_NAME [CLI_WALL]: one line of the report.
row() {
  local c=$2 g=$3 cw=${4:-$(field "$2" 1)} gw
  gw=$(field "$g" 1)
  printf '  %-34s %7.2f s %8.0f/s %6.2f cpu %5.0f MB | %7.2f s %8.0f/s %6.2f cpu %5.0f MB | wall %5.2fx  cpu %5.2fx  rss %5.2fx\n' \
    "$1" "$cw" "$(calc "$N / $cw")" "$(cpu "$c")" "$(calc "$(field "$c" 4) / 1024")" \
    "$gw" "$(calc "$N / $gw")" "$(cpu "$g")" "$(calc "$(field "$g" 4) / 1024")" \
    "$(calc "$gw / $cw")" "$(calc "$(cpu "$g") / $(cpu "$c")")" "$(calc "$(field "$g" 4) / $(field "$c" 4)")"
}

tables=(cli-memory cli-leveldb go-memory go-leveldb)

# bench LABEL: the whole comparison on the broker at $B, topic names ending in $X.
bench() {
  local label=$1 s
  rm -rf "$work"/db-* "$work"/view-*
  measure cli-emit "$CLI" -q -b "$B" emit "emit-cli$X" --input kv --codec string <"$work/input.kv"
  measure go-emit "$GO" emit -b "$B" -topic "emit-go$X" <"$work/input.kv"
  check_topic "emit-cli$X" "$N"
  check_topic "emit-go$X" "$N"

  for s in memory leveldb; do
    local store=memory gostore=memory
    [ "$s" = leveldb ] && store="$work/db-cli" gostore="$work/db-go"
    measure "cli-count-$s" "$CLI" -v -b "$B" run-group "cli-$s$X" -i "emit-cli$X" --op count \
      --storage "$store" --until-idle "$IDLE"
    measure "go-count-$s" "$GO" count -b "$B" -group "go-$s$X" -input "emit-cli$X" -n "$N" -storage "$gostore"
  done
  for t in "${tables[@]}"; do check_topic "$t$X-table" "$N"; check_table "$t$X-table"; done

  measure cli-view-memory "$CLI" -q -b "$B" view "cli-memory$X-table" --all
  [ "$(wc -l <"$work/cli-view-memory.out")" -eq "$KEYS" ] || die "goka-cli view printed $(wc -l <"$work/cli-view-memory.out") rows"
  measure go-view-memory "$GO" view -b "$B" -table "cli-memory$X-table" -storage memory -keys "$KEYS"
  measure cli-view-leveldb "$CLI" -q -b "$B" recover "cli-memory$X-table" --storage "$work/view-cli"
  measure go-view-leveldb "$GO" view -b "$B" -table "cli-memory$X-table" -storage "$work/view-go" -keys "$KEYS"

  echo "goka-cli vs Go Goka on $label: $N messages, $KEYS keys, $PARTS partitions"
  printf '  %-34s %-40s | %-40s | %s\n' "" "goka-cli: wall, rate, CPU s, peak RSS" "Go Goka: wall, rate, CPU s, peak RSS" "Go Goka / goka-cli"
  row "emit" cli-emit go-emit
  for s in memory leveldb; do
    row "count, $s (process)" "cli-count-$s" "go-count-$s" "$(calc "$(field "cli-count-$s" 1) - $IDLE")"
    local cs gs
    cs=$(span "cli-$s$X-table") gs=$(span "go-$s$X-table")
    printf '  %-34s %7.2f s %8.0f/s %-23s | %7.2f s %8.0f/s %-23s | span %5.2fx\n' "count, $s (first->last write)" \
      "$cs" "$(calc "$N / $cs")" "" "$gs" "$(calc "$N / $gs")" "" "$(calc "$gs / $cs")"
  done
  row "view recovery, memory" cli-view-memory go-view-memory
  row "view recovery, LevelDB" cli-view-leveldb go-view-leveldb
  echo "  (goka-cli's count wall time is minus --until-idle $IDLE s; both include the group join;"
  echo "   ratios > 1 mean goka-cli is faster or uses less; Go Goka's producer compresses with snappy)"
}

# On the embedded broker: every topic created up front.
if [ "${SKIP_EMBEDDED:-0}" != 1 ]; then
topics=(-t "emit-cli:$PARTS" -t "emit-go:$PARTS")
for t in "${tables[@]}"; do topics+=(-t "$t-table:$PARTS"); done
"$CLI" broker "${topics[@]}" --address-file "$work/address" >/dev/null 2>&1 &
broker=$!
for _ in $(seq 200); do [ -s "$work/address" ] && break; sleep 0.05; done
[ -s "$work/address" ] || die "the embedded broker did not start"
B=$(cat "$work/address") X=""
bench "the embedded broker"
kill "$broker"; wait "$broker" 2>/dev/null || true; broker=""
fi

# On a real Kafka, when there is one.
B=${GOKA_TEST_BROKERS:-}
if [ -z "$B" ] && [ -f "$SRC/scripts/kafka.sh" ] && command -v java >/dev/null 2>&1; then
  B=$(bash "$SRC/scripts/kafka.sh" start | tail -1) && kafka_started=1 || B=""
fi
if [ -z "$B" ]; then
  echo "vs_goka: no real Kafka (set GOKA_TEST_BROKERS, or scripts/kafka.sh with Java): ran on the embedded broker only"
  exit 0
fi
# Topics of this run (a real cluster keeps them); tables are not compacted, so
# that every record of the count stays for the view's recovery.
X="-$(date +%s)"
for t in emit-cli emit-go; do "$GO" create -b "$B" -topic "$t$X" -partitions "$PARTS"; done
for t in "${tables[@]}"; do "$GO" create -b "$B" -topic "$t$X-table" -partitions "$PARTS"; done
bench "a real Kafka ($B)"
