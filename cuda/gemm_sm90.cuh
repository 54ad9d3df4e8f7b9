// sixbit/cuda/gemm_sm90.cuh: quantized GEMMs on Hopper tensor cores (wgmma) with their epilogues fused,
// Y[M,N] = epilogue(A[M,K] W[N,K]^T), fp32 or bf16 out. Three operand recipes share one kernel:
//   W8A8Sm90       int8 x int8 -> s32 (exact), y = (float(acc) * sa[m]) * sw[n] (+ bias[n]): bit-identical to
//                  emulation/gemm/qgemm.hpp (the int32 sums are exact in any order, the epilogue is the same fp32 ops);
//   W4A8FastSm90   int8 A converted to bf16 in registers (exact) x bf16 W (the NVFP4 weight dequantized exactly,
//                  once, into this kernel's K order: see register_a_k_source) -> fp32 on the tensor cores,
//                  y = (acc * sa[m]) * alpha (+ bias[n]): gemm_w4a8_fast's numerics (only the summation order differs
//                  from the emulator; bound in tests/gpu).
//   W4A4FastSm90   packed NVFP4 A and its block scales decoded to fp16 in registers (exact) x fp16 W (dequantized
//                  exactly, in the same K order) -> fp32, y = acc * ga*gw: gemm_w4a4_fast's numerics (bound in tests/gpu).
// They replace cuBLASLt + separate passes (int32 or fp32 round trips through memory, A converted to bf16 in memory).
// This is the "cooperative" schedule: both consumer warpgroups finish a tile's MMAs, then both run its epilogue, so
// the tensor cores idle meanwhile; for short K, W8A8 runs gemm_sm90_pingpong.cuh instead (the epilogue hidden).
//
// Structure (the warp-specialized, persistent form of CUTLASS's sm90 kernels and DeepGEMM, written from the PTX ISA):
//   - one CTA per SM, looping over 128 x 256 output tiles (m-major: concurrent CTAs share A rows and W in L2);
//   - warpgroup 0: one thread issues TMA copies of the A and W slices of each K block into a 4-stage ring, each stage
//     guarded by a "full" mbarrier (copy bytes landed) and an "empty" one (all consumer warps done with it);
//   - warpgroups 1 and 2: 64 rows each; per K block 4 wgmmas into 128 accumulator registers per thread. W8A8: one K
//     block's wgmmas in flight while the next is issued. W4A8 and W4A4: A from registers (wgmma "RS"): each k16 wgmma
//     is its own group, and its A fragment is converted from the A stage just after the wgmma that last read those
//     registers has retired (wait_group 3: three k16 wgmmas stay queued), so shared memory carries only the narrow A
//     once and W (the widened-A design moved 2.5x A's bytes through it and was bound there: docs/perf-h100.md);
//   - epilogue: the tile's scales are fetched by cp.async during the MMAs; values go through 128-byte-swizzled shared
//     memory and TMA stores (or straight from registers when Y's rows are not 16-byte units), draining while the next
//     tile's MMAs run.
// Build: part of sixbit_cuda (sm_90a); test: tests/gpu/gpu_gemm_sm90.cpp; bench: cuda_bench (scripts/device.sh qbench).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/bf16_bits.cuh"
#include "cuda/gemm_sm90_epilogue.cuh"
#include "cuda/operand_convert.cuh"
#include "cuda/sm90_async.cuh"
#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::cuda::sm90 {

// 1 in the cubin compiled for sm_90a, 0 in every other device pass: sm90_gemm_supported() reads it from the module
// the driver loaded for the device.
__device__ int kernels_built_for_sm90a = SIXBIT_SM90A_DEVICE;

constexpr int kBM = 128, kBN = 256, kStages = 4;
constexpr int kThreads = 384;  // producer warpgroup + 2 consumer warpgroups
constexpr int kConsumerWarps = 8;
// Output staging: kSlabBuffers slabs of 64 rows per consumer warpgroup (gemm_sm90_epilogue.cuh). Shared memory goes
// to a fourth ring stage rather than a bigger staging area: on the H100, 4 stages beat 3 stages + 4 slabs on the W4A8
// rows and W8A8 at K = 8960 and were within run-to-run noise elsewhere (docs/perf-h100.md; with 3 stages the TMA
// loads' latency showed as 15% of warp stalls on the "full" barrier).
constexpr int kStagingBytes = kSlabBuffers * kSlabBytes<1>;

