// `custodian log witness`, `log verify` and `log get` as a user runs them: the real binary in
// child processes, over HTTP on loopback. The log they talk to is served by this test (a small
// httplib server backed by a tree built here with merkle.h, tiles.h and note.h), so each test
// can make the log misbehave: alter a tile byte, fork, roll back.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/bytes.h"
#include "core/crypto.h"
#include "support/cli_runner.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace custodian::testing {
namespace {

using tlog::Hash;
using tlog::TileId;

constexpr const char* kOrigin = "custodian.test/log";

// A tiled log served over HTTP under /log/: checkpoint, tile/<L>/<N>[.p/<W>] and
// tile/entries/<N>[.p/<W>], exactly as of the size last published.
class TestLog {
 public:
  explicit TestLog(std::string salt = "entry") : salt_(std::move(salt)) {
    InitCrypto();
    key_ = std::make_unique<SigningKey>(SigningKey::Generate());
    Start();
  }
  // The same log key as `other` (a fork needs a validly signed checkpoint).
  TestLog(const TestLog& other, std::string salt) : salt_(std::move(salt)) {
    key_ = std::make_unique<SigningKey>(*other.key_);
    Start();
  }
  ~TestLog() {
    http_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string vkey() const {
    return tlog::MakeVerifierKey(kOrigin, tlog::kNoteKeyEd25519, key_->public_key()).ToString();
  }
  std::string Entry(uint64_t i) const {
    return "{\"i\":" + std::to_string(i) + ",\"what\":\"" + salt_ + "\"}";
  }

  // Serves the tree of the first `size` entries (and nothing else), with a fresh checkpoint.
  void Publish(uint64_t size) {
    std::vector<Hash> leaves;
    for (uint64_t i = 0; i < size; ++i) leaves.push_back(tlog::LeafHash(AsBytes(Entry(i))));
    std::map<std::string, std::string> files;
    for (int level = 0; level < 8 && (size >> (8 * level)) > 0; ++level) {
      uint64_t nodes = size >> (8 * level);
      for (uint64_t n = 0; n * 256 < nodes; ++n) {
        uint32_t width = uint32_t(std::min<uint64_t>(256, nodes - n * 256));
        std::string tile;
        for (uint32_t j = 0; j < width; ++j) {
          uint64_t k = n * 256 + j, span = uint64_t(1) << (8 * level);
          Hash h = tlog::RootFromLeafHashes(std::vector<Hash>(
              leaves.begin() + long(k * span), leaves.begin() + long((k + 1) * span)));
          tile.append(reinterpret_cast<const char*>(h.data()), h.size());
        }
        files[tlog::TilePath(TileId{level, n, width})] = tile;
        if (level == 0) {
          std::vector<Bytes> entries;
          for (uint32_t j = 0; j < width; ++j) {
            std::string e = Entry(n * 256 + j);
            entries.emplace_back(e.begin(), e.end());
          }
          Bytes bundle = tlog::EncodeEntryBundle(entries);
          files[tlog::TilePath(TileId{tlog::kEntriesLevel, n, width})] =
              std::string(bundle.begin(), bundle.end());
        }
      }
    }
    tlog::Checkpoint cp;
    cp.origin = kOrigin;
    cp.size = size;
    cp.root = tlog::RootFromLeafHashes(leaves);
    tlog::Note note;
    note.text = cp.ToText();
    tlog::SignNote(note, kOrigin, *key_);
    std::lock_guard<std::mutex> lock(mu_);
    checkpoint_ = tlog::FormatNote(note);
    files_ = std::move(files);
    size_ = size;
    leaves_ = std::move(leaves);
  }

  // The signed checkpoint as served (with any cosignature lines added).
  std::string Checkpoint() {
    std::lock_guard<std::mutex> lock(mu_);
    return checkpoint_;
  }
  void AddSignatureLines(const std::string& lines) {
    std::lock_guard<std::mutex> lock(mu_);
    checkpoint_ += lines;
  }
  // A consistency proof between two sizes of the published tree.
  std::vector<Hash> Proof(uint64_t from, uint64_t to) {
    std::lock_guard<std::mutex> lock(mu_);
    tlog::HashReader read = [this](int level, uint64_t index) -> Result<Hash> {
      uint64_t b = index << level, e = (index + 1) << level;
      if (e > leaves_.size()) return Status::NotFound("beyond");
      return tlog::RootFromLeafHashes(
          std::vector<Hash>(leaves_.begin() + long(b), leaves_.begin() + long(e)));
    };
    auto p = tlog::ConsistencyProof(read, from, to);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : std::vector<Hash>{};
  }
  bool Has(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return files_.count(path) > 0;
  }
  void FlipByte(const std::string& path, size_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_TRUE(files_.count(path)) << path;
    files_[path][offset] ^= 1;
  }
  void Remove(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(path);
  }

 private:
  void Start() {
    http_.Get(R"(/log/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string path = req.matches[1];
      std::lock_guard<std::mutex> lock(mu_);
      if (path == "checkpoint") {
        res.set_content(checkpoint_, "text/plain; charset=utf-8");
        return;
      }
      auto it = files_.find(path);
      if (it == files_.end()) {
        res.status = 404;
        res.set_content("not found\n", "text/plain");
        return;
      }
      res.set_content(it->second, "application/octet-stream");
    });
    port_ = http_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  std::string salt_;
  std::unique_ptr<SigningKey> key_;
  httplib::Server http_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::string checkpoint_;
  std::map<std::string, std::string> files_;
  uint64_t size_ = 0;
  std::vector<Hash> leaves_;
};

CliResult Verify(const TestLog& log, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"log", "verify", "--url", log.url(), "--vkey", log.vkey()};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args);
}

