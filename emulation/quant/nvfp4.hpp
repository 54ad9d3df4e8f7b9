// sixbit/emulation/quant/nvfp4.hpp: NVFP4 tensor quantization (E2M1 elements, UE4M3 scales per 16 elements
// along the last dimension, an FP32 per-tensor scale), with named recipes that reproduce a library bit for bit.
//
// The per-block arithmetic of each recipe lives in nvfp4_block.hpp as SIXBIT_HD functions, so the CUDA
// kernels (cuda/) run the very same code. docs/numerics.md states every recipe's formulas and its handling
// of zero blocks, scale underflow, -0.0, NaN and Inf.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "emulation/quant/nvfp4_recipe.hpp"

namespace sixbit::quant {

inline constexpr int kNvfp4Block = 16;  // elements per UE4M3 scale

std::string_view nvfp4_recipe_name(Nvfp4Recipe r);
Nvfp4Recipe nvfp4_recipe_from_name(std::string_view name);  // throws sixbit::Error listing the valid names

enum class ScaleLayout : uint8_t {
  kRowMajor,      // scales[r * (cols/16) + c]
  kBlocked128x4,  // the cuBLASLt / CUTLASS tiled layout (rows padded to 128, scale columns to 4, pad = 0)
};
std::string_view scale_layout_name(ScaleLayout l);
ScaleLayout scale_layout_from_name(std::string_view name);

// A quantized [rows, cols] fp32 matrix. cols % 16 == 0.
struct Nvfp4Tensor {
  int64_t rows = 0, cols = 0;
  Nvfp4Recipe recipe = Nvfp4Recipe::kTe;
  std::vector<uint8_t> packed;  // rows * cols / 2 bytes; element 2i in the low nibble of byte i
  std::vector<uint8_t> scales;  // rows * cols / 16 UE4M3 bytes, row-major (see scales_blocked_128x4)
  float amax = 0.0f;            // max |x| over the finite elements of the tensor
  // The recipe's per-tensor scales: encode multiplies values up into the E4M3 scale range, decode is the
  // factor dequantization applies (value = e2m1 * ue4m3 * global_decode). Exact formulas per recipe in
  // docs/numerics.md; e.g. TE: encode = 2688/amax, decode = 1/encode.
  float global_encode = 1.0f;
  float global_decode = 1.0f;
};

// Quantize a row-major [rows, cols] fp32 matrix; amax over the whole tensor (per-tensor global scale).
// Throws sixbit::Error when cols % 16 != 0.
Nvfp4Tensor nvfp4_quantize(const float* x, int64_t rows, int64_t cols, Nvfp4Recipe recipe);
// Same, but with a caller-supplied amax (e.g. a calibrated or previously measured one).
Nvfp4Tensor nvfp4_quantize_with_amax(const float* x, int64_t rows, int64_t cols, Nvfp4Recipe recipe, float amax);

// out[r*cols + c] = e2m1(code) * ue4m3(scale) * global_decode, each product an fp32 rounding in that order.
void nvfp4_dequantize(const Nvfp4Tensor& t, float* out);

// Row-major [rows, scale_cols] scales -> 128x4 blocked layout (padded size: round_up(rows,128)*round_up(scale_cols,4)).
std::vector<uint8_t> scales_to_blocked_128x4(const uint8_t* row_major, int64_t rows, int64_t scale_cols);
std::vector<uint8_t> scales_from_blocked_128x4(const uint8_t* blocked, int64_t rows, int64_t scale_cols);
// Byte offset of scale (r, c) in the blocked layout with scale_cols columns (before padding).
int64_t blocked_128x4_offset(int64_t r, int64_t c, int64_t scale_cols);

}  // namespace sixbit::quant
