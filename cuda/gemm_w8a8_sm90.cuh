// sixbit/cuda/gemm_w8a8_sm90.cuh: W8A8 on Hopper tensor cores (wgmma, s8 x s8 -> s32) with the exact epilogue fused:
// Y[M,N] = (float(A[M,K] W[N,K]^T) * sa[m]) * sw[n] (+ bias[n]), fp32 or bf16 out, bit-identical to
// emulation/gemm/qgemm.hpp (the int32 sums are exact in any order; the epilogue is the same fp32 operations).
// It replaces cuBLASLt + a separate epilogue pass, whose int32 round trip through memory cost as much as the GEMM.
//
// Structure (the warp-specialized, persistent form of CUTLASS's sm90 kernels and DeepGEMM, written from the PTX ISA):
//   - one CTA per SM, looping over 128 x 256 output tiles (m-major: concurrent CTAs share A rows and all of W in L2);
//   - warpgroup 0: one thread issues TMA copies of A[128 x 128] and W[256 x 128] (128-byte swizzled) into a
//     4-stage ring, each stage guarded by a "full" mbarrier (copy bytes landed) and an "empty" one (consumers done);
//   - warpgroups 1 and 2: 64 rows each, 4 wgmma m64n256k32 per stage into 128 s32 registers per thread, then the
//     epilogue straight from registers to global memory. While they run the epilogue the producer already fills the
//     ring for their next tile.
// Build: part of sixbit_cuda (sm_90a); test: tests/gpu/gpu_gemm_sm90.cpp; bench: cuda_bench (scripts/device.sh qbench).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/bf16_bits.cuh"
#include "cuda/sm90_async.cuh"
#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::cuda::sm90 {

constexpr int kW8a8BM = 128, kW8a8BN = 256, kW8a8BK = 128, kW8a8Stages = 3;
constexpr int kW8a8ABytes = kW8a8BM * kW8a8BK, kW8a8WBytes = kW8a8BN * kW8a8BK, kW8a8StageBytes = kW8a8ABytes + kW8a8WBytes;
constexpr int kW8a8Threads = 384;  // producer warpgroup + 2 consumer warpgroups
constexpr int kW8a8ConsumerWarps = 8;
// Output staging for the TMA-store epilogue, per consumer warpgroup: 4 slabs of 64 rows x 128 bytes (32 fp32 or 64
// bf16 columns each, 128-byte swizzled like the loads): all 256 bf16 columns in one round, fp32 in two.
constexpr int kW8a8SlabBytes = 64 * 128, kW8a8Slabs = 4, kW8a8StagingBytes = kW8a8Slabs * kW8a8SlabBytes;
// Per consumer warpgroup, its tile's epilogue operands: sw and bias of the 256 columns, sa of its 64 rows.
struct W8a8EpilogueScales {
  float sw[kW8a8BN], bias[kW8a8BN], sa[kW8a8BM / 2];
};
// Ring (3 stages: 144 KB) + staging (64 KB) + barriers + scales + up to 1023 bytes to align to 1024 (the 128-byte
// swizzle's period): 214 KB of the 227 KB a block may have. 4 stages do not fit beside the staging.
constexpr int kW8a8SmemBytes =
    kW8a8Stages * kW8a8StageBytes + 2 * kW8a8StagingBytes + 2 * kW8a8Stages * 8 + 2 * static_cast<int>(sizeof(W8a8EpilogueScales)) + 1024;

__device__ __forceinline__ void w8a8_store2(float* y, int64_t i, float v0, float v1) { *reinterpret_cast<float2*>(y + i) = make_float2(v0, v1); }
__device__ __forceinline__ void w8a8_store2(__nv_bfloat16* y, int64_t i, float v0, float v1) {
  *reinterpret_cast<uint32_t*>(y + i) = bf16x2_bits(v0, v1);
}
__device__ __forceinline__ void w8a8_store1(float* y, int64_t i, float v) { y[i] = v; }
__device__ __forceinline__ void w8a8_store1(__nv_bfloat16* y, int64_t i, float v) { y[i] = __float2bfloat16_rn(v); }

