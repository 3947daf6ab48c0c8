#include "proto/udp_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/clock.h"

namespace custodian::proto {
namespace {

std::string Errno() {
  return std::strerror(errno);
}

int64_t ToNs(const timespec& ts) {
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// CLOCK_REALTIME - CLOCK_MONOTONIC, read as realtime/monotonic/realtime so the uncertainty of
// the offset is known (half the bracket).
struct ClockOffset {
  int64_t offset_ns;
  int64_t uncertainty_ns;
  int64_t mono_ns;
};
ClockOffset ReadClockOffset() {
  timespec r1{}, m{}, r2{};
  clock_gettime(CLOCK_REALTIME, &r1);
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_REALTIME, &r2);
  int64_t r_mid = (ToNs(r1) + ToNs(r2)) / 2;
  return {r_mid - ToNs(m), (ToNs(r2) - ToNs(r1)) / 2 + 1, ToNs(m)};
}

// A wall-clock step changes realtime-minus-monotonic; slewing changes both clocks alike.
// We keep the last offset read and call a change larger than this a step.
constexpr int64_t kStepToleranceNs = 2'000;

}  // namespace

const char* TimestampingName(Timestamping t) {
  return t == Timestamping::kKernel ? "kernel" : "user";
}

UdpSocket::UdpSocket(int fd) : fd_(fd), last_clock_offset_ns_(ReadClockOffset().offset_ns) {
  int on = 1;
  kernel_timestamps_ = ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0;
  int rcvbuf = 4 << 20;  // absorb floods without dropping honest datagrams
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
}

Result<UdpSocket> UdpSocket::Bind(const SocketAddress& local) {
  int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::IoError("socket: " + Errno());
  if (::bind(fd, local.get(), local.length) != 0) {
    Status s = Status::IoError("cannot bind " + local.ToString() + ": " + Errno());
    ::close(fd);
    return s;
  }
  return UdpSocket(fd);
}

Result<UdpSocket> UdpSocket::ForPeer(const SocketAddress& peer) {
  int fd = ::socket(peer.family(), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::IoError("socket: " + Errno());
  return UdpSocket(fd);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(other.fd_),
      kernel_timestamps_(other.kernel_timestamps_),
      last_clock_offset_ns_(other.last_clock_offset_ns_) {
  other.fd_ = -1;
}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    kernel_timestamps_ = other.kernel_timestamps_;
    last_clock_offset_ns_ = other.last_clock_offset_ns_;
    other.fd_ = -1;
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Result<SocketAddress> UdpSocket::local_address() const {
  SocketAddress a;
  a.length = sizeof a.storage;
  if (::getsockname(fd_, a.get(), &a.length) != 0)
    return Status::IoError("getsockname: " + Errno());
  return a;
}

Status UdpSocket::SendTo(std::span<const uint8_t> data, const SocketAddress& to) {
  for (;;) {
    ssize_t n = ::sendto(fd_, data.data(), data.size(), 0, to.get(), to.length);
    if (n >= 0) return Status::Ok();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd pfd{fd_, POLLOUT, 0};
      ::poll(&pfd, 1, 100);
      continue;
    }
    return Status::IoError("sendto " + to.ToString() + ": " + Errno());
  }
}

Result<ReceivedDatagram> UdpSocket::Receive(std::span<uint8_t> buffer, int64_t timeout_ns) {
  const int64_t deadline = timeout_ns > 0 ? MonotonicNs() + timeout_ns : 0;
  for (;;) {
    ReceivedDatagram d;
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_name = &d.from.storage;
    msg.msg_namelen = sizeof d.from.storage;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &msg, MSG_TRUNC);
    if (n >= 0) {
      ClockOffset after = ReadClockOffset();
      d.size = std::min(size_t(n), buffer.size());
      d.truncated = size_t(n) > buffer.size();
      d.from.length = msg.msg_namelen;
      d.arrival_mono_ns = after.mono_ns;
      d.timestamping = Timestamping::kUser;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec kts{};
          std::memcpy(&kts, CMSG_DATA(c), sizeof kts);
          int64_t kernel_mono = ToNs(kts) - after.offset_ns;
          // Guard against a wall-clock step between arrival and now: the converted time must not
          // lie after our user-space reading, and the offset must match the previous reading.
          // A packet that waited in the queue longer than a second is also not trusted.
          bool stepped = std::llabs(after.offset_ns - last_clock_offset_ns_) >
                         kStepToleranceNs + after.uncertainty_ns;
          last_clock_offset_ns_ = after.offset_ns;
          if (!stepped && kernel_mono <= after.mono_ns + after.uncertainty_ns &&
              after.mono_ns - kernel_mono < 1'000'000'000) {
            d.arrival_mono_ns = std::min(kernel_mono, after.mono_ns);
            d.timestamping = Timestamping::kKernel;
          }
        }
      }
      return d;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Status::IoError("recvmsg: " + Errno());
    if (timeout_ns == 0) return Status::Unavailable("no datagram");
    int wait_ms = -1;
    if (timeout_ns > 0) {
      int64_t left = deadline - MonotonicNs();
      if (left <= 0) return Status::Unavailable("timed out");
      wait_ms = int((left + 999'999) / 1'000'000);
    }
    pollfd pfd{fd_, POLLIN, 0};
    int rc = ::poll(&pfd, 1, wait_ms);
    if (rc < 0 && errno != EINTR) return Status::IoError("poll: " + Errno());
  }
}

}  // namespace custodian::proto
