// Merkle tree hashing, proofs and compact ranges against published RFC 6962 reference values,
// and exhaustively against the brute-force RFC 6962 §2.1 definition for every tree up to 300.
#include "tlog/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

namespace custodian::tlog {
namespace {

Hash H(std::string_view hex) {
  Result<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.ok() && b->size() == 32) << hex;
  Hash h{};
  if (b.ok() && b->size() == 32) std::copy(b->begin(), b->end(), h.begin());
  return h;
}

std::vector<Hash> Hs(std::initializer_list<std::string_view> hexes) {
  std::vector<Hash> out;
  for (std::string_view h : hexes) out.push_back(H(h));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reference vectors: the 8-leaf test tree of the Certificate Transparency reference
// implementation (certificate-transparency merkle_tree_test.cc), as carried by
// github.com/transparency-dev/merkle, file proof/verify_test.go (`leaves`, `roots`,
// `inclusionProofs` with 1-based leaf numbers, `consistencyProofs`).

const char* const kLeavesHex[] = {"",
                                  "00",
                                  "10",
                                  "2021",
                                  "3031",
                                  "40414243",
                                  "5051525354555657",
                                  "606162636465666768696a6b6c6d6e6f"};

const char* const kRootsHex[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",  // size 1
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",  // size 2
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",  // size 3
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",  // size 4
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",  // size 5
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",  // size 6
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",  // size 7
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",  // size 8
};

// SHA-256 of the empty string (RFC 6962 §2.1: MTH({}) = SHA-256()).
constexpr const char* kEmptyRootHex =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::vector<Hash> ReferenceLeafHashes() {
  std::vector<Hash> out;
  for (const char* hex : kLeavesHex) out.push_back(LeafHash(HexDecode(hex).value()));
  return out;
}

struct ReferenceInclusion {
  uint64_t index;  // 0-based (the source lists 1-based leaf numbers)
  uint64_t size;
  std::vector<Hash> proof;
};

std::vector<ReferenceInclusion> ReferenceInclusionProofs() {
  return {
      {0, 1, {}},
      {0, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       Hs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, Hs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       Hs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
}

struct ReferenceConsistency {
  uint64_t from, to;
  std::vector<Hash> proof;
};

std::vector<ReferenceConsistency> ReferenceConsistencyProofs() {
  return {
      {1, 1, {}},
      {1, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       Hs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
}

// ---------------------------------------------------------------------------------------------
// An in-memory tree: every complete node, level by level, computed from the definition.
class MemoryTree {
 public:
  explicit MemoryTree(std::vector<Hash> leaf_hashes) {
    levels_.push_back(std::move(leaf_hashes));
    while (levels_.back().size() >= 2) {
      const std::vector<Hash>& below = levels_.back();
      std::vector<Hash> up;
      for (size_t i = 0; i + 1 < below.size(); i += 2)
        up.push_back(NodeHash(below[i], below[i + 1]));
      levels_.push_back(std::move(up));
    }
  }
  uint64_t size() const { return levels_[0].size(); }
  const Hash& node(int level, uint64_t index) const { return levels_[level][index]; }

  // A reader for the tree of `size` leaves: it serves only the nodes complete in that tree, and
  // counts its calls.
  HashReader Reader(uint64_t size, int* calls = nullptr) const {
    return [this, size, calls](int level, uint64_t index) -> Result<Hash> {
      if (calls != nullptr) ++*calls;
      if (level < 0 || level >= 64 || (index + 1) > (size >> level) ||
          size_t(level) >= levels_.size()) {
        return Status::NotFound("node (" + std::to_string(level) + ", " + std::to_string(index) +
                                ") is not complete in a tree of size " + std::to_string(size));
      }
      return levels_[level][index];
    };
  }

 private:
  std::vector<std::vector<Hash>> levels_;
};

std::vector<Hash> NumberedLeafHashes(uint64_t n) {
  std::vector<Hash> out;
  for (uint64_t i = 0; i < n; ++i) out.push_back(LeafHash(AsBytes("leaf " + std::to_string(i))));
  return out;
}

// Brute-force roots of every prefix: roots[s] = MTH(leaves[0:s]).
std::vector<Hash> PrefixRoots(const std::vector<Hash>& leaves) {
  std::vector<Hash> roots;
  for (size_t s = 0; s <= leaves.size(); ++s) {
    roots.push_back(RootFromLeafHashes(std::vector<Hash>(leaves.begin(), leaves.begin() + s)));
  }
  return roots;
}

Hash Flip(Hash h, int bit) {
  h[bit / 8 % 32] ^= uint8_t(1u << (bit % 8));
  return h;
}

// ---------------------------------------------------------------------------------------------

TEST(TlogMerkleTest, HashesFollowRfc6962Prefixes) {
  EXPECT_EQ(EmptyTreeRoot(), H(kEmptyRootHex));
  // RFC 6962 §2.1: MTH of one entry is its leaf hash; the reference root of size 1 is
  // SHA-256(0x00) — the leaf hash of the empty entry.
  EXPECT_EQ(LeafHash(ByteView()), H(kRootsHex[0]));
  std::vector<Hash> leaves = ReferenceLeafHashes();
  EXPECT_EQ(NodeHash(leaves[0], leaves[1]), H(kRootsHex[1]));
}

TEST(TlogMerkleTest, RootsMatchReferenceVectors) {
  std::vector<Hash> leaves = ReferenceLeafHashes();
  MemoryTree tree(leaves);
  EXPECT_EQ(RootFromLeafHashes({}), H(kEmptyRootHex));
  EXPECT_EQ(TreeRoot(tree.Reader(0), 0).value(), H(kEmptyRootHex));
  CompactRange range;
  EXPECT_EQ(range.Root(), H(kEmptyRootHex));
  for (size_t size = 1; size <= 8; ++size) {
    SCOPED_TRACE("size " + std::to_string(size));
    Hash want = H(kRootsHex[size - 1]);
    EXPECT_EQ(RootFromLeafHashes(std::vector<Hash>(leaves.begin(), leaves.begin() + size)), want);
    Result<Hash> root = TreeRoot(tree.Reader(size), size);
    ASSERT_TRUE(root.ok()) << root.status().message();
    EXPECT_EQ(*root, want);
    range.Append(leaves[size - 1]);
    EXPECT_EQ(range.Root(), want);
  }
}

TEST(TlogMerkleTest, InclusionProofsMatchReferenceVectors) {
  std::vector<Hash> leaves = ReferenceLeafHashes();
  MemoryTree tree(leaves);
  for (const ReferenceInclusion& ref : ReferenceInclusionProofs()) {
    SCOPED_TRACE("index " + std::to_string(ref.index) + " size " + std::to_string(ref.size));
    Result<std::vector<Hash>> proof = InclusionProof(tree.Reader(ref.size), ref.index, ref.size);
    ASSERT_TRUE(proof.ok()) << proof.status().message();
    EXPECT_EQ(*proof, ref.proof);
    Hash root = H(kRootsHex[ref.size - 1]);
    EXPECT_TRUE(VerifyInclusion(leaves[ref.index], ref.index, ref.size, ref.proof, root).ok());
    // The corruptions of the source's corruptInclusionProof, each of which must fail.
    EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index + 1, ref.size, ref.proof, root).ok());
    if (ref.index > 0) {
      EXPECT_FALSE(
          VerifyInclusion(leaves[ref.index], ref.index - 1, ref.size, ref.proof, root).ok());
    }
    EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index ^ 2, ref.size, ref.proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index, ref.size * 2, ref.proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index, ref.size / 2, ref.proof, root).ok());
    EXPECT_FALSE(
        VerifyInclusion(LeafHash(AsBytes("WrongLeaf")), ref.index, ref.size, ref.proof, root).ok());
    EXPECT_FALSE(
        VerifyInclusion(leaves[ref.index], ref.index, ref.size, ref.proof, EmptyTreeRoot()).ok());
    std::vector<Hash> longer = ref.proof;
    longer.push_back(root);
    EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index, ref.size, longer, root).ok());
    longer = ref.proof;
    longer.insert(longer.begin(), root);
    EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index, ref.size, longer, root).ok());
    for (size_t i = 0; i < ref.proof.size(); ++i) {
      std::vector<Hash> bad = ref.proof;
      bad[i][0] ^= 8;
      EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index, ref.size, bad, root).ok());
    }
    if (!ref.proof.empty()) {
      std::vector<Hash> shorter(ref.proof.begin(), ref.proof.end() - 1);
      EXPECT_FALSE(VerifyInclusion(leaves[ref.index], ref.index, ref.size, shorter, root).ok());
    }
  }
}

