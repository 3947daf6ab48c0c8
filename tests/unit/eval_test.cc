// geo eval's input parsing (strict CSV, columns by name, errors naming file:line and column) and
// the evaluation on small hand-made data sets with known answers.
#include "geo/eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "geo/geodesic.h"

namespace custodian::geo {
namespace {

// ---- CSV ----------------------------------------------------------------------------------

TEST(Csv, QuotedFieldsEscapesAndEmbeddedNewlines) {
  auto t =
      ParseCsv("\"a\",\"b\",c\n\"x, y\",\"say \"\"hi\"\"\",3\n\"two\nlines\",,\"\"\n", "f.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->header, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t->records.size(), 2u);
  EXPECT_EQ(t->records[0].fields, (std::vector<std::string>{"x, y", "say \"hi\"", "3"}));
  EXPECT_EQ(t->records[0].line, 2);
  EXPECT_EQ(t->records[1].fields, (std::vector<std::string>{"two\nlines", "", ""}));
  EXPECT_EQ(t->records[1].line, 3);  // where the record starts
}

TEST(Csv, CrLfBomAndBlankLines) {
  auto t = ParseCsv("\xEF\xBB\xBFid,v\r\n1,2\r\n\r\n\n3,4\r\n", "f.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->header[0], "id");  // the BOM is not part of the first name
  ASSERT_EQ(t->records.size(), 2u);
  EXPECT_EQ(t->records[1].fields[1], "4");
  EXPECT_EQ(t->records[1].line, 5);
}

TEST(Csv, ColumnsAreFoundByNameIgnoringCase) {
  auto t = ParseCsv("Longitude, ID ,lat\n1,2,3\n", "f.csv");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Column({"id"}), 1);
  EXPECT_EQ(t->Column({"latitude", "lat"}), 2);
  EXPECT_EQ(t->Column({"longitude"}), 0);
  EXPECT_EQ(t->Column({"name"}), -1);
}

TEST(Csv, SyntaxErrorsNameFileLineAndField) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"a,b\n1,2\n3,x\"y\n", "f.csv:3: field 2: a quote inside an unquoted field"},
      {"a,b\n1,2\n\"3,4\n5,6\n", "f.csv:3: field 1: quoted field is never closed"},
      {"a,b\n\"1\"x,2\n", "f.csv:2: field 1: unexpected 'x' after a closing quote"},
      {"a,b\n1,2\n\"multi\nline\",2\n7\n",
       "f.csv:5: expected 2 fields (as in the header), found 1"},
      {"a,b,A\n", "f.csv:1: field 3: column 'A' appears twice"},
      {"", "f.csv: empty file"},
  };
  for (const auto& c : cases) {
    auto t = ParseCsv(c.text, "f.csv");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(t.status().message().find(c.expect), std::string::npos)
        << "got: " << t.status().message() << "\nwant: " << c.expect;
  }
}

// ---- servers and pings --------------------------------------------------------------------

TEST(ServersCsv, ParsesTheWonderNetworkLayoutInAnyColumnOrder) {
  auto hosts = ParseServersCsv(
      "\"latitude\",\"id\",\"title\",\"country\",\"longitude\"\n"
      "\"54.597\",\"204\",\"Belfast\",\"United Kingdom\",\"-5.93\"\n"
      "\"\",\"7\",\"Nowhere\",\"\",\"\"\n"
      "\"NULL\",\"8\",\"Also nowhere\",\"\",\"NULL\"\n",
      "servers.csv");
  ASSERT_TRUE(hosts.ok()) << hosts.status().ToString();
  ASSERT_EQ(hosts->hosts.size(), 1u);
  EXPECT_EQ(hosts->hosts[0].id, "204");
  EXPECT_EQ(hosts->hosts[0].name, "Belfast");
  EXPECT_DOUBLE_EQ(hosts->hosts[0].position.lat_deg, 54.597);
  EXPECT_DOUBLE_EQ(hosts->hosts[0].position.lon_deg, -5.93);
  // No coordinates: unusable, not malformed — skipped and counted.
  EXPECT_EQ(hosts->without_position, (std::vector<std::string>{"7", "8"}));
}

