// Signed notes, verifier keys, checkpoints and cosignatures against published examples: the
// golang.org/x/mod/sumdb/note package documentation (PeterNeumann key and note), the C2SP
// tlog-checkpoint and tlog-cosignature specifications, and transparency-dev/formats
// (note/note_cosigv1_test.go); plus round trips and malformed input.
#include "tlog/note.h"

#include <gtest/gtest.h>

#include <string>

namespace custodian::tlog {
namespace {

// golang.org/x/mod/sumdb/note, package documentation ("Example").
constexpr const char* kGoSkey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr const char* kGoVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr const char* kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr const char* kGoSignedNote =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
// The same note after EnochRoot (a key not published) added its signature.
constexpr const char* kGoDoublySigned =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// C2SP tlog-checkpoint / tlog-cosignature: the example checkpoint, and the cosigned message the
// tlog-cosignature spec gives for it at time 1679315147.
constexpr const char* kSpecCheckpoint =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr const char* kSpecCosignedMessage =
    "cosignature/v1\n"
    "time 1679315147\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
// The spec's example note with the log's signature and a witness cosignature.
constexpr const char* kSpecCosignedNote =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/"
    "zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkB"
    "IfZ+qnA==\n";

SigningKey GoKey() {
  // The skey's base64 part (after the fourth "+"; it contains "+" itself) is the algorithm byte
  // 0x01 followed by the Ed25519 seed.
  std::string_view skey = kGoSkey;
  constexpr std::string_view kPrefix = "PRIVATE+KEY+PeterNeumann+c74f20a3+";
  EXPECT_TRUE(skey.starts_with(kPrefix));
  Result<Bytes> decoded = Base64Decode(skey.substr(kPrefix.size()));
  EXPECT_TRUE(decoded.ok());
  Bytes raw = decoded.ok() ? *decoded : Bytes(33, 0);
  EXPECT_EQ(raw.size(), 33u);
  EXPECT_EQ(raw[0], kNoteKeyEd25519);
  return SigningKey::FromSeed(ByteView(raw).subspan(1)).value();
}

SigningKey KeyFromByte(uint8_t b) {
  return SigningKey::FromSeed(Bytes(32, b)).value();
}

std::string Message(const Status& s) {
  return s.ok() ? "OK" : s.message();
}

TEST(TlogNoteTest, GoDocumentationVerifierKey) {
  Result<VerifierKey> v = ParseVerifierKey(kGoVkey);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->name, "PeterNeumann");
  EXPECT_EQ(v->type, kNoteKeyEd25519);
  EXPECT_EQ(v->key_hash, 0xc74f20a3u);
  EXPECT_EQ(KeyHash("PeterNeumann", kNoteKeyEd25519, v->key), 0xc74f20a3u);
  EXPECT_EQ(v->ToString(), kGoVkey);
  // The published private key derives the published public key.
  SigningKey key = GoKey();
  EXPECT_EQ(key.public_key(), v->key);
  EXPECT_EQ(MakeVerifierKey("PeterNeumann", kNoteKeyEd25519, key.public_key()).ToString(), kGoVkey);
}

TEST(TlogNoteTest, GoDocumentationSignedNote) {
  VerifierKey v = ParseVerifierKey(kGoVkey).value();
  Result<Note> note = ParseNote(kGoSignedNote);
  ASSERT_TRUE(note.ok()) << note.status().message();
  EXPECT_EQ(note->text, kGoText);
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "PeterNeumann");
  EXPECT_EQ(note->signatures[0].key_hash, 0xc74f20a3u);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
  EXPECT_TRUE(VerifyNote(*note, v).ok()) << Message(VerifyNote(*note, v));
  EXPECT_EQ(FormatNote(*note), kGoSignedNote);

  // Ed25519 is deterministic: signing the text with the published key gives the published note.
  Note fresh;
  fresh.text = kGoText;
  SignNote(fresh, "PeterNeumann", GoKey());
  EXPECT_EQ(FormatNote(fresh), kGoSignedNote);

  // With EnochRoot's (unknown) signature added, PeterNeumann's still verifies.
  Result<Note> doubly = ParseNote(kGoDoublySigned);
  ASSERT_TRUE(doubly.ok()) << doubly.status().message();
  ASSERT_EQ(doubly->signatures.size(), 2u);
  EXPECT_EQ(doubly->signatures[1].name, "EnochRoot");
  EXPECT_TRUE(VerifyNote(*doubly, v).ok());
  EXPECT_EQ(FormatNote(*doubly), kGoDoublySigned);
}

