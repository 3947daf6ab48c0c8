// The fleet demo behind `make demo` / `custodian demo` (and the end-to-end test): a registry on
// SQLite, six landmarks at real cities, and a fleet of agents at real sites whose network delays
// come from their true positions through the distance emulator (`custodian netem`) — including
// nodes truly in Shenzhen and Beijing that claim Johor or Singapore, one node key copied to a
// second place, and one node that goes dark.
//
// Everything is a separate `custodian` process over real UDP and HTTP on loopback: `serve`,
// `landmark --server …` (cross-checking each other), one `netem` with a route per
// (node, landmark) and (landmark, landmark) pair, and `agent run` per node. The demo drives the
// registry only through its HTTP API, as an operator would.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace custodian::sim {

struct FleetDemoOptions {
  std::string dir;                        // working directory (keys, database, logs)
  std::string listen = "127.0.0.1:8080";  // the registry's address (port 0: any free port)
  int nodes_per_site = 9;                 // honest nodes at each of the six sites
  int interval_s = 5;                     // agent round interval
  int samples = 4;                        // challenges per landmark per round
  int run_s = 45;                         // how long the fleet runs before the summary
  int crosscheck_interval_s = 10;
  bool keep_running = true;  // after the summary, serve until `stop`
  // Directory with the shared restricted-party lists (BIS Entity List and MEU JSON, OFAC
  // sdn.csv); when set and present, they are imported into the demo's database and a few
  // customers are screened through POST /v1/screen. "" skips screening.
  std::string lists_dir;
};

struct FleetDemoResult {
  bool expectations_met = false;  // honest verified, diverted caught, clone detected, dark stale
  std::string server_url;
  std::string admin_token;
  nlohmann::json summary;  // fleet, groups, alerts — what was printed
};

// Runs the demo, printing as it goes on stdout. Returns when `stop` becomes true (after the
// summary when keep_running), or right after the summary otherwise.
Result<FleetDemoResult> RunFleetDemo(const FleetDemoOptions& options,
                                     const std::atomic<bool>& stop);

}  // namespace custodian::sim
