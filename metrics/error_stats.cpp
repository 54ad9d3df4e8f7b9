#include "metrics/error_stats.hpp"

#include <cmath>
#include <limits>

namespace sixbit::metrics {

ErrorStats compute_error_stats(const float* ref, const float* test, int64_t n) {
  ErrorStats s;
  s.count = n;
  double sig = 0, noise = 0, abs_sum = 0;
  int64_t used = 0;
  for (int64_t i = 0; i < n; ++i) {  // sequential: the statistics must not depend on the thread count
    if (std::isnan(ref[i]) || std::isnan(test[i])) {
      ++s.nan_count;
      continue;
    }
    const double d = static_cast<double>(ref[i]) - test[i];
    sig += static_cast<double>(ref[i]) * ref[i];
    noise += d * d;
    abs_sum += std::fabs(d);
    s.max_abs = std::fmax(s.max_abs, std::fabs(d));
    ++used;
  }
  const double inf = std::numeric_limits<double>::infinity();
  s.sqnr_db = noise == 0 ? inf : (sig == 0 ? -inf : 10.0 * std::log10(sig / noise));
  s.rel_l2 = noise == 0 ? 0.0 : (sig == 0 ? inf : std::sqrt(noise / sig));
  s.mean_abs = used ? abs_sum / static_cast<double>(used) : 0.0;
  return s;
}

}  // namespace sixbit::metrics
