// Netem: the routes-file parser, and an in-process relay in front of in-process UDP sockets on
// 127.0.0.1 (delay never early, jitter bounds, one mapping per client, limits).
#include "proto/netem.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "core/clock.h"
#include "proto/udp_socket.h"
#include "support/udp_echo.h"

namespace custodian::proto {
namespace {

constexpr int64_t kMs = 1'000'000;

SocketAddress Addr(const char* text) {
  auto a = ParseHostPort(text, "test");
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? *a : SocketAddress{};
}

UdpSocket BindLoopback() {
  auto s = UdpSocket::Bind(Addr("127.0.0.1:0"));
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    std::abort();
  }
  return std::move(s).value();
}

SocketAddress LocalOf(const UdpSocket& s) {
  return *s.local_address();
}

// A Netem running on its own thread for the lifetime of the object.
class Relay {
 public:
  explicit Relay(std::vector<NetemRoute> routes, NetemLimits limits = {})
      : netem_(std::move(routes), limits) {
    Status s = netem_.Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    thread_ = std::thread([this] { run_status_ = netem_.Run(stop_); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
  }
  SocketAddress listen(size_t i = 0) const { return netem_.listen_addresses().at(i); }
  NetemCounters counters() const { return netem_.Counters(); }

 private:
  Netem netem_;
  std::atomic<bool> stop_{false};
  Status run_status_;
  std::thread thread_;
};

NetemRoute Route(const SocketAddress& forward, double delay_ms, double jitter_ms = 0) {
  return NetemRoute{Addr("127.0.0.1:0"), forward, delay_ms, jitter_ms, ""};
}

// Sends `tag` from `client` to `to` and waits for the same bytes back; the RTT in ns, or nullopt.
std::optional<int64_t> Ping(UdpSocket& client, const SocketAddress& to, const std::string& tag,
                            int64_t timeout_ns = 1000 * kMs) {
  std::vector<uint8_t> out(tag.begin(), tag.end());
  int64_t sent_ns = MonotonicNs();
  if (!client.SendTo(out, to).ok()) return std::nullopt;
  std::vector<uint8_t> buf(2048);
  int64_t deadline_ns = sent_ns + timeout_ns;
  for (;;) {
    int64_t left_ns = deadline_ns - MonotonicNs();
    if (left_ns <= 0) return std::nullopt;
    auto got = client.Receive(buf, left_ns);
    if (!got.ok()) return std::nullopt;
    if (std::string(buf.begin(), buf.begin() + got->size) == tag) {
      return got->arrival_mono_ns - sent_ns;
    }
  }
}

template <typename Pred>
bool WaitFor(Pred pred, int64_t timeout_ns = 3000 * kMs) {
  int64_t deadline_ns = MonotonicNs() + timeout_ns;
  while (MonotonicNs() < deadline_ns) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// ---- routes file ----

TEST(NetemRoutes, ParsesGoodFile) {
  auto routes = ParseNetemRoutes(R"([
    {"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 12.5, "name": "paris"},
    {"listen": "127.0.0.1:7001", "forward": "[::1]:9001", "delay_ms": 0, "jitter_ms": 3},
    {"listen": "127.0.0.1:0", "forward": "localhost:9002", "delay_ms": 1, "jitter_ms": 5}
  ])");
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  ASSERT_EQ(routes->size(), 3u);
  EXPECT_EQ((*routes)[0].forward.ToString(), "127.0.0.1:9000");
  EXPECT_DOUBLE_EQ((*routes)[0].delay_ms, 12.5);
  EXPECT_DOUBLE_EQ((*routes)[0].jitter_ms, 0);  // default
  EXPECT_EQ((*routes)[0].name, "paris");
  EXPECT_EQ((*routes)[1].listen.port(), 7001);
  EXPECT_EQ((*routes)[1].forward.ToString(), "[::1]:9001");
  EXPECT_DOUBLE_EQ((*routes)[1].jitter_ms, 3);
  EXPECT_DOUBLE_EQ((*routes)[2].jitter_ms, 5);  // jitter above delay is allowed (clamped at run)
}

TEST(NetemRoutes, RejectsEachMalformedFormNamingIndexAndField) {
  const std::string ok0 =
      R"({"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 1})";
  struct Case {
    std::string text;
    std::string expected;  // a prefix of the message
  };
  const std::vector<Case> cases = {
      {"not json", "routes: not valid JSON"},
      {R"({"listen": "127.0.0.1:0"})", "routes: must be a JSON array"},
      {"[]", "routes: must list at least one route"},
      {"[" + ok0 + ", 7]", "routes[1]: must be an object"},
      {R"([{"forward": "127.0.0.1:9000", "delay_ms": 1}])", "routes[0].listen: required"},
      {R"([{"listen": 9000, "forward": "127.0.0.1:9000", "delay_ms": 1}])",
       "routes[0].listen: must be a string"},
      {"[" + ok0 + R"(, {"listen": "127.0.0.1", "forward": "127.0.0.1:9000", "delay_ms": 1}])",
       "routes[1].listen: "},
      {R"([{"listen": "127.0.0.1:70000", "forward": "127.0.0.1:9000", "delay_ms": 1}])",
       "routes[0].listen: port must be"},
      {R"([{"listen": "127.0.0.1:0", "delay_ms": 1}])", "routes[0].forward: required"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:0", "delay_ms": 1}])",
       "routes[0].forward: port must not be 0"},
      {R"([{"listen": "127.0.0.1:0", "forward": "0.0.0.0:9000", "delay_ms": 1}])",
       "routes[0].forward: must be a concrete address"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000"}])",
       "routes[0].delay_ms: required"},
      {"[" + ok0 + ", " + ok0 +
           R"(, {"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": -1}])",
       "routes[2].delay_ms: must be a number >= 0"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": "5"}])",
       "routes[0].delay_ms: must be a number >= 0"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": true}])",
       "routes[0].delay_ms: must be a number >= 0"},
      // JSON cannot write inf or NaN; an overflowing number is the closest it gets.
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 1e400}])",
       "routes: not valid JSON: number overflow"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 60001}])",
       "routes[0].delay_ms: must be at most 60000"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 1, "jitter_ms": -0.5}])",
       "routes[0].jitter_ms: must be a number >= 0"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 1, "jitter_ms": null}])",
       "routes[0].jitter_ms: must be a number >= 0"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay_ms": 1, "name": 3}])",
       "routes[0].name: must be a string"},
      {R"([{"listen": "127.0.0.1:0", "forward": "127.0.0.1:9000", "delay": 1}])",
       "routes[0]: unknown key \"delay\""},
      {R"([{"listen": "127.0.0.1:7001", "forward": "127.0.0.1:9000", "delay_ms": 1},
           {"listen": "127.0.0.1:7001", "forward": "127.0.0.1:9001", "delay_ms": 2}])",
       "routes[1].listen: same address as routes[0].listen"},
  };
  for (const Case& c : cases) {
    auto routes = ParseNetemRoutes(c.text);
    ASSERT_FALSE(routes.ok()) << c.text;
    EXPECT_EQ(routes.status().code(), StatusCode::kInvalidInput) << c.text;
    EXPECT_EQ(routes.status().message().rfind(c.expected, 0), 0u)
        << "input: " << c.text << "\nmessage: " << routes.status().message()
        << "\nexpected prefix: " << c.expected;
    EXPECT_EQ(routes.status().message().find('\n'), std::string::npos) << c.text;
  }
}

