#include "geo/landmarks.h"

#include <cmath>
#include <set>

#include "core/canonical_json.h"
#include "core/file.h"
#include "proto/wire.h"

namespace custodian::geo {
namespace {

// Positions must agree to ~1 cm: a landmark that moved is a different landmark.
constexpr double kPositionToleranceDeg = 1e-7;

}  // namespace

Result<std::vector<TrustedLandmark>> ParseLandmarks(std::string_view json_text) {
  auto parsed = ParseJson(json_text);
  if (!parsed.ok()) return parsed.status().WithContext("landmarks");
  const nlohmann::json* list = &*parsed;
  if (list->is_object()) {
    if (!list->contains("landmarks") || list->size() != 1) {
      return Status::InvalidInput("landmarks: expected an array or {\"landmarks\": [...]}");
    }
    list = &(*list)["landmarks"];
  }
  if (!list->is_array()) return Status::InvalidInput("landmarks: must be an array");
  std::vector<TrustedLandmark> out;
  std::set<std::string> ids;
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& e = (*list)[i];
    std::string at = "landmarks[" + std::to_string(i) + "]";
    if (!e.is_object()) return Status::InvalidInput(at + ": must be an object");
    static const std::set<std::string> kKnown = {"id",  "operator", "lat",
                                                 "lon", "country",  "public_key"};
    for (const auto& [key, value] : e.items()) {
      if (kKnown.count(key) == 0) return Status::InvalidInput(at + "." + key + ": unknown field");
    }
    auto str = [&](const char* f) -> Result<std::string> {
      if (!e.contains(f) || !e[f].is_string() || e[f].get<std::string>().empty()) {
        return Status::InvalidInput(at + "." + f + ": must be a non-empty string");
      }
      return e[f].get<std::string>();
    };
    TrustedLandmark l;
    auto id = str("id");
    if (!id.ok()) return id.status();
    if (!proto::ValidLandmarkId(*id)) {
      return Status::InvalidInput(at + ".id: must be 1-32 characters of A-Z a-z 0-9 . _ -");
    }
    if (!ids.insert(*id).second) return Status::InvalidInput(at + ".id: duplicate id " + *id);
    l.id = *id;
    auto op = str("operator");
    if (!op.ok()) return op.status();
    l.operator_name = *op;
    for (const auto& [field, limit, target] : {std::tuple{"lat", 90.0, &l.position.lat_deg},
                                               std::tuple{"lon", 180.0, &l.position.lon_deg}}) {
      if (!e.contains(field) || !e[field].is_number() ||
          !(std::abs(e[field].get<double>()) <= limit)) {
        return Status::InvalidInput(at + "." + field + ": must be a number in [-" +
                                    std::to_string(int(limit)) + ", " + std::to_string(int(limit)) +
                                    "]");
      }
      *target = e[field].get<double>();
    }
    auto country = str("country");
    if (!country.ok()) return country.status();
    if (country->size() != 2 || !std::isupper((unsigned char)(*country)[0]) ||
        !std::isupper((unsigned char)(*country)[1])) {
      return Status::InvalidInput(at + ".country: must be an ISO 3166-1 alpha-2 code, e.g. \"SG\"");
    }
    l.country = *country;
    auto key = str("public_key");
    if (!key.ok()) return key.status();
    auto pub = ParsePublicKeyBase64(*key);
    if (!pub.ok()) return Status::InvalidInput(at + ".public_key: " + pub.status().message());
    l.public_key = *pub;
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<TrustedLandmark>> LoadLandmarksFile(const std::string& path) {
  auto text = ReadFile(path, 16 << 20);
  if (!text.ok()) return text.status();
  auto parsed = ParseLandmarks(*text);
  if (!parsed.ok()) return parsed.status().WithContext(path);
  return parsed;
}

Result<const TrustedLandmark*> CheckReceiptAgainst(const proto::Receipt& receipt,
                                                   const std::vector<TrustedLandmark>& trusted) {
  const TrustedLandmark* found = nullptr;
  for (const auto& l : trusted) {
    if (l.id == receipt.landmark_id) found = &l;
  }
  if (found == nullptr) {
    return Status::FailedCheck("landmark " + receipt.landmark_id +
                               " is not in the trusted landmarks file");
  }
  CUSTODIAN_RETURN_IF_ERROR(proto::VerifyReceipt(receipt, found->public_key));
  if (std::abs(receipt.landmark_lat - found->position.lat_deg) > kPositionToleranceDeg ||
      std::abs(receipt.landmark_lon - found->position.lon_deg) > kPositionToleranceDeg) {
    return Status::FailedCheck("landmark " + receipt.landmark_id + " signed position (" +
                               std::to_string(receipt.landmark_lat) + ", " +
                               std::to_string(receipt.landmark_lon) +
                               ") disagrees with the trusted file");
  }
  return found;
}

}  // namespace custodian::geo