TEST(TlogMerkleTest, ConsistencyProofsMatchReferenceVectors) {
  MemoryTree tree(ReferenceLeafHashes());
  for (const ReferenceConsistency& ref : ReferenceConsistencyProofs()) {
    SCOPED_TRACE("from " + std::to_string(ref.from) + " to " + std::to_string(ref.to));
    Result<std::vector<Hash>> proof = ConsistencyProof(tree.Reader(ref.to), ref.from, ref.to);
    ASSERT_TRUE(proof.ok()) << proof.status().message();
    EXPECT_EQ(*proof, ref.proof);
    Hash root1 = H(kRootsHex[ref.from - 1]);
    Hash root2 = H(kRootsHex[ref.to - 1]);
    Status ok = VerifyConsistency(ref.from, ref.to, root1, root2, ref.proof);
    EXPECT_TRUE(ok.ok()) << ok.message();
    if (ref.proof.empty()) continue;
    // The corruptions of the source's corruptConsistencyProof.
    EXPECT_FALSE(VerifyConsistency(ref.from - 1, ref.to, root1, root2, ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from + 1, ref.to, root1, root2, ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from ^ 2, ref.to, root1, root2, ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from, ref.to * 2, root1, root2, ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from, ref.to / 2, root1, root2, ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, root2, root1, ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, Flip(root1, 0), root2, ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, root1, Flip(root2, 0), ref.proof).ok());
    EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, root1, root2, {}).ok());
    for (const Hash& extra : {root1, root2, ref.proof[0]}) {
      std::vector<Hash> longer = ref.proof;
      longer.push_back(extra);
      EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, root1, root2, longer).ok());
      longer = ref.proof;
      longer.insert(longer.begin(), extra);
      EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, root1, root2, longer).ok());
    }
    std::vector<Hash> shorter(ref.proof.begin(), ref.proof.end() - 1);
    EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, root1, root2, shorter).ok());
    for (size_t i = 0; i < ref.proof.size(); ++i) {
      std::vector<Hash> bad = ref.proof;
      bad[i][0] ^= 16;
      EXPECT_FALSE(VerifyConsistency(ref.from, ref.to, root1, root2, bad).ok());
    }
  }
}

