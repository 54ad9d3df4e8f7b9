// sixbit/reference/world/world.hpp: the procedural video world the small model is trained on (docs/world.md).
//
// One prompt grammar, "a COLOR SHAPE moving DIRECTION SPEED on a BACKGROUND background", 288 prompts, a fixed
// train/eval split, and a renderer: size and start position drawn from the seed (splitmix64), sub-pixel motion with
// mirror bounces, 4x4 supersampled coverage, all in double and rounded to 8 bits once, so the numpy mirror
// (experiments/world.py) gives identical frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/video.hpp"
#include "reference/world/palette.hpp"

namespace sixbit::world {

// The prompt of the attributes, e.g. "a red circle moving left slowly on a dark background".
std::string prompt_text(const Attributes& a);
// Lower-cases and splits on whitespace; anything off the grammar is a sixbit::Error naming the grammar or the
// allowed values of the slot.
Attributes parse_prompt(const std::string& text);

// Prompt id = (((color * 3 + shape) * 4 + direction) * 2 + speed) * 2 + background, 0..287.
int prompt_id(const Attributes& a);
std::vector<Attributes> all_prompts();  // in id order
// Held out for evaluation iff (color + 2 shape + direction + 3 speed + 5 background) mod 6 == 0: exactly one color
// per combination of the other attributes (48 prompts, every value of every attribute in both splits).
bool is_eval_prompt(const Attributes& a);
std::vector<Attributes> train_prompts();  // 240
std::vector<Attributes> eval_prompts();   // 48

// The prompt encoder's vocabulary: "<empty>" (id 0, the unconditional prompt) then every word of the grammar.
std::vector<std::string> vocabulary();

enum class ShapeKind { kCircle = 0, kSquare = 1, kTriangle = 2 };

struct Object {
  ShapeKind shape = ShapeKind::kCircle;
  std::array<double, 3> rgb{};
  double radius = 0;       // equal-area radius: every shape has area pi r^2
  double half_extent = 0;  // half the bounding-box side; the center stays in [e, size - e]
  double x0 = 0, y0 = 0;   // center at frame 0, pixels (pixel x covers [x, x + 1))
  double vx = 0, vy = 0;   // pixels per frame
};

struct Scene {
  int frames = kFrames, height = kHeight, width = kWidth;
  std::array<double, 3> background{};
  std::vector<Object> objects;  // painted in order (the prompts use one)
};

double half_extent(ShapeKind shape, double radius);
// Frames 0..kMonotoneFrames move along the prompt's direction before any bounce, so the direction is recoverable.
constexpr int kMonotoneFrames = 8;
Scene make_scene(const Attributes& a, uint64_t seed);
// Center of an object at frame f, reflected at the borders.
std::array<double, 2> object_center(const Object& o, int f, int height, int width);

// [frames, height, width, 3] 8-bit RGB: floor(255 * (background blended with each object's coverage) + 0.5).
std::vector<uint8_t> render_rgb8(const Scene& s);
// The same frames as a Video (value = byte / 255), so frame_rgb8 gives back the exact bytes.
metrics::Video render_video(const Scene& s);
metrics::Video render_prompt(const Attributes& a, uint64_t seed);

}  // namespace sixbit::world
