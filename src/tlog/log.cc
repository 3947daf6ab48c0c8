// The transparency log's storage and integrator (log.h).
//
// Representation:
//   tlog_pending   entries in append order (seq); integrated in seq order, deleted when
//                  integrated (in the same transaction that writes their tiles).
//   tlog_tiles     (level, idx) -> the current version of that tile: `width` hashes of 32 bytes
//                  (level >= 0) or `width` length-prefixed entries (level -1, entry bundles).
//                  An integration rewrites the partial tile at the right edge of each level with
//                  the new hashes appended and writes every tile it completes once, full. A
//                  narrower width W is served as the first W hashes (entries) of the row: tiles
//                  only grow, so that is exactly the tile as it was at the size that had W.
//   tlog_checkpoints   one row per integration (and size 0), never deleted.
//
// Binary data: PostgreSQL takes parameters as text, so tile data travels as "\x<hex>" into a
// BYTEA column and comes back through encode(data, 'hex'); SQLite binds the bytes as text and
// stores them with CAST(? AS BLOB) (a BLOB is never converted by the column's affinity).
// Pending entries are base64 TEXT on both, as AppendEntry does not know the dialect.
#include "tlog/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/clock.h"

namespace custodian::tlog {

using store::Dialect;
using store::Row;
using store::Rows;
using store::Transaction;
using store::TxMode;
using store::Value;

void WakeIntegrators();
void RecomputeWakeAt();

namespace {

constexpr size_t kHashBytes = sizeof(Hash);
constexpr size_t kMaxBatch = 65536;
// Tile levels that can hold a node of a tree of < 2^64 leaves (Merkle levels 0, 8, …, 56).
constexpr int kMaxTileLevel = 7;
// Tile indices are below 2^56 in any tree of < 2^64 leaves; the cache keys rely on it.
constexpr uint64_t kMaxTileIndex = uint64_t{1} << 56;
// After a woken round that found less than a batch: look again this soon, this many times.
constexpr int64_t kRecheckMs = 25;
constexpr int kRechecks = 40;
constexpr int64_t kMinBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 10000;
// Tiles read per query by CheckAllTiles.
constexpr uint64_t kCheckChunkTiles = 64;

// AppendEntry calls in this process, and the count at which the running integrators want to
// be woken (a batch is waiting); see Log::IntegratorLoop.
std::atomic<uint64_t> g_appended{0};
std::atomic<uint64_t> g_wake_at{std::numeric_limits<uint64_t>::max()};

std::mutex& RunningMu() {
  static auto* mu = new std::mutex;  // never destroyed: used until the last Log stops
  return *mu;
}
std::vector<Log*>& Running() {
  static auto* logs = new std::vector<Log*>;
  return *logs;
}

int64_t NowMs() {
  return RealtimeNs() / 1'000'000;
}

std::string Num(uint64_t n) {
  return std::to_string(n);
}

std::string TileName(int level, uint64_t index, uint32_t width) {
  return TilePath(TileId{level, index, width});
}

Result<Hash> HashFromHex(const std::string& hex, const std::string& what) {
  Result<Hash> h = FixedFromBytes<kHashBytes>(HexDecode(hex), what);
  if (!h.ok()) return Status::Corruption(h.status().message());
  return h;
}

// Level-8·level nodes (leaves for the entry bundles) in a tree of `size` leaves.
uint64_t NodesAt(int level, uint64_t size) {
  if (level <= 0) return size;
  return level > kMaxTileLevel ? 0 : size >> (kTileHeight * level);
}

// Width of tile `index` of `level` in a tree of `size` leaves; 0 when it is beyond the tree.
uint64_t WidthAt(int level, uint64_t index, uint64_t size) {
  const uint64_t nodes = NodesAt(level, size);
  if (index > nodes / kTileWidth) return 0;
  const uint64_t start = index * kTileWidth;
  return nodes <= start ? 0 : std::min(kTileWidth, nodes - start);
}

// Byte length of the first `count` entries of an entry bundle; Corruption when it holds fewer.
Result<size_t> BundlePrefix(ByteView bundle, uint64_t count, const std::string& what) {
  size_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (bundle.size() - pos < 2) {
      return Status::Corruption(what + ": holds " + Num(i) + " entries, expected " + Num(count));
    }
    const size_t len = GetU16(bundle.data() + pos);
    if (bundle.size() - pos - 2 < len) {
      return Status::Corruption(what + ": entry " + Num(i) + " is truncated");
    }
    pos += 2 + len;
  }
  return pos;
}

// ---- tlog_tiles rows ------------------------------------------------------------------------

struct TileRow {
  uint64_t index = 0;
  uint32_t width = 0;
  Bytes data;
};

std::string SelectTilesSql(Dialect d, bool range) {
  std::string sql = d == Dialect::kPostgres ? "SELECT idx, width, encode(data, 'hex')"
                                            : "SELECT idx, width, data";
  sql += " FROM tlog_tiles WHERE level = ? AND idx ";
  sql += range ? ">= ? AND idx < ? ORDER BY idx" : "= ?";
  return sql;
}

// A row as selected by SelectTilesSql, checked: the width is 1..256 and the data holds exactly
// `width` hashes (entries).
Result<TileRow> DecodeTileRow(Dialect d, int level, const Row& row) {
  TileRow t;
  t.index = uint64_t(row.Int(0));
  const int64_t width = row.Int(1);
  const std::string name = TileName(level, t.index, kTileWidth);
  if (width < 1 || width > int64_t(kTileWidth)) {
    return Status::Corruption("tlog: " + name + " is stored with width " + std::to_string(width));
  }
  t.width = uint32_t(width);
  std::string raw = row.Text(2);
  if (d == Dialect::kPostgres) {
    Result<Bytes> bytes = HexDecode(raw);
    if (!bytes.ok()) return Status::Corruption("tlog: " + name + ": data is not hex");
    t.data = std::move(*bytes);
  } else {
    t.data.assign(raw.begin(), raw.end());
  }
  const std::string what = "tlog: " + TileName(level, t.index, t.width);
  if (level == kEntriesLevel) {
    Result<size_t> end = BundlePrefix(t.data, t.width, what);
    if (!end.ok()) return end.status();
    if (*end != t.data.size()) return Status::Corruption(what + ": bytes after the last entry");
  } else if (t.data.size() != size_t{t.width} * kHashBytes) {
    return Status::Corruption(what + ": " + Num(t.data.size()) + " bytes, expected " +
                              Num(size_t{t.width} * kHashBytes));
  }
  return t;
}

// The stored tile (level, index); NotFound when there is none.
Result<TileRow> LoadTile(Dialect d, Transaction& tx, int level, uint64_t index) {
  Result<Rows> rows = tx.Query(SelectTilesSql(d, false), {int64_t{level}, int64_t(index)});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status::NotFound("tlog: " + TileName(level, index, kTileWidth) + " is not stored");
  }
  return DecodeTileRow(d, level, (*rows)[0]);
}

