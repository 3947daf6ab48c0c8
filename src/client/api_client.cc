#include "client/api_client.h"

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cctype>

namespace custodian::client {
namespace {

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

// One line, printable ASCII, bounded: an error page must not flood a terminal or a log.
std::string Printable(std::string_view s, size_t max_chars = 200) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max_chars) {
      out += "…";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The problem+json detail, else its title, else the start of whatever the body was.
std::string ProblemDetail(std::string_view body) {
  json problem = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (problem.is_object()) {
    std::string text;
    if (auto d = problem.find("detail"); d != problem.end() && d->is_string()) {
      text = d->get<std::string>();
    } else if (auto t = problem.find("title"); t != problem.end() && t->is_string()) {
      text = t->get<std::string>();
    }
    if (auto f = problem.find("field"); f != problem.end() && f->is_string()) {
      std::string field = f->get<std::string>();
      // The registry's details usually start with the field already ("body.lat: must be …").
      if (text.find(field) == std::string::npos) text = field + (text.empty() ? "" : ": " + text);
    }
    if (!text.empty()) return Printable(text, 1000);
  }
  std::string raw = Printable(body);
  return raw.empty() ? "(no detail)" : raw;
}

// httplib's own names ("Connection", "Read") are terse for a log line read at 3 a.m.
std::string TransportError(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection refused or failed";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "no answer (connection dropped or read timed out)";
    case httplib::Error::Write:
      return "sending the request failed (connection dropped)";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the CA certificates";
    case httplib::Error::SSLServerVerification:
      return "the server's certificate is not trusted (see --ca-file)";
    default:
      return httplib::to_string(e);
  }
}

}  // namespace

std::string BaseUrl::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + prefix;
}

Result<BaseUrl> ParseBaseUrl(std::string_view url, std::string_view what) {
  const std::string w(what);
  auto bad = [&](const std::string& why) {
    return Status::InvalidInput(w + ": " + why +
                                " (expected http://HOST:PORT or https://HOST[:PORT]), got \"" +
                                Printable(url) + "\"");
  };
  BaseUrl out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return bad("missing scheme");
  out.scheme = std::string(url.substr(0, sep));
  for (char& c : out.scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = url.substr(sep + 3);
  size_t path_at = rest.find('/');
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos) return bad("credentials in the URL");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    for (char c : out.host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return bad("bad IPv6 address");
      }
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    for (char c : out.host) {
      if (!IsHostChar(c)) return bad("bad host name");
    }
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (out.host.empty()) return bad("missing host");
  if (port_text.empty()) {
    out.port = out.scheme == "https" ? 443 : 80;
  } else {
    if (port_text.size() > 5) return bad("bad port");
    int port = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return bad("bad port");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return bad("port must be in 1..65535");
    out.port = port;
  }
  if (path.find_first_of("?#") != std::string_view::npos) return bad("query or fragment");
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

Status StatusForHttpError(std::string_view method, std::string_view path, int http_status,
                          std::string_view body) {
  std::string msg = std::string(method) + " " + Printable(path, 300) + ": HTTP " +
                    std::to_string(http_status) + ": " + ProblemDetail(body);
  switch (http_status) {
    case 400:
      return Status::InvalidInput(msg);
    case 401:
      return Status::Unauthorized(msg);
    case 403:
      return Status::PermissionDenied(msg);
    case 404:
      return Status::NotFound(msg);
    case 409:
      return Status::AlreadyExists(msg);
    case 413:
    case 422:
      return Status::FailedCheck(msg);
    case 429:
      return Status::Unavailable(msg);
    default:
      return http_status >= 500 ? Status::Unavailable(msg) : Status::Internal(msg);
  }
}

std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

class ApiClient::Impl {
 public:
  std::mutex mu;  // one request at a time on the one connection
  std::unique_ptr<httplib::Client> http;
  std::shared_ptr<std::atomic<uint64_t>> connections = std::make_shared<std::atomic<uint64_t>>(0);
};

ApiClient::ApiClient(BaseUrl base, ApiClientOptions) : base_(std::move(base)) {}
ApiClient::~ApiClient() = default;

Result<std::unique_ptr<ApiClient>> ApiClient::Create(const ApiClientOptions& options) {
  auto base = ParseBaseUrl(options.base_url);
  if (!base.ok()) return base.status();
  if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
    return Status::InvalidInput("--ca-file: cannot read " + options.ca_file);
  }
  for (char c : options.token) {
    // A newline in the token would split the Authorization header.
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return Status::InvalidInput("token: contains whitespace or control characters");
    }
  }
  std::unique_ptr<ApiClient> client(new ApiClient(*base, options));
  client->impl_ = std::make_unique<Impl>();
  BaseUrl origin = *base;
  origin.prefix.clear();
  try {
    auto http = std::make_unique<httplib::Client>(origin.ToString());
    if (!http->is_valid()) {
      return Status::InvalidInput("--server: cannot use " + origin.ToString());
    }
    http->set_keep_alive(true);
    http->set_tcp_nodelay(true);
    http->set_connection_timeout(options.connect_timeout_ms / 1000,
                                 (options.connect_timeout_ms % 1000) * 1000);
    http->set_read_timeout(options.read_timeout_ms / 1000, (options.read_timeout_ms % 1000) * 1000);
    http->set_write_timeout(options.read_timeout_ms / 1000,
                            (options.read_timeout_ms % 1000) * 1000);
    if (!options.token.empty()) http->set_bearer_token_auth(options.token);
    http->set_default_headers({{"Accept", "application/json, application/problem+json"}});
    // Called for every new socket: counts connections so tests can see keep-alive at work.
    auto counter = client->impl_->connections;
    http->set_socket_options([counter](int) { counter->fetch_add(1); });
    if (base->scheme == "https") {
      if (!options.ca_file.empty()) http->set_ca_cert_path(options.ca_file);
      http->enable_server_certificate_verification(!options.insecure);
    }
    client->impl_->http = std::move(http);
  } catch (const std::exception& e) {
    return Status::InvalidInput("--server: " + std::string(e.what()));
  }
  return client;
}

