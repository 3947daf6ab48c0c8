// The registry through its public interface (registry/registry.h), on SQLite and on a real
// PostgreSQL: roles and scopes, enrolment, ingest with real Ed25519 receipts, replay and
// atomicity, cloned keys, landmark cross-checks and quarantine, alerts and the sweep.
// Receipts are built and signed here as a landmark would (real keys, chosen RTTs); the
// end-to-end test over UDP is tests/integration/fleet_e2e_test.cc.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/bytes.h"
#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "geo/countries.h"
#include "gpu/nvml.h"
#include "proto/receipt.h"
#include "proto/wire.h"
#include "registry/registry.h"
#include "support/postgres_server.h"
#include "support/signed_receipts.h"

namespace custodian::registry {
namespace {

using nlohmann::json;

const geo::CountryMap& Borders() {
  static auto* map = [] {
    auto loaded = geo::CountryMap::LoadDefault();
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return new geo::CountryMap(std::move(*loaded));
  }();
  return *map;
}

using testing::MakeReceipt;
using testing::TestLandmark;
using testing::TestNode;

// A fresh directory under /tmp, removed when the object goes.
class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/custodian-registry-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class RegistryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string& url = url_;
    if (GetParam() == "sqlite") {
      url = "sqlite:" + dir_ / "registry.db";
    } else {
      url = testing::TestPostgres();
      ASSERT_FALSE(url.empty());
    }
    auto db = store::Database::Open(url);
    ASSERT_TRUE(db.ok()) << db.status().message();
    RegistryOptions options;
    options.policy = geo::DefaultPolicy();
    options.borders = &Borders();
    auto reg = Registry::Open(std::move(*db), options);
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    reg_ = std::move(*reg);
    auto admin = reg_->InitAdmin();
    ASSERT_TRUE(admin.ok()) << admin.status().message();
    admin_ = Auth((*admin)["token"]);
  }

  Caller Auth(const std::string& token) {
    auto c = reg_->Authenticate(token);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? *c : Caller{};
  }

  static json Ok(const Result<json>& r) {
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : json();
  }

  Caller MakeCaller(const json& body) { return Auth(Ok(reg_->CreateToken(admin_, body))["token"]); }

  void AddLandmark(const TestLandmark& l, const std::string& op = "lm-op") {
    if (reg_->ListOperators(admin_)->dump().find("\"" + op + "\"") == std::string::npos) {
      Ok(reg_->CreateOperator(admin_, {{"id", op}, {"name", op}}));
    }
    Ok(reg_->CreateLandmark(admin_, {{"id", l.id},
                                     {"operator", op},
                                     {"lat", l.lat},
                                     {"lon", l.lon},
                                     {"country", l.country},
                                     {"public_key", Base64Encode(l.key.public_key())},
                                     {"address", "127.0.0.1:9"}}));
  }

  // Operator `op` with a site at (lat, lon) licensed for `licensed`, one node with `gpus`.
  std::string Enrol(const std::string& op, const std::string& site, double lat, double lon,
                    const std::string& country, const std::vector<std::string>& licensed,
                    TestNode& node) {
    if (reg_->ListOperators(admin_)->dump().find("\"" + op + "\"") == std::string::npos) {
      Ok(reg_->CreateOperator(admin_, {{"id", op}, {"name", op + " Ltd"}}));
    }
    if (!reg_->GetSite(admin_, site).ok()) {
      Ok(reg_->CreateSite(admin_, {{"id", site},
                                   {"operator", op},
                                   {"lat", lat},
                                   {"lon", lon},
                                   {"country", country},
                                   {"licensed", licensed}}));
      Ok(reg_->CreateLicence(admin_, {{"id", "lic-" + site},
                                      {"operator", op},
                                      {"site", site},
                                      {"countries", licensed},
                                      {"valid_from", "2020-01-01T00:00:00Z"},
                                      {"valid_until", "2099-01-01T00:00:00Z"}}));
    }
    json enrolment = Ok(reg_->CreateEnrolment(admin_, {{"site", site}}));
    json gpus = json::array();
    for (const auto& g : node.gpus) {
      gpus.push_back({{"uuid", g}, {"serial", "S" + g.substr(4)}, {"model", "H100"}});
    }
    json enrolled = Ok(reg_->EnrolNode({{"enrolment_token", enrolment["token"]},
                                        {"public_key", Base64Encode(node.key.public_key())},
                                        {"gpus", gpus}}));
    EXPECT_EQ(enrolled["node"]["id"], node.id());
    return enrolled["token"];
  }

