// Fast spherical geometry with proven bounds against the WGS84 ellipsoid.
//
// The engine decides on a sphere of radius R = 6371.0088 km (IUGG mean), using the same
// geodetic latitude/longitude as WGS84. Under that identification every curve's length on the
// ellipsoid is between M_min/R and N_max/R times its length on the sphere (M, N: the meridional
// and prime-vertical radii of curvature, 6335.439..6399.594 km), so for any two points
//     0.99441 · d_sphere  <=  d_wgs84  <=  1.00448 · d_sphere.
// kWgsOverSphereMin/Max round those outward; tests/unit/sphere_test.cc checks them against
// GeographicLib on random pairs. A WGS84 cap of radius r is therefore inside the sphere cap of
// radius r / kWgsOverSphereMin: deciding on the inflated sphere caps can only err towards
// `inconclusive`.
#pragma once

#include "geo/geometry.h"

namespace custodian::geo {

inline constexpr double kEarthMeanRadiusKm = 6371.0088;
inline constexpr double kWgsOverSphereMin = 0.9944;
inline constexpr double kWgsOverSphereMax = 1.0045;

// Great-circle distance on the sphere (haversine), km.
double SphereDistanceKm(const LatLon& a, const LatLon& b);

// Exact great-circle distance from p to the nearest point of a longitude/latitude box, km
// (0 inside). The box must not cross the antimeridian; p's longitude may be anything.
double SphereDistanceToBoxKm(const LatLon& p, const LonLatBox& box);

// Bounding box of the sphere cap (center, radius_km), as one or two boxes (two when it crosses
// the antimeridian; a cap containing a pole spans all longitudes). Returns the count (1 or 2).
int CapBoxes(const LatLon& center, double radius_km, LonLatBox out[2]);

}  // namespace custodian::geo