uint64_t ApiClient::connections_opened() const {
  return impl_->connections->load();
}

Result<json> ApiClient::Get(const std::string& path) {
  return Request("GET", path);
}
Result<json> ApiClient::Post(const std::string& path, const json& body) {
  return Request("POST", path, body);
}
Result<json> ApiClient::Delete(const std::string& path) {
  return Request("DELETE", path);
}

Result<json> ApiClient::Request(std::string_view method, const std::string& path,
                                const std::optional<json>& body) {
  const std::string m(method);
  if (path.empty() || path.front() != '/') {
    return Status::InvalidInput(m + " " + Printable(path) + ": path must start with /");
  }
  if (m != "GET" && m != "POST" && m != "PUT" && m != "PATCH" && m != "DELETE") {
    return Status::InvalidInput("method must be GET, POST, PUT, PATCH or DELETE, got " +
                                Printable(m));
  }
  std::string text;
  if (body) {
    try {
      text = body->dump();
    } catch (const std::exception& e) {  // invalid UTF-8 in a string
      return Status::InvalidInput(m + " " + path + ": body: " + e.what());
    }
  }
  const std::string full = base_.prefix + path;
  const bool idempotent = m == "GET" || m == "DELETE";
  std::lock_guard<std::mutex> lock(impl_->mu);
  httplib::Client& http = *impl_->http;
  httplib::Result res(nullptr, httplib::Error::Unknown);
  for (int attempt = 0; attempt < (idempotent ? 2 : 1); ++attempt) {
    try {
      const char* ct = "application/json";
      if (m == "GET") {
        res = http.Get(full);
      } else if (m == "POST") {
        res = http.Post(full, text, ct);
      } else if (m == "PUT") {
        res = http.Put(full, text, ct);
      } else if (m == "PATCH") {
        res = http.Patch(full, text, ct);
      } else {
        res = body ? http.Delete(full, text, ct) : http.Delete(full);
      }
    } catch (const std::exception& e) {
      return Status::Unavailable(m + " " + path + ": " + e.what());
    }
    if (res) break;
  }
  if (!res) {
    return Status::Unavailable(m + " " + Printable(path, 300) + ": cannot reach " +
                               base_.ToString() + ": " + TransportError(res.error()));
  }
  const int code = res->status;
  if (code < 200 || code > 299) return StatusForHttpError(m, path, code, res->body);
  if (res->body.empty()) return json(nullptr);
  json parsed = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status::Internal(m + " " + Printable(path, 300) + ": HTTP " + std::to_string(code) +
                            ": response is not JSON: " + Printable(res->body, 80));
  }
  return parsed;
}

}  // namespace custodian::client