TEST(NetemDelay, JitterIsClampedAtZeroAndRoundsUp) {
  EXPECT_EQ(NetemDelayNs(5, 0, 0), 5 * kMs);
  EXPECT_EQ(NetemDelayNs(5, 2, -1), 3 * kMs);
  EXPECT_EQ(NetemDelayNs(5, 2, 1), 7 * kMs);
  EXPECT_EQ(NetemDelayNs(1, 5, -1), 0);  // never negative
  EXPECT_EQ(NetemDelayNs(1, 5, -0.2), 0);
  EXPECT_EQ(NetemDelayNs(0.0000001, 0, 0), 1);  // 0.1 ns rounds up, never down
  EXPECT_EQ(NetemDelayNs(0, 0, 0), 0);
}

// ---- relay ----

TEST(Netem, RoundTripThroughFiveMsIsTwiceTheDelayNeverLess) {
  testing::UdpEcho echo;
  Relay relay({Route(echo.address(), 5)});
  UdpSocket client = BindLoopback();
  int64_t min_rtt_ns = INT64_MAX;
  for (int i = 0; i < 10; ++i) {
    auto rtt = Ping(client, relay.listen(), "ping" + std::to_string(i));
    ASSERT_TRUE(rtt.has_value()) << "ping " << i << " lost";
    EXPECT_GE(*rtt, 10 * kMs) << "ping " << i << ": emulated distance shrank";
    min_rtt_ns = std::min(min_rtt_ns, *rtt);
  }
  EXPECT_LT(min_rtt_ns, 20 * kMs);
  RecordProperty("min_rtt_us", std::to_string(min_rtt_ns / 1000));
  // The relay counts a datagram just after sending it, so the last count may trail the reply.
  EXPECT_TRUE(WaitFor([&] { return relay.counters().forwarded == 20; }));
  NetemCounters c = relay.counters();
  EXPECT_EQ(c.dropped(), 0u);
  EXPECT_EQ(c.clients_opened, 1u);
}

