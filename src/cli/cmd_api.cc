// custodian api METHOD PATH | alerts | fleet — a thin client of the registry's HTTP API for
// people exploring it (docs/agent.md). Exit 0 on 2xx, 1 when the server refuses or cannot be
// reached (its problem detail on stderr), 2 on bad usage.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "client/api_client.h"
#include "client/inputs.h"
#include "core/file.h"

namespace custodian::cli {

using nlohmann::json;

constexpr char kServerEnv[] = "CUSTODIAN_SERVER";
constexpr char kTokenEnv[] = "CUSTODIAN_TOKEN";
constexpr char kDefaultServer[] = "http://127.0.0.1:8080";

void AddServerFlags(CLI::App* command, ServerFlags* f, bool server_required) {
  auto* server = command->add_option(
      "--server", f->server,
      server_required ? "Registry URL: http://HOST:PORT or https://HOST[:PORT]"
                      : "Registry URL (default: $CUSTODIAN_SERVER, else http://127.0.0.1:8080)");
  if (server_required) server->required();
  command->add_option("--token", f->token,
                      "Bearer token (visible in ps; prefer --token-file or $CUSTODIAN_TOKEN)");
  command->add_option("--token-file", f->token_file, "File holding the bearer token");
  command->add_option("--ca-file", f->ca_file, "https: trust these CA certificates (PEM)");
  command->add_flag("--insecure", f->insecure,
                    "https: do not verify the server certificate (tests only)");
}

Result<client::ApiClientOptions> ApiOptionsFrom(const ServerFlags& f) {
  client::ApiClientOptions o;
  o.base_url = f.server;
  if (o.base_url.empty()) {
    const char* env = std::getenv(kServerEnv);
    o.base_url = env != nullptr && *env != '\0' ? env : kDefaultServer;
  }
  auto base = client::ParseBaseUrl(o.base_url);
  if (!base.ok()) return base.status();
  auto token = client::ResolveToken(f.token, f.token_file, kTokenEnv);
  if (!token.ok()) return token.status();
  o.token = *token;
  o.ca_file = f.ca_file;
  o.insecure = f.insecure;
  return o;
}

namespace {

Result<std::unique_ptr<client::ApiClient>> MakeClient(const ServerFlags& f) {
  auto options = ApiOptionsFrom(f);
  if (!options.ok()) return options.status();
  return client::ApiClient::Create(*options);
}

// Usage errors were caught before the request; whatever the server said is a negative result.
int ServerFailed(const Status& s) {
  std::cerr << "custodian: " << s.message() << "\n";
  return 1;
}

struct ApiFlags {
  ServerFlags server;
  std::string method, path, data;
};

int RunApi(const ApiFlags& f) {
  std::string method = f.method;
  std::transform(method.begin(), method.end(), method.begin(), ::toupper);
  if (method != "GET" && method != "POST" && method != "PUT" && method != "PATCH" &&
      method != "DELETE") {
    return Fail(
        Status::InvalidInput("METHOD: must be GET, POST, PUT, PATCH or DELETE, got " + f.method));
  }
  if (f.path.empty() || f.path.front() != '/') {
    return Fail(Status::InvalidInput("PATH: must start with /, e.g. /v1/whoami"));
  }
  std::optional<json> body;
  if (!f.data.empty()) {
    std::string text = f.data;
    if (text.front() == '@') {
      auto file = ReadFile(text.substr(1), 16 << 20);
      if (!file.ok()) return Fail(file.status().WithContext("--data"));
      text = *file;
    }
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded()) return Fail(Status::InvalidInput("--data: not valid JSON"));
    body = std::move(parsed);
  } else if (method == "POST" || method == "PUT" || method == "PATCH") {
    body = json::object();  // the registry's POST endpoints expect a JSON body
  }
  auto api = MakeClient(f.server);
  if (!api.ok()) return Fail(api.status());
  auto answer = (*api)->Request(method, f.path, body);
  if (!answer.ok()) return ServerFailed(answer.status());
  if (!answer->is_null()) std::cout << answer->dump(2) << "\n";
  return 0;
}

// A table with left-aligned columns; the last column is not padded.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
}

// A field as text: "-" when missing or null, numbers and booleans as JSON writes them.
std::string Cell(const json& obj, const char* key, size_t max_chars = 60) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  std::string s = it->is_string() ? it->get<std::string>() : it->dump();
  if (s.empty()) return "-";
  for (char& ch : s) {
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  }
  if (s.size() > max_chars) s = s.substr(0, max_chars - 3) + "...";
  return s;
}

// The array under `key`, or the response itself when it is a bare array.
json ListIn(const json& response, const char* key) {
  if (response.is_array()) return response;
  if (response.is_object()) {
    auto it = response.find(key);
    if (it != response.end() && it->is_array()) return *it;
  }
  return json::array();
}

struct AlertsFlags {
  ServerFlags server;
  std::string status, kind, site, node, chip, landmark;
  int limit = 0;
  bool json_out = false;
};

