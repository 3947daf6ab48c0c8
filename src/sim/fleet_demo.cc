#include "sim/fleet_demo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <httplib.h>

#include "client/api_client.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/file.h"
#include "core/key_file.h"
#include "core/subprocess.h"
#include "geo/geodesic.h"
#include "proto/wire.h"
#include "screen/importers.h"
#include "screen/list_store.h"
#include "store/database.h"

namespace custodian::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Place {
  const char* id;
  const char* city;
  double lat_deg, lon_deg;
  const char* country;
  const char* operator_id;
};

// Six landmarks at real cities, run by two independent landmark operators.
constexpr Place kLandmarks[] = {
    {"SIN-1", "Singapore", 1.3521, 103.8198, "SG", "meridian-timing"},
    {"KUL-1", "Kuala Lumpur", 3.1390, 101.6869, "MY", "equator-landmarks"},
    {"TYO-1", "Tokyo", 35.6762, 139.6503, "JP", "meridian-timing"},
    {"FRA-1", "Frankfurt", 50.1109, 8.6821, "DE", "equator-landmarks"},
    {"IAD-1", "Ashburn", 39.0438, -77.4874, "US", "meridian-timing"},
    {"SYD-1", "Sydney", -33.8688, 151.2093, "AU", "equator-landmarks"},
};

struct SiteSpec {
  const char* id;
  const char* city;
  double lat_deg, lon_deg;
  const char* country;
  const char* operator_id;
  std::vector<std::string> licensed;
};

const std::vector<SiteSpec>& Sites() {
  static const std::vector<SiteSpec> kSites = {
      {"sg-tuas", "Singapore", 1.3294, 103.7021, "SG", "lion-city-compute", {"SG", "MY", "ID"}},
      {"my-johor", "Johor", 1.4927, 103.7414, "MY", "straits-ai", {"MY", "SG", "ID"}},
      {"jp-tokyo", "Tokyo", 35.6895, 139.6917, "JP", "sakura-gpu", {"JP"}},
      {"de-frankfurt",
       "Frankfurt",
       50.1200,
       8.7400,
       "DE",
       "rhein-rechenzentrum",
       {"DE", "FR", "NL", "BE", "LU", "AT", "CH", "CZ", "PL", "DK"}},
      {"us-ashburn", "Ashburn", 39.0300, -77.4700, "US", "potomac-cloud", {"US", "CA"}},
      {"au-sydney", "Sydney", -33.8300, 151.1900, "AU", "harbour-ai", {"AU", "NZ"}},
  };
  return kSites;
}

enum class Group { kHonest, kDiverted, kCloneOriginal, kCloneCopy, kDark };

const char* GroupName(Group g) {
  switch (g) {
    case Group::kHonest:
      return "honest";
    case Group::kDiverted:
      return "diverted";
    case Group::kCloneOriginal:
      return "key original";
    case Group::kCloneCopy:
      return "key copy";
    case Group::kDark:
      return "goes dark";
  }
  return "?";
}

// One agent process: a node (or a copy of a node's key) at a true position.
struct AgentSpec {
  std::string name;  // node name; the copy shares its original's
  std::string site;
  double true_lat, true_lon;
  std::string true_place;
  Group group;
  int key_of = -1;  // the copy: index of the original
  std::string key_file, token_file, gpus_file, node_id;
  std::vector<std::string> via;  // LANDMARK=HOST:PORT
};

constexpr double kPathInflation = 1.5;  // real Internet paths are ~1.5x the great circle

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Starts `argv` with stderr (and stdout too, when `log_stdout`) appended to `log`.
Result<Subprocess> SpawnLogged(const std::vector<std::string>& argv, const std::string& log,
                               bool log_stdout) {
  std::string cmd = "exec";
  for (const auto& a : argv) cmd += " " + ShellQuote(a);
  cmd += log_stdout ? " >>" + ShellQuote(log) + " 2>&1" : " 2>>" + ShellQuote(log);
  return Subprocess::Spawn({"/bin/sh", "-c", cmd});
}

std::string Word(const std::string& line, size_t index) {
  std::istringstream in(line);
  std::string t;
  for (size_t i = 0; i <= index && (in >> t); ++i) {
  }
  return t;
}

