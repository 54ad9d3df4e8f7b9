// Launchers for cuda/dit/verify_kernels.cuh (kVerify). Build: part of sixbit_cuda_dit; run: tests/gpu/gpu_dit_{verify,fast}.cpp.
#include <algorithm>

#include "common/check.hpp"
#include "cuda/check.cuh"
#include "cuda/dit/dit_internal.hpp"
#include "cuda/dit/verify_kernels.cuh"

namespace sixbit::cuda::dit {

namespace {
constexpr int kThreads = 256;
unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  SIXBIT_CHECK(b < (int64_t{1} << 31), "kernel grid too large (", n, " elements)");
  return static_cast<unsigned>(b);
}
}  // namespace

void verify_linear(const float* x, const float* w, const float* bias, float* y, int64_t M, int64_t N, int64_t K, cudaStream_t s) {
  if (M == 0 || N == 0) return;
  SIXBIT_CHECK((M + 63) / 64 < 65536, "verify linear: M = ", M, " is too large for the exact kernel's grid");
  const dim3 grid(static_cast<unsigned>((N + 63) / 64), static_cast<unsigned>((M + 63) / 64));
  kernels::verify_linear_kernel<<<grid, 256, 0, s>>>(x, w, bias, y, M, N, K);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_attention(const float* q, const float* k, const float* v, float* o, int64_t Sq, int64_t Sk, int heads, int d, float scale, float*,
                      cudaStream_t s) {
  if (Sq == 0) return;
  const size_t smem = size_t(d + Sk) * sizeof(float);
  SIXBIT_CHECK(smem <= 200 * 1024, "verify attention: ", Sk, " keys do not fit the exact kernel's shared memory (at most ~51,000)");
  SIXBIT_CHECK(Sq < (int64_t{1} << 31) && heads < 65536, "verify attention: grid too large");
  static size_t configured = 48 * 1024;
  if (smem > configured) {
    SIXBIT_CUDA_CHECK(cudaFuncSetAttribute(kernels::verify_attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024));
    configured = 200 * 1024;
  }
  kernels::verify_attention_kernel<<<dim3(static_cast<unsigned>(Sq), static_cast<unsigned>(heads)), 128, smem, s>>>(q, k, v, o, Sk, heads, d, scale);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

size_t verify_attention_scratch_floats(int64_t, int64_t, int) { return 0; }

void verify_layer_norm(float* x, int64_t rows, int64_t cols, const float* w, const float* b, float eps, cudaStream_t s) {
  if (rows == 0) return;
  kernels::verify_layer_norm_kernel<<<blocks_for(rows, 64), 64, 0, s>>>(x, rows, cols, w, b, eps);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_rms_norm(float* x, int64_t rows, int64_t cols, const float* w, float eps, cudaStream_t s) {
  if (rows == 0) return;
  kernels::verify_rms_norm_kernel<<<blocks_for(rows, 64), 64, 0, s>>>(x, rows, cols, w, eps);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_rope(float* x, int64_t rows, int64_t cols, int heads, const RopeTable& t, cudaStream_t s) {
  if (rows == 0) return;
  kernels::verify_rope_kernel<<<blocks_for(rows * t.pairs), kThreads, 0, s>>>(x, rows, cols, heads, t);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_gelu(float* x, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::verify_gelu_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_silu(float* x, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::verify_silu_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_add_modulation(const float* learned, const float* e, int64_t e_cols, float* m, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::verify_add_modulation_kernel<<<blocks_for(n), kThreads, 0, s>>>(learned, e, e_cols, m, n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_modulate(float* x, int64_t rows, int64_t cols, const float* shift, const float* scale, cudaStream_t s) {
  if (rows * cols == 0) return;
  kernels::verify_modulate_kernel<<<blocks_for(rows * cols), kThreads, 0, s>>>(x, rows, cols, shift, scale);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_gated_add(float* x, const float* y, const float* gate, int64_t rows, int64_t cols, cudaStream_t s) {
  if (rows * cols == 0) return;
  kernels::verify_gated_add_kernel<<<blocks_for(rows * cols), kThreads, 0, s>>>(x, y, gate, rows, cols);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_sub(const float* a, const float* b, float* d, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::verify_sub_kernel<<<blocks_for(n), kThreads, 0, s>>>(a, b, d, n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void verify_diff_norms(const float* a, const float* b, int64_t rows, int64_t cols, double* row_sums, double* out4, cudaStream_t s) {
  if (rows > 0) {
    kernels::verify_diff_rows_kernel<<<blocks_for(rows, 64), 64, 0, s>>>(a, b, rows, cols, row_sums);
    SIXBIT_CUDA_CHECK_LAUNCH();
  }
  kernels::sum_rows_in_order_kernel<<<1, 1, 0, s>>>(row_sums, rows, out4);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void glibc_math_on_device(const float* x, float* expf_out, float* tanhf_out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::glibc_math_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, expf_out, tanhf_out, n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

}  // namespace sixbit::cuda::dit
