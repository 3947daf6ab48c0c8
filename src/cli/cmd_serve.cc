// custodian serve | db migrate | admin init — the server and its database (docs/api.md).
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/geo_inputs.h"
#include "cli/signals.h"
#include "core/key_file.h"
#include "registry/registry.h"
#include "server/http_server.h"
#include "store/database.h"
#include "store/migrate.h"
#include "tlog/cosigner.h"
#include "tlog/log.h"

namespace custodian::cli {
namespace {

constexpr const char* kDefaultDb = "sqlite:custodian.db";

struct ServeFlags {
  std::string db = kDefaultDb;
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert, tls_key, policy;
  int64_t stale_after_s = 900;
  int64_t inconclusive_window_s = 3600;
  int64_t sweep_interval_s = 5;
  size_t max_body_bytes = 1 << 20;
  int threads = 0;
  std::string log_key;  // default: next to a SQLite database, else ./custodian-log.key
  std::string log_origin = "custodian.localhost/log";
  size_t log_batch = 256;
  int64_t log_interval_ms = 1000;
  std::vector<std::string> witnesses;  // URL=VKEY
  size_t log_cosignatures = 0;
};

// The log's signing key: loaded, or created (0600) on first start so `serve --db …` alone
// works; a key readable by others is refused (core/key_file.h).
Result<std::shared_ptr<const SigningKey>> LogKey(const ServeFlags& f) {
  std::string path = f.log_key;
  if (path.empty()) {
    path = f.db.rfind("sqlite:", 0) == 0 ? f.db.substr(7, f.db.find('?') - 7) + ".log-key"
                                         : std::string("custodian-log.key");
  }
  struct stat st {};
  auto key = ::stat(path.c_str(), &st) == 0 ? LoadKeyFile(path) : GenerateKeyFile(path);
  // Two servers starting at once: the one that did not create the file loads it.
  if (!key.ok() && ::stat(path.c_str(), &st) == 0) key = LoadKeyFile(path);
  if (!key.ok()) return key.status().WithContext("--log-key " + path);
  return std::make_shared<const SigningKey>(*key);
}

// Logs go to stderr (stdout carries the one "listening" line scripts read), in UTC.
void SetUpLogging() {
  auto logger = spdlog::stderr_logger_mt("custodian");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::info);
}

// Opens the database and the registry (which migrates it first).
Result<std::unique_ptr<registry::Registry>> OpenRegistry(
    const std::string& url, Result<registry::RegistryOptions> options) {
  if (!options.ok()) return options.status();
  auto db = store::Database::Open(url);
  if (!db.ok()) return db.status();
  auto reg = registry::Registry::Open(std::move(*db), std::move(*options));
  if (!reg.ok()) return reg.status().WithContext("--db " + store::RedactDatabaseUrl(url));
  return reg;
}

// For the commands that only open the database: the registry still wants its policy and
// borders (it checks them at Open).
Result<registry::RegistryOptions> DefaultRegistryOptions() {
  registry::RegistryOptions options;
  options.policy = geo::DefaultPolicy();
  auto borders = Borders();
  if (!borders.ok()) return borders.status();
  options.borders = *borders;
  return options;
}

int RunServe(const ServeFlags& f) {
  server::ServerOptions options;
  options.listen = f.listen;
  options.tls_cert_file = f.tls_cert;
  options.tls_key_file = f.tls_key;
  options.max_body_bytes = f.max_body_bytes;
  options.threads = f.threads;
  options.sweep_interval_s = f.sweep_interval_s;
  // Every flag is checked before the database is touched.
  if (Status s = server::ValidateServerOptions(options); !s.ok()) return Fail(s);
  if (f.stale_after_s <= 0) {
    return Fail(Status::InvalidInput("--stale-after-s: must be > 0, got " +
                                     std::to_string(f.stale_after_s)));
  }
  if (f.inconclusive_window_s <= 0) {
    return Fail(Status::InvalidInput("--inconclusive-window-s: must be > 0, got " +
                                     std::to_string(f.inconclusive_window_s)));
  }
  registry::RegistryOptions reg_options;
  auto policy = LoadPolicyFlag(f.policy);
  if (!policy.ok()) return Fail(policy.status());
  reg_options.policy = std::move(*policy);
  auto borders = Borders();
  if (!borders.ok()) return Fail(borders.status());
  reg_options.borders = *borders;
  reg_options.stale_after_s = f.stale_after_s;
  reg_options.inconclusive_window_s = f.inconclusive_window_s;
  if (f.log_batch == 0 || f.log_interval_ms <= 0) {
    return Fail(Status::InvalidInput("--log-batch and --log-interval-ms: must be > 0"));
  }
  if (!tlog::ValidKeyName(f.log_origin)) {
    return Fail(Status::InvalidInput(
        "--log-origin: must be a non-empty name without spaces or '+', e.g. example.com/log"));
  }
  auto log_key = LogKey(f);
  if (!log_key.ok()) return Fail(log_key.status());
  tlog::LogOptions log_options;
  log_options.origin = f.log_origin;
  log_options.key_name = f.log_origin;
  log_options.key = *log_key;
  log_options.batch_max = f.log_batch;
  log_options.integrate_interval_ms = f.log_interval_ms;
  std::vector<tlog::WitnessEndpoint> witnesses;
  for (const auto& w : f.witnesses) {
    auto parsed = tlog::ParseWitnessFlag(w);
    if (!parsed.ok()) return Fail(parsed.status());
    witnesses.push_back(std::move(*parsed));
  }
  if (f.log_cosignatures > witnesses.size()) {
    return Fail(Status::InvalidInput("--log-cosignatures: " + std::to_string(f.log_cosignatures) +
                                     " required but only " + std::to_string(witnesses.size()) +
                                     " --witness given"));
  }
  log_options.required_cosignatures = f.log_cosignatures;
  reg_options.log = log_options;

  SetUpLogging();
  auto& stop = InstallStopSignals();
  auto reg = OpenRegistry(f.db, std::move(reg_options));
  if (!reg.ok()) return Fail(reg.status());
  auto api = server::ApiServer::Create(options, **reg);
  if (!api.ok()) return Fail(api.status());
  if (Status s = (*api)->Start(); !s.ok()) return Fail(s);
  (*reg)->transparency_log()->StartIntegrator();
  tlog::Cosigner cosigner(*(*reg)->transparency_log(), std::move(witnesses));
  cosigner.Start();
  spdlog::info("log origin={} vkey={}", f.log_origin,
               (*reg)->transparency_log()->verifier_key().ToString());
  const char* dialect = store::DialectName((*reg)->db().dialect());
  // One line on stdout, flushed, so scripts (and tests) learn the bound address.
  std::cout << "custodian serve listening on " << (*api)->url() << " (db " << dialect << ")"
            << std::endl;
  spdlog::info("serve url={} db={} policy={}", (*api)->url(), (*reg)->db().redacted_url(),
               f.policy.empty() ? "default" : f.policy);

  while (!stop.load() && (*api)->serving()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!stop.load()) {
    (*api)->Stop();
    return Fail(Status::Internal("serve: the HTTP listener stopped unexpectedly (see the log)"));
  }
  spdlog::info("serve: stopping (requests in flight finish first)");
  (*api)->Stop();
  cosigner.Stop();
  (*reg)->transparency_log()->StopIntegrator();
  spdlog::info("serve: stopped");
  return 0;
}

int RunMigrate(const std::string& db) {
  auto reg = OpenRegistry(db, DefaultRegistryOptions());
  if (!reg.ok()) return Fail(reg.status());
  auto version = store::SchemaVersion((*reg)->db());
  if (!version.ok()) return Fail(version.status());
  std::cout << "schema version " << *version << "\n";
  return 0;
}

int RunAdminInit(const std::string& db) {
  auto reg = OpenRegistry(db, DefaultRegistryOptions());
  if (!reg.ok()) return Fail(reg.status());
  auto admin = (*reg)->InitAdmin();
  if (!admin.ok()) {
    if (admin.status().code() == StatusCode::kAlreadyExists) {
      return Fail(Status::AlreadyExists(
          "admin init: an admin token exists already; an admin can create more with POST "
          "/v1/tokens (" +
          admin.status().message() + ")"));
    }
    return Fail(admin.status());
  }
  const auto& j = *admin;
  std::string id = j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "?";
  std::string token =
      j.contains("token") && j["token"].is_string() ? j["token"].get<std::string>() : "";
  if (token.empty()) return Fail(Status::Internal("admin init: the registry returned no token"));
  std::cout << "Created the first admin token (id " << id << ").\n"
            << "It is shown only this once and stored only as a hash: keep it secret.\n"
            << "Send it as the header 'Authorization: Bearer <token>'.\n"
            << token << std::endl;
  return 0;
}

}  // namespace