Result<int> FreeUdpPort() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return Status::IoError("socket: cannot create");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return Status::IoError("cannot find a free UDP port on 127.0.0.1");
  }
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

double OneWayDelayMs(double lat1, double lon1, double lat2, double lon2) {
  double km = geo::GeodesicDistanceKm(lat1, lon1, lat2, lon2);
  return km / geo::kFibreSpeedKmPerS * 1000.0 * kPathInflation;
}

// Kills children gracefully (SIGTERM, then the destructor's SIGKILL) when the demo ends.
struct Processes {
  std::vector<Subprocess> list;
  ~Processes() {
    for (auto it = list.rbegin(); it != list.rend(); ++it) it->Signal(SIGTERM);
    for (auto it = list.rbegin(); it != list.rend(); ++it) it->Wait();
  }
};

bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (stop.load()) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Imports the shared restricted-party lists into the demo's database and screens a few would-be
// cloud customers and chip buyers through the running server (POST /v1/screen): each decision
// is recorded and logged like any other. Returns what it printed, for the summary.
Result<json> ScreenDemoCustomers(const std::string& lists_dir, const std::string& db_path,
                                 client::ApiClient& api) {
  const std::string entity_list = lists_dir + "/bis_entity_list_2026-07-09.json";
  const std::string meu = lists_dir + "/bis_meu_2026-07-09.json";
  const std::string sdn = lists_dir + "/ofac_sdn_2024-05-03.csv";
  for (const auto& f : {entity_list, meu, sdn}) {
    if (!std::filesystem::exists(f)) return Status::NotFound(f + " not found");
  }
  auto db = store::Database::Open("sqlite:" + db_path);
  if (!db.ok()) return db.status();
  std::printf("\nScreening: importing the BIS Entity List, the MEU list and the OFAC SDN list\n");
  for (const auto& [format, files] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"bis-json", {entity_list}}, {"bis-json", {meu}}, {"ofac-sdn", {sdn}}}) {
    auto list = screen::ImportListFiles(format, files);
    if (!list.ok()) return list.status();
    auto saved = screen::SaveList(**db, *list);
    if (!saved.ok()) return saved.status();
    std::printf("  %-16s version %s: %lld entities, %lld names\n", saved->info.list_id.c_str(),
                saved->info.version.c_str(), static_cast<long long>(saved->info.entity_count),
                static_cast<long long>(saved->info.name_count));
  }
  // Customers as a cloud provider or distributor would see them: a listed company under
  // another jurisdiction's legal form, the same in Chinese, a sanctioned person written the
  // other way round, and two parties on no list.
  json queries =
      json::array({{{"id", "c1"}, {"name", "Huawei Technologies Pte. Ltd."}, {"country", "SG"}},
                   {{"id", "c2"}, {"name", "华为技术有限公司"}},
                   {{"id", "c3"}, {"name", "Vladimir Putin"}, {"type", "person"}},
                   {{"id", "c4"}, {"name", "Northwind Compute Sdn. Bhd."}, {"country", "MY"}},
                   {{"id", "c5"}, {"name", "Lars Johansson"}, {"type", "person"}}});
  auto answer = api.Post("/v1/screen", {{"queries", queries}});
  if (!answer.ok()) return answer.status();
  std::printf("Screened through POST /v1/screen (each decision recorded and logged):\n");
  json shown = json::array();
  for (const auto& r : (*answer)["results"]) {
    std::string name = r["query"]["name"].get<std::string>();
    std::string cls = r.value("class", "error");
    std::string hit;
    if (r.contains("hits") && !r["hits"].empty()) {
      const auto& h = r["hits"][0];
      hit =
          "-> " + h["matched_name"].get<std::string>() + " [" + h["list"].get<std::string>() + "]";
    }
    std::printf("  %-32s %-6s %5.2f %s\n", name.c_str(), cls.c_str(), r.value("score", 0.0),
                hit.c_str());
    shown.push_back({{"name", name}, {"class", cls}, {"score", r.value("score", 0.0)}});
  }
  return shown;
}

}  // namespace

