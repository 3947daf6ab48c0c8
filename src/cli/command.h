// How subcommands plug into the `custodian` binary.
//
// Each module's commands live in their own cmd_*.cc file and are added to the root CLI11 app by
// an Add*Commands function. A command's action returns the process exit code:
//   0 success, 1 a negative result (invalid receipt, failed check, peer unavailable),
//   2 bad usage or input — always with one clear line on stderr (see Fail()).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "client/api_client.h"
#include "core/status.h"

namespace custodian::cli {

using Action = std::function<int()>;

// Makes `action` run when `command` is the subcommand the user chose.
void OnRun(CLI::App* command, Action action);

// Prints "custodian: <message>" on stderr and returns the exit code for the status' kind.
int Fail(const Status& status);
int ExitCodeFor(const Status& status);

// Shared flag validators (clear messages naming the flag).
Status CheckLatLon(double lat, double lon);

void AddKeyCommands(CLI::App& app);     // keygen
void AddProtoCommands(CLI::App& app);   // landmark, measure, receipt verify
void AddNetemCommand(CLI::App& app);    // netem
void AddGpuCommands(CLI::App& app);     // gpus
void AddDemoCommand(CLI::App& app);     // demo
void AddBenchCommands(CLI::App& app);   // bench rtt
void AddGeoCommands(CLI::App& app);     // geo verdict, plan, and the two below
void AddGeoEvalCommand(CLI::App* geo);  // geo eval
void AddGeoMapCommand(CLI::App* geo);   // geo map
void AddServeCommands(CLI::App& app);   // serve, db migrate, admin init
void AddAgentCommands(CLI::App& app);   // agent enrol, agent run
void AddApiCommands(CLI::App& app);     // api, alerts, fleet
void AddScreenCommands(CLI::App& app);  // screen import, query, batch, eval, ownership, lists

// How a client command reaches the registry's HTTP API (cmd_api.cc).
struct ServerFlags {
  std::string server;  // empty: $CUSTODIAN_SERVER, else http://127.0.0.1:8080
  std::string token;   // empty: --token-file, else $CUSTODIAN_TOKEN
  std::string token_file;
  std::string ca_file;
  bool insecure = false;
};
// --server (required when `server_required`), --token, --token-file, --ca-file, --insecure.
void AddServerFlags(CLI::App* command, ServerFlags* flags, bool server_required);
// The API client options those flags describe; InvalidInput on a bad combination.
Result<client::ApiClientOptions> ApiOptionsFrom(const ServerFlags& flags);

}  // namespace custodian::cli
