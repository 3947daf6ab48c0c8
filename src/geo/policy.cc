#include "geo/policy.h"

#include <map>

#include "core/canonical_json.h"
#include "core/file.h"
#include "custodian/default_policy.h"
#include "geo/geodesic.h"

namespace custodian::geo {
namespace {

using nlohmann::json;

Status Bad(const std::string& path, const std::string& why) {
  return Status::InvalidInput("policy." + path + ": " + why);
}

bool IsAlpha2(const std::string& s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

Result<std::vector<std::string>> CodeList(const json& j, const std::string& path) {
  if (!j.is_array()) return Bad(path, "must be an array of ISO 3166-1 alpha-2 codes");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string() || !IsAlpha2(j[i].get<std::string>())) {
      return Bad(path + "[" + std::to_string(i) + "]",
                 "must be an ISO 3166-1 alpha-2 code in capitals, e.g. \"CN\"");
    }
    out.push_back(j[i].get<std::string>());
  }
  return out;
}

}  // namespace

double Policy::speed_km_per_s() const {
  return speed_model == SpeedModel::kLight ? kSpeedOfLightKmPerS : kFibreSpeedKmPerS;
}
const char* Policy::speed_model_name() const {
  return speed_model == SpeedModel::kLight ? "c" : "fiber";
}

