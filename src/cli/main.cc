// custodian: one binary, one subcommand per capability. This file only parses arguments;
// everything else lives in the library.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/cmd_log.h"
#include "cli/command.h"
#include "core/crypto.h"
#include "custodian/version.h"

namespace custodian::cli {
namespace {
Action g_selected;
int g_selected_depth = -1;
}  // namespace

void OnRun(CLI::App* command, Action action) {
  int depth = 0;
  for (const CLI::App* p = command->get_parent(); p != nullptr; p = p->get_parent()) ++depth;
  // CLI11 runs the callbacks of every command on the chosen path (`demo receipts` runs demo's
  // and receipts'), in an order that is not ours to rely on: the deepest command wins.
  command->callback([action = std::move(action), depth] {
    if (depth > g_selected_depth) {
      g_selected = action;
      g_selected_depth = depth;
    }
  });
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidInput:
    case StatusCode::kIoError:
    case StatusCode::kNotFound:
      return 2;
    default:
      return 1;
  }
}

int Fail(const Status& status) {
  std::cerr << "custodian: " << status.message() << "\n";
  return ExitCodeFor(status);
}

Status CheckLatLon(double lat, double lon) {
  if (!(lat >= -90 && lat <= 90)) {
    return Status::InvalidInput("--lat: must be a number in [-90, 90], got " + std::to_string(lat));
  }
  if (!(lon >= -180 && lon <= 180)) {
    return Status::InvalidInput("--lon: must be a number in [-180, 180], got " +
                                std::to_string(lon));
  }
  return Status::Ok();
}

}  // namespace custodian::cli

int main(int argc, char** argv) {
  using namespace custodian;
  InitCrypto();
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "Custodian: where is each export-controlled AI chip, who holds it, and has anything "
      "changed.\nEvery command: exit 0 on success, 1 on a negative result, 2 on bad usage or "
      "input."};
  app.name("custodian");
  app.require_subcommand(1);
  app.fallthrough(false);
  auto* version = app.add_subcommand("version", "Print the version");
  cli::OnRun(version, [] {
    std::cout << "custodian " << kVersion << "\n";
    return 0;
  });
  cli::AddKeyCommands(app);
  cli::AddProtoCommands(app);
  cli::AddNetemCommand(app);
  cli::AddGpuCommands(app);
  cli::AddDemoCommand(app);
  cli::AddGeoCommands(app);
  cli::AddServeCommands(app);
  cli::AddBenchCommands(app);
  cli::AddAgentCommands(app);
  cli::AddApiCommands(app);
  cli::AddLogCommands(app);
  cli::AddScreenCommands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.empty()) what = "bad usage";
    std::cerr << "custodian: " << what << " (see custodian --help)\n";
    return 2;
  }
  if (!cli::g_selected) return 2;
  return cli::g_selected();
}
