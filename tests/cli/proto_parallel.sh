# dump and view decode protobuf values on decoder threads (GOKA_DECODE_THREADS):
# the output is byte for byte what one thread prints (record order, a value
# that does not decode in the middle as value_b64/value_error), and -c N,
# --until, --table and SIGINT end it exactly as without threads; the same for
# view --all/--prefix and dump --storage.
source "$(dirname "$0")/lib.sh"
start_broker -t seq:1 -t spread:4 -t seq-table:3
D=$SRC/tests/data/proto
ORDER=(--codec proto:shop.Order --proto "$D/shop/order.proto" --proto-path "$D")
N=3000     # records of seq: N/2 orders, one that is not an order, N/2 - 1 orders
BAD=1500   # the offset of the bad one

# orders FROM TO: envelope lines of orders FROM..TO-1, timestamp 1000 + i.
orders() {
  awk -v from="$1" -v to="$2" 'BEGIN { for (i = from; i < to; i++) printf \
    "{\"key\":\"k-%d\",\"timestamp\":%d,\"value\":{\"orderId\":\"o-%d\",\"customerId\":\"%d\",\"status\":\"STATUS_PAID\",\"lines\":[{\"sku\":\"s-%d\",\"quantity\":%d}],\"tags\":[\"t\"],\"counters\":{\"n\":\"%d\"},\"weightKg\":%d.5}}\n", \
    i % 700, 1000 + i, i, i * 31, i % 9, i % 5 + 1, i, i % 3 }'
}
orders 0 $BAD | "$CLI" -q emit seq "${ORDER[@]}"
printf '{"key":"bad","timestamp":%d,"value":"not an order"}\n' $((1000 + BAD)) |
  "$CLI" -q emit seq --codec string
orders $((BAD + 1)) $N | "$CLI" -q emit seq "${ORDER[@]}"
orders 0 $N | "$CLI" -q emit spread "${ORDER[@]}"

# dump_with THREADS OUT ARGS...: dump ARGS with that many decoder threads into OUT.
dump_with() {
  local threads=$1 out=$2
  shift 2
  GOKA_DECODE_THREADS=$threads "$CLI" -q dump "$@" >"$out" 2>"$WORK/err" ||
    fail "dump $* with $threads threads: exit $?: $(head -3 "$WORK/err")"
}

# --- one thread is the reference; 1, 2 and 3 decoder threads print the same bytes.
dump_with 0 "$WORK/ref" seq "${ORDER[@]}"
same "$(grep -c . "$WORK/ref")" $N "records dumped"
python3 - "$WORK/ref" $BAD <<'EOF' || fail "reference dump"
import json, sys
bad = int(sys.argv[2])
for i, line in enumerate(open(sys.argv[1])):
    r = json.loads(line)
    assert r["offset"] == i, (i, r["offset"])
    if i == bad:
        assert "value" not in r and r["value_b64"] and "shop.Order" in r["value_error"], r
    else:
        assert r["value"]["orderId"] == f"o-{i}", r
EOF
for threads in 1 2 3; do
  dump_with $threads "$WORK/par" seq "${ORDER[@]}"
  cmp -s "$WORK/ref" "$WORK/par" || fail "$threads decoder threads: not the same output ($(cmp "$WORK/ref" "$WORK/par" 2>&1))"
done

# --- -c N stops after exactly N records, the bad one included or not.
for count in 1 511 512 1500 1501 2999; do
  dump_with 2 "$WORK/par" seq "${ORDER[@]}" -c $count
  head -n $count "$WORK/ref" | cmp -s - "$WORK/par" || fail "-c $count: $(wc -l <"$WORK/par") lines, or not the first $count"
done

# --- --until s@MS: each partition up to its first record after MS.
dump_with 2 "$WORK/par" seq "${ORDER[@]}" --until s@$((1000 + BAD))
head -n $((BAD + 1)) "$WORK/ref" | cmp -s - "$WORK/par" || fail "--until: $(wc -l <"$WORK/par") lines"