// A tile's epilogue operands in shared memory, shared by the two consumer warpgroups: 256 columns, 128 rows.
struct TileScales {
  float col[kBN], bias[kBN], row[kBM];
};

struct W8A8Sm90 {
  using Acc = int32_t;
  static constexpr bool kARegisters = false, kBlockExact = false;
  static constexpr int kBK = 128;             // K elements per stage: 128 bytes of int8 per row (the swizzle width)
  static constexpr int kAStageCols = kBK;     // A's columns (in its tensor map's elements) per stage
  static constexpr int kABytes = kBM * 128;   // TMA box 128 rows x 128 bytes, 128-byte swizzle
  static constexpr int kWBytes = kBN * 128;   // TMA box 256 rows x 128 bytes, 128-byte swizzle
  __device__ static void mma(Acc (&acc)[128], uint64_t desc_a, uint64_t desc_w) {
#pragma unroll
    for (int k = 0; k < 4; ++k) wgmma_m64n256k32_s32_s8_s8(acc, desc_a + 2 * k, desc_w + 2 * k, 1);  // +32 bytes of K each
  }
  __device__ static float value(int32_t acc, float row, float col, float) { return gemm::w8a8_epilogue(acc, row, col); }
};

// What the register-A recipes need besides the tensor maps: W4A4's A block scales (row-major [M, K / 16] bytes).
struct MainloopArgs {
  const uint8_t* a_scales = nullptr;
  int64_t a_scale_stride = 0;  // K / 16
  bool a_scale_words = false;  // every row's 4 scales of a K block form one aligned 32-bit word (a_scales 4-byte
                               // aligned, K % 64 == 0): the block-exact W4A4 recipe then loads them as one word
};

// The register-A recipes' K order: A stays in memory order, and each consumer thread reads its own contiguous part of
// two rows per K block of 64 (W4A8: 16 int8, one 16-byte load; W4A4: 8 bytes of codes, one 8-byte load; a warp's 8
// rows are then one contiguous run, conflict-free), then builds the wgmma A fragments from it. Fragment column c
// (0..15) of k16 step j belongs to thread t = (c % 8) / 2, which holds A columns 16 t .. 16 t + 15 of the block (for
// W4A4 exactly one NVFP4 scale block); the kernel puts element 4 j + 2 (c / 8) + c % 2 of them there. W's column at
// the same place must be that K index, so the 16-bit W is stored permuted within each 64-element K block (and padded
// with zeros to a multiple of 64): column 64 b + 16 j + c of the stored W holds W[:, 64 b + register_a_k_source(16 j + c)].
// A permutation of K applied to both operands leaves every product and the sum's terms unchanged, only their order
// on the tensor cores (inside the fast paths' bounds).
__host__ __device__ constexpr int register_a_k_source(int kp) {
  const int j = kp / 16, c = kp % 16;
  return 16 * ((c % 8) / 2) + 4 * j + 2 * (c / 8) + c % 2;
}

