# The two commands a newcomer needs: `make demo` and `make test`. Both install what is missing first.
.PHONY: all deps build build-asan test test-asan demo bench format tidy clean
JOBS ?= $(shell nproc)

all: build

deps:
	bash scripts/deps.sh

build: deps
	cmake --preset release
	cmake --build build -j $(JOBS)

build-asan: deps
	cmake --preset debug-asan
	cmake --build build-asan -j $(JOBS)

# Every test (unit + integration over real UDP on loopback), on the release build and under ASan/UBSan,
# with one disposable PostgreSQL server for the whole run (scripts/with-postgres.sh).
test: build build-asan
	bash scripts/with-postgres.sh sh -c 'ctest --test-dir build --output-on-failure -j $(JOBS) --timeout 300 && ctest --test-dir build-asan --output-on-failure -j $(JOBS) --timeout 300'

test-release: build
	bash scripts/with-postgres.sh ctest --test-dir build --output-on-failure -j $(JOBS) --timeout 300

demo: build
	./build/custodian demo

bench: build
	./build/custodian bench rtt
	./build/custodian bench ingest
	./build/custodian_microbench

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: build
	git ls-files 'src/*.cc' | xargs clang-tidy -p build --quiet

clean:
	rm -rf build build-asan
