// sixbit/cuda/gemm_sm90_epilogue.cuh: the fused epilogue of the Hopper GEMMs (gemm_sm90.cuh, gemm_sm90_pingpong.cuh):
// y = Op::value(acc, row scale, column scale, alpha) (+ bias), written from one warpgroup's wgmma accumulators either
// straight from registers or through 128-byte-swizzled shared memory and TMA stores. A warpgroup holds kFrags m64
// fragments of kTileCols columns (kFrags * kTileCols / 2 registers): the cooperative kernel 1 x 256 (64 rows of a
// 128 x 256 tile), the ping-pong kernel 2 x 128 or 2 x 192 (a whole 128 x 128 or 128 x 192 tile).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/bf16_bits.cuh"
#include "cuda/sm90_async.cuh"

namespace sixbit::cuda::sm90 {

// The epilogue's operands: per-row scale (may be null: 1), per-column scale (may be null: 1), bias (may be null), alpha
// (alpha_dev, when set, replaces it with the value in device memory: one computed on the device, no host round trip;
// a kernel resolves it once per thread with with_device_alpha before its epilogues).
struct EpilogueArgs {
  const float* row_scale = nullptr;
  const float* col_scale = nullptr;
  const float* bias = nullptr;
  float alpha = 1.0f;
  const float* alpha_dev = nullptr;
};
__device__ __forceinline__ EpilogueArgs with_device_alpha(const EpilogueArgs& ep) {
  EpilogueArgs e = ep;
  if (e.alpha_dev) e.alpha = __ldg(e.alpha_dev);  // written before the launch
  return e;
}

// Output staging for the TMA-store epilogue, per consumer warpgroup: two slabs of 64 * kSlabFrags rows x 128 bytes (32
// fp32 or 64 bf16 columns each, 128-byte swizzled like the loads), used in turn (see epilogue_tma_store).
constexpr int kSlabBuffers = 2;
template <int kSlabFrags>
constexpr int kSlabBytes = kSlabFrags * 64 * 128;

__device__ __forceinline__ void store2(float* y, int64_t i, float v0, float v1) { *reinterpret_cast<float2*>(y + i) = make_float2(v0, v1); }
__device__ __forceinline__ void store2(__nv_bfloat16* y, int64_t i, float v0, float v1) { *reinterpret_cast<uint32_t*>(y + i) = bf16x2_bits(v0, v1); }
__device__ __forceinline__ void store1(float* y, int64_t i, float v) { y[i] = v; }
__device__ __forceinline__ void store1(__nv_bfloat16* y, int64_t i, float v) { y[i] = __float2bfloat16_rn(v); }

// `bias` is the tile's bias in shared memory, indexed by tile column (read only when has_bias).
template <class Op>
__device__ __forceinline__ float epilogue_value(typename Op::Acc acc, float row, float col, const float* bias, int cl, bool has_bias, float alpha) {
  const float v = Op::value(acc, row, col, alpha);
  return has_bias ? __fadd_rn(v, bias[cl]) : v;
}

// The accumulator fragment of wgmma m64nN (PTX ISA, "Register fragment for accumulator D"): thread (warp w, lane l)
// of the warpgroup holds, for each 8-column group i, rows 16w + l/4 (d[4i], d[4i+1]) and 16w + l/4 + 8 (d[4i+2],
// d[4i+3]) at columns 8i + 2(l%4) and +1. Fragment f covers the warpgroup's rows 64f..64f+63 and is acc[f * kTileCols
// / 2 ...]. rs[f][h]: the row scale of fragment f's row 16w + l/4 + 8h (1 without row scales); col / bias: the tile's
// column scales and bias in shared memory (col read only with ep.col_scale).
template <int kFrags, int kTileCols>
struct FragmentLayout {
  static_assert(kTileCols % 64 == 0 && kFrags * kTileCols / 2 <= 192, "m64nN fragments, N a multiple of 64; at most 192 registers");
  static constexpr int kPerFrag = kTileCols / 2;
  __device__ static int row(int t, int f, int h) { return 64 * f + (t / 32) * 16 + (t % 32) / 4 + 8 * h; }
  __device__ static int col(int t, int i) { return 2 * (t % 4) + 8 * i; }
};

// Stores straight from registers (`pairs`: N even and y aligned for 2-wide stores); used when Y's rows are not whole
// 16-byte units. row0 / n0: the warpgroup's first row and column in Y.
template <class Op, typename OutT, int kFrags, int kTileCols>
__device__ __forceinline__ void epilogue_from_registers(const typename Op::Acc (&acc)[kFrags * kTileCols / 2], const float (&rs)[kFrags][2], const float* col,
                                                        const float* bias, int t, int64_t row0, int64_t n0, const EpilogueArgs& ep,
                                                        OutT* __restrict__ y, int64_t M, int64_t N, bool pairs) {
  using F = FragmentLayout<kFrags, kTileCols>;
#pragma unroll
  for (int i = 0; i < kTileCols / 8; ++i) {
    const int cl = F::col(t, i);
    const int64_t c = n0 + cl;
    if (c >= N) break;
    const bool two = c + 1 < N;
    const float w0 = ep.col_scale ? col[cl] : 1.0f, w1 = ep.col_scale ? col[cl + 1] : 1.0f;  // [cl + 1] unset past N: unused
#pragma unroll
    for (int f = 0; f < kFrags; ++f) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int64_t r = row0 + F::row(t, f, h);
        if (r >= M) continue;
        const typename Op::Acc* a = acc + f * F::kPerFrag + 4 * i + 2 * h;
        const float v0 = epilogue_value<Op>(a[0], rs[f][h], w0, bias, cl, ep.bias != nullptr, ep.alpha);
        const float v1 = epilogue_value<Op>(a[1], rs[f][h], w1, bias, cl + 1, ep.bias != nullptr, ep.alpha);
        if (two && pairs) {
          store2(y, r * N + c, v0, v1);
        } else {
          store1(y, r * N + c, v0);
          if (two) store1(y, r * N + c + 1, v1);
        }
      }
    }
  }
}

