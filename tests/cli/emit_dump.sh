# emit and dump from a shell, with kcat, an independent client, checking what
# goka-cli wrote and read.
source "$(dirname "$0")/lib.sh"
start_broker -t clicks:8 -t copy:8 -t bad:2 -t table:4 -t raw:1 -t times:2
K="kcat -b $GOKA_BROKERS -q"

# --- emit: one message from arguments, Goka's partition, value compacted.
run 0 "$CLI" emit clicks user-1 '{ "n": 1 }'
out_empty
err_has "1 message"
p=$("$CLI" partition user-1 -n 8)
same "$($K -C -t clicks -e -f '%k %p %s\n')" "user-1 $p {\"n\":1}" "kcat sees the message"

# --- emit --input kv: 300 lines, every key on its Goka partition.
for i in $(seq 1 300); do printf 'user-%d\t{"n":%d}\n' $((i % 17)) "$i"; done >"$WORK/kv"
run 0 "$CLI" emit clicks --input kv <"$WORK/kv"
err_has "300 messages"
$K -C -t clicks -e -f '%k %p\n' | sort -u >"$WORK/placed"
same "$(wc -l <"$WORK/placed")" "17" "distinct key/partition pairs"
while read -r key part; do
  same "$("$CLI" partition "$key" -n 8)" "$part" "partition of $key"
done <"$WORK/placed"
same "$($K -C -t clicks -e -f '%s\n' | wc -l)" "301" "records in clicks"

# --- dump: envelope lines, the end of every partition, then exit 0.
run 0 "$CLI" dump clicks
same "$(wc -l <"$WORK/out")" "301" "dump lines"
python3 - "$WORK/out" <<'PY' || fail "envelope lines"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert set(r) == {"topic", "partition", "offset", "timestamp", "key", "value", "headers"}, r
    assert r["topic"] == "clicks" and isinstance(r["value"], dict) and r["timestamp"] > 0
PY

# -c, -p, -o, --format
run 0 "$CLI" dump clicks -c 5
same "$(wc -l <"$WORK/out")" "5" "dump -c 5"
run 0 "$CLI" dump clicks -p "$p" --format '%p\n'
same "$(sort -u "$WORK/out")" "$p" "dump -p"
same "$(wc -l <"$WORK/out")" "$($K -C -t clicks -p "$p" -e -f '%o\n' | wc -l)" "dump -p count"
run 0 "$CLI" dump clicks -p "$p" -o -2 --format '%o\n'
same "$(wc -l <"$WORK/out")" "2" "dump -o -2"
run 0 "$CLI" dump clicks -p "$p" -o end
out_empty
run 0 "$CLI" dump clicks -p "$p" -o 1 -c 1 --format '%o|%k|%t\n'
grep -qE "^1\|user-[0-9]+\|clicks$" "$WORK/out" || fail "dump -o 1: $(cat "$WORK/out")"
run 2 "$CLI" dump clicks -o yesterday
error_line

# --- dump -o s@MS: from the first record at or after a time, in every
# partition (a real Kafka looks the offsets up by time).
base=1700000000000
for i in $(seq 0 9); do
  printf '{"key":"t-%d","value":%d,"timestamp":%d}\n' $((i % 3)) "$i" $((base + i * 1000))
done | "$CLI" -q emit times
run 0 "$CLI" dump times -o "s@$((base + 6500))" --format '%s\n'
same "$(sort -n "$WORK/out" | tr '\n' ' ')" "7 8 9 " "dump -o s@MS"
run 0 "$CLI" dump times -o "s@$((base + 2000))" --format '%t %s\n'
same "$(sort -k2 -n "$WORK/out" | head -1)" "times 2" "dump -o s@MS at a record's time"
run 0 "$CLI" dump times -o "s@$((base + 20000))"
out_empty

