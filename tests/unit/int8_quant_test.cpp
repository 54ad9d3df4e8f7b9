// INT8 quantizer: RNE, clamp, per-tensor / per-row scales, zero rows, NaN rejection, determinism. EXACT checks.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/check.hpp"
#include "emulation/quant/int8_quant.hpp"

namespace {
using namespace sixbit;
using namespace sixbit::quant;

TEST(Int8PerRow, ScalesAndCodesFollowTheRule) {
  std::vector<float> x = {127, -63.5f, 0.5f, 1.5f, 0, 0, 0, 0, 2, -1, 0.0078125f, 0};
  const Int8Tensor t = int8_quantize(x.data(), 3, 4, Int8Granularity::kPerRow);
  EXPECT_EQ(t.scales[0], 1.0f);
  EXPECT_EQ(t.codes[0], 127);
  EXPECT_EQ(t.codes[1], -64);  // -63.5 ties to even
  EXPECT_EQ(t.codes[2], 0);    // 0.5 ties to even
  EXPECT_EQ(t.codes[3], 2);
  EXPECT_EQ(t.scales[1], 0.0f) << "all-zero row: scale 0";
  EXPECT_EQ(t.codes[4], 0);
  EXPECT_EQ(t.scales[2], 2.0f / 127.0f);
  EXPECT_EQ(t.codes[8], 127);
  EXPECT_EQ(t.codes[9], static_cast<int8_t>(std::nearbyint(-1.0f * (127.0f / 2.0f))));
}

TEST(Int8PerTensor, OneScaleAndNeverMinus128) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> x(4096);
  for (auto& v : x) v = nd(rng);
  const Int8Tensor t = int8_quantize(x.data(), 64, 64, Int8Granularity::kPerTensor);
  ASSERT_EQ(t.scales.size(), 1u);
  int at_max = 0;
  for (int8_t c : t.codes) {
    EXPECT_NE(c, -128);
    at_max += (c == 127 || c == -127);
  }
  EXPECT_GE(at_max, 1) << "the amax element maps to +-127";
  std::vector<float> back(x.size());
  int8_dequantize(t, back.data());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_LE(std::fabs(back[i] - x[i]), 0.5f * t.scales[0] * 1.0001f) << i;
}

TEST(Int8, RejectsNaNAndInf) {
  std::vector<float> x(8, 1.0f);
  x[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(int8_quantize(x.data(), 1, 8, Int8Granularity::kPerRow), Error);
  x[2] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(int8_quantize(x.data(), 1, 8, Int8Granularity::kPerTensor), Error);
}

TEST(Int8, BitsIdenticalFor1_2_7Threads) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  std::vector<float> x(97 * 48);
  for (auto& v : x) v = nd(rng);
  for (auto g : {Int8Granularity::kPerRow, Int8Granularity::kPerTensor}) {
    omp_set_num_threads(1);
    const Int8Tensor a = int8_quantize(x.data(), 97, 48, g);
    for (int th : {2, 7}) {
      omp_set_num_threads(th);
      const Int8Tensor b = int8_quantize(x.data(), 97, 48, g);
      EXPECT_EQ(a.codes, b.codes);
      EXPECT_EQ(a.scales, b.scales);
    }
  }
  omp_set_num_threads(omp_get_num_procs());
}

}  // namespace
