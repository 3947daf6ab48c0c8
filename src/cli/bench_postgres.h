// A disposable PostgreSQL 15 server for benchmarks (`custodian bench ingest`), started the way
// the test harness starts one (tests/support/postgres_server.h, scripts/with-postgres.sh):
// initdb into a temporary directory, `postgres` on 127.0.0.1 and a free port with fsync on,
// stopped (immediate shutdown) and deleted when the object goes. PostgreSQL refuses to run as
// root, so under root the directory is given to the `postgres` system user and the server runs
// as that user.
//
//   auto pg = PrivatePostgres::Start();           // or use an existing server's URL
//   auto url = CreatePostgresDatabase((*pg)->admin_url(), "custodian_bench");
//
// The server is told to die with the thread that started it (PR_SET_PDEATHSIG), so a crashed
// benchmark leaves no server behind: start it from the main thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "core/status.h"

namespace custodian::cli {

class PrivatePostgres {
 public:
  static Result<std::unique_ptr<PrivatePostgres>> Start();
  ~PrivatePostgres();
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/postgres
  const std::string& admin_url() const { return admin_url_; }
  // The settings it was started with, for reports ("fsync=on max_connections=200 …").
  const std::string& settings() const { return settings_; }
  // The postmaster's process id (its children are the server's other processes).
  pid_t pid() const { return pid_; }

 private:
  PrivatePostgres() = default;
  std::string dir_;
  std::string admin_url_;
  std::string settings_;
  pid_t pid_ = -1;
};

// Creates a new, empty database named PREFIX_PID_N on the server whose `postgres` database
// `admin_url` names; returns the new database's URL (same server, same parameters).
Result<std::string> CreatePostgresDatabase(const std::string& admin_url, const std::string& prefix);
// Drops a database made by CreatePostgresDatabase (for servers the caller does not own).
Status DropPostgresDatabase(const std::string& admin_url, const std::string& database_url);
// The server's version string ("15.14"), or "" when it does not answer.
std::string PostgresVersion(const std::string& url);

}  // namespace custodian::cli
