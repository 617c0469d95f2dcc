# CI smoke tests without sleeps: view KEY --wait SECONDS [--expect JSON] and
# status GROUP --wait-idle SECONDS, with their timeouts (exit 4).
source "$(dirname "$0")/lib.sh"
start_broker -t tbl:2 -t clicks:2 -t counts-table:2

# Starts `goka-cli -v view ARGS...` in the background (stdout $WORK/view.out,
# stderr $WORK/view.err) and waits until it has recovered the table.
start_view() {
  "$CLI" -v view "$@" >"$WORK/view.out" 2>"$WORK/view.err" &
  VIEW_PID=$!
  await "grep -q 'records of' '$WORK/view.err' || ! kill -0 $VIEW_PID 2>/dev/null" 30
  kill -0 $VIEW_PID 2>/dev/null || fail "view ended before the emit: $(cat "$WORK/view.err")"
}
# Waits for the background view; its exit code in VIEW_RC.
end_view() {
  VIEW_RC=0
  wait $VIEW_PID || VIEW_RC=$?
}

# --- view --wait: a key that appears while the view follows the table.
start_view tbl k1 --wait 60
"$CLI" -q emit tbl k1 '{"n":1}'
end_view
same "$VIEW_RC" 0 "view --wait exit"
same "$(cat "$WORK/view.out")" '{"key":"k1","value":{"n":1}}' "view --wait output"

# A table that does not exist yet is waited for (emit creates the topic).
"$CLI" view later k --wait 60 >"$WORK/later.out" 2>"$WORK/later.err" &
LATER_PID=$!
"$CLI" -q emit later k '"v"'
LATER_RC=0
wait $LATER_PID || LATER_RC=$?
same "$LATER_RC" 0 "view --wait on a new table: $(cat "$WORK/later.err")"
same "$(cat "$WORK/later.out")" '{"key":"k","value":"v"}' "view --wait on a new table"
run 4 "$CLI" view never-table k --wait 0.5
err_has "the table does not exist"

# A key already there: printed at once.
run 0 "$CLI" view tbl k1 --wait 5
out_is '{"key":"k1","value":{"n":1}}'

# --expect: a mismatch first, then a match (compared as JSON values).
start_view tbl k2 --wait 60 --expect '{"n": 2.0, "s": "x"}'
"$CLI" -q emit tbl k2 '{"n":1,"s":"x"}'
"$CLI" -q emit tbl k2 '{"s":"y","n":2}'
kill -0 $VIEW_PID 2>/dev/null || fail "view --expect ended on a value that differs"
"$CLI" -q emit tbl k2 '{"s":"x","n":2}'
end_view
same "$VIEW_RC" 0 "view --expect exit"
same "$(cat "$WORK/view.out")" '{"key":"k2","value":{"s":"x","n":2}}' "view --expect output"

# Timeouts: exit 4, nothing on stdout, the last value seen on stderr.
run 4 "$CLI" view tbl nobody --wait 1
out_empty
error_line
err_has "key nobody did not appear within 1 s"
run 4 "$CLI" view tbl k2 --wait 1 --expect 3
out_empty
error_line
err_has 'last value seen: {"key":"k2","value":{"s":"x","n":2}}'
# Usage errors: exit 2.
run 2 "$CLI" view tbl k1 k2 --wait 1
run 2 "$CLI" view tbl k1 --expect 1
run 2 "$CLI" view tbl k1 --wait 1 --expect '{bad'

# --- status --wait-idle while a run-group consumes.
for i in $(seq 1 200); do printf 'user-%d\t{}\n' $((i % 7)); done | "$CLI" -q emit clicks --input kv
"$CLI" -q run-group counts -i clicks --op count 2>"$WORK/group.err" &
GROUP_PID=$!
run 0 "$CLI" status counts --wait-idle 60
grep -qE "^total +200 +200 +0$" "$WORK/out" || fail "status --wait-idle: $(cat "$WORK/out")"
run 0 "$CLI" view counts-table user-1
out_is '{"key":"user-1","value":29}'
kill -TERM $GROUP_PID
wait $GROUP_PID || fail "run-group did not stop cleanly: $(cat "$WORK/group.err")"

# Timeout: the group is stopped and one message waits: exit 4, the last
# status on stdout, the busy partition on stderr.
"$CLI" -q emit clicks user-1 '{}'
p=$("$CLI" partition user-1 -n 2)
run 4 "$CLI" status counts --wait-idle 1 --json
error_line
err_has "clicks/$p: lag 1"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["total"]["lag"]==1, s' "$WORK/out" ||
  fail "last status: $(cat "$WORK/out")"
# A group that never ran is waited for, then times out.
run 4 "$CLI" status nobody --wait-idle 0.5
err_has "no committed offsets"
finish
