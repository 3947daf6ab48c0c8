#include "client/agent_daemon.h"

#include <time.h>

#include <algorithm>
#include <random>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/file.h"
#include "proto/wire.h"

namespace custodian::client {
namespace {

using nlohmann::json;

constexpr char kPlanCacheFile[] = "plan.json";

void AddDistinct(std::vector<std::string>* list, const std::string& value) {
  if (!value.empty() && std::find(list->begin(), list->end(), value) == list->end()) {
    list->push_back(value);
  }
}

// A bundle the server refused because of what is in it: sending it again cannot help.
bool IsPermanentRefusal(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidInput:
    case StatusCode::kNotFound:
    case StatusCode::kFailedCheck:
      return true;
    default:
      return false;
  }
}

// Equal jitter: half the delay fixed, half random, so agents that lost the server together do
// not all come back in the same second.
int64_t Jittered(int64_t delay_ms) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t half = std::max<int64_t>(delay_ms / 2, 1);
  return half + int64_t(rng() % uint64_t(half + 1));
}

}  // namespace

std::string NodeIdHex(const PublicKey& node_pub) {
  return HexEncode(proto::DeriveNodeId(node_pub));
}

Status ValidateAgentOptions(const AgentOptions& o) {
  if (o.gpus.empty()) return Status::InvalidInput("no GPUs to attest");
  if (o.spool_dir.empty()) return Status::InvalidInput("--spool: required");
  if (o.interval_s < 1 || o.interval_s > 86400) {
    return Status::InvalidInput("--interval: must be in 1..86400 seconds");
  }
  if (o.samples < 1 || o.samples > proto::kMaxSamples) {
    return Status::InvalidInput("--samples: must be in 1.." + std::to_string(proto::kMaxSamples));
  }
  if (o.max_landmarks < 1 || o.max_landmarks > 100) {
    return Status::InvalidInput("--max-landmarks: must be in 1..100");
  }
  if (o.measure_timeout_ms < 1) return Status::InvalidInput("measure timeout: must be > 0");
  if (o.backoff_initial_ms < 1 || o.backoff_cap_ms < o.backoff_initial_ms) {
    return Status::InvalidInput("backoff: need 0 < initial <= cap");
  }
  return Status::Ok();
}

std::string RoundReport::Summary() const {
  std::string s = "round " + std::to_string(round) + ": measured " +
                  std::to_string(landmarks_measured) + "/" + std::to_string(landmarks_planned) +
                  " landmarks";
  if (plan_cached) s += " (cached plan)";
  if (status.ok()) {
    s += ", attestation " +
         (attestation_id.empty() ? std::string("(already stored)") : attestation_id);
    if (!verdict_kinds.empty()) {
      s += ":";
      for (size_t i = 0; i < verdict_kinds.size(); ++i) s += (i ? ", " : " ") + verdict_kinds[i];
    }
    if (!alert_kinds.empty()) {
      s += "; alerts:";
      for (size_t i = 0; i < alert_kinds.size(); ++i) s += (i ? ", " : " ") + alert_kinds[i];
    }
  } else {
    s += ", not delivered: " + status.message();
  }
  if (resent > 0) s += "; resent " + std::to_string(resent) + " spooled";
  if (pending > 0) s += "; " + std::to_string(pending) + " waiting in the spool";
  return s;
}

AgentDaemon::AgentDaemon(AgentOptions options, SigningKey node_key)
    : options_(std::move(options)), key_(std::move(node_key)) {}
AgentDaemon::~AgentDaemon() = default;

Result<std::unique_ptr<AgentDaemon>> AgentDaemon::Create(AgentOptions options,
                                                         SigningKey node_key) {
  if (!options.log) options.log = StderrLog();
  CUSTODIAN_RETURN_IF_ERROR(ValidateAgentOptions(options));
  std::unique_ptr<AgentDaemon> d(new AgentDaemon(std::move(options), std::move(node_key)));
  d->node_id_ = NodeIdHex(d->key_.public_key());
  d->chipset_hash_ = gpu::ChipSetHash(d->options_.gpus);
  auto api = ApiClient::Create(d->options_.api);
  if (!api.ok()) return api.status();
  d->api_ = std::move(*api);
  auto spool = Spool::Open(d->options_.spool_dir, d->options_.log);
  if (!spool.ok()) return spool.status();
  d->spool_ = std::move(*spool);
  // A plan from an earlier run lets the first round measure even if the server is down.
  const std::string cache = d->spool_->dir() + "/" + kPlanCacheFile;
  if (auto text = ReadFile(cache, 4 << 20); text.ok()) {
    json plan = json::parse(*text, nullptr, false);
    if (LandmarkArray(plan).ok()) {
      d->plan_cache_ = std::move(plan);
    } else {
      d->options_.log("ignoring unreadable plan cache " + cache);
    }
  }
  return d;
}

