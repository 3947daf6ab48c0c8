// Micro-benchmarks of the pieces on the agent's and landmark's paths. The end-to-end figure
// (time the agent adds to a round trip) comes from `custodian bench rtt`; these say where the
// time goes. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include "core/crypto.h"
#include "proto/receipt.h"
#include "proto/wire.h"

namespace custodian::proto {
namespace {

Challenge SampleChallenge() {
  Challenge c;
  c.session = 0x0123456789abcdefULL;
  c.seq = 7;
  c.nonce.fill(0x5a);
  c.landmark_id = "SIN-1";
  return c;
}

// The agent's whole hot path for one challenge: decode, build signed bytes, sign, encode.
void BM_AgentAnswer(benchmark::State& state) {
  SigningKey key = SigningKey::Generate();
  NodeId node_id = DeriveNodeId(key.public_key());
  Sha256Digest chipset{};
  auto datagram = EncodeChallenge(SampleChallenge());
  for (auto _ : state) {
    Challenge c;
    DecodeChallenge(datagram, &c);
    Response r{c.session, c.seq,
               key.Sign(MakeResponseSignedBytes(c.landmark_id, c.session, c.seq, c.nonce, node_id,
                                                chipset))};
    auto out = EncodeResponse(r);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_AgentAnswer);

void BM_Ed25519Verify(benchmark::State& state) {
  SigningKey key = SigningKey::Generate();
  Bytes msg(kResponseSignedSize, 0x42);
  Signature sig = key.Sign(msg);
  for (auto _ : state) benchmark::DoNotOptimize(VerifySignature(key.public_key(), msg, sig));
}
BENCHMARK(BM_Ed25519Verify);

void BM_DecodeGarbage(benchmark::State& state) {
  Bytes garbage(kHelloSize, 0xff);
  for (auto _ : state) {
    Hello h;
    benchmark::DoNotOptimize(DecodeHello(garbage, &h));
  }
}
BENCHMARK(BM_DecodeGarbage);

void BM_ReceiptSignAndParse(benchmark::State& state) {
  SigningKey key = SigningKey::Generate();
  Receipt r;
  r.landmark_id = "SIN-1";
  r.landmark_lat = 1.3521;
  r.landmark_lon = 103.8198;
  r.landmark_pub = key.public_key();
  r.node_pub = key.public_key();
  r.node_id = DeriveNodeId(r.node_pub);
  r.time_utc = "2026-11-22T21:30:00.123Z";
  r.samples_requested = 16;
  for (int i = 0; i < 16; ++i) r.samples_ns.push_back(30000 + i);
  r.min_rtt_ns = 30000;
  for (auto _ : state) {
    SignReceipt(r, key);
    auto parsed = ParseReceipt(SerializeReceipt(r));
    benchmark::DoNotOptimize(VerifyReceipt(*parsed, key.public_key()));
  }
}
BENCHMARK(BM_ReceiptSignAndParse);

}  // namespace
}  // namespace custodian::proto
