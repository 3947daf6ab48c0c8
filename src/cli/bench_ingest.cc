// custodian bench ingest — how many attestation bundles per second the registry takes in over
// HTTP, and how long each takes, on SQLite and on PostgreSQL (docs/performance.md, "Registry
// ingest"). Target (issue): ≥ 2,000 bundles/s on SQLite with p99 < 50 ms on the 2-core machine.
//
// For each database, on a fresh, empty one:
//   1. `custodian serve` as a child process (this binary), `custodian admin init`, and through
//      the API: 5 landmarks (Singapore, Kuala Lumpur, Jakarta, Bangkok, Sydney — the set of the
//      verdict benchmark, bench/geo_bench.cc), one site in Singapore with its licence, K nodes
//      enrolled with single-use enrolment tokens, G GPUs each;
//   2. every bundle built and signed BEFORE the clock starts: 5 receipts signed with the
//      landmarks' own keys (this process holds them), 16 samples each at 1.2x the physical
//      minimum RTT for the site, fresh random transcript hashes (nothing is a replay);
//   3. (a) the HTTP floor: GET /healthz over C keep-alive connections (HTTP plus a trivial
//      database read) — what HTTP alone costs;
//   4. the measurement: POST /v1/attestations over C keep-alive connections from C threads (one
//      httplib::Client each; each connection carries its own nodes' bundles, in order);
//      every response must be 201 with a verdict per chip;
//   5. the check that it measured the right thing, through the API: every attestation id
//      answered is distinct and can be read back, the chips' verdict histories hold N·G verdicts,
//      and the server's counters say N accepted and none refused;
//   6. (b) the same bundles into Registry::SubmitAttestation called directly from C threads, on
//      another fresh database of the same kind — what ingest costs without HTTP.
// Ratios: HTTP ingest / in-process ingest, and bundles/s / 2,000 (the target).
//
// Beside each measurement, where the CPU went while it ran: CPU ms per request in this process
// (the client threads, or the registry itself in phase 6), in `custodian serve`, and in our
// private PostgreSQL server; the share of both CPUs that was busy with them, and the share that
// other processes on the machine took (a run where that is not near 0 measured a busy machine).
//
// Receipt times: a node attests once per --interval-s (the agent's default, 60 s), so bundle j
// of a node whose last bundle is now ends (B-1-j)·interval earlier. That gives the cloned-key
// check the history it has in steady state (none of this key's receipts within light's reach);
// --interval-s 0 dates every bundle now, the worst case for that check.
#include "cli/bench_ingest.h"

#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <latch>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/bench_machine.h"
#include "cli/bench_postgres.h"
#include "cli/command.h"
#include "cli/geo_inputs.h"
#include "client/api_client.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/subprocess.h"
#include "geo/geodesic.h"
#include "geo/policy.h"
#include "gpu/nvml.h"
#include "proto/receipt.h"
#include "proto/wire.h"
#include "registry/registry.h"
#include "store/database.h"

namespace custodian::cli {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr double kTargetBundlesPerS = 2000;
constexpr double kTargetP99Ms = 50;
constexpr int kSamplesPerReceipt = 16;       // the landmark's default session (DESIGN §4)
constexpr double kRttOverPhysicalMin = 1.2;  // as in the verdict benchmark
// Receipts older than this are refused by the registry (RegistryOptions::max_receipt_age_s);
// the oldest simulated bundle must stay well inside it for the whole run.
constexpr int64_t kMaxReceiptAgeS = 86400;
constexpr int64_t kRunMarginS = 3 * 3600;

struct Place {
  const char* id;
  const char* operator_id;
  const char* country;
  double lat, lon;
};

// The site and landmarks of the verdict benchmark (bench/geo_bench.cc): a data centre in
// Jurong, Singapore, and five landmarks of five operators.
constexpr Place kSite = {"sg-jurong", "dc-sg", "SG", 1.2966, 103.7764};
constexpr Place kLandmarks[] = {
    {"SIN-1", "lm-sg", "SG", 1.3521, 103.8198},   {"KUL-1", "lm-my", "MY", 3.1390, 101.6869},
    {"CGK-1", "lm-id", "ID", -6.2088, 106.8456},  {"BKK-1", "lm-th", "TH", 13.7563, 100.5018},
    {"SYD-1", "lm-au", "AU", -33.8688, 151.2093},
};
constexpr int kLandmarkCount = 5;
const std::vector<std::string> kLicensed = {"SG", "MY", "ID"};

struct Options {
  std::string db = "both";
  std::string pg_url;
  int bundles = 20000;
  int connections = 8;
  int nodes = 200;
  int gpus_per_node = 8;
  int64_t interval_s = 60;
  int server_threads = 0;
  bool json = false;
  pid_t postmaster = -1;  // set per run: our private PostgreSQL server, for its CPU time
};

// ---- the fleet and its bundles, built before anything is timed ----------------------------

struct Node {
  SigningKey key = SigningKey::Generate();
  std::vector<std::string> gpus;
  std::string id;  // hex of the derived node id
  Sha256Digest chipset{};
};

struct Fixture {
  std::vector<SigningKey> landmark_keys;
  std::vector<Node> nodes;
  std::vector<std::string> bodies;  // bundle i is for node i % nodes.size()
  double build_s = 0;
  size_t body_bytes = 0;
};

std::string GpuUuid(int node, int gpu) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "GPU-%08x-%04x-4000-8000-%012x", unsigned(node), unsigned(gpu),
                unsigned(node * 64 + gpu));
  return buf;
}