// Stored tiles of `level` with index in [begin, end), in index order.
Result<std::vector<TileRow>> LoadTiles(Dialect d, Transaction& tx, int level, uint64_t begin,
                                       uint64_t end) {
  Result<Rows> rows =
      tx.Query(SelectTilesSql(d, true), {int64_t{level}, int64_t(begin), int64_t(end)});
  if (!rows.ok()) return rows.status();
  std::vector<TileRow> out;
  out.reserve(rows->size());
  for (const Row& row : *rows) {
    Result<TileRow> t = DecodeTileRow(d, level, row);
    if (!t.ok()) return t.status();
    out.push_back(std::move(*t));
  }
  return out;
}

Status StoreTile(Dialect d, Transaction& tx, int level, uint64_t index, uint32_t width,
                 const Bytes& data) {
  if (d == Dialect::kPostgres) {
    return tx.Exec(
        "INSERT INTO tlog_tiles (level, idx, width, data) VALUES (?, ?, ?, CAST(? AS BYTEA)) "
        "ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, data = excluded.data",
        {int64_t{level}, int64_t(index), int64_t{width}, "\\x" + HexEncode(data)});
  }
  return tx.Exec(
      "INSERT INTO tlog_tiles (level, idx, width, data) VALUES (?, ?, ?, CAST(? AS BLOB)) "
      "ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, data = excluded.data",
      {int64_t{level}, int64_t(index), int64_t{width},
       std::string(reinterpret_cast<const char*>(data.data()), data.size())});
}

struct LatestRow {
  uint64_t size = 0;
  Hash root{};
  std::string note;
};

// The latest checkpoint; NotFound when there is none.
Result<LatestRow> ReadLatest(Transaction& tx) {
  Result<Rows> rows =
      tx.Query("SELECT size, root, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1");
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::NotFound("tlog: no checkpoint");
  LatestRow latest;
  latest.size = uint64_t((*rows)[0].Int(0));
  Result<Hash> root =
      HashFromHex((*rows)[0].Text(1), "tlog: root of the checkpoint of size " + Num(latest.size));
  if (!root.ok()) return root.status();
  latest.root = *root;
  latest.note = (*rows)[0].Text(2);
  return latest;
}

std::string SignedCheckpoint(const LogOptions& options, uint64_t size, const Hash& root) {
  Checkpoint cp;
  cp.origin = options.origin;
  cp.size = size;
  cp.root = root;
  Note note;
  note.text = cp.ToText();
  SignNote(note, options.key_name, *options.key);
  return FormatNote(note);
}

}  // namespace

// ---- the tile cache ---------------------------------------------------------------------------

// Tiles read from or written to the database, kept in memory (least recently used go first).
// Every version of a tile is a prefix of the later ones, so a cached version serves every width
// up to its own, whichever size it was read at. Hash tiles also keep the interior nodes of
// in-tile levels 2..7 (Merkle levels 8L+2 … 8L+7) hashed from them or handed over by the
// integrator (126 hashes, half the tile's size): a node of level 8L+1 costs one hash to
// recompute, any other none once known.
class Log::TileCache {
 public:
  explicit TileCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The data of tile (level, index) when the cached version holds at least `width` entries.
  std::shared_ptr<const Bytes> Get(int level, uint64_t index, uint32_t width) {
    std::lock_guard<std::mutex> lock(mu_);
    Tile* t = Find(level, index);
    if (t == nullptr || t->width < width) return nullptr;
    return t->data;
  }

  // Node at in-tile level k (0..7), position j of hash tile (level, index), when the cached
  // version holds the (j+1)·2^k hashes under it.
  std::optional<Hash> Node(int level, uint64_t index, int k, uint64_t j) {
    std::lock_guard<std::mutex> lock(mu_);
    Tile* t = Find(level, index);
    if (t == nullptr || t->width < ((j + 1) << k)) return std::nullopt;
    if (k >= kMemoLevel) EnsureInterior(*t);
    Hash h = NodeOf(*t, k, j);
    Evict();
    return h;
  }

