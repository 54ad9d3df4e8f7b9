// NVFP4 quantizer: hand-computed blocks per recipe (EXACT), special blocks, layouts, thread-count determinism,
// and a derived dequantization bound. The library-by-library comparison on >= 10^6 blocks is tests/oracle.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/check.hpp"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace {
using namespace sixbit;
using namespace sixbit::quant;
const Nvfp4Recipe kAllRecipes[] = {Nvfp4Recipe::kTe, Nvfp4Recipe::kModelopt, Nvfp4Recipe::kTorchao, Nvfp4Recipe::kCutlass};

std::vector<float> random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (auto& v : x) v = nd(rng);
  for (int64_t r = 0; r < rows; ++r) x[static_cast<size_t>(r * cols + (r * 7) % cols)] *= 30.0f;  // outliers
  return x;
}

uint8_t code_at(const Nvfp4Tensor& t, int64_t i) { return fmt::e2m1_unpack(t.packed[static_cast<size_t>(i / 2)], static_cast<int>(i & 1)); }

TEST(Nvfp4Te, BlockWithAmaxEqualToTensorAmaxGetsScale448) {
  // amax = 6 -> S = 2688/6 = 448; block scale = 6 * (448 * RN(1/6)) -> 448.00003 rounds to 448 (0x7E);
  // multiplier = 1/(448 * (1/448)) = 1 -> elements encode as themselves.
  std::vector<float> x = {6, 4, 3, 2, 1.5f, 1, 0.5f, 0, -0.5f, -1, -1.5f, -2, -3, -4, -6, 0.25f};
  const Nvfp4Tensor t = nvfp4_quantize(x.data(), 1, 16, Nvfp4Recipe::kTe);
  EXPECT_EQ(t.scales[0], 0x7E);
  EXPECT_EQ(t.global_encode, 448.0f);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(code_at(t, i), fmt::e2m1_encode(x[i])) << i;
  std::vector<float> back(16);
  nvfp4_dequantize(t, back.data());
  // Dequantization multiplies by G = RN(1/448), which is not exact: allow the one rounding of each product.
  for (int i = 0; i < 15; ++i) EXPECT_LE(std::fabs(back[i] - x[i]), std::fabs(x[i]) * 1.2e-7f) << i;
  EXPECT_EQ(back[15], 0.0f);                                  // 0.25 ties to 0
}

TEST(Nvfp4AllRecipes, ZeroBlockScaleBytesFollowTheirLibraries) {
  std::vector<float> x(32, 0.0f);
  x[16] = 1.0f;  // a non-zero second block fixes the tensor amax
  const uint8_t expected[] = {0x00, 0x38, 0x08, 0x00};  // te: 0, modelopt: 1.0, torchao: clamp to 2^-6, cutlass: 0
  for (int r = 0; r < 4; ++r) {
    const Nvfp4Tensor t = nvfp4_quantize(x.data(), 1, 32, kAllRecipes[r]);
    EXPECT_EQ(t.scales[0], expected[r]) << nvfp4_recipe_name(kAllRecipes[r]);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(code_at(t, i) & 7, 0) << nvfp4_recipe_name(kAllRecipes[r]);
  }
}

TEST(Nvfp4Te, ScaleUnderflowSaturatesElementsLikeTransformerEngine) {
  // One huge block makes S tiny; a block of 1e-8 then has s = 1e-8*S/6 below 2^-10 -> s8 = 0, multiplier FLT_MAX.
  std::vector<float> x(32, 1e-8f);
  x[16] = 1e6f;
  const Nvfp4Tensor t = nvfp4_quantize(x.data(), 1, 32, Nvfp4Recipe::kTe);
  EXPECT_EQ(t.scales[0], 0x00);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(code_at(t, i), 0x7) << "TE saturates an underflowed block to +-6";
  const Nvfp4Tensor m = nvfp4_quantize(x.data(), 1, 32, Nvfp4Recipe::kModelopt);
  EXPECT_EQ(m.scales[0], 0x01) << "ModelOpt clamps the scale to 2^-9";
}

TEST(Nvfp4AllRecipes, NegativeZeroCodes) {
  std::vector<float> x(16, 0.0f);
  x[0] = -0.0f;
  x[1] = 3.0f;
  const uint8_t expected[] = {0x8, 0x0, 0x8, 0x8};  // modelopt's sign is (q < 0)
  for (int r = 0; r < 4; ++r) EXPECT_EQ(code_at(nvfp4_quantize(x.data(), 1, 16, kAllRecipes[r]), 0), expected[r]) << nvfp4_recipe_name(kAllRecipes[r]);
}

