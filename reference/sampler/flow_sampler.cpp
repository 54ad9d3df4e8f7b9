// sixbit/reference/sampler/flow_sampler.cpp: see flow_sampler.hpp and docs/dit.md ("Sampler").
#include "reference/sampler/flow_sampler.hpp"

#include <algorithm>
#include <cmath>

#include "common/check.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::sampler {

double shift_sigma(double sigma, double shift) { return shift * sigma / (1.0 + (shift - 1.0) * sigma); }

FlowSchedule flow_schedule(int steps, double shift, int num_train_timesteps) {
  SIXBIT_CHECK(steps >= 1 && steps <= 10000, "flow_schedule: steps must be in [1, 10000], got ", steps);
  SIXBIT_CHECK(std::isfinite(shift) && shift > 0.0, "flow_schedule: shift must be finite and > 0, got ", shift);
  SIXBIT_CHECK(num_train_timesteps >= 2 && num_train_timesteps <= 1000000,
               "flow_schedule: num_train_timesteps must be in [2, 10^6], got ", num_train_timesteps);
  const double n = num_train_timesteps;
  // FlowUniPCMultistepScheduler.__init__: alphas = linspace(1, 1/N, N)[::-1]; sigmas = 1 - alphas as float32;
  // sigma_max = sigmas[0].item(), sigma_min = sigmas[-1].item() = 0 (numpy sets linspace's endpoints exactly).
  const double sigma_max = double(float(1.0 - 1.0 / n)), sigma_min = 0.0;
  // set_timesteps: numpy.linspace(sigma_max, sigma_min, steps + 1)[:-1] computes i * step + start with
  // step = (stop - start) / (num - 1).
  const double step = (sigma_min - sigma_max) / double(steps);
  FlowSchedule s;
  for (int i = 0; i < steps; ++i) {
    const double shifted = shift_sigma(double(i) * step + sigma_max, shift);
    s.sigmas.push_back(double(float(shifted)));
    s.timesteps.push_back(std::trunc(shifted * n));  // .to(torch.int64) truncates toward zero
  }
  s.sigmas.push_back(0.0);
  return s;
}

std::string_view solver_name(Solver s) { return s == Solver::kUniPC ? "unipc" : "euler"; }

Solver solver_from_name(std::string_view name) {
  for (Solver s : {Solver::kEuler, Solver::kUniPC})
    if (name == solver_name(s)) return s;
  SIXBIT_CHECK(false, "unknown sampler solver '", name, "' (known: euler, unipc)");
  return Solver::kEuler;
}

namespace {

void check_schedule(const FlowSchedule& s) {
  SIXBIT_CHECK(!s.timesteps.empty() && s.sigmas.size() == s.timesteps.size() + 1,
               "sampler: malformed schedule (", s.sigmas.size(), " sigmas for ", s.timesteps.size(), " timesteps)");
  for (size_t i = 0; i + 1 < s.sigmas.size(); ++i)
    SIXBIT_CHECK(s.sigmas[i] > s.sigmas[i + 1] && s.sigmas[i] < 1.0 && std::isfinite(s.timesteps[i]),
                 "sampler: schedule sigmas must decrease strictly inside [0, 1) with finite timesteps; sigma[", i,
                 "] = ", s.sigmas[i], ", sigma[", i + 1, "] = ", s.sigmas[i + 1]);
  SIXBIT_CHECK(s.sigmas.back() >= 0.0, "sampler: the final sigma must be >= 0, got ", s.sigmas.back());
}

// UniPC's half-log-SNR for flow matching: alpha = 1 - sigma (Wan's _sigma_to_alpha_sigma_t); +inf at sigma = 0.
double lambda_of(double sigma) { return std::log(1.0 - sigma) - std::log(sigma); }

// The coefficients shared by UniP and UniC for a step from sigma_s0 to sigma_t (fp64, then fp32 where used on
// tensors). With sigma_t = 0: h = inf, expm1(-inf) = -1, so x_t_ = 0 * x + m0 = m0 (the x0 prediction).
struct BhCoefficients {
  double h, hh, h_phi_1, b_h;
  float c_x, c_m, c_b;  // x_t_ = c_x * x - c_m * m0; the correction term is multiplied by c_b
};

BhCoefficients bh_coefficients(double sigma_t, double sigma_s0) {
  BhCoefficients c;
  c.h = lambda_of(sigma_t) - lambda_of(sigma_s0);
  c.hh = -c.h;                      // predict_x0
  c.h_phi_1 = std::expm1(c.hh);     // h * phi_1(h) = e^h - 1
  c.b_h = std::expm1(c.hh);         // solver_type bh2
  const double alpha_t = 1.0 - sigma_t;
  c.c_x = float(sigma_t / sigma_s0);
  c.c_m = float(alpha_t * c.h_phi_1);
  c.c_b = float(alpha_t * c.b_h);
  return c;
}

// Wan's b vector for order 2 (the loop `for i in range(1, order + 1)`) and rhos_c = solve([[1, 1], [rk, 1]], b).
void rhos_order2(const BhCoefficients& c, double rk, double& rho0, double& rho1) {
  double h_phi_k = c.h_phi_1 / c.hh - 1.0;
  const double b1 = h_phi_k * 1.0 / c.b_h;
  h_phi_k = h_phi_k / c.hh - 1.0 / 2.0;
  const double b2 = h_phi_k * 2.0 / c.b_h;
  rho0 = (b1 - b2) / (1.0 - rk);
  rho1 = b1 - rho0;
}

}  // namespace

FlowStepper::FlowStepper(Solver solver, const FlowSchedule& schedule) : solver_(solver), schedule_(schedule) {
  check_schedule(schedule_);
}