// `custodian log witness` on 127.0.0.1:0; stderr (the request log) in a file.
class WitnessProcess {
 public:
  WitnessProcess(const TempDir& dir, const std::string& log_vkey) : log_path_(dir / "witness.log") {
    std::string cmd = "exec " + ShellQuote(CUSTODIAN_BINARY) + " log witness --key " +
                      ShellQuote(dir / "witness.key") + " --name witness.test/w1 --listen " +
                      "127.0.0.1:0 --log-vkey " + ShellQuote(log_vkey) + " --state " +
                      ShellQuote(dir / "witness.state") + " 2>>" + ShellQuote(log_path_);
    auto p = Subprocess::Spawn({"/bin/sh", "-c", cmd});
    if (!p.ok()) {
      ADD_FAILURE() << p.status().ToString();
      return;
    }
    process_.emplace(std::move(*p));
    std::string first = process_->ReadLine(std::chrono::seconds(30)).value_or("");
    const std::string prefix = "custodian log witness listening on http://127.0.0.1:";
    if (first.rfind(prefix, 0) != 0) {
      ADD_FAILURE() << "no listening line; got '" << first << "'; log:\n" << Log();
      return;
    }
    port_ = std::atoi(first.c_str() + prefix.size());
    vkey_ = process_->ReadLine(std::chrono::seconds(10)).value_or("");
  }
  int port() const { return port_; }
  const std::string& vkey() const { return vkey_; }
  // POST /add-checkpoint.
  httplib::Result Add(const std::string& body) {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5);
    client.set_read_timeout(10);
    return client.Post("/add-checkpoint", body, "text/plain");
  }
  int Stop() {
    if (!process_) return -1;
    process_->Signal(SIGTERM);
    process_->ReadAll();
    int code = process_->Wait();
    process_.reset();
    return code;
  }
  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string log_path_;
  std::optional<Subprocess> process_;
  int port_ = 0;
  std::string vkey_;
};

std::string Body(uint64_t old_size, const std::vector<Hash>& proof, const std::string& cp) {
  std::string body = "old " + std::to_string(old_size) + "\n";
  for (const auto& h : proof) body += Base64Encode(h) + "\n";
  return body + "\n" + cp;
}

