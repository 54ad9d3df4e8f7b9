// Flow-matching sampler: Wan's schedule bit for bit, Euler and UniPC against the PyTorch transcription of Wan's
// FlowUniPCMultistepScheduler driving the PyTorch DiT mirror (tests/fixtures/dit_tiny_sampler_golden.bin, written
// by experiments/make_sampler_golden.py), exactness on straight flows, the order of accuracy on a Gaussian flow with
// a closed-form solution, the CFG call protocol, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "reference/model/dit.hpp"
#include "reference/sampler/flow_sampler.hpp"
#include "tests/unit/golden_file.hpp"

namespace ss = sixbit::sampler;
namespace sm = sixbit::model;

namespace {

const sixbit::testing::GoldenFile& fixture() {
  static const auto f = sixbit::testing::load_golden(
      std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "dit_tiny_sampler_golden.bin",
      "SBSMPGLD", 1, "experiments/make_sampler_golden.py");
  return f;
}

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

}  // namespace

TEST(DitSampler, ShiftFormula) {
  EXPECT_DOUBLE_EQ(ss::shift_sigma(0.5, 5.0), 2.5 / 3.0);  // 5*0.5/(1+4*0.5)
  EXPECT_DOUBLE_EQ(ss::shift_sigma(1.0, 5.0), 1.0);
  EXPECT_DOUBLE_EQ(ss::shift_sigma(0.0, 5.0), 0.0);
  EXPECT_DOUBLE_EQ(ss::shift_sigma(0.3, 1.0), 0.3);
}

// Wan's set_timesteps, element for element, on every (steps, shift) of the fixture's table (12 x 7 schedules):
// sigmas as fp32 bits, timesteps as integers.
TEST(DitSampler, ScheduleEqualsWansBitForBit) {
  const auto& f = fixture();
  const auto& table = f.meta.at("schedules");
  ASSERT_GE(table.size(), 50u);
  for (size_t k = 0; k < table.size(); ++k) {
    const int steps = table[k][0].get<int>();
    const double shift = table[k][1].get<double>();
    const ss::FlowSchedule s = ss::flow_schedule(steps, shift);
    const auto& sig = f.at("schedule." + std::to_string(k) + ".sigmas").data;
    const auto& ts = f.at("schedule." + std::to_string(k) + ".timesteps").data;
    ASSERT_EQ(s.sigmas.size(), sig.size()) << steps << " steps";
    ASSERT_EQ(s.timesteps.size(), ts.size()) << steps << " steps";
    for (size_t i = 0; i < sig.size(); ++i) {
      EXPECT_EQ(double(float(s.sigmas[i])), s.sigmas[i]) << "sigma not an fp32 value";
      EXPECT_EQ(bits(float(s.sigmas[i])), bits(sig[i])) << steps << " steps, shift " << shift << ", sigma " << i;
    }
    for (size_t i = 0; i < ts.size(); ++i)
      EXPECT_EQ(s.timesteps[i], double(ts[i])) << steps << " steps, shift " << shift << ", t " << i;
  }
}

TEST(DitSampler, ScheduleShapeAndBadInput) {
  const ss::FlowSchedule s = ss::flow_schedule(50, 5.0);
  ASSERT_EQ(s.sigmas.size(), 51u);
  ASSERT_EQ(s.timesteps.size(), 50u);
  // sigma_max is fp32(0.999), not 0.999 (Wan's training sigmas are a float32 tensor).
  EXPECT_EQ(s.sigmas[0], double(float(ss::shift_sigma(double(0.999f), 5.0))));
  EXPECT_EQ(s.timesteps[0], 999.0);  // trunc(999.80...), not 999.8
  EXPECT_EQ(s.sigmas[50], 0.0);
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_GT(s.sigmas[i], s.sigmas[i + 1]);
    EXPECT_EQ(s.timesteps[i], std::trunc(s.timesteps[i]));
  }
  EXPECT_THROW(ss::flow_schedule(0, 5.0), sixbit::Error);
  EXPECT_THROW(ss::flow_schedule(10, -1.0), sixbit::Error);
  EXPECT_THROW(ss::flow_schedule(10, NAN), sixbit::Error);
  EXPECT_THROW(ss::flow_schedule(10, 5.0, 1), sixbit::Error);
}

