#!/usr/bin/env bash
# Runs the Go Goka interop tests (this directory's Go module) against goka-cli.
# Usage: run.sh embedded|kafka
#   embedded  on goka-cli's embedded broker, which the tests start themselves
#   kafka     on the cluster in GOKA_TEST_BROKERS, else the one whose address
#             is in the file GOKA_TEST_BROKERS_FILE (skipped without either)
# GOKA_CLI must point at goka-cli. Exits 77 (ctest's SKIP_RETURN_CODE) when Go
# is missing or there is no cluster to run on. The first run downloads Go Goka
# and its dependencies through the Go module proxy into Go's module cache.
set -euo pipefail
SKIP=77
mode=${1:-embedded}
: "${GOKA_CLI:?GOKA_CLI must point at goka-cli}"
GOKA_CLI=$(realpath "$GOKA_CLI")
export GOKA_CLI

if ! command -v go >/dev/null 2>&1; then
  echo "goka-test: skipped: Go is not installed (the interop tests need Go 1.26.5 or newer, as Go Goka v1.1.17 does)"
  exit $SKIP
fi
case "$mode" in
  embedded) export GOKA_TEST_BROKERS= ;;
  kafka)
    # The real-Kafka tier's broker (its ctest fixture writes the address).
    if [ -z "${GOKA_TEST_BROKERS:-}" ] && [ -s "${GOKA_TEST_BROKERS_FILE:-/nonexistent}" ]; then
      GOKA_TEST_BROKERS=$(cat "$GOKA_TEST_BROKERS_FILE")
      export GOKA_TEST_BROKERS
    fi
    if [ -z "${GOKA_TEST_BROKERS:-}" ]; then
      echo "goka-test: skipped: no real Kafka to run on (GOKA_TEST_BROKERS unset, no fixture address)"
      exit $SKIP
    fi ;;
  *) echo "usage: $0 embedded|kafka" >&2; exit 2 ;;
esac

cd "$(dirname "$0")"
# go.sum is committed: nothing may change it at test time.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
go test -c -o "${TMPDIR:-/tmp}/goka-interop-$$.test" . 
trap 'rm -f "${TMPDIR:-/tmp}/goka-interop-$$.test"' EXIT
"${TMPDIR:-/tmp}/goka-interop-$$.test" -test.count=1 -test.timeout=6m -test.v
