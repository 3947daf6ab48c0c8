// The agent daemon and the landmark cross-check loop against a fake registry (httplib::Server)
// and real landmarks in this process over loopback UDP: plans, skipped landmarks, --via, the
// bundle's shape, delivery, spooling while the server is away, exactly-once redelivery across a
// restart, permanent refusals, backoff between rounds.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "client/agent_daemon.h"
#include "client/crosscheck.h"
#include "core/bytes.h"
#include "core/canonical_json.h"
#include "core/clock.h"
#include "proto/landmark.h"
#include "proto/receipt.h"
#include "unit/client_fake_server.h"

namespace custodian::client {
namespace {

using custodian::testing::FakeHttpServer;
using custodian::testing::Problem;
using custodian::testing::ScratchDir;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kAgentToken[] = "agent-token-1";

SigningKey KeyFromByte(uint8_t b) {
  return SigningKey::FromSeed(Bytes(32, b)).value();
}

// A landmark serving on 127.0.0.1:0 in a background thread.
class TestLandmark {
 public:
  TestLandmark(const std::string& id, uint8_t seed) : key_(KeyFromByte(seed)) {
    proto::LandmarkConfig c;
    c.id = id;
    c.lat_deg = 1.3521;
    c.lon_deg = 103.8198;
    c.listen = ParseHostPort("127.0.0.1:0", "test").value();
    c.spacing_ns = 100'000;
    c.response_timeout_ns = 300'000'000;
    landmark_ = proto::Landmark::Create(c, key_).value();
    thread_ = std::thread([this] { (void)landmark_->Run(stop_); });
  }
  ~TestLandmark() {
    stop_ = true;
    thread_.join();
  }
  std::string address() const { return landmark_->local_address().ToString(); }
  const PublicKey& pub() const { return key_.public_key(); }
  json PlanEntry(const std::string& id) const {
    return {{"id", id},      {"address", address()}, {"public_key", Base64Encode(pub())},
            {"lat", 1.3521}, {"lon", 103.8198},      {"can_help", true}};
  }

 private:
  SigningKey key_;
  std::unique_ptr<proto::Landmark> landmark_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// An address where nothing answers: a bound UDP port we never read.
std::string DeadAddress() {
  static int fd = [] {
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    return s;
  }();
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

// The registry's side of the agent API, with switchable answers.
class FakeRegistry {
 public:
  enum class Mode { kAccept, kUnavailable, kRefuse, kConflict };

  FakeRegistry() {
    auto& s = fake_.server();
    s.Get(R"(/v1/nodes/([0-9a-f]+)/plan)",
          [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard<std::mutex> lock(mu_);
            ++plan_calls_;
            if (req.get_header_value("Authorization") != std::string("Bearer ") + kAgentToken) {
              return Problem(res, 401, "bad token");
            }
            if (plan_down_) return Problem(res, 503, "database is busy");
            planned_node_ = req.matches[1];
            interval_param_ = req.get_param_value("interval_s");
            json plan = {{"node", planned_node_}, {"landmarks", plan_}};
            if (measure_in_ms_ > 0) {
              last_measure_at_ms_ = RealtimeNs() / 1'000'000 + measure_in_ms_;
              plan["measure_at_ms"] = last_measure_at_ms_;
            }
            res.set_content(plan.dump(), "application/json");
          });
    s.Post("/v1/attestations", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      ++post_calls_;
      if (post_failures_left_ > 0) {
        --post_failures_left_;
        return Problem(res, 503, "try later");
      }
      switch (mode_) {
        case Mode::kUnavailable:
          return Problem(res, 503, "try later");
        case Mode::kRefuse:
          return Problem(res, 422, "receipts[0].landmark_sig: invalid");
        case Mode::kConflict:
          return Problem(res, 409, "receipts[0]: already stored");
        case Mode::kAccept:
          break;
      }
      json body = json::parse(req.body);
      bundles_.push_back(body);
      json verdicts = json::array();
      for (const json& uuid : body["gpus"]) {
        verdicts.push_back({{"chip", uuid}, {"kind", verdict_}});
      }
      res.status = 201;
      res.set_content(json{{"id", "att-" + std::to_string(bundles_.size())},
                           {"verdicts", verdicts},
                           {"alerts", alerts_}}
                          .dump(),
                      "application/json");
    });
    fake_.Start();
  }

  std::string url() const { return fake_.url(); }
  void SetPlan(json plan) {
    std::lock_guard<std::mutex> lock(mu_);
    plan_ = std::move(plan);
  }
  void SetMode(Mode m) {
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = m;
  }
  void SetPlanDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    plan_down_ = down;
  }
  void FailNextPosts(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    post_failures_left_ = n;
  }
  void SetAnswer(std::string verdict, json alerts) {
    std::lock_guard<std::mutex> lock(mu_);
    verdict_ = std::move(verdict);
    alerts_ = std::move(alerts);
  }
  // Plans carry measure_at_ms = now + ms (0: no schedule); returns the last one given.
  void ScheduleIn(int64_t ms) {
    std::lock_guard<std::mutex> lock(mu_);
    measure_in_ms_ = ms;
  }
  int64_t last_measure_at_ms() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_measure_at_ms_;
  }
  std::string interval_param() {
    std::lock_guard<std::mutex> lock(mu_);
    return interval_param_;
  }
  std::vector<json> bundles() {
    std::lock_guard<std::mutex> lock(mu_);
    return bundles_;
  }
  int post_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return post_calls_;
  }

