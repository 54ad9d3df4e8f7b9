// tests/gpu/gpu_dit_common.hpp: what the CudaDitOps tests share (gpu_dit_verify.cpp, gpu_dit_fast.cpp): inputs,
// bf16 rounding, the bit-for-bit and within-bound comparisons. See gpu_dit_verify.cpp for what the tests check.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <tuple>
#include <cstring>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "cuda/dit/dit_internal.hpp"
#include "cuda/dit/dit_ops.hpp"
#include "cuda/dit/glibc_mathf.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "reference/model/config.hpp"
#include "reference/model/dit.hpp"
#include "reference/model/emulator_ops.hpp"
#include "reference/model/weights.hpp"
#include "reference/sampler/flow_sampler.hpp"
#include "tests/gpu/gpu_test_support.hpp"  // SKIP_WITHOUT_GPU, sm90_gemms_usable
#if __has_include("reference/model/fp32_kernels.hpp")
#include "reference/model/fp32_kernels.hpp"  // ReferenceOps' fp32 attention with its own exp (where that file exists)
#endif

namespace gpu_dit_test {
using namespace sixbit;
namespace sm = sixbit::model;
using sm::LayerId;
using sm::LinearKind;
using sm::LinearPrecision;
using sm::Mat;

inline cuda::CudaDitOptions opts(cuda::DitMode m, cuda::AttentionBackend a = cuda::AttentionBackend::kAuto, bool sm90_gemm = true) {
  cuda::CudaDitOptions o;
  o.mode = m, o.attention = a, o.poison = true, o.sm90_gemm = sm90_gemm;
  return o;
}

// The W8A8 GEMM CudaDitOps must pick on device 0 (CudaDitOps::w8a8_gemm_in_use): the Hopper wgmma kernel when asked
// and it can run, else cuBLASLt. sm90_gemms_usable fails the test where the kernel must be able to run (a Hopper
// device and an sm_90a build), so the wgmma path cannot drop out of these tests without a word.
inline std::string expected_w8a8_gemm(bool sm90_asked) {
  std::string why;
  const bool usable = gpu_test::sm90_gemms_usable(&why);
  return sm90_asked && usable ? "sm90-wgmma" : "cublaslt-int8";
}

// kFast's W4A8 GEMM: the fused Hopper kernel where the sm90 GEMMs run, else cuBLASLt bf16.
inline std::string expected_w4a8_gemm(bool sm90_asked) {
  std::string why;
  return sm90_asked && gpu_test::sm90_gemms_usable(&why) ? "sm90-wgmma-fused" : "cublaslt-bf16";
}

inline Mat rnd(uint64_t seed, int64_t rows, int64_t cols, float scale = 1.0f, float offset = 0.0f) {
  Mat m(rows, cols);
  m.v = sm::gaussian_normals(seed, rows * cols);
  for (float& v : m.v) v = v * scale + offset;
  return m;
}
inline float bf16_round(float x) {  // round to nearest even to bf16, back to fp32 (finite inputs)
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  std::memcpy(&x, &u, 4);
  return x;
}
inline Mat bf16_exact(Mat m) {
  for (float& v : m.v) v = bf16_round(v);
  return m;
}
inline std::vector<float> vec(uint64_t seed, int64_t n, float scale = 1.0f, float offset = 0.0f) { return rnd(seed, 1, n, scale, offset).v; }

// Bits of every element equal; reports the first mismatch.
inline void expect_bits(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], 4) != 0) bad++, first = first < 0 ? int64_t(i) : first;
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " differ; first at " << first << ": "
                    << (first >= 0 ? got[static_cast<size_t>(first)] : 0.0f) << " vs " << (first >= 0 ? want[static_cast<size_t>(first)] : 0.0f);
}

// |got - want| <= tol elementwise, at least one element differs (the comparison is not vacuous), no NaN.
inline void expect_within(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& tol, const std::string& what,
                   bool require_some_error = true) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  int64_t bad = 0, nonzero = 0, first = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(double(got[i]) - want[i]);
    if (!(e <= tol[i])) bad++, first = first < 0 ? int64_t(i) : first;
    if (e > 0) nonzero++;
    if (tol[i] > 0) worst = std::max(worst, e / tol[i]);
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " outside the bound; first at " << first << ": " << got[static_cast<size_t>(std::max<int64_t>(first, 0))]
                    << " vs " << want[static_cast<size_t>(std::max<int64_t>(first, 0))] << " (tol " << tol[static_cast<size_t>(std::max<int64_t>(first, 0))] << ")";
  if (require_some_error) {
    EXPECT_GT(nonzero, 0) << what << ": bit-identical to fp64 everywhere (suspicious for a bf16 path)";
  }
  std::printf("  [%s] %lld/%zu elements differ from the reference, worst |err|/tol = %.3f\n", what.c_str(), (long long)nonzero, got.size(), worst);
}


constexpr double kU = 0x1p-24;       // fp32 unit roundoff
constexpr double kBf16U = 0x1p-8;    // bf16 unit roundoff: 8 significant bits, so |RN(x) - x| <= 2^-8 |x|

// CudaDitOps in one mode beside the CPU ReferenceOps it is checked against; skips without a GPU.
template <cuda::DitMode kMode>
struct DitOpsFixture : ::testing::Test {
  void SetUp() override {
    std::string why;
    if (!cuda::device_available(&why)) GTEST_SKIP() << "no GPU: " << why;
    ops = std::make_unique<cuda::CudaDitOps>(opts(kMode));
  }
  std::vector<float> host(const Mat& m) { return ops->to_host(m).v; }
  std::unique_ptr<cuda::CudaDitOps> ops;
  sm::ReferenceOps ref;
};
using VerifyFixture = DitOpsFixture<cuda::DitMode::kVerify>;
using FastFixture = DitOpsFixture<cuda::DitMode::kFast>;

}  // namespace gpu_dit_test