TEST(DitSampler, SolverNames) {
  EXPECT_EQ(ss::solver_from_name("euler"), ss::Solver::kEuler);
  EXPECT_EQ(ss::solver_from_name("unipc"), ss::Solver::kUniPC);
  EXPECT_EQ(ss::solver_name(ss::Solver::kUniPC), "unipc");
  EXPECT_EQ(ss::solver_name(ss::Solver::kEuler), "euler");
  try {
    ss::solver_from_name("dpm++");
    FAIL() << "no error";
  } catch (const sixbit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dpm++"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unipc"), std::string::npos) << e.what();
  }
}

// CFG protocol: per step the conditional pass first, then the unconditional one, with the same x and StepInfo;
// step indices, t, sigma and sigma_next from the schedule.
TEST(DitSampler, CfgCallsCondThenUncondWithStepInfo) {
  const ss::FlowSchedule sched = ss::flow_schedule(5, 3.0);
  for (ss::Solver solver : {ss::Solver::kEuler, ss::Solver::kUniPC}) {
    std::vector<ss::StepInfo> seen;
    std::vector<std::vector<float>> xs;
    auto vel = [&](const std::vector<float>& x, const ss::StepInfo& info) {
      seen.push_back(info);
      xs.push_back(x);
      return std::vector<float>(x.size(), info.cond ? 1.0f : 0.5f);
    };
    ss::sample_cfg(solver, ss::initial_noise(2, 6), sched, 4.0, vel);
    ASSERT_EQ(seen.size(), 10u);
    for (int i = 0; i < 5; ++i) {
      const ss::StepInfo &c = seen[size_t(2 * i)], &u = seen[size_t(2 * i + 1)];
      EXPECT_TRUE(c.cond);
      EXPECT_FALSE(u.cond);
      EXPECT_EQ(xs[size_t(2 * i)], xs[size_t(2 * i + 1)]);
      for (const ss::StepInfo* s : {&c, &u}) {
        EXPECT_EQ(s->step, i);
        EXPECT_EQ(s->steps, 5);
        EXPECT_EQ(s->t, sched.timesteps[size_t(i)]);
        EXPECT_EQ(s->sigma, sched.sigmas[size_t(i)]);
        EXPECT_EQ(s->sigma_next, sched.sigmas[size_t(i) + 1]);
      }
    }
  }
}

// On x_sigma = (1 - sigma) x0 + sigma n the flow velocity n - x0 is constant and the x0 prediction x - sigma v is
// x0 at every point of the line, so both solvers are exact up to fp32 rounding (for UniPC: D1 = 0 and
// sigma_t/sigma_s0 x - alpha_t expm1(-h) x0 = alpha_t x0 + sigma_t n, since e^-h = alpha_s0 sigma_t /
// (sigma_s0 alpha_t)). Each step rounds a handful of fp32 operations on values |x| <= 3, |v| <= 15 (CFG, g = 5):
// per step <= 8 roundings of <= 15 * 2^-24 ~ 7e-6, over 20 steps < 1.5e-4 (errors do not grow: the maps are
// contractions with coefficients in [0, 1]); bound 2e-4. A wrong coefficient is an O(1) error.
TEST(DitSampler, BothSolversAreExactOnAStraightFlowWithGuidance) {
  const std::vector<float> x0 = {0.5f, -1.0f, 0.25f, 2.0f}, noise = ss::initial_noise(3, 4);
  const std::vector<float> vu = {0.1f, 0.2f, -0.3f, 0.4f};
  const double g = 5.0;
  // v_c chosen so that the guided velocity vu + g (vc - vu) is exactly the straight-line velocity n - x0.
  std::vector<float> vc(4);
  for (int j = 0; j < 4; ++j) vc[size_t(j)] = float(vu[size_t(j)] + ((noise[size_t(j)] - x0[size_t(j)]) - vu[size_t(j)]) / g);
  const ss::FlowSchedule sched = ss::flow_schedule(20, 5.0);
  for (ss::Solver solver : {ss::Solver::kEuler, ss::Solver::kUniPC}) {
    // start on the line at sigma_0 (the schedule does not start at 1)
    std::vector<float> start(4);
    for (int j = 0; j < 4; ++j)
      start[size_t(j)] = float((1.0 - sched.sigmas[0]) * x0[size_t(j)] + sched.sigmas[0] * noise[size_t(j)]);
    auto vel = [&](const std::vector<float>&, const ss::StepInfo& info) { return info.cond ? vc : vu; };
    const std::vector<float> out = ss::sample_cfg(solver, start, sched, g, vel);
    double err = 0;
    for (int j = 0; j < 4; ++j) err = std::max(err, std::fabs(double(out[size_t(j)]) - x0[size_t(j)]));
    EXPECT_LE(err, 2e-4) << ss::solver_name(solver);
  }
}

