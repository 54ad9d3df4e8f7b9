// sixbit/metrics/video_metrics.cpp: see video_metrics.hpp and docs/metrics.md.
#include "metrics/video_metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "common/check.hpp"

namespace sixbit::metrics {
namespace {

constexpr int kRadius = 5;  // 11x11 window; cv2.getGaussianKernel(11, 1.5); skimage: int(3.5 * sigma + 0.5) = 5
constexpr double kSigma = 1.5, kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;  // (K1 L)^2, (K2 L)^2 with L = 1

void check_video(const Video& v, const char* what) {
  SIXBIT_CHECK(v.frames > 0 && v.height > 0 && v.width > 0, what, ": empty video (", v.frames, " frames of ",
               v.height, "x", v.width, ")");
  SIXBIT_CHECK(v.rgb.size() == std::size_t(v.frames) * v.height * v.width * 3, what, ": ", v.rgb.size(),
               " values for ", v.frames, " frames of ", v.height, "x", v.width, "x3");
  for (std::size_t i = 0; i < v.rgb.size(); ++i) {
    const float x = v.rgb[i];
    if (!(x >= 0.0f && x <= 1.0f)) {  // also catches NaN
      const std::size_t px = i / 3, plane = std::size_t(v.height) * v.width;
      SIXBIT_CHECK(false, what, ": value ", x, " at frame ", px / plane, ", y ", (px % plane) / v.width, ", x ",
                   px % v.width, ", channel ", i % 3, " is not in [0, 1]");
    }
  }
}

void check_pair(const Video& test, const Video& ref) {
  check_video(test, "test video");
  check_video(ref, "reference video");
  SIXBIT_CHECK(test.frames == ref.frames && test.height == ref.height && test.width == ref.width,
               "videos differ in size: test ", test.frames, "x", test.height, "x", test.width, ", reference ",
               ref.frames, "x", ref.height, "x", ref.width, " (frames x height x width)");
}

// Sum of squared differences of frame f, in double, in index order.
double frame_sse(const Video& a, const Video& b, int f) {
  const std::size_t n = std::size_t(a.height) * a.width * 3, off = std::size_t(f) * n;
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = double(a.rgb[off + i]) - double(b.rgb[off + i]);
    s += d * d;
  }
  return s;
}

std::array<double, 2 * kRadius + 1> gaussian_window() {
  // exp(-x^2 / (2 sigma^2)) normalized to sum 1, as cv2.getGaussianKernel and scipy's gaussian_filter1d build it.
  std::array<double, 2 * kRadius + 1> g{};
  double sum = 0;
  for (int i = 0; i <= 2 * kRadius; ++i) {
    const double x = i - kRadius;
    g[i] = std::exp(-0.5 * x * x / (kSigma * kSigma));
    sum += g[i];
  }
  for (double& v : g) v /= sum;
  return g;
}

// SSIM of one channel of one frame: the mean of the SSIM map over the valid region.
double ssim_channel(const Video& test, const Video& ref, int f, int c) {
  static const std::array<double, 2 * kRadius + 1> g = gaussian_window();
  const int h = test.height, w = test.width, vh = h - 2 * kRadius, vw = w - 2 * kRadius;
  // Separable filtering, horizontal then vertical, of x, y, x^2, y^2, xy (5 maps), valid region only.
  std::vector<double> x(std::size_t(h) * w), y(x.size());
  for (int r = 0; r < h; ++r)
    for (int q = 0; q < w; ++q) {
      x[std::size_t(r) * w + q] = test.at(f, r, q, c);
      y[std::size_t(r) * w + q] = ref.at(f, r, q, c);
    }
  std::vector<std::array<double, 5>> horiz(std::size_t(h) * vw);
  for (int r = 0; r < h; ++r)
    for (int q = 0; q < vw; ++q) {
      std::array<double, 5> acc{};
      for (int k = 0; k <= 2 * kRadius; ++k) {
        const double a = x[std::size_t(r) * w + q + k], b = y[std::size_t(r) * w + q + k];
        acc[0] += g[k] * a;
        acc[1] += g[k] * b;
        acc[2] += g[k] * (a * a);
        acc[3] += g[k] * (b * b);
        acc[4] += g[k] * (a * b);
      }
      horiz[std::size_t(r) * vw + q] = acc;
    }
  double total = 0;
  for (int r = 0; r < vh; ++r)
    for (int q = 0; q < vw; ++q) {
      std::array<double, 5> m{};
      for (int k = 0; k <= 2 * kRadius; ++k) {
        const std::array<double, 5>& hv = horiz[std::size_t(r + k) * vw + q];
        for (int j = 0; j < 5; ++j) m[j] += g[k] * hv[j];
      }
      const double mx = m[0], my = m[1];
      const double vx = m[2] - mx * mx, vy = m[3] - my * my, cxy = m[4] - mx * my;  // population (co)variances
      total += ((2 * mx * my + kC1) * (2 * cxy + kC2)) / ((mx * mx + my * my + kC1) * (vx + vy + kC2));
    }
  return total / (double(vh) * vw);
}

}  // namespace

