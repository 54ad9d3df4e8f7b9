// sixbit/cuda/bf16_bits.cuh: bf16 <-> fp32 at the bit level, shared by the quantizers, the GEMM epilogues and
// dequantizers (cuda/) and the DiT's row programs (cuda/dit/). Widening is exact (a 16-bit shift); narrowing is
// round to nearest even through cuda_bf16.h's __floats2bfloat162_rn; int8 to bf16 is exact.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace sixbit::cuda {

__device__ __forceinline__ float bf16_bits_to_f32(uint32_t h) { return __uint_as_float(h << 16); }

// Two floats rounded to bf16 and packed into one 32-bit word: `lo` in the low half, i.e. at the lower address.
__device__ __forceinline__ uint32_t bf16x2_bits(float lo, float hi) {
  const __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&p);
}

// Four int8 (one 32-bit word, byte i = element i) to two bf16 pairs, elements (0, 1) in `lo` and (2, 3) in `hi`, the
// lower index in the lower half. Exact, without the int-to-float converter: u = b + 128 (sign bit flipped) pasted into
// the mantissa of 2^23 is the fp32 2^23 + u, one FADD of -(2^23 + 128) leaves b exactly, and |b| <= 128 has at most 8
// significant bits, so the fp32's upper half is b's bf16. Used by the W4A8 Hopper kernel (A fragments in registers);
// checked on all 2^32 words against cuda_bf16.h in tests/gpu/gpu_codec_exhaustive.cu.
__device__ __forceinline__ void int8x4_to_bf16x2(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t u = w ^ 0x80808080u;
  uint32_t f[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) f[i] = __float_as_uint(__fadd_rn(__uint_as_float(__byte_perm(u, 0x4B000000u, 0x7440 + i)), -8388736.0f));
  lo = __byte_perm(f[0], f[1], 0x7632);
  hi = __byte_perm(f[2], f[3], 0x7632);
}

}  // namespace sixbit::cuda