 private:
  FakeHttpServer fake_;
  std::mutex mu_;
  json plan_ = json::array();
  Mode mode_ = Mode::kAccept;
  bool plan_down_ = false;
  int post_failures_left_ = 0;
  std::string verdict_ = "verified";
  json alerts_ = json::array();
  std::vector<json> bundles_;
  std::string planned_node_;
  std::string interval_param_;
  int64_t measure_in_ms_ = 0;
  int64_t last_measure_at_ms_ = 0;
  int plan_calls_ = 0;
  int post_calls_ = 0;
};

class AgentDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    registry_.SetPlan(json::array({sin_.PlanEntry("SIN-1"),
                                   {{"id", "DEAD-1"},
                                    {"address", DeadAddress()},
                                    {"public_key", Base64Encode(KeyFromByte(9).public_key())}},
                                   fra_.PlanEntry("FRA-1")}));
  }

  AgentOptions Options() {
    AgentOptions o;
    o.api.base_url = registry_.url();
    o.api.token = kAgentToken;
    o.api.connect_timeout_ms = 500;
    o.gpus = {{0, "GPU-aaaa", "1650", "NVIDIA H100", "", ""},
              {1, "GPU-bbbb", "1651", "NVIDIA H100", "", ""}};
    o.spool_dir = dir_ / "spool";
    o.samples = 3;
    o.measure_timeout_ms = 150;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    };
    return o;
  }
  std::unique_ptr<AgentDaemon> Daemon(AgentOptions o) {
    auto d = AgentDaemon::Create(std::move(o), node_key_);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(*d) : nullptr;
  }
  std::unique_ptr<AgentDaemon> Daemon() { return Daemon(Options()); }
  bool Logged(const std::string& needle) {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const auto& l : log_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  ScratchDir dir_;
  TestLandmark sin_{"SIN-1", 1};
  TestLandmark fra_{"FRA-1", 2};
  FakeRegistry registry_;
  SigningKey node_key_ = KeyFromByte(42);
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(AgentDaemonTest, RoundMeasuresThePlanAndDeliversTheBundle) {
  auto d = Daemon();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->node_id(), HexEncode(proto::DeriveNodeId(node_key_.public_key())));
  EXPECT_EQ(d->node_id().size(), 32u);
  RoundReport r = d->RunRound();
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.landmarks_planned, 3u);
  EXPECT_EQ(r.landmarks_measured, 2u);
  EXPECT_EQ(r.attestation_id, "att-1");
  EXPECT_EQ(r.verdict_kinds, std::vector<std::string>{"verified"});
  EXPECT_EQ(r.pending, 0u);
  EXPECT_EQ(r.Summary(), "round 1: measured 2/3 landmarks, attestation att-1: verified");
  EXPECT_TRUE(Logged("skipping landmark DEAD-1")) << "a silent landmark is skipped and logged";

  auto bundles = registry_.bundles();
  ASSERT_EQ(bundles.size(), 1u);
  const json& b = bundles[0];
  EXPECT_EQ(b["node"], d->node_id());
  EXPECT_EQ(b["gpus"], json::array({"GPU-aaaa", "GPU-bbbb"}));
  ASSERT_EQ(b["receipts"].size(), 2u);
  const std::vector<std::pair<std::string, PublicKey>> expected = {{"SIN-1", sin_.pub()},
                                                                   {"FRA-1", fra_.pub()}};
  for (size_t i = 0; i < 2; ++i) {
    // What the registry will do: canonicalise, parse strictly, verify against the landmark.
    auto receipt = proto::ParseReceipt(CanonicalJson(b["receipts"][i]).value());
    ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
    EXPECT_EQ(receipt->landmark_id, expected[i].first);
    EXPECT_TRUE(proto::VerifyReceipt(*receipt, expected[i].second).ok());
    EXPECT_EQ(receipt->node_pub, node_key_.public_key());
    EXPECT_EQ(receipt->chipset_hash, gpu::ChipSetHash(Options().gpus));
    EXPECT_EQ(receipt->samples_ns.size(), 3u);
  }
  EXPECT_EQ(d->spool().Count().value(), 0u);
  EXPECT_TRUE(fs::exists(dir_ / "spool/plan.json")) << "the plan is cached for outages";

  registry_.SetAnswer("violation", json::array({{{"id", "al-1"}, {"kind", "fast_answer"}},
                                                {{"id", "al-2"}, {"kind", "fast_answer"}}}));
  r = d->RunRound();
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Summary(),
            "round 2: measured 2/3 landmarks, attestation att-2: violation; alerts: fast_answer");
}

