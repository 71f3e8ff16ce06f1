# tinybms-victron-bridge: the Makefile wraps CMake.
#   make          build the release tree in build/
#   make test     unit tests under ASan+UBSan, then the Python peer tests
#   make cross    compile core/ for Cortex-M4F and RV32IMC, app/ for RV32IMC, print sizes
#   make cross-qemu  run the core and the service on RV32IMC under qemu, compare with the host
#   make venus    the armhf Venus OS build and its dist folder (docs/venus-os.md)
#   make esp32-check IDF_PATH=...  the ESP32 firmware's C files against ESP-IDF v6's headers (docs/esp32.md)
SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
BUILD      ?= build
TEST_BUILD ?= build/asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test unit demo cross fuzz bench load soak clean format sim-check stress-test venus \
	esp32-check

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

test: unit build node_modules/.package-lock.json
	@scripts/run-tests $(TEST_BUILD) $(BUILD)

# npm dependencies of the web UI and the browser tests (uPlot, playwright-core),
# reinstalled from the lockfile when it changes.
node_modules/.package-lock.json: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error

# The bridge on its built-in TinyBMS simulator; CAN frames decoded on the terminal
# and written in candump format to build/demo/can.log. Ctrl-C stops it.
demo: build
	@mkdir -p $(BUILD)/demo
	@test -f $(BUILD)/demo/config.json || \
		echo '{"mqtt": {"enabled": true, "host": "127.0.0.1"}}' > $(BUILD)/demo/config.json
	@echo "tinybms-bridge on the built-in simulator; frames also in $(BUILD)/demo/can.log; Ctrl-C stops"
	@echo "web UI: http://127.0.0.1:8080"
	@echo "MQTT: published to a broker on 127.0.0.1:1883 if one runs (mosquitto_sub -t '#' -v)"
	@$(BUILD)/tinybms-bridge --simulate --data-dir $(BUILD)/demo --config $(BUILD)/demo/config.json \
		--can log:$(BUILD)/demo/can.log --http 127.0.0.1:8080 --print-frames $(DEMO_ARGS)

# Closed loop: bridge + TinyBMS simulator + simulated Victron system, 30 days,
# our configuration and the seed's side by side (docs/charge-control.md), then a
# two-pack bank of mismatched packs on one DC bus (docs/multi-pack.md).
sim-check: build
	@$(BUILD)/sim-check --days 30 --config all $(SIM_ARGS)

cross: deps
	@scripts/cross-size

# The core and the service on RV32IMC under qemu, their output compared byte for byte with the
# host's (tests/cross/run-qemu; also a tier of make test).
.PHONY: cross-qemu
cross-qemu: deps
	@tests/cross/run-qemu $(BUILD)/cross-qemu

# Venus OS (GX devices, 32-bit ARM hard float): Debian's gcc-arm-linux-gnueabihf against
# Debian 12 armhf libraries fetched into VENUS_SYSROOT (scripts/venus-sysroot, ~6 MB, needs
# the network once), then VENUS_BUILD/dist: the program, its libraries, the daemontools
# service and install.sh (docs/venus-os.md). make test runs it under qemu-arm when it exists.
VENUS_BUILD   ?= $(BUILD)/venus
VENUS_SYSROOT ?= $(BUILD)/venus-sysroot
venus:
	@scripts/install-deps --venus
	@scripts/venus-sysroot $(VENUS_SYSROOT)
	@cmake -S . -B $(VENUS_BUILD) -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/armhf-venus.cmake \
		-DTBVB_VENUS_SYSROOT=$(abspath $(VENUS_SYSROOT)) -DCMAKE_BUILD_TYPE=Release \
		-DTBVB_TESTS=OFF >/dev/null
	@cmake --build $(VENUS_BUILD) -j $(JOBS) --target tinybms-bridge
	@scripts/venus-dist $(VENUS_BUILD) $(abspath $(VENUS_SYSROOT))

# The ESP32 firmware (port/esp32): every port/esp32/main, port/posix, app and core C file
# compiled -fsyntax-only for the ESP32-C3 with Debian's riscv64-unknown-elf-gcc against the
# ESP-IDF v6 tree in IDF_PATH (and its managed components, see the script's header), then the
# memory figures. Prints "skipped" without IDF_PATH. Nothing is linked or flashed.
esp32-check: deps
	@IDF_PATH="$(IDF_PATH)" ESP32_CHECK_OUT=$(BUILD)/esp32-check scripts/esp32-check

# Performance figures (callgrind, data age, wrk, WebSocket fan-out, sizes): build/bench/results.md
bench: build
	@scripts/bench

# Load: 256 WebSocket clients + wrk on /api/status while the bridge polls at 10 Hz;
# DURATION seconds (default 60). Table in build/load/report.txt.
load: build
	@scripts/load $(if $(DURATION),--duration $(DURATION))

# Soak: RSS/fd/threads over DURATION seconds (default 600) with WS, HTTP and MQTT clients,
# then a LeakSanitizer run of the ASan build (LSAN_SECONDS, default 60). build/soak/report.txt.
soak: build
	@scripts/soak $(if $(DURATION),--duration $(DURATION)) $(if $(LSAN_SECONDS),--lsan-seconds $(LSAN_SECONDS))

# make test RUNS times (default 5) while stress-ng keeps every core busy: the
# suite must pass on a loaded machine. Report in build/stress-test/.
stress-test: deps
	@scripts/stress-test

# libFuzzer targets (tests/fuzz/), FUZZ_SECONDS each (default 60), ASan+UBSan.
FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/fuzz $(FUZZ_SECONDS)

format:
	@clang-format -i core/include/*.h core/src/*.c tests/unit/*.c

clean:
	rm -rf build
