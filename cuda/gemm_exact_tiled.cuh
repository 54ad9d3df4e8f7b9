// sixbit/cuda/gemm_exact_tiled.cuh: tiled tensor-core GEMMs (W4A4, W4A8, W8A8) whose every output is the bit-exact
// definition of emulation/gemm/qgemm.hpp. Build: cmake --build build --target sixbit_cuda gpu_emulator_test;
// run (GPU machine): scripts/device.sh, or build/tests/gpu/gpu_emulator_test --gtest_filter='GpuGemmTiled*'.
//
// Why this is exact: the definition fixes only (1) the exact integer dot p_j of each 16-wide k-block and (2) the
// order of the fp32 additions over j. Integer sums are exact in any order, so p_j comes from one
// mma.m16n8k16.s8.s8.s32 per 16x8 output tile and block (E2M1 values in half units fit int8: |v| <= 12). Each
// thread then adds the terms of the outputs it holds in increasing j, one rounding each, exactly as the CPU loop
// (an FMA of the exact product p_j * s_j: see the inner loop).
// W8A8 keeps the int32 accumulator in the MMA (exact) and applies the epilogue once.
//
// Tile: 128x64 outputs per CTA, 8 warps as 4 (M) x 2 (N), each warp 32x32 = 2x4 MMA tiles, 2 CTAs per SM. A k-stage is 4 blocks
// (64 k); operands go global -> registers (prefetch of stage s+1 while stage s computes) -> unpacked int8 in shared
// memory (double buffered, one __syncthreads per stage). Shared rows are 64 bytes; the 16-byte chunk of block kb of
// row r sits at chunk kb ^ ((r >> 1) & 3), which makes the fragment loads (8 rows x 4 words) bank-conflict free.
// Block scales are decoded (ue4m3_decode) once when staged and kept as fp32 in shared memory.
#pragma once

#include <cstdint>

#include "emulation/gemm/qgemm_scalar.hpp"

