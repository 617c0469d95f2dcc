#!/usr/bin/env bash
# Soak: MESSAGES counted by 4 instances of one group (LevelDB storage) while
# one of them is killed (kill -9) or started every PERIOD seconds. Checks that
# no key's count is below the truth, counts the messages counted twice, and
# samples each instance's RSS every 5 s (it must stay flat, not grow).
#
#   nice bash bench/soak.sh build/goka-cli [MESSAGES] [PARTITIONS] [PERIOD] [RATE]
# Defaults: 10,000,000 messages, 64 partitions, 20 s, 50,000 messages/s.
# RATE > 0: a live stream, emitted with `emit --rate RATE` while the group runs
# (10M at 50,000/s: about 200 s, so about 10 kills and starts). RATE 0: the
# whole backlog first, then the group. Not part of the tests.
#
# Environment:
#   SOAK_KAFKA=1   on a real Kafka (scripts/kafka.sh) instead of the embedded
#                  broker, whose consumer groups take about 9 s for every join
#                  (so with a change every 20 s it spends most of its time
#                  rebalancing)
#   SOAK_DIR=DIR   keep everything in DIR (default: a temporary directory,
#                  removed after a clean run, kept after a failure)
#   SOAK_STALL=S   give up when nothing was committed for S seconds (300)
#   SOAK_EMIT_TIMEOUT=S  the emitter's --timeout (300): a message still not
#                  acknowledged after S seconds fails it. The default 10 s is
#                  too short when the broker takes less than RATE (on 2 shared
#                  cores, 35,000/s): the producer's queue grows by the
#                  difference until messages time out
#   SOAK_STEADY=1  instance 0 is never killed (the changes go round 1..3): one
#                  life as long as the soak, through every rebalance, to see
#                  whether its RSS stays flat
#   SOAK_BLOCK=B   keys in blocks: message i has key b(i / B), so each key is
#                  B messages in a row (N / B keys) and a loss or duplicate
#                  shows when and where it happened (default: 1000 keys,
#                  message i has key k(i % 1000))
#
# The directory holds, per instance life, inst-I-lifeL.log (run-group -v, each
# line prefixed with the Unix time), events (Unix time, what the soak did),
# rss (seconds since the start, instance, pid, RSS in kB, partitions owned), status.log (the
# group's `status --json` every 5 s), status.txt (the final status), counts
# (key, partition, count, truth) and, on the embedded broker, broker.log.
#
# Exit 0: nothing lost. Exit 1: a loss (a key's count below the truth), an
# input that does not hold exactly MESSAGES or was trimmed, an instance that
# exited by itself (started again at once, counted) or would not stop, a
# stall or a failing emitter; the directory is kept and named.
set -euo pipefail
CLI=$(realpath "${1:?usage: soak.sh GOKA_CLI [MESSAGES] [PARTITIONS] [PERIOD] [RATE]}")
N=${2:-10000000}
P=${3:-64}
PERIOD=${4:-20}
RATE=${5:-50000}
KEYS=1000
BLOCK=${SOAK_BLOCK:-0}
EMIT_TIMEOUT=${SOAK_EMIT_TIMEOUT:-300}
STEADY=${SOAK_STEADY:-0}
STALL=${SOAK_STALL:-300}
SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${SOAK_DIR:-}" ]; then
  mkdir -p "$SOAK_DIR"
  W=$(realpath "$SOAK_DIR")
else
  W=$(mktemp -d)
fi
pids=() logs=() lives=0
emitter="" broker="" keep=${SOAK_DIR:+1} failed=""

cleanup() {
  for pid in "${pids[@]}" $emitter $broker; do kill -9 "$pid" 2>/dev/null || true; done
  if [ "${SOAK_KAFKA:-0}" = 1 ] && [ -z "$failed" ]; then
    cp "$W/kafka/broker.log" "$W/kafka-broker.log" 2>/dev/null || true
    bash "$SRC/scripts/kafka.sh" stop "$W/kafka" >/dev/null 2>&1 || true
  elif [ "${SOAK_KAFKA:-0}" = 1 ]; then  # its data stays for a look: DIR/kafka/data
    kill "$(cat "$W/kafka/broker.pid" 2>/dev/null)" 2>/dev/null || true
  fi
  if [ -z "$keep" ]; then rm -rf "$W"; else echo "kept: $W"; fi
}
trap cleanup EXIT
fail() { keep=1 failed=1; echo "soak: $*" >&2; exit 1; }
event() { echo "$EPOCHREALTIME t=$((SECONDS - start)) $*" >>"$W/events"; echo "t=$((SECONDS - start)) s: $*"; }
start=$SECONDS