  // Stores a version of tile (level, index); one narrower than the cached version is ignored.
  // Interior nodes already hashed stay: they are complete subtrees, the same in every version.
  void Put(int level, uint64_t index, uint32_t width, std::shared_ptr<const Bytes> data) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Tile* t = Find(level, index)) {
      if (t->width >= width) return;
      bytes_ = bytes_ - t->data->size() + data->size();
      t->width = width;
      t->data = std::move(data);
    } else {
      const uint64_t key = Key(level, index);
      lru_.push_front(key);
      Tile& fresh = tiles_[key];
      fresh.width = width;
      fresh.data = std::move(data);
      fresh.lru = lru_.begin();
      bytes_ += fresh.data->size() + kOverheadBytes;
    }
    Evict();
  }

  // Interior nodes (Merkle levels not a multiple of 8) an integration computed anyway, so
  // proofs need not hash them again; nodes of tiles not cached are dropped.
  void PutNodes(const std::vector<CompactRange::Node>& nodes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const CompactRange::Node& node : nodes) {
      const int k = node.level % kTileHeight;
      if (k < kMemoLevel) continue;
      const uint64_t j = node.index & ((kTileWidth >> k) - 1);
      auto it = tiles_.find(Key(node.level / kTileHeight, node.index >> (kTileHeight - k)));
      if (it == tiles_.end() || it->second.width < ((j + 1) << k)) continue;
      Tile& t = it->second;
      EnsureInterior(t);
      t.interior[Slot(k, j)] = node.hash;
      t.have[Slot(k, j)] = true;
    }
    Evict();
  }

  // Node at in-tile level k, position j, hashed from a tile's data alone (no memo).
  static Hash NodeFromData(const Bytes& data, int k, uint64_t j) {
    if (k == 0) return HashAt(data, j);
    return NodeHash(NodeFromData(data, k - 1, 2 * j), NodeFromData(data, k - 1, 2 * j + 1));
  }

 private:
  static constexpr int kMemoLevel = 2;           // in-tile levels memoised: 2..7
  static constexpr size_t kInteriorSlots = 126;  // 64 + 32 + 16 + 8 + 4 + 2
  static constexpr size_t kOverheadBytes = 128;  // map node, list node, control block

  struct Tile {
    uint32_t width = 0;
    std::shared_ptr<const Bytes> data;
    // In-tile level k (2..7), position j at Slot(k, j); `have` says which are set. Empty
    // until the first such node is asked for or handed over.
    std::vector<Hash> interior;
    std::vector<bool> have;
    std::list<uint64_t>::iterator lru;
  };

  static uint64_t Key(int level, uint64_t index) {
    return (uint64_t(level + 1) << 58) | index;  // level -1..7, index < 2^56
  }

  static Hash HashAt(const Bytes& data, uint64_t j) {
    Hash h;
    std::copy_n(data.begin() + static_cast<ptrdiff_t>(j * kHashBytes), kHashBytes, h.begin());
    return h;
  }

  static size_t Slot(int k, uint64_t j) {
    return (kTileWidth >> (kMemoLevel - 1)) - (2 * kTileWidth >> k) + size_t(j);
  }

  void EnsureInterior(Tile& t) {
    if (!t.interior.empty()) return;
    t.interior.resize(kInteriorSlots);
    t.have.assign(kInteriorSlots, false);
    bytes_ += kInteriorSlots * (kHashBytes + 1);
  }

  // Callers ensured the interior slots exist when k >= kMemoLevel.
  static Hash NodeOf(Tile& t, int k, uint64_t j) {
    if (k == 0) return HashAt(*t.data, j);
    if (k < kMemoLevel) return NodeHash(NodeOf(t, k - 1, 2 * j), NodeOf(t, k - 1, 2 * j + 1));
    const size_t slot = Slot(k, j);
    if (t.have[slot]) return t.interior[slot];
    Hash h = NodeHash(NodeOf(t, k - 1, 2 * j), NodeOf(t, k - 1, 2 * j + 1));
    t.interior[slot] = h;
    t.have[slot] = true;
    return h;
  }

  Tile* Find(int level, uint64_t index) {
    auto it = tiles_.find(Key(level, index));
    if (it == tiles_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.lru);  // most recently used first
    return &it->second;
  }

  void Evict() {
    while (bytes_ > max_bytes_ && lru_.size() > 1) {
      auto it = tiles_.find(lru_.back());
      bytes_ -=
          it->second.data->size() + kOverheadBytes + it->second.interior.size() * (kHashBytes + 1);
      tiles_.erase(it);
      lru_.pop_back();
    }
  }

  std::mutex mu_;
  const size_t max_bytes_;
  size_t bytes_ = 0;  // data, interior nodes and overhead of the cached tiles
  std::unordered_map<uint64_t, Tile> tiles_;
  std::list<uint64_t> lru_;  // keys, most recently used first
};

// What one integration computed, applied to the Log's state only once it has committed.
struct Log::Integration {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  size_t count = 0;  // entries integrated
  CompactRange range;
  Hash root{};
  struct Write {
    int level;
    uint64_t index;
    uint32_t width;
    std::shared_ptr<const Bytes> data;
  };
  std::vector<Write> writes;                 // tiles and bundles written
  std::vector<CompactRange::Node> interior;  // new nodes of the levels tiles do not store
};

// ---- schema and appending -------------------------------------------------------------------

store::Migration LogMigration(int version) {
  return {version, "transparency log",
          "CREATE TABLE tlog_pending (\n"
          "  seq {{AUTO_ID}},\n"
          "  entry TEXT NOT NULL,\n"
          "  added_ms BIGINT NOT NULL\n"
          ");\n"
          "CREATE TABLE tlog_tiles (\n"
          "  level INTEGER NOT NULL,\n"
          "  idx BIGINT NOT NULL,\n"
          "  width INTEGER NOT NULL,\n"
          "  data BYTEA NOT NULL,\n"
          "  PRIMARY KEY (level, idx)\n"
          ");\n"
          "CREATE TABLE tlog_checkpoints (\n"
          "  size BIGINT PRIMARY KEY,\n"
          "  root TEXT NOT NULL,\n"
          "  note TEXT NOT NULL,\n"
          "  created_ms BIGINT NOT NULL\n"
          ");\n"
          "CREATE TABLE tlog_cosignatures (\n"
          "  size BIGINT NOT NULL REFERENCES tlog_checkpoints (size),\n"
          "  name TEXT NOT NULL,\n"
          "  key_hash BIGINT NOT NULL,\n"
          "  signature TEXT NOT NULL,\n"
          "  added_ms BIGINT NOT NULL,\n"
          "  PRIMARY KEY (size, name, key_hash)\n"
          ");\n"};
}

Status AppendEntry(Transaction& tx, ByteView entry) {
  if (entry.size() > kMaxEntryBytes) {
    return Status::InvalidInput("log entry: " + Num(entry.size()) + " bytes, at most " +
                                Num(kMaxEntryBytes));
  }
  CUSTODIAN_RETURN_IF_ERROR(tx.Exec("INSERT INTO tlog_pending (entry, added_ms) VALUES (?, ?)",
                                    {Base64Encode(entry), NowMs()}));
  // A hint only (the transaction may yet roll back): a spurious wake costs one empty read.
  if (g_appended.fetch_add(1, std::memory_order_relaxed) + 1 >=
      g_wake_at.load(std::memory_order_relaxed)) {
    WakeIntegrators();
  }
  return Status::Ok();
}

// g_wake_at = the lowest wake_at_ of the running integrators. Caller holds RunningMu().
void RecomputeWakeAt() {
  uint64_t lowest = std::numeric_limits<uint64_t>::max();
  for (const Log* log : Running()) lowest = std::min(lowest, log->wake_at_);
  g_wake_at.store(lowest, std::memory_order_relaxed);
}

void WakeIntegrators() {
  std::lock_guard<std::mutex> lock(RunningMu());
  const uint64_t appended = g_appended.load(std::memory_order_relaxed);
  for (Log* log : Running()) {
    if (appended < log->wake_at_) continue;
    log->wake_at_ = std::numeric_limits<uint64_t>::max();  // until it integrates again
    log->Wake();
  }
  RecomputeWakeAt();
}

// ---- opening ----------------------------------------------------------------------------------

Log::Log(store::Database& db, LogOptions options)
    : db_(db),
      options_(std::move(options)),
      vkey_(MakeVerifierKey(options_.key_name, kNoteKeyEd25519, options_.key->public_key())),
      hash_cache_(std::make_unique<TileCache>(options_.cache_bytes)),
      bundle_cache_(std::make_unique<TileCache>(options_.bundle_cache_bytes)) {}

Log::~Log() {
  StopIntegrator();
}

