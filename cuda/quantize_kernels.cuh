// sixbit/cuda/quantize_kernels.cuh: quantization kernels on raw pointers, fp32 or bf16 input. The per-block
// arithmetic is the emulator's own (emulation/quant/nvfp4_block.hpp: nvfp4_block_scale, nvfp4_encode4;
// emulation/formats/int8.hpp), so bits match by construction; bf16 is widened to fp32 exactly (a 16-bit shift).
// Build: `cmake --build build --target sixbit_cuda gpu_emulator_test`; run: `ctest --test-dir build -L gpu`
// (tests/gpu/gpu_emulator.cpp, gpu_quantize_more.cpp) on the GPU machine via scripts/device.sh.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/bf16_bits.cuh"
#include "emulation/formats/int8.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace sixbit::cuda::kernels {

// ---- loads: 4 consecutive elements (one float4, or 8 bytes of bf16) or one element, widened exactly --------
// raw4 loads 4 elements as stored (float4, or uint2 of bf16 bits: half the registers while a load is in flight);
// widen4 turns them into 4 floats.
__device__ __forceinline__ float4 raw4(const float* __restrict__ x, int64_t q) { return reinterpret_cast<const float4*>(x)[q]; }
__device__ __forceinline__ uint2 raw4(const __nv_bfloat16* __restrict__ x, int64_t q) { return reinterpret_cast<const uint2*>(x)[q]; }
__device__ __forceinline__ float4 widen4(float4 v) { return v; }
__device__ __forceinline__ float4 widen4(uint2 w) {  // little endian: element 4q is the low half of w.x
  return make_float4(bf16_bits_to_f32(w.x & 0xFFFFu), bf16_bits_to_f32(w.x >> 16), bf16_bits_to_f32(w.y & 0xFFFFu), bf16_bits_to_f32(w.y >> 16));
}
template <typename T>
__device__ __forceinline__ float4 load4(const T* __restrict__ x, int64_t q) { return widen4(raw4(x, q)); }
template <typename T>
using Raw4 = decltype(raw4(static_cast<const T*>(nullptr), 0));
__device__ __forceinline__ float load1(const float* __restrict__ x, int64_t i) { return x[i]; }
__device__ __forceinline__ float load1(const __nv_bfloat16* __restrict__ x, int64_t i) {
  return bf16_bits_to_f32(reinterpret_cast<const uint16_t*>(x)[i]);
}

// 4 INT8 codes of 4 consecutive values with the row's inverse scale (the shared scalar codec); the running abs max of a row.
__device__ __forceinline__ char4 int8_encode4(float4 q, float inv_scale) {
  char4 o;
  o.x = fmt::int8_encode(q.x, inv_scale), o.y = fmt::int8_encode(q.y, inv_scale);
  o.z = fmt::int8_encode(q.z, inv_scale), o.w = fmt::int8_encode(q.w, inv_scale);
  return o;
}
__device__ __forceinline__ float fmaxabs4(float m, float4 q) { return fmaxf(fmaxf(m, fmaxf(fabsf(q.x), fabsf(q.y))), fmaxf(fabsf(q.z), fabsf(q.w))); }

// Max over the thread block (every thread must call it; blockDim.x % 32 == 0). A max is order-independent for
// non-NaN values, so any reduction tree gives the CPU's result.
__device__ __forceinline__ float block_max(float m, float* warp_max /* __shared__ [32] */) {
  for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
  if ((threadIdx.x & 31) == 0) warp_max[threadIdx.x >> 5] = m;
  __syncthreads();
  if (threadIdx.x < 32) {
    m = threadIdx.x < blockDim.x / 32 ? warp_max[threadIdx.x] : 0.0f;
    for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
    if (threadIdx.x == 0) warp_max[0] = m;
  }
  __syncthreads();
  return warp_max[0];
}

// __maxnreg__ rather than __launch_bounds__(256) on the two grid-wide kernels below: with the latter, ptxas for
// sm_100a/sm_120a picked 32/64 registers and spilled 4-12 bytes; a ceiling lets it take the 40-56 it needs.
// Non-negative floats order like their bit patterns, so an unsigned atomicMax on the bits is an exact max.
// Grid-stride with 4 independent vector loads in flight per thread (the scalar tail covers n % 4 and an
// unaligned x); one atomic per thread block.
template <typename T>
__global__ void __maxnreg__(64) tensor_amax_kernel(const T* __restrict__ x, int64_t n, bool vec, unsigned int* amax_bits, unsigned int* nan_count) {
  __shared__ float warp_max[32];
  __shared__ unsigned int warp_nans[32];
  float m = 0.0f;
  unsigned int nans = 0;
  auto take = [&](float v) {
    const float a = fabsf(v);
    if (a != a) ++nans;
    else m = fmaxf(m, a);
  };
  auto take4 = [&](float4 q) { take(q.x), take(q.y), take(q.z), take(q.w); };
  const int64_t stride = int64_t{gridDim.x} * blockDim.x, tid = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  const int64_t n4 = vec ? n / 4 : 0;
  int64_t i = tid;
  for (; i + 3 * stride < n4; i += 4 * stride) {
    const float4 a = load4(x, i), b = load4(x, i + stride), c = load4(x, i + 2 * stride), d = load4(x, i + 3 * stride);
    take4(a), take4(b), take4(c), take4(d);
  }
  for (; i < n4; i += stride) take4(load4(x, i));
  for (int64_t j = n4 * 4 + tid; j < n; j += stride) take(load1(x, j));
  for (int off = 16; off > 0; off >>= 1) nans += __shfl_xor_sync(0xFFFFFFFFu, nans, off);
  if ((threadIdx.x & 31) == 0) warp_nans[threadIdx.x >> 5] = nans;
  m = block_max(m, warp_max);  // its __syncthreads also publishes warp_nans
  if (threadIdx.x == 0) {
    atomicMax(amax_bits, __float_as_uint(m));
    unsigned int total = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) total += warp_nans[w];
    if (nan_count && total) atomicAdd(nan_count, total);
  }
}