// Starts the copies of a tile's epilogue operands into `sc` (thread t of the warpgroup: columns t and t + 128, row
// t if t < 64). Out-of-range entries are left alone: the epilogue never reads them.
__device__ __forceinline__ void w8a8_fetch_scales(W8a8EpilogueScales& sc, int t, int64_t row0, int64_t n0, const float* sa, const float* sw,
                                                  const float* bias, int64_t M, int64_t N) {
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    const int64_t c = n0 + t + j * 128;
    if (c < N) {
      cp_async_4(&sc.sw[t + j * 128], sw + c);
      if (bias) cp_async_4(&sc.bias[t + j * 128], bias + c);
    }
  }
  if (t < kW8a8BM / 2 && row0 + t < M) cp_async_4(&sc.sa[t], sa + row0 + t);
  cp_async_commit();
}

// The accumulator fragment of wgmma m64nN (PTX ISA, "Register fragment for accumulator D"): thread (warp w, lane l)
// of the warpgroup holds, for each 8-column group i, rows 16w + l/4 (d[4i], d[4i+1]) and 16w + l/4 + 8 (d[4i+2],
// d[4i+3]) at columns 8i + 2(l%4) and +1. `r_local`/`c_local`: the thread's first row and column inside the
// warpgroup's 64 x 256 block at (row0, n0). `pairs`: N even and y aligned for 2-wide stores.
template <typename OutT>
__device__ __forceinline__ void w8a8_epilogue_from_fragment(const int32_t (&acc)[128], const W8a8EpilogueScales& sc, int r_local, int c_local,
                                                            int64_t row0, int64_t n0, bool has_bias, OutT* __restrict__ y, int64_t M, int64_t N,
                                                            bool pairs) {
  const int64_t r[2] = {row0 + r_local, row0 + r_local + 8};
  const float s[2] = {sc.sa[r_local], sc.sa[r_local + 8]};
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    const int cl = c_local + 8 * i;
    const int64_t c = n0 + cl;
    if (c >= N) break;
    const bool two = c + 1 < N;
    const float w0 = sc.sw[cl], w1 = sc.sw[cl + 1];  // [cl + 1] unset past N: then unused
    const float b0 = sc.bias[cl], b1 = sc.bias[cl + 1];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      if (r[h] >= M) continue;
      float v0 = gemm::w8a8_epilogue(acc[4 * i + 2 * h], s[h], w0), v1 = gemm::w8a8_epilogue(acc[4 * i + 2 * h + 1], s[h], w1);
      if (has_bias) v0 = __fadd_rn(v0, b0), v1 = __fadd_rn(v1, b1);
      if (two && pairs) {
        w8a8_store2(y, r[h] * N + c, v0, v1);
      } else {
        w8a8_store1(y, r[h] * N + c, v0);
        if (two) w8a8_store1(y, r[h] * N + c + 1, v1);
      }
    }
  }
}

// Byte offset of (row r, byte b) in a slab of 128-byte rows under the 128-byte swizzle (16-byte chunk index XOR
// row % 8, the slab 1024-byte aligned): where TMA expects it for CU_TENSOR_MAP_SWIZZLE_128B. A warp's fragment
// writes then hit distinct banks (fp32: 2 wavefronts for 256 bytes, bf16: 1 for 128).
__device__ __forceinline__ int swizzle128_offset(int r, int b) { return r * 128 + ((((b >> 4) ^ r) & 7) << 4) + (b & 15); }
__device__ __forceinline__ void w8a8_stage2(uint8_t* dst, float v0, float v1) { *reinterpret_cast<float2*>(dst) = make_float2(v0, v1); }
__device__ __forceinline__ void w8a8_stage2_bf16(uint8_t* dst, float v0, float v1) { *reinterpret_cast<uint32_t*>(dst) = bf16x2_bits(v0, v1); }

// The epilogue through shared memory and TMA stores: each round writes the values of 4 slabs (128 fp32 or 256 bf16
// columns of the warpgroup's 64 rows) to `staging`, then thread 0 of the warpgroup issues one bulk tensor store per
// slab and the warpgroup moves on; the stores drain while the next tile's MMAs run. Rows and columns past the
// tensor are clipped by the store (their staged values are never written out). On entry the staging must be free
// (the caller waited for the previous tile's stores to read it); between rounds this waits for the first round's.
template <typename OutT>
__device__ __forceinline__ void w8a8_epilogue_tma_store(const int32_t (&acc)[128], const W8a8EpilogueScales& sc, int t, int64_t row0, int64_t n0,
                                                        bool has_bias, uint8_t* staging, const CUtensorMap* tmap_y, int barrier_id) {
  constexpr int kColsPerSlab = 128 / static_cast<int>(sizeof(OutT));
  constexpr int kColsPerRound = kColsPerSlab * kW8a8Slabs;
  constexpr int kRounds = kW8a8BN / kColsPerRound;  // 2 for fp32, 1 for bf16
  const int warp = t / 32, lane = t % 32, r_lo = warp * 16 + lane / 4, c_lo = 2 * (lane % 4);
  const float s[2] = {sc.sa[r_lo], sc.sa[r_lo + 8]};
#pragma unroll
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      if (t == 0) bulk_wait_group_read<0>();
      named_barrier_sync(barrier_id, 128);
    }