Result<std::unique_ptr<Log>> Log::Open(store::Database& db, LogOptions options) {
  if (options.origin.empty() || options.origin.find('\n') != std::string::npos) {
    return Status::InvalidInput("log origin: must be one non-empty line");
  }
  if (options.key_name.empty()) options.key_name = options.origin;
  if (!ValidKeyName(options.key_name)) {
    return Status::InvalidInput("log key name: must be non-empty, without spaces or '+', got \"" +
                                options.key_name + "\"");
  }
  if (options.key == nullptr) return Status::InvalidInput("log key: missing");
  if (options.batch_max < 1 || options.batch_max > kMaxBatch) {
    return Status::InvalidInput("log batch: must be in 1.." + Num(kMaxBatch) + ", got " +
                                Num(options.batch_max));
  }
  if (options.integrate_interval_ms < 1) {
    return Status::InvalidInput("log integration interval: must be >= 1 ms");
  }
  InitCrypto();
  std::unique_ptr<Log> log(new Log(db, std::move(options)));
  CUSTODIAN_RETURN_IF_ERROR(log->CheckOnOpen());
  return log;
}

Status Log::CheckOnOpen() {
  const Dialect d = db_.dialect();
  CUSTODIAN_RETURN_IF_ERROR(db_.InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    Result<Rows> any = tx.Query("SELECT size FROM tlog_checkpoints LIMIT 1");
    if (!any.ok()) return any.status();
    if (!any->empty()) return Status::Ok();
    const Hash root = EmptyTreeRoot();
    return tx.Exec(
        "INSERT INTO tlog_checkpoints (size, root, note, created_ms) VALUES (0, ?, ?, ?) "
        "ON CONFLICT (size) DO NOTHING",
        {HexEncode(root), SignedCheckpoint(options_, 0, root), NowMs()});
  }));

  LatestRow latest;
  Hash tiles_root{};
  CUSTODIAN_RETURN_IF_ERROR(db_.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    Result<LatestRow> row = ReadLatest(tx);
    if (!row.ok()) return row.status();
    latest = std::move(*row);
    const std::string what = "tlog: the checkpoint of size " + Num(latest.size);
    Result<Note> note = ParseNote(latest.note);
    if (!note.ok()) {
      return Status::Corruption(what + " is not a signed note: " + note.status().message());
    }
    Result<Checkpoint> cp = ParseCheckpoint(note->text);
    if (!cp.ok()) return Status::Corruption(what + ": " + cp.status().message());
    if (cp->origin != options_.origin) {
      return Status::InvalidInput("tlog: the database holds the log \"" + cp->origin +
                                  "\", not \"" + options_.origin + "\"");
    }
    if (Status s = VerifyNote(*note, vkey_); !s.ok()) {
      return Status::Corruption(what + " is not signed by this log's key " + vkey_.ToString() +
                                " (is it the log's key?): " + s.message());
    }
    if (cp->size != latest.size || cp->root != latest.root) {
      return Status::Corruption(what + ": the signed note says size " + Num(cp->size) +
                                " and root " + HexEncode(cp->root) + ", its row root " +
                                HexEncode(latest.root));
    }
    if (options_.check_all_tiles_on_open) return Status::Ok();  // below, after this snapshot
    // The root from the stored tiles on the tree's right edge, read the way an auditor reads
    // them (TileHashReader), independently of this object's cache.
    TileHashReader reader(
        [&](const TileId& id) -> Result<Bytes> {
          Result<TileRow> t = LoadTile(d, tx, id.level, id.index);
          if (!t.ok()) {
            return t.status().code() == StatusCode::kNotFound
                       ? Status::Corruption("tlog: " + TilePath(id) + " is missing")
                       : t.status();
          }
          if (t->width < id.width) {
            return Status::Corruption("tlog: " + TilePath(id) + " is stored with width " +
                                      Num(t->width));
          }
          return std::move(t->data);
        },
        latest.size);
    Result<Hash> root = TreeRoot(reader.AsReader(), latest.size);
    if (!root.ok()) {
      return Status::Corruption(
          what + ": cannot recompute its root from the stored tiles: " + root.status().message());
    }
    tiles_root = *root;
    return Status::Ok();
  }));
  if (options_.check_all_tiles_on_open) {
    CUSTODIAN_RETURN_IF_ERROR(CheckAllTiles());
    tiles_root = latest.root;
  }
  if (tiles_root != latest.root) {
    // Find out which tile: the whole tree, but only on the way to refusing to start.
    Status culprit = CheckAllTiles();
    return Status::Corruption("tlog: the checkpoint of size " + Num(latest.size) + " has root " +
                              HexEncode(latest.root) + " but the stored tiles give " +
                              HexEncode(tiles_root) + ": " +
                              (culprit.ok() ? "the checkpoint was altered" : culprit.message()));
  }
  // The edge to append to, through the cache (which also warms it).
  std::lock_guard<std::mutex> lock(integrate_mu_);
  Result<CompactRange> range = CompactRange::ForSize(CachedReader(nullptr), latest.size);
  if (!range.ok()) return range.status();
  if (range->Root() != latest.root) {
    return Status::Corruption("tlog: the right edge of the tree of size " + Num(latest.size) +
                              " does not give its checkpoint's root");
  }
  range_ = std::move(*range);
  range_root_ = latest.root;
  SetSize(latest.size);
  return Status::Ok();
}

// ---- integration ------------------------------------------------------------------------------

Result<uint64_t> Log::Integrate() {
  size_t integrated = 0;
  return IntegrateOnce(&integrated);
}

Result<uint64_t> Log::IntegrateOnce(size_t* integrated) {
  std::lock_guard<std::mutex> lock(integrate_mu_);
  Integration out;
  CUSTODIAN_RETURN_IF_ERROR(db_.InTransaction(
      TxMode::kWrite, [&](Transaction& tx) -> Status { return IntegrateIn(tx, out); }));
  // Committed: this is now the tree.
  range_ = std::move(out.range);
  range_root_ = out.root;
  for (auto& w : out.writes) CacheFor(w.level).Put(w.level, w.index, w.width, std::move(w.data));
  hash_cache_->PutNodes(out.interior);
  SetSize(out.new_size);
  *integrated = out.count;
  if (out.count > 0) {
    spdlog::debug("tlog: integrated {} entries, tree size {}", out.count, out.new_size);
  }
  return out.new_size;
}

