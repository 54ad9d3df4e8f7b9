// The reference backend's driver-support ops: modulation vectors and chunks, residuals and the fp64 diff norms the
// predictor and the Temporal Delta Cache are built on. Exact where the op is one fp32 operation per element (EXACT);
// the fp64 sums against an independent long-double evaluation (RELATIVE, bound below).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "reference/model/ops.hpp"
#include "reference/model/weights.hpp"

namespace sm = sixbit::model;

namespace {
sm::Mat random_mat(uint64_t seed, int64_t rows, int64_t cols) {
  sm::Mat m(rows, cols);
  m.v = sm::gaussian_normals(seed, rows * cols);
  return m;
}
}  // namespace

TEST(DitOps, AddModulationBroadcastsEOverChunksExact) {
  sm::ReferenceOps ops;
  const sm::Mat e = random_mat(1, 1, 8);
  const std::vector<float> learned = sm::gaussian_normals(2, 16);
  const sm::Mat m = ops.add_modulation(learned.data(), e, 16);  // the head's case: two chunks share e
  ASSERT_EQ(m.rows, 1);
  ASSERT_EQ(m.cols, 16);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(m.v[i], learned[i] + e.v[i % 8]) << i;
  EXPECT_THROW(ops.add_modulation(learned.data(), e, 12), sixbit::Error);  // 12 is not a multiple of 8
}

TEST(DitOps, ModulateAndGatedAddReadTheNamedChunksExact) {
  sm::ReferenceOps ops;
  const sm::Mat mod = random_mat(3, 1, 6 * 4);
  sm::Mat x = random_mat(4, 3, 4);
  const sm::Mat x0 = x, y = random_mat(5, 3, 4);
  ops.modulate(x, mod, 3, 4);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_EQ(x.v[r * 4 + c], x0.v[r * 4 + c] * (1.0f + mod.v[16 + c]) + mod.v[12 + c]);
  sm::Mat g = x0;
  ops.gated_add(g, y, &mod, 5);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(g.v[i], x0.v[i] + y.v[i] * mod.v[20 + i % 4]);
  sm::Mat plain = x0;
  ops.gated_add(plain, y, nullptr, 0);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(plain.v[i], x0.v[i] + y.v[i]);
  EXPECT_THROW(ops.modulate(x, mod, 0, 6), sixbit::Error);   // chunk 6 of a 6-chunk vector
  EXPECT_THROW(ops.gated_add(g, y, &mod, -1), sixbit::Error);
  EXPECT_THROW(ops.gated_add(g, random_mat(6, 2, 4), nullptr, 0), sixbit::Error);
}

TEST(DitOps, SubIsTheResidualExact) {
  sm::ReferenceOps ops;
  const sm::Mat a = random_mat(7, 5, 9), b = random_mat(8, 5, 9);
  const sm::Mat d = ops.sub(a, b);
  for (size_t i = 0; i < a.v.size(); ++i) EXPECT_EQ(d.v[i], a.v[i] - b.v[i]);
  EXPECT_THROW(ops.sub(a, random_mat(9, 9, 5)), sixbit::Error);
}

TEST(DitOps, DiffNormsMatchLongDoubleAndIgnoreThreadCount) {
  sm::ReferenceOps ops;
  const sm::Mat a = random_mat(10, 300, 257), b = random_mat(11, 300, 257);
  long double l1d = 0, l1r = 0, l2d = 0, l2r = 0;
  for (size_t i = 0; i < a.v.size(); ++i) {
    const long double d = (long double)a.v[i] - b.v[i];
    l1d += std::fabs(d); l1r += std::fabs((long double)b.v[i]); l2d += d * d; l2r += (long double)b.v[i] * b.v[i];
  }
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const sm::DiffNorms one = ops.diff_norms(a, b);
  omp_set_num_threads(3);
  const sm::DiffNorms three = ops.diff_norms(a, b);
  omp_set_num_threads(saved);
  EXPECT_EQ(std::memcmp(&one, &three, sizeof one), 0) << "diff_norms depends on the thread count";
  // fp64 sums of n = 77,100 terms, each term exact in fp64 (a difference of two floats is exact in double; its
  // square rounds once): relative error <= (n + 1) * 2^-53 ~ 8.6e-12 (Higham, gamma_n); 1e-10 leaves margin.
  EXPECT_NEAR(one.l1_diff / double(l1d), 1.0, 1e-10);
  EXPECT_NEAR(one.l1_ref / double(l1r), 1.0, 1e-10);
  EXPECT_NEAR(one.l2_diff / double(l2d), 1.0, 1e-10);
  EXPECT_NEAR(one.l2_ref / double(l2r), 1.0, 1e-10);
  EXPECT_GT(one.rel_l1(), 0.5);  // two independent normals: E|a-b| / E|b| = sqrt(2), far from 0
  EXPECT_EQ(ops.diff_norms(a, a).rel_l1(), 0.0);
  EXPECT_TRUE(std::isinf(ops.diff_norms(a, sm::Mat(300, 257)).rel_l1()));
  EXPECT_THROW(ops.diff_norms(a, random_mat(12, 257, 300)), sixbit::Error);
}

TEST(DitOps, ReferenceBackendRefusesQuantizedPlans) {
  sm::ReferenceOps ops;
  EXPECT_NO_THROW(ops.set_plan(sm::PrecisionPlan::uniform(sm::LinearPrecision::kFull)));
  EXPECT_THROW(ops.set_plan(sm::PrecisionPlan::uniform(sm::LinearPrecision::kW4A4)), sixbit::Error);
  sm::PrecisionPlan one_layer;
  one_layer.per_linear[{0, sm::LinearKind::ffn_0}] = sm::LinearPrecision::kW8A8;
  EXPECT_THROW(ops.set_plan(one_layer), sixbit::Error);
}
