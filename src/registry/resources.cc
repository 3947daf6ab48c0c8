// Operators, landmarks, sites, licences, enrolment, nodes and chips.
#include <algorithm>
#include <charconv>

#include "core/bytes.h"
#include "core/crypto.h"
#include "geo/plan.h"
#include "proto/wire.h"
#include "registry/internal.h"

namespace custodian::registry {
namespace {

// Runs a read transaction that fills `out`.
Result<json> Read(store::Database& db, const std::function<Status(Transaction&, json&)>& fn) {
  json out;
  Status s = db.InTransaction(TxMode::kRead, [&](Transaction& tx) {
    out = json();
    return fn(tx, out);
  });
  if (!s.ok()) return s;
  return out;
}

Result<json> Write(store::Database& db, const std::function<Status(Transaction&, json&)>& fn) {
  json out;
  Status s = db.InTransaction(TxMode::kWrite, [&](Transaction& tx) {
    out = json();
    return fn(tx, out);
  });
  if (!s.ok()) return s;
  return out;
}

Status MustExist(Transaction& tx, const char* table, const std::string& id, const char* field) {
  auto rows = tx.Query(std::string("SELECT 1 FROM ") + table + " WHERE id = ?", {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status::NotFound(std::string("body.") + field + ": no such " + field + " \"" + id +
                            "\"");
  }
  return Status::Ok();
}

// "operator" scope filter for list queries: admins and auditors see all.
std::string ScopeClause(const Caller& c, std::vector<Value>& params, const char* column) {
  if (c.role == Role::kOperator) {
    params.push_back(c.operator_id);
    return std::string(" AND ") + column + " = ?";
  }
  return "";
}

// --- operators -----------------------------------------------------------------------------

json OperatorJson(const store::Row& r) {
  return {{"id", r.Text(0)}, {"name", r.Text(1)}, {"created_at", MsOrNull(r, 2)}};
}

// --- landmarks -----------------------------------------------------------------------------

constexpr const char* kLandmarkColumns =
    "id, operator_id, lat, lon, country, public_key, address, status, status_reason, "
    "status_changed_ms, created_ms";

json LandmarkJson(const store::Row& r) {
  return {{"id", r.Text(0)},
          {"operator", r.Text(1)},
          {"lat", r.Real(2)},
          {"lon", r.Real(3)},
          {"country", r.Text(4)},
          {"public_key", r.Text(5)},
          {"address", r.Text(6)},
          {"status", r.Text(7)},
          {"status_reason", r.Text(8)},
          {"status_changed_at", MsOrNull(r, 9)},
          {"created_at", MsOrNull(r, 10)}};
}

// --- sites, licences -------------------------------------------------------------------------

constexpr const char* kSiteColumns =
    "id, operator_id, name, lat, lon, country, licensed, created_ms";

json SiteJson(const store::Row& r) {
  return {{"id", r.Text(0)},
          {"operator", r.Text(1)},
          {"name", r.Text(2)},
          {"lat", r.Real(3)},
          {"lon", r.Real(4)},
          {"country", r.Text(5)},
          {"licensed", ListJson(r.Text(6))},
          {"created_at", MsOrNull(r, 7)}};
}

constexpr const char* kLicenceColumns =
    "id, operator_id, site_id, countries, models, valid_from_ms, valid_until_ms, created_ms";

json LicenceJson(const store::Row& r, int64_t now_ms) {
  bool valid = r.Int(5) <= now_ms && now_ms < r.Int(6);
  return {{"id", r.Text(0)},
          {"operator", r.Text(1)},
          {"site", r.Text(2)},
          {"countries", ListJson(r.Text(3))},
          {"models", ListJson(r.Text(4))},
          {"valid_from", FormatMs(r.Int(5))},
          {"valid_until", FormatMs(r.Int(6))},
          {"valid_now", valid},
          {"created_at", MsOrNull(r, 7)}};
}

// --- nodes, chips --------------------------------------------------------------------------

constexpr const char* kNodeColumns =
    "id, operator_id, site_id, name, public_key, key_binding, gpus, enrolled_ms, "
    "last_attestation_id, last_attestation_ms, last_kind";

json NodeJson(const store::Row& r) {
  return {{"id", r.Text(0)},
          {"operator", r.Text(1)},
          {"site", r.Text(2)},
          {"name", r.Text(3)},
          {"public_key", r.Text(4)},
          {"key_binding", r.Text(5)},
          {"gpus", ListJson(r.Text(6))},
          {"enrolled_at", MsOrNull(r, 7)},
          {"last_attestation", r.IsNull(8) ? json() : json(r.Int(8))},
          {"last_attestation_at", MsOrNull(r, 9)},
          {"last_kind", r.IsNull(10) ? json() : json(r.Text(10))}};
}

constexpr const char* kChipColumns =
    "id, serial, model, node_id, site_id, operator_id, enrolled_ms, last_kind, last_verdict_ms, "
    "last_attestation_id, inconclusive_since_ms";

json ChipJson(const store::Row& r) {
  json latest;
  if (!r.IsNull(7)) {
    latest = {{"kind", r.Text(7)},
              {"at", MsOrNull(r, 8)},
              {"attestation", r.IsNull(9) ? json() : json(r.Int(9))}};
  }
  return {{"id", r.Text(0)},
          {"serial", r.Text(1)},
          {"model", r.Text(2)},
          {"node", r.Text(3)},
          {"site", r.Text(4)},
          {"operator", r.Text(5)},
          {"enrolled_at", MsOrNull(r, 6)},
          {"latest_verdict", latest},
          {"inconclusive_since", MsOrNull(r, 10)}};
}

Status CheckGpuIdentity(const json& gpu, size_t i) {
  std::string field = "gpus[" + std::to_string(i) + "]";
  if (!gpu.is_object()) return Bad(field, "must be an object {uuid, serial, model}");
  for (const auto& [key, value] : gpu.items()) {
    if (key != "uuid" && key != "serial" && key != "model") {
      return Bad(field + "." + key, "unknown field");
    }
    if (!value.is_string() || value.get_ref<const std::string&>().size() > 128) {
      return Bad(field + "." + key, "must be a string of at most 128 bytes");
    }
  }
  if (!gpu.contains("uuid") || gpu["uuid"].get_ref<const std::string&>().size() < 8) {
    return Bad(field + ".uuid", "required (the NVML UUID, \"GPU-…\")");
  }
  return Status::Ok();
}

}  // namespace

// Countries the chips at `site_id` (of `model`, or any model when empty) may be in at `now_ms`:
// the union over valid licences. Empty: no valid licence.
Result<std::set<std::string>> LicensedZone(Transaction& tx, const std::string& site_id,
                                           const std::string& model, int64_t now_ms) {
  auto rows = tx.Query(
      "SELECT countries, models FROM licences WHERE site_id = ? AND valid_from_ms <= ? AND "
      "valid_until_ms > ?",
      {site_id, now_ms, now_ms});
  if (!rows.ok()) return rows.status();
  std::set<std::string> zone;
  for (const auto& row : *rows) {
    auto models = SplitList(row.Text(1));
    if (!model.empty() && !models.empty() && models.count(model) == 0) continue;
    for (const auto& c : SplitList(row.Text(0))) zone.insert(c);
  }
  return zone;
}

Result<json> Registry::CreateOperator(const Caller& c, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin}));
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(body, {"id", "name"}));
  auto id = GetId(body, "id");
  if (!id.ok()) return id.status();
  auto name = GetText(body, "name", 200);
  if (!name.ok()) return name.status();
  return Write(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    int64_t now = NowMs();
    Status s =
        tx.Exec("INSERT INTO operators (id, name, created_ms) VALUES (?, ?, ?)", {*id, *name, now});
    if (s.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("body.id: operator \"" + *id + "\" exists already");
    }
    CUSTODIAN_RETURN_IF_ERROR(s);
    out = {{"id", *id}, {"name", *name}, {"created_at", FormatMs(now)}};
    return Status::Ok();
  });
}

