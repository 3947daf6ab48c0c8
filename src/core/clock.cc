#include "core/clock.h"

#include <ctime>

#include <cstdio>

namespace custodian {
namespace {
int64_t Now(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

int64_t MonotonicNs() {
  return Now(CLOCK_MONOTONIC);
}
int64_t RealtimeNs() {
  return Now(CLOCK_REALTIME);
}

std::string FormatUtc(int64_t realtime_ns) {
  time_t secs = time_t(realtime_ns / 1'000'000'000);
  int millis = int((realtime_ns % 1'000'000'000) / 1'000'000);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  return buf;
}

}  // namespace custodian
