// custodian bench tlog — the transparency log (src/tlog/log.h) on SQLite and PostgreSQL:
// append throughput (transactions of 1 and of 100 entries), integration throughput, time from
// append to a signed checkpoint with the background integrator running, and proof latency,
// each beside a baseline measured in the same run on the same database (plain INSERTs of the
// same rows into a table without the log; a point SELECT for the proofs).
#pragma once

#include <CLI/CLI.hpp>

namespace custodian::cli {

// Adds `tlog` under the `bench` command.
void AddBenchTlogCommand(CLI::App* bench);

}  // namespace custodian::cli
