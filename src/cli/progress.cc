#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace custodian::cli {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

}  // namespace

bool ProgressBar::StderrIsTty() {
  return ::isatty(STDERR_FILENO) == 1;
}

ProgressBar::ProgressBar(std::string label, size_t total)
    : ProgressBar(std::move(label), total, StderrIsTty()) {}

ProgressBar::ProgressBar(std::string label, size_t total, bool enabled)
    : label_(std::move(label)), enabled_(enabled), total_(total) {}

ProgressBar::~ProgressBar() {
  Finish();
}

void ProgressBar::Update(size_t done) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (done > done_) done_ = done;
  DrawLocked(false);
}

void ProgressBar::Update(size_t done, size_t total) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  total_ = total;
  if (done > done_) done_ = done;
  DrawLocked(false);
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (drawn_) {
    std::fputs("\r\033[K", stderr);  // carriage return, erase to the end of the line
    std::fflush(stderr);
  }
}

void ProgressBar::DrawLocked(bool force) {
  if (finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  drawn_ = true;
  double elapsed_s = std::chrono::duration<double>(now - start_).count();
  if (total_ > 0) {
    size_t done = done_ > total_ ? total_ : done_;
    double fraction = double(done) / double(total_);
    int filled = int(fraction * kBarWidth);
    std::string bar(size_t(filled), '#');
    bar.resize(kBarWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %zu/%zu %.1f s\033[K", label_.c_str(), bar.c_str(),
                 int(fraction * 100), done, total_, elapsed_s);
  } else {
    std::fprintf(stderr, "\r%s %zu %.1f s\033[K", label_.c_str(), done_, elapsed_s);
  }
  std::fflush(stderr);
}

}  // namespace custodian::cli
