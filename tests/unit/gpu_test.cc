// src/gpu: the chip-set hash, the JSON form, and ListGpus through the fake NVML library
// (tests/support/fake_nvml.c), which has NVML's C ABI, so dlopen/dlsym/parsing run for real.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/crypto.h"
#include "gpu/nvml.h"

namespace custodian::gpu {
namespace {

GpuIdentity WithUuid(std::string uuid) {
  GpuIdentity gpu;
  gpu.uuid = std::move(uuid);
  return gpu;
}

TEST(GpuChipSetHash, MatchesIndependentTestVector) {
  InitCrypto();
  // printf 'custodian/chipset/v1\nGPU-a\nGPU-b\n' | sha256sum
  EXPECT_EQ(HexEncode(ChipSetHash({WithUuid("GPU-b"), WithUuid("GPU-a")})),
            "1357044c04799798913d335ce5ade14bc689a67e510a6603abef7df0f65740e8");
  // printf 'custodian/chipset/v1\n' | sha256sum
  EXPECT_EQ(HexEncode(ChipSetHash({})),
            "f7c41dcdf53f9622c7fcd01e3c81f38af00c7707d1ebc9cf5fa038a8680ffa86");
}

TEST(GpuChipSetHash, IsOrderIndependent) {
  GpuIdentity a = WithUuid("GPU-5c1f8a3e-2b7d-4e6a-9f10-3d8c7b2a1e01");
  GpuIdentity b = WithUuid("GPU-a7e2d94b-6c3f-4b18-8e25-0f9b4d6c3a72");
  GpuIdentity c = WithUuid("GPU-0000aaaa-1111-2222-3333-444455556666");
  a.index = 0;
  b.index = 1;
  c.index = 2;
  EXPECT_EQ(ChipSetHash({a, b, c}), ChipSetHash({c, a, b}));
  EXPECT_EQ(ChipSetHash({a, b, c}), ChipSetHash({b, c, a}));
}

TEST(GpuChipSetHash, DiffersForDifferentSets) {
  GpuIdentity a = WithUuid("GPU-a");
  GpuIdentity b = WithUuid("GPU-b");
  GpuIdentity c = WithUuid("GPU-c");
  EXPECT_NE(ChipSetHash({a, b}), ChipSetHash({a, c}));  // one chip swapped
  EXPECT_NE(ChipSetHash({a, b}), ChipSetHash({a}));     // one chip removed
  EXPECT_NE(ChipSetHash({a}), ChipSetHash({}));
  // The newline separator keeps UUID boundaries: {"GPU-a", "b"} is not {"GPU-ab"}.
  EXPECT_NE(ChipSetHash({a, WithUuid("b")}), ChipSetHash({WithUuid("GPU-ab")}));
}

TEST(GpuJson, HasTheDocumentedKeys) {
  GpuIdentity gpu{1, "GPU-x", "", "NVIDIA H100 80GB HBM3", "00000000:19:00.0", "692-2G520"};
  nlohmann::json json = GpusToJson({gpu});
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["index"], 1);
  EXPECT_EQ(json[0]["uuid"], "GPU-x");
  EXPECT_EQ(json[0]["serial"], "");
  EXPECT_EQ(json[0]["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(json[0]["pci_bus_id"], "00000000:19:00.0");
  EXPECT_EQ(json[0]["board_part_number"], "692-2G520");
  EXPECT_EQ(json[0].size(), 6u);
  EXPECT_EQ(GpusToJson({}), nlohmann::json::array());
}

// Sets the library override and FAKE_NVML_MODE for one test and restores both afterwards.
class GpuListGpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_library_ = Get(kNvmlLibraryEnv);
    saved_mode_ = Get("FAKE_NVML_MODE");
    ::setenv(kNvmlLibraryEnv, CUSTODIAN_TEST_NVML_LIB, 1);
    ::unsetenv("FAKE_NVML_MODE");
  }
  void TearDown() override {
    Restore(kNvmlLibraryEnv, saved_library_);
    Restore("FAKE_NVML_MODE", saved_mode_);
  }
  static void SetMode(const char* mode) { ::setenv("FAKE_NVML_MODE", mode, 1); }

