// The route table against docs/api.yaml (same set of method + path), and the pieces of the HTTP
// layer that need no process: route matching, problem details, query/bearer/body parsing and
// the metrics text.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "server/metrics.h"
#include "server/problem.h"
#include "server/request.h"
#include "server/routes.h"

namespace custodian::server {
namespace {

using nlohmann::json;

// Every operation under `paths:` in docs/api.yaml: "GET /v1/sites/{id}" -> its x-roles, sorted
// and comma-joined. The file keeps a regular layout for this reader: paths at two spaces of
// indent, methods at four, x-roles at six.
std::map<std::string, std::string> SpecOperations() {
  std::ifstream in(std::string(CUSTODIAN_SOURCE_DIR) + "/docs/api.yaml");
  EXPECT_TRUE(in.good()) << "docs/api.yaml not readable";
  std::map<std::string, std::string> ops;
  std::string line, path, op;
  bool in_paths = false;
  static const std::regex path_re(R"(^  (/[^ :]*):\s*$)");
  static const std::regex method_re(R"(^    (get|post|put|patch|delete|head|options):\s*$)");
  static const std::regex roles_re(R"(^      x-roles: \[([a-z, -]*)\]\s*$)");
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ' && line[0] != '#') break;  // the next top-level key
    std::smatch m;
    if (std::regex_match(line, m, path_re)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_re)) {
      std::string method = m[1];
      for (char& c : method) c = char(std::toupper(static_cast<unsigned char>(c)));
      op = method + " " + path;
      EXPECT_FALSE(ops.count(op)) << op << " twice in docs/api.yaml";
      ops[op] = "";
    } else if (std::regex_match(line, m, roles_re)) {
      std::set<std::string> roles;
      std::stringstream list(m[1]);
      std::string role;
      while (std::getline(list, role, ',')) {
        role.erase(0, role.find_first_not_of(' '));
        roles.insert(role);
      }
      std::string joined;
      for (const auto& r : roles) joined += (joined.empty() ? "" : ",") + r;
      ops[op] = joined;
    }
  }
  return ops;
}

// The same form for a route of the table.
std::string RolesOf(const Route& r) {
  if (r.auth == AuthKind::kNone) return "anyone";
  if (r.auth == AuthKind::kEnrolment) return "enrolment-token";
  std::set<std::string> roles;
  for (auto role : {registry::Role::kAdmin, registry::Role::kOperator, registry::Role::kLandmark,
                    registry::Role::kAgent, registry::Role::kAuditor}) {
    if (RoleAllowed(r.roles, role)) roles.insert(registry::RoleName(role));
  }
  std::string joined;
  for (const auto& s : roles) joined += (joined.empty() ? "" : ",") + s;
  return joined;
}

TEST(ServerRoutes, ApiSpecDescribesExactlyTheRouteTable) {
  std::map<std::string, std::string> table;
  for (const Route& r : Routes()) {
    std::string op = std::string(MethodName(r.method)) + " " + std::string(r.path);
    EXPECT_FALSE(table.count(op)) << "duplicate route " << op;
    table[op] = RolesOf(r);
  }
  std::map<std::string, std::string> spec = SpecOperations();
  for (const auto& [op, roles] : table) {
    auto it = spec.find(op);
    if (it == spec.end()) {
      ADD_FAILURE() << op << " is missing from docs/api.yaml";
      continue;
    }
    EXPECT_EQ(it->second, roles) << "x-roles of " << op << " in docs/api.yaml";
  }
  for (const auto& [op, roles] : spec) {
    EXPECT_TRUE(table.count(op)) << op << " is in docs/api.yaml only";
  }
  EXPECT_EQ(table.size(), 42u);  // 35 + the five of the transparency log + two of screening
}

TEST(ServerRoutes, EveryRouteHasAHandlerOrIsBuiltinAndSaneRoles) {
  for (const Route& r : Routes()) {
    EXPECT_EQ(r.handler == nullptr, r.builtin != Builtin::kNone) << r.path;
    EXPECT_TRUE(RoleAllowed(r.roles, registry::Role::kAdmin))
        << "admin may do anything: " << r.path;
    // GET /v1/screen records the decision it answers with: not a read, so not an auditor's.
    if (r.method == HttpMethod::kGet && r.auth == AuthKind::kBearer && r.path != "/v1/tokens" &&
        r.path != "/v1/screen") {
      EXPECT_TRUE(RoleAllowed(r.roles, registry::Role::kAuditor))
          << "auditor reads all: " << r.path;
    }
    if (r.method != HttpMethod::kGet && r.auth == AuthKind::kBearer) {
      EXPECT_FALSE(RoleAllowed(r.roles, registry::Role::kAuditor))
          << "auditor is read-only: " << r.path;
    }
    EXPECT_TRUE(r.success_status == 200 || r.success_status == 201) << r.path;
    if (r.success_status == 201) {
      EXPECT_EQ(r.method, HttpMethod::kPost) << r.path;
    }
  }
}

