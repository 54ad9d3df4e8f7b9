// sixbit/metrics/world_detectors.hpp: condition adherence in the procedural world (docs/world.md): from a video
// alone, recover the object's color, shape, motion direction and speed, and the background.
//
// Method. Background = per-channel median of the border ring over all frames, classified as the nearest world
// background. Object color = per-channel median of the pixels far from the background (the "core": at least 80%
// of the 95th-percentile distance), classified as the nearest palette color. Each pixel's coverage alpha is its
// projection on the background -> object color line; the mask is alpha >= 0.5. Shape from the median over frames of
// the mask's fill ratio in its bounding box (square 1, circle pi/4, triangle 1/2); the centroid's relative height
// in the box (triangle 2/3, apex up; others 1/2) is reported too. Motion from a least-squares fit of the alpha-weighted centroid
// over the frames the world keeps free of bounces (0..8). Anything not found is reported as -1 ("undetected"), never
// guessed.
#pragma once

#include <array>
#include <string>

#include "metrics/video.hpp"
#include "reference/world/palette.hpp"

namespace sixbit::metrics {

struct WorldDetection {
  bool found = false;  // an object was segmented in at least half of the frames
  // Indices into world::kColors, kShapes, kDirections, kSpeeds, kBackgrounds; -1 = undetected.
  int color = -1, shape = -1, direction = -1, speed = -1, background = -1;
  // What the decisions were made from (for reports and tests).
  std::array<double, 3> background_rgb{}, object_rgb{};
  double fill_ratio = 0;        // median over frames of mask pixels / bounding-box area
  double centroid_height = 0;   // median over frames of (centroid y - box top) / box height
  double vx = 0, vy = 0;        // centroid velocity, pixels per frame, frames 0..8
  int frames_found = 0;
  std::string describe() const;  // "red circle moving left slowly on a dark background" with "?" for undetected
};

WorldDetection detect_world_object(const Video& v);

struct AdherenceScore {
  bool color = false, shape = false, direction = false, speed = false, background = false;
  bool all() const { return color && shape && direction && speed && background; }
};
// Per attribute: the detected value equals the prompt's (undetected fails).
AdherenceScore score_adherence(const WorldDetection& d, const world::Attributes& prompt);

}  // namespace sixbit::metrics