namespace sixbit::cuda::kernels::tiled {

enum class Kind { kW4A4, kW4A8, kW8A8 };

// 8 warps as 4 (M) x 2 (N), each warp 32x32 outputs = 2x4 MMA tiles (kMI x kNI). A first version used 128x128 with
// 64x32 per warp: 165 registers, one CTA (2 warps per scheduler) per SM, 60% issue slots busy (ncu, H200).
constexpr int kBM = 128, kBN = 64, kThreads = 256, kWarpM = 32, kWarpN = 32, kMI = kWarpM / 16, kNI = kWarpN / 8;
constexpr int kBlocksPerStage = 4, kBK = 16 * kBlocksPerStage;  // bytes per shared row (int8 elements)

// The MMA accumulates p onto C = 0x4B400000 (the fp32 1.5 * 2^23): for |p| < 2^22 the int32 result is the bit
// pattern of the fp32 value 1.5 * 2^23 + p, and subtracting 1.5 * 2^23 gives (float)p exactly (an integer below
// 2^22, Sterbenz). That replaces the quarter-rate I2F with one full-rate FADD. |p| <= 24384 here (W4A8).
constexpr int32_t kMagicBits = 0x4B400000;
constexpr float kMagic = 12582912.0f;

struct TiledArgs {
  const void* a;                // W4A4: packed E2M1 [M, K/2]; W4A8, W8A8: int8 [M, K]
  const uint8_t* a_scales;      // W4A4: UE4M3 [M, K/16]; else null
  const float* a_row_scales;    // W4A8, W8A8: fp32 [M]; else null
  const void* w;                // W4A4, W4A8: packed E2M1 [N, K/2]; W8A8: int8 [N, K]
  const uint8_t* w_scales;      // W4A4, W4A8: UE4M3 [N, K/16]; else null
  const float* w_row_scales;    // W8A8: fp32 [N]; else null
  float alpha;                  // W4A4, W4A8 (computed on the host with the qgemm_scalar helpers)
  const float* bias;            // [N] or null
  float* y;                     // [M, N]
  int64_t M, N, K;
};

__device__ __forceinline__ uint32_t prmt(uint32_t a, uint32_t b, uint32_t sel) {
  uint32_t d;
  asm("prmt.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(sel));
  return d;
}

// 8 E2M1 codes (nibble i = element i, the packing of docs/numerics.md) -> 8 int8 half units (two words, element i
// in byte i). Magnitude: a byte permute of the table {0,1,2,3,4,6,8,12} indexed by the low 3 code bits. Sign: prmt's
// sign-replicate mode (selector msb) spreads bit 3 of each nibble over its byte: bit 3 of even nibbles is bit 7 of a
// byte of (w << 4), of odd nibbles bit 7 of a byte of w. Negation per byte without carries: (0x80 - v) ^ 0x80 for
// v <= 0x80. -0 (code 8) gives 0. Checked on the host against e2m1_to_half_units for every 16-bit nibble group.
__device__ __forceinline__ void e2m1x8_to_half_units(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t y = w << 4;
  const uint32_t mag0 = prmt(0x03020100u, 0x0C080604u, w & 0x7777u), mag1 = prmt(0x03020100u, 0x0C080604u, (w >> 16) & 0x7777u);
  const uint32_t s0 = prmt(y, w, 0xD9C8u), s1 = prmt(y, w, 0xFBEAu);
  const uint32_t neg0 = (0x80808080u - mag0) ^ 0x80808080u, neg1 = (0x80808080u - mag1) ^ 0x80808080u;
  lo = mag0 ^ ((mag0 ^ neg0) & s0);
  hi = mag1 ^ ((mag1 ^ neg1) & s1);
}

// D = A(16x16 s8, row) * B(16x8 s8, col) + C, s32. Fragments (PTX ISA "mma.m16n8k16" for .s8, and CuTe's
// SM80_16x8x16_S32S8S8S32_TN layouts), g = lane / 4, t = lane % 4: a0 = A[g][4t..4t+3], a1 = A[g+8][4t..4t+3];
// b = B[4t..4t+3][g] (= W row g, k 4t..4t+3); d0, d1 = D[g][2t, 2t+1], d2, d3 = D[g+8][2t, 2t+1].
__device__ __forceinline__ void mma_s8_16816(int32_t (&d)[4], uint32_t a0, uint32_t a1, uint32_t b, int32_t c0, int32_t c1, int32_t c2, int32_t c3) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%7,%8,%9,%10};\n"
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
               : "r"(a0), "r"(a1), "r"(b), "r"(c0), "r"(c1), "r"(c2), "r"(c3));
}

// Byte offset of k-block kb (0..3) of tile row r in a stage buffer (see the swizzle in the header comment).
__device__ __forceinline__ int swizzled(int r, int kb) { return r * kBK + ((kb ^ ((r >> 1) & 3)) << 4); }

// One operand's share of a stage, held in registers between the global load and the shared store: kRows * 4 / 256
// chunks per thread (chunk c = tid + 256 i: tile row c / 4, block c % 4), each a 16-element block and its scale byte.
template <bool kPacked, bool kScaled, int kRows>
struct StageRegs {
  static constexpr int kChunks = kRows * kBlocksPerStage / kThreads;
  static_assert(kChunks * kThreads == kRows * kBlocksPerStage, "whole chunks per thread");
  uint4 data[kChunks];
  uint8_t scale[kChunks];

  // Rows at or past `rows` and blocks at or past KB load as zero (their results are never stored or added).
  __device__ __forceinline__ void load(const void* src, const uint8_t* scales, int64_t row0, int64_t rows, int64_t K, int64_t KB, int64_t j0) {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      const int c = static_cast<int>(threadIdx.x) + kThreads * i;
      const int64_t r = row0 + (c >> 2), j = j0 + (c & 3);
      const bool valid = r < rows && j < KB;
      data[i] = make_uint4(0, 0, 0, 0);
      scale[i] = 0;
      if (valid) {
        if constexpr (kPacked) {
          const uint2 v = *reinterpret_cast<const uint2*>(static_cast<const uint8_t*>(src) + r * (K / 2) + j * 8);  // 8-byte aligned
          data[i].x = v.x, data[i].y = v.y;
        } else {
          data[i] = *reinterpret_cast<const uint4*>(static_cast<const int8_t*>(src) + r * K + j * 16);  // 16-byte aligned
        }
        if constexpr (kScaled) scale[i] = scales[r * KB + j];
      }
    }
  }

  __device__ __forceinline__ void store(int8_t* tile, float* tile_scales) const {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      const int c = static_cast<int>(threadIdx.x) + kThreads * i, r = c >> 2, kb = c & 3;
      uint4 v = data[i];
      if constexpr (kPacked) e2m1x8_to_half_units(data[i].x, v.x, v.y), e2m1x8_to_half_units(data[i].y, v.z, v.w);
      *reinterpret_cast<uint4*>(tile + swizzled(r, kb)) = v;
      if constexpr (kScaled) tile_scales[kb * kRows + r] = fmt::ue4m3_decode(scale[i]);  // decode(0) = 0 for padding
    }
  }
};

