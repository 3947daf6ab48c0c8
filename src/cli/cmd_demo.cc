// custodian demo — the fleet demo (sim/fleet_demo.h); custodian demo receipts — the timing
// protocol alone: three real landmarks, a distance emulator, one agent.
//
// Everything runs as separate `custodian` processes over real UDP on loopback. The agent sits
// (notionally) in Johor, Malaysia; each landmark is reached through a netem route whose one-way
// delay is the great-circle distance at fibre speed (2/3 c) times a path inflation of 1.5, which
// is what a real Internet path between those places looks like. The table shows what each
// receipt proves: the largest distance its min RTT allows at c — always more than the true
// distance, because nothing beats light.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include "cli/command.h"
#include "cli/signals.h"
#include "sim/fleet_demo.h"

#include "core/file.h"
#include "core/key_file.h"
#include "core/subprocess.h"
#include "geo/geodesic.h"
#include "proto/receipt.h"

namespace custodian::cli {
namespace {

struct DemoLandmark {
  const char* id;
  const char* place;
  double lat_deg, lon_deg;
  const char* country;
  const char* operator_name;
};
constexpr DemoLandmark kLandmarks[] = {
    {"SIN-1", "Singapore", 1.3521, 103.8198, "SG", "Demo Exchange SG"},
    {"FRA-1", "Frankfurt", 50.1109, 8.6821, "DE", "Demo Exchange DE"},
    {"IAD-1", "Ashburn VA", 39.0438, -77.4874, "US", "Demo Exchange US"},
};
constexpr const char* kSiteLicensed = "MY,SG,ID";
constexpr double kSiteLatDeg = 1.4927, kSiteLonDeg = 103.7414;  // Johor Bahru, Malaysia
constexpr double kPathInflation = 1.5;

using namespace std::chrono_literals;

std::string SiteText() {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f,%.4f", kSiteLatDeg, kSiteLonDeg);
  return buf;
}

// Reads the first stdout line of a freshly started server, which names its bound address.
Result<std::string> FirstLine(Subprocess& p, const std::string& what) {
  auto line = p.ReadLine(10s);
  if (!line) return Status::Unavailable(what + " did not start (no address line within 10 s)");
  return *line;
}

// "landmark SIN-1 listening on 127.0.0.1:40123 ..." -> "127.0.0.1:40123"
std::string Token(const std::string& line, size_t index) {
  std::istringstream in(line);
  std::string t;
  for (size_t i = 0; i <= index && (in >> t); ++i) {
  }
  return t;
}

int RunDemoIn(const std::string& dir, int samples) {
  const std::string self = SelfExecutablePath();

  std::cout << "Custodian demo: an agent in Johor, Malaysia (" << SiteText()
            << ") proves how near it is to three landmarks.\n"
            << "Each landmark is reached through `custodian netem`, delaying each direction by "
               "distance / (2/3 c) x "
            << kPathInflation << ".\nWorking directory: " << dir << "\n\n";

  std::vector<Subprocess> servers;
  std::vector<std::string> pubs, landmark_addrs;
  for (const auto& lm : kLandmarks) {
    auto key = GenerateKeyFile(dir + "/" + lm.id + ".key");
    if (!key.ok()) return Fail(key.status());
    pubs.push_back(Base64Encode(key->public_key()));
    auto p = Subprocess::Spawn({self, "landmark", "--id", lm.id, "--lat",
                                std::to_string(lm.lat_deg), "--lon", std::to_string(lm.lon_deg),
                                "--key", dir + "/" + lm.id + ".key", "--listen", "127.0.0.1:0"},
                               /*quiet_stderr=*/true);
    if (!p.ok()) return Fail(p.status());
    auto line = FirstLine(*p, std::string("landmark ") + lm.id);
    if (!line.ok()) return Fail(line.status());
    landmark_addrs.push_back(Token(*line, 4));
    servers.push_back(std::move(*p));
  }

  // One netem process serves all three routes.
  std::vector<double> distance_km, delay_ms;
  std::string routes = "[";
  for (size_t i = 0; i < std::size(kLandmarks); ++i) {
    const auto& lm = kLandmarks[i];
    distance_km.push_back(
        geo::GeodesicDistanceKm(kSiteLatDeg, kSiteLonDeg, lm.lat_deg, lm.lon_deg));
    delay_ms.push_back(distance_km.back() / geo::kFibreSpeedKmPerS * 1000.0 * kPathInflation);
    char route[256];
    std::snprintf(
        route, sizeof route,
        "%s{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"forward\":\"%s\",\"delay_ms\":%.3f}",
        i ? "," : "", lm.id, landmark_addrs[i].c_str(), delay_ms.back());
    routes += route;
  }
  routes += "]";
  if (Status s = WriteFileAtomic(dir + "/routes.json", routes, 0644); !s.ok()) return Fail(s);
  auto netem = Subprocess::Spawn({self, "netem", "--routes", dir + "/routes.json"}, true);
  if (!netem.ok()) return Fail(netem.status());
  std::vector<std::string> route_addrs;
  for (size_t i = 0; i < std::size(kLandmarks); ++i) {
    auto line = FirstLine(*netem, "netem");
    if (!line.ok()) return Fail(line.status());
    route_addrs.push_back(Token(*line, 1));
  }

  auto node_key = GenerateKeyFile(dir + "/node.key");
  if (!node_key.ok()) return Fail(node_key.status());

  // The agent measures all three landmarks at once, as a real agent would.
  std::vector<Subprocess> agents;
  for (size_t i = 0; i < std::size(kLandmarks); ++i) {
    auto p = Subprocess::Spawn({self, "measure", "--key", dir + "/node.key", "--landmark",
                                route_addrs[i], "--landmark-pub", pubs[i], "--samples",
                                std::to_string(samples), "--out",
                                dir + "/receipt-" + kLandmarks[i].id + ".json"});
    if (!p.ok()) return Fail(p.status());
    agents.push_back(std::move(*p));
  }
  std::vector<int> measure_rc;
  for (auto& a : agents) {
    a.ReadAll();
    measure_rc.push_back(a.Wait());
  }

  std::printf("%-8s %-11s %12s %12s %18s %14s\n", "landmark", "place", "distance km", "min RTT ms",
              "max distance at c", "receipt valid");
  bool all_valid = true, physics_holds = true;
  double nearest_bound_km = -1;
  size_t nearest = 0;
  for (size_t i = 0; i < std::size(kLandmarks); ++i) {
    const auto& lm = kLandmarks[i];
    std::string file = dir + "/receipt-" + lm.id + ".json";
    std::string rtt = "-", bound = "-";
    bool valid = false;
    if (measure_rc[i] == 0) {
      auto verify = Subprocess::Spawn({self, "receipt", "verify", file, "--landmark-pub", pubs[i]});
      if (verify.ok()) {
        verify->ReadAll();
        valid = verify->Wait() == 0;
      }
      auto text = ReadFile(file);
      auto receipt = text.ok() ? proto::ParseReceipt(*text) : Result<proto::Receipt>(text.status());
      if (receipt.ok()) {
        double bound_km = proto::MaxDistanceKm(receipt->min_rtt_ns, proto::kSpeedOfLightKmPerS);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", double(receipt->min_rtt_ns) / 1e6);
        rtt = buf;
        std::snprintf(buf, sizeof buf, "%.0f km", bound_km);
        bound = buf;
        physics_holds = physics_holds && bound_km >= distance_km[i];
        if (nearest_bound_km < 0 || bound_km < nearest_bound_km) {
          nearest_bound_km = bound_km;
          nearest = i;
        }
      }
    }
    all_valid = all_valid && valid;
    std::printf("%-8s %-11s %12.0f %12s %18s %14s\n", lm.id, lm.place, distance_km[i], rtt.c_str(),
                bound.c_str(), valid ? "yes" : "no");
  }
  std::cout << "\n"
            << (physics_holds ? "Every bound is at least the true distance: no answer beat light."
                              : "WARNING: a bound is below the true distance; check the clocks.")
            << "\n";
  if (nearest_bound_km >= 0) {
    std::printf(
        "The %s receipt alone proves the chip is within %.0f km of %s, whatever it claims.\n",
        kLandmarks[nearest].id, nearest_bound_km, kLandmarks[nearest].place);
  }

  // The geolocation engine's verdict on the three receipts, as a regulator would run it.
  nlohmann::json trusted = nlohmann::json::array();
  for (size_t i = 0; i < std::size(kLandmarks); ++i) {
    trusted.push_back({{"id", kLandmarks[i].id},
                       {"operator", kLandmarks[i].operator_name},
                       {"lat", kLandmarks[i].lat_deg},
                       {"lon", kLandmarks[i].lon_deg},
                       {"country", kLandmarks[i].country},
                       {"public_key", pubs[i]}});
  }
  if (Status s = WriteFileAtomic(dir + "/landmarks.json", trusted.dump(2), 0644); !s.ok()) {
    return Fail(s);
  }
  std::vector<std::string> verdict_args = {
      self,     "geo",      "verdict",    "--landmarks", dir + "/landmarks.json",
      "--site", SiteText(), "--licensed", kSiteLicensed, "--receipts"};
  for (const auto& lm : kLandmarks) verdict_args.push_back(dir + "/receipt-" + lm.id + ".json");
  std::cout << "\n$ custodian geo verdict --site " << SiteText() << " --licensed " << kSiteLicensed
            << " (landmarks.json, 3 receipts)\n";
  auto verdict = Subprocess::Spawn(verdict_args);
  int verdict_rc = 1;
  if (verdict.ok()) {
    std::cout << verdict->ReadAll();
    verdict_rc = verdict->Wait();
  }

  for (auto& s : servers) s.Signal(SIGTERM);
  netem->Signal(SIGTERM);
  for (auto& s : servers) s.Wait();
  netem->Wait();
  return all_valid && physics_holds && verdict_rc == 0 ? 0 : 1;
}

int RunDemo(int samples, bool keep) {
  if (samples < 1 || samples > 64) return Fail(Status::InvalidInput("--samples: must be in 1..64"));
  char dir_template[] = "/tmp/custodian-demo-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return Fail(Status::IoError("cannot create temp dir"));
  const std::string dir = dir_template;
  int rc = RunDemoIn(dir, samples);  // child processes are stopped when their handles go
  if (keep) {
    std::cout << "Keys, routes and receipts kept in " << dir << "\n";
  } else {
    std::filesystem::remove_all(dir);
  }
  return rc;
}

struct FleetFlags {
  sim::FleetDemoOptions options;
  int port = 8080;
  std::string summary_json;
  bool exit_after_summary = false;
  bool keep = false;
};

int RunFleet(const FleetFlags& f) {
  if (f.port < 0 || f.port > 65535) {
    return Fail(Status::InvalidInput("--port: must be in [0, 65535]"));
  }
  char tmpl[] = "/tmp/custodian-demo-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Fail(Status::IoError("cannot create a temp directory"));
  sim::FleetDemoOptions options = f.options;
  options.dir = tmpl;
  options.listen = "127.0.0.1:" + std::to_string(f.port);
  if (options.lists_dir == "none") options.lists_dir.clear();
  options.keep_running = !f.exit_after_summary;
  std::atomic<bool>& stop = InstallStopSignals();
  // Catch everything, so that the demo's child processes are stopped on any error.
  Result<sim::FleetDemoResult> result = Status::Internal("demo: not run");
  try {
    result = sim::RunFleetDemo(options, stop);
  } catch (const std::exception& e) {
    result = Status::Internal(std::string("demo: unexpected error: ") + e.what());
  }
  int rc = 0;
  if (!result.ok()) {
    rc = Fail(result.status());
  } else {
    if (!f.summary_json.empty()) {
      if (Status s = WriteFileAtomic(f.summary_json, result->summary.dump(2), 0644); !s.ok()) {
        rc = Fail(s);
      }
    }
    if (rc == 0 && f.exit_after_summary && !result->expectations_met) rc = 1;
  }
  if (f.keep) {
    std::cout << "kept " << tmpl << "\n";
  } else {
    std::filesystem::remove_all(tmpl);
  }
  return rc;
}

}  // namespace

void AddDemoCommand(CLI::App& app) {
  auto* demo = app.add_subcommand(
      "demo",
      "Run the fleet demo: registry on SQLite, 6 landmarks, 50+ agents through the distance "
      "emulator, alerts; then serve on 127.0.0.1:8080 ($PORT) until Ctrl-C");
  auto f = std::make_shared<FleetFlags>();
  const char* port_env = std::getenv("PORT");
  f->port = port_env != nullptr ? std::atoi(port_env) : 8080;
  demo->add_option("--port", f->port,
                   "Registry port on 127.0.0.1 (0: any free port; default $PORT or 8080)");
  demo->add_option("--nodes-per-site", f->options.nodes_per_site,
                   "Honest nodes at each of the 6 sites")
      ->capture_default_str()
      ->check(CLI::Range(1, 50));
  demo->add_option("--run-s", f->options.run_s, "Seconds the fleet runs before the summary")
      ->capture_default_str()
      ->check(CLI::Range(5, 3600));
  demo->add_option("--interval", f->options.interval_s, "Agent round interval (s)")
      ->capture_default_str()
      ->check(CLI::Range(2, 600));
  demo->add_option("--samples", f->options.samples, "Challenges per landmark per round")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  f->options.lists_dir = std::string(CUSTODIAN_SOURCE_DIR) + "/../shared/data/lists";
  demo->add_option("--lists", f->options.lists_dir,
                   "Restricted-party lists to import and screen a few customers against "
                   "(\"none\" skips screening)")
      ->capture_default_str();
  demo->add_option("--summary-json", f->summary_json, "Also write the summary as JSON to FILE");
  demo->add_flag("--exit-after-summary", f->exit_after_summary,
                 "Stop after the summary (exit 0 only if every expectation was met)");
  demo->add_flag("--keep", f->keep, "Keep the working directory (keys, database, logs)");
  OnRun(demo, [f] { return RunFleet(*f); });

  auto* receipts = demo->add_subcommand(
      "receipts", "The timing protocol alone: 3 landmarks, netem, one agent, a geo verdict");
  auto samples = std::make_shared<int>(16);
  auto keep = std::make_shared<bool>(false);
  receipts->add_option("--samples", *samples, "Challenges per landmark")->capture_default_str();
  receipts->add_flag("--keep", *keep, "Keep the keys, routes file and receipts");
  OnRun(receipts, [samples, keep] { return RunDemo(*samples, *keep); });
}

}  // namespace custodian::cli
