#include "proto/netem.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <random>
#include <unordered_map>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "proto/udp_socket.h"

namespace custodian::proto {
namespace {

std::string Errno() {
  return std::strerror(errno);
}

// The loop wakes at least this often to notice `stop` and to expire idle clients.
constexpr int kStopCheckMs = 50;
// Datagrams read from one socket per wake-up, so one busy client cannot starve the others or
// the release of due datagrams (epoll is level-triggered: the rest are read next round).
constexpr int kDrainBudget = 64;
// Queue memory charged per datagram on top of its payload: the heap entry and allocator header.
constexpr size_t kEntryOverheadBytes = 128;
// Larger than any UDP payload (65,507 bytes over IPv4, 65,527 over IPv6), so nothing truncates.
constexpr size_t kMaxDatagramBytes = 65536;

// epoll tags: listen sockets are tagged with their route index, client mappings with ids from
// kFirstMappingId up, the release timer with kTimerTag.
constexpr uint64_t kTimerTag = ~uint64_t(0);
constexpr uint64_t kFirstMappingId = uint64_t(1) << 32;

// Arrival times are the kernel's receive timestamps, converted from CLOCK_REALTIME to
// CLOCK_MONOTONIC with the offset read when we dequeued the datagram. If NTP slewed the wall
// clock meanwhile (at most 500 ppm), the converted time can be early by up to 500 ppm of the
// time the datagram waited in the socket; this margin covers that plus the offset's own
// uncertainty, so a release is never early even then.
int64_t ArrivalMarginNs(int64_t arrival_mono_ns, int64_t now_mono_ns) {
  return std::max<int64_t>(0, now_mono_ns - arrival_mono_ns) / 2000 + 1000;
}

bool IsWildcard(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr);
  }
  return false;
}

std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string NetemCounters::ToString() const {
  return "forwarded " + std::to_string(forwarded) + ", dropped " + std::to_string(dropped()) +
         " (queue full " + std::to_string(dropped_queue_full) + ", client limit " +
         std::to_string(dropped_client_limit) + ", send failed " +
         std::to_string(dropped_send_failed) + ", foreign source " +
         std::to_string(dropped_foreign_source) + "), clients opened " +
         std::to_string(clients_opened) + ", expired " + std::to_string(clients_expired);
}

int64_t NetemDelayNs(double delay_ms, double jitter_ms, double unit_jitter) {
  double ms = delay_ms + jitter_ms * unit_jitter;
  if (!(ms > 0)) return 0;  // also maps NaN to 0; callers validate inputs beforehand
  return int64_t(std::ceil(ms * 1e6));
}

Status CheckNetemDelayMs(double value, std::string_view what) {
  if (!std::isfinite(value) || value < 0) {
    return Status::InvalidInput(std::string(what) + ": must be a number >= 0, got " +
                                FormatNumber(value));
  }
  if (value > kMaxNetemDelayMs) {
    return Status::InvalidInput(std::string(what) + ": must be at most " +
                                FormatNumber(kMaxNetemDelayMs) + " (milliseconds), got " +
                                FormatNumber(value));
  }
  return Status::Ok();
}

Status CheckNetemForward(const SocketAddress& forward, std::string_view what) {
  if (forward.port() == 0) {
    return Status::InvalidInput(std::string(what) + ": port must not be 0 (got " +
                                forward.ToString() + ")");
  }
  // Replies would come from a concrete address and be dropped as foreign.
  if (IsWildcard(forward)) {
    return Status::InvalidInput(std::string(what) + ": must be a concrete address, not " +
                                forward.ToString());
  }
  return Status::Ok();
}

