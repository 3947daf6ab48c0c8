// Parsers shared by the agent, the cross-check loop and the API commands: --via, --gpus-file,
// token files, base URLs, HTTP error mapping, landmark lists.
#include <gtest/gtest.h>

#include <cstdlib>

#include "client/api_client.h"
#include "client/inputs.h"
#include "client/targets.h"
#include "core/bytes.h"
#include "core/crypto.h"
#include "core/file.h"
#include "unit/client_fake_server.h"

namespace custodian::client {
namespace {

using custodian::testing::ScratchDir;
using nlohmann::json;

TEST(ParseVia, AcceptsRoutesAndNamesTheProblem) {
  auto via = ParseVia({"SIN-1=127.0.0.1:9001", "fra.1=[::1]:9002"});
  ASSERT_TRUE(via.ok()) << via.status().ToString();
  ASSERT_EQ(via->size(), 2u);
  EXPECT_EQ(via->at("SIN-1").ToString(), "127.0.0.1:9001");
  EXPECT_EQ(via->at("fra.1").ToString(), "[::1]:9002");
  EXPECT_TRUE(ParseVia({}).value().empty());

  struct Bad {
    std::vector<std::string> items;
    const char* says;
  };
  for (const Bad& b : std::vector<Bad>{
           {{"SIN-1"}, "expected LANDMARK_ID=HOST:PORT"},
           {{"=127.0.0.1:1"}, "not a landmark id"},
           {{"bad id=127.0.0.1:1"}, "not a landmark id"},
           {{"SIN-1=127.0.0.1"}, "--via SIN-1"},
           {{"SIN-1=127.0.0.1:99999"}, "--via SIN-1"},
           {{"SIN-1=127.0.0.1:0"}, "port must not be 0"},
           {{"SIN-1=127.0.0.1:1", "SIN-1=127.0.0.1:2"}, "named twice"},
       }) {
    auto r = ParseVia(b.items);
    ASSERT_FALSE(r.ok()) << b.items[0];
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().rfind("--via", 0), 0u) << r.status().message();
  }
}

TEST(ParseGpusJson, ReadsIdentities) {
  auto gpus = ParseGpusJson(R"([
      {"uuid": "GPU-1", "serial": "1650", "model": "NVIDIA H100 80GB HBM3"},
      {"uuid": "GPU-2"},
      {"index": 2, "uuid": "GPU-3", "serial": null, "name": "NVIDIA H20", "pci_bus_id": "x"}])",
                            "gpus.json");
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  ASSERT_EQ(gpus->size(), 3u);
  EXPECT_EQ((*gpus)[0].uuid, "GPU-1");
  EXPECT_EQ((*gpus)[0].serial, "1650");
  EXPECT_EQ((*gpus)[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ((*gpus)[1].serial, "");
  EXPECT_EQ((*gpus)[2].name, "NVIDIA H20") << "`custodian gpus --json` output works too";
  json enrol = GpusForEnrolment(*gpus);
  EXPECT_EQ(enrol[0],
            (json{{"uuid", "GPU-1"}, {"serial", "1650"}, {"model", "NVIDIA H100 80GB HBM3"}}));
  EXPECT_TRUE(ParseGpusJson("[]", "f").value().empty());

  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"{", "not valid JSON"},
           {"{\"uuid\": \"GPU-1\"}", "expected a JSON array"},
           {"[1]", "f[0]: expected an object"},
           {"[{\"serial\": \"x\"}]", "f[0].uuid: required"},
           {"[{\"uuid\": \"\"}]", "f[0].uuid: required"},
           {"[{\"uuid\": 7}]", "f[0].uuid: must be a string"},
           {"[{\"uuid\": \"GPU-1\", \"serial\": 5}]", "f[0].serial: must be a string"},
           {"[{\"uuid\": \"GPU-1\"}, {\"uuid\": \"GPU-1\"}]", "f[1].uuid: GPU-1 listed twice"},
       }) {
    auto r = ParseGpusJson(text, "f");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
  }
}

TEST(LoadGpus, FromFileOrSaysHowToSimulate) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir / "g.json", R"([{"uuid":"GPU-a"}])", 0644).ok());
  auto gpus = LoadGpus(dir / "g.json");
  ASSERT_TRUE(gpus.ok());
  EXPECT_EQ((*gpus)[0].uuid, "GPU-a");
  ASSERT_TRUE(WriteFileAtomic(dir / "none.json", "[]", 0644).ok());
  auto none = LoadGpus(dir / "none.json");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("--gpus-file"), std::string::npos);
  EXPECT_FALSE(LoadGpus(dir / "missing.json").ok());
}

TEST(Tokens, FilesAndPrecedence) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir / "t", "  secret-token\n", 0600).ok());
  EXPECT_EQ(ReadTokenFile(dir / "t").value(), "secret-token");
  ASSERT_TRUE(WriteFileAtomic(dir / "empty", "\n", 0600).ok());
  EXPECT_EQ(ReadTokenFile(dir / "empty").status().code(), StatusCode::kInvalidInput);
  ASSERT_TRUE(WriteFileAtomic(dir / "two", "a\nb\n", 0600).ok());
  EXPECT_EQ(ReadTokenFile(dir / "two").status().code(), StatusCode::kInvalidInput);
  EXPECT_FALSE(ReadTokenFile(dir / "missing").ok());

  ::setenv("CUSTODIAN_TEST_TOKEN", "from-env", 1);
  EXPECT_EQ(ResolveToken("flag", "", "CUSTODIAN_TEST_TOKEN").value(), "flag");
  EXPECT_EQ(ResolveToken("", dir / "t", "CUSTODIAN_TEST_TOKEN").value(), "secret-token");
  EXPECT_EQ(ResolveToken("", "", "CUSTODIAN_TEST_TOKEN").value(), "from-env");
  EXPECT_EQ(ResolveToken("", "", nullptr).value(), "");
  EXPECT_EQ(ResolveToken("a", dir / "t", nullptr).status().code(), StatusCode::kInvalidInput);
  ::unsetenv("CUSTODIAN_TEST_TOKEN");
}

