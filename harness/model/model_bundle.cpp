// sixbit/harness/model/model_bundle.cpp: see model_bundle.hpp.
#include "harness/model/model_bundle.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/check.hpp"
#include "reference/model/checkpoint.hpp"
#include "reference/model/trained_model.hpp"
#include "reference/world/world.hpp"

#ifndef SIXBIT_SOURCE_DIR
#define SIXBIT_SOURCE_DIR "."
#endif

namespace sixbit::harness {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> words_of(const std::string& prompt) {
  std::vector<std::string> words;
  std::istringstream in(prompt);
  for (std::string w; in >> w;) {
    for (char& ch : w) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    words.push_back(w);
  }
  return words;
}

// Built-in prompts for the synthetic models (any words work: the embedding is a hash).
// At most 8 words: tiny's text_len.
const std::vector<std::string> kSyntheticRunPrompts = {"a red circle moving left slowly"};
const std::vector<std::string> kSyntheticCalibrationPrompts = {"a blue square moving up quickly",
                                                               "a green triangle moving right slowly",
                                                               "a yellow circle moving down quickly",
                                                               "a cyan square moving left slowly"};

model::DitConfig config_from_spec(const std::string& spec) {
  if (ends_with(spec, ".json")) return model::config_from_json_file(spec);
  return model::preset(spec);
}

// The trained small model: the one function the model's owner finishes (checkpoint + prompt encoder + prompts).
ModelBundle load_trained(const std::string& path) {
  model::TrainedModel t = model::load_trained_model(path);
  ModelBundle m;
  m.name = t.config.name;
  m.source = path;
  m.trained = true;
  m.cfg = t.config;
  m.weights = std::move(t.weights);
  m.encoder.emplace(std::move(t.encoder));
  m.steps = t.sampler.steps;
  m.shift = t.sampler.shift;
  m.guidance = t.sampler.guidance;
  m.solver = t.sampler.solver;
  // A predictor calibrated for this checkpoint ships next to it (models/sixbit-small.predictor.json).
  const fs::path pred = fs::path(path).replace_extension(".predictor.json");
  if (fs::exists(pred)) m.predictor_path = pred.string();
  // Prompts of the world the model was trained on (docs/world.md): run on held-out prompts, calibrate on training
  // prompts, so the predictor is never fitted on the prompt it is judged on.
  for (const auto& a : world::eval_prompts()) m.default_prompts.push_back(world::prompt_text(a));
  m.default_prompts.resize(1);
  const auto train = world::train_prompts();
  for (size_t i = 0; i < train.size() && m.calibration_prompts.size() < 4; i += train.size() / 4)
    m.calibration_prompts.push_back(world::prompt_text(train[i]));
  return m;
}

ModelBundle synthetic(const model::DitConfig& cfg, const std::string& what, uint64_t seed) {
  ModelBundle m;
  m.name = cfg.name;
  m.cfg = cfg;
  m.weights = model::synthetic_weights(cfg, seed);
  m.source = what + ", synthetic weights (seed " + std::to_string(seed) + ")";
  m.default_prompts = kSyntheticRunPrompts;
  m.calibration_prompts = kSyntheticCalibrationPrompts;
  return m;
}

}  // namespace

std::string default_model_path() { return std::string(SIXBIT_SOURCE_DIR) + "/models/sixbit-small.safetensors"; }

