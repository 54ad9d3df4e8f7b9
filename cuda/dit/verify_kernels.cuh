// sixbit/cuda/dit/verify_kernels.cuh: the kVerify kernels of CudaDitOps. Each one is a transcription of the
// matching loop in reference/model/reference_ops.cpp: the same fp32/fp64 operations in the same order, one rounding
// each (the library is built with --fmad=false, and the code spells __fmul_rn/__fadd_rn where it matters), every
// reduction done sequentially by one thread in the reference's index order, transcendental functions from
// cuda/dit/glibc_mathf.hpp (glibc's own algorithms) and RoPE angles from host tables. So each output is the
// reference's bits. Correct first: one thread per row or per output; these are meant for the tiny/small presets.
// Build: part of sixbit_cuda_dit. Run: tests/gpu/gpu_dit_{verify,fast}.cpp (scripts/device.sh on the lent GPU).
#pragma once

#include <cstdint>

#include "cuda/dit/glibc_mathf.hpp"
#include "cuda/dit/row_program.hpp"

// ReferenceOps::attention's exponential: glibc's expf, or, once reference/model/fp32_kernels.cpp exists, its
// fp32-only Cephes exp_nonpositive (tests/gpu checks the device against the host's function either way).
#if __has_include("reference/model/fp32_kernels.hpp")
#define SIXBIT_REFERENCE_ATTENTION_EXP(x) glibc::cephes_exp_nonpositive(x)
#else
#define SIXBIT_REFERENCE_ATTENTION_EXP(x) glibc::glibc_expf(x)
#endif

namespace sixbit::cuda::dit::kernels {

// y[r, o] = bias ? acc + bias[o] : acc, acc = sum_i x[r, i] * w[o, i] in increasing i (ReferenceOps::linear).
// 64x64 output tile per block, 16 k values staged in shared memory at a time; each thread owns 4x4 outputs and
// adds its products in increasing k, so tiling does not change the order.
__global__ void __launch_bounds__(256) verify_linear_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                                                            float* __restrict__ y, int64_t M, int64_t N, int64_t K) {
  __shared__ float xs[16][64 + 1], ws[16][64 + 1];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t m0 = int64_t(blockIdx.y) * 64, n0 = int64_t(blockIdx.x) * 64;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
  for (int64_t k0 = 0; k0 < K; k0 += 16) {
    for (int e = threadIdx.x; e < 16 * 64; e += 256) {
      const int kk = e % 16, rr = e / 16;
      const int64_t m = m0 + rr, n = n0 + rr, k = k0 + kk;
      xs[kk][rr] = (m < M && k < K) ? x[m * K + k] : 0.0f;
      ws[kk][rr] = (n < N && k < K) ? w[n * K + k] : 0.0f;
    }
    __syncthreads();
    const int kmax = K - k0 < 16 ? int(K - k0) : 16;
    for (int kk = 0; kk < kmax; ++kk) {
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = __fadd_rn(acc[i][j], __fmul_rn(xs[kk][ty + 16 * i], ws[kk][tx + 16 * j]));
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
      if (m < M && n < N) y[m * N + n] = bias ? __fadd_rn(acc[i][j], bias[n]) : acc[i][j];
    }
}

// ReferenceOps::attention for one (query i, head h) per block: s_j = (sum_c q_c k_jc in c order) * scale; max;
// s_j = exp(s_j - max) (SIXBIT_REFERENCE_ATTENTION_EXP); sum in j order (one thread); o_c = sum_j (s_j / sum) * v_jc in j order (thread c).
// Dynamic shared memory: d + Sk floats.
__global__ void verify_attention_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v, float* __restrict__ o,
                                        int64_t Sk, int heads, int d, float scale) {
  extern __shared__ float sm[];
  float* qi = sm;
  float* s = sm + d;
  __shared__ float red[32];
  const int64_t i = blockIdx.x;
  const int h = blockIdx.y;
  const int64_t ld = int64_t(heads) * d;
  for (int c = threadIdx.x; c < d; c += blockDim.x) qi[c] = q[i * ld + int64_t(h) * d + c];
  __syncthreads();
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < Sk; j += blockDim.x) {
    const float* kj = k + j * ld + int64_t(h) * d;
    float acc = 0.0f;
    for (int c = 0; c < d; ++c) acc = __fadd_rn(acc, __fmul_rn(qi[c], kj[c]));
    s[j] = __fmul_rn(acc, scale);
    mx = fmaxf(mx, s[j]);  // a max does not depend on order (NaN is skipped, as std::max(mx, NaN) keeps mx)
  }
  for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xFFFFFFFFu, mx, off));
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = mx;
  __syncthreads();
  if (threadIdx.x == 0) {
    float m = red[0];
    for (int w = 1; w < int(blockDim.x >> 5); ++w) m = fmaxf(m, red[w]);
    red[0] = m;
  }
  __syncthreads();
  mx = red[0];
  for (int64_t j = threadIdx.x; j < Sk; j += blockDim.x) s[j] = SIXBIT_REFERENCE_ATTENTION_EXP(__fsub_rn(s[j], mx));
  __syncthreads();
  if (threadIdx.x == 0) {
    float sum = 0.0f;
    for (int64_t j = 0; j < Sk; ++j) sum = __fadd_rn(sum, s[j]);
    red[1] = sum;
  }
  __syncthreads();
  const float sum = red[1];
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j < Sk; ++j) acc = __fadd_rn(acc, __fmul_rn(__fdiv_rn(s[j], sum), v[j * ld + int64_t(h) * d + c]));
    o[i * ld + int64_t(h) * d + c] = acc;
  }
}

