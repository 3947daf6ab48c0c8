// A small JSON client for the registry's HTTP API (`/v1`, DESIGN §6; operations in
// registry/registry.h).
//
// One keep-alive connection to one server (http://HOST:PORT or https://HOST[:PORT], optionally
// with a path prefix), a bearer token, and a mapping of every failure to a Status:
//   transport failure, 5xx, 429   Unavailable   (retryable: the request may be sent again)
//   400                           InvalidInput
//   401                           Unauthorized
//   403                           PermissionDenied
//   404                           NotFound
//   409                           AlreadyExists
//   413, 422                      FailedCheck   (well-formed but refused)
//   any other non-2xx             Internal
// The message is "METHOD PATH: HTTP CODE: DETAIL", DETAIL taken from the server's RFC 9457
// problem+json body ({type, title, status, detail, field?}) or, failing that, the start of the
// body. The token never appears in a message or a log line.
//
// GET and DELETE are retried once on a transport failure (a keep-alive connection the server
// closed while idle); POST never is — the caller decides, since it may not be idempotent.
//
// Thread-safety: a client serialises its requests (one connection); share it or make several.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace httplib {
class Client;
}

namespace custodian::client {

using nlohmann::json;

struct ApiClientOptions {
  std::string base_url;   // http://host:port, https://host[:port][/prefix]
  std::string token;      // sent as "Authorization: Bearer …"; empty: no header
  std::string ca_file;    // https: trust these CA certificates (PEM) instead of the system's
  bool insecure = false;  // https: skip certificate verification (tests only)
  int64_t connect_timeout_ms = 5'000;
  int64_t read_timeout_ms = 30'000;
};

// The parts of a base URL; InvalidInput names `what` (the flag) on a malformed one.
struct BaseUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;
  std::string prefix;            // "" or "/something" without a trailing slash
  std::string ToString() const;  // scheme://host:port/prefix
};
Result<BaseUrl> ParseBaseUrl(std::string_view url, std::string_view what = "--server");

// The Status for an HTTP error response (exposed for tests and for callers that send requests
// themselves): code from the table above, message "METHOD PATH: HTTP CODE: DETAIL".
Status StatusForHttpError(std::string_view method, std::string_view path, int http_status,
                          std::string_view body);

// Percent-encodes a query value or path segment (RFC 3986 unreserved characters kept).
std::string UrlEncode(std::string_view s);

class ApiClient {
 public:
  static Result<std::unique_ptr<ApiClient>> Create(const ApiClientOptions& options);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // `path` starts with "/" ("/v1/nodes/abc/plan?x=1") and is appended to the base URL's prefix.
  // A 2xx response's body is parsed as JSON (an empty body is null).
  Result<json> Get(const std::string& path);
  Result<json> Post(const std::string& path, const json& body);
  Result<json> Delete(const std::string& path);
  // Any method (GET, POST, PUT, PATCH, DELETE); `body` is sent as application/json when set.
  Result<json> Request(std::string_view method, const std::string& path,
                       const std::optional<json>& body = std::nullopt);

  const BaseUrl& base_url() const { return base_; }
  // How many TCP connections this client has opened (for tests of keep-alive).
  uint64_t connections_opened() const;

 private:
  ApiClient(BaseUrl base, ApiClientOptions options);
  class Impl;
  BaseUrl base_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custodian::client
