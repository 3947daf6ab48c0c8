// Landmark + agent sessions in one process over loopback UDP: a full measurement, refusals,
// replays, unknown sessions, garbage accounting, rate limits, and the no-amplification rule
// (checked by counting the bytes that reach a client that never answers).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/net_address.h"
#include "proto/agent.h"
#include "proto/landmark.h"
#include "proto/receipt.h"
#include "proto/udp_socket.h"
#include "proto/wire.h"

namespace custodian::proto {
namespace {

constexpr int64_t kMs = 1'000'000;

SigningKey KeyFromByte(uint8_t b) {
  return SigningKey::FromSeed(Bytes(32, b)).value();
}

SocketAddress Loopback0() {
  return ParseHostPort("127.0.0.1:0", "test").value();
}

uint64_t Dropped(const LandmarkStats& s, DropReason r) {
  return s.dropped[static_cast<size_t>(r)];
}

LandmarkConfig TestConfig() {
  LandmarkConfig c;
  c.id = "test-lm.1";
  c.lat_deg = 52.2053;
  c.lon_deg = 0.1218;
  c.listen = Loopback0();
  c.spacing_ns = 200'000;             // keep sessions short
  c.response_timeout_ns = 300 * kMs;  // unanswered sessions end quickly
  return c;
}

// A landmark serving on 127.0.0.1 in a background thread for the life of the fixture.
class LandmarkSessionTest : public ::testing::Test {
 protected:
  void Start(LandmarkConfig config = TestConfig()) {
    auto lm = Landmark::Create(config, landmark_key_);
    ASSERT_TRUE(lm.ok()) << lm.status().ToString();
    landmark_ = std::move(lm).value();
    address_ = landmark_->local_address();
    ASSERT_NE(address_.port(), 0);
    thread_ = std::thread([this] { run_status_ = landmark_->Run(stop_); });
  }

  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
  }

  LandmarkStats Stats() const { return landmark_->Stats(); }

  // Polls the landmark's counters until `pred` holds (or 10 s pass).
  bool WaitFor(const std::function<bool(const LandmarkStats&)>& pred) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(Stats())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred(Stats());
  }

  MeasureConfig Measuring(uint16_t samples) const {
    MeasureConfig m;
    m.landmark = address_;
    m.landmark_pub = landmark_key_.public_key();
    m.samples = samples;
    m.chipset_hash = chipset_;
    m.wait_timeout_ns = 2'000 * kMs;
    return m;
  }

  // A HELLO signed by the node key for `landmark_pub`, with a client nonce made from `tag`.
  Hello MakeHello(uint16_t samples, uint8_t tag, const PublicKey& landmark_pub) const {
    Hello h;
    h.node_pub = node_key_.public_key();
    h.node_id = DeriveNodeId(h.node_pub);
    h.chipset_hash = chipset_;
    h.client_nonce.fill(tag);
    h.client_nonce[0] = 0xc1;
    h.agent_time_ms = RealtimeNs() / kMs;
    h.samples = samples;
    h.agent_sig = node_key_.Sign(HelloSignedBytes(h, landmark_pub));
    return h;
  }
  Hello MakeHello(uint16_t samples, uint8_t tag) const {
    return MakeHello(samples, tag, landmark_key_.public_key());
  }

  Response Answer(const Challenge& c) const {
    Response r;
    r.session = c.session;
    r.seq = c.seq;
    r.agent_sig = node_key_.Sign(MakeResponseSignedBytes(
        c.landmark_id, c.session, c.seq, c.nonce, DeriveNodeId(node_key_.public_key()), chipset_));
    return r;
  }

  SigningKey landmark_key_ = KeyFromByte(0x02);
  SigningKey node_key_ = KeyFromByte(0x01);
  Sha256Digest chipset_ = [] {
    Sha256Digest d;
    d.fill(0x03);
    return d;
  }();
  std::unique_ptr<Landmark> landmark_;
  SocketAddress address_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Status run_status_;
};

UdpSocket RawSocket() {
  return UdpSocket::Bind(Loopback0()).value();
}

