// Screening data in the database (screen/list_store.h), one suite on SQLite and on a real
// PostgreSQL (tests/support/postgres_server.h): lists saved and reloaded exactly, idempotent
// re-imports, replacement by a new version, atomicity when a save fails half-way, and decisions
// recorded with transparency-log entries that commit to the screened name without showing it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "core/bytes.h"
#include "core/canonical_json.h"
#include "core/crypto.h"
#include "registry/schema.h"
#include "screen/list_store.h"
#include "store/migrate.h"
#include "support/postgres_server.h"

namespace custodian::screen {
namespace {

using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/custodian-screen-store-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string Sha256Hex(const std::string& s) {
  return HexEncode(Sha256(AsBytes(s)));
}

ListEntity Entity(const std::string& list_id, const std::string& source_id,
                  const std::string& name) {
  ListEntity e;
  e.list_id = list_id;
  e.source_id = source_id;
  e.name = name;
  e.schema = Schema::kOrganization;
  return e;
}

ImportedList MakeList(const std::string& list_id, const std::string& version,
                      std::vector<ListEntity> entities) {
  ImportedList list;
  list.info.list_id = list_id;
  list.info.format = "bis-json";
  list.info.version = version;
  list.info.source = list_id + "-" + version + ".json";
  list.info.sha256 = Sha256Hex(list_id + "@" + version);
  list.info.entity_count = static_cast<int64_t>(entities.size());
  list.entities = std::move(entities);
  return list;
}

ImportedList EntityListV1() {
  ListEntity a = Entity("bis-entity-list", "el-0001", "Huawei Technologies Co., Ltd.");
  a.aliases = {"华为技术有限公司", "Huawei"};
  a.countries = {"CN"};
  a.programs = "84 FR 22963";
  a.address = "Bantian, Longgang District, Shenzhen";
  a.remarks = "See §744.11(b)";
  ListEntity b = Entity("bis-entity-list", "el-0002", "ООО Рога и Копыта");
  b.aliases = {"Roga i Kopyta LLC"};
  b.countries = {"RU", "BY"};
  b.source_list = "Entity List (EL) - Bureau of Industry and Security";
  ListEntity c = Entity("bis-entity-list", "el-0003", "Ivan Petrov");
  c.schema = Schema::kPerson;
  return MakeList("bis-entity-list", "2026-07-01", {b, c, a});  // unsorted on purpose
}

void ExpectSameEntity(const ListEntity& got, const ListEntity& want) {
  EXPECT_EQ(got.list_id, want.list_id);
  EXPECT_EQ(got.source_id, want.source_id);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.aliases, want.aliases);
  EXPECT_EQ(got.schema, want.schema);
  EXPECT_EQ(got.countries, want.countries);
  EXPECT_EQ(got.programs, want.programs);
  EXPECT_EQ(got.source_list, want.source_list);
  EXPECT_EQ(got.address, want.address);
  EXPECT_EQ(got.remarks, want.remarks);
}

class ScreenStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    InitCrypto();
    std::string url;
    if (GetParam() == "sqlite") {
      url = "sqlite:" + dir_ / "screen.db";
    } else {
      url = testing::TestPostgres();
      ASSERT_FALSE(url.empty());
    }
    auto db = store::Database::Open(url);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    // The one schema, as the server migrates it: the screening tables come with it.
    auto migrated = store::Migrate(*db_, registry::RegistryMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.status().message();
  }

