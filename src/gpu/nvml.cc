#include "gpu/nvml.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace custodian::gpu {
namespace {

// The slice of NVML's C API we use, declared here instead of including nvml.h so that building
// needs no NVIDIA headers and running needs no driver. Layouts and sizes follow NVML 12's nvml.h.
using nvmlReturn_t = int;  // a C enum; int-sized on every Linux ABI
using nvmlDevice_t = struct nvmlDevice_st*;

struct nvmlPciInfo_t {
  char busIdLegacy[16];  // NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];  // NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE
};
static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t must match NVML's layout");

constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlErrorNotSupported = 3;
constexpr nvmlReturn_t kNvmlErrorDriverNotLoaded = 9;

// NVML's documented "guaranteed large enough" buffer sizes, including the terminating NUL.
constexpr unsigned int kUuidBufferSize = 96;        // NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned int kSerialBufferSize = 30;      // NVML_DEVICE_SERIAL_BUFFER_SIZE
constexpr unsigned int kNameBufferSize = 96;        // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int kPartNumberBufferSize = 80;  // NVML_DEVICE_PART_NUMBER_BUFFER_SIZE

constexpr char kDefaultLibrary[] = "libnvidia-ml.so.1";
constexpr char kNoDriver[] = "no NVIDIA driver found";
constexpr char kChipSetDomain[] = "custodian/chipset/v1\n";

using InitFn = nvmlReturn_t (*)();
using ShutdownFn = nvmlReturn_t (*)();
using ErrorStringFn = const char* (*)(nvmlReturn_t);
using GetCountFn = nvmlReturn_t (*)(unsigned int*);
using GetHandleFn = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*);
using GetStringFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int);
using GetPciInfoFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlPciInfo_t*);

struct NvmlApi {
  InitFn init = nullptr;
  ShutdownFn shutdown = nullptr;
  ErrorStringFn error_string = nullptr;
  GetCountFn get_count = nullptr;
  GetHandleFn get_handle = nullptr;
  GetStringFn get_uuid = nullptr;
  GetStringFn get_serial = nullptr;
  GetStringFn get_name = nullptr;
  GetPciInfoFn get_pci_info = nullptr;
  GetStringFn get_board_part_number = nullptr;
};

// Owns a dlopen handle. Unloading after each ListGpus keeps no driver state alive between calls
// and lets tests switch libraries through the environment.
class Library {
 public:
  explicit Library(void* handle) : handle_(handle) {}
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  ~Library() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  void* get() const { return handle_; }

 private:
  void* handle_;
};

// Calls nvmlShutdown when it goes out of scope; declared after the Library so it runs first.
class NvmlSession {
 public:
  explicit NvmlSession(ShutdownFn shutdown) : shutdown_(shutdown) {}
  NvmlSession(const NvmlSession&) = delete;
  NvmlSession& operator=(const NvmlSession&) = delete;
  ~NvmlSession() { shutdown_(); }

 private:
  ShutdownFn shutdown_;
};

template <typename Fn>
Fn Resolve(void* handle, const char* symbol) {
  return reinterpret_cast<Fn>(dlsym(handle, symbol));
}

std::string ErrorText(const NvmlApi& api, nvmlReturn_t rc) {
  const char* text = api.error_string(rc);
  return std::string(text != nullptr ? text : "unknown error") + " (NVML code " +
         std::to_string(rc) + ")";
}

Status NvmlError(const NvmlApi& api, const char* function, nvmlReturn_t rc) {
  return Status::Unavailable(std::string("NVML ") + function + ": " + ErrorText(api, rc));
}

Status NvmlGpuError(const NvmlApi& api, const char* function, unsigned int index, nvmlReturn_t rc) {
  return Status::Unavailable(std::string("NVML ") + function + " (GPU " + std::to_string(index) +
                             "): " + ErrorText(api, rc));
}

// Reads one string attribute. NOT_SUPPORTED gives "" unless the field is required.
Result<std::string> ReadString(const NvmlApi& api, GetStringFn fn, const char* function,
                               nvmlDevice_t device, unsigned int index, unsigned int buffer_size,
                               bool required) {
  std::vector<char> buffer(buffer_size, '\0');
  nvmlReturn_t rc = fn(device, buffer.data(), buffer_size);
  if (rc == kNvmlErrorNotSupported && !required) return std::string();
  if (rc != kNvmlSuccess) return NvmlGpuError(api, function, index, rc);
  // NVML NUL-terminates; strnlen guards against a library that fills the whole buffer.
  return std::string(buffer.data(), strnlen(buffer.data(), buffer.size()));
}

