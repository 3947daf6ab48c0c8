// Private key files.
//
// Format: one line, `custodian-ed25519-v1 <base64 of the 32-byte seed>`, optionally preceded by
// `#` comment lines. The file is written with mode 0600 and loading refuses any file that is
// readable or writable by group or others, so a key cannot silently be shared.
#pragma once

#include <string>

#include "core/crypto.h"
#include "core/status.h"

namespace custodian {

// Generates a key and writes it to `path` (mode 0600, never overwriting an existing file).
Result<SigningKey> GenerateKeyFile(const std::string& path);

// Loads a key, refusing group/world-accessible files with a message that says how to fix it.
Result<SigningKey> LoadKeyFile(const std::string& path);

}  // namespace custodian