  store::Rows Query(const std::string& sql, const std::vector<store::Value>& params = {}) {
    store::Rows out;
    Status st = db_->InTransaction(store::TxMode::kRead, [&](store::Transaction& tx) -> Status {
      auto rows = tx.Query(sql, params);
      if (!rows.ok()) return rows.status();
      out = std::move(*rows);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << sql << ": " << st.message();
    return out;
  }

  // Every pending log entry, parsed, in order.
  std::vector<json> LogEntries() {
    std::vector<json> out;
    for (const auto& row : Query("SELECT entry FROM tlog_pending ORDER BY seq")) {
      auto bytes = Base64Decode(row.Text(0));
      EXPECT_TRUE(bytes.ok());
      if (!bytes.ok()) continue;
      std::string text(bytes->begin(), bytes->end());
      auto parsed = ParseJson(text);
      EXPECT_TRUE(parsed.ok()) << text;
      // Entries are canonical JSON, as everything the log commits to.
      EXPECT_EQ(*CanonicalJson(*parsed), text);
      parsed->emplace("_text", text);
      out.push_back(std::move(*parsed));
    }
    return out;
  }

  std::vector<ListEntity> Entities() {
    auto loaded = LoadEntities(*db_);
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? *loaded : std::vector<ListEntity>{};
  }

  TempDir dir_;
  std::unique_ptr<store::Database> db_;
};

TEST_P(ScreenStoreTest, SavesAndReloadsExactly) {
  ImportedList list = EntityListV1();
  auto saved = SaveList(*db_, list);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  EXPECT_FALSE(saved->unchanged);
  EXPECT_EQ(saved->replaced, 0);
  EXPECT_EQ(saved->info.entity_count, 3);
  EXPECT_EQ(saved->info.name_count, 6);  // 3 primary names + 3 aliases
  EXPECT_GT(saved->info.imported_ms, 0);

  auto infos = LoadListInfos(*db_);
  ASSERT_TRUE(infos.ok()) << infos.status().message();
  ASSERT_EQ(infos->size(), 1u);
  const ListInfo& info = (*infos)[0];
  EXPECT_EQ(info.list_id, "bis-entity-list");
  EXPECT_EQ(info.format, "bis-json");
  EXPECT_EQ(info.version, "2026-07-01");
  EXPECT_EQ(info.source, "bis-entity-list-2026-07-01.json");
  EXPECT_EQ(info.sha256, list.info.sha256);
  EXPECT_EQ(info.imported_ms, saved->info.imported_ms);
  EXPECT_EQ(info.entity_count, 3);
  EXPECT_EQ(info.name_count, 6);

  std::vector<ListEntity> entities = Entities();
  ASSERT_EQ(entities.size(), 3u);
  // Ordered by source_id, whatever the order given.
  ExpectSameEntity(entities[0], list.entities[2]);
  ExpectSameEntity(entities[1], list.entities[0]);
  ExpectSameEntity(entities[2], list.entities[1]);

  std::vector<json> log = LogEntries();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["type"], "screen-list");
  EXPECT_EQ(log[0]["list_id"], "bis-entity-list");
  EXPECT_EQ(log[0]["version"], "2026-07-01");
  EXPECT_EQ(log[0]["sha256"], list.info.sha256);
  EXPECT_EQ(log[0]["entity_count"], 3);
  EXPECT_EQ(log[0]["name_count"], 6);
  EXPECT_TRUE(log[0]["logged_at"].is_string());
}

TEST_P(ScreenStoreTest, SameBytesAgainChangeNothing) {
  ImportedList list = EntityListV1();
  auto first = SaveList(*db_, list);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto again = SaveList(*db_, list);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(again->replaced, 0);
  EXPECT_EQ(again->info.imported_ms, first->info.imported_ms);  // the stored import
  EXPECT_EQ(again->info.sha256, list.info.sha256);
  EXPECT_EQ(LogEntries().size(), 1u);  // no second entry
  EXPECT_EQ(Entities().size(), 3u);
}

TEST_P(ScreenStoreTest, NewVersionReplacesOnlyItsList) {
  ASSERT_TRUE(SaveList(*db_, EntityListV1()).ok());
  ImportedList meu = MakeList("bis-meu", "2026-07-01", {Entity("bis-meu", "meu-1", "Aviation Co")});
  ASSERT_TRUE(SaveList(*db_, meu).ok());

  ListEntity changed = Entity("bis-entity-list", "el-0002", "OOO Roga i Kopyta");
  changed.countries = {"RU"};
  ImportedList v2 = MakeList("bis-entity-list", "2026-08-01",
                             {changed, Entity("bis-entity-list", "el-0004", "New Entity Ltd")});
  auto saved = SaveList(*db_, v2);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  EXPECT_FALSE(saved->unchanged);
  EXPECT_EQ(saved->replaced, 3);
  EXPECT_EQ(saved->info.version, "2026-08-01");

  std::vector<ListEntity> entities = Entities();
  ASSERT_EQ(entities.size(), 3u);
  ExpectSameEntity(entities[0], v2.entities[0]);
  ExpectSameEntity(entities[1], v2.entities[1]);
  ExpectSameEntity(entities[2], meu.entities[0]);  // "bis-meu" sorts after "bis-entity-list"

  auto infos = LoadListInfos(*db_);
  ASSERT_TRUE(infos.ok());
  ASSERT_EQ(infos->size(), 2u);
  EXPECT_EQ((*infos)[0].list_id, "bis-entity-list");
  EXPECT_EQ((*infos)[0].version, "2026-08-01");
  EXPECT_EQ((*infos)[0].sha256, v2.info.sha256);
  EXPECT_EQ((*infos)[0].entity_count, 2);
  EXPECT_EQ((*infos)[1].list_id, "bis-meu");

  std::vector<json> log = LogEntries();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2]["version"], "2026-08-01");
  EXPECT_EQ(log[2]["replaced"], 3);
}