Status Log::IntegrateIn(Transaction& tx, Integration& out) {
  const Dialect d = db_.dialect();
  out = Integration();
  Result<LatestRow> latest = ReadLatest(tx);
  if (!latest.ok()) return latest.status();
  const uint64_t old_size = latest->size;
  // The edge of the tree: ours when it is still the latest, else (another process integrated
  // since) rebuilt from the tiles and checked against the checkpoint.
  if (range_.size() == old_size && range_root_ == latest->root) {
    out.range = range_;
  } else {
    Result<CompactRange> rebuilt = CompactRange::ForSize(CachedReader(&tx), old_size);
    if (!rebuilt.ok()) {
      return rebuilt.status().WithContext("tlog: reading the tree of size " + Num(old_size));
    }
    if (rebuilt->Root() != latest->root) {
      return Status::Corruption("tlog: the stored tiles give root " + HexEncode(rebuilt->Root()) +
                                " for size " + Num(old_size) + ", its checkpoint says " +
                                HexEncode(latest->root));
    }
    out.range = std::move(*rebuilt);
  }
  out.old_size = out.new_size = old_size;
  out.root = latest->root;

  Result<Rows> pending = tx.Query("SELECT seq, entry FROM tlog_pending ORDER BY seq LIMIT ?",
                                  {int64_t(options_.batch_max)});
  if (!pending.ok()) return pending.status();
  if (pending->empty()) return Status::Ok();
  std::vector<Bytes> entries;
  entries.reserve(pending->size());
  for (const Row& row : *pending) {
    Result<Bytes> entry = Base64Decode(row.Text(1));
    if (!entry.ok() || entry->size() > kMaxEntryBytes) {
      return Status::Corruption("tlog: tlog_pending row " + row.Text(0) +
                                ": not the base64 of an entry of at most 65535 bytes");
    }
    entries.push_back(std::move(*entry));
  }
  const int64_t last_seq = pending->back().Int(0);
  const uint64_t new_size = old_size + entries.size();

  // Extend the tree, keeping the nodes tiles store: Merkle levels 0, 8, 16, …
  std::vector<std::vector<Hash>> fresh(kMaxTileLevel + 1);  // new level-8L nodes, in order
  for (const Bytes& entry : entries) {
    for (const CompactRange::Node& node : out.range.Append(LeafHash(entry))) {
      if (node.level % kTileHeight == 0) {
        fresh[node.level / kTileHeight].push_back(node.hash);
      } else {
        out.interior.push_back(node);
      }
    }
  }
  for (int level = 0; level <= kMaxTileLevel; ++level) {
    const uint64_t want = NodesAt(level, new_size) - NodesAt(level, old_size);
    if (fresh[level].size() != want) {
      return Status::Internal("tlog: appending leaves [" + Num(old_size) + ", " + Num(new_size) +
                              ") made " + Num(fresh[level].size()) + " nodes of level " +
                              Num(uint64_t(kTileHeight) * uint64_t(level)) + ", expected " +
                              Num(want));
    }
  }

  // Hash tiles: the partial tile at each level's old edge grows, the others are new.
  for (int level = 0; level <= kMaxTileLevel; ++level) {
    const uint64_t first = NodesAt(level, old_size), last = NodesAt(level, new_size);
    for (uint64_t n = first / kTileWidth; n * kTileWidth < last; ++n) {
      const uint64_t start = n * kTileWidth;
      const uint64_t begin = std::max(first, start), end = std::min(last, start + kTileWidth);
      Bytes data;
      data.reserve((end - start) * kHashBytes);
      if (begin > start) {
        Result<std::shared_ptr<const Bytes>> old = GetTile(&tx, level, n, uint32_t(begin - start));
        if (!old.ok()) return old.status();
        data.assign((*old)->begin(), (*old)->begin() + ptrdiff_t((begin - start) * kHashBytes));
      }
      for (uint64_t i = begin; i < end; ++i) {
        const Hash& h = fresh[level][i - first];
        data.insert(data.end(), h.begin(), h.end());
      }
      out.writes.push_back(
          {level, n, uint32_t(end - start), std::make_shared<const Bytes>(std::move(data))});
    }
  }
  // Entry bundles, the same way.
  for (uint64_t n = old_size / kTileWidth; n * kTileWidth < new_size; ++n) {
    const uint64_t start = n * kTileWidth;
    const uint64_t begin = std::max(old_size, start), end = std::min(new_size, start + kTileWidth);
    Bytes data;
    if (begin > start) {
      const uint64_t have = begin - start;
      Result<std::shared_ptr<const Bytes>> old = GetTile(&tx, kEntriesLevel, n, uint32_t(have));
      if (!old.ok()) return old.status();
      Result<size_t> bytes = BundlePrefix(**old, have, "tlog: " + TileName(kEntriesLevel, n, 256));
      if (!bytes.ok()) return bytes.status();
      data.assign((*old)->begin(), (*old)->begin() + ptrdiff_t(*bytes));
    }
    std::vector<Bytes> part;
    part.reserve(end - begin);
    for (uint64_t i = begin; i < end; ++i) part.push_back(std::move(entries[i - old_size]));
    const Bytes encoded = EncodeEntryBundle(part);
    data.insert(data.end(), encoded.begin(), encoded.end());
    out.writes.push_back(
        {kEntriesLevel, n, uint32_t(end - start), std::make_shared<const Bytes>(std::move(data))});
  }
  for (const auto& w : out.writes) {
    CUSTODIAN_RETURN_IF_ERROR(StoreTile(d, tx, w.level, w.index, w.width, *w.data));
  }
  CUSTODIAN_RETURN_IF_ERROR(tx.Exec("DELETE FROM tlog_pending WHERE seq <= ?", {last_seq}));
  out.root = out.range.Root();
  CUSTODIAN_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO tlog_checkpoints (size, root, note, created_ms) VALUES (?, ?, ?, ?)",
              {int64_t(new_size), HexEncode(out.root),
               SignedCheckpoint(options_, new_size, out.root), NowMs()}));
  out.new_size = new_size;
  out.count = entries.size();
  return Status::Ok();
}

// ---- the integrator thread --------------------------------------------------------------------

void Log::StartIntegrator() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  std::lock_guard<std::mutex> running(RunningMu());
  std::lock_guard<std::mutex> lock(wake_mu_);
  if (integrator_.joinable()) return;
  stop_ = false;
  woken_ = false;
  Running().push_back(this);
  integrator_ = std::thread([this] { IntegratorLoop(); });
}

void Log::StopIntegrator() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  {
    std::lock_guard<std::mutex> running(RunningMu());
    std::lock_guard<std::mutex> lock(wake_mu_);
    if (!integrator_.joinable()) return;
    auto& logs = Running();
    logs.erase(std::remove(logs.begin(), logs.end(), this), logs.end());
    wake_at_ = std::numeric_limits<uint64_t>::max();
    RecomputeWakeAt();
    stop_ = true;
  }
  wake_cv_.notify_all();
  integrator_.join();
}

void Log::Wake() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

