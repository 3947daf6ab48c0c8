// A territory: the union of some countries' polygons, indexed for the questions the verdict
// engine asks — is a point inside, how far is it from the border, and is a lon/lat box wholly
// outside, wholly inside, or mixed.
//
// Polygon edges are straight in the lon/lat plane (as the map defines them). Distances are on
// the sphere (geo/sphere.h) and are lower bounds: the distance to an edge is taken as the exact
// distance to the edge's lon/lat bounding box, which contains it. Immutable after Build; const
// methods are thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "geo/countries.h"
#include "geo/geometry.h"

namespace custodian::geo {

class Territory {
 public:
  Territory() = default;
  Territory(Territory&& o) noexcept;
  Territory& operator=(Territory&& o) noexcept;
  // The countries whose alpha-2 code is in `codes` (codes with no polygons are ignored; see
  // missing()).
  static Territory Build(const CountryMap& map, const std::set<std::string>& codes);
  // Every feature on the map (those without an ISO code too) except the `excluded` codes: the
  // land that is not licensed, for "the region touches no other country's land".
  static Territory BuildAllExcept(const CountryMap& map, const std::set<std::string>& excluded);

  bool empty() const { return edges_.empty(); }
  const std::set<std::string>& codes() const { return codes_; }
  const std::vector<std::string>& missing() const { return missing_; }  // codes not on the map

  bool Contains(const LatLon& p) const;

  struct Nearest {
    double distance_km = 0;  // sphere km, lower bound on the distance to the border
    std::string code;        // country of the nearest border edge
    LatLon point;            // a point of that edge's box nearest to p (for reporting)
  };
  // Lower bound on the distance from p to the territory's border; infinity when empty.
  // Memoised per point: the verdict engine asks again and again about the same landmarks.
  Nearest NearestBorder(const LatLon& p) const;
  // 0 inside, else NearestBorder(p).
  Nearest NearestPoint(const LatLon& p) const;

  enum class Relation { kOutside, kInside, kMixed };
  // Exact in the lon/lat plane: no edge meets the box and its center is outside/inside.
  Relation Classify(const LonLatBox& box) const;

 private:
  struct Edge {
    LatLon a, b;
    uint16_t code_index;
  };
  static constexpr int kCols = 360, kRows = 180;  // 1° buckets
  static constexpr int kCoarse = 10;              // 10° super-buckets for nearest searches
  static int Col(double lon) { return std::min(kCols - 1, std::max(0, int(lon + 180.0))); }
  static int Row(double lat) { return std::min(kRows - 1, std::max(0, int(lat + 90.0))); }
  void AddCountry(const Country& c, std::vector<std::vector<uint32_t>>& buckets);
  void FinishIndex(std::vector<std::vector<uint32_t>>& buckets);

  std::set<std::string> codes_;
  std::vector<std::string> code_names_;  // code_index -> alpha-2
  std::vector<std::string> missing_;
  std::vector<Edge> edges_;
  // CSR grid: edges whose box meets bucket (row, col) are bucket_edges_[start[k]..start[k+1]).
  std::vector<uint32_t> bucket_start_;
  std::vector<uint32_t> bucket_edges_;
  std::vector<uint32_t> nonempty_buckets_;  // bucket ids with edges, for nearest searches
  // For each non-empty 10° super-bucket, its non-empty 1° buckets.
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> coarse_buckets_;
  Nearest ComputeNearestBorder(const LatLon& p) const;
  mutable std::mutex memo_mu_;
  struct PointHash {
    size_t operator()(const std::pair<double, double>& p) const;
  };
  // Keyed by the exact coordinates (never by a hash alone: a collision would be a wrong answer).
  mutable std::unordered_map<std::pair<double, double>, Nearest, PointHash> memo_;
  // Per 1° latitude row, edges spanning that row (each once), for point-in-territory rays.
  std::vector<std::vector<uint32_t>> row_edges_;
  // The same edges as (max lon, id) and (min lon, id), sorted: the candidates for a ray cast
  // east (max lon > x) or west (min lon < x) are then a contiguous range.
  std::vector<std::vector<std::pair<double, uint32_t>>> row_by_max_lon_, row_by_min_lon_;
};

}  // namespace custodian::geo
