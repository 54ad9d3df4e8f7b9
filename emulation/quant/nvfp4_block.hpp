// sixbit/emulation/quant/nvfp4_block.hpp: the per-tensor and per-block arithmetic of every NVFP4 recipe, as
// SIXBIT_HD functions on raw pointers. The CPU quantizer (nvfp4.cpp) and the CUDA kernels (cuda/) both call
// exactly these, so the two agree to the bit by construction; tests/ then check each recipe against its library.
//
// Notation: amax = max |x| over the tensor, bamax = max |x| over a 16-element block, S = global encode scale,
// s = block scale before its E4M3 cast, s8 = that scale after the cast read back as fp32, RN(.) = one fp32
// rounding. Every line below is one fp32 operation in the written order (the library builds use -ffp-contract=off
// on the host and --fmad=false on the device so no FMA fuses them). Sources, as read on 2026-11-24:
//   te       TransformerEngine transformer_engine/common/cast/nvfp4/core_nvfp4.cuh:
//            S = 2688/amax (1 if amax is 0 or the result is 0/non-finite), min(S, FLT_MAX); decode G = 1/S;
//            s = min(bamax * (S * RN(1/6)), FLT_MAX), s8 = e4m3 satfinite RNE;
//            multiplier m = min(1 / (s8 * G), FLT_MAX); code = cvt.rn.satfinite.e2m1(x * m).
//   cutlass  CUTLASS tools/util/include/cutlass/util/reference/host/gett.hpp (the global scale is the caller's;
//            sixbit supplies TE's S): s = bamax * (S * RN(1/6)), s8 = e4m3 satfinite; m = min(S * (1/s8), FLT_MAX).
//   modelopt ModelOpt modelopt/torch/quantization/qtensor/nvfp4_tensor.py (NVFP4QTensor):
//            G = amax / 2688 (weights_scaling_factor_2); s = bamax / (6 * G); s == 0 -> 1.0; clamp [2^-9, 448];
//            s8 = e4m3 RNE; q = x / (s8 * G); code = _cast_fp4(q): RNE on |q| with sign = (q < 0), so an exact
//            -0.0 (or a negative q that underflows to -0.0) gives code 0x0, not 0x8.
//   torchao  torchao torchao/prototype/mx_formats/nvfp4_tensor.py (0.18 nvfp4_quantize with per_tensor_scale):
//            G = amax / 2688 (per_tensor_amax_to_scale); s = bamax / 6; t = s / G; clamp [2^-6, 448];
//            s8 = e4m3 RNE; q = x * ((1/G) / s8); clamp [-6, 6]; code = RNE e2m1 with the sign kept (-0.0 -> 0x8).
// Where a library is undefined or degenerate sixbit chooses and says so (docs/numerics.md): an all-zero tensor
// under modelopt/torchao (G = 0 would give NaN scales) uses G = 1; NaN input is rejected by the tensor API.
#pragma once

#include <cfloat>

#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/quant/nvfp4_recipe.hpp"

