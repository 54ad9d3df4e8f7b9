// A self-describing sixbit checkpoint for tests: the world's video shape and vocabulary, synthetic weights, a
// seeded prompt encoder and sampler metadata, written the way experiments/small_model.py writes the real one.
// Small dims (dim 32, 2x8x8 patches: 128 tokens) so a forward takes milliseconds.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "reference/io/tensor_file.hpp"
#include "reference/model/config.hpp"
#include "reference/model/prompt_encoder.hpp"
#include "reference/model/weights.hpp"
#include "reference/world/world.hpp"

namespace sixbit::testing {

inline model::DitConfig world_test_config() {
  return model::config_from_json_text(R"({"preset": "small", "name": "world-test", "dim": 32, "ffn_dim": 64,
      "num_heads": 2, "num_layers": 2, "text_dim": 16, "patch_t": 2, "patch_h": 8, "patch_w": 8})");
}

inline std::string config_json(const model::DitConfig& c) {
  return nlohmann::json{{"name", c.name}, {"dim", c.dim}, {"ffn_dim", c.ffn_dim}, {"num_heads", c.num_heads},
                        {"num_layers", c.num_layers}, {"freq_dim", c.freq_dim}, {"text_dim", c.text_dim},
                        {"text_len", c.text_len}, {"in_dim", c.in_dim}, {"out_dim", c.out_dim}, {"eps", c.eps},
                        {"patch_t", c.patch_t}, {"patch_h", c.patch_h}, {"patch_w", c.patch_w},
                        {"latent_frames", c.latent_frames}, {"latent_height", c.latent_height},
                        {"latent_width", c.latent_width}}
      .dump();
}

// `meta_override`: metadata entries replaced (or, with an empty value, removed) to make broken files.
inline void write_world_test_model(const std::string& path, uint64_t seed = 5,
                                   const std::map<std::string, std::string>& meta_override = {},
                                   int64_t vocab_rows_delta = 0) {
  const model::DitConfig c = world_test_config();
  std::vector<io::OwnedTensor> t;
  for (const auto& [name, w] : model::synthetic_weights(c, seed)) t.push_back(io::make_f32_tensor(name, w.shape, w.data.data()));
  const auto vocab = world::vocabulary();
  const int64_t rows = int64_t(vocab.size()) + vocab_rows_delta;
  const std::vector<float> tok = model::gaussian_normals(seed ^ 0x746f6b, rows * c.text_dim);
  const std::vector<float> pos = model::gaussian_normals(seed ^ 0x706f73, int64_t(c.text_len) * c.text_dim);
  t.push_back(io::make_f32_tensor(model::kTokenEmbeddingName, {rows, c.text_dim}, tok.data()));
  t.push_back(io::make_f32_tensor(model::kPositionEmbeddingName, {c.text_len, c.text_dim}, pos.data()));
  std::map<std::string, std::string> meta = {{"format", "pt"},
                                             {"sixbit.config", config_json(c)},
                                             {"sixbit.vocab", nlohmann::json(vocab).dump()},
                                             {"sixbit.sampler", R"({"steps": 2, "shift": 3.0, "guidance": 4.0, "solver": "euler"})"}};
  for (const auto& [k, v] : meta_override) {
    if (v.empty())
      meta.erase(k);
    else
      meta[k] = v;
  }
  io::write_safetensors(path, t, meta, true);
}

}  // namespace sixbit::testing
