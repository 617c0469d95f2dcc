# reset GROUP --dry-run on any broker: old and new offsets per partition,
# nothing changed; usage errors; what the embedded broker cannot do is a
# clear error. The resets themselves: reset_kafka.sh (real Kafka).
source "$(dirname "$0")/lib.sh"
start_broker -t clicks:2 -t counts-table:2 -t counts-loop:2

for i in $(seq 1 40); do printf 'user-%d\t{}\n' $((i % 4)); done | "$CLI" -q emit clicks --input kv
run 0 "$CLI" run-group counts -i clicks --op count --until-idle 1
"$CLI" status counts --json >"$WORK/before"

run 0 "$CLI" reset counts --to-earliest --dry-run
python3 - "$WORK/out" "$WORK/before" <<'PY' || fail "dry run: $(cat "$WORK/out")"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0].split() == ["TOPIC", "PARTITION", "OLD", "NEW"], lines[0]
rows = [l.split() for l in lines[1:] if l]
before = {(r["topic"], r["partition"]): r["committed"] for r in json.load(open(sys.argv[2]))["inputs"]}
assert len(rows) == 2, rows
for topic, p, old, new in rows:
    assert int(old) == before[(topic, int(p))] and new == "0", rows
PY
err_has "dry run, group counts unchanged"
err_has "counts-loop left as it is"
run 0 "$CLI" reset counts --shift-by -3 --dry-run --table
grep -qE '^clicks +[01] +[0-9]+ +[0-9]+$' "$WORK/out" || fail "shift-by: $(cat "$WORK/out")"
err_has "would empty group table counts-table"
"$CLI" status counts --json >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || fail "dry run changed the group: $(cat "$WORK/after")"
run 0 "$CLI" view counts-table user-1
out_is '{"key":"user-1","value":10}'

# Usage errors (exit 2) and an unknown group (exit 3).
run 2 "$CLI" reset counts --dry-run
error_line
run 2 "$CLI" reset counts --to-earliest --to-latest
run 2 "$CLI" reset counts --to-datetime yesterday --dry-run
err_has "not an ISO 8601 time"
run 3 "$CLI" reset nobody --to-earliest --dry-run
error_line

if ! real_kafka; then
  # The embedded broker cannot describe groups nor look offsets up by time.
  run 1 "$CLI" reset counts --to-earliest
  error_line
  err_has "embedded broker cannot describe consumer groups"
  run 1 "$CLI" reset counts --to-datetime 2024-01-01T00:00:00Z --dry-run
  err_has "embedded broker cannot look up offsets by time"
  cmp -s "$WORK/before" <("$CLI" status counts --json) || fail "a refused reset changed the group"
fi
finish
