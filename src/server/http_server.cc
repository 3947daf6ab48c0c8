#include "server/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include "server/metrics.h"
#include "server/problem.h"
#include "server/request.h"
#include "server/routes.h"
#include "tlog/log.h"

namespace custodian::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using httplib::Request;
using httplib::Response;
using HandlerResponse = httplib::Server::HandlerResponse;

// An idle keep-alive connection holds a worker until this passes, and Stop waits for it:
// short, because agents talk to the server every few minutes, not continuously.
constexpr time_t kKeepAliveTimeoutS = 2;
constexpr time_t kReadTimeoutS = 10;
constexpr time_t kWriteTimeoutS = 10;
constexpr size_t kMaxKeyFileBytes = size_t{64} * 1024;

// What the request log and the metrics need to know about the request a worker thread is
// answering. httplib runs a request's pre-routing handler, route handler, error handler and
// post-routing handler on one thread, one request at a time, and has no per-request user
// data; so a thread_local carries it from the first to the last, and the last resets it.
struct RequestContext {
  Clock::time_point start{};
  bool started = false;
  int route_index = -1;
  bool has_caller = false;
  std::string token_id;
  registry::Role role = registry::Role::kAuditor;
};
thread_local RequestContext t_request;

int RouteIndex(const Route* route) {
  return route ? int(route - Routes().data()) : -1;
}

std::string Dump(const json& j) {
  // Replace invalid UTF-8 rather than throw: a response must always be writable.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void WriteProblem(Response& res, const Request& req, const Problem& problem) {
  res.status = problem.status;
  json body = ProblemJson(problem, req.path);
  if (req.path.empty()) body.erase("instance");
  res.set_content(Dump(body), std::string(kProblemContentType));
}

std::string PercentEncodeSegment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The URL of what a 201 created: the route's path plus the new id, when a GET route for that
// exists ("/v1/sites" + "/{id}").
std::string CreatedLocation(const Route& route, const Request& req, const json& body) {
  if (!body.is_object()) return "";
  auto id = body.find("id");
  if (id == body.end()) return "";
  std::string text;
  if (id->is_string()) {
    text = id->get<std::string>();
  } else if (id->is_number_integer()) {
    text = std::to_string(id->get<int64_t>());
  } else {
    return "";
  }
  std::string item = std::string(route.path) + "/{id}";
  for (const Route& r : Routes()) {
    if (r.method == HttpMethod::kGet && r.path == item) {
      return req.path + "/" + PercentEncodeSegment(text);
    }
  }
  return "";
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no detail from OpenSSL";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The private key's PEM text. Like LoadKeyFile (core/key_file.h), refuses a file that group or
// others can access, checking the descriptor it actually reads.
Result<std::string> ReadTlsKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError("--tls-key: cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidInput("--tls-key: " + path + " is not a file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return Status::InvalidInput("--tls-key: " + path + " is accessible by group or others (mode " +
                                mode + "); run: chmod 600 " + path);
  }
  std::string pem;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      OPENSSL_cleanse(pem.data(), pem.size());
      return Status::IoError("--tls-key: cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    pem.append(buf, size_t(n));
    if (pem.size() > kMaxKeyFileBytes) {
      ::close(fd);
      OPENSSL_cleanse(pem.data(), pem.size());
      return Status::InvalidInput("--tls-key: " + path + " is too large to be a key file");
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  ::close(fd);
  return pem;
}

// Never prompt on a terminal for a passphrase: an encrypted key is simply refused.
int NoPassphrase(char*, int, int, void*) {
  return -1;
}

Status ConfigureTls(SSL_CTX& ctx, const std::string& cert_file, const std::string& key_pem,
                    const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, cert_file.c_str()) != 1) {
    return Status::InvalidInput("--tls-cert: cannot load a PEM certificate from " + cert_file +
                                " (" + OpenSslError() + ")");
  }
  BIO* bio = BIO_new_mem_buf(key_pem.data(), int(key_pem.size()));
  if (!bio) return Status::Internal("TLS: out of memory");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, NoPassphrase, nullptr);
  BIO_free(bio);
  if (!key) {
    return Status::InvalidInput("--tls-key: " + key_file +
                                " is not an unencrypted PEM private key (" + OpenSslError() + ")");
  }
  int used = SSL_CTX_use_PrivateKey(&ctx, key);
  EVP_PKEY_free(key);
  if (used != 1) {
    bool mismatch = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH;
    std::string why = OpenSslError();
    if (mismatch) {
      return Status::InvalidInput("--tls-key: " + key_file + " does not match the certificate in " +
                                  cert_file);
    }
    return Status::InvalidInput("--tls-key: " + key_file + " cannot be used (" + why + ")");
  }
  if (SSL_CTX_check_private_key(&ctx) != 1) {
    return Status::InvalidInput("--tls-key: " + key_file + " does not match the certificate in " +
                                cert_file);
  }
  return Status::Ok();
}