void Send(UdpSocket& s, ByteView d, const SocketAddress& to) {
  Status st = s.SendTo(d, to);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::optional<Bytes> Receive(UdpSocket& s, int64_t timeout_ns) {
  std::array<uint8_t, kMaxDatagram + 1> buf{};
  auto got = s.Receive(buf, timeout_ns);
  if (!got.ok()) return std::nullopt;
  return Bytes(buf.begin(), buf.begin() + long(got->size));
}

MessageType TypeOf(const Bytes& d) {
  MessageType t{};
  EXPECT_EQ(DecodeHeader(d, &t), DropReason::kNone);
  return t;
}

// ---------------------------------------------------------------- the happy path

TEST_F(LandmarkSessionTest, MeasureGetsAVerifiedReceipt) {
  Start();
  auto result = Measure(Measuring(8), node_key_);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Receipt& r = result->receipt;
  EXPECT_TRUE(VerifyReceipt(r, landmark_key_.public_key()).ok());
  EXPECT_TRUE(result->transcript_matches);
  EXPECT_EQ(r.samples_requested, 8u);
  EXPECT_EQ(r.samples_ns.size(), 8u);
  EXPECT_EQ(r.landmark_id, "test-lm.1");
  EXPECT_EQ(r.landmark_lat, 52.2053);
  EXPECT_EQ(r.landmark_lon, 0.1218);
  EXPECT_EQ(r.landmark_pub, landmark_key_.public_key());
  EXPECT_EQ(r.node_pub, node_key_.public_key());
  EXPECT_EQ(r.node_id, DeriveNodeId(node_key_.public_key()));
  EXPECT_EQ(r.chipset_hash, chipset_);
  for (int64_t rtt : r.samples_ns) {
    EXPECT_GT(rtt, 0);
    EXPECT_LT(rtt, 1'000 * kMs);
  }
  EXPECT_EQ(result->receipt_json, SerializeReceipt(r));
  auto reparsed = ParseReceipt(result->receipt_json);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();

  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) { return s.receipts_sent >= 1; }));
  LandmarkStats s = Stats();
  EXPECT_EQ(s.sessions_started, 1u);
  EXPECT_EQ(s.sessions_completed, 1u);
  EXPECT_EQ(s.challenges_sent, 8u);
  EXPECT_EQ(s.responses_accepted, 8u);
  EXPECT_EQ(s.samples_lost, 0u);
  EXPECT_EQ(s.dropped_total(), 0u);
}

TEST_F(LandmarkSessionTest, SeveralSessionsInARowEachGetTheirOwnReceipt) {
  Start();
  std::vector<SessionId> sessions;
  for (int i = 0; i < 3; ++i) {
    auto result = Measure(Measuring(2), node_key_);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->transcript_matches);
    sessions.push_back(result->receipt.session);
  }
  EXPECT_NE(sessions[0], sessions[1]);
  EXPECT_NE(sessions[1], sessions[2]);
  EXPECT_EQ(Stats().sessions_completed, 3u);
}

// ---------------------------------------------------------------- refusals

TEST_F(LandmarkSessionTest, HelloSignedForAnotherLandmarkGetsAnError) {
  Start();
  MeasureConfig m = Measuring(4);
  m.landmark_pub = KeyFromByte(0x09).public_key();  // the agent pins the wrong landmark key
  auto result = Measure(m, node_key_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedCheck) << result.status().ToString();
  EXPECT_NE(result.status().message().find("--landmark-pub"), std::string::npos)
      << result.status().message();
  // The landmark counts a sent ERROR after sendto returns, which may be after we read it.
  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) { return s.errors_sent == 1; }));
  LandmarkStats s = Stats();
  EXPECT_EQ(Dropped(s, DropReason::kBadSignature), 1u);
  EXPECT_EQ(s.sessions_started, 0u);
}

