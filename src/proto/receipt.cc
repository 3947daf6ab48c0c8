#include "proto/receipt.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/canonical_json.h"

namespace custodian::proto {
namespace {

constexpr std::string_view kReceiptDomain = "custodian/receipt/v1\n";

std::string SessionHex(SessionId s) {
  uint8_t b[8];
  PutU64(b, s);
  return HexEncode(ByteView(b, 8));
}

Status Bad(const std::string& field, const std::string& why) {
  return Status::FailedCheck("receipt field " + field + ": " + why);
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" with fields in range (the form FormatUtc writes).
bool IsUtcMillis(const std::string& t) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (t.size() != kShape.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (kShape[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != kShape[i]) return false;
  }
  auto num = [&](size_t pos, size_t len) { return std::stoi(t.substr(pos, len)); };
  return num(5, 2) >= 1 && num(5, 2) <= 12 && num(8, 2) >= 1 && num(8, 2) <= 31 &&
         num(11, 2) <= 23 && num(14, 2) <= 59 && num(17, 2) <= 60;
}

const nlohmann::json* Field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() ? nullptr : &*it;
}

Result<std::string> GetString(const nlohmann::json& j, const char* name) {
  const auto* v = Field(j, name);
  if (v == nullptr) return Bad(name, "missing");
  if (!v->is_string()) return Bad(name, "must be a string");
  return v->get<std::string>();
}

Result<int64_t> GetInt(const nlohmann::json& j, const char* name, int64_t lo, int64_t hi) {
  const auto* v = Field(j, name);
  if (v == nullptr) return Bad(name, "missing");
  if (!v->is_number_integer()) return Bad(name, "must be an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(hi)) {
    return Bad(name, "out of range");
  }
  int64_t x = v->get<int64_t>();
  if (x < lo || x > hi) {
    return Bad(name, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                         std::to_string(x));
  }
  return x;
}

Result<double> GetDegrees(const nlohmann::json& j, const char* name, double limit) {
  const auto* v = Field(j, name);
  if (v == nullptr) return Bad(name, "missing");
  if (!v->is_number()) return Bad(name, "must be a number");
  double x = v->get<double>();
  if (!(std::isfinite(x) && std::abs(x) <= limit)) {
    return Bad(name, "must be in [-" + std::to_string(int(limit)) + ", " +
                         std::to_string(int(limit)) + "]");
  }
  return x;
}

template <size_t N>
Result<std::array<uint8_t, N>> GetFixed(const nlohmann::json& j, const char* name, bool base64) {
  auto s = GetString(j, name);
  if (!s.ok()) return s.status();
  auto decoded = base64 ? Base64Decode(*s) : HexDecode(*s);
  auto fixed = FixedFromBytes<N>(decoded, name);
  if (!fixed.ok()) return Bad(name, fixed.status().message());
  // Only the canonical text form (lower-case hex, padded base64) is accepted.
  std::string canonical = base64 ? Base64Encode(*fixed) : HexEncode(*fixed);
  if (canonical != *s) return Bad(name, "not in canonical form");
  return *fixed;
}

}  // namespace

nlohmann::json ReceiptToJson(const Receipt& r, bool with_signature) {
  nlohmann::json j = {
      {"receipt_version", kReceiptVersion},
      {"landmark_id", r.landmark_id},
      {"landmark_lat", r.landmark_lat},
      {"landmark_lon", r.landmark_lon},
      {"landmark_pub", Base64Encode(r.landmark_pub)},
      {"node_id", HexEncode(r.node_id)},
      {"node_pub", Base64Encode(r.node_pub)},
      {"chipset_hash", HexEncode(r.chipset_hash)},
      {"session", SessionHex(r.session)},
      {"time_utc", r.time_utc},
      {"samples_requested", r.samples_requested},
      {"samples_ns", r.samples_ns},
      {"min_rtt_ns", r.min_rtt_ns},
      {"timestamping", TimestampingName(r.timestamping)},
      {"transcript_hash", HexEncode(r.transcript_hash)},
  };
  if (with_signature) j["landmark_sig"] = Base64Encode(r.landmark_sig);
  return j;
}

std::string SerializeReceipt(const Receipt& r) {
  // Every field is a finite number or a valid string by construction; canonicalisation cannot fail.
  return CanonicalJson(ReceiptToJson(r, true)).value();
}

Bytes ReceiptSignedBytes(const Receipt& r) {
  std::string body = CanonicalJson(ReceiptToJson(r, false)).value();
  Bytes out(kReceiptDomain.size() + body.size());
  std::copy(kReceiptDomain.begin(), kReceiptDomain.end(), out.begin());
  std::copy(body.begin(), body.end(), out.begin() + std::ptrdiff_t(kReceiptDomain.size()));
  return out;
}

void SignReceipt(Receipt& r, const SigningKey& landmark_key) {
  r.landmark_sig = landmark_key.Sign(ReceiptSignedBytes(r));
}

Result<Receipt> ParseReceiptJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::FailedCheck("receipt must be a JSON object");
  static const std::set<std::string> kFields = {
      "receipt_version", "landmark_id",  "landmark_lat",      "landmark_lon",
      "landmark_pub",    "node_id",      "node_pub",          "chipset_hash",
      "session",         "time_utc",     "samples_requested", "samples_ns",
      "min_rtt_ns",      "timestamping", "transcript_hash",   "landmark_sig"};
  for (const auto& [key, value] : j.items()) {
    if (kFields.count(key) == 0) return Bad(key, "unknown field");
  }
  Receipt r;
  auto version = GetInt(j, "receipt_version", kReceiptVersion, kReceiptVersion);
  if (!version.ok()) return version.status();
  auto id = GetString(j, "landmark_id");
  if (!id.ok()) return id.status();
  if (!ValidLandmarkId(*id))
    return Bad("landmark_id", "must be 1-32 characters of A-Z a-z 0-9 . _ -");
  r.landmark_id = *id;
  auto lat = GetDegrees(j, "landmark_lat", 90);
  if (!lat.ok()) return lat.status();
  auto lon = GetDegrees(j, "landmark_lon", 180);
  if (!lon.ok()) return lon.status();
  r.landmark_lat = *lat;
  r.landmark_lon = *lon;
  auto landmark_pub = GetFixed<32>(j, "landmark_pub", true);
  if (!landmark_pub.ok()) return landmark_pub.status();
  r.landmark_pub = *landmark_pub;
  auto node_id = GetFixed<16>(j, "node_id", false);
  if (!node_id.ok()) return node_id.status();
  r.node_id = *node_id;
  auto node_pub = GetFixed<32>(j, "node_pub", true);
  if (!node_pub.ok()) return node_pub.status();
  r.node_pub = *node_pub;
  auto chipset = GetFixed<32>(j, "chipset_hash", false);
  if (!chipset.ok()) return chipset.status();
  r.chipset_hash = *chipset;
  auto session = GetFixed<8>(j, "session", false);
  if (!session.ok()) return session.status();
  r.session = GetU64(session->data());
  auto time_utc = GetString(j, "time_utc");
  if (!time_utc.ok()) return time_utc.status();
  if (!IsUtcMillis(*time_utc)) {
    return Bad("time_utc", "must be RFC 3339 UTC like 2026-11-22T21:30:00.123Z");
  }
  r.time_utc = *time_utc;
  auto requested = GetInt(j, "samples_requested", 1, kMaxSamples);
  if (!requested.ok()) return requested.status();
  r.samples_requested = uint32_t(*requested);
  const auto* samples = Field(j, "samples_ns");
  if (samples == nullptr) return Bad("samples_ns", "missing");
  if (!samples->is_array()) return Bad("samples_ns", "must be an array of integers");
  for (const auto& s : *samples) {
    if (!s.is_number_integer()) return Bad("samples_ns", "must be an array of integers");
    r.samples_ns.push_back(s.get<int64_t>());
  }
  auto min_rtt = GetInt(j, "min_rtt_ns", 0, int64_t(1) << 53);
  if (!min_rtt.ok()) return min_rtt.status();
  r.min_rtt_ns = *min_rtt;
  auto ts = GetString(j, "timestamping");
  if (!ts.ok()) return ts.status();
  if (*ts != "kernel" && *ts != "user")
    return Bad("timestamping", "must be \"kernel\" or \"user\"");
  r.timestamping = *ts == "kernel" ? Timestamping::kKernel : Timestamping::kUser;
  auto transcript = GetFixed<32>(j, "transcript_hash", false);
  if (!transcript.ok()) return transcript.status();
  r.transcript_hash = *transcript;
  auto sig = GetFixed<64>(j, "landmark_sig", true);
  if (!sig.ok()) return sig.status();
  r.landmark_sig = *sig;
  return r;
}

