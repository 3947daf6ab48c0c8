// Restricted-party screening over the API: GET and POST /v1/screen (docs/api.md, "Screening").
//
// The registry keeps one Screener (screen/screener.h) built from the lists in the database.
// Each call reads the screen_lists rows (a few rows: list id, sha256, imported_ms) and compares
// them with those the current screener was built from; when they differ, one caller rebuilds
// (under build_mu_) while the others wait for it, and the new screener replaces the old one
// only once it is complete, so a request never sees a half-built index. Every decision is
// recorded with RecordDecisions (channel "api", actor "token:<id>") before it is returned.
#include <algorithm>
#include <charconv>
#include <mutex>

#include "registry/internal.h"
#include "screen/list_store.h"

namespace custodian::registry {

namespace {

// What a screener was built from: every stored list's id, content hash and import time.
std::string Fingerprint(const std::vector<screen::ListInfo>& lists) {
  std::string fp;
  for (const auto& l : lists) {
    fp += l.list_id + "\n" + l.sha256 + "\n" + std::to_string(l.imported_ms) + "\n";
  }
  return fp;
}

Status NoLists() {
  return Status::AlreadyExists(
      "no restricted-party lists imported (custodian screen import --db … loads them)");
}

// Screening a batch uses a few threads, not every core: the server answers other requests too.
size_t ThreadsFor(size_t queries) {
  return std::clamp<size_t>(queries / 100, 1, 4);
}

struct Screened {
  std::vector<screen::ScreenResult> results;
  std::vector<int64_t> decision_ids;  // 0 for a refused query
};

}  // namespace

class Registry::Screening {
 public:
  struct Built {
    std::string fingerprint;
    std::vector<screen::ListInfo> lists;
    std::unique_ptr<screen::Screener> screener;
  };

  // The screener for the lists stored now.
  Result<std::shared_ptr<const Built>> Current(store::Database& db) {
    auto lists = screen::LoadListInfos(db);
    if (!lists.ok()) return lists.status();
    if (lists->empty()) return NoLists();
    std::string fp = Fingerprint(*lists);
    if (auto built = Cached(fp)) return built;

    std::lock_guard<std::mutex> build_lock(build_mu_);
    if (auto built = Cached(fp)) return built;  // another request built it meanwhile
    // The entities are read in a transaction of their own: if an import lands in between,
    // read again (the fingerprint must describe what was indexed; at worst it is stale and the
    // next call rebuilds).
    std::vector<screen::ListEntity> entities;
    for (int attempt = 0;; ++attempt) {
      auto loaded = screen::LoadEntities(db);
      if (!loaded.ok()) return loaded.status();
      auto after = screen::LoadListInfos(db);
      if (!after.ok()) return after.status();
      if (after->empty()) return NoLists();
      std::string after_fp = Fingerprint(*after);
      entities = std::move(*loaded);
      if (after_fp == fp || attempt == 2) break;
      fp = std::move(after_fp);
      lists = std::move(after);
    }
    auto screener = screen::Screener::Build(std::move(entities));
    if (!screener.ok()) return screener.status().WithContext("building the screening index");
    auto built = std::make_shared<Built>();
    built->fingerprint = fp;
    built->lists = std::move(*lists);
    built->screener = std::move(*screener);
    std::lock_guard<std::mutex> lock(mu_);
    current_ = built;
    return std::shared_ptr<const Built>(built);
  }

  // Screens against the current lists and records every decision; shared by the three entry
  // points below.
  Result<Screened> ScreenAndRecord(store::Database& db, const Caller& c,
                                   const std::vector<screen::ScreenQuery>& queries) {
    auto built = Current(db);
    if (!built.ok()) return built.status();
    const screen::Screener& screener = *(*built)->screener;
    Screened out;
    if (queries.size() == 1) {
      out.results.push_back(screener.Screen(queries.front()));
    } else {
      out.results = screener.ScreenBatch(queries, ThreadsFor(queries.size()));
    }
    screen::DecisionContext context{"token:" + c.token_id, "api"};
    auto ids = screen::RecordDecisions(db, out.results, (*built)->lists, context);
    if (!ids.ok()) return ids.status().WithContext("recording screening decisions");
    out.decision_ids = std::move(*ids);
    return out;
  }

 private:
  std::shared_ptr<const Built> Cached(const std::string& fp) {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ && current_->fingerprint == fp) return current_;
    return nullptr;
  }

  std::mutex build_mu_;  // one build at a time
  std::mutex mu_;        // guards current_
  std::shared_ptr<const Built> current_;
};

std::shared_ptr<Registry::Screening> Registry::MakeScreening() {
  return std::make_shared<Screening>();
}

