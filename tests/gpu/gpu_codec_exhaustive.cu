// The scalar codecs as the GPU compiles them, against CUDA's own conversions on the GPU (for INT8: rintf), for every
// one of the 2^32 fp32 bit patterns (tests/exhaustive does the same on the host). The quantize kernels call fmt::e2m1_encode and
// fmt::e4m3_encode (through ue4m3_encode) in device code, where nvcc may lower the same source differently from
// g++ (FMNMX, canonical NaNs, flush-to-zero choices), so the host sweep alone does not cover them.
// Oracles: cuda_fp4.h __nv_cvt_float_to_fp4 (on sm_90 NVIDIA's software path; sm_100+ would use the hardware
// cvt) and cuda_fp8.h __nv_cvt_float_to_fp8 (sm_89+: the hardware cvt.rn.satfinite.e4m3x2.f32). For E4M3 both the
// software codec (fmt::e4m3_encode_soft) and the dispatching fmt::e4m3_encode (the hardware convert on sm_89+, which
// the quantizers use) must agree with it.
// The quantizers' four-at-a-time E2M1 form is swept in every lane against both the scalar codec and cuda_fp4.h, and
// the Hopper fast GEMMs' register conversions (cuda/operand_convert.cuh: int8 -> bf16, NVFP4 -> fp16) on all words.
// Run: build-device/tests/gpu/gpu_emulator_test --gtest_filter='GpuCodecExhaustive*' (scripts/device.sh tests).
#include <cuda_fp4.h>
#include <cuda_fp8.h>
#include <gtest/gtest.h>

#include <string>

#include "cuda/check.cuh"
#include "cuda/operand_convert.cuh"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/formats/int8.hpp"
#include "tests/gpu/gpu_test_support.hpp"

