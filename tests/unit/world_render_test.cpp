// The procedural world (reference/world): grammar, split, vocabulary, scenes and rendering. The numpy mirror is
// compared byte for byte in tests/oracle/world_numpy.py; here, properties checked against independent arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "common/check.hpp"
#include "metrics/video.hpp"
#include "reference/world/world.hpp"

namespace sw = sixbit::world;

namespace {
std::string error_of(const std::string& prompt) {
  try {
    sw::parse_prompt(prompt);
  } catch (const sixbit::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(WorldPrompts, EveryPromptRoundTripsAndIdsAreDense) {
  const auto all = sw::all_prompts();
  ASSERT_EQ(all.size(), 288u);  // 6 colors x 3 shapes x 4 directions x 2 speeds x 2 backgrounds
  std::set<std::string> texts;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(sw::prompt_id(all[i]), int(i));
    const std::string t = sw::prompt_text(all[i]);
    EXPECT_EQ(sw::parse_prompt(t), all[i]) << t;
    texts.insert(t);
  }
  EXPECT_EQ(texts.size(), 288u);
  EXPECT_EQ(sw::prompt_text(all[0]), "a red circle moving left slowly on a dark background");
  EXPECT_EQ(sw::parse_prompt("  A Cyan TRIANGLE moving down quickly\ton a light background "),
            (sw::Attributes{5, 2, 3, 1, 1}));
}

TEST(WorldPrompts, BadPromptsNameTheProblem) {
  EXPECT_NE(error_of("a red circle").find("does not follow the grammar"), std::string::npos);
  EXPECT_NE(error_of("").find("does not follow the grammar"), std::string::npos);
  EXPECT_NE(error_of("a purple circle moving left slowly on a dark background").find("'purple' is not a COLOR (one of: red, green"),
            std::string::npos);
  EXPECT_NE(error_of("a red hexagon moving left slowly on a dark background").find("not a SHAPE"), std::string::npos);
  EXPECT_NE(error_of("a red circle moving sideways slowly on a dark background").find("not a DIRECTION"), std::string::npos);
  EXPECT_NE(error_of("a red circle moving left fast on a dark background").find("not a SPEED"), std::string::npos);
  EXPECT_NE(error_of("a red circle moving left slowly on a grey background").find("not a BACKGROUND"), std::string::npos);
  EXPECT_NE(error_of("a red circle walking left slowly on a dark background").find("grammar"), std::string::npos);
  EXPECT_THROW(sw::prompt_text({6, 0, 0, 0, 0}), sixbit::Error);
  EXPECT_THROW(sw::make_scene({0, 3, 0, 0, 0}, 1), sixbit::Error);
}

// The split rule: 48 held-out prompts, one color per combination of the other attributes; every value of every
// attribute in both splits, and every pair of attribute values still seen in training.
TEST(WorldPrompts, SplitIsBalancedAndCoversEveryPairInTraining) {
  const auto train = sw::train_prompts(), eval = sw::eval_prompts();
  EXPECT_EQ(train.size(), 240u);
  EXPECT_EQ(eval.size(), 48u);
  auto values = [](const sw::Attributes& a) { return std::array<int, 5>{a.color, a.shape, a.direction, a.speed, a.background}; };
  const std::array<int, 5> sizes = {6, 3, 4, 2, 2};
  std::map<std::pair<int, int>, int> eval_count;
  for (const auto& a : eval) {
    const auto v = values(a);
    for (int k = 0; k < 5; ++k) eval_count[{k, v[k]}]++;
  }
  for (int k = 0; k < 5; ++k)
    for (int v = 0; v < sizes[k]; ++v) EXPECT_EQ((eval_count[{k, v}]), 48 / sizes[k]) << "attribute " << k << " value " << v;
  std::set<std::array<int, 4>> train_pairs;
  for (const auto& a : train) {
    const auto v = values(a);
    for (int i = 0; i < 5; ++i)
      for (int j = i + 1; j < 5; ++j) train_pairs.insert({i, v[i], j, v[j]});
  }
  int pairs = 0;
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j) pairs += sizes[i] * sizes[j];
  EXPECT_EQ(int(train_pairs.size()), pairs);
}

TEST(WorldPrompts, VocabularyCoversTheGrammar) {
  const auto vocab = sw::vocabulary();
  EXPECT_EQ(vocab.size(), 22u);
  EXPECT_EQ(vocab[0], "<empty>");
  const std::set<std::string> v(vocab.begin(), vocab.end());
  EXPECT_EQ(v.size(), vocab.size());
  for (const auto& a : sw::all_prompts()) {
    std::istringstream in(sw::prompt_text(a));
    for (std::string w; in >> w;) EXPECT_TRUE(v.count(w)) << w;
  }
}

// Margins the detectors rely on (palette.hpp's comment): computed here, not copied.
TEST(WorldPalette, ColorsAreFarApartAndFromBothBackgrounds) {
  double min_pair = 1e9, min_bg = 1e9;
  for (size_t i = 0; i < sw::kColors.size(); ++i) {
    for (size_t j = i + 1; j < sw::kColors.size(); ++j) {
      double m = 0;
      for (int c = 0; c < 3; ++c) m = std::max(m, std::fabs(sw::kColors[i].rgb[c] - sw::kColors[j].rgb[c]));
      min_pair = std::min(min_pair, m);
    }
    for (const auto& b : sw::kBackgrounds) {
      double d2 = 0;
      for (int c = 0; c < 3; ++c) d2 += (sw::kColors[i].rgb[c] - b.rgb[c]) * (sw::kColors[i].rgb[c] - b.rgb[c]);
      min_bg = std::min(min_bg, std::sqrt(d2));
    }
  }
  EXPECT_GE(min_pair, 0.65);
  EXPECT_GE(min_bg, 0.70);
}

// Motion: frames 0..kMonotoneFrames follow x0 + v f exactly along the prompt's direction; the center never leaves
// [e, size - e]; some seeds bounce later in the clip; size and start are drawn from the seed.
TEST(WorldScene, MotionIsRecoverableAndStaysInside) {
  int bounced = 0, scenes = 0;
  std::set<double> radii;
  for (const auto& a : sw::all_prompts())
    for (uint64_t seed = 0; seed < 6; ++seed) {
      const sw::Scene s = sw::make_scene(a, seed);
      ASSERT_EQ(s.objects.size(), 1u);
      const sw::Object& o = s.objects[0];
      radii.insert(o.radius);
      ASSERT_GE(o.radius, 3.5);
      ASSERT_LT(o.radius, 5.0);
      const double speed = sw::kSpeeds[a.speed].pixels_per_frame;
      const int dx = sw::kDirections[a.direction].dx, dy = sw::kDirections[a.direction].dy;
      bool reversed = false;
      for (int f = 0; f < s.frames; ++f) {
        const auto c = sw::object_center(o, f, s.height, s.width);
        ASSERT_GE(c[0], o.half_extent - 1e-12);
        ASSERT_LE(c[0], s.width - o.half_extent + 1e-12);
        ASSERT_GE(c[1], o.half_extent - 1e-12);
        ASSERT_LE(c[1], s.height - o.half_extent + 1e-12);
        if (f <= sw::kMonotoneFrames) {
          EXPECT_NEAR(c[0], o.x0 + dx * speed * f, 1e-9) << sw::prompt_text(a) << " seed " << seed << " f " << f;
          EXPECT_NEAR(c[1], o.y0 + dy * speed * f, 1e-9);
        } else {
          const auto p = sw::object_center(o, f - 1, s.height, s.width);
          if ((c[0] - p[0]) * dx + (c[1] - p[1]) * dy < 0) reversed = true;
        }
      }
      bounced += reversed;
      ++scenes;
    }
  EXPECT_GT(bounced, scenes / 10) << "bounces never happen: reflection untested";
  EXPECT_EQ(radii.size(), 6u);  // size is drawn from the seed alone: one radius per seed, shared by all prompts
}

// Coverage: the blended pixels integrate to the shape's area pi r^2 (all shapes are equal-area), measured through
// the pixel values alone; the supersampling error is at most about one sample per boundary pixel.
TEST(WorldRender, ObjectAreaMatchesGeometryAndBackgroundIsExact) {
  for (const auto& a : sw::all_prompts()) {
    if (sw::prompt_id(a) % 7) continue;  // 42 prompts
    const sw::Scene s = sw::make_scene(a, 11);
    const std::vector<uint8_t> px = sw::render_rgb8(s);
    const auto& bg = s.background;
    const auto& fg = s.objects[0].rgb;
    int ch = 0;
    for (int c = 1; c < 3; ++c)
      if (std::fabs(fg[c] - bg[c]) > std::fabs(fg[ch] - bg[ch])) ch = c;
    const double area = M_PI * s.objects[0].radius * s.objects[0].radius;
    for (int f = 0; f < s.frames; f += 5) {
      double cov = 0;
      int exact_bg = 0;
      for (int p = 0; p < s.height * s.width; ++p) {
        const double v = px[(size_t(f) * s.height * s.width + p) * 3 + ch] / 255.0;
        cov += (v - bg[ch]) / (fg[ch] - bg[ch]);
        bool is_bg = true;
        for (int c = 0; c < 3; ++c)
          is_bg &= px[(size_t(f) * s.height * s.width + p) * 3 + c] == uint8_t(std::floor(bg[c] * 255.0 + 0.5));
        exact_bg += is_bg;
      }
      // 8-bit rounding: 1024 pixels x 0.5/255 / contrast (>= 0.7) < 3 px^2; boundary sampling: < 2 px^2.
      EXPECT_NEAR(cov, area, 5.0) << sw::prompt_text(a) << " frame " << f;
      EXPECT_GT(exact_bg, s.height * s.width - int(area) - 60);
    }
  }
}

TEST(WorldRender, DeterministicSeedDependentAndExactThroughVideo) {
  const sw::Attributes a = sw::parse_prompt("a yellow square moving up quickly on a light background");
  const auto x = sw::render_rgb8(sw::make_scene(a, 3)), y = sw::render_rgb8(sw::make_scene(a, 3));
  const auto z = sw::render_rgb8(sw::make_scene(a, 4));
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
  const sixbit::metrics::Video v = sw::render_prompt(a, 3);
  ASSERT_EQ(v.frames, sw::kFrames);
  for (int f = 0; f < v.frames; ++f) {
    const auto b = sixbit::metrics::frame_rgb8(v, f);
    ASSERT_TRUE(std::equal(b.begin(), b.end(), x.begin() + ptrdiff_t(f) * b.size())) << "frame " << f;
  }
  // The latent the model is trained on: [3, F, H, W] in [-1, 1], background and object both present.
  const auto lat = sixbit::metrics::video_to_latent(v);
  float lo = 1, hi = -1;
  for (float t : lat) lo = std::min(lo, t), hi = std::max(hi, t);
  EXPECT_GE(lo, -1.0f);
  EXPECT_LE(hi, 1.0f);
  EXPECT_GT(hi - lo, 1.5f);
}
