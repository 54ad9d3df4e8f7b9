// Quantized GEMMs (qgemm.hpp) on operands built directly from random codes and scales, not through the
// quantizers: every E2M1 code (incl. -0), every finite UE4M3 scale code (0x00..0x7E, subnormals included),
// per-tensor and per-row INT8. The reference here is written from the definition using only the format
// decoders (e2m1_decode, ue4m3_decode), not the qgemm_scalar.hpp helpers, so those helpers are checked too.
// Also: the W8A8 int32 limit, malformed structs and empty shapes give sixbit::Error or nothing, never garbage.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/check.hpp"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/gemm/qgemm.hpp"

namespace {
using namespace sixbit;
using namespace sixbit::quant;
using namespace sixbit::gemm;

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }

Nvfp4Tensor random_nvfp4(int64_t rows, int64_t cols, uint32_t seed, float global_decode) {
  std::mt19937 rng(seed);
  Nvfp4Tensor t;
  t.rows = rows;
  t.cols = cols;
  t.packed.resize(static_cast<size_t>(rows * cols / 2));
  t.scales.resize(static_cast<size_t>(rows * cols / 16));
  for (auto& b : t.packed) b = static_cast<uint8_t>(rng() & 0xFF);     // any two E2M1 codes, -0 (code 8) included
  for (auto& s : t.scales) s = static_cast<uint8_t>(rng() % 0x7F);     // 0x00..0x7E: every finite UE4M3 value
  t.global_decode = global_decode;
  t.global_encode = 1.0f / global_decode;
  return t;
}

Int8Tensor random_int8(int64_t rows, int64_t cols, uint32_t seed, Int8Granularity g) {
  std::mt19937 rng(seed);
  Int8Tensor t;
  t.rows = rows;
  t.cols = cols;
  t.granularity = g;
  t.codes.resize(static_cast<size_t>(rows * cols));
  for (auto& c : t.codes) c = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);  // -127..127 as the quantizer
  t.scales.resize(g == Int8Granularity::kPerRow ? static_cast<size_t>(rows) : 1);
  for (auto& s : t.scales) s = std::ldexp(1.0f + static_cast<float>(rng() % 1000) / 1000.0f, -10 + static_cast<int>(rng() % 6));
  return t;
}

// E2M1 value of element i of row r, in half units, from the float decoder (2 * value is an integer).
int32_t half_units(const Nvfp4Tensor& t, int64_t r, int64_t i) {
  const int64_t e = r * t.cols + i;
  return static_cast<int32_t>(2.0f * fmt::e2m1_decode(fmt::e2m1_unpack(t.packed[static_cast<size_t>(e / 2)], static_cast<int>(e & 1))));
}
float int8_scale(const Int8Tensor& t, int64_t r) { return t.scales[t.granularity == Int8Granularity::kPerRow ? static_cast<size_t>(r) : 0]; }

// qgemm.hpp, W4A4, transcribed: block integer sums, exact term, fp32 accumulation in increasing j, epilogue.
float def_w4a4(const Nvfp4Tensor& a, const Nvfp4Tensor& w, int64_t m, int64_t n, const float* bias) {
  const int64_t KB = a.cols / 16;
  float acc = 0.0f;
  for (int64_t j = 0; j < KB; ++j) {
    int32_t p = 0;
    for (int64_t i = 16 * j; i < 16 * j + 16; ++i) p += half_units(a, m, i) * half_units(w, n, i);
    const float sa = fmt::ue4m3_decode(a.scales[static_cast<size_t>(m * KB + j)]), sw = fmt::ue4m3_decode(w.scales[static_cast<size_t>(n * KB + j)]);
    const float t = static_cast<float>(p) * (sa * sw);
    // The definition relies on t being exact; check that claim in fp64 on every block seen.
    EXPECT_EQ(static_cast<double>(t), static_cast<double>(p) * sa * sw);
    acc = acc + t;
  }
  float y = acc * (0.25f * (a.global_decode * w.global_decode));
  if (bias) y = y + bias[n];
  return y;
}

