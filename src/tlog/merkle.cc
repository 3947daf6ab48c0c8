// RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.
//
// Proof generation follows the recursive definitions of RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1
// (SUBPROOF) over a window [begin, end) of the tree, reading complete subtrees through the
// HashReader. Along the recursion only the first step that keeps the left part (the first
// "left turn") can need the hash of an incomplete range; every other sibling is a complete
// subtree, so a proof costs O(log n) reader calls.
#include "tlog/merkle.h"

#include <bit>
#include <string>

namespace custodian::tlog {
namespace {

// The largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  return std::bit_floor(n - 1);
}

std::string HashPrefix(const Hash& h) {
  return HexEncode(ByteView(h.data(), 8));
}

Result<Hash> ReadNode(const HashReader& read, int level, uint64_t index) {
  Result<Hash> h = read(level, index);
  if (!h.ok()) {
    return h.status().WithContext("node (level " + std::to_string(level) + ", index " +
                                  std::to_string(index) + ")");
  }
  return h;
}

// MTH of a list of hashes per RFC 6962 §2.1, split at the largest power of two below n.
Hash RootOf(const Hash* hashes, size_t n) {
  if (n == 1) return hashes[0];
  size_t k = SplitPoint(n);
  return NodeHash(RootOf(hashes, k), RootOf(hashes + k, n - k));
}

// PATH(m, D[begin:end]) with m = index - begin, appended leaf-side first.
Status Path(const HashReader& read, uint64_t index, uint64_t begin, uint64_t end,
            std::vector<Hash>& proof) {
  uint64_t n = end - begin;
  if (n == 1) return Status::Ok();
  uint64_t k = SplitPoint(n);
  if (index - begin < k) {
    CUSTODIAN_RETURN_IF_ERROR(Path(read, index, begin, begin + k, proof));
    Result<Hash> right = RangeHash(read, begin + k, end);
    if (!right.ok()) return right.status();
    proof.push_back(*right);
  } else {
    CUSTODIAN_RETURN_IF_ERROR(Path(read, index, begin + k, end, proof));
    Result<Hash> left = RangeHash(read, begin, begin + k);
    if (!left.ok()) return left.status();
    proof.push_back(*left);
  }
  return Status::Ok();
}

// SUBPROOF(m, D[begin:end], whole) with m = from - begin.
Status SubProof(const HashReader& read, uint64_t from, uint64_t begin, uint64_t end, bool whole,
                std::vector<Hash>& proof) {
  uint64_t m = from - begin;
  uint64_t n = end - begin;
  if (m == n) {
    if (whole) return Status::Ok();
    Result<Hash> h = RangeHash(read, begin, end);
    if (!h.ok()) return h.status();
    proof.push_back(*h);
    return Status::Ok();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    CUSTODIAN_RETURN_IF_ERROR(SubProof(read, from, begin, begin + k, whole, proof));
    Result<Hash> right = RangeHash(read, begin + k, end);
    if (!right.ok()) return right.status();
    proof.push_back(*right);
  } else {
    CUSTODIAN_RETURN_IF_ERROR(SubProof(read, from, begin + k, end, false, proof));
    Result<Hash> left = RangeHash(read, begin, begin + k);
    if (!left.ok()) return left.status();
    proof.push_back(*left);
  }
  return Status::Ok();
}

}  // namespace

Hash LeafHash(ByteView entry) {
  static constexpr uint8_t kLeafPrefix = 0x00;
  Sha256Hasher h;
  h.Update(ByteView(&kLeafPrefix, 1));
  h.Update(entry);
  return h.Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[1 + 2 * 32];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return Sha256(ByteView(buf, sizeof(buf)));
}

Hash EmptyTreeRoot() {
  return Sha256(ByteView());
}

Hash RootFromLeafHashes(const std::vector<Hash>& leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyTreeRoot();
  return RootOf(leaf_hashes.data(), leaf_hashes.size());
}

Result<Hash> RangeHash(const HashReader& read, uint64_t begin, uint64_t end) {
  if (end <= begin) {
    return Status::InvalidInput("range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                "): must not be empty");
  }
  uint64_t n = end - begin;
  // A complete, aligned subtree is one stored node.
  if (std::has_single_bit(n) && begin % n == 0) {
    int level = std::countr_zero(n);
    return ReadNode(read, level, begin >> level);
  }
  uint64_t k = SplitPoint(n);
  Result<Hash> left = RangeHash(read, begin, begin + k);
  if (!left.ok()) return left;
  Result<Hash> right = RangeHash(read, begin + k, end);
  if (!right.ok()) return right;
  return NodeHash(*left, *right);
}

Result<Hash> TreeRoot(const HashReader& read, uint64_t size) {
  if (size == 0) return EmptyTreeRoot();
  return RangeHash(read, 0, size);
}

Result<std::vector<Hash>> InclusionProof(const HashReader& read, uint64_t index, uint64_t size) {
  if (index >= size) {
    return Status::InvalidInput("inclusion proof: index " + std::to_string(index) +
                                " is not below tree size " + std::to_string(size));
  }
  std::vector<Hash> proof;
  CUSTODIAN_RETURN_IF_ERROR(Path(read, index, 0, size, proof));
  return proof;
}