namespace sixbit::quant {

struct Nvfp4GlobalScales {
  float encode;  // S: multiplies values up into the E4M3 block-scale range (informational for modelopt/torchao)
  float decode;  // G: dequantized value = e2m1 * s8 * G
};

SIXBIT_HD float nvfp4_fminf(float a, float b) { return a < b ? a : b; }  // no NaN reaches here
SIXBIT_HD float nvfp4_fmaxabs(float m, float x) {
#if defined(__CUDA_ARCH__)
  return fmaxf(m, fabsf(x));  // one FMNMX with an |.| operand; the same value as below (m is never NaN)
#else
  const float a = fmt::f32_from_bits(fmt::f32_bits(x) & 0x7FFFFFFFu);
  return a > m ? a : m;  // like fmaxf: a NaN element never becomes the max
#endif
}

// 6 * 448: the E2M1 max times the E4M3 max, exact in fp32.
inline constexpr float kNvfp4GlobalRange = 2688.0f;

SIXBIT_HD Nvfp4GlobalScales nvfp4_global_scales(Nvfp4Recipe recipe, float amax) {
  Nvfp4GlobalScales g{1.0f, 1.0f};
  if (recipe == Nvfp4Recipe::kTe || recipe == Nvfp4Recipe::kCutlass) {
    float s = kNvfp4GlobalRange / amax;
    s = nvfp4_fminf(s, FLT_MAX);
    if (amax == 0.0f || s == 0.0f || !fmt::f32_is_finite(s)) s = 1.0f;
    g.encode = s;
    g.decode = 1.0f / s;
  } else {  // modelopt, torchao: the decode scale is primary
    float d = amax / kNvfp4GlobalRange;
    if (d == 0.0f || !fmt::f32_is_finite(d)) d = 1.0f;  // sixbit's choice for an all-zero (or Inf) tensor
    g.decode = d;
    g.encode = kNvfp4GlobalRange / amax;
    if (!fmt::f32_is_finite(g.encode) || g.encode == 0.0f) g.encode = 1.0f;
  }
  return g;
}

SIXBIT_HD float nvfp4_clamp(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// A block's scale byte and the per-element factor every recipe derives from it. The block quantizer below and
// the CUDA kernels (cuda/quantize_kernels.cuh, where 4 lanes share one block) call these two helpers, so the
// per-block arithmetic exists once.
struct Nvfp4BlockScale {
  uint8_t code;  // the UE4M3 scale byte s8
  float factor;  // te/cutlass/torchao: multiplier m (x * m); modelopt: the divisor s8 * G (x / d)
};

// The block scale from the block amax (max |x| of its 16 values, NaN never the max) and the global scales.
SIXBIT_HD Nvfp4BlockScale nvfp4_block_scale(Nvfp4Recipe recipe, float bamax, Nvfp4GlobalScales g) {
  switch (recipe) {
    case Nvfp4Recipe::kTe:
    case Nvfp4Recipe::kCutlass: {
      const float rcp6 = 1.0f / 6.0f;  // RN(1/6), a compile-time constant in both libraries
      const float s = nvfp4_fminf(bamax * (g.encode * rcp6), FLT_MAX);
      const uint8_t sc = fmt::ue4m3_encode(s);
      const float s8 = fmt::ue4m3_decode(sc);
      if (recipe == Nvfp4Recipe::kTe) {
        return {sc, nvfp4_fminf(1.0f / (s8 * g.decode), FLT_MAX)};  // s8 == 0 (zero block, underflow): 1/0 = inf -> FLT_MAX
      }
      return {sc, nvfp4_fminf(g.encode * (1.0f / s8), FLT_MAX)};
    }
    case Nvfp4Recipe::kModelopt: {
      float s = bamax / (6.0f * g.decode);
      if (s == 0.0f) s = 1.0f;
      s = nvfp4_clamp(s, 1.0f / 512.0f, 448.0f);  // [2^-9, 448]: no underflow to 0, no overflow to NaN
      const uint8_t sc = fmt::ue4m3_encode(s);
      return {sc, fmt::ue4m3_decode(sc) * g.decode};
    }
    case Nvfp4Recipe::kTorchao:
    default: {
      const float s = bamax / 6.0f;
      const float t = nvfp4_clamp(s / g.decode, 1.0f / 64.0f, 448.0f);  // [E4M3 tiny = 2^-6, 448]
      const uint8_t sc = fmt::ue4m3_encode(t);
      // torchao >= 0.18 multiplies by a reciprocal "to match the MSLK triton kernel numerics":
      // reciprocal_scale = (1.0 / per_tensor_scale) / s8; data_scaled = x * reciprocal_scale (two fp32 roundings).
      return {sc, (1.0f / g.decode) / fmt::ue4m3_decode(sc)};
    }
  }
}

// The E2M1 code (4 bits) of one element given its block's factor from nvfp4_block_scale.
SIXBIT_HD uint8_t nvfp4_encode_element(Nvfp4Recipe recipe, float x, float factor) {
  switch (recipe) {
    case Nvfp4Recipe::kTe:
    case Nvfp4Recipe::kCutlass:
      return fmt::e2m1_encode(x * factor);
    case Nvfp4Recipe::kModelopt: {
      const float q = x / factor;
      return (q == 0.0f) ? uint8_t{0} : fmt::e2m1_encode(q);  // sign = (q < 0): -0.0 -> 0x0
    }
    case Nvfp4Recipe::kTorchao:
    default:
      return fmt::e2m1_encode(nvfp4_clamp(x * factor, -6.0f, 6.0f));
  }
}

// The codes of 4 consecutive elements of a block, packed (element i in bits 4i..4i+3: two bytes of the packed
// layout, low byte first). te and cutlass encode x * factor, which fmt::e2m1_encode4_scaled computes for four
// elements at once (same bits as nvfp4_encode_element, fewer integer-pipe instructions on the GPU).
SIXBIT_HD uint16_t nvfp4_encode4(Nvfp4Recipe recipe, float x0, float x1, float x2, float x3, float factor) {
  if (recipe == Nvfp4Recipe::kTe || recipe == Nvfp4Recipe::kCutlass) return fmt::e2m1_encode4_scaled(x0, x1, x2, x3, factor);
  const uint32_t lo = fmt::e2m1_pack(nvfp4_encode_element(recipe, x0, factor), nvfp4_encode_element(recipe, x1, factor));
  const uint32_t hi = fmt::e2m1_pack(nvfp4_encode_element(recipe, x2, factor), nvfp4_encode_element(recipe, x3, factor));
  return static_cast<uint16_t>(lo | hi << 8);
}

// Quantize one block of 16 values: writes 8 packed bytes (element 2i low nibble) and one UE4M3 scale byte.
SIXBIT_HD void nvfp4_quantize_block(Nvfp4Recipe recipe, const float* x, Nvfp4GlobalScales g, uint8_t* packed,
                                    uint8_t* scale_out) {
  float bamax = 0.0f;
  for (int i = 0; i < 16; ++i) bamax = nvfp4_fmaxabs(bamax, x[i]);
  const Nvfp4BlockScale bs = nvfp4_block_scale(recipe, bamax, g);
  for (int i = 0; i < 16; i += 4) {
    const uint16_t codes = nvfp4_encode4(recipe, x[i], x[i + 1], x[i + 2], x[i + 3], bs.factor);
    packed[i / 2] = static_cast<uint8_t>(codes & 0xFFu);
    packed[i / 2 + 1] = static_cast<uint8_t>(codes >> 8);
  }
  *scale_out = bs.code;
}

// Byte offset of scale (r, c) in the 128x4 blocked layout of cuBLASLt / CUTLASS (scale_cols before padding).
// TE cast/nvfp4/swizzle.cuh, CUTLASS detail/sm100_blockscaled_layout.hpp and torchao to_blocked agree.
SIXBIT_HD int64_t nvfp4_blocked_offset(int64_t r, int64_t c, int64_t scale_cols) {
  const int64_t padded_cols = (scale_cols + 3) / 4 * 4;
  return ((r / 128) * (padded_cols / 4) + c / 4) * 512 + (r % 32) * 16 + ((r % 128) / 32) * 4 + (c % 4);
}

}  // namespace sixbit::quant
