// CudaDitOps (cuda/dit/dit_ops.hpp) against ReferenceOps / EmulatorOps on the same inputs.
//  kVerify: every op, a whole tiny/small forward with a mixed precision plan and a short sampling run must give the
//           emulator's BITS (memcmp of every float).
//  kFast:   every op within a bound derived next to its test, and each bound checked not to be vacuous (some error
//           is non-zero, the error is far below what a wrong kernel gives). W8A8 is exact up to the final bf16 rounding.
// Every device buffer the backend hands out is poisoned (0xFF = NaN) first (CudaDitOptions::poison). Without a GPU
// each test skips with the reason (the host-only GlibcMath test still runs). On the GPU machine: scripts/device.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
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
#if __has_include("reference/model/fp32_kernels.hpp")
#include "reference/model/fp32_kernels.hpp"  // ReferenceOps' fp32 attention with its own exp (not yet committed everywhere)
#endif

namespace {
using namespace sixbit;
namespace sm = sixbit::model;
using sm::LayerId;
using sm::LinearKind;
using sm::LinearPrecision;
using sm::Mat;

#define SKIP_WITHOUT_GPU()                                                \
  do {                                                                    \
    std::string why;                                                      \
    if (!cuda::device_available(&why)) GTEST_SKIP() << "no GPU: " << why; \
  } while (0)

cuda::CudaDitOptions opts(cuda::DitMode m, cuda::AttentionBackend a = cuda::AttentionBackend::kAuto) {
  cuda::CudaDitOptions o;
  o.mode = m, o.attention = a, o.poison = true;
  return o;
}

Mat rnd(uint64_t seed, int64_t rows, int64_t cols, float scale = 1.0f, float offset = 0.0f) {
  Mat m(rows, cols);
  m.v = sm::gaussian_normals(seed, rows * cols);
  for (float& v : m.v) v = v * scale + offset;
  return m;
}
float bf16_round(float x) {  // round to nearest even to bf16, back to fp32 (finite inputs)
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  std::memcpy(&x, &u, 4);
  return x;
}
Mat bf16_exact(Mat m) {
  for (float& v : m.v) v = bf16_round(v);
  return m;
}
std::vector<float> vec(uint64_t seed, int64_t n, float scale = 1.0f, float offset = 0.0f) { return rnd(seed, 1, n, scale, offset).v; }

// Bits of every element equal; reports the first mismatch.
void expect_bits(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], 4) != 0) bad++, first = first < 0 ? int64_t(i) : first;
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " differ; first at " << first << ": "
                    << (first >= 0 ? got[static_cast<size_t>(first)] : 0.0f) << " vs " << (first >= 0 ? want[static_cast<size_t>(first)] : 0.0f);
}

// |got - want| <= tol elementwise, at least one element differs (the comparison is not vacuous), no NaN.
void expect_within(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& tol, const std::string& what,
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

// ---- glibc transcendental transcriptions --------------------------------------------------------------------------

TEST(GlibcMath, HostTranscriptionMatchesLibm) {
  // Every 251st float (17.1 million, all exponents and signs); SIXBIT_EXHAUSTIVE=1: all 2^32 (about 2.5 min).
  const uint64_t step = std::getenv("SIXBIT_EXHAUSTIVE") ? 1 : 251;
  int64_t bad_fma = 0, bad_nofma = 0, bad_tanh = 0;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += step) {
    const float x = fmt::f32_from_bits(uint32_t(u));
    const float e = std::exp(x), t = std::tanh(x);
    auto same = [](float a, float b) { return fmt::f32_bits(a) == fmt::f32_bits(b) || (std::isnan(a) && std::isnan(b)); };
    bad_fma += !same(e, cuda::glibc::glibc_expf(x));
    bad_nofma += !same(e, cuda::glibc::glibc_expf_nofma(x));
    bad_tanh += !same(t, cuda::glibc::glibc_tanhf(x));
  }
  EXPECT_EQ(bad_tanh, 0) << "tanhf transcription differs from this host's libm";
  EXPECT_EQ(bad_fma, 0) << "expf: this host's libm is not glibc's FMA variant (plain variant mismatches: " << bad_nofma
                        << "); kVerify would not be bit-identical to ReferenceOps here";
  std::printf("  expf FMA variant mismatches %lld, plain variant %lld (the host uses the FMA build when 0 / >0)\n", (long long)bad_fma,
              (long long)bad_nofma);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(cuda::glibc::f64_from_bits(cuda::glibc::exp2f_table(i) + (uint64_t(i) << 47)), std::exp2(i / 32.0)) << i;
}

#if __has_include("reference/model/fp32_kernels.hpp")
TEST(GlibcMath, CephesExpTranscriptionMatchesReference) {
  int64_t bad = 0;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 61) {  // every 61st float, all signs (x > 0 outside the contract)
    const float x = fmt::f32_from_bits(uint32_t(u));
    if (!(x <= 0.0f) && !std::isnan(x)) continue;
    const float a = sm::exp_nonpositive(x), b = cuda::glibc::cephes_exp_nonpositive(x);
    bad += !(fmt::f32_bits(a) == fmt::f32_bits(b) || (std::isnan(a) && std::isnan(b)));
  }
  EXPECT_EQ(bad, 0);
}
#endif

