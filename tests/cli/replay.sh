# Replaying topics exactly: dump | emit keeps every value's bytes (checked
# with kcat, an independent client), JSON null is a tombstone, emit --rate
# paces, dump --until stops at a time, dump -k reads one key's partition.
source "$(dirname "$0")/lib.sh"
start_broker -t raw1:2 -t raw2:2 -t bin1:1 -t bin2:1 -t nulls:1 -t paced:1 -t times:2 -t keys:4
K="kcat -b $GOKA_BROKERS -q"

# --- json codec: values written by kcat (Go's spellings, odd whitespace, a
# value that is not JSON at all) come back the same but for whitespace.
python3 - "$WORK/values" <<'PY'
import sys
values = [
    b'{"a":1e2,  "s":"\\u003c","f":1.50}',
    b'{ "z" : 1 , "a" : { "y" : [ ] , "b" : null } }',
    b'[1.0, -0, 1E+2, 12345678901234567890123]',
    b'"\\u00e9\\/ \\t"',
    b'{"k":"a  b","n":-0.000}',
    b'not json \xff\x00 at all',
]
with open(sys.argv[1], "wb") as f:
    for i, v in enumerate(values):
        f.write(b"k%d\t%s\n" % (i, v))
PY
$K -P -t raw1 -K $'\t' <"$WORK/values"
run 0 "$CLI" dump raw1
cp "$WORK/out" "$WORK/raw1.jsonl"
run 0 "$CLI" emit raw2 <"$WORK/raw1.jsonl"
err_has "6 messages"
$K -C -t raw1 -e -f '%k\t%s\n' | sort >"$WORK/raw1.kcat"
$K -C -t raw2 -e -f '%k\t%s\n' | sort >"$WORK/raw2.kcat"
python3 - "$WORK/raw1.kcat" "$WORK/raw2.kcat" <<'PY' || fail "json replay changed values: $(cat "$WORK/raw2.kcat")"
import sys
def strip(b):  # JSON whitespace outside strings removed
    out, in_str, esc = bytearray(), False, False
    for c in b:
        if in_str:
            out.append(c)
            if esc: esc = False
            elif c == 0x5C: esc = True
            elif c == 0x22: in_str = False
        elif c == 0x22:
            in_str = True; out.append(c)
        elif c not in b" \t\r\n":
            out.append(c)
    return bytes(out)
a = open(sys.argv[1], "rb").read().splitlines()
b = open(sys.argv[2], "rb").read().splitlines()
assert len(a) == 6 and len(b) == 6, (len(a), len(b))
for x, y in zip(a, b):
    key, value = x.split(b"\t", 1)
    if key == b"k5":
        assert x == y, (x, y)  # not JSON: replayed as value_b64, exact
    else:
        assert key + b"\t" + strip(value) == y, (x, y)
assert b'k0\t{"a":1e2,"s":"\\u003c","f":1.50}' in b, b
PY
# view, dump --table and view --serve print the value as written, too.
kept='{"a":1e2,"s":"\u003c","f":1.50}'
run 0 "$CLI" view raw2 k0
out_is "{\"key\":\"k0\",\"value\":$kept}"
run 0 "$CLI" dump raw2 --table
grep -qF "{\"key\":\"k0\",\"value\":$kept}" "$WORK/out" || fail "dump --table: $(cat "$WORK/out")"
"$CLI" view raw2 --serve 127.0.0.1:0 2>"$WORK/serve.err" &
serve_pid=$!
await "grep -q 'serving http' '$WORK/serve.err'" 30
url=$(grep -o 'http://[^ ]*' "$WORK/serve.err")
await "curl -sf '${url}tables/raw2/k0' >/dev/null" 30
same "$(curl -s "${url}tables/raw2/k0")" "$kept" "view --serve"
kill "$serve_pid"
wait "$serve_pid" || true

# --- bytes codec: exact to the byte, whatever the bytes.
python3 - "$WORK" <<'PY'
import os, sys
for i, v in enumerate([b"\x00\x01\xff\xfe", b'{"a": 1e2}  ', b"\n", bytes(range(256)), b"  \n"]):
    open(os.path.join(sys.argv[1], "bin%d" % i), "wb").write(v)
PY
$K -P -t bin1 -k b "$WORK"/bin0 "$WORK"/bin1 "$WORK"/bin2 "$WORK"/bin3 "$WORK"/bin4
"$CLI" dump bin1 --codec bytes | run 0 "$CLI" emit bin2 --codec bytes
err_has "5 messages"
same "$($K -C -t bin2 -e -f '%S ' )" "$($K -C -t bin1 -e -f '%S ')" "bytes replay: sizes"
$K -C -t bin1 -e -f '%s' >"$WORK/bin1.out"
$K -C -t bin2 -e -f '%s' >"$WORK/bin2.out"
[ "$(wc -c <"$WORK/bin1.out")" -eq 276 ] || fail "kcat wrote $(wc -c <"$WORK/bin1.out") bytes, not 276"
cmp -s "$WORK/bin1.out" "$WORK/bin2.out" || fail "bytes replay: bytes differ"