// The numeric host httplib should bind ("127.0.0.1", "::1"), from a resolved address.
std::string NumericHost(const SocketAddress& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr.get())->sin6_addr, buf,
                sizeof buf);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr.get())->sin_addr, buf,
                sizeof buf);
  }
  return buf;
}

void SetPort(SocketAddress& addr, int port) {
  if (addr.family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(addr.get())->sin6_port = htons(uint16_t(port));
  } else {
    reinterpret_cast<sockaddr_in*>(addr.get())->sin_port = htons(uint16_t(port));
  }
}

bool ExpectsBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "PRI";
}

}  // namespace

Status ValidateServerOptions(const ServerOptions& o) {
  auto listen = ParseHostPort(o.listen, "--listen");
  if (!listen.ok()) return listen.status();
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return Status::InvalidInput("--tls-cert and --tls-key: give both or neither");
  }
  if (o.max_body_bytes < 1024 || o.max_body_bytes > (size_t(1) << 30)) {
    return Status::InvalidInput("--max-body-bytes: must be in [1024, 1073741824], got " +
                                std::to_string(o.max_body_bytes));
  }
  if (o.threads < 0 || o.threads > 1024) {
    return Status::InvalidInput("--threads: must be in [1, 1024] (or 0 for automatic), got " +
                                std::to_string(o.threads));
  }
  if (o.sweep_interval_s < 0 || o.sweep_interval_s > 86400) {
    return Status::InvalidInput("--sweep-interval-s: must be in [0, 86400], got " +
                                std::to_string(o.sweep_interval_s));
  }
  return Status::Ok();
}

class ApiServer::Impl {
 public:
  Impl(ServerOptions options, registry::Registry& registry)
      : options_(std::move(options)), registry_(registry) {}

  Status Init();
  Status Start();
  void Stop();
  std::string RenderMetrics() { return metrics_.Render(registry_.Metrics()); }

  ServerOptions options_;
  registry::Registry& registry_;
  std::unique_ptr<httplib::Server> http_;
  HttpMetrics metrics_;
  SocketAddress bound_;

  std::mutex lifecycle_mu_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::thread listener_;
  std::atomic<bool> listener_done_{false};

  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool sweep_stop_ = false;
  std::thread sweeper_;

 private:
  void Handle(const Route& route, std::vector<std::string> ids, const Request& req, Response& res);
  void Serve(const Route& route, std::vector<std::string> ids, const Request& req, Response& res);
  void WriteError(Response& res, const Request& req, const Status& status);
  Result<json> Health();
  void ServeLog(const Route& route, const ApiRequest& api, const Request& req, Response& res);
  HandlerResponse PreRouting(const Request& req, Response& res);
  HandlerResponse OnError(const Request& req, Response& res);
  void LogRequest(const Request& req, const Response& res);
  void SweepLoop();
};

