// sixbit/reference/model/trained_model.cpp: see trained_model.hpp.
#include "reference/model/trained_model.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/check.hpp"
#include "reference/io/tensor_file.hpp"
#include "reference/model/checkpoint.hpp"
#include "reference/model/dit.hpp"
#include "reference/sampler/flow_sampler.hpp"

namespace sixbit::model {

SamplerDefaults sampler_defaults_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    SIXBIT_CHECK(false, "sampler defaults: invalid JSON: ", e.what());
  }
  SIXBIT_CHECK(j.is_object(), "sampler defaults: must be a JSON object");
  SamplerDefaults s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "steps") {
      SIXBIT_CHECK(it->is_number_integer(), "sampler defaults: steps must be an integer");
      const int64_t v = it->get<int64_t>();
      SIXBIT_CHECK(v >= 1 && v <= 1000, "sampler defaults: steps must be in [1, 1000], got ", v);
      s.steps = int(v);
    } else if (k == "shift" || k == "guidance") {
      SIXBIT_CHECK(it->is_number(), "sampler defaults: ", k, " must be a number");
      const double v = it->get<double>();
      SIXBIT_CHECK(std::isfinite(v), "sampler defaults: ", k, " must be finite");
      if (k == "shift") {
        SIXBIT_CHECK(v > 0.0, "sampler defaults: shift must be > 0, got ", v);
        s.shift = v;
      } else {
        s.guidance = v;
      }
    } else if (k == "solver") {
      SIXBIT_CHECK(it->is_string(), "sampler defaults: solver must be a string");
      s.solver = it->get<std::string>();
    } else {
      SIXBIT_CHECK(false, "sampler defaults: unknown field '", k, "'");
    }
  }
  return s;
}

namespace {
Tensor read_f32(const io::SafetensorsFile& f, const std::string& name) {
  SIXBIT_CHECK(f.contains(name), f.path(), ": missing tensor '", name, "' (not a sixbit trained model?)");
  const io::TensorView& v = f.get(name);
  SIXBIT_CHECK(io::dtype_is_float(v.dtype), f.path(), ": tensor '", name, "' has dtype ", io::dtype_name(v.dtype),
               ", expected a float type");
  return Tensor{v.shape, io::to_f32(v)};
}

std::vector<std::string> parse_vocab(const std::string& path, const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    SIXBIT_CHECK(false, path, ": metadata \"sixbit.vocab\" is not valid JSON: ", e.what());
  }
  SIXBIT_CHECK(j.is_array(), path, ": metadata \"sixbit.vocab\" must be a JSON list of words");
  std::vector<std::string> vocab;
  for (const auto& w : j) {
    SIXBIT_CHECK(w.is_string(), path, ": metadata \"sixbit.vocab\" holds a non-string entry");
    vocab.push_back(w.get<std::string>());
  }
  return vocab;
}
}  // namespace

TrainedModel load_trained_model(const std::string& path) {
  const DitConfig cfg = checkpoint_config(path);
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  const auto& meta = f.metadata();
  const auto vocab = meta.find("sixbit.vocab");
  SIXBIT_CHECK(vocab != meta.end(), path, ": no \"sixbit.vocab\" metadata");
  const auto sampler = meta.find("sixbit.sampler");
  SIXBIT_CHECK(sampler != meta.end(), path, ": no \"sixbit.sampler\" metadata");
  SamplerDefaults defaults;
  try {
    defaults = sampler_defaults_from_json(sampler->second);
  } catch (const Error& e) {
    SIXBIT_CHECK(false, path, ": metadata \"sixbit.sampler\": ", e.what());
  }
  PromptEncoder enc(parse_vocab(path, vocab->second), read_f32(f, kTokenEmbeddingName),
                    read_f32(f, kPositionEmbeddingName));
  SIXBIT_CHECK(enc.text_dim() == cfg.text_dim && enc.text_len() == cfg.text_len, path, ": prompt encoder gives [",
               enc.text_len(), ", ", enc.text_dim(), "] context, the config takes [", cfg.text_len, ", ", cfg.text_dim,
               "]");
  return TrainedModel{cfg, load_checkpoint(cfg, path), std::move(enc), defaults};
}

std::vector<float> sample_video(const DitConfig& c, const Weights& w, const Mat& cond, const Mat& uncond, uint64_t seed,
                                const SampleOptions& o, DitOps& ops) {
  SIXBIT_CHECK(c.in_dim == c.out_dim, "sample_video: the model's output (", c.out_dim, " channels) must be its input (",
               c.in_dim, ")");
  const auto solver = sampler::solver_from_name(o.solver);
  const auto schedule = sampler::flow_schedule(o.steps, o.shift);
  std::vector<float> x = sampler::initial_noise(seed, int64_t(c.in_dim) * c.latent_frames * c.latent_height * c.latent_width);
  return sampler::sample_cfg(solver, std::move(x), schedule, o.guidance,
                             [&](const std::vector<float>& xt, const sampler::StepInfo& s) {
                               return dit_forward(c, w, xt, s.t, s.cond ? cond : uncond, ops);
                             });
}

std::vector<float> sample_video(const TrainedModel& m, const std::string& prompt, uint64_t seed, const SampleOptions& o,
                                DitOps& ops) {
  return sample_video(m.config, m.weights, m.encoder.encode(prompt), m.encoder.encode(""), seed, o, ops);
}

}  // namespace sixbit::model
