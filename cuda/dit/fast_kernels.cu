// kFast kernels of CudaDitOps besides attention: the fused row program launcher (row_kernels.cuh), NVFP4
// fake-quantization to bf16, bf16 tensor amax, the small vector ops, the TDC residual (a - b to bf16), the
// deterministic fp64 diff norms, and an fp32 x bf16-weight GEMV for the one-token time MLP.
// Build: part of sixbit_cuda_dit. Run: tests/gpu/gpu_dit_{verify,fast}.cpp, scripts/device.sh.
#include <cuda_bf16.h>

#include <algorithm>

#include "common/check.hpp"
#include "cuda/check.cuh"
#include "cuda/dit/dit_internal.hpp"
#include "cuda/dit/row_kernels.cuh"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace sixbit::cuda::dit {

namespace kernels {

// One thread per 16-element block: the emulator's own block quantizer (nvfp4_block.hpp) on the bf16 values widened
// to fp32, then each code decoded to e2m1 * ue4m3 (at most 5 significant bits, in [2^-10, 2688]: exact in bf16).
// The tensor's global decode scale G stays out of the values: the GEMM's alpha carries it.
__global__ void nvfp4_fakequant_kernel(const __nv_bfloat16* __restrict__ x, int64_t blocks, quant::Nvfp4Recipe recipe, const float* __restrict__ amax,
                                       __nv_bfloat16* __restrict__ out, float* __restrict__ global_decode) {
  const int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const quant::Nvfp4GlobalScales g = quant::nvfp4_global_scales(recipe, *amax);
  if (b == 0) *global_decode = g.decode;
  if (b >= blocks) return;
  const uint4* src = reinterpret_cast<const uint4*>(x + 16 * b);
  float v[16];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const uint4 u = src[h];
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const __nv_bfloat162 p = *reinterpret_cast<const __nv_bfloat162*>(&w[i]);
      v[8 * h + 2 * i] = __low2float(p), v[8 * h + 2 * i + 1] = __high2float(p);
    }
  }
  uint8_t packed[8], scale;
  quant::nvfp4_quantize_block(recipe, v, g, packed, &scale);
  const float s8 = fmt::ue4m3_decode(scale);
  uint4* dst = reinterpret_cast<uint4*>(out + 16 * b);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint8_t byte = packed[4 * h + i];
      w[i] = bf16x2_bits(fmt::e2m1_decode(fmt::e2m1_unpack(byte, 0)) * s8, fmt::e2m1_decode(fmt::e2m1_unpack(byte, 1)) * s8);
    }
    dst[h] = make_uint4(w[0], w[1], w[2], w[3]);
  }
}

__global__ void scalar_mul_kernel(const float* a, float b, float* out) { *out = *a * b; }

__global__ void f32_to_bf16_kernel(const float* __restrict__ x, __nv_bfloat16* __restrict__ y, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = __float2bfloat16_rn(x[i]);
}

__device__ __forceinline__ float load_any(const void* p, bool bf16, int64_t i) {
  return bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]) : static_cast<const float*>(p)[i];
}

__global__ void sub_to_bf16_kernel(const void* a, bool a_bf16, const void* b, bool b_bf16, __nv_bfloat16* __restrict__ out, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16_rn(load_any(a, a_bf16, i) - load_any(b, b_bf16, i));
}

// Deterministic fp64 sums in two fixed-shape stages: kDiffBlocks blocks each take one contiguous range of the
// tensor (the range depends on n only), each thread adds its elements in index order (stride 256 within the range),
// a fixed shared-memory tree per block gives the block's partial; then one block adds the partials with the same
// fixed tree. Same bits on every run; both stages are fully parallel (a serial pass over ~50k partials cost ~7 ms).
constexpr int kDiffThreads = 256, kDiffBlocks = 1024;
__device__ __forceinline__ void tree4(double (&sh)[4][kDiffThreads], double (&s)[4]) {
  for (int k = 0; k < 4; ++k) sh[k][threadIdx.x] = s[k];
  __syncthreads();
  for (int w = kDiffThreads / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w)
      for (int k = 0; k < 4; ++k) sh[k][threadIdx.x] += sh[k][threadIdx.x + w];
    __syncthreads();
  }
}
__global__ void __launch_bounds__(kDiffThreads) diff_partials_kernel(const void* a, bool a_bf16, const void* b, bool b_bf16, int64_t n,
                                                                     double* __restrict__ partials) {
  __shared__ double sh[4][kDiffThreads];
  double s[4] = {0.0, 0.0, 0.0, 0.0};
  const int64_t chunk = (n + kDiffBlocks - 1) / kDiffBlocks, lo = blockIdx.x * chunk, hi = lo + chunk < n ? lo + chunk : n;
  for (int64_t i = lo + threadIdx.x; i < hi; i += kDiffThreads) {
    const double bv = load_any(b, b_bf16, i), d = double(load_any(a, a_bf16, i)) - bv;
    s[0] += fabs(d), s[1] += fabs(bv), s[2] += d * d, s[3] += bv * bv;
  }
  tree4(sh, s);
  if (threadIdx.x == 0)
    for (int k = 0; k < 4; ++k) partials[4 * int64_t(blockIdx.x) + k] = sh[k][0];
}

__global__ void __launch_bounds__(kDiffThreads) diff_total_kernel(const double* __restrict__ partials, double* __restrict__ out4) {
  __shared__ double sh[4][kDiffThreads];
  double s[4] = {0.0, 0.0, 0.0, 0.0};
  for (int i = threadIdx.x; i < kDiffBlocks; i += kDiffThreads)
    for (int k = 0; k < 4; ++k) s[k] += partials[4 * i + k];
  tree4(sh, s);
  if (threadIdx.x == 0)
    for (int k = 0; k < 4; ++k) out4[k] = sh[k][0];
}

