// C2SP signed-note (Ed25519), tlog-checkpoint and tlog-cosignature (cosignature/v1).
//
//   signed note  = text (ends in "\n") ‖ "\n" ‖ one line per signature:
//                  "— <key name> <base64(key hash[4] ‖ signature)>\n"
//   key hash     = first 4 bytes of SHA-256(name ‖ "\n" ‖ type ‖ public key),
//                  type 0x01 for Ed25519 note keys, 0x04 for cosignature/v1 (witness) keys
//   vkey         = "<name>+<key hash, 8 hex digits>+<base64(type ‖ public key)>"
//   checkpoint   = "<origin>\n<tree size, decimal>\n<root hash, base64>\n" [extension lines]
//   cosignature  = Ed25519 over "cosignature/v1\ntime <unix seconds>\n" ‖ checkpoint text;
//                  its line carries base64(key hash[4] ‖ timestamp[8, big-endian] ‖ sig[64]).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/status.h"
#include "tlog/merkle.h"

namespace custodian::tlog {

inline constexpr uint8_t kNoteKeyEd25519 = 0x01;
inline constexpr uint8_t kNoteKeyCosignatureV1 = 0x04;

struct NoteSignature {
  std::string name;
  uint32_t key_hash = 0;
  Bytes signature;  // everything after the key hash (64 bytes; 72 for a cosignature)
};

struct Note {
  std::string text;  // ends with "\n"
  std::vector<NoteSignature> signatures;
};

// Strict: text is valid UTF-8 without control characters other than "\n", each signature line
// well formed. InvalidInput naming the line and the problem.
Result<Note> ParseNote(std::string_view signed_note);
std::string FormatNote(const Note& note);

uint32_t KeyHash(std::string_view name, uint8_t type, const PublicKey& key);
bool ValidKeyName(std::string_view name);  // non-empty, no whitespace or "+"

// A verifier key, parsed from or printed as a vkey.
struct VerifierKey {
  std::string name;
  uint8_t type = kNoteKeyEd25519;
  PublicKey key{};
  uint32_t key_hash = 0;
  std::string ToString() const;  // the vkey
};
Result<VerifierKey> ParseVerifierKey(std::string_view vkey);  // checks the hash matches
VerifierKey MakeVerifierKey(std::string name, uint8_t type, const PublicKey& key);

// Adds an Ed25519 note signature by `name` to `note`.
void SignNote(Note& note, std::string_view name, const SigningKey& key);
// OK when `note` carries a valid signature by `verifier` (type 0x01); FailedCheck saying
// whether the signature was missing or invalid.
Status VerifyNote(const Note& note, const VerifierKey& verifier);

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // extra lines, without "\n"
  std::string ToText() const;
};
Result<Checkpoint> ParseCheckpoint(std::string_view text);

// cosignature/v1
std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp_s);
NoteSignature Cosign(std::string_view checkpoint_text, std::string_view witness_name,
                     const SigningKey& witness_key, uint64_t timestamp_s);
// OK when `note` carries a valid cosignature by `witness` (type 0x04); its timestamp in *time_s.
Status VerifyCosignature(const Note& note, const VerifierKey& witness, uint64_t* time_s = nullptr);

}  // namespace custodian::tlog
