// The transparency log's storage and integrator (tlog/log.h), on both backends: SQLite in a
// temporary file and PostgreSQL in a fresh database on the test server. Everything the log
// serves is checked against values computed here independently of its tiles: the root from
// RootFromLeafHashes over the entries' leaf hashes, proofs with VerifyInclusion and
// VerifyConsistency against the roots of the checkpoints the log signed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/bytes.h"
#include "core/crypto.h"
#include "store/database.h"
#include "store/migrate.h"
#include "support/postgres_server.h"
#include "tlog/log.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace custodian::tlog {
namespace {

using ::custodian::testing::TestPostgres;
using store::Database;
using store::Dialect;
using store::Rows;
using store::Transaction;
using store::TxMode;

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/custodian-tlog-test-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Bytes Entry(std::mt19937_64& rng, const std::string& tag) {
  Bytes e(tag.begin(), tag.end());
  const size_t extra = rng() % 300;
  for (size_t i = 0; i < extra; ++i) e.push_back(uint8_t(rng()));  // NULs and non-UTF-8 too
  return e;
}

std::vector<Hash> LeafHashes(const std::vector<Bytes>& entries, size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(LeafHash(entries[i]));
  return out;
}

class TlogLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    InitCrypto();
    if (GetParam() == "sqlite") {
      url_ = "sqlite:" + tmp_ / "log.db";
    } else {
      url_ = TestPostgres();
      ASSERT_FALSE(url_.empty());
    }
    OpenDatabase();
    ASSERT_NE(db_, nullptr);
    auto migrated = store::Migrate(*db_, {LogMigration(1)});
    ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
    key_ = std::make_shared<SigningKey>(SigningKey::Generate());
  }

  void OpenDatabase() {
    auto db = Database::Open(url_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
  }

  LogOptions Options() const {
    LogOptions o;
    o.origin = "custodian.test/log";
    o.key = key_;
    return o;
  }

  std::unique_ptr<Log> OpenLog(const LogOptions& o) {
    auto log = Log::Open(*db_, o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<Log> OpenLog() { return OpenLog(Options()); }

  // Appends `entries` in one transaction.
  Status Append(const std::vector<Bytes>& entries) {
    return db_->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
      for (const Bytes& e : entries) CUSTODIAN_RETURN_IF_ERROR(AppendEntry(tx, e));
      return Status::Ok();
    });
  }

  // Integrates until nothing is pending; the final size.
  uint64_t IntegrateAll(Log& log) {
    uint64_t size = log.size();
    for (;;) {
      auto r = log.Integrate();
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || *r == size) return size;
      size = *r;
    }
  }

  // The latest checkpoint, its signature checked with the log's verifier key.
  Checkpoint Latest(Log& log) {
    auto text = log.LatestCheckpoint();
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    if (!text.ok()) return {};
    auto note = ParseNote(*text);
    EXPECT_TRUE(note.ok()) << note.status().ToString();
    if (!note.ok()) return {};
    EXPECT_TRUE(VerifyNote(*note, log.verifier_key()).ok());
    auto cp = ParseCheckpoint(note->text);
    EXPECT_TRUE(cp.ok()) << cp.status().ToString();
    if (!cp.ok()) return {};
    EXPECT_EQ(cp->origin, "custodian.test/log");
    return *cp;
  }

  std::string SelectData() const {
    return db_->dialect() == Dialect::kPostgres ? "encode(data, 'hex')" : "data";
  }

  // Flips one bit of byte `offset` of the stored tile (level, idx), behind the log's back.
  void CorruptTile(int level, uint64_t idx, size_t offset) {
    const bool pg = db_->dialect() == Dialect::kPostgres;
    Status st = db_->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
      auto rows =
          tx.Query("SELECT " + SelectData() + " FROM tlog_tiles WHERE level = ? AND idx = ?",
                   {int64_t{level}, int64_t(idx)});
      if (!rows.ok()) return rows.status();
      if (rows->empty()) return Status::NotFound("no such tile");
      std::string data = (*rows)[0].Text(0);
      if (pg) {
        Bytes bytes = *HexDecode(data);
        bytes.at(offset) ^= 1;
        return tx.Exec("UPDATE tlog_tiles SET data = CAST(? AS BYTEA) WHERE level = ? AND idx = ?",
                       {"\\x" + HexEncode(bytes), int64_t{level}, int64_t(idx)});
      }
      data.at(offset) ^= 1;
      return tx.Exec("UPDATE tlog_tiles SET data = CAST(? AS BLOB) WHERE level = ? AND idx = ?",
                     {data, int64_t{level}, int64_t(idx)});
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  int64_t Count(const std::string& table) {
    int64_t n = -1;
    Status st = db_->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
      auto rows = tx.Query("SELECT COUNT(*) FROM " + table);
      if (!rows.ok()) return rows.status();
      n = (*rows)[0].Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return n;
  }

  TempDir tmp_;
  std::string url_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<const SigningKey> key_;
};