float def_w4a8(const Int8Tensor& a, const Nvfp4Tensor& w, int64_t m, int64_t n, const float* bias) {
  const int64_t KB = a.cols / 16;
  float acc = 0.0f;
  for (int64_t j = 0; j < KB; ++j) {
    int32_t p = 0;
    for (int64_t i = 16 * j; i < 16 * j + 16; ++i) p += int32_t{a.codes[static_cast<size_t>(m * a.cols + i)]} * half_units(w, n, i);
    const float sw = fmt::ue4m3_decode(w.scales[static_cast<size_t>(n * KB + j)]);
    const float t = static_cast<float>(p) * sw;
    EXPECT_EQ(static_cast<double>(t), static_cast<double>(p) * sw);
    acc = acc + t;
  }
  float y = (acc * int8_scale(a, m)) * (0.5f * w.global_decode);
  if (bias) y = y + bias[n];
  return y;
}

struct Shape {
  int64_t M, N, K;
};
// Odd shapes: single row/column, one block, M and N not multiples of the 8 x 16 tiles.
const Shape kShapes[] = {{1, 1, 16}, {1, 17, 32}, {9, 1, 48}, {13, 31, 160}, {8, 16, 16}, {23, 47, 512}};

TEST(GemmCodes, W4A4AllCodesAndScalesMatchDefinition) {
  for (const Shape s : kShapes) {
    const Nvfp4Tensor a = random_nvfp4(s.M, s.K, 100 + static_cast<uint32_t>(s.K), 0.0371f), w = random_nvfp4(s.N, s.K, 200 + static_cast<uint32_t>(s.N), 1.7e-3f);
    std::vector<float> bias(static_cast<size_t>(s.N));
    for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.125f * static_cast<float>(i % 7) - 0.3f;
    for (const float* b : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
      std::vector<float> y(static_cast<size_t>(s.M * s.N), std::numeric_limits<float>::quiet_NaN());
      gemm_w4a4(a, w, b, y.data());
      int64_t nonzero = 0;
      for (int64_t m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < s.N; ++n) {
          const float ref = def_w4a4(a, w, m, n, b);
          ASSERT_FALSE(std::isnan(ref));
          ASSERT_EQ(bits(y[static_cast<size_t>(m * s.N + n)]), bits(ref)) << s.M << "x" << s.N << "x" << s.K << " at " << m << "," << n;
          nonzero += ref != 0.0f;
        }
      EXPECT_GT(nonzero, 0) << "all-zero outputs would make the comparison trivial";
    }
  }
}

TEST(GemmCodes, W4A8PerRowAndPerTensorMatchDefinition) {
  for (const Shape s : kShapes)
    for (const Int8Granularity g : {Int8Granularity::kPerRow, Int8Granularity::kPerTensor}) {
      const Int8Tensor a = random_int8(s.M, s.K, 300 + static_cast<uint32_t>(s.M), g);
      const Nvfp4Tensor w = random_nvfp4(s.N, s.K, 400 + static_cast<uint32_t>(s.K), 3.1e-3f);
      const std::vector<float> bias(static_cast<size_t>(s.N), -0.75f);
      std::vector<float> y(static_cast<size_t>(s.M * s.N), std::numeric_limits<float>::quiet_NaN());
      gemm_w4a8(a, w, bias.data(), y.data());
      for (int64_t m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < s.N; ++n) {
          const float ref = def_w4a8(a, w, m, n, bias.data());
          ASSERT_FALSE(std::isnan(ref));
          ASSERT_EQ(bits(y[static_cast<size_t>(m * s.N + n)]), bits(ref)) << m << "," << n;
        }
    }
}

TEST(GemmCodes, W8A8PerTensorMatchesDefinition) {
  for (const Shape s : kShapes) {
    const Int8Tensor a = random_int8(s.M, s.K, 500, Int8Granularity::kPerTensor), w = random_int8(s.N, s.K, 600, Int8Granularity::kPerRow);
    std::vector<float> y(static_cast<size_t>(s.M * s.N), std::numeric_limits<float>::quiet_NaN());
    gemm_w8a8(a, w, nullptr, y.data());
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n) {
        int64_t acc = 0;
        for (int64_t k = 0; k < s.K; ++k) acc += int64_t{a.codes[static_cast<size_t>(m * s.K + k)]} * w.codes[static_cast<size_t>(n * s.K + k)];
        const float ref = (static_cast<float>(acc) * a.scales[0]) * w.scales[static_cast<size_t>(n)];
        ASSERT_EQ(bits(y[static_cast<size_t>(m * s.N + n)]), bits(ref)) << m << "," << n;
      }
  }
}

