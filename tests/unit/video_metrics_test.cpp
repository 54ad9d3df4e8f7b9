// metrics/video_metrics: values worked out by hand (each expectation shows its arithmetic), the exact identities
// (equal videos: PSNR +inf, SSIM exactly 1; static video: flickering exactly 1), every refusal, and thread-count
// determinism. The comparisons with scikit-image and transcriptions of TeaCache's and VBench's scripts are in
// tests/oracle/video_metrics_oracle.py.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include "common/check.hpp"
#include "metrics/video_metrics.hpp"

namespace {
using namespace sixbit::metrics;

Video random_video(int f, int h, int w, unsigned seed) {
  Video v(f, h, w);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& x : v.rgb) x = u(rng);
  return v;
}

Video constant_video(int f, int h, int w, float value) {
  Video v(f, h, w);
  std::fill(v.rgb.begin(), v.rgb.end(), value);
  return v;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const sixbit::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(VideoMetrics, IdenticalVideos) {
  const Video v = random_video(3, 16, 20, 1);
  for (double p : psnr_per_frame(v, v)) EXPECT_EQ(p, std::numeric_limits<double>::infinity());
  for (double s : ssim_per_frame(v, v)) EXPECT_EQ(s, 1.0);  // exactly: numerator and denominator are equal
  const VideoFidelity r = compare_videos(v, v);
  EXPECT_EQ(r.mean_psnr_db, 100.0);  // TeaCache's cap for MSE < 1e-10
  EXPECT_EQ(r.pooled_psnr_db, std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.mean_ssim, 1.0);
}

TEST(VideoMetrics, HandComputedPsnr) {
  // Every value off by 0.125 (exact in binary): MSE = 1/64, PSNR = 10 log10 64 = 18.0618 dB.
  const Video ref = constant_video(2, 12, 12, 0.5f), test = constant_video(2, 12, 12, 0.625f);
  for (double p : psnr_per_frame(test, ref)) EXPECT_DOUBLE_EQ(p, 10 * std::log10(64.0));
  // One value of frame 1 off by 1 among 12*12*3 = 432: MSE = 1/432, PSNR = 10 log10 432 = 26.3548 dB; frame 0 equal.
  Video z = constant_video(2, 12, 12, 0.0f), o = z;
  o.at(1, 3, 4, 2) = 1.0f;
  const auto p = psnr_per_frame(o, z);
  EXPECT_EQ(p[0], std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(p[1], 10 * std::log10(432.0));
  const VideoFidelity r = compare_videos(o, z);
  EXPECT_DOUBLE_EQ(r.mean_psnr_db, (100.0 + 10 * std::log10(432.0)) / 2);  // inf counted as 100 dB
  EXPECT_DOUBLE_EQ(r.pooled_psnr_db, 10 * std::log10(864.0));               // MSE over both frames = 1/864
  EXPECT_DOUBLE_EQ(mean_psnr_db({30.0, 150.0, std::numeric_limits<double>::infinity()}), (30.0 + 100 + 100) / 3);
}

TEST(VideoMetrics, HandComputedSsimOfConstantFrames) {
  // Constant frames a, b: every window has mu_x = a, mu_y = b, no variance, so the map is
  // (2ab + C1) / (a^2 + b^2 + C1) * (C2 / C2) everywhere (C1 = 1e-4).
  const double a = 0.25, b = 0.75, c1 = 1e-4;
  const Video x = constant_video(1, 11, 11, float(a)), y = constant_video(1, 11, 11, float(b));
  EXPECT_NEAR(ssim_per_frame(x, y)[0], (2 * a * b + c1) / (a * a + b * b + c1), 1e-12);
  // The same value with 0 and 1: (0 + C1) / (1 + C1), nearly 0.
  EXPECT_NEAR(ssim_per_frame(constant_video(1, 12, 13, 0), constant_video(1, 12, 13, 1))[0], c1 / (1 + c1), 1e-15);
}

TEST(VideoMetrics, SsimFallsWithNoiseAndIsSymmetric) {
  const Video ref = random_video(2, 24, 24, 3);
  Video small = ref, large = ref;
  std::mt19937 rng(4);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (std::size_t i = 0; i < ref.rgb.size(); ++i) {
    const float e = n(rng);
    small.rgb[i] = std::clamp(ref.rgb[i] + 0.02f * e, 0.0f, 1.0f);
    large.rgb[i] = std::clamp(ref.rgb[i] + 0.2f * e, 0.0f, 1.0f);
  }
  const auto s_small = ssim_per_frame(small, ref), s_large = ssim_per_frame(large, ref), s_swap = ssim_per_frame(ref, small);
  for (int f = 0; f < 2; ++f) {
    EXPECT_LT(s_small[f], 1.0);
    EXPECT_GT(s_small[f], s_large[f]);
    EXPECT_GT(s_large[f], 0.0);
    EXPECT_NEAR(s_small[f], s_swap[f], 1e-12);  // the formula is symmetric in x and y
  }
}

TEST(VideoMetrics, TemporalFlickeringHandValues) {
  EXPECT_EQ(temporal_flickering(constant_video(5, 4, 4, 0.3f)), 1.0);  // static: no difference at all
  // Black, white, black: every pair differs by 255 everywhere -> (255 - 255) / 255 = 0.
  Video bw(3, 4, 5);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) bw.at(1, y, x, c) = 1.0f;
  EXPECT_EQ(temporal_flickering(bw), 0.0);
  // 3 frames of 2x2: frame 1 has one value at 0.4 (8-bit: round(102.0) = 102), the others 0.
  // Pair means: 102 / 12 and 102 / 12 -> mean 8.5 -> (255 - 8.5) / 255.
  Video v(3, 2, 2);
  v.at(1, 0, 1, 2) = 0.4f;
  EXPECT_DOUBLE_EQ(temporal_flickering(v), (255.0 - 8.5) / 255.0);
  // Round half to even at the 8-bit conversion: 0.5 * 255 = 127.5 -> 128 (even), so |128 - 0| / 12 per pair.
  Video h(2, 2, 2);
  h.at(1, 1, 1, 0) = 0.5f;
  EXPECT_DOUBLE_EQ(temporal_flickering(h), (255.0 - 128.0 / 12) / 255.0);
}

TEST(VideoMetrics, BadInputIsAnError) {
  const Video a = random_video(2, 12, 12, 1);
  EXPECT_NE(error_of([&] { psnr_per_frame(a, random_video(3, 12, 12, 1)); }).find("differ in size"), std::string::npos);
  EXPECT_NE(error_of([&] { ssim_per_frame(a, random_video(2, 12, 13, 1)); }).find("differ in size"), std::string::npos);
  EXPECT_NE(error_of([&] { psnr_per_frame(Video(), Video()); }).find("empty video"), std::string::npos);
  EXPECT_NE(error_of([&] { temporal_flickering(Video()); }).find("empty video"), std::string::npos);
  Video nan = a;
  nan.at(1, 2, 3, 1) = std::numeric_limits<float>::quiet_NaN();
  const std::string msg = error_of([&] { psnr_per_frame(nan, a); });
  EXPECT_NE(msg.find("frame 1, y 2, x 3, channel 1"), std::string::npos) << msg;
  EXPECT_THROW(ssim_per_frame(a, nan), sixbit::Error);
  EXPECT_THROW(temporal_flickering(nan), sixbit::Error);
  Video out_of_range = a;
  out_of_range.rgb[5] = -0.5f;  // e.g. a [-1, 1] latent passed without video_from_latent
  EXPECT_NE(error_of([&] { compare_videos(out_of_range, a); }).find("not in [0, 1]"), std::string::npos);
  Video malformed = a;
  malformed.rgb.pop_back();
  EXPECT_THROW(psnr_per_frame(malformed, a), sixbit::Error);
  EXPECT_NE(error_of([&] { ssim_per_frame(random_video(1, 10, 40, 1), random_video(1, 10, 40, 2)); }).find("11x11"),
            std::string::npos);
  EXPECT_NE(error_of([&] { temporal_flickering(random_video(1, 4, 4, 1)); }).find("at least 2 frames"),
            std::string::npos);
  EXPECT_THROW(mean_psnr_db({}), sixbit::Error);
}

TEST(VideoMetrics, SameBitsForAnyThreadCount) {
  // 7 x 40 x 128: above both parallel thresholds (1e5 values for PSNR, 1e4 pixels for SSIM), so threads do run.
  const Video ref = random_video(7, 40, 128, 8), test = random_video(7, 40, 128, 9);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const VideoFidelity one = compare_videos(test, ref);
  const double flicker_one = temporal_flickering(test);
  omp_set_num_threads(3);
  const VideoFidelity three = compare_videos(test, ref);
  omp_set_num_threads(saved);
  for (int f = 0; f < 7; ++f) {
    EXPECT_EQ(one.psnr_db[f], three.psnr_db[f]);  // bit equality, not closeness
    EXPECT_EQ(one.ssim[f], three.ssim[f]);
  }
  EXPECT_EQ(one.mean_ssim, three.mean_ssim);
  EXPECT_EQ(one.pooled_psnr_db, three.pooled_psnr_db);
  EXPECT_EQ(flicker_one, temporal_flickering(test));
}

}  // namespace
