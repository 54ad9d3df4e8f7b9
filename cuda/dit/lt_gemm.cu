// cuBLASLt GEMMs for kFast (lt_gemm.hpp): one descriptor set and heuristic per (kind, shape, epilogue), reused.
// Build: part of sixbit_cuda_dit. Run: tests/gpu/gpu_dit_{verify,fast}.cpp, cuda/bench/dit_e2e_bench.cpp.
#include "cuda/dit/lt_gemm.hpp"

#include "common/check.hpp"
#include "cuda/check.cuh"

#define SIXBIT_LT_CHECK(expr)                                                                                            \
  do {                                                                                                                   \
    const cublasStatus_t sixbit_st_ = (expr);                                                                            \
    if (sixbit_st_ != CUBLAS_STATUS_SUCCESS)                                                                             \
      ::sixbit::detail::check_failed(#expr, __FILE__, __LINE__, "cuBLASLt status ", static_cast<int>(sixbit_st_));      \
  } while (0)

namespace sixbit::cuda::dit {

namespace {
constexpr size_t kWorkspaceBytes = kLtWorkspaceBytes;
}

struct LtGemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t lw = nullptr, lx = nullptr, ly = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (ly) cublasLtMatrixLayoutDestroy(ly);
    if (lx) cublasLtMatrixLayoutDestroy(lx);
    if (lw) cublasLtMatrixLayoutDestroy(lw);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

LtGemm::LtGemm(void* workspace, float* zero_dev) : workspace_(workspace), zero_dev_(zero_dev) { SIXBIT_LT_CHECK(cublasLtCreate(&handle_)); }

LtGemm::~LtGemm() {
  plans_.clear();
  if (handle_) cublasLtDestroy(handle_);
}

void LtGemm::run(const LtArgs& a, cudaStream_t stream) {
  SIXBIT_CHECK(a.K % 16 == 0 || a.kind != LtKind::kI8ToI32, "int8 GEMM: K = ", a.K, " is not a multiple of 16");
  SIXBIT_CHECK(!a.gelu || a.kind == LtKind::kBf16ToBf16, "GELU epilogue only on bf16 output");
  SIXBIT_CHECK(!a.alpha_dev || a.kind != LtKind::kI8ToI32, "device alpha only on bf16 GEMMs");
  if (a.M == 0 || a.N == 0) return;
  const Key key{int(a.kind), a.M, a.N, a.K, a.bias != nullptr, a.gelu, a.alpha_dev != nullptr};
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    auto p = std::make_unique<Plan>();
    const bool i8 = a.kind == LtKind::kI8ToI32;
    const cudaDataType_t ab = i8 ? CUDA_R_8I : CUDA_R_16BF;
    const cudaDataType_t c = i8 ? CUDA_R_32I : (a.kind == LtKind::kBf16ToF32 ? CUDA_R_32F : CUDA_R_16BF);
    SIXBIT_LT_CHECK(cublasLtMatmulDescCreate(&p->op, i8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F, i8 ? CUDA_R_32I : CUDA_R_32F));
    const cublasOperation_t t = CUBLAS_OP_T, n = CUBLAS_OP_N;
    SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
    SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &n, sizeof n));
    if (a.alpha_dev) {
      const cublasLtPointerMode_t pm = CUBLASLT_POINTER_MODE_DEVICE;
      SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof pm));
    }
    if (a.bias || a.gelu) {
      const cublasLtEpilogue_t ep = a.bias ? (a.gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS) : CUBLASLT_EPILOGUE_GELU;
      SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep));
      if (a.bias) {
        const cudaDataType_t bt = c;  // bias in the output type (bf16 or fp32)
        SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
      }
    }
    // Column-major C[N, M] = op_T(W as K x N) * X as K x M.
    SIXBIT_LT_CHECK(cublasLtMatrixLayoutCreate(&p->lw, ab, uint64_t(a.K), uint64_t(a.N), a.K));
    SIXBIT_LT_CHECK(cublasLtMatrixLayoutCreate(&p->lx, ab, uint64_t(a.K), uint64_t(a.M), a.K));
    SIXBIT_LT_CHECK(cublasLtMatrixLayoutCreate(&p->ly, c, uint64_t(a.N), uint64_t(a.M), a.N));
    cublasLtMatmulPreference_t pref = nullptr;
    SIXBIT_LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    SIXBIT_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspaceBytes, sizeof kWorkspaceBytes));
    cublasLtMatmulHeuristicResult_t heur{};
    int found = 0;
    const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(handle_, p->op, p->lw, p->lx, p->ly, p->ly, pref, 1, &heur, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    SIXBIT_CHECK(hs == CUBLAS_STATUS_SUCCESS && found > 0, "cuBLASLt has no algorithm for this GEMM (M=", a.M, ", N=", a.N, ", K=", a.K,
                 ", kind ", int(a.kind), ", status ", int(hs), ")");
    p->algo = heur.algo;
    it = plans_.emplace(key, std::move(p)).first;
  }
  Plan& p = *it->second;
  if (a.bias) SIXBIT_LT_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &a.bias, sizeof a.bias));
  const int32_t ia = 1, ib = 0;
  const float fb = 0.0f;
  const void* alpha = a.kind == LtKind::kI8ToI32 ? static_cast<const void*>(&ia) : (a.alpha_dev ? static_cast<const void*>(a.alpha_dev) : &a.alpha);
  const void* beta = a.kind == LtKind::kI8ToI32 ? static_cast<const void*>(&ib) : (a.alpha_dev ? static_cast<const void*>(zero_dev_) : &fb);
  SIXBIT_LT_CHECK(cublasLtMatmul(handle_, p.op, alpha, a.w, p.lw, a.x, p.lx, beta, a.y, p.ly, a.y, p.ly, &p.algo, workspace_, kWorkspaceBytes, stream));
}

}  // namespace sixbit::cuda::dit
