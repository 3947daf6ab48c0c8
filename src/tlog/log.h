// The transparency log: entries appended inside the caller's transactions, integrated in
// batches into an RFC 6962 tree stored as C2SP tlog-tiles in the database, with a signed
// checkpoint (C2SP tlog-checkpoint + signed-note) after every integration.
//
// Append and integrate are separate, as in Tessera: AppendEntry writes the entry into a pending
// table in the SAME transaction as the state change it records (so nothing acknowledged is ever
// missing), and the integrator — one per log, a background thread — moves pending entries into
// the tree in order, in one transaction per batch: entry bundles, tiles of every level, the new
// checkpoint and the removal of the pending rows. A crash at any point leaves either the old
// tree or the new one, never a mix; pending entries are integrated after restart.
//
// Storage (LogMigration): every hash tile and entry bundle is stored once, in its current
// (widest) version; a partial tile only ever grows, and its first W hashes are the tile of width
// W as it was at every earlier size, so old `.p/W` tiles and proofs against old sizes are served
// from the same rows. Every checkpoint is kept. Reads go through an in-memory cache of tiles
// (full tiles never change), which also keeps the interior nodes it has hashed, so a proof
// against a warm cache reads no database and hashes nothing twice.
//
// Thread-safety: a Log is thread-safe; any number of threads may read (tiles, entries, proofs,
// checkpoints) while one integrates. Several Logs (several processes) may share one database:
// integrations are serialised by the database, and each Log catches up with the tree it finds.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"
#include "store/database.h"
#include "store/migrate.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace custodian::tlog {

// The log's tables, as a migration with the given version number (the registry's list of
// migrations includes it):
//   tlog_pending(seq, entry, added_ms)           entries appended, not yet integrated; `entry`
//                                                is base64 (TEXT, so it is portable)
//   tlog_tiles(level, idx, width, data)          every tile at its current width; level -1
//                                                (kEntriesLevel) holds entry bundles; `data` is
//                                                BYTEA (PostgreSQL) / a BLOB (SQLite)
//   tlog_checkpoints(size, root, note, created_ms)   every signed checkpoint; root in hex
//   tlog_cosignatures(size, name, key_hash, signature, added_ms)   witness cosignatures
store::Migration LogMigration(int version);

// Queues `entry` (<= kMaxEntryBytes; InvalidInput otherwise) for the log, in `tx`. Also tells
// this process's running integrators that entries are waiting (they integrate as soon as a
// batch is due, instead of at the next interval).
Status AppendEntry(store::Transaction& tx, ByteView entry);

struct LogOptions {
  std::string origin;    // checkpoint origin line, e.g. "custodian.example/log"
  std::string key_name;  // note key name (defaults to origin)
  std::shared_ptr<const SigningKey> key;
  size_t batch_max = 256;                // entries per integration at most (1..65536)
  int64_t integrate_interval_ms = 1000;  // background integration period
  // Memory for cached hash tiles with some of their interior nodes (full tiles never change;
  // the right edge is updated by each integration): about 12.3 KiB per 256 entries, so 64 MiB
  // holds every tile a proof needs in a log of ~1.3M entries. Least recently used go first.
  size_t cache_bytes = size_t{64} << 20;
  // Memory for cached entry bundles (ReadEntry, /log/tile/entries): 256 entries each.
  size_t bundle_cache_bytes = size_t{16} << 20;
  // Open re-derives every tile from the entry bundles (CheckAllTiles) instead of checking the
  // root from the tiles on the tree's right edge only. O(size): for tests and repairs.
  bool check_all_tiles_on_open = false;
  // Witness cosignatures a checkpoint needs before /log/checkpoint shows it (tlog/cosigner.h).
  size_t required_cosignatures = 0;
};

class Log {
 public:
  // Checks the stored tree (size, root of the latest checkpoint, its signature by options.key)
  // against the tiles and signs a checkpoint for size 0 on an empty log. Corruption (naming the
  // size, and the tile where it can) when the tiles do not give the checkpoint's root.
  // `db` (migrated with LogMigration) must outlive the Log.
  static Result<std::unique_ptr<Log>> Open(store::Database& db, LogOptions options);
  ~Log();  // stops the integrator
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Integrates up to batch_max pending entries now (one transaction). Returns the tree size.
  Result<uint64_t> Integrate();
  // Background integration every integrate_interval_ms (and sooner when batch_max are pending);
  // errors are logged and retried with backoff. Stop waits for an integration in progress.
  void StartIntegrator();
  void StopIntegrator();

  // The size of the latest checkpoint this object has integrated or read (it never shrinks).
  uint64_t size() const;
  // Waits until size() >= `size`; false on timeout.
  bool WaitForSize(uint64_t size, int64_t timeout_ms);

