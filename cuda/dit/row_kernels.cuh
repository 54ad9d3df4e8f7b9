// sixbit/cuda/dit/row_kernels.cuh: the kFast fused row kernel. One block per row; each thread keeps kVec groups of
// 4 consecutive columns in registers (16-byte loads/stores, coalesced across the block), so a row is read once and
// written once whatever the stages: source decode (fp32 / bf16 / W8A8 or W4A8 accumulators with their epilogue),
// LayerNorm / RMSNorm (fp32 statistics, two passes over registers), modulation, RoPE (pairs stay inside a thread's
// group of 4), GELU(tanh) / SiLU, then one output form (bf16 + tensor amax, int8 per row, int8 as bf16, fp32, or a
// gated residual add). Not bit-exact (fp32 block reductions, CUDA tanhf/expf): kVerify is the exact mode.
// Build: part of sixbit_cuda_dit. Run: tests/gpu/gpu_dit_{verify,fast}.cpp (RowProgram tests), scripts/device.sh.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/bf16_bits.cuh"
#include "cuda/dit/row_program.hpp"
#include "emulation/formats/int8.hpp"

namespace sixbit::cuda::dit::kernels {

// Sum / max over the block, returned to every thread. `red` holds 32 floats; the leading barrier keeps a previous
// reduction's readers from seeing this one's partials.
__device__ __forceinline__ float block_sum(float x, float* red) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xFFFFFFFFu, x, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = x;
  __syncthreads();
  float t = (threadIdx.x & 31) < (blockDim.x >> 5) ? red[threadIdx.x & 31] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xFFFFFFFFu, t, o);
  return t;
}
__device__ __forceinline__ float block_max(float x, float* red) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xFFFFFFFFu, x, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = x;
  __syncthreads();
  float t = (threadIdx.x & 31) < (blockDim.x >> 5) ? red[threadIdx.x & 31] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) t = fmaxf(t, __shfl_xor_sync(0xFFFFFFFFu, t, o));
  return t;
}

__device__ __forceinline__ void load4_bf16(const void* base, int64_t idx, float v[4]) {
  const uint2 u = *reinterpret_cast<const uint2*>(static_cast<const __nv_bfloat16*>(base) + idx);
  const __nv_bfloat162 lo = *reinterpret_cast<const __nv_bfloat162*>(&u.x), hi = *reinterpret_cast<const __nv_bfloat162*>(&u.y);
  v[0] = __low2float(lo), v[1] = __high2float(lo), v[2] = __low2float(hi), v[3] = __high2float(hi);
}
__device__ __forceinline__ void store4_bf16(void* base, int64_t idx, const float v[4]) {
  *reinterpret_cast<uint2*>(static_cast<__nv_bfloat16*>(base) + idx) = make_uint2(bf16x2_bits(v[0], v[1]), bf16x2_bits(v[2], v[3]));
}

__device__ __forceinline__ void decode4(const RowProgram& p, int64_t r, int64_t c, float v[4]) {
  const int64_t idx = r * p.cols + c;
  switch (p.src) {
    case RowSrc::kF32: {
      const float4 a = *reinterpret_cast<const float4*>(static_cast<const float*>(p.src_ptr) + idx);
      v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w;
      break;
    }
    case RowSrc::kBF16: load4_bf16(p.src_ptr, idx, v); break;
    case RowSrc::kI32Acc: {
      const int4 a = *reinterpret_cast<const int4*>(static_cast<const int32_t*>(p.src_ptr) + idx);
      const float sa = p.row_scale[r];
      const float4 sw = *reinterpret_cast<const float4*>(p.col_scale + c);
      v[0] = (float(a.x) * sa) * sw.x, v[1] = (float(a.y) * sa) * sw.y, v[2] = (float(a.z) * sa) * sw.z, v[3] = (float(a.w) * sa) * sw.w;
      break;
    }
    case RowSrc::kF32Acc:
    default: {
      const float4 a = *reinterpret_cast<const float4*>(static_cast<const float*>(p.src_ptr) + idx);
      const float sa = p.row_scale ? p.row_scale[r] : 1.0f;
      v[0] = (a.x * sa) * p.alpha, v[1] = (a.y * sa) * p.alpha, v[2] = (a.z * sa) * p.alpha, v[3] = (a.w * sa) * p.alpha;
      break;
    }
  }
  if (p.bias && (p.src == RowSrc::kI32Acc || p.src == RowSrc::kF32Acc)) {
    const float4 b = *reinterpret_cast<const float4*>(p.bias + c);
    v[0] += b.x, v[1] += b.y, v[2] += b.z, v[3] += b.w;
  }
}

