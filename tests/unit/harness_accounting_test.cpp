// Accounting (harness/engine/accounting.hpp): byte formulas equal the sizes of real quantized tensors; memory lines
// add up and the bf16 baseline is 2 bytes per parameter (count checked against the published 1.42B); policy (a)
// holds both copies only for switchable blocks; the FLOP model equals FLOPs counted from the ops a forward calls.
#include <gtest/gtest.h>

#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "harness/engine/accounting.hpp"
#include "reference/model/dit.hpp"

namespace sh = sixbit::harness;
namespace sm = sixbit::model;

namespace {
// Counts 2 * multiply-adds of the linears and attention a forward calls.
class CountingOps : public sm::ReferenceOps {
 public:
  sm::Mat linear(const sm::Mat& x, const float* w, int64_t out, const float* b, const sm::LayerId& id) override {
    (id.block >= 0 ? block_linear : other) += 2.0 * double(x.rows) * double(x.cols) * double(out);
    return ReferenceOps::linear(x, w, out, b, id);
  }
  sm::Mat attention(const sm::Mat& q, const sm::Mat& k, const sm::Mat& v, int heads) override {
    attention_flops += 2.0 * 2.0 * double(q.rows) * double(k.rows) * double(q.cols);
    return ReferenceOps::attention(q, k, v, heads);
  }
  double block_linear = 0, other = 0, attention_flops = 0;
};
}  // namespace

TEST(HarnessAccounting, ByteFormulasMatchRealQuantizedTensors) {
  for (auto [out, in] : {std::pair<int64_t, int64_t>{64, 64}, {512, 128}, {128, 512}}) {
    const std::vector<float> w = sm::gaussian_normals(3, out * in);
    const auto q4 = sixbit::quant::nvfp4_quantize(w.data(), out, in, sixbit::quant::Nvfp4Recipe::kTe);
    EXPECT_EQ(sh::nvfp4_weight_bytes(out, in), int64_t(q4.packed.size() + q4.scales.size() + sizeof(q4.global_decode)));
    const auto q8 = sixbit::quant::int8_quantize(w.data(), out, in, sixbit::quant::Int8Granularity::kPerRow);
    EXPECT_EQ(sh::int8_weight_bytes(out, in), int64_t(q8.codes.size() + 4 * q8.scales.size()));
  }
}

TEST(HarnessAccounting, MemoryLinesAddUpAndPoliciesOrder) {
  const sm::DitConfig c = sm::preset("wan2.1-1.3b");
  const int n = c.num_layers;
  const sh::Residency none{std::vector<bool>(size_t(n), false), std::vector<bool>(size_t(n), false)};
  const sh::MemoryReport full = sh::account_memory(c, sh::Policy::kFull, none);
  int64_t params = 0;
  for (const auto& [name, shape] : sm::weight_shapes(c)) {
    int64_t k = 1;
    for (int64_t s : shape) k *= s;
    params += k;
  }
  EXPECT_EQ(full.bf16_total, 2 * params);
  EXPECT_EQ(full.total, full.bf16_total) << "full precision is the bf16 model";
  const auto w4 = sh::account_memory(c, sh::Policy::kW4A4, sh::plan_residency(sh::Policy::kW4A4, nullptr, {}, n));
  const auto w8 = sh::account_memory(c, sh::Policy::kW8A8, sh::plan_residency(sh::Policy::kW8A8, nullptr, {}, n));
  const auto both = sh::account_memory(c, sh::Policy::kW4A4orW8A8, sh::plan_residency(sh::Policy::kW4A4orW8A8, nullptr,
                                                                                       {sh::AllocationMode::kBudget, 6.0}, n));
  for (const auto* m : {&full, &w4, &w8, &both}) {
    int64_t sum = 0;
    for (const auto& l : m->lines) sum += l.bytes;
    EXPECT_EQ(sum, m->total);
  }
  // NVFP4 stores 4.5 bits per block weight (plus 4 bytes per tensor) against bf16's 16: the whole 1.3B model gets
  // a little under 16/4.5 = 3.56x because the non-block weights stay bf16.
  EXPECT_GT(w4.reduction(), 3.2);
  EXPECT_LT(w4.reduction(), 16.0 / 4.5);
  EXPECT_LT(w8.reduction(), 2.0);
  EXPECT_GT(w4.reduction(), both.reduction()) << "two copies cost more than one";
  EXPECT_GT(w8.total, 0);
  std::printf("wan2.1-1.3b weight memory vs bf16: W4A4 %.3fx, W8A8 %.3fx, w4a4-w8a8 all switchable %.3fx\n",
              w4.reduction(), w8.reduction(), both.reduction());
  // Budget 8 or 4 forces every block one way: no block needs both copies.
  EXPECT_EQ(sh::plan_residency(sh::Policy::kW4A4orW8A8, nullptr, {sh::AllocationMode::kBudget, 8.0}, n).switchable(), 0);
  EXPECT_EQ(sh::plan_residency(sh::Policy::kW4A4orW4A8, nullptr, {sh::AllocationMode::kBudget, 6.0}, n).switchable(), 0)
      << "policy (b) keeps NVFP4 weights only";
}

TEST(HarnessAccounting, ThresholdResidencyFollowsThePredictedRange) {
  sh::Predictor p;
  sh::LinearFit low, high, straddle;
  low.a = 1, low.c = 0, low.d_min = 0.01, low.d_max = 0.02;          // s in [0.01, 0.02]
  high.a = 1, high.c = 0, high.d_min = 0.2, high.d_max = 0.3;        // s in [0.2, 0.3]
  straddle.a = 1, straddle.c = 0, straddle.d_min = 0.01, straddle.d_max = 0.3;
  p.blocks = {low, high, straddle};
  p.d_first = {0.01, 0.2, 0.1};
  const sh::Residency r = sh::plan_residency(sh::Policy::kW4A4orW8A8, &p, {sh::AllocationMode::kThreshold, 0.1}, 3);
  EXPECT_EQ(r.nvfp4, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(r.int8, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(r.switchable(), 1);
}

TEST(HarnessAccounting, FlopModelEqualsCountedOps) {
  const sm::DitConfig c = sm::config_from_json_text(R"({"preset": "tiny", "num_layers": 3, "text_len": 6})");
  const sm::Weights w = sm::synthetic_weights(c, 1);
  sm::Mat ctx{4, c.text_dim};
  ctx.v = sm::gaussian_normals(1, int64_t(ctx.v.size()));
  CountingOps ops;
  sm::dit_forward(c, w, sm::gaussian_normals(2, int64_t(c.in_dim) * 3 * 8 * 8), 500.0, ctx, ops);
  const sh::FlopModel m = sh::flop_model(c);
  EXPECT_DOUBLE_EQ(ops.block_linear, 3 * m.block_linear);
  EXPECT_DOUBLE_EQ(ops.attention_flops, 3 * m.block_attention);
  EXPECT_DOUBLE_EQ(ops.other, m.prepare + m.head);
  EXPECT_DOUBLE_EQ(m.forward(), ops.block_linear + ops.attention_flops + ops.other);
}
