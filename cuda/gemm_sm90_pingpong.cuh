// sixbit/cuda/gemm_sm90_pingpong.cuh: W8A8 on Hopper tensor cores with the epilogue overlapped with MMAs, y =
// (float(acc) * sa[m]) * sw[n] (+ bias[n]) bit-identical to emulation/gemm/qgemm.hpp (as gemm_sm90.cuh's W8A8Sm90).
//
// Why a second schedule: in gemm_sm90.cuh both consumer warpgroups work on one 128 x 256 tile and then both run its
// epilogue, so the tensor cores idle for the epilogue of every tile (at K = 1536 the main loop alone reaches 2.1x
// bf16, the whole GEMM 1.4x: docs/perf-h100.md). Here each consumer warpgroup owns a whole 128 x 128 tile and the two
// take turns (CUTLASS's "ping-pong" schedule, KernelTmaWarpSpecializedPingpong): while one runs its epilogue the other
// issues its MMAs. vLLM's W8A8 (cutlass_scaled_mm, sm90 int8) defaults to this shape: 128 x 128 x 128 tiles, clusters
// of 2 along M.
//   - one CTA per SM, persistent; warpgroup 0's thread 0 issues the TMA copies of every tile's K blocks, in the order
//     the tiles are taken (the CTA's j-th tile goes to consumer warpgroup j % 2), into a 5-stage ring guarded by
//     "full" / "empty" mbarriers;
//   - the turn: a consumer warpgroup starts a tile's MMAs only after the other has issued all of its previous tile's
//     (mbarriers `turn`). Besides keeping the MMAs of one tile together, this is what makes the ring's parity waits
//     sound: a warpgroup's first K block is then at most one lap of the ring ahead of the last one that landed;
//   - per K block (128 bytes of K): 2 x 4 wgmma m64n128k32 into 128 int32 accumulators per thread;
//   - kCluster = 2: the two CTAs of a cluster take vertically adjacent tiles (same 128 columns of W); each loads its
//     own A block and half of the W block, multicast to both, so W's L2 traffic is halved (the 128 x 128 tile reads
//     33% more from L2 per MAC than 128 x 256 without it). A stage is refilled only when both CTAs' consumers have
//     released it (each consumer warp arrives on the "empty" barrier of both CTAs).
// On the H100 (docs/perf-h100.md): without clusters the main loop is L2-bound (1.32-1.42x bf16 at K = 1536, below the
// cooperative kernel); with them it reaches 1250-1290 TOP/s, 80% of the cooperative main loop: the ratio of their
// shared-memory traffic, 40 instead of 32 KB per 10^6 MACs (B is read by both m64 halves, and the TMA writes per MAC
// grow with the smaller tile), the model that fits every variant measured (the profile shows no unit saturated). Hiding the epilogue outweighs that up to K ~ 2300 (fp32 out) or
// ~1500 (bf16 out): Sm90Schedule::kAuto's rule in gemm_sm90.cu.
// Build: part of sixbit_cuda (sm_90a); test: tests/gpu/gpu_gemm_sm90.cpp; bench: cuda_bench (scripts/device.sh qbench).
#pragma once

#include <cstdint>

#include "cuda/gemm_sm90_epilogue.cuh"
#include "cuda/sm90_async.cuh"
#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::cuda::sm90::pingpong {

constexpr int kBM = 128, kBN = 128, kBK = 128;  // a consumer warpgroup's tile; K block: 128 bytes of int8 (the swizzle width)
constexpr int kStages = 5;
constexpr int kThreads = 384;  // producer warpgroup + 2 consumer warpgroups
constexpr int kABytes = kBM * 128, kWBytes = kBN * 128, kStageBytes = kABytes + kWBytes;
constexpr int kStagingBytes = kSlabBuffers * kSlabBytes<2>;  // per consumer warpgroup: 2 slabs of 128 rows x 128 bytes

struct W8A8 {
  using Acc = int32_t;
  __device__ static float value(int32_t acc, float row, float col, float) { return gemm::w8a8_epilogue(acc, row, col); }
};

// Per consumer warpgroup: its tile's column scales and bias (row scales are loaded into registers).
struct TileScales {
  float col[kBN], bias[kBN];
};

