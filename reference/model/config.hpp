// sixbit/reference/model/config.hpp: dimensions of a Wan2.1 text-to-video DiT, presets and JSON configs.
//
// Real dims from Wan-Video/Wan2.1 wan/configs/wan_t2v_1_3B.py and wan_t2v_14B.py (see the team notes ../shared/NOTES-dit.md).
#pragma once

#include <cstdint>
#include <string>

namespace sixbit::model {

struct DitConfig {
  std::string name = "custom";
  int dim = 64;          // hidden size
  int ffn_dim = 128;     // FFN inner size
  int num_heads = 2;     // attention heads; head_dim = dim / num_heads
  int num_layers = 2;    // transformer blocks
  int freq_dim = 256;    // sinusoidal time-embedding width (Wan: 256)
  int text_dim = 32;     // text-encoder width (Wan: 4096, umT5-XXL)
  int text_len = 8;      // context tokens (Wan: 512, zero padded)
  int in_dim = 4;        // latent channels in (Wan: 16)
  int out_dim = 4;       // latent channels out (Wan: 16)
  float eps = 1e-6f;     // LayerNorm / RMSNorm epsilon (Wan: 1e-6)
  int patch_t = 1, patch_h = 2, patch_w = 2;          // Conv3d kernel = stride (Wan: (1,2,2))
  int latent_frames = 3, latent_height = 8, latent_width = 8;  // latent video size this config runs at

  int head_dim() const { return dim / num_heads; }
  int grid_f() const { return latent_frames / patch_t; }
  int grid_h() const { return latent_height / patch_h; }
  int grid_w() const { return latent_width / patch_w; }
  int64_t tokens() const { return int64_t(grid_f()) * grid_h() * grid_w(); }
  int patch_volume() const { return patch_t * patch_h * patch_w; }

  // Throws sixbit::Error naming the offending field when the dims cannot describe a Wan DiT.
  void validate() const;
};

// "tiny", "small", "wan2.1-1.3b", "wan2.1-14b"; throws on an unknown name (listing the known ones).
DitConfig preset(const std::string& name);

// A JSON object: optional "preset" to start from, then any DitConfig field by name; unknown keys are errors.
DitConfig config_from_json_text(const std::string& text);
DitConfig config_from_json_file(const std::string& path);

}  // namespace sixbit::model