json MakeReceipt(const Place& l, const SigningKey& landmark_key, const Node& node,
                 int64_t min_rtt_ns, int64_t end_ms, std::mt19937_64& rng) {
  proto::Receipt r;
  r.landmark_id = l.id;
  r.landmark_lat = l.lat;
  r.landmark_lon = l.lon;
  r.landmark_pub = landmark_key.public_key();
  r.node_pub = node.key.public_key();
  r.node_id = proto::DeriveNodeId(r.node_pub);
  r.chipset_hash = node.chipset;
  r.session = rng();
  r.time_utc = FormatUtc(end_ms * 1'000'000);
  r.samples_requested = kSamplesPerReceipt;
  std::uniform_int_distribution<int64_t> extra(0, 200'000);
  size_t at_min = size_t(rng() % kSamplesPerReceipt);
  for (size_t s = 0; s < size_t(kSamplesPerReceipt); ++s) {
    r.samples_ns.push_back(s == at_min ? min_rtt_ns : min_rtt_ns + 1 + extra(rng));
  }
  r.min_rtt_ns = min_rtt_ns;
  // Unique per receipt: the registry refuses a transcript hash it has seen (replay).
  RandomBytes(r.transcript_hash.data(), r.transcript_hash.size());
  proto::SignReceipt(r, landmark_key);
  return proto::ReceiptToJson(r);
}

Fixture BuildFixture(const Options& o) {
  auto start = SteadyClock::now();
  Fixture f;
  for (int k = 0; k < kLandmarkCount; ++k) f.landmark_keys.push_back(SigningKey::Generate());
  f.nodes.resize(size_t(o.nodes));
  for (int n = 0; n < o.nodes; ++n) {
    Node& node = f.nodes[size_t(n)];
    std::vector<gpu::GpuIdentity> identities;
    for (int g = 0; g < o.gpus_per_node; ++g) {
      node.gpus.push_back(GpuUuid(n, g));
      gpu::GpuIdentity id;
      id.uuid = node.gpus.back();
      identities.push_back(id);
    }
    node.chipset = gpu::ChipSetHash(identities);
    node.id = HexEncode(proto::DeriveNodeId(node.key.public_key()));
  }
  // Physical minimum RTT from the site to each landmark (light, there and back).
  double min_ns[kLandmarkCount];
  for (int k = 0; k < kLandmarkCount; ++k) {
    double d_km =
        geo::GeodesicDistanceKm(kSite.lat, kSite.lon, kLandmarks[k].lat, kLandmarks[k].lon);
    min_ns[k] = 2 * d_km / proto::kSpeedOfLightKmPerS * 1e9;
  }
  const int64_t now_ms = RealtimeNs() / 1'000'000;
  const size_t total = size_t(o.bundles), nodes = size_t(o.nodes);
  f.bodies.resize(total);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(0x5eed + t);
      std::uniform_real_distribution<double> jitter(1.0, 1.05);
      for (size_t i = t; i < total; i += threads) {
        const size_t n = i % nodes;
        const Node& node = f.nodes[n];
        const int64_t round = int64_t(i / nodes);
        const int64_t rounds = int64_t((total - n + nodes - 1) / nodes);  // this node's bundles
        const int64_t end_ms = now_ms - (rounds - 1 - round) * o.interval_s * 1000;
        json receipts = json::array();
        for (int k = 0; k < kLandmarkCount; ++k) {
          // The agent measures the landmarks one after the other, a second apart.
          int64_t rtt = int64_t(kRttOverPhysicalMin * min_ns[k] * jitter(rng)) + 1;
          receipts.push_back(MakeReceipt(kLandmarks[k], f.landmark_keys[size_t(k)], node, rtt,
                                         end_ms - (kLandmarkCount - 1 - k) * 1000, rng));
        }
        f.bodies[i] = json{{"node", node.id}, {"gpus", node.gpus}, {"receipts", receipts}}.dump();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (const auto& b : f.bodies) f.body_bytes += b.size();
  f.build_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return f;
}

// Which bundles each connection (thread) sends: the bundles of its own nodes, in order, so a
// node's bundles never race each other (an agent sends one at a time).
std::vector<std::vector<size_t>> SplitByNode(const Options& o) {
  std::vector<std::vector<size_t>> work(size_t(o.connections));
  for (size_t i = 0; i < size_t(o.bundles); ++i) {
    work[(i % size_t(o.nodes)) % size_t(o.connections)].push_back(i);
  }
  return work;
}

// ---- measurements -------------------------------------------------------------------------

struct Stats {
  int64_t requests = 0;
  int64_t errors = 0;
  double wall_s = 0;
  double per_s = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  uint64_t connections = 0;  // TCP connections opened (HTTP only)
  // CPU time spent while the load ran: this process (the client threads, or the registry for
  // in-process ingest) and the server process; -1 when there is none.
  double self_cpu_s = 0, server_cpu_s = -1;
  double db_cpu_s = -1;           // the PostgreSQL server's processes, when it is ours
  double machine_busy_s = -1;     // every CPU's busy time (/proc/stat), all processes
  int64_t listen_overflows = -1;  // TcpExt ListenOverflows meanwhile (machine-wide)
  std::string first_error;

  json ToJson(bool http) const {
    json j = {{"requests", requests}, {"errors", errors}, {"wall_s", wall_s},
              {"per_s", per_s},       {"p50_ms", p50_ms}, {"p95_ms", p95_ms},
              {"p99_ms", p99_ms},     {"max_ms", max_ms}, {"mean_ms", mean_ms}};
    if (http) j["connections_opened"] = connections;
    // A full accept queue drops the SYN; the client retries after 1 s (the initial RTO).
    if (http && listen_overflows >= 0) j["listen_queue_overflows"] = listen_overflows;
    const double n = double(std::max<int64_t>(1, requests));
    j["cpu_ms_per_request_bench_process"] = self_cpu_s * 1e3 / n;
    double cpu = self_cpu_s;
    if (server_cpu_s >= 0) {
      j["cpu_ms_per_request_server"] = server_cpu_s * 1e3 / n;
      cpu += server_cpu_s;
    }
    if (db_cpu_s >= 0) {
      j["cpu_ms_per_request_postgresql"] = db_cpu_s * 1e3 / n;
      cpu += db_cpu_s;
    }
    // Share of all CPUs busy in these two processes during the run.
    const double capacity = wall_s * std::max(1u, std::thread::hardware_concurrency());
    j["cpu_utilisation"] = capacity > 0 ? cpu / capacity : 0;
    // Other processes on the machine (builds, other benchmarks) competing for the CPUs: a
    // run where this is not near 0 measured a busy machine.
    if (machine_busy_s >= 0 && capacity > 0) {
      j["other_processes_cpu_share"] = std::max(0.0, machine_busy_s - cpu) / capacity;
    }
    if (!first_error.empty()) j["first_error"] = first_error;
    return j;
  }
};

void Summarise(std::vector<int64_t> latencies_ns, Stats* s) {
  s->per_s = s->wall_s > 0 ? double(s->requests) / s->wall_s : 0;
  if (latencies_ns.empty()) return;
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto pct = [&](double p) {
    size_t rank = size_t(std::ceil(p * double(latencies_ns.size())));
    return double(latencies_ns[std::clamp<size_t>(rank, 1, latencies_ns.size()) - 1]) / 1e6;
  };
  s->p50_ms = pct(0.50);
  s->p95_ms = pct(0.95);
  s->p99_ms = pct(0.99);
  s->max_ms = double(latencies_ns.back()) / 1e6;
  double sum = 0;
  for (int64_t l : latencies_ns) sum += double(l);
  s->mean_ms = sum / double(latencies_ns.size()) / 1e6;
}

// CPU seconds (user + system) this process has used.
double SelfCpuS() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds (user + system) process `pid` has used; -1 when unknown.
double ProcessCpuS(pid_t pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  // Fields after the name start at 3 (state); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atof(f.c_str());
    if (i == 15) stime = std::atof(f.c_str());
  }
  return (utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

// CPU seconds of a PostgreSQL server: the postmaster and its children (backends, WAL writer,
// checkpointer …); -1 when unknown. Backends that exit meanwhile are not counted.
double PostgresCpuS(pid_t postmaster) {
  if (postmaster <= 0) return -1;
  double total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(text.substr(close + 2));
    std::string state;
    long ppid = 0;
    fields >> state >> ppid;
    if (std::atol(name.c_str()) != postmaster && ppid != postmaster) continue;
    double cpu = ProcessCpuS(pid_t(std::atol(name.c_str())));
    if (cpu > 0) total += cpu;
  }
  return total;
}

// The kernel's count of connections dropped because a listen queue was full; -1 if unknown.
int64_t ListenOverflows() {
  std::ifstream in("/proc/net/netstat");
  std::string names, values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind("TcpExt:", 0) != 0) continue;
    std::istringstream n(names), v(values);
    std::string name, value;
    while (n >> name && v >> value) {
      if (name == "ListenOverflows") return std::atoll(value.c_str());
    }
  }
  return -1;
}

