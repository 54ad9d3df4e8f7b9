// Quantized GEMMs (qgemm.hpp). Integer parts EXACT against an int64 reference; fp32 results EXACT against a
// scalar transcription of the definition (qgemm_scalar.hpp, one output at a time); RELATIVE against an fp64
// dot product of the dequantized operands within a derived bound; bitwise identical for 1, 2 and 7 threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <bit>
#include <cstring>
#include <random>
#include <vector>

#include "common/check.hpp"
#include "emulation/gemm/qgemm.hpp"
#include "emulation/gemm/qgemm_scalar.hpp"

namespace {
using namespace sixbit;
using namespace sixbit::quant;
using namespace sixbit::gemm;

std::vector<float> randn(int64_t n, uint32_t seed, float outlier_every = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * ((outlier_every > 0 && i % static_cast<size_t>(outlier_every) == 3) ? 25.0f : 1.0f);
  return x;
}

std::vector<float> poisoned(size_t n) { return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()); }

// The definitions, straight from qgemm.hpp through the shared scalar helpers: the reference the fast loops match.
float ref_w4a4(const Nvfp4Tensor& a, const Nvfp4Tensor& w, int64_t m, int64_t n) {
  const int64_t KB = a.cols / 16;
  float acc = 0.0f;
  for (int64_t j = 0; j < KB; ++j) {
    const int32_t p = w4a4_block_dot(&a.packed[static_cast<size_t>((m * a.cols + 16 * j) / 2)], &w.packed[static_cast<size_t>((n * w.cols + 16 * j) / 2)]);
    acc = acc + w4a4_block_term(p, a.scales[static_cast<size_t>(m * KB + j)], w.scales[static_cast<size_t>(n * KB + j)]);
  }
  return w4a4_epilogue(acc, w4a4_alpha(a.global_decode, w.global_decode));
}
float ref_w4a8(const Int8Tensor& a, const Nvfp4Tensor& w, int64_t m, int64_t n) {
  const int64_t KB = a.cols / 16;
  float acc = 0.0f;
  for (int64_t j = 0; j < KB; ++j)
    acc = acc + w4a8_block_term(w4a8_block_dot(&a.codes[static_cast<size_t>(m * a.cols + 16 * j)], &w.packed[static_cast<size_t>((n * w.cols + 16 * j) / 2)]),
                                w.scales[static_cast<size_t>(n * KB + j)]);
  return w4a8_epilogue(acc, a.scales[static_cast<size_t>(m)], w4a8_alpha(w.global_decode));
}

struct Shape {
  int64_t M, N, K;
};
const Shape kShapes[] = {{1, 1, 16}, {1, 37, 64}, {17, 65, 48}, {33, 129, 256}, {64, 64, 1536}};

TEST(GemmW8A8, Int32AccumulatorsExactAndEpilogueAsDefined) {
  for (const Shape s : kShapes) {
    const auto xa = randn(s.M * s.K, 1, 37), xw = randn(s.N * s.K, 2);
    const Int8Tensor a = int8_quantize(xa.data(), s.M, s.K, Int8Granularity::kPerRow);
    const Int8Tensor w = int8_quantize(xw.data(), s.N, s.K, Int8Granularity::kPerRow);
    std::vector<int32_t> acc(static_cast<size_t>(s.M * s.N), 0x7EADBEEF);
    gemm_w8a8_int32(a, w, acc.data());
    auto y = poisoned(static_cast<size_t>(s.M * s.N));
    const auto bias = randn(s.N, 3);
    gemm_w8a8(a, w, bias.data(), y.data());
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n) {
        int64_t ref = 0;
        for (int64_t k = 0; k < s.K; ++k) ref += int64_t{a.codes[static_cast<size_t>(m * s.K + k)]} * w.codes[static_cast<size_t>(n * s.K + k)];
        ASSERT_EQ(acc[static_cast<size_t>(m * s.N + n)], ref);
        const float expect = w8a8_epilogue(static_cast<int32_t>(ref), a.scales[static_cast<size_t>(m)], w.scales[static_cast<size_t>(n)]) + bias[static_cast<size_t>(n)];
        ASSERT_EQ(std::bit_cast<uint32_t>(y[static_cast<size_t>(m * s.N + n)]), std::bit_cast<uint32_t>(expect)) << m << "," << n;
      }
  }
}

TEST(GemmW4A4, MatchesScalarDefinitionBitForBit) {
  for (const Shape s : kShapes) {
    const auto xa = randn(s.M * s.K, 4, 29), xw = randn(s.N * s.K, 5);
    const Nvfp4Tensor a = nvfp4_quantize(xa.data(), s.M, s.K, Nvfp4Recipe::kTe), w = nvfp4_quantize(xw.data(), s.N, s.K, Nvfp4Recipe::kTe);
    auto y = poisoned(static_cast<size_t>(s.M * s.N));
    gemm_w4a4(a, w, nullptr, y.data());
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n)
        ASSERT_EQ(std::bit_cast<uint32_t>(y[static_cast<size_t>(m * s.N + n)]), std::bit_cast<uint32_t>(ref_w4a4(a, w, m, n))) << m << "," << n;
  }
}

