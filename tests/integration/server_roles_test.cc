// The role matrix, driven by the route table: for every endpoint, every role that may call it
// gets past the server's role check (neither 401 nor 403, no routing error, no 5xx), and every
// role that may not gets 403. Bodies and ids are chosen inside each caller's own scope (its
// operator, node, landmark), so a 403 can only come from the route's role set.
#include <gtest/gtest.h>

#include <regex>

#include "core/crypto.h"
#include "server/routes.h"
#include "support/server_process.h"

namespace custodian::testing {
namespace {

using nlohmann::json;
using registry::Role;
using server::Route;

constexpr Role kRoles[] = {Role::kAdmin, Role::kOperator, Role::kLandmark, Role::kAgent,
                           Role::kAuditor};

std::string NewPublicKey() {
  return Base64Encode(SigningKey::Generate().public_key());
}

class ServerRoles : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    InitCrypto();
    db_ = DatabaseUrl(GetParam(), dir_);
    ASSERT_FALSE(db_.empty());
    tokens_[Role::kAdmin] = InitAdmin(db_);
    server_ = std::make_unique<ServerProcess>(dir_, db_);
    ASSERT_TRUE(server_->started());
    HttpClient http = server_->Client();
    const std::string& admin = tokens_[Role::kAdmin];

    // A small world: one operator with one site, one landmark, one enrolled node.
    Expect(http.Post("/v1/operators", {{"id", "op1"}, {"name", "Operator One"}}, admin), 201);
    Expect(http.Post("/v1/landmarks",
                     {{"id", "lm1"},
                      {"operator", "op1"},
                      {"lat", 1.3521},
                      {"lon", 103.8198},
                      {"country", "SG"},
                      {"public_key", NewPublicKey()},
                      {"address", "127.0.0.1:9"}},
                     admin),
           201);
    Expect(http.Post("/v1/sites",
                     {{"id", "site1"},
                      {"operator", "op1"},
                      {"name", "Jurong"},
                      {"lat", 1.33},
                      {"lon", 103.74},
                      {"country", "SG"},
                      {"licensed", {"SG"}}},
                     admin),
           201);
    HttpReply enrolment = http.Post("/v1/enrolments", {{"site", "site1"}}, admin);
    Expect(enrolment, 201);
    HttpReply node = http.Post(
        "/v1/nodes",
        {{"enrolment_token", enrolment.Json().value("token", "")},
         {"public_key", NewPublicKey()},
         {"name", "node-a"},
         {"key_binding", "software"},
         {"gpus", {{{"uuid", kGpu}, {"serial", "1650123456789"}, {"model", "NVIDIA H100"}}}}});
    Expect(node, 201);
    node_id_ = node.Json()["node"].value("id", "");
    tokens_[Role::kAgent] = node.Json().value("token", "");
    ASSERT_FALSE(node_id_.empty()) << node;

    for (auto [role, extra] : std::vector<std::pair<Role, json>>{
             {Role::kOperator, {{"role", "operator"}, {"operator", "op1"}}},
             {Role::kLandmark, {{"role", "landmark"}, {"landmark", "lm1"}}},
             {Role::kAuditor, {{"role", "auditor"}}}}) {
      HttpReply t = http.Post("/v1/tokens", extra, admin);
      Expect(t, 201);
      tokens_[role] = t.Json().value("token", "");
    }
    for (Role r : kRoles) ASSERT_FALSE(tokens_[r].empty()) << registry::RoleName(r);
  }

  static void Expect(const HttpReply& r, int status) {
    ASSERT_EQ(r.status, status) << "setting up the world: " << r;
  }

  // The concrete path: ids inside the world and inside each caller's scope; ids of things
  // that need not exist for the check are made up (the registry then answers 404).
  std::string PathFor(const Route& route) const {
    std::string p(route.path);
    auto id = [&]() -> std::string {
      if (p.rfind("/v1/landmarks/", 0) == 0) return "lm1";
      if (p.rfind("/v1/sites/", 0) == 0) return "site1";
      if (p.rfind("/v1/nodes/", 0) == 0) return node_id_;
      if (p.rfind("/v1/chips/", 0) == 0) return kGpu;
      return "does-not-exist";
    }();
    return std::regex_replace(p, std::regex(R"(\{id\})"), id);
  }

