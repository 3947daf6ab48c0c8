#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "server/routes.h"

namespace custodian::server {
namespace {

// Methods get a small code so a counter's key needs no string.
constexpr std::array<std::string_view, 8> kMethods = {"GET",    "HEAD",  "POST",    "PUT",
                                                      "DELETE", "PATCH", "OPTIONS", "OTHER"};

uint64_t MethodCode(std::string_view method) {
  for (size_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (kMethods[i] == method) return i;
  }
  return kMethods.size() - 1;
}

uint64_t PackKey(int route_index, uint64_t method, int status) {
  uint64_t code = status >= 0 && status < 1000 ? uint64_t(status) : 0;
  return (uint64_t(route_index + 1) << 24) | (method << 16) | code;
}

// Label values are route templates and fixed words, but escape per the format anyway.
std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string RouteLabel(int route_index) {
  auto routes = Routes();
  if (route_index < 0 || size_t(route_index) >= routes.size()) return "unmatched";
  return Escape(routes[route_index].path);
}

std::string FormatSeconds(double s) {
  return fmt::format("{}", s);
}

}  // namespace

HttpMetrics::HttpMetrics() {
  for (size_t i = 0; i <= Routes().size(); ++i)
    histograms_.push_back(std::make_unique<Histogram>());
}

size_t HttpMetrics::HistogramIndex(int route_index) const {
  if (route_index < 0 || size_t(route_index) >= Routes().size()) return Routes().size();
  return size_t(route_index);
}

void HttpMetrics::Record(int route_index, std::string_view method, int status, double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  Histogram& h = *histograms_[HistogramIndex(route_index)];
  size_t bucket = std::lower_bound(kLatencyBucketsS.begin(), kLatencyBucketsS.end(), seconds) -
                  kLatencyBucketsS.begin();
  h.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(uint64_t(std::llround(seconds * 1e9)), std::memory_order_relaxed);
  bool known = route_index >= 0 && size_t(route_index) < Routes().size();
  uint64_t key = PackKey(known ? route_index : -1, MethodCode(method), status);
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[key];
}

std::string HttpMetrics::Render(const registry::RegistryMetrics& registry) const {
  std::string out;
  out.reserve(8192);
  auto line = [&out](std::string_view text) {
    out += text;
    out += '\n';
  };

  line("# HELP custodian_up 1 while the server is serving requests.");
  line("# TYPE custodian_up gauge");
  line("custodian_up 1");

  line(
      "# HELP custodian_http_requests_total HTTP requests answered, by route template, method "
      "and status code.");
  line("# TYPE custodian_http_requests_total counter");
  {
    std::map<uint64_t, uint64_t> snapshot;
    {
      std::lock_guard<std::mutex> lock(mu_);
      snapshot = requests_;
    }
    for (const auto& [key, count] : snapshot) {
      int route_index = int(key >> 24) - 1;
      auto method = kMethods[(key >> 16) & 0xff];
      int code = int(key & 0xffff);
      line(fmt::format("custodian_http_requests_total{{route=\"{}\",method=\"{}\",code=\"{}\"}} {}",
                       RouteLabel(route_index), method, code, count));
    }
  }

  line(
      "# HELP custodian_http_request_duration_seconds Time from a request's headers to its "
      "response being ready to send, by route template.");
  line("# TYPE custodian_http_request_duration_seconds histogram");
  for (size_t i = 0; i < histograms_.size(); ++i) {
    const Histogram& h = *histograms_[i];
    uint64_t count = h.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string route = RouteLabel(i < Routes().size() ? int(i) : -1);
    uint64_t cumulative = 0;
    for (size_t b = 0; b < h.buckets.size(); ++b) {
      cumulative += h.buckets[b].load(std::memory_order_relaxed);
      std::string le = b < kLatencyBucketsS.size() ? FormatSeconds(kLatencyBucketsS[b]) : "+Inf";
      line(
          fmt::format("custodian_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}",
                      route, le, cumulative));
    }
    // The buckets were read one by one while requests kept coming; keep count consistent with
    // the +Inf bucket, as the format requires.
    line(fmt::format("custodian_http_request_duration_seconds_sum{{route=\"{}\"}} {}", route,
                     FormatSeconds(double(h.sum_ns.load(std::memory_order_relaxed)) / 1e9)));
    line(fmt::format("custodian_http_request_duration_seconds_count{{route=\"{}\"}} {}", route,
                     cumulative));
  }

  line(
      "# HELP custodian_verdicts_total Geolocation verdicts reached since the server started, "
      "by kind.");
  line("# TYPE custodian_verdicts_total counter");
  std::map<std::string, uint64_t> verdicts = registry.verdicts;
  for (const char* kind : {"verified", "inconclusive", "violation", "stale"})
    verdicts.emplace(kind, 0);
  for (const auto& [kind, count] : verdicts) {
    line(fmt::format("custodian_verdicts_total{{kind=\"{}\"}} {}", Escape(kind), count));
  }
  line("# HELP custodian_attestations_total Attestations accepted since the server started.");
  line("# TYPE custodian_attestations_total counter");
  line(fmt::format("custodian_attestations_total {}", registry.attestations));
  line(
      "# HELP custodian_attestations_rejected_total Attestations refused since the server "
      "started.");
  line("# TYPE custodian_attestations_rejected_total counter");
  line(fmt::format("custodian_attestations_rejected_total {}", registry.attestations_rejected));
  line("# HELP custodian_alerts_open Open alerts, as stored in the database.");
  line("# TYPE custodian_alerts_open gauge");
  line(fmt::format("custodian_alerts_open {}", registry.alerts_open));
  line("# HELP custodian_ingest_in_flight Attestations being ingested right now.");
  line("# TYPE custodian_ingest_in_flight gauge");
  line(fmt::format("custodian_ingest_in_flight {}", registry.ingest_in_flight));
  return out;
}

}  // namespace custodian::server
