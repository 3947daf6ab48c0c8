#include "geo/territory.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <queue>

#include "geo/sphere.h"

namespace custodian::geo {
namespace {

LonLatBox EdgeBox(const LatLon& a, const LatLon& b) {
  return {std::min(a.lon_deg, b.lon_deg), std::min(a.lat_deg, b.lat_deg),
          std::max(a.lon_deg, b.lon_deg), std::max(a.lat_deg, b.lat_deg)};
}

// Does segment ab meet the closed box (planar)? Liang–Barsky clipping.
bool SegmentMeetsBox(const LatLon& a, const LatLon& b, const LonLatBox& box) {
  double t0 = 0, t1 = 1;
  double dx = b.lon_deg - a.lon_deg, dy = b.lat_deg - a.lat_deg;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {a.lon_deg - box.min_lon_deg, box.max_lon_deg - a.lon_deg,
                       a.lat_deg - box.min_lat_deg, box.max_lat_deg - a.lat_deg};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
    } else {
      double t = q[i] / p[i];
      if (p[i] < 0) {
        t0 = std::max(t0, t);
      } else {
        t1 = std::min(t1, t);
      }
      if (t0 > t1) return false;
    }
  }
  return true;
}

}  // namespace

void Territory::AddCountry(const Country& c, std::vector<std::vector<uint32_t>>& buckets) {
  auto code_index = uint16_t(code_names_.size());
  code_names_.push_back(c.alpha2.empty() ? c.name : c.alpha2);
  for (const Polygon& poly : c.polygons) {
    for (const auto& ring : poly.rings) {
      for (size_t i = 0; i < ring.size(); ++i) {
        const LatLon& a = ring[i];
        const LatLon& b = ring[(i + 1) % ring.size()];
        if (a.lat_deg == b.lat_deg && a.lon_deg == b.lon_deg) continue;
        auto id = uint32_t(edges_.size());
        edges_.push_back({a, b, code_index});
        LonLatBox box = EdgeBox(a, b);
        for (int r = Row(box.min_lat_deg); r <= Row(box.max_lat_deg); ++r) {
          row_edges_[size_t(r)].push_back(id);
          for (int col = Col(box.min_lon_deg); col <= Col(box.max_lon_deg); ++col) {
            buckets[size_t(r) * kCols + size_t(col)].push_back(id);
          }
        }
      }
    }
  }
}

Territory::Territory(Territory&& o) noexcept {
  *this = std::move(o);
}

Territory& Territory::operator=(Territory&& o) noexcept {
  codes_ = std::move(o.codes_);
  code_names_ = std::move(o.code_names_);
  missing_ = std::move(o.missing_);
  edges_ = std::move(o.edges_);
  bucket_start_ = std::move(o.bucket_start_);
  bucket_edges_ = std::move(o.bucket_edges_);
  nonempty_buckets_ = std::move(o.nonempty_buckets_);
  coarse_buckets_ = std::move(o.coarse_buckets_);
  row_edges_ = std::move(o.row_edges_);
  row_by_max_lon_ = std::move(o.row_by_max_lon_);
  row_by_min_lon_ = std::move(o.row_by_min_lon_);
  memo_.clear();
  return *this;
}

