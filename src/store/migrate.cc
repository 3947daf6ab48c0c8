// Versioned migrations: each one in its own write transaction together with its row in
// schema_migrations, so a migration is either wholly applied and recorded or not at all (DDL is
// transactional on both SQLite and PostgreSQL).
#include "store/migrate.h"

#include <algorithm>
#include <chrono>

namespace custodian::store {
namespace {

// Races between migrators resolve within a couple of rounds; more means a real error.
constexpr int kMaxRaceRounds = 5;

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

bool OnlyCommentsOrSpace(const std::string& stmt) {
  size_t pos = 0;
  while (pos < stmt.size()) {
    size_t end = stmt.find('\n', pos);
    if (end == std::string::npos) end = stmt.size();
    std::string_view line(stmt.data() + pos, end - pos);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line.substr(first, 2) != "--") return false;
    pos = end + 1;
  }
  return true;
}

// Statements end with ";" at the end of a line; the last one may omit it.
std::vector<std::string> SplitStatements(const std::string& sql) {
  std::vector<std::string> out;
  std::string current;
  size_t pos = 0;
  while (pos < sql.size()) {
    size_t end = sql.find('\n', pos);
    if (end == std::string::npos) end = sql.size();
    std::string line = sql.substr(pos, end - pos);
    pos = end + 1;
    size_t last = line.find_last_not_of(" \t\r");
    if (last != std::string::npos && line[last] == ';') {
      current += line.substr(0, last);
      if (!OnlyCommentsOrSpace(current)) out.push_back(current);
      current.clear();
    } else {
      current += line + "\n";
    }
  }
  if (!OnlyCommentsOrSpace(current)) out.push_back(current);
  return out;
}

Result<bool> TableExists(Database& db, Transaction& tx) {
  Result<Rows> rows =
      db.dialect() == Dialect::kSqlite
          ? tx.Query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                     {std::string("schema_migrations")})
          : tx.Query("SELECT 1 WHERE to_regclass(?) IS NOT NULL",
                     {std::string("schema_migrations")});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Status EnsureTable(Database& db) {
  Status st;
  for (int round = 0; round < kMaxRaceRounds; ++round) {
    st = db.InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
      Result<bool> exists = TableExists(db, tx);
      if (!exists.ok()) return exists.status();
      if (*exists) return Status::Ok();  // no DDL (and no DDL lock) on every start
      return tx.Exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
          "name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)");
    });
    // PostgreSQL: two concurrent CREATE TABLEs collide on the catalog's unique index even
    // with IF NOT EXISTS; the next round sees the winner's table.
    if (st.code() != StatusCode::kAlreadyExists) break;
  }
  return st.WithContext("migrate: creating schema_migrations");
}

Result<bool> IsRecorded(Database& db, int version) {
  bool found = false;
  Status st = db.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    Result<Rows> rows =
        tx.Query("SELECT 1 FROM schema_migrations WHERE version = ?", {int64_t{version}});
    if (!rows.ok()) return rows.status();
    found = !rows->empty();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return found;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<int> SchemaVersion(Database& db) {
  int version = 0;
  Status st = db.InTransaction(TxMode::kRead, [&](Transaction& tx) -> Status {
    version = 0;
    Result<bool> exists = TableExists(db, tx);
    if (!exists.ok()) return exists.status();
    if (!*exists) return Status::Ok();
    Result<Rows> rows = tx.Query("SELECT MAX(version) FROM schema_migrations");
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) version = static_cast<int>(rows->front().Int(0));
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext("migrate: reading the schema version");
  return version;
}

Result<MigrateReport> Migrate(Database& db, const std::vector<Migration>& migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version <= 0 ||
        (i > 0 && migrations[i].version <= migrations[i - 1].version)) {
      return Status::InvalidInput(
          "migrate: versions must be positive and strictly increasing, got " +
          std::to_string(migrations[i].version) + " at position " + std::to_string(i));
    }
  }
  CUSTODIAN_RETURN_IF_ERROR(EnsureTable(db));
  MigrateReport report;
  Result<int> before = SchemaVersion(db);
  if (!before.ok()) return before.status();
  report.from_version = *before;

  for (const Migration& m : migrations) {
    std::string label = "migration " + std::to_string(m.version) + " (" + m.name + ")";
    std::vector<std::string> statements =
        SplitStatements(ReplaceAll(m.sql, "{{AUTO_ID}}", AutoIdColumn(db.dialect())));
    for (int round = 0;; ++round) {
      bool applied_here = false;
      Status st = db.InTransaction(TxMode::kWrite, [&](Transaction& tx) -> Status {
        applied_here = false;
        Result<Rows> seen =
            tx.Query("SELECT 1 FROM schema_migrations WHERE version = ?", {int64_t{m.version}});
        if (!seen.ok()) return seen.status();
        if (!seen->empty()) return Status::Ok();  // applied earlier, or by another migrator
        for (size_t i = 0; i < statements.size(); ++i) {
          Status s = tx.Exec(statements[i]);
          if (!s.ok()) return s.WithContext(label + ", statement " + std::to_string(i + 1));
        }
        CUSTODIAN_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
                    {int64_t{m.version}, m.name, NowMs()}));
        applied_here = true;
        return Status::Ok();
      });
      if (st.ok()) {
        if (applied_here) report.applied.push_back(m.version);
        break;
      }
      // A concurrent migrator that applied the same migration makes ours collide (its tables
      // exist, its version row exists): if the version is recorded now, it was applied.
      Result<bool> recorded = IsRecorded(db, m.version);
      if (recorded.ok() && *recorded) break;
      if (st.code() != StatusCode::kAlreadyExists || round + 1 >= kMaxRaceRounds) {
        return st.WithContext("migrate");
      }
    }
  }
  Result<int> after = SchemaVersion(db);
  if (!after.ok()) return after.status();
  report.to_version = *after;
  return report;
}

}  // namespace custodian::store
