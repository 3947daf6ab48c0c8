// The agent and the landmark cross-checks against the real server: `custodian serve` on a temp
// SQLite database, records created with `custodian api`, `agent enrol`, a real `custodian
// landmark`, `agent run --once`; then the server killed with SIGKILL between two runs: the
// bundle is spooled, and delivered exactly once after the restart.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>
#include <tuple>

#include "support/cli_runner.h"
#include "support/server_process.h"

namespace custodian::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kGpu[] = "GPU-6f2d4c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6";

// A UDP port nobody uses right now (the landmark must be registered with its address before it
// starts, since with --server it needs its token at start).
int FreeUdpPort() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// `custodian landmark … EXTRA`, stderr merged into the captured stdout.
class Landmark {
 public:
  Landmark(const TempDir& dir, const std::string& id, double lat, double lon, int port,
           const std::vector<std::string>& extra = {}) {
    pub_ = Keygen(dir, id + ".key");
    address_ = "127.0.0.1:" + std::to_string(port);
    std::vector<std::string> argv = {
        CUSTODIAN_BINARY, "landmark",          "--id",     id,
        "--lat",          std::to_string(lat), "--lon",    std::to_string(lon),
        "--key",          dir / (id + ".key"), "--listen", address_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = Subprocess::Spawn(argv, false, /*capture_stderr=*/true);
    if (!p.ok()) {
      ADD_FAILURE() << p.status().ToString();
      return;
    }
    process_.emplace(std::move(*p));
  }
  // Waits for the address line (the process is serving after it).
  bool Ready() {
    auto line = process_->ReadLine(std::chrono::seconds(10));
    return line && line->find("listening on " + address_) != std::string::npos;
  }
  // Reads output lines until one contains `needle` (true) or `timeout` passes (false).
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout, std::string* seen) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto line = process_->ReadLine(left);
      if (!line) return false;
      *seen += *line + "\n";
      if (line->find(needle) != std::string::npos) return true;
    }
    return false;
  }
  int Stop() {
    process_->Signal(SIGTERM);
    process_->ReadAll();
    return process_->Wait();
  }
  const std::string& pub() const { return pub_; }
  const std::string& address() const { return address_; }

 private:
  std::optional<Subprocess> process_;
  std::string pub_, address_;
};

