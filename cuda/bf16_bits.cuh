// sixbit/cuda/bf16_bits.cuh: bf16 <-> fp32 at the bit level, shared by the quantizers, the GEMM epilogues and
// dequantizers (cuda/) and the DiT's row programs (cuda/dit/). Widening is exact (a 16-bit shift); narrowing is
// round to nearest even through cuda_bf16.h's __floats2bfloat162_rn; int8 pairs widen exactly by byte permutes.
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

// Bytes kByte and kByte + 1 of `biased` (int8 values plus 128, i.e. the int8 word XOR 0x80808080) as bf16x2, exactly
// and without the quarter-rate int-to-float converter: a byte permute makes the fp32 2^23 + u, minus 2^23 + 128 leaves
// the int8 value b exactly; b has <= 8 significant bits, so its bf16 is the fp32's upper half, and a second permute
// packs the two halves. Checked against __floats2bfloat162_rn on all 2^32 words (tests/gpu/gpu_codec_exhaustive.cu).
template <int kByte>
__device__ __forceinline__ uint32_t int8_pair_to_bf16x2(uint32_t biased) {
  static_assert(kByte == 0 || kByte == 2, "pairs are bytes 0-1 or 2-3");
  const float lo = __uint_as_float(__byte_perm(biased, 0x4B000000u, 0x7650 | kByte)) - 8388736.0f;  // 2^23 + 128
  const float hi = __uint_as_float(__byte_perm(biased, 0x4B000000u, 0x7650 | (kByte + 1))) - 8388736.0f;
  return __byte_perm(__float_as_uint(lo), __float_as_uint(hi), 0x7632);
}

}  // namespace sixbit::cuda
