// Netem: a UDP relay that adds one-way delay in each direction, so that runs on loopback emulate
// geography (a landmark "1,000 km away" is a relay with ~5 ms each way in front of it).
//
// Contract:
//  * Each route listens on `listen` and relays to `forward`. Every distinct client source address
//    gets its own upstream socket (like a NAT), so the forward target's replies go back, through
//    the route's listen socket, to the client that caused them.
//  * A datagram is released no earlier than its arrival (the kernel's receive timestamp) plus the
//    route's delay, plus a uniform jitter in [-jitter_ms, +jitter_ms] drawn per datagram and
//    clamped so that the delay never goes below 0. It is never released early: emulated distance
//    can only grow, never shrink. Lateness is the event loop's wake-up latency (tens of µs on an
//    idle machine). Delay applies in each direction, so an RTT through a route is 2 x delay plus
//    the base RTT. With jitter, datagrams may be reordered, as on a real path.
//  * Memory is bounded: at most max_queued_datagrams / max_queued_bytes wait in the delay queue;
//    beyond that datagrams are dropped and counted. Client mappings are capped per route (new
//    clients beyond the cap are dropped and counted) and expire after idle_timeout_ns without
//    traffic, so a flood of source addresses cannot exhaust file descriptors.
//  * One thread runs every route (Run). Counters() may be read from any thread at any time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/net_address.h"
#include "core/status.h"

namespace custodian::proto {

// Larger delays are refused: they are almost certainly a unit mistake (µs written as ms), and
// they would hold datagrams, and queue memory, for minutes.
inline constexpr double kMaxNetemDelayMs = 60'000;

struct NetemRoute {
  SocketAddress listen;  // port 0: the OS picks one (Netem::listen_addresses() tells which)
  SocketAddress forward;
  double delay_ms = 0;   // one-way, added in each direction; >= 0
  double jitter_ms = 0;  // uniform in [-jitter_ms, +jitter_ms]; >= 0; may exceed delay_ms
  std::string name;      // optional label (routes file "name")
};

struct NetemLimits {
  int64_t idle_timeout_ns = 120'000'000'000;  // client mapping expires after this much silence
  size_t max_clients_per_route = 4096;
  size_t max_queued_datagrams = 100'000;
  size_t max_queued_bytes = 64u << 20;  // payload plus per-entry bookkeeping
};

// A snapshot of the relay's counters.
struct NetemCounters {
  uint64_t received = 0;                // datagrams read from any socket
  uint64_t forwarded = 0;               // datagrams sent on after their delay
  uint64_t dropped_queue_full = 0;      // delay queue at its datagram or byte limit
  uint64_t dropped_client_limit = 0;    // new client refused: route at max_clients_per_route, or
                                        // no upstream socket could be opened (fd limit)
  uint64_t dropped_send_failed = 0;     // sendto refused (buffer full, unreachable, ...)
  uint64_t dropped_foreign_source = 0;  // reply on an upstream socket not from the forward target
  uint64_t clients_opened = 0;
  uint64_t clients_expired = 0;

  uint64_t dropped() const {
    return dropped_queue_full + dropped_client_limit + dropped_send_failed + dropped_foreign_source;
  }
  // "forwarded 10, dropped 0 (queue full 0, client limit 0, send failed 0, foreign source 0),
  // clients opened 1, expired 0"
  std::string ToString() const;
};

// The delay for one datagram: delay_ms + jitter_ms * unit_jitter (unit_jitter in [-1, 1]),
// clamped at 0, in nanoseconds rounded up (rounding down could release a datagram early).
int64_t NetemDelayNs(double delay_ms, double jitter_ms, double unit_jitter);

// Checks a delay or jitter value: finite, >= 0, <= kMaxNetemDelayMs. `what` names the flag or
// field ("--delay-ms", "routes[2].delay_ms") for the message.
Status CheckNetemDelayMs(double value, std::string_view what);
// Checks a forward target: a concrete address (not 0.0.0.0 or [::]) with a non-zero port.
Status CheckNetemForward(const SocketAddress& forward, std::string_view what);

class Netem {
 public:
  explicit Netem(std::vector<NetemRoute> routes, NetemLimits limits = {});
  ~Netem();
  Netem(const Netem&) = delete;
  Netem& operator=(const Netem&) = delete;

  // Binds every route's listen socket. Call once, before Run.
  Status Start();
  // The bound listen address of each route, in route order (valid after Start succeeded).
  const std::vector<SocketAddress>& listen_addresses() const;
  const std::vector<NetemRoute>& routes() const;

  // Relays until `stop` becomes true (checked at least every 50 ms, and on EINTR). Returns an
  // error only if the event loop itself fails; per-datagram problems are counted, not returned.
  // Run from one thread only.
  Status Run(std::atomic<bool>& stop);

  NetemCounters Counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a routes file: a JSON array of objects
//   {"listen": "HOST:PORT", "forward": "HOST:PORT", "delay_ms": number >= 0,
//    "jitter_ms": number >= 0 (optional, default 0), "name": string (optional)}
// Strict: unknown keys, wrong types, negative or non-finite numbers and duplicate non-zero listen
// addresses are errors whose message names the entry and field ("routes[2].delay_ms: ...").
Result<std::vector<NetemRoute>> ParseNetemRoutes(std::string_view json_text);

}  // namespace custodian::proto
