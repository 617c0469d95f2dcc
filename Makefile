# The two commands a newcomer needs:
#   make demo   installs what is missing, builds, runs the click demo on the embedded broker
#   make test   installs what is missing, builds, runs every test through ctest
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DGOKA_WERROR=ON

.PHONY: all deps build demo test test-asan bench clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)/goka-cli

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(BUILD)-asan -G Ninja $(CMAKE_FLAGS) -DGOKA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(BUILD)-asan -j $(JOBS) --target goka-unit-tests
	cd $(BUILD)-asan && ctest --output-on-failure -L unit -j $(JOBS)

bench: build
	bash bench/run.sh $(BUILD)/goka-cli

clean:
	rm -rf $(BUILD) $(BUILD)-asan
