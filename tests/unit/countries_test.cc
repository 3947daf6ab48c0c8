#include "geo/countries.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "geo/geometry.h"

namespace custodian::geo {
namespace {

using nlohmann::json;

TEST(Geometry, LonLatBoxExtendIntersectsContains) {
  LonLatBox box;
  EXPECT_TRUE(box.empty());
  EXPECT_FALSE(box.Contains({0, 0}));
  box.Extend({10, 20});
  EXPECT_FALSE(box.empty());
  EXPECT_TRUE(box.Contains({10, 20}));
  box.Extend({-5, 30});
  EXPECT_EQ(box.min_lat_deg, -5);
  EXPECT_EQ(box.max_lat_deg, 10);
  EXPECT_EQ(box.min_lon_deg, 20);
  EXPECT_EQ(box.max_lon_deg, 30);
  EXPECT_TRUE(box.Contains({-5, 25}));  // closed: edges count
  EXPECT_FALSE(box.Contains({0, 31}));
  LonLatBox touching;
  touching.Extend({10, 30});
  touching.Extend({12, 35});
  EXPECT_TRUE(box.Intersects(touching));
  EXPECT_TRUE(touching.Intersects(box));
  LonLatBox apart;
  apart.Extend({11, 31});
  apart.Extend({12, 35});
  EXPECT_FALSE(box.Intersects(apart));
  EXPECT_FALSE(box.Intersects(LonLatBox()));
  EXPECT_FALSE(LonLatBox().Intersects(box));
}

TEST(Geometry, PolygonContainsEvenOddWithHolesAndHorizontalEdges) {
  Polygon square;  // lon 0..4, lat 0..4 with a hole lon 1..3, lat 1..3
  square.rings = {{{0, 0}, {0, 4}, {4, 4}, {4, 0}}, {{1, 1}, {3, 1}, {3, 3}, {1, 3}}};
  // Contains works before ComputeBox (empty box = not computed) and after.
  EXPECT_TRUE(square.Contains({0.5, 0.5}));
  square.ComputeBox();
  EXPECT_EQ(square.box.max_lat_deg, 4);
  EXPECT_TRUE(square.Contains({0.5, 0.5}));
  EXPECT_FALSE(square.Contains({2, 2}));  // in the hole
  EXPECT_TRUE(square.Contains({3.5, 2}));
  EXPECT_FALSE(square.Contains({5, 2}));
  EXPECT_FALSE(square.Contains({2, -1}));
  // A ray through vertices and along horizontal edges (lat exactly 1 and 3) must count
  // crossings once: the point at lat 1, lon 0.5 is inside the outer ring, left of the hole.
  EXPECT_TRUE(square.Contains({1, 0.5}));
  EXPECT_TRUE(square.Contains({3, 0.5}));
  // Points exactly on edges have no promised answer, but must not crash.
  (void)square.Contains({0, 2});
  (void)square.Contains({4, 4});
  // A notched ring with a horizontal edge at the test latitude.
  Polygon notch;
  notch.rings = {{{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {2, 2}, {2, 3}, {0, 3}}};
  notch.ComputeBox();
  EXPECT_TRUE(notch.Contains({1, 0.5}));
  EXPECT_TRUE(notch.Contains({1.5, 2.5}));
  EXPECT_FALSE(notch.Contains({1.5, 1.5}));  // in the notch
  EXPECT_TRUE(notch.Contains({1.5, 0.5}));
  Polygon degenerate;
  degenerate.rings = {{{0, 0}, {1, 1}}};
  degenerate.ComputeBox();
  EXPECT_FALSE(degenerate.Contains({0.5, 0.5}));
}

// A quantised topology small enough to decode by hand. position = q * (0.5, 0.25) + (10, 20).
//   arc 0: (2,0)->(2,2)                 the edge squares A and B share
//   arc 1: (2,2)->(0,2)->(0,0)->(2,0)   A = [1, 0]
//   arc 2: (2,0)->(4,0)->(4,2)->(2,2)   B = [2, ~0]: arc 0 reversed
//   arc 3: square (0,4)..(4,8)          outer ring of a polygon with a hole
//   arc 4: square (1,5)..(3,7)          its hole
//   arc 5, arc 6: triangles             a MultiPolygon, the second referenced reversed (~6)
//   arc 7, arc 8: triangles             features without an id ("Kosovo" and "Somaliland")
constexpr char kSmallTopology[] = R"({
  "type": "Topology",
  "transform": {"scale": [0.5, 0.25], "translate": [10, 20]},
  "arcs": [
    [[2, 0], [0, 2]],
    [[2, 2], [-2, 0], [0, -2], [2, 0]],
    [[2, 0], [2, 0], [0, 2], [-2, 0]],
    [[0, 4], [4, 0], [0, 4], [-4, 0], [0, -4]],
    [[1, 5], [0, 2], [2, 0], [0, -2], [-2, 0]],
    [[6, 0], [2, 0], [-1, 2], [-1, -2]],
    [[6, 4], [2, 0], [-1, 2], [-1, -2]],
    [[10, 0], [1, 0], [-1, 1], [0, -1]],
    [[12, 0], [1, 0], [-1, 1], [0, -1]]
  ],
  "objects": {"countries": {"type": "GeometryCollection", "geometries": [
    {"type": "Polygon", "arcs": [[1, 0]], "id": "156", "properties": {"name": "Square A"}},
    {"type": "Polygon", "arcs": [[2, -1]], "id": "344", "properties": {"name": "Square B"}},
    {"type": "Polygon", "arcs": [[3], [4]], "id": "036", "properties": {"name": "Holed"}},
    {"type": "MultiPolygon", "arcs": [[[5]], [[-7]]], "id": "036",
     "properties": {"name": "Two triangles"}},
    {"type": null},
    {"type": "Point", "coordinates": [1, 2]},
    {"type": "Polygon", "arcs": [[7]], "properties": {"name": "Kosovo"}},
    {"type": "Polygon", "arcs": [[8]], "properties": {"name": "Somaliland"}}
  ]}}
})";

using LonLat = std::pair<double, double>;

std::vector<LonLat> Points(const std::vector<LatLon>& ring) {
  std::vector<LonLat> out;
  for (const LatLon& p : ring) out.emplace_back(p.lon_deg, p.lat_deg);
  return out;
}

CountryMap MustDecode(const std::string& text) {
  Result<CountryMap> map = CountryMap::FromTopoJson(text);
  EXPECT_TRUE(map.ok()) << map.status().ToString();
  return map.ok() ? std::move(map).value() : CountryMap();
}

TEST(TopoJsonDecode, QuantisedArcsDecodeToExactCoordinates) {
  CountryMap map = MustDecode(kSmallTopology);
  EXPECT_EQ(map.skipped_geometries(), 2);  // the null geometry and the Point
  EXPECT_EQ(map.dropped_rings(), 0);
  ASSERT_EQ(map.countries().size(), 5u);  // the two 036 features are one country

  const Country* a = map.Find("CN");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->numeric, 156);
  EXPECT_EQ(a->name, "Square A");
  ASSERT_EQ(a->polygons.size(), 1u);
  ASSERT_EQ(a->polygons[0].rings.size(), 1u);
  // Arc 1 whole, then arc 0 without its first point; the closing point is dropped.
  EXPECT_EQ(Points(a->polygons[0].rings[0]),
            (std::vector<LonLat>{{11, 20.5}, {10, 20.5}, {10, 20}, {11, 20}}));
  EXPECT_EQ(a->box.min_lon_deg, 10);
  EXPECT_EQ(a->box.max_lon_deg, 11);
  EXPECT_EQ(a->box.min_lat_deg, 20);
  EXPECT_EQ(a->box.max_lat_deg, 20.5);

