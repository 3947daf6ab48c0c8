// Wire format: every message round-trips, every malformed form is dropped with the right reason,
// and random or mutated datagrams never crash a decoder (this file runs under ASan in CI).
#include "proto/wire.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace custodian::proto {
namespace {

template <typename A>
Bytes ToBytes(const A& a) {
  return Bytes(a.begin(), a.end());
}

template <size_t N>
std::array<uint8_t, N> Filled(uint8_t start) {
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = uint8_t(start + i);
  return a;
}

Hello SampleHello() {
  Hello h;
  h.node_pub = Filled<32>(0x20);
  h.node_id = DeriveNodeId(h.node_pub);
  h.chipset_hash = Filled<32>(0x40);
  h.client_nonce = Filled<16>(0x60);
  h.agent_time_ms = 1'795'383'000'123;
  h.samples = 16;
  h.agent_sig = Filled<64>(0x80);
  return h;
}

Challenge SampleChallenge() {
  Challenge c;
  c.session = 0x0123456789abcdefULL;
  c.seq = 0x01020304;
  c.nonce = Filled<32>(0xa0);
  c.landmark_id = "cambridge-1";
  return c;
}

Response SampleResponse() {
  Response r;
  r.session = 0xfedcba9876543210ULL;
  r.seq = 63;
  r.agent_sig = Filled<64>(0x10);
  return r;
}

ReceiptMessage SampleReceipt() {
  return {0x1122334455667788ULL, R"({"receipt_version":1})"};
}

ErrorMessage SampleError() {
  return {ErrorCode::kReusedNonce, Filled<16>(0xc0)};
}

ReceiptRequest SampleReceiptRequest() {
  return {0x8000000000000001ULL};
}

// Runs the decoder for `type` on `d` (and checks that DecodeHeader agrees on header errors).
DropReason DecodeAs(MessageType type, ByteView d) {
  switch (type) {
    case MessageType::kHello: {
      Hello h;
      return DecodeHello(d, &h);
    }
    case MessageType::kChallenge: {
      Challenge c;
      return DecodeChallenge(d, &c);
    }
    case MessageType::kResponse: {
      Response r;
      return DecodeResponse(d, &r);
    }
    case MessageType::kReceipt: {
      ReceiptMessage m;
      return DecodeReceiptMessage(d, &m);
    }
    case MessageType::kError: {
      ErrorMessage e;
      return DecodeError(d, &e);
    }
    case MessageType::kReceiptRequest: {
      ReceiptRequest r;
      return DecodeReceiptRequest(d, &r);
    }
  }
  return DropReason::kCount;
}

struct Valid {
  MessageType type;
  Bytes bytes;
  const char* name;
};

std::vector<Valid> AllValid() {
  return {
      {MessageType::kHello, ToBytes(EncodeHello(SampleHello())), "HELLO"},
      {MessageType::kChallenge, ToBytes(EncodeChallenge(SampleChallenge())), "CHALLENGE"},
      {MessageType::kResponse, ToBytes(EncodeResponse(SampleResponse())), "RESPONSE"},
      {MessageType::kReceipt, EncodeReceiptMessage(SampleReceipt()), "RECEIPT"},
      {MessageType::kError, ToBytes(EncodeError(SampleError())), "ERROR"},
      {MessageType::kReceiptRequest, ToBytes(EncodeReceiptRequest(SampleReceiptRequest())),
       "RECEIPT_REQUEST"},
  };
}

constexpr MessageType kAllTypes[] = {MessageType::kHello,    MessageType::kChallenge,
                                     MessageType::kResponse, MessageType::kReceipt,
                                     MessageType::kError,    MessageType::kReceiptRequest};

// ---------------------------------------------------------------- round trips and layout

TEST(WireRoundTrip, Hello) {
  Hello in = SampleHello();
  auto bytes = EncodeHello(in);
  ASSERT_EQ(bytes.size(), 180u);
  Hello out;
  ASSERT_EQ(DecodeHello(bytes, &out), DropReason::kNone);
  EXPECT_EQ(out.node_id, in.node_id);
  EXPECT_EQ(out.node_pub, in.node_pub);
  EXPECT_EQ(out.chipset_hash, in.chipset_hash);
  EXPECT_EQ(out.client_nonce, in.client_nonce);
  EXPECT_EQ(out.agent_time_ms, in.agent_time_ms);
  EXPECT_EQ(out.samples, in.samples);
  EXPECT_EQ(out.agent_sig, in.agent_sig);
}

TEST(WireRoundTrip, HelloNegativeTimeAndSampleBounds) {
  for (uint16_t samples : {uint16_t(1), uint16_t(kMaxSamples)}) {
    Hello in = SampleHello();
    in.samples = samples;
    in.agent_time_ms = -5;
    Hello out;
    ASSERT_EQ(DecodeHello(EncodeHello(in), &out), DropReason::kNone);
    EXPECT_EQ(out.samples, samples);
    EXPECT_EQ(out.agent_time_ms, -5);
  }
}

TEST(WireRoundTrip, Challenge) {
  for (const std::string id : {"cambridge-1", "a", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", "x.y_z-0"}) {
    Challenge in = SampleChallenge();
    in.landmark_id = id;
    auto bytes = EncodeChallenge(in);
    ASSERT_EQ(bytes.size(), 84u);
    Challenge out;
    ASSERT_EQ(DecodeChallenge(bytes, &out), DropReason::kNone) << id;
    EXPECT_EQ(out.session, in.session);
    EXPECT_EQ(out.seq, in.seq);
    EXPECT_EQ(out.nonce, in.nonce);
    EXPECT_EQ(out.landmark_id, id);
  }
}

TEST(WireRoundTrip, Response) {
  Response in = SampleResponse();
  auto bytes = EncodeResponse(in);
  ASSERT_EQ(bytes.size(), 84u);
  Response out;
  ASSERT_EQ(DecodeResponse(bytes, &out), DropReason::kNone);
  EXPECT_EQ(out.session, in.session);
  EXPECT_EQ(out.seq, in.seq);
  EXPECT_EQ(out.agent_sig, in.agent_sig);
}

TEST(WireRoundTrip, Receipt) {
  for (size_t len : {size_t(1), size_t(21), kMaxReceiptJson}) {
    ReceiptMessage in{0x1122334455667788ULL, std::string(len, 'j')};
    Bytes bytes = EncodeReceiptMessage(in);
    ASSERT_EQ(bytes.size(), kReceiptHeaderSize + len);
    ReceiptMessage out;
    ASSERT_EQ(DecodeReceiptMessage(bytes, &out), DropReason::kNone) << len;
    EXPECT_EQ(out.session, in.session);
    EXPECT_EQ(out.json, in.json);
  }
}

TEST(WireRoundTrip, Error) {
  for (ErrorCode code : {ErrorCode::kBadSignature, ErrorCode::kClockSkew, ErrorCode::kBusy,
                         ErrorCode::kReusedNonce, ErrorCode::kBadRequest}) {
    ErrorMessage in{code, Filled<16>(0xc0)};
    auto bytes = EncodeError(in);
    ASSERT_EQ(bytes.size(), 28u);
    ErrorMessage out;
    ASSERT_EQ(DecodeError(bytes, &out), DropReason::kNone);
    EXPECT_EQ(out.code, in.code);
    EXPECT_EQ(out.ref, in.ref);
  }
}

TEST(WireRoundTrip, ReceiptRequest) {
  ReceiptRequest in = SampleReceiptRequest();
  auto bytes = EncodeReceiptRequest(in);
  ASSERT_EQ(bytes.size(), 16u);
  ReceiptRequest out;
  ASSERT_EQ(DecodeReceiptRequest(bytes, &out), DropReason::kNone);
  EXPECT_EQ(out.session, in.session);
}

TEST(WireLayout, HeaderAndBigEndianFields) {
  for (const auto& v : AllValid()) {
    ASSERT_GE(v.bytes.size(), kHeaderSize);
    EXPECT_EQ(std::string(v.bytes.begin(), v.bytes.begin() + 4), "CUST") << v.name;
    EXPECT_EQ(v.bytes[4], 1) << v.name;
    EXPECT_EQ(v.bytes[5], static_cast<uint8_t>(v.type)) << v.name;
    EXPECT_EQ(v.bytes[6], 0) << v.name;
    EXPECT_EQ(v.bytes[7], 0) << v.name;
    MessageType t{};
    EXPECT_EQ(DecodeHeader(v.bytes, &t), DropReason::kNone) << v.name;
    EXPECT_EQ(t, v.type) << v.name;
  }
  auto c = EncodeChallenge(SampleChallenge());
  EXPECT_EQ(HexEncode(ByteView(c.data() + 8, 12)), "0123456789abcdef01020304");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c.data() + 52)), "cambridge-1");
  auto h = EncodeHello(SampleHello());
  EXPECT_EQ(HexEncode(ByteView(h.data() + 104, 12)), "000001a2052a7c3b00100000");
  auto m = EncodeReceiptMessage(SampleReceipt());
  EXPECT_EQ(HexEncode(ByteView(m.data() + 8, 10)), "11223344556677880015");
  auto e = EncodeError(SampleError());
  EXPECT_EQ(HexEncode(ByteView(e.data() + 8, 4)), "04000000");
}