INSTANTIATE_TEST_SUITE_P(Backends, TlogLogTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

TEST_P(TlogLogTest, EmptyLogHasASignedCheckpointOfSizeZero) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Checkpoint cp = Latest(*log);
  EXPECT_EQ(cp.size, 0u);
  EXPECT_EQ(cp.root, EmptyTreeRoot());
  EXPECT_EQ(log->size(), 0u);
  auto text = log->LatestCheckpoint();
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, *log->CheckpointAt(0));
  EXPECT_EQ(log->verifier_key().name, "custodian.test/log");
  auto parsed = ParseVerifierKey(log->verifier_key().ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->key, key_->public_key());
  EXPECT_EQ(*log->Integrate(), 0u);  // nothing pending: no new checkpoint
  log.reset();
  auto again = OpenLog();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(*again->LatestCheckpoint(), *text);
  EXPECT_EQ(Count("tlog_checkpoints"), 1);
  EXPECT_EQ(again->ReadEntry(0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(again->ReadTile({0, 0, 1}).status().code(), StatusCode::kNotFound);
}

TEST_P(TlogLogTest, RolledBackAppendIsNotLogged) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Status st = db_->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    CUSTODIAN_RETURN_IF_ERROR(AppendEntry(tx, AsBytes("rolled back")));
    return Status::FailedCheck("the change it records was refused");
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedCheck);
  EXPECT_EQ(*log->Integrate(), 0u);
  ASSERT_TRUE(Append({Bytes{'k', 'e', 'p', 't'}}).ok());
  EXPECT_EQ(*log->Integrate(), 1u);
  EXPECT_EQ(*log->ReadEntry(0), (Bytes{'k', 'e', 'p', 't'}));
  EXPECT_EQ(Count("tlog_pending"), 0);
  EXPECT_EQ(Latest(*log).root, LeafHash(AsBytes("kept")));
}

TEST_P(TlogLogTest, EntrySizeLimits) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Bytes too_big(kMaxEntryBytes + 1, 'x');
  Status st = Append({too_big});
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput) << st.ToString();
  Bytes biggest(kMaxEntryBytes, 'y');
  biggest[0] = 0;
  ASSERT_TRUE(Append({Bytes{}, biggest, Bytes{0}}).ok());
  EXPECT_EQ(IntegrateAll(*log), 3u);
  EXPECT_EQ(*log->ReadEntry(0), Bytes{});
  EXPECT_EQ(*log->ReadEntry(1), biggest);
  EXPECT_EQ(*log->ReadEntry(2), Bytes{0});
  EXPECT_EQ(Latest(*log).root, RootFromLeafHashes(LeafHashes({Bytes{}, biggest, Bytes{0}}, 3)));
  EXPECT_TRUE(log->CheckAllTiles().ok());
}