TEST(TlogMerkleTest, ExhaustiveInclusionUpTo300) {
  constexpr uint64_t kMax = 300;
  std::vector<Hash> leaves = NumberedLeafHashes(kMax);
  std::vector<Hash> roots = PrefixRoots(leaves);
  MemoryTree tree(leaves);
  for (uint64_t size = 1; size <= kMax; ++size) {
    for (uint64_t index = 0; index < size; ++index) {
      int calls = 0;
      Result<std::vector<Hash>> proof = InclusionProof(tree.Reader(size, &calls), index, size);
      ASSERT_TRUE(proof.ok()) << size << "/" << index << ": " << proof.status().message();
      ASSERT_LE(calls, 2 * int(std::bit_width(size)) + 1) << size << "/" << index;
      const Hash& root = roots[size];
      Status ok = VerifyInclusion(leaves[index], index, size, *proof, root);
      ASSERT_TRUE(ok.ok()) << size << "/" << index << ": " << ok.message();
      for (size_t i = 0; i < proof->size(); ++i) {
        std::vector<Hash> bad = *proof;
        bad[i] = Flip(bad[i], int(i * 37 + index));
        ASSERT_FALSE(VerifyInclusion(leaves[index], index, size, bad, root).ok())
            << size << "/" << index << " flipped " << i;
      }
      // Wrong position.
      if (index + 1 < size) {
        ASSERT_FALSE(VerifyInclusion(leaves[index], index + 1, size, *proof, root).ok());
      }
      if (index > 0) {
        ASSERT_FALSE(VerifyInclusion(leaves[index], index - 1, size, *proof, root).ok());
      }
      // Wrong tree size, with that tree's root. (With the root of `size` itself a proof can
      // verify at another size when the hashing steps coincide — e.g. index 0 at sizes 3 and 4 —
      // which is why a proof is only meaningful against a signed size and root.)
      if (size < kMax) {
        ASSERT_FALSE(VerifyInclusion(leaves[index], index, size + 1, *proof, roots[size + 1]).ok());
      }
      if (size - 1 > index) {
        ASSERT_FALSE(VerifyInclusion(leaves[index], index, size - 1, *proof, roots[size - 1]).ok());
      }
      ASSERT_FALSE(VerifyInclusion(Flip(leaves[index], 3), index, size, *proof, root).ok());
    }
  }
}

