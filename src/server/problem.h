// Errors as RFC 9457 problem details (application/problem+json), and the mapping from a Status.
//
//   {"type": "about:blank", "title": "Bad Request", "status": 400,
//    "detail": "body.lat: must be a number in [-90, 90]", "field": "body.lat",
//    "instance": "/v1/sites"}
//
// `type` is about:blank, so `title` is the HTTP reason phrase (RFC 9457 §4.2.1); `detail` is the
// Status message, which already names the field and the problem. `field` is present when the
// message starts with a field path ("body.lat: …", "query.limit: …").
//
// Server-side failures (500) never carry their message to the client: it may quote SQL or
// paths. The caller logs it and the client gets a generic detail.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace custodian::server {

inline constexpr std::string_view kProblemContentType = "application/problem+json";
inline constexpr std::string_view kJsonContentType = "application/json";

// InvalidInput 400 · Unauthorized 401 · PermissionDenied 403 · NotFound 404 ·
// AlreadyExists 409 · FailedCheck 422 · Unavailable 503 · anything else 500.
int HttpStatusFor(StatusCode code);
// "Bad Request", "Unprocessable Content" …; "Error" for codes it does not know.
const char* ReasonPhrase(int http_status);

// "body.lat" for "body.lat: must be …"; nullopt when the message does not start with a path
// (letters, digits, '_', '-', '.', '[', ']' before the first ": ").
std::optional<std::string> FieldOf(std::string_view message);

struct Problem {
  int status = 500;
  std::string detail;
  std::optional<std::string> field;
};

// The problem a failed Status becomes (detail replaced by a generic one for 5xx other than 503).
Problem ProblemFor(const Status& status);
nlohmann::json ProblemJson(const Problem& problem, std::string_view instance);

}  // namespace custodian::server