TEST(GlibcMath, DeviceMatchesHost) {
  SKIP_WITHOUT_GPU();
  const int64_t n = int64_t(1) << 24;
  std::vector<float> x(static_cast<size_t>(n)), e(static_cast<size_t>(n)), t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = fmt::f32_from_bits(uint32_t(uint64_t(i) * 256 + 17));  // every 256th float
  float *dx, *de, *dt;
  SIXBIT_CUDA_CHECK(cudaMalloc(&dx, n * 4));
  SIXBIT_CUDA_CHECK(cudaMalloc(&de, n * 4));
  SIXBIT_CUDA_CHECK(cudaMalloc(&dt, n * 4));
  SIXBIT_CUDA_CHECK(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice));
  SIXBIT_CUDA_CHECK(cudaMemset(de, 0xFF, n * 4));
  SIXBIT_CUDA_CHECK(cudaMemset(dt, 0xFF, n * 4));
  cuda::dit::glibc_math_on_device(dx, de, dt, n, nullptr);
  SIXBIT_CUDA_CHECK(cudaMemcpy(e.data(), de, n * 4, cudaMemcpyDeviceToHost));
  SIXBIT_CUDA_CHECK(cudaMemcpy(t.data(), dt, n * 4, cudaMemcpyDeviceToHost));
  cudaFree(dx), cudaFree(de), cudaFree(dt);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float xe = std::exp(x[static_cast<size_t>(i)]), xt = std::tanh(x[static_cast<size_t>(i)]);
    bad += !(fmt::f32_bits(xe) == fmt::f32_bits(e[static_cast<size_t>(i)]) || (std::isnan(xe) && std::isnan(e[static_cast<size_t>(i)])));
    bad += !(fmt::f32_bits(xt) == fmt::f32_bits(t[static_cast<size_t>(i)]) || (std::isnan(xt) && std::isnan(t[static_cast<size_t>(i)])));
  }
  EXPECT_EQ(bad, 0) << "device expf/tanhf differ from this host's libm";
}

// ---- kVerify: every op is the reference's bits ---------------------------------------------------------------------

struct VerifyFixture : ::testing::Test {
  void SetUp() override {
    std::string why;
    if (!cuda::device_available(&why)) GTEST_SKIP() << "no GPU: " << why;
    ops = std::make_unique<cuda::CudaDitOps>(opts(cuda::DitMode::kVerify));
  }
  std::vector<float> host(const Mat& m) { return ops->to_host(m).v; }
  std::unique_ptr<cuda::CudaDitOps> ops;
  sm::ReferenceOps ref;
};

TEST_F(VerifyFixture, FullPrecisionOpsBitIdentical) {
  const Mat x = rnd(1, 37, 48, 1.5f, 0.25f);
  const std::vector<float> w = vec(2, 29 * 48, 0.2f), b = vec(3, 29, 0.1f);
  Mat dx = ops->from_host(x);
  expect_bits(host(ops->linear(dx, w.data(), 29, b.data(), LayerId{-1, LinearKind::head})), ref.linear(x, w.data(), 29, b.data(), {}).v, "linear+bias");
  expect_bits(host(ops->linear(dx, w.data(), 29, nullptr, LayerId{0, LinearKind::self_q})), ref.linear(x, w.data(), 29, nullptr, {}).v, "linear");

  const std::vector<float> g = vec(4, 48, 0.1f, 1.0f), gb = vec(5, 48, 0.02f);
  for (int affine = 0; affine < 2; ++affine) {
    Mat r = x, d = ops->clone(dx);
    ref.layer_norm(r, affine ? g.data() : nullptr, affine ? gb.data() : nullptr, 1e-6f);
    ops->layer_norm(d, affine ? g.data() : nullptr, affine ? gb.data() : nullptr, 1e-6f);
    expect_bits(host(d), r.v, affine ? "layer_norm affine" : "layer_norm");
  }
  {
    Mat r = x, d = ops->clone(dx);
    ref.rms_norm(r, g.data(), 1e-6f), ops->rms_norm(d, g.data(), 1e-6f);
    expect_bits(host(d), r.v, "rms_norm");
  }
  {  // rope: grid 3 x 4 x 5 = 60 tokens, 2 heads of 24 (12 pairs: 4/4/4)
    const Mat q = rnd(6, 60, 48);
    Mat r = q, d = ops->from_host(q);
    ref.rope(r, 2, 3, 4, 5), ops->rope(d, 2, 3, 4, 5);
    expect_bits(host(d), r.v, "rope");
  }
  {  // gelu / silu over a wide range (tanhf/expf in every glibc branch)
    Mat big = rnd(7, 41, 48, 6.0f);
    Mat r = big, d = ops->from_host(big);
    ref.gelu_tanh(r), ops->gelu_tanh(d);
    expect_bits(host(d), r.v, "gelu_tanh");
    r = big, d = ops->from_host(big);
    ref.silu(r), ops->silu(d);
    expect_bits(host(d), r.v, "silu");
  }
  {  // attention: 37 queries, 23 keys, 3 heads of 16
    const Mat q = rnd(8, 37, 48), k = rnd(9, 23, 48), v = rnd(10, 23, 48);
    expect_bits(host(ops->attention(ops->from_host(q), ops->from_host(k), ops->from_host(v), 3)), ref.attention(q, k, v, 3).v, "attention");
  }
  {  // modulation vectors, modulate, gated add, sub, diff norms
    const Mat e = rnd(11, 1, 48);
    const std::vector<float> learned = vec(12, 6 * 48, 0.2f);
    const Mat m = ref.add_modulation(learned.data(), e, 6 * 48);
    const Mat dm = ops->add_modulation(learned.data(), ops->from_host(e), 6 * 48);
    expect_bits(host(dm), m.v, "add_modulation");
    const std::vector<float> learned2 = vec(13, 2 * 48);
    expect_bits(host(ops->add_modulation(learned2.data(), ops->from_host(e), 2 * 48)), ref.add_modulation(learned2.data(), e, 2 * 48).v,
                "add_modulation broadcast");
    Mat r = x, d = ops->clone(dx);
    ref.modulate(r, m, 3, 4), ops->modulate(d, dm, 3, 4);
    expect_bits(host(d), r.v, "modulate");
    const Mat y = rnd(14, 37, 48);
    Mat dy = ops->from_host(y);
    r = x, d = ops->clone(dx);
    ref.gated_add(r, y, &m, 5), ops->gated_add(d, dy, &dm, 5);
    expect_bits(host(d), r.v, "gated_add");
    r = x, d = ops->clone(dx);
    ref.gated_add(r, y, nullptr, 0), ops->gated_add(d, dy, nullptr, 0);
    expect_bits(host(d), r.v, "residual add");
    expect_bits(host(ops->sub(dx, dy)), ref.sub(x, y).v, "sub");
    const sm::DiffNorms a = ops->diff_norms(dx, dy), c = ref.diff_norms(x, y);
    EXPECT_EQ(a.l1_diff, c.l1_diff);
    EXPECT_EQ(a.l1_ref, c.l1_ref);
    EXPECT_EQ(a.l2_diff, c.l2_diff);
    EXPECT_EQ(a.l2_ref, c.l2_ref);
    EXPECT_GT(a.l1_diff, 0.0);
  }
}

