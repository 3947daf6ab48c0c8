// The test vectors of docs/protocol.md: the code must still produce exactly these bytes, and the
// document must still show exactly these bytes, so neither can drift from the other.
//
// The expected values were computed independently of this code base (Python `hashlib` and
// `cryptography` implementing the byte layouts of docs/protocol.md); Ed25519 is deterministic,
// so the signatures are reproducible.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "core/clock.h"
#include "core/file.h"
#include "proto/receipt.h"
#include "proto/wire.h"

namespace custodian::proto {
namespace {

// ---- The fixed inputs (docs/protocol.md, "Test vectors").
constexpr int64_t kAgentTimeMs = 1'795'383'000'123;  // 2026-11-22T21:30:00.123Z
constexpr SessionId kSession = 0x0123456789abcdefULL;
constexpr const char* kLandmarkId = "cambridge-1";

// ---- The expected bytes.
constexpr const char* kNodePubHex =
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
constexpr const char* kLandmarkPubHex =
    "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
constexpr const char* kNodeIdHex = "372c38177ecb36757fa63b90c3711d99";
constexpr const char* kHelloHex =
    "4355535401010000372c38177ecb36757fa63b90c3711d998a88e3dd7409f195fd52db2d3cba5d72"
    "ca6709bf1d94121bf3748801b40f6f5c030303030303030303030303030303030303030303030303"
    "030303030303030304040404040404040404040404040404000001a2052a7c3b00020000e1d2cc90"
    "face254b2a39e8fc4c090a13ab49d17621dc273e931533bd096486fc135084fb10adf72b097ec441"
    "50842b5e3501bf36ae81902d876e12d74a511300";
constexpr const char* kChallenge0Hex =
    "43555354010200000123456789abcdef000000000505050505050505050505050505050505050505"
    "05050505050505050505050563616d6272696467652d310000000000000000000000000000000000"
    "00000000";
constexpr const char* kResponse0Hex =
    "43555354010300000123456789abcdef000000009cd9869d4e816a229c48406854e8fbbee5f9c308"
    "d08bbcab8ead73b2e2cdc9bdd58b95d53832f69e2bde0bb9c07426e24e585bf21b44a5a56a05ebd8"
    "22a81109";
constexpr const char* kChallenge1Hex =
    "43555354010200000123456789abcdef000000010606060606060606060606060606060606060606"
    "06060606060606060606060663616d6272696467652d310000000000000000000000000000000000"
    "00000000";
constexpr const char* kResponse1Hex =
    "43555354010300000123456789abcdef000000012189cedca4a96cc77d5aa693fe5ba5703203bb2d"
    "559e1412fd39ee34d3c10ea8a24d795096663727ef0dc1dfea4f4e3945b1396d0a1481b4fa7ac356"
    "8550bc02";
constexpr const char* kErrorHex = "43555354010500000100000004040404040404040404040404040404";
constexpr const char* kReceiptRequestHex = "43555354010600000123456789abcdef";
constexpr const char* kTranscriptHex =
    "bb25aa13c91c7dcf489aec5b45a0fdce3df3f56b0b8b1d0233dc742063968109";
constexpr const char* kReceiptHeaderHex = "43555354010400000123456789abcdef02b6";
constexpr const char* kReceiptJson =
    R"({"chipset_hash":"0303030303030303030303030303030303030303030303030303030303030303",)"
    R"("landmark_id":"cambridge-1","landmark_lat":52.2053,"landmark_lon":0.1218,)"
    R"("landmark_pub":"gTl3Dqh9F19Wo1Rmw0x+zMuNipG07jeiXfYPW4/Js5Q=",)"
    R"("landmark_sig":"BBsBkwe2yciqdonocLM01bJ9Wkx5FZY3R9EerRAMYBLOhSDaEDHktjPleHVIqz5pyY0lL8l/)"
    R"(nXMVAkZiRTCEAg==","min_rtt_ns":798765,"node_id":"372c38177ecb36757fa63b90c3711d99",)"
    R"("node_pub":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","receipt_version":1,)"
    R"("samples_ns":[812345,798765],"samples_requested":2,"session":"0123456789abcdef",)"
    R"("time_utc":"2026-11-22T21:30:00.456Z","timestamping":"kernel",)"
    R"("transcript_hash":"bb25aa13c91c7dcf489aec5b45a0fdce3df3f56b0b8b1d0233dc742063968109"})";

