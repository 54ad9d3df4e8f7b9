// The EXACT W4A8 and W4A4 GEMMs on Hopper's wgmma (cuda/gemm_sm90_exact.cuh) against the CPU emulator, EXACT: fp32
// outputs must be the emulator's bits, bf16 outputs its value rounded once (cuda_bf16.h's host conversion).
// These kernels take each NVFP4 block's sum t_j from the tensor cores (one k16 wgmma per block, fresh accumulators)
// and rely on the hardware adding 16 exact products whose sum needs <= 20 significant bits without losing any
// (derivation in the kernel header): the "widest block sums" inputs below drive every block to that limit (p_j odd
// and near its maximum, times scales whose mantissas are all ones), and the raw-code inputs span every E2M1 code, -0
// and the UE4M3 scale range; a single lost bit in any block changes an output's bits.
// Shapes cover every tile edge: M = 1, M and N off the 128 x 256 tile, K = 16 / 48 (one partial K block of 64), K off
// 64, odd N (the register-store epilogue), many more tiles than SMs (the persistent loop, the ring's phase wraps
// mid-tile). Outputs are poisoned before every launch; the W workspace too before the call that writes it; a second
// call reusing the workspace must give the same bits. Skips without a Hopper GPU (with the reason).
// Run: scripts/device.sh tests, or build/tests/gpu/gpu_emulator_test --gtest_filter='GpuGemmSm90Exact*'.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "emulation/gemm/qgemm.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "tests/gpu/gpu_test_support.hpp"

namespace {
using namespace sixbit;
using namespace gpu_test;

struct Shape {
  int64_t M, N, K;
};
// 8200 x 600 / 602: 65 x 3 tiles (> 132 SMs) of 3 K blocks; 4100 x 1040 x 288: 33 x 5 tiles of 5 K blocks (the
// 4-stage ring wraps mid-tile); 257 x 129 x 1536: 24 K blocks. K = 16 and 48 exist for W4A8 only (W4A4's packed rows
// must be 16-byte units: K % 32 == 0).
const Shape kShapes[] = {{1, 1, 16},      {1, 37, 64},      {130, 65, 48},    {33, 64, 32},      {257, 129, 1536}, {128, 256, 128},
                         {200, 300, 144}, {129, 513, 272}, {8200, 600, 160}, {8200, 602, 160}, {4100, 1040, 288}};

enum class Source { kQuantized, kRawCodes, kWidestBlockSums };
const char* source_name(Source s) { return s == Source::kQuantized ? "quantized" : s == Source::kRawCodes ? "raw codes" : "widest block sums"; }

// Every block's integer dot at the top of its range with an odd low bit: the first 15 elements of each block +-127
// (int8) or +-6 (E2M1 code 7, 12 half units), the last +-1 / +-0.5; scale mantissas 1.875 (all ones: 0x3F = 1.875,
// 0x77 = 240, 0x07 = 7 * 2^-9 subnormal, 0x4F = 1.875 * 2^2). Signs: all + in even rows (the sum's magnitude at its
// maximum), random in odd ones (partial cancellations, every low bit pattern).
quant::Nvfp4Tensor widest_nvfp4(int64_t rows, int64_t cols, std::mt19937& rng) {
  quant::Nvfp4Tensor t;
  t.rows = rows, t.cols = cols;
  t.packed.assign(static_cast<size_t>(rows * cols / 2), 0);
  t.scales.resize(static_cast<size_t>(rows * cols / 16));
  const uint8_t mantissa_all_ones[] = {0x3F, 0x77, 0x07, 0x4F};
  for (auto& sc : t.scales) sc = mantissa_all_ones[rng() % 4];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      uint8_t code = k % 16 == 15 ? 0x1 : 0x7;
      if (r % 2 == 1 && rng() % 2) code |= 0x8;
      t.packed[static_cast<size_t>((r * cols + k) / 2)] |= static_cast<uint8_t>(code << (4 * (k & 1)));
    }
  t.global_decode = 1.0f / 3.0f;
  return t;
}
quant::Int8Tensor widest_int8(int64_t rows, int64_t cols, std::mt19937& rng) {
  quant::Int8Tensor t;
  t.rows = rows, t.cols = cols;
  t.codes.resize(static_cast<size_t>(rows * cols));
  t.scales.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      const int v = k % 16 == 15 ? 1 : 127;
      t.codes[static_cast<size_t>(r * cols + k)] = static_cast<int8_t>(r % 2 == 1 && rng() % 2 ? -v : v);
    }
  for (auto& sc : t.scales) sc = std::ldexp(1.0f + static_cast<float>(rng() % 1000) / 997.0f, -static_cast<int>(rng() % 12));
  return t;
}

