// The planner (DESIGN §5): for a site and the trusted landmarks, the largest RTT each landmark
// may measure for the site to be verifiable by it alone, and which landmarks can never help.
//
// Alone, a landmark verifies the site only if a cap around it that contains the site stays
// clear of restricted territory (and inside the licensed zone): the largest radius is its
// distance to that territory less the map buffer, in proof units (geo/region.h). A landmark
// that cannot help alone may still help together with others.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "geo/landmarks.h"
#include "geo/verdict.h"

namespace custodian::geo {

struct PlanRow {
  const TrustedLandmark* landmark = nullptr;
  double distance_km = 0;          // site to landmark, WGS84
  double min_possible_rtt_ms = 0;  // faster than this contradicts the site
  bool can_help = false;
  double max_rtt_ms_to_verify = 0;  // meaningful only when can_help
  std::string nearest_restricted;   // to the landmark
  double nearest_restricted_km = 0;
};

struct SitePlan {
  std::string site_nearest_restricted;
  double site_margin_km = 0;  // distance from the site to restricted territory
  std::vector<PlanRow> rows;  // in the order of `landmarks`
};

// `licensed` empty: no licensed-zone constraint.
SitePlan PlanSite(VerdictEngine& engine, const std::vector<TrustedLandmark>& landmarks,
                  const LatLon& site, const std::set<std::string>& licensed);

// Best first: landmarks that can help, by largest slack (max RTT − min possible RTT), then the
// others by distance. Returns indices into plan.rows.
std::vector<size_t> RankPlan(const SitePlan& plan);

}  // namespace custodian::geo