// Data x0 ~ N(mu, s^2) per element: the flow velocity E[n - x0 | x_sigma = x] is
// v = (sigma - (1 - sigma) s^2) / S^2 (x - (1 - sigma) mu) - mu with S^2 = (1 - sigma)^2 s^2 + sigma^2, and the ODE
// keeps z = (x - (1 - sigma) mu) / S constant, so the exact result at sigma = 0 is mu + s z. Euler is first order
// (error halves when the steps double: ratio 2); UniPC-2 with its corrector is at least second order (ratio >= 4;
// the fp64 Python transcription on the same data, shift 1: 4.3 (10->20), 4.9 (20->40), 4.4 (40->80); Euler 1.94,
// 1.97, 1.98). Bounds leave 10% slack for Euler and accept >= 3.5 for UniPC; the errors (5e-4 .. 0.3) are far above
// fp32 rounding. Data spread s >= 0.5: with s -> 0 the flow gets stiff near sigma = 0 and the max error's ratio
// wanders (3.1 at 40 -> 80 steps for s = 0.2) before settling at 4.
TEST(DitSampler, OrderOfAccuracyOnAGaussianFlow) {
  const int n = 64;
  std::vector<double> mu(n), s(n);
  for (int j = 0; j < n; ++j) {
    mu[size_t(j)] = -2.0 + 4.0 * j / (n - 1);
    s[size_t(j)] = 0.5 + 1.5 * j / (n - 1);
  }
  const std::vector<float> init = ss::initial_noise(11, n);
  auto big_s = [&](double sig, int j) { return std::sqrt((1 - sig) * (1 - sig) * s[size_t(j)] * s[size_t(j)] + sig * sig); };
  auto run = [&](ss::Solver solver, int steps) {
    const ss::FlowSchedule sched = ss::flow_schedule(steps, 1.0);
    ss::FlowStepper st(solver, sched);
    std::vector<float> x = init;
    for (int i = 0; i < steps; ++i) {
      const double sig = sched.sigmas[size_t(i)];
      std::vector<float> v(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) {
        const double S = big_s(sig, j);
        v[size_t(j)] = float((sig - (1 - sig) * s[size_t(j)] * s[size_t(j)]) / (S * S) *
                                 (x[size_t(j)] - (1 - sig) * mu[size_t(j)]) - mu[size_t(j)]);
      }
      x = st.step(x, v);
    }
    double err = 0;
    const double sig0 = sched.sigmas[0];
    for (int j = 0; j < n; ++j) {
      const double exact = mu[size_t(j)] + s[size_t(j)] * (init[size_t(j)] - (1 - sig0) * mu[size_t(j)]) / big_s(sig0, j);
      err = std::max(err, std::fabs(x[size_t(j)] - exact));
    }
    return err;
  };
  const double e20 = run(ss::Solver::kEuler, 20), e40 = run(ss::Solver::kEuler, 40), e80 = run(ss::Solver::kEuler, 80);
  const double u20 = run(ss::Solver::kUniPC, 20), u40 = run(ss::Solver::kUniPC, 40), u80 = run(ss::Solver::kUniPC, 80);
  std::printf("  max error at 20/40/80 steps: euler %.3e %.3e %.3e, unipc %.3e %.3e %.3e\n", e20, e40, e80, u20, u40, u80);
  EXPECT_NEAR(e20 / e40, 2.0, 0.2);
  EXPECT_NEAR(e40 / e80, 2.0, 0.2);
  EXPECT_GE(u20 / u40, 3.5);
  EXPECT_GE(u40 / u80, 3.5);
  EXPECT_LT(u40, e40 / 20);
}