// Busy CPU seconds of the whole machine (all CPUs, all processes) since boot; -1 if unknown.
double MachineBusyS() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu") {
    return -1;
  }
  return (user + nice + system + irq + softirq + steal) / double(::sysconf(_SC_CLK_TCK));
}

// Runs `work[t]` on thread t, all threads released at once; `call` does request i and returns
// an error message ("" for success). Latency per call, wall time from release to the last, and
// the CPU time this process and `server` (when > 0) used meanwhile.
Stats RunLoad(const std::vector<std::vector<size_t>>& work,
              const std::function<void(size_t thread)>& setup,
              const std::function<std::string(size_t thread, size_t i)>& call, pid_t server = -1,
              pid_t postmaster = -1) {
  const size_t threads = work.size();
  std::vector<std::vector<int64_t>> latencies(threads);
  std::vector<SteadyClock::time_point> finished(threads);
  std::vector<int64_t> errors(threads, 0);
  std::vector<std::string> first_error(threads);
  std::latch ready(ptrdiff_t(threads) + 1);
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      setup(t);
      latencies[t].reserve(work[t].size());
      ready.count_down();
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (size_t i : work[t]) {
        auto t0 = SteadyClock::now();
        std::string error = call(t, i);
        latencies[t].push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0).count());
        if (!error.empty()) {
          if (errors[t]++ == 0) first_error[t] = error;
        }
      }
      finished[t] = SteadyClock::now();
    });
  }
  ready.arrive_and_wait();
  const double self_cpu0 = SelfCpuS(), server_cpu0 = ProcessCpuS(server);
  const double machine0 = MachineBusyS(), db_cpu0 = PostgresCpuS(postmaster);
  const int64_t overflows0 = ListenOverflows();
  auto start = SteadyClock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  Stats s;
  s.self_cpu_s = SelfCpuS() - self_cpu0;
  if (server_cpu0 >= 0) s.server_cpu_s = ProcessCpuS(server) - server_cpu0;
  if (machine0 >= 0) s.machine_busy_s = MachineBusyS() - machine0;
  if (db_cpu0 >= 0) s.db_cpu_s = PostgresCpuS(postmaster) - db_cpu0;
  if (overflows0 >= 0) s.listen_overflows = ListenOverflows() - overflows0;
  auto last = start;
  std::vector<int64_t> all;
  for (size_t t = 0; t < threads; ++t) {
    if (!work[t].empty()) last = std::max(last, finished[t]);
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    s.errors += errors[t];
    if (s.first_error.empty()) s.first_error = first_error[t];
  }
  s.requests = int64_t(all.size());
  s.wall_s = std::chrono::duration<double>(last - start).count();
  Summarise(std::move(all), &s);
  return s;
}

// One keep-alive client per connection, as an agent would hold one (TCP_NODELAY as the
// project's ApiClient sets it); counts the TCP connections it opens.
std::unique_ptr<httplib::Client> MakeHttpClient(int port, std::atomic<uint64_t>* opened) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(10);
  c->set_read_timeout(120);
  c->set_write_timeout(60);
  c->set_socket_options([opened](socket_t) { opened->fetch_add(1); });
  return c;
}

std::string HttpError(const httplib::Result& res) {
  if (!res) return "no response: " + httplib::to_string(res.error());
  return "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300);
}

// ---- provisioning: the same operations over HTTP or on the Registry directly ---------------

class Setup {
 public:
  virtual ~Setup() = default;
  virtual Result<json> Post(const std::string& path, const json& body) = 0;
};

class HttpSetup : public Setup {
 public:
  static Result<std::unique_ptr<HttpSetup>> Create(const std::string& base_url,
                                                   const std::string& admin_token) {
    client::ApiClientOptions admin;
    admin.base_url = base_url;
    admin.token = admin_token;
    auto a = client::ApiClient::Create(admin);
    if (!a.ok()) return a.status();
    client::ApiClientOptions anonymous;
    anonymous.base_url = base_url;
    auto n = client::ApiClient::Create(anonymous);
    if (!n.ok()) return n.status();
    auto s = std::make_unique<HttpSetup>();
    s->admin_ = std::move(*a);
    s->anonymous_ = std::move(*n);
    return s;
  }
  Result<json> Post(const std::string& path, const json& body) override {
    // A new node is authenticated by the enrolment token in its body, not a bearer token.
    return path == "/v1/nodes" ? anonymous_->Post(path, body) : admin_->Post(path, body);
  }
  client::ApiClient& admin() { return *admin_; }

 private:
  std::unique_ptr<client::ApiClient> admin_, anonymous_;
};

class RegistrySetup : public Setup {
 public:
  RegistrySetup(registry::Registry& reg, registry::Caller admin) : reg_(reg), admin_(admin) {}
  Result<json> Post(const std::string& path, const json& body) override {
    if (path == "/v1/operators") return reg_.CreateOperator(admin_, body);
    if (path == "/v1/landmarks") return reg_.CreateLandmark(admin_, body);
    if (path == "/v1/sites") return reg_.CreateSite(admin_, body);
    if (path == "/v1/licences") return reg_.CreateLicence(admin_, body);
    if (path == "/v1/enrolments") return reg_.CreateEnrolment(admin_, body);
    if (path == "/v1/nodes") return reg_.EnrolNode(body);
    return Status::Internal("RegistrySetup: no route " + path);
  }

 private:
  registry::Registry& reg_;
  registry::Caller admin_;
};

