# view, recover and dump --storage from a shell. kcat writes the tables
# (updates and tombstones, on Goka's partitions); python3-plyvel reads the
# LevelDB storages that recover writes, outside our code.
source "$(dirname "$0")/lib.sh"
start_broker -t tbl:4 -t other:2 -t g1-table:2
K="kcat -b $GOKA_BROKERS -q"
# Debian's python3 has python3-plyvel, whatever python3 comes first in PATH.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# KEY:VALUE lines on stdin into topic $1, on Goka's partitions; an empty
# value is a tombstone.
produce() { $K -P -t "$1" -K: -Z -X partitioner=fnv1a; }

printf '%s\n' 'user-1:{"n":1}' 'user-2:{"n":2}' 'user-1:{"n":11}' 'user-3:{"n":3}' \
  'user-2:' 'alpha:"a"' 'beta:"b"' 'user-4:{"n":4}' | produce tbl
N=8

# --- view KEY...: found and missing keys, exit 3 after every line.
run 0 "$CLI" view tbl user-1 alpha
out_is '{"key":"user-1","value":{"n":11}}
{"key":"alpha","value":"a"}'
run 3 "$CLI" view tbl user-1 user-2 nobody
out_is '{"key":"user-1","value":{"n":11}}
{"key":"user-2","value":null,"found":false}
{"key":"nobody","value":null,"found":false}'
[ "$(grep -c 'error' "$WORK/err")" -eq 0 ] || fail "a missing key is not an error line: $(cat "$WORK/err")"
# Only the partition of the key is read.
run 0 "$CLI" -v view tbl user-1
err_has "from 1 partition(s)"

# The keys of the rows in $WORK/out, on one line.
keys_out() { sed 's/^{"key":"\([^"]*\)".*/\1/' "$WORK/out" | tr '\n' ' '; }

# --- --all, --prefix, --range: rows in key order.
run 0 "$CLI" view tbl --all
out_is '{"key":"alpha","value":"a"}
{"key":"beta","value":"b"}
{"key":"user-1","value":{"n":11}}
{"key":"user-3","value":{"n":3}}
{"key":"user-4","value":{"n":4}}'
run 0 "$CLI" view tbl --prefix user-
same "$(keys_out)" "user-1 user-3 user-4 " "--prefix"
run 0 "$CLI" view tbl --range beta user-3
same "$(keys_out)" "beta user-1 " "--range"
run 0 "$CLI" view tbl --range user-3 ""
same "$(keys_out)" "user-3 user-4 " "open --range"
run 0 "$CLI" view tbl --prefix zzz
out_empty
run 2 "$CLI" view tbl user-1 --all
error_line
run 2 "$CLI" view tbl
error_line

# --- a missing table topic: exit 3, one error line naming it.
run 3 "$CLI" view no-such-table some-key
error_line
err_has "no-such-table"
run 3 "$CLI" view no-such-table --all --storage "$WORK/none"
error_line
[ ! -e "$WORK/none" ] || fail "a missing table created storage"

# --- codecs: undecodable values are shown, not fatal; --codec string.
printf '%s\n' 'raw:plain text' 'num:42' | produce other
run 0 "$CLI" view other raw num
grep -q '"key":"raw","value_b64":"cGxhaW4gdGV4dA==","value_error"' "$WORK/out" ||
  fail "undecodable value: $(cat "$WORK/out")"
grep -qx '{"key":"num","value":42}' "$WORK/out" || fail "json 42: $(cat "$WORK/out")"
run 0 "$CLI" view other raw --codec string
out_is '{"key":"raw","value":"plain text"}'

# --- --group G reads G-table; every positional is a KEY.
printf '%s\n' 'k1:1' 'k2:2' | produce g1-table
run 0 "$CLI" view --group g1 k2 k1
out_is '{"key":"k2","value":2}
{"key":"k1","value":1}'

# The expected state of topic $1 as kcat reads it: per partition, the
# latest value per key and the last offset.
expected_state() {
  $K -C -t "$1" -e -J >"$WORK/records.json"
  $PY - "$WORK/records.json" >"$WORK/expected.json" <<'PY'
import json, sys
state = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    p = state.setdefault(str(r["partition"]), {"rows": {}, "offset": -1})
    p["offset"] = max(p["offset"], r["offset"])
    if r["payload"] is None:
        p["rows"].pop(r["key"], None)
    else:
        p["rows"][r["key"]] = r["payload"]
print(json.dumps(state))
PY
}

