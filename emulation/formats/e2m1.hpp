// sixbit/emulation/formats/e2m1.hpp: FP4 E2M1, the NVFP4 and MXFP4 element format.
//
// 1 sign, 2 exponent (bias 1), 1 mantissa bit. Codes 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the
// sign. No Inf, no NaN. Encoding is the PTX `cvt.rn.satfinite.e2m1x2.f32` rule that cuda_fp4.h's
// __nv_cvt_float_to_fp4(x, __NV_E2M1, cudaRoundNearest) reproduces on the host:
//   round to nearest, ties to even; |x| > 6 and +-Inf saturate to +-6; |x| <= 0.25 gives +-0 (the sign is
//   kept, so -0.0 and small negatives give code 0x8); NaN of either sign gives +6 (code 0x7).
// tests/exhaustive/exhaustive_formats_test.cpp checks all 2^32 fp32 inputs against cuda_fp4.h.
#pragma once

#include <cmath>

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

// fp32 -> E2M1 code, RNE with satfinite (see the header comment for every special case), without a compare
// chain: the quantize kernels spend most of their integer-pipe issue slots here (docs/perf-h100.md), so the
// rounding is done by the FPU's own round-to-nearest-even addition.
//   1. a = min(|x|, 6): everything above 5 saturates to 6 anyway, Inf gives 6, and a NaN gives 6 (a < 6 is
//      false), i.e. magnitude code 7, cuda_fp4.h's NaN rule. After the clamp a < 8, so its binade index
//      e = max(floor(log2 a), 0) is 0, 1 or 2 (a < 1 shares e = 0: codes 0 and 1 are E2M1's subnormals).
//   2. E2M1's spacing in that binade is 2^(e-1) (0.5 below 2, 1 in [2, 4), 2 in [4, 6]). The magic
//      M = 2^(e+22) has ulp 2^(e-1), so a + M rounds a to that spacing, ties to even, in one fp32 addition, and
//      k = bits(a + M) - bits(M) counts spacings: k = RNE(a / 2^(e-1)), in 0..4.
//   3. The code is k + 2e (e = 0: k itself; e = 1: 2 + RNE(a); e = 2: 4 + RNE(a/2)). Rounding up across a binade
//      edge lands on the next binade's first code (a = 1.9: k = 4, code 4 = 2.0; a = 3.9: code 6 = 4.0), and a
//      tie at 5 goes to k = 2, code 6 = 4.0, so no fix-up is needed; a in (5, 6] gives k = 3, code 7.
//   4. The sign bit is kept (-0.0 and tiny negatives give 0x8), except for NaN (cuda_fp4.h drops it).
// Checked against cuda_fp4.h on all 2^32 inputs, on the host (tests/exhaustive) and on the GPU (tests/gpu).
// Steps 1 and 4 are the two helpers below, shared with e2m1_encode4_scaled.
SIXBIT_HD float e2m1_clamped_magnitude(float x) {  // step 1: min(|x|, 6), NaN -> 6
#if defined(__CUDA_ARCH__)
  return fminf(fabsf(x), 6.0f);  // one FMNMX with an |.| operand; fminf(NaN, 6) = 6, like the line below
#else
  const float abs_x = f32_from_bits(f32_bits(x) & 0x7FFFFFFFu);
  return abs_x < 6.0f ? abs_x : 6.0f;
#endif
}
// Step 4: 8 when the sign bit is set and x is not NaN, in one signed compare: as int32, negative numbers from -0.0
// (INT32_MIN) to -Inf (0xFF800000) lie at or below -Inf's pattern, negative NaNs above it, and everything positive is >= 0.
SIXBIT_HD uint32_t e2m1_sign_code(float x) { return static_cast<int32_t>(f32_bits(x)) <= static_cast<int32_t>(0xFF800000u) ? 8u : 0u; }

SIXBIT_HD uint8_t e2m1_encode(float x) {
  const float a = e2m1_clamped_magnitude(x);
  uint32_t exp_field = f32_bits(a) >> 23;
  exp_field = exp_field < 127u ? 127u : exp_field;  // 127, 128 or 129: e = exp_field - 127
  const uint32_t magic_bits = (exp_field + 22u) << 23;
  const uint32_t k = f32_bits(a + f32_from_bits(magic_bits)) - magic_bits;
  const uint32_t mag = k + 2u * (exp_field - 127u);
  return static_cast<uint8_t>(e2m1_sign_code(x) | mag);
}

