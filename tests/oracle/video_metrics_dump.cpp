// Writes test/reference video pairs and sixbit's PSNR, SSIM and temporal flickering of them, for
// tests/oracle/video_metrics_oracle.py to recompute with scikit-image and numpy transcriptions of TeaCache's and
// VBench's scripts (code nobody here wrote).
// Usage: video_metrics_dump OUT_DIR
// OUT_DIR/cases.txt, per case:  NAME F H W   then lines "psnr v...", "ssim v...", "mean_psnr v", "pooled_psnr v",
// "mean_ssim v", "flicker_test v", "flicker_ref v" (%.17g, inf spelled "inf").
// NAME.test.f32 / NAME.ref.f32: [F, H, W, 3] float32; NAME.test.fK.png: frame K of test as written by write_png.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "metrics/video_metrics.hpp"
#include "reference/io/image_io.hpp"

namespace {
using sixbit::metrics::Video;

float clamp01(float x) { return x < 0 ? 0.0f : (x > 1 ? 1.0f : x); }

Video uniform_noise(int f, int h, int w, std::mt19937& rng) {
  Video v(f, h, w);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& x : v.rgb) x = u(rng);
  return v;
}

// Gradients, stripes and a disk moving 2 px per frame: structure at several scales, like a rendered scene.
Video scene(int f, int h, int w) {
  Video v(f, h, w);
  for (int t = 0; t < f; ++t)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float dx = float(x - (w / 3 + 2 * t)), dy = float(y - h / 2), r = float(h) / 4;
        const bool disk = dx * dx + dy * dy < r * r;
        v.at(t, y, x, 0) = disk ? 0.9f : float(x) / float(w - 1);
        v.at(t, y, x, 1) = disk ? 0.2f : 0.5f + 0.4f * std::sin(0.7f * float(y) + 0.1f * float(t));
        v.at(t, y, x, 2) = ((x / 4 + y / 4) % 2) ? 0.8f : 0.1f;
      }
  return v;
}

Video add_noise(const Video& v, float sigma, std::mt19937& rng) {
  Video out = v;
  std::normal_distribution<float> n(0.0f, sigma);
  for (auto& x : out.rgb) x = clamp01(x + n(rng));
  return out;
}

struct Dumper {
  std::filesystem::path dir;
  std::ofstream cases;

  static void list(std::ofstream& o, const char* key, const std::vector<double>& v) {
    o << key;
    char buf[40];
    for (double x : v) {
      std::snprintf(buf, sizeof buf, " %.17g", x);
      o << buf;
    }
    o << "\n";
  }
  void save(const std::string& name, const char* which, const Video& v) {
    std::ofstream f(dir / (name + "." + which + ".f32"), std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(v.rgb.data()), std::streamsize(v.rgb.size() * sizeof(float)));
  }
  void add(const std::string& name, const Video& test, const Video& ref) {
    save(name, "test", test);
    save(name, "ref", ref);
    for (int k = 0; k < test.frames; ++k)
      sixbit::io::write_png((dir / (name + ".test.f" + std::to_string(k) + ".png")).string(),
                            {test.width, test.height, sixbit::metrics::frame_rgb8(test, k)}, true);
    const auto r = sixbit::metrics::compare_videos(test, ref);
    cases << name << " " << test.frames << " " << test.height << " " << test.width << "\n";
    list(cases, "psnr", r.psnr_db);
    list(cases, "ssim", r.ssim);
    list(cases, "mean_psnr", {r.mean_psnr_db});
    list(cases, "pooled_psnr", {r.pooled_psnr_db});
    list(cases, "mean_ssim", {r.mean_ssim});
    list(cases, "flicker_test", {sixbit::metrics::temporal_flickering(test)});
    list(cases, "flicker_ref", {sixbit::metrics::temporal_flickering(ref)});
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: video_metrics_dump OUT_DIR\n");
    return 2;
  }
  try {
    Dumper d{argv[1], {}};
    std::filesystem::create_directories(d.dir);
    d.cases.open(d.dir / "cases.txt", std::ios::trunc);
    std::mt19937 rng(20260302);
    const Video noise_ref = uniform_noise(4, 32, 40, rng);
    d.add("random_noise05", add_noise(noise_ref, 0.05f, rng), noise_ref);
    d.add("random_vs_random", uniform_noise(3, 20, 17, rng), uniform_noise(3, 20, 17, rng));
    const Video sc = scene(6, 48, 64);
    d.add("scene_noise01", add_noise(sc, 0.01f, rng), sc);  // ~40 dB: the regime of a good quantized run
    Video shifted = sc;  // a one-pixel shift in frames 2..5 and a coarse 16-level quantization
    for (int t = 2; t < 6; ++t)
      for (int y = 0; y < 48; ++y)
        for (int x = 63; x > 0; --x)
          for (int c = 0; c < 3; ++c) shifted.at(t, y, x, c) = std::round(sc.at(t, y, x - 1, c) * 15) / 15;
    d.add("scene_shift_quant", shifted, sc);
    // Mutation of one pixel of scene_noise01: both scores of frame 3 must move, by what the oracles say.
    Video mutated = add_noise(sc, 0.01f, rng);
    d.add("scene_premutation", mutated, sc);
    mutated.at(3, 20, 30, 1) = clamp01(mutated.at(3, 20, 30, 1) + 0.5f);
    d.add("scene_mutated", mutated, sc);
    // Smallest SSIM frame, an identical frame (PSNR inf), constant frames (no variance), black vs white.
    Video small_ref = uniform_noise(4, 11, 11, rng), small_test = add_noise(small_ref, 0.1f, rng);
    for (std::size_t i = 0; i < std::size_t(11 * 11 * 3); ++i) {
      small_test.rgb[i] = small_ref.rgb[i];               // frame 0 identical
      small_ref.rgb[i + 363] = 0.25f;                     // frame 1: constant vs constant
      small_test.rgb[i + 363] = 0.75f;
      small_ref.rgb[i + 726] = 0.0f;                      // frame 2: black vs white
      small_test.rgb[i + 726] = 1.0f;
    }
    d.add("small_edge_cases", small_test, small_ref);
    const Video tall = uniform_noise(5, 29, 13, rng);
    d.add("nonsquare_noise30", add_noise(tall, 0.3f, rng), tall);
    const Video longer = scene(17, 40, 56);
    d.add("scene17_noise003", add_noise(longer, 0.003f, rng), longer);
    d.cases.close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "video_metrics_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