TEST_F(VerifyFixture, QuantizedLinearsBitIdenticalToEmulator) {
  for (const auto& [M, K, N] : {std::tuple{37, 64, 48}, std::tuple{1, 16, 5}, std::tuple{130, 48, 33}}) {
    Mat x = rnd(20 + M, M, K, 1.0f, 0.1f);
    x.v[3] = 40.0f;  // an outlier
    const std::vector<float> w = vec(21 + K, int64_t(N) * K, 0.2f), b = vec(22, N, 0.1f);
    for (LinearPrecision p : {LinearPrecision::kW8A8, LinearPrecision::kW4A4, LinearPrecision::kW4A8}) {
      sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(p);
      sm::EmulatorOps emu(plan);
      ops->set_plan(plan);
      const LayerId id{0, LinearKind::ffn_0};
      for (const float* bias : {b.data(), static_cast<const float*>(nullptr)})
        expect_bits(host(ops->linear(ops->from_host(x), w.data(), N, bias, id)), emu.linear(x, w.data(), N, bias, id).v,
                    std::string(sm::linear_precision_name(p)) + (bias ? " + bias" : "") + " M=" + std::to_string(M));
    }
  }
}

// The tiny preset forward with a plan mixing every precision, and a short Euler+CFG sampling run: same bits.
sm::PrecisionPlan mixed_plan(int layers) {
  sm::PrecisionPlan p = sm::PrecisionPlan::uniform(LinearPrecision::kW4A4);
  const LinearPrecision cycle[4] = {LinearPrecision::kFull, LinearPrecision::kW8A8, LinearPrecision::kW4A4, LinearPrecision::kW4A8};
  int i = 0;
  for (int b = 0; b < layers; ++b)
    for (int k = 0; k <= int(LinearKind::ffn_2); ++k) p.per_linear[{b, LinearKind(k)}] = cycle[(i++) % 4];
  return p;
}

TEST_F(VerifyFixture, TinyAndSmallForwardBitIdenticalToEmulator) {
  for (const char* preset : {"tiny", "small"}) {
    const sm::DitConfig cfg = sm::preset(preset);
    const sm::Weights w = sm::synthetic_weights(cfg, 7);
    const std::vector<float> latent = sm::gaussian_normals(99, int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width);
    const Mat ctx = rnd(5, 5, cfg.text_dim);
    const sm::PrecisionPlan plan = mixed_plan(cfg.num_layers);
    sm::EmulatorOps emu(plan);
    cuda::CudaDitOps o(opts(cuda::DitMode::kVerify));
    o.set_plan(plan);
    const std::vector<float> a = sm::dit_forward(cfg, w, latent, 937.5, ctx, o), b = sm::dit_forward(cfg, w, latent, 937.5, ctx, emu);
    expect_bits(a, b, std::string(preset) + " forward, mixed plan");
    EXPECT_EQ(o.calls(), emu.calls());
    expect_bits(sm::dit_forward(cfg, w, latent, 937.5, ctx, o), a, std::string(preset) + " run-to-run");
  }
}

