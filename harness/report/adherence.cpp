// sixbit/harness/report/adherence.cpp: see adherence.hpp.
#include "harness/report/adherence.hpp"

#include "metrics/world_detectors.hpp"
#include "reference/world/world.hpp"

namespace sixbit::harness {

namespace {
nlohmann::json scored(const metrics::Video& v, const world::Attributes& want) {
  const metrics::WorldDetection d = metrics::detect_world_object(v);
  const metrics::AdherenceScore s = metrics::score_adherence(d, want);
  const int hits = int(s.color) + int(s.shape) + int(s.direction) + int(s.speed) + int(s.background);
  return {{"detected", d.describe()}, {"object_found", d.found}, {"color", s.color}, {"shape", s.shape},
          {"direction", s.direction}, {"speed", s.speed}, {"background", s.background}, {"all", s.all()},
          {"fraction", double(hits) / 5.0}};
}
}  // namespace

nlohmann::json condition_adherence(const ModelBundle& m, const std::string& prompt, const metrics::Video& run,
                                   const metrics::Video& full) {
  if (!m.rgb_video())
    return {{"status", "not applicable"},
            {"reason", m.trained ? "the model's output is not an RGB video of the procedural world"
                                 : "synthetic weights: prompts have no visual meaning"}};
  world::Attributes want;
  try {
    want = world::parse_prompt(prompt);
  } catch (const std::exception& e) {
    return {{"status", "not applicable"}, {"reason", std::string("the prompt is outside the world's grammar: ") + e.what()}};
  }
  return {{"status", "measured"},
          {"method", "metrics/world_detectors.hpp: attributes read back from the pixels, each scored against the prompt"},
          {"prompt_attributes", world::prompt_text(want)},
          {"run", scored(run, want)},
          {"full_precision", scored(full, want)}};
}

}  // namespace sixbit::harness
