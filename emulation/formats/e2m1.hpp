// sixbit/emulation/formats/e2m1.hpp: FP4 E2M1, the NVFP4 and MXFP4 element format.
//
// 1 sign, 2 exponent (bias 1), 1 mantissa bit. Codes 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the
// sign. No Inf, no NaN. Encoding is the PTX `cvt.rn.satfinite.e2m1x2.f32` rule that cuda_fp4.h's
// __nv_cvt_float_to_fp4(x, __NV_E2M1, cudaRoundNearest) reproduces on the host:
//   round to nearest, ties to even; |x| > 6 and +-Inf saturate to +-6; |x| <= 0.25 gives +-0 (the sign is
//   kept, so -0.0 and small negatives give code 0x8); NaN of either sign gives +6 (code 0x7).
// tests/exhaustive/exhaustive_formats_test.cpp checks all 2^32 fp32 inputs against cuda_fp4.h.
#pragma once

#include "emulation/formats/hd.hpp"

namespace sixbit::fmt {

inline constexpr float kE2M1Max = 6.0f;

// Decoded value of each code, sign included (code 8 is -0.0).
SIXBIT_HD float e2m1_decode(uint8_t code) {
  // Magnitudes: exponent field e = code>>1 & 3, mantissa m = code & 1: e == 0 -> m*0.5, else 2^(e-1)*(1+m/2).
  const uint32_t mag = code & 7u;
  const uint32_t e = mag >> 1, m = mag & 1u;
  const float v = (e == 0) ? 0.5f * static_cast<float>(m) : static_cast<float>(1u << (e - 1)) * (1.0f + 0.5f * m);
  return (code & 8u) ? -v : v;
}

// Twice the decoded value, as an integer in [-12, 12]: E2M1 values are multiples of 0.5, so products of two
// codes are exact small integers (x4). The quantized GEMMs accumulate these exactly.
SIXBIT_HD int32_t e2m1_to_half_units(uint8_t code) {
  const int32_t mag = static_cast<int32_t>(code & 7u);
  // 0,1,2,3,4,5,6,7 -> 0,1,2,3,4,6,8,12
  const int32_t v = (mag < 4) ? mag : (mag == 4 ? 4 : (mag == 5 ? 6 : (mag == 6 ? 8 : 12)));
  return (code & 8u) ? -v : v;
}

// fp32 -> E2M1 code, RNE with satfinite (see the header comment for every special case).
SIXBIT_HD uint8_t e2m1_encode(float x) {
  const uint32_t u = f32_bits(x);
  const uint8_t sign = static_cast<uint8_t>((u >> 31) << 3);
  const float a = f32_from_bits(u & 0x7FFFFFFFu);
  if (f32_is_nan(a)) return 0x7;  // cuda_fp4.h drops the NaN's sign
  uint8_t mag;
  // Thresholds are the midpoints between adjacent codes; each tie goes to the even code.
  if (a <= 0.25f) mag = 0;   // tie 0.25 -> 0 (even)
  else if (a < 0.75f) mag = 1;    // tie 0.75 -> 1.0 (code 2)
  else if (a <= 1.25f) mag = 2;   // tie 1.25 -> 1.0
  else if (a < 1.75f) mag = 3;    // tie 1.75 -> 2.0
  else if (a <= 2.5f) mag = 4;    // tie 2.5  -> 2.0
  else if (a < 3.5f) mag = 5;     // tie 3.5  -> 4.0
  else if (a <= 5.0f) mag = 6;    // tie 5.0  -> 4.0
  else mag = 7;                   // (5, inf] saturates to 6
  return static_cast<uint8_t>(sign | mag);
}

// Two codes in one byte: element 2i in the low nibble, 2i+1 in the high nibble (the layout of every library
// and of the tensor cores; PTX cvt.rn.satfinite.e2m1x2.f32 d, a, b puts `a` high, so pass the odd element first).
SIXBIT_HD uint8_t e2m1_pack(uint8_t even, uint8_t odd) { return static_cast<uint8_t>((even & 0xFu) | ((odd & 0xFu) << 4)); }
SIXBIT_HD uint8_t e2m1_unpack(uint8_t byte, int index) { return static_cast<uint8_t>((byte >> (4 * (index & 1))) & 0xFu); }

}  // namespace sixbit::fmt
