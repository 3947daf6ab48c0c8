// Landmarks to measure, as the registry lists them (GET /v1/nodes/{id}/plan, GET /v1/landmarks),
// and a sequential measuring pass over them. Shared by the agent and the landmark cross-checks.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/inputs.h"
#include "client/spool.h"
#include "core/crypto.h"
#include "core/net_address.h"
#include "core/status.h"

namespace custodian::client {

struct Target {
  std::string id;
  SocketAddress address;  // the registered address, or the --via override
  PublicKey public_key{};
  bool via = false;  // address came from --via
};

// One landmark object {id, address: "HOST:PORT", public_key: base64, …}. InvalidInput names
// the landmark and the field.
Result<Target> ParseTarget(const nlohmann::json& landmark, const ViaMap& via);

// The landmark array of a plan or list response: a bare array or {"landmarks": [...]}.
Result<nlohmann::json> LandmarkArray(const nlohmann::json& response);

struct MeasureSettings {
  uint16_t samples = 16;
  int64_t wait_timeout_ms = 2000;
  Sha256Digest chipset_hash{};
  // All sessions at once, one thread each, rather than one after another. The agent measures
  // in parallel so that every copy of a node key following the same plan answers at the same
  // instants (the registry's cloned-key check, docs/registry.md); the few microseconds of
  // scheduling this adds can only lengthen round trips, never shorten them.
  bool parallel = false;
};

struct MeasurePass {
  std::vector<nlohmann::json> receipts;  // proto::ReceiptToJson objects, in target order
  std::vector<std::string> measured;     // landmark ids that answered
  std::vector<std::string> skipped;      // "ID: why" for those that did not
};

// Measures each target (see MeasureSettings::parallel). A landmark that does not answer, refuses,
// or signs a receipt for another id is skipped and logged (from the calling thread, after the
// sessions). Sequentially, stops early when `cancelled` (if set) returns true.
MeasurePass MeasureTargets(const std::vector<Target>& targets, const SigningKey& key,
                           const MeasureSettings& settings, const LogFn& log,
                           const std::function<bool()>& cancelled = nullptr);

}  // namespace custodian::client