TEST_F(VerifyFixture, SamplingRunBitIdenticalToEmulator) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const sm::Weights w = sm::synthetic_weights(cfg, 3);
  const Mat cond = rnd(31, 6, cfg.text_dim), uncond = rnd(32, 1, cfg.text_dim, 0.0f);
  const sm::PrecisionPlan plan = mixed_plan(cfg.num_layers);
  sm::EmulatorOps emu(plan);
  ops->set_plan(plan);
  const int64_t n = int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width;
  auto run = [&](sm::DitOps& o) {
    const sampler::FlowSchedule s = sampler::flow_schedule(4, 5.0);
    return sampler::sample_cfg(sampler::Solver::kUniPC, sampler::initial_noise(11, n), s, 5.0,
                               [&](const std::vector<float>& x, const sampler::StepInfo& info) {
                                 return sm::dit_forward(cfg, w, x, info.t, info.cond ? cond : uncond, o);
                               });
  };
  expect_bits(run(*ops), run(emu), "tiny, 4 UniPC steps with CFG, mixed plan");
}

// ---- kFast: within derived bounds ---------------------------------------------------------------------------------

struct FastFixture : ::testing::Test {
  void SetUp() override {
    std::string why;
    if (!cuda::device_available(&why)) GTEST_SKIP() << "no GPU: " << why;
    ops = std::make_unique<cuda::CudaDitOps>(opts(cuda::DitMode::kFast));
  }
  std::vector<float> host(const Mat& m) { return ops->to_host(m).v; }
  std::unique_ptr<cuda::CudaDitOps> ops;
  sm::ReferenceOps ref;
};

constexpr double kU = 0x1p-24;       // fp32 unit roundoff
constexpr double kBf16U = 0x1p-8;    // bf16 unit roundoff: 8 significant bits, so |RN(x) - x| <= 2^-8 |x|

TEST_F(FastFixture, FullLinearWithinBf16Bound) {
  // x is bf16-exact, W is rounded to bf16 (each product +-2^-8 relative), tensor cores add in fp32 in some order
  // (<= K u per product, Higham 3.4 with gamma_K ~ K u), the bf16 bias (2^-8 |b|) and the bf16 output (2^-8 |y|):
  // tol = (2^-8 + K 2^-23) sum|x w| + 2 2^-8 (|y| + |b|) (a factor 2 of margin on the output terms).
  const int64_t M = 70, K = 96, N = 40;
  const Mat x = bf16_exact(rnd(41, M, K));
  const std::vector<float> w = vec(42, N * K, 0.1f), b = vec(43, N, 0.1f);
  ops->set_plan(sm::PrecisionPlan::uniform(LinearPrecision::kFull));
  const std::vector<float> got = host(ops->linear(ops->from_host(x), w.data(), N, b.data(), LayerId{0, LinearKind::self_q}));
  std::vector<double> want(static_cast<size_t>(M * N)), tol(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0, a = 0;
      for (int64_t k = 0; k < K; ++k) s += double(x.v[m * K + k]) * w[n * K + k], a += std::fabs(double(x.v[m * K + k]) * w[n * K + k]);
      want[m * N + n] = s + b[n];
      tol[m * N + n] = (kBf16U + double(K) * 2 * kU) * a + 2 * kBf16U * (std::fabs(s + b[n]) + std::fabs(b[n]));
    }
  expect_within(got, want, tol, "bf16 linear + bias");
}

TEST_F(FastFixture, W8A8BitIdenticalToEmulator) {
  // Same int8 codes and scales (the row kernel calls the emulator's INT8 codec on the same fp32 values), exact int32
  // accumulators (cuBLASLt int8), the same fp32 epilogue order (--fmad=false) evaluated in the consumer's row kernel,
  // whose fp32 output (to_host) is therefore the emulator's bits. Inside a forward the consumer then writes bf16.
  const int64_t M = 66, K = 80, N = 36;
  Mat x = rnd(51, M, K);
  x.v[7] = -25.0f;
  const std::vector<float> w = vec(52, N * K, 0.2f), b = vec(53, N, 0.1f);
  const sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(LinearPrecision::kW8A8);
  sm::EmulatorOps emu(plan);
  ops->set_plan(plan);
  const LayerId id{1, LinearKind::self_o};
  const std::vector<float> got = host(ops->linear(ops->from_host(x), w.data(), N, b.data(), id));
  expect_bits(got, emu.linear(x, w.data(), N, b.data(), id).v, "W8A8 fast vs emulator");
}

