// Gets the log's checkpoints cosigned by its witnesses: the client half of C2SP tlog-witness.
//
// After each integration the cosigner sends the newest checkpoint to every configured witness
// (POST <witness>/add-checkpoint: "old <size>" — the size that witness last cosigned, as far as
// we know — a consistency proof from it, a blank line and the signed checkpoint), checks the
// cosignature it gets back against the witness's verifier key (type 0x04) and stores it with the
// checkpoint (tlog::Log::AddCosignature), so /log/checkpoint serves it. A 409 answer tells the
// witness's real size (text/x.tlog.size): the cosigner adopts it and retries once. A witness
// that is down is retried at the next checkpoint; it never holds up integration. With
// LogOptions::required_cosignatures = k, /log/checkpoint shows only checkpoints that k witnesses
// have cosigned.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "tlog/log.h"
#include "tlog/note.h"

namespace custodian::tlog {

struct WitnessEndpoint {
  std::string url;   // "http://127.0.0.1:7380" (the witness's base URL)
  VerifierKey vkey;  // its cosignature key (type 0x04)
};
// "URL=VKEY", as `serve --witness` takes it.
Result<WitnessEndpoint> ParseWitnessFlag(std::string_view flag);

class Cosigner {
 public:
  Cosigner(Log& log, std::vector<WitnessEndpoint> witnesses, int64_t interval_ms = 500);
  ~Cosigner();  // Stop()

  // Sends the newest checkpoint to every witness that has not cosigned it; returns how many
  // cosignatures it holds afterwards. Errors per witness are logged, not returned.
  int PushNewest();
  void Start();  // PushNewest every interval_ms on a thread of its own
  void Stop();

 private:
  Status PushTo(size_t witness, const std::string& checkpoint, const Checkpoint& parsed);

  Log& log_;
  std::vector<WitnessEndpoint> witnesses_;
  int64_t interval_ms_;
  std::mutex mu_;                          // one push at a time
  std::map<size_t, uint64_t> known_size_;  // witness -> size it last cosigned (guarded by mu_)
  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
};

}  // namespace custodian::tlog
