// sixbit/harness/report/video_out.cpp: see video_out.hpp.
#include "harness/report/video_out.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/check.hpp"
#include "reference/io/image_io.hpp"

namespace sixbit::harness {

FalseColourMap false_colour_map(const model::DitConfig& cfg, const std::vector<float>& ref) {
  const size_t plane = size_t(cfg.latent_frames) * cfg.latent_height * cfg.latent_width;
  SIXBIT_CHECK(ref.size() == plane * size_t(cfg.out_dim), "false_colour_map: latent size mismatch");
  FalseColourMap m;
  for (int c = 0; c < std::min(3, cfg.out_dim); ++c) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t p = 0; p < plane; ++p) {
      const float v = ref[size_t(c) * plane + p];
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    if (!(hi > lo)) lo = std::isfinite(lo) ? lo - 1 : -1, hi = lo + 2;  // a flat or empty channel
    m.lo.push_back(lo);
    m.hi.push_back(hi);
  }
  return m;
}

metrics::Video latent_video(const model::DitConfig& cfg, const std::vector<float>& latent, bool rgb,
                            const FalseColourMap& map) {
  const int F = cfg.latent_frames, H = cfg.latent_height, W = cfg.latent_width;
  if (rgb) return metrics::video_from_latent(latent, F, H, W);
  const size_t plane = size_t(F) * H * W;
  SIXBIT_CHECK(latent.size() == plane * size_t(cfg.out_dim), "latent_video: latent size mismatch");
  metrics::Video v(F, H, W);
  for (int c = 0; c < 3; ++c) {
    if (c >= int(map.lo.size())) continue;  // fewer than 3 channels: the rest stay 0
    const double lo = map.lo[size_t(c)], span = double(map.hi[size_t(c)]) - lo;
    for (size_t p = 0; p < plane; ++p) {
      const float x = latent[size_t(c) * plane + p];
      v.rgb[p * 3 + size_t(c)] = std::isnan(x) ? 0.0f : float(std::clamp((double(x) - lo) / span, 0.0, 1.0));
    }
  }
  return v;
}

int display_scale(const metrics::Video& v) {
  const int longer = std::max(v.height, v.width);
  return longer >= 128 ? 1 : (128 + longer - 1) / longer;
}

namespace {
io::RgbImage scaled_frame(const metrics::Video& v, int f, int s) {
  const std::vector<uint8_t> px = metrics::frame_rgb8(v, f);
  io::RgbImage img{v.width * s, v.height * s, std::vector<uint8_t>(size_t(v.width) * s * v.height * s * 3)};
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c)
        img.rgb[(size_t(y) * img.width + x) * 3 + c] = px[(size_t(y / s) * v.width + x / s) * 3 + c];
  return img;
}
}  // namespace

std::vector<std::string> write_video_files(const metrics::Video& v, const std::string& dir, const std::string& name,
                                           int scale, bool overwrite) {
  namespace fs = std::filesystem;
  const fs::path frames = fs::path(dir) / "frames";
  fs::create_directories(frames);
  std::vector<std::string> written;
  std::vector<io::RgbImage> all;
  for (int f = 0; f < v.frames; ++f) {
    all.push_back(scaled_frame(v, f, scale));
    char file[64];
    std::snprintf(file, sizeof file, "%s_%03d.png", name.c_str(), f);
    const std::string path = (frames / file).string();
    io::write_png(path, all.back(), overwrite);
    written.push_back(path);
  }
  const std::string gif = (fs::path(dir) / (name + ".gif")).string();
  io::write_gif(gif, all, 12, overwrite);  // 12 cs per frame: about 8 frames per second
  written.push_back(gif);
  return written;
}

}  // namespace sixbit::harness
