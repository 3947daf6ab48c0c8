// custodian landmark | measure | receipt verify — the timing protocol (docs/protocol.md).
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "cli/signals.h"
#include "client/crosscheck.h"
#include "client/inputs.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/key_file.h"
#include "gpu/nvml.h"
#include "proto/agent.h"
#include "proto/landmark.h"
#include "proto/receipt.h"

namespace custodian::cli {
namespace {

struct LandmarkFlags {
  std::string id, key, listen;
  double lat = NAN, lon = NAN;
  double timeout_ms = 1000, spacing_ms = 1;
  size_t max_sessions = 4096;
  // Cross-checks against the other registered landmarks (client/crosscheck.h), with --server.
  ServerFlags server;
  int64_t crosscheck_interval_s = 300;
  std::vector<std::string> via;
};

int RunLandmark(const LandmarkFlags& f) {
  proto::LandmarkConfig config;
  config.id = f.id;
  config.lat_deg = f.lat;
  config.lon_deg = f.lon;
  config.response_timeout_ns = int64_t(f.timeout_ms * 1e6);
  config.spacing_ns = int64_t(f.spacing_ms * 1e6);
  config.max_sessions = f.max_sessions;
  if (Status s = CheckLatLon(f.lat, f.lon); !s.ok()) return Fail(s);
  if (!(f.timeout_ms > 0) || !(f.spacing_ms >= 0)) {
    return Fail(Status::InvalidInput("--timeout-ms must be > 0 and --spacing-ms >= 0"));
  }
  auto listen = ParseHostPort(f.listen, "--listen");
  if (!listen.ok()) return Fail(listen.status());
  config.listen = *listen;
  if (Status s = proto::ValidateLandmarkConfig(config); !s.ok()) return Fail(s);
  auto key = LoadKeyFile(f.key);
  if (!key.ok()) return Fail(key.status());
  std::unique_ptr<client::CrosscheckLoop> crosscheck;
  if (!f.server.server.empty()) {
    auto api = ApiOptionsFrom(f.server);
    if (!api.ok()) return Fail(api.status());
    if (api->token.empty()) {
      return Fail(
          Status::InvalidInput("--server needs --token or --token-file (a landmark token)"));
    }
    auto via = client::ParseVia(f.via);
    if (!via.ok()) return Fail(via.status());
    client::CrosscheckOptions o;
    o.api = *api;
    o.landmark_id = f.id;
    o.interval_s = f.crosscheck_interval_s;
    o.via = std::move(*via);
    o.log = [](const std::string& line) {
      std::cerr << FormatUtc(RealtimeNs()) << " custodian landmark: " << line << std::endl;
    };
    auto loop = client::CrosscheckLoop::Create(std::move(o), *key);
    if (!loop.ok()) return Fail(loop.status());
    crosscheck = std::move(*loop);
  } else if (!f.via.empty()) {
    return Fail(Status::InvalidInput("--via: only with --server (cross-checks)"));
  }
  auto landmark = proto::Landmark::Create(config, std::move(*key));
  if (!landmark.ok()) return Fail(landmark.status());
  auto& stop = InstallStopSignals();
  // One line on stdout, flushed, so scripts (and tests) can learn the bound port.
  std::cout << "landmark " << config.id << " listening on "
            << (*landmark)->local_address().ToString() << " timestamps "
            << ((*landmark)->kernel_timestamps() ? "kernel" : "user") << " pub "
            << Base64Encode((*landmark)->public_key()) << std::endl;
  // After the address line, which scripts read first; the loop logs on stderr.
  if (crosscheck) crosscheck->Start(stop);
  Status run = (*landmark)->Run(stop);
  if (crosscheck) crosscheck->Stop();
  std::cerr << "landmark " << config.id << " stats " << (*landmark)->Stats().ToJson().dump()
            << std::endl;
  return run.ok() ? 0 : Fail(run);
}

struct MeasureFlags {
  std::string key, landmark, landmark_pub, out;
  int samples = 16;
  double timeout_ms = 2000;
  bool busy_poll = false;
};

// The chip-set hash binds every answer to the GPUs present (src/gpu). No driver: the empty set.
Result<Sha256Digest> LocalChipSetHash() {
  auto gpus = gpu::ListGpus();
  if (!gpus.ok()) {
    if (gpus.status().code() == StatusCode::kNotFound) return gpu::ChipSetHash({});
    return gpus.status();
  }
  return gpu::ChipSetHash(*gpus);
}

int RunMeasure(const MeasureFlags& f) {
  if (f.samples < 1 || f.samples > int(proto::kMaxSamples)) {
    return Fail(Status::InvalidInput("--samples: must be in 1.." +
                                     std::to_string(proto::kMaxSamples) + ", got " +
                                     std::to_string(f.samples)));
  }
  if (!(f.timeout_ms > 0)) return Fail(Status::InvalidInput("--timeout-ms: must be > 0"));
  proto::MeasureConfig config;
  auto landmark = ParseHostPort(f.landmark, "--landmark");
  if (!landmark.ok()) return Fail(landmark.status());
  config.landmark = *landmark;
  auto pub = ParsePublicKeyBase64(f.landmark_pub);
  if (!pub.ok()) return Fail(pub.status().WithContext("--landmark-pub"));
  config.landmark_pub = *pub;
  config.samples = uint16_t(f.samples);
  config.wait_timeout_ns = int64_t(f.timeout_ms * 1e6);
  config.busy_poll = f.busy_poll;
  auto key = LoadKeyFile(f.key);
  if (!key.ok()) return Fail(key.status());
  auto chipset = LocalChipSetHash();
  if (!chipset.ok()) return Fail(chipset.status());
  config.chipset_hash = *chipset;

  auto result = proto::Measure(config, *key);
  if (!result.ok()) return Fail(result.status());
  const proto::Receipt& r = result->receipt;
  if (f.out.empty()) {
    std::cout << result->receipt_json << "\n";
  } else {
    Status s = WriteFileAtomic(f.out, result->receipt_json + "\n", 0644);
    if (!s.ok()) return Fail(s);
    char line[256];
    std::snprintf(line, sizeof line,
                  "receipt from %s: min RTT %.3f ms over %zu/%u samples (%s timestamps): within "
                  "%.1f km at c; written to ",
                  r.landmark_id.c_str(), double(r.min_rtt_ns) / 1e6, r.samples_ns.size(),
                  r.samples_requested, proto::TimestampingName(r.timestamping),
                  proto::MaxDistanceKm(r.min_rtt_ns, proto::kSpeedOfLightKmPerS));
    std::cout << line << f.out << "\n";
  }
  if (!result->transcript_matches) {
    std::cerr << "custodian: note: the landmark's transcript differs from ours (a datagram was "
                 "lost in transit); the receipt is still valid\n";
  }
  return 0;
}

int RunReceiptVerify(const std::string& file, const std::string& landmark_pub) {
  auto pub = ParsePublicKeyBase64(landmark_pub);
  if (!pub.ok()) return Fail(pub.status().WithContext("--landmark-pub"));
  auto text = ReadFile(file, 1 << 20);
  if (!text.ok()) return Fail(text.status());
  auto receipt = proto::ParseReceipt(*text);
  Status verdict = receipt.ok() ? proto::VerifyReceipt(*receipt, *pub) : receipt.status();
  if (!verdict.ok()) {
    std::cerr << "custodian: receipt invalid: " << verdict.message() << "\n";
    return 1;
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "receipt valid: landmark %s, node %s, min RTT %.3f ms over %zu samples: within "
                "%.1f km of the landmark at c",
                receipt->landmark_id.c_str(), HexEncode(receipt->node_id).c_str(),
                double(receipt->min_rtt_ns) / 1e6, receipt->samples_ns.size(),
                proto::MaxDistanceKm(receipt->min_rtt_ns, proto::kSpeedOfLightKmPerS));
  std::cout << line << "\n";
  return 0;
}

}  // namespace

void AddProtoCommands(CLI::App& app) {
  auto lf = std::make_shared<LandmarkFlags>();
  auto* landmark = app.add_subcommand(
      "landmark", "Run a landmark: answer agents' HELLOs with timed challenges, sign receipts");
  landmark->add_option("--id", lf->id, "Landmark id (1-32 of A-Z a-z 0-9 . _ -)")->required();
  landmark->add_option("--lat", lf->lat, "Latitude, degrees (WGS84)")->required();
  landmark->add_option("--lon", lf->lon, "Longitude, degrees (WGS84)")->required();
  landmark->add_option("--key", lf->key, "Landmark private key file (mode 0600)")->required();
  landmark->add_option("--listen", lf->listen, "UDP HOST:PORT to serve (port 0: any)")->required();
  landmark->add_option("--timeout-ms", lf->timeout_ms, "Challenge answer timeout")
      ->capture_default_str();
  landmark->add_option("--spacing-ms", lf->spacing_ms, "Pause between challenges")
      ->capture_default_str();
  landmark->add_option("--max-sessions", lf->max_sessions, "Concurrent session limit")
      ->capture_default_str();
  AddServerFlags(landmark, &lf->server, false);
  landmark->get_option("--server")
      ->description("Registry URL: with it, measure the other landmarks and report cross-checks");
  landmark
      ->add_option("--crosscheck-interval", lf->crosscheck_interval_s,
                   "Seconds between cross-check passes (with --server)")
      ->capture_default_str();
  landmark->add_option("--via", lf->via,
                       "LANDMARK_ID=HOST:PORT: cross-check that peer at this address (repeatable)");
  OnRun(landmark, [lf] { return RunLandmark(*lf); });

  auto mf = std::make_shared<MeasureFlags>();
  auto* measure = app.add_subcommand(
      "measure", "Run one timing session against a landmark and write its signed receipt (JSON)");
  measure->add_option("--key", mf->key, "Node private key file (mode 0600)")->required();
  measure->add_option("--landmark", mf->landmark, "Landmark UDP HOST:PORT")->required();
  measure->add_option("--landmark-pub", mf->landmark_pub, "Landmark public key (base64)")
      ->required();
  measure->add_option("--samples", mf->samples, "Challenges to answer (1-64)")
      ->capture_default_str();
  measure->add_option("--out", mf->out, "Write the receipt here (default: stdout)");
  measure->add_option("--timeout-ms", mf->timeout_ms, "Silence that counts as a lost datagram")
      ->capture_default_str();
  measure->add_flag("--busy-poll", mf->busy_poll,
                    "Spin on the socket instead of sleeping (lower added time, one busy core)");
  OnRun(measure, [mf] { return RunMeasure(*mf); });

  auto* receipt = app.add_subcommand("receipt", "Work with landmark receipts");
  receipt->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto pub = std::make_shared<std::string>();
  auto* verify = receipt->add_subcommand(
      "verify", "Check a receipt: exit 0 if valid, 1 if not (saying which check failed)");
  verify->add_option("FILE", *file, "Receipt JSON file")->required();
  verify->add_option("--landmark-pub", *pub, "The landmark public key you trust (base64)")
      ->required();
  OnRun(verify, [file, pub] { return RunReceiptVerify(*file, *pub); });
}

}  // namespace custodian::cli
