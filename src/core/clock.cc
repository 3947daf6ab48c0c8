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

Result<int64_t> ParseUtc(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return Status::InvalidInput(std::string(what) +
                                ": must be RFC 3339 UTC like 2026-11-22T21:30:00Z, got \"" +
                                std::string(text.substr(0, 40)) + "\"");
  };
  int year, month, day, hour, minute, second, consumed = 0;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6 ||
      consumed != 19) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 ||
      year < 1970) {
    return bad();
  }
  std::string_view rest = text.substr(19);
  int64_t frac_ns = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (digits == 9) return bad();
      frac_ns = frac_ns * 10 + (rest.front() - '0');
      ++digits;
      rest.remove_prefix(1);
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 9; ++i) frac_ns *= 10;
  }
  if (rest != "Z" && rest != "+00:00") return bad();
  tm utc{};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  time_t secs = timegm(&utc);
  tm check{};
  gmtime_r(&secs, &check);
  if (check.tm_mday != day) return bad();  // 31 February and the like
  return int64_t(secs) * 1'000'000'000 + frac_ns;
}

}  // namespace custodian