__device__ __forceinline__ float gelu_tanh_fast(float a) { return 0.5f * a * (1.0f + tanhf(0.7978845608028654f * (a + 0.044715f * a * a * a))); }

template <int kVec>
__device__ __forceinline__ void apply_stage(const RowProgram& p, const RowStage& st, int64_t r, float (&v)[kVec][4], float* red) {
  const int T = blockDim.x;
  const int G = int(p.cols / 4);
  switch (st.kind) {
    case RowStageKind::kLayerNorm:
    case RowStageKind::kRmsNorm: {
      float mean = 0.0f;
      if (st.kind == RowStageKind::kLayerNorm) {
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < kVec; ++i)
          if (threadIdx.x + i * T < G) s += (v[i][0] + v[i][1]) + (v[i][2] + v[i][3]);
        mean = block_sum(s, red) / float(p.cols);
      }
      float q = 0.0f;
#pragma unroll
      for (int i = 0; i < kVec; ++i)
        if (threadIdx.x + i * T < G)
#pragma unroll
          for (int e = 0; e < 4; ++e) q += (v[i][e] - mean) * (v[i][e] - mean);
      const float inv = rsqrtf(block_sum(q, red) / float(p.cols) + st.eps);
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        const int g = threadIdx.x + i * T;
        if (g >= G) continue;
        float w[4] = {1.0f, 1.0f, 1.0f, 1.0f}, b[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (st.w) { const float4 t = reinterpret_cast<const float4*>(st.w)[g]; w[0] = t.x, w[1] = t.y, w[2] = t.z, w[3] = t.w; }
        if (st.b) { const float4 t = reinterpret_cast<const float4*>(st.b)[g]; b[0] = t.x, b[1] = t.y, b[2] = t.z, b[3] = t.w; }
#pragma unroll
        for (int e = 0; e < 4; ++e) v[i][e] = (v[i][e] - mean) * inv * w[e] + b[e];
      }
      break;
    }
    case RowStageKind::kModulate:
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        const int g = threadIdx.x + i * T;
        if (g >= G) continue;
        const float4 sc = reinterpret_cast<const float4*>(st.scale)[g], sh = reinterpret_cast<const float4*>(st.shift)[g];
        v[i][0] = v[i][0] * (1.0f + sc.x) + sh.x, v[i][1] = v[i][1] * (1.0f + sc.y) + sh.y;
        v[i][2] = v[i][2] * (1.0f + sc.z) + sh.z, v[i][3] = v[i][3] * (1.0f + sc.w) + sh.w;
      }
      break;
    case RowStageKind::kRope: {
      const RopeTable& t = p.rope;
      const int64_t pf = r / (int64_t(t.grid_h) * t.grid_w), ph = (r / t.grid_w) % t.grid_h, pw = r % t.grid_w;
      const int d = int(p.cols / p.heads);
      const float* cs = static_cast<const float*>(t.cos);
      const float* sn = static_cast<const float*>(t.sin);
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        const int g = threadIdx.x + i * T;
        if (g >= G) continue;
#pragma unroll
        for (int e = 0; e < 4; e += 2) {
          const int j = ((4 * g + e) % d) / 2;
          const int axis = j < t.end0 ? 0 : (j < t.end1 ? 1 : 2);
          const int64_t row = axis == 0 ? pf : (axis == 1 ? t.grid_f + ph : int64_t(t.grid_f) + t.grid_h + pw);
          const float c = cs[row * t.pairs + j], s = sn[row * t.pairs + j];
          const float a = v[i][e], b = v[i][e + 1];
          v[i][e] = a * c - b * s, v[i][e + 1] = a * s + b * c;
        }
      }
      break;
    }
    case RowStageKind::kGelu:
#pragma unroll
      for (int i = 0; i < kVec; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) v[i][e] = gelu_tanh_fast(v[i][e]);
      break;
    case RowStageKind::kSilu:
    default:
#pragma unroll
      for (int i = 0; i < kVec; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) v[i][e] = v[i][e] / (1.0f + __expf(-v[i][e]));
      break;
  }
}

