// sixbit/reference/sampler/flow_sampler.cpp: see flow_sampler.hpp.
#include "reference/sampler/flow_sampler.hpp"

#include <cmath>

#include "common/check.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::sampler {

double shift_sigma(double sigma, double shift) { return shift * sigma / (1.0 + (shift - 1.0) * sigma); }

FlowSchedule flow_schedule(int steps, double shift, int num_train_timesteps) {
  SIXBIT_CHECK(steps >= 1 && steps <= 10000, "flow_schedule: steps must be in [1, 10000], got ", steps);
  SIXBIT_CHECK(std::isfinite(shift) && shift > 0.0, "flow_schedule: shift must be > 0, got ", shift);
  SIXBIT_CHECK(num_train_timesteps >= 2, "flow_schedule: num_train_timesteps must be >= 2");
  const double sigma_max = 1.0 - 1.0 / num_train_timesteps, sigma_min = 0.0;
  FlowSchedule s;
  for (int i = 0; i < steps; ++i) {
    const double base = sigma_max + (sigma_min - sigma_max) * double(i) / double(steps);
    const double sg = shift_sigma(base, shift);
    s.sigmas.push_back(sg);
    s.timesteps.push_back(sg * num_train_timesteps);
  }
  s.sigmas.push_back(0.0);
  return s;
}

std::vector<float> sample_euler_cfg(std::vector<float> x, const FlowSchedule& schedule, double guidance,
                                    const VelocityFn& velocity) {
  SIXBIT_CHECK(schedule.sigmas.size() == schedule.timesteps.size() + 1 && !schedule.timesteps.empty(),
               "sample_euler_cfg: malformed schedule");
  SIXBIT_CHECK(std::isfinite(guidance), "sample_euler_cfg: guidance must be finite");
  const float g = float(guidance);
  for (size_t i = 0; i < schedule.timesteps.size(); ++i) {
    const std::vector<float> vc = velocity(x, schedule.timesteps[i], true);
    const std::vector<float> vu = velocity(x, schedule.timesteps[i], false);
    SIXBIT_CHECK(vc.size() == x.size() && vu.size() == x.size(), "sample_euler_cfg: velocity has ", vc.size(), "/",
                 vu.size(), " values for a latent of ", x.size());
    const float dt = float(schedule.sigmas[i + 1] - schedule.sigmas[i]);
    for (size_t j = 0; j < x.size(); ++j) x[j] += dt * (vu[j] + g * (vc[j] - vu[j]));
  }
  return x;
}

std::vector<float> initial_noise(uint64_t seed, int64_t n) {
  SIXBIT_CHECK(n >= 0, "initial_noise: negative size");
  return model::gaussian_normals(seed ^ model::fnv1a64("sampler.noise"), n);
}

}  // namespace sixbit::sampler