Result<json> Registry::ListOperators(const Caller& c) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    std::vector<Value> params;
    std::string where = " WHERE 1 = 1" + ScopeClause(c, params, "id");
    auto rows =
        tx.Query("SELECT id, name, created_ms FROM operators" + where + " ORDER BY id", params);
    if (!rows.ok()) return rows.status();
    out = {{"operators", json::array()}};
    for (const auto& r : *rows) out["operators"].push_back(OperatorJson(r));
    return Status::Ok();
  });
}

Result<json> Registry::CreateLandmark(const Caller& c, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin}));
  CUSTODIAN_RETURN_IF_ERROR(
      CheckFields(body, {"id", "operator", "lat", "lon", "country", "public_key", "address"}));
  auto id = GetId(body, "id");
  if (!id.ok()) return id.status();
  if (id->size() > 32) return Bad("id", "landmark ids are at most 32 characters");
  auto op = GetId(body, "operator");
  if (!op.ok()) return op.status();
  auto lat = GetNumber(body, "lat", -90, 90);
  if (!lat.ok()) return lat.status();
  auto lon = GetNumber(body, "lon", -180, 180);
  if (!lon.ok()) return lon.status();
  auto country = GetCountry(body, "country");
  if (!country.ok()) return country.status();
  auto key_text = GetText(body, "public_key", 64);
  if (!key_text.ok()) return key_text.status();
  if (!ParsePublicKeyBase64(*key_text).ok()) {
    return Bad("public_key", "must be a base64 Ed25519 public key (32 bytes)");
  }
  auto address = GetText(body, "address", 300);
  if (!address.ok()) return address.status();
  return Write(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    CUSTODIAN_RETURN_IF_ERROR(MustExist(tx, "operators", *op, "operator"));
    int64_t now = NowMs();
    Status s = tx.Exec(
        "INSERT INTO landmarks (id, operator_id, lat, lon, country, public_key, address, status, "
        "status_reason, status_changed_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', "
        "'registered', ?, ?)",
        {*id, *op, *lat, *lon, *country, *key_text, *address, now, now});
    if (s.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("body.id: landmark \"" + *id +
                                   "\" or its public key is registered already");
    }
    CUSTODIAN_RETURN_IF_ERROR(s);
    auto rows =
        tx.Query(std::string("SELECT ") + kLandmarkColumns + " FROM landmarks WHERE id = ?", {*id});
    if (!rows.ok()) return rows.status();
    out = LandmarkJson((*rows)[0]);
    return LogEntry(tx, "landmark", out);
  });
}

