# run-group against a broker that fails on purpose (broker --control): a
# produce failure stops the group with nothing committed past it; SIGTERM
# stops it cleanly with exit 0.
source "$(dirname "$0")/lib.sh"

start_controlled_broker -t in:2 -t faulty-table:2 -t calm-table:2

for i in $(seq 1 50); do printf 'k%d\t1\n' $((i % 5)); done | "$CLI" -q emit in --input kv

# Every Produce request fails with INVALID_RECORD (87), which is not retried.
echo "fail 0 1000 87" >&3
await "[ \$(answers) -ge 1 ]"
run 1 "$CLI" run-group faulty -i in --op count --until-idle 2
error_line
err_has "produce failed"
err_has "topic=faulty-table"

# The broker heals; the group runs again and counts everything exactly once:
# no input offset was committed past the failed write.
echo "fail 0 0 0" >&3
await "[ \$(answers) -ge 2 ]"
run 0 "$CLI" run-group faulty -i in --op count --until-idle 1
same "$("$CLI" dump faulty-table --table | tr '\n' ' ')" \
  '{"key":"k0","value":10} {"key":"k1","value":10} {"key":"k2","value":10} {"key":"k3","value":10} {"key":"k4","value":10} ' \
  "counts after the failure"

# SIGTERM: a clean stop, exit 0, and what was processed is committed.
"$CLI" -v run-group calm -i in --op count 2>"$WORK/calm.err" &
pid=$!
await "grep -q ': recovered$' '$WORK/calm.err'" 30
await "[ \"\$('$CLI' dump calm-table --table | wc -l)\" -eq 5 ]" 30
kill -TERM $pid
rc=0
wait $pid || rc=$?
same "$rc" "0" "run-group exit code after SIGTERM"
run 0 "$CLI" run-group calm -i in --op count --until-idle 1
same "$("$CLI" dump calm-table --table | tr '\n' ' ')" \
  '{"key":"k0","value":10} {"key":"k1","value":10} {"key":"k2","value":10} {"key":"k3","value":10} {"key":"k4","value":10} ' \
  "nothing processed twice after SIGTERM"

exec 3>&-
finish
