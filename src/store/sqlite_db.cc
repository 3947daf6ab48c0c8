// The SQLite backend: one file in WAL mode, one writer connection behind a mutex (write
// transactions start with BEGIN IMMEDIATE, so they never fail half-way for want of the write
// lock) and a pool of read-only connections that read a snapshot beside the writer.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "store/backends.h"

namespace custodian::store::internal {
namespace {

// Enough readers for a busy API server; more callers wait for one to come back.
constexpr size_t kMaxReaders = 16;
// Statements are cached by their SQL text; a caller that builds SQL dynamically (IN lists of
// varying length) must not grow the cache without bound.
constexpr size_t kMaxCachedStatements = 512;
constexpr int kBusyTimeoutMs = 5000;
// Checkpoints (copying the WAL back into the database file, with its fsyncs) run on a thread of
// their own once the WAL holds this many pages (SQLite's own default threshold), instead of
// inside whichever commit crossed it: the writer is the one thing every write waits for.
constexpr int kCheckpointPages = 1000;
// If the checkpointer falls behind a writer that never pauses (the WAL can only start over once
// everything in it is copied back), the writer checkpoints itself past this size (64 MiB).
constexpr int kWriterCheckpointPages = 16384;

Status StatusFrom(sqlite3* db, int rc, std::string_view sql) {
  int ext = sqlite3_extended_errcode(db);
  std::string msg = std::string("sqlite: ") + sqlite3_errmsg(db);
  if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::AlreadyExists(msg);  // "UNIQUE constraint failed: t.col" names the columns
  }
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Aborted(msg);
  if (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN) {
    return Status::IoError(msg);
  }
  std::string shown(sql.substr(0, 200));
  return Status::Internal(msg + " (in: " + shown + ")");
}

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// One sqlite3 handle and its prepared statements. Used by one thread at a time.
class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  // Runs one statement; appends result rows to `rows` when given.
  Status Run(std::string_view sql, const std::vector<Value>& params, Rows* rows) {
    sqlite3_stmt* stmt = nullptr;
    CUSTODIAN_RETURN_IF_ERROR(Prepare(sql, &stmt));
    if (stmt == nullptr) return Status::Ok();  // only whitespace or comments
    int expected = sqlite3_bind_parameter_count(stmt);
    if (static_cast<size_t>(expected) != params.size()) {
      return Status::InvalidInput("sql: statement has " + std::to_string(expected) +
                                  " placeholders, got " + std::to_string(params.size()) +
                                  " values (in: " + std::string(sql.substr(0, 200)) + ")");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (const auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, idx, *d);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        // SQLITE_STATIC: params outlive the statement's use; bindings are cleared below.
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) {
        Status st = StatusFrom(db_, rc, sql);
        sqlite3_clear_bindings(stmt);
        return st;
      }
    }
    Status result;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        result = StatusFrom(db_, rc, sql);
        break;
      }
      if (rows == nullptr) continue;
      Row row;
      int n = sqlite3_column_count(stmt);
      row.values.reserve(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:
            row.values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            row.values.emplace_back(sqlite3_column_double(stmt, c));
            break;
          case SQLITE_NULL:
            row.values.emplace_back(std::monostate());
            break;
          default: {  // TEXT or BLOB: the bytes as they are
            const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, c));
            int len = sqlite3_column_bytes(stmt, c);
            row.values.emplace_back(std::string(p == nullptr ? "" : p, len));
          }
        }
      }
      rows->push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
  }

  int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  Status Prepare(std::string_view sql, sqlite3_stmt** out) {
    if (auto it = cache_.find(sql); it != cache_.end()) {
      *out = it->second;
      return Status::Ok();
    }
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return StatusFrom(db_, rc, sql);
    // One statement per call, as on PostgreSQL's extended protocol: a second one would
    // silently be ignored otherwise.
    std::string_view rest(tail, sql.data() + sql.size() - tail);
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_stmt* extra = nullptr;
      int rc2 =
          sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &extra, nullptr);
      bool more = rc2 != SQLITE_OK || extra != nullptr;
      sqlite3_finalize(extra);
      if (more) {
        sqlite3_finalize(stmt);
        return Status::InvalidInput(
            "sql: one statement per call (in: " + std::string(sql.substr(0, 200)) + ")");
      }
    }
    if (stmt == nullptr) {
      *out = nullptr;
      return Status::Ok();
    }
    if (cache_.size() >= kMaxCachedStatements) {
      for (auto& [text, s] : cache_) sqlite3_finalize(s);
      cache_.clear();
    }
    cache_.emplace(std::string(sql), stmt);
    *out = stmt;
    return Status::Ok();
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, SvHash, std::equal_to<>> cache_;
};