Result<Receipt> ParseReceipt(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return Status::FailedCheck("receipt is " + parsed.status().message());
  auto r = ParseReceiptJson(*parsed);
  if (!r.ok()) return r;
  // Canonical form: the bytes must be exactly what we would write, so no byte is unsigned slack.
  if (SerializeReceipt(*r) != text) {
    return Status::FailedCheck(
        "receipt is not in canonical JSON form (sorted keys, no whitespace, shortest numbers); "
        "it was altered after signing");
  }
  return r;
}

Status VerifyReceipt(const Receipt& r, const PublicKey& trusted_landmark_pub) {
  if (r.landmark_pub != trusted_landmark_pub) {
    return Status::FailedCheck("landmark_pub: the receipt names landmark key " +
                               Base64Encode(r.landmark_pub) + ", not the trusted key " +
                               Base64Encode(trusted_landmark_pub));
  }
  if (r.node_id != DeriveNodeId(r.node_pub)) {
    return Status::FailedCheck("node_id: not derived from node_pub");
  }
  if (r.samples_ns.empty() || r.samples_ns.size() > r.samples_requested) {
    return Status::FailedCheck("samples_ns: must hold 1.." + std::to_string(r.samples_requested) +
                               " samples, holds " + std::to_string(r.samples_ns.size()));
  }
  if (std::any_of(r.samples_ns.begin(), r.samples_ns.end(), [](int64_t s) { return s <= 0; })) {
    return Status::FailedCheck("samples_ns: every RTT must be positive");
  }
  if (r.min_rtt_ns != *std::min_element(r.samples_ns.begin(), r.samples_ns.end())) {
    return Status::FailedCheck("min_rtt_ns: is not the minimum of samples_ns");
  }
  if (!VerifySignature(trusted_landmark_pub, ReceiptSignedBytes(r), r.landmark_sig)) {
    return Status::FailedCheck("landmark_sig: signature does not verify");
  }
  return Status::Ok();
}

double MaxDistanceKm(int64_t rtt_ns, double speed_km_per_s) {
  return speed_km_per_s * (double(rtt_ns) / 1e9) / 2.0;
}

}  // namespace custodian::proto
