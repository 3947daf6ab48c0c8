#include "proto/agent.h"

#include <algorithm>
#include <vector>

#include "core/clock.h"
#include "proto/udp_socket.h"
#include "proto/wire.h"

namespace custodian::proto {
namespace {

constexpr std::string_view kTranscriptDomain = "custodian/transcript/v1\n";

struct Answered {
  std::array<uint8_t, kChallengeSize> challenge;
  std::array<uint8_t, kResponseSize> response;
};

}  // namespace

Result<MeasureResult> Measure(const MeasureConfig& config, const SigningKey& node_key) {
  if (config.samples < 1 || config.samples > kMaxSamples) {
    return Status::InvalidInput("--samples: must be in 1.." + std::to_string(kMaxSamples));
  }
  auto socket = UdpSocket::ForPeer(config.landmark);
  if (!socket.ok()) return socket.status();
  const NodeId node_id = DeriveNodeId(node_key.public_key());
  const std::string where = "landmark " + config.landmark.ToString();

  std::array<uint8_t, kMaxDatagram + 1> buf{};
  for (int attempt = 0; attempt < config.hello_attempts; ++attempt) {
    Hello hello;
    hello.node_id = node_id;
    hello.node_pub = node_key.public_key();
    hello.chipset_hash = config.chipset_hash;
    RandomBytes(hello.client_nonce.data(), hello.client_nonce.size());
    hello.agent_time_ms = RealtimeNs() / 1'000'000;
    hello.samples = config.samples;
    hello.agent_sig = node_key.Sign(HelloSignedBytes(hello, config.landmark_pub));
    const auto hello_bytes = EncodeHello(hello);
    CUSTODIAN_RETURN_IF_ERROR(socket->SendTo(hello_bytes, config.landmark));

    SessionId session = 0;  // learnt from the first challenge
    std::string landmark_id;
    uint32_t last_seq = 0;
    bool answered_any = false;
    std::vector<Answered> answered;
    answered.reserve(config.samples);
    int receipt_requests_left = config.receipt_requests;

    for (;;) {
      // Hot path: wait for the next datagram. Busy polling trades a core for wake-up latency.
      Result<ReceivedDatagram> got = Status::Unavailable("");
      if (config.busy_poll) {
        const int64_t deadline = MonotonicNs() + config.wait_timeout_ns;
        do {
          got = socket->TryReceive(buf);
        } while (!got.ok() && got.status().code() == StatusCode::kUnavailable &&
                 MonotonicNs() < deadline);
      } else {
        got = socket->Receive(buf, config.wait_timeout_ns);
      }
      if (!got.ok()) {
        if (got.status().code() != StatusCode::kUnavailable) return got.status();
        if (session == 0) break;  // HELLO or first challenge lost: new HELLO
        if (answered_any && receipt_requests_left-- > 0) {
          CUSTODIAN_RETURN_IF_ERROR(
              socket->SendTo(EncodeReceiptRequest({session}), config.landmark));
          continue;
        }
        return Status::Unavailable(where + " stopped answering in session " +
                                   std::to_string(session));
      }
      if (!(got->from == config.landmark) || got->truncated) continue;
      ByteView d(buf.data(), got->size);
      MessageType type{};
      if (DecodeHeader(d, &type) != DropReason::kNone) continue;

      if (type == MessageType::kChallenge) {
        Challenge c;
        if (DecodeChallenge(d, &c) != DropReason::kNone) continue;
        if (session == 0) {
          session = c.session;
          landmark_id = c.landmark_id;
        }
        if (c.session != session || c.landmark_id != landmark_id) continue;
        if (answered_any && c.seq <= last_seq) continue;  // duplicate: answer each seq once
        Response r;
        r.session = c.session;
        r.seq = c.seq;
        r.agent_sig = node_key.Sign(MakeResponseSignedBytes(c.landmark_id, c.session, c.seq,
                                                            c.nonce, node_id, config.chipset_hash));
        auto response = EncodeResponse(r);
        CUSTODIAN_RETURN_IF_ERROR(socket->SendTo(response, config.landmark));
        // Off the hot path from here on.
        Answered a{};
        std::copy(d.begin(), d.end(), a.challenge.begin());
        a.response = response;
        answered.push_back(a);
        answered_any = true;
        last_seq = c.seq;
        continue;
      }
      if (type == MessageType::kError) {
        ErrorMessage e;
        if (DecodeError(d, &e) != DropReason::kNone || e.ref != hello.client_nonce) continue;
        return Status::FailedCheck(where + " refused the session: " + ErrorCodeText(e.code));
      }
      if (type == MessageType::kReceipt) {
        ReceiptMessage m;
        if (DecodeReceiptMessage(d, &m) != DropReason::kNone || m.session != session ||
            session == 0) {
          continue;
        }
        auto receipt = ParseReceipt(m.json);
        if (!receipt.ok()) return receipt.status().WithContext(where + " sent a bad receipt");
        CUSTODIAN_RETURN_IF_ERROR(VerifyReceipt(*receipt, config.landmark_pub)
                                      .WithContext(where + " sent a receipt that fails"));
        if (receipt->node_pub != node_key.public_key() ||
            receipt->chipset_hash != config.chipset_hash || receipt->session != session ||
            receipt->landmark_id != landmark_id) {
          return Status::FailedCheck(where +
                                     " sent a receipt for another node, chip set or session");
        }
        Sha256Hasher transcript;
        transcript.Update(AsBytes(kTranscriptDomain));
        transcript.Update(hello_bytes);
        for (const auto& a : answered) {
          transcript.Update(a.challenge);
          transcript.Update(a.response);
        }
        MeasureResult result;
        result.transcript_matches = transcript.Finish() == receipt->transcript_hash;
        result.receipt = std::move(*receipt);
        result.receipt_json = std::move(m.json);
        return result;
      }
    }
  }
  return Status::Unavailable("no answer from " + where + " after " +
                             std::to_string(config.hello_attempts) +
                             " HELLOs (is a landmark running there?)");
}

}  // namespace custodian::proto