struct Operands {
  quant::Nvfp4Tensor a4, w4;
  quant::Int8Tensor a8;
  std::vector<float> bias;
};
Operands make_operands(const Shape& s, Source src, uint32_t seed) {
  Operands o;
  std::mt19937 rng(seed);
  if (src == Source::kQuantized) {
    const auto xa = adversarial(s.M, s.K, seed), xw = adversarial(s.N, s.K, seed + 1);
    o.a4 = quant::nvfp4_quantize(xa.data(), s.M, s.K, quant::Nvfp4Recipe::kTe);
    o.w4 = quant::nvfp4_quantize(xw.data(), s.N, s.K, quant::Nvfp4Recipe::kTe);
    o.a8 = quant::int8_quantize(xa.data(), s.M, s.K, quant::Int8Granularity::kPerRow);
  } else if (src == Source::kRawCodes) {
    o.a4 = raw_nvfp4(s.M, s.K, rng), o.w4 = raw_nvfp4(s.N, s.K, rng), o.a8 = raw_int8(s.M, s.K, rng);
  } else {
    o.a4 = widest_nvfp4(s.M, s.K, rng), o.w4 = widest_nvfp4(s.N, s.K, rng), o.a8 = widest_int8(s.M, s.K, rng);
  }
  o.bias = test_bias(s.N);
  return o;
}

enum class Type { kW4A8, kW4A4 };

// One type's device operands, its W workspace, and calls with fp32 or bf16 out (w_packed only on the first call).
struct ExactSm90Gemm {
  Type type;
  Shape s;
  const Operands& o;
  DeviceBuffer<uint8_t> a_bytes, a_scales, w_packed, w_scales;
  DeviceBuffer<float> sa, bias, y;
  DeviceBuffer<uint16_t> workspace, y16;
  bool workspace_written = false;
  ExactSm90Gemm(Type t, const Shape& sh, const Operands& ops)
      : type(t), s(sh), o(ops),
        a_bytes(t == Type::kW4A4 ? ops.a4.packed : std::vector<uint8_t>(ops.a8.codes.begin(), ops.a8.codes.end())),
        a_scales(t == Type::kW4A4 ? ops.a4.scales : std::vector<uint8_t>(1)), w_packed(ops.w4.packed), w_scales(ops.w4.scales),
        sa(t == Type::kW4A8 ? ops.a8.scales : std::vector<float>(1)), bias(ops.bias), y(static_cast<size_t>(sh.M * sh.N)),
        workspace(static_cast<size_t>(sh.N * cuda::fast_sm90_padded_k(sh.K))), y16(static_cast<size_t>(sh.M * sh.N)) {}
  template <typename OutT>
  void call(bool with_bias, OutT* out) {
    const uint8_t* wp = workspace_written ? nullptr : w_packed.ptr;
    const float* b = with_bias ? bias.ptr : nullptr;
    if (type == Type::kW4A8)
      cuda::gemm_w4a8_exact_sm90(reinterpret_cast<const int8_t*>(a_bytes.ptr), sa.ptr, wp, w_scales.ptr, o.w4.global_decode, b, out, workspace.ptr,
                                 s.M, s.N, s.K, nullptr);
    else
      cuda::gemm_w4a4_exact_sm90(a_bytes.ptr, a_scales.ptr, o.a4.global_decode, wp, w_scales.ptr, o.w4.global_decode, b, out, workspace.ptr, s.M,
                                 s.N, s.K, nullptr);
    workspace_written = true;
  }
  std::vector<float> fp32(bool with_bias) {
    y.poison();
    call(with_bias, y.ptr);
    return y.host();
  }
  std::vector<uint16_t> bf16(bool with_bias) {
    y16.poison();
    call(with_bias, reinterpret_cast<__nv_bfloat16*>(y16.ptr));
    return y16.host();
  }
};

std::vector<float> emulate(Type t, const Operands& o, bool with_bias) {
  std::vector<float> y(static_cast<size_t>(o.a4.rows * o.w4.rows));
  const float* b = with_bias ? o.bias.data() : nullptr;
  if (t == Type::kW4A8) gemm::gemm_w4a8(o.a8, o.w4, b, y.data());
  else gemm::gemm_w4a4(o.a4, o.w4, b, y.data());
  return y;
}

