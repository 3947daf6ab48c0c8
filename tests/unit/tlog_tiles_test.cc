// C2SP tlog-tiles: paths (the spec's examples and malformed ones), the tiles of a tree (the
// spec's worked examples), entry bundles, and reading tree nodes out of tiles, checked against
// the brute-force RFC 6962 definition.
#include "tlog/tiles.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace custodian::tlog {
namespace {

// Every complete node of a tree, level by level, from the RFC 6962 definition.
class MemoryTree {
 public:
  explicit MemoryTree(uint64_t size) {
    std::vector<Hash> leaves;
    for (uint64_t i = 0; i < size; ++i) {
      leaves.push_back(LeafHash(AsBytes("entry " + std::to_string(i))));
    }
    levels_.push_back(std::move(leaves));
    while (levels_.back().size() >= 2) {
      const std::vector<Hash>& below = levels_.back();
      std::vector<Hash> up;
      for (size_t i = 0; i + 1 < below.size(); i += 2)
        up.push_back(NodeHash(below[i], below[i + 1]));
      levels_.push_back(std::move(up));
    }
  }
  const std::vector<Hash>& leaves() const { return levels_[0]; }
  size_t levels() const { return levels_.size(); }
  const std::vector<Hash>& level(size_t l) const { return levels_[l]; }

  // The tile as this (bigger) tree has it: as wide as this tree allows, so a reader for a
  // smaller tree may get a wider tile than it asked for, as the TileFetcher contract permits.
  Result<Bytes> Tile(const TileId& id) const {
    size_t merkle_level = size_t(id.level) * kTileHeight;
    if (id.level < 0 || merkle_level >= levels_.size()) return Status::NotFound(TilePath(id));
    const std::vector<Hash>& hashes = levels_[merkle_level];
    uint64_t first = id.index * kTileWidth;
    if (first + id.width > hashes.size()) return Status::NotFound(TilePath(id));
    uint64_t available = std::min<uint64_t>(kTileWidth, hashes.size() - first);
    Bytes out;
    for (uint64_t i = first; i < first + available; ++i) {
      out.insert(out.end(), hashes[i].begin(), hashes[i].end());
    }
    return out;
  }

 private:
  std::vector<std::vector<Hash>> levels_;
};

std::string PathError(std::string_view path) {
  Result<TileId> id = ParseTilePath(path);
  EXPECT_FALSE(id.ok()) << path << " parsed";
  if (id.ok()) return "";
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidInput) << path;
  return id.status().message();
}