Result<std::unique_ptr<Connection>> OpenConnection(const std::string& path, bool writer,
                                                   bool sync_full) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the writer under its mutex,
  // readers checked out of the pool), so SQLite's own per-connection mutex is redundant.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IoError("--db: cannot open " + path + ": " + msg);
  }
  auto conn = std::make_unique<Connection>(db);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  std::vector<std::string> pragmas = {"PRAGMA foreign_keys=ON"};
  if (writer) {
    pragmas.push_back(sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  } else {
    // Readers must not write: a write through one would bypass the writer mutex.
    pragmas.push_back("PRAGMA query_only=ON");
  }
  for (const auto& p : pragmas) {
    Status st = conn->Run(p, {}, nullptr);
    if (!st.ok()) return st.WithContext("--db: " + path);
  }
  if (writer) {
    Rows rows;
    Status st = conn->Run("PRAGMA journal_mode=WAL", {}, &rows);
    if (!st.ok()) return st.WithContext("--db: " + path);
    std::string mode = rows.empty() ? "" : rows[0].Text(0);
    if (mode != "wal") {
      return Status::IoError("--db: " + path + ": cannot switch to WAL mode (journal_mode is \"" +
                             mode + "\")");
    }
  }
  return conn;
}

class SqliteDatabase;

class SqliteTransaction : public Transaction {
 public:
  SqliteTransaction(SqliteDatabase* db, Connection* conn, bool writer,
                    std::unique_lock<std::mutex> writer_lock)
      : db_(db), conn_(conn), writer_(writer), writer_lock_(std::move(writer_lock)) {}
  ~SqliteTransaction() override;

  Status Exec(std::string_view sql, const std::vector<Value>& params) override {
    CUSTODIAN_RETURN_IF_ERROR(Usable());
    Status st = conn_->Run(sql, params, nullptr);
    changes_ = st.ok() ? conn_->changes() : 0;
    return Fail(st);
  }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    CUSTODIAN_RETURN_IF_ERROR(Usable());
    Rows rows;
    Status st = conn_->Run(sql, params, &rows);
    if (!st.ok()) return Fail(st);
    return rows;
  }

  int64_t changes() const override { return changes_; }

  Status Commit() override {
    CUSTODIAN_RETURN_IF_ERROR(Usable());
    Status st = conn_->Run("COMMIT", {}, nullptr);
    if (!st.ok()) return Fail(st);  // the destructor rolls back
    done_ = true;
    Release();  // other writers need not wait for this object to go
    return Status::Ok();
  }

 private:
  Status Usable() const {
    if (done_) return Status::Internal("sql: transaction already committed");
    if (!failed_.ok()) return failed_;
    return Status::Ok();
  }
  Status Fail(Status st) {
    if (!st.ok() && failed_.ok()) {
      failed_ = st.WithContext("transaction failed earlier");
    }
    return st;
  }

  // Gives the connection (and for a writer, the writer lock) back; once only.
  void Release();

  SqliteDatabase* db_;
  Connection* conn_;  // nullptr once released
  bool writer_;
  std::unique_lock<std::mutex> writer_lock_;
  bool done_ = false;
  Status failed_;
  int64_t changes_ = 0;
};

class SqliteDatabase : public Database {
 public:
  SqliteDatabase(std::string path, std::string url, bool sync_full,
                 std::unique_ptr<Connection> writer)
      : path_(std::move(path)),
        url_(std::move(url)),
        sync_full_(sync_full),
        writer_(std::move(writer)) {
    // Our hook replaces SQLite's automatic checkpoint (itself a WAL hook).
    sqlite3_wal_hook(writer_->db(), &SqliteDatabase::OnWalCommit, this);
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
  }

