// Integration-test helpers for the HTTP API: a real `custodian serve` process on 127.0.0.1:0
// with a database of its own, the first admin token (`custodian admin init`), an HTTP(S)
// client on httplib::Client, and a raw-socket client for requests a normal client will not
// send (chunked bodies, slow bodies, no Content-Length).
//
//   TempDir dir;
//   std::string db = DatabaseUrl(Backend::kSqlite, dir);   // or kPostgres: TestPostgres()
//   std::string admin = InitAdmin(db);
//   ServerProcess server(dir, db);
//   HttpClient http = server.Client();
//   HttpReply r = http.Get("/v1/whoami", admin);
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_runner.h"
#include "support/postgres_server.h"

namespace custodian::testing {

enum class Backend { kSqlite, kPostgres };

inline const char* BackendName(Backend b) {
  return b == Backend::kSqlite ? "sqlite" : "postgresql";
}

// A fresh, empty database: sqlite:DIR/custodian.db, or a new PostgreSQL database ("" with a
// gtest failure recorded when there is no PostgreSQL server).
inline std::string DatabaseUrl(Backend backend, const TempDir& dir) {
  if (backend == Backend::kPostgres) return TestPostgres();
  return "sqlite:" + (dir / "custodian.db");
}

// `custodian admin init --db URL`; the token is the last line of stdout.
inline std::string InitAdmin(const std::string& db_url) {
  CliResult r = RunCli({"admin", "init", "--db", db_url});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
}

struct HttpReply {
  int status = -1;    // -1: no response
  std::string error;  // why there was no response
  std::string body;
  httplib::Headers headers;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // The body as JSON; null when it is not JSON.
  nlohmann::json Json() const {
    return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  }
};

inline std::ostream& operator<<(std::ostream& os, const HttpReply& r) {
  return os << "HTTP " << r.status << (r.error.empty() ? "" : " (" + r.error + ")") << " "
            << r.body;
}

// An httplib::Client for one server; `ca_file` non-empty means HTTPS, verified against it.
class HttpClient {
 public:
  HttpClient(std::string host, int port, std::string ca_file = "")
      : host_(std::move(host)), port_(port), ca_file_(std::move(ca_file)) {}

  HttpReply Get(const std::string& path, const std::string& token = "") {
    return Send("GET", path, "", token);
  }
  HttpReply Post(const std::string& path, const nlohmann::json& body,
                 const std::string& token = "") {
    return Send("POST", path, body.dump(), token);
  }
  HttpReply PostRaw(const std::string& path, const std::string& body,
                    const std::string& token = "") {
    return Send("POST", path, body, token);
  }
  HttpReply Delete(const std::string& path, const std::string& token = "") {
    return Send("DELETE", path, "", token);
  }

  HttpReply Send(const std::string& method, const std::string& path, const std::string& body,
                 const std::string& token, httplib::Headers headers = {}) {
    std::string base =
        (ca_file_.empty() ? "http://" : "https://") + host_ + ":" + std::to_string(port_);
    httplib::Client client(base);
    client.set_connection_timeout(5);
    client.set_read_timeout(20);
    if (!ca_file_.empty()) {
      client.set_ca_cert_path(ca_file_.c_str());
      client.enable_server_certificate_verification(true);
    }
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result res(nullptr, httplib::Error::Unknown);
    if (method == "GET") {
      res = client.Get(path, headers);
    } else if (method == "POST") {
      res = client.Post(path, headers, body, "application/json");
    } else if (method == "DELETE") {
      res = client.Delete(path, headers);
    } else if (method == "PUT") {
      res = client.Put(path, headers, body, "application/json");
    } else {
      ADD_FAILURE() << "HttpClient: unsupported method " << method;
    }
    HttpReply r;
    if (!res) {
      r.error = httplib::to_string(res.error());
      return r;
    }
    r.status = res->status;
    r.body = res->body;
    r.headers = res->headers;
    return r;
  }

 private:
  std::string host_;
  int port_;
  std::string ca_file_;
};

// True once `out` holds a whole response: headers and Content-Length bytes of body.
inline bool WholeResponse(const std::string& out) {
  size_t end = out.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string head = out.substr(0, end);
  for (char& c : head) c = char(std::tolower(static_cast<unsigned char>(c)));
  size_t cl = head.find("\r\ncontent-length:");
  size_t length = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 17, nullptr, 10);
  return out.size() >= end + 4 + length;
}