// Appends in random batches, integrates in batches that do not line up with them or with tiles,
// and checks every entry, tile and proof against the checkpoints signed along the way.
TEST_P(TlogLogTest, AppendIntegrateAndProve) {
  LogOptions o = Options();
  o.batch_max = 97;
  auto log = OpenLog(o);
  ASSERT_NE(log, nullptr);
  std::mt19937_64 rng(42);
  std::vector<Bytes> entries;
  std::map<uint64_t, Hash> roots = {{0, EmptyTreeRoot()}};  // size -> signed root
  std::map<uint64_t, Bytes> old_tile;  // size -> the level-0 edge tile as served then
  const size_t kEntries = 1300;        // five full level-0 tiles and a partial one
  while (entries.size() < kEntries) {
    const size_t batch = std::min<size_t>(1 + rng() % 150, kEntries - entries.size());
    std::vector<Bytes> part;
    for (size_t i = 0; i < batch; ++i)
      part.push_back(Entry(rng, "entry " + std::to_string(entries.size() + i)));
    ASSERT_TRUE(Append(part).ok());
    entries.insert(entries.end(), part.begin(), part.end());
    if (rng() % 3 == 0) continue;  // let some batches pile up
    auto size = log->Integrate();
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    Checkpoint cp = Latest(*log);
    ASSERT_EQ(cp.size, *size);
    EXPECT_EQ(cp.root, RootFromLeafHashes(LeafHashes(entries, cp.size))) << cp.size;
    roots[cp.size] = cp.root;
    if (cp.size % kTileWidth != 0) {
      auto tile = log->ReadTile({0, cp.size / kTileWidth, uint32_t(cp.size % kTileWidth)});
      ASSERT_TRUE(tile.ok()) << tile.status().ToString();
      old_tile[cp.size] = *tile;
    }
  }
  for (uint64_t at = log->size(); at < kEntries;) {  // the rest, one checkpoint per batch
    auto r = log->Integrate();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT(*r, at);
    at = *r;
    roots[at] = Latest(*log).root;
  }
  const uint64_t size = log->size();
  ASSERT_EQ(size, kEntries);
  Checkpoint cp = Latest(*log);
  ASSERT_EQ(cp.root, RootFromLeafHashes(LeafHashes(entries, entries.size())));
  EXPECT_EQ(Count("tlog_pending"), 0);
  EXPECT_EQ(int64_t(roots.size()), Count("tlog_checkpoints"));
  ASSERT_GE(roots.size(), 8u);

  for (uint64_t i = 0; i < size; ++i) {
    auto e = log->ReadEntry(i);
    ASSERT_TRUE(e.ok()) << i << ": " << e.status().ToString();
    ASSERT_EQ(*e, entries[i]) << i;
  }
  // Every partial tile served at an earlier size is still served, unchanged.
  for (const auto& [at, bytes] : old_tile) {
    auto tile = log->ReadTile({0, at / kTileWidth, uint32_t(at % kTileWidth)});
    ASSERT_TRUE(tile.ok()) << at;
    EXPECT_EQ(*tile, bytes) << at;
  }
  // An auditor's view: for every signed size, the tiles of that size (TilesForSize) give the
  // signed root, and the entry bundles hold the entries.
  for (const auto& [at, root] : roots) {
    for (const TileId& id : TilesForSize(at, true)) {
      auto tile = log->ReadTile(id);
      ASSERT_TRUE(tile.ok()) << TilePath(id) << ": " << tile.status().ToString();
      if (id.level == kEntriesLevel) {
        auto bundle = DecodeEntryBundle(*tile);
        ASSERT_TRUE(bundle.ok()) << TilePath(id);
        ASSERT_EQ(bundle->size(), id.width);
        for (size_t j = 0; j < bundle->size(); ++j) {
          ASSERT_EQ((*bundle)[j], entries[id.index * kTileWidth + j]) << TilePath(id);
        }
      } else {
        ASSERT_EQ(tile->size(), size_t{id.width} * 32) << TilePath(id);
      }
    }
    TileHashReader reader([&](const TileId& id) { return log->ReadTile(id); }, at);
    auto from_tiles = TreeRoot(reader.AsReader(), at);
    ASSERT_TRUE(from_tiles.ok()) << at << ": " << from_tiles.status().ToString();
    EXPECT_EQ(*from_tiles, root) << at;
  }
  // Inclusion proofs for many (index, size) pairs, against the signed roots of those sizes.
  int proofs = 0;
  for (const auto& [at, root] : roots) {
    if (at == 0) continue;
    std::vector<uint64_t> indices = {0, at - 1, at / 2};
    for (int i = 0; i < 12; ++i) indices.push_back(rng() % at);
    for (uint64_t index : indices) {
      auto proof = log->InclusionProof(index, at);
      ASSERT_TRUE(proof.ok()) << index << "@" << at << ": " << proof.status().ToString();
      Status ok = VerifyInclusion(LeafHash(entries[index]), index, at, *proof, root);
      ASSERT_TRUE(ok.ok()) << index << "@" << at << ": " << ok.ToString();
      Status wrong = VerifyInclusion(LeafHash(AsBytes("not in the log")), index, at, *proof, root);
      EXPECT_FALSE(wrong.ok());
      ++proofs;
    }
  }
  EXPECT_GE(proofs, 100);
  // Consistency proofs between every pair of signed sizes.
  for (const auto& [from, from_root] : roots) {
    if (from == 0) continue;
    for (const auto& [to, to_root] : roots) {
      if (to < from) continue;
      auto proof = log->ConsistencyProof(from, to);
      ASSERT_TRUE(proof.ok()) << from << "->" << to << ": " << proof.status().ToString();
      Status ok = VerifyConsistency(from, to, from_root, to_root, *proof);
      ASSERT_TRUE(ok.ok()) << from << "->" << to << ": " << ok.ToString();
    }
  }
  EXPECT_TRUE(log->CheckAllTiles().ok());

  // A fresh Log (a restart) serves the same.
  log.reset();
  auto again = OpenLog();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->size(), size);
  auto proof = again->InclusionProof(700, 900);
  ASSERT_TRUE(proof.ok());
  auto consistency = again->ConsistencyProof(900, size);
  ASSERT_TRUE(consistency.ok());
  EXPECT_TRUE(VerifyConsistency(900, size, RootFromLeafHashes(LeafHashes(entries, 900)), cp.root,
                                *consistency)
                  .ok());
  EXPECT_TRUE(VerifyInclusion(LeafHash(entries[700]), 700, 900, *proof,
                              RootFromLeafHashes(LeafHashes(entries, 900)))
                  .ok());
}

