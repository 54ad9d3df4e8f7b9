// The tiled tensor-core exact GEMMs (cuda/gemm_exact_tiled.cuh, behind cuda::gemm_{w4a4,w4a8,w8a8}_exact) against
// the CPU emulator, bit for bit: every type, with and without bias, on shapes that hit every tile edge (M = 1, K = 16,
// M and N off the 128x128 tile, K off the 64-wide stage, long K), on quantized data and on raw random codes and
// scales (all 16 E2M1 codes, -0, scales from 0 and subnormals up to 448, the unused scale sign bit). Outputs are
// poisoned (0xFF: NaN) before every launch; a second launch must give the same bits. A misaligned operand takes the
// naive one-thread-per-output kernels, which must give the same bits too (a second on-device oracle).
// Without a GPU every test skips. Run: build/tests/gpu/gpu_emulator_test --gtest_filter='GpuGemmTiled*' (scripts/device.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "tests/gpu/gpu_test_support.hpp"
#include "emulation/gemm/qgemm.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"

namespace {
using namespace sixbit;
using namespace gpu_test;

// Device bytes with the payload at `offset` (offset 4 breaks the 8/16-byte alignment the tiled loads need).
struct DeviceBytes {
  uint8_t* base = nullptr;
  size_t offset = 0, bytes = 0;
  DeviceBytes(const void* host, size_t n, size_t off) : offset(off), bytes(n) {
    SIXBIT_CUDA_CHECK(cudaMalloc(&base, n + off + 16));
    SIXBIT_CUDA_CHECK(cudaMemset(base, 0xFF, n + off + 16));
    if (host && n) SIXBIT_CUDA_CHECK(cudaMemcpy(base + off, host, n, cudaMemcpyHostToDevice));
  }
  template <typename T>
  explicit DeviceBytes(const std::vector<T>& v, size_t off = 0) : DeviceBytes(v.data(), v.size() * sizeof(T), off) {}
  ~DeviceBytes() { cudaFree(base); }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
  template <typename T>
  T* as() const { return reinterpret_cast<T*>(base + offset); }
  void poison() { SIXBIT_CUDA_CHECK(cudaMemset(base, 0xFF, bytes + offset + 16)); }
  std::vector<float> floats() const {
    std::vector<float> h(bytes / 4);
    SIXBIT_CUDA_CHECK(cudaDeviceSynchronize());
    SIXBIT_CUDA_CHECK(cudaMemcpy(h.data(), base + offset, bytes, cudaMemcpyDeviceToHost));
    return h;
  }
};

enum class Type { kW4A4, kW4A8, kW8A8 };
const char* type_name(Type t) { return t == Type::kW4A4 ? "W4A4" : t == Type::kW4A8 ? "W4A8" : "W8A8"; }

struct Shape {
  int64_t M, N, K;
};

struct Operands {
  quant::Nvfp4Tensor a4, w4;
  quant::Int8Tensor a8, w8;
  std::vector<float> bias;
};


std::vector<float> make_bias(int64_t N, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> b(static_cast<size_t>(N));
  for (auto& v : b) v = u(rng);
  return b;
}

Operands quantized_operands(const Shape& s, uint32_t seed) {
  const auto xa = adversarial(s.M, s.K, seed), xw = adversarial(s.N, s.K, seed + 1);
  return {quant::nvfp4_quantize(xa.data(), s.M, s.K, quant::Nvfp4Recipe::kTe), quant::nvfp4_quantize(xw.data(), s.N, s.K, quant::Nvfp4Recipe::kTe),
          quant::int8_quantize(xa.data(), s.M, s.K, quant::Int8Granularity::kPerRow),
          quant::int8_quantize(xw.data(), s.N, s.K, quant::Int8Granularity::kPerRow), make_bias(s.N, seed + 2)};
}

Operands raw_operands(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  Operands o;
  o.a4 = raw_nvfp4(s.M, s.K, rng), o.w4 = raw_nvfp4(s.N, s.K, rng);
  o.a8 = raw_int8(s.M, s.K, rng), o.w8 = raw_int8(s.N, s.K, rng);
  o.bias = make_bias(s.N, seed + 2);
  return o;
}

std::vector<float> emulate(Type t, const Operands& o, bool with_bias) {
  const int64_t M = t == Type::kW4A4 ? o.a4.rows : o.a8.rows, N = t == Type::kW8A8 ? o.w8.rows : o.w4.rows;
  std::vector<float> y(static_cast<size_t>(M * N));
  const float* b = with_bias ? o.bias.data() : nullptr;
  if (t == Type::kW4A4) gemm::gemm_w4a4(o.a4, o.w4, b, y.data());
  else if (t == Type::kW4A8) gemm::gemm_w4a8(o.a8, o.w4, b, y.data());
  else gemm::gemm_w8a8(o.a8, o.w8, b, y.data());
  return y;
}

// The device operands of one type; a_offset != 0 misaligns A so the launcher takes the naive kernels.
struct DeviceGemm {
  Type type;
  Shape s;
  float ga = 1, gw = 1;
  DeviceBytes a, as, w, ws, bias, y;
  DeviceGemm(Type t, const Operands& o, const Shape& sh, size_t a_offset)
      : type(t), s(sh), ga(o.a4.global_decode), gw(o.w4.global_decode),
        a(t == Type::kW4A4 ? DeviceBytes(o.a4.packed, a_offset) : DeviceBytes(o.a8.codes, a_offset)),
        as(t == Type::kW4A4 ? DeviceBytes(o.a4.scales) : DeviceBytes(o.a8.scales)),
        w(t == Type::kW8A8 ? DeviceBytes(o.w8.codes) : DeviceBytes(o.w4.packed)),
        ws(t == Type::kW8A8 ? DeviceBytes(o.w8.scales) : DeviceBytes(o.w4.scales)),
        bias(o.bias),
        y(nullptr, static_cast<size_t>(sh.M * sh.N) * sizeof(float), 0) {}
  std::vector<float> run(bool with_bias) {
    y.poison();
    const float* b = with_bias ? bias.as<float>() : nullptr;
    if (type == Type::kW4A4)
      cuda::gemm_w4a4_exact(a.as<uint8_t>(), as.as<uint8_t>(), ga, w.as<uint8_t>(), ws.as<uint8_t>(), gw, b, y.as<float>(), s.M, s.N, s.K, nullptr);
    else if (type == Type::kW4A8)
      cuda::gemm_w4a8_exact(a.as<int8_t>(), as.as<float>(), w.as<uint8_t>(), ws.as<uint8_t>(), gw, b, y.as<float>(), s.M, s.N, s.K, nullptr);
    else
      cuda::gemm_w8a8_exact(a.as<int8_t>(), as.as<float>(), w.as<int8_t>(), ws.as<float>(), b, y.as<float>(), s.M, s.N, s.K, nullptr);
    return y.floats();
  }
};

#define EXPECT_SAME_BITS(got, ref, what)                                                                                          \
  do {                                                                                                                            \
    const int64_t i_ = first_mismatch(got, ref);                                                                                  \
    EXPECT_EQ(i_, -1) << what << ": first mismatch at m=" << (i_ < 0 ? 0 : i_ / s.N) << " n=" << (i_ < 0 ? 0 : i_ % s.N) << " got " \
                      << (i_ < 0 ? 0.0f : got[static_cast<size_t>(i_)]) << " want " << (i_ < 0 ? 0.0f : ref[static_cast<size_t>(i_)]);   \
  } while (0)

struct Case {
  Type type;
  Shape s;
};
std::string case_name(const testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return std::string(type_name(c.type)) + "_M" + std::to_string(c.s.M) + "_N" + std::to_string(c.s.N) + "_K" + std::to_string(c.s.K);
}

class GpuGemmTiled : public testing::TestWithParam<Case> {};

TEST_P(GpuGemmTiled, MatchesEmulatorBitForBit) {
  SKIP_WITHOUT_GPU();
  const Type t = GetParam().type;
  const Shape s = GetParam().s;
  int64_t nonzero = 0;
  for (int source = 0; source < 2; ++source) {
    const Operands o = source == 0 ? quantized_operands(s, 101) : raw_operands(s, 202);
    const char* src = source == 0 ? "quantized" : "raw codes";
    DeviceGemm dev(t, o, s, 0);
    for (bool with_bias : {false, true}) {
      const auto ref = emulate(t, o, with_bias);
      for (float v : ref) nonzero += v != 0.0f;
      const auto got = dev.run(with_bias);
      EXPECT_SAME_BITS(got, ref, type_name(t) << " tiled, " << src << (with_bias ? ", bias" : ", no bias"));
      EXPECT_SAME_BITS(dev.run(with_bias), got, "run to run, " << src);
    }
    // The naive kernels (misaligned A) as a second oracle, on the shapes where they take well under a second.
    if (s.M * s.N * s.K <= (int64_t{1} << 30)) {
      DeviceGemm naive(t, o, s, 4);
      EXPECT_SAME_BITS(naive.run(true), emulate(t, o, true), type_name(t) << " naive (misaligned A), " << src);
    }
  }
  EXPECT_GT(nonzero, 0) << "all-zero reference: the comparison would be vacuous";
}

// M = 1 and K = 16 (one block, one stage); N off the tile; M, N one past a tile; K = 48 and 80 (a partial stage);
// exactly one tile; DiT widths (K = 1536 and the long K = 8960: 140 stages through the double buffer).
const Shape kShapes[] = {{1, 1, 16},    {1, 37, 64},    {5, 300, 16},     {128, 128, 64},    {129, 129, 80},
                         {257, 131, 48}, {64, 256, 512}, {1000, 520, 1536}, {300, 1536, 8960}};
std::vector<Case> all_cases() {
  std::vector<Case> v;
  for (Type t : {Type::kW4A4, Type::kW4A8, Type::kW8A8})
    for (const Shape& s : kShapes) v.push_back({t, s});
  return v;
}
INSTANTIATE_TEST_SUITE_P(Shapes, GpuGemmTiled, testing::ValuesIn(all_cases()), case_name);

// More than 65535 row tiles of 16 and 1024 row tiles of 128 (M = 4 * 32760 + 1): the linear grid and 64-bit
// offsets. Short K keeps the CPU reference cheap.
TEST(GpuGemmTiledLarge, W4a4AndW4a8TallM131041_N40_K32) {
  SKIP_WITHOUT_GPU();
  const Shape s{4 * 32760 + 1, 40, 32};
  const Operands o = raw_operands(s, 303);
  for (Type t : {Type::kW4A4, Type::kW4A8}) {
    DeviceGemm dev(t, o, s, 0);
    EXPECT_SAME_BITS(dev.run(true), emulate(t, o, true), type_name(t) << " M=" << s.M);
  }
}

}  // namespace
