# Exit codes, one error line on stderr, nothing on stdout (CLI.md).
source "$(dirname "$0")/lib.sh"
start_broker -t events:4

run 0 "$CLI" --help
grep -q "Subcommands" "$WORK/out" || fail "--help prints usage on stdout"

run 2 "$CLI" emit
error_line
out_empty

run 2 "$CLI" dump events --no-such-flag
error_line

run 2 "$CLI" -X nonsense.property=1 dump events
error_line
err_has "nonsense.property"

run 2 "$CLI" -X missing-equals dump events
error_line

run 3 "$CLI" dump no-such-topic
error_line
err_has "no-such-topic"
out_empty

run 3 "$CLI" -F "$WORK/missing.properties" dump events
error_line

# An unreachable broker fails within --timeout, with exit 4.
start=$SECONDS
run 4 "$CLI" -b 127.0.0.1:1 --timeout 2 dump events
error_line
err_has "127.0.0.1:1"
[ $((SECONDS - start)) -le 6 ] || fail "unreachable broker took $((SECONDS - start)) s"
run 4 "$CLI" -b 127.0.0.1:1 --timeout 1 emit events k '"v"'
error_line

# A properties file gives librdkafka properties; -X wins over it.
printf '# comment\nclient.id = from-file\n' >"$WORK/client.properties"
run 0 "$CLI" -F "$WORK/client.properties" -X client.id=from-flag emit events k '"v"'
printf 'broken\n' >"$WORK/bad.properties"
run 2 "$CLI" -F "$WORK/bad.properties" dump events
err_has "line 1"

# GOKA_BROKERS is the default broker list; -b overrides it.
run 0 env GOKA_BROKERS="$GOKA_BROKERS" "$CLI" dump events -c 1
run 4 "$CLI" -b 127.0.0.1:1 --timeout 1 dump events

# An interrupted dump --follow ends cleanly.
"$CLI" dump events -f >"$WORK/follow.out" 2>"$WORK/follow.err" &
pid=$!
await "[ -s '$WORK/follow.out' ]"
kill -INT $pid
rc=0
wait $pid || rc=$?
[ $rc -eq 0 ] || [ $rc -eq 130 ] || fail "dump -f after SIGINT exited $rc"

finish
