// sixbit/emulation/quant/int8_quant.hpp: symmetric INT8 quantization, per-tensor, per-row, per-channel.
//
// scale = amax / 127 (the dequant factor), codes = clamp(RNE(x * (127 / amax)), +-127) computed as
// fmt::int8_encode(x, inv_scale) with inv_scale = 127.0f / amax (one fp32 division); amax == 0 (or below
// 2^-24, as ModelOpt) gives scale 0, inv_scale 0 and all-zero codes. NaN in the input is rejected.
// docs/numerics.md has the exact rules.
#pragma once

#include <cstdint>
#include <vector>

namespace sixbit::quant {

enum class Int8Granularity : uint8_t {
  kPerTensor,
  kPerRow,  // one scale per row of a [rows, cols] matrix: activation tokens, or weight output channels
};

struct Int8Tensor {
  int64_t rows = 0, cols = 0;
  Int8Granularity granularity = Int8Granularity::kPerRow;
  std::vector<int8_t> codes;   // rows * cols, row-major
  std::vector<float> scales;   // dequant factors: 1 (per-tensor) or rows (per-row); value = code * scale
};

Int8Tensor int8_quantize(const float* x, int64_t rows, int64_t cols, Int8Granularity g);
void int8_dequantize(const Int8Tensor& t, float* out);

}  // namespace sixbit::quant