// Registers the landmarks, the site and its licence, and enrols every node; returns the nodes'
// agent tokens (index-aligned with fixture.nodes).
Result<std::vector<std::string>> Provision(Setup& api, const Fixture& f) {
  std::set<std::string> operators = {kSite.operator_id};
  for (const auto& l : kLandmarks) operators.insert(l.operator_id);
  for (const auto& op : operators) {
    auto r = api.Post("/v1/operators", {{"id", op}, {"name", op + " (bench)"}});
    if (!r.ok()) return r.status().WithContext("operator " + op);
  }
  for (int k = 0; k < kLandmarkCount; ++k) {
    const Place& l = kLandmarks[k];
    auto r = api.Post("/v1/landmarks",
                      {{"id", l.id},
                       {"operator", l.operator_id},
                       {"lat", l.lat},
                       {"lon", l.lon},
                       {"country", l.country},
                       {"public_key", Base64Encode(f.landmark_keys[size_t(k)].public_key())},
                       {"address", "127.0.0.1:" + std::to_string(7000 + k)}});
    if (!r.ok()) return r.status().WithContext(std::string("landmark ") + l.id);
  }
  auto site = api.Post("/v1/sites", {{"id", kSite.id},
                                     {"operator", kSite.operator_id},
                                     {"name", "Jurong data centre (bench)"},
                                     {"lat", kSite.lat},
                                     {"lon", kSite.lon},
                                     {"country", kSite.country},
                                     {"licensed", kLicensed}});
  if (!site.ok()) return site.status().WithContext("site");
  auto licence = api.Post("/v1/licences", {{"id", std::string("lic-") + kSite.id},
                                           {"operator", kSite.operator_id},
                                           {"site", kSite.id},
                                           {"countries", kLicensed},
                                           {"valid_from", "2020-01-01T00:00:00Z"},
                                           {"valid_until", "2099-01-01T00:00:00Z"}});
  if (!licence.ok()) return licence.status().WithContext("licence");
  std::vector<std::string> tokens;
  for (const Node& node : f.nodes) {
    auto enrolment = api.Post("/v1/enrolments", {{"site", kSite.id}});
    if (!enrolment.ok()) return enrolment.status().WithContext("enrolment");
    json gpus = json::array();
    for (size_t g = 0; g < node.gpus.size(); ++g) {
      gpus.push_back({{"uuid", node.gpus[g]},
                      {"serial", "BENCH" + node.gpus[g].substr(4, 8) + std::to_string(g)},
                      {"model", "H100"}});
    }
    auto enrolled = api.Post("/v1/nodes", {{"enrolment_token", (*enrolment)["token"]},
                                           {"public_key", Base64Encode(node.key.public_key())},
                                           {"gpus", gpus}});
    if (!enrolled.ok()) return enrolled.status().WithContext("node enrolment");
    if ((*enrolled)["node"]["id"] != node.id) {
      return Status::Internal("node enrolment: the registry derived node id " +
                              (*enrolled)["node"]["id"].dump() + ", expected " + node.id);
    }
    tokens.push_back((*enrolled)["token"].get<std::string>());
  }
  return tokens;
}

// ---- the server as a child process --------------------------------------------------------

class ServeProcess {
 public:
  static Result<std::unique_ptr<ServeProcess>> Start(const std::string& dir,
                                                     const std::string& db_url, const Options& o) {
    auto s = std::unique_ptr<ServeProcess>(new ServeProcess);
    s->log_ = dir + "/serve.log";
    // stderr (one log line per request) goes to a file, as a deployment's would.
    std::vector<std::string> argv = {"/bin/sh", "-c", "log=$1; shift; exec \"$@\" 2>>\"$log\"",
                                     "sh", s->log_, SelfExecutablePath(), "serve", "--db", db_url,
                                     "--listen", "127.0.0.1:0",
                                     // Receipt times span hours (--interval-s); do not let the
                                     // sweeper raise `stale` alerts for them mid-run.
                                     "--stale-after-s", std::to_string(kMaxReceiptAgeS)};
    if (o.server_threads > 0) {
      argv.push_back("--threads");
      argv.push_back(std::to_string(o.server_threads));
    }
    auto p = Subprocess::Spawn(argv);
    if (!p.ok()) return p.status();
    s->process_.emplace(std::move(*p));
    std::string line = s->process_->ReadLine(std::chrono::seconds(60)).value_or("");
    const std::string prefix = "custodian serve listening on ";
    if (line.rfind(prefix, 0) != 0) {
      return Status::Unavailable("custodian serve did not start (printed '" + line +
                                 "'); its log: " + s->LogTail());
    }
    std::string rest = line.substr(prefix.size());
    s->url_ = rest.substr(0, rest.find(' '));
    s->port_ = std::atoi(s->url_.c_str() + s->url_.rfind(':') + 1);
    if (s->port_ <= 0) return Status::Internal("cannot read the port from '" + line + "'");
    return s;
  }
  ~ServeProcess() { Stop(); }

  int port() const { return port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  const std::string& url() const { return url_; }

  // SIGTERM, then waits (at most 30 s) for the graceful exit; SIGKILL after that.
  int Stop() {
    if (!process_) return exit_code_;
    process_->Signal(SIGTERM);
    auto deadline = SteadyClock::now() + std::chrono::seconds(30);
    while (SteadyClock::now() < deadline) {
      if (!process_->ReadLine(std::chrono::milliseconds(500))) {
        if (SteadyClock::now() < deadline) break;  // EOF: it exited
      }
    }
    if (SteadyClock::now() >= deadline) process_->Signal(SIGKILL);
    exit_code_ = process_->Wait();
    process_.reset();
    return exit_code_;
  }

  std::string LogTail(size_t max = 2000) const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > max ? s.substr(s.size() - max) : s;
  }

 private:
  ServeProcess() = default;
  std::optional<Subprocess> process_;
  std::string log_, url_;
  int port_ = 0;
  int exit_code_ = -1;
};