TEST_P(TlogLogTest, RequestsBeyondTheTree) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  std::vector<Bytes> entries;
  for (int i = 0; i < 300; ++i) entries.push_back(Bytes(size_t(i % 7), uint8_t(i)));
  ASSERT_TRUE(Append(entries).ok());
  ASSERT_EQ(IntegrateAll(*log), 300u);
  EXPECT_EQ(log->InclusionProof(0, 301).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(log->InclusionProof(300, 300).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(log->ConsistencyProof(10, 301).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(log->ConsistencyProof(20, 10).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(log->ReadEntry(300).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->ReadEntry(UINT64_MAX).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(log->ReadTile({0, 0, 256}).ok());
  EXPECT_TRUE(log->ReadTile({0, 1, 44}).ok());
  EXPECT_TRUE(log->ReadTile({0, 1, 10}).ok());  // a prefix of a version that existed
  EXPECT_TRUE(log->ReadTile({kEntriesLevel, 1, 44}).ok());
  EXPECT_EQ(log->ReadTile({0, 1, 45}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->ReadTile({0, 1, 256}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->ReadTile({0, 2, 1}).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(log->ReadTile({1, 0, 1}).ok());  // 300 leaves: one node of level 8
  EXPECT_EQ(log->ReadTile({1, 0, 2}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->ReadTile({kEntriesLevel, 1, 45}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->ReadTile({0, uint64_t{1} << 60, 1}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->ReadTile({0, 0, 0}).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(log->ReadTile({0, 0, 257}).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(log->ReadTile({-2, 0, 1}).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(log->CheckpointAt(299).status().code(), StatusCode::kNotFound);
  auto bundle = log->ReadTile({kEntriesLevel, 1, 3});
  ASSERT_TRUE(bundle.ok());
  auto decoded = DecodeEntryBundle(*bundle);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, (std::vector<Bytes>{entries[256], entries[257], entries[258]}));
}

// A tree crossing Merkle level 16 (tile level 2): 66,000 entries.
TEST_P(TlogLogTest, LargeLogReachesTileLevelTwo) {
  LogOptions o = Options();
  o.batch_max = 4096;
  auto log = OpenLog(o);
  ASSERT_NE(log, nullptr);
  const size_t kEntries = 66000;
  std::vector<Bytes> entries;
  for (size_t i = 0; i < kEntries; ++i) {
    std::string s = "{\"n\":" + std::to_string(i) + "}";
    entries.emplace_back(s.begin(), s.end());
  }
  for (size_t begin = 0; begin < kEntries; begin += 2000) {
    std::vector<Bytes> part(entries.begin() + ptrdiff_t(begin),
                            entries.begin() + ptrdiff_t(std::min(kEntries, begin + 2000)));
    if (begin == 64000) {
      ASSERT_EQ(IntegrateAll(*log), 64000u);
    }
    ASSERT_TRUE(Append(part).ok());
  }
  ASSERT_EQ(IntegrateAll(*log), kEntries);
  Checkpoint cp = Latest(*log);
  const Hash root = RootFromLeafHashes(LeafHashes(entries, kEntries));
  ASSERT_EQ(cp.root, root);
  EXPECT_TRUE(log->ReadTile({2, 0, 1}).ok());
  EXPECT_TRUE(log->ReadTile({1, 0, 256}).ok());
  EXPECT_TRUE(log->ReadTile({1, 1, 1}).ok());
  EXPECT_TRUE(log->CheckAllTiles().ok());
  const Hash root_64000 = RootFromLeafHashes(LeafHashes(entries, 64000));
  for (uint64_t index : {uint64_t{0}, uint64_t{65535}, uint64_t{65536}, uint64_t{65999}}) {
    auto proof = log->InclusionProof(index, kEntries);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_TRUE(VerifyInclusion(LeafHash(entries[index]), index, kEntries, *proof, root).ok());
  }
  auto consistency = log->ConsistencyProof(64000, kEntries);
  ASSERT_TRUE(consistency.ok());
  EXPECT_TRUE(VerifyConsistency(64000, kEntries, root_64000, root, *consistency).ok());
  log.reset();
  o.check_all_tiles_on_open = true;
  EXPECT_NE(OpenLog(o), nullptr);
}

TEST_P(TlogLogTest, AlteredEdgeTileFailsOpen) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    std::vector<Bytes> entries;
    for (int i = 0; i < 700; ++i) entries.push_back(Bytes(8, uint8_t(i)));
    ASSERT_TRUE(Append(entries).ok());
    ASSERT_EQ(IntegrateAll(*log), 700u);
  }
  // tile/0/002.p/188 holds the leaves the root of size 700 is made of (700 = 512 + 128 + 32 + 16 +
  // 8 + 4).
  CorruptTile(0, 2, 5 * 32 + 7);
  auto log = Log::Open(*db_, Options());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("size 700"), std::string::npos) << log.status().message();
  EXPECT_NE(log.status().message().find("tile/0/002.p/188 hash 5"), std::string::npos)
      << log.status().message();
}

TEST_P(TlogLogTest, AlteredCheckpointFailsOpen) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(Append({Bytes{1}, Bytes{2}, Bytes{3}}).ok());
    ASSERT_EQ(IntegrateAll(*log), 3u);
  }
  // A root that is not the tree's, in the row and in a note signed with the log's key (as a
  // log operator rewriting history would): the tiles contradict it.
  const Hash forged = LeafHash(AsBytes("forged"));
  Checkpoint cp{"custodian.test/log", 3, forged, {}};
  Note note{cp.ToText(), {}};
  SignNote(note, "custodian.test/log", *key_);
  Status st = db_->InTransaction(TxMode::kWrite, [&](Transaction& tx) {
    return tx.Exec("UPDATE tlog_checkpoints SET root = ?, note = ? WHERE size = 3",
                   {HexEncode(forged), FormatNote(note)});
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto log = Log::Open(*db_, Options());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("size 3"), std::string::npos) << log.status().message();
  // An unsigned edit of the note alone is caught by its signature.
  st = db_->InTransaction(TxMode::kWrite, [&](Transaction& tx) {
    return tx.Exec("UPDATE tlog_checkpoints SET note = ? WHERE size = 3",
                   {cp.ToText() + "\n\u2014 custodian.test/log AAAAAAAA\n"});
  });
  ASSERT_TRUE(st.ok());
  log = Log::Open(*db_, Options());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().ToString();
}

TEST_P(TlogLogTest, AlteredTilesAndBundlesAreNamedByTheFullCheck) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    std::vector<Bytes> entries;
    for (int i = 0; i < 700; ++i) entries.push_back(Bytes(8, uint8_t(i)));
    ASSERT_TRUE(Append(entries).ok());
    ASSERT_EQ(IntegrateAll(*log), 700u);
    EXPECT_TRUE(log->CheckAllTiles().ok());
  }
  LogOptions full = Options();
  full.check_all_tiles_on_open = true;
  // An inner full tile: the right edge does not read it, the full check does.
  CorruptTile(0, 0, 3 * 32);
  auto log = Log::Open(*db_, full);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("tile/0/000"), std::string::npos) << log.status().message();
  CorruptTile(0, 0, 3 * 32);  // back as it was
  ASSERT_NE(OpenLog(full), nullptr);
  // An entry bundle.
  CorruptTile(kEntriesLevel, 1, 2 + 3);
  log = Log::Open(*db_, full);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("tile/entries/001"), std::string::npos)
      << log.status().message();
  CorruptTile(kEntriesLevel, 1, 2 + 3);
  // A level-1 tile.
  CorruptTile(1, 0, 32 + 1);
  log = Log::Open(*db_, full);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("tile/1/000.p/2"), std::string::npos)
      << log.status().message();
}

TEST_P(TlogLogTest, WrongKeyOrOriginIsRefused) {
  ASSERT_NE(OpenLog(), nullptr);
  LogOptions other_key = Options();
  other_key.key = std::make_shared<SigningKey>(SigningKey::Generate());
  auto log = Log::Open(*db_, other_key);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().ToString();
  LogOptions other_origin = Options();
  other_origin.origin = "elsewhere.test/log";
  log = Log::Open(*db_, other_origin);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kInvalidInput) << log.status().ToString();
  LogOptions no_key = Options();
  no_key.key = nullptr;
  EXPECT_EQ(Log::Open(*db_, no_key).status().code(), StatusCode::kInvalidInput);
  LogOptions bad_batch = Options();
  bad_batch.batch_max = 0;
  EXPECT_EQ(Log::Open(*db_, bad_batch).status().code(), StatusCode::kInvalidInput);
}

TEST_P(TlogLogTest, CosignaturesAreServedWithTheirCheckpoint) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(Append({Bytes{1}, Bytes{2}}).ok());
  ASSERT_EQ(*log->Integrate(), 2u);
  auto text = log->LatestCheckpoint();
  ASSERT_TRUE(text.ok());
  auto note = ParseNote(*text);
  ASSERT_TRUE(note.ok());
  SigningKey witness = SigningKey::Generate();
  VerifierKey witness_vkey =
      MakeVerifierKey("witness.test/w1", kNoteKeyCosignatureV1, witness.public_key());
  ASSERT_TRUE(
      log->AddCosignature(2, Cosign(note->text, "witness.test/w1", witness, 1700000000)).ok());
  ASSERT_TRUE(
      log->AddCosignature(2, Cosign(note->text, "witness.test/w1", witness, 1700000100)).ok());
  auto cosigned = log->LatestCheckpoint();
  ASSERT_TRUE(cosigned.ok());
  auto parsed = ParseNote(*cosigned);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->signatures.size(), 2u);  // the log's and the newest cosignature
  EXPECT_TRUE(VerifyNote(*parsed, log->verifier_key()).ok());
  uint64_t time_s = 0;
  EXPECT_TRUE(VerifyCosignature(*parsed, witness_vkey, &time_s).ok());
  EXPECT_EQ(time_s, 1700000100u);
  EXPECT_EQ(*log->CheckpointAt(2), *cosigned);
  EXPECT_EQ(log->CheckpointAt(0)->find("witness.test"), std::string::npos);
  EXPECT_EQ(log->AddCosignature(7, Cosign(note->text, "witness.test/w1", witness, 1)).code(),
            StatusCode::kNotFound);
  NoteSignature bad = Cosign(note->text, "witness.test/w1", witness, 1);
  bad.signature.pop_back();
  EXPECT_EQ(log->AddCosignature(2, bad).code(), StatusCode::kInvalidInput);
  // A new checkpoint starts without cosignatures.
  ASSERT_TRUE(Append({Bytes{3}}).ok());
  ASSERT_EQ(*log->Integrate(), 3u);
  EXPECT_EQ(log->LatestCheckpoint()->find("witness.test"), std::string::npos);
}

