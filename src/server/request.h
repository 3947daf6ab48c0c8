// Parsing the parts of an HTTP request the API reads: the bearer token, the query string and
// the JSON body. Each failure is InvalidInput (or Unauthorized for the token) with a message
// that names the part: "query.limit: given more than once", "body: malformed JSON at line 1,
// column 9: …".
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "registry/registry.h"

namespace custodian::server {

// Deepest nesting of arrays/objects a body may have: real requests need about 5, and the limit
// keeps recursive code (ours, the registry's, nlohmann's dump) far from the stack's end.
inline constexpr int kMaxJsonDepth = 64;

// The token of an "Authorization: Bearer <token>" header value (scheme case-insensitive).
// Unauthorized when the value is empty, another scheme, or the token is empty or not token68.
Result<std::string> ParseBearer(std::string_view authorization);

// The query of a request target ("/v1/alerts?status=open&kind=stale"), percent-decoded
// ('+' is a space). A key given twice is refused: the API has no list-valued parameters, and
// silently taking one of them would hide a client's mistake.
Result<registry::Query> ParseQuery(std::string_view target);

// A request body: empty is {}, otherwise a JSON object no deeper than kMaxJsonDepth.
Result<nlohmann::json> ParseJsonBody(std::string_view body);

}  // namespace custodian::server