TEST_F(AgentDaemonTest, MaxLandmarksAndViaAndCanHelpOrder) {
  // The plan lists FRA-1 first but says it cannot help, and SIN-1 at a dead address; --via
  // routes SIN-1 to where it really listens.
  json fra = fra_.PlanEntry("FRA-1");
  fra["can_help"] = false;
  json sin = sin_.PlanEntry("SIN-1");
  sin["address"] = DeadAddress();
  registry_.SetPlan(json::array({fra, sin}));
  AgentOptions o = Options();
  o.max_landmarks = 1;
  o.via = ParseVia({"SIN-1=" + sin_.address()}).value();
  auto d = Daemon(o);
  RoundReport r = d->RunRound();
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.landmarks_planned, 1u);
  EXPECT_EQ(r.landmarks_measured, 1u);
  ASSERT_EQ(registry_.bundles().size(), 1u);
  EXPECT_EQ(registry_.bundles()[0]["receipts"][0]["landmark_id"], "SIN-1");
}

TEST_F(AgentDaemonTest, ServerAwaySpoolsAndTheNextRoundResendsOldestFirst) {
  auto d = Daemon();
  registry_.SetMode(FakeRegistry::Mode::kUnavailable);
  RoundReport r = d->RunRound();
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.pending, 1u);
  EXPECT_NE(r.Summary().find("not delivered"), std::string::npos) << r.Summary();
  auto spooled = d->spool().List().value();
  ASSERT_EQ(spooled.size(), 1u);

  registry_.SetMode(FakeRegistry::Mode::kAccept);
  r = d->RunRound();
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.resent, 1u);
  EXPECT_EQ(r.pending, 0u);
  EXPECT_EQ(r.attestation_id, "att-2") << "the spooled bundle went first";
  auto bundles = registry_.bundles();
  ASSERT_EQ(bundles.size(), 2u);
  EXPECT_EQ(bundles[0], spooled[0].bundle);
  EXPECT_NE(bundles[0], bundles[1]);
  EXPECT_EQ(d->spool().Count().value(), 0u);
}

TEST_F(AgentDaemonTest, SpooledBundleIsDeliveredExactlyOnceAfterARestart) {
  json spooled;
  {
    auto d = Daemon();
    registry_.SetMode(FakeRegistry::Mode::kUnavailable);
    RoundReport r = d->RunRound();
    ASSERT_FALSE(r.status.ok());
    spooled = d->spool().List().value().at(0).bundle;
  }  // process "exits"
  registry_.SetMode(FakeRegistry::Mode::kAccept);
  registry_.SetPlanDown(true);  // and the plan cannot even be fetched: the cache is used
  auto d = Daemon();
  RoundReport r = d->RunRound();
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.plan_cached);
  EXPECT_EQ(r.resent, 1u);
  EXPECT_NE(r.Summary().find("(cached plan)"), std::string::npos) << r.Summary();
  auto bundles = registry_.bundles();
  ASSERT_EQ(bundles.size(), 2u);
  EXPECT_EQ(bundles[0], spooled);
  // Nothing left to send twice.
  FlushReport f = d->Flush();
  EXPECT_EQ(f.delivered, 0u);
  EXPECT_EQ(registry_.bundles().size(), 2u);
}

// Receipt time_utc ("2026-11-22T21:30:00.123Z") as Unix ms.
int64_t ReceiptMs(const json& receipt) {
  std::tm tm{};
  std::string t = receipt["time_utc"];
  ::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return int64_t(::timegm(&tm)) * 1000 + std::stoi(t.substr(20, 3));
}

