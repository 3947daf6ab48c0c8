#include "proto/landmark.h"

#include <netinet/in.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "core/clock.h"
#include "proto/receipt.h"
#include "proto/udp_socket.h"

namespace custodian::proto {
namespace {

constexpr int64_t kMaxIdleWaitNs = 100'000'000;  // wake at least this often to check `stop`
constexpr int kMaxReceiptResends = 5;
constexpr size_t kMaxRateBuckets = 65536;
constexpr std::string_view kTranscriptDomain = "custodian/transcript/v1\n";

struct Session {
  SessionId id = 0;
  SocketAddress peer;
  Hello hello;
  std::array<uint8_t, kHelloSize> hello_bytes{};
  uint32_t next_seq = 0;       // seq of the outstanding (or next) challenge
  bool authenticated = false;  // a valid RESPONSE arrived: the peer receives at its address
  enum class State { kAwaiting, kSpacing, kDone } state = State::kAwaiting;
  Nonce nonce{};
  std::array<uint8_t, kChallengeSize> challenge_bytes{};
  int64_t sent_mono_ns = 0;
  int64_t deadline_mono_ns = 0;
  std::vector<int64_t> samples_ns;
  bool all_kernel = true;
  Sha256Hasher transcript;
  Bytes receipt_datagram;
  int receipt_resends = 0;
};

struct Timer {
  int64_t deadline_mono_ns;
  SessionId session;
  bool operator>(const Timer& o) const { return deadline_mono_ns > o.deadline_mono_ns; }
};

// A token bucket per source IP address (port ignored), for HELLOs.
struct RateBucket {
  double tokens;
  int64_t updated_mono_ns;
};

std::string IpKey(const SocketAddress& a) {
  SocketAddress copy = a;
  if (copy.family() == AF_INET) reinterpret_cast<sockaddr_in*>(&copy.storage)->sin_port = 0;
  if (copy.family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&copy.storage)->sin6_port = 0;
  return copy.ToString();
}

}  // namespace

uint64_t LandmarkStats::dropped_total() const {
  uint64_t total = 0;
  for (uint64_t d : dropped) total += d;
  return total;
}

nlohmann::json LandmarkStats::ToJson() const {
  nlohmann::json drops = nlohmann::json::object();
  for (size_t i = 1; i < static_cast<size_t>(DropReason::kCount); ++i) {
    drops[DropReasonName(static_cast<DropReason>(i))] = dropped[i];
  }
  return {{"datagrams", datagrams},
          {"sessions_started", sessions_started},
          {"sessions_completed", sessions_completed},
          {"sessions_failed", sessions_failed},
          {"challenges_sent", challenges_sent},
          {"responses_accepted", responses_accepted},
          {"samples_lost", samples_lost},
          {"receipts_sent", receipts_sent},
          {"errors_sent", errors_sent},
          {"dropped_total", dropped_total()},
          {"dropped", drops}};
}

Status ValidateLandmarkConfig(const LandmarkConfig& c) {
  if (!ValidLandmarkId(c.id)) {
    return Status::InvalidInput("--id: must be 1-32 characters of A-Z a-z 0-9 . _ - (got '" + c.id +
                                "')");
  }
  if (!(c.lat_deg >= -90 && c.lat_deg <= 90))
    return Status::InvalidInput("--lat: must be in [-90, 90]");
  if (!(c.lon_deg >= -180 && c.lon_deg <= 180)) {
    return Status::InvalidInput("--lon: must be in [-180, 180]");
  }
  if (c.response_timeout_ns <= 0 || c.spacing_ns < 0 || c.max_sessions == 0) {
    return Status::InvalidInput("landmark timing limits must be positive");
  }
  return Status::Ok();
}

class Landmark::Impl {
 public:
  Impl(LandmarkConfig config, SigningKey key, UdpSocket socket)
      : config_(std::move(config)), key_(std::move(key)), socket_(std::move(socket)) {}

  LandmarkConfig config_;
  SigningKey key_;
  UdpSocket socket_;
  std::unordered_map<SessionId, Session> sessions_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  // HELLO client nonces seen within the skew window, oldest first, for replay refusal.
  std::unordered_set<std::string> seen_nonces_;
  std::deque<std::pair<int64_t, std::string>> nonce_expiry_;
  std::unordered_map<std::string, RateBucket> rate_;
  mutable std::mutex stats_mu_;
  LandmarkStats stats_;