TEST(TlogTilesTest, PathsOfTheSpecExamples) {
  // tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
  EXPECT_EQ(TilePath({0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({3, 1234067, 7}), "tile/3/x001/x234/067.p/7");
  EXPECT_EQ(TilePath({0, 5, 256}), "tile/0/005");
  EXPECT_EQ(TilePath({0, 0, 256}), "tile/0/000");
  EXPECT_EQ(TilePath({0, 999, 256}), "tile/0/999");
  EXPECT_EQ(TilePath({0, 1000, 256}), "tile/0/x001/000");
  EXPECT_EQ(TilePath({63, 1000000, 255}), "tile/63/x001/x000/000.p/255");
  // tlog-tiles: a tree of 256 entries has "a partial level 1 tile of width 1"; a tree of 70,000
  // has a partial level 0 tile of width 112 (its 274th, N = 273) and its entry bundle.
  EXPECT_EQ(TilePath({1, 0, 1}), "tile/1/000.p/1");
  EXPECT_EQ(TilePath({0, 273, 112}), "tile/0/273.p/112");
  EXPECT_EQ(TilePath({kEntriesLevel, 273, 112}), "tile/entries/273.p/112");
  EXPECT_EQ(TilePath({kEntriesLevel, 1234067, 256}), "tile/entries/x001/x234/067");
  EXPECT_EQ(TilePath({0, UINT64_MAX, 256}), "tile/0/x018/x446/x744/x073/x709/x551/615");
}

TEST(TlogTilesTest, PathsRoundTrip) {
  for (TileId id : std::vector<TileId>{{0, 1234067, 256},
                                       {3, 1234067, 7},
                                       {0, 0, 1},
                                       {1, 0, 1},
                                       {63, 1000000, 255},
                                       {kEntriesLevel, 273, 112},
                                       {kEntriesLevel, 0, 256},
                                       {5, 1000, 128},
                                       {0, UINT64_MAX, 256}}) {
    std::string path = TilePath(id);
    Result<TileId> parsed = ParseTilePath(path);
    ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status().message();
    EXPECT_EQ(*parsed, id) << path;
  }
}

TEST(TlogTilesTest, MalformedPathsAreRejectedWithTheReason) {
  // Level: decimal 0..63 with no leading zeros.
  EXPECT_NE(PathError("tile/00/000").find("leading zero"), std::string::npos);
  EXPECT_NE(PathError("tile/01/000").find("leading zero"), std::string::npos);
  EXPECT_NE(PathError("tile/64/000").find("[0, 63]"), std::string::npos);
  EXPECT_NE(PathError("tile/a/000").find("not a number"), std::string::npos);
  EXPECT_NE(PathError("tile/-1/000").find("not a number"), std::string::npos);
  // Index groups: three digits each, all but the last prefixed with "x".
  EXPECT_NE(PathError("tile/0/001/234").find("must start with \"x\""), std::string::npos);
  EXPECT_NE(PathError("tile/0/x001/x234/x067").find("must not start with \"x\""),
            std::string::npos);
  EXPECT_NE(PathError("tile/0/01").find("three digits"), std::string::npos);
  EXPECT_NE(PathError("tile/0/0005").find("three digits"), std::string::npos);
  EXPECT_NE(PathError("tile/0/x1/000").find("three digits"), std::string::npos);
  EXPECT_NE(PathError("tile/0/00a").find("three digits"), std::string::npos);
  EXPECT_NE(PathError("tile/0/+12").find("three digits"), std::string::npos);
  EXPECT_NE(PathError("tile/0/x000/005").find("leading zero"), std::string::npos);
  EXPECT_NE(PathError("tile/0/x018/x446/x744/x073/x709/x551/616").find("out of range"),
            std::string::npos);
  EXPECT_NE(PathError("tile/0/x001/x001/x001/x001/x001/x001/x001/001").find("too many"),
            std::string::npos);
  // Width: 1..255 with no leading zeros (256 is a full tile, written without ".p").
  EXPECT_NE(PathError("tile/0/000.p/0").find("[1, 255]"), std::string::npos);
  EXPECT_NE(PathError("tile/0/000.p/256").find("[1, 255]"), std::string::npos);
  EXPECT_NE(PathError("tile/0/000.p/999").find("[1, 255]"), std::string::npos);
  EXPECT_NE(PathError("tile/0/000.p/1000").find("too large"), std::string::npos);
  EXPECT_NE(PathError("tile/0/000.p/07").find("leading zero"), std::string::npos);
  EXPECT_NE(PathError("tile/0/000.p/x").find("not a number"), std::string::npos);
  EXPECT_NE(PathError("tile/0/000.p/").find("not a number"), std::string::npos);
  EXPECT_FALSE(ParseTilePath("tile/0/000.p").ok());
  EXPECT_FALSE(ParseTilePath("tile/0/000.p/5/6").ok());
  EXPECT_FALSE(ParseTilePath("tile/0/000/").ok());
  EXPECT_FALSE(ParseTilePath("tile/0/").ok());
  EXPECT_FALSE(ParseTilePath("tile/0").ok());
  EXPECT_FALSE(ParseTilePath("tile/entries/000.q/5").ok());
  EXPECT_NE(PathError("tiles/0/000").find("tile/"), std::string::npos);
  EXPECT_NE(PathError("/tile/0/000").find("tile/"), std::string::npos);
  // The message quotes the path.
  EXPECT_NE(PathError("tile/0/01").find("tile/0/01"), std::string::npos);
}

std::string Describe(const std::vector<TileId>& tiles) {
  std::string out;
  for (const TileId& t : tiles) out += TilePath(t) + " ";
  return out;
}

TEST(TlogTilesTest, TilesForSizeFollowsTheSpecExamples) {
  EXPECT_TRUE(TilesForSize(0, false).empty());
  EXPECT_TRUE(TilesForSize(0, true).empty());
  EXPECT_EQ(Describe(TilesForSize(1, false)), "tile/0/000.p/1 ");
  EXPECT_EQ(Describe(TilesForSize(1, true)), "tile/entries/000.p/1 ");
  // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
  // of width 1."
  EXPECT_EQ(Describe(TilesForSize(256, false)), "tile/0/000 tile/1/000.p/1 ");
  EXPECT_EQ(Describe(TilesForSize(256, true)), "tile/entries/000 ");
  EXPECT_EQ(Describe(TilesForSize(257, false)), "tile/0/000 tile/0/001.p/1 tile/1/000.p/1 ");
  EXPECT_EQ(Describe(TilesForSize(257, true)), "tile/entries/000 tile/entries/001.p/1 ");

  std::vector<TileId> t = TilesForSize(65537, false);
  ASSERT_EQ(t.size(), 256u + 1 + 1 + 1);
  for (uint64_t n = 0; n < 256; ++n) EXPECT_EQ(t[n], (TileId{0, n, 256}));
  EXPECT_EQ(t[256], (TileId{0, 256, 1}));
  EXPECT_EQ(t[257], (TileId{1, 0, 256}));
  EXPECT_EQ(t[258], (TileId{2, 0, 1}));

  // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
  // tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
  // partial level 2 tile of width 1."
  t = TilesForSize(70000, false);
  std::map<int, std::vector<TileId>> by_level;
  for (const TileId& id : t) by_level[id.level].push_back(id);
  ASSERT_EQ(by_level.size(), 3u);
  ASSERT_EQ(by_level[0].size(), 274u);
  for (uint64_t n = 0; n < 273; ++n) EXPECT_EQ(by_level[0][n], (TileId{0, n, 256}));
  EXPECT_EQ(by_level[0][273], (TileId{0, 273, 112}));
  EXPECT_EQ(Describe(by_level[1]), "tile/1/000 tile/1/001.p/17 ");
  EXPECT_EQ(Describe(by_level[2]), "tile/2/000.p/1 ");
  t = TilesForSize(70000, true);
  ASSERT_EQ(t.size(), 274u);
  EXPECT_EQ(t.back(), (TileId{kEntriesLevel, 273, 112}));
}

TEST(TlogTilesTest, EntryBundleLayoutAndRoundTrip) {
  // Big-endian uint16 length, then the entry.
  EXPECT_EQ(HexEncode(EncodeEntryBundle({Bytes{'a'}, Bytes{}, Bytes{1, 2, 3}})),
            "00016100000003010203");
  std::vector<Bytes> entries = {Bytes{}, Bytes(1, 0xff), Bytes(300, 0x41),
                                Bytes(kMaxEntryBytes, 0x5a)};
  for (int i = 0; i < 200; ++i) entries.push_back(Bytes(size_t(i), uint8_t(i)));
  Bytes bundle = EncodeEntryBundle(entries);
  EXPECT_EQ(bundle[2 + 0 + 2 + 1], 0x01);  // length of the 300-byte entry: 0x012c
  EXPECT_EQ(bundle[2 + 0 + 2 + 1 + 1], 0x2c);
  Result<std::vector<Bytes>> decoded = DecodeEntryBundle(bundle);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, entries);
  EXPECT_TRUE(DecodeEntryBundle(Bytes{}).value().empty());
}

TEST(TlogTilesTest, TruncatedAndOverlongBundlesAreRejected) {
  Bytes bundle = EncodeEntryBundle({Bytes(10, 1), Bytes(20, 2)});
  // Every proper prefix that does not end on an entry boundary is truncated.
  for (size_t cut = 1; cut < bundle.size(); ++cut) {
    if (cut == 12) continue;  // exactly the first entry
    Result<std::vector<Bytes>> d = DecodeEntryBundle(ByteView(bundle.data(), cut));
    ASSERT_FALSE(d.ok()) << "cut at " << cut;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidInput);
    std::string entry = cut < 12 ? "entry 0" : "entry 1";
    EXPECT_NE(d.status().message().find(entry), std::string::npos) << d.status().message();
  }
  EXPECT_NE(DecodeEntryBundle(ByteView(bundle.data(), 1)).status().message().find("length prefix"),
            std::string::npos);
  // A length longer than what is left.
  Bytes overlong = {0x00, 0x05, 'a', 'b', 'c'};
  Result<std::vector<Bytes>> d = DecodeEntryBundle(overlong);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("length 5 but only 3 bytes left"), std::string::npos)
      << d.status().message();
  Bytes huge = {0xff, 0xff, 'a'};
  EXPECT_FALSE(DecodeEntryBundle(huge).ok());
  // More entries than one tile holds.
  Bytes many = EncodeEntryBundle(std::vector<Bytes>(257, Bytes{7}));
  d = DecodeEntryBundle(many);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("at most 256"), std::string::npos) << d.status().message();
  EXPECT_TRUE(DecodeEntryBundle(EncodeEntryBundle(std::vector<Bytes>(256, Bytes{7}))).ok());
}