Status ApiServer::Impl::Init() {
  if (!options_.tls_cert_file.empty()) {
    auto key_pem = ReadTlsKeyFile(options_.tls_key_file);
    if (!key_pem.ok()) return key_pem.status();
    Status tls = Status::Internal("TLS: the SSL context was not set up");
    auto ssl = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
      tls = ConfigureTls(ctx, options_.tls_cert_file, *key_pem, options_.tls_key_file);
      return tls.ok();
    });
    OPENSSL_cleanse(key_pem->data(), key_pem->size());
    if (!tls.ok()) return tls;
    if (!ssl->is_valid()) return Status::Internal("TLS: cannot create an SSL context");
    http_ = std::move(ssl);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }

  // httplib gives each connection a worker for as long as it is kept alive (up to the
  // keep-alive timeout between requests), so the pool must cover the clients that hold
  // connections — agents and landmarks — not just the cores; idle workers cost only memory.
  // With 4 workers, 60 agents each waited ~30 s per request in the demo.
  size_t threads = options_.threads > 0
                       ? size_t(options_.threads)
                       : std::max<size_t>(64, 8 * std::thread::hardware_concurrency());
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port and
  // silently take half the connections (even a port-0 bind can land on a busy port). Only
  // SO_REUSEADDR: a restart may reuse a port in TIME_WAIT, a port in use is an error.
  http_->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_keep_alive_timeout(kKeepAliveTimeoutS);
  // httplib closes a kept-alive connection after 5 requests by default, so a busy client
  // reconnects every fifth request; and without TCP_NODELAY a small response waits for the
  // client's delayed ACK (~40 ms on Linux). Measured by `custodian bench ingest`.
  http_->set_keep_alive_max_count(1000);
  http_->set_tcp_nodelay(true);
  http_->set_read_timeout(kReadTimeoutS);
  http_->set_write_timeout(kWriteTimeoutS);
  http_->set_default_headers(
      {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});

  // One httplib route per table entry; the template's {id} segments become capture groups.
  for (const Route& route : Routes()) {
    const Route* r = &route;
    auto handler = [this, r](const Request& req, Response& res) {
      std::vector<std::string> ids;
      for (size_t i = 1; i < req.matches.size(); ++i) ids.push_back(req.matches[i].str());
      Handle(*r, std::move(ids), req, res);
    };
    std::string pattern = PathRegex(route.path);
    switch (route.method) {
      case HttpMethod::kGet:
        http_->Get(pattern, handler);
        break;
      case HttpMethod::kPost:
        http_->Post(pattern, handler);
        break;
      case HttpMethod::kDelete:
        http_->Delete(pattern, handler);
        break;
    }
  }
  http_->set_pre_routing_handler(
      [this](const Request& req, Response& res) { return PreRouting(req, res); });
  http_->set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const Request& req, Response& res) { return OnError(req, res); }));
  http_->set_exception_handler(
      [this](const Request& req, Response& res, const std::exception_ptr& ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        WriteError(res, req, Status::Internal("uncaught exception: " + what));
      });
  // Counted and logged just before the response is written (httplib's logger runs after it),
  // so a client that has its answer also sees it in /metrics.
  http_->set_post_routing_handler(
      [this](const Request& req, Response& res) { LogRequest(req, res); });
  return Status::Ok();
}

// Runs before httplib reads the body. Starts the request's clock and, for the two kinds of
// body httplib would mishandle, answers here:
//  - chunked (Transfer-Encoding): httplib 0.11 applies no size limit to it, so it is refused
//    with 411 and the connection closed (the unread body must not be parsed as a request);
//  - no Content-Length at all: the body is empty (RFC 9112 §6.3), but httplib would wait for
//    the peer to close; the request is served here with an empty body instead.
HandlerResponse ApiServer::Impl::PreRouting(const Request& req, Response& res) {
  t_request = RequestContext();
  t_request.start = Clock::now();
  t_request.started = true;
  RouteMatch match = MatchRoute(req.method, req.path);
  t_request.route_index = RouteIndex(match.path_route);

  if (req.has_header("Transfer-Encoding")) {
    res.set_header("Connection", "close");
    WriteProblem(res, req,
                 {411,
                  "body: send it with a Content-Length header (chunked bodies are not "
                  "accepted)",
                  std::string("body")});
    return HandlerResponse::Handled;
  }
  if (ExpectsBody(req.method) && !req.has_header("Content-Length")) {
    if (match.route) {
      Handle(*match.route, std::move(match.ids), req, res);
    } else {
      OnError(req, res);  // 404 or 405
    }
    return HandlerResponse::Handled;
  }
  return HandlerResponse::Unhandled;
}