// `custodian admin init --db URL`: the token is alone on the last line of stdout.
Result<std::string> AdminInit(const std::string& db_url) {
  auto p = Subprocess::Spawn({SelfExecutablePath(), "admin", "init", "--db", db_url});
  if (!p.ok()) return p.status();
  std::string out = p->ReadAll();
  int code = p->Wait();
  if (code != 0) return Status::Internal("admin init exited " + std::to_string(code) + ": " + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  size_t nl = out.rfind('\n');
  std::string token = nl == std::string::npos ? out : out.substr(nl + 1);
  if (token.empty()) return Status::Internal("admin init printed no token");
  return token;
}

// ---- checks -------------------------------------------------------------------------------

// What the answers to the timed requests say (read after the clock stopped).
struct AnswerCheck {
  int64_t with_verdicts = 0;  // 201/200 with a verdict for every chip
  int64_t distinct_ids = 0;
  int64_t with_alerts = 0;
  std::map<std::string, int64_t> kinds;  // overall verdict kind -> bundles
  std::vector<int64_t> ids;
  std::string problem;  // first answer that is not as expected
};

AnswerCheck CheckAnswers(const std::vector<json>& answers, size_t gpus_per_node) {
  AnswerCheck c;
  std::set<int64_t> ids;
  for (size_t i = 0; i < answers.size(); ++i) {
    const json& a = answers[i];
    bool ok = a.is_object() && a.contains("id") && a["id"].is_number_integer() &&
              a.contains("kind") && a["kind"].is_string() && a.contains("verdicts") &&
              a["verdicts"].is_array() && a["verdicts"].size() == gpus_per_node;
    if (!ok) {
      if (c.problem.empty())
        c.problem = "bundle " + std::to_string(i) + ": " + a.dump().substr(0, 300);
      continue;
    }
    ++c.with_verdicts;
    ids.insert(a["id"].get<int64_t>());
    c.ids.push_back(a["id"].get<int64_t>());
    c.kinds[a["kind"].get<std::string>()]++;
    if (a.contains("alerts") && a["alerts"].is_array() && !a["alerts"].empty()) ++c.with_alerts;
  }
  c.distinct_ids = int64_t(ids.size());
  return c;
}

int64_t MetricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::atoll(line.c_str() + name.size() + 1);
  }
  return -1;
}

// Through the API, after the run: every attestation id answered can be read back, the chips'
// verdict histories hold one verdict per chip per bundle, and the server counted N accepted.
json VerifyThroughApi(int port, HttpSetup& api, const std::string& admin_token, const Fixture& f,
                      const std::vector<int64_t>& ids, int connections, int64_t expected,
                      bool* ok) {
  json v;
  auto start = SteadyClock::now();
  std::atomic<uint64_t> opened{0};
  // Server counters.
  {
    auto c = MakeHttpClient(port, &opened);
    auto res = c->Get("/metrics", {{"Authorization", "Bearer " + admin_token}});
    if (res && res->status == 200) {
      v["metrics_attestations_total"] = MetricValue(res->body, "custodian_attestations_total");
      v["metrics_attestations_rejected_total"] =
          MetricValue(res->body, "custodian_attestations_rejected_total");
    } else {
      v["metrics_error"] = HttpError(res);
    }
  }
  // Verdict histories: one verdict per chip per bundle.
  int64_t verdicts = 0;
  std::string verdict_error;
  for (const Node& node : f.nodes) {
    for (const auto& gpu : node.gpus) {
      auto r = api.admin().Get("/v1/chips/" + client::UrlEncode(gpu) + "/verdicts?limit=10000");
      if (!r.ok()) {
        if (verdict_error.empty()) verdict_error = r.status().message();
        continue;
      }
      verdicts += int64_t((*r)["verdicts"].size());
    }
  }
  const int64_t gpus = int64_t(f.nodes.empty() ? 0 : f.nodes[0].gpus.size());
  v["chip_verdicts"] = verdicts;
  v["chip_verdicts_expected"] = expected * gpus;
  if (!verdict_error.empty()) v["chip_verdicts_error"] = verdict_error;
  // Every attestation, read back by id.
  std::vector<std::vector<size_t>> work(static_cast<size_t>(connections));
  for (size_t i = 0; i < ids.size(); ++i) work[i % work.size()].push_back(i);
  std::vector<std::unique_ptr<httplib::Client>> clients(work.size());
  const httplib::Headers auth = {{"Authorization", "Bearer " + admin_token}};
  Stats read = RunLoad(
      work, [&](size_t t) { clients[t] = MakeHttpClient(port, &opened); },
      [&](size_t t, size_t i) -> std::string {
        auto res = clients[t]->Get("/v1/attestations/" + std::to_string(ids[i]), auth);
        if (!res || res->status != 200) return HttpError(res);
        auto j = json::parse(res->body, nullptr, false);
        if (!j.is_object() || j.value("id", int64_t(-1)) != ids[i]) return "wrong attestation";
        return "";
      });
  v["attestations_read_back"] = read.requests - read.errors;
  if (!read.first_error.empty()) v["read_back_error"] = read.first_error;
  v["check_s"] = std::chrono::duration<double>(SteadyClock::now() - start).count();
  *ok = v.value("metrics_attestations_total", int64_t(-1)) == expected &&
        v.value("metrics_attestations_rejected_total", int64_t(-1)) == 0 &&
        verdicts == expected * gpus && read.requests == expected && read.errors == 0;
  v["stored_attestations_equal_bundles"] = *ok;
  return v;
}

// ---- one database -------------------------------------------------------------------------

struct Databases {
  std::string backend;                         // sqlite | postgresql
  std::function<Result<std::string>()> fresh;  // a new, empty database's URL
};

json CheckJson(const AnswerCheck& c) {
  return {{"answers_with_verdicts", c.with_verdicts},
          {"distinct_attestation_ids", c.distinct_ids},
          {"answers_with_alerts", c.with_alerts},
          {"overall_kinds", c.kinds}};
}

