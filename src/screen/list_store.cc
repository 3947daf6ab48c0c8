#include "screen/list_store.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "tlog/log.h"

namespace custodian::screen {

namespace {

using nlohmann::json;
using store::Row;
using store::Transaction;
using store::TxMode;
using store::Value;

// Rows per multi-row INSERT into screen_entities (10 columns): 10,000 parameters, well under
// SQLite's limit of 32,766 host parameters and PostgreSQL's 65,535, while few enough
// statements that 15,000 entities take a handful of round trips.
constexpr size_t kEntityColumns = 10;
constexpr size_t kRowsPerInsert = 1000;

int64_t NowMs() {
  return RealtimeNs() / 1'000'000;
}

// "(?, ?, …), (?, ?, …)": `rows` groups of `columns` placeholders.
std::string Placeholders(size_t columns, size_t rows) {
  std::string one = "(";
  for (size_t c = 0; c < columns; ++c) one += c == 0 ? "?" : ", ?";
  one += ")";
  std::string out;
  out.reserve(rows * (one.size() + 2));
  for (size_t r = 0; r < rows; ++r) {
    if (r != 0) out += ", ";
    out += one;
  }
  return out;
}

bool IsLowerHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Appends `record` + "type" + "logged_at" to the transparency log in `tx`, as canonical JSON
// (the same shape as the registry's entries).
Status AppendLogEntry(Transaction& tx, const std::string& type, json record, int64_t now_ms) {
  record["type"] = type;
  record["logged_at"] = FormatUtc(now_ms * 1'000'000);
  auto text = CanonicalJson(record);
  if (!text.ok()) return text.status().WithContext(type + " log entry");
  return tlog::AppendEntry(tx, AsBytes(*text));
}

Status CheckList(const ImportedList& list) {
  const ListInfo& info = list.info;
  if (info.list_id.empty()) return Status::InvalidInput("list_id: is empty");
  if (info.sha256.size() != 64 || !IsLowerHex(info.sha256)) {
    return Status::InvalidInput("list " + info.list_id +
                                ": sha256: must be 64 lower-case hex digits, got \"" + info.sha256 +
                                "\"");
  }
  for (size_t i = 0; i < list.entities.size(); ++i) {
    const ListEntity& e = list.entities[i];
    const std::string where = "list " + info.list_id + ": entities[" + std::to_string(i) + "]";
    if (e.list_id != info.list_id) {
      return Status::InvalidInput(where + ".list_id: \"" + e.list_id +
                                  "\" differs from the list's");
    }
    if (e.source_id.empty()) return Status::InvalidInput(where + ".source_id: is empty");
    if (e.name.empty()) return Status::InvalidInput(where + ".name: is empty");
  }
  return Status::Ok();
}

// The first source_id given twice, for the error when the primary key refuses it (found only
// then: the common case pays nothing for it).
std::string DuplicateSourceId(const std::vector<ListEntity>& entities) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < entities.size(); ++i) {
    auto [it, inserted] = seen.emplace(entities[i].source_id, i);
    if (!inserted) {
      return "source_id \"" + entities[i].source_id + "\" is given twice (entities[" +
             std::to_string(it->second) + "] and entities[" + std::to_string(i) + "])";
    }
  }
  return "";
}

ListInfo InfoFromRow(const Row& row) {
  ListInfo info;
  info.list_id = row.Text(0);
  info.format = row.Text(1);
  info.version = row.Text(2);
  info.source = row.Text(3);
  info.sha256 = row.Text(4);
  info.imported_ms = row.Int(5);
  info.entity_count = row.Int(6);
  info.name_count = row.Int(7);
  return info;
}

constexpr const char* kListColumns =
    "list_id, format, version, source, sha256, imported_ms, entity_count, name_count";