TEST(DitSampler, BadInputIsRefused) {
  const ss::FlowSchedule sched = ss::flow_schedule(3, 5.0);
  auto short_v = [](const std::vector<float>& x, const ss::StepInfo&) { return std::vector<float>(x.size() - 1); };
  auto ok_v = [](const std::vector<float>& x, const ss::StepInfo&) { return std::vector<float>(x.size(), 0.1f); };
  for (ss::Solver solver : {ss::Solver::kEuler, ss::Solver::kUniPC}) {
    EXPECT_THROW(ss::sample_cfg(solver, std::vector<float>(8), sched, 5.0, short_v), sixbit::Error);
    EXPECT_THROW(ss::sample_cfg(solver, std::vector<float>(8), sched, NAN, ok_v), sixbit::Error);
    EXPECT_THROW(ss::sample_cfg(solver, std::vector<float>(8), sched, 5.0, ss::VelocityFn{}), sixbit::Error);
    ss::FlowSchedule bad = sched;
    bad.sigmas.pop_back();
    EXPECT_THROW(ss::sample_cfg(solver, std::vector<float>(8), bad, 5.0, ok_v), sixbit::Error);
    bad = sched;
    std::swap(bad.sigmas[0], bad.sigmas[1]);  // not decreasing
    EXPECT_THROW(ss::FlowStepper(solver, bad), sixbit::Error);
    ss::FlowStepper st(solver, sched);
    std::vector<float> x(8, 0.0f), v(8, 0.1f);
    for (int i = 0; i < 3; ++i) x = st.step(x, v);
    EXPECT_THROW(st.step(x, v), sixbit::Error);  // past the last step
  }
}

TEST(DitSampler, NoiseIsSeededAndNormal) {
  const auto a = ss::initial_noise(42, 100000), b = ss::initial_noise(42, 100000), c = ss::initial_noise(43, 10);
  EXPECT_EQ(a, b);
  EXPECT_NE(std::vector<float>(a.begin(), a.begin() + 10), c);
  double m = 0, v = 0;
  for (float x : a) m += x;
  m /= double(a.size());
  for (float x : a) v += (x - m) * (x - m);
  v /= double(a.size());
  // Mean and variance of 1e5 standard normals: standard errors 0.0032 and 0.0045; 5 sigma bounds.
  EXPECT_NEAR(m, 0.0, 0.016);
  EXPECT_NEAR(v, 1.0, 0.023);
}

