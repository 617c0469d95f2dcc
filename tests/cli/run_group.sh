# run-group from a shell: Goka's click count (exact, restarts, two instances,
# kill -9), --exec handlers (join, lookup, loopback, emits), and failures that
# stop the group without committing past them. kcat checks the table topic.
source "$(dirname "$0")/lib.sh"
start_broker -t clicks:4 -t counts-table:4 -t counts2-table:4 -t users:4 -t profiles-table:4 \
  -t enriched-table:4 -t enriched-loop:4 -t out:4 -t regions-table:1 -t bad:2 -t bad-table:2 \
  -t dead-table:4 -t twice-table:4
K="kcat -b $GOKA_BROKERS -q"

clicks() {  # clicks N: N clicks spread over user-0..user-9
  for i in $(seq 1 "$1"); do printf 'user-%d\t{"page":"/p/%d"}\n' $((i % 10)) "$i"; done |
    "$CLI" -q emit clicks --input kv
}
table() { "$CLI" dump "$1" --table --codec "${2:-json}" | tr '\n' ' '; }

# --- click count: exact, in Goka's format (int64 text, Goka's partitioning).
clicks 200
run 0 "$CLI" run-group counts -i clicks --op count --until-idle 1
grep -q "info" "$WORK/err" && fail "info lines without -v: $(head -3 "$WORK/err")"
out_empty
expected=$(for u in 0 1 2 3 4 5 6 7 8 9; do printf '{"key":"user-%d","value":20} ' $u; done)
same "$(table counts-table)" "$expected" "click counts"
$K -C -t counts-table -e -f '%k %p %s\n' >"$WORK/table-topic"
while read -r key part value; do
  same "$("$CLI" partition "$key" -n 4)" "$part" "table partition of $key"
  [[ "$value" =~ ^[0-9]+$ ]] || fail "table value is not int64 text: $value"
done <"$WORK/table-topic"

# --- a restart continues from the committed offsets: no double counting.
clicks 100
run 0 "$CLI" run-group counts -i clicks --op count --until-idle 1 --storage "$WORK/store"
expected=$(for u in 0 1 2 3 4 5 6 7 8 9; do printf '{"key":"user-%d","value":30} ' $u; done)
same "$(table counts-table)" "$expected" "counts after a restart"
[ -d "$WORK/store/counts-table.0" ] || fail "no LevelDB storage in Goka's layout"

# --- two instances split the partitions and count exactly. The clicks come
# once both own their partitions: the embedded broker refuses commits while
# a group rebalances, which would make a correct instance count twice.
"$CLI" -v run-group counts2 -i clicks --op count --until-idle 4 2>"$WORK/one.err" &
one=$!
"$CLI" -v run-group counts2 -i clicks --op count --until-idle 4 2>"$WORK/two.err" &
two=$!
split="assigned partitions [0-9],[0-9]$"
await "grep -q '$split' '$WORK/one.err' && grep -q '$split' '$WORK/two.err'" 40 ||
  fail "the instances did not split the partitions: $(cat "$WORK/one.err" "$WORK/two.err")"
await "grep -q ': recovered$' '$WORK/one.err' && grep -q ': recovered$' '$WORK/two.err'" 30
clicks 100
wait $one || fail "instance one failed: $(cat "$WORK/one.err")"
wait $two || fail "instance two failed: $(cat "$WORK/two.err")"
# -v: one line per event, naming group, topic and partition.
for f in one two; do
  grep -qE '^goka-cli: info: group=counts2 topic=clicks partition=[0-9]: assigned, ' "$WORK/$f.err" ||
    fail "no assigned line in $f: $(head -5 "$WORK/$f.err")"
  grep -qE '^goka-cli: info: group=counts2 topic=counts2-table partition=[0-9]: recovered, ' "$WORK/$f.err" ||
    fail "no table recovery line in $f"
  grep -qE '^goka-cli: info: group=counts2 topic=clicks partition=[0-9]: revoked, committed offset [0-9]+$' "$WORK/$f.err" ||
    fail "no revoked line in $f"
done
expected=$(for u in 0 1 2 3 4 5 6 7 8 9; do printf '{"key":"user-%d","value":40} ' $u; done)
same "$(table counts2-table)" "$expected" "counts of two instances"

