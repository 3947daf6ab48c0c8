#include "tlog/witness.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/bytes.h"
#include "core/file.h"

namespace custodian::tlog {
namespace {

using nlohmann::json;

constexpr size_t kMaxEvidencePerLog = 32;
constexpr int kStateVersion = 1;

uint64_t WallClockSeconds() {
  return uint64_t(std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

WitnessReply Reply(int status, std::string body) {
  WitnessReply r;
  r.status = status;
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body += "\n";
  return r;
}

// "old <size>": ASCII decimal without leading zeroes (except "0" itself).
Result<uint64_t> ParseOldSize(std::string_view line) {
  constexpr std::string_view kPrefix = "old ";
  if (line.substr(0, kPrefix.size()) != kPrefix) {
    return Status::InvalidInput("the first line must be \"old <size>\"");
  }
  std::string_view digits = line.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 20 || (digits.size() > 1 && digits[0] == '0')) {
    return Status::InvalidInput("old size: not a decimal number without leading zeroes");
  }
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return Status::InvalidInput("old size: not a decimal number");
    uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return Status::InvalidInput("old size: too large");
    v = v * 10 + d;
  }
  return v;
}

struct AddRequest {
  uint64_t old_size = 0;
  std::vector<Hash> proof;
  std::string signed_note;  // the checkpoint as received
  Note note;
  Checkpoint checkpoint;
};

// Parses an add-checkpoint body; InvalidInput (400) saying what is wrong.
Result<AddRequest> ParseAddRequest(std::string_view body) {
  AddRequest req;
  size_t pos = 0;
  auto next_line = [&](std::string_view* line) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    *line = body.substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };
  std::string_view line;
  if (!next_line(&line)) return Status::InvalidInput("the body has no \"old <size>\" line");
  auto old_size = ParseOldSize(line);
  if (!old_size.ok()) return old_size.status();
  req.old_size = *old_size;
  for (;;) {
    if (!next_line(&line)) {
      return Status::InvalidInput("no empty line between the proof and the checkpoint");
    }
    if (line.empty()) break;
    if (req.proof.size() == kMaxWitnessProofLines) {
      return Status::InvalidInput("more than " + std::to_string(kMaxWitnessProofLines) +
                                  " consistency proof lines");
    }
    auto hash = FixedFromBytes<32>(Base64Decode(line),
                                   "proof line " + std::to_string(req.proof.size() + 1));
    if (!hash.ok()) return hash.status();
    req.proof.push_back(*hash);
  }
  req.signed_note = std::string(body.substr(pos));
  auto note = ParseNote(req.signed_note);
  if (!note.ok()) return note.status().WithContext("checkpoint");
  req.note = std::move(*note);
  auto checkpoint = ParseCheckpoint(req.note.text);
  if (!checkpoint.ok()) return checkpoint.status().WithContext("checkpoint");
  req.checkpoint = std::move(*checkpoint);
  if (req.old_size > req.checkpoint.size) {
    return Status::InvalidInput("old size " + std::to_string(req.old_size) +
                                " is larger than the checkpoint size " +
                                std::to_string(req.checkpoint.size));
  }
  if (req.old_size == 0 && !req.proof.empty()) {
    return Status::InvalidInput("the consistency proof must be empty when the old size is 0");
  }
  return req;
}

// One signature line of a signed note: "— <name> <base64(key hash ‖ signature)>\n".
std::string SignatureLine(const NoteSignature& sig) {
  Bytes raw(4);
  PutU32(raw.data(), sig.key_hash);
  raw.insert(raw.end(), sig.signature.begin(), sig.signature.end());
  return "\u2014 " + sig.name + " " + Base64Encode(raw) + "\n";
}

std::string RootText(const Hash& root) {
  return Base64Encode(root);
}

// The numeric host httplib should bind ("127.0.0.1", "::1").
std::string NumericHost(const SocketAddress& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr.get())->sin6_addr, buf,
                sizeof buf);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr.get())->sin_addr, buf,
                sizeof buf);
  }
  return buf;
}

void SetPort(SocketAddress& addr, int port) {
  if (addr.family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(addr.get())->sin6_port = htons(uint16_t(port));
  } else {
    reinterpret_cast<sockaddr_in*>(addr.get())->sin_port = htons(uint16_t(port));
  }
}

}  // namespace

