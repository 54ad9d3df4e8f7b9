// sixbit/cuda/dit/flash_kernels.cuh: our own flash attention for kFast (bf16 in/out, fp32 softmax and accumulators),
// the FlashAttention-2 scheme (Dao 2023, arXiv 2307.08691): per block 64 queries of one head (4 warps x 16 rows),
// keys/values streamed in tiles of 64 through a two-stage cp.async pipeline, S = Q K^T and O += P V on the tensor
// cores with mma.sync m16n8k16 (bf16 -> fp32), online softmax in registers (exp2 with log2(e) folded into the scale).
// Fragment layouts are the PTX ISA's (mma.m16n8k16 .bf16: A rows g/g+8, cols 2t..2t+1 (+8); B k = 2t..2t+1 (+8),
// n = g; C rows g/g+8, cols 2t..2t+1; g = lane / 4, t = lane % 4); ldmatrix(.trans) feeds A, B = K rows, B = V^T.
// The C fragment of S is exactly the A fragment of P, so P never leaves registers. Rows padded by 8 bf16 (16 bytes)
// in shared memory: the 8 row addresses of an ldmatrix land in distinct banks.
// Build: part of sixbit_cuda_dit (sm_90a; plain sm_80 instructions). Run/verify: tests/gpu/gpu_dit_{verify,fast}.cpp
// (FastAttention.*), timed against cuDNN's SDPA in cuda/bench/dit_e2e_bench.cpp.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace sixbit::cuda::dit::kernels {

constexpr int kFlashBr = 64, kFlashBc = 64, kFlashThreads = 128;

__device__ __forceinline__ uint32_t smem_u32(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(p)));
}
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&p);
}

// Rows [row0, row0 + 64) x D columns of a row-major matrix (row stride ld elements) into a padded smem tile;
// rows at or past `limit` are zero-filled (cp.async with source size 0).
template <int D>
__device__ __forceinline__ void load_tile(__nv_bfloat16* tile, const __nv_bfloat16* base, int64_t ld, int64_t row0, int64_t limit) {
  constexpr int kChunks = D / 8, kPitch = D + 8;
  for (int c = threadIdx.x; c < 64 * kChunks; c += kFlashThreads) {
    const int row = c / kChunks, ch = c % kChunks;
    const bool valid = row0 + row < limit;
    const __nv_bfloat16* src = valid ? base + (row0 + row) * ld + ch * 8 : base;
    cp_async16(tile + row * kPitch + ch * 8, src, valid);
  }
}