Result<GpuIdentity> ReadGpu(const NvmlApi& api, unsigned int index) {
  nvmlDevice_t device = nullptr;
  nvmlReturn_t rc = api.get_handle(index, &device);
  if (rc != kNvmlSuccess) return NvmlGpuError(api, "nvmlDeviceGetHandleByIndex_v2", index, rc);

  GpuIdentity gpu;
  gpu.index = static_cast<int>(index);
  auto uuid = ReadString(api, api.get_uuid, "nvmlDeviceGetUUID", device, index, kUuidBufferSize,
                         /*required=*/true);
  if (!uuid.ok()) return uuid.status();
  gpu.uuid = std::move(uuid).value();
  auto serial = ReadString(api, api.get_serial, "nvmlDeviceGetSerial", device, index,
                           kSerialBufferSize, /*required=*/false);
  if (!serial.ok()) return serial.status();
  gpu.serial = std::move(serial).value();
  auto name = ReadString(api, api.get_name, "nvmlDeviceGetName", device, index, kNameBufferSize,
                         /*required=*/false);
  if (!name.ok()) return name.status();
  gpu.name = std::move(name).value();
  auto part = ReadString(api, api.get_board_part_number, "nvmlDeviceGetBoardPartNumber", device,
                         index, kPartNumberBufferSize, /*required=*/false);
  if (!part.ok()) return part.status();
  gpu.board_part_number = std::move(part).value();

  nvmlPciInfo_t pci;
  std::memset(&pci, 0, sizeof pci);
  rc = api.get_pci_info(device, &pci);
  if (rc == kNvmlSuccess) {
    gpu.pci_bus_id.assign(pci.busId, strnlen(pci.busId, sizeof pci.busId));
  } else if (rc != kNvmlErrorNotSupported) {
    return NvmlGpuError(api, "nvmlDeviceGetPciInfo_v3", index, rc);
  }
  return gpu;
}

}  // namespace

Result<std::vector<GpuIdentity>> ListGpus() {
  const char* override_path = std::getenv(kNvmlLibraryEnv);
  const std::string path =
      (override_path != nullptr && *override_path != '\0') ? override_path : kDefaultLibrary;
  // RTLD_LOCAL: NVML's symbols must not satisfy lookups from anything else we load.
  Library library(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (library.get() == nullptr) return Status::NotFound(kNoDriver);

  NvmlApi api;
  api.init = Resolve<InitFn>(library.get(), "nvmlInit_v2");
  if (api.init == nullptr) return Status::NotFound(kNoDriver);  // not NVML, or an ancient one

  // Every symbol below is needed for a full identity; any driver of the last several years has
  // them all (nvmlDeviceGetPciInfo_v3 is the newest).
  const char* missing = nullptr;
  auto resolve = [&](auto& slot, const char* symbol) {
    slot = Resolve<std::remove_reference_t<decltype(slot)>>(library.get(), symbol);
    if (slot == nullptr && missing == nullptr) missing = symbol;
  };
  resolve(api.shutdown, "nvmlShutdown");
  resolve(api.error_string, "nvmlErrorString");
  resolve(api.get_count, "nvmlDeviceGetCount_v2");
  resolve(api.get_handle, "nvmlDeviceGetHandleByIndex_v2");
  resolve(api.get_uuid, "nvmlDeviceGetUUID");
  resolve(api.get_serial, "nvmlDeviceGetSerial");
  resolve(api.get_name, "nvmlDeviceGetName");
  resolve(api.get_pci_info, "nvmlDeviceGetPciInfo_v3");
  resolve(api.get_board_part_number, "nvmlDeviceGetBoardPartNumber");
  if (missing != nullptr) {
    return Status::Unavailable("NVML library " + path + " lacks " + missing + " (driver too old?)");
  }

  nvmlReturn_t rc = api.init();
  // The library is installed but the kernel module is not loaded: same as no driver for callers.
  if (rc == kNvmlErrorDriverNotLoaded) return Status::NotFound(kNoDriver);
  if (rc != kNvmlSuccess) return NvmlError(api, "nvmlInit_v2", rc);
  NvmlSession session(api.shutdown);

  unsigned int count = 0;
  rc = api.get_count(&count);
  if (rc != kNvmlSuccess) return NvmlError(api, "nvmlDeviceGetCount_v2", rc);

  std::vector<GpuIdentity> gpus;
  gpus.reserve(count);
  for (unsigned int index = 0; index < count; ++index) {
    auto gpu = ReadGpu(api, index);
    if (!gpu.ok()) return gpu.status();
    gpus.push_back(std::move(gpu).value());
  }
  return gpus;
}

Sha256Digest ChipSetHash(const std::vector<GpuIdentity>& gpus) {
  std::vector<std::string> uuids;
  uuids.reserve(gpus.size());
  for (const GpuIdentity& gpu : gpus) uuids.push_back(gpu.uuid);
  std::sort(uuids.begin(), uuids.end());  // std::string compares bytes: locale-independent
  Sha256Hasher hasher;
  hasher.Update(AsBytes(kChipSetDomain));
  for (const std::string& uuid : uuids) {
    hasher.Update(AsBytes(uuid));
    hasher.Update(AsBytes("\n"));
  }
  return hasher.Finish();
}

nlohmann::json GpusToJson(const std::vector<GpuIdentity>& gpus) {
  nlohmann::json out = nlohmann::json::array();
  for (const GpuIdentity& gpu : gpus) {
    out.push_back({{"index", gpu.index},
                   {"uuid", gpu.uuid},
                   {"serial", gpu.serial},
                   {"name", gpu.name},
                   {"pci_bus_id", gpu.pci_bus_id},
                   {"board_part_number", gpu.board_part_number}});
  }
  return out;
}

}  // namespace custodian::gpu