// W4A4 / W4A8: identical codes and scales to the emulator (x is bf16-exact, so the bf16 operand loses nothing);
// the emulator and the fast path then sum the same exact products in different orders. Against the exact value Y:
// emulator |y_e - Y| <= (gamma_{K/16} + 3u) T (docs/numerics.md), fast |y_f - Y| <= K 2u T + 2^-8 (|b| + |Y|)
// (fp32 tensor-core accumulation; W4A4 has a bf16 bias and output, W4A8 keeps fp32 accumulators whose epilogue the
// consumer applies in fp32), T = sum |a_k w_k| x global scales; tol = twice the sum. W4A8 products have <= 12
// significant bits (int8 x e2m1 x e4m3), so with K = 128 every partial sum is exact in fp32 and its result equals
// the emulator's bits: the bound holds with zero error there (no error is required of it).
TEST_F(FastFixture, W4A4AndW4A8WithinBoundOfEmulator) {
  const int64_t M = 64, K = 128, N = 48;
  Mat x = bf16_exact(rnd(61, M, K, 1.0f, 0.2f));
  x.v[100] = 30.0f;
  const std::vector<float> w = vec(62, N * K, 0.15f), b = vec(63, N, 0.1f);
  const quant::Nvfp4Tensor wq = quant::nvfp4_quantize(w.data(), N, K, quant::Nvfp4Recipe::kTe);
  std::vector<float> wd(static_cast<size_t>(N * K));
  quant::nvfp4_dequantize(wq, wd.data());
  for (LinearPrecision p : {LinearPrecision::kW4A4, LinearPrecision::kW4A8}) {
    const sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(p);
    sm::EmulatorOps emu(plan);
    ops->set_plan(plan);
    const LayerId id{0, LinearKind::ffn_2};
    const std::vector<float> got = host(ops->linear(ops->from_host(x), w.data(), N, b.data(), id));
    const std::vector<float> e = emu.linear(x, w.data(), N, b.data(), id).v;
    std::vector<float> ad(static_cast<size_t>(M * K));
    if (p == LinearPrecision::kW4A4) {
      quant::nvfp4_dequantize(quant::nvfp4_quantize(x.v.data(), M, K, quant::Nvfp4Recipe::kTe), ad.data());
    } else {
      quant::int8_dequantize(quant::int8_quantize(x.v.data(), M, K, quant::Int8Granularity::kPerRow), ad.data());
    }
    std::vector<double> want(static_cast<size_t>(M * N)), tol(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double t = 0, y = 0;
        for (int64_t k = 0; k < K; ++k) t += std::fabs(double(ad[m * K + k]) * wd[n * K + k]), y += double(ad[m * K + k]) * wd[n * K + k];
        want[m * N + n] = e[m * N + n];
        tol[m * N + n] = (double(K) * 2 * kU + (double(K / 16) + 3) * kU * 1.01) * t * 2 + kBf16U * (std::fabs(y + b[n]) + std::fabs(b[n])) * 2 + 1e-30;
      }
    expect_within(got, want, tol, std::string(sm::linear_precision_name(p)) + " fast vs emulator", p == LinearPrecision::kW4A4);
  }
}

// Attention, cuDNN and our own kernel: q, k, v bf16-exact; scores in fp32, P rounded to bf16 for the PV product
// (2^-8 relative) plus exp2 (<= 2 ulp of fp32) and the fp32 normalisation (up to 2^-8 mismatch between the bf16 P
// and its fp32 row sum), output bf16 (2^-8 |o|): tol = 2^-7 sum_j p_j |v_j| + 2^-8 |o|.
void attention_case(cuda::CudaDitOps& ops, int64_t Sq, int64_t Sk, int heads, int d, uint64_t seed, const std::string& label) {
  const Mat q = bf16_exact(rnd(seed, Sq, int64_t(heads) * d)), k = bf16_exact(rnd(seed + 1, Sk, int64_t(heads) * d)),
            v = bf16_exact(rnd(seed + 2, Sk, int64_t(heads) * d));
  const std::vector<float> got = ops.to_host(ops.attention(ops.from_host(q), ops.from_host(k), ops.from_host(v), heads)).v;
  std::vector<double> want(got.size()), tol(got.size());
  const int64_t ld = int64_t(heads) * d;
  std::vector<double> p(static_cast<size_t>(Sk));
  for (int h = 0; h < heads; ++h)
    for (int64_t i = 0; i < Sq; ++i) {
      double mx = -1e300;
      for (int64_t j = 0; j < Sk; ++j) {
        double s = 0;
        for (int c = 0; c < d; ++c) s += double(q.v[i * ld + h * d + c]) * k.v[j * ld + h * d + c];
        p[static_cast<size_t>(j)] = s / std::sqrt(double(d)), mx = std::max(mx, p[static_cast<size_t>(j)]);
      }
      double sum = 0;
      for (int64_t j = 0; j < Sk; ++j) p[static_cast<size_t>(j)] = std::exp(p[static_cast<size_t>(j)] - mx), sum += p[static_cast<size_t>(j)];
      for (int c = 0; c < d; ++c) {
        double o = 0, mag = 0;
        for (int64_t j = 0; j < Sk; ++j) o += p[static_cast<size_t>(j)] / sum * v.v[j * ld + h * d + c], mag += p[static_cast<size_t>(j)] / sum * std::fabs(v.v[j * ld + h * d + c]);
        want[static_cast<size_t>(i * ld + h * d + c)] = o;
        tol[static_cast<size_t>(i * ld + h * d + c)] = 0x1p-7 * mag + 0x1p-8 * std::fabs(o) + 1e-7;
      }
    }
  expect_within(got, want, tol, label + " (" + ops.attention_backend_in_use() + ")");
}

void attention_cases(cuda::AttentionBackend be) {
  cuda::CudaDitOps ops(opts(cuda::DitMode::kFast, be));
  attention_case(ops, 200, 333, 2, 128, 71, "d=128, 333 keys");
  attention_case(ops, 77, 64, 3, 64, 81, "d=64, 64 keys");
  attention_case(ops, 130, 8, 2, 32, 91, "d=32, 8 keys (text-like)");
  std::printf("  attention backend: %s\n", ops.attention_backend_in_use().c_str());
}
TEST(FastAttention, CudnnWithinBound) {
  SKIP_WITHOUT_GPU();
  attention_cases(cuda::AttentionBackend::kAuto);  // cuDNN when it builds a plan, else our kernel (printed)
}
TEST(FastAttention, OwnKernelWithinBound) {
  SKIP_WITHOUT_GPU();
  attention_cases(cuda::AttentionBackend::kOwn);
}

