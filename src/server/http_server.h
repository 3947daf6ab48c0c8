// The HTTP API in front of the registry (`custodian serve`; DESIGN §6, docs/api.md).
//
// Serves the routes of server/routes.h over HTTP or HTTPS with cpp-httplib: authenticates the
// bearer token, applies the route's role set (403), parses the query and the JSON body, calls
// the registry, and answers JSON (errors as RFC 9457 problem+json, server/problem.h). Logs one
// line per request (method, route template, status, duration, caller token id and role; never
// the token or the body), counts requests for /metrics, and runs Registry::Sweep in the
// background.
//
// Lifecycle: Create (validates options, loads TLS material) → Start (binds, serves on its own
// threads) → Stop (stops accepting, lets requests in flight finish, joins every thread).
// The server's threads block SIGINT/SIGTERM, so those signals reach the thread that waits for
// them (the CLI's) rather than interrupting a worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/net_address.h"
#include "core/status.h"
#include "registry/registry.h"

namespace custodian::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 lets the OS choose
  // PEM files. Both or neither; the key file must not be accessible by group or others.
  std::string tls_cert_file;
  std::string tls_key_file;
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int threads = 0;                  // worker threads; 0: max(64, 8 x hardware threads)
  int64_t sweep_interval_s = 5;     // Registry::Sweep period; 0 turns the sweeper off
};

// Checks the options without touching the network or files (flags are reported before the
// database is opened). Messages name the flag: "--listen: …", "--threads: …".
Status ValidateServerOptions(const ServerOptions& options);

class ApiServer {
 public:
  // `registry` must outlive the server. Fails on bad options and on TLS material that cannot
  // be used (unreadable, key mode too open, key not matching the certificate).
  static Result<std::unique_ptr<ApiServer>> Create(ServerOptions options,
                                                   registry::Registry& registry);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts serving; IoError ("--listen 127.0.0.1:80: cannot bind …") when it cannot.
  Status Start();
  // The bound address (the chosen port when the option said 0). Valid after Start.
  SocketAddress local_address() const;
  bool tls() const;
  // "http://127.0.0.1:8080" or "https://…".
  std::string url() const;
  // False once the listener has stopped, whether by Stop or because accepting failed.
  bool serving() const;
  // Graceful: stops accepting, lets requests in flight finish and answer, joins every thread.
  // Idempotent.
  void Stop();

  // The /metrics text (also for tests and diagnostics).
  std::string RenderMetrics();

 private:
  class Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custodian::server