// One direction, measured with a sink in this process: send time is in the payload, arrival is
// the sink's receive timestamp on the same CLOCK_MONOTONIC.
std::vector<int64_t> OneWayDelaysNs(double delay_ms, double jitter_ms, int samples) {
  UdpSocket sink = BindLoopback();
  Relay relay({Route(LocalOf(sink), delay_ms, jitter_ms)});
  UdpSocket client = BindLoopback();
  for (int i = 0; i < samples; ++i) {
    int64_t now_ns = MonotonicNs();
    std::vector<uint8_t> payload(sizeof now_ns);
    std::memcpy(payload.data(), &now_ns, sizeof now_ns);
    EXPECT_TRUE(client.SendTo(payload, relay.listen()).ok());
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  std::vector<int64_t> one_way_ns;
  std::vector<uint8_t> buf(64);
  while (int(one_way_ns.size()) < samples) {
    auto got = sink.Receive(buf, 2000 * kMs);
    if (!got.ok()) break;
    int64_t sent_ns = 0;
    std::memcpy(&sent_ns, buf.data(), sizeof sent_ns);
    one_way_ns.push_back(got->arrival_mono_ns - sent_ns);
  }
  EXPECT_EQ(int(one_way_ns.size()), samples);
  return one_way_ns;
}

TEST(Netem, JitterNeverShortensOneDirectionBelowDelayMinusJitter) {
  auto one_way_ns = OneWayDelaysNs(4, 3, 60);
  ASSERT_FALSE(one_way_ns.empty());
  auto [lo, hi] = std::minmax_element(one_way_ns.begin(), one_way_ns.end());
  EXPECT_GE(*lo, 1 * kMs);  // delay - jitter
  EXPECT_GT(*hi - *lo, 1 * kMs) << "jitter was not applied";
}

TEST(Netem, JitterAboveDelayClampsAtZeroNeverNegative) {
  // delay 1, jitter 5: 40% of draws fall below zero and leave at once.
  auto one_way_ns = OneWayDelaysNs(1, 5, 40);
  ASSERT_FALSE(one_way_ns.empty());
  auto [lo, hi] = std::minmax_element(one_way_ns.begin(), one_way_ns.end());
  EXPECT_GE(*lo, 0);
  EXPECT_LT(*lo, 1 * kMs) << "no draw was clamped to zero delay";
  EXPECT_LE(*hi, 6 * kMs + 50 * kMs);  // delay + jitter, plus scheduling slack
}

TEST(Netem, TwoClientsOnOneRouteGetTheirOwnReplies) {
  testing::UdpEcho echo;
  Relay relay({Route(echo.address(), 2)});
  UdpSocket a = BindLoopback();
  UdpSocket b = BindLoopback();
  for (int i = 0; i < 5; ++i) {
    // Both in flight at once, so a mix-up would deliver one's reply to the other.
    std::string tag_a = "a" + std::to_string(i), tag_b = "b" + std::to_string(i);
    ASSERT_TRUE(
        a.SendTo({reinterpret_cast<const uint8_t*>(tag_a.data()), tag_a.size()}, relay.listen())
            .ok());
    ASSERT_TRUE(
        b.SendTo({reinterpret_cast<const uint8_t*>(tag_b.data()), tag_b.size()}, relay.listen())
            .ok());
    std::vector<uint8_t> buf(64);
    auto got_a = a.Receive(buf, 1000 * kMs);
    ASSERT_TRUE(got_a.ok());
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + got_a->size), tag_a);
    EXPECT_EQ(got_a->from, relay.listen());
    auto got_b = b.Receive(buf, 1000 * kMs);
    ASSERT_TRUE(got_b.ok());
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + got_b->size), tag_b);
  }
  EXPECT_EQ(relay.counters().clients_opened, 2u);
}

