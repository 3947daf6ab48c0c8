// Request counters and latency histograms for /metrics (Prometheus text format 0.0.4).
//
// Series are labelled by route template ("/v1/sites/{id}"), never by the raw path, so their
// number is bounded by the route table (requests that match no route share route="unmatched").
// Recording costs a few atomic adds plus one short mutex-protected map update keyed by small
// integers; nothing is allocated except the first time a (route, method, code) triple is seen.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "registry/registry.h"

namespace custodian::server {

// Upper bounds of the latency histogram's buckets, in seconds (+Inf is implied).
inline constexpr std::array<double, 13> kLatencyBucketsS = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

class HttpMetrics {
 public:
  HttpMetrics();

  // `route_index` indexes Routes(); -1 for a request that matched no route.
  void Record(int route_index, std::string_view method, int status, double seconds);

  // The whole exposition: custodian_up, the HTTP series, and the registry's counters.
  std::string Render(const registry::RegistryMetrics& registry) const;

 private:
  struct Histogram {
    std::array<std::atomic<uint64_t>, kLatencyBucketsS.size() + 1> buckets{};  // last: +Inf
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_ns{0};
  };
  size_t HistogramIndex(int route_index) const;

  std::vector<std::unique_ptr<Histogram>> histograms_;  // one per route, last: unmatched
  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> requests_;  // (route+1, method, code) packed -> count
};

}  // namespace custodian::server