// Byte offset of (row r, byte b) in a slab of 128-byte rows under the 128-byte swizzle (16-byte chunk index XOR
// row % 8, the slab 1024-byte aligned): where TMA expects it for CU_TENSOR_MAP_SWIZZLE_128B. A warp's fragment
// writes then hit distinct banks (fp32: 2 wavefronts for 256 bytes, bf16: 1 for 128).
__device__ __forceinline__ int swizzle128_offset(int r, int b) { return r * 128 + ((((b >> 4) ^ r) & 7) << 4) + (b & 15); }

// The epilogue through shared memory and TMA stores (tmap_y's box: 64 * kSlabFrags rows x 128 bytes): each round writes
// one slab (32 fp32 or 64 bf16 columns of kSlabFrags of the warpgroup's fragments: all of its rows, or with
// kSlabFrags = 1 one m64 fragment per round, half the staging memory) into staging slab round % 2, then thread 0 of the
// warpgroup issues its bulk tensor store and the warpgroup moves on; the stores drain while the next rounds and the
// next MMAs run. Rows and columns past the tensor are clipped by the store (their staged values are never written
// out). Before a round writes its slab, the store issued two rounds earlier from the same slab must have read it: at
// most one bulk group may still be reading (bulk_wait_group_read<1>); the caller makes that so for round 0 (kRounds is
// even, so every tile's round r uses slab r % 2 and round 0's slab was last read by the previous tile's round
// kRounds - 2). barrier_id: a named barrier of the warpgroup's 128 threads.
template <class Op, typename OutT, int kFrags, int kTileCols, int kSlabFrags>
__device__ __forceinline__ void epilogue_tma_store(const typename Op::Acc (&acc)[kFrags * kTileCols / 2], const float (&rs)[kFrags][2],
                                                   const float* col, const float* bias, int t, int64_t row0, int64_t n0, const EpilogueArgs& ep,
                                                   uint8_t* staging, const CUtensorMap* tmap_y, int barrier_id) {
  using F = FragmentLayout<kFrags, kTileCols>;
  static_assert(kSlabFrags == kFrags || kSlabFrags == 1, "a slab holds all fragments or one");
  constexpr int kCols = 128 / static_cast<int>(sizeof(OutT));  // per round (one slab)
  constexpr int kFragRounds = kFrags / kSlabFrags;             // rounds per column group
  constexpr int kRounds = kTileCols / kCols * kFragRounds;
  static_assert(kRounds % kSlabBuffers == 0, "round 0 of every tile must use slab 0");
#pragma unroll
  for (int round = 0; round < kRounds; ++round) {
    uint8_t* slab = staging + (round % kSlabBuffers) * kSlabBytes<kSlabFrags>;
    const int column_round = round / kFragRounds, first_frag = (round % kFragRounds) * kSlabFrags;
    if (round > 0) {
      if (t == 0) bulk_wait_group_read<kSlabBuffers - 1>();
      named_barrier_sync(barrier_id, 128);
    }
#pragma unroll
    for (int g = 0; g < kCols / 8; ++g) {
      const int i = column_round * (kCols / 8) + g;  // compile-time after unrolling: acc stays in registers
      const int cl = F::col(t, i), b = F::col(t, g) * static_cast<int>(sizeof(OutT));  // column in the tile; byte in the slab row
      const float w0 = ep.col_scale ? col[cl] : 1.0f, w1 = ep.col_scale ? col[cl + 1] : 1.0f;
#pragma unroll
      for (int fs = 0; fs < kSlabFrags; ++fs) {
        const int f = first_frag + fs;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const typename Op::Acc* a = acc + f * F::kPerFrag + 4 * i + 2 * h;
          const float v0 = epilogue_value<Op>(a[0], rs[f][h], w0, bias, cl, ep.bias != nullptr, ep.alpha);
          const float v1 = epilogue_value<Op>(a[1], rs[f][h], w1, bias, cl + 1, ep.bias != nullptr, ep.alpha);
          uint8_t* dst = slab + swizzle128_offset(F::row(t, fs, h), b);
          if constexpr (sizeof(OutT) == 4) *reinterpret_cast<float2*>(dst) = make_float2(v0, v1);
          else *reinterpret_cast<uint32_t*>(dst) = bf16x2_bits(v0, v1);
        }
      }
    }
    fence_proxy_async_shared();
    named_barrier_sync(barrier_id, 128);
    if (t == 0) {
      tma_store_2d(tmap_y, slab, static_cast<int32_t>(n0 + column_round * kCols), static_cast<int32_t>(row0 + 64 * first_frag));
      bulk_commit_group();
    }
  }
}

// A warpgroup's tile epilogue by whichever path the launch chose: TMA stores (tma_y) or stores from registers.
template <class Op, typename OutT, int kFrags, int kTileCols, int kSlabFrags = kFrags>
__device__ __forceinline__ void epilogue_store(const typename Op::Acc (&acc)[kFrags * kTileCols / 2], const float (&rs)[kFrags][2],
                                               const float* col, const float* bias, int t, int64_t row0, int64_t n0, const EpilogueArgs& ep,
                                               bool tma_y, uint8_t* staging, const CUtensorMap* tmap_y, int barrier_id, OutT* __restrict__ y,
                                               int64_t M, int64_t N, bool pairs) {
  if (tma_y)
    epilogue_tma_store<Op, OutT, kFrags, kTileCols, kSlabFrags>(acc, rs, col, bias, t, row0, n0, ep, staging, tmap_y, barrier_id);
  else
    epilogue_from_registers<Op, OutT, kFrags, kTileCols>(acc, rs, col, bias, t, row0, n0, ep, y, M, N, pairs);
}

}  // namespace sixbit::cuda::sm90