// Integrates, then waits for the interval, a stop, or a full batch appended in this process
// (AppendEntry counts appends and wakes us when the count reaches g_wake_at). A full batch
// integrated means more may be waiting: go again at once.
void Log::IntegratorLoop() {
  int64_t backoff_ms = 0;
  // The wake comes from AppendEntry inside the appender's transaction, which may not have
  // committed when this round reads the pending entries (PostgreSQL's other connection sees
  // only committed rows): the entries that woke us may still be on their way. So after a woken
  // round that found less than a batch, look again shortly (kRecheckMs), a few times, before
  // falling back to the interval.
  bool hinted = false;
  int rechecks_left = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      if (stop_) return;
      woken_ = false;
    }
    const uint64_t appended_before = g_appended.load(std::memory_order_relaxed);
    size_t integrated = 0;
    Status st;
    try {
      Result<uint64_t> size = IntegrateOnce(&integrated);
      if (!size.ok()) st = size.status();
    } catch (const std::exception& e) {
      st = Status::Internal(std::string("uncaught exception: ") + e.what());
    }
    int64_t wait_ms = options_.integrate_interval_ms;
    const uint64_t wake_at = appended_before + options_.batch_max;
    if (!st.ok()) {
      backoff_ms = std::clamp(backoff_ms * 2, kMinBackoffMs, kMaxBackoffMs);
      wait_ms = backoff_ms;
      spdlog::warn("tlog: integration failed, retrying in {} ms: {}", backoff_ms, st.message());
    } else {
      backoff_ms = 0;
      if (integrated >= options_.batch_max) continue;
      if (hinted) rechecks_left = kRechecks;
      if (rechecks_left > 0) {
        --rechecks_left;
        wait_ms = std::min<int64_t>(wait_ms, kRecheckMs);
      }
      std::lock_guard<std::mutex> running(RunningMu());
      wake_at_ = wake_at;
      RecomputeWakeAt();
    }
    const bool armed = st.ok();
    std::unique_lock<std::mutex> lock(wake_mu_);
    hinted = wake_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] {
      return stop_ || (armed && (woken_ || g_appended.load(std::memory_order_relaxed) >= wake_at));
    });
  }
}

// ---- sizes --------------------------------------------------------------------------------------

uint64_t Log::size() const {
  std::lock_guard<std::mutex> lock(size_mu_);
  return size_;
}

void Log::SetSize(uint64_t size) {
  {
    std::lock_guard<std::mutex> lock(size_mu_);
    if (size <= size_) return;
    size_ = size;
  }
  size_cv_.notify_all();
}

bool Log::WaitForSize(uint64_t size, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(size_mu_);
  return size_cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)),
                           [&] { return size_ >= size; });
}

Result<uint64_t> Log::LatestSize(uint64_t at_least) {
  {
    std::lock_guard<std::mutex> lock(size_mu_);
    if (size_ >= at_least) return size_;
  }
  uint64_t latest = 0;
  CUSTODIAN_RETURN_IF_ERROR(db_.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    Result<Rows> rows = tx.Query("SELECT MAX(size) FROM tlog_checkpoints");
    if (!rows.ok()) return rows.status();
    latest = rows->empty() ? 0 : uint64_t((*rows)[0].Int(0));
    return Status::Ok();
  }));
  SetSize(latest);
  return size();
}

// ---- reading ------------------------------------------------------------------------------------

Log::TileCache& Log::CacheFor(int level) {
  return level == kEntriesLevel ? *bundle_cache_ : *hash_cache_;
}

Result<std::shared_ptr<const Bytes>> Log::GetTile(Transaction* tx, int level, uint64_t index,
                                                  uint32_t width) {
  if (auto data = CacheFor(level).Get(level, index, width)) return data;
  const Dialect d = db_.dialect();
  Result<TileRow> row = Status::Internal("tlog: tile not read");
  if (tx != nullptr) {
    row = LoadTile(d, *tx, level, index);
  } else {
    Status st = db_.InTransaction(TxMode::kRead, [&](Transaction& read) -> Status {
      row = LoadTile(d, read, level, index);
      return row.ok() || row.status().code() == StatusCode::kNotFound ? Status::Ok() : row.status();
    });
    if (!st.ok()) return st;
  }
  if (!row.ok()) return row.status();
  if (row->width < width) {
    return Status::NotFound("tlog: " + TileName(level, index, width) +
                            " is beyond the tree (the stored tile has width " + Num(row->width) +
                            ")");
  }
  auto data = std::make_shared<const Bytes>(std::move(row->data));
  CacheFor(level).Put(level, index, row->width, data);
  return data;
}

Result<Hash> Log::ReadNode(Transaction* tx, int level, uint64_t index) {
  if (level < 0 || level > kMaxTileLevel * kTileHeight + kTileHeight - 1) {
    return Status::InvalidInput("tlog: no tree node at level " + std::to_string(level));
  }
  const int tile_level = level / kTileHeight, k = level % kTileHeight;
  const uint64_t n = index >> (kTileHeight - k);
  const uint64_t j = index & ((kTileWidth >> k) - 1);
  if (n >= kMaxTileIndex) return Status::InvalidInput("tlog: node index out of range");
  if (auto h = hash_cache_->Node(tile_level, n, k, j)) return *h;
  Result<std::shared_ptr<const Bytes>> data = GetTile(tx, tile_level, n, uint32_t((j + 1) << k));
  if (!data.ok()) {
    // The caller asked for a node of a tree no larger than the latest: it must be stored.
    if (data.status().code() == StatusCode::kNotFound) {
      return Status::Corruption(data.status().message() + ", but the tree needs node (level " +
                                std::to_string(level) + ", index " + Num(index) + ")");
    }
    return data.status();
  }
  if (auto h = hash_cache_->Node(tile_level, n, k, j)) return *h;
  return TileCache::NodeFromData(**data, k, j);  // evicted at once: a tiny cache
}

HashReader Log::CachedReader(Transaction* tx) {
  return [this, tx](int level, uint64_t index) { return ReadNode(tx, level, index); };
}

Result<Bytes> Log::ReadTile(const TileId& id) {
  if (id.level < kEntriesLevel || id.level > kMaxTileLevel || id.width < 1 ||
      id.width > kTileWidth) {
    return Status::InvalidInput("tlog: no such tile: level " + std::to_string(id.level) +
                                ", width " + std::to_string(id.width));
  }
  if (id.index >= kMaxTileIndex) {
    return Status::NotFound("tlog: " + TilePath(id) + " is beyond the tree");
  }
  Result<std::shared_ptr<const Bytes>> data = GetTile(nullptr, id.level, id.index, id.width);
  if (!data.ok()) return data.status();
  const Bytes& bytes = **data;
  if (id.level != kEntriesLevel) {
    return Bytes(bytes.begin(), bytes.begin() + ptrdiff_t(size_t{id.width} * kHashBytes));
  }
  Result<size_t> end = BundlePrefix(bytes, id.width, "tlog: " + TilePath(id));
  if (!end.ok()) return end.status();
  return Bytes(bytes.begin(), bytes.begin() + ptrdiff_t(*end));
}

