// The PostgreSQL backend: libpq, a pool of connections, SERIALIZABLE write transactions (a
// serialization failure or deadlock becomes Aborted, which InTransaction retries) and snapshot
// (REPEATABLE READ) read-only transactions. `?` placeholders become $1, $2 …; parameters are
// sent as text and statements are prepared once per connection.
#include <libpq-fe.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "store/backends.h"

namespace custodian::store::internal {
namespace {

constexpr int kDefaultPoolSize = 8;
constexpr size_t kMaxPreparedStatements = 512;  // per connection; see the SQLite backend
constexpr auto kPoolWait = std::chrono::seconds(30);

// Type OIDs from catalog/pg_type.h (a server header that libpq-dev does not ship).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700;

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// `?` → $1, $2 … outside string literals, quoted identifiers, comments and dollar quotes.
std::string TranslatePlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 8);
  *count = 0;
  size_t i = 0, n = sql.size();
  auto copy_until = [&](size_t end) {
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < n) {
    char c = sql[i];
    if (c == '?') {
      out += '$' + std::to_string(++*count);
      ++i;
    } else if (c == '\'') {
      // E'…' strings take backslash escapes; standard strings only double the quote.
      bool escapes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdentChar(sql[i - 2]));
      size_t j = i + 1;
      while (j < n) {
        if (escapes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == '\'') {
          if (j + 1 < n && sql[j + 1] == '\'') {
            j += 2;
          } else {
            break;
          }
        } else {
          ++j;
        }
      }
      copy_until(std::min(j + 1, n));
    } else if (c == '"') {
      size_t j = sql.find('"', i + 1);
      copy_until(j == std::string_view::npos ? n : j + 1);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      copy_until(j == std::string_view::npos ? n : j + 1);
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t j = i + 2;
      int depth = 1;  // PostgreSQL block comments nest
      while (j < n && depth > 0) {
        if (sql.compare(j, 2, "/*") == 0) {
          ++depth;
          j += 2;
        } else if (sql.compare(j, 2, "*/") == 0) {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      copy_until(std::min(j, n));
    } else if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1])) &&
               !(i + 1 < n && sql[i + 1] >= '0' && sql[i + 1] <= '9')) {
      // $tag$ … $tag$ (tag possibly empty); $1 is a parameter, not a quote.
      size_t j = i + 1;
      while (j < n && IsIdentChar(sql[j])) ++j;
      if (j < n && sql[j] == '$') {
        std::string_view tag = sql.substr(i, j - i + 1);
        size_t close = sql.find(tag, j + 1);
        copy_until(close == std::string_view::npos ? n : close + tag.size());
      } else {
        copy_until(i + 1);
      }
    } else {
      size_t j = sql.find_first_of("?'\"-/$", i + 1);
      copy_until(j == std::string_view::npos ? n : j);
    }
  }
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct Prepared {
  std::string name;
  int nparams = 0;
};

struct Connection {
  PGconn* conn = nullptr;
  std::unordered_map<std::string, Prepared, SvHash, std::equal_to<>> prepared;
  int next_id = 0;

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { PQfinish(conn); }
  bool broken() const { return conn == nullptr || PQstatus(conn) != CONNECTION_OK; }
};

// Maps a failed result (or a lost connection, res == nullptr) to a Status.
Status ErrorStatus(Connection& c, const PGresult* res, std::string_view sql) {
  if (res == nullptr || c.broken()) {
    return Status::Unavailable("postgresql: connection lost: " + Trim(PQerrorMessage(c.conn)));
  }
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  std::string code = state != nullptr ? state : "";
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  std::string msg = "postgresql: " + Trim(primary != nullptr ? primary : PQresultErrorMessage(res));
  if (code == "23505") {
    // 'duplicate key value violates unique constraint "t_pkey"' + 'Key (id)=(1) already exists.'
    const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    return Status::AlreadyExists(detail != nullptr ? msg + ": " + detail : msg);
  }
  if (code == "40001" || code == "40P01" || code == "55P03") return Status::Aborted(msg);
  if (code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0 || code == "53300") {
    return Status::Unavailable(msg);
  }
  return Status::Internal(msg + " [" + code + "] (in: " + std::string(sql.substr(0, 200)) + ")");
}

class PostgresDatabase;