TEST(ServersCsv, MalformedValuesNameLineAndColumn) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"id,latitude,longitude\n1,1,2\n2,1.5x,2\n",
       "servers.csv:3: column 'latitude' (field 2): '1.5x' is not a number"},
      {"id,longitude,latitude\n1,181,2\n",
       "servers.csv:2: column 'longitude' (field 2): longitude 181"},
      {"id,latitude,longitude\n1,91,0\n",
       "servers.csv:2: column 'latitude' (field 2): latitude 91"},
      {"id,latitude,longitude\n1,1,2\n1,3,4\n",
       "servers.csv:3: column 'id' (field 1): server id '1' already used on line 2"},
      {"id,lat\n1,2\n", "servers.csv: the header has no column 'longitude'"},
      {"name,latitude,longitude\nx,1,2\n", "servers.csv: the header has no column 'id'"},
  };
  for (const auto& c : cases) {
    auto h = ParseServersCsv(c.text, "servers.csv");
    ASSERT_FALSE(h.ok()) << c.text;
    EXPECT_NE(h.status().message().find(c.expect), std::string::npos)
        << "got: " << h.status().message() << "\nwant: " << c.expect;
  }
}

TEST(PingsCsv, MinOverBothDirectionsAndCountedSkips) {
  auto hosts = ParseServersCsv("id,latitude,longitude\na,0,0\nb,0,1\nc,,\n", "s.csv");
  ASSERT_TRUE(hosts.ok());
  auto p = ParsePingsCsv(
      "min,source,destination,avg\n"
      "2.5,a,b,3\n"
      "2.25,b,a,3\n"
      "2.75,b,a,3\n"     // repeated: the smallest of b->a is kept
      "0.01,a,a,0.02\n"  // self-ping
      "1,a,zz,2\n"       // unknown host
      "1,a,c,2\n"        // host without coordinates
      ",b,a,\n",         // no min
      "p.csv", *hosts);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->rows, 7);
  EXPECT_EQ(p->used_rows, 3);
  EXPECT_EQ(p->repeated_rows, 1);
  EXPECT_EQ(p->self_pings, 1);
  EXPECT_EQ(p->unknown_host_rows, 1);
  EXPECT_EQ(p->no_position_rows, 1);
  EXPECT_EQ(p->missing_min_rows, 1);
  EXPECT_EQ(p->at(0, 1), 2'250'000);
  EXPECT_EQ(p->at(1, 0), 2'250'000);
  EXPECT_EQ(p->at(0, 0), -1);
}

TEST(PingsCsv, MillisecondsRoundUpToWholeNanoseconds) {
  auto hosts = ParseServersCsv("id,latitude,longitude\na,0,0\nb,0,1\n", "s.csv");
  ASSERT_TRUE(hosts.ok());
  auto p = ParsePingsCsv("source,destination,min\na,b,3.9640000001\n", "p.csv", *hosts);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->at(0, 1), 3'964'001);  // never a shorter RTT (smaller radius) than measured
}

TEST(PingsCsv, MalformedValuesNameLineAndColumn) {
  auto hosts = ParseServersCsv("id,latitude,longitude\na,0,0\nb,0,1\n", "s.csv");
  ASSERT_TRUE(hosts.ok());
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"source,destination,min\na,b,1\na,b,fast\n",
       "p.csv:3: column 'min' (field 3): 'fast' is not a number"},
      {"source,destination,min\na,b,-1\n",
       "p.csv:2: column 'min' (field 3): '-1' ms is not a round-trip time"},
      {"source,destination,min\na,b,nan\n",
       "p.csv:2: column 'min' (field 3): 'nan' is not a number"},
      // Malformed even in a row that would be skipped (self-ping, unknown host).
      {"source,destination,min\na,a,x\n", "p.csv:2: column 'min'"},
      {"source,destination,min\n,b,1\n", "p.csv:2: column 'source' (field 1): empty server id"},
      {"source,destination\na,b\n", "p.csv: the header has no column 'min'"},
  };
  for (const auto& c : cases) {
    auto p = ParsePingsCsv(c.text, "p.csv", *hosts);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_NE(p.status().message().find(c.expect), std::string::npos)
        << "got: " << p.status().message() << "\nwant: " << c.expect;
  }
}

// ---- the evaluation, on the real borders ---------------------------------------------------

class EvalTest : public ::testing::Test {
 public:
  struct Host {
    const char* id;
    const char* name;
    double lat, lon;
  };

