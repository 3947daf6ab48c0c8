// `custodian serve` as a separate process on 127.0.0.1:0: health, authentication, problem
// details, routing errors, body limits, TLS, metrics, the request log and graceful shutdown.
// The suite ServerHttp runs on SQLite and on PostgreSQL; ServerHttpSqlite holds the checks of
// the HTTP layer itself, which do not depend on the database.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "core/crypto.h"
#include "support/server_process.h"

namespace custodian::testing {
namespace {

using nlohmann::json;

// The fields RFC 9457 and docs/api.md promise on every error.
void ExpectProblem(const HttpReply& r, int status, const std::string& path) {
  EXPECT_EQ(r.status, status) << r;
  EXPECT_EQ(r.Header("Content-Type"), "application/problem+json") << r;
  json j = r.Json();
  ASSERT_TRUE(j.is_object()) << r;
  EXPECT_EQ(j.value("type", ""), "about:blank") << r;
  EXPECT_TRUE(j.contains("title") && j["title"].is_string()) << r;
  EXPECT_EQ(j.value("status", 0), status) << r;
  EXPECT_TRUE(j.contains("detail") && j["detail"].is_string()) << r;
  EXPECT_EQ(j.value("instance", ""), path) << r;
}

class ServerFixture {
 protected:
  void StartServer(Backend backend, const std::vector<std::string>& extra = {}) {
    db_ = DatabaseUrl(backend, dir_);
    ASSERT_FALSE(db_.empty());
    admin_ = InitAdmin(db_);
    ASSERT_FALSE(admin_.empty());
    server_ = std::make_unique<ServerProcess>(dir_, db_, extra);
    ASSERT_TRUE(server_->started());
  }
  HttpClient http() const { return server_->Client(); }

