// custodian gpus [--json]
//
// No driver is a normal answer here (a landmark or a CI box has no GPU), so it prints
// "no NVIDIA driver found" (or `[]` with --json) and exits 0. Other NVML failures exit 1.
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "core/bytes.h"
#include "gpu/nvml.h"

namespace custodian::cli {

void AddGpuCommands(CLI::App& app) {
  auto* gpus = app.add_subcommand(
      "gpus", "List the NVIDIA GPUs on this machine (via NVML) and their chip-set hash");
  auto json = std::make_shared<bool>(false);
  gpus->add_flag("--json", *json,
                 "Print a JSON array of {index, uuid, serial, name, pci_bus_id, "
                 "board_part_number}");
  OnRun(gpus, [json] {
    auto listed = gpu::ListGpus();
    if (!listed.ok() && listed.status().code() != StatusCode::kNotFound) {
      return Fail(listed.status());
    }
    if (!listed.ok()) {  // no driver: zero GPUs, not an error
      std::cout << (*json ? "[]" : listed.status().message()) << "\n";
      return 0;
    }
    const std::vector<gpu::GpuIdentity>& found = *listed;
    if (*json) {
      std::cout << gpu::GpusToJson(found).dump(2) << "\n";
      return 0;
    }
    if (found.empty()) std::cout << "no NVIDIA GPUs found (driver loaded)\n";
    for (const gpu::GpuIdentity& g : found) {
      auto or_dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
      std::cout << g.index << "  " << or_dash(g.name) << "  " << g.uuid
                << "  serial=" << or_dash(g.serial) << "  pci=" << or_dash(g.pci_bus_id)
                << "  part=" << or_dash(g.board_part_number) << "\n";
    }
    std::cout << "chip-set hash: " << HexEncode(gpu::ChipSetHash(found)) << "\n";
    return 0;
  });
}

}  // namespace custodian::cli
