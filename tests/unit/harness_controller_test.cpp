// The driver's per-block control point (reference/model/dit.hpp, dit_forward_controlled): a pass-through controller
// is dit_forward bit for bit; a controller can run one block twice from the same input under two plans (what
// calibration does) without disturbing the stream; a skip adds a residual; the controller sees every block's input.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "reference/model/dit.hpp"
#include "reference/model/emulator_ops.hpp"

// One OpenMP thread: these tiny-model tests gain nothing from threads, and ctest runs two tests at once on 2 cores,
// where spinning OpenMP workers make small ops many times slower. Thread-count independence of the whole pipeline
// is tested through the command (tests/cli/run_cli_test.cpp: 1 vs 2 threads, identical reports).
static const int kOneThread = [] {
  omp_set_num_threads(1);
  return 1;
}();

namespace sm = sixbit::model;

namespace {
struct Tiny {
  sm::DitConfig cfg = sm::preset("tiny");
  sm::Weights w = sm::synthetic_weights(cfg, 3);
  std::vector<float> latent = sm::gaussian_normals(11, int64_t(cfg.in_dim) * 3 * 8 * 8);
  sm::Mat ctx{5, cfg.text_dim};
  Tiny() { ctx.v = sm::gaussian_normals(12, int64_t(ctx.v.size())); }
};
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}
}  // namespace

TEST(HarnessController, PassThroughIsDitForwardAndSeesEveryBlock) {
  Tiny t;
  sm::ReferenceOps ops;
  const auto ref = sm::dit_forward(t.cfg, t.w, t.latent, 700.0, t.ctx, ops);
  std::vector<int> seen;
  const auto out = sm::dit_forward_controlled(t.cfg, t.w, t.latent, 700.0, t.ctx, ops,
                                              [&](int b, const sm::Mat& x, const sm::BlockRun& run) {
                                                seen.push_back(b);
                                                EXPECT_EQ(x.rows, t.cfg.tokens());
                                                EXPECT_EQ(x.cols, t.cfg.dim);
                                                return run(x);
                                              });
  EXPECT_TRUE(same_bits(ref, out));
  EXPECT_EQ(seen, (std::vector<int>{0, 1}));
}

TEST(HarnessController, BlockRunTwiceUnderTwoPlansLeavesTheStreamAlone) {
  Tiny t;
  sm::EmulatorOps ops;
  const auto ref = sm::dit_forward(t.cfg, t.w, t.latent, 700.0, t.ctx, ops);
  double worst = 0, changed = 0;
  const auto out = sm::dit_forward_controlled(t.cfg, t.w, t.latent, 700.0, t.ctx, ops,
                                              [&](int, const sm::Mat& x, const sm::BlockRun& run) {
                                                const sm::Mat before = x;
                                                ops.set_plan(sm::PrecisionPlan::uniform(sm::LinearPrecision::kW4A4));
                                                const sm::Mat q = run(x);
                                                ops.set_plan({});
                                                const sm::Mat f = run(x);
                                                EXPECT_EQ(std::memcmp(before.v.data(), x.v.data(), x.v.size() * 4), 0)
                                                    << "running a block must not modify its input";
                                                for (size_t i = 0; i < f.v.size(); ++i) {
                                                  worst = std::max(worst, double(std::fabs(q.v[i] - f.v[i])));
                                                  changed += q.v[i] != f.v[i];
                                                }
                                                return f;
                                              });
  EXPECT_TRUE(same_bits(ref, out)) << "the full-precision output carried on is the unprobed model's";
  EXPECT_GT(changed, 0) << "the W4A4 run must differ (else the probe measured nothing)";
  EXPECT_GT(worst, 0.0);
}

TEST(HarnessController, SkippingAddsTheResidual) {
  // x + fl(out - x) against out: two fp32 roundings, so |error| <= u (|out - x| + |out|) per element, u = 2^-24.
  Tiny t;
  sm::ReferenceOps ops;
  const auto ref = sm::dit_forward(t.cfg, t.w, t.latent, 700.0, t.ctx, ops);
  double worst_ratio = 0;
  int64_t inexact = 0;
  sm::dit_forward_controlled(t.cfg, t.w, t.latent, 700.0, t.ctx, ops, [&](int, const sm::Mat& x, const sm::BlockRun& run) {
    const sm::Mat out = run(x);
    const sm::Mat r = ops.sub(out, x);
    sm::Mat skipped = ops.clone(x);
    ops.gated_add(skipped, r, nullptr, 0);
    for (size_t i = 0; i < out.v.size(); ++i) {
      const double bound = std::ldexp(std::fabs(double(out.v[i]) - x.v[i]) + std::fabs(double(out.v[i])), -24);
      const double err = std::fabs(double(skipped.v[i]) - out.v[i]);
      inexact += err > 0;
      worst_ratio = std::max(worst_ratio, bound > 0 ? err / bound : (err > 0 ? INFINITY : 0));
    }
    return out;
  });
  EXPECT_LE(worst_ratio, 1.0);
  std::printf("skip = x + residual: %lld of the elements differ from the block's output by a rounding\n", (long long)inexact);
}

TEST(HarnessController, BlockOutOfRangeIsRefused) {
  Tiny t;
  sm::ReferenceOps ops;
  const sm::DitPrepared p = sm::dit_prepare(t.cfg, t.w, t.latent, 700.0, t.ctx, ops);
  EXPECT_THROW(sm::dit_block(t.cfg, t.w, p, 2, p.x, ops), sixbit::Error);
  EXPECT_THROW(sm::dit_block(t.cfg, t.w, p, -1, p.x, ops), sixbit::Error);
  EXPECT_THROW(sm::dit_forward_controlled(t.cfg, t.w, t.latent, 700.0, t.ctx, ops, {}), sixbit::Error);
}
