// sixbit/cuda/dit/lt_gemm.hpp: the cuBLASLt GEMMs of kFast with cached plans and fused epilogues.
// Y[M, N] = alpha * X[M, K] W[N, K]^T (+ bias[N]) (GELU), row-major, the TN layout (cuda/gemm_cublaslt.cu explains
// the column-major mapping; TN is the only fast int8 layout on Hopper).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace sixbit::cuda::dit {

enum class LtKind : uint8_t {
  kBf16ToBf16,  // bf16 x bf16 -> bf16, fp32 accumulate (full precision, W4A4 fast)
  kBf16ToF32,   // bf16 x bf16 -> fp32 (W4A8 fast accumulators, fp32-output non-block linears)
  kI8ToI32,     // int8 x int8 -> int32, exact (W8A8)
};

struct LtArgs {
  LtKind kind = LtKind::kBf16ToBf16;
  int64_t M = 0, N = 0, K = 0;
  const void* x = nullptr;  // [M, K]
  const void* w = nullptr;  // [N, K]
  void* y = nullptr;        // [M, N]
  float alpha = 1.0f;                  // host alpha (ignored when alpha_dev is set)
  const float* alpha_dev = nullptr;    // device alpha (W4A4: Ga * Gw), bf16 kinds only
  const void* bias = nullptr;          // bf16 for kBf16ToBf16, fp32 for kBf16ToF32; not for kI8ToI32
  bool gelu = false;                   // GELU(tanh) after the bias (cuBLASLt GELU_BIAS), kBf16ToBf16 only
};

inline constexpr size_t kLtWorkspaceBytes = 32u << 20;  // cuBLASLt's recommended size for Hopper (cuBLAS docs)

class LtGemm {
 public:
  // `workspace` (kLtWorkspaceBytes) and `zero_dev` (one fp32 0.0, the beta of device-pointer mode) belong to the
  // caller (CudaDitOps takes them from its accounted allocator).
  LtGemm(void* workspace, float* zero_dev);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  void run(const LtArgs& a, cudaStream_t stream);

 private:
  struct Plan;
  using Key = std::tuple<int, int64_t, int64_t, int64_t, bool, bool, bool>;
  std::map<Key, std::unique_ptr<Plan>> plans_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  float* zero_dev_ = nullptr;  // beta for device-pointer mode
};

}  // namespace sixbit::cuda::dit
