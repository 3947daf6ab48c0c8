// The log auditor behind `custodian log verify` (the fsck of DESIGN §6): checks what a log
// serves under C2SP tlog-tiles against the log's key, the witnesses' keys and the auditor's own
// memory of the last checkpoint it verified.
//
// It trusts only the signed checkpoint and the tiles: every proof is recomputed from tiles
// (TileHashReader) and verified against checkpoint roots; no server-side proof is used.
//
//   1. GET checkpoint: the log's signature (type 0x01 note key), the origin (the key's name
//      unless told otherwise), and at least `min_cosignatures` valid cosignatures
//      (cosignature/v1) from the configured witnesses.
//   2. The saved state (origin, size, root of the last verified checkpoint), if any: a smaller
//      size is a rollback and the same size with another root a fork.
//   3. With `full`: every entry bundle re-hashed against every level-0 tile hash, every
//      higher-level tile hash against the full tile below it, and the root recomputed from all
//      leaves — a mismatch names the tile, the hash index and the entry index.
//   4. The root recomputed from the tiles must be the checkpoint's root.
//   5. A consistency proof from the saved checkpoint, computed from the tiles, must verify
//      (otherwise: a fork, naming old size/root and new size/root).
//   6. Each requested entry: its entry bundle, its leaf hash, an inclusion proof from the tiles
//      verified against the checkpoint root.
//   7. Only then is the new state saved (atomically, mode 0600).
//
// Errors: FailedCheck (or Corruption) for anything the log got wrong — CLI exit 1; InvalidInput,
// IoError for bad usage or a bad state file, Unavailable when the log cannot be reached —
// exit 2.
//
// Thread-safety: an Auditor is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace custodian::tlog {

// Fetches a resource of the log by its path under the log's prefix: "checkpoint",
// "tile/0/x001/002.p/7", "tile/entries/000". NotFound when the log answers that it has no such
// resource (HTTP 404); Unavailable when it cannot be reached or fails (5xx, transport).
using LogFetcher = std::function<Result<Bytes>(const std::string& path)>;

struct AuditorOptions {
  VerifierKey log_key;                    // type 0x01
  std::string origin;                     // expected origin; empty: log_key.name
  std::vector<VerifierKey> witness_keys;  // type 0x04
  size_t min_cosignatures = 0;            // valid cosignatures required from witness_keys
  std::string state_path;                 // empty: nothing remembered between runs
  std::vector<uint64_t> entries;          // indexes whose inclusion to check
  bool full = false;                      // re-hash the whole log from its entry bundles
};

// The state an auditor keeps: the last checkpoint it verified.
struct AuditorState {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::string checkpoint;  // the signed note as fetched
};
// Absent file: std::nullopt. Unreadable or malformed: IoError / InvalidInput naming the file.
Result<std::optional<AuditorState>> LoadAuditorState(const std::string& path);
Status SaveAuditorState(const std::string& path, const AuditorState& state);

struct AuditReport {
  Checkpoint checkpoint;
  std::vector<std::string> cosigners;      // witnesses whose cosignature verified
  std::optional<AuditorState> previous;    // the saved state it was checked against
  std::vector<uint64_t> entries_included;  // entries whose inclusion was verified
  uint64_t entries_rehashed = 0;           // with `full`
  std::vector<std::string> tiles_read;     // paths, in order of first fetch
};

class Auditor {
 public:
  Auditor(LogFetcher fetch, AuditorOptions options);

  // Steps 1-7 above.
  Result<AuditReport> Verify();

  // The latest checkpoint, its signature checked when `verify_signature`.
  Result<std::pair<Note, Checkpoint>> FetchCheckpoint(bool verify_signature);
  // Entry `index` of the tree of checkpoint `cp` (InvalidInput when index >= cp.size), read from
  // its entry bundle; with `verify_inclusion` its inclusion in `cp` is proven from the tiles.
  Result<Bytes> FetchEntry(const Checkpoint& cp, uint64_t index, bool verify_inclusion);

 private:
  // Fetches (once; later calls hit the cache) the tile or bundle `id`, falling back to the
  // full tile when a partial one is gone, and checks its length.
  Result<Bytes> FetchTile(const TileId& id);
  Status CheckFull(const Checkpoint& cp, uint64_t* rehashed);
  Status CheckInclusion(const Checkpoint& cp, TileHashReader& reader, uint64_t index, Bytes* entry);
  std::string TilesReadText() const;

  LogFetcher fetch_;
  AuditorOptions options_;
  std::map<std::string, Bytes> cache_;  // path asked for -> bytes (as served)
  std::vector<std::string> tiles_read_;
};

}  // namespace custodian::tlog