TEST_F(AgentDaemonTest, MeasuresAtThePlansScheduledInstant) {
  AgentOptions o = Options();
  o.interval_s = 2;
  auto d = Daemon(o);
  registry_.ScheduleIn(700);
  int64_t t0 = MonotonicNs();
  RoundReport r = d->RunRound();
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(registry_.interval_param(), "2");
  EXPECT_GE(MonotonicNs() - t0, 650'000'000) << "waited for measure_at";
  int64_t at = registry_.last_measure_at_ms();
  std::vector<json> bundles = registry_.bundles();  // a copy: the loop below must not dangle
  for (const json& receipt : bundles.at(0)["receipts"]) {
    EXPECT_GE(ReceiptMs(receipt), at - 5) << receipt["time_utc"];
  }

  // Server away: the cached schedule is extended by whole intervals (2 s) from the last one.
  registry_.SetPlanDown(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  t0 = MonotonicNs();
  r = d->RunRound();
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.plan_cached);
  int64_t waited_ms = (MonotonicNs() - t0) / 1'000'000;
  EXPECT_GT(waited_ms, 1000) << "next grid instant is at + 2 s, about 1.7 s away";
  bundles = registry_.bundles();
  for (const json& receipt : bundles.at(1)["receipts"]) {
    EXPECT_GE(ReceiptMs(receipt), at + 2000 - 5) << receipt["time_utc"];
  }

  // A stop during the wait ends the round at once.
  registry_.SetPlanDown(false);
  registry_.ScheduleIn(1500);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  t0 = MonotonicNs();
  r = d->RunRound(&stop);
  stopper.join();
  EXPECT_EQ(r.status.code(), StatusCode::kAborted);
  EXPECT_LT(MonotonicNs() - t0, 1'000'000'000);
}

TEST_F(AgentDaemonTest, NoPlanAndNoCacheIsAnError) {
  registry_.SetPlanDown(true);
  auto d = Daemon();
  RoundReport r = d->RunRound();
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(registry_.post_calls(), 0);
  AgentOptions o = Options();
  o.spool_dir = dir_ / "other";
  o.api.token = "wrong";
  registry_.SetPlanDown(false);
  auto d2 = Daemon(o);
  r = d2->RunRound();
  EXPECT_EQ(r.status.code(), StatusCode::kUnauthorized);
}

TEST_F(AgentDaemonTest, PermanentRefusalMovesTheBundleAside) {
  auto d = Daemon();
  registry_.SetMode(FakeRegistry::Mode::kRefuse);
  RoundReport r = d->RunRound();
  EXPECT_EQ(r.status.code(), StatusCode::kFailedCheck);
  EXPECT_NE(r.status.message().find("landmark_sig: invalid"), std::string::npos);
  EXPECT_EQ(d->spool().Count().value(), 0u);
  size_t rejected = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "spool")) {
    rejected += e.path().extension() == ".rejected";
  }
  EXPECT_EQ(rejected, 1u);
  EXPECT_TRUE(Logged("rejected"));
}

TEST_F(AgentDaemonTest, ConflictMeansTheServerAlreadyHasIt) {
  auto d = Daemon();
  registry_.SetMode(FakeRegistry::Mode::kConflict);
  RoundReport r = d->RunRound();
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(d->spool().Count().value(), 0u);
  EXPECT_NE(r.Summary().find("already stored"), std::string::npos) << r.Summary();
}