  Result<json> Submit(const Caller& agent, const TestNode& node, const std::vector<json>& receipts,
                      std::optional<std::vector<std::string>> gpus = std::nullopt) {
    return reg_->SubmitAttestation(
        agent,
        {{"node", node.id()}, {"gpus", gpus ? *gpus : node.gpus}, {"receipts", json(receipts)}});
  }

  int64_t CountAttestations() {
    int64_t n = -1;
    EXPECT_TRUE(reg_->db()
                    .InTransaction(store::TxMode::kRead,
                                   [&](store::Transaction& tx) {
                                     auto rows = tx.Query("SELECT COUNT(*) FROM attestations");
                                     if (!rows.ok()) return rows.status();
                                     n = (*rows)[0].Int(0);
                                     return Status::Ok();
                                   })
                    .ok());
    return n;
  }

  json OpenAlerts(const std::string& kind) {
    return Ok(reg_->ListAlerts(admin_, {{"status", "open"}, {"kind", kind}}))["alerts"];
  }

  static int64_t Now() { return testing::NowMs(); }

  TempDir dir_;
  std::string url_;
  std::unique_ptr<Registry> reg_;
  Caller admin_;
  TestLandmark sin_{"SIN-1", 1.3521, 103.8198, "SG"};
  TestLandmark kul_{"KUL-1", 3.1390, 101.6869, "MY"};
  TestLandmark fra_{"FRA-1", 50.1109, 8.6821, "DE"};
};

