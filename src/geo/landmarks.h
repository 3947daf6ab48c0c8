// The trusted landmarks file: the trust anchor for verdicts. A receipt counts only if its
// landmark is listed here, its signature verifies under the listed key, and its own position
// fields agree with the listed position.
//
// Format (JSON): an array, or {"landmarks": [...]}, of objects
//   {"id": "SIN-1", "operator": "Acme Exchange", "lat": 1.3521, "lon": 103.8198,
//    "country": "SG", "public_key": "<base64 Ed25519>"}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/status.h"
#include "geo/geometry.h"
#include "proto/receipt.h"

namespace custodian::geo {

struct TrustedLandmark {
  std::string id;
  std::string operator_name;
  LatLon position;
  std::string country;  // ISO 3166-1 alpha-2
  PublicKey public_key{};
};

// Strict; errors name the entry and field ("landmarks[2].lat: must be a number in [-90, 90]").
Result<std::vector<TrustedLandmark>> ParseLandmarks(std::string_view json_text);
Result<std::vector<TrustedLandmark>> LoadLandmarksFile(const std::string& path);

// The listed landmark for a receipt, after checking signature and position. FailedCheck names
// the failed check (unknown landmark, signature, position mismatch).
Result<const TrustedLandmark*> CheckReceiptAgainst(const proto::Receipt& receipt,
                                                   const std::vector<TrustedLandmark>& trusted);

}  // namespace custodian::geo
