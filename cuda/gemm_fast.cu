// FAST W4A4 and W4A8 (not bit-exact): dequantize the NVFP4 operands EXACTLY to bf16 (e2m1 * ue4m3 has <= 5
// significant bits and lies in [2^-10, 2688], so the bf16 value is the exact product) and convert int8 operands
// to bf16 (every int8 is exact in bf16), then one cuBLASLt bf16 GEMM with fp32 output. W4A4: alpha = ga * gw (the
// global decode scales, kept out of the bf16 values where they would round). W4A8: alpha = 1, then the per-row
// scale and gw in place, y = (y * sa[m]) * gw, the emulator's epilogue order (qgemm.hpp sums W in half units and
// multiplies by alpha = 0.5 * gw; the bf16 W values here are in real units, so the factor is gw itself).
// Only the summation order differs from emulation/gemm/qgemm.hpp; tests/gpu bounds the difference.
// Build: part of sixbit_cuda (`cmake --build build --target sixbit_cuda`). Test: tests/gpu
// (GpuGemm.W4a4FastWithinDerivedBound, GpuGemmFast.W4a8Int8ANvfp4WWithinDerivedBound) via scripts/device.sh.
#include <cuda_bf16.h>

#include <algorithm>

#include "cuda/backend.hpp"
#include "cuda/bf16_bits.cuh"
#include "cuda/check.cuh"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"

namespace sixbit::cuda {

namespace kernels {
// One thread per 16-element block: 8 packed bytes and one scale byte in, 16 bf16 (32 bytes) out, so a warp reads
// 256 contiguous bytes and writes 1 KiB. E2M1 values come from a 16-entry table in shared memory (one LDS and one
// FMUL per element instead of the decode's select chain). Needs 8-byte aligned codes and 16-byte aligned output.
__global__ void nvfp4_dequantize_bf16_block_kernel(const uint2* __restrict__ packed, const uint8_t* __restrict__ scales, int64_t n_blocks,
                                                   uint4* __restrict__ out) {
  __shared__ float e2m1_value[16];
  if (threadIdx.x < 16) e2m1_value[threadIdx.x] = fmt::e2m1_decode(static_cast<uint8_t>(threadIdx.x));
  __syncthreads();
  for (int64_t b = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; b < n_blocks; b += int64_t{gridDim.x} * blockDim.x) {
    const uint2 p = packed[b];
    const float s = fmt::ue4m3_decode(scales[b]);
    uint32_t word[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t byte = ((i < 4 ? p.x : p.y) >> (8 * (i & 3))) & 0xFFu;  // byte i: elements 2i (low nibble), 2i+1
      word[i] = bf16x2_bits(e2m1_value[byte & 15u] * s, e2m1_value[byte >> 4] * s);
    }
    out[2 * b] = make_uint4(word[0], word[1], word[2], word[3]);
    out[2 * b + 1] = make_uint4(word[4], word[5], word[6], word[7]);
  }
}

// Fallback for unaligned buffers: one thread per packed byte (two elements of the same 16-element block).
__global__ void nvfp4_dequantize_bf16_kernel(const uint8_t* __restrict__ packed, const uint8_t* __restrict__ scales, int64_t n_bytes,
                                             __nv_bfloat162* __restrict__ out) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i >= n_bytes) return;
  const float s = fmt::ue4m3_decode(scales[i / 8]);  // 8 bytes = 16 elements per scale (row-major scales)
  const uint8_t b = packed[i];
  __nv_bfloat162 v;
  v.x = __float2bfloat16_rn(fmt::e2m1_decode(fmt::e2m1_unpack(b, 0)) * s);
  v.y = __float2bfloat16_rn(fmt::e2m1_decode(fmt::e2m1_unpack(b, 1)) * s);
  out[i] = v;
}

// 4 int8 -> 4 bf16 per thread (exact: |q| <= 127 has <= 7 significant bits).
__global__ void int8_to_bf16_kernel(const char4* __restrict__ a, int64_t n4, __nv_bfloat162* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n4; i += int64_t{gridDim.x} * blockDim.x) {
    const char4 q = a[i];
    out[2 * i] = __floats2bfloat162_rn(static_cast<float>(q.x), static_cast<float>(q.y));
    out[2 * i + 1] = __floats2bfloat162_rn(static_cast<float>(q.z), static_cast<float>(q.w));
  }
}

// y[m, n] = (y[m, n] * sa[m]) * gw (+ bias[n]) in place: two fp32 roundings in the emulator's order, no FMA
// (--fmad=false). Rows over blockIdx.y (grid-stride), columns over x.
__global__ void w4a8_fast_epilogue_kernel(float* __restrict__ y, const float* __restrict__ sa, float gw, const float* __restrict__ bias, int64_t M,
                                          int64_t N) {
  for (int64_t m = blockIdx.y; m < M; m += gridDim.y) {
    const float s = sa[m];
    for (int64_t n = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; n < N; n += int64_t{gridDim.x} * blockDim.x) {
      float v = (y[m * N + n] * s) * gw;
      if (bias) v = v + bias[n];
      y[m * N + n] = v;
    }
  }
}
}  // namespace kernels

