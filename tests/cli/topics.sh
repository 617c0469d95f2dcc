# topics create / delete, and topics a processor group creates for itself:
# on the embedded broker through its topic requests (no -t needed), on a real
# Kafka through CreateTopics/DeleteTopics with configs.
source "$(dirname "$0")/lib.sh"

start_broker -t clicks:3

# Create, then use it: emit and dump.
run 0 "$CLI" topics create orders:5
out_empty
err_has "created topic orders with 5 partitions"
run 0 "$CLI" topics
grep -qP '^orders\t5\t' "$WORK/out" || fail "orders:5 not listed: $(cat "$WORK/out")"
run 0 "$CLI" emit orders o-1 '{"n":1}'
run 0 "$CLI" dump orders --format '%k %s\n'
out_is 'o-1 {"n":1}'

# Errors: an existing topic, bad NAME:PARTITIONS, options without create.
run 1 "$CLI" topics create orders:5
error_line
err_has "topic already exists, with 5 partitions"
run 0 "$CLI" topics create orders:5 --if-not-exists
run 2 "$CLI" topics create orders:4 --if-not-exists
error_line
for bad in orders orders:0 :3 orders:x orders:-1; do
  run 2 "$CLI" topics create "$bad"
  error_line
done
run 2 "$CLI" topics create
error_line
run 2 "$CLI" topics create other:1 --config nokey
error_line
run 2 "$CLI" topics --compact
error_line
run 2 "$CLI" topics create 'bad name:2'
error_line
run 2 "$CLI" topics rename orders
error_line

# A processor group creates its table and loop topics with the input's
# partition count, as Goka does (the embedded broker was started without them).
printf 'u-1\t{}\nu-2\t{}\nu-1\t{}\n' | "$CLI" -q emit clicks --input kv
run 0 "$CLI" run-group auto -i clicks --op count --loop --until-idle 1
run 0 "$CLI" topics
cp "$WORK/out" "$WORK/topics"
grep -qP '^auto-table\t3\t' "$WORK/out" || fail "auto-table:3 not created: $(cat "$WORK/out")"
grep -qP '^auto-loop\t3\t' "$WORK/out" || fail "auto-loop:3 not created: $(cat "$WORK/out")"
run 0 "$CLI" view auto-table u-1
out_is '{"key":"u-1","value":2}'

if real_kafka; then
  # The group table is compacted; configs are kept and described.
  grep -qP '^auto-table\t3\tcompact$' "$WORK/topics" || fail "auto-table not compacted: $(cat "$WORK/topics")"
  grep -qP '^auto-loop\t3\tdelete$' "$WORK/topics" || fail "auto-loop not delete: $(cat "$WORK/topics")"
  run 0 "$CLI" topics create kept:2 --compact --config retention.ms=3600000 --config segment.ms=600000
  run 0 "$CLI" topics create plain:2 --config cleanup.policy=delete
  run 0 "$CLI" topics
  grep -qP '^kept\t2\tcompact$' "$WORK/out" || fail "kept not compacted: $(cat "$WORK/out")"
  grep -qP '^plain\t2\tdelete$' "$WORK/out" || fail "plain not delete: $(cat "$WORK/out")"
  kcat -b "$GOKA_BROKERS" -L -t kept 2>/dev/null | grep -q 'topic "kept" with 2 partitions' ||
    fail "kcat does not see kept with 2 partitions"
  run 2 "$CLI" topics create wrong:1 --config no.such.config=1
  error_line
  run 2 "$CLI" topics create both:1 --compact --config cleanup.policy=delete
  error_line
  # Delete: gone at once; again is "not found"; the name can be used again.
  run 0 "$CLI" topics delete kept
  err_has "deleted topic kept"
  run 0 "$CLI" topics
  grep -qP '^kept\t' "$WORK/out" && fail "kept still listed after delete"
  run 3 "$CLI" topics delete kept
  error_line
  run 0 "$CLI" topics create kept:4
  run 0 "$CLI" partition k -t kept
else
  # The embedded broker keeps no configs (says so) and cannot delete.
  run 0 "$CLI" topics create kept:2 --compact
  err_has "not confirmed"
  run 1 "$CLI" topics delete orders
  error_line
  err_has "cannot delete topics"
  # It found the broker from GOKA_BROKERS alone: its socket is named after the port.
  dir=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/goka-broker}
  dir=${dir:-${TMPDIR:-/tmp}/goka-broker-$(id -u)}
  port=${GOKA_BROKERS##*:}
  [ -S "$dir/$port" ] || fail "no topic request socket $dir/$port"
  kill -TERM "$BROKER_PID"
  wait "$BROKER_PID" || fail "broker did not stop cleanly"
  BROKER_PID=""
  [ ! -e "$dir/$port" ] || fail "socket $dir/$port left behind"
fi

finish
