// A transparency-log witness (C2SP tlog-witness, cosignatures per C2SP tlog-cosignature,
// cosignature/v1 with Ed25519 keys of type 0x04).
//
// A witness is configured with the note keys (type 0x01) of the logs it follows; a log is
// identified by its checkpoint origin, which is the name of its key. For each origin it keeps
// the latest checkpoint it cosigned (size, root hash, the signed note) in a state file, and it
// cosigns a new checkpoint only when it is consistent with that one:
//
//   POST /add-checkpoint   body: "old <size>\n" ‖ proof lines (base64 hashes) ‖ "\n" ‖ note
//
//   400  malformed body, old size > checkpoint size, a proof with old size 0, > 63 proof lines
//   403  no signature on the checkpoint verifies against a key trusted for its origin
//   404  the origin is not one of the configured logs
//   409  old size differs from the size last cosigned (body "<size>\n", Content-Type
//        text/x.tlog.size), or the same size with a different root hash (a fork)
//   422  the consistency proof from the stored checkpoint does not verify
//   500  the state could not be persisted (nothing is cosigned)
//   200  one cosignature line "— <witness name> <base64(key hash ‖ time ‖ signature)>\n"
//
// The check of the old size and the update of the state are one atomic step (a mutex), and the
// state file is written (temporary file, fsync, rename; mode 0600) before the answer is sent,
// so a cosigned size is never forgotten and the witness never cosigns a rollback. Validly
// signed checkpoints that contradict the stored one are kept as evidence in the state file (at
// most 32 per log, then only counted) and logged: a fork (same size, other root) at
// "critical" level, a proof that does not verify as a warning.
//
// Thread-safety: AddCheckpoint may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/net_address.h"
#include "core/status.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

namespace httplib {
class Server;
}

namespace custodian::tlog {

inline constexpr size_t kMaxWitnessProofLines = 63;
inline constexpr const char* kTlogSizeContentType = "text/x.tlog.size";

struct WitnessOptions {
  std::string name = "custodian-witness";  // the cosigner (key) name
  std::shared_ptr<const SigningKey> key;   // the witness key
  std::vector<VerifierKey> log_keys;       // type 0x01; origin = key name
  std::string state_path;                  // JSON, written atomically with mode 0600
  // Seconds since the epoch, for the cosignature timestamps (tests pin it).
  std::function<uint64_t()> now_s;
};

// Validates the options (names, key types) without touching the state file.
Status ValidateWitnessOptions(const WitnessOptions& options);

// What the witness answers: an HTTP status, a Content-Type and a body.
struct WitnessReply {
  int status = 500;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The state of one log: the latest checkpoint cosigned for its origin.
struct WitnessLogState {
  uint64_t size = 0;
  Hash root{};
  std::string checkpoint;  // the signed note as received
  uint64_t cosigned_at_s = 0;
};

class Witness {
 public:
  // Loads the state file, or creates an empty one (0600) when it does not exist. A state file
  // that cannot be parsed is an error (Corruption): starting empty would let a log roll back.
  static Result<std::unique_ptr<Witness>> Open(WitnessOptions options);

  // Handles one add-checkpoint request body (see the table above).
  WitnessReply AddCheckpoint(std::string_view body);

  // The witness's verifier key: "<name>+<hash>+<base64(0x04 ‖ public key)>".
  VerifierKey verifier_key() const;
  std::optional<WitnessLogState> State(const std::string& origin) const;
  // Evidence kept so far for `origin` (fork or failed proof), newest last.
  size_t EvidenceCount(const std::string& origin) const;

 private:
  explicit Witness(WitnessOptions options);
  struct Evidence {
    uint64_t time_s = 0;
    std::string reason;
    std::string request;  // the whole request body
  };
  struct LogRecord {
    std::optional<WitnessLogState> state;
    std::vector<Evidence> evidence;
    uint64_t evidence_dropped = 0;
  };
  Status Load();
  Status Persist(const std::map<std::string, LogRecord>& logs) const;
  // Records a validly signed checkpoint that contradicts the stored state: a fork (two signed
  // roots for one size: proof of misbehaviour, logged as critical) or a failed proof (which
  // the submitter, not necessarily the log, may have got wrong: a warning). Holds mu_.
  void RecordEvidence(const std::string& origin, bool fork, std::string reason,
                      std::string_view body);

  WitnessOptions options_;
  VerifierKey vkey_;
  mutable std::mutex mu_;                  // one request's check-and-persist at a time
  std::map<std::string, LogRecord> logs_;  // by origin; mirrors the state file
};

struct WitnessServerOptions {
  std::string listen = "127.0.0.1:7380";  // HOST:PORT; port 0 lets the OS choose
  size_t max_body_bytes = 64 << 10;       // a checkpoint and 63 proof lines fit easily
  int threads = 8;
};

// Serves POST /add-checkpoint for a Witness over HTTP (cpp-httplib), one log line per request
// on spdlog. Lifecycle as server::ApiServer: Start binds and serves on its own threads (which
// block SIGINT/SIGTERM), Stop lets requests in flight finish.
class WitnessServer {
 public:
  WitnessServer(Witness& witness, WitnessServerOptions options);
  ~WitnessServer();
  WitnessServer(const WitnessServer&) = delete;
  WitnessServer& operator=(const WitnessServer&) = delete;

  Status Start();           // IoError "--listen HOST:PORT: cannot bind …"
  std::string url() const;  // "http://127.0.0.1:PORT", valid after Start
  bool serving() const;
  void Stop();

 private:
  Witness& witness_;
  WitnessServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  SocketAddress bound_;
  struct Runner;
  std::unique_ptr<Runner> runner_;
};

}  // namespace custodian::tlog
