// sixbit/harness/predictor/calibration.cpp: see calibration.hpp.
#include "harness/predictor/calibration.hpp"

#include <cmath>

#include "common/check.hpp"

namespace sixbit::harness {

CalibrationResult calibrate(const model::DitConfig& cfg, const model::Weights& w, model::DitOps& ops,
                            const std::vector<model::Mat>& contexts, const model::Mat& uncond,
                            const CalibrationOptions& o, const PassObserver& observe) {
  SIXBIT_CHECK(!contexts.empty(), "calibration needs at least one prompt");
  EngineOptions eo;
  eo.policy = Policy::kFull;
  eo.probe = o.probe ? o.probe : w4a4_probe(ops);
  Engine engine(cfg, w, ops, eo);
  for (size_t i = 0; i < contexts.size(); ++i)
    sample_video(engine, cfg, o.solver, o.steps, o.shift, o.guidance, o.seed + i, contexts[i], uncond, observe);

  CalibrationResult r;
  const int n = cfg.num_layers;
  const auto& recs = engine.records();
  const size_t per_prompt = size_t(2 * o.steps);
  SIXBIT_CHECK(recs.size() == per_prompt * contexts.size(), "calibration: expected ", per_prompt * contexts.size(),
               " forwards, the engine recorded ", recs.size());
  std::vector<double> all_d, all_s;
  std::vector<std::vector<double>> bd(static_cast<size_t>(n)), bs(static_cast<size_t>(n));
  std::vector<double> first_sum(size_t(n), 0.0);
  std::vector<int> first_count(size_t(n), 0);
  for (size_t f = 0; f < recs.size(); ++f) {
    const ForwardRecord& rec = recs[f];
    for (int b = 0; b < n; ++b) {
      const BlockStep& st = rec.blocks[size_t(b)];
      SIXBIT_CHECK(std::isfinite(st.d) && std::isfinite(st.s), "calibration: block ", b, " at step ", rec.step,
                   " has a non-finite d (", st.d, ") or s (", st.s, ")");
      r.samples.push_back({int(f / per_prompt), rec.step, b, rec.cond, rec.t, st.d, st.s});
      all_d.push_back(st.d);
      all_s.push_back(st.s);
      bd[size_t(b)].push_back(st.d);
      bs[size_t(b)].push_back(st.s);
      if (rec.step == 0) {
        first_sum[size_t(b)] += st.d;
        ++first_count[size_t(b)];
      }
    }
  }
  Predictor& p = r.predictor;
  p.model = o.model_name;
  p.recipe = o.recipe;
  p.global = fit_linear(all_d, all_s);
  for (int b = 0; b < n; ++b) {
    p.blocks.push_back(fit_linear(bd[size_t(b)], bs[size_t(b)]));
    p.d_first.push_back(first_sum[size_t(b)] / double(first_count[size_t(b)]));
  }
  p.calibration = {{"prompts", int(contexts.size())}, {"steps", o.steps},       {"shift", o.shift},
                   {"guidance", o.guidance},          {"seed", o.seed},         {"solver", std::string(sampler::solver_name(o.solver))},
                   {"samples", int64_t(r.samples.size())}};
  return r;
}

nlohmann::json samples_to_json(const std::vector<CalibrationSample>& samples) {
  nlohmann::json j = {{"prompt", nlohmann::json::array()}, {"step", nlohmann::json::array()},
                      {"cond", nlohmann::json::array()},   {"block", nlohmann::json::array()},
                      {"t", nlohmann::json::array()},      {"d", nlohmann::json::array()},
                      {"s", nlohmann::json::array()}};
  for (const auto& s : samples) {
    j["prompt"].push_back(s.prompt);
    j["step"].push_back(s.step);
    j["cond"].push_back(s.cond);
    j["block"].push_back(s.block);
    j["t"].push_back(s.t);
    j["d"].push_back(s.d);
    j["s"].push_back(s.s);
  }
  return j;
}

}  // namespace sixbit::harness
