// What machine a benchmark ran on, for its report (CPUs, CPU model, kernel, time, load), and
// the few measuring helpers every benchmark uses.
#pragma once

#include <chrono>
#include <vector>

#include <nlohmann/json.hpp>

namespace custodian::cli {

// {"nproc", "cpu", "kernel", "date_utc", "loadavg_at_start"} (from /proc and uname).
nlohmann::json BenchMachineFacts();

// Seconds since `start` on the steady clock.
double SecondsSince(std::chrono::steady_clock::time_point start);
// The q-quantile (q in [0, 1]) of `sorted` (ascending) by nearest rank: the smallest value with
// at least a fraction q of the values at or below it. 0 for no values.
double Quantile(const std::vector<double>& sorted, double q);
// This process's resident memory (VmRSS of /proc/self/status) in MB; 0 if unreadable.
double ResidentMb();

}  // namespace custodian::cli
