// sixbit/metrics/error_stats.hpp: how far a quantized result is from its reference, computed in double.
#pragma once

#include <cstdint>

namespace sixbit::metrics {

struct ErrorStats {
  double sqnr_db = 0;    // 10 log10(sum ref^2 / sum (ref - test)^2); +inf when identical
  double rel_l2 = 0;     // ||ref - test|| / ||ref|| (0/0 -> 0, x/0 -> inf)
  double max_abs = 0;    // max |ref - test|
  double mean_abs = 0;   // mean |ref - test|
  int64_t nan_count = 0; // elements where either side is NaN (excluded from the sums, reported instead)
  int64_t count = 0;
};

ErrorStats compute_error_stats(const float* ref, const float* test, int64_t n);

}  // namespace sixbit::metrics