Result<json> Registry::ListLandmarks(const Caller& c, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"status"}));
  std::string status = q.count("status") ? q.at("status") : "";
  if (!status.empty() && status != "active" && status != "quarantined") {
    return Status::InvalidInput("query.status: must be active or quarantined");
  }
  (void)c;  // every role may list landmarks: agents and landmarks need their addresses and keys
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    std::vector<Value> params;
    std::string where = " WHERE 1 = 1";
    if (!status.empty()) {
      where += " AND status = ?";
      params.push_back(status);
    }
    auto rows = tx.Query(
        std::string("SELECT ") + kLandmarkColumns + " FROM landmarks" + where + " ORDER BY id",
        params);
    if (!rows.ok()) return rows.status();
    out = {{"landmarks", json::array()}};
    for (const auto& r : *rows) out["landmarks"].push_back(LandmarkJson(r));
    return Status::Ok();
  });
}

Result<json> Registry::GetLandmark(const Caller& c, const std::string& id) {
  (void)c;
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto rows =
        tx.Query(std::string("SELECT ") + kLandmarkColumns + " FROM landmarks WHERE id = ?", {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("landmark \"" + id + "\" not found");
    out = LandmarkJson((*rows)[0]);
    return Status::Ok();
  });
}

Result<json> Registry::ClearLandmark(const Caller& c, const std::string& id, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin}));
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(body, {"comment"}));
  auto comment = GetText(body, "comment", 2000);
  if (!comment.ok()) return comment.status();
  return Write(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    int64_t now = NowMs();
    auto rows = tx.Query("SELECT status FROM landmarks WHERE id = ?", {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("landmark \"" + id + "\" not found");
    if ((*rows)[0].Text(0) != "quarantined") {
      return Status::FailedCheck("landmark \"" + id + "\" is not quarantined");
    }
    CUSTODIAN_RETURN_IF_ERROR(
        tx.Exec("UPDATE landmarks SET status = 'active', status_reason = ?, status_changed_ms = ? "
                "WHERE id = ?",
                {"cleared by token " + c.token_id + ": " + *comment, now, id}));
    // Contradictions seen so far are settled by the admin's decision; new ones count afresh.
    CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
        "UPDATE crosschecks SET contradiction = 2 WHERE contradiction = 1 AND (measured_id = ? "
        "OR measurer_id = ?)",
        {id, id}));
    CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
        "UPDATE alerts SET status = 'resolved', resolved_by = ?, resolved_ms = ?, comment = ? "
        "WHERE kind = 'landmark-quarantined' AND landmark_id = ? AND status <> 'resolved'",
        {c.token_id, now, *comment, id}));
    auto after =
        tx.Query(std::string("SELECT ") + kLandmarkColumns + " FROM landmarks WHERE id = ?", {id});
    if (!after.ok()) return after.status();
    out = LandmarkJson((*after)[0]);
    return LogEntry(tx, "landmark-status", out);
  });
}

