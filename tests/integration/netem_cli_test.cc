// `custodian netem` as a separate process relaying to a UDP echo in this process, on 127.0.0.1.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "core/net_address.h"
#include "core/subprocess.h"
#include "proto/udp_socket.h"
#include "support/udp_echo.h"

namespace custodian {
namespace {

using proto::UdpSocket;
using namespace std::chrono_literals;
constexpr int64_t kMs = 1'000'000;

UdpSocket BindLoopback() {
  auto s = UdpSocket::Bind(*ParseHostPort("127.0.0.1:0", "test"));
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    std::abort();
  }
  return std::move(s).value();
}

// A temporary file removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/custodian-netem-XXXXXX";
    int fd = ::mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = tmpl;
    std::ofstream(path_) << content;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A running `custodian netem`; the bound listen address of each route, read from its stdout.
struct NetemProcess {
  Subprocess process;
  std::vector<std::string> lines;
  std::vector<SocketAddress> listen;
};

std::optional<NetemProcess> StartNetem(const std::vector<std::string>& args, size_t routes) {
  std::vector<std::string> argv = {CUSTODIAN_BINARY, "netem"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto spawned = Subprocess::Spawn(argv);
  if (!spawned.ok()) {
    ADD_FAILURE() << spawned.status().ToString();
    return std::nullopt;
  }
  NetemProcess p{std::move(*spawned), {}, {}};
  for (size_t i = 0; i < routes; ++i) {
    auto line = p.process.ReadLine(5000ms);
    if (!line) {
      ADD_FAILURE() << "netem printed no route line " << i;
      return std::nullopt;
    }
    // "netem 127.0.0.1:40123 -> 127.0.0.1:9000 delay 20 ms jitter 0 ms"
    std::istringstream words(*line);
    std::string first, bound;
    words >> first >> bound;
    EXPECT_EQ(first, "netem") << *line;
    auto address = ParseHostPort(bound, "bound");
    if (!address.ok()) {
      ADD_FAILURE() << *line;
      return std::nullopt;
    }
    p.lines.push_back(*line);
    p.listen.push_back(*address);
  }
  return p;
}

// The minimum RTT over `count` pings through `to`, or -1 if any was lost; every RTT is checked
// against `floor_ns` (the relay must never shorten the emulated distance).
int64_t MinRttNs(const SocketAddress& to, int count, int64_t floor_ns) {
  UdpSocket client = BindLoopback();
  std::vector<uint8_t> buf(64);
  int64_t min_ns = INT64_MAX;
  for (int i = 0; i < count; ++i) {
    std::string tag = "ping" + std::to_string(i);
    int64_t sent_ns = MonotonicNs();
    if (!client.SendTo({reinterpret_cast<const uint8_t*>(tag.data()), tag.size()}, to).ok()) {
      return -1;
    }
    auto got = client.Receive(buf, 2000 * kMs);
    if (!got.ok()) return -1;
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + got->size), tag);
    int64_t rtt_ns = got->arrival_mono_ns - sent_ns;
    EXPECT_GE(rtt_ns, floor_ns) << "ping " << i;
    min_ns = std::min(min_ns, rtt_ns);
  }
  return min_ns;
}

struct CliResult {
  int exit_code;
  std::vector<std::string> stderr_lines;
};

// Runs `custodian netem ARGS` to completion with its stderr captured (through a shell, since
// Subprocess captures stdout only) and its stdout discarded.
CliResult RunNetemExpectingExit(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" netem \"$@\" 2>&1 >/dev/null",
                                   CUSTODIAN_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = Subprocess::Spawn(argv);
  if (!p.ok()) return {-1, {p.status().ToString()}};
  CliResult r{0, {}};
  while (auto line = p->ReadLine(10000ms)) r.stderr_lines.push_back(*line);
  r.exit_code = p->Wait();
  return r;
}

TEST(NetemCli, TwentyMsEachWayGivesAtLeastFortyMsRtt) {
  testing::UdpEcho echo;
  auto netem = StartNetem(
      {"--listen", "127.0.0.1:0", "--forward", echo.address().ToString(), "--delay-ms", "20"}, 1);
  ASSERT_TRUE(netem.has_value());
  EXPECT_NE(netem->lines[0].find("-> " + echo.address().ToString() + " delay 20 ms jitter 0 ms"),
            std::string::npos)
      << netem->lines[0];
  int64_t min_ns = MinRttNs(netem->listen[0], 10, 40 * kMs);
  ASSERT_GT(min_ns, 0) << "a ping was lost";
  EXPECT_GE(min_ns, 40 * kMs);
  EXPECT_LT(min_ns, 55 * kMs);
  RecordProperty("min_rtt_us", std::to_string(min_ns / 1000));
  std::cerr << "netem 20 ms each way: min RTT " << double(min_ns) / 1e6 << " ms\n";
  netem->process.Signal(SIGTERM);
  EXPECT_EQ(netem->process.Wait(), 0);
}

