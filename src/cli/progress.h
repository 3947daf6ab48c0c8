// A one-line progress bar on stderr, for long commands (screen import, screen batch).
//
// It draws only when stderr is a terminal, so scripts, pipes and log files never see it; the
// line is redrawn at most ten times a second and erased by Finish() (or the destructor), so
// the summary that follows starts on a clean line.
//
//   ProgressBar bar("screening", rows);
//   ... bar.Update(done);   // from any thread
//   bar.Finish();
//
// Thread-safety: Update may be called from several threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace custodian::cli {

class ProgressBar {
 public:
  // `total` 0 means unknown (a counter without a bar). `enabled` defaults to isatty(stderr).
  ProgressBar(std::string label, size_t total);
  ProgressBar(std::string label, size_t total, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Sets the amount done (not added to); redraws if enough time has passed.
  void Update(size_t done);
  // Sets the total (when it becomes known late) and the amount done.
  void Update(size_t done, size_t total);
  // Erases the line. Idempotent.
  void Finish();

  bool enabled() const { return enabled_; }

  // True when stderr is a terminal.
  static bool StderrIsTty();

 private:
  void DrawLocked(bool force);

  const std::string label_;
  const bool enabled_;
  std::mutex mu_;
  size_t total_ = 0;  // guarded by mu_
  size_t done_ = 0;   // guarded by mu_
  bool drawn_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace custodian::cli
