// Every one of the 2^32 fp32 bit patterns through our encoders, compared with CUDA's own host conversions.
// EXACT comparison of codes. One gtest per format so `ctest -j` runs them side by side (label: exhaustive).
// Run alone: build/tests/exhaustive_formats_test --gtest_filter='*E2M1*'
#include <gtest/gtest.h>
#include <omp.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>

#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/formats/int8.hpp"
#include "emulation/formats/ue8m0.hpp"

#if defined(SIXBIT_HAVE_CUDA_HEADERS)
#include <cuda_fp4.h>
#include <cuda_fp8.h>
#endif

namespace {
using namespace sixbit::fmt;

struct SweepResult {
  uint64_t mismatches = 0;
  std::array<uint64_t, 256> histogram{};  // how many inputs landed on each code (proves the sweep ran)
  std::array<uint32_t, 8> first_bad{};
};

// ours(x) and oracle(x) return a code; the sweep visits every uint32 once.
SweepResult sweep_all_fp32(const std::function<uint8_t(float)>& ours, const std::function<uint8_t(float)>& oracle) {
  SweepResult r;
  const int64_t chunks = 1 << 12;
#pragma omp parallel
  {
    SweepResult local;
#pragma omp for schedule(dynamic, 8)
    for (int64_t c = 0; c < chunks; ++c) {
      const uint64_t begin = static_cast<uint64_t>(c) << 20, end = begin + (1u << 20);
      for (uint64_t u = begin; u < end; ++u) {
        const float x = f32_from_bits(static_cast<uint32_t>(u));
        const uint8_t a = ours(x), b = oracle(x);
        ++local.histogram[a];
        if (a != b) {
          if (local.mismatches < local.first_bad.size()) local.first_bad[local.mismatches] = static_cast<uint32_t>(u);
          ++local.mismatches;
        }
      }
    }
#pragma omp critical
    {
      for (size_t i = 0; i < 256; ++i) r.histogram[i] += local.histogram[i];
      for (uint64_t i = 0; i < local.mismatches && r.mismatches + i < r.first_bad.size(); ++i)
        r.first_bad[r.mismatches + i] = local.first_bad[i];
      r.mismatches += local.mismatches;
    }
  }
  return r;
}

void expect_clean(const SweepResult& r, int expected_codes, const std::function<uint8_t(float)>& ours,
                  const std::function<uint8_t(float)>& oracle) {
  uint64_t total = 0;
  int codes_hit = 0;
  for (uint64_t h : r.histogram) {
    total += h;
    codes_hit += h > 0;
  }
  EXPECT_EQ(total, uint64_t{1} << 32) << "the sweep did not visit every fp32 pattern";
  EXPECT_EQ(codes_hit, expected_codes) << "every code must be produced by some input";
  EXPECT_EQ(r.mismatches, 0u);
  for (uint64_t i = 0; i < r.mismatches && i < r.first_bad.size(); ++i) {
    const float x = f32_from_bits(r.first_bad[i]);
    ADD_FAILURE() << "input 0x" << std::hex << r.first_bad[i] << " (" << x << "): ours 0x" << int(ours(x))
                  << " cuda 0x" << int(oracle(x));
  }
}

#if defined(SIXBIT_HAVE_CUDA_HEADERS)
#define SKIP_WITHOUT_CUDA_HEADERS()
#else
#define SKIP_WITHOUT_CUDA_HEADERS() GTEST_SKIP() << "CUDA toolkit headers not found: cannot compare with cuda_fp4.h/cuda_fp8.h"
#endif

TEST(ExhaustiveFp32, E2M1EncodeMatchesCudaFp4) {
  SKIP_WITHOUT_CUDA_HEADERS();
#if defined(SIXBIT_HAVE_CUDA_HEADERS)
  auto ours = [](float x) { return e2m1_encode(x); };
  auto cuda = [](float x) { return static_cast<uint8_t>(__nv_cvt_float_to_fp4(x, __NV_E2M1, cudaRoundNearest)); };
  // 16 codes: 0x0..0x7 and 0x8..0xF (negative zero included: -0.0 and tiny negatives give 0x8).
  expect_clean(sweep_all_fp32(ours, cuda), 16, ours, cuda);
#endif
}

// The quantize kernels' four-at-a-time form (FMA-pipe rounding, emulation/formats/e2m1.hpp) against the scalar codec
// on x_i * f: every fp32 pattern reaches every lane once (lane i sees a bijection of the sweep's pattern), for f = 1
// (the product is x itself, Inf and NaN included) and for a factor whose products round (0.37). EXACT, all 16 bits:
// through the one-code sweep, `ours` is lane 0's code when all four lanes agree and 0xFF (no code) when any differs.
TEST(ExhaustiveFp32, E2M1Encode4ScaledMatchesScalarCodecInEveryLane) {
  for (const float f : {1.0f, 0.37f}) {
    auto lanes = [](float x, float out[4]) {
      const uint32_t w = f32_bits(x);
      out[0] = x, out[1] = f32_from_bits(w << 8 | w >> 24), out[2] = f32_from_bits(~w), out[3] = f32_from_bits(w * 2654435761u);
    };
    auto scalar4 = [f](const float* v) {
      return static_cast<uint16_t>(e2m1_pack(e2m1_encode(v[0] * f), e2m1_encode(v[1] * f)) | e2m1_pack(e2m1_encode(v[2] * f), e2m1_encode(v[3] * f)) << 8);
    };
    auto ours = [&](float x) {
      float v[4];
      lanes(x, v);
      const uint16_t four = e2m1_encode4_scaled(v[0], v[1], v[2], v[3], f);
      return four == scalar4(v) ? static_cast<uint8_t>(four & 0xFu) : uint8_t{0xFF};
    };
    auto scalar = [&](float x) {
      float v[4];
      lanes(x, v);
      return static_cast<uint8_t>(scalar4(v) & 0xFu);
    };
    SCOPED_TRACE(f);
    expect_clean(sweep_all_fp32(ours, scalar), 16, ours, scalar);
  }
}

// INT8 (inv_scale = 1, so the product is x itself): the magic-number rounding against libm's std::nearbyint (RNE under
// the default rounding mode) and a clamp; NaN gives 0. Needs no CUDA headers.
TEST(ExhaustiveFp32, Int8EncodeMatchesNearbyintAndClamp) {
  auto ours = [](float x) { return static_cast<uint8_t>(int8_encode(x, 1.0f)); };
  auto libm = [](float x) {
    if (std::isnan(x)) return uint8_t{0};
    const float r = std::nearbyint(x);
    return static_cast<uint8_t>(static_cast<int8_t>(r > 127.0f ? 127 : (r < -127.0f ? -127 : static_cast<int>(r))));
  };
  // 255 codes: -127..127; -128 (0x80) never.
  expect_clean(sweep_all_fp32(ours, libm), 255, ours, libm);
}

TEST(ExhaustiveFp32, E4M3SatFiniteEncodeMatchesCudaFp8) {
  SKIP_WITHOUT_CUDA_HEADERS();
#if defined(SIXBIT_HAVE_CUDA_HEADERS)
  auto ours = [](float x) { return e4m3_encode(x, Saturation::kSatFinite); };
  auto cuda = [](float x) { return static_cast<uint8_t>(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3)); };
  // 255 codes: every NaN maps to 0x7F and nothing saturates to NaN, so 0xFF is never produced.
  expect_clean(sweep_all_fp32(ours, cuda), 255, ours, cuda);
#endif
}

