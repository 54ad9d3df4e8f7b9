// sixbit/reference/model/trained_model.hpp: a self-describing sixbit checkpoint (the shipped small model):
// Wan2.1 tensors + the prompt encoder's, with the config, vocabulary and sampler defaults in the safetensors
// metadata ("sixbit.config", "sixbit.vocab", "sixbit.sampler"; written by experiments/small_model.py).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reference/model/config.hpp"
#include "reference/model/ops.hpp"
#include "reference/model/prompt_encoder.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::model {

// "sixbit.sampler": the defaults a user gets without flags. Provisional until the lead tunes them.
struct SamplerDefaults {
  int steps = 20;
  double shift = 3.0;
  double guidance = 4.0;
  std::string solver = "euler";
};
// Parses {"steps": int, "shift": number, "guidance": number, "solver": string}; unknown keys, steps outside
// [1, 1000], non-positive or non-finite shift, non-finite guidance are errors naming the field.
SamplerDefaults sampler_defaults_from_json(const std::string& text);

struct TrainedModel {
  DitConfig config;
  Weights weights;
  PromptEncoder encoder;
  SamplerDefaults sampler;
};

// Everything from one file; errors name the file and what is missing or malformed. The prompt encoder's
// text_dim / text_len must equal the config's.
TrainedModel load_trained_model(const std::string& path);

// One text-to-video sample: initial noise for `seed` (sampler::initial_noise), the prompt and the empty prompt
// through the model's encoder, classifier-free guidance with `solver` ("euler" or "unipc") over the shifted flow
// schedule, every forward through `ops`. Returns the final latent [out_dim, F, H, W].
struct SampleOptions {
  int steps = 20;
  double shift = 3.0;
  double guidance = 4.0;
  std::string solver = "euler";
  static SampleOptions from(const SamplerDefaults& d) { return {d.steps, d.shift, d.guidance, d.solver}; }
};
std::vector<float> sample_video(const TrainedModel& m, const std::string& prompt, uint64_t seed, const SampleOptions& o,
                                DitOps& ops);
// The same from a config, weights and the two contexts (cond = the prompt's, uncond = the empty prompt's).
std::vector<float> sample_video(const DitConfig& c, const Weights& w, const Mat& cond, const Mat& uncond, uint64_t seed,
                                const SampleOptions& o, DitOps& ops);

}  // namespace sixbit::model
