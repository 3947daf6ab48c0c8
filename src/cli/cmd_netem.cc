// custodian netem --listen HOST:PORT --forward HOST:PORT --delay-ms X [--jitter-ms Y]
// custodian netem --routes FILE
//
// Prints one line per route on stdout once every socket is bound (scripts and tests read the
// bound port from it, since --listen may use port 0):
//   netem 127.0.0.1:40123 -> 127.0.0.1:9000 delay 20 ms jitter 0 ms
// then relays until SIGINT or SIGTERM, prints its counters on stderr and exits 0.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <iostream>

#include "cli/command.h"
#include "cli/signals.h"
#include "core/file.h"
#include "proto/netem.h"

namespace custodian::cli {
namespace {

// Each client of each route holds one upstream socket; lift the soft descriptor limit (often
// 1024) towards what the per-route client cap needs, within the hard limit.
void RaiseFileLimit(size_t routes, size_t clients_per_route) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t want = rlim_t(routes) * (clients_per_route + 1) + 64;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

struct NetemFlags {
  std::string listen, forward, routes_file;
  double delay_ms = 0, jitter_ms = 0;
  CLI::Option* listen_opt = nullptr;
  CLI::Option* forward_opt = nullptr;
  CLI::Option* delay_opt = nullptr;
  CLI::Option* jitter_opt = nullptr;
  CLI::Option* routes_opt = nullptr;
};

Result<std::vector<proto::NetemRoute>> RoutesFromFlags(const NetemFlags& f) {
  bool inline_form = f.listen_opt->count() + f.forward_opt->count() + f.delay_opt->count() +
                         f.jitter_opt->count() >
                     0;
  bool file_form = f.routes_opt->count() > 0;
  if (inline_form && file_form) {
    return Status::InvalidInput(
        "netem: use either --routes FILE or --listen/--forward/--delay-ms, not both");
  }
  if (file_form) {
    auto text = ReadFile(f.routes_file);
    if (!text.ok()) return text.status().WithContext("--routes");
    auto routes = proto::ParseNetemRoutes(*text);
    if (!routes.ok()) return routes.status().WithContext(f.routes_file);
    return routes;
  }
  if (!inline_form) {
    return Status::InvalidInput(
        "netem: give --listen HOST:PORT --forward HOST:PORT --delay-ms X, or --routes FILE");
  }
  if (f.listen_opt->count() == 0)
    return Status::InvalidInput("netem: --listen HOST:PORT is required");
  if (f.forward_opt->count() == 0) {
    return Status::InvalidInput("netem: --forward HOST:PORT is required");
  }
  if (f.delay_opt->count() == 0) return Status::InvalidInput("netem: --delay-ms X is required");
  proto::NetemRoute route;
  auto listen = ParseHostPort(f.listen, "--listen");
  if (!listen.ok()) return listen.status();
  auto forward = ParseHostPort(f.forward, "--forward");
  if (!forward.ok()) return forward.status();
  CUSTODIAN_RETURN_IF_ERROR(proto::CheckNetemForward(*forward, "--forward"));
  CUSTODIAN_RETURN_IF_ERROR(proto::CheckNetemDelayMs(f.delay_ms, "--delay-ms"));
  CUSTODIAN_RETURN_IF_ERROR(proto::CheckNetemDelayMs(f.jitter_ms, "--jitter-ms"));
  route.listen = *listen;
  route.forward = *forward;
  route.delay_ms = f.delay_ms;
  route.jitter_ms = f.jitter_ms;
  return std::vector<proto::NetemRoute>{route};
}

int RunNetem(const NetemFlags& flags) {
  auto routes = RoutesFromFlags(flags);
  if (!routes.ok()) return Fail(routes.status());
  proto::NetemLimits limits;
  RaiseFileLimit(routes->size(), limits.max_clients_per_route);
  proto::Netem netem(std::move(*routes), limits);
  Status started = netem.Start();
  if (!started.ok()) return Fail(started);
  // Before the routes are announced, so a SIGTERM sent by whoever read them is handled.
  std::atomic<bool>& stop = InstallStopSignals();
  for (size_t i = 0; i < netem.routes().size(); ++i) {
    const proto::NetemRoute& r = netem.routes()[i];
    std::cout << fmt::format("netem {} -> {} delay {} ms jitter {} ms",
                             netem.listen_addresses()[i].ToString(), r.forward.ToString(),
                             r.delay_ms, r.jitter_ms);
    if (!r.name.empty()) {
      std::string name = r.name;  // one line per route, whatever the file says
      std::replace_if(
          name.begin(), name.end(), [](char c) { return (unsigned char)c < 0x20; }, '?');
      std::cout << " (" << name << ")";
    }
    std::cout << "\n";
  }
  std::cout.flush();
  Status run = netem.Run(stop);
  std::cerr << "netem: " << netem.Counters().ToString() << "\n";
  if (!run.ok()) return Fail(run);
  return 0;
}

}  // namespace

void AddNetemCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "netem",
      "UDP relay adding one-way delay in each direction, to emulate distance on loopback.\n"
      "Either --listen/--forward/--delay-ms [--jitter-ms] for one route, or --routes FILE for "
      "several (see docs/netem.md). Prints 'netem <bound> -> <forward> delay X ms jitter Y ms' "
      "per route, then runs until SIGINT/SIGTERM.");
  auto flags = std::make_shared<NetemFlags>();
  flags->listen_opt = cmd->add_option("--listen", flags->listen,
                                      "HOST:PORT to receive client datagrams on (port 0: any)");
  flags->forward_opt =
      cmd->add_option("--forward", flags->forward, "HOST:PORT to relay them to (e.g. a landmark)");
  flags->delay_opt = cmd->add_option("--delay-ms", flags->delay_ms,
                                     "One-way delay added in each direction, milliseconds (>= 0)");
  flags->jitter_opt = cmd->add_option(
      "--jitter-ms", flags->jitter_ms,
      "Uniform jitter in [-Y, +Y] per datagram, milliseconds (>= 0; delay never below 0)");
  flags->routes_opt = cmd->add_option("--routes", flags->routes_file,
                                      "JSON file listing several routes (instead of the above)");
  OnRun(cmd, [flags] { return RunNetem(*flags); });
}

}  // namespace custodian::cli
