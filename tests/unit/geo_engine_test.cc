// The geolocation engine's soundness: spherical bounds against GeographicLib, hand-built cases
// on real borders (antimeridian, poles, Shenzhen–Hong Kong, tiny and huge caps, empty regions),
// and a randomized property: a chip's true position is never excluded and a chip in
// restricted territory is never verified.
#include <gtest/gtest.h>

#include <GeographicLib/Geodesic.hpp>
#include <memory>
#include <random>

#include "geo/countries.h"
#include "geo/geodesic.h"
#include "geo/policy.h"
#include "geo/sphere.h"
#include "geo/verdict.h"

namespace custodian::geo {
namespace {

const CountryMap& Map() {
  static std::unique_ptr<CountryMap> map = [] {
    auto m = CountryMap::LoadDefault();
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return std::make_unique<CountryMap>(std::move(*m));
  }();
  return *map;
}

LatLon Direct(const LatLon& from, double azimuth_deg, double distance_km) {
  double lat = 0, lon = 0;
  GeographicLib::Geodesic::WGS84().Direct(from.lat_deg, from.lon_deg, azimuth_deg,
                                          distance_km * 1000, lat, lon);
  return {lat, lon};
}

TEST(Sphere, WgsDistanceIsWithinTheDocumentedFactorsOfTheSphere) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180), u(0, 1);
  for (int i = 0; i < 20000; ++i) {
    LatLon a{lat(rng), lon(rng)};
    // Mix long and very short pairs.
    LatLon b = i % 2 ? LatLon{lat(rng), lon(rng)} : Direct(a, 360 * u(rng), 1 + 500 * u(rng));
    double wgs = GeodesicDistanceKm(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg);
    double sph = SphereDistanceKm(a, b);
    ASSERT_GE(wgs, kWgsOverSphereMin * sph - 1e-9) << i;
    ASSERT_LE(wgs, kWgsOverSphereMax * sph + 1e-9) << i;
  }
}

TEST(Sphere, GeodesicDistanceMatchesReferenceValues) {
  // GeographicLib's own documented example (JFK to LHR) and Karney's antipodal test case.
  EXPECT_NEAR(GeodesicDistanceKm(40.6, -73.8, 51.6, -0.5), 5551.759400, 1e-6);
  EXPECT_NEAR(GeodesicDistanceKm(0, 0, 0.5, 179.5), 19936.288579, 1e-3);  // near-antipodal
}

TEST(Sphere, DistanceToBoxIsTheMinimumOverTheBox) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lat(-85, 85), lon(-180, 180), size(0.01, 30);
  for (int i = 0; i < 2000; ++i) {
    double w = size(rng), h = size(rng);
    double x0 = std::uniform_real_distribution<double>(-180, 180 - w)(rng);
    double y0 = std::uniform_real_distribution<double>(-89, 89 - h)(rng);
    LonLatBox box{x0, y0, x0 + w, y0 + h};
    LatLon p{lat(rng), lon(rng)};
    double computed = SphereDistanceToBoxKm(p, box);
    double sampled = 1e18;
    for (int gx = 0; gx <= 40; ++gx) {
      for (int gy = 0; gy <= 40; ++gy) {
        sampled = std::min(sampled, SphereDistanceKm(p, {y0 + h * gy / 40, x0 + w * gx / 40}));
      }
    }
    // Never more than any point of the box (a lower bound), and close to the sampled minimum.
    ASSERT_LE(computed, sampled + 1e-6) << i;
    ASSERT_GE(computed, sampled - 111.2 * std::max(w, h) / 40 - 1e-6) << i;
  }
}

