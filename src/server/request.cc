#include "server/request.h"

#include <cctype>

namespace custodian::server {
namespace {

bool IsToken68Char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/' || c == '=';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s, std::string_view what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidInput(std::string(what) + ": bad percent-encoding");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Depth of the deepest array/object in `text`, skipping strings; stops counting past `limit`.
// Malformed text is left for the parser to report.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) break;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string ParseErrorText(const char* what) {
  std::string_view s = what;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find("] ");
    if (close != std::string_view::npos) s.remove_prefix(close + 2);
  }
  if (s.rfind("parse error ", 0) == 0) s.remove_prefix(12);
  return std::string(s);
}

}  // namespace

Result<std::string> ParseBearer(std::string_view authorization) {
  if (authorization.empty()) {
    return Status::Unauthorized("no bearer token; send the header 'Authorization: Bearer <token>'");
  }
  size_t space = authorization.find(' ');
  std::string_view scheme = authorization.substr(0, space);
  bool bearer = scheme.size() == 6;
  for (size_t i = 0; bearer && i < 6; ++i) {
    bearer = std::tolower(static_cast<unsigned char>(scheme[i])) == "bearer"[i];
  }
  if (!bearer || space == std::string_view::npos) {
    return Status::Unauthorized(
        "bearer token: the Authorization header must read 'Bearer <token>'");
  }
  std::string_view token = authorization.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return Status::Unauthorized("bearer token: empty");
  for (char c : token) {
    if (!IsToken68Char(c)) {
      return Status::Unauthorized("bearer token: has characters tokens never have");
    }
  }
  return std::string(token);
}

Result<registry::Query> ParseQuery(std::string_view target) {
  registry::Query query;
  size_t q = target.find('?');
  if (q == std::string_view::npos) return query;
  std::string_view rest = target.substr(q + 1);
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), "query");
    if (!key.ok()) return key.status();
    if (key->empty()) return Status::InvalidInput("query: a parameter has an empty name");
    auto value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), "query." + *key);
    if (!value.ok()) return value.status();
    if (!query.emplace(*key, std::move(*value)).second) {
      return Status::InvalidInput("query." + *key + ": given more than once");
    }
  }
  return query;
}

Result<nlohmann::json> ParseJsonBody(std::string_view body) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return nlohmann::json::object();
  if (NestingDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return Status::InvalidInput("body: JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                " levels");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidInput("body: malformed JSON " + ParseErrorText(e.what()));
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("body: malformed JSON: ") + e.what());
  }
  if (!j.is_object()) {
    return Status::InvalidInput(std::string("body: must be a JSON object, got ") + j.type_name());
  }
  return j;
}

}  // namespace custodian::server