// Sends bytes over a plain TCP connection and returns the first response that comes back (or
// what came before the server closed the connection or `timeout` passed). `between` runs after
// `first` is sent and before `rest` is (a request held in flight).
inline std::string RawExchange(int port, const std::string& first, const std::string& rest = "",
                               const std::function<void()>& between = nullptr,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    ADD_FAILURE() << "RawExchange: cannot connect to port " << port;
    return "";
  }
  auto send_all = [fd](const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += size_t(n);
    }
  };
  send_all(first);
  if (between) between();
  if (!rest.empty()) send_all(rest);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, int(left.count())) <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, size_t(n));
    if (WholeResponse(out)) break;
  }
  ::close(fd);
  return out;
}

// The status code of the first response in raw HTTP text ("HTTP/1.1 411 …"); -1 if none.
inline int RawStatus(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return -1;
  return std::atoi(response.substr(9, 3).c_str());
}

// `custodian serve --db URL --listen 127.0.0.1:0 EXTRA…`, its stderr (the request log) in a
// file in `dir`. The constructor returns once the server printed its listening line.
class ServerProcess {
 public:
  ServerProcess(const TempDir& dir, const std::string& db_url,
                const std::vector<std::string>& extra = {})
      : log_path_(dir / ("serve-" + std::to_string(counter()++) + ".log")) {
    std::string cmd = "exec " + ShellQuote(CUSTODIAN_BINARY) + " serve --db " + ShellQuote(db_url) +
                      " --listen 127.0.0.1:0";
    bool has_log_key = false;
    for (const auto& a : extra) {
      cmd += " " + ShellQuote(a);
      has_log_key |= a == "--log-key";
    }
    // One log key per test directory (the default for PostgreSQL is the working directory).
    if (!has_log_key) cmd += " --log-key " + ShellQuote(dir / "log.key");
    cmd += " 2>>" + ShellQuote(log_path_);
    auto p = Subprocess::Spawn({"/bin/sh", "-c", cmd});
    if (!p.ok()) {
      ADD_FAILURE() << p.status().ToString();
      return;
    }
    process_.emplace(std::move(*p));
    first_line_ = process_->ReadLine(std::chrono::seconds(60)).value_or("");
    const std::string prefix = "custodian serve listening on ";
    if (first_line_.rfind(prefix, 0) != 0) {
      ADD_FAILURE() << "serve did not print its listening line; got '" << first_line_ << "'; log:\n"
                    << Log();
      return;
    }
    // "custodian serve listening on https://127.0.0.1:PORT (db sqlite)"
    std::string rest = first_line_.substr(prefix.size());
    url_ = rest.substr(0, rest.find(' '));
    size_t colon = url_.rfind(':');
    port_ = std::atoi(url_.c_str() + colon + 1);
    started_ = port_ > 0;
  }
  ~ServerProcess() {
    if (process_ && running_) Stop(SIGKILL);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return started_; }
  const std::string& first_line() const { return first_line_; }
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  HttpClient Client(const std::string& ca_file = "") const {
    return HttpClient("127.0.0.1", port_, ca_file);
  }
  void Signal(int signo) {
    if (process_) process_->Signal(signo);
  }

  // Sends `signo` and waits (at most `timeout`) for the exit; returns the exit code, or -1
  // (with a failure recorded) when it had to be killed.
  int Stop(int signo = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (!process_ || !running_) return exit_code_;
    running_ = false;
    process_->Signal(signo);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // stdout reaches EOF when the process exits.
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ADD_FAILURE() << "serve did not exit within " << timeout.count() << " ms of signal "
                      << signo << "; log:\n"
                      << Log();
        process_->Signal(SIGKILL);
        process_->Wait();
        return exit_code_ = -1;
      }
      if (!process_->ReadLine(left)) {
        if (std::chrono::steady_clock::now() < deadline) break;  // EOF
      }
    }
    return exit_code_ = process_->Wait();
  }

  // Everything the server wrote on stderr so far.
  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string log_path_;
  std::optional<Subprocess> process_;
  std::string first_line_, url_;
  int port_ = 0;
  bool started_ = false;
  bool running_ = true;
  int exit_code_ = -1;
};

}  // namespace custodian::testing
