#include "client/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/file.h"

namespace custodian::client {
namespace {

constexpr size_t kSeqDigits = 20;
constexpr size_t kIdSize = kSeqDigits + 1 + 8;  // "<20 digits>-<8 hex>"
constexpr size_t kMaxBundleBytes = 16u << 20;

std::string Errno() {
  return std::strerror(errno);
}

bool IsBundleId(std::string_view id) {
  if (id.size() != kIdSize || id[kSeqDigits] != '-') return false;
  for (size_t i = 0; i < kSeqDigits; ++i) {
    if (id[i] < '0' || id[i] > '9') return false;
  }
  for (size_t i = kSeqDigits + 1; i < kIdSize; ++i) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  // The sequence must fit in 64 bits (and leave room for one more).
  return id.substr(0, kSeqDigits) < std::string_view("18446744073709551615");
}

uint64_t SeqOf(std::string_view id) {
  uint64_t v = 0;
  for (size_t i = 0; i < kSeqDigits; ++i) v = v * 10 + uint64_t(id[i] - '0');
  return v;
}

// Every file name in `dir` (not . and ..).
Result<std::vector<std::string>> DirEntries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::IoError("cannot list spool " + dir + ": " + Errno());
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return Status::IoError("cannot list spool " + dir + ": " + std::strerror(err));
  return names;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

LogFn StderrLog() {
  return [](const std::string& line) { std::cerr << "custodian: " << line << std::endl; };
}

Spool::Spool(std::string dir, int lock_fd, LogFn log, size_t max_entries, uint64_t last_seq)
    : dir_(std::move(dir)),
      lock_fd_(lock_fd),
      log_(std::move(log)),
      max_entries_(max_entries),
      last_seq_(last_seq) {}

Spool::~Spool() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<Spool>> Spool::Open(const std::string& dir_in, LogFn log,
                                           size_t max_entries) {
  if (dir_in.empty()) return Status::InvalidInput("--spool: must not be empty");
  if (max_entries == 0) return Status::InvalidInput("spool max_entries: must be > 0");
  if (!log) log = StderrLog();
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  // mkdir -p, the leaf private: bundles name the node and its GPUs.
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/') continue;
    std::string part = dir.substr(0, at);
    if (::mkdir(part.c_str(), at == dir.size() ? 0700 : 0755) != 0 && errno != EEXIST) {
      return Status::IoError("cannot create spool directory " + part + ": " + Errno());
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IoError("spool " + dir + " is not a directory");
  }
  std::string lock_path = dir + "/.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot open " + lock_path + ": " + Errno());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Unavailable("spool " + dir + " is in use by another agent process");
    }
    return Status::IoError("cannot lock " + lock_path + ": " + std::strerror(err));
  }
  auto names = DirEntries(dir);
  if (!names.ok()) {
    ::close(fd);
    return names.status();
  }
  uint64_t last_seq = 0;
  for (const std::string& name : *names) {
    // "<id>.json.tmp.<pid>": a write interrupted before its rename; the bundle in it was never
    // acknowledged as stored, and we hold the lock, so nobody is still writing it.
    size_t tmp = name.find(".json.tmp.");
    if (tmp == kIdSize && IsBundleId(std::string_view(name).substr(0, kIdSize))) {
      ::unlink((dir + "/" + name).c_str());
      continue;
    }
    if (name.size() >= kIdSize && IsBundleId(std::string_view(name).substr(0, kIdSize))) {
      last_seq = std::max(last_seq, SeqOf(name));  // .bad and .rejected too: names stay unique
    }
  }
  return std::unique_ptr<Spool>(new Spool(dir, fd, std::move(log), max_entries, last_seq));
}

Status Spool::SyncDir() const {
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open spool " + dir_ + ": " + Errno());
  int rc = ::fsync(fd);
  Status s =
      rc == 0 ? Status::Ok() : Status::IoError("cannot fsync spool " + dir_ + ": " + Errno());
  ::close(fd);
  return s;
}