namespace sixbit::gpu_test {
namespace {

struct SweepResult {
  unsigned long long mismatches;
  unsigned int first_mismatch;  // the smallest mismatching bit pattern (0xFFFFFFFF when none)
  unsigned int codes_seen[8];   // a 256-bit set of the codes our encoder produced: guards a sweep that saw nothing
};

// 3: the quantizers' four-at-a-time E2M1 form (fmt::e2m1_encode4_scaled: FMA-pipe rounding, signs by byte permutes,
// relying on the GPU's canonical NaNs) on x_i * f, lane i a bijection of the pattern, against the scalar codec and
// cuda_fp4.h on the same products (f is a kernel argument, so the product is a real multiply and NaN inputs come out
// of it canonical, as in the kernels); `ours` is lane 0's code when all 16 bits agree with both, else 0xFF.
// 4: the W4A8 kernels' int8 -> bf16 and int8 -> fp16 conversions (cuda::int8x4_to_bf16x2: byte permutes and an FADD;
// int8x4_to_f16x2: a byte permute and an HADD2 per pair) on the pattern as four int8, against cuda_bf16.h's
// __float2bfloat16_rn and cuda_fp16.h's __float2half_rn of each byte's value; `ours` is byte 0 when all agree.
// 5: the W4A4 kernels' NVFP4 -> fp16 decode (cuda::e2m1x8_to_e4m3_pairs, ue4m3x2_to_f16x2_times_2p6,
// e4m3_pairs_to_f16x2_scaled<half>) on the pattern as eight E2M1 codes with a block scale byte 0..126 that varies with
// the pattern, in each of the forms the kernels use (the fast one: one scale byte, half 0; the exact one: the scale in
// the low or the high half of a decoded pair, another scale beside it), against cuda_fp4.h x cuda_fp8.h (each value and
// the scale as fp16, their product rounded to fp16: exact), and the two-byte scale decode on the pattern's top 16 bits
// against cuda_fp8.h times 64; `ours` is code 0 when all agree.
template <int kFormat>  // 0: E2M1, 1: E4M3 satfinite, 2: INT8 (inv_scale 1), 3 to 5: see above
__global__ void sweep_all_fp32_kernel(SweepResult* r, float f) {
  const uint64_t stride = uint64_t{gridDim.x} * blockDim.x;
  for (uint64_t i = blockIdx.x * uint64_t{blockDim.x} + threadIdx.x; i < (uint64_t{1} << 32); i += stride) {
    const float x = __uint_as_float(static_cast<uint32_t>(i));
    uint8_t ours, cuda;
    if constexpr (kFormat == 0) {
      ours = fmt::e2m1_encode(x);
      cuda = static_cast<uint8_t>(__nv_cvt_float_to_fp4(x, __NV_E2M1, cudaRoundNearest));
    } else if constexpr (kFormat == 3) {
      const uint32_t w = static_cast<uint32_t>(i);
      const float v[4] = {x, __uint_as_float(w << 8 | w >> 24), __uint_as_float(~w), __uint_as_float(w * 2654435761u)};
      const uint16_t four = fmt::e2m1_encode4_scaled(v[0], v[1], v[2], v[3], f);
      uint16_t scalar = 0, oracle = 0;
      for (int l = 0; l < 4; ++l) {
        const float y = v[l] * f;
        scalar |= static_cast<uint16_t>(fmt::e2m1_encode(y) << (4 * l));
        oracle |= static_cast<uint16_t>((static_cast<unsigned>(__nv_cvt_float_to_fp4(y, __NV_E2M1, cudaRoundNearest)) & 0xFu) << (4 * l));
      }
      ours = four == scalar && four == oracle ? static_cast<uint8_t>(four & 0xFu) : uint8_t{0xFF};
      cuda = static_cast<uint8_t>(oracle & 0xFu);
    } else if constexpr (kFormat == 4) {
      const uint32_t w = static_cast<uint32_t>(i);
      uint32_t pair[2], half_pair[2];
      cuda::int8x4_to_bf16x2(w, pair[0], pair[1]);
      cuda::int8x4_to_f16x2(w, half_pair[0], half_pair[1]);
      bool same = true;
      for (int l = 0; l < 4; ++l) {
        const float v = static_cast<float>(static_cast<int8_t>(w >> (8 * l)));
        const __nv_bfloat16 b = __float2bfloat16_rn(v);
        same = same && static_cast<uint16_t>(pair[l / 2] >> (16 * (l % 2))) == *reinterpret_cast<const uint16_t*>(&b);
        same = same && static_cast<uint16_t>(half_pair[l / 2] >> (16 * (l % 2))) == __half_as_ushort(__float2half_rn(v));
      }
      cuda = static_cast<uint8_t>(w);
      ours = same ? cuda : static_cast<uint8_t>(~cuda);
    } else if constexpr (kFormat == 5) {
      const uint32_t w = static_cast<uint32_t>(i), scale = (w * 2654435761u >> 16) % 127u;  // 0x7F (NaN) left out
      uint32_t pairs[2];
      cuda::e2m1x8_to_e4m3_pairs(w, pairs[0], pairs[1]);
      const uint32_t other = (scale * 7u + 3u) % 127u;
      uint32_t one_byte[4], low_half[4], high_half[4];
      const uint32_t s_one = cuda::ue4m3x2_to_f16x2_times_2p6(scale), s_low = cuda::ue4m3x2_to_f16x2_times_2p6(scale | other << 8),
                     s_high = cuda::ue4m3x2_to_f16x2_times_2p6(other | scale << 8);
      for (int p = 0; p < 2; ++p) {
        cuda::e4m3_pairs_to_f16x2_scaled<0>(pairs[p], s_one, one_byte[2 * p], one_byte[2 * p + 1]);
        cuda::e4m3_pairs_to_f16x2_scaled<0>(pairs[p], s_low, low_half[2 * p], low_half[2 * p + 1]);
        cuda::e4m3_pairs_to_f16x2_scaled<1>(pairs[p], s_high, high_half[2 * p], high_half[2 * p + 1]);
      }
      const float s = __half2float(__half(__nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(scale), __NV_E4M3)));
      bool same = true;
      for (int l = 0; l < 8; ++l) {
        const auto code = static_cast<__nv_fp4_storage_t>((w >> (4 * l)) & 0xFu);
        const __half want = __float2half_rn(__half2float(__half(__nv_cvt_fp4_to_halfraw(code, __NV_E2M1))) * s);
        const int shift = 16 * (l % 2);
        same = same && static_cast<uint16_t>(one_byte[l / 2] >> shift) == __half_as_ushort(want) &&
               static_cast<uint16_t>(low_half[l / 2] >> shift) == __half_as_ushort(want) &&
               static_cast<uint16_t>(high_half[l / 2] >> shift) == __half_as_ushort(want);
      }
      // The two-byte scale decode (the exact W4A4 kernel's, once per K block) on the pattern's top 16 bits: every
      // pair, sign bits set or not, many times over; NaN bytes (0x7F / 0xFF) left out as above.
      const uint32_t two = w >> 16, s2 = cuda::ue4m3x2_to_f16x2_times_2p6(two);
      for (int h = 0; h < 2; ++h) {
        const uint32_t b = (two >> (8 * h)) & 0x7Fu;
        const __half want = __float2half_rn(64.0f * __half2float(__half(__nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(b), __NV_E4M3))));
        same = same && (b == 0x7Fu || static_cast<uint16_t>(s2 >> (16 * h)) == __half_as_ushort(want));
      }
      cuda = static_cast<uint8_t>(w & 0xFu);
      ours = same ? cuda : static_cast<uint8_t>(~cuda);
    } else if constexpr (kFormat == 2) {
      // INT8: the magic-number rounding against the device's own rintf (FRND) and a clamp; NaN gives 0.
      ours = static_cast<uint8_t>(fmt::int8_encode(x, 1.0f));
      const float r = rintf(x);
      cuda = (x != x) ? uint8_t{0} : static_cast<uint8_t>(static_cast<int8_t>(r > 127.0f ? 127 : (r < -127.0f ? -127 : static_cast<int>(r))));
    } else {
      // The software codec compiled for the device against cuda_fp8.h, and the dispatching e4m3_encode (the hardware
      // convert on sm_89+) against the same: a mismatch of either counts.
      ours = fmt::e4m3_encode_soft(x, fmt::Saturation::kSatFinite);
      cuda = static_cast<uint8_t>(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3));
      if (fmt::e4m3_encode(x, fmt::Saturation::kSatFinite) != cuda) cuda = static_cast<uint8_t>(~ours);
    }
    if (ours != cuda) {
      atomicAdd(&r->mismatches, 1ull);
      atomicMin(&r->first_mismatch, static_cast<unsigned int>(i));
    }
    // One atomicOr per new (code, warp) would be cheaper; the sweep takes well under a second either way.
    const unsigned int bit = 1u << (ours & 31u);
    if ((*static_cast<volatile unsigned int*>(&r->codes_seen[ours >> 5]) & bit) == 0u) atomicOr(&r->codes_seen[ours >> 5], bit);
  }
}

