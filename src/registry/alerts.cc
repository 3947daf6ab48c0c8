// Alerts (list, acknowledge, resolve), the fleet summary, and the sweep that raises `stale`
// and persistent-`inconclusive` alerts.
#include <charconv>

#include "core/canonical_json.h"
#include "registry/internal.h"

namespace custodian::registry {
namespace {

constexpr const char* kAlertColumns =
    "id, kind, status, operator_id, site_id, node_id, chip_id, landmark_id, reason, numbers, "
    "evidence, first_ms, last_ms, count, acknowledged_by, acknowledged_ms, resolved_by, "
    "resolved_ms, comment";

json NullableText(const store::Row& r, size_t i) {
  return r.IsNull(i) ? json() : json(r.Text(i));
}

json AlertJson(const store::Row& r) {
  auto numbers = ParseJson(r.Text(9));
  auto evidence = ParseJson(r.Text(10));
  return {{"id", r.Int(0)},
          {"kind", r.Text(1)},
          {"status", r.Text(2)},
          {"operator", NullableText(r, 3)},
          {"site", NullableText(r, 4)},
          {"node", NullableText(r, 5)},
          {"chip", NullableText(r, 6)},
          {"landmark", NullableText(r, 7)},
          {"reason", r.Text(8)},
          {"numbers", numbers.ok() ? *numbers : json()},
          {"evidence", evidence.ok() ? *evidence : json()},
          {"first_seen", MsOrNull(r, 11)},
          {"last_seen", MsOrNull(r, 12)},
          {"count", r.Int(13)},
          {"acknowledged_by", NullableText(r, 14)},
          {"acknowledged_at", MsOrNull(r, 15)},
          {"resolved_by", NullableText(r, 16)},
          {"resolved_at", MsOrNull(r, 17)},
          {"comment", NullableText(r, 18)}};
}

Result<int64_t> ParseAlertId(const std::string& id) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
  if (ec != std::errc() || ptr != id.data() + id.size() || v < 1) {
    return Status::NotFound("alert \"" + id + "\" not found");
  }
  return v;
}

// Operators see alerts about their own fleet; landmark alerts (no operator) are for admins and
// auditors.
Status CheckAlertScope(const Caller& c, const store::Row& r) {
  if (SeesEverything(c)) return Status::Ok();
  if (c.role == Role::kOperator && !r.IsNull(3) && r.Text(3) == c.operator_id) {
    return Status::Ok();
  }
  return Status::PermissionDenied("alert " + r.Text(0) + " is not about this operator's fleet");
}

}  // namespace

