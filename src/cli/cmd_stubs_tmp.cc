// TEMPORARY stubs while the real commands are being written; each is removed with its file.
#include "cli/command.h"
namespace custodian::cli {
void AddProtoCommands(CLI::App&) {}
void AddNetemCommand(CLI::App&) {}
void AddGpuCommands(CLI::App&) {}
void AddDemoCommand(CLI::App&) {}
void AddBenchCommands(CLI::App&) {}
}  // namespace custodian::cli
