// sixbit/harness/report/progress.hpp: the progress bar on stderr. On a terminal it redraws one line
// ("[#######.......]  14/40 quantized run") with the elapsed time; otherwise (logs, tests) it prints the finished
// line only, without times, so captured output stays identical between identical runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sixbit::harness {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  ~Progress();
  void tick();    // one unit done
  void finish();  // the final line (called by the destructor if not yet)

 private:
  void draw(bool final);
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sixbit::harness
