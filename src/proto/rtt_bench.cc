#include "proto/rtt_bench.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/clock.h"
#include "core/crypto.h"
#include "proto/agent.h"
#include "proto/landmark.h"
#include "proto/wire.h"

namespace custodian::proto {
namespace {

SocketAddress Loopback() {
  return ParseHostPort("127.0.0.1:0", "bench").value();
}

// (a) Echo: a responder thread bounces datagrams; the measuring side times like a landmark.
Result<std::vector<int64_t>> MeasureEcho(const RttBenchConfig& config, bool* all_kernel) {
  auto responder = UdpSocket::Bind(Loopback());
  if (!responder.ok()) return responder.status();
  auto measurer = UdpSocket::Bind(Loopback());
  if (!measurer.ok()) return measurer.status();
  auto responder_addr = responder->local_address();
  if (!responder_addr.ok()) return responder_addr.status();

  std::atomic<bool> stop{false};
  std::thread echo([&] {
    std::array<uint8_t, 512> buf{};
    while (!stop.load(std::memory_order_relaxed)) {
      auto got =
          config.busy_poll ? responder->TryReceive(buf) : responder->Receive(buf, 100'000'000);
      if (got.ok()) (void)responder->SendTo(ByteView(buf.data(), got->size), got->from);
    }
  });

  std::vector<int64_t> samples;
  std::array<uint8_t, kChallengeSize> payload{};
  std::array<uint8_t, 512> buf{};
  Status status;
  for (int i = 0; i < config.samples && status.ok(); ++i) {
    RandomBytes(payload.data(), payload.size());
    int64_t sent = MonotonicNs();
    status = measurer->SendTo(payload, *responder_addr);
    if (!status.ok()) break;
    auto got = measurer->Receive(buf, 1'000'000'000);
    if (!got.ok()) {
      status = got.status().WithContext("echo");
      break;
    }
    samples.push_back(got->arrival_mono_ns - sent);
    *all_kernel = *all_kernel && got->timestamping == Timestamping::kKernel;
    std::this_thread::sleep_for(std::chrono::nanoseconds(config.spacing_ns));
  }
  stop = true;
  echo.join();
  if (!status.ok()) return status;
  return samples;
}

// (b) Protocol: a real Landmark thread and proto::Measure sessions of kMaxSamples challenges.
Result<std::vector<int64_t>> MeasureProtocol(const RttBenchConfig& config, bool* all_kernel) {
  LandmarkConfig lc;
  lc.id = "BENCH";
  lc.listen = Loopback();
  lc.spacing_ns = config.spacing_ns;
  lc.hellos_per_second_per_ip = 1e6;
  lc.hello_burst_per_ip = 1e6;
  auto landmark = Landmark::Create(lc, SigningKey::Generate());
  if (!landmark.ok()) return landmark.status();
  std::atomic<bool> stop{false};
  Status run_status;
  std::thread server([&] { run_status = (*landmark)->Run(stop); });

  MeasureConfig mc;
  mc.landmark = (*landmark)->local_address();
  mc.landmark_pub = (*landmark)->public_key();
  mc.busy_poll = config.busy_poll;
  SigningKey node = SigningKey::Generate();
  std::vector<int64_t> samples;
  Status status;
  while (int(samples.size()) < config.samples) {
    mc.samples = uint16_t(std::min<int>(kMaxSamples, config.samples - int(samples.size())));
    auto result = Measure(mc, node);
    if (!result.ok()) {
      status = result.status();
      break;
    }
    const auto& s = result->receipt.samples_ns;
    samples.insert(samples.end(), s.begin(), s.end());
    *all_kernel = *all_kernel && result->receipt.timestamping == Timestamping::kKernel;
  }
  stop = true;
  server.join();
  if (!status.ok()) return status;
  if (!run_status.ok()) return run_status;
  return samples;
}

}  // namespace

RttStats RttStats::Of(std::vector<int64_t> samples_ns) {
  RttStats s;
  s.count = samples_ns.size();
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  s.min_ns = samples_ns.front();
  s.median_ns = samples_ns[samples_ns.size() / 2];
  s.p90_ns = samples_ns[samples_ns.size() * 9 / 10];
  return s;
}

Result<RttBenchResult> RunRttBench(const RttBenchConfig& config) {
  if (config.samples < 1) return Status::InvalidInput("--samples: must be >= 1");
  bool all_kernel = true;
  auto echo = MeasureEcho(config, &all_kernel);
  if (!echo.ok()) return echo.status();
  auto protocol = MeasureProtocol(config, &all_kernel);
  if (!protocol.ok()) return protocol.status();
  RttBenchResult r;
  r.echo = RttStats::Of(std::move(*echo));
  r.protocol = RttStats::Of(std::move(*protocol));
  r.timestamping = all_kernel ? Timestamping::kKernel : Timestamping::kUser;
  return r;
}

}  // namespace custodian::proto