// LayerNorm + modulate (one fused row program, fp32 out): fp32 tree sums over n = 96 columns (<= (log2 n + 1) u
// relative each), rsqrtf (<= 2 ulp): |err| <= 32 u (|x_hat| + (|m| + sigma) inv) |1 + scale| + 4 u |shift|.
TEST_F(FastFixture, FusedLayerNormModulateWithinBound) {
  const int64_t R = 50, C = 96;
  const Mat x = rnd(101, R, C, 2.0f, 0.5f), mod = rnd(102, 1, 6 * C, 0.3f);
  const std::vector<float> g = vec(103, C, 0.1f, 1.0f), gb = vec(104, C, 0.05f);
  for (int affine = 0; affine < 2; ++affine) {
    Mat d = ops->clone(ops->from_host(x));
    const std::vector<float> learned(static_cast<size_t>(6 * C), 0.0f);
    const Mat dm = ops->add_modulation(learned.data(), ops->from_host(mod), 6 * C);
    ops->layer_norm(d, affine ? g.data() : nullptr, affine ? gb.data() : nullptr, 1e-6f);
    ops->modulate(d, dm, 0, 1);
    const std::vector<float> got = host(d);
    std::vector<double> want(static_cast<size_t>(R * C)), tol(static_cast<size_t>(R * C));
    for (int64_t r = 0; r < R; ++r) {
      double m = 0, v = 0;
      for (int64_t c = 0; c < C; ++c) m += x.v[r * C + c];
      m /= double(C);
      for (int64_t c = 0; c < C; ++c) v += (x.v[r * C + c] - m) * (x.v[r * C + c] - m);
      const double inv = 1.0 / std::sqrt(v / double(C) + 1e-6);
      for (int64_t c = 0; c < C; ++c) {
        double h = (x.v[r * C + c] - m) * inv;
        const double wa = affine ? g[c] : 1.0, ba = affine ? gb[c] : 0.0;
        const double y = (h * wa + ba) * (1.0 + mod.v[C + c]) + mod.v[c];
        want[r * C + c] = y;
        tol[r * C + c] = 32 * kU * (std::fabs(h) + (std::fabs(m) + 1.0 / inv) * inv) * std::fabs(wa) * std::fabs(1.0 + mod.v[C + c]) +
                         4 * kU * (std::fabs(mod.v[c]) + std::fabs(ba) + std::fabs(y));
      }
    }
    expect_within(got, want, tol, affine ? "LN(affine)+modulate" : "LN+modulate");
  }
}

// RMSNorm + RoPE fused (fp32 out): sum of squares (<= (log2 n + 1) u), rsqrtf, the rotation with fp32 cos/sin of
// the host's fp64 angles (each <= u): |err| <= 32 u (|a| + |b|) inv w for the pair.
TEST_F(FastFixture, FusedRmsNormRopeWithinBound) {
  const int gf = 3, gh = 4, gw = 5, heads = 2, d = 32;
  const int64_t R = gf * gh * gw, C = heads * d;
  const Mat x = rnd(111, R, C, 1.5f);
  const std::vector<float> g = vec(112, C, 0.1f, 1.0f);
  Mat r = x;
  ref.rms_norm(r, g.data(), 1e-6f);
  ref.rope(r, heads, gf, gh, gw);
  Mat dx = ops->from_host(x);
  ops->rms_norm(dx, g.data(), 1e-6f);
  ops->rope(dx, heads, gf, gh, gw);
  const std::vector<float> got = host(dx);
  std::vector<double> want(r.v.begin(), r.v.end()), tol(static_cast<size_t>(R * C));
  for (int64_t i = 0; i < R; ++i) {
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += double(x.v[i * C + c]) * x.v[i * C + c];
    const double inv = 1.0 / std::sqrt(ss / double(C) + 1e-6);
    for (int64_t c = 0; c < C; c += 2) {
      const double mag = (std::fabs(x.v[i * C + c] * g[c]) + std::fabs(x.v[i * C + c + 1] * g[c + 1])) * inv;
      tol[i * C + c] = tol[i * C + c + 1] = 32 * kU * mag + 4 * kU * std::fabs(want[i * C + c]) + 1e-30;
    }
  }
  expect_within(got, want, tol, "RMSNorm+RoPE");
}

// GELU(tanh) and SiLU with CUDA's tanhf/expf (<= 2 ulp) in fp32: |err| <= 8 u (|y| + |x|).
TEST_F(FastFixture, GeluSiluWithinBound) {
  const Mat x = rnd(121, 33, 64, 4.0f);
  for (int which = 0; which < 2; ++which) {
    Mat r = x, d = ops->from_host(x);
    if (which == 0) ref.gelu_tanh(r), ops->gelu_tanh(d);
    else ref.silu(r), ops->silu(d);
    const std::vector<float> got = host(d);
    std::vector<double> want(r.v.begin(), r.v.end()), tol(want.size());
    for (size_t i = 0; i < want.size(); ++i) tol[i] = 8 * kU * (std::fabs(want[i]) + std::fabs(x.v[i])) + 1e-30;
    expect_within(got, want, tol, which == 0 ? "gelu_tanh" : "silu", false);
  }
}