struct Netem::Impl {
  // One client of one route, and the upstream socket that stands for it towards `forward`.
  struct Mapping {
    uint64_t id;
    size_t route;
    SocketAddress client;
    UdpSocket upstream;
    int64_t last_active_ns;
  };
  struct Queued {
    int64_t release_ns;
    uint64_t seq;  // equal release times leave in arrival order
    size_t route;
    // Set: client -> forward, sent on this mapping's socket (kept open while queued even if the
    // mapping expires). Null: forward -> client, sent on the route's listen socket to `client`.
    std::shared_ptr<Mapping> via;
    SocketAddress client;
    std::vector<uint8_t> payload;
  };
  // std::*_heap keep the largest first; "larger" here means "due sooner".
  struct DueLater {
    bool operator()(const Queued& a, const Queued& b) const {
      return a.release_ns != b.release_ns ? a.release_ns > b.release_ns : a.seq > b.seq;
    }
  };
  struct AtomicCounters {
    std::atomic<uint64_t> received{0}, forwarded{0}, dropped_queue_full{0}, dropped_client_limit{0},
        dropped_send_failed{0}, dropped_foreign_source{0}, clients_opened{0}, clients_expired{0};
  };

  std::vector<NetemRoute> routes;
  NetemLimits limits;
  bool started = false;
  std::vector<UdpSocket> listen;
  std::vector<SocketAddress> listen_addresses;
  std::vector<std::unordered_map<SocketAddress, std::shared_ptr<Mapping>, SocketAddressHash>>
      clients;  // per route
  std::unordered_map<uint64_t, std::shared_ptr<Mapping>> by_id;
  uint64_t next_mapping_id = kFirstMappingId;
  int epoll_fd = -1;
  int timer_fd = -1;
  int64_t timer_armed_ns = 0;  // 0: disarmed
  std::vector<Queued> queue;   // a heap ordered by DueLater
  size_t queued_bytes = 0;
  uint64_t next_seq = 0;
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit_jitter{-1.0, 1.0};
  std::vector<uint8_t> buffer = std::vector<uint8_t>(kMaxDatagramBytes);
  AtomicCounters counters;

  ~Impl() {
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (timer_fd >= 0) ::close(timer_fd);
  }

  static void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

