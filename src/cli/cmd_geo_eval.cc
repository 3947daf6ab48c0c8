// custodian geo eval — the verdict engine on measured latency between data centres
// (geo/eval.h; results in docs/geolocation.md, "Evaluation").
#include <iostream>

#include "cli/command.h"
#include "cli/geo_inputs.h"
#include "core/file.h"
#include "geo/eval.h"

namespace custodian::cli {
namespace {

struct EvalFlags {
  std::string servers, pings, policy;
  int max_landmarks = 0;
  bool json = false;
};

int RunEval(const EvalFlags& f) {
  if (f.max_landmarks < 0)
    return Fail(Status::InvalidInput("--max-landmarks: must be 0 (all) or more"));
  auto policy = LoadPolicyFlag(f.policy);
  if (!policy.ok()) return Fail(policy.status());
  auto servers_text = ReadFile(f.servers);
  if (!servers_text.ok()) return Fail(servers_text.status().WithContext("--servers"));
  auto hosts = geo::ParseServersCsv(*servers_text, f.servers);
  if (!hosts.ok()) return Fail(hosts.status());
  auto pings_text = ReadFile(f.pings);
  if (!pings_text.ok()) return Fail(pings_text.status().WithContext("--pings"));
  auto pings = geo::ParsePingsCsv(*pings_text, f.pings, *hosts);
  if (!pings.ok()) return Fail(pings.status());
  if (hosts->hosts.empty())
    return Fail(Status::InvalidInput(f.servers + ": no server with a position"));
  auto borders = Borders();
  if (!borders.ok()) return Fail(borders.status());

  geo::VerdictEngine engine(**borders, *policy);
  geo::EvalOptions options;
  options.max_landmarks = f.max_landmarks;
  geo::EvalReport report = geo::Evaluate(**borders, engine, *hosts, *pings, options);
  if (f.json) {
    std::cout << report.ToJson().dump(2) << "\n";
  } else {
    std::cout << report.ToText();
  }
  // A restricted host verified anywhere is the one result this tool must never produce.
  return report.sound() ? 0 : 1;
}

}  // namespace

void AddGeoEvalCommand(CLI::App* geo) {
  auto f = std::make_shared<EvalFlags>();
  auto* eval = geo->add_subcommand(
      "eval",
      "Evaluate the engine on measured latency: each host the target, the others its landmarks "
      "(exit 1 if a restricted host is ever verified)");
  eval->add_option("--servers", f->servers, "Servers CSV (id, latitude, longitude, ...)")
      ->required();
  eval->add_option("--pings", f->pings, "Pings CSV (source, destination, min in ms, ...)")
      ->required();
  eval->add_option("--policy", f->policy, "Policy file (default: compiled-in policy/default.json)");
  eval->add_option("--max-landmarks", f->max_landmarks,
                   "Use only the N landmarks nearest each target's stated position (0: all)")
      ->capture_default_str();
  eval->add_flag("--json", f->json, "Machine-readable output");
  OnRun(eval, [f] { return RunEval(*f); });
}

}  // namespace custodian::cli