template <int kVec>
__global__ void __launch_bounds__(256) row_program_kernel(const RowProgram p) {
  __shared__ float red[32];
  const int64_t r = blockIdx.x;
  const int T = blockDim.x;
  const int G = int(p.cols / 4);
  float v[kVec][4];
#pragma unroll
  for (int i = 0; i < kVec; ++i) {
    const int g = threadIdx.x + i * T;
    if (g < G) decode4(p, r, 4 * int64_t(g), v[i]);
    else v[i][0] = v[i][1] = v[i][2] = v[i][3] = 0.0f;
  }
#pragma unroll
  for (int s = 0; s < kMaxStages; ++s)  // unrolled: the stage array stays in the parameter space, never local memory
    if (s < p.n_stages) apply_stage<kVec>(p, p.stages[s], r, v, red);

  const int64_t row0 = r * p.cols;
  if (p.out == RowOut::kInt8 || p.out == RowOut::kInt8AsBF16) {
    float m = 0.0f;
#pragma unroll
    for (int i = 0; i < kVec; ++i)
      if (threadIdx.x + i * T < G)
#pragma unroll
        for (int e = 0; e < 4; ++e) m = fmaxf(m, fabsf(v[i][e]));
    const fmt::Int8Scale s = fmt::int8_scale_from_amax(block_max(m, red));
    if (threadIdx.x == 0) p.out_row_scale[r] = s.scale;
#pragma unroll
    for (int i = 0; i < kVec; ++i) {
      const int g = threadIdx.x + i * T;
      if (g >= G) continue;
      int8_t q[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) q[e] = fmt::int8_encode(v[i][e], s.inv_scale);
      if (p.out == RowOut::kInt8) {
        char4 o;
        o.x = q[0], o.y = q[1], o.z = q[2], o.w = q[3];
        *reinterpret_cast<char4*>(static_cast<int8_t*>(p.out_ptr) + row0 + 4 * g) = o;
      } else {
        const float f[4] = {float(q[0]), float(q[1]), float(q[2]), float(q[3])};
        store4_bf16(p.out_ptr, row0 + 4 * g, f);
      }
    }
    return;
  }
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < kVec; ++i) {
    const int g = threadIdx.x + i * T;
    if (g >= G) continue;
    const int64_t idx = row0 + 4 * int64_t(g);
    switch (p.out) {
      case RowOut::kF32: *reinterpret_cast<float4*>(static_cast<float*>(p.out_ptr) + idx) = make_float4(v[i][0], v[i][1], v[i][2], v[i][3]); break;
      case RowOut::kBF16: {
        store4_bf16(p.out_ptr, idx, v[i]);
        if (p.amax_bits)
#pragma unroll
          for (int e = 0; e < 4; ++e) amax = fmaxf(amax, fabsf(__bfloat162float(__float2bfloat16_rn(v[i][e]))));
        break;
      }
      case RowOut::kAddF32: {
        float4 x = *reinterpret_cast<const float4*>(static_cast<const float*>(p.res_ptr) + idx);
        if (p.gate) {
          const float4 gt = *reinterpret_cast<const float4*>(p.gate + 4 * g);
          x.x += v[i][0] * gt.x, x.y += v[i][1] * gt.y, x.z += v[i][2] * gt.z, x.w += v[i][3] * gt.w;
        } else {
          x.x += v[i][0], x.y += v[i][1], x.z += v[i][2], x.w += v[i][3];
        }
        *reinterpret_cast<float4*>(static_cast<float*>(p.out_ptr) + idx) = x;
        break;
      }
      case RowOut::kAddBF16:
      default: {
        float x[4];
        load4_bf16(p.res_ptr, idx, x);
        float gt[4] = {1.0f, 1.0f, 1.0f, 1.0f};
        if (p.gate) { const float4 t = *reinterpret_cast<const float4*>(p.gate + 4 * g); gt[0] = t.x, gt[1] = t.y, gt[2] = t.z, gt[3] = t.w; }
#pragma unroll
        for (int e = 0; e < 4; ++e) x[e] += v[i][e] * gt[e];
        store4_bf16(p.out_ptr, idx, x);
        break;
      }
    }
  }
  if (p.out == RowOut::kBF16 && p.amax_bits) {
    const float m = block_max(amax, red);  // |value| >= 0 orders like its bits: an unsigned atomicMax is an exact max
    if (threadIdx.x == 0) atomicMax(p.amax_bits, __float_as_uint(m));
  }
}

}  // namespace sixbit::cuda::dit::kernels