  Status Watch(int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return Status::IoError("epoll_ctl: " + Errno());
    }
    return Status::Ok();
  }

  Status Start() {
    if (started) return Status::Internal("netem: Start called twice");
    if (routes.empty()) return Status::InvalidInput("netem: no routes");
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) return Status::IoError("epoll_create1: " + Errno());
    // A timerfd armed at an absolute CLOCK_MONOTONIC time gives nanosecond wake-ups (and no
    // timer slack), unlike the millisecond timeout of epoll_wait itself.
    timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (timer_fd < 0) return Status::IoError("timerfd_create: " + Errno());
    CUSTODIAN_RETURN_IF_ERROR(Watch(timer_fd, kTimerTag));
    for (size_t r = 0; r < routes.size(); ++r) {
      auto sock = UdpSocket::Bind(routes[r].listen);
      if (!sock.ok()) return sock.status().WithContext("netem route " + std::to_string(r));
      auto bound = sock->local_address();
      if (!bound.ok()) return bound.status();
      CUSTODIAN_RETURN_IF_ERROR(Watch(sock->fd(), r));
      listen.push_back(std::move(*sock));
      listen_addresses.push_back(*bound);
    }
    clients.resize(routes.size());
    started = true;
    return Status::Ok();
  }

  Status ArmTimer() {
    int64_t due = queue.empty() ? 0 : queue.front().release_ns;
    if (due == timer_armed_ns) return Status::Ok();
    itimerspec spec{};  // all zero: disarm
    if (due != 0) {
      spec.it_value.tv_sec = due / 1'000'000'000;
      spec.it_value.tv_nsec = due % 1'000'000'000;
    }
    if (::timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
      return Status::IoError("timerfd_settime: " + Errno());
    }
    timer_armed_ns = due;
    return Status::Ok();
  }

  std::shared_ptr<Mapping> FindOrOpen(size_t r, const SocketAddress& client, int64_t now_ns) {
    auto& table = clients[r];
    auto it = table.find(client);
    if (it != table.end()) return it->second;
    // New clients beyond the cap are refused rather than evicting old ones, so a flood of
    // source addresses cannot push established sessions out.
    if (table.size() >= limits.max_clients_per_route) return nullptr;
    const SocketAddress& forward = routes[r].forward;
    auto sock = UdpSocket::ForPeer(forward);
    if (!sock.ok()) return nullptr;  // e.g. out of file descriptors
    // Connected, so the kernel itself drops datagrams from anyone but the forward target.
    if (::connect(sock->fd(), forward.get(), forward.length) != 0) return nullptr;
    auto m =
        std::make_shared<Mapping>(Mapping{next_mapping_id++, r, client, std::move(*sock), now_ns});
    if (!Watch(m->upstream.fd(), m->id).ok()) return nullptr;
    table.emplace(client, m);
    by_id.emplace(m->id, m);
    Bump(counters.clients_opened);
    return m;
  }

  void Enqueue(size_t r, std::shared_ptr<Mapping> via, const SocketAddress& client,
               const ReceivedDatagram& d, int64_t now_ns) {
    size_t cost = d.size + kEntryOverheadBytes;
    if (queue.size() >= limits.max_queued_datagrams ||
        queued_bytes + cost > limits.max_queued_bytes) {
      Bump(counters.dropped_queue_full);
      return;
    }
    const NetemRoute& route = routes[r];
    double unit = route.jitter_ms > 0 ? unit_jitter(rng) : 0.0;
    int64_t release_ns = d.arrival_mono_ns + NetemDelayNs(route.delay_ms, route.jitter_ms, unit) +
                         ArrivalMarginNs(d.arrival_mono_ns, now_ns);
    queue.push_back(Queued{release_ns, next_seq++, r, std::move(via), client,
                           std::vector<uint8_t>(buffer.begin(), buffer.begin() + d.size)});
    std::push_heap(queue.begin(), queue.end(), DueLater());
    queued_bytes += cost;
  }

  void DrainListen(size_t r) {
    for (int i = 0; i < kDrainBudget; ++i) {
      auto got = listen[r].TryReceive(buffer);
      if (!got.ok()) return;  // drained (or a transient error; level-triggered epoll retries)
      Bump(counters.received);
      int64_t now_ns = MonotonicNs();
      std::shared_ptr<Mapping> m = FindOrOpen(r, got->from, now_ns);
      if (m == nullptr) {
        Bump(counters.dropped_client_limit);
        continue;
      }
      m->last_active_ns = now_ns;
      Enqueue(r, std::move(m), SocketAddress{}, *got, now_ns);
    }
  }

  void DrainUpstream(uint64_t id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) return;
    std::shared_ptr<Mapping> m = it->second;
    for (int i = 0; i < kDrainBudget; ++i) {
      auto got = m->upstream.TryReceive(buffer);
      // An error here is typically ECONNREFUSED (the forward target is not listening); the
      // read clears it, and the datagram it stands for was already counted as sent.
      if (!got.ok()) return;
      Bump(counters.received);
      if (!(got->from == routes[m->route].forward)) {
        Bump(counters.dropped_foreign_source);
        continue;
      }
      int64_t now_ns = MonotonicNs();
      m->last_active_ns = now_ns;
      Enqueue(m->route, nullptr, m->client, *got, now_ns);
    }
  }

  void Send(const Queued& q, int64_t now_ns) {
    int fd;
    const sockaddr* to = nullptr;
    socklen_t to_length = 0;
    if (q.via != nullptr) {
      fd = q.via->upstream.fd();  // connected to the forward target
      // Counting idleness from the send, not the arrival, keeps a mapping alive for its reply
      // however long the delay.
      q.via->last_active_ns = now_ns;
    } else {
      fd = listen[q.route].fd();
      to = q.client.get();
      to_length = q.client.length;
    }
    for (;;) {
      // Never block: a full send buffer would stall every other route's releases.
      ssize_t n = ::sendto(fd, q.payload.data(), q.payload.size(), MSG_DONTWAIT, to, to_length);
      if (n >= 0) {
        Bump(counters.forwarded);
        return;
      }
      if (errno == EINTR) continue;
      Bump(counters.dropped_send_failed);
      return;
    }
  }

  void ReleaseDue() {
    while (!queue.empty()) {
      int64_t now_ns = MonotonicNs();
      if (queue.front().release_ns > now_ns) return;
      std::pop_heap(queue.begin(), queue.end(), DueLater());
      Queued q = std::move(queue.back());
      queue.pop_back();
      queued_bytes -= q.payload.size() + kEntryOverheadBytes;
      Send(q, now_ns);
    }
  }

  void ExpireIdle(int64_t now_ns) {
    for (auto& table : clients) {
      for (auto it = table.begin(); it != table.end();) {
        const std::shared_ptr<Mapping>& m = it->second;
        if (now_ns - m->last_active_ns < limits.idle_timeout_ns) {
          ++it;
          continue;
        }
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, m->upstream.fd(), nullptr);
        by_id.erase(m->id);
        it = table.erase(it);
        Bump(counters.clients_expired);
      }
    }
  }

  Status Run(std::atomic<bool>& stop) {
    if (!started) return Status::Internal("netem: Run called before Start");
    const int64_t sweep_interval_ns =
        std::clamp<int64_t>(limits.idle_timeout_ns / 2, 1'000'000, 1'000'000'000);
    int64_t next_sweep_ns = MonotonicNs() + sweep_interval_ns;
    std::array<epoll_event, 64> events;
    while (!stop.load(std::memory_order_relaxed)) {
      CUSTODIAN_RETURN_IF_ERROR(ArmTimer());
      int n = ::epoll_wait(epoll_fd, events.data(), int(events.size()), kStopCheckMs);
      if (n < 0) {
        if (errno == EINTR) continue;  // a signal: look at `stop` now
        return Status::IoError("epoll_wait: " + Errno());
      }
      // Due datagrams first: reading a burst first would make them late.
      ReleaseDue();
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events[size_t(i)].data.u64;
        if (tag == kTimerTag) {
          uint64_t expirations;
          [[maybe_unused]] ssize_t ignored = ::read(timer_fd, &expirations, sizeof expirations);
          timer_armed_ns = 0;  // a fired timer is disarmed; re-arm for the next due datagram
        } else if (tag < kFirstMappingId) {
          DrainListen(size_t(tag));
        } else {
          DrainUpstream(tag);
        }
      }
      ReleaseDue();  // zero-delay routes, and anything that fell due while reading
      int64_t now_ns = MonotonicNs();
      if (now_ns >= next_sweep_ns) {
        ExpireIdle(now_ns);
        next_sweep_ns = now_ns + sweep_interval_ns;
      }
    }
    return Status::Ok();
  }
};

