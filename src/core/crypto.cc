#include "core/crypto.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace custodian {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "Sha256Hasher state buffer too small");

void InitCrypto() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: nothing is safe to do
  });
}

Sha256Digest Sha256(ByteView data) {
  Sha256Digest out{};
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Sha256Hasher::Sha256Hasher() {
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}
void Sha256Hasher::Update(ByteView data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_), data.data(),
                            data.size());
}
Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest out{};
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), out.data());
  return out;
}

void RandomBytes(uint8_t* out, size_t len) {
  InitCrypto();
  randombytes_buf(out, len);
}

SigningKey SigningKey::Generate() {
  InitCrypto();
  SigningKey key;
  crypto_sign_keypair(key.public_key_.data(), key.secret_.data());
  return key;
}

Result<SigningKey> SigningKey::FromSeed(ByteView seed32) {
  if (seed32.size() != crypto_sign_SEEDBYTES) {
    return Status::InvalidInput("Ed25519 seed must be 32 bytes, got " +
                                std::to_string(seed32.size()));
  }
  InitCrypto();
  SigningKey key;
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_.data(), seed32.data());
  return key;
}

SigningKey::~SigningKey() {
  sodium_memzero(secret_.data(), secret_.size());
}

Signature SigningKey::Sign(ByteView message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

std::array<uint8_t, 32> SigningKey::Seed() const {
  std::array<uint8_t, 32> seed{};
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_.data());
  return seed;
}

bool VerifySignature(const PublicKey& public_key, ByteView message, const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

Result<PublicKey> ParsePublicKeyBase64(std::string_view b64) {
  return FixedFromBytes<32>(Base64Decode(b64), "public key");
}

std::array<uint8_t, 32> Blake2b256(ByteView data) {
  InitCrypto();
  std::array<uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace custodian
