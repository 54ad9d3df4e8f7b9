// The coalesced NVFP4 quantizer (two launches, and amax + quantize in one: nvfp4_quantize_fused_amax), the
// register-resident INT8 row quantizer, their bf16-input variants, the vectorized tensor amax and the fast W4A8 GEMM,
// against the CPU emulator. Quantizers must give the SAME BITS (bf16
// inputs: the emulator on the exactly widened fp32 tensor); the fast GEMM must stay within a derived bound.
// Outputs are poisoned before every launch, with a different byte on the second run, which must repeat the first:
// a byte the kernel forgot to write differs between the runs. Without a GPU every test skips with the reason.
// Run: cmake --build build --target gpu_emulator_test && ctest --test-dir build -L gpu (scripts/device.sh on the GPU).
#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "tests/gpu/gpu_test_support.hpp"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/gemm/qgemm.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace {
using namespace sixbit;

using namespace gpu_test;
template <typename T>
using Dev = DeviceBuffer<T>;

// bf16 as its bits: truncation keeps every finite value finite and keeps subnormals subnormal; widening is exact.
std::vector<uint16_t> to_bf16(const std::vector<float>& x) {
  std::vector<uint16_t> b(x.size());
  for (size_t i = 0; i < x.size(); ++i) b[i] = static_cast<uint16_t>(fmt::f32_bits(x[i]) >> 16);
  return b;
}
std::vector<float> widen(const std::vector<uint16_t>& b) {
  std::vector<float> x(b.size());
  for (size_t i = 0; i < b.size(); ++i) x[i] = fmt::f32_from_bits(uint32_t{b[i]} << 16);
  return x;
}

