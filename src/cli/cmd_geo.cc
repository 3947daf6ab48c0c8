// custodian geo verdict | plan — the geolocation engine (docs/geolocation.md).
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "cli/geo_inputs.h"
#include "geo/geodesic.h"
#include "geo/plan.h"
#include "geo/sphere.h"
#include "geo/verdict.h"

namespace custodian::cli {
namespace {

struct VerdictFlags {
  std::string landmarks, site, licensed, policy, key_binding = "software";
  std::vector<std::string> receipts;
  bool json = false;
};

int RunVerdict(const VerdictFlags& f) {
  auto site = ParseSiteFlag(f.site);
  if (!site.ok()) return Fail(site.status());
  auto licensed = ParseLicensedFlag(f.licensed);
  if (!licensed.ok()) return Fail(licensed.status());
  auto in = LoadVerdictInputs(f.policy, f.landmarks, f.receipts);
  if (!in.ok()) return Fail(in.status());
  geo::VerdictEngine engine(*in->borders, in->policy);
  geo::VerdictRequest request;
  request.observations = in->observations;
  request.site = *site;
  request.licensed = *licensed;
  request.key_binding = f.key_binding;
  geo::Verdict v = engine.Decide(request);
  if (f.json) {
    nlohmann::json j = v.ToJson();
    j["site"] = {{"lat", site->lat_deg}, {"lon", site->lon_deg}};
    j["licensed"] = *licensed;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << v.Summary();
  }
  return v.kind == geo::VerdictKind::kVerified ? 0 : 1;
}

struct PlanFlags {
  std::string landmarks, site, licensed, policy;
  bool json = false;
};

int RunPlan(const PlanFlags& f) {
  auto site = ParseSiteFlag(f.site);
  if (!site.ok()) return Fail(site.status());
  auto licensed_codes = ParseOptionalLicensedFlag(f.licensed);
  if (!licensed_codes.ok()) return Fail(licensed_codes.status());
  auto policy = LoadPolicyFlag(f.policy);
  if (!policy.ok()) return Fail(policy.status());
  auto trusted = geo::LoadLandmarksFile(f.landmarks);
  if (!trusted.ok()) return Fail(trusted.status().WithContext("--landmarks"));
  auto borders = Borders();
  if (!borders.ok()) return Fail(borders.status());
  geo::VerdictEngine engine(**borders, *policy);
  geo::SitePlan plan = geo::PlanSite(engine, *trusted, *site, *licensed_codes);
  double site_margin_km = plan.site_margin_km;
  nlohmann::json rows = nlohmann::json::array();
  for (const geo::PlanRow& row : plan.rows) {
    rows.push_back({{"landmark", row.landmark->id},
                    {"operator", row.landmark->operator_name},
                    {"distance_km", row.distance_km},
                    {"min_possible_rtt_ms", row.min_possible_rtt_ms},
                    {"max_rtt_ms_to_verify",
                     row.can_help ? nlohmann::json(row.max_rtt_ms_to_verify) : nlohmann::json()},
                    {"can_help", row.can_help},
                    {"nearest_restricted", row.nearest_restricted},
                    {"nearest_restricted_km", row.nearest_restricted_km}});
  }
  if (f.json) {
    std::cout << nlohmann::json{{"site", {{"lat", site->lat_deg}, {"lon", site->lon_deg}}},
                                {"speed_model", policy->speed_model_name()},
                                {"border_buffer_km", policy->border_buffer_km},
                                {"site_nearest_restricted", plan.site_nearest_restricted},
                                {"site_margin_km", site_margin_km},
                                {"landmarks", rows}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf(
      "site %.4f,%.4f: nearest restricted territory %s is %.0f km away (verdict margin); "
      "speed %s, border buffer %.0f km\n",
      site->lat_deg, site->lon_deg, plan.site_nearest_restricted.c_str(), site_margin_km,
      policy->speed_model_name(), policy->border_buffer_km);
  std::printf("%-12s %-18s %12s %16s %20s %9s\n", "landmark", "operator", "distance km",
              "min RTT ms", "max RTT to verify", "can help");
  for (const auto& r : rows) {
    std::string max_rtt =
        r["can_help"].get<bool>()
            ? std::to_string(r["max_rtt_ms_to_verify"].get<double>()).substr(0, 8) + " ms"
            : "-";
    std::printf("%-12s %-18s %12.0f %16.3f %20s %9s\n", r["landmark"].get<std::string>().c_str(),
                r["operator"].get<std::string>().substr(0, 18).c_str(),
                r["distance_km"].get<double>(), r["min_possible_rtt_ms"].get<double>(),
                max_rtt.c_str(), r["can_help"].get<bool>() ? "yes" : "no");
  }
  std::printf("A landmark that cannot help alone may still help together with others.\n");
  return 0;
}

}  // namespace

void AddGeoCommands(CLI::App& app) {
  auto* geo = app.add_subcommand("geo", "Geolocation engine: verdicts, planning, maps, evaluation");
  geo->require_subcommand(1);

  auto vf = std::make_shared<VerdictFlags>();
  auto* verdict = geo->add_subcommand(
      "verdict",
      "Decide verified / inconclusive / violation from receipts (exit 0 only if verified)");
  verdict->add_option("--landmarks", vf->landmarks, "Trusted landmarks file (JSON)")->required();
  verdict->add_option("--receipts", vf->receipts, "Receipt files")->required()->expected(1, -1);
  verdict->add_option("--site", vf->site, "Claimed site LAT,LON (degrees)")->required();
  verdict->add_option("--licensed", vf->licensed, "Licensed countries CC[,CC...]")->required();
  verdict->add_option("--policy", vf->policy,
                      "Policy file (default: compiled-in policy/default.json)");
  verdict
      ->add_option("--key-binding", vf->key_binding,
                   "How the node key is bound: software, tpm, gpu-cc, gpu-resident")
      ->capture_default_str();
  verdict->add_flag("--json", vf->json, "Machine-readable output");
  OnRun(verdict, [vf] { return RunVerdict(*vf); });

  auto pf = std::make_shared<PlanFlags>();
  auto* plan = geo->add_subcommand(
      "plan", "For a site: which landmarks can verify it, and the largest RTT each may measure");
  plan->add_option("--landmarks", pf->landmarks, "Trusted landmarks file (JSON)")->required();
  plan->add_option("--site", pf->site, "Site LAT,LON (degrees)")->required();
  plan->add_option("--licensed", pf->licensed, "Licensed countries CC[,CC...] (optional)");
  plan->add_option("--policy", pf->policy, "Policy file (default: compiled-in)");
  plan->add_flag("--json", pf->json, "Machine-readable output");
  OnRun(plan, [pf] { return RunPlan(*pf); });

  AddGeoEvalCommand(geo);
  AddGeoMapCommand(geo);
}

}  // namespace custodian::cli