TEST_P(TlogLogTest, BackgroundIntegratorTakesEveryCommittedAppend) {
  LogOptions o = Options();
  o.integrate_interval_ms = 20;
  o.batch_max = 64;
  auto log = OpenLog(o);
  ASSERT_NE(log, nullptr);
  log->StartIntegrator();
  log->StartIntegrator();  // a second start is a no-op
  constexpr int kThreads = 3, kEach = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string e = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!Append({Bytes(e.begin(), e.end())}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(log->WaitForSize(kThreads * kEach, 30000));
  log->StopIntegrator();
  log->StopIntegrator();
  std::multiset<std::string> got;
  for (uint64_t i = 0; i < kThreads * kEach; ++i) {
    auto e = log->ReadEntry(i);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    got.insert(std::string(e->begin(), e->end()));
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      EXPECT_EQ(got.count("t" + std::to_string(t) + "-" + std::to_string(i)), 1u);
    }
  }
  EXPECT_TRUE(log->CheckAllTiles().ok());
}

TEST_P(TlogLogTest, AFullBatchWakesTheIntegratorBeforeItsInterval) {
  LogOptions o = Options();
  o.integrate_interval_ms = 3'600'000;
  o.batch_max = 50;
  auto log = OpenLog(o);
  ASSERT_NE(log, nullptr);
  log->StartIntegrator();
  // Its first (empty) round must be over before the appends, or it would count them to it;
  // a second is ample even under the sanitizers.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  std::vector<Bytes> entries;
  for (int i = 0; i < 49; ++i) entries.push_back(Bytes{uint8_t(i)});
  ASSERT_TRUE(Append(entries).ok());
  EXPECT_FALSE(log->WaitForSize(1, 300));  // not a batch yet: waits for the interval
  ASSERT_TRUE(Append({Bytes{49}}).ok());
  EXPECT_TRUE(log->WaitForSize(50, 20000));
  log->StopIntegrator();
}

