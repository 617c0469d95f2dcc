# Processor groups that start on a large backlog, as most groups do: a
# million messages on 10 partitions counted exactly with LevelDB storage
# (three groups in a row), a second instance joining mid-backlog and leaving,
# kill -9 mid-backlog three times, and --start latest on partitions that get
# nothing new.
source "$(dirname "$0")/lib.sh"
start_broker -t in:10 -t old:4 -t quiet:10 \
  -t c1-table:10 -t c2-table:10 -t c3-table:10 -t j-table:10 -t k-table:10 -t l-table:4 -t q-table:10
N=1000000
KEYS=100

awk -v n=$N -v k=$KEYS 'BEGIN{for(i=0;i<n;i++) printf "user-%d\t%d\n", i%k, i}' |
  "$CLI" -q emit in --input kv --codec string || fail "emitting the backlog"
# The embedded broker keeps each partition's newest ~5 MB: all of it here.
"$CLI" dump in -o beginning -c 1 --codec string | grep -q '"offset":0,' ||
  fail "the backlog was trimmed: the test needs all of it"

# counts TABLE: "KEYS SUM MIN" of the table's int64 values.
counts() {
  "$CLI" dump "$1" --table --codec int64 |
    awk -F'"value":' '{v=$2+0; s+=v; if(min==""||v<min)min=v; n++} END{print n, s, min}'
}
# committed GROUP: the group's committed offsets of `in`, summed (0: none yet).
committed() {
  "$CLI" status "$1" --json 2>/dev/null | grep -o '"total":{"committed":[0-9]*' | grep -o '[0-9]*$' ||
    echo 0
}

# --- three groups in a row count the whole backlog exactly.
for g in c1 c2 c3; do
  run 0 timeout 300 "$CLI" run-group $g -i in --codec bytes --op count --table-codec int64 \
    --storage "$WORK/st-$g" --until-idle 2
  same "$(counts $g-table)" "$KEYS $N $((N / KEYS))" "counts of $g"
done

# --- a second instance joins mid-backlog and leaves again: nothing lost.
"$CLI" run-group j -i in --codec bytes --op count --table-codec int64 --storage "$WORK/st-j1" \
  --until-idle 3 2>"$WORK/j1.err" &
j1=$!
await "[ \$(committed j) -gt 0 ]" 60 || fail "the first instance committed nothing"
"$CLI" -v run-group j -i in --codec bytes --op count --table-codec int64 --storage "$WORK/st-j2" \
  2>"$WORK/j2.err" &
j2=$!
await "grep -q 'assigned partitions' '$WORK/j2.err'" 60 || fail "the second instance got nothing"
await "grep -q ': recovered$' '$WORK/j2.err'" 60
kill -TERM $j2
wait $j2 || fail "the second instance failed: $(tail -3 "$WORK/j2.err")"
wait $j1 || fail "the first instance failed: $(tail -3 "$WORK/j1.err")"
read -r keys sum min <<<"$(counts j-table)"
same "$keys" "$KEYS" "keys counted by two instances"
[ "$min" -ge $((N / KEYS)) ] || fail "a key lost messages with two instances: min $min"
echo "join and leave mid-backlog: $((sum - N)) messages counted twice" >&2

# --- kill -9 mid-backlog three times, then a clean run: no count below the truth.
for threshold in 100000 300000 600000; do
  "$CLI" -v run-group k -i in --codec bytes --op count --table-codec int64 --storage "$WORK/st-k" \
    2>>"$WORK/k.err" &
  k=$!
  await "[ \$(committed k) -ge $threshold ] || ! kill -0 $k 2>/dev/null" 120 ||
    fail "group k never committed $threshold"
  kill -9 $k 2>/dev/null || fail "group k ended before the kill: $(tail -3 "$WORK/k.err")"
  wait $k 2>/dev/null || true
done
run 0 timeout 300 "$CLI" -v run-group k -i in --codec bytes --op count --table-codec int64 \
  --storage "$WORK/st-k" --until-idle 2
cp "$WORK/err" "$WORK/k-final.err"
read -r keys sum min <<<"$(counts k-table)"
same "$keys" "$KEYS" "keys counted through kill -9"
if [ "$min" -lt $((N / KEYS)) ]; then
  # What the next session needs to see: where the group stopped, and the
  # last instance's log.
  "$CLI" status k >&2 || true
  grep -v ': assigned, \|: revoked, ' "$WORK/k.err" | tail -30 >&2
  grep -v ': assigned, \|: revoked, ' "$WORK/k-final.err" | tail -40 >&2
  fail "a key lost messages through kill -9: min $min"
fi
echo "kill -9 three times: $((sum - N)) messages counted twice" >&2

# --- --start latest: old records and partitions that never get a message
# are nothing to wait for.
for i in $(seq 1 100); do printf 'u%d\t1\n' "$i"; done | "$CLI" -q emit old --input kv
run 0 timeout 60 "$CLI" run-group l -i old --op count --start latest --until-idle 1
same "$("$CLI" dump l-table --table | wc -l)" "0" "records counted with --start latest"
run 0 timeout 60 "$CLI" run-group q -i quiet --op count --start latest --until-idle 1

finish