Netem::Netem(std::vector<NetemRoute> routes, NetemLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->routes = std::move(routes);
  impl_->limits = limits;
}

Netem::~Netem() = default;

Status Netem::Start() {
  return impl_->Start();
}

const std::vector<SocketAddress>& Netem::listen_addresses() const {
  return impl_->listen_addresses;
}

const std::vector<NetemRoute>& Netem::routes() const {
  return impl_->routes;
}

Status Netem::Run(std::atomic<bool>& stop) {
  return impl_->Run(stop);
}

NetemCounters Netem::Counters() const {
  const auto& c = impl_->counters;
  auto get = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  NetemCounters out;
  out.received = get(c.received);
  out.forwarded = get(c.forwarded);
  out.dropped_queue_full = get(c.dropped_queue_full);
  out.dropped_client_limit = get(c.dropped_client_limit);
  out.dropped_send_failed = get(c.dropped_send_failed);
  out.dropped_foreign_source = get(c.dropped_foreign_source);
  out.clients_opened = get(c.clients_opened);
  out.clients_expired = get(c.clients_expired);
  return out;
}

namespace {

constexpr std::array<std::string_view, 5> kRouteKeys = {"listen", "forward", "delay_ms",
                                                        "jitter_ms", "name"};

// A JSON string literal for messages: quoted and escaped, so a hostile key stays on one line.
std::string Quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

Result<SocketAddress> RouteAddress(const nlohmann::json& entry, const std::string& where,
                                   const char* field) {
  std::string what = where + "." + field;
  auto it = entry.find(field);
  if (it == entry.end()) return Status::InvalidInput(what + ": required (HOST:PORT)");
  if (!it->is_string()) return Status::InvalidInput(what + ": must be a string HOST:PORT");
  const std::string& text = it->get_ref<const std::string&>();
  if (std::any_of(text.begin(), text.end(), [](char c) { return (unsigned char)c < 0x20; })) {
    return Status::InvalidInput(what + ": must be HOST:PORT, got " + Quoted(text));
  }
  return ParseHostPort(text, what);
}

Result<double> RouteNumber(const nlohmann::json& entry, const std::string& where, const char* field,
                           bool required) {
  std::string what = where + "." + field;
  auto it = entry.find(field);
  if (it == entry.end()) {
    if (required) return Status::InvalidInput(what + ": required (a number >= 0, milliseconds)");
    return 0.0;
  }
  if (!it->is_number()) return Status::InvalidInput(what + ": must be a number >= 0");
  double value = it->get<double>();
  CUSTODIAN_RETURN_IF_ERROR(CheckNetemDelayMs(value, what));
  return value;
}

}  // namespace

