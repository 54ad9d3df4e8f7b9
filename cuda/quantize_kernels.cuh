// sixbit/cuda/quantize_kernels.cuh: quantization kernels on raw pointers. The per-block arithmetic is the
// emulator's own (emulation/quant/nvfp4_block.hpp, emulation/formats/int8.hpp), so bits match by construction.
// Build and test: scripts/device.sh (GPU machine) or `cmake --build build --target gpu_emulator_test`.
#pragma once

#include <cstdint>

#include "emulation/formats/int8.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace sixbit::cuda::kernels {

// Non-negative floats order like their bit patterns, so an unsigned atomicMax on the bits is an exact max.
__global__ void tensor_amax_kernel(const float* __restrict__ x, int64_t n, unsigned int* amax_bits, unsigned int* nan_count) {
  float m = 0.0f;
  unsigned int nans = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float a = fabsf(x[i]);
    if (a != a) ++nans;
    else m = fmaxf(m, a);
  }
  for (int off = 16; off > 0; off >>= 1) {
    m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
    nans += __shfl_xor_sync(0xFFFFFFFFu, nans, off);
  }
  if ((threadIdx.x & 31) == 0) {
    atomicMax(amax_bits, __float_as_uint(m));
    if (nan_count && nans) atomicAdd(nan_count, nans);
  }
}

// One thread per 16-element block: 4 float4 loads, the recipe's block function, one 8-byte store of codes.
__global__ void nvfp4_quantize_kernel(const float* __restrict__ x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe,
                                      const float* __restrict__ amax, uint8_t* __restrict__ packed, uint8_t* __restrict__ scales, bool blocked) {
  const int64_t blocks_per_row = cols / 16;
  const int64_t blk = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (blk >= rows * blocks_per_row) return;
  const quant::Nvfp4GlobalScales g = quant::nvfp4_global_scales(recipe, *amax);
  float v[16];
  const float4* src = reinterpret_cast<const float4*>(x + blk * 16);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float4 q = src[i];
    v[4 * i] = q.x, v[4 * i + 1] = q.y, v[4 * i + 2] = q.z, v[4 * i + 3] = q.w;
  }
  uint8_t out[8];
  uint8_t scale;
  quant::nvfp4_quantize_block(recipe, v, g, out, &scale);
  uint2 word;
  word.x = out[0] | (out[1] << 8) | (out[2] << 16) | (uint32_t{out[3]} << 24);
  word.y = out[4] | (out[5] << 8) | (out[6] << 16) | (uint32_t{out[7]} << 24);
  reinterpret_cast<uint2*>(packed)[blk] = word;
  const int64_t r = blk / blocks_per_row, c = blk % blocks_per_row;
  scales[blocked ? quant::nvfp4_blocked_offset(r, c, blocks_per_row) : blk] = scale;
}

// One 256-thread block per row: amax by reduction (a max: order-independent), then the shared codec. Rows
// whose length is a multiple of 4 (every DiT width) take float4 loads and 4-byte code stores; the second read of
// the row mostly hits L2 (a 8960-wide row is 35 KB).
__global__ void int8_quantize_rows_kernel(const float* __restrict__ x, int64_t cols, int8_t* __restrict__ codes, float* __restrict__ scales) {
  __shared__ float warp_max[32];
  const float* row = x + blockIdx.x * cols;
  int8_t* out = codes + blockIdx.x * cols;
  const bool vec = cols % 4 == 0;
  float m = 0.0f;
  if (vec) {
    for (int64_t c = threadIdx.x; c < cols / 4; c += blockDim.x) {
      const float4 q = reinterpret_cast<const float4*>(row)[c];
      m = fmaxf(fmaxf(m, fmaxf(fabsf(q.x), fabsf(q.y))), fmaxf(fabsf(q.z), fabsf(q.w)));
    }
  } else {
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, fabsf(row[c]));
  }
  for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
  if ((threadIdx.x & 31) == 0) warp_max[threadIdx.x >> 5] = m;
  __syncthreads();
  if (threadIdx.x < 32) {
    m = threadIdx.x < (blockDim.x + 31) / 32 ? warp_max[threadIdx.x] : 0.0f;
    for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
    if (threadIdx.x == 0) warp_max[0] = m;
  }
  __syncthreads();
  const fmt::Int8Scale s = fmt::int8_scale_from_amax(warp_max[0]);
  if (threadIdx.x == 0) scales[blockIdx.x] = s.scale;
  if (vec) {
    for (int64_t c = threadIdx.x; c < cols / 4; c += blockDim.x) {
      const float4 q = reinterpret_cast<const float4*>(row)[c];
      char4 o;
      o.x = fmt::int8_encode(q.x, s.inv_scale), o.y = fmt::int8_encode(q.y, s.inv_scale);
      o.z = fmt::int8_encode(q.z, s.inv_scale), o.w = fmt::int8_encode(q.w, s.inv_scale);
      reinterpret_cast<char4*>(out)[c] = o;
    }
  } else {
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) out[c] = fmt::int8_encode(row[c], s.inv_scale);
  }
}

}  // namespace sixbit::cuda::kernels
