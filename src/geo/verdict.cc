#include "geo/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "geo/geodesic.h"
#include "geo/sphere.h"

namespace custodian::geo {
namespace {

std::string Fmt(const char* format, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a);
  return buf;
}

// "2,390"
std::string Km(double km) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", km);
  std::string s = buf, out;
  int digits = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (std::isdigit((unsigned char)*it) && digits && digits % 3 == 0) out.insert(out.begin(), ',');
    if (std::isdigit((unsigned char)*it)) ++digits;
    out.insert(out.begin(), *it);
  }
  return out;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ",") + x;
  return out;
}

}  // namespace

const char* VerdictKindName(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::kVerified:
      return "verified";
    case VerdictKind::kViolation:
      return "violation";
    case VerdictKind::kInconclusive:
      break;
  }
  return "inconclusive";
}

VerdictEngine::VerdictEngine(const CountryMap& map, Policy policy)
    : map_(map),
      policy_(std::move(policy)),
      restricted_(Territory::Build(map, policy_.restricted)) {}

const Territory& VerdictEngine::Cached(std::map<std::string, std::unique_ptr<Territory>>& cache,
                                       const std::set<std::string>& codes,
                                       Territory (*build)(const CountryMap&,
                                                          const std::set<std::string>&)) {
  std::string key = Join(codes);
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache.find(key);
    if (it != cache.end()) return *it->second;
  }
  // Built without the lock, so verdicts for other zones go on meanwhile; two threads may build
  // the same one, and the first to finish wins.
  auto built = std::make_unique<Territory>(build(map_, codes));
  std::lock_guard<std::mutex> lock(cache_mu_);
  return *cache.emplace(key, std::move(built)).first->second;
}

const Territory& VerdictEngine::Licensed(const std::set<std::string>& codes) {
  return Cached(licensed_cache_, codes, &Territory::Build);
}

const Territory& VerdictEngine::UnlicensedLand(const std::set<std::string>& codes) {
  return Cached(unlicensed_cache_, codes, &Territory::BuildAllExcept);
}

double VerdictEngine::RadiusKm(int64_t min_rtt_ns) const {
  int64_t t = std::max<int64_t>(0, min_rtt_ns - policy_.t_min_ns);
  return policy_.speed_km_per_s() * (double(t) / 1e9) / 2.0 * (1.0 + kClockRateTolerance);
}

