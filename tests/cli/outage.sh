# A broker outage as a user sees it (broker --control): run-group counting
# and view --watch following its table while broker 1 is down for 5 s. Clicks
# are emitted before, during (an emit that waits for the broker) and after;
# neither command fails, the counts are exact, and the watch goes on.
source "$(dirname "$0")/lib.sh"
# What this test starts in the background is killed however it ends.
trap 'kill_jobs KILL; cleanup' EXIT

start_controlled_broker -t clicks:4 -t outage-table:4

# clicks N: N clicks for each of user-0 .. user-9.
clicks() {
  for i in $(seq 1 "$1"); do for u in 0 1 2 3 4 5 6 7 8 9; do printf 'user-%d\t{}\n' $u; done; done
}
# table_has N: every user counted N times.
table_has() {
  [ "$("$CLI" dump outage-table --table 2>/dev/null | grep -c "\"value\":$1}")" -eq 10 ]
}
alive() { kill -0 "$1" 2>/dev/null; }

# Before: the group counts 5 clicks each, a watch follows its table.
clicks 5 | "$CLI" -q emit clicks --input kv
"$CLI" -v run-group outage -i clicks --op count --serve 127.0.0.1:0 2>"$WORK/group.err" &
group=$!
await "table_has 5" 40
url=$(grep -o 'http://[^ ]*' "$WORK/group.err")
"$CLI" view outage-table --all --watch >"$WORK/watch.out" 2>"$WORK/watch.err" &
watch=$!
await "[ \$(wc -l <'$WORK/watch.out') -ge 10 ]" 20

# During: broker 1 is down for 5 s; an emit started meanwhile waits for it.
echo "down 1" >&3
await "[ \$(answers) -ge 1 ]"
clicks 3 >"$WORK/during.kv"
"$CLI" -q --timeout 30 emit clicks --input kv <"$WORK/during.kv" 2>"$WORK/during.err" &
during=$!
for i in $(seq 1 50); do # 5 s
  alive $group || fail "run-group stopped during the outage: $(tail -3 "$WORK/group.err")"
  alive $watch || fail "view --watch stopped during the outage: $(tail -3 "$WORK/watch.err")"
  sleep 0.1
done
# Its statistics answer at once meanwhile: they never wait for the cluster.
curl -s -m 1 "${url}stats" | grep -q '"state":"running"' || fail "/stats during the outage"

echo "up 1" >&3
await "[ \$(answers) -ge 2 ]"

# After: 2 more each; the emit of the outage delivered everything.
rc=0
wait $during || rc=$?
same "$rc" "0" "exit of the emit started during the outage ($(cat "$WORK/during.err"))"
clicks 2 | "$CLI" -q emit clicks --input kv
await "table_has 10" 40 || fail "counts after the outage: $("$CLI" dump outage-table --table | tr '\n' ' ')"
same "$("$CLI" dump outage-table --table | tr '\n' ' ')" \
  "$(for u in 0 1 2 3 4 5 6 7 8 9; do printf '{"key":"user-%d","value":10} ' $u; done)" \
  "counts after the outage"
# Everything counted is committed: no lag.
no_lag() {
  "$CLI" status outage --json | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["total"]["lag"] != 0)'
}
await no_lag 20 ||
  fail "lag after the outage: $("$CLI" status outage)"

# The watch printed every change up to the last, after the outage too.
await "[ \$(grep -cE '\"value\":10[,}]' '$WORK/watch.out') -eq 10 ]" 20 ||
  fail "view --watch after the outage: $(tail -3 "$WORK/watch.out")"
for u in 0 1 2 3 4 5 6 7 8 9; do
  same "$(grep -c "\"key\":\"user-$u\"" "$WORK/watch.out")" "6" "rows and changes of user-$u"
done

alive $group || fail "run-group stopped: $(tail -3 "$WORK/group.err")"
alive $watch || fail "view --watch stopped: $(tail -3 "$WORK/watch.err")"
kill -TERM $group
rc=0
wait $group || rc=$?
same "$rc" "0" "run-group exit after SIGTERM"
if grep -q "^goka-cli: error" "$WORK/group.err"; then fail "run-group failed: $(cat "$WORK/group.err")"; fi
kill -INT $watch
rc=0
wait $watch || rc=$?
same "$rc" "0" "view --watch exit after SIGINT"

exec 3>&-
finish
