// Shared by the registry's translation units (not a public header): the Impl, input checks
// that name the field, role checks, and the alert writer.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "geo/landmarks.h"
#include "geo/verdict.h"
#include "registry/registry.h"
#include "store/database.h"

namespace custodian::registry {

using store::Transaction;
using store::TxMode;
using store::Value;

int64_t NowMs();
std::string FormatMs(int64_t unix_ms);  // RFC 3339 UTC with milliseconds
json MsOrNull(const store::Row& row, size_t i);

// --- input checks: each returns InvalidInput "body.<field>: <problem>" ----------------------
Status Bad(const std::string& field, const std::string& problem);
Status RequireObject(const json& body);
// Rejects fields not in `known` ("body.colour: unknown field").
Status CheckFields(const json& body, const std::set<std::string>& known);
Result<std::string> GetId(const json& body, const std::string& field);  // [A-Za-z0-9._-]{1,64}
Result<std::string> GetText(const json& body, const std::string& field, size_t max_len,
                            std::optional<std::string> default_value = std::nullopt);
Result<double> GetNumber(const json& body, const std::string& field, double min, double max);
Result<std::string> GetCountry(const json& body, const std::string& field);  // "SG"
// A JSON array of country codes -> sorted, comma-joined.
Result<std::string> GetCountryList(const json& body, const std::string& field, bool allow_empty);
std::set<std::string> SplitList(const std::string& joined);
// "(?, ?, ?), (?, ?, ?)" for rows of `columns` placeholders; for one column, "?, ?, ?" (an IN
// list). Both databases take multi-row VALUES, which costs one statement instead of `rows`.
std::string Placeholders(size_t columns, size_t rows);
json ListJson(const std::string& joined);
Result<int64_t> GetTimeMs(const json& body, const std::string& field);
Status CheckQuery(const Query& q, const std::set<std::string>& known);
Result<int64_t> QueryLimit(const Query& q, int64_t default_limit, int64_t max_limit);

// --- roles ---------------------------------------------------------------------------------
Status Allow(const Caller& c, std::initializer_list<Role> roles);
bool SeesEverything(const Caller& c);  // admin, auditor
// Operators see only their own operator's records.
Status CheckOperatorScope(const Caller& c, const std::string& operator_id, const std::string& what);

// --- alerts --------------------------------------------------------------------------------
struct AlertSpec {
  std::string kind;       // violation, inconclusive, stale, cloned-key, chip-conflict,
                          // gpu-set-changed, landmark-quarantined
  std::string dedup_key;  // one open alert per key: repeats update last_seen and count
  std::string operator_id, site_id, node_id, chip_id, landmark_id;
  std::string reason;
  json numbers = json::object();
  json evidence = json::object();  // ids: attestation, receipts, landmarks …
};
// Appends a record of a state change to the transparency log, in the transaction that makes the
// change (tlog::AppendEntry): {"type": type, "logged_at": RFC 3339, ...record}. Types:
// verdict, licence, enrolment, landmark, landmark-status, alert (docs/transparency-log.md).
Status LogEntry(Transaction& tx, std::string_view type, const json& record);

// Inserts the alert or, when one with the same key is open, bumps it. Returns its id.
Result<int64_t> RaiseAlert(Transaction& tx, const AlertSpec& spec, int64_t now_ms);

// A new bearer token for `role` (scoped); returns the token (shown once), stores the hash.
Result<std::string> IssueToken(Transaction& tx, Role role, const std::string& operator_id,
                               const std::string& node_id, const std::string& landmark_id,
                               const std::string& name);

// Countries the chips at `site_id` of `model` ("" = any) may be in at `now_ms`: the union over
// valid licences. Empty: no valid licence.
Result<std::set<std::string>> LicensedZone(Transaction& tx, const std::string& site_id,
                                           const std::string& model, int64_t now_ms);

// A landmark as stored.
struct StoredLandmark {
  geo::TrustedLandmark trusted;
  std::string address;
  std::string status;  // active | quarantined
};
Result<std::vector<StoredLandmark>> LoadLandmarks(Transaction& tx);

class Registry::Impl {
 public:
  Impl(std::unique_ptr<store::Database> db, RegistryOptions options);

  std::unique_ptr<store::Database> db;
  RegistryOptions options;

  std::unique_ptr<tlog::Log> log;  // null unless options.log is set

  // One verdict engine for every request: it builds each territory once and shares it.
  std::unique_ptr<geo::VerdictEngine> engine;

  // Group commit on SQLite, as LevelDB's writer queue does it (ingest.cc). Requests prepare their
  // work in parallel and queue only the writing; the front of the queue leads, runs every queued
  // `write` in ONE write transaction and hands each its result, so BEGIN, COMMIT and the pages
  // they share are paid once per group rather than once per request. A `write` may refuse with
  // AlreadyExists, but only before its first statement that changes anything: the group goes on
  // without it. Any other error fails the group's transaction, and each write of it is then run
  // again in a transaction of its own, so only the faulty one fails.
  Status WriteGrouped(const std::function<Status(Transaction&)>& write);

  // Metrics.
  std::mutex metrics_mu;
  std::map<std::string, uint64_t> verdict_counts;
  std::atomic<uint64_t> attestations{0};
  std::atomic<uint64_t> attestations_rejected{0};
  std::atomic<int64_t> ingest_in_flight{0};

 private:
  struct QueuedWrite;
  void WriteGroup(const std::vector<QueuedWrite*>& group);
  std::mutex write_queue_mu_;
  std::deque<QueuedWrite*> write_queue_;  // guarded by write_queue_mu_; the front leads
};

}  // namespace custodian::registry