// y[n] = bias[n] + sum_k x[k] * w[n, k]: one warp per output, 8 bf16 weights (16 bytes) per lane per step.
__global__ void gemv_bf16w_kernel(const float* __restrict__ x, const __nv_bfloat16* __restrict__ w, const float* __restrict__ bias,
                                  float* __restrict__ y, int64_t N, int64_t K) {
  const int64_t n = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x & 31;
  if (n >= N) return;
  float acc = 0.0f;
  if (K % 8 == 0) {
    for (int64_t k = 8 * lane; k < K; k += 256) {
      const uint4 u = *reinterpret_cast<const uint4*>(w + n * K + k);
      const uint32_t q[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const __nv_bfloat162 p = *reinterpret_cast<const __nv_bfloat162*>(&q[i]);
        acc += x[k + 2 * i] * __low2float(p) + x[k + 2 * i + 1] * __high2float(p);
      }
    }
  } else {
    for (int64_t k = lane; k < K; k += 32) acc += x[k] * __bfloat162float(w[n * K + k]);
  }
  for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xFFFFFFFFu, acc, o);
  if (lane == 0) y[n] = bias ? acc + bias[n] : acc;
}

__global__ void add_modulation_kernel(const float* __restrict__ learned, const float* __restrict__ e, int64_t e_cols, float* __restrict__ m, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) m[i] = learned[i] + e[i % e_cols];
}

}  // namespace kernels

namespace {
unsigned grid_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  SIXBIT_CHECK(b < (int64_t{1} << 31), "kernel grid too large (", n, " elements)");
  return static_cast<unsigned>(b < 1 ? 1 : b);
}
}  // namespace

void run_row_program(const RowProgram& p, cudaStream_t s) {
  if (p.rows == 0) return;
  SIXBIT_CHECK(p.cols % 4 == 0 && p.cols > 0 && p.cols <= 16384, "fast row kernel: ", p.cols,
               " columns (needs a multiple of 4, at most 16384)");
  SIXBIT_CHECK(p.rows < (int64_t{1} << 31), "fast row kernel: too many rows");
  const int T = p.cols <= 2048 ? 128 : 256;
  const int64_t per = (p.cols / 4 + T - 1) / T;
  const unsigned grid = static_cast<unsigned>(p.rows);
  if (per <= 1) kernels::row_program_kernel<1><<<grid, T, 0, s>>>(p);
  else if (per <= 2) kernels::row_program_kernel<2><<<grid, T, 0, s>>>(p);
  else if (per <= 4) kernels::row_program_kernel<4><<<grid, T, 0, s>>>(p);
  else if (per <= 8) kernels::row_program_kernel<8><<<grid, T, 0, s>>>(p);
  else kernels::row_program_kernel<16><<<grid, T, 0, s>>>(p);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void nvfp4_fakequant_bf16(const void* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax, void* out, float* global_decode,
                          cudaStream_t s) {
  SIXBIT_CHECK(cols % 16 == 0, "NVFP4: last dimension ", cols, " is not a multiple of 16");
  const int64_t blocks = rows * cols / 16;
  kernels::nvfp4_fakequant_kernel<<<grid_for(blocks, 256), 256, 0, s>>>(static_cast<const __nv_bfloat16*>(x), blocks, recipe, amax,
                                                                      static_cast<__nv_bfloat16*>(out), global_decode);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void scalar_mul(const float* a, float b, float* out, cudaStream_t s) {
  kernels::scalar_mul_kernel<<<1, 1, 0, s>>>(a, b, out);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void f32_to_bf16(const float* x, void* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::f32_to_bf16_kernel<<<grid_for(n, 256), 256, 0, s>>>(x, static_cast<__nv_bfloat16*>(y), n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void sub_to_bf16(const void* a, DType ta, const void* b, DType tb, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::sub_to_bf16_kernel<<<grid_for(n, 256), 256, 0, s>>>(a, ta == DType::kBF16, b, tb == DType::kBF16, static_cast<__nv_bfloat16*>(out), n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

size_t fast_diff_norms_partials(int64_t) { return size_t(4 * kernels::kDiffBlocks); }

void fast_diff_norms(const void* a, DType ta, const void* b, DType tb, int64_t n, double* partials, double* out4, cudaStream_t s) {
  kernels::diff_partials_kernel<<<kernels::kDiffBlocks, kernels::kDiffThreads, 0, s>>>(a, ta == DType::kBF16, b, tb == DType::kBF16, n, partials);
  SIXBIT_CUDA_CHECK_LAUNCH();
  kernels::diff_total_kernel<<<1, kernels::kDiffThreads, 0, s>>>(partials, out4);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void gemv_bf16w(const float* x, const void* w, const float* bias, float* y, int64_t N, int64_t K, cudaStream_t s) {
  if (N == 0) return;
  kernels::gemv_bf16w_kernel<<<grid_for(N, 8), 256, 0, s>>>(x, static_cast<const __nv_bfloat16*>(w), bias, y, N, K);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void add_modulation_f32(const float* learned, const float* e, int64_t e_cols, float* m, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  kernels::add_modulation_kernel<<<grid_for(n, 256), 256, 0, s>>>(learned, e, e_cols, m, n);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

}  // namespace sixbit::cuda::dit
