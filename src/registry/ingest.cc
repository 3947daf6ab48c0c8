// Attestation ingest and landmark cross-checks: the verifier half of the registry.
//
// Ingest of a bundle (POST /v1/attestations):
//   1. parse every receipt strictly and check it — signature by a registered, active landmark
//      whose stored position it repeats; about this node's key; for the GPU set sent with it;
//      not older than max_receipt_age_s nor from the future — all before anything is written;
//   2. decide the verdict per licensed zone (geo::VerdictEngine) outside any transaction;
//   3. in ONE write transaction: store the receipts (their transcript hash is the primary key,
//      so a replayed receipt fails the whole bundle with 409), check them against this key's
//      recent answers from other bundles (cloned key), store the attestation and a verdict per
//      chip, update chips and node, raise alerts.
//
// The cloned-key check: a receipt proves the key's holder was within r = c·rtt/2 of landmark L
// at some instant of the session [start, end]. Two such facts about one holder need
// dist(L1, L2) ≤ r1 + r2 + c·gap, gap being the least time between the sessions (less twice
// the landmark clock uncertainty). Radii here always use c, whatever the policy's speed, so
// the check can never accuse a key that a faster medium would explain.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>

#include "core/bytes.h"
#include "core/canonical_json.h"
#include "core/clock.h"
#include "geo/geodesic.h"
#include "gpu/nvml.h"
#include "proto/receipt.h"
#include "registry/internal.h"