  const Country* b = map.Find("HK");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->polygons.size(), 1u);
  // Arc 2, then arc 0 reversed ((2,2)->(2,0)) without its first point.
  EXPECT_EQ(Points(b->polygons[0].rings[0]),
            (std::vector<LonLat>{{11, 20}, {12, 20}, {12, 20.5}, {11, 20.5}}));

  const Country* au = map.Find("AU");
  ASSERT_NE(au, nullptr);
  EXPECT_EQ(au->numeric, 36);
  EXPECT_EQ(au->name, "Holed");  // the larger of the two merged features
  ASSERT_EQ(au->polygons.size(), 3u);
  ASSERT_EQ(au->polygons[0].rings.size(), 2u);
  EXPECT_EQ(Points(au->polygons[0].rings[0]),
            (std::vector<LonLat>{{10, 21}, {12, 21}, {12, 22}, {10, 22}}));
  EXPECT_EQ(Points(au->polygons[0].rings[1]),
            (std::vector<LonLat>{{10.5, 21.25}, {10.5, 21.75}, {11.5, 21.75}, {11.5, 21.25}}));
  EXPECT_EQ(Points(au->polygons[1].rings[0]),
            (std::vector<LonLat>{{13, 20}, {14, 20}, {13.5, 20.5}}));
  // ~6: arc 6 backwards.
  EXPECT_EQ(Points(au->polygons[2].rings[0]),
            (std::vector<LonLat>{{13, 21}, {13.5, 21.5}, {14, 21}}));
  EXPECT_EQ(au->box.min_lon_deg, 10);
  EXPECT_EQ(au->box.max_lon_deg, 14);
  EXPECT_EQ(au->box.max_lat_deg, 22);

  const Country* kosovo = map.Find("XK");  // no id; the documented name fallback
  ASSERT_NE(kosovo, nullptr);
  EXPECT_EQ(kosovo->numeric, 0);
  EXPECT_EQ(kosovo->name, "Kosovo");
  EXPECT_EQ(map.Find(""), nullptr);
  EXPECT_EQ(map.Find("SO"), nullptr);
  EXPECT_EQ(map.countries().back().name, "Somaliland");
  EXPECT_EQ(map.countries().back().alpha2, "");
}

