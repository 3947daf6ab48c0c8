// Receipts: what a landmark signs at the end of a session (DESIGN §4, docs/protocol.md).
//
// A receipt is stored and transported as canonical JSON (core/canonical_json.h). The landmark
// signs "custodian/receipt/v1\n" ‖ canonical JSON of every field except landmark_sig, with
// Ed25519. A receipt file must be exactly that canonical form (one trailing newline allowed), so
// that changing any byte of it makes verification fail.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/status.h"
#include "proto/udp_socket.h"
#include "proto/wire.h"

namespace custodian::proto {

inline constexpr int kReceiptVersion = 1;

struct Receipt {
  std::string landmark_id;
  double landmark_lat = 0;  // degrees, WGS84
  double landmark_lon = 0;  // degrees, WGS84
  PublicKey landmark_pub{};
  NodeId node_id{};
  PublicKey node_pub{};
  Sha256Digest chipset_hash{};
  SessionId session = 0;
  std::string time_utc;  // RFC 3339, landmark's wall clock when the session ended
  uint32_t samples_requested = 0;
  std::vector<int64_t> samples_ns;  // RTT of each answered challenge, in order, landmark clock
  int64_t min_rtt_ns = 0;
  Timestamping timestamping = Timestamping::kUser;  // kernel only if every sample was
  Sha256Digest transcript_hash{};
  Signature landmark_sig{};
};

// JSON object of all fields; without landmark_sig when with_signature is false.
nlohmann::json ReceiptToJson(const Receipt& r, bool with_signature = true);
// Canonical JSON of the whole receipt (no trailing newline).
std::string SerializeReceipt(const Receipt& r);
// The exact bytes the landmark signs.
Bytes ReceiptSignedBytes(const Receipt& r);
void SignReceipt(Receipt& r, const SigningKey& landmark_key);

// Parses a receipt strictly: valid JSON, exactly canonical, every field present with its type,
// no unknown fields. Errors are FailedCheck naming the field (a malformed receipt is an invalid
// receipt, exit 1, not bad usage).
Result<Receipt> ParseReceipt(std::string_view text);
// The same checks on a receipt already parsed as JSON (inside an API request body), except the
// byte-exact canonical form, which a parsed object no longer has: the signature covers the
// canonical serialisation of the parsed fields, so nothing unsigned can slip through.
Result<Receipt> ParseReceiptJson(const nlohmann::json& j);

// Checks the receipt's internal consistency and landmark signature against the key the caller
// trusts. FailedCheck names the check that failed: landmark_pub, node_id, samples_ns,
// min_rtt_ns, landmark_sig.
Status VerifyReceipt(const Receipt& r, const PublicKey& trusted_landmark_pub);

// Largest distance (km) the chip can be from the landmark given an RTT, at speed v (km/s):
// d = v · rtt / 2. Helper for human-readable summaries.
double MaxDistanceKm(int64_t rtt_ns, double speed_km_per_s);
inline constexpr double kSpeedOfLightKmPerS = 299'792.458;

}  // namespace custodian::proto
