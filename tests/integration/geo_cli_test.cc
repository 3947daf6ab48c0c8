// geo verdict and geo plan as a user runs them: receipts from a real landmark process, a
// trusted landmarks file, the real borders.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli_runner.h"

namespace custodian::testing {
namespace {

class GeoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    landmark_.emplace(dir_, "SIN-1", 1.3521, 103.8198);
    Keygen(dir_, "node.key");
    // Johor Bahru is 18 km from the landmark: 0.15 ms each way is that distance by fibre with
    // path inflation. (Bare loopback would answer too fast for Johor, and the engine says so.)
    auto netem = Subprocess::Spawn({CUSTODIAN_BINARY, "netem", "--listen", "127.0.0.1:0",
                                    "--forward", landmark_->address(), "--delay-ms", "0.15"},
                                   true);
    ASSERT_TRUE(netem.ok());
    netem_.emplace(std::move(*netem));
    auto line = netem_->ReadLine(std::chrono::seconds(10));
    ASSERT_TRUE(line.has_value());
    std::string via = line->substr(6, line->find(' ', 6) - 6);  // "netem ADDR -> ..."
    CliResult m =
        RunCli({"measure", "--key", dir_ / "node.key", "--landmark", via, "--landmark-pub",
                landmark_->pub(), "--samples", "8", "--out", dir_ / "r.json"});
    ASSERT_EQ(m.exit_code, 0) << m.err;
    WriteLandmarks(1.3521, 103.8198);
  }
  void WriteLandmarks(double lat, double lon) {
    nlohmann::json l = nlohmann::json::array({{{"id", "SIN-1"},
                                               {"operator", "Acme IX"},
                                               {"lat", lat},
                                               {"lon", lon},
                                               {"country", "SG"},
                                               {"public_key", landmark_->pub()}}});
    ASSERT_TRUE(WriteFileAtomic(dir_ / "landmarks.json", l.dump(), 0644).ok());
  }
  CliResult Verdict(const std::string& site, const std::string& licensed,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "geo",        "verdict",       "--landmarks", dir_ / "landmarks.json",
        "--receipts", dir_ / "r.json", "--site",      site,
        "--licensed", licensed,        "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  TempDir dir_;
  std::optional<LandmarkProcess> landmark_;
  std::optional<Subprocess> netem_;
};

TEST_F(GeoCli, ReceiptNearSingaporeVerifiesAJohorSite) {
  CliResult r = Verdict("1.4927,103.7414", "SG,MY,ID");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "verified");
  EXPECT_EQ(j["reasons"][0]["code"], "proven");
  EXPECT_FALSE(j["evidence"][0]["text"].get<std::string>().empty());
}

TEST_F(GeoCli, TheSameReceiptDisprovesAFrankfurtSite) {
  CliResult r = Verdict("50.1109,8.6821", "DE");
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "violation");
  bool too_fast = false;
  for (const auto& reason : j["reasons"])
    too_fast = too_fast || reason["code"] == "too_fast_for_site";
  EXPECT_TRUE(too_fast) << r.out;
}

TEST_F(GeoCli, ReceiptsThatFailTheirChecksStopTheCommand) {
  // A position that disagrees with the signed one.
  WriteLandmarks(1.40, 103.8198);
  CliResult moved = Verdict("1.4927,103.7414", "SG,MY,ID");
  EXPECT_EQ(moved.exit_code, 1);
  EXPECT_NE(moved.err.find("disagrees"), std::string::npos) << moved.err;
  EXPECT_EQ(moved.err_lines(), 1u);
  // A receipt altered after signing.
  WriteLandmarks(1.3521, 103.8198);
  std::string text = *ReadFile(dir_ / "r.json");
  text[text.find("\"min_rtt_ns\":") + 13] = '1';
  ASSERT_TRUE(WriteFileAtomic(dir_ / "r.json", text, 0644).ok());
  CliResult altered = Verdict("1.4927,103.7414", "SG,MY,ID");
  EXPECT_EQ(altered.exit_code, 1);
  EXPECT_EQ(altered.err_lines(), 1u) << altered.err;
}

TEST_F(GeoCli, BadInputGetsOneLineAndExitTwo) {
  ASSERT_TRUE(WriteFileAtomic(dir_ / "bad-landmarks.json", R"([{"id":"X","lat":91}])", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ / "bad-policy.json",
                              R"({"policy_version":1,"speed_model":"warp"})", 0644)
                  .ok());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"geo", "verdict", "--landmarks", dir_ / "landmarks.json", "--receipts", dir_ / "r.json",
            "--site", "north", "--licensed", "SG"},
           {"geo", "verdict", "--landmarks", dir_ / "landmarks.json", "--receipts", dir_ / "r.json",
            "--site", "1,200", "--licensed", "SG"},
           {"geo", "verdict", "--landmarks", dir_ / "landmarks.json", "--receipts", dir_ / "r.json",
            "--site", "1,100", "--licensed", "sg"},
           {"geo", "verdict", "--landmarks", dir_ / "bad-landmarks.json", "--receipts",
            dir_ / "r.json", "--site", "1,100", "--licensed", "SG"},
           {"geo", "verdict", "--landmarks", dir_ / "landmarks.json", "--receipts", dir_ / "r.json",
            "--site", "1,100", "--licensed", "SG", "--policy", dir_ / "bad-policy.json"},
           {"geo", "plan", "--landmarks", dir_ / "missing.json", "--site", "1,100"},
       }) {
    CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << r.err;
    EXPECT_EQ(r.err_lines(), 1u) << r.err;
  }
  CliResult bad =
      RunCli({"geo", "plan", "--landmarks", dir_ / "bad-landmarks.json", "--site", "1,100"});
  EXPECT_NE(bad.err.find("landmarks[0]"), std::string::npos) << bad.err;
}

TEST_F(GeoCli, PlanSaysWhichLandmarkCanVerifyTheSite) {
  CliResult r = RunCli({"geo", "plan", "--landmarks", dir_ / "landmarks.json", "--site",
                        "1.4927,103.7414", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const auto& sin = j["landmarks"][0];
  EXPECT_TRUE(sin["can_help"].get<bool>());
  EXPECT_NEAR(sin["distance_km"].get<double>(), 17.9, 1.0);
  // The largest RTT that still verifies is beyond the physical minimum for the site.
  EXPECT_GT(sin["max_rtt_ms_to_verify"].get<double>(), sin["min_possible_rtt_ms"].get<double>());
  EXPECT_GT(j["site_margin_km"].get<double>(), 500);  // nearest restricted land is far
}

}  // namespace
}  // namespace custodian::testing
