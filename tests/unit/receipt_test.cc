// Receipts: signing, strict canonical parsing and verification; any change to a signed receipt
// must make it fail, and every failure names what failed.
#include "proto/receipt.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/canonical_json.h"

namespace custodian::proto {
namespace {

using nlohmann::json;

SigningKey KeyFromByte(uint8_t b) {
  return SigningKey::FromSeed(Bytes(32, b)).value();
}

class ReceiptTest : public ::testing::Test {
 protected:
  ReceiptTest() : landmark_key_(KeyFromByte(0x02)), node_key_(KeyFromByte(0x01)) {
    r_.landmark_id = "cambridge-1";
    r_.landmark_lat = 52.2053;
    r_.landmark_lon = 0.1218;
    r_.landmark_pub = landmark_key_.public_key();
    r_.node_pub = node_key_.public_key();
    r_.node_id = DeriveNodeId(r_.node_pub);
    r_.chipset_hash.fill(0x03);
    r_.session = 0x0123456789abcdefULL;
    r_.time_utc = "2026-11-22T21:30:00.456Z";
    r_.samples_requested = 4;
    r_.samples_ns = {812345, 798765, 905000};  // one of four lost
    r_.min_rtt_ns = 798765;
    r_.timestamping = Timestamping::kKernel;
    r_.transcript_hash.fill(0xbb);
    SignReceipt(r_, landmark_key_);
    text_ = SerializeReceipt(r_);
  }

  // Parses and verifies against the landmark's key; OK only if both pass.
  Status Check(std::string_view text) const {
    auto parsed = ParseReceipt(text);
    if (!parsed.ok()) return parsed.status();
    return VerifyReceipt(*parsed, landmark_key_.public_key());
  }

  // Re-signs a changed receipt, so a failure can only come from the check under test.
  Status CheckResigned(Receipt r) const {
    SignReceipt(r, landmark_key_);
    return Check(SerializeReceipt(r));
  }

  // Applies `edit` to the JSON object, re-serialises it canonically and parses it.
  Result<Receipt> ParseEdited(const std::function<void(json&)>& edit) const {
    json j = ReceiptToJson(r_);
    edit(j);
    auto text = CanonicalJson(j);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return ParseReceipt(text.ok() ? *text : "");
  }

