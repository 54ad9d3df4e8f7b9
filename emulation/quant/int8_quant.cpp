// Symmetric INT8 quantization (int8_quant.hpp). Per-row scales are independent, so the bits do not depend on
// the thread count; the per-tensor amax is a max (exact, order-independent).
#include "emulation/quant/int8_quant.hpp"

#include <omp.h>

#include <cmath>

#include "common/check.hpp"
#include "emulation/formats/int8.hpp"

namespace sixbit::quant {

namespace {
using fmt::int8_scale_from_amax;
using fmt::Int8Scale;

float row_amax(const float* x, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::fmax(m, std::fabs(x[i]));
  return m;
}
}  // namespace

Int8Tensor int8_quantize(const float* x, int64_t rows, int64_t cols, Int8Granularity g) {
  SIXBIT_CHECK(rows >= 0 && cols >= 0, "negative shape [", rows, ", ", cols, "]");
  const int64_t n = rows * cols;
  int64_t nan_count = 0, inf_count = 0;
#pragma omp parallel for reduction(+ : nan_count, inf_count) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    nan_count += std::isnan(x[i]);
    inf_count += std::isinf(x[i]);
  }
  SIXBIT_CHECK(nan_count == 0 && inf_count == 0, "INT8 quantization needs finite input; found ", nan_count, " NaN and ", inf_count, " Inf");
  Int8Tensor t;
  t.rows = rows;
  t.cols = cols;
  t.granularity = g;
  t.codes.resize(static_cast<size_t>(n));
  if (g == Int8Granularity::kPerTensor) {
    float amax = 0.0f;
#pragma omp parallel for reduction(max : amax) schedule(static)
    for (int64_t r = 0; r < rows; ++r) amax = std::fmax(amax, row_amax(x + r * cols, cols));
    const Int8Scale s = int8_scale_from_amax(amax);
    t.scales = {s.scale};
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) t.codes[static_cast<size_t>(i)] = fmt::int8_encode(x[i], s.inv_scale);
  } else {
    t.scales.resize(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const Int8Scale s = int8_scale_from_amax(row_amax(x + r * cols, cols));
      t.scales[static_cast<size_t>(r)] = s.scale;
      for (int64_t c = 0; c < cols; ++c) t.codes[static_cast<size_t>(r * cols + c)] = fmt::int8_encode(x[r * cols + c], s.inv_scale);
    }
  }
  return t;
}

void int8_dequantize(const Int8Tensor& t, float* out) {
  const bool per_row = t.granularity == Int8Granularity::kPerRow;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c = 0; c < t.cols; ++c) {
      const size_t i = static_cast<size_t>(r * t.cols + c);
      out[i] = fmt::int8_decode(t.codes[i], t.scales[per_row ? static_cast<size_t>(r) : 0]);
    }
}

}  // namespace sixbit::quant
