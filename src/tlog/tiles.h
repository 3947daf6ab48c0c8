// C2SP tlog-tiles: tile coordinates, paths, contents, and reading tree nodes out of tiles.
//
// A tile at tile level L, index N holds up to 256 consecutive node hashes of Merkle level 8·L
// (32 bytes each, concatenated); it is "full" with 256, otherwise partial with width W (1-255),
// served at path tile/<L>/<N>.p/<W>. N is written in groups of three digits, all but the last
// prefixed with "x": 1234067 -> x001/x234/067. Entry bundles (tile/entries/<N>[.p/<W>]) hold
// the entries of leaves [256·N, 256·N + W), each prefixed by its length as a big-endian uint16.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "tlog/merkle.h"

namespace custodian::tlog {

inline constexpr int kTileHeight = 8;
inline constexpr uint64_t kTileWidth = 256;
inline constexpr size_t kMaxEntryBytes = 65535;  // an entry must fit a uint16 length prefix

struct TileId {
  int level = 0;         // tile level (Merkle level 8·level); kEntriesLevel for entry bundles
  uint64_t index = 0;    // N
  uint32_t width = 256;  // 1..256; 256 = full
  bool operator==(const TileId&) const = default;
};
inline constexpr int kEntriesLevel = -1;

// "tile/0/x001/x234/067.p/7", "tile/entries/000"; and back (InvalidInput naming the part).
std::string TilePath(const TileId& id);
Result<TileId> ParseTilePath(std::string_view path);  // path starts with "tile/"

// The tiles (all levels, widths as of `size`) a tree of `size` leaves consists of; the entry
// bundles with entries = true.
std::vector<TileId> TilesForSize(uint64_t size, bool entries);

Bytes EncodeEntryBundle(const std::vector<Bytes>& entries);  // each <= kMaxEntryBytes
Result<std::vector<Bytes>> DecodeEntryBundle(ByteView bundle);

// Fetches a tile's bytes: from the database, or over HTTP for an auditor. It may return a wider
// tile than asked for (a full tile when a partial one is asked): only the first width·32 bytes
// are used.
using TileFetcher = std::function<Result<Bytes>(const TileId& id)>;

// A HashReader (merkle.h) for a tree of `size` leaves that reads tiles through `fetch`, caching
// them: node (level, index) comes from tile level level/8, hashing up level%8 levels inside it.
class TileHashReader {
 public:
  TileHashReader(TileFetcher fetch, uint64_t size);
  Result<Hash> Read(int level, uint64_t index);
  HashReader AsReader();  // bound to this object; keep it alive

 private:
  TileFetcher fetch_;
  uint64_t size_;
  std::mutex mu_;
  // (tile level, N) -> the tile's W hashes followed by the complete nodes above them inside the
  // tile, one level after another (W>>1 hashes, then W>>2, ... up to 7 levels up), so that a
  // cached read is a lookup, not up to 127 hashes.
  std::map<std::pair<int, uint64_t>, Bytes> cache_;
};

}  // namespace custodian::tlog
