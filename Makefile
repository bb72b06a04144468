# farcall — the two commands of the README, plus developer helpers.
#
#   make demo    install what is missing, build, run the demo
#   make test    install what is missing, build, run the whole suite:
#                a normal build and an ASan+UBSan build (clang, with the fuzz
#                harnesses run for a bounded time), both through ctest
#   make fuzz    run every fuzz harness for FUZZ_SECONDS (default 300) each
#   make bench   build and run the benchmarks: the XDR codec, then the runtime
#                (bench/README.md; a few minutes, pinned to CPUs as explained there)
#   make format  clang-format every C file

JOBS         ?= $(shell nproc)
BUILD        ?= build
ASAN_BUILD   ?= build-asan
TSAN_BUILD   ?= build-tsan
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 300
SAN_CC       := $(shell command -v clang >/dev/null 2>&1 && echo clang || echo cc)
# Most tests wait (deadlines, retransmissions, idle timeouts) more than they
# compute: ctest runs twice as many as there are CPUs at once.
TEST_JOBS    ?= $(shell echo $$(( $(JOBS) * 2 )))
CTEST        := ctest --output-on-failure --no-label-summary -j $(TEST_JOBS) --timeout 600
# The project's own builds treat warnings as errors (a plain cmake build does not).
WERROR       := -DFARCALL_WERROR=ON

.PHONY: all deps build demo test test-release test-tsan test-asan fuzz bench format clean

all: build

deps:
	@scripts/deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(WERROR)
	cmake --build $(BUILD) -j $(JOBS)

demo: deps build
	@scripts/demo.sh $(BUILD)

test: deps
	$(MAKE) --no-print-directory test-release
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory test-asan

test-release: build
	cd $(BUILD) && $(CTEST)

# The runtime's tests (threads, sockets, interop) under ThreadSanitizer.
test-tsan:
	CC=$(SAN_CC) cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(WERROR) \
	    -DFARCALL_SANITIZE=thread -DFARCALL_BENCH=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target runtime_tests
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    $(CTEST) -L 'runtime|interop'

test-asan:
	CC=$(SAN_CC) cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug $(WERROR) \
	    -DFARCALL_SANITIZE=address,undefined -DFARCALL_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(WERROR) \
	    -DFARCALL_SANITIZE=address,undefined -DFARCALL_BENCH=OFF \
	    -DFARCALL_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -R '^fuzz_' --timeout 0

bench: deps build
	@bench/run.sh $(BUILD)
	@bench/run_rpc.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