Result<json> AgentDaemon::Plan(bool* cached) {
  *cached = false;
  auto plan = api_->Get("/v1/nodes/" + node_id_ +
                        "/plan?interval_s=" + std::to_string(options_.interval_s));
  if (plan.ok()) {
    if (!LandmarkArray(*plan).ok()) {
      return Status::Internal("GET /v1/nodes/" + node_id_ +
                              "/plan: no landmark list in the response");
    }
    if (*plan != plan_cache_) {
      plan_cache_ = *plan;
      Status s = WriteFileAtomic(spool_->dir() + "/" + kPlanCacheFile, plan->dump() + "\n", 0600);
      if (!s.ok()) options_.log("cannot cache the plan: " + s.message());
    }
    return plan;
  }
  if (plan.status().code() != StatusCode::kUnavailable || plan_cache_.is_null()) {
    return plan.status();
  }
  options_.log(plan.status().message() + "; measuring the last plan");
  *cached = true;
  return plan_cache_;
}

FlushReport AgentDaemon::Flush() {
  FlushReport report;
  auto entries = spool_->List();
  if (!entries.ok()) {
    report.blocked = entries.status();
    return report;
  }
  for (const SpoolEntry& e : *entries) {
    BundleOutcome& out = report.outcomes[e.id];
    if (!report.blocked.ok()) {
      out.status = report.blocked;
      ++report.pending;
      continue;
    }
    auto answer = api_->Post("/v1/attestations", e.bundle);
    Status done;
    if (answer.ok()) {
      out.kind = BundleOutcome::kDelivered;
      out.response = std::move(*answer);
      done = spool_->Remove(e.id);
      ++report.delivered;
    } else if (answer.status().code() == StatusCode::kAlreadyExists) {
      options_.log("bundle " + e.id + " is already stored (" + answer.status().message() +
                   "); removing it from the spool");
      out.kind = BundleOutcome::kAlreadyStored;
      done = spool_->Remove(e.id);
      ++report.delivered;
    } else if (IsPermanentRefusal(answer.status())) {
      options_.log("bundle " + e.id + " rejected: " + answer.status().message() +
                   "; moved aside to " + spool_->dir() + "/" + e.id + ".json.rejected");
      out.kind = BundleOutcome::kRejected;
      out.status = answer.status();
      done = spool_->Reject(e.id, answer.status().message());
      ++report.rejected;
    } else {
      report.blocked = answer.status();
      out.status = answer.status();
      ++report.pending;
      continue;
    }
    if (!done.ok()) {
      // The server has it, but the spool could not be updated: it would be sent again (and
      // answered 409), so stop here rather than go on with a failing disk.
      report.blocked = done;
    }
  }
  return report;
}

RoundReport AgentDaemon::RunRound(const std::atomic<bool>* stop) {
  RoundReport r;
  r.round = ++round_;
  // Earlier bundles first, so the server sees attestations in the order they were measured.
  FlushReport before = Flush();
  r.resent = before.delivered;
  r.pending = before.pending;

  bool cached = false;
  auto plan = Plan(&cached);
  r.plan_cached = cached;
  if (!plan.ok()) {
    r.status = plan.status();
    return r;
  }
  json landmarks = LandmarkArray(*plan).value();
  // Best first, as planned; but a landmark the planner says can never help comes last.
  std::vector<Target> targets;
  for (int pass = 0; pass < 2; ++pass) {
    for (const json& lm : landmarks) {
      if (int(targets.size()) >= options_.max_landmarks) break;
      bool helps = !(lm.is_object() && lm.contains("can_help") && lm["can_help"].is_boolean() &&
                     !lm["can_help"].get<bool>());
      if (helps != (pass == 0)) continue;
      if (lm.is_object() && lm.contains("status") && lm["status"].is_string() &&
          lm["status"].get<std::string>() != "active") {
        continue;
      }
      auto t = ParseTarget(lm, options_.via);
      if (!t.ok()) {
        if (pass == 0 || helps) options_.log("plan: " + t.status().message());
        continue;
      }
      targets.push_back(std::move(*t));
    }
  }
  r.landmarks_planned = targets.size();
  if (targets.empty()) {
    r.status = Status::Unavailable("the plan names no landmark to measure");
    return r;
  }
  if (int64_t at_ms = ScheduledMs(*plan, cached); at_ms > 0) {
    static const std::atomic<bool> kNever{false};
    int64_t wait_ns = (at_ms - RealtimeNs() / 1'000'000) * 1'000'000;
    if (wait_ns > 0 && !SleepUntil(MonotonicNs() + wait_ns, stop ? *stop : kNever)) {
      r.status = Status::Aborted("stopped before the scheduled measurement");
      return r;
    }
  }
  MeasureSettings settings;
  settings.parallel = true;
  settings.samples = options_.samples;
  settings.wait_timeout_ms = options_.measure_timeout_ms;
  settings.chipset_hash = chipset_hash_;
  MeasurePass measured = MeasureTargets(targets, key_, settings, options_.log,
                                        [stop] { return stop != nullptr && stop->load(); });
  r.landmarks_measured = measured.receipts.size();
  if (measured.receipts.empty()) {
    r.status = Status::Unavailable("no landmark answered");
    return r;
  }

  json gpus = json::array();
  for (const gpu::GpuIdentity& g : options_.gpus) gpus.push_back(g.uuid);
  json bundle = {{"node", node_id_}, {"gpus", gpus}, {"receipts", measured.receipts}};
  auto id = spool_->Put(bundle);
  if (!id.ok()) {
    // Not durable, so not sent either: a bundle the server has but we cannot account for
    // would break "exactly once" on the next start.
    r.status = id.status().WithContext("cannot spool the bundle");
    return r;
  }

  FlushReport after = Flush();
  r.pending = after.pending;
  r.resent += after.delivered;
  const BundleOutcome& mine = after.outcomes[*id];
  switch (mine.kind) {
    case BundleOutcome::kDelivered:
    case BundleOutcome::kAlreadyStored:
      --r.resent;  // counted above, but it is this round's, not a resend
      r.status = Status::Ok();
      break;
    case BundleOutcome::kRejected:
      r.status = mine.status;
      break;
    case BundleOutcome::kPending:
      r.status = mine.status.ok() ? Status::Unavailable("still in the spool")
                                  : mine.status.WithContext("spooled");
      break;
  }
  const json& response = mine.response;
  if (mine.kind == BundleOutcome::kDelivered && response.is_object()) {
    if (auto it = response.find("id"); it != response.end()) {
      r.attestation_id = it->is_string() ? it->get<std::string>() : it->dump();
    }
    if (auto v = response.find("verdicts"); v != response.end() && v->is_array()) {
      for (const json& verdict : *v) {
        if (verdict.is_object() && verdict.contains("kind") && verdict["kind"].is_string()) {
          AddDistinct(&r.verdict_kinds, verdict["kind"].get<std::string>());
        }
      }
    }
    if (auto a = response.find("alerts"); a != response.end() && a->is_array()) {
      for (const json& alert : *a) {
        if (alert.is_string()) {
          AddDistinct(&r.alert_kinds, alert.get<std::string>());
        } else if (alert.is_object() && alert.contains("kind") && alert["kind"].is_string()) {
          AddDistinct(&r.alert_kinds, alert["kind"].get<std::string>());
        }
      }
    }
  }
  return r;
}

