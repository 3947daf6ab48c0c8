#include "server/problem.h"

namespace custodian::server {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidInput:
      return 400;
    case StatusCode::kUnauthorized:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kFailedCheck:
      return 422;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

const char* ReasonPhrase(int http_status) {
  switch (http_status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Content";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::optional<std::string> FieldOf(std::string_view message) {
  size_t colon = message.find(": ");
  if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
  std::string_view path = message.substr(0, colon);
  bool letter = false;
  for (char c : path) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    letter |= alpha;
    if (!alpha && !(c >= '0' && c <= '9') && c != '_' && c != '-' && c != '.' && c != '[' &&
        c != ']') {
      return std::nullopt;
    }
  }
  if (!letter || path.front() == '-' || path.front() == '.') return std::nullopt;
  return std::string(path);
}

Problem ProblemFor(const Status& status) {
  Problem p;
  p.status = HttpStatusFor(status.code());
  if (p.status >= 500 && p.status != 503) {
    p.detail = "internal error; the server log has the details";
    return p;
  }
  p.detail = status.message();
  p.field = FieldOf(p.detail);
  return p;
}

nlohmann::json ProblemJson(const Problem& problem, std::string_view instance) {
  nlohmann::json j = {
      {"type", "about:blank"},
      {"title", ReasonPhrase(problem.status)},
      {"status", problem.status},
      {"detail", problem.detail},
  };
  if (problem.field) j["field"] = *problem.field;
  j["instance"] = std::string(instance);
  return j;
}

}  // namespace custodian::server