 protected:
  static void SetUpTestSuite() {
    auto m = CountryMap::LoadDefault();
    if (m.ok()) map_ = new CountryMap(std::move(m).value());
  }
  static void TearDownTestSuite() {
    delete map_;
    map_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(map_, nullptr) << "country borders missing: run scripts/deps.sh";
  }

  // RTT as real networks give it: fibre (2/3 c) over a path 1.3x the geodesic, plus 0.2 ms.
  static double RealisticRttMs(const Host& a, const Host& b) {
    double d = GeodesicDistanceKm(a.lat, a.lon, b.lat, b.lon);
    return 2 * 1.3 * d / kFibreSpeedKmPerS * 1e3 + 0.2;
  }
  static std::string ServersCsv(const std::vector<Host>& hosts) {
    std::string s = "\"id\",\"name\",\"latitude\",\"longitude\"\n";
    for (const auto& h : hosts) {
      s += "\"" + std::string(h.id) + "\",\"" + h.name + "\",\"" + std::to_string(h.lat) + "\",\"" +
           std::to_string(h.lon) + "\"\n";
    }
    return s;
  }
  // Every ordered pair, realistic unless `overrides` names the pair (either order).
  static std::string PingsCsv(
      const std::vector<Host>& hosts,
      const std::map<std::pair<std::string, std::string>, double>& overrides) {
    std::string s = "source,destination,min,avg,max,mdev\n";
    for (const auto& a : hosts) {
      for (const auto& b : hosts) {
        if (&a == &b) continue;
        double ms = RealisticRttMs(a, b);
        for (const auto& key : {std::pair<std::string, std::string>{a.id, b.id}, {b.id, a.id}}) {
          auto it = overrides.find(key);
          if (it != overrides.end()) ms = it->second;
        }
        s += std::string(a.id) + "," + b.id + "," + std::to_string(ms) + "," +
             std::to_string(ms + 1) + "," + std::to_string(ms + 2) + ",0.1\n";
      }
    }
    return s;
  }
  static EvalReport Run(const std::vector<Host>& hosts,
                        const std::map<std::pair<std::string, std::string>, double>& overrides,
                        EvalOptions options = {}) {
    auto servers = ParseServersCsv(ServersCsv(hosts), "servers.csv");
    EXPECT_TRUE(servers.ok()) << servers.status().ToString();
    auto pings = ParsePingsCsv(PingsCsv(hosts, overrides), "pings.csv", *servers);
    EXPECT_TRUE(pings.ok()) << pings.status().ToString();
    VerdictEngine engine(*map_, DefaultPolicy());
    return Evaluate(*map_, engine, *servers, *pings, options);
  }
  static bool Listed(const nlohmann::json& list, const std::string& id) {
    for (const auto& e : list) {
      if (e["target"] == id) return true;
    }
    return false;
  }
  static CountryMap* map_;
};
CountryMap* EvalTest::map_ = nullptr;

const std::vector<EvalTest::Host> kEurope = {
    {"1", "Paris", 48.8566, 2.3522},      {"2", "Madrid", 40.4168, -3.7038},
    {"3", "London", 51.5074, -0.1278},    {"4", "Frankfurt", 50.1109, 8.6821},
    {"5", "Amsterdam", 52.3676, 4.9041},  {"6", "Milan", 45.4642, 9.19},
    {"7", "Singapore", 1.3521, 103.8198}, {"8", "Beijing", 39.9042, 116.4074},
    {"9", "Tokyo", 35.6762, 139.6503},
};

TEST_F(EvalTest, AFasterThanLightPairIsReportedWithTheNumbers) {
  // Paris-Madrid is 1,053 km: light needs 7.0 ms there and back; 3 ms is impossible.
  EvalReport r = Run(kEurope, {{{"1", "2"}, 3.0}});
  ASSERT_EQ(r.impossible.size(), 2u) << r.ToText();
  EXPECT_TRUE(Listed(r.impossible, "1"));
  EXPECT_TRUE(Listed(r.impossible, "2"));
  const auto& proof = r.impossible[0]["proofs"][0];
  EXPECT_EQ(proof["code"], "too_fast_for_site");
  EXPECT_NEAR(proof["numbers"]["min_rtt_ms"].get<double>(), 3.0, 1e-6);
  EXPECT_NEAR(proof["numbers"]["site_distance_km"].get<double>(), 1053, 5);
  EXPECT_GT(proof["numbers"]["min_possible_rtt_ms"].get<double>(), 7.0);
  EXPECT_TRUE(r.unsound.empty());
  // Text form: a sentence with the numbers.
  EXPECT_NE(r.ToText().find("answered in 3.000 ms"), std::string::npos) << r.ToText();
}

