// The agent's spool: measured bundles the server has not acknowledged yet, one file each.
//
// A bundle is written before it is sent and removed only after the server acknowledged it, so a
// crash, a restart or an unreachable server loses nothing: the next start sends what is left,
// oldest first. Files are `<20-digit sequence>-<8 hex>.json`, mode 0600, written atomically
// (core/file.h: temp file, fsync, rename) and followed by an fsync of the directory so the
// rename itself survives a power cut. The sequence is the wall-clock time in ns, but never less
// than one past the largest already in the directory, so names sort in the order of Put() even
// across restarts and clock steps.
//
// Files that do not parse as a JSON object are renamed `<name>.bad` and skipped with a warning
// (never a crash); bundles the server refused for good are renamed `<name>.rejected` with the
// reason beside them in `<name>.rejected.txt`. Neither is ever sent again. Leftover temporary
// files from an interrupted write are removed at Open.
//
// One process per spool directory: Open takes an exclusive lock on `DIR/.lock` (flock), and a
// second agent on the same directory gets Unavailable. Not thread-safe: one owner.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace custodian::client {

// Where warnings go (a line without trailing newline). Never null after construction.
using LogFn = std::function<void(const std::string&)>;
// Writes "custodian: <line>" to stderr.
LogFn StderrLog();

struct SpoolEntry {
  std::string id;  // file name without ".json"
  nlohmann::json bundle;
};

class Spool {
 public:
  // Creates the directory (0700) if missing. max_entries bounds the disk used while the
  // server is away: Put beyond it drops the oldest bundle with a warning (the registry refuses
  // receipts older than its replay window anyway).
  static Result<std::unique_ptr<Spool>> Open(const std::string& dir, LogFn log = nullptr,
                                             size_t max_entries = 1000);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Stores a bundle durably and returns its id.
  Result<std::string> Put(const nlohmann::json& bundle);
  // Every stored bundle, oldest first. Corrupt files are moved aside (`.bad`) and left out.
  Result<std::vector<SpoolEntry>> List();
  // Number of bundles waiting (without reading them).
  Result<size_t> Count() const;
  // Forgets a bundle the server acknowledged. Removing an id that is gone is not an error.
  Status Remove(const std::string& id);
  // Moves a bundle the server refused for good aside, recording why.
  Status Reject(const std::string& id, const std::string& reason);

  const std::string& dir() const { return dir_; }

 private:
  Spool(std::string dir, int lock_fd, LogFn log, size_t max_entries, uint64_t last_seq);
  Result<std::vector<std::string>> Names() const;  // bundle ids, sorted
  Status SyncDir() const;
  std::string PathOf(const std::string& id) const { return dir_ + "/" + id + ".json"; }

  std::string dir_;
  int lock_fd_;
  LogFn log_;
  size_t max_entries_;
  uint64_t last_seq_;
};

}  // namespace custodian::client
