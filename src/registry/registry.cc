// Registry lifecycle, bearer tokens and metrics.
//
// A token is "cus_<id>_<secret>": the id (12 hex) finds the row, the secret (64 hex, 256 random
// bits) is checked against its stored BLAKE2b hash in constant time. Only the hash is stored, so
// a copy of the database does not hand out tokens.
#include <spdlog/spdlog.h>

#include <charconv>

#include "core/bytes.h"
#include "core/crypto.h"
#include "registry/internal.h"
#include "registry/schema.h"
#include "store/migrate.h"

namespace custodian::registry {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kOperator:
      return "operator";
    case Role::kLandmark:
      return "landmark";
    case Role::kAgent:
      return "agent";
    case Role::kAuditor:
      return "auditor";
  }
  return "?";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kOperator, Role::kLandmark, Role::kAgent, Role::kAuditor}) {
    if (name == RoleName(r)) return r;
  }
  return Bad("role", "must be one of admin, operator, landmark, agent, auditor");
}

Registry::Impl::Impl(std::unique_ptr<store::Database> database, RegistryOptions opts)
    : db(std::move(database)),
      options(std::move(opts)),
      engine(std::make_unique<geo::VerdictEngine>(*options.borders, options.policy)) {}

Result<std::unique_ptr<Registry>> Registry::Open(std::unique_ptr<store::Database> db,
                                                 RegistryOptions options) {
  if (db == nullptr) return Status::InvalidInput("registry: no database");
  if (options.borders == nullptr) return Status::InvalidInput("registry: no borders");
  auto migrated = store::Migrate(*db, RegistryMigrations());
  if (!migrated.ok()) return migrated.status().WithContext("migrating the database");
  InitCrypto();
  auto impl = std::make_unique<Impl>(std::move(db), std::move(options));
  if (impl->options.log) {
    auto log = tlog::Log::Open(*impl->db, *impl->options.log);
    if (!log.ok()) return log.status().WithContext("opening the transparency log");
    impl->log = std::move(*log);
  }
  return std::unique_ptr<Registry>(new Registry(std::move(impl)));
}

Registry::Registry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Registry::~Registry() = default;

store::Database& Registry::db() {
  return *impl_->db;
}

namespace {

struct NewToken {
  std::string id;
  std::string token;
  std::string secret_hash;
};

NewToken MakeToken() {
  uint8_t id[6];
  uint8_t secret[32];
  RandomBytes(id, sizeof id);
  RandomBytes(secret, sizeof secret);
  NewToken t;
  t.id = HexEncode(ByteView(id, sizeof id));
  std::string secret_hex = HexEncode(ByteView(secret, sizeof secret));
  t.token = "cus_" + t.id + "_" + secret_hex;
  t.secret_hash = HexEncode(Blake2b256(AsBytes(secret_hex)));
  return t;
}

Status InsertToken(Transaction& tx, const NewToken& t, Role role, const std::string& operator_id,
                   const std::string& node_id, const std::string& landmark_id,
                   const std::string& name) {
  auto nullable = [](const std::string& s) { return s.empty() ? Value() : Value(s); };
  return tx.Exec(
      "INSERT INTO tokens (id, secret_hash, role, operator_id, node_id, landmark_id, name, "
      "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {t.id, t.secret_hash, RoleName(role), nullable(operator_id), nullable(node_id),
       nullable(landmark_id), name, NowMs()});
}

json TokenJson(const store::Row& row) {
  json j = {{"id", row.Text(0)},
            {"role", row.Text(1)},
            {"name", row.Text(5)},
            {"created_at", MsOrNull(row, 6)},
            {"revoked_at", MsOrNull(row, 7)}};
  if (!row.IsNull(2)) j["operator"] = row.Text(2);
  if (!row.IsNull(3)) j["node"] = row.Text(3);
  if (!row.IsNull(4)) j["landmark"] = row.Text(4);
  return j;
}

constexpr const char* kTokenColumns =
    "id, role, operator_id, node_id, landmark_id, name, created_ms, revoked_ms";

}  // namespace

// Exposed to ingest.cc / resources.cc for the agent token issued at enrolment.
Result<std::string> IssueToken(Transaction& tx, Role role, const std::string& operator_id,
                               const std::string& node_id, const std::string& landmark_id,
                               const std::string& name) {
  NewToken t = MakeToken();
  CUSTODIAN_RETURN_IF_ERROR(InsertToken(tx, t, role, operator_id, node_id, landmark_id, name));
  return t.token;
}