TEST(TlogMerkleTest, ExhaustiveConsistencyUpTo300) {
  constexpr uint64_t kMax = 300;
  std::vector<Hash> leaves = NumberedLeafHashes(kMax);
  std::vector<Hash> roots = PrefixRoots(leaves);
  MemoryTree tree(leaves);
  for (uint64_t to = 1; to <= kMax; ++to) {
    for (uint64_t from = 0; from <= to; ++from) {
      int calls = 0;
      Result<std::vector<Hash>> proof = ConsistencyProof(tree.Reader(to, &calls), from, to);
      ASSERT_TRUE(proof.ok()) << from << "->" << to << ": " << proof.status().message();
      ASSERT_LE(calls, 2 * int(std::bit_width(to)) + 1) << from << "->" << to;
      Status ok = VerifyConsistency(from, to, roots[from], roots[to], *proof);
      ASSERT_TRUE(ok.ok()) << from << "->" << to << ": " << ok.message();
      if (from == 0 || from == to) {
        ASSERT_TRUE(proof->empty());
        continue;
      }
      for (size_t i = 0; i < proof->size(); ++i) {
        std::vector<Hash> bad = *proof;
        bad[i] = Flip(bad[i], int(i * 41 + from));
        ASSERT_FALSE(VerifyConsistency(from, to, roots[from], roots[to], bad).ok())
            << from << "->" << to << " flipped " << i;
      }
      // Wrong sizes, with the roots of the sizes claimed.
      ASSERT_FALSE(VerifyConsistency(from - 1, to, roots[from - 1], roots[to], *proof).ok());
      if (from + 1 < to) {
        ASSERT_FALSE(VerifyConsistency(from + 1, to, roots[from + 1], roots[to], *proof).ok());
      }
      if (to < kMax) {
        ASSERT_FALSE(VerifyConsistency(from, to + 1, roots[from], roots[to + 1], *proof).ok());
      }
      if (to - 1 > from) {
        ASSERT_FALSE(VerifyConsistency(from, to - 1, roots[from], roots[to - 1], *proof).ok());
      }
      ASSERT_FALSE(VerifyConsistency(from, to, roots[from - 1], roots[to], *proof).ok());
      ASSERT_FALSE(VerifyConsistency(from, to, roots[from], roots[to - 1], *proof).ok());
    }
  }
}

