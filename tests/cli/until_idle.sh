# run-group --until-idle waits for the whole group, not only for what it
# holds: an instance whose partner died (kill -9) while holding partitions
# with unprocessed messages takes them over once the dead member's session
# times out, processes them, and only then exits.
source "$(dirname "$0")/lib.sh"
start_broker -t in:4 -t u-table:4
stream="" a="" b=""
# Whatever still runs when the test ends (a failed check) goes with it.
trap 'kill -9 $stream $a $b 2>/dev/null || true; cleanup' EXIT

# A stream that keeps the group busy until stopped (its messages land on
# every partition).
awk 'BEGIN{for(i=0;;i++) printf "user-%d\t%d\n", i%40, i}' |
  "$CLI" -q emit in --input kv --rate 100 2>/dev/null &
stream=$!

"$CLI" -v run-group u -i in --op count --codec bytes --table-codec int64 2>"$WORK/a.err" &
a=$!
await "grep -q 'assigned partitions 0,1,2,3$' '$WORK/a.err'" 60 ||
  fail "the first instance got no partitions: $(tail -3 "$WORK/a.err")"
"$CLI" -v run-group u -i in --op count --codec bytes --table-codec int64 --until-idle 2 \
  2>"$WORK/b.err" &
b=$!
split="assigned partitions [0-9],[0-9]$"
await "grep -q '$split' '$WORK/a.err' && grep -q '$split' '$WORK/b.err'" 60 ||
  fail "the instances did not split the partitions: $(cat "$WORK/a.err" "$WORK/b.err")"

# The first instance dies holding two partitions; then a last burst, so
# that those partitions have messages nobody alive holds.
kill -9 $a
wait $a 2>/dev/null || true
kill $stream 2>/dev/null || true
wait $stream 2>/dev/null || true
awk 'BEGIN{for(i=0;i<2000;i++) printf "user-%d\t%d\n", i%40, i}' | "$CLI" -q emit in --input kv ||
  fail "emitting the burst"

# The survivor exits only once every partition is processed and committed.
started=$(date +%s)
wait $b || fail "the survivor failed: $(tail -3 "$WORK/b.err")"
grep -q 'assigned partitions 0,1,2,3$' "$WORK/b.err" ||
  fail "the survivor never took the dead member's partitions: $(grep assigned "$WORK/b.err")"
run 0 "$CLI" status u --json
grep -q '"total":{"committed":\([0-9]*\),"high_watermark":\1,"lag":0}' "$WORK/out" ||
  fail "the survivor exited with lag left: $(cat "$WORK/out")"

# Every message counted (at least once: the dead member's last ones may be
# counted twice).
"$CLI" dump in --codec string | grep -o '"key":"[^"]*"' | sort | uniq -c |
  awk '{sub(/"key":"/, "", $2); sub(/"$/, "", $2); print $2, $1}' | sort >"$WORK/truth"
"$CLI" dump u-table --table --codec int64 | sed 's/{"key":"\([^"]*\)","value":\([0-9]*\)}/\1 \2/' |
  sort >"$WORK/counted"
same "$(wc -l <"$WORK/counted")" "$(wc -l <"$WORK/truth")" "keys counted"
join "$WORK/truth" "$WORK/counted" | awk '$3 < $2 {print; bad=1} END{exit bad}' >"$WORK/short" ||
  fail "keys counted less than their messages: $(head -5 "$WORK/short")"
echo "survivor exited $(($(date +%s) - started)) s after the burst" >&2
finish
