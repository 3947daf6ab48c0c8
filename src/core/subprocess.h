// Child processes for orchestration (the demo, integration tests): spawn with arguments, read
// its standard output line by line with a deadline, signal it, wait for it.
// Not thread-safe; one owner per Subprocess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace custodian {

class Subprocess {
 public:
  // argv[0] is the program path. Standard output is captured (read it with ReadLine);
  // standard error is inherited, sent to /dev/null when quiet_stderr, or merged into the
  // captured output when capture_stderr.
  static Result<Subprocess> Spawn(const std::vector<std::string>& argv, bool quiet_stderr = false,
                                  bool capture_stderr = false);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();  // kills (SIGKILL) and reaps a child still running

  pid_t pid() const { return pid_; }
  // Next line of stdout (without '\n'), or nullopt at EOF or when the timeout passes.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Everything left on stdout until EOF.
  std::string ReadAll();
  void Signal(int signo);
  // Waits for exit; returns the exit code, or 128+signal when killed by a signal.
  int Wait();

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
};

// The path of the running executable (/proc/self/exe), for spawning our own subcommands.
std::string SelfExecutablePath();

}  // namespace custodian