TEST(TlogNoteTest, PublishedVerifierKeys) {
  // transparency-dev/formats note/note_cosigv1_test.go, TestCoSigV1NewVerifier.
  Result<VerifierKey> v =
      ParseVerifierKey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6");
  ASSERT_TRUE(v.ok()) << v.status().message();  // note the "+" inside the base64
  EXPECT_EQ(v->type, kNoteKeyEd25519);
  EXPECT_EQ(KeyHash("TEST", kNoteKeyEd25519, v->key), 0x7997405cu);
  v = ParseVerifierKey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->type, kNoteKeyCosignatureV1);
  EXPECT_EQ(v->name, "remora.n621.de");
  EXPECT_EQ(KeyHash("remora.n621.de", kNoteKeyCosignatureV1, v->key), 0xda77ade7u);
  EXPECT_EQ(v->ToString(), "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");

  // The same source's invalid keys, and a few more.
  const char* const kKeyMaterial = "AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6";
  struct Bad {
    std::string vkey;
    std::string why;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"bananas.sigstore.dev+12344556", "expected <name>+<key hash>+<key>"},
           {"rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!", "vkey: key"},
           {"rekor.sigstore.dev+12345678+AwEB", "unsupported key type 0x03"},
           {std::string("rekor.sigstore.dev+NOT_A_NUMBER+") + kKeyMaterial, "8 hex digits"},
           {std::string("TEST+00000000+") + kKeyMaterial, "does not match the key"},
           {std::string("TEST+7997405+") + kKeyMaterial, "8 hex digits"},
           {std::string("+7997405c+") + kKeyMaterial, "invalid key name"},
           {"TEST+7997405c+AQcC", "must be 32 bytes"},
           {"TEST+7997405c+", "empty key"},
       }) {
    Result<VerifierKey> r = ParseVerifierKey(bad.vkey);
    ASSERT_FALSE(r.ok()) << bad.vkey;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << bad.vkey;
    EXPECT_NE(r.status().message().find(bad.why), std::string::npos)
        << bad.vkey << ": " << r.status().message();
  }
}

TEST(TlogNoteTest, SignVerifyRoundTripAndTampering) {
  SigningKey key = KeyFromByte(7);
  VerifierKey v = MakeVerifierKey("custodian.example/log", kNoteKeyEd25519, key.public_key());
  Note note;
  note.text = "custodian.example/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  SignNote(note, v.name, key);
  SignNote(note, v.name, key);  // re-signing replaces, never duplicates
  ASSERT_EQ(note.signatures.size(), 1u);
  std::string text = FormatNote(note);
  Result<Note> parsed = ParseNote(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(VerifyNote(*parsed, v).ok());
  EXPECT_TRUE(ParseVerifierKey(v.ToString()).ok());

  // Tampered text.
  Note tampered = *parsed;
  tampered.text[22] = '3';
  Status s = VerifyNote(tampered, v);
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
  EXPECT_NE(s.message().find("invalid"), std::string::npos) << s.message();
  // Tampered signature.
  tampered = *parsed;
  tampered.signatures[0].signature[10] ^= 1;
  EXPECT_EQ(VerifyNote(tampered, v).code(), StatusCode::kFailedCheck);
  tampered.signatures[0].signature.pop_back();
  EXPECT_EQ(VerifyNote(tampered, v).code(), StatusCode::kFailedCheck);
  // A valid signature followed by a bad one from the same key: the note is rejected.
  tampered = *parsed;
  tampered.signatures.push_back(tampered.signatures[0]);
  tampered.signatures[1].signature[0] ^= 1;
  EXPECT_EQ(VerifyNote(tampered, v).code(), StatusCode::kFailedCheck);
  // Unknown key: same name, other key; or same key, other name.
  VerifierKey other = MakeVerifierKey(v.name, kNoteKeyEd25519, KeyFromByte(8).public_key());
  s = VerifyNote(*parsed, other);
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
  EXPECT_NE(s.message().find("no signature"), std::string::npos) << s.message();
  EXPECT_EQ(VerifyNote(*parsed, MakeVerifierKey("other.example", kNoteKeyEd25519, v.key)).code(),
            StatusCode::kFailedCheck);
  // A key with the right name and hash but another public key (a forged key ID) fails.
  VerifierKey forged = v;
  forged.key = KeyFromByte(9).public_key();
  EXPECT_EQ(VerifyNote(*parsed, forged).code(), StatusCode::kFailedCheck);
  // A cosignature key cannot verify note signatures.
  EXPECT_EQ(VerifyNote(*parsed, MakeVerifierKey(v.name, kNoteKeyCosignatureV1, v.key)).code(),
            StatusCode::kInvalidInput);
}

TEST(TlogNoteTest, NoteTextMayContainBlankLines) {
  SigningKey key = KeyFromByte(3);
  Note note;
  note.text = "first\n\nthird\n";
  SignNote(note, "k", key);
  Result<Note> parsed = ParseNote(FormatNote(note));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->text, "first\n\nthird\n");
  EXPECT_TRUE(VerifyNote(*parsed, MakeVerifierKey("k", kNoteKeyEd25519, key.public_key())).ok());
}

