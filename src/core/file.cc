#include "core/file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace custodian {
namespace {
std::string Errno() {
  return std::strerror(errno);
}
}  // namespace

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + Errno());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::IoError("cannot read " + path + ": " + Errno());
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    if (out.size() + size_t(n) > max_bytes) {
      ::close(fd);
      return Status::InvalidInput(path + ": file larger than " + std::to_string(max_bytes) +
                                  " bytes");
    }
    out.append(buf, size_t(n));
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode,
                       Overwrite overwrite) {
  if (overwrite == Overwrite::kRefuse && ::access(path.c_str(), F_OK) == 0) {
    return Status::InvalidInput(path + " already exists; refusing to overwrite it");
  }
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError("cannot create " + tmp + ": " + Errno());
  auto fail = [&](const std::string& what) {
    Status s = Status::IoError(what + " " + tmp + ": " + Errno());
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot chmod");  // umask must not widen or narrow it
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    off += size_t(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::IoError("cannot close " + tmp + ": " + Errno());
  }
  int rc = overwrite == Overwrite::kRefuse
               ? ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE)
               : ::rename(tmp.c_str(), path.c_str());
  if (rc != 0) {
    Status s = errno == EEXIST
                   ? Status::InvalidInput(path + " already exists; refusing to overwrite it")
                   : Status::IoError("cannot rename " + tmp + " to " + path + ": " + Errno());
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

}  // namespace custodian