TEST_F(LandmarkSessionTest, ReplayedHelloIsCountedAsReusedNonce) {
  Start();
  UdpSocket raw = RawSocket();
  Hello hello = MakeHello(4, 0x11);
  auto bytes = EncodeHello(hello);
  Send(raw, bytes, address_);
  Send(raw, bytes, address_);  // the captured datagram, replayed
  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) { return s.datagrams >= 2; }));

  bool got_challenge = false, got_error = false;
  for (int i = 0; i < 2; ++i) {
    auto d = Receive(raw, 2'000 * kMs);
    ASSERT_TRUE(d.has_value()) << "expected a CHALLENGE and an ERROR";
    if (TypeOf(*d) == MessageType::kChallenge) {
      got_challenge = true;
    } else {
      ErrorMessage e;
      ASSERT_EQ(DecodeError(*d, &e), DropReason::kNone);
      EXPECT_EQ(e.code, ErrorCode::kReusedNonce);
      EXPECT_EQ(e.ref, hello.client_nonce);
      got_error = true;
    }
  }
  EXPECT_TRUE(got_challenge);
  EXPECT_TRUE(got_error);
  LandmarkStats s = Stats();
  EXPECT_EQ(Dropped(s, DropReason::kReusedNonce), 1u);
  EXPECT_EQ(s.sessions_started, 1u);
}

TEST_F(LandmarkSessionTest, ReplayedHelloFromAnotherAddressIsAlsoRefused) {
  Start();
  UdpSocket a = RawSocket();
  UdpSocket b = RawSocket();
  auto bytes = EncodeHello(MakeHello(4, 0x12));
  Send(a, bytes, address_);
  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) { return s.sessions_started == 1; }));
  Send(b, bytes, address_);
  ASSERT_TRUE(
      WaitFor([](const LandmarkStats& s) { return Dropped(s, DropReason::kReusedNonce) == 1; }));
  EXPECT_EQ(Stats().sessions_started, 1u);
}

TEST_F(LandmarkSessionTest, StaleHelloIsRefusedForClockSkew) {
  Start();
  UdpSocket raw = RawSocket();
  Hello h = MakeHello(4, 0x13);
  h.agent_time_ms -= 3'600'000;  // an hour old
  h.agent_sig = node_key_.Sign(HelloSignedBytes(h, landmark_key_.public_key()));
  Send(raw, EncodeHello(h), address_);
  auto d = Receive(raw, 2'000 * kMs);
  ASSERT_TRUE(d.has_value());
  ErrorMessage e;
  ASSERT_EQ(DecodeError(*d, &e), DropReason::kNone);
  EXPECT_EQ(e.code, ErrorCode::kClockSkew);
  EXPECT_EQ(Dropped(Stats(), DropReason::kClockSkew), 1u);
}

TEST_F(LandmarkSessionTest, FullSessionTableAnswersBusy) {
  LandmarkConfig c = TestConfig();
  c.max_sessions = 1;
  Start(c);
  UdpSocket raw = RawSocket();
  Send(raw, EncodeHello(MakeHello(4, 0x21)), address_);
  auto first = Receive(raw, 2'000 * kMs);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(TypeOf(*first), MessageType::kChallenge);
  Send(raw, EncodeHello(MakeHello(4, 0x22)), address_);
  auto second = Receive(raw, 2'000 * kMs);
  ASSERT_TRUE(second.has_value());
  ErrorMessage e;
  ASSERT_EQ(DecodeError(*second, &e), DropReason::kNone);
  EXPECT_EQ(e.code, ErrorCode::kBusy);
  EXPECT_EQ(Dropped(Stats(), DropReason::kBusy), 1u);
}

TEST_F(LandmarkSessionTest, HelloFloodFromOneAddressIsRateLimitedSilently) {
  LandmarkConfig c = TestConfig();
  c.hellos_per_second_per_ip = 0.001;
  c.hello_burst_per_ip = 3;
  Start(c);
  UdpSocket raw = RawSocket();
  for (uint8_t i = 0; i < 10; ++i)
    Send(raw, EncodeHello(MakeHello(4, uint8_t(0x30 + i))), address_);
  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) {
    return s.sessions_started + Dropped(s, DropReason::kRateLimited) == 10;
  }));
  LandmarkStats s = Stats();
  EXPECT_EQ(s.sessions_started, 3u);
  EXPECT_EQ(Dropped(s, DropReason::kRateLimited), 7u);
  int answers = 0;
  while (Receive(raw, 200 * kMs)) ++answers;
  EXPECT_EQ(answers, 3);  // one CHALLENGE per admitted HELLO, nothing for the rest
}

// ---------------------------------------------------------------- sessions driven by hand