// Phases 1-5: serve, provision, /healthz floor, ingest over HTTP, checks.
Result<json> RunHttp(const Options& o, const Fixture& f, const std::string& db_url,
                     const std::string& dir, bool* ok) {
  auto admin_token = AdminInit(db_url);
  if (!admin_token.ok()) return admin_token.status();
  auto server = ServeProcess::Start(dir, db_url, o);
  if (!server.ok()) return server.status();
  const int port = (*server)->port();
  auto api = HttpSetup::Create((*server)->url(), *admin_token);
  if (!api.ok()) return api.status();
  auto setup_start = SteadyClock::now();
  auto tokens = Provision(**api, f);
  if (!tokens.ok()) return tokens.status().WithContext("provisioning over HTTP");
  json out;
  out["provision_s"] = std::chrono::duration<double>(SteadyClock::now() - setup_start).count();

  // (a) HTTP floor.
  std::vector<std::vector<size_t>> floor_work(size_t(o.connections));
  for (size_t i = 0; i < size_t(o.bundles); ++i) floor_work[i % floor_work.size()].push_back(i);
  std::vector<std::unique_ptr<httplib::Client>> clients(size_t(o.connections));
  std::atomic<uint64_t> opened{0};
  Stats floor = RunLoad(
      floor_work, [&](size_t t) { clients[t] = MakeHttpClient(port, &opened); },
      [&](size_t t, size_t) -> std::string {
        auto res = clients[t]->Get("/healthz");
        return res && res->status == 200 ? "" : HttpError(res);
      },
      (*server)->pid(), o.postmaster);
  floor.connections = opened.exchange(0);
  out["healthz"] = floor.ToJson(true);

  // The measurement.
  std::vector<httplib::Headers> headers;
  for (const auto& t : *tokens) headers.push_back({{"Authorization", "Bearer " + t}});
  std::vector<std::string> bodies(f.bodies.size());
  Stats ingest = RunLoad(
      SplitByNode(o), [&](size_t t) { clients[t] = MakeHttpClient(port, &opened); },
      [&](size_t t, size_t i) -> std::string {
        auto res = clients[t]->Post("/v1/attestations", headers[i % headers.size()], f.bodies[i],
                                    "application/json");
        if (!res || (res->status != 201 && res->status != 200)) return HttpError(res);
        bodies[i] = std::move(res->body);
        return "";
      },
      (*server)->pid(), o.postmaster);
  ingest.connections = opened.exchange(0);
  clients.clear();
  out["ingest"] = ingest.ToJson(true);

  // The checks (after the clock stopped).
  std::vector<json> answers(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) answers[i] = json::parse(bodies[i], nullptr, false);
  AnswerCheck answer = CheckAnswers(answers, size_t(o.gpus_per_node));
  out["answers"] = CheckJson(answer);
  if (!answer.problem.empty()) out["answers"]["first_problem"] = answer.problem;
  bool api_ok = false;
  out["api_check"] =
      VerifyThroughApi(port, **api, *admin_token, f, answer.ids, o.connections, o.bundles, &api_ok);
  *ok = ingest.errors == 0 && floor.errors == 0 && answer.with_verdicts == o.bundles &&
        answer.distinct_ids == o.bundles && api_ok;
  int code = (*server)->Stop();
  out["serve_exit_code"] = code;
  if (!*ok) out["serve_log_tail"] = (*server)->LogTail();
  return out;
}

// Phase 6: the same bundles straight into Registry::SubmitAttestation.
Result<json> RunInProcess(const Options& o, const Fixture& f, const std::string& db_url, bool* ok) {
  auto db = store::Database::Open(db_url);
  if (!db.ok()) return db.status();
  registry::RegistryOptions options;  // as `custodian serve` sets them
  options.policy = geo::DefaultPolicy();
  auto borders = Borders();
  if (!borders.ok()) return borders.status();
  options.borders = *borders;
  options.stale_after_s = kMaxReceiptAgeS;
  auto reg = registry::Registry::Open(std::move(*db), options);
  if (!reg.ok()) return reg.status();
  auto admin = (*reg)->InitAdmin();
  if (!admin.ok()) return admin.status();
  auto admin_caller = (*reg)->Authenticate((*admin)["token"].get<std::string>());
  if (!admin_caller.ok()) return admin_caller.status();
  RegistrySetup setup(**reg, *admin_caller);
  auto tokens = Provision(setup, f);
  if (!tokens.ok()) return tokens.status().WithContext("provisioning in process");
  std::vector<registry::Caller> callers;
  for (const auto& t : *tokens) {
    auto c = (*reg)->Authenticate(t);
    if (!c.ok()) return c.status();
    callers.push_back(*c);
  }
  // Bodies parsed before the clock starts (the server parses them inside its timing).
  std::vector<json> parsed(f.bodies.size());
  for (size_t i = 0; i < f.bodies.size(); ++i) parsed[i] = json::parse(f.bodies[i]);
  std::vector<json> answers(f.bodies.size());
  Stats ingest = RunLoad(
      SplitByNode(o), [](size_t) {},
      [&](size_t, size_t i) -> std::string {
        auto r = (*reg)->SubmitAttestation(callers[i % callers.size()], parsed[i]);
        if (!r.ok()) return r.status().ToString();
        answers[i] = std::move(*r);
        return "";
      },
      -1, o.postmaster);
  json out;
  out["ingest"] = ingest.ToJson(false);
  AnswerCheck answer = CheckAnswers(answers, size_t(o.gpus_per_node));
  out["answers"] = CheckJson(answer);
  if (!answer.problem.empty()) out["answers"]["first_problem"] = answer.problem;
  int64_t stored = -1;
  Status counted = (*reg)->db().InTransaction(store::TxMode::kRead, [&](store::Transaction& tx) {
    auto rows = tx.Query("SELECT COUNT(*) FROM attestations");
    if (!rows.ok()) return rows.status();
    stored = (*rows)[0].Int(0);
    return Status::Ok();
  });
  out["stored_attestations"] = counted.ok() ? json(stored) : json(counted.message());
  *ok = ingest.errors == 0 && answer.with_verdicts == o.bundles && stored == o.bundles;
  return out;
}

