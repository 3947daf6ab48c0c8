// The transparency log of a real `custodian serve`, on SQLite and PostgreSQL: every state change
// the API makes becomes an entry; the checkpoint and tiles it serves are checked by an
// independent implementation (tests/interop/tlog_check.py: Python, written from the RFCs and
// C2SP specs, sharing no code) and by `custodian log verify`; the proof endpoints verify; an
// entry altered in the database is caught and named; a server killed with -9 restarts with every
// acknowledged entry in the log.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/subprocess.h"
#include "support/api_fixtures.h"
#include "support/server_process.h"
#include "support/signed_receipts.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

namespace custodian::testing {
namespace {

using nlohmann::json;

class TlogServerTest : public ::testing::TestWithParam<Backend> {
 protected:
  // A landmark, a site with a licence, and a node with one attestation: 4+ entries.
  void MakeHistory(HttpClient& http, const std::string& admin) {
    ASSERT_EQ(http.Post("/v1/operators", {{"id", "op"}, {"name", "Op"}}, admin).status, 201);
    ASSERT_EQ(PostLandmark(http, admin, sin_).status, 201);
    ASSERT_EQ(http.Post("/v1/sites",
                        {{"id", "johor"},
                         {"operator", "op"},
                         {"lat", 1.4927},
                         {"lon", 103.7414},
                         {"country", "MY"},
                         {"licensed", {"MY", "SG", "ID"}}},
                        admin)
                  .status,
              201);
    ASSERT_EQ(http.Post("/v1/licences",
                        {{"id", "lic-1"},
                         {"operator", "op"},
                         {"site", "johor"},
                         {"countries", {"MY", "SG", "ID"}},
                         {"valid_from", "2020-01-01T00:00:00Z"},
                         {"valid_until", "2099-01-01T00:00:00Z"}},
                        admin)
                  .status,
              201);
    HttpReply enrolment = http.Post("/v1/enrolments", {{"site", "johor"}}, admin);
    ASSERT_EQ(enrolment.status, 201) << enrolment;
    node_.gpus = {"GPU-10a0-1"};
    HttpReply enrolled = http.Post(
        "/v1/nodes", {{"enrolment_token", enrolment.Json()["token"]},
                      {"public_key", Base64Encode(node_.key.public_key())},
                      {"gpus", {{{"uuid", node_.gpus[0]}, {"serial", "1"}, {"model", "H100"}}}}});
    ASSERT_EQ(enrolled.status, 201) << enrolled;
    std::string agent = enrolled.Json()["token"];
    HttpReply attested =
        http.Post("/v1/attestations",
                  {{"node", node_.id()},
                   {"gpus", node_.gpus},
                   {"receipts", {MakeReceipt(sin_, node_.key, node_.chipset(), 400'000, NowMs())}}},
                  agent);
    ASSERT_EQ(attested.status, 201) << attested;
  }

  // Waits for a checkpoint of at least `size` entries; returns it parsed.
  tlog::Checkpoint WaitForSize(HttpClient& http, uint64_t size) {
    tlog::Checkpoint cp;
    for (int i = 0; i < 100; ++i) {
      HttpReply r = http.Get("/log/checkpoint");
      if (r.status == 200) {
        auto note = tlog::ParseNote(r.body);
        if (note.ok()) {
          auto parsed = tlog::ParseCheckpoint(note->text);
          if (parsed.ok()) {
            cp = *parsed;
            if (cp.size >= size) return cp;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no checkpoint of size >= " << size << " (last: " << cp.size << ")";
    return cp;
  }

  std::string Vkey(HttpClient& http) {
    HttpReply r = http.Get("/log/vkey");
    EXPECT_EQ(r.status, 200) << r;
    return r.body.substr(0, r.body.find('\n'));
  }

  TestLandmark sin_{"SIN-1", 1.3521, 103.8198, "SG"};
  TestNode node_;
};

CliResult RunPython(const std::string& url, const std::string& vkey) {
  CliResult r;
  std::string cmd = "/usr/bin/python3 " +
                    ShellQuote(std::string(CUSTODIAN_SOURCE_DIR) + "/tests/interop/tlog_check.py") +
                    " " + ShellQuote(url) + " " + ShellQuote(vkey) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST_P(TlogServerTest, EveryChangeIsAnEntryAndAnIndependentCheckerAgrees) {
  TempDir dir;
  std::string db = DatabaseUrl(GetParam(), dir);
  ASSERT_FALSE(db.empty());
  std::string admin = InitAdmin(db);
  ServerProcess server(dir, db, {"--log-interval-ms", "100"});
  ASSERT_TRUE(server.started());
  HttpClient http = server.Client();
  MakeHistory(http, admin);
  // landmark, licence, enrolment, verdict
  tlog::Checkpoint cp = WaitForSize(http, 4);
  std::string vkey = Vkey(http);

  // The independent implementation reproduces the root and checks the signature.
  CliResult py = RunPython(server.url(), vkey);
  EXPECT_EQ(py.exit_code, 0) << py.out;
  EXPECT_NE(py.out.find("root OK"), std::string::npos) << py.out;

  // Each kind of change is in the log, in order.
  std::vector<std::string> types;
  for (uint64_t i = 0; i < cp.size; ++i) {
    CliResult got = RunCli({"log", "get", "--url", server.url(), "--index", std::to_string(i)});
    ASSERT_EQ(got.exit_code, 0) << got.err;
    json entry = json::parse(got.out, nullptr, false);
    ASSERT_TRUE(entry.is_object()) << got.out;
    types.push_back(entry["type"]);
    if (entry["type"] == "verdict") {
      EXPECT_EQ(entry["node"], node_.id());
      EXPECT_EQ(entry["kind"], "verified") << entry.dump();
      EXPECT_EQ(entry["chips"][0]["chip"], node_.gpus[0]);
    }
    if (entry["type"] == "enrolment") {
      EXPECT_EQ(got.out.find("cus_"), std::string::npos);  // never the agent's token
    }
  }
  EXPECT_EQ((std::vector<std::string>(types.begin(), types.begin() + 4)),
            (std::vector<std::string>{"landmark", "licence", "enrolment", "verdict"}));

  // The auditor: signature, tiles, whole-log re-hash.
  CliResult verified = RunCli({"log", "verify", "--url", server.url(), "--vkey", vkey, "--state",
                               dir / "audit.state", "--full", "--entry", "0"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  // Proof endpoints, against the checkpoint's root and exactly the size asked for.
  auto root_of = [&](const tlog::Checkpoint& c) { return c.root; };
  for (uint64_t i = 0; i < cp.size; ++i) {
    HttpReply r = http.Get(
        "/v1/log/proof/inclusion?index=" + std::to_string(i) + "&size=" + std::to_string(cp.size),
        admin);
    ASSERT_EQ(r.status, 200) << r;
    std::vector<tlog::Hash> proof;
    const json answer = r.Json();
    for (const auto& h : answer["proof"]) {
      auto bytes = Base64Decode(h.get<std::string>());
      ASSERT_TRUE(bytes.ok() && bytes->size() == 32);
      tlog::Hash hash;
      std::copy(bytes->begin(), bytes->end(), hash.begin());
      proof.push_back(hash);
    }
    auto leaf = Base64Decode(answer["leaf_hash"].get<std::string>());
    ASSERT_TRUE(leaf.ok() && leaf->size() == 32);
    tlog::Hash leaf_hash;
    std::copy(leaf->begin(), leaf->end(), leaf_hash.begin());
    EXPECT_TRUE(tlog::VerifyInclusion(leaf_hash, i, cp.size, proof, root_of(cp)).ok()) << i;
  }
  EXPECT_EQ(http.Get("/v1/log/proof/inclusion?index=" + std::to_string(cp.size) +
                         "&size=" + std::to_string(cp.size),
                     admin)
                .status,
            400);
  EXPECT_EQ(http.Get("/v1/log/proof/inclusion?index=0&size=1").status, 401);
  HttpReply consistency =
      http.Get("/v1/log/proof/consistency?from=1&to=" + std::to_string(cp.size), admin);
  EXPECT_EQ(consistency.status, 200) << consistency;
  // Tiles are public, full ones cacheable for good, partial ones not.
  HttpReply tile = http.Get("/log/tile/0/000.p/" + std::to_string(cp.size));
  EXPECT_EQ(tile.status, 200) << tile;
  EXPECT_EQ(tile.body.size(), cp.size * 32);
  EXPECT_EQ(tile.Header("Cache-Control"), "no-cache");
  EXPECT_EQ(http.Get("/log/tile/0/001").status, 404);
  EXPECT_EQ(http.Get("/log/tile/0/x1/000").status, 404);
}

TEST_P(TlogServerTest, KillNineLosesNoAcknowledgedEntry) {
  TempDir dir;
  std::string db = DatabaseUrl(GetParam(), dir);
  ASSERT_FALSE(db.empty());
  std::string admin = InitAdmin(db);
  // A long integration period: the kill comes while entries are pending, not yet integrated.
  auto server = std::make_unique<ServerProcess>(
      dir, db, std::vector<std::string>{"--log-interval-ms", "60000"});
  ASSERT_TRUE(server->started());
  HttpClient http = server->Client();
  MakeHistory(http, admin);
  server->Stop(SIGKILL);
  server = std::make_unique<ServerProcess>(dir, db,
                                           std::vector<std::string>{"--log-interval-ms", "100"});
  ASSERT_TRUE(server->started());
  HttpClient again = server->Client();
  tlog::Checkpoint cp = WaitForSize(again, 4);
  EXPECT_GE(cp.size, 4u);
  CliResult py = RunPython(server->url(), Vkey(again));
  EXPECT_EQ(py.exit_code, 0) << py.out;
}

std::string Sqlite(const std::string& path, const std::string& sql) {
  std::string out;
  FILE* p = ::popen(("sqlite3 " + ShellQuote(path) + " " + ShellQuote(sql)).c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// An entry altered in the database (one byte of a stored entry bundle) is caught by the auditor
// and by the independent checker, each naming what does not match.
TEST(TlogTamperTest, AnEntryAlteredInTheDatabaseIsCaughtAndNamed) {
  TempDir dir;
  std::string path = dir / "custodian.db";
  std::string db = "sqlite:" + path;
  std::string admin = InitAdmin(db);
  std::string vkey;
  {
    ServerProcess server(dir, db, {"--log-interval-ms", "100"});
    ASSERT_TRUE(server.started());
    HttpClient http = server.Client();
    ASSERT_EQ(http.Post("/v1/operators", {{"id", "op"}, {"name", "Op"}}, admin).status, 201);
    for (const char* id : {"SIN-1", "SIN-2", "SIN-3"}) {
      TestLandmark l{id, 1.3521, 103.8198, "SG"};
      ASSERT_EQ(PostLandmark(http, admin, l).status, 201);
    }
    for (int i = 0; i < 100; ++i) {
      HttpReply r = http.Get("/log/checkpoint");
      if (r.body.find("\n3\n") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    vkey = http.Get("/log/vkey").body;
    vkey = vkey.substr(0, vkey.find('\n'));
    EXPECT_EQ(RunCli({"log", "verify", "--url", server.url(), "--vkey", vkey, "--full"}).exit_code,
              0);
  }
  // "SIN-2" -> "SIN-X" inside entry 1 of the first entry bundle.
  std::string hex = Sqlite(path, "SELECT hex(data) FROM tlog_tiles WHERE level = -1 AND idx = 0");
  std::string needle = HexEncode(AsBytes(std::string("SIN-2")));
  std::transform(needle.begin(), needle.end(), needle.begin(), ::toupper);
  size_t at = hex.find(needle);
  ASSERT_NE(at, std::string::npos) << hex;
  hex.replace(at, needle.size(), HexEncode(AsBytes(std::string("SIN-X"))));
  Sqlite(path, "UPDATE tlog_tiles SET data = X'" + hex + "' WHERE level = -1 AND idx = 0");

  ServerProcess server(dir, db, {"--log-interval-ms", "100"});
  ASSERT_TRUE(server.started());
  CliResult audit = RunCli({"log", "verify", "--url", server.url(), "--vkey", vkey, "--full"});
  EXPECT_EQ(audit.exit_code, 1) << audit.out << audit.err;
  EXPECT_NE((audit.out + audit.err).find("entry 1"), std::string::npos) << audit.out << audit.err;
  CliResult py = RunPython(server.url(), vkey);
  EXPECT_EQ(py.exit_code, 1) << py.out;
  EXPECT_NE(py.out.find("leaf 1"), std::string::npos) << py.out;
}

// The server sends each checkpoint to a real `custodian log witness` and, with
// --log-cosignatures 1, publishes only cosigned checkpoints; the auditor checks the cosignature.
TEST(TlogWitnessedServerTest, CheckpointsArePublishedWithTheWitnessCosignature) {
  TempDir dir;
  const std::string origin = "custodian.test/log";
  CliResult log_key = RunCli({"keygen", "--out", dir / "log.key"});
  ASSERT_EQ(log_key.exit_code, 0) << log_key.err;
  auto log_pub = ParsePublicKeyBase64(log_key.out.substr(0, log_key.out.find('\n')));
  ASSERT_TRUE(log_pub.ok());
  std::string log_vkey = tlog::MakeVerifierKey(origin, tlog::kNoteKeyEd25519, *log_pub).ToString();
  ASSERT_EQ(RunCli({"keygen", "--out", dir / "witness.key"}).exit_code, 0);
  auto witness = Subprocess::Spawn(
      {"/bin/sh", "-c",
       "exec " + ShellQuote(CUSTODIAN_BINARY) + " log witness --key " +
           ShellQuote(dir / "witness.key") + " --name witness.test/w1 --listen 127.0.0.1:0 " +
           "--log-vkey " + ShellQuote(log_vkey) + " --state " + ShellQuote(dir / "w.state") +
           " 2>>" + ShellQuote(dir / "witness.log")});
  ASSERT_TRUE(witness.ok()) << witness.status().ToString();
  std::string listening = witness->ReadLine(std::chrono::seconds(30)).value_or("");
  std::string witness_vkey = witness->ReadLine(std::chrono::seconds(10)).value_or("");
  const std::string prefix = "custodian log witness listening on ";
  ASSERT_EQ(listening.rfind(prefix, 0), 0u) << listening;
  std::string witness_url = listening.substr(prefix.size());

  std::string db = "sqlite:" + (dir / "custodian.db");
  std::string admin = InitAdmin(db);
  ServerProcess server(
      dir, db,
      {"--log-key", dir / "log.key", "--log-origin", origin, "--log-interval-ms", "100",
       "--witness", witness_url + "=" + witness_vkey, "--log-cosignatures", "1"});
  ASSERT_TRUE(server.started());
  HttpClient http = server.Client();
  ASSERT_EQ(http.Post("/v1/operators", {{"id", "op"}, {"name", "Op"}}, admin).status, 201);
  TestLandmark sin{"SIN-1", 1.3521, 103.8198, "SG"};
  ASSERT_EQ(PostLandmark(http, admin, sin).status, 201);
  std::string checkpoint;
  for (int i = 0; i < 100 && checkpoint.find("witness.test/w1") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    HttpReply r = http.Get("/log/checkpoint");
    if (r.status == 200) checkpoint = r.body;
  }
  ASSERT_NE(checkpoint.find("\n1\n"), std::string::npos) << checkpoint;
  ASSERT_NE(checkpoint.find("\u2014 witness.test/w1 "), std::string::npos) << checkpoint;
  CliResult verified = RunCli({"log", "verify", "--url", server.url(), "--vkey", log_vkey,
                               "--witness-vkey", witness_vkey, "--min-cosignatures", "1"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  witness->Signal(SIGTERM);
  witness->ReadAll();
  witness->Wait();
}

INSTANTIATE_TEST_SUITE_P(Backends, TlogServerTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& test_info) {
                           return std::string(BackendName(test_info.param));
                         });

}  // namespace
}  // namespace custodian::testing