// Every response with status >= 400 passes here. Ours already carry a problem body; the ones
// httplib makes (no route, body too large, malformed request) get one now.
HandlerResponse ApiServer::Impl::OnError(const Request& req, Response& res) {
  if (!res.body.empty()) return HandlerResponse::Unhandled;
  Problem p;
  p.status = res.status < 400 ? 404 : res.status;
  switch (p.status) {
    case 404: {
      RouteMatch match = MatchRoute(req.method, req.path);
      if (match.path_route) {
        p.status = 405;
        std::string allowed = AllowedMethods(req.path);
        res.set_header("Allow", allowed);
        p.detail = req.method + " is not allowed on " + std::string(match.path_route->path) +
                   " (allowed: " + allowed + ")";
      } else {
        p.detail = "no route " + req.method + " " + req.path + "; see docs/api.yaml";
      }
      break;
    }
    case 413:
      p.detail = "body: larger than the server accepts (" +
                 std::to_string(options_.max_body_bytes) +
                 " bytes; form-encoded bodies 8192: send Content-Type: application/json)";
      p.field = "body";
      break;
    case 400:
      p.detail = req.method.empty() || req.path.empty()
                     ? "malformed HTTP request"
                     : "malformed HTTP request (body could not be read as sent)";
      break;
    case 414:
      p.detail = "request line longer than the server accepts";
      break;
    default:
      p.detail = ReasonPhrase(p.status);
      break;
  }
  WriteProblem(res, req, p);
  return HandlerResponse::Handled;
}

void ApiServer::Impl::WriteError(Response& res, const Request& req, const Status& status) {
  Problem p = ProblemFor(status);
  if (p.status >= 500) {
    spdlog::error("http {} {}: {}", req.method,
                  t_request.route_index >= 0 ? Routes()[t_request.route_index].path
                                             : std::string_view("unmatched"),
                  status.message());
  }
  if (p.status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"custodian\"");
  WriteProblem(res, req, p);
}

void ApiServer::Impl::Handle(const Route& route, std::vector<std::string> ids, const Request& req,
                             Response& res) {
  t_request.route_index = RouteIndex(&route);
  try {
    Serve(route, std::move(ids), req, res);
  } catch (const std::exception& e) {
    res.headers.erase("Location");
    WriteError(res, req, Status::Internal(std::string("uncaught exception: ") + e.what()));
  } catch (...) {
    WriteError(res, req, Status::Internal("uncaught exception"));
  }
}