TEST(NetemCli, RoutesFileWithTwoRoutes) {
  testing::UdpEcho echo;
  TempFile routes(R"([
    {"listen": "127.0.0.1:0", "forward": ")" +
                  echo.address().ToString() + R"(", "delay_ms": 5, "name": "near"},
    {"listen": "127.0.0.1:0", "forward": ")" +
                  echo.address().ToString() + R"(", "delay_ms": 15, "jitter_ms": 1}
  ])");
  auto netem = StartNetem({"--routes", routes.path()}, 2);
  ASSERT_TRUE(netem.has_value());
  EXPECT_NE(netem->lines[0].find("delay 5 ms jitter 0 ms"), std::string::npos);
  EXPECT_NE(netem->lines[1].find("delay 15 ms jitter 1 ms"), std::string::npos);
  int64_t near_ns = MinRttNs(netem->listen[0], 5, 10 * kMs);
  int64_t far_ns = MinRttNs(netem->listen[1], 5, 28 * kMs);
  ASSERT_GT(near_ns, 0);
  ASSERT_GT(far_ns, 0);
  EXPECT_LT(near_ns, 25 * kMs);
  EXPECT_LT(far_ns, 45 * kMs);
  netem->process.Signal(SIGTERM);
  EXPECT_EQ(netem->process.Wait(), 0);
}

TEST(NetemCli, SigtermExitsZeroPromptly) {
  auto netem =
      StartNetem({"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9", "--delay-ms", "1"}, 1);
  ASSERT_TRUE(netem.has_value());
  int64_t asked_ns = MonotonicNs();
  netem->process.Signal(SIGTERM);
  EXPECT_EQ(netem->process.Wait(), 0);
  EXPECT_LT(MonotonicNs() - asked_ns, 1000 * kMs);
}

TEST(NetemCli, SigintExitsZero) {
  auto netem =
      StartNetem({"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9", "--delay-ms", "1"}, 1);
  ASSERT_TRUE(netem.has_value());
  netem->process.Signal(SIGINT);
  EXPECT_EQ(netem->process.Wait(), 0);
}

TEST(NetemCli, BadUsageExitsTwoWithOneLine) {
  TempFile malformed(R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": -3}])");
  TempFile good(R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 3}])");
  struct Case {
    std::vector<std::string> args;
    std::string expected;  // appears in the one stderr line
  };
  const std::vector<Case> cases = {
      {{}, "--routes FILE"},
      {{"--routes", good.path(), "--listen", "127.0.0.1:0"}, "not both"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9000", "--delay-ms=-5"},
       "--delay-ms: must be a number >= 0"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9000", "--delay-ms", "-5"},
       "--delay-ms"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9000", "--delay-ms", "5",
        "--jitter-ms=-1"},
       "--jitter-ms: must be a number >= 0"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9000", "--delay-ms", "nan"},
       "--delay-ms"},
      {{"--listen", "127.0.0.1", "--forward", "127.0.0.1:9000", "--delay-ms", "5"}, "--listen:"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:99999", "--delay-ms", "5"},
       "--forward:"},
      {{"--listen", "127.0.0.1:0", "--delay-ms", "5"}, "--forward"},
      {{"--routes", malformed.path()}, "routes[0].delay_ms: must be a number >= 0"},
      {{"--routes", "/nonexistent/routes.json"}, "--routes"},
  };
  for (const Case& c : cases) {
    std::string shown;
    for (const auto& a : c.args) shown += " " + a;
    CliResult r = RunNetemExpectingExit(c.args);
    EXPECT_EQ(r.exit_code, 2) << "netem" << shown;
    ASSERT_EQ(r.stderr_lines.size(), 1u) << "netem" << shown;
    EXPECT_NE(r.stderr_lines[0].find(c.expected), std::string::npos)
        << "netem" << shown << "\nstderr: " << r.stderr_lines[0];
  }
}

TEST(NetemCli, ListenAddressInUseExitsTwo) {
  UdpSocket taken = BindLoopback();
  CliResult r = RunNetemExpectingExit({"--listen", taken.local_address()->ToString(), "--forward",
                                       "127.0.0.1:9000", "--delay-ms", "1"});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(r.stderr_lines.size(), 1u);
  EXPECT_NE(r.stderr_lines[0].find("cannot bind"), std::string::npos) << r.stderr_lines[0];
}

}  // namespace
}  // namespace custodian