ModelBundle load_model(const std::string& spec, const std::string& model_config, uint64_t seed) {
  if (spec.empty()) {
    // $SIXBIT_MODEL names the default model as --model would (a file, a preset, a config); a user who set it gets
    // exactly that or an error, never a silent fallback.
    if (const char* env = std::getenv("SIXBIT_MODEL"); env && *env) return load_model(env, model_config, seed);
    const std::string path = default_model_path();
    if (fs::exists(path)) return load_trained(path);
    ModelBundle m = synthetic(model::preset("tiny"), "preset tiny", seed);
    m.default_fallback = true;
    m.note = "the shipped small model (" + path + ") is not there: running the synthetic tiny preset instead "
             "(random weights: the video is noise-like, fidelity is reported in latent false colour)";
    return m;
  }
  if (ends_with(spec, ".safetensors")) {
    SIXBIT_CHECK(fs::exists(spec), spec, ": no such model file");
    if (!model_config.empty()) {
      const model::DitConfig cfg = config_from_spec(model_config);
      ModelBundle m;
      m.name = cfg.name;
      m.cfg = cfg;
      m.weights = model::load_checkpoint(cfg, spec);
      m.source = spec + " (config " + model_config + ")";
      m.trained = true;
      m.default_prompts = kSyntheticRunPrompts;
      m.calibration_prompts = kSyntheticCalibrationPrompts;
      return m;
    }
    const auto meta = model::checkpoint_metadata(spec);
    SIXBIT_CHECK(meta.count("sixbit.config"), spec, ": no \"sixbit.config\" metadata; for a plain Wan2.1 checkpoint "
                 "give its config with --model-config PRESET|CONFIG.json");
    return load_trained(spec);
  }
  SIXBIT_CHECK(model_config.empty(), "--model-config only applies to a .safetensors checkpoint");
  const model::DitConfig cfg = config_from_spec(spec);
  cfg.validate();
  return synthetic(cfg, ends_with(spec, ".json") ? "config " + spec : "preset " + spec, seed);
}

void check_prompt_text(const std::string& p) {
  SIXBIT_CHECK(p.size() <= 1000, "prompt is ", p.size(), " bytes long (at most 1000)");
  for (size_t i = 0; i < p.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(p[i]);
    SIXBIT_CHECK(ch >= 0x20 && ch < 0x7f, "prompt has a ", ch >= 0x80 ? "non-ASCII byte" : "control character",
                 " (0x", std::hex, int(ch), std::dec, ") at byte ", i, "; prompts are plain ASCII words");
  }
}

model::Mat synthetic_prompt_context(const model::DitConfig& cfg, const std::string& prompt) {
  check_prompt_text(prompt);
  std::vector<std::string> words = words_of(prompt);
  SIXBIT_CHECK(int(words.size()) <= cfg.text_len, "prompt has ", words.size(), " words, the model takes at most ",
               cfg.text_len);
  if (words.empty()) words.push_back(model::kEmptyToken);
  model::Mat ctx(int64_t(words.size()), cfg.text_dim);
  for (size_t i = 0; i < words.size(); ++i) {
    const auto row = model::gaussian_normals(model::fnv1a64("prompt:" + words[i]) ^ (0x9e3779b97f4a7c15ULL * (i + 1)),
                                             cfg.text_dim);
    std::copy(row.begin(), row.end(), ctx.row(int64_t(i)));
  }
  return ctx;
}

model::Mat ModelBundle::encode(const std::string& prompt) const {
  check_prompt_text(prompt);
  return encoder ? encoder->encode(prompt) : synthetic_prompt_context(cfg, prompt);
}

int64_t ModelBundle::encoder_params() const {
  if (!encoder) return 0;
  return int64_t(encoder->vocabulary().size() + size_t(encoder->text_len())) * encoder->text_dim();
}

std::vector<std::string> read_prompt_file(const std::string& path) {
  std::ifstream in(path);
  SIXBIT_CHECK(in.good(), path, ": cannot open prompt file");
  std::vector<std::string> prompts;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    try {
      check_prompt_text(line);
    } catch (const Error& e) {
      throw Error(path + ":" + std::to_string(line_no) + ": " + e.what());
    }
    prompts.push_back(line.substr(first));
  }
  SIXBIT_CHECK(!prompts.empty(), path, ": no prompts (one per line; '#' starts a comment)");
  return prompts;
}

}  // namespace sixbit::harness