// Register-A recipes: load_scales(ml, scale_rows(ml, row, M), kb, t) fetches what K block kb needs from global memory
// (ScalePrefetch issues it two K blocks ahead, across tiles; empty for W4A8), load_rows(bytes, scales) reads this thread's quarter of its two rows from the stage (rows g
// and g + 8 of its warp's 16; `bytes` points at row g's quarter) after the stage has landed, fragment(rows, j, f) converts k16 step
// j's A fragment (f[0]: row g, f[1]: row g + 8, f[2], f[3]: the same rows 8 columns on), mma_k16 issues one wgmma.
struct W4A8FastSm90 {
  using Acc = float;
  static constexpr bool kARegisters = true, kBlockExact = false;
  static constexpr int kBK = 64;              // K elements per stage: 128 bytes of bf16 W per row
  static constexpr int kAStageCols = kBK;     // int8 A: one byte per element
  static constexpr int kARowBytes = 64;
  static constexpr int kAThreadBytes = kARowBytes / 4;  // the offset of thread t's part of a row: t * kAThreadBytes
  static constexpr float kWUnit = 1.0f;                 // the W workspace holds e2m1 * sw (real units)
  static constexpr bool kWFp16 = false;                 // ... in bf16
  __host__ __device__ static constexpr int k_source(int kp) { return register_a_k_source(kp); }
  static constexpr int kABytes = kBM * kARowBytes;  // TMA box 128 rows x 64 bytes, not swizzled
  static constexpr int kWBytes = kBN * 128;   // bf16 W (permuted K, see above): TMA box 256 rows x 128 bytes, 128-byte swizzle
  struct ScaleRows {};
  struct Scales {};
  struct Rows {
    uint4 lo, hi;
  };
  __device__ static ScaleRows scale_rows(const MainloopArgs&, int64_t, int64_t) { return {}; }
  __device__ static Scales load_scales(const MainloopArgs&, const ScaleRows&, int, int) { return {}; }
  __device__ static Rows load_rows(const uint8_t* bytes, const Scales&) {
    return {*reinterpret_cast<const uint4*>(bytes), *reinterpret_cast<const uint4*>(bytes + 8 * kARowBytes)};
  }
  __device__ static void fragment(const Rows& r, int j, uint32_t (&f)[4]) {
    const uint32_t lo[4] = {r.lo.x, r.lo.y, r.lo.z, r.lo.w}, hi[4] = {r.hi.x, r.hi.y, r.hi.z, r.hi.w};
    int8x4_to_bf16x2(lo[j], f[0], f[2]);
    int8x4_to_bf16x2(hi[j], f[1], f[3]);
  }
  __device__ static void mma_k16(float (&acc)[128], const uint32_t (&f)[4], uint64_t desc_w) { wgmma_m64n256k16_f32_bf16_bf16_rs(acc, f, desc_w, 1); }
  __device__ static float value(float acc, float row, float, float alpha) { return __fmul_rn(__fmul_rn(acc, row), alpha); }
};