 private:
  static std::optional<std::string> Get(const char* name) {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  }
  static void Restore(const char* name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  std::optional<std::string> saved_library_, saved_mode_;
};

TEST_F(GpuListGpusTest, ReadsTwoFakeGpus) {
  auto gpus = ListGpus();
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  ASSERT_EQ(gpus->size(), 2u);
  const GpuIdentity& first = (*gpus)[0];
  EXPECT_EQ(first.index, 0);
  EXPECT_EQ(first.uuid, "GPU-5c1f8a3e-2b7d-4e6a-9f10-3d8c7b2a1e01");
  EXPECT_EQ(first.serial, "1654923000101");
  EXPECT_EQ(first.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(first.pci_bus_id, "00000000:19:00.0");
  EXPECT_EQ(first.board_part_number, "692-2G520-0200-000");
  const GpuIdentity& second = (*gpus)[1];
  EXPECT_EQ(second.index, 1);
  EXPECT_EQ(second.uuid, "GPU-a7e2d94b-6c3f-4b18-8e25-0f9b4d6c3a72");
  EXPECT_EQ(second.serial, "1654923000102");
  EXPECT_EQ(second.pci_bus_id, "00000000:3B:00.0");
  // printf 'custodian/chipset/v1\nGPU-5c1f...1e01\nGPU-a7e2...3a72\n' | sha256sum
  EXPECT_EQ(HexEncode(ChipSetHash(*gpus)),
            "53dac886e6d5beb05300c70bf588be2bad35f27b1c1f54fd908b9661bf9ec950");
}

TEST_F(GpuListGpusTest, RepeatedCallsGiveTheSameAnswer) {
  // Each call loads, initialises, shuts down and unloads; nothing may leak between calls.
  auto first = ListGpus();
  auto second = ListGpus();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(ChipSetHash(*first), ChipSetHash(*second));
}

TEST_F(GpuListGpusTest, ZeroGpusIsAnEmptyList) {
  SetMode("zero");
  auto gpus = ListGpus();
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  EXPECT_TRUE(gpus->empty());
}

TEST_F(GpuListGpusTest, DriverNotLoadedIsNoDriver) {
  SetMode("init_fail");
  auto gpus = ListGpus();
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gpus.status().message(), "no NVIDIA driver found");
}

TEST_F(GpuListGpusTest, UnsupportedSerialIsEmptyNotAnError) {
  SetMode("serial_unsupported");
  auto gpus = ListGpus();
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  ASSERT_EQ(gpus->size(), 2u);
  for (const GpuIdentity& gpu : *gpus) {
    EXPECT_EQ(gpu.serial, "");
    EXPECT_FALSE(gpu.uuid.empty());
    EXPECT_FALSE(gpu.pci_bus_id.empty());
  }
}

TEST_F(GpuListGpusTest, OtherNvmlErrorsNameTheFunctionAndNvmlText) {
  SetMode("gpu_lost");
  auto gpus = ListGpus();
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(gpus.status().message(), "NVML nvmlDeviceGetUUID (GPU 1): GPU is lost (NVML code 15)");
}

TEST_F(GpuListGpusTest, MissingLibraryIsNoDriver) {
  ::setenv(kNvmlLibraryEnv, "/nonexistent/libnvidia-ml.so.1", 1);
  auto gpus = ListGpus();
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gpus.status().message(), "no NVIDIA driver found");
}

TEST_F(GpuListGpusTest, LibraryWithoutNvmlInitIsNoDriver) {
  // Any loadable shared object that is not NVML, e.g. the C library itself.
  ::setenv(kNvmlLibraryEnv, "libc.so.6", 1);
  auto gpus = ListGpus();
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gpus.status().message(), "no NVIDIA driver found");
}

}  // namespace
}  // namespace custodian::gpu