json RunDatabase(const Options& o, const Fixture& f, const Databases& dbs, bool* ok) {
  json out;
  out["backend"] = dbs.backend;
  char templ[] = "/tmp/custodian-bench-ingest-XXXXXX";
  if (::mkdtemp(templ) == nullptr) {
    out["error"] = "mkdtemp failed";
    return out;
  }
  const std::string dir = templ;
  bool http_ok = false, inproc_ok = false;
  auto http_db = dbs.fresh();
  if (!http_db.ok()) {
    out["error"] = http_db.status().message();
  } else {
    auto http = RunHttp(o, f, *http_db, dir, &http_ok);
    if (http.ok()) {
      out["http"] = *http;
    } else {
      out["error"] = "HTTP phase: " + http.status().message();
    }
  }
  if (!out.contains("error")) {
    auto inproc_db = dbs.fresh();
    if (!inproc_db.ok()) {
      out["error"] = inproc_db.status().message();
    } else {
      auto inproc = RunInProcess(o, f, *inproc_db, &inproc_ok);
      if (inproc.ok()) {
        out["in_process"] = *inproc;
      } else {
        out["error"] = "in-process phase: " + inproc.status().message();
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (out.contains("http") && out.contains("in_process")) {
    double http_rate = out["http"]["ingest"]["per_s"];
    double inproc_rate = out["in_process"]["ingest"]["per_s"];
    double floor_rate = out["http"]["healthz"]["per_s"];
    double p99 = out["http"]["ingest"]["p99_ms"];
    out["ratios"] = {{"http_over_in_process", inproc_rate > 0 ? http_rate / inproc_rate : 0},
                     {"http_over_healthz_floor", floor_rate > 0 ? http_rate / floor_rate : 0},
                     {"bundles_per_s_over_target", http_rate / kTargetBundlesPerS}};
    out["target"] = {{"bundles_per_s", kTargetBundlesPerS},
                     {"p99_ms", kTargetP99Ms},
                     {"throughput_met", http_rate >= kTargetBundlesPerS},
                     {"p99_met", p99 < kTargetP99Ms}};
  }
  *ok = http_ok && inproc_ok && !out.contains("error");
  return out;
}

// ---- output -------------------------------------------------------------------------------

void PrintRow(const char* what, const json& s, bool http) {
  std::printf("  %-36s %8.0f %7.2f %7.2f %7.2f %8.2f %6lld", what, s["per_s"].get<double>(),
              s["p50_ms"].get<double>(), s["p95_ms"].get<double>(), s["p99_ms"].get<double>(),
              s["max_ms"].get<double>(), (long long)s["errors"].get<int64_t>());
  if (http) {
    std::printf(" %6llu", (unsigned long long)s["connections_opened"].get<uint64_t>());
  } else {
    std::printf(" %6s", "-");
  }
  std::printf(" %7.3f", s["cpu_ms_per_request_bench_process"].get<double>());
  if (s.contains("cpu_ms_per_request_server")) {
    std::printf(" %7.3f", s["cpu_ms_per_request_server"].get<double>());
  } else {
    std::printf(" %7s", "-");
  }
  if (s.contains("cpu_ms_per_request_postgresql")) {
    std::printf(" %7.3f", s["cpu_ms_per_request_postgresql"].get<double>());
  } else {
    std::printf(" %7s", "-");
  }
  std::printf(" %4.0f%%", 100 * s["cpu_utilisation"].get<double>());
  if (s.contains("other_processes_cpu_share")) {
    std::printf(" %4.0f%%", 100 * s["other_processes_cpu_share"].get<double>());
  }
  std::printf("\n");
}

void PrintDatabase(const json& r) {
  std::printf("%s%s\n", r["backend"].get<std::string>().c_str(),
              r.contains("server") ? (" (" + r["server"].get<std::string>() + ")").c_str() : "");
  if (r.contains("http")) {
    std::printf("  %-36s %8s %7s %7s %7s %8s %6s %6s %7s %7s %7s %5s %5s\n", "", "per s", "p50 ms",
                "p95 ms", "p99 ms", "max ms", "errors", "conns", "cpu ms", "cpu ms", "cpu ms",
                "cpu", "other");
    std::printf("  %-36s %8s %7s %7s %7s %8s %6s %6s %7s %7s %7s %5s %5s\n", "", "", "", "", "", "",
                "", "", "bench", "serve", "pg", "busy", "procs");
    PrintRow("(a) HTTP floor: GET /healthz", r["http"]["healthz"], true);
    PrintRow("HTTP ingest: POST /v1/attestations", r["http"]["ingest"], true);
  }
  if (r.contains("in_process")) {
    PrintRow("(b) in-process SubmitAttestation", r["in_process"]["ingest"], false);
  }
  if (r.contains("http")) {
    const json& h = r["http"]["healthz"];
    const json& i = r["http"]["ingest"];
    std::printf(
        "  TCP connections opened: %llu for %lld /healthz, %llu for %lld ingest requests; "
        "listen-queue overflows (SYN dropped, retried after 1 s): %lld, %lld\n",
        (unsigned long long)h["connections_opened"].get<uint64_t>(),
        (long long)h["requests"].get<int64_t>(),
        (unsigned long long)i["connections_opened"].get<uint64_t>(),
        (long long)i["requests"].get<int64_t>(), (long long)h.value("listen_queue_overflows", -1),
        (long long)i.value("listen_queue_overflows", -1));
  }
  if (r.contains("ratios")) {
    const json& q = r["ratios"];
    const json& t = r["target"];
    std::printf("  HTTP ingest / in-process ingest: %.2f;  HTTP ingest / healthz floor: %.3f\n",
                q["http_over_in_process"].get<double>(),
                q["http_over_healthz_floor"].get<double>());
    std::printf(
        "  target >= %.0f bundles/s: %.0f / %.0f = %.2f -> %s;  p99 < %.0f ms: %.2f ms -> %s\n",
        kTargetBundlesPerS, r["http"]["ingest"]["per_s"].get<double>(), kTargetBundlesPerS,
        q["bundles_per_s_over_target"].get<double>(),
        t["throughput_met"].get<bool>() ? "met" : "NOT met", kTargetP99Ms,
        r["http"]["ingest"]["p99_ms"].get<double>(), t["p99_met"].get<bool>() ? "met" : "NOT met");
  }
  if (r.contains("http")) {
    const json& a = r["http"]["answers"];
    const json& c = r["http"]["api_check"];
    std::printf(
        "  check: %lld answers with a verdict per chip (kinds %s), %lld distinct ids, %lld with "
        "alerts\n",
        (long long)a["answers_with_verdicts"].get<int64_t>(), a["overall_kinds"].dump().c_str(),
        (long long)a["distinct_attestation_ids"].get<int64_t>(),
        (long long)a["answers_with_alerts"].get<int64_t>());
    std::printf(
        "  API: %lld attestations read back, %lld/%lld chip verdicts, server counted %lld "
        "accepted / %lld refused -> %s\n",
        (long long)c.value("attestations_read_back", int64_t(-1)),
        (long long)c.value("chip_verdicts", int64_t(-1)),
        (long long)c.value("chip_verdicts_expected", int64_t(-1)),
        (long long)c.value("metrics_attestations_total", int64_t(-1)),
        (long long)c.value("metrics_attestations_rejected_total", int64_t(-1)),
        c.value("stored_attestations_equal_bundles", false) ? "stored = N" : "MISMATCH");
  }
  if (r.contains("in_process")) {
    std::printf("  in-process: %s attestations stored\n",
                r["in_process"]["stored_attestations"].dump().c_str());
  }
  if (r.contains("error")) std::printf("  ERROR: %s\n", r["error"].get<std::string>().c_str());
  std::printf("\n");
}

int RunBenchIngest(const Options& o) {
  if (o.db != "sqlite" && o.db != "postgresql" && o.db != "both") {
    return Fail(
        Status::InvalidInput("--db: must be sqlite, postgresql or both, got \"" + o.db + "\""));
  }
  if (o.bundles < 1 || o.bundles > 10'000'000) {
    return Fail(Status::InvalidInput("--bundles: must be in 1..10000000"));
  }
  if (o.connections < 1 || o.connections > 256) {
    return Fail(Status::InvalidInput("--connections: must be in 1..256"));
  }
  if (o.nodes < o.connections || o.nodes > 100'000) {
    return Fail(
        Status::InvalidInput("--nodes: must be in [--connections, 100000] (each connection sends "
                             "its own nodes' bundles)"));
  }
  if (o.gpus_per_node < 1 || o.gpus_per_node > 64) {
    return Fail(Status::InvalidInput("--gpus-per-node: must be in 1..64"));
  }
  if (o.server_threads < 0 || o.server_threads > 1024) {
    return Fail(Status::InvalidInput("--server-threads: must be in 0..1024"));
  }
  const int64_t rounds = (int64_t(o.bundles) + o.nodes - 1) / o.nodes;
  if (o.interval_s < 0 || (rounds - 1) * o.interval_s > kMaxReceiptAgeS - kRunMarginS) {
    return Fail(Status::InvalidInput(
        "--interval-s: (bundles per node - 1) x interval must stay under 21 h (the registry "
        "refuses receipts older than 24 h); got " +
        std::to_string(rounds) + " bundles per node"));
  }
  std::vector<std::string> backends;
  if (o.db != "postgresql") backends.push_back("sqlite");
  if (o.db != "sqlite") backends.push_back("postgresql");

  // PostgreSQL: the given server, the test harness's, or a private one started here.
  std::unique_ptr<PrivatePostgres> private_pg;
  std::string pg_admin = o.pg_url;
  const char* env = std::getenv("CUSTODIAN_TEST_PG_URL");
  if (pg_admin.empty() && env != nullptr) pg_admin = env;
  bool own_pg = false;
  std::string pg_settings;
  if (o.db != "sqlite" && pg_admin.empty()) {
    if (!o.json) std::fprintf(stderr, "starting a private PostgreSQL server...\n");
    auto pg = PrivatePostgres::Start();
    if (!pg.ok()) return Fail(pg.status());
    private_pg = std::move(*pg);
    pg_admin = private_pg->admin_url();
    pg_settings = private_pg->settings();
    own_pg = true;
  }
  std::vector<std::string> created_pg;

  if (!o.json) std::fprintf(stderr, "building and signing %d bundles...\n", o.bundles);
  Fixture f = BuildFixture(o);

  json report;
  report["machine"] = BenchMachineFacts();
  report["config"] = {{"bundles", o.bundles},
                      {"receipts_per_bundle", kLandmarkCount},
                      {"samples_per_receipt", kSamplesPerReceipt},
                      {"connections", o.connections},
                      {"nodes", o.nodes},
                      {"gpus_per_node", o.gpus_per_node},
                      {"interval_s", o.interval_s},
                      {"server_threads", o.server_threads},
                      {"mean_body_bytes", double(f.body_bytes) / double(f.bodies.size())},
                      {"build_s", f.build_s}};
  report["results"] = json::array();
  bool all_ok = true;
  for (const auto& backend : backends) {
    Databases dbs;
    dbs.backend = backend;
    std::string sqlite_dir;
    if (backend == "sqlite") {
      char templ[] = "/tmp/custodian-bench-sqlite-XXXXXX";
      if (::mkdtemp(templ) == nullptr) return Fail(Status::IoError("mkdtemp failed"));
      sqlite_dir = templ;
      auto counter = std::make_shared<int>(0);
      dbs.fresh = [sqlite_dir, counter]() -> Result<std::string> {
        return "sqlite:" + sqlite_dir + "/bench-" + std::to_string((*counter)++) + ".db";
      };
    } else {
      dbs.fresh = [&]() -> Result<std::string> {
        auto url = CreatePostgresDatabase(pg_admin, "custodian_bench");
        if (url.ok()) created_pg.push_back(*url);
        return url;
      };
    }
    if (!o.json) std::fprintf(stderr, "running on %s...\n", backend.c_str());
    bool ok = false;
    Options run = o;
    if (backend == "postgresql" && private_pg) run.postmaster = private_pg->pid();
    json r = RunDatabase(run, f, dbs, &ok);
    if (backend == "postgresql") {
      r["server"] = "PostgreSQL " + PostgresVersion(pg_admin) +
                    (own_pg ? ", private server: " + pg_settings
                            : ", at " + store::RedactDatabaseUrl(pg_admin));
    } else {
      r["server"] = "SQLite " + std::string(sqlite3_libversion()) + ", WAL, synchronous=NORMAL";
    }
    if (!sqlite_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(sqlite_dir, ec);
    }
    all_ok = all_ok && ok;
    report["results"].push_back(r);
  }
  if (!own_pg) {
    for (const auto& url : created_pg) (void)DropPostgresDatabase(pg_admin, url);
  }

  if (o.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    const json& m = report["machine"];
    std::printf(
        "Registry ingest: %d bundles of %d receipts (%d samples each), %d nodes x %d GPUs, %d "
        "keep-alive connections,\none bundle per node every %lld s (simulated receipt times); "
        "mean body %.0f bytes; built and signed in %.1f s\n",
        o.bundles, kLandmarkCount, kSamplesPerReceipt, o.nodes, o.gpus_per_node, o.connections,
        (long long)o.interval_s, report["config"]["mean_body_bytes"].get<double>(), f.build_s);
    std::printf("machine: %u CPUs, %s, %s, %s\n\n", m["nproc"].get<unsigned>(),
                m["cpu"].get<std::string>().c_str(), m.value("kernel", "").c_str(),
                m["date_utc"].get<std::string>().c_str());
    for (const auto& r : report["results"]) PrintDatabase(r);
  }
  return all_ok ? 0 : 1;
}

}  // namespace

void AddBenchIngestCommand(CLI::App* bench) {
  auto o = std::make_shared<Options>();
  auto* ingest = bench->add_subcommand(
      "ingest",
      "Attestation ingest over HTTP keep-alive (bundles/s, p50/p95/p99) on SQLite and "
      "PostgreSQL, against GET /healthz and in-process ingest measured in the same run");
  ingest->add_option("--db", o->db, "sqlite, postgresql or both")->capture_default_str();
  ingest->add_option("--pg-url", o->pg_url,
                     "PostgreSQL server (URL of its `postgres` database; fresh databases are "
                     "created there). Default: $CUSTODIAN_TEST_PG_URL, else a private server");
  ingest->add_option("--bundles", o->bundles, "Bundles to send (5 receipts each)")
      ->capture_default_str();
  ingest
      ->add_option("--connections", o->connections,
                   "Keep-alive connections (one client thread each)")
      ->capture_default_str();
  ingest->add_option("--nodes", o->nodes, "Nodes enrolled (bundles go round-robin over them)")
      ->capture_default_str();
  ingest->add_option("--gpus-per-node", o->gpus_per_node, "GPUs per node (a verdict per chip)")
      ->capture_default_str();
  ingest
      ->add_option("--interval-s", o->interval_s,
                   "Simulated time between a node's bundles (receipt times); 0: all now")
      ->capture_default_str();
  ingest
      ->add_option("--server-threads", o->server_threads,
                   "custodian serve --threads (0: the server's default)")
      ->capture_default_str();
  ingest->add_flag("--json", o->json, "Machine-readable output");
  OnRun(ingest, [o] { return RunBenchIngest(*o); });
}

}  // namespace custodian::cli
