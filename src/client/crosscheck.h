// Landmark cross-checks (DESIGN §3: "landmarks measure each other continuously; a landmark whose
// measurements contradict physics is quarantined").
//
// While `custodian landmark --server …` serves, a background thread periodically lists the
// registered landmarks (GET /v1/landmarks), and runs one timing session against every OTHER
// active landmark, using this landmark's own signing key as the "node" key (and the empty GPU
// set): the peer times us and signs a receipt about our key. The receipts are posted to
// POST /v1/landmarks/{own id}/crosschecks {"receipts": [...]}, where the registry compares each
// round trip with the registered distance between the two (a round trip faster than light
// between the registered positions is a contradiction) and answers
// {accepted, contradictions, quarantined}.
//
// Thread-safety: Start/Stop from one thread; RunOnce is what the thread runs (tests call it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/api_client.h"
#include "client/inputs.h"
#include "client/spool.h"
#include "core/crypto.h"
#include "core/status.h"

namespace custodian::client {

struct CrosscheckOptions {
  ApiClientOptions api;     // server URL, landmark token, TLS
  std::string landmark_id;  // our own id (the --id of `custodian landmark`)
  int64_t interval_s = 300;
  ViaMap via;  // peer id -> address to measure it at instead of the registered one
  uint16_t samples = 16;
  int64_t measure_timeout_ms = 2000;
  LogFn log;  // one line per pass and per skipped peer; default: stderr
};

struct CrosscheckReport {
  size_t peers = 0;             // other active landmarks listed
  size_t measured = 0;          // receipts collected
  nlohmann::json response;      // the registry's answer (null when nothing was posted)
  std::string Summary() const;  // "crosscheck: measured 2/2 peers; accepted 2, …"
};

class CrosscheckLoop {
 public:
  static Result<std::unique_ptr<CrosscheckLoop>> Create(CrosscheckOptions options,
                                                        SigningKey landmark_key);
  ~CrosscheckLoop();  // stops and joins the thread

  // One pass: list, measure, post. Errors: the list or the post failed (the message says which).
  Result<CrosscheckReport> RunOnce(const std::function<bool()>& cancelled = nullptr);
  // Runs a pass now and then every interval_s in a background thread, logging each outcome,
  // until Stop() or `stop` becomes true.
  void Start(const std::atomic<bool>& stop);
  void Stop();

 private:
  CrosscheckLoop(CrosscheckOptions options, SigningKey key);
  void Loop(const std::atomic<bool>& stop);

  CrosscheckOptions options_;
  SigningKey key_;
  std::unique_ptr<ApiClient> api_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace custodian::client