namespace custodian::registry {
namespace {

constexpr double kLightKmPerMs = proto::kSpeedOfLightKmPerS / 1000.0;
// No two points on the WGS84 ellipsoid are farther apart than half a meridian, 20,003.93 km
// (equatorial antipodes are joined by the geodesic over a pole).
constexpr double kLongestGeodesicKm = 20'004.0;
// Receipts of other bundles are compared for the cloned-key check only if their sessions ended
// less than this before this bundle's earliest session began. Beyond it light crosses any
// distance on Earth in the gap, even less the clock uncertainty, so no pair could be
// contradictory and comparing would be wasted work: the window follows from physics, not taste.
int64_t CloneWindowMs(int64_t clock_uncertainty_ms) {
  return int64_t(std::ceil(kLongestGeodesicKm / kLightKmPerMs)) + 2 * clock_uncertainty_ms + 1000;
}

struct CheckedReceipt {
  proto::Receipt receipt;
  double landmark_lat_deg = 0, landmark_lon_deg = 0;  // as registered (and signed)
  std::string transcript_hex;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  double light_radius_km = 0;  // c · (min RTT) / 2, with the clock-rate tolerance
};

struct NodeRecord {
  std::string operator_id, site_id, public_key, key_binding;
  std::set<std::string> gpus;
  geo::LatLon site{};
  // chip id -> model, for the chips enrolled on this node
  std::map<std::string, std::string> chips;
};

double LightRadiusKm(int64_t min_rtt_ns) {
  return kLightKmPerMs * (double(min_rtt_ns) / 1e6) / 2.0 * (1.0 + geo::kClockRateTolerance);
}

std::string ReceiptField(size_t i, const std::string& field) {
  return "body.receipts[" + std::to_string(i) + "]" + (field.empty() ? "" : "." + field);
}

// A bundle checked and decided (steps 1 and 2), ready to be written.
struct PreparedBundle {
  std::string node_id;
  NodeRecord node;
  std::set<std::string> gpus;
  std::vector<CheckedReceipt> checked;
  std::map<std::string, geo::Verdict> decided_by_model;  // chip model -> verdict
  int64_t at_ms = 0;                                     // end of the latest session
  std::string bundle_text;                               // canonical JSON, stored as evidence
  std::string bundle_sha256;  // hex, for the log entry (hashed before the write transaction)
};

// AlreadyExists naming the first receipt of `b` stored before, if any.
Status FindReplay(Transaction& tx, const PreparedBundle& b) {
  std::vector<Value> hashes;
  for (const auto& cr : b.checked) hashes.push_back(cr.transcript_hex);
  auto seen = tx.Query("SELECT transcript_hash FROM receipts WHERE transcript_hash IN (" +
                           Placeholders(1, hashes.size()) + ")",
                       hashes);
  if (!seen.ok()) return seen.status();
  for (size_t i = 0; i < b.checked.size() && !seen->empty(); ++i) {
    for (const auto& row : *seen) {
      if (row.Text(0) == b.checked[i].transcript_hex) {
        return Status::AlreadyExists(ReceiptField(i, "transcript_hash") +
                                     ": receipt was submitted before (replay)");
      }
    }
  }
  return Status::Ok();
}

// Step 3 for one bundle, inside the (possibly shared) write transaction. Every check that can
// refuse the bundle comes before its first write, so a refusal (409) leaves the transaction
// clean for the other bundles of a group commit.
Status WriteBundle(Transaction& tx, const RegistryOptions& options, bool grouped,
                   const PreparedBundle& b, json& out,
                   std::map<std::string, uint64_t>& kinds_counted) {
  out = json::object();
  kinds_counted.clear();
  const int64_t now = NowMs();
  std::vector<AlertSpec> alerts;
  AlertSpec base;
  base.operator_id = b.node.operator_id;
  base.site_id = b.node.site_id;
  base.node_id = b.node_id;

  // In a group commit a replay must be refused before this bundle writes anything (see
  // WriteGrouped). Without one, the primary key refuses it; looking first would only cost
  // PostgreSQL predicate locks, and serialisation failures with them.
  if (grouped) CUSTODIAN_RETURN_IF_ERROR(FindReplay(tx, b));
  // Cloned key: compare with this key's recent answers from other bundles.
  int64_t earliest = b.at_ms;
  for (const auto& cr : b.checked) earliest = std::min(earliest, cr.start_ms);
  auto recent = tx.Query(
      "SELECT transcript_hash, attestation_id, landmark_id, lat, lon, radius_km, start_ms, "
      "end_ms FROM receipts WHERE node_id = ? AND end_ms >= ?",
      {b.node_id, earliest - CloneWindowMs(options.landmark_clock_uncertainty_ms)});
  if (!recent.ok()) return recent.status();
  std::optional<AlertSpec> clone;
  const double unc_ms = 2.0 * double(options.landmark_clock_uncertainty_ms);
  for (const auto& cr : b.checked) {
    for (const auto& old : *recent) {
      double gap_ms = std::max(
          0.0,
          double(std::max(cr.start_ms, old.Int(6)) - std::min(cr.end_ms, old.Int(7))) - unc_ms);
      double d_km = geo::GeodesicDistanceKm(cr.landmark_lat_deg, cr.landmark_lon_deg, old.Real(3),
                                            old.Real(4));
      double reach_km = cr.light_radius_km + old.Real(5) + kLightKmPerMs * gap_ms + 1.0;
      if (d_km > reach_km && !clone) {
        AlertSpec a = base;
        a.kind = "cloned-key";
        a.dedup_key = "cloned-key:node:" + b.node_id;
        char text[512];
        std::snprintf(
            text, sizeof text,
            "node key answered landmark %s (within %.0f km of it) and landmark %s (within "
            "%.0f km of it) %.0f ms apart; the landmarks are %.0f km apart, farther than light "
            "travels in that time (%.0f km): the key is in two places (cloned)",
            cr.receipt.landmark_id.c_str(), cr.light_radius_km, old.Text(2).c_str(), old.Real(5),
            gap_ms, d_km, kLightKmPerMs * gap_ms);
        a.reason = text;
        a.numbers = {{"distance_km", d_km},
                     {"radius_km", {cr.light_radius_km, old.Real(5)}},
                     {"gap_ms", gap_ms},
                     {"light_km_in_gap", kLightKmPerMs * gap_ms}};
        a.evidence = {{"attestations", {old.Int(1)}},
                      {"receipts", {cr.transcript_hex, old.Text(0)}},
                      {"landmarks", {cr.receipt.landmark_id, old.Text(2)}}};
        clone = a;
      }
    }
  }

  // The attestation row first: verdicts and receipts point at it.
  std::string overall = "verified";
  auto rank = [](const std::string& k) {
    return k == "violation" ? 2 : k == "inconclusive" ? 1 : 0;
  };
  // A copy: the transaction may run again (a serialisation failure), and must start afresh.
  std::map<std::string, geo::Verdict> verdict_by_model = b.decided_by_model;
  for (auto& [model, v] : verdict_by_model) {
    if (clone) {
      v.kind = geo::VerdictKind::kViolation;
      v.reasons.insert(v.reasons.begin(), {"cloned_key", clone->reason, clone->numbers});
    }
    std::string k = geo::VerdictKindName(v.kind);
    if (rank(k) > rank(overall)) overall = k;
  }
  if (verdict_by_model.empty()) overall = "inconclusive";  // a node without chips
  json verdicts_json = json::object();
  std::map<std::string, std::string> summary_by_model;
  for (const auto& [model, v] : verdict_by_model) {
    verdicts_json[model] = v.ToJson();
    summary_by_model[model] = v.Summary();
  }
  auto verdict_text = CanonicalJson(verdicts_json);
  if (!verdict_text.ok()) return verdict_text.status();
  auto inserted = tx.Query(
      "INSERT INTO attestations (node_id, received_ms, kind, verdict, bundle) VALUES (?, ?, ?, "
      "?, ?) RETURNING id",
      {b.node_id, now, overall, *verdict_text, b.bundle_text});
  if (!inserted.ok()) return inserted.status();
  int64_t attestation_id = (*inserted)[0].Int(0);
  base.evidence = {{"attestation", attestation_id}};

  std::vector<Value> receipt_values;
  for (const auto& cr : b.checked) {
    receipt_values.insert(
        receipt_values.end(),
        {cr.transcript_hex, attestation_id, b.node_id, cr.receipt.landmark_id, cr.landmark_lat_deg,
         cr.landmark_lon_deg, cr.light_radius_km, cr.start_ms, cr.end_ms});
  }
  Status stored = tx.Exec(
      "INSERT INTO receipts (transcript_hash, attestation_id, node_id, landmark_id, lat, lon, "
      "radius_km, start_ms, end_ms) VALUES " +
          Placeholders(9, b.checked.size()),
      receipt_values);
  if (stored.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("body.receipts: a receipt was submitted before (replay)");
  }
  CUSTODIAN_RETURN_IF_ERROR(stored);

  // Chips: a verdict for each chip enrolled here and present; alerts for the rest.
  json chip_results = json::array();
  std::vector<Value> verdict_values;
  std::map<std::string, std::vector<std::string>> chips_by_kind;
  for (const auto& uuid : b.gpus) {
    auto it = b.node.chips.find(uuid);
    if (it == b.node.chips.end()) {
      auto other = tx.Query("SELECT node_id FROM chips WHERE id = ?", {uuid});
      if (!other.ok()) return other.status();
      AlertSpec a = base;
      a.kind = "chip-conflict";
      a.chip_id = uuid;
      a.dedup_key = "chip-conflict:" + uuid + ":" + b.node_id;
      a.reason = other->empty() ? "node " + b.node_id + " reported chip " + uuid +
                                      ", which is not enrolled anywhere"
                                : "chip " + uuid + " is enrolled on node " + (*other)[0].Text(0) +
                                      " but was reported by node " + b.node_id;
      a.numbers = json::object();
      a.evidence = {{"attestation", attestation_id},
                    {"enrolled_node", other->empty() ? json() : json((*other)[0].Text(0))}};
      alerts.push_back(a);
      continue;
    }
    const geo::Verdict& v = verdict_by_model.at(it->second);
    std::string kind = geo::VerdictKindName(v.kind);
    verdict_values.insert(verdict_values.end(),
                          {uuid, attestation_id, kind, b.at_ms, summary_by_model.at(it->second)});
    chips_by_kind[kind].push_back(uuid);
    kinds_counted[kind]++;
    chip_results.push_back({{"chip", uuid}, {"kind", kind}});
  }
  // One statement for all verdicts and one per kind for the chips: a bundle's cost in the
  // (serialised) write transaction is counted in statements more than in rows.
  if (!verdict_values.empty()) {
    CUSTODIAN_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO verdicts (chip_id, attestation_id, kind, at_ms, summary) VALUES " +
                    Placeholders(5, verdict_values.size() / 5),
                verdict_values));
  }
  for (const auto& [kind, chip_ids] : chips_by_kind) {
    std::vector<Value> params = {kind, b.at_ms, attestation_id, kind, b.at_ms};
    params.insert(params.end(), chip_ids.begin(), chip_ids.end());
    CUSTODIAN_RETURN_IF_ERROR(
        tx.Exec("UPDATE chips SET last_kind = ?, last_verdict_ms = ?, last_attestation_id = ?, "
                "inconclusive_since_ms = CASE WHEN ? = 'inconclusive' THEN COALESCE("
                "inconclusive_since_ms, ?) ELSE NULL END WHERE id IN (" +
                    Placeholders(1, chip_ids.size()) + ")",
                params));
  }
  if (b.gpus != b.node.gpus) {
    AlertSpec a = base;
    a.kind = "gpu-set-changed";
    a.dedup_key = "gpu-set-changed:node:" + b.node_id;
    std::vector<std::string> missing, added;
    std::set_difference(b.node.gpus.begin(), b.node.gpus.end(), b.gpus.begin(), b.gpus.end(),
                        std::back_inserter(missing));
    std::set_difference(b.gpus.begin(), b.gpus.end(), b.node.gpus.begin(), b.node.gpus.end(),
                        std::back_inserter(added));
    a.reason = "node " + b.node_id + " reported a GPU set different from the one enrolled: " +
               std::to_string(missing.size()) + " missing, " + std::to_string(added.size()) +
               " unknown";
    a.numbers = {{"missing", missing.size()}, {"unknown", added.size()}};
    a.evidence = {{"attestation", attestation_id}, {"missing", missing}, {"unknown", added}};
    alerts.push_back(a);
  }

