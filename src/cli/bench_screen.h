// custodian bench screen — restricted-party screening (src/screen/screener.h) against the
// shared lists: index build time and memory, batch throughput (names/s) with the index beside
// the naive baseline of scoring every listed name (measured in the same run on a sample), the
// agreement of the two, and single-query latency (p50/p99).
#pragma once

#include <CLI/CLI.hpp>

namespace custodian::cli {

// Adds `screen` under the `bench` command.
void AddBenchScreenCommand(CLI::App* bench);

}  // namespace custodian::cli