Result<json> Registry::InitAdmin() {
  NewToken t = MakeToken();
  Status s = impl_->db->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    auto existing =
        tx.Query("SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_ms IS NULL");
    if (!existing.ok()) return existing.status();
    if ((*existing)[0].Int(0) > 0) {
      return Status::AlreadyExists(
          "an admin token exists already; ask an admin to create tokens (POST /v1/tokens)");
    }
    return InsertToken(tx, t, Role::kAdmin, "", "", "", "first admin");
  });
  if (!s.ok()) return s;
  return json{{"id", t.id}, {"token", t.token}, {"role", "admin"}};
}

Result<Caller> Registry::Authenticate(std::string_view bearer_token) {
  // cus_ + 12 hex + _ + 64 hex
  auto malformed = Status::Unauthorized("bearer token: malformed");
  if (bearer_token.size() != 4 + 12 + 1 + 64 || bearer_token.substr(0, 4) != "cus_" ||
      bearer_token[16] != '_') {
    return malformed;
  }
  std::string id(bearer_token.substr(4, 12));
  std::string secret(bearer_token.substr(17));
  std::string presented_hash = HexEncode(Blake2b256(AsBytes(secret)));
  Caller caller;
  Status s = impl_->db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    auto rows = tx.Query(
        "SELECT secret_hash, role, operator_id, node_id, landmark_id, revoked_ms FROM tokens "
        "WHERE id = ?",
        {id});
    if (!rows.ok()) return rows.status();
    // The same comparison runs whether or not the id exists, so timing says nothing about it.
    std::string stored = rows->empty() ? std::string(64, '0') : (*rows)[0].Text(0);
    bool equal = ConstantTimeEqual(AsBytes(stored), AsBytes(presented_hash));
    if (rows->empty() || !equal) return Status::Unauthorized("bearer token: unknown");
    const store::Row& row = (*rows)[0];
    if (!row.IsNull(5)) return Status::Unauthorized("bearer token: revoked");
    auto role = ParseRole(row.Text(1));
    if (!role.ok()) return Status::Corruption("tokens." + id + ".role");
    caller.token_id = id;
    caller.role = *role;
    caller.operator_id = row.Text(2);
    caller.node_id = row.Text(3);
    caller.landmark_id = row.Text(4);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return caller;
}

Result<json> Registry::CreateToken(const Caller& c, const json& body) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin}));
  CUSTODIAN_RETURN_IF_ERROR(CheckFields(body, {"role", "operator", "node", "landmark", "name"}));
  auto role_name = GetText(body, "role", 16);
  if (!role_name.ok()) return role_name.status();
  auto role = ParseRole(*role_name);
  if (!role.ok()) return role.status();
  auto name = GetText(body, "name", 200, std::string(RoleName(*role)));
  if (!name.ok()) return name.status();
  // Each scoped role needs exactly its scope, and nothing else.
  std::string operator_id, node_id, landmark_id;
  auto scope = [&](const char* field, std::string& out, bool needed) -> Status {
    bool present = body.contains(field);
    if (needed && !present) return Bad(field, std::string("required for role ") + *role_name);
    if (!needed && present) return Bad(field, std::string("not allowed for role ") + *role_name);
    if (present) {
      auto v = GetId(body, field);
      if (!v.ok()) return v.status();
      out = *v;
    }
    return Status::Ok();
  };
  CUSTODIAN_RETURN_IF_ERROR(scope("operator", operator_id, *role == Role::kOperator));
  CUSTODIAN_RETURN_IF_ERROR(scope("node", node_id, *role == Role::kAgent));
  CUSTODIAN_RETURN_IF_ERROR(scope("landmark", landmark_id, *role == Role::kLandmark));
  NewToken t = MakeToken();
  Status s = impl_->db->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    auto exists = [&](const char* table, const std::string& id, const char* field) -> Status {
      if (id.empty()) return Status::Ok();
      auto rows = tx.Query(std::string("SELECT 1 FROM ") + table + " WHERE id = ?", {id});
      if (!rows.ok()) return rows.status();
      if (rows->empty())
        return Status::NotFound(std::string("body.") + field + ": no such " + field + " \"" + id +
                                "\"");
      return Status::Ok();
    };
    CUSTODIAN_RETURN_IF_ERROR(exists("operators", operator_id, "operator"));
    CUSTODIAN_RETURN_IF_ERROR(exists("nodes", node_id, "node"));
    CUSTODIAN_RETURN_IF_ERROR(exists("landmarks", landmark_id, "landmark"));
    return InsertToken(tx, t, *role, operator_id, node_id, landmark_id, *name);
  });
  if (!s.ok()) return s;
  json j = {{"id", t.id}, {"token", t.token}, {"role", *role_name}, {"name", *name}};
  if (!operator_id.empty()) j["operator"] = operator_id;
  if (!node_id.empty()) j["node"] = node_id;
  if (!landmark_id.empty()) j["landmark"] = landmark_id;
  return j;
}