// W8A8 error against the exact product of the dequantized operands: acc is exact; float(acc) and the two
// epilogue multiplies each round once, so |y - acc*sa*sw| <= ((1+u)^3 - 1) |acc*sa*sw|, u = 2^-24.
TEST(GemmCodes, W8A8WithinDerivedBoundAndNotExact) {
  const int64_t M = 12, N = 20, K = 4096;
  const Int8Tensor a = random_int8(M, K, 700, Int8Granularity::kPerRow), w = random_int8(N, K, 800, Int8Granularity::kPerRow);
  std::vector<float> y(static_cast<size_t>(M * N));
  gemm_w8a8(a, w, nullptr, y.data());
  const double u = std::ldexp(1.0, -24), rel = std::pow(1 + u, 3) - 1;
  int64_t inexact = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += int64_t{a.codes[static_cast<size_t>(m * K + k)]} * w.codes[static_cast<size_t>(n * K + k)];
      const double exact = static_cast<double>(acc) * a.scales[static_cast<size_t>(m)] * w.scales[static_cast<size_t>(n)];
      const double err = std::fabs(static_cast<double>(y[static_cast<size_t>(m * N + n)]) - exact);
      ASSERT_LE(err, rel * std::fabs(exact)) << m << "," << n;
      inexact += err > 0;
    }
  EXPECT_GT(inexact, 0) << "two fp32 multiplies of random scales that never round are suspicious";
}

// W4A8 against fp64: the block terms are exact, the KB-1 additions give |acc - S| <= gamma_KB * sum|t_j|
// (Higham, Accuracy and Stability, eq. 3.4; gamma_n = n u/(1 - n u)), then two multiplies (acc*sa)*alpha each
// <= u relative; alpha = 0.5*Gw is exact (power-of-two scaling of a normal number). So
// |y - S*sa*alpha| <= sa*alpha*sum|t_j| * (gamma_KB + (1 + gamma_KB)((1+u)^2 - 1)) < ... * (gamma_KB + 3u).
TEST(GemmCodes, W4A8WithinDerivedBoundAndNotExact) {
  const int64_t M = 10, N = 18, K = 8960, KB = K / 16;
  const Int8Tensor a = random_int8(M, K, 900, Int8Granularity::kPerRow);
  const Nvfp4Tensor w = random_nvfp4(N, K, 1000, 2.5e-3f);
  std::vector<float> y(static_cast<size_t>(M * N));
  gemm_w4a8(a, w, nullptr, y.data());
  const double u = std::ldexp(1.0, -24), gamma = KB * u / (1 - KB * u);
  double worst = 0;
  int64_t inexact = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double exact = 0, abs_terms = 0;  // in units of sa*alpha; every product below is exact in fp64
      for (int64_t j = 0; j < KB; ++j) {
        double p = 0;
        for (int64_t i = 16 * j; i < 16 * j + 16; ++i) p += double(a.codes[static_cast<size_t>(m * K + i)]) * half_units(w, n, i);
        const double t = p * fmt::ue4m3_decode(w.scales[static_cast<size_t>(n * KB + j)]);
        exact += t;
        abs_terms += std::fabs(t);
      }
      const double f = double(a.scales[static_cast<size_t>(m)]) * (0.5 * double(w.global_decode));
      const double err = std::fabs(double(y[static_cast<size_t>(m * N + n)]) - exact * f);
      const double bound = (gamma + 3 * u) * abs_terms * f;
      ASSERT_GT(bound, 0.0);
      worst = std::max(worst, err / bound);
      inexact += err > 0;
    }
  EXPECT_LE(worst, 1.0);
  EXPECT_GT(inexact, 0) << "fp32 accumulation of 560 mixed-sign terms that never rounds is suspicious";
}

