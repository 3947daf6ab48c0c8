// Helpers for integration tests that drive the real `custodian` binary (CUSTODIAN_BINARY) in
// child processes: run a command and collect exit code, stdout and stderr; make a temp dir;
// start a landmark and learn its bound address.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/subprocess.h"

namespace custodian::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  // Lines on stderr (a trailing newline does not start another line).
  size_t err_lines() const {
    size_t n = 0;
    for (char c : err) n += c == '\n';
    return n + (!err.empty() && err.back() != '\n');
  }
};

inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A fresh directory under /tmp, removed when the object goes.
class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/custodian-test-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `custodian ARGS...`; stderr goes through a file so it can be checked apart from stdout.
inline CliResult RunCli(const std::vector<std::string>& args) {
  static int counter = 0;
  std::string err_file =
      "/tmp/custodian-test-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::string cmd = ShellQuote(CUSTODIAN_BINARY);
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  cmd += " 2>" + ShellQuote(err_file);
  auto child = Subprocess::Spawn({"/bin/sh", "-c", cmd});
  CliResult r;
  if (!child.ok()) {
    ADD_FAILURE() << child.status().ToString();
    return r;
  }
  r.out = child->ReadAll();
  r.exit_code = child->Wait();
  auto err = ReadFile(err_file);
  if (err.ok()) r.err = *err;
  std::filesystem::remove(err_file);
  return r;
}

// `custodian keygen --out DIR/NAME`; returns the printed public key.
inline std::string Keygen(const TempDir& dir, const std::string& name) {
  CliResult r = RunCli({"keygen", "--out", dir / name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string pub = r.out.substr(0, r.out.find('\n'));
  return pub;
}

// A `custodian landmark` process on 127.0.0.1:0. Its stderr (final stats) is captured with
// stdout; the first stdout line names the bound address.
class LandmarkProcess {
 public:
  LandmarkProcess(const TempDir& dir, const std::string& id, double lat = 1.3521,
                  double lon = 103.8198) {
    pub_ = Keygen(dir, id + ".key");
    auto p = Subprocess::Spawn(
        {CUSTODIAN_BINARY, "landmark", "--id", id, "--lat", std::to_string(lat), "--lon",
         std::to_string(lon), "--key", dir / (id + ".key"), "--listen", "127.0.0.1:0"},
        false, /*capture_stderr=*/true);
    if (!p.ok()) {
      ADD_FAILURE() << p.status().ToString();
      return;
    }
    process_.emplace(std::move(*p));
    auto line = process_->ReadLine(std::chrono::seconds(10));
    if (!line) {
      ADD_FAILURE() << "landmark did not print its address";
      return;
    }
    std::istringstream words(*line);  // landmark ID listening on ADDR timestamps ...
    std::string w;
    for (int i = 0; i < 5 && (words >> w); ++i) {
    }
    address_ = w;
  }
  const std::string& address() const { return address_; }
  const std::string& pub() const { return pub_; }
  // SIGTERM, then everything it printed after the address line (its stats line).
  std::string Stop() {
    if (!process_) return "";
    process_->Signal(SIGTERM);
    std::string rest = process_->ReadAll();
    exit_code_ = process_->Wait();
    return rest;
  }
  int exit_code() const { return exit_code_; }

 private:
  std::optional<Subprocess> process_;
  std::string address_, pub_;
  int exit_code_ = -1;
};

}  // namespace custodian::testing