void ApiServer::Impl::Serve(const Route& route, std::vector<std::string> ids, const Request& req,
                            Response& res) {
  ApiRequest api;
  api.ids = std::move(ids);
  registry::Caller caller;

  // Authentication and the coarse role check come first: a caller that may not use the route
  // learns nothing about what its request would have done.
  if (route.auth == AuthKind::kBearer) {
    Result<std::string> token = req.get_header_value_count("Authorization") > 1
                                    ? Result<std::string>(Status::Unauthorized(
                                          "bearer token: send the Authorization header once"))
                                    : ParseBearer(req.get_header_value("Authorization"));
    Result<registry::Caller> who =
        token.ok() ? registry_.Authenticate(*token) : Result<registry::Caller>(token.status());
    if (token.ok()) OPENSSL_cleanse(token->data(), token->size());
    if (!who.ok()) {
      if (who.status().code() == StatusCode::kUnauthorized && token.ok()) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"custodian\", error=\"invalid_token\"");
        WriteProblem(res, req, ProblemFor(who.status()));
        return;
      }
      WriteError(res, req, who.status());
      return;
    }
    caller = std::move(*who);
    t_request.has_caller = true;
    t_request.token_id = caller.token_id;
    t_request.role = caller.role;
    if (!RoleAllowed(route.roles, caller.role)) {
      WriteError(res, req,
                 Status::PermissionDenied(std::string("role ") + registry::RoleName(caller.role) +
                                          " may not call " + MethodName(route.method) + " " +
                                          std::string(route.path)));
      return;
    }
    api.caller = &caller;
  }

  auto query = ParseQuery(req.target);
  if (!query.ok()) return WriteError(res, req, query.status());
  api.query = std::move(*query);

  if (route.method == HttpMethod::kPost) {
    std::string content_type = req.get_header_value("Content-Type");
    if (content_type.rfind("multipart/", 0) == 0) {
      WriteProblem(res, req,
                   {415, "body: send JSON (Content-Type: application/json), not " + content_type,
                    std::string("body")});
      return;
    }
    auto body = ParseJsonBody(req.body);
    if (!body.ok()) return WriteError(res, req, body.status());
    api.body = std::move(*body);
  }

  if (route.builtin == Builtin::kLogCheckpoint || route.builtin == Builtin::kLogVkey ||
      route.builtin == Builtin::kLogTile) {
    return ServeLog(route, api, req, res);
  }
  if (route.builtin == Builtin::kMetrics) {
    res.status = 200;
    res.set_content(RenderMetrics(), "text/plain; version=0.0.4; charset=utf-8");
    return;
  }
  Result<json> result =
      route.builtin == Builtin::kHealth ? Health() : route.handler(registry_, api);
  if (!result.ok()) return WriteError(res, req, result.status());
  res.status = route.success_status;
  if (res.status == 201) {
    std::string location = CreatedLocation(route, req, *result);
    if (!location.empty()) res.set_header("Location", location);
  }
  res.set_content(Dump(*result), std::string(kJsonContentType));
}

// The C2SP tlog-tiles read API. Full tiles never change (cached for a year, immutable); partial
// tiles and the checkpoint change as the log grows, so clients must revalidate.
void ApiServer::Impl::ServeLog(const Route& route, const ApiRequest& api, const Request& req,
                               Response& res) {
  tlog::Log* log = registry_.transparency_log();
  if (log == nullptr) {
    return WriteError(res, req, Status::NotFound("the transparency log is not enabled"));
  }
  auto cache = [&](const char* value) {
    res.headers.erase("Cache-Control");
    res.set_header("Cache-Control", value);
  };
  if (route.builtin == Builtin::kLogVkey) {
    res.status = 200;
    cache("no-cache");
    res.set_content(log->verifier_key().ToString() + "\n", "text/plain; charset=utf-8");
    return;
  }
  if (route.builtin == Builtin::kLogCheckpoint) {
    auto checkpoint = log->PublishedCheckpoint();
    if (!checkpoint.ok()) return WriteError(res, req, checkpoint.status());
    res.status = 200;
    cache("no-cache");
    res.set_content(*checkpoint, "text/plain; charset=utf-8");
    return;
  }
  auto id = tlog::ParseTilePath("tile/" + api.ids.at(0));
  if (!id.ok()) return WriteError(res, req, Status::NotFound(id.status().message()));
  auto tile = log->ReadTile(*id);
  if (!tile.ok()) return WriteError(res, req, tile.status());
  res.status = 200;
  cache(id->width == tlog::kTileWidth ? "public, max-age=31536000, immutable" : "no-cache");
  res.set_content(std::string(tile->begin(), tile->end()), "application/octet-stream");
}

// Healthy when the database answers a trivial read.
Result<json> ApiServer::Impl::Health() {
  auto tx = registry_.db().Begin(store::TxMode::kRead);
  Status s = tx.ok() ? (*tx)->Query("SELECT 1").status() : tx.status();
  if (!s.ok()) {
    spdlog::error("healthz: database: {}", s.message());
    return Status::Unavailable("database unavailable");
  }
  return json{{"status", "ok"}};
}