TEST(WireSignedBytes, HelloCoversDomainLandmarkKeyAndFirst116Bytes) {
  Hello h = SampleHello();
  PublicKey landmark = Filled<32>(0x55);
  Bytes s = HelloSignedBytes(h, landmark);
  const std::string domain("custodian/hello/v1\0", 19);
  ASSERT_EQ(s.size(), 19u + 32u + 116u);
  EXPECT_EQ(std::string(s.begin(), s.begin() + 19), domain);
  EXPECT_TRUE(std::equal(landmark.begin(), landmark.end(), s.begin() + 19));
  auto encoded = EncodeHello(h);
  EXPECT_TRUE(std::equal(encoded.begin(), encoded.begin() + 116, s.begin() + 51));
  // The signature itself is not covered; everything before it is.
  Hello other_sig = h;
  other_sig.agent_sig[0] ^= 1;
  EXPECT_EQ(HelloSignedBytes(other_sig, landmark), s);
  Hello other_samples = h;
  other_samples.samples = 17;
  EXPECT_NE(HelloSignedBytes(other_samples, landmark), s);
  PublicKey other_landmark = landmark;
  other_landmark[31] ^= 1;
  EXPECT_NE(HelloSignedBytes(h, other_landmark), s);
}

TEST(WireSignedBytes, ResponseLayout) {
  NodeId node = Filled<16>(0x30);
  Sha256Digest chips = Filled<32>(0x70);
  Nonce nonce = Filled<32>(0xa0);
  auto s = MakeResponseSignedBytes("lm", 0x0102030405060708ULL, 0x0a0b0c0d, nonce, node, chips);
  ASSERT_EQ(s.size(), 146u);
  size_t o = 0;
  EXPECT_EQ(std::string(s.begin(), s.begin() + 22), std::string("custodian/response/v1\0", 22));
  o += 22;
  EXPECT_EQ(s[o], 'l');
  EXPECT_EQ(s[o + 1], 'm');
  EXPECT_TRUE(std::all_of(s.begin() + long(o) + 2, s.begin() + long(o) + 32,
                          [](uint8_t b) { return b == 0; }));
  o += 32;
  EXPECT_EQ(HexEncode(ByteView(s.data() + o, 12)), "01020304050607080a0b0c0d");
  o += 12;
  EXPECT_TRUE(std::equal(nonce.begin(), nonce.end(), s.begin() + long(o)));
  o += 32;
  EXPECT_TRUE(std::equal(node.begin(), node.end(), s.begin() + long(o)));
  o += 16;
  EXPECT_TRUE(std::equal(chips.begin(), chips.end(), s.begin() + long(o)));
}

