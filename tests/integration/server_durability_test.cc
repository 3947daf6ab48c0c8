// `kill -9` of `custodian serve` during ingest loses no acknowledged bundle, on SQLite and on
// PostgreSQL: a client posts signed bundles one after another and notes every 201; the server is
// killed mid-stream and restarted on the same database; every acknowledged attestation must be
// there, and the bundle that was in flight is either stored whole (409 on resend) or not at all
// (201 on resend) — never half.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "support/api_fixtures.h"
#include "support/server_process.h"
#include "support/signed_receipts.h"

namespace custodian::testing {
namespace {

class ServerDurabilityTest : public ::testing::TestWithParam<Backend> {};

TEST_P(ServerDurabilityTest, KillNineLosesNoAcknowledgedBundle) {
  TempDir dir;
  std::string db = DatabaseUrl(GetParam(), dir);
  ASSERT_FALSE(db.empty());
  std::string admin = InitAdmin(db);
  auto server = std::make_unique<ServerProcess>(dir, db);
  ASSERT_TRUE(server->started());
  HttpClient http = server->Client();
  TestLandmark sin{"SIN-1", 1.3521, 103.8198, "SG"};
  ASSERT_EQ(http.Post("/v1/operators", {{"id", "op"}, {"name", "Op"}}, admin).status, 201);
  ASSERT_EQ(PostLandmark(http, admin, sin).status, 201);
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
  HttpReply enrolment = http.Post("/v1/enrolments", {{"site", "johor"}}, admin);
  ASSERT_EQ(enrolment.status, 201) << enrolment;
  TestNode node;
  node.gpus = {"GPU-d0d0-1"};
  HttpReply enrolled = http.Post(
      "/v1/nodes", {{"enrolment_token", enrolment.Json()["token"]},
                    {"public_key", Base64Encode(node.key.public_key())},
                    {"gpus", {{{"uuid", node.gpus[0]}, {"serial", "1"}, {"model", "H100"}}}}});
  ASSERT_EQ(enrolled.status, 201) << enrolled;
  std::string agent = enrolled.Json()["token"];

  std::vector<nlohmann::json> bundles;
  for (int i = 0; i < 3000; ++i) {
    bundles.push_back({{"node", node.id()},
                       {"gpus", node.gpus},
                       {"receipts", nlohmann::json::array({MakeReceipt(
                                        sin, node.key, node.chipset(), 400'000, NowMs())})}});
  }
  std::atomic<int> acked{0};
  std::vector<int64_t> acked_ids;
  int in_flight = -1;
  std::thread poster([&] {
    HttpClient c = server->Client();
    for (size_t i = 0; i < bundles.size(); ++i) {
      in_flight = int(i);
      HttpReply r = c.Post("/v1/attestations", bundles[i], agent);
      if (r.status != 201) return;  // the server is gone
      acked_ids.push_back(r.Json()["id"].get<int64_t>());
      acked.fetch_add(1);
    }
    in_flight = -1;
  });
  while (acked.load() < 40) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  server->Stop(SIGKILL);
  poster.join();
  ASSERT_GE(acked_ids.size(), 40u);
  ASSERT_GE(in_flight, 0) << "the server was killed after every bundle was sent";

  server = std::make_unique<ServerProcess>(dir, db);
  ASSERT_TRUE(server->started());
  http = server->Client();
  for (int64_t id : acked_ids) {
    HttpReply r = http.Get("/v1/attestations/" + std::to_string(id), admin);
    ASSERT_EQ(r.status, 200) << "acknowledged attestation " << id << " lost: " << r;
  }
  HttpReply resend = http.Post("/v1/attestations", bundles[size_t(in_flight)], agent);
  EXPECT_TRUE(resend.status == 201 || resend.status == 409) << resend;
  HttpReply verdicts = http.Get("/v1/chips/" + node.gpus[0] + "/verdicts?limit=10000", admin);
  ASSERT_EQ(verdicts.status, 200);
  // One verdict per stored attestation: acknowledged ones, plus the in-flight one (once).
  EXPECT_EQ(verdicts.Json()["verdicts"].size(), acked_ids.size() + 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerDurabilityTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& test_info) { return BackendName(test_info.param); });

}  // namespace
}  // namespace custodian::testing
