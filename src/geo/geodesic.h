// Distances on the WGS84 ellipsoid (GeographicLib, Karney 2013: accurate to ~15 nm).
#pragma once

namespace custodian::geo {

inline constexpr double kSpeedOfLightKmPerS = 299'792.458;
// Light in optical fibre (refractive index ~1.5).
inline constexpr double kFibreSpeedKmPerS = kSpeedOfLightKmPerS * 2.0 / 3.0;

// Geodesic distance between two points given in degrees, in kilometres.
double GeodesicDistanceKm(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

}  // namespace custodian::geo
