// Runs the C++ sampler (reference/sampler) on an analytic guided flow and dumps every model input and the result,
// for tests/oracle/sampler_diffusers.py to replay with diffusers' schedulers.
//
// The velocity of each CFG pass is the exact flow of Gaussian data, x0 ~ N(mu, s^2) per element (mu, s differ
// between the cond and uncond pass): v = (sigma - (1 - sigma) s^2) / S^2 (x - (1 - sigma) mu) - mu,
// S^2 = (1 - sigma)^2 s^2 + sigma^2, computed in fp64 from the fp32 x and rounded to fp32 (only + - * / sqrt, so
// numpy computes the same bits). The Python side documents the parameters by the same formulas.
//
// Output (little-endian): "SBSMPDMP", u32 cases; per case: u32 solver (0 euler, 1 unipc), u32 steps, f64 shift,
// f64 guidance, u32 n, f64 sigmas[steps + 1], f64 timesteps[steps], f32 x[steps + 1][n] (the model input of each
// step, then the result).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "reference/sampler/flow_sampler.hpp"

namespace ss = sixbit::sampler;

namespace {

constexpr int kN = 256;

// Per-element data parameters of pass `cond`: element j of n.
void gaussian_params(int j, bool cond, double& mu, double& s) {
  const double u = double(j) / double(kN - 1);
  mu = cond ? -2.0 + 4.0 * u : 1.0 - 2.0 * u;
  s = cond ? 0.5 + 1.5 * u : 1.5 - 0.75 * u;
}

std::vector<float> velocity(const std::vector<float>& x, const ss::StepInfo& info) {
  std::vector<float> v(x.size());
  const double sig = info.sigma;
  for (size_t j = 0; j < x.size(); ++j) {
    double mu, s;
    gaussian_params(int(j), info.cond, mu, s);
    const double S2 = (1.0 - sig) * (1.0 - sig) * s * s + sig * sig;
    v[j] = float((sig - (1.0 - sig) * s * s) / S2 * (double(x[j]) - (1.0 - sig) * mu) - mu);
  }
  return v;
}

template <typename T>
void put(std::FILE* f, T v) {
  std::fwrite(&v, sizeof(T), 1, f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sampler_dump OUT.bin\n");
    return 2;
  }
  std::FILE* f = std::fopen(argv[1], "wb");
  if (!f) {
    std::perror(argv[1]);
    return 1;
  }
  struct Case { ss::Solver solver; int steps; double shift, guidance; };
  std::vector<Case> cases;
  for (ss::Solver solver : {ss::Solver::kEuler, ss::Solver::kUniPC})
    for (int steps : {1, 2, 3, 6, 10, 25, 50})
      for (double shift : {1.0, 5.0, 16.0}) cases.push_back({solver, steps, shift, steps == 6 ? 1.0 : 5.0});
  std::fwrite("SBSMPDMP", 1, 8, f);
  put<uint32_t>(f, uint32_t(cases.size()));
  for (const Case& c : cases) {
    const ss::FlowSchedule sched = ss::flow_schedule(c.steps, c.shift);
    std::vector<std::vector<float>> xs;
    auto vel = [&](const std::vector<float>& x, const ss::StepInfo& info) {
      if (info.cond) xs.push_back(x);
      return velocity(x, info);
    };
    const std::vector<float> out = ss::sample_cfg(c.solver, ss::initial_noise(7, kN), sched, c.guidance, vel);
    xs.push_back(out);  // after the steps' model inputs
    put<uint32_t>(f, c.solver == ss::Solver::kUniPC ? 1u : 0u);
    put<uint32_t>(f, uint32_t(c.steps));
    put<double>(f, c.shift);
    put<double>(f, c.guidance);
    put<uint32_t>(f, uint32_t(kN));
    for (double s : sched.sigmas) put<double>(f, s);
    for (double t : sched.timesteps) put<double>(f, t);
    for (const auto& x : xs) std::fwrite(x.data(), 4, x.size(), f);
  }
  if (std::fclose(f) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  std::printf("sampler_dump: %zu cases -> %s\n", cases.size(), argv[1]);
  return 0;
}