// Per 16-element block one scenario: normal with a lognormal gain, zero, one outlier, subnormal, signed zeros,
// huge (`huge` times the normal values: with the default 1e36 some reach +-Inf, which the NVFP4 recipes take), all equal. `ties` instead builds exact E2M1 rounding ties in every recipe (tests/oracle/nvfp4_dump
// kind 5 with G = 1): tensor amax 2688 gives unit global scales, a block with amax 6 * 2^j gets scale 2^j, and
// mid * 2^j scales to the midpoint mid exactly.
std::vector<float> nvfp4_input(int64_t rows, int64_t cols, uint32_t seed, bool ties, float huge = 1e36f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  const float mid[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (size_t b = 0; b < x.size() / 16; ++b) {
    float* blk = x.data() + b * 16;
    const float gain = std::exp(2.0f * nd(rng)), unit = std::ldexp(1.0f, static_cast<int>(rng() % 15) - 6);
    for (int i = 0; i < 16; ++i) blk[i] = ties ? mid[rng() % 7] * unit * ((rng() & 1) ? 1.0f : -1.0f) : nd(rng) * gain;
    if (ties) {
      blk[rng() % 16] = ((rng() & 1) ? 6.0f : -6.0f) * unit;
      continue;
    }
    switch (rng() % 8) {
      case 0: for (int i = 0; i < 16; ++i) blk[i] = 0.0f; break;
      case 1: blk[rng() % 16] *= 1e4f; break;
      case 2: for (int i = 0; i < 16; ++i) blk[i] *= 1e-41f; break;  // fp32 (and bf16) subnormals
      case 3: blk[rng() % 16] = -0.0f, blk[rng() % 16] = 0.0f; break;
      case 4: for (int i = 0; i < 16; ++i) blk[i] *= huge; break;
      case 5: for (int i = 0; i < 16; ++i) blk[i] = blk[0]; break;
      default: break;
    }
  }
  if (ties && !x.empty()) x[0] = 2688.0f;
  return x;
}

// INT8 rows: nvfp4_input's scenarios, or exact ties: a row with amax 127 * 2^j has inv_scale 2^-j exactly and
// elements (k + 0.5) * 2^j scale to the tie k + 0.5.
// The INT8 quantizer refuses non-finite input, so "huge" stays below the overflow: |normal * gain| < ~1e5 here.
std::vector<float> int8_input(int64_t rows, int64_t cols, uint32_t seed, bool ties, float huge = 1e30f) {
  std::vector<float> x = nvfp4_input(rows, (cols + 15) / 16 * 16, seed, false, huge);
  x.resize(static_cast<size_t>(rows * cols));
  for (const float v : x)
    if (!std::isfinite(v)) throw std::runtime_error("int8_input: generated a non-finite value; lower `huge`");
  if (!ties) return x;
  std::mt19937 rng(seed);
  for (int64_t r = 0; r < rows; ++r) {
    const float unit = std::ldexp(1.0f, static_cast<int>(rng() % 40) - 20);
    for (int64_t c = 0; c < cols; ++c) x[r * cols + c] = (static_cast<float>(static_cast<int>(rng() % 254) - 127) + 0.5f) * unit;
    x[r * cols + rng() % cols] = ((rng() & 1) ? 127.0f : -127.0f) * unit;
  }
  return x;
}

const quant::Nvfp4Recipe kRecipes[] = {quant::Nvfp4Recipe::kTe, quant::Nvfp4Recipe::kModelopt, quant::Nvfp4Recipe::kTorchao, quant::Nvfp4Recipe::kCutlass};

// rows x cols: one block; odd rows; more than one 128-row tile of the blocked layout with scale_cols % 4 != 0 (48:
// 3, 1552: 97); a DiT width. Each with the scenario input and the tie input, every recipe; fp32 or bf16 input.
void check_nvfp4(bool bf16, quant::ScaleLayout layout) {
  const int64_t shapes[][2] = {{1, 16}, {3, 48}, {129, 48}, {131, 1552}, {7, 8960}, {257, 16}};
  for (const auto& s : shapes) {
    const int64_t rows = s[0], cols = s[1];
    for (const bool ties : {false, true}) {
      std::vector<float> x = nvfp4_input(rows, cols, static_cast<uint32_t>(rows * 7 + cols + ties), ties);
      const std::vector<uint16_t> xb = to_bf16(x);
      if (bf16) x = widen(xb);
      Dev<float> dx(x), amax(1);
      Dev<uint16_t> dxb(xb);
      if (bf16) cuda::tensor_amax_bf16(reinterpret_cast<const __nv_bfloat16*>(dxb.ptr), rows * cols, amax.ptr, nullptr, nullptr);
      else cuda::tensor_amax(dx.ptr, rows * cols, amax.ptr, nullptr, nullptr);
      for (const auto r : kRecipes) {
        const quant::Nvfp4Tensor ref = quant::nvfp4_quantize(x.data(), rows, cols, r);
        const auto ref_scales = layout == quant::ScaleLayout::kRowMajor ? ref.scales : quant::scales_to_blocked_128x4(ref.scales.data(), rows, cols / 16);
        const std::string what = std::string(quant::nvfp4_recipe_name(r)) + (bf16 ? " bf16 " : " fp32 ") + std::string(quant::scale_layout_name(layout)) +
                                 " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) + (ties ? " ties" : "");
        ASSERT_TRUE(same_bits(amax.host(), {ref.amax})) << what;
        Dev<uint8_t> packed(ref.packed.size()), scales(ref_scales.size());
        // Runs 0, 1: the quantize-only kernel with the amax above; runs 2, 3: the one-launch kernel, which writes its
        // own amax and NaN count (poisoned here: it must write both).
        Dev<float> own_amax(1);
        Dev<unsigned int> nan_count(1);
        for (int run = 0; run < 4; ++run) {
          packed.poison(run % 2 ? 0x54 : 0xAB), scales.poison(run % 2 ? 0x54 : 0xAB), own_amax.poison(), nan_count.poison();
          if (run < 2 && bf16)
            cuda::nvfp4_quantize_bf16(reinterpret_cast<const __nv_bfloat16*>(dxb.ptr), rows, cols, r, amax.ptr, packed.ptr, scales.ptr, layout, nullptr);
          else if (run < 2) cuda::nvfp4_quantize(dx.ptr, rows, cols, r, amax.ptr, packed.ptr, scales.ptr, layout, nullptr);
          else if (bf16)
            cuda::nvfp4_quantize_fused_amax_bf16(reinterpret_cast<const __nv_bfloat16*>(dxb.ptr), rows, cols, r, own_amax.ptr, nan_count.ptr,
                                                 packed.ptr, scales.ptr, layout, nullptr);
          else cuda::nvfp4_quantize_fused_amax(dx.ptr, rows, cols, r, own_amax.ptr, nan_count.ptr, packed.ptr, scales.ptr, layout, nullptr);
          const auto p = packed.host(), sc = scales.host();
          ASSERT_EQ(p, ref.packed) << what << " run " << run;
          ASSERT_EQ(sc, ref_scales) << what << " run " << run;
          if (run >= 2) {
            ASSERT_TRUE(same_bits(own_amax.host(), {ref.amax})) << what << " run " << run;
            ASSERT_EQ(nan_count.host()[0], 0u) << what << " run " << run;
          }
        }
      }
    }
  }
}

TEST(GpuQuantizeMore, Nvfp4Fp32RowMajorEveryRecipeMatchesEmulator) { SKIP_WITHOUT_GPU(); check_nvfp4(false, quant::ScaleLayout::kRowMajor); }
TEST(GpuQuantizeMore, Nvfp4Fp32Blocked128x4EveryRecipeMatchesEmulator) { SKIP_WITHOUT_GPU(); check_nvfp4(false, quant::ScaleLayout::kBlocked128x4); }
TEST(GpuQuantizeMore, Nvfp4Bf16RowMajorEveryRecipeMatchesEmulator) { SKIP_WITHOUT_GPU(); check_nvfp4(true, quant::ScaleLayout::kRowMajor); }
TEST(GpuQuantizeMore, Nvfp4Bf16Blocked128x4EveryRecipeMatchesEmulator) { SKIP_WITHOUT_GPU(); check_nvfp4(true, quant::ScaleLayout::kBlocked128x4); }

// NaN inputs through the quantize-only kernels (the tensor API refuses NaN, the device entry points do not): every
// element keeps the emulator's block quantizer's code (a NaN encodes as +6, code 0x7, whatever its sign or payload;
// the block amax ignores it). This pins the four-at-a-time encode's reliance on the GPU's canonical NaNs
// (fmt::e2m1_encode4_scaled) inside the real kernels, for negative, quiet and signalling patterns in every lane.
TEST(GpuQuantizeMore, Nvfp4NanInputsMatchTheEmulatorsBlockQuantizer) {
  SKIP_WITHOUT_GPU();
  const int64_t rows = 9, cols = 96;
  std::vector<float> x = nvfp4_input(rows, cols, 77u, false, 1e3f);
  // Quiet and signalling, both signs; each stays a NaN when truncated to bf16 (the top 16 bits).
  const uint32_t nans[] = {0x7FC00000u, 0xFFC00000u, 0xFF810000u, 0x7F810000u, 0xFFFF0000u};
  for (size_t i = 0; i < x.size(); i += 7) x[i] = fmt::f32_from_bits(nans[(i / 7) % 5]);  // every lane position over the tensor
  const std::vector<uint16_t> xb = to_bf16(x);
  for (const bool bf16 : {false, true}) {
    const std::vector<float> xv = bf16 ? widen(xb) : x;
    float amax = 0.0f;
    for (const float v : xv) amax = quant::nvfp4_fmaxabs(amax, v);
    Dev<float> dx(xv), damax(std::vector<float>{amax});
    Dev<uint16_t> dxb(xb);
    for (const auto r : kRecipes) {
      const quant::Nvfp4GlobalScales g = quant::nvfp4_global_scales(r, amax);
      std::vector<uint8_t> ref_packed(static_cast<size_t>(rows * cols / 2)), ref_scales(static_cast<size_t>(rows * cols / 16));
      for (size_t b = 0; b < ref_scales.size(); ++b) quant::nvfp4_quantize_block(r, xv.data() + 16 * b, g, ref_packed.data() + 8 * b, &ref_scales[b]);
      Dev<uint8_t> packed(ref_packed.size()), scales(ref_scales.size());
      const std::string what = std::string(quant::nvfp4_recipe_name(r)) + (bf16 ? " bf16" : " fp32");
      packed.poison(0xAB), scales.poison(0xAB);
      if (bf16)
        cuda::nvfp4_quantize_bf16(reinterpret_cast<const __nv_bfloat16*>(dxb.ptr), rows, cols, r, damax.ptr, packed.ptr, scales.ptr,
                                  quant::ScaleLayout::kRowMajor, nullptr);
      else cuda::nvfp4_quantize(dx.ptr, rows, cols, r, damax.ptr, packed.ptr, scales.ptr, quant::ScaleLayout::kRowMajor, nullptr);
      EXPECT_EQ(packed.host(), ref_packed) << what;
      EXPECT_EQ(scales.host(), ref_scales) << what;
      // The one-launch kernel: the same codes, the amax without the NaNs, and every planted NaN counted.
      Dev<float> own_amax(1);
      Dev<unsigned int> nan_count(1);
      packed.poison(0x54), scales.poison(0x54);
      if (bf16)
        cuda::nvfp4_quantize_fused_amax_bf16(reinterpret_cast<const __nv_bfloat16*>(dxb.ptr), rows, cols, r, own_amax.ptr, nan_count.ptr, packed.ptr,
                                             scales.ptr, quant::ScaleLayout::kRowMajor, nullptr);
      else cuda::nvfp4_quantize_fused_amax(dx.ptr, rows, cols, r, own_amax.ptr, nan_count.ptr, packed.ptr, scales.ptr, quant::ScaleLayout::kRowMajor, nullptr);
      EXPECT_EQ(packed.host(), ref_packed) << what << " one launch";
      EXPECT_EQ(scales.host(), ref_scales) << what << " one launch";
      EXPECT_TRUE(same_bits(own_amax.host(), {amax})) << what << " one launch";
      EXPECT_EQ(nan_count.host()[0], static_cast<unsigned>((xv.size() + 6) / 7)) << what << " one launch";
      int nan_codes = 0;  // guard: the planted NaNs reached the encoder as NaNs (code 0x7 in their nibble)
      for (size_t i = 0; i < xv.size(); i += 7) nan_codes += fmt::e2m1_unpack(ref_packed[i / 2], static_cast<int>(i % 2)) == 0x7;
      EXPECT_EQ(nan_codes, static_cast<int>((xv.size() + 6) / 7)) << what;
    }
  }
}

// The one-launch NVFP4 kernel on tensors larger than what it keeps on the chip (3 units of 16 KB per block, 4 blocks
// per SM: 25 MB on an H100), so its quantize pass also reads units again from global memory: every recipe against
// the two launches (tensor_amax + the quantize-only kernel, themselves checked against the emulator above), the te
// recipe and its amax against the CPU emulator directly; fp32 and bf16 input, 4096 x 4096 (64 or 32 MiB).
TEST(GpuQuantizeMore, Nvfp4FusedAmaxLargerThanItKeepsOnChipMatchesTwoLaunches) {
  SKIP_WITHOUT_GPU();
  const int64_t rows = 4096, cols = 4096, n = rows * cols;
  std::vector<float> x = nvfp4_input(rows, cols, 4242u, false);
  const std::vector<uint16_t> xb = to_bf16(x);
  for (const bool bf16 : {false, true}) {
    const std::vector<float> xv = bf16 ? widen(xb) : x;
    ASSERT_GT(n * (bf16 ? 2 : 4), int64_t{cuda::sm_count()} * 4 * 3 * 16384) << "must exceed what the kernel keeps on the chip";
    Dev<float> dx(bf16 ? std::vector<float>{} : xv), amax(1), own_amax(1);
    Dev<uint16_t> dxb(bf16 ? xb : std::vector<uint16_t>{});
    Dev<unsigned int> nan_count(1);
    const auto* xbp = reinterpret_cast<const __nv_bfloat16*>(dxb.ptr);
    Dev<uint8_t> packed(static_cast<size_t>(n / 2)), scales(static_cast<size_t>(n / 16)), packed2(static_cast<size_t>(n / 2)),
        scales2(static_cast<size_t>(n / 16));
    for (const auto r : kRecipes) {
      const std::string what = std::string(quant::nvfp4_recipe_name(r)) + (bf16 ? " bf16" : " fp32");
      constexpr auto kRowMajor = quant::ScaleLayout::kRowMajor;
      if (bf16) {
        cuda::tensor_amax_bf16(xbp, n, amax.ptr, nullptr, nullptr);
        cuda::nvfp4_quantize_bf16(xbp, rows, cols, r, amax.ptr, packed.ptr, scales.ptr, kRowMajor, nullptr);
      } else {
        cuda::tensor_amax(dx.ptr, n, amax.ptr, nullptr, nullptr);
        cuda::nvfp4_quantize(dx.ptr, rows, cols, r, amax.ptr, packed.ptr, scales.ptr, kRowMajor, nullptr);
      }
      packed2.poison(), scales2.poison(), own_amax.poison(), nan_count.poison();
      if (bf16) cuda::nvfp4_quantize_fused_amax_bf16(xbp, rows, cols, r, own_amax.ptr, nan_count.ptr, packed2.ptr, scales2.ptr, kRowMajor, nullptr);
      else cuda::nvfp4_quantize_fused_amax(dx.ptr, rows, cols, r, own_amax.ptr, nan_count.ptr, packed2.ptr, scales2.ptr, kRowMajor, nullptr);
      const auto p = packed2.host(), sc = scales2.host();
      ASSERT_TRUE(same_bits(own_amax.host(), amax.host())) << what;
      ASSERT_EQ(nan_count.host()[0], 0u) << what;
      ASSERT_EQ(p, packed.host()) << what;
      ASSERT_EQ(sc, scales.host()) << what;
      if (r == quant::Nvfp4Recipe::kTe) {
        const quant::Nvfp4Tensor ref = quant::nvfp4_quantize(xv.data(), rows, cols, r);
        ASSERT_TRUE(same_bits(own_amax.host(), {ref.amax})) << what;
        ASSERT_EQ(p, ref.packed) << what;
        ASSERT_EQ(sc, ref.scales) << what;
      }
    }
  }
}

// cols: one block; 48 and 1552 (odd multiples of 16; V = 2 for fp32, 4 for bf16); 4112 (V = 4); 8960 (DiT; V = 8); 37 (not a multiple of
// 4: scalar fallback); 32768 (the register kernel's maximum, V = 16 x 512 threads); 40000 (the two-read fallback). `offset` 1
// shifts the input by one element, so it is not vector-aligned and the scalar fallback runs.
void check_int8(bool bf16, int offset) {
  const int64_t shapes[][2] = {{1, 16}, {3, 48}, {65, 1552}, {3, 4112}, {5, 8960}, {3, 37}, {3, 32768}, {2, 40000}};
  for (const auto& s : shapes) {
    const int64_t rows = s[0], cols = s[1];
    for (const bool ties : {false, true}) {
      std::vector<float> x = int8_input(rows, cols, static_cast<uint32_t>(rows + cols * 3 + ties), ties);
      const std::vector<uint16_t> xb = to_bf16(x);
      if (bf16) x = widen(xb);
      const quant::Int8Tensor ref = quant::int8_quantize(x.data(), rows, cols, quant::Int8Granularity::kPerRow);
      std::vector<float> xs(static_cast<size_t>(offset), 0.0f);
      xs.insert(xs.end(), x.begin(), x.end());
      std::vector<uint16_t> xbs(static_cast<size_t>(offset), 0);
      xbs.insert(xbs.end(), xb.begin(), xb.end());
      Dev<float> dx(xs), scales(static_cast<size_t>(rows));
      Dev<uint16_t> dxb(xbs);
      Dev<int8_t> codes(ref.codes.size());
      const std::string what = std::string(bf16 ? "bf16" : "fp32") + " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
                               " offset=" + std::to_string(offset) + (ties ? " ties" : "");
      for (int run = 0; run < 2; ++run) {
        codes.poison(run ? 0x54 : 0xAB), scales.poison(run ? 0x54 : 0xAB);
        if (bf16)
          cuda::int8_quantize_rows_bf16(reinterpret_cast<const __nv_bfloat16*>(dxb.ptr) + offset, rows, cols, codes.ptr, scales.ptr, nullptr);
        else cuda::int8_quantize_rows(dx.ptr + offset, rows, cols, codes.ptr, scales.ptr, nullptr);
        ASSERT_EQ(codes.host(), ref.codes) << what << " run " << run;
        ASSERT_TRUE(same_bits(scales.host(), ref.scales)) << what << " run " << run;
      }
    }
  }
}

TEST(GpuQuantizeMore, Int8PerRowFp32RegisterAndFallbackPathsMatchEmulator) { SKIP_WITHOUT_GPU(); check_int8(false, 0); }
TEST(GpuQuantizeMore, Int8PerRowBf16RegisterAndFallbackPathsMatchEmulator) { SKIP_WITHOUT_GPU(); check_int8(true, 0); }
TEST(GpuQuantizeMore, Int8PerRowFp32UnalignedInputMatchesEmulator) { SKIP_WITHOUT_GPU(); check_int8(false, 1); }
TEST(GpuQuantizeMore, Int8PerRowBf16UnalignedInputMatchesEmulator) { SKIP_WITHOUT_GPU(); check_int8(true, 1); }

// Lengths around the vector width and the unrolled stride, aligned and shifted by one element (scalar path),
// with NaNs planted (counted, never the max), an Inf (the max) or neither.
TEST(GpuQuantizeMore, TensorAmaxFp32AndBf16CountNanAndMatchEmulator) {
  SKIP_WITHOUT_GPU();
  for (const int64_t n : {int64_t{1}, int64_t{5}, int64_t{4099}, int64_t{1} << 20}) {
    for (int offset = 0; offset < 2; ++offset) {
      for (int planted = 0; planted < 3; ++planted) {
        std::vector<float> x = int8_input(1, n, static_cast<uint32_t>(n + offset), false);
        if (planted == 1) x[static_cast<size_t>(n / 2)] = NAN, x[static_cast<size_t>(n - 1)] = -NAN;
        if (planted == 2) x[static_cast<size_t>(n / 3)] = -INFINITY;
        for (const bool bf16 : {false, true}) {
          const std::vector<uint16_t> b = to_bf16(x);
          const std::vector<float> v = bf16 ? widen(b) : x;
          float want = 0.0f;
          unsigned int nans = 0;
          for (float f : v) {
            if (std::isnan(f)) ++nans;
            else want = std::fmax(want, std::fabs(f));
          }
          std::vector<float> vs(static_cast<size_t>(offset), 0.0f);
          vs.insert(vs.end(), v.begin(), v.end());
          std::vector<uint16_t> bs(static_cast<size_t>(offset), 0);
          bs.insert(bs.end(), b.begin(), b.end());
          Dev<float> dx(vs), amax(1);
          Dev<uint16_t> db(bs);
          Dev<unsigned int> count(1);
          if (bf16) cuda::tensor_amax_bf16(reinterpret_cast<const __nv_bfloat16*>(db.ptr) + offset, n, amax.ptr, count.ptr, nullptr);
          else cuda::tensor_amax(dx.ptr + offset, n, amax.ptr, count.ptr, nullptr);
          const std::string what = std::string(bf16 ? "bf16" : "fp32") + " n=" + std::to_string(n) + " offset=" + std::to_string(offset);
          EXPECT_TRUE(same_bits(amax.host(), {want})) << what << " got " << amax.host()[0] << " want " << want;
          EXPECT_EQ(count.host()[0], nans) << what;  // n = 1 plants both NaNs on one element
          EXPECT_EQ(nans, planted == 1 ? (n == 1 ? 1u : 2u) : 0u) << what;
        }
      }
    }
  }
}

// NVFP4 -> bf16 dequantization (the fast paths' operand pass) is exact: e2m1 * ue4m3 has <= 6 significant bits and
// lies in bf16's range, so every output must equal RN_bf16(e2m1_decode * ue4m3_decode), which is that product's
// bf16 truncation. Aligned buffers take the one-thread-per-block kernel, a 1-byte offset the per-byte fallback.
TEST(GpuDequantize, Nvfp4ToBf16ExactOnBothKernels) {
  const int64_t rows = 67, cols = 160;  // 670 blocks: not a multiple of the 256-thread CTA
  // The ties input: every block has a scale of its own (2^-6..2^8) and most codes are nonzero (the lognormal-gain
  // input leaves three quarters of the outputs zero: small blocks underflow against the tensor amax).
  const auto q = quant::nvfp4_quantize(nvfp4_input(rows, cols, 61, true).data(), rows, cols, quant::Nvfp4Recipe::kTe);
  std::vector<uint16_t> want(static_cast<size_t>(rows * cols));
  int64_t nonzero = 0;
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float v = nvfp4_element_value(q, i / cols, i % cols);
    ASSERT_EQ(fmt::f32_bits(v) & 0xFFFFu, 0u) << "the product is not exact in bf16 at " << i;
    want[static_cast<size_t>(i)] = static_cast<uint16_t>(fmt::f32_bits(v) >> 16);
    nonzero += v != 0.0f;
  }
  EXPECT_GT(nonzero, rows * cols / 2);  // checked on the CPU too: the expected values are not mostly zeros
  SKIP_WITHOUT_GPU();
  for (const int offset : {0, 1}) {  // bytes into the packed buffer: 0 = vector kernel, 1 = fallback
    std::vector<uint8_t> packed(static_cast<size_t>(offset), 0);
    packed.insert(packed.end(), q.packed.begin(), q.packed.end());
    Dev<uint8_t> dp(packed), ds(q.scales);
    Dev<uint16_t> out(want.size(), 0xFF);
    cuda::nvfp4_dequantize_bf16(dp.ptr + offset, ds.ptr, rows, cols, out.ptr, nullptr);
    EXPECT_EQ(out.host(), want) << "packed offset " << offset;
  }
}

