#include "client/targets.h"

#include <optional>
#include <thread>

#include "proto/agent.h"
#include "proto/receipt.h"
#include "proto/wire.h"

namespace custodian::client {

Result<Target> ParseTarget(const nlohmann::json& landmark, const ViaMap& via) {
  if (!landmark.is_object()) return Status::InvalidInput("landmark: expected an object");
  auto id_it = landmark.find("id");
  if (id_it == landmark.end() || !id_it->is_string() ||
      !proto::ValidLandmarkId(id_it->get<std::string>())) {
    return Status::InvalidInput("landmark.id: missing or not a landmark id");
  }
  Target t;
  t.id = id_it->get<std::string>();
  const std::string where = "landmark " + t.id;
  auto pub_it = landmark.find("public_key");
  if (pub_it == landmark.end() || !pub_it->is_string()) {
    return Status::InvalidInput(where + ": public_key missing");
  }
  auto pub = ParsePublicKeyBase64(pub_it->get<std::string>());
  if (!pub.ok()) return pub.status().WithContext(where + ": public_key");
  t.public_key = *pub;
  if (auto v = via.find(t.id); v != via.end()) {
    t.address = v->second;
    t.via = true;
    return t;
  }
  auto addr_it = landmark.find("address");
  if (addr_it == landmark.end() || !addr_it->is_string() || addr_it->get<std::string>().empty()) {
    return Status::InvalidInput(where + ": address missing (and no --via for it)");
  }
  auto addr = ParseHostPort(addr_it->get<std::string>(), where + ": address");
  if (!addr.ok()) return addr.status();
  if (addr->port() == 0) return Status::InvalidInput(where + ": address: port must not be 0");
  t.address = *addr;
  return t;
}

Result<nlohmann::json> LandmarkArray(const nlohmann::json& response) {
  if (response.is_array()) return response;
  if (response.is_object()) {
    auto it = response.find("landmarks");
    if (it != response.end() && it->is_array()) return *it;
  }
  return Status::InvalidInput("response: expected a landmark array or {\"landmarks\": [...]}");
}

MeasurePass MeasureTargets(const std::vector<Target>& targets, const SigningKey& key,
                           const MeasureSettings& settings, const LogFn& log,
                           const std::function<bool()>& cancelled) {
  std::vector<std::optional<Result<proto::MeasureResult>>> results(targets.size());
  auto measure = [&](size_t i) {
    proto::MeasureConfig config;
    config.landmark = targets[i].address;
    config.landmark_pub = targets[i].public_key;
    config.samples = settings.samples;
    config.chipset_hash = settings.chipset_hash;
    config.wait_timeout_ns = settings.wait_timeout_ms * 1'000'000;
    results[i].emplace(proto::Measure(config, key));
  };
  if (settings.parallel && targets.size() > 1) {
    std::vector<std::thread> threads;
    threads.reserve(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) threads.emplace_back(measure, i);
    for (std::thread& t : threads) t.join();
  } else {
    for (size_t i = 0; i < targets.size(); ++i) {
      if (cancelled && cancelled()) break;
      measure(i);
    }
  }
  MeasurePass pass;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!results[i]) break;  // cancelled
    const Target& t = targets[i];
    const Result<proto::MeasureResult>& result = *results[i];
    std::string why;
    if (!result.ok()) {
      why = result.status().message();
    } else if (result->receipt.landmark_id != t.id) {
      // Signed by the pinned key, but naming another id: the registry would refuse it.
      why = "its receipt names landmark " + result->receipt.landmark_id;
    }
    if (!why.empty()) {
      std::string line = t.id + " (" + t.address.ToString() + (t.via ? ", via" : "") + "): " + why;
      if (log) log("skipping landmark " + line);
      pass.skipped.push_back(std::move(line));
      continue;
    }
    pass.receipts.push_back(proto::ReceiptToJson(result->receipt));
    pass.measured.push_back(t.id);
  }
  return pass;
}

}  // namespace custodian::client
