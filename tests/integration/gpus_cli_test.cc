// `custodian gpus` as a user runs it: the real binary in a child process, NVML chosen through
// $CUSTODIAN_NVML_LIBRARY (a missing path, or the fake library from tests/support).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/subprocess.h"

namespace custodian {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string stdout_text;
};

// Runs the binary with `args` under the given library override and FAKE_NVML_MODE (nullptr:
// unset). The child inherits this process' environment, so both are set here first.
RunResult RunGpus(const char* library, const char* mode, std::vector<std::string> args) {
  ::setenv("CUSTODIAN_NVML_LIBRARY", library, 1);
  if (mode != nullptr) {
    ::setenv("FAKE_NVML_MODE", mode, 1);
  } else {
    ::unsetenv("FAKE_NVML_MODE");
  }
  std::vector<std::string> argv = {CUSTODIAN_BINARY, "gpus"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = Subprocess::Spawn(argv, /*quiet_stderr=*/true);
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  if (!child.ok()) return {};
  RunResult result;
  result.stdout_text = child->ReadAll();
  result.exit_code = child->Wait();
  ::unsetenv("CUSTODIAN_NVML_LIBRARY");
  ::unsetenv("FAKE_NVML_MODE");
  return result;
}

TEST(GpusCli, NoDriverPrintsAClearLineAndExitsZero) {
  RunResult run = RunGpus("/nonexistent/libnvidia-ml.so.1", nullptr, {});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.stdout_text, "no NVIDIA driver found\n");
}

TEST(GpusCli, NoDriverJsonIsAnEmptyArray) {
  RunResult run = RunGpus("/nonexistent/libnvidia-ml.so.1", nullptr, {"--json"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.stdout_text, "[]\n");
}

TEST(GpusCli, DriverNotLoadedCountsAsNoDriver) {
  RunResult run = RunGpus(CUSTODIAN_TEST_NVML_LIB, "init_fail", {});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.stdout_text, "no NVIDIA driver found\n");
}

TEST(GpusCli, FakeLibraryJsonListsTwoGpus) {
  RunResult run = RunGpus(CUSTODIAN_TEST_NVML_LIB, nullptr, {"--json"});
  ASSERT_EQ(run.exit_code, 0) << run.stdout_text;
  nlohmann::json json = nlohmann::json::parse(run.stdout_text, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(json.is_array()) << run.stdout_text;
  ASSERT_EQ(json.size(), 2u);
  for (size_t i = 0; i < json.size(); ++i) {
    const nlohmann::json& gpu = json[i];
    for (const char* key : {"index", "uuid", "serial", "name", "pci_bus_id", "board_part_number"}) {
      EXPECT_TRUE(gpu.contains(key)) << "GPU " << i << " lacks " << key;
    }
    EXPECT_EQ(gpu.size(), 6u);
    EXPECT_EQ(gpu["index"], static_cast<int>(i));
    EXPECT_EQ(gpu["uuid"].get<std::string>().rfind("GPU-", 0), 0u);
    EXPECT_EQ(gpu["name"], "NVIDIA H100 80GB HBM3");
  }
  EXPECT_EQ(json[1]["pci_bus_id"], "00000000:3B:00.0");
}

TEST(GpusCli, FakeLibraryTableEndsWithTheChipSetHash) {
  RunResult run = RunGpus(CUSTODIAN_TEST_NVML_LIB, nullptr, {});
  ASSERT_EQ(run.exit_code, 0) << run.stdout_text;
  EXPECT_NE(run.stdout_text.find("GPU-5c1f8a3e-2b7d-4e6a-9f10-3d8c7b2a1e01"), std::string::npos);
  EXPECT_NE(run.stdout_text.find("GPU-a7e2d94b-6c3f-4b18-8e25-0f9b4d6c3a72"), std::string::npos);
  // Same vector as tests/unit/gpu_test.cc, computed with sha256sum.
  const std::string last =
      "chip-set hash: 53dac886e6d5beb05300c70bf588be2bad35f27b1c1f54fd908b9661bf9ec950\n";
  ASSERT_GE(run.stdout_text.size(), last.size());
  EXPECT_EQ(run.stdout_text.substr(run.stdout_text.size() - last.size()), last);
}

TEST(GpusCli, OtherNvmlErrorsExitOneWithOneLineOnStderr) {
  RunResult run = RunGpus(CUSTODIAN_TEST_NVML_LIB, "gpu_lost", {"--json"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.stdout_text, "");

  // Subprocess captures only stdout; a shell swaps the streams to read stderr.
  ::setenv("CUSTODIAN_NVML_LIBRARY", CUSTODIAN_TEST_NVML_LIB, 1);
  ::setenv("FAKE_NVML_MODE", "gpu_lost", 1);
  FILE* pipe = ::popen("'" CUSTODIAN_BINARY "' gpus 2>&1 >/dev/null", "r");
  ASSERT_NE(pipe, nullptr);
  std::string stderr_text;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) stderr_text += buffer;
  int status = ::pclose(pipe);
  ::unsetenv("CUSTODIAN_NVML_LIBRARY");
  ::unsetenv("FAKE_NVML_MODE");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  EXPECT_EQ(stderr_text, "custodian: NVML nvmlDeviceGetUUID (GPU 1): GPU is lost (NVML code 15)\n");
}

}  // namespace
}  // namespace custodian
