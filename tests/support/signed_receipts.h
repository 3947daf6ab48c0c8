// Receipts built and signed here exactly as a landmark signs them (real Ed25519 keys, chosen
// RTTs and times), for tests that exercise ingest without running the UDP protocol.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "gpu/nvml.h"
#include "proto/receipt.h"
#include "proto/wire.h"

namespace custodian::testing {

struct TestLandmark {
  std::string id;
  double lat, lon;
  std::string country;
  SigningKey key = SigningKey::Generate();
};

struct TestNode {
  SigningKey key = SigningKey::Generate();
  std::vector<std::string> gpus;
  std::string id() const { return HexEncode(proto::DeriveNodeId(key.public_key())); }
  Sha256Digest chipset() const {
    std::vector<gpu::GpuIdentity> ids;
    for (const auto& g : gpus) {
      gpu::GpuIdentity i;
      i.uuid = g;
      ids.push_back(i);
    }
    return gpu::ChipSetHash(ids);
  }
};

inline int64_t NowMs() {
  return RealtimeNs() / 1'000'000;
}

// A receipt as `l` would sign it after timing `node_key` at `min_rtt_ns`, ending at `end_ms`.
inline nlohmann::json MakeReceipt(const TestLandmark& l, const SigningKey& node_key,
                                  const Sha256Digest& chipset, int64_t min_rtt_ns, int64_t end_ms) {
  proto::Receipt r;
  r.landmark_id = l.id;
  r.landmark_lat = l.lat;
  r.landmark_lon = l.lon;
  r.landmark_pub = l.key.public_key();
  r.node_pub = node_key.public_key();
  r.node_id = proto::DeriveNodeId(r.node_pub);
  r.chipset_hash = chipset;
  uint8_t session[8];
  RandomBytes(session, sizeof session);
  r.session = GetU64(session);
  r.time_utc = FormatUtc(end_ms * 1'000'000);
  r.samples_requested = 4;
  r.samples_ns = {min_rtt_ns + 1000, min_rtt_ns, min_rtt_ns + 2000, min_rtt_ns + 500};
  r.min_rtt_ns = min_rtt_ns;
  RandomBytes(r.transcript_hash.data(), r.transcript_hash.size());
  proto::SignReceipt(r, l.key);
  return proto::ReceiptToJson(r);
}

}  // namespace custodian::testing
