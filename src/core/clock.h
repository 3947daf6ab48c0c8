// Clocks. Durations that matter (RTTs) are measured on CLOCK_MONOTONIC only; wall-clock time is
// used for labels (receipt time_utc), never for subtraction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace custodian {

int64_t MonotonicNs();
int64_t RealtimeNs();
// RFC 3339 UTC with milliseconds, e.g. "2026-11-22T21:30:00.123Z".
std::string FormatUtc(int64_t realtime_ns);
// Parses RFC 3339 UTC ("2026-11-22T21:30:00Z", optional fraction of up to 9 digits, "Z" or
// "+00:00") to Unix nanoseconds. InvalidInput naming `what` otherwise.
Result<int64_t> ParseUtc(std::string_view text, std::string_view what);

}  // namespace custodian