Status ValidateWitnessOptions(const WitnessOptions& o) {
  if (!ValidKeyName(o.name)) {
    return Status::InvalidInput("--name: a witness name must be non-empty, without spaces or '+'");
  }
  if (!o.key) return Status::InvalidInput("--key: a witness key is required");
  if (o.log_keys.empty()) return Status::InvalidInput("--log-vkey: give at least one log key");
  for (const auto& k : o.log_keys) {
    if (k.type != kNoteKeyEd25519) {
      return Status::InvalidInput("--log-vkey " + k.name +
                                  ": a log key must be an Ed25519 note key (type 0x01)");
    }
  }
  if (o.state_path.empty()) return Status::InvalidInput("--state: a state file is required");
  return Status::Ok();
}

Witness::Witness(WitnessOptions options) : options_(std::move(options)) {
  if (!options_.now_s) options_.now_s = WallClockSeconds;
  vkey_ = MakeVerifierKey(options_.name, kNoteKeyCosignatureV1, options_.key->public_key());
}

Result<std::unique_ptr<Witness>> Witness::Open(WitnessOptions options) {
  CUSTODIAN_RETURN_IF_ERROR(ValidateWitnessOptions(options));
  std::unique_ptr<Witness> w(new Witness(std::move(options)));
  CUSTODIAN_RETURN_IF_ERROR(w->Load());
  // Written back at once: a state file the witness cannot write is found at start-up, not
  // at the first cosignature, and its mode is 0600 from now on.
  CUSTODIAN_RETURN_IF_ERROR(w->Persist(w->logs_));
  return w;
}

VerifierKey Witness::verifier_key() const {
  return vkey_;
}

std::optional<WitnessLogState> Witness::State(const std::string& origin) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(origin);
  if (it == logs_.end()) return std::nullopt;
  return it->second.state;
}

size_t Witness::EvidenceCount(const std::string& origin) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(origin);
  return it == logs_.end() ? 0 : it->second.evidence.size();
}

Status Witness::Load() {
  const std::string& path = options_.state_path;
  if (::access(path.c_str(), F_OK) != 0) return Status::Ok();  // a new witness
  auto text = ReadFile(path);
  if (!text.ok()) return text.status().WithContext("--state");
  auto corrupt = [&](const std::string& what) {
    return Status::Corruption("--state " + path + ": " + what +
                              " (refusing to start: an empty state would let a log roll back)");
  };
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  if (!j.contains("version") || j["version"] != kStateVersion) {
    return corrupt("unknown version (expected " + std::to_string(kStateVersion) + ")");
  }
  if (!j.contains("logs") || !j["logs"].is_object()) return corrupt("no \"logs\" object");
  for (const auto& [origin, v] : j["logs"].items()) {
    LogRecord rec;
    const std::string where = "logs[\"" + origin + "\"]";
    if (!v.is_object()) return corrupt(where + ": not an object");
    if (v.contains("size")) {
      if (!v["size"].is_number_unsigned() || !v.contains("root") || !v["root"].is_string() ||
          !v.contains("checkpoint") || !v["checkpoint"].is_string()) {
        return corrupt(where + ": size, root and checkpoint must be present and well typed");
      }
      WitnessLogState st;
      st.size = v["size"].get<uint64_t>();
      auto root = FixedFromBytes<32>(Base64Decode(v["root"].get<std::string>()), where + ".root");
      if (!root.ok()) return corrupt(root.status().message());
      st.root = *root;
      st.checkpoint = v["checkpoint"].get<std::string>();
      if (v.contains("cosigned_at") && v["cosigned_at"].is_number_unsigned()) {
        st.cosigned_at_s = v["cosigned_at"].get<uint64_t>();
      }
      rec.state = st;
    }
    if (v.contains("evidence") && v["evidence"].is_array()) {
      for (const auto& e : v["evidence"]) {
        if (!e.is_object()) continue;
        Evidence ev;
        ev.time_s = e.value("time", uint64_t{0});
        ev.reason = e.value("reason", std::string());
        ev.request = e.value("request", std::string());
        rec.evidence.push_back(std::move(ev));
      }
    }
    if (v.contains("evidence_dropped") && v["evidence_dropped"].is_number_unsigned()) {
      rec.evidence_dropped = v["evidence_dropped"].get<uint64_t>();
    }
    logs_[origin] = std::move(rec);
  }
  return Status::Ok();
}

