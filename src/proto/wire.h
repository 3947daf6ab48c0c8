// The timing protocol's wire format (DESIGN §4; byte layouts and test vectors in docs/protocol.md).
//
// Every datagram starts with an 8-byte header: magic "CUST", version 1, type, two zero bytes.
// Integers are big-endian. All messages but RECEIPT have a fixed size, and a datagram whose size
// is not exactly that size is dropped. Decode* functions check structure only (sizes, magic,
// version, type, reserved bytes, field syntax); signatures and session state are the caller's.
// They never throw and never read past the input.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/crypto.h"

namespace custodian::proto {

inline constexpr std::array<uint8_t, 4> kMagic = {'C', 'U', 'S', 'T'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 8;

enum class MessageType : uint8_t {
  kHello = 1,           // agent -> landmark
  kChallenge = 2,       // landmark -> agent
  kResponse = 3,        // agent -> landmark
  kReceipt = 4,         // landmark -> agent
  kError = 5,           // landmark -> agent, answers a well-formed HELLO it refuses
  kReceiptRequest = 6,  // agent -> landmark, asks again for a lost RECEIPT
};

inline constexpr size_t kHelloSize = 180;
inline constexpr size_t kChallengeSize = 84;
inline constexpr size_t kResponseSize = 84;
inline constexpr size_t kErrorSize = 28;
inline constexpr size_t kReceiptRequestSize = 16;
inline constexpr size_t kReceiptHeaderSize = 18;
inline constexpr size_t kMaxReceiptJson = 4096;
inline constexpr size_t kMaxDatagram = kReceiptHeaderSize + kMaxReceiptJson;
inline constexpr size_t kLandmarkIdSize = 32;  // ASCII [A-Za-z0-9._-], 1..32 chars, 0-padded
inline constexpr uint32_t kMaxSamples = 64;

using NodeId = std::array<uint8_t, 16>;
using Nonce = std::array<uint8_t, 32>;
using ClientNonce = std::array<uint8_t, 16>;
using SessionId = uint64_t;

// The first 16 bytes of SHA-256("custodian/node-id/v1\n" ‖ node public key).
NodeId DeriveNodeId(const PublicKey& node_pub);

// Why a datagram was dropped. Each has a counter in the landmark's statistics.
enum class DropReason : uint8_t {
  kNone = 0,
  kTruncated,  // shorter than its type's size
  kOversized,  // longer than its type's size, or than any message
  kBadMagic,
  kBadVersion,
  kBadType,      // unknown type, or a type this side never receives
  kBadReserved,  // reserved bytes not zero
  kBadField,     // a field fails its syntax (landmark id, sample count, JSON length)
  kBadNodeId,    // node_id is not derived from node_pub
  kClockSkew,    // HELLO's agent time too far from ours
  kReusedNonce,  // HELLO client nonce seen before
  kRateLimited,  // too many HELLOs from this address
  kBusy,         // session table full
  kBadSignature,
  kUnknownSession,
  kWrongAddress,  // datagram for a session from another address than its HELLO
  kReplayedSeq,   // RESPONSE for a sequence number already answered or not yet sent
  kCount,
};
const char* DropReasonName(DropReason reason);

// Reads the header; returns kNone and sets *type, or the reason to drop.
DropReason DecodeHeader(ByteView datagram, MessageType* type);

struct Hello {
  NodeId node_id{};
  PublicKey node_pub{};
  Sha256Digest chipset_hash{};
  ClientNonce client_nonce{};
  int64_t agent_time_ms = 0;  // agent's Unix time, milliseconds
  uint16_t samples = 0;       // challenges asked for, 1..kMaxSamples
  Signature agent_sig{};      // over HelloSignedBytes
};
// What the agent signs: "custodian/hello/v1\0" ‖ landmark public key ‖ bytes [0, 116) of HELLO.
// Naming the landmark's key stops a HELLO being replayed to another landmark.
Bytes HelloSignedBytes(const Hello& hello, const PublicKey& landmark_pub);
std::array<uint8_t, kHelloSize> EncodeHello(const Hello& hello);
DropReason DecodeHello(ByteView datagram, Hello* out);

struct Challenge {
  SessionId session = 0;
  uint32_t seq = 0;
  Nonce nonce{};
  std::string landmark_id;
};
std::array<uint8_t, kChallengeSize> EncodeChallenge(const Challenge& c);
DropReason DecodeChallenge(ByteView datagram, Challenge* out);

struct Response {
  SessionId session = 0;
  uint32_t seq = 0;
  Signature agent_sig{};
};
std::array<uint8_t, kResponseSize> EncodeResponse(const Response& r);
DropReason DecodeResponse(ByteView datagram, Response* out);

// What the agent signs to answer a challenge (DESIGN §4):
// "custodian/response/v1\0" ‖ landmark_id (32, 0-padded) ‖ session ‖ seq ‖ nonce ‖ node_id ‖
// chipset_hash. Fixed size, so the agent can fill it in place on its hot path.
inline constexpr std::string_view kResponseDomain{"custodian/response/v1\0", 22};
inline constexpr size_t kResponseSignedSize = 22 + 32 + 8 + 4 + 32 + 16 + 32;
using ResponseSignedBytes = std::array<uint8_t, kResponseSignedSize>;
ResponseSignedBytes MakeResponseSignedBytes(std::string_view landmark_id, SessionId session,
                                            uint32_t seq, const Nonce& nonce, const NodeId& node_id,
                                            const Sha256Digest& chipset_hash);

struct ReceiptMessage {
  SessionId session = 0;
  std::string json;  // canonical receipt JSON (see receipt.h)
};
Bytes EncodeReceiptMessage(const ReceiptMessage& m);
DropReason DecodeReceiptMessage(ByteView datagram, ReceiptMessage* out);

enum class ErrorCode : uint8_t {
  kBadSignature = 1,  // HELLO signature invalid: wrong landmark public key, or wrong node key
  kClockSkew = 2,     // agent clock more than the allowed skew from the landmark's
  kBusy = 3,          // landmark at its session limit, or this address over its HELLO rate
  kReusedNonce = 4,
  kBadRequest = 5,  // e.g. sample count out of range
};
const char* ErrorCodeText(ErrorCode code);
struct ErrorMessage {
  ErrorCode code = ErrorCode::kBadRequest;
  ClientNonce ref{};  // the refused HELLO's client nonce
};
std::array<uint8_t, kErrorSize> EncodeError(const ErrorMessage& e);
DropReason DecodeError(ByteView datagram, ErrorMessage* out);

struct ReceiptRequest {
  SessionId session = 0;
};
std::array<uint8_t, kReceiptRequestSize> EncodeReceiptRequest(const ReceiptRequest& r);
DropReason DecodeReceiptRequest(ByteView datagram, ReceiptRequest* out);

// 1..32 characters of [A-Za-z0-9._-].
bool ValidLandmarkId(std::string_view id);

}  // namespace custodian::proto
