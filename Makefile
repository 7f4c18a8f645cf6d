# SPDX-License-Identifier: MIT
# herald — the two commands a newcomer needs: `make run` and `make test`.
# Both install what is missing (scripts/deps.sh), then build with CMake.

JOBS ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo
CTEST_FLAGS ?= --output-on-failure -j2 --timeout 600
# The project's own builds treat warnings as errors; a plain cmake build
# (a packager's) does not (option HERALD_WERROR).
CMAKE_FLAGS ?= -DHERALD_WERROR=ON
LOOPS ?= 10
# make fuzz-long: seconds per libFuzzer target, and which targets ("" = all)
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=

.PHONY: all deps build build-asan build-fuzz build-matrix run test test-fast test-loop fuzz-long bench install deb test-deb clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j$(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-asan -j$(JOBS)

build-fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHERALD_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-fuzz -j$(JOBS)

# Every compiler and build type, warnings as errors (CI runs it).
build-matrix:
	@bash scripts/build-matrix.sh

run: build
	./build/herald --data-dir ./herald-data

# The whole suite, three times over: the normal build, the ASan+UBSan build,
# then each libFuzzer target for a short run. Every stage runs even when an
# earlier one failed; the last lines list the failures of each stage.
test:
	@CTEST_FLAGS="$(CTEST_FLAGS)" bash scripts/test.sh

# The suite LOOPS times from clean build directories, with STRESS=1 a CPU
# hog beside it (stress-ng); prints a table of runs and failures per test.
test-loop:
	@bash scripts/test-loop.sh $(if $(filter 1,$(STRESS)),--stress) $(LOOPS)

# Every libFuzzer target for FUZZ_SECONDS each (default 600), with a kept
# corpus in build-fuzz/fuzz-long/; prints each target's executions and
# coverage (scripts/fuzz-long.sh, docs/testing.md).
fuzz-long: build-fuzz
	@FUZZ_SECONDS="$(FUZZ_SECONDS)" FUZZ_TARGETS="$(FUZZ_TARGETS)" bash scripts/fuzz-long.sh

test-fast: build
	cd build && ctest $(CTEST_FLAGS)

bench: build
	bash bench/run.sh

# Into CMAKE_INSTALL_PREFIX (/usr/local unless configured otherwise);
# DESTDIR=DIR stages it under DIR (docs/install.md).
install: build
	cmake --install build

# The Debian packages (debian/), built by dpkg-buildpackage in a copy of
# the tree: build-deb/*.deb.
deb: deps
	@bash scripts/deb.sh

# The packages built, unpacked into a throw-away root and checked as
# tests/integration/test_install.sh checks `make install` (CI runs it).
test-deb: deps
	@debs=$$(bash scripts/deb.sh | grep -v -- -dbgsym_) && \
	  HERALD_DEBS="$$debs" BUILD=$(CURDIR)/build-deb nice -n 15 bash tests/integration/test_install.sh

clean:
	rm -rf build build-asan build-fuzz build-results build-matrix build-loop build-deb
