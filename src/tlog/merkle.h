// RFC 6962 / RFC 9162 Merkle tree hashing and proofs (SHA-256, leaf prefix 0x00, node 0x01).
//
// Trees are addressed as in C2SP tlog-tiles: the node at (level, index) is the hash of the
// complete subtree over leaves [index·2^level, (index+1)·2^level). Proofs are computed from such
// nodes through a HashReader, so the same code serves the database (stored tiles) and an auditor
// (downloaded tiles). Every function takes the tree size explicitly: a proof is always against
// the size asked for, never "the latest".
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"

namespace custodian::tlog {

using Hash = Sha256Digest;

Hash LeafHash(ByteView entry);                       // SHA-256(0x00 ‖ entry)
Hash NodeHash(const Hash& left, const Hash& right);  // SHA-256(0x01 ‖ left ‖ right)
Hash EmptyTreeRoot();                                // SHA-256("")

// MTH (RFC 6962 §2.1) of a list of leaf hashes.
Hash RootFromLeafHashes(const std::vector<Hash>& leaf_hashes);

// The hash of the complete subtree at (level, index). Callers guarantee the subtree is complete
// in the tree they are asking about; implementations return NotFound/Corruption otherwise.
using HashReader = std::function<Result<Hash>(int level, uint64_t index)>;

// MTH of the leaves [begin, end) of a tree (end > begin), from complete subtrees.
Result<Hash> RangeHash(const HashReader& read, uint64_t begin, uint64_t end);
// Root of the tree of `size` leaves (EmptyTreeRoot for 0).
Result<Hash> TreeRoot(const HashReader& read, uint64_t size);

// RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (SUBPROOF). InvalidInput when index >= size or
// from > to (the message names which).
Result<std::vector<Hash>> InclusionProof(const HashReader& read, uint64_t index, uint64_t size);
Result<std::vector<Hash>> ConsistencyProof(const HashReader& read, uint64_t from, uint64_t to);

// RFC 9162 §2.1.3.2 and §2.1.4.2. FailedCheck, saying what did not match, when the proof fails.
Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       const std::vector<Hash>& proof, const Hash& root);
Status VerifyConsistency(uint64_t from, uint64_t to, const Hash& from_root, const Hash& to_root,
                         const std::vector<Hash>& proof);

// The right edge of a tree: the roots of its maximal complete subtrees, largest (leftmost)
// first — what an appender needs to extend the tree without reading it back. Append returns the
// complete nodes each new leaf creates, (level, index, hash), level 0 first, so they can be
// stored.
class CompactRange {
 public:
  struct Node {
    int level;
    uint64_t index;
    Hash hash;
  };
  CompactRange() = default;
  // Rebuilds the edge of a tree of `size` leaves from its stored nodes.
  static Result<CompactRange> ForSize(const HashReader& read, uint64_t size);
  uint64_t size() const { return size_; }
  std::vector<Node> Append(const Hash& leaf_hash);
  Hash Root() const;  // EmptyTreeRoot for size 0

 private:
  uint64_t size_ = 0;
  std::vector<Hash> edge_;  // one per set bit of size_, highest bit first
};

}  // namespace custodian::tlog