Result<std::vector<NetemRoute>> ParseNetemRoutes(std::string_view json_text) {
  // ParseJson catches only parse errors; nlohmann throws out_of_range for a number that
  // overflows a double (1e400), which must not escape as an exception.
  Result<nlohmann::json> doc = Status::Internal("unparsed");
  try {
    doc = ParseJson(json_text);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    return Status::InvalidInput("routes: not valid JSON: " + what.substr(what.find(']') + 2));
  }
  if (!doc.ok()) return doc.status().WithContext("routes");
  if (!doc->is_array()) {
    return Status::InvalidInput("routes: must be a JSON array of route objects");
  }
  if (doc->empty()) return Status::InvalidInput("routes: must list at least one route");
  std::vector<NetemRoute> routes;
  for (size_t i = 0; i < doc->size(); ++i) {
    const nlohmann::json& entry = (*doc)[i];
    std::string where = "routes[" + std::to_string(i) + "]";
    if (!entry.is_object()) {
      return Status::InvalidInput(where + ": must be an object {listen, forward, delay_ms}");
    }
    for (const auto& [key, value] : entry.items()) {
      if (std::find(kRouteKeys.begin(), kRouteKeys.end(), key) == kRouteKeys.end()) {
        return Status::InvalidInput(where + ": unknown key " + Quoted(key) +
                                    " (allowed: listen, forward, delay_ms, jitter_ms, name)");
      }
    }
    NetemRoute route;
    auto listen = RouteAddress(entry, where, "listen");
    if (!listen.ok()) return listen.status();
    auto forward = RouteAddress(entry, where, "forward");
    if (!forward.ok()) return forward.status();
    CUSTODIAN_RETURN_IF_ERROR(CheckNetemForward(*forward, where + ".forward"));
    auto delay = RouteNumber(entry, where, "delay_ms", true);
    if (!delay.ok()) return delay.status();
    auto jitter = RouteNumber(entry, where, "jitter_ms", false);
    if (!jitter.ok()) return jitter.status();
    if (auto name = entry.find("name"); name != entry.end()) {
      if (!name->is_string()) return Status::InvalidInput(where + ".name: must be a string");
      route.name = name->get<std::string>();
    }
    route.listen = *listen;
    route.forward = *forward;
    route.delay_ms = *delay;
    route.jitter_ms = *jitter;
    // Two routes cannot share a listen socket; say which, rather than failing later at bind.
    for (size_t j = 0; j < routes.size(); ++j) {
      if (route.listen.port() != 0 && route.listen == routes[j].listen) {
        return Status::InvalidInput(where + ".listen: same address as routes[" + std::to_string(j) +
                                    "].listen (" + route.listen.ToString() + ")");
      }
    }
    routes.push_back(std::move(route));
  }
  return routes;
}

}  // namespace custodian::proto