Result<Policy> ParsePolicy(std::string_view json_text) {
  auto parsed = ParseJson(json_text);
  if (!parsed.ok()) return parsed.status().WithContext("policy");
  const json& j = *parsed;
  if (!j.is_object()) return Status::InvalidInput("policy: must be a JSON object");
  static const std::set<std::string> kKnown = {"policy_version",
                                               "name",
                                               "speed_model",
                                               "t_min_ns",
                                               "min_landmarks",
                                               "min_operators",
                                               "accepted_key_bindings",
                                               "border_buffer_km",
                                               "licensed_zone_includes_sea",
                                               "country_groups",
                                               "restricted_groups",
                                               "exempt_groups",
                                               "always_restricted_groups",
                                               "same_as",
                                               "also_restricted",
                                               "not_restricted"};
  for (const auto& [key, value] : j.items()) {
    if (kKnown.count(key) == 0) return Bad(key, "unknown field");
  }
  if (!j.contains("policy_version") || j["policy_version"] != 1) {
    return Bad("policy_version", "must be 1");
  }
  Policy p;
  if (j.contains("name")) {
    if (!j["name"].is_string()) return Bad("name", "must be a string");
    p.name = j["name"];
  }
  if (j.contains("speed_model")) {
    const json& s = j["speed_model"];
    if (s == "c") {
      p.speed_model = SpeedModel::kLight;
    } else if (s == "fiber" || s == "fibre") {
      p.speed_model = SpeedModel::kFibre;
    } else {
      return Bad("speed_model", "must be \"c\" or \"fiber\"");
    }
  }
  auto int_field = [&](const char* name, int64_t lo, int64_t hi, int64_t* out) -> Status {
    if (!j.contains(name)) return Status::Ok();
    if (!j[name].is_number_integer() || j[name].get<int64_t>() < lo ||
        j[name].get<int64_t>() > hi) {
      return Bad(name,
                 "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    *out = j[name].get<int64_t>();
    return Status::Ok();
  };
  int64_t min_landmarks = p.min_landmarks, min_operators = p.min_operators;
  CUSTODIAN_RETURN_IF_ERROR(int_field("t_min_ns", 0, 1'000'000'000, &p.t_min_ns));
  CUSTODIAN_RETURN_IF_ERROR(int_field("min_landmarks", 1, 1000, &min_landmarks));
  CUSTODIAN_RETURN_IF_ERROR(int_field("min_operators", 1, 1000, &min_operators));
  p.min_landmarks = int(min_landmarks);
  p.min_operators = int(min_operators);
  if (j.contains("border_buffer_km")) {
    const json& b = j["border_buffer_km"];
    if (!b.is_number() || !(b.get<double>() >= 0 && b.get<double>() <= 1000)) {
      return Bad("border_buffer_km", "must be a number of km in [0, 1000]");
    }
    p.border_buffer_km = b.get<double>();
  }
  if (j.contains("licensed_zone_includes_sea")) {
    if (!j["licensed_zone_includes_sea"].is_boolean()) {
      return Bad("licensed_zone_includes_sea", "must be true or false");
    }
    p.licensed_zone_includes_sea = j["licensed_zone_includes_sea"].get<bool>();
  }
  p.accepted_key_bindings = {"software", "tpm", "gpu-cc", "gpu-resident"};
  if (j.contains("accepted_key_bindings")) {
    const json& a = j["accepted_key_bindings"];
    if (!a.is_array()) return Bad("accepted_key_bindings", "must be an array");
    p.accepted_key_bindings.clear();
    for (size_t i = 0; i < a.size(); ++i) {
      static const std::set<std::string> kLevels = {"software", "tpm", "gpu-cc", "gpu-resident"};
      if (!a[i].is_string() || kLevels.count(a[i].get<std::string>()) == 0) {
        return Bad("accepted_key_bindings[" + std::to_string(i) + "]",
                   "must be one of software, tpm, gpu-cc, gpu-resident");
      }
      p.accepted_key_bindings.insert(a[i].get<std::string>());
    }
  }

  std::map<std::string, std::vector<std::string>> groups;
  if (j.contains("country_groups")) {
    if (!j["country_groups"].is_object()) return Bad("country_groups", "must be an object");
    for (const auto& [name, members] : j["country_groups"].items()) {
      auto codes = CodeList(members, "country_groups." + name);
      if (!codes.ok()) return codes.status();
      groups[name] = *codes;
    }
  }
  auto members_of = [&](const char* field, std::set<std::string>* out) -> Status {
    if (!j.contains(field)) return Status::Ok();
    if (!j[field].is_array()) return Bad(field, "must be an array of country group names");
    for (size_t i = 0; i < j[field].size(); ++i) {
      const json& g = j[field][i];
      if (!g.is_string() || groups.count(g.get<std::string>()) == 0) {
        return Bad(std::string(field) + "[" + std::to_string(i) + "]",
                   "must name a group defined in country_groups");
      }
      const auto& m = groups[g.get<std::string>()];
      out->insert(m.begin(), m.end());
    }
    return Status::Ok();
  };
  std::set<std::string> restricted, exempt, always;
  CUSTODIAN_RETURN_IF_ERROR(members_of("restricted_groups", &restricted));
  CUSTODIAN_RETURN_IF_ERROR(members_of("exempt_groups", &exempt));
  CUSTODIAN_RETURN_IF_ERROR(members_of("always_restricted_groups", &always));
  for (const auto& c : restricted) {
    if (exempt.count(c) == 0) p.restricted.insert(c);
  }
  p.restricted.insert(always.begin(), always.end());
  for (const char* field : {"also_restricted", "not_restricted"}) {
    if (!j.contains(field)) continue;
    auto codes = CodeList(j[field], field);
    if (!codes.ok()) return codes.status();
    for (const auto& c : *codes) {
      if (std::string(field) == "also_restricted") {
        p.restricted.insert(c);
      } else {
        p.restricted.erase(c);
      }
    }
  }
  if (j.contains("same_as")) {
    if (!j["same_as"].is_object()) return Bad("same_as", "must be an object of code: code");
    for (const auto& [code, target] : j["same_as"].items()) {
      if (!IsAlpha2(code) || !target.is_string() || !IsAlpha2(target.get<std::string>())) {
        return Bad("same_as." + code, "must map an alpha-2 code to an alpha-2 code");
      }
      if (p.restricted.count(target.get<std::string>()) != 0) p.restricted.insert(code);
    }
  }
  return p;
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  auto p = ParsePolicy(*text);
  if (!p.ok()) return p.status().WithContext(path);
  return p;
}

std::string_view DefaultPolicyJson() {
  return kDefaultPolicyJson;
}

const Policy& DefaultPolicy() {
  // The compiled-in file is checked by a unit test, so parsing it cannot fail here.
  static const Policy policy = ParsePolicy(kDefaultPolicyJson).value();
  return policy;
}

}  // namespace custodian::geo