TEST(TopoJsonDecode, CountryAtUsesEvenOddAndHoles) {
  CountryMap map = MustDecode(kSmallTopology);
  EXPECT_EQ(map.CountryAt({20.25, 10.5}), "CN");
  EXPECT_EQ(map.CountryAt({20.25, 11.5}), "HK");
  EXPECT_EQ(map.CountryAt({21.1, 10.2}), "AU");
  EXPECT_EQ(map.CountryAt({21.5, 11}), "");  // in the hole
  EXPECT_EQ(map.CountryAt({20.1, 13.5}), "AU");
  EXPECT_EQ(map.CountryAt({21.2, 13.5}), "AU");
  EXPECT_EQ(map.CountryAt({20.05, 15.1}), "XK");
  EXPECT_EQ(map.CountryAt({20.05, 16.1}), "");  // a feature without a code
  EXPECT_EQ(map.CountryAt({25, 25}), "");
  EXPECT_EQ(map.CountryAt({20.25, 10.5 + 360}), "CN");  // longitudes wrap
}

TEST(TopoJsonDecode, AcceptsIntegerIdsAndExtraPositionMembers) {
  json topo = json::parse(kSmallTopology);
  auto& geometries = topo["objects"]["countries"]["geometries"];
  geometries[0]["id"] = 156;
  topo["arcs"][0][0] = json::array({2, 0, 7});  // e.g. an elevation
  CountryMap map = MustDecode(topo.dump());
  ASSERT_NE(map.Find("CN"), nullptr);
  EXPECT_EQ(map.Find("CN")->numeric, 156);
}

TEST(TopoJsonDecode, DropsZeroAreaRings) {
  json topo = json::parse(kSmallTopology);
  // An islet that quantisation collapsed to a there-and-back line.
  topo["arcs"].push_back(json::parse("[[20, 0], [1, 0], [-1, 0]]"));
  topo["objects"]["countries"]["geometries"].push_back(
      json::parse(R"({"type": "Polygon", "arcs": [[9]], "id": "462"})"));
  CountryMap map = MustDecode(topo.dump());
  EXPECT_EQ(map.dropped_rings(), 1);
  ASSERT_NE(map.Find("MV"), nullptr);
  EXPECT_TRUE(map.Find("MV")->polygons.empty());
}