// Fast W4A8 (int8 A -> bf16 exactly, W -> bf16 exactly, fp32 tensor-core sums, then (y * sa[m]) * gw + bias[n]) sums
// the same exact products as the emulator in another order. With u = 2^-24, KB = K/16, P = sum_k |a_k * w_k| (a_k the
// int8 code, w_k = e2m1 * s8, exact in double) and Y = sa[m] * gw * P:
//   emulator: exact block sums, KB-1 fp32 additions of t_j (<= KB*u*P in its half units, so relative KB*u), then
//     RN(acc*sa) and RN(.*alpha): 2u relative; alpha = 0.5*gw is exact;
//   fast: fp32 accumulation in an unknown order, Hopper tensor cores not guaranteed to round each add to nearest,
//     so 2^-22 per add: <= K*2^-22*P; alpha = 1 (exact), then RN(y*sa), RN(.*gw): 2u;
//   the same bias addition on both: at most u*(|ref| + |bias|) + u*(|got| + |bias|), <= 4u*(|ref| + |bias|) here.
// tol = (KB*u + K*2^-22 + 8u) * Y + 4u * (|ref| + |bias|); bf16 output adds its one rounding, 2^-9 * |got| (<= 2^-8 * |ref|
// while the rest is small). Two implementations: cuBLASLt + passes (gemm_w4a8_fast) and, on Hopper, the fused wgmma
// kernel (gemm_w4a8_fast_sm90, fp32 and bf16 out; its shapes add tiles off the 128 x 256 grid and more tiles than
// SMs, the last with 5 K blocks per tile: tiles starting mid-lap of the 4-stage ring). Also required of each: some outputs differ (not secretly exact), run-to-run identical bits.
TEST(GpuGemmFast, W4a8Int8ANvfp4WWithinDerivedBound) {
  SKIP_WITHOUT_GPU();
  std::string why;
  const bool sm90 = sm90_gemms_usable(&why);
  if (!sm90) std::printf("W4A8 fast: only the cuBLASLt path is checked here (%s)\n", why.c_str());
  const int64_t shapes[][3] = {{1, 1, 16}, {130, 65, 48}, {33, 64, 1552}, {9, 20, 8960}, {300, 520, 1552}, {4200, 1100, 64}, {4200, 600, 320}};
  enum Path { kCublasLt, kSm90F32, kSm90Bf16, kPaths };
  int64_t differing[kPaths] = {}, checked[kPaths] = {};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    const auto xa = int8_input(M, K, 51, false, 1e3f), xw = nvfp4_input(N, K, 52, false, 1e3f);  // no fp32 overflow in y
    const auto a8 = quant::int8_quantize(xa.data(), M, K, quant::Int8Granularity::kPerRow);
    const auto w4 = quant::nvfp4_quantize(xw.data(), N, K, quant::Nvfp4Recipe::kTe);
    const std::vector<float> bias = test_bias(N);
    std::vector<float> ref(static_cast<size_t>(M * N));
    gemm::gemm_w4a8(a8, w4, bias.data(), ref.data());
    std::vector<double> tol(ref.size());
    const double u = std::ldexp(1.0, -24), rel = static_cast<double>(K / 16) * u + static_cast<double>(K) * std::ldexp(1.0, -22) + 8 * u;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double P = 0;
        for (int64_t k = 0; k < K; ++k) P += std::fabs(a8.codes[static_cast<size_t>(m * K + k)] * double{nvfp4_element_value(w4, n, k)});
        const size_t i = static_cast<size_t>(m * N + n);
        tol[i] = rel * a8.scales[static_cast<size_t>(m)] * w4.global_decode * P + 4 * u * (std::fabs(ref[i]) + std::fabs(bias[static_cast<size_t>(n)]));
      }
    Dev<int8_t> da(a8.codes);
    Dev<float> dsa(a8.scales), dbias(bias), y(ref.size(), 0xFF);
    Dev<uint8_t> dwp(w4.packed), dws(w4.scales);
    // The sm90 kernel keeps W in its own order, padded to K blocks of 64: the larger of the two layouts.
    Dev<uint16_t> abf(static_cast<size_t>(M * K)), wbf(static_cast<size_t>(N * cuda::fast_sm90_padded_k(K))), yb(ref.size(), 0xFF);
    for (int path = 0; path < kPaths; ++path) {
      if (path != kCublasLt && !sm90) continue;
      // First call dequantizes W; the second reuses it (w_packed = nullptr) and must give the same bits.
      std::vector<float> got[2];
      for (int call = 0; call < 2; ++call) {
        const uint8_t* wp = call == 0 ? dwp.ptr : nullptr;
        y.poison(0xFF), yb.poison(0xFF);
        if (call == 0) wbf.poison(0xFF);
        if (path == kCublasLt) cuda::gemm_w4a8_fast(da.ptr, dsa.ptr, wp, dws.ptr, w4.global_decode, dbias.ptr, y.ptr, abf.ptr, wbf.ptr, M, N, K, nullptr);
        if (path == kSm90F32) cuda::gemm_w4a8_fast_sm90(da.ptr, dsa.ptr, wp, dws.ptr, w4.global_decode, dbias.ptr, y.ptr, wbf.ptr, M, N, K, nullptr);
        if (path == kSm90Bf16) {
          cuda::gemm_w4a8_fast_sm90(da.ptr, dsa.ptr, wp, dws.ptr, w4.global_decode, dbias.ptr, reinterpret_cast<__nv_bfloat16*>(yb.ptr), wbf.ptr, M, N,
                                    K, nullptr);
          got[call] = widen(yb.host());
        } else {
          got[call] = y.host();
        }
      }
      EXPECT_TRUE(same_bits(got[1], got[0])) << "path " << path << ": run to run, M=" << M << " N=" << N << " K=" << K;
      for (size_t i = 0; i < ref.size(); ++i) {
        ASSERT_FALSE(std::isnan(got[0][i])) << "path " << path << ": poison survived at " << i << ", M=" << M << " N=" << N << " K=" << K;
        const double t = tol[i] + (path == kSm90Bf16 ? std::ldexp(std::fabs(static_cast<double>(got[0][i])), -8) : 0.0);
        EXPECT_LE(std::fabs(static_cast<double>(got[0][i]) - ref[i]), t) << "path " << path << ", M=" << M << " N=" << N << " K=" << K << " at " << i;
        differing[path] += got[0][i] != ref[i];
        ++checked[path];
      }
    }
  }
  for (int path = 0; path < kPaths; ++path) {
    if (checked[path] == 0) continue;
    EXPECT_GT(differing[path], 0) << "path " << path << ": bit-identical on all " << checked[path] << " outputs: the comparison looks vacuous";
    std::printf("W4A8 fast path %d (0 cuBLASLt, 1 sm90 fp32, 2 sm90 bf16): %lld of %lld outputs differ from the emulator (all within the bound)\n",
                path, static_cast<long long>(differing[path]), static_cast<long long>(checked[path]));
  }
}

}  // namespace