TEST_P(ScreenStoreTest, FailureHalfWayLeavesThePreviousVersion) {
  ImportedList v1 = EntityListV1();
  ASSERT_TRUE(SaveList(*db_, v1).ok());
  // A new version whose second half repeats a source_id: the list row has been updated and the
  // old entities deleted by the time the insert fails, so only the transaction saves v1.
  std::vector<ListEntity> entities;
  for (int i = 0; i < 2500; ++i) {
    entities.push_back(
        Entity("bis-entity-list", "x-" + std::to_string(i), "Entity " + std::to_string(i)));
  }
  entities.push_back(Entity("bis-entity-list", "x-7", "Duplicate"));
  ImportedList bad = MakeList("bis-entity-list", "2026-09-01", std::move(entities));
  auto saved = SaveList(*db_, bad);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(saved.status().message().find("source_id \"x-7\" is given twice"), std::string::npos)
      << saved.status().message();
  EXPECT_NE(saved.status().message().find("entities[7] and entities[2500]"), std::string::npos)
      << saved.status().message();

  auto infos = LoadListInfos(*db_);
  ASSERT_TRUE(infos.ok());
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].version, "2026-07-01");
  EXPECT_EQ((*infos)[0].sha256, v1.info.sha256);
  std::vector<ListEntity> kept = Entities();
  ASSERT_EQ(kept.size(), 3u);
  ExpectSameEntity(kept[0], v1.entities[2]);
  EXPECT_EQ(LogEntries().size(), 1u);

  // And the same import, fixed, goes in.
  bad.entities.pop_back();
  auto fixed = SaveList(*db_, bad);
  ASSERT_TRUE(fixed.ok()) << fixed.status().message();
  EXPECT_EQ(fixed->replaced, 3);
  EXPECT_EQ(Entities().size(), 2500u);
}

TEST_P(ScreenStoreTest, RejectsMalformedListsNamingTheField) {
  ImportedList list = EntityListV1();
  list.entities[1].list_id = "ofac-sdn";
  auto r = SaveList(*db_, list);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("entities[1].list_id"), std::string::npos)
      << r.status().message();

  list = EntityListV1();
  list.entities[0].source_id.clear();
  r = SaveList(*db_, list);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("entities[0].source_id: is empty"), std::string::npos)
      << r.status().message();

  list = EntityListV1();
  list.info.sha256 = "abc";
  r = SaveList(*db_, list);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sha256"), std::string::npos) << r.status().message();

  list.info.list_id.clear();
  EXPECT_EQ(SaveList(*db_, list).status().code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(LogEntries().empty());
  EXPECT_TRUE(Entities().empty());
}

TEST_P(ScreenStoreTest, FifteenThousandEntitiesSaveQuickly) {
  std::vector<ListEntity> entities;
  for (int i = 0; i < 15000; ++i) {
    ListEntity e = Entity("csl", "csl-" + std::to_string(100000 + i),
                          "Trading Company Number " + std::to_string(i) + " Limited");
    e.aliases = {"TCN " + std::to_string(i), "Trading Co " + std::to_string(i)};
    e.countries = {"CN", "HK"};
    e.programs = "EAR";
    e.address = "Room " + std::to_string(i) + ", Some Building, Some Road, Hong Kong";
    entities.push_back(std::move(e));
  }
  ImportedList list = MakeList("csl", "2026-07-15", std::move(entities));
  auto start = std::chrono::steady_clock::now();
  auto saved = SaveList(*db_, list);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  EXPECT_EQ(saved->info.entity_count, 15000);
  EXPECT_EQ(saved->info.name_count, 45000);
  std::printf("SaveList of 15000 entities on %s: %.3f s\n", GetParam().c_str(), seconds);
  EXPECT_LT(seconds, 5.0);
  auto loaded = LoadEntities(*db_);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 15000u);
  ExpectSameEntity((*loaded)[14999], list.entities[14999]);
}

ScreenResult MatchResult() {
  ScreenResult r;
  r.query.id = "cust-17";
  r.query.name = "Zhongxing Secret Customer Holdings";
  r.query.country = "CN";
  r.query.schema = Schema::kOrganization;
  r.decision = Decision::kMatch;
  r.score = 0.93;
  Hit hit;
  hit.list_id = "bis-entity-list";
  hit.source_id = "el-0001";
  hit.entity_name = "Huawei Technologies Co., Ltd.";
  hit.matched_name = "Huawei";
  hit.matched_alias = true;
  hit.schema = Schema::kOrganization;
  hit.countries = {"CN"};
  hit.score = 0.93;
  hit.decision = Decision::kMatch;
  r.hits.push_back(hit);
  return r;
}