TEST(Netem, ZeroDelayRelaysAtOnce) {
  testing::UdpEcho echo;
  Relay relay({Route(echo.address(), 0)});
  UdpSocket client = BindLoopback();
  auto rtt = Ping(client, relay.listen(), "now");
  ASSERT_TRUE(rtt.has_value());
  EXPECT_LT(*rtt, 50 * kMs);
}

TEST(Netem, SeveralRoutesInOneThread) {
  testing::UdpEcho echo;
  Relay relay({Route(echo.address(), 2), Route(echo.address(), 8)});
  UdpSocket client = BindLoopback();
  auto near = Ping(client, relay.listen(0), "near");
  auto far = Ping(client, relay.listen(1), "far");
  ASSERT_TRUE(near.has_value());
  ASSERT_TRUE(far.has_value());
  EXPECT_GE(*near, 4 * kMs);
  EXPECT_GE(*far, 16 * kMs);
}

TEST(Netem, NewClientsBeyondTheCapAreDroppedAndCounted) {
  testing::UdpEcho echo;
  NetemLimits limits;
  limits.max_clients_per_route = 1;
  Relay relay({Route(echo.address(), 1)}, limits);
  UdpSocket first = BindLoopback();
  UdpSocket second = BindLoopback();
  EXPECT_TRUE(Ping(first, relay.listen(), "first").has_value());
  EXPECT_FALSE(Ping(second, relay.listen(), "second", 200 * kMs).has_value());
  EXPECT_TRUE(Ping(first, relay.listen(), "first again").has_value());
  EXPECT_EQ(relay.counters().dropped_client_limit, 1u);
  EXPECT_EQ(relay.counters().clients_opened, 1u);
}

TEST(Netem, IdleClientsExpireAndComeBack) {
  testing::UdpEcho echo;
  NetemLimits limits;
  limits.idle_timeout_ns = 50 * kMs;
  Relay relay({Route(echo.address(), 1)}, limits);
  UdpSocket client = BindLoopback();
  EXPECT_TRUE(Ping(client, relay.listen(), "one").has_value());
  EXPECT_TRUE(WaitFor([&] { return relay.counters().clients_expired == 1; }));
  EXPECT_TRUE(Ping(client, relay.listen(), "two").has_value());
  EXPECT_EQ(relay.counters().clients_opened, 2u);
}

TEST(Netem, QueueBeyondItsLimitDropsAndCounts) {
  UdpSocket sink = BindLoopback();
  NetemLimits limits;
  limits.max_queued_datagrams = 3;
  Relay relay({Route(LocalOf(sink), 300)}, limits);
  UdpSocket client = BindLoopback();
  std::vector<uint8_t> payload(100, 7);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.SendTo(payload, relay.listen()).ok());
  // Received is counted before the drop: wait for the drop count itself.
  EXPECT_TRUE(WaitFor([&] { return relay.counters().dropped_queue_full == 7; }));
  EXPECT_EQ(relay.counters().received, 10u);
  ASSERT_TRUE(WaitFor([&] { return relay.counters().forwarded == 3; }));

  limits.max_queued_datagrams = 100;
  limits.max_queued_bytes = 3 * (1000 + 128);  // three 1000-byte datagrams with bookkeeping
  Relay by_bytes({Route(LocalOf(sink), 300)}, limits);
  std::vector<uint8_t> big(1000, 7);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.SendTo(big, by_bytes.listen()).ok());
  EXPECT_TRUE(WaitFor([&] { return by_bytes.counters().dropped_queue_full == 2; }));
  EXPECT_EQ(by_bytes.counters().received, 5u);
}

TEST(Netem, StartFailsOnAnAddressInUse) {
  UdpSocket taken = BindLoopback();
  Netem netem({NetemRoute{LocalOf(taken), Addr("127.0.0.1:9"), 1, 0, ""}});
  Status s = netem.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
}

TEST(Netem, StopsPromptlyWhenIdle) {
  Netem netem({Route(Addr("127.0.0.1:9"), 1)});
  ASSERT_TRUE(netem.Start().ok());
  std::atomic<bool> stop{false};
  int64_t stopped_at_ns = 0;
  std::thread t([&] {
    EXPECT_TRUE(netem.Run(stop).ok());
    stopped_at_ns = MonotonicNs();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  int64_t asked_ns = MonotonicNs();
  stop = true;
  t.join();
  EXPECT_LT(stopped_at_ns - asked_ns, 100 * kMs);
}

}  // namespace
}  // namespace custodian::proto
