# reset GROUP on a real Kafka: reprocessing from the earliest offsets (counts
# doubled without --table, exact with it), --shift-by, --to-datetime,
# --input, and the refusal while the group has a member. The embedded broker
# cannot describe groups, delete records or look offsets up by time: skipped
# there (reset.sh covers its dry runs and errors).
source "$(dirname "$0")/lib.sh"
real_kafka || skip "reset needs DescribeGroups, DeleteRecords and offsets by time: a real Kafka"
start_broker -t clicks:2 -t views:2 -t counts-table:2

# Old clicks at 2001-09-09 (the envelope's timestamp), new ones now (Kafka
# refuses timestamps far in the future).
for i in $(seq 1 40); do
  printf '{"key":"user-%d","value":{},"timestamp":1000000000000}\n' $((i % 4))
done | "$CLI" -q emit clicks
for i in $(seq 1 8); do printf 'user-%d\t{}\n' $((i % 4)); done | "$CLI" -q emit clicks --input kv
for i in $(seq 1 6); do printf 'user-%d\t{}\n' $((i % 2)); done | "$CLI" -q emit views --input kv
count() { run 0 "$CLI" run-group counts -i clicks -i views --op count --until-idle 1; }
value_of() { "$CLI" view counts-table "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])'; }
lag_of() { "$CLI" status counts --json | python3 -c "import json,sys; print(sum(r['lag'] for r in json.load(sys.stdin)['inputs'] if r['topic']=='$1'))"; }
count
same "$(value_of user-1)" 15 "first count"   # 10 + 2 clicks, 3 views

# --to-earliest without --table: everything counted again on the old counts.
run 0 "$CLI" reset counts --to-earliest
grep -qE '^views +[01] +[0-9]+ +0$' "$WORK/out" || fail "reset output: $(cat "$WORK/out")"
same "$(lag_of clicks)" 48 "clicks lag after reset"
count
same "$(value_of user-1)" 30 "counts doubled"

# --to-earliest --table: the table is emptied first, so the counts are exact.
mkdir -p "$WORK/storage/counts-table.0"
run 0 "$CLI" reset counts --to-earliest --table --storage "$WORK/storage"
err_has "emptied"
err_has "$WORK/storage/counts-table.0"
run 3 "$CLI" view counts-table user-1
count
same "$(value_of user-1)" 15 "exact counts after --table"

# --shift-by: 5 back in every partition of clicks only (--input).
run 0 "$CLI" reset counts --shift-by -5 --input clicks
same "$(lag_of clicks)" 10 "clicks lag after --shift-by -5"
same "$(lag_of views)" 0 "views untouched by --input clicks"
run 0 "$CLI" reset counts --to-latest

# --to-datetime: from the first record at or after 2020 on: the 8 new clicks.
run 0 "$CLI" reset counts --to-datetime 2020-01-01T00:00:00Z --input clicks
same "$(lag_of clicks)" 8 "clicks lag after --to-datetime"
run 0 "$CLI" reset counts --to-datetime 2099-01-01 --input clicks
same "$(lag_of clicks)" 0 "a time after every record: the end"

# A table that is not compacted is emptied with DeleteRecords (topics made
# by Kafka's automatic creation: one partition, cleanup.policy=delete).
"$CLI" -q emit plain-table stale 1
for i in 1 2 3; do "$CLI" -q emit singles user-1 '{}'; done
run 0 "$CLI" run-group plain -i singles --op count --until-idle 1
run 0 "$CLI" reset plain --to-earliest --table
err_has "plain-table emptied (records deleted)"
run 0 "$CLI" run-group plain -i singles --op count --until-idle 1
run 3 "$CLI" view plain-table stale
run 0 "$CLI" view plain-table user-1
out_is '{"key":"user-1","value":3}'

# Refused while a member is active (exit 1, naming group and member).
"$CLI" -v run-group counts -i clicks -i views --op count 2>"$WORK/group.err" &
GROUP_PID=$!
await "grep -q 'assigned' '$WORK/group.err'" 60
"$CLI" status counts --json >"$WORK/before"
run 1 "$CLI" reset counts --to-earliest --table
error_line
err_has "group counts has 1 active member(s), stop them first: "
cmp -s "$WORK/before" <("$CLI" status counts --json) || fail "a refused reset moved offsets"
kill -TERM $GROUP_PID
wait $GROUP_PID || fail "run-group did not stop cleanly"
finish