  void Count(DropReason r) {
    std::lock_guard lock(stats_mu_);
    stats_.dropped[static_cast<size_t>(r)]++;
  }
  template <typename F>
  void Stat(F f) {
    std::lock_guard lock(stats_mu_);
    f(stats_);
  }

  Status Run(const std::atomic<bool>& stop) {
    std::array<uint8_t, kMaxDatagram + 1> buffer{};
    while (!stop.load(std::memory_order_relaxed)) {
      int64_t now = MonotonicNs();
      FireTimers(now);
      int64_t wait = kMaxIdleWaitNs;
      if (!timers_.empty())
        wait = std::clamp<int64_t>(timers_.top().deadline_mono_ns - now, 1, wait);
      auto got = socket_.Receive(buffer, wait);
      if (!got.ok()) {
        if (got.status().code() == StatusCode::kUnavailable) continue;  // timeout
        return got.status();
      }
      // Drain everything queued before looking at timers again.
      for (;;) {
        Stat([](LandmarkStats& s) { s.datagrams++; });
        if (got->truncated) {
          Count(DropReason::kOversized);
        } else {
          Handle(ByteView(buffer.data(), got->size), *got);
        }
        got = socket_.TryReceive(buffer);
        if (!got.ok()) break;
      }
    }
    return Status::Ok();
  }

  void Handle(ByteView d, const ReceivedDatagram& meta) {
    MessageType type{};
    if (DropReason r = DecodeHeader(d, &type); r != DropReason::kNone) return Count(r);
    switch (type) {
      case MessageType::kHello:
        return OnHello(d, meta);
      case MessageType::kResponse:
        return OnResponse(d, meta);
      case MessageType::kReceiptRequest:
        return OnReceiptRequest(d, meta);
      default:
        return Count(DropReason::kBadType);  // messages a landmark never receives
    }
  }

  void SendError(ErrorCode code, const ClientNonce& ref, const SocketAddress& to) {
    auto e = EncodeError({code, ref});
    if (socket_.SendTo(e, to).ok()) Stat([](LandmarkStats& s) { s.errors_sent++; });
  }