# --- replay: dump | emit keeps key, value, headers and timestamp.
run 0 "$CLI" emit clicks hdr '"h"' -H trace=abc -H span=1
"$CLI" dump clicks | "$CLI" -q emit copy
$K -C -t clicks -e -J >"$WORK/a.json"
$K -C -t copy -e -J >"$WORK/b.json"
python3 - "$WORK/a.json" "$WORK/b.json" <<'PY' || fail "replay differs"
import json, sys
def load(p):
    rows = [json.loads(l) for l in open(p)]
    return sorted((r["key"], r["payload"], r["ts"], r["partition"], json.dumps(r.get("headers"))) for r in rows)
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == 302 and a == b, (len(a), len(b))
assert any(r[4] == json.dumps(["trace", "abc", "span", "1"]) for r in a)
PY

# --- invalid input: exit 2 naming the line; what came before is delivered.
printf '{"key":"a","value":1}\n{"key":"b","value":2}\n{"key":"c","value":\n{"key":"d","value":4}\n' >"$WORK/bad.jsonl"
run 2 "$CLI" emit bad <"$WORK/bad.jsonl"
error_line
err_has "line 3"
same "$($K -C -t bad -e -f '%k\n' | sort | tr '\n' ' ')" "a b " "lines before the bad one"
run 0 "$CLI" emit bad --skip-invalid <"$WORK/bad.jsonl"
err_has "1 invalid line skipped"
same "$($K -C -t bad -e -f '%k\n' | sort | tr '\n' ' ')" "a a b b d " "--skip-invalid"
printf 'no-delimiter-here\n' | run 2 "$CLI" emit bad --input kv
err_has "line 1"
run 2 "$CLI" emit bad k 'not json'
error_line

# --- tombstones and --table.
printf 'x\t1\ny\t2\nx\t3\nz\t4\n' | "$CLI" -q emit table --input kv
printf 'y\t\n' | "$CLI" -q emit table --input kv -Z
same "$($K -C -t table -e -f '%k:%S\n' | grep '^y' | tail -1)" "y:-1" "kcat sees a null value"
run 0 "$CLI" dump table --table
same "$(cat "$WORK/out" | tr '\n' ' ')" '{"key":"x","value":3} {"key":"z","value":4} ' "dump --table"
echo '{"key":"z","value":null}' | "$CLI" -q emit table
run 0 "$CLI" dump table --table
same "$(cat "$WORK/out")" '{"key":"x","value":3}' "a null envelope value is a tombstone"

# --- codecs: a value that does not decode is shown, not fatal.
printf 'k1\tplain text\n' | "$CLI" -q emit raw --input kv --codec string
"$CLI" -q emit raw k2 42 --codec int64
same "$($K -C -t raw -e -f '%s\n' | tail -1)" "42" "int64 is decimal text on the wire"
run 0 "$CLI" dump raw
grep -q '"value_b64":"cGxhaW4gdGV4dA=="' "$WORK/out" || fail "undecodable value: $(cat "$WORK/out")"
grep -q '"value_error"' "$WORK/out" || fail "no value_error"
run 0 "$CLI" dump raw --codec string --format '%k=%s\n'
same "$(cat "$WORK/out" | tr '\n' ' ')" "k1=plain text k2=42 " "string codec"
run 0 "$CLI" dump raw --codec bytes -c 1
grep -q '"value":"cGxhaW4gdGV4dA=="' "$WORK/out" || fail "bytes codec: $(cat "$WORK/out")"

# --- kcat writes, goka-cli reads (keys, null values, headers).
printf 'kc1:{"a":1}\n' | $K -P -t raw -K: -H src=kcat
run 0 "$CLI" dump raw -o -1
python3 - "$WORK/out" <<'PY' || fail "kcat record as envelope: $(cat "$WORK/out")"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["key"] == "kc1" and r["value"] == {"a": 1} and r["headers"] == {"src": "kcat"}, r
PY

# --- output to a closed pipe ends quietly.
rc=0
"$CLI" dump clicks 2>"$WORK/pipe.err" | head -1 >/dev/null || rc=$?
[ ! -s "$WORK/pipe.err" ] || fail "dump | head wrote to stderr: $(cat "$WORK/pipe.err")"

finish
