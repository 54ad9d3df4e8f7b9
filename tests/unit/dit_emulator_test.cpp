// The emulator backend under the DiT driver: an all-full plan is the reference, bit for bit; quantized plans give
// finite, non-zero error, ordered W4A4 > W8A8 on the same input (RELATIVE L2 against the fp32 reference).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "common/check.hpp"
#include "metrics/error_stats.hpp"
#include "reference/model/dit.hpp"
#include "reference/model/emulator_ops.hpp"
#include "reference/model/weights.hpp"

namespace {
namespace sm = sixbit::model;

struct Tiny {
  sm::DitConfig cfg = sm::preset("tiny");
  sm::Weights w = sm::synthetic_weights(cfg, 3);
  std::vector<float> latent;
  sm::Mat ctx{5, 0};
  Tiny() {
    uint64_t s = 99;
    latent.resize(size_t(cfg.in_dim * cfg.latent_frames * cfg.latent_height * cfg.latent_width));
    for (float& v : latent) v = float(int64_t(sm::splitmix64(s) >> 40) - (int64_t(1) << 23)) / float(1 << 22);
    ctx = sm::Mat(5, cfg.text_dim);
    for (float& v : ctx.v) v = float(int64_t(sm::splitmix64(s) >> 40) - (int64_t(1) << 23)) / float(1 << 22);
  }
  std::vector<float> run(sm::DitOps& ops) { return sm::dit_forward(cfg, w, latent, 500.0, ctx, ops); }
};

TEST(DitEmulator, AllFullPrecisionIsTheReferenceBitForBit) {
  Tiny t;
  sm::ReferenceOps ref;
  sm::EmulatorOps emu(sm::PrecisionPlan::uniform(sm::LinearPrecision::kFull));
  const auto a = t.run(ref), b = t.run(emu);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
  EXPECT_GT(emu.calls().at(sm::LinearPrecision::kFull), 0);
}

TEST(DitEmulator, QuantizedPlansGiveOrderedNonZeroError) {
  Tiny t;
  sm::ReferenceOps ref;
  const auto base = t.run(ref);
  double rel[3] = {};
  const sm::LinearPrecision ps[3] = {sm::LinearPrecision::kW8A8, sm::LinearPrecision::kW4A8, sm::LinearPrecision::kW4A4};
  for (int i = 0; i < 3; ++i) {
    sm::EmulatorOps emu(sm::PrecisionPlan::uniform(ps[i]));
    const auto y = t.run(emu);
    const auto s = sixbit::metrics::compute_error_stats(base.data(), y.data(), int64_t(y.size()));
    EXPECT_EQ(s.nan_count, 0);
    EXPECT_TRUE(std::isfinite(s.rel_l2));
    EXPECT_GT(s.rel_l2, 0.0) << sm::linear_precision_name(ps[i]) << ": quantization cannot be lossless";
    EXPECT_LT(s.rel_l2, 1.0) << sm::linear_precision_name(ps[i]) << ": the output must still resemble the reference";
    EXPECT_EQ(emu.calls().at(ps[i]), 10 * t.cfg.num_layers) << "ten linears per block, all quantized";
    rel[i] = s.rel_l2;
    RecordProperty(std::string("rel_l2_") + std::string(sm::linear_precision_name(ps[i])), std::to_string(s.rel_l2));
  }
  EXPECT_GT(rel[2], rel[0]) << "W4A4 must be worse than W8A8 on the same input";
}

TEST(DitEmulator, PlanPicksSingleLinearsAndNamesParse) {
  sm::PrecisionPlan plan;
  plan.per_linear[{1, sm::LinearKind::ffn_0}] = sm::LinearPrecision::kW4A4;
  EXPECT_EQ(plan.of(sm::LayerId{1, sm::LinearKind::ffn_0}), sm::LinearPrecision::kW4A4);
  EXPECT_EQ(plan.of(sm::LayerId{0, sm::LinearKind::ffn_0}), sm::LinearPrecision::kFull);
  EXPECT_EQ(plan.of(sm::LayerId{-1, sm::LinearKind::head}), sm::LinearPrecision::kFull);
  Tiny t;
  sm::EmulatorOps emu(plan);
  t.run(emu);
  EXPECT_EQ(emu.calls().at(sm::LinearPrecision::kW4A4), 1);
  EXPECT_EQ(sm::linear_precision_from_name("w4a8"), sm::LinearPrecision::kW4A8);
  EXPECT_THROW(sm::linear_precision_from_name("fp4"), sixbit::Error);
}

}  // namespace
