# Go Goka interop tests (tests/interop/, a Go module), included by
# tests/CMakeLists.txt. Two ctest entries: on the embedded broker (always), and
# on the real Kafka in GOKA_TEST_BROKERS (skipped when it is unset). Both are
# skipped, not passed, on a machine without Go. run.sh builds the module with
# `go test`; the first run downloads Go Goka through the Go module proxy.
function(goka_interop_test name mode labels)
  add_test(NAME "interop: ${name}" COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh ${mode})
  set_tests_properties("interop: ${name}" PROPERTIES
    LABELS "${labels}"
    SKIP_RETURN_CODE 77
    TIMEOUT 420
    ENVIRONMENT "GOKA_CLI=$<TARGET_FILE:goka-cli>;GOKA_TEST_BROKERS_FILE=${GOKA_KAFKA_ADDRESS_FILE}")
endfunction()
goka_interop_test("Go Goka on the embedded broker" embedded interop)
goka_interop_test("Go Goka on a real Kafka" kafka "interop;kafka")
# The real Kafka is the tier's broker (tests/CMakeLists.txt's fixture).
set_tests_properties("interop: Go Goka on a real Kafka" PROPERTIES
  FIXTURES_REQUIRED ${GOKA_KAFKA_FIXTURE})