# --- JSON null is a tombstone, from an argument or a kv line (json codec).
run 0 "$CLI" emit nulls a null
run 0 "$CLI" emit nulls b ' null '
printf 'c\tnull\nd\t"null"\n' | run 0 "$CLI" emit nulls --input kv
run 0 "$CLI" emit nulls e null --codec string
echo '{"key":"f","value":null}' | run 0 "$CLI" emit nulls
same "$($K -C -t nulls -e -f '%k:%S ')" "a:-1 b:-1 c:-1 d:6 e:4 f:-1 " "null values"

# --- emit --rate N: evenly spaced, N per second.
seq 1 200 | sed 's/^/k\t/' >"$WORK/paced"
t0=$(date +%s%N)
run 0 "$CLI" emit paced --input kv --rate 100 <"$WORK/paced"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$elapsed_ms" -ge 1800 ] && [ "$elapsed_ms" -le 4000 ] ||
  fail "200 messages at --rate 100 took $elapsed_ms ms, not about 2000"
err_has "200 messages"
# Smooth, not a burst per second: about 50 messages in the first half second.
$K -C -t paced -e -f '%T\n' >"$WORK/paced.ts"
first_half=$(awk 'NR == 1 { t = $1 } $1 < t + 500 { n++ } END { print n }' "$WORK/paced.ts")
[ "$first_half" -ge 35 ] && [ "$first_half" -le 70 ] ||
  fail "$first_half of 200 messages in the first 0.5 s at --rate 100"
# A high rate holds although one sleep lasts longer than the interval
# (10 us here; before, each message waited a whole sleep: about 17,000/s).
seq 1 40000 | sed 's/^/k\t/' >"$WORK/fast"
t0=$(date +%s%N)
run 0 "$CLI" emit paced-fast --input kv --rate 100000 <"$WORK/fast"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$elapsed_ms" -ge 350 ] && [ "$elapsed_ms" -le 1800 ] ||
  fail "40000 messages at --rate 100000 took $elapsed_ms ms, not about 400"
run 2 "$CLI" emit paced --rate 0 <"$WORK/paced"
error_line

# --- dump --until s@MS | end: a time window with -o s@MS.
base=1700000000000
for i in $(seq 0 9); do
  printf '{"key":"t-%d","value":%d,"timestamp":%d,"partition":%d}\n' "$i" "$i" $((base + i * 1000)) $((i % 2))
done | "$CLI" -q emit times --keep-partition
run 0 "$CLI" dump times --until "s@$((base + 4000))" --format '%s\n'
same "$(sort -n "$WORK/out" | tr '\n' ' ')" "0 1 2 3 4 " "--until s@MS (its own time included)"
run 0 "$CLI" dump times -o "s@$((base + 2000))" --until "s@$((base + 5500))" --format '%s\n'
same "$(sort -n "$WORK/out" | tr '\n' ' ')" "2 3 4 5 " "-o s@A --until s@B: a time window"
run 0 "$CLI" dump times --until end --format '%s\n'
same "$(wc -l <"$WORK/out")" "10" "--until end"
# With -f it ends once every partition is past the time.
run 0 timeout 30 "$CLI" dump times -f --until "s@$((base + 6500))" --format '%s\n'
same "$(sort -n "$WORK/out" | tr '\n' ' ')" "0 1 2 3 4 5 6 " "-f --until s@MS ends"
run 2 "$CLI" dump times --until yesterday
error_line
run 2 "$CLI" dump times -f --until end
error_line

# --- dump -k KEY: that key's records, read from its partition only.
for i in $(seq 0 39); do printf 'k%d\t%d\n' $((i % 10)) "$i"; done | "$CLI" -q emit keys --input kv
p=$("$CLI" partition k3 -n 4)
other=$(((p + 1) % 4))
"$CLI" -q emit keys k3 999 -p "$other"  # k3 outside its partition: not read
run 0 "$CLI" -v dump keys -k k3 --format '%k %p %s\n'
same "$(tr '\n' ' ' <"$WORK/out")" "k3 $p 3 k3 $p 13 k3 $p 23 k3 $p 33 " "dump -k"
err_has "lives in partition $p"
run 0 "$CLI" dump keys -k k3 -c 2
same "$(wc -l <"$WORK/out")" "2" "dump -k -c 2"
run 0 "$CLI" dump keys -k nobody
out_empty
run 2 "$CLI" dump keys -k k3 -p "$p"
error_line
run 3 "$CLI" dump no-such-topic -k k3
error_line

finish