  SigningKey landmark_key_;
  SigningKey node_key_;
  Receipt r_;
  std::string text_;
};

void ExpectFailedCheckMentioning(const Status& s, const std::string& what) {
  ASSERT_FALSE(s.ok()) << "expected a failure mentioning " << what;
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck) << s.message();
  EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
}

TEST_F(ReceiptTest, SignedReceiptParsesAndVerifies) {
  auto parsed = ParseReceipt(text_);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(VerifyReceipt(*parsed, landmark_key_.public_key()).ok());
  const Receipt& p = *parsed;
  EXPECT_EQ(p.landmark_id, r_.landmark_id);
  EXPECT_EQ(p.landmark_lat, r_.landmark_lat);
  EXPECT_EQ(p.landmark_lon, r_.landmark_lon);
  EXPECT_EQ(p.landmark_pub, r_.landmark_pub);
  EXPECT_EQ(p.node_id, r_.node_id);
  EXPECT_EQ(p.node_pub, r_.node_pub);
  EXPECT_EQ(p.chipset_hash, r_.chipset_hash);
  EXPECT_EQ(p.session, r_.session);
  EXPECT_EQ(p.time_utc, r_.time_utc);
  EXPECT_EQ(p.samples_requested, r_.samples_requested);
  EXPECT_EQ(p.samples_ns, r_.samples_ns);
  EXPECT_EQ(p.min_rtt_ns, r_.min_rtt_ns);
  EXPECT_EQ(p.timestamping, r_.timestamping);
  EXPECT_EQ(p.transcript_hash, r_.transcript_hash);
  EXPECT_EQ(p.landmark_sig, r_.landmark_sig);
  EXPECT_EQ(SerializeReceipt(p), text_);
}

TEST_F(ReceiptTest, SerialisedFormIsCanonicalJsonWithTheDocumentedFields) {
  auto j = ParseJson(text_);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(CanonicalJson(*j).value(), text_);
  EXPECT_EQ((*j)["receipt_version"], 1);
  EXPECT_EQ((*j)["session"], "0123456789abcdef");
  EXPECT_EQ((*j)["node_id"], HexEncode(r_.node_id));
  EXPECT_EQ((*j)["node_pub"], Base64Encode(r_.node_pub));
  EXPECT_EQ((*j)["landmark_pub"], Base64Encode(r_.landmark_pub));
  EXPECT_EQ((*j)["landmark_sig"], Base64Encode(r_.landmark_sig));
  EXPECT_EQ((*j)["timestamping"], "kernel");
  EXPECT_EQ(j->size(), 16u);
  EXPECT_EQ(text_.find_first_of(" \n\t"), std::string::npos);
}

TEST_F(ReceiptTest, SignedBytesAreDomainThenCanonicalJsonWithoutSignature) {
  Bytes signed_bytes = ReceiptSignedBytes(r_);
  std::string expected = "custodian/receipt/v1\n" + CanonicalJson(ReceiptToJson(r_, false)).value();
  EXPECT_EQ(std::string(signed_bytes.begin(), signed_bytes.end()), expected);
  EXPECT_EQ(expected.find("landmark_sig"), std::string::npos);
  EXPECT_TRUE(VerifySignature(landmark_key_.public_key(), signed_bytes, r_.landmark_sig));
}

TEST_F(ReceiptTest, TrailingNewlineIsAccepted) {
  EXPECT_TRUE(Check(text_ + "\n").ok());
}

TEST_F(ReceiptTest, AnythingElseAroundTheJsonIsRejected) {
  for (const std::string& text :
       {text_ + "\n\n", text_ + " ", text_ + "\r\n", "\n" + text_, " " + text_, text_ + "\t"}) {
    Status s = Check(text);
    ASSERT_FALSE(s.ok()) << json(text).dump();
    EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
  }
}

TEST_F(ReceiptTest, FlippingAnyByteMakesItFail) {
  ASSERT_TRUE(Check(text_).ok());
  for (size_t i = 0; i < text_.size(); ++i) {
    std::string tampered = text_;
    tampered[i] = char(tampered[i] ^ 0x01);
    Status s = Check(tampered);
    ASSERT_FALSE(s.ok()) << "flipping byte " << i << " ('" << text_[i] << "') went unnoticed";
    EXPECT_EQ(s.code(), StatusCode::kFailedCheck) << "byte " << i << ": " << s.message();
  }
}

TEST_F(ReceiptTest, WrongTrustedKeyFailsNamingLandmarkPub) {
  auto parsed = ParseReceipt(text_);
  ASSERT_TRUE(parsed.ok());
  PublicKey other = KeyFromByte(0x09).public_key();
  Status s = VerifyReceipt(*parsed, other);
  ExpectFailedCheckMentioning(s, "landmark_pub");
  EXPECT_NE(s.message().find(Base64Encode(other)), std::string::npos) << s.message();
}

TEST_F(ReceiptTest, SignedByAnotherKeyFailsEvenIfItNamesThatKey) {
  // A receipt that names and is signed by key B is not a receipt of trusted landmark A.
  Receipt forged = r_;
  SigningKey other = KeyFromByte(0x09);
  forged.landmark_pub = other.public_key();
  SignReceipt(forged, other);
  auto parsed = ParseReceipt(SerializeReceipt(forged));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectFailedCheckMentioning(VerifyReceipt(*parsed, landmark_key_.public_key()), "landmark_pub");
  // And a receipt naming A but signed by B fails on the signature.
  Receipt wrong_signer = r_;
  SignReceipt(wrong_signer, other);
  auto parsed2 = ParseReceipt(SerializeReceipt(wrong_signer));
  ASSERT_TRUE(parsed2.ok());
  ExpectFailedCheckMentioning(VerifyReceipt(*parsed2, landmark_key_.public_key()), "landmark_sig");
}

TEST_F(ReceiptTest, MinRttNotTheMinimumFails) {
  for (int64_t wrong : {812345, 798764, 1}) {
    Receipt r = r_;
    r.min_rtt_ns = wrong;
    ExpectFailedCheckMentioning(CheckResigned(r), "min_rtt_ns");
  }
}

TEST_F(ReceiptTest, EmptySamplesFail) {
  Receipt r = r_;
  r.samples_ns.clear();
  ExpectFailedCheckMentioning(CheckResigned(r), "samples_ns");
}

TEST_F(ReceiptTest, MoreSamplesThanRequestedFail) {
  Receipt r = r_;
  r.samples_requested = 2;
  ExpectFailedCheckMentioning(CheckResigned(r), "samples_ns");
}

TEST_F(ReceiptTest, NonPositiveSamplesFail) {
  for (int64_t bad : {0, -5}) {
    Receipt r = r_;
    r.samples_ns.push_back(bad);
    r.samples_requested = 4;  // min_rtt_ns stays 798765: only the sign of a sample is wrong
    ExpectFailedCheckMentioning(CheckResigned(r), "samples_ns");
  }
}

TEST_F(ReceiptTest, NodeIdNotDerivedFromNodePubFails) {
  Receipt r = r_;
  r.node_id[0] ^= 1;
  ExpectFailedCheckMentioning(CheckResigned(r), "node_id");
}

TEST_F(ReceiptTest, TamperedSignatureFails) {
  Receipt r = r_;
  r.landmark_sig[10] ^= 1;
  auto parsed = ParseReceipt(SerializeReceipt(r));
  ASSERT_TRUE(parsed.ok());
  ExpectFailedCheckMentioning(VerifyReceipt(*parsed, landmark_key_.public_key()), "landmark_sig");
}

TEST_F(ReceiptTest, ChangedFieldWithOldSignatureFails) {
  Receipt r = r_;
  r.samples_ns[1] = 700000;  // a faster (forged) sample
  r.min_rtt_ns = 700000;
  auto parsed = ParseReceipt(SerializeReceipt(r));
  ASSERT_TRUE(parsed.ok());
  ExpectFailedCheckMentioning(VerifyReceipt(*parsed, landmark_key_.public_key()), "landmark_sig");
}

TEST_F(ReceiptTest, UnknownFieldFailsNamingIt) {
  auto parsed = ParseEdited([](json& j) { j["extra_claim"] = 1; });
  ExpectFailedCheckMentioning(parsed.status(), "extra_claim");
  EXPECT_NE(parsed.status().message().find("unknown field"), std::string::npos);
}

TEST_F(ReceiptTest, MissingEachFieldFailsNamingIt) {
  const json full = ReceiptToJson(r_);
  ASSERT_EQ(full.size(), 16u);
  for (const auto& [key, value] : full.items()) {
    const std::string name = key;
    auto parsed = ParseEdited([&](json& j) { j.erase(name); });
    ExpectFailedCheckMentioning(parsed.status(), name);
    EXPECT_NE(parsed.status().message().find("missing"), std::string::npos)
        << name << ": " << parsed.status().message();
  }
}

TEST_F(ReceiptTest, WrongTypesAndRangesFailNamingTheField) {
  struct Case {
    const char* field;
    json value;
  };
  const Case cases[] = {
      {"receipt_version", 2},
      {"receipt_version", "1"},
      {"landmark_id", "has space"},
      {"landmark_id", 7},
      {"landmark_lat", 90.5},
      {"landmark_lat", "52.2"},
      {"landmark_lon", -180.25},
      {"landmark_pub", "AAAA"},
      {"landmark_pub", "not base64"},
      {"node_id", "372c"},
      {"node_id", HexEncode(r_.node_id) + "00"},
      {"node_pub", json::array()},
      {"chipset_hash", "zz"},
      {"session", "0123456789abcdeF"},  // upper case: not canonical
      {"session", 5},
      {"time_utc", "2026-11-22 21:30:00.456Z"},
      {"time_utc", "2026-11-22T21:30:00Z"},
      {"samples_requested", 0},
      {"samples_requested", 65},
      {"samples_requested", 1.5},
      {"samples_ns", "812345"},
      {"samples_ns", json::array({812345.5})},
      {"samples_ns", json::array({"1"})},
      {"min_rtt_ns", -1},
      {"min_rtt_ns", 1.5},
      {"timestamping", "hardware"},
      {"transcript_hash", HexEncode(r_.transcript_hash).substr(2)},
      {"landmark_sig", Base64Encode(Bytes(63, 0))},
  };
  for (const auto& c : cases) {
    auto parsed = ParseEdited([&](json& j) { j[c.field] = c.value; });
    ExpectFailedCheckMentioning(parsed.status(), c.field);
  }
}

TEST_F(ReceiptTest, UpperCaseHexIsNotCanonical) {
  const std::string hex(64, 'A');  // 0xaa... in upper case
  auto parsed = ParseEdited([&](json& j) { j["chipset_hash"] = hex; });
  ExpectFailedCheckMentioning(parsed.status(), "chipset_hash");
  EXPECT_NE(parsed.status().message().find("canonical"), std::string::npos)
      << parsed.status().message();
}

TEST_F(ReceiptTest, NonCanonicalFormsFail) {
  // Whitespace after the opening brace.
  ExpectFailedCheckMentioning(Check("{ " + text_.substr(1)), "canonical");
  // Whitespace after a colon.
  std::string spaced = text_;
  spaced.insert(spaced.find(':') + 1, " ");
  ExpectFailedCheckMentioning(Check(spaced), "canonical");
  // Pretty-printed.
  ExpectFailedCheckMentioning(Check(ParseJson(text_)->dump(2)), "canonical");
  // Members out of order: move the first member to the end.
  size_t first_end = text_.find(",\"");
  std::string first = text_.substr(1, first_end - 1);
  std::string reordered =
      "{" + text_.substr(first_end + 1, text_.size() - first_end - 2) + "," + first + "}";
  ASSERT_TRUE(ParseJson(reordered).ok());
  ExpectFailedCheckMentioning(Check(reordered), "canonical");
  // A number written differently: 52.2053 as 52.20530.
  std::string padded = text_;
  size_t lat = padded.find("52.2053");
  ASSERT_NE(lat, std::string::npos);
  padded.insert(lat + 7, "0");
  ExpectFailedCheckMentioning(Check(padded), "canonical");
  // An escaped character that needs no escape.
  std::string escaped = text_;
  size_t id = escaped.find("cambridge-1");
  ASSERT_NE(id, std::string::npos);
  escaped.replace(id, 1, "\\u0063");
  ExpectFailedCheckMentioning(Check(escaped), "canonical");
}

TEST_F(ReceiptTest, DuplicateMemberFails) {
  // A second "landmark_id" would let a lenient reader see another value than the signer did.
  std::string dup = text_;
  dup.insert(1, "\"landmark_id\":\"elsewhere\",");
  EXPECT_FALSE(Check(dup).ok());
}

TEST_F(ReceiptTest, NotJsonOrNotAnObjectIsAFailedCheck) {
  for (const char* text : {"", "not json", "[]", "null", "{\"a\":", "\"receipt\""}) {
    auto parsed = ParseReceipt(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kFailedCheck) << text;
  }
  auto bad = ParseReceipt(R"({"receipt_version":1,})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("byte"), std::string::npos) << bad.status().message();
}

TEST_F(ReceiptTest, ValuesTooLargeForADoubleAreAFailedCheckNotACrash) {
  std::string huge = text_;
  size_t lat = huge.find("52.2053");
  ASSERT_NE(lat, std::string::npos);
  huge.replace(lat, 7, "1e400");
  Result<Receipt> parsed = Status::Internal("not run");
  EXPECT_NO_THROW(parsed = ParseReceipt(huge));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kFailedCheck);
}

TEST_F(ReceiptTest, UserTimestampingRoundTrips) {
  Receipt r = r_;
  r.timestamping = Timestamping::kUser;
  SignReceipt(r, landmark_key_);
  auto parsed = ParseReceipt(SerializeReceipt(r));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->timestamping, Timestamping::kUser);
  EXPECT_TRUE(VerifyReceipt(*parsed, landmark_key_.public_key()).ok());
}

TEST_F(ReceiptTest, ExtremeButValidPositionsRoundTrip) {
  for (auto [lat, lon] : {std::pair{-90.0, -180.0}, std::pair{90.0, 180.0},
                          std::pair{-33.868820, 151.209296}, std::pair{0.0, -0.000001}}) {
    Receipt r = r_;
    r.landmark_lat = lat;
    r.landmark_lon = lon;
    EXPECT_TRUE(CheckResigned(r).ok()) << lat << "," << lon;
  }
}

TEST(MaxDistance, HalfTheRoundTripAtTheGivenSpeed) {
  EXPECT_DOUBLE_EQ(MaxDistanceKm(1'000'000, kSpeedOfLightKmPerS), 149.896229);
  EXPECT_DOUBLE_EQ(MaxDistanceKm(0, kSpeedOfLightKmPerS), 0.0);
  EXPECT_DOUBLE_EQ(MaxDistanceKm(2'000'000'000, 200'000), 200'000.0);
}

}  // namespace
}  // namespace custodian::proto