// W4A4: A = packed NVFP4 codes [M, K / 2] by TMA and their UE4M3 block scales read by each thread from global memory
// (row-major, one byte per 16 elements: per K block a thread needs one scale per row, its block's), decoded in
// registers to fp16 (exact: cuda/operand_convert.cuh) x fp16 W (the NVFP4 weight dequantized exactly, K permuted as
// above), y = acc * alpha (alpha = ga * gw): gemm_w4a4_fast's numerics (fp16 instead of bf16 changes no value: both
// hold every e2m1 x ue4m3 product exactly).
struct W4A4FastSm90 {
  using Acc = float;
  static constexpr bool kARegisters = true, kBlockExact = false;
  static constexpr int kBK = 64;
  static constexpr int kAStageCols = kBK / 2;  // packed codes: two elements per byte
  static constexpr int kARowBytes = 32;
  static constexpr int kAThreadBytes = kARowBytes / 4;
  static constexpr float kWUnit = 1.0f;
  static constexpr bool kWFp16 = true;
  __host__ __device__ static constexpr int k_source(int kp) { return register_a_k_source(kp); }
  static constexpr int kABytes = kBM * kARowBytes;  // TMA box 128 rows x 32 bytes, not swizzled
  static constexpr int kWBytes = kBN * 128;
  struct ScaleRows {
    const uint8_t *lo, *hi;  // the scale rows of rows g and g + 8 (row M - 1's past M)
  };
  struct Scales {
    uint32_t lo, hi;  // the scale bytes of rows g and g + 8 (0 past M or K: such codes are TMA zeros)
  };
  struct Rows {
    uint32_t lo[4], hi[4];  // E4M3 pairs (e2m1x8_to_e4m3_pairs) of each row's 16 codes: word j holds step j's 4 codes
    uint32_t s_lo, s_hi;    // 2^6 x the scales in the low halves, fp16x2
  };
  // Rows past M read row M - 1's scales (no predicate per load): their outputs are never stored, and rows do not mix.
  __device__ static ScaleRows scale_rows(const MainloopArgs& ml, int64_t row, int64_t M) {
    const int64_t lo = row < M ? row : M - 1, hi = row + 8 < M ? row + 8 : M - 1;
    return {ml.a_scales + lo * ml.a_scale_stride, ml.a_scales + hi * ml.a_scale_stride};
  }
  __device__ static Scales load_scales(const MainloopArgs& ml, const ScaleRows& r, int kb, int t) {
    const int col = kb * 4 + t % 4;  // K / 16 < 2^31
    Scales s{0, 0};
    if (col < ml.a_scale_stride) s.lo = __ldg(r.lo + col), s.hi = __ldg(r.hi + col);
    return s;
  }
  __device__ static Rows load_rows(const uint8_t* bytes, const Scales& s) {
    const uint2 lo = *reinterpret_cast<const uint2*>(bytes), hi = *reinterpret_cast<const uint2*>(bytes + 8 * kARowBytes);
    Rows r;
    e2m1x8_to_e4m3_pairs(lo.x, r.lo[0], r.lo[1]);
    e2m1x8_to_e4m3_pairs(lo.y, r.lo[2], r.lo[3]);
    e2m1x8_to_e4m3_pairs(hi.x, r.hi[0], r.hi[1]);
    e2m1x8_to_e4m3_pairs(hi.y, r.hi[2], r.hi[3]);
    r.s_lo = ue4m3x2_to_f16x2_times_2p6(s.lo), r.s_hi = ue4m3x2_to_f16x2_times_2p6(s.hi);
    return r;
  }
  __device__ static void fragment(const Rows& r, int j, uint32_t (&f)[4]) {
    e4m3_pairs_to_f16x2_scaled<0>(r.lo[j], r.s_lo, f[0], f[2]);
    e4m3_pairs_to_f16x2_scaled<0>(r.hi[j], r.s_hi, f[1], f[3]);
  }
  __device__ static void mma_k16(float (&acc)[128], const uint32_t (&f)[4], uint64_t desc_w) { wgmma_m64n256k16_f32_f16_f16_rs(acc, f, desc_w, 1); }
  __device__ static float value(float acc, float, float, float alpha) { return __fmul_rn(acc, alpha); }
};

template <class Op>
struct SmemLayout {
  static constexpr int kStageBytes = Op::kABytes + Op::kWBytes;  // multiples of 1024: every tile stays 1024-aligned
  static constexpr int kRing = 0;
  static constexpr int kStaging = kRing + kStages * kStageBytes;     // [2 warpgroups]
  static constexpr int kBarriers = kStaging + 2 * kStagingBytes;     // full[kStages], empty[kStages]
  static constexpr int kScales = kBarriers + 2 * kStages * 8;        // TileScales
  // The base is 1024-byte aligned (the 128-byte swizzle's period) by the declaration; W8A8 takes 232000 of the 232448
  // bytes a block may have (227 KB): no room for a fifth stage or an alignment pad (W4A8: 199232, W4A4: 182848).
  static constexpr int kBytes = kScales + static_cast<int>(sizeof(TileScales));
  static_assert(kBytes <= 227 * 1024, "more shared memory than a block may have");
};

// Starts the copies of a tile's epilogue operands into `sc`: thread t of consumer warpgroup `half` copies columns t
// and t + 128 of the column scales (half 0) or of the bias (half 1), and row half * 64 + t if t < 64. Out-of-range
// entries are left alone: nothing the epilogue writes out depends on them.
__device__ __forceinline__ void fetch_tile_scales(TileScales& sc, int half, int t, int64_t m0, int64_t n0, const EpilogueArgs& ep, int64_t M,
                                                  int64_t N) {
  const float* src = half == 0 ? ep.col_scale : ep.bias;
  float* dst = half == 0 ? sc.col : sc.bias;
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    const int64_t c = n0 + t + j * 128;
    if (src && c < N) cp_async_4(&dst[t + j * 128], src + c);
  }
  const int r = half * 64 + t;
  if (ep.row_scale && t < 64 && m0 + r < M) cp_async_4(&sc.row[r], ep.row_scale + m0 + r);
  cp_async_commit();
}