template <size_t N>
std::array<uint8_t, N> Fill(uint8_t b) {
  std::array<uint8_t, N> a{};
  a.fill(b);
  return a;
}

class ProtocolVectors : public ::testing::Test {
 protected:
  ProtocolVectors()
      : node_(SigningKey::FromSeed(Bytes(32, 0x01)).value()),
        landmark_(SigningKey::FromSeed(Bytes(32, 0x02)).value()) {}

  Hello MakeHello() const {
    Hello h;
    h.node_pub = node_.public_key();
    h.node_id = DeriveNodeId(h.node_pub);
    h.chipset_hash = Fill<32>(0x03);
    h.client_nonce = Fill<16>(0x04);
    h.agent_time_ms = kAgentTimeMs;
    h.samples = 2;
    h.agent_sig = node_.Sign(HelloSignedBytes(h, landmark_.public_key()));
    return h;
  }
  Challenge MakeChallenge(uint32_t seq) const {
    Challenge c;
    c.session = kSession;
    c.seq = seq;
    c.nonce = Fill<32>(uint8_t(0x05 + seq));
    c.landmark_id = kLandmarkId;
    return c;
  }
  Response MakeResponse(uint32_t seq) const {
    Challenge c = MakeChallenge(seq);
    Response r;
    r.session = kSession;
    r.seq = seq;
    r.agent_sig =
        node_.Sign(MakeResponseSignedBytes(c.landmark_id, c.session, c.seq, c.nonce,
                                           DeriveNodeId(node_.public_key()), Fill<32>(0x03)));
    return r;
  }
  Sha256Digest Transcript() const {
    Sha256Hasher t;
    t.Update(AsBytes("custodian/transcript/v1\n"));
    t.Update(EncodeHello(MakeHello()));
    for (uint32_t seq : {0u, 1u}) {
      t.Update(EncodeChallenge(MakeChallenge(seq)));
      t.Update(EncodeResponse(MakeResponse(seq)));
    }
    return t.Finish();
  }
  Receipt MakeReceipt() const {
    Receipt r;
    r.landmark_id = kLandmarkId;
    r.landmark_lat = 52.2053;
    r.landmark_lon = 0.1218;
    r.landmark_pub = landmark_.public_key();
    r.node_pub = node_.public_key();
    r.node_id = DeriveNodeId(r.node_pub);
    r.chipset_hash = Fill<32>(0x03);
    r.session = kSession;
    r.time_utc = "2026-11-22T21:30:00.456Z";
    r.samples_requested = 2;
    r.samples_ns = {812345, 798765};
    r.min_rtt_ns = 798765;
    r.timestamping = Timestamping::kKernel;
    r.transcript_hash = Transcript();
    SignReceipt(r, landmark_);
    return r;
  }

  SigningKey node_;
  SigningKey landmark_;
};

TEST_F(ProtocolVectors, Keys) {
  EXPECT_EQ(HexEncode(node_.public_key()), kNodePubHex);
  EXPECT_EQ(HexEncode(landmark_.public_key()), kLandmarkPubHex);
  EXPECT_EQ(HexEncode(DeriveNodeId(node_.public_key())), kNodeIdHex);
  EXPECT_EQ(FormatUtc(kAgentTimeMs * 1'000'000), "2026-11-22T21:30:00.123Z");
}

TEST_F(ProtocolVectors, Hello) {
  Hello h = MakeHello();
  EXPECT_EQ(HexEncode(EncodeHello(h)), kHelloHex);
  EXPECT_TRUE(VerifySignature(node_.public_key(), HelloSignedBytes(h, landmark_.public_key()),
                              h.agent_sig));
  Hello decoded;
  auto bytes = HexDecode(kHelloHex).value();
  ASSERT_EQ(DecodeHello(bytes, &decoded), DropReason::kNone);
  EXPECT_EQ(decoded.agent_time_ms, kAgentTimeMs);
}

