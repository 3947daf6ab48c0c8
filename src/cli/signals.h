// SIGINT/SIGTERM set a stop flag that long-running commands (landmark, netem) poll, so they
// shut down cleanly and print their counters.
#pragma once

#include <atomic>

namespace custodian::cli {

// Installs the handlers (without SA_RESTART, so blocking calls return EINTR) and returns the flag.
std::atomic<bool>& InstallStopSignals();

}  // namespace custodian::cli
