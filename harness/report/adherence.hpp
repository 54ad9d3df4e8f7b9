// sixbit/harness/report/adherence.hpp: condition adherence of a generated video, for the trained small model whose
// prompts describe the procedural world (docs/world.md): the world detectors (metrics/world_detectors.hpp) read
// color, shape, direction, speed and background back from the pixels and each is scored against the prompt, for
// the run and for the full-precision video of the same seed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/model/model_bundle.hpp"
#include "metrics/video.hpp"

namespace sixbit::harness {

// {"status": "measured", "prompt_attributes": ..., "run": {...}, "full_precision": {...}} or
// {"status": "not applicable", "reason": ...} (synthetic model, a prompt outside the world's grammar, a context file).
nlohmann::json condition_adherence(const ModelBundle& m, const std::string& prompt, const metrics::Video& run,
                                   const metrics::Video& full);

}  // namespace sixbit::harness
