#include "geo/sphere.h"

#include <algorithm>
#include <cmath>

namespace custodian::geo {
namespace {

constexpr double kDegToRad = M_PI / 180.0;
constexpr double kRadToDeg = 180.0 / M_PI;

// Central angle between two points, radians (haversine: well-conditioned for small angles).
double CentralAngle(double lat1, double lon1, double lat2, double lon2) {
  double dlat = (lat2 - lat1) * kDegToRad;
  double dlon = (lon2 - lon1) * kDegToRad;
  double s = std::sin(dlat / 2), t = std::sin(dlon / 2);
  double h = s * s + std::cos(lat1 * kDegToRad) * std::cos(lat2 * kDegToRad) * t * t;
  return 2 * std::asin(std::min(1.0, std::sqrt(h)));
}

// Distance from p to the meridian segment lon = lon0, lat in [lat1, lat2]. Along a meridian,
// cos(d) = A sin(phi) + B cos(phi) = sqrt(A²+B²) cos(phi - phi*), unimodal on the circle.
double DistanceToMeridianSegmentKm(const LatLon& p, double lon0, double lat1, double lat2) {
  double phi = p.lat_deg * kDegToRad;
  double a = std::sin(phi);
  double b = std::cos(phi) * std::cos((p.lon_deg - lon0) * kDegToRad);
  double phi_star = std::atan2(a, b) * kRadToDeg;
  if (phi_star >= lat1 && phi_star <= lat2) {
    return CentralAngle(p.lat_deg, p.lon_deg, phi_star, lon0) * kEarthMeanRadiusKm;
  }
  // Outside the segment (phi* may even lie beyond a pole when |Δlon| > 90°): cos(phi − phi*)
  // is unimodal on the circle, so the nearest point is one of the two ends.
  return std::min(CentralAngle(p.lat_deg, p.lon_deg, lat1, lon0),
                  CentralAngle(p.lat_deg, p.lon_deg, lat2, lon0)) *
         kEarthMeanRadiusKm;
}

}  // namespace

double SphereDistanceKm(const LatLon& a, const LatLon& b) {
  return CentralAngle(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg) * kEarthMeanRadiusKm;
}

double SphereDistanceToBoxKm(const LatLon& p, const LonLatBox& box) {
  // Is p's longitude within the box (modulo 360)?
  double offset = std::fmod(p.lon_deg - box.min_lon_deg + 720.0, 360.0);
  if (offset <= box.max_lon_deg - box.min_lon_deg) {
    // For each parallel the nearest longitude is p's own; along p's meridian distance is
    // monotonic away from p, so the nearest point is p's latitude clamped into the box.
    double lat = std::clamp(p.lat_deg, box.min_lat_deg, box.max_lat_deg);
    return std::abs(p.lat_deg - lat) * kDegToRad * kEarthMeanRadiusKm;
  }
  // Otherwise, for every parallel the nearest box point is on one of the two side meridians.
  return std::min(
      DistanceToMeridianSegmentKm(p, box.min_lon_deg, box.min_lat_deg, box.max_lat_deg),
      DistanceToMeridianSegmentKm(p, box.max_lon_deg, box.min_lat_deg, box.max_lat_deg));
}

int CapBoxes(const LatLon& c, double radius_km, LonLatBox out[2]) {
  double rho_deg = radius_km / kEarthMeanRadiusKm * kRadToDeg;
  double lat_lo = c.lat_deg - rho_deg, lat_hi = c.lat_deg + rho_deg;
  if (lat_hi >= 90 || lat_lo <= -90 || rho_deg >= 90) {
    // The cap contains a pole (or is huge): all longitudes.
    out[0] = {-180, std::max(-90.0, lat_lo), 180, std::min(90.0, lat_hi)};
    return 1;
  }
  double s = std::sin(rho_deg * kDegToRad) / std::cos(c.lat_deg * kDegToRad);
  double dlon = s >= 1 ? 180.0 : std::asin(s) * kRadToDeg;
  double lon_lo = c.lon_deg - dlon, lon_hi = c.lon_deg + dlon;
  if (dlon >= 180 || lon_hi - lon_lo >= 360) {
    out[0] = {-180, lat_lo, 180, lat_hi};
    return 1;
  }
  if (lon_lo < -180) {
    out[0] = {lon_lo + 360, lat_lo, 180, lat_hi};
    out[1] = {-180, lat_lo, lon_hi, lat_hi};
    return 2;
  }
  if (lon_hi > 180) {
    out[0] = {lon_lo, lat_lo, 180, lat_hi};
    out[1] = {-180, lat_lo, lon_hi - 360, lat_hi};
    return 2;
  }
  out[0] = {lon_lo, lat_lo, lon_hi, lat_hi};
  return 1;
}

}  // namespace custodian::geo
