// sixbit/cuda/bf16_bits.cuh: bf16 <-> fp32 at the bit level, shared by the quantizers, the GEMM epilogues and
// dequantizers (cuda/) and the DiT's row programs (cuda/dit/). Widening is exact (a 16-bit shift); narrowing is
// round to nearest even through cuda_bf16.h's __floats2bfloat162_rn.
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

}  // namespace sixbit::cuda
