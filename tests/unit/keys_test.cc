// Keys: key files (mode 0600, no overwrite, strict loading), Ed25519 against RFC 8032, and the
// strictness of the hex and base64 codecs the key formats rely on.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/file.h"
#include "core/key_file.h"

namespace custodian {
namespace {

// A fresh directory per test, removed afterwards.
class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "custodian_keys_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes a file with exactly `mode`.
  void Write(const std::string& path, const std::string& content, mode_t mode = 0600) {
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << content;
    }
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  std::string dir_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string Slurp(const std::string& path) {
  auto r = ReadFile(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

// Restores the process umask when it goes out of scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

const std::string kSeed1Base64 = Base64Encode(Bytes(32, 0x01));

TEST_F(KeyFileTest, GenerateWritesMode0600EvenWithUmaskZero) {
  ScopedUmask mask(0);
  auto key = GenerateKeyFile(Path("node.key"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(ModeOf(Path("node.key")), 0600u);
}

TEST_F(KeyFileTest, GenerateWritesMode0600EvenWithStrictUmask) {
  ScopedUmask mask(0777);
  auto key = GenerateKeyFile(Path("node.key"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(ModeOf(Path("node.key")), 0600u);
}

TEST_F(KeyFileTest, GenerateRefusesToOverwriteAndLeavesTheFileUntouched) {
  const std::string path = Path("existing.key");
  const std::string original = "# precious\ncustodian-ed25519-v1 " + kSeed1Base64 + "\n";
  Write(path, original, 0600);
  auto key = GenerateKeyFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("already exists"), std::string::npos)
      << key.status().message();
  EXPECT_EQ(Slurp(path), original);
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST_F(KeyFileTest, GenerateThenLoadRoundTrips) {
  auto generated = GenerateKeyFile(Path("node.key"));
  ASSERT_TRUE(generated.ok()) << generated.status().ToString();
  auto loaded = LoadKeyFile(Path("node.key"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key(), generated->public_key());
  EXPECT_EQ(loaded->Seed(), generated->Seed());
  const std::string msg = "custodian round trip";
  Signature sig = loaded->Sign(AsBytes(msg));
  EXPECT_TRUE(VerifySignature(generated->public_key(), AsBytes(msg), sig));
  EXPECT_FALSE(VerifySignature(generated->public_key(), AsBytes("other message"), sig));
}

TEST_F(KeyFileTest, TwoGeneratedKeysDiffer) {
  auto a = GenerateKeyFile(Path("a.key"));
  auto b = GenerateKeyFile(Path("b.key"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->public_key(), b->public_key());
}

TEST_F(KeyFileTest, GeneratedFileHasTheDocumentedFormat) {
  auto key = GenerateKeyFile(Path("node.key"));
  ASSERT_TRUE(key.ok());
  std::string content = Slurp(Path("node.key"));
  std::string expected_line = "custodian-ed25519-v1 " + Base64Encode(key->Seed()) + "\n";
  ASSERT_GE(content.size(), expected_line.size());
  EXPECT_EQ(content.substr(content.size() - expected_line.size()), expected_line);
}

TEST_F(KeyFileTest, LoadsHandWrittenFileWithComments) {
  Write(Path("k"), "# comment\n\n# another\ncustodian-ed25519-v1 " + kSeed1Base64 + "\n");
  auto loaded = LoadKeyFile(Path("k"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto expected = SigningKey::FromSeed(Bytes(32, 0x01));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(loaded->public_key(), expected->public_key());
}

TEST_F(KeyFileTest, LoadsMode0400) {
  Write(Path("k"), "custodian-ed25519-v1 " + kSeed1Base64 + "\n", 0400);
  EXPECT_TRUE(LoadKeyFile(Path("k")).ok());
}

TEST_F(KeyFileTest, RefusesGroupOrWorldAccessibleFilesSayingHowToFix) {
  for (mode_t mode : {0640, 0604, 0644, 0660, 0606, 0620, 0602, 0610, 0601}) {
    const std::string path = Path("k" + std::to_string(mode));
    Write(path, "custodian-ed25519-v1 " + kSeed1Base64 + "\n", mode);
    auto loaded = LoadKeyFile(path);
    ASSERT_FALSE(loaded.ok()) << std::oct << mode;
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(loaded.status().message().find("chmod 600"), std::string::npos)
        << loaded.status().message();
    EXPECT_NE(loaded.status().message().find(path), std::string::npos) << loaded.status().message();
  }
}

TEST_F(KeyFileTest, MissingFileIsAnIoErrorNamingThePath) {
  auto loaded = LoadKeyFile(Path("absent.key"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kIoError);
  EXPECT_NE(loaded.status().message().find("absent.key"), std::string::npos);
}

TEST_F(KeyFileTest, DirectoryIsNotAKeyFile) {
  ASSERT_EQ(::mkdir(Path("d").c_str(), 0700), 0);
  auto loaded = LoadKeyFile(Path("d"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("not a file"), std::string::npos)
      << loaded.status().message();
}

struct Malformed {
  const char* name;
  std::string content;
  const char* message_part;
};

TEST_F(KeyFileTest, RefusesMalformedFilesWithClearMessages) {
  const Malformed cases[] = {
      {"empty", "", "no 'custodian-ed25519-v1' line"},
      {"only comments", "# nothing here\n", "no 'custodian-ed25519-v1' line"},
      {"wrong tag", "custodian-ed448-v1 " + kSeed1Base64 + "\n", "expected 'custodian-ed25519-v1"},
      {"tag without space", "custodian-ed25519-v1" + kSeed1Base64 + "\n",
       "expected 'custodian-ed25519-v1"},
      {"bad base64", "custodian-ed25519-v1 not*base64!\n", "seed must be 32 bytes of base64"},
      {"missing padding",
       "custodian-ed25519-v1 " + kSeed1Base64.substr(0, kSeed1Base64.size() - 1) + "\n",
       "seed must be 32 bytes of base64"},
      {"short seed", "custodian-ed25519-v1 " + Base64Encode(Bytes(31, 1)) + "\n",
       "seed must be 32 bytes of base64"},
      {"long seed", "custodian-ed25519-v1 " + Base64Encode(Bytes(64, 1)) + "\n",
       "seed must be 32 bytes of base64"},
      {"trailing space", "custodian-ed25519-v1 " + kSeed1Base64 + " \n",
       "seed must be 32 bytes of base64"},
  };
  for (const auto& c : cases) {
    const std::string path = Path("malformed");
    ::unlink(path.c_str());
    Write(path, c.content);
    auto loaded = LoadKeyFile(path);
    ASSERT_FALSE(loaded.ok()) << c.name;
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidInput) << c.name;
    EXPECT_NE(loaded.status().message().find(c.message_part), std::string::npos)
        << c.name << ": " << loaded.status().message();
    EXPECT_NE(loaded.status().message().find(path), std::string::npos)
        << c.name << ": " << loaded.status().message();
  }
}

TEST_F(KeyFileTest, RefusesHugeFiles) {
  Write(Path("big"), std::string(1 << 20, '#'));
  EXPECT_FALSE(LoadKeyFile(Path("big")).ok());
}

// RFC 8032 §7.1, TEST 1 (empty message).
TEST(Ed25519, Rfc8032Test1) {
  auto seed = HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  ASSERT_TRUE(seed.ok());
  auto key = SigningKey::FromSeed(*seed);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(HexEncode(key->public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Signature sig = key->Sign(ByteView());
  EXPECT_EQ(
      HexEncode(sig),
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
      "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifySignature(key->public_key(), ByteView(), sig));
  EXPECT_EQ(HexEncode(key->Seed()), HexEncode(*seed));
}

// RFC 8032 §7.1, TEST 2 (one-byte message 0x72).
TEST(Ed25519, Rfc8032Test2) {
  auto seed = HexDecode("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  ASSERT_TRUE(seed.ok());
  auto key = SigningKey::FromSeed(*seed);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexEncode(key->public_key()),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const uint8_t msg[] = {0x72};
  Signature sig = key->Sign(msg);
  EXPECT_EQ(
      HexEncode(sig),
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
      "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_TRUE(VerifySignature(key->public_key(), msg, sig));
}

TEST(Ed25519, VerifyRejectsAnyChange) {
  auto key = SigningKey::FromSeed(Bytes(32, 0x07));
  ASSERT_TRUE(key.ok());
  const std::string msg = "location proof";
  Signature sig = key->Sign(AsBytes(msg));
  ASSERT_TRUE(VerifySignature(key->public_key(), AsBytes(msg), sig));
  for (size_t i = 0; i < sig.size(); ++i) {
    Signature bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifySignature(key->public_key(), AsBytes(msg), bad)) << "byte " << i;
  }
  PublicKey other = key->public_key();
  other[0] ^= 0x01;
  EXPECT_FALSE(VerifySignature(other, AsBytes(msg), sig));
  EXPECT_FALSE(VerifySignature(key->public_key(), AsBytes("location prooF"), sig));
}

TEST(Ed25519, FromSeedRejectsWrongLength) {
  for (size_t n : {0, 16, 31, 33, 64}) {
    auto key = SigningKey::FromSeed(Bytes(n, 1));
    ASSERT_FALSE(key.ok()) << n;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(key.status().message().find("32 bytes"), std::string::npos);
  }
}

TEST(Ed25519, ParsePublicKeyBase64) {
  auto key = SigningKey::FromSeed(Bytes(32, 0x02));
  ASSERT_TRUE(key.ok());
  auto parsed = ParsePublicKeyBase64(Base64Encode(key->public_key()));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, key->public_key());
  auto short_key = ParsePublicKeyBase64(Base64Encode(Bytes(31, 0)));
  ASSERT_FALSE(short_key.ok());
  EXPECT_NE(short_key.status().message().find("public key"), std::string::npos);
  EXPECT_NE(short_key.status().message().find("expected 32 bytes, got 31"), std::string::npos)
      << short_key.status().message();
  EXPECT_FALSE(ParsePublicKeyBase64("not base64").ok());
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256(ByteView())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  EXPECT_EQ(h.Finish(), Sha256(AsBytes("abc")));
}

TEST(Hex, RoundTripAndCase) {
  const Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  auto lower = HexDecode("0001abff");
  auto upper = HexDecode("0001ABFF");
  ASSERT_TRUE(lower.ok() && upper.ok());
  EXPECT_EQ(*lower, b);
  EXPECT_EQ(*upper, b);
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Hex, Strict) {
  for (const char* bad : {"0", "abc", "zz", "0g", "00 ", " 00", "0x00", "00:11", "-1", "+1"}) {
    auto r = HexDecode(bad);
    EXPECT_FALSE(r.ok()) << '"' << bad << '"';
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    }
  }
  auto odd = HexDecode("abc");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("odd"), std::string::npos);
}

TEST(Base64, Rfc4648TestVectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
  // Standard alphabet, not URL-safe.
  EXPECT_EQ(Base64Encode(Bytes{0xfb, 0xff}), "+/8=");
}

TEST(Base64, Strict) {
  const char* bad[] = {
      "Zg",        // missing padding
      "Zg=",       // short padding
      "Zm8",       // missing padding
      "Zg===",     // too much padding
      "Zm9v\n",    // whitespace
      " Zm9v",     // whitespace
      "Zm 9v",     // whitespace
      "Zm9v*A==",  // character outside the alphabet
      "-_8=",      // URL-safe alphabet
      "Zh==",      // non-zero padding bits (non-canonical)
      "Z===",      // impossible length
      "Zg==Zg==",  // data after padding
  };
  for (const char* b : bad) {
    auto r = Base64Decode(b);
    EXPECT_FALSE(r.ok()) << '"' << b << '"';
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    }
  }
}

TEST(FixedFromBytes, NamesTheFieldAndSizes) {
  auto ok = FixedFromBytes<2>(HexDecode("abcd"), "thing");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0], 0xab);
  auto wrong = FixedFromBytes<3>(HexDecode("abcd"), "thing");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "thing: expected 3 bytes, got 2");
  auto bad = FixedFromBytes<2>(HexDecode("zz"), "thing");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("thing: ", 0), 0u) << bad.status().message();
}

}  // namespace
}  // namespace custodian
