// Inputs shared by the agent, the landmark cross-check loop and the API commands: --via routes,
// GPU identities from a file (simulation) or NVML, and bearer tokens kept in files.
// Errors are InvalidInput naming the flag (or IoError for unreadable files).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/net_address.h"
#include "core/status.h"
#include "gpu/nvml.h"

namespace custodian::client {

// Landmark id -> the address to measure it at instead of the registered one (the demo routes
// through `custodian netem` to emulate distance).
using ViaMap = std::map<std::string, SocketAddress>;

// Each item "LANDMARK_ID=HOST:PORT"; a landmark named twice is an error.
Result<ViaMap> ParseVia(const std::vector<std::string>& items, std::string_view what = "--via");

// A JSON array of {uuid, serial?, model?} ("name" is accepted for "model", so the output of
// `custodian gpus --json` works too). UUIDs must be non-empty and distinct. `what` names the
// file in errors.
Result<std::vector<gpu::GpuIdentity>> ParseGpusJson(std::string_view text, std::string_view what);

// From `gpus_file` when set, else from NVML. No GPUs at all is an error that says how to
// simulate some.
Result<std::vector<gpu::GpuIdentity>> LoadGpus(const std::string& gpus_file);

// {"uuid", "serial", "model"} objects, as the registry's enrolment expects.
nlohmann::json GpusForEnrolment(const std::vector<gpu::GpuIdentity>& gpus);

// A bearer token from a file: surrounding whitespace trimmed; empty or multi-line is an error.
Result<std::string> ReadTokenFile(const std::string& path, std::string_view what = "--token-file");

// The token from --token, else --token-file, else the environment variable `env` (may be null);
// empty when none is given. Both flags at once is an error.
Result<std::string> ResolveToken(const std::string& token, const std::string& token_file,
                                 const char* env);

}  // namespace custodian::client
