// What machine a benchmark ran on, for its report: CPUs, CPU model, kernel, time, load.
#pragma once

#include <nlohmann/json.hpp>

namespace custodian::cli {

// {"nproc", "cpu", "kernel", "date_utc", "loadavg_at_start"} (from /proc and uname).
nlohmann::json BenchMachineFacts();

}  // namespace custodian::cli