int64_t AgentDaemon::ScheduledMs(const json& plan, bool cached) const {
  if (!options_.follow_schedule || !plan.is_object()) return 0;
  auto it = plan.find("measure_at_ms");
  if (it == plan.end() || !it->is_number_integer()) return 0;
  const int64_t interval_ms = options_.interval_s * 1000;
  const int64_t now_ms = RealtimeNs() / 1'000'000;
  int64_t at = it->get<int64_t>();
  if (cached && at < now_ms) {
    // The next instant of the same grid: the schedule is a fixed period from a per-node offset.
    at += ((now_ms - at) / interval_ms + 1) * interval_ms;
  }
  // In the past, or implausibly far ahead (a clock far off, a plan for another interval): now.
  if (at <= now_ms || at - now_ms > interval_ms + 1000) return 0;
  return at;
}

bool AgentDaemon::SleepUntil(int64_t deadline_ns, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    int64_t left = deadline_ns - MonotonicNs();
    if (left <= 0) return true;
    timespec ts{0, long(std::min<int64_t>(left, 100'000'000))};
    ::nanosleep(&ts, nullptr);  // EINTR from a stop signal: the loop checks the flag
  }
  return false;
}

Status AgentDaemon::Run(const std::atomic<bool>& stop,
                        const std::function<void(const RoundReport&)>& on_round) {
  const int64_t interval_ns = options_.interval_s * 1'000'000'000;
  const int64_t cap_ms = std::min(options_.backoff_cap_ms, options_.interval_s * 1000);
  int64_t next_round = MonotonicNs();
  int64_t backoff_ms = 0;  // 0: nothing waits for a retry
  int64_t next_retry = 0;
  auto schedule_retry = [&](size_t pending, int64_t delay_ms) {
    backoff_ms = pending > 0 ? delay_ms : 0;
    if (backoff_ms > 0) next_retry = MonotonicNs() + Jittered(backoff_ms) * 1'000'000;
  };
  while (!stop.load()) {
    int64_t now = MonotonicNs();
    if (now >= next_round) {
      next_round = now + interval_ns;
      RoundReport r = RunRound(&stop);
      if (stop.load() && r.status.code() == StatusCode::kAborted) break;
      if (on_round) on_round(r);
      schedule_retry(r.pending, std::min(options_.backoff_initial_ms, cap_ms));
    } else if (backoff_ms > 0 && now >= next_retry) {
      FlushReport f = Flush();
      if (f.delivered > 0 || f.rejected > 0) {
        options_.log("retry: delivered " + std::to_string(f.delivered) + " spooled bundle(s), " +
                     std::to_string(f.rejected) + " rejected, " + std::to_string(f.pending) +
                     " waiting");
      }
      schedule_retry(f.pending, std::min(backoff_ms * 2, cap_ms));
    }
    SleepUntil(backoff_ms > 0 ? std::min(next_round, next_retry) : next_round, stop);
  }
  return Status::Ok();
}

}  // namespace custodian::client