// The four codes of x0 * f ... x3 * f, packed as four E2M1 nibbles (element i in bits 4i..4i+3): the quantize
// kernels' form of e2m1_pack(e2m1_encode(x0 * f), e2m1_encode(x1 * f)) | e2m1_pack(...x2, x3) << 8, equal to it for
// every input (all 2^32 patterns in each position, on the host in tests/exhaustive and on the GPU in tests/gpu).
// Why a second form: e2m1_encode costs ~7 integer-pipe instructions per element (binade, magic, code, sign), and
// the bf16-input NVFP4 quantizer is bound by that pipe (Nsight Compute: ALU 81%, docs/perf-h100.md); here the
// rounding runs on the FMA pipe, which has twice the lanes:
//   a = min(|y|, 6) (as e2m1_encode; NaN -> 6). E2M1's spacing is 0.5 below 2, 1 in [2, 4) and 2 in [4, 6], so
//   the code is k0 = RNE(2a) (codes 0..4 are a in halves), k1 + 2 = RNE(a) + 2, or k2 + 4 = RNE(a / 2) + 4 in the
//   three ranges, and it is the smallest of the three everywhere: below 2, RNE(a) + 2 >= RNE(2a) since
//   RNE(2a) <= 2 RNE(a) + 1 and RNE(a) + 2 >= 2 RNE(a) + 1 while RNE(a) <= 1 (RNE(a) = 2 needs a >= 1.5, where
//   RNE(2a) <= 4); in [2, 4), RNE(2a) >= 2 RNE(a) - 1 >= RNE(a) + 2 once RNE(a) >= 3 (RNE(a) = 2: RNE(2a) >= 4),
//   and RNE(a / 2) + 2 >= RNE(a); in [4, 6], both others are >= 6 and >= 7 where k2 + 4 is 6 and 7. The exhaustive
//   sweeps check this argument. Each candidate is one fp32 operation whose result lies in [2^23, 2^24), where the
//   ulp is 1, so the hardware's own round-to-nearest-even makes the integer: fma(a, 2, 2^23) = 2^23 + RNE(2a)
//   (the parity of 2^23 + n is that of n, so the tie goes to the even code), a + (2^23 + 2), fma(a, 0.5, 2^23 + 4).
//   The minimum's bit pattern is 0x4B000000 + code; b0 + 16 b1 + 256 b2 + 4096 b3 (mod 2^32) has the four codes
//   in its low 16 bits, since the 0x4B000000 parts only ever add multiples of 2^24.
//   The sign is y's sign bit except for NaN (e2m1_encode drops it). On the GPU every NaN that arithmetic produces is
//   the canonical positive 0x7FFFFFFF (PTX ISA, floating-point instructions), and y = x * f is such a result, so
//   the sign bits of the y_i are used as they are: two byte permutes with sign replication and two masks. The host
//   keeps the NaN-aware compare (x86 keeps a NaN operand's sign).
SIXBIT_HD uint32_t e2m1_code_plus_2p23(float y) {  // bits: 0x4B000000 + the magnitude code of y (0..7)
  const float a = e2m1_clamped_magnitude(y);
#if defined(__CUDA_ARCH__)
  const float c0 = __fmaf_rn(a, 2.0f, 8388608.0f), c1 = __fadd_rn(a, 8388610.0f), c2 = __fmaf_rn(a, 0.5f, 8388612.0f);
  return __float_as_uint(fminf(c0, fminf(c1, c2)));
#else
  const float c0 = std::fma(a, 2.0f, 8388608.0f), c1 = a + 8388610.0f, c2 = std::fma(a, 0.5f, 8388612.0f);
  const float m = c1 < c2 ? c1 : c2;
  return f32_bits(c0 < m ? c0 : m);
#endif
}

SIXBIT_HD uint16_t e2m1_encode4_scaled(float x0, float x1, float x2, float x3, float f) {
  const float y0 = x0 * f, y1 = x1 * f, y2 = x2 * f, y3 = x3 * f;
  const uint32_t mags = e2m1_code_plus_2p23(y0) + 16u * e2m1_code_plus_2p23(y1) + 256u * e2m1_code_plus_2p23(y2) +
                        4096u * e2m1_code_plus_2p23(y3);
#if defined(__CUDA_ARCH__)
  // Selector nibble 0xB: byte 3 of the first operand with its top bit replicated; 0xF: byte 3 of the second.
  uint32_t s02, s13;
  asm("prmt.b32 %0, %1, %2, 0xFB;" : "=r"(s02) : "r"(__float_as_uint(y0)), "r"(__float_as_uint(y2)));
  asm("prmt.b32 %0, %1, %2, 0xFB;" : "=r"(s13) : "r"(__float_as_uint(y1)), "r"(__float_as_uint(y3)));
  return static_cast<uint16_t>(mags | (s02 & 0x0808u) | (s13 & 0x8080u));
#else
  return static_cast<uint16_t>(mags | e2m1_sign_code(y0) | e2m1_sign_code(y1) << 4 | e2m1_sign_code(y2) << 8 | e2m1_sign_code(y3) << 12);
#endif
}

// Two codes in one byte: element 2i in the low nibble, 2i+1 in the high nibble (the layout of every library
// and of the tensor cores; PTX cvt.rn.satfinite.e2m1x2.f32 d, a, b puts `a` high, so pass the odd element first).
SIXBIT_HD uint8_t e2m1_pack(uint8_t even, uint8_t odd) { return static_cast<uint8_t>((even & 0xFu) | ((odd & 0xFu) << 4)); }
SIXBIT_HD uint8_t e2m1_unpack(uint8_t byte, int index) { return static_cast<uint8_t>((byte >> (4 * (index & 1))) & 0xFu); }

}  // namespace sixbit::fmt