TEST(ExhaustiveFp32, E4M3NoSatEncodeMatchesCudaFp8) {
  SKIP_WITHOUT_CUDA_HEADERS();
#if defined(SIXBIT_HAVE_CUDA_HEADERS)
  auto ours = [](float x) { return e4m3_encode(x, Saturation::kNoSat); };
  auto cuda = [](float x) { return static_cast<uint8_t>(__nv_cvt_float_to_fp8(x, __NV_NOSAT, __NV_E4M3)); };
  // 256 codes: negative overflow gives 0xFF.
  expect_clean(sweep_all_fp32(ours, cuda), 256, ours, cuda);
#endif
}

// UE8M0: the four rounding x saturation modes cuda_fp8.h offers. Codes produced: all 256 except where a mode
// cannot reach them (RZ never rounds up to 0xFF from finite input under satfinite, etc.), so count them.
struct E8M0Mode {
  E8M0Rounding ours;
  bool satfinite;
};

class ExhaustiveUe8m0 : public ::testing::TestWithParam<E8M0Mode> {};

TEST_P(ExhaustiveUe8m0, EncodeMatchesCudaFp8) {
  SKIP_WITHOUT_CUDA_HEADERS();
#if defined(SIXBIT_HAVE_CUDA_HEADERS)
  const E8M0Mode m = GetParam();
  auto ours = [m](float x) { return ue8m0_encode(x, m.ours, m.satfinite); };
  auto cuda = [m](float x) {
    return static_cast<uint8_t>(__nv_cvt_float_to_e8m0(x, m.satfinite ? __NV_SATFINITE : __NV_NOSAT,
                                                       m.ours == E8M0Rounding::kTowardZero ? cudaRoundZero : cudaRoundPosInf));
  };
  const SweepResult r = sweep_all_fp32(ours, cuda);
  int codes_hit = 0;
  for (uint64_t h : r.histogram) codes_hit += h > 0;
  EXPECT_GE(codes_hit, 255) << "nearly every scale code must be produced";
  expect_clean(r, codes_hit, ours, cuda);
#endif
}