Result<json> Registry::CreateSite(const Caller& c, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(
      CheckFields(body, {"id", "operator", "name", "lat", "lon", "country", "licensed"}));
  auto id = GetId(body, "id");
  if (!id.ok()) return id.status();
  auto op = GetId(body, "operator");
  if (!op.ok()) return op.status();
  CUSTODIAN_RETURN_IF_ERROR(CheckOperatorScope(c, *op, "body.operator"));
  auto name = GetText(body, "name", 200, *id);
  if (!name.ok()) return name.status();
  auto lat = GetNumber(body, "lat", -90, 90);
  if (!lat.ok()) return lat.status();
  auto lon = GetNumber(body, "lon", -180, 180);
  if (!lon.ok()) return lon.status();
  auto country = GetCountry(body, "country");
  if (!country.ok()) return country.status();
  auto licensed = GetCountryList(body, "licensed", true);
  if (!licensed.ok()) return licensed.status();
  return Write(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    CUSTODIAN_RETURN_IF_ERROR(MustExist(tx, "operators", *op, "operator"));
    int64_t now = NowMs();
    Status s = tx.Exec(
        "INSERT INTO sites (id, operator_id, name, lat, lon, country, licensed, created_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {*id, *op, *name, *lat, *lon, *country, *licensed, now});
    if (s.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("body.id: site \"" + *id + "\" exists already");
    }
    CUSTODIAN_RETURN_IF_ERROR(s);
    auto rows = tx.Query(std::string("SELECT ") + kSiteColumns + " FROM sites WHERE id = ?", {*id});
    if (!rows.ok()) return rows.status();
    out = SiteJson((*rows)[0]);
    return Status::Ok();
  });
}

Result<json> Registry::ListSites(const Caller& c, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"operator"}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    std::vector<Value> params;
    std::string where = " WHERE 1 = 1" + ScopeClause(c, params, "operator_id");
    if (q.count("operator")) {
      where += " AND operator_id = ?";
      params.push_back(q.at("operator"));
    }
    auto rows = tx.Query(
        std::string("SELECT ") + kSiteColumns + " FROM sites" + where + " ORDER BY id", params);
    if (!rows.ok()) return rows.status();
    out = {{"sites", json::array()}};
    for (const auto& r : *rows) out["sites"].push_back(SiteJson(r));
    return Status::Ok();
  });
}

Result<json> Registry::GetSite(const Caller& c, const std::string& id) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto rows = tx.Query(std::string("SELECT ") + kSiteColumns + " FROM sites WHERE id = ?", {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("site \"" + id + "\" not found");
    CUSTODIAN_RETURN_IF_ERROR(CheckOperatorScope(c, (*rows)[0].Text(1), "site \"" + id + "\""));
    out = SiteJson((*rows)[0]);
    return Status::Ok();
  });
}