Result<std::vector<screen::ScreenResult>> Registry::Screen(
    const Caller& c, const std::vector<screen::ScreenQuery>& queries) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kOperator}));
  if (queries.empty() || queries.size() > kMaxScreenQueries) {
    return Status::InvalidInput("queries: must hold 1.." + std::to_string(kMaxScreenQueries) +
                                " queries, got " + std::to_string(queries.size()));
  }
  auto screened = screening_->ScreenAndRecord(*impl_->db, c, queries);
  if (!screened.ok()) return screened.status();
  return std::move(screened->results);
}

namespace {

json WithDecisionId(const screen::ScreenResult& r, int64_t id) {
  json j = screen::ResultToJson(r);
  if (r.status.ok()) j["decision_id"] = id;
  return j;
}

// The screener names the query field at fault ("country: unknown country \"XX\"").
Status Prefixed(const std::string& prefix, const Status& s) {
  return Status::InvalidInput(prefix + s.message());
}

}  // namespace

Result<json> Registry::ScreenName(const Caller& c, const Query& q) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"name", "country", "type", "limit"}));
  screen::ScreenQuery query;
  auto name = q.find("name");
  if (name == q.end()) return Status::InvalidInput("query.name: required");
  query.name = name->second;
  if (auto it = q.find("country"); it != q.end()) query.country = it->second;
  if (auto it = q.find("type"); it != q.end()) {
    auto schema = screen::ParseSchema(it->second);
    if (!schema.ok()) return Prefixed("query.", schema.status());
    query.schema = *schema;
  }
  auto limit = QueryLimit(q, 5, 100);
  if (!limit.ok()) return limit.status();
  query.limit = size_t(*limit);
  auto screened = screening_->ScreenAndRecord(*impl_->db, c, {query});
  if (!screened.ok()) return screened.status();
  const screen::ScreenResult& r = screened->results.front();
  if (!r.status.ok()) return Prefixed("query.", r.status);
  return WithDecisionId(r, screened->decision_ids.front());
}

namespace {

// body.queries[i] -> a query; InvalidInput naming the field.
Result<screen::ScreenQuery> QueryFromJson(const json& item, size_t i) {
  const std::string at = "body.queries[" + std::to_string(i) + "]";
  if (!item.is_object()) return Status::InvalidInput(at + ": must be an object");
  screen::ScreenQuery q;
  for (const auto& [key, value] : item.items()) {
    const std::string field = at + "." + key;
    if (key == "limit") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 100) {
        return Status::InvalidInput(field + ": must be an integer in [1, 100]");
      }
      q.limit = size_t(value.get<int64_t>());
      continue;
    }
    if (key != "id" && key != "name" && key != "country" && key != "type") {
      return Status::InvalidInput(field + ": unknown field");
    }
    if (!value.is_string()) return Status::InvalidInput(field + ": must be a string");
    const std::string& s = value.get_ref<const std::string&>();
    const size_t max = key == "name" ? 4096 : key == "id" ? 256 : 128;
    if (s.size() > max) {
      return Status::InvalidInput(field + ": longer than " + std::to_string(max) + " bytes");
    }
    if (key == "id") {
      q.id = s;
    } else if (key == "name") {
      q.name = s;
    } else if (key == "country") {
      q.country = s;
    } else {
      auto schema = screen::ParseSchema(s);
      if (!schema.ok()) return Prefixed(at + ".", schema.status());
      q.schema = *schema;
    }
  }
  if (!item.contains("name")) return Status::InvalidInput(at + ".name: required");
  return q;
}

}  // namespace

Result<json> Registry::ScreenNames(const Caller& c, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin, Role::kOperator}));
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(body, {"queries"}));
  auto it = body.find("queries");
  if (it == body.end()) return Bad("queries", "required");
  if (!it->is_array()) return Bad("queries", "must be an array");
  if (it->empty() || it->size() > kMaxScreenQueries) {
    return Bad("queries", "must hold 1.." + std::to_string(kMaxScreenQueries) + " queries, got " +
                              std::to_string(it->size()));
  }
  std::vector<screen::ScreenQuery> queries;
  queries.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    auto q = QueryFromJson((*it)[i], i);
    if (!q.ok()) return q.status();
    queries.push_back(std::move(*q));
  }
  auto screened = screening_->ScreenAndRecord(*impl_->db, c, queries);
  if (!screened.ok()) return screened.status();
  json results = json::array();
  for (size_t i = 0; i < screened->results.size(); ++i) {
    results.push_back(WithDecisionId(screened->results[i], screened->decision_ids[i]));
  }
  return json{{"results", std::move(results)}};
}

}  // namespace custodian::registry
