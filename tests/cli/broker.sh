# The embedded broker: address on the first stdout line, pre-created topics,
# the fault control on stdin, a clean stop on SIGTERM.
source "$(dirname "$0")/lib.sh"

start_controlled_broker -t a:3 -t b:5 --brokers-count 3
addr=$GOKA_BROKERS
same "$(head -1 "$WORK/broker.out")" "$addr" "first stdout line is the address"
grep -q "memory" "$WORK/broker.err" || fail "no in-memory warning on stderr"
[ "$(echo "$addr" | tr ',' '\n' | wc -l)" -eq 3 ] || fail "3 brokers expected in $addr"

# The embedded broker never answers DescribeConfigs: no cleanup policy ('-'),
# and no waiting for one.
t0=$(date +%s%N)
run 0 "$CLI" -b "$addr" topics
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -qP '^a\t3\t-$' "$WORK/out" || fail "topic a:3 not listed: $(cat "$WORK/out")"
grep -qP '^b\t5\t-$' "$WORK/out" || fail "topic b:5 not listed"
[ "$elapsed_ms" -lt 2000 ] || fail "topics took ${elapsed_ms} ms on the embedded broker"

# Control: create a topic, then answer "ok"; a bad command answers "error".
echo "topic c:7" >&3
await "grep -c '' '$WORK/broker.out' | grep -q 2"
same "$(sed -n 2p "$WORK/broker.out")" "ok" "control answer"
run 0 "$CLI" -b "$addr" partition anykey -t c
echo "bogus" >&3
await "grep -q '^error: ' '$WORK/broker.out'"

# Produce errors injected through the control make emit fail (exit 1)...
echo "fail 0 50 1" >&3   # Produce (API 0) answered OFFSET_OUT_OF_RANGE (1), non-retriable
await "[ \$(answers) -ge 2 ]"
run 1 "$CLI" -b "$addr" --timeout 3 emit a k '"v"'
error_line
# ...and the broker serves again afterwards.
echo "fail 0 0 0" >&3

# SIGTERM: exit 0 and the address file is gone.
kill -TERM $BROKER_PID
rc=0
wait $BROKER_PID || rc=$?
BROKER_PID=""
same "$rc" "0" "broker exit code after SIGTERM"
[ ! -e "$WORK/address" ] || fail "address file left behind"
exec 3>&-

finish
