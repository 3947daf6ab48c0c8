// The landmark: a UDP server at a known position that times signed answers to its challenges.
//
// Protocol (DESIGN §4, docs/protocol.md): HELLO -> n × (CHALLENGE -> RESPONSE) -> RECEIPT.
// RTTs are measured on this process's CLOCK_MONOTONIC: send time read just before sendto, arrival
// time from the kernel's receive timestamp where available (proto/udp_socket.h). Both errors of
// that method make the RTT longer, never shorter, so a receipt can only understate proximity.
//
// Robustness: one thread, non-blocking, no per-client blocking step, so one slow or hostile
// client cannot stall another. Every malformed, replayed, unknown or unauthenticated datagram is
// dropped and counted by reason. Until a session is authenticated (its first valid RESPONSE,
// which proves the agent receives at its source address) the landmark sends at most one
// CHALLENGE (84 bytes) or one ERROR (28 bytes) per HELLO (180 bytes): no amplification.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/net_address.h"
#include "core/status.h"
#include "proto/wire.h"

namespace custodian::proto {

struct LandmarkConfig {
  std::string id;      // 1..32 of [A-Za-z0-9._-]
  double lat_deg = 0;  // WGS84
  double lon_deg = 0;
  SocketAddress listen;
  int64_t response_timeout_ns = 1'000'000'000;  // a challenge unanswered this long is lost
  int64_t spacing_ns = 1'000'000;               // pause between an answer and the next challenge
  size_t max_sessions = 4096;
  int64_t max_clock_skew_ns = 300'000'000'000;  // HELLO agent time vs ours (replay window)
  double hellos_per_second_per_ip = 50;         // token bucket per source IP
  double hello_burst_per_ip = 100;
  int64_t receipt_retention_ns = 30'000'000'000;  // how long a finished session can be re-asked
};
Status ValidateLandmarkConfig(const LandmarkConfig& config);

// Counters; read with Landmark::Stats() from any thread.
struct LandmarkStats {
  uint64_t datagrams = 0;
  uint64_t sessions_started = 0;
  uint64_t sessions_completed = 0;  // receipt issued
  uint64_t sessions_failed = 0;     // no answer to the first challenge, or no sample at all
  uint64_t challenges_sent = 0;
  uint64_t responses_accepted = 0;
  uint64_t samples_lost = 0;
  uint64_t receipts_sent = 0;
  uint64_t errors_sent = 0;
  uint64_t dropped[static_cast<size_t>(DropReason::kCount)] = {};
  uint64_t dropped_total() const;
  nlohmann::json ToJson() const;
};

class Landmark {
 public:
  // Binds the socket. The key signs receipts; its public half is what agents must pin.
  static Result<std::unique_ptr<Landmark>> Create(const LandmarkConfig& config, SigningKey key);
  ~Landmark();

  SocketAddress local_address() const;
  const PublicKey& public_key() const;
  bool kernel_timestamps() const;
  // Serves until `stop` becomes true (checked at least every 100 ms).
  Status Run(const std::atomic<bool>& stop);
  LandmarkStats Stats() const;

 private:
  class Impl;
  explicit Landmark(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custodian::proto