// ReferenceOps::layer_norm, one thread per row: fp64 mean and biased variance in column order, then fp32.
__global__ void verify_layer_norm_kernel(float* __restrict__ x, int64_t rows, int64_t cols, const float* __restrict__ w, const float* __restrict__ b,
                                         float eps) {
  const int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (r >= rows) return;
  float* xr = x + r * cols;
  double mean = 0.0, var = 0.0;
  for (int64_t c = 0; c < cols; ++c) mean = __dadd_rn(mean, double(xr[c]));
  mean = __ddiv_rn(mean, double(cols));
  for (int64_t c = 0; c < cols; ++c) {
    const double dv = __dsub_rn(double(xr[c]), mean);
    var = __dadd_rn(var, __dmul_rn(dv, dv));
  }
  var = __ddiv_rn(var, double(cols));
  const float m = float(mean), inv = float(__ddiv_rn(1.0, __dsqrt_rn(__dadd_rn(var, double(eps)))));
  for (int64_t c = 0; c < cols; ++c) {
    float y = __fmul_rn(__fsub_rn(xr[c], m), inv);
    if (w) y = __fadd_rn(__fmul_rn(y, w[c]), b ? b[c] : 0.0f);
    xr[c] = y;
  }
}

// ReferenceOps::rms_norm, one thread per row: fp64 sum of squares, inv in fp64 rounded to fp32, (x * inv) * w.
__global__ void verify_rms_norm_kernel(float* __restrict__ x, int64_t rows, int64_t cols, const float* __restrict__ w, float eps) {
  const int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (r >= rows) return;
  float* xr = x + r * cols;
  double ss = 0.0;
  for (int64_t c = 0; c < cols; ++c) ss = __dadd_rn(ss, __dmul_rn(double(xr[c]), double(xr[c])));
  const float inv = float(__ddiv_rn(1.0, __dsqrt_rn(__dadd_rn(__ddiv_rn(ss, double(cols)), double(eps)))));
  for (int64_t c = 0; c < cols; ++c) xr[c] = __fmul_rn(__fmul_rn(xr[c], inv), w[c]);
}