TEST(GemmW4A8, MatchesScalarDefinitionBitForBit) {
  for (const Shape s : kShapes) {
    const auto xa = randn(s.M * s.K, 6, 31), xw = randn(s.N * s.K, 7);
    const Int8Tensor a = int8_quantize(xa.data(), s.M, s.K, Int8Granularity::kPerRow);
    const Nvfp4Tensor w = nvfp4_quantize(xw.data(), s.N, s.K, Nvfp4Recipe::kTe);
    auto y = poisoned(static_cast<size_t>(s.M * s.N));
    gemm_w4a8(a, w, nullptr, y.data());
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n)
        ASSERT_EQ(std::bit_cast<uint32_t>(y[static_cast<size_t>(m * s.N + n)]), std::bit_cast<uint32_t>(ref_w4a8(a, w, m, n))) << m << "," << n;
  }
}

// Bound against the exact (fp64) dot product of the dequantized operands. Every block term t_j is exact in
// fp32, so the only roundings are: the KB-1 accumulation additions (|err| <= gamma_{KB} * sum_j |t_j|, with
// gamma_n = n u / (1 - n u), u = 2^-24: Higham, Accuracy and Stability, eq. 3.4) and the epilogue's multiplies
// (each <= u relative). The test computes sum_j |t_j| * alpha exactly in fp64 and checks
// |y - ref| <= (gamma_KB + 3u) * that, and that the error is not zero everywhere (fp32 accumulation of 96 terms
// of mixed sign must round somewhere).
TEST(GemmW4A4, WithinDerivedBoundOfFp64DequantizedProduct) {
  const int64_t M = 16, N = 24, K = 1536, KB = K / 16;
  const auto xa = randn(M * K, 8, 41), xw = randn(N * K, 9);
  const Nvfp4Tensor a = nvfp4_quantize(xa.data(), M, K, Nvfp4Recipe::kTe), w = nvfp4_quantize(xw.data(), N, K, Nvfp4Recipe::kTe);
  std::vector<float> y(static_cast<size_t>(M * N));
  gemm_w4a4(a, w, nullptr, y.data());
  const double u = std::ldexp(1.0, -24), gamma = KB * u / (1 - KB * u);
  double max_ratio = 0, nonzero_errors = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      // The fp64 dot product of the dequantized operands, formed from the codes so every product is exact.
      double exact = 0, abs_terms = 0;
      for (int64_t j = 0; j < KB; ++j) {
        double t = 0;
        for (int64_t i = 0; i < 16; ++i) {
          const size_t ia = static_cast<size_t>(m * K + 16 * j + i), iw = static_cast<size_t>(n * K + 16 * j + i);
          t += double(fmt::e2m1_decode(fmt::e2m1_unpack(a.packed[ia / 2], int(ia & 1)))) * fmt::e2m1_decode(fmt::e2m1_unpack(w.packed[iw / 2], int(iw & 1)));
        }
        t *= double(fmt::ue4m3_decode(a.scales[static_cast<size_t>(m * KB + j)])) * fmt::ue4m3_decode(w.scales[static_cast<size_t>(n * KB + j)]);
        exact += t;
        abs_terms += std::fabs(t);
      }
      const double scale = double(a.global_decode) * w.global_decode;
      const double err = std::fabs(double(y[static_cast<size_t>(m * N + n)]) - exact * scale);
      const double bound = (gamma + 3 * u) * abs_terms * scale + 1e-300;
      max_ratio = std::max(max_ratio, err / bound);
      nonzero_errors += err > 0;
    }
  EXPECT_LE(max_ratio, 1.0);
  EXPECT_GT(nonzero_errors, 0) << "fp32 accumulation that never rounds is suspicious";
}

TEST(GemmAll, BitsIdenticalFor1_2_7Threads) {
  const int64_t M = 37, N = 70, K = 320;
  const auto xa = randn(M * K, 10, 23), xw = randn(N * K, 11);
  const Nvfp4Tensor a4 = nvfp4_quantize(xa.data(), M, K, Nvfp4Recipe::kTe), w4 = nvfp4_quantize(xw.data(), N, K, Nvfp4Recipe::kTe);
  const Int8Tensor a8 = int8_quantize(xa.data(), M, K, Int8Granularity::kPerRow), w8 = int8_quantize(xw.data(), N, K, Int8Granularity::kPerRow);
  auto run_all = [&] {
    std::vector<float> out(static_cast<size_t>(3 * M * N));
    gemm_w8a8(a8, w8, nullptr, out.data());
    gemm_w4a4(a4, w4, nullptr, out.data() + M * N);
    gemm_w4a8(a8, w4, nullptr, out.data() + 2 * M * N);
    return out;
  };
  omp_set_num_threads(1);
  const auto one = run_all();
  for (int th : {2, 7}) {
    omp_set_num_threads(th);
    const auto many = run_all();
    ASSERT_EQ(0, std::memcmp(one.data(), many.data(), one.size() * sizeof(float))) << th << " threads";
  }
  omp_set_num_threads(omp_get_num_procs());
}

TEST(GemmAll, RejectsBadShapes) {
  std::vector<float> x(16 * 4, 1.0f);
  const Int8Tensor a = int8_quantize(x.data(), 4, 16, Int8Granularity::kPerRow);
  const Int8Tensor w = int8_quantize(x.data(), 2, 32, Int8Granularity::kPerRow);
  std::vector<float> y(64);
  EXPECT_THROW(gemm_w8a8(a, w, nullptr, y.data()), Error);
  Int8Tensor odd = a;
  odd.cols = 8;
  odd.rows = 8;
  EXPECT_THROW(gemm_w8a8(odd, odd, nullptr, y.data()), Error);
}

}  // namespace
