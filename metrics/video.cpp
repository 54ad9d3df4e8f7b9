// sixbit/metrics/video.cpp: see video.hpp.
#include "metrics/video.hpp"

#include <algorithm>
#include <cmath>

#include "common/check.hpp"

namespace sixbit::metrics {

Video video_from_latent(const std::vector<float>& latent, int frames, int height, int width) {
  SIXBIT_CHECK(frames > 0 && height > 0 && width > 0, "video_from_latent: bad size ", frames, "x", height, "x", width);
  const size_t plane = size_t(frames) * height * width;
  SIXBIT_CHECK(latent.size() == 3 * plane, "video_from_latent: ", latent.size(), " values, expected [3,", frames, ",",
               height, ",", width, "]");
  Video v(frames, height, width);
  for (int c = 0; c < 3; ++c)
    for (size_t p = 0; p < plane; ++p) {
      const float x = latent[c * plane + p];
      v.rgb[p * 3 + c] = std::isnan(x) ? 0.0f : std::clamp((x + 1.0f) * 0.5f, 0.0f, 1.0f);
    }
  return v;
}

std::vector<float> video_to_latent(const Video& v) {
  const size_t plane = size_t(v.frames) * v.height * v.width;
  SIXBIT_CHECK(v.rgb.size() == 3 * plane, "video_to_latent: malformed video");
  std::vector<float> out(3 * plane);
  for (int c = 0; c < 3; ++c)
    for (size_t p = 0; p < plane; ++p) out[c * plane + p] = v.rgb[p * 3 + c] * 2.0f - 1.0f;
  return out;
}

std::vector<uint8_t> frame_rgb8(const Video& v, int f) {
  SIXBIT_CHECK(f >= 0 && f < v.frames, "frame_rgb8: frame ", f, " out of range [0, ", v.frames, ")");
  const size_t n = size_t(v.height) * v.width * 3, off = size_t(f) * n;
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = uint8_t(std::nearbyint(std::clamp(v.rgb[off + i], 0.0f, 1.0f) * 255.0f));
  return out;
}

}  // namespace sixbit::metrics