Status Witness::Persist(const std::map<std::string, LogRecord>& logs) const {
  json out = {{"version", kStateVersion}, {"witness", vkey_.ToString()}};
  json jl = json::object();
  for (const auto& [origin, rec] : logs) {
    json v = json::object();
    if (rec.state) {
      v["size"] = rec.state->size;
      v["root"] = RootText(rec.state->root);
      v["checkpoint"] = rec.state->checkpoint;
      v["cosigned_at"] = rec.state->cosigned_at_s;
    }
    if (!rec.evidence.empty()) {
      json ev = json::array();
      for (const auto& e : rec.evidence) {
        ev.push_back({{"time", e.time_s}, {"reason", e.reason}, {"request", e.request}});
      }
      v["evidence"] = std::move(ev);
    }
    if (rec.evidence_dropped > 0) v["evidence_dropped"] = rec.evidence_dropped;
    jl[origin] = std::move(v);
  }
  out["logs"] = std::move(jl);
  std::string text = out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  Status s = WriteFileAtomic(options_.state_path, text, 0600);
  return s.WithContext("witness state");
}

void Witness::RecordEvidence(const std::string& origin, bool fork, std::string reason,
                             std::string_view body) {
  if (fork) {
    spdlog::critical("witness: LOG MISBEHAVIOUR: log \"{}\" signed two checkpoints of one size: {}",
                     origin, reason);
  } else {
    spdlog::warn("witness: possible log misbehaviour for \"{}\" (kept as evidence): {}", origin,
                 reason);
  }
  std::map<std::string, LogRecord> next = logs_;
  LogRecord& rec = next[origin];
  if (rec.evidence.size() >= kMaxEvidencePerLog) {
    ++rec.evidence_dropped;
  } else {
    rec.evidence.push_back({options_.now_s(), std::move(reason), std::string(body)});
  }
  Status s = Persist(next);
  if (!s.ok()) {
    spdlog::error("witness: cannot record the evidence: {}", s.ToString());
    return;
  }
  logs_ = std::move(next);
}

WitnessReply Witness::AddCheckpoint(std::string_view body) {
  auto parsed = ParseAddRequest(body);
  if (!parsed.ok()) return Reply(400, parsed.status().message());
  AddRequest& req = *parsed;
  const Checkpoint& cp = req.checkpoint;

  bool known_origin = false, signed_ok = false;
  for (const auto& k : options_.log_keys) {
    if (k.name != cp.origin) continue;
    known_origin = true;
    if (VerifyNote(req.note, k).ok()) {
      signed_ok = true;
      break;
    }
  }
  if (!known_origin) return Reply(404, "unknown log origin \"" + cp.origin + "\"");
  if (!signed_ok) {
    return Reply(403, "no signature on the checkpoint verifies against a key trusted for \"" +
                          cp.origin + "\"");
  }

  std::lock_guard<std::mutex> lock(mu_);
  const LogRecord* rec = nullptr;
  if (auto it = logs_.find(cp.origin); it != logs_.end()) rec = &it->second;
  const std::optional<WitnessLogState> stored = rec ? rec->state : std::nullopt;
  const uint64_t stored_size = stored ? stored->size : 0;
  if (req.old_size != stored_size) {
    WitnessReply r = Reply(409, std::to_string(stored_size));
    r.content_type = kTlogSizeContentType;
    return r;
  }
  const std::string sizes = "old size " + std::to_string(stored_size) + " (root " +
                            (stored ? RootText(stored->root) : "none") + "), new size " +
                            std::to_string(cp.size) + " (root " + RootText(cp.root) + ")";
  if (stored && cp.size == stored->size) {
    if (cp.root != stored->root) {
      std::string reason = "fork: a validly signed checkpoint of the same size " +
                           std::to_string(cp.size) + " with a different root hash; cosigned " +
                           RootText(stored->root) + ", now offered " + RootText(cp.root);
      RecordEvidence(cp.origin, /*fork=*/true, reason, body);
      return Reply(409, reason);
    }
    if (!req.proof.empty()) return Reply(422, "a proof between equal sizes must be empty");
  } else if (stored_size == 0) {
    // Nothing to be consistent with, except that the empty tree has a fixed root.
    if (cp.size == 0 && cp.root != EmptyTreeRoot()) {
      return Reply(422, "a checkpoint of size 0 must carry the empty tree's root");
    }
  } else {
    Status s = VerifyConsistency(stored->size, cp.size, stored->root, cp.root, req.proof);
    if (!s.ok()) {
      std::string reason = "the consistency proof does not verify: " + sizes + ": " + s.message();
      RecordEvidence(cp.origin, /*fork=*/false, reason, body);
      return Reply(422, reason);
    }
  }

  const uint64_t now = options_.now_s();
  std::map<std::string, LogRecord> next = logs_;
  WitnessLogState st;
  st.size = cp.size;
  st.root = cp.root;
  st.checkpoint = req.signed_note;
  st.cosigned_at_s = now;
  next[cp.origin].state = std::move(st);
  if (Status s = Persist(next); !s.ok()) {
    spdlog::error("witness: {}", s.ToString());
    return Reply(500, "the witness cannot persist its state; nothing was cosigned");
  }
  logs_ = std::move(next);
  NoteSignature cosig = Cosign(req.note.text, options_.name, *options_.key, now);
  WitnessReply r;
  r.status = 200;
  r.body = SignatureLine(cosig);
  return r;
}

