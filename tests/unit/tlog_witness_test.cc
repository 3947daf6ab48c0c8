// The witness (tlog/witness.h) against C2SP tlog-witness: a log key and a tree built here with
// merkle.h and note.h, add-checkpoint bodies made by hand, every answer the spec defines, and
// the state file (persisted before answering, 0600, surviving a restart).
#include "tlog/witness.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/file.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

namespace custodian::tlog {
namespace {

constexpr const char* kOrigin = "custodian.test/log";
constexpr uint64_t kNow = 1'700'000'000;

// A log of `n` entries "entry <i>" (or `salt` + i, to make a fork).
struct TestTree {
  std::vector<Hash> leaves;
  explicit TestTree(uint64_t n, const std::string& salt = "entry ") {
    for (uint64_t i = 0; i < n; ++i) leaves.push_back(LeafHash(AsBytes(salt + std::to_string(i))));
  }
  HashReader Reader() const {
    return [this](int level, uint64_t index) -> Result<Hash> {
      uint64_t begin = index << level, end = (index + 1) << level;
      if (end > leaves.size()) return Status::NotFound("beyond the tree");
      return RootFromLeafHashes(
          std::vector<Hash>(leaves.begin() + long(begin), leaves.begin() + long(end)));
    };
  }
  Hash Root(uint64_t size) const {
    return RootFromLeafHashes(std::vector<Hash>(leaves.begin(), leaves.begin() + long(size)));
  }
  std::vector<Hash> Proof(uint64_t from, uint64_t to) const {
    auto p = ConsistencyProof(Reader(), from, to);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : std::vector<Hash>{};
  }
};

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/custodian-witness-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    log_key_ = std::make_unique<SigningKey>(SigningKey::Generate());
    witness_key_ = std::make_shared<const SigningKey>(SigningKey::Generate());
    log_vkey_ = MakeVerifierKey(kOrigin, kNoteKeyEd25519, log_key_->public_key());
  }

  WitnessOptions Options() {
    WitnessOptions o;
    o.name = "witness.test/w1";
    o.key = witness_key_;
    o.log_keys = {log_vkey_};
    o.state_path = dir_ / "witness.state";
    o.now_s = [] { return kNow; };
    return o;
  }
  std::unique_ptr<Witness> OpenWitness() {
    auto w = Witness::Open(Options());
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  // The signed checkpoint (note text) for `size` leaves of `tree`.
  std::string SignedCheckpoint(const TestTree& tree, uint64_t size, const SigningKey* key = nullptr,
                               const std::string& origin = kOrigin) {
    Checkpoint cp;
    cp.origin = origin;
    cp.size = size;
    cp.root = tree.Root(size);
    Note note;
    note.text = cp.ToText();
    SignNote(note, origin, key ? *key : *log_key_);
    return FormatNote(note);
  }
  static std::string Body(uint64_t old_size, const std::vector<Hash>& proof,
                          const std::string& checkpoint) {
    std::string body = "old " + std::to_string(old_size) + "\n";
    for (const auto& h : proof) body += Base64Encode(h) + "\n";
    return body + "\n" + checkpoint;
  }

  // Checks that `reply` is one valid cosignature of `checkpoint` by the witness.
  void ExpectCosigned(const WitnessReply& reply, const std::string& checkpoint, const Witness& w) {
    ASSERT_EQ(reply.status, 200) << reply.body;
    ASSERT_EQ(reply.body.rfind("\u2014 witness.test/w1 ", 0), 0u) << reply.body;
    ASSERT_EQ(reply.body.back(), '\n');
    auto note = ParseNote(checkpoint + reply.body);
    ASSERT_TRUE(note.ok()) << note.status().ToString();
    uint64_t t = 0;
    Status s = VerifyCosignature(*note, w.verifier_key(), &t);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(t, kNow);
    EXPECT_TRUE(VerifyNote(*note, log_vkey_).ok());
  }

  TempDir dir_;
  std::unique_ptr<SigningKey> log_key_;
  std::shared_ptr<const SigningKey> witness_key_;
  VerifierKey log_vkey_;
};

TEST_F(WitnessTest, VerifierKeyIsACosignatureKey) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  VerifierKey vk = w->verifier_key();
  EXPECT_EQ(vk.type, kNoteKeyCosignatureV1);
  EXPECT_EQ(vk.name, "witness.test/w1");
  auto parsed = ParseVerifierKey(vk.ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->key, witness_key_->public_key());
}

TEST_F(WitnessTest, FirstCheckpointIsAcceptedWithOldSizeZero) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(5);
  std::string cp = SignedCheckpoint(tree, 5);
  WitnessReply r = w->AddCheckpoint(Body(0, {}, cp));
  ExpectCosigned(r, cp, *w);
  auto st = w->State(kOrigin);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->size, 5u);
  EXPECT_EQ(st->root, tree.Root(5));
  EXPECT_EQ(st->checkpoint, cp);
}

