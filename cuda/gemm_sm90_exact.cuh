// sixbit/cuda/gemm_sm90_exact.cuh: the EXACT W4A8 and W4A4 GEMMs on Hopper's wgmma, bit-identical to
// emulation/gemm/qgemm.hpp, as two more operand recipes of gemm_sm90.cuh's persistent kernel (its producer, ring,
// register-A fragments and fused epilogue; only the consumer's main loop differs: `kBlockExact`).
// Build: part of sixbit_cuda (sm_90a); test: tests/gpu/gpu_gemm_sm90_exact.cpp; bench: cuda_bench (scripts/device.sh qbench).
//
// Why it is exact. The definition (qgemm.hpp) fixes, per output, the terms t_j = p_j * s_j of each 16-element block j
// (p_j the exact integer dot of the E2M1 half units / int8 codes, s_j the block's scale product) and their fp32 sum in
// increasing j, each addition rounded to nearest. Here:
//   - each wgmma is one k16 step = one NVFP4 block (the W workspace stores each block's 16 columns permuted within the
//     block, exact_k_source below, so that the A fragment a thread builds holds 4 consecutive elements of that block),
//     with scale_d = 0, so its fp32 result is that block's sum alone. The operands are the exact values in the
//     definition's units: W4A8: A = the int8 codes (fp16, exact), W = w_half * sw (fp16: <= 2 + 4 significant bits);
//     W4A4: A = e2m1 * sa (fp16, the fast kernel's exact decode), W = 4 * e2m1 * sw = 2 w_half * sw (fp16). Every
//     product is then an integer multiple of u = ulp(sa) * ulp(sw) (W4A8: ulp(sw)) below 2^15 u, and the block's sum,
//     t_j itself, is below 2^19 u: representable in fp32 with room to spare. The tensor core adds 16 products that
//     are exact (fp16 products are exact in fp32) with partial sums that fit in 20 bits, so its result is t_j
//     exactly, whatever its internal order, as long as its adder keeps 20 bits of the aligned products (the H100's
//     fp16 MMA keeps more; only its FP8 path is known to truncate to ~14, and FP8 is not used here).
//     That is the one property of the hardware this relies on; tests/gpu/gpu_gemm_sm90_exact.cpp checks it bit for
//     bit against the emulator on raw codes that reach the 2^19 u extreme, every run on the device.
//   - the CUDA cores then add t_j to the running fp32 sum, one __fadd_rn per output and block, in increasing j;
//   - the epilogue is the definition's helpers (w4a8_epilogue / w4a4_epilogue) and the bias as one more rounding.
// Padding (K up to a multiple of 64: zero W columns, TMA-zero A; zero scales) adds blocks whose t_j is +-0, which
// leaves any sum unchanged (the running sum starts at +0 and is never -0).
//
// Cost per output and block: one FADD (plus the block's share of one wgmma), against two or three fp32 instructions
// of the IMMA kernel (gemm_exact_tiled.cuh: integer MMA, then convert and multiply by the scales). The products of one
// block come out of the tensor cores in 32-column slices (m64n32k16, 16 registers), four sets of them beside the 128
// running sums: three wgmmas stay in flight while the CUDA cores add the oldest. The kernels are bound by their
// warps' issue slots (the 512 FADDs per K block and warp are ~2/3 of the main loop's instructions), so every other
// instruction of the loop counts: the A conversions are the cheapest exact ones we found (int8 -> fp16 by a byte
// permute and an HADD2 per pair; W4A4's scales loaded as one word per row and decoded once per K block), ~0.55x /
// ~0.50x bf16 on the H100 (docs/perf-h100.md, "Exact W4A8 and W4A4 on wgmma").
#pragma once

#include "cuda/gemm_sm90.cuh"