struct SmemLayout {
  static constexpr int kRing = 0;                                  // kStages x (A 128 x 128 B, W 128 x 128 B), 1024-aligned
  static constexpr int kStaging = kRing + kStages * kStageBytes;  // [2 warpgroups]
  static constexpr int kBarriers = kStaging + 2 * kStagingBytes;  // full[kStages], empty[kStages], turn[2]
  static constexpr int kScales = kBarriers + (2 * kStages + 2) * 8;  // TileScales[2]
  static constexpr int kBytes = kScales + 2 * static_cast<int>(sizeof(TileScales));
  static_assert(kBytes <= 227 * 1024, "more shared memory than a block may have");
};

// Tile u of the cluster's sequence: m-major over units of kCluster vertically adjacent 128 x 128 tiles (CTA `rank`
// of the cluster takes the rank-th), so concurrent clusters share A rows and W in L2.
template <int kCluster>
__device__ __forceinline__ void tile_origin(int64_t u, int64_t n_tiles, uint32_t rank, int64_t* m0, int64_t* n0) {
  *m0 = ((u / n_tiles) * kCluster + rank) * kBM;
  *n0 = (u % n_tiles) * kBN;
}

// Row scales of the warpgroup's rows (FragmentLayout<2, 128>), loaded at the start of a tile: ld.global.nc in a
// volatile asm stays ahead of the MMAs, so its latency hides behind them (a plain load could sink to its first use).
__device__ __forceinline__ void load_row_scales(float (&rs)[2][2], const float* row_scale, int t, int64_t m0, int64_t M) {
#pragma unroll
  for (int f = 0; f < 2; ++f)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t r = m0 + FragmentLayout<2, kBN>::row(t, f, h);
      rs[f][h] = 1.0f;
      if (row_scale && r < M) asm volatile("ld.global.nc.f32 %0, [%1];" : "=f"(rs[f][h]) : "l"(row_scale + r));
    }
}