start_broker() {
  if [ "${SOAK_KAFKA:-0}" = 1 ]; then
    GOKA_BROKERS=$(bash "$SRC/scripts/kafka.sh" start "$W/kafka" | tail -1)
    export GOKA_BROKERS
    # The four instances race to create soak-table (until 1c27a63 the losers
    # failed with "topic exists but has no partitions yet").
    "$CLI" -q topics create "in:$P"
  else
    "$CLI" broker --address-file "$W/addr" -t "in:$P" -t "soak-table:$P" >"$W/broker.log" 2>&1 &
    broker=$!
    until [ -s "$W/addr" ]; do sleep 0.1; done
    GOKA_BROKERS=$(cat "$W/addr")
    export GOKA_BROKERS
  fi
}

emit() {  # emit [FLAGS]: the N input messages, message i with key k(i % KEYS) or b(i / BLOCK)
  awk -v n="$N" -v k=$KEYS -v b="$BLOCK" 'BEGIN{
      if (b > 0) for (i = 0; i < n; i++) printf "b%d\t%d\n", int(i / b), i
      else for (i = 0; i < n; i++) printf "k%d\t%d\n", i % k, i }' |
    "$CLI" --timeout "$EMIT_TIMEOUT" emit in --input kv --codec string "$@" 2>>"$W/emit.log"
}

stamp() {  # stamp FILE: stdin's lines, each prefixed with the Unix time, onto FILE
  local line
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >>"$1"
}

launch() {  # launch I: instance I in the background, one stamped log per life
  lives=$((lives + 1))
  local log="$W/inst-$1-life$lives.log"
  "$CLI" -v run-group soak -i in --codec bytes --op count --table-codec int64 \
    --storage "$W/st-$1" 2> >(stamp "$log") &
  pids[$1]=$!
  logs[$1]=$log
  event "start instance $1 pid ${pids[$1]} log ${log##*/}"
}

# The group's status, one JSON line (empty when it cannot be had).
status_json() { "$CLI" -q status soak --json 2>/dev/null || true; }
total_of() {  # total_of FIELD JSON: a field of the status's totals
  grep -o "\"total\":{[^}]*}" <<<"$2" | grep -o "\"$1\":-\?[0-9]*" | grep -o -- '-\?[0-9]*$' || echo 0
}

owned() {  # owned LOG: how many partitions the instance holds now, by its log
  grep -E 'group=soak: (assigned|revoked) partitions' "$1" | tail -1 |
    awk '/revoked/ { print 0; next } { print split($NF, p, ",") } END { if (NR == 0) print 0 }'
}

sample_rss() {  # "SECONDS INSTANCE PID RSS_KB PARTITIONS_OWNED" onto DIR/rss
  local i pid rss
  for i in 0 1 2 3; do
    pid=${pids[$i]:-}
    [ -n "$pid" ] || continue
    rss=$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ') || continue
    [ -n "$rss" ] && echo "$((SECONDS - start)) $i $pid $rss $(owned "${logs[$i]}")" >>"$W/rss"
  done
}

change_one() {  # the turn-th change: kill instance (turn/2)%4, then start it again
  local i=$(((turn / 2) % 4)) pid
  [ "$STEADY" = 0 ] || i=$((1 + (turn / 2) % 3))  # instance 0 lives throughout
  pid=${pids[$i]:-}
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    event "kill -9 instance $i pid $pid"
    pids[$i]=""
    kills=$((kills + 1))
  else
    launch "$i"
    starts=$((starts + 1))
  fi
  turn=$((turn + 1))
}