# --- kill -9 in the middle, several times, then a clean run: nothing lost.
# A killed member is replaced once its session expires: 6 s, not the default 10 s.
for round in 1 2 3; do
  clicks 100
  "$CLI" -q -X session.timeout.ms=6000 run-group twice -i clicks --op count &
  pid=$!
  await "[ -n \"\$($K -C -t twice-table -e -c 1 -f '%k' 2>/dev/null)\" ]" 30
  kill -9 $pid
  wait $pid 2>/dev/null || true
done
run 0 "$CLI" -X session.timeout.ms=6000 run-group twice -i clicks --op count --until-idle 1
total=$("$CLI" dump twice-table --table | python3 -c 'import json,sys; print(sum(json.loads(l)["value"] for l in sys.stdin))')
[ "$total" -ge 600 ] || fail "clicks lost after kill -9: counted $total of 600"
echo "kill -9 x3: counted $total for 600 clicks ($((total - 600)) counted twice, at least once)" >&2

# --- --exec: join, lookup, emit, loopback.
printf 'user-1\t{"name":"Ann","region":"eu"}\nuser-2\t{"name":"Bob","region":"us"}\n' |
  "$CLI" -q emit profiles-table --input kv
printf 'eu\t"Europe"\nus\t"America"\n' | "$CLI" -q emit regions-table --input kv
printf 'user-1\t{"n":1}\nuser-2\t{"n":2}\nuser-3\t{"n":3}\n' | "$CLI" -q emit users --input kv
cat >"$WORK/handler.py" <<'PY'
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    if req["topic"].endswith("-loop"):
        print(json.dumps({"state": {"looped": req["value"]}}), flush=True)
        continue
    profile = req["joins"].get("profiles-table")
    region = None
    if profile:
        print(json.dumps({"lookup": {"table": "regions-table", "key": profile["region"]}}), flush=True)
        region = json.loads(sys.stdin.readline())["lookup_result"]
    resp = {"state": {"n": req["value"]["n"], "name": profile and profile["name"], "region": region}}
    resp["emit"] = [{"topic": "out", "key": req["key"], "value": region}]
    if req["key"] == "user-3":
        resp = {"loopback": [{"key": "user-3-again", "value": req["value"]["n"]}]}
    print(json.dumps(resp), flush=True)
PY
run 0 "$CLI" run-group enriched -i users --join profiles-table --lookup regions-table -o out --loop \
  --exec "python3 $WORK/handler.py" --until-idle 1
same "$(table enriched-table)" '{"key":"user-1","value":{"n":1,"name":"Ann","region":"Europe"}} {"key":"user-2","value":{"n":2,"name":"Bob","region":"America"}} {"key":"user-3-again","value":{"looped":3}} ' "join, lookup, loopback"
same "$($K -C -t out -e -f '%k=%s\n' | sort | tr '\n' ' ')" 'user-1="Europe" user-2="America" ' "emits"

# --- an undecodable input stops the group, naming topic, partition, offset;
# nothing after it is applied or committed.
printf '{"key":"k","value":1}\n' | "$CLI" -q emit bad -p 0
printf 'k\tnot json\n' | "$CLI" -q emit bad --input kv --codec string -p 0
printf '{"key":"k","value":1}\n' | "$CLI" -q emit bad -p 0
run 1 "$CLI" run-group bad -i bad --op count --until-idle 1
error_line
err_has "topic=bad, partition=0, offset=1"
same "$(table bad-table)" '{"key":"k","value":1} ' "applied before the bad record only"
run 1 "$CLI" run-group bad -i bad --op count --until-idle 1
err_has "offset=1"  # still stuck there: offset 1 was never committed

# --- a handler that dies or answers garbage stops the group (exit 1).
run 1 "$CLI" run-group dead -i clicks --exec "head -c 0" --until-idle 1
error_line
err_has "handler"
run 1 "$CLI" run-group dead -i clicks --exec "sh -c 'while read l; do echo nonsense; done'" --until-idle 1
err_has "garbage"
same "$(table dead-table)" "" "nothing applied by a failing handler"

# --- usage errors.
run 2 "$CLI" run-group g -i clicks
error_line
run 2 "$CLI" run-group g -i clicks --op count --exec cat
run 2 "$CLI" run-group g -i clicks --op median

finish
