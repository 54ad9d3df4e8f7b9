// FAST W4A4 (not bit-exact): dequantize both NVFP4 operands EXACTLY to bf16 (e2m1 * ue4m3 has <= 5 significant
// bits and lies in [2^-10, 2688], so the bf16 value is the exact product), then one cuBLASLt bf16 GEMM with fp32
// output and alpha = ga * gw (the global decode scales, kept out of the bf16 values where they would round).
// Only the summation order differs from emulation/gemm/qgemm.hpp; tests/gpu bounds the difference.
// Build: part of sixbit_cuda. Test: tests/gpu (GpuGemm.W4a4FastWithinDerivedBound) via scripts/device.sh.
#include <cuda_bf16.h>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"

namespace sixbit::cuda {

namespace kernels {
// One thread per packed byte (two elements of the same 16-element block).
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
}  // namespace kernels

void nvfp4_dequantize_bf16(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols, void* out_bf16, cudaStream_t stream) {
  SIXBIT_CHECK(cols % 16 == 0, "NVFP4 dequantize: cols = ", cols, " is not a multiple of 16");
  const int64_t n_bytes = rows * cols / 2;
  if (n_bytes == 0) return;
  const int threads = 256;
  kernels::nvfp4_dequantize_bf16_kernel<<<static_cast<unsigned>((n_bytes + threads - 1) / threads), threads, 0, stream>>>(
      packed, scales, n_bytes, static_cast<__nv_bfloat162*>(out_bf16));
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void gemm_w4a4_fast(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                    float w_global_decode, float* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K,
                    cudaStream_t stream) {
  SIXBIT_CHECK(K % 16 == 0, "W4A4 fast: K = ", K, " is not a multiple of 16");
  if (M == 0 || N == 0) return;
  nvfp4_dequantize_bf16(a_packed, a_scales, M, K, a_bf16_workspace, stream);
  if (w_bf16_workspace != nullptr && w_packed != nullptr) nvfp4_dequantize_bf16(w_packed, w_scales, N, K, w_bf16_workspace, stream);
  gemm_bf16_f32out_cublaslt(a_bf16_workspace, w_bf16_workspace, y, a_global_decode * w_global_decode, M, N, K, stream);
}

}  // namespace sixbit::cuda