# --- several partitions: each partition's records in offset order, the same set.
dump_with 0 "$WORK/ref4" spread "${ORDER[@]}"
dump_with 2 "$WORK/par4" spread "${ORDER[@]}"
for p in 0 1 2 3; do
  cmp -s <(grep "\"partition\":$p," "$WORK/ref4") <(grep "\"partition\":$p," "$WORK/par4") ||
    fail "partition $p differs with decoder threads"
done
same "$(grep -c . "$WORK/par4")" $N "records of spread"

# --- --table: rows sorted by key, decoded on the threads.
dump_with 0 "$WORK/ref" seq --table "${ORDER[@]}"
dump_with 2 "$WORK/par" seq --table "${ORDER[@]}"
cmp -s "$WORK/ref" "$WORK/par" || fail "dump --table differs with decoder threads"
same "$(grep -c . "$WORK/par")" 701 "dump --table rows"
grep -q '^{"key":"bad","value_b64":"bm90IGFuIG9yZGVy","value_error":' "$WORK/par" ||
  fail "dump --table bad row: $(grep bad "$WORK/par")"

# --- view --all / --prefix and dump --storage (-c): rows in key order, decoded on the threads.
"$CLI" -q dump seq --codec bytes | "$CLI" -q emit seq-table --codec bytes
view_with() {
  local threads=$1 out=$2
  shift 2
  GOKA_DECODE_THREADS=$threads "$CLI" -q "$@" >"$out" 2>"$WORK/err" ||
    fail "$* with $threads threads: exit $?: $(head -3 "$WORK/err")"
}
view_with 0 "$WORK/ref" view seq-table --all "${ORDER[@]}"
same "$(grep -c . "$WORK/ref")" 701 "view --all rows"
grep -q '^{"key":"bad","value_b64":"bm90IGFuIG9yZGVy","value_error":' "$WORK/ref" ||
  fail "view --all bad row: $(grep bad "$WORK/ref")"
view_with 2 "$WORK/par" view seq-table --all "${ORDER[@]}"
cmp -s "$WORK/ref" "$WORK/par" || fail "view --all differs with decoder threads"
view_with 0 "$WORK/ref" view seq-table --prefix k-1 "${ORDER[@]}"
view_with 3 "$WORK/par" view seq-table --prefix k-1 "${ORDER[@]}"
cmp -s "$WORK/ref" "$WORK/par" || fail "view --prefix differs with decoder threads"
"$CLI" -q recover seq-table --storage "$WORK/db" >/dev/null
view_with 0 "$WORK/ref" dump --storage "$WORK/db" seq-table "${ORDER[@]}"
view_with 2 "$WORK/par" dump --storage "$WORK/db" seq-table "${ORDER[@]}"
cmp -s "$WORK/ref" "$WORK/par" || fail "dump --storage differs with decoder threads"
view_with 2 "$WORK/par" dump --storage "$WORK/db" "${ORDER[@]}" -c 600
same "$(grep -c . "$WORK/par")" 600 "dump --storage -c 600"
grep -v '"topic":"seq-table"' "$WORK/par" && fail "dump --storage rows without their topic"

# --- --follow and SIGINT: what was printed is in order, exit 130.
GOKA_DECODE_THREADS=2 "$CLI" -q dump seq -f "${ORDER[@]}" >"$WORK/follow" 2>"$WORK/err" &
pid=$!
await "[ \$(grep -c . '$WORK/follow') -ge $N ]" 30 || fail "dump -f printed $(grep -c . "$WORK/follow") lines"
kill -INT $pid
got=0
wait $pid || got=$?
same "$got" 130 "dump -f exit on SIGINT"
dump_with 0 "$WORK/ref" seq "${ORDER[@]}"
cmp -s "$WORK/ref" "$WORK/follow" || fail "dump -f with decoder threads: not the same output"

# --- a bad GOKA_DECODE_THREADS is a usage error (exit 2).
run 2 env GOKA_DECODE_THREADS=lots "$CLI" dump seq "${ORDER[@]}"
err_has 'invalid GOKA_DECODE_THREADS "lots"'

finish