void AddServeCommands(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  auto* serve = app.add_subcommand(
      "serve", "Run the HTTP API (registry, verifier, alerts) until SIGINT or SIGTERM");
  serve->add_option("--db", f->db, "Database: sqlite:PATH or postgresql://…")
      ->capture_default_str();
  serve->add_option("--listen", f->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--tls-cert", f->tls_cert, "TLS certificate chain (PEM); serves HTTPS");
  serve->add_option("--tls-key", f->tls_key, "TLS private key (PEM, mode 0600)");
  serve->add_option("--policy", f->policy, "Verdict policy file (default: compiled-in)");
  serve
      ->add_option("--stale-after-s", f->stale_after_s,
                   "A chip without a verdict for this long raises a `stale` alert")
      ->capture_default_str();
  serve
      ->add_option("--inconclusive-window-s", f->inconclusive_window_s,
                   "A chip inconclusive for this long raises an alert")
      ->capture_default_str();
  serve
      ->add_option("--sweep-interval-s", f->sweep_interval_s,
                   "How often to look for stale and persistently inconclusive chips (0: never)")
      ->capture_default_str();
  serve->add_option("--log-key", f->log_key,
                    "Transparency log signing key (created 0600 if missing; default: the SQLite "
                    "database's path + .log-key, else ./custodian-log.key)");
  serve->add_option("--log-origin", f->log_origin, "Transparency log origin (checkpoint line 1)")
      ->capture_default_str();
  serve->add_option("--log-batch", f->log_batch, "Log entries integrated per batch at most")
      ->capture_default_str();
  serve->add_option("--log-interval-ms", f->log_interval_ms, "Log integration period")
      ->capture_default_str();
  serve->add_option("--witness", f->witnesses,
                    "A witness to send checkpoints to, URL=VKEY (its cosignature/v1 key); "
                    "repeatable");
  serve
      ->add_option("--log-cosignatures", f->log_cosignatures,
                   "Witness cosignatures a checkpoint needs before /log/checkpoint shows it")
      ->capture_default_str();
  serve->add_option("--max-body-bytes", f->max_body_bytes, "Largest request body accepted")
      ->capture_default_str();
  serve
      ->add_option("--threads", f->threads,
                   "Worker threads; each kept-alive connection holds one (0: max(64, 8 x CPUs))")
      ->capture_default_str();
  OnRun(serve, [f] { return RunServe(*f); });

  auto* db = app.add_subcommand("db", "Database administration");
  db->require_subcommand(1);
  auto migrate_db = std::make_shared<std::string>(kDefaultDb);
  auto* migrate =
      db->add_subcommand("migrate", "Bring the schema up to date and print its version");
  migrate->add_option("--db", *migrate_db, "Database: sqlite:PATH or postgresql://…")
      ->capture_default_str();
  OnRun(migrate, [migrate_db] { return RunMigrate(*migrate_db); });

  auto* admin = app.add_subcommand("admin", "Server administration");
  admin->require_subcommand(1);
  auto init_db = std::make_shared<std::string>(kDefaultDb);
  auto* init = admin->add_subcommand(
      "init",
      "Create the first admin token (only while none exists); prints it once, alone on the "
      "last line");
  init->add_option("--db", *init_db, "Database: sqlite:PATH or postgresql://…")
      ->capture_default_str();
  OnRun(init, [init_db] { return RunAdminInit(*init_db); });
}

}  // namespace custodian::cli