TEST(TlogMerkleTest, RangeHashOfAnyRangeIsItsMth) {
  std::vector<Hash> leaves = NumberedLeafHashes(40);
  MemoryTree tree(leaves);
  for (uint64_t begin = 0; begin < 40; ++begin) {
    for (uint64_t end = begin + 1; end <= 40; ++end) {
      Result<Hash> h = RangeHash(tree.Reader(40), begin, end);
      ASSERT_TRUE(h.ok()) << h.status().message();
      EXPECT_EQ(*h,
                RootFromLeafHashes(std::vector<Hash>(leaves.begin() + begin, leaves.begin() + end)))
          << begin << ".." << end;
    }
  }
  EXPECT_EQ(RangeHash(tree.Reader(40), 5, 5).status().code(), StatusCode::kInvalidInput);
}

TEST(TlogMerkleTest, CompactRangeAppendMatchesBruteForce) {
  constexpr uint64_t kMax = 300;
  std::vector<Hash> leaves = NumberedLeafHashes(kMax);
  std::vector<Hash> roots = PrefixRoots(leaves);
  MemoryTree tree(leaves);
  CompactRange range;
  for (uint64_t i = 0; i < kMax; ++i) {
    std::vector<CompactRange::Node> created = range.Append(leaves[i]);
    uint64_t size = i + 1;
    ASSERT_EQ(range.size(), size);
    ASSERT_EQ(range.Root(), roots[size]) << size;
    // Exactly the complete subtrees whose last leaf is leaf i: (level, index) with
    // (index + 1)·2^level == size, level 0 first.
    std::vector<std::pair<int, uint64_t>> want;
    for (int level = 0; (uint64_t{1} << level) <= size; ++level) {
      if (size % (uint64_t{1} << level) == 0) want.emplace_back(level, (size >> level) - 1);
    }
    ASSERT_EQ(created.size(), want.size()) << size;
    for (size_t k = 0; k < created.size(); ++k) {
      EXPECT_EQ(created[k].level, want[k].first) << size;
      EXPECT_EQ(created[k].index, want[k].second) << size;
      EXPECT_EQ(created[k].hash, tree.node(want[k].first, want[k].second)) << size;
    }
    // ForSize rebuilds the same edge from stored nodes: same root, and the same next append.
    Result<CompactRange> rebuilt = CompactRange::ForSize(tree.Reader(size), size);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().message();
    EXPECT_EQ(rebuilt->size(), size);
    EXPECT_EQ(rebuilt->Root(), roots[size]);
    if (i + 1 < kMax) {
      CompactRange copy = range;
      std::vector<CompactRange::Node> a = copy.Append(leaves[i + 1]);
      std::vector<CompactRange::Node> b = rebuilt->Append(leaves[i + 1]);
      ASSERT_EQ(a.size(), b.size());
      for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].hash, b[k].hash);
      EXPECT_EQ(copy.Root(), rebuilt->Root());
    }
  }
  Result<CompactRange> empty = CompactRange::ForSize(tree.Reader(0), 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Root(), EmptyTreeRoot());
}

TEST(TlogMerkleTest, ArgumentErrorsAndReaderErrors) {
  MemoryTree tree(NumberedLeafHashes(10));
  Result<std::vector<Hash>> p = InclusionProof(tree.Reader(10), 10, 10);
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(p.status().message().find("index 10"), std::string::npos) << p.status().message();
  p = InclusionProof(tree.Reader(0), 0, 0);
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidInput);
  p = ConsistencyProof(tree.Reader(10), 7, 6);
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(p.status().message().find("from size 7"), std::string::npos) << p.status().message();

  // A reader that lacks a node: the error says which node.
  HashReader failing = [&](int level, uint64_t index) -> Result<Hash> {
    if (level == 3 && index == 0) return Status::NotFound("missing");
    return tree.Reader(10)(level, index);
  };
  p = InclusionProof(failing, 9, 10);
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("level 3, index 0"), std::string::npos)
      << p.status().message();
  EXPECT_FALSE(TreeRoot(failing, 10).ok());
  EXPECT_FALSE(CompactRange::ForSize(failing, 8).ok());

  // Verification of impossible positions fails with a reason.
  Status s = VerifyInclusion(Hash{}, 3, 3, {}, Hash{});
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
  s = VerifyConsistency(5, 4, Hash{}, Hash{}, {});
  EXPECT_EQ(s.code(), StatusCode::kFailedCheck);
}