  // A body a caller of `role` could plausibly send (validation may still refuse it: 400/409/
  // 422 are fine here, only the role check is under test).
  json BodyFor(const Route& route, Role role) {
    std::string p(route.path);
    std::string n = std::to_string(counter_++);
    if (p == "/v1/tokens") return {{"role", "auditor"}, {"name", "matrix-" + n}};
    if (p == "/v1/operators") return {{"id", "op-m" + n}, {"name", "Matrix " + n}};
    if (p == "/v1/sites") {
      return {{"id", "site-m" + n}, {"operator", "op1"}, {"name", "Matrix"},  {"lat", 1.30},
              {"lon", 103.80},      {"country", "SG"},   {"licensed", {"SG"}}};
    }
    if (p == "/v1/enrolments") return {{"site", "site1"}};
    if (p == "/v1/attestations")
      return {{"node", node_id_}, {"gpus", {kGpu}}, {"receipts", json::array()}};
    if (p == "/v1/landmarks/{id}/crosschecks") return {{"receipts", json::array()}};
    (void)role;
    return {{"comment", "role matrix"}};
  }

  HttpReply Call(const Route& route, Role role) {
    HttpClient http = server_->Client();
    std::string path = PathFor(route);
    const std::string& token = tokens_[role];
    switch (route.method) {
      case server::HttpMethod::kGet:
        return http.Get(path, token);
      case server::HttpMethod::kPost:
        return http.Post(path, BodyFor(route, role), token);
      case server::HttpMethod::kDelete:
        return http.Delete(path, token);
    }
    return {};
  }

  static constexpr const char* kGpu = "GPU-6f2d4c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
  TempDir dir_;
  std::string db_, node_id_;
  std::map<Role, std::string> tokens_;
  std::unique_ptr<ServerProcess> server_;
  int counter_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, ServerRoles,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& p) { return std::string(BackendName(p.param)); });

TEST_P(ServerRoles, EveryEndpointAdmitsItsRolesAndForbidsTheOthers) {
  for (const Route& route : server::Routes()) {
    if (route.auth != server::AuthKind::kBearer) continue;
    std::string what = std::string(server::MethodName(route.method)) + " " + PathFor(route);
    // DELETE /v1/tokens/{id} with a made-up id: revoking a real token would break the rest.
    for (Role role : kRoles) {
      HttpReply r = Call(route, role);
      std::string who = what + " as " + registry::RoleName(role);
      if (server::RoleAllowed(route.roles, role)) {
        EXPECT_NE(r.status, 401) << who << ": " << r;
        EXPECT_NE(r.status, 403) << who << ": " << r;
        EXPECT_NE(r.status, 405) << who << ": " << r;
        EXPECT_LT(r.status, 500) << who << ": " << r;
        EXPECT_GT(r.status, 0) << who << ": " << r;
        if (r.status == 404) {
          EXPECT_EQ(r.Json().value("detail", "").rfind("no route", 0), std::string::npos)
              << who << ": " << r;
        }
      } else {
        EXPECT_EQ(r.status, 403) << who << ": " << r;
        EXPECT_EQ(r.Header("Content-Type"), "application/problem+json") << who;
      }
    }
  }
}

TEST_P(ServerRoles, EveryBearerEndpointIs401WithoutAToken) {
  HttpClient http = server_->Client();
  for (const Route& route : server::Routes()) {
    if (route.auth != server::AuthKind::kBearer) continue;
    std::string path = PathFor(route);
    HttpReply r = route.method == server::HttpMethod::kGet    ? http.Get(path)
                  : route.method == server::HttpMethod::kPost ? http.Post(path, json::object())
                                                              : http.Delete(path);
    EXPECT_EQ(r.status, 401) << server::MethodName(route.method) << " " << path << ": " << r;
  }
}

}  // namespace
}  // namespace custodian::testing
