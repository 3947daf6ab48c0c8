// The registry and verifier: the system of record behind `custodian serve` (DESIGN §2, §3, §6).
//
// Every public method is one API operation: it takes the authenticated Caller and the request
// (path ids, query, JSON body), checks the caller's role and scope, validates the input (errors
// name the field: "body.lat: must be a number in [-90, 90]"), runs every state change in ONE
// store transaction, and returns the response JSON. Errors map to HTTP in the server:
//   InvalidInput 400 · Unauthorized 401 · PermissionDenied 403 · NotFound 404 ·
//   AlreadyExists 409 · FailedCheck 422 (well-formed but refused: bad signature, replayed or
//   quarantined receipt …) · Unavailable 503 · anything else 500.
//
// Roles (tokens are stored as BLAKE2b hashes and compared in constant time):
//   admin     everything
//   operator  its own operator's sites, nodes, chips, enrolments, alerts, fleet
//   landmark  the landmark list, and cross-check receipts for its own landmark id
//   agent     its own node: node record, plan, attestations
//   auditor   read-only, everything
//
// Thread-safe: the server calls it from many threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "geo/countries.h"
#include "geo/policy.h"
#include "screen/screener.h"
#include "store/database.h"
#include "tlog/log.h"

namespace custodian::registry {

using nlohmann::json;

enum class Role { kAdmin, kOperator, kLandmark, kAgent, kAuditor };
const char* RoleName(Role role);
Result<Role> ParseRole(std::string_view name);

struct Caller {
  std::string token_id;
  Role role = Role::kAuditor;
  std::string operator_id;  // operator role
  std::string node_id;      // agent role
  std::string landmark_id;  // landmark role
};

// Query parameters (?status=open&kind=stale).
using Query = std::map<std::string, std::string>;

struct RegistryOptions {
  geo::Policy policy;  // verdict policy (plus stale/inconclusive windows)
  const geo::CountryMap* borders = nullptr;
  int64_t stale_after_s = 900;           // no verdict for this long -> `stale` alert
  int64_t inconclusive_window_s = 3600;  // inconclusive for this long -> alert
  int64_t max_receipt_age_s = 86400;     // older receipts are refused (replay window)
  int64_t max_clock_ahead_s = 300;       // receipts dated this far in the future are refused
  // How far apart two landmarks' wall clocks may be (NTP): the cloned-key check widens the time
  // between two answers by twice this, so clock error can never fake a clone.
  int64_t landmark_clock_uncertainty_ms = 10;
  // Landmark timing limits the cloned-key check assumes to bound when a session started (the
  // receipt carries only its end): spacing between challenges and the response timeout
  // (proto/landmark.h defaults: 1 ms and 1 s).
  int64_t landmark_max_spacing_ms = 5;
  int64_t landmark_max_response_timeout_ms = 2000;
  // The transparency log (docs/transparency-log.md). Entries are appended whether or not it is
  // set; when set, Open also opens the log (its signed checkpoints, tiles and proofs), and the
  // caller runs its integrator (transparency_log()->StartIntegrator()).
  std::optional<tlog::LogOptions> log;
};

// Counters for /metrics.
struct RegistryMetrics {
  std::map<std::string, uint64_t> verdicts;  // by kind, since start
  uint64_t attestations = 0;
  uint64_t attestations_rejected = 0;
  int64_t alerts_open = 0;  // read from the database
  int64_t ingest_in_flight = 0;
};

class Registry {
 public:
  // Migrates the database to the current schema first.
  static Result<std::unique_ptr<Registry>> Open(std::unique_ptr<store::Database> db,
                                                RegistryOptions options);
  ~Registry();

  store::Database& db();

  // --- tokens -----------------------------------------------------------------------------
  // The first admin token, only while no admin token exists: {"id", "token"} (the secret is
  // shown once and stored only hashed). AlreadyExists otherwise.
  Result<json> InitAdmin();
  // The bearer token (without the "Bearer " prefix) -> the caller; Unauthorized for unknown,
  // revoked or malformed tokens.
  Result<Caller> Authenticate(std::string_view bearer_token);
  // POST /v1/tokens {role, operator?, node?, landmark?, name?} (admin) -> {id, token, role …}
  Result<json> CreateToken(const Caller& c, const json& body);
  Result<json> ListTokens(const Caller& c);                          // GET /v1/tokens (admin)
  Result<json> RevokeToken(const Caller& c, const std::string& id);  // DELETE /v1/tokens/{id}
  Result<json> WhoAmI(const Caller& c);                              // GET /v1/whoami (any)

  // --- operators, landmarks, sites, licences ----------------------------------------------
  // POST /v1/operators {id, name} (admin); GET list (admin, auditor; operator: itself)
  Result<json> CreateOperator(const Caller& c, const json& body);
  Result<json> ListOperators(const Caller& c);
  // POST /v1/landmarks {id, operator, lat, lon, country, public_key, address} (admin)
  // GET /v1/landmarks (every role); GET /v1/landmarks/{id}
  // POST /v1/landmarks/{id}/clear {comment} (admin): lifts a quarantine
  // POST /v1/landmarks/{id}/crosschecks {receipts: [receipt …]} (landmark {id} itself, admin):
  //   receipts signed by another landmark about this one -> {accepted, contradictions, quarantined}
  Result<json> CreateLandmark(const Caller& c, const json& body);
  Result<json> ListLandmarks(const Caller& c, const Query& q);
  Result<json> GetLandmark(const Caller& c, const std::string& id);
  Result<json> ClearLandmark(const Caller& c, const std::string& id, const json& body);
  Result<json> SubmitCrosschecks(const Caller& c, const std::string& id, const json& body);
  // POST /v1/sites {id, operator, name, lat, lon, country, licensed: [CC …]} (admin, operator
  // for itself); GET /v1/sites; GET /v1/sites/{id}
  Result<json> CreateSite(const Caller& c, const json& body);
  Result<json> ListSites(const Caller& c, const Query& q);
  Result<json> GetSite(const Caller& c, const std::string& id);
  // POST /v1/licences {id, operator, site, countries: [CC …], models: [..] (empty: all),
  //   valid_from, valid_until (RFC 3339)} (admin); GET /v1/licences; GET /v1/licences/{id}
  Result<json> CreateLicence(const Caller& c, const json& body);
  Result<json> ListLicences(const Caller& c, const Query& q);
  Result<json> GetLicence(const Caller& c, const std::string& id);

