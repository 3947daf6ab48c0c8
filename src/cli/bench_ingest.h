// custodian bench ingest — registry ingest throughput and latency over HTTP keep-alive, on
// SQLite and PostgreSQL, against two baselines measured in the same run (docs/performance.md,
// "Registry ingest").
#pragma once

#include <CLI/CLI.hpp>

namespace custodian::cli {

// Adds `ingest` under the `bench` command.
void AddBenchIngestCommand(CLI::App* bench);

}  // namespace custodian::cli
