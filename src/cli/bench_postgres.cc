#include "cli/bench_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace custodian::cli {
namespace {

std::string ReadTail(const std::string& path, size_t max = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

std::string BinDir() {
  if (::access("/usr/lib/postgresql/15/bin/initdb", X_OK) == 0) return "/usr/lib/postgresql/15/bin";
  FILE* p = ::popen("pg_config --bindir 2>/dev/null", "r");
  if (p == nullptr) return "";
  char buf[512] = {};
  std::string out = fgets(buf, sizeof(buf), p) != nullptr ? buf : "";
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Runs argv with stdout+stderr appended to `log`, in `cwd`, as uid/gid unless they are -1.
pid_t SpawnAs(const std::vector<std::string>& argv, const std::string& log, const std::string& cwd,
              uid_t uid, gid_t gid, bool die_with_parent) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls until exec.
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::setsid();  // Ctrl-C goes to the benchmark; the server is stopped by its owner
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
  if (gid != static_cast<gid_t>(-1)) {
    if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0) ::_exit(126);
  }
  if (uid != static_cast<uid_t>(-1) && ::setuid(uid) != 0) ::_exit(126);
  // After setuid: a change of credentials clears the parent-death signal.
  if (die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(1);
  }
  ::execv(args[0], args.data());
  ::_exit(127);
}

int FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(s);
  return port;
}

// Waits for a child with a deadline; returns its wait status, or -1 on timeout.
int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// admin URL with its database name replaced by `db`.
std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string base = url.substr(0, std::min(slash, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + rest;
}

std::string DatabaseName(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return "";
  size_t query = url.find('?', slash);
  return url.substr(slash + 1, query == std::string::npos ? std::string::npos : query - slash - 1);
}

// Runs one statement on `url`; the error message, or "".
std::string ExecOn(const std::string& url, const std::string& sql, std::string* value = nullptr) {
  PGconn* c = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(r);
    } else if (value != nullptr && st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      *value = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
  }
  PQfinish(c);
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
  return error;
}

}  // namespace

Result<std::unique_ptr<PrivatePostgres>> PrivatePostgres::Start() {
  std::string bin = BinDir();
  if (bin.empty() || ::access((bin + "/initdb").c_str(), X_OK) != 0) {
    return Status::Unavailable(
        "no PostgreSQL server binaries (initdb) found: install PostgreSQL 15 (make deps) or pass "
        "--pg-url");
  }
  char templ[] = "/tmp/custodian-bench-pg-XXXXXX";
  if (::mkdtemp(templ) == nullptr) {
    return Status::IoError(std::string("mkdtemp: ") + std::strerror(errno));
  }
  std::unique_ptr<PrivatePostgres> pg(new PrivatePostgres);
  pg->dir_ = templ;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return Status::Unavailable(
          "running as root and there is no `postgres` user to run PostgreSQL as (make deps)");
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (::chown(pg->dir_.c_str(), uid, gid) != 0) {
      return Status::IoError("chown " + pg->dir_ + ": " + std::strerror(errno));
    }
  }
  const std::string data = pg->dir_ + "/data";
  const std::string initdb_log = pg->dir_ + "/initdb.log";
  pid_t initdb = SpawnAs({bin + "/initdb", "-D", data, "--auth=trust", "-U", "postgres", "-E",
                          "UTF8", "--locale=C", "--no-sync"},
                         initdb_log, pg->dir_, uid, gid, false);
  int status = WaitFor(initdb, std::chrono::seconds(120));
  if (status != 0) {
    return Status::Unavailable("initdb failed (status " + std::to_string(status) +
                               "): " + ReadTail(initdb_log));
  }
  // Same settings as scripts/with-postgres.sh: durable commits (fsync on), defaults otherwise.
  const std::vector<std::string> settings = {"listen_addresses=127.0.0.1", "fsync=on",
                                             "max_connections=200"};
  for (const auto& s : settings) pg->settings_ += (pg->settings_.empty() ? "" : " ") + s;
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = FreePort();
    std::vector<std::string> argv = {bin + "/postgres",   "-D", data, "-k", pg->dir_, "-p",
                                     std::to_string(port)};
    for (const auto& s : settings) {
      argv.push_back("-c");
      argv.push_back(s);
    }
    const std::string log = pg->dir_ + "/postgres.log";
    pg->pid_ = SpawnAs(argv, log, pg->dir_, uid, gid, true);
    const std::string ping = "host=127.0.0.1 port=" + std::to_string(port) +
                             " user=postgres dbname=postgres connect_timeout=2";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool ready = false, exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(ping.c_str()) == PQPING_OK) {
        ready = true;
        break;
      }
      int st = 0;
      if (::waitpid(pg->pid_, &st, WNOHANG) == pg->pid_) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (ready) {
      pg->admin_url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
      return pg;
    }
    if (!exited) {
      ::kill(pg->pid_, SIGKILL);
      ::waitpid(pg->pid_, nullptr, 0);
    }
    pg->pid_ = -1;
    why = (exited ? "postgres exited: " : "postgres did not answer within 60 s: ") + ReadTail(log);
  }
  return Status::Unavailable("cannot start PostgreSQL: " + why);
}

PrivatePostgres::~PrivatePostgres() {
  if (pid_ > 0) {
    // Immediate shutdown: the cluster is deleted next, so a checkpoint would be wasted work.
    ::kill(pid_, SIGQUIT);
    if (WaitFor(pid_, std::chrono::seconds(20)) == -1) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Result<std::string> CreatePostgresDatabase(const std::string& admin_url,
                                           const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string error = ExecOn(admin_url, "CREATE DATABASE \"" + name + "\"");
  if (!error.empty()) {
    return Status::Unavailable("PostgreSQL: CREATE DATABASE " + name + ": " + error);
  }
  return WithDatabase(admin_url, name);
}

Status DropPostgresDatabase(const std::string& admin_url, const std::string& database_url) {
  std::string name = DatabaseName(database_url);
  if (name.empty() || name.find('"') != std::string::npos) {
    return Status::InvalidInput("no database name in the URL");
  }
  std::string error = ExecOn(admin_url, "DROP DATABASE IF EXISTS \"" + name + "\"");
  if (!error.empty())
    return Status::Unavailable("PostgreSQL: DROP DATABASE " + name + ": " + error);
  return Status::Ok();
}

std::string PostgresVersion(const std::string& url) {
  std::string v;
  if (!ExecOn(url, "SHOW server_version", &v).empty()) return "";
  return v;
}

}  // namespace custodian::cli