Result<std::vector<std::string>> StringArray(const std::string& text, const std::string& what) {
  auto parsed = ParseJson(text);
  if (!parsed.ok() || !parsed->is_array()) {
    return Status::Corruption(what + ": not a JSON array of strings");
  }
  std::vector<std::string> out;
  for (const auto& item : *parsed) {
    if (!item.is_string()) return Status::Corruption(what + ": not a JSON array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

// Ids of lists and entities are the lists' own (TEXT); aliases and countries are canonical JSON
// arrays (TEXT, portable); times are Unix milliseconds. screen_decisions keeps the screened
// name: it is the record an auditor opens against the log entry's commitment, and it never
// leaves the database except to authorised readers. `nonce` (32 random bytes, hex) makes that
// commitment hiding: without it, anyone could test guessed names against the published hash.
store::Migration ScreenMigration(int version) {
  return {version, "screening", R"sql(
CREATE TABLE screen_lists (
  list_id TEXT PRIMARY KEY,
  format TEXT NOT NULL,
  version TEXT NOT NULL,
  source TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  imported_ms BIGINT NOT NULL,
  entity_count BIGINT NOT NULL,
  name_count BIGINT NOT NULL
);
CREATE TABLE screen_entities (
  list_id TEXT NOT NULL REFERENCES screen_lists(list_id),
  source_id TEXT NOT NULL,
  name TEXT NOT NULL,
  aliases TEXT NOT NULL,
  schema TEXT NOT NULL,
  countries TEXT NOT NULL,
  programs TEXT NOT NULL,
  source_list TEXT NOT NULL,
  address TEXT NOT NULL,
  remarks TEXT NOT NULL,
  PRIMARY KEY (list_id, source_id)
);
CREATE TABLE screen_decisions (
  id {{AUTO_ID}},
  decided_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  channel TEXT NOT NULL,
  query_id TEXT NOT NULL,
  query_name TEXT NOT NULL,
  query_country TEXT NOT NULL,
  query_type TEXT NOT NULL,
  class TEXT NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  list_id TEXT,
  source_id TEXT,
  entity_name TEXT,
  matched_name TEXT,
  result TEXT NOT NULL,
  lists TEXT NOT NULL,
  nonce TEXT NOT NULL
);
CREATE INDEX screen_decisions_class ON screen_decisions(class, id);
CREATE INDEX screen_decisions_entity ON screen_decisions(list_id, source_id);
)sql"};
}

Result<SaveReport> SaveList(store::Database& db, const ImportedList& list) {
  CUSTODIAN_RETURN_IF_ERROR(CheckList(list));
  const std::string& list_id = list.info.list_id;
  SaveReport report;
  Status st = db.InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    report = SaveReport{};
    auto existing = tx.Query(
        std::string("SELECT ") + kListColumns + " FROM screen_lists WHERE list_id = ?", {list_id});
    if (!existing.ok()) return existing.status();
    if (!existing->empty() && (*existing)[0].Text(4) == list.info.sha256) {
      report.info = InfoFromRow((*existing)[0]);
      report.unchanged = true;
      return Status::Ok();
    }

    const int64_t now_ms = NowMs();
    ListInfo info = list.info;
    info.imported_ms = now_ms;
    // The counts describe what is stored, whatever the importer said.
    info.entity_count = static_cast<int64_t>(list.entities.size());
    info.name_count = 0;
    for (const auto& e : list.entities) {
      info.name_count += 1 + static_cast<int64_t>(e.aliases.size());
    }

    // The list row first: entities reference it.
    CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
        std::string("INSERT INTO screen_lists (") + kListColumns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (list_id) DO UPDATE SET "
            "format = excluded.format, version = excluded.version, source = excluded.source, "
            "sha256 = excluded.sha256, imported_ms = excluded.imported_ms, "
            "entity_count = excluded.entity_count, name_count = excluded.name_count",
        {info.list_id, info.format, info.version, info.source, info.sha256, info.imported_ms,
         info.entity_count, info.name_count}));
    CUSTODIAN_RETURN_IF_ERROR(tx.Exec("DELETE FROM screen_entities WHERE list_id = ?", {list_id}));
    report.replaced = tx.changes();

    const auto& entities = list.entities;
    std::vector<Value> params;
    for (size_t start = 0; start < entities.size(); start += kRowsPerInsert) {
      const size_t n = std::min(kRowsPerInsert, entities.size() - start);
      params.clear();
      params.reserve(n * kEntityColumns);
      for (size_t i = start; i < start + n; ++i) {
        const ListEntity& e = entities[i];
        auto aliases = CanonicalJson(json(e.aliases));
        auto countries = CanonicalJson(json(e.countries));
        if (!aliases.ok()) {
          return aliases.status().WithContext("list " + list_id + ": entities[" +
                                              std::to_string(i) + "].aliases");
        }
        if (!countries.ok()) {
          return countries.status().WithContext("list " + list_id + ": entities[" +
                                                std::to_string(i) + "].countries");
        }
        params.insert(params.end(), {e.list_id, e.source_id, e.name, std::move(*aliases),
                                     std::string(SchemaName(e.schema)), std::move(*countries),
                                     e.programs, e.source_list, e.address, e.remarks});
      }
      Status inserted = tx.Exec(
          "INSERT INTO screen_entities (list_id, source_id, name, aliases, schema, countries, "
          "programs, source_list, address, remarks) VALUES " +
              Placeholders(kEntityColumns, n),
          params);
      if (inserted.code() == StatusCode::kAlreadyExists) {
        std::string dup = DuplicateSourceId(entities);
        return Status::AlreadyExists("list " + list_id + ": " +
                                     (dup.empty() ? inserted.message() : dup));
      }
      CUSTODIAN_RETURN_IF_ERROR(inserted);
    }

    json record = {{"list_id", info.list_id},       {"format", info.format},
                   {"version", info.version},       {"source", info.source},
                   {"sha256", info.sha256},         {"entity_count", info.entity_count},
                   {"name_count", info.name_count}, {"replaced", report.replaced}};
    CUSTODIAN_RETURN_IF_ERROR(AppendLogEntry(tx, "screen-list", std::move(record), now_ms));
    report.info = std::move(info);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return report;
}

Result<std::vector<ListInfo>> LoadListInfos(store::Database& db) {
  std::vector<ListInfo> out;
  Status st = db.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    out.clear();
    auto rows = tx.Query(std::string("SELECT ") + kListColumns + " FROM screen_lists");
    if (!rows.ok()) return rows.status();
    for (const auto& row : *rows) out.push_back(InfoFromRow(row));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  // Byte order, whatever the database's collation.
  std::sort(out.begin(), out.end(),
            [](const ListInfo& a, const ListInfo& b) { return a.list_id < b.list_id; });
  return out;
}

Result<std::vector<ListEntity>> LoadEntities(store::Database& db) {
  std::vector<ListEntity> out;
  Status st = db.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    out.clear();
    auto rows = tx.Query(
        "SELECT list_id, source_id, name, aliases, schema, countries, programs, source_list, "
        "address, remarks FROM screen_entities");
    if (!rows.ok()) return rows.status();
    out.reserve(rows->size());
    for (const auto& row : *rows) {
      ListEntity e;
      e.list_id = row.Text(0);
      e.source_id = row.Text(1);
      e.name = row.Text(2);
      const std::string where = "screen_entities[" + e.list_id + "/" + e.source_id + "]";
      auto aliases = StringArray(row.Text(3), where + ".aliases");
      if (!aliases.ok()) return aliases.status();
      e.aliases = std::move(*aliases);
      auto schema = ParseSchema(row.Text(4));
      if (!schema.ok()) return Status::Corruption(where + ".schema: " + schema.status().message());
      e.schema = *schema;
      auto countries = StringArray(row.Text(5), where + ".countries");
      if (!countries.ok()) return countries.status();
      e.countries = std::move(*countries);
      e.programs = row.Text(6);
      e.source_list = row.Text(7);
      e.address = row.Text(8);
      e.remarks = row.Text(9);
      out.push_back(std::move(e));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  std::sort(out.begin(), out.end(), [](const ListEntity& a, const ListEntity& b) {
    return a.list_id != b.list_id ? a.list_id < b.list_id : a.source_id < b.source_id;
  });
  return out;
}

// The log entry commits to the whole decision without publishing the screened name: its
// record_sha256 is the hex SHA-256 of the canonical JSON object
//   {"actor", "channel", "decided_ms", "id", "lists", "nonce", "query_country", "query_id",
//    "query_name", "query_type", "result"}
// built from the screen_decisions row ("result" and "lists" parsed from their columns), so an
// auditor holding the row recomputes it, and nobody without the row can test a guessed name
// against it (the nonce is 256 random bits).
Result<std::vector<int64_t>> RecordDecisions(store::Database& db,
                                             const std::vector<ScreenResult>& results,
                                             const std::vector<ListInfo>& lists,
                                             const DecisionContext& context) {
  InitCrypto();
  json lists_json = json::array();
  {
    std::vector<const ListInfo*> sorted;
    sorted.reserve(lists.size());
    for (const auto& l : lists) sorted.push_back(&l);
    std::sort(sorted.begin(), sorted.end(),
              [](const ListInfo* a, const ListInfo* b) { return a->list_id < b->list_id; });
    for (const ListInfo* l : sorted) {
      lists_json.push_back(
          {{"list_id", l->list_id}, {"version", l->version}, {"sha256", l->sha256}});
    }
  }
  auto lists_text = CanonicalJson(lists_json);
  if (!lists_text.ok()) return lists_text.status().WithContext("lists");
  // Serialised once, outside the transaction (which may be retried).
  std::vector<std::string> result_texts(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].status.ok()) continue;
    auto text = CanonicalJson(ResultToJson(results[i]));
    if (!text.ok()) return text.status().WithContext("results[" + std::to_string(i) + "]");
    result_texts[i] = std::move(*text);
  }

  std::vector<int64_t> ids;
  Status st = db.InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    ids.assign(results.size(), 0);
    const int64_t now_ms = NowMs();
    for (size_t i = 0; i < results.size(); ++i) {
      const ScreenResult& r = results[i];
      if (!r.status.ok()) continue;
      const ScreenQuery& q = r.query;
      const char* decision = DecisionName(r.decision);
      const Hit* hit = r.hits.empty() ? nullptr : &r.hits.front();
      auto nullable = [hit](const std::string Hit::*field) {
        return hit == nullptr ? Value() : Value(hit->*field);
      };
      uint8_t nonce_bytes[32];
      RandomBytes(nonce_bytes, sizeof(nonce_bytes));
      const std::string nonce = HexEncode(ByteView(nonce_bytes, sizeof(nonce_bytes)));
      const std::string query_type = SchemaName(q.schema);
      auto inserted = tx.Query(
          "INSERT INTO screen_decisions (decided_ms, actor, channel, query_id, query_name, "
          "query_country, query_type, class, score, list_id, source_id, entity_name, "
          "matched_name, result, lists, nonce) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
          {now_ms, context.actor, context.channel, q.id, q.name, q.country, query_type,
           std::string(decision), r.score, nullable(&Hit::list_id), nullable(&Hit::source_id),
           nullable(&Hit::entity_name), nullable(&Hit::matched_name), result_texts[i], *lists_text,
           nonce});
      if (!inserted.ok()) return inserted.status();
      const int64_t id = (*inserted)[0].Int(0);
      ids[i] = id;

      auto result_json = ParseJson(result_texts[i]);
      if (!result_json.ok()) return result_json.status().WithContext("decision result");
      json record = {{"actor", context.actor},
                     {"channel", context.channel},
                     {"decided_ms", now_ms},
                     {"id", id},
                     {"lists", lists_json},
                     {"nonce", nonce},
                     {"query_country", q.country},
                     {"query_id", q.id},
                     {"query_name", q.name},
                     {"query_type", query_type},
                     {"result", std::move(*result_json)}};
      auto record_text = CanonicalJson(record);
      if (!record_text.ok()) return record_text.status().WithContext("decision record");

      json entry = {{"decision", id},
                    {"class", decision},
                    {"score", r.score},
                    {"lists", lists_json},
                    {"actor", context.actor},
                    {"channel", context.channel},
                    {"record_sha256", HexEncode(Sha256(AsBytes(*record_text)))}};
      // The listed entity, and its name or alias that matched, are published list data.
      entry["hit"] = hit == nullptr ? json(nullptr)
                                    : json{{"list_id", hit->list_id},
                                           {"source_id", hit->source_id},
                                           {"entity_name", hit->entity_name},
                                           {"matched_name", hit->matched_name}};
      CUSTODIAN_RETURN_IF_ERROR(AppendLogEntry(tx, "screen-decision", std::move(entry), now_ms));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return ids;
}

}  // namespace custodian::screen