Result<json> Registry::CreateLicence(const Caller& c, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin}));
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(
      body, {"id", "operator", "site", "countries", "models", "valid_from", "valid_until"}));
  auto id = GetId(body, "id");
  if (!id.ok()) return id.status();
  auto op = GetId(body, "operator");
  if (!op.ok()) return op.status();
  auto site = GetId(body, "site");
  if (!site.ok()) return site.status();
  auto countries = GetCountryList(body, "countries", false);
  if (!countries.ok()) return countries.status();
  std::string models;
  if (body.contains("models")) {
    const json& m = body["models"];
    if (!m.is_array()) return Bad("models", "must be an array of model names");
    std::set<std::string> set;
    for (size_t i = 0; i < m.size(); ++i) {
      if (!m[i].is_string() || m[i].get_ref<const std::string&>().empty() ||
          m[i].get_ref<const std::string&>().find(',') != std::string::npos) {
        return Bad("models[" + std::to_string(i) + "]", "must be a non-empty string without ','");
      }
      set.insert(m[i].get<std::string>());
    }
    for (const auto& s : set) models += (models.empty() ? "" : ",") + s;
  }
  auto from = GetTimeMs(body, "valid_from");
  if (!from.ok()) return from.status();
  auto until = GetTimeMs(body, "valid_until");
  if (!until.ok()) return until.status();
  if (*until <= *from) return Bad("valid_until", "must be later than valid_from");
  return Write(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    CUSTODIAN_RETURN_IF_ERROR(MustExist(tx, "operators", *op, "operator"));
    auto site_row = tx.Query("SELECT operator_id FROM sites WHERE id = ?", {*site});
    if (!site_row.ok()) return site_row.status();
    if (site_row->empty()) return Status::NotFound("body.site: no such site \"" + *site + "\"");
    if ((*site_row)[0].Text(0) != *op) {
      return Bad("site", "site \"" + *site + "\" belongs to operator \"" + (*site_row)[0].Text(0) +
                             "\", not \"" + *op + "\"");
    }
    int64_t now = NowMs();
    Status s = tx.Exec(
        "INSERT INTO licences (id, operator_id, site_id, countries, models, valid_from_ms, "
        "valid_until_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {*id, *op, *site, *countries, models, *from, *until, now});
    if (s.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("body.id: licence \"" + *id + "\" exists already");
    }
    CUSTODIAN_RETURN_IF_ERROR(s);
    auto rows =
        tx.Query(std::string("SELECT ") + kLicenceColumns + " FROM licences WHERE id = ?", {*id});
    if (!rows.ok()) return rows.status();
    out = LicenceJson((*rows)[0], now);
    return LogEntry(tx, "licence", out);
  });
}

Result<json> Registry::ListLicences(const Caller& c, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"site"}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    std::vector<Value> params;
    std::string where = " WHERE 1 = 1" + ScopeClause(c, params, "operator_id");
    if (q.count("site")) {
      where += " AND site_id = ?";
      params.push_back(q.at("site"));
    }
    auto rows = tx.Query(
        std::string("SELECT ") + kLicenceColumns + " FROM licences" + where + " ORDER BY id",
        params);
    if (!rows.ok()) return rows.status();
    int64_t now = NowMs();
    out = {{"licences", json::array()}};
    for (const auto& r : *rows) out["licences"].push_back(LicenceJson(r, now));
    return Status::Ok();
  });
}

Result<json> Registry::GetLicence(const Caller& c, const std::string& id) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto rows =
        tx.Query(std::string("SELECT ") + kLicenceColumns + " FROM licences WHERE id = ?", {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("licence \"" + id + "\" not found");
    CUSTODIAN_RETURN_IF_ERROR(CheckOperatorScope(c, (*rows)[0].Text(1), "licence \"" + id + "\""));
    out = LicenceJson((*rows)[0], NowMs());
    return Status::Ok();
  });
}

Result<json> Registry::CreateEnrolment(const Caller& c, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(body, {"site", "expires_in_s"}));
  auto site = GetId(body, "site");
  if (!site.ok()) return site.status();
  double expires_in_s = 86400;
  if (body.contains("expires_in_s")) {
    auto v = GetNumber(body, "expires_in_s", 1, 30 * 86400);
    if (!v.ok()) return v.status();
    expires_in_s = *v;
  }
  return Write(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto rows = tx.Query("SELECT operator_id FROM sites WHERE id = ?", {*site});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("body.site: no such site \"" + *site + "\"");
    std::string op = (*rows)[0].Text(0);
    CUSTODIAN_RETURN_IF_ERROR(CheckOperatorScope(c, op, "site \"" + *site + "\""));
    uint8_t id_bytes[6];
    uint8_t secret[32];
    RandomBytes(id_bytes, sizeof id_bytes);
    RandomBytes(secret, sizeof secret);
    std::string id = HexEncode(ByteView(id_bytes, sizeof id_bytes));
    std::string secret_hex = HexEncode(ByteView(secret, sizeof secret));
    int64_t now = NowMs();
    int64_t expires = now + int64_t(expires_in_s * 1000);
    CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO enrolments (id, secret_hash, operator_id, site_id, created_ms, expires_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        {id, HexEncode(Blake2b256(AsBytes(secret_hex))), op, *site, now, expires}));
    out = {{"id", id},
           {"token", "enr_" + id + "_" + secret_hex},
           {"site", *site},
           {"operator", op},
           {"expires_at", FormatMs(expires)}};
    return Status::Ok();
  });
}

