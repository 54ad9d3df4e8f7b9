// cuBLASLt GEMMs: W8A8 (int8 TN, int32 accumulate, then sixbit's exact epilogue) and the bf16 baseline.
// Row-major Y[M,N] = A[M,K] W[N,K]^T is, in cuBLASLt's column-major terms, C[N,M] = op(W)[N,K] * X[K,M] with
// W read as a K x N matrix transposed ("T") and X as K x M ("N"): the TN layout, the only fast int8 one on Hopper
// (COL32 orders are rejected there; NN/NT run ~10x slower: ../shared NOTES-numerics.md, measured on the H100).
#include <cublasLt.h>

#include <map>
#include <mutex>
#include <tuple>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"

#define SIXBIT_CUBLAS_CHECK(expr)                                                                                         \
  do {                                                                                                                    \
    const cublasStatus_t sixbit_st_ = (expr);                                                                             \
    if (sixbit_st_ != CUBLAS_STATUS_SUCCESS) ::sixbit::detail::check_failed(#expr, __FILE__, __LINE__, "cuBLAS status ", \
                                                                            static_cast<int>(sixbit_st_));               \
  } while (0)

namespace sixbit::cuda {

namespace {
constexpr size_t kWorkspaceBytes = 32u << 20;

// One cuBLASLt handle and one workspace per process. Calls on different streams that run concurrently would
// share the workspace; every caller in sixbit uses one stream at a time.
struct LtContext {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
};

// The descriptors, layouts and heuristic's algorithm of one GEMM problem, built once and kept: the heuristic query
// costs tens of microseconds of host time per call, more than the GPU time of a small GEMM.
struct LtPlan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
};
using LtPlanKey = std::tuple<int, int, int, int, int64_t, int64_t, int64_t>;

std::mutex& lt_mutex() {
  static std::mutex m;
  return m;
}

LtContext& lt() {
  static LtContext ctx;
  static std::once_flag once;
  std::call_once(once, [] {
    SIXBIT_CUBLAS_CHECK(cublasLtCreate(&ctx.handle));
    SIXBIT_CUDA_CHECK(cudaMalloc(&ctx.workspace, kWorkspaceBytes));
  });
  return ctx;
}

const LtPlan& lt_plan_tn(cudaDataType_t ab, cudaDataType_t c_type, cublasComputeType_t compute, cudaDataType_t scale_type, int64_t M, int64_t N,
                         int64_t K) {
  static std::map<LtPlanKey, LtPlan> plans;
  LtContext& ctx = lt();
  std::lock_guard<std::mutex> lock(lt_mutex());
  const LtPlanKey key{ab, c_type, compute, scale_type, M, N, K};
  if (auto it = plans.find(key); it != plans.end()) return it->second;
  LtPlan p;
  cublasLtMatmulPreference_t pref = nullptr;
  SIXBIT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.op, compute, scale_type));
  const cublasOperation_t t = CUBLAS_OP_T, n = CUBLAS_OP_N;
  SIXBIT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
  SIXBIT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &n, sizeof n));
  SIXBIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.la, ab, static_cast<uint64_t>(K), static_cast<uint64_t>(N), K));
  SIXBIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.lb, ab, static_cast<uint64_t>(K), static_cast<uint64_t>(M), K));
  SIXBIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.lc, c_type, static_cast<uint64_t>(N), static_cast<uint64_t>(M), N));
  SIXBIT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  SIXBIT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspaceBytes, sizeof kWorkspaceBytes));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(ctx.handle, p.op, p.la, p.lb, p.lc, p.lc, pref, 1, &heur, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (hs != CUBLAS_STATUS_SUCCESS || found == 0) {  // nothing is cached: release the descriptors before reporting
    cublasLtMatrixLayoutDestroy(p.lc), cublasLtMatrixLayoutDestroy(p.lb), cublasLtMatrixLayoutDestroy(p.la), cublasLtMatmulDescDestroy(p.op);
  }
  SIXBIT_CUBLAS_CHECK(hs);
  SIXBIT_CHECK(found > 0, "cuBLASLt has no algorithm for this GEMM (M=", M, ", N=", N, ", K=", K, ")");
  p.algo = heur.algo;
  return plans.emplace(key, p).first->second;  // std::map never moves its elements: the reference stays valid
}

// C[N,M] (col-major, ld N) = op_T(Wcm[K,N]) * Xcm[K,M].
void lt_matmul_tn(cudaDataType_t ab, cudaDataType_t c_type, cublasComputeType_t compute, cudaDataType_t scale_type, const void* alpha, const void* beta,
                  const void* w, const void* x, void* c, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  const LtPlan& p = lt_plan_tn(ab, c_type, compute, scale_type, M, N, K);
  LtContext& ctx = lt();
  SIXBIT_CUBLAS_CHECK(cublasLtMatmul(ctx.handle, p.op, alpha, w, p.la, x, p.lb, beta, c, p.lc, c, p.lc, &p.algo, ctx.workspace, kWorkspaceBytes, stream));
}
}  // namespace

void gemm_i8_int32_cublaslt(const int8_t* a, const int8_t* w, int32_t* acc, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  SIXBIT_CHECK(K % 16 == 0, "int8 GEMM: K = ", K, " is not a multiple of 16");
  if (M == 0 || N == 0) return;
  const int32_t alpha = 1, beta = 0;
  lt_matmul_tn(CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I, &alpha, &beta, w, a, acc, M, N, K, stream);
}

void gemm_w8a8_cublaslt(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int32_t* acc, int64_t M,
                        int64_t N, int64_t K, cudaStream_t stream) {
  SIXBIT_CHECK(K % 16 == 0, "W8A8: K = ", K, " is not a multiple of 16");
  gemm_i8_int32_cublaslt(a, w, acc, M, N, K, stream);
  w8a8_epilogue(acc, sa, sw, bias, y, M, N, stream);
}
void gemm_w8a8_cublaslt(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, __nv_bfloat16* y, int32_t* acc,
                        int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  SIXBIT_CHECK(K % 16 == 0, "W8A8: K = ", K, " is not a multiple of 16");
  gemm_i8_int32_cublaslt(a, w, acc, M, N, K, stream);
  w8a8_epilogue(acc, sa, sw, bias, y, M, N, stream);
}

void gemm_bf16_cublaslt(const void* a, const void* w, void* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream, float alpha) {
  if (M == 0 || N == 0) return;
  const float beta = 0.0f;
  lt_matmul_tn(CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, &alpha, &beta, w, a, y, M, N, K, stream);
}

void gemm_bf16_f32out_cublaslt(const void* a, const void* w, float* y, float alpha, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  if (M == 0 || N == 0) return;
  const float beta = 0.0f;
  lt_matmul_tn(CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, &alpha, &beta, w, a, y, M, N, K, stream);
}

}  // namespace sixbit::cuda