TEST(TlogTilesDeathTest, EncodingAnOverlongEntryNeverWritesACorruptBundle) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(EncodeEntryBundle({Bytes(kMaxEntryBytes + 1, 0)}), "exceeds 65535");
}

// Reads every complete node of every tree size through tiles built from a bigger tree.
TEST(TlogTilesTest, TileHashReaderMatchesBruteForce) {
  constexpr uint64_t kMax = 1000;
  MemoryTree tree(kMax);
  for (uint64_t size = 1; size <= kMax; size += (size < 600 ? 1 : 7)) {
    std::set<std::string> fetched;
    std::set<std::string> expected;
    for (const TileId& id : TilesForSize(size, false)) expected.insert(TilePath(id));
    TileHashReader reader(
        [&](const TileId& id) -> Result<Bytes> {
          fetched.insert(TilePath(id));
          return tree.Tile(id);
        },
        size);
    for (size_t level = 0; level < tree.levels(); ++level) {
      uint64_t complete = size >> level;
      for (uint64_t i = 0; i < complete; ++i) {
        Result<Hash> h = reader.Read(int(level), i);
        ASSERT_TRUE(h.ok()) << size << " (" << level << ", " << i << "): " << h.status().message();
        ASSERT_EQ(*h, tree.level(level)[i]) << size << " (" << level << ", " << i << ")";
      }
      if (complete < tree.level(level).size()) {
        EXPECT_EQ(reader.Read(int(level), complete).status().code(), StatusCode::kNotFound);
      }
    }
    // Only tiles of this tree size, at the widths it has, were asked for.
    for (const std::string& path : fetched) {
      EXPECT_TRUE(expected.count(path)) << "size " << size << " fetched " << path;
    }
    HashReader read = reader.AsReader();
    std::vector<Hash> prefix(tree.leaves().begin(), tree.leaves().begin() + size);
    Hash root = RootFromLeafHashes(prefix);
    Result<Hash> got = TreeRoot(read, size);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(*got, root) << size;
    for (uint64_t index : {uint64_t{0}, size / 2, size - 1}) {
      Result<std::vector<Hash>> proof = InclusionProof(read, index, size);
      ASSERT_TRUE(proof.ok()) << proof.status().message();
      EXPECT_TRUE(VerifyInclusion(tree.leaves()[index], index, size, *proof, root).ok());
    }
  }
}

