// custodian geo map — one verdict drawn as SVG (geo/svg_map.h; docs/geolocation.md, "Maps").
#include <iostream>
#include <map>

#include "cli/command.h"
#include "cli/geo_inputs.h"
#include "core/file.h"
#include "geo/svg_map.h"
#include "geo/verdict.h"

namespace custodian::cli {
namespace {

struct MapFlags {
  std::string landmarks, site, licensed, policy, out;
  std::vector<std::string> receipts;
};

int RunMap(const MapFlags& f) {
  auto site = ParseSiteFlag(f.site);
  if (!site.ok()) return Fail(site.status());
  auto parsed_licensed = ParseOptionalLicensedFlag(f.licensed);
  if (!parsed_licensed.ok()) return Fail(parsed_licensed.status());
  const std::set<std::string>& licensed = *parsed_licensed;
  if (f.out.empty()) return Fail(Status::InvalidInput("--out: give the SVG file to write"));
  // Exactly as geo verdict: a map must not draw evidence the verdict would refuse.
  auto in = LoadVerdictInputs(f.policy, f.landmarks, f.receipts);
  if (!in.ok()) return Fail(in.status());
  geo::VerdictEngine engine(*in->borders, in->policy);
  geo::VerdictRequest request;
  request.observations = in->observations;
  request.site = *site;
  request.licensed = licensed;
  geo::Verdict verdict = engine.Decide(request);

  // Fastest answer per landmark: the circle the verdict's cap uses.
  std::map<std::string, int64_t> best_rtt_ns;
  for (const auto& o : in->observations) {
    auto [it, inserted] = best_rtt_ns.emplace(o.landmark->id, o.min_rtt_ns);
    if (!inserted) it->second = std::min(it->second, o.min_rtt_ns);
  }
  geo::MapSpec spec;
  spec.site = *site;
  spec.licensed = licensed;
  spec.verdict = geo::VerdictKindName(verdict.kind);
  for (const auto& r : verdict.reasons) spec.reasons.push_back(r.text);
  for (const auto& l : in->trusted) {
    geo::MapLandmark m;
    m.id = l.id;
    m.position = l.position;
    auto it = best_rtt_ns.find(l.id);
    if (it != best_rtt_ns.end()) {
      m.radius_km = engine.RadiusKm(it->second);
      m.min_rtt_ms = double(it->second) / 1e6;
    }
    spec.landmarks.push_back(m);
  }
  std::string svg = geo::RenderSvgMap(*in->borders, in->policy, spec);
  Status written = WriteFileAtomic(f.out, svg, 0644);
  if (!written.ok()) return Fail(written.WithContext("--out"));
  std::cout << "wrote " << f.out << " (" << svg.size() / 1024 << " KiB): verdict " << spec.verdict
            << "\n";
  return 0;
}

}  // namespace

void AddGeoMapCommand(CLI::App* geo) {
  auto f = std::make_shared<MapFlags>();
  auto* map = geo->add_subcommand(
      "map",
      "Draw a verdict as SVG: borders, landmarks and their distance circles, the feasible "
      "region, the claimed site");
  map->add_option("--landmarks", f->landmarks, "Trusted landmarks file (JSON)")->required();
  map->add_option("--receipts", f->receipts, "Receipt files")->required()->expected(1, -1);
  map->add_option("--site", f->site, "Claimed site LAT,LON (degrees)")->required();
  map->add_option("--licensed", f->licensed, "Licensed countries CC[,CC...] (optional)");
  map->add_option("--policy", f->policy, "Policy file (default: compiled-in policy/default.json)");
  map->add_option("--out", f->out, "SVG file to write (atomically)")->required();
  OnRun(map, [f] { return RunMap(*f); });
}

}  // namespace custodian::cli
