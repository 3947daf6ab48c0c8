#include "geo/plan.h"

#include <algorithm>
#include <numeric>

#include "geo/geodesic.h"
#include "geo/sphere.h"

namespace custodian::geo {

SitePlan PlanSite(VerdictEngine& engine, const std::vector<TrustedLandmark>& landmarks,
                  const LatLon& site, const std::set<std::string>& licensed) {
  const Policy& policy = engine.policy();
  const Territory& restricted = engine.restricted();
  const Territory* licensed_zone = licensed.empty() ? nullptr : &engine.Licensed(licensed);
  SitePlan plan;
  auto site_near = restricted.NearestPoint(site);
  plan.site_nearest_restricted = site_near.code;
  plan.site_margin_km = site_near.distance_km == 0
                            ? 0
                            : GeodesicDistanceKm(site.lat_deg, site.lon_deg,
                                                 site_near.point.lat_deg, site_near.point.lon_deg);
  const double v_km_per_s = policy.speed_km_per_s();
  const double t_min_ms = double(policy.t_min_ns) / 1e6;
  for (const auto& l : landmarks) {
    PlanRow row;
    row.landmark = &l;
    row.distance_km =
        GeodesicDistanceKm(l.position.lat_deg, l.position.lon_deg, site.lat_deg, site.lon_deg);
    auto near = restricted.NearestPoint(l.position);
    double r_max = near.distance_km * kWgsOverSphereMin - policy.border_buffer_km;
    if (licensed_zone != nullptr) {
      double inside =
          licensed_zone->Contains(l.position)
              ? licensed_zone->NearestBorder(l.position).distance_km * kWgsOverSphereMin -
                    policy.border_buffer_km
              : 0;
      r_max = std::min(r_max, inside);
    }
    r_max = std::max(0.0, r_max) - 1e-3;
    row.can_help = r_max > row.distance_km;
    // Invert RadiusKm: r = v · (rtt − t_min) / 2 · (1 + clock tolerance).
    row.max_rtt_ms_to_verify =
        row.can_help ? 2 * r_max / v_km_per_s * 1e3 / (1 + kClockRateTolerance) + t_min_ms : 0;
    row.min_possible_rtt_ms = 2 * row.distance_km / v_km_per_s * 1e3 + t_min_ms;
    row.nearest_restricted = near.code;
    row.nearest_restricted_km = near.distance_km * kWgsOverSphereMin;
    plan.rows.push_back(row);
  }
  return plan;
}

std::vector<size_t> RankPlan(const SitePlan& plan) {
  std::vector<size_t> order(plan.rows.size());
  std::iota(order.begin(), order.end(), 0);
  auto slack = [&](size_t i) {
    return plan.rows[i].max_rtt_ms_to_verify - plan.rows[i].min_possible_rtt_ms;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const PlanRow& ra = plan.rows[a];
    const PlanRow& rb = plan.rows[b];
    if (ra.can_help != rb.can_help) return ra.can_help;
    if (ra.can_help) return slack(a) > slack(b);
    return ra.distance_km < rb.distance_km;
  });
  return order;
}

}  // namespace custodian::geo