#pragma unroll
    for (int g = 0; g < kColsPerRound / 8; ++g) {
      const int i = round * (kColsPerRound / 8) + g;  // compile-time after unrolling: acc stays in registers
      const int cl = c_lo + 8 * i, cr = c_lo + 8 * g;  // column in the tile, in this round
      const int slab = cr / kColsPerSlab, b = (cr % kColsPerSlab) * static_cast<int>(sizeof(OutT));
      const float w0 = sc.sw[cl], w1 = sc.sw[cl + 1];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float v0 = gemm::w8a8_epilogue(acc[4 * i + 2 * h], s[h], w0), v1 = gemm::w8a8_epilogue(acc[4 * i + 2 * h + 1], s[h], w1);
        if (has_bias) v0 = __fadd_rn(v0, sc.bias[cl]), v1 = __fadd_rn(v1, sc.bias[cl + 1]);
        uint8_t* dst = staging + slab * kW8a8SlabBytes + swizzle128_offset(r_lo + 8 * h, b);
        if constexpr (sizeof(OutT) == 4) w8a8_stage2(dst, v0, v1);
        else w8a8_stage2_bf16(dst, v0, v1);
      }
    }
    fence_proxy_async_shared();
    named_barrier_sync(barrier_id, 128);
    if (t == 0) {
#pragma unroll
      for (int slab = 0; slab < kW8a8Slabs; ++slab)
        tma_store_2d(tmap_y, staging + slab * kW8a8SlabBytes, static_cast<int32_t>(n0 + round * kColsPerRound + slab * kColsPerSlab),
                     static_cast<int32_t>(row0));
      bulk_commit_group();
    }
  }
}