TEST_F(WitnessTest, GrowingCheckpointWithValidProofIsCosigned) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(300);
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 5))).status, 200);
  for (auto [from, to] : {std::pair<uint64_t, uint64_t>{5, 9}, {9, 256}, {256, 300}}) {
    std::string cp = SignedCheckpoint(tree, to);
    WitnessReply r = w->AddCheckpoint(Body(from, tree.Proof(from, to), cp));
    ExpectCosigned(r, cp, *w);
    EXPECT_EQ(w->State(kOrigin)->size, to);
  }
}

TEST_F(WitnessTest, SameCheckpointAgainIsCosignedAgain) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(7);
  std::string cp = SignedCheckpoint(tree, 7);
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, cp)).status, 200);
  ExpectCosigned(w->AddCheckpoint(Body(7, {}, cp)), cp, *w);
}

TEST_F(WitnessTest, WrongOldSizeIs409WithTheCurrentSize) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(9);
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 5))).status, 200);
  for (uint64_t old_size : {0u, 3u, 6u}) {
    WitnessReply r =
        w->AddCheckpoint(Body(old_size, old_size ? tree.Proof(old_size, 9) : std::vector<Hash>{},
                              SignedCheckpoint(tree, 9)));
    EXPECT_EQ(r.status, 409) << old_size;
    EXPECT_EQ(r.content_type, "text/x.tlog.size");
    EXPECT_EQ(r.body, "5\n");
  }
  EXPECT_EQ(w->State(kOrigin)->size, 5u);
}

TEST_F(WitnessTest, UnknownLogWithOldSizeNonZeroIs409WithZero) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(9);
  WitnessReply r = w->AddCheckpoint(Body(5, tree.Proof(5, 9), SignedCheckpoint(tree, 9)));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "0\n");
  EXPECT_FALSE(w->State(kOrigin).has_value());
}

TEST_F(WitnessTest, BadConsistencyProofIs422AndNothingChanges) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(9);
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 5))).status, 200);
  std::vector<Hash> proof = tree.Proof(5, 9);
  ASSERT_FALSE(proof.empty());
  proof[0][0] ^= 1;
  WitnessReply r = w->AddCheckpoint(Body(5, proof, SignedCheckpoint(tree, 9)));
  EXPECT_EQ(r.status, 422) << r.body;
  // A missing proof does not verify either.
  EXPECT_EQ(w->AddCheckpoint(Body(5, {}, SignedCheckpoint(tree, 9))).status, 422);
  EXPECT_EQ(w->State(kOrigin)->size, 5u);
  EXPECT_EQ(w->EvidenceCount(kOrigin), 2u);
  // A checkpoint from a different tree of the same log: its (valid) proof does not connect.
  TestTree other(9, "other ");
  r = w->AddCheckpoint(Body(5, other.Proof(5, 9), SignedCheckpoint(other, 9)));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(w->State(kOrigin)->size, 5u);
}

TEST_F(WitnessTest, UnknownOriginIs404) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(3);
  WitnessReply r =
      w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 3, nullptr, "other.test/log")));
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(WitnessTest, UnknownKeyOrBadSignatureIs403) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(3);
  // Signed by another key under the log's name.
  SigningKey other = SigningKey::Generate();
  WitnessReply r = w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 3, &other)));
  EXPECT_EQ(r.status, 403) << r.body;
  // The log's signature, one bit flipped.
  std::string cp = SignedCheckpoint(tree, 3);
  Note note = *ParseNote(cp);
  note.signatures[0].signature[10] ^= 1;
  r = w->AddCheckpoint(Body(0, {}, FormatNote(note)));
  EXPECT_EQ(r.status, 403) << r.body;
  // The text changed after signing.
  std::string tampered = cp;
  tampered.replace(tampered.find("\n3\n"), 3, "\n4\n");
  r = w->AddCheckpoint(Body(0, {}, tampered));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_FALSE(w->State(kOrigin).has_value());
}

TEST_F(WitnessTest, ForkOfTheSameSizeIsRefusedAndRecorded) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(6), fork(6, "forked ");
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 6))).status, 200);
  WitnessReply r = w->AddCheckpoint(Body(6, {}, SignedCheckpoint(fork, 6)));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("fork"), std::string::npos) << r.body;
  EXPECT_NE(r.content_type, "text/x.tlog.size");
  EXPECT_EQ(w->State(kOrigin)->root, tree.Root(6));
  EXPECT_EQ(w->EvidenceCount(kOrigin), 1u);
  // The evidence is in the state file: it survives a restart.
  w.reset();
  auto again = OpenWitness();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->EvidenceCount(kOrigin), 1u);
  auto text = ReadFile(dir_ / "witness.state");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find(Base64Encode(fork.Root(6))), std::string::npos);
}

TEST_F(WitnessTest, RollbackIsRefused) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(9);
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 9))).status, 200);
  // The true old size is larger than the checkpoint: 400; any smaller old size: 409.
  EXPECT_EQ(w->AddCheckpoint(Body(9, {}, SignedCheckpoint(tree, 5))).status, 400);
  EXPECT_EQ(w->AddCheckpoint(Body(5, {}, SignedCheckpoint(tree, 5))).status, 409);
  EXPECT_EQ(w->State(kOrigin)->size, 9u);
}

