// The quantized GEMMs of qgemm.hpp on the CPU. Operands are unpacked once into int8 "half units" (E2M1 codes x2,
// or INT8 codes as they are) and packed as int16 pairs; qgemm_tiles.hpp then computes 8 rows x 16 outputs at a
// time with the exact per-output arithmetic of the definition. OpenMP parallelises over output tiles only; each
// output's k order is fixed, so any thread count gives identical bits.
#include "emulation/gemm/qgemm.hpp"

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "common/check.hpp"
#include "emulation/gemm/qgemm_scalar.hpp"
#include "emulation/gemm/qgemm_tiles.hpp"

namespace sixbit::gemm {

namespace {

void check_shapes(int64_t a_rows, int64_t a_cols, int64_t w_rows, int64_t w_cols, const char* what) {
  SIXBIT_CHECK(a_cols == w_cols, what, ": inner dimensions differ (A is [", a_rows, ", ", a_cols, "], W is [", w_rows, ", ", w_cols, "])");
  SIXBIT_CHECK(a_cols % 16 == 0, what, ": K = ", a_cols, " is not a multiple of 16");
  SIXBIT_CHECK(a_rows >= 0 && w_rows >= 0 && a_cols >= 0, what, ": negative shape");
}

// The structs are plain data, so a hand-built or corrupted one can disagree with its own shape; reading past
// its vectors would be silent garbage or a crash, so every buffer size is checked against rows x cols.
void check_tensor(const quant::Int8Tensor& t, const char* what) {
  SIXBIT_CHECK(t.rows >= 0 && t.cols >= 0, what, ": negative INT8 shape [", t.rows, ", ", t.cols, "]");
  SIXBIT_CHECK(t.codes.size() == static_cast<size_t>(t.rows * t.cols), what, ": INT8 tensor has ", t.codes.size(), " codes for shape [", t.rows,
               ", ", t.cols, "]");
  const size_t scales = t.granularity == quant::Int8Granularity::kPerRow ? static_cast<size_t>(t.rows) : 1;
  SIXBIT_CHECK(t.scales.size() == scales, what, ": INT8 tensor has ", t.scales.size(), " scales, its granularity needs ", scales);
}
void check_tensor(const quant::Nvfp4Tensor& t, const char* what) {
  SIXBIT_CHECK(t.rows >= 0 && t.cols >= 0 && t.cols % 16 == 0, what, ": bad NVFP4 shape [", t.rows, ", ", t.cols, "]");
  SIXBIT_CHECK(t.packed.size() == static_cast<size_t>(t.rows * t.cols / 2), what, ": NVFP4 tensor has ", t.packed.size(),
               " packed bytes for shape [", t.rows, ", ", t.cols, "]");
  SIXBIT_CHECK(t.scales.size() == static_cast<size_t>(t.rows * t.cols / 16), what, ": NVFP4 tensor has ", t.scales.size(),
               " block scales for shape [", t.rows, ", ", t.cols, "]");
}

// W8A8 keeps the whole K sum in int32 (as the tensor-core instruction does): |acc| <= K * 127^2 must stay below
// 2^31, i.e. K <= 133,143. Larger K is refused rather than wrapped.
void check_w8a8_k(int64_t K) {
  SIXBIT_CHECK(K * 127 * 127 <= INT32_MAX, "W8A8: K = ", K, " could overflow the int32 accumulator (K * 127^2 >= 2^31)");
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

float int8_row_scale(const quant::Int8Tensor& t, int64_t r) {
  return t.granularity == quant::Int8Granularity::kPerRow ? t.scales[static_cast<size_t>(r)] : t.scales[0];
}

std::vector<float> decode_scales(const std::vector<uint8_t>& ue4m3) {
  std::vector<float> out(ue4m3.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = fmt::ue4m3_decode(ue4m3[i]);
  return out;
}

// Runs `tile_fn(m0, rows, t, out)` over every (4-row group, 16-output tile) and hands each finished value to
// `store(m, n, value)`. Parallel over tiles of W (each thread keeps its W tile in cache while it walks M).
template <typename Value, typename TileFn, typename Store>
void for_each_tile(int64_t M, int64_t N, TileFn tile_fn, Store store) {
  const int64_t tiles = (N + detail::kLanes - 1) / detail::kLanes;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < tiles; ++t) {
    Value out[detail::kRows][detail::kLanes];
    for (int64_t m0 = 0; m0 < M; m0 += detail::kRows) {
      const int64_t rows = std::min<int64_t>(detail::kRows, M - m0);
      tile_fn(m0, rows, t, out);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t l = 0; l < detail::kLanes && t * detail::kLanes + l < N; ++l) store(m0 + r, t * detail::kLanes + l, out[r][l]);
    }
  }
}

}  // namespace

void gemm_w8a8_int32(const quant::Int8Tensor& a, const quant::Int8Tensor& w, int32_t* acc) {
  check_tensor(a, "W8A8 A");
  check_tensor(w, "W8A8 W");
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W8A8");
  check_w8a8_k(a.cols);
  const int64_t M = a.rows, N = w.rows, K = a.cols;
  const auto ap = detail::pack_activation_pairs(a.codes.data(), M, K), wp = detail::pack_weight_pairs(w.codes.data(), N, K);
  for_each_tile<int32_t>(
      M, N, [&](int64_t m0, int64_t rows, int64_t t, int32_t (*out)[detail::kLanes]) { detail::int_dot_tile(ap.data(), wp.data(), K, m0, rows, t, out); },
      [&](int64_t m, int64_t n, int32_t v) { acc[m * N + n] = v; });
}

void gemm_w8a8(const quant::Int8Tensor& a, const quant::Int8Tensor& w, const float* bias, float* y) {
  check_tensor(a, "W8A8 A");
  check_tensor(w, "W8A8 W");
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W8A8");
  check_w8a8_k(a.cols);
  const int64_t M = a.rows, N = w.rows, K = a.cols;
  const auto ap = detail::pack_activation_pairs(a.codes.data(), M, K), wp = detail::pack_weight_pairs(w.codes.data(), N, K);
  for_each_tile<int32_t>(
      M, N, [&](int64_t m0, int64_t rows, int64_t t, int32_t (*out)[detail::kLanes]) { detail::int_dot_tile(ap.data(), wp.data(), K, m0, rows, t, out); },
      [&](int64_t m, int64_t n, int32_t acc) {
        float v = w8a8_epilogue(acc, int8_row_scale(a, m), int8_row_scale(w, n));
        if (bias) v = v + bias[n];
        y[m * N + n] = v;
      });
}

void gemm_w4a4(const quant::Nvfp4Tensor& a, const quant::Nvfp4Tensor& w, const float* bias, float* y) {
  check_tensor(a, "W4A4 A");
  check_tensor(w, "W4A4 W");
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W4A4");
  const int64_t M = a.rows, N = w.rows, K = a.cols;
  const std::vector<int8_t> ah = unpack_half_units(a), wh = unpack_half_units(w);
  const auto ap = detail::pack_activation_pairs(ah.data(), M, K), wp = detail::pack_weight_pairs(wh.data(), N, K);
  // Block scales decoded once (exact); their products are formed per block inside the kernel, as defined.
  const std::vector<float> sa = decode_scales(a.scales), sw = detail::pack_weight_block_scales(decode_scales(w.scales).data(), N, K / 16);
  const float alpha = w4a4_alpha(a.global_decode, w.global_decode);
  for_each_tile<float>(
      M, N, [&](int64_t m0, int64_t rows, int64_t t, float (*out)[detail::kLanes]) { detail::block_dot_tile(ap.data(), wp.data(), sa.data(), sw.data(), K, m0, rows, t, out); },
      [&](int64_t m, int64_t n, float acc) {
        float v = w4a4_epilogue(acc, alpha);
        if (bias) v = v + bias[n];
        y[m * N + n] = v;
      });
}

void gemm_w4a8(const quant::Int8Tensor& a, const quant::Nvfp4Tensor& w, const float* bias, float* y) {
  check_tensor(a, "W4A8 A");
  check_tensor(w, "W4A8 W");
  check_shapes(a.rows, a.cols, w.rows, w.cols, "W4A8");
  const int64_t M = a.rows, N = w.rows, K = a.cols;
  const std::vector<int8_t> wh = unpack_half_units(w);
  const auto ap = detail::pack_activation_pairs(a.codes.data(), M, K), wp = detail::pack_weight_pairs(wh.data(), N, K);
  const std::vector<float> sw = detail::pack_weight_block_scales(decode_scales(w.scales).data(), N, K / 16);
  const float alpha = w4a8_alpha(w.global_decode);
  for_each_tile<float>(
      M, N, [&](int64_t m0, int64_t rows, int64_t t, float (*out)[detail::kLanes]) { detail::block_dot_tile(ap.data(), wp.data(), nullptr, sw.data(), K, m0, rows, t, out); },
      [&](int64_t m, int64_t n, float acc) {
        float v = w4a8_epilogue(acc, int8_row_scale(a, m), alpha);
        if (bias) v = v + bias[n];
        y[m * N + n] = v;
      });
}

}  // namespace sixbit::gemm