Result<Bytes> Log::ReadEntry(uint64_t index) {
  Result<uint64_t> size =
      LatestSize(index == std::numeric_limits<uint64_t>::max() ? index : index + 1);
  if (!size.ok()) return size.status();
  if (index >= *size) {
    return Status::NotFound("tlog: entry " + Num(index) + " is beyond the tree (size " +
                            Num(*size) + ")");
  }
  const uint64_t n = index / kTileWidth, j = index % kTileWidth;
  Result<std::shared_ptr<const Bytes>> data = GetTile(nullptr, kEntriesLevel, n, uint32_t(j + 1));
  if (!data.ok()) {
    return data.status().code() == StatusCode::kNotFound
               ? Status::Corruption(data.status().message() + ", but the tree has entry " +
                                    Num(index))
               : data.status();
  }
  const Bytes& bytes = **data;
  const std::string what = "tlog: " + TileName(kEntriesLevel, n, kTileWidth);
  Result<size_t> pos = BundlePrefix(bytes, j, what);
  if (!pos.ok()) return pos.status();
  const size_t len = GetU16(bytes.data() + *pos);  // BundlePrefix checked the bundle holds j+1
  const auto begin = bytes.begin() + ptrdiff_t(*pos + 2);
  return Bytes(begin, begin + ptrdiff_t(len));
}

Result<std::vector<Hash>> Log::InclusionProof(uint64_t index, uint64_t size) {
  Result<uint64_t> latest = LatestSize(size);
  if (!latest.ok()) return latest.status();
  if (size > *latest) {
    return Status::InvalidInput("size: " + Num(size) + " is beyond the latest checkpoint (" +
                                Num(*latest) + ")");
  }
  return tlog::InclusionProof(CachedReader(nullptr), index, size);
}

Result<std::vector<Hash>> Log::ConsistencyProof(uint64_t from, uint64_t to) {
  Result<uint64_t> latest = LatestSize(to);
  if (!latest.ok()) return latest.status();
  if (to > *latest) {
    return Status::InvalidInput("to: " + Num(to) + " is beyond the latest checkpoint (" +
                                Num(*latest) + ")");
  }
  return tlog::ConsistencyProof(CachedReader(nullptr), from, to);
}

// ---- checkpoints and cosignatures ---------------------------------------------------------------

VerifierKey Log::verifier_key() const {
  return vkey_;
}

Result<std::string> Log::NoteWithCosignatures(Transaction& tx, uint64_t size,
                                              const std::string& note) {
  Result<Rows> rows = tx.Query(
      "SELECT name, key_hash, signature FROM tlog_cosignatures WHERE size = ? "
      "ORDER BY name, key_hash",
      {int64_t(size)});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return note;
  Result<Note> parsed = ParseNote(note);
  if (!parsed.ok()) {
    return Status::Corruption("tlog: the checkpoint of size " + Num(size) +
                              " is not a signed note: " + parsed.status().message());
  }
  for (const Row& row : *rows) {
    Result<Bytes> signature = Base64Decode(row.Text(2));
    if (!signature.ok()) {
      return Status::Corruption("tlog: a cosignature of size " + Num(size) + " is not base64");
    }
    parsed->signatures.push_back({row.Text(0), uint32_t(row.Int(1)), std::move(*signature)});
  }
  return FormatNote(*parsed);
}

Result<std::string> Log::LatestCheckpoint() {
  std::string out;
  uint64_t size = 0;
  CUSTODIAN_RETURN_IF_ERROR(db_.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    Result<LatestRow> latest = ReadLatest(tx);
    if (!latest.ok()) return latest.status();
    size = latest->size;
    Result<std::string> note = NoteWithCosignatures(tx, latest->size, latest->note);
    if (!note.ok()) return note.status();
    out = std::move(*note);
    return Status::Ok();
  }));
  SetSize(size);
  return out;
}

Result<Checkpoint> Log::LatestCheckpointParsed() {
  Result<std::string> text = LatestCheckpoint();
  if (!text.ok()) return text.status();
  Result<Note> note = ParseNote(*text);
  if (!note.ok()) return Status::Corruption("tlog: latest checkpoint: " + note.status().message());
  return ParseCheckpoint(note->text);
}

Result<std::string> Log::CheckpointAt(uint64_t size) {
  std::string out;
  CUSTODIAN_RETURN_IF_ERROR(db_.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    Result<Rows> rows =
        tx.Query("SELECT note FROM tlog_checkpoints WHERE size = ?", {int64_t(size)});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("tlog: no checkpoint of size " + Num(size));
    Result<std::string> note = NoteWithCosignatures(tx, size, (*rows)[0].Text(0));
    if (!note.ok()) return note.status();
    out = std::move(*note);
    return Status::Ok();
  }));
  return out;
}

Result<std::string> Log::PublishedCheckpoint() {
  const size_t required = options_.required_cosignatures;
  if (required == 0) return LatestCheckpoint();
  int64_t size = -1;
  CUSTODIAN_RETURN_IF_ERROR(db_.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    Result<Rows> rows = tx.Query(
        "SELECT size FROM tlog_cosignatures GROUP BY size HAVING COUNT(*) >= ? ORDER BY size "
        "DESC LIMIT 1",
        {int64_t(required)});
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) size = (*rows)[0].Int(0);
    return Status::Ok();
  }));
  if (size < 0) {
    return Status::NotFound("tlog: no checkpoint has " + Num(required) +
                            " witness cosignatures yet");
  }
  return CheckpointAt(uint64_t(size));
}

Status Log::AddCosignature(uint64_t size, const NoteSignature& cosignature) {
  if (!ValidKeyName(cosignature.name)) {
    return Status::InvalidInput("cosignature: key name \"" + cosignature.name + "\" is not valid");
  }
  if (cosignature.signature.size() != 64 && cosignature.signature.size() != 72) {
    return Status::InvalidInput("cosignature: " + Num(cosignature.signature.size()) +
                                " signature bytes, expected 72 (cosignature/v1) or 64");
  }
  if (cosignature.name == vkey_.name && cosignature.key_hash == vkey_.key_hash) {
    return Status::InvalidInput("cosignature: that is the log's own key");
  }
  return db_.InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    Result<Rows> rows =
        tx.Query("SELECT size FROM tlog_checkpoints WHERE size = ?", {int64_t(size)});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("tlog: no checkpoint of size " + Num(size));
    return tx.Exec(
        "INSERT INTO tlog_cosignatures (size, name, key_hash, signature, added_ms) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (size, name, key_hash) DO UPDATE SET "
        "signature = excluded.signature, added_ms = excluded.added_ms",
        {int64_t(size), cosignature.name, int64_t{cosignature.key_hash},
         Base64Encode(cosignature.signature), NowMs()});
  });
}