TEST(Sphere, CapBoxesContainTheCap) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lat(-89, 89), lon(-180, 180), az(0, 360), r(1, 9000);
  for (int i = 0; i < 500; ++i) {
    LatLon c{lat(rng), lon(rng)};
    double radius = r(rng);
    LonLatBox boxes[2];
    int n = CapBoxes(c, radius, boxes);
    for (int k = 0; k < 50; ++k) {
      // Points on the sphere cap's edge, slightly inside.
      double a = az(rng) * M_PI / 180, d = radius * 0.999 / kEarthMeanRadiusKm;
      double lat1 = c.lat_deg * M_PI / 180, lon1 = c.lon_deg * M_PI / 180;
      double lat2 =
          std::asin(std::sin(lat1) * std::cos(d) + std::cos(lat1) * std::sin(d) * std::cos(a));
      double lon2 = lon1 + std::atan2(std::sin(a) * std::sin(d) * std::cos(lat1),
                                      std::cos(d) - std::sin(lat1) * std::sin(lat2));
      LatLon p{lat2 * 180 / M_PI, std::remainder(lon2 * 180 / M_PI, 360.0)};
      bool inside = false;
      for (int b = 0; b < n; ++b) inside = inside || boxes[b].Contains(p);
      ASSERT_TRUE(inside) << "cap " << c.lat_deg << "," << c.lon_deg << " r " << radius;
    }
  }
}

TEST(Policy, DefaultRestrictsTheAdvancedComputingDestinations) {
  const Policy& p = DefaultPolicy();
  for (const char* c : {"CN", "HK", "MO", "RU", "IR", "KP", "CU", "SY", "BY", "VE", "AE", "SA"}) {
    EXPECT_TRUE(p.IsRestricted(c)) << c;
  }
  for (const char* c : {"SG", "MY", "US", "JP", "DE", "IL", "TW", "IN", "AU", "GB"}) {
    EXPECT_FALSE(p.IsRestricted(c)) << c;
  }
  EXPECT_EQ(p.speed_model, SpeedModel::kLight);
  EXPECT_EQ(p.t_min_ns, 0);
}

TEST(Policy, MalformedPoliciesNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"policy_version":1,"speed_model":"sound"})", "speed_model"},
           {R"({"policy_version":2})", "policy_version"},
           {R"({"policy_version":1,"t_min_ns":-5})", "t_min_ns"},
           {R"({"policy_version":1,"country_groups":{"D:1":["cn"]}})", "country_groups.D:1[0]"},
           {R"({"policy_version":1,"restricted_groups":["D:9"]})", "restricted_groups[0]"},
           {R"({"policy_version":1,"colour":"red"})", "colour"},
           {R"({"policy_version":1,"border_buffer_km":"5"})", "border_buffer_km"},
           {R"([1,2])", "object"},
           {R"({"policy_version":1,)", "JSON"},
       }) {
    auto p = ParsePolicy(c.json);
    ASSERT_FALSE(p.ok()) << c.json;
    EXPECT_NE(p.status().message().find(c.field), std::string::npos) << p.status().message();
  }
}

// ---- verdicts on real borders ----

class VerdictTest : public ::testing::Test {
 protected:
  TrustedLandmark* Landmark(const std::string& id, double lat, double lon,
                            const std::string& op = "op-a") {
    landmarks_.push_back(std::make_unique<TrustedLandmark>());
    auto* l = landmarks_.back().get();
    l->id = id;
    l->operator_name = op;
    l->position = {lat, lon};
    return l;
  }
  // The RTT whose radius is `radius_km` at c (before the clock tolerance).
  static int64_t RttForKm(double radius_km) {
    return int64_t(2 * radius_km / kSpeedOfLightKmPerS * 1e9);
  }
  Verdict Decide(std::vector<Observation> obs, std::optional<LatLon> site,
                 std::set<std::string> licensed, const Policy& policy = DefaultPolicy()) {
    VerdictEngine engine(Map(), policy);
    return engine.Decide({std::move(obs), site, std::move(licensed), "software"});
  }
  static bool HasReason(const Verdict& v, const std::string& code) {
    for (const auto& r : v.reasons) {
      if (r.code == code) return true;
    }
    return false;
  }
  std::vector<std::unique_ptr<TrustedLandmark>> landmarks_;
};