namespace sixbit::cuda::sm90 {

// The block-exact recipes' K order: within each block of 16, the wgmma A fragment's column c (0..15) of a k16 step
// belongs to thread t = (c % 8) / 2 (PTX ISA, "Register fragments for matrix A": a[0] = cols 2t, 2t+1; a[2] = cols
// 2t+8, 2t+9), which here holds the block's elements 4t .. 4t+3: column c holds element 4 ((c % 8) / 2) + 2 (c / 8) +
// c % 2. So a thread reads 4 consecutive A elements of each block and the k16 step j is exactly block j of the K block
// of 64. W is stored with the same permutation (column 64 b + kp of the workspace holds W[:, 64 b + exact_k_source(kp)]).
__host__ __device__ constexpr int exact_k_source(int kp) {
  const int j = kp / 16, c = kp % 16;
  return 16 * j + 4 * ((c % 8) / 2) + 2 * (c / 8) + c % 2;
}

// W4A8: int8 A [M, K] by TMA (64-byte rows, 64-byte swizzle), both as fp16 (A exact: |code| <= 128; W = w_half * sw
// exact: <= 2 + 4 significant bits within [2^-9, 5376]); y = (acc * sa[m]) * alpha
// (+ bias[n]), alpha = 0.5 * gw (gemm::w4a8_alpha), all as gemm::gemm_w4a8.
struct W4A8ExactSm90 : W4A8FastSm90 {
  static constexpr bool kBlockExact = true;
  static constexpr float kWUnit = 2.0f;  // the workspace holds 2 * e2m1 * sw = w_half * sw
  __host__ __device__ static constexpr int k_source(int kp) { return exact_k_source(kp); }
  // Thread t's 4 bytes of block j of its two rows: logical byte 16 j + 4 t of the 64-byte row, which the 64-byte
  // swizzle puts in 16-byte chunk j ^ ((row >> 1) & 3) (address bits 7-8 of the row's start, the ring 1024-aligned):
  // a warp's 8 rows x 4 threads then hit 32 different banks. `bytes` is row g's start + 4 t.
  __device__ static Rows load_rows(const uint8_t* bytes, const Scales&) {
    const uint32_t key = (smem_addr(bytes) >> 7) & 3u;  // the same for row g + 8 (512 bytes on)
    uint32_t lo[4], hi[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint8_t* p = bytes + ((static_cast<uint32_t>(j) ^ key) << 4);
      lo[j] = *reinterpret_cast<const uint32_t*>(p), hi[j] = *reinterpret_cast<const uint32_t*>(p + 8 * kARowBytes);
    }
    return {make_uint4(lo[0], lo[1], lo[2], lo[3]), make_uint4(hi[0], hi[1], hi[2], hi[3])};
  }
  static constexpr int kAThreadBytes = 4;
  static constexpr bool kWFp16 = true;  // fp16 W and A: the int8 -> fp16 conversion costs half the bf16 one's instructions
  // Step j's fragment: word j of each row is the k16 step's 4 elements.
  __device__ static void fragment(const Rows& r, int j, uint32_t (&f)[4]) {
    const uint32_t lo[4] = {r.lo.x, r.lo.y, r.lo.z, r.lo.w}, hi[4] = {r.hi.x, r.hi.y, r.hi.z, r.hi.w};
    int8x4_to_f16x2(lo[j], f[0], f[2]);
    int8x4_to_f16x2(hi[j], f[1], f[3]);
  }
  __device__ static void mma_slice(float (&d)[16], const uint32_t (&f)[4], uint64_t desc_w) { wgmma_m64n32k16_f32_f16_f16_rs(d, f, desc_w, 0); }
  __device__ static float value(float acc, float row, float, float alpha) { return gemm::w4a8_epilogue(acc, row, alpha); }
};

// W4A4: packed NVFP4 A [M, K / 2] by TMA (32-byte rows) and its UE4M3 block scales (row-major, 4 per row and K block,
// read by each thread), decoded to fp16 e2m1 * sa; fp16 W = 4 * e2m1 * sw; y = acc * alpha (+ bias[n]), alpha =
// 0.25 * RN(ga * gw) (gemm::w4a4_alpha), all as gemm::gemm_w4a4.
struct W4A4ExactSm90 : W4A4FastSm90 {
  static constexpr bool kBlockExact = true;
  static constexpr float kWUnit = 4.0f;
  __host__ __device__ static constexpr int k_source(int kp) { return exact_k_source(kp); }
  struct Rows {
    uint32_t lo[2], hi[2];        // codes 4t .. 4t+3 of blocks (0, 1) and (2, 3) of rows g and g + 8 (16 bits per block)
    uint32_t s_lo[2], s_hi[2];    // 2^6 x the rows' scales of blocks (0, 1) and (2, 3), fp16x2 (decoded once per K block)
  };
  // The 4 scale bytes of each row for K block kb (blocks 4 kb .. 4 kb + 3). Where they form an aligned word (K % 64 ==
  // 0), one load per row whose value nothing reads until the K block two ahead (ScalePrefetch): profiled, the byte
  // loads below, combined as soon as they land, stalled every K block on their latency and took 16% of the stall
  // samples (docs/perf-h100.md). Otherwise byte loads, 0 past K (such blocks' codes are TMA zeros).
  __device__ static Scales load_scales(const MainloopArgs& ml, const ScaleRows& r, int kb, int) {
    if (ml.a_scale_words) return {__ldg(reinterpret_cast<const uint32_t*>(r.lo) + kb), __ldg(reinterpret_cast<const uint32_t*>(r.hi) + kb)};
    Scales s{0, 0};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int col = kb * 4 + j;  // K / 16 < 2^31
      if (col < ml.a_scale_stride) s.lo |= uint32_t{__ldg(r.lo + col)} << (8 * j), s.hi |= uint32_t{__ldg(r.hi + col)} << (8 * j);
    }
    return s;
  }
  static constexpr int kAThreadBytes = 2;
  // Thread t's 2 bytes (4 codes) of block j: byte 8 j + 2 t of the 32-byte row. `bytes` is row g's start + 2 t.
  __device__ static Rows load_rows(const uint8_t* bytes, const Scales& s) {
    uint32_t b[2][4];
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int j = 0; j < 4; ++j) b[h][j] = *reinterpret_cast<const uint16_t*>(bytes + h * 8 * kARowBytes + 8 * j);
    return {{b[0][0] | b[0][1] << 16, b[0][2] | b[0][3] << 16},
            {b[1][0] | b[1][1] << 16, b[1][2] | b[1][3] << 16},
            {ue4m3x2_to_f16x2_times_2p6(s.lo), ue4m3x2_to_f16x2_times_2p6(s.lo >> 16)},
            {ue4m3x2_to_f16x2_times_2p6(s.hi), ue4m3x2_to_f16x2_times_2p6(s.hi >> 16)}};
  }
  // Step j's fragment: block j's 4 codes per row as two E4M3 pairs, times that block's scale (exact fp16).
  __device__ static void fragment(const Rows& r, int j, uint32_t (&f)[4]) {
    uint32_t lo01, lo23, hi01, hi23;
    e2m1x8_to_e4m3_pairs(r.lo[j / 2], lo01, lo23);
    e2m1x8_to_e4m3_pairs(r.hi[j / 2], hi01, hi23);
    if (j % 2 == 0) {  // scale j is half j % 2 of s_lo[j / 2] / s_hi[j / 2]
      e4m3_pairs_to_f16x2_scaled<0>(lo01, r.s_lo[j / 2], f[0], f[2]);
      e4m3_pairs_to_f16x2_scaled<0>(hi01, r.s_hi[j / 2], f[1], f[3]);
    } else {
      e4m3_pairs_to_f16x2_scaled<1>(lo23, r.s_lo[j / 2], f[0], f[2]);
      e4m3_pairs_to_f16x2_scaled<1>(hi23, r.s_hi[j / 2], f[1], f[3]);
    }
  }
  __device__ static void mma_slice(float (&d)[16], const uint32_t (&f)[4], uint64_t desc_w) { wgmma_m64n32k16_f32_f16_f16_rs(d, f, desc_w, 0); }
  __device__ static float value(float acc, float, float, float alpha) { return gemm::w4a4_epilogue(acc, alpha); }
};

}  // namespace sixbit::cuda::sm90