# Checks the LevelDB storages of topic $2 (partitions $3) under $1 with
# plyvel against expected_state.
check_leveldb() {
  $PY - "$1" "$2" "$3" "$WORK/expected.json" <<'PY' || fail "LevelDB under $1 differs from the topic"
import json, sys, plyvel
root, topic, n, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.load(open(sys.argv[4]))
for p in range(n):
    db = plyvel.DB(f"{root}/{topic}.{p}", create_if_missing=False)
    rows = {k.decode(): v.decode() for k, v in db if k != b"__offset"}
    offset = db.get(b"__offset")
    db.close()
    want = expected.get(str(p), {"rows": {}, "offset": -1})
    assert rows == want["rows"], (p, rows, want["rows"])
    if want["offset"] < 0:
        assert offset is None, (p, offset)
    else:
        assert offset == str(want["offset"]).encode(), (p, offset, want["offset"])
PY
}

summary_is() {  # table partitions records keys
  $PY - "$WORK/out" "$@" <<'PY' || fail "recover summary: $(cat "$WORK/out")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
assert list(s) == ["table", "partitions", "records", "keys", "seconds"], s
assert [s["table"], s["partitions"], s["records"], s["keys"]] == \
    [sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])], s
assert isinstance(s["seconds"], (int, float)) and s["seconds"] >= 0, s
PY
}

# --- recover: Goka's layout, checked with plyvel.
DB=$WORK/db
run 0 "$CLI" recover tbl --storage "$DB"
summary_is tbl 4 $N 5
err_has "recover: $N records"
expected_state tbl
check_leveldb "$DB" tbl 4
run 0 "$CLI" -q recover tbl --storage "$DB"
summary_is tbl 4 0 5
[ ! -s "$WORK/err" ] || fail "recover -q wrote to stderr: $(cat "$WORK/err")"

# New records: the next recover reads only those.
printf '%s\n' 'user-5:{"n":5}' 'user-1:{"n":111}' 'beta:' | produce tbl
N=$((N + 3))
run 0 "$CLI" recover tbl --storage "$DB"
summary_is tbl 4 3 5
expected_state tbl
check_leveldb "$DB" tbl 4

run 0 "$CLI" recover --group g1 --storage "$DB"
summary_is g1-table 2 2 2
run 2 "$CLI" recover tbl
error_line
run 3 "$CLI" recover no-such-table --storage "$DB"
error_line
err_has "no-such-table"

# --- dump --storage: the rows, and each partition's __offset on stderr.
run 0 "$CLI" view tbl --all
cp "$WORK/out" "$WORK/view-all"
run 0 "$CLI" dump --storage "$DB" tbl
cmp -s "$WORK/out" "$WORK/view-all" || fail "dump --storage differs from view --all: $(cat "$WORK/out")"
for p in 0 1 2 3; do
  last=$($K -C -t tbl -p $p -e -f '%o\n' | tail -1)
  if [ -n "$last" ]; then err_has "tbl.$p __offset=$last"; else err_has "tbl.$p __offset=none"; fi
done
run 0 "$CLI" -q dump --storage "$DB" tbl -c 2
same "$(wc -l <"$WORK/out")" "2" "dump --storage -c 2"
[ ! -s "$WORK/err" ] || fail "dump --storage -q wrote to stderr: $(cat "$WORK/err")"
run 0 "$CLI" dump --storage "$DB"
same "$(grep -c '^{"topic":"g1-table",' "$WORK/out")" "2" "dump --storage of every topic: g1-table"
same "$(grep -c '^{"topic":"tbl",' "$WORK/out")" "$(wc -l <"$WORK/view-all")" \
  "dump --storage of every topic: tbl"
mkdir -p "$WORK/empty"
run 3 "$CLI" dump --storage "$WORK/empty"
error_line
run 3 "$CLI" dump --storage "$DB" no-such-topic
error_line
run 2 "$CLI" dump
error_line
run 2 "$CLI" dump --storage "$DB" tbl -f
error_line

