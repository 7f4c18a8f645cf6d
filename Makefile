# herald — the two commands a newcomer needs: `make run` and `make test`.
# Both install what is missing (scripts/deps.sh), then build with CMake.

JOBS ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo
CTEST_FLAGS ?= --output-on-failure -j2 --timeout 300

.PHONY: all deps build build-asan build-fuzz run test test-fast bench install clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	cmake --build build -j$(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)

build-fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHERALD_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS)

run: build
	./build/herald --data-dir ./herald-data

# The whole suite, three times over: the normal build, the ASan+UBSan build,
# then each libFuzzer target for a short run.
test: build build-asan build-fuzz
	cd build && ctest $(CTEST_FLAGS)
	cd build-asan && ctest $(CTEST_FLAGS)
	cd build-fuzz && ctest $(CTEST_FLAGS) -L fuzz

test-fast: build
	cd build && ctest $(CTEST_FLAGS)

bench: build
	bash bench/run.sh

install: build
	cmake --install build

clean:
	rm -rf build build-asan build-fuzz
