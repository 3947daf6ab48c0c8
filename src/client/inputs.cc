#include "client/inputs.h"

#include <sys/stat.h>

#include <cstdlib>
#include <set>

#include "core/file.h"
#include "proto/wire.h"

namespace custodian::client {

Result<ViaMap> ParseVia(const std::vector<std::string>& items, std::string_view what) {
  const std::string w(what);
  ViaMap out;
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidInput(w + ": expected LANDMARK_ID=HOST:PORT, got \"" + item + "\"");
    }
    std::string id = item.substr(0, eq);
    if (!proto::ValidLandmarkId(id)) {
      return Status::InvalidInput(w + ": \"" + id +
                                  "\" is not a landmark id (1-32 of A-Z a-z 0-9 . _ -)");
    }
    auto addr = ParseHostPort(std::string_view(item).substr(eq + 1), w + " " + id);
    if (!addr.ok()) return addr.status();
    if (addr->port() == 0) return Status::InvalidInput(w + " " + id + ": port must not be 0");
    if (!out.emplace(id, *addr).second) {
      return Status::InvalidInput(w + ": landmark " + id + " named twice");
    }
  }
  return out;
}

Result<std::vector<gpu::GpuIdentity>> ParseGpusJson(std::string_view text, std::string_view what) {
  const std::string w(what);
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return Status::InvalidInput(w + ": not valid JSON");
  if (!doc.is_array()) {
    return Status::InvalidInput(w + ": expected a JSON array of {uuid, serial, model}");
  }
  std::vector<gpu::GpuIdentity> gpus;
  std::set<std::string> seen;
  for (size_t i = 0; i < doc.size(); ++i) {
    const nlohmann::json& g = doc[i];
    const std::string where = w + "[" + std::to_string(i) + "]";
    if (!g.is_object()) return Status::InvalidInput(where + ": expected an object");
    auto text_field = [&](const char* key, std::string* out) -> Status {
      auto it = g.find(key);
      if (it == g.end() || it->is_null()) return Status::Ok();
      if (!it->is_string()) return Status::InvalidInput(where + "." + key + ": must be a string");
      *out = it->get<std::string>();
      return Status::Ok();
    };
    gpu::GpuIdentity id;
    id.index = int(i);
    CUSTODIAN_RETURN_IF_ERROR(text_field("uuid", &id.uuid));
    CUSTODIAN_RETURN_IF_ERROR(text_field("serial", &id.serial));
    CUSTODIAN_RETURN_IF_ERROR(text_field("name", &id.name));
    std::string model;
    CUSTODIAN_RETURN_IF_ERROR(text_field("model", &model));
    if (!model.empty()) id.name = model;
    CUSTODIAN_RETURN_IF_ERROR(text_field("pci_bus_id", &id.pci_bus_id));
    CUSTODIAN_RETURN_IF_ERROR(text_field("board_part_number", &id.board_part_number));
    if (id.uuid.empty()) return Status::InvalidInput(where + ".uuid: required, non-empty");
    if (!seen.insert(id.uuid).second) {
      return Status::InvalidInput(where + ".uuid: " + id.uuid + " listed twice");
    }
    gpus.push_back(std::move(id));
  }
  return gpus;
}

Result<std::vector<gpu::GpuIdentity>> LoadGpus(const std::string& gpus_file) {
  std::vector<gpu::GpuIdentity> gpus;
  if (!gpus_file.empty()) {
    auto text = ReadFile(gpus_file, 1 << 20);
    if (!text.ok()) return text.status().WithContext("--gpus-file");
    auto parsed = ParseGpusJson(*text, "--gpus-file " + gpus_file);
    if (!parsed.ok()) return parsed.status();
    gpus = std::move(*parsed);
  } else {
    auto listed = gpu::ListGpus();
    if (!listed.ok() && listed.status().code() != StatusCode::kNotFound) return listed.status();
    if (listed.ok()) gpus = std::move(*listed);
  }
  if (gpus.empty()) {
    return Status::InvalidInput(
        "no GPUs: NVML found none on this machine (for a simulation, pass --gpus-file with a JSON "
        "array of {uuid, serial, model})");
  }
  return gpus;
}

nlohmann::json GpusForEnrolment(const std::vector<gpu::GpuIdentity>& gpus) {
  nlohmann::json out = nlohmann::json::array();
  for (const gpu::GpuIdentity& g : gpus) {
    out.push_back({{"uuid", g.uuid}, {"serial", g.serial}, {"model", g.name}});
  }
  return out;
}

Result<std::string> ReadTokenFile(const std::string& path, std::string_view what) {
  const std::string w(what);
  auto text = ReadFile(path, 64 << 10);
  if (!text.ok()) return text.status().WithContext(w);
  std::string t = *text;
  size_t begin = t.find_first_not_of(" \t\r\n");
  size_t end = t.find_last_not_of(" \t\r\n");
  if (begin == std::string::npos) return Status::InvalidInput(w + ": " + path + " is empty");
  t = t.substr(begin, end - begin + 1);
  if (t.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::InvalidInput(w + ": " + path + " must hold the token alone on one line");
  }
  return t;
}

Result<std::string> ResolveToken(const std::string& token, const std::string& token_file,
                                 const char* env) {
  if (!token.empty() && !token_file.empty()) {
    return Status::InvalidInput("--token and --token-file: give one, not both");
  }
  if (!token.empty()) return token;
  if (!token_file.empty()) return ReadTokenFile(token_file);
  if (env != nullptr) {
    if (const char* v = std::getenv(env); v != nullptr) return std::string(v);
  }
  return std::string();
}

}  // namespace custodian::client