// ReferenceOps::rope: one thread per (row, pair); cos/sin from the host's libm (double tables); the rotation in fp64.
__global__ void verify_rope_kernel(float* __restrict__ x, int64_t rows, int64_t cols, int heads, RopeTable t) {
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= rows * t.pairs) return;
  const int64_t r = idx / t.pairs;
  const int j = int(idx % t.pairs);
  const int axis = j < t.end0 ? 0 : (j < t.end1 ? 1 : 2);
  const int64_t row = axis == 0 ? r / (int64_t(t.grid_h) * t.grid_w)
                                : (axis == 1 ? t.grid_f + (r / t.grid_w) % t.grid_h : int64_t(t.grid_f) + t.grid_h + r % t.grid_w);
  const double cs = static_cast<const double*>(t.cos)[row * t.pairs + j];
  const double sn = static_cast<const double*>(t.sin)[row * t.pairs + j];
  const int64_t d = cols / heads;
  for (int h = 0; h < heads; ++h) {
    float* p = x + r * cols + h * d + 2 * j;
    const double a = p[0], b = p[1];
    p[0] = float(__dsub_rn(__dmul_rn(a, cs), __dmul_rn(b, sn)));
    p[1] = float(__dadd_rn(__dmul_rn(a, sn), __dmul_rn(b, cs)));
  }
}

// 0.5f * a * (1.0f + tanh(k * (a + 0.044715f * a * a * a))), evaluated left to right as the C++ source parses it.
__global__ void verify_gelu_kernel(float* __restrict__ x, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float k = 0.7978845608028654f, a = x[i];
  const float cube = __fmul_rn(__fmul_rn(__fmul_rn(0.044715f, a), a), a);
  const float t = glibc::glibc_tanhf(__fmul_rn(k, __fadd_rn(a, cube)));
  x[i] = __fmul_rn(__fmul_rn(0.5f, a), __fadd_rn(1.0f, t));
}

__global__ void verify_silu_kernel(float* __restrict__ x, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  x[i] = __fdiv_rn(x[i], __fadd_rn(1.0f, glibc::glibc_expf(-x[i])));
}

__global__ void verify_add_modulation_kernel(const float* __restrict__ learned, const float* __restrict__ e, int64_t e_cols, float* __restrict__ m,
                                             int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) m[i] = __fadd_rn(learned[i], e[i % e_cols]);
}

__global__ void verify_modulate_kernel(float* __restrict__ x, int64_t rows, int64_t cols, const float* __restrict__ shift,
                                       const float* __restrict__ scale) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t c = i % cols;
  x[i] = __fadd_rn(__fmul_rn(x[i], __fadd_rn(1.0f, scale[c])), shift[c]);
}

__global__ void verify_gated_add_kernel(float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ gate, int64_t rows,
                                        int64_t cols) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= rows * cols) return;
  x[i] = __fadd_rn(x[i], gate ? __fmul_rn(y[i], gate[i % cols]) : y[i]);
}

__global__ void verify_sub_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ d, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) d[i] = __fsub_rn(a[i], b[i]);
}

// ReferenceOps::diff_norms: per row in column order in fp64 (one thread per row), then rows in order (one thread).
__global__ void verify_diff_rows_kernel(const float* __restrict__ a, const float* __restrict__ b, int64_t rows, int64_t cols, double* __restrict__ out) {
  const int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (r >= rows) return;
  double l1d = 0.0, l1r = 0.0, l2d = 0.0, l2r = 0.0;
  for (int64_t c = 0; c < cols; ++c) {
    const double dv = __dsub_rn(double(a[r * cols + c]), double(b[r * cols + c])), ref = b[r * cols + c];
    l1d = __dadd_rn(l1d, fabs(dv));
    l1r = __dadd_rn(l1r, fabs(ref));
    l2d = __dadd_rn(l2d, __dmul_rn(dv, dv));
    l2r = __dadd_rn(l2r, __dmul_rn(ref, ref));
  }
  out[4 * r] = l1d, out[4 * r + 1] = l1r, out[4 * r + 2] = l2d, out[4 * r + 3] = l2r;
}

__global__ void sum_rows_in_order_kernel(const double* __restrict__ rows4, int64_t rows, double* __restrict__ out4) {
  double t[4] = {0.0, 0.0, 0.0, 0.0};
  for (int64_t r = 0; r < rows; ++r)
    for (int k = 0; k < 4; ++k) t[k] = __dadd_rn(t[k], rows4[4 * r + k]);
  for (int k = 0; k < 4; ++k) out4[k] = t[k];
}

__global__ void glibc_math_kernel(const float* __restrict__ x, float* __restrict__ e, float* __restrict__ t, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  e[i] = glibc::glibc_expf(x[i]);
  t[i] = glibc::glibc_tanhf(x[i]);
}

}  // namespace sixbit::cuda::dit::kernels
