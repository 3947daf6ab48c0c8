#include "server/routes.h"

#include <algorithm>

namespace custodian::server {
namespace {

using registry::Registry;
using registry::Role;
using json = nlohmann::json;

constexpr RoleSet kAdmin = RoleBit(Role::kAdmin);
constexpr RoleSet kAuditor = RoleBit(Role::kAuditor);
constexpr RoleSet kOperator = RoleBit(Role::kOperator);
constexpr RoleSet kLandmark = RoleBit(Role::kLandmark);
constexpr RoleSet kAgent = RoleBit(Role::kAgent);
// Reads of the fleet's records: admin, auditor, and operators (scoped by the registry).
constexpr RoleSet kFleetReaders = kAdmin | kAuditor | kOperator;

constexpr HttpMethod GET = HttpMethod::kGet;
constexpr HttpMethod POST = HttpMethod::kPost;
constexpr HttpMethod DELETE = HttpMethod::kDelete;
constexpr AuthKind kBearer = AuthKind::kBearer;

// Path parameter i; the route's template guarantees it exists.
const std::string& Id(const ApiRequest& q, size_t i = 0) {
  return q.ids.at(i);
}

// clang-format off
constexpr Route kRoutes[] = {
    {GET, "/healthz", AuthKind::kNone, kAnyRole, 200, Builtin::kHealth, nullptr},
    {GET, "/metrics", kBearer, kAdmin | kAuditor, 200, Builtin::kMetrics, nullptr},
    // The transparency log's C2SP tlog-tiles read API: public, like the log itself.
    {GET, "/log/checkpoint", AuthKind::kNone, kAnyRole, 200, Builtin::kLogCheckpoint, nullptr},
    {GET, "/log/vkey", AuthKind::kNone, kAnyRole, 200, Builtin::kLogVkey, nullptr},
    {GET, "/log/tile/{tile+}", AuthKind::kNone, kAnyRole, 200, Builtin::kLogTile, nullptr},
    {GET, "/v1/log/proof/inclusion", kBearer, kAnyRole, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.LogInclusionProof(*q.caller, q.query); }},
    {GET, "/v1/log/proof/consistency", kBearer, kAnyRole, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.LogConsistencyProof(*q.caller, q.query); }},
    {GET, "/v1/whoami", kBearer, kAnyRole, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.WhoAmI(*q.caller); }},

    // Tokens: admin only.
    {POST, "/v1/tokens", kBearer, kAdmin, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.CreateToken(*q.caller, q.body); }},
    {GET, "/v1/tokens", kBearer, kAdmin, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListTokens(*q.caller); }},
    {DELETE, "/v1/tokens/{id}", kBearer, kAdmin, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.RevokeToken(*q.caller, Id(q)); }},

    {POST, "/v1/operators", kBearer, kAdmin, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.CreateOperator(*q.caller, q.body); }},
    {GET, "/v1/operators", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListOperators(*q.caller); }},

    // Landmarks: every role may list them (agents need them to measure, landmarks to
    // cross-check each other); only the landmark itself (or admin) submits its cross-checks.
    {POST, "/v1/landmarks", kBearer, kAdmin, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.CreateLandmark(*q.caller, q.body); }},
    {GET, "/v1/landmarks", kBearer, kAnyRole, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListLandmarks(*q.caller, q.query); }},
    {GET, "/v1/landmarks/{id}", kBearer, kFleetReaders | kLandmark, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.GetLandmark(*q.caller, Id(q)); }},
    {POST, "/v1/landmarks/{id}/clear", kBearer, kAdmin, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ClearLandmark(*q.caller, Id(q), q.body); }},
    {POST, "/v1/landmarks/{id}/crosschecks", kBearer, kAdmin | kLandmark, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) {
       return r.SubmitCrosschecks(*q.caller, Id(q), q.body);
     }},

    {POST, "/v1/sites", kBearer, kAdmin | kOperator, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.CreateSite(*q.caller, q.body); }},
    {GET, "/v1/sites", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListSites(*q.caller, q.query); }},
    {GET, "/v1/sites/{id}", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.GetSite(*q.caller, Id(q)); }},

    {POST, "/v1/licences", kBearer, kAdmin, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.CreateLicence(*q.caller, q.body); }},
    {GET, "/v1/licences", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListLicences(*q.caller, q.query); }},
    {GET, "/v1/licences/{id}", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.GetLicence(*q.caller, Id(q)); }},

    {POST, "/v1/enrolments", kBearer, kAdmin | kOperator, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.CreateEnrolment(*q.caller, q.body); }},
    // A new node has no bearer token yet: the enrolment token in the body authenticates it.
    {POST, "/v1/nodes", AuthKind::kEnrolment, kAnyRole, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.EnrolNode(q.body); }},
    {GET, "/v1/nodes", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListNodes(*q.caller, q.query); }},
    {GET, "/v1/nodes/{id}", kBearer, kFleetReaders | kAgent, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.GetNode(*q.caller, Id(q)); }},
    {GET, "/v1/nodes/{id}/plan", kBearer, kFleetReaders | kAgent, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.PlanNode(*q.caller, Id(q), q.query); }},

    {GET, "/v1/chips", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListChips(*q.caller, q.query); }},
    {GET, "/v1/chips/{id}", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.GetChip(*q.caller, Id(q)); }},
    {GET, "/v1/chips/{id}/verdicts", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ChipVerdicts(*q.caller, Id(q), q.query); }},

    {POST, "/v1/attestations", kBearer, kAdmin | kAgent, 201, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.SubmitAttestation(*q.caller, q.body); }},
    {GET, "/v1/attestations/{id}", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.GetAttestation(*q.caller, Id(q)); }},

    {GET, "/v1/alerts", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ListAlerts(*q.caller, q.query); }},
    {GET, "/v1/alerts/{id}", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.GetAlert(*q.caller, Id(q)); }},
    {POST, "/v1/alerts/{id}/acknowledge", kBearer, kAdmin | kOperator, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) {
       return r.AcknowledgeAlert(*q.caller, Id(q), q.body);
     }},
    {POST, "/v1/alerts/{id}/resolve", kBearer, kAdmin | kOperator, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ResolveAlert(*q.caller, Id(q), q.body); }},

    {GET, "/v1/fleet/sites", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.FleetBySite(*q.caller); }},
    {GET, "/v1/fleet/operators", kBearer, kFleetReaders, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.FleetByOperator(*q.caller); }},

    // Restricted-party screening. Every call records its decisions, so even the GET is not a
    // read: auditors see decisions in the transparency log, they do not make them.
    {GET, "/v1/screen", kBearer, kAdmin | kOperator, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ScreenName(*q.caller, q.query); }},
    {POST, "/v1/screen", kBearer, kAdmin | kOperator, 200, Builtin::kNone,
     [](Registry& r, const ApiRequest& q) { return r.ScreenNames(*q.caller, q.body); }},
};
// clang-format on

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Splits "/a/b/c" into {"a", "b", "c"}; "" segments are kept ("/a//b", "/a/").
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  size_t start = 1;
  for (;;) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// Does `path` fit `path_template`? Walks both strings segment by segment without allocating