TEST(LogVerifyCli, ConsistentLogVerifiesAndStateIsSaved) {
  TempDir dir;
  TestLog log;
  log.Publish(5);
  CliResult r = Verify(log, {"--state", dir / "audit.state", "--entry", "0", "--entry", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("OK: log \"custodian.test/log\" size 5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entry 4 included"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((dir / "audit.state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The log grows across a tile boundary and a second level: consistent with the saved state.
  log.Publish(300);
  r = Verify(log, {"--state", dir / "audit.state", "--entry", "299", "--entry", "7", "--full"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("consistent with the saved checkpoint of size 5"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("full: 300 entries re-hashed"), std::string::npos) << r.out;
  log.Publish(513);
  r = Verify(log, {"--state", dir / "audit.state", "--full"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("saved checkpoint of size 300"), std::string::npos) << r.out;
}

TEST(LogVerifyCli, AlteredTileByteIsNamed) {
  TestLog log;
  log.Publish(5);
  log.FlipByte("tile/0/000.p/5", 70);  // hash 2
  CliResult r = Verify(log);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_NE(r.err.find("tile/0/000.p/5"), std::string::npos) << r.err;
  // --full names the hash and the entry.
  r = Verify(log, {"--full"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_NE(r.err.find("tile/0/000.p/5 hash 2 (entry 2)"), std::string::npos) << r.err;
}

TEST(LogVerifyCli, FullFindsAlterationsOutsideTheRightEdge) {
  TestLog log;
  log.Publish(300);
  // tile/0/000 is summarised by tile/1/000.p/1 for the root: only --full reads it.
  log.FlipByte("tile/0/000", 32 * 17);
  CliResult r = Verify(log, {"--full"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("tile/0/000 hash 17 (entry 17)"), std::string::npos) << r.err;
  // An altered entry: its bundle no longer matches the (intact) tile.
  TestLog other;
  other.Publish(300);
  other.FlipByte("tile/entries/001.p/44", 5);
  r = Verify(other, {"--full"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("entry 256 of tile/entries/001.p/44"), std::string::npos) << r.err;
  r = Verify(other, {"--entry", "256"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("entry 256"), std::string::npos) << r.err;
  // A level-1 hash that is not the hash of the tile below.
  TestLog third;
  third.Publish(300);
  third.FlipByte("tile/1/000.p/1", 0);
  r = Verify(third, {"--full"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("tile/1/000.p/1 hash 0"), std::string::npos) << r.err;
}

TEST(LogVerifyCli, ForkAfterASavedStateFails) {
  TempDir dir;
  TestLog log;
  log.Publish(6);
  ASSERT_EQ(Verify(log, {"--state", dir / "audit.state"}).exit_code, 0);
  auto saved = ReadFile(dir / "audit.state");
  // Another tree of the same size, validly signed by the same key.
  TestLog fork(log, "forked");
  fork.Publish(6);
  CliResult r = Verify(fork, {"--state", dir / "audit.state"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_NE(r.err.find("fork"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("size 6"), std::string::npos) << r.err;
  // A larger fork: no consistency proof can connect it.
  fork.Publish(20);
  r = Verify(fork, {"--state", dir / "audit.state"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("fork"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("saved checkpoint of size 6"), std::string::npos) << r.err;
  // Nothing was saved by the failures.
  EXPECT_EQ(*ReadFile(dir / "audit.state"), *saved);
}

TEST(LogVerifyCli, RollbackFails) {
  TempDir dir;
  TestLog log;
  log.Publish(9);
  ASSERT_EQ(Verify(log, {"--state", dir / "audit.state"}).exit_code, 0);
  log.Publish(5);
  CliResult r = Verify(log, {"--state", dir / "audit.state"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_NE(r.err.find("rollback"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("size 9"), std::string::npos) << r.err;
}

TEST(LogVerifyCli, BadSignatureAndUsageErrors) {
  TempDir dir;
  TestLog log, stranger;
  log.Publish(3);
  // Another log's key.
  CliResult r = RunCli({"log", "verify", "--url", log.url(), "--vkey", stranger.vkey()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("signature"), std::string::npos) << r.err;
  // Not a vkey, an unreachable server, an entry beyond the tree: exit 2.
  EXPECT_EQ(RunCli({"log", "verify", "--url", log.url(), "--vkey", "nonsense"}).exit_code, 2);
  r = RunCli({"log", "verify", "--url", "http://127.0.0.1:1", "--vkey", log.vkey()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_EQ(Verify(log, {"--entry", "3"}).exit_code, 2);
  EXPECT_EQ(RunCli({"log", "verify", "--url", log.url()}).exit_code, 2);
  // A missing tile the checkpoint requires: the log is at fault.
  log.Remove("tile/0/000.p/3");
  r = Verify(log);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("tile/0/000.p/3"), std::string::npos) << r.err;
}

TEST(LogGetCli, PrintsTheEntry) {
  TestLog log;
  log.Publish(300);
  CliResult r = RunCli({"log", "get", "--url", log.url(), "--index", "257"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, log.Entry(257) + "\n");
  r = RunCli({"log", "get", "--url", log.url(), "--index", "3", "--vkey", log.vkey()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, log.Entry(3) + "\n");
  r = RunCli({"log", "get", "--url", log.url(), "--index", "300"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_NE(r.err.find("beyond the tree"), std::string::npos) << r.err;
}

TEST(LogWitnessCli, CosignsConsistentCheckpointsOverHttp) {
  TempDir dir;
  Keygen(dir, "witness.key");
  TestLog log;
  WitnessProcess witness(dir, log.vkey());
  ASSERT_GT(witness.port(), 0);
  auto vkey = tlog::ParseVerifierKey(witness.vkey());
  ASSERT_TRUE(vkey.ok()) << witness.vkey();
  EXPECT_EQ(vkey->type, tlog::kNoteKeyCosignatureV1);
  EXPECT_EQ(vkey->name, "witness.test/w1");

  log.Publish(5);
  auto res = witness.Add(Body(0, {}, log.Checkpoint()));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body << witness.Log();
  log.AddSignatureLines(res->body);
  CliResult r = Verify(log, {"--witness-vkey", witness.vkey()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("cosigned by 1 of 1"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((dir / "witness.state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Wrong old size: 409 with the witness's size.
  log.Publish(300);
  res = witness.Add(Body(3, log.Proof(3, 300), log.Checkpoint()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/x.tlog.size");
  EXPECT_EQ(res->body, "5\n");
  // A broken proof: 422.
  std::vector<Hash> proof = log.Proof(5, 300);
  proof.back()[3] ^= 1;
  res = witness.Add(Body(5, proof, log.Checkpoint()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422) << res->body;
  // A checkpoint signed by a key it does not trust for the origin: 403.
  TestLog stranger;
  stranger.Publish(300);
  res = witness.Add(Body(5, stranger.Proof(5, 300), stranger.Checkpoint()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403) << res->body;
  // The right proof: cosigned, and the verifier now needs that cosignature.
  res = witness.Add(Body(5, log.Proof(5, 300), log.Checkpoint()));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  r = Verify(log, {"--witness-vkey", witness.vkey()});
  EXPECT_EQ(r.exit_code, 1) << r.out;  // not yet attached to the served checkpoint
  EXPECT_NE(r.err.find("cosignature"), std::string::npos) << r.err;
  log.AddSignatureLines(res->body);
  EXPECT_EQ(Verify(log, {"--witness-vkey", witness.vkey()}).exit_code, 0);

  // A fork of the same size: refused and logged loudly.
  TestLog fork(log, "forked");
  fork.Publish(300);
  res = witness.Add(Body(300, {}, fork.Checkpoint()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409) << res->body;
  EXPECT_NE(witness.Log().find("MISBEHAVIOUR"), std::string::npos) << witness.Log();

  // A restart keeps the state.
  EXPECT_EQ(witness.Stop(), 0);
  WitnessProcess again(dir, log.vkey());
  ASSERT_GT(again.port(), 0);
  EXPECT_EQ(again.vkey(), witness.vkey());
  res = again.Add(Body(0, {}, log.Checkpoint()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(res->body, "300\n");
  EXPECT_EQ(again.Stop(), 0);
}

TEST(LogWitnessCli, RefusesBadKeysAndFlags) {
  TempDir dir;
  Keygen(dir, "witness.key");
  TestLog log;
  ASSERT_EQ(::chmod((dir / "witness.key").c_str(), 0644), 0);
  CliResult r = RunCli({"log", "witness", "--key", dir / "witness.key", "--listen", "127.0.0.1:0",
                        "--log-vkey", log.vkey(), "--state", dir / "s"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  ASSERT_EQ(::chmod((dir / "witness.key").c_str(), 0600), 0);
  r = RunCli(
      {"log", "witness", "--key", dir / "witness.key", "--log-vkey", "junk", "--state", dir / "s"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = RunCli({"log", "witness", "--key", dir / "witness.key", "--log-vkey", log.vkey(), "--state",
              dir / "s", "--name", "w", "--print-vkey"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto vk = tlog::ParseVerifierKey(r.out.substr(0, r.out.find('\n')));
  ASSERT_TRUE(vk.ok()) << r.out;
  EXPECT_EQ(vk->type, tlog::kNoteKeyCosignatureV1);
}

}  // namespace
}  // namespace custodian::testing