int RunAlerts(const AlertsFlags& f) {
  std::string query;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + client::UrlEncode(value);
  };
  add("status", f.status);
  add("kind", f.kind);
  add("site", f.site);
  add("node", f.node);
  add("chip", f.chip);
  add("landmark", f.landmark);
  if (f.limit > 0) add("limit", std::to_string(f.limit));
  if (f.limit < 0) return Fail(Status::InvalidInput("--limit: must be >= 0"));
  auto api = MakeClient(f.server);
  if (!api.ok()) return Fail(api.status());
  auto answer = (*api)->Get("/v1/alerts" + query);
  if (!answer.ok()) return ServerFailed(answer.status());
  if (f.json_out) {
    std::cout << answer->dump(2) << "\n";
    return 0;
  }
  json alerts = ListIn(*answer, "alerts");
  if (alerts.empty()) {
    std::cout << "no alerts\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const json& a : alerts) {
    rows.push_back({Cell(a, "id"), Cell(a, "kind"), Cell(a, "status"), Cell(a, "site"),
                    Cell(a, "node", 32), Cell(a, "chip", 44), Cell(a, "landmark"), Cell(a, "count"),
                    Cell(a, "last_seen"), Cell(a, "reason", 100)});
  }
  PrintTable(
      {"ID", "KIND", "STATUS", "SITE", "NODE", "CHIP", "LANDMARK", "COUNT", "LAST SEEN", "REASON"},
      rows);
  return 0;
}

struct FleetFlags {
  ServerFlags server;
  std::string by = "site";
  bool json_out = false;
};

int RunFleet(const FleetFlags& f) {
  if (f.by != "site" && f.by != "operator") {
    return Fail(Status::InvalidInput("--by: must be site or operator, got " + f.by));
  }
  auto api = MakeClient(f.server);
  if (!api.ok()) return Fail(api.status());
  const bool by_site = f.by == "site";
  auto answer = (*api)->Get(by_site ? "/v1/fleet/sites" : "/v1/fleet/operators");
  if (!answer.ok()) return ServerFailed(answer.status());
  if (f.json_out) {
    std::cout << answer->dump(2) << "\n";
    return 0;
  }
  json groups = ListIn(*answer, by_site ? "sites" : "operators");
  if (groups.empty()) {
    std::cout << (by_site ? "no sites\n" : "no operators\n");
    return 0;
  }
  std::vector<std::string> header = {by_site ? "SITE" : "OPERATOR"};
  if (by_site) header.push_back("OPERATOR");
  for (const char* h :
       {"CHIPS", "VERIFIED", "INCONCLUSIVE", "VIOLATION", "STALE", "NEVER", "ALERTS OPEN"}) {
    header.push_back(h);
  }
  const std::vector<const char*> keys = {"chips", "verified", "inconclusive", "violation",
                                         "stale", "never",    "alerts_open"};
  std::vector<std::vector<std::string>> rows;
  auto add_row = [&](const json& g, std::vector<std::string> row) {
    for (const char* k : keys) row.push_back(Cell(g, k));
    rows.push_back(std::move(row));
  };
  for (const json& g : groups) {
    add_row(g, by_site ? std::vector<std::string>{Cell(g, "site"), Cell(g, "operator")}
                       : std::vector<std::string>{Cell(g, "operator")});
  }
  if (answer->is_object() && answer->contains("totals") && (*answer)["totals"].is_object()) {
    add_row((*answer)["totals"],
            by_site ? std::vector<std::string>{"TOTAL", ""} : std::vector<std::string>{"TOTAL"});
  }
  PrintTable(header, rows);
  return 0;
}

}  // namespace

void AddApiCommands(CLI::App& app) {
  auto af = std::make_shared<ApiFlags>();
  auto* api = app.add_subcommand(
      "api", "Send one request to the registry's HTTP API and print the JSON answer");
  api->add_option("METHOD", af->method, "GET, POST, PUT, PATCH or DELETE")->required();
  api->add_option("PATH", af->path, "Path under the server, e.g. /v1/whoami")->required();
  api->add_option("--data", af->data, "JSON request body, or @FILE to read it from a file");
  AddServerFlags(api, &af->server, false);
  OnRun(api, [af] { return RunApi(*af); });

  auto lf = std::make_shared<AlertsFlags>();
  auto* alerts = app.add_subcommand("alerts", "List alerts (GET /v1/alerts) as a table");
  alerts->add_option("--status", lf->status, "open, acknowledged or resolved");
  alerts->add_option("--kind", lf->kind, "Only this kind (stale, violation, inconclusive, …)");
  alerts->add_option("--site", lf->site, "Only this site");
  alerts->add_option("--node", lf->node, "Only this node");
  alerts->add_option("--chip", lf->chip, "Only this chip (GPU UUID)");
  alerts->add_option("--landmark", lf->landmark, "Only this landmark");
  alerts->add_option("--limit", lf->limit, "At most this many");
  alerts->add_flag("--json", lf->json_out, "Print the server's JSON instead of a table");
  AddServerFlags(alerts, &lf->server, false);
  OnRun(alerts, [lf] { return RunAlerts(*lf); });

  auto ff = std::make_shared<FleetFlags>();
  auto* fleet = app.add_subcommand(
      "fleet", "Chips by latest verdict, per site or operator (GET /v1/fleet/…) as a table");
  fleet->add_option("--by", ff->by, "site or operator")->capture_default_str();
  fleet->add_flag("--json", ff->json_out, "Print the server's JSON instead of a table");
  AddServerFlags(fleet, &ff->server, false);
  OnRun(fleet, [ff] { return RunFleet(*ff); });
}

}  // namespace custodian::cli
