// sixbit/cuda/operand_convert.cuh: exact register-level conversions of quantized GEMM operands into the 16-bit
// values tensor cores take, for the Hopper kernels that build wgmma A fragments in registers (gemm_sm90.cuh):
// int8 -> bf16 or fp16 (W4A8) and NVFP4 (E2M1 codes x an E4M3 block scale) -> fp16 (W4A4). All are exact: every int8
// is a bf16 and an fp16, and an E2M1 value times a UE4M3 scale has at most 6 significant bits within [2^-10, 2688],
// inside fp16's normal range. Checked on all 2^32 input words against cuda_bf16.h / cuda_fp16.h / cuda_fp4.h x
// cuda_fp8.h in tests/gpu/gpu_codec_exhaustive.cu. Device only; the NVFP4 forms need sm_89+ (cvt from e4m3x2).
#pragma once

#include <cstdint>

namespace sixbit::cuda {

// Four int8 (one 32-bit word, byte i = element i) to two bf16 pairs, elements (0, 1) in `lo` and (2, 3) in `hi`, the
// lower index in the lower half. Exact, without the int-to-float converter: u = b + 128 (sign bit flipped) pasted into
// the mantissa of 2^23 is the fp32 2^23 + u, one FADD of -(2^23 + 128) leaves b exactly, and |b| <= 128 has at most 8
// significant bits, so the fp32's upper half is b's bf16.
__device__ __forceinline__ void int8x4_to_bf16x2(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t u = w ^ 0x80808080u;
  uint32_t f[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) f[i] = __float_as_uint(__fadd_rn(__uint_as_float(__byte_perm(u, 0x4B000000u, 0x7440 + i)), -8388736.0f));
  lo = __byte_perm(f[0], f[1], 0x7632);
  hi = __byte_perm(f[2], f[3], 0x7632);
}

// Four int8 (as above) to two fp16 pairs: u = b + 128 pasted into the mantissa of fp16 1024 (0x6400: ulp 1, so the
// half is 1024 + u exactly) by one byte permute per pair, one HADD2 of -(1024 + 128) per pair leaves b exactly. Half
// the instructions of the bf16 form (no fp32 step); the exact W4A8 kernel, whose issue slots bound it, takes this one.
__device__ __forceinline__ void int8x4_to_f16x2(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t u = w ^ 0x80808080u;
  const uint32_t lo_bits = __byte_perm(u, 0x64646464u, 0x4140), hi_bits = __byte_perm(u, 0x64646464u, 0x4342);
  asm("{\n add.rn.f16x2 %0, %2, %4;\n add.rn.f16x2 %1, %3, %4;\n}\n" : "=r"(lo), "=r"(hi) : "r"(lo_bits), "r"(hi_bits), "r"(0xE480E480u));
}  // 0xE480 is fp16 -1152

// Eight E2M1 codes (one 32-bit word of packed NVFP4: element 2i in byte i's low nibble, 2i + 1 in its high one) to
// eight E4M3 bytes worth 2^-6 times the E2M1 values: the E2M1 bits s e1 e0 m pasted as the E4M3 s 0 0 e1 e0 m 0 0
// keep exponent and mantissa in place (1 + m/2) * 2^(e - 7) for e >= 1, and the E2M1 subnormal (e = 0: m/2) lands on
// E4M3's (m/2 * 2^-6): a shift and a mask, no table. Byte i's two codes become the E4M3 pair i (low code in the low
// byte): pairs 0 and 1 in `p01` (pair 0 in the low 16 bits), pairs 2 and 3 in `p23`.
__device__ __forceinline__ void e2m1x8_to_e4m3_pairs(uint32_t w, uint32_t& p01, uint32_t& p23) {
  const uint32_t low_codes = ((w << 4) & 0x80808080u) | ((w << 2) & 0x1C1C1C1Cu);   // byte i: code 2i as E4M3
  const uint32_t high_codes = (w & 0x80808080u) | ((w >> 2) & 0x1C1C1C1Cu);        // byte i: code 2i + 1 as E4M3
  p01 = __byte_perm(low_codes, high_codes, 0x5140);
  p23 = __byte_perm(low_codes, high_codes, 0x7362);
}

// The E4M3 pairs in the two halves of `pairs` (from e2m1x8_to_e4m3_pairs) to fp16x2, times the scale in half kHalf
// (0: low, 1: high) of `scales_2p6` (an fp16x2 of 2^6 times block scales, from ue4m3x2_to_f16x2_times_2p6): `lo` from
// the low pair, `hi` from the high one, each the exact E2M1 value times the scale (the conversion is exact, and so is
// the product: see the file comment). The broadcast of one half is HMUL2's half-select, not an instruction of its own.
template <int kHalf>
__device__ __forceinline__ void e4m3_pairs_to_f16x2_scaled(uint32_t pairs, uint32_t scales_2p6, uint32_t& lo, uint32_t& hi) {
  static_assert(kHalf == 0 || kHalf == 1);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm("{\n .reg .b16 l, h, s0, s1;\n .reg .b32 s;\n mov.b32 {l, h}, %2;\n mov.b32 {s0, s1}, %3;\n mov.b32 s, {s%4, s%4};\n"
      " cvt.rn.f16x2.e4m3x2 %0, l;\n cvt.rn.f16x2.e4m3x2 %1, h;\n mul.rn.f16x2 %0, %0, s;\n mul.rn.f16x2 %1, %1, s;\n}\n"
      : "=&r"(lo), "=&r"(hi)
      : "r"(pairs), "r"(scales_2p6), "n"(kHalf));
#else
  (void)pairs, (void)scales_2p6, lo = hi = 0;
  __trap();  // no e4m3 convert before sm_89; nothing compiled for those calls this
#endif
}

// Two UE4M3 block-scale bytes (the low 16 bits of `two_bytes`; sign bits ignored, as fmt::ue4m3_decode does) to the
// fp16x2 (2^6 s0, 2^6 s1) that e4m3_pairs_to_f16x2_scaled multiplies by: exact (s has at most 4 significant bits,
// 2^6 s <= 28672). One byte (the fast kernel's one scale per row) gives (2^6 s, 0): use half 0.
__device__ __forceinline__ uint32_t ue4m3x2_to_f16x2_times_2p6(uint32_t two_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  const uint32_t pair = two_bytes & 0x7F7Fu;
  uint32_t s;
  asm("{\n .reg .b16 l, h;\n mov.b32 {l, h}, %1;\n cvt.rn.f16x2.e4m3x2 %0, l;\n mul.rn.f16x2 %0, %0, %2;\n}\n" : "=&r"(s) : "r"(pair), "r"(0x54005400u));
  return s;  // 0x5400 is fp16 64.0
#else
  (void)two_bytes;
  __trap();
  return 0;
#endif
}

}  // namespace sixbit::cuda
