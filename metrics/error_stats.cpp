// Error statistics in double; see error_stats.hpp for the NaN/Inf contract.
#include "metrics/error_stats.hpp"

#include <cmath>
#include <limits>

#include "common/check.hpp"

namespace sixbit::metrics {

ErrorStats compute_error_stats(const float* ref, const float* test, int64_t n) {
  SIXBIT_CHECK(n >= 0, "compute_error_stats: negative element count ", n);
  SIXBIT_CHECK(n == 0 || (ref && test), "compute_error_stats: null input");
  ErrorStats s;
  s.count = n;
  // Squares of fp32 values up to 3.4e38 fit a double (max ~1.8e308), so the sums neither overflow nor lose
  // the small terms an fp32 accumulator would.
  double sig = 0, noise = 0, abs_sum = 0;
  for (int64_t i = 0; i < n; ++i) {  // sequential: the statistics must not depend on the thread count
    if (std::isnan(ref[i]) || std::isnan(test[i])) {
      ++s.nan_count;
      continue;
    }
    if (std::isinf(ref[i]) || std::isinf(test[i])) {
      ++s.inf_count;
      continue;
    }
    const double d = static_cast<double>(ref[i]) - static_cast<double>(test[i]);  // exact in double
    sig += static_cast<double>(ref[i]) * ref[i];
    noise += d * d;
    abs_sum += std::fabs(d);
    s.max_abs = std::fmax(s.max_abs, std::fabs(d));
    ++s.compared;
  }
  const double inf = std::numeric_limits<double>::infinity();
  if (s.compared == 0 && n > 0) {
    s.sqnr_db = s.rel_l2 = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  s.sqnr_db = noise == 0 ? inf : (sig == 0 ? -inf : 10.0 * std::log10(sig / noise));
  s.rel_l2 = noise == 0 ? 0.0 : (sig == 0 ? inf : std::sqrt(noise / sig));
  s.mean_abs = s.compared ? abs_sum / static_cast<double>(s.compared) : 0.0;
  return s;
}

}  // namespace sixbit::metrics