Result<json> Registry::ListAlerts(const Caller& c, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(
      CheckQuery(q, {"status", "kind", "site", "node", "chip", "landmark", "operator", "limit"}));
  auto limit = QueryLimit(q, 500, 10000);
  if (!limit.ok()) return limit.status();
  if (q.count("status")) {
    const std::string& s = q.at("status");
    if (s != "open" && s != "acknowledged" && s != "resolved" && s != "unresolved") {
      return Status::InvalidInput(
          "query.status: must be open, acknowledged, resolved or unresolved");
    }
  }
  json out;
  Status s = impl_->db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    std::vector<Value> params;
    std::string where = " WHERE 1 = 1";
    if (c.role == Role::kOperator) {
      where += " AND operator_id = ?";
      params.push_back(c.operator_id);
    }
    if (q.count("status")) {
      if (q.at("status") == "unresolved") {
        where += " AND status <> 'resolved'";
      } else {
        where += " AND status = ?";
        params.push_back(q.at("status"));
      }
    }
    for (const char* key : {"kind"}) {
      if (q.count(key)) {
        where += std::string(" AND ") + key + " = ?";
        params.push_back(q.at(key));
      }
    }
    for (const char* key : {"site", "node", "chip", "landmark", "operator"}) {
      if (q.count(key)) {
        where += std::string(" AND ") + key + "_id = ?";
        params.push_back(q.at(key));
      }
    }
    params.push_back(*limit);
    auto rows = tx.Query(std::string("SELECT ") + kAlertColumns + " FROM alerts" + where +
                             " ORDER BY id DESC LIMIT ?",
                         params);
    if (!rows.ok()) return rows.status();
    out = {{"alerts", json::array()}};
    for (const auto& r : *rows) out["alerts"].push_back(AlertJson(r));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<json> Registry::GetAlert(const Caller& c, const std::string& id) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  auto numeric = ParseAlertId(id);
  if (!numeric.ok()) return numeric.status();
  json out;
  Status s = impl_->db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    auto rows =
        tx.Query(std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE id = ?", {*numeric});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("alert " + id + " not found");
    CUSTODIAN_RETURN_IF_ERROR(CheckAlertScope(c, (*rows)[0]));
    out = AlertJson((*rows)[0]);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

// Acknowledge: open -> acknowledged. Resolve: open|acknowledged -> resolved, with a comment.
Result<json> ChangeAlert(store::Database& db, const Caller& c, const std::string& id,
                         const json& body, bool resolve) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(body, {"comment"}));
  auto comment =
      resolve ? GetText(body, "comment", 2000) : GetText(body, "comment", 2000, std::string());
  if (!comment.ok()) return comment.status();
  if (resolve && comment->empty()) return Bad("comment", "must say why the alert is resolved");
  auto numeric = ParseAlertId(id);
  if (!numeric.ok()) return numeric.status();
  json out;
  Status s = db.InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    auto rows =
        tx.Query(std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE id = ?", {*numeric});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("alert " + id + " not found");
    CUSTODIAN_RETURN_IF_ERROR(CheckAlertScope(c, (*rows)[0]));
    std::string status = (*rows)[0].Text(2);
    int64_t now = NowMs();
    if (status == "resolved") return Status::FailedCheck("alert " + id + " is resolved already");
    if (resolve) {
      CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
          "UPDATE alerts SET status = 'resolved', resolved_by = ?, resolved_ms = ?, comment = ? "
          "WHERE id = ?",
          {c.token_id, now, *comment, *numeric}));
    } else {
      if (status != "open")
        return Status::FailedCheck("alert " + id + " is " + status + " already");
      CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
          "UPDATE alerts SET status = 'acknowledged', acknowledged_by = ?, acknowledged_ms = ?, "
          "comment = CASE WHEN ? = '' THEN comment ELSE ? END WHERE id = ?",
          {c.token_id, now, *comment, *comment, *numeric}));
    }
    auto after =
        tx.Query(std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE id = ?", {*numeric});
    if (!after.ok()) return after.status();
    out = AlertJson((*after)[0]);
    return LogEntry(tx, "alert",
                    {{"alert", *numeric},
                     {"status", resolve ? "resolved" : "acknowledged"},
                     {"by_token", c.token_id},
                     {"comment", *comment}});
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

Result<json> Registry::AcknowledgeAlert(const Caller& c, const std::string& id, const json& body) {
  return ChangeAlert(*impl_->db, c, id, body, false);
}

Result<json> Registry::ResolveAlert(const Caller& c, const std::string& id, const json& body) {
  return ChangeAlert(*impl_->db, c, id, body, true);
}

namespace {

// Chips by their latest verdict, grouped by `group_column` (site_id or operator_id). A chip
// whose latest verdict is older than the stale window counts as stale, whatever it said.
Result<json> Fleet(store::Database& db, const Caller& c, const char* group_column,
                   const char* group_name, int64_t stale_after_s) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kAuditor, Role::kOperator}));
  json out;
  Status s = db.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    int64_t fresh_after = NowMs() - stale_after_s * 1000;
    std::vector<Value> params = {fresh_after, fresh_after, fresh_after, fresh_after};
    std::string scope;
    if (c.role == Role::kOperator) {
      scope = " WHERE operator_id = ?";
      params.push_back(c.operator_id);
    }
    std::string g = group_column;
    auto rows = tx.Query(
        "SELECT " + g +
            ", MIN(operator_id), COUNT(*), "
            "SUM(CASE WHEN last_kind = 'verified' AND last_verdict_ms >= ? THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN last_kind = 'inconclusive' AND last_verdict_ms >= ? THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN last_kind = 'violation' AND last_verdict_ms >= ? THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN last_verdict_ms < ? THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN last_verdict_ms IS NULL THEN 1 ELSE 0 END) "
            "FROM chips" +
            scope + " GROUP BY " + g + " ORDER BY " + g,
        params);
    if (!rows.ok()) return rows.status();
    std::vector<Value> alert_params;
    std::string alert_scope = " WHERE status <> 'resolved'";
    if (c.role == Role::kOperator) {
      alert_scope += " AND operator_id = ?";
      alert_params.push_back(c.operator_id);
    }
    auto alerts = tx.Query("SELECT " + g + ", COUNT(*) FROM alerts" + alert_scope + " AND " + g +
                               " IS NOT NULL GROUP BY " + g,
                           alert_params);
    if (!alerts.ok()) return alerts.status();
    std::map<std::string, int64_t> open;
    for (const auto& a : *alerts) open[a.Text(0)] = a.Int(1);
    json list = json::array();
    json totals = {{"chips", 0}, {"verified", 0}, {"inconclusive", 0}, {"violation", 0},
                   {"stale", 0}, {"never", 0},    {"alerts_open", 0}};
    for (const auto& r : *rows) {
      json item = {{group_name, r.Text(0)}, {"chips", r.Int(2)},
                   {"verified", r.Int(3)},  {"inconclusive", r.Int(4)},
                   {"violation", r.Int(5)}, {"stale", r.Int(6)},
                   {"never", r.Int(7)},     {"alerts_open", open[r.Text(0)]}};
      if (std::string(group_name) == "site") item["operator"] = r.Text(1);
      for (auto& [key, value] : totals.items())
        value = value.get<int64_t>() + item[key].get<int64_t>();
      list.push_back(item);
    }
    out = {{std::string(group_name) + "s", list}, {"totals", totals}};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

