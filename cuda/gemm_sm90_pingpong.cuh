// sixbit/cuda/gemm_sm90_pingpong.cuh: W8A8 on Hopper tensor cores with the epilogue overlapped with MMAs, y =
// (float(acc) * sa[m]) * sw[n] (+ bias[n]) bit-identical to emulation/gemm/qgemm.hpp (as gemm_sm90.cuh's W8A8Sm90).
//
// Why a second schedule: in gemm_sm90.cuh both consumer warpgroups work on one 128 x 256 tile and then both run its
// epilogue, so the tensor cores idle for the epilogue of every tile (at K = 1536 the main loop alone reaches 2.1x
// bf16, the whole GEMM 1.4x: docs/perf-h100.md). Here each consumer warpgroup owns a whole 128 x kTileN tile (kTileN
// = 128 or 192) and the two take turns (CUTLASS's "ping-pong" schedule, KernelTmaWarpSpecializedPingpong): while one
// runs its epilogue the other issues its MMAs. vLLM's W8A8 (cutlass_scaled_mm, sm90 int8) defaults to 128 x 128 x 128
// tiles, clusters of 2 along M.
//   - one CTA per SM, persistent; warpgroup 0's thread 0 issues the TMA copies of every tile's K blocks, in the order
//     the tiles are taken (the CTA's j-th tile goes to consumer warpgroup j % 2), into a ring of 5 (128 x 192: 4)
//     stages guarded by "full" / "empty" mbarriers;
//   - the turn: a consumer warpgroup starts a tile's MMAs only after the other has issued all of its previous tile's
//     (mbarriers `turn`). Besides keeping the MMAs of one tile together, this is what makes the ring's parity waits
//     sound: a warpgroup's first K block is then at most one lap of the ring ahead of the last one that landed;
//   - per K block (128 bytes of K): 2 x 4 wgmma m64n128k32 (m64n192k32) into kTileN int32 accumulators per thread;
//   - kCluster = 2: the two CTAs of a cluster take vertically adjacent tiles (same columns of W); each loads its own A
//     block and half of the W block, multicast to both, so W's L2 traffic is halved (the 128 x 128 tile reads 33% more
//     from L2 per MAC than 128 x 256 without it). A stage is refilled only when both CTAs' consumers have released it
//     (each consumer warp arrives on the "empty" barrier of both CTAs).
// On the H100 (docs/perf-h100.md): without clusters the main loop is L2-bound (1.32-1.42x bf16 at K = 1536, below the
// cooperative kernel). With them the 128 x 128 tile reaches 1250-1290 TOP/s at K = 8960, 80% of the cooperative main
// loop: the ratio of their shared-memory traffic, 40 instead of 32 KB per 10^6 MACs (W is read by both m64 halves, and
// the TMA writes per MAC grow as the tile shrinks). The 128 x 192 tile moves 33 KB and runs as fast as the
// cooperative kernel there (1.89-1.91x against 1.91-1.94x bf16), so with its epilogue hidden it is the fastest up to
// K = 6144 (Sm90Schedule::kAuto's rule in gemm_sm90.cu). The shared-memory account is the model that fits every
// variant measured (the profile shows no unit saturated), and the wider tile's gain is what it predicted.
// Build: part of sixbit_cuda (sm_90a); test: tests/gpu/gpu_gemm_sm90.cpp; bench: cuda_bench (scripts/device.sh qbench).
#pragma once

#include <cstdint>

#include "cuda/gemm_sm90_epilogue.cuh"
#include "cuda/sm90_async.cuh"
#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::cuda::sm90::pingpong {

constexpr int kBM = 128, kBK = 128;  // a consumer warpgroup's tile rows; K block: 128 bytes of int8 (the swizzle width)
constexpr int kThreads = 384;        // producer warpgroup + 2 consumer warpgroups
constexpr int kABytes = kBM * 128;

