# --serve on run-group and view: values of the group, joined and looked-up
# tables by URL-decoded key, /stats, /metrics; 404 for what is not there, 4xx
# for bad requests while serving on; a bad address is a usage error.
source "$(dirname "$0")/lib.sh"
start_broker -t clicks:2 -t tally-table:2 -t users:2 -t plans:3

printf 'ann\t{}\nann\t{}\nbob/x y\t{}\n' | "$CLI" -q emit clicks --input kv
printf 'ann\t{"name":"Ann"}\n' | "$CLI" -q emit users --input kv
printf 'ann\t"gold"\n' | "$CLI" -q emit plans --input kv

# Starts "$@" in the background, its stderr in $WORK/$1.err; sets PID and URL.
serve() {
  local log="$WORK/$1.err"
  shift
  "$@" 2>"$log" &
  PID=$!
  await "grep -q 'serving http' '$log'" 30
  URL=$(grep -o 'http://[^ ]*' "$log")
}
# get PATH: the body in $WORK/body, the status code printed.
get() { curl -s -o "$WORK/body" -w '%{http_code}' "$URL$1"; }
body() { cat "$WORK/body"; }

serve group "$CLI" run-group tally -i clicks --op count --join users --lookup plans --serve 127.0.0.1:0
case "$URL" in http://127.0.0.1:*/) ;; *) fail "not on loopback: $URL" ;; esac
await "[ \"\$(curl -s '${URL}tables/tally-table/ann')\" = 2 ]" 30
same "$(get 'tables/tally-table/bob%2Fx%20y')" 200 "encoded key"
same "$(body)" 1 "count of 'bob/x y'"
same "$(get tables/users/ann)" 200 "joined table"
same "$(body)" '{"name":"Ann"}' "joined value"
same "$(get tables/plans/ann)" 200 "lookup table"
same "$(body)" '"gold"' "lookup value"
same "$(get tables/tally-table/nobody)" 404 "missing key"
grep -q '"error"' "$WORK/body" || fail "404 without an error: $(body)"
same "$(get tables/no-such-table/ann)" 404 "unknown table"
same "$(get no/such/path)" 404 "unknown path"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${URL}stats")
[ "$code" -ge 400 ] && [ "$code" -lt 500 ] || fail "DELETE /stats answered $code"

# Everything processed is committed soon; then the figures are final.
caught_up() {
  curl -s "${URL}stats" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["totals"]["lag"] != 0)'
}
await caught_up 30
same "$(get stats)" 200 "/stats"
python3 - "$WORK/body" <<'PY' || fail "/stats: $(body)"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["kind"] == "processor" and s["group"] == "tally" and s["table"] == "tally-table", s
assert s["state"] == "running", s
assert s["totals"]["processed"] == 3 and s["totals"]["lag"] == 0, s["totals"]
assert sorted(p["partition"] for p in s["partitions"]) == [0, 1], s
assert [v["table"] for v in s["lookups"]] == ["plans"], s["lookups"]
PY
same "$(get metrics)" 200 "/metrics"
total=$(awk '/^goka_processor_messages_total\{group="tally",partition="[01]"\}/ {n += $2} END {print n}' "$WORK/body")
same "$total" 3 "goka_processor_messages_total"
grep -q '^# TYPE goka_processor_lag gauge$' "$WORK/body" || fail "no lag family: $(head -5 "$WORK/body")"
grep -q '^goka_table_offset{group="tally",table="tally-table",partition="[01]"} ' "$WORK/body" ||
  fail "no table offset"
grep -q '^goka_table_records_total{group="tally",table="plans",partition="[012]"} ' "$WORK/body" ||
  fail "no lookup table records"

# Garbage on the socket: the server hangs up or answers 4xx, and serves on.
port=${URL##*:}
port=${port%/}
printf 'NOT HTTP AT ALL\r\n\r\n' | timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$port" || true
same "$(get stats)" 200 "/stats after garbage"
kill -TERM $PID
rc=0
wait $PID || rc=$?
same "$rc" 0 "run-group exit after SIGTERM"

# A view serves its table while it follows it.
serve view "$CLI" view tally-table --serve :0
await "[ \"\$(curl -s '${URL}tables/tally-table/ann')\" = 2 ]" 30
printf 'ann\t{}\n' | "$CLI" -q emit clicks --input kv
run 0 "$CLI" run-group tally -i clicks --op count --until-idle 1
await "[ \"\$(curl -s '${URL}tables/tally-table/ann')\" = 3 ]" 30  # the table's 4th record
same "$(get tables/users/ann)" 404 "a view holds one table"
same "$(get stats)" 200 "view /stats"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["kind"]=="view" and s["totals"]["records"]==4, s' \
  "$WORK/body" || fail "view /stats: $(body)"
kill -INT $PID
rc=0
wait $PID || rc=$?
same "$rc" 0 "view exit after SIGINT"

run 2 "$CLI" view tally-table --serve 'no-port'
error_line
err_has "--serve"
finish
