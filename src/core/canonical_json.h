// Canonical JSON: the byte-exact serialisation that Custodian signs and hashes.
//
// The profile is RFC 8785 (JSON Canonicalization Scheme): no whitespace, object members sorted
// by key, strings with the minimal escapes (\" \\ \b \f \n \r \t, other controls as \u00xx),
// UTF-8 otherwise verbatim, numbers in ECMAScript Number-to-string form (shortest round-trip).
// Integers are written exactly; keep them below 2^53 to stay interoperable with JCS libraries.
// NaN, infinities and invalid UTF-8 are rejected. Keys are compared by bytes, which equals
// RFC 8785's UTF-16 order for the ASCII keys all Custodian formats use.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace custodian {

Result<std::string> CanonicalJson(const nlohmann::json& value);

// Parses JSON text, returning a message with the byte offset on failure.
Result<nlohmann::json> ParseJson(std::string_view text);

}  // namespace custodian