  bool TakeHelloToken(const SocketAddress& from, int64_t now) {
    std::string key = IpKey(from);
    auto it = rate_.find(key);
    if (it == rate_.end()) {
      if (rate_.size() >= kMaxRateBuckets) rate_.clear();  // bounded memory; forgets everyone
      it = rate_.emplace(key, RateBucket{config_.hello_burst_per_ip, now}).first;
    }
    RateBucket& b = it->second;
    b.tokens =
        std::min(config_.hello_burst_per_ip, b.tokens + double(now - b.updated_mono_ns) / 1e9 *
                                                            config_.hellos_per_second_per_ip);
    b.updated_mono_ns = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  void ExpireNonces(int64_t now) {
    while (!nonce_expiry_.empty() && nonce_expiry_.front().first <= now) {
      seen_nonces_.erase(nonce_expiry_.front().second);
      nonce_expiry_.pop_front();
    }
  }

  void OnHello(ByteView d, const ReceivedDatagram& meta) {
    Hello hello;
    if (DropReason r = DecodeHello(d, &hello); r != DropReason::kNone) return Count(r);
    int64_t now = MonotonicNs();
    // Cheap checks first; the signature check (tens of µs) only for HELLOs that pass them.
    if (hello.node_id != DeriveNodeId(hello.node_pub)) return Count(DropReason::kBadNodeId);
    if (!TakeHelloToken(meta.from, now)) {
      Count(DropReason::kRateLimited);
      return;  // silent: an answer per HELLO is what a flood wants
    }
    int64_t skew = hello.agent_time_ms * 1'000'000 - RealtimeNs();
    if (std::llabs(skew) > config_.max_clock_skew_ns) {
      Count(DropReason::kClockSkew);
      return SendError(ErrorCode::kClockSkew, hello.client_nonce, meta.from);
    }
    if (!VerifySignature(hello.node_pub, HelloSignedBytes(hello, key_.public_key()),
                         hello.agent_sig)) {
      Count(DropReason::kBadSignature);
      return SendError(ErrorCode::kBadSignature, hello.client_nonce, meta.from);
    }
    ExpireNonces(now);
    std::string nonce_key(hello.client_nonce.begin(), hello.client_nonce.end());
    if (seen_nonces_.count(nonce_key) != 0) {
      Count(DropReason::kReusedNonce);
      return SendError(ErrorCode::kReusedNonce, hello.client_nonce, meta.from);
    }
    if (sessions_.size() >= config_.max_sessions ||
        seen_nonces_.size() >= config_.max_sessions * 64) {
      Count(DropReason::kBusy);
      return SendError(ErrorCode::kBusy, hello.client_nonce, meta.from);
    }
    seen_nonces_.insert(nonce_key);
    nonce_expiry_.emplace_back(now + 2 * config_.max_clock_skew_ns, nonce_key);

    SessionId id = 0;
    do {
      RandomBytes(reinterpret_cast<uint8_t*>(&id), sizeof id);
    } while (id == 0 || sessions_.count(id) != 0);
    Session& s = sessions_[id];
    s.id = id;
    s.peer = meta.from;
    s.hello = hello;
    s.hello_bytes = EncodeHello(hello);
    s.transcript.Update(AsBytes(kTranscriptDomain));
    s.transcript.Update(s.hello_bytes);
    Stat([](LandmarkStats& st) { st.sessions_started++; });
    SendChallenge(s);
  }

  void SendChallenge(Session& s) {
    Challenge c;
    c.session = s.id;
    c.seq = s.next_seq;
    RandomBytes(c.nonce.data(), c.nonce.size());
    c.landmark_id = config_.id;
    s.nonce = c.nonce;
    s.challenge_bytes = EncodeChallenge(c);
    s.state = Session::State::kAwaiting;
    // Read the clock before sendto: the syscall's own time then counts towards the RTT, which
    // can only lengthen it.
    s.sent_mono_ns = MonotonicNs();
    Status sent = socket_.SendTo(s.challenge_bytes, s.peer);
    s.deadline_mono_ns = s.sent_mono_ns + config_.response_timeout_ns;
    timers_.push({s.deadline_mono_ns, s.id});
    if (sent.ok()) Stat([](LandmarkStats& st) { st.challenges_sent++; });
  }

  void OnResponse(ByteView d, const ReceivedDatagram& meta) {
    Response r;
    if (DropReason reason = DecodeResponse(d, &r); reason != DropReason::kNone)
      return Count(reason);
    auto it = sessions_.find(r.session);
    if (it == sessions_.end()) return Count(DropReason::kUnknownSession);
    Session& s = it->second;
    if (!(meta.from == s.peer)) return Count(DropReason::kWrongAddress);
    if (s.state != Session::State::kAwaiting || r.seq != s.next_seq) {
      return Count(DropReason::kReplayedSeq);
    }
    auto signed_bytes = MakeResponseSignedBytes(config_.id, s.id, r.seq, s.nonce, s.hello.node_id,
                                                s.hello.chipset_hash);
    if (!VerifySignature(s.hello.node_pub, signed_bytes, r.agent_sig)) {
      return Count(DropReason::kBadSignature);  // keep waiting: the genuine answer may follow
    }
    int64_t rtt = meta.arrival_mono_ns - s.sent_mono_ns;
    if (rtt <= 0) {  // cannot happen with a monotonic clock; never record a non-physical sample
      rtt = MonotonicNs() - s.sent_mono_ns;
      s.all_kernel = false;
    }
    s.samples_ns.push_back(rtt);
    s.all_kernel = s.all_kernel && meta.timestamping == Timestamping::kKernel;
    s.authenticated = true;
    s.transcript.Update(s.challenge_bytes);
    s.transcript.Update(d);
    Stat([](LandmarkStats& st) { st.responses_accepted++; });
    s.next_seq++;
    if (s.next_seq >= s.hello.samples) return Finish(s);
    s.state = Session::State::kSpacing;
    s.deadline_mono_ns = MonotonicNs() + config_.spacing_ns;
    timers_.push({s.deadline_mono_ns, s.id});
  }

  void OnReceiptRequest(ByteView d, const ReceivedDatagram& meta) {
    ReceiptRequest rr;
    if (DropReason reason = DecodeReceiptRequest(d, &rr); reason != DropReason::kNone) {
      return Count(reason);
    }
    auto it = sessions_.find(rr.session);
    if (it == sessions_.end()) return Count(DropReason::kUnknownSession);
    Session& s = it->second;
    // Only to the address that proved it receives there, and only a few times.
    if (!(meta.from == s.peer)) return Count(DropReason::kWrongAddress);
    if (s.state != Session::State::kDone || s.receipt_resends >= kMaxReceiptResends) {
      return Count(DropReason::kReplayedSeq);
    }
    s.receipt_resends++;
    if (socket_.SendTo(s.receipt_datagram, s.peer).ok()) {
      Stat([](LandmarkStats& st) { st.receipts_sent++; });
    }
  }

  void Finish(Session& s) {
    if (s.samples_ns.empty()) {
      Stat([](LandmarkStats& st) { st.sessions_failed++; });
      sessions_.erase(s.id);
      return;
    }
    Receipt r;
    r.landmark_id = config_.id;
    r.landmark_lat = config_.lat_deg;
    r.landmark_lon = config_.lon_deg;
    r.landmark_pub = key_.public_key();
    r.node_id = s.hello.node_id;
    r.node_pub = s.hello.node_pub;
    r.chipset_hash = s.hello.chipset_hash;
    r.session = s.id;
    r.time_utc = FormatUtc(RealtimeNs());
    r.samples_requested = s.hello.samples;
    r.samples_ns = s.samples_ns;
    r.min_rtt_ns = *std::min_element(s.samples_ns.begin(), s.samples_ns.end());
    r.timestamping = s.all_kernel ? Timestamping::kKernel : Timestamping::kUser;
    r.transcript_hash = s.transcript.Finish();
    SignReceipt(r, key_);
    s.receipt_datagram = EncodeReceiptMessage({s.id, SerializeReceipt(r)});
    s.state = Session::State::kDone;
    s.deadline_mono_ns = MonotonicNs() + config_.receipt_retention_ns;
    timers_.push({s.deadline_mono_ns, s.id});
    Stat([](LandmarkStats& st) { st.sessions_completed++; });
    if (socket_.SendTo(s.receipt_datagram, s.peer).ok()) {
      Stat([](LandmarkStats& st) { st.receipts_sent++; });
    }
  }

  void FireTimers(int64_t now) {
    while (!timers_.empty() && timers_.top().deadline_mono_ns <= now) {
      Timer t = timers_.top();
      timers_.pop();
      auto it = sessions_.find(t.session);
      if (it == sessions_.end()) continue;
      Session& s = it->second;
      if (s.deadline_mono_ns != t.deadline_mono_ns) continue;  // superseded timer
      switch (s.state) {
        case Session::State::kDone:
          sessions_.erase(it);
          break;
        case Session::State::kSpacing:
          SendChallenge(s);
          break;
        case Session::State::kAwaiting:
          Stat([](LandmarkStats& st) { st.samples_lost++; });
          if (!s.authenticated) {  // never send more to an address that has not proved itself
            Stat([](LandmarkStats& st) { st.sessions_failed++; });
            sessions_.erase(it);
          } else if (++s.next_seq >= s.hello.samples) {
            Finish(s);
          } else {
            SendChallenge(s);
          }
          break;
      }
    }
  }
};

Landmark::Landmark(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Landmark::~Landmark() = default;

Result<std::unique_ptr<Landmark>> Landmark::Create(const LandmarkConfig& config, SigningKey key) {
  CUSTODIAN_RETURN_IF_ERROR(ValidateLandmarkConfig(config));
  auto socket = UdpSocket::Bind(config.listen);
  if (!socket.ok()) return socket.status();
  return std::unique_ptr<Landmark>(
      new Landmark(std::make_unique<Impl>(config, std::move(key), std::move(*socket))));
}

SocketAddress Landmark::local_address() const {
  auto a = impl_->socket_.local_address();
  return a.ok() ? *a : impl_->config_.listen;
}
const PublicKey& Landmark::public_key() const {
  return impl_->key_.public_key();
}
bool Landmark::kernel_timestamps() const {
  return impl_->socket_.kernel_timestamps();
}
Status Landmark::Run(const std::atomic<bool>& stop) {
  return impl_->Run(stop);
}
LandmarkStats Landmark::Stats() const {
  std::lock_guard lock(impl_->stats_mu_);
  return impl_->stats_;
}

}  // namespace custodian::proto
