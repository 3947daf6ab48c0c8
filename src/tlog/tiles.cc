// C2SP tlog-tiles paths, tile lists, entry bundles and the tile-backed HashReader.
#include "tlog/tiles.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace custodian::tlog {
namespace {

constexpr size_t kHashBytes = 32;

// N as zero-padded groups of three digits, all but the last prefixed with "x".
std::string EncodeIndex(uint64_t n) {
  std::vector<unsigned> groups;  // least significant first
  do {
    groups.push_back(static_cast<unsigned>(n % 1000));
    n /= 1000;
  } while (n > 0);
  std::string out;
  for (size_t i = groups.size(); i-- > 0;) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%s%03u%s", i > 0 ? "x" : "", groups[i], i > 0 ? "/" : "");
    out += buf;
  }
  return out;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A decimal with no leading zeros, in [lo, hi]; `what` names it in the error.
Result<uint64_t> ParseSmallDecimal(std::string_view s, uint64_t lo, uint64_t hi,
                                   const std::string& what) {
  if (!AllDigits(s))
    return Status::InvalidInput(what + " \"" + std::string(s) + "\": not a number");
  if (s.size() > 1 && s[0] == '0') {
    return Status::InvalidInput(what + " \"" + std::string(s) + "\": leading zero");
  }
  if (s.size() > 3) return Status::InvalidInput(what + " \"" + std::string(s) + "\": too large");
  uint64_t v = 0;
  for (char c : s) v = v * 10 + uint64_t(c - '0');
  if (v < lo || v > hi) {
    return Status::InvalidInput(what + " " + std::to_string(v) + ": must be in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v;
}

// Hashes of the tile's Merkle levels 0..7 above its own hashes, as stored in the cache: level r
// holds width >> r hashes (only complete subtrees inside the tile).
Bytes ExpandTile(ByteView tile, uint32_t width) {
  Bytes out(tile.begin(), tile.begin() + width * kHashBytes);
  size_t prev_offset = 0;
  uint32_t prev_count = width;
  for (int r = 1; r < kTileHeight && (prev_count >> 1) > 0; ++r) {
    uint32_t count = prev_count >> 1;
    size_t offset = out.size();
    out.resize(offset + count * kHashBytes);
    for (uint32_t i = 0; i < count; ++i) {
      Hash left, right;
      std::copy_n(out.begin() + prev_offset + 2 * size_t(i) * kHashBytes, kHashBytes, left.begin());
      std::copy_n(out.begin() + prev_offset + (2 * i + 1) * kHashBytes, kHashBytes, right.begin());
      Hash h = NodeHash(left, right);
      std::copy(h.begin(), h.end(), out.begin() + offset + i * kHashBytes);
    }
    prev_offset = offset;
    prev_count = count;
  }
  return out;
}

}  // namespace

std::string TilePath(const TileId& id) {
  std::string out = "tile/";
  out += id.level == kEntriesLevel ? std::string("entries") : std::to_string(id.level);
  out += "/";
  out += EncodeIndex(id.index);
  if (id.width < kTileWidth) out += ".p/" + std::to_string(id.width);
  return out;
}

Result<TileId> ParseTilePath(std::string_view path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidInput("tile path \"" + std::string(path) + "\": " + why);
  };
  constexpr std::string_view kPrefix = "tile/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return bad("must start with \"tile/\"");
  std::vector<std::string_view> parts;
  for (std::string_view rest = path.substr(kPrefix.size());;) {
    size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (parts.size() < 2) return bad("missing the tile index");

  TileId id;
  if (parts[0] == "entries") {
    id.level = kEntriesLevel;
  } else {
    Result<uint64_t> level = ParseSmallDecimal(parts[0], 0, 63, "level");
    if (!level.ok()) return bad(level.status().message());
    id.level = static_cast<int>(*level);
  }

  // A partial tile ends in "<NNN>.p/<W>": the last index group carries ".p", then the width.
  size_t index_end = parts.size();
  id.width = kTileWidth;
  constexpr std::string_view kPartial = ".p";
  std::string_view last_group = parts[index_end - 1];
  if (parts.size() >= 3 && parts[index_end - 2].size() > kPartial.size() &&
      parts[index_end - 2].ends_with(kPartial)) {
    Result<uint64_t> width = ParseSmallDecimal(parts[index_end - 1], 1, kTileWidth - 1, "width");
    if (!width.ok()) return bad(width.status().message());
    id.width = static_cast<uint32_t>(*width);
    --index_end;
    last_group = parts[index_end - 1];
    last_group.remove_suffix(kPartial.size());
  }

  size_t groups = index_end - 1;
  if (groups > 7) return bad("index has too many groups");
  uint64_t n = 0;
  for (size_t g = 0; g < groups; ++g) {
    std::string_view group = g + 1 == groups ? last_group : parts[1 + g];
    std::string label = "index group " + std::to_string(g + 1) + " \"" + std::string(group) + "\"";
    if (g + 1 < groups) {
      if (group.empty() || group[0] != 'x') return bad(label + ": must start with \"x\"");
      group.remove_prefix(1);
    } else if (!group.empty() && group[0] == 'x') {
      return bad(label + ": the last group must not start with \"x\"");
    }
    if (group.size() != 3 || !AllDigits(group)) return bad(label + ": must be three digits");
    unsigned v =
        unsigned(group[0] - '0') * 100 + unsigned(group[1] - '0') * 10 + unsigned(group[2] - '0');
    if (g == 0 && groups > 1 && v == 0) return bad(label + ": leading zero group");
    if (n > (UINT64_MAX - v) / 1000) return bad("index out of range");
    n = n * 1000 + v;
  }
  id.index = n;
  return id;
}

std::vector<TileId> TilesForSize(uint64_t size, bool entries) {
  std::vector<TileId> out;
  for (int level = 0; level < 64 / kTileHeight + 1; ++level) {
    // Hashes (or entries) at the bottom of this tile level.
    uint64_t count = level * kTileHeight >= 64 ? 0 : size >> (level * kTileHeight);
    if (count == 0) break;
    int tile_level = entries ? kEntriesLevel : level;
    for (uint64_t n = 0; n < count / kTileWidth; ++n) {
      out.push_back({tile_level, n, static_cast<uint32_t>(kTileWidth)});
    }
    if (count % kTileWidth != 0) {
      out.push_back({tile_level, count / kTileWidth, static_cast<uint32_t>(count % kTileWidth)});
    }
    if (entries) break;
  }
  return out;
}

Bytes EncodeEntryBundle(const std::vector<Bytes>& entries) {
  size_t total = 0;
  for (const Bytes& e : entries) total += 2 + e.size();
  Bytes out;
  out.reserve(total);
  for (const Bytes& e : entries) {
    if (e.size() > kMaxEntryBytes) {
      // A caller bug (AppendEntry rejects such entries): never write a corrupt bundle.
      std::fprintf(stderr, "EncodeEntryBundle: entry of %zu bytes exceeds %zu\n", e.size(),
                   kMaxEntryBytes);
      std::abort();
    }
    uint8_t len[2];
    PutU16(len, static_cast<uint16_t>(e.size()));
    out.insert(out.end(), len, len + 2);
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

Result<std::vector<Bytes>> DecodeEntryBundle(ByteView bundle) {
  std::vector<Bytes> entries;
  size_t pos = 0;
  while (pos < bundle.size()) {
    std::string where =
        "entry bundle, entry " + std::to_string(entries.size()) + " at byte " + std::to_string(pos);
    if (entries.size() == kTileWidth) {
      return Status::InvalidInput(where + ": a bundle holds at most 256 entries");
    }
    if (bundle.size() - pos < 2) return Status::InvalidInput(where + ": truncated length prefix");
    size_t len = GetU16(bundle.data() + pos);
    pos += 2;
    if (bundle.size() - pos < len) {
      return Status::InvalidInput(where + ": length " + std::to_string(len) + " but only " +
                                  std::to_string(bundle.size() - pos) + " bytes left");
    }
    entries.emplace_back(bundle.begin() + pos, bundle.begin() + pos + len);
    pos += len;
  }
  return entries;
}

TileHashReader::TileHashReader(TileFetcher fetch, uint64_t size)
    : fetch_(std::move(fetch)), size_(size) {}

Result<Hash> TileHashReader::Read(int level, uint64_t index) {
  auto node = [&] {
    return "node (level " + std::to_string(level) + ", index " + std::to_string(index) + ")";
  };
  if (level < 0 || level > 63) return Status::InvalidInput(node() + ": level out of range");
  // Complete iff (index + 1) · 2^level <= size.
  if (index >= (size_ >> level)) {
    return Status::NotFound(node() + ": not a complete subtree of the tree of size " +
                            std::to_string(size_));
  }
  int tile_level = level / kTileHeight;
  int r = level % kTileHeight;
  // The node's subtree covers tile hashes [index << r, (index + 1) << r) of Merkle level 8·L.
  uint64_t first = index << r;
  uint64_t n = first / kTileWidth;
  uint64_t hashes_at_level = size_ >> (tile_level * kTileHeight);
  uint64_t width64 = hashes_at_level - n * kTileWidth;
  uint32_t width = static_cast<uint32_t>(width64 < kTileWidth ? width64 : kTileWidth);

  std::lock_guard<std::mutex> lock(mu_);
  auto key = std::make_pair(tile_level, n);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    TileId id{tile_level, n, width};
    Result<Bytes> tile = fetch_(id);
    if (!tile.ok()) return tile.status().WithContext(TilePath(id));
    if (tile->size() < size_t(width) * kHashBytes || tile->size() % kHashBytes != 0) {
      return Status::Corruption(TilePath(id) + ": " + std::to_string(tile->size()) +
                                " bytes, expected " + std::to_string(width * kHashBytes));
    }
    it = cache_.emplace(key, ExpandTile(*tile, width)).first;
  }
  // Level r of the expanded tile starts after levels 0..r-1.
  size_t offset = 0;
  for (int j = 0; j < r; ++j) offset += size_t(width >> j) * kHashBytes;
  offset += size_t((first % kTileWidth) >> r) * kHashBytes;
  Hash h;
  std::copy_n(it->second.begin() + offset, kHashBytes, h.begin());
  return h;
}

HashReader TileHashReader::AsReader() {
  return [this](int level, uint64_t index) { return Read(level, index); };
}

}  // namespace custodian::tlog
