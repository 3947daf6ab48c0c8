// The API client against a tiny httplib::Server: bearer token, JSON in and out, HTTP status ->
// Status mapping with the problem+json detail, keep-alive, reconnects, unreachable servers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "client/api_client.h"
#include "unit/client_fake_server.h"

namespace custodian::client {
namespace {

using custodian::testing::FakeHttpServer;
using custodian::testing::Problem;
using nlohmann::json;

class ApiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = fake_.server();
    s.Get("/v1/whoami", [this](const httplib::Request& req, httplib::Response& res) {
      ++calls_;
      if (req.get_header_value("Authorization") != "Bearer s3cret") {
        return Problem(res, 401, "bearer token unknown or revoked");
      }
      res.set_content(R"({"role":"admin"})", "application/json");
    });
    s.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      int code = std::stoi(req.matches[1]);
      Problem(res, code, "detail for " + std::to_string(code));
    });
    s.Post("/v1/echo", [](const httplib::Request& req, httplib::Response& res) {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || req.get_header_value("Content-Type") != "application/json") {
        return Problem(res, 400, "body: not JSON");
      }
      res.status = 201;
      res.set_content(json{{"got", body}}.dump(), "application/json");
    });
    s.Delete("/v1/tokens/t1",
             [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    s.Get("/v1/not-json", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html>hello</html>", "text/html");
    });
    s.Get("/prefix/v1/whoami", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"prefixed":true})", "application/json");
    });
    s.Get(R"(/v1/query)", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(
          json{{"status", req.get_param_value("status")}, {"kind", req.get_param_value("kind")}}
              .dump(),
          "application/json");
    });
  }

  std::unique_ptr<ApiClient> Client(const std::string& token = "s3cret",
                                    const std::string& suffix = "") {
    ApiClientOptions o;
    o.base_url = fake_.url() + suffix;
    o.token = token;
    o.connect_timeout_ms = 1000;
    o.read_timeout_ms = 2000;
    auto c = ApiClient::Create(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  FakeHttpServer fake_;
  std::atomic<int> calls_{0};
};

TEST_F(ApiClientTest, GetPostDeleteWithBearerToken) {
  fake_.Start();
  auto api = Client();
  auto who = api->Get("/v1/whoami");
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ((*who)["role"], "admin");
  auto echo = api->Post("/v1/echo", json{{"a", 1}, {"b", "ü"}});
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ((*echo)["got"], (json{{"a", 1}, {"b", "ü"}}));
  auto del = api->Delete("/v1/tokens/t1");
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_TRUE(del->is_null()) << "204 No Content is null";
  auto q = api->Get("/v1/query?status=" + UrlEncode("open now") + "&kind=" + UrlEncode("a&b"));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)["status"], "open now");
  EXPECT_EQ((*q)["kind"], "a&b");
}

TEST_F(ApiClientTest, ErrorsMapToStatusWithTheProblemDetail) {
  fake_.Start();
  auto api = Client("wrong-token-value");
  auto who = api->Get("/v1/whoami");
  ASSERT_FALSE(who.ok());
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthorized);
  EXPECT_EQ(who.status().message(), "GET /v1/whoami: HTTP 401: bearer token unknown or revoked");
  EXPECT_EQ(who.status().message().find("wrong-token-value"), std::string::npos);

  struct Case {
    int http;
    StatusCode code;
  };
  for (const Case& c : std::vector<Case>{{400, StatusCode::kInvalidInput},
                                         {403, StatusCode::kPermissionDenied},
                                         {404, StatusCode::kNotFound},
                                         {409, StatusCode::kAlreadyExists},
                                         {413, StatusCode::kFailedCheck},
                                         {422, StatusCode::kFailedCheck},
                                         {429, StatusCode::kUnavailable},
                                         {500, StatusCode::kUnavailable},
                                         {503, StatusCode::kUnavailable}}) {
    const std::string path = "/status/" + std::to_string(c.http);
    auto r = api->Get(path);
    ASSERT_FALSE(r.ok()) << c.http;
    EXPECT_EQ(r.status().code(), c.code) << c.http;
    EXPECT_EQ(r.status().message(), "GET " + path + ": HTTP " + std::to_string(c.http) +
                                        ": detail for " + std::to_string(c.http));
  }
  auto not_json = api->Get("/v1/not-json");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.status().code(), StatusCode::kInternal);
  EXPECT_NE(not_json.status().message().find("not JSON"), std::string::npos);
  auto missing = api->Get("/v1/nothing-here");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(ApiClientTest, KeepsTheConnectionAlive) {
  fake_.server().set_keep_alive_max_count(100);
  fake_.Start();
  auto api = Client();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(api->Get("/v1/whoami").ok()) << i;
  EXPECT_EQ(calls_.load(), 10);
  EXPECT_EQ(api->connections_opened(), 1u);
}

TEST_F(ApiClientTest, ReconnectsWhenTheServerClosedTheConnection) {
  // The server closes after every 2nd request, and after 1 s idle.
  fake_.server().set_keep_alive_max_count(2);
  fake_.server().set_keep_alive_timeout(1);
  fake_.Start();
  auto api = Client();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(api->Get("/v1/whoami").ok()) << i;
  EXPECT_EQ(api->connections_opened(), 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto after_idle = api->Get("/v1/whoami");
  EXPECT_TRUE(after_idle.ok()) << after_idle.status().ToString();
  auto post = api->Post("/v1/echo", json{{"x", 1}});
  EXPECT_TRUE(post.ok()) << post.status().ToString();
}

TEST_F(ApiClientTest, UnreachableServerIsUnavailable) {
  fake_.Start();
  const std::string url = fake_.url();
  fake_.Stop();
  ApiClientOptions o;
  o.base_url = url;
  o.token = "s3cret";
  o.connect_timeout_ms = 500;
  auto api = ApiClient::Create(o).value();
  auto r = api->Get("/v1/whoami");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("GET /v1/whoami: cannot reach " + url), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos);
  auto p = api->Post("/v1/echo", json::object());
  EXPECT_EQ(p.status().code(), StatusCode::kUnavailable);
}

TEST_F(ApiClientTest, BaseUrlPrefixAndBadInputs) {
  fake_.Start();
  auto api = Client("s3cret", "/prefix/");
  auto r = api->Get("/v1/whoami");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["prefixed"], true);
  EXPECT_EQ(api->Get("v1/whoami").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(api->Request("TRACE", "/v1/whoami").status().code(), StatusCode::kInvalidInput);

  ApiClientOptions o;
  o.base_url = "not a url";
  EXPECT_EQ(ApiClient::Create(o).status().code(), StatusCode::kInvalidInput);
  o.base_url = fake_.url();
  o.token = "two\nlines";
  EXPECT_EQ(ApiClient::Create(o).status().code(), StatusCode::kInvalidInput);
  o.token = "";
  o.base_url = "https://127.0.0.1:1";
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(ApiClient::Create(o).status().code(), StatusCode::kInvalidInput);
}

}  // namespace
}  // namespace custodian::client