# --- view --storage: the second run reads only what is new.
VS=$WORK/view
run 0 "$CLI" -v view tbl --all --storage "$VS"
err_has "view: $N records of tbl"
cmp -s "$WORK/out" "$WORK/view-all" || fail "view --storage differs from view in memory"
printf '%s\n' 'user-6:{"n":6}' 'alpha:"A"' | produce tbl
N=$((N + 2))
run 0 "$CLI" -v view tbl user-6 alpha --storage "$VS"
err_has "view: 2 records of tbl"
out_is '{"key":"user-6","value":{"n":6}}
{"key":"alpha","value":"A"}'
# view --storage and recover share Goka's layout: recover reads only what
# view did not.
run 0 "$CLI" recover tbl --storage "$VS"
summary_is tbl 4 0 6

# --- --watch: every later change as an envelope line, until SIGINT (exit 0).
"$CLI" view tbl --all --watch >"$WORK/watch.out" 2>"$WORK/watch.err" &
watch=$!
await "[ \$(wc -l <'$WORK/watch.out') -ge 6 ]"
printf '%s\n' 'user-9:{"n":9}' 'user-3:' | produce tbl
await "grep -q '\"key\":\"user-3\"' '$WORK/watch.out' && grep -q '\"key\":\"user-9\"' '$WORK/watch.out'"
"$CLI" view tbl user-1 --watch >"$WORK/watch1.out" 2>"$WORK/watch1.err" &
watch1=$!
await "[ -s '$WORK/watch1.out' ]"
printf '%s\n' 'user-8:{"n":8}' 'user-1:{"n":1111}' | produce tbl
await "grep -q '\"value\":{\"n\":1111}' '$WORK/watch1.out'"
await "grep -q '\"key\":\"user-8\"' '$WORK/watch.out'"
kill -INT $watch $watch1
rc=0; wait $watch || rc=$?
same "$rc" "0" "view --watch exit on SIGINT"
rc=0; wait $watch1 || rc=$?
same "$rc" "0" "view KEY --watch exit on SIGINT"
$PY - "$WORK/watch.out" "$WORK/watch1.out" <<'PY' || fail "watch lines: $(cat "$WORK/watch.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
rows, changes = lines[:6], lines[6:]
assert all(set(r) == {"key", "value"} for r in rows), rows
assert sorted(c["key"] for c in changes) == ["user-1", "user-3", "user-8", "user-9"], changes
for c in changes:
    assert set(c) == {"topic", "partition", "offset", "timestamp", "key", "value", "headers"}, c
    assert c["topic"] == "tbl", c
by_key = {c["key"]: c for c in changes}
assert by_key["user-3"]["value"] is None and by_key["user-9"]["value"] == {"n": 9}, changes
one = [json.loads(l) for l in open(sys.argv[2])]
assert one[0] == {"key": "user-1", "value": {"n": 111}}, one
assert [c["key"] for c in one[1:]] == ["user-1"] and one[1]["value"] == {"n": 1111}, one
PY

# --- a compacted table (real Kafka only: the embedded broker never compacts):
# many updates of five keys, until the cleaner left gaps in the offsets; view
# and a recover resumed over the gaps show the latest values.
if real_kafka; then
  "$GOKA_CREATE_TOPICS" "$GOKA_BROKERS" compacted-table:2
  # records read vs. offsets spanned, over both partitions
  gaps() {
    $K -C -t compacted-table -e -f '%p %o\n' |
      awk '{n++; if ($2 + 1 > last[$1]) last[$1] = $2 + 1} END {for (p in last) s += last[p]; exit !(n < s)}'
  }
  batch() {  # batch ROUND: 400 updates of k0..k4, the value being the round
    for i in $(seq 0 399); do printf 'k%d\t%d\n' $((i % 5)) "$1"; done | "$CLI" -q emit compacted-table --input kv
  }
  batch 0
  run 0 "$CLI" recover compacted-table --storage "$WORK/compacted"
  round=1
  deadline=$((SECONDS + 90))
  until batch $round && gaps; do
    [ $SECONDS -lt $deadline ] || { fail "no compaction within 90 s"; break; }
    round=$((round + 1))
    sleep 0.5  # segments roll (log.roll.ms) at an append that comes late enough
  done
  want=$(for k in 0 1 2 3 4; do printf '{"key":"k%d","value":%d}\n' $k $round; done)
  run 0 "$CLI" view compacted-table --all
  same "$(cat "$WORK/out")" "$want" "view of a compacted table"
  run 0 "$CLI" recover compacted-table --storage "$WORK/compacted"
  run 0 "$CLI" dump --storage "$WORK/compacted" compacted-table
  same "$(grep -v '__offset' "$WORK/out" | sort)" "$want" "recover resumed over a compacted table"
fi

finish
