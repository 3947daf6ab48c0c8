#include "geo/geometry.h"

#include <algorithm>

namespace custodian::geo {

void LonLatBox::Extend(const LatLon& p) {
  min_lon_deg = std::min(min_lon_deg, p.lon_deg);
  max_lon_deg = std::max(max_lon_deg, p.lon_deg);
  min_lat_deg = std::min(min_lat_deg, p.lat_deg);
  max_lat_deg = std::max(max_lat_deg, p.lat_deg);
}

// Closed boxes: touching counts, so a point on a shared border is tested against both sides.
bool LonLatBox::Intersects(const LonLatBox& o) const {
  if (empty() || o.empty()) return false;
  return min_lon_deg <= o.max_lon_deg && o.min_lon_deg <= max_lon_deg &&
         min_lat_deg <= o.max_lat_deg && o.min_lat_deg <= max_lat_deg;
}

bool LonLatBox::Contains(const LatLon& p) const {
  return p.lon_deg >= min_lon_deg && p.lon_deg <= max_lon_deg && p.lat_deg >= min_lat_deg &&
         p.lat_deg <= max_lat_deg;
}

bool Polygon::Contains(const LatLon& p) const {
  // An empty box means either no points or ComputeBox() not called yet; only a computed,
  // non-empty box may reject.
  if (!box.empty() && !box.Contains(p)) return false;
  // Even-odd ray casting towards +longitude. The half-open test (a above) != (b above) counts
  // a vertex lying exactly at p's latitude once, and skips horizontal edges entirely (they
  // cannot cross a horizontal ray), so the division below never sees a zero denominator.
  bool inside = false;
  for (const std::vector<LatLon>& ring : rings) {
    const size_t n = ring.size();
    if (n < 3) continue;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
      const LatLon& a = ring[i];
      const LatLon& b = ring[j];
      if ((a.lat_deg > p.lat_deg) == (b.lat_deg > p.lat_deg)) continue;
      const double cross_lon_deg =
          a.lon_deg + (p.lat_deg - a.lat_deg) * (b.lon_deg - a.lon_deg) / (b.lat_deg - a.lat_deg);
      if (p.lon_deg < cross_lon_deg) inside = !inside;
    }
  }
  return inside;
}

void Polygon::ComputeBox() {
  box = LonLatBox();
  for (const std::vector<LatLon>& ring : rings) {
    for (const LatLon& p : ring) box.Extend(p);
  }
}

}  // namespace custodian::geo
