// The agent daemon behind `custodian agent run` (DESIGN §2, §4; docs/agent.md).
//
// Each round:
//   1. sends what the spool still holds from earlier rounds, oldest first;
//   2. asks the registry for its plan (GET /v1/nodes/{node}/plan?interval_s=S: landmarks, best
//      first, and `measure_at`, the next instant of this node's schedule) — when the server
//      cannot be reached, the last plan (kept in SPOOL/plan.json) is used, its schedule
//      extended by whole intervals, so the agent keeps measuring while the registry is away;
//   3. waits for `measure_at`, then measures up to max_landmarks of the planned landmarks with
//      the timing protocol (proto::Measure), all at once: every copy of a node key that follows
//      the plan answers at the same instants, which is what lets the registry catch a cloned
//      key (docs/registry.md). A landmark that does not answer is skipped and logged;
//   4. writes the bundle {node, gpus: [uuid…], receipts: [receipt…]} to the spool, then POSTs it
//      to /v1/attestations.
// A bundle leaves the spool only when the server has it: 2xx, or 409 (its receipts are already
// stored — an earlier POST went through but the answer was lost). Refusals that are the bundle's
// own fault (400, 404, 413, 422) move it aside as rejected, with the reason logged. Everything
// else (unreachable, 5xx, 429, and 401/403, which are about the token, not the bundle) keeps it
// for a retry: Run() retries with exponential backoff and jitter between rounds.
//
// Not thread-safe: one owner (Run's thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/api_client.h"
#include "client/inputs.h"
#include "client/spool.h"
#include "client/targets.h"
#include "core/crypto.h"
#include "core/status.h"
#include "gpu/nvml.h"

namespace custodian::client {

struct AgentOptions {
  ApiClientOptions api;  // server URL, agent token, TLS
  std::vector<gpu::GpuIdentity> gpus;
  std::string spool_dir;
  int64_t interval_s = 60;      // between the starts of two rounds, 1..86400
  bool follow_schedule = true;  // wait for the plan's measure_at before measuring
  uint16_t samples = 16;        // challenges per landmark, 1..proto::kMaxSamples
  int max_landmarks = 5;
  ViaMap via;
  int64_t measure_timeout_ms = 2000;  // silence that counts as a lost datagram
  int64_t backoff_initial_ms = 1000;
  int64_t backoff_cap_ms = 60'000;  // and never more than the interval
  LogFn log;                        // warnings; default: stderr
};
Status ValidateAgentOptions(const AgentOptions& options);

// Lower-case hex of proto::DeriveNodeId(node public key): the node id the registry uses.
std::string NodeIdHex(const PublicKey& node_pub);

struct RoundReport {
  int64_t round = 0;
  size_t landmarks_planned = 0;  // chosen from the plan (at most max_landmarks)
  size_t landmarks_measured = 0;
  bool plan_cached = false;                // server unreachable: the last plan was used
  std::string attestation_id;              // when this round's bundle was acknowledged
  std::vector<std::string> verdict_kinds;  // distinct, in the response's order
  std::vector<std::string> alert_kinds;    // distinct
  size_t resent = 0;   // bundles from earlier rounds delivered during this round
  size_t pending = 0;  // bundles still in the spool afterwards
  Status status;       // OK iff this round's bundle reached the server
  // "round 3: measured 3/3 landmarks, attestation ID: verified" (plus alerts, resends, or why
  // the bundle was not delivered).
  std::string Summary() const;
};

// What became of one spooled bundle in a Flush.
struct BundleOutcome {
  enum Kind { kDelivered, kAlreadyStored, kRejected, kPending } kind = kPending;
  nlohmann::json response;  // kDelivered: the server's answer
  Status status;            // kRejected: why; kPending: what blocked it
};

struct FlushReport {
  size_t delivered = 0;  // acknowledged (2xx or 409) and removed
  size_t rejected = 0;   // refused for good and moved aside
  size_t pending = 0;    // still spooled
  Status blocked;        // why sending stopped early (OK when everything was sent)
  std::map<std::string, BundleOutcome> outcomes;  // by spool id
};

class AgentDaemon {
 public:
  // Opens the spool (locking it) and the API client.
  static Result<std::unique_ptr<AgentDaemon>> Create(AgentOptions options, SigningKey node_key);
  ~AgentDaemon();

  const std::string& node_id() const { return node_id_; }
  Spool& spool() { return *spool_; }

  // Sends every spooled bundle, oldest first, stopping at the first retryable failure.
  FlushReport Flush();
  // One round (see the file comment). `stop` ends measuring early.
  RoundReport RunRound(const std::atomic<bool>* stop = nullptr);
  // Rounds every interval until `stop`; between rounds, retries undelivered bundles with
  // exponential backoff and jitter. Calls on_round after each round.
  Status Run(const std::atomic<bool>& stop,
             const std::function<void(const RoundReport&)>& on_round);

 private:
  AgentDaemon(AgentOptions options, SigningKey node_key);
  Result<nlohmann::json> Plan(bool* cached);
  bool SleepUntil(int64_t deadline_ns, const std::atomic<bool>& stop);
  // Unix ms at which to measure by the plan's schedule; 0: now.
  int64_t ScheduledMs(const nlohmann::json& plan, bool cached) const;

  AgentOptions options_;
  SigningKey key_;
  std::string node_id_;
  Sha256Digest chipset_hash_{};
  std::unique_ptr<ApiClient> api_;
  std::unique_ptr<Spool> spool_;
  nlohmann::json plan_cache_;  // null until a plan was fetched or loaded
  int64_t round_ = 0;
};

}  // namespace custodian::client