// A consumer warpgroup's tile is 128 x kTileN (kTileN accumulator registers per thread): 128 or 192 columns. The wider
// tile moves fewer bytes through shared memory per MAC (33 instead of 40 KB per 10^6: W's wgmma reads are per m64
// half either way, A's and the TMA writes per MAC shrink), at the price of a 4-stage ring and output slabs of one m64
// fragment (64 rows) so that the ring, the staging and the scales fit in 227 KB.
template <int kTileN>
struct TileShape {
  static_assert(kTileN == 128 || kTileN == 192, "tiles of 128 x 128 or 128 x 192");
  static constexpr int kStages = kTileN == 128 ? 5 : 4;
  static constexpr int kSlabFrags = kTileN == 128 ? 2 : 1;  // output slab: 128 or 64 rows x 128 bytes
  static constexpr int kWBytes = kTileN * 128, kStageBytes = kABytes + kWBytes;
  // setmaxnreg: 2 x 128 consumer threads + 128 producer threads within 64K registers. The 128 x 192 tile's 192
  // accumulators need 240 per consumer thread (at 232 ptxas spilled 28-36 bytes); its producer thread then has 24.
  static constexpr int kConsumerRegs = kTileN == 128 ? 232 : 240, kProducerRegs = kTileN == 128 ? 40 : 24;
  static_assert(2 * 128 * kConsumerRegs + 128 * kProducerRegs <= 65536, "the register file holds 64K registers");
  static constexpr int kStagingBytes = kSlabBuffers * kSlabBytes<kSlabFrags>;  // per consumer warpgroup
};

// One m64 half of a K step: m64n128k32 or m64n192k32 by the accumulator half's size.
__device__ __forceinline__ void wgmma_half(int32_t (&d)[64], uint64_t desc_a, uint64_t desc_w) { wgmma_m64n128k32_s32_s8_s8(d, desc_a, desc_w, 1); }
__device__ __forceinline__ void wgmma_half(int32_t (&d)[96], uint64_t desc_a, uint64_t desc_w) { wgmma_m64n192k32_s32_s8_s8(d, desc_a, desc_w, 1); }

struct W8A8 {
  using Acc = int32_t;
  __device__ static float value(int32_t acc, float row, float col, float) { return gemm::w8a8_epilogue(acc, row, col); }
};

// Per consumer warpgroup: its tile's column scales and bias (row scales are loaded into registers).
template <int kTileN>
struct TileScales {
  float col[kTileN], bias[kTileN];
};

template <int kTileN>
struct SmemLayout {
  using S = TileShape<kTileN>;
  static constexpr int kRing = 0;                                        // kStages x (A 128 x 128 B, W kTileN x 128 B), 1024-aligned
  static constexpr int kStaging = kRing + S::kStages * S::kStageBytes;  // [2 warpgroups]
  static constexpr int kBarriers = kStaging + 2 * S::kStagingBytes;     // full[kStages], empty[kStages], turn[2]
  static constexpr int kScales = kBarriers + (2 * S::kStages + 2) * 8;  // TileScales[2]
  static constexpr int kBytes = kScales + 2 * static_cast<int>(sizeof(TileScales<kTileN>));
  static_assert(kBytes <= 227 * 1024, "more shared memory than a block may have");
};

// Tile u of the cluster's sequence: m-major over units of kCluster vertically adjacent 128 x kTileN tiles (CTA `rank`
// of the cluster takes the rank-th), so concurrent clusters share A rows and W in L2.
template <int kCluster, int kTileN>
__device__ __forceinline__ void tile_origin(int32_t u, int32_t n_tiles, uint32_t rank, int64_t* m0, int64_t* n0) {
  *m0 = (static_cast<int64_t>(u / n_tiles) * kCluster + rank) * kBM;
  *n0 = static_cast<int64_t>(u % n_tiles) * kTileN;
}

// Row scales of the warpgroup's rows (FragmentLayout<2, 128>), loaded at the start of a tile: ld.global.nc in a
// volatile asm stays ahead of the MMAs, so its latency hides behind them (a plain load could sink to its first use).
__device__ __forceinline__ void load_row_scales(float (&rs)[2][2], const float* row_scale, int t, int64_t m0, int64_t M) {
#pragma unroll
  for (int f = 0; f < 2; ++f)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t r = m0 + FragmentLayout<2, 128>::row(t, f, h);  // rows do not depend on the tile's width
      rs[f][h] = 1.0f;
      if (row_scale && r < M) asm volatile("ld.global.nc.f32 %0, [%1];" : "=f"(rs[f][h]) : "l"(row_scale + r));
    }
}

