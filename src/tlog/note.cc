// C2SP signed-note, tlog-checkpoint and tlog-cosignature (cosignature/v1, Ed25519).
#include "tlog/note.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace custodian::tlog {
namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // em dash U+2014, space
constexpr size_t kMaxSignatures = 100;                    // the spec asks for at least 16
constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;

// Decodes one UTF-8 sequence at s[i]; returns its length and sets *cp, or 0 when it is not
// well-formed (overlong, surrogate, beyond U+10FFFF, truncated).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  uint8_t c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

// Unicode White_Space (what Go's unicode.IsSpace reports).
bool IsUnicodeSpace(uint32_t cp) {
  switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// Valid UTF-8 with no ASCII control character other than "\n". `what` names the text.
Status CheckText(std::string_view s, const std::string& what) {
  size_t line = 1;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) {
      return Status::InvalidInput(what + ", line " + std::to_string(line) + ": invalid UTF-8");
    }
    if (cp == '\n') {
      ++line;
    } else if (cp < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "0x%02x", static_cast<unsigned>(cp));
      return Status::InvalidInput(what + ", line " + std::to_string(line) + ": control character " +
                                  buf);
    }
    i += len;
  }
  return Status::Ok();
}

std::string KeyId(std::string_view name, uint32_t key_hash) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(key_hash));
  return std::string(name) + "+" + buf;
}

std::vector<const NoteSignature*> SignaturesBy(const Note& note, const VerifierKey& key) {
  std::vector<const NoteSignature*> out;
  for (const NoteSignature& s : note.signatures) {
    if (s.name == key.name && s.key_hash == key.key_hash) out.push_back(&s);
  }
  return out;
}

Bytes Concat(uint8_t type, const PublicKey& key) {
  Bytes out;
  out.reserve(1 + key.size());
  out.push_back(type);
  out.insert(out.end(), key.begin(), key.end());
  return out;
}

}  // namespace

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(name, i, &cp);
    if (len == 0 || cp == '+' || cp < 0x20 || cp == 0x7F || IsUnicodeSpace(cp)) return false;
    i += len;
  }
  return true;
}

Result<Note> ParseNote(std::string_view signed_note) {
  CUSTODIAN_RETURN_IF_ERROR(CheckText(signed_note, "signed note"));
  // The text ends at the last blank line; the signature lines follow it.
  size_t split = signed_note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Status::InvalidInput("signed note: no blank line before the signatures");
  }
  Note note;
  note.text = std::string(signed_note.substr(0, split + 1));
  std::string_view sigs = signed_note.substr(split + 2);
  size_t line = static_cast<size_t>(std::count(note.text.begin(), note.text.end(), '\n')) + 2;
  if (sigs.empty()) return Status::InvalidInput("signed note: no signature lines");
  if (sigs.back() != '\n') {
    return Status::InvalidInput("signed note: the last signature line does not end in a newline");
  }
  while (!sigs.empty()) {
    std::string where = "signed note, line " + std::to_string(line);
    size_t nl = sigs.find('\n');
    std::string_view l = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    ++line;
    if (note.signatures.size() == kMaxSignatures) {
      return Status::InvalidInput(where + ": more than " + std::to_string(kMaxSignatures) +
                                  " signatures");
    }
    if (!l.starts_with(kSigPrefix)) {
      return Status::InvalidInput(where +
                                  ": a signature line must start with an em dash (U+2014) "
                                  "and a space");
    }
    l.remove_prefix(kSigPrefix.size());
    size_t space = l.find(' ');
    if (space == std::string_view::npos) {
      return Status::InvalidInput(where + ": no space between key name and signature");
    }
    std::string_view name = l.substr(0, space);
    std::string_view b64 = l.substr(space + 1);
    if (!ValidKeyName(name)) {
      return Status::InvalidInput(where + ": invalid key name \"" + std::string(name) + "\"");
    }
    Result<Bytes> raw = Base64Decode(b64);
    if (!raw.ok()) return raw.status().WithContext(where + ": signature");
    if (raw->size() < 5) {
      return Status::InvalidInput(where + ": signature of " + std::to_string(raw->size()) +
                                  " bytes is too short (key ID and at least one byte)");
    }
    NoteSignature sig;
    sig.name = std::string(name);
    sig.key_hash = GetU32(raw->data());
    sig.signature.assign(raw->begin() + 4, raw->end());
    note.signatures.push_back(std::move(sig));
  }
  return note;
}