void Territory::FinishIndex(std::vector<std::vector<uint32_t>>& buckets) {
  bucket_start_.reserve(buckets.size() + 1);
  std::map<uint32_t, std::vector<uint32_t>> coarse;
  for (size_t k = 0; k < buckets.size(); ++k) {
    bucket_start_.push_back(uint32_t(bucket_edges_.size()));
    if (!buckets[k].empty()) {
      nonempty_buckets_.push_back(uint32_t(k));
      uint32_t r = uint32_t(k / kCols) / kCoarse, c = uint32_t(k % kCols) / kCoarse;
      coarse[r * (kCols / kCoarse) + c].push_back(uint32_t(k));
    }
    bucket_edges_.insert(bucket_edges_.end(), buckets[k].begin(), buckets[k].end());
  }
  bucket_start_.push_back(uint32_t(bucket_edges_.size()));
  coarse_buckets_.assign(coarse.begin(), coarse.end());
  row_by_max_lon_.resize(row_edges_.size());
  row_by_min_lon_.resize(row_edges_.size());
  for (size_t r = 0; r < row_edges_.size(); ++r) {
    for (uint32_t id : row_edges_[r]) {
      const Edge& e = edges_[id];
      row_by_max_lon_[r].emplace_back(std::max(e.a.lon_deg, e.b.lon_deg), id);
      row_by_min_lon_[r].emplace_back(std::min(e.a.lon_deg, e.b.lon_deg), id);
    }
    std::sort(row_by_max_lon_[r].begin(), row_by_max_lon_[r].end());
    std::sort(row_by_min_lon_[r].begin(), row_by_min_lon_[r].end());
  }
}

Territory Territory::Build(const CountryMap& map, const std::set<std::string>& codes) {
  Territory t;
  t.codes_ = codes;
  std::vector<std::vector<uint32_t>> buckets(size_t(kRows) * kCols);
  t.row_edges_.resize(kRows);
  for (const auto& code : codes) {
    const Country* c = map.Find(code);
    if (c == nullptr || c->polygons.empty()) {
      t.missing_.push_back(code);
      continue;
    }
    t.AddCountry(*c, buckets);
  }
  t.FinishIndex(buckets);
  return t;
}

Territory Territory::BuildAllExcept(const CountryMap& map, const std::set<std::string>& excluded) {
  Territory t;
  std::vector<std::vector<uint32_t>> buckets(size_t(kRows) * kCols);
  t.row_edges_.resize(kRows);
  for (const Country& c : map.countries()) {
    if (!c.alpha2.empty() && excluded.count(c.alpha2) != 0) continue;
    if (!c.alpha2.empty()) t.codes_.insert(c.alpha2);
    t.AddCountry(c, buckets);
  }
  t.FinishIndex(buckets);
  return t;
}

bool Territory::Contains(const LatLon& p) const {
  // Even-odd ray cast along p's latitude over the edges spanning p's 1° row — eastwards or
  // westwards, whichever has fewer candidate edges (the parity is the same). All rings of all
  // polygons together: countries do not overlap, so parity is membership.
  if (edges_.empty() || !(p.lat_deg >= -90 && p.lat_deg <= 90)) return false;
  const size_t row = size_t(Row(p.lat_deg));
  const auto& by_max = row_by_max_lon_[row];
  const auto& by_min = row_by_min_lon_[row];
  auto east_begin =
      std::upper_bound(by_max.begin(), by_max.end(), std::make_pair(p.lon_deg, UINT32_MAX));
  // min lon <= x: an edge starting exactly at p's longitude can cross at x == p.lon.
  auto west_end =
      std::upper_bound(by_min.begin(), by_min.end(), std::make_pair(p.lon_deg, UINT32_MAX));
  const bool east = (by_max.end() - east_begin) <= (west_end - by_min.begin());
  bool inside = false;
  auto crosses = [&](const Edge& e) {
    if ((e.a.lat_deg > p.lat_deg) == (e.b.lat_deg > p.lat_deg)) return false;
    double x = e.a.lon_deg + (p.lat_deg - e.a.lat_deg) / (e.b.lat_deg - e.a.lat_deg) *
                                 (e.b.lon_deg - e.a.lon_deg);
    return east ? x > p.lon_deg : x <= p.lon_deg;
  };
  if (east) {
    for (auto it = east_begin; it != by_max.end(); ++it) inside ^= crosses(edges_[it->second]);
  } else {
    for (auto it = by_min.begin(); it != west_end; ++it) inside ^= crosses(edges_[it->second]);
  }
  return inside;
}

size_t Territory::PointHash::operator()(const std::pair<double, double>& p) const {
  uint64_t lat_bits = 0, lon_bits = 0;
  std::memcpy(&lat_bits, &p.first, 8);
  std::memcpy(&lon_bits, &p.second, 8);
  return size_t(lat_bits * 0x9E3779B97F4A7C15ULL ^ lon_bits);
}

