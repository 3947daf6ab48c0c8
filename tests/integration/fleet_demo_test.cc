// The end-to-end demo scenario as a test (`custodian demo`, sim/fleet_demo.h): a registry on
// SQLite, six landmarks cross-checking each other, a fleet of agent processes whose delays come
// from their true positions through netem. Honest nodes must end `verified`; the nodes truly in
// Shenzhen and Beijing must end `violation` or `inconclusive` with an alert; the copied key must
// be caught answering from two places; the node that goes dark must be `stale`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "support/cli_runner.h"

namespace custodian::testing {
namespace {

TEST(FleetDemo, HonestVerifiedDivertedCaughtCloneDetectedDarkStale) {
  TempDir dir;
  std::string summary_file = dir / "summary.json";
  CliResult r = RunCli({"demo", "--port", "0", "--nodes-per-site", "1", "--interval", "3",
                        "--run-s", "35", "--exit-after-summary", "--summary-json", summary_file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto text = ReadFile(summary_file);
  ASSERT_TRUE(text.ok());
  auto summary = nlohmann::json::parse(*text);
  EXPECT_TRUE(summary["expectations_met"].get<bool>());
  EXPECT_TRUE(summary["clone_detected"].get<bool>());
  // Honest nodes: all verified (the groups map counts latest verdicts per kind).
  const auto& honest = summary["groups"]["honest"];
  ASSERT_TRUE(honest.is_object()) << summary.dump(2);
  EXPECT_EQ(honest.size(), 1u) << honest.dump();
  EXPECT_GT(honest.value("verified", 0), 0);
  // Diverted nodes: never verified.
  EXPECT_EQ(summary["groups"]["diverted"].value("verified", 0), 0) << summary.dump(2);
  std::set<std::string> kinds;
  for (const auto& a : summary["alerts"]) kinds.insert(a["kind"].get<std::string>());
  EXPECT_TRUE(kinds.count("cloned-key")) << r.out;
  EXPECT_TRUE(kinds.count("stale")) << r.out;
  EXPECT_TRUE(kinds.count("inconclusive") || kinds.count("violation")) << r.out;
  // The output names each verdict kind and says plainly when a key answered from two places.
  for (const char* word : {"verified", "inconclusive", "violation", "answered from two places"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
  }
  // The shared lists are imported into the demo's database and customers screened through
  // the API: the listed company under a Singapore legal form and in Chinese is a match, the
  // made-up distributor is clear.
  const auto& screening = summary["screening"];
  ASSERT_TRUE(screening.is_array()) << r.out;
  ASSERT_EQ(screening.size(), 5u) << screening.dump(2);
  EXPECT_EQ(screening[0]["class"], "match") << screening.dump(2);
  EXPECT_EQ(screening[1]["class"], "match") << screening.dump(2);
  EXPECT_EQ(screening[3]["class"], "clear") << screening.dump(2);
}

}  // namespace
}  // namespace custodian::testing
