// Launcher for our own flash attention (cuda/dit/flash_kernels.cuh), head_dim 32, 64 or 128.
// Build: part of sixbit_cuda_dit. Run: tests/gpu/gpu_dit_{verify,fast}.cpp (FastAttention.*), cuda/bench/dit_e2e_bench.cpp.
#include <cmath>

#include "common/check.hpp"
#include "cuda/check.cuh"
#include "cuda/dit/dit_internal.hpp"
#include "cuda/dit/flash_kernels.cuh"

namespace sixbit::cuda::dit {

namespace {
template <int D>
void launch(const void* q, const void* k, const void* v, void* o, int64_t Sq, int64_t Sk, int heads, float scale, cudaStream_t s) {
  const size_t smem = size_t(5 * 64 * (D + 8)) * sizeof(__nv_bfloat16);
  static bool configured = false;
  if (!configured) {
    SIXBIT_CUDA_CHECK(cudaFuncSetAttribute(kernels::flash_attention_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    configured = true;
  }
  const int64_t qb = (Sq + kernels::kFlashBr - 1) / kernels::kFlashBr;
  SIXBIT_CHECK(qb < (int64_t{1} << 31) && heads < 65536, "flash attention: grid too large");
  const float scale_log2 = scale * 1.4426950408889634f;  // exp(x) = exp2(x * log2(e))
  kernels::flash_attention_kernel<D><<<dim3(unsigned(qb), unsigned(heads)), kernels::kFlashThreads, smem, s>>>(
      static_cast<const __nv_bfloat16*>(q), static_cast<const __nv_bfloat16*>(k), static_cast<const __nv_bfloat16*>(v),
      static_cast<__nv_bfloat16*>(o), Sq, Sk, heads, scale_log2);
  SIXBIT_CUDA_CHECK_LAUNCH();
}
}  // namespace

bool own_flash_supported(int d) { return d == 32 || d == 64 || d == 128; }

void own_flash_attention(const void* q, const void* k, const void* v, void* o, int64_t Sq, int64_t Sk, int heads, int d, float scale,
                         cudaStream_t s) {
  if (Sq == 0) return;
  SIXBIT_CHECK(Sk > 0, "flash attention: no keys");
  SIXBIT_CHECK(reinterpret_cast<uintptr_t>(q) % 16 == 0 && reinterpret_cast<uintptr_t>(k) % 16 == 0 && reinterpret_cast<uintptr_t>(v) % 16 == 0,
               "flash attention: inputs must be 16-byte aligned");
  switch (d) {
    case 32: launch<32>(q, k, v, o, Sq, Sk, heads, scale, s); break;
    case 64: launch<64>(q, k, v, o, Sq, Sk, heads, scale, s); break;
    case 128: launch<128>(q, k, v, o, Sq, Sk, heads, scale, s); break;
    default: SIXBIT_CHECK(false, "flash attention: head_dim ", d, " unsupported (32, 64, 128)");
  }
}

}  // namespace sixbit::cuda::dit
