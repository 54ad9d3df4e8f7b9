// sixbit/reference/model/trained_model.hpp: a self-describing sixbit checkpoint (the shipped small model):
// Wan2.1 tensors + the prompt encoder's, with the config, vocabulary and sampler defaults in the safetensors
// metadata ("sixbit.config", "sixbit.vocab", "sixbit.sampler"; written by experiments/small_model.py).
#pragma once

#include <string>

#include "reference/model/config.hpp"
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

}  // namespace sixbit::model