TEST(TlogNoteTest, MalformedNotesAreRejectedWithTheLine) {
  const std::string sig =
      "— PeterNeumann "
      "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
      "otpRZb6KE6RyyBwJnAM=\n";
  struct Bad {
    std::string note;
    std::string why;
  };
  for (const Bad& bad : std::vector<Bad>{
           {std::string(kGoText) + sig, "no blank line"},
           {"", "no blank line"},
           {std::string(kGoText) + "\n", "no signature lines"},
           {std::string(kGoText) + "\n" + sig.substr(0, sig.size() - 1),
            "does not end in a newline"},
           {std::string(kGoText) + "\n- PeterNeumann abcd\n",
            "line 4: a signature line must start"},
           // En dash U+2013 instead of the em dash.
           {std::string(kGoText) + "\n\xE2\x80\x93 PeterNeumann abcd\n",
            "line 4: a signature line"},
           {std::string(kGoText) + "\n—PeterNeumann abcd\n", "line 4: a signature line"},
           {std::string(kGoText) + "\n" + sig + "— x\n", "line 5: no space"},
           {std::string(kGoText) + "\n—  x08go/ZJk=\n", "invalid key name \"\""},
           {std::string(kGoText) + "\n— Peter+Neumann x08go/ZJk=\n", "invalid key name"},
           // NO-BREAK SPACE U+00A0 inside the name.
           {std::string(kGoText) + "\n— Peter\xC2\xA0Neumann x08go/ZJk=\n", "invalid key name"},
           {std::string(kGoText) + "\n— PeterNeumann x08go/ZJk\n", "line 4: signature"},
           {std::string(kGoText) + "\n— PeterNeumann x08go/ZJk= \n", "line 4: signature"},
           {std::string(kGoText) + "\n— PeterNeumann x08gow==\n", "too short"},
           // Not UTF-8: a stray continuation byte, an overlong "/", a UTF-16 surrogate.
           {"bad \x80 byte\n\n" + sig, "line 1: invalid UTF-8"},
           {"ok\nover\xC0\xAFlong\n\n" + sig, "line 2: invalid UTF-8"},
           {"surrogate \xED\xA0\x80\n\n" + sig, "line 1: invalid UTF-8"},
           {"truncated \xE2\x80\n\n" + sig, "line 1: invalid UTF-8"},
           // Control characters other than newline.
           {"tab\there\n\n" + sig, "line 1: control character 0x09"},
           {"cr\r\n\n" + sig, "line 1: control character 0x0d"},
           {"a\nb\nnul\x01\n\n" + sig, "line 3: control character 0x01"},
           {std::string(kGoText) + "\n" + sig.substr(0, sig.size() - 1) + "\r\n", "control"},
       }) {
    Result<Note> r = ParseNote(bad.note);
    ASSERT_FALSE(r.ok()) << bad.note;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << bad.note;
    EXPECT_NE(r.status().message().find(bad.why), std::string::npos)
        << bad.why << " / " << r.status().message();
  }
  // Too many signatures.
  std::string many = kGoText;
  many += "\n";
  for (int i = 0; i < 101; ++i) many += sig;
  EXPECT_NE(ParseNote(many).status().message().find("more than 100"), std::string::npos);
}

TEST(TlogNoteTest, KeyNames) {
  EXPECT_TRUE(ValidKeyName("example.com/log42"));
  EXPECT_TRUE(ValidKeyName("PeterNeumann"));
  EXPECT_TRUE(ValidKeyName("\xC3\xA9t\xC3\xA9"));  // UTF-8 letters
  EXPECT_FALSE(ValidKeyName(""));
  EXPECT_FALSE(ValidKeyName("a+b"));
  EXPECT_FALSE(ValidKeyName("a b"));
  EXPECT_FALSE(ValidKeyName("a\tb"));
  EXPECT_FALSE(ValidKeyName("a\nb"));
  EXPECT_FALSE(
      ValidKeyName("a\xE3\x80\x80"
                   "b"));  // IDEOGRAPHIC SPACE U+3000
  EXPECT_FALSE(
      ValidKeyName("a\xE2\x80\x89"
                   "b"));  // THIN SPACE U+2009
  EXPECT_FALSE(
      ValidKeyName("a\x01"
                   "b"));
  EXPECT_FALSE(
      ValidKeyName("a\xFF"
                   "b"));
}