// The regexes registered with httplib and MatchRoute (404/405, metrics labels) agree.
TEST(ServerRoutes, RegexAndMatcherAgree) {
  for (const Route& r : Routes()) {
    std::string path = std::regex_replace(std::string(r.path), std::regex(R"(\{id\})"), "x-1.2");
    RouteMatch m = MatchRoute(MethodName(r.method), path);
    ASSERT_EQ(m.route, &r) << path;
    EXPECT_TRUE(std::regex_match(path, std::regex(PathRegex(r.path)))) << path;
    for (const Route& other : Routes()) {
      if (&other == &r) continue;
      bool regex_hit = std::regex_match(path, std::regex(PathRegex(other.path)));
      bool same_template = other.path == r.path;
      EXPECT_EQ(regex_hit, same_template) << path << " vs " << other.path;
    }
  }
  EXPECT_EQ(PathRegex("/v1/chips/{id}/verdicts"), "/v1/chips/([^/]+)/verdicts");
}

TEST(ServerRoutes, MatchExtractsIdsAndTellsMissingMethodFromMissingPath) {
  RouteMatch m = MatchRoute("GET", "/v1/chips/GPU-abc/verdicts");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->path, "/v1/chips/{id}/verdicts");
  EXPECT_EQ(m.ids, std::vector<std::string>{"GPU-abc"});
  EXPECT_EQ(MatchRoute("HEAD", "/v1/sites").route, MatchRoute("GET", "/v1/sites").route);

  m = MatchRoute("DELETE", "/v1/sites/s1");
  EXPECT_EQ(m.route, nullptr);
  ASSERT_NE(m.path_route, nullptr);
  EXPECT_EQ(m.path_route->path, "/v1/sites/{id}");
  EXPECT_EQ(AllowedMethods("/v1/sites"), "POST, GET, HEAD");

  for (const char* path :
       {"/v1/sites/", "/v1/sites//x", "/v1/nothing", "/", "", "v1/sites", "/v1/sites/a/b", "/v1"}) {
    m = MatchRoute("GET", path);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_EQ(m.path_route, nullptr) << path;
  }
}

TEST(ServerProblem, StatusCodesMapToHttp) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidInput), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthorized), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedCheck), 422);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  for (auto c : {StatusCode::kInternal, StatusCode::kCorruption, StatusCode::kIoError,
                 StatusCode::kAborted}) {
    EXPECT_EQ(HttpStatusFor(c), 500);
  }
}

TEST(ServerProblem, FieldIsThePathBeforeTheColon) {
  EXPECT_EQ(FieldOf("body.lat: must be a number in [-90, 90]"), "body.lat");
  EXPECT_EQ(FieldOf("body.receipts[2].sig: bad signature"), "body.receipts[2].sig");
  EXPECT_EQ(FieldOf("query.limit: must be in 1..1000"), "query.limit");
  EXPECT_EQ(FieldOf("no such site s1"), std::nullopt);
  EXPECT_EQ(FieldOf("site s1: not found"), std::nullopt);  // a space: prose, not a path
  EXPECT_EQ(FieldOf(": x"), std::nullopt);
  EXPECT_EQ(FieldOf("--db: bad"), std::nullopt);
}

TEST(ServerProblem, ServerErrorsDoNotLeakTheirMessage) {
  Problem p = ProblemFor(Status::Internal("SELECT * FROM tokens: disk I/O error"));
  EXPECT_EQ(p.status, 500);
  EXPECT_EQ(p.detail.find("SELECT"), std::string::npos);
  EXPECT_FALSE(p.field);

  p = ProblemFor(Status::InvalidInput("body.lat: must be a number"));
  json j = ProblemJson(p, "/v1/sites");
  EXPECT_EQ(j["type"], "about:blank");
  EXPECT_EQ(j["title"], "Bad Request");
  EXPECT_EQ(j["status"], 400);
  EXPECT_EQ(j["detail"], "body.lat: must be a number");
  EXPECT_EQ(j["field"], "body.lat");
  EXPECT_EQ(j["instance"], "/v1/sites");
}