// Residual update through a W8A8 epilogue fused in the gated add (fp32 residual): exact except the product
// y * gate and the sum, each one fp32 rounding (2 u relative to |y gate| + |x|), where y is the emulator's fp32 W8A8.
TEST_F(FastFixture, GatedAddFusesTheW8A8EpilogueIntoTheResidual) {
  const int64_t M = 40, K = 64, N = 32;
  const Mat a = rnd(131, M, K), x = rnd(132, M, N, 3.0f), mod = rnd(133, 1, 6 * N, 0.5f);
  const std::vector<float> w = vec(134, N * K, 0.2f), b = vec(135, N, 0.1f), zeros(static_cast<size_t>(6 * N), 0.0f);
  const sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(LinearPrecision::kW8A8);
  sm::EmulatorOps emu(plan);
  ops->set_plan(plan);
  const LayerId id{0, LinearKind::ffn_2};
  Mat dx = ops->from_host(x);
  const Mat y = ops->linear(ops->from_host(a), w.data(), N, b.data(), id);
  const Mat dm = ops->add_modulation(zeros.data(), ops->from_host(mod), 6 * N);
  ops->gated_add(dx, y, &dm, 5);
  const Mat ye = emu.linear(a, w.data(), N, b.data(), id);
  const std::vector<float> got = host(dx);
  std::vector<double> want(static_cast<size_t>(M * N)), tol(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M * N; ++i) {
    want[i] = double(x.v[i]) + double(ye.v[i]) * mod.v[5 * N + i % N];
    tol[i] = 2 * kU * (std::fabs(double(ye.v[i]) * mod.v[5 * N + i % N]) + std::fabs(want[i])) + 1e-30;
  }
  expect_within(got, want, tol, "x += W8A8(a) * gate", false);
}

TEST_F(FastFixture, SubAndDiffNorms) {
  const Mat a = rnd(141, 30, 64), b = rnd(142, 30, 64);
  const Mat da = ops->from_host(a), db = ops->from_host(b);
  const std::vector<float> got = host(ops->sub(da, db));  // the bf16 residual cache: 2^-8 relative (+ the fp32 sub)
  std::vector<double> want(got.size()), tol(got.size());
  for (size_t i = 0; i < got.size(); ++i) want[i] = double(a.v[i]) - b.v[i], tol[i] = kBf16U * std::fabs(want[i]) * 1.001 + 1e-30;
  expect_within(got, want, tol, "sub -> bf16");
  const sm::DiffNorms f = ops->diff_norms(da, db), r = ref.diff_norms(a, b);  // fp64 sums, other order: 1e-12
  EXPECT_NEAR(f.l1_diff, r.l1_diff, 1e-12 * r.l1_ref);
  EXPECT_NEAR(f.l1_ref, r.l1_ref, 1e-12 * r.l1_ref);
  EXPECT_NEAR(f.l2_diff, r.l2_diff, 1e-12 * r.l2_ref);
  EXPECT_NEAR(f.l2_ref, r.l2_ref, 1e-12 * r.l2_ref);
  const sm::DiffNorms g = ops->diff_norms(da, db);
  EXPECT_EQ(g.l1_diff, f.l1_diff);  // deterministic
  EXPECT_EQ(g.l2_ref, f.l2_ref);
}

// A whole tiny forward. bf16 has no end-to-end bound that survives quantization's discontinuities (a bf16-rounded
// activation flips some NVFP4/INT8 codes, so the fast quantized run and the emulator quantize slightly different
// inputs), so the check is relative: the fast all-full output within 3% relative L2 of fp32 (bf16 rounding at ~30
// sequential ops, 2^-8 each, adds up to ~2e-2 at worst); each quantized fast run as accurate against fp32 as the
// emulator of the same plan up to that bf16 noise: rel(fast_q, fp32) <= rel(emu_q, fp32) + 2 rel(fast_full, fp32).
// Run twice: identical bits.
TEST_F(FastFixture, TinyForwardAgainstReferenceAndEmulator) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const sm::Weights w = sm::synthetic_weights(cfg, 7);
  const std::vector<float> latent = sm::gaussian_normals(99, int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width);
  const Mat ctx = rnd(5, 5, cfg.text_dim);
  const std::vector<float> fp32 = sm::dit_forward(cfg, w, latent, 937.5, ctx, ref);
  auto rel = [](const std::vector<float>& a, const std::vector<float>& b) {
    double n = 0, d = 0;
    for (size_t i = 0; i < a.size(); ++i) n += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), d += double(b[i]) * b[i];
    return std::sqrt(n / d);
  };
  ops->set_plan(sm::PrecisionPlan::uniform(LinearPrecision::kFull));
  const std::vector<float> full = sm::dit_forward(cfg, w, latent, 937.5, ctx, *ops);
  EXPECT_LT(rel(full, fp32), 0.03);
  EXPECT_GT(rel(full, fp32), 0.0);
  std::printf("  fast bf16 vs fp32: rel L2 %.3g\n", rel(full, fp32));
  expect_bits(sm::dit_forward(cfg, w, latent, 937.5, ctx, *ops), full, "fast run-to-run");
  for (LinearPrecision p : {LinearPrecision::kW8A8, LinearPrecision::kW4A4, LinearPrecision::kW4A8}) {
    const sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(p);
    sm::EmulatorOps emu(plan);
    ops->set_plan(plan);
    const std::vector<float> f = sm::dit_forward(cfg, w, latent, 937.5, ctx, *ops), e = sm::dit_forward(cfg, w, latent, 937.5, ctx, emu);
    std::printf("  %s: fast vs emulator %.3g, emulator vs fp32 %.3g\n", std::string(sm::linear_precision_name(p)).c_str(), rel(f, e), rel(e, fp32));
    EXPECT_LE(rel(f, fp32), rel(e, fp32) + 2 * rel(full, fp32)) << sm::linear_precision_name(p);
    EXPECT_GT(rel(f, e), 0.0) << sm::linear_precision_name(p);
  }
}

