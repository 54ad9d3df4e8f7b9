// sixbit/harness/predictor/calibration.hpp: `sixbit calibrate`'s measurement and fit. Over prompts and every step
// of a full-precision sampling run (both CFG passes), each block runs in full precision, then once more from the
// same input through a probe (W4A4 linears by default); d and s (predictor.hpp) are recorded per block and step,
// and s ~ a d + c is fitted globally and per block.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/engine/engine.hpp"
#include "harness/predictor/predictor.hpp"

namespace sixbit::harness {

struct CalibrationSample {
  int prompt = 0, step = 0, block = 0;
  bool cond = true;
  double t = 0, d = 0, s = 0;
};

struct CalibrationOptions {
  int steps = 10;
  double shift = 3.0, guidance = 4.0;
  sampler::Solver solver = sampler::Solver::kEuler;
  uint64_t seed = 1;       // noise seed of prompt i is seed + i
  BlockProbe probe;        // empty: w4a4_probe(ops)
  std::string model_name;  // recorded in the predictor
  std::string recipe = "te";
};

struct CalibrationResult {
  Predictor predictor;
  std::vector<CalibrationSample> samples;  // in run order: prompt, step, pass (cond first), block
};

// contexts[i] is prompt i's conditional context; `uncond` the unconditional one. `observe` after each pass.
CalibrationResult calibrate(const model::DitConfig& cfg, const model::Weights& w, model::DitOps& ops,
                            const std::vector<model::Mat>& contexts, const model::Mat& uncond,
                            const CalibrationOptions& options, const PassObserver& observe = {});

// The samples as JSON columns {"prompt": [...], "step": [...], "cond": [...], "block": [...], "t": [...], "d": [...],
// "s": [...]}: what the Python check (tests/cli/calibration_fit_check.py) refits with numpy.
nlohmann::json samples_to_json(const std::vector<CalibrationSample>& samples);

}  // namespace sixbit::harness