// ---------------------------------------------------------------------------------------------

struct WitnessServer::Runner {
  std::thread listener;
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::atomic<bool> done{false};
};

WitnessServer::WitnessServer(Witness& witness, WitnessServerOptions options)
    : witness_(witness), options_(std::move(options)), runner_(std::make_unique<Runner>()) {}

WitnessServer::~WitnessServer() {
  Stop();
}

Status WitnessServer::Start() {
  if (runner_->started) return Status::Internal("witness server: Start called twice");
  auto addr = ParseHostPort(options_.listen, "--listen");
  if (!addr.ok()) return addr.status();
  http_ = std::make_unique<httplib::Server>();
  http_->new_task_queue = [n = options_.threads] { return new httplib::ThreadPool(size_t(n)); };
  // Only SO_REUSEADDR (httplib's default SO_REUSEPORT would let a second process share the port).
  http_->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_read_timeout(10);
  http_->set_write_timeout(10);
  http_->set_default_headers({{"Cache-Control", "no-store"}});
  http_->Post("/add-checkpoint", [this](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    WitnessReply r = witness_.AddCheckpoint(req.body);
    res.status = r.status;
    res.set_content(r.body, r.content_type);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    std::string why = r.status == 200 ? "cosigned" : r.body.substr(0, r.body.find('\n'));
    spdlog::info("POST /add-checkpoint {} from {} in {} us: {}", r.status, req.remote_addr, us,
                 why);
  });

  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  errno = 0;
  int port = addr->port();
  std::string host = NumericHost(*addr);
  bool bound =
      port == 0 ? (port = http_->bind_to_any_port(host)) > 0 : http_->bind_to_port(host, port);
  int bind_errno = errno;
  if (!bound) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return Status::IoError("--listen " + options_.listen + ": cannot bind" +
                           (bind_errno ? std::string(" (") + std::strerror(bind_errno) + ")" : ""));
  }
  bound_ = *addr;
  SetPort(bound_, port);
  Runner* runner = runner_.get();
  runner->listener = std::thread([this, runner] {
    if (!http_->listen_after_bind()) spdlog::error("witness: the listener stopped accepting");
    runner->done = true;
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  runner_->started = true;
  return Status::Ok();
}

std::string WitnessServer::url() const {
  return "http://" + bound_.ToString();
}

bool WitnessServer::serving() const {
  return runner_->started && !runner_->stopped && !runner_->done;
}

void WitnessServer::Stop() {
  if (!runner_->started || runner_->stopped.exchange(true)) return;
  // httplib's stop() is a no-op until the listener runs; wait for that (or for its end).
  while (!http_->is_running() && !runner_->done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  http_->stop();
  if (runner_->listener.joinable()) runner_->listener.join();
}

}  // namespace custodian::tlog
