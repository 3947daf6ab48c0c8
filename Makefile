# The two commands a newcomer needs: `make demo` and `make test`. Both install what is missing first.
.PHONY: all deps build build-asan test test-asan-full test-release demo bench format tidy clean
JOBS ?= $(shell nproc)

all: build

deps:
	bash scripts/deps.sh

build: deps
	cmake --preset release
	cmake --build build -j $(JOBS)

# The sanitizer build covers the library through its unit tests; `make test-asan-full` also
# builds the binary and runs the integration tests under ASan (about twice the build time).
build-asan: deps
	cmake --preset debug-asan
	cmake --build build-asan -j $(JOBS) --target custodian_unit_tests

# Every test (unit + integration over real UDP, HTTP and PostgreSQL on loopback) on the release
# build, and the unit tests again under ASan/UBSan, with one disposable PostgreSQL server for the
# whole run (scripts/with-postgres.sh). Under the sanitizers the registry suite runs on SQLite
# only (its PostgreSQL half repeats the same registry code; the store suite covers the
# PostgreSQL backend under ASan): that keeps `make test` inside 15 minutes on two cores.
# The ASan unit tests run as $(JOBS) gtest shards, one process each (scripts/gtest-shards.sh):
# under ASan a process start costs ~5 s (the borders), more than most tests.
test: build build-asan
	bash scripts/with-postgres.sh sh -c 'ctest --test-dir build --output-on-failure -j $(JOBS) --timeout 300 && scripts/gtest-shards.sh $(JOBS) build-asan/custodian_unit_tests --gtest_filter=-*RegistryTest*postgresql*'

test-asan-full: deps
	cmake --preset debug-asan
	cmake --build build-asan -j $(JOBS)
	bash scripts/with-postgres.sh ctest --test-dir build-asan --output-on-failure -j $(JOBS) --timeout 600

test-release: build
	bash scripts/with-postgres.sh ctest --test-dir build --output-on-failure -j $(JOBS) --timeout 300

demo: build
	./build/custodian demo

bench: build
	./build/custodian bench rtt
	./build/custodian bench ingest
	./build/custodian bench tlog
	./build/custodian bench screen
	./build/custodian_microbench

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: build
	bash scripts/tidy.sh

clean:
	rm -rf build build-asan
