// geo eval on the shared measured-latency data, and geo map, as a user runs them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "proto/receipt.h"
#include "proto/wire.h"
#include "support/cli_runner.h"

namespace custodian::testing {
namespace {

// CI checks out ../shared beside the repository (see its SOURCE.md).
const std::string kData = CUSTODIAN_SOURCE_DIR "/../shared/data/latency/wondernetwork-2020";

bool HaveData() {
  struct stat st;
  return ::stat((kData + "/SOURCE.md").c_str(), &st) == 0;
}

CliResult Eval(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "geo", "eval", "--servers", kData + "/servers.csv", "--pings", kData + "/pings.csv"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args);
}

TEST(GeoEvalCli, SharedDataIsSoundCatchesTheImpossiblePairAndReportsCompleteness) {
  if (!HaveData()) GTEST_SKIP() << "no " << kData << " (the shared data folder)";
  CliResult r = Eval({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["unsound"].is_array());
  EXPECT_TRUE(j["unsound"].empty()) << j["unsound"].dump(2);
  EXPECT_EQ(j["claim_checks"]["verified"], 0);
  EXPECT_GT(j["claim_checks"]["violation"].get<int>(), 0);
  // SOURCE.md: Roubaix (54) - Belfast (204) is faster than light.
  ASSERT_FALSE(j["impossible"].empty());
  std::set<std::string> impossible;
  for (const auto& t : j["impossible"]) {
    impossible.insert(t["target"].get<std::string>());
    EXPECT_FALSE(t["proofs"].empty());
    EXPECT_TRUE(t["proofs"][0]["numbers"].contains("landmark")) << t.dump(2);
  }
  EXPECT_TRUE(impossible.count("54") || impossible.count("204")) << j["impossible"].dump(2);
  double completeness = j["completeness"].get<double>();
  EXPECT_GT(completeness, 0.0);
  EXPECT_LE(completeness, 1.0);
  EXPECT_EQ(j["targets"].get<int>(),
            j["restricted_targets"].get<int>() + j["eligible_targets"].get<int>());
  EXPECT_GT(j["restricted_targets"].get<int>(), 0);  // China, Hong Kong, Russia, ...
  EXPECT_EQ(j["speed_model"], "c");
  EXPECT_GT(j["region_radius_km"]["p90"].get<double>(),
            j["region_radius_km"]["median"].get<double>());
  EXPECT_GT(j["targets_per_second"].get<double>(), 0);
}

TEST(GeoEvalCli, NearestLandmarksOnlyIsSoundToo) {
  if (!HaveData()) GTEST_SKIP() << "no " << kData;
  CliResult r = Eval({"--max-landmarks", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["unsound"].empty());
  EXPECT_EQ(j["claim_checks"]["verified"], 0);
  EXPECT_FALSE(j["impossible"].empty());  // found with every measurement, whatever N is
}

TEST(GeoEvalCli, ReadableTable) {
  if (!HaveData()) GTEST_SKIP() << "no " << kData;
  CliResult r = Eval();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("completeness"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Roubaix"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Claim checks"), std::string::npos) << r.out;
}

TEST(GeoEvalCli, MalformedCsvGetsOneLineNamingFileLineAndColumn) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir / "servers.csv",
                              "\"id\",\"latitude\",\"longitude\"\n\"1\",\"1.0\",\"2.0\"\n"
                              "\"2\",\"north\",\"2.0\"\n",
                              0644)
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(dir / "pings.csv", "source,destination,min\n1,2,3\n", 0644).ok());
  CliResult r =
      RunCli({"geo", "eval", "--servers", dir / "servers.csv", "--pings", dir / "pings.csv"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_NE(r.err.find("servers.csv:3: column 'latitude'"), std::string::npos) << r.err;
}

// ---- geo map --------------------------------------------------------------------------------

// A well-formedness check of the XML subset an SVG writer produces: balanced, properly nested
// tags, quoted attributes, escaped text. Returns "" or what is wrong.
std::string XmlProblem(const std::string& x) {
  std::vector<std::string> stack;
  size_t i = 0;
  auto bad_amp = [](const std::string& s) {
    for (size_t k = s.find('&'); k != std::string::npos; k = s.find('&', k + 1)) {
      size_t semi = s.find(';', k);
      if (semi == std::string::npos) return true;
      std::string e = s.substr(k, semi - k + 1);
      if (e != "&amp;" && e != "&lt;" && e != "&gt;" && e != "&quot;" && e != "&apos;") return true;
    }
    return false;
  };
  bool root_seen = false;
  while (i < x.size()) {
    size_t lt = x.find('<', i);
    std::string text = x.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (bad_amp(text)) return "bad entity in text near " + std::to_string(i);
    if (lt == std::string::npos) break;
    if (stack.empty() && root_seen && text.find_first_not_of(" \n") != std::string::npos) {
      return "text after the root element";
    }
    if (x.compare(lt, 5, "<?xml") == 0) {
      i = x.find("?>", lt) + 2;
      continue;
    }
    if (x.compare(lt, 4, "<!--") == 0) {
      i = x.find("-->", lt) + 3;
      continue;
    }
    size_t gt = x.find('>', lt);
    if (gt == std::string::npos) return "unclosed tag at " + std::to_string(lt);
    std::string tag = x.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag at " + std::to_string(lt);
    if (!tag.empty() && tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1))
        return "mismatched </" + tag.substr(1) + ">";
      stack.pop_back();
    } else {
      bool self_closing = !tag.empty() && tag.back() == '/';
      std::string name = tag.substr(0, tag.find_first_of(" \n/"));
      if (name.empty()) return "empty tag name at " + std::to_string(lt);
      // Attributes: name="value" pairs, values without '<' or bare '&'.
      size_t q = 0;
      int quotes = 0;
      while ((q = tag.find('"', q)) != std::string::npos) ++quotes, ++q;
      if (quotes % 2 != 0) return "unbalanced quotes in <" + name + ">";
      if (bad_amp(tag)) return "bad entity in <" + name + ">";
      if (!self_closing) stack.push_back(name);
      root_seen = true;
    }
    i = gt + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  return root_seen ? "" : "no root element";
}

