// sixbit/cuda/quantize_fused_amax_kernels.cuh: NVFP4 with its tensor amax in one launch, reading DRAM once for tensors
// that fit in what the chip holds (weights): the amax pass keeps what it loaded in shared memory, a grid-wide barrier
// publishes the amax, and the quantize pass takes the kept loads (the rest it reads again, mostly from L2). Same bits
// as tensor_amax_kernel + nvfp4_quantize_kernel (the same per-unit code, quantize_kernels.cuh).
// Build: part of sixbit_cuda; test: tests/gpu/gpu_quantize_more.cpp (`ctest --test-dir build -L gpu`, on the GPU
// machine through scripts/device.sh); bench: cuda_bench's "one launch" rows.
#pragma once

#include <cooperative_groups.h>

#include "cuda/quantize_kernels.cuh"

namespace sixbit::cuda::kernels {

// Launched cooperatively (every block resident, 256 threads, kept_units * 16 KB of dynamic shared memory; *amax_bits
// and *nan_count zeroed before). Block b owns units b, b + gridDim.x, ... (i-th: unit b + i gridDim.x).
// Phase 1: loads each of its units (U loads in flight per thread), folds it into the abs max and the NaN count as
// tensor_amax_kernel does (a NaN is counted, never the max), and stores the first kept_units units, as loaded, in
// shared memory; one atomicMax (and atomicAdd) per block. Grid barrier (cooperative_groups: it fences the atomics).
// Phase 2: quantizes its units with the tensor's global scales, newest first: the units read again are the last ones
// phase 1 loaded, the likeliest to still be in L2; the kept ones come from shared memory.
template <typename T, quant::Nvfp4Recipe R, int U>
__global__ void __maxnreg__(SIXBIT_NVFP4_QUANTIZE_MAXNREG)
    nvfp4_quantize_fused_amax_kernel(const T* __restrict__ x, int64_t n4, int64_t blocks_per_row, int kept_units, unsigned int* amax_bits,
                                   unsigned int* nan_count, uint16_t* __restrict__ packed, uint8_t* __restrict__ scales, bool blocked) {
  extern __shared__ uint4 kept_words[];
  Raw4<T>* kept = reinterpret_cast<Raw4<T>*>(kept_words);  // [kept_units][U][256]: consecutive threads, consecutive words
  __shared__ float warp_max[32];
  __shared__ unsigned int warp_nans[32];
  const int64_t units = (n4 + 256 * U - 1) / (256 * U);
  const int mine = blockIdx.x < units ? static_cast<int>((units - 1 - blockIdx.x) / gridDim.x + 1) : 0;

  float m = 0.0f;
  unsigned int nans = 0;
  for (int i = 0; i < mine; ++i) {
    Raw4<T> raw[U];
    nvfp4_load_unit<T, U>(x, n4, blockIdx.x + int64_t{i} * gridDim.x, raw);
#pragma unroll
    for (int j = 0; j < U; ++j) {
      const float4 v = widen4(raw[j]);
      for (const float e : {v.x, v.y, v.z, v.w}) {
        const float a = fabsf(e);
        if (a != a) ++nans;
        else m = fmaxf(m, a);
      }
    }
    if (i < kept_units) {
#pragma unroll
      for (int j = 0; j < U; ++j) kept[(i * U + j) * 256 + threadIdx.x] = raw[j];
    }
  }
  for (int off = 16; off > 0; off >>= 1) nans += __shfl_xor_sync(0xFFFFFFFFu, nans, off);
  if ((threadIdx.x & 31) == 0) warp_nans[threadIdx.x >> 5] = nans;
  m = block_max(m, warp_max);  // its __syncthreads also publishes warp_nans
  if (threadIdx.x == 0) {
    atomicMax(amax_bits, __float_as_uint(m));  // |x| >= 0 orders like its bits: exact, order-independent
    unsigned int total = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) total += warp_nans[w];
    if (nan_count && total) atomicAdd(nan_count, total);
  }
  cooperative_groups::this_grid().sync();

  const quant::Nvfp4GlobalScales g = quant::nvfp4_global_scales(R, __uint_as_float(__ldcg(amax_bits)));
  for (int i = mine - 1; i >= 0; --i) {
    const int64_t unit = blockIdx.x + int64_t{i} * gridDim.x;
    Raw4<T> raw[U];
    if (i < kept_units) {
#pragma unroll
      for (int j = 0; j < U; ++j) raw[j] = kept[(i * U + j) * 256 + threadIdx.x];
    } else {
      nvfp4_load_unit<T, U>(x, n4, unit, raw);
    }
    nvfp4_quantize_unit<T, R, U>(raw, unit, n4, blocks_per_row, g, packed, scales, blocked);
  }
}

}  // namespace sixbit::cuda::kernels