TEST(TlogNoteTest, CheckpointParseAndFormat) {
  Result<Checkpoint> cp = ParseCheckpoint(kSpecCheckpoint);
  ASSERT_TRUE(cp.ok()) << cp.status().message();
  EXPECT_EQ(cp->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(cp->size, 20852163u);
  EXPECT_EQ(Base64Encode(cp->root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(cp->extensions.empty());
  EXPECT_EQ(cp->ToText(), kSpecCheckpoint);

  std::string with_ext = std::string(kSpecCheckpoint) + "ext one\next two\n";
  cp = ParseCheckpoint(with_ext);
  ASSERT_TRUE(cp.ok()) << cp.status().message();
  EXPECT_EQ(cp->extensions, (std::vector<std::string>{"ext one", "ext two"}));
  EXPECT_EQ(cp->ToText(), with_ext);

  Checkpoint empty{"log.example", 0, EmptyTreeRoot(), {}};
  cp = ParseCheckpoint(empty.ToText());
  ASSERT_TRUE(cp.ok()) << cp.status().message();
  EXPECT_EQ(cp->size, 0u);
  EXPECT_EQ(cp->root, EmptyTreeRoot());
  cp = ParseCheckpoint("l\n18446744073709551615\n" + Base64Encode(EmptyTreeRoot()) + "\n");
  ASSERT_TRUE(cp.ok()) << cp.status().message();
  EXPECT_EQ(cp->size, UINT64_MAX);

  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  struct Bad {
    std::string text;
    std::string why;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"o\n020852163\n" + root + "\n", "line 2: tree size \"020852163\" has a leading zero"},
           {"o\n00\n" + root + "\n", "leading zero"},
           {"o\n-1\n" + root + "\n", "not a decimal number"},
           {"o\n+5\n" + root + "\n", "not a decimal number"},
           {"o\n 5\n" + root + "\n", "not a decimal number"},
           {"o\n\n" + root + "\n", "not a decimal number"},
           {"o\n0x10\n" + root + "\n", "not a decimal number"},
           {"o\n18446744073709551616\n" + root + "\n", "out of range"},
           // 31 and 33 bytes.
           {"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n", "line 3: root hash"},
           {"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA\n", "line 3: root hash"},
           {"o\n5\nnot base64\n", "line 3: root hash"},
           {"o\n5\n" + root, "must end in a newline"},
           {"o\n5\n", "got 2 lines"},
           {"\n5\n" + root + "\n", "line 1: empty origin"},
           {"o\n5\n" + root + "\n\n", "line 4: empty extension line"},
           {"o\r\n5\n" + root + "\n", "control character"},
       }) {
    Result<Checkpoint> r = ParseCheckpoint(bad.text);
    ASSERT_FALSE(r.ok()) << bad.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << bad.text;
    EXPECT_NE(r.status().message().find(bad.why), std::string::npos)
        << bad.why << " / " << r.status().message();
  }
}

TEST(TlogNoteTest, CosignatureLayoutMatchesTheSpec) {
  EXPECT_EQ(CosignatureMessage(kSpecCheckpoint, 1679315147), kSpecCosignedMessage);

  // The spec's cosignature line: key ID, then the timestamp 1679315147 (big-endian) that its
  // signed-message example shows, then 64 signature bytes.
  Result<Note> note = ParseNote(kSpecCosignedNote);
  ASSERT_TRUE(note.ok()) << note.status().message();
  EXPECT_EQ(note->text, kSpecCheckpoint);
  ASSERT_EQ(note->signatures.size(), 2u);
  const NoteSignature& w = note->signatures[1];
  EXPECT_EQ(w.name, "witness.example.com/w1");
  ASSERT_EQ(w.signature.size(), 72u);
  EXPECT_EQ(GetU64(w.signature.data()), 1679315147u);
  EXPECT_EQ(FormatNote(*note), kSpecCosignedNote);
  // Cosign writes the timestamp the same way.
  NoteSignature ours =
      Cosign(kSpecCheckpoint, "witness.example.com/w1", KeyFromByte(1), 1679315147);
  ASSERT_EQ(ours.signature.size(), 72u);
  EXPECT_TRUE(std::equal(ours.signature.begin(), ours.signature.begin() + 8, w.signature.begin()));

  // transparency-dev/formats note_cosigv1_test.go, TestCoSigV1Timestamp: time 1727964367.
  Result<Note> other = ParseNote(
      std::string(kSpecCheckpoint) +
      "\n— w "
      "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFi"
      "EBYJXORmnFBOBA==\n");
  ASSERT_TRUE(other.ok()) << other.status().message();
  ASSERT_EQ(other->signatures[0].signature.size(), 72u);
  EXPECT_EQ(GetU64(other->signatures[0].signature.data()), 1727964367u);
}

TEST(TlogNoteTest, CosignatureRoundTripAndRejection) {
  SigningKey log_key = KeyFromByte(1);
  SigningKey witness_key = KeyFromByte(2);
  VerifierKey log_v = MakeVerifierKey("log.example", kNoteKeyEd25519, log_key.public_key());
  VerifierKey witness_v =
      MakeVerifierKey("witness.example/w1", kNoteKeyCosignatureV1, witness_key.public_key());
  // The key ID commits to the signature type: the same key and name differ between types.
  EXPECT_NE(witness_v.key_hash,
            KeyHash("witness.example/w1", kNoteKeyEd25519, witness_key.public_key()));
  ASSERT_TRUE(ParseVerifierKey(witness_v.ToString()).ok());
  EXPECT_EQ(ParseVerifierKey(witness_v.ToString())->type, kNoteKeyCosignatureV1);

  Checkpoint cp{"log.example", 12, LeafHash(AsBytes("x")), {}};
  Note note;
  note.text = cp.ToText();
  SignNote(note, log_v.name, log_key);
  note.signatures.push_back(Cosign(note.text, witness_v.name, witness_key, 1700000000));
  Result<Note> parsed = ParseNote(FormatNote(note));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  uint64_t t = 0;
  Status s = VerifyCosignature(*parsed, witness_v, &t);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(t, 1700000000u);
  EXPECT_TRUE(VerifyNote(*parsed, log_v).ok());
  // The verifier checks exactly the message of the spec.
  Signature raw;
  std::copy(parsed->signatures[1].signature.begin() + 8, parsed->signatures[1].signature.end(),
            raw.begin());
  EXPECT_TRUE(VerifySignature(witness_key.public_key(),
                              AsBytes(CosignatureMessage(cp.ToText(), 1700000000)), raw));

  // A changed timestamp.
  Note bad = *parsed;
  PutU64(bad.signatures[1].signature.data(), 1700000001);
  s = VerifyCosignature(bad, witness_v);
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
  EXPECT_NE(s.message().find("invalid"), std::string::npos) << s.message();
  // A timestamp beyond 2^63 - 1.
  PutU64(bad.signatures[1].signature.data(), uint64_t{1} << 63);
  s = VerifyCosignature(bad, witness_v);
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
  EXPECT_NE(s.message().find("2^63"), std::string::npos) << s.message();
  // Changed text: another size, or an extension line.
  bad = *parsed;
  bad.text = Checkpoint{"log.example", 13, cp.root, {}}.ToText();
  EXPECT_EQ(VerifyCosignature(bad, witness_v).code(), StatusCode::kFailedCheck);
  bad.text = Checkpoint{"log.example", 12, cp.root, {"ext"}}.ToText();
  EXPECT_EQ(VerifyCosignature(bad, witness_v).code(), StatusCode::kFailedCheck);
  // Wrong length.
  bad = *parsed;
  bad.signatures[1].signature.resize(64);
  EXPECT_NE(VerifyCosignature(bad, witness_v).message().find("expected 72"), std::string::npos);
  // Missing, or by another witness.
  bad = *parsed;
  bad.signatures.pop_back();
  s = VerifyCosignature(bad, witness_v);
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
  EXPECT_NE(s.message().find("no cosignature"), std::string::npos) << s.message();
  VerifierKey stranger =
      MakeVerifierKey("witness.example/w1", kNoteKeyCosignatureV1, KeyFromByte(5).public_key());
  EXPECT_EQ(VerifyCosignature(*parsed, stranger).code(), StatusCode::kFailedCheck);
  // A plain note signature is not a cosignature, and a note key cannot check cosignatures.
  EXPECT_EQ(VerifyCosignature(*parsed, log_v).code(), StatusCode::kInvalidInput);
  VerifierKey as_cosigner = MakeVerifierKey(log_v.name, kNoteKeyCosignatureV1, log_v.key);
  EXPECT_EQ(VerifyCosignature(*parsed, as_cosigner).code(), StatusCode::kFailedCheck);
}

}  // namespace
}  // namespace custodian::tlog
