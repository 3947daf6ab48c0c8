// A UDP socket that reports when each datagram arrived.
//
// Arrival times are CLOCK_MONOTONIC nanoseconds. Where the kernel supports SO_TIMESTAMPNS the
// time is the kernel's receive timestamp (taken when the packet entered the stack, before any
// queueing in the socket or scheduling delay of this process), converted from CLOCK_REALTIME to
// CLOCK_MONOTONIC. The conversion is checked against a wall-clock step: if CLOCK_REALTIME was
// stepped between the packet's arrival and our reading of the offset, the kernel time is thrown
// away and the user-space time (later, so larger RTTs: the safe direction) is used instead.
// Not thread-safe: one thread per socket.
#pragma once

#include <cstdint>
#include <span>

#include "core/net_address.h"
#include "core/status.h"

namespace custodian::proto {

enum class Timestamping { kKernel, kUser };
const char* TimestampingName(Timestamping t);  // "kernel" or "user"

struct ReceivedDatagram {
  size_t size = 0;         // bytes received (datagram truncated to the buffer if larger)
  bool truncated = false;  // the datagram was larger than the buffer
  SocketAddress from;
  int64_t arrival_mono_ns = 0;  // CLOCK_MONOTONIC
  Timestamping timestamping = Timestamping::kUser;
};

class UdpSocket {
 public:
  // Binds to `local` (port 0: the OS picks one; local_address() tells which).
  static Result<UdpSocket> Bind(const SocketAddress& local);
  // An unbound socket of the family of `peer` (the OS picks the source address on first send).
  static Result<UdpSocket> ForPeer(const SocketAddress& peer);

  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  int fd() const { return fd_; }
  Result<SocketAddress> local_address() const;
  bool kernel_timestamps() const { return kernel_timestamps_; }

  Status SendTo(std::span<const uint8_t> data, const SocketAddress& to);
  // Waits up to timeout_ns (0: do not wait, <0: wait forever) for one datagram.
  // Returns Unavailable on timeout.
  Result<ReceivedDatagram> Receive(std::span<uint8_t> buffer, int64_t timeout_ns);
  // Non-blocking receive; Unavailable when nothing is queued.
  Result<ReceivedDatagram> TryReceive(std::span<uint8_t> buffer) { return Receive(buffer, 0); }

 private:
  explicit UdpSocket(int fd);
  int fd_ = -1;
  bool kernel_timestamps_ = false;
  // CLOCK_REALTIME - CLOCK_MONOTONIC at the last reading; a change means the wall clock was
  // stepped.
  int64_t last_clock_offset_ns_ = 0;
};

}  // namespace custodian::proto