// NVFP4, coalesced: lane i of the grid holds elements [4i, 4i+4) (one float4 / 8 bytes of bf16), so 4
// consecutive lanes hold one 16-element block and a warp's load is one contiguous 512 B (256 B bf16). U float4s
// per thread (j = 0..U-1, 256 apart), loaded before any use, keep U independent loads in flight; so a group of 4
// lanes holds U blocks, one per j. Block amax via 2 xor-shuffles inside the group. The block scale (a UE4M3
// encode and a division: the expensive part) is computed ONCE per block: for j = 4jj + k, lane k of the group
// computes it and the other three read it with a shuffle. (Computing it in all 4 lanes, as a first version did,
// quadrupled the per-element arithmetic; measured on the H200 at 0.46x copy.) Each lane then encodes its 4
// values with nvfp4_encode4 and stores 2 packed bytes (a warp writes 64 contiguous bytes); the lane that
// computed a scale stores it. n4 = rows*cols/4 (cols % 16 == 0: a block never crosses a row, so the tensor is one
// flat array). The arithmetic is nvfp4_block_scale / nvfp4_encode4, the CPU quantizer's own.
// Registers: at most 64, so that 4 blocks of 256 threads (32 warps) stay resident per SM: the bf16-input kernel
// needs the warps to keep enough loads in flight. Left to itself ptxas gave it 80 (3 blocks; 0.80-0.94x copy on the
// H100 against 0.87-1.00x at 63, no spills). sm_120a's ptxas spills 8-12 bytes at 64, so it keeps the old ceiling
// (never run: docs/perf-h100.md).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 1200
#define SIXBIT_NVFP4_QUANTIZE_MAXNREG 96
#else
#define SIXBIT_NVFP4_QUANTIZE_MAXNREG 64
#endif
// One work unit of the NVFP4 kernels: 256 x U float4s of the flat tensor (U = 4 for fp32, 8 for bf16: 16 KB of raw
// loads either way), thread t of the 256-thread block holding float4s 256 U unit + t + 256 j. Past n4: zeros (n4 % 4
// == 0: a group of 4 lanes is all in or all out).
template <typename T, int U>
__device__ __forceinline__ void nvfp4_load_unit(const T* __restrict__ x, int64_t n4, int64_t unit, Raw4<T> (&raw)[U]) {
  const int64_t base = unit * int64_t{256 * U} + threadIdx.x;
#pragma unroll
  for (int j = 0; j < U; ++j) {
    const int64_t q = base + j * 256;
    raw[j] = q < n4 ? raw4(x, q) : Raw4<T>{};
  }
}

// Quantizes one unit (see nvfp4_load_unit) with the tensor's global scales g.
template <typename T, quant::Nvfp4Recipe R, int U>
__device__ __forceinline__ void nvfp4_quantize_unit(const Raw4<T> (&raw)[U], int64_t unit, int64_t n4, int64_t blocks_per_row,
                                                    const quant::Nvfp4GlobalScales& g, uint16_t* __restrict__ packed, uint8_t* __restrict__ scales,
                                                    bool blocked) {
  static_assert(U % 4 == 0, "a group of 4 lanes computes 4 block scales at a time");
  const int64_t base = unit * int64_t{256 * U} + threadIdx.x;
  const int k = static_cast<int>(threadIdx.x & 3), group = static_cast<int>(threadIdx.x & 31) & ~3;
#pragma unroll
  for (int jj = 0; jj < U / 4; ++jj) {
    float4 v[4];
    float bamax[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      v[i] = widen4(raw[4 * jj + i]);
      float m = quant::nvfp4_fmaxabs(quant::nvfp4_fmaxabs(quant::nvfp4_fmaxabs(quant::nvfp4_fmaxabs(0.0f, v[i].x), v[i].y), v[i].z), v[i].w);
      m = quant::nvfp4_fmaxabs(m, __shfl_xor_sync(0xFFFFFFFFu, m, 1));  // q % 4 == lane % 4: partners 1, 2 share the block
      bamax[i] = quant::nvfp4_fmaxabs(m, __shfl_xor_sync(0xFFFFFFFFu, m, 2));
    }
    // This lane's block: j = 4 jj + k (a select chain, not a dynamically indexed array: stays in registers).
    const float mine = k == 0 ? bamax[0] : k == 1 ? bamax[1] : k == 2 ? bamax[2] : bamax[3];
    const quant::Nvfp4BlockScale bs = quant::nvfp4_block_scale(R, mine, g);
    const int64_t qk = base + (4 * jj + k) * 256 - k;  // the first float4 of that block
    if (qk < n4) {
      const int64_t blk = qk >> 2;
      scales[blocked ? quant::nvfp4_blocked_offset(blk / blocks_per_row, blk % blocks_per_row, blocks_per_row) : blk] = bs.code;
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float factor = __shfl_sync(0xFFFFFFFFu, bs.factor, group + i);
      const uint16_t codes = quant::nvfp4_encode4(R, v[i].x, v[i].y, v[i].z, v[i].w, factor);
      const int64_t q = base + (4 * jj + i) * 256;
      if (q < n4) packed[q] = codes;
    }
  }
}