  const geo::Verdict* worst = nullptr;
  for (const auto& [model, v] : verdict_by_model) {
    if (worst == nullptr ||
        rank(geo::VerdictKindName(v.kind)) > rank(geo::VerdictKindName(worst->kind))) {
      worst = &v;
    }
  }
  if (clone) {
    clone->operator_id = b.node.operator_id;
    clone->site_id = b.node.site_id;
    clone->node_id = b.node_id;
    clone->evidence["attestations"].push_back(attestation_id);
    alerts.push_back(*clone);
  } else if (worst != nullptr && worst->kind == geo::VerdictKind::kViolation) {
    AlertSpec a = base;
    a.kind = "violation";
    a.dedup_key = "violation:node:" + b.node_id;
    a.reason = worst->reasons.empty() ? worst->Summary() : worst->reasons.front().text;
    a.numbers = worst->reasons.empty() ? json::object() : worst->reasons.front().numbers;
    json lms = json::array();
    for (const auto& cr : b.checked) lms.push_back(cr.receipt.landmark_id);
    a.evidence = {{"attestation", attestation_id}, {"landmarks", lms}};
    alerts.push_back(a);
  }

  CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
      "UPDATE nodes SET last_attestation_id = ?, last_attestation_ms = ?, last_kind = ? WHERE "
      "id = ?",
      {attestation_id, b.at_ms, overall, b.node_id}));
  json alert_json = json::array();
  for (const auto& a : alerts) {
    auto id = RaiseAlert(tx, a, now);
    if (!id.ok()) return id.status();
    alert_json.push_back({{"id", *id}, {"kind", a.kind}, {"reason", a.reason}});
  }
  json landmarks_used = json::array();
  for (const auto& cr : b.checked) {
    landmarks_used.push_back({{"landmark", cr.receipt.landmark_id},
                              {"min_rtt_ns", cr.receipt.min_rtt_ns},
                              {"transcript_hash", cr.transcript_hex}});
  }
  // What the log keeps of a verdict: enough to find and check the stored evidence (the bundle's
  // SHA-256 and its receipts' transcript hashes), not the evidence itself.
  CUSTODIAN_RETURN_IF_ERROR(LogEntry(tx, "verdict",
                                     {{"attestation", attestation_id},
                                      {"node", b.node_id},
                                      {"site", b.node.site_id},
                                      {"operator", b.node.operator_id},
                                      {"kind", overall},
                                      {"at", FormatMs(b.at_ms)},
                                      {"chips", chip_results},
                                      {"receipts", landmarks_used},
                                      {"bundle_sha256", b.bundle_sha256}}));
  out = {{"id", attestation_id},
         {"node", b.node_id},
         {"kind", overall},
         {"at", FormatMs(b.at_ms)},
         {"received_at", FormatMs(now)},
         {"verdicts", chip_results},
         {"summary", worst != nullptr ? worst->Summary() : "no enrolled chips reported"},
         {"alerts", alert_json}};
  return Status::Ok();
}

}  // namespace