TEST(ServerRequest, Bearer) {
  EXPECT_EQ(*ParseBearer("Bearer abc.DEF_12-~+/="), "abc.DEF_12-~+/=");
  EXPECT_EQ(*ParseBearer("bearer  tok "), "tok");
  for (const char* bad :
       {"", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "Token x", "Bearer tök"}) {
    auto r = ParseBearer(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthorized) << bad;
  }
}

TEST(ServerRequest, QueryIsDecodedAndRepeatsAreRefused) {
  auto q = ParseQuery("/v1/alerts?status=open&kind=stale%20x&site=a+b&empty=&flag");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ((*q)["status"], "open");
  EXPECT_EQ((*q)["kind"], "stale x");
  EXPECT_EQ((*q)["site"], "a b");
  EXPECT_EQ((*q)["empty"], "");
  EXPECT_EQ((*q)["flag"], "");
  EXPECT_TRUE(ParseQuery("/v1/alerts")->empty());
  EXPECT_TRUE(ParseQuery("/v1/alerts?")->empty());

  auto dup = ParseQuery("/v1/alerts?kind=a&kind=b");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(dup.status().message(), "query.kind: given more than once");
  EXPECT_FALSE(ParseQuery("/x?a=%zz").ok());
  EXPECT_FALSE(ParseQuery("/x?a=%4").ok());
  EXPECT_FALSE(ParseQuery("/x?=v").ok());
}

TEST(ServerRequest, JsonBody) {
  EXPECT_EQ(*ParseJsonBody(""), json::object());
  EXPECT_EQ(*ParseJsonBody(" \r\n"), json::object());
  EXPECT_EQ((*ParseJsonBody(R"({"a": [1, {"b": "}"}]})"))["a"][1]["b"], "}");

  auto bad = ParseJsonBody("{\"a\": 1,}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(bad.status().message().rfind("body: malformed JSON at line 1, column 9", 0), 0u)
      << bad.status().message();

  auto array = ParseJsonBody("[1]");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().message(), "body: must be a JSON object, got array");

  std::string deep = std::string(100, '[') + std::string(100, ']');
  auto too_deep = ParseJsonBody("{\"a\":" + deep + "}");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("nested deeper than"), std::string::npos);
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseJsonBody("{\"a\":\"" + deep + "\"}").ok());
}

TEST(ServerMetrics, RendersPrometheusText) {
  HttpMetrics m;
  int sites = -1;
  for (size_t i = 0; i < Routes().size(); ++i) {
    if (Routes()[i].path == "/v1/sites/{id}") sites = int(i);
  }
  ASSERT_GE(sites, 0);
  m.Record(sites, "GET", 200, 0.002);
  m.Record(sites, "GET", 200, 0.0001);
  m.Record(sites, "GET", 404, 7);
  m.Record(-1, "GET", 404, 0.0001);
  registry::RegistryMetrics reg;
  reg.verdicts["verified"] = 3;
  reg.attestations = 4;
  reg.attestations_rejected = 1;
  reg.alerts_open = 2;
  std::string text = m.Render(reg);
  for (
      const char* want : {
          "custodian_up 1\n",
          "custodian_http_requests_total{route=\"/v1/sites/{id}\",method=\"GET\",code=\"200\"} 2\n",
          "custodian_http_requests_total{route=\"/v1/sites/{id}\",method=\"GET\",code=\"404\"} 1\n",
          "custodian_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 1\n",
          "custodian_http_request_duration_seconds_bucket{route=\"/v1/sites/{id}\",le=\"0.0005\"} "
          "1\n",
          "custodian_http_request_duration_seconds_bucket{route=\"/v1/sites/{id}\",le=\"0.0025\"} "
          "2\n",
          "custodian_http_request_duration_seconds_bucket{route=\"/v1/sites/{id}\",le=\"5\"} 2\n",
          "custodian_http_request_duration_seconds_bucket{route=\"/v1/sites/{id}\",le=\"+Inf\"} "
          "3\n",
          "custodian_http_request_duration_seconds_count{route=\"/v1/sites/{id}\"} 3\n",
          "# TYPE custodian_http_request_duration_seconds histogram\n",
          "custodian_verdicts_total{kind=\"verified\"} 3\n",
          "custodian_verdicts_total{kind=\"violation\"} 0\n",
          "custodian_attestations_total 4\n",
          "custodian_attestations_rejected_total 1\n",
          "custodian_alerts_open 2\n",
          "custodian_ingest_in_flight 0\n",
      }) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  // Routes nobody called have no histogram series.
  EXPECT_EQ(text.find("route=\"/v1/chips\""), std::string::npos);
}

}  // namespace
}  // namespace custodian::server
