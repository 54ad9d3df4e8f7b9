// sixbit/reference/sampler/flow_sampler.hpp: Wan2.1's flow-matching schedule (shift), the Euler and UniPC
// (order 2, bh2, x0-prediction from flow output) solvers, and classifier-free guidance with two separate passes.
//
// Source for the schedule and UniPC: Wan-Video/Wan2.1 wan/utils/fm_solvers_unipc.py (FlowUniPCMultistepScheduler,
// itself derived from diffusers' scheduling_unipc_multistep.py) as wan/text2video.py drives it
// (FlowUniPCMultistepScheduler(shift=1), set_timesteps(steps, shift=shift), one step() per sampling step).
// docs/dit.md ("Sampler") gives the arithmetic, the precisions and what was checked against what.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace sixbit::sampler {

// sigma' = s * sigma / (1 + (s - 1) * sigma), evaluated in fp64 in that order (Wan's set_timesteps).
double shift_sigma(double sigma, double shift);

struct FlowSchedule {
  // steps + 1 values, decreasing, each exactly an fp32 value (Wan keeps `self.sigmas` as a float32 tensor and the
  // solver computes with those), the last exactly 0 (final_sigmas_type "zero").
  std::vector<double> sigmas;
  // steps values: the DiT's t input, trunc(sigma64 * num_train_timesteps) where sigma64 is the shifted fp64 sigma
  // before its fp32 rounding (Wan: `torch.from_numpy(sigmas * N).to(torch.int64)`), so every t is an integer.
  std::vector<double> timesteps;
};

// Wan's set_timesteps with use_dynamic_shifting off: sigma_max = fp32(1 - 1/N) (the scheduler's training sigmas
// are a float32 tensor; N = num_train_timesteps), sigma_min = 0, base = numpy.linspace(sigma_max, 0, steps + 1)[:-1]
// (i * ((0 - sigma_max) / steps) + sigma_max, numpy's arithmetic), shifted in fp64, then sigmas = fp32(shifted)
// with 0 appended and timesteps = trunc(shifted * N).
FlowSchedule flow_schedule(int steps, double shift, int num_train_timesteps = 1000);

// What one velocity call is for: the step index in [0, steps), the DiT timestep t (schedule.timesteps[step]), the
// step's sigma and the next one, and whether this is the conditional (true) or unconditional (false) CFG pass.
struct StepInfo {
  int step;
  int steps;
  double t;
  double sigma;
  double sigma_next;
  bool cond;
};

// Flow prediction v(x, t) of the model for one CFG pass; must return x.size() values.
using VelocityFn = std::function<std::vector<float>(const std::vector<float>& x, const StepInfo& info)>;

enum class Solver { kEuler, kUniPC };
std::string_view solver_name(Solver s);             // "euler", "unipc"
Solver solver_from_name(std::string_view name);     // throws sixbit::Error naming the known solvers

// One solver's state across steps: feed it the guided velocity of each step in order. Separate from sample_cfg so
// the solver can be tested and compared on given velocities.
//   Euler:  x <- x + fp32(sigma_{i+1} - sigma_i) * v.
//   UniPC:  Wan's FlowUniPCMultistepScheduler.step with solver_order 2, solver_type bh2, predict_x0, flow
//           prediction (x0 = x - sigma * v), lower_order_final (the last step is order 1), no disabled corrector:
//           the UniC corrector fixes the previous step's result with this step's model output, so it runs at every
//           step but the first and the last result is never corrected.
// Scalar coefficients (lambda = log(1 - sigma) - log(sigma), h, expm1(-h), rho) are computed in fp64 from the fp32
// sigmas and rounded once to fp32; element-wise updates are fp32 in Wan's operation order.
class FlowStepper {
 public:
  FlowStepper(Solver solver, const FlowSchedule& schedule);
  // Advances x by step `step()` with guided velocity v; returns the new x (the next model input, or the result).
  std::vector<float> step(const std::vector<float>& x, const std::vector<float>& v);
  int step_index() const { return step_; }

 private:
  std::vector<float> unipc_step(const std::vector<float>& x, const std::vector<float>& v);
  Solver solver_;
  FlowSchedule schedule_;
  int step_ = 0;
  // UniPC state (Wan's model_outputs[-2..-1], last_sample, this_order).
  std::vector<float> m_prev_, m_prev2_, last_sample_;
  int last_order_ = 0;
};

// Sampling with classifier-free guidance: per step two separate velocity calls, the conditional pass FIRST, then
// the unconditional one (each with the same x and StepInfo but `cond`), combined in fp32 as
// v = v_u + g * (v_c - v_u) (wan/text2video.py: noise_pred_uncond + guide_scale * (cond - uncond)), then one solver
// step. The predictor and the Temporal Delta Cache rely on this call order and on StepInfo.
std::vector<float> sample_cfg(Solver solver, std::vector<float> x, const FlowSchedule& schedule, double guidance,
                              const VelocityFn& velocity);

// Initial noise: n standard normals from splitmix64 + Box-Muller, seed ^ FNV-1a-64("sampler.noise")
// (reference/model/weights.hpp gaussian_normals; experiments/wan_dit.py `normals` is the same generator).
std::vector<float> initial_noise(uint64_t seed, int64_t n);

}  // namespace sixbit::sampler
