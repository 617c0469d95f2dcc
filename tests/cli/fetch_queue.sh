# A small fetch-ahead queue (-X queued.min.messages) does not stall reading a
# backlog. librdkafka 2.0 stops fetching once its queue holds that many
# records and then sleeps up to 1 s unless woken; goka-cli wakes it as it
# drains the queue. Through a queue of 500, 200,000 records take 0.7 s to
# dump or view, 20-25 s without that; each command here is given 12 s
# (run-group 20 s: it also joins its group and waits 1 s idle).
source "$(dirname "$0")/lib.sh"
start_broker -t in:4 -t q-table:4
N=200000
awk -v n=$N 'BEGIN{for(i=0;i<n;i++) printf "k%d\t%d\n", i%50, i}' |
  "$CLI" -q emit in --input kv --codec string || fail "emitting $N messages"
small=(-X queued.min.messages=500)

run 0 timeout 12 "$CLI" -q "${small[@]}" dump in
same "$(wc -l <"$WORK/out")" "$N" "records dumped through a small queue"

run 0 timeout 12 "$CLI" -q "${small[@]}" view in --codec string --all
same "$(wc -l <"$WORK/out")" 50 "rows of a view read through a small queue"

run 0 timeout 20 "$CLI" -q "${small[@]}" run-group q -i in --codec bytes --op count \
  --table-codec int64 --until-idle 1
run 0 "$CLI" -q view q-table --codec int64 --all
same "$(awk -F'"value":' '{ s += $2 + 0 } END { print s }' "$WORK/out")" "$N" \
  "messages counted through a small queue"
finish
