// Launchers for the exact GEMM kernels (cuda/gemm_exact_kernels.cuh). Test: tests/gpu via scripts/device.sh.
#include <algorithm>

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
  const bool vec = N % 4 == 0 && reinterpret_cast<uintptr_t>(acc) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  const int64_t per_row = vec ? N / 4 : N;
  // gridDim.y is limited to 65535: rows beyond that go in further launches.
  for (int64_t m0 = 0; m0 < M; m0 += 65535) {
    const int64_t rows = std::min<int64_t>(65535, M - m0);
    const dim3 grid(static_cast<unsigned>((per_row + threads - 1) / threads), static_cast<unsigned>(rows));
    kernels::w8a8_epilogue_kernel<<<grid, threads, 0, stream>>>(acc + m0 * N, sa + m0, sw, bias, y + m0 * N, rows, N, vec);
    SIXBIT_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace sixbit::cuda
