// DiT forward: determinism (seed, thread count), patchify/unpatchify layout, bad inputs refused.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "reference/model/dit.hpp"

namespace sm = sixbit::model;

namespace {
std::vector<float> gaussian(uint64_t seed, size_t n) {
  std::vector<float> v(n);
  uint64_t s = seed;
  for (float& x : v) x = float(int64_t(sm::splitmix64(s) >> 40) - (int64_t(1) << 23)) / float(1 << 22);
  return v;
}

struct TinyRun {
  sm::DitConfig cfg = sm::preset("tiny");
  std::vector<float> latent = gaussian(1, size_t(cfg.in_dim * cfg.latent_frames * cfg.latent_height * cfg.latent_width));
  sm::Mat ctx{5, cfg.text_dim};
  TinyRun() { ctx.v = gaussian(2, ctx.v.size()); }
  std::vector<float> forward(uint64_t seed) {
    sm::ReferenceOps ops;
    return sm::dit_forward(cfg, sm::synthetic_weights(cfg, seed), latent, 500.0, ctx, ops);
  }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}
}  // namespace

TEST(DitForward, SameSeedSameBitsAndDifferentSeedDiffers) {
  TinyRun r;
  const auto a = r.forward(7), b = r.forward(7), c = r.forward(8);
  ASSERT_EQ(a.size(), size_t(r.cfg.out_dim * 3 * 8 * 8));
  double ss = 0;
  for (float x : a) { ASSERT_TRUE(std::isfinite(x)); ss += double(x) * x; }
  EXPECT_GT(ss, 0.0);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_FALSE(same_bits(a, c));
}

TEST(DitForward, OneAndTwoThreadsGiveTheSameBits) {
  TinyRun r;
  r.cfg = sm::config_from_json_text(R"({"preset": "tiny", "latent_height": 16, "latent_width": 12})");
  r.latent = gaussian(3, size_t(r.cfg.in_dim * r.cfg.latent_frames * 16 * 12));
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = r.forward(11);
  omp_set_num_threads(2);
  const auto two = r.forward(11);
  omp_set_num_threads(3);  // uneven split of rows over threads
  const auto three = r.forward(11);
  omp_set_num_threads(saved);
  EXPECT_TRUE(same_bits(one, two));
  EXPECT_TRUE(same_bits(one, three));
}

// Patchify puts latent[c, f*pt+p, h*ph+q, w*pw+r] at token (f, h, w), column ((c*pt + p)*ph + q)*pw + r (the
// Conv3d weight's flattening); unpatchify reads columns in (p, q, r, c) order. Checked element by element with
// distinct values, and the composition with the column permutation between them is the identity.
TEST(DitForward, PatchifyLayoutAndUnpatchifyRoundTrip) {
  sm::DitConfig c = sm::config_from_json_text(R"({"preset": "tiny", "latent_frames": 4, "patch_t": 2, "latent_height": 6, "latent_width": 10})");
  const int C = 3;
  const int64_t F = 4, H = 6, W = 10;
  std::vector<float> lat(size_t(C * F * H * W));
  for (size_t i = 0; i < lat.size(); ++i) lat[i] = float(i);
  const sm::Mat x = sm::patchify(c, lat, C);
  ASSERT_EQ(x.rows, 2 * 3 * 5);
  ASSERT_EQ(x.cols, C * 2 * 2 * 2);
  for (int64_t tok = 0; tok < x.rows; ++tok)
    for (int ch = 0; ch < C; ++ch)
      for (int p = 0; p < 2; ++p)
        for (int q = 0; q < 2; ++q)
          for (int r = 0; r < 2; ++r) {
            const int64_t f = tok / 15, h = (tok / 5) % 3, w = tok % 5;
            const float want = lat[size_t(((ch * F + f * 2 + p) * H + h * 2 + q) * W + w * 2 + r)];
            ASSERT_EQ(x.row(tok)[((ch * 2 + p) * 2 + q) * 2 + r], want);
          }
  sm::Mat y(x.rows, x.cols);  // reorder columns (c, p, q, r) -> (p, q, r, c) as the head's output layout
  for (int64_t tok = 0; tok < x.rows; ++tok)
    for (int ch = 0; ch < C; ++ch)
      for (int k = 0; k < 8; ++k) y.row(tok)[k * C + ch] = x.row(tok)[ch * 8 + k];
  EXPECT_EQ(sm::unpatchify(c, y, C), lat);
}