class PostgresTransaction : public Transaction {
 public:
  PostgresTransaction(PostgresDatabase* db, std::unique_ptr<Connection> conn)
      : db_(db), c_(std::move(conn)) {}
  ~PostgresTransaction() override;

  Status Exec(std::string_view sql, const std::vector<Value>& params) override {
    CUSTODIAN_RETURN_IF_ERROR(Usable());
    changes_ = 0;
    return Fail(Run(sql, params, nullptr));
  }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    CUSTODIAN_RETURN_IF_ERROR(Usable());
    Rows rows;
    Status st = Run(sql, params, &rows);
    if (!st.ok()) return Fail(st);
    return rows;
  }

  int64_t changes() const override { return changes_; }

  Status Commit() override;

 private:
  Status Usable() const {
    if (done_) return Status::Internal("sql: transaction already committed");
    if (!failed_.ok()) return failed_;
    return Status::Ok();
  }
  Status Fail(Status st) {
    if (!st.ok() && failed_.ok()) failed_ = st.WithContext("transaction failed earlier");
    return st;
  }

  Status Run(std::string_view sql, const std::vector<Value>& params, Rows* rows) {
    Connection& c = *c_;
    const Prepared* prepared = nullptr;
    std::string translated;
    int nparams = 0;
    if (auto it = c.prepared.find(sql); it != c.prepared.end()) {
      prepared = &it->second;
      nparams = prepared->nparams;
    } else {
      translated = TranslatePlaceholders(sql, &nparams);
    }
    if (static_cast<size_t>(nparams) != params.size()) {
      return Status::InvalidInput("sql: statement has " + std::to_string(nparams) +
                                  " placeholders, got " + std::to_string(params.size()) +
                                  " values (in: " + std::string(sql.substr(0, 200)) + ")");
    }
    if (prepared == nullptr && c.prepared.size() < kMaxPreparedStatements) {
      // Parameter types left to the server (0): it infers them from context, the way it
      // types literals, so one text-format parameter fits a BIGINT, DOUBLE or TEXT column.
      Prepared p{"cs" + std::to_string(c.next_id++), nparams};
      PGresult* res = PQprepare(c.conn, p.name.c_str(), translated.c_str(), nparams, nullptr);
      if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        Status st = ErrorStatus(c, res, sql);
        PQclear(res);
        return st;
      }
      PQclear(res);
      prepared = &c.prepared.emplace(std::string(sql), std::move(p)).first->second;
    }

    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (const auto* num = std::get_if<int64_t>(&v)) {
        text[i] = std::to_string(*num);
      } else if (const auto* d = std::get_if<double>(&v)) {
        text[i] = FormatDouble(*d);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        values[i] = s->c_str();
        continue;
      } else {
        continue;  // NULL
      }
      values[i] = text[i].c_str();
    }
    PGresult* res = prepared != nullptr ? PQexecPrepared(c.conn, prepared->name.c_str(), nparams,
                                                         values.data(), nullptr, nullptr, 0)
                                        : PQexecParams(c.conn, translated.c_str(), nparams, nullptr,
                                                       values.data(), nullptr, nullptr, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      Status st = ErrorStatus(c, res, sql);
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      std::string code = state != nullptr ? state : "";
      // A cached plan whose result type changed under a schema change ("cached plan must not
      // change result type"), or a prepared statement the server no longer has: forget it and
      // let InTransaction run the transaction again with a fresh one.
      if (prepared != nullptr && (code == "0A000" || code == "26000")) {
        c.prepared.erase(std::string(sql));
        if (code == "26000" || st.message().find("cached plan") != std::string::npos) {
          st = Status::Aborted(st.message());
        }
      }
      PQclear(res);
      return st;
    }
    const char* tuples = PQcmdTuples(res);
    changes_ = tuples != nullptr && *tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0;
    if (rows != nullptr && status == PGRES_TUPLES_OK) {
      int nrows = PQntuples(res), ncols = PQnfields(res);
      rows->reserve(rows->size() + nrows);
      std::vector<Oid> types(ncols);
      for (int col = 0; col < ncols; ++col) types[col] = PQftype(res, col);
      for (int r = 0; r < nrows; ++r) {
        Row row;
        row.values.reserve(ncols);
        for (int col = 0; col < ncols; ++col)
          row.values.push_back(Convert(res, r, col, types[col]));
        rows->push_back(std::move(row));
      }
    }
    PQclear(res);
    return Status::Ok();
  }

  static Value Convert(const PGresult* res, int r, int col, Oid type) {
    if (PQgetisnull(res, r, col)) return std::monostate();
    const char* p = PQgetvalue(res, r, col);
    size_t len = static_cast<size_t>(PQgetlength(res, r, col));
    switch (type) {
      case kInt8Oid:
      case kInt4Oid:
      case kInt2Oid:
      case kOidOid:
      case kNumericOid: {
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(p, p + len, v);
        if (ec == std::errc() && ptr == p + len) return v;
        if (type != kNumericOid) return std::string(p, len);
        return std::strtod(p, nullptr);  // a NUMERIC with a fraction, or too big for int64
      }
      case kFloat4Oid:
      case kFloat8Oid:
        return std::strtod(p, nullptr);  // PostgreSQL ≥ 12 writes the shortest exact form
      case kBoolOid:
        return int64_t{p[0] == 't'};
      default:
        return std::string(p, len);
    }
  }

  PostgresDatabase* db_;
  std::unique_ptr<Connection> c_;
  bool done_ = false;
  Status failed_;
  int64_t changes_ = 0;
};