TEST_F(VerdictTest, NearSingaporeIsVerifiedWithTheNumbersInWords) {
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  Verdict v = Decide({{sin, RttForKm(126)}}, LatLon{1.4927, 103.7414}, {"SG", "MY", "ID"});
  EXPECT_EQ(v.kind, VerdictKind::kVerified) << v.Summary();
  EXPECT_NE(v.reasons[0].text.find("within 126 km"), std::string::npos) << v.reasons[0].text;
  EXPECT_NE(v.evidence[0].text.find("SIN-1"), std::string::npos);
}

TEST_F(VerdictTest, SeaAndNeighboursKeepARegionOutOfAOneCountryLicence) {
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  Verdict v = Decide({{sin, RttForKm(126)}}, LatLon{1.3521, 103.8198}, {"SG"});
  EXPECT_EQ(v.kind, VerdictKind::kInconclusive) << v.Summary();
  EXPECT_TRUE(HasReason(v, "region_leaves_licensed_zone"));
}

TEST_F(VerdictTest, LandOnlyPolicyRefusesARegionThatIncludesSea) {
  auto land_only = ParsePolicy(
      std::string(DefaultPolicyJson())
          .replace(std::string(DefaultPolicyJson()).find("\"licensed_zone_includes_sea\": true"),
                   34, "\"licensed_zone_includes_sea\": false"));
  ASSERT_TRUE(land_only.ok()) << land_only.status().ToString();
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  Verdict v =
      Decide({{sin, RttForKm(126)}}, LatLon{1.4927, 103.7414}, {"SG", "MY", "ID"}, *land_only);
  EXPECT_EQ(v.kind, VerdictKind::kInconclusive) << v.Summary();
  EXPECT_TRUE(HasReason(v, "region_leaves_licensed_zone"));
}

TEST_F(VerdictTest, TinyCapInsideSingaporeIsVerifiedForSingaporeAlone) {
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  Verdict v = Decide({{sin, 67}}, LatLon{1.3521, 103.8198}, {"SG"});  // 67 ns: 10 m
  EXPECT_EQ(v.kind, VerdictKind::kVerified) << v.Summary();
}

TEST_F(VerdictTest, AnswerTooFastForTheClaimedSiteIsAViolation) {
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  Verdict v = Decide({{sin, RttForKm(100)}}, LatLon{50.1109, 8.6821}, {"DE"});
  EXPECT_EQ(v.kind, VerdictKind::kViolation);
  EXPECT_TRUE(HasReason(v, "too_fast_for_site")) << v.Summary();
}

TEST_F(VerdictTest, AnswersFromTwoFarPlacesGiveAnEmptyRegion) {
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  auto* fra = Landmark("FRA-1", 50.1109, 8.6821);
  Verdict v = Decide({{sin, RttForKm(100)}, {fra, RttForKm(100)}}, std::nullopt, {});
  EXPECT_EQ(v.kind, VerdictKind::kViolation);
  EXPECT_TRUE(HasReason(v, "empty_region")) << v.Summary();
}

TEST_F(VerdictTest, RegionWhollyOutsideTheLicensedZoneIsAViolation) {
  auto* fra = Landmark("FRA-1", 50.1109, 8.6821);
  Verdict v = Decide({{fra, RttForKm(50)}}, std::nullopt, {"SG"});
  EXPECT_EQ(v.kind, VerdictKind::kViolation);
  EXPECT_TRUE(HasReason(v, "outside_licensed_zone")) << v.Summary();
}