Result<json> Registry::EnrolNode(const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(
      CheckFields(body, {"enrolment_token", "public_key", "name", "key_binding", "gpus"}));
  auto token = GetText(body, "enrolment_token", 100);
  if (!token.ok()) return token.status();
  // enr_ + 12 hex + _ + 64 hex
  if (token->size() != 81 || token->substr(0, 4) != "enr_" || (*token)[16] != '_') {
    return Status::Unauthorized("body.enrolment_token: malformed");
  }
  std::string enrol_id = token->substr(4, 12);
  std::string presented = HexEncode(Blake2b256(AsBytes(token->substr(17))));
  auto key_text = GetText(body, "public_key", 64);
  if (!key_text.ok()) return key_text.status();
  auto key = ParsePublicKeyBase64(*key_text);
  if (!key.ok()) return Bad("public_key", "must be a base64 Ed25519 public key (32 bytes)");
  std::string node_id = HexEncode(proto::DeriveNodeId(*key));
  auto name = GetText(body, "name", 200, node_id);
  if (!name.ok()) return name.status();
  auto binding = GetText(body, "key_binding", 32, std::string("software"));
  if (!binding.ok()) return binding.status();
  if (*binding != "software" && *binding != "tpm" && *binding != "gpu-cc" &&
      *binding != "gpu-resident") {
    return Bad("key_binding", "must be software, tpm, gpu-cc or gpu-resident");
  }
  if (!body.contains("gpus") || !body["gpus"].is_array() || body["gpus"].empty() ||
      body["gpus"].size() > 64) {
    return Bad("gpus", "must be an array of 1-64 GPU identities {uuid, serial, model}");
  }
  std::set<std::string> uuids;
  for (size_t i = 0; i < body["gpus"].size(); ++i) {
    CUSTODIAN_RETURN_IF_ERROR(CheckGpuIdentity(body["gpus"][i], i));
    std::string uuid = body["gpus"][i]["uuid"];
    if (uuid.find(',') != std::string::npos) {
      return Bad("gpus[" + std::to_string(i) + "].uuid", "must not contain ','");
    }
    if (!uuids.insert(uuid).second) {
      return Bad("gpus[" + std::to_string(i) + "].uuid", "listed twice");
    }
  }
  std::string gpu_list;
  for (const auto& u : uuids) gpu_list += (gpu_list.empty() ? "" : ",") + u;
  return Write(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto rows = tx.Query(
        "SELECT secret_hash, operator_id, site_id, expires_ms, used_ms FROM enrolments WHERE id = "
        "?",
        {enrol_id});
    if (!rows.ok()) return rows.status();
    std::string stored = rows->empty() ? std::string(64, '0') : (*rows)[0].Text(0);
    if (!ConstantTimeEqual(AsBytes(stored), AsBytes(presented)) || rows->empty()) {
      return Status::Unauthorized("body.enrolment_token: unknown");
    }
    const store::Row& e = (*rows)[0];
    int64_t now = NowMs();
    if (!e.IsNull(4)) return Status::AlreadyExists("body.enrolment_token: used already");
    if (e.Int(3) <= now) return Status::Unauthorized("body.enrolment_token: expired");
    std::string op = e.Text(1), site = e.Text(2);
    auto existing =
        tx.Query("SELECT 1 FROM nodes WHERE id = ? OR public_key = ?", {node_id, *key_text});
    if (!existing.ok()) return existing.status();
    if (!existing->empty()) {
      return Status::AlreadyExists("body.public_key: node " + node_id + " is enrolled already");
    }
    for (size_t i = 0; i < body["gpus"].size(); ++i) {
      const json& g = body["gpus"][i];
      auto other =
          tx.Query("SELECT node_id FROM chips WHERE id = ?", {g["uuid"].get<std::string>()});
      if (!other.ok()) return other.status();
      if (!other->empty()) {
        return Status::AlreadyExists("body.gpus[" + std::to_string(i) +
                                     "].uuid: chip is enrolled on node " + (*other)[0].Text(0));
      }
    }
    CUSTODIAN_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO nodes (id, operator_id, site_id, name, public_key, key_binding, gpus, "
                "enrolled_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                {node_id, op, site, *name, *key_text, *binding, gpu_list, now}));
    for (const json& g : body["gpus"]) {
      CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO chips (id, serial, model, node_id, site_id, operator_id, enrolled_ms) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
          {g["uuid"].get<std::string>(), g.value("serial", std::string()),
           g.value("model", std::string()), node_id, site, op, now}));
    }
    CUSTODIAN_RETURN_IF_ERROR(tx.Exec("UPDATE enrolments SET used_ms = ?, node_id = ? WHERE id = ?",
                                      {now, node_id, enrol_id}));
    auto agent_token = IssueToken(tx, Role::kAgent, "", node_id, "", "agent for " + *name);
    if (!agent_token.ok()) return agent_token.status();
    auto node =
        tx.Query(std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE id = ?", {node_id});
    if (!node.ok()) return node.status();
    out = {{"node", NodeJson((*node)[0])}, {"token", *agent_token}};
    // The token is a secret: the log records the node and its chips only.
    return LogEntry(tx, "enrolment", {{"node", out["node"]}, {"gpus", body["gpus"]}});
  });
}

