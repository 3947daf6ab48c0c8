// GPU identity through NVML, loaded at run time.
//
// ListGpus() dlopens libnvidia-ml.so.1 (or the file named by $CUSTODIAN_NVML_LIBRARY, which tests
// point at a fake), reads each GPU's UUID, serial, name, PCI bus id and board part number, and
// unloads it again. Nothing links against the driver, so the binary runs on machines without one.
//
// Contract:
//  - No library, or one without nvmlInit_v2, or nvmlInit_v2 reporting that the driver is not
//    loaded: Status::NotFound("no NVIDIA driver found") — callers treat that as "zero GPUs here".
//  - Any other NVML failure: Status::Unavailable naming the NVML function, the GPU index and
//    nvmlErrorString's text.
//  - A field NVML reports as NOT_SUPPORTED (e.g. no serial on consumer boards) is an empty
//    string. The UUID is the exception: it keys the chip-set hash, so a missing UUID is an error.
// Thread-safety: ListGpus may be called from any thread (NVML's init/shutdown are reference
// counted); the other functions are pure.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/status.h"

namespace custodian::gpu {

// Environment variable that replaces the default library name "libnvidia-ml.so.1".
inline constexpr char kNvmlLibraryEnv[] = "CUSTODIAN_NVML_LIBRARY";

struct GpuIdentity {
  int index = 0;                  // NVML enumeration index (not stable across reboots; the UUID is)
  std::string uuid;               // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  std::string serial;             // board serial; empty where NVML does not support it
  std::string name;               // product name, e.g. "NVIDIA H100 80GB HBM3"
  std::string pci_bus_id;         // "DDDDDDDD:BB:DD.F" as NVML formats nvmlPciInfo_t::busId
  std::string board_part_number;  // empty where not supported
};

// The GPUs NVML sees, in NVML index order.
Result<std::vector<GpuIdentity>> ListGpus();

// SHA-256 over "custodian/chipset/v1\n" followed by each UUID + "\n" in byte-sorted order, so
// the hash names the set of GPUs regardless of enumeration order. Binds receipts to the chips
// present. The empty set hashes the domain string alone.
Sha256Digest ChipSetHash(const std::vector<GpuIdentity>& gpus);

// A JSON array of objects with keys index, uuid, serial, name, pci_bus_id, board_part_number.
nlohmann::json GpusToJson(const std::vector<GpuIdentity>& gpus);

}  // namespace custodian::gpu
