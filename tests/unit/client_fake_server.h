// Support for the client tests: an httplib::Server on 127.0.0.1 (any port) in a background
// thread (register handlers on server(), Start(), then point a client at url()), and a scratch
// directory.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace custodian::testing {

// A fresh directory under /tmp, removed with everything in it when the object goes.
class ScratchDir {
 public:
  ScratchDir() {
    char t[] = "/tmp/custodian-client-test-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class FakeHttpServer {
 public:
  FakeHttpServer() = default;
  ~FakeHttpServer() { Stop(); }
  httplib::Server& server() { return server_; }

  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    // The socket already listens, so clients may connect before the thread accepts.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() does nothing before the accept loop runs, so wait for it.
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(server_.is_running());
  }
  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// RFC 9457 problem+json, as the registry's server answers errors.
inline void Problem(httplib::Response& res, int status, const std::string& detail) {
  res.status = status;
  res.set_content(
      nlohmann::json{
          {"type", "about:blank"}, {"title", "error"}, {"status", status}, {"detail", detail}}
          .dump(),
      "application/problem+json");
}

}  // namespace custodian::testing
