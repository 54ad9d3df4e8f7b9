// Launchers for the exact GEMM kernels (cuda/gemm_exact_kernels.cuh). Test: tests/gpu via scripts/device.sh.
#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "cuda/gemm_exact_kernels.cuh"

namespace sixbit::cuda {

namespace {
dim3 output_grid(int64_t M, int64_t N) { return dim3(static_cast<unsigned>((N + 15) / 16), static_cast<unsigned>((M + 15) / 16)); }
void check_gemm_shape(int64_t M, int64_t N, int64_t K) {
  SIXBIT_CHECK(M >= 0 && N >= 0 && K >= 0, "negative GEMM shape");
  SIXBIT_CHECK(K % 16 == 0, "GEMM: K = ", K, " is not a multiple of 16");
  SIXBIT_CHECK((N + 15) / 16 < (int64_t{1} << 31) && (M + 15) / 16 < 65536, "GEMM shape too large for the exact kernel's grid");
}
}  // namespace

void gemm_w8a8_exact(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int64_t M, int64_t N, int64_t K,
                     cudaStream_t stream) {
  check_gemm_shape(M, N, K);
  if (M == 0 || N == 0) return;
  kernels::gemm_w8a8_exact_kernel<<<output_grid(M, N), dim3(16, 16), 0, stream>>>(a, sa, w, sw, bias, y, M, N, K);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void gemm_w4a4_exact(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                     float w_global_decode, const float* bias, float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  check_gemm_shape(M, N, K);
  if (M == 0 || N == 0) return;
  const float alpha = gemm::w4a4_alpha(a_global_decode, w_global_decode);  // on the host: the same fp32 operations
  kernels::gemm_w4a4_exact_kernel<<<output_grid(M, N), dim3(16, 16), 0, stream>>>(a_packed, a_scales, w_packed, w_scales, alpha, bias, y, M, N, K);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void gemm_w4a8_exact(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode, const float* bias,
                     float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  check_gemm_shape(M, N, K);
  if (M == 0 || N == 0) return;
  kernels::gemm_w4a8_exact_kernel<<<output_grid(M, N), dim3(16, 16), 0, stream>>>(a, sa, w_packed, w_scales, gemm::w4a8_alpha(w_global_decode), bias, y,
                                                                                   M, N, K);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void w8a8_epilogue(const int32_t* acc, const float* sa, const float* sw, const float* bias, float* y, int64_t M, int64_t N, cudaStream_t stream) {
  if (M == 0 || N == 0) return;
  const int threads = 256;
  kernels::w8a8_epilogue_kernel<<<static_cast<unsigned>((M * N + threads - 1) / threads), threads, 0, stream>>>(acc, sa, sw, bias, y, M, N);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

}  // namespace sixbit::cuda
