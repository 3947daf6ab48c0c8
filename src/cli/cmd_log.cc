// custodian log witness | verify | get — the transparency log's witness (C2SP tlog-witness) and
// auditor (C2SP tlog-tiles client; tlog/auditor.h).
//
//   log witness --key FILE --listen HOST:PORT --log-vkey VKEY… --state FILE [--name NAME]
//     Prints "custodian log witness listening on http://HOST:PORT" and then its verifier key
//     (type 0x04) on stdout, then serves POST /add-checkpoint until SIGINT/SIGTERM; one log
//     line per request on stderr.
//   log verify --url URL --vkey VKEY [--witness-vkey V…] [--min-cosignatures K] [--state FILE]
//              [--entry I…] [--full]
//     Exit 0: everything checked out; 1: the log is inconsistent (one line saying what);
//     2: bad usage, a bad state file, or the log cannot be reached.
//   log get --url URL --index I [--vkey VKEY]
//     Prints entry I (exit 2 when I is beyond the tree).
//
// URL is the server's base URL; the log lives under URL/log/ (/log/checkpoint, /log/tile/…).
#include "cli/cmd_log.h"

#include <httplib.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/signals.h"
#include "client/api_client.h"
#include "core/key_file.h"
#include "tlog/auditor.h"
#include "tlog/witness.h"

namespace custodian::cli {
namespace {

constexpr size_t kMaxFetchBytes = 32u << 20;  // a full entry bundle of 64 KiB entries is ~16 MiB

// 1 for what the log got wrong, 2 for everything else (usage, state file, unreachable).
int LogFail(const Status& status) {
  std::cerr << "custodian: " << status.message() << "\n";
  return status.code() == StatusCode::kFailedCheck || status.code() == StatusCode::kCorruption ? 1
                                                                                               : 2;
}

Result<std::vector<tlog::VerifierKey>> ParseKeys(const std::vector<std::string>& texts,
                                                 const std::string& flag, uint8_t type) {
  std::vector<tlog::VerifierKey> out;
  for (const auto& t : texts) {
    auto k = tlog::ParseVerifierKey(t);
    std::string where = flag;
    where += " ";
    where += t;
    if (!k.ok()) return k.status().WithContext(where);
    if (k->type != type) {
      where += ": key type " + std::to_string(k->type) + ", expected " + std::to_string(type);
      where += type == tlog::kNoteKeyEd25519 ? " (a log's Ed25519 note key)"
                                             : " (a witness cosignature key)";
      return Status::InvalidInput(where);
    }
    out.push_back(*k);
  }
  return out;
}

std::string TransportError(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::Read:
      return "no answer (connection dropped or read timed out)";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLServerVerification:
      return "the server's certificate is not trusted (see --ca-file)";
    default:
      return httplib::to_string(e);
  }
}

// Fetches URL/log/<path> over HTTP(S).
class HttpLogFetcher {
 public:
  static Result<std::shared_ptr<HttpLogFetcher>> Create(const std::string& url,
                                                        const std::string& ca_file) {
    auto base = client::ParseBaseUrl(url, "--url");
    if (!base.ok()) return base.status();
    auto f = std::shared_ptr<HttpLogFetcher>(new HttpLogFetcher());
    f->prefix_ = base->prefix + "/log/";
    client::BaseUrl origin = *base;
    origin.prefix.clear();
    f->shown_ = base->ToString();
    try {
      f->http_ = std::make_unique<httplib::Client>(origin.ToString());
    } catch (const std::exception& e) {
      return Status::InvalidInput("--url: " + std::string(e.what()));
    }
    if (!f->http_->is_valid()) return Status::InvalidInput("--url: cannot use " + url);
    f->http_->set_keep_alive(true);
    f->http_->set_connection_timeout(5);
    f->http_->set_read_timeout(30);
    if (base->scheme == "https") {
      if (!ca_file.empty()) f->http_->set_ca_cert_path(ca_file);
      f->http_->enable_server_certificate_verification(true);
    }
    return f;
  }

