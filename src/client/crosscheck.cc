#include "client/crosscheck.h"

#include <time.h>

#include "client/targets.h"
#include "core/clock.h"
#include "gpu/nvml.h"
#include "proto/wire.h"

namespace custodian::client {

using nlohmann::json;

std::string CrosscheckReport::Summary() const {
  std::string s = "crosscheck: measured " + std::to_string(measured) + "/" + std::to_string(peers) +
                  " peer landmarks";
  if (response.is_null()) return s + "; nothing to submit";
  auto num = [&](const char* key) -> std::string {
    auto it = response.find(key);
    if (it == response.end()) return "?";
    if (it->is_array()) return std::to_string(it->size());
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  if (!response.is_object()) return s + "; server answered " + response.dump();
  return s + "; accepted " + num("accepted") + ", contradictions " + num("contradictions") +
         ", quarantined " + num("quarantined");
}

CrosscheckLoop::CrosscheckLoop(CrosscheckOptions options, SigningKey key)
    : options_(std::move(options)), key_(std::move(key)) {}

CrosscheckLoop::~CrosscheckLoop() {
  Stop();
}

Result<std::unique_ptr<CrosscheckLoop>> CrosscheckLoop::Create(CrosscheckOptions options,
                                                               SigningKey landmark_key) {
  if (!proto::ValidLandmarkId(options.landmark_id)) {
    return Status::InvalidInput("--id: not a landmark id");
  }
  if (options.interval_s < 1) {
    return Status::InvalidInput("--crosscheck-interval: must be >= 1 second");
  }
  if (options.samples < 1 || options.samples > proto::kMaxSamples) {
    return Status::InvalidInput("crosscheck samples: must be in 1.." +
                                std::to_string(proto::kMaxSamples));
  }
  if (!options.log) options.log = StderrLog();
  std::unique_ptr<CrosscheckLoop> loop(
      new CrosscheckLoop(std::move(options), std::move(landmark_key)));
  auto api = ApiClient::Create(loop->options_.api);
  if (!api.ok()) return api.status();
  loop->api_ = std::move(*api);
  return loop;
}

Result<CrosscheckReport> CrosscheckLoop::RunOnce(const std::function<bool()>& cancelled) {
  auto listed = api_->Get("/v1/landmarks");
  if (!listed.ok()) return listed.status();
  auto landmarks = LandmarkArray(*listed);
  if (!landmarks.ok()) return landmarks.status().WithContext("GET /v1/landmarks");
  std::vector<Target> peers;
  for (const json& lm : *landmarks) {
    if (!lm.is_object()) continue;
    auto id = lm.find("id");
    if (id == lm.end() || !id->is_string() || id->get<std::string>() == options_.landmark_id) {
      continue;
    }
    // A quarantined or retired peer's receipts would not count; a missing status is active.
    if (auto st = lm.find("status"); st != lm.end() && st->is_string() && *st != "active") {
      continue;
    }
    auto t = ParseTarget(lm, options_.via);
    if (!t.ok()) {
      options_.log("crosscheck: " + t.status().message());
      continue;
    }
    peers.push_back(std::move(*t));
  }
  CrosscheckReport report;
  report.peers = peers.size();
  MeasureSettings settings;
  settings.samples = options_.samples;
  settings.wait_timeout_ms = options_.measure_timeout_ms;
  settings.chipset_hash = gpu::ChipSetHash({});  // a landmark attests no GPUs
  MeasurePass pass = MeasureTargets(peers, key_, settings, options_.log, cancelled);
  report.measured = pass.receipts.size();
  if (pass.receipts.empty()) return report;
  auto answer = api_->Post("/v1/landmarks/" + options_.landmark_id + "/crosschecks",
                           json{{"receipts", pass.receipts}});
  if (!answer.ok()) return answer.status();
  report.response = std::move(*answer);
  return report;
}

void CrosscheckLoop::Start(const std::atomic<bool>& stop) {
  Stop();
  stopping_ = false;
  thread_ = std::thread([this, &stop] { Loop(stop); });
}

void CrosscheckLoop::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void CrosscheckLoop::Loop(const std::atomic<bool>& stop) {
  auto should_stop = [&] { return stop.load() || stopping_.load(); };
  while (!should_stop()) {
    auto report = RunOnce(should_stop);
    if (report.ok()) {
      options_.log(report->Summary());
    } else if (!should_stop()) {
      options_.log("crosscheck failed: " + report.status().message());
    }
    int64_t deadline = MonotonicNs() + options_.interval_s * 1'000'000'000;
    while (!should_stop() && MonotonicNs() < deadline) {
      timespec ts{0, 100'000'000};
      ::nanosleep(&ts, nullptr);
    }
  }
}

}  // namespace custodian::client
