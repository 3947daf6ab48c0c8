// Input checks, roles and small helpers shared by the registry's operations.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "core/bytes.h"
#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "registry/internal.h"
#include "tlog/log.h"

namespace custodian::registry {

int64_t NowMs() {
  return RealtimeNs() / 1'000'000;
}

std::string FormatMs(int64_t unix_ms) {
  return FormatUtc(unix_ms * 1'000'000);
}

json MsOrNull(const store::Row& row, size_t i) {
  return row.IsNull(i) ? json() : json(FormatMs(row.Int(i)));
}

Status Bad(const std::string& field, const std::string& problem) {
  return Status::InvalidInput("body." + field + ": " + problem);
}

Status RequireObject(const json& body) {
  if (!body.is_object()) return Status::InvalidInput("body: must be a JSON object");
  return Status::Ok();
}

Status CheckFields(const json& body, const std::set<std::string>& known) {
  CUSTODIAN_RETURN_IF_ERROR(RequireObject(body));
  for (const auto& [key, value] : body.items()) {
    if (known.count(key) == 0) return Bad(key, "unknown field");
  }
  return Status::Ok();
}

namespace {
bool IsIdChar(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '.' || ch == '_' || ch == '-';
}
}  // namespace

Result<std::string> GetId(const json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end()) return Bad(field, "required");
  if (!it->is_string()) return Bad(field, "must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > 64 || !std::all_of(s.begin(), s.end(), IsIdChar)) {
    return Bad(field, "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  }
  return s;
}

Result<std::string> GetText(const json& body, const std::string& field, size_t max_len,
                            std::optional<std::string> default_value) {
  auto it = body.find(field);
  if (it == body.end()) {
    if (default_value) return *default_value;
    return Bad(field, "required");
  }
  if (!it->is_string()) return Bad(field, "must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > max_len) return Bad(field, "longer than " + std::to_string(max_len) + " bytes");
  for (unsigned char ch : s) {
    if (ch < 0x20) return Bad(field, "must not contain control characters");
  }
  return s;
}

Result<double> GetNumber(const json& body, const std::string& field, double min, double max) {
  auto it = body.find(field);
  if (it == body.end()) return Bad(field, "required");
  if (!it->is_number()) return Bad(field, "must be a number");
  double v = it->get<double>();
  if (!(v >= min && v <= max)) {
    std::ostringstream msg;
    msg << "must be a number in [" << min << ", " << max << "], got " << v;
    return Bad(field, msg.str());
  }
  return v;
}

namespace {
bool IsCountryCode(const json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return s.size() == 2 && std::isupper(static_cast<unsigned char>(s[0])) &&
         std::isupper(static_cast<unsigned char>(s[1]));
}
}  // namespace

Result<std::string> GetCountry(const json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end()) return Bad(field, "required");
  if (!IsCountryCode(*it)) return Bad(field, "must be an ISO 3166-1 alpha-2 code like \"SG\"");
  return it->get<std::string>();
}

Result<std::string> GetCountryList(const json& body, const std::string& field, bool allow_empty) {
  auto it = body.find(field);
  if (it == body.end()) {
    if (allow_empty) return std::string();
    return Bad(field, "required");
  }
  if (!it->is_array()) return Bad(field, "must be an array of country codes");
  std::set<std::string> codes;
  for (size_t i = 0; i < it->size(); ++i) {
    if (!IsCountryCode((*it)[i])) {
      return Bad(field + "[" + std::to_string(i) + "]",
                 "must be an ISO 3166-1 alpha-2 code like \"SG\"");
    }
    codes.insert((*it)[i].get<std::string>());
  }
  if (codes.empty() && !allow_empty) return Bad(field, "must not be empty");
  std::string joined;
  for (const auto& c : codes) joined += (joined.empty() ? "" : ",") + c;
  return joined;
}

std::string Placeholders(size_t columns, size_t rows) {
  std::string one;
  for (size_t c = 0; c < columns; ++c) one += c == 0 ? "?" : ", ?";
  if (columns == 1) {
    std::string list;
    for (size_t r = 0; r < rows; ++r) list += r == 0 ? "?" : ", ?";
    return list;
  }
  std::string out;
  for (size_t r = 0; r < rows; ++r) out += (r == 0 ? "(" : ", (") + one + ")";
  return out;
}

std::set<std::string> SplitList(const std::string& joined) {
  std::set<std::string> out;
  std::string item;
  std::istringstream in(joined);
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

json ListJson(const std::string& joined) {
  json out = json::array();
  for (const auto& item : SplitList(joined)) out.push_back(item);
  return out;
}

Result<int64_t> GetTimeMs(const json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end()) return Bad(field, "required");
  if (!it->is_string()) return Bad(field, "must be an RFC 3339 UTC time string");
  auto ns = ParseUtc(it->get<std::string>(), "body." + field);
  if (!ns.ok()) return ns.status();
  return *ns / 1'000'000;
}

Status CheckQuery(const Query& q, const std::set<std::string>& known) {
  for (const auto& [key, value] : q) {
    if (known.count(key) == 0) return Status::InvalidInput("query." + key + ": unknown parameter");
  }
  return Status::Ok();
}

Result<int64_t> QueryLimit(const Query& q, int64_t default_limit, int64_t max_limit) {
  auto it = q.find("limit");
  if (it == q.end()) return default_limit;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size() || v < 1 || v > max_limit) {
    return Status::InvalidInput("query.limit: must be an integer in [1, " +
                                std::to_string(max_limit) + "]");
  }
  return v;
}

Status Allow(const Caller& c, std::initializer_list<Role> roles) {
  for (Role r : roles) {
    if (c.role == r) return Status::Ok();
  }
  return Status::PermissionDenied(std::string("role ") + RoleName(c.role) + " may not do this");
}

bool SeesEverything(const Caller& c) {
  return c.role == Role::kAdmin || c.role == Role::kAuditor;
}

Status CheckOperatorScope(const Caller& c, const std::string& operator_id,
                          const std::string& what) {
  if (SeesEverything(c)) return Status::Ok();
  if (c.role == Role::kOperator && c.operator_id == operator_id) return Status::Ok();
  return Status::PermissionDenied(what + " belongs to another operator");
}

Status LogEntry(Transaction& tx, std::string_view type, const json& record) {
  json entry = record.is_object() ? record : json{{"record", record}};
  entry["type"] = type;
  entry["logged_at"] = FormatMs(NowMs());
  auto text = CanonicalJson(entry);
  if (!text.ok()) return text.status().WithContext("log entry");
  return tlog::AppendEntry(tx, AsBytes(*text));
}

Result<int64_t> RaiseAlert(Transaction& tx, const AlertSpec& spec, int64_t now_ms) {
  auto numbers = CanonicalJson(spec.numbers);
  auto evidence = CanonicalJson(spec.evidence);
  if (!numbers.ok() || !evidence.ok()) return Status::Internal("alert evidence is not JSON");
  auto nullable = [](const std::string& s) { return s.empty() ? Value() : Value(s); };
  auto open = tx.Query("SELECT id FROM alerts WHERE dedup_key = ? AND status <> 'resolved'",
                       {spec.dedup_key});
  if (!open.ok()) return open.status();
  if (!open->empty()) {
    int64_t id = (*open)[0].Int(0);
    CUSTODIAN_RETURN_IF_ERROR(
        tx.Exec("UPDATE alerts SET last_ms = ?, count = count + 1, reason = ?, numbers = ?, "
                "evidence = ? WHERE id = ?",
                {now_ms, spec.reason, *numbers, *evidence, id}));
    return id;
  }
  auto inserted = tx.Query(
      "INSERT INTO alerts (kind, status, dedup_key, operator_id, site_id, node_id, chip_id, "
      "landmark_id, reason, numbers, evidence, first_ms, last_ms, count) "
      "VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id",
      {spec.kind, spec.dedup_key, nullable(spec.operator_id), nullable(spec.site_id),
       nullable(spec.node_id), nullable(spec.chip_id), nullable(spec.landmark_id), spec.reason,
       *numbers, *evidence, now_ms, now_ms});
  if (!inserted.ok()) return inserted.status();
  int64_t id = (*inserted)[0].Int(0);
  json record = {{"alert", id},           {"kind", spec.kind},       {"status", "open"},
                 {"reason", spec.reason}, {"numbers", spec.numbers}, {"evidence", spec.evidence}};
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"operator", &spec.operator_id},
        {"site", &spec.site_id},
        {"node", &spec.node_id},
        {"chip", &spec.chip_id},
        {"landmark", &spec.landmark_id}}) {
    if (!value->empty()) record[field] = *value;
  }
  CUSTODIAN_RETURN_IF_ERROR(LogEntry(tx, "alert", record));
  return id;
}

Result<std::vector<StoredLandmark>> LoadLandmarks(Transaction& tx) {
  auto rows = tx.Query(
      "SELECT id, operator_id, lat, lon, country, public_key, address, status FROM landmarks "
      "ORDER BY id");
  if (!rows.ok()) return rows.status();
  std::vector<StoredLandmark> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    StoredLandmark l;
    l.trusted.id = row.Text(0);
    l.trusted.operator_name = row.Text(1);
    l.trusted.position = {row.Real(2), row.Real(3)};
    l.trusted.country = row.Text(4);
    auto key = ParsePublicKeyBase64(row.Text(5));
    if (!key.ok()) return Status::Corruption("landmarks." + l.trusted.id + ".public_key");
    l.trusted.public_key = *key;
    l.address = row.Text(6);
    l.status = row.Text(7);
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace custodian::registry
