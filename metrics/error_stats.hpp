// sixbit/metrics/error_stats.hpp: how far a quantized result is from its reference, computed in double.
//
// Pairs where either side is NaN are counted in nan_count, pairs with an Inf (and no NaN) in inf_count; both are
// left out of the sums and reported instead, so one bad element never turns every statistic into garbage.
// When no finite pair remains (compared == 0) sqnr_db and rel_l2 are NaN on purpose: there is nothing to
// measure, and the counts say why.
#pragma once

#include <cstdint>

namespace sixbit::metrics {

struct ErrorStats {
  double sqnr_db = 0;     // 10 log10(sum ref^2 / sum (ref - test)^2); +inf when identical, -inf when ref is all 0
  double rel_l2 = 0;      // ||ref - test|| / ||ref|| (0/0 -> 0, x/0 -> inf)
  double max_abs = 0;     // max |ref - test|
  double mean_abs = 0;    // mean |ref - test| over the compared pairs
  int64_t nan_count = 0;  // pairs where either side is NaN
  int64_t inf_count = 0;  // pairs where either side is +-Inf and neither is NaN
  int64_t compared = 0;   // pairs in the sums: count - nan_count - inf_count
  int64_t count = 0;      // n
};

// Sequential over i in increasing order, so the result is the same for any thread count. n < 0 throws.
ErrorStats compute_error_stats(const float* ref, const float* test, int64_t n);

}  // namespace sixbit::metrics
