// sixbit/cuda/gemm_exact_kernels.cuh: GEMM kernels whose every output is the bit-exact definition of
// emulation/gemm/qgemm.hpp, through the same SIXBIT_HD helpers (emulation/gemm/qgemm_scalar.hpp). One thread per
// output, a 16x16 thread tile per block: correct first; the block loop order (increasing k) is the contract.
// Build and test: scripts/device.sh.
#pragma once

#include <cstdint>

#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::cuda::kernels {

__global__ void gemm_w8a8_exact_kernel(const int8_t* __restrict__ a, const float* __restrict__ sa, const int8_t* __restrict__ w,
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

// Applies the W8A8 epilogue to int32 accumulators computed elsewhere (cuBLASLt).
__global__ void w8a8_epilogue_kernel(const int32_t* __restrict__ acc, const float* __restrict__ sa, const float* __restrict__ sw,
                                     const float* __restrict__ bias, float* __restrict__ y, int64_t M, int64_t N) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i >= M * N) return;
  const int64_t m = i / N, n = i % N;
  float v = gemm::w8a8_epilogue(acc[i], sa[m], sw[n]);
  if (bias) v = __fadd_rn(v, bias[n]);
  y[i] = v;
}

__global__ void gemm_w4a4_exact_kernel(const uint8_t* __restrict__ ap, const uint8_t* __restrict__ as, const uint8_t* __restrict__ wp,
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

__global__ void gemm_w4a8_exact_kernel(const int8_t* __restrict__ a, const float* __restrict__ sa, const uint8_t* __restrict__ wp,
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
