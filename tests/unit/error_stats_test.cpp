// metrics::compute_error_stats against values worked out by hand (each expectation shows its arithmetic),
// the degenerate cases (identical inputs, zero reference) and NaN handling (counted, excluded, never garbage).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/check.hpp"
#include "metrics/error_stats.hpp"

namespace {
using sixbit::metrics::compute_error_stats;

TEST(ErrorStats, HandComputedValues) {
  // diff = {0, 0, 0, -1}: sum ref^2 = 1+4+9+16 = 30, sum diff^2 = 1, sum |diff| = 1.
  const float ref[4] = {1, 2, 3, 4}, test[4] = {1, 2, 3, 5};
  const auto s = compute_error_stats(ref, test, 4);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.nan_count, 0);
  EXPECT_DOUBLE_EQ(s.max_abs, 1.0);
  EXPECT_DOUBLE_EQ(s.mean_abs, 0.25);
  EXPECT_DOUBLE_EQ(s.rel_l2, std::sqrt(1.0 / 30.0));
  EXPECT_DOUBLE_EQ(s.sqnr_db, 10 * std::log10(30.0));  // 14.771... dB
}

TEST(ErrorStats, SecondExample) {
  // ref = {3, -4}, test = {2.5, -3}: diff = {0.5, -1}; sum ref^2 = 25, sum diff^2 = 1.25 -> ratio 20 (13.0103 dB),
  // rel_l2 = sqrt(1.25/25) = sqrt(0.05), max 1, mean 0.75.
  const float ref[2] = {3, -4}, test[2] = {2.5f, -3};
  const auto s = compute_error_stats(ref, test, 2);
  EXPECT_DOUBLE_EQ(s.sqnr_db, 10 * std::log10(20.0));
  EXPECT_NEAR(s.sqnr_db, 13.0103, 1e-4);
  EXPECT_DOUBLE_EQ(s.rel_l2, std::sqrt(0.05));
  EXPECT_DOUBLE_EQ(s.max_abs, 1.0);
  EXPECT_DOUBLE_EQ(s.mean_abs, 0.75);
}

TEST(ErrorStats, ComputedInDoubleNotFloat) {
  // ref = 1e30, test = 0: ref^2 = 1e60 overflows fp32 (max 3.4e38) but not double; noise = signal -> 0 dB, rel 1.
  const float ref[1] = {1e30f}, test[1] = {0.0f};
  const auto s = compute_error_stats(ref, test, 1);
  EXPECT_NEAR(s.sqnr_db, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.rel_l2, 1.0);
  EXPECT_DOUBLE_EQ(s.max_abs, static_cast<double>(1e30f));
}

TEST(ErrorStats, DegenerateCases) {
  const float ref[3] = {1, -2, 3}, zero[3] = {0, 0, 0};
  const auto same = compute_error_stats(ref, ref, 3);
  EXPECT_TRUE(std::isinf(same.sqnr_db) && same.sqnr_db > 0) << "identical -> +inf dB";
  EXPECT_EQ(same.rel_l2, 0.0);
  EXPECT_EQ(same.max_abs, 0.0);
  const auto zero_ref = compute_error_stats(zero, ref, 3);  // no signal, some noise
  EXPECT_TRUE(std::isinf(zero_ref.sqnr_db) && zero_ref.sqnr_db < 0);
  EXPECT_TRUE(std::isinf(zero_ref.rel_l2));
  const auto both_zero = compute_error_stats(zero, zero, 3);
  EXPECT_EQ(both_zero.rel_l2, 0.0);
  const auto empty = compute_error_stats(ref, ref, 0);
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.mean_abs, 0.0);
}

TEST(ErrorStats, NaNsAreCountedAndExcluded) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float ref[4] = {1, 2, 3, 4}, test[4] = {1, nan, 3, 5};
  const auto s = compute_error_stats(ref, test, 4);
  EXPECT_EQ(s.nan_count, 1);
  // The remaining three pairs: ref^2 = 1+9+16 = 26, diff = {0, 0, -1}.
  EXPECT_DOUBLE_EQ(s.sqnr_db, 10 * std::log10(26.0));
  EXPECT_DOUBLE_EQ(s.mean_abs, 1.0 / 3.0);
  EXPECT_FALSE(std::isnan(s.rel_l2));
  EXPECT_EQ(s.compared, 3);
  // Inf pairs are counted apart and also left out.
  const float inf = std::numeric_limits<float>::infinity();
  const float t_inf[4] = {inf, 2, 3, 4};
  const auto si = compute_error_stats(ref, t_inf, 4);
  EXPECT_EQ(si.inf_count, 1);
  EXPECT_EQ(si.nan_count, 0);
  EXPECT_TRUE(std::isinf(si.sqnr_db)) << "the other three pairs are identical";
  // Nothing comparable: the ratios are NaN on purpose and the counts say why (never a fake +inf "identical").
  const float ref_nan[2] = {nan, nan}, t2[2] = {1, 2};
  const auto all = compute_error_stats(ref_nan, t2, 2);
  EXPECT_EQ(all.nan_count, 2);
  EXPECT_EQ(all.compared, 0);
  EXPECT_TRUE(std::isnan(all.sqnr_db));
  EXPECT_TRUE(std::isnan(all.rel_l2));
  EXPECT_EQ(all.mean_abs, 0.0);
}

TEST(ErrorStats, NegativeCountIsAnError) {
  const float x[1] = {1};
  EXPECT_THROW(compute_error_stats(x, x, -1), sixbit::Error);
}

}  // namespace
