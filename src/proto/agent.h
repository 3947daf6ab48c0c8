// The agent side of one timing session: what `custodian measure` runs.
//
// Sends HELLO, answers each CHALLENGE as fast as it can (decode, sign, send — nothing else on
// that path; the transcript is hashed after the answer is out), and collects the landmark's
// signed RECEIPT, which it checks against the pinned landmark key before returning it.
#pragma once

#include <cstdint>
#include <string>

#include "core/crypto.h"
#include "core/net_address.h"
#include "core/status.h"
#include "proto/receipt.h"

namespace custodian::proto {

struct MeasureConfig {
  SocketAddress landmark;
  PublicKey landmark_pub{};
  uint16_t samples = 16;                    // 1..kMaxSamples
  Sha256Digest chipset_hash{};              // gpu::ChipSetHash of this host's GPUs
  int64_t wait_timeout_ns = 2'000'000'000;  // silence this long means a lost datagram
  int hello_attempts = 3;
  int receipt_requests = 3;
  // Spin on the socket instead of sleeping in poll between challenges: saves the scheduler
  // wake-up (a few µs = a few hundred metres of slack) at the price of a busy core per session.
  bool busy_poll = false;
};

struct MeasureResult {
  Receipt receipt;
  std::string receipt_json;         // canonical, exactly as signed
  bool transcript_matches = false;  // our own hash of what we sent and saw equals the receipt's
};

// Runs one session. Unavailable when the landmark does not answer; FailedCheck when it refuses
// (with its reason) or its receipt does not verify against config.landmark_pub.
Result<MeasureResult> Measure(const MeasureConfig& config, const SigningKey& node_key);

}  // namespace custodian::proto