INSTANTIATE_TEST_SUITE_P(Modes, ExhaustiveUe8m0,
                         ::testing::Values(E8M0Mode{E8M0Rounding::kTowardZero, true}, E8M0Mode{E8M0Rounding::kTowardZero, false},
                                           E8M0Mode{E8M0Rounding::kTowardPosInf, true}, E8M0Mode{E8M0Rounding::kTowardPosInf, false}),
                         [](const auto& info) {
                           return std::string(info.param.ours == E8M0Rounding::kTowardZero ? "RZ" : "RP") +
                                  (info.param.satfinite ? "_SatFinite" : "_NoSat");
                         });

// Decoders: every code against CUDA's own widening conversions (fp8 -> half -> float, fp4 -> half -> float).
TEST(AllCodes, DecodersMatchCuda) {
  SKIP_WITHOUT_CUDA_HEADERS();
#if defined(SIXBIT_HAVE_CUDA_HEADERS)
  for (int c = 0; c < 256; ++c) {
    const __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(c), __NV_E4M3);
    const float cuda = __half2float(__half(h));
    const float ours = e4m3_decode(static_cast<uint8_t>(c));
    if (f32_is_nan(cuda)) {
      EXPECT_TRUE(f32_is_nan(ours)) << "E4M3 code " << c;
    } else {
      EXPECT_EQ(f32_bits(ours), f32_bits(cuda)) << "E4M3 code " << c;
    }
  }
  for (int c = 0; c < 16; ++c) {
    const __half_raw h = __nv_cvt_fp4_to_halfraw(static_cast<__nv_fp4_storage_t>(c), __NV_E2M1);
    const float cuda = __half2float(__half(h));
    EXPECT_EQ(f32_bits(e2m1_decode(static_cast<uint8_t>(c))), f32_bits(cuda)) << "E2M1 code " << c;
  }
  for (int c = 0; c < 256; ++c) {
    const __nv_bfloat16_raw b = __nv_cvt_e8m0_to_bf16raw(static_cast<__nv_fp8_storage_t>(c));
    const float cuda = __bfloat162float(__nv_bfloat16(b));
    const float ours = ue8m0_decode(static_cast<uint8_t>(c));
    if (f32_is_nan(cuda)) {
      EXPECT_TRUE(f32_is_nan(ours)) << "UE8M0 code " << c;
    } else {
      EXPECT_EQ(f32_bits(ours), f32_bits(cuda)) << "UE8M0 code " << c;
    }
  }
#endif
}

}  // namespace