std::vector<double> psnr_per_frame(const Video& test, const Video& ref) {
  check_pair(test, ref);
  const double n = double(test.height) * test.width * 3;
  std::vector<double> out(test.frames);
  // Threads only when there is work for them (tiny videos: spinning up workers would dominate); the values do
  // not depend on it.
  const bool parallel = double(test.frames) * n > 1e5;
#pragma omp parallel for schedule(static) if (parallel)
  for (int f = 0; f < test.frames; ++f) {
    const double mse = frame_sse(test, ref, f) / n;
    out[f] = mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(1.0 / mse);
  }
  return out;
}

std::vector<double> ssim_per_frame(const Video& test, const Video& ref) {
  check_pair(test, ref);
  SIXBIT_CHECK(test.height > 2 * kRadius && test.width > 2 * kRadius, "SSIM needs frames of at least 11x11 (its ",
               "Gaussian window), got ", test.height, "x", test.width);
  std::vector<double> per_channel(std::size_t(test.frames) * 3);
  const bool parallel = double(test.frames) * test.height * test.width > 1e4;
#pragma omp parallel for schedule(dynamic) if (parallel)
  for (int fc = 0; fc < test.frames * 3; ++fc) per_channel[fc] = ssim_channel(test, ref, fc / 3, fc % 3);
  std::vector<double> out(test.frames);
  for (int f = 0; f < test.frames; ++f)
    out[f] = (per_channel[3 * f] + per_channel[3 * f + 1] + per_channel[3 * f + 2]) / 3.0;
  return out;
}

double mean_psnr_db(const std::vector<double>& psnr_db) {
  SIXBIT_CHECK(!psnr_db.empty(), "mean PSNR of no frames");
  double s = 0;
  for (double p : psnr_db) {
    SIXBIT_CHECK(!std::isnan(p), "mean PSNR: a frame's PSNR is NaN");
    s += std::min(p, 100.0);  // TeaCache img_psnr: 100 when MSE < 1e-10, i.e. when PSNR > 100 dB
  }
  return s / double(psnr_db.size());
}

double temporal_flickering(const Video& video) {
  check_video(video, "video");
  SIXBIT_CHECK(video.frames >= 2, "temporal flickering needs at least 2 frames, got ", video.frames);
  std::vector<std::vector<uint8_t>> frames(video.frames);
  for (int f = 0; f < video.frames; ++f) frames[f] = frame_rgb8(video, f);
  const std::size_t n = frames[0].size();
  double sum_of_means = 0;
  for (int f = 0; f + 1 < video.frames; ++f) {
    uint64_t sad = 0;  // exact: at most 255 * n
    for (std::size_t i = 0; i < n; ++i) sad += uint64_t(std::abs(int(frames[f][i]) - int(frames[f + 1][i])));
    sum_of_means += double(sad) / double(n);
  }
  const double mean = sum_of_means / double(video.frames - 1);
  return (255.0 - mean) / 255.0;
}

VideoFidelity compare_videos(const Video& test, const Video& ref) {
  VideoFidelity r;
  r.psnr_db = psnr_per_frame(test, ref);
  r.ssim = ssim_per_frame(test, ref);
  r.mean_psnr_db = mean_psnr_db(r.psnr_db);
  double sse = 0;
  for (int f = 0; f < test.frames; ++f) sse += frame_sse(test, ref, f);
  const double mse = sse / (double(test.frames) * test.height * test.width * 3);
  r.pooled_psnr_db = mse == 0 ? std::numeric_limits<double>::infinity() : -10.0 * std::log10(mse);
  double s = 0;
  for (double v : r.ssim) s += v;
  r.mean_ssim = s / double(r.ssim.size());
  return r;
}

}  // namespace sixbit::metrics
