// A UDP echo server on 127.0.0.1 (port chosen by the OS) running on its own thread for the
// lifetime of the object: the far end for relay and timing tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/net_address.h"
#include "proto/udp_socket.h"

namespace custodian::testing {

inline proto::UdpSocket BindLoopbackOrDie() {
  auto s = proto::UdpSocket::Bind(*ParseHostPort("127.0.0.1:0", "test"));
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    std::abort();
  }
  return std::move(s).value();
}

class UdpEcho {
 public:
  UdpEcho() : sock_(BindLoopbackOrDie()), address_(*sock_.local_address()) {
    thread_ = std::thread([this] {
      std::vector<uint8_t> buf(2048);
      while (!stop_) {
        auto got = sock_.Receive(buf, 20'000'000);
        if (got.ok()) (void)sock_.SendTo({buf.data(), got->size}, got->from);
      }
    });
  }
  ~UdpEcho() {
    stop_ = true;
    thread_.join();
  }
  const SocketAddress& address() const { return address_; }

 private:
  proto::UdpSocket sock_;
  SocketAddress address_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace custodian::testing
