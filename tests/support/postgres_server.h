// A PostgreSQL 15 server for tests, and a fresh empty database per caller.
//
//   std::string url = custodian::testing::TestPostgres();   // postgresql://…/custodian_test_…
//   ASSERT_FALSE(url.empty());                               // a failure has been recorded
//
// With CUSTODIAN_TEST_PG_URL set (`make test` runs ctest under scripts/with-postgres.sh, one
// server for the whole run) the database is created on that server; the URL must name its
// `postgres` database. Otherwise the first call starts a private server for this process:
// initdb into a temporary directory, `postgres` on 127.0.0.1 and a free port, stopped and
// deleted at exit. PostgreSQL refuses to run as root, so under root (CI) the directory is given
// to the `postgres` system user and the server runs as that user.
//
// The first call must come from the test's main thread: the private server is told to die
// with the thread that started it (so a crashed test run leaves no server behind).
// A test never skips silently: when no server can be had, TestPostgres records a gtest failure
// that says why and returns "". Databases are not dropped (DROP DATABASE forces a checkpoint,
// about a second each): the server is disposable, deleted with its directory at the end.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace custodian::testing {
namespace pg_internal {

struct Server {
  std::string admin_url;  // postgresql://…/postgres; empty when unavailable
  std::string error;      // why there is no server
  pid_t pid = -1;         // our private server's postmaster, or -1
  pid_t owner = -1;       // the process that started it (a fork()ed child must not stop it)
  std::string dir;        // its temporary directory
};

inline Server& TheServer();

inline std::string ReadTail(const std::string& path, size_t max = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

inline std::string BinDir() {
  if (::access("/usr/lib/postgresql/15/bin/initdb", X_OK) == 0) return "/usr/lib/postgresql/15/bin";
  FILE* p = ::popen("pg_config --bindir 2>/dev/null", "r");
  if (p == nullptr) return "";
  char buf[512] = {};
  std::string out = fgets(buf, sizeof(buf), p) != nullptr ? buf : "";
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Runs argv with stdout+stderr to `log`; as `uid`/`gid` when they are not -1. Returns the pid.
// The child of a server start asks to be killed when this process dies, so a crashed test run
// does not leave servers behind.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log,
                   const std::string& cwd, uid_t uid, gid_t gid, bool die_with_parent) {
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
  ::setsid();  // our Ctrl-C goes to the test; the server is stopped by the exit handler
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);  // the test's may be closed to it
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

inline int FreePort() {
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
inline int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
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

inline void StopAtExit() {
  Server& s = TheServer();
  if (::getpid() != s.owner) return;
  if (s.pid > 0) {
    // Immediate shutdown: the cluster is deleted next, and a clean shutdown's checkpoint would
    // first flush every test database to disk (seconds per database).
    ::kill(s.pid, SIGQUIT);
    if (WaitFor(s.pid, std::chrono::seconds(20)) == -1) {
      ::kill(s.pid, SIGKILL);
      ::waitpid(s.pid, nullptr, 0);
    }
  }
  if (!s.dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(s.dir, ec);
  }
}

inline bool WaitReady(const std::string& conninfo, pid_t pid, std::string* why) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return true;
    if (pid > 0) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        *why = "postgres exited (status " + std::to_string(status) + ")";
        return false;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  *why = "postgres did not accept connections within 60 s";
  return false;
}

inline void StartPrivate(Server& s) {
  std::string bin = BinDir();
  if (bin.empty() || ::access((bin + "/initdb").c_str(), X_OK) != 0) {
    s.error = "no initdb (PostgreSQL 15 server not installed? run `make deps`)";
    return;
  }
  char tmpl[] = "/tmp/custodian-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    s.error = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  s.dir = tmpl;
  s.owner = ::getpid();
  std::atexit(StopAtExit);
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (::geteuid() == 0) {
    // PostgreSQL refuses to run as root; the Debian package creates a `postgres` user.
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      s.error =
          "running as root and there is no `postgres` user to run the server as "
          "(install the postgresql package: make deps)";
      return;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (::chown(s.dir.c_str(), uid, gid) != 0) {
      s.error = "chown " + s.dir + ": " + std::strerror(errno);
      return;
    }
  }
  std::string data = s.dir + "/data";
  std::string log = s.dir + "/initdb.log";
  pid_t initdb = Spawn({bin + "/initdb", "-D", data, "--auth=trust", "-U", "postgres", "-E", "UTF8",
                        "--locale=C", "--no-sync"},
                       log, s.dir, uid, gid, false);
  int status = WaitFor(initdb, std::chrono::seconds(120));
  if (status != 0) {
    s.error = "initdb failed (status " + std::to_string(status) + "): " + ReadTail(log);
    return;
  }
  // A port found free can be taken before postgres binds it; try a few.
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = FreePort();
    std::string plog = s.dir + "/postgres.log";
    s.pid = Spawn({bin + "/postgres", "-D", data, "-k", s.dir, "-p", std::to_string(port), "-c",
                   "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "max_connections=200"},
                  plog, s.dir, uid, gid, true);
    std::string ping = "host=127.0.0.1 port=" + std::to_string(port) +
                       " user=postgres dbname=postgres connect_timeout=2";
    if (WaitReady(ping, s.pid, &why)) {
      s.admin_url = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
      return;
    }
    ::kill(s.pid, SIGKILL);
    ::waitpid(s.pid, nullptr, 0);
    s.pid = -1;
    why += ": " + ReadTail(plog);
  }
  s.error = why;
}

inline Server& TheServer() {
  static Server* server = [] {
    auto* s = new Server;  // never destroyed: StopAtExit runs after static destructors
    const char* env = std::getenv("CUSTODIAN_TEST_PG_URL");
    if (env != nullptr && *env != '\0') {
      s->admin_url = env;
      s->owner = ::getpid();
      std::atexit(StopAtExit);
      if (PQping(env) != PQPING_OK) {
        s->error = std::string("CUSTODIAN_TEST_PG_URL=") + env + " does not answer";
        s->admin_url.clear();
      }
    } else {
      StartPrivate(*s);
    }
    return s;
  }();
  return *server;
}

// admin URL with its database name replaced by `db`.
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string base = url.substr(0, std::min(slash, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + rest;
}

}  // namespace pg_internal

// The URL of a new, empty database on the test server; "" (with a gtest failure recorded)
// when there is no server.
inline std::string TestPostgres() {
  pg_internal::Server& s = pg_internal::TheServer();
  if (s.admin_url.empty()) {
    ADD_FAILURE() << "PostgreSQL test server unavailable: " << s.error;
    return "";
  }
  static std::atomic<int> counter{0};
  std::string name =
      "custodian_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  PGconn* c = PQconnectdb(s.admin_url.c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, ("CREATE DATABASE \"" + name + "\"").c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  if (!error.empty()) {
    ADD_FAILURE() << "PostgreSQL test server: CREATE DATABASE " << name << ": " << error;
    return "";
  }
  return pg_internal::WithDatabase(s.admin_url, name);
}

}  // namespace custodian::testing