Result<std::vector<std::string>> Spool::Names() const {
  auto names = DirEntries(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::string> ids;
  for (const std::string& name : *names) {
    if (name.size() == kIdSize + 5 && EndsWith(name, ".json") &&
        IsBundleId(std::string_view(name).substr(0, kIdSize))) {
      ids.push_back(name.substr(0, kIdSize));
    }
  }
  std::sort(ids.begin(), ids.end());  // fixed-width sequence first: lexical order is age order
  return ids;
}

Result<size_t> Spool::Count() const {
  auto ids = Names();
  if (!ids.ok()) return ids.status();
  return ids->size();
}

Result<std::string> Spool::Put(const nlohmann::json& bundle) {
  std::string text;
  try {
    text = bundle.dump() + "\n";
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("spool: bundle is not valid JSON: ") + e.what());
  }
  uint64_t seq = std::max<uint64_t>(uint64_t(RealtimeNs()), last_seq_ + 1);
  uint8_t rnd[4];
  RandomBytes(rnd, sizeof rnd);
  char id[kIdSize + 1];
  std::snprintf(id, sizeof id, "%020" PRIu64 "-%02x%02x%02x%02x", seq, rnd[0], rnd[1], rnd[2],
                rnd[3]);
  CUSTODIAN_RETURN_IF_ERROR(WriteFileAtomic(PathOf(id), text, 0600, Overwrite::kRefuse));
  last_seq_ = seq;
  CUSTODIAN_RETURN_IF_ERROR(SyncDir());
  auto ids = Names();
  if (ids.ok() && ids->size() > max_entries_) {
    size_t excess = ids->size() - max_entries_;
    for (size_t i = 0; i < excess; ++i) {
      log_("spool: more than " + std::to_string(max_entries_) + " bundles waiting; dropping " +
           "the oldest, " + (*ids)[i]);
      CUSTODIAN_RETURN_IF_ERROR(Remove((*ids)[i]));
    }
  }
  return std::string(id);
}

Result<std::vector<SpoolEntry>> Spool::List() {
  auto ids = Names();
  if (!ids.ok()) return ids.status();
  std::vector<SpoolEntry> out;
  for (const std::string& id : *ids) {
    const std::string path = PathOf(id);
    auto text = ReadFile(path, kMaxBundleBytes);
    std::string why;
    if (!text.ok()) {
      if (::access(path.c_str(), F_OK) != 0) continue;  // removed meanwhile
      why = text.status().message();
    } else {
      nlohmann::json bundle = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (bundle.is_object()) {
        out.push_back({id, std::move(bundle)});
        continue;
      }
      why = bundle.is_discarded() ? "not valid JSON" : "not a JSON object";
    }
    const std::string bad = path + ".bad";
    if (::rename(path.c_str(), bad.c_str()) != 0) {
      return Status::IoError("spool: cannot move corrupt " + path + " aside: " + Errno());
    }
    log_("spool: " + path + " is corrupt (" + why + "); moved to " + bad);
  }
  return out;
}

Status Spool::Remove(const std::string& id) {
  if (!IsBundleId(id)) return Status::InvalidInput("spool: no such bundle id " + id);
  if (::unlink(PathOf(id).c_str()) != 0 && errno != ENOENT) {
    return Status::IoError("spool: cannot remove " + PathOf(id) + ": " + Errno());
  }
  return SyncDir();
}

Status Spool::Reject(const std::string& id, const std::string& reason) {
  if (!IsBundleId(id)) return Status::InvalidInput("spool: no such bundle id " + id);
  const std::string path = PathOf(id);
  const std::string moved = path + ".rejected";
  CUSTODIAN_RETURN_IF_ERROR(WriteFileAtomic(moved + ".txt", reason + "\n", 0600));
  if (::rename(path.c_str(), moved.c_str()) != 0) {
    return Status::IoError("spool: cannot move " + path + " aside: " + Errno());
  }
  return SyncDir();
}

}  // namespace custodian::client
