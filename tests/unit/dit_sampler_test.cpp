// Flow-matching sampler: shift schedule, Euler exactness on a straight-line flow, CFG combination, determinism
// with the tiny DiT in the loop.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "reference/model/dit.hpp"
#include "reference/sampler/flow_sampler.hpp"

namespace ss = sixbit::sampler;
namespace sm = sixbit::model;

TEST(DitSampler, ShiftScheduleFollowsFormula) {
  EXPECT_DOUBLE_EQ(ss::shift_sigma(0.5, 5.0), 2.5 / 3.0);  // 5*0.5/(1+4*0.5)
  EXPECT_DOUBLE_EQ(ss::shift_sigma(1.0, 5.0), 1.0);
  EXPECT_DOUBLE_EQ(ss::shift_sigma(0.0, 5.0), 0.0);
  EXPECT_DOUBLE_EQ(ss::shift_sigma(0.3, 1.0), 0.3);
  const ss::FlowSchedule s = ss::flow_schedule(50, 5.0);
  ASSERT_EQ(s.sigmas.size(), 51u);
  ASSERT_EQ(s.timesteps.size(), 50u);
  EXPECT_DOUBLE_EQ(s.sigmas[0], ss::shift_sigma(0.999, 5.0));
  EXPECT_EQ(s.sigmas[50], 0.0);
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_GT(s.sigmas[i], s.sigmas[i + 1]);
    EXPECT_DOUBLE_EQ(s.timesteps[i], 1000.0 * s.sigmas[i]);
  }
  EXPECT_THROW(ss::flow_schedule(0, 5.0), sixbit::Error);
  EXPECT_THROW(ss::flow_schedule(10, -1.0), sixbit::Error);
  EXPECT_THROW(ss::flow_schedule(10, NAN), sixbit::Error);
}

// On x_sigma = (1 - sigma) x0 + sigma n the flow velocity n - x0 is constant, so Euler is exact up to fp32
// rounding: each step adds dt*v with relative error <= 2^-24 on dt*v and on the sum; |x| <= 3 here and there are 20
// steps, so |error| <= 20 * 2 * 3 * 2^-24 ~ 7e-6, bound 1e-5. With CFG the velocity is v_u + g (v_c - v_u).
TEST(DitSampler, EulerIsExactOnStraightFlowWithGuidance) {
  const std::vector<float> x0 = {0.5f, -1.0f, 0.25f, 2.0f}, noise = ss::initial_noise(3, 4);
  const std::vector<float> vu = {0.1f, 0.2f, -0.3f, 0.4f};
  int calls = 0;
  auto vel = [&](const std::vector<float>&, double t, bool cond) {
    EXPECT_TRUE(t >= 0.0 && t <= 1000.0);
    ++calls;
    std::vector<float> v(4);
    for (int j = 0; j < 4; ++j) v[j] = cond ? noise[j] - x0[j] : vu[j];
    return v;
  };
  const double g = 5.0;
  const std::vector<float> out = ss::sample_euler_cfg(noise, ss::flow_schedule(20, 5.0), g, vel);
  EXPECT_EQ(calls, 40);  // separate cond and uncond passes per step
  const double sigma0 = ss::flow_schedule(20, 5.0).sigmas[0];
  for (int j = 0; j < 4; ++j) {
    const double v = vu[j] + g * ((noise[j] - x0[j]) - vu[j]);
    EXPECT_NEAR(out[j], noise[j] - sigma0 * v, 1e-5) << j;
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

TEST(DitSampler, TinyDitSamplingIsDeterministic) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const sm::Weights w = sm::synthetic_weights(cfg, 5);
  sm::Mat cond(4, cfg.text_dim), uncond(1, cfg.text_dim);
  cond.v = sm::gaussian_normals(9, int64_t(cond.v.size()));
  sm::ReferenceOps ops;
  auto vel = [&](const std::vector<float>& x, double t, bool c) {
    return sm::dit_forward(cfg, w, x, t, c ? cond : uncond, ops);
  };
  const int64_t n = int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width;
  const auto noise = ss::initial_noise(1, n);
  const auto a = ss::sample_euler_cfg(noise, ss::flow_schedule(2, 5.0), 5.0, vel);
  const auto b = ss::sample_euler_cfg(noise, ss::flow_schedule(2, 5.0), 5.0, vel);
  ASSERT_EQ(a.size(), size_t(n));
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
  EXPECT_NE(a, noise);
  for (float x : a) ASSERT_TRUE(std::isfinite(x));
}