TEST(TlogMerkleTest, TrivialConsistencyProofs) {
  Hash a = LeafHash(AsBytes("a"));
  Hash b = LeafHash(AsBytes("b"));
  // Any tree extends the empty tree; the old root must then be the empty tree's.
  EXPECT_TRUE(VerifyConsistency(0, 0, EmptyTreeRoot(), EmptyTreeRoot(), {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 5, EmptyTreeRoot(), b, {}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 5, a, b, {}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 5, EmptyTreeRoot(), b, {a}).ok());
  // Same size: same root, empty proof.
  EXPECT_TRUE(VerifyConsistency(3, 3, a, a, {}).ok());
  EXPECT_FALSE(VerifyConsistency(3, 3, a, b, {}).ok());
  EXPECT_FALSE(VerifyConsistency(3, 3, a, a, {a}).ok());
  // Growth needs a proof.
  EXPECT_FALSE(VerifyConsistency(1, 2, a, b, {}).ok());
}

// Huge trees, where every leaf is the same: node (level, i) is then Z_level for all i, so the
// reader is O(1) and consistent, and the proof code is exercised at 64-bit sizes.
TEST(TlogMerkleTest, HugeTreesNeedLogarithmicReads) {
  std::vector<Hash> z = {LeafHash(AsBytes("same"))};
  for (int l = 1; l < 64; ++l) z.push_back(NodeHash(z.back(), z.back()));
  int calls = 0;
  uint64_t bound = 0;
  HashReader uniform = [&](int level, uint64_t index) -> Result<Hash> {
    ++calls;
    if (index >= (bound >> level)) return Status::NotFound("incomplete");
    return z[level];
  };
  for (uint64_t size :
       {uint64_t{1} << 40, (uint64_t{1} << 40) + 12345, uint64_t{0xFFFFFFFFFFFF}, UINT64_MAX}) {
    bound = size;
    Result<Hash> root = TreeRoot(uniform, size);
    ASSERT_TRUE(root.ok()) << root.status().message();
    for (uint64_t index : {uint64_t{0}, size / 3, size - 2, size - 1}) {
      calls = 0;
      Result<std::vector<Hash>> proof = InclusionProof(uniform, index, size);
      ASSERT_TRUE(proof.ok()) << proof.status().message();
      EXPECT_LE(calls, 2 * 64 + 1);
      Status ok = VerifyInclusion(z[0], index, size, *proof, *root);
      EXPECT_TRUE(ok.ok()) << size << "/" << index << ": " << ok.message();
    }
    for (uint64_t from : {uint64_t{1}, size / 2 + 1, size - 1}) {
      bound = from;
      Result<Hash> old_root = TreeRoot(uniform, from);
      ASSERT_TRUE(old_root.ok());
      bound = size;
      calls = 0;
      Result<std::vector<Hash>> proof = ConsistencyProof(uniform, from, size);
      ASSERT_TRUE(proof.ok()) << proof.status().message();
      EXPECT_LE(calls, 2 * 64 + 1);
      Status ok = VerifyConsistency(from, size, *old_root, *root, *proof);
      EXPECT_TRUE(ok.ok()) << from << "->" << size << ": " << ok.message();
    }
    Result<CompactRange> range = CompactRange::ForSize(uniform, size);
    ASSERT_TRUE(range.ok());
    EXPECT_EQ(range->Root(), *root);
  }
}

}  // namespace
}  // namespace custodian::tlog