TEST(XmlCheck, CatchesWhatItShould) {
  EXPECT_EQ(
      XmlProblem("<?xml version=\"1.0\"?>\n<svg a=\"1\"><g><text>a &amp; b</text></g></svg>\n"),
      "");
  EXPECT_NE(XmlProblem("<svg><g></svg>"), "");
  EXPECT_NE(XmlProblem("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(XmlProblem("<svg a=\"1></svg>"), "");
  EXPECT_NE(XmlProblem("<svg>"), "");
}

class GeoMapCli : public ::testing::Test {
 protected:
  // Receipts signed here by landmark keys made here: what a landmark would have sent.
  void SetUp() override {
    SigningKey node = SigningKey::Generate();
    nlohmann::json landmarks = nlohmann::json::array();
    struct L {
      const char* id;
      double lat, lon;
      const char* country;
      int64_t rtt_ns;
    };
    for (const L& l : {L{"SIN-1", 1.3521, 103.8198, "SG", 398'000},
                       L{"FRA-1", 50.1109, 8.6821, "DE", 154'051'000},
                       L{"IAD-1", 39.0438, -77.4874, "US", 233'095'000}}) {
      SigningKey key = SigningKey::Generate();
      proto::Receipt r;
      r.landmark_id = l.id;
      r.landmark_lat = l.lat;
      r.landmark_lon = l.lon;
      r.landmark_pub = key.public_key();
      r.node_pub = node.public_key();
      r.node_id = proto::DeriveNodeId(r.node_pub);
      r.time_utc = "2026-11-22T21:30:00.123Z";
      r.samples_requested = 4;
      r.samples_ns = {l.rtt_ns + 2000, l.rtt_ns, l.rtt_ns + 9000};
      r.min_rtt_ns = l.rtt_ns;
      proto::SignReceipt(r, key);
      receipts_.push_back(dir_ / (std::string("receipt-") + l.id + ".json"));
      ASSERT_TRUE(WriteFileAtomic(receipts_.back(), proto::SerializeReceipt(r), 0644).ok());
      landmarks.push_back({{"id", l.id},
                           {"operator", std::string("op-") + l.id},
                           {"lat", l.lat},
                           {"lon", l.lon},
                           {"country", l.country},
                           {"public_key", Base64Encode(key.public_key())}});
    }
    ASSERT_TRUE(WriteFileAtomic(dir_ / "landmarks.json", landmarks.dump(), 0644).ok());
  }
  CliResult Map(const std::string& site, const std::string& out) {
    std::vector<std::string> args = {"geo", "map", "--landmarks", dir_ / "landmarks.json",
                                     "--receipts"};
    args.insert(args.end(), receipts_.begin(), receipts_.end());
    args.insert(args.end(), {"--site", site, "--licensed", "MY,SG,ID", "--out", out});
    return RunCli(args);
  }
  TempDir dir_;
  std::vector<std::string> receipts_;
};

TEST_F(GeoMapCli, WritesAWellFormedSvgWithTheSiteAndEveryLandmark) {
  CliResult r = Map("1.4927,103.7414", dir_ / "map.svg");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("verified"), std::string::npos) << r.out;
  auto svg = ReadFile(dir_ / "map.svg");
  ASSERT_TRUE(svg.ok());
  EXPECT_EQ(XmlProblem(*svg), "");
  EXPECT_EQ(svg->rfind("<?xml", 0), 0u);
  EXPECT_NE(svg->find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg->find("claimed site 1.4927,103.7414"), std::string::npos);
  for (const char* id : {"SIN-1", "FRA-1", "IAD-1"}) {
    EXPECT_NE(svg->find(std::string(">") + id + "  "), std::string::npos) << id;
  }
  EXPECT_NE(svg->find("Verdict: <tspan fill=\"#1b7837\">verified</tspan>"), std::string::npos);
  EXPECT_NE(svg->find("within 60 km"), std::string::npos);  // 0.398 ms at c
  EXPECT_LT(svg->size(), 2u << 20);
}

TEST_F(GeoMapCli, AViolationStillDrawsAWellFormedMap) {
  // Frankfurt claimed with a Singapore answer in 0.4 ms: violation, and still a good picture.
  CliResult r = Map("50.1109,8.6821", dir_ / "far.svg");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto svg = ReadFile(dir_ / "far.svg");
  ASSERT_TRUE(svg.ok());
  EXPECT_EQ(XmlProblem(*svg), "");
  EXPECT_NE(svg->find("violation"), std::string::npos);
}

TEST_F(GeoMapCli, ATamperedReceiptStopsTheMapLikeTheVerdict) {
  std::string text = *ReadFile(receipts_[0]);
  text[text.find("\"min_rtt_ns\":") + 13] = '1';
  ASSERT_TRUE(WriteFileAtomic(receipts_[0], text, 0644).ok());
  CliResult r = Map("1.4927,103.7414", dir_ / "map.svg");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_FALSE(ReadFile(dir_ / "map.svg").ok());  // nothing written
}

}  // namespace
}  // namespace custodian::testing
