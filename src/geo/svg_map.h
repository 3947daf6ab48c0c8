// A map of one verdict as SVG (`custodian geo map`): country borders, restricted territory,
// the licensed zone, each landmark with the circle its answer proves, the claimed site, and the
// feasible region — so that a person can check a verdict with a map and a ruler.
//
// Projection: equirectangular with its standard parallel at the frame's middle latitude (so
// circles near the middle look round and the scale bar is true there). The frame is the region
// of interest: the smallest distance circle (which contains the feasible region), the circles
// not much larger than it, and the site, padded. Longitudes are unwrapped around the site, so a
// frame across the antimeridian (Fiji, Chukotka) is one continuous picture, not two halves.
// Circles larger than the frame are clipped to it; landmarks outside it are marked at its edge
// with their distance.
//
// The feasible region drawn is ILLUSTRATIVE: grid cells whose centres are within every circle
// (WGS84 geodesic distances). The verdict's proofs are made by the engine (geo/region.h) on
// buffered, inflated caps; the picture only shows where they are.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "geo/countries.h"
#include "geo/geometry.h"
#include "geo/policy.h"

namespace custodian::geo {

struct MapLandmark {
  std::string id;
  LatLon position;
  std::optional<double> radius_km;  // WGS84 radius its fastest answer proves; none: no receipt
  double min_rtt_ms = 0;
};

struct MapSpec {
  std::vector<MapLandmark> landmarks;
  LatLon site;
  std::set<std::string> licensed;    // may be empty
  std::string verdict;               // "verified", "inconclusive", "violation"
  std::vector<std::string> reasons;  // the verdict's sentences, decisive first
  int width_px = 960;                // of the map area; the legend is below it
};

// The whole SVG document (UTF-8). Deterministic for equal inputs.
std::string RenderSvgMap(const CountryMap& map, const Policy& policy, const MapSpec& spec);

}  // namespace custodian::geo
