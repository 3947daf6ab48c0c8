// Verdicts (DESIGN §3): what a set of receipts proves about where a chip is.
//
//   verified      the feasible region is proven inside the licensed zone and disjoint from
//                 every restricted territory (buffered), with enough landmarks and operators
//                 and an accepted key binding.
//   violation     physics contradicts the claim: an answer too fast for the claimed site, an
//                 empty region, or a region proven wholly outside the licensed zone.
//   inconclusive  anything else — always with the reason and the numbers.
// Every reason has a machine-readable code, the numbers, and a sentence a compliance officer
// can read. Radii: r = v · (min RTT − t_min) / 2, grown by 500 ppm for the worst NTP slew of
// the landmark's clock (docs/protocol.md §7), so slewing can never shrink a region.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "geo/countries.h"
#include "geo/landmarks.h"
#include "geo/policy.h"
#include "geo/region.h"
#include "geo/territory.h"

namespace custodian::geo {

inline constexpr double kClockRateTolerance = 500e-6;

struct Observation {
  const TrustedLandmark* landmark = nullptr;
  int64_t min_rtt_ns = 0;
};

struct VerdictRequest {
  std::vector<Observation> observations;  // several per landmark allowed: the smallest counts
  std::optional<LatLon> site;             // the claimed site, if any
  std::set<std::string> licensed;         // empty: no licensed-zone questions (as in geo eval)
  std::string key_binding = "software";
};

enum class VerdictKind { kVerified, kInconclusive, kViolation };
const char* VerdictKindName(VerdictKind kind);

struct Reason {
  std::string code;
  std::string text;
  nlohmann::json numbers = nlohmann::json::object();
};

struct Verdict {
  VerdictKind kind = VerdictKind::kInconclusive;
  std::vector<Reason> reasons;   // why this verdict (decisive first)
  std::vector<Reason> evidence;  // one per landmark: what its answer proves
  RegionAnswer region;
  std::vector<Cap> caps;  // WGS84 caps, one per landmark
  std::string speed_model;
  nlohmann::json ToJson() const;
  std::string Summary() const;  // "verified: ..." one paragraph
};

// Builds territories once and caches licensed zones and per-landmark distances.
// Thread-safe: one engine serves every thread (territories are costly to build — about half a
// second for "all land except" — and immutable once built, so they are shared).
class VerdictEngine {
 public:
  VerdictEngine(const CountryMap& map, Policy policy);
  Verdict Decide(const VerdictRequest& request);
  const Policy& policy() const { return policy_; }
  const Territory& restricted() const { return restricted_; }
  const Territory& Licensed(const std::set<std::string>& codes);
  // All land except the licensed countries' (for licensed_zone_includes_sea).
  const Territory& UnlicensedLand(const std::set<std::string>& codes);
  // Radius (km, WGS84) that an RTT proves under the policy, including the clock tolerance.
  double RadiusKm(int64_t min_rtt_ns) const;

 private:
  const CountryMap& map_;
  Policy policy_;
  Territory restricted_;
  // Finds or builds (outside the lock) the territory `build` makes for `codes`.
  const Territory& Cached(std::map<std::string, std::unique_ptr<Territory>>& cache,
                          const std::set<std::string>& codes,
                          Territory (*build)(const CountryMap&, const std::set<std::string>&));
  std::mutex cache_mu_;
  // Entries are never removed, so references handed out stay valid.
  std::map<std::string, std::unique_ptr<Territory>> licensed_cache_;    // guarded by cache_mu_
  std::map<std::string, std::unique_ptr<Territory>> unlicensed_cache_;  // guarded by cache_mu_
};

}  // namespace custodian::geo
