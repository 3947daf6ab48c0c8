// Whole-file reads and crash-safe writes.
#pragma once

#include <sys/types.h>
#include <string>

#include "core/status.h"

namespace custodian {

// Reads a whole file (refuses files over max_bytes, so a wrong path cannot exhaust memory).
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 64u << 20);

enum class Overwrite { kAllow, kRefuse };

// Writes `content` to a temporary file beside `path` with `mode`, fsyncs it and renames it into
// place, so readers see the old file or the whole new one and a failed write leaves nothing.
// With Overwrite::kRefuse an existing `path` is an error and is left untouched.
Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode,
                       Overwrite overwrite = Overwrite::kAllow);

}  // namespace custodian