Verdict VerdictEngine::Decide(const VerdictRequest& request) {
  Verdict v;
  v.speed_model = policy_.speed_model_name();
  // The smallest RTT per landmark is all the physics needs.
  std::map<std::string, Observation> best;
  for (const auto& o : request.observations) {
    auto [it, inserted] = best.emplace(o.landmark->id, o);
    if (!inserted && o.min_rtt_ns < it->second.min_rtt_ns) it->second = o;
  }
  if (best.empty()) {
    v.reasons.push_back({"no_receipts", "no landmark answered: nothing is proven", {}});
    return v;
  }
  std::set<std::string> operators;
  const Cap* smallest = nullptr;
  std::string smallest_id;
  for (const auto& [id, o] : best) {
    operators.insert(o.landmark->operator_name);
    Cap cap{o.landmark->position, RadiusKm(o.min_rtt_ns)};
    v.caps.push_back(cap);
    Reason e{"landmark_answer",
             "landmark " + id + " (" + o.landmark->country + ") answered in " +
                 Fmt("%.3f", double(o.min_rtt_ns) / 1e6) + " ms: the chip is within " +
                 Km(cap.radius_km) + " km of it",
             {{"landmark", id},
              {"min_rtt_ns", o.min_rtt_ns},
              {"radius_km", cap.radius_km},
              {"lat", cap.center.lat_deg},
              {"lon", cap.center.lon_deg}}};
    v.evidence.push_back(std::move(e));
  }
  for (size_t i = 0; i < v.caps.size(); ++i) {
    if (smallest == nullptr || v.caps[i].radius_km < smallest->radius_km) {
      smallest = &v.caps[i];
      smallest_id = std::next(best.begin(), long(i))->first;
    }
  }

  // Physics against the claimed site: an answer faster than light from there disproves it.
  std::vector<Reason> violations;
  if (request.site) {
    for (const auto& [id, o] : best) {
      double d_km = GeodesicDistanceKm(o.landmark->position.lat_deg, o.landmark->position.lon_deg,
                                       request.site->lat_deg, request.site->lon_deg);
      double r_km = RadiusKm(o.min_rtt_ns);
      if (d_km > r_km + 0.1) {  // 100 m spare for rounding: a violation must be beyond doubt
        double min_possible_ms =
            2 * d_km / policy_.speed_km_per_s() * 1e3 / (1.0 + kClockRateTolerance) +
            double(policy_.t_min_ns) / 1e6;
        violations.push_back(
            {"too_fast_for_site",
             "landmark " + id + " answered in " + Fmt("%.3f", double(o.min_rtt_ns) / 1e6) +
                 " ms, but the claimed site is " + Km(d_km) + " km away: from there no answer " +
                 "can come back in less than " + Fmt("%.3f", min_possible_ms) + " ms",
             {{"landmark", id},
              {"min_rtt_ns", o.min_rtt_ns},
              {"site_distance_km", d_km},
              {"radius_km", r_km},
              {"min_possible_rtt_ms", min_possible_ms}}});
      }
    }
  }

  const Territory* licensed = request.licensed.empty() ? nullptr : &Licensed(request.licensed);
  const Territory* unlicensed = licensed != nullptr && policy_.licensed_zone_includes_sea
                                    ? &UnlicensedLand(request.licensed)
                                    : nullptr;
  v.region = AnalyzeRegion(v.caps, policy_.border_buffer_km, restricted_, licensed, unlicensed);
  if (v.region.empty) {
    violations.push_back({"empty_region",
                          "no place on Earth is within reach of every landmark that answered: "
                          "the answers cannot all come from one chip",
                          {}});
  }
  if (licensed != nullptr && v.region.disjoint_from_licensed) {
    violations.push_back({"outside_licensed_zone",
                          "every place the answers allow lies outside the licensed zone (" +
                              Join(request.licensed) + ")",
                          {{"licensed", request.licensed}}});
  }
  if (!violations.empty()) {
    v.kind = VerdictKind::kViolation;
    v.reasons = std::move(violations);
    return v;
  }

  std::vector<Reason> gaps;
  // How far the restricted territory is from the best landmark, and what the radius allows.
  Territory::Nearest near = restricted_.NearestPoint(smallest->center);
  double margin_km = near.distance_km * kWgsOverSphereMin - smallest->radius_km;
  if (!v.region.disjoint_from_restricted) {
    gaps.push_back({"region_reaches_restricted",
                    "the feasible region is not proven clear of restricted territory: landmark " +
                        smallest_id + "'s radius of " + Km(smallest->radius_km) + " km reaches " +
                        (near.code.empty() ? std::string("it") : near.code) + ", about " +
                        Km(near.distance_km * kWgsOverSphereMin) +
                        " km from that landmark (buffer " + Km(policy_.border_buffer_km) + " km)",
                    {{"nearest_restricted", near.code},
                     {"nearest_restricted_km", near.distance_km * kWgsOverSphereMin},
                     {"radius_km", smallest->radius_km},
                     {"border_buffer_km", policy_.border_buffer_km},
                     {"cells_visited", v.region.cells_visited}}});
  }
  if (licensed != nullptr && !v.region.inside_licensed) {
    gaps.push_back(
        {"region_leaves_licensed_zone",
         "the feasible region is not proven inside the licensed zone (" + Join(request.licensed) +
             (policy_.licensed_zone_includes_sea ? " or sea" : " land only") +
             "): the smallest radius is " + Km(smallest->radius_km) + " km around " + smallest_id,
         {{"licensed", request.licensed}, {"radius_km", smallest->radius_km}}});
  }
  if (int(best.size()) < policy_.min_landmarks) {
    gaps.push_back({"too_few_landmarks",
                    std::to_string(best.size()) + " landmark(s) answered; the policy needs " +
                        std::to_string(policy_.min_landmarks),
                    {{"landmarks", best.size()}, {"min_landmarks", policy_.min_landmarks}}});
  }
  if (int(operators.size()) < policy_.min_operators) {
    gaps.push_back({"too_few_operators",
                    std::to_string(operators.size()) +
                        " independent landmark operator(s) answered; the policy needs " +
                        std::to_string(policy_.min_operators),
                    {{"operators", operators.size()}, {"min_operators", policy_.min_operators}}});
  }
  if (policy_.accepted_key_bindings.count(request.key_binding) == 0) {
    gaps.push_back({"key_binding_not_accepted",
                    "the node key's binding (" + request.key_binding +
                        ") is not one the policy accepts for verified",
                    {{"key_binding", request.key_binding}}});
  }
  if (!gaps.empty()) {
    v.kind = VerdictKind::kInconclusive;
    v.reasons = std::move(gaps);
    return v;
  }
  v.kind = VerdictKind::kVerified;
  std::string where = licensed ? "inside " + Join(request.licensed) + " and " : "";
  v.reasons.push_back({"proven",
                       "landmark " + smallest_id + " proves the chip is within " +
                           Km(smallest->radius_km) + " km of it: " + where + "at least " +
                           Km(std::max(0.0, margin_km)) +
                           " km from the nearest restricted territory (" + near.code + ", " +
                           Km(near.distance_km * kWgsOverSphereMin) + " km from the landmark)",
                       {{"nearest_restricted", near.code},
                        {"margin_km", margin_km},
                        {"radius_km", smallest->radius_km},
                        {"speed_model", v.speed_model}}});
  return v;
}

nlohmann::json Verdict::ToJson() const {
  auto reasons_json = [](const std::vector<Reason>& rs) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& r : rs)
      a.push_back({{"code", r.code}, {"text", r.text}, {"numbers", r.numbers}});
    return a;
  };
  nlohmann::json caps_json = nlohmann::json::array();
  for (const auto& c : caps) {
    caps_json.push_back(
        {{"lat", c.center.lat_deg}, {"lon", c.center.lon_deg}, {"radius_km", c.radius_km}});
  }
  return {{"verdict", VerdictKindName(kind)},
          {"reasons", reasons_json(reasons)},
          {"evidence", reasons_json(evidence)},
          {"caps", caps_json},
          {"speed_model", speed_model},
          {"region",
           {{"empty", region.empty},
            {"disjoint_from_restricted", region.disjoint_from_restricted},
            {"inside_licensed", region.inside_licensed},
            {"disjoint_from_licensed", region.disjoint_from_licensed},
            {"cells_visited", region.cells_visited}}}};
}

std::string Verdict::Summary() const {
  std::string s = std::string(VerdictKindName(kind)) + "\n";
  for (const auto& r : reasons) s += "  - " + r.text + "\n";
  s += "evidence:\n";
  for (const auto& e : evidence) s += "  - " + e.text + "\n";
  return s;
}

}  // namespace custodian::geo