Territory::Nearest Territory::NearestBorder(const LatLon& p) const {
  const std::pair<double, double> key{p.lat_deg, p.lon_deg};
  {
    std::lock_guard lock(memo_mu_);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
  }
  Nearest n = ComputeNearestBorder(p);
  std::lock_guard lock(memo_mu_);
  if (memo_.size() > 100000) memo_.clear();  // bounded; landmarks are few
  memo_.emplace(key, n);
  return n;
}

Territory::Nearest Territory::ComputeNearestBorder(const LatLon& p) const {
  Nearest best;
  best.distance_km = std::numeric_limits<double>::infinity();
  if (edges_.empty()) return best;
  // Best-first over 10° super-buckets, then their 1° buckets, then edges: stop when the next
  // box is farther than the best edge (box distances are lower bounds for their contents).
  struct Item {
    double km;
    uint32_t id;
    bool fine;
    bool operator>(const Item& o) const { return km > o.km; }
  };
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  for (uint32_t i = 0; i < coarse_buckets_.size(); ++i) {
    uint32_t k = coarse_buckets_[i].first;
    int r = int(k / (kCols / kCoarse)) * kCoarse, c = int(k % (kCols / kCoarse)) * kCoarse;
    LonLatBox cell{c - 180.0, r - 90.0, c - 180.0 + kCoarse, r - 90.0 + kCoarse};
    queue.push({SphereDistanceToBoxKm(p, cell), i, false});
  }
  while (!queue.empty()) {
    Item item = queue.top();
    queue.pop();
    if (item.km > best.distance_km) break;
    if (!item.fine) {
      for (uint32_t k : coarse_buckets_[item.id].second) {
        int r = int(k / kCols), c = int(k % kCols);
        LonLatBox cell{c - 180.0, r - 90.0, c - 179.0, r - 89.0};
        double km = SphereDistanceToBoxKm(p, cell);
        if (km <= best.distance_km) queue.push({km, k, true});
      }
      continue;
    }
    uint32_t k = item.id;
    for (uint32_t i = bucket_start_[k]; i < bucket_start_[k + 1]; ++i) {
      const Edge& e = edges_[bucket_edges_[i]];
      LonLatBox box = EdgeBox(e.a, e.b);
      double d = SphereDistanceToBoxKm(p, box);
      if (d < best.distance_km) {
        best.distance_km = d;
        best.code = code_names_[e.code_index];
        best.point = {std::clamp(p.lat_deg, box.min_lat_deg, box.max_lat_deg),
                      std::clamp(p.lon_deg, box.min_lon_deg, box.max_lon_deg)};
      }
    }
  }
  return best;
}

Territory::Nearest Territory::NearestPoint(const LatLon& p) const {
  Nearest n = NearestBorder(p);
  if (Contains(p)) {
    n.distance_km = 0;
    n.point = p;
  }
  return n;
}

Territory::Relation Territory::Classify(const LonLatBox& box) const {
  if (edges_.empty()) return Relation::kOutside;
  for (int r = Row(box.min_lat_deg); r <= Row(box.max_lat_deg); ++r) {
    for (int c = Col(box.min_lon_deg); c <= Col(box.max_lon_deg); ++c) {
      size_t k = size_t(r) * kCols + size_t(c);
      for (uint32_t i = bucket_start_[k]; i < bucket_start_[k + 1]; ++i) {
        const Edge& e = edges_[bucket_edges_[i]];
        if (SegmentMeetsBox(e.a, e.b, box)) return Relation::kMixed;
      }
    }
  }
  LatLon center{(box.min_lat_deg + box.max_lat_deg) / 2, (box.min_lon_deg + box.max_lon_deg) / 2};
  return Contains(center) ? Relation::kInside : Relation::kOutside;
}

}  // namespace custodian::geo
