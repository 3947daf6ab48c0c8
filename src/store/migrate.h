// Versioned schema migrations, the same on both backends.
//
// A migration is numbered SQL (statements separated by ";" at line ends). `{{AUTO_ID}}` in it
// is replaced by store::AutoIdColumn for the database's dialect. Migrate applies, in order and
// each in its own transaction, every migration whose version is not yet recorded in the table
// schema_migrations(version BIGINT PRIMARY KEY, name TEXT, applied_at_ms BIGINT); concurrent
// migrators are safe (the loser of the race sees the version applied and skips it).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "store/database.h"

namespace custodian::store {

struct Migration {
  int version = 0;  // 1, 2, 3 … strictly increasing
  std::string name;
  std::string sql;
};

struct MigrateReport {
  int from_version = 0;  // highest applied before
  int to_version = 0;    // highest applied after
  std::vector<int> applied;
};

Result<MigrateReport> Migrate(Database& db, const std::vector<Migration>& migrations);
// Highest applied version (0 for an empty database).
Result<int> SchemaVersion(Database& db);

}  // namespace custodian::store