// tmap_a: A[M, K] int8, box 128 rows x 128 bytes; tmap_w: W[N, K] int8, box 128 / kCluster rows x 128 bytes (both
// 128-byte swizzled); tmap_y (used when tma_y): Y[M, N], box 128 rows x 128 bytes, 128-byte swizzle. Without tma_y
// the epilogue stores from registers (`pairs`: 2-wide stores allowed). Launched with clusters of kCluster CTAs along x.
template <typename OutT, int kCluster>
__global__ void __launch_bounds__(kThreads, 1)
    w8a8_pingpong_kernel(const __grid_constant__ CUtensorMap tmap_a, const __grid_constant__ CUtensorMap tmap_w,
                         const __grid_constant__ CUtensorMap tmap_y, EpilogueArgs ep, OutT* __restrict__ y, int64_t M, int64_t N, int64_t K,
                         bool tma_y, bool pairs) {
#if SIXBIT_SM90A_DEVICE
  using L = SmemLayout;
  static_assert(kCluster == 1 || kCluster == 2, "clusters of 1 or 2 CTAs");
  extern __shared__ __align__(1024) uint8_t smem_raw[];
  uint8_t* smem = smem_raw;
  if ((smem_addr(smem) & 1023u) != 0) __trap();  // the swizzled tiles assume it (and multicast needs equal offsets)
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + L::kBarriers);
  uint64_t* empty = full + kStages;
  uint64_t* turn = empty + kStages;  // turn[w]: the other warpgroup has issued its tile's MMAs; warpgroup w may start
  const int64_t n_tiles = (N + kBN - 1) / kBN, m_units = ((M + kBM - 1) / kBM + kCluster - 1) / kCluster, units = m_units * n_tiles;
  const int k_blocks = static_cast<int>((K + kBK - 1) / kBK);
  const int warpgroup = threadIdx.x / 128;
  const uint32_t rank = kCluster == 1 ? 0 : cluster_ctarank();
  const int64_t first = blockIdx.x / kCluster, stride = gridDim.x / kCluster;

  if (threadIdx.x == 0) {
    // A stage is released by the 4 warps of the warpgroup that read it, in each CTA of the cluster.
    for (int s = 0; s < kStages; ++s) mbarrier_init(&full[s], 1), mbarrier_init(&empty[s], 4 * kCluster);
    mbarrier_init(&turn[0], 1), mbarrier_init(&turn[1], 1);
    fence_barrier_init();
  }
  if constexpr (kCluster > 1) cluster_sync();  // the peer's barriers exist before anything arrives on or copies to them
  else __syncthreads();

  if (warpgroup == 0) {  // producer
    warpgroup_reg_dealloc<40>();
    if (threadIdx.x != 0) return;
    int stage = 0;
    uint32_t phase = 0;
    for (int64_t u = first; u < units; u += stride) {
      int64_t m0, n0;
      tile_origin<kCluster>(u, n_tiles, rank, &m0, &n0);
      for (int kb = 0; kb < k_blocks; ++kb) {
        mbarrier_wait(&empty[stage], phase ^ 1);
        uint8_t* a_tile = smem + L::kRing + stage * kStageBytes;
        mbarrier_arrive_expect_tx(&full[stage], kStageBytes);  // own A + all of W (kCluster multicast parts)
        tma_load_2d(a_tile, &tmap_a, &full[stage], kb * kBK, static_cast<int32_t>(m0));
        if constexpr (kCluster == 1) {
          tma_load_2d(a_tile + kABytes, &tmap_w, &full[stage], kb * kBK, static_cast<int32_t>(n0));
        } else {
          constexpr int kPart = kBN / kCluster;  // W rows this CTA fetches for the whole cluster
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
    warpgroup_reg_alloc<232>();
    const int wg = warpgroup - 1, t = threadIdx.x % 128, lane = t % 32, barrier_id = 1 + wg;
    TileScales& scales = reinterpret_cast<TileScales*>(smem + L::kScales)[wg];
    uint8_t* staging = smem + L::kStaging + wg * kStagingBytes;
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
    for (int64_t u = first + wg * stride; u < units; u += 2 * stride, ++turns) {
      int64_t m0, n0;
      tile_origin<kCluster>(u, n_tiles, rank, &m0, &n0);
      named_barrier_sync(barrier_id, 128);  // the previous epilogue has read `scales`
      if (ep.col_scale && n0 + t < N) cp_async_4(&scales.col[t], ep.col_scale + n0 + t);
      if (ep.bias && n0 + t < N) cp_async_4(&scales.bias[t], ep.bias + n0 + t);
      cp_async_commit();
      float rs[2][2];
      load_row_scales(rs, ep.row_scale, t, m0, M);
      int32_t acc[128];
#pragma unroll
      for (int i = 0; i < 128; ++i) acc[i] = 0, register_fence(acc[i]);
      int32_t(&lo)[64] = *reinterpret_cast<int32_t(*)[64]>(&acc[0]);
      int32_t(&hi)[64] = *reinterpret_cast<int32_t(*)[64]>(&acc[64]);
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
          wgmma_m64n128k32_s32_s8_s8(lo, desc_a + 2 * k, desc_w + 2 * k, 1);
          wgmma_m64n128k32_s32_s8_s8(hi, desc_a + (64 * 128 >> 4) + 2 * k, desc_w + 2 * k, 1);
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
      for (int i = 0; i < 128; ++i) register_fence(acc[i]);
      if (prev_stage >= 0) release(prev_stage);
      load += 2 * static_cast<int64_t>(k_blocks);  // skip the other warpgroup's tile
      cp_async_wait_all();
      if (tma_y && t == 0) bulk_wait_group_read<kSlabBuffers - 1>();  // the previous tile's stores have read slab 0
      named_barrier_sync(barrier_id, 128);                            // ... and every thread's scale copies landed
      epilogue_store<W8A8, OutT, 2, kBN>(acc, rs, scales.col, scales.bias, t, m0, n0, ep, tma_y, staging, &tmap_y, barrier_id, y, M, N, pairs);
    }
    if (tma_y && t == 0) bulk_wait_group_all();  // the staging stays valid until the last stores are done
  }
#else
  __trap();  // launched only where sm90_gemm_supported() (sm_90a code on a compute-capability 9.0 device)
#endif
}

}  // namespace sixbit::cuda::sm90::pingpong