std::vector<float> FlowStepper::step(const std::vector<float>& x, const std::vector<float>& v) {
  const int steps = int(schedule_.timesteps.size());
  SIXBIT_CHECK(step_ < steps, "sampler: all ", steps, " steps are done");
  SIXBIT_CHECK(v.size() == x.size(), "sampler: velocity has ", v.size(), " values for a latent of ", x.size());
  if (solver_ == Solver::kUniPC) return unipc_step(x, v);
  const float dt = float(schedule_.sigmas[size_t(step_) + 1] - schedule_.sigmas[size_t(step_)]);
  std::vector<float> out(x.size());
  for (size_t j = 0; j < x.size(); ++j) out[j] = x[j] + dt * v[j];
  ++step_;
  return out;
}

// FlowUniPCMultistepScheduler.step (wan/utils/fm_solvers_unipc.py), solver_order 2, for step i = step_.
std::vector<float> FlowStepper::unipc_step(const std::vector<float>& x, const std::vector<float>& v) {
  const int i = step_, steps = int(schedule_.timesteps.size());
  const std::vector<double>& sg = schedule_.sigmas;
  const size_t n = x.size();
  SIXBIT_CHECK(i == 0 || last_sample_.size() == n, "sampler: latent size changed between steps");

  // convert_model_output: x0_pred = sample - sigma_t * model_output.
  const float s_i = float(sg[size_t(i)]);
  std::vector<float> m(n);
  for (size_t j = 0; j < n; ++j) m[j] = x[j] - s_i * v[j];

  // UniC (multistep_uni_c_bh_update) corrects this step's sample with this step's x0 prediction, at order
  // `this_order` of the previous step; m0 = m_{i-1}, the model output list is not yet shifted.
  std::vector<float> sample = x;
  if (i > 0) {
    const BhCoefficients c = bh_coefficients(sg[size_t(i)], sg[size_t(i) - 1]);
    const std::vector<float>& m0 = m_prev_;
    if (last_order_ == 1) {
      for (size_t j = 0; j < n; ++j) {
        const float x_t_ = c.c_x * last_sample_[j] - c.c_m * m0[j];
        sample[j] = x_t_ - c.c_b * (0.5f * (m[j] - m0[j]));  // rhos_c = [0.5] for order 1
      }
    } else {
      const double rk = (lambda_of(sg[size_t(i) - 2]) - lambda_of(sg[size_t(i) - 1])) / c.h;
      double rho0, rho1;
      rhos_order2(c, rk, rho0, rho1);
      const float rkf = float(rk), r0 = float(rho0), r1 = float(rho1);
      for (size_t j = 0; j < n; ++j) {
        const float x_t_ = c.c_x * last_sample_[j] - c.c_m * m0[j];
        const float d1 = (m_prev2_[j] - m0[j]) / rkf;
        sample[j] = x_t_ - c.c_b * (r0 * d1 + r1 * (m[j] - m0[j]));
      }
    }
  }

  m_prev2_ = std::move(m_prev_);
  m_prev_ = std::move(m);
  // lower_order_final: min(solver_order, steps - i); warm-up: at most (steps done so far) + 1.
  const int order = std::min(std::min(2, steps - i), std::min(i, 2) + 1);
  last_order_ = order;
  last_sample_ = sample;

  // UniP (multistep_uni_p_bh_update) from sigma_i to sigma_{i+1}; m0 = m_i, m_{i-1} for order 2, rhos_p = [0.5].
  const BhCoefficients c = bh_coefficients(sg[size_t(i) + 1], sg[size_t(i)]);
  const std::vector<float>& m0 = m_prev_;
  std::vector<float> out(n);
  if (order == 1) {
    for (size_t j = 0; j < n; ++j) out[j] = c.c_x * sample[j] - c.c_m * m0[j];
  } else {
    const float rkf = float((lambda_of(sg[size_t(i) - 1]) - lambda_of(sg[size_t(i)])) / c.h);
    for (size_t j = 0; j < n; ++j) {
      const float x_t_ = c.c_x * sample[j] - c.c_m * m0[j];
      const float d1 = (m_prev2_[j] - m0[j]) / rkf;
      out[j] = x_t_ - c.c_b * (0.5f * d1);
    }
  }
  ++step_;
  return out;
}

std::vector<float> sample_cfg(Solver solver, std::vector<float> x, const FlowSchedule& schedule, double guidance,
                              const VelocityFn& velocity) {
  SIXBIT_CHECK(std::isfinite(guidance), "sample_cfg: guidance must be finite, got ", guidance);
  SIXBIT_CHECK(bool(velocity), "sample_cfg: no velocity function");
  FlowStepper stepper(solver, schedule);
  const float g = float(guidance);
  const int steps = int(schedule.timesteps.size());
  for (int i = 0; i < steps; ++i) {
    StepInfo info{i, steps, schedule.timesteps[size_t(i)], schedule.sigmas[size_t(i)], schedule.sigmas[size_t(i) + 1],
                  true};
    const std::vector<float> vc = velocity(x, info);
    info.cond = false;
    const std::vector<float> vu = velocity(x, info);
    SIXBIT_CHECK(vc.size() == x.size() && vu.size() == x.size(), "sample_cfg: velocity has ", vc.size(), "/",
                 vu.size(), " values (cond/uncond) for a latent of ", x.size(), " at step ", i);
    std::vector<float> v(x.size());
    for (size_t j = 0; j < x.size(); ++j) v[j] = vu[j] + g * (vc[j] - vu[j]);
    x = stepper.step(x, v);
  }
  return x;
}

std::vector<float> initial_noise(uint64_t seed, int64_t n) {
  SIXBIT_CHECK(n >= 0, "initial_noise: negative size");
  return model::gaussian_normals(seed ^ model::fnv1a64("sampler.noise"), n);
}

}  // namespace sixbit::sampler