Result<std::vector<Hash>> ConsistencyProof(const HashReader& read, uint64_t from, uint64_t to) {
  if (from > to) {
    return Status::InvalidInput("consistency proof: from size " + std::to_string(from) +
                                " is larger than to size " + std::to_string(to));
  }
  std::vector<Hash> proof;
  if (from == 0 || from == to) return proof;  // nothing to prove
  CUSTODIAN_RETURN_IF_ERROR(SubProof(read, from, 0, to, true, proof));
  return proof;
}

Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) {
    return Status::FailedCheck("inclusion proof: index " + std::to_string(index) +
                               " is not below tree size " + std::to_string(size));
  }
  // The path has one hash per level below the point where the leaf's and the last leaf's paths
  // from the root part, plus one per left sibling on the right border above it.
  uint64_t last = size - 1;
  size_t inner = std::bit_width(index ^ last);
  size_t border = inner < 64 ? std::popcount(index >> inner) : 0;
  if (proof.size() != inner + border) {
    return Status::FailedCheck("inclusion proof for index " + std::to_string(index) +
                               " in a tree of size " + std::to_string(size) + ": has " +
                               std::to_string(proof.size()) + " hashes, expected " +
                               std::to_string(inner + border));
  }
  // RFC 9162 §2.1.3.2.
  uint64_t fn = index;
  uint64_t sn = last;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Status::FailedCheck("inclusion proof: too many hashes");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::FailedCheck("inclusion proof: too few hashes");
  if (r != root) {
    return Status::FailedCheck("inclusion proof for index " + std::to_string(index) +
                               " in a tree of size " + std::to_string(size) + " leads to root " +
                               HashPrefix(r) + "..., not the expected " + HashPrefix(root) + "...");
  }
  return Status::Ok();
}

Status VerifyConsistency(uint64_t from, uint64_t to, const Hash& from_root, const Hash& to_root,
                         const std::vector<Hash>& proof) {
  std::string what =
      "consistency proof from size " + std::to_string(from) + " to " + std::to_string(to);
  if (from > to) return Status::FailedCheck(what + ": the trees shrink");
  if (from == 0 || from == to) {
    if (!proof.empty()) return Status::FailedCheck(what + ": must be empty");
    if (from == 0 && from_root != EmptyTreeRoot()) {
      return Status::FailedCheck(what + ": the old root is not the empty tree's");
    }
    if (from == to && from_root != to_root) {
      return Status::FailedCheck(what + ": same size, different roots");
    }
    return Status::Ok();
  }
  if (proof.empty()) return Status::FailedCheck(what + ": empty proof");

  // RFC 9162 §2.1.4.2. When `from` is a power of two, its tree is a node of the new tree and the
  // proof leaves it out: it starts from from_root.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(from)) path.push_back(from_root);
  path.insert(path.end(), proof.begin(), proof.end());

  uint64_t fn = from - 1;
  uint64_t sn = to - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Status::FailedCheck(what + ": too many hashes");
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::FailedCheck(what + ": too few hashes");
  if (fr != from_root) {
    return Status::FailedCheck(what + ": leads to old root " + HashPrefix(fr) +
                               "..., not the expected " + HashPrefix(from_root) + "...");
  }
  if (sr != to_root) {
    return Status::FailedCheck(what + ": leads to new root " + HashPrefix(sr) +
                               "..., not the expected " + HashPrefix(to_root) + "...");
  }
  return Status::Ok();
}

Result<CompactRange> CompactRange::ForSize(const HashReader& read, uint64_t size) {
  CompactRange range;
  range.size_ = size;
  for (int level = 63; level >= 0; --level) {
    if (((size >> level) & 1) == 0) continue;
    // The subtree for this bit starts where the higher bits' subtrees end.
    Result<Hash> h = ReadNode(read, level, (size >> level) - 1);
    if (!h.ok()) return h.status().WithContext("compact range of size " + std::to_string(size));
    range.edge_.push_back(*h);
  }
  return range;
}

std::vector<CompactRange::Node> CompactRange::Append(const Hash& leaf_hash) {
  std::vector<Node> created;
  uint64_t index = size_;
  Hash h = leaf_hash;
  int level = 0;
  created.push_back({0, index, h});
  // Each set low bit of the old size is a left sibling waiting on the edge: merge with it.
  while (level < 64 && ((index >> level) & 1) == 1) {
    h = NodeHash(edge_.back(), h);
    edge_.pop_back();
    ++level;
    created.push_back({level, index >> level, h});
  }
  edge_.push_back(h);
  ++size_;
  return created;
}

Hash CompactRange::Root() const {
  if (edge_.empty()) return EmptyTreeRoot();
  Hash r = edge_.back();
  for (size_t i = edge_.size() - 1; i-- > 0;) r = NodeHash(edge_[i], r);
  return r;
}

}  // namespace custodian::tlog