TEST(ParseBaseUrl, Forms) {
  auto u = ParseBaseUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->prefix, "");
  u = ParseBaseUrl("HTTPS://registry.example.org/custodian/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->prefix, "/custodian");
  EXPECT_EQ(u->ToString(), "https://registry.example.org:443/custodian");
  u = ParseBaseUrl("http://[::1]:9000/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->ToString(), "http://[::1]:9000");
  EXPECT_EQ(ParseBaseUrl("http://localhost")->port, 80);

  for (const char* bad : {"", "127.0.0.1:8080", "ftp://x", "http://", "http://:80",
                          "http://h:", "http://h:0", "http://h:65536", "http://h:8x",
                          "http://u:p@h:1", "http://h:1/?q=1", "http://[::1:1", "http://h h:1"}) {
    auto r = ParseBaseUrl(bad, "--server");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << bad;
    EXPECT_EQ(r.status().message().rfind("--server: ", 0), 0u) << r.status().message();
  }
}

TEST(StatusForHttpError, MapsCodesAndReadsProblems) {
  struct Case {
    int http;
    StatusCode code;
  };
  for (const Case& c : std::vector<Case>{{400, StatusCode::kInvalidInput},
                                         {401, StatusCode::kUnauthorized},
                                         {403, StatusCode::kPermissionDenied},
                                         {404, StatusCode::kNotFound},
                                         {409, StatusCode::kAlreadyExists},
                                         {413, StatusCode::kFailedCheck},
                                         {422, StatusCode::kFailedCheck},
                                         {429, StatusCode::kUnavailable},
                                         {500, StatusCode::kUnavailable},
                                         {503, StatusCode::kUnavailable},
                                         {405, StatusCode::kInternal},
                                         {302, StatusCode::kInternal}}) {
    EXPECT_EQ(StatusForHttpError("GET", "/v1/x", c.http, "").code(), c.code) << c.http;
  }
  Status s = StatusForHttpError(
      "POST", "/v1/sites", 400,
      R"({"type":"about:blank","title":"Bad Request","status":400,"detail":"body.lat: must be a number in [-90, 90]","field":"body.lat"})");
  EXPECT_EQ(s.message(), "POST /v1/sites: HTTP 400: body.lat: must be a number in [-90, 90]");
  s = StatusForHttpError("GET", "/v1/x", 404, R"({"title":"Not Found","field":"id"})");
  EXPECT_EQ(s.message(), "GET /v1/x: HTTP 404: id: Not Found");
  s = StatusForHttpError("GET", "/v1/x", 502, "<html>\r\nBad Gateway</html>");
  EXPECT_EQ(s.message(), "GET /v1/x: HTTP 502: <html>  Bad Gateway</html>");
  s = StatusForHttpError("DELETE", "/v1/tokens/t1", 403, "");
  EXPECT_EQ(s.message(), "DELETE /v1/tokens/t1: HTTP 403: (no detail)");
  EXPECT_EQ(UrlEncode("open ok/&=é"), "open%20ok%2F%26%3D%C3%A9");
}

TEST(Targets, ParseLandmarksFromPlansAndLists) {
  InitCrypto();
  const std::string pub = Base64Encode(SigningKey::FromSeed(Bytes(32, 7)).value().public_key());
  json lm = {{"id", "SIN-1"},     {"address", "127.0.0.1:9001"},
             {"public_key", pub}, {"lat", 1.35},
             {"lon", 103.8},      {"can_help", true}};
  auto t = ParseTarget(lm, {});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->id, "SIN-1");
  EXPECT_EQ(t->address.ToString(), "127.0.0.1:9001");
  EXPECT_FALSE(t->via);
  auto via = ParseVia({"SIN-1=127.0.0.1:7000"}).value();
  t = ParseTarget(lm, via);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->address.ToString(), "127.0.0.1:7000");
  EXPECT_TRUE(t->via);
  json no_addr = lm;
  no_addr.erase("address");
  EXPECT_FALSE(ParseTarget(no_addr, {}).ok());
  EXPECT_TRUE(ParseTarget(no_addr, via).ok()) << "--via supplies a missing address";
  json bad_key = lm;
  bad_key["public_key"] = "AAAA";
  EXPECT_NE(ParseTarget(bad_key, {}).status().message().find("landmark SIN-1: public_key"),
            std::string::npos);
  EXPECT_FALSE(ParseTarget(json{{"id", "a b"}}, {}).ok());

  EXPECT_EQ(LandmarkArray(json::array({lm})).value().size(), 1u);
  EXPECT_EQ(LandmarkArray(json{{"landmarks", json::array({lm, lm})}}).value().size(), 2u);
  EXPECT_FALSE(LandmarkArray(json{{"items", 1}}).ok());
}

}  // namespace
}  // namespace custodian::client