# An instance that exited by itself (not killed here) is counted, its error
# shown, and started again at once: the group must not run out of members.
restart_dead() {
  local i pid code
  for i in 0 1 2 3; do
    pid=${pids[$i]:-}
    [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null || continue
    code=0
    wait "$pid" 2>/dev/null || code=$?
    event "instance $i pid $pid exited by itself with $code:" \
      "$(grep -h 'error:' "${logs[$i]}" | tail -1 | cut -d' ' -f2-)"
    deaths=$((deaths + 1))
    launch "$i"
  done
}

# Runs until the emitter is done and everything in the input is committed.
soak_loop() {
  local tick=$SECONDS next_change=$((SECONDS + PERIOD)) last=-1 last_move=$SECONDS s c high
  turn=0 kills=0 starts=0 deaths=0
  while :; do
    # A sample every 5 s and a change every PERIOD s, on a fixed grid (the
    # status request takes a while, longer while the group rebalances).
    tick=$((tick + 5))
    if [ $SECONDS -lt $tick ]; then sleep $((tick - SECONDS)); else tick=$SECONDS; fi
    if [ $SECONDS -ge $next_change ]; then
      change_one
      next_change=$((next_change + PERIOD))
      [ $next_change -gt $SECONDS ] || next_change=$((SECONDS + PERIOD))
    fi
    restart_dead
    sample_rss
    s=$(status_json)
    echo "$((SECONDS - start)) $s" >>"$W/status.log"
    c=$(total_of committed "$s")
    high=$(total_of high_watermark "$s")
    echo "t=$((SECONDS - start)) s committed=$c high=$high"
    if [ -n "$emitter" ] && ! kill -0 "$emitter" 2>/dev/null; then
      wait "$emitter" || fail "the emitter failed: $(tail -3 "$W/emit.log")"
      emitter=""
      emit_end=$SECONDS
    fi
    [ -z "$emitter" ] && [ "$c" = "$high" ] && [ "$high" -ge "$N" ] && break
    if [ "$c" != "$last" ]; then last=$c last_move=$SECONDS; fi
    [ $((SECONDS - last_move)) -lt "$STALL" ] ||
      fail "nothing committed for $STALL s: $("$CLI" status soak 2>&1 | tail -3)"
  done
}

stop_all() {  # SIGTERM to every instance still running; each must stop within 60 s
  local i pid waited
  for i in 0 1 2 3; do
    pid=${pids[$i]:-}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid"
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 600 ]; do sleep 0.1; waited=$((waited + 1)); done
    kill -0 "$pid" 2>/dev/null && fail "instance $i (pid $pid) did not stop within 60 s of SIGTERM"
    wait "$pid" 2>/dev/null || event "instance $i pid $pid exited with $? on SIGTERM"
  done
  pids=()
}

# Every input partition still begins at offset 0 (the embedded broker keeps
# only about 5 MB of each): otherwise a restarted instance may have found its
# committed offset gone, and a loss may be the broker's. Prints the trimmed
# partitions; false when there are some.
untrimmed() {
  local p first trimmed=0
  for ((p = 0; p < P; p++)); do
    first=$("$CLI" dump in -p "$p" -o beginning -c 1 --codec string | grep -o '"offset":[0-9]*' || true)
    [ "$first" = '"offset":0' ] && continue
    echo "input partition $p begins at ${first#\"offset\":}, not 0: the broker trimmed it" >&2
    trimmed=1
  done
  [ $trimmed = 0 ]
}

start_broker
emit_start=$SECONDS emit_end=""
if [ "$RATE" = 0 ]; then
  emit
  emit_end=$SECONDS
  echo "emitted $N messages in $((emit_end - emit_start)) s"
  "$CLI" dump in -o beginning -c 1 -p 0 --codec string | grep -q '"offset":0,' ||
    fail "the backlog was trimmed by the embedded broker: use fewer messages"
fi
start=$SECONDS
for i in 0 1 2 3; do launch $i; done
if [ "$RATE" != 0 ]; then
  emit_start=$SECONDS
  emit --rate "$RATE" &
  emitter=$!
  echo "emitting $N messages at $RATE/s while the group runs"
fi
soak_loop
echo "processed $N messages in $((SECONDS - start)) s with $kills kills and $starts starts;" \
  "$deaths instances exited by themselves"
echo "emitter (asked for ${RATE}/s): $(grep -o '[0-9]* messages to in in .*' "$W/emit.log" | tail -1)"
stop_all
"$CLI" status soak >"$W/status.txt" 2>&1 || true
high=$(total_of high_watermark "$(status_json)")
[ "$high" = "$N" ] || fail "the input holds $high messages, not $N (a producer retry?): the truth is unknown"
trimmed=""
untrimmed || trimmed=1

bash "$SRC/bench/soak_check.sh" "$CLI" "$W" "$N" "$P" "$KEYS" "$BLOCK" || fail "LOSS (details above; logs in $W)${trimmed:+; the broker trimmed the input}"
[ -z "$trimmed" ] || fail "no loss counted, but the broker trimmed the input: not a valid run"
bash "$SRC/bench/soak_rss.sh" "$W/rss" || keep=1
[ "$deaths" = 0 ] || fail "$deaths instances exited by themselves (see events)"