TEST(DitForward, BadInputsAreRefused) {
  TinyRun r;
  sm::ReferenceOps ops;
  sm::Weights w = sm::synthetic_weights(r.cfg, 1);
  std::vector<float> short_latent(r.latent.begin(), r.latent.end() - 1);
  EXPECT_THROW(sm::dit_forward(r.cfg, w, short_latent, 500.0, r.ctx, ops), sixbit::Error);
  sm::Mat long_ctx(r.cfg.text_len + 1, r.cfg.text_dim);
  EXPECT_THROW(sm::dit_forward(r.cfg, w, r.latent, 500.0, long_ctx, ops), sixbit::Error);
  EXPECT_THROW(sm::dit_forward(r.cfg, w, r.latent, NAN, r.ctx, ops), sixbit::Error);
  sm::Weights missing = w;
  missing.erase("blocks.1.ffn.2.bias");
  try {
    sm::dit_forward(r.cfg, missing, r.latent, 500.0, r.ctx, ops);
    FAIL() << "no error";
  } catch (const sixbit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'blocks.1.ffn.2.bias'"), std::string::npos) << e.what();
  }
  sm::Weights wrong = w;
  wrong["blocks.0.self_attn.q.weight"].shape = {64, 63};
  EXPECT_THROW(sm::dit_forward(r.cfg, wrong, r.latent, 500.0, r.ctx, ops), sixbit::Error);
}

TEST(DitForward, LayerIdsNameWanModules) {
  EXPECT_EQ((sm::LayerId{3, sm::LinearKind::self_q}).name(), "blocks.3.self_attn.q");
  EXPECT_EQ((sm::LayerId{0, sm::LinearKind::cross_o}).name(), "blocks.0.cross_attn.o");
  EXPECT_EQ((sm::LayerId{29, sm::LinearKind::ffn_2}).name(), "blocks.29.ffn.2");
  EXPECT_EQ((sm::LayerId{-1, sm::LinearKind::head}).name(), "head.head");
}

// The synthetic outlier channels must show up in the residual stream: their RMS over tokens after each block is
// well above the median channel's (8x weight rows; LayerNorm and the gated residuals keep them large).
TEST(DitForward, OutlierChannelsAreLargeInTheResidualStream) {
  TinyRun r;
  const sm::Weights w = sm::synthetic_weights(r.cfg, 7);
  const std::vector<int> out_ch = sm::outlier_channels(r.cfg, 7);
  ASSERT_FALSE(out_ch.empty());
  ASSERT_LT(out_ch.size(), size_t(r.cfg.dim / 4));
  sm::ReferenceOps ops;
  sm::dit_forward(r.cfg, w, r.latent, 500.0, r.ctx, ops, [&](int b, const sm::Mat& x) {
    std::vector<double> rms(size_t(x.cols), 0.0);
    for (int64_t t = 0; t < x.rows; ++t)
      for (int64_t c = 0; c < x.cols; ++c) rms[size_t(c)] += double(x.row(t)[c]) * x.row(t)[c];
    std::vector<double> normal;
    for (int64_t c = 0; c < x.cols; ++c)
      if (std::find(out_ch.begin(), out_ch.end(), int(c)) == out_ch.end()) normal.push_back(std::sqrt(rms[size_t(c)]));
    std::nth_element(normal.begin(), normal.begin() + long(normal.size() / 2), normal.end());
    const double median = normal[normal.size() / 2];
    for (int c : out_ch) EXPECT_GT(std::sqrt(rms[size_t(c)]), 3.0 * median) << "block " << b << " channel " << c;
  });
}
