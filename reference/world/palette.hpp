// sixbit/reference/world/palette.hpp: the procedural world's attribute values (docs/world.md), header-only so the
// detectors in metrics/ can use them without linking the renderer. experiments/world.py holds the same table.
#pragma once

#include <array>

namespace sixbit::world {

constexpr int kFrames = 16, kHeight = 32, kWidth = 32;  // the small model's video: 16 frames of 32x32 RGB

struct NamedColor {
  const char* name;
  std::array<double, 3> rgb;  // in [0, 1]
};
// Six object colors, each at least 0.65 from every other in some channel and >= 0.75 (Euclidean) from both
// backgrounds, so nearest-palette classification and background segmentation have wide margins.
constexpr std::array<NamedColor, 6> kColors = {{{"red", {0.90, 0.12, 0.12}},
                                                {"green", {0.12, 0.78, 0.18}},
                                                {"blue", {0.15, 0.22, 0.95}},
                                                {"yellow", {0.96, 0.86, 0.10}},
                                                {"magenta", {0.88, 0.16, 0.88}},
                                                {"cyan", {0.10, 0.88, 0.90}}}};
constexpr std::array<NamedColor, 2> kBackgrounds = {{{"dark", {0.08, 0.08, 0.10}}, {"light", {0.90, 0.90, 0.86}}}};
constexpr std::array<const char*, 3> kShapes = {"circle", "square", "triangle"};

struct Direction {
  const char* name;
  int dx, dy;  // unit step in image coordinates (y grows downwards)
};
constexpr std::array<Direction, 4> kDirections = {{{"left", -1, 0}, {"right", 1, 0}, {"up", 0, -1}, {"down", 0, 1}}};

struct Speed {
  const char* name;
  double pixels_per_frame;
};
constexpr std::array<Speed, 2> kSpeeds = {{{"slowly", 0.5}, {"quickly", 1.5}}};

// The attribute indices of one prompt, into the tables above.
struct Attributes {
  int color = 0, shape = 0, direction = 0, speed = 0, background = 0;
  bool operator==(const Attributes&) const = default;
};

}  // namespace sixbit::world
