#include "tlog/auditor.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/file.h"

namespace custodian::tlog {
namespace {

using nlohmann::json;

std::string B64(const Hash& h) {
  return Base64Encode(h);
}

Hash HashAt(const Bytes& tile, size_t i) {
  Hash h{};
  std::memcpy(h.data(), tile.data() + 32 * i, 32);
  return h;
}

// Width of tile N at tile level L (L = kEntriesLevel for bundles: as level 0) in a tree of
// `size` leaves: 256 when full, else the partial width.
uint32_t TileWidth(int level, uint64_t n, uint64_t size) {
  int shift = 8 * (level == kEntriesLevel ? 0 : level);
  uint64_t nodes = shift >= 64 ? 0 : size >> shift;  // hashes at this level
  uint64_t full = nodes / kTileWidth;
  return n < full ? uint32_t(kTileWidth) : uint32_t(nodes % kTileWidth);
}

std::string SizeRoot(uint64_t size, const Hash& root) {
  return "size " + std::to_string(size) + " (root " + B64(root) + ")";
}

}  // namespace

Result<std::optional<AuditorState>> LoadAuditorState(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) return std::optional<AuditorState>();
  auto text = ReadFile(path);
  if (!text.ok()) return text.status().WithContext("--state");
  auto bad = [&](const std::string& what) {
    return Status::InvalidInput("--state " + path + ": " + what);
  };
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (!j.contains("origin") || !j["origin"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned() || !j.contains("root") || !j["root"].is_string()) {
    return bad("origin, size and root must be present and well typed");
  }
  AuditorState st;
  st.origin = j["origin"].get<std::string>();
  st.size = j["size"].get<uint64_t>();
  auto root = FixedFromBytes<32>(Base64Decode(j["root"].get<std::string>()), "root");
  if (!root.ok()) return bad(root.status().message());
  st.root = *root;
  if (j.contains("checkpoint") && j["checkpoint"].is_string()) {
    st.checkpoint = j["checkpoint"].get<std::string>();
  }
  return std::optional<AuditorState>(std::move(st));
}

Status SaveAuditorState(const std::string& path, const AuditorState& st) {
  json j = {{"origin", st.origin},
            {"size", st.size},
            {"root", B64(st.root)},
            {"checkpoint", st.checkpoint}};
  std::string text = j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  return WriteFileAtomic(path, text, 0600).WithContext("--state");
}

Auditor::Auditor(LogFetcher fetch, AuditorOptions options)
    : fetch_(std::move(fetch)), options_(std::move(options)) {
  if (options_.origin.empty()) options_.origin = options_.log_key.name;
}

std::string Auditor::TilesReadText() const {
  std::string out;
  for (const auto& p : tiles_read_) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "none" : out;
}

Result<Bytes> Auditor::FetchTile(const TileId& id) {
  const std::string path = TilePath(id);
  if (auto it = cache_.find(path); it != cache_.end()) return it->second;
  std::string used = path;
  auto got = fetch_(path);
  if (!got.ok() && got.status().code() == StatusCode::kNotFound && id.width < kTileWidth) {
    // Logs may delete a partial tile once the full one exists (tlog-tiles).
    TileId full = id;
    full.width = uint32_t(kTileWidth);
    used = TilePath(full);
    got = fetch_(used);
  }
  if (!got.ok()) {
    if (got.status().code() == StatusCode::kNotFound) {
      return Status::FailedCheck("the log does not serve " + path +
                                 ", which its signed checkpoint requires (" +
                                 got.status().message() + ")");
    }
    return got.status();
  }
  if (id.level != kEntriesLevel) {
    size_t want = (used == path ? id.width : kTileWidth) * 32;
    if (got->size() != want) {
      return Status::Corruption(used + ": " + std::to_string(got->size()) + " bytes, expected " +
                                std::to_string(want) + " (" + std::to_string(want / 32) +
                                " hashes of 32 bytes)");
    }
  }
  tiles_read_.push_back(used);
  cache_[path] = *got;
  return got;
}

Result<std::pair<Note, Checkpoint>> Auditor::FetchCheckpoint(bool verify_signature) {
  auto raw = fetch_("checkpoint");
  if (!raw.ok()) return raw.status();
  std::string text(raw->begin(), raw->end());
  auto note = ParseNote(text);
  if (!note.ok())
    return Status::FailedCheck("checkpoint: malformed note: " + note.status().message());
  if (verify_signature) {
    Status s = VerifyNote(*note, options_.log_key);
    if (!s.ok()) {
      return Status::FailedCheck("checkpoint: no valid signature by the log key " +
                                 options_.log_key.ToString() + ": " + s.message());
    }
  }
  auto cp = ParseCheckpoint(note->text);
  if (!cp.ok()) return Status::FailedCheck("checkpoint: malformed: " + cp.status().message());
  if (verify_signature && cp->origin != options_.origin) {
    return Status::FailedCheck("checkpoint: origin \"" + cp->origin + "\" is not the log's \"" +
                               options_.origin + "\"");
  }
  return std::make_pair(std::move(*note), std::move(*cp));
}

Status Auditor::CheckInclusion(const Checkpoint& cp, TileHashReader& reader, uint64_t index,
                               Bytes* entry) {
  TileId id{kEntriesLevel, index / kTileWidth,
            TileWidth(kEntriesLevel, index / kTileWidth, cp.size)};
  const std::string path = TilePath(id);
  auto bundle = FetchTile(id);
  if (!bundle.ok()) return bundle.status();
  auto entries = DecodeEntryBundle(*bundle);
  if (!entries.ok()) return Status::Corruption(path + ": " + entries.status().message());
  size_t at = size_t(index % kTileWidth);
  if (entries->size() < id.width) {
    return Status::Corruption(path + ": " + std::to_string(entries->size()) +
                              " entries, expected " + std::to_string(id.width));
  }
  *entry = (*entries)[at];
  Hash leaf = LeafHash(*entry);
  auto proof = InclusionProof(reader.AsReader(), index, cp.size);
  if (!proof.ok())
    return proof.status().WithContext("inclusion proof of entry " + std::to_string(index));
  Status s = VerifyInclusion(leaf, index, cp.size, *proof, cp.root);
  if (!s.ok()) {
    return Status::FailedCheck("entry " + std::to_string(index) + " (" + path +
                               ") is not included in the checkpoint of " +
                               SizeRoot(cp.size, cp.root) + ": " + s.message());
  }
  return Status::Ok();
}

Status Auditor::CheckFull(const Checkpoint& cp, uint64_t* rehashed) {
  const uint64_t size = cp.size;
  std::vector<Hash> leaves;
  leaves.reserve(size_t(size));
  // Level 0: every entry against its leaf hash in the level-0 tile.
  for (uint64_t n = 0; n * kTileWidth < size; ++n) {
    uint32_t width = TileWidth(0, n, size);
    TileId bundle_id{kEntriesLevel, n, width};
    TileId tile_id{0, n, width};
    auto bundle = FetchTile(bundle_id);
    if (!bundle.ok()) return bundle.status();
    auto entries = DecodeEntryBundle(*bundle);
    if (!entries.ok()) {
      return Status::Corruption(TilePath(bundle_id) + ": " + entries.status().message());
    }
    if (entries->size() < width) {
      return Status::Corruption(TilePath(bundle_id) + ": " + std::to_string(entries->size()) +
                                " entries, expected " + std::to_string(width));
    }
    auto tile = FetchTile(tile_id);
    if (!tile.ok()) return tile.status();
    for (uint32_t j = 0; j < width; ++j) {
      Hash leaf = LeafHash((*entries)[j]);
      Hash served = HashAt(*tile, j);
      uint64_t index = n * kTileWidth + j;
      if (leaf != served) {
        return Status::FailedCheck(TilePath(tile_id) + " hash " + std::to_string(j) + " (entry " +
                                   std::to_string(index) + ") is " + B64(served) + ", but entry " +
                                   std::to_string(index) + " of " + TilePath(bundle_id) +
                                   " hashes to " + B64(leaf));
      }
      leaves.push_back(leaf);
    }
  }
  // Higher levels: hash j of tile (L, N) is the root of the full tile (L-1, 256·N + j).
  for (int level = 1; level < 8 && (size >> (8 * level)) > 0; ++level) {
    uint64_t nodes = size >> (8 * level);
    for (uint64_t n = 0; n * kTileWidth < nodes; ++n) {
      TileId tile_id{level, n, TileWidth(level, n, size)};
      auto tile = FetchTile(tile_id);
      if (!tile.ok()) return tile.status();
      for (uint32_t j = 0; j < tile_id.width; ++j) {
        TileId child_id{level - 1, n * kTileWidth + j, uint32_t(kTileWidth)};
        auto child = FetchTile(child_id);
        if (!child.ok()) return child.status();
        std::vector<Hash> hashes;
        hashes.reserve(kTileWidth);
        for (size_t k = 0; k < kTileWidth; ++k) hashes.push_back(HashAt(*child, k));
        Hash want = RootFromLeafHashes(hashes);
        Hash served = HashAt(*tile, j);
        if (want != served) {
          return Status::FailedCheck(TilePath(tile_id) + " hash " + std::to_string(j) + " is " +
                                     B64(served) + ", but the hashes of " + TilePath(child_id) +
                                     " hash to " + B64(want));
        }
      }
    }
  }
  Hash root = RootFromLeafHashes(leaves);
  if (root != cp.root) {
    return Status::FailedCheck("the " + std::to_string(size) + " entries hash to root " +
                               B64(root) + ", but the checkpoint says " + B64(cp.root));
  }
  *rehashed = size;
  return Status::Ok();
}

Result<AuditReport> Auditor::Verify() {
  AuditReport report;
  // 1. The checkpoint, its signature and cosignatures.
  auto fetched = FetchCheckpoint(/*verify_signature=*/true);
  if (!fetched.ok()) return fetched.status();
  const Note& note = fetched->first;
  const Checkpoint& cp = fetched->second;
  report.checkpoint = cp;
  std::vector<std::string> missing;
  for (const auto& w : options_.witness_keys) {
    if (VerifyCosignature(note, w).ok()) {
      report.cosigners.push_back(w.name);
    } else {
      missing.push_back(w.name);
    }
  }
  if (report.cosigners.size() < options_.min_cosignatures) {
    std::string which;
    for (const auto& m : missing) which += (which.empty() ? "" : ", ") + m;
    return Status::FailedCheck("checkpoint of " + SizeRoot(cp.size, cp.root) + " has " +
                               std::to_string(report.cosigners.size()) +
                               " valid cosignature(s) from the configured " + "witnesses, " +
                               std::to_string(options_.min_cosignatures) + " required" +
                               (which.empty() ? "" : " (none valid from " + which + ")"));
  }
  for (uint64_t index : options_.entries) {
    if (index >= cp.size) {
      return Status::InvalidInput("--entry " + std::to_string(index) +
                                  ": beyond the tree of size " + std::to_string(cp.size));
    }
  }

  // 2. The saved state: rollback and same-size fork need no tiles.
  if (!options_.state_path.empty()) {
    auto prev = LoadAuditorState(options_.state_path);
    if (!prev.ok()) return prev.status();
    report.previous = std::move(*prev);
  }
  const std::optional<AuditorState>& prev = report.previous;
  if (prev) {
    if (prev->origin != cp.origin) {
      return Status::InvalidInput("--state " + options_.state_path + ": holds the state of log \"" +
                                  prev->origin + "\", not of \"" + cp.origin + "\"");
    }
    if (cp.size < prev->size) {
      return Status::FailedCheck(
          "rollback: the log's checkpoint has " + SizeRoot(cp.size, cp.root) +
          ", smaller than the saved checkpoint of " + SizeRoot(prev->size, prev->root));
    }
    if (cp.size == prev->size && cp.root != prev->root) {
      return Status::FailedCheck(
          "fork: the log's checkpoint of size " + std::to_string(cp.size) + " has root " +
          B64(cp.root) + ", but the saved checkpoint of the same size has root " + B64(prev->root));
    }
  }

  // 3. Everything, from the entries up.
  if (options_.full) {
    CUSTODIAN_RETURN_IF_ERROR(CheckFull(cp, &report.entries_rehashed));
  }

  // 4. The root from the tiles.
  TileHashReader reader([this](const TileId& id) { return FetchTile(id); }, cp.size);
  auto root = TreeRoot(reader.AsReader(), cp.size);
  if (!root.ok()) return root.status().WithContext("tree root from the tiles");
  if (*root != cp.root) {
    return Status::FailedCheck("the tiles read (" + TilesReadText() +
                               ") do not hash to the checkpoint root: they give " + B64(*root) +
                               ", the checkpoint of size " + std::to_string(cp.size) + " says " +
                               B64(cp.root));
  }

  // 5. Consistency with the saved checkpoint.
  if (prev && prev->size > 0 && prev->size < cp.size) {
    auto proof = ConsistencyProof(reader.AsReader(), prev->size, cp.size);
    if (!proof.ok()) return proof.status().WithContext("consistency proof from the tiles");
    Status s = VerifyConsistency(prev->size, cp.size, prev->root, cp.root, *proof);
    if (!s.ok()) {
      return Status::FailedCheck("fork: the log's checkpoint of " + SizeRoot(cp.size, cp.root) +
                                 " is not consistent with the saved checkpoint of " +
                                 SizeRoot(prev->size, prev->root) + ": " + s.message());
    }
  }

  // 6. Inclusion of the requested entries.
  for (uint64_t index : options_.entries) {
    Bytes entry;
    CUSTODIAN_RETURN_IF_ERROR(CheckInclusion(cp, reader, index, &entry));
    report.entries_included.push_back(index);
  }

  // 7. Remember it.
  if (!options_.state_path.empty()) {
    AuditorState st;
    st.origin = cp.origin;
    st.size = cp.size;
    st.root = cp.root;
    st.checkpoint = FormatNote(note);
    CUSTODIAN_RETURN_IF_ERROR(SaveAuditorState(options_.state_path, st));
  }
  report.tiles_read = tiles_read_;
  return report;
}

Result<Bytes> Auditor::FetchEntry(const Checkpoint& cp, uint64_t index, bool verify_inclusion) {
  if (index >= cp.size) {
    return Status::InvalidInput("--index " + std::to_string(index) + ": beyond the tree of size " +
                                std::to_string(cp.size));
  }
  TileHashReader reader([this](const TileId& id) { return FetchTile(id); }, cp.size);
  Bytes entry;
  if (verify_inclusion) {
    CUSTODIAN_RETURN_IF_ERROR(CheckInclusion(cp, reader, index, &entry));
    return entry;
  }
  TileId id{kEntriesLevel, index / kTileWidth,
            TileWidth(kEntriesLevel, index / kTileWidth, cp.size)};
  auto bundle = FetchTile(id);
  if (!bundle.ok()) return bundle.status();
  auto entries = DecodeEntryBundle(*bundle);
  if (!entries.ok()) return Status::Corruption(TilePath(id) + ": " + entries.status().message());
  size_t at = size_t(index % kTileWidth);
  if (entries->size() <= at) {
    return Status::Corruption(TilePath(id) + ": " + std::to_string(entries->size()) +
                              " entries, entry " + std::to_string(index) + " missing");
  }
  return (*entries)[at];
}

}  // namespace custodian::tlog
