// Shared by the GPU tests against the emulator (gpu_emulator.cpp, gpu_gemm_tiled.cpp, gpu_gemm_sm90*.cpp, gpu_quantize_more.cpp):
// the skip for machines without a GPU, a poisoned device buffer, the adversarial input generator and a bitwise
// comparison. Header-only; every test file is its own translation unit of gpu_emulator_test.
#pragma once

#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/gemm/qgemm.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"

namespace sixbit::gpu_test {

#define SKIP_WITHOUT_GPU()                                                   \
  do {                                                                       \
    std::string why;                                                         \
    if (!::sixbit::cuda::device_available(&why)) GTEST_SKIP() << "no GPU: " << why; \
  } while (0)

// Device memory for `count` elements plus 4 spare (room for a deliberately misaligned view), poisoned at birth and
// on demand, so a kernel that leaves an output unwritten shows up (0xFF bytes: NaN floats, -1 integers).
template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  size_t count = 0;
  explicit DeviceBuffer(size_t n, int poison_byte = 0xFF) : count(n) {
    SIXBIT_CUDA_CHECK(cudaMalloc(&ptr, (n + 4) * sizeof(T)));
    poison(poison_byte);
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    SIXBIT_CUDA_CHECK(cudaMemcpy(ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void poison(int byte = 0xFF) { SIXBIT_CUDA_CHECK(cudaMemset(ptr, byte, (count + 4) * sizeof(T))); }
  std::vector<T> host() const {
    std::vector<T> h(count);
    SIXBIT_CUDA_CHECK(cudaDeviceSynchronize());
    SIXBIT_CUDA_CHECK(cudaMemcpy(h.data(), ptr, count * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

// Random normal data with zero blocks, one-huge-element blocks, tiny blocks and signed zeros: the scenarios the
// emulator's own tests and oracle use.
inline std::vector<float> adversarial(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (auto& v : x) v = nd(rng);
  for (int64_t b = 0; b < rows * cols / 16; ++b) {
    float* blk = x.data() + b * 16;
    switch (rng() % 6) {
      case 0: std::fill(blk, blk + 16, 0.0f); break;
      case 1: blk[rng() % 16] *= 1e4f; break;
      case 2: for (int i = 0; i < 16; ++i) blk[i] *= 1e-9f; break;
      case 3: blk[rng() % 16] = -0.0f; break;
      default: break;
    }
  }
  return x;
}

// The dequantized value of element (r, k) of a row-major NVFP4 tensor without its global scale: e2m1 * ue4m3, exact
// in fp32 (<= 6 significant bits), so also exact in bf16 and double. The fast paths' bounds and the dequantization
// test build on it.
inline float nvfp4_element_value(const quant::Nvfp4Tensor& t, int64_t r, int64_t k) {
  const uint8_t code = fmt::e2m1_unpack(t.packed[static_cast<size_t>((r * t.cols + k) / 2)], static_cast<int>(k & 1));
  return fmt::e2m1_decode(code) * fmt::ue4m3_decode(t.scales[static_cast<size_t>(r * (t.cols / 16) + k / 16)]);
}

// A W4A4 GEMM for the fast paths' bound tests: adversarial A [M, K] and W [N, K] (seeds `seed`, `seed` + 1), both
// NVFP4 (te recipe), the emulator's output (no bias), and each output's bound for the fast paths with fp32 out,
// tol = (KB*u + K*2^-22 + 8u) * ga*gw * sum_k |a_k w_k| on the exact element values (derived at
// GpuGemm.W4a4FastWithinDerivedBound, gpu_emulator.cpp); a bf16 output adds its rounding, bf16_tol().
struct W4a4Case {
  quant::Nvfp4Tensor a, w;
  std::vector<float> ref;
  std::vector<double> tol;  // [M, N]
  double bf16_tol(size_t i) const { return tol[i] + std::ldexp(1.0, -8) * (std::fabs(static_cast<double>(ref[i])) + tol[i]); }
};
inline W4a4Case w4a4_case(int64_t M, int64_t N, int64_t K, uint32_t seed) {
  const auto xa = adversarial(M, K, seed), xw = adversarial(N, K, seed + 1);
  W4a4Case c{quant::nvfp4_quantize(xa.data(), M, K, quant::Nvfp4Recipe::kTe), quant::nvfp4_quantize(xw.data(), N, K, quant::Nvfp4Recipe::kTe),
             std::vector<float>(static_cast<size_t>(M * N)), std::vector<double>(static_cast<size_t>(M * N))};
  gemm::gemm_w4a4(c.a, c.w, nullptr, c.ref.data());
  const double u = std::ldexp(1.0, -24), g = static_cast<double>(c.a.global_decode) * c.w.global_decode;
  const double rel = static_cast<double>(K / 16) * u + static_cast<double>(K) * std::ldexp(1.0, -22) + 8 * u;
  std::vector<double> av(static_cast<size_t>(M * K)), wv(static_cast<size_t>(N * K));  // |element values|, exact
  for (int64_t r = 0; r < M; ++r)
    for (int64_t k = 0; k < K; ++k) av[static_cast<size_t>(r * K + k)] = std::fabs(nvfp4_element_value(c.a, r, k));
  for (int64_t r = 0; r < N; ++r)
    for (int64_t k = 0; k < K; ++k) wv[static_cast<size_t>(r * K + k)] = std::fabs(nvfp4_element_value(c.w, r, k));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double P = 0;
      for (int64_t k = 0; k < K; ++k) P += av[static_cast<size_t>(m * K + k)] * wv[static_cast<size_t>(n * K + k)];
      c.tol[static_cast<size_t>(m * N + n)] = rel * g * P;
    }
  return c;
}

// Raw codes, no quantizer (the exact GEMMs' tests: gpu_gemm_tiled.cpp, gpu_gemm_sm90_exact.cpp): every E2M1 code (incl. -0), scale bytes over the whole finite UE4M3 range with the sign bit
// (ignored by ue4m3_decode) sometimes set, INT8 codes over -127..127. Scale NaN (0x7F, 0xFF) is left out: its bits
// depend on the host's NaN propagation, not on this kernel.
inline quant::Nvfp4Tensor raw_nvfp4(int64_t rows, int64_t cols, std::mt19937& rng) {
  quant::Nvfp4Tensor t;
  t.rows = rows, t.cols = cols;
  t.packed.resize(static_cast<size_t>(rows * cols / 2));
  t.scales.resize(static_cast<size_t>(rows * cols / 16));
  for (auto& b : t.packed) b = static_cast<uint8_t>(rng());
  for (auto& sc : t.scales) {
    const uint32_t r = rng() % 8;
    sc = r == 0 ? 0 : r == 1 ? static_cast<uint8_t>(1 + rng() % 7) : r == 2 ? 0x7E : static_cast<uint8_t>(rng() % 0x7F);
    if (rng() % 5 == 0) sc |= 0x80;
    if ((sc & 0x7F) == 0x7F) sc = 0x7E;
  }
  t.global_decode = std::ldexp(1.0f, -static_cast<int>(rng() % 20)) / 3.0f;
  return t;
}
inline quant::Int8Tensor raw_int8(int64_t rows, int64_t cols, std::mt19937& rng) {
  quant::Int8Tensor t;
  t.rows = rows, t.cols = cols;
  t.codes.resize(static_cast<size_t>(rows * cols));
  t.scales.resize(static_cast<size_t>(rows));
  for (auto& c : t.codes) c = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  for (auto& sc : t.scales) sc = std::ldexp(1.0f + static_cast<float>(rng() % 1000) / 997.0f, -static_cast<int>(rng() % 12));
  return t;
}
// The Hopper wgmma GEMMs (cuda/gemm_sm90.cuh): usable on device 0? On a compute-capability 9.0 device of a build with
// sm_90a code (SIXBIT_BUILT_FOR_SM90A, tests/gpu/CMakeLists.txt) they must be, and a "no" is a test failure: a
// regression in sm90_gemm_supported() would otherwise turn their tests into silent skips.
inline bool sm90_gemms_usable(std::string* why) {
  const bool ok = cuda::sm90_gemm_supported(0, why);
#ifdef SIXBIT_BUILT_FOR_SM90A
  int major = 0, minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
  if (!ok && major == 9 && minor == 0) ADD_FAILURE() << "sm_90a build on a Hopper device, yet the wgmma GEMMs cannot run: " << *why;
#endif
  return ok;
}

// Skips a test without a GPU, or on a GPU where the wgmma GEMMs cannot run (with the reason; on Hopper with an sm_90a
// build sm90_gemms_usable fails the test instead).
#define SKIP_WITHOUT_SM90()                                                                                \
  do {                                                                                                     \
    SKIP_WITHOUT_GPU();                                                                                    \
    std::string why_;                                                                                      \
    if (!::sixbit::gpu_test::sm90_gemms_usable(&why_)) GTEST_SKIP() << "the wgmma GEMMs need Hopper: " << why_; \
  } while (0)

// A small bias with both signs and a few distinct values, for the GEMM epilogues (bias[n] = 0.01 * (n % 13) - 0.05).
inline std::vector<float> test_bias(int64_t n) {
  std::vector<float> bias(static_cast<size_t>(n));
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.01f * static_cast<float>(i % 13) - 0.05f;
  return bias;
}

// Each value rounded to bf16 by cuda_bf16.h's host conversion (nearest even), as raw bits: the reference for bf16-output
// kernels whose definition is "the fp32 result, rounded once".
inline std::vector<uint16_t> bf16_bits_of(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const __nv_bfloat16 b = __float2bfloat16_rn(v[i]);
    std::memcpy(&out[i], &b, sizeof b);
  }
  return out;
}

// Index of the first element whose bit pattern differs (0 when the sizes differ), or -1.
template <typename T>
int64_t first_mismatch(const std::vector<T>& got, const std::vector<T>& ref) {
  if (got.size() != ref.size()) return 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &ref[i], sizeof(T)) != 0) return static_cast<int64_t>(i);
  return -1;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) { return first_mismatch(a, b) == -1; }

}  // namespace sixbit::gpu_test
