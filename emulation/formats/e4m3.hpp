// sixbit/emulation/formats/e4m3.hpp: FP8 E4M3 ("fn" variant) and its unsigned block-scale use, UE4M3.
//
// 1 sign, 4 exponent (bias 7), 3 mantissa bits; max 448 (0x7E), min normal 2^-6, min subnormal 2^-9;
// 0x7F / 0xFF are NaN; no Inf. Encoding follows cuda_fp8.h __nv_cvt_float_to_fp8(x, sat, __NV_E4M3), which
// is also what PTX cvt.rn.satfinite.e4m3x2.f32 does:
//   RNE; |x| <= 2^-10 gives +-0; above 448 + half an ulp (464) and +-Inf: satfinite -> +-448 (0x7E/0xFE),
//   non-saturating -> NaN (0x7F, or 0xFF for negative input); NaN of either sign -> 0x7F (cuda_fp8.h first
//   canonicalises every NaN to 0x7FFFFFFF).
// UE4M3 (NVFP4 block scales) is the same byte read as a non-negative value; the recipes only ever encode
// non-negative scales, so ue4m3_encode is e4m3_encode(satfinite) with the sign bit cleared.
#pragma once

#include "emulation/formats/hd.hpp"

namespace sixbit::fmt {

inline constexpr float kE4M3Max = 448.0f;
enum class Saturation : uint8_t { kSatFinite, kNoSat };

SIXBIT_HD float e4m3_decode(uint8_t code) {
  const uint32_t e = (code >> 3) & 0xFu, m = code & 7u;
  const uint32_t sign = static_cast<uint32_t>(code & 0x80u) << 24;
  if (e == 0xF && m == 7) return f32_from_bits(sign | 0x7FC00000u);  // NaN
  uint32_t bits;
  if (e == 0) {
    if (m == 0) return f32_from_bits(sign);
    // Subnormal m * 2^-9: normalise into fp32 (exact).
    const float v = static_cast<float>(m) * (1.0f / 512.0f);
    bits = f32_bits(v);
  } else {
    bits = ((e - 7u + 127u) << 23) | (m << 20);
  }
  return f32_from_bits(sign | bits);
}

// The software encoder: the definition, used on the host and on GPUs without an FP8 convert.
SIXBIT_HD uint8_t e4m3_encode_soft(float x, Saturation sat = Saturation::kSatFinite) {
  const uint32_t u = f32_bits(x);
  const uint8_t sign = static_cast<uint8_t>((u >> 31) << 7);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7Fu;                                       // NaN, sign dropped
  if (a <= 0x3A800000u) return sign;                                       // |x| <= 2^-10 -> +-0
  if (a > 0x43E80000u)                                                     // |x| > 464 (or Inf)
    return static_cast<uint8_t>(sign | (sat == Saturation::kSatFinite ? 0x7Eu : 0x7Fu));
  const uint32_t exp = a >> 23;  // biased fp32 exponent
  uint32_t code;
  if (exp >= 121u) {  // >= 2^-6: normal in E4M3. Rounding can carry into the exponent; that is correct.
    code = shift_right_rne(a, 20) - ((127u - 7u) << 3);
  } else {            // E4M3 subnormal: value in units of 2^-9 is (1.m) * 2^(exp-150+9)
    const uint32_t mant = (a & 0x7FFFFFu) | 0x800000u;
    code = shift_right_rne(mant, 141u - exp);  // 141 - exp in [21, 31] here since |x| > 2^-10
  }
  // 464 itself rounds to 448 (tie, even); nothing above 0x7E survives the threshold test.
  return static_cast<uint8_t>(sign | code);
}

// On GPUs with an FP8 convert (sm_89+) the satfinite encode is that one instruction, PTX cvt.rn.satfinite.e4m3x2.f32
// (`a` goes to the high byte: pass 0 there), instead of the branchy software sequence: the NVFP4 quantizers encode one
// block scale per 16 elements, and the fp32-input kernel went from 760 to 720 SASS instructions (bf16: 1288 to 1184;
// `bash scripts/device.sh sass`), bf16-input quantize 0.78 -> 0.81x copy on the H100. Same bits on every input:
// tests/gpu/gpu_codec_exhaustive.cu sweeps all 2^32 fp32 values through this, through e4m3_encode_soft compiled for the
// device, and through cuda_fp8.h, and requires all three to agree.
SIXBIT_HD uint8_t e4m3_encode(float x, Saturation sat = Saturation::kSatFinite) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  if (sat == Saturation::kSatFinite) {
    unsigned short pair;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(0.0f), "f"(x));
    return static_cast<uint8_t>(pair & 0xFFu);
  }
#endif
  return e4m3_encode_soft(x, sat);
}

SIXBIT_HD uint8_t ue4m3_encode(float nonneg) { return static_cast<uint8_t>(e4m3_encode(nonneg, Saturation::kSatFinite) & 0x7Fu); }
SIXBIT_HD float ue4m3_decode(uint8_t code) { return e4m3_decode(static_cast<uint8_t>(code & 0x7Fu)); }

}  // namespace sixbit::fmt
