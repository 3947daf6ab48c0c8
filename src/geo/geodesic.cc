#include "geo/geodesic.h"

#include <GeographicLib/Geodesic.hpp>

namespace custodian::geo {

double GeodesicDistanceKm(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg) {
  double s12_m = 0;
  GeographicLib::Geodesic::WGS84().Inverse(lat1_deg, lon1_deg, lat2_deg, lon2_deg, s12_m);
  return s12_m / 1000.0;
}

}  // namespace custodian::geo
