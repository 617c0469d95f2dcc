# The two commands a newcomer needs:
#   make demo   installs what is missing, builds, runs the click demo on the embedded broker
#   make test   installs what is missing, builds, runs every test through ctest:
#               unit, integration and CLI tests on the embedded broker, the same
#               on a real Apache Kafka (scripts/kafka.sh; skipped, with the
#               reason, without Java 17 and Maven), then the unit tests under
#               the sanitizers
# One tier: make test-unit | test-embedded | test-kafka | test-asan
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DGOKA_WERROR=ON

.PHONY: all deps build demo test test-unit test-embedded test-kafka test-asan kafka-check bench clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)/goka-cli

CTEST = cd $(BUILD) && status=0 && ctest --output-on-failure -j $(JOBS)
# After ctest: every skipped test with its reason (ctest shows skips without
# one), then ctest's exit status.
SKIPS = ; awk '/^[0-9]+\/[0-9]+ Test: /{sub(/^[0-9]+\/[0-9]+ Test: /, ""); name=$$0} \
	/^goka-test: skipped: /{sub(/^goka-test: skipped: /, ""); print "skipped: " name ": " $$0}' \
	Testing/Temporary/LastTest.log; exit $$status

test: build kafka-check
	$(CTEST) || status=$$? $(SKIPS)
	$(MAKE) --no-print-directory test-asan

test-unit: build
	$(CTEST) -L unit || status=$$? $(SKIPS)

# Integration and CLI tests on the embedded broker.
test-embedded: build
	$(CTEST) -L 'integration|cli' -LE kafka || status=$$? $(SKIPS)

# Integration and CLI tests on a real Apache Kafka.
test-kafka: build kafka-check
	$(CTEST) -L kafka || status=$$? $(SKIPS)

# Says so when the real-Kafka tier will be skipped, and why.
kafka-check:
	@why=$$(bash scripts/kafka.sh check) || echo "make test: the real-Kafka tier is skipped: $$why (it needs Java 17 and Maven)"

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer, at -O0
# with line tables only (-g1): reports keep file and line, the build is faster.
test-asan: deps
	cmake -S . -B $(BUILD)-asan -G Ninja $(CMAKE_FLAGS) -DGOKA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG=-g1
	cmake --build $(BUILD)-asan -j $(JOBS) --target goka-unit-tests
	cd $(BUILD)-asan && ctest --output-on-failure -L unit -j $(JOBS)

bench: build
	bash bench/run.sh $(BUILD)/goka-cli

clean:
	rm -rf $(BUILD) $(BUILD)-asan