  // --- nodes and chips ----------------------------------------------------------------------
  // POST /v1/enrolments {site, expires_in_s?} (admin, operator of the site) -> {token, expires_at}
  Result<json> CreateEnrolment(const Caller& c, const json& body);
  // POST /v1/nodes — authenticated by the single-use enrolment token itself (no Caller):
  //   {enrolment_token, public_key, name?, key_binding?, gpus: [{uuid, serial, model}]}
  //   -> {node: {...}, token} (the agent token, shown once)
  Result<json> EnrolNode(const json& body);
  Result<json> ListNodes(const Caller& c, const Query& q);       // GET /v1/nodes
  Result<json> GetNode(const Caller& c, const std::string& id);  // GET /v1/nodes/{id}
  // GET /v1/nodes/{id}/plan (agent of the node, admin, operator, auditor): the landmarks to
  // measure, best first: [{id, address, public_key, lat, lon, max_rtt_ms_to_verify, …}]
  Result<json> PlanNode(const Caller& c, const std::string& id, const Query& q);
  Result<json> ListChips(const Caller& c, const Query& q);           // GET /v1/chips
  Result<json> GetChip(const Caller& c, const std::string& id);      // GET /v1/chips/{id}
  Result<json> ChipVerdicts(const Caller& c, const std::string& id,  // GET /v1/chips/{id}/verdicts
                            const Query& q);

  // --- attestations -------------------------------------------------------------------------
  // POST /v1/attestations {node, gpus: [uuid …], receipts: [receipt object …]} (agent of the
  // node) -> {id, verdicts: [{chip, kind, …}], alerts: [...]}. Refused whole (nothing stored)
  // when any receipt is malformed, replayed, unsigned by a registered active landmark, or about
  // another key or GPU set.
  Result<json> SubmitAttestation(const Caller& c, const json& body);
  Result<json> GetAttestation(const Caller& c, const std::string& id);  // GET /v1/attestations/{id}

  // --- alerts and fleet ---------------------------------------------------------------------
  // GET /v1/alerts?status=open|acknowledged|resolved&kind=&site=&node=&chip=&landmark=&limit=
  Result<json> ListAlerts(const Caller& c, const Query& q);
  Result<json> GetAlert(const Caller& c, const std::string& id);
  Result<json> AcknowledgeAlert(const Caller& c, const std::string& id, const json& body);
  Result<json> ResolveAlert(const Caller& c, const std::string& id, const json& body);  // {comment}
  // GET /v1/fleet/sites, /v1/fleet/operators: chips by latest verdict, stale, open alerts
  Result<json> FleetBySite(const Caller& c);
  Result<json> FleetByOperator(const Caller& c);

  // --- background ---------------------------------------------------------------------------
  // Raises `stale` and persistent-`inconclusive` alerts as of now; returns how many were raised.
  // The server calls it every few seconds.
  Result<int> Sweep();

  // --- transparency log ---------------------------------------------------------------------
  tlog::Log* transparency_log();  // null unless RegistryOptions::log was set
  // GET /v1/log/proof/inclusion?index=I&size=S and /v1/log/proof/consistency?from=A&to=B: proofs
  // against exactly the tree size asked for, hashes in base64.
  Result<json> LogInclusionProof(const Caller& c, const Query& q);
  Result<json> LogConsistencyProof(const Caller& c, const Query& q);
  RegistryMetrics Metrics();

  // --- restricted-party screening (registry/screening.cc; docs/screening.md) ----------------
  // Admin and operator. Screens against the lists stored by `custodian screen import`, with a
  // screener built from them on first use and rebuilt when they change (never a half-built
  // one), and records every decision (screen/list_store.h, channel "api", actor
  // "token:<token id>") with its transparency-log entry before answering. AlreadyExists (HTTP
  // 409) "no restricted-party lists imported" while the database holds none.
  // 1..kMaxScreenQueries queries; results in input order. A query the screener refuses (empty
  // name, unknown country) comes back with a non-OK status and is not recorded.
  static constexpr size_t kMaxScreenQueries = 1000;
  Result<std::vector<screen::ScreenResult>> Screen(const Caller& c,
                                                   const std::vector<screen::ScreenQuery>& queries);
  // GET /v1/screen?name=&country=&type=&limit= -> ResultToJson + decision_id; a refused query
  // is 400 naming the parameter.
  Result<json> ScreenName(const Caller& c, const Query& q);
  // POST /v1/screen {"queries": [{id?, name, country?, type?, limit?} …]} (1..1000)
  //   -> {"results": [ResultToJson + decision_id …]}; a refused query is {"query", "error"}
  //   in its place (the others are still screened and recorded).
  Result<json> ScreenNames(const Caller& c, const json& body);

 private:
  class Impl;
  class Screening;  // registry/screening.cc: the screener over the stored lists
  static std::shared_ptr<Screening> MakeScreening();
  explicit Registry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  const std::shared_ptr<Screening> screening_ = MakeScreening();
};

}  // namespace custodian::registry
