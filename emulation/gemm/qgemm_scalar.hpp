// sixbit/emulation/gemm/qgemm_scalar.hpp: the exact arithmetic steps of the quantized GEMMs (qgemm.hpp), as
// SIXBIT_HD functions shared by the CPU emulator and the CUDA exact kernels. Each fp32 step is one rounding
// in the written order; callers must not reorder the block loop (increasing k) or fuse multiply-adds.
#pragma once

#include <cstdint>

#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"

namespace sixbit::gemm {

// Integer dot product of one 16-element NVFP4 block pair in E2M1 half units (|result| <= 16*12*12 = 2304).
SIXBIT_HD int32_t w4a4_block_dot(const uint8_t* a_packed8, const uint8_t* w_packed8) {
  int32_t p = 0;
  for (int i = 0; i < 16; ++i) {
    const uint8_t ca = fmt::e2m1_unpack(a_packed8[i >> 1], i & 1), cw = fmt::e2m1_unpack(w_packed8[i >> 1], i & 1);
    p += fmt::e2m1_to_half_units(ca) * fmt::e2m1_to_half_units(cw);
  }
  return p;
}

// Integer dot of 16 INT8 activations with one NVFP4 weight block in half units (|result| <= 16*127*12 = 24384).
SIXBIT_HD int32_t w4a8_block_dot(const int8_t* a16, const uint8_t* w_packed8) {
  int32_t p = 0;
  for (int i = 0; i < 16; ++i) p += static_cast<int32_t>(a16[i]) * fmt::e2m1_to_half_units(fmt::e2m1_unpack(w_packed8[i >> 1], i & 1));
  return p;
}

// t_j for W4A4: (float)p * (sa * sw). The scale product has <= 8 significant bits and p <= 12, so both the
// product and t_j are exact in fp32; only the accumulation rounds.
SIXBIT_HD float w4a4_block_term(int32_t p, uint8_t scale_a, uint8_t scale_w) {
  return static_cast<float>(p) * (fmt::ue4m3_decode(scale_a) * fmt::ue4m3_decode(scale_w));
}

// t_j for W4A8: (float)p * sw, exact (<= 15 + 4 significant bits).
SIXBIT_HD float w4a8_block_term(int32_t p, uint8_t scale_w) { return static_cast<float>(p) * fmt::ue4m3_decode(scale_w); }

// The epilogues, each operation one fp32 rounding. A bias, when present, is then added as one more rounding
// (y + bias[n]); without a bias nothing is added (adding +0.0 would turn a -0.0 result into +0.0).
SIXBIT_HD float w8a8_epilogue(int32_t acc, float scale_a, float scale_w) { return (static_cast<float>(acc) * scale_a) * scale_w; }
SIXBIT_HD float w4a4_epilogue(float acc, float alpha) { return acc * alpha; }
SIXBIT_HD float w4a8_epilogue(float acc, float scale_a, float alpha) { return (acc * scale_a) * alpha; }

// alpha for W4A4 and W4A8 from the tensors' global decode scales (0.25 and 0.5 undo the half units).
SIXBIT_HD float w4a4_alpha(float global_decode_a, float global_decode_w) { return 0.25f * (global_decode_a * global_decode_w); }
SIXBIT_HD float w4a8_alpha(float global_decode_w) { return 0.5f * global_decode_w; }

}  // namespace sixbit::gemm