  ~SqliteDatabase() override {
    {
      std::lock_guard<std::mutex> lock(checkpoint_mu_);
      stop_checkpointer_ = true;
    }
    checkpoint_cv_.notify_one();
    checkpointer_.join();
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string redacted_url() const override { return url_; }

  Result<std::unique_ptr<Transaction>> Begin(TxMode mode) override {
    if (mode == TxMode::kWrite) {
      // One thread waiting on the mutex it already holds would hang forever; say so instead.
      if (writer_owner_.load() == std::this_thread::get_id()) {
        return Status::Internal(
            "sqlite: this thread already holds the write transaction (nested write transaction)");
      }
      std::unique_lock<std::mutex> lock(writer_mu_);
      // A COMMIT and a ROLLBACK that both failed (disk full, I/O error) would leave the writer
      // inside a transaction, and every later BEGIN would fail: close it first.
      if (sqlite3_get_autocommit(writer_->db()) == 0) writer_->Run("ROLLBACK", {}, nullptr);
      // IMMEDIATE takes the write lock now: a transaction that started reading under a
      // deferred BEGIN could otherwise fail to upgrade later with SQLITE_BUSY.
      Status st = writer_->Run("BEGIN IMMEDIATE", {}, nullptr);
      if (!st.ok()) return st;
      writer_owner_.store(std::this_thread::get_id());
      return std::unique_ptr<Transaction>(
          new SqliteTransaction(this, writer_.get(), true, std::move(lock)));
    }
    Result<Connection*> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Status st = (*reader)->Run("BEGIN", {}, nullptr);
    if (!st.ok()) {
      ReleaseReader(*reader);
      return st;
    }
    return std::unique_ptr<Transaction>(
        new SqliteTransaction(this, *reader, false, std::unique_lock<std::mutex>()));
  }

  void EndTransaction(Connection* conn, bool writer) {
    if (writer) {
      writer_owner_.store(std::thread::id());
    } else {
      ReleaseReader(conn);
    }
  }

 private:
  // Runs on the writer's thread after each commit, with the WAL's size in pages.
  static int OnWalCommit(void* self_ptr, sqlite3* db, const char* schema, int pages) {
    auto* self = static_cast<SqliteDatabase*>(self_ptr);
    if (pages >= kWriterCheckpointPages ||
        (pages >= kCheckpointPages && !self->checkpointer_running_.load())) {
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kCheckpointPages) {
      {
        std::lock_guard<std::mutex> lock(self->checkpoint_mu_);
        self->checkpoint_wanted_ = true;
      }
      self->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // PASSIVE checkpoints never block the writer or readers; they copy what no reader still needs.
  void CheckpointLoop() {
    Result<std::unique_ptr<Connection>> conn = OpenConnection(path_, true, sync_full_);
    if (!conn.ok()) return;  // the writer checkpoints for itself (checkpointer_running_ false)
    checkpointer_running_.store(true);
    std::unique_lock<std::mutex> lock(checkpoint_mu_);
    while (true) {
      checkpoint_cv_.wait(lock, [&] { return stop_checkpointer_ || checkpoint_wanted_; });
      if (stop_checkpointer_) break;
      checkpoint_wanted_ = false;
      lock.unlock();
      sqlite3_wal_checkpoint_v2((*conn)->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr);
      lock.lock();
    }
    checkpointer_running_.store(false);
  }

  Result<Connection*> AcquireReader() {
    std::unique_lock<std::mutex> lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return !idle_readers_.empty() || readers_.size() < kMaxReaders; });
    if (!idle_readers_.empty()) {
      Connection* c = idle_readers_.back();
      idle_readers_.pop_back();
      return c;
    }
    // Opening takes a little while; a placeholder keeps the count right meanwhile.
    readers_.push_back(nullptr);
    lock.unlock();
    Result<std::unique_ptr<Connection>> conn = OpenConnection(path_, false, sync_full_);
    lock.lock();
    auto slot = std::find(readers_.begin(), readers_.end(), nullptr);
    if (!conn.ok()) {
      readers_.erase(slot);
      readers_cv_.notify_one();
      return conn.status();
    }
    *slot = std::move(*conn);
    return slot->get();
  }

  void ReleaseReader(Connection* conn) {
    {
      std::lock_guard<std::mutex> lock(readers_mu_);
      idle_readers_.push_back(conn);
    }
    readers_cv_.notify_one();
  }

  const std::string path_;
  const std::string url_;
  const bool sync_full_;

  std::mutex writer_mu_;
  std::unique_ptr<Connection> writer_;  // guarded by writer_mu_
  std::atomic<std::thread::id> writer_owner_{};

  std::thread checkpointer_;
  std::atomic<bool> checkpointer_running_{false};
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // guarded by checkpoint_mu_
  bool stop_checkpointer_ = false;  // guarded by checkpoint_mu_

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;  // guarded by readers_mu_
  std::vector<Connection*> idle_readers_;             // guarded by readers_mu_
};

SqliteTransaction::~SqliteTransaction() {
  if (!done_) conn_->Run("ROLLBACK", {}, nullptr);  // fails harmlessly if SQLite rolled back
  Release();
}

void SqliteTransaction::Release() {
  if (conn_ == nullptr) return;
  db_->EndTransaction(conn_, writer_);  // clears the owner mark before the lock goes
  conn_ = nullptr;
  if (writer_lock_.owns_lock()) writer_lock_.unlock();
}

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& spec) {
  std::string path = spec;
  bool sync_full = false;
  if (size_t q = spec.find('?'); q != std::string::npos) {
    path = spec.substr(0, q);
    std::string query = spec.substr(q + 1);
    if (query == "sync=full") {
      sync_full = true;
    } else if (query != "sync=normal") {
      return Status::InvalidInput(
          "--db: sqlite: the only option is ?sync=full or ?sync=normal, got ?" + query);
    }
  }
  if (path.empty()) {
    return Status::InvalidInput(
        "--db: must be sqlite:PATH or postgresql://…, got \"sqlite:" + spec + "\" (empty path)");
  }
  if (path == ":memory:" || path.rfind("file:", 0) == 0) {
    return Status::InvalidInput("--db: sqlite: PATH must be a file path, got \"" + path + "\"");
  }
  if (sqlite3_threadsafe() == 0) {
    return Status::Internal("sqlite: the library was built without thread support");
  }
  // The parent directory must exist: creating it would hide a mistyped path.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::InvalidInput("--db: directory " + dir + " of " + path + " does not exist");
  }
  // Create the file ourselves so it is private from the first byte (SQLite would use 0644);
  // SQLite gives the -wal and -shm files the main file's permissions. An existing file keeps
  // whatever mode its owner chose.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IoError("--db: cannot create " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  Result<std::unique_ptr<Connection>> writer = OpenConnection(path, true, sync_full);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<Database>(
      new SqliteDatabase(path, "sqlite:" + spec, sync_full, std::move(*writer)));
}

}  // namespace custodian::store::internal
