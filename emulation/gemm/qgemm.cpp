// The quantized GEMMs of qgemm.hpp on the CPU. Structure: operands are first unpacked once into int8 "half
// units" (E2M1 codes x2, or INT8 codes as they are), then each output is computed by the exact definition with
// loops shaped for the compiler's vectorizer (16-element integer dots). OpenMP parallelises over rows of the
// output only; each output's k order is fixed, so any thread count gives identical bits.
#include "emulation/gemm/qgemm.hpp"

#include <omp.h>

#include <vector>

#include "common/check.hpp"
#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::gemm {

namespace {

void check_shapes(int64_t a_rows, int64_t a_cols, int64_t w_rows, int64_t w_cols, const char* what) {
  SIXBIT_CHECK(a_cols == w_cols, what, ": inner dimensions differ (A is [", a_rows, ", ", a_cols, "], W is [", w_rows, ", ", w_cols, "])");
  SIXBIT_CHECK(a_cols % 16 == 0, what, ": K = ", a_cols, " is not a multiple of 16");
  SIXBIT_CHECK(a_rows >= 0 && w_rows >= 0, what, ": negative shape");
}

// E2M1 codes -> int8 half units, element order preserved.
std::vector<int8_t> unpack_half_units(const quant::Nvfp4Tensor& t) {
  std::vector<int8_t> out(static_cast<size_t>(t.rows * t.cols));
  static const struct Lut {
    int8_t v[256][2];
    Lut() {
      for (int b = 0; b < 256; ++b)
        for (int i = 0; i < 2; ++i) v[b][i] = static_cast<int8_t>(fmt::e2m1_to_half_units(fmt::e2m1_unpack(static_cast<uint8_t>(b), i)));
    }
  } lut;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < t.rows * t.cols / 2; ++i) {
    out[static_cast<size_t>(2 * i)] = lut.v[t.packed[static_cast<size_t>(i)]][0];
    out[static_cast<size_t>(2 * i + 1)] = lut.v[t.packed[static_cast<size_t>(i)]][1];
  }
  return out;
}

// Exact int32 dot of length k (k % 16 == 0); int16 products summed in int32, vectorized by the compiler.
inline int32_t dot_i8(const int8_t* a, const int8_t* w, int64_t k) {
  int32_t acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < k; ++i) acc += static_cast<int16_t>(a[i]) * static_cast<int16_t>(w[i]);
  return acc;
}

// Dot products of one 16-element block: integer, exact.
inline int32_t dot16_i8(const int8_t* a, const int8_t* w) {
  int32_t acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int i = 0; i < 16; ++i) acc += static_cast<int16_t>(a[i]) * static_cast<int16_t>(w[i]);
  return acc;
}

float int8_row_scale(const quant::Int8Tensor& t, int64_t r) {
  return t.granularity == quant::Int8Granularity::kPerRow ? t.scales[static_cast<size_t>(r)] : t.scales[0];
}

constexpr int64_t kTileN = 64;  // outputs per tile: W rows reused from L1/L2 across the rows of A in a thread

}  // namespace

void gemm_w8a8_int32(const quant::Int8Tensor& a, const quant::Int8Tensor& w, int32_t* acc) {
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W8A8");
  const int64_t M = a.rows, N = w.rows, K = a.cols;
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) acc[m * N + n] = dot_i8(a.codes.data() + m * K, w.codes.data() + n * K, K);
}

void gemm_w8a8(const quant::Int8Tensor& a, const quant::Int8Tensor& w, const float* bias, float* y) {
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W8A8");
  const int64_t M = a.rows, N = w.rows, K = a.cols;
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
  for (int64_t n0 = 0; n0 < N; n0 += kTileN)
    for (int64_t m = 0; m < M; ++m) {
      const float sa = int8_row_scale(a, m);
      for (int64_t n = n0; n < std::min(N, n0 + kTileN); ++n) {
        const int32_t acc = dot_i8(a.codes.data() + m * K, w.codes.data() + n * K, K);
        float v = w8a8_epilogue(acc, sa, int8_row_scale(w, n));
        if (bias) v = v + bias[n];
        y[m * N + n] = v;
      }
    }
}

void gemm_w4a4(const quant::Nvfp4Tensor& a, const quant::Nvfp4Tensor& w, const float* bias, float* y) {
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W4A4");
  const int64_t M = a.rows, N = w.rows, K = a.cols, KB = K / 16;
  const std::vector<int8_t> ah = unpack_half_units(a), wh = unpack_half_units(w);
  // Scale products are exact in fp32; decode them once per block instead of once per output.
  std::vector<float> sa(a.scales.size()), sw(w.scales.size());
  for (size_t i = 0; i < sa.size(); ++i) sa[i] = fmt::ue4m3_decode(a.scales[i]);
  for (size_t i = 0; i < sw.size(); ++i) sw[i] = fmt::ue4m3_decode(w.scales[i]);
  const float alpha = w4a4_alpha(a.global_decode, w.global_decode);
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
  for (int64_t n0 = 0; n0 < N; n0 += kTileN)
    for (int64_t m = 0; m < M; ++m) {
      const int8_t* arow = ah.data() + m * K;
      for (int64_t n = n0; n < std::min(N, n0 + kTileN); ++n) {
        const int8_t* wrow = wh.data() + n * K;
        float acc = 0.0f;
        for (int64_t j = 0; j < KB; ++j) {
          const int32_t p = dot16_i8(arow + 16 * j, wrow + 16 * j);
          acc = acc + static_cast<float>(p) * (sa[static_cast<size_t>(m * KB + j)] * sw[static_cast<size_t>(n * KB + j)]);
        }
        float v = w4a4_epilogue(acc, alpha);
        if (bias) v = v + bias[n];
        y[m * N + n] = v;
      }
    }
}

void gemm_w4a8(const quant::Int8Tensor& a, const quant::Nvfp4Tensor& w, const float* bias, float* y) {
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W4A8");
  const int64_t M = a.rows, N = w.rows, K = a.cols, KB = K / 16;
  const std::vector<int8_t> wh = unpack_half_units(w);
  std::vector<float> sw(w.scales.size());
  for (size_t i = 0; i < sw.size(); ++i) sw[i] = fmt::ue4m3_decode(w.scales[i]);
  const float alpha = w4a8_alpha(w.global_decode);
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
  for (int64_t n0 = 0; n0 < N; n0 += kTileN)
    for (int64_t m = 0; m < M; ++m) {
      const int8_t* arow = a.codes.data() + m * K;
      const float sa = int8_row_scale(a, m);
      for (int64_t n = n0; n < std::min(N, n0 + kTileN); ++n) {
        const int8_t* wrow = wh.data() + n * K;
        float acc = 0.0f;
        for (int64_t j = 0; j < KB; ++j) acc = acc + static_cast<float>(dot16_i8(arow + 16 * j, wrow + 16 * j)) * sw[static_cast<size_t>(n * KB + j)];
        float v = w4a8_epilogue(acc, sa, alpha);
        if (bias) v = v + bias[n];
        y[m * N + n] = v;
      }
    }
}

}  // namespace sixbit::gemm
