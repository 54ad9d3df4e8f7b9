// sixbit/cuda/dit/row_program.hpp: the plain-data description of one fused row kernel (kFast) and the RoPE tables,
// shared by the host code that records ops and the kernels that run them (cuda/dit/row_kernels.cuh).
//
// A row program reads one row of a source (fp32, bf16, or GEMM accumulators with their epilogue), applies up to
// kMaxStages row/element-wise stages in registers, and writes one output form. This is how LayerNorm+modulate,
// RMSNorm+RoPE, the W8A8/W4A8 epilogues, GELU, the gated residual add and activation quantization run as one pass.
#pragma once

#include <cstdint>

namespace sixbit::cuda::dit {

enum class RowSrc : uint8_t {
  kF32,     // src[r, c]
  kBF16,    // src[r, c]
  kI32Acc,  // ((float)acc[r, c] * row_scale[r]) * col_scale[c] (+ bias[c]): qgemm.hpp's W8A8 epilogue order
  kF32Acc,  // (acc[r, c] * row_scale[r]) * alpha (+ bias[c]); without row_scale: acc * alpha (+ bias)
};

enum class RowStageKind : uint8_t { kLayerNorm, kModulate, kRmsNorm, kRope, kGelu, kSilu };

struct RowStage {
  RowStageKind kind = RowStageKind::kGelu;
  float eps = 0.0f;
  const float* w = nullptr;      // LayerNorm / RMSNorm weight (LayerNorm: null = no affine)
  const float* b = nullptr;      // LayerNorm bias (null = none)
  const float* shift = nullptr;  // kModulate: x * (1 + scale[c]) + shift[c]
  const float* scale = nullptr;
};

// RoPE angle tables, rows = grid_f + grid_h + grid_w positions (frame positions first, then row, then column), each
// row `pairs` (= head_dim / 2) cos and sin values computed on the host with reference_ops.cpp's formulas; pair j
// rotates with axis 0 for j < end0, axis 1 for j < end1, else axis 2. kVerify: double tables; kFast: float.
struct RopeTable {
  const void* cos = nullptr;
  const void* sin = nullptr;
  int pairs = 0, end0 = 0, end1 = 0;
  int grid_f = 0, grid_h = 0, grid_w = 0;
};

enum class RowOut : uint8_t {
  kF32,         // out[r, c] fp32
  kBF16,        // out[r, c] bf16; amax_bits (optional): atomicMax of |bf16 value| bits (tensor amax for NVFP4)
  kInt8,        // int8 codes + out_row_scale[r] (emulation/formats/int8.hpp per-row rule)
  kInt8AsBF16,  // the same int8 codes stored as bf16 values (exact: |code| <= 127), + out_row_scale[r]
  kAddF32,      // out[r, c] = res[r, c] + v * gate[c] (gate null: + v), fp32; res may be out (in place)
  kAddBF16,     // the same into a bf16 tensor
};

inline constexpr int kMaxStages = 4;

struct RowProgram {
  int64_t rows = 0, cols = 0;
  RowSrc src = RowSrc::kF32;
  const void* src_ptr = nullptr;
  const float* row_scale = nullptr;
  const float* col_scale = nullptr;
  const float* bias = nullptr;
  float alpha = 1.0f;
  int n_stages = 0;
  RowStage stages[kMaxStages];
  RopeTable rope;  // used by a kRope stage
  int heads = 1;   // kRope
  RowOut out = RowOut::kBF16;
  void* out_ptr = nullptr;
  const void* res_ptr = nullptr;  // kAddF32 / kAddBF16: the residual read (== out_ptr when written in place)
  float* out_row_scale = nullptr;
  const float* gate = nullptr;
  unsigned int* amax_bits = nullptr;
};

}  // namespace sixbit::cuda::dit
