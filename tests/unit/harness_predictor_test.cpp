// The predictor (harness/predictor/): the fit against hand-computed values, calibration on the tiny preset
// recovering a planted linear relation s = a_b d + c_b through the real engine and sampler, the real W4A4 probe
// (s > 0, W8A8 probe below it), allocation (threshold 0 -> all INT8, huge -> all NVFP4, budgets), the previous
// step's d feeding the prediction, JSON round trip and refusal of malformed predictor files.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "common/check.hpp"
#include "harness/engine/engine.hpp"
#include "harness/predictor/calibration.hpp"
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
  std::vector<sm::Mat> prompts;
  sm::Mat uncond{1, cfg.text_dim};
  Tiny() {
    for (uint64_t p = 0; p < 2; ++p) {
      sm::Mat c{3, cfg.text_dim};
      c.v = sm::gaussian_normals(100 + p, int64_t(c.v.size()));
      prompts.push_back(c);
    }
    uncond.v = sm::gaussian_normals(99, cfg.text_dim);
  }
  sh::CalibrationOptions opts(int steps) const {
    sh::CalibrationOptions o;
    o.steps = steps;
    return o;
  }
};
}  // namespace

TEST(HarnessPredictor, FitMatchesHandComputedValues) {
  // d = 1..4, s = 2, 4, 5, 8: mean d 2.5, mean s 4.75, S_dd = 5, S_ds = 9.5, S_ss = 18.75 ->
  // a = 1.9, c = 0, r = 9.5 / sqrt(93.75), R^2 = 1 - SS_res / S_ss with SS_res = S_ss - S_ds^2 / S_dd = 0.7.
  const sh::LinearFit f = sh::fit_linear({1, 2, 3, 4}, {2, 4, 5, 8});
  EXPECT_NEAR(f.a, 1.9, 1e-15);
  EXPECT_NEAR(f.c, 0.0, 1e-14);
  EXPECT_NEAR(f.r, 9.5 / std::sqrt(93.75), 1e-15);
  EXPECT_NEAR(f.r2, 1.0 - 0.7 / 18.75, 1e-15);
  EXPECT_NEAR(f.slope_stderr, std::sqrt(0.7 / 2.0 / 5.0), 1e-15);
  EXPECT_EQ(f.n, 4);
  const sh::LinearFit flat = sh::fit_linear({1, 1, 1}, {1, 2, 3});  // constant d: no slope to fit
  EXPECT_EQ(flat.a, 0.0);
  EXPECT_EQ(flat.c, 2.0);
  EXPECT_THROW(sh::fit_linear({1, NAN}, {1, 2}), sixbit::Error);
}

TEST(HarnessPredictor, CalibrationRecoversAPlantedLinearRelation) {
  // The probe returns out + g with g_i = target * mean|out| * (+-1), so s = sum|g| / sum|out| = target up to fp32
  // rounding of out + g: each |q_i - out_i| is off by at most 2^-24 |q_i|, i.e. a relative error below
  // 2^-24 max|q| / (target mean|out|) ~ 1e-5 for these tensors (max/mean < 30, target > 0.05); 1e-4 is the check.
  Tiny t;
  sixbit::model::ReferenceOps ops;
  for (const double noise : {0.0, 0.004}) {
    uint64_t state = 12345;
    int64_t calls = 0;
    const sh::BlockProbe planted = [&](int b, const sm::Mat& in, const sm::Mat& out, const sm::BlockRun&) {
      const double d = ops.diff_norms(out, in).rel_l1();
      const double z = double(sm::gaussian_normals(sm::splitmix64(state), 1)[0]);
      const double target = (0.3 + 0.2 * b) * d + 0.01 * (b + 1) + noise * z;
      double mean = 0;
      for (float v : out.v) mean += std::fabs(double(v));
      mean /= double(out.v.size());
      sm::Mat q = out;
      for (size_t i = 0; i < q.v.size(); ++i) q.v[i] = float(double(out.v[i]) + target * mean * (i % 2 ? 1 : -1));
      ++calls;
      return q;
    };
    sh::CalibrationOptions o = t.opts(6);
    o.probe = planted;
    const sh::CalibrationResult r = sh::calibrate(t.cfg, t.w, ops, t.prompts, t.uncond, o);
    ASSERT_EQ(int64_t(r.samples.size()), 2 * 6 * 2 * 2);
    EXPECT_EQ(calls, int64_t(r.samples.size())) << "one probe per block, step and pass";
    for (int b = 0; b < 2; ++b) {
      const sh::LinearFit& f = r.predictor.blocks[size_t(b)];
      EXPECT_GT(f.d_max - f.d_min, 0.02) << "the tiny model's d must vary across steps for a fit to mean anything";
      if (noise == 0) {
        EXPECT_NEAR(f.a, 0.3 + 0.2 * b, 1e-3 * (0.3 + 0.2 * b)) << "block " << b;
        EXPECT_NEAR(f.c, 0.01 * (b + 1), 2e-4) << "block " << b;
        EXPECT_GT(f.r, 0.99999);
      } else {
        // OLS slope error is N(0, stderr^2) given d: 4 standard errors is a 6e-5 false-alarm rate.
        EXPECT_NEAR(f.a, 0.3 + 0.2 * b, 4 * f.slope_stderr) << "block " << b;
        EXPECT_GT(f.slope_stderr, 0.0);
        EXPECT_LT(f.r2, 0.9999) << "noise must show in R^2";
      }
      EXPECT_GT(r.predictor.d_first[size_t(b)], 0.0);
    }
    EXPECT_EQ(r.predictor.global.n, int64_t(r.samples.size()));
  }
}