void IgnoreNotice(void*, const char*) {}  // NOTICEs ("… already exists, skipping") are not ours

class PostgresDatabase : public Database {
 public:
  PostgresDatabase(std::string conninfo, std::string redacted, int pool_size)
      : conninfo_(std::move(conninfo)), redacted_(std::move(redacted)), pool_size_(pool_size) {}

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string redacted_url() const override { return redacted_; }

  Result<std::unique_ptr<Transaction>> Begin(TxMode mode) override {
    const char* begin = mode == TxMode::kWrite ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                               : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    // A pooled connection may have died since its last use (server restart, idle timeout):
    // nothing has happened in this transaction yet, so drop it and try a fresh one.
    Status last;
    for (int attempt = 0; attempt <= pool_size_; ++attempt) {
      Result<std::unique_ptr<Connection>> conn = Acquire();
      if (!conn.ok()) return conn.status();
      PGresult* res = PQexec((*conn)->conn, begin);
      bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
      if (!ok) last = ErrorStatus(**conn, res, begin);
      PQclear(res);
      if (ok) {
        return std::unique_ptr<Transaction>(new PostgresTransaction(this, std::move(*conn)));
      }
      bool broken = (*conn)->broken();
      Release(std::move(*conn));
      if (!broken) return last;
    }
    return last;
  }

  // Returns a connection to the pool, closing it when it is broken or mid-transaction.
  void Release(std::unique_ptr<Connection> c) {
    if (!c->broken() && PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
      PQclear(PQexec(c->conn, "ROLLBACK"));
    }
    bool keep = !c->broken() && PQtransactionStatus(c->conn) == PQTRANS_IDLE;
    if (!keep) c.reset();  // closes it outside the lock
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (keep) {
        idle_.push_back(std::move(c));
      } else {
        --open_;
      }
    }
    cv_.notify_one();
  }

  Result<std::unique_ptr<Connection>> Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kPoolWait, [&] { return !idle_.empty() || open_ < pool_size_; })) {
      return Status::Unavailable("postgresql: all " + std::to_string(pool_size_) +
                                 " pooled connections stayed busy for 30 s (raise ?pool=N)");
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
    lock.unlock();
    Result<std::unique_ptr<Connection>> c = Connect();
    if (!c.ok()) {
      lock.lock();
      --open_;
      lock.unlock();
      cv_.notify_one();
    }
    return c;
  }

 private:
  Result<std::unique_ptr<Connection>> Connect() {
    // Defaults first: keywords in the URL (expanded from "dbname") override them.
    const char* keywords[] = {"connect_timeout", "fallback_application_name", "client_encoding",
                              "dbname", nullptr};
    const char* values[] = {"10", "custodian", "UTF8", conninfo_.c_str(), nullptr};
    auto c = std::make_unique<Connection>();
    c->conn = PQconnectdbParams(keywords, values, 1);
    if (c->conn == nullptr) return Status::Unavailable("postgresql: out of memory connecting");
    if (PQstatus(c->conn) != CONNECTION_OK) {
      return Status::Unavailable("postgresql: cannot connect to " + redacted_ + ": " +
                                 Trim(PQerrorMessage(c->conn)));
    }
    PQsetNoticeProcessor(c->conn, IgnoreNotice, nullptr);
    return c;
  }

  const std::string conninfo_;
  const std::string redacted_;
  const int pool_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int open_ = 0;                                   // guarded by mu_: idle + checked out
};