// Bound (the DiT golden test's argument, tests/unit/dit_golden_test.cpp, carried through the sampler): the C++ and
// PyTorch runs are both fp32 implementations of the same sampling loop; neither is "the" answer, so each is measured
// against the fp64 run of the PyTorch loop from the same noise, contexts, weights and fp32 sigmas. E_torch(k) =
// max|torch_fp32 - fp64| at step k is the fp32 rounding error this exact computation accumulates up to k, amplified
// by the same CFG and solver dynamics the C++ error goes through. A correct C++ run has an error of the same order:
// our dots are sequential (random-walk growth sqrt(n) u) vs PyTorch's ~16-lane sums (sqrt(n/16) u), a factor 4, so
// we allow 8 E_torch (2x margin) plus half an ulp of the largest value (the fp64 run is stored rounded to fp32).
// Solver mistakes (a missing corrector, a wrong rho or order) move the result by 1e-3..1e-1, 10^2..10^4 times the
// bound. E_cpp must be > 0 after the first step (an fp32 run equal to fp64 everywhere is not computing in fp32).
TEST(DitSampler, TinyDitSamplingMatchesWanTranscriptionAtEveryStep) {
  const auto& f = fixture();
  const sm::DitConfig cfg = sm::preset("tiny");
  const uint64_t seed = f.meta.at("seed").get<uint64_t>();
  const sm::Weights w = sm::synthetic_weights(cfg, seed);
  const int64_t n = int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width;
  const std::vector<float> noise = ss::initial_noise(seed, n);
  const auto& fnoise = f.at("noise").data;
  ASSERT_EQ(noise.size(), fnoise.size());
  for (size_t j = 0; j < noise.size(); ++j) ASSERT_EQ(bits(noise[j]), bits(fnoise[j])) << "noise " << j;
  auto mat = [&](const std::string& name) {
    const auto& t = f.at(name);
    sm::Mat m(t.shape[0], t.shape[1]);
    m.v = t.data;
    return m;
  };
  const sm::Mat cond = mat("context.cond"), uncond = mat("context.uncond");
  sm::ReferenceOps ops;
  for (const auto& [name, run] : f.meta.at("runs").items()) {
    const ss::Solver solver = ss::solver_from_name(run.at("solver").get<std::string>());
    const int steps = run.at("steps").get<int>();
    std::vector<std::vector<float>> inputs;
    auto vel = [&](const std::vector<float>& x, const ss::StepInfo& info) {
      if (info.cond) inputs.push_back(x);
      return sm::dit_forward(cfg, w, x, info.t, info.cond ? cond : uncond, ops);
    };
    const std::vector<float> out = ss::sample_cfg(solver, noise, ss::flow_schedule(steps, f.meta.at("shift").get<double>()),
                                                  f.meta.at("guidance").get<double>(), vel);
    ASSERT_EQ(int(inputs.size()), steps) << name;
    inputs.push_back(out);
    for (int k = 0; k <= steps; ++k) {
      const std::string key = k < steps ? "input." + std::to_string(k) : "output";
      const auto& t32 = f.at(name + ".fp32." + key).data;
      const auto& t64 = f.at(name + ".fp64." + key).data;
      ASSERT_EQ(inputs[size_t(k)].size(), t32.size());
      double e_torch = 0, e_cpp = 0, ref_max = 0;
      for (size_t j = 0; j < t32.size(); ++j) {
        ASSERT_TRUE(std::isfinite(inputs[size_t(k)][j])) << name << " " << key;
        e_torch = std::max(e_torch, std::fabs(double(t32[j]) - t64[j]));
        e_cpp = std::max(e_cpp, std::fabs(double(inputs[size_t(k)][j]) - t64[j]));
        ref_max = std::max(ref_max, std::fabs(double(t64[j])));
      }
      const double bound = 8.0 * e_torch + 0.5 * ref_max * 0x1.0p-23;
      std::printf("  %-6s %-8s max|ref| %.3f  E_torch %.3e  E_cpp %.3e (bound %.3e)\n", name.c_str(), key.c_str(),
                  ref_max, e_torch, e_cpp, bound);
      if (k == 0) {
        EXPECT_EQ(e_cpp, 0.0) << "the first model input is the noise itself";
        continue;
      }
      EXPECT_GT(e_torch, 0.0) << name << " " << key << ": fixture fp32 and fp64 identical, the fixture is suspect";
      EXPECT_GT(e_cpp, 0.0) << name << " " << key << ": C++ fp32 equals fp64 exactly";
      EXPECT_LE(e_cpp, bound) << name << " " << key;
    }
  }
}

TEST(DitSampler, TinyDitSamplingIsDeterministic) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const sm::Weights w = sm::synthetic_weights(cfg, 5);
  sm::Mat cond(4, cfg.text_dim), uncond(1, cfg.text_dim);
  cond.v = sm::gaussian_normals(9, int64_t(cond.v.size()));
  sm::ReferenceOps ops;
  auto vel = [&](const std::vector<float>& x, const ss::StepInfo& info) {
    return sm::dit_forward(cfg, w, x, info.t, info.cond ? cond : uncond, ops);
  };
  const int64_t n = int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width;
  const auto noise = ss::initial_noise(1, n);
  for (ss::Solver solver : {ss::Solver::kEuler, ss::Solver::kUniPC}) {
    const auto a = ss::sample_cfg(solver, noise, ss::flow_schedule(3, 5.0), 5.0, vel);
    const auto b = ss::sample_cfg(solver, noise, ss::flow_schedule(3, 5.0), 5.0, vel);
    ASSERT_EQ(a.size(), size_t(n));
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
    EXPECT_NE(a, noise);
    for (float x : a) ASSERT_TRUE(std::isfinite(x));
  }
}