TEST(HarnessPredictor, RealW4A4ProbeOnTinyAndW8A8IsLessSensitive) {
  Tiny t;
  sixbit::model::EmulatorOps ops;
  const sh::CalibrationResult w4 = sh::calibrate(t.cfg, t.w, ops, t.prompts, t.uncond, t.opts(6));
  sh::CalibrationOptions o8 = t.opts(6);
  o8.probe = [&](int, const sm::Mat& in, const sm::Mat&, const sm::BlockRun& run) {
    ops.set_plan(sm::PrecisionPlan::uniform(sm::LinearPrecision::kW8A8));
    return run(in);
  };
  const sh::CalibrationResult w8 = sh::calibrate(t.cfg, t.w, ops, t.prompts, t.uncond, o8);
  double s4 = 0, s8 = 0;
  for (size_t i = 0; i < w4.samples.size(); ++i) {
    EXPECT_GT(w4.samples[i].s, 0.0);
    EXPECT_GT(w4.samples[i].d, 0.0);
    EXPECT_EQ(w4.samples[i].d, w8.samples[i].d) << "the probe never changes the full-precision trajectory";
    s4 += w4.samples[i].s;
    s8 += w8.samples[i].s;
  }
  EXPECT_LT(s8, 0.5 * s4) << "INT8 must be far less sensitive than NVFP4";
  const auto& g = w4.predictor.global;
  std::printf("tiny, 2 prompts x 6 steps: W4A4 s ~ %.4f d + %.4f, r %.3f, R^2 %.3f; mean s W4A4 %.4f, W8A8 %.4f\n", g.a, g.c,
              g.r, g.r2, s4 / double(w4.samples.size()), s8 / double(w8.samples.size()));
}

