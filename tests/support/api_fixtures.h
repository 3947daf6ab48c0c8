// Records the HTTP integration tests create again and again, posted through the real API.
#pragma once

#include <string>

#include "core/bytes.h"
#include "support/server_process.h"
#include "support/signed_receipts.h"

namespace custodian::testing {

// POST /v1/landmarks for `l`, run by operator `op`; the reply (201 when registered).
inline HttpReply PostLandmark(HttpClient& http, const std::string& admin, const TestLandmark& l,
                              const std::string& op = "op") {
  return http.Post("/v1/landmarks",
                   {{"id", l.id},
                    {"operator", op},
                    {"lat", l.lat},
                    {"lon", l.lon},
                    {"country", l.country},
                    {"public_key", Base64Encode(l.key.public_key())},
                    {"address", "127.0.0.1:9"}},
                   admin);
}

}  // namespace custodian::testing
