// sixbit/harness/model/model_bundle.hpp: what `--model` resolves to: config, weights, how prompts become context,
// sampler defaults and prompt sets, and where a shipped predictor lives.
//
//   (nothing)          $SIXBIT_MODEL if set (any spec below, exactly as --model); else the shipped small model
//                      models/sixbit-small.safetensors, or, if that file is missing, the synthetic `tiny` preset
//                      (and the bundle says so)
//   PRESET             tiny | small | wan2.1-1.3b | wan2.1-14b with seeded synthetic weights (--weight-seed)
//   CONFIG.json        a config (reference/model/config.hpp) with synthetic weights
//   FILE.safetensors   a self-describing sixbit checkpoint (config, vocabulary and sampler defaults in its
//                      metadata: reference/model/trained_model.hpp), or, with --model-config PRESET|CONFIG.json, a
//                      plain Wan2.1 checkpoint by Wan or diffusers names
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reference/model/config.hpp"
#include "reference/model/prompt_encoder.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::harness {

struct ModelBundle {
  std::string name;          // config name ("tiny", "small", ...)
  std::string source;        // what was loaded, for reports ("preset tiny, synthetic weights seed 1", a path)
  std::string note;          // a sentence the commands print (e.g. the fallback to tiny); empty if none
  bool trained = false;      // real trained weights (fidelity in pixels, condition adherence apply)
  bool default_fallback = false;  // no model was named and the shipped small model is missing
  model::DitConfig cfg;
  model::Weights weights;
  std::optional<model::PromptEncoder> encoder;  // the model's own text encoder; none: synthetic prompt embedding
  int steps = 10;            // sampler defaults: the checkpoint's, else these
  double shift = 3.0, guidance = 4.0;
  std::string solver = "euler";
  std::string predictor_path;                 // a predictor shipped next to the checkpoint ("" if none)
  std::vector<std::string> default_prompts;   // what `sixbit run` generates without --prompt
  std::vector<std::string> calibration_prompts;  // what `sixbit calibrate` uses without --prompts (disjoint)

  // The conditional context [n, text_dim] of a prompt; "" gives the unconditional one. Throws sixbit::Error with
  // the reason for a prompt the model cannot take (unknown word, too many words, control characters).
  model::Mat encode(const std::string& prompt) const;
  // RGB pixel video in [-1, 1] (the trained small model), rather than a latent the harness shows in false colour.
  bool rgb_video() const { return trained && cfg.out_dim == 3; }
  int64_t encoder_params() const;
};

// The shipped model's path: <source tree>/models/sixbit-small.safetensors.
std::string default_model_path();

// spec "" = the default (see above). model_config: "" or PRESET|CONFIG.json for a plain Wan checkpoint.
ModelBundle load_model(const std::string& spec, const std::string& model_config, uint64_t weight_seed);

// The synthetic prompt embedding of models without a text encoder: words (lower-cased, split on whitespace, at most
// text_len) -> row i = N(0,1) values from splitmix64 seeded by FNV-1a-64 of the word and its position, so different
// prompts give different, reproducible contexts; no words -> one row of the reserved "<empty>" token.
model::Mat synthetic_prompt_context(const model::DitConfig& cfg, const std::string& prompt);

// Refuses control characters, bytes >= 0x80 (the vocabularies are ASCII) and a prompt over 1000 bytes.
void check_prompt_text(const std::string& prompt);
// Prompts from a file: one per line, blank lines and lines starting with '#' ignored; at least one.
std::vector<std::string> read_prompt_file(const std::string& path);

}  // namespace sixbit::harness
