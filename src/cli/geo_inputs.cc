#include "cli/geo_inputs.h"

#include <charconv>
#include <cmath>
#include <memory>
#include <sstream>

#include "core/file.h"
#include "proto/receipt.h"

namespace custodian::cli {

Result<geo::Policy> LoadPolicyFlag(const std::string& path) {
  if (path.empty()) return geo::DefaultPolicy();
  auto p = geo::LoadPolicyFile(path);
  if (!p.ok()) return p.status().WithContext("--policy");
  return p;
}

Result<geo::LatLon> ParseSiteFlag(const std::string& text) {
  auto comma = text.find(',');
  auto bad = Status::InvalidInput(
      "--site: expected LAT,LON in degrees, e.g. 1.4927,103.7414 (got '" + text + "')");
  if (comma == std::string::npos) return bad;
  geo::LatLon p;
  std::string lat = text.substr(0, comma), lon = text.substr(comma + 1);
  char* end = nullptr;
  p.lat_deg = std::strtod(lat.c_str(), &end);
  if (lat.empty() || *end != '\0') return bad;
  p.lon_deg = std::strtod(lon.c_str(), &end);
  if (lon.empty() || *end != '\0') return bad;
  if (!(std::abs(p.lat_deg) <= 90) || !(std::abs(p.lon_deg) <= 180)) {
    return Status::InvalidInput(
        "--site: latitude must be in [-90, 90] and longitude in [-180, 180]");
  }
  return p;
}

Result<std::set<std::string>> ParseLicensedFlag(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  std::string code;
  while (std::getline(in, code, ',')) {
    if (code.size() != 2 || !std::isupper((unsigned char)code[0]) ||
        !std::isupper((unsigned char)code[1])) {
      return Status::InvalidInput("--licensed: '" + code +
                                  "' is not an ISO 3166-1 alpha-2 code (e.g. SG,MY)");
    }
    out.insert(code);
  }
  if (out.empty()) return Status::InvalidInput("--licensed: give at least one country code");
  return out;
}

Result<std::set<std::string>> ParseOptionalLicensedFlag(const std::string& text) {
  if (text.empty()) return std::set<std::string>();
  return ParseLicensedFlag(text);
}

Result<std::vector<geo::Observation>> LoadReceipts(
    const std::vector<std::string>& files, const std::vector<geo::TrustedLandmark>& trusted) {
  std::vector<geo::Observation> out;
  for (const auto& f : files) {
    auto text = ReadFile(f, 1 << 20);
    if (!text.ok()) return text.status();
    auto receipt = proto::ParseReceipt(*text);
    if (!receipt.ok()) return Status::FailedCheck(f + ": " + receipt.status().message());
    auto landmark = geo::CheckReceiptAgainst(*receipt, trusted);
    if (!landmark.ok()) return Status::FailedCheck(f + ": " + landmark.status().message());
    out.push_back({*landmark, receipt->min_rtt_ns});
  }
  return out;
}

Result<const geo::CountryMap*> Borders() {
  static std::unique_ptr<geo::CountryMap> map;
  if (!map) {
    auto loaded = geo::CountryMap::LoadDefault();
    if (!loaded.ok()) {
      return Status::NotFound("cannot load country borders (" + loaded.status().message() +
                              "); run `make deps` or set CUSTODIAN_WORLD_ATLAS");
    }
    map = std::make_unique<geo::CountryMap>(std::move(*loaded));
  }
  return map.get();
}

Result<VerdictInputs> LoadVerdictInputs(const std::string& policy_path,
                                        const std::string& landmarks_path,
                                        const std::vector<std::string>& receipt_files) {
  VerdictInputs in;
  auto policy = LoadPolicyFlag(policy_path);
  if (!policy.ok()) return policy.status();
  in.policy = std::move(*policy);
  auto trusted = geo::LoadLandmarksFile(landmarks_path);
  if (!trusted.ok()) return trusted.status().WithContext("--landmarks");
  in.trusted = std::move(*trusted);
  // A receipt that fails its signature or disagrees with the trusted file stops the command
  // (exit 1); it is never silently left out.
  auto observations = LoadReceipts(receipt_files, in.trusted);
  if (!observations.ok()) return observations.status();
  in.observations = std::move(*observations);
  auto borders = Borders();
  if (!borders.ok()) return borders.status();
  in.borders = *borders;
  return in;
}

}  // namespace custodian::cli