Result<json> Registry::FleetBySite(const Caller& c) {
  return Fleet(*impl_->db, c, "site_id", "site", impl_->options.stale_after_s);
}

Result<json> Registry::FleetByOperator(const Caller& c) {
  return Fleet(*impl_->db, c, "operator_id", "operator", impl_->options.stale_after_s);
}

Result<int> Registry::Sweep() {
  int raised = 0;
  const RegistryOptions& o = impl_->options;
  Status s = impl_->db->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    raised = 0;
    int64_t now = NowMs();
    // Dark nodes: no attestation within the window (counting from enrolment for new nodes),
    // and no open stale alert for them yet.
    auto dark = tx.Query(
        "SELECT id, operator_id, site_id, COALESCE(last_attestation_ms, enrolled_ms), "
        "last_attestation_ms, gpus FROM nodes WHERE COALESCE(last_attestation_ms, enrolled_ms) "
        "< ? AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.dedup_key = 'stale:node:' || "
        "nodes.id AND a.status <> 'resolved')",
        {now - o.stale_after_s * 1000});
    if (!dark.ok()) return dark.status();
    for (const auto& r : *dark) {
      AlertSpec a;
      a.kind = "stale";
      a.dedup_key = "stale:node:" + r.Text(0);
      a.operator_id = r.Text(1);
      a.site_id = r.Text(2);
      a.node_id = r.Text(0);
      double silent_s = double(now - r.Int(3)) / 1000.0;
      char text[256];
      std::snprintf(text, sizeof text,
                    "node %s has not attested for %.0f s (the window is %lld s): its chips are "
                    "dark",
                    r.Text(0).c_str(), silent_s, static_cast<long long>(o.stale_after_s));
      a.reason = text;
      a.numbers = {{"silent_s", silent_s}, {"stale_after_s", o.stale_after_s}};
      a.evidence = {{"last_attestation_at", MsOrNull(r, 4)}, {"chips", ListJson(r.Text(5))}};
      auto id = RaiseAlert(tx, a, now);
      if (!id.ok()) return id.status();
      ++raised;
    }
    // Inconclusive for longer than the window.
    auto stuck = tx.Query(
        "SELECT node_id, MIN(operator_id), MIN(site_id), MIN(inconclusive_since_ms), COUNT(*) "
        "FROM chips WHERE inconclusive_since_ms < ? AND NOT EXISTS (SELECT 1 FROM alerts a "
        "WHERE a.dedup_key = 'inconclusive:node:' || chips.node_id AND a.status <> 'resolved') "
        "GROUP BY node_id",
        {now - o.inconclusive_window_s * 1000});
    if (!stuck.ok()) return stuck.status();
    for (const auto& r : *stuck) {
      AlertSpec a;
      a.kind = "inconclusive";
      a.dedup_key = "inconclusive:node:" + r.Text(0);
      a.operator_id = r.Text(1);
      a.site_id = r.Text(2);
      a.node_id = r.Text(0);
      double since_s = double(now - r.Int(3)) / 1000.0;
      char text[256];
      std::snprintf(text, sizeof text,
                    "node %s has been inconclusive for %.0f s (the window is %lld s): its "
                    "location cannot be proven",
                    r.Text(0).c_str(), since_s, static_cast<long long>(o.inconclusive_window_s));
      a.reason = text;
      a.numbers = {{"inconclusive_for_s", since_s},
                   {"inconclusive_window_s", o.inconclusive_window_s},
                   {"chips", r.Int(4)}};
      a.evidence = {{"inconclusive_since", FormatMs(r.Int(3))}};
      auto id = RaiseAlert(tx, a, now);
      if (!id.ok()) return id.status();
      ++raised;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return raised;
}

}  // namespace custodian::registry
