// sixbit/harness/predictor/predictor.hpp: the paper's lightweight precision predictor, s ~ a * d + c.
//
// Definitions (measured by the engine, harness/engine/engine.cpp, with DitOps::diff_norms in fp64):
//   d_b(t) = sum |out - in| / sum |in|          relative L1 of block b's output against its input at step t
//   s_b(t) = sum |out_q - out| / sum |out|      relative L1 error of the block output when its linears run W4A4
//                                               (out_q) against the same block in full precision (out), both from
//                                               the same input; relative to the full-precision block output
// Why these: a block's quantization error lands in the residual it adds (out - in); if the linears' relative
// error eps is roughly constant, |out_q - out| ~ eps |out - in|, so s ~ eps * d * |in| / |out| ~ eps * d: the
// paper's near-linear relation. Where eps varies (outliers, the noise level) the fit says so through r and R^2.
// At inference the block's output at the current step is unknown before it runs, so the prediction uses the d the
// block had the last time it ran in the same CFG pass (normally the previous step): adjacent steps move the
// stream little (the premise the Temporal Delta Cache also relies on). The first step of a pass has no history and
// uses d_first, the calibration's mean d of that block at step 0 (t near 1000 for any step count).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sixbit::harness {

// Ordinary least squares s = a d + c in fp64 (sums in index order), Pearson r and R^2 (= r^2 for a one-variable
// fit with intercept, computed as 1 - SS_res / SS_tot). n < 2 or a constant d gives a = 0, c = mean(s), r = 0.
struct LinearFit {
  double a = 0, c = 0, r = 0, r2 = 0;
  int64_t n = 0;
  double d_min = 0, d_max = 0, d_mean = 0, s_mean = 0;
  double slope_stderr = 0;  // standard error of a (sqrt(SS_res / (n - 2) / S_dd)); 0 when n < 3
};
LinearFit fit_linear(const std::vector<double>& d, const std::vector<double>& s);
nlohmann::json fit_to_json(const LinearFit& f);
LinearFit fit_from_json(const nlohmann::json& j);

struct Predictor {
  std::string model;            // the model it was calibrated on (name and source)
  std::string probe = "w4a4";   // the precision s was measured with
  std::string recipe = "te";    // NVFP4 recipe of the probe
  LinearFit global;             // all blocks together
  std::vector<LinearFit> blocks;  // per block
  std::vector<double> d_first;    // per block: mean d at step 0 (the first step has no previous d)
  nlohmann::json calibration;     // prompts, steps, seeds... as calibrate recorded them
  bool use_global = false;        // predict with the global fit instead of the block's own

  int num_blocks() const { return int(blocks.size()); }
  // max(0, a d + c) with the block's (or the global) fit: a sensitivity is never negative.
  double predict(int block, double d) const;
  // The predicted s range over the calibration's d range of the block: which blocks can switch (memory policy a).
  double predict_min(int block) const;
  double predict_max(int block) const;
};

nlohmann::json predictor_to_json(const Predictor& p);
// Checks kind/version, finite numbers, and that the block count equals `num_layers` (> 0); errors name the field.
Predictor predictor_from_json(const nlohmann::json& j, int num_layers);
Predictor load_predictor(const std::string& path, int num_layers);
void save_predictor(const Predictor& p, const std::string& path, bool overwrite);

}  // namespace sixbit::harness
