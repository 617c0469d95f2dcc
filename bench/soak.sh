#!/usr/bin/env bash
# Soak: a large backlog counted by 4 instances of one group while one of them
# is killed (kill -9) or started every PERIOD seconds. Checks that no key's
# count is below the truth, reports the messages counted twice, and each
# instance's RSS over its life (flat, not growing).
#
#   bash bench/soak.sh build/goka-cli [MESSAGES] [PARTITIONS] [PERIOD]
# Defaults: 10,000,000 messages, 64 partitions, 20 s. Not part of the tests.
set -euo pipefail
CLI=$(realpath "${1:?usage: soak.sh GOKA_CLI [MESSAGES] [PARTITIONS] [PERIOD]}")
N=${2:-10000000}
P=${3:-64}
PERIOD=${4:-20}
KEYS=1000
W=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}" ${broker:-}; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

"$CLI" broker --address-file "$W/addr" -t in:$P -t soak-table:$P >/dev/null 2>&1 &
broker=$!
until [ -s "$W/addr" ]; do sleep 0.1; done
export GOKA_BROKERS=$(cat "$W/addr")

start=$SECONDS
awk -v n=$N -v k=$KEYS 'BEGIN{for(i=0;i<n;i++) printf "k%d\t%d\n", i%k, i}' |
  "$CLI" -q emit in --input kv --codec string
echo "emitted $N messages in $((SECONDS - start)) s"
"$CLI" dump in -o beginning -c 1 -p 0 --codec string | grep -q '"offset":0,' ||
  { echo "the backlog was trimmed by the embedded broker: use fewer messages" >&2; exit 1; }

launch() {  # launch I: instance I in the background
  "$CLI" -q run-group soak -i in --codec bytes --op count --table-codec int64 \
    --storage "$W/st-$1" 2>>"$W/inst-$1.err" &
  pids[$1]=$!
}
# committed: the group's committed offsets, summed (the backlog is done at N).
committed() {
  "$CLI" status soak --json 2>/dev/null | grep -o '"total":{"committed":[0-9]*' | grep -o '[0-9]*$' ||
    echo 0
}

for i in 0 1 2 3; do launch $i; done
start=$SECONDS
next_change=$((SECONDS + PERIOD))
turn=0
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
    else
      echo "start instance $i"
      launch $i
    fi
    turn=$((turn + 1))
    next_change=$((SECONDS + PERIOD))
  fi
done
echo "processed the backlog in $((SECONDS - start)) s"
for i in 0 1 2 3; do
  [ -n "${pids[$i]:-}" ] && { kill -TERM "${pids[$i]}" 2>/dev/null; wait "${pids[$i]}" 2>/dev/null || true; }
done
pids=()

read -r keys sum min <<<"$("$CLI" dump soak-table --table --codec int64 |
  awk -F'"value":' '{v=$2+0; s+=v; if(min==""||v<min)min=v; n++} END{print n, s, min}')"
echo "keys $keys (want $KEYS), min count $min (truth $((N / KEYS))), counted twice: $((sum - N))"
[ "$keys" = "$KEYS" ] && [ "$min" -ge $((N / KEYS)) ] || { echo "LOSS" >&2; exit 1; }
echo "RSS per instance life (KB): first sample, max, last sample"
awk '{k=$2" "$3; if(!(k in first)) first[k]=$4; if($4>max[k]) max[k]=$4; last[k]=$4}
     END{for(k in first) print "  instance/pid " k ": " first[k], max[k], last[k]}' "$W/rss" | sort
