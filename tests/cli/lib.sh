# Shared helpers of the shell tests: goka-cli as a user runs it.
# Each test: source lib.sh; start_broker -t topic:N ...; then check things.
# With GOKA_TEST_KAFKA=1 (ctest's "kafka: cli: " tier) start_broker starts an
# Apache Kafka of the test's own (scripts/kafka.sh) instead of the embedded one.
set -euo pipefail

CLI=$(realpath "${GOKA_CLI:?GOKA_CLI must point at goka-cli}")
SRC=${GOKA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WORK=$(mktemp -d)
BROKER_PID=""
KAFKA_DIR=""
FAILURES=0

cleanup() {
  if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
  if [ -n "$KAFKA_DIR" ]; then bash "$SRC/scripts/kafka.sh" stop "$KAFKA_DIR" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Ends the test as skipped: ctest matches this line (tests/CMakeLists.txt).
skip() {
  echo "goka-test: skipped: $*"
  exit 77
}

# Whether this run is on a real Kafka (GOKA_TEST_KAFKA=1).
real_kafka() { [ "${GOKA_TEST_KAFKA:-}" = 1 ]; }

# Waits (up to $2 seconds, default 10) until the command in $1 succeeds.
await() {
  local deadline=$((SECONDS + ${2:-10}))
  until eval "$1"; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $1" >&2; return 1; }
    sleep 0.05
  done
}

# Starts an Apache Kafka in $WORK/kafka, creates the topics named by -t NAME:N
# (compacted when NAME ends in -table, as Goka's tables are) and exports
# GOKA_BROKERS. Skips the test on a machine without Java 17 or Maven.
start_kafka() {
  local why topics=()
  why=$(bash "$SRC/scripts/kafka.sh" check) || skip "the real-Kafka tier needs Java 17 and Maven: $why"
  while [ $# -gt 0 ]; do
    case "$1" in
      -t | --topic) topics+=("$2"); shift 2 ;;
      *) skip "start_broker $1: an option of the embedded broker" ;;
    esac
  done
  KAFKA_DIR=$WORK/kafka
  # GOKA_KAFKA_OWNER: the broker goes when this test does, even when killed.
  GOKA_BROKERS=$(GOKA_KAFKA_OWNER=$$ bash "$SRC/scripts/kafka.sh" start "$KAFKA_DIR")
  export GOKA_BROKERS
  [ ${#topics[@]} -eq 0 ] ||
    "${GOKA_CREATE_TOPICS:?GOKA_CREATE_TOPICS must point at goka-test-create-topics}" "$GOKA_BROKERS" "${topics[@]}"
}

# Starts an embedded broker with the given arguments and exports GOKA_BROKERS
# (a real Kafka with those topics under GOKA_TEST_KAFKA=1).
start_broker() {
  if real_kafka; then
    start_kafka "$@"
    return
  fi
  "$CLI" broker --address-file "$WORK/address" "$@" >"$WORK/broker.out" 2>"$WORK/broker.err" &
  BROKER_PID=$!
  await "[ -s '$WORK/address' ]"
  GOKA_BROKERS=$(cat "$WORK/address")
  export GOKA_BROKERS
}

# Starts an embedded broker with --control and the given arguments: fault
# commands written to fd 3 reach it; answers counts its "ok" replies.
# Skipped on a real Kafka, which takes no such commands.
start_controlled_broker() {
  real_kafka && skip "needs the embedded broker's control channel (broker --control)"
  mkfifo "$WORK/control"
  "$CLI" broker --address-file "$WORK/address" --control "$@" \
    <"$WORK/control" >"$WORK/broker.out" 2>"$WORK/broker.err" &
  BROKER_PID=$!
  exec 3>"$WORK/control"
  await "[ -s '$WORK/address' ]"
  GOKA_BROKERS=$(cat "$WORK/address")
  export GOKA_BROKERS
}
answers() { grep -c '^ok' "$WORK/broker.out" || true; }

# The pids of this shell's background jobs that still run or are stopped, but
# the embedded broker's. A test kills these when it ends, not pids it noted: a
# pid whose process ended may be another test's process by now.
# (jobs sees the job table only outside a pipeline.)
live_jobs() {
  local p
  for p in $(jobs -pr) $(jobs -ps); do [ "$p" = "$BROKER_PID" ] || echo "$p"; done
}

# Kills the live background jobs (live_jobs) with signal $1 (a name: KILL).
kill_jobs() {
  local pids
  pids=$(live_jobs)
  [ -z "$pids" ] || kill "-$1" $pids 2>/dev/null || true
}

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# run EXPECTED_EXIT cmd...: runs cmd with stdout in $WORK/out, stderr in $WORK/err.
run() {
  local want=$1
  shift
  local got=0
  "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
  if [ "$got" != "$want" ]; then
    fail "exit $got, not $want: $*"
    sed 's/^/  stderr: /' "$WORK/err" | head -5 >&2
  fi
}

out_is() { [ "$(cat "$WORK/out")" == "$1" ] || fail "stdout is not '$1' but: $(head -c 400 "$WORK/out")"; }
err_has() { grep -qF -- "$1" "$WORK/err" || fail "stderr lacks '$1': $(head -c 400 "$WORK/err")"; }
out_empty() { [ ! -s "$WORK/out" ] || fail "stdout not empty: $(head -c 200 "$WORK/out")"; }
same() { [ "$1" == "$2" ] || fail "$3: '$1' != '$2'"; }

# Exactly one error line on stderr, in the contract's form, and it comes last
# (a summary may precede it).
error_line() {
  [ "$(grep -c '^goka-cli: error: ' "$WORK/err")" -eq 1 ] || fail "not one error line: $(cat "$WORK/err")"
  tail -1 "$WORK/err" | grep -qE '^goka-cli: error: ' || fail "error is not the last line: $(cat "$WORK/err")"
}

finish() {
  if [ "$FAILURES" -ne 0 ]; then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "ok"
}