TEST_P(RegistryTest, AdminIsCreatedOnceAndTokensAuthenticate) {
  EXPECT_EQ(reg_->InitAdmin().status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(reg_->Authenticate("cus_000000000000_" + std::string(64, 'a')).status().code(),
            StatusCode::kUnauthorized);
  EXPECT_EQ(reg_->Authenticate("garbage").status().code(), StatusCode::kUnauthorized);
  json created = Ok(reg_->CreateToken(admin_, {{"role", "auditor"}}));
  Caller auditor = Auth(created["token"]);
  EXPECT_EQ(auditor.role, Role::kAuditor);
  // The secret is never listed.
  EXPECT_EQ(Ok(reg_->ListTokens(admin_)).dump().find(created["token"].get<std::string>()),
            std::string::npos);
  Ok(reg_->RevokeToken(admin_, created["id"]));
  EXPECT_EQ(reg_->Authenticate(created["token"].get<std::string>()).status().code(),
            StatusCode::kUnauthorized);
  // Scoped roles need their scope.
  EXPECT_EQ(reg_->CreateToken(admin_, {{"role", "operator"}}).status().code(),
            StatusCode::kInvalidInput);
  EXPECT_EQ(
      reg_->CreateToken(admin_, {{"role", "operator"}, {"operator", "nobody"}}).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(reg_->CreateToken(auditor, {{"role", "admin"}}).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_P(RegistryTest, BadInputNamesTheFieldAndWritesNothing) {
  auto r = reg_->CreateOperator(admin_, {{"id", "op"}, {"name", 7}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "body.name: must be a string");
  Ok(reg_->CreateOperator(admin_, {{"id", "op"}, {"name", "Op"}}));
  r = reg_->CreateSite(
      admin_, {{"id", "s"}, {"operator", "op"}, {"lat", 91}, {"lon", 0}, {"country", "SG"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("body.lat: must be a number in [-90, 90]"),
            std::string::npos);
  r = reg_->CreateSite(admin_, {{"id", "s"},
                                {"operator", "op"},
                                {"lat", 1},
                                {"lon", 0},
                                {"country", "SG"},
                                {"licensed", {"SG", "xx"}}});
  EXPECT_NE(r.status().message().find("body.licensed[1]"), std::string::npos);
  r = reg_->CreateSite(admin_, {{"id", "s"}, {"operator", "op"}, {"colour", "red"}});
  EXPECT_EQ(r.status().message(), "body.colour: unknown field");
  EXPECT_EQ(reg_->GetSite(admin_, "s").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->CreateOperator(admin_, {{"id", "op"}, {"name", "Again"}}).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(reg_->CreateSite(admin_, json::array()).status().code(), StatusCode::kInvalidInput);
}

TEST_P(RegistryTest, HonestNodeIsVerifiedAndReplaysAreRefusedWhole) {
  AddLandmark(sin_);
  AddLandmark(kul_);
  TestNode node;
  node.gpus = {"GPU-aaaa-1", "GPU-aaaa-2"};
  Caller agent = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, node));
  // 0.4 ms from Singapore: within 60 km; 2.4 ms from Kuala Lumpur: within 360 km.
  json r1 = MakeReceipt(sin_, node.key, node.chipset(), 400'000, Now());
  json r2 = MakeReceipt(kul_, node.key, node.chipset(), 2'400'000, Now());
  json out = Ok(Submit(agent, node, {r1, r2}));
  EXPECT_EQ(out["kind"], "verified") << out.dump(2);
  ASSERT_EQ(out["verdicts"].size(), 2u);
  EXPECT_TRUE(out["alerts"].empty()) << out.dump(2);
  json chip = Ok(reg_->GetChip(admin_, "GPU-aaaa-1"));
  EXPECT_EQ(chip["latest_verdict"]["kind"], "verified");
  EXPECT_EQ(Ok(reg_->ChipVerdicts(admin_, "GPU-aaaa-1", {}))["verdicts"].size(), 1u);

  // A fresh receipt plus a replayed one: refused whole, nothing stored.
  int64_t before = CountAttestations();
  json r3 = MakeReceipt(sin_, node.key, node.chipset(), 400'000, Now());
  auto replay = Submit(agent, node, {r3, r1});
  EXPECT_EQ(replay.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(replay.status().message().find("body.receipts[1]"), std::string::npos);
  EXPECT_EQ(CountAttestations(), before);
  Ok(Submit(agent, node, {r3}));  // r3 was not half-stored
  EXPECT_EQ(CountAttestations(), before + 1);
}

TEST_P(RegistryTest, ReceiptsThatDoNotCheckOutAreRefused) {
  AddLandmark(sin_);
  TestNode node;
  node.gpus = {"GPU-bbbb-1"};
  Caller agent = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, node));
  TestLandmark rogue{"ROGUE-1", 1.3, 103.8, "SG"};
  auto unknown = Submit(agent, node, {MakeReceipt(rogue, node.key, node.chipset(), 1, Now())});
  EXPECT_EQ(unknown.status().code(), StatusCode::kFailedCheck);
  EXPECT_NE(unknown.status().message().find("unknown landmark"), std::string::npos);

  TestLandmark forged = sin_;
  forged.key = SigningKey::Generate();  // signs as SIN-1 with another key
  auto bad_sig = Submit(agent, node, {MakeReceipt(forged, node.key, node.chipset(), 1, Now())});
  EXPECT_EQ(bad_sig.status().code(), StatusCode::kFailedCheck);

  SigningKey other = SigningKey::Generate();
  auto other_key = Submit(agent, node, {MakeReceipt(sin_, other, node.chipset(), 1, Now())});
  EXPECT_EQ(other_key.status().code(), StatusCode::kFailedCheck);
  EXPECT_NE(other_key.status().message().find("node_pub"), std::string::npos);

  auto other_gpus = Submit(agent, node, {MakeReceipt(sin_, node.key, node.chipset(), 1, Now())},
                           std::vector<std::string>{"GPU-cccc-9"});
  EXPECT_EQ(other_gpus.status().code(), StatusCode::kFailedCheck);
  EXPECT_NE(other_gpus.status().message().find("chipset_hash"), std::string::npos);

  auto old = Submit(agent, node,
                    {MakeReceipt(sin_, node.key, node.chipset(), 1, Now() - 2 * 86400 * 1000)});
  EXPECT_EQ(old.status().code(), StatusCode::kFailedCheck);

  json tampered = MakeReceipt(sin_, node.key, node.chipset(), 400'000, Now());
  tampered["min_rtt_ns"] = 100;
  EXPECT_FALSE(Submit(agent, node, {tampered}).ok());
  EXPECT_EQ(CountAttestations(), 0);

  // Another node's agent may not submit for this one.
  TestNode second;
  second.gpus = {"GPU-dddd-1"};
  Caller agent2 = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, second));
  EXPECT_EQ(
      Submit(agent2, node, {MakeReceipt(sin_, node.key, node.chipset(), 1, Now())}).status().code(),
      StatusCode::kPermissionDenied);
}

TEST_P(RegistryTest, DuplicateEnrolmentIsRefused) {
  TestNode node;
  node.gpus = {"GPU-eeee-1"};
  Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY"}, node);
  json e = Ok(reg_->CreateEnrolment(admin_, {{"site", "johor"}}));
  json body = {{"enrolment_token", e["token"]},
               {"public_key", Base64Encode(node.key.public_key())},
               {"gpus", {{{"uuid", "GPU-ffff-1"}}}}};
  EXPECT_EQ(reg_->EnrolNode(body).status().code(), StatusCode::kAlreadyExists);
  // The same chip on a second node is refused too, and the token stays unused.
  TestNode other;
  body["public_key"] = Base64Encode(other.key.public_key());
  body["gpus"] = {{{"uuid", "GPU-eeee-1"}}};
  EXPECT_EQ(reg_->EnrolNode(body).status().code(), StatusCode::kAlreadyExists);
  body["gpus"] = {{{"uuid", "GPU-ffff-1"}}};
  Ok(reg_->EnrolNode(body));
  // Single use.
  TestNode third;
  body["public_key"] = Base64Encode(third.key.public_key());
  body["gpus"] = {{{"uuid", "GPU-ffff-2"}}};
  EXPECT_EQ(reg_->EnrolNode(body).status().code(), StatusCode::kAlreadyExists);
  body["enrolment_token"] = "enr_000000000000_" + std::string(64, '0');
  EXPECT_EQ(reg_->EnrolNode(body).status().code(), StatusCode::kUnauthorized);
}

TEST_P(RegistryTest, AnswerTooFastForTheClaimedSiteIsAViolationWithAnAlert) {
  AddLandmark(sin_);
  TestNode node;
  node.gpus = {"GPU-1111-1"};
  // Claims Frankfurt, answers Singapore in 0.4 ms.
  Caller agent = Auth(Enrol("op-b", "frankfurt", 50.11, 8.68, "DE", {"DE"}, node));
  json out = Ok(Submit(agent, node, {MakeReceipt(sin_, node.key, node.chipset(), 400'000, Now())}));
  EXPECT_EQ(out["kind"], "violation") << out.dump(2);
  json alerts = OpenAlerts("violation");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["node"], node.id());
  EXPECT_EQ(alerts[0]["evidence"]["attestation"], out["id"]);
  // A second violation bumps the same open alert.
  Ok(Submit(agent, node, {MakeReceipt(sin_, node.key, node.chipset(), 400'000, Now())}));
  alerts = OpenAlerts("violation");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["count"], 2);
  // Acknowledge, then resolve with a comment.
  std::string id = std::to_string(alerts[0]["id"].get<int64_t>());
  Ok(reg_->AcknowledgeAlert(admin_, id, json::object()));
  EXPECT_EQ(reg_->ResolveAlert(admin_, id, json::object()).status().code(),
            StatusCode::kInvalidInput);
  json resolved = Ok(reg_->ResolveAlert(admin_, id, {{"comment", "site moved, licence updated"}}));
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_TRUE(OpenAlerts("violation").empty());
}

TEST_P(RegistryTest, ClonedKeyAnsweringFromTwoPlacesAtOnceIsDetected) {
  AddLandmark(sin_);
  AddLandmark(fra_);
  TestNode node;
  node.gpus = {"GPU-2222-1"};
  Caller agent = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, node));
  int64_t t = Now();
  // Original near Singapore, copy near Frankfurt, within the same second: 10,000 km apart.
  json a = Ok(Submit(agent, node, {MakeReceipt(sin_, node.key, node.chipset(), 400'000, t)}));
  EXPECT_EQ(a["kind"], "verified");
  json b = Ok(Submit(agent, node, {MakeReceipt(fra_, node.key, node.chipset(), 300'000, t + 5)}));
  EXPECT_EQ(b["kind"], "violation") << b.dump(2);
  json alerts = OpenAlerts("cloned-key");
  ASSERT_EQ(alerts.size(), 1u) << b.dump(2);
  EXPECT_NE(alerts[0]["reason"].get<std::string>().find("two places"), std::string::npos);
  EXPECT_GT(alerts[0]["numbers"]["distance_km"].get<double>(), 9000);
  // 50 ms later is still too soon: the sessions leave ~8 ms unexplained after the clock
  // uncertainty, 2,400 km of light, not 10,000.
  json c = Ok(Submit(agent, node, {MakeReceipt(fra_, node.key, node.chipset(), 300'000, t + 55)}));
  EXPECT_EQ(c["kind"], "violation") << c.dump(2);
  json d = Ok(Submit(agent, node, {MakeReceipt(sin_, node.key, node.chipset(), 400'000, t + 105)}));
  EXPECT_EQ(d["kind"], "violation") << d.dump(2);
}

// Bundles arriving together are written in shared transactions (group commit): each must still
// be stored whole or refused whole, on its own.
TEST_P(RegistryTest, ConcurrentBundlesAreStoredWholeAndAReplayAmongThemFailsAlone) {
  AddLandmark(sin_);
  AddLandmark(kul_);
  constexpr int kNodes = 6, kRounds = 8;
  std::vector<TestNode> nodes(kNodes);
  std::vector<Caller> agents;
  for (int n = 0; n < kNodes; ++n) {
    nodes[n].gpus = {"GPU-c" + std::to_string(n) + "-1", "GPU-c" + std::to_string(n) + "-2"};
    agents.push_back(
        Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, nodes[n])));
  }
  const int64_t t0 = Now() - 60'000;
  // Per node and round, a fresh bundle; every node also replays its round-0 receipt in round 4,
  // alongside a fresh one, so replays fall into groups with honest bundles.
  std::vector<std::vector<json>> first(kNodes);
  std::atomic<int> stored{0}, replays_refused{0}, other_errors{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      for (int round = 0; round < kRounds; ++round) {
        int64_t t = t0 + round * 5'000;
        json fresh = MakeReceipt(sin_, nodes[n].key, nodes[n].chipset(), 400'000, t);
        json fresh2 = MakeReceipt(kul_, nodes[n].key, nodes[n].chipset(), 2'400'000, t + 1);
        std::vector<json> receipts = {fresh, fresh2};
        if (round == 0) first[n] = receipts;
        if (round == 4) receipts = {fresh, first[n][1]};
        auto out = Submit(agents[n], nodes[n], receipts);
        if (out.ok()) {
          stored++;
        } else if (round == 4 && out.status().code() == StatusCode::kAlreadyExists) {
          replays_refused++;
          // The fresh receipt of the refused bundle was not half-stored: it goes in now.
          if (Submit(agents[n], nodes[n], {fresh}).ok()) stored++;
        } else {
          other_errors++;
          ADD_FAILURE() << out.status().message();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(replays_refused.load(), kNodes);
  EXPECT_EQ(stored.load(), kNodes * kRounds);
  EXPECT_EQ(CountAttestations(), kNodes * kRounds);
  for (int n = 0; n < kNodes; ++n) {
    json history = Ok(reg_->ChipVerdicts(admin_, nodes[n].gpus[0], {{"limit", "100"}}));
    EXPECT_EQ(history["verdicts"].size(), size_t(kRounds)) << history.dump(2);
  }
}

// The same receipt sent twice at once: exactly one bundle gets it, whichever transaction (or
// group) each lands in.
TEST_P(RegistryTest, OneReceiptInTwoSimultaneousBundlesIsStoredOnce) {
  AddLandmark(sin_);
  TestNode node;
  node.gpus = {"GPU-dddd-1"};
  Caller agent = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, node));
  for (int i = 0; i < 10; ++i) {
    json r = MakeReceipt(sin_, node.key, node.chipset(), 400'000, Now() - 30'000 + i);
    std::atomic<int> ok{0}, replayed{0};
    std::thread a([&] { (Submit(agent, node, {r}).ok() ? ok : replayed)++; });
    std::thread b([&] { (Submit(agent, node, {r}).ok() ? ok : replayed)++; });
    a.join();
    b.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(replayed.load(), 1);
  }
  EXPECT_EQ(CountAttestations(), 10);
}

TEST_P(RegistryTest, MovingSlowerThanLightIsNotAClone) {
  AddLandmark(sin_);
  AddLandmark(fra_);
  TestNode node;
  node.gpus = {"GPU-3333-1"};
  Caller agent = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, node));
  int64_t t = Now() - 120'000;
  Ok(Submit(agent, node, {MakeReceipt(sin_, node.key, node.chipset(), 400'000, t)}));
  // Two minutes later near Frankfurt: light covers that 3,000 times over. No clone alert.
  Ok(Submit(agent, node, {MakeReceipt(fra_, node.key, node.chipset(), 300'000, t + 120'000)}));
  EXPECT_TRUE(OpenAlerts("cloned-key").empty());
}

TEST_P(RegistryTest, ChipOnAnotherNodeAndChangedGpuSetRaiseAlerts) {
  AddLandmark(sin_);
  TestNode a, b;
  a.gpus = {"GPU-4444-1"};
  b.gpus = {"GPU-4444-2"};
  Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, a);
  Caller agent_b = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, b));
  // Node b reports a's chip too.
  TestNode b_now = b;
  b_now.gpus = {"GPU-4444-1", "GPU-4444-2"};
  json out =
      Ok(Submit(agent_b, b_now, {MakeReceipt(sin_, b.key, b_now.chipset(), 400'000, Now())}));
  EXPECT_EQ(OpenAlerts("chip-conflict").size(), 1u) << out.dump(2);
  EXPECT_EQ(OpenAlerts("gpu-set-changed").size(), 1u);
}

TEST_P(RegistryTest, OperatorsSeeOnlyTheirOwnFleet) {
  AddLandmark(sin_);
  TestNode a, b;
  a.gpus = {"GPU-5555-1"};
  b.gpus = {"GPU-5555-2"};
  Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, a);
  Caller agent_b = Auth(Enrol("op-b", "frankfurt", 50.11, 8.68, "DE", {"DE"}, b));
  Ok(Submit(agent_b, b, {MakeReceipt(sin_, b.key, b.chipset(), 400'000, Now())}));  // violation
  Caller op_a = MakeCaller({{"role", "operator"}, {"operator", "op-a"}});
  Caller op_b = MakeCaller({{"role", "operator"}, {"operator", "op-b"}});
  EXPECT_EQ(reg_->GetSite(op_a, "frankfurt").status().code(), StatusCode::kPermissionDenied);
  Ok(reg_->GetSite(op_b, "frankfurt"));
  EXPECT_EQ(Ok(reg_->ListChips(op_a, {}))["chips"].size(), 1u);
  EXPECT_EQ(Ok(reg_->ListNodes(op_a, {}))["nodes"].size(), 1u);
  EXPECT_EQ(reg_->GetChip(op_a, "GPU-5555-2").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(reg_->GetNode(op_a, b.id()).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Ok(reg_->ListAlerts(op_a, {}))["alerts"].empty());
  json b_alerts = Ok(reg_->ListAlerts(op_b, {}))["alerts"];
  ASSERT_EQ(b_alerts.size(), 1u);
  std::string alert_id = std::to_string(b_alerts[0]["id"].get<int64_t>());
  EXPECT_EQ(reg_->AcknowledgeAlert(op_a, alert_id, json::object()).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Ok(reg_->FleetBySite(op_a))["sites"].size(), 1u);
  EXPECT_EQ(Ok(reg_->FleetBySite(admin_))["sites"].size(), 2u);
  // Operators may create sites only for themselves, enrol only at their own sites.
  EXPECT_EQ(
      reg_->CreateSite(
              op_a, {{"id", "x"}, {"operator", "op-b"}, {"lat", 1}, {"lon", 1}, {"country", "SG"}})
          .status()
          .code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(reg_->CreateEnrolment(op_a, {{"site", "frankfurt"}}).status().code(),
            StatusCode::kPermissionDenied);
  // Auditors read everything and change nothing.
  Caller auditor = MakeCaller({{"role", "auditor"}});
  EXPECT_EQ(Ok(reg_->ListChips(auditor, {}))["chips"].size(), 2u);
  EXPECT_EQ(reg_->AcknowledgeAlert(auditor, alert_id, json::object()).status().code(),
            StatusCode::kPermissionDenied);
  // Agents see their own node only.
  EXPECT_EQ(reg_->GetNode(agent_b, a.id()).status().code(), StatusCode::kPermissionDenied);
  Ok(reg_->GetNode(agent_b, b.id()));
  Ok(reg_->PlanNode(agent_b, b.id(), {}));
  EXPECT_EQ(reg_->PlanNode(agent_b, a.id(), {}).status().code(), StatusCode::kPermissionDenied);
}

TEST_P(RegistryTest, PlanListsHelpfulLandmarksFirstWithASharedSchedule) {
  AddLandmark(fra_);
  AddLandmark(sin_);
  TestNode node;
  node.gpus = {"GPU-6666-1"};
  Caller agent = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, node));
  json plan = Ok(reg_->PlanNode(agent, node.id(), {{"interval_s", "30"}}));
  ASSERT_EQ(plan["landmarks"].size(), 2u);
  EXPECT_EQ(plan["landmarks"][0]["id"], "SIN-1");
  EXPECT_TRUE(plan["landmarks"][0]["can_help"].get<bool>());
  EXPECT_FALSE(plan["landmarks"][1]["can_help"].get<bool>());
  int64_t at = plan["measure_at_ms"];
  EXPECT_GT(at, Now());
  EXPECT_LE(at, Now() + 31'000);
  // Every copy of the key asking now is told the same instant.
  EXPECT_EQ(Ok(reg_->PlanNode(agent, node.id(), {{"interval_s", "30"}}))["measure_at_ms"], at);
  EXPECT_EQ(reg_->PlanNode(agent, node.id(), {{"interval_s", "0"}}).status().code(),
            StatusCode::kInvalidInput);
}

TEST_P(RegistryTest, LandmarkContradictingPhysicsIsQuarantinedUntilCleared) {
  // LIAR-1 says it is in London but answers Singapore and Kuala Lumpur in 1 ms.
  TestLandmark liar{"LIAR-1", 51.5074, -0.1278, "GB"};
  AddLandmark(sin_);
  AddLandmark(kul_);
  AddLandmark(liar);
  Caller liar_token = MakeCaller({{"role", "landmark"}, {"landmark", "LIAR-1"}});
  Caller kul_token = MakeCaller({{"role", "landmark"}, {"landmark", "KUL-1"}});
  // KUL is honestly 4.5 ms from SIN (315 km needs 2.1 ms at c): no contradiction.
  json honest = Ok(reg_->SubmitCrosschecks(
      kul_token, "KUL-1", {{"receipts", {MakeReceipt(sin_, kul_.key, {}, 4'500'000, Now())}}}));
  EXPECT_TRUE(honest["contradictions"].empty());
  // Submitting for another landmark is refused.
  EXPECT_EQ(
      reg_->SubmitCrosschecks(kul_token, "LIAR-1", {{"receipts", json::array()}}).status().code(),
      StatusCode::kPermissionDenied);
  json first = Ok(reg_->SubmitCrosschecks(
      liar_token, "LIAR-1", {{"receipts", {MakeReceipt(sin_, liar.key, {}, 1'000'000, Now())}}}));
  EXPECT_EQ(first["contradictions"].size(), 1u);
  EXPECT_TRUE(first["quarantined"].empty());  // one peer is not yet enough to tell who lies
  json second = Ok(reg_->SubmitCrosschecks(
      liar_token, "LIAR-1", {{"receipts", {MakeReceipt(kul_, liar.key, {}, 1'000'000, Now())}}}));
  EXPECT_EQ(second["quarantined"], json::array({"LIAR-1"})) << second.dump(2);
  EXPECT_EQ(Ok(reg_->GetLandmark(admin_, "LIAR-1"))["status"], "quarantined");
  EXPECT_EQ(Ok(reg_->GetLandmark(admin_, "SIN-1"))["status"], "active");
  EXPECT_EQ(OpenAlerts("landmark-quarantined").size(), 1u);

  // Its receipts no longer count.
  TestNode node;
  node.gpus = {"GPU-7777-1"};
  Caller agent = Auth(Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY", "SG", "ID"}, node));
  auto refused = Submit(agent, node, {MakeReceipt(liar, node.key, node.chipset(), 1000, Now())});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedCheck);
  EXPECT_NE(refused.status().message().find("quarantined"), std::string::npos);

  EXPECT_EQ(reg_->ClearLandmark(kul_token, "LIAR-1", {{"comment", "x"}}).status().code(),
            StatusCode::kPermissionDenied);
  Ok(reg_->ClearLandmark(admin_, "LIAR-1", {{"comment", "position corrected on site visit"}}));
  EXPECT_EQ(Ok(reg_->GetLandmark(admin_, "LIAR-1"))["status"], "active");
  EXPECT_TRUE(OpenAlerts("landmark-quarantined").empty());
}

TEST_P(RegistryTest, SweepRaisesStaleOncePerDarkNode) {
  TestNode node;
  node.gpus = {"GPU-8888-1"};
  Enrol("op-a", "johor", 1.4927, 103.7414, "MY", {"MY"}, node);
  // A registry whose stale window is 0 s sees the node dark at once.
  EXPECT_EQ(*reg_->Sweep(), 0);  // default window: 900 s
  RegistryOptions options;
  options.policy = geo::DefaultPolicy();
  options.borders = &Borders();
  options.stale_after_s = 0;
  options.inconclusive_window_s = 0;
  auto db = store::Database::Open(url_);
  ASSERT_TRUE(db.ok());
  auto strict = Registry::Open(std::move(*db), options);
  ASSERT_TRUE(strict.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(*(*strict)->Sweep(), 1);
  EXPECT_EQ(*(*strict)->Sweep(), 0);
  json stale = OpenAlerts("stale");
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0]["node"], node.id());
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
}  // namespace custodian::registry
