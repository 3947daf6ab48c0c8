#include "tlog/cosigner.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "core/bytes.h"

namespace custodian::tlog {

Result<WitnessEndpoint> ParseWitnessFlag(std::string_view flag) {
  size_t eq = flag.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidInput("--witness: must be URL=VKEY, got \"" + std::string(flag) + "\"");
  }
  WitnessEndpoint w;
  w.url = std::string(flag.substr(0, eq));
  if (w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0) {
    return Status::InvalidInput("--witness: URL must start with http:// or https://, got \"" +
                                w.url + "\"");
  }
  while (!w.url.empty() && w.url.back() == '/') w.url.pop_back();
  auto vkey = ParseVerifierKey(flag.substr(eq + 1));
  if (!vkey.ok()) return vkey.status().WithContext("--witness " + w.url);
  if (vkey->type != kNoteKeyCosignatureV1) {
    return Status::InvalidInput("--witness " + w.url +
                                ": the vkey must be a cosignature/v1 key (type 0x04)");
  }
  w.vkey = *vkey;
  return w;
}

Cosigner::Cosigner(Log& log, std::vector<WitnessEndpoint> witnesses, int64_t interval_ms)
    : log_(log), witnesses_(std::move(witnesses)), interval_ms_(interval_ms) {}

Cosigner::~Cosigner() {
  Stop();
}

Status Cosigner::PushTo(size_t i, const std::string& checkpoint, const Checkpoint& parsed) {
  const WitnessEndpoint& w = witnesses_[i];
  httplib::Client http(w.url);
  http.set_connection_timeout(2);
  http.set_read_timeout(5);
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t old_size = known_size_[i];
    if (old_size > parsed.size) old_size = 0;  // the witness knows a newer tree: it will say
    std::string body = "old " + std::to_string(old_size) + "\n";
    if (old_size > 0 && old_size < parsed.size) {
      auto proof = log_.ConsistencyProof(old_size, parsed.size);
      if (!proof.ok()) return proof.status();
      for (const Hash& h : *proof) body += Base64Encode(h) + "\n";
    }
    body += "\n" + checkpoint;
    auto res = http.Post("/add-checkpoint", body, "text/plain; charset=utf-8");
    if (!res) {
      return Status::Unavailable("witness " + w.url + ": " + httplib::to_string(res.error()));
    }
    if (res->status == 409 && res->get_header_value("Content-Type") == "text/x.tlog.size") {
      // Its size differs from what we thought: adopt it and try again (once).
      uint64_t theirs = 0;
      std::string text = res->body.substr(0, res->body.find('\n'));
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), theirs);
      if (ec != std::errc() || ptr != text.data() + text.size()) {
        return Status::FailedCheck("witness " + w.url + ": 409 with an unreadable size");
      }
      if (theirs == old_size) {
        return Status::FailedCheck("witness " + w.url + " refuses size " +
                                   std::to_string(parsed.size) + " (a fork?): " + res->body);
      }
      known_size_[i] = theirs;
      continue;
    }
    if (res->status != 200) {
      return Status::FailedCheck("witness " + w.url + ": HTTP " + std::to_string(res->status) +
                                 ": " + res->body.substr(0, 200));
    }
    // The answer is one or more signature lines; keep the one by this witness's key, after
    // checking it really cosigns this checkpoint.
    // `checkpoint` is a signed note (text, blank line, our signature line): the witness's
    // lines extend its signature block.
    auto note = ParseNote(checkpoint + res->body);
    if (!note.ok()) return note.status().WithContext("witness " + w.url + ": cosignature");
    Status verified = VerifyCosignature(*note, w.vkey);
    if (!verified.ok()) return verified.WithContext("witness " + w.url);
    for (const NoteSignature& sig : note->signatures) {
      if (sig.name == w.vkey.name && sig.key_hash == w.vkey.key_hash) {
        CUSTODIAN_RETURN_IF_ERROR(log_.AddCosignature(parsed.size, sig));
      }
    }
    known_size_[i] = parsed.size;
    return Status::Ok();
  }
  return Status::FailedCheck("witness " + w.url + ": sizes kept disagreeing");
}

int Cosigner::PushNewest() {
  std::lock_guard<std::mutex> lock(mu_);
  auto checkpoint = log_.LatestCheckpoint();
  if (!checkpoint.ok()) {
    spdlog::warn("cosigner: {}", checkpoint.status().message());
    return 0;
  }
  // The signed checkpoint without any cosignatures it already carries: witnesses want the log's
  // note, and our own signature must stay first.
  auto note = ParseNote(*checkpoint);
  if (!note.ok()) {
    spdlog::error("cosigner: the log's own checkpoint does not parse: {}", note.status().message());
    return 0;
  }
  auto parsed = ParseCheckpoint(note->text);
  if (!parsed.ok()) return 0;
  int cosigned = 0;
  for (size_t i = 0; i < witnesses_.size(); ++i) {
    bool has = false;
    for (const NoteSignature& sig : note->signatures) {
      has |= sig.name == witnesses_[i].vkey.name && sig.key_hash == witnesses_[i].vkey.key_hash;
    }
    if (has) {
      ++cosigned;
      continue;
    }
    if (parsed->size == 0) continue;  // nothing to witness yet
    Note own = *note;
    own.signatures.erase(
        std::remove_if(own.signatures.begin(), own.signatures.end(),
                       [&](const NoteSignature& s) { return s.signature.size() != 64; }),
        own.signatures.end());
    Status s = PushTo(i, FormatNote(own), *parsed);
    if (s.ok()) {
      ++cosigned;
    } else {
      spdlog::warn("cosigner: size={} {}", parsed->size, s.message());
    }
  }
  return cosigned;
}

void Cosigner::Start() {
  if (witnesses_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(stop_mu_);
    while (!stop_) {
      lock.unlock();
      PushNewest();
      lock.lock();
      stop_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
    }
  });
}

void Cosigner::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace custodian::tlog