// --- group commit ---------------------------------------------------------------------------

namespace {

// The leader must always dequeue its group, or every later request would wait forever: an
// exception from one write becomes that write's error.
Status RunWrite(const std::function<Status(Transaction&)>& write, Transaction& tx) {
  try {
    return write(tx);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("ingest write failed: ") + e.what());
  }
}

}  // namespace

struct Registry::Impl::QueuedWrite {
  const std::function<Status(Transaction&)>* write;
  Status status;
  bool done = false;
  std::condition_variable cv;
};

// Long enough to share the commit among all the requests a busy server has in flight, short
// enough that the last of a group does not wait long for the first.
constexpr size_t kMaxWriteGroup = 32;

Status Registry::Impl::WriteGrouped(const std::function<Status(Transaction&)>& write) {
  // PostgreSQL runs write transactions side by side and already shares WAL flushes between
  // concurrent commits; one leader at a time would only queue them behind each other's fsync
  // (measured: 507 -> 398 bundles/s, p99 29 -> 94 ms). SQLite has one writer anyway.
  if (db->dialect() != store::Dialect::kSqlite) {
    return db->InTransaction(TxMode::kWrite, [&](Transaction& tx) { return RunWrite(write, tx); });
  }
  QueuedWrite w;
  w.write = &write;
  std::unique_lock<std::mutex> lock(write_queue_mu_);
  write_queue_.push_back(&w);
  while (!w.done && &w != write_queue_.front()) w.cv.wait(lock);
  if (w.done) return w.status;  // a leader wrote it
  // This request leads: it takes what is queued now (itself first); later arrivals queue for
  // the next group, which the next front will lead.
  std::vector<QueuedWrite*> group(
      write_queue_.begin(),
      write_queue_.begin() + std::ptrdiff_t(std::min(write_queue_.size(), kMaxWriteGroup)));
  lock.unlock();
  WriteGroup(group);
  lock.lock();
  for (QueuedWrite* member : group) {
    write_queue_.pop_front();
    if (member != &w) {
      member->done = true;
      member->cv.notify_one();
    }
  }
  if (!write_queue_.empty()) write_queue_.front()->cv.notify_one();
  return w.status;
}

void Registry::Impl::WriteGroup(const std::vector<QueuedWrite*>& group) {
  Status all = db->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    for (QueuedWrite* member : group) {
      member->status = RunWrite(*member->write, tx);
      if (!member->status.ok() && member->status.code() != StatusCode::kAlreadyExists) {
        return member->status;
      }
    }
    return Status::Ok();
  });
  if (all.ok()) return;
  if (group.size() == 1) {
    group[0]->status = all;
    return;
  }
  // Someone's write failed the shared transaction (and rolled back everyone's): write each
  // alone, so the others still land and only the faulty one reports its error.
  for (QueuedWrite* member : group) {
    member->status = db->InTransaction(
        TxMode::kWrite, [&](Transaction& tx) { return RunWrite(*member->write, tx); });
  }
}