void check_type(Type t) {
  const char* name = t == Type::kW4A8 ? "W4A8" : "W4A4";
  int64_t nonzero = 0, compared = 0;
  for (const Shape& s : kShapes) {
    if (t == Type::kW4A4 && s.K % 32 != 0) continue;
    for (const Source src : {Source::kQuantized, Source::kRawCodes, Source::kWidestBlockSums}) {
      const Operands o = make_operands(s, src, 7001 + static_cast<uint32_t>(s.K));
      ExactSm90Gemm dev(t, s, o);
      dev.workspace.poison();
      for (const bool with_bias : {false, true}) {
        const std::vector<float> ref = emulate(t, o, with_bias);
        for (float v : ref) nonzero += v != 0.0f;
        compared += static_cast<int64_t>(ref.size());
        const std::string at = std::string(" ") + name + ", " + source_name(src) + ", M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) +
                               " K=" + std::to_string(s.K) + (with_bias ? ", bias" : ", no bias");
        const std::vector<float> got = dev.fp32(with_bias);
        const int64_t i = first_mismatch(got, ref);
        EXPECT_EQ(i, -1) << "fp32 out" << at << ": first mismatch at m=" << (i < 0 ? 0 : i / s.N) << " n=" << (i < 0 ? 0 : i % s.N) << ", got "
                         << (i < 0 ? 0.0f : got[static_cast<size_t>(i)]) << ", emulator " << (i < 0 ? 0.0f : ref[static_cast<size_t>(i)]);
        EXPECT_EQ(first_mismatch(dev.fp32(with_bias), got), -1) << "run to run (workspace reused)" << at;
        EXPECT_EQ(first_mismatch(dev.bf16(with_bias), bf16_bits_of(ref)), -1) << "bf16 out" << at;
      }
    }
  }
  EXPECT_GT(nonzero, compared / 2) << "mostly zero references: the comparison would be near vacuous";
}

TEST(GpuGemmSm90Exact, W4a8WgmmaBlockSumsMatchEmulatorBitForBit) {
  SKIP_WITHOUT_SM90();
  check_type(Type::kW4A8);
}

TEST(GpuGemmSm90Exact, W4a4WgmmaBlockSumsMatchEmulatorBitForBit) {
  SKIP_WITHOUT_SM90();
  check_type(Type::kW4A4);
}

// What the entry points refuse, before anything is launched: W4A4 with K not a multiple of 32, a missing workspace
// or scales, K not a multiple of 16; each with sixbit::Error.
TEST(GpuGemmSm90Exact, RefusesBadCallsClearly) {
  SKIP_WITHOUT_SM90();
  DeviceBuffer<uint8_t> a(64 * 64), sc(64 * 4);
  DeviceBuffer<uint16_t> wk(64 * 64);
  DeviceBuffer<float> y(64 * 64), sa(64);
  for (const int64_t K : {16, 48})
    EXPECT_THROW(cuda::gemm_w4a4_exact_sm90(a.ptr, sc.ptr, 1.0f, nullptr, nullptr, 1.0f, nullptr, y.ptr, wk.ptr, 64, 64, K, nullptr), Error) << "K=" << K;
  EXPECT_THROW(cuda::gemm_w4a4_exact_sm90(a.ptr, sc.ptr, 1.0f, nullptr, nullptr, 1.0f, nullptr, y.ptr, nullptr, 64, 64, 64, nullptr), Error);
  EXPECT_THROW(cuda::gemm_w4a4_exact_sm90(a.ptr, nullptr, 1.0f, nullptr, nullptr, 1.0f, nullptr, y.ptr, wk.ptr, 64, 64, 64, nullptr), Error);
  const auto* a8 = reinterpret_cast<const int8_t*>(a.ptr);
  EXPECT_THROW(cuda::gemm_w4a8_exact_sm90(a8, sa.ptr, nullptr, nullptr, 1.0f, nullptr, y.ptr, wk.ptr, 64, 64, 40, nullptr), Error);
  EXPECT_THROW(cuda::gemm_w4a8_exact_sm90(a8, nullptr, nullptr, nullptr, 1.0f, nullptr, y.ptr, wk.ptr, 64, 64, 64, nullptr), Error);
  EXPECT_THROW(cuda::gemm_w4a8_exact_sm90(a8, sa.ptr, a.ptr, nullptr, 1.0f, nullptr, y.ptr, wk.ptr, 64, 64, 64, nullptr), Error);  // w_packed without scales
}

}  // namespace
