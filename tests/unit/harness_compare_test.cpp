// Op-by-op compare (harness/compare/comparing_ops.hpp): emulator vs reference at full precision agree on every op
// (the emulator's contract); a backend with one wrong bit in one op is found exactly there, and only there (B always
// gets A's inputs, so nothing downstream diverges); two NVFP4 recipes differ only in the block linears.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <set>

#include "harness/compare/comparing_ops.hpp"
#include "harness/engine/engine.hpp"
#include "reference/model/emulator_ops.hpp"

// One OpenMP thread: these tiny-model tests gain nothing from threads, and ctest runs two tests at once on 2 cores,
// where spinning OpenMP workers make small ops many times slower. Thread-count independence of the whole pipeline
// is tested through the command (tests/cli/run_cli_test.cpp: 1 vs 2 threads, identical reports).
static const int kOneThread = [] {
  omp_set_num_threads(1);
  return 1;
}();

namespace sh = sixbit::harness;
namespace sm = sixbit::model;

namespace {
struct Tiny {
  sm::DitConfig cfg = sm::preset("tiny");
  sm::Weights w = sm::synthetic_weights(cfg, 1);
  sm::Mat cond{3, cfg.text_dim}, uncond{1, cfg.text_dim};
  Tiny() {
    cond.v = sm::gaussian_normals(1, int64_t(cond.v.size()));
    uncond.v = sm::gaussian_normals(2, int64_t(uncond.v.size()));
  }
  std::vector<sh::OpComparison> compare(sm::DitOps& a, sm::DitOps& b, sh::Policy policy = sh::Policy::kFull) {
    sh::ComparingOps cmp(a, b);
    sh::EngineOptions o;
    o.policy = policy;
    o.site = [&](int step, bool c, int block) { cmp.set_site(step, c, block); };
    sh::Engine e(cfg, w, cmp, o);
    sh::sample_video(e, cfg, sixbit::sampler::Solver::kEuler, 2, 3.0, 4.0, 1, cond, uncond);
    return cmp.comparisons();
  }
};

// Flips the lowest mantissa bit of element 5 of the third gelu_tanh call.
class OneBitGelu : public sm::ReferenceOps {
 public:
  void gelu_tanh(sm::Mat& x) override {
    ReferenceOps::gelu_tanh(x);
    if (++calls_ == 3) {
      uint32_t bits;
      std::memcpy(&bits, &x.v[5], 4);
      bits ^= 1u;
      std::memcpy(&x.v[5], &bits, 4);
    }
  }
  int calls_ = 0;
};
}  // namespace

TEST(HarnessCompare, EmulatorAtFullPrecisionIsTheReferenceOpByOp) {
  Tiny t;
  sm::EmulatorOps a;
  sm::ReferenceOps b;
  const auto recs = t.compare(a, b);
  std::set<std::string> kinds;
  int64_t elems = 0;
  for (const auto& r : recs) {
    EXPECT_EQ(r.mismatches, 0) << r.op << " " << r.layer;
    kinds.insert(r.op);
    elems += r.rows * r.cols;
  }
  for (const char* k : {"linear", "attention", "layer_norm", "rms_norm", "rope", "gelu_tanh", "silu", "add_modulation",
                        "modulate", "gated_add", "diff_norms"})
    EXPECT_TRUE(kinds.count(k)) << k << " was never compared";
  EXPECT_GT(elems, 100000) << "the comparison must have looked at real tensors";
}

TEST(HarnessCompare, OneWrongBitIsFoundWhereItIsAndNowhereElse) {
  Tiny t;
  sm::ReferenceOps a;
  OneBitGelu b;
  const auto recs = t.compare(a, b);
  int differing = 0;
  for (const auto& r : recs) {
    if (!r.mismatches) continue;
    ++differing;
    EXPECT_EQ(r.op, "gelu_tanh");
    EXPECT_EQ(r.mismatches, 1);
    EXPECT_EQ(r.first_index, 5);
    EXPECT_NE(r.first_a, r.first_b);
    EXPECT_LT(std::fabs(r.first_a - r.first_b), 1e-6 * std::fabs(r.first_a) + 1e-30) << "one ulp";
    EXPECT_GT(r.max_abs, 0.0);
    EXPECT_EQ(r.step, 0);
    // gelu calls in order: text embedding (block -1), block 0's FFN, block 1's FFN: the third is block 1.
    EXPECT_EQ(r.block, 1);
  }
  EXPECT_EQ(differing, 1) << "B gets A's inputs, so the wrong bit must not spread to later ops";
}

TEST(HarnessCompare, TwoNvfp4RecipesDifferOnlyInBlockLinears) {
  Tiny t;
  sm::EmulatorOps a({}, sixbit::quant::Nvfp4Recipe::kTe), b({}, sixbit::quant::Nvfp4Recipe::kModelopt);
  const auto recs = t.compare(a, b, sh::Policy::kW4A4);
  int64_t linear_diffs = 0;
  for (const auto& r : recs) {
    if (r.op != "linear" || r.block < 0 || r.block >= t.cfg.num_layers) {
      EXPECT_EQ(r.mismatches, 0) << r.op << " " << r.layer;
    } else {
      EXPECT_NE(r.layer.find("blocks."), std::string::npos);
      linear_diffs += r.mismatches > 0;
      if (r.mismatches) {
        EXPECT_LT(r.rel_l2, 0.5) << r.layer << ": two recipes of the same format stay close";
      }
    }
  }
  EXPECT_GT(linear_diffs, 0) << "te and modelopt round differently somewhere";
}

TEST(HarnessCompare, CompareValues) {
  const float a[] = {1.0f, -0.0f, NAN, 2.0f}, b[] = {1.0f, 0.0f, NAN, 2.5f};
  const sh::OpComparison c = sh::compare_values(a, b, 4);
  EXPECT_EQ(c.mismatches, 2) << "-0 vs +0 differ in bits; identical NaN bits do not";
  EXPECT_EQ(c.first_index, 1);
  EXPECT_DOUBLE_EQ(c.max_abs, 0.5);
  EXPECT_DOUBLE_EQ(c.rel_l2, 0.5 / std::sqrt(1.0 + 4.0));
}