TEST_F(LandmarkSessionTest, UnknownSessionIsCounted) {
  Start();
  UdpSocket raw = RawSocket();
  Response r;
  r.session = 0x1234567890abcdefULL;
  r.seq = 0;
  Send(raw, EncodeResponse(r), address_);
  Send(raw, EncodeReceiptRequest({0x1234567890abcdefULL}), address_);
  ASSERT_TRUE(
      WaitFor([](const LandmarkStats& s) { return Dropped(s, DropReason::kUnknownSession) == 2; }));
  EXPECT_EQ(Stats().dropped_total(), 2u);
  EXPECT_FALSE(Receive(raw, 100 * kMs).has_value());  // and not answered
}

TEST_F(LandmarkSessionTest, HandDrivenSessionWithReplayForgeryAndWrongAddress) {
  Start();
  UdpSocket raw = RawSocket();
  UdpSocket other = RawSocket();
  const auto hello = EncodeHello(MakeHello(2, 0x40));
  Send(raw, hello, address_);

  // seq 0
  auto c0_bytes = Receive(raw, 2'000 * kMs);
  ASSERT_TRUE(c0_bytes.has_value());
  Challenge c0;
  ASSERT_EQ(DecodeChallenge(*c0_bytes, &c0), DropReason::kNone);
  EXPECT_EQ(c0.seq, 0u);
  EXPECT_EQ(c0.landmark_id, "test-lm.1");
  const auto r0 = EncodeResponse(Answer(c0));
  Send(raw, r0, address_);
  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) { return s.responses_accepted == 1; }));
  Send(raw, r0, address_);  // replay of an answered seq
  ASSERT_TRUE(
      WaitFor([](const LandmarkStats& s) { return Dropped(s, DropReason::kReplayedSeq) == 1; }));
  EXPECT_EQ(Stats().responses_accepted, 1u);

  // seq 1: a forged answer, then the right answer from the wrong address, then the real one.
  auto c1_bytes = Receive(raw, 2'000 * kMs);
  ASSERT_TRUE(c1_bytes.has_value());
  Challenge c1;
  ASSERT_EQ(DecodeChallenge(*c1_bytes, &c1), DropReason::kNone);
  EXPECT_EQ(c1.seq, 1u);
  EXPECT_EQ(c1.session, c0.session);
  EXPECT_NE(c1.nonce, c0.nonce);
  Response forged = Answer(c1);
  forged.agent_sig[5] ^= 1;
  Send(raw, EncodeResponse(forged), address_);
  const auto r1 = EncodeResponse(Answer(c1));
  Send(other, r1, address_);
  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) {
    return Dropped(s, DropReason::kBadSignature) == 1 && Dropped(s, DropReason::kWrongAddress) == 1;
  }));
  Send(raw, r1, address_);

  auto receipt_bytes = Receive(raw, 2'000 * kMs);
  ASSERT_TRUE(receipt_bytes.has_value());
  ReceiptMessage m;
  ASSERT_EQ(DecodeReceiptMessage(*receipt_bytes, &m), DropReason::kNone);
  EXPECT_EQ(m.session, c0.session);
  auto receipt = ParseReceipt(m.json);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_TRUE(VerifyReceipt(*receipt, landmark_key_.public_key()).ok());
  EXPECT_EQ(receipt->samples_ns.size(), 2u);
  EXPECT_EQ(receipt->session, c0.session);

  // The transcript hash covers exactly HELLO and each accepted CHALLENGE/RESPONSE pair.
  Sha256Hasher t;
  t.Update(AsBytes("custodian/transcript/v1\n"));
  t.Update(hello);
  t.Update(*c0_bytes);
  t.Update(r0);
  t.Update(*c1_bytes);
  t.Update(r1);
  EXPECT_EQ(receipt->transcript_hash, t.Finish());

  // A lost receipt can be asked for again, only from the session's address.
  Send(raw, EncodeReceiptRequest({c0.session}), address_);
  auto again = Receive(raw, 2'000 * kMs);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *receipt_bytes);
  Send(other, EncodeReceiptRequest({c0.session}), address_);
  ASSERT_TRUE(
      WaitFor([](const LandmarkStats& s) { return Dropped(s, DropReason::kWrongAddress) == 2; }));
  EXPECT_FALSE(Receive(other, 100 * kMs).has_value());
  // A late replay after the receipt changes nothing.
  Send(raw, r1, address_);
  ASSERT_TRUE(
      WaitFor([](const LandmarkStats& s) { return Dropped(s, DropReason::kReplayedSeq) == 2; }));
  LandmarkStats s = Stats();
  EXPECT_EQ(s.responses_accepted, 2u);
  EXPECT_EQ(s.sessions_completed, 1u);
  EXPECT_EQ(s.receipts_sent, 2u);
}

TEST_F(LandmarkSessionTest, GarbageIsCountedByReasonAndNeverAnswered) {
  Start();
  UdpSocket raw = RawSocket();
  std::vector<Bytes> garbage;
  auto add = [&](Bytes b) { garbage.push_back(std::move(b)); };
  const auto hello = EncodeHello(MakeHello(4, 0x50));
  const Bytes hello_bytes(hello.begin(), hello.end());

  add(Bytes{'a', 'b', 'c'});                                   // truncated
  add(Bytes(hello_bytes.begin(), hello_bytes.begin() + 100));  // truncated
  Bytes bad_magic = hello_bytes;
  bad_magic[0] = 'X';
  add(bad_magic);  // bad_magic
  Bytes bad_version = hello_bytes;
  bad_version[4] = 2;
  add(bad_version);  // bad_version
  Bytes bad_type = hello_bytes;
  bad_type[5] = 9;
  add(bad_type);  // bad_type
  Challenge c;
  c.landmark_id = "x";
  auto challenge = EncodeChallenge(c);
  add(Bytes(challenge.begin(), challenge.end()));  // bad_type: never received
  Bytes reserved = hello_bytes;
  reserved[7] = 1;
  add(reserved);  // bad_reserved
  Hello zero_samples = MakeHello(4, 0x51);
  zero_samples.samples = 0;
  auto zs = EncodeHello(zero_samples);
  add(Bytes(zs.begin(), zs.end()));  // bad_field
  Hello wrong_id = MakeHello(4, 0x52);
  wrong_id.node_id[0] ^= 1;
  auto wi = EncodeHello(wrong_id);
  add(Bytes(wi.begin(), wi.end()));  // bad_node_id
  Bytes longer = hello_bytes;
  longer.push_back(0);
  add(longer);                          // oversized
  add(Bytes(kMaxDatagram + 1, 'C'));    // oversized
  add(Bytes(kMaxDatagram + 100, 'C'));  // oversized

  for (const auto& g : garbage) Send(raw, g, address_);
  const uint64_t n = garbage.size();
  ASSERT_TRUE(WaitFor([n](const LandmarkStats& s) { return s.dropped_total() == n; }));
  LandmarkStats s = Stats();
  EXPECT_EQ(Dropped(s, DropReason::kTruncated), 2u);
  EXPECT_EQ(Dropped(s, DropReason::kBadMagic), 1u);
  EXPECT_EQ(Dropped(s, DropReason::kBadVersion), 1u);
  EXPECT_EQ(Dropped(s, DropReason::kBadType), 2u);
  EXPECT_EQ(Dropped(s, DropReason::kBadReserved), 1u);
  EXPECT_EQ(Dropped(s, DropReason::kBadField), 1u);
  EXPECT_EQ(Dropped(s, DropReason::kBadNodeId), 1u);
  EXPECT_EQ(Dropped(s, DropReason::kOversized), 3u);
  EXPECT_EQ(s.dropped_total(), n);
  EXPECT_EQ(s.sessions_started, 0u);
  EXPECT_FALSE(Receive(raw, 200 * kMs).has_value());

  // The counters appear by name in the JSON form.
  auto j = s.ToJson();
  EXPECT_EQ(j["dropped"]["bad_magic"], 1);
  EXPECT_EQ(j["dropped_total"], n);
}

// Until a session is authenticated the landmark never sends more bytes than it received:
// a spoofed source address cannot turn it into an amplifier.
TEST_F(LandmarkSessionTest, NoAmplificationTowardsAClientThatNeverAnswers) {
  Start();
  UdpSocket raw = RawSocket();
  uint64_t bytes_sent = 0, datagrams_sent = 0;
  auto send = [&](ByteView d) {
    Send(raw, d, address_);
    bytes_sent += d.size();
    ++datagrams_sent;
  };
  constexpr int kSessions = 20;
  for (int i = 0; i < kSessions; ++i) {
    send(EncodeHello(MakeHello(uint16_t(kMaxSamples), uint8_t(0x60 + i))));
  }
  for (int i = 0; i < 5; ++i) {  // signed for another landmark: ERROR
    send(EncodeHello(
        MakeHello(uint16_t(kMaxSamples), uint8_t(0x80 + i), KeyFromByte(0x09).public_key())));
  }
  for (int i = 0; i < 5; ++i) {  // replays: ERROR
    send(EncodeHello(MakeHello(uint16_t(kMaxSamples), uint8_t(0x60 + i))));
  }
  for (int i = 0; i < 5; ++i) {  // receipt requests for sessions that do not exist: nothing
    send(EncodeReceiptRequest({uint64_t(i + 1)}));
  }
  // Wait until every session has timed out unanswered, then collect everything that arrived.
  ASSERT_TRUE(WaitFor([](const LandmarkStats& s) { return s.sessions_failed == kSessions; }));
  uint64_t bytes_received = 0, datagrams_received = 0, challenges = 0;
  while (auto d = Receive(raw, 300 * kMs)) {
    bytes_received += d->size();
    ++datagrams_received;
    if (TypeOf(*d) == MessageType::kChallenge) ++challenges;
  }
  EXPECT_EQ(challenges, uint64_t(kSessions));  // one each: no retransmission, no second seq
  EXPECT_EQ(datagrams_received, uint64_t(kSessions + 10));
  EXPECT_LE(datagrams_received, datagrams_sent);
  EXPECT_LE(bytes_received, bytes_sent);
  EXPECT_EQ(bytes_received, uint64_t(kSessions * kChallengeSize + 10 * kErrorSize));
  LandmarkStats s = Stats();
  EXPECT_EQ(s.challenges_sent, uint64_t(kSessions));
  EXPECT_EQ(s.errors_sent, 10u);
  EXPECT_EQ(s.receipts_sent, 0u);
}

TEST(LandmarkConfigTest, RejectsBadConfiguration) {
  LandmarkConfig c = TestConfig();
  EXPECT_TRUE(ValidateLandmarkConfig(c).ok());
  LandmarkConfig bad_id = c;
  bad_id.id = "no spaces";
  EXPECT_NE(ValidateLandmarkConfig(bad_id).message().find("--id"), std::string::npos);
  LandmarkConfig bad_lat = c;
  bad_lat.lat_deg = 91;
  EXPECT_NE(ValidateLandmarkConfig(bad_lat).message().find("--lat"), std::string::npos);
  LandmarkConfig bad_lon = c;
  bad_lon.lon_deg = -181;
  EXPECT_NE(ValidateLandmarkConfig(bad_lon).message().find("--lon"), std::string::npos);
  auto created = Landmark::Create(bad_lat, KeyFromByte(0x02));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidInput);
}

TEST(MeasureTest, NoLandmarkMeansUnavailable) {
  // A bound socket that never answers stands in for a dead landmark.
  UdpSocket silent = RawSocket();
  MeasureConfig m;
  m.landmark = silent.local_address().value();
  m.landmark_pub = KeyFromByte(0x02).public_key();
  m.samples = 2;
  m.wait_timeout_ns = 50 * kMs;
  m.hello_attempts = 2;
  auto result = Measure(m, KeyFromByte(0x01));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  int hellos = 0;
  while (auto d = Receive(silent, 50 * kMs)) {
    EXPECT_EQ(d->size(), kHelloSize);
    ++hellos;
  }
  EXPECT_EQ(hellos, 2);
}

TEST(MeasureTest, SampleCountIsChecked) {
  MeasureConfig m;
  m.landmark = Loopback0();
  for (uint16_t n : {uint16_t(0), uint16_t(kMaxSamples + 1)}) {
    m.samples = n;
    auto result = Measure(m, KeyFromByte(0x01));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(result.status().message().find("--samples"), std::string::npos);
  }
}

}  // namespace
}  // namespace custodian::proto
