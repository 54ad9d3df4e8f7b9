// sixbit/reference/model/config.cpp: presets and validated JSON configs for the Wan2.1 DiT.
#include "reference/model/config.hpp"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/check.hpp"

namespace sixbit::model {

void DitConfig::validate() const {
  auto pos = [](int v, const char* field) { SIXBIT_CHECK(v > 0, "dit config: ", field, " must be > 0, got ", v); };
  pos(dim, "dim"); pos(ffn_dim, "ffn_dim"); pos(num_heads, "num_heads"); pos(num_layers, "num_layers");
  pos(freq_dim, "freq_dim"); pos(text_dim, "text_dim"); pos(text_len, "text_len"); pos(in_dim, "in_dim");
  pos(out_dim, "out_dim"); pos(patch_t, "patch_t"); pos(patch_h, "patch_h"); pos(patch_w, "patch_w");
  pos(latent_frames, "latent_frames"); pos(latent_height, "latent_height"); pos(latent_width, "latent_width");
  SIXBIT_CHECK(eps > 0.0f, "dit config: eps must be > 0, got ", eps);
  SIXBIT_CHECK(freq_dim % 2 == 0, "dit config: freq_dim must be even (cos and sin halves), got ", freq_dim);
  SIXBIT_CHECK(dim % num_heads == 0, "dit config: num_heads (", num_heads, ") must divide dim (", dim, ")");
  const int d = head_dim();
  SIXBIT_CHECK(d % 2 == 0, "dit config: head_dim = dim/num_heads must be even for RoPE pairs, got ", d);
  // Wan splits head_dim into t/h/w RoPE parts of d-4*(d/6), 2*(d/6), 2*(d/6) real dims
  // (Wan-Video/Wan2.1 wan/modules/model.py, WanModel.__init__): d/6 must be at least 1.
  SIXBIT_CHECK(d >= 6, "dit config: head_dim must be >= 6 so each of the t/h/w RoPE parts gets a pair, got ", d);
  SIXBIT_CHECK(latent_frames % patch_t == 0, "dit config: latent_frames (", latent_frames,
               ") must be divisible by patch_t (", patch_t, ")");
  SIXBIT_CHECK(latent_height % patch_h == 0, "dit config: latent_height (", latent_height,
               ") must be divisible by patch_h (", patch_h, ")");
  SIXBIT_CHECK(latent_width % patch_w == 0, "dit config: latent_width (", latent_width,
               ") must be divisible by patch_w (", patch_w, ")");
  // Wan's RoPE tables hold 1024 positions per axis (rope_params(1024, ...) in model.py).
  SIXBIT_CHECK(grid_f() <= 1024 && grid_h() <= 1024 && grid_w() <= 1024,
               "dit config: latent grid (", grid_f(), "x", grid_h(), "x", grid_w(), ") exceeds Wan's 1024 RoPE positions");
}

DitConfig preset(const std::string& name) {
  DitConfig c;
  c.name = name;
  if (name == "tiny") return c;  // the defaults above: head_dim 32 -> RoPE pairs 6/5/5
  if (name == "small") {
    // The shipped pixel-space model (docs/model-card.md): 16 frames of 32x32 RGB in [-1, 1], patches of 4x4 pixels
    // -> 16 x 8 x 8 = 1024 tokens; about 6 GFLOP per forward, so a sampling run fits a 2-core CPU in seconds.
    c.dim = 128; c.ffn_dim = 512; c.num_heads = 4; c.num_layers = 8; c.text_dim = 64; c.text_len = 16;
    c.in_dim = c.out_dim = 3; c.patch_t = 1; c.patch_h = 4; c.patch_w = 4;
    c.latent_frames = 16; c.latent_height = 32; c.latent_width = 32;
    return c;
  }
  if (name == "wan2.1-1.3b" || name == "wan2.1-14b") {
    const bool big = name == "wan2.1-14b";
    c.dim = big ? 5120 : 1536; c.ffn_dim = big ? 13824 : 8960; c.num_heads = big ? 40 : 12;
    c.num_layers = big ? 40 : 30; c.text_dim = 4096; c.text_len = 512; c.in_dim = c.out_dim = 16;
    // 480p, 81 frames: latent [16, 21, 60, 104] (VAE stride (4,8,8)).
    c.latent_frames = 21; c.latent_height = 60; c.latent_width = 104;
    return c;
  }
  SIXBIT_CHECK(false, "unknown dit preset '", name, "' (known: tiny, small, wan2.1-1.3b, wan2.1-14b)");
  return c;
}

DitConfig config_from_json_text(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    SIXBIT_CHECK(false, "dit config: invalid JSON: ", e.what());
  }
  SIXBIT_CHECK(j.is_object(), "dit config: top level must be a JSON object");
  DitConfig c;
  if (j.contains("preset")) {
    SIXBIT_CHECK(j["preset"].is_string(), "dit config: preset must be a string");
    c = preset(j["preset"].get<std::string>());
  }
  std::map<std::string, int*> ints = {
      {"dim", &c.dim}, {"ffn_dim", &c.ffn_dim}, {"num_heads", &c.num_heads}, {"num_layers", &c.num_layers},
      {"freq_dim", &c.freq_dim}, {"text_dim", &c.text_dim}, {"text_len", &c.text_len}, {"in_dim", &c.in_dim},
      {"out_dim", &c.out_dim}, {"patch_t", &c.patch_t}, {"patch_h", &c.patch_h}, {"patch_w", &c.patch_w},
      {"latent_frames", &c.latent_frames}, {"latent_height", &c.latent_height}, {"latent_width", &c.latent_width}};
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "preset") continue;
    if (key == "name") {
      SIXBIT_CHECK(it->is_string(), "dit config: name must be a string");
      c.name = it->get<std::string>();
    } else if (key == "eps") {
      SIXBIT_CHECK(it->is_number(), "dit config: eps must be a number");
      c.eps = it->get<float>();
    } else {
      auto f = ints.find(key);
      SIXBIT_CHECK(f != ints.end(), "dit config: unknown field '", key, "'");
      SIXBIT_CHECK(it->is_number_integer(), "dit config: field '", key, "' must be an integer");
      const int64_t v = it->get<int64_t>();
      SIXBIT_CHECK(v >= -(int64_t(1) << 30) && v <= (int64_t(1) << 30), "dit config: field '", key, "' out of range");
      *f->second = int(v);
    }
  }
  c.validate();
  return c;
}

DitConfig config_from_json_file(const std::string& path) {
  std::ifstream in(path);
  SIXBIT_CHECK(in.good(), "dit config: cannot open '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return config_from_json_text(ss.str());
}

}  // namespace sixbit::model
