// sixbit/reference/sampler/flow_sampler.hpp: flow-matching schedule with shift, Euler steps, classifier-free
// guidance with separate conditional and unconditional passes.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace sixbit::sampler {

// sigma' = s * sigma / (1 + (s - 1) * sigma) (Wan2.1's sample shift; NOTES-dit.md).
double shift_sigma(double sigma, double shift);

struct FlowSchedule {
  std::vector<double> sigmas;     // steps + 1 values, decreasing, last exactly 0
  std::vector<double> timesteps;  // steps values: sigma * num_train_timesteps, the DiT's t input
};

// As Wan's flow schedulers set it up (from memory of Wan2.1 wan/utils/fm_solvers_unipc.py, set_timesteps; not
// re-read in this session): base sigmas run from sigma_max = 1 - 1/N down to sigma_min = 0 (N =
// num_train_timesteps), sigmas = linspace(sigma_max, sigma_min, steps + 1)[:-1], shifted, then a final 0 appended.
FlowSchedule flow_schedule(int steps, double shift, int num_train_timesteps = 1000);

// Flow prediction v(x, t) of the model for the conditional (cond = true) or unconditional pass.
using VelocityFn = std::function<std::vector<float>(const std::vector<float>& x, double t, bool cond)>;

// Euler on the probability-flow ODE: x <- x + (sigma_{i+1} - sigma_i) * v, with v = v_u + g * (v_c - v_u) from
// two separate passes per step (Wan does the same two forwards for CFG); all arithmetic in fp32.
std::vector<float> sample_euler_cfg(std::vector<float> x, const FlowSchedule& schedule, double guidance,
                                    const VelocityFn& velocity);

// Initial noise: n standard normals from splitmix64 + Box-Muller (reference/model/weights.hpp gaussian_normals).
std::vector<float> initial_noise(uint64_t seed, int64_t n);

}  // namespace sixbit::sampler
