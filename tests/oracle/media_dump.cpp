// Writes PNGs and GIFs with sixbit::io (and plots with sixbit::plot) plus the raw pixels they should hold, for
// tests/oracle/media_pillow.py to decode with Pillow (a reader nobody here wrote) and compare; and least-squares
// fits (plot::fit_line) for it to recompute with numpy.
// Usage: media_dump OUT_DIR   (OUT_DIR is created; existing files in it are replaced)
// OUT_DIR/manifest.txt, one case per line:  png NAME W H  |  gif NAME W H FRAMES DELAY_CS
// NAME.png / NAME.gif is the file, NAME.rgb the expected pixels ([frames, H, W, 3] bytes).
// OUT_DIR/fits.txt, per fit: "N a c r r2" (%.17g) then a line of N x values and a line of N y values.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "harness/plot/plot.hpp"
#include "reference/io/image_io.hpp"

namespace {
using sixbit::io::RgbImage;

struct Dumper {
  std::filesystem::path dir;
  std::ofstream manifest;

  void raw(const std::string& name, const std::vector<RgbImage>& frames) {
    std::ofstream f(dir / (name + ".rgb"), std::ios::binary | std::ios::trunc);
    for (const auto& im : frames) f.write(reinterpret_cast<const char*>(im.rgb.data()), std::streamsize(im.rgb.size()));
  }
  void png(const std::string& name, const RgbImage& im) {
    sixbit::io::write_png((dir / (name + ".png")).string(), im, true);
    raw(name, {im});
    manifest << "png " << name << " " << im.width << " " << im.height << "\n";
  }
  void gif(const std::string& name, const std::vector<RgbImage>& frames, int delay) {
    sixbit::io::write_gif((dir / (name + ".gif")).string(), frames, delay, true);
    raw(name, frames);
    manifest << "gif " << name << " " << frames[0].width << " " << frames[0].height << " " << frames.size() << " "
             << delay << "\n";
  }
};

RgbImage noise(int w, int h, std::mt19937& rng) {
  RgbImage im{w, h, std::vector<uint8_t>(std::size_t(w) * h * 3)};
  for (auto& v : im.rgb) v = uint8_t(rng() & 0xFF);
  return im;
}

// Pixels drawn from `ncolors` random colors (so a GIF holds them exactly), in runs so LZW finds repeats.
std::vector<RgbImage> palette_frames(int w, int h, int frames, int ncolors, std::mt19937& rng) {
  std::vector<uint32_t> colors(ncolors);
  for (int i = 0; i < ncolors; ++i) colors[i] = (uint32_t(rng()) & 0xFFFFFFu) ^ uint32_t(i);  // distinct w.h.p.
  std::vector<RgbImage> out;
  for (int f = 0; f < frames; ++f) {
    RgbImage im{w, h, std::vector<uint8_t>(std::size_t(w) * h * 3)};
    uint32_t c = colors[rng() % ncolors];
    for (std::size_t p = 0; p < std::size_t(w) * h; ++p) {
      if (rng() % 4 == 0) c = colors[rng() % ncolors];
      im.rgb[3 * p] = uint8_t(c >> 16), im.rgb[3 * p + 1] = uint8_t(c >> 8), im.rgb[3 * p + 2] = uint8_t(c);
    }
    out.push_back(im);
  }
  return out;
}

// Smooth color gradients with a moving blob: thousands of colors, like a rendered video frame.
std::vector<RgbImage> gradient_frames(int w, int h, int frames) {
  std::vector<RgbImage> out;
  for (int f = 0; f < frames; ++f) {
    RgbImage im{w, h, std::vector<uint8_t>(std::size_t(w) * h * 3)};
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int dx = x - (w / 4 + f * 5), dy = y - h / 2;
        const bool blob = dx * dx + dy * dy < (h / 5) * (h / 5);
        uint8_t* p = &im.rgb[(std::size_t(y) * w + x) * 3];
        p[0] = uint8_t(blob ? 250 : x * 255 / (w - 1));
        p[1] = uint8_t(y * 255 / (h - 1));
        p[2] = uint8_t(blob ? 30 : ((x + y + 7 * f) * 3) & 0xFF);
      }
    out.push_back(im);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: media_dump OUT_DIR\n");
    return 2;
  }
  try {
    Dumper d{argv[1], {}};
    std::filesystem::create_directories(d.dir);
    d.manifest.open(d.dir / "manifest.txt", std::ios::trunc);
    std::mt19937 rng(20260301);
    // PNG: odd sizes, incompressible noise, long runs (long LZ77 matches and distances), a flat image.
    for (auto [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {1, 1000}, {1000, 1}, {7, 13}, {64, 48}, {301, 257}})
      d.png("png_noise_" + std::to_string(w) + "x" + std::to_string(h), noise(w, h, rng));
    d.png("png_gradient_320x200", gradient_frames(320, 200, 1)[0]);
    d.png("png_runs_257x300", palette_frames(257, 300, 1, 5, rng)[0]);
    d.png("png_flat_640x480", RgbImage{640, 480, std::vector<uint8_t>(640 * 480 * 3, 200)});
    // GIF exact (<= 256 colors): every table size 2..256, odd sizes, many frames, LZW table resets.
    for (int nc : {1, 2, 3, 4, 5, 8, 9, 16, 17, 64, 129, 255, 256})
      d.gif("gif_exact_" + std::to_string(nc) + "c", palette_frames(37, 23, 3, nc, rng), 8);
    d.gif("gif_1x1", palette_frames(1, 1, 1, 1, rng), 0);
    d.gif("gif_1x1000", palette_frames(1, 1000, 2, 3, rng), 10);
    d.gif("gif_1000x1", palette_frames(1000, 1, 2, 200, rng), 10);
    d.gif("gif_120_frames", palette_frames(16, 12, 120, 40, rng), 4);
    d.gif("gif_lzw_resets_400x300", palette_frames(400, 300, 2, 256, rng), 5);
    // Stream ends in every LZW state: lengths 1..200 with 4 and 256 colors (code widths and table fill vary).
    for (int n = 1; n <= 200; n += 1) d.gif("gif_len_" + std::to_string(n) + "_4c", palette_frames(n, 1, 1, 4, rng), 1);
    for (int n = 5; n <= 600; n += 15) d.gif("gif_len_" + std::to_string(n) + "_256c", palette_frames(n, 1, 1, 256, rng), 1);
    // GIF quantized (> 256 colors): median cut, nearest entry.
    d.gif("gif_quant_gradient", gradient_frames(96, 64, 6), 6);
    d.gif("gif_quant_noise", {noise(40, 30, rng), noise(40, 30, rng)}, 6);
    d.gif("gif_quant_noise_128", {noise(128, 128, rng)}, 6);  // ~16k colors: most 8x8x8 lookup cells in use
    // Plots: the PNG Pillow decodes must be the image the plotter rendered.
    namespace plot = sixbit::plot;
    plot::LinePlot lines;
    lines.title = "oracle lines";
    lines.series = {{"a", {0, 1, 2, 3}, {1, 0.5, 0.25, 0.125}}, {"b", {0, 1, 2, 3}, {0.3, 0.3, 0.2, 0.1}}};
    lines.log_y = true;
    d.png("plot_lines", plot::plot_lines(lines));
    plot::Heatmap heat;
    heat.title = "oracle heatmap";
    heat.rows = 30, heat.cols = 50;
    heat.categories = {{"full", {60, 60, 60}}, {"W8A8", {44, 160, 44}}, {"W4A4", {255, 127, 14}}};
    for (int i = 0; i < 30 * 50; ++i) heat.values.push_back(double(rng() % 3));
    d.png("plot_heatmap", plot::plot_heatmap(heat));
    // Fits: increasingly noisy lines, a perfect one, a negative slope, offsets far from 0.
    std::ofstream fits(d.dir / "fits.txt", std::ios::trunc);
    std::normal_distribution<double> noise01(0.0, 1.0);
    auto fit_case = [&](std::vector<double> x, std::vector<double> y) {
      const plot::LineFit f = plot::fit_line(x, y);
      char buf[200];
      std::snprintf(buf, sizeof buf, "%zu %.17g %.17g %.17g %.17g\n", x.size(), f.a, f.c, f.r, f.r2);
      fits << buf;
      for (auto* v : {&x, &y}) {
        for (double t : *v) {
          std::snprintf(buf, sizeof buf, "%.17g ", t);
          fits << buf;
        }
        fits << "\n";
      }
    };
    for (double sigma : {0.0, 0.01, 0.1, 1.0, 10.0}) {
      std::vector<double> x, y;
      for (int i = 0; i < 200; ++i) {
        x.push_back(0.005 * i + 0.1 * noise01(rng));
        y.push_back(-0.7 * x.back() + 3.0 + sigma * noise01(rng));
      }
      fit_case(x, y);
    }
    std::vector<double> x, y;
    for (int i = 0; i < 50; ++i) x.push_back(1000 + i), y.push_back(0.25 * i * i);
    fit_case(x, y);
    plot::ScatterPlot sc;
    sc.title = "oracle scatter";
    sc.x = x, sc.y = y;
    d.png("plot_scatter", plot::plot_scatter(sc));
    d.manifest.close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "media_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