Result<json> Registry::SubmitAttestation(const Caller& c, const json& body) {
  Impl& impl = *impl_;
  impl.ingest_in_flight.fetch_add(1);
  struct InFlight {
    Impl& impl;
    ~InFlight() { impl.ingest_in_flight.fetch_sub(1); }
  } in_flight{impl};
  auto rejected = [&](Status s) {
    impl.attestations_rejected.fetch_add(1);
    return s;
  };

  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAgent, Role::kAdmin}));
  Status fields = CheckFields(body, {"node", "gpus", "receipts"});
  if (!fields.ok()) return rejected(fields);
  auto node_id = GetText(body, "node", 64);
  if (!node_id.ok()) return rejected(node_id.status());
  if (c.role == Role::kAgent && c.node_id != *node_id) {
    return rejected(Status::PermissionDenied("agent tokens may only submit for their own node"));
  }
  const json& gpus_json = body.contains("gpus") ? body["gpus"] : json();
  if (!gpus_json.is_array() || gpus_json.empty() || gpus_json.size() > 64) {
    return rejected(Bad("gpus", "must be an array of 1-64 GPU UUIDs"));
  }
  std::set<std::string> gpus;
  std::vector<gpu::GpuIdentity> identities;
  for (size_t i = 0; i < gpus_json.size(); ++i) {
    if (!gpus_json[i].is_string() || gpus_json[i].get_ref<const std::string&>().empty() ||
        gpus_json[i].get_ref<const std::string&>().size() > 128) {
      return rejected(Bad("gpus[" + std::to_string(i) + "]", "must be a GPU UUID string"));
    }
    if (!gpus.insert(gpus_json[i].get<std::string>()).second) {
      return rejected(Bad("gpus[" + std::to_string(i) + "]", "listed twice"));
    }
    gpu::GpuIdentity id;
    id.uuid = gpus_json[i].get<std::string>();
    identities.push_back(id);
  }
  const Sha256Digest chipset = gpu::ChipSetHash(identities);
  const json& receipts_json = body.contains("receipts") ? body["receipts"] : json();
  if (!receipts_json.is_array() || receipts_json.empty() || receipts_json.size() > 32) {
    return rejected(Bad("receipts", "must be an array of 1-32 receipts"));
  }

  // 1. Parse and check every receipt against the registered state.
  NodeRecord node;
  std::vector<StoredLandmark> landmarks;
  std::map<std::string, std::set<std::string>> zones;  // model -> licensed countries
  int64_t now = NowMs();
  Status loaded = impl.db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    auto rows = tx.Query(
        "SELECT n.operator_id, n.site_id, n.public_key, n.key_binding, n.gpus, s.lat, s.lon "
        "FROM nodes n JOIN sites s ON s.id = n.site_id WHERE n.id = ?",
        {*node_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("body.node: no such node \"" + *node_id + "\"");
    const store::Row& r = (*rows)[0];
    node.operator_id = r.Text(0);
    node.site_id = r.Text(1);
    node.public_key = r.Text(2);
    node.key_binding = r.Text(3);
    node.gpus = SplitList(r.Text(4));
    node.site = {r.Real(5), r.Real(6)};
    auto chips = tx.Query("SELECT id, model FROM chips WHERE node_id = ?", {*node_id});
    if (!chips.ok()) return chips.status();
    node.chips.clear();
    zones.clear();
    for (const auto& chip : *chips) node.chips[chip.Text(0)] = chip.Text(1);
    for (const auto& [chip, model] : node.chips) {
      if (zones.count(model)) continue;
      auto zone = LicensedZone(tx, node.site_id, model, now);
      if (!zone.ok()) return zone.status();
      zones[model] = *zone;
    }
    auto l = LoadLandmarks(tx);
    if (!l.ok()) return l.status();
    landmarks = std::move(*l);
    return Status::Ok();
  });
  if (!loaded.ok()) return rejected(loaded);

  std::vector<geo::TrustedLandmark> active;
  for (const auto& l : landmarks) {
    if (l.status == "active") active.push_back(l.trusted);
  }
  std::vector<CheckedReceipt> checked;
  std::set<std::string> transcripts;
  for (size_t i = 0; i < receipts_json.size(); ++i) {
    if (!receipts_json[i].is_object()) {
      return rejected(Status::InvalidInput(ReceiptField(i, "") + ": must be a receipt object"));
    }
    auto parsed = proto::ParseReceiptJson(receipts_json[i]);
    if (!parsed.ok()) {
      return rejected(Status::InvalidInput(ReceiptField(i, "") + ": " + parsed.status().message()));
    }
    CheckedReceipt cr;
    cr.receipt = std::move(*parsed);
    const proto::Receipt& r = cr.receipt;
    auto it = std::find_if(landmarks.begin(), landmarks.end(),
                           [&](const StoredLandmark& l) { return l.trusted.id == r.landmark_id; });
    if (it == landmarks.end()) {
      return rejected(Status::FailedCheck(ReceiptField(i, "landmark_id") + ": unknown landmark \"" +
                                          r.landmark_id + "\""));
    }
    if (it->status != "active") {
      return rejected(Status::FailedCheck(ReceiptField(i, "landmark_id") + ": landmark \"" +
                                          r.landmark_id + "\" is quarantined"));
    }
    cr.landmark_lat_deg = it->trusted.position.lat_deg;
    cr.landmark_lon_deg = it->trusted.position.lon_deg;
    // Checks the signature (proto::VerifyReceipt) and the signed position, once.
    auto against = geo::CheckReceiptAgainst(r, active);
    if (!against.ok()) {
      return rejected(Status::FailedCheck(ReceiptField(i, "") + ": " + against.status().message()));
    }
    if (Base64Encode(r.node_pub) != node.public_key) {
      return rejected(Status::FailedCheck(ReceiptField(i, "node_pub") +
                                          ": the landmark timed another key, not this node's"));
    }
    if (r.chipset_hash != chipset) {
      return rejected(
          Status::FailedCheck(ReceiptField(i, "chipset_hash") +
                              ": does not match body.gpus (the landmark saw another GPU set)"));
    }
    auto end_ns = ParseUtc(r.time_utc, ReceiptField(i, "time_utc"));
    if (!end_ns.ok()) return rejected(end_ns.status());
    cr.end_ms = *end_ns / 1'000'000;
    if (now - cr.end_ms > impl.options.max_receipt_age_s * 1000) {
      return rejected(Status::FailedCheck(ReceiptField(i, "time_utc") + ": older than " +
                                          std::to_string(impl.options.max_receipt_age_s) + " s"));
    }
    if (cr.end_ms - now > impl.options.max_clock_ahead_s * 1000) {
      return rejected(Status::FailedCheck(ReceiptField(i, "time_utc") + ": in the future"));
    }
    // The session began no earlier than its samples, the spacing between them and the
    // timeouts of the lost ones allow (the receipt records only when it ended).
    int64_t sum_ns = 0;
    for (int64_t s : r.samples_ns) sum_ns += s;
    int64_t lost = int64_t(r.samples_requested) - int64_t(r.samples_ns.size());
    cr.start_ms = cr.end_ms - sum_ns / 1'000'000 - 1 -
                  int64_t(r.samples_requested) * impl.options.landmark_max_spacing_ms -
                  std::max<int64_t>(0, lost) * impl.options.landmark_max_response_timeout_ms;
    cr.light_radius_km = LightRadiusKm(r.min_rtt_ns);
    cr.transcript_hex = HexEncode(r.transcript_hash);
    if (!transcripts.insert(cr.transcript_hex).second) {
      return rejected(Status::InvalidInput(ReceiptField(i, "") + ": the same receipt twice"));
    }
    checked.push_back(std::move(cr));
  }

  // 2. Verdicts, one per licensed zone in use (chips of different models may differ).
  std::map<std::string, geo::Verdict> decided_by_model;
  {
    geo::VerdictEngine* engine = impl.engine.get();
    std::map<std::set<std::string>, geo::Verdict> by_zone;
    for (const auto& [model, zone] : zones) {
      if (!by_zone.count(zone)) {
        geo::VerdictRequest request;
        for (const auto& cr : checked) {
          geo::Observation o;
          auto lm = std::find_if(active.begin(), active.end(), [&](const geo::TrustedLandmark& t) {
            return t.id == cr.receipt.landmark_id;
          });
          o.landmark = &*lm;
          o.min_rtt_ns = cr.receipt.min_rtt_ns;
          request.observations.push_back(o);
        }
        request.site = node.site;
        request.licensed = zone;
        request.key_binding = node.key_binding;
        geo::Verdict v = engine->Decide(request);
        if (zone.empty() && v.kind == geo::VerdictKind::kVerified) {
          // Without a licence in force there is no licensed zone to be proven inside.
          v.kind = geo::VerdictKind::kInconclusive;
          v.reasons.insert(v.reasons.begin(),
                           {"no_valid_licence",
                            "no licence in force covers these chips at this site, so no "
                            "location can be verified as licensed",
                            json::object()});
        }
        by_zone.emplace(zone, std::move(v));
      }
      decided_by_model.emplace(model, by_zone.at(zone));
    }
  }

  int64_t at_ms = 0;
  for (const auto& cr : checked) at_ms = std::max(at_ms, cr.end_ms);
  json bundle_json = {{"node", *node_id}, {"gpus", gpus_json}, {"receipts", receipts_json}};
  auto bundle_text = CanonicalJson(bundle_json);
  if (!bundle_text.ok()) return rejected(bundle_text.status());

  // 3. One transaction for every state change (shared with other requests' bundles).
  PreparedBundle b;
  b.node_id = *node_id;
  b.node = std::move(node);
  b.gpus = std::move(gpus);
  b.checked = std::move(checked);
  b.decided_by_model = std::move(decided_by_model);
  b.at_ms = at_ms;
  b.bundle_text = std::move(*bundle_text);
  b.bundle_sha256 = HexEncode(Sha256(AsBytes(b.bundle_text)));
  json out;
  std::map<std::string, uint64_t> kinds_counted;
  const bool grouped = impl.db->dialect() == store::Dialect::kSqlite;
  Status written = impl.WriteGrouped([&](Transaction& tx) {
    return WriteBundle(tx, impl.options, grouped, b, out, kinds_counted);
  });
  if (written.code() == StatusCode::kAlreadyExists) {
    // The primary key refused a receipt: name it (a read, after the failed transaction).
    Status named =
        impl.db->InTransaction(TxMode::kRead, [&](Transaction& tx) { return FindReplay(tx, b); });
    if (named.code() == StatusCode::kAlreadyExists) written = named;
  }
  if (!written.ok()) return rejected(written);
  impl.attestations.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(impl.metrics_mu);
    for (const auto& [kind, n] : kinds_counted) impl.verdict_counts[kind] += n;
  }
  return out;
}

