// `custodian screen …` end to end: the real binary against the shared lists
// (../shared/data/lists: BIS Entity List and MEU 2026-07, OFAC SDN 2024-05), and GET/POST
// /v1/screen on a real `custodian serve`, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "core/csv.h"
#include "screen/screener.h"
#include "store/database.h"
#include "support/cli_runner.h"
#include "support/server_process.h"

namespace custodian::testing {
namespace {

using nlohmann::json;

const std::string kLists = std::string(CUSTODIAN_SOURCE_DIR) + "/../shared/data/lists/";
const std::string kEntityList = kLists + "bis_entity_list_2026-07-09.json";
const std::string kMeu = kLists + "bis_meu_2026-07-09.json";
const std::string kSdn = kLists + "ofac_sdn_2024-05-03.csv";
const std::string kCases = std::string(CUSTODIAN_SOURCE_DIR) +
                           "/../shared/data/matching/nomenklatura_name_bench_cases.csv";

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<CsvRecord> ReadCsv(const std::string& path) {
  auto text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << path;
  if (!text.ok()) return {};
  auto rows = ParseCsv(*text);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? *rows : std::vector<CsvRecord>{};
}

json ParseOut(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

// Count of rows in screen_decisions with this channel.
int64_t Decisions(const std::string& db_url, const std::string& channel) {
  auto db = store::Database::Open(db_url);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return -1;
  int64_t n = -1;
  Status s = (*db)->InTransaction(store::TxMode::kRead, [&](store::Transaction& tx) -> Status {
    auto rows = tx.Query("SELECT COUNT(*) FROM screen_decisions WHERE channel = ?", {channel});
    if (!rows.ok()) return rows.status();
    n = (*rows)[0].Int(0);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return n;
}

// One SQLite database with the three shared lists, imported once for the whole suite.
class ScreenCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    db_ = new std::string("sqlite:" + (*dir_ / "screen.db"));
    imports_ = new std::vector<CliResult>();
    imports_->push_back(
        RunCli({"screen", "import", "--format", "bis-json", kEntityList, kMeu, "--db", *db_}));
    // The legacy SDN CSV carries no date: the data's date is given.
    imports_->push_back(RunCli({"screen", "import", "--format", "ofac-sdn", kSdn, "--db", *db_,
                                "--list-version", "2024-05-03"}));
  }
  static void TearDownTestSuite() {
    delete imports_;
    delete db_;
    delete dir_;
  }
  void SetUp() override {
    for (const auto& r : *imports_) ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  static CliResult Query(std::vector<std::string> args) {
    args.insert(args.begin(), {"screen", "query"});
    args.insert(args.end(), {"--db", *db_});
    return RunCli(args);
  }

  static TempDir* dir_;
  static std::string* db_;
  static std::vector<CliResult>* imports_;
};
TempDir* ScreenCli::dir_ = nullptr;
std::string* ScreenCli::db_ = nullptr;
std::vector<CliResult>* ScreenCli::imports_ = nullptr;

TEST_F(ScreenCli, ImportPrintsOneSummaryLinePerListAndReimportIsUnchanged) {
  const CliResult& bis = (*imports_)[0];
  EXPECT_NE(bis.out.find("imported bis-entity-list version 2026-07-09: 3409 entities, "),
            std::string::npos)
      << bis.out;
  EXPECT_NE(bis.out.find("imported bis-meu version 2026-07-09: 70 entities, "), std::string::npos)
      << bis.out;
  EXPECT_NE(bis.out.find("0 rows skipped"), std::string::npos) << bis.out;
  const CliResult& sdn = (*imports_)[1];
  EXPECT_NE(sdn.out.find("imported ofac-sdn version 2024-05-03: 14965 entities, "),
            std::string::npos)
      << sdn.out;
  // Not a terminal: no progress bar on stderr.
  EXPECT_EQ(bis.err.find('\r'), std::string::npos) << bis.err;

  CliResult again = RunCli({"screen", "import", "--format", "bis-json", kMeu, "--db", *db_});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.rfind("unchanged bis-meu version 2026-07-09: 70 entities", 0), 0u)
      << again.out;

  CliResult lists = RunCli({"screen", "lists", "--json", "--db", *db_});
  ASSERT_EQ(lists.exit_code, 0) << lists.err;
  json j = ParseOut(lists);
  ASSERT_TRUE(j.is_array());
  std::set<std::string> ids;
  for (const auto& l : j) {
    ids.insert(l.value("list_id", ""));
    EXPECT_EQ(l.value("sha256", "").size(), 64u);
    EXPECT_GT(l.value("entity_count", 0), 0);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"bis-entity-list", "bis-meu", "ofac-sdn"}));
  CliResult human = RunCli({"screen", "lists", "--db", *db_});
  EXPECT_NE(human.out.find("bis-entity-list"), std::string::npos) << human.out;
}

TEST_F(ScreenCli, QueryMatchesAListedNameWithItsExplanation) {
  CliResult r =
      Query({"Huawei Technologies Co., Ltd.", "--country", "CN", "--type", "org", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = ParseOut(r);
  EXPECT_EQ(j.value("class", ""), "match") << r.out;
  ASSERT_FALSE(j["hits"].empty()) << r.out;
  const json& hit = j["hits"][0];
  EXPECT_EQ(hit.value("entity_name", ""), "Huawei Technologies Co., Ltd.") << r.out;
  EXPECT_EQ(hit.value("list", ""), "bis-entity-list");
  EXPECT_EQ(hit["countries"], json({"CN"}));
  EXPECT_FALSE(hit["explanation"]["alignments"].empty()) << r.out;
  EXPECT_GT(j.value("decision_id", 0), 0);
  EXPECT_EQ(j["query"].value("type", ""), "org");

  CliResult human = Query({"Huawei Technologies Co., Ltd.", "--country", "CN"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_EQ(human.out.rfind("match", 0), 0u) << human.out;
  for (const char* want :
       {"Huawei Technologies Co., Ltd.", "bis-entity-list", "CN", "aligned", "decision "}) {
    EXPECT_NE(human.out.find(want), std::string::npos) << want << " in\n" << human.out;
  }
}

TEST_F(ScreenCli, QueryMatchesAPerturbedVariant) {
  // Typos, another case, expanded or abbreviated legal forms, reordered words.
  for (const auto& [name, entity] : std::vector<std::pair<std::string, std::string>>{
           {"Hangzhou Hikvision Digitel Technology Company Limited",
            "Hangzhou Hikvision Digital Technology Co., Ltd."},
           {"Banco Nacional de Kuba", "BANCO NACIONAL DE CUBA"},
           {"Rostec State Corp", "STATE CORPORATION ROSTEC"},
           {"AECC Aviaton Power Company", "AECC Aviation Power Co. Ltd."}}) {
    CliResult r = Query({name, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = ParseOut(r);
    EXPECT_EQ(j.value("class", ""), "match") << name << ": " << r.out;
    ASSERT_FALSE(j["hits"].empty()) << name;
    EXPECT_EQ(j["hits"][0].value("entity_name", ""), entity) << name << ": " << r.out;
    EXPECT_FALSE(j["hits"][0]["explanation"]["alignments"].empty());
  }
}

TEST_F(ScreenCli, AnUnlistedNameIsClearAndStillExitsZero) {
  CliResult r = Query({"Margarethe Lindqvist Bakery", "--country", "SE", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = ParseOut(r);
  EXPECT_EQ(j.value("class", ""), "clear") << r.out;
  EXPECT_TRUE(j["hits"].empty()) << r.out;
  CliResult human = Query({"Margarethe Lindqvist Bakery"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_EQ(human.out.rfind("clear", 0), 0u) << human.out;
}

TEST_F(ScreenCli, QueryRefusesBadInputWithExitTwoAndOneLine) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"Huawei", "--limit", "0"},
                                             {"Huawei", "--type", "spaceship"},
                                             {"Huawei", "--country", "Atlantis"},
                                             {"Huawei", "--match", "0.5", "--review", "0.9"},
                                             {"   "}}) {
    CliResult r = Query(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << (args.size() > 1 ? args[1] : "") << r.out;
    EXPECT_EQ(r.err_lines(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("custodian: ", 0), 0u) << r.err;
  }
  TempDir empty;
  CliResult none = RunCli({"screen", "query", "Huawei", "--db", "sqlite:" + (empty / "empty.db")});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no restricted-party lists"), std::string::npos) << none.err;
}

TEST_F(ScreenCli, BatchWritesOneRowPerInputRowWithTheContractColumns) {
  TempDir dir;
  WriteText(dir / "in.csv",
            "id,name,country,type\n"
            "a1,\"Hangzhou Hikvision Digital Technology Co., Ltd.\",CN,org\n"
            "a2,Margarethe Lindqvist Bakery,SE,org\n"
            "a3,Banco Nacional de Cuba,,\n"
            "a4,Somebody,,spaceship\n"
            "a5,,,\n"
            "a6,\"Rostec State Corporation\",Russia,company\n");
  CliResult r = RunCli({"screen", "batch", "--in", dir / "in.csv", "--out", dir / "out.csv", "--db",
                        *db_, "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<CsvRecord> rows = ReadCsv(dir / "out.csv");
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0].fields,
            (std::vector<std::string>{"id", "class", "score", "matched_name", "entity_name",
                                      "source", "list_id", "source_id", "countries", "reason"}));
  std::map<std::string, std::vector<std::string>> by_id;
  std::vector<std::string> order;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].fields.size(), 10u);
    order.push_back(rows[i].fields[0]);
    by_id[rows[i].fields[0]] = rows[i].fields;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "a2", "a3", "a4", "a5", "a6"}));
  EXPECT_EQ(by_id["a1"][1], "match");
  EXPECT_EQ(by_id["a1"][4], "Hangzhou Hikvision Digital Technology Co., Ltd.");
  EXPECT_EQ(by_id["a1"][5], "bis-entity-list");
  EXPECT_EQ(by_id["a1"][6], "bis-entity-list");
  EXPECT_EQ(by_id["a1"][8], "CN");
  EXPECT_FALSE(by_id["a1"][9].empty());
  EXPECT_EQ(by_id["a2"][1], "clear");
  for (size_t c = 3; c < 9; ++c) EXPECT_EQ(by_id["a2"][c], "") << c;
  EXPECT_EQ(by_id["a3"][1], "match");
  EXPECT_EQ(by_id["a3"][6], "ofac-sdn");
  EXPECT_EQ(by_id["a4"][1], "error");
  EXPECT_NE(by_id["a4"][9].find("type"), std::string::npos) << by_id["a4"][9];
  EXPECT_EQ(by_id["a5"][1], "error");
  EXPECT_NE(by_id["a5"][9].find("name"), std::string::npos) << by_id["a5"][9];
  EXPECT_EQ(by_id["a6"][1], "match");
  EXPECT_EQ(by_id["a6"][4], "STATE CORPORATION ROSTEC");
  // The summary on stderr.
  EXPECT_NE(r.err.find("screened 6 rows: 3 match, 0 review, 1 clear, 2 error"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("names/s"), std::string::npos);
  EXPECT_GE(Decisions(*db_, "batch"), 4);

  // The header is required.
  WriteText(dir / "nohead.csv", "x1,Huawei\n");
  CliResult bad = RunCli(
      {"screen", "batch", "--in", dir / "nohead.csv", "--out", dir / "out2.csv", "--db", *db_});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("header"), std::string::npos) << bad.err;
}

TEST_F(ScreenCli, OwnershipFlagsTheSubsidiaryOfAListedParent) {
  TempDir dir;
  WriteText(dir / "parties.csv",
            "id,name,country,type\n"
            "P1,\"Hangzhou Hikvision Digital Technology Co., Ltd.\",CN,org\n"
            "P2,Lindqvist Components AB,SE,org\n"
            "P3,Fjord Holdings AS,NO,org\n"
            "P4,Fjord Trading AS,NO,org\n");
  WriteText(dir / "edges.csv",
            "owner,owned,percent\n"
            "P1,P2,60\n"
            "P3,P4,100\n");
  CliResult r = RunCli({"screen", "ownership", "--parties", dir / "parties.csv", "--edges",
                        dir / "edges.csv", "--db", *db_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = ParseOut(r);
  ASSERT_EQ(j["parties"].size(), 4u) << r.out;
  EXPECT_EQ(j["parties"][0].value("class", ""), "match");
  EXPECT_TRUE(j["parties"][0].value("listed", false));
  EXPECT_EQ(j["parties"][1].value("class", ""), "clear");
  bool restricted = false, parent = false;
  for (const auto& f : j["flags"]) {
    EXPECT_NE(f.value("party", ""), "P4") << f;
    EXPECT_NE(f.value("party", ""), "P3") << f;
    if (f.value("party", "") != "P2") continue;
    if (f.value("kind", "") == "restricted-by-ownership") {
      restricted = true;
      EXPECT_EQ(f["paths"], json::array({json::array({"P1", "P2"})})) << f;
      EXPECT_DOUBLE_EQ(f.value("aggregate_percent", 0.0), 60.0);
    }
    if (f.value("kind", "") == "parent-in-country-of-concern") {
      parent = true;
      EXPECT_EQ(f.value("country", ""), "CN");
    }
  }
  EXPECT_TRUE(restricted) << r.out;
  EXPECT_TRUE(parent) << r.out;

  CliResult human = RunCli({"screen", "ownership", "--parties", dir / "parties.csv", "--edges",
                            dir / "edges.csv", "--db", *db_});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("restricted-by-ownership"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("P1 -> P2"), std::string::npos) << human.out;

  WriteText(dir / "bad_edges.csv", "owner,owned,percent\nP1,P2,160\n");
  CliResult bad = RunCli({"screen", "ownership", "--parties", dir / "parties.csv", "--edges",
                          dir / "bad_edges.csv", "--db", *db_});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(":2"), std::string::npos) << bad.err;
}

TEST(ScreenCliEval, JsonHasTheMetricsOverallAndPerSchema) {
  CliResult r = RunCli({"screen", "eval", "--cases", kCases, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = ParseOut(r);
  for (const char* key : {"precision", "recall", "f1", "threshold", "by_schema", "cases"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.value("cases", 0), 826);
  EXPECT_DOUBLE_EQ(j.value("threshold", 0.0), screen::Thresholds{}.match);
  for (const char* schema : {"Person", "Company", "Organization", "LegalEntity", "Vessel"}) {
    ASSERT_TRUE(j["by_schema"].contains(schema)) << schema;
    for (const char* key : {"precision", "recall", "f1", "tp", "fp", "fn", "tn"}) {
      EXPECT_TRUE(j["by_schema"][schema].contains(key)) << schema << " " << key;
    }
  }
  EXPECT_GT(j.value("f1", 0.0), 0.5);

  CliResult human = RunCli({"screen", "eval", "--cases", kCases, "--threshold", "0.8"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("overall"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("precision"), std::string::npos) << human.out;

  CliResult bad = RunCli({"screen", "eval", "--cases", kCases, "--threshold", "1.5"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err_lines(), 1u) << bad.err;
}

TEST(ScreenCliImport, MalformedRowsAreReportedWithTheirLineAndStrictRefuses) {
  TempDir dir;
  const std::string db = "sqlite:" + (dir / "import.db");
  // Line 2 has 9 columns instead of 12.
  WriteText(
      dir / "sdn.csv",
      "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
      "173,\"ANGLO-CARIBBEAN CO., LTD.\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- \r\n"
      "306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
      "\"a.k.a. 'BNC'.\"\r\n");
  CliResult strict =
      RunCli({"screen", "import", "--format", "ofac-sdn", dir / "sdn.csv", "--db", db, "--strict"});
  EXPECT_EQ(strict.exit_code, 2) << strict.out;
  EXPECT_NE(strict.err.find("sdn.csv:2"), std::string::npos) << strict.err;
  EXPECT_EQ(strict.err_lines(), 1u) << strict.err;
  CliResult lists = RunCli({"screen", "lists", "--json", "--db", db});
  EXPECT_EQ(ParseOut(lists), json::array()) << "a refused import stores nothing";

  CliResult lenient =
      RunCli({"screen", "import", "--format", "ofac-sdn", dir / "sdn.csv", "--db", db});
  ASSERT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_NE(lenient.err.find("sdn.csv:2"), std::string::npos) << lenient.err;
  EXPECT_NE(lenient.out.find("imported ofac-sdn"), std::string::npos) << lenient.out;
  EXPECT_NE(lenient.out.find(": 2 entities, "), std::string::npos) << lenient.out;
  EXPECT_NE(lenient.out.find("1 rows skipped"), std::string::npos) << lenient.out;

  // Not the format at all, an unknown format, a missing file.
  WriteText(dir / "junk.json", "{\"not\": \"a list\"}");
  CliResult junk =
      RunCli({"screen", "import", "--format", "bis-json", dir / "junk.json", "--db", db});
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_EQ(junk.err_lines(), 1u) << junk.err;
  CliResult version = RunCli({"screen", "import", "--format", "ofac-sdn", dir / "sdn.csv", "--db",
                              db, "--list-version", "May 2024"});
  EXPECT_EQ(version.exit_code, 2);
  EXPECT_NE(version.err.find("--list-version"), std::string::npos) << version.err;
  CliResult format = RunCli({"screen", "import", "--format", "xml", dir / "sdn.csv", "--db", db});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--format"), std::string::npos) << format.err;
  CliResult missing =
      RunCli({"screen", "import", "--format", "ofac-sdn", dir / "nope.csv", "--db", db});
  EXPECT_EQ(missing.exit_code, 2);
}

// The same commands and the API on both backends, with the small MEU list.
class ScreenBackends : public ::testing::TestWithParam<Backend> {};

INSTANTIATE_TEST_SUITE_P(Backends, ScreenBackends,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& p) { return std::string(BackendName(p.param)); });

TEST_P(ScreenBackends, ImportQueryBatchAndReimport) {
  TempDir dir;
  std::string db = DatabaseUrl(GetParam(), dir);
  ASSERT_FALSE(db.empty());
  CliResult imported = RunCli({"screen", "import", "--format", "bis-json", kMeu, "--db", db});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.out.rfind("imported bis-meu version 2026-07-09: 70 entities", 0), 0u)
      << imported.out;
  CliResult again = RunCli({"screen", "import", "--format", "bis-json", kMeu, "--db", db});
  EXPECT_EQ(again.out.rfind("unchanged bis-meu", 0), 0u) << again.out;

  CliResult q =
      RunCli({"screen", "query", "AECC Aviation Power Company Limited", "--json", "--db", db});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  json j = ParseOut(q);
  EXPECT_EQ(j.value("class", ""), "match") << q.out;
  EXPECT_EQ(j["hits"][0].value("entity_name", ""), "AECC Aviation Power Co. Ltd.") << q.out;

  WriteText(dir / "in.csv",
            "id,name\nx,AECC Aviation Power Co. Ltd.\ny,Margarethe Lindqvist Bakery\n");
  CliResult b =
      RunCli({"screen", "batch", "--in", dir / "in.csv", "--out", dir / "out.csv", "--db", db});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::vector<CsvRecord> rows = ReadCsv(dir / "out.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].fields[1], "match");
  EXPECT_EQ(rows[2].fields[1], "clear");
  EXPECT_EQ(Decisions(db, "query"), 1);
  EXPECT_EQ(Decisions(db, "batch"), 2);
}

TEST_P(ScreenBackends, ApiScreensWithAuthAndRecordsEveryDecision) {
  TempDir dir;
  std::string db = DatabaseUrl(GetParam(), dir);
  ASSERT_FALSE(db.empty());
  std::string admin = InitAdmin(db);
  ServerProcess server(dir, db);
  ASSERT_TRUE(server.started());
  HttpClient http = server.Client();
  HttpReply op = http.Post("/v1/operators", {{"id", "op1"}, {"name", "Operator One"}}, admin);
  ASSERT_EQ(op.status, 201) << op;
  HttpReply operator_token =
      http.Post("/v1/tokens", {{"role", "operator"}, {"operator", "op1"}}, admin);
  ASSERT_EQ(operator_token.status, 201) << operator_token;
  std::string operator_tok = operator_token.Json().value("token", "");
  HttpReply auditor_token = http.Post("/v1/tokens", {{"role", "auditor"}}, admin);
  ASSERT_EQ(auditor_token.status, 201) << auditor_token;
  std::string auditor = auditor_token.Json().value("token", "");

  const std::string get = "/v1/screen?name=AECC%20Aviation%20Power%20Co.%20Ltd.&country=CN";
  // No list yet: 409 problem.
  HttpReply none = http.Get(get, operator_tok);
  EXPECT_EQ(none.status, 409) << none;
  EXPECT_EQ(none.Header("Content-Type"), "application/problem+json");
  EXPECT_NE(none.Json().value("detail", "").find("no restricted-party lists imported"),
            std::string::npos)
      << none;

  // Imported while the server runs: the next request sees it.
  CliResult imported = RunCli({"screen", "import", "--format", "bis-json", kMeu, "--db", db});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  EXPECT_EQ(http.Get(get).status, 401);
  EXPECT_EQ(http.Get(get, auditor).status, 403);
  EXPECT_EQ(http.Post("/v1/screen", {{"queries", {{{"name", "x"}}}}}, auditor).status, 403);

  HttpReply one = http.Get(get, operator_tok);
  ASSERT_EQ(one.status, 200) << one;
  json j = one.Json();
  EXPECT_EQ(j.value("class", ""), "match") << one;
  EXPECT_EQ(j["hits"][0].value("entity_name", ""), "AECC Aviation Power Co. Ltd.");
  EXPECT_FALSE(j["hits"][0]["explanation"]["alignments"].empty());
  EXPECT_GT(j.value("decision_id", 0), 0);

  HttpReply clear = http.Get("/v1/screen?name=Margarethe%20Lindqvist%20Bakery&type=org", admin);
  ASSERT_EQ(clear.status, 200) << clear;
  EXPECT_EQ(clear.Json().value("class", ""), "clear");

  HttpReply bad_type = http.Get("/v1/screen?name=x&type=spaceship", admin);
  EXPECT_EQ(bad_type.status, 400);
  EXPECT_EQ(bad_type.Json().value("field", ""), "query.type") << bad_type;
  HttpReply no_name = http.Get("/v1/screen?country=CN", admin);
  EXPECT_EQ(no_name.status, 400);
  EXPECT_EQ(no_name.Json().value("field", ""), "query.name") << no_name;

  json queries = json::array();
  queries.push_back({{"id", "q1"}, {"name", "AECC Aviation Power Co. Ltd."}, {"type", "org"}});
  queries.push_back({{"id", "q2"}, {"name", "Margarethe Lindqvist Bakery"}, {"country", "SE"}});
  queries.push_back({{"id", "q3"}, {"name", "..."}});
  HttpReply batch = http.Post("/v1/screen", {{"queries", queries}}, operator_tok);
  ASSERT_EQ(batch.status, 200) << batch;
  json results = batch.Json()["results"];
  ASSERT_EQ(results.size(), 3u) << batch;
  EXPECT_EQ(results[0]["query"].value("id", ""), "q1");
  EXPECT_EQ(results[0].value("class", ""), "match");
  EXPECT_EQ(results[1].value("class", ""), "clear");
  EXPECT_TRUE(results[2].contains("error")) << results[2];

  json too_many = json::array();
  for (int i = 0; i < 1001; ++i) too_many.push_back({{"name", "Name " + std::to_string(i)}});
  HttpReply big = http.Post("/v1/screen", {{"queries", too_many}}, admin);
  EXPECT_EQ(big.status, 400) << big.body.substr(0, 300);
  EXPECT_EQ(big.Json().value("field", ""), "body.queries") << big.body.substr(0, 300);
  HttpReply empty = http.Post("/v1/screen", {{"queries", json::array()}}, admin);
  EXPECT_EQ(empty.status, 400);
  HttpReply wrong = http.Post("/v1/screen", {{"queries", {{{"name", 7}}}}}, admin);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.Json().value("field", ""), "body.queries[0].name") << wrong;

  // A second list imported while serving: the index is rebuilt and finds its names.
  WriteText(dir / "sdn.csv",
            "306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
            "\"a.k.a. 'BNC'.\"\r\n");
  ASSERT_EQ(
      RunCli({"screen", "import", "--format", "ofac-sdn", dir / "sdn.csv", "--db", db}).exit_code,
      0);
  HttpReply cuba = http.Get("/v1/screen?name=Banco%20Nacional%20de%20Cuba", admin);
  ASSERT_EQ(cuba.status, 200) << cuba;
  EXPECT_EQ(cuba.Json().value("class", ""), "match") << cuba;

  // 1 + 1 (GET) + 2 (POST, the refused query is not a decision) + 1.
  EXPECT_EQ(Decisions(db, "api"), 5);
  server.Stop();
}

}  // namespace
}  // namespace custodian::testing