Result<json> Registry::ListTokens(const Caller& c) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin}));
  json out = json::array();
  Status s = impl_->db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    out = json::array();
    auto rows =
        tx.Query(std::string("SELECT ") + kTokenColumns + " FROM tokens ORDER BY created_ms, id");
    if (!rows.ok()) return rows.status();
    for (const auto& row : *rows) out.push_back(TokenJson(row));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return json{{"tokens", out}};
}

Result<json> Registry::RevokeToken(const Caller& c, const std::string& id) {
  CUSTODIAN_RETURN_IF_ERROR(Allow(c, {Role::kAdmin}));
  json out;
  Status s = impl_->db->InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
    CUSTODIAN_RETURN_IF_ERROR(tx.Exec(
        "UPDATE tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", {NowMs(), id}));
    auto rows =
        tx.Query(std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE id = ?", {id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::NotFound("token \"" + id + "\" not found");
    out = TokenJson((*rows)[0]);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<json> Registry::WhoAmI(const Caller& c) {
  json j = {{"token", c.token_id}, {"role", RoleName(c.role)}};
  if (!c.operator_id.empty()) j["operator"] = c.operator_id;
  if (!c.node_id.empty()) j["node"] = c.node_id;
  if (!c.landmark_id.empty()) j["landmark"] = c.landmark_id;
  return j;
}

RegistryMetrics Registry::Metrics() {
  RegistryMetrics m;
  {
    std::lock_guard<std::mutex> lock(impl_->metrics_mu);
    m.verdicts = impl_->verdict_counts;
  }
  m.attestations = impl_->attestations.load();
  m.attestations_rejected = impl_->attestations_rejected.load();
  m.ingest_in_flight = impl_->ingest_in_flight.load();
  (void)impl_->db->InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    auto rows = tx.Query("SELECT COUNT(*) FROM alerts WHERE status <> 'resolved'");
    if (!rows.ok()) return rows.status();
    m.alerts_open = (*rows)[0].Int(0);
    return Status::Ok();
  });
  return m;
}

tlog::Log* Registry::transparency_log() {
  return impl_->log.get();
}

namespace {

Result<uint64_t> GetSize(const Query& q, const std::string& name) {
  auto it = q.find(name);
  if (it == q.end()) return Status::InvalidInput("query." + name + ": missing");
  uint64_t value = 0;
  const std::string& text = it->second;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() ||
      (text.size() > 1 && text[0] == '0')) {
    return Status::InvalidInput("query." + name + ": must be a non-negative integer");
  }
  return value;
}

json HashesJson(const std::vector<tlog::Hash>& hashes) {
  json out = json::array();
  for (const auto& h : hashes) out.push_back(Base64Encode(h));
  return out;
}

}  // namespace

Result<json> Registry::LogInclusionProof(const Caller& c, const Query& q) {
  (void)c;  // every role may read the log, as anyone may read its tiles
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"index", "size"}));
  if (impl_->log == nullptr) return Status::NotFound("the transparency log is not enabled");
  auto index = GetSize(q, "index");
  if (!index.ok()) return index.status();
  auto size = GetSize(q, "size");
  if (!size.ok()) return size.status();
  auto proof = impl_->log->InclusionProof(*index, *size);
  if (!proof.ok()) return proof.status();
  auto entry = impl_->log->ReadEntry(*index);
  if (!entry.ok()) return entry.status();
  return json{{"index", *index},
              {"size", *size},
              {"leaf_hash", Base64Encode(tlog::LeafHash(*entry))},
              {"proof", HashesJson(*proof)}};
}

Result<json> Registry::LogConsistencyProof(const Caller& c, const Query& q) {
  (void)c;
  CUSTODIAN_RETURN_IF_ERROR(CheckQuery(q, {"from", "to"}));
  if (impl_->log == nullptr) return Status::NotFound("the transparency log is not enabled");
  auto from = GetSize(q, "from");
  if (!from.ok()) return from.status();
  auto to = GetSize(q, "to");
  if (!to.ok()) return to.status();
  auto proof = impl_->log->ConsistencyProof(*from, *to);
  if (!proof.ok()) return proof.status();
  return json{{"from", *from}, {"to", *to}, {"proof", HashesJson(*proof)}};
}

}  // namespace custodian::registry