TEST_F(EvalTest, HonestDataHasNothingImpossibleAndVerifiesSomeHosts) {
  EvalReport r = Run(kEurope, {});
  EXPECT_TRUE(r.impossible.empty()) << r.ToText();
  EXPECT_EQ(r.targets, 9);
  EXPECT_EQ(r.restricted_targets, 1);  // Beijing
  EXPECT_EQ(r.eligible_targets, 8);
  EXPECT_GT(r.verified, 0);
  EXPECT_LE(r.verified, r.eligible_targets);
  EXPECT_DOUBLE_EQ(r.completeness, double(r.verified) / 8);
  EXPECT_TRUE(r.unsound.empty());
  EXPECT_TRUE(r.sound());
  EXPECT_EQ(r.speed_model, "c");
  EXPECT_GT(r.radius_median_km, 0);
  EXPECT_GE(r.radius_p90_km, r.radius_median_km);
  nlohmann::json j = r.ToJson();
  for (const char* key :
       {"targets", "restricted_targets", "eligible_targets", "verified", "completeness", "unsound",
        "impossible", "claim_checks", "region_radius_km", "speed_model", "targets_per_second"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.size(), 11u);  // exactly the documented keys
}

TEST_F(EvalTest, ARestrictedHostClaimingSingaporeIsNeverVerified) {
  EvalReport r = Run(kEurope, {});
  const auto& sg = r.claim_checks["per_city"]["Singapore"];
  EXPECT_EQ(sg["licensed"], "SG");
  EXPECT_EQ(sg["verified"], 0);
  // Beijing's fast answers to Tokyo are too fast for Singapore: physics says no.
  EXPECT_EQ(sg["violation"], 1) << r.ToText();
  EXPECT_EQ(r.claim_checks["verified"], 0);
  EXPECT_EQ(r.claim_checks["claims"], 7);  // one restricted target x seven cities
  // With only the landmarks nearest each city, it is at least never verified.
  EvalOptions nearest;
  nearest.max_landmarks = 2;
  EvalReport n = Run(kEurope, {}, nearest);
  EXPECT_EQ(n.claim_checks["verified"], 0);
  EXPECT_TRUE(n.sound());
}

TEST_F(EvalTest, ALandmarkLyingAboutItsPositionIsQuarantined) {
  // "Liar" says it is in Tokyo but sits next to the Beijing host (1 ms apart). Used as a
  // landmark, its 150 km circle around Tokyo would "prove" that Beijing's chip is in Japan.
  std::vector<Host> hosts = {{"8", "Beijing", 39.9042, 116.4074},
                             {"7", "Singapore", 1.3521, 103.8198},
                             {"66", "Liar", 35.6762, 139.6503}};
  std::map<std::pair<std::string, std::string>, double> pings = {
      {{"8", "66"}, 1.0},
      {{"7", "66"}, RealisticRttMs(hosts[0], hosts[1])},  // really Beijing-Singapore
  };
  EvalOptions no_quarantine;
  no_quarantine.quarantine = false;
  EvalReport bad = Run(hosts, pings, no_quarantine);
  EXPECT_EQ(bad.claim_checks["per_city"]["Tokyo"]["verified"], 1) << bad.ToText();  // real threat
  EvalReport r = Run(hosts, pings);
  EXPECT_TRUE(Listed(r.impossible, "66")) << r.ToText();
  EXPECT_TRUE(r.unsound.empty()) << r.ToText();
  EXPECT_EQ(r.claim_checks["verified"], 0) << r.ToText();
  EXPECT_TRUE(r.sound());
}

TEST_F(EvalTest, ClaimCitiesAreTheSevenOfTheIssue) {
  std::vector<std::string> names;
  for (const auto& c : ClaimCities()) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Singapore", "Johor Bahru", "Kuala Lumpur", "Tokyo",
                                             "Sydney", "Frankfurt", "Dubai"}));
  std::vector<std::string> codes;
  for (const auto& c : ClaimCities()) codes.push_back(map_->CountryAt(c.position));
  EXPECT_EQ(codes, (std::vector<std::string>{"SG", "MY", "MY", "JP", "AU", "DE", "AE"}));
}

}  // namespace
}  // namespace custodian::geo
