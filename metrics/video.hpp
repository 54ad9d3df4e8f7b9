// sixbit/metrics/video.hpp: an RGB video as the metrics, detectors, world renderer and writers see it.
//
// The small pixel-space model produces [C=3, F, H, W] values in [-1, 1] (the DiT's latent layout); everything that
// judges a video works on frames of RGB in [0, 1]. One conversion each way, so nobody rescales twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sixbit::metrics {

struct Video {
  int frames = 0, height = 0, width = 0;
  std::vector<float> rgb;  // [frames, height, width, 3], values in [0, 1]

  Video() = default;
  Video(int f, int h, int w) : frames(f), height(h), width(w), rgb(std::size_t(f) * h * w * 3, 0.0f) {}
  std::size_t index(int f, int y, int x, int c) const { return ((std::size_t(f) * height + y) * width + x) * 3 + c; }
  float& at(int f, int y, int x, int c) { return rgb[index(f, y, x, c)]; }
  float at(int f, int y, int x, int c) const { return rgb[index(f, y, x, c)]; }
};

// [3, F, H, W] in [-1, 1] (C-contiguous, the DiT's output) -> Video with v = clamp((x + 1) / 2, 0, 1).
// NaN maps to 0 so a broken model shows as black rather than poisoning every metric; callers that must reject
// NaN check the latent first. Throws sixbit::Error if the size does not match.
Video video_from_latent(const std::vector<float>& latent, int frames, int height, int width);
// The inverse map, Video -> [3, F, H, W] in [-1, 1] (v * 2 - 1): the training target of the pixel model.
std::vector<float> video_to_latent(const Video& v);
// Frame f as 8-bit RGB, round-half-even of clamp(v, 0, 1) * 255 ([height, width, 3]).
std::vector<uint8_t> frame_rgb8(const Video& v, int f);

}  // namespace sixbit::metrics