TEST_P(ScreenStoreTest, DecisionsAreRecordedAndLoggedWithoutTheName) {
  auto saved = SaveList(*db_, EntityListV1());
  ASSERT_TRUE(saved.ok());
  std::vector<ListInfo> lists = {saved->info};

  ScreenResult clear;
  clear.query.id = "cust-18";
  clear.query.name = "Quiet Harbour Private Client";
  clear.query.schema = Schema::kPerson;
  ScreenResult bad;
  bad.query.name = " ";
  bad.status = Status::InvalidInput("name: is empty");

  auto ids = RecordDecisions(*db_, {MatchResult(), bad, clear}, lists, {"cli", "batch"});
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_GT((*ids)[0], 0);
  EXPECT_EQ((*ids)[1], 0);  // not a decision
  EXPECT_GT((*ids)[2], (*ids)[0]);

  store::Rows rows = Query(
      "SELECT id, decided_ms, actor, channel, query_id, query_name, query_country, query_type, "
      "class, score, list_id, source_id, entity_name, matched_name, result, lists, nonce "
      "FROM screen_decisions ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  const store::Row& m = rows[0];
  EXPECT_EQ(m.Int(0), (*ids)[0]);
  EXPECT_EQ(m.Text(2), "cli");
  EXPECT_EQ(m.Text(3), "batch");
  EXPECT_EQ(m.Text(4), "cust-17");
  EXPECT_EQ(m.Text(5), "Zhongxing Secret Customer Holdings");
  EXPECT_EQ(m.Text(6), "CN");
  EXPECT_EQ(m.Text(7), "org");
  EXPECT_EQ(m.Text(8), "match");
  EXPECT_DOUBLE_EQ(m.Real(9), 0.93);
  EXPECT_EQ(m.Text(10), "bis-entity-list");
  EXPECT_EQ(m.Text(11), "el-0001");
  EXPECT_EQ(m.Text(12), "Huawei Technologies Co., Ltd.");
  EXPECT_EQ(m.Text(13), "Huawei");
  auto result = ParseJson(m.Text(14));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, ResultToJson(MatchResult()));
  EXPECT_EQ(m.Text(16).size(), 64u);
  const store::Row& c = rows[1];
  EXPECT_EQ(c.Text(8), "clear");
  EXPECT_TRUE(c.IsNull(10));
  EXPECT_TRUE(c.IsNull(13));
  EXPECT_NE(c.Text(16), m.Text(16));  // a fresh nonce per decision

  std::vector<json> log = LogEntries();
  ASSERT_EQ(log.size(), 3u);  // the list, then the two decisions
  for (size_t i = 1; i < 3; ++i) {
    const json& entry = log[i];
    const store::Row& row = rows[i - 1];
    EXPECT_EQ(entry["type"], "screen-decision");
    EXPECT_EQ(entry["decision"], row.Int(0));
    EXPECT_EQ(entry["class"], row.Text(8));
    EXPECT_EQ(entry["actor"], "cli");
    EXPECT_EQ(entry["channel"], "batch");
    EXPECT_EQ(entry["lists"],
              json::parse(R"([{"list_id":"bis-entity-list","version":"2026-07-01","sha256":")" +
                          saved->info.sha256 + "\"}]"));
    // The screened names are not in the log, in any form the row holds them.
    const std::string text = entry["_text"];
    EXPECT_EQ(text.find("Secret Customer"), std::string::npos) << text;
    EXPECT_EQ(text.find("Quiet Harbour"), std::string::npos) << text;
    EXPECT_EQ(text.find("cust-1"), std::string::npos) << text;
    // The commitment opens with the row (the recipe in list_store.cc).
    json record = {{"actor", row.Text(2)},
                   {"channel", row.Text(3)},
                   {"decided_ms", row.Int(1)},
                   {"id", row.Int(0)},
                   {"lists", *ParseJson(row.Text(15))},
                   {"nonce", row.Text(16)},
                   {"query_country", row.Text(6)},
                   {"query_id", row.Text(4)},
                   {"query_name", row.Text(5)},
                   {"query_type", row.Text(7)},
                   {"result", *ParseJson(row.Text(14))}};
    EXPECT_EQ(entry["record_sha256"], Sha256Hex(*CanonicalJson(record)));
  }
  EXPECT_DOUBLE_EQ(log[1]["score"].get<double>(), 0.93);
  EXPECT_EQ(log[1]["hit"], json({{"list_id", "bis-entity-list"},
                                 {"source_id", "el-0001"},
                                 {"entity_name", "Huawei Technologies Co., Ltd."},
                                 {"matched_name", "Huawei"}}));
  EXPECT_TRUE(log[2]["hit"].is_null());
  EXPECT_EQ(log[2]["score"], 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ScreenStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
}  // namespace custodian::screen
