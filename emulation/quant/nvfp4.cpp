// NVFP4 tensor quantizer: amax, then nvfp4_quantize_block per 16 elements (nvfp4_block.hpp), OpenMP over rows.
// Each block's bits depend only on its inputs and the tensor amax, so any thread count gives the same bits.
#include "emulation/quant/nvfp4.hpp"

#include <omp.h>

#include <cmath>
#include <string>

#include "common/check.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace sixbit::quant {

namespace {
struct RecipeName {
  Nvfp4Recipe recipe;
  const char* name;
};
constexpr RecipeName kRecipeNames[] = {
    {Nvfp4Recipe::kTe, "te"}, {Nvfp4Recipe::kModelopt, "modelopt"}, {Nvfp4Recipe::kTorchao, "torchao"}, {Nvfp4Recipe::kCutlass, "cutlass"}};

// max |x| over the tensor; a NaN anywhere is reported (the recipes' NaN rules differ; sixbit refuses NaN input).
float tensor_amax_rejecting_nan(const float* x, int64_t n) {
  float amax = 0.0f;
  int64_t nan_count = 0;
#pragma omp parallel for reduction(max : amax) reduction(+ : nan_count) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    if (std::isnan(a)) ++nan_count;
    else if (a > amax) amax = a;  // max is exact and order-independent
  }
  SIXBIT_CHECK(nan_count == 0, "input has ", nan_count, " NaN value(s) out of ", n, "; NVFP4 quantization needs finite or Inf input");
  return amax;
}
}  // namespace

std::string_view nvfp4_recipe_name(Nvfp4Recipe r) {
  for (const auto& rn : kRecipeNames)
    if (rn.recipe == r) return rn.name;
  return "unknown";
}

Nvfp4Recipe nvfp4_recipe_from_name(std::string_view name) {
  for (const auto& rn : kRecipeNames)
    if (name == rn.name) return rn.recipe;
  SIXBIT_CHECK(false, "unknown NVFP4 recipe '", name, "' (expected one of: te, modelopt, torchao, cutlass)");
  return Nvfp4Recipe::kTe;
}

std::string_view scale_layout_name(ScaleLayout l) { return l == ScaleLayout::kRowMajor ? "row" : "128x4"; }

ScaleLayout scale_layout_from_name(std::string_view name) {
  if (name == "row") return ScaleLayout::kRowMajor;
  if (name == "128x4") return ScaleLayout::kBlocked128x4;
  SIXBIT_CHECK(false, "unknown scale layout '", name, "' (expected row or 128x4)");
  return ScaleLayout::kRowMajor;
}

Nvfp4Tensor nvfp4_quantize(const float* x, int64_t rows, int64_t cols, Nvfp4Recipe recipe) {
  SIXBIT_CHECK(rows >= 0 && cols >= 0, "negative shape [", rows, ", ", cols, "]");
  return nvfp4_quantize_with_amax(x, rows, cols, recipe, tensor_amax_rejecting_nan(x, rows * cols));
}

Nvfp4Tensor nvfp4_quantize_with_amax(const float* x, int64_t rows, int64_t cols, Nvfp4Recipe recipe, float amax) {
  SIXBIT_CHECK(rows >= 0 && cols >= 0, "negative shape [", rows, ", ", cols, "]");
  SIXBIT_CHECK(cols % kNvfp4Block == 0, "last dimension ", cols, " is not a multiple of 16 (NVFP4 block size); pad it first");
  SIXBIT_CHECK(!std::isnan(amax) && amax >= 0.0f, "amax must be a non-negative number, got ", amax);
  Nvfp4Tensor t;
  t.rows = rows;
  t.cols = cols;
  t.recipe = recipe;
  t.amax = amax;
  const Nvfp4GlobalScales g = nvfp4_global_scales(recipe, amax);
  t.global_encode = g.encode;
  t.global_decode = g.decode;
  const int64_t blocks_per_row = cols / kNvfp4Block;
  t.packed.resize(static_cast<size_t>(rows * cols / 2));
  t.scales.resize(static_cast<size_t>(rows * blocks_per_row));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      const int64_t blk = r * blocks_per_row + b;
      nvfp4_quantize_block(recipe, x + blk * kNvfp4Block, g, t.packed.data() + blk * (kNvfp4Block / 2), t.scales.data() + blk);
    }
  }
  return t;
}

void nvfp4_dequantize(const Nvfp4Tensor& t, float* out) {
  const int64_t blocks_per_row = t.cols / kNvfp4Block;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int64_t c = 0; c < t.cols; ++c) {
      const int64_t i = r * t.cols + c;
      const uint8_t code = fmt::e2m1_unpack(t.packed[static_cast<size_t>(i / 2)], static_cast<int>(i & 1));
      const float s8 = fmt::ue4m3_decode(t.scales[static_cast<size_t>(r * blocks_per_row + c / kNvfp4Block)]);
      out[i] = (fmt::e2m1_decode(code) * s8) * t.global_decode;
    }
  }
}

int64_t blocked_128x4_offset(int64_t r, int64_t c, int64_t scale_cols) { return nvfp4_blocked_offset(r, c, scale_cols); }

std::vector<uint8_t> scales_to_blocked_128x4(const uint8_t* row_major, int64_t rows, int64_t scale_cols) {
  const int64_t padded = (rows + 127) / 128 * 128 * ((scale_cols + 3) / 4 * 4);
  std::vector<uint8_t> out(static_cast<size_t>(padded), 0);  // padding is 0, as cuBLASLt and CUTLASS expect
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < scale_cols; ++c) out[static_cast<size_t>(nvfp4_blocked_offset(r, c, scale_cols))] = row_major[r * scale_cols + c];
  return out;
}

std::vector<uint8_t> scales_from_blocked_128x4(const uint8_t* blocked, int64_t rows, int64_t scale_cols) {
  std::vector<uint8_t> out(static_cast<size_t>(rows * scale_cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < scale_cols; ++c) out[static_cast<size_t>(r * scale_cols + c)] = blocked[nvfp4_blocked_offset(r, c, scale_cols)];
  return out;
}

}  // namespace sixbit::quant