// The register-A recipes' global loads (W4A4's A scales), issued two K blocks before use along this warpgroup's
// stream of (tile, K block) pairs, so the next tile's first loads fly during the current tile's epilogue.
template <class Op, bool = Op::kARegisters>
struct ScalePrefetch {
  __device__ ScalePrefetch(const MainloopArgs&, int, int64_t, int64_t, int, int64_t) {}
};
template <class Op>
struct ScalePrefetch<Op, true> {
  const MainloopArgs& ml;
  const int tile_row, k_blocks;
  const int64_t tiles, n_tiles, M;
  int64_t tile = blockIdx.x;
  int kb = 0;
  typename Op::ScaleRows rows{};
  typename Op::Scales next[2];
  __device__ ScalePrefetch(const MainloopArgs& ml_, int tile_row_, int64_t tiles_, int64_t n_tiles_, int k_blocks_, int64_t M_)
      : ml(ml_), tile_row(tile_row_), k_blocks(k_blocks_), tiles(tiles_), n_tiles(n_tiles_), M(M_) {
    if (tile < tiles) rows = Op::scale_rows(ml, (tile / n_tiles) * kBM + tile_row, M);
    next[0] = issue(), next[1] = issue();
  }
  __device__ typename Op::Scales issue() {
    typename Op::Scales s{};
    if (tile < tiles) s = Op::load_scales(ml, rows, kb, threadIdx.x % 4);
    if (++kb == k_blocks) {
      kb = 0, tile += gridDim.x;
      if (tile < tiles) rows = Op::scale_rows(ml, (tile / n_tiles) * kBM + tile_row, M);
    }
    return s;
  }
  // The current K block's loads (issued two K blocks ago); issues the one two ahead.
  __device__ typename Op::Scales take() {
    const typename Op::Scales s = next[0];
    next[0] = next[1], next[1] = issue();
    return s;
  }
};

// The block-exact main loop's additions: sums[i] += block[i] (fp32, round to nearest), the wgmma that wrote `block`
// retired; in increasing block order per output (gemm_sm90_exact.cuh).
__device__ __forceinline__ void add_block_sums(float* sums, float (&block)[16]) {
#pragma unroll
  for (int i = 0; i < 16; ++i) register_fence(block[i]), sums[i] = __fadd_rn(sums[i], block[i]);
}

