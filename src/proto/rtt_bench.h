// The load generator behind the RTT figures in docs/performance.md (`custodian bench rtt`).
//
// Measures, in one run and on loopback, with the landmark's own timing method (monotonic send
// time, kernel receive timestamp):
//   (a) a raw UDP echo of a challenge-sized datagram — the floor set by the kernel and scheduler;
//   (b) the protocol's CHALLENGE -> signed RESPONSE, as the landmark records it in receipts.
// The difference is the time the agent adds (parse + Ed25519 sign), which a verifier must
// treat as distance: every µs is 150 m of slack at c.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "proto/udp_socket.h"

namespace custodian::proto {

struct RttStats {
  size_t count = 0;
  int64_t min_ns = 0;
  int64_t median_ns = 0;
  int64_t p90_ns = 0;
  static RttStats Of(std::vector<int64_t> samples_ns);
};

struct RttBenchConfig {
  int samples = 2000;              // per method
  bool busy_poll = false;          // responder (echo / agent) spins instead of sleeping
  int64_t spacing_ns = 1'000'000;  // pause between exchanges, as the landmark's default
};

struct RttBenchResult {
  RttStats echo;
  RttStats protocol;
  Timestamping timestamping = Timestamping::kUser;  // kernel only if every sample was
};

Result<RttBenchResult> RunRttBench(const RttBenchConfig& config);

}  // namespace custodian::proto
