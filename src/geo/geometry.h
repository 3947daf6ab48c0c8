// Plain geometric types shared by the geolocation engine. Angles in degrees (WGS84 geodetic
// latitude, longitude in [-180, 180]); distances in kilometres unless a name says otherwise.
#pragma once

#include <string>
#include <vector>

namespace custodian::geo {

struct LatLon {
  double lat_deg = 0;
  double lon_deg = 0;
};

// An axis-aligned box in longitude/latitude. Never crosses the antimeridian: map data are split
// there (Natural Earth does this), so min_lon <= max_lon always.
struct LonLatBox {
  double min_lon_deg = 180, min_lat_deg = 90, max_lon_deg = -180, max_lat_deg = -90;
  bool empty() const { return min_lon_deg > max_lon_deg; }
  void Extend(const LatLon& p);
  bool Intersects(const LonLatBox& o) const;
  bool Contains(const LatLon& p) const;
};

// A polygon with holes. Ring 0 is the outer ring, the rest are holes; rings are closed
// implicitly (the last point connects to the first). Edges are straight lines in the
// longitude/latitude plane, as the map data define them (see docs/geolocation.md for the error
// this makes against true geodesics, which the restricted-territory buffer covers).
struct Polygon {
  std::vector<std::vector<LatLon>> rings;
  LonLatBox box;
  // Even-odd rule over all rings in the lon/lat plane.
  bool Contains(const LatLon& p) const;
  void ComputeBox();
};

}  // namespace custodian::geo