  Result<Bytes> Fetch(const std::string& path) {
    const std::string full = prefix_ + path;
    std::string body;
    bool too_big = false;
    auto res = http_->Get(full, httplib::Headers{{"Accept-Encoding", "gzip, identity"}},
                          [&](const char* data, size_t n) {
                            if (body.size() + n > kMaxFetchBytes) {
                              too_big = true;
                              return false;
                            }
                            body.append(data, n);
                            return true;
                          });
    if (too_big) {
      return Status::Corruption("GET " + full + ": larger than " + std::to_string(kMaxFetchBytes) +
                                " bytes");
    }
    if (!res) {
      return Status::Unavailable("GET " + shown_ + "/log/" + path + ": cannot reach the log (" +
                                 TransportError(res.error()) + ")");
    }
    if (res->status == 404) return Status::NotFound("GET " + full + ": HTTP 404");
    if (res->status != 200) {
      return Status::Unavailable("GET " + full + ": HTTP " + std::to_string(res->status));
    }
    return Bytes(body.begin(), body.end());
  }

 private:
  HttpLogFetcher() = default;
  std::unique_ptr<httplib::Client> http_;
  std::string prefix_;  // "<url prefix>/log/"
  std::string shown_;   // the base URL, for messages
};

tlog::LogFetcher AsFetcher(const std::shared_ptr<HttpLogFetcher>& f) {
  return [f](const std::string& path) -> Result<Bytes> {
    auto got = f->Fetch(path);
    // A log without a checkpoint is not a log at this URL.
    if (!got.ok() && path == "checkpoint" && got.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(got.status().message() + " (is --url the server's base URL?)");
    }
    return got;
  };
}

// Logs go to stderr (stdout carries the listening line and the vkey), in UTC.
void SetUpLogging() {
  auto logger = spdlog::stderr_logger_mt("custodian");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::info);
}

// ---- log witness --------------------------------------------------------------------------

struct WitnessFlags {
  std::string key_file, listen = "127.0.0.1:7380", state, name = "custodian-witness";
  std::vector<std::string> log_vkeys;
  bool print_vkey = false;
};

