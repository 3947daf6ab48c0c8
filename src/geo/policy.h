// Verification policy: which territory is restricted, which speed bounds distance, what a
// `verified` verdict needs. Loaded from JSON (policy/default.json is compiled in as the default;
// every field is documented in docs/geolocation.md).
//
// Restricted set = (members of restricted_groups − members of exempt_groups)
//                  ∪ members of always_restricted_groups ∪ also_restricted − not_restricted,
// then every code in same_as whose target is restricted (HK, MO → CN) is restricted too.
// This is how the advanced-computing rules (15 CFR 744.23, 742.6(a)(6)) apply the Country
// Groups: D:1, D:4, D:5 unless also in A:5 or A:6; E:1 and E:2 always.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace custodian::geo {

enum class SpeedModel { kLight, kFibre };  // "c" (default, sound against any medium) or "fiber"

struct Policy {
  std::string name;
  SpeedModel speed_model = SpeedModel::kLight;
  int64_t t_min_ns = 0;  // publicly calibrated minimum turnaround, subtracted from each min RTT
  int min_landmarks = 1;
  int min_operators = 1;
  std::set<std::string> accepted_key_bindings;  // software, tpm, gpu-cc, gpu-resident
  double border_buffer_km = 5;  // map simplification error; restricted territory grows by it
  // true: "inside the licensed zone" means the region touches no land but the licensed
  // countries' (sea allowed); false: it must lie on the licensed countries' land.
  bool licensed_zone_includes_sea = true;
  std::set<std::string> restricted;  // ISO alpha-2 codes, after groups, overrides and same_as

  double speed_km_per_s() const;
  const char* speed_model_name() const;  // "c" or "fiber"
  bool IsRestricted(std::string_view alpha2) const {
    return restricted.count(std::string(alpha2)) != 0;
  }
};

// Strict: unknown fields, wrong types, unknown speed models, bad codes -> InvalidInput naming
// the field ("policy.country_groups.D:1[3]: ...").
Result<Policy> ParsePolicy(std::string_view json_text);
Result<Policy> LoadPolicyFile(const std::string& path);
// The compiled-in policy/default.json.
const Policy& DefaultPolicy();
std::string_view DefaultPolicyJson();

}  // namespace custodian::geo