// tmap_a: A[M, K] int8, box 128 rows x 128 bytes; tmap_w: W[N, K] int8, box kTileN / kCluster rows x 128 bytes (both
// 128-byte swizzled); tmap_y (used when tma_y): Y[M, N], box 64 * kSlabFrags rows x 128 bytes, 128-byte swizzle.
// Without tma_y the epilogue stores from registers (`pairs`: 2-wide stores allowed). Launched with clusters of
// kCluster CTAs along x.
template <typename OutT, int kCluster, int kTileN>
__global__ void __launch_bounds__(kThreads, 1)
    w8a8_pingpong_kernel(const __grid_constant__ CUtensorMap tmap_a, const __grid_constant__ CUtensorMap tmap_w,
                         const __grid_constant__ CUtensorMap tmap_y, EpilogueArgs ep, OutT* __restrict__ y, int64_t M, int64_t N, int64_t K,
                         bool tma_y, bool pairs) {
#if SIXBIT_SM90A_DEVICE
  using L = SmemLayout<kTileN>;
  using S = TileShape<kTileN>;
  constexpr int kStages = S::kStages, kStageBytes = S::kStageBytes;
  static_assert(kCluster == 1 || kCluster == 2, "clusters of 1 or 2 CTAs");
  extern __shared__ __align__(1024) uint8_t smem_raw[];
  uint8_t* smem = smem_raw;
  if ((smem_addr(smem) & 1023u) != 0) __trap();  // the swizzled tiles assume it (and multicast needs equal offsets)
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + L::kBarriers);
  uint64_t* empty = full + kStages;
  uint64_t* turn = empty + kStages;  // turn[w]: the other warpgroup has issued its tile's MMAs; warpgroup w may start
  // Tile counts fit in int32 (the launcher checks units < 2^30): 32-bit tile arithmetic keeps registers for the accumulators.
  const int32_t n_tiles = static_cast<int32_t>((N + kTileN - 1) / kTileN);
  const int32_t units = static_cast<int32_t>(((M + kBM - 1) / kBM + kCluster - 1) / kCluster) * n_tiles;
  const int k_blocks = static_cast<int>((K + kBK - 1) / kBK);
  const int warpgroup = threadIdx.x / 128;
  const uint32_t rank = kCluster == 1 ? 0 : cluster_ctarank();
  const int32_t first = blockIdx.x / kCluster, stride = gridDim.x / kCluster;

  if (threadIdx.x == 0) {
    // A stage is released by the 4 warps of the warpgroup that read it, in each CTA of the cluster.
    for (int s = 0; s < kStages; ++s) mbarrier_init(&full[s], 1), mbarrier_init(&empty[s], 4 * kCluster);
    mbarrier_init(&turn[0], 1), mbarrier_init(&turn[1], 1);
    fence_barrier_init();
  }
  if constexpr (kCluster > 1) cluster_sync();  // the peer's barriers exist before anything arrives on or copies to them
  else __syncthreads();

  if (warpgroup == 0) {  // producer
    warpgroup_reg_dealloc<S::kProducerRegs>();
    if (threadIdx.x != 0) return;
    int stage = 0;
    uint32_t phase = 0;
    for (int32_t u = first; u < units; u += stride) {
      int64_t m0, n0;
      tile_origin<kCluster, kTileN>(u, n_tiles, rank, &m0, &n0);
      for (int kb = 0; kb < k_blocks; ++kb) {
        mbarrier_wait(&empty[stage], phase ^ 1);
        uint8_t* a_tile = smem + L::kRing + stage * kStageBytes;
        mbarrier_arrive_expect_tx(&full[stage], kStageBytes);  // own A + all of W (kCluster multicast parts)
        tma_load_2d(a_tile, &tmap_a, &full[stage], kb * kBK, static_cast<int32_t>(m0));
        if constexpr (kCluster == 1) {
          tma_load_2d(a_tile + kABytes, &tmap_w, &full[stage], kb * kBK, static_cast<int32_t>(n0));
        } else {
          constexpr int kPart = kTileN / kCluster;  // W rows this CTA fetches for the whole cluster
          tma_load_2d_multicast(a_tile + kABytes + rank * kPart * 128, &tmap_w, &full[stage], kb * kBK, static_cast<int32_t>(n0 + rank * kPart),
                                (1u << kCluster) - 1);
        }
        if (++stage == kStages) stage = 0, phase ^= 1;
      }
    }
    // With multicast, the peer's consumers arrive on this CTA's "empty" barriers: leave only once every stage has
    // been released for the last time (CUTLASS's producer tail), so no arrival targets an exited CTA.
    if constexpr (kCluster > 1)
      for (int s = 0; s < kStages; ++s) {
        mbarrier_wait(&empty[stage], phase ^ 1);
        if (++stage == kStages) stage = 0, phase ^= 1;
      }
  } else {  // consumers: warpgroup 1 takes the CTA's tiles 0, 2, 4, ..., warpgroup 2 tiles 1, 3, 5, ...
    warpgroup_reg_alloc<S::kConsumerRegs>();
    const int wg = warpgroup - 1, t = threadIdx.x % 128, lane = t % 32, barrier_id = 1 + wg;
    TileScales<kTileN>& scales = reinterpret_cast<TileScales<kTileN>*>(smem + L::kScales)[wg];
    uint8_t* staging = smem + L::kStaging + wg * S::kStagingBytes;
    int64_t load = static_cast<int64_t>(wg) * k_blocks;  // index of the ring load that carries this warpgroup's next K block
    // A stage this warpgroup's wgmmas have finished reading goes back: one arrival per warp on its "empty" barrier in
    // every CTA of the cluster (each one's producer multicasts into this CTA's copy of the stage).
    auto release = [&](int s) {
      if (lane != 0) return;
      if constexpr (kCluster == 1) mbarrier_arrive(&empty[s]);
      else
        for (uint32_t c = 0; c < kCluster; ++c) mbarrier_arrive_cluster(&empty[s], c);
    };
    uint32_t turns = 0;
    for (int32_t u = first + wg * stride; u < units; u += 2 * stride, ++turns) {
      int64_t m0, n0;
      tile_origin<kCluster, kTileN>(u, n_tiles, rank, &m0, &n0);
      named_barrier_sync(barrier_id, 128);  // the previous epilogue has read `scales`
      for (int c = t; c < kTileN; c += 128) {
        if (ep.col_scale && n0 + c < N) cp_async_4(&scales.col[c], ep.col_scale + n0 + c);
        if (ep.bias && n0 + c < N) cp_async_4(&scales.bias[c], ep.bias + n0 + c);
      }
      cp_async_commit();
      float rs[2][2];
      load_row_scales(rs, ep.row_scale, t, m0, M);
      int32_t acc[kTileN];  // two m64 halves of kTileN / 2 registers
#pragma unroll
      for (int i = 0; i < kTileN; ++i) acc[i] = 0, register_fence(acc[i]);
      int32_t(&lo)[kTileN / 2] = *reinterpret_cast<int32_t(*)[kTileN / 2]>(&acc[0]);
      int32_t(&hi)[kTileN / 2] = *reinterpret_cast<int32_t(*)[kTileN / 2]>(&acc[kTileN / 2]);
      // Warpgroup 0 waits for warpgroup 1's previous turn (none before its first), warpgroup 1 for warpgroup 0's
      // current one: turn[w] completes once per turn of the other warpgroup.
      if (wg == 1) mbarrier_wait(&turn[1], turns & 1);
      else if (turns > 0) mbarrier_wait(&turn[0], (turns - 1) & 1);
      int stage = static_cast<int>(load % kStages);
      uint32_t phase = static_cast<uint32_t>((load / kStages) & 1);
      int prev_stage = -1;
      for (int kb = 0; kb < k_blocks; ++kb) {
        mbarrier_wait(&full[stage], phase);
        const uint8_t* a_tile = smem + L::kRing + stage * kStageBytes;
        const uint64_t desc_a = wgmma_desc_k_major_sw128(a_tile), desc_w = wgmma_desc_k_major_sw128(a_tile + kABytes);
        wgmma_fence();
#pragma unroll
        for (int k = 0; k < 4; ++k) {  // +32 bytes of K each; rows 64-127 of A start 64 x 128 bytes further
          wgmma_half(lo, desc_a + 2 * k, desc_w + 2 * k);
          wgmma_half(hi, desc_a + (64 * 128 >> 4) + 2 * k, desc_w + 2 * k);
        }
        wgmma_commit_group();
        if (kb == k_blocks - 1 && t == 0) mbarrier_arrive(&turn[1 - wg]);  // all issued: the other warpgroup's turn
        wgmma_wait_group<1>();
        if (prev_stage >= 0) release(prev_stage);
        prev_stage = stage;
        if (++stage == kStages) stage = 0, phase ^= 1;
      }
      wgmma_wait_group<0>();
#pragma unroll
      for (int i = 0; i < kTileN; ++i) register_fence(acc[i]);
      if (prev_stage >= 0) release(prev_stage);
      load += 2 * static_cast<int64_t>(k_blocks);  // skip the other warpgroup's tile
      cp_async_wait_all();
      if (tma_y && t == 0) bulk_wait_group_read<kSlabBuffers - 1>();  // the previous tile's stores have read slab 0
      named_barrier_sync(barrier_id, 128);                            // ... and every thread's scale copies landed
      epilogue_store<W8A8, OutT, 2, kTileN, S::kSlabFrags>(acc, rs, scales.col, scales.bias, t, m0, n0, ep, tma_y, staging, &tmap_y, barrier_id, y,
                                                           M, N, pairs);
    }
    if (tma_y && t == 0) bulk_wait_group_all();  // the staging stays valid until the last stores are done
  }
#else
  __trap();  // launched only where sm90_gemm_supported() (sm_90a code on a compute-capability 9.0 device)
#endif
}

}  // namespace sixbit::cuda::sm90::pingpong
