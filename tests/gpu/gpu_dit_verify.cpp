// CudaDitOps (cuda/dit/dit_ops.hpp) against ReferenceOps / EmulatorOps on the same inputs.
//  kVerify: every op, a whole tiny/small forward with a mixed precision plan and a short sampling run must give the
//           emulator's BITS (memcmp of every float).
//  kFast:   every op within a bound derived next to its test, and each bound checked not to be vacuous (some error
//           is non-zero, the error is far below what a wrong kernel gives). W8A8 is exact up to the final bf16 rounding.
// Every device buffer the backend hands out is poisoned (0xFF = NaN) first (CudaDitOptions::poison). Without a GPU
// each test skips with the reason (the host-only GlibcMath test still runs). On the GPU machine: scripts/device.sh.
// This file: the glibc transcriptions, kVerify, bad input and memory accounting; gpu_dit_fast.cpp: kFast.
#include "tests/gpu/gpu_dit_common.hpp"

namespace {
using namespace gpu_dit_test;

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

// VerifyFixture (tests/gpu/gpu_dit_common.hpp): CudaDitOps in kVerify mode beside ReferenceOps.

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

// The quantized linears in kVerify on each GEMM: W8A8 on the Hopper wgmma kernel with the epilogue fused and on
// cuBLASLt int32 + the epilogue kernel; W4A8 and W4A4 on the block-exact wgmma kernels and on the tiled IMMA kernels
// (W4A4 takes the wgmma kernel only for K % 32 == 0: K = 64, 96 here, not 16, 48). The emulator's bits on all, with
// and without bias, fp32 rows of whole 16-byte units (N = 48: the TMA-store epilogue) and not (N = 5, 33, 41: stores
// from registers); each call's kernel checked by name.
TEST_F(VerifyFixture, QuantizedLinearsBitIdenticalToEmulatorOnBothGemms) {
  const LayerId id{0, LinearKind::ffn_0};
  struct Case {
    int64_t N;
    Mat x;
    std::vector<float> w, b;
  };
  std::vector<Case> cases;  // all alive at once: CudaDitOps caches weights by host address
  for (const auto& [M, K, N] : {std::tuple{37, 64, 48}, std::tuple{1, 16, 5}, std::tuple{130, 48, 33}, std::tuple{300, 96, 41}}) {
    Case c{N, rnd(20 + M, M, K, 1.0f, 0.1f), vec(21 + K, int64_t(N) * K, 0.2f), vec(22, N, 0.1f)};
    c.x.v[3] = 40.0f;  // an outlier
    cases.push_back(std::move(c));
  }
  std::string why;
  const bool usable = gpu_test::sm90_gemms_usable(&why);
  for (const LinearPrecision p : {LinearPrecision::kW8A8, LinearPrecision::kW4A8, LinearPrecision::kW4A4}) {
    const sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(p);
    sm::EmulatorOps emu(plan);
    for (bool sm90 : {true, false}) {
      cuda::CudaDitOps o(opts(cuda::DitMode::kVerify, cuda::AttentionBackend::kAuto, sm90));
      o.set_plan(plan);
      for (const Case& c : cases) {
        const int64_t K = c.x.cols;
        std::string kernel;
        for (const float* bias : {c.b.data(), static_cast<const float*>(nullptr)}) {
          const auto got = o.to_host(o.linear(o.from_host(c.x), c.w.data(), c.N, bias, id)).v;
          kernel = p == LinearPrecision::kW8A8 ? o.w8a8_gemm_in_use() : p == LinearPrecision::kW4A8 ? o.w4a8_gemm_in_use() : o.kernels_in_use();
          expect_bits(got, emu.linear(c.x, c.w.data(), c.N, bias, id).v,
                      std::string(sm::linear_precision_name(p)) + " on " + kernel + (bias ? " + bias" : "") + " M=" + std::to_string(c.x.rows) +
                          " K=" + std::to_string(K));
        }
        const bool on_wgmma = sm90 && usable && (p != LinearPrecision::kW4A4 || K % 32 == 0);
        if (p == LinearPrecision::kW8A8) EXPECT_EQ(kernel, expected_w8a8_gemm(sm90));
        else if (p == LinearPrecision::kW4A8) EXPECT_EQ(kernel, on_wgmma ? "sm90-wgmma-exact" : "tiled-exact");
        else EXPECT_NE(kernel.find(std::string("W4A4 GEMM ") + (on_wgmma ? "sm90-wgmma-exact" : "tiled-exact")), std::string::npos) << kernel;
      }
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