// A tree with three tile levels (the spec's 70,000 example): nodes at Merkle level 16 and above
// come from level 2 tiles.
TEST(TlogTilesTest, TileHashReaderAcrossThreeTileLevels) {
  constexpr uint64_t kSize = 70000;
  MemoryTree tree(kSize);
  std::set<std::string> expected;
  for (const TileId& id : TilesForSize(kSize, false)) expected.insert(TilePath(id));
  int fetches = 0;
  TileHashReader reader(
      [&](const TileId& id) -> Result<Bytes> {
        ++fetches;
        EXPECT_TRUE(expected.count(TilePath(id))) << TilePath(id);
        return tree.Tile(id);
      },
      kSize);
  HashReader read = reader.AsReader();
  Result<Hash> root = TreeRoot(read, kSize);
  ASSERT_TRUE(root.ok()) << root.status().message();
  EXPECT_EQ(*root, RootFromLeafHashes(tree.leaves()));
  EXPECT_EQ(reader.Read(16, 0).value(), tree.level(16)[0]);
  EXPECT_EQ(reader.Read(15, 1).value(), tree.level(15)[1]);
  EXPECT_EQ(reader.Read(9, 135).value(), tree.level(9)[135]);
  EXPECT_EQ(reader.Read(17, 0).status().code(), StatusCode::kNotFound);

  for (uint64_t index : {uint64_t{0}, uint64_t{65535}, uint64_t{65536}, uint64_t{69999}}) {
    Result<std::vector<Hash>> proof = InclusionProof(read, index, kSize);
    ASSERT_TRUE(proof.ok()) << proof.status().message();
    EXPECT_TRUE(VerifyInclusion(tree.leaves()[index], index, kSize, *proof, *root).ok());
  }
  for (uint64_t from : {uint64_t{1}, uint64_t{256}, uint64_t{65536}, uint64_t{69999}}) {
    Result<std::vector<Hash>> proof = ConsistencyProof(read, from, kSize);
    ASSERT_TRUE(proof.ok()) << proof.status().message();
    Hash old_root =
        RootFromLeafHashes(std::vector<Hash>(tree.leaves().begin(), tree.leaves().begin() + from));
    EXPECT_TRUE(VerifyConsistency(from, kSize, old_root, *root, *proof).ok());
  }
  // Everything is cached now: more proofs fetch nothing.
  int before = fetches;
  for (uint64_t index = 0; index < kSize; index += 997) {
    ASSERT_TRUE(InclusionProof(read, index, kSize).ok());
  }
  EXPECT_LE(fetches - before, int(TilesForSize(kSize, false).size()));
  before = fetches;
  for (uint64_t index = 0; index < kSize; index += 997) {
    ASSERT_TRUE(InclusionProof(read, index, kSize).ok());
  }
  EXPECT_EQ(fetches, before);
}