// Unquantised (no transform): positions are absolute. One ring crosses the antimeridian, one
// circles the south pole, as world-atlas's stitched Fiji and Antarctica do.
constexpr char kAntimeridianTopology[] = R"({
  "type": "Topology",
  "arcs": [
    [[179, -17], [-179, -17], [-179, -16], [179, -16], [179, -17]],
    [[-170, -80], [-60, -80], [60, -80], [170, -80], [-170, -80]]
  ],
  "objects": {"countries": {"type": "GeometryCollection", "geometries": [
    {"type": "Polygon", "arcs": [[0]], "id": "242", "properties": {"name": "Fiji-ish"}},
    {"type": "Polygon", "arcs": [[1]], "id": "010", "properties": {"name": "Antarctica-ish"}}
  ]}}
})";

TEST(TopoJsonDecode, CutsRingsAtTheAntimeridianAndClosesPolarRings) {
  CountryMap map = MustDecode(kAntimeridianTopology);
  const Country* fj = map.Find("FJ");
  ASSERT_NE(fj, nullptr);
  ASSERT_EQ(fj->polygons.size(), 2u);
  for (const Country& c : map.countries()) {
    for (const Polygon& polygon : c.polygons) {
      EXPECT_LE(polygon.box.min_lon_deg, polygon.box.max_lon_deg);
      EXPECT_GE(polygon.box.min_lon_deg, -180);
      EXPECT_LE(polygon.box.max_lon_deg, 180);
    }
  }
  EXPECT_EQ(fj->polygons[0].box.min_lon_deg, 179);
  EXPECT_EQ(fj->polygons[0].box.max_lon_deg, 180);
  EXPECT_EQ(fj->polygons[1].box.min_lon_deg, -180);
  EXPECT_EQ(fj->polygons[1].box.max_lon_deg, -179);
  EXPECT_EQ(map.CountryAt({-16.5, 179.5}), "FJ");
  EXPECT_EQ(map.CountryAt({-16.5, -179.5}), "FJ");
  EXPECT_EQ(map.CountryAt({-16.5, 178.5}), "");
  EXPECT_EQ(map.CountryAt({-16.5, 0}), "");  // no edge spans the map any more

  const Country* aq = map.Find("AQ");
  ASSERT_NE(aq, nullptr);
  EXPECT_EQ(aq->box.min_lat_deg, -90);
  EXPECT_EQ(aq->box.min_lon_deg, -180);
  EXPECT_EQ(aq->box.max_lon_deg, 180);
  for (double lon : {-179.9, -175.0, -90.0, 0.0, 90.0, 175.0, 179.9}) {
    EXPECT_EQ(map.CountryAt({-85, lon}), "AQ") << lon;
    EXPECT_EQ(map.CountryAt({-70, lon}), "") << lon;
  }
  int cut_edges = 0;
  for (const Polygon& polygon : aq->polygons) {
    const auto& ring = polygon.rings[0];
    for (size_t i = 0; i < ring.size(); ++i) {
      if (IsCutEdge(ring[i], ring[(i + 1) % ring.size()])) ++cut_edges;
    }
  }
  EXPECT_GT(cut_edges, 0);
  EXPECT_FALSE(IsCutEdge({-80, -60}, {-80, 60}));
  EXPECT_TRUE(IsCutEdge({-17, 180}, {-16, 180}));
  EXPECT_TRUE(IsCutEdge({-90, 10}, {-90, -170}));
}

struct Malformed {
  const char* name;
  std::function<void(json&)> mutate;
  const char* message;  // a substring of the error, starting with the JSON path
};