Result<json> Registry::GetAttestation(const Caller& c, const std::string& id) {
  int64_t numeric = 0;
  auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), numeric);
  if (ec != std::errc() || ptr != id.data() + id.size()) {
    return Status::NotFound("attestation \"" + id + "\" not found");
  }
  if (c.role == Role::kLandmark) return Status::PermissionDenied("role landmark may not do this");
  json out;
  Status s = impl_->db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    auto rows = tx.Query(
        "SELECT a.id, a.node_id, a.received_ms, a.kind, a.verdict, a.bundle, n.operator_id FROM "
        "attestations a JOIN nodes n ON n.id = a.node_id WHERE a.id = ?",
        {numeric});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("attestation " + id + " not found");
    const store::Row& r = (*rows)[0];
    if (c.role == Role::kAgent) {
      if (c.node_id != r.Text(1)) {
        return Status::PermissionDenied("agent tokens may only read their own node's records");
      }
    } else {
      CUSTODIAN_RETURN_IF_ERROR(CheckOperatorScope(c, r.Text(6), "attestation " + id));
    }
    auto verdict = ParseJson(r.Text(4));
    auto bundle = ParseJson(r.Text(5));
    if (!verdict.ok() || !bundle.ok()) return Status::Corruption("attestation " + id);
    out = {{"id", r.Int(0)},
           {"node", r.Text(1)},
           {"received_at", FormatMs(r.Int(2))},
           {"kind", r.Text(3)},
           {"verdicts_by_model", *verdict},
           {"bundle", *bundle}};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<json> Registry::SubmitCrosschecks(const Caller& c, const std::string& id, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kLandmark, Role::kAdmin}));
  if (c.role == Role::kLandmark && c.landmark_id != id) {
    return Status::PermissionDenied("landmark tokens may only submit their own cross-checks");
  }
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(body, {"receipts"}));
  const json& receipts_json = body.contains("receipts") ? body["receipts"] : json();
  if (!receipts_json.is_array() || receipts_json.empty() || receipts_json.size() > 256) {
    return Bad("receipts", "must be an array of 1-256 receipts");
  }
  std::vector<proto::Receipt> receipts;
  for (size_t i = 0; i < receipts_json.size(); ++i) {
    if (!receipts_json[i].is_object()) {
      return Status::InvalidInput(ReceiptField(i, "") + ": must be a receipt object");
    }
    auto parsed = proto::ParseReceiptJson(receipts_json[i]);
    if (!parsed.ok()) {
      return Status::InvalidInput(ReceiptField(i, "") + ": " + parsed.status().message());
    }
    receipts.push_back(std::move(*parsed));
  }
  json out;
  Status s = impl_->db->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    auto loaded = LoadLandmarks(tx);
    if (!loaded.ok()) return loaded.status();
    const auto& landmarks = *loaded;
    auto find = [&](const std::string& lid) -> const StoredLandmark* {
      for (const auto& l : landmarks) {
        if (l.trusted.id == lid) return &l;
      }
      return nullptr;
    };
    const StoredLandmark* self = find(id);
    if (self == nullptr) return Status::NotFound("landmark \"" + id + "\" not found");
    int64_t now = NowMs();
    json contradictions = json::array();
    std::set<std::string> involved;
    for (size_t i = 0; i < receipts.size(); ++i) {
      const proto::Receipt& r = receipts[i];
      const StoredLandmark* measurer = find(r.landmark_id);
      if (measurer == nullptr || measurer == self) {
        return Status::FailedCheck(ReceiptField(i, "landmark_id") + ": \"" + r.landmark_id +
                                   "\" is not another registered landmark");
      }
      Status verified = proto::VerifyReceipt(r, measurer->trusted.public_key);
      if (!verified.ok())
        return Status::FailedCheck(ReceiptField(i, "") + ": " + verified.message());
      if (r.node_pub != self->trusted.public_key) {
        return Status::FailedCheck(ReceiptField(i, "node_pub") +
                                   ": the receipt is not about landmark " + id);
      }
      // The physics: no answer comes back faster than light over the registered distance.
      // The RTT is stretched by the clock-rate tolerance, so a slewing clock cannot fake a
      // contradiction.
      double d_km = geo::GeodesicDistanceKm(
          measurer->trusted.position.lat_deg, measurer->trusted.position.lon_deg,
          self->trusted.position.lat_deg, self->trusted.position.lon_deg);
      int64_t min_possible_ns = int64_t(2.0 * d_km / kLightKmPerMs * 1e6);
      double stretched_ns = double(r.min_rtt_ns) * (1.0 + geo::kClockRateTolerance);
      // Receipts repeat their landmark's position: one that disagrees with the registry is
      // itself a contradiction of the registered position.
      bool moved = std::abs(r.landmark_lat - measurer->trusted.position.lat_deg) > 1e-9 ||
                   std::abs(r.landmark_lon - measurer->trusted.position.lon_deg) > 1e-9;
      bool contradiction = stretched_ns < double(min_possible_ns) || moved;
      Status ins = tx.Exec(
          "INSERT INTO crosschecks (transcript_hash, measurer_id, measured_id, min_rtt_ns, "
          "distance_km, min_possible_rtt_ns, contradiction, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, "
          "?)",
          {HexEncode(r.transcript_hash), r.landmark_id, id, r.min_rtt_ns, d_km, min_possible_ns,
           int64_t(contradiction ? 1 : 0), now});
      if (ins.code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists(ReceiptField(i, "transcript_hash") +
                                     ": receipt was submitted before (replay)");
      }
      CUSTODIAN_RETURN_IF_ERROR(ins);
      if (contradiction) {
        contradictions.push_back({{"measurer", r.landmark_id},
                                  {"measured", id},
                                  {"min_rtt_ms", double(r.min_rtt_ns) / 1e6},
                                  {"min_possible_rtt_ms", double(min_possible_ns) / 1e6},
                                  {"distance_km", d_km},
                                  {"position_mismatch", moved}});
        involved.insert(r.landmark_id);
        involved.insert(id);
      }
    }
    // Who is wrong? A landmark contradicted by at least two distinct peers (or by its only
    // peer, when there are just two) is quarantined: one liar among honest landmarks collects
    // contradictions from all of them, each honest one only from the liar.
    size_t active_count = 0;
    for (const auto& l : landmarks) active_count += l.status == "active";
    size_t threshold = std::max<size_t>(1, std::min<size_t>(2, active_count - 1));
    json quarantined = json::array();
    for (const auto& lid : involved) {
      const StoredLandmark* l = find(lid);
      if (l == nullptr || l->status != "active") continue;
      auto peers = tx.Query(
          "SELECT DISTINCT CASE WHEN measurer_id = ? THEN measured_id ELSE measurer_id END FROM "
          "crosschecks WHERE contradiction = 1 AND (measurer_id = ? OR measured_id = ?)",
          {lid, lid, lid});
      if (!peers.ok()) return peers.status();
      if (peers->size() < threshold) continue;
      std::string peer_list;
      for (const auto& p : *peers) peer_list += (peer_list.empty() ? "" : ", ") + p.Text(0);
      std::string reason = "landmark " + lid + " contradicts physics with " +
                           std::to_string(peers->size()) + " peer(s) (" + peer_list +
                           "): answers faster than light over the registered distances";
      CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
          "UPDATE landmarks SET status = 'quarantined', status_reason = ?, status_changed_ms = ? "
          "WHERE id = ?",
          {reason, now, lid}));
      AlertSpec a;
      a.kind = "landmark-quarantined";
      a.dedup_key = "landmark-quarantined:" + lid;
      a.landmark_id = lid;
      a.reason = reason + "; excluded from verdicts until an admin clears it";
      a.numbers = {{"peers", peers->size()}, {"threshold", threshold}};
      a.evidence = {{"contradictions", contradictions}};
      CUSTODIAN_RETURN_IF_ERROR(LogEntry(
          tx, "landmark-status", {{"id", lid}, {"status", "quarantined"}, {"reason", reason}}));
      auto alert_id = RaiseAlert(tx, a, now);
      if (!alert_id.ok()) return alert_id.status();
      quarantined.push_back(lid);
    }
    out = {{"landmark", id},
           {"accepted", receipts.size()},
           {"contradictions", contradictions},
           {"quarantined", quarantined}};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace custodian::registry
