// Byte strings and their text forms: hex (lower case) and base64 (RFC 4648, with padding).
// Also big-endian integer helpers for the fixed-layout wire formats.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace custodian {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string HexEncode(ByteView bytes);
// Accepts upper or lower case; rejects odd lengths and non-hex characters.
Result<Bytes> HexDecode(std::string_view hex);

std::string Base64Encode(ByteView bytes);
// Strict: standard alphabet, padding required, no whitespace.
Result<Bytes> Base64Decode(std::string_view b64);

// Decodes exactly N bytes from hex or base64; `what` names the field in the error.
template <size_t N>
Result<std::array<uint8_t, N>> FixedFromBytes(const Result<Bytes>& decoded, std::string_view what) {
  if (!decoded.ok()) return decoded.status().WithContext(std::string(what));
  if (decoded->size() != N) {
    return Status::InvalidInput(std::string(what) + ": expected " + std::to_string(N) +
                                " bytes, got " + std::to_string(decoded->size()));
  }
  std::array<uint8_t, N> out{};
  std::copy(decoded->begin(), decoded->end(), out.begin());
  return out;
}

// Big-endian integers at a byte offset; callers check bounds first.
inline void PutU16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (24 - 8 * i));
}
inline void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (56 - 8 * i));
}
inline uint16_t GetU16(const uint8_t* p) {
  return uint16_t((p[0] << 8) | p[1]);
}
inline uint32_t GetU32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace custodian
