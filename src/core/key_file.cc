#include "core/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/file.h"

namespace custodian {
namespace {
constexpr std::string_view kKeyTag = "custodian-ed25519-v1";
}  // namespace

Result<SigningKey> GenerateKeyFile(const std::string& path) {
  SigningKey key = SigningKey::Generate();
  auto seed = key.Seed();
  std::string content = "# Custodian Ed25519 private key. Keep it secret (mode 0600).\n";
  content += std::string(kKeyTag) + " " + Base64Encode(seed) + "\n";
  sodium_memzero(seed.data(), seed.size());
  Status s = WriteFileAtomic(path, content, 0600, Overwrite::kRefuse);
  sodium_memzero(content.data(), content.size());
  if (!s.ok()) return s;
  return key;
}

Result<SigningKey> LoadKeyFile(const std::string& path) {
  // Check the mode of the file we actually read (fstat on the open descriptor), not of whatever
  // the path names a moment earlier.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open key file " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidInput("key file " + path + " is not a file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return Status::InvalidInput("key file " + path + " is accessible by group or others (mode " +
                                mode + "); run: chmod 600 " + path);
  }
  Result<std::string> content = std::string();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      content = Status::IoError("cannot read key file " + path + ": " + std::strerror(errno));
    if (n <= 0) break;
    content->append(buf, size_t(n));
    if (content->size() > 4096) {
      content = Status::InvalidInput("key file " + path + " is too large to be a key file");
      break;
    }
  }
  sodium_memzero(buf, sizeof buf);
  ::close(fd);
  if (!content.ok()) return content.status();
  std::istringstream lines(*content);
  std::string line;
  Result<SigningKey> key =
      Status::InvalidInput("key file " + path + ": no '" + std::string(kKeyTag) + "' line");
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(std::string(kKeyTag) + " ", 0) != 0) {
      key = Status::InvalidInput("key file " + path + ": expected '" + std::string(kKeyTag) +
                                 " <base64 seed>'");
      break;
    }
    auto seed = Base64Decode(line.substr(kKeyTag.size() + 1));
    if (!seed.ok() || seed->size() != 32) {
      key = Status::InvalidInput("key file " + path + ": seed must be 32 bytes of base64");
    } else {
      key = SigningKey::FromSeed(*seed);
      sodium_memzero(seed->data(), seed->size());
    }
    break;
  }
  sodium_memzero(content->data(), content->size());
  return key;
}

}  // namespace custodian
