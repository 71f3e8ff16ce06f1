# tinybms-victron-bridge: the Makefile wraps CMake.
#   make          build the release tree in build/
#   make test     unit tests under ASan+UBSan, then the Python peer tests
#   make cross    compile core/ for Cortex-M4F and RV32IMC, print sizes
SHELL := /bin/bash
BUILD      ?= build
TEST_BUILD ?= build/asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test unit demo cross fuzz clean format

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTBVB_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

unit: deps
	@scripts/check-core-includes
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTBVB_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

test: unit build
	@scripts/run-tests $(TEST_BUILD) $(BUILD)

# The bridge on its built-in TinyBMS simulator; CAN frames decoded on the terminal
# and written in candump format to build/demo/can.log. Ctrl-C stops it.
demo: build
	@mkdir -p $(BUILD)/demo
	@echo "tinybms-bridge on the built-in simulator; frames also in $(BUILD)/demo/can.log; Ctrl-C stops"
	@$(BUILD)/tinybms-bridge --simulate --data-dir $(BUILD)/demo --config $(BUILD)/demo/config.json \
		--can log:$(BUILD)/demo/can.log --print-frames $(DEMO_ARGS)

cross: deps
	@scripts/cross-size

# libFuzzer targets (tests/fuzz/), FUZZ_SECONDS each (default 60), ASan+UBSan.
FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/fuzz $(FUZZ_SECONDS)

format:
	@clang-format -i core/include/*.h core/src/*.c tests/unit/*.c

clean:
	rm -rf build
