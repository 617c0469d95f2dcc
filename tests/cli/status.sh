# status GROUP: committed offsets, high watermarks and lag per input
# partition, totals, the table's high watermark; exit 3 for an unknown group.
source "$(dirname "$0")/lib.sh"
start_broker -t clicks:2 -t counts-table:2

for i in $(seq 1 40); do printf 'user-%d\t{}\n' $((i % 4)); done | "$CLI" -q emit clicks --input kv
run 0 "$CLI" run-group counts -i clicks --op count --until-idle 1
printf 'user-1\t{}\nuser-1\t{}\nuser-1\t{}\n' | "$CLI" -q emit clicks --input kv
p=$("$CLI" partition user-1 -n 2)

run 0 "$CLI" status counts --json
python3 - "$WORK/out" "$p" <<'PY' || fail "status --json: $(cat "$WORK/out")"
import json, sys
s = json.load(open(sys.argv[1]))
p = int(sys.argv[2])
rows = {r["partition"]: r for r in s["inputs"] if r["topic"] == "clicks"}
assert len(rows) == 2, rows
assert rows[p]["lag"] == 3 and rows[p]["high_watermark"] == rows[p]["committed"] + 3, rows
assert rows[1 - p]["lag"] == 0, rows
assert s["total"] == {"committed": 40, "high_watermark": 43, "lag": 3}, s["total"]
assert s["table"] == {"topic": "counts-table", "high_watermark": 40}, s["table"]
PY
run 0 "$CLI" status counts
grep -qE "^total +40 +43 +3$" "$WORK/out" || fail "status table: $(cat "$WORK/out")"
grep -q "counts-table: high watermark 40" "$WORK/out" || fail "no table line"

# topics: partition counts, and the cleanup policy where the broker tells it
# (a real Kafka through DescribeConfigs; the embedded broker never does).
run 0 "$CLI" topics
if real_kafka; then policy_table=compact policy_stream=delete; else policy_table=- policy_stream=-; fi
grep -qxF "$(printf 'counts-table\t2\t%s' "$policy_table")" "$WORK/out" || fail "topics: $(cat "$WORK/out")"
grep -qxF "$(printf 'clicks\t2\t%s' "$policy_stream")" "$WORK/out" || fail "topics: $(cat "$WORK/out")"

# A real Kafka creates a new group's table (compacted) and loop topics with
# the input's partition count (CreateTopics); the embedded broker cannot.
if real_kafka; then
  run 0 "$CLI" run-group fresh -i clicks --op count --loop --until-idle 1
  run 0 "$CLI" topics
  grep -qxF "$(printf 'fresh-table\t2\tcompact')" "$WORK/out" || fail "group table: $(cat "$WORK/out")"
  grep -qxF "$(printf 'fresh-loop\t2\tdelete')" "$WORK/out" || fail "loop topic: $(cat "$WORK/out")"
  run 0 "$CLI" view fresh-table user-1
  out_is '{"key":"user-1","value":13}'
fi

run 3 "$CLI" status no-such-group
error_line
finish