TEST(WireNodeId, DerivedFromPublicKeyVector) {
  // SHA-256("custodian/node-id/v1\n" || pub)[0:16], computed independently (Python hashlib).
  auto node = SigningKey::FromSeed(Bytes(32, 0x01));
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(HexEncode(node->public_key()),
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  EXPECT_EQ(HexEncode(DeriveNodeId(node->public_key())), "372c38177ecb36757fa63b90c3711d99");
  auto rfc = HexDecode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  ASSERT_TRUE(rfc.ok());
  PublicKey pub{};
  std::copy(rfc->begin(), rfc->end(), pub.begin());
  EXPECT_EQ(HexEncode(DeriveNodeId(pub)), "8569eb3ed41340791cf1b7332edf0473");
}

TEST(WireLandmarkId, Syntax) {
  EXPECT_TRUE(ValidLandmarkId("a"));
  EXPECT_TRUE(ValidLandmarkId("AZaz09._-"));
  EXPECT_TRUE(ValidLandmarkId(std::string(32, 'x')));
  EXPECT_FALSE(ValidLandmarkId(""));
  EXPECT_FALSE(ValidLandmarkId(std::string(33, 'x')));
  for (const char* bad : {"a b", "a/b", "a:b", "a@b", "caf\xc3\xa9", "tab\t", "a+b"}) {
    EXPECT_FALSE(ValidLandmarkId(bad)) << bad;
  }
  EXPECT_FALSE(ValidLandmarkId(std::string("a\0b", 3)));
}

TEST(WireNames, DropReasonsHaveDistinctNames) {
  std::set<std::string> names;
  for (size_t i = 0; i < static_cast<size_t>(DropReason::kCount); ++i) {
    std::string name = DropReasonName(static_cast<DropReason>(i));
    EXPECT_NE(name, "unknown") << i;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
  EXPECT_EQ(std::string(DropReasonName(DropReason::kReplayedSeq)), "replayed_seq");
  EXPECT_EQ(std::string(DropReasonName(DropReason::kUnknownSession)), "unknown_session");
}

TEST(WireNames, ErrorCodeTextPointsAtTheLikelyCause) {
  EXPECT_NE(std::string(ErrorCodeText(ErrorCode::kBadSignature)).find("--landmark-pub"),
            std::string::npos);
  EXPECT_NE(std::string(ErrorCodeText(static_cast<ErrorCode>(200))).find("unknown"),
            std::string::npos);
}

// ---------------------------------------------------------------- malformed datagrams

TEST(WireMalformed, TruncatedAtEveryLength) {
  for (const auto& v : AllValid()) {
    for (size_t len = 0; len < v.bytes.size(); ++len) {
      Bytes cut(v.bytes.begin(), v.bytes.begin() + long(len));  // exact-size heap buffer
      EXPECT_EQ(DecodeAs(v.type, cut), DropReason::kTruncated) << v.name << " length " << len;
    }
  }
}

TEST(WireMalformed, OversizedByOneByte) {
  for (const auto& v : AllValid()) {
    Bytes longer = v.bytes;
    longer.push_back(0);
    EXPECT_EQ(DecodeAs(v.type, longer), DropReason::kOversized) << v.name;
  }
}

TEST(WireMalformed, LongerThanAnyMessage) {
  Bytes huge = EncodeReceiptMessage({1, std::string(kMaxReceiptJson, 'x')});
  ASSERT_EQ(huge.size(), kMaxDatagram);
  huge.push_back('x');
  MessageType t{};
  EXPECT_EQ(DecodeHeader(huge, &t), DropReason::kOversized);
  for (MessageType type : kAllTypes) EXPECT_EQ(DecodeAs(type, huge), DropReason::kOversized);
}

TEST(WireMalformed, BadMagic) {
  for (const auto& v : AllValid()) {
    for (size_t i = 0; i < 4; ++i) {
      Bytes b = v.bytes;
      b[i] ^= 0x20;  // "cUST", "CuST", ...
      EXPECT_EQ(DecodeAs(v.type, b), DropReason::kBadMagic) << v.name << " byte " << i;
    }
  }
}

TEST(WireMalformed, BadVersion) {
  for (const auto& v : AllValid()) {
    for (uint8_t version : {0, 2, 255}) {
      Bytes b = v.bytes;
      b[4] = version;
      EXPECT_EQ(DecodeAs(v.type, b), DropReason::kBadVersion) << v.name << " " << int(version);
    }
  }
}

TEST(WireMalformed, UnknownType) {
  for (const auto& v : AllValid()) {
    for (uint8_t type : {0, 7, 255}) {
      Bytes b = v.bytes;
      b[5] = type;
      MessageType t{};
      EXPECT_EQ(DecodeHeader(b, &t), DropReason::kBadType) << int(type);
      EXPECT_EQ(DecodeAs(v.type, b), DropReason::kBadType) << v.name << " type " << int(type);
    }
  }
}

TEST(WireMalformed, WrongTypeForTheDecoder) {
  for (const auto& v : AllValid()) {
    for (MessageType decoder : kAllTypes) {
      if (decoder == v.type) continue;
      EXPECT_EQ(DecodeAs(decoder, v.bytes), DropReason::kBadType)
          << v.name << " fed to decoder " << int(decoder);
    }
  }
}

TEST(WireMalformed, NonzeroReservedHeaderBytes) {
  for (const auto& v : AllValid()) {
    for (size_t i : {6, 7}) {
      Bytes b = v.bytes;
      b[i] = 0x01;
      EXPECT_EQ(DecodeAs(v.type, b), DropReason::kBadReserved) << v.name << " byte " << i;
      MessageType t{};
      EXPECT_EQ(DecodeHeader(b, &t), DropReason::kBadReserved);
    }
  }
}

TEST(WireMalformed, NonzeroReservedBodyBytes) {
  for (size_t i : {114, 115}) {
    auto b = EncodeHello(SampleHello());
    b[i] = 0x80;
    Hello h;
    EXPECT_EQ(DecodeHello(b, &h), DropReason::kBadReserved) << i;
  }
  for (size_t i : {9, 10, 11}) {
    auto b = EncodeError(SampleError());
    b[i] = 0x01;
    ErrorMessage e;
    EXPECT_EQ(DecodeError(b, &e), DropReason::kBadReserved) << i;
  }
}

TEST(WireMalformed, HelloSampleCountOutOfRange) {
  for (uint16_t samples : {uint16_t(0), uint16_t(kMaxSamples + 1), uint16_t(0xffff)}) {
    Hello in = SampleHello();
    in.samples = samples;
    Hello out;
    EXPECT_EQ(DecodeHello(EncodeHello(in), &out), DropReason::kBadField) << samples;
  }
}

TEST(WireMalformed, ChallengeLandmarkIdSyntax) {
  const auto good = EncodeChallenge(SampleChallenge());  // "cambridge-1", 11 chars
  Challenge out;
  for (uint8_t bad :
       {uint8_t(' '), uint8_t('/'), uint8_t('@'), uint8_t(0x80), uint8_t(0xff), uint8_t('\n')}) {
    auto b = good;
    b[52 + 3] = bad;
    EXPECT_EQ(DecodeChallenge(b, &out), DropReason::kBadField) << int(bad);
  }
  // Empty id.
  auto empty = good;
  std::fill(empty.begin() + 52, empty.end(), 0);
  EXPECT_EQ(DecodeChallenge(empty, &out), DropReason::kBadField);
  // Any non-zero byte after the terminating zero.
  for (size_t i = 52 + 12; i < 84; ++i) {
    auto b = good;
    b[i] = 'x';
    EXPECT_EQ(DecodeChallenge(b, &out), DropReason::kBadField) << "byte " << i;
  }
  // A zero inside the id hides the rest, which is then not padding.
  auto split = good;
  split[52 + 4] = 0;
  EXPECT_EQ(DecodeChallenge(split, &out), DropReason::kBadField);
}

TEST(WireMalformed, ReceiptJsonLength) {
  Bytes good = EncodeReceiptMessage(SampleReceipt());
  ReceiptMessage out;
  // json_length 0: a header-only datagram.
  Bytes zero(good.begin(), good.begin() + kReceiptHeaderSize);
  PutU16(zero.data() + 16, 0);
  EXPECT_EQ(DecodeReceiptMessage(zero, &out), DropReason::kBadField);
  // json_length above the limit, whatever follows.
  for (uint16_t len : {uint16_t(kMaxReceiptJson + 1), uint16_t(0xffff)}) {
    Bytes b = good;
    PutU16(b.data() + 16, len);
    EXPECT_EQ(DecodeReceiptMessage(b, &out), DropReason::kBadField) << len;
  }
  // json_length says more than the datagram holds, or less.
  Bytes more = good;
  PutU16(more.data() + 16, uint16_t(SampleReceipt().json.size() + 1));
  EXPECT_EQ(DecodeReceiptMessage(more, &out), DropReason::kTruncated);
  Bytes less = good;
  PutU16(less.data() + 16, uint16_t(SampleReceipt().json.size() - 1));
  EXPECT_EQ(DecodeReceiptMessage(less, &out), DropReason::kOversized);
}

TEST(WireMalformed, DecodersLeaveOutputAloneOnFailure) {
  Challenge c = SampleChallenge();
  auto b = EncodeChallenge(SampleChallenge());
  b[83] = 'x';
  Challenge out = c;
  out.landmark_id = "untouched";
  ASSERT_NE(DecodeChallenge(b, &out), DropReason::kNone);
  EXPECT_EQ(out.landmark_id, "untouched");
}

// ---------------------------------------------------------------- fuzz-style robustness

// Feeds `d` to every decoder. Any datagram a decoder accepts must be exactly the encoding of what
// it decoded: no two byte strings mean the same message, so nothing unsigned can be varied.
void FeedAll(const Bytes& d) {
  ByteView v(d);
  MessageType t{};
  DropReason header = DecodeHeader(v, &t);
  {
    Hello h;
    DropReason r = DecodeHello(v, &h);
    if (r == DropReason::kNone) {
      ASSERT_EQ(header, DropReason::kNone);
      ASSERT_EQ(ToBytes(EncodeHello(h)), d);
    }
  }
  {
    Challenge c;
    if (DecodeChallenge(v, &c) == DropReason::kNone) {
      ASSERT_TRUE(ValidLandmarkId(c.landmark_id));
      ASSERT_EQ(ToBytes(EncodeChallenge(c)), d);
    }
  }
  {
    Response r;
    if (DecodeResponse(v, &r) == DropReason::kNone) {
      ASSERT_EQ(ToBytes(EncodeResponse(r)), d);
    }
  }
  {
    ReceiptMessage m;
    if (DecodeReceiptMessage(v, &m) == DropReason::kNone) {
      ASSERT_GE(m.json.size(), 1u);
      ASSERT_LE(m.json.size(), kMaxReceiptJson);
      ASSERT_EQ(EncodeReceiptMessage(m), d);
    }
  }
  {
    ErrorMessage e;
    if (DecodeError(v, &e) == DropReason::kNone) {
      ASSERT_EQ(ToBytes(EncodeError(e)), d);
    }
  }
  {
    ReceiptRequest rr;
    if (DecodeReceiptRequest(v, &rr) == DropReason::kNone) {
      ASSERT_EQ(ToBytes(EncodeReceiptRequest(rr)), d);
    }
  }
}

TEST(WireFuzz, RandomAndMutatedDatagramsNeverCrash) {
  std::mt19937_64 rng(0xC057D1A2);  // fixed seed: reproducible
  auto uniform = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  const std::vector<Valid> valid = AllValid();
  size_t accepted = 0;
  for (int iter = 0; iter < 100'000; ++iter) {
    Bytes d;
    switch (iter % 4) {
      case 0: {  // random bytes, any size up to one past the largest datagram
        d.resize(uniform(0, kMaxDatagram + 1));
        for (auto& b : d) b = uint8_t(rng());
        break;
      }
      case 1: {  // a valid header of a random type, random body of a size near a real one
        const auto& base = valid[uniform(0, valid.size() - 1)];
        d.resize(base.bytes.size() + uniform(0, 4) - 2);  // every message is > 2 bytes
        for (auto& b : d) b = uint8_t(rng());
        if (d.size() >= kHeaderSize) {
          std::copy(base.bytes.begin(), base.bytes.begin() + kHeaderSize, d.begin());
          d[5] = uint8_t(uniform(0, 7));
        }
        break;
      }
      default: {  // mutations of a valid message
        d = valid[uniform(0, valid.size() - 1)].bytes;
        const size_t mutations = uniform(1, 4);
        for (size_t m = 0; m < mutations; ++m) {
          switch (uniform(0, 5)) {
            case 0:
              if (!d.empty()) d[uniform(0, d.size() - 1)] ^= uint8_t(1u << uniform(0, 7));
              break;
            case 1:
              if (!d.empty()) d[uniform(0, d.size() - 1)] = uint8_t(rng());
              break;
            case 2:
              d.resize(uniform(0, d.size()));
              break;
            case 3:
              for (size_t k = uniform(1, 8); k > 0; --k) d.push_back(uint8_t(rng()));
              break;
            case 4:  // plausible receipt json_length
              if (d.size() >= kReceiptHeaderSize) {
                PutU16(d.data() + 16, uint16_t(uniform(0, kMaxReceiptJson + 2)));
              }
              break;
            default:  // zero a byte (reserved fields, id padding)
              if (!d.empty()) d[uniform(0, d.size() - 1)] = 0;
              break;
          }
        }
        break;
      }
    }
    d.shrink_to_fit();  // exact-size buffer, so ASan sees any read past the end
    FeedAll(d);
    if (::testing::Test::HasFatalFailure()) {
      FAIL() << "iteration " << iter << ": " << HexEncode(d);
    }
    MessageType t{};
    if (DecodeHeader(d, &t) == DropReason::kNone) ++accepted;
  }
  // The generator reaches past the header check often enough to exercise the decoders.
  EXPECT_GT(accepted, 20'000u);
}

}  // namespace
}  // namespace custodian::proto
