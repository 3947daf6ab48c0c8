// Cryptographic primitives, all from libsodium: Ed25519 signatures, SHA-256, random bytes.
// Call InitCrypto() once before anything else (idempotent, thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/status.h"

namespace custodian {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;
using Sha256Digest = std::array<uint8_t, 32>;

void InitCrypto();

Sha256Digest Sha256(ByteView data);

// Incremental SHA-256, for transcripts.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(ByteView data);
  Sha256Digest Finish();

 private:
  alignas(64) unsigned char state_[128];  // crypto_hash_sha256_state; size checked in .cc
};

void RandomBytes(uint8_t* out, size_t len);

// BLAKE2b-256 (libsodium crypto_generichash): how bearer secrets are stored. Secrets are 256-bit
// random, so a fast hash suffices (no password stretching needed).
std::array<uint8_t, 32> Blake2b256(ByteView data);
// Compares in time independent of where the inputs differ (sodium_memcmp). Sizes must match.
bool ConstantTimeEqual(ByteView a, ByteView b);

// An Ed25519 key pair. The secret half never leaves this object except through SaveKeyFile.
class SigningKey {
 public:
  static SigningKey Generate();
  static Result<SigningKey> FromSeed(ByteView seed32);

  const PublicKey& public_key() const { return public_key_; }
  Signature Sign(ByteView message) const;
  // The 32-byte seed, for writing the key file.
  std::array<uint8_t, 32> Seed() const;

  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  ~SigningKey();

 private:
  SigningKey() = default;
  std::array<uint8_t, 64> secret_{};  // libsodium layout: seed ‖ public key
  PublicKey public_key_{};
};

// True iff `signature` is a valid Ed25519 signature of `message` by `public_key`.
bool VerifySignature(const PublicKey& public_key, ByteView message, const Signature& signature);

Result<PublicKey> ParsePublicKeyBase64(std::string_view b64);

}  // namespace custodian