TEST(TopoJsonDecode, RejectsMalformedTopologiesNamingThePath) {
  const std::string g0 = "objects.countries.geometries[0]";
  const std::vector<Malformed> cases = {
      {"root not an object", [](json& t) { t = json::array(); }, "topology: must be a JSON object"},
      {"wrong type", [](json& t) { t["type"] = "FeatureCollection"; },
       "type: must be \"Topology\""},
      {"no type", [](json& t) { t.erase("type"); }, "type: missing"},
      {"no arcs", [](json& t) { t.erase("arcs"); }, "arcs: missing"},
      {"arcs not an array", [](json& t) { t["arcs"] = json::object(); }, "arcs: must be an array"},
      {"arc not an array", [](json& t) { t["arcs"][2] = 3; },
       "arcs[2]: must be an array of positions"},
      {"arc of one position", [](json& t) { t["arcs"][0] = json::parse("[[2, 0]]"); },
       "arcs[0]: must have at least 2 positions"},
      {"position not an array", [](json& t) { t["arcs"][1][2] = 5; },
       "arcs[1][2]: must be an array of at least 2 numbers"},
      {"position too short", [](json& t) { t["arcs"][1][2] = json::array({1}); },
       "arcs[1][2]: must be an array of at least 2 numbers"},
      {"fractional quantised",
       [](json& t) {
         t["arcs"][1][2] = json::array({0.5, 1});
       },
       "arcs[1][2][0]: must be an integer in a quantised topology"},
      {"string coordinate",
       [](json& t) {
         t["arcs"][1][2] = json::array({0, "1"});
       },
       "arcs[1][2][1]: must be an integer in a quantised topology"},
      {"longitude out of range",
       [](json& t) {
         t["arcs"][3][0] = json::array({1000, 0});
       },
       "arcs[3][0]: longitude 510 outside [-180, 180]"},
      {"latitude out of range",
       [](json& t) {
         t["arcs"][3][0] = json::array({0, 1000});
       },
       "arcs[3][0]: latitude 270 outside [-90, 90]"},
      {"delta out of range",
       [](json& t) {
         t["arcs"][1][1] = json::array({int64_t{1} << 50, 0});
       },
       "arcs[1][1][0]: quantised coordinate out of range"},
      {"huge unsigned delta",
       [](json& t) {
         t["arcs"][1][1] = json::array({uint64_t{1} << 63, 0});
       },
       "arcs[1][1][0]: quantised coordinate out of range"},
      {"transform not an object", [](json& t) { t["transform"] = 5; },
       "transform: must be an object"},
      {"no scale", [](json& t) { t["transform"].erase("scale"); }, "transform.scale: missing"},
      {"short scale", [](json& t) { t["transform"]["scale"] = json::array({1}); },
       "transform.scale: must be an array of 2 numbers"},
      {"zero scale",
       [](json& t) {
         t["transform"]["scale"] = json::array({0, 1});
       },
       "transform.scale[0]: must be non-zero"},
      {"no translate", [](json& t) { t["transform"].erase("translate"); },
       "transform.translate: missing"},
      {"string translate",
       [](json& t) {
         t["transform"]["translate"] = json::array({"a", 0});
       },
       "transform.translate[0]: must be a number"},
      {"no objects", [](json& t) { t.erase("objects"); }, "objects: missing"},
      {"objects not an object", [](json& t) { t["objects"] = json::array(); },
       "objects: must be an object"},
      {"no countries", [](json& t) { t["objects"].erase("countries"); },
       "objects.countries: missing"},
      {"countries not an object", [](json& t) { t["objects"]["countries"] = 1; },
       "objects.countries: must be an object"},
      {"not a collection", [](json& t) { t["objects"]["countries"]["type"] = "FeatureCollection"; },
       "objects.countries.type: must be \"GeometryCollection\""},
      {"no geometries", [](json& t) { t["objects"]["countries"].erase("geometries"); },
       "objects.countries.geometries: missing"},
      {"geometries not an array",
       [](json& t) { t["objects"]["countries"]["geometries"] = json::object(); },
       "objects.countries.geometries: must be an array"},
  };
  auto geometry = [](json& t, int i) -> json& {
    return t["objects"]["countries"]["geometries"][size_t(i)];
  };
  const std::vector<Malformed> geometry_cases = {
      {"geometry not an object", [&](json& t) { geometry(t, 0) = 3; }, "[0]: must be an object"},
      {"geometry without type", [&](json& t) { geometry(t, 0).erase("type"); },
       "[0].type: missing"},
      {"numeric type", [&](json& t) { geometry(t, 0)["type"] = 7; },
       "[0].type: must be a string or null"},
      {"no arcs", [&](json& t) { geometry(t, 0).erase("arcs"); }, "[0].arcs: missing"},
      {"arcs not an array", [&](json& t) { geometry(t, 0)["arcs"] = 1; },
       "[0].arcs: must be an array"},
      {"polygon ring not an array", [&](json& t) { geometry(t, 0)["arcs"] = json::array({5}); },
       "[0].arcs[0]: must be an array of arc indices"},
      {"arc index out of range",
       [&](json& t) { geometry(t, 0)["arcs"] = json::parse("[[1, 99]]"); },
       "[0].arcs[0][1]: arc index 99 out of range (9 arcs)"},
      {"reversed index out of range",
       [&](json& t) { geometry(t, 0)["arcs"] = json::parse("[[1, -100]]"); },
       "[0].arcs[0][1]: arc index -100 out of range (9 arcs)"},
      {"fractional arc index", [&](json& t) { geometry(t, 0)["arcs"] = json::parse("[[1, 0.5]]"); },
       "[0].arcs[0][1]: must be an integer arc index"},
      {"empty ring", [&](json& t) { geometry(t, 0)["arcs"] = json::parse("[[]]"); },
       "[0].arcs[0]: ring must reference at least one arc"},
      {"open ring", [&](json& t) { geometry(t, 0)["arcs"] = json::parse("[[1]]"); },
       "[0].arcs[0]: ring is not closed"},
      {"arcs that do not join", [&](json& t) { geometry(t, 0)["arcs"] = json::parse("[[1, -1]]"); },
       "[0].arcs[0][1]: arc -1 does not start where the previous arc ends"},
      {"polygon with no ring", [&](json& t) { geometry(t, 0)["arcs"] = json::array(); },
       "[0].arcs: polygon must have a ring"},
      {"multipolygon polygon not an array",
       [&](json& t) { geometry(t, 3)["arcs"] = json::array({5}); },
       "[3].arcs[0]: must be an array of rings"},
      {"multipolygon ring not an array",
       [&](json& t) { geometry(t, 3)["arcs"] = json::parse("[[5]]"); },
       "[3].arcs[0][0]: must be an array of arc indices"},
      {"multipolygon bad index", [&](json& t) { geometry(t, 3)["arcs"][1][0][0] = -10; },
       "[3].arcs[1][0][0]: arc index -10 out of range (9 arcs)"},
      {"boolean id", [&](json& t) { geometry(t, 0)["id"] = true; },
       "[0].id: must be an ISO 3166-1 numeric code"},
      {"non-digit id", [&](json& t) { geometry(t, 0)["id"] = "15a"; },
       "[0].id: must be an ISO 3166-1 numeric code (a string of 1 to 3 digits), got \"15a\""},
      {"long id", [&](json& t) { geometry(t, 0)["id"] = "1560"; },
       "[0].id: must be an ISO 3166-1 numeric code"},
      {"negative id", [&](json& t) { geometry(t, 0)["id"] = -99; },
       "[0].id: must be an ISO 3166-1 numeric code"},
      {"properties not an object", [&](json& t) { geometry(t, 0)["properties"] = json::array(); },
       "[0].properties: must be an object"},
      {"name not a string", [&](json& t) { geometry(t, 0)["properties"]["name"] = 5; },
       "[0].properties.name: must be a string"},
  };
  auto check = [](const Malformed& c, const std::string& prefix) {
    json topo = json::parse(kSmallTopology);
    c.mutate(topo);
    Result<CountryMap> map = CountryMap::FromTopoJson(topo.dump());
    ASSERT_FALSE(map.ok()) << c.name;
    EXPECT_EQ(map.status().code(), StatusCode::kInvalidInput) << c.name;
    const std::string want = prefix + c.message;
    EXPECT_EQ(map.status().message().rfind(want, 0), 0u)
        << c.name << ": got \"" << map.status().message() << "\", want it to start with \"" << want
        << "\"";
  };
  for (const Malformed& c : cases) check(c, "");
  for (const Malformed& c : geometry_cases) check(c, g0.substr(0, g0.size() - 3));

  Result<CountryMap> not_json = CountryMap::FromTopoJson("{\"type\": ");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(not_json.status().message().find("not valid JSON"), std::string::npos);

  Result<CountryMap> other_object = CountryMap::FromTopoJson(kSmallTopology, "land");
  ASSERT_FALSE(other_object.ok());
  EXPECT_EQ(other_object.status().message(), "objects.land: missing");

  json unquantised = json::parse(kAntimeridianTopology);
  unquantised["arcs"][0][1] = json::array({181, -17});
  Result<CountryMap> bad_lon = CountryMap::FromTopoJson(unquantised.dump());
  ASSERT_FALSE(bad_lon.ok());
  EXPECT_EQ(bad_lon.status().message(), "arcs[0][1]: longitude 181 outside [-180, 180]");
  unquantised["arcs"][0][1] = json::array({"x", -17});
  bad_lon = CountryMap::FromTopoJson(unquantised.dump());
  ASSERT_FALSE(bad_lon.ok());
  EXPECT_EQ(bad_lon.status().message(), "arcs[0][1][0]: must be a number");
}