// q, k, v, o: [S, heads * D] bf16 row-major; grid (ceil(Sq / 64), heads); dynamic smem 5 * 64 * (D + 8) bf16.
template <int D>
__global__ void __launch_bounds__(kFlashThreads) flash_attention_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                                                                        const __nv_bfloat16* __restrict__ v, __nv_bfloat16* __restrict__ o, int64_t Sq,
                                                                        int64_t Sk, int heads, float scale_log2) {
  constexpr int kPitch = D + 8, kTile = 64 * kPitch;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  __nv_bfloat16* Qs = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* Ks = Qs + kTile;      // two stages
  __nv_bfloat16* Vs = Ks + 2 * kTile;  // two stages
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int h = blockIdx.y;
  const int64_t ld = int64_t(heads) * D, q0 = int64_t(blockIdx.x) * kFlashBr;
  const __nv_bfloat16* qh = q + int64_t(h) * D;
  const __nv_bfloat16* kh = k + int64_t(h) * D;
  const __nv_bfloat16* vh = v + int64_t(h) * D;
  const int nt = int((Sk + kFlashBc - 1) / kFlashBc);

  load_tile<D>(Qs, qh, ld, q0, Sq);
  load_tile<D>(Ks, kh, ld, 0, Sk);
  load_tile<D>(Vs, vh, ld, 0, Sk);
  cp_async_commit();

  uint32_t qa[D / 16][4];
  float oacc[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) oacc[i][0] = oacc[i][1] = oacc[i][2] = oacc[i][3] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  for (int j = 0; j < nt; ++j) {
    if (j + 1 < nt) {
      const int st = (j + 1) & 1;
      load_tile<D>(Ks + st * kTile, kh, ld, int64_t(j + 1) * kFlashBc, Sk);
      load_tile<D>(Vs + st * kTile, vh, ld, int64_t(j + 1) * kFlashBc, Sk);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (j == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        ldmatrix_x4(qa[kk], Qs + (warp * 16 + (lane % 8) + 8 * ((lane / 8) % 2)) * kPitch + kk * 16 + 8 * (lane / 16));
    }
    const __nv_bfloat16* Kt = Ks + (j & 1) * kTile;
    const __nv_bfloat16* Vt = Vs + (j & 1) * kTile;

    float s[8][4];
#pragma unroll
    for (int nb = 0; nb < 8; ++nb) s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
      for (int np = 0; np < 4; ++np) {
        uint32_t b[4];
        ldmatrix_x4(b, Kt + (np * 16 + (lane % 8) + 8 * (lane / 16)) * kPitch + kk * 16 + 8 * ((lane / 8) % 2));
        mma_bf16(s[2 * np], qa[kk], b[0], b[1]);
        mma_bf16(s[2 * np + 1], qa[kk], b[2], b[3]);
      }

    const int64_t kv0 = int64_t(j) * kFlashBc;
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int nb = 0; nb < 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const bool valid = kv0 + nb * 8 + 2 * t + (e & 1) < Sk;
        s[nb][e] = valid ? s[nb][e] * scale_log2 : -INFINITY;
        if (e < 2) mx0 = fmaxf(mx0, s[nb][e]);
        else mx1 = fmaxf(mx1, s[nb][e]);
      }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xFFFFFFFFu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xFFFFFFFFu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xFFFFFFFFu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xFFFFFFFFu, mx1, 2));
    const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
    const float a0 = exp2f(m0 - n0), a1 = exp2f(m1 - n1);
    m0 = n0, m1 = n1;
    float r0 = 0.0f, r1 = 0.0f;
#pragma unroll
    for (int nb = 0; nb < 8; ++nb) {
      s[nb][0] = exp2f(s[nb][0] - n0), s[nb][1] = exp2f(s[nb][1] - n0);
      s[nb][2] = exp2f(s[nb][2] - n1), s[nb][3] = exp2f(s[nb][3] - n1);
      r0 += s[nb][0] + s[nb][1], r1 += s[nb][2] + s[nb][3];
    }
    l0 = l0 * a0 + r0, l1 = l1 * a1 + r1;
#pragma unroll
    for (int db = 0; db < D / 8; ++db) oacc[db][0] *= a0, oacc[db][1] *= a0, oacc[db][2] *= a1, oacc[db][3] *= a1;

#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const uint32_t pa[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]), pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, Vt + (kk * 16 + (lane % 8) + 8 * ((lane / 8) % 2)) * kPitch + dp * 16 + 8 * (lane / 16));
        mma_bf16(oacc[2 * dp], pa, b[0], b[1]);
        mma_bf16(oacc[2 * dp + 1], pa, b[2], b[3]);
      }
    }
    __syncthreads();  // this stage is refilled by the next iteration's loads
  }

  l0 += __shfl_xor_sync(0xFFFFFFFFu, l0, 1);
  l0 += __shfl_xor_sync(0xFFFFFFFFu, l0, 2);
  l1 += __shfl_xor_sync(0xFFFFFFFFu, l1, 1);
  l1 += __shfl_xor_sync(0xFFFFFFFFu, l1, 2);
  const float i0 = 1.0f / l0, i1 = 1.0f / l1;
  const int64_t row0 = q0 + warp * 16 + g, row1 = row0 + 8;
  __nv_bfloat16* oh = o + int64_t(h) * D;
#pragma unroll
  for (int db = 0; db < D / 8; ++db) {
    const int col = db * 8 + 2 * t;
    if (row0 < Sq) *reinterpret_cast<uint32_t*>(oh + row0 * ld + col) = pack_bf16(oacc[db][0] * i0, oacc[db][1] * i0);
    if (row1 < Sq) *reinterpret_cast<uint32_t*>(oh + row1 * ld + col) = pack_bf16(oacc[db][2] * i1, oacc[db][3] * i1);
  }
}

}  // namespace sixbit::cuda::dit::kernels