void ApiServer::Impl::LogRequest(const Request& req, const Response& res) {
  double seconds =
      t_request.started ? std::chrono::duration<double>(Clock::now() - t_request.start).count() : 0;
  metrics_.Record(t_request.route_index, req.method, res.status, seconds);
  std::string_view route = t_request.route_index >= 0 ? Routes()[t_request.route_index].path
                                                      : std::string_view("unmatched");
  auto level = res.status >= 500 ? spdlog::level::warn : spdlog::level::info;
  spdlog::log(level,
              "http method={} route={} status={} duration_ms={:.3f} token={} role={} remote={}",
              req.method.empty() ? "-" : req.method, route, res.status, seconds * 1e3,
              t_request.has_caller ? t_request.token_id : "-",
              t_request.has_caller ? registry::RoleName(t_request.role) : "-",
              req.remote_addr.empty() ? "-" : req.remote_addr);
  t_request = RequestContext();
}

void ApiServer::Impl::SweepLoop() {
  std::unique_lock<std::mutex> lock(sweep_mu_);
  const auto interval = std::chrono::seconds(options_.sweep_interval_s);
  while (!sweep_cv_.wait_for(lock, interval, [this] { return sweep_stop_; })) {
    lock.unlock();
    try {
      Result<int> raised = registry_.Sweep();
      if (!raised.ok()) {
        spdlog::warn("sweep: {}", raised.status().message());
      } else if (*raised > 0) {
        spdlog::info("sweep raised={}", *raised);
      }
    } catch (const std::exception& e) {
      spdlog::error("sweep: uncaught exception: {}", e.what());
    }
    lock.lock();
  }
}

Status ApiServer::Impl::Start() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (started_) return Status::Internal("server: Start called twice");
  auto addr = ParseHostPort(options_.listen, "--listen");
  if (!addr.ok()) return addr.status();
  std::string host = NumericHost(*addr);

  // Threads created from here on (the listener, httplib's workers, which the listener
  // creates, and the sweeper) inherit a mask without the stop signals.
  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  errno = 0;
  int port = addr->port();
  bool bound =
      port == 0 ? (port = http_->bind_to_any_port(host)) > 0 : http_->bind_to_port(host, port);
  int bind_errno = errno;
  if (!bound) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return Status::IoError("--listen " + options_.listen + ": cannot bind" +
                           (bind_errno ? std::string(" (") + std::strerror(bind_errno) + ")" : ""));
  }
  bound_ = *addr;
  SetPort(bound_, port);
  listener_ = std::thread([this] {
    if (!http_->listen_after_bind()) spdlog::error("http: the listener stopped accepting");
    listener_done_ = true;
  });
  if (options_.sweep_interval_s > 0) sweeper_ = std::thread([this] { SweepLoop(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  started_ = true;
  return Status::Ok();
}

void ApiServer::Impl::Stop() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  // httplib's stop() is a no-op until the listener has marked itself running; wait for that
  // (or for the listener to have ended on its own).
  while (!http_->is_running() && !listener_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Closes the listening socket; the listener then joins its workers, each finishing (and
  // answering) the request it is on before its connection closes.
  if (!listener_done_) http_->stop();
  listener_.join();
  {
    std::lock_guard<std::mutex> sweep_lock(sweep_mu_);
    sweep_stop_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() {
  Stop();
}

Result<std::unique_ptr<ApiServer>> ApiServer::Create(ServerOptions options,
                                                     registry::Registry& registry) {
  CUSTODIAN_RETURN_IF_ERROR(ValidateServerOptions(options));
  auto impl = std::make_unique<Impl>(std::move(options), registry);
  try {
    CUSTODIAN_RETURN_IF_ERROR(impl->Init());
  } catch (const std::exception& e) {  // std::regex, std::bad_alloc
    return Status::Internal(std::string("server: cannot set up routes: ") + e.what());
  }
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

Status ApiServer::Start() {
  return impl_->Start();
}
SocketAddress ApiServer::local_address() const {
  return impl_->bound_;
}
bool ApiServer::tls() const {
  return !impl_->options_.tls_cert_file.empty();
}
std::string ApiServer::url() const {
  return std::string(tls() ? "https://" : "http://") + impl_->bound_.ToString();
}
bool ApiServer::serving() const {
  return impl_->started_ && !impl_->stopped_ && !impl_->listener_done_;
}
void ApiServer::Stop() {
  impl_->Stop();
}
std::string ApiServer::RenderMetrics() {
  return impl_->RenderMetrics();
}

}  // namespace custodian::server
