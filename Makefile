# Thin driver over CMake + ctest. Every target first makes sure the Debian packages are there.
#   make demo    build (release) and run the end-to-end tour
#   make check   release build + ASan/UBSan build, whole suite in both
#   make bench   benchmarks: CSV under build/bench-results, PNG plots beside them
#   make fuzz    libFuzzer targets (clang), FUZZ_SECONDS each (default 60)
#   make install PREFIX=/usr/local
JOBS        ?= $(shell nproc)
PREFIX      ?= /usr/local
FUZZ_SECONDS ?= 60
RELEASE     := build/release
ASAN        := build/asan
FUZZDIR     := build/fuzz

.PHONY: all deps demo check bench fuzz install clean release asan

all: release

deps:
	@bash scripts/deps.sh

$(RELEASE)/CMakeCache.txt: | deps
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null

$(ASAN)/CMakeCache.txt: | deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCLOISTER_SANITIZE=ON >/dev/null

release: deps $(RELEASE)/CMakeCache.txt
	cmake --build $(RELEASE) -j $(JOBS)

asan: deps $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j $(JOBS)

demo: release
	$(RELEASE)/src/cli/cloister demo

check: release asan
	@echo "== release build: ctest =="
	cd $(RELEASE) && ctest --output-on-failure -j $(JOBS)
	@echo "== ASan + UBSan build: ctest =="
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench: release
	@bash bench/run.sh $(RELEASE)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZDIR) -DCMAKE_BUILD_TYPE=Debug -DCLOISTER_FUZZ=ON \
	  -DCLOISTER_TESTS=OFF >/dev/null
	cmake --build $(FUZZDIR) -j $(JOBS)
	@bash fuzz/run.sh $(FUZZDIR) $(FUZZ_SECONDS)

install: release
	cmake --install $(RELEASE) --prefix $(PREFIX)

clean:
	rm -rf build
