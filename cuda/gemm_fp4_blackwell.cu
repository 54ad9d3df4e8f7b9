// W4A4 on Blackwell (sm_100 / sm_120) through cuBLASLt's block-scaled FP4 GEMM: E2M1 operands with one UE4M3
// scale per 16 elements in the 128x4 blocked layout (CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3), fp32 out.
// NEVER RUN HERE: the lent GPUs are Hopper, where cuBLASLt rejects FP4 (NOTES-numerics: heuristic returns
// CUBLAS_STATUS_NOT_SUPPORTED on the H100). It compiles in CI for sm_100a/sm_120a; on a pre-Blackwell device it
// refuses with a clear error (tested on the H100 by tests/gpu). Not bit-exact to qgemm.hpp's definition: the tensor
// cores' accumulation order is their own, so a Blackwell run must be checked with the fast-path bound of tests/gpu.
#include <cublasLt.h>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"

namespace sixbit::cuda {

namespace {
#define SIXBIT_LT_CHECK(expr)                                                                                            \
  do {                                                                                                                   \
    const cublasStatus_t st_ = (expr);                                                                                   \
    if (st_ != CUBLAS_STATUS_SUCCESS) ::sixbit::detail::check_failed(#expr, __FILE__, __LINE__, "cuBLAS status ", static_cast<int>(st_)); \
  } while (0)
}  // namespace

bool blockscaled_fp4_supported(int device) {
  int major = 0;
  SIXBIT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  return major >= 10;  // sm_100 (B200/GB200) and sm_120 (RTX 50xx)
}

void gemm_w4a4_blockscaled_cublaslt(const uint8_t* a_packed, const uint8_t* a_scales_blocked, const uint8_t* w_packed, const uint8_t* w_scales_blocked,
                                    float alpha, float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  int device = 0, major = 0, minor = 0;
  SIXBIT_CUDA_CHECK(cudaGetDevice(&device));
  SIXBIT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  SIXBIT_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  SIXBIT_CHECK(major >= 10, "block-scaled FP4 GEMM needs a Blackwell GPU (sm_100 or sm_120); this device is sm_", major, minor,
               ". Use gemm_w4a4_exact (bit-exact) or gemm_w4a4_fast instead");
  SIXBIT_CHECK(K % 32 == 0 && M % 16 == 0 && N % 16 == 0, "cuBLASLt FP4 GEMM wants K % 32 == 0 and M, N multiples of 16; got M=", M, " N=", N, " K=", K);
  cublasLtHandle_t handle = nullptr;
  SIXBIT_LT_CHECK(cublasLtCreate(&handle));
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  SIXBIT_LT_CHECK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  // Same TN mapping as cuda/gemm_cublaslt.cu: cuBLASLt's A is our W (K x N, transposed), its B is our A (K x M).
  const cublasOperation_t t = CUBLAS_OP_T, n = CUBLAS_OP_N;
  const int32_t vec16 = CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3;
  SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
  SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &n, sizeof n));
  SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &vec16, sizeof vec16));
  SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &vec16, sizeof vec16));
  SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &w_scales_blocked, sizeof w_scales_blocked));
  SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scales_blocked, sizeof a_scales_blocked));
  SIXBIT_LT_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_4F_E2M1, static_cast<uint64_t>(K), static_cast<uint64_t>(N), K));
  SIXBIT_LT_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_4F_E2M1, static_cast<uint64_t>(K), static_cast<uint64_t>(M), K));
  SIXBIT_LT_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, static_cast<uint64_t>(N), static_cast<uint64_t>(M), N));
  cublasLtMatmulPreference_t pref = nullptr;
  SIXBIT_LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(handle, op, la, lb, lc, lc, pref, 1, &heur, &found);
  const float beta = 0.0f;
  cublasStatus_t ms = CUBLAS_STATUS_NOT_SUPPORTED;
  if (hs == CUBLAS_STATUS_SUCCESS && found > 0) ms = cublasLtMatmul(handle, op, &alpha, w_packed, la, a_packed, lb, &beta, y, lc, y, lc, &heur.algo, nullptr, 0, stream);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatmulDescDestroy(op);
  cublasLtDestroy(handle);
  SIXBIT_CHECK(hs == CUBLAS_STATUS_SUCCESS && found > 0, "cuBLASLt found no block-scaled FP4 algorithm (status ", static_cast<int>(hs), ")");
  SIXBIT_CHECK(ms == CUBLAS_STATUS_SUCCESS, "cuBLASLt FP4 matmul failed (status ", static_cast<int>(ms), ")");
}

}  // namespace sixbit::cuda