  TempDir dir_;
  std::string db_, admin_;
  std::unique_ptr<ServerProcess> server_;
};

class ServerHttp : public ServerFixture, public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { StartServer(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(Backends, ServerHttp,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& p) { return std::string(BackendName(p.param)); });

// Each server process costs two process starts (admin init, serve); the checks are grouped
// into few tests to keep the ASan run short.
TEST_P(ServerHttp, StartsAndServesHealthAndTheAdmin) {
  EXPECT_EQ(server_->first_line(),
            "custodian serve listening on http://127.0.0.1:" + std::to_string(server_->port()) +
                " (db " + BackendName(GetParam()) + ")");

  HttpReply r = http().Get("/healthz");  // no token needed
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  EXPECT_EQ(r.Json()["status"], "ok");

  r = http().Get("/v1/whoami", admin_);
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.Json().value("role", ""), "admin") << r;
}

TEST_P(ServerHttp, MissingOrBadTokenIs401WithProblemDetails) {
  HttpReply none = http().Get("/v1/whoami");
  ExpectProblem(none, 401, "/v1/whoami");
  EXPECT_EQ(none.Header("WWW-Authenticate").rfind("Bearer", 0), 0u) << none;

  HttpReply bad = http().Get("/v1/whoami", "not-a-real-token");
  ExpectProblem(bad, 401, "/v1/whoami");
  EXPECT_NE(bad.Header("WWW-Authenticate").find("invalid_token"), std::string::npos);

  HttpReply basic = http().Send("GET", "/v1/sites", "", "", {{"Authorization", "Basic YTpi"}});
  ExpectProblem(basic, 401, "/v1/sites");

  // Authentication comes before the body is looked at.
  HttpReply post = http().PostRaw("/v1/sites", "{not json");
  ExpectProblem(post, 401, "/v1/sites");
}

TEST_P(ServerHttp, MetricsForAdminOnlyAndCarryEverySeries) {
  ASSERT_EQ(http().Get("/healthz").status, 200);
  ASSERT_EQ(http().Get("/v1/nothing").status, 404);
  ExpectProblem(http().Get("/metrics"), 401, "/metrics");
  HttpReply r = http().Get("/metrics", admin_);
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.Header("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  for (const char* want :
       {"custodian_up 1\n",
        "custodian_http_requests_total{route=\"/healthz\",method=\"GET\",code=\"200\"} 1\n",
        "custodian_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 1\n",
        "custodian_http_requests_total{route=\"/metrics\",method=\"GET\",code=\"401\"} 1\n",
        "custodian_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1\n",
        "custodian_http_request_duration_seconds_sum{route=\"/healthz\"} ",
        "# TYPE custodian_verdicts_total counter\n", "custodian_verdicts_total{kind=\"verified\"} ",
        "custodian_attestations_total ", "custodian_attestations_rejected_total ",
        "custodian_alerts_open ", "custodian_ingest_in_flight "}) {
    EXPECT_NE(r.body.find(want), std::string::npos) << want << "\n" << r.body;
  }
}

class ServerHttpSqlite : public ServerFixture, public ::testing::Test {
 protected:
  void SetUp() override { StartServer(Backend::kSqlite, {"--max-body-bytes", "4096"}); }
};

TEST_F(ServerHttpSqlite, RoutingAndInputErrorsAreProblems) {
  // No such route: 404; a path that exists with other methods: 405 with Allow.
  HttpReply r = http().Get("/v1/nothing", admin_);
  ExpectProblem(r, 404, "/v1/nothing");
  r = http().Get("/", admin_);
  ExpectProblem(r, 404, "/");
  r = http().Get("/v1/sites/", admin_);
  ExpectProblem(r, 404, "/v1/sites/");

  r = http().Delete("/v1/sites/s1", admin_);
  ExpectProblem(r, 405, "/v1/sites/s1");
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD");
  r = http().Send("PUT", "/v1/sites", "{}", admin_);
  ExpectProblem(r, 405, "/v1/sites");
  EXPECT_EQ(r.Header("Allow"), "POST, GET, HEAD");

  // Malformed JSON: 400 naming the position; a body that is not an object: 400.
  r = http().PostRaw("/v1/sites", "{\"id\": \"s1\",,}", admin_);
  ExpectProblem(r, 400, "/v1/sites");
  EXPECT_EQ(r.Json().value("field", ""), "body") << r;
  EXPECT_EQ(r.Json().value("detail", "").rfind("body: malformed JSON at line 1, column 13", 0), 0u)
      << r;

  r = http().PostRaw("/v1/sites", "[1, 2]", admin_);
  ExpectProblem(r, 400, "/v1/sites");
  EXPECT_EQ(r.Json().value("detail", ""), "body: must be a JSON object, got array");

  // A query parameter given twice.
  r = http().Get("/v1/alerts?kind=stale&kind=violation", admin_);
  ExpectProblem(r, 400, "/v1/alerts");
  EXPECT_EQ(r.Json().value("field", ""), "query.kind") << r;
}

TEST_F(ServerHttpSqlite, BodyLimitsAndFraming) {
  std::string big = "{\"pad\": \"" + std::string(5000, 'x') + "\"}";
  HttpReply r = http().PostRaw("/v1/sites", big, admin_);
  ExpectProblem(r, 413, "/v1/sites");
  EXPECT_NE(r.Json().value("detail", "").find("4096"), std::string::npos) << r;
  // The connection was left usable and the server is fine.
  EXPECT_EQ(http().Get("/healthz").status, 200);

  // A chunked body is refused (httplib would not limit its size) and the connection closed.
  std::string chunked = "POST /v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                        "\r\nTransfer-Encoding: chunked\r\n\r\n" + "2000\r\n" +
                        std::string(0x2000, 'x') + "\r\n0\r\n\r\n";
  std::string out = RawExchange(server_->port(), chunked);
  EXPECT_EQ(RawStatus(out), 411) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;

  // No Content-Length and no Transfer-Encoding: an empty body (RFC 9112 §6.3), answered at once
  // rather than after a read timeout. An empty body is {}: whoever validates it says which
  // field is missing.
  auto start = std::chrono::steady_clock::now();
  out = RawExchange(server_->port(),
                    "POST /v1/operators HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                        "\r\nConnection: close\r\n\r\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(RawStatus(out), 400) << out;
  EXPECT_NE(out.find("application/problem+json"), std::string::npos) << out;
}

TEST_F(ServerHttpSqlite, RequestLogNamesTheRouteAndCallerButNeverTheToken) {
  ASSERT_EQ(http().Get("/v1/whoami", admin_).status, 200);
  ASSERT_EQ(http().PostRaw("/v1/tokens", "{\"role\": \"auditor\"}", admin_).status, 201);
  ASSERT_EQ(server_->Stop(), 0);
  std::string log = server_->Log();
  EXPECT_NE(log.find("method=GET route=/v1/whoami status=200"), std::string::npos) << log;
  EXPECT_NE(log.find("role=admin"), std::string::npos) << log;
  EXPECT_NE(log.find("method=POST route=/v1/tokens status=201"), std::string::npos) << log;
  EXPECT_EQ(log.find(admin_.substr(admin_.size() - 32)), std::string::npos)
      << "the log holds a token's secret:\n"
      << log;
  EXPECT_EQ(log.find("auditor\"}"), std::string::npos) << "the log holds a body:\n" << log;
}

TEST_F(ServerHttpSqlite, SigtermLetsARequestInFlightFinishThenExitsZero) {
  // A POST whose body arrives in two parts: the request is in flight (its body half read)
  // when SIGTERM comes; the server must still answer it, then exit 0.
  std::string body = "{\"id\": \"op-inflight\", \"name\": \"In Flight\"}";
  std::string head =
      "POST /v1/operators HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body.substr(0, 10);
  std::string out = RawExchange(server_->port(), head, body.substr(10), [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    server_->Signal(SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  });
  int status = RawStatus(out);
  EXPECT_TRUE(status == 201 || status == 400 || status == 409)
      << out;  // answered, whatever the registry says
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  // No longer listening.
  EXPECT_EQ(http().Get("/healthz").status, -1);
}

TEST_F(ServerHttpSqlite, ASecondServerCannotTakeTheSamePort) {
  // httplib would set SO_REUSEPORT and let both listen, splitting the connections.
  CliResult r = RunCli({"serve", "--db", "sqlite:" + (dir_ / "other.db"), "--listen",
                        "127.0.0.1:" + std::to_string(server_->port())});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot bind"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ServerCli, BadFlagsExit2BeforeTouchingTheDatabase) {
  TempDir dir;
  std::string db = "sqlite:" + (dir / "never.db");
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--listen", "no-port"},
                                             {"--threads", "-1"},
                                             {"--max-body-bytes", "10"},
                                             {"--tls-cert", dir / "cert.pem"},
                                             {"--stale-after-s", "0"}}) {
    std::vector<std::string> args = {"serve", "--db", db};
    args.insert(args.end(), flags.begin(), flags.end());
    CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << flags[0] << ": " << r.out << r.err;
    EXPECT_EQ(r.err_lines(), 1u) << r.err;
    EXPECT_NE(r.err.find(flags[0]), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "never.db"));
}

TEST(ServerCli, AdminInitOnceThenRefusesAndMigrateReportsTheVersion) {
  TempDir dir;
  std::string db = "sqlite:" + (dir / "c.db");
  CliResult migrate = RunCli({"db", "migrate", "--db", db});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_EQ(migrate.out.rfind("schema version ", 0), 0u) << migrate.out;
  EXPECT_GE(std::atoi(migrate.out.c_str() + 15), 1) << migrate.out;

  CliResult first = RunCli({"admin", "init", "--db", db});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string token = first.out.substr(first.out.rfind('\n', first.out.size() - 2) + 1);
  token.pop_back();
  EXPECT_GE(token.size(), 20u) << first.out;
  EXPECT_EQ(token.find(' '), std::string::npos) << first.out;

  CliResult second = RunCli({"admin", "init", "--db", db});
  EXPECT_EQ(second.exit_code, 1) << second.out;
  EXPECT_EQ(second.out, "");
  EXPECT_NE(second.err.find("admin token exists already"), std::string::npos) << second.err;
  EXPECT_EQ(second.err_lines(), 1u) << second.err;
}

// The background sweeper: a node that never attests goes stale after --stale-after-s, and the
// server raises the alert on its own (no request triggers it).
TEST(ServerSweeper, RaisesAStaleAlertForADarkNode) {
  InitCrypto();
  TempDir dir;
  std::string db = "sqlite:" + (dir / "c.db");
  std::string admin = InitAdmin(db);
  ServerProcess server(dir, db, {"--stale-after-s", "1", "--sweep-interval-s", "1"});
  ASSERT_TRUE(server.started());
  HttpClient http = server.Client();
  ASSERT_EQ(http.Post("/v1/operators", {{"id", "op1"}, {"name", "One"}}, admin).status, 201);
  ASSERT_EQ(http.Post("/v1/sites",
                      {{"id", "s1"},
                       {"operator", "op1"},
                       {"lat", 1.33},
                       {"lon", 103.74},
                       {"country", "SG"},
                       {"licensed", {"SG"}}},
                      admin)
                .status,
            201);
  HttpReply enrolment = http.Post("/v1/enrolments", {{"site", "s1"}}, admin);
  ASSERT_EQ(enrolment.status, 201) << enrolment;
  HttpReply node =
      http.Post("/v1/nodes", {{"enrolment_token", enrolment.Json().value("token", "")},
                              {"public_key", Base64Encode(SigningKey::Generate().public_key())},
                              {"gpus",
                               {{{"uuid", "GPU-6f2d4c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"},
                                 {"serial", "1650123456789"},
                                 {"model", "NVIDIA H100"}}}}});
  ASSERT_EQ(node.status, 201) << node;
  std::string node_id = node.Json()["node"].value("id", "");

  json alerts;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpReply r = http.Get("/v1/alerts?kind=stale", admin);
    ASSERT_EQ(r.status, 200) << r;
    alerts = r.Json()["alerts"];
    if (!alerts.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts[0].value("node", ""), node_id);
  HttpReply metrics = http.Get("/metrics", admin);
  EXPECT_NE(metrics.body.find("custodian_alerts_open 1\n"), std::string::npos) << metrics.body;
  EXPECT_EQ(server.Stop(), 0);
}

// A self-signed Ed25519 certificate for 127.0.0.1, made by the openssl CLI.
bool MakeCertificate(const TempDir& dir) {
  std::string cmd =
      "openssl req -x509 -newkey ed25519 -nodes -days 2 -subj /CN=localhost"
      " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
      ShellQuote(dir / "key.pem") + " -out " + ShellQuote(dir / "cert.pem") + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0 && ::chmod((dir / "key.pem").c_str(), 0600) == 0;
}

TEST(ServerTls, ServesHttpsWithTheGivenCertificate) {
  TempDir dir;
  ASSERT_TRUE(MakeCertificate(dir));
  std::string db = "sqlite:" + (dir / "c.db");
  std::string admin = InitAdmin(db);
  ServerProcess server(dir, db, {"--tls-cert", dir / "cert.pem", "--tls-key", dir / "key.pem"});
  ASSERT_TRUE(server.started());
  EXPECT_EQ(server.url(), "https://127.0.0.1:" + std::to_string(server.port()));

  HttpClient https = server.Client(dir / "cert.pem");
  HttpReply r = https.Get("/healthz");
  EXPECT_EQ(r.status, 200) << r;
  r = https.Get("/v1/whoami", admin);
  EXPECT_EQ(r.status, 200) << r;
  // Plain HTTP to the TLS port gets no HTTP answer.
  EXPECT_EQ(server.Client().Get("/healthz").status, -1);
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

TEST(ServerTls, RefusesAKeyFileOthersCanRead) {
  TempDir dir;
  ASSERT_TRUE(MakeCertificate(dir));
  ASSERT_EQ(::chmod((dir / "key.pem").c_str(), 0644), 0);
  CliResult r = RunCli({"serve", "--db", "sqlite:" + (dir / "c.db"), "--listen", "127.0.0.1:0",
                        "--tls-cert", dir / "cert.pem", "--tls-key", dir / "key.pem"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("accessible by group or others"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

TEST(ServerTls, RefusesAKeyThatDoesNotMatchTheCertificate) {
  TempDir dir;
  ASSERT_TRUE(MakeCertificate(dir));
  std::string other = "openssl genpkey -algorithm ed25519 -out " + ShellQuote(dir / "other.pem") +
                      " >/dev/null 2>&1";
  ASSERT_EQ(std::system(other.c_str()), 0);
  ASSERT_EQ(::chmod((dir / "other.pem").c_str(), 0600), 0);
  CliResult r = RunCli({"serve", "--db", "sqlite:" + (dir / "c.db"), "--listen", "127.0.0.1:0",
                        "--tls-cert", dir / "cert.pem", "--tls-key", dir / "other.pem"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("does not match the certificate"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace custodian::testing
