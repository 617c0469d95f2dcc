#!/usr/bin/env bash
# Benchmarks of protobuf values (--codec proto:NAME) on one embedded broker:
#  1. dump of N protobuf records decoded to JSON, against `dump --codec bytes`
#     of the same topic (the same I/O and envelope, base64 instead of the
#     JSON mapping); target: at least 0.5x;
#  2. emit of the same N records from JSON, against emit --codec json;
#  3. run-group --op latest over N records with a proto input and table codec,
#     against the same records as JSON with the json codecs.
# Each is measured as wall seconds and CPU seconds (user + sys, /usr/bin/time)
# of the goka-cli process, best of RUNS each; the ratios are bytes or json /
# proto (1.0x = as fast, as cheap). The dump target is on wall time
# (throughput): decoding runs on several threads, so CPU can exceed wall.
# Schema: tests/data/proto/shop/order.proto (nested messages, repeated fields,
# an enum, int64s, a map). Usage: bench/proto.sh [goka-cli] [records]
set -euo pipefail
CLI=$(realpath "${1:-build/goka-cli}")
N=${2:-200000}
RUNS=${RUNS:-3}
PARTS=32
SRC=$(cd "$(dirname "$0")/.." && pwd)
D=$SRC/tests/data/proto
ORDER=(--codec proto:shop.Order --proto "$D/shop/order.proto" --proto-path "$D")
work=$(mktemp -d)
broker=""
cleanup() {
  [ -z "$broker" ] || { kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

topics=(-t "orders:$PARTS" -t "orders-json:$PARTS")
for run in $(seq 1 "$RUNS"); do
  topics+=(-t "emit-proto-$run:$PARTS" -t "emit-json-$run:$PARTS")
  topics+=(-t "latest-proto-$run-table:$PARTS" -t "latest-json-$run-table:$PARTS")
done
"$CLI" broker "${topics[@]}" --address-file "$work/address" >/dev/null 2>&1 &
broker=$!
for _ in $(seq 200); do [ -s "$work/address" ] && break; sleep 0.05; done
[ -s "$work/address" ] || { echo "the embedded broker did not start" >&2; exit 1; }
B=$(cat "$work/address")

# N orders of 10,000 keys, ~100 bytes of protobuf each (~250 as JSON).
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf \
  "{\"key\":\"order-%d\",\"value\":{\"orderId\":\"order-%d\",\"customerId\":\"%d\",\"status\":\"STATUS_PAID\",\"lines\":[{\"sku\":\"sku-%d\",\"quantity\":%d,\"unitPrice\":{\"currency\":\"EUR\",\"units\":\"%d\"}},{\"sku\":\"gift\",\"quantity\":1}],\"tags\":[\"web\",\"eu\"],\"counters\":{\"views\":\"%d\"},\"total\":{\"currency\":\"EUR\",\"units\":\"%d\"},\"weightKg\":1.5}}\n", \
  i % 10000, i % 10000, i * 7919, i % 97, i % 5 + 1, i % 50, i % 13, i % 500 }' >"$work/orders.jsonl"

cpu() {  # cpu NAME cmd...: appends the command's wall and user+sys CPU seconds
  local name=$1
  shift
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$@"
  awk '{ print $1 }' "$work/time" >>"$work/$name.wall"
  awk '{ print $2 + $3 }' "$work/time" >>"$work/$name.cpu"
}
best() { sort -g "$work/$1" | head -1; }
calc() { awk "BEGIN { print $1 }"; }
report() {  # name, ours, theirs' name, theirs
  local kind ours theirs
  for kind in wall cpu; do
    ours=$(best "$2.$kind"); theirs=$(best "$4.$kind")
    printf '%-40s %-4s %7.3f s %6.2f us/rec   %-20s %7.3f s   ratio %.2fx\n' "$1" "$kind" "$ours" \
      "$(calc "$ours * 1000000 / $N")" "$3" "$theirs" "$(calc "$theirs / ($ours > 0 ? $ours : 0.001)")"
  done
}

echo "protobuf: $N records of shop.Order, $PARTS partitions, runs: $RUNS (best of, wall and CPU seconds)"
for run in $(seq 1 "$RUNS"); do
  cpu "emit-proto" "$CLI" -q -b "$B" emit "emit-proto-$run" "${ORDER[@]}" <"$work/orders.jsonl"
  cpu "emit-json" "$CLI" -q -b "$B" emit "emit-json-$run" <"$work/orders.jsonl"
done
"$CLI" -q -b "$B" emit orders "${ORDER[@]}" <"$work/orders.jsonl"
"$CLI" -q -b "$B" emit orders-json <"$work/orders.jsonl"

for run in $(seq 1 "$RUNS"); do
  cpu "dump-bytes" sh -c "'$CLI' -q -b $B dump orders --codec bytes >'$work/bytes.out'"
  cpu "dump-proto" sh -c "'$CLI' -q -b $B dump orders $(printf "'%s' " "${ORDER[@]}") >'$work/proto.out'"
done
for f in bytes proto; do
  lines=$(wc -l <"$work/$f.out")
  [ "$lines" -eq "$N" ] || { echo "dump --codec $f printed $lines lines, not $N" >&2; exit 1; }
done
grep -q '"value_error"' "$work/proto.out" && { echo "dump --codec proto: undecodable records" >&2; exit 1; }

for run in $(seq 1 "$RUNS"); do
  cpu "latest-proto" "$CLI" -q -b "$B" run-group "latest-proto-$run" -i orders --op latest \
    "${ORDER[@]}" --table-codec proto:shop.Order --until-idle 1
  cpu "latest-json" "$CLI" -q -b "$B" run-group "latest-json-$run" -i orders-json --op latest \
    --until-idle 1
done
rows=$("$CLI" -q -b "$B" dump latest-proto-1-table --table "${ORDER[@]}" | wc -l)
[ "$rows" -eq 10000 ] || { echo "run-group --op latest (proto) holds $rows keys, not 10000" >&2; exit 1; }

report "goka-cli dump --codec proto:shop.Order" dump-proto "dump --codec bytes" dump-bytes
report "goka-cli emit --codec proto:shop.Order" emit-proto "emit --codec json" emit-json
report "goka-cli run-group --op latest (proto)" latest-proto "the same with json" latest-json