// The W8A8 int32 accumulator at its limit: K = 133,136 (largest multiple of 16 with K*127^2 < 2^31) with every
// product 127*127 is exact; K = 133,152 is refused rather than wrapped.
TEST(GemmCodes, W8A8Int32LimitExactAndBeyondRefused) {
  auto ones = [](int64_t K, int8_t v) {
    Int8Tensor t;
    t.rows = 1;
    t.cols = K;
    t.codes.assign(static_cast<size_t>(K), v);
    t.scales = {1.0f};
    return t;
  };
  const int64_t K = 133136;
  int32_t acc = 0;
  gemm_w8a8_int32(ones(K, 127), ones(K, -127), &acc);
  EXPECT_EQ(int64_t{acc}, -K * 127 * 127);
  EXPECT_THROW(gemm_w8a8_int32(ones(K + 16, 127), ones(K + 16, 127), &acc), Error);
}

TEST(GemmCodes, MalformedTensorsAreRejected) {
  const Nvfp4Tensor a4 = random_nvfp4(4, 32, 1, 1.0f), w4 = random_nvfp4(3, 32, 2, 1.0f);
  const Int8Tensor a8 = random_int8(4, 32, 3, Int8Granularity::kPerRow), w8 = random_int8(3, 32, 4, Int8Granularity::kPerRow);
  std::vector<float> y(12);
  Nvfp4Tensor short_packed = w4;
  short_packed.packed.pop_back();
  EXPECT_THROW(gemm_w4a4(a4, short_packed, nullptr, y.data()), Error);
  Nvfp4Tensor short_scales = a4;
  short_scales.scales.pop_back();
  EXPECT_THROW(gemm_w4a4(short_scales, w4, nullptr, y.data()), Error);
  EXPECT_THROW(gemm_w4a8(a8, short_packed, nullptr, y.data()), Error);
  Int8Tensor few_scales = a8;
  few_scales.scales.resize(1);  // per-row needs one per row
  EXPECT_THROW(gemm_w4a8(few_scales, w4, nullptr, y.data()), Error);
  EXPECT_THROW(gemm_w8a8(few_scales, w8, nullptr, y.data()), Error);
  Int8Tensor short_codes = w8;
  short_codes.codes.pop_back();
  EXPECT_THROW(gemm_w8a8(a8, short_codes, nullptr, y.data()), Error);
  // K % 16 != 0 and mismatched K for the NVFP4 GEMMs.
  Nvfp4Tensor k24 = random_nvfp4(2, 48, 5, 1.0f);
  k24.cols = 24;
  k24.rows = 4;
  EXPECT_THROW(gemm_w4a4(k24, k24, nullptr, y.data()), Error);
  const Nvfp4Tensor w48 = random_nvfp4(3, 48, 6, 1.0f);
  EXPECT_THROW(gemm_w4a4(a4, w48, nullptr, y.data()), Error);
  EXPECT_THROW(gemm_w4a8(a8, w48, nullptr, y.data()), Error);
  Int8Tensor a24 = random_int8(2, 24, 7, Int8Granularity::kPerRow);
  EXPECT_THROW(gemm_w8a8(a24, a24, nullptr, y.data()), Error);
  // Nothing above may have written y (each call must fail before computing).
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

TEST(GemmCodes, EmptyShapesWriteNothing) {
  const Nvfp4Tensor a0 = random_nvfp4(0, 32, 1, 1.0f), w4 = random_nvfp4(3, 32, 2, 1.0f), w0 = random_nvfp4(0, 32, 3, 1.0f);
  std::vector<float> y(4, 42.0f);
  gemm_w4a4(a0, w4, nullptr, y.data());
  gemm_w4a4(w4, w0, nullptr, y.data());
  const Int8Tensor a8 = random_int8(0, 32, 4, Int8Granularity::kPerRow);
  gemm_w4a8(a8, w4, nullptr, y.data());
  gemm_w8a8(a8, a8, nullptr, y.data());
  for (float v : y) EXPECT_EQ(v, 42.0f);
}

}  // namespace