TEST(HarnessPredictor, AllocationModes) {
  EXPECT_EQ(sh::budget_nvfp4_blocks(8, 6.0), 4);
  EXPECT_EQ(sh::budget_nvfp4_blocks(8, 8.0), 0);
  EXPECT_EQ(sh::budget_nvfp4_blocks(8, 4.0), 8);
  EXPECT_EQ(sh::budget_nvfp4_blocks(3, 6.0), 2) << "1.5 rounds up so the average is <= the budget";
  EXPECT_THROW(sh::budget_nvfp4_blocks(8, 3.9), sixbit::Error);
  const std::vector<double> s = {0.3, 0.1, 0.2, 0.1};
  EXPECT_EQ(sh::allocate_nvfp4(s, {sh::AllocationMode::kThreshold, 0.0}), std::vector<bool>(4, false));
  EXPECT_EQ(sh::allocate_nvfp4(s, {sh::AllocationMode::kThreshold, 1e300}), std::vector<bool>(4, true));
  EXPECT_EQ(sh::allocate_nvfp4(s, {sh::AllocationMode::kThreshold, 0.2}), (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(sh::allocate_nvfp4(s, {sh::AllocationMode::kBudget, 7.0}), (std::vector<bool>{false, true, false, false}))
      << "ties go to the lower block index";
  EXPECT_EQ(sh::allocate_nvfp4(s, {sh::AllocationMode::kBudget, 6.0}), (std::vector<bool>{false, true, false, true}));
}

TEST(HarnessPredictor, EngineUsesThePreviousStepsDAndTheAllocation) {
  Tiny t;
  sixbit::model::EmulatorOps ops;
  const sh::Predictor p = sh::calibrate(t.cfg, t.w, ops, {t.prompts[0]}, t.uncond, t.opts(4)).predictor;
  const struct {
    sh::Policy policy;
    sh::Allocation alloc;
    int w4a4_per_forward;
    sm::LinearPrecision high;
  } cases[] = {{sh::Policy::kW4A4orW8A8, {sh::AllocationMode::kThreshold, 0.0}, 0, sm::LinearPrecision::kW8A8},
               {sh::Policy::kW4A4orW8A8, {sh::AllocationMode::kThreshold, 1e300}, 2, sm::LinearPrecision::kW8A8},
               {sh::Policy::kW4A4orW4A8, {sh::AllocationMode::kThreshold, 0.0}, 0, sm::LinearPrecision::kW4A8},
               {sh::Policy::kW4A4orW8A8, {sh::AllocationMode::kBudget, 6.0}, 1, sm::LinearPrecision::kW8A8},
               {sh::Policy::kW4A4orW4A8, {sh::AllocationMode::kBudget, 4.0}, 2, sm::LinearPrecision::kW4A8}};
  for (const auto& c : cases) {
    sh::EngineOptions o;
    o.policy = c.policy;
    o.allocation = c.alloc;
    o.predictor = &p;
    sh::Engine e(t.cfg, t.w, ops, o);
    sh::sample_video(e, t.cfg, sixbit::sampler::Solver::kEuler, 5, 3.0, 4.0, 7, t.prompts[1], t.uncond);
    const auto& recs = e.records();
    ASSERT_EQ(recs.size(), 10u);
    for (size_t f = 0; f < recs.size(); ++f) {
      int low = 0;
      for (int b = 0; b < 2; ++b) {
        const sh::BlockStep& bs = recs[f].blocks[size_t(b)];
        low += bs.precision == sm::LinearPrecision::kW4A4;
        EXPECT_TRUE(bs.precision == sm::LinearPrecision::kW4A4 || bs.precision == c.high);
        // d_used: the same pass's d one step earlier (records alternate cond, uncond), or d_first at step 0.
        const double expect = f < 2 ? p.d_first[size_t(b)] : recs[f - 2].blocks[size_t(b)].d;
        EXPECT_EQ(bs.d_used, expect) << "forward " << f << " block " << b;
        EXPECT_EQ(bs.s_pred, p.predict(b, bs.d_used));
      }
      EXPECT_EQ(low, c.w4a4_per_forward) << sh::policy_name(c.policy) << " forward " << f;
    }
    const double bits = e.counters().avg_activation_bits();
    EXPECT_DOUBLE_EQ(bits, 8.0 - 4.0 * c.w4a4_per_forward / 2.0);
  }
  sh::EngineOptions none;
  none.policy = sh::Policy::kW4A4orW8A8;
  EXPECT_THROW(sh::Engine(t.cfg, t.w, ops, none), sixbit::Error) << "a switching policy needs a predictor";
}

TEST(HarnessPredictor, JsonRoundTripAndBadFiles) {
  Tiny t;
  sixbit::model::ReferenceOps ops;
  sh::CalibrationOptions o = t.opts(3);
  o.probe = [](int, const sm::Mat&, const sm::Mat& out, const sm::BlockRun&) {
    sm::Mat q = out;
    q.v[0] += 1.0f;
    return q;
  };
  const sh::Predictor p = sh::calibrate(t.cfg, t.w, ops, {t.prompts[0]}, t.uncond, o).predictor;
  const nlohmann::json j = sh::predictor_to_json(p);
  const sh::Predictor back = sh::predictor_from_json(j, 2);
  EXPECT_EQ(sh::predictor_to_json(back).dump(), j.dump());
  EXPECT_EQ(back.predict(1, 0.25), p.predict(1, 0.25));
  EXPECT_THROW(sh::predictor_from_json(j, 3), sixbit::Error) << "block count must match the model";
  for (const char* bad : {R"({"kind": "other"})", R"({"kind": "sixbit.predictor", "version": 2})"})
    EXPECT_THROW(sh::predictor_from_json(nlohmann::json::parse(bad), 2), sixbit::Error) << bad;
  nlohmann::json broken = j;
  broken["blocks"][1]["a"] = "x";
  try {
    sh::predictor_from_json(broken, 2);
    ADD_FAILURE() << "a non-number slope was accepted";
  } catch (const sixbit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks[1].a"), std::string::npos) << e.what();
  }
  broken = j;
  broken["global"].erase("r2");
  EXPECT_THROW(sh::predictor_from_json(broken, 2), sixbit::Error);
  EXPECT_THROW(sh::load_predictor("/nonexistent/predictor.json", 2), sixbit::Error);
}