// ---- bad input and memory accounting ------------------------------------------------------------------------------

TEST(CudaDitErrors, NoGpuIsAClearError) {
  std::string why;
  if (cuda::device_available(&why)) GTEST_SKIP() << "a GPU is present";
  try {
    cuda::CudaDitOps ops(opts(cuda::DitMode::kFast));
    ADD_FAILURE() << "constructed without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no usable GPU"), std::string::npos) << e.what();
  }
}

TEST(CudaDitErrors, BadInputThrowsClearErrors) {
  SKIP_WITHOUT_GPU();
  for (cuda::DitMode mode : {cuda::DitMode::kVerify, cuda::DitMode::kFast}) {
    cuda::CudaDitOps ops(opts(mode));
    const Mat host_only = rnd(1, 4, 24);
    const std::vector<float> w = vec(2, 8 * 24);
    EXPECT_THROW(ops.linear(host_only, w.data(), 8, nullptr, LayerId{0, LinearKind::self_q}), Error);  // no device storage
    ops.set_plan(sm::PrecisionPlan::uniform(LinearPrecision::kW4A4));
    EXPECT_THROW(ops.linear(ops.from_host(host_only), w.data(), 8, nullptr, LayerId{0, LinearKind::self_q}), Error);  // K = 24
    const Mat a = ops.from_host(rnd(3, 4, 32)), b = ops.from_host(rnd(4, 5, 32));
    EXPECT_THROW(ops.sub(a, b), Error);
    EXPECT_THROW(ops.attention(a, b, a, 3), Error);
    Mat c = ops.from_host(rnd(5, 6, 32));
    EXPECT_THROW(ops.rope(c, 2, 2, 2, 2), Error);  // 8 tokens expected
    Mat bad;
    bad.rows = 2, bad.cols = 3, bad.v = {1.0f};
    EXPECT_THROW(ops.from_host(bad), Error);
    try {
      ops.linear(ops.from_host(host_only), w.data(), 8, nullptr, LayerId{0, LinearKind::self_q});
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("multiple of 16"), std::string::npos) << e.what();
    }
  }
}

TEST(CudaDitMemory, WeightsAccountedByFormat) {
  SKIP_WITHOUT_GPU();
  const sm::DitConfig cfg = sm::preset("small");
  const sm::Weights w = sm::synthetic_weights(cfg, 1);
  const std::vector<float> latent = sm::gaussian_normals(9, int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width);
  const Mat ctx = rnd(5, 3, cfg.text_dim);
  int64_t block_linear = 0;
  for (const auto& [name, t] : w)
    if (name.rfind("blocks.", 0) == 0 && t.shape.size() == 2 && name.find(".weight") != std::string::npos && name.find("norm") == std::string::npos)
      block_linear += t.numel();
  for (LinearPrecision p : {LinearPrecision::kFull, LinearPrecision::kW8A8, LinearPrecision::kW4A4}) {
    cuda::CudaDitOps ops(opts(cuda::DitMode::kFast));
    ops.set_plan(sm::PrecisionPlan::uniform(p));
    sm::dit_forward(cfg, w, latent, 500.0, ctx, ops);
    const cuda::MemoryReport r = ops.memory();
    std::printf("  %s:\n%s", std::string(sm::linear_precision_name(p)).c_str(), r.table().c_str());
    const auto live = [&](cuda::MemCategory c) { return r.live[int(c)]; };
    if (p == LinearPrecision::kW4A4) {  // codes: N K / 2 bytes, scales N K / 16, per tensor rounded up to 512 B
      EXPECT_GE(live(cuda::MemCategory::kNvfp4Codes), block_linear / 2);
      EXPECT_LE(live(cuda::MemCategory::kNvfp4Codes), block_linear / 2 + 512 * 10 * cfg.num_layers);
      EXPECT_GE(live(cuda::MemCategory::kNvfp4Scales), block_linear / 16);
      EXPECT_EQ(live(cuda::MemCategory::kInt8Codes), 0);
    }
    if (p == LinearPrecision::kW8A8) {
      EXPECT_GE(live(cuda::MemCategory::kInt8Codes), block_linear);
    }
    if (p == LinearPrecision::kFull) {
      EXPECT_EQ(live(cuda::MemCategory::kNvfp4Codes), 0);
    }
    EXPECT_GT(r.weight_params, block_linear);
    EXPECT_GE(r.device_used_peak, r.device_used_at_start);
  }
}

}  // namespace