// Two Logs on one database (two processes): each picks up the other's integrations.
TEST_P(TlogLogTest, TwoLogsShareOneTree) {
  LogOptions o = Options();
  o.batch_max = 40;
  auto a = OpenLog(o);
  auto b = OpenLog(o);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<Bytes> entries;
  for (int round = 0; round < 12; ++round) {
    std::vector<Bytes> part;
    for (int i = 0; i < 33; ++i) {
      std::string s = std::to_string(round) + "/" + std::to_string(i);
      part.emplace_back(s.begin(), s.end());
    }
    ASSERT_TRUE(Append(part).ok());
    entries.insert(entries.end(), part.begin(), part.end());
    Log& log = round % 2 == 0 ? *a : *b;
    ASSERT_TRUE(log.Integrate().ok());
  }
  EXPECT_EQ(IntegrateAll(*a), entries.size());
  const Hash root = RootFromLeafHashes(LeafHashes(entries, entries.size()));
  EXPECT_EQ(Latest(*b).root, root);
  auto pa = a->InclusionProof(100, entries.size());
  auto pb = b->InclusionProof(100, entries.size());
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(*pa, *pb);
  EXPECT_TRUE(VerifyInclusion(LeafHash(entries[100]), 100, entries.size(), *pb, root).ok());
  EXPECT_EQ(*b->ReadEntry(entries.size() - 1), entries.back());
}

