// DiT presets and JSON config validation: every bad config is refused with a message naming the field.
#include <gtest/gtest.h>

#include <string>

#include "common/check.hpp"
#include "reference/model/config.hpp"
#include "reference/model/weights.hpp"

namespace sm = sixbit::model;

namespace {
// The sixbit::Error message of config_from_json_text, or "" if it did not throw.
std::string error_of(const std::string& json) {
  try {
    sm::config_from_json_text(json);
  } catch (const sixbit::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(DitConfig, PresetsHaveWanDims) {
  for (const char* n : {"tiny", "small", "wan2.1-1.3b", "wan2.1-14b"}) EXPECT_NO_THROW(sm::preset(n).validate()) << n;
  const sm::DitConfig a = sm::preset("wan2.1-1.3b"), b = sm::preset("wan2.1-14b");
  EXPECT_EQ(a.dim, 1536); EXPECT_EQ(a.ffn_dim, 8960); EXPECT_EQ(a.num_heads, 12); EXPECT_EQ(a.num_layers, 30);
  EXPECT_EQ(b.dim, 5120); EXPECT_EQ(b.ffn_dim, 13824); EXPECT_EQ(b.num_heads, 40); EXPECT_EQ(b.num_layers, 40);
  EXPECT_EQ(a.head_dim(), 128); EXPECT_EQ(b.head_dim(), 128);
  EXPECT_EQ(a.tokens(), 32760);  // 21 x 30 x 52, the 480p 81-frame figure in NOTES-dit.md
  EXPECT_EQ(sm::preset("tiny").head_dim(), 32);
}

// The shipped pixel-space model (docs/model-card.md): 16 frames of 32x32 RGB, 4x4 patches -> 1024 tokens.
TEST(DitConfig, SmallPresetIsThePixelSpaceModel) {
  const sm::DitConfig s = sm::preset("small");
  EXPECT_EQ(s.dim, 128); EXPECT_EQ(s.ffn_dim, 512); EXPECT_EQ(s.num_heads, 4); EXPECT_EQ(s.num_layers, 8);
  EXPECT_EQ(s.head_dim(), 32); EXPECT_EQ(s.freq_dim, 256); EXPECT_EQ(s.text_dim, 64); EXPECT_EQ(s.text_len, 16);
  EXPECT_EQ(s.in_dim, 3); EXPECT_EQ(s.out_dim, 3);
  EXPECT_EQ(s.patch_t, 1); EXPECT_EQ(s.patch_h, 4); EXPECT_EQ(s.patch_w, 4);
  EXPECT_EQ(s.latent_frames, 16); EXPECT_EQ(s.latent_height, 32); EXPECT_EQ(s.latent_width, 32);
  EXPECT_EQ(s.grid_f(), 16); EXPECT_EQ(s.grid_h(), 8); EXPECT_EQ(s.grid_w(), 8);
  EXPECT_EQ(s.tokens(), 1024);
  // Parameters: per block 4 (128^2 + 128) x 2 attentions + 2 x 4 x 128 norms + 2 x 128 norm3 + 128 x 512 + 512 +
  // 512 x 128 + 128 + 768 modulation = 265,344; embeddings, time MLP and head 186,032: 2,308,784 in all.
  double n = 0, block0 = 0;
  for (const auto& [name, shape] : sm::weight_shapes(s)) {
    double k = 1;
    for (auto d : shape) k *= double(d);
    n += k;
    if (name.rfind("blocks.0.", 0) == 0) block0 += k;
  }
  EXPECT_EQ(block0, 2 * 4 * (128.0 * 128 + 128) + 2 * 2 * 128 + 2 * 128 + 128.0 * 512 + 512 + 512.0 * 128 + 128 + 768);
  const double rest = (128.0 * 48 + 128) + (64.0 * 128 + 128) + (128.0 * 128 + 128) + (256.0 * 128 + 128) +
                      (128.0 * 128 + 128) + (768.0 * 128 + 768) + (48.0 * 128 + 48) + 256;
  EXPECT_EQ(n, 8 * block0 + rest);
}

// Parameter counts from NOTES-dit.md: ~1.42B (46.4M per block) and ~14.3B (351M per block).
TEST(DitConfig, ParameterCountsMatchPublishedSizes) {
  auto count = [](const sm::DitConfig& c, bool block0_only) {
    double n = 0;
    for (const auto& [name, shape] : sm::weight_shapes(c)) {
      if (block0_only && name.rfind("blocks.0.", 0) != 0) continue;
      double k = 1;
      for (auto d : shape) k *= double(d);
      n += k;
    }
    return n;
  };
  EXPECT_NEAR(count(sm::preset("wan2.1-1.3b"), true) / 1e6, 46.4, 0.1);
  EXPECT_NEAR(count(sm::preset("wan2.1-14b"), true) / 1e6, 351.0, 1.0);
  EXPECT_NEAR(count(sm::preset("wan2.1-1.3b"), false) / 1e9, 1.42, 0.01);
  EXPECT_NEAR(count(sm::preset("wan2.1-14b"), false) / 1e9, 14.3, 0.1);
}

TEST(DitConfig, JsonStartsFromPresetAndOverrides) {
  const sm::DitConfig c = sm::config_from_json_text(R"({"preset": "tiny", "num_layers": 5, "eps": 1e-5})");
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.dim, 64);
  EXPECT_FLOAT_EQ(c.eps, 1e-5f);
}

TEST(DitConfig, BadConfigsNameTheField) {
  struct Case { const char* json; const char* expect; };
  const Case cases[] = {
      {R"({"dim": 64, "num_heads": 3})", "num_heads (3) must divide dim (64)"},
      {R"({"dim": 66, "num_heads": 2})", "head_dim = dim/num_heads must be even"},
      {R"({"dim": 8, "num_heads": 2})", "head_dim must be >= 6"},
      {R"({"latent_height": 7})", "latent_height (7) must be divisible by patch_h (2)"},
      {R"({"latent_width": 9})", "latent_width (9) must be divisible by patch_w (2)"},
      {R"({"latent_frames": 5, "patch_t": 2})", "latent_frames (5) must be divisible by patch_t (2)"},
      {R"({"ffn_dim": 0})", "ffn_dim must be > 0"},
      {R"({"text_len": -3})", "text_len must be > 0"},
      {R"({"freq_dim": 255})", "freq_dim must be even"},
      {R"({"eps": 0})", "eps must be > 0"},
      {R"({"dims": 64})", "unknown field 'dims'"},
      {R"({"dim": "64"})", "field 'dim' must be an integer"},
      {R"({"dim": 1.5})", "field 'dim' must be an integer"},
      {R"({"dim": 99999999999})", "field 'dim' out of range"},
      {R"({"preset": "wan3"})", "unknown dit preset 'wan3'"},
      {R"({"preset": 7})", "preset must be a string"},
      {R"([1, 2])", "top level must be a JSON object"},
      {R"({"dim": )", "invalid JSON"},
      {R"({"latent_width": 4096})", "exceeds Wan's 1024 RoPE positions"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of(c.json);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.json << " -> '" << msg << "'";
  }
}

TEST(DitConfig, MissingFileIsAClearError) {
  try {
    sm::config_from_json_file("/nonexistent/dit.json");
    FAIL() << "no error";
  } catch (const sixbit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open '/nonexistent/dit.json'"), std::string::npos) << e.what();
  }
}
