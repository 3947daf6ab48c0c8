// custodian bench rtt — the time the agent adds to a round trip; bench ingest (bench_ingest.cc)
// — registry ingest over HTTP. Results: docs/performance.md.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/bench_ingest.h"
#include "cli/bench_screen.h"
#include "cli/bench_tlog.h"
#include "cli/command.h"
#include "proto/receipt.h"
#include "proto/rtt_bench.h"

namespace custodian::cli {
namespace {

constexpr double kTargetAddedMedianUs = 40;

nlohmann::json StatsJson(const proto::RttStats& s) {
  return {
      {"count", s.count}, {"min_ns", s.min_ns}, {"median_ns", s.median_ns}, {"p90_ns", s.p90_ns}};
}

int RunBenchRtt(int samples, double spacing_ms, bool json) {
  if (samples < 1 || samples > 1'000'000) {
    return Fail(Status::InvalidInput("--samples: must be in 1..1000000"));
  }
  if (!(spacing_ms >= 0 && spacing_ms <= 1000)) {
    return Fail(Status::InvalidInput("--spacing-ms: must be in [0, 1000]"));
  }
  nlohmann::json out = nlohmann::json::array();
  for (bool busy : {false, true}) {
    proto::RttBenchConfig config;
    config.samples = samples;
    config.busy_poll = busy;
    config.spacing_ns = int64_t(spacing_ms * 1e6);
    auto r = proto::RunRttBench(config);
    if (!r.ok()) return Fail(r.status());
    const double added_min_us = double(r->protocol.min_ns - r->echo.min_ns) / 1e3;
    const double added_median_us = double(r->protocol.median_ns - r->echo.median_ns) / 1e3;
    const double slack_km =
        proto::MaxDistanceKm(r->protocol.median_ns - r->echo.median_ns, proto::kSpeedOfLightKmPerS);
    const char* mode = busy ? "busy-poll" : "blocking";
    if (json) {
      out.push_back({{"agent_mode", mode},
                     {"timestamping", proto::TimestampingName(r->timestamping)},
                     {"echo", StatsJson(r->echo)},
                     {"protocol", StatsJson(r->protocol)},
                     {"added_min_us", added_min_us},
                     {"added_median_us", added_median_us},
                     {"added_median_slack_km_at_c", slack_km},
                     {"target_added_median_us", kTargetAddedMedianUs},
                     {"meets_target", added_median_us <= kTargetAddedMedianUs}});
      continue;
    }
    std::printf(
        "RTT on loopback, agent %s, %d samples per method, %.1f ms spacing, %s timestamps\n", mode,
        samples, spacing_ms, proto::TimestampingName(r->timestamping));
    std::printf("  %-28s %10s %10s %10s\n", "", "min us", "median us", "p90 us");
    std::printf("  %-28s %10.1f %10.1f %10.1f\n", "(a) raw UDP echo", r->echo.min_ns / 1e3,
                r->echo.median_ns / 1e3, r->echo.p90_ns / 1e3);
    std::printf("  %-28s %10.1f %10.1f %10.1f\n", "(b) challenge -> signed answer",
                r->protocol.min_ns / 1e3, r->protocol.median_ns / 1e3, r->protocol.p90_ns / 1e3);
    std::printf("  %-28s %10.1f %10.1f\n", "added by the agent (b - a)", added_min_us,
                added_median_us);
    std::printf(
        "  median added time %.1f us = %.2f km of distance slack at c (target <= %.0f us, "
        "<= 6 km): %s\n\n",
        added_median_us, slack_km, kTargetAddedMedianUs,
        added_median_us <= kTargetAddedMedianUs ? "met" : "NOT met");
  }
  if (json) std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

void AddBenchCommands(CLI::App& app) {
  auto* bench =
      app.add_subcommand("bench", "Benchmarks (load generators behind docs/performance.md)");
  bench->require_subcommand(1);
  auto* rtt = bench->add_subcommand(
      "rtt", "Raw UDP echo vs challenge->signed response on loopback: the time the agent adds");
  auto samples = std::make_shared<int>(2000);
  auto spacing = std::make_shared<double>(1.0);
  auto json = std::make_shared<bool>(false);
  rtt->add_option("--samples", *samples, "Exchanges per method")->capture_default_str();
  rtt->add_option("--spacing-ms", *spacing, "Pause between exchanges")->capture_default_str();
  rtt->add_flag("--json", *json, "Machine-readable output");
  OnRun(rtt, [samples, spacing, json] { return RunBenchRtt(*samples, *spacing, *json); });
  AddBenchIngestCommand(bench);
  AddBenchTlogCommand(bench);
  AddBenchScreenCommand(bench);
}

}  // namespace custodian::cli
