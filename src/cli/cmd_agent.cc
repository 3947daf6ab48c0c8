// custodian agent enrol | agent run — the GPU server's side of the registry (docs/agent.md).
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/signals.h"
#include "client/agent_daemon.h"
#include "client/api_client.h"
#include "client/inputs.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/key_file.h"
#include "proto/wire.h"

namespace custodian::cli {
namespace {

using nlohmann::json;

// Daemon log lines: timestamped, on stderr (stdout carries one line per round).
client::LogFn TimestampedLog() {
  return [](const std::string& line) {
    std::cerr << FormatUtc(RealtimeNs()) << " custodian agent: " << line << std::endl;
  };
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

struct EnrolFlags {
  ServerFlags server;
  std::string enrolment_token, key, gpus_file, name, token_out;
};

int RunEnrol(const EnrolFlags& f) {
  if (!f.token_out.empty() && ::access(f.token_out.c_str(), F_OK) == 0) {
    // Checked before enrolling: the enrolment token is single-use, so a write failing afterwards
    // would lose the agent token.
    return Fail(Status::InvalidInput("--token-out: " + f.token_out +
                                     " already exists; refusing to overwrite it"));
  }
  auto key = LoadKeyFile(f.key);
  if (!key.ok()) return Fail(key.status());
  auto gpus = client::LoadGpus(f.gpus_file);
  if (!gpus.ok()) return Fail(gpus.status());
  ServerFlags no_token = f.server;  // POST /v1/nodes is authorised by the enrolment token alone
  no_token.token.clear();
  no_token.token_file.clear();
  auto options = ApiOptionsFrom(no_token);
  if (!options.ok()) return Fail(options.status());
  options->token.clear();
  auto api = client::ApiClient::Create(*options);
  if (!api.ok()) return Fail(api.status());

  const std::string node_id = client::NodeIdHex(key->public_key());
  json body = {{"enrolment_token", f.enrolment_token},
               {"public_key", Base64Encode(key->public_key())},
               {"name", f.name.empty() ? HostName() : f.name},
               {"key_binding", "software"},
               {"gpus", client::GpusForEnrolment(*gpus)}};
  auto answer = (*api)->Post("/v1/nodes", body);
  if (!answer.ok()) {
    std::cerr << "custodian: enrolment refused: " << answer.status().message() << "\n";
    return 1;
  }
  const json& node = answer->is_object() && answer->contains("node") ? (*answer)["node"] : json();
  std::string token;
  if (answer->is_object() && answer->contains("token") && (*answer)["token"].is_string()) {
    token = (*answer)["token"].get<std::string>();
  }
  if (token.empty()) {
    std::cerr << "custodian: the server's answer carries no agent token\n";
    return 1;
  }
  std::string server_id = node.is_object() && node.contains("id") && node["id"].is_string()
                              ? node["id"].get<std::string>()
                              : node_id;
  if (server_id != node_id) {
    std::cerr << "custodian: warning: the server calls this node " << server_id
              << " but its key derives " << node_id << "\n";
  }
  std::string site = node.is_object() && node.contains("site") && node["site"].is_string()
                         ? node["site"].get<std::string>()
                         : "";
  std::cout << "enrolled node " << server_id << (site.empty() ? "" : " at site " + site) << " with "
            << gpus->size() << " GPU" << (gpus->size() == 1 ? "" : "s") << "\n";
  if (!f.token_out.empty()) {
    Status s = WriteFileAtomic(f.token_out, token + "\n", 0600, Overwrite::kRefuse);
    if (s.ok()) {
      std::cout << "agent token written to " << f.token_out << "\n";
      return 0;
    }
    std::cerr << "custodian: " << s.message() << "; the agent token follows on stdout\n";
  }
  std::cout << token << std::endl;
  return 0;
}

struct RunFlags {
  ServerFlags server;
  std::string key, spool, gpus_file;
  std::vector<std::string> via;
  int64_t interval_s = 60;
  int samples = 16;
  int max_landmarks = 5;
  double timeout_ms = 2000;
  bool once = false;
};

int RunAgent(const RunFlags& f) {
  if (f.server.token.empty() && f.server.token_file.empty() &&
      std::getenv("CUSTODIAN_TOKEN") == nullptr) {
    return Fail(Status::InvalidInput("--token or --token-file: the agent token is required"));
  }
  auto options = ApiOptionsFrom(f.server);
  if (!options.ok()) return Fail(options.status());
  auto via = client::ParseVia(f.via);
  if (!via.ok()) return Fail(via.status());
  if (f.samples < 1 || f.samples > int(proto::kMaxSamples)) {
    return Fail(
        Status::InvalidInput("--samples: must be in 1.." + std::to_string(proto::kMaxSamples)));
  }
  if (!(f.timeout_ms >= 1)) return Fail(Status::InvalidInput("--timeout-ms: must be >= 1"));
  auto key = LoadKeyFile(f.key);
  if (!key.ok()) return Fail(key.status());
  auto gpus = client::LoadGpus(f.gpus_file);
  if (!gpus.ok()) return Fail(gpus.status());

  client::AgentOptions o;
  o.api = *options;
  o.gpus = std::move(*gpus);
  o.spool_dir = f.spool.empty() ? f.key + ".spool" : f.spool;
  o.interval_s = f.interval_s;
  o.samples = uint16_t(f.samples);
  o.max_landmarks = f.max_landmarks;
  o.via = std::move(*via);
  o.measure_timeout_ms = int64_t(f.timeout_ms);
  o.log = TimestampedLog();
  if (Status s = client::ValidateAgentOptions(o); !s.ok()) return Fail(s);
  const size_t gpu_count = o.gpus.size();
  auto daemon = client::AgentDaemon::Create(std::move(o), std::move(*key));
  if (!daemon.ok()) return Fail(daemon.status());
  client::AgentDaemon& d = **daemon;
  auto waiting = d.spool().Count();
  std::cerr << "custodian agent: node " << d.node_id() << ", " << gpu_count << " GPU"
            << (gpu_count == 1 ? "" : "s") << ", server " << options->base_url << ", spool "
            << d.spool().dir() << " (" << (waiting.ok() ? *waiting : 0) << " waiting)" << std::endl;

  auto& stop = InstallStopSignals();
  if (f.once) {
    client::RoundReport r = d.RunRound(&stop);
    std::cout << r.Summary() << std::endl;
    if (r.status.ok()) return 0;
    std::cerr << "custodian: " << r.status.message() << "\n";
    return 1;
  }
  Status s =
      d.Run(stop, [](const client::RoundReport& r) { std::cout << r.Summary() << std::endl; });
  std::cerr << "custodian agent: stopped" << std::endl;
  return s.ok() ? 0 : Fail(s);
}

}  // namespace

void AddAgentCommands(CLI::App& app) {
  auto* agent = app.add_subcommand("agent", "The GPU server's agent: enrol, then run");
  agent->require_subcommand(1);

  auto ef = std::make_shared<EnrolFlags>();
  auto* enrol = agent->add_subcommand(
      "enrol", "Register this node and its GPUs with an enrolment token; prints the agent token");
  AddServerFlags(enrol, &ef->server, true);
  enrol
      ->add_option("--enrolment-token", ef->enrolment_token,
                   "Single-use token from POST /v1/enrolments")
      ->required();
  enrol->add_option("--key", ef->key, "Node private key file (custodian keygen)")->required();
  enrol->add_option("--gpus-file", ef->gpus_file,
                    "Simulated GPUs: JSON array of {uuid, serial, model} (default: NVML)");
  enrol->add_option("--name", ef->name, "Node name (default: the host name)");
  enrol->add_option("--token-out", ef->token_out,
                    "Write the agent token here (0600) instead of printing it");
  OnRun(enrol, [ef] { return RunEnrol(*ef); });

  auto rf = std::make_shared<RunFlags>();
  auto* run = agent->add_subcommand(
      "run", "Measure the planned landmarks every interval and submit attestations");
  AddServerFlags(run, &rf->server, true);
  run->add_option("--key", rf->key, "Node private key file")->required();
  run->add_option("--interval", rf->interval_s, "Seconds between rounds")->capture_default_str();
  run->add_option("--spool", rf->spool,
                  "Directory for bundles not yet acknowledged (default: KEY.spool)");
  run->add_option("--gpus-file", rf->gpus_file,
                  "Simulated GPUs: JSON array of {uuid, serial, model} (default: NVML)");
  run->add_option("--via", rf->via,
                  "LANDMARK_ID=HOST:PORT: measure that landmark at this address (repeatable)");
  run->add_option("--samples", rf->samples, "Challenges per landmark (1-64)")
      ->capture_default_str();
  run->add_option("--max-landmarks", rf->max_landmarks, "Landmarks measured per round")
      ->capture_default_str();
  run->add_option("--timeout-ms", rf->timeout_ms, "Silence that counts as a lost datagram")
      ->capture_default_str();
  run->add_flag("--once", rf->once, "One round, then exit: 0 if the attestation was accepted");
  OnRun(run, [rf] { return RunAgent(*rf); });
}

}  // namespace custodian::cli