std::string FormatNote(const Note& note) {
  std::string out = note.text;
  out += "\n";
  for (const NoteSignature& s : note.signatures) {
    Bytes raw(4);
    PutU32(raw.data(), s.key_hash);
    raw.insert(raw.end(), s.signature.begin(), s.signature.end());
    out += kSigPrefix;
    out += s.name;
    out += " ";
    out += Base64Encode(raw);
    out += "\n";
  }
  return out;
}

uint32_t KeyHash(std::string_view name, uint8_t type, const PublicKey& key) {
  Sha256Hasher h;
  h.Update(AsBytes(name));
  h.Update(AsBytes("\n"));
  h.Update(ByteView(&type, 1));
  h.Update(ByteView(key.data(), key.size()));
  Sha256Digest d = h.Finish();
  return GetU32(d.data());
}

std::string VerifierKey::ToString() const {
  return KeyId(name, key_hash) + "+" + Base64Encode(Concat(type, key));
}

Result<VerifierKey> ParseVerifierKey(std::string_view vkey) {
  // name+hash+base64; the base64 part may itself contain "+".
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {
    return Status::InvalidInput("vkey: expected <name>+<key hash>+<key>");
  }
  VerifierKey out;
  out.name = std::string(vkey.substr(0, p1));
  if (!ValidKeyName(out.name)) {
    return Status::InvalidInput("vkey: invalid key name \"" + out.name + "\"");
  }
  std::string_view hash_hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  Result<Bytes> hash = HexDecode(hash_hex);
  if (hash_hex.size() != 8 || !hash.ok()) {
    return Status::InvalidInput("vkey: key hash \"" + std::string(hash_hex) +
                                "\" is not 8 hex digits");
  }
  Result<Bytes> key = Base64Decode(vkey.substr(p2 + 1));
  if (!key.ok()) return key.status().WithContext("vkey: key");
  if (key->empty()) return Status::InvalidInput("vkey: empty key");
  out.type = (*key)[0];
  if (out.type != kNoteKeyEd25519 && out.type != kNoteKeyCosignatureV1) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "0x%02x", static_cast<unsigned>(out.type));
    return Status::InvalidInput(std::string("vkey: unsupported key type ") + buf +
                                " (0x01 Ed25519 or 0x04 cosignature/v1)");
  }
  if (key->size() != 1 + out.key.size()) {
    return Status::InvalidInput("vkey: Ed25519 key must be 32 bytes, got " +
                                std::to_string(key->size() - 1));
  }
  std::copy(key->begin() + 1, key->end(), out.key.begin());
  out.key_hash = GetU32(hash->data());
  uint32_t want = KeyHash(out.name, out.type, out.key);
  if (out.key_hash != want) {
    return Status::InvalidInput("vkey: key hash " + std::string(hash_hex) +
                                " does not match the key (expected " + KeyId("", want).substr(1) +
                                ")");
  }
  return out;
}

VerifierKey MakeVerifierKey(std::string name, uint8_t type, const PublicKey& key) {
  VerifierKey out;
  out.key_hash = KeyHash(name, type, key);
  out.name = std::move(name);
  out.type = type;
  out.key = key;
  return out;
}

void SignNote(Note& note, std::string_view name, const SigningKey& key) {
  NoteSignature sig;
  sig.name = std::string(name);
  sig.key_hash = KeyHash(name, kNoteKeyEd25519, key.public_key());
  Signature s = key.Sign(AsBytes(note.text));
  sig.signature.assign(s.begin(), s.end());
  // A new signature by the same key replaces the old one.
  std::erase_if(note.signatures, [&](const NoteSignature& old) {
    return old.name == sig.name && old.key_hash == sig.key_hash;
  });
  note.signatures.push_back(std::move(sig));
}

Status VerifyNote(const Note& note, const VerifierKey& verifier) {
  std::string id = KeyId(verifier.name, verifier.key_hash);
  if (verifier.type != kNoteKeyEd25519) {
    return Status::InvalidInput("verifier " + id + " is not an Ed25519 note key (type 0x01)");
  }
  std::vector<const NoteSignature*> sigs = SignaturesBy(note, verifier);
  if (sigs.empty()) return Status::FailedCheck("note: no signature by " + id);
  // Every signature claiming to be by this key must verify (signed-note: reject the note when a
  // known key's signature fails).
  for (const NoteSignature* s : sigs) {
    if (s->signature.size() != Signature{}.size()) {
      return Status::FailedCheck("note: signature by " + id + " is " +
                                 std::to_string(s->signature.size()) + " bytes, expected 64");
    }
    Signature sig;
    std::copy(s->signature.begin(), s->signature.end(), sig.begin());
    if (!VerifySignature(verifier.key, AsBytes(note.text), sig)) {
      return Status::FailedCheck("note: signature by " + id + " is invalid");
    }
  }
  return Status::Ok();
}