TEST(TopoJsonDecode, LoadReportsThePath) {
  Result<CountryMap> missing = CountryMap::Load("/nonexistent/countries-10m.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("/nonexistent/countries-10m.json"), std::string::npos);
}

TEST(CountryCodes, Alpha2FromNumericMapsIsoCodes) {
  const std::pair<int, const char*> known[] = {
      {156, "CN"}, {344, "HK"}, {446, "MO"}, {158, "TW"}, {643, "RU"}, {408, "KP"},
      {410, "KR"}, {364, "IR"}, {760, "SY"}, {192, "CU"}, {112, "BY"}, {104, "MM"},
      {702, "SG"}, {458, "MY"}, {784, "AE"}, {36, "AU"},  {392, "JP"}, {276, "DE"},
      {840, "US"}, {242, "FJ"}, {728, "SS"}, {729, "SD"}, {275, "PS"}, {732, "EH"},
      {4, "AF"},   {894, "ZM"}, {10, "AQ"},  {248, "AX"}, {531, "CW"}, {535, "BQ"},
  };
  for (const auto& [numeric, alpha2] : known) EXPECT_EQ(Alpha2FromNumeric(numeric), alpha2);
  for (int unassigned : {0, 1, 999, -1, 200, 891}) EXPECT_EQ(Alpha2FromNumeric(unassigned), "");
  int assigned = 0;
  for (int n = 0; n < 1000; ++n) assigned += Alpha2FromNumeric(n).empty() ? 0 : 1;
  EXPECT_EQ(assigned, 249);
}

// The real map: Natural Earth 1:10m via world-atlas 2.0.2, installed by scripts/deps.sh.
class RealCountries : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<CountryMap> loaded =
        CountryMap::Load(CUSTODIAN_SOURCE_DIR
                         "/third_party/world-atlas/node_modules/world-atlas/countries-10m.json");
    if (loaded.ok()) {
      map_ = new CountryMap(std::move(loaded).value());
    } else {
      error_ = new std::string(loaded.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete map_;
    delete error_;
    map_ = nullptr;
    error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(map_, nullptr) << *error_ << " (run scripts/deps.sh to install world-atlas)";
  }
  static CountryMap* map_;
  static std::string* error_;
};
CountryMap* RealCountries::map_ = nullptr;
std::string* RealCountries::error_ = nullptr;

TEST_F(RealCountries, LoadsEveryFeature) {
  // 255 features; Australia and the Ashmore and Cartier Islands share 036.
  EXPECT_EQ(map_->countries().size(), 254u);
  EXPECT_EQ(map_->skipped_geometries(), 0);
  EXPECT_EQ(map_->dropped_rings(), 20);  // islets quantisation collapsed (Maldives, Vatican, ...)
  for (const char* code : {"CN", "HK", "MO", "TW", "SG", "MY", "RU", "FJ", "US", "XK", "AQ"}) {
    const Country* c = map_->Find(code);
    ASSERT_NE(c, nullptr) << code;
    EXPECT_EQ(c->alpha2, code);
    EXPECT_FALSE(c->polygons.empty()) << code;
  }
  EXPECT_EQ(map_->Find("CN")->name, "China");
  EXPECT_EQ(map_->Find("AU")->name, "Australia");
  EXPECT_EQ(map_->Find("HK")->numeric, 344);
  int without_code = 0;
  for (const Country& c : map_->countries()) without_code += c.alpha2.empty() ? 1 : 0;
  EXPECT_EQ(without_code, 15);  // N. Cyprus, Somaliland, Siachen Glacier, ... (not Kosovo)
}

TEST_F(RealCountries, PolygonsArePlanarAfterCuttingAtTheAntimeridian) {
  for (const Country& c : map_->countries()) {
    for (const Polygon& polygon : c.polygons) {
      EXPECT_LE(polygon.box.min_lon_deg, polygon.box.max_lon_deg) << c.name;
      EXPECT_GE(polygon.box.min_lon_deg, -180) << c.name;
      EXPECT_LE(polygon.box.max_lon_deg, 180) << c.name;
      for (const auto& ring : polygon.rings) {
        for (size_t i = 0; i < ring.size(); ++i) {
          const LatLon& a = ring[i];
          const LatLon& b = ring[(i + 1) % ring.size()];
          // Only the line closing Antarctica along the pole spans the map.
          if (IsCutEdge(a, b)) continue;
          ASSERT_LE(std::fabs(a.lon_deg - b.lon_deg), 180) << c.name;
        }
      }
    }
  }
  EXPECT_EQ(map_->Find("RU")->box.min_lon_deg, -180);
  EXPECT_EQ(map_->Find("RU")->box.max_lon_deg, 180);
  EXPECT_EQ(map_->Find("AQ")->box.min_lat_deg, -90);
}

TEST_F(RealCountries, CountryAtKnownPlaces) {
  struct Place {
    const char* name;
    LatLon p;
    const char* alpha2;
  };
  const Place places[] = {
      {"Singapore", {1.3521, 103.8198}, "SG"},
      {"Johor Bahru", {1.4927, 103.7414}, "MY"},
      {"Shenzhen", {22.5431, 114.0579}, "CN"},
      {"Hong Kong", {22.3193, 114.1694}, "HK"},
      {"Macau", {22.1987, 113.5439}, "MO"},
      {"Beijing", {39.9042, 116.4074}, "CN"},
      {"Taipei", {25.0330, 121.5654}, "TW"},
      {"Moscow", {55.7558, 37.6173}, "RU"},
      {"Chukotka, west of 180", {66.0, 175.0}, "RU"},
      {"Chukotka, east of 180", {66.0, -172.0}, "RU"},
      {"Vanua Levu, Fiji, west of 180", {-16.5, 179.0}, "FJ"},
      {"Vanua Levu, Fiji, near 180", {-16.5, 179.5}, "FJ"},
      {"Taveuni, Fiji, west of 180", {-16.9, 179.97}, "FJ"},
      {"Taveuni, Fiji, east of 180", {-16.8, -179.9}, "FJ"},
      {"Vanua Balavu, Fiji, east of 180", {-17.22, -178.95}, "FJ"},
      {"Mid-Pacific", {0, -150}, ""},
      {"Antarctica across 180", {-85, -179.99}, "AQ"},
      {"Tokyo", {35.6762, 139.6503}, "JP"},
      {"Frankfurt", {50.1109, 8.6821}, "DE"},
      {"Dubai", {25.2048, 55.2708}, "AE"},
      {"Sydney", {-33.8688, 151.2093}, "AU"},
      {"Pristina", {42.6629, 21.1655}, "XK"},
      {"Hargeisa (Somaliland, no ISO code)", {9.56, 44.065}, ""},
  };
  for (const Place& place : places) {
    EXPECT_EQ(map_->CountryAt(place.p), place.alpha2) << place.name;
  }
}

}  // namespace
}  // namespace custodian::geo