Result<json> Registry::ListNodes(const Caller& c, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"site", "operator"}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    std::vector<Value> params;
    std::string where = " WHERE 1 = 1" + ScopeClause(c, params, "operator_id");
    for (const char* key : {"site", "operator"}) {
      if (q.count(key)) {
        where += std::string(" AND ") + key + "_id = ?";
        params.push_back(q.at(key));
      }
    }
    auto rows = tx.Query(
        std::string("SELECT ") + kNodeColumns + " FROM nodes" + where + " ORDER BY id", params);
    if (!rows.ok()) return rows.status();
    out = {{"nodes", json::array()}};
    for (const auto& r : *rows) out["nodes"].push_back(NodeJson(r));
    return Status::Ok();
  });
}

namespace {
// Admin/auditor: any node; operator: its own; agent: only itself.
Status CheckNodeAccess(const Caller& c, const std::string& node_id,
                       const std::string& node_operator) {
  if (c.role == Role::kAgent) {
    if (c.node_id == node_id) return Status::Ok();
    return Status::PermissionDenied("agent tokens may only act for their own node");
  }
  if (c.role == Role::kLandmark) return Status::PermissionDenied("role landmark may not do this");
  return CheckOperatorScope(c, node_operator, "node " + node_id);
}
}  // namespace

Result<json> Registry::GetNode(const Caller& c, const std::string& id) {
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto rows = tx.Query(std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE id = ?", {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) {
      CUSTODIAN_RETURN_IF_ERROR(CheckNodeAccess(c, id, ""));
      return Status::NotFound("node \"" + id + "\" not found");
    }
    CUSTODIAN_RETURN_IF_ERROR(CheckNodeAccess(c, id, (*rows)[0].Text(1)));
    out = NodeJson((*rows)[0]);
    return Status::Ok();
  });
}