// (this runs for every request); fills `ids` with the parameter segments when it fits.
// "{rest+}" as a template's last segment takes the rest of the path, slashes and all (tile paths
// of C2SP tlog-tiles are several segments deep).
bool IsRestParam(std::string_view segment) {
  return IsParam(segment) && segment.size() >= 3 && segment[segment.size() - 2] == '+';
}

bool PathMatches(std::string_view path_template, std::string_view path,
                 std::vector<std::string>* ids) {
  if (path_template.empty() || path.empty() || path.front() != '/') return false;
  std::vector<std::string> found;
  size_t t = 1, p = 1;
  for (;;) {
    size_t t_end = std::min(path_template.find('/', t), path_template.size());
    size_t p_end = std::min(path.find('/', p), path.size());
    std::string_view want = path_template.substr(t, t_end - t);
    if (IsRestParam(want)) {
      std::string_view rest = path.substr(std::min(p, path.size()));
      if (rest.empty()) return false;
      found.emplace_back(rest);
      break;
    }
    std::string_view got = path.substr(p, p_end - p);
    if (IsParam(want) ? got.empty() : want != got) return false;
    if (IsParam(want)) found.emplace_back(got);
    bool t_last = t_end == path_template.size(), p_last = p_end == path.size();
    if (t_last || p_last) {
      if (t_last != p_last) return false;
      break;
    }
    t = t_end + 1;
    p = p_end + 1;
  }
  if (ids) *ids = std::move(found);
  return true;
}

}  // namespace

const char* MethodName(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kDelete:
      return "DELETE";
  }
  return "?";
}

std::span<const Route> Routes() {
  return kRoutes;
}

std::string PathRegex(std::string_view path_template) {
  std::string out;
  for (std::string_view segment : Segments(path_template)) {
    out += '/';
    if (IsRestParam(segment)) {
      out += "(.+)";
      continue;
    }
    if (IsParam(segment)) {
      out += "([^/]+)";
      continue;
    }
    for (char c : segment) {
      // Templates are plain words, but escape anything regex-special rather than trust that.
      if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return out;
}

RouteMatch MatchRoute(std::string_view method, std::string_view path) {
  RouteMatch match;
  if (method == "HEAD") method = "GET";
  for (const Route& route : kRoutes) {
    bool same_method = method == MethodName(route.method);
    if (!PathMatches(route.path, path, same_method ? &match.ids : nullptr)) continue;
    if (!match.path_route) match.path_route = &route;
    if (same_method) {
      match.route = &route;
      match.path_route = &route;
      break;
    }
  }
  return match;
}

std::string AllowedMethods(std::string_view path) {
  std::string out;
  for (const Route& route : kRoutes) {
    if (!PathMatches(route.path, path, nullptr)) continue;
    if (!out.empty()) out += ", ";
    out += MethodName(route.method);
    if (route.method == HttpMethod::kGet) out += ", HEAD";
  }
  return out;
}

}  // namespace custodian::server
