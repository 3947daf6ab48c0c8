#include "proto/wire.h"

#include <algorithm>
#include <cstring>

namespace custodian::proto {
namespace {

constexpr std::string_view kHelloDomain{"custodian/hello/v1\0", 19};
constexpr std::string_view kNodeIdDomain{"custodian/node-id/v1\n"};
constexpr size_t kHelloSignedPrefix = 116;  // bytes of HELLO covered by agent_sig

void PutHeader(uint8_t* p, MessageType type) {
  std::memcpy(p, kMagic.data(), 4);
  p[4] = kVersion;
  p[5] = static_cast<uint8_t>(type);
  p[6] = p[7] = 0;
}

// Checks the header and that the datagram has exactly `size` bytes and is of `type`.
DropReason CheckFixed(ByteView d, MessageType type, size_t size) {
  MessageType got{};
  if (DropReason r = DecodeHeader(d, &got); r != DropReason::kNone) return r;
  if (got != type) return DropReason::kBadType;
  if (d.size() < size) return DropReason::kTruncated;
  if (d.size() > size) return DropReason::kOversized;
  return DropReason::kNone;
}

template <size_t N>
void Copy(std::array<uint8_t, N>& out, const uint8_t* p) {
  std::memcpy(out.data(), p, N);
}

}  // namespace

NodeId DeriveNodeId(const PublicKey& node_pub) {
  Sha256Hasher h;
  h.Update(AsBytes(kNodeIdDomain));
  h.Update(node_pub);
  Sha256Digest d = h.Finish();
  NodeId id{};
  std::copy_n(d.begin(), id.size(), id.begin());
  return id;
}

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
    case DropReason::kTruncated:
      return "truncated";
    case DropReason::kOversized:
      return "oversized";
    case DropReason::kBadMagic:
      return "bad_magic";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kBadType:
      return "bad_type";
    case DropReason::kBadReserved:
      return "bad_reserved";
    case DropReason::kBadField:
      return "bad_field";
    case DropReason::kBadNodeId:
      return "bad_node_id";
    case DropReason::kClockSkew:
      return "clock_skew";
    case DropReason::kReusedNonce:
      return "reused_nonce";
    case DropReason::kRateLimited:
      return "rate_limited";
    case DropReason::kBusy:
      return "busy";
    case DropReason::kBadSignature:
      return "bad_signature";
    case DropReason::kUnknownSession:
      return "unknown_session";
    case DropReason::kWrongAddress:
      return "wrong_address";
    case DropReason::kReplayedSeq:
      return "replayed_seq";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

DropReason DecodeHeader(ByteView d, MessageType* type) {
  if (d.size() < kHeaderSize) return DropReason::kTruncated;
  if (d.size() > kMaxDatagram) return DropReason::kOversized;
  if (!std::equal(kMagic.begin(), kMagic.end(), d.begin())) return DropReason::kBadMagic;
  if (d[4] != kVersion) return DropReason::kBadVersion;
  if (d[5] < 1 || d[5] > 6) return DropReason::kBadType;
  if (d[6] != 0 || d[7] != 0) return DropReason::kBadReserved;
  *type = static_cast<MessageType>(d[5]);
  return DropReason::kNone;
}

bool ValidLandmarkId(std::string_view id) {
  if (id.empty() || id.size() > kLandmarkIdSize) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// ---- HELLO: header | node_id 16 | node_pub 32 | chipset_hash 32 | client_nonce 16 |
//             agent_time_ms 8 | samples 2 | reserved 2 | agent_sig 64  = 180 bytes
std::array<uint8_t, kHelloSize> EncodeHello(const Hello& h) {
  std::array<uint8_t, kHelloSize> b{};
  PutHeader(b.data(), MessageType::kHello);
  std::memcpy(b.data() + 8, h.node_id.data(), 16);
  std::memcpy(b.data() + 24, h.node_pub.data(), 32);
  std::memcpy(b.data() + 56, h.chipset_hash.data(), 32);
  std::memcpy(b.data() + 88, h.client_nonce.data(), 16);
  PutU64(b.data() + 104, uint64_t(h.agent_time_ms));
  PutU16(b.data() + 112, h.samples);
  std::memcpy(b.data() + 116, h.agent_sig.data(), 64);
  return b;
}

Bytes HelloSignedBytes(const Hello& hello, const PublicKey& landmark_pub) {
  auto encoded = EncodeHello(hello);
  Bytes out(kHelloDomain.begin(), kHelloDomain.end());
  out.insert(out.end(), landmark_pub.begin(), landmark_pub.end());
  out.insert(out.end(), encoded.begin(), encoded.begin() + kHelloSignedPrefix);
  return out;
}

DropReason DecodeHello(ByteView d, Hello* out) {
  if (DropReason r = CheckFixed(d, MessageType::kHello, kHelloSize); r != DropReason::kNone)
    return r;
  if (d[114] != 0 || d[115] != 0) return DropReason::kBadReserved;
  Hello h;
  Copy(h.node_id, d.data() + 8);
  Copy(h.node_pub, d.data() + 24);
  Copy(h.chipset_hash, d.data() + 56);
  Copy(h.client_nonce, d.data() + 88);
  h.agent_time_ms = int64_t(GetU64(d.data() + 104));
  h.samples = GetU16(d.data() + 112);
  Copy(h.agent_sig, d.data() + 116);
  if (h.samples < 1 || h.samples > kMaxSamples) return DropReason::kBadField;
  *out = h;
  return DropReason::kNone;
}

// ---- CHALLENGE: header | session 8 | seq 4 | nonce 32 | landmark_id 32  = 84 bytes
std::array<uint8_t, kChallengeSize> EncodeChallenge(const Challenge& c) {
  std::array<uint8_t, kChallengeSize> b{};
  PutHeader(b.data(), MessageType::kChallenge);
  PutU64(b.data() + 8, c.session);
  PutU32(b.data() + 16, c.seq);
  std::memcpy(b.data() + 20, c.nonce.data(), 32);
  std::memcpy(b.data() + 52, c.landmark_id.data(), std::min(c.landmark_id.size(), kLandmarkIdSize));
  return b;
}

DropReason DecodeChallenge(ByteView d, Challenge* out) {
  if (DropReason r = CheckFixed(d, MessageType::kChallenge, kChallengeSize);
      r != DropReason::kNone) {
    return r;
  }
  const char* id = reinterpret_cast<const char*>(d.data() + 52);
  size_t len = strnlen(id, kLandmarkIdSize);
  std::string_view landmark_id(id, len);
  // After the id, only zero padding.
  if (!ValidLandmarkId(landmark_id) ||
      !std::all_of(d.begin() + 52 + long(len), d.begin() + 84, [](uint8_t x) { return x == 0; })) {
    return DropReason::kBadField;
  }
  out->session = GetU64(d.data() + 8);
  out->seq = GetU32(d.data() + 16);
  Copy(out->nonce, d.data() + 20);
  out->landmark_id.assign(landmark_id);
  return DropReason::kNone;
}

// ---- RESPONSE: header | session 8 | seq 4 | agent_sig 64  = 84 bytes
std::array<uint8_t, kResponseSize> EncodeResponse(const Response& r) {
  std::array<uint8_t, kResponseSize> b{};
  PutHeader(b.data(), MessageType::kResponse);
  PutU64(b.data() + 8, r.session);
  PutU32(b.data() + 16, r.seq);
  std::memcpy(b.data() + 20, r.agent_sig.data(), 64);
  return b;
}

DropReason DecodeResponse(ByteView d, Response* out) {
  if (DropReason r = CheckFixed(d, MessageType::kResponse, kResponseSize); r != DropReason::kNone) {
    return r;
  }
  out->session = GetU64(d.data() + 8);
  out->seq = GetU32(d.data() + 16);
  Copy(out->agent_sig, d.data() + 20);
  return DropReason::kNone;
}

ResponseSignedBytes MakeResponseSignedBytes(std::string_view landmark_id, SessionId session,
                                            uint32_t seq, const Nonce& nonce, const NodeId& node_id,
                                            const Sha256Digest& chipset_hash) {
  ResponseSignedBytes b{};
  uint8_t* p = b.data();
  std::memcpy(p, kResponseDomain.data(), kResponseDomain.size());
  p += kResponseDomain.size();
  std::memcpy(p, landmark_id.data(), std::min(landmark_id.size(), kLandmarkIdSize));
  p += kLandmarkIdSize;
  PutU64(p, session);
  p += 8;
  PutU32(p, seq);
  p += 4;
  std::memcpy(p, nonce.data(), 32);
  p += 32;
  std::memcpy(p, node_id.data(), 16);
  p += 16;
  std::memcpy(p, chipset_hash.data(), 32);
  return b;
}

// ---- RECEIPT: header | session 8 | json_length 2 | json  (json_length 1..4096)
Bytes EncodeReceiptMessage(const ReceiptMessage& m) {
  Bytes b(kReceiptHeaderSize + m.json.size());
  PutHeader(b.data(), MessageType::kReceipt);
  PutU64(b.data() + 8, m.session);
  PutU16(b.data() + 16, uint16_t(m.json.size()));
  std::memcpy(b.data() + kReceiptHeaderSize, m.json.data(), m.json.size());
  return b;
}

DropReason DecodeReceiptMessage(ByteView d, ReceiptMessage* out) {
  MessageType type{};
  if (DropReason r = DecodeHeader(d, &type); r != DropReason::kNone) return r;
  if (type != MessageType::kReceipt) return DropReason::kBadType;
  if (d.size() < kReceiptHeaderSize) return DropReason::kTruncated;
  size_t len = GetU16(d.data() + 16);
  if (len == 0 || len > kMaxReceiptJson) return DropReason::kBadField;
  if (d.size() < kReceiptHeaderSize + len) return DropReason::kTruncated;
  if (d.size() > kReceiptHeaderSize + len) return DropReason::kOversized;
  out->session = GetU64(d.data() + 8);
  out->json.assign(reinterpret_cast<const char*>(d.data() + kReceiptHeaderSize), len);
  return DropReason::kNone;
}

// ---- ERROR: header | code 1 | reserved 3 | ref 16  = 28 bytes
const char* ErrorCodeText(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadSignature:
      return "the landmark rejected our HELLO signature (is --landmark-pub the key of this "
             "landmark?)";
    case ErrorCode::kClockSkew:
      return "our clock differs from the landmark's by more than 5 minutes";
    case ErrorCode::kBusy:
      return "the landmark is busy (session limit or rate limit); try later";
    case ErrorCode::kReusedNonce:
      return "the landmark saw this HELLO before (replay)";
    case ErrorCode::kBadRequest:
      return "the landmark refused the request as malformed";
  }
  return "the landmark refused the session (unknown error code)";
}

std::array<uint8_t, kErrorSize> EncodeError(const ErrorMessage& e) {
  std::array<uint8_t, kErrorSize> b{};
  PutHeader(b.data(), MessageType::kError);
  b[8] = static_cast<uint8_t>(e.code);
  std::memcpy(b.data() + 12, e.ref.data(), 16);
  return b;
}

DropReason DecodeError(ByteView d, ErrorMessage* out) {
  if (DropReason r = CheckFixed(d, MessageType::kError, kErrorSize); r != DropReason::kNone)
    return r;
  if (d[9] != 0 || d[10] != 0 || d[11] != 0) return DropReason::kBadReserved;
  out->code = static_cast<ErrorCode>(d[8]);
  Copy(out->ref, d.data() + 12);
  return DropReason::kNone;
}

// ---- RECEIPT_REQUEST: header | session 8  = 16 bytes
std::array<uint8_t, kReceiptRequestSize> EncodeReceiptRequest(const ReceiptRequest& r) {
  std::array<uint8_t, kReceiptRequestSize> b{};
  PutHeader(b.data(), MessageType::kReceiptRequest);
  PutU64(b.data() + 8, r.session);
  return b;
}

DropReason DecodeReceiptRequest(ByteView d, ReceiptRequest* out) {
  if (DropReason r = CheckFixed(d, MessageType::kReceiptRequest, kReceiptRequestSize);
      r != DropReason::kNone) {
    return r;
  }
  out->session = GetU64(d.data() + 8);
  return DropReason::kNone;
}

}  // namespace custodian::proto
