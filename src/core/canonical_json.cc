#include "core/canonical_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace custodian {
namespace {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

Status AppendString(std::string_view s, std::string& out) {
  if (!ValidUtf8(s)) return Status::InvalidInput("string is not valid UTF-8");
  out.push_back('"');
  // Most strings need no escape at all: copy runs of plain characters in one go.
  size_t plain = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    char ch = s[i];
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out.push_back('"');
  return Status::Ok();
}

// ECMAScript Number::toString (ECMA-262 §6.1.6.1.20) from the shortest round-trip digits.
Status AppendDouble(double v, std::string& out) {
  if (!std::isfinite(v)) return Status::InvalidInput("number is NaN or infinite");
  if (v == 0) {  // also -0
    out += '0';
    return Status::Ok();
  }
  if (v < 0) {
    out += '-';
    v = -v;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  if (ec != std::errc()) return Status::Internal("cannot format number");
  std::string_view sci(buf, size_t(end - buf));  // d[.ddd]e±XX
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = std::stoi(std::string(sci.substr(e_pos + 1)));
  int k = int(digits.size());
  int n = exp10 + 1;  // value = 0.digits × 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, size_t(n));
    out += '.';
    out += digits.substr(size_t(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(size_t(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return Status::Ok();
}

Status Append(const nlohmann::json& v, std::string& out) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::null:
      out += "null";
      return Status::Ok();
    case T::boolean:
      out += v.get<bool>() ? "true" : "false";
      return Status::Ok();
    case T::number_integer:
      out += std::to_string(v.get<int64_t>());
      return Status::Ok();
    case T::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      return Status::Ok();
    case T::number_float:
      return AppendDouble(v.get<double>(), out);
    case T::string:
      return AppendString(v.get_ref<const std::string&>(), out);
    case T::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out.push_back(',');
        first = false;
        CUSTODIAN_RETURN_IF_ERROR(Append(item, out));
      }
      out.push_back(']');
      return Status::Ok();
    }
    case T::object: {  // nlohmann's object_t is a std::map: members already sorted by key bytes
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        CUSTODIAN_RETURN_IF_ERROR(AppendString(key, out));
        out.push_back(':');
        CUSTODIAN_RETURN_IF_ERROR(Append(item, out).WithContext(key));
      }
      out.push_back('}');
      return Status::Ok();
    }
    default:
      return Status::InvalidInput("value has no JSON form");
  }
}

}  // namespace

Result<std::string> CanonicalJson(const nlohmann::json& value) {
  std::string out;
  CUSTODIAN_RETURN_IF_ERROR(Append(value, out));
  return out;
}

Result<nlohmann::json> ParseJson(std::string_view text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    return Status::InvalidInput("not valid JSON at byte " + std::to_string(e.byte) + ": " +
                                what.substr(what.find(':') + 2));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    std::string what = e.what();
    return Status::InvalidInput("not valid JSON: " + what.substr(what.find(']') + 2));
  }
}

}  // namespace custodian