TEST_F(WitnessTest, MalformedBodiesAre400) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(70);
  std::string cp = SignedCheckpoint(tree, 70);
  std::vector<std::string> bad = {
      "",
      "old 0\n",                                         // no blank line, no checkpoint
      "old 0\n\n",                                       // no checkpoint
      "old 00\n\n" + cp,                                 // leading zero
      "old -1\n\n" + cp,                                 // not a number
      "old 1\nnot-base64\n\n" + cp,                      // bad proof line
      "new 0\n\n" + cp,                                  // wrong keyword
      "old 0\n\n" + cp.substr(0, cp.find("\n\n") + 1),   // no signatures
      Body(0, {tree.Root(1)}, cp),                       // a proof with old size 0
      Body(71, {}, cp),                                  // old size > checkpoint size
      Body(1, std::vector<Hash>(64, tree.Root(1)), cp),  // more than 63 proof lines
  };
  for (const auto& body : bad) {
    WitnessReply r = w->AddCheckpoint(body);
    EXPECT_EQ(r.status, 400) << "body: " << body << "\nreply: " << r.body;
  }
  EXPECT_FALSE(w->State(kOrigin).has_value());
}

TEST_F(WitnessTest, ConcurrentRequestsFromTheSameOldSizeCosignOnlyOne) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  TestTree tree(40);
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 5))).status, 200);
  std::vector<std::string> bodies;
  for (uint64_t to = 6; to < 40; ++to) {
    bodies.push_back(Body(5, tree.Proof(5, to), SignedCheckpoint(tree, to)));
  }
  std::vector<int> statuses(bodies.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] { statuses[i] = w->AddCheckpoint(bodies[i]).status; });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_TRUE(statuses[i] == 200 || statuses[i] == 409) << statuses[i];
    if (statuses[i] == 200) {
      ++ok;
      EXPECT_EQ(w->State(kOrigin)->size, 6 + i);
    }
  }
  EXPECT_EQ(ok, 1);
}

TEST_F(WitnessTest, StateSurvivesARestart) {
  TestTree tree(20);
  {
    auto w = OpenWitness();
    ASSERT_NE(w, nullptr);
    ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 12))).status, 200);
  }
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  auto st = w->State(kOrigin);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->size, 12u);
  EXPECT_EQ(st->root, tree.Root(12));
  WitnessReply r = w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 20)));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "12\n");
  std::string cp = SignedCheckpoint(tree, 20);
  ExpectCosigned(w->AddCheckpoint(Body(12, tree.Proof(12, 20), cp)), cp, *w);
}

TEST_F(WitnessTest, StateFileIsMode0600EvenUnderAPermissiveUmask) {
  mode_t old_umask = ::umask(0);
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "witness.state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  TestTree tree(2);
  ASSERT_EQ(w->AddCheckpoint(Body(0, {}, SignedCheckpoint(tree, 2))).status, 200);
  ::umask(old_umask);
  ASSERT_EQ(::stat((dir_ / "witness.state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(WitnessTest, CorruptStateFileIsRefused) {
  ASSERT_TRUE(WriteFileAtomic(dir_ / "witness.state", "{not json", 0600).ok());
  auto w = Witness::Open(Options());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kCorruption);
  ASSERT_TRUE(WriteFileAtomic(dir_ / "witness.state",
                              R"({"version":1,"logs":{"a":{"size":3,"root":"xx"}}})", 0600)
                  .ok());
  EXPECT_FALSE(Witness::Open(Options()).ok());
}

TEST_F(WitnessTest, OptionsAreValidated) {
  WitnessOptions o = Options();
  o.name = "has space";
  EXPECT_EQ(Witness::Open(o).status().code(), StatusCode::kInvalidInput);
  o = Options();
  o.log_keys = {MakeVerifierKey(kOrigin, kNoteKeyCosignatureV1, log_key_->public_key())};
  EXPECT_EQ(Witness::Open(o).status().code(), StatusCode::kInvalidInput);
  o = Options();
  o.log_keys.clear();
  EXPECT_EQ(Witness::Open(o).status().code(), StatusCode::kInvalidInput);
}

TEST_F(WitnessTest, ServesAddCheckpointOverHttp) {
  auto w = OpenWitness();
  ASSERT_NE(w, nullptr);
  WitnessServerOptions so;
  so.listen = "127.0.0.1:0";
  WitnessServer server(*w, so);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(server.serving());
  httplib::Client client(server.url());
  client.set_connection_timeout(5);
  TestTree tree(4);
  std::string cp = SignedCheckpoint(tree, 4);
  auto res = client.Post("/add-checkpoint", Body(0, {}, cp), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto note = ParseNote(cp + res->body);
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(VerifyCosignature(*note, w->verifier_key()).ok());
  res = client.Post("/add-checkpoint", Body(2, {}, cp), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/x.tlog.size");
  EXPECT_EQ(res->body, "4\n");
  server.Stop();
  EXPECT_FALSE(server.serving());
}

}  // namespace
}  // namespace custodian::tlog