void nvfp4_dequantize_bf16(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols, void* out_bf16, cudaStream_t stream) {
  SIXBIT_CHECK(cols % 16 == 0, "NVFP4 dequantize: cols = ", cols, " is not a multiple of 16");
  const int64_t n_bytes = rows * cols / 2;
  if (n_bytes == 0) return;
  const int threads = 256;
  if (reinterpret_cast<uintptr_t>(packed) % 8 == 0 && reinterpret_cast<uintptr_t>(out_bf16) % 16 == 0) {
    const int64_t n_blocks = n_bytes / 8;
    const int64_t grid = std::min<int64_t>((n_blocks + threads - 1) / threads, int64_t{1} << 20);
    kernels::nvfp4_dequantize_bf16_block_kernel<<<static_cast<unsigned>(grid), threads, 0, stream>>>(
        reinterpret_cast<const uint2*>(packed), scales, n_blocks, static_cast<uint4*>(out_bf16));
  } else {
    kernels::nvfp4_dequantize_bf16_kernel<<<static_cast<unsigned>((n_bytes + threads - 1) / threads), threads, 0, stream>>>(
        packed, scales, n_bytes, static_cast<__nv_bfloat162*>(out_bf16));
  }
  SIXBIT_CUDA_CHECK_LAUNCH();
}

namespace {
void w4a4_fast_gemm(float* y, const void* a, const void* w, float alpha, int64_t M, int64_t N, int64_t K, cudaStream_t s) {
  gemm_bf16_f32out_cublaslt(a, w, y, alpha, M, N, K, s);
}
void w4a4_fast_gemm(__nv_bfloat16* y, const void* a, const void* w, float alpha, int64_t M, int64_t N, int64_t K, cudaStream_t s) {
  gemm_bf16_cublaslt(a, w, y, M, N, K, s, alpha);
}
template <typename OutT>
void w4a4_fast(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
               float w_global_decode, OutT* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  SIXBIT_CHECK(K % 16 == 0, "W4A4 fast: K = ", K, " is not a multiple of 16");
  if (M == 0 || N == 0) return;
  nvfp4_dequantize_bf16(a_packed, a_scales, M, K, a_bf16_workspace, stream);
  if (w_bf16_workspace != nullptr && w_packed != nullptr) nvfp4_dequantize_bf16(w_packed, w_scales, N, K, w_bf16_workspace, stream);
  w4a4_fast_gemm(y, a_bf16_workspace, w_bf16_workspace, a_global_decode * w_global_decode, M, N, K, stream);
}
}  // namespace

void gemm_w4a4_fast(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                    float w_global_decode, float* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K,
                    cudaStream_t stream) {
  w4a4_fast(a_packed, a_scales, a_global_decode, w_packed, w_scales, w_global_decode, y, a_bf16_workspace, w_bf16_workspace, M, N, K, stream);
}
void gemm_w4a4_fast(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                    float w_global_decode, __nv_bfloat16* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K,
                    cudaStream_t stream) {
  w4a4_fast(a_packed, a_scales, a_global_decode, w_packed, w_scales, w_global_decode, y, a_bf16_workspace, w_bf16_workspace, M, N, K, stream);
}

void gemm_w4a8_fast(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode, const float* bias,
                    float* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  SIXBIT_CHECK(K % 16 == 0, "W4A8 fast: K = ", K, " is not a multiple of 16");
  SIXBIT_CHECK(reinterpret_cast<uintptr_t>(a) % 4 == 0 && reinterpret_cast<uintptr_t>(a_bf16_workspace) % 8 == 0,
               "W4A8 fast: A must be 4-byte and its workspace 8-byte aligned");
  if (M == 0 || N == 0) return;
  const int64_t n4 = M * K / 4;  // K % 16 == 0
  const int threads = 256;
  const int64_t grid = std::min<int64_t>((n4 + threads - 1) / threads, int64_t{1} << 20);
  kernels::int8_to_bf16_kernel<<<static_cast<unsigned>(grid), threads, 0, stream>>>(reinterpret_cast<const char4*>(a), n4,
                                                                                     static_cast<__nv_bfloat162*>(a_bf16_workspace));
  SIXBIT_CUDA_CHECK_LAUNCH();
  if (w_bf16_workspace != nullptr && w_packed != nullptr) nvfp4_dequantize_bf16(w_packed, w_scales, N, K, w_bf16_workspace, stream);
  gemm_bf16_f32out_cublaslt(a_bf16_workspace, w_bf16_workspace, y, 1.0f, M, N, K, stream);
  const dim3 egrid(static_cast<unsigned>(std::min<int64_t>((N + threads - 1) / threads, 64)), static_cast<unsigned>(std::min<int64_t>(M, 65535)));
  kernels::w4a8_fast_epilogue_kernel<<<egrid, threads, 0, stream>>>(y, sa, w_global_decode, bias, M, N);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

}  // namespace sixbit::cuda