Result<FleetDemoResult> RunFleetDemo(const FleetDemoOptions& o, const std::atomic<bool>& stop) {
  const std::string self = SelfExecutablePath();
  const std::string& dir = o.dir;
  const std::string db = "sqlite:" + dir + "/custodian.db";
  // Rounds on a loaded two-core machine (60 agents, 6 landmarks, the emulator) can take two or
  // three intervals, so the demo's windows leave room for that.
  const int stale_after_s = 5 * o.interval_s;
  const int inconclusive_window_s = 2 * o.interval_s;
  Processes procs;
  FleetDemoResult result;

  // --- the registry ------------------------------------------------------------------------
  {
    auto init = Subprocess::Spawn({self, "admin", "init", "--db", db}, false, true);
    if (!init.ok()) return init.status();
    std::string out = init->ReadAll();
    if (init->Wait() != 0) return Status::Internal("admin init failed: " + out);
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) result.admin_token = line;
    }
  }
  auto serve = SpawnLogged({self, "serve", "--db", db, "--listen", o.listen, "--stale-after-s",
                            std::to_string(stale_after_s), "--inconclusive-window-s",
                            std::to_string(inconclusive_window_s), "--sweep-interval-s", "2"},
                           dir + "/serve.log", false);
  if (!serve.ok()) return serve.status();
  auto listening = serve->ReadLine(20s);
  if (!listening) {
    return Status::Unavailable("custodian serve did not start on " + o.listen + " (see " + dir +
                               "/serve.log; is the port in use? set PORT)");
  }
  result.server_url = Word(*listening, 4);
  procs.list.push_back(std::move(*serve));
  client::ApiClientOptions api_options;
  api_options.base_url = result.server_url;
  api_options.token = result.admin_token;
  auto api_or = client::ApiClient::Create(api_options);
  if (!api_or.ok()) return api_or.status();
  client::ApiClient& api = **api_or;
  std::printf("Custodian demo: registry %s on SQLite (%s/custodian.db)\n",
              result.server_url.c_str(), dir.c_str());

  // --- the fleet: who is where ---------------------------------------------------------------
  std::vector<AgentSpec> agents;
  for (const auto& site : Sites()) {
    for (int i = 1; i <= o.nodes_per_site; ++i) {
      AgentSpec a;
      a.name = std::string(site.id) + "-" + (i < 10 ? "0" : "") + std::to_string(i);
      a.site = site.id;
      // Racks spread over a few kilometres around the site.
      a.true_lat = site.lat_deg + 0.01 * (i % 3);
      a.true_lon = site.lon_deg + 0.01 * (i % 4);
      a.true_place = site.city;
      a.group = Group::kHonest;
      agents.push_back(a);
    }
  }
  // The first Johor node's key is copied to Frankfurt; the last Sydney node goes dark.
  int original = -1;
  for (size_t i = 0; i < agents.size(); ++i) {
    if (agents[i].site == "my-johor" && original < 0) {
      original = int(i);
      agents[i].group = Group::kCloneOriginal;
    }
  }
  const size_t dark = agents.size() - 1;
  agents[dark].group = Group::kDark;
  const struct {
    const char* name;
    const char* site;
    double lat, lon;
    const char* place;
  } kDiverted[] = {{"my-johor-x1", "my-johor", 22.5431, 114.0579, "Shenzhen"},
                   {"my-johor-x2", "my-johor", 22.6100, 114.0300, "Shenzhen"},
                   {"sg-tuas-x1", "sg-tuas", 39.9042, 116.4074, "Beijing"}};
  for (const auto& d : kDiverted) {
    AgentSpec a;
    a.name = d.name;
    a.site = d.site;
    a.true_lat = d.lat;
    a.true_lon = d.lon;
    a.true_place = d.place;
    a.group = Group::kDiverted;
    agents.push_back(a);
  }
  {
    AgentSpec copy = agents[original];
    copy.group = Group::kCloneCopy;
    copy.key_of = original;
    copy.true_lat = 50.1188;
    copy.true_lon = 8.6843;
    copy.true_place = "Frankfurt";
    agents.push_back(copy);
  }

  // --- keys, ports and the distance emulator ----------------------------------------------------
  std::vector<std::string> landmark_addrs, landmark_pubs;
  for (const auto& l : kLandmarks) {
    auto key = GenerateKeyFile(dir + "/" + l.id + ".key");
    if (!key.ok()) return key.status();
    landmark_pubs.push_back(Base64Encode(key->public_key()));
    auto port = FreeUdpPort();
    if (!port.ok()) return port.status();
    landmark_addrs.push_back("127.0.0.1:" + std::to_string(*port));
  }
  for (auto& a : agents) {
    if (a.key_of >= 0) {
      a.key_file = agents[a.key_of].key_file;
      continue;
    }
    a.key_file = dir + "/" + a.name + ".key";
    auto key = GenerateKeyFile(a.key_file);
    if (!key.ok()) return key.status();
    a.node_id = HexEncode(proto::DeriveNodeId(key->public_key()));
  }
  for (auto& a : agents) {
    if (a.key_of >= 0) a.node_id = agents[a.key_of].node_id;
  }
  // Routes: every agent to every landmark, and every landmark to every other (cross-checks).
  json routes = json::array();
  struct RouteUse {
    int agent = -1, from_landmark = -1, landmark = -1;
  };
  std::vector<RouteUse> uses;
  for (size_t a = 0; a < agents.size(); ++a) {
    for (size_t l = 0; l < std::size(kLandmarks); ++l) {
      routes.push_back({{"name", agents[a].name + (agents[a].key_of >= 0 ? "-copy" : "") + "->" +
                                     kLandmarks[l].id},
                        {"listen", "127.0.0.1:0"},
                        {"forward", landmark_addrs[l]},
                        {"delay_ms", OneWayDelayMs(agents[a].true_lat, agents[a].true_lon,
                                                   kLandmarks[l].lat_deg, kLandmarks[l].lon_deg)}});
      uses.push_back({int(a), -1, int(l)});
    }
  }
  for (size_t from = 0; from < std::size(kLandmarks); ++from) {
    for (size_t to = 0; to < std::size(kLandmarks); ++to) {
      if (from == to) continue;
      routes.push_back(
          {{"name", std::string(kLandmarks[from].id) + "->" + kLandmarks[to].id},
           {"listen", "127.0.0.1:0"},
           {"forward", landmark_addrs[to]},
           {"delay_ms", OneWayDelayMs(kLandmarks[from].lat_deg, kLandmarks[from].lon_deg,
                                      kLandmarks[to].lat_deg, kLandmarks[to].lon_deg)}});
      uses.push_back({-1, int(from), int(to)});
    }
  }
  CUSTODIAN_RETURN_IF_ERROR(WriteFileAtomic(dir + "/routes.json", routes.dump(1), 0644));
  auto netem =
      SpawnLogged({self, "netem", "--routes", dir + "/routes.json"}, dir + "/netem.log", false);
  if (!netem.ok()) return netem.status();
  std::vector<std::vector<std::string>> landmark_via(std::size(kLandmarks));
  for (const RouteUse& use : uses) {
    auto line = netem->ReadLine(20s);
    if (!line) return Status::Unavailable("netem did not start (see " + dir + "/netem.log)");
    std::string via = std::string(kLandmarks[use.landmark].id) + "=" + Word(*line, 1);
    if (use.agent >= 0) {
      agents[use.agent].via.push_back(via);
    } else {
      landmark_via[use.from_landmark].push_back(via);
    }
  }
  procs.list.push_back(std::move(*netem));
  std::printf(
      "distance emulator: %zu routes, one-way delay = great-circle distance / (2/3 c) x "
      "%.1f\n",
      uses.size(), kPathInflation);

  // --- registration through the API, as an admin would ------------------------------------------
  std::set<std::string> operators;
  auto add_operator = [&](const std::string& id) -> Status {
    if (!operators.insert(id).second) return Status::Ok();
    return api.Post("/v1/operators", {{"id", id}, {"name", id}}).status();
  };
  int64_t now_ms = RealtimeNs() / 1'000'000;
  for (size_t l = 0; l < std::size(kLandmarks); ++l) {
    const Place& p = kLandmarks[l];
    CUSTODIAN_RETURN_IF_ERROR(add_operator(p.operator_id));
    CUSTODIAN_RETURN_IF_ERROR(api.Post("/v1/landmarks", {{"id", p.id},
                                                         {"operator", p.operator_id},
                                                         {"lat", p.lat_deg},
                                                         {"lon", p.lon_deg},
                                                         {"country", p.country},
                                                         {"public_key", landmark_pubs[l]},
                                                         {"address", landmark_addrs[l]}})
                                  .status());
  }
  for (const auto& s : Sites()) {
    CUSTODIAN_RETURN_IF_ERROR(add_operator(s.operator_id));
    CUSTODIAN_RETURN_IF_ERROR(api.Post("/v1/sites", {{"id", s.id},
                                                     {"operator", s.operator_id},
                                                     {"name", std::string(s.city) + " data hall"},
                                                     {"lat", s.lat_deg},
                                                     {"lon", s.lon_deg},
                                                     {"country", s.country},
                                                     {"licensed", s.licensed}})
                                  .status());
    CUSTODIAN_RETURN_IF_ERROR(
        api.Post("/v1/licences",
                 {{"id", std::string("lic-") + s.id},
                  {"operator", s.operator_id},
                  {"site", s.id},
                  {"countries", s.licensed},
                  {"valid_from", FormatUtc((now_ms - 86'400'000) * 1'000'000)},
                  {"valid_until", FormatUtc((now_ms + 365 * 86'400'000LL) * 1'000'000)}})
            .status());
  }
  // Landmarks start after registration, with a token to submit their cross-checks.
  for (size_t l = 0; l < std::size(kLandmarks); ++l) {
    const Place& p = kLandmarks[l];
    auto token = api.Post("/v1/tokens", {{"role", "landmark"}, {"landmark", p.id}});
    if (!token.ok()) return token.status();
    std::string token_file = dir + "/" + p.id + ".token";
    CUSTODIAN_RETURN_IF_ERROR(
        WriteFileAtomic(token_file, (*token)["token"].get<std::string>(), 0600));
    std::vector<std::string> argv = {self,
                                     "landmark",
                                     "--id",
                                     p.id,
                                     "--lat",
                                     Fixed(p.lat_deg, 4),
                                     "--lon",
                                     Fixed(p.lon_deg, 4),
                                     "--key",
                                     dir + "/" + p.id + ".key",
                                     "--listen",
                                     landmark_addrs[l],
                                     "--server",
                                     result.server_url,
                                     "--token-file",
                                     token_file,
                                     "--crosscheck-interval",
                                     std::to_string(o.crosscheck_interval_s)};
    for (const auto& v : landmark_via[l]) {
      argv.push_back("--via");
      argv.push_back(v);
    }
    auto proc = SpawnLogged(argv, dir + "/" + p.id + ".log", false);
    if (!proc.ok()) return proc.status();
    auto line = proc->ReadLine(20s);
    if (!line) return Status::Unavailable(std::string("landmark ") + p.id + " did not start");
    procs.list.push_back(std::move(*proc));
    std::printf("landmark %-6s %-13s (%8.4f, %9.4f) %s\n", p.id, p.city, p.lat_deg, p.lon_deg,
                landmark_addrs[l].c_str());
  }

  // --- enrolment: a single-use token per node, then the node enrols itself -------------------
  auto open_api = client::ApiClient::Create({result.server_url, "", "", false, 5000, 30000});
  if (!open_api.ok()) return open_api.status();
  for (size_t i = 0; i < agents.size(); ++i) {
    AgentSpec& a = agents[i];
    a.token_file = dir + "/" + a.name + ".token";
    a.gpus_file = dir + "/" + a.name + ".gpus.json";
    if (a.key_of >= 0) continue;  // the copy reuses the original's token and GPU list
    auto enrolment = api.Post("/v1/enrolments", {{"site", a.site}});
    if (!enrolment.ok()) return enrolment.status();
    json gpus = json::array();
    for (int g = 0; g < 2; ++g) {
      gpus.push_back({{"uuid", "GPU-" + a.node_id.substr(0, 8) + "-" + std::to_string(g) +
                                   "000-4000-8000-" + a.node_id.substr(20, 12)},
                      {"serial", "1654" + a.node_id.substr(8, 8) + std::to_string(g)},
                      {"model", "NVIDIA H100 80GB HBM3"}});
    }
    auto key = LoadKeyFile(a.key_file);
    if (!key.ok()) return key.status();
    auto enrolled = (*open_api)->Post("/v1/nodes", {{"enrolment_token", (*enrolment)["token"]},
                                                    {"public_key", Base64Encode(key->public_key())},
                                                    {"name", a.name},
                                                    {"gpus", gpus}});
    if (!enrolled.ok()) return enrolled.status();
    CUSTODIAN_RETURN_IF_ERROR(
        WriteFileAtomic(a.token_file, (*enrolled)["token"].get<std::string>(), 0600));
    CUSTODIAN_RETURN_IF_ERROR(WriteFileAtomic(a.gpus_file, gpus.dump(), 0600));
  }

  // --- agents ------------------------------------------------------------------------------------
  std::map<size_t, size_t> dark_process;  // agent index -> index in procs.list
  for (size_t i = 0; i < agents.size(); ++i) {
    const AgentSpec& a = agents[i];
    std::string tag = a.name + (a.key_of >= 0 ? "-copy" : "");
    std::vector<std::string> argv = {self,
                                     "agent",
                                     "run",
                                     "--server",
                                     result.server_url,
                                     "--token-file",
                                     a.token_file,
                                     "--key",
                                     a.key_file,
                                     "--gpus-file",
                                     a.gpus_file,
                                     "--spool",
                                     dir + "/spool-" + tag,
                                     "--interval",
                                     std::to_string(o.interval_s),
                                     "--samples",
                                     std::to_string(o.samples),
                                     "--max-landmarks",
                                     std::to_string(std::size(kLandmarks))};
    for (const auto& v : a.via) {
      argv.push_back("--via");
      argv.push_back(v);
    }
    auto proc = SpawnLogged(argv, dir + "/agent-" + tag + ".log", true);
    if (!proc.ok()) return proc.status();
    if (a.group == Group::kDark) dark_process[i] = procs.list.size();
    procs.list.push_back(std::move(*proc));
  }
  std::printf(
      "fleet: %zu agents — %d honest nodes at each of %zu sites (Singapore, Johor, Tokyo, "
      "Frankfurt, Ashburn, Sydney); 2 nodes truly in Shenzhen enrolled at my-johor; 1 node truly "
      "in Beijing enrolled at sg-tuas; the key of %s copied to a server in Frankfurt; %s goes "
      "dark after its first round.\n",
      agents.size(), o.nodes_per_site, Sites().size(), agents[original].name.c_str(),
      agents[dark].name.c_str());
  std::printf("agents measure all 6 landmarks every %d s (%d challenges each); logs in %s\n\n",
              o.interval_s, o.samples, dir.c_str());

  // --- let it run
  // ------------------------------------------------------------------------------------
  bool dark_stopped = false;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 5; t <= o.run_s; t += 5) {
    if (!SleepFor(start + std::chrono::seconds(t) - std::chrono::steady_clock::now() > 0ms
                      ? std::chrono::duration_cast<std::chrono::milliseconds>(
                            start + std::chrono::seconds(t) - std::chrono::steady_clock::now())
                      : 0ms,
                  stop)) {
      break;
    }
    if (!dark_stopped) {
      // The dark node stops once it has attested at least once.
      auto node = api.Get("/v1/nodes/" + agents[dark].node_id);
      if (node.ok() && !(*node)["last_attestation"].is_null()) {
        procs.list[dark_process.at(dark)].Signal(SIGKILL);
        dark_stopped = true;
        std::printf("t=%2ds  the agent of %s stops answering (powered off, or moved)\n", t,
                    agents[dark].name.c_str());
      }
    }
    auto fleet = api.Get("/v1/fleet/sites");
    auto alerts = api.Get("/v1/alerts?status=open");
    if (fleet.ok() && alerts.ok()) {
      const json& tot = (*fleet)["totals"];
      std::printf(
          "t=%2ds  chips: %3lld verified, %2lld inconclusive, %2lld violation, %2lld stale, %2lld "
          "not yet attested; open alerts: %zu\n",
          t, (long long)tot["verified"].get<int64_t>(),
          (long long)tot["inconclusive"].get<int64_t>(), (long long)tot["violation"].get<int64_t>(),
          (long long)tot["stale"].get<int64_t>(), (long long)tot["never"].get<int64_t>(),
          (*alerts)["alerts"].size());
      std::fflush(stdout);
    }
  }
  if (stop.load()) return result;

  // --- the summary
  // ---------------------------------------------------------------------------------
  auto fleet = api.Get("/v1/fleet/sites");
  auto nodes = api.Get("/v1/nodes");
  auto alerts = api.Get("/v1/alerts?status=open");
  if (!fleet.ok()) return fleet.status();
  if (!nodes.ok()) return nodes.status();
  if (!alerts.ok()) return alerts.status();
  std::printf("\nFleet by site (GET /v1/fleet/sites):\n");
  std::printf("  %-14s %-20s %5s %9s %13s %10s %6s %6s %7s\n", "site", "operator", "chips",
              "verified", "inconclusive", "violation", "stale", "never", "alerts");
  for (const auto& s : (*fleet)["sites"]) {
    std::printf("  %-14s %-20s %5lld %9lld %13lld %10lld %6lld %6lld %7lld\n",
                s["site"].get<std::string>().c_str(), s["operator"].get<std::string>().c_str(),
                (long long)s["chips"].get<int64_t>(), (long long)s["verified"].get<int64_t>(),
                (long long)s["inconclusive"].get<int64_t>(),
                (long long)s["violation"].get<int64_t>(), (long long)s["stale"].get<int64_t>(),
                (long long)s["never"].get<int64_t>(), (long long)s["alerts_open"].get<int64_t>());
  }
  std::map<std::string, std::string> kind_by_node, name_by_node;
  for (const auto& n : (*nodes)["nodes"]) {
    name_by_node[n["id"]] = n["name"];
    kind_by_node[n["id"]] = n["last_kind"].is_string() ? n["last_kind"].get<std::string>() : "none";
  }
  std::map<std::string, std::set<std::string>> alerts_by_node;
  for (const auto& a : (*alerts)["alerts"]) {
    if (a["node"].is_string()) alerts_by_node[a["node"]].insert(a["kind"].get<std::string>());
  }
  std::printf("\nLatest verdict per node, by what the node really is:\n");
  bool ok = true;
  json groups = json::object();
  for (const auto& a : agents) {
    if (a.key_of >= 0) continue;
    const std::string& kind = kind_by_node[a.node_id];
    json& group = groups[GroupName(a.group)];
    group[kind] = (group.is_object() && group.contains(kind) ? group[kind].get<int>() : 0) + 1;
    const auto& node_alerts = alerts_by_node[a.node_id];
    if (a.group == Group::kHonest && kind != "verified") {
      ok = false;
      std::printf("  UNEXPECTED: honest node %s is %s\n", a.name.c_str(), kind.c_str());
    }
    if (a.group == Group::kDiverted) {
      bool caught = (kind == "violation" || kind == "inconclusive") &&
                    (node_alerts.count("violation") || node_alerts.count("inconclusive"));
      ok = ok && caught;
      std::string alert_list;
      for (const auto& k : node_alerts) alert_list += (alert_list.empty() ? "" : ", ") + k;
      std::printf("  %-14s truly in %-9s claims %-9s -> %-12s alerts: %s\n", a.name.c_str(),
                  a.true_place.c_str(), a.site.c_str(), kind.c_str(),
                  alert_list.empty() ? "none yet" : alert_list.c_str());
    }
    if (a.group == Group::kDark) {
      ok = ok && node_alerts.count("stale");
      std::printf("  %-14s went dark          -> %s\n", a.name.c_str(),
                  node_alerts.count("stale") ? "stale alert raised" : "no stale alert yet");
    }
  }
  for (const auto& [group, kinds] : groups.items()) {
    std::string counts;
    for (const auto& [kind, n] : kinds.items()) {
      counts += (counts.empty() ? "" : ", ") + std::to_string(n.get<int>()) + " " + kind;
    }
    std::printf("  %-13s nodes: %s\n", group.c_str(), counts.c_str());
  }
  std::printf("\nOpen alerts (GET /v1/alerts?status=open):\n");
  for (const auto& a : (*alerts)["alerts"]) {
    std::string subject =
        a["node"].is_string()       ? "node " + name_by_node[a["node"].get<std::string>()]
        : a["landmark"].is_string() ? "landmark " + a["landmark"].get<std::string>()
                                    : "";
    std::printf("  #%-4lld %-20s %-18s %s\n", (long long)a["id"].get<int64_t>(),
                a["kind"].get<std::string>().c_str(), subject.c_str(),
                a["reason"].get<std::string>().c_str());
  }
  const AgentSpec& orig = agents[original];
  bool clone_caught = alerts_by_node[orig.node_id].count("cloned-key") > 0;
  ok = ok && clone_caught;
  if (clone_caught) {
    std::printf(
        "\nCLONED KEY: the key of node %s (%s, enrolled at %s) answered from two places at once "
        "— Johor and Frankfurt — farther apart than light travels between its answers.\n",
        orig.name.c_str(), orig.node_id.c_str(), orig.site.c_str());
  } else {
    std::printf("\nThe copied key of node %s has not been caught yet.\n", orig.name.c_str());
  }
  std::printf(
      "\nVerdict kinds: verified = proven inside the licensed zone and outside restricted "
      "territory; inconclusive = not provable (with the reason and numbers); violation = "
      "physics contradicts the claim.\n");
  result.expectations_met = ok;
  result.summary = {{"fleet", *fleet},
                    {"groups", groups},
                    {"alerts", (*alerts)["alerts"]},
                    {"clone_detected", clone_caught},
                    {"expectations_met", ok}};
  std::printf("%s\n", ok ? "Every expectation met: honest nodes verified, diverted nodes caught, "
                           "the copied key detected, the dark node stale."
                         : "Not every expectation was met yet (see above).");
  if (!o.lists_dir.empty()) {
    auto screened = ScreenDemoCustomers(o.lists_dir, dir + "/custodian.db", api);
    if (screened.ok()) {
      result.summary["screening"] = *screened;
    } else {
      std::printf("\nScreening skipped: %s\n", screened.status().message().c_str());
    }
  }
  // Everything above is also in the transparency log: show its checkpoint and how to audit it.
  {
    // The integrator runs every second: give it one to take in the last alerts.
    std::this_thread::sleep_for(1500ms);
    httplib::Client http(result.server_url);
    auto checkpoint = http.Get("/log/checkpoint");
    auto vkey = http.Get("/log/vkey");
    if (checkpoint && checkpoint->status == 200 && vkey && vkey->status == 200) {
      std::string vkey_line = vkey->body.substr(0, vkey->body.find('\n'));
      std::printf(
          "\nTransparency log (every verdict, licence, enrolment and alert above is an entry), "
          "checkpoint at %s/log/checkpoint:\n%s\nAudit it (signature, tiles, consistency):\n"
          "  build/custodian log verify --url %s --vkey %s --full\n",
          result.server_url.c_str(), checkpoint->body.c_str(), result.server_url.c_str(),
          vkey_line.c_str());
      result.summary["log_checkpoint"] = checkpoint->body;
      result.summary["log_vkey"] = vkey_line;
    } else {
      std::printf("\nTransparency log: no checkpoint served (see serve.log)\n");
    }
  }
  if (!o.keep_running) return result;

  std::printf(
      "\nThe registry keeps running at %s until Ctrl-C. Admin token:\n  %s\nTry:\n"
      "  curl -s -H \"Authorization: Bearer %s\" %s/v1/fleet/sites\n"
      "  build/custodian alerts --server %s --token-file %s/admin.token\n"
      "  build/custodian api GET /v1/chips --server %s --token-file %s/admin.token\n",
      result.server_url.c_str(), result.admin_token.c_str(), result.admin_token.c_str(),
      result.server_url.c_str(), result.server_url.c_str(), dir.c_str(), result.server_url.c_str(),
      dir.c_str());
  (void)WriteFileAtomic(dir + "/admin.token", result.admin_token, 0600);
  std::fflush(stdout);
  while (!stop.load()) std::this_thread::sleep_for(100ms);
  return result;
}

}  // namespace custodian::sim