class AgentDaemonCli : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = "sqlite:" + (dir_ / "custodian.db");
    admin_ = InitAdmin(db_);
    ASSERT_FALSE(admin_.empty());
    ASSERT_TRUE(WriteFileAtomic(dir_ / "admin.token", admin_ + "\n", 0600).ok());
    server_ = std::make_unique<ServerProcess>(dir_, db_);
    ASSERT_TRUE(server_->started());
  }

  // `custodian api METHOD PATH --data BODY` as admin (or `token_file`); the parsed answer.
  json Api(const std::string& method, const std::string& path, const json& body = nullptr,
           const std::string& token_file = "") {
    std::vector<std::string> args = {"api",
                                     method,
                                     path,
                                     "--server",
                                     server_->url(),
                                     "--token-file",
                                     token_file.empty() ? dir_ / "admin.token" : token_file};
    if (!body.is_null()) {
      args.push_back("--data");
      args.push_back(body.dump());
    }
    CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << method << " " << path << ": " << r.err;
    return json::parse(r.out, nullptr, false);
  }

  // Operator, site and licence in Singapore; the landmark `id` registered at `lat, lon`.
  void CreateSite() {
    Api("POST", "/v1/operators", {{"id", "op-sg"}, {"name", "Example DC Pte. Ltd."}});
    // The site sits where the landmarks are: loopback round trips put the chip within a few
    // km of them, and a site farther away would rightly be a violation.
    Api("POST", "/v1/sites",
        {{"id", "jurong-1"},
         {"operator", "op-sg"},
         {"name", "Jurong"},
         {"lat", 1.3521},
         {"lon", 103.8198},
         {"country", "SG"},
         {"licensed", {"SG"}}});
    Api("POST", "/v1/licences",
        {{"id", "lic-1"},
         {"operator", "op-sg"},
         {"site", "jurong-1"},
         {"countries", {"SG"}},
         {"valid_from", "2020-01-01T00:00:00Z"},
         {"valid_until", "2099-01-01T00:00:00Z"}});
  }
  void RegisterLandmark(const std::string& id, double lat, double lon, const Landmark& lm) {
    Api("POST", "/v1/landmarks",
        {{"id", id},
         {"operator", "op-sg"},
         {"lat", lat},
         {"lon", lon},
         {"country", "SG"},
         {"public_key", lm.pub()},
         {"address", lm.address()}});
  }

  // Enrols node.key with one simulated GPU; returns the node id.
  std::string Enrol() {
    json enrolment = Api("POST", "/v1/enrolments", {{"site", "jurong-1"}});
    EXPECT_TRUE(enrolment.contains("token")) << enrolment;
    Keygen(dir_, "node.key");
    EXPECT_TRUE(
        WriteFileAtomic(
            dir_ / "gpus.json",
            json::array({{{"uuid", kGpu}, {"serial", "1650123456789"}, {"model", "NVIDIA H100"}}})
                .dump(),
            0644)
            .ok());
    CliResult r =
        RunCli({"agent", "enrol", "--server", server_->url(), "--enrolment-token",
                enrolment.value("token", ""), "--key", dir_ / "node.key", "--gpus-file",
                dir_ / "gpus.json", "--name", "gpu-node-1", "--token-out", dir_ / "agent.token"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m,
                                  std::regex("enrolled node ([0-9a-f]{32}) at site jurong-1 with "
                                             "1 GPU\nagent token written to ")))
        << r.out;
    EXPECT_EQ(r.out.find("cus_"), std::string::npos) << "the token went to the file only";
    EXPECT_EQ(fs::status(dir_ / "agent.token").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    return m.size() > 1 ? m[1].str() : "";
  }

  CliResult AgentOnce(const std::string& url) {
    return RunCli({"agent", "run", "--server", url, "--token-file", dir_ / "agent.token", "--key",
                   dir_ / "node.key", "--gpus-file", dir_ / "gpus.json", "--spool", dir_ / "spool",
                   "--interval", "1", "--samples", "4", "--once"});
  }

  size_t Spooled() {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_ / "spool")) {
      n += e.path().extension() == ".json" && e.path().filename() != "plan.json";
    }
    return n;
  }

  json Verdicts() { return Api("GET", std::string("/v1/chips/") + kGpu + "/verdicts")["verdicts"]; }

  TempDir dir_;
  std::string db_, admin_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(AgentDaemonCli, EnrolRunOnceStoresAnAttestation) {
  CreateSite();
  Landmark lm(dir_, "SIN-1", 1.3521, 103.8198, FreeUdpPort());
  ASSERT_TRUE(lm.Ready());
  RegisterLandmark("SIN-1", 1.3521, 103.8198, lm);
  std::string node = Enrol();
  ASSERT_EQ(node.size(), 32u);

  CliResult r = AgentOnce(server_->url());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m,
      std::regex("^round 1: measured 1/1 landmarks, attestation ([0-9A-Za-z_-]+): "
                 "(verified|inconclusive|violation)")))
      << r.out;
  json attestation = Api("GET", "/v1/attestations/" + m[1].str());
  EXPECT_EQ(attestation.value("node", ""), node) << attestation;
  EXPECT_EQ(attestation["bundle"]["receipts"].size(), 1u) << attestation;
  EXPECT_EQ(attestation["bundle"]["receipts"][0]["landmark_id"], "SIN-1");
  EXPECT_EQ(Verdicts().size(), 1u);
  EXPECT_EQ(Spooled(), 0u);

  // The agent's token is scoped to its node: it may read its plan but not the fleet.
  json plan = Api("GET", "/v1/nodes/" + node + "/plan", nullptr, dir_ / "agent.token");
  EXPECT_EQ(plan["landmarks"][0]["id"], "SIN-1") << plan;
  CliResult alerts =
      RunCli({"alerts", "--server", server_->url(), "--token-file", dir_ / "admin.token"});
  EXPECT_EQ(alerts.exit_code, 0) << alerts.err;
  EXPECT_TRUE(alerts.out == "no alerts\n" || alerts.out.rfind("ID  KIND  ", 0) == 0) << alerts.out;
  CliResult fleet =
      RunCli({"fleet", "--server", server_->url(), "--token-file", dir_ / "agent.token"});
  EXPECT_EQ(fleet.exit_code, 1);
  EXPECT_NE(fleet.err.find("HTTP 403"), std::string::npos) << fleet.err;

  // The daemon: a line per round, a clean exit on SIGTERM.
  auto daemon = Subprocess::Spawn(
      {CUSTODIAN_BINARY, "agent", "run", "--server", server_->url(), "--token-file",
       dir_ / "agent.token", "--key", dir_ / "node.key", "--gpus-file", dir_ / "gpus.json",
       "--spool", dir_ / "spool", "--interval", "1", "--samples", "2"},
      /*quiet_stderr=*/true);
  ASSERT_TRUE(daemon.ok());
  for (const char* want : {"round 1: measured 1/1 landmarks, attestation ",
                           "round 2: measured 1/1 landmarks, attestation "}) {
    auto line = daemon->ReadLine(std::chrono::seconds(15));
    ASSERT_TRUE(line.has_value()) << want;
    EXPECT_EQ(line->rfind(want, 0), 0u) << *line;
  }
  daemon->Signal(SIGTERM);
  daemon->ReadAll();
  EXPECT_EQ(daemon->Wait(), 0);
  EXPECT_GE(Verdicts().size(), 3u);
  lm.Stop();
}

