// Country borders: Natural Earth 1:10m admin-0 countries as shipped by the npm package
// world-atlas (countries-10m.json, TopoJSON), decoded here (arcs, quantisation, delta encoding)
// and keyed by ISO 3166-1 alpha-2.
//
// The file is installed by the set-up step (scripts/deps.sh, pinned version, integrity-checked
// by npm) and never fetched at run time. Thread-safety: a loaded CountryMap is immutable; const
// methods may be called from any thread.
//
// Antimeridian: world-atlas re-stitched Natural Earth's polygons across lon ±180 (Russia's
// Chukotka, Fiji) and around the south pole (Antarctica), which is right on the sphere but
// wrong in the lon/lat plane. The loader therefore cuts such rings at lon ±180 into planar
// pieces, each a separate Polygon, and closes a ring that circles a pole along lat ±90, so
// every Polygon satisfies geometry.h (min_lon <= max_lon, lon in [-180, 180]). The edges it adds
// lie exactly on lon ±180 or lat ±90 and are not borders: see IsCutEdge().
// Degenerate rings (zero area: islets that 1e5 quantisation collapsed to a line or a point) are
// dropped, with the polygon when it is the outer ring. docs/geolocation.md, "Borders".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "geo/geometry.h"

namespace custodian::geo {

struct Country {
  std::string alpha2;  // ISO 3166-1 alpha-2 ("CN"); "" for features without an ISO code
  int numeric = 0;     // ISO 3166-1 numeric as in the file's feature id (0 when absent)
  std::string name;    // the file's properties.name
  std::vector<Polygon> polygons;
  LonLatBox box;
};

class CountryMap {
 public:
  // Decodes a TopoJSON topology and its object `object_name` (a GeometryCollection of
  // Polygon/MultiPolygon features). Errors name the JSON path of the bad member.
  static Result<CountryMap> FromTopoJson(std::string_view text,
                                         std::string_view object_name = "countries");
  static Result<CountryMap> Load(const std::string& path);
  // $CUSTODIAN_WORLD_ATLAS if set, else the copy the set-up step installed in the source tree
  // (third_party/world-atlas/node_modules/world-atlas/countries-10m.json), else
  // /usr/share/custodian/countries-10m.json.
  static std::string DefaultPath();
  static Result<CountryMap> LoadDefault() { return Load(DefaultPath()); }

  const std::vector<Country>& countries() const { return countries_; }
  // nullptr when no feature has that code.
  const Country* Find(std::string_view alpha2) const;
  // Alpha-2 of the country whose polygon contains the point; "" at sea or in a feature without
  // a code. Longitudes outside [-180, 180] are wrapped into it.
  std::string CountryAt(const LatLon& p) const;

  // Decoding statistics, for tests and the docs: geometries of a type other than Polygon or
  // MultiPolygon (including null) that were skipped, and zero-area rings that were dropped.
  int skipped_geometries() const { return skipped_geometries_; }
  int dropped_rings() const { return dropped_rings_; }

 private:
  std::vector<Country> countries_;
  std::vector<size_t> by_alpha2_;  // indices of countries_ with a code, sorted by alpha2
  int skipped_geometries_ = 0;
  int dropped_rings_ = 0;
};

// True when the edge ab lies on the antimeridian (both ends at the same lon ±180) or on a pole
// line (both ends at the same lat ±90): the loader's cut and pole-closing edges, not a border.
// Distance-to-border computations should skip such edges.
bool IsCutEdge(const LatLon& a, const LatLon& b);

// ISO 3166-1 numeric -> alpha-2 ("156" -> "CN"); "" when unknown.
std::string_view Alpha2FromNumeric(int numeric);

}  // namespace custodian::geo
