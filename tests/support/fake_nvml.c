/* A stand-in for libnvidia-ml.so.1: the handful of NVML entry points src/gpu/nvml.cc resolves,
 * with NVML's C ABI (int return codes, opaque device handles, caller-owned buffers), so the
 * dlopen/dlsym/parse path runs on machines without an NVIDIA driver.
 *
 * FAKE_NVML_MODE, read on every call so one loaded copy serves every test:
 *   unset               two H100-like GPUs
 *   "zero"              no GPUs
 *   "init_fail"         nvmlInit_v2 returns NVML_ERROR_DRIVER_NOT_LOADED (9)
 *   "serial_unsupported" nvmlDeviceGetSerial returns NVML_ERROR_NOT_SUPPORTED (3)
 *   "gpu_lost"          nvmlDeviceGetUUID fails on GPU 1 with NVML_ERROR_GPU_IS_LOST (15)
 * Device queries before nvmlInit_v2 (or after the matching nvmlShutdown) return
 * NVML_ERROR_UNINITIALIZED, as the real library does, so a caller that gets the order wrong fails.
 * The identities are invented; they only look like real ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_EXPORT __attribute__((visibility("default")))

typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_GPU_IS_LOST = 15,
};

/* Same layout as nvml.h's nvmlPciInfo_t (the _v3 query fills it). */
typedef struct {
  char busIdLegacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;

struct nvmlDevice_st {
  const char* uuid;
  const char* serial;
  const char* name;
  const char* part_number;
  unsigned int bus;
};
typedef struct nvmlDevice_st* nvmlDevice_t;

static struct nvmlDevice_st g_devices[2] = {
    {"GPU-5c1f8a3e-2b7d-4e6a-9f10-3d8c7b2a1e01", "1654923000101", "NVIDIA H100 80GB HBM3",
     "692-2G520-0200-000", 0x19},
    {"GPU-a7e2d94b-6c3f-4b18-8e25-0f9b4d6c3a72", "1654923000102", "NVIDIA H100 80GB HBM3",
     "692-2G520-0200-000", 0x3B},
};

static int g_init_count = 0; /* NVML's init/shutdown are reference counted */

static int ModeIs(const char* mode) {
  const char* value = getenv("FAKE_NVML_MODE");
  return value != NULL && strcmp(value, mode) == 0;
}

static unsigned int DeviceCount(void) {
  return ModeIs("zero") ? 0u : 2u;
}

static int ValidDevice(nvmlDevice_t device) {
  return device == &g_devices[0] || device == &g_devices[1];
}

static nvmlReturn_t CopyString(const char* value, char* out, unsigned int length) {
  if (out == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(out, value, strlen(value) + 1);
  return NVML_SUCCESS;
}

/* Common checks for a device query: initialised, real handle. */
static nvmlReturn_t CheckDevice(nvmlDevice_t device) {
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (!ValidDevice(device)) return NVML_ERROR_INVALID_ARGUMENT;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlInit_v2(void) {
  if (ModeIs("init_fail")) return NVML_ERROR_DRIVER_NOT_LOADED;
  ++g_init_count;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlShutdown(void) {
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  --g_init_count;
  return NVML_SUCCESS;
}

FAKE_EXPORT const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_UNINITIALIZED:
      return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
      return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE:
      return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED:
      return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST:
      return "GPU is lost";
    default:
      return "Unknown Error";
  }
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *count = DeviceCount();
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (device == NULL || index >= DeviceCount()) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &g_devices[index];
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  nvmlReturn_t rc = CheckDevice(device);
  if (rc != NVML_SUCCESS) return rc;
  if (ModeIs("gpu_lost") && device == &g_devices[1]) return NVML_ERROR_GPU_IS_LOST;
  return CopyString(device->uuid, uuid, length);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char* serial,
                                             unsigned int length) {
  nvmlReturn_t rc = CheckDevice(device);
  if (rc != NVML_SUCCESS) return rc;
  if (ModeIs("serial_unsupported")) return NVML_ERROR_NOT_SUPPORTED;
  return CopyString(device->serial, serial, length);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  nvmlReturn_t rc = CheckDevice(device);
  return rc != NVML_SUCCESS ? rc : CopyString(device->name, name, length);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetBoardPartNumber(nvmlDevice_t device, char* part_number,
                                                      unsigned int length) {
  nvmlReturn_t rc = CheckDevice(device);
  return rc != NVML_SUCCESS ? rc : CopyString(device->part_number, part_number, length);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  nvmlReturn_t rc = CheckDevice(device);
  if (rc != NVML_SUCCESS) return rc;
  if (pci == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  memset(pci, 0, sizeof *pci);
  pci->domain = 0;
  pci->bus = device->bus;
  pci->device = 0;
  pci->pciDeviceId = 0x233010DEu; /* device 0x2330 (H100 SXM5 80GB), vendor 0x10DE (NVIDIA) */
  pci->pciSubSystemId = 0x16C110DEu;
  /* NVML's formats: NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT and NVML_DEVICE_PCI_BUS_ID_FMT. */
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", pci->domain, pci->bus,
           pci->device);
  snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", pci->domain, pci->bus, pci->device);
  return NVML_SUCCESS;
}