TEST_F(VerdictTest, ShenzhenHongKongBorderIsResolvedToTheBuffer) {
  // Treat Hong Kong as its own, unrestricted territory to test the border itself.
  auto policy = ParsePolicy(R"({"policy_version":1,"border_buffer_km":1,
      "country_groups":{"X":["CN"]},"restricted_groups":["X"]})");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  ASSERT_FALSE(policy->IsRestricted("HK"));
  // Lok Ma Chau, ~1 km from the Shenzhen river: a 5 km cap reaches China.
  auto* near = Landmark("HK-N", 22.5100, 114.0700);
  Verdict v1 = Decide({{near, RttForKm(5)}}, std::nullopt, {}, *policy);
  EXPECT_EQ(v1.kind, VerdictKind::kInconclusive) << v1.Summary();
  EXPECT_TRUE(HasReason(v1, "region_reaches_restricted"));
  // Central, Hong Kong Island, ~25 km from the border: a 5 km cap is clear of it.
  auto* central = Landmark("HK-C", 22.2800, 114.1600);
  Verdict v2 = Decide({{central, RttForKm(5)}}, std::nullopt, {}, *policy);
  EXPECT_EQ(v2.kind, VerdictKind::kVerified) << v2.Summary();
}

TEST_F(VerdictTest, AcrossTheBeringStraitTheAntimeridianIsHandled) {
  auto* nome = Landmark("NOME", 64.5011, -165.4064);  // Alaska; Chukotka lies west, across 180°
  Verdict wide = Decide({{nome, RttForKm(400)}}, std::nullopt, {});
  EXPECT_EQ(wide.kind, VerdictKind::kInconclusive) << wide.Summary();
  EXPECT_EQ(wide.reasons[0].numbers["nearest_restricted"], "RU");
  Verdict narrow = Decide({{nome, RttForKm(50)}}, std::nullopt, {});
  EXPECT_EQ(narrow.kind, VerdictKind::kVerified) << narrow.Summary();
}

TEST_F(VerdictTest, FijiAcrossTheAntimeridianIsClearOfRestrictedTerritory) {
  auto* suva = Landmark("SUVA", -18.1416, 178.4419);
  Verdict v = Decide({{suva, RttForKm(800)}}, std::nullopt, {});
  EXPECT_EQ(v.kind, VerdictKind::kVerified) << v.Summary();
  // Licensed for Fiji alone: the 800 km cap covers open sea, so not proven inside.
  Verdict lic = Decide({{suva, RttForKm(800)}}, std::nullopt, {"FJ"});
  EXPECT_EQ(lic.kind, VerdictKind::kInconclusive) << lic.Summary();
}

TEST_F(VerdictTest, CapsOverThePoleAndOverAHemisphere) {
  auto* svalbard = Landmark("LYR", 78.2232, 15.6267);
  Verdict polar = Decide({{svalbard, RttForKm(1500)}}, std::nullopt, {});  // covers the pole
  EXPECT_EQ(polar.kind, VerdictKind::kInconclusive) << polar.Summary();    // reaches Russia
  Verdict local = Decide({{svalbard, RttForKm(200)}}, std::nullopt, {});
  EXPECT_EQ(local.kind, VerdictKind::kVerified) << local.Summary();
  Verdict huge = Decide({{svalbard, RttForKm(15000)}}, std::nullopt, {});
  EXPECT_EQ(huge.kind, VerdictKind::kInconclusive);
}

TEST_F(VerdictTest, CapContainingAWholeSmallCountryIsNeitherInsideNorOutsideIt) {
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  Verdict v = Decide({{sin, RttForKm(300)}}, std::nullopt, {"SG"});
  EXPECT_EQ(v.kind, VerdictKind::kInconclusive) << v.Summary();
  EXPECT_FALSE(v.region.disjoint_from_licensed);
  EXPECT_FALSE(v.region.inside_licensed);
}

TEST_F(VerdictTest, PolicyMinimaAndKeyBindingGateVerified) {
  auto* sin = Landmark("SIN-1", 1.3521, 103.8198);
  auto strict =
      ParsePolicy(std::string(DefaultPolicyJson())
                      .replace(std::string(DefaultPolicyJson()).find("\"min_operators\": 1"), 18,
                               "\"min_operators\": 2"));
  ASSERT_TRUE(strict.ok()) << strict.status().ToString();
  Verdict v = Decide({{sin, RttForKm(126)}}, std::nullopt, {}, *strict);
  EXPECT_EQ(v.kind, VerdictKind::kInconclusive);
  EXPECT_TRUE(HasReason(v, "too_few_operators")) << v.Summary();
}

