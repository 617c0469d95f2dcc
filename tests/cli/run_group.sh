# run-group from a shell: Goka's click count (exact, restarts, two instances,
# kill -9 mid-backlog), --exec handlers (join, lookup, loopback, emits), and failures that
# stop the group without committing past them. kcat checks the table topic.
source "$(dirname "$0")/lib.sh"
start_broker -t clicks:4 -t counts-table:4 -t counts2-table:4 -t users:4 -t profiles-table:4 \
  -t enriched-table:4 -t enriched-loop:4 -t out:4 -t regions-table:1 -t bad:2 -t bad-table:2 \
  -t dead-table:4 -t twice-table:4 -t backlog:4
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

# --- two instances split the partitions and count exactly. The first
# commits the backlog before the second joins, and new clicks come once both
# own their partitions: the embedded broker refuses commits while a group
# rebalances, which would make a correct instance count twice.
"$CLI" -v run-group counts2 -i clicks --op count --until-idle 15 2>"$WORK/one.err" &
one=$!
await "\"\$CLI\" status counts2 --json 2>/dev/null | grep -q '\"total\":{\"committed\":300,'" 60 ||
  fail "the first instance did not commit the backlog: $(cat "$WORK/one.err")"
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

# --- kill -9 mid-backlog, three times, then a clean run: no key is counted
# less often than it was clicked; what was counted twice is reported. The
# counting handler takes 5 ms a message, so the backlog takes seconds: each
# kill comes once the group committed more than before and is checked to
# have left part of the backlog uncommitted. LevelDB storage, as in real use.
# A killed member is replaced once its session expires: 6 s, not the default 10 s.
backlog=1200
for i in $(seq 1 $backlog); do printf 'user-%d\t{}\n' $((i % 10)); done |
  "$CLI" -q emit backlog --input kv
cat >"$WORK/slow_count.py" <<'PY'
import json, sys, time
pause = float(sys.argv[1])
for line in sys.stdin:
    request = json.loads(line)
    time.sleep(pause)
    print(json.dumps({"state": (request["state"] or 0) + 1}), flush=True)
PY
# One instance of group twice: "${twice[@]}" --exec "python3 $WORK/slow_count.py SECONDS".
twice=("$CLI" -q -X session.timeout.ms=6000 run-group twice -i backlog --storage "$WORK/twice")
committed() {  # the offsets group twice committed, summed over the partitions
  "$CLI" status twice --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["committed"])' 2>/dev/null ||
    echo 0
}
progressed() { [ "$(committed)" -gt "$1" ]; }
last=0
for round in 1 2 3; do
  "${twice[@]}" --exec "python3 $WORK/slow_count.py 0.005" 2>>"$WORK/twice.err" &
  pid=$!  # goka-cli itself: kill -9 must hit it, not a subshell
  await "progressed $last" 60 || fail "kill round $round: nothing committed within 60 s"
  kill -9 $pid
  wait $pid 2>/dev/null || true
  now=$(committed)
  [ "$now" -lt "$backlog" ] || fail "kill round $round came after the backlog was done ($now)"
  [ "$now" -gt "$last" ] || fail "kill round $round: committed went from $last to $now"
  echo "kill -9 round $round: killed with $now of $backlog committed" >&2
  last=$now
done
run 0 "${twice[@]}" --exec "python3 $WORK/slow_count.py 0" --until-idle 1
[ "$(committed)" -eq "$backlog" ] || fail "the clean run did not commit the backlog: $(committed)"
$K -C -t backlog -e -f '%k\n' >"$WORK/clicked"
"$CLI" dump twice-table --table >"$WORK/counted"
python3 - "$WORK/clicked" "$WORK/counted" <<'PY' || fail "clicks lost after kill -9"
import collections, json, sys
clicked = collections.Counter(line.strip() for line in open(sys.argv[1]) if line.strip())
counted = {r["key"]: r["value"] for r in map(json.loads, open(sys.argv[2]))}
lost = {k: (n, counted.get(k, 0)) for k, n in clicked.items() if counted.get(k, 0) < n}
twice = sum(counted.values()) - sum(clicked.values())
print(f"kill -9 x3: {sum(counted.values())} counted for {sum(clicked.values())} clicks "
      f"({twice} counted twice)", file=sys.stderr)
if lost:
    print(f"keys counted less than clicked (clicked, counted): {lost}", file=sys.stderr)
sys.exit(1 if lost or set(counted) - set(clicked) else 0)
PY

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