// tmap_a / tmap_w: A[M, K] and W[N, K] with the boxes Op describes; tmap_y (used when tma_y): Y[M, N], box 64 rows
// x 128 bytes, 128-byte swizzle. Without tma_y (Y's rows not 16-byte multiples, or Y misaligned) the epilogue stores
// straight from registers (`pairs`: 2-wide stores allowed).
template <class Op, typename OutT>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_sm90_kernel(const __grid_constant__ CUtensorMap tmap_a, const __grid_constant__ CUtensorMap tmap_w, const __grid_constant__ CUtensorMap tmap_y,
                     EpilogueArgs ep, MainloopArgs ml, OutT* __restrict__ y, int64_t M, int64_t N, int64_t K, bool tma_y, bool pairs) {
#if SIXBIT_SM90A_DEVICE
  using L = SmemLayout<Op>;
  extern __shared__ __align__(1024) uint8_t smem_raw[];
  uint8_t* smem = smem_raw;
  if ((smem_addr(smem) & 1023u) != 0) __trap();  // the swizzled tiles assume it; the launch then fails loudly
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + L::kBarriers);
  uint64_t* empty = full + kStages;
  const int64_t n_tiles = (N + kBN - 1) / kBN, tiles = ((M + kBM - 1) / kBM) * n_tiles;
  const int k_blocks = static_cast<int>((K + Op::kBK - 1) / Op::kBK);
  const int warpgroup = threadIdx.x / 128;

  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) mbarrier_init(&full[s], 1), mbarrier_init(&empty[s], kConsumerWarps);
    fence_barrier_init();
  }
  __syncthreads();

  if (warpgroup == 0) {  // producer
    warpgroup_reg_dealloc<40>();
    if (threadIdx.x != 0) return;
    int stage = 0;
    uint32_t phase = 0;
    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const int32_t m0 = static_cast<int32_t>((tile / n_tiles) * kBM), n0 = static_cast<int32_t>((tile % n_tiles) * kBN);
      for (int kb = 0; kb < k_blocks; ++kb) {
        mbarrier_wait(&empty[stage], phase ^ 1);
        uint8_t* a_tile = smem + L::kRing + stage * L::kStageBytes;
        mbarrier_arrive_expect_tx(&full[stage], L::kStageBytes);
        tma_load_2d(a_tile, &tmap_a, &full[stage], kb * Op::kAStageCols, m0);
        tma_load_2d(a_tile + Op::kABytes, &tmap_w, &full[stage], kb * Op::kBK, n0);
        if (++stage == kStages) stage = 0, phase ^= 1;
      }
    }
  } else {  // consumers: warpgroup 1 takes tile rows 0-63, warpgroup 2 rows 64-127
    warpgroup_reg_alloc<232>();
    // Named barriers: 1 + half within a consumer warpgroup; 3 across both (they share `scales`).
    const int half = warpgroup - 1, t = threadIdx.x % 128, lane = t % 32, barrier_id = 1 + half, kBothConsumers = 3;
    TileScales& scales = *reinterpret_cast<TileScales*>(smem + L::kScales);
    uint8_t* staging = smem + L::kStaging + half * kStagingBytes;
    const EpilogueArgs epi = with_device_alpha(ep);
    int stage = 0;
    uint32_t phase = 0;
    // Register-A recipes: this thread's rows in the tile, 16 w + g and + 8 of its warpgroup's 64 (warp w, g = lane / 4).
    const int tile_row = half * 64 + (t / 32) * 16 + lane / 4;
    ScalePrefetch<Op> prefetch(ml, tile_row, tiles, n_tiles, k_blocks, M);
    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const int64_t m0 = (tile / n_tiles) * kBM, n0 = (tile % n_tiles) * kBN, row0 = m0 + half * 64;
      named_barrier_sync(kBothConsumers, 256);  // both warpgroups' previous epilogues have read `scales`
      fetch_tile_scales(scales, half, t, m0, n0, ep, M, N);  // lands while the MMAs run
      typename Op::Acc acc[128];
#pragma unroll
      for (int i = 0; i < 128; ++i) acc[i] = 0, register_fence(acc[i]);
      int prev_stage = -1;
      if constexpr (Op::kARegisters) {
        // Register-A recipes: this thread's part of its two rows of K block kb (in `stage`, awaited here) and W's
        // descriptor there.
        const uint8_t* a_rows = smem + L::kRing + tile_row * Op::kARowBytes + (lane % 4) * Op::kAThreadBytes;
        const auto k_block_operands = [&](typename Op::Rows& rows, uint64_t& desc_w) {
          const typename Op::Scales scales_kb = prefetch.take();
          mbarrier_wait(&full[stage], phase);
          rows = Op::load_rows(a_rows + stage * L::kStageBytes, scales_kb);
          desc_w = wgmma_desc_k_major_sw128(smem + L::kRing + stage * L::kStageBytes + Op::kABytes);
        };
        if constexpr (Op::kBlockExact) {
          // gemm_sm90_exact.cuh: per k16 step (one NVFP4 block) eight m64n32 wgmmas with scale_d = 0, one 32-column
          // slice of the block's sums each, into four rotating sets of 16 registers: each wgmma is issued, then the one
          // three before it retired (wait_group 3) and its sums added into the running sums `acc` (the same slice's
          // previous block was added before, so each output's additions stay in increasing j). The K block's last three
          // are retired with wait_group 0 before the next K block: ptxas serializes the wgmmas (C7514) when the pipeline
          // runs across the loop's back edge.
          uint32_t frag[2][4];
          float part[4][16];
#pragma unroll
          for (int i = 0; i < 64; ++i) (&part[0][0])[i] = 0.0f;  // (in-out operands of the wgmmas, which ignore them)
          for (int kb = 0; kb < k_blocks; ++kb) {
            typename Op::Rows rows;
            uint64_t desc_w;
            k_block_operands(rows, desc_w);
#pragma unroll
            for (int i = 0; i < 32; ++i) {
              const int j = i / 8, e = i % 8;  // block 4 kb + j, columns 32 e .. 32 e + 31
              if (e == 0) Op::fragment(rows, j, frag[j % 2]);  // its last readers (step j - 2) have retired
              wgmma_fence();
              Op::mma_slice(part[i % 4], frag[j % 2], desc_w + 2 * j + 256 * e);  // +32 bytes of K per step, +32 W rows (4 KB) per slice
              wgmma_commit_group();
              if (i >= 3) {
                wgmma_wait_group<3>();  // retires wgmma i - 3
                add_block_sums(acc + 16 * ((i - 3) % 8), part[(i - 3) % 4]);
              }
            }
            wgmma_wait_group<0>();
#pragma unroll
            for (int i = 29; i < 32; ++i) add_block_sums(acc + 16 * (i % 8), part[i % 4]);
            if (lane == 0) mbarrier_arrive(&empty[stage]);  // K block kb fully read
            if (++stage == kStages) stage = 0, phase ^= 1;
          }
        } else {
          uint32_t frag[4][4];
          for (int kb = 0; kb < k_blocks; ++kb) {
            typename Op::Rows rows;
            uint64_t desc_w;
            k_block_operands(rows, desc_w);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              // Queued: k16 steps (kb - 1, j .. 3) and (kb, 0 .. j - 1); retiring all but 3 retires (kb - 1, j), the last
              // reader of frag[j]. At j = 3 that completes K block kb - 1: its stage goes back to the producer.
              wgmma_wait_group<3>();
              if (j == 3 && prev_stage >= 0 && lane == 0) mbarrier_arrive(&empty[prev_stage]);
              Op::fragment(rows, j, frag[j]);
              wgmma_fence();
              Op::mma_k16(acc, frag[j], desc_w + 2 * j);  // +16 elements of K (32 bytes) each
              wgmma_commit_group();
            }
            prev_stage = stage;
            if (++stage == kStages) stage = 0, phase ^= 1;
          }
        }
      } else {
        // One K block's wgmmas stay in flight while the next is issued; a stage goes back to the producer once the
        // wgmmas that read it have completed (wait_group 1).
        for (int kb = 0; kb < k_blocks; ++kb) {
          mbarrier_wait(&full[stage], phase);
          const uint8_t* a_tile = smem + L::kRing + stage * L::kStageBytes;
          wgmma_fence();
          Op::mma(acc, wgmma_desc_k_major_sw128(a_tile + half * 64 * 128), wgmma_desc_k_major_sw128(a_tile + Op::kABytes));
          wgmma_commit_group();
          wgmma_wait_group<1>();
          if (prev_stage >= 0 && lane == 0) mbarrier_arrive(&empty[prev_stage]);
          prev_stage = stage;
          if (++stage == kStages) stage = 0, phase ^= 1;
        }
      }
      wgmma_wait_group<0>();
#pragma unroll
      for (int i = 0; i < 128; ++i) register_fence(acc[i]);
      if (prev_stage >= 0 && lane == 0) mbarrier_arrive(&empty[prev_stage]);
      cp_async_wait_all();
      if (tma_y && t == 0) bulk_wait_group_read<kSlabBuffers - 1>();  // the previous tile's stores have read slab 0
      named_barrier_sync(kBothConsumers, 256);  // ... and both warpgroups' scale copies are visible
      const int r_lo = FragmentLayout<1, kBN>::row(t, 0, 0);
      const float* rows = scales.row + half * 64;
      const float rs[1][2] = {{ep.row_scale ? rows[r_lo] : 1.0f, ep.row_scale ? rows[r_lo + 8] : 1.0f}};
      epilogue_store<Op, OutT, 1, kBN>(acc, rs, scales.col, scales.bias, t, row0, n0, epi, tma_y, staging, &tmap_y, barrier_id, y, M, N, pairs);
    }
    if (tma_y && t == 0) bulk_wait_group_all();  // the staging stays valid until the last stores are done
  }
#else
  __trap();  // launched only where sm90_gemm_supported() (sm_90a code on a compute-capability 9.0 device)
#endif
}

}  // namespace sixbit::cuda::sm90
