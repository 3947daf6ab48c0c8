// Inputs shared by the geo commands: policy, borders, trusted landmarks, receipts, --site and
// --licensed parsing, each failing with a message that names the flag.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "geo/countries.h"
#include "geo/landmarks.h"
#include "geo/policy.h"
#include "geo/verdict.h"

namespace custodian::cli {

Result<geo::Policy> LoadPolicyFlag(const std::string& path);  // "" -> compiled-in default
Result<geo::LatLon> ParseSiteFlag(const std::string& text);   // "LAT,LON"
Result<std::set<std::string>> ParseLicensedFlag(const std::string& text);  // "SG,MY"
// The same for an optional --licensed: "" is the empty set (no licensed-zone questions).
Result<std::set<std::string>> ParseOptionalLicensedFlag(const std::string& text);
// Parses and checks every receipt against the trusted landmarks (signature, position).
Result<std::vector<geo::Observation>> LoadReceipts(
    const std::vector<std::string>& files, const std::vector<geo::TrustedLandmark>& trusted);
// The borders, loaded once per process.
Result<const geo::CountryMap*> Borders();

// Everything a verdict needs, loaded and checked in the order the commands promise: policy,
// trusted landmarks, then every receipt (one that fails stops the command), then borders.
// `observations` point into `trusted`, which moving the struct keeps valid.
struct VerdictInputs {
  geo::Policy policy;
  std::vector<geo::TrustedLandmark> trusted;
  std::vector<geo::Observation> observations;
  const geo::CountryMap* borders = nullptr;
};
Result<VerdictInputs> LoadVerdictInputs(const std::string& policy_path,
                                        const std::string& landmarks_path,
                                        const std::vector<std::string>& receipt_files);

}  // namespace custodian::cli