// The two-pass scheme's second pass: the tensor amax is already on the device (tensor_amax_kernel); one unit per block.
template <typename T, quant::Nvfp4Recipe R, int U>
__global__ void __maxnreg__(SIXBIT_NVFP4_QUANTIZE_MAXNREG) nvfp4_quantize_kernel(const T* __restrict__ x, int64_t n4, int64_t blocks_per_row, const float* __restrict__ amax,
                                                      uint16_t* __restrict__ packed, uint8_t* __restrict__ scales, bool blocked) {
  const quant::Nvfp4GlobalScales g = quant::nvfp4_global_scales(R, *amax);
  Raw4<T> raw[U];
  nvfp4_load_unit<T, U>(x, n4, blockIdx.x, raw);
  nvfp4_quantize_unit<T, R, U>(raw, blockIdx.x, n4, blocks_per_row, g, packed, scales, blocked);
}

// INT8 per row, row held in registers: one block of blockDim.x (a multiple of 32, <= 512) threads per row, thread
// t holds float4s t, t + blockDim.x, ... (V of them, cols/4 <= V * blockDim.x), so the row is read from DRAM once:
// amax by a block reduction (a max: order-independent), then the shared codec on the registers, 4-byte stores.
// Needs cols % 4 == 0 and a 16-byte (fp32) / 8-byte (bf16) aligned x.
template <typename T, int V>
__global__ void __launch_bounds__(512) int8_quantize_rows_regs_kernel(const T* __restrict__ x, int64_t cols, int8_t* __restrict__ codes,
                                                                      float* __restrict__ scales) {
  __shared__ float warp_max[32];
  const int64_t n4 = cols / 4;
  const T* row = x + blockIdx.x * cols;
  float4 v[V];
  float m = 0.0f;
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const int64_t c = threadIdx.x + int64_t{j} * blockDim.x;
    v[j] = c < n4 ? load4(row, c) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    m = fmaxabs4(m, v[j]);
  }
  m = block_max(m, warp_max);
  const fmt::Int8Scale s = fmt::int8_scale_from_amax(m);
  if (threadIdx.x == 0) scales[blockIdx.x] = s.scale;
  char4* out = reinterpret_cast<char4*>(codes + blockIdx.x * cols);
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const int64_t c = threadIdx.x + int64_t{j} * blockDim.x;
    if (c < n4) {
      out[c] = int8_encode4(v[j], s.inv_scale);
    }
  }
}

// INT8 per row, fallback for rows wider than the register kernel holds or not vector-loadable: one 256-thread
// block per row reads the row twice (amax, then encode; the second read mostly hits L2).
template <typename T>
__global__ void __launch_bounds__(256) int8_quantize_rows_kernel(const T* __restrict__ x, int64_t cols, bool vec, int8_t* __restrict__ codes,
                                                                 float* __restrict__ scales) {
  __shared__ float warp_max[32];
  const T* row = x + blockIdx.x * cols;
  int8_t* out = codes + blockIdx.x * cols;
  float m = 0.0f;
  if (vec) {
    for (int64_t c = threadIdx.x; c < cols / 4; c += blockDim.x) {
      const float4 q = load4(row, c);
      m = fmaxabs4(m, q);
    }
  } else {
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, fabsf(load1(row, c)));
  }
  m = block_max(m, warp_max);
  const fmt::Int8Scale s = fmt::int8_scale_from_amax(m);
  if (threadIdx.x == 0) scales[blockIdx.x] = s.scale;
  if (vec) {
    for (int64_t c = threadIdx.x; c < cols / 4; c += blockDim.x) {
      const float4 q = load4(row, c);
      reinterpret_cast<char4*>(out)[c] = int8_encode4(q, s.inv_scale);
    }
  } else {
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) out[c] = fmt::int8_encode(load1(row, c), s.inv_scale);
  }
}

}  // namespace sixbit::cuda::kernels