std::string Checkpoint::ToText() const {
  std::string out = origin + "\n" + std::to_string(size) + "\n" +
                    Base64Encode(ByteView(root.data(), root.size())) + "\n";
  for (const std::string& e : extensions) out += e + "\n";
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  CUSTODIAN_RETURN_IF_ERROR(CheckText(text, "checkpoint"));
  if (text.empty() || text.back() != '\n') {
    return Status::InvalidInput("checkpoint: must end in a newline");
  }
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) {
    return Status::InvalidInput("checkpoint: needs origin, size and root hash lines, got " +
                                std::to_string(lines.size()) + " lines");
  }
  Checkpoint cp;
  if (lines[0].empty()) return Status::InvalidInput("checkpoint, line 1: empty origin");
  cp.origin = std::string(lines[0]);

  std::string_view size = lines[1];
  bool digits = !size.empty() &&
                std::all_of(size.begin(), size.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    return Status::InvalidInput("checkpoint, line 2: tree size \"" + std::string(size) +
                                "\" is not a decimal number");
  }
  if (size.size() > 1 && size[0] == '0') {
    return Status::InvalidInput("checkpoint, line 2: tree size \"" + std::string(size) +
                                "\" has a leading zero");
  }
  for (char c : size) {
    uint64_t d = uint64_t(c - '0');
    if (cp.size > (UINT64_MAX - d) / 10) {
      return Status::InvalidInput("checkpoint, line 2: tree size \"" + std::string(size) +
                                  "\" is out of range");
    }
    cp.size = cp.size * 10 + d;
  }

  Result<Hash> root = FixedFromBytes<32>(Base64Decode(lines[2]), "checkpoint, line 3: root hash");
  if (!root.ok()) return root.status();
  cp.root = *root;

  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return Status::InvalidInput("checkpoint, line " + std::to_string(i + 1) +
                                  ": empty extension line");
    }
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp_s) {
  std::string out = "cosignature/v1\ntime " + std::to_string(timestamp_s) + "\n";
  out += checkpoint_text;
  return out;
}

NoteSignature Cosign(std::string_view checkpoint_text, std::string_view witness_name,
                     const SigningKey& witness_key, uint64_t timestamp_s) {
  NoteSignature out;
  out.name = std::string(witness_name);
  out.key_hash = KeyHash(witness_name, kNoteKeyCosignatureV1, witness_key.public_key());
  Signature sig = witness_key.Sign(AsBytes(CosignatureMessage(checkpoint_text, timestamp_s)));
  out.signature.resize(8);
  PutU64(out.signature.data(), timestamp_s);
  out.signature.insert(out.signature.end(), sig.begin(), sig.end());
  return out;
}

Status VerifyCosignature(const Note& note, const VerifierKey& witness, uint64_t* time_s) {
  std::string id = KeyId(witness.name, witness.key_hash);
  if (witness.type != kNoteKeyCosignatureV1) {
    return Status::InvalidInput("witness " + id + " is not a cosignature/v1 key (type 0x04)");
  }
  std::vector<const NoteSignature*> sigs = SignaturesBy(note, witness);
  if (sigs.empty()) return Status::FailedCheck("checkpoint: no cosignature by " + id);
  uint64_t latest = 0;
  for (const NoteSignature* s : sigs) {
    if (s->signature.size() != 8 + Signature{}.size()) {
      return Status::FailedCheck("checkpoint: cosignature by " + id + " is " +
                                 std::to_string(s->signature.size()) +
                                 " bytes, expected 72 (timestamp and signature)");
    }
    uint64_t t = GetU64(s->signature.data());
    if (t > kMaxTimestamp) {
      return Status::FailedCheck("checkpoint: cosignature by " + id + " has timestamp " +
                                 std::to_string(t) + " beyond 2^63-1");
    }
    Signature sig;
    std::copy(s->signature.begin() + 8, s->signature.end(), sig.begin());
    if (!VerifySignature(witness.key, AsBytes(CosignatureMessage(note.text, t)), sig)) {
      return Status::FailedCheck("checkpoint: cosignature by " + id + " (time " +
                                 std::to_string(t) + ") is invalid");
    }
    latest = std::max(latest, t);
  }
  if (time_s != nullptr) *time_s = latest;
  return Status::Ok();
}

}  // namespace custodian::tlog