// ---- the full check -----------------------------------------------------------------------------

Status Log::CheckAllTiles() {
  const Dialect d = db_.dialect();
  // One read transaction: one snapshot, whatever integrates beside it.
  return db_.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    Result<LatestRow> latest = ReadLatest(tx);
    if (!latest.ok()) return latest.status();
    const uint64_t size = latest->size;
    const std::string in_tree = " (tree size " + Num(size) + ")";
    // The rows of `level` for tiles [begin, end), each checked to be there with its width.
    auto load = [&](int level, uint64_t begin, uint64_t end) -> Result<std::vector<TileRow>> {
      Result<std::vector<TileRow>> rows = LoadTiles(d, tx, level, begin, end);
      if (!rows.ok()) return rows.status();
      for (uint64_t n = begin; n < end; ++n) {
        const size_t i = size_t(n - begin);
        const uint32_t width = uint32_t(WidthAt(level, n, size));
        if (i >= rows->size() || (*rows)[i].index != n) {
          return Status::Corruption("tlog: " + TileName(level, n, width) + " is missing" + in_tree);
        }
        if ((*rows)[i].width != width) {
          return Status::Corruption("tlog: " + TileName(level, n, width) +
                                    " is stored with width " + Num((*rows)[i].width) + in_tree);
        }
      }
      return rows;
    };
    // Level 0 from the entry bundles; `above` collects the roots of full tiles: the hashes the
    // next level must hold.
    std::vector<Hash> above;
    const uint64_t bundles = (size + kTileWidth - 1) / kTileWidth;
    for (uint64_t begin = 0; begin < bundles; begin += kCheckChunkTiles) {
      const uint64_t end = std::min(bundles, begin + kCheckChunkTiles);
      Result<std::vector<TileRow>> entry_rows = load(kEntriesLevel, begin, end);
      if (!entry_rows.ok()) return entry_rows.status();
      Result<std::vector<TileRow>> hash_rows = load(0, begin, end);
      if (!hash_rows.ok()) return hash_rows.status();
      for (size_t i = 0; i < entry_rows->size(); ++i) {
        const TileRow& b = (*entry_rows)[i];
        const TileRow& t = (*hash_rows)[i];
        Result<std::vector<Bytes>> entries = DecodeEntryBundle(b.data);
        if (!entries.ok() || entries->size() != b.width) {
          return Status::Corruption("tlog: " + TileName(kEntriesLevel, b.index, b.width) +
                                    " is not a bundle of " + Num(b.width) + " entries");
        }
        std::vector<Hash> leaves;
        leaves.reserve(entries->size());
        for (size_t j = 0; j < entries->size(); ++j) {
          leaves.push_back(LeafHash((*entries)[j]));
          if (!std::equal(leaves[j].begin(), leaves[j].end(),
                          t.data.begin() + ptrdiff_t(j * kHashBytes))) {
            return Status::Corruption("tlog: " + TileName(0, t.index, t.width) + " hash " + Num(j) +
                                      " is not the leaf hash of entry " +
                                      Num(t.index * kTileWidth + j) + " in " +
                                      TileName(kEntriesLevel, b.index, b.width) + in_tree);
          }
        }
        if (t.width == kTileWidth) above.push_back(RootFromLeafHashes(leaves));
      }
    }
    // Each higher level from the one below.
    for (int level = 1; level <= kMaxTileLevel && NodesAt(level, size) > 0; ++level) {
      std::vector<Hash> below = std::move(above);
      above.clear();
      if (below.size() != NodesAt(level, size)) {
        return Status::Internal("tlog: CheckAllTiles counted " + Num(below.size()) +
                                " nodes at level " + Num(uint64_t(kTileHeight) * uint64_t(level)));
      }
      const uint64_t tiles = (below.size() + kTileWidth - 1) / kTileWidth;
      for (uint64_t begin = 0; begin < tiles; begin += kCheckChunkTiles) {
        const uint64_t end = std::min(tiles, begin + kCheckChunkTiles);
        Result<std::vector<TileRow>> rows = load(level, begin, end);
        if (!rows.ok()) return rows.status();
        for (const TileRow& t : *rows) {
          std::vector<Hash> hashes(t.width);
          for (uint32_t j = 0; j < t.width; ++j) {
            std::copy_n(t.data.begin() + ptrdiff_t(j * kHashBytes), kHashBytes, hashes[j].begin());
            if (hashes[j] != below[t.index * kTileWidth + j]) {
              return Status::Corruption("tlog: " + TileName(level, t.index, t.width) + " hash " +
                                        Num(j) + " is not the root of " +
                                        TileName(level - 1, t.index * kTileWidth + j, 256) +
                                        in_tree);
            }
          }
          if (t.width == kTileWidth) above.push_back(RootFromLeafHashes(hashes));
        }
      }
    }
    // Nothing stored beyond the tree.
    Result<Rows> counts = tx.Query("SELECT level, COUNT(*) FROM tlog_tiles GROUP BY level");
    if (!counts.ok()) return counts.status();
    for (const Row& row : *counts) {
      const int level = int(row.Int(0));
      const uint64_t want = (NodesAt(level, size) + kTileWidth - 1) / kTileWidth;
      if (level < kEntriesLevel || level > kMaxTileLevel || uint64_t(row.Int(1)) != want) {
        return Status::Corruption("tlog: " + row.Text(1) + " tiles stored at level " + row.Text(0) +
                                  ", the tree of size " + Num(size) + " has " + Num(want));
      }
    }
    // And the root, from the tiles just checked.
    TileHashReader reader(
        [&](const TileId& id) -> Result<Bytes> {
          Result<TileRow> t = LoadTile(d, tx, id.level, id.index);
          if (!t.ok()) return t.status();
          return std::move(t->data);
        },
        size);
    Result<Hash> root = TreeRoot(reader.AsReader(), size);
    if (!root.ok()) return root.status();
    if (*root != latest->root) {
      return Status::Corruption("tlog: the checkpoint of size " + Num(size) + " has root " +
                                HexEncode(latest->root) + " but the stored tiles give " +
                                HexEncode(*root));
    }
    return Status::Ok();
  });
}

}  // namespace custodian::tlog
