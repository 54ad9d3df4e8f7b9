// sixbit/harness/report/progress.cpp: see progress.hpp.
#include "harness/report/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace sixbit::harness {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total > 0 ? total : 1), enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {
  if (enabled_ && tty_) draw(false);
}

Progress::~Progress() { finish(); }

void Progress::tick() {
  ++done_;
  if (enabled_ && tty_) draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void Progress::draw(bool final) {
  constexpr int kWidth = 30;
  const int64_t done = done_ > total_ ? total_ : done_;
  const int filled = int(done * kWidth / total_);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  if (tty_) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "\r[%s] %4lld/%lld %s  %.1f s%s", bar, (long long)done, (long long)total_, label_.c_str(), s,
                 final ? "\n" : "");
  } else {
    std::fprintf(stderr, "[%s] %4lld/%lld %s\n", bar, (long long)done, (long long)total_, label_.c_str());
  }
  std::fflush(stderr);
}

}  // namespace sixbit::harness