Result<json> Registry::PlanNode(const Caller& c, const std::string& id, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"interval_s"}));
  int64_t interval_ms = 0;
  if (q.count("interval_s")) {
    int64_t v = 0;
    const std::string& text = q.at("interval_s");
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || v < 1 || v > 86400) {
      return Status::InvalidInput("query.interval_s: must be an integer in [1, 86400]");
    }
    interval_ms = v * 1000;
  }
  std::vector<StoredLandmark> landmarks;
  geo::LatLon site_pos;
  std::string site_id;
  std::set<std::string> zone;
  Status s = impl_->db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    auto rows = tx.Query(
        "SELECT n.operator_id, n.site_id, s.lat, s.lon FROM nodes n JOIN sites s ON s.id = "
        "n.site_id WHERE n.id = ?",
        {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) {
      CUSTODIAN_RETURN_IF_ERROR(CheckNodeAccess(c, id, ""));
      return Status::NotFound("node \"" + id + "\" not found");
    }
    CUSTODIAN_RETURN_IF_ERROR(CheckNodeAccess(c, id, (*rows)[0].Text(0)));
    site_id = (*rows)[0].Text(1);
    site_pos = {(*rows)[0].Real(2), (*rows)[0].Real(3)};
    auto z = LicensedZone(tx, site_id, "", NowMs());
    if (!z.ok()) return z.status();
    zone = *z;
    auto l = LoadLandmarks(tx);
    if (!l.ok()) return l.status();
    landmarks.clear();
    for (auto& lm : *l) {
      if (lm.status == "active") landmarks.push_back(std::move(lm));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  std::vector<geo::TrustedLandmark> trusted;
  for (const auto& l : landmarks) trusted.push_back(l.trusted);
  geo::VerdictEngine* engine = impl_->engine.get();
  // Ranked against restricted territory only: the planner's licensed-zone test treats each
  // licensed country's own border as an edge (it does not merge neighbours or count sea), which
  // would rank useful landmarks near small licensed countries (Singapore) as useless.
  geo::SitePlan plan = geo::PlanSite(*engine, trusted, site_pos, {});
  json rows = json::array();
  for (size_t i : geo::RankPlan(plan)) {
    const geo::PlanRow& row = plan.rows[i];
    const StoredLandmark& l = landmarks[i];
    rows.push_back(
        {{"id", l.trusted.id},
         {"address", l.address},
         {"public_key", Base64Encode(l.trusted.public_key)},
         {"operator", l.trusted.operator_name},
         {"lat", l.trusted.position.lat_deg},
         {"lon", l.trusted.position.lon_deg},
         {"distance_km", row.distance_km},
         {"min_possible_rtt_ms", row.min_possible_rtt_ms},
         {"can_help", row.can_help},
         {"max_rtt_ms_to_verify", row.can_help ? json(row.max_rtt_ms_to_verify) : json()}});
  }
  json out = {{"node", id},
              {"site", site_id},
              {"licensed", zone},
              {"site_margin_km", plan.site_margin_km},
              {"landmarks", rows}};
  if (interval_ms > 0) {
    // Every copy of a node key that follows the plan measures at the same instants, in
    // parallel; so a key copied to a second place answers from two places at once, which the
    // cloned-key check (ingest.cc) can then prove. The per-node offset spreads load.
    int64_t offset = 0;
    for (char ch : id) offset = (offset * 31 + ch) % interval_ms;
    int64_t now = NowMs() + 500;
    int64_t next = now - ((now - offset) % interval_ms + interval_ms) % interval_ms + interval_ms;
    if (next - now >= interval_ms) next -= interval_ms;
    out["measure_at"] = FormatMs(next);
    out["measure_at_ms"] = next;
  }
  return out;
}

Result<json> Registry::ListChips(const Caller& c, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"site", "node", "operator", "kind"}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    std::vector<Value> params;
    std::string where = " WHERE 1 = 1" + ScopeClause(c, params, "operator_id");
    for (const char* key : {"site", "node", "operator"}) {
      if (q.count(key)) {
        where += std::string(" AND ") + key + "_id = ?";
        params.push_back(q.at(key));
      }
    }
    if (q.count("kind")) {
      where += " AND last_kind = ?";
      params.push_back(q.at("kind"));
    }
    auto rows = tx.Query(
        std::string("SELECT ") + kChipColumns + " FROM chips" + where + " ORDER BY id", params);
    if (!rows.ok()) return rows.status();
    out = {{"chips", json::array()}};
    for (const auto& r : *rows) out["chips"].push_back(ChipJson(r));
    return Status::Ok();
  });
}

Result<json> Registry::GetChip(const Caller& c, const std::string& id) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto rows = tx.Query(std::string("SELECT ") + kChipColumns + " FROM chips WHERE id = ?", {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("chip \"" + id + "\" not found");
    CUSTODIAN_RETURN_IF_ERROR(CheckOperatorScope(c, (*rows)[0].Text(5), "chip \"" + id + "\""));
    out = ChipJson((*rows)[0]);
    return Status::Ok();
  });
}

Result<json> Registry::ChipVerdicts(const Caller& c, const std::string& id, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"limit"}));
  auto limit = QueryLimit(q, 100, 10000);
  if (!limit.ok()) return limit.status();
  return Read(*impl_->db, [&](Transaction& tx, json& out) -> Status {
    auto chip = tx.Query("SELECT operator_id FROM chips WHERE id = ?", {id});
    if (!chip.ok()) return chip.status();
    if (chip->empty()) return Status::NotFound("chip \"" + id + "\" not found");
    CUSTODIAN_RETURN_IF_ERROR(CheckOperatorScope(c, (*chip)[0].Text(0), "chip \"" + id + "\""));
    auto rows = tx.Query(
        "SELECT id, attestation_id, kind, at_ms, summary FROM verdicts WHERE chip_id = ? ORDER "
        "BY id DESC LIMIT ?",
        {id, *limit});
    if (!rows.ok()) return rows.status();
    out = {{"chip", id}, {"verdicts", json::array()}};
    for (const auto& r : *rows) {
      out["verdicts"].push_back({{"id", r.Int(0)},
                                 {"attestation", r.Int(1)},
                                 {"kind", r.Text(2)},
                                 {"at", FormatMs(r.Int(3))},
                                 {"summary", r.Text(4)}});
    }
    return Status::Ok();
  });
}

}  // namespace custodian::registry