TEST_F(ProtocolVectors, ChallengesAndResponses) {
  EXPECT_EQ(HexEncode(EncodeChallenge(MakeChallenge(0))), kChallenge0Hex);
  EXPECT_EQ(HexEncode(EncodeResponse(MakeResponse(0))), kResponse0Hex);
  EXPECT_EQ(HexEncode(EncodeChallenge(MakeChallenge(1))), kChallenge1Hex);
  EXPECT_EQ(HexEncode(EncodeResponse(MakeResponse(1))), kResponse1Hex);
}

TEST_F(ProtocolVectors, ErrorAndReceiptRequest) {
  EXPECT_EQ(HexEncode(EncodeError({ErrorCode::kBadSignature, Fill<16>(0x04)})), kErrorHex);
  EXPECT_EQ(HexEncode(EncodeReceiptRequest({kSession})), kReceiptRequestHex);
}

TEST_F(ProtocolVectors, ReceiptAndItsDatagram) {
  EXPECT_EQ(HexEncode(Transcript()), kTranscriptHex);
  Receipt r = MakeReceipt();
  const std::string json = SerializeReceipt(r);
  EXPECT_EQ(json, kReceiptJson);
  auto parsed = ParseReceipt(kReceiptJson);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(VerifyReceipt(*parsed, landmark_.public_key()).ok());
  Bytes datagram = EncodeReceiptMessage({kSession, json});
  ASSERT_EQ(datagram.size(), 18u + std::string(kReceiptJson).size());
  EXPECT_EQ(HexEncode(ByteView(datagram.data(), 18)), kReceiptHeaderHex);
}

// ---- docs/protocol.md shows the same bytes.
//
// Each vector in the document is a fenced block right after a line `<!-- vector: NAME -->`.
// Hex blocks may spread the bytes over lines and end lines with `# comments`.
std::string DocBlock(const std::string& doc, const std::string& name) {
  const std::string marker = "<!-- vector: " + name + " -->";
  size_t at = doc.find(marker);
  if (at == std::string::npos) return "<no marker " + marker + ">";
  size_t open = doc.find("```", at);
  if (open == std::string::npos) return "<no block>";
  size_t body = doc.find('\n', open) + 1;
  size_t close = doc.find("\n```", body);
  if (close == std::string::npos) return "<unclosed block>";
  return doc.substr(body, close - body);
}

std::string HexOfBlock(const std::string& block) {
  std::string hex;
  bool comment = false;
  for (char c : block) {
    if (c == '\n') comment = false;
    if (c == '#') comment = true;
    if (!comment && !std::isspace(static_cast<unsigned char>(c))) hex.push_back(c);
  }
  return hex;
}

TEST(ProtocolDoc, ShowsExactlyTheseVectors) {
  auto doc = ReadFile(std::string(CUSTODIAN_SOURCE_DIR) + "/docs/protocol.md");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const std::pair<const char*, const char*> hex_vectors[] = {
      {"node-pub", kNodePubHex},
      {"landmark-pub", kLandmarkPubHex},
      {"node-id", kNodeIdHex},
      {"hello", kHelloHex},
      {"challenge-0", kChallenge0Hex},
      {"response-0", kResponse0Hex},
      {"challenge-1", kChallenge1Hex},
      {"response-1", kResponse1Hex},
      {"error", kErrorHex},
      {"receipt-request", kReceiptRequestHex},
      {"transcript-hash", kTranscriptHex},
      {"receipt-header", kReceiptHeaderHex},
  };
  for (const auto& [name, hex] : hex_vectors) {
    EXPECT_EQ(HexOfBlock(DocBlock(*doc, name)), hex) << "vector " << name;
  }
  EXPECT_EQ(DocBlock(*doc, "receipt-json"), kReceiptJson);
}

}  // namespace
}  // namespace custodian::proto
