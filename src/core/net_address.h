// Socket addresses written as HOST:PORT ("127.0.0.1:9000", "[::1]:9000", "localhost:9000").
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "core/status.h"

namespace custodian {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  // Numeric form: "127.0.0.1:9000" or "[::1]:9000".
  std::string ToString() const;
  bool IsLoopback() const;
  friend bool operator==(const SocketAddress& a, const SocketAddress& b);
};

struct SocketAddressHash {
  size_t operator()(const SocketAddress& a) const;
};

// Resolves HOST:PORT (port 0..65535; 0 lets the OS choose when binding). `what` names the flag or
// field for the error message.
Result<SocketAddress> ParseHostPort(std::string_view text, std::string_view what);

}  // namespace custodian
