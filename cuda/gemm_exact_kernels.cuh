// sixbit/cuda/gemm_exact_kernels.cuh: the naive exact GEMM kernels, one thread per output, a 16x16 thread tile per
// block, every output the bit-exact definition of emulation/gemm/qgemm.hpp through the same SIXBIT_HD helpers
// (emulation/gemm/qgemm_scalar.hpp). The fast exact path is cuda/gemm_exact_tiled.cuh; these stay as the fallback
// for operand pointers the tiled vector loads cannot use (not 8/16-byte aligned), which tests/gpu/gpu_gemm_tiled.cpp
// also uses as a second on-device oracle; w8a8_epilogue_kernel serves the cuBLASLt W8A8 path.
// Build: cmake --build build --target gpu_emulator_test; run on the GPU machine: scripts/device.sh.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/bf16_bits.cuh"
#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::cuda::kernels {

__global__ void gemm_w8a8_exact_naive_kernel(const int8_t* __restrict__ a, const float* __restrict__ sa, const int8_t* __restrict__ w,
                                       const float* __restrict__ sw, const float* __restrict__ bias, float* __restrict__ y, int64_t M, int64_t N,
                                       int64_t K) {
  const int64_t n = blockIdx.x * int64_t{blockDim.x} + threadIdx.x, m = blockIdx.y * int64_t{blockDim.y} + threadIdx.y;
  if (m >= M || n >= N) return;
  int32_t acc = 0;
  for (int64_t k = 0; k < K; ++k) acc += int32_t{a[m * K + k]} * int32_t{w[n * K + k]};
  float v = gemm::w8a8_epilogue(acc, sa[m], sw[n]);
  if (bias) v = __fadd_rn(v, bias[n]);
  y[m * N + n] = v;
}

// Applies the W8A8 epilogue to int32 accumulators computed elsewhere (cuBLASLt). blockIdx.y is the row (no
// 64-bit division per element); with N % 4 == 0 and 16-byte aligned buffers (vec) each thread moves an int4 in and
// 4 outputs out. OutT = float: the definition's fp32 value; OutT = __nv_bfloat16: that value rounded once to bf16
// (round to nearest even), for consumers that take bf16 activations (half the output bytes).
__device__ __forceinline__ void store_out(float* y, int64_t i, float v) { y[i] = v; }
__device__ __forceinline__ void store_out(__nv_bfloat16* y, int64_t i, float v) { y[i] = __float2bfloat16_rn(v); }
__device__ __forceinline__ void store_out4(float* y, int64_t i4, float4 v) { reinterpret_cast<float4*>(y)[i4] = v; }
__device__ __forceinline__ void store_out4(__nv_bfloat16* y, int64_t i4, float4 v) {
  reinterpret_cast<uint2*>(y)[i4] = make_uint2(bf16x2_bits(v.x, v.y), bf16x2_bits(v.z, v.w));
}

template <typename OutT>
__global__ void w8a8_epilogue_kernel(const int32_t* __restrict__ acc, const float* __restrict__ sa, const float* __restrict__ sw,
                                     const float* __restrict__ bias, OutT* __restrict__ y, int64_t M, int64_t N, bool vec) {
  const int64_t m = blockIdx.y;
  const float s = sa[m];
  if (vec) {
    const int64_t n4 = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
    if (n4 >= N / 4) return;
    const int4 a = reinterpret_cast<const int4*>(acc + m * N)[n4];
    const int64_t n = 4 * n4;
    float4 v;
    v.x = gemm::w8a8_epilogue(a.x, s, sw[n]), v.y = gemm::w8a8_epilogue(a.y, s, sw[n + 1]);
    v.z = gemm::w8a8_epilogue(a.z, s, sw[n + 2]), v.w = gemm::w8a8_epilogue(a.w, s, sw[n + 3]);
    if (bias) v.x = __fadd_rn(v.x, bias[n]), v.y = __fadd_rn(v.y, bias[n + 1]), v.z = __fadd_rn(v.z, bias[n + 2]), v.w = __fadd_rn(v.w, bias[n + 3]);
    store_out4(y + m * N, n4, v);
  } else {
    const int64_t n = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
    if (n >= N) return;
    float v = gemm::w8a8_epilogue(acc[m * N + n], s, sw[n]);
    if (bias) v = __fadd_rn(v, bias[n]);
    store_out(y, m * N + n, v);
  }
}

__global__ void gemm_w4a4_exact_naive_kernel(const uint8_t* __restrict__ ap, const uint8_t* __restrict__ as, const uint8_t* __restrict__ wp,
                                       const uint8_t* __restrict__ ws, float alpha, const float* __restrict__ bias, float* __restrict__ y, int64_t M,
                                       int64_t N, int64_t K) {
  const int64_t n = blockIdx.x * int64_t{blockDim.x} + threadIdx.x, m = blockIdx.y * int64_t{blockDim.y} + threadIdx.y;
  if (m >= M || n >= N) return;
  const int64_t KB = K / 16;
  float acc = 0.0f;
  for (int64_t j = 0; j < KB; ++j) {
    const int32_t p = gemm::w4a4_block_dot(ap + (m * K + 16 * j) / 2, wp + (n * K + 16 * j) / 2);
    acc = __fadd_rn(acc, gemm::w4a4_block_term(p, as[m * KB + j], ws[n * KB + j]));
  }
  float v = gemm::w4a4_epilogue(acc, alpha);
  if (bias) v = __fadd_rn(v, bias[n]);
  y[m * N + n] = v;
}

__global__ void gemm_w4a8_exact_naive_kernel(const int8_t* __restrict__ a, const float* __restrict__ sa, const uint8_t* __restrict__ wp,
                                       const uint8_t* __restrict__ ws, float alpha, const float* __restrict__ bias, float* __restrict__ y, int64_t M,
                                       int64_t N, int64_t K) {
  const int64_t n = blockIdx.x * int64_t{blockDim.x} + threadIdx.x, m = blockIdx.y * int64_t{blockDim.y} + threadIdx.y;
  if (m >= M || n >= N) return;
  const int64_t KB = K / 16;
  float acc = 0.0f;
  for (int64_t j = 0; j < KB; ++j)
    acc = __fadd_rn(acc, gemm::w4a8_block_term(gemm::w4a8_block_dot(a + m * K + 16 * j, wp + (n * K + 16 * j) / 2), ws[n * KB + j]));
  float v = gemm::w4a8_epilogue(acc, sa[m], alpha);
  if (bias) v = __fadd_rn(v, bias[n]);
  y[m * N + n] = v;
}

}  // namespace sixbit::cuda::kernels