  VerifierKey verifier_key() const;        // published at /log/vkey
  Result<std::string> LatestCheckpoint();  // signed note text, with any cosignatures
  Result<Checkpoint> LatestCheckpointParsed();
  // The checkpoint of exactly `size` leaves, with its cosignatures; NotFound when none was
  // signed at that size.
  Result<std::string> CheckpointAt(uint64_t size);
  // The newest checkpoint carrying at least LogOptions::required_cosignatures witness
  // cosignatures (LatestCheckpoint when 0): what /log/checkpoint publishes. NotFound while there
  // is none.
  Result<std::string> PublishedCheckpoint();

  // Tile bytes as served at /log/tile/...: the first `width` hashes (entries) of the stored
  // tile. Every width up to the stored one is served (each is the tile as it was at some
  // earlier size, or a prefix of one); NotFound for a tile or width beyond the tree,
  // InvalidInput for a malformed id.
  Result<Bytes> ReadTile(const TileId& id);
  // Proofs against exactly the size asked (RFC 9162), which must be <= the latest checkpoint's
  // (InvalidInput otherwise, as for index >= size or from > to).
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size);
  Result<std::vector<Hash>> ConsistencyProof(uint64_t from, uint64_t to);
  // Entry `index` (NotFound beyond the tree).
  Result<Bytes> ReadEntry(uint64_t index);

  // Stores a witness cosignature line for the checkpoint of `size` (it is then served with it;
  // a newer one by the same key replaces it). NotFound when there is no checkpoint of that
  // size; InvalidInput for a malformed signature (name, or not 64/72 bytes). The caller (the
  // witness client) has verified it.
  Status AddCosignature(uint64_t size, const NoteSignature& cosignature);

  // Re-derives the whole tree of the latest checkpoint from the stored entry bundles: every
  // leaf hash, every tile of every level, the root. Corruption naming the first tile (or entry
  // bundle) that does not match. O(size) hashing; for tests, repairs and `--full` checks.
  Status CheckAllTiles();

 private:
  class TileCache;     // log.cc
  struct Integration;  // log.cc: what one integration computed

  Log(store::Database& db, LogOptions options);
  Status CheckOnOpen();
  Result<uint64_t> IntegrateOnce(size_t* integrated);
  Status IntegrateIn(store::Transaction& tx, Integration& out);
  // A HashReader over the cached tiles; tiles missing from the cache are read through `tx`
  // (nullptr: a read transaction of their own).
  HashReader CachedReader(store::Transaction* tx);
  Result<Hash> ReadNode(store::Transaction* tx, int level, uint64_t index);
  // The tile (level, index) with at least `width` entries, from the cache or the database.
  Result<std::shared_ptr<const Bytes>> GetTile(store::Transaction* tx, int level, uint64_t index,
                                               uint32_t width);
  TileCache& CacheFor(int level);
  // The latest checkpoint size, re-read from the database when `at_least` is beyond what this
  // object knows (another process may have integrated).
  Result<uint64_t> LatestSize(uint64_t at_least);
  void SetSize(uint64_t size);
  Result<std::string> NoteWithCosignatures(store::Transaction& tx, uint64_t size,
                                           const std::string& note);
  void IntegratorLoop();
  void Wake();  // AppendEntry's hint, through the registry of running integrators (log.cc)
  friend void WakeIntegrators();
  friend void RecomputeWakeAt();

  store::Database& db_;
  const LogOptions options_;
  const VerifierKey vkey_;
  std::unique_ptr<TileCache> hash_cache_;    // hash tiles (levels >= 0)
  std::unique_ptr<TileCache> bundle_cache_;  // entry bundles

  std::mutex integrate_mu_;  // one integration at a time; guards range_ and range_root_
  CompactRange range_;       // the right edge of the tree as last integrated or checked here
  Hash range_root_{};        // range_.Root()

  mutable std::mutex size_mu_;
  std::condition_variable size_cv_;
  uint64_t size_ = 0;  // latest checkpoint size known here; guarded by size_mu_

  std::mutex lifecycle_mu_;  // serialises StartIntegrator and StopIntegrator
  std::mutex wake_mu_;       // guards the fields below
  std::condition_variable wake_cv_;
  std::thread integrator_;
  bool stop_ = false;
  bool woken_ = false;  // AppendEntry saw a batch waiting
  // The count of this process's appends at which the integrator wants waking (a batch is
  // waiting); guarded by the registry of running integrators' mutex (log.cc).
  uint64_t wake_at_ = UINT64_MAX;
};

}  // namespace custodian::tlog
