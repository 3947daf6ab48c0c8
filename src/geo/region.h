// The feasible region and the three questions a verdict asks of it.
//
// Region R = ∩ caps, cap i = {x : d_wgs84(L_i, x) <= r_i}. Every answer here is *proven*: a
// question is answered true only if the computation shows it; "don't know" is false. Proofs
// are made on the sphere with each cap inflated to (r_i + buffer_km) / kWgsOverSphereMin, which
// contains the WGS84 cap grown by the map buffer (geo/sphere.h), so
//   disjoint_from_restricted  ⇒  R ∩ (restricted territory ⊕ buffer) = ∅,
//   inside_licensed           ⇒  R ⊕ buffer ⊆ licensed territory,
//   disjoint_from_licensed    ⇒  R ∩ (licensed territory ⊕ buffer) = ∅,
//   empty                     ⇒  no point is within r_i of every L_i.
// Method: per-cap tests first (a cap farther from a territory than its radius settles it),
// then branch-and-bound over lon/lat cells of the smallest cap: a cell is dropped when some cap
// provably misses it, settled when the territory is wholly outside or inside it, and split
// otherwise, down to ~200 m cells or a cell budget; anything left unsettled leaves the question
// unproven. Antimeridian, poles and caps over a hemisphere are handled by the box arithmetic of
// sphere.h.
#pragma once

#include <vector>

#include "geo/geometry.h"
#include "geo/territory.h"

namespace custodian::geo {

struct Cap {
  LatLon center;
  double radius_km = 0;  // WGS84 geodesic radius
};

struct RegionAnswer {
  bool empty = false;
  bool disjoint_from_restricted = false;
  bool inside_licensed = false;
  bool disjoint_from_licensed = false;
  int cells_visited = 0;
  bool budget_exhausted = false;
};

struct RegionLimits {
  int max_cells = 20000;
  double min_cell_deg = 0.002;  // ~220 m of latitude
};

// `licensed` may be null (no licensed-zone questions asked, as in `geo eval`). When
// `unlicensed_land` is given (all land except the licensed countries'), inside_licensed means
// "the region touches no land but the licensed countries'" (sea allowed, policy
// licensed_zone_includes_sea); otherwise it means "inside the licensed countries' land".
RegionAnswer AnalyzeRegion(const std::vector<Cap>& caps, double buffer_km,
                           const Territory& restricted, const Territory* licensed,
                           const Territory* unlicensed_land = nullptr,
                           const RegionLimits& limits = {});

// The sphere radius used for proofs: (radius_km + buffer_km) / kWgsOverSphereMin.
double ProofRadiusKm(double radius_km, double buffer_km);

}  // namespace custodian::geo
