// kFast of CudaDitOps (cuda/dit/dit_ops.hpp) within bounds derived next to each test; see gpu_dit_verify.cpp for the
// whole suite's conventions (poisoned buffers, skips without a GPU). Run: scripts/device.sh on the GPU machine.
#include "tests/gpu/gpu_dit_common.hpp"

namespace {
using namespace gpu_dit_test;

// ---- kFast: within derived bounds ---------------------------------------------------------------------------------

// FastFixture (tests/gpu/gpu_dit_common.hpp): CudaDitOps in kFast mode beside ReferenceOps.


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

TEST_F(FastFixture, W8A8BitIdenticalToEmulatorOnBothGemms) {
  // Same int8 codes and scales (the row kernel calls the emulator's INT8 codec on the same fp32 values), exact int32
  // accumulators, the same fp32 epilogue order (--fmad=false): in the Hopper wgmma kernel (sm90_gemm on, where it
  // runs: N = 36 fp32 rows are 16-byte units, so its TMA-store epilogue) or, after cuBLASLt int8, in the consumer's
  // row kernel. Either fp32 output (to_host) is the emulator's bits. Inside a forward the consumer then writes bf16.
  const int64_t M = 66, K = 80, N = 36;
  Mat x = rnd(51, M, K);
  x.v[7] = -25.0f;
  const std::vector<float> w = vec(52, N * K, 0.2f), b = vec(53, N, 0.1f);
  const sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(LinearPrecision::kW8A8);
  sm::EmulatorOps emu(plan);
  const LayerId id{1, LinearKind::self_o};
  const std::vector<float> want = emu.linear(x, w.data(), N, b.data(), id).v;
  for (bool sm90 : {true, false}) {
    cuda::CudaDitOps o(opts(cuda::DitMode::kFast, cuda::AttentionBackend::kAuto, sm90));
    o.set_plan(plan);
    const std::vector<float> got = o.to_host(o.linear(o.from_host(x), w.data(), N, b.data(), id)).v;
    const std::string gemm = o.w8a8_gemm_in_use();
    EXPECT_EQ(gemm, expected_w8a8_gemm(sm90));
    EXPECT_EQ(o.kernels_in_use(), "attention none, W8A8 GEMM " + gemm + ", W4A8 GEMM none");  // no attention or W4A8 ran
    expect_bits(got, want, "W8A8 fast (" + gemm + ") vs emulator");
  }
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
  // W4A8 twice: on the fused Hopper kernel where it runs (sm90 on) and through cuBLASLt (sm90 off).
  const std::pair<LinearPrecision, bool> cases[] = {{LinearPrecision::kW4A4, true}, {LinearPrecision::kW4A8, true}, {LinearPrecision::kW4A8, false}};
  for (const auto& [p, sm90] : cases) {
    const sm::PrecisionPlan plan = sm::PrecisionPlan::uniform(p);
    sm::EmulatorOps emu(plan);
    cuda::CudaDitOps o(opts(cuda::DitMode::kFast, cuda::AttentionBackend::kAuto, sm90));
    o.set_plan(plan);
    const LayerId id{0, LinearKind::ffn_2};
    const std::vector<float> got = o.to_host(o.linear(o.from_host(x), w.data(), N, b.data(), id)).v;
    if (p == LinearPrecision::kW4A8) {
      EXPECT_EQ(o.w4a8_gemm_in_use(), expected_w4a8_gemm(sm90));
    }
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
    expect_within(got, want, tol, std::string(sm::linear_precision_name(p)) + " fast (" + (p == LinearPrecision::kW4A8 ? o.w4a8_gemm_in_use() : "cublaslt-bf16") + ") vs emulator",
                  p == LinearPrecision::kW4A4);
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

}  // namespace