// For random true positions and RTTs at or above the physical minimum, the true position is
// never excluded, and a chip in restricted territory is never verified.
TEST_F(VerdictTest, RandomizedSoundness) {
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> u(0, 1);
  VerdictEngine engine(Map(), DefaultPolicy());
  const Territory& restricted = engine.restricted();
  // Half the chips near the Chinese, Russian and Iranian borders, where mistakes would matter.
  const LatLon hot[] = {{22.5, 114.1}, {43.0, 131.0}, {49.0, 87.0}, {37.5, 44.5},  {1.4, 103.8},
                        {24.0, 121.0}, {42.0, 130.5}, {26.0, 56.3}, {48.5, 135.0}, {40.0, 73.0}};
  int restricted_chips = 0, verified = 0;
  for (int i = 0; i < 400; ++i) {
    LatLon chip = i % 2 ? Direct(hot[rng() % 10], 360 * u(rng), 300 * u(rng))
                        : LatLon{std::asin(2 * u(rng) - 1) * 180 / M_PI, 360 * u(rng) - 180};
    std::vector<Observation> obs;
    int n = 1 + int(rng() % 4);
    for (int k = 0; k < n; ++k) {
      LatLon at = Direct(chip, 360 * u(rng), k == 0 ? 5 + 400 * u(rng) : 50 + 3000 * u(rng));
      double d = GeodesicDistanceKm(at.lat_deg, at.lon_deg, chip.lat_deg, chip.lon_deg);
      auto* l = Landmark("L" + std::to_string(i) + "-" + std::to_string(k), at.lat_deg, at.lon_deg);
      // At or above the physical minimum: exactly it, or up to 3x slower.
      double factor = k % 2 ? 1.0 : 1.0 + 2 * u(rng);
      obs.push_back({l, int64_t(std::ceil(2 * d / kSpeedOfLightKmPerS * 1e9 * factor))});
    }
    Verdict v = engine.Decide({obs, chip, {}, "software"});
    ASSERT_FALSE(HasReason(v, "too_fast_for_site")) << i << "\n" << v.Summary();
    ASSERT_FALSE(v.region.empty) << i << "\n" << v.Summary();
    bool in_restricted = restricted.Contains(chip);
    restricted_chips += in_restricted;
    if (in_restricted) {
      ASSERT_NE(v.kind, VerdictKind::kVerified)
          << "chip at " << chip.lat_deg << "," << chip.lon_deg << " verified\n"
          << v.Summary();
    }
    verified += v.kind == VerdictKind::kVerified;
  }
  EXPECT_GT(restricted_chips, 20);  // the property was exercised
  EXPECT_GT(verified, 20);          // and the engine is not trivially "inconclusive"
}

}  // namespace
}  // namespace custodian::geo

namespace custodian::geo {
namespace {

// Contains casts its ray east or west, whichever is cheaper; both must agree with the
// polygon-by-polygon even-odd test everywhere, including on grid-aligned coordinates.
TEST(Territory, ContainsAgreesWithThePolygonsOnRandomAndGridPoints) {
  Territory world = Territory::BuildAllExcept(Map(), {});
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> lat(-89.9, 89.9), lon(-180, 180);
  for (int i = 0; i < 20000; ++i) {
    LatLon p = i % 4 == 0 ? LatLon{std::round(lat(rng) * 10) / 10, std::round(lon(rng) * 10) / 10}
                          : LatLon{lat(rng), lon(rng)};
    bool expected = !Map().CountryAt(p).empty();
    if (!expected) {
      for (const auto& c : Map().countries()) {  // features without an ISO code count as land
        if (!c.alpha2.empty() || !c.box.Contains(p)) continue;
        for (const auto& poly : c.polygons) expected = expected || poly.Contains(p);
      }
    }
    ASSERT_EQ(world.Contains(p), expected) << p.lat_deg << "," << p.lon_deg;
  }
}

}  // namespace
}  // namespace custodian::geo