// A process that appends and integrates in a loop is killed with SIGKILL: the log reopens
// consistent and, once integrated, holds every entry whose append the process saw committed.
TEST_P(TlogLogTest, SurvivesKill9DuringAppendsAndIntegrations) {
  {
    auto log = OpenLog();  // the size-0 checkpoint
    ASSERT_NE(log, nullptr);
  }
  db_.reset();  // the child opens its own; nothing of ours crosses fork()
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto db = Database::Open(url_);
    if (!db.ok()) ::_exit(3);
    LogOptions o = Options();
    o.batch_max = 64;
    auto log = Log::Open(**db, o);
    if (!log.ok()) ::_exit(4);
    for (int64_t n = 0;; ++n) {
      std::string e = "kill9-" + std::to_string(n);
      Status st = (*db)->InTransaction(
          TxMode::kWrite, [&](Transaction& tx) { return AppendEntry(tx, AsBytes(e)); });
      if (!st.ok()) ::_exit(5);
      if (::write(fds[1], &n, sizeof(n)) != sizeof(n)) ::_exit(6);
      if (n % 7 == 6 && !(*log)->Integrate().ok()) ::_exit(7);
    }
  }
  ::close(fds[1]);
  std::set<int64_t> reported;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  int64_t n = 0;
  while (reported.size() < 400 && std::chrono::steady_clock::now() < deadline &&
         ::read(fds[0], &n, sizeof(n)) == sizeof(n)) {
    reported.insert(n);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  while (::read(fds[0], &n, sizeof(n)) == sizeof(n)) reported.insert(n);
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  ASSERT_GE(reported.size(), 100u);

  OpenDatabase();
  LogOptions o = Options();
  o.check_all_tiles_on_open = true;
  auto log = OpenLog(o);
  ASSERT_NE(log, nullptr);
  const uint64_t size = IntegrateAll(*log);
  EXPECT_EQ(Count("tlog_pending"), 0);
  std::set<std::string> stored;
  std::vector<Bytes> entries;
  for (uint64_t i = 0; i < size; ++i) {
    auto e = log->ReadEntry(i);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    entries.push_back(*e);
    EXPECT_TRUE(stored.insert(std::string(e->begin(), e->end())).second)
        << "entry " << i << " twice";
  }
  for (int64_t want : reported) {
    ASSERT_TRUE(stored.count("kill9-" + std::to_string(want)))
        << "committed entry " << want << " lost";
  }
  EXPECT_LE(stored.size(), reported.size() + 1);  // at most the one in flight
  EXPECT_EQ(Latest(*log).root, RootFromLeafHashes(LeafHashes(entries, entries.size())));
  EXPECT_TRUE(log->CheckAllTiles().ok());
}

}  // namespace
}  // namespace custodian::tlog
