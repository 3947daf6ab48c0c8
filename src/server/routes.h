// The HTTP API's one route table (docs/api.yaml describes the same set; a test compares them).
//
// Each route names its method, its path template ("/v1/sites/{id}"), how the caller is
// authenticated, the roles that may call it at all, the status of a success, and the registry
// operation it maps to. The server registers exactly these routes with httplib (each template
// becomes a regex), matches requests against them for 404/405 answers, and labels its metrics
// with the templates, so the set of routes is stated once.
//
// The role set is the coarse check (a forbidden role gets 403 before anything is parsed); the
// registry then does the fine scoping (an operator sees only its own sites, an agent its node).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "registry/registry.h"

namespace custodian::server {

enum class HttpMethod : uint8_t { kGet, kPost, kDelete };
const char* MethodName(HttpMethod method);  // "GET", "POST", "DELETE"

// A set of registry::Role values, one bit each.
using RoleSet = uint32_t;
constexpr RoleSet RoleBit(registry::Role role) {
  return RoleSet{1} << static_cast<int>(role);
}
constexpr RoleSet kAnyRole = RoleBit(registry::Role::kAdmin) | RoleBit(registry::Role::kOperator) |
                             RoleBit(registry::Role::kLandmark) | RoleBit(registry::Role::kAgent) |
                             RoleBit(registry::Role::kAuditor);
constexpr bool RoleAllowed(RoleSet set, registry::Role role) {
  return (set & RoleBit(role)) != 0;
}

enum class AuthKind : uint8_t {
  kNone,       // no credentials (/healthz)
  kBearer,     // "Authorization: Bearer <token>", then the route's role set
  kEnrolment,  // POST /v1/nodes: the single-use enrolment token inside the body
};

// The server's own routes; every other route calls the registry.
enum class Builtin : uint8_t { kNone, kHealth, kMetrics, kLogCheckpoint, kLogVkey, kLogTile };

// A request as a route handler sees it: authenticated, role-checked and parsed.
struct ApiRequest {
  const registry::Caller* caller = nullptr;  // null unless the route's auth is kBearer
  std::vector<std::string> ids;              // path parameters in template order
  registry::Query query;
  nlohmann::json body = nlohmann::json::object();  // {} for an empty body and for GET
};

using RouteHandler = Result<nlohmann::json> (*)(registry::Registry& registry,
                                                const ApiRequest& request);

struct Route {
  HttpMethod method;
  std::string_view path;  // template; a parameter is a whole segment written "{id}"
  AuthKind auth;
  RoleSet roles;       // bearer callers whose role is not here get 403
  int success_status;  // 201 for a POST that creates something, else 200
  Builtin builtin;
  RouteHandler handler;  // null for builtins
};

// Every route, in a fixed order (the index is stable for one build and used by metrics).
std::span<const Route> Routes();

// "/v1/sites/{id}/verdicts" -> "/v1/sites/([^/]+)/verdicts" (the rest is matched literally);
// a last segment "{name+}" matches the rest of the path, slashes included.
std::string PathRegex(std::string_view path_template);

struct RouteMatch {
  const Route* route = nullptr;       // the route for this method and path, if any
  const Route* path_route = nullptr;  // a route with this path and any method (405 vs 404)
  std::vector<std::string> ids;
};
// `method` as sent ("HEAD" is matched as "GET"); `path` decoded, without the query.
RouteMatch MatchRoute(std::string_view method, std::string_view path);
// "GET, POST": the Allow header for a path that exists with other methods.
std::string AllowedMethods(std::string_view path);

}  // namespace custodian::server