// tmap_a: A[M, K] int8, box 128 x 128 bytes; tmap_w: W[N, K] int8, box 256 x 128 bytes; tmap_y (used when tma_y):
// Y[M, N], box 64 rows x 128 bytes; all 128-byte swizzled. Without tma_y (Y's rows not 16-byte multiples, or Y
// misaligned) the epilogue stores straight from registers (`pairs`: 2-wide stores allowed).
template <typename OutT>
__global__ void __launch_bounds__(kW8a8Threads, 1)
    gemm_w8a8_sm90_kernel(const __grid_constant__ CUtensorMap tmap_a, const __grid_constant__ CUtensorMap tmap_w,
                          const __grid_constant__ CUtensorMap tmap_y, const float* __restrict__ sa, const float* __restrict__ sw,
                          const float* __restrict__ bias, OutT* __restrict__ y, int64_t M, int64_t N, int64_t K, bool tma_y, bool pairs) {
#if SIXBIT_SM90A_DEVICE
  extern __shared__ uint8_t smem_raw[];
  uint8_t* ring = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t{1023});
  uint8_t* staging = ring + kW8a8Stages * kW8a8StageBytes;  // 1024-aligned: the stage size is a multiple of 1024
  uint64_t* full = reinterpret_cast<uint64_t*>(staging + 2 * kW8a8StagingBytes);
  uint64_t* empty = full + kW8a8Stages;
  const int64_t n_tiles = (N + kW8a8BN - 1) / kW8a8BN, tiles = ((M + kW8a8BM - 1) / kW8a8BM) * n_tiles;
  const int k_blocks = static_cast<int>((K + kW8a8BK - 1) / kW8a8BK);
  const int warpgroup = threadIdx.x / 128;

  if (threadIdx.x == 0) {
    for (int s = 0; s < kW8a8Stages; ++s) mbarrier_init(&full[s], 1), mbarrier_init(&empty[s], kW8a8ConsumerWarps);
    fence_barrier_init();
  }
  __syncthreads();

  if (warpgroup == 0) {  // producer
    warpgroup_reg_dealloc<40>();
    if (threadIdx.x != 0) return;
    int stage = 0;
    uint32_t phase = 0;
    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const int32_t m0 = static_cast<int32_t>((tile / n_tiles) * kW8a8BM), n0 = static_cast<int32_t>((tile % n_tiles) * kW8a8BN);
      for (int kb = 0; kb < k_blocks; ++kb) {
        mbarrier_wait(&empty[stage], phase ^ 1);
        uint8_t* a_tile = ring + stage * kW8a8StageBytes;
        mbarrier_arrive_expect_tx(&full[stage], kW8a8StageBytes);
        tma_load_2d(a_tile, &tmap_a, &full[stage], kb * kW8a8BK, m0);
        tma_load_2d(a_tile + kW8a8ABytes, &tmap_w, &full[stage], kb * kW8a8BK, n0);
        if (++stage == kW8a8Stages) stage = 0, phase ^= 1;
      }
    }
  } else {  // consumers: warpgroup 1 takes tile rows 0-63, warpgroup 2 rows 64-127
    warpgroup_reg_alloc<232>();
    const int half = warpgroup - 1, t = threadIdx.x % 128, warp = t / 32, lane = t % 32;
    W8a8EpilogueScales& scales = reinterpret_cast<W8a8EpilogueScales*>(empty + kW8a8Stages)[half];
    int stage = 0;
    uint32_t phase = 0;
    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const int64_t m0 = (tile / n_tiles) * kW8a8BM, n0 = (tile % n_tiles) * kW8a8BN, row0 = m0 + half * 64;
      named_barrier_sync(1 + half, 128);  // the previous tile's epilogue has read `scales`
      w8a8_fetch_scales(scales, t, row0, n0, sa, sw, bias, M, N);  // lands while the MMAs run
      int32_t acc[128];
#pragma unroll
      for (int i = 0; i < 128; ++i) acc[i] = 0, register_fence(acc[i]);
      // One stage's wgmmas stay in flight while the next stage's are issued; a stage goes back to the producer once
      // the wgmmas that read it have completed (wait_group 1 after the next commit).
      int prev_stage = -1;
      for (int kb = 0; kb < k_blocks; ++kb) {
        mbarrier_wait(&full[stage], phase);
        const uint8_t* a_tile = ring + stage * kW8a8StageBytes;
        const uint64_t desc_a = wgmma_desc_k_major_sw128(a_tile + half * 64 * kW8a8BK), desc_w = wgmma_desc_k_major_sw128(a_tile + kW8a8ABytes);
        wgmma_fence();
#pragma unroll
        for (int k = 0; k < kW8a8BK / 32; ++k) wgmma_m64n256k32_s32_s8_s8(acc, desc_a + 2 * k, desc_w + 2 * k, 1);
        wgmma_commit_group();
        wgmma_wait_group<1>();
        if (prev_stage >= 0 && lane == 0) mbarrier_arrive(&empty[prev_stage]);
        prev_stage = stage;
        if (++stage == kW8a8Stages) stage = 0, phase ^= 1;
      }
      wgmma_wait_group<0>();
#pragma unroll
      for (int i = 0; i < 128; ++i) register_fence(acc[i]);
      if (prev_stage >= 0 && lane == 0) mbarrier_arrive(&empty[prev_stage]);
      cp_async_wait_all();
      if (tma_y && t == 0) bulk_wait_group_read<0>();  // the previous tile's stores have read the staging
      named_barrier_sync(1 + half, 128);                // ... and every thread's scale copies are visible
      if (tma_y)
        w8a8_epilogue_tma_store<OutT>(acc, scales, t, row0, n0, bias != nullptr, staging + half * kW8a8StagingBytes, &tmap_y, 1 + half);
      else
        w8a8_epilogue_from_fragment(acc, scales, warp * 16 + lane / 4, 2 * (lane % 4), row0, n0, bias != nullptr, y, M, N, pairs);
    }
    if (tma_y && t == 0) bulk_wait_group_all();  // the staging stays valid until the last stores are done
  }
#else
  __trap();  // launched only where w8a8_sm90_supported() (sm_90a code on a compute-capability 9.0 device)
#endif
}

}  // namespace sixbit::cuda::sm90