Status PostgresTransaction::Commit() {
  CUSTODIAN_RETURN_IF_ERROR(Usable());
  PGresult* res = PQexec(c_->conn, "COMMIT");
  Status st;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    st = ErrorStatus(*c_, res, "COMMIT");
  } else if (std::string_view(PQcmdStatus(res)) != "COMMIT") {
    // The server answers a COMMIT of a failed transaction with ROLLBACK, not an error.
    st = Status::Aborted("postgresql: the transaction was rolled back by the server");
  }
  PQclear(res);
  if (!st.ok()) return Fail(st);
  done_ = true;
  db_->Release(std::move(c_));  // back to the pool now, not when this object goes
  return Status::Ok();
}

PostgresTransaction::~PostgresTransaction() {
  if (c_ == nullptr) return;  // committed and released
  if (!done_ && !c_->broken()) PQclear(PQexec(c_->conn, "ROLLBACK"));
  db_->Release(std::move(c_));
}

Status ParsePool(const std::string& value, int* pool) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size() || v < 1 || v > 1000) {
    return Status::InvalidInput("--db: pool must be an integer in [1, 1000], got \"" + value +
                                "\"");
  }
  *pool = v;
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url) {
  int pool = kDefaultPoolSize;
  std::string conninfo;
  if (url.find("://") != std::string::npos) {
    // URI: strip our own query parameter; libpq rejects the ones it does not know.
    size_t q = url.find('?');
    conninfo = url.substr(0, q);
    if (q != std::string::npos) {
      std::string kept;
      std::string_view query(url);
      query.remove_prefix(q + 1);
      while (!query.empty()) {
        size_t amp = query.find('&');
        std::string param(query.substr(0, amp));
        query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
        if (param.rfind("pool=", 0) == 0) {
          CUSTODIAN_RETURN_IF_ERROR(ParsePool(param.substr(5), &pool));
        } else if (!param.empty()) {
          kept += (kept.empty() ? "" : "&") + param;
        }
      }
      if (!kept.empty()) conninfo += "?" + kept;
    }
    // libpq knows postgresql:// and postgres:// alike.
  } else {
    // "postgresql:" followed by libpq key=value pairs.
    std::string rest = url.substr(std::string("postgresql:").size());
    size_t pos = 0;
    while (pos < rest.size()) {
      while (pos < rest.size() && rest[pos] == ' ') ++pos;
      size_t end = pos;
      bool quoted = false;
      while (end < rest.size() && (quoted || rest[end] != ' ')) {
        if (rest[end] == '\\')
          ++end;
        else if (rest[end] == '\'')
          quoted = !quoted;
        ++end;
      }
      std::string token = rest.substr(pos, end - pos);
      if (token.rfind("pool=", 0) == 0) {
        CUSTODIAN_RETURN_IF_ERROR(ParsePool(token.substr(5), &pool));
      } else if (!token.empty()) {
        conninfo += (conninfo.empty() ? "" : " ") + token;
      }
      pos = end;
    }
    if (conninfo.find('=') == std::string::npos) {
      return Status::InvalidInput(
          "--db: must be sqlite:PATH or postgresql://… (or postgresql:key=value …), got \"" +
          RedactDatabaseUrl(url) + "\"");
    }
  }
  // A malformed URL is the caller's mistake, not an unreachable server: check it first.
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    std::string why = parse_error != nullptr ? Trim(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return Status::InvalidInput("--db: " + RedactDatabaseUrl(url) + ": " + why);
  }
  PQconninfoFree(options);
  auto db = std::make_unique<PostgresDatabase>(conninfo, RedactDatabaseUrl(url), pool);
  // Connect once now, so a wrong URL or a server that is down is reported at startup.
  Result<std::unique_ptr<Connection>> first = db->Acquire();
  if (!first.ok()) return first.status();
  db->Release(std::move(*first));
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace custodian::store::internal
