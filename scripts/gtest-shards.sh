#!/usr/bin/env bash
# Runs a GoogleTest binary as N parallel shards (GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX) in one
# process each, instead of one process per test as ctest does. For the sanitizer build, where a
# process start (loading the world's borders once per process under ASan: ~5 s) costs more than
# most tests. Fails if any shard fails, and then shows that shard's output.
#   scripts/gtest-shards.sh N BINARY [gtest flags…]
set -uo pipefail
shards=$1
binary=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pids=()
for ((i = 0; i < shards; i++)); do
  GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i "$binary" --gtest_brief=1 "$@" >"$dir/$i.out" 2>&1 &
  pids+=($!)
done
status=0
for ((i = 0; i < shards; i++)); do
  if ! wait "${pids[$i]}"; then
    status=1
    echo "=== shard $i of $shards FAILED: $binary $*" >&2
    cat "$dir/$i.out" >&2
  else
    echo "shard $i of $shards: $(grep -E "^\[  PASSED  \]" "$dir/$i.out")"
  fi
done
exit $status
