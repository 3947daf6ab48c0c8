// Verdict throughput (issue: ≥ 20,000 verdicts/s per core for a 5-receipt bundle against the
// full restricted set), with signature checks counted apart from the geometry. Single thread.
// Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>

#include "core/crypto.h"
#include "geo/countries.h"
#include "geo/geodesic.h"
#include "geo/landmarks.h"
#include "geo/policy.h"
#include "geo/verdict.h"
#include "proto/receipt.h"
#include "proto/wire.h"

namespace custodian::geo {
namespace {

struct Place {
  const char* id;
  const char* country;
  LatLon position;
};

// A chip in a Singapore data centre (Jurong, 9 km from the landmark) and the five landmarks
// a deployment there would use.
constexpr LatLon kSite{1.2966, 103.7764};
const Place kLandmarks[] = {
    {"SIN-1", "SG", {1.3521, 103.8198}},   {"KUL-1", "MY", {3.1390, 101.6869}},
    {"CGK-1", "ID", {-6.2088, 106.8456}},  {"BKK-1", "TH", {13.7563, 100.5018}},
    {"SYD-1", "AU", {-33.8688, 151.2093}},
};
constexpr int kLandmarkCount = 5;

const CountryMap& Map() {
  static const CountryMap* map = [] {
    auto m = CountryMap::LoadDefault();
    if (!m.ok()) {
      std::fprintf(stderr, "geo_bench: %s\n", m.status().ToString().c_str());
      std::abort();
    }
    return new CountryMap(std::move(m).value());
  }();
  return *map;
}

std::vector<TrustedLandmark> MakeLandmarks(std::vector<SigningKey>* keys) {
  std::vector<TrustedLandmark> out;
  for (const auto& p : kLandmarks) {
    keys->push_back(SigningKey::Generate());
    out.push_back({p.id, std::string("operator-") + p.country, p.position, p.country,
                   keys->back().public_key()});
  }
  return out;
}

// RTTs at 1.2x the physical minimum for the site (light, there and back), each jittered by up
// to 5 % so that no two bundles in a run are the same.
std::vector<std::vector<Observation>> Bundles(const std::vector<TrustedLandmark>& landmarks,
                                              int n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> jitter(1.0, 1.05);
  std::vector<std::vector<Observation>> out(static_cast<size_t>(n));
  for (auto& bundle : out) {
    for (const auto& l : landmarks) {
      double d_km =
          GeodesicDistanceKm(kSite.lat_deg, kSite.lon_deg, l.position.lat_deg, l.position.lon_deg);
      double min_ns = 2 * d_km / kSpeedOfLightKmPerS * 1e9;
      bundle.push_back({&l, int64_t(1.2 * min_ns * jitter(rng)) + 1});
    }
  }
  return out;
}

void RunDecide(benchmark::State& state, const std::set<std::string>& licensed) {
  std::vector<SigningKey> keys;
  auto landmarks = MakeLandmarks(&keys);
  auto bundles = Bundles(landmarks, 256);
  VerdictEngine engine(Map(), DefaultPolicy());
  VerdictRequest request;
  request.site = kSite;
  request.licensed = licensed;
  request.observations = bundles[0];
  // Warm the engine's caches (licensed territory, landmark distances): a server keeps them.
  Verdict first = engine.Decide(request);
  state.SetLabel(std::string(VerdictKindName(first.kind)) + ", " + first.reasons[0].code);
  size_t i = 0;
  int64_t verified = 0;
  for (auto _ : state) {
    request.observations = bundles[i++ % bundles.size()];
    Verdict v = engine.Decide(request);
    verified += v.kind == VerdictKind::kVerified;
    benchmark::DoNotOptimize(v);
  }
  state.counters["verdicts/s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["verified_share"] =
      double(verified) / double(std::max<int64_t>(1, state.iterations()));
}

// The geometry and policy of one verdict: 5 observations, the full restricted set of the
// default policy, licensed zone Singapore + Malaysia + Indonesia.
void BM_DecideFiveLandmarksLicensed(benchmark::State& state) {
  RunDecide(state, {"SG", "MY", "ID"});
}
BENCHMARK(BM_DecideFiveLandmarksLicensed);

// The same with no licensed zone (the geo eval question: clear of restricted territory?).
void BM_DecideFiveLandmarksRestrictedOnly(benchmark::State& state) {
  RunDecide(state, {});
}
BENCHMARK(BM_DecideFiveLandmarksRestrictedOnly);

// Signature checks of the same bundle, counted apart: 5 receipts checked against the trusted
// landmarks (key, node id, samples, Ed25519 signature, position agreement).
void BM_CheckFiveReceipts(benchmark::State& state) {
  std::vector<SigningKey> keys;
  auto landmarks = MakeLandmarks(&keys);
  SigningKey node = SigningKey::Generate();
  std::vector<proto::Receipt> receipts;
  for (int k = 0; k < kLandmarkCount; ++k) {
    proto::Receipt r;
    r.landmark_id = landmarks[size_t(k)].id;
    r.landmark_lat = landmarks[size_t(k)].position.lat_deg;
    r.landmark_lon = landmarks[size_t(k)].position.lon_deg;
    r.landmark_pub = keys[size_t(k)].public_key();
    r.node_pub = node.public_key();
    r.node_id = proto::DeriveNodeId(r.node_pub);
    r.time_utc = "2026-11-22T21:30:00.123Z";
    r.samples_requested = 16;
    for (int s = 0; s < 16; ++s) r.samples_ns.push_back(1'000'000 + s * 1000);
    r.min_rtt_ns = 1'000'000;
    proto::SignReceipt(r, keys[size_t(k)]);
    receipts.push_back(r);
  }
  const bool parse = state.range(0) != 0;
  std::vector<std::string> texts;
  for (const auto& r : receipts) texts.push_back(proto::SerializeReceipt(r));
  for (auto _ : state) {
    for (int k = 0; k < kLandmarkCount; ++k) {
      if (parse) {
        auto r = proto::ParseReceipt(texts[size_t(k)]);
        benchmark::DoNotOptimize(CheckReceiptAgainst(*r, landmarks));
      } else {
        benchmark::DoNotOptimize(CheckReceiptAgainst(receipts[size_t(k)], landmarks));
      }
    }
  }
  state.SetLabel(parse ? "parse + check" : "check only");
  state.counters["bundles/s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CheckFiveReceipts)->Arg(0)->Arg(1);

}  // namespace
}  // namespace custodian::geo