TEST_F(AgentDaemonCli, ServerKilledBundleSpooledThenDeliveredExactlyOnce) {
  CreateSite();
  Landmark lm(dir_, "SIN-1", 1.3521, 103.8198, FreeUdpPort());
  ASSERT_TRUE(lm.Ready());
  RegisterLandmark("SIN-1", 1.3521, 103.8198, lm);
  ASSERT_FALSE(Enrol().empty());
  CliResult first = AgentOnce(server_->url());
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;  // and the plan is now cached

  const std::string old_url = server_->url();
  server_->Stop(SIGKILL);
  CliResult down = AgentOnce(old_url);
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_NE(down.out.find("round 1: measured 1/1 landmarks (cached plan), not delivered"),
            std::string::npos)
      << down.out;
  EXPECT_NE(down.err.find("cannot reach " + old_url), std::string::npos) << down.err;
  EXPECT_EQ(Spooled(), 1u);

  server_ = std::make_unique<ServerProcess>(dir_, db_);  // same database, new port
  ASSERT_TRUE(server_->started());
  CliResult back = AgentOnce(server_->url());
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_NE(back.out.find("resent 1 spooled"), std::string::npos) << back.out;
  EXPECT_EQ(Spooled(), 0u);
  // First run, the spooled bundle, this run: three attestations, none twice.
  json verdicts = Verdicts();
  ASSERT_EQ(verdicts.size(), 3u) << verdicts;
  std::set<std::string> attestations;
  for (const json& v : verdicts) attestations.insert(v["attestation"].dump());
  EXPECT_EQ(attestations.size(), 3u) << verdicts;
  lm.Stop();
}

TEST_F(AgentDaemonCli, BadUsageExitsTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"agent", "run", "--server", "http://127.0.0.1:1", "--key", "/nonexistent"},
           {"agent", "run", "--server", "nope", "--token", "t", "--key", "/nonexistent"},
           {"agent", "run", "--server", "http://127.0.0.1:1", "--token", "t", "--token-file", "/x",
            "--key", "/nonexistent"},
           {"agent", "run", "--server", "http://127.0.0.1:1", "--token", "t", "--key", "k", "--via",
            "SIN-1"},
           {"agent", "enrol", "--server", "http://127.0.0.1:1", "--key", "k"},
       }) {
    CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << r.err;
    EXPECT_EQ(r.err_lines(), 1u) << r.err;
  }
}

TEST_F(AgentDaemonCli, LandmarksCrossCheckEachOther) {
  CreateSite();
  // About 100 m apart: loopback round trips are consistent with that distance.
  const int p1 = FreeUdpPort(), p2 = FreeUdpPort();
  // Register first (with the keys the processes will use), then start them with their tokens.
  std::string pub1 = Keygen(dir_, "SIN-1.key");
  std::string pub2 = Keygen(dir_, "SIN-2.key");
  for (const auto& [id, pub, port, lat] :
       std::vector<std::tuple<std::string, std::string, int, double>>{
           {"SIN-1", pub1, p1, 1.3521}, {"SIN-2", pub2, p2, 1.3530}}) {
    Api("POST", "/v1/landmarks",
        {{"id", id},
         {"operator", "op-sg"},
         {"lat", lat},
         {"lon", 103.8198},
         {"country", "SG"},
         {"public_key", pub},
         {"address", "127.0.0.1:" + std::to_string(port)}});
    json token = Api("POST", "/v1/tokens", {{"role", "landmark"}, {"landmark", id}});
    ASSERT_TRUE(
        WriteFileAtomic(dir_ / (id + ".token"), token.value("token", "") + "\n", 0600).ok());
  }
  auto start = [&](const std::string& id, int port, double lat) {
    std::vector<std::string> argv = {CUSTODIAN_BINARY,
                                     "landmark",
                                     "--id",
                                     id,
                                     "--lat",
                                     std::to_string(lat),
                                     "--lon",
                                     "103.8198",
                                     "--key",
                                     dir_ / (id + ".key"),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port),
                                     "--server",
                                     server_->url(),
                                     "--token-file",
                                     dir_ / (id + ".token"),
                                     "--crosscheck-interval",
                                     "1"};
    return Subprocess::Spawn(argv, false, /*capture_stderr=*/true);
  };
  auto a = start("SIN-1", p1, 1.3521);
  auto b = start("SIN-2", p2, 1.3530);
  ASSERT_TRUE(a.ok() && b.ok());
  for (Subprocess* p : {&*a, &*b}) {
    std::string seen;
    bool found = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!found && std::chrono::steady_clock::now() < deadline) {
      auto line = p->ReadLine(std::chrono::seconds(20));
      if (!line) break;
      seen += *line + "\n";
      found = line->find("crosscheck: measured 1/1 peer landmarks; accepted 1, contradictions 0") !=
              std::string::npos;
    }
    EXPECT_TRUE(found) << seen;
  }
  for (Subprocess* p : {&*a, &*b}) {
    p->Signal(SIGTERM);
    p->ReadAll();
    EXPECT_EQ(p->Wait(), 0);
  }
  json listed = Api("GET", "/v1/landmarks");
  json landmarks = listed.is_array() ? listed : listed["landmarks"];
  ASSERT_EQ(landmarks.size(), 2u) << listed;
  for (const json& l : landmarks) EXPECT_EQ(l.value("status", ""), "active") << l;
}

}  // namespace
}  // namespace custodian::testing
