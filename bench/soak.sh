#!/usr/bin/env bash
# Soak: MESSAGES counted by 4 instances of one group while one of them is
# killed (kill -9) or started every PERIOD seconds. Checks that no key's count
# is below the truth, reports the messages counted twice, and each instance's
# RSS over its life (it must stay flat, not grow).
#
#   bash bench/soak.sh build/goka-cli [MESSAGES] [PARTITIONS] [PERIOD] [RATE]
# Defaults: 10,000,000 messages, 64 partitions, 20 s, 50,000 messages/s.
# RATE > 0: a live stream, emitted with `emit --rate RATE` while the group runs
# (10M at 50,000/s: about 200 s, so about 10 kills and starts). RATE 0: the
# whole backlog first, then the group. SOAK_KAFKA=1: on a real Kafka
# (scripts/kafka.sh) instead of the embedded broker, whose consumer groups
# take about 9 s for every join (so with a kill or start every 20 s it spends
# most of the time rebalancing). Not part of the tests.
set -euo pipefail
CLI=$(realpath "${1:?usage: soak.sh GOKA_CLI [MESSAGES] [PARTITIONS] [PERIOD] [RATE]}")
N=${2:-10000000}
P=${3:-64}
PERIOD=${4:-20}
RATE=${5:-50000}
KEYS=1000
W=$(mktemp -d)
SRC=$(cd "$(dirname "$0")/.." && pwd)
pids=()
emitter=""
cleanup() {
  for pid in "${pids[@]}" $emitter ${broker:-}; do kill -9 "$pid" 2>/dev/null || true; done
  [ "${SOAK_KAFKA:-0}" = 1 ] && bash "$SRC/scripts/kafka.sh" stop "$W/kafka" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT

if [ "${SOAK_KAFKA:-0}" = 1 ]; then
  export GOKA_BROKERS=$(bash "$SRC/scripts/kafka.sh" start "$W/kafka" | tail -1)
  "$CLI" -q topics create in:$P
else
  "$CLI" broker --address-file "$W/addr" -t in:$P -t soak-table:$P >/dev/null 2>&1 &
  broker=$!
  until [ -s "$W/addr" ]; do sleep 0.1; done
  export GOKA_BROKERS=$(cat "$W/addr")
fi

emit() {  # emit [FLAGS]: the N input messages, KEYS keys
  awk -v n=$N -v k=$KEYS 'BEGIN{for(i=0;i<n;i++) printf "k%d\t%d\n", i%k, i}' |
    "$CLI" -q emit in --input kv --codec string "$@"
}
if [ "$RATE" = 0 ]; then
  start=$SECONDS
  emit
  echo "emitted $N messages in $((SECONDS - start)) s"
  "$CLI" dump in -o beginning -c 1 -p 0 --codec string | grep -q '"offset":0,' ||
    { echo "the backlog was trimmed by the embedded broker: use fewer messages" >&2; exit 1; }
fi

launch() {  # launch I: instance I in the background
  "$CLI" -q run-group soak -i in --codec bytes --op count --table-codec int64 \
    --storage "$W/st-$1" 2>>"$W/inst-$1.err" &
  pids[$1]=$!
}
# committed: the group's committed offsets, summed (everything is done at N).
committed() {
  "$CLI" status soak --json 2>/dev/null | grep -o '"total":{"committed":[0-9]*' | grep -o '[0-9]*$' ||
    echo 0
}

for i in 0 1 2 3; do launch $i; done
start=$SECONDS
if [ "$RATE" != 0 ]; then
  emit --rate "$RATE" &
  emitter=$!
  echo "emitting $N messages at $RATE/s while the group runs"
fi
next_change=$((SECONDS + PERIOD))
turn=0 kills=0 starts=0
while :; do
  sleep 5
  for i in 0 1 2 3; do
    pid=${pids[$i]:-}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
      echo "$((SECONDS - start)) $i $pid $(ps -o rss= -p "$pid")" >>"$W/rss"
  done
  c=$(committed)
  echo "t=$((SECONDS - start)) s committed=$c"
  [ "$c" = "$N" ] && break
  if [ $SECONDS -ge $next_change ]; then
    i=$(((turn / 2) % 4))  # kill one, then start it again
    if [ -n "${pids[$i]:-}" ] && kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "kill -9 instance $i"
      kill -9 "${pids[$i]}"
      wait "${pids[$i]}" 2>/dev/null || true
      pids[$i]=""
      kills=$((kills + 1))
    else
      echo "start instance $i"
      launch $i
      starts=$((starts + 1))
    fi
    turn=$((turn + 1))
    next_change=$((SECONDS + PERIOD))
  fi
done
echo "processed $N messages in $((SECONDS - start)) s with $kills kills and $starts starts"
if [ -n "$emitter" ]; then wait "$emitter" || { echo "the emitter failed" >&2; exit 1; }; emitter=""; fi
for i in 0 1 2 3; do
  [ -n "${pids[$i]:-}" ] && { kill -TERM "${pids[$i]}" 2>/dev/null; wait "${pids[$i]}" 2>/dev/null || true; }
done
pids=()

read -r keys sum min <<<"$("$CLI" dump soak-table --table --codec int64 |
  awk -F'"value":' '{v=$2+0; s+=v; if(min==""||v<min)min=v; n++} END{print n, s, min}')"
echo "keys $keys (want $KEYS), min count $min (truth $((N / KEYS))), counted twice: $((sum - N))"
[ "$keys" = "$KEYS" ] && [ "$min" -ge $((N / KEYS)) ] || { echo "LOSS" >&2; exit 1; }
# Flat: an instance's RSS in the second half of its life is no more than in
# the first half (allowing 10% noise); the samples are 5 s apart.
echo "RSS per instance life (MB): samples, first, max of the first half, max of the second half, last"
awk '{k=$2" "$3; n[k]++; t[k, n[k]]=$4}
  END {
    for (k in n) {
      h = int(n[k] / 2); a = 0; b = 0
      for (i = 1; i <= n[k]; i++) { v = t[k, i]; if (i <= h) { if (v > a) a = v } else if (v > b) b = v }
      flag = (h > 0 && b > a * 1.1) ? "  GROWING" : ""
      printf "  instance/pid %s: %d, %.0f, %.0f, %.0f, %.0f%s\n", k, n[k], t[k, 1] / 1024, a / 1024, b / 1024, t[k, n[k]] / 1024, flag
    }
  }' "$W/rss" | sort