TEST(Nvfp4AllRecipes, InfSaturatesAndNaNIsRejected) {
  std::vector<float> x(16, 1.0f);
  x[3] = std::numeric_limits<float>::infinity();
  for (Nvfp4Recipe r : {Nvfp4Recipe::kTe, Nvfp4Recipe::kCutlass}) {
    const Nvfp4Tensor t = nvfp4_quantize(x.data(), 1, 16, r);
    EXPECT_EQ(t.global_encode, 1.0f) << "non-finite amax -> S = 1";
    EXPECT_EQ(code_at(t, 3), 0x7);
  }
  x[3] = std::numeric_limits<float>::quiet_NaN();
  for (Nvfp4Recipe r : kAllRecipes) EXPECT_THROW(nvfp4_quantize(x.data(), 1, 16, r), Error);
}

TEST(Nvfp4, RejectsKNotMultipleOf16AndUnknownRecipe) {
  std::vector<float> x(24, 1.0f);
  EXPECT_THROW(nvfp4_quantize(x.data(), 1, 24, Nvfp4Recipe::kTe), Error);
  EXPECT_THROW(nvfp4_recipe_from_name("fp4"), Error);
  EXPECT_EQ(nvfp4_recipe_from_name("torchao"), Nvfp4Recipe::kTorchao);
}

TEST(Nvfp4AllRecipes, BitsIdenticalFor1_2_7Threads) {
  const auto x = random_matrix(67, 256, 7);
  for (Nvfp4Recipe r : kAllRecipes) {
    omp_set_num_threads(1);
    const Nvfp4Tensor t1 = nvfp4_quantize(x.data(), 67, 256, r);
    for (int threads : {2, 7}) {
      omp_set_num_threads(threads);
      const Nvfp4Tensor tn = nvfp4_quantize(x.data(), 67, 256, r);
      EXPECT_EQ(t1.packed, tn.packed);
      EXPECT_EQ(t1.scales, tn.scales);
    }
  }
  omp_set_num_threads(omp_get_num_procs());
}

TEST(Nvfp4AllRecipes, DequantizationErrorWithinDerivedBound) {
  // Bound per element: |x - deq| <= half the E2M1 step at |x|/scale times the block's decoded scale, where the
  // largest step is 2 (between 4 and 6), plus the error from the scale's own rounding: s8 is within 2^-4
  // relative of the ideal bamax/6 (E4M3 has 3 mantissa bits), so |q| <= 6 * (1 + 2^-4) and saturation at 6
  // adds at most 6 * 2^-4 * s8. Hence |err| <= (1 + 6/16) * s8 * G, generously 1.5 * s8 * G.
  const auto x = random_matrix(32, 512, 11);
  for (Nvfp4Recipe r : kAllRecipes) {
    const Nvfp4Tensor t = nvfp4_quantize(x.data(), 32, 512, r);
    std::vector<float> back(x.size());
    nvfp4_dequantize(t, back.data());
    double max_ratio = 0.0, err2 = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double bound = 1.5 * fmt::ue4m3_decode(t.scales[i / 16]) * t.global_decode;
      const double e = std::fabs(static_cast<double>(x[i]) - back[i]);
      err2 += e * e;
      max_ratio = std::max(max_ratio, e / bound);
    }
    EXPECT_LE(max_ratio, 1.0) << nvfp4_recipe_name(r);
    EXPECT_GT(err2, 0.0) << "4-bit quantization of Gaussian data cannot be lossless";
  }
}

TEST(Nvfp4Layout, Blocked128x4RoundTripsWithPadding) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {130, 5}, {128, 4}, {257, 9}}) {
    std::vector<uint8_t> rm(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < rm.size(); ++i) rm[i] = static_cast<uint8_t>(1 + i % 250);
    const auto blocked = scales_to_blocked_128x4(rm.data(), rows, cols);
    EXPECT_EQ(static_cast<int64_t>(blocked.size()), (rows + 127) / 128 * 128 * ((cols + 3) / 4 * 4));
    EXPECT_EQ(scales_from_blocked_128x4(blocked.data(), rows, cols), rm);
    size_t nonzero = 0;
    for (uint8_t b : blocked) nonzero += b != 0;
    EXPECT_EQ(nonzero, rm.size()) << "padding must be zero and every scale placed once";
  }
  // Spot values of the published formula: (r, c) = (33, 5) with 8 columns -> (0*2 + 1)*512 + 1*16 + 1*4 + 1.
  EXPECT_EQ(blocked_128x4_offset(33, 5, 8), 512 + 16 + 4 + 1);
  EXPECT_EQ(blocked_128x4_offset(128, 0, 8), 2 * 512);
}

}  // namespace