template <int kFormat>
SweepResult sweep_all_fp32(float f = 1.0f) {
  DeviceBuffer<SweepResult> r(1, 0x00);
  const unsigned int none = 0xFFFFFFFFu;
  SIXBIT_CUDA_CHECK(cudaMemcpy(&r.ptr->first_mismatch, &none, sizeof none, cudaMemcpyHostToDevice));
  sweep_all_fp32_kernel<kFormat><<<4096, 256>>>(r.ptr, f);
  SIXBIT_CUDA_CHECK_LAUNCH();
  return r.host()[0];
}

int popcount_codes(const SweepResult& r) {
  int n = 0;
  for (unsigned int w : r.codes_seen) n += __builtin_popcount(w);
  return n;
}

// A sweep passes when nothing mismatched and it saw `codes` distinct codes (`which`: what they are), so it was not vacuous.
void expect_clean_sweep(const SweepResult& r, int codes, const std::string& which, const std::string& context = "") {
  EXPECT_EQ(r.mismatches, 0ull) << context << "first mismatching input 0x" << std::hex << r.first_mismatch;
  EXPECT_EQ(popcount_codes(r), codes) << context << which << " must occur";
}

TEST(GpuCodecExhaustive, E2M1EncodeMatchesCudaFp4OnAllFp32) {
  SKIP_WITHOUT_GPU();
  expect_clean_sweep(sweep_all_fp32<0>(), 16, "all 16 E2M1 codes (signed zeros included)");
}

TEST(GpuCodecExhaustive, E4M3SatFiniteSoftAndDispatchedEncodeMatchHardwareCvtOnAllFp32) {
  SKIP_WITHOUT_GPU();
  expect_clean_sweep(sweep_all_fp32<1>(), 255, "every E4M3 code but 0xFF (satfinite never makes -NaN)");
}

TEST(GpuCodecExhaustive, E2M1Encode4ScaledMatchesScalarCodecAndCudaFp4InEveryLane) {
  SKIP_WITHOUT_GPU();
  for (const float f : {1.0f, 0.37f}) expect_clean_sweep(sweep_all_fp32<3>(f), 16, "all 16 codes in lane 0", "f = " + std::to_string(f) + ": ");
}

TEST(GpuCodecExhaustive, Int8x4ToBf16x2AndF16x2MatchCudaOnAllWords) {
  SKIP_WITHOUT_GPU();
  expect_clean_sweep(sweep_all_fp32<4>(), 256, "every int8 value in byte 0");
}

TEST(GpuCodecExhaustive, Nvfp4ToF16DecodeMatchesCudaFp4TimesFp8OnAllWords) {
  SKIP_WITHOUT_GPU();
  expect_clean_sweep(sweep_all_fp32<5>(), 16, "every E2M1 code in position 0");
}

TEST(GpuCodecExhaustive, Int8EncodeMatchesRintAndClampOnAllFp32) {
  SKIP_WITHOUT_GPU();
  expect_clean_sweep(sweep_all_fp32<2>(), 255, "every INT8 code from -127 to 127");
}

}  // namespace
}  // namespace sixbit::gpu_test