TEST_F(AgentDaemonTest, RunRetriesWithBackoffBetweenRounds) {
  AgentOptions o = Options();
  o.interval_s = 3600;  // only one round in this test: delivery must come from the retries
  o.backoff_initial_ms = 20;
  o.backoff_cap_ms = 200;
  auto d = Daemon(o);
  registry_.FailNextPosts(4);  // the round's own try, then three retries fail
  std::atomic<bool> stop{false};
  std::vector<RoundReport> rounds;
  std::thread runner([&] {
    Status s = d->Run(stop, [&](const RoundReport& r) { rounds.push_back(r); });
    EXPECT_TRUE(s.ok());
  });
  const int64_t deadline = MonotonicNs() + 10'000'000'000;
  while (registry_.bundles().empty() && MonotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  runner.join();
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_FALSE(rounds[0].status.ok());
  EXPECT_EQ(registry_.bundles().size(), 1u);
  EXPECT_EQ(registry_.post_calls(), 5);
  EXPECT_EQ(d->spool().Count().value(), 0u);
}

TEST_F(AgentDaemonTest, BadOptions) {
  AgentOptions o = Options();
  o.gpus.clear();
  EXPECT_EQ(AgentDaemon::Create(o, node_key_).status().code(), StatusCode::kInvalidInput);
  o = Options();
  o.samples = 0;
  EXPECT_EQ(AgentDaemon::Create(o, node_key_).status().code(), StatusCode::kInvalidInput);
  o = Options();
  o.api.base_url = "127.0.0.1:1";
  EXPECT_EQ(AgentDaemon::Create(o, node_key_).status().code(), StatusCode::kInvalidInput);
  auto first = Daemon();
  EXPECT_EQ(AgentDaemon::Create(Options(), node_key_).status().code(), StatusCode::kUnavailable)
      << "two agents on one spool";
}

// --- landmark cross-checks --------------------------------------------------------------------

TEST(Crosscheck, MeasuresTheOtherActiveLandmarksAndReports) {
  InitCrypto();
  TestLandmark peer("FRA-1", 2);
  TestLandmark quarantined("IAD-1", 3);
  SigningKey own = KeyFromByte(1);
  FakeHttpServer fake;
  std::mutex mu;
  json posted;
  int lists = 0;
  fake.server().Get("/v1/landmarks", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    ++lists;
    if (req.get_header_value("Authorization") != "Bearer lm-token") return Problem(res, 401, "no");
    json self = {{"id", "SIN-1"},
                 {"address", "127.0.0.1:1"},
                 {"public_key", Base64Encode(own.public_key())},
                 {"status", "active"}};
    json q = quarantined.PlanEntry("IAD-1");
    q["status"] = "quarantined";
    json p = peer.PlanEntry("FRA-1");
    p["status"] = "active";
    res.set_content(json::array({self, p, q}).dump(), "application/json");  // a bare array
  });
  fake.server().Post(R"(/v1/landmarks/SIN-1/crosschecks)",
                     [&](const httplib::Request& req, httplib::Response& res) {
                       std::lock_guard<std::mutex> lock(mu);
                       posted = json::parse(req.body);
                       res.set_content(R"({"accepted":1,"contradictions":[],"quarantined":false})",
                                       "application/json");
                     });
  fake.Start();

  CrosscheckOptions o;
  o.api.base_url = fake.url();
  o.api.token = "lm-token";
  o.landmark_id = "SIN-1";
  o.samples = 2;
  o.measure_timeout_ms = 150;
  std::vector<std::string> log;
  o.log = [&](const std::string& l) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(l);
  };
  auto loop = CrosscheckLoop::Create(o, own).value();
  auto report = loop->RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->peers, 1u);
  EXPECT_EQ(report->measured, 1u);
  EXPECT_EQ(report->Summary(),
            "crosscheck: measured 1/1 peer landmarks; accepted 1, contradictions 0, quarantined "
            "false");
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(posted["receipts"].size(), 1u);
    auto receipt = proto::ParseReceipt(CanonicalJson(posted["receipts"][0]).value());
    ASSERT_TRUE(receipt.ok());
    EXPECT_EQ(receipt->landmark_id, "FRA-1");
    EXPECT_EQ(receipt->node_pub, own.public_key()) << "the peer measured us, by our own key";
    EXPECT_TRUE(proto::VerifyReceipt(*receipt, peer.pub()).ok());
  }

  // The background loop: a pass at once, logged; Stop() joins promptly.
  std::atomic<bool> stop{false};
  loop->Start(stop);
  const int64_t deadline = MonotonicNs() + 5'000'000'000;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!log.empty() || MonotonicNs() > deadline) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int64_t t0 = MonotonicNs();
  stop = true;
  loop->Stop();
  EXPECT_LT(MonotonicNs() - t0, 2'000'000'000);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("crosscheck: measured 1/1"), std::string::npos) << log[0];
  EXPECT_EQ(lists, 2);
}

TEST(Crosscheck, BadOptions) {
  InitCrypto();
  CrosscheckOptions o;
  o.api.base_url = "http://127.0.0.1:1";
  o.landmark_id = "bad id";
  EXPECT_FALSE(CrosscheckLoop::Create(o, KeyFromByte(1)).ok());
  o.landmark_id = "SIN-1";
  o.interval_s = 0;
  EXPECT_FALSE(CrosscheckLoop::Create(o, KeyFromByte(1)).ok());
}

}  // namespace
}  // namespace custodian::client