TEST(TlogTilesTest, TileHashReaderErrors) {
  MemoryTree tree(300);
  // The fetch error, with the tile's path.
  TileHashReader failing([](const TileId&) -> Result<Bytes> { return Status::NotFound("gone"); },
                         300);
  Result<Hash> h = failing.Read(0, 5);
  EXPECT_EQ(h.status().code(), StatusCode::kNotFound);
  EXPECT_NE(h.status().message().find("tile/0/000"), std::string::npos) << h.status().message();
  // A tile shorter than its width.
  TileHashReader short_tile(
      [&](const TileId& id) -> Result<Bytes> {
        Result<Bytes> b = tree.Tile(id);
        if (!b.ok()) return b;
        return Bytes(b->begin(), b->begin() + ptrdiff_t(id.width - 1) * 32);
      },
      300);
  h = short_tile.Read(0, 260);
  EXPECT_EQ(h.status().code(), StatusCode::kCorruption);
  EXPECT_NE(h.status().message().find("tile/0/001.p/44"), std::string::npos)
      << h.status().message();
  // Not a complete node of this tree.
  TileHashReader reader([&](const TileId& id) { return tree.Tile(id); }, 300);
  EXPECT_EQ(reader.Read(0, 300).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reader.Read(2, 75).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reader.Read(9, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reader.Read(64, 0).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(reader.Read(-1, 0).status().code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(reader.Read(8, 0).ok());
  EXPECT_TRUE(reader.Read(2, 74).ok());
}

}  // namespace
}  // namespace custodian::tlog