struct alignas(16) SharedTiles {
  int8_t a[2][kBM * kBK];
  int8_t w[2][kBN * kBK];
  float sa[2][kBlocksPerStage * kBM];  // [block][row], decoded UE4M3 (W4A4 only)
  float sw[2][kBlocksPerStage * kBN];  // [block][col] (W4A4, W4A8)
};  // 30 KiB of static shared memory per CTA

// Registers: at most 128 per thread (2 CTAs, 16 warps per SM): 32 fp32 sums, the fragments, the scales and the
// prefetched stage.
template <Kind kKind>
__global__ void __launch_bounds__(kThreads, 2) gemm_exact_tiled_kernel(const TiledArgs args) {
  constexpr bool kA4 = kKind == Kind::kW4A4, kW4 = kKind != Kind::kW8A8;
  __shared__ SharedTiles sm;
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  const int wm = warp & 3, wn = warp >> 2;
  // One linear grid, N tiles fastest: consecutive CTAs share an A tile, and W (usually the smaller operand) stays in L2.
  const int64_t n_tiles = (args.N + kBN - 1) / kBN;
  const int64_t m0 = (static_cast<int64_t>(blockIdx.x) / n_tiles) * kBM, n0 = (static_cast<int64_t>(blockIdx.x) % n_tiles) * kBN;
  const int64_t K = args.K, KB = K / 16, stages = (KB + kBlocksPerStage - 1) / kBlocksPerStage;

  float facc[kMI][kNI][4];    // W4A4, W4A8: [mi][ni][d index], the running fp32 sums of the definition
  int32_t iacc[kMI][kNI][4];  // W8A8: exact int32 accumulators
#pragma unroll
  for (int i = 0; i < kMI * kNI * 4; ++i) (&facc[0][0][0])[i] = 0.0f, (&iacc[0][0][0])[i] = 0;

  StageRegs<kA4, kA4, kBM> ra;
  StageRegs<kW4, kW4, kBN> rw;
  if (stages > 0) {
    ra.load(args.a, args.a_scales, m0, args.M, K, KB, 0);
    rw.load(args.w, args.w_scales, n0, args.N, K, KB, 0);
    ra.store(sm.a[0], sm.sa[0]);
    rw.store(sm.w[0], sm.sw[0]);
  }
  __syncthreads();

  for (int64_t s = 0; s < stages; ++s) {
    const int buf = static_cast<int>(s & 1);
    if (s + 1 < stages) {  // issue the next stage's global loads before this stage's math
      ra.load(args.a, args.a_scales, m0, args.M, K, KB, (s + 1) * kBlocksPerStage);
      rw.load(args.w, args.w_scales, n0, args.N, K, KB, (s + 1) * kBlocksPerStage);
    }
    const int8_t* at = sm.a[buf];
    const int8_t* wt = sm.w[buf];
    const int64_t blocks_left = KB - s * kBlocksPerStage;
#pragma unroll
    for (int kb = 0; kb < kBlocksPerStage; ++kb) {
      // Blocks past KB (zero padding of the last stage) are not terms of the definition: skip them (uniform per CTA).
      if (kb >= blocks_left) break;
      uint32_t af[kMI][2], bf[kNI];
#pragma unroll
      for (int mi = 0; mi < kMI; ++mi) {
        const int r = wm * kWarpM + mi * 16 + g;
        af[mi][0] = *reinterpret_cast<const uint32_t*>(at + swizzled(r, kb) + 4 * t);
        af[mi][1] = *reinterpret_cast<const uint32_t*>(at + swizzled(r + 8, kb) + 4 * t);
      }
#pragma unroll
      for (int ni = 0; ni < kNI; ++ni) bf[ni] = *reinterpret_cast<const uint32_t*>(wt + swizzled(wn * kWarpN + ni * 8 + g, kb) + 4 * t);

      if constexpr (kKind == Kind::kW8A8) {
#pragma unroll
        for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
          for (int ni = 0; ni < kNI; ++ni) {
            int32_t* c = iacc[mi][ni];
            mma_s8_16816(iacc[mi][ni], af[mi][0], af[mi][1], bf[ni], c[0], c[1], c[2], c[3]);
          }
      } else {
        float sa[kMI][2] = {}, sw[kNI][2];
#pragma unroll
        for (int ni = 0; ni < kNI; ++ni) {
          const float2 v = *reinterpret_cast<const float2*>(&sm.sw[buf][kb * kBN + wn * kWarpN + ni * 8 + 2 * t]);
          sw[ni][0] = v.x, sw[ni][1] = v.y;
        }
        if constexpr (kA4) {
#pragma unroll
          for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
            for (int h = 0; h < 2; ++h) sa[mi][h] = sm.sa[buf][kb * kBM + wm * kWarpM + mi * 16 + g + 8 * h];
        }
#pragma unroll
        for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
          for (int ni = 0; ni < kNI; ++ni) {
            int32_t d[4];
            mma_s8_16816(d, af[mi][0], af[mi][1], bf[ni], kMagicBits, kMagicBits, kMagicBits, kMagicBits);
#pragma unroll
            for (int q = 0; q < 4; ++q) {
              const float p = __fsub_rn(__int_as_float(d[q]), kMagic);  // == (float)p_j, exactly
              // The definition (qgemm_scalar.hpp): acc = fadd(acc, fmul(p, s)), s = sa * sw (W4A4) or sw (W4A8).
              // fmul(p, s) is exact there (s has <= 8 significant bits, |p| <= 24384 has <= 15: <= 23 bits, no
              // under/overflow for UE4M3 scales), so one FMA, whose only rounding is that of the sum, gives the same
              // bits as fmul-then-fadd, with one instruction fewer per output and block. s = sa * sw is exact too.
              const float sc = kA4 ? __fmul_rn(sa[mi][q >> 1], sw[ni][q & 1]) : sw[ni][q & 1];
              facc[mi][ni][q] = __fmaf_rn(p, sc, facc[mi][ni][q]);
            }
          }
      }
    }
    if (s + 1 < stages) {
      ra.store(sm.a[buf ^ 1], sm.sa[buf ^ 1]);
      rw.store(sm.w[buf ^ 1], sm.sw[buf ^ 1]);
    }
    __syncthreads();  // the next stage is staged, and everyone is done reading this one before it is overwritten
  }

  // Epilogue: the qgemm_scalar.hpp helpers, then the optional bias as one more rounding; guarded stores.
#pragma unroll
  for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t m = m0 + wm * kWarpM + mi * 16 + g + 8 * h;
      if (m >= args.M) continue;
      const float sa_m = kA4 ? 0.0f : args.a_row_scales[m];
#pragma unroll
      for (int ni = 0; ni < kNI; ++ni)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int64_t n = n0 + wn * kWarpN + ni * 8 + 2 * t + e;
          if (n >= args.N) continue;
          const int q = 2 * h + e;
          float v;
          if constexpr (kKind == Kind::kW4A4) v = gemm::w4a4_epilogue(facc[mi][ni][q], args.alpha);
          else if constexpr (kKind == Kind::kW4A8) v = gemm::w4a8_epilogue(facc[mi][ni][q], sa_m, args.alpha);
          else v = gemm::w8a8_epilogue(iacc[mi][ni][q], sa_m, args.w_row_scales[n]);
          if (args.bias) v = __fadd_rn(v, args.bias[n]);
          args.y[m * args.N + n] = v;
        }
    }
}

}  // namespace sixbit::cuda::kernels::tiled