int RunWitness(const WitnessFlags& f) {
  auto log_keys = ParseKeys(f.log_vkeys, "--log-vkey", tlog::kNoteKeyEd25519);
  if (!log_keys.ok()) return LogFail(log_keys.status());
  auto listen = ParseHostPort(f.listen, "--listen");
  if (!listen.ok()) return LogFail(listen.status());
  auto key = LoadKeyFile(f.key_file);
  if (!key.ok()) return LogFail(key.status().WithContext("--key"));
  tlog::WitnessOptions options;
  options.name = f.name;
  options.key = std::make_shared<const SigningKey>(*key);
  options.log_keys = std::move(*log_keys);
  options.state_path = f.state;
  if (Status s = tlog::ValidateWitnessOptions(options); !s.ok()) return LogFail(s);
  if (f.print_vkey) {
    std::cout
        << tlog::MakeVerifierKey(f.name, tlog::kNoteKeyCosignatureV1, key->public_key()).ToString()
        << "\n";
    return 0;
  }

  SetUpLogging();
  auto& stop = InstallStopSignals();
  auto witness = tlog::Witness::Open(std::move(options));
  if (!witness.ok()) return LogFail(witness.status());
  tlog::WitnessServerOptions server_options;
  server_options.listen = f.listen;
  tlog::WitnessServer server(**witness, server_options);
  if (Status s = server.Start(); !s.ok()) return LogFail(s);
  std::cout << "custodian log witness listening on " << server.url() << "\n"
            << (*witness)->verifier_key().ToString() << std::endl;
  std::string logs;
  for (const auto& k : f.log_vkeys) logs += (logs.empty() ? "" : " ") + k;
  spdlog::info("witness url={} vkey={} state={} logs={}", server.url(),
               (*witness)->verifier_key().ToString(), f.state, logs);
  while (!stop.load() && server.serving()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  server.Stop();
  if (!stop.load()) {
    return LogFail(Status::Internal("witness: the HTTP listener stopped unexpectedly"));
  }
  spdlog::info("witness: stopped");
  return 0;
}

// ---- log verify -----------------------------------------------------------------------------

struct VerifyFlags {
  std::string url, vkey, origin, state, ca_file;
  std::vector<std::string> witness_vkeys;
  int64_t min_cosignatures = -1;  // -1: every --witness-vkey
  std::vector<uint64_t> entries;
  bool full = false;
};

int RunVerify(const VerifyFlags& f) {
  auto log_keys = ParseKeys({f.vkey}, "--vkey", tlog::kNoteKeyEd25519);
  if (!log_keys.ok()) return LogFail(log_keys.status());
  auto witness_keys = ParseKeys(f.witness_vkeys, "--witness-vkey", tlog::kNoteKeyCosignatureV1);
  if (!witness_keys.ok()) return LogFail(witness_keys.status());
  size_t min = f.min_cosignatures < 0 ? witness_keys->size() : size_t(f.min_cosignatures);
  if (min > witness_keys->size()) {
    return LogFail(
        Status::InvalidInput("--min-cosignatures: " + std::to_string(min) + " required but only " +
                             std::to_string(witness_keys->size()) + " --witness-vkey given"));
  }
  auto fetcher = HttpLogFetcher::Create(f.url, f.ca_file);
  if (!fetcher.ok()) return LogFail(fetcher.status());

  tlog::AuditorOptions options;
  options.log_key = (*log_keys)[0];
  options.origin = f.origin;
  options.witness_keys = std::move(*witness_keys);
  options.min_cosignatures = min;
  options.state_path = f.state;
  options.entries = f.entries;
  options.full = f.full;
  tlog::Auditor auditor(AsFetcher(*fetcher), options);
  auto report = auditor.Verify();
  if (!report.ok()) return LogFail(report.status());

  const auto& cp = report->checkpoint;
  std::cout << "OK: log \"" << cp.origin << "\" size " << cp.size << " root "
            << Base64Encode(cp.root) << "\n";
  std::cout << "  signed by " << options.log_key.name;
  if (!options.witness_keys.empty()) {
    std::string who;
    for (const auto& c : report->cosigners) who += (who.empty() ? "" : ", ") + c;
    std::cout << "; cosigned by " << report->cosigners.size() << " of "
              << options.witness_keys.size() << " witnesses (" << min << " required)"
              << (who.empty() ? "" : ": " + who);
  }
  std::cout << "\n";
  if (report->previous) {
    std::cout << "  consistent with the saved checkpoint of size " << report->previous->size
              << " root " << Base64Encode(report->previous->root) << "\n";
  } else if (!f.state.empty()) {
    std::cout << "  no saved checkpoint yet in " << f.state << "\n";
  }
  for (uint64_t e : report->entries_included) {
    std::cout << "  entry " << e << " included\n";
  }
  if (f.full) {
    std::cout << "  full: " << report->entries_rehashed
              << " entries re-hashed; every tile and the root match\n";
  }
  if (!f.state.empty()) std::cout << "  state saved to " << f.state << "\n";
  return 0;
}

// ---- log get --------------------------------------------------------------------------------

struct GetFlags {
  std::string url, vkey, ca_file;
  uint64_t index = 0;
  bool raw = false;
};

// UTF-8 text without control characters other than tab and newline.
bool PrintableText(const Bytes& b) {
  size_t i = 0;
  while (i < b.size()) {
    uint8_t c = b[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= b.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((b[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b[i + k] & 0x3fu);
    }
    bool overlong = (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000);
    bool invalid = cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0;  // C1 too
    if (overlong || invalid) return false;
    i += n + 1;
  }
  return true;
}

int RunGet(const GetFlags& f) {
  std::optional<tlog::VerifierKey> key;
  if (!f.vkey.empty()) {
    auto keys = ParseKeys({f.vkey}, "--vkey", tlog::kNoteKeyEd25519);
    if (!keys.ok()) return LogFail(keys.status());
    key = (*keys)[0];
  }
  auto fetcher = HttpLogFetcher::Create(f.url, f.ca_file);
  if (!fetcher.ok()) return LogFail(fetcher.status());
  tlog::AuditorOptions options;
  if (key) options.log_key = *key;
  tlog::Auditor auditor(AsFetcher(*fetcher), options);
  auto cp = auditor.FetchCheckpoint(/*verify_signature=*/key.has_value());
  if (!cp.ok()) return LogFail(cp.status());
  auto entry = auditor.FetchEntry(cp->second, f.index, /*verify_inclusion=*/key.has_value());
  if (!entry.ok()) return LogFail(entry.status());
  if (f.raw) {
    std::cout.write(reinterpret_cast<const char*>(entry->data()), std::streamsize(entry->size()));
  } else if (PrintableText(*entry)) {
    std::string text(entry->begin(), entry->end());
    std::cout << text << (text.empty() || text.back() != '\n' ? "\n" : "");
  } else {
    std::cout << Base64Encode(*entry) << "\n";
  }
  std::cout.flush();
  return 0;
}

}  // namespace

void AddLogCommands(CLI::App& app) {
  auto* log = app.add_subcommand("log", "Transparency log: witness, auditor, entries");
  log->require_subcommand(1);

  auto wf = std::make_shared<WitnessFlags>();
  auto* witness = log->add_subcommand(
      "witness",
      "Run a C2SP tlog-witness: cosign checkpoints of the given logs (POST /add-checkpoint) "
      "only when consistent with the last one cosigned; until SIGINT or SIGTERM");
  witness->add_option("--key", wf->key_file, "Witness key file (custodian keygen; mode 0600)")
      ->required();
  witness->add_option("--listen", wf->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  witness
      ->add_option("--log-vkey", wf->log_vkeys,
                   "Verifier key of a log to witness (name+hash+base64, type 0x01); the key's "
                   "name is the log's checkpoint origin. Repeat for several logs")
      ->required();
  witness
      ->add_option("--state", wf->state,
                   "State file: the latest cosigned checkpoint per log (JSON, mode 0600)")
      ->required();
  witness->add_option("--name", wf->name, "The witness's name (its key name in cosignatures)")
      ->capture_default_str();
  witness->add_flag("--print-vkey", wf->print_vkey,
                    "Print the witness's verifier key (type 0x04) and exit");
  OnRun(witness, [wf] { return RunWitness(*wf); });

  auto vf = std::make_shared<VerifyFlags>();
  auto* verify = log->add_subcommand(
      "verify",
      "Audit a log from its signed checkpoint and tiles: signature, cosignatures, consistency "
      "with the last verified checkpoint, inclusion of entries, optionally every hash. Exit 0 "
      "OK, 1 inconsistent, 2 bad usage or unreachable");
  verify->add_option("--url", vf->url, "Server base URL; the log is under URL/log/")->required();
  verify->add_option("--vkey", vf->vkey, "The log's verifier key (type 0x01)")->required();
  verify->add_option("--origin", vf->origin, "Expected checkpoint origin (default: the key name)");
  verify->add_option("--witness-vkey", vf->witness_vkeys,
                     "A witness's verifier key (type 0x04); repeat for several");
  verify
      ->add_option("--min-cosignatures", vf->min_cosignatures,
                   "Valid cosignatures required from the --witness-vkey keys (default: all)")
      ->check(CLI::NonNegativeNumber);
  verify->add_option("--state", vf->state,
                     "File remembering the last verified checkpoint (created; mode 0600)");
  verify->add_option("--entry", vf->entries, "Check the inclusion of this entry; repeatable");
  verify->add_flag("--full", vf->full,
                   "Re-hash every entry and tile and recompute the root (fetches the whole log)");
  verify->add_option("--ca-file", vf->ca_file, "https: trust these CA certificates (PEM)");
  OnRun(verify, [vf] { return RunVerify(*vf); });

  auto gf = std::make_shared<GetFlags>();
  auto* get = log->add_subcommand("get", "Print one log entry (text, or base64 when binary)");
  get->add_option("--url", gf->url, "Server base URL; the log is under URL/log/")->required();
  get->add_option("--index", gf->index, "Entry index (from 0)")->required();
  get->add_option("--vkey", gf->vkey,
                  "The log's verifier key: check the checkpoint signature and the entry's "
                  "inclusion before printing it");
  get->add_flag("--raw", gf->raw, "Write the entry's bytes exactly as logged");
  get->add_option("--ca-file", gf->ca_file, "https: trust these CA certificates (PEM)");
  OnRun(get, [gf] { return RunGet(*gf); });
}

}  // namespace custodian::cli
