// sixbit/emulation/formats/ue8m0.hpp: UE8M0, the power-of-two block scale of MXFP4/MXFP8 (OCP MX v1.0).
//
// 8 exponent bits, no sign, no mantissa: code c means 2^(c-127); 0xFF is NaN. Encoding follows cuda_fp8.h
// __nv_cvt_float_to_e8m0(x, sat, rounding) (PTX cvt.{rz,rp}[.satfinite].ue8m0x2.f32), which only knows
// round-toward-zero and round-toward-+inf and reads the magnitude (the sign is ignored):
//   RZ: the fp32 exponent field of |x| (values below 2^-127, zeros and fp32 subnormals give 0).
//   RP: via bf16 rounded up: exponent + 1 when |x| is not a power of two and lies above 2^-127.
//   satfinite turns an overflow to 0xFF (from finite input or +-Inf) into 0xFE; NaN -> 0xFF either way.
#pragma once

#include "emulation/formats/hd.hpp"

namespace sixbit::fmt {

enum class E8M0Rounding : uint8_t { kTowardZero, kTowardPosInf };

SIXBIT_HD float ue8m0_decode(uint8_t code) {
  if (code == 0xFFu) return f32_from_bits(0x7FC00000u);
  if (code == 0) return f32_from_bits(0x00400000u);  // 2^-127 is an fp32 subnormal
  return f32_from_bits(static_cast<uint32_t>(code) << 23);
}

SIXBIT_HD uint8_t ue8m0_encode(float x, E8M0Rounding rounding, bool satfinite) {
  const uint32_t a = f32_bits(x) & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0xFFu;  // NaN
  uint32_t bf16;                     // |x| as bf16, rounded the same way cuda_fp8.h does
  if (rounding == E8M0Rounding::kTowardZero) {
    bf16 = a >> 16;
  } else {
    bf16 = (a < 0x7F800000u && (a & 0xFFFFu)) ? (a >> 16) + 1u : (a >> 16);
  }
  uint32_t code = (bf16 >> 7) & 0xFFu;
  if (rounding == E8M0Rounding::kTowardPosInf && (bf16 & 0x7Fu) && bf16 > 0x40u && bf16 < 0x7F80u) code += 1u;
  if (satfinite && code == 0xFFu && bf16 <= 0x7F80u) code = 0xFEu;
  return static_cast<uint8_t>(code);
}

}  // namespace sixbit::fmt
