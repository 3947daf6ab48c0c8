// The timing protocol as a user drives it: keygen, landmark, measure, receipt verify and netem,
// each the real binary in its own process, over real UDP on loopback.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/net_address.h"
#include "proto/udp_socket.h"
#include "proto/wire.h"
#include "support/cli_runner.h"

namespace custodian::testing {
namespace {

nlohmann::json ReadJson(const std::string& path) {
  auto text = ReadFile(path);
  EXPECT_TRUE(text.ok());
  return nlohmann::json::parse(text.ok() ? *text : "{}");
}

// measure against `address`, writing DIR/out; returns the CLI result.
CliResult Measure(const TempDir& dir, const std::string& node_key, const std::string& address,
                  const std::string& pub, const std::string& out, int samples = 16) {
  return RunCli({"measure", "--key", dir / node_key, "--landmark", address, "--landmark-pub", pub,
                 "--samples", std::to_string(samples), "--out", dir / out});
}

TEST(KeygenCli, WritesMode0600AndPrintsBase64PublicKey) {
  TempDir dir;
  ::umask(0);  // the key file's mode must not depend on the caller's umask
  CliResult r = RunCli({"keygen", "--out", dir / "k"});
  ::umask(022);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((dir / "k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(r.out.size(), 45u);  // 44 base64 characters and a newline
  EXPECT_TRUE(Base64Decode(r.out.substr(0, 44)).ok());
}

TEST(KeygenCli, RefusesToOverwriteAnExistingKey) {
  TempDir dir;
  Keygen(dir, "k");
  auto before = ReadFile(dir / "k");
  CliResult r = RunCli({"keygen", "--out", dir / "k"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err_lines(), 1u) << r.err;
  EXPECT_EQ(*ReadFile(dir / "k"), *before);
}

TEST(ProtocolCli, ValidReceiptVerifiesAndHasTheContractFields) {
  TempDir dir;
  LandmarkProcess landmark(dir, "SIN-1");
  Keygen(dir, "node.key");
  CliResult m = Measure(dir, "node.key", landmark.address(), landmark.pub(), "r.json");
  ASSERT_EQ(m.exit_code, 0) << m.err;
  nlohmann::json j = ReadJson(dir / "r.json");
  for (const char* field :
       {"landmark_id", "landmark_lat", "landmark_lon", "node_pub", "chipset_hash", "time_utc",
        "samples_ns", "min_rtt_ns", "timestamping", "transcript_hash", "landmark_sig"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_EQ(j["landmark_id"], "SIN-1");
  EXPECT_EQ(j["samples_ns"].size(), 16u);
  EXPECT_DOUBLE_EQ(j["landmark_lat"].get<double>(), 1.3521);
  CliResult v = RunCli({"receipt", "verify", dir / "r.json", "--landmark-pub", landmark.pub()});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("receipt valid"), std::string::npos);
  landmark.Stop();
  EXPECT_EQ(landmark.exit_code(), 0);
}

TEST(ProtocolCli, ChangingAnyByteOfTheReceiptFailsWithExitOne) {
  TempDir dir;
  LandmarkProcess landmark(dir, "SIN-1");
  Keygen(dir, "node.key");
  ASSERT_EQ(Measure(dir, "node.key", landmark.address(), landmark.pub(), "r.json", 4).exit_code, 0);
  const std::string original = *ReadFile(dir / "r.json");
  ASSERT_EQ(original.back(), '\n');
  // Every byte of the signed content (all but the trailing newline), each changed in turn.
  for (size_t i = 0; i + 1 < original.size(); ++i) {
    std::string altered = original;
    altered[i] = char(altered[i] ^ 0x01);
    ASSERT_TRUE(WriteFileAtomic(dir / "x.json", altered, 0644).ok());
    CliResult v = RunCli({"receipt", "verify", dir / "x.json", "--landmark-pub", landmark.pub()});
    ASSERT_EQ(v.exit_code, 1) << "byte " << i << " ('" << original[i] << "') changed: " << v.out;
    ASSERT_EQ(v.err_lines(), 1u) << v.err;
  }
}

TEST(ProtocolCli, WrongLandmarkKeyFails) {
  TempDir dir;
  LandmarkProcess landmark(dir, "SIN-1");
  Keygen(dir, "node.key");
  ASSERT_EQ(Measure(dir, "node.key", landmark.address(), landmark.pub(), "r.json").exit_code, 0);
  std::string other = Keygen(dir, "other.key");
  CliResult v = RunCli({"receipt", "verify", dir / "r.json", "--landmark-pub", other});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.err.find("landmark_pub"), std::string::npos) << v.err;
  // Measuring with the wrong pinned key: the landmark refuses the HELLO, and says why.
  CliResult m = Measure(dir, "node.key", landmark.address(), other, "r2.json");
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.err.find("--landmark-pub"), std::string::npos) << m.err;
}

TEST(ProtocolCli, ThroughNetem20msTheMinRttIsAtLeast40msAndUnder55ms) {
  TempDir dir;
  LandmarkProcess landmark(dir, "FRA-1", 50.1109, 8.6821);
  Keygen(dir, "node.key");
  auto netem = Subprocess::Spawn({CUSTODIAN_BINARY, "netem", "--listen", "127.0.0.1:0", "--forward",
                                  landmark.address(), "--delay-ms", "20"},
                                 true);
  ASSERT_TRUE(netem.ok());
  auto line = netem->ReadLine(std::chrono::seconds(10));
  ASSERT_TRUE(line.has_value());
  std::string via = line->substr(6, line->find(' ', 6) - 6);  // "netem ADDR -> ..."
  CliResult m = Measure(dir, "node.key", via, landmark.pub(), "r.json", 8);
  ASSERT_EQ(m.exit_code, 0) << m.err;
  int64_t min_rtt_ns = ReadJson(dir / "r.json")["min_rtt_ns"];
  EXPECT_GE(min_rtt_ns, 40'000'000);
  EXPECT_LT(min_rtt_ns, 55'000'000);
  EXPECT_EQ(
      RunCli({"receipt", "verify", dir / "r.json", "--landmark-pub", landmark.pub()}).exit_code, 0);
}

TEST(ProtocolCli, GarbageFloodDoesNotStopAConcurrentHonestSession) {
  TempDir dir;
  LandmarkProcess landmark(dir, "SIN-1");
  Keygen(dir, "node.key");
  auto target = ParseHostPort(landmark.address(), "landmark");
  ASSERT_TRUE(target.ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::thread flood([&] {
    auto sock = proto::UdpSocket::ForPeer(*target);
    ASSERT_TRUE(sock.ok());
    std::mt19937_64 rng(42);
    std::vector<uint8_t> d;
    while (!stop.load()) {
      // Random sizes and bytes, half of them with a valid header so they reach the decoders.
      d.resize(rng() % 300);
      for (auto& b : d) b = uint8_t(rng());
      if (d.size() >= 8 && (rng() & 1)) {
        std::copy(proto::kMagic.begin(), proto::kMagic.end(), d.begin());
        d[4] = proto::kVersion;
        d[5] = uint8_t(1 + rng() % 6);
        d[6] = d[7] = 0;
      }
      (void)sock->SendTo(d, *target);
      sent++;
    }
  });
  while (sent.load() < 1000) std::this_thread::yield();
  CliResult m = Measure(dir, "node.key", landmark.address(), landmark.pub(), "r.json");
  stop = true;
  flood.join();
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(
      RunCli({"receipt", "verify", dir / "r.json", "--landmark-pub", landmark.pub()}).exit_code, 0);
  // The landmark is still serving after the flood...
  ASSERT_EQ(Measure(dir, "node.key", landmark.address(), landmark.pub(), "r2.json").exit_code, 0);
  // ...and counted what it dropped.
  std::string stats_line = landmark.Stop();
  auto brace = stats_line.find('{');
  ASSERT_NE(brace, std::string::npos) << stats_line;
  auto stats = nlohmann::json::parse(stats_line.substr(brace));
  EXPECT_GT(stats["dropped_total"].get<uint64_t>(), 500u);
  EXPECT_EQ(stats["sessions_completed"].get<uint64_t>(), 2u);
}

TEST(ProtocolCli, ConcurrentAgentsAllGetValidReceipts) {
  TempDir dir;
  LandmarkProcess landmark(dir, "SIN-1");
  constexpr int kAgents = 8;
  std::vector<std::thread> agents;
  std::vector<int> rc(kAgents, -1);
  for (int i = 0; i < kAgents; ++i) Keygen(dir, "node" + std::to_string(i) + ".key");
  for (int i = 0; i < kAgents; ++i) {
    agents.emplace_back([&, i] {
      rc[i] = Measure(dir, "node" + std::to_string(i) + ".key", landmark.address(), landmark.pub(),
                      "r" + std::to_string(i) + ".json")
                  .exit_code;
    });
  }
  for (auto& t : agents) t.join();
  for (int i = 0; i < kAgents; ++i) {
    EXPECT_EQ(rc[i], 0) << "agent " << i;
    EXPECT_EQ(RunCli({"receipt", "verify", dir / ("r" + std::to_string(i) + ".json"),
                      "--landmark-pub", landmark.pub()})
                  .exit_code,
              0);
  }
}

// Bad input of any kind: one clear line on stderr and a non-zero exit, never a crash.
TEST(ProtocolCli, BadInputGetsOneLineAndExitTwo) {
  TempDir dir;
  std::string pub = Keygen(dir, "k");
  Keygen(dir, "node.key");
  ASSERT_EQ(::chmod((dir / "k").c_str(), 0600), 0);
  ASSERT_TRUE(WriteFileAtomic(dir / "open.key", *ReadFile(dir / "k"), 0644).ok());
  const std::vector<std::vector<std::string>> cases = {
      {"landmark", "--id", "X", "--lat", "91", "--lon", "0", "--key", dir / "k", "--listen",
       "127.0.0.1:0"},
      {"landmark", "--id", "X", "--lat", "0", "--lon", "181", "--key", dir / "k", "--listen",
       "127.0.0.1:0"},
      {"landmark", "--id", "X", "--lat", "nan", "--lon", "0", "--key", dir / "k", "--listen",
       "127.0.0.1:0"},
      {"landmark", "--id", "bad id!", "--lat", "0", "--lon", "0", "--key", dir / "k", "--listen",
       "127.0.0.1:0"},
      {"landmark", "--id", "X", "--lat", "0", "--lon", "0", "--key", dir / "k", "--listen",
       "127.0.0.1:99999"},
      {"landmark", "--id", "X", "--lat", "0", "--lon", "0", "--key", dir / "open.key", "--listen",
       "127.0.0.1:0"},
      {"landmark", "--id", "X", "--lat", "0", "--lon", "0", "--key", dir / "missing", "--listen",
       "127.0.0.1:0"},
      {"landmark", "--id", "X"},
      {"measure", "--key", dir / "node.key", "--landmark", "127.0.0.1:9", "--landmark-pub", "xyz"},
      {"measure", "--key", dir / "node.key", "--landmark", "nohostport", "--landmark-pub", pub},
      {"measure", "--key", dir / "node.key", "--landmark", "127.0.0.1:9", "--landmark-pub", pub,
       "--samples", "0"},
      {"measure", "--key", dir / "node.key", "--landmark", "127.0.0.1:9", "--landmark-pub", pub,
       "--samples", "65"},
      {"measure", "--key", dir / "open.key", "--landmark", "127.0.0.1:9", "--landmark-pub", pub},
      {"receipt", "verify", dir / "missing.json", "--landmark-pub", pub},
      {"receipt", "verify", dir / "k", "--landmark-pub", "not-base64"},
      {"keygen"},
      {"no-such-command"},
  };
  for (const auto& args : cases) {
    CliResult r = RunCli(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_EQ(r.err_lines(), 1u) << shown << "\n" << r.err;
  }
}

TEST(ProtocolCli, NegativeResultsGetOneLineAndExitOne) {
  TempDir dir;
  std::string pub = Keygen(dir, "k");
  Keygen(dir, "node.key");
  // A file that is not a receipt is an invalid receipt.
  ASSERT_TRUE(WriteFileAtomic(dir / "garbage.json", "{not json", 0644).ok());
  CliResult v = RunCli({"receipt", "verify", dir / "garbage.json", "--landmark-pub", pub});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_EQ(v.err_lines(), 1u) << v.err;
  // Nobody listening: the agent gives up after its retries and says so.
  auto sock = proto::UdpSocket::Bind(*ParseHostPort("127.0.0.1:0", "x"));
  std::string silent = sock->local_address()->ToString();
  CliResult m = RunCli({"measure", "--key", dir / "node.key", "--landmark", silent,
                        "--landmark-pub", pub, "--timeout-ms", "100"});
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_EQ(m.err_lines(), 1u) << m.err;
  EXPECT_NE(m.err.find("no answer"), std::string::npos) << m.err;
}

}  // namespace
}  // namespace custodian::testing
